"""The segmentation page's words and tables: every number in them comes from the data.

Segment names (which a team may rename in its segment map) go through
:func:`crmlib.core.text.md` in sentences and through
:func:`crmlib.core.tables.manager_table` in tables. "At Risk" and "Cannot Lose Them" are
RFM segment names: sentences say "RFM segment" beside them, so they are not read as the
churn page's "high churn risk". The life-cycle stages are shown with the labels of
:data:`LIFECYCLE_LABELS` ("regular", "overdue"), not "active" or "at risk", which the
report keeps for other definitions (active = bought within the report period).
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_date, format_money, format_percent
from crmlib.core.summaries import RFM_BINS
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.pages.segmentation.analysis import LIFECYCLE_STAGES, Segmentation

#: Life-cycle stage (the artifact's value) -> the label a reader sees.
LIFECYCLE_LABELS: dict[str, str] = {
    "new": "new", "active": "regular", "reactivated": "won back", "at-risk": "overdue", "lapsed": "lapsed",
}
#: The RFM segments whose customers used to buy often and have gone quiet.
WIN_BACK_SEGMENTS = ("At Risk", "Cannot Lose Them")


def history_window(result: Segmentation) -> str:
    """The purchases the page's figures cover, in words: "1 Dec 2010 – 30 Nov 2011"."""
    return f"{format_date(result.customers['first_purchase'].min())} – {format_date(result.as_of)}"


def summary_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: how many customers, their total spend and the typical customer."""
    c = result.customers
    return (f"**{len(c):,} customers** bought between {c['first_purchase'].min():%d %b %Y} and "
            f"{result.as_of:%d %b %Y}, spending {format_money(c['monetary'].sum(), currency, compact=True)} in total. "
            f"The figures on this page cover all their purchases in that time, not only this report's month. The "
            f"typical customer bought on {c['frequency'].median():.0f} day(s), last {c['recency_days'].median():.0f} "
            f"days ago, and spent {format_money(c['monetary'].median(), currency, compact=True)}; "
            f"{(c['frequency'] == 1).mean():.0%} bought on one day only.")


def segments_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: the segment bringing most revenue, the largest one, the win-back list."""
    t = result.segments.sort_values("revenue", ascending=False)
    top = t.iloc[0]
    biggest = t.sort_values("customers", ascending=False).iloc[0]
    risk = t.reindex(list(WIN_BACK_SEGMENTS)).dropna(subset=["customers"])
    text = (f"**{md(t.index[0])}** bring the most revenue: {top['revenue_share']:.0%} of it from "
            f"{top['customer_share']:.0%} of customers (on average {format_money(top['avg_value'], currency, compact=True)} each). "
            f"The largest group is **{md(biggest.name)}** ({int(biggest['customers']):,} customers, "
            f"{biggest['customer_share']:.0%}).")
    if not risk.empty and risk["customers"].sum() > 0:
        names = " and ".join(md(n) for n in risk.index)
        text += (f" Customers who used to buy often but have gone quiet (RFM segments {names}) are "
                 f"{int(risk['customers'].sum()):,} customers holding {risk['revenue_share'].sum():.0%} of revenue: "
                 f"the first win-back list (in the download below).")
    empty = t.index[t["customers"] == 0].tolist()
    if empty:
        text += f" No customer falls in: {', '.join(md(n) for n in empty)}."
    return text


def segment_summary(result: Segmentation, currency: str = "GBP") -> ManagerTable:
    """The segment table a manager reads: size, value and the suggested action (the rest of
    the columns are in :func:`segment_details`' download)."""
    return manager_table(result.segments, {
        "customers": ("Customers", "count"),
        "revenue_share": ("Share of revenue", "percent"),
        "action": ("Suggested action", "text"),
    }, index=("RFM segment", "text"), currency=currency)


def segment_details(result: Segmentation) -> pd.DataFrame:
    """Every column of the segment table with readable headers (for the download)."""
    t = result.segments.reset_index().rename(columns={result.segments.index.name or "index": "segment"})
    return t.rename(columns={
        "segment": "RFM segment", "customers": "Customers", "revenue": "Revenue", "avg_value": "Average spend",
        "median_recency_days": "Days since last purchase (median)", "median_frequency": "Purchase days (median)",
        "customer_share": "Share of customers", "revenue_share": "Share of revenue",
        "top20_share_within": "Revenue share of the segment's top 20 %", "action": "Suggested action",
    })


def segment_list(result: Segmentation) -> pd.DataFrame:
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


def rfm_text(result: Segmentation) -> str:
    """Markdown: how the scores work, and what ties or a tiny base did to them here."""
    c = result.customers
    f_counts = c["f_score"].value_counts()
    text = ("Scores run from 1 (worst fifth of customers) to 5 (best fifth) for Recency (how recently), "
            "Frequency (on how many days) and Monetary (how much in total). Customers with the same value always "
            "get the same score.")
    missing = [s for s in range(1, RFM_BINS + 1) if s not in f_counts.index]
    if missing:
        plural = len(missing) > 1
        text += (f" Tied customers share a score ({(c['frequency'] == 1).mean():.0%} bought on one day only), so "
                 f"F score{'s' if plural else ''} {', '.join(map(str, missing))} {'are' if plural else 'is'} empty.")
    if len(c) < 50:
        text += f" With only {len(c)} customers the scores compare each customer with very few others."
    return text


def clusters_text(result: Segmentation) -> str:
    """Markdown: how many groups the data holds, one line per group in plain words."""
    m = result.clusters
    lines = [f"The customers fall most clearly into **{m.k_} groups**:"]
    for cluster, row in m.profiles_.iterrows():
        share = f", {row['revenue_share']:.0%} of revenue" if "revenue_share" in row else ""
        lines.append(f"- **Group {cluster}**: {md(row['description'])}; {int(row['customers']):,} customers "
                     f"({row['customer_share']:.0%}{share}).")
    return "\n".join(lines)


def lifecycle_text(result: Segmentation) -> str:
    """Markdown: the life-cycle stages with their thresholds in days, and how many are in each."""
    th = result.thresholds
    stages = result.customers["lifecycle_stage"].value_counts()
    n = len(result.customers)
    counts = ", ".join(f"{LIFECYCLE_LABELS[k]}: {stages.get(k, 0):,} ({stages.get(k, 0) / n:.0%})"
                       for k in LIFECYCLE_STAGES)
    gap = f" (half of them within {th['median_gap_days']:.0f} days)" if th.get("median_gap_days") else ""
    return (f"Our customers' usual gap between two purchase days decides the stages{gap}: **new** = first "
            f"purchase in the last {th['new_days']} days; **regular** = bought in the last {th['active_days']} "
            f"days; **won back** = bought again in the last {th['active_days']} days after more than "
            f"{th['lapsed_days']} days of silence; **overdue** = last purchase {th['active_days']}–"
            f"{th['lapsed_days']} days ago, later than most customers come back; **lapsed** = silent for more "
            f"than {th['lapsed_days']} days.\n\n{counts}.")


def cohorts_text(cohorts: dict[str, pd.DataFrame]) -> str:
    """Markdown: month-1 retention on average, best and weakest cohort, first-cohort caveat."""
    ret = cohorts["retention"]
    if ret.shape[1] < 2:
        return "The data covers less than two months: no retention to show yet."
    month1 = ret[1].dropna()
    text = (f"On average {month1.mean():.0%} of a cohort buys again in the month after its first purchase "
            f"(best: {month1.idxmax()} at {month1.max():.0%}; weakest: {month1.idxmin()} at {month1.min():.0%}).")
    first = ret.index[0]
    text += (f" The first cohort ({first}) also holds customers who bought before the data starts, so its "
             f"retention is higher than a true new-customer cohort's.")
    return text


def concentration_text(result: Segmentation) -> str:
    """Markdown: revenue share of the top 20 % of customers, with the purchases it covers."""
    return (f"Over all purchases from {history_window(result)}, the top 20 % of customers bring "
            f"**{format_percent(result.top20_share)} of revenue**"
            + (" - more concentrated than the 80/20 rule of thumb." if result.top20_share > 0.8 else ".")
            + " Losing a few of them costs far more than losing many small buyers. (The summary's figure "
              "covers the report's month only, so it differs.)")


def analyst_notes(result: Segmentation) -> str:
    """Markdown for the page's "For analysts" section: methods, settings, files."""
    m = result.clusters
    th = result.thresholds
    return "\n".join([
        "- RFM scores are quintiles with ties kept together (equal values, equal score). The segment map (which "
        "scores make which segment, and each segment's action) can be replaced in the settings file under "
        "`segments: map:`; every possible score must belong to exactly one segment.",
        f"- Groups: k-means on log(1 + x) of days since last purchase, purchase days and spend, standardised; "
        f"k = {m.k_} has the highest mean silhouette ({m.silhouette_:.2f}) among the values tried "
        "(parameters `k_min`, `k_max`; `n_clusters` fixes k; `seed` fixes the result).",
        f"- Life-cycle thresholds: {md(th['source'])} (`active_days`, `lapsed_days` override them).",
        "- One row per customer (scores, segment, group, stage) is kept with the run's analyst files "
        "(`customers_segments`) for the value, churn and basket pages.",
    ])
