"""benchmarks.repurchase_tracking: the CDNOW weekly tracking series and its SVG, through the project's importer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from benchmarks.repurchase_tracking import expected_cumulative, main

from tgportrait.label.repurchase import BgNbdFit

PUBLISHED = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, customers=2357)


def simulated_mean_purchases(fit: BgNbdFit, weeks: float, customers: int = 200_000, seed: int = 3) -> float:
    """BG/NBD by simulation: rate ~ Gamma(r, alpha), dropout ~ Beta(a, b), death after a purchase with p."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(fit.r, 1 / fit.alpha, customers)
    dropout = rng.beta(fit.a, fit.b, customers)
    clock, count, alive = np.zeros(customers), np.zeros(customers), np.ones(customers, dtype=bool)
    while alive.any():
        clock[alive] += rng.exponential(1 / rate[alive])
        bought = alive & (clock < weeks)
        count[bought] += 1
        alive = bought & (rng.random(customers) >= dropout)
    return float(count.mean())


def test_expected_cumulative_matches_a_simulation_of_the_model() -> None:
    values = expected_cumulative(PUBLISHED, np.array([-1.0, 0.0, 1.0, 39.0, 78.0]))
    assert values[:2].tolist() == [0.0, 0.0]
    assert 0 < values[2] < values[3] < values[4]
    for index, weeks in ((3, 39.0), (4, 78.0)):
        assert abs(values[index] - simulated_mean_purchases(PUBLISHED, weeks)) / values[index] < 0.03


def test_tracking_on_cdnow(shared_data: Path, tmp_path: Path) -> None:
    main(["--data", str(shared_data / "orders"), "--out-dir", str(tmp_path)])
    result = json.loads((tmp_path / "repurchase-tracking.json").read_text())
    assert (result["weeks"], result["calibration_weeks"]) == (78, 39.0)
    assert result["holdout_actual_total"] == 1882  # customer-days, as BENCHMARKS.md's holdout comparison counts
    assert sum(result["actual"][:39]) == 2457
    assert abs(sum(result["forecast"][:39]) - 2457) / 2457 < 0.03  # the fit tracks its own calibration weeks
    svg = (tmp_path / "repurchase-tracking.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
