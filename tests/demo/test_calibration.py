"""demo.calibration: the CDNOW fit matches its constants, recovers known parameters, and the demo buys like CDNOW."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tgportrait.config import DEFAULT_USD_RATES
from tgportrait.demo.calibration import (
    CDNOW_PARAMS,
    CalibrationParams,
    CdnowOrders,
    fit_cdnow,
    read_cdnow,
    simulate_repeat_weeks,
)
from tgportrait.demo.generate import GeneratedCommunity, generate_community

END = datetime(2026, 1, 1, tzinfo=UTC)


def cdnow_path(shared_data: Path) -> Path:
    return shared_data / "orders" / "CDNOW_master.txt"


@pytest.fixture(scope="module")
def cdnow(shared_data: Path) -> CdnowOrders:
    return read_cdnow(cdnow_path(shared_data))


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCommunity:
    return generate_community(tmp_path_factory.mktemp("calibrated"), users=8000, seed=21, end=END)


def generated_orders(community: GeneratedCommunity) -> tuple[np.ndarray, dict[str, list[float]]]:
    """USD of every well-formed order placed in the window, and each true person's order times."""
    truth: dict[str, Any] = json.loads(community.truth_json.read_text(encoding="utf-8"))
    skip = set(truth["orders"]["malformed"]) | set(truth["orders"]["future"])
    person_of = truth["identifiers"]["customer_id"]
    usd: list[float] = []
    times: dict[str, list[float]] = {}
    with community.orders_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["order_id"] in skip:
                continue
            usd.append(float(row["amount"]) * DEFAULT_USD_RATES[row["currency"]])
            times.setdefault(person_of[row["customer_id"]], []).append(datetime.fromisoformat(row["ordered_at"])
                                                                       .timestamp())
    return np.array(usd), times


def test_cdnow_is_read_as_customer_days(cdnow: CdnowOrders) -> None:
    assert (cdnow.customers, cdnow.usd.shape[0], cdnow.observation_days) == (23_570, 67_591, 546)
    assert round(float(cdnow.usd.sum()), 2) == 2_500_315.63


def test_refit_on_cdnow_matches_the_constants(shared_data: Path) -> None:
    fitted = fit_cdnow(cdnow_path(shared_data))
    for name, value in asdict(CDNOW_PARAMS).items():
        assert getattr(fitted, name) == pytest.approx(value, rel=2e-4), name


def test_fit_recovers_the_parameters_it_simulated(tmp_path: Path) -> None:
    truth = CalibrationParams(r=0.5, alpha=8.0, a=0.8, b=3.0, spend_log_mean=3.0, spend_log_sd_customer=0.5,
                              spend_log_sd_order=0.4)
    rng = np.random.default_rng(3)
    customers, weeks = 6000, 78.0
    first_day = rng.integers(0, 84, customers)
    owner, repeat_weeks = simulate_repeat_weeks(rng, truth, (weeks * 7 - first_day) / 7)
    customer = np.concatenate([np.arange(customers), owner])
    day = np.concatenate([first_day, first_day[owner] + (repeat_weeks * 7).astype(int)])
    keep = day < weeks * 7
    customer, day = customer[keep], day[keep]
    level = rng.normal(0, truth.spend_log_sd_customer, customers)
    usd = np.exp(truth.spend_log_mean + level[customer] + rng.normal(0, truth.spend_log_sd_order, customer.size))
    lines = ["customer_id date number_of_cds dollar_value"]
    lines += [f"{c:05d} {date(1997, 1, 1) + timedelta(days=d):%Y%m%d} 1 {v:.2f}"
              for c, d, v in zip(customer.tolist(), day.tolist(), usd.tolist(), strict=True)]
    path = tmp_path / "cdnow_like.txt"
    path.write_text("\n".join(lines) + "\n")
    fitted = fit_cdnow(path)
    assert fitted.r / fitted.alpha == pytest.approx(truth.r / truth.alpha, rel=0.15)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.25)
    assert fitted.spend_log_mean == pytest.approx(truth.spend_log_mean, abs=0.05)
    assert fitted.spend_log_sd == pytest.approx(truth.spend_log_sd, rel=0.05)


def test_spend_per_order_matches_cdnow(cdnow: CdnowOrders, community: GeneratedCommunity) -> None:
    generated, _ = generated_orders(community)
    real = cdnow.usd[cdnow.usd > 0]
    assert generated.size > 5000
    for statistic in (np.mean, np.median, lambda values: np.quantile(values, 0.9)):
        assert statistic(generated) == pytest.approx(statistic(real), rel=0.15)


def test_repeat_buying_matches_cdnow_over_the_same_window(cdnow: CdnowOrders,
                                                          community: GeneratedCommunity) -> None:
    """Each generated buyer is set against CDNOW buyers followed for as long after their first order."""
    _, times = generated_orders(community)
    end = community.end.timestamp()
    exposure = np.array([(end - min(when)) / (7 * 86_400) for when in times.values()])
    orders = np.array([len(when) for when in times.values()])
    counts = np.bincount(cdnow.customer)
    first_day = cdnow.day[np.concatenate([[0], np.cumsum(counts)[:-1]])]
    keys = np.sort(cdnow.customer * 1000.0 + (cdnow.day - first_day[cdnow.customer]) / 7.0)   # weeks < 1000
    draws = 5
    matched = np.random.default_rng(0).integers(0, cdnow.customers, orders.size * draws) * 1000.0
    horizon = np.repeat(exposure, draws)
    real = np.searchsorted(keys, matched + horizon, side="right") - np.searchsorted(keys, matched, side="left")
    assert orders.size > 3000 and exposure.max() < 27
    assert (orders == 1).mean() == pytest.approx((real == 1).mean(), abs=0.03)
    assert orders.mean() == pytest.approx(real.mean(), rel=0.1)
    assert np.quantile(orders, 0.9) == pytest.approx(np.quantile(real, 0.9), abs=1)
