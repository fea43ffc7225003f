"""Leakage-free customer features and churn labels at a cutoff date.

Every feature of a customer at cutoff ``c`` is computed from rows dated before ``c``
only; the label "churned" looks only at the window ``[c, c + window)``. The churn page
trains on them; any page that needs the same customer state reuses them. To add a
feature: compute it in :func:`purchase_features` and name it in :data:`FEATURE_LABELS`
(see ``docs/architecture.md``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from crmlib.core.btyd import p_alive
from crmlib.core.i18n import N_
from crmlib.core.summaries import assign_segments, customer_summary, rfm_scores
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
    tx = transactions[transactions["customer_id"].notna()]
    if not pd.api.types.is_datetime64_any_dtype(tx["invoice_date"]):
        raise DataError("invoice_date is not a date column", column="invoice_date")
    return tx


def churn_labels(transactions: pd.DataFrame, cutoff: Any, churn_window_days: int,
                 population: pd.Index) -> pd.Series:
    """1 when a customer of ``population`` makes no purchase in [cutoff, cutoff + window).

    Assumptions: 1. churn in a non-contractual business is unobserved, so we use the
    operational proxy "no purchase within the window"; 2. the window is fully
    observed (the caller ensures cutoff + window <= the last data day + 1).
    """
    cutoff = pd.Timestamp(cutoff)
    tx = _customer_rows(transactions)
    dates = tx["invoice_date"]
    inside = tx.loc[(dates >= cutoff) & (dates < cutoff + pd.Timedelta(days=churn_window_days)), "customer_id"]
    bought = pd.Index(population).isin(inside.astype(str).unique())
    return pd.Series((~bought).astype(int), index=pd.Index(population, name="customer_id"), name=LABEL)


def purchase_features(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    active_days: int = 365,
    customers: pd.DataFrame | None = None,
    with_p_alive: bool = True,
    segment_map: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Features of every customer active before ``cutoff``, from rows dated before it.

    Active = at least one purchase in the ``active_days`` before the cutoff. Only rows
    with ``invoice_date < cutoff`` are read (the no-leakage test perturbs later rows
    and checks nothing changes). RFM columns come from
    :func:`crmlib.customer_summary`; on top: spend and order trends
    (last 90 days vs the 90 before), inter-purchase gaps, basket breadth,
    P(alive) from a BTYD fit at the cutoff (:func:`crmlib.core.btyd.p_alive`),
    the RFM segment at the cutoff, country,
    and the cleaned customer-table attributes (see :func:`clean_customer_table`;
    they are assumed to be known at the cutoff - the caller must not pass
    attributes measured later).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    tx = _customer_rows(transactions)
    tx = tx[tx["invoice_date"] < cutoff].copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    if tx.empty:
        raise DataError(f"no purchases before the cutoff {cutoff.date()}", column="invoice_date")
    last_day = cutoff - pd.Timedelta(days=1)
    summary = customer_summary(tx, last_day)
    summary.index = summary.index.astype(str)
    summary = summary[summary["last_purchase"] >= cutoff - pd.Timedelta(days=active_days)]
    keep = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders"]
    feats = summary[keep].astype("float64")
    tx = tx[tx["customer_id"].isin(feats.index)]

    # trends: last 90 days vs the 90 before
    age = (cutoff - tx["invoice_date"]).dt.days
    for name, lo, hi in (("last_90d", 0, 90), ("prev_90d", 90, 180)):
        part = tx[(age >= lo) & (age < hi)].groupby("customer_id")
        feats[f"spend_{name}"] = part["amount"].sum().reindex(feats.index).fillna(0.0)
        feats[f"orders_{name}"] = part["invoice_id"].nunique().reindex(feats.index).fillna(0).astype("float64")
    for what in ("spend", "orders"):
        last, prev = feats[f"{what}_last_90d"], feats[f"{what}_prev_90d"]
        feats[f"{what}_trend"] = ((last - prev) / (last + prev)).where(last + prev > 0, 0.0)

    # inter-purchase gaps on distinct purchase days
    days = tx[["customer_id"]].assign(day=tx["invoice_date"].dt.normalize()).drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days.dropna()
    gap_by = gaps.groupby(days.loc[gaps.index, "customer_id"])
    feats["gap_mean_days"] = gap_by.mean().reindex(feats.index)
    feats["gap_std_days"] = gap_by.std().reindex(feats.index)
    feats["overdue_ratio"] = feats["recency_days"] / feats["gap_mean_days"].where(feats["gap_mean_days"] > 0)

    # basket breadth
    by = tx.groupby("customer_id")
    if "product_id" in tx.columns:
        feats["distinct_products"] = by["product_id"].nunique().reindex(feats.index).astype("float64")
        feats["products_per_order"] = feats["distinct_products"] / feats["orders"].where(feats["orders"] > 0)
    if "quantity" in tx.columns:
        feats["items_per_order"] = by["quantity"].sum().reindex(feats.index) / feats["orders"].where(feats["orders"] > 0)
    if with_p_alive:
        feats["p_alive"] = p_alive(summary)
    feats["segment"] = assign_segments(rfm_scores(summary), segment_map).astype(str)
    if "country" in tx.columns:  # the country of the customer's latest row
        latest = tx.sort_values("invoice_date").drop_duplicates("customer_id", keep="last")
        feats["country"] = latest.set_index("customer_id")["country"].reindex(feats.index).fillna("unknown").astype(str)
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


def transaction_snapshot(transactions: pd.DataFrame, cutoff: Any, churn_window_days: int,
                         *, labelled: bool = True, **feature_kwargs: Any) -> Snapshot:
    """Features at ``cutoff`` and (when ``labelled``) churn labels over the next window."""
    X = purchase_features(transactions, cutoff, **feature_kwargs)
    y = churn_labels(transactions, cutoff, churn_window_days, X.index) if labelled else None
    return Snapshot(pd.Timestamp(cutoff), X, y)


def feature_label(feature: str) -> str:
    """A feature's plain-words name."""
    return FEATURE_LABELS.get(feature, feature.replace("_", " "))
