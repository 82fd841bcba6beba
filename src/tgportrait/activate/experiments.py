"""Randomised holdouts and their effects: reads person ids and outcomes, writes group assignments and uplift figures.

A campaign's effect is measured against a **randomised holdout**: persons of the target set who are kept
from the message, chosen by chance, so that the only systematic difference between the two groups is
the message itself (a before/after comparison also counts the season, the news and every other campaign).

- ``holdout_group``: a person's group in one experiment. SHA-256 of the experiment's name and the person
  id, read as a number in [0, 1): below the holdout share is the holdout. Deterministic (a re-run, a
  restart or another machine assigns the same groups, with nothing stored), uniform, and independent
  between experiments of different names (each experiment draws its own holdout).
- ``conversion_uplift``: the difference of two conversion rates (treatment minus holdout) with Newcombe's
  hybrid score interval (Newcombe 1998, method 10), which keeps its coverage on small groups and rare
  conversions where the textbook Wald interval does not; a two-sided p-value from the pooled z-test.
- ``mean_uplift``: the difference of two means (revenue per person, orders per person) with Welch's t
  interval (unequal variances).

Nothing here sends or stores anything; campaigns use it (docs/activate.md).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tgportrait.errors import InputError

HOLDOUT, TREATMENT = "holdout", "treatment"


def holdout_group(experiment: str, person_id: str, holdout_share: float) -> str:
    """``HOLDOUT`` or ``TREATMENT`` for this person in this experiment (``holdout_share`` of persons are held out)."""
    _check_share(holdout_share)
    digest = hashlib.sha256(f"{experiment}\x00{person_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2.0**64
    return HOLDOUT if position < holdout_share else TREATMENT


def holdout_groups(experiment: str, person_ids: Iterable[str], holdout_share: float) -> dict[str, str]:
    """Every person's group (``holdout_group``), keyed by person id."""
    return {person_id: holdout_group(experiment, person_id, holdout_share) for person_id in person_ids}


@dataclass(frozen=True)
class Uplift:
    """Treatment minus holdout on one metric, with its confidence interval."""

    metric: str
    treatment_size: int
    holdout_size: int
    treatment_value: float  # a rate (conversions) or a mean
    holdout_value: float
    difference: float
    low: float
    high: float
    confidence: float
    p_value: float
    method: str

    @property
    def relative(self) -> float | None:
        """The difference as a share of the holdout's value (None when the holdout's value is 0)."""
        return self.difference / self.holdout_value if self.holdout_value else None

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def conversion_uplift(treatment_converted: int, treatment_size: int, holdout_converted: int, holdout_size: int,
                      confidence: float = 0.95, metric: str = "conversion") -> Uplift:
    """Conversion rate of the treatment minus the holdout's, Newcombe's hybrid score interval (method 10)."""
    for converted, size, group in ((treatment_converted, treatment_size, "treatment"),
                                   (holdout_converted, holdout_size, "holdout")):
        if size <= 0 or not 0 <= converted <= size:
            raise InputError(f"{metric}: the {group} group has {converted} conversions out of {size} persons",
                             hint="Each group needs at least one person and at most as many conversions as persons.")
    _check_confidence(confidence)
    z = _normal_quantile(0.5 + confidence / 2)
    rate_treatment, rate_holdout = treatment_converted / treatment_size, holdout_converted / holdout_size
    low_treatment, high_treatment = _wilson(treatment_converted, treatment_size, z)
    low_holdout, high_holdout = _wilson(holdout_converted, holdout_size, z)
    difference = rate_treatment - rate_holdout
    low = difference - math.sqrt((rate_treatment - low_treatment) ** 2 + (high_holdout - rate_holdout) ** 2)
    high = difference + math.sqrt((high_treatment - rate_treatment) ** 2 + (rate_holdout - low_holdout) ** 2)
    pooled = (treatment_converted + holdout_converted) / (treatment_size + holdout_size)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / treatment_size + 1 / holdout_size))
    p_value = 2 * (1 - _normal_cdf(abs(difference) / spread)) if spread > 0 else 1.0
    return Uplift(metric, treatment_size, holdout_size, rate_treatment, rate_holdout, difference, low, high,
                  confidence, p_value, "Newcombe hybrid score (difference of two proportions)")


def mean_uplift(treatment_values: Sequence[float], holdout_values: Sequence[float], confidence: float = 0.95,
                metric: str = "mean") -> Uplift:
    """Mean of the treatment minus the holdout's, Welch's t interval (unequal variances)."""
    from scipy import stats

    for values, group in ((treatment_values, "treatment"), (holdout_values, "holdout")):
        if len(values) < 2:
            raise InputError(f"{metric}: the {group} group has {len(values)} values",
                             hint="A mean's interval needs at least two persons in each group.")
    _check_confidence(confidence)
    mean_treatment, mean_holdout = _mean(treatment_values), _mean(holdout_values)
    variance_treatment = _variance(treatment_values, mean_treatment) / len(treatment_values)
    variance_holdout = _variance(holdout_values, mean_holdout) / len(holdout_values)
    spread = math.sqrt(variance_treatment + variance_holdout)
    difference = mean_treatment - mean_holdout
    if spread == 0:  # both groups constant: the difference is exact
        return Uplift(metric, len(treatment_values), len(holdout_values), mean_treatment, mean_holdout, difference,
                      difference, difference, confidence, 1.0 if difference == 0 else 0.0, "Welch t")
    freedom = (variance_treatment + variance_holdout) ** 2 / (
        variance_treatment**2 / (len(treatment_values) - 1) + variance_holdout**2 / (len(holdout_values) - 1))
    margin = float(stats.t.ppf(0.5 + confidence / 2, freedom)) * spread
    p_value = float(2 * stats.t.sf(abs(difference) / spread, freedom))
    return Uplift(metric, len(treatment_values), len(holdout_values), mean_treatment, mean_holdout, difference,
                  difference - margin, difference + margin, confidence, p_value, "Welch t")


def _wilson(converted: int, size: int, z: float) -> tuple[float, float]:
    """Wilson's score interval of one proportion."""
    rate = converted / size
    centre = (rate + z * z / (2 * size)) / (1 + z * z / size)
    half = z * math.sqrt(rate * (1 - rate) / size + z * z / (4 * size * size)) / (1 + z * z / size)
    return max(0.0, centre - half), min(1.0, centre + half)


def _normal_cdf(value: float) -> float:
    return 0.5 * (1 + math.erf(value / math.sqrt(2)))


def _normal_quantile(probability: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(probability))


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _variance(values: Sequence[float], mean: float) -> float:
    return math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1)


def _check_share(share: float) -> None:
    if not 0 <= share <= 1:
        raise InputError(f"holdout share {share} is outside 0..1", hint="Use a share such as 0.1 (10 % held out).")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise InputError(f"confidence {confidence} is outside (0, 1)", hint="Use a level such as 0.95.")
