"""``tgportrait repurchase fit``: reads the workspace's imported orders, prints the BG/NBD fit (and the holdout)."""

from __future__ import annotations

from datetime import datetime

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option


@click.group("repurchase")
def repurchase_group() -> None:
    """Repurchase potential: the BG/NBD model of how often customers buy and whether they are still active."""


@repurchase_group.command("fit")
@click.option("--calibration-end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day (inclusive) of the calibration period; later orders are the holdout. "
                   "Default: the day of the last order.")
@workspace_option
@json_option
def repurchase_fit(calibration_end: datetime | None, workspace_dir: str | None, as_json: bool) -> None:
    """Fit BG/NBD by maximum likelihood on the imported orders (weeks; a transaction is a customer-day).

    \b
    Example:
        tgportrait repurchase fit --calibration-end 1997-09-30
    """
    from tgportrait.label.repurchase import fit_workspace_orders, holdout_comparison

    fitted = fit_workspace_orders(open_workspace(workspace_dir), calibration_end.date() if calibration_end else None)
    document = fitted.as_dict()
    holdout = holdout_comparison(fitted)
    if as_json:
        print_json({**document, "holdout": holdout})
        return
    console.print(f"BG/NBD on {document['customers']:,} customers (calibration to {document['calibration_end']}, "
                  f"weeks): r={document['r']:.4f} alpha={document['alpha']:.4f} a={document['a']:.4f} "
                  f"b={document['b']:.4f}  log-likelihood {document['log_likelihood']:.2f}")
    if holdout["holdout_weeks"]:
        console.print(f"Holdout ({holdout['holdout_weeks']:g} weeks): forecast {holdout['forecast']:,.1f} "
                      f"repeat transactions, actual {holdout['actual']:,}")
        for row in holdout["by_x"]:
            console.print(f"  x={row['x']:<3} customers {row['customers']:>5}  forecast {row['forecast_mean']:.3f}"
                          f"  actual {row['actual_mean']:.3f}")


COMMANDS = [repurchase_group]
