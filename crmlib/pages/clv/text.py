"""The value page's words and tables: plain words for managers, model names only for analysts.

Every number comes from the :class:`~crmlib.pages.clv.values.ValuePage`; every data
value in a sentence goes through :func:`crmlib.core.text.md`; every table through
:func:`crmlib.core.tables.manager_table`.
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_count, format_date, format_money, format_percent
from crmlib.core.i18n import N_, _, shown
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.core.value import CANDIDATE_LABELS, LOW_HISTORY_SPEND, SELECTION_RULE
from crmlib.pages.clv.values import ValuePage

#: what each value method is, in a manager's words (message ids; model names are for the analysts' section)
PLAIN_METHODS = {
    "bgnbd_gg": N_("Classic lifetime model (buying rate and drop-out)"),
    "pareto_nbd_gg": N_("Classic lifetime model, second variant"),
    "spend_gbm": N_("Machine-learning spend forecast"),
    "hurdle": N_("Chance of buying × spend when buying"),
    "last_period": N_("Rule of thumb: last quarter's spend"),
    "average_per_period": N_("Rule of thumb: average spend per quarter"),
}

#: Header (a message id, shown through ``_()``) and kind of every column the page's tables show.
HEADERS: dict[str, tuple[str, str]] = {
    "customers": (N_("Customers"), "count"),
    "equity": (N_("Value, next months"), "money"),
    "share_of_equity": (N_("Share of value"), "percent"),
    "mean_clv": (N_("Average value"), "money"),
    "mean_p_alive": (N_("Average chance of buying in the window"), "percent"),
    "method": (N_("Method"), "text"),
    "predicted_total": (N_("Forecast spend per quarter"), "money"),
    "actual_total": (N_("Actual spend"), "money"),
    "mae": (N_("Average miss per customer"), "money"),
    "top_decile_capture": (N_("Share of spend by its top 10 %"), "percent"),
    "spearman": (N_("Ranking agreement (−1 to 1)"), "ratio"),
    "past_spend": (N_("Spent, last 12 months"), "money"),
    "forecast": (N_("Value, next months"), "money"),
    "ratio": (N_("Forecast ÷ past"), "ratio"),
    "share_forecast_above_past": (N_("Customers forecast to spend more"), "percent"),
    "points": (N_("Rise in chance of buying"), "points"),
    "customer_equity": (N_("Customer equity"), "money"),
    "gain": (N_("Gain"), "money"),
    "gain_pct": (N_("Gain in %"), "change"),
    "customers_capped": (N_("Customers reaching 100 %"), "count"),
    "customer_id": (N_("Customer"), "id"),
    "clv": (N_("Value, next months"), "money"),
    "p_alive": (N_("Chance of buying in the window"), "percent"),
    "expected_avg_spend": (N_("Expected spend per purchase"), "money"),
    "clv_tier": (N_("Value tier"), "text"),
}
#: the analysts' backtest table: statistics' names
ANALYST_HEADERS: dict[str, tuple[str, str]] = {
    "cutoff": (N_("Cutoff"), "date"), "model": (N_("Candidate"), "text"), "customers": (N_("Customers"), "count"),
    "predicted_total": (N_("Predicted"), "money"), "actual_total": (N_("Actual"), "money"),
    "total_bias": (N_("Total bias"), "change"), "mae": (N_("MAE"), "money"), "spearman": (N_("Spearman"), "ratio"),
    "gini": (N_("Normalised Gini"), "ratio"), "top_decile_capture": (N_("Top-decile capture"), "percent"),
    "clean": (N_("Fit measured drop-out"), "flag"),
}
VALUE_TIER, SEGMENT = N_("Value tier"), N_("Segment")


def _headers(columns: list[str], table: dict[str, tuple[str, str]] = HEADERS) -> dict[str, tuple[str, str]]:
    return {c: (_(table[c][0]), table[c][1]) for c in columns}


def tier_label(tier: object) -> str:
    """A value tier's label in the report's language (the default labels are message ids)."""
    return _(str(tier))


def group_label(group: object) -> str:
    """A segment's name in the report's language: the default segment names and "not segmented" are
    message ids (as on the segmentation page); names configured in ``segments:`` come back unchanged."""
    return _(str(group))


def method_name(name: str) -> str:
    """A value method in plain words."""
    return _(PLAIN_METHODS[name]) if name in PLAIN_METHODS else name.replace("_", " ")


def _cutoff_dates(page: ValuePage) -> str:
    dates = [format_date(c) for c in page.values.backtest.cutoffs]
    return dates[0] if len(dates) == 1 else _("{dates} and {last}").format(dates=", ".join(dates[:-1]), last=dates[-1])


def values_text(page: ValuePage, currency: str = "GBP") -> str:
    """Customer equity, how many customers, the median value and the top tier's share (Markdown);
    with a training sample, what it was (:meth:`ValuePage.sample_text`)."""
    v = page.table
    tiers = page.tiers()
    first = tiers.index[0]
    sample = page.sample_text()
    return _("Over the next {months} months our {customers} customers are expected to bring in **{equity}** "
             "(customer equity: the sum of every customer's value, future months discounted at {rate} a month). "
             "The median customer is worth {median}; the {tier} ({tier_customers} customers) hold {share} of it. "
             "Values are expected revenue, not profit: multiply by the gross margin to compare with costs.").format(
        months=page.values.months, customers=format_count(len(v)), equity=format_money(page.customer_equity, currency),
        rate=format_percent(page.values.discount_rate), median=format_money(v["clv"].median(), currency),
        tier=md(tier_label(first)), tier_customers=format_count(tiers.loc[first, "customers"]),
        share=format_percent(tiers.loc[first, "share_of_equity"], 0)) + (f" {shown(sample)}" if sample else "")


def tiers_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    t = page.tiers()
    t.index = [tier_label(i) for i in t.index]
    return manager_table(t, _headers(["customers", "equity", "share_of_equity", "mean_clv", "mean_p_alive"]),
                         currency=currency, index=(_(VALUE_TIER), "text"))


def backtest_text(page: ValuePage, currency: str = "GBP") -> str:
    """How the value method was checked on the past, in words (Markdown)."""
    means = page.backtest_means()
    chosen = page.values.chosen
    mine = means.loc[chosen]
    n = len(page.values.backtest.cutoffs)
    checked = (N_("We checked the method on the past: at {count} earlier date ({dates}) each method forecast every "
                  "customer's spend over the next three months from what was known then, and we compared the forecast "
                  "with what customers then actually spent.") if n <= 1 else
               N_("We checked the method on the past: at {count} earlier dates ({dates}) each method forecast every "
                  "customer's spend over the next three months from what was known then, and we compared the forecast "
                  "with what customers then actually spent."))
    sentences = [_(checked).format(count=n, dates=_cutoff_dates(page))]
    naive = "last_period" if "last_period" in means.index else None
    facts = {"method": md(method_name(chosen)), "capture": format_percent(mine["top_decile_capture"], 0)}
    if naive and naive != chosen:
        sentences.append(_("With the method used, **{method}**, the 10 % of customers it ranked highest made "
                           "**{capture}** of the actual spend, against {naive} for the rule of thumb \"last quarter's "
                           "spend\".").format(naive=format_percent(means.loc[naive, "top_decile_capture"], 0), **facts))
    else:
        sentences.append(_("With the method used, **{method}**, the 10 % of customers it ranked highest made "
                           "**{capture}** of the actual spend.").format(**facts))
    sentences.append(_("In total it forecast {predicted} per quarter against {actual} actually spent, on average.")
                     .format(predicted=format_money(mine["predicted_total"], currency),
                             actual=format_money(mine["actual_total"], currency)))
    sentences.append(_("How the method was chosen: the one whose top 10 % made the largest share of the spend, "
                       "methods within one percentage point of each other counting as tied, and then the one whose "
                       "whole ranking agrees best with what customers spent; a rule of thumb replaces the models only "
                       "if it is clearly better on both, and the classic lifetime models only count where they could "
                       "measure how quickly customers stop buying."))
    peaks = page.values.backtest.seasonality
    peaks = peaks[peaks["peak"]] if len(peaks) else peaks
    if len(peaks):
        row = peaks.iloc[0]
        sentences.append(_("The check from {start} to {end} fell in a seasonal peak (monthly revenue {ratio:.1f} times "
                           "the average month), so every method's total was too low there; the choice rests on who "
                           "is ranked high, which the peak moves far less.").format(
            start=format_date(row["start"]), end=format_date(row["end"]), ratio=row["ratio"]))
    return " ".join(sentences)


def backtest_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    """Every method's check, averaged over the check dates, the method used first."""
    means = page.backtest_means().reset_index()
    means["method"] = [_("{method} (used)").format(method=method_name(c)) if c == page.values.chosen else method_name(c)
                       for c in means["candidate"]]
    return manager_table(means, _headers(["method", "predicted_total", "actual_total", "mae", "top_decile_capture",
                                          "spearman"]), currency=currency)


def horizon_words(page: ValuePage) -> str:
    """What was validated, how it is extended to the value's months, seasonality (Markdown)."""
    cv = page.values
    n = len(cv.backtest.cutoffs)
    checked = (N_("**What was checked and what is extended.** Only three-month forecasts were checked ({count} check, "
                  "{dates}). The {months}-month value spreads the three-month forecast evenly over {months} months and "
                  "discounts each month at {rate}.") if n <= 1 else
               N_("**What was checked and what is extended.** Only three-month forecasts were checked ({count} checks, "
                  "{dates}). The {months}-month value spreads the three-month forecast evenly over {months} months and "
                  "discounts each month at {rate}."))
    text = _(checked).format(count=n, dates=_cutoff_dates(page), months=cv.months, rate=format_percent(cv.discount_rate))
    if abs(cv.level_factor - 1.0) > 0.005:
        level = (N_("The last three months were busier than the average quarter of the past year, so the forecast is "
                    "scaled to that average (× {factor:.2f}) rather than repeating one season four times.")
                 if cv.level_factor < 1 else
                 N_("The last three months were quieter than the average quarter of the past year, so the forecast is "
                    "scaled to that average (× {factor:.2f}) rather than repeating one season four times."))
        text += " " + _(level).format(factor=cv.level_factor)
    return text


def activity_text(page: ValuePage) -> str:
    """Where each customer's chance of still buying comes from, in plain words (Markdown)."""
    a = page.activity
    p = page.table["p_alive"]
    auc = a.cv_roc_auc_.get(a.estimator_name_)
    if a.source_ == "classifier" and auc is not None:
        source = _("It comes from a model that learned, on the last {days} days, what set apart the customers who "
                   "bought from those who did not (how recently, how often and how much they bought, trends, gaps "
                   "between orders); on that window it ranked a random buyer above a random non-buyer {auc} of the "
                   "time. The classic lifetime models could not measure how quickly customers stop buying on this "
                   "data, so their estimate is not used for this.").format(days=page.window_days,
                                                                           auc=format_percent(auc, 0))
    elif a.source_ == "classifier":
        source = _("It comes from a model that learned, on the last {days} days, what set apart the customers who "
                   "bought from those who did not (how recently, how often and how much they bought, trends, gaps "
                   "between orders). The classic lifetime models could not measure how quickly customers stop buying "
                   "on this data, so their estimate is not used for this.").format(days=page.window_days)
    else:
        source = _("It comes from the classic lifetime model, which measured on this data how quickly customers stop "
                   "buying and ranked recent buyers at least as well as the alternative model.")
    return _("**Who is still active.** Each customer's value is their chance of buying in the next {days} days × what "
             "they are expected to spend if they do. {source} Half of our customers have a chance below {median}; one "
             "in ten below {p10}. The churn page reads these same chances.").format(
        days=page.window_days, source=source, median=_chance(p.median()), p10=_chance(p.quantile(0.1)))


def _chance(share: float) -> str:
    """A chance as a percentage with the decimals a small one needs (4 %, 0.3 %, 0.04 %; not "0 %")."""
    return format_percent(share, 0 if share >= 0.01 or share == 0 else 1 if share >= 0.001 else 2)


def segment_text(page: ValuePage, currency: str = "GBP") -> str:
    """The largest segments' share of equity vs their share of customers (Markdown)."""
    by = page.by_segment
    total = by["customers"].sum()
    facts = [{"segment": md(group_label(name)), "share": format_percent(row["share_of_equity"], 0),
              "equity": format_money(row["equity"], currency),
              "customer_share": format_percent(row["customers"] / total, 0)} for name, row in by.head(2).iterrows()]
    if len(facts) == 1:
        return _("**{segment}** hold {share} of customer equity ({equity}) with {customer_share} of customers.").format(
            **facts[0])
    first, second = ({f"{k}_{which}": v for k, v in f.items()} for f, which in zip(facts, ("1", "2")))
    return _("**{segment_1}** hold {share_1} of customer equity ({equity_1}) with {customer_share_1} of customers; "
             "**{segment_2}** hold {share_2} of customer equity ({equity_2}) with {customer_share_2} of "
             "customers.").format(**first, **second)


def segment_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    t = page.by_segment.copy()
    t.index = [group_label(i) for i in t.index]
    return manager_table(t, _headers(["customers", "equity", "share_of_equity", "mean_clv"]), currency=currency,
                         index=(_(SEGMENT), "text"))


def _forecast_group(page: ValuePage, name: object) -> str:
    return group_label(name) if page.by_segment is not None else tier_label(name)


def forecast_vs_past_text(page: ValuePage) -> str:
    r = page.forecast_vs_past.dropna(subset=["ratio"])
    if r.empty:
        return _("No group spent anything in the last 12 months, so forecast and past cannot be compared.")
    top, low = r.iloc[0], r.iloc[-1]
    text = (N_("Where the forecast goes beyond what customers did: per segment, the next {months} months' value against "
               "the last 12 months' spend. Highest: **{highest}** at {highest_ratio:.2f} times its past spend; lowest: "
               "**{lowest}** at {lowest_ratio:.2f} times. A ratio far above 1 for customers who have gone quiet would "
               "be a warning sign.") if page.by_segment is not None else
            N_("Where the forecast goes beyond what customers did: per value tier, the next {months} months' value "
               "against the last 12 months' spend. Highest: **{highest}** at {highest_ratio:.2f} times its past "
               "spend; lowest: **{lowest}** at {lowest_ratio:.2f} times. A ratio far above 1 for customers who have "
               "gone quiet would be a warning sign."))
    return _(text).format(months=page.values.months, highest=md(_forecast_group(page, r.index[0])),
                          highest_ratio=top["ratio"], lowest=md(_forecast_group(page, r.index[-1])),
                          lowest_ratio=low["ratio"])


def forecast_vs_past_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    label = SEGMENT if page.by_segment is not None else VALUE_TIER
    t = page.forecast_vs_past.copy()
    t.index = [_forecast_group(page, i) for i in t.index]
    return manager_table(t, _headers(["customers", "past_spend", "forecast", "ratio", "share_forecast_above_past"]),
                         currency=currency, index=(_(label), "text"))


def what_if_text(page: ValuePage, currency: str = "GBP") -> str:
    """The retention what-if in words, with its assumptions (Markdown)."""
    t = page.what_if
    row = t.iloc[min(1, len(t) - 1)]
    return _("If every customer's chance of still buying rose by {points:g} percentage points, customer equity would "
             "grow by **{gain}** ({gain_share}), from {customers} customers whose chance is below 100 %. Assumptions: "
             "the same rise for everybody, capped at 100 %; what an active customer spends does not change; the cost "
             "of achieving it is not included: compare the gain with what a retention programme costs.").format(
        points=row["survival_uplift_points"], gain=format_money(row["gain"], currency),
        gain_share=format_percent(row["gain_pct"]), customers=format_count(row["customers_gaining"]))


def what_if_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    t = page.what_if.assign(points=page.what_if["survival_uplift_points"] / 100)
    return manager_table(t, _headers(["points", "customer_equity", "gain", "gain_pct", "customers_capped"]),
                         currency=currency)


def guards_text(page: ValuePage, currency: str = "GBP") -> str:
    notes = page.values.value_notes
    if notes.empty:
        return _("No customer in a top tier has spent less than {spend} in total: every high value rests on real "
                 "purchases.").format(spend=format_money(LOW_HISTORY_SPEND, currency))
    return _("{count} customers in a top tier have spent less than {spend} in their whole history: their value comes "
             "from the forecast, not from what they bought. Check them before acting (they are in the "
             "download).").format(count=format_count(len(notes)), spend=format_money(LOW_HISTORY_SPEND, currency))


def top_customers_table(page: ValuePage, currency: str = "GBP", n: int = 20) -> ManagerTable:
    top = page.table.nlargest(n, "clv")
    top = top.assign(clv_tier=[tier_label(t) for t in top["clv_tier"]])
    return manager_table(top, _headers(["customer_id", "clv", "p_alive", "expected_avg_spend", "clv_tier"]),
                         currency=currency)


def download_frame(page: ValuePage) -> pd.DataFrame:
    """The value list for Excel: one row per customer, highest value first, with any guard note
    (tier and note in the report's language; column names stay as they are)."""
    t = page.table.sort_values("clv", ascending=False)
    notes = (page.values.value_notes.set_index("customer_id")["value_note"].map(shown)
             if len(page.values.value_notes) else {})
    return pd.DataFrame({
        "customer_id": t["customer_id"].to_numpy(),
        "value_next_months": t["clv"].round(2).to_numpy(),
        "chance_of_buying_in_window": t["p_alive"].round(4).to_numpy(),
        "expected_spend_per_purchase": t["expected_avg_spend"].round(2).to_numpy(),
        "value_tier": [tier_label(v) for v in t["clv_tier"].astype(str)],
        "check_note": t["customer_id"].map(notes).fillna("").to_numpy() if len(notes) else "",
    })


def manager_warnings(page: ValuePage) -> list[str]:
    """The caveats a manager needs, in plain words (the summary lists them)."""
    out = []
    p = page.table["p_alive"]
    if p.max() - p.min() < 1e-9:
        out.append(_("Every customer got the same chance of still buying: the values cannot rank customers."))
    if len(page.values.value_notes):
        out.append(_("{count} top-tier customers have almost no purchase history; check them before acting.").format(
            count=format_count(len(page.values.value_notes))))
    return out


# ------------------------------------------------------------------ for analysts
def analysts_text(page: ValuePage) -> str:
    """Model names, the selection rule, the activity model's note and the raw warnings (Markdown)."""
    cv = page.values
    candidates = "; ".join(f"{md(method_name(c))} = {md(_(CANDIDATE_LABELS[c]))}" for c in page.backtest_means().index)
    lines = [_("- Value model: **{model}** (`{name}`). Candidates: {candidates}.").format(
                 model=md(_(CANDIDATE_LABELS[cv.chosen])), name=cv.chosen, candidates=candidates),
             _("- Selection rule: {rule}").format(rule=md(shown(SELECTION_RULE))),
             _("- Horizon: {horizon}").format(horizon=md(shown(cv.horizon_text))),
             _("- p_alive: {note}").format(note=md(shown(page.activity.note_)))]
    lines += [f"- {md(shown(n))}" for n in cv.backtest.notes]
    lines += [f"- {md(shown(w))}" for w in cv.warnings]
    lines.append(_("- Files: customers_clv.parquet (customer_id, p_alive, expected_purchases, expected_avg_spend, clv, "
                   "clv_tier, value_model), read by the churn, summary and units pages; the page's metrics JSON."))
    return "\n".join(lines)


def analysts_backtest_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    """Every candidate at every cutoff, by model name."""
    t = page.values.backtest.table.assign(model=lambda d: d["candidate"].map(lambda c: _(CANDIDATE_LABELS[c])))
    return manager_table(t, _headers(list(ANALYST_HEADERS), ANALYST_HEADERS), currency=currency)
