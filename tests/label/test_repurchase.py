"""label.repurchase: CDNOW validation through the importer, synthetic recovery, the per-person formulas, the CLI."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import ibis
import numpy as np
import pytest
from click.testing import CliRunner

from tgportrait.cli import cli
from tgportrait.collect import import_file
from tgportrait.demo.calibration import CalibrationParams, simulate_repeat_weeks
from tgportrait.errors import InputError
from tgportrait.label.repurchase import (
    BgNbdFit,
    Summary,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_workspace_orders,
    holdout_comparison,
    order_summary,
    probability_alive,
    repurchase_features,
)
from tgportrait.workspace import Workspace

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_HEADER = "customer_id sample_id date number_of_cds dollar_value\n"


def cdnow_sample(shared_data: Path, tmp_path: Path) -> Path:
    """The sample has no header line: the test gives it one in a temporary copy (never in the repo)."""
    path = tmp_path / "cdnow_sample.txt"
    path.write_text(CDNOW_HEADER + (shared_data / "orders" / "CDNOW_sample.txt").read_text())
    return path


def test_cdnow_parameters_match_the_paper(shared_data: Path, tmp_path: Path, workspace: Workspace) -> None:
    report = import_file(workspace, "crm-orders", cdnow_sample(shared_data, tmp_path), {})
    assert report.imported == 6_919
    fitted = fit_workspace_orders(workspace, date(1997, 9, 30))
    assert fitted.bgnbd.customers == 2_357
    for name, published in PUBLISHED.items():
        assert getattr(fitted.bgnbd, name) == pytest.approx(published, rel=0.02), name
    assert fitted.bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    holdout = holdout_comparison(fitted)
    assert (holdout["holdout_weeks"], holdout["actual"]) == (39.0, 1_882)
    assert holdout["forecast"] == pytest.approx(1_654.5, abs=1.0)
    assert [row["customers"] for row in holdout["by_x"]] == [1411, 439, 214, 100, 62, 38, 29, 64]
    spend = fit_gamma_gamma(fitted.summary)    # published: p=6.25, q=3.74, v=15.44 on 946 repeat buyers
    assert (round(spend.p, 2), round(spend.q, 2), round(spend.v, 2), spend.customers) == (6.25, 3.74, 15.44, 946)


def test_repurchase_fit_cli_prints_the_contract(shared_data: Path, tmp_path: Path, workspace: Workspace) -> None:
    import_file(workspace, "crm-orders", cdnow_sample(shared_data, tmp_path), {})
    result = CliRunner().invoke(cli, ["repurchase", "fit", "--calibration-end", "1997-09-30", "--json",
                                      "-w", str(workspace.root)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {"r", "alpha", "a", "b", "log_likelihood", "customers"} <= document.keys()
    assert (document["customers"], round(document["r"], 3)) == (2_357, 0.243)


def test_fit_refuses_an_empty_workspace(workspace: Workspace) -> None:
    with pytest.raises(InputError) as caught:
        fit_workspace_orders(workspace)
    assert caught.value.render() == (f"Error [TGP-I001]: no events in the workspace at {workspace.root}\n"
                                     "Hint: Import orders first: tgportrait import crm-orders FILE")


def test_bgnbd_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    truth = CalibrationParams(r=0.5, alpha=6.0, a=0.7, b=2.5, spend_log_mean=3.0, spend_log_sd_customer=0.4,
                              spend_log_sd_order=0.5)
    customers = 20_000
    exposure = rng.uniform(30, 52, customers)
    owner, weeks = simulate_repeat_weeks(rng, truth, exposure)
    x = np.bincount(owner, minlength=customers).astype(float)
    t_x = np.zeros(customers)
    np.maximum.at(t_x, owner, weeks)
    summary = Summary(np.arange(customers).astype(object), x, t_x, exposure, np.full(customers, np.nan),
                      np.zeros(customers))
    fit = fit_bgnbd(summary)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(truth, name), rel=0.15), name


def test_gamma_gamma_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(11)
    customers, p, q, v = 20_000, 5.0, 3.0, 20.0
    x = rng.integers(1, 8, customers).astype(float)
    nu = rng.gamma(q, 1 / v, customers)
    values = [rng.gamma(p, 1 / rate, int(n)).mean() for rate, n in zip(nu, x, strict=True)]
    summary = Summary(np.arange(customers).astype(object), x, x, x, np.asarray(values), np.zeros(customers))
    fit = fit_gamma_gamma(summary)
    assert (fit.p, fit.q, fit.v) == (pytest.approx(p, rel=0.2), pytest.approx(q, rel=0.2),
                                     pytest.approx(v, rel=0.25))


def test_formulas_on_known_values() -> None:
    fit = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, customers=1)
    x, t_x, T = np.array([0.0, 2.0, 2.0]), np.array([0.0, 30.43, 5.0]), np.array([38.86, 38.86, 38.86])
    alive = probability_alive(fit, x, t_x, T)
    by_hand = 1 / (1 + 0.793 / 3.426 * (43.274 / 34.844) ** 2.243)   # eq. 13 with x=2, t_x=30.43, T=38.86
    assert alive[0] == 1.0 and alive[1] > alive[2] and alive[1] == pytest.approx(by_hand, rel=1e-6)
    expected = expected_purchases(fit, 39.0, x, t_x, T)
    assert expected[1] > expected[2] > 0 and expected[0] == pytest.approx(0.1951, abs=1e-4)


def test_order_summary_counts_customer_days() -> None:
    events = ibis.memtable({
        "type": ["order", "order", "order", "order", "refund", "order"],
        "person_id": ["p1", "p1", "p1", "p1", "p1", "p2"],
        "occurred_at": [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 18), datetime(2026, 1, 15),
                        datetime(2026, 2, 10), datetime(2026, 1, 20), datetime(2026, 1, 29)],
        "amount_usd": [10.0, 5.0, 30.0, 99.0, 10.0, 8.0],
    })
    rows = order_summary(events, "person_id", date(2026, 1, 29), date(2026, 2, 28)).order_by("key").to_pyarrow()
    assert rows.to_pylist() == [
        {"key": "p1", "x": 1, "t_x_days": 14, "T_days": 28, "repeat_value": 30.0, "holdout_x": 1},
        {"key": "p2", "x": 0, "t_x_days": 0, "T_days": 0, "repeat_value": None, "holdout_x": 0},
    ]


def test_too_few_customers_give_no_features_and_a_reason() -> None:
    summary = Summary(np.array(["a", "b"], dtype=object), np.array([1.0, 0.0]), np.array([2.0, 0.0]),
                      np.array([5.0, 5.0]), np.array([3.0, np.nan]), np.zeros(2))
    table, report = repurchase_features(summary)
    assert table.num_rows == 0
    assert report["bgnbd"] is None and report["skipped"].startswith("cannot fit BG/NBD on 2 customers")
