"""The churn page's words and tables: every number in them comes from the result."""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_money
from crmlib.pages.churn.analysis import MODEL_NAMES, ChurnResult
from crmlib.pages.churn.models import RISK_BANDS

def quality_text(result: ChurnResult) -> str:
    """Plain-words verdict: does the model beat the naive rules, and by how much."""
    ev = result.evaluation
    mine = ev[result.chosen_model]
    lines = [f"The chosen model is **{MODEL_NAMES[result.chosen_model]}** (picked on training data only). "
             f"On the {result.eval_customers:,} customers of the evaluation set it ranks a random churner above "
             f"a random stayer {mine['roc_auc']:.0%} of the time (ROC-AUC {mine['roc_auc']:.3f}; "
             f"PR-AUC {mine['pr_auc']:.3f} against a churn rate of {result.churn_rate:.1%})."]
    for name, margin in result.beats_baselines().items():
        if margin is None:
            continue
        other = ev[name]["roc_auc"]
        verdict = "beats" if margin > 0.005 else ("matches" if margin > -0.005 else "does **not** beat")
        lines.append(f"- It {verdict} the {MODEL_NAMES[name]} (ROC-AUC {other:.3f}): "
                     f"{margin:+.3f} ROC-AUC, PR-AUC {mine['pr_auc'] - ev[name]['pr_auc']:+.3f}.")
    top = result.lift.iloc[0]
    lines.append(f"- Contacting the 10 % of customers the model ranks riskiest reaches {top['churners']:.0f} churners, "
                 f"{top['lift']:.1f} times as many as a random 10 % would.")
    c = result.confusion
    lines.append(f"- Threshold rule: flag a customer when the churn probability is at least {result.threshold:.0%} "
                 f"(the threshold that best separates leavers from stayers on the training data, Youden's J). On the evaluation set this flags "
                 f"{c['flagged_share']:.0%} of customers; {c['precision']:.0%} of them did churn and they include "
                 f"{c['recall']:.0%} of all churners.")
    return "\n".join(lines)


def targets_text(result: ChurnResult, currency: str = "GBP") -> str:
    """Who to contact first and the value at stake."""
    t = result.targets
    s = result.scores
    tiers = s["risk_tier"].value_counts()
    low, high = RISK_BANDS
    who = "current subscribers" if result.mode == "customer_table" else "active customers"
    return (f"{len(s):,} {who} scored: {tiers.get('high', 0):,} high risk (churn probability {high:.0%} or more), "
            f"{tiers.get('medium', 0):,} medium ({low:.0%} to {high:.0%}) and {tiers.get('low', 0):,} low risk. Total value at risk: **{format_money(s['value_at_risk'].sum(), currency)}** "
            f"(churn probability x {result.value_basis}). The retention list holds {len(t):,} customers "
            f"(probability at least {result.threshold:.0%}) worth {format_money(t['value_at_risk'].sum(), currency)} at risk; "
            f"{(t['group'] == 'control').sum():,} of them ({(t['group'] == 'control').mean():.0%}, drawn at random within "
            f"each risk tier) are a control group that should **not** be contacted, so the campaign's effect can be measured.")


def overview_text(result: ChurnResult) -> str:
    """Churn rate, its trend and how the numbers were obtained."""
    if result.mode == "customer_table":
        return (f"**{result.churn_rate:.1%}** of the {result.eval_customers:,} customers held out for evaluation have "
                f"churned according to the customer table's churn flag (subscription data: a customer churns when "
                f"they end the contract). There is no time axis in this table, so no trend is shown.")
    text = (f"Churn here means **no purchase within {result.window_days} days**. Of the "
            f"{result.eval_customers:,} customers active on {result.cutoffs['evaluation']} (a purchase in the "
            f"{result.active_days} days before), **{result.churn_rate:.1%}** did not buy again in the following window, which ends at the "
            f"analysis date.")
    trend = result.trend.dropna() if result.trend is not None else None
    if trend is not None and len(trend) >= 3:
        first, last = trend.iloc[0], trend.iloc[-1]
        change = last["churn_rate"] - first["churn_rate"]
        word = "risen" if change > 0.02 else ("fallen" if change < -0.02 else "stayed about level")
        text += (f" Measured the same way at each month start, the churn rate has {word}: "
                 f"{first['churn_rate']:.0%} for customers active on {first['cutoff']:%d %b %Y}, "
                 f"{last['churn_rate']:.0%} on {last['cutoff']:%d %b %Y} (the first months see less history, so "
                 f"their 'active' customers are fewer).")
    return text


def model_table(result: ChurnResult) -> pd.DataFrame:
    """Evaluation-set quality of both models and the naive rules, best first, for display."""
    rows = [{"method": MODEL_NAMES[k] + (" (chosen)" if k == result.chosen_model else ""),
             "ROC-AUC": v["roc_auc"], "PR-AUC": v["pr_auc"], "top-decile lift": v["top_decile_lift"]}
            for k, v in result.evaluation.items()]
    return pd.DataFrame(rows).sort_values("ROC-AUC", ascending=False).round(3).reset_index(drop=True)


BASELINE_RULES = {"recency": "no purchase for longer than the churn window", "p_alive": "P(alive) below 50 %",
                  "tenure": "tenure below the median"}


def confusion_table(result: ChurnResult) -> pd.DataFrame:
    """Who each method would flag on the evaluation set: the chosen model at its threshold
    and the naive rules at their natural cut-offs (for display)."""
    rows = {f"{MODEL_NAMES[result.chosen_model]} (probability >= {result.threshold:.0%})": result.confusion}
    rows.update({f"{MODEL_NAMES[k]} ({BASELINE_RULES[k]})": v for k, v in result.baseline_confusion.items()})
    table = pd.DataFrame(rows).T[["flagged_share", "precision", "recall", "true_positive", "false_positive"]]
    table.columns = ["share flagged", "precision (flagged who left)", "recall (leavers caught)",
                     "leavers flagged", "stayers flagged"]
    return table.astype("float64").round(3)


def drivers_text(result: ChurnResult, top: int = 5) -> str:
    """The top drivers in plain words, one bullet each."""
    d = result.drivers.dropna(subset=["sentence"]).head(top)
    lines = ["What matters most for the model (the drop in ROC-AUC when a fact is shuffled on the evaluation "
             "set, so the model can no longer use it), and which way it points:"]
    lines += [f"- {row.sentence} (importance {row.importance:.3f})" for row in d.itertuples()]
    lines.append("These are associations the model uses, not proven causes: a driver points to where to look.")
    return "\n".join(lines)
