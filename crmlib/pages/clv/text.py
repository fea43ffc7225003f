"""The value page's words and tables: plain words for managers, model names only for analysts.

Every number comes from the :class:`~crmlib.pages.clv.values.ValuePage`; every data
value in a sentence goes through :func:`crmlib.core.text.md`; every table through
:func:`crmlib.core.tables.manager_table`.
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_count, format_date, format_money, format_percent
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.core.value import CANDIDATE_LABELS, LOW_HISTORY_SPEND, SELECTION_RULE
from crmlib.pages.clv.values import ValuePage

#: what each value method is, in a manager's words (model names are for the analysts' section)
PLAIN_METHODS = {
    "bgnbd_gg": "Classic lifetime model (buying rate and drop-out)",
    "pareto_nbd_gg": "Classic lifetime model, second variant",
    "spend_gbm": "Machine-learning spend forecast",
    "hurdle": "Chance of buying × spend when buying",
    "last_period": "Rule of thumb: last quarter's spend",
    "average_per_period": "Rule of thumb: average spend per quarter",
}


def method_name(name: str) -> str:
    """A value method in plain words."""
    return PLAIN_METHODS.get(name, name.replace("_", " "))


def _cutoff_dates(page: ValuePage) -> str:
    dates = [format_date(c) for c in page.values.backtest.cutoffs]
    return dates[0] if len(dates) == 1 else ", ".join(dates[:-1]) + " and " + dates[-1]


def values_text(page: ValuePage, currency: str = "GBP") -> str:
    """Customer equity, how many customers, the median value and the top tier's share (Markdown)."""
    v = page.table
    tiers = page.tiers()
    first = tiers.index[0]
    months = page.values.months
    return (f"Over the next {months} months our {format_count(len(v))} customers are expected to bring in "
            f"**{format_money(page.customer_equity, currency)}** (customer equity: the sum of every customer's value, "
            f"future months discounted at {format_percent(page.values.discount_rate)} a month). "
            f"The median customer is worth {format_money(v['clv'].median(), currency)}; the {md(first)} "
            f"({format_count(tiers.loc[first, 'customers'])} customers) hold "
            f"{format_percent(tiers.loc[first, 'share_of_equity'], 0)} of it. "
            "Values are expected revenue, not profit: multiply by the gross margin to compare with costs.")


def tiers_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    return manager_table(page.tiers(), {
        "customers": ("Customers", "count"), "equity": ("Value, next months", "money"),
        "share_of_equity": ("Share of value", "percent"), "mean_clv": ("Average value", "money"),
        "mean_p_alive": ("Average chance of buying in the window", "percent"),
    }, currency=currency, index=("Value tier", "text"))


def backtest_text(page: ValuePage, currency: str = "GBP") -> str:
    """How the value method was checked on the past, in words (Markdown)."""
    means = page.backtest_means()
    chosen = page.values.chosen
    mine = means.loc[chosen]
    n = len(page.values.backtest.cutoffs)
    text = (f"We checked the method on the past: at {n} earlier date{'s' if n > 1 else ''} ({_cutoff_dates(page)}) "
            "each method forecast every customer's spend over the next three months from what was known then, and "
            "we compared the forecast with what customers then actually spent. "
            f"With the method used, **{md(method_name(chosen))}**, the 10 % of customers it ranked highest made "
            f"**{format_percent(mine['top_decile_capture'], 0)}** of the actual spend")
    naive = "last_period" if "last_period" in means.index else None
    if naive and naive != chosen:
        text += (f", against {format_percent(means.loc[naive, 'top_decile_capture'], 0)} for the rule of thumb "
                 "\"last quarter's spend\"")
    text += (f". In total it forecast {format_money(mine['predicted_total'], currency)} per quarter against "
             f"{format_money(mine['actual_total'], currency)} actually spent, on average. How the method was chosen: "
             "the one whose top 10 % made the largest share of the spend, methods within one percentage point of each "
             "other counting as tied, and then the one whose whole ranking agrees best with what customers spent; a "
             "rule of thumb replaces the models only if it is clearly better on both, and the classic lifetime models "
             "only count where they could measure how quickly customers stop buying.")
    peaks = page.values.backtest.seasonality
    peaks = peaks[peaks["peak"]] if len(peaks) else peaks
    if len(peaks):
        row = peaks.iloc[0]
        text += (f" The check from {format_date(row['start'])} to {format_date(row['end'])} fell in a seasonal peak "
                 f"(monthly revenue {row['ratio']:.1f} times the average month), so every method's total was too low "
                 "there; the choice rests on who is ranked high, which the peak moves far less.")
    return text


def backtest_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    """Every method's check, averaged over the check dates, the method used first."""
    means = page.backtest_means().reset_index()
    means["method"] = [method_name(c) + (" (used)" if c == page.values.chosen else "") for c in means["candidate"]]
    return manager_table(means, {
        "method": ("Method", "text"),
        "predicted_total": ("Forecast spend per quarter", "money"),
        "actual_total": ("Actual spend", "money"),
        "mae": ("Average miss per customer", "money"),
        "top_decile_capture": ("Share of spend by its top 10 %", "percent"),
        "spearman": ("Ranking agreement (−1 to 1)", "ratio"),
    }, currency=currency)


def horizon_words(page: ValuePage) -> str:
    """What was validated, how it is extended to the value's months, seasonality (Markdown)."""
    cv = page.values
    n = len(cv.backtest.cutoffs)
    text = (f"**What was checked and what is extended.** Only three-month forecasts were checked ({n} "
            f"check{'s' if n > 1 else ''}, {_cutoff_dates(page)}). The {cv.months}-month value spreads the "
            f"three-month forecast evenly over {cv.months} months and discounts each month at "
            f"{format_percent(cv.discount_rate)}.")
    if abs(cv.level_factor - 1.0) > 0.005:
        direction = "busier" if cv.level_factor < 1 else "quieter"
        text += (f" The last three months were {direction} than the average quarter of the past year, so the forecast "
                 f"is scaled to that average (× {cv.level_factor:.2f}) rather than repeating one season four times.")
    return text


def activity_text(page: ValuePage) -> str:
    """Where each customer's chance of still buying comes from, in plain words (Markdown)."""
    a = page.activity
    p = page.table["p_alive"]
    auc = a.cv_roc_auc_.get(a.estimator_name_)
    if a.source_ == "classifier":
        source = (f"It comes from a model that learned, on the last {page.window_days} days, what set apart the "
                  "customers who bought from those who did not (how recently, how often and how much they bought, "
                  "trends, gaps between orders)")
        if auc is not None:
            source += f"; on that window it ranked a random buyer above a random non-buyer {format_percent(auc, 0)} of the time"
        source += (". The classic lifetime models could not measure how quickly customers stop buying on this data, "
                   "so their estimate is not used for this.")
    else:
        source = ("It comes from the classic lifetime model, which measured on this data how quickly customers stop "
                  "buying and ranked recent buyers at least as well as the alternative model.")
    return (f"**Who is still active.** Each customer's value is their chance of buying in the next "
            f"{page.window_days} days × what they are expected to spend if they do. {source} "
            f"Half of our customers have a chance below {format_percent(p.median(), 0)}; one in ten below "
            f"{format_percent(p.quantile(0.1), 0)}. The churn page reads these same chances.")


def segment_text(page: ValuePage, currency: str = "GBP") -> str:
    """The largest segments' share of equity vs their share of customers (Markdown)."""
    by = page.by_segment
    total = by["customers"].sum()
    parts = [f"**{md(name)}** hold {format_percent(row['share_of_equity'], 0)} of customer equity "
             f"({format_money(row['equity'], currency)}) with {format_percent(row['customers'] / total, 0)} of "
             "customers" for name, row in by.head(2).iterrows()]
    return "; ".join(parts) + "."


def segment_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    return manager_table(page.by_segment, {
        "customers": ("Customers", "count"), "equity": ("Value, next months", "money"),
        "share_of_equity": ("Share of value", "percent"), "mean_clv": ("Average value", "money"),
    }, currency=currency, index=("Segment", "text"))


def forecast_vs_past_text(page: ValuePage) -> str:
    r = page.forecast_vs_past.dropna(subset=["ratio"])
    group = "segment" if page.by_segment is not None else "value tier"
    if r.empty:
        return "No group spent anything in the last 12 months, so forecast and past cannot be compared."
    top, low = r.iloc[0], r.iloc[-1]
    return (f"Where the forecast goes beyond what customers did: per {group}, the next {page.values.months} months' "
            f"value against the last 12 months' spend. Highest: **{md(r.index[0])}** at {top['ratio']:.2f} times "
            f"its past spend; lowest: **{md(r.index[-1])}** at {low['ratio']:.2f} times. A ratio far above 1 for "
            "customers who have gone quiet would be a warning sign.")


def forecast_vs_past_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    label = "Segment" if page.by_segment is not None else "Value tier"
    return manager_table(page.forecast_vs_past, {
        "customers": ("Customers", "count"), "past_spend": ("Spent, last 12 months", "money"),
        "forecast": ("Value, next months", "money"), "ratio": ("Forecast ÷ past", "ratio"),
        "share_forecast_above_past": ("Customers forecast to spend more", "percent"),
    }, currency=currency, index=(label, "text"))


def what_if_text(page: ValuePage, currency: str = "GBP") -> str:
    """The retention what-if in words, with its assumptions (Markdown)."""
    t = page.what_if
    row = t.iloc[min(1, len(t) - 1)]
    return (f"If every customer's chance of still buying rose by {row['survival_uplift_points']:g} percentage points, "
            f"customer equity would grow by **{format_money(row['gain'], currency)}** "
            f"({format_percent(row['gain_pct'])}), from {format_count(row['customers_gaining'])} customers whose "
            "chance is below 100 %. Assumptions: the same rise for everybody, capped at 100 %; what an active customer "
            "spends does not change; the cost of achieving it is not included: compare the gain with what a "
            "retention programme costs.")


def what_if_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    t = page.what_if.assign(points=page.what_if["survival_uplift_points"] / 100)
    return manager_table(t, {
        "points": ("Rise in chance of buying", "points"), "customer_equity": ("Customer equity", "money"),
        "gain": ("Gain", "money"), "gain_pct": ("Gain in %", "change"),
        "customers_capped": ("Customers reaching 100 %", "count"),
    }, currency=currency)


def guards_text(page: ValuePage, currency: str = "GBP") -> str:
    notes = page.values.value_notes
    if notes.empty:
        return (f"No customer in a top tier has spent less than {format_money(LOW_HISTORY_SPEND, currency)} in total: "
                "every high value rests on real purchases.")
    return (f"{format_count(len(notes))} customers in a top tier have spent less than "
            f"{format_money(LOW_HISTORY_SPEND, currency)} in their whole history: their value comes from the "
            "forecast, not from what they bought. Check them before acting (they are in the download).")


def top_customers_table(page: ValuePage, currency: str = "GBP", n: int = 20) -> ManagerTable:
    top = page.table.nlargest(n, "clv")
    return manager_table(top, {
        "customer_id": ("Customer", "id"), "clv": ("Value, next months", "money"),
        "p_alive": ("Chance of buying in the window", "percent"),
        "expected_avg_spend": ("Expected spend per purchase", "money"), "clv_tier": ("Value tier", "text"),
    }, currency=currency)


def download_frame(page: ValuePage) -> pd.DataFrame:
    """The value list for Excel: one row per customer, highest value first, with any guard note."""
    t = page.table.sort_values("clv", ascending=False)
    notes = page.values.value_notes.set_index("customer_id")["value_note"] if len(page.values.value_notes) else {}
    return pd.DataFrame({
        "customer_id": t["customer_id"].to_numpy(),
        "value_next_months": t["clv"].round(2).to_numpy(),
        "chance_of_buying_in_window": t["p_alive"].round(4).to_numpy(),
        "expected_spend_per_purchase": t["expected_avg_spend"].round(2).to_numpy(),
        "value_tier": t["clv_tier"].astype(str).to_numpy(),
        "check_note": t["customer_id"].map(notes).fillna("").to_numpy() if len(notes) else "",
    })


def manager_warnings(page: ValuePage) -> list[str]:
    """The caveats a manager needs, in plain words (the summary lists them)."""
    out = []
    p = page.table["p_alive"]
    if p.max() - p.min() < 1e-9:
        out.append("Every customer got the same chance of still buying: the values cannot rank customers.")
    if len(page.values.value_notes):
        out.append(f"{format_count(len(page.values.value_notes))} top-tier customers have almost no purchase "
                   "history; check them before acting.")
    return out


# ------------------------------------------------------------------ for analysts
def analysts_text(page: ValuePage) -> str:
    """Model names, the selection rule, the activity model's note and the raw warnings (Markdown)."""
    cv = page.values
    lines = [f"- Value model: **{md(CANDIDATE_LABELS[cv.chosen])}** (`{cv.chosen}`). Candidates: "
             + "; ".join(f"{md(method_name(c))} = {md(CANDIDATE_LABELS[c])}" for c in page.backtest_means().index)
             + ".",
             f"- Selection rule: {md(SELECTION_RULE)}",
             f"- Horizon: {md(cv.horizon_text)}",
             f"- p_alive: {md(page.activity.note_)}"]
    lines += [f"- {md(n)}" for n in cv.backtest.notes]
    lines += [f"- {md(w)}" for w in cv.warnings]
    lines.append("- Files: customers_clv.parquet (customer_id, p_alive, expected_purchases, expected_avg_spend, clv, "
                 "clv_tier, value_model), read by the churn, summary and units pages; the page's metrics JSON.")
    return "\n".join(lines)


def analysts_backtest_table(page: ValuePage, currency: str = "GBP") -> ManagerTable:
    """Every candidate at every cutoff, by model name."""
    t = page.values.backtest.table.assign(model=lambda d: d["candidate"].map(CANDIDATE_LABELS))
    return manager_table(t, {
        "cutoff": ("Cutoff", "date"), "model": ("Candidate", "text"), "customers": ("Customers", "count"),
        "predicted_total": ("Predicted", "money"), "actual_total": ("Actual", "money"),
        "total_bias": ("Total bias", "change"), "mae": ("MAE", "money"), "spearman": ("Spearman", "ratio"),
        "gini": ("Normalised Gini", "ratio"), "top_decile_capture": ("Top-decile capture", "percent"),
        "clean": ("Fit measured drop-out", "flag"),
    }, currency=currency)
