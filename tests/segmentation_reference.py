"""The segmentation page's computations as they were before issue 17 (pandas group-bys on ids).

Kept only as the reference that tests compare the integer-code versions against.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.rfm import RFM_BINS, load_segment_map, segment_grid
from crmlib.core.summaries import _as_timestamp
from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError
from crmlib.pages.segmentation.analysis import LIFECYCLE_STAGES
from crmlib.pages.segmentation.text import LIFECYCLE_LABELS


def reference_cohort_tables(transactions: pd.DataFrame, as_of: Any, *, customer_col: str = "customer_id",
                  date_col: str = "invoice_date", amount_col: str = "amount") -> dict[str, pd.DataFrame]:
    """Monthly acquisition cohorts x months since first purchase.

    A customer's cohort is the month of their first purchase in the data (customers who
    bought before the data starts look new in its first month: that cohort is
    over-stated). Returns ``{"sizes", "active", "retention", "revenue",
    "revenue_per_customer"}``: ``active`` counts cohort customers who bought in month k
    after acquisition (k = 0 is the acquisition month), ``retention`` = active / cohort
    size, ``revenue`` the cohort's spend in month k, ``revenue_per_customer`` = revenue /
    cohort size. Rows are cohorts (``YYYY-MM``), columns k = 0, 1, ...
    """
    as_of_ts = _as_timestamp(as_of, "as_of")
    dates = pd.to_datetime(transactions[date_col])
    rows = transactions[customer_col].notna() & (dates.dt.normalize() <= as_of_ts)
    month = (dates.dt.year * 12 + dates.dt.month - 1)[rows]
    frame = pd.DataFrame({"customer": transactions.loc[rows, customer_col], "month": month,
                          "amount": transactions.loc[rows, amount_col]})
    frame["cohort"] = frame.groupby("customer", observed=True)["month"].transform("min")
    frame["k"] = frame["month"] - frame["cohort"]
    grouped = frame.groupby(["cohort", "k"])
    active = grouped["customer"].nunique().unstack(fill_value=0)
    revenue = grouped["amount"].sum().unstack(fill_value=0.0)
    sizes = active[0]

    def label(index: pd.Index) -> pd.Index:
        return pd.Index([f"{m // 12}-{m % 12 + 1:02d}" for m in index], name="cohort")

    # months not yet observed for a cohort are NaN, not 0
    observed_months = (as_of_ts.year * 12 + as_of_ts.month - 1) - active.index.to_numpy()
    unobserved = active.columns.to_numpy()[None, :] > observed_months[:, None]
    out = {
        "sizes": sizes.set_axis(label(sizes.index)),
        "active": active.mask(unobserved).set_axis(label(active.index)),
        "retention": active.div(sizes, axis=0).mask(unobserved).set_axis(label(active.index)),
        "revenue": revenue.mask(unobserved).set_axis(label(revenue.index)),
        "revenue_per_customer": revenue.div(sizes, axis=0).mask(unobserved).set_axis(label(revenue.index)),
    }
    for table in out.values():
        if isinstance(table, pd.DataFrame):
            table.columns.name = "months since first purchase"
    return out


def reference_segment_table(customers: pd.DataFrame, segment_map: dict[str, dict[str, Any]] | None = None,
                  *, by: str = "segment") -> pd.DataFrame:
    """Customers, revenue share and average value per segment (or any column ``by``).

    Uses ``monetary`` (spend in the window), ``recency_days`` and ``frequency``. Segments
    with no customers are kept with zero counts so that reports always list every segment.
    ``top20_share_within`` is the share of the segment's revenue from its own top 20 %
    of customers (as :func:`top_share`): how concentrated value is inside the segment.
    """
    total_customers = len(customers)
    total_revenue = customers["monetary"].sum()
    grouped = customers.groupby(by, observed=False)
    table = pd.DataFrame({
        "customers": grouped.size(),
        "revenue": grouped["monetary"].sum(),
        "avg_value": grouped["monetary"].mean(),
        "median_recency_days": grouped["recency_days"].median(),
        "median_frequency": grouped["frequency"].median(),
    })
    table["customer_share"] = table["customers"] / total_customers if total_customers else 0.0
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue else 0.0
    position = grouped["monetary"].rank(method="first", ascending=False)
    in_top = position <= np.ceil(0.2 * grouped["monetary"].transform("size"))
    top_revenue = customers["monetary"].where(in_top, 0.0).groupby(customers[by], observed=False).sum()
    table["top20_share_within"] = top_revenue / table["revenue"].where(table["revenue"] > 0)
    if segment_map is not None and by == "segment":
        table["action"] = pd.Series({k: v["action"] for k, v in segment_map.items()})
    return table


def reference_lifecycle_stage(customers: pd.DataFrame, *, active_days: int, lapsed_days: int,
                    new_days: int | None = None) -> pd.Series:
    """Life-cycle stage of each customer at ``as_of`` (ordered categorical).

    Rules, first match wins (inputs from :func:`customer_summary`):

    1. **new** - first purchase within ``new_days`` (default ``active_days``) of as_of.
    2. **reactivated** - bought within ``active_days`` after a silence longer than
       ``lapsed_days`` (gap between the last two purchase days).
    3. **active** - bought within ``active_days``.
    4. **at-risk** - last purchase ``active_days`` to ``lapsed_days`` ago.
    5. **lapsed** - silent for more than ``lapsed_days`` (dormant).
    """
    if not 0 < active_days < lapsed_days:
        raise ConfigError(f"life-cycle thresholds need 0 < active_days < lapsed_days, got {active_days}, {lapsed_days}")
    new_days = active_days if new_days is None else new_days
    recency = customers["recency_days"]
    last_gap = (customers["last_purchase"] - customers["previous_purchase"]) / np.timedelta64(1, "D")
    stage = np.select(
        [customers["tenure_days"] <= new_days,
         (recency <= active_days) & (last_gap > lapsed_days),
         recency <= active_days,
         recency <= lapsed_days],
        ["new", "reactivated", "active", "at-risk"],
        default="lapsed",
    )
    return pd.Series(pd.Categorical(stage, categories=list(LIFECYCLE_STAGES), ordered=True),
                     index=customers.index, name="lifecycle_stage")


def reference_rfm_scores(summary: pd.DataFrame, *, recency_col: str = "recency_days", frequency_col: str = "frequency",
               monetary_col: str = "monetary") -> pd.DataFrame:
    """Quintile scores 1-5 for recency (reversed), frequency and monetary, and ``rfm_score``.

    Method (mid-rank quintiles; the usual RFM quintile scoring, Hughes 1994, "Strategic
    Database Marketing", with an explicit tie rule):

    1. A customer's position is the share of customers with a *worse* value plus half the
       share with the *same* value (the mid-rank percentile, in [0, 1)). Worse means a
       longer time since the last purchase, fewer purchase days, lower spend.
    2. Score = 1 + floor(5 x position), so with distinct values the five scores hold a
       fifth of the customers each.
    3. Ties: customers with the same value always get the same score (no arbitrary tie
       breaking). When many customers share a value - typically the one-time buyers,
       frequency 1 - the scores are unequal in size and a score can be empty (e.g. F has
       no 2 when 40 % bought on one day only).
    4. Tiny customer bases: the rule still applies (1 customer gets 3, 2 customers get 2
       and 4, 5 customers get 1..5); a score then ranks customers among very few others
       and says little, which the notebook warns about below 50 customers.

    Returns a frame with ``r_score``, ``f_score``, ``m_score`` (int) and ``rfm_score``
    (str, e.g. ``"545"``), on ``summary``'s index.
    """
    require_columns(summary, (recency_col, frequency_col, monetary_col), "RFM scores")

    def score(values: pd.Series) -> np.ndarray:
        position = (values.rank(method="average") - 0.5) / len(values)
        return np.minimum(1 + np.floor(RFM_BINS * position.to_numpy()), RFM_BINS).astype("int64")

    out = pd.DataFrame(index=summary.index)
    if summary.empty:
        return out.assign(r_score=pd.Series(dtype="int64"), f_score=pd.Series(dtype="int64"),
                          m_score=pd.Series(dtype="int64"), rfm_score=pd.Series(dtype="str"))
    out["r_score"] = score(-summary[recency_col].astype("float64"))
    out["f_score"] = score(summary[frequency_col].astype("float64"))
    out["m_score"] = score(summary[monetary_col].astype("float64"))
    out["rfm_score"] = (out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str))
    return out


def reference_assign_segments(scores: pd.DataFrame, segment_map: dict[str, dict[str, Any]] | None = None) -> pd.Series:
    """Named segment of each customer from its ``rfm_score`` (an ordered categorical).

    ``segment_map`` comes from :func:`load_segment_map` (default map when ``None``).
    """
    segment_map = segment_map or load_segment_map()
    lookup = segment_grid(segment_map).set_index("rfm_score")["segment"]
    names = scores["rfm_score"].map(lookup)
    return pd.Series(pd.Categorical(names, categories=list(segment_map), ordered=True),
                     index=scores.index, name="segment")


def reference_segment_list(result: Segmentation) -> pd.DataFrame:
    """One row per customer for campaigns: segment, RFM scores, last purchase, spend."""
    c = result.customers
    return pd.DataFrame({
        "Customer id": c.index.astype(str),
        "RFM segment": c["segment"].astype(str).to_numpy(),
        "RFM score": c["rfm_score"].astype(str).to_numpy(),
        "Recency score": c["r_score"].to_numpy(), "Frequency score": c["f_score"].to_numpy(),
        "Monetary score": c["m_score"].to_numpy(),
        "Last purchase": c["last_purchase"].dt.strftime("%Y-%m-%d").to_numpy(),
        "Days since last purchase": c["recency_days"].to_numpy(),
        "Purchase days": c["frequency"].to_numpy(), "Orders": c["orders"].to_numpy(),
        "Spend": c["monetary"].round(2).to_numpy(),
        "Life-cycle stage": c["lifecycle_stage"].astype(str).map(LIFECYCLE_LABELS).to_numpy(),
    }).sort_values(["RFM segment", "Spend"], ascending=[True, False], kind="stable")
