"""The segmentation page's words: every number in them comes from the data."""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_money
from crmlib.core.summaries import RFM_BINS
from crmlib.pages.segmentation.analysis import LIFECYCLE_STAGES, Segmentation

def summary_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: how many customers, their total spend and the typical customer."""
    c = result.customers
    return (f"**{len(c):,} customers** bought between {c['first_purchase'].min():%d %b %Y} and "
            f"{result.as_of:%d %b %Y}, spending {format_money(c['monetary'].sum(), currency, compact=True)} in total. The typical "
            f"customer bought on {c['frequency'].median():.0f} day(s), last {c['recency_days'].median():.0f} days "
            f"ago, and spent {format_money(c['monetary'].median(), currency, compact=True)}; "
            f"{(c['frequency'] == 1).mean():.0%} bought on one day only.")


def segments_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: the segment bringing most revenue, the largest one, the win-back list."""
    t = result.segments.sort_values("revenue", ascending=False)
    top = t.iloc[0]
    biggest = t.sort_values("customers", ascending=False).iloc[0]
    risk = t.reindex(["At Risk", "Cannot Lose Them"]).dropna(subset=["customers"])
    text = (f"**{t.index[0]}** bring the most revenue: {top['revenue_share']:.0%} of it from "
            f"{top['customer_share']:.0%} of customers (on average {format_money(top['avg_value'], currency, compact=True)} each). "
            f"The largest group is **{biggest.name}** ({int(biggest['customers']):,} customers, "
            f"{biggest['customer_share']:.0%}).")
    if not risk.empty and risk["customers"].sum() > 0:
        text += (f" Customers who used to buy often but have gone quiet (At Risk, Cannot Lose Them) are "
                 f"{int(risk['customers'].sum()):,} customers holding {risk['revenue_share'].sum():.0%} of revenue: "
                 f"the first win-back list.")
    empty = t.index[t["customers"] == 0].tolist()
    if empty:
        text += f" No customer falls in: {', '.join(map(str, empty))}."
    return text


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
    """Markdown: k chosen, silhouette, and one line per cluster in plain words."""
    m = result.clusters
    lines = [f"The data split best into **{m.k_} groups** (silhouette {m.silhouette_:.2f}; 1 = perfectly separated, "
             f"0 = overlapping; values of 0.3-0.5 are usual for customer data):"]
    for cluster, row in m.profiles_.iterrows():
        share = f", {row['revenue_share']:.0%} of revenue" if "revenue_share" in row else ""
        lines.append(f"- **Cluster {cluster}** - {row['description']}: {int(row['customers']):,} customers "
                     f"({row['customer_share']:.0%}{share}).")
    return "\n".join(lines)


def lifecycle_text(result: Segmentation) -> str:
    """Markdown: the life-cycle thresholds (and where they come from) and stage counts."""
    th = result.thresholds
    stages = result.customers["lifecycle_stage"].value_counts()
    n = len(result.customers)
    return (f"Thresholds ({th['source']}; median gap between purchase days {th['median_gap_days'] or 0:.0f} days): "
            f"**new** = first purchase in the last {th['new_days']} days; **active** = bought in the last "
            f"{th['active_days']} days; **reactivated** = active again after a silence of more than "
            f"{th['lapsed_days']} days; **at-risk** = last purchase {th['active_days']}-{th['lapsed_days']} days "
            f"ago; **lapsed** = silent for more than {th['lapsed_days']} days.\n\n"
            + ", ".join(f"{k}: {stages.get(k, 0):,} ({stages.get(k, 0) / n:.0%})" for k in LIFECYCLE_STAGES) + ".")


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
    """Markdown: revenue share of the top 20 % of customers."""
    return (f"The top 20 % of customers bring **{result.top20_share:.0%} of revenue**"
            + (" - more concentrated than the 80/20 rule of thumb." if result.top20_share > 0.8 else ".")
            + " Losing a few of them costs far more than losing many small buyers.")
