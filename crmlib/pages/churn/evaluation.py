"""How well the churn page's scores separate churners: ROC/PR, lift, calibration, confusion, drivers."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score, roc_curve

from crmlib.core.features import feature_label
from crmlib.core.i18n import N_, Capitalised, Message
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS, sample_customers
from crmlib.errors import DataError

def score_quality(y_true: Any, score: Any) -> dict[str, float | None]:
    """ROC-AUC and PR-AUC (average precision) of a score where higher = more likely to churn.

    Missing scores are ranked last (treated as the lowest score). Returns None values
    when the labels hold one class only.
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype="float64")
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None}
    s = np.where(np.isnan(s), np.nanmin(s) - 1 if np.isfinite(s).any() else 0.0, s)
    return {"roc_auc": float(roc_auc_score(y, s)), "pr_auc": float(average_precision_score(y, s))}


def lift_table(y_true: Any, score: Any, n_bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gains by score decile (decile 1 = highest scores).

    Customers are sorted by score, highest first (ties keep their input order), and cut
    into ``n_bins`` groups of equal size (sizes differ by at most one). Per group:
    customers, churners, churn_rate, lift = churn_rate / overall churn rate; and
    cumulatively: cum_customers_share (share of customers contacted so far) and
    cum_gain (share of all churners caught so far). Provost & Fawcett (2013), ch. 8.
    """
    y = np.asarray(y_true).astype(float)
    s = np.asarray(score, dtype="float64")
    n = len(y)
    if n == 0:
        raise DataError("cannot build a lift table from zero customers")
    order = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")
    decile = np.empty(n, dtype=int)
    decile[order] = np.arange(n) * n_bins // n + 1
    table = (pd.DataFrame({"decile": decile, "churned": y})
             .groupby("decile")["churned"].agg(customers="size", churners="sum").reset_index())
    overall = y.mean()
    table["churn_rate"] = table["churners"] / table["customers"]
    table["lift"] = table["churn_rate"] / overall if overall > 0 else np.nan
    table["cum_customers_share"] = table["customers"].cumsum() / n
    table["cum_gain"] = table["churners"].cumsum() / y.sum() if y.sum() > 0 else np.nan
    return table


def calibration_table(y_true: Any, probability: Any, n_bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn rate in ``n_bins`` equal-size probability bins
    (scikit-learn ``calibration_curve``, strategy "quantile")."""
    observed, predicted = calibration_curve(np.asarray(y_true).astype(int), np.asarray(probability),
                                            n_bins=n_bins, strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})


def best_threshold(y_true: Any, probability: Any) -> float:
    """The probability threshold with the largest Youden's J = true-positive rate - false-positive rate.

    Rule used to flag customers: chosen on the *training* data's out-of-fold
    predictions, then applied unchanged to the evaluation set and to today's scores.
    It weighs catching leavers and sparing stayers equally (Youden 1950), so with a
    high churn rate it does not flag nearly everyone, as an F1-optimal cut would.
    """
    fpr, tpr, thresholds = roc_curve(np.asarray(y_true).astype(int), probability)
    return float(thresholds[1:][int(np.argmax((tpr - fpr)[1:]))])


def confusion_at(y_true: Any, flagged: Any) -> dict[str, Any]:
    """Confusion counts and rates when customers with ``flagged`` true are called churners
    (scikit-learn ``confusion_matrix``)."""
    y = np.asarray(y_true).astype(bool)
    f = np.asarray(flagged).astype(bool)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, f, labels=[False, True]).ravel())
    return {"true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "flagged_share": (tp + fp) / len(y) if len(y) else None}


def _number(value: float, digits: int = 3) -> str:
    if abs(value) >= 10 ** digits:
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def _range_label(low: float, high: float) -> str:
    for digits in (3, 5, 8):
        a, b = _number(low, digits), _number(high, digits)
        if a != b or low == high:
            return a if low == high else f"{a} to {b}"
    return f"{low:,.8g} to {high:,.8g}"


_RANGE = re.compile(r"^(-?[\d,.]+(?:e[+-]?\d+)?) to (-?[\d,.]+(?:e[+-]?\d+)?)$")


def bin_label(label: object) -> Message:
    """A bin of :func:`binned_churn_rates` as a :class:`~crmlib.core.i18n.Message` (English as a string):
    a range of numbers and the missing bin are shown translated, a category through ``_()``."""
    text = str(label)
    match = _RANGE.match(text)
    if match:
        return Message(N_("{low} to {high}"), low=match[1], high=match[2])
    return Message(text)


#: the bin of customers without a value (a message id, shown through ``_()``)
MISSING_BIN = N_("missing")


def binned_churn_rates(X: pd.DataFrame, y: pd.Series, feature: str, n_bins: int = 5) -> pd.DataFrame:
    """Churn rate by bin of one feature: quantile bins for numbers (missing kept as its
    own bin), one bin per level for categories. Columns: bin, customers, churn_rate."""
    values = X[feature]
    order = None
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
        bins = pd.qcut(values, n_bins, duplicates="drop")  # equal ties stay in one bin
        if bins.cat.categories.size >= 2:
            edges = values.groupby(bins, observed=True).agg(["min", "max"])
            names = {b: _range_label(r["min"], r["max"]) for b, r in edges.iterrows()}
            key = bins.map(names).astype(object).where(values.notna(), MISSING_BIN)
            order = list(names.values()) + [MISSING_BIN]
    if order is None:
        key = values.astype(object).where(values.notna(), MISSING_BIN)
        key = key.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
        if pd.api.types.is_numeric_dtype(values):
            order = [f"{v:g}" for v in sorted(values.dropna().unique())] + [MISSING_BIN]
    table = (pd.DataFrame({"bin": key.to_numpy(), "churned": np.asarray(y)})
             .groupby("bin", sort=False)["churned"].agg(customers="size", churn_rate="mean"))
    if order is not None:
        table = table.reindex([b for b in order if b in table.index])
    else:
        table = table.sort_values("churn_rate")
    return table.reset_index()


def explain_drivers(model: Any, X: pd.DataFrame, y: pd.Series, *, top: int = 5, seed: int = 0,
                    n_repeats: int = 3, max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> pd.DataFrame:
    """Permutation importance on the evaluation set plus the direction of each top driver.

    importance = mean drop in ROC-AUC when the feature's values are shuffled
    (Breiman 2001; scikit-learn ``permutation_importance``), measured on a seeded sample
    of ``max_customers`` customers stratified by the label when the evaluation set is
    larger (``None``: on all of them). Direction comes from binned churn rates
    (:func:`binned_churn_rates`, on every customer): for numbers, churn rate in the
    highest vs the lowest fifth; for categories, the riskiest vs the safest level.
    Returns feature, importance, importance_std, direction, low_rate, high_rate,
    sentence (plain words), sorted by importance.
    """
    labels = np.asarray(y).astype(int)
    rows = np.arange(len(labels))
    if max_customers is not None and len(labels) > int(max_customers):
        rows = sample_customers(pd.DataFrame({"churned": labels}), int(max_customers), stratify="churned",
                                seed=seed).index.to_numpy()
    result = permutation_importance(model, X.iloc[rows], labels[rows], scoring="roc_auc",
                                    n_repeats=n_repeats, random_state=seed, n_jobs=1)
    table = pd.DataFrame({"feature": X.columns, "importance": result.importances_mean,
                          "importance_std": result.importances_std}).sort_values("importance", ascending=False)
    rows = []
    for feature in table["feature"].head(top):
        bins = binned_churn_rates(X, y, feature)
        bins = bins[bins["bin"] != MISSING_BIN] if (bins["bin"] != MISSING_BIN).sum() >= 2 else bins
        numeric = pd.api.types.is_numeric_dtype(X[feature])
        low, high = bins.iloc[0], bins.iloc[-1]
        facts = dict(name=Capitalised(feature_label(feature)), high=bin_label(high["bin"]), high_rate=high["churn_rate"],
                     low=bin_label(low["bin"]), low_rate=low["churn_rate"])
        if numeric:
            direction = "higher value, more churn" if high["churn_rate"] > low["churn_rate"] else "higher value, less churn"
            if X[feature].nunique() <= 2:
                sentence = Message(N_("{name}: customers at {high} churn at {high_rate:.0%}, at {low} at "
                                      "{low_rate:.0%}."), **facts)
            else:
                sentence = Message(N_("{name}: customers in the highest group ({high}) churn at {high_rate:.0%}, in "
                                      "the lowest group ({low}) at {low_rate:.0%}."), **facts)
        else:
            direction = f"riskiest: {high['bin']}"
            sentence = Message(N_("{name}: '{high}' churns most ({high_rate:.0%}), '{low}' least ({low_rate:.0%})."),
                               **facts)
        rows.append({"feature": feature, "direction": direction, "low_rate": float(low["churn_rate"]),
                     "high_rate": float(high["churn_rate"]), "sentence": sentence})
    facts = pd.DataFrame(rows, columns=["feature", "direction", "low_rate", "high_rate", "sentence"])
    # object, not str: the sentences stay Messages, shown in the report's language
    facts["sentence"] = pd.Series([row["sentence"] for row in rows], index=facts.index, dtype=object)
    return table.merge(facts, on="feature", how="left").reset_index(drop=True)
