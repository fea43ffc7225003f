"""Leakage-free customer features and churn labels at a cutoff date.

Every feature of a customer at cutoff ``c`` is computed from rows dated before ``c``
only; the label "churned" looks only at the window ``[c, c + window)``. The churn page
trains on them; any page that needs the same customer state reuses them. To add a
feature: compute it in :func:`purchase_features` and name it in :data:`FEATURE_LABELS`
(see ``docs/architecture.md``).

Every function takes a cleaned transactions frame or its
:class:`~crmlib.core.customer_log.CustomerLog`: a page that reads several cutoffs prepares
the log once (a few seconds at 10M lines) and each cutoff is then numpy counting over it
(about a second at 10M lines instead of ~25 s of pandas groupbys). The results are those
of the pandas formulation kept in ``tests/test_features_log.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.btyd import p_alive
from crmlib.core.customer_log import CustomerLog, as_customer_log, day_number, keep_rows
from crmlib.core.i18n import N_
from crmlib.core.summaries import TIME_UNITS, assign_segments, rfm_scores
from crmlib.core.validation import require_columns
from crmlib.errors import DataError

LABEL = "churned"


#: Plain-words names of the purchase-log features (used in driver sentences; message ids, shown through ``_()``).
FEATURE_LABELS: dict[str, str] = {
    "recency_days": N_("days since the last purchase"),
    "frequency": N_("number of purchase days"),
    "monetary": N_("total spend"),
    "avg_order_value": N_("average order value"),
    "tenure_days": N_("days since the first purchase"),
    "orders": N_("number of orders"),
    "spend_last_90d": N_("spend in the last 90 days"),
    "spend_prev_90d": N_("spend in the 90 days before that"),
    "spend_trend": N_("spend trend (last 90 days vs the 90 before)"),
    "orders_last_90d": N_("orders in the last 90 days"),
    "orders_prev_90d": N_("orders in the 90 days before that"),
    "orders_trend": N_("order trend (last 90 days vs the 90 before)"),
    "gap_mean_days": N_("average days between purchases"),
    "gap_std_days": N_("variability of days between purchases"),
    "overdue_ratio": N_("days since last purchase relative to the usual gap"),
    "distinct_products": N_("number of different products bought"),
    "products_per_order": N_("different products per order"),
    "items_per_order": N_("items per order"),
    "p_alive": N_("probability the customer is still active (BTYD model)"),
    "country": N_("country"),
    "segment": N_("RFM segment"),
}


def _customer_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    require_columns(transactions, ("amount", "customer_id", "invoice_date", "invoice_id"), "customer features")
    tx = keep_rows(transactions, transactions["customer_id"].notna())
    if not pd.api.types.is_datetime64_any_dtype(tx["invoice_date"]):
        raise DataError("invoice_date is not a date column", column="invoice_date")
    return tx


def churn_labels(transactions: pd.DataFrame | CustomerLog, cutoff: Any, churn_window_days: int,
                 population: pd.Index) -> pd.Series:
    """1 when a customer of ``population`` makes no purchase in [cutoff, cutoff + window).

    Assumptions: 1. churn in a non-contractual business is unobserved, so we use the
    operational proxy "no purchase within the window"; 2. the window is fully
    observed (the caller ensures cutoff + window <= the last data day + 1).
    ``transactions`` is a cleaned frame or its :class:`CustomerLog`; ``cutoff`` a calendar day.
    """
    cutoff = pd.Timestamp(cutoff)
    if cutoff != cutoff.normalize():
        raise DataError(f"the churn cutoff must be a calendar day (midnight), got {cutoff}")
    log = as_customer_log(transactions)
    start = day_number(cutoff)
    inside = (log.day >= start) & (log.day < start + int(churn_window_days))
    bought_code = log.units_per_customer(inside) > 0
    population = pd.Index(population, name="customer_id")
    position = log.ids.get_indexer(population) if len(population) else np.array([], dtype="int64")
    bought = (position >= 0) & bought_code[np.maximum(position, 0)] if log.n_customers else position >= 0
    return pd.Series((~bought).astype(int), index=population, name=LABEL)


def spend_between(transactions: pd.DataFrame | CustomerLog, start: Any, end: Any) -> pd.Series:
    """Each customer's spend on days ``start < day <= end`` (both dates inclusive of the day
    ``end``, exclusive of ``start``), indexed by customer id (sorted; customers with a row there)."""
    log = as_customer_log(transactions)
    inside = (log.day > day_number(start)) & (log.day <= day_number(end))
    code = log.code[inside]
    spend = np.bincount(code, weights=log.amount[inside], minlength=log.n_customers).astype("float64")
    has = np.bincount(code, minlength=log.n_customers) > 0
    return pd.Series(spend[has], index=log.ids[has], name="amount")


def _per_customer(log: CustomerLog, mask: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``values`` (count without) over the units under ``mask``, per customer code."""
    if values is None:
        return np.bincount(log.code[mask], minlength=log.n_customers)
    return np.bincount(log.code[mask], weights=values[mask], minlength=log.n_customers).astype("float64")


def _cutoff_facts(log: CustomerLog, cutoff_day: int) -> dict[str, np.ndarray]:
    """Day facts of every customer code from the units dated before ``cutoff_day``.

    The units of a customer dated before the cutoff are its first ``units`` ones
    (:class:`CustomerLog` sorts them by time), so first/last units are read by offset."""
    before = log.day < cutoff_day
    units = _per_customer(log, before).astype("int64")
    start = log.customer_start[:-1]
    seen = units > 0
    first_unit = np.where(seen, start, 0)
    last_unit = np.where(seen, start + units - 1, 0)
    repeat_days = before & (log.gap > 0)
    return {
        "before": before, "seen": seen, "last_unit": last_unit,
        "first_day": log.day[first_unit].astype("int64"), "last_day": log.day[last_unit].astype("int64"),
        "occasions": _per_customer(log, repeat_days).astype("int64") + 1,
        "gap_sum": _per_customer(log, repeat_days, log.gap.astype("float64")),
        "total": _per_customer(log, before, log.amount),
        "orders": _per_customer(log, before & log.first_of_invoice).astype("int64"),
    }


def _window_orders(log: CustomerLog, inside: np.ndarray) -> np.ndarray:
    """Distinct invoices per customer code among the units under ``inside``."""
    if not log.invoices_span_days:  # each invoice's units share a day: its first unit stands for it
        return _per_customer(log, inside & log.first_of_invoice)
    known = inside & (log.invoice >= 0)
    pair = np.unique(log.code[known].astype("int64") * np.int64(log.invoice.max() + 1) + log.invoice[known])
    return np.bincount(pair // np.int64(log.invoice.max() + 1), minlength=log.n_customers).astype("float64")


def purchase_features(
    transactions: pd.DataFrame | CustomerLog,
    cutoff: Any,
    *,
    active_days: int = 365,
    customers: pd.DataFrame | None = None,
    with_p_alive: bool = True,
    segment_map: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Features of every customer active before ``cutoff``, from rows dated before it.

    ``transactions`` is a cleaned frame or its :class:`~crmlib.core.customer_log.CustomerLog`
    (prepare the log once when reading several cutoffs). Active = at least one purchase in
    the ``active_days`` before the cutoff. Only rows with ``invoice_date < cutoff`` are read
    (the no-leakage test perturbs later rows and checks nothing changes). RFM columns as
    :func:`crmlib.customer_summary` computes them at the day before the cutoff; on top: spend and order trends
    (last 90 days vs the 90 before, by ``(cutoff - invoice_date).days``), inter-purchase
    gaps (between distinct purchase days), basket breadth,
    P(alive) from a BTYD fit at the cutoff (:func:`crmlib.core.btyd.p_alive`),
    the RFM segment at the cutoff, country (of the customer's latest row),
    and the cleaned customer-table attributes (see :func:`clean_customer_table`;
    they are assumed to be known at the cutoff - the caller must not pass
    attributes measured later).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    log = as_customer_log(transactions)
    c = day_number(cutoff)
    facts = _cutoff_facts(log, c)
    if not facts["seen"].any():
        raise DataError(f"no purchases before the cutoff {cutoff.date()}", column="invoice_date")
    as_of = c - 1
    chosen = np.flatnonzero(facts["seen"] & (facts["last_day"] >= c - int(active_days)))
    index = log.ids[chosen]
    f = {k: v[chosen] for k, v in facts.items() if k not in ("before", "seen")}
    monetary, orders = f["total"], f["orders"].astype("float64")
    order_or_nan = np.where(orders > 0, orders, np.nan)
    cols: dict[str, np.ndarray] = {
        "recency_days": (as_of - f["last_day"]).astype("float64"),
        "frequency": f["occasions"].astype("float64"),
        "monetary": monetary,
        "avg_order_value": monetary / order_or_nan,
        "tenure_days": (as_of - f["first_day"]).astype("float64"),
        "orders": orders,
    }
    summary = pd.DataFrame({"recency_days": cols["recency_days"], "frequency": cols["frequency"],
                            "monetary": monetary}, index=index)

    # trends: last 90 days vs the 90 before
    before, age = facts["before"], c - log.age_day
    for name, lo, hi in (("last_90d", 0, 90), ("prev_90d", 90, 180)):
        inside = before & (age >= lo) & (age < hi)
        cols[f"spend_{name}"] = _per_customer(log, inside, log.amount)[chosen]
        cols[f"orders_{name}"] = _window_orders(log, inside)[chosen].astype("float64")
    for what in ("spend", "orders"):
        last, prev = cols[f"{what}_last_90d"], cols[f"{what}_prev_90d"]
        both = last + prev
        cols[f"{what}_trend"] = np.where(both > 0, (last - prev) / np.where(both > 0, both, 1.0), 0.0)

    # inter-purchase gaps on distinct purchase days
    n_gaps = f["occasions"] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_mean = np.where(n_gaps > 0, f["gap_sum"] / np.maximum(n_gaps, 1), np.nan)
        repeat_days = before & (log.gap > 0)
        mean_of_code = np.full(log.n_customers, np.nan)
        mean_of_code[chosen] = gap_mean
        deviation = log.gap[repeat_days] - mean_of_code[log.code[repeat_days]]
        squares = np.bincount(log.code[repeat_days], weights=deviation * deviation,
                              minlength=log.n_customers).astype("float64")[chosen]
        cols["gap_mean_days"] = gap_mean
        cols["gap_std_days"] = np.where(n_gaps > 1, np.sqrt(squares / np.maximum(n_gaps - 1, 1)), np.nan)
        cols["overdue_ratio"] = cols["recency_days"] / np.where(gap_mean > 0, gap_mean, np.nan)

    # basket breadth
    if log.product_customer is not None:
        bought = log.product_customer[log.product_first_day < c]
        cols["distinct_products"] = np.bincount(bought, minlength=log.n_customers)[chosen].astype("float64")
        cols["products_per_order"] = cols["distinct_products"] / order_or_nan
    if log.quantity is not None:
        cols["items_per_order"] = _per_customer(log, before, log.quantity)[chosen] / order_or_nan
    feats = pd.DataFrame(cols, index=index)
    if with_p_alive:
        unit = TIME_UNITS["W"]
        frequency = cols["frequency"] - 1.0
        summary["btyd_frequency"] = frequency
        summary["btyd_recency"] = (f["last_day"] - f["first_day"]) / unit
        summary["btyd_T"] = (as_of - f["first_day"]) / unit
        feats["p_alive"] = p_alive(summary)
    feats["segment"] = assign_segments(rfm_scores(summary), segment_map).astype(str)
    if log.country is not None:  # the country of the customer's latest row
        names = np.append(log.countries, "unknown").astype(object)
        code = log.country[f["last_unit"]]
        feats["country"] = pd.Series(names[np.where(code >= 0, code, len(names) - 1)], index=index).astype(str)
    if customers is not None:
        attrs = customers.drop(columns=[LABEL], errors="ignore").set_index("customer_id")
        attrs = attrs.drop(columns=[c for c in attrs.columns if c in feats.columns])  # purchase data wins
        attrs.index = attrs.index.astype(str)
        feats = feats.join(attrs, how="left")
    feats.index.name = "customer_id"
    return feats


@dataclass
class Snapshot:
    """Features ``X`` and labels ``y`` (1 = churned) of one cutoff."""

    cutoff: pd.Timestamp
    X: pd.DataFrame
    y: pd.Series | None


def transaction_snapshot(transactions: pd.DataFrame | CustomerLog, cutoff: Any, churn_window_days: int,
                         *, labelled: bool = True, **feature_kwargs: Any) -> Snapshot:
    """Features at ``cutoff`` and (when ``labelled``) churn labels over the next window."""
    transactions = as_customer_log(transactions)
    X = purchase_features(transactions, cutoff, **feature_kwargs)
    y = churn_labels(transactions, cutoff, churn_window_days, X.index) if labelled else None
    return Snapshot(pd.Timestamp(cutoff), X, y)


def feature_label(feature: str) -> str:
    """A feature's plain-words name."""
    return FEATURE_LABELS.get(feature, feature.replace("_", " "))
