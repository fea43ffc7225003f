"""The churn page's words and tables: plain words for managers, statistics only for analysts.

Every number comes from the result; every data value in a sentence goes through
:func:`crmlib.core.text.md`; every table a manager sees through
:func:`crmlib.core.tables.manager_table`.
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_count, format_date, format_money, format_percent
from crmlib.core.i18n import N_, _, shown
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md
from crmlib.pages.churn.analysis import BASELINE_WORDS, MODEL_NAMES, ChurnResult, leavers_found
from crmlib.pages.churn.models import RISK_BANDS

#: share of customers a campaign contacts in the plain-words quality sentence
CONTACT_SHARE = 0.2
#: the simple rules of the confusion table, at their cut-offs (message ids)
RULE_CUTOFFS = {"recency": N_("no purchase for longer than the churn window"),
                "p_alive": N_("chance of being active below 50 %"), "tenure": N_("tenure below the median")}
#: the dates of the transactions-mode check, for analysts (message ids)
CUTOFF_NAMES = {"train": N_("train"), "evaluation": N_("evaluation"), "scoring": N_("scoring")}
#: Header (a message id, shown through ``_()``) and kind of every column the page's tables show.
HEADERS: dict[str, tuple[str, str]] = {
    "method": (N_("Method"), "text"), "found": (N_("Leavers found in its riskiest 20 %"), "percent"),
    "top10_rate": (N_("Leavers among its riskiest 10 %"), "percent"), "lift": (N_("Times a random 10 %"), "ratio"),
    "flagged_share": (N_("Share listed"), "percent"), "precision": (N_("Listed who left"), "percent"),
    "recall": (N_("Leavers caught"), "percent"), "true_positive": (N_("Leavers listed"), "count"),
    "false_positive": (N_("Stayers listed"), "count"),
    "rank": (N_("Rank"), "count"), "customer_id": (N_("Customer"), "id"),
    "churn_probability": (N_("Churn probability"), "percent"), "risk_tier": (N_("Churn risk"), "text"),
    "value_at_risk": (N_("Value at risk"), "money"), "group": (N_("Group"), "text"),
    "ROC-AUC": (N_("ROC-AUC"), "ratio"), "PR-AUC": (N_("PR-AUC"), "ratio"),
    "top-decile lift": (N_("Top-decile lift"), "ratio"),
    "note": (N_("Rules applied and notes"), "text"),
}


def _headers(columns: list[str]) -> dict[str, tuple[str, str]]:
    return {c: (_(HEADERS[c][0]), HEADERS[c][1]) for c in columns}


def _found(lift: pd.DataFrame, share: float = CONTACT_SHARE) -> float | None:
    return leavers_found(lift, share)


def _rule(name: str) -> str:
    return _(BASELINE_WORDS[name]) if name in BASELINE_WORDS else name


def method_label(result: ChurnResult, name: str) -> str:
    """A method in a manager's words."""
    if name == result.chosen_model:
        return _("The model")
    rule = _(BASELINE_WORDS.get(name, MODEL_NAMES.get(name, name)))
    return _("Simple rule: {rule}").format(rule=rule)


#: the churn-rate trend sentence: (risen | fallen | level) x (peaked earlier or not)
_TREND = {
    ("risen", False): N_("Measured the same way at each month start, the churn rate has risen since the start: "
                         "{first_rate} for customers active on {first_date}, {last_rate} on {last_date}. The first "
                         "months see less history, so their active customers are fewer and their rates less "
                         "comparable."),
    ("fallen", False): N_("Measured the same way at each month start, the churn rate has fallen since the start: "
                          "{first_rate} for customers active on {first_date}, {last_rate} on {last_date}. The first "
                          "months see less history, so their active customers are fewer and their rates less "
                          "comparable."),
    ("level", False): N_("Measured the same way at each month start, the churn rate has stayed about level since the "
                         "start: {first_rate} for customers active on {first_date}, {last_rate} on {last_date}. The "
                         "first months see less history, so their active customers are fewer and their rates less "
                         "comparable."),
    ("risen", True): N_("Measured the same way at each month start, the churn rate has risen since the start: "
                        "{first_rate} for customers active on {first_date}, {last_rate} on {last_date}; it peaked at "
                        "{peak_rate} on {peak_date} and has come down since. The first months see less history, so "
                        "their active customers are fewer and their rates less comparable."),
    ("fallen", True): N_("Measured the same way at each month start, the churn rate has fallen since the start: "
                         "{first_rate} for customers active on {first_date}, {last_rate} on {last_date}; it peaked at "
                         "{peak_rate} on {peak_date} and has come down since. The first months see less history, so "
                         "their active customers are fewer and their rates less comparable."),
    ("level", True): N_("Measured the same way at each month start, the churn rate has stayed about level since the "
                        "start: {first_rate} for customers active on {first_date}, {last_rate} on {last_date}; it "
                        "peaked at {peak_rate} on {peak_date} and has come down since. The first months see less "
                        "history, so their active customers are fewer and their rates less comparable."),
}


def overview_text(result: ChurnResult) -> str:
    """Churn rate, its trend and how it is measured (Markdown)."""
    if result.mode == "customer_table":
        return _("**{rate}** of the {customers} customers held out for checking have churned according to the "
                 "customer table's churn flag (subscription data: a customer churns when they end the contract). This "
                 "table has no dates, so no trend is shown.").format(rate=format_percent(result.churn_rate),
                                                                     customers=format_count(result.eval_customers))
    text = _("Churn here means **no purchase within {days} days**. Of the {customers} customers active on {date} (a "
             "purchase in the {active_days} days before), **{rate}** did not buy again in the following window, which "
             "ends on the analysis date.").format(
        days=result.window_days, customers=format_count(result.eval_customers),
        date=format_date(result.cutoffs["evaluation"]), active_days=result.active_days,
        rate=format_percent(result.churn_rate))
    trend = result.trend.dropna() if result.trend is not None else None
    if trend is not None and len(trend) >= 3:
        first, last = trend.iloc[0], trend.iloc[-1]
        peak = trend.loc[trend["churn_rate"].idxmax()]
        change = last["churn_rate"] - first["churn_rate"]
        word = "risen" if change > 0.02 else ("fallen" if change < -0.02 else "level")
        peaked = bool(peak["churn_rate"] > last["churn_rate"] + 0.02)
        text += " " + _(_TREND[(word, peaked)]).format(
            first_rate=format_percent(first["churn_rate"], 0), first_date=format_date(first["cutoff"]),
            last_rate=format_percent(last["churn_rate"], 0), last_date=format_date(last["cutoff"]),
            peak_rate=format_percent(peak["churn_rate"], 0), peak_date=format_date(peak["cutoff"]))
    return text


def quality_text(result: ChurnResult) -> str:
    """Does the model find leavers, better than a simple rule? In business words (Markdown);
    with a training sample, what it was (:meth:`ChurnResult.sample_text`)."""
    found = _found(result.lift)
    if result.mode == "transactions":
        how = _("To check it, the model was fitted as it stood {days} days ago and asked which of the {customers} "
                "customers active then would not buy again in the next {days} days; we then looked at who really did "
                "not.").format(days=result.window_days, customers=format_count(result.eval_customers))
    else:
        how = _("To check it, the model was trained without {customers} customers and then asked which of them had "
                "churned.").format(customers=format_count(result.eval_customers))
    lines = [how]
    if found is not None:
        lines.append(_("**The 20 % of customers it ranks riskiest include {share} of all leavers** (a random 20 % "
                       "would include 20 %).").format(share=format_percent(found, 0)))
    for name, lift in result.baseline_lift.items():
        other = _found(lift)
        if other is not None and found is not None:
            if found > other + 0.005:
                verdict = N_("It does better than the simple rule \"{rule}\", whose riskiest 20 % include {share} of "
                             "leavers.")
            elif found > other - 0.005:
                verdict = N_("It does as well as the simple rule \"{rule}\", whose riskiest 20 % include {share} of "
                             "leavers.")
            else:
                verdict = N_("It does **less well** than the simple rule \"{rule}\", whose riskiest 20 % include "
                             "{share} of leavers.")
            lines.append(_(verdict).format(rule=_rule(name), share=format_percent(other, 0)))
    c = result.confusion
    if c.get("flagged_share") is not None:
        lines.append(_("A customer goes on the retention list when their churn probability is at least {threshold}. "
                       "On the check that would have listed {listed} of customers; {precision} of them did leave, and "
                       "they include {recall} of all leavers.").format(
            threshold=format_percent(result.threshold, 0), listed=format_percent(c["flagged_share"], 0),
            precision=format_percent(c["precision"], 0), recall=format_percent(c["recall"], 0)))
    sample = result.sample_text()
    if sample:
        lines.append(shown(sample))
    return " ".join(lines)


def methods_table(result: ChurnResult) -> ManagerTable:
    """The model and the simple rules on the check, in business measures."""
    rows = []
    lifts = {result.chosen_model: result.lift, **result.baseline_lift}
    for name, lift in lifts.items():
        rows.append({"method": method_label(result, name), "found": _found(lift),
                     "top10_rate": float(lift["churn_rate"].iloc[0]), "lift": float(lift["lift"].iloc[0])})
    return manager_table(pd.DataFrame(rows), _headers(["method", "found", "top10_rate", "lift"]))


def confusion_table(result: ChurnResult) -> ManagerTable:
    """Who each method would list on the check: the model at its threshold, the simple rules at their cut-offs."""
    rows = [{"method": _("The model (churn probability at least {threshold})").format(
                 threshold=format_percent(result.threshold, 0)), **result.confusion}]
    rows += [{"method": _("Simple rule: {rule}").format(rule=_(RULE_CUTOFFS[k]) if k in RULE_CUTOFFS else k), **v}
             for k, v in result.baseline_confusion.items()]
    return manager_table(pd.DataFrame(rows), _headers(["method", "flagged_share", "precision", "recall",
                                                       "true_positive", "false_positive"]))


def drivers_text(result: ChurnResult, top: int = 5) -> str:
    """The top drivers in plain words, one bullet each (Markdown)."""
    d = result.drivers.dropna(subset=["sentence"]).head(top)
    lines = [_("What the model relies on most (how much worse its ranking gets when a fact is hidden from it), and "
               "which way it points:")]
    lines += [f"- {md(shown(row.sentence))}" for row in d.itertuples()]
    lines.append("\n" + _("These are associations the model uses, not proven causes: a driver points to where to "
                          "look."))
    return "\n".join(lines)


def targets_text(result: ChurnResult, currency: str = "GBP") -> str:
    """Who to contact first and the value at stake (Markdown)."""
    t, s = result.targets, result.scores
    tiers = s["risk_tier"].value_counts()
    low, high = RISK_BANDS
    control = int((t["group"] == "control").sum())
    facts = dict(
        scored=format_count(len(s)), active_days=result.active_days, high=format_count(tiers.get("high", 0)),
        high_band=format_percent(high, 0), medium=format_count(tiers.get("medium", 0)),
        low_band=format_percent(low, 0), low=format_count(tiers.get("low", 0)),
        value_at_risk=format_money(s["value_at_risk"].sum(), currency), basis=md(_(result.value_basis)),
        high_value_at_risk=format_money(s.loc[s["risk_tier"] == "high", "value_at_risk"].sum(), currency),
        listed=format_count(len(t)), threshold=format_percent(result.threshold, 0),
        listed_value=format_money(t["value_at_risk"].sum(), currency), control=format_count(control),
        control_share=format_percent(control / len(t) if len(t) else 0, 0))
    if result.mode == "customer_table":
        text = N_("{scored} current subscribers scored. **{high} are at high churn risk** (churn probability "
                  "{high_band} or more), {medium} at medium risk ({low_band} to {high_band}) and {low} at low risk. "
                  "Value at risk over all of them: **{value_at_risk}** (churn probability × {basis}); at high churn "
                  "risk: {high_value_at_risk}. The retention list holds {listed} customers (churn probability at "
                  "least {threshold}), ranked by value at risk, worth {listed_value}; {control} of them "
                  "({control_share}, drawn at random within each risk group) are a control group that should **not** "
                  "be contacted, so the campaign's effect can be measured.")
    else:
        text = N_("{scored} customers scored: every active customer (a purchase in the {active_days} days before the "
                  "analysis date). **{high} are at high churn risk** (churn probability {high_band} or more), {medium} "
                  "at medium risk ({low_band} to {high_band}) and {low} at low risk. Value at risk over all of them: "
                  "**{value_at_risk}** (churn probability × {basis}); at high churn risk: {high_value_at_risk}. The "
                  "retention list holds {listed} customers (churn probability at least {threshold}), ranked by value "
                  "at risk, worth {listed_value}; {control} of them ({control_share}, drawn at random within each risk "
                  "group) are a control group that should **not** be contacted, so the campaign's effect can be "
                  "measured.")
    return _(text).format(**facts)


def targets_table(result: ChurnResult, currency: str = "GBP", n: int = 15) -> ManagerTable:
    """The top of the retention list."""
    t = result.targets.assign(risk_tier=lambda d: d["risk_tier"].map(_), group=lambda d: d["group"].map(_))
    return manager_table(t, _headers(["rank", "customer_id", "churn_probability", "risk_tier", "value_at_risk",
                                      "group"]), currency=currency, max_rows=n)


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
    rows = [{"method": (_("{method} (chosen)").format(method=_(MODEL_NAMES.get(k, k))) if k == result.chosen_model
                        else _(MODEL_NAMES.get(k, k))),
             "ROC-AUC": v["roc_auc"], "PR-AUC": v["pr_auc"], "top-decile lift": v["top_decile_lift"]}
            for k, v in result.evaluation.items()]
    return pd.DataFrame(rows).sort_values("ROC-AUC", ascending=False).round(3).reset_index(drop=True)


def analysts_table(result: ChurnResult) -> ManagerTable:
    return manager_table(model_table(result), _headers(["method", "ROC-AUC", "PR-AUC", "top-decile lift"]))


def analysts_text(result: ChurnResult) -> str:
    """How the page was computed, with the statistics' names (Markdown)."""
    if result.mode == "transactions":
        cutoffs = ", ".join(f"{_(CUTOFF_NAMES.get(k, k))} {v}" for k, v in result.cutoffs.items())
        first = _("- Churn probability = 1 − p_alive (the value page's activity model) in transactions mode; "
                  "threshold by Youden's J on the check; cutoffs: {cutoffs}.").format(cutoffs=cutoffs)
    else:
        first = _("- Customer-table mode: logistic regression and gradient boosting on the customer table, the better "
                  "by cross-validated ROC-AUC; threshold by Youden's J on out-of-fold training predictions.")
    return "\n".join([first, _("- Files: churn_scores.parquet (every scored customer), retention_targets.parquet and "
                               "retention_targets.csv (the ranked list with its control group; the campaigns page "
                               "reads it), the page's metrics JSON.")])


def notes_table(result: ChurnResult) -> ManagerTable:
    """The data rules applied and the run's notes, one per row (for analysts; cells are HTML-escaped)."""
    return manager_table(pd.DataFrame({"note": [shown(n) for n in result.notes + result.warnings]}),
                         _headers(["note"]))
