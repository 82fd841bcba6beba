"""Holdout assignment and uplift intervals: Newcombe's published table, simulated coverage, scipy's Welch test."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tgportrait.activate.experiments import (
    HOLDOUT,
    TREATMENT,
    conversion_uplift,
    holdout_group,
    holdout_groups,
    mean_uplift,
)
from tgportrait.errors import InputError

# Newcombe (1998), "Interval estimation for the difference between independent proportions", Statistics in
# Medicine 17: 873-890, Table II, method 10 (hybrid score): (m/n, x/y) -> (lower, upper).
NEWCOMBE_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE_METHOD_10)
def test_the_conversion_interval_is_newcombes(counts: tuple[int, int, int, int],
                                              interval: tuple[float, float]) -> None:
    uplift = conversion_uplift(*counts)
    assert (round(uplift.low, 4), round(uplift.high, 4)) == interval
    assert uplift.difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert uplift.significant == (interval[0] > 0)


def test_the_conversion_interval_covers_the_true_difference_95_times_in_100() -> None:
    chooser = np.random.default_rng(2026)
    covered = 0
    trials = 2000
    for _ in range(trials):
        treated = int(chooser.binomial(400, 0.08))
        held = int(chooser.binomial(100, 0.05))
        uplift = conversion_uplift(treated, 400, held, 100)
        covered += uplift.low <= 0.03 <= uplift.high
    assert 0.93 <= covered / trials <= 0.975


def test_a_large_effect_is_significant_and_no_effect_usually_is_not() -> None:
    strong = conversion_uplift(300, 2000, 20, 500)  # 15 % against 4 %
    assert strong.significant and strong.p_value < 1e-6 and strong.relative == pytest.approx(2.75)
    none = conversion_uplift(100, 2000, 25, 500)
    assert not none.significant and none.p_value == pytest.approx(1.0) and none.relative == pytest.approx(0.0)


def test_the_mean_interval_is_welchs() -> None:
    from scipy import stats

    chooser = np.random.default_rng(7)
    treated = chooser.gamma(2.0, 15.0, size=300).tolist()
    held = chooser.gamma(2.0, 12.0, size=60).tolist()
    uplift = mean_uplift(treated, held, confidence=0.9, metric="revenue per person")
    expected = stats.ttest_ind(treated, held, equal_var=False)
    low, high = expected.confidence_interval(confidence_level=0.9)
    assert (uplift.low, uplift.high) == pytest.approx((low, high), rel=1e-9)
    assert uplift.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert uplift.metric == "revenue per person" and uplift.method == "Welch t"


def test_constant_groups_give_an_exact_difference() -> None:
    uplift = mean_uplift([2.0, 2.0, 2.0], [1.0, 1.0])
    assert (uplift.difference, uplift.low, uplift.high, uplift.p_value) == (1.0, 1.0, 1.0, 0.0)


def test_holdout_groups_are_stable_uniform_and_drawn_anew_per_experiment() -> None:
    persons = [f"p{index}" for index in range(100_000)]
    spring = holdout_groups("spring-sale", persons, 0.1)
    assert spring == holdout_groups("spring-sale", list(reversed(persons)), 0.1)  # order and runs do not matter
    held = {person for person, group in spring.items() if group == HOLDOUT}
    assert abs(len(held) - 10_000) < 4 * (100_000 * 0.1 * 0.9) ** 0.5  # within four standard deviations
    autumn = {person for person, group in holdout_groups("autumn-sale", persons, 0.1).items() if group == HOLDOUT}
    assert abs(len(held & autumn) - 1_000) < 4 * (100_000 * 0.01 * 0.99) ** 0.5  # independent draws
    assert holdout_group("x", "p1", 0.0) == TREATMENT and holdout_group("x", "p1", 1.0) == HOLDOUT
    wider = {person for person, group in holdout_groups("spring-sale", persons, 0.2).items() if group == HOLDOUT}
    assert held <= wider  # raising the share keeps everyone already held out


def test_bad_numbers_are_refused_with_a_hint() -> None:
    with pytest.raises(InputError, match="treatment group has 5 conversions out of 3") as caught:
        conversion_uplift(5, 3, 1, 10)
    assert "at least one person" in (caught.value.hint or "")
    with pytest.raises(InputError, match="holdout group has 0 conversions out of 0"):
        conversion_uplift(1, 3, 0, 0)
    with pytest.raises(InputError, match="holdout share 1.5"):
        holdout_group("x", "p", 1.5)
    with pytest.raises(InputError, match="confidence 1"):
        conversion_uplift(1, 3, 1, 3, confidence=1)
    with pytest.raises(InputError, match="holdout group has 1 values"):
        mean_uplift([1.0, 2.0], [random.random()])
