"""CDNOW weekly repeat-purchase tracking: reads CDNOW_sample.txt, writes eval/repurchase-tracking.svg and .json.

    python -m benchmarks.repurchase_tracking [--data ../shared/data/orders] [--out-dir eval]

Fader, Hardie and Lee (2005), figure "weekly repeat transactions": the 2,357-customer CDNOW sample is
imported through the project's own importer (``crm-orders``) into a temporary workspace, BG/NBD is fitted
on the first 39 weeks (1997-01-01 … 1997-09-30) by ``label.repurchase.fit_workspace_orders``, and for every
week of 1997-01-01 … 1998-06-30 the script plots the actual repeat transactions (distinct purchase days
after a customer's first, as the fit counts them) against the model's expectation: the sum over customers
of the unconditional E[X(t)] since their first purchase, differenced by week. Plain SVG, no plotting library.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from tgportrait.label.repurchase import BgNbdFit, day_number

START, CALIBRATION_END, HOLDOUT_END = date(1997, 1, 1), date(1997, 9, 30), date(1998, 6, 30)
HEADER = "customer_id sample_id date number_of_cds dollar_value\n"


def expected_cumulative(fit: BgNbdFit, t: np.ndarray) -> np.ndarray:
    """BG/NBD's unconditional E[X(t)] for a customer alive since time 0 (t in the fit's unit, 0 where t <= 0)."""
    from scipy.special import hyp2f1

    t = np.maximum(t, 0.0)
    ratio = fit.alpha / (fit.alpha + t)
    value = (fit.a + fit.b - 1) / (fit.a - 1) * (
        1 - ratio ** fit.r * hyp2f1(fit.r, fit.b, fit.a + fit.b - 1, t / (fit.alpha + t)))
    return np.where(t > 0, value, 0.0)


def weekly_tracking(data: Path, work: Path) -> dict[str, Any]:
    from tgportrait.collect import import_file
    from tgportrait.label.repurchase import fit_workspace_orders
    from tgportrait.workspace import Workspace

    source = work / "cdnow_sample.txt"
    source.write_text(HEADER + (data / "CDNOW_sample.txt").read_text(encoding="utf-8"), encoding="utf-8")
    Workspace.init(work / "ws").close()
    workspace = Workspace.open(work / "ws")
    import_file(workspace, "crm-orders", source)
    fitted = fit_workspace_orders(workspace, CALIBRATION_END)
    orders = workspace.lake.read_events(["type", "crm_customer_id", "occurred_at"]).to_pylist()
    workspace.close()
    start = day_number(START)
    days = sorted({(row["crm_customer_id"], day_number(row["occurred_at"]) - start) for row in orders
                   if row["type"] == "order" and row["crm_customer_id"]})
    first: dict[str, int] = {}
    weeks = (day_number(HOLDOUT_END) - start) // 7 + 1
    actual = np.zeros(weeks)
    for customer, day in days:
        if customer not in first:
            first[customer] = day
        else:
            actual[day // 7] += 1
    unit = fitted.bgnbd.time_unit_days
    births = (day_number(CALIBRATION_END) - start) / unit - fitted.summary.T  # first purchase, in weeks
    boundaries = np.arange(weeks + 1, dtype=float)
    cumulative = np.array([expected_cumulative(fitted.bgnbd, boundary - births).sum() for boundary in boundaries])
    forecast = np.diff(cumulative)
    calibration_weeks = (day_number(CALIBRATION_END) - start + 1) / 7
    holdout = slice(int(np.ceil(calibration_weeks)), weeks)
    return {"fit": fitted.as_dict(), "weeks": weeks, "calibration_weeks": round(calibration_weeks, 2),
            "actual": actual.astype(int).tolist(), "forecast": [round(float(v), 2) for v in forecast],
            "holdout_actual_total": int(actual[holdout].sum()),
            "holdout_forecast_total": round(float(forecast[holdout].sum()), 1)}


def tracking_svg(result: dict[str, Any], width: int = 760, height: int = 380) -> str:
    """Actual (solid) vs BG/NBD (dashed) weekly repeat transactions, the calibration end marked."""
    left, right, top, bottom = 60, 20, 40, 50
    weeks, actual, forecast = result["weeks"], result["actual"], result["forecast"]
    peak = max(max(actual), max(forecast)) * 1.1

    def x(week: float) -> float:
        return left + (width - left - right) * week / weeks

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value / peak)

    def line(values: Sequence[float], style: str) -> str:
        points = " ".join(f"{x(index + 0.5):.1f},{y(value):.1f}" for index, value in enumerate(values))
        return f'<polyline fill="none" stroke="#222" stroke-width="1.5" {style} points="{points}"/>'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="22" font-size="14">CDNOW sample: weekly repeat transactions, actual vs BG/NBD '
             f'(fit on weeks 1–39)</text>',
             f'<line x1="{left}" y1="{y(0)}" x2="{width - right}" y2="{y(0)}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(0)}" stroke="#888"/>']
    for week in range(0, weeks + 1, 10):
        parts.append(f'<text x="{x(week):.1f}" y="{y(0) + 16:.1f}" text-anchor="middle">{week}</text>')
    step = max(1, int(round(peak / 5 / 10)) * 10)
    for value in range(0, int(peak) + 1, step):
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value}</text>')
    boundary = x(result["calibration_weeks"])
    parts += [f'<line x1="{boundary:.1f}" y1="{top}" x2="{boundary:.1f}" y2="{y(0)}" stroke="#888" '
              f'stroke-dasharray="2,3"/>',
              f'<text x="{boundary + 4:.1f}" y="{top + 12}">holdout →</text>',
              line(actual, ""), line(forecast, 'stroke-dasharray="6,4"'),
              f'<text x="{width / 2:.0f}" y="{height - 12}" text-anchor="middle">week since 1997-01-01</text>',
              f'<text x="{width - right - 220}" y="{top + 12}">— actual   - - BG/NBD</text>', "</svg>"]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/orders"))
    parser.add_argument("--out-dir", type=Path, default=Path("eval"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        result = weekly_tracking(args.data, Path(work))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "repurchase-tracking.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out_dir / "repurchase-tracking.svg").write_text(tracking_svg(result), encoding="utf-8")
    fit = result["fit"]
    print(f"BG/NBD on weeks 1–39: r={fit['r']:.3f} alpha={fit['alpha']:.3f} a={fit['a']:.3f} b={fit['b']:.3f}; "
          f"holdout weeks {result['calibration_weeks'] + 1:.0f}–{result['weeks']}: actual "
          f"{result['holdout_actual_total']:,} repeat transactions, forecast {result['holdout_forecast_total']:,}")
    print(f"wrote {args.out_dir / 'repurchase-tracking.svg'} and {args.out_dir / 'repurchase-tracking.json'}")


if __name__ == "__main__":
    main()
