"""Repurchase potential: reads order events, writes BG/NBD + Gamma-Gamma fits and per-person forecasts.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while active, a customer
makes repeat purchases as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after every purchase
they drop out for good with probability ``p ~ Beta(a, b)``. Gamma-Gamma (Fader, Hardie and Lee 2005,
"RFM and CLV") models the mean value of a customer's repeat purchases with ``p, q, v``.

A *transaction* is a customer-day (several orders of one customer on one day are one transaction), as in
the CDNOW analyses. ``order_summary`` builds, per customer, ``x`` (repeat transactions), ``t_x`` (time of
the last one after the first) and ``T`` (time from the first to the end of calibration) as an Ibis
expression the store runs on DuckDB or Spark; the fits run on the driver with scipy (log-parameterised,
L-BFGS-B, likelihoods with ``gammaln``/``betaln`` and the analytic ``hyp2f1`` for the conditional
forecast). ``demo.calibration`` fits the same likelihood (imported from here) on the full CDNOW file.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from scipy import optimize, special

from tgportrait.errors import InputError

SECONDS_PER_DAY = 86_400
DAYS_PER_WEEK = 7.0
FORECAST_DAYS = 90
MIN_CUSTOMERS = 20          # fewer customers (or no repeat purchase): no fit, the features stay null
MIN_REPEAT_CUSTOMERS = 10   # Gamma-Gamma needs customers with repeat purchases


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    time_unit_days: float = DAYS_PER_WEEK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """Mean transaction value of a customer without repeat purchases (prior mean, needs q > 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")


@dataclass(frozen=True)
class Summary:
    """Per-customer (x, t_x, T) in the fit's time unit, plus the mean value of repeat transactions."""

    key: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    repeat_value: np.ndarray     # mean USD per repeat transaction (nan when x == 0)
    holdout_x: np.ndarray        # transactions after the calibration end (0 when no holdout asked)

    @classmethod
    def from_arrow(cls, table: pa.Table, time_unit_days: float = DAYS_PER_WEEK) -> Summary:
        """Rows sorted by key: the fit sums in the same order on every engine, so it gives the same digits."""
        table = table.sort_by("key")

        def column(name: str) -> np.ndarray:
            return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)

        return cls(key=np.asarray(table.column("key").to_pylist(), dtype=object), x=column("x"),
                   t_x=column("t_x_days") / time_unit_days, T=column("T_days") / time_unit_days,
                   repeat_value=column("repeat_value"), holdout_x=column("holdout_x"))


def day_number(moment: date | datetime) -> int:
    """Days since 1970-01-01 of a date (a naive UTC datetime counts by its date)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return calendar.timegm(day.timetuple()) // SECONDS_PER_DAY


def order_summary(events: ir.Table, key: str, calibration_end: date, holdout_end: date | None = None) -> ir.Table:
    """Per customer of ``key``: x, t_x_days, T_days, repeat_value, holdout_x (an Ibis expression).

    Orders on days up to and including ``calibration_end`` calibrate; customers whose first order is
    later are left out; orders after it up to ``holdout_end`` count as ``holdout_x``.
    """
    end = day_number(calibration_end)
    last_day = day_number(holdout_end) if holdout_end is not None else end
    orders = events.filter((events.type == "order") & events.occurred_at.notnull() & events[key].notnull())
    orders = orders.mutate(_day=(orders.occurred_at.epoch_seconds() / SECONDS_PER_DAY).floor().cast("int64"))
    orders = orders.filter(orders._day <= last_day)
    days = orders.group_by([orders[key].name("key"), "_day"]).aggregate(
        value=orders.amount_usd.sum().fill_null(0.0))
    ranked = days.mutate(_rank=ibis.row_number().over(group_by=days.key, order_by=days._day))
    calibration = ranked._day <= end
    per_key = ranked.group_by("key").aggregate(
        _n=calibration.sum().cast("int64"),
        _first=ranked._day.min(),
        _last=ranked._day.max(where=calibration),
        repeat_value=ranked.value.mean(where=calibration & (ranked._rank > 0)),
        holdout_x=(~calibration).sum().cast("int64"),
    )
    per_key = per_key.filter(per_key._first <= end)
    return per_key.select(
        "key", x=(per_key._n - 1).cast("int64"), t_x_days=(per_key._last - per_key._first).cast("int64"),
        T_days=(ibis.literal(end) - per_key._first).cast("int64"), repeat_value=per_key.repeat_value.cast("float64"),
        holdout_x=per_key.holdout_x)


def bgnbd_negative_log_likelihood(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    """BG/NBD negative log-likelihood (Fader, Hardie and Lee 2005, eq. 6) of log(r, alpha, a, b)."""
    r, alpha, a, b = np.exp(log_params)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    still_active = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        dropped = np.where(
            x > 0,
            special.betaln(a + 1, b + np.maximum(x, 1) - 1) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf)
    return float(-(common + np.logaddexp(still_active, dropped)).sum())


def fit_bgnbd(summary: Summary, time_unit_days: float = DAYS_PER_WEEK) -> BgNbdFit:
    """Maximum-likelihood BG/NBD on the summary (one row per customer)."""
    if summary.x.size < MIN_CUSTOMERS or not (summary.x > 0).any():
        raise InputError(f"cannot fit BG/NBD on {summary.x.size} customers with "
                         f"{int((summary.x > 0).sum())} repeat buyers",
                         hint=f"Import orders of at least {MIN_CUSTOMERS} customers, some of whom bought twice.")
    start = np.log([0.5, max(float(summary.T.mean()), 1e-3) / 5, 1.0, 2.0])
    result = optimize.minimize(bgnbd_negative_log_likelihood, start, args=(summary.x, summary.t_x, summary.T),
                               method="L-BFGS-B", options={"maxiter": 2000})
    r, alpha, a, b = (float(value) for value in np.exp(result.x))
    return BgNbdFit(r, alpha, a, b, -float(result.fun), int(summary.x.size), time_unit_days)


def gamma_gamma_negative_log_likelihood(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    """Gamma-Gamma negative log-likelihood of the mean repeat value ``m`` over ``x`` transactions."""
    p, q, v = np.exp(log_params)
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x))
    return float(-ll.sum())


def fit_gamma_gamma(summary: Summary) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma on customers with repeat purchases of positive value."""
    keep = (summary.x > 0) & np.isfinite(summary.repeat_value) & (summary.repeat_value > 0)
    if int(keep.sum()) < MIN_REPEAT_CUSTOMERS:
        raise InputError(f"cannot fit Gamma-Gamma on {int(keep.sum())} repeat buyers with a positive spend",
                         hint=f"Import orders with amounts of at least {MIN_REPEAT_CUSTOMERS} repeat buyers.")
    x, m = summary.x[keep], summary.repeat_value[keep]
    start = np.log([1.0, 2.0, float(m.mean())])
    result = optimize.minimize(gamma_gamma_negative_log_likelihood, start, args=(x, m), method="L-BFGS-B",
                               options={"maxiter": 2000})
    p, q, v = (float(value) for value in np.exp(result.x))
    return GammaGammaFit(p, q, v, -float(result.fun), int(keep.sum()))


def probability_alive(fit: BgNbdFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still active | x, t_x, T); 1 for customers without repeat purchases."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (np.log(fit.a) - np.log(np.maximum(fit.b + x - 1, 1e-12))
                    + (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x)))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def expected_purchases(fit: BgNbdFit, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[transactions in the next ``t`` time units | x, t_x, T] (eq. 10, with the Gauss hypergeometric 2F1)."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    z = t / (alpha + T + t)
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    bracket = 1 - ratio * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    unconditional = (a + b + x - 1) / (a - 1) * bracket
    return np.maximum(unconditional * probability_alive(fit, x, t_x, T), 0.0)


def expected_transaction_value(fit: GammaGammaFit, x: np.ndarray, repeat_value: np.ndarray) -> np.ndarray:
    """E[value per transaction | x, mean repeat value]; the population mean without repeat purchases."""
    known = (x > 0) & np.isfinite(repeat_value)
    safe_value = np.where(known, repeat_value, 0.0)
    conditional = fit.p * (fit.v + x * safe_value) / (fit.p * x + fit.q - 1)
    return np.where(known, conditional, fit.population_mean)


def repurchase_features(summary: Summary, horizon_days: int = FORECAST_DAYS) -> tuple[pa.Table, dict[str, Any]]:
    """Per customer: p_alive, expected_purchases_90d, expected_value_90d_usd; plus the fits (or why none)."""
    schema = pa.schema([("person_id", pa.string()), ("p_alive", pa.float64()),
                        ("expected_purchases_90d", pa.float64()), ("expected_value_90d_usd", pa.float64())])
    try:
        purchase = fit_bgnbd(summary)
    except InputError as exc:
        return schema.empty_table(), {"bgnbd": None, "gamma_gamma": None, "skipped": exc.message}
    horizon = horizon_days / purchase.time_unit_days
    alive = probability_alive(purchase, summary.x, summary.t_x, summary.T)
    expected = expected_purchases(purchase, horizon, summary.x, summary.t_x, summary.T)
    report: dict[str, Any] = {"bgnbd": purchase.as_dict(), "gamma_gamma": None, "skipped": None}
    try:
        spend = fit_gamma_gamma(summary)
        value = expected * expected_transaction_value(spend, summary.x, summary.repeat_value)
        report["gamma_gamma"] = spend.as_dict()
    except InputError as exc:
        value = np.full(summary.x.size, np.nan)
        report["skipped"] = exc.message
    table = pa.table({"person_id": pa.array([str(key) for key in summary.key], pa.string()),
                      "p_alive": pa.array(alive, pa.float64()),
                      "expected_purchases_90d": pa.array(expected, pa.float64()),
                      "expected_value_90d_usd": pa.array(value, pa.float64(), from_pandas=True)}, schema=schema)
    return table, report


@dataclass(frozen=True)
class WorkspaceFit:
    """A fit on a workspace's imported orders (customers keyed by CRM customer id)."""

    bgnbd: BgNbdFit
    summary: Summary
    calibration_end: date
    holdout_end: date | None

    def as_dict(self) -> dict[str, Any]:
        fit = self.bgnbd
        return {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "log_likelihood": fit.log_likelihood,
                "customers": fit.customers, "calibration_end": self.calibration_end.isoformat(),
                "time_unit_days": fit.time_unit_days}


def fit_workspace_orders(workspace: Any, calibration_end: date | None = None,
                         time_unit_days: float = DAYS_PER_WEEK) -> WorkspaceFit:
    """BG/NBD on the workspace lake's order events, one customer per ``crm_customer_id``.

    ``calibration_end`` (inclusive) defaults to the day of the last order; orders after it form the holdout.
    """
    from tgportrait.store.tables import EVENTS

    engine, lake = workspace.engine, workspace.lake
    parts = lake.event_parts()
    if not parts:
        raise InputError(f"no events in the workspace at {workspace.root}",
                         hint="Import orders first: tgportrait import crm-orders FILE")
    events = engine.read_parquet(parts, "events", EVENTS)
    orders = events.filter((events.type == "order") & events.crm_customer_id.notnull())
    last = engine.execute(orders.aggregate(last=orders.occurred_at.max()), "last_order").column("last")[0].as_py()
    if last is None:
        raise InputError(f"no orders with a customer id in the workspace at {workspace.root}",
                         hint="Import orders first: tgportrait import crm-orders FILE")
    end = calibration_end or last.date()
    holdout_end = last.date() if last.date() > end else None
    summary = Summary.from_arrow(engine.execute(order_summary(events, "crm_customer_id", end, holdout_end),
                                                "order_summary"), time_unit_days)
    return WorkspaceFit(fit_bgnbd(summary, time_unit_days), summary, end, holdout_end)


def holdout_comparison(fitted: WorkspaceFit, max_bucket: int = 7) -> dict[str, Any]:
    """Forecast vs actual repeat transactions in the holdout: total and per calibration ``x`` (last bucket: x+)."""
    if fitted.holdout_end is None:
        return {"holdout_weeks": 0.0, "forecast": 0.0, "actual": 0, "by_x": []}
    summary = fitted.summary
    length = (day_number(fitted.holdout_end) - day_number(fitted.calibration_end)) / fitted.bgnbd.time_unit_days
    forecast = expected_purchases(fitted.bgnbd, length, summary.x, summary.t_x, summary.T)
    buckets = np.minimum(summary.x, max_bucket).astype(int)
    by_x = [{"x": f"{bucket}+" if bucket == max_bucket else str(bucket), "customers": int((buckets == bucket).sum()),
             "forecast_mean": round(float(forecast[buckets == bucket].mean()), 4),
             "actual_mean": round(float(summary.holdout_x[buckets == bucket].mean()), 4)}
            for bucket in range(max_bucket + 1) if (buckets == bucket).any()]
    return {"holdout_weeks": round(length, 4), "forecast": round(float(forecast.sum()), 2),
            "actual": int(summary.holdout_x.sum()), "by_x": by_x}


def repurchase_for_build(engine: Any, events: ir.Table, as_of: datetime) -> tuple[ir.Table | None, dict[str, Any]]:
    """The build's step: summary per person in the engine, fits on the driver, the feature columns back as a table.

    Returns (None, report with the reason) when there are too few customers to fit.
    """
    summary_arrow = engine.execute(order_summary(events, "person_id", as_of.date()), "order_summary")
    table, report = repurchase_features(Summary.from_arrow(summary_arrow))
    if report["bgnbd"] is None:
        return None, report
    return engine.from_arrow(table, "repurchase"), report
