"""The segmentation page's words and tables: every number in them comes from the data.

Segment names (which a team may rename in its segment map) go through
:func:`crmlib.core.text.md` in sentences and through
:func:`crmlib.core.tables.manager_table` in tables. "At Risk" and "Cannot Lose Them" are
RFM segment names: sentences say "RFM segment" beside them, so they are not read as the
churn page's "high churn risk". The life-cycle stages are shown with the labels of
:data:`LIFECYCLE_LABELS` ("regular", "overdue"), not "active" or "at risk", which the
report keeps for other definitions (active = bought within the report period).

Words are English message ids shown through :func:`crmlib.core.i18n._` in the report's
language. The default segments' names and actions (:data:`DEFAULT_SEGMENT_MAP`) are
translated at display (:func:`segment_name`, :func:`segment_action`); the values stored
in the artifact, the metrics and the downloads stay English, and names or actions a team
configures in ``workbook.yml`` (in any language) are data, shown as they are.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.core.formatting import format_count, format_date, format_money, format_percent, format_period
from crmlib.core.i18n import N_, _, get_language
from crmlib.core.summaries import DEFAULT_SEGMENT_MAP, RFM_BINS
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.pages.segmentation.analysis import LIFECYCLE_STAGES, Segmentation, category_text

#: Life-cycle stage (the artifact's value) -> the label a reader sees (a msgid, shown through ``_()``).
LIFECYCLE_LABELS: dict[str, str] = {
    "new": N_("new"), "active": N_("regular"), "reactivated": N_("won back"), "at-risk": N_("overdue"),
    "lapsed": N_("lapsed"),
}
_DEFAULT_ACTIONS = frozenset(spec["action"] for spec in DEFAULT_SEGMENT_MAP.values())


def segment_name(name: object) -> str:
    """A segment's name as a reader sees it: a default segment's name in the report's language
    ("Champions" -> "최우수 고객" in Korean), any other name (configured in ``workbook.yml``) as it is."""
    text = str(name)
    return _(text) if text in DEFAULT_SEGMENT_MAP else text


def segment_action(action: object) -> str:
    """A segment's suggested action: a default action in the report's language, a configured one as it is."""
    if not isinstance(action, str):
        return action
    return _(action) if action in _DEFAULT_ACTIONS else action


def cluster_description(description: str) -> str:
    """A cluster's stored description ("frequent, high spend, recent") in the report's language."""
    return ", ".join(_(word) for word in str(description).split(", "))


def stage_label(stage: object) -> str:
    """A life-cycle stage ("at-risk") as a reader sees it ("overdue"), in the report's language."""
    return _(LIFECYCLE_LABELS[str(stage)]) if str(stage) in LIFECYCLE_LABELS else str(stage)


def _day(value) -> str:
    """A day as the page writes it: ``01 Dec 2010`` in English, ``2010. 12. 1.`` in Korean."""
    return f"{pd.Timestamp(value):%d %b %Y}" if get_language() == "en" else format_date(value)


def _month(label: str) -> str:
    """A cohort month (``2011-01``): as it is in English, ``2011년 1월`` in Korean."""
    return str(label) if get_language() == "en" else format_period(label)
#: The RFM segments whose customers used to buy often and have gone quiet.
WIN_BACK_SEGMENTS = ("At Risk", "Cannot Lose Them")


def history_window(result: Segmentation) -> str:
    """The purchases the page's figures cover, in words: "1 Dec 2010 – 30 Nov 2011"."""
    return f"{format_date(result.customers['first_purchase'].min())} – {format_date(result.as_of)}"


def summary_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: how many customers, their total spend and the typical customer."""
    c = result.customers
    return _("**{customers} customers** bought between {first} and {last}, spending {total} in total. The figures "
             "on this page cover all their purchases in that time, not only this report's month. The typical "
             "customer bought on {days} day(s), last {recency} days ago, and spent {spend}; {one_day} bought on one "
             "day only.").format(
        customers=f"{len(c):,}", first=_day(c["first_purchase"].min()), last=_day(result.as_of),
        total=format_money(c["monetary"].sum(), currency, compact=True), days=f"{c['frequency'].median():.0f}",
        recency=f"{c['recency_days'].median():.0f}", spend=format_money(c["monetary"].median(), currency, compact=True),
        one_day=f"{(c['frequency'] == 1).mean():.0%}")


def segments_text(result: Segmentation, currency: str = "GBP") -> str:
    """Markdown: the segment bringing most revenue, the largest one, the win-back list."""
    t = result.segments.sort_values("revenue", ascending=False)
    top = t.iloc[0]
    biggest = t.sort_values("customers", ascending=False).iloc[0]
    risk = t.reindex(list(WIN_BACK_SEGMENTS)).dropna(subset=["customers"])
    text = _("**{top}** bring the most revenue: {revenue_share} of it from {customer_share} of customers (on average "
             "{value} each). The largest group is **{largest}** ({customers} customers, {largest_share}).").format(
        top=md(segment_name(t.index[0])), revenue_share=f"{top['revenue_share']:.0%}",
        customer_share=f"{top['customer_share']:.0%}", value=format_money(top["avg_value"], currency, compact=True),
        largest=md(segment_name(biggest.name)), customers=f"{int(biggest['customers']):,}",
        largest_share=f"{biggest['customer_share']:.0%}")
    if not risk.empty and risk["customers"].sum() > 0:
        names = [md(segment_name(n)) for n in risk.index]
        sentence = (_("Customers who used to buy often but have gone quiet (RFM segments {first} and {second}) are "
                      "{customers} customers holding {share} of revenue: the first win-back list (in the download "
                      "below).") if len(names) == 2 else
                    _("Customers who used to buy often but have gone quiet (RFM segments {first}) are {customers} "
                      "customers holding {share} of revenue: the first win-back list (in the download below)."))
        text += " " + sentence.format(first=names[0], second=names[-1], customers=f"{int(risk['customers'].sum()):,}",
                                      share=f"{risk['revenue_share'].sum():.0%}")
    empty = t.index[t["customers"] == 0].tolist()
    if empty:
        text += " " + _("No customer falls in: {segments}.").format(
            segments=", ".join(md(segment_name(n)) for n in empty))
    return text


def segment_summary(result: Segmentation, currency: str = "GBP") -> ManagerTable:
    """The segment table a manager reads: size, value and the suggested action (the rest of
    the columns are in :func:`segment_details`' download)."""
    shown = result.segments.rename(index=segment_name)
    if "action" in shown:
        shown = shown.assign(action=shown["action"].map(segment_action))
    return manager_table(shown, {
        "customers": (_("Customers"), "count"),
        "revenue_share": (_("Share of revenue"), "percent"),
        "action": (_("Suggested action"), "text"),
    }, index=(_("RFM segment"), "text"), currency=currency)


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
    """One row per customer for campaigns: segment, RFM scores, last purchase, spend.

    Sorted by segment name, then by spend (largest first); text columns are built from
    their categories, not written out customer by customer.
    """
    c = result.customers
    stages = c["lifecycle_stage"].array
    labels = pd.array([LIFECYCLE_LABELS.get(s, s) for s in stages.categories.astype("str")], dtype="str")
    frame = pd.DataFrame({
        "Customer id": c.index.astype(str),
        "RFM segment": category_text(c["segment"]),
        "RFM score": c["rfm_score"].astype(str).array,
        "Recency score": c["r_score"].to_numpy(), "Frequency score": c["f_score"].to_numpy(),
        "Monetary score": c["m_score"].to_numpy(),
        "Last purchase": c["last_purchase"].dt.strftime("%Y-%m-%d").array,
        "Days since last purchase": c["recency_days"].to_numpy(),
        "Purchase days": c["frequency"].to_numpy(), "Orders": c["orders"].to_numpy(),
        "Spend": c["monetary"].round(2).to_numpy(),
        "Life-cycle stage": labels.take(stages.codes) if (stages.codes >= 0).all() else
        c["lifecycle_stage"].astype(str).map(LIFECYCLE_LABELS).to_numpy(),
    })
    segments = c["segment"].array
    name_rank = np.argsort(np.argsort(np.asarray(segments.categories.astype("str"), dtype=object), kind="stable"))
    if (segments.codes < 0).any() or not segments.categories.astype("str").is_unique:
        return frame.sort_values(["RFM segment", "Spend"], ascending=[True, False], kind="stable")
    return frame.iloc[np.lexsort((-frame["Spend"].to_numpy(), name_rank[segments.codes]))]


#: Headers of :func:`attribute_tables`' profile table (msgids; English as the table showed them before).
ATTRIBUTE_HEADERS: dict[str, str] = {
    "customers": N_("Customers"), "customer_share": N_("Customer share"),
    "median_recency_days": N_("Median recency days"), "mean_frequency": N_("Mean frequency"),
    "mean_spend": N_("Mean spend"), "top_segment": N_("Top segment"),
}


def attribute_tables(result: Segmentation, attributes: pd.DataFrame, attribute: str,
                     currency: str = "GBP") -> tuple[ManagerTable, ManagerTable]:
    """An attribute (age band, region…) for a manager: what a typical customer with each value
    looks like (:func:`attribute_profile`) and how each segment is made up (:func:`attribute_crosstab`).
    Attribute values are data, shown as they are; segment names as :func:`segment_name`."""
    from crmlib.pages.segmentation.analysis import attribute_crosstab, attribute_profile

    profile = attribute_profile(result.customers, attributes, attribute)
    profile = profile.assign(top_segment=profile["top_segment"].map(segment_name))
    crosstab = attribute_crosstab(result.customers, attributes, attribute)
    crosstab = crosstab.rename(index=segment_name)
    return (manager_table(profile, {c: _(ATTRIBUTE_HEADERS[c]) for c in profile.columns}, index=attribute,
                          currency=currency),
            manager_table(crosstab, index=_("RFM segment")))


def rfm_text(result: Segmentation) -> str:
    """Markdown: how the scores work, and what ties or a tiny base did to them here."""
    c = result.customers
    f_counts = c["f_score"].value_counts()
    text = _("Scores run from 1 (worst fifth of customers) to 5 (best fifth) for Recency (how recently), "
             "Frequency (on how many days) and Monetary (how much in total). Customers with the same value always "
             "get the same score.")
    missing = [s for s in range(1, RFM_BINS + 1) if s not in f_counts.index]
    if missing:
        sentence = (_("Tied customers share a score ({one_day} bought on one day only), so F scores {scores} are empty.")
                    if len(missing) > 1 else
                    _("Tied customers share a score ({one_day} bought on one day only), so F score {scores} is empty."))
        text += " " + sentence.format(one_day=f"{(c['frequency'] == 1).mean():.0%}",
                                      scores=", ".join(map(str, missing)))
    if len(c) < 50:
        text += " " + _("With only {count} customers the scores compare each customer with very few others.").format(
            count=len(c))
    return text


def clusters_text(result: Segmentation) -> str:
    """Markdown: how many groups the data holds, one line per group in plain words."""
    m = result.clusters
    lines = [_("The customers fall most clearly into **{count} groups**:").format(count=m.k_)]
    if m.n_fitted_ < m.n_customers_:
        lines[0] = _("The groups were found on a random sample of {sample} of the {customers} customers, and every "
                     "customer was then put in the group nearest to them.").format(
            sample=format_count(m.n_fitted_), customers=format_count(m.n_customers_)) + " " + lines[0]
    for cluster, row in m.profiles_.iterrows():
        numbers = {"group": cluster, "description": md(cluster_description(row["description"])),
                   "customers": f"{int(row['customers']):,}", "customer_share": f"{row['customer_share']:.0%}"}
        if "revenue_share" in row:
            lines.append(_("- **Group {group}**: {description}; {customers} customers ({customer_share}, "
                           "{revenue_share} of revenue).").format(revenue_share=f"{row['revenue_share']:.0%}", **numbers))
        else:
            lines.append(_("- **Group {group}**: {description}; {customers} customers ({customer_share}).")
                         .format(**numbers))
    return "\n".join(lines)


def lifecycle_text(result: Segmentation) -> str:
    """Markdown: the life-cycle stages with their thresholds in days, and how many are in each."""
    th = result.thresholds
    stages = result.customers["lifecycle_stage"].value_counts()
    n = len(result.customers)
    counts = ", ".join(f"{stage_label(k)}: {stages.get(k, 0):,} ({stages.get(k, 0) / n:.0%})"
                       for k in LIFECYCLE_STAGES)
    days = {"new": th["new_days"], "active": th["active_days"], "lapsed": th["lapsed_days"]}
    if th.get("median_gap_days"):
        text = _("Our customers' usual gap between two purchase days decides the stages (half of them within {median} "
                 "days): **new** = first purchase in the last {new} days; **regular** = bought in the last {active} "
                 "days; **won back** = bought again in the last {active} days after more than {lapsed} days of "
                 "silence; **overdue** = last purchase {active}–{lapsed} days ago, later than most customers come "
                 "back; **lapsed** = silent for more than {lapsed} days.").format(
            median=f"{th['median_gap_days']:.0f}", **days)
    else:
        text = _("Our customers' usual gap between two purchase days decides the stages: **new** = first purchase in "
                 "the last {new} days; **regular** = bought in the last {active} days; **won back** = bought again in "
                 "the last {active} days after more than {lapsed} days of silence; **overdue** = last purchase "
                 "{active}–{lapsed} days ago, later than most customers come back; **lapsed** = silent for more than "
                 "{lapsed} days.").format(**days)
    return f"{text}\n\n{counts}."


def cohorts_text(cohorts: dict[str, pd.DataFrame]) -> str:
    """Markdown: month-1 retention on average, best and weakest cohort, first-cohort caveat."""
    ret = cohorts["retention"]
    if ret.shape[1] < 2:
        return _("The data covers less than two months: no retention to show yet.")
    month1 = ret[1].dropna()
    text = _("On average {mean} of a cohort buys again in the month after its first purchase (best: {best} at "
             "{best_share}; weakest: {weakest} at {weakest_share}).").format(
        mean=f"{month1.mean():.0%}", best=_month(month1.idxmax()), best_share=f"{month1.max():.0%}",
        weakest=_month(month1.idxmin()), weakest_share=f"{month1.min():.0%}")
    text += " " + _("The first cohort ({cohort}) also holds customers who bought before the data starts, so its "
                    "retention is higher than a true new-customer cohort's.").format(cohort=_month(ret.index[0]))
    return text


def concentration_text(result: Segmentation) -> str:
    """Markdown: revenue share of the top 20 % of customers, with the purchases it covers."""
    sentence = (_("Over all purchases from {window}, the top 20 % of customers bring **{share} of revenue** - more "
                  "concentrated than the 80/20 rule of thumb.") if result.top20_share > 0.8 else
                _("Over all purchases from {window}, the top 20 % of customers bring **{share} of revenue**."))
    return (sentence.format(window=history_window(result), share=format_percent(result.top20_share)) + " "
            + _("Losing a few of them costs far more than losing many small buyers. (The summary's figure covers the "
                "report's month only, so it differs.)"))


def analyst_notes(result: Segmentation) -> str:
    """Markdown for the page's "For analysts" section: methods, settings, files."""
    m = result.clusters
    th = result.thresholds
    return "\n".join([
        "- " + _("RFM scores are quintiles with ties kept together (equal values, equal score). The segment map "
                 "(which scores make which segment, and each segment's action) can be replaced in the settings file "
                 "under `segments: map:`; every possible score must belong to exactly one segment."),
        "- " + _("Groups: k-means on log(1 + x) of days since last purchase, purchase days and spend, standardised; "
                 "k = {k} has the highest mean silhouette ({silhouette}) among the values tried (parameters `k_min`, "
                 "`k_max`; `n_clusters` fixes k; `seed` fixes the result).").format(
            k=m.k_, silhouette=f"{m.silhouette_:.2f}"),
        "- " + _("Life-cycle thresholds: {source} (`active_days`, `lapsed_days` override them).").format(
            source=md(th["source"])),
        "- " + _("One row per customer (scores, segment, group, stage) is kept with the run's analyst files "
                 "(`customers_segments`) for the value, churn and basket pages."),
    ])
