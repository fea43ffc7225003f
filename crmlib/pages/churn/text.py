"""The churn page's words and tables: plain words for managers, statistics only for analysts.

Every number comes from the result; every data value in a sentence goes through
:func:`crmlib.core.text.md`; every table a manager sees through
:func:`crmlib.core.tables.manager_table`.
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_count, format_date, format_money, format_percent
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.pages.churn.analysis import BASELINE_WORDS, MODEL_NAMES, ChurnResult, leavers_found
from crmlib.pages.churn.models import RISK_BANDS

#: share of customers a campaign contacts in the plain-words quality sentence
CONTACT_SHARE = 0.2


def _found(lift: pd.DataFrame, share: float = CONTACT_SHARE) -> float | None:
    return leavers_found(lift, share)


def method_label(result: ChurnResult, name: str) -> str:
    """A method in a manager's words."""
    if name == result.chosen_model:
        return "The model"
    return f"Simple rule: {BASELINE_WORDS.get(name, MODEL_NAMES.get(name, name))}"


def overview_text(result: ChurnResult) -> str:
    """Churn rate, its trend and how it is measured (Markdown)."""
    if result.mode == "customer_table":
        return (f"**{format_percent(result.churn_rate)}** of the {format_count(result.eval_customers)} customers held "
                "out for checking have churned according to the customer table's churn flag (subscription data: a "
                "customer churns when they end the contract). This table has no dates, so no trend is shown.")
    text = (f"Churn here means **no purchase within {result.window_days} days**. Of the "
            f"{format_count(result.eval_customers)} customers active on {format_date(result.cutoffs['evaluation'])} "
            f"(a purchase in the {result.active_days} days before), **{format_percent(result.churn_rate)}** did not "
            "buy again in the following window, which ends on the analysis date.")
    trend = result.trend.dropna() if result.trend is not None else None
    if trend is not None and len(trend) >= 3:
        first, last = trend.iloc[0], trend.iloc[-1]
        peak = trend.loc[trend["churn_rate"].idxmax()]
        change = last["churn_rate"] - first["churn_rate"]
        word = "risen" if change > 0.02 else ("fallen" if change < -0.02 else "stayed about level")
        text += (f" Measured the same way at each month start, the churn rate has {word} since the start: "
                 f"{format_percent(first['churn_rate'], 0)} for customers active on {format_date(first['cutoff'])}, "
                 f"{format_percent(last['churn_rate'], 0)} on {format_date(last['cutoff'])}")
        if peak["churn_rate"] > last["churn_rate"] + 0.02:
            text += (f"; it peaked at {format_percent(peak['churn_rate'], 0)} on {format_date(peak['cutoff'])} and "
                     "has come down since")
        text += (". The first months see less history, so their active customers are fewer and their rates less "
                 "comparable.")
    return text


def quality_text(result: ChurnResult) -> str:
    """Does the model find leavers, better than a simple rule? In business words (Markdown)."""
    found = _found(result.lift)
    if result.mode == "transactions":
        how = (f"To check it, the model was fitted as it stood {result.window_days} days ago and asked which of the "
               f"{format_count(result.eval_customers)} customers active then would not buy again in the next "
               f"{result.window_days} days; we then looked at who really did not.")
    else:
        how = (f"To check it, the model was trained without {format_count(result.eval_customers)} customers and then "
               "asked which of them had churned.")
    lines = [how]
    if found is not None:
        lines.append(f"**The 20 % of customers it ranks riskiest include {format_percent(found, 0)} of all leavers** "
                     "(a random 20 % would include 20 %).")
    for name, lift in result.baseline_lift.items():
        other = _found(lift)
        if other is not None and found is not None:
            verdict = "better than" if found > other + 0.005 else ("as well as" if found > other - 0.005 else
                                                                    "**less well** than")
            lines.append(f"It does {verdict} the simple rule \"{BASELINE_WORDS.get(name, name)}\", whose riskiest "
                         f"20 % include {format_percent(other, 0)} of leavers.")
    c = result.confusion
    if c.get("flagged_share") is not None:
        lines.append(f"A customer goes on the retention list when their churn probability is at least "
                     f"{format_percent(result.threshold, 0)}. On the check that would have listed "
                     f"{format_percent(c['flagged_share'], 0)} of customers; {format_percent(c['precision'], 0)} of "
                     f"them did leave, and they include {format_percent(c['recall'], 0)} of all leavers.")
    return " ".join(lines)


def methods_table(result: ChurnResult) -> ManagerTable:
    """The model and the simple rules on the check, in business measures."""
    rows = []
    lifts = {result.chosen_model: result.lift, **result.baseline_lift}
    for name, lift in lifts.items():
        rows.append({"method": method_label(result, name), "found": _found(lift),
                     "top10_rate": float(lift["churn_rate"].iloc[0]), "lift": float(lift["lift"].iloc[0])})
    return manager_table(pd.DataFrame(rows), {
        "method": ("Method", "text"), "found": ("Leavers found in its riskiest 20 %", "percent"),
        "top10_rate": ("Leavers among its riskiest 10 %", "percent"),
        "lift": ("Times a random 10 %", "ratio"),
    })


def confusion_table(result: ChurnResult) -> ManagerTable:
    """Who each method would list on the check: the model at its threshold, the simple rules at their cut-offs."""
    rows = [{"method": f"The model (churn probability at least {format_percent(result.threshold, 0)})",
             **result.confusion}]
    rules = {"recency": "no purchase for longer than the churn window", "p_alive": "chance of being active below 50 %",
             "tenure": "tenure below the median"}
    rows += [{"method": f"Simple rule: {rules.get(k, k)}", **v} for k, v in result.baseline_confusion.items()]
    return manager_table(pd.DataFrame(rows), {
        "method": ("Method", "text"), "flagged_share": ("Share listed", "percent"),
        "precision": ("Listed who left", "percent"), "recall": ("Leavers caught", "percent"),
        "true_positive": ("Leavers listed", "count"), "false_positive": ("Stayers listed", "count"),
    })


def drivers_text(result: ChurnResult, top: int = 5) -> str:
    """The top drivers in plain words, one bullet each (Markdown)."""
    d = result.drivers.dropna(subset=["sentence"]).head(top)
    lines = ["What the model relies on most (how much worse its ranking gets when a fact is hidden from it), and "
             "which way it points:"]
    lines += [f"- {md(row.sentence)}" for row in d.itertuples()]
    lines.append("\nThese are associations the model uses, not proven causes: a driver points to where to look.")
    return "\n".join(lines)


def targets_text(result: ChurnResult, currency: str = "GBP") -> str:
    """Who to contact first and the value at stake (Markdown)."""
    t, s = result.targets, result.scores
    tiers = s["risk_tier"].value_counts()
    low, high = RISK_BANDS
    if result.mode == "customer_table":
        who = f"{format_count(len(s))} current subscribers scored"
    else:
        who = (f"{format_count(len(s))} customers scored: every active customer (a purchase in the "
               f"{result.active_days} days before the analysis date)")
    control = int((t["group"] == "control").sum())
    return (f"{who}. **{format_count(tiers.get('high', 0))} are at high churn risk** (churn probability "
            f"{format_percent(high, 0)} or more), {format_count(tiers.get('medium', 0))} at medium risk "
            f"({format_percent(low, 0)} to {format_percent(high, 0)}) and {format_count(tiers.get('low', 0))} at low "
            f"risk. Value at risk over all of them: **{format_money(s['value_at_risk'].sum(), currency)}** (churn "
            f"probability × {md(result.value_basis)}); at high churn risk: "
            f"{format_money(s.loc[s['risk_tier'] == 'high', 'value_at_risk'].sum(), currency)}. "
            f"The retention list holds {format_count(len(t))} customers (churn probability at least "
            f"{format_percent(result.threshold, 0)}), ranked by value at risk, worth "
            f"{format_money(t['value_at_risk'].sum(), currency)}; {format_count(control)} of them "
            f"({format_percent(control / len(t) if len(t) else 0, 0)}, drawn at random within each risk group) are a "
            "control group that should **not** be contacted, so the campaign's effect can be measured.")


def targets_table(result: ChurnResult, currency: str = "GBP", n: int = 15) -> ManagerTable:
    """The top of the retention list."""
    return manager_table(result.targets, {
        "rank": ("Rank", "count"), "customer_id": ("Customer", "id"),
        "churn_probability": ("Churn probability", "percent"), "risk_tier": ("Churn risk", "text"),
        "value_at_risk": ("Value at risk", "money"), "group": ("Group", "text"),
    }, currency=currency, max_rows=n)


def retention_download(result: ChurnResult) -> pd.DataFrame:
    """The retention list for Excel: rank, customer, probability, risk, value, value at risk, group."""
    t = result.targets
    out = pd.DataFrame({"rank": t["rank"], "customer_id": t["customer_id"].astype(str),
                        "churn_probability": t["churn_probability"].round(4), "churn_risk": t["risk_tier"],
                        "value": t["value"].round(2), "value_at_risk": t["value_at_risk"].round(2),
                        "group": t["group"]})
    if "recency_days" in t:
        out.insert(5, "days_since_last_purchase", t["recency_days"])
    return out


# ------------------------------------------------------------------ for analysts
def model_table(result: ChurnResult) -> pd.DataFrame:
    """Quality of the model and the naive rules on the check, best first (for analysts)."""
    rows = [{"method": MODEL_NAMES.get(k, k) + (" (chosen)" if k == result.chosen_model else ""),
             "ROC-AUC": v["roc_auc"], "PR-AUC": v["pr_auc"], "top-decile lift": v["top_decile_lift"]}
            for k, v in result.evaluation.items()]
    return pd.DataFrame(rows).sort_values("ROC-AUC", ascending=False).round(3).reset_index(drop=True)


def analysts_table(result: ChurnResult) -> ManagerTable:
    return manager_table(model_table(result), {
        "method": ("Method", "text"), "ROC-AUC": ("ROC-AUC", "ratio"), "PR-AUC": ("PR-AUC", "ratio"),
        "top-decile lift": ("Top-decile lift", "ratio")})


def analysts_text(result: ChurnResult) -> str:
    """How the page was computed, with the statistics' names (Markdown)."""
    lines = [f"- Churn probability = 1 − p_alive (the value page's activity model) in transactions mode; "
             f"threshold by Youden's J on the check; cutoffs: "
             + ", ".join(f"{k} {v}" for k, v in result.cutoffs.items()) + "."
             if result.mode == "transactions" else
             "- Customer-table mode: logistic regression and gradient boosting on the customer table, the better by "
             "cross-validated ROC-AUC; threshold by Youden's J on out-of-fold training predictions."]
    lines.append("- Files: churn_scores.parquet (every scored customer), retention_targets.parquet and "
                 "retention_targets.csv (the ranked list with its control group; the campaigns page reads it), "
                 "the page's metrics JSON.")
    return "\n".join(lines)


def notes_table(result: ChurnResult) -> ManagerTable:
    """The data rules applied and the run's notes, one per row (for analysts; cells are HTML-escaped)."""
    return manager_table(pd.DataFrame({"note": result.notes + result.warnings}),
                         {"note": ("Rules applied and notes", "text")})
