"""Calibrate demo orders on real purchases: reads CDNOW_master.txt, writes CalibrationParams; simulates orders.

CDNOW (Fader and Hardie) holds 69,659 purchase records of 23,570 customers who first bought in the first
quarter of 1997, followed until the end of June 1998. Records of one customer on one day form one order
(67,591 orders), as in the published analyses. Two things are fitted by maximum likelihood with scipy:

* **How often people buy** — BG/NBD (Fader, Hardie and Lee 2005): while active, a customer makes repeat
  purchases as a Poisson process with weekly rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase
  they drop out for good with probability ``p ~ Beta(a, b)``. This is the Gamma-Poisson (NBD) purchase
  rate plus the drop-out that makes CDNOW's buying slow down; without drop-out an NBD fitted on 78 weeks
  overstates one-time buyers over 26 weeks by 7 points, with it the gap is under 2.
* **How much they spend** — a lognormal with a customer effect: ``log(usd) = mu + u_customer + e_order``,
  ``u ~ N(0, sd_customer^2)``, ``e ~ N(0, sd_order^2)``. ``mu`` and the total spread are the lognormal MLE
  over orders (it beats a gamma by 6,500 log-likelihood points); a random-effects MLE splits the spread
  between customer and order, so big spenders stay big spenders.

The BG/NBD likelihood is ``label.repurchase.bgnbd_negative_log_likelihood`` (the workspace model's).
``CDNOW_PARAMS`` holds the result of ``fit_cdnow`` on the real file so the generator needs no data;
``tests/demo/test_calibration.py`` refits and checks the constants. Time is in weeks, so a generated
window of any length uses the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

from tgportrait.label.repurchase import bgnbd_negative_log_likelihood

DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class CalibrationParams:
    r: float                     # Gamma shape of the weekly purchase rate
    alpha: float                 # Gamma rate (weeks) of the weekly purchase rate
    a: float                     # Beta a of the drop-out probability after a repeat purchase
    b: float                     # Beta b of the drop-out probability
    spend_log_mean: float        # mu of log(USD per order)
    spend_log_sd_customer: float
    spend_log_sd_order: float

    @property
    def spend_log_sd(self) -> float:
        """Standard deviation of log spend over all orders (customer and order effects together)."""
        return float(np.hypot(self.spend_log_sd_customer, self.spend_log_sd_order))


# fit_cdnow(Path("../shared/data/orders/CDNOW_master.txt")), rounded; checked by tests/demo/test_calibration.py.
CDNOW_PARAMS = CalibrationParams(
    r=0.266859, alpha=5.98041, a=0.490557, b=2.14037,
    spend_log_mean=3.310832, spend_log_sd_customer=0.442140, spend_log_sd_order=0.591246,
)


@dataclass(frozen=True)
class CdnowOrders:
    """CDNOW aggregated to orders (one customer, one day), sorted by customer then day."""

    customer: np.ndarray         # int, 0..customers-1
    day: np.ndarray              # int, days since 1997-01-01
    usd: np.ndarray              # float, dollars spent that day
    items: np.ndarray            # int, CDs bought that day
    observation_days: int        # days from 1997-01-01 to the end of observation (1998-07-01)

    @property
    def customers(self) -> int:
        return int(self.customer.max()) + 1


def read_cdnow(path: Path) -> CdnowOrders:
    """Read CDNOW_master.txt (customer_id, date YYYYMMDD, number_of_cds, dollar_value; whitespace separated)."""
    raw = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    dates = pd.to_datetime(raw["date"], format="%Y%m%d")
    origin = dates.min()
    frame = pd.DataFrame({
        "customer": pd.factorize(raw["customer_id"], sort=True)[0],
        "day": (dates - origin).dt.days.to_numpy(),
        "usd": raw["dollar_value"].to_numpy(dtype=float),
        "items": raw["number_of_cds"].to_numpy(dtype=int),
    })
    orders = frame.groupby(["customer", "day"], sort=True).sum().reset_index()
    return CdnowOrders(
        customer=orders["customer"].to_numpy(), day=orders["day"].to_numpy(), usd=orders["usd"].to_numpy(),
        items=orders["items"].to_numpy(), observation_days=int((dates.max() - origin).days) + 1)


def repeat_summary(orders: CdnowOrders) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer: repeat purchases x, weeks from first to last purchase t_x, weeks observed T."""
    counts = np.bincount(orders.customer)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = orders.day[starts]
    last = orders.day[starts + counts - 1]
    x = (counts - 1).astype(float)
    return x, (last - first) / DAYS_PER_WEEK, (orders.observation_days - first) / DAYS_PER_WEEK


def spend_negative_log_likelihood(log_params: np.ndarray, counts: np.ndarray, means: np.ndarray,
                                  within: np.ndarray, mu: float) -> float:
    """One-way random-effects normal model of log spend; ``log_params`` = log(sd_customer, sd_order)."""
    tau2, sigma2 = np.exp(2 * log_params)
    group = sigma2 + counts * tau2
    ll = (-0.5 * counts * np.log(2 * np.pi) - 0.5 * (counts - 1) * np.log(sigma2) - 0.5 * np.log(group)
          - within / (2 * sigma2) - counts * (means - mu) ** 2 / (2 * group))
    return float(-ll.sum())


def fit_cdnow(path: Path) -> CalibrationParams:
    """Fit BG/NBD and the lognormal spend model on CDNOW by maximum likelihood."""
    orders = read_cdnow(path)
    x, t_x, T = repeat_summary(orders)
    purchase = optimize.minimize(bgnbd_negative_log_likelihood, np.log([0.5, 5.0, 1.0, 2.0]), args=(x, t_x, T),
                                 method="L-BFGS-B")
    r, alpha, a, b = np.exp(purchase.x)

    paid = orders.usd > 0
    log_usd = np.log(orders.usd[paid])
    customer = orders.customer[paid]
    counts = np.bincount(customer).astype(float)
    keep = counts > 0
    sums = np.bincount(customer, weights=log_usd)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=keep)
    within = np.bincount(customer, weights=(log_usd - means[customer]) ** 2)
    counts, means, within = counts[keep], means[keep], within[keep]

    def negative_log_likelihood(params: np.ndarray) -> float:
        return spend_negative_log_likelihood(params[1:], counts, means, within, float(params[0]))

    start = np.array([log_usd.mean(), np.log(0.5), np.log(0.5)])
    spend = optimize.minimize(negative_log_likelihood, start, method="L-BFGS-B")
    sd_customer, sd_order = np.exp(spend.x[1:])
    customer_share = sd_customer**2 / (sd_customer**2 + sd_order**2)
    # Level and spread over orders are the order-level lognormal MLE (what a marketer sees per order); the
    # random-effects fit only says how much of the spread belongs to the customer.
    sd_total = float(log_usd.std())
    return CalibrationParams(
        r=float(r), alpha=float(alpha), a=float(a), b=float(b), spend_log_mean=float(log_usd.mean()),
        spend_log_sd_customer=sd_total * float(np.sqrt(customer_share)),
        spend_log_sd_order=sd_total * float(np.sqrt(1 - customer_share)))


def simulate_repeat_weeks(rng: np.random.Generator, params: CalibrationParams, exposure_weeks: np.ndarray,
                          rate_quantiles: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases of customers observed ``exposure_weeks`` after their first purchase (BG/NBD).

    ``rate_quantiles`` (uniform 0..1 per customer) pick each customer's purchase rate from the Gamma
    distribution, so a caller can tie the rate to something else (community activity). Returns
    (customer index, weeks after the first purchase) of every repeat purchase.
    """
    customers = int(exposure_weeks.shape[0])
    quantiles = rng.random(customers) if rate_quantiles is None else rate_quantiles
    rate = stats.gamma.ppf(np.clip(quantiles, 1e-9, 1 - 1e-9), params.r, scale=1.0 / params.alpha)
    dropout = rng.beta(params.a, params.b, customers)
    clock = np.zeros(customers)
    active = np.flatnonzero(rate > 0)
    owners: list[np.ndarray] = []
    weeks: list[np.ndarray] = []
    while active.size:
        clock[active] += rng.exponential(1.0, active.size) / rate[active]
        active = active[clock[active] <= exposure_weeks[active]]
        owners.append(active)
        weeks.append(clock[active].copy())
        active = active[rng.random(active.size) >= dropout[active]]
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners).astype(np.int64), np.concatenate(weeks)


def sample_spend_usd(rng: np.random.Generator, params: CalibrationParams, order_customer: np.ndarray,
                     customers: int) -> np.ndarray:
    """US dollars of each order: a lognormal with a per-customer level (big spenders stay big)."""
    level = rng.normal(0.0, params.spend_log_sd_customer, customers)
    noise = rng.normal(0.0, params.spend_log_sd_order, order_customer.shape[0])
    return np.asarray(np.exp(params.spend_log_mean + level[order_customer] + noise))
