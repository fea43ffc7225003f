"""Churn prediction: labels, leakage-free features, scikit-learn models, evaluation, scoring.

Two modes, one output:

* **transactions** (non-contractual, purchase logs). A customer "churns" at a cutoff
  date when they bought before it but not within ``churn_window_days`` after it.
  Features are computed only from rows dated *before* the cutoff. Training is
  time-based: fit at an earlier cutoff, evaluate at a later one, score at ``as_of``::

      train cutoff ──window──> eval cutoff ──window──> as_of (+1 day) = scoring cutoff
      features < train cutoff  features < eval cutoff   features < scoring cutoff
      labels in train window   labels in eval window    (labels unknown: we predict them)

* **customer_table** (contractual / subscription). The customer table carries an
  explicit ``churned`` flag (telecom or bank style). Rows are split at random
  (stratified, seeded) into a training and an evaluation set; current customers are
  scored with out-of-fold predictions so no one is scored by a model that saw them.

Both modes compare a logistic-regression baseline and a gradient-boosting model
(scikit-learn Pipelines), pick one on training data only, report it on the
evaluation set next to two naive rules, explain the drivers, and rank current
customers by the value at risk (churn probability x CLV) into a retention list with a
seeded random control group.

Sources: churn as "no purchase in a window after a cutoff" and the time-split design
follow Fader & Hardie's non-contractual setting and the usual practice in Provost &
Fawcett, *Data Science for Business* (2013), ch. 7-8 (lift, cumulative gains,
expected value); P(alive) from the BG/NBD model (Fader, Hardie & Lee 2005, via
``lifetimes``); permutation importance from Breiman (2001) as implemented in
scikit-learn; prior correction for re-weighted classes from King & Zeng (2001),
"Logistic Regression in Rare Events Data".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from crmlib import clv as clv_models
from crmlib import segmentation
from crmlib.errors import ConfigError, DataError, ModelError, NotApplicableError

MODES = ("auto", "transactions", "customer_table")
LABEL = "churned"

#: Plain-words names of the purchase-log features (used in driver sentences).
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "days since the last purchase",
    "frequency": "number of purchase days",
    "monetary": "total spend",
    "avg_order_value": "average order value",
    "tenure_days": "days since the first purchase",
    "orders": "number of orders",
    "spend_last_90d": "spend in the last 90 days",
    "spend_prev_90d": "spend in the 90 days before that",
    "spend_trend": "spend trend (last 90 days vs the 90 before)",
    "orders_last_90d": "orders in the last 90 days",
    "orders_prev_90d": "orders in the 90 days before that",
    "orders_trend": "order trend (last 90 days vs the 90 before)",
    "gap_mean_days": "average days between purchases",
    "gap_std_days": "variability of days between purchases",
    "overdue_ratio": "days since last purchase relative to the usual gap",
    "distinct_products": "number of different products bought",
    "products_per_order": "different products per order",
    "items_per_order": "items per order",
    "return_rate": "share of spend returned",
    "p_alive": "probability the customer is still active (BTYD model)",
    "country": "country",
    "segment": "RFM segment",
}

#: Customer-table columns never used as features or shown (personal data, identifiers).
PII_PATTERN = re.compile(r"(customer_|full_|first_|last_|sur)?name|e_?mail(_address)?|(tele)?phone(_number)?|"
                         r"mobile(_number)?|(street_|postal_)?address|street|zip(_code)?|post_?code|iban")

TRUE_WORDS = {"yes", "y", "true", "t", "1", "1.0", "churned", "churn", "left"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "0.0", "stayed", "active", "retained"}
BLANK_WORDS = {"", "na", "n/a", "nan", "none", "null", "-", "?"}

RISK_BANDS = (0.3, 0.6)  # low < 0.3 <= medium < 0.6 <= high


# ============================================================ dirty values (stated rules)
def _blank_to_na(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.mask(text.str.lower().isin(BLANK_WORDS))


def parse_flag(series: pd.Series, column: str = "churned", *, strict: bool = True) -> pd.Series:
    """Read a yes/no column as 1.0 / 0.0 (NaN when blank).

    Rules: 1. case and surrounding spaces are ignored; 2. yes/y/true/t/1 (and
    churned/left) mean 1, no/n/false/f/0 (and stayed/active/retained) mean 0;
    3. blanks, "NA", "null", "-" and "?" are missing; 4. booleans and numbers 0/1 are
    taken as they are; 5. anything else raises :class:`DataError` naming examples
    (``strict=True``) or becomes missing (``strict=False``).
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    text = _blank_to_na(series).str.lower()
    out = pd.Series(np.nan, index=series.index, dtype="float64")
    out[text.isin(TRUE_WORDS).fillna(False).astype(bool)] = 1.0
    out[text.isin(FALSE_WORDS).fillna(False).astype(bool)] = 0.0
    bad = text.notna() & out.isna()
    if bad.any() and strict:
        raise DataError(
            "values are not a yes/no flag",
            column=column,
            examples=[repr(v) for v in series[bad].unique()[:5]],
            hint="use yes/no, true/false or 1/0 (blank = unknown)",
        )
    return out


def _is_flag_column(text: pd.Series) -> bool:
    values = set(text.dropna().str.lower().unique())
    return 0 < len(values) <= 2 and values <= (TRUE_WORDS | FALSE_WORDS)


def clean_customer_table(customers: pd.DataFrame, *, label: str = LABEL) -> tuple[pd.DataFrame, list[str]]:
    """Turn a raw customer table into model-ready columns; return it and the rules applied.

    Rules (each applied column by column, stated in the returned notes):
    1. column names become snake_case; ``customer_id`` is kept as a string key;
    2. columns that look like personal data (name, e-mail, phone, address) are dropped;
    3. the label ``churned`` is read with :func:`parse_flag` (rows with a blank label
       are dropped, with a note);
    4. text columns whose values are all yes/no-like become 1/0 flags;
    5. text columns where at least 90 % of the non-blank values are numbers become
       numbers; blanks (e.g. " " in a charges column) and the rest become missing and
       are imputed by the model pipeline (median for the linear model);
    6. date columns become "days before the latest date in the column";
    7. other text columns are categories; those with more than 50 values, or (from 20
       rows on) more than half as many values as rows, are identifiers and are dropped.
    """
    notes: list[str] = []
    frame = customers.copy()
    frame.columns = [re.sub(r"[^0-9a-z]+", "_", str(c).strip().lower()).strip("_") for c in frame.columns]
    if "customer_id" not in frame.columns:
        raise DataError("the customer table has no customer_id column", column="customer_id",
                        hint="map it in workbook.yml under customers.columns")
    frame["customer_id"] = _blank_to_na(frame["customer_id"]).str.replace(r"\.0$", "", regex=True)
    frame = frame[frame["customer_id"].notna()].drop_duplicates("customer_id", keep="last")
    pii = [c for c in frame.columns if c != "customer_id" and PII_PATTERN.fullmatch(c)]
    if pii:
        frame = frame.drop(columns=pii)
        notes.append(f"Dropped personal-data columns: {', '.join(pii)}.")
    if label in frame.columns:
        frame[label] = parse_flag(frame[label], label)
        blank = int(frame[label].isna().sum())
        if blank:
            frame = frame[frame[label].notna()]
            notes.append(f"Dropped {blank} customers with a blank '{label}' value.")
    for col in [c for c in frame.columns if c not in ("customer_id", label)]:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            frame[col] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            frame[col] = (s.max() - s).dt.days.astype("float64")
            notes.append(f"'{col}': dates turned into days before the latest date.")
        elif pd.api.types.is_numeric_dtype(s):
            frame[col] = s.astype("float64")
        else:
            text = _blank_to_na(s)
            n_blank = int((text.isna() & s.notna()).sum())
            if _is_flag_column(text):
                frame[col] = parse_flag(text, col)
                continue
            number = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
            filled = int(text.notna().sum())
            if filled and number.notna().sum() >= 0.9 * filled:
                bad = int((text.notna() & number.isna()).sum())
                frame[col] = number.astype("float64")
                if n_blank or bad:
                    notes.append(f"'{col}': {n_blank} blank and {bad} unreadable values treated as missing.")
                continue
            n_values = text.nunique()
            if n_values > 50 or (len(frame) >= 20 and n_values > 0.5 * len(frame)):
                frame = frame.drop(columns=col)
                notes.append(f"'{col}': {n_values} distinct text values, treated as an identifier and dropped.")
            else:
                frame[col] = text.fillna("missing").astype(str)
    return frame.reset_index(drop=True), notes


# ============================================================ labels and features
def _customer_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    missing = {"customer_id", "invoice_id", "invoice_date", "amount"} - set(transactions.columns)
    if missing:
        raise DataError("transactions lack required columns", column=sorted(missing)[0])
    tx = transactions[transactions["customer_id"].notna()]
    if not pd.api.types.is_datetime64_any_dtype(tx["invoice_date"]):
        raise DataError("invoice_date is not a date column", column="invoice_date")
    return tx


def churn_labels(transactions: pd.DataFrame, cutoff: Any, churn_window_days: int,
                 population: pd.Index) -> pd.Series:
    """1 when a customer of ``population`` makes no purchase in [cutoff, cutoff + window).

    Assumptions: 1. churn in a non-contractual business is unobserved, so we use the
    operational proxy "no purchase within the window"; 2. the window is fully
    observed (the caller ensures cutoff + window <= the last data day + 1).
    """
    cutoff = pd.Timestamp(cutoff)
    tx = _customer_rows(transactions)
    dates = tx["invoice_date"]
    inside = tx.loc[(dates >= cutoff) & (dates < cutoff + pd.Timedelta(days=churn_window_days)), "customer_id"]
    bought = pd.Index(population).isin(inside.astype(str).unique())
    return pd.Series((~bought).astype(int), index=pd.Index(population, name="customer_id"), name=LABEL)


def purchase_features(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    active_days: int = 365,
    customers: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
    with_p_alive: bool = True,
    segment_map: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Features of every customer active before ``cutoff``, from rows dated before it.

    Active = at least one purchase in the ``active_days`` before the cutoff. Only rows
    with ``invoice_date < cutoff`` are read (the no-leakage test perturbs later rows
    and checks nothing changes). RFM columns come from
    :func:`crmlib.segmentation.customer_summary`; on top: spend and order trends
    (last 90 days vs the 90 before), inter-purchase gaps, basket breadth, return rate
    (when ``returns`` is given), P(alive) from a BTYD fit at the cutoff (:func:`p_alive`),
    the RFM segment at the cutoff, country,
    and the cleaned customer-table attributes (see :func:`clean_customer_table`;
    they are assumed to be known at the cutoff - the caller must not pass
    attributes measured later).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    tx = _customer_rows(transactions)
    tx = tx[tx["invoice_date"] < cutoff].copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    if tx.empty:
        raise DataError(f"no purchases before the cutoff {cutoff.date()}", column="invoice_date")
    last_day = cutoff - pd.Timedelta(days=1)
    summary = segmentation.customer_summary(tx, last_day)
    summary.index = summary.index.astype(str)
    summary = summary[summary["last_purchase"] >= cutoff - pd.Timedelta(days=active_days)]
    keep = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders"]
    feats = summary[keep].astype("float64")
    tx = tx[tx["customer_id"].isin(feats.index)]

    # trends: last 90 days vs the 90 before
    age = (cutoff - tx["invoice_date"]).dt.days
    for name, lo, hi in (("last_90d", 0, 90), ("prev_90d", 90, 180)):
        part = tx[(age >= lo) & (age < hi)].groupby("customer_id")
        feats[f"spend_{name}"] = part["amount"].sum().reindex(feats.index).fillna(0.0)
        feats[f"orders_{name}"] = part["invoice_id"].nunique().reindex(feats.index).fillna(0).astype("float64")
    for what in ("spend", "orders"):
        last, prev = feats[f"{what}_last_90d"], feats[f"{what}_prev_90d"]
        feats[f"{what}_trend"] = ((last - prev) / (last + prev)).where(last + prev > 0, 0.0)

    # inter-purchase gaps on distinct purchase days
    days = tx[["customer_id"]].assign(day=tx["invoice_date"].dt.normalize()).drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days.dropna()
    gap_by = gaps.groupby(days.loc[gaps.index, "customer_id"])
    feats["gap_mean_days"] = gap_by.mean().reindex(feats.index)
    feats["gap_std_days"] = gap_by.std().reindex(feats.index)
    feats["overdue_ratio"] = feats["recency_days"] / feats["gap_mean_days"].where(feats["gap_mean_days"] > 0)

    # basket breadth
    by = tx.groupby("customer_id")
    if "product_id" in tx.columns:
        feats["distinct_products"] = by["product_id"].nunique().reindex(feats.index).astype("float64")
        feats["products_per_order"] = feats["distinct_products"] / feats["orders"].where(feats["orders"] > 0)
    if "quantity" in tx.columns:
        feats["items_per_order"] = by["quantity"].sum().reindex(feats.index) / feats["orders"].where(feats["orders"] > 0)
    if returns is not None and len(returns):
        ret = returns[returns["customer_id"].notna() & (pd.to_datetime(returns["invoice_date"]) < cutoff)]
        returned = ret.assign(customer_id=ret["customer_id"].astype(str)).groupby("customer_id")["amount"].sum().abs()
        feats["return_rate"] = (returned.reindex(feats.index).fillna(0.0) / feats["monetary"]).clip(0, 1)
    if with_p_alive:
        feats["p_alive"] = p_alive(summary)
    feats["segment"] = segmentation.assign_segments(segmentation.rfm_scores(summary), segment_map).astype(str)
    if "country" in tx.columns:  # the country of the customer's latest row
        latest = tx.sort_values("invoice_date").drop_duplicates("customer_id", keep="last")
        feats["country"] = latest.set_index("customer_id")["country"].reindex(feats.index).fillna("unknown").astype(str)
    if customers is not None:
        attrs = customers.drop(columns=[LABEL], errors="ignore").set_index("customer_id")
        attrs = attrs.drop(columns=[c for c in attrs.columns if c in feats.columns])  # purchase data wins
        attrs.index = attrs.index.astype(str)
        feats = feats.join(attrs, how="left")
    feats.index.name = "customer_id"
    return feats


#: P(alive) is used as a model feature only when its 10th-90th percentile spread reaches this
P_ALIVE_MIN_SPREAD = 0.01


def _spread(values: pd.Series) -> float:
    return float(values.quantile(0.9) - values.quantile(0.1)) if values.notna().any() else 0.0


#: BTYD models tried for P(alive), in order: the first that converges is used.
P_ALIVE_LADDER: tuple[tuple[str, float], ...] = (("bgnbd", 0.0), ("bgnbd", 0.01), ("pareto_nbd", 0.01))


def p_alive(summary: pd.DataFrame) -> pd.Series:
    """P(alive) of each customer from a BTYD model fitted on ``summary``'s ``btyd_*`` columns.

    Fits with :func:`crmlib.clv.fit_model` (weighted unique rows) down
    :data:`P_ALIVE_LADDER`: BG/NBD, BG/NBD with a penalizer, Pareto/NBD; the first
    model that converges is used. Assumptions (Fader, Hardie & Lee 2005;
    Schmittlein et al. 1987): 1. while alive, a customer buys at a steady Poisson
    rate; 2. customers drop out for good at an unobserved time (after a purchase for
    BG/NBD, at any time for Pareto/NBD); 3. rates and dropout propensities vary
    between customers (gamma / beta mixing). Returns NaN everywhere when no model
    converges (the caller then leaves P(alive) out and says so).
    """
    data = summary[["btyd_frequency", "btyd_recency", "btyd_T"]].rename(columns=lambda c: c[len("btyd_"):])
    for model, penalizer in P_ALIVE_LADDER:
        fit = clv_models.fit_model(data.astype("float64"), model, penalizer=penalizer)
        if fit.usable:
            return fit.p_alive().rename("p_alive")
    return pd.Series(np.nan, index=summary.index, name="p_alive")


@dataclass
class Snapshot:
    """Features ``X`` and labels ``y`` (1 = churned) of one cutoff."""

    cutoff: pd.Timestamp
    X: pd.DataFrame
    y: pd.Series | None


def transaction_snapshot(transactions: pd.DataFrame, cutoff: Any, churn_window_days: int,
                         *, labelled: bool = True, **feature_kwargs: Any) -> Snapshot:
    """Features at ``cutoff`` and (when ``labelled``) churn labels over the next window."""
    X = purchase_features(transactions, cutoff, **feature_kwargs)
    y = churn_labels(transactions, cutoff, churn_window_days, X.index) if labelled else None
    return Snapshot(pd.Timestamp(cutoff), X, y)


def churn_rate_trend(transactions: pd.DataFrame, as_of: Any, churn_window_days: int = 90,
                     active_days: int = 365) -> pd.DataFrame:
    """Churn rate at each month start whose window is fully observed by ``as_of``.

    For cutoff c: among customers with a purchase in [c - active_days, c), the share
    with no purchase in [c, c + window). Returns cutoff, active_customers, churned,
    churn_rate.
    """
    tx = _customer_rows(transactions)
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    window = pd.Timedelta(days=churn_window_days)
    day = tx["invoice_date"].dt.normalize()
    cutoffs = pd.date_range(day.min() + pd.offsets.MonthBegin(1), end - window, freq="MS")
    rows = []
    for c in cutoffs:
        before = tx.loc[(day < c) & (day >= c - pd.Timedelta(days=active_days)), "customer_id"].unique()
        after = tx.loc[(day >= c) & (day < c + window), "customer_id"].unique()
        active = pd.Index(before)
        churned = int((~active.isin(after)).sum())
        rows.append({"cutoff": c, "active_customers": len(active), "churned": churned,
                     "churn_rate": churned / len(active) if len(active) else np.nan})
    return pd.DataFrame(rows, columns=["cutoff", "active_customers", "churned", "churn_rate"])


# ============================================================ models
def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class PriorCorrectedClassifier(ClassifierMixin, BaseEstimator):
    """Fit with balanced class weights, then correct probabilities back to the real base rate.

    Assumptions: 1. weighting the classes equally is like training on a sample with a
    50 % churn rate; 2. the model's odds then differ from the true odds by the factor
    (1 - base rate) / base rate, which we undo (King & Zeng 2001, prior correction).
    This keeps the ranking of the weighted model and gives probabilities usable in
    "probability x value" sums.
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "PriorCorrectedClassifier":
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            raise ModelError("the training labels hold one class only: nobody (or everybody) churned")
        with threadpool_limits(limits=1):  # OpenMP threads thrash on a busy machine; one is faster
            self.estimator_ = clone(self.estimator).fit(X, y)
        self.base_rate_ = float(y.mean())
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1):
            p = np.clip(self.estimator_.predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
        odds = p / (1 - p) * self.base_rate_ / (1 - self.base_rate_)
        p1 = odds / (1 + odds)
        return np.column_stack([1 - p1, p1])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def make_models(X: pd.DataFrame, seed: int = 0) -> dict[str, PriorCorrectedClassifier]:
    """The two candidate Pipelines for the columns of ``X``.

    * ``logistic_regression``: numbers -> median imputation (+ missing flags) ->
      signed log -> standardisation; categories -> one-hot (rare levels pooled);
      L2-regularised logistic regression.
    * ``gradient_boosting``: numbers as they are (missing values handled natively),
      categories one-hot; HistGradientBoostingClassifier, shallow and regularised.

    Both use balanced class weights with prior correction (see
    :class:`PriorCorrectedClassifier`) and a fixed ``random_state``.
    """
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False)
    linear = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                          ("log", FunctionTransformer(_signed_log)),
                          ("scale", StandardScaler())]), numeric),
        ("cat", onehot, categorical),
    ])
    trees = ColumnTransformer([("num", "passthrough", numeric), ("cat", clone(onehot), categorical)])
    return {
        "logistic_regression": PriorCorrectedClassifier(Pipeline([
            ("prepare", linear),
            ("model", LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)),
        ])),
        "gradient_boosting": PriorCorrectedClassifier(Pipeline([
            ("prepare", trees),
            ("model", HistGradientBoostingClassifier(
                learning_rate=0.06, max_iter=150, max_leaf_nodes=15, min_samples_leaf=40,
                l2_regularization=1.0, class_weight="balanced", early_stopping=False, random_state=seed)),
        ])),
    }


# ============================================================ metrics
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
    """Confusion counts and rates when customers with ``flagged`` true are called churners."""
    y = np.asarray(y_true).astype(bool)
    f = np.asarray(flagged).astype(bool)
    tp, fp = int((y & f).sum()), int((~y & f).sum())
    fn, tn = int((y & ~f).sum()), int((~y & ~f).sum())
    return {"true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "flagged_share": (tp + fp) / len(y) if len(y) else None}


# ============================================================ drivers
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
            key = bins.map(names).astype(object).where(values.notna(), "missing")
            order = list(names.values()) + ["missing"]
    if order is None:
        key = values.astype(object).where(values.notna(), "missing")
        key = key.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
        if pd.api.types.is_numeric_dtype(values):
            order = [f"{v:g}" for v in sorted(values.dropna().unique())] + ["missing"]
    table = (pd.DataFrame({"bin": key.to_numpy(), "churned": np.asarray(y)})
             .groupby("bin", sort=False)["churned"].agg(customers="size", churn_rate="mean"))
    if order is not None:
        table = table.reindex([b for b in order if b in table.index])
    else:
        table = table.sort_values("churn_rate")
    return table.reset_index()


def feature_label(feature: str) -> str:
    """A feature's plain-words name."""
    return FEATURE_LABELS.get(feature, feature.replace("_", " "))


def explain_drivers(model: Any, X: pd.DataFrame, y: pd.Series, *, top: int = 5, seed: int = 0,
                    n_repeats: int = 3) -> pd.DataFrame:
    """Permutation importance on the evaluation set plus the direction of each top driver.

    importance = mean drop in ROC-AUC when the feature's values are shuffled
    (Breiman 2001; scikit-learn ``permutation_importance``). Direction comes from
    binned churn rates (:func:`binned_churn_rates`): for numbers, churn rate in the
    highest vs the lowest fifth; for categories, the riskiest vs the safest level.
    Returns feature, importance, importance_std, direction, low_rate, high_rate,
    sentence (plain words), sorted by importance.
    """
    result = permutation_importance(model, X, np.asarray(y).astype(int), scoring="roc_auc",
                                    n_repeats=n_repeats, random_state=seed, n_jobs=1)
    table = pd.DataFrame({"feature": X.columns, "importance": result.importances_mean,
                          "importance_std": result.importances_std}).sort_values("importance", ascending=False)
    rows = []
    for feature in table["feature"].head(top):
        bins = binned_churn_rates(X, y, feature)
        bins = bins[bins["bin"] != "missing"] if (bins["bin"] != "missing").sum() >= 2 else bins
        numeric = pd.api.types.is_numeric_dtype(X[feature])
        low, high = bins.iloc[0], bins.iloc[-1]
        name = feature_label(feature)
        if numeric:
            direction = "higher value, more churn" if high["churn_rate"] > low["churn_rate"] else "higher value, less churn"
            if X[feature].nunique() <= 2:
                sentence = (f"{name[0].upper() + name[1:]}: customers at {high['bin']} churn at {high['churn_rate']:.0%}, "
                            f"at {low['bin']} at {low['churn_rate']:.0%}.")
            else:
                sentence = (f"{name[0].upper() + name[1:]}: customers in the highest group ({high['bin']}) churn at "
                            f"{high['churn_rate']:.0%}, in the lowest group ({low['bin']}) at {low['churn_rate']:.0%}.")
        else:
            direction = f"riskiest: {high['bin']}"
            sentence = (f"{name[0].upper() + name[1:]}: '{high['bin']}' churns most ({high['churn_rate']:.0%}), "
                        f"'{low['bin']}' least ({low['churn_rate']:.0%}).")
        rows.append({"feature": feature, "direction": direction, "low_rate": float(low["churn_rate"]),
                     "high_rate": float(high["churn_rate"]), "sentence": sentence})
    return table.merge(pd.DataFrame(rows, columns=["feature", "direction", "low_rate", "high_rate", "sentence"]),
                       on="feature", how="left").reset_index(drop=True)


# ============================================================ scoring and targets
def risk_tier(probability: Any) -> pd.Series:
    """low (< 30 %), medium (30-60 %), high (>= 60 %) churn probability."""
    p = pd.Series(np.asarray(probability, dtype="float64"))
    return pd.Series(pd.cut(p, [-np.inf, RISK_BANDS[0], RISK_BANDS[1], np.inf], right=False,
                            labels=["low", "medium", "high"]).astype(str).to_numpy(), index=getattr(probability, "index", None))


def retention_targets(scores: pd.DataFrame, *, threshold: float, control_share: float = 0.10,
                      seed: int = 0, max_targets: int | None = None) -> pd.DataFrame:
    """Ranked retention list with a seeded random control group.

    Rules: 1. customers whose churn probability is at least ``threshold`` are listed;
    2. ranked by value at risk, highest first (ties: higher probability first);
    3. cut to ``max_targets`` when given; 4. within each risk tier, a random
    ``control_share`` (seeded) is marked ``group = "control"``: they are *not* contacted,
    so the campaign's effect can be measured later as the churn-rate difference
    between target and control.
    """
    if not 0 <= control_share < 1:
        raise ConfigError(f"control_share must be between 0 and 1 (got {control_share})")
    listed = scores[scores["churn_probability"] >= threshold]
    listed = listed.sort_values(["value_at_risk", "churn_probability", "customer_id"], ascending=[False, False, True])
    if max_targets is not None:
        listed = listed.head(int(max_targets))
    listed = listed.reset_index(drop=True)
    listed.insert(0, "rank", np.arange(1, len(listed) + 1))
    draw = np.random.default_rng(seed).random(len(listed))
    order = pd.Series(draw).groupby(listed["risk_tier"].to_numpy()).rank(method="first")
    size = listed.groupby("risk_tier")["customer_id"].transform("size")
    listed["group"] = np.where(order.to_numpy() <= np.round(size.to_numpy() * control_share), "control", "target")
    return listed


# ============================================================ one run
@dataclass
class ChurnResult:
    """Everything notebook 04 shows and writes."""

    mode: str
    chosen_model: str
    threshold: float
    evaluation: dict[str, dict[str, Any]]         # model/baseline name -> roc_auc, pr_auc
    lift: pd.DataFrame                             # decile table of the chosen model
    baseline_lift: dict[str, pd.DataFrame]
    calibration: pd.DataFrame
    confusion: dict[str, Any]
    baseline_confusion: dict[str, Any]
    drivers: pd.DataFrame
    driver_bins: dict[str, pd.DataFrame]
    scores: pd.DataFrame                           # customer_id, churn_probability, risk_tier, value_at_risk, ...
    targets: pd.DataFrame
    churn_rate: float
    eval_customers: int
    train_customers: int
    cutoffs: dict[str, str]
    trend: pd.DataFrame | None
    value_basis: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    window_days: int | None = None                 # transactions mode: the churn window
    active_days: int | None = None                 # transactions mode: "active" look-back

    def metrics(self) -> dict[str, Any]:
        """The headline numbers for ``metrics/04_churn.json`` (evaluation-set figures)."""
        chosen = self.evaluation[self.chosen_model]
        base = {k: {"roc_auc": v["roc_auc"], "pr_auc": v["pr_auc"]} for k, v in self.evaluation.items()
                if k in ("recency", "p_alive", "tenure")}
        for k in ("recency", "p_alive"):
            base.setdefault(k, {"roc_auc": None, "pr_auc": None})
        return {
            "mode": self.mode,
            "chosen_model": self.chosen_model,
            "roc_auc": chosen["roc_auc"],
            "pr_auc": chosen["pr_auc"],
            "models": {k: v for k, v in self.evaluation.items() if k in ("logistic_regression", "gradient_boosting")},
            "baselines": base,
            "beats_baselines": self.beats_baselines(),
            "churn_rate": self.churn_rate,
            "threshold": self.threshold,
            "confusion": self.confusion,
            "top_decile_lift": float(self.lift["lift"].iloc[0]),
            "eval_customers": self.eval_customers,
            "train_customers": self.train_customers,
            "cutoffs": self.cutoffs,
            "top_drivers": self.drivers["feature"].head(5).tolist(),
            "top_driver_sentences": self.drivers["sentence"].dropna().head(3).tolist(),
            "scored_customers": int(len(self.scores)),
            "targets": int((self.targets["group"] == "target").sum()),
            "control": int((self.targets["group"] == "control").sum()),
            "value_at_risk_total": float(self.scores["value_at_risk"].sum()),
            "value_basis": self.value_basis,
            "warnings": list(self.warnings),
        }

    def beats_baselines(self) -> dict[str, float | None]:
        """ROC-AUC margin of the chosen model over each available baseline (positive = better)."""
        mine = self.evaluation[self.chosen_model]["roc_auc"]
        return {k: (None if v["roc_auc"] is None or mine is None else mine - v["roc_auc"])
                for k, v in self.evaluation.items() if k in ("recency", "p_alive", "tenure")}


def choose_mode(mode: str, customers: pd.DataFrame | None) -> str:
    """``auto`` -> ``customer_table`` when the customer table has a churn column, else ``transactions``."""
    if mode not in MODES:
        raise ConfigError(f"mode: '{mode}' is not one of {', '.join(MODES)}")
    has_label = customers is not None and LABEL in [re.sub(r"[^0-9a-z]+", "_", str(c).strip().lower()).strip("_")
                                                    for c in customers.columns]
    if mode == "customer_table" and not has_label:
        raise ConfigError("mode customer_table needs a customer table with a 'churned' column "
                          "(set customers.path and map the churn column in workbook.yml)")
    if mode == "auto":
        return "customer_table" if has_label else "transactions"
    return mode


def _select_and_fit(X: pd.DataFrame, y: pd.Series, seed: int, notes: list[str]) -> tuple[str, Any, float, dict]:
    """Pick the model with the best out-of-fold ROC-AUC on the training data; fit it."""
    models = make_models(X, seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    oof, cv = {}, {}
    for name, model in models.items():
        oof[name] = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
        cv[name] = score_quality(y, oof[name])["roc_auc"]
    chosen = max(cv, key=lambda k: (cv[k], k == "logistic_regression"))
    threshold = best_threshold(y, oof[chosen])
    notes.append("Cross-validated ROC-AUC on the training data: "
                 + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in cv.items())
                 + f"; chosen: {chosen.replace('_', ' ')}.")
    fitted = {name: model.fit(X, y) for name, model in models.items()}
    return chosen, fitted, threshold, oof


def run_churn(
    transactions: pd.DataFrame | None,
    as_of: Any,
    *,
    customers: pd.DataFrame | None = None,
    clv: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
    mode: str = "auto",
    churn_window_days: int = 90,
    active_days: int = 365,
    control_share: float = 0.10,
    max_targets: int | None = None,
    seed: int = 0,
    segment_map: dict[str, dict[str, Any]] | None = None,
) -> ChurnResult:
    """Train, evaluate, explain and score churn in one call (what notebook 04 runs).

    ``clv`` is the ``customers_clv.parquet`` frame of notebook 03 (``customer_id``,
    ``clv``); without it, value at risk uses spend in the last 365 days (transactions
    mode) or 12 x monthly charges (customer-table mode) and says so. ``segment_map``
    (from :func:`crmlib.segmentation.load_segment_map`) names the RFM segment feature as
    the segmentation page does; ``None`` = the default map.
    """
    if churn_window_days < 7:
        raise ConfigError(f"churn_window_days must be at least 7 (got {churn_window_days})")
    mode = choose_mode(mode, customers)
    warnings: list[str] = []
    notes: list[str] = []
    table, table_notes = (clean_customer_table(customers) if customers is not None else (None, []))
    notes += table_notes
    as_of = pd.Timestamp(as_of).normalize()
    if mode == "transactions":
        return _run_transactions(transactions, as_of, table, clv, returns, churn_window_days, active_days,
                                 control_share, max_targets, seed, warnings, notes, segment_map)
    return _run_table(transactions, as_of, table, clv, control_share, max_targets, seed, warnings, notes)


def _evaluate(chosen: str, fitted: dict, X: pd.DataFrame, y: pd.Series, threshold: float,
              baselines: dict[str, pd.Series], baseline_flags: dict[str, pd.Series], seed: int) -> dict[str, Any]:
    scores = {**{name: m.predict_proba(X)[:, 1] for name, m in fitted.items()}, **baselines}
    evaluation = {name: {**score_quality(y, score), "top_decile_lift": float(lift_table(y, score)["lift"].iloc[0])}
                  for name, score in scores.items()}
    probability = fitted[chosen].predict_proba(X)[:, 1]
    drivers = explain_drivers(fitted[chosen], X, y, seed=seed)
    return {
        "evaluation": evaluation,
        "lift": lift_table(y, probability),
        "baseline_lift": {k: lift_table(y, v) for k, v in baselines.items()},
        "calibration": calibration_table(y, probability),
        "confusion": {**confusion_at(y, probability >= threshold), "threshold": threshold},
        "baseline_confusion": {k: confusion_at(y, v) for k, v in baseline_flags.items()},
        "drivers": drivers,
        "driver_bins": {f: binned_churn_rates(X, y, f) for f in drivers["feature"].head(5)},
        "churn_rate": float(np.mean(y)),
    }


def _value(ids: pd.Index, clv: pd.DataFrame | None, fallback: pd.Series | None, fallback_basis: str,
           warnings: list[str]) -> tuple[pd.Series, str]:
    if clv is not None and {"customer_id", "clv"} <= set(clv.columns):
        values = clv.assign(customer_id=clv["customer_id"].astype(str)).set_index("customer_id")["clv"]
        values = values.reindex(ids)
        if values.notna().mean() >= 0.5:
            missing = int(values.isna().sum())
            if missing:
                warnings.append(f"{missing} scored customers have no CLV from notebook 03; their value at risk uses {fallback_basis} instead.")
                if fallback is not None:
                    values = values.fillna(fallback.reindex(ids))
            return values.fillna(0.0), "CLV from notebook 03"
    if fallback is None:
        warnings.append("No CLV and no spend figure: value at risk is the churn probability itself (expected lost customers).")
        return pd.Series(1.0, index=ids), "one customer"
    warnings.append(f"Notebook 03 (CLV) results are not available, so value at risk = churn probability x {fallback_basis}.")
    return fallback.reindex(ids).fillna(0.0), fallback_basis


def _scores(ids: pd.Index, probability: np.ndarray, value: pd.Series, extra: dict[str, Any]) -> pd.DataFrame:
    scores = pd.DataFrame({"customer_id": ids.astype(str), "churn_probability": probability})
    scores["risk_tier"] = risk_tier(scores["churn_probability"]).to_numpy()
    scores["value"] = value.reindex(ids).to_numpy()
    scores["value_at_risk"] = scores["churn_probability"] * scores["value"]
    for k, v in extra.items():
        scores[k] = pd.Series(v).reindex(ids).to_numpy()
    return scores.sort_values("value_at_risk", ascending=False).reset_index(drop=True)


def _run_transactions(transactions, as_of, table, clv, returns, window, active_days, control_share,
                      max_targets, seed, warnings, notes, segment_map=None) -> ChurnResult:
    if transactions is None or transactions.empty:
        raise DataError("transactions mode needs transactions with customer ids")
    score_cutoff = as_of + pd.Timedelta(days=1)
    eval_cutoff = score_cutoff - pd.Timedelta(days=window)
    train_cutoff = eval_cutoff - pd.Timedelta(days=window)
    first = _customer_rows(transactions)["invoice_date"].min()
    if train_cutoff - first < pd.Timedelta(days=60):
        raise NotApplicableError(
            f"a churn model with a {window}-day window needs history from at least 60 days before its "
            f"training date ({train_cutoff.date()}), and the data start {first.date()}; "
            "a later period or a shorter churn_window_days makes it possible")
    kwargs = {"active_days": active_days, "customers": table, "returns": returns, "segment_map": segment_map}
    train = transaction_snapshot(transactions, train_cutoff, window, **kwargs)
    evals = transaction_snapshot(transactions, eval_cutoff, window, **kwargs)
    X_train, X_eval = train.X, evals.X.reindex(columns=train.X.columns)
    has_p_alive = X_train["p_alive"].notna().any() and X_eval["p_alive"].notna().any()
    if not has_p_alive:
        warnings.append("No BTYD model behind P(alive) converged at a cutoff; P(alive) is left out as a feature "
                        "and as a baseline.")
    if not has_p_alive or min(_spread(X_train["p_alive"]), _spread(X_eval["p_alive"])) < P_ALIVE_MIN_SPREAD:
        if has_p_alive:
            notes.append("P(alive) is nearly the same for everyone (the BTYD model found almost no drop-out in this "
                         "data), so it is used only as the naive baseline, not as a model feature: its tiny "
                         "differences would mean different things at the two cutoffs.")
        X_train, X_eval = X_train.drop(columns="p_alive"), X_eval.drop(columns="p_alive")
    chosen, fitted, threshold, _ = _select_and_fit(X_train, train.y, seed, notes)
    baselines = {"recency": X_eval["recency_days"]}
    flags = {"recency": X_eval["recency_days"] > window}
    if has_p_alive:
        baselines["p_alive"] = 1 - evals.X["p_alive"]
        flags["p_alive"] = evals.X["p_alive"] < 0.5
    ev = _evaluate(chosen, fitted, X_eval, evals.y, threshold, baselines, flags, seed)
    # final model: refit on the latest fully labelled cutoff, score today
    final = make_models(X_eval, seed)[chosen].fit(X_eval, evals.y)
    today = transaction_snapshot(transactions, score_cutoff, window, labelled=False,
                                 with_p_alive="p_alive" in X_eval.columns, **kwargs)
    X_today = today.X.reindex(columns=X_eval.columns)
    probability = final.predict_proba(X_today)[:, 1]
    tx = _customer_rows(transactions)
    recent = tx[(tx["invoice_date"] < score_cutoff) & (tx["invoice_date"] >= score_cutoff - pd.Timedelta(days=365))]
    spend = recent.assign(customer_id=recent["customer_id"].astype(str)).groupby("customer_id")["amount"].sum()
    value, basis = _value(X_today.index, clv, spend, "spend in the last 12 months", warnings)
    scores = _scores(X_today.index, probability, value,
                     {"recency_days": X_today["recency_days"], "monetary": X_today["monetary"]})
    targets = retention_targets(scores, threshold=threshold, control_share=control_share, seed=seed,
                                max_targets=max_targets)
    _quality_warnings(ev, chosen, warnings)
    return ChurnResult(
        mode="transactions", chosen_model=chosen, threshold=threshold, scores=scores, targets=targets,
        eval_customers=len(X_eval), train_customers=len(X_train),
        cutoffs={"train": str(train_cutoff.date()), "evaluation": str(eval_cutoff.date()),
                 "scoring": str(score_cutoff.date())},
        trend=churn_rate_trend(transactions, as_of, window, active_days), value_basis=basis,
        warnings=warnings, notes=notes, window_days=window, active_days=active_days, **ev)


def _run_table(transactions, as_of, table, clv, control_share, max_targets, seed, warnings, notes) -> ChurnResult:
    data = table.set_index("customer_id")
    y = data.pop(LABEL).astype(int)
    X = data
    if X.shape[1] == 0:
        raise DataError("the customer table has no usable attribute columns besides the churn flag")
    if y.nunique() < 2 or y.value_counts().min() < 20:
        raise DataError("the churn flag needs at least 20 churned and 20 retained customers", column=LABEL)
    X_train, X_eval, y_train, y_eval = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    notes.append("Subscription data has no time axis here, so the evaluation set is a random, stratified 25 % "
                 "of customers held out from training.")
    chosen, fitted, threshold, _ = _select_and_fit(X_train, y_train, seed, notes)
    tenure = next((c for c in X.columns if "tenure" in c and pd.api.types.is_numeric_dtype(X[c])), None)
    baselines, flags = {}, {}
    if tenure:
        baselines["tenure"] = -X_eval[tenure]
        flags["tenure"] = X_eval[tenure] < X_train[tenure].median()
    if transactions is not None and len(transactions):
        warnings.append("Subscription mode: the recency and P(alive) baselines need purchase dates per "
                        "subscriber and are not computed; the short-tenure rule is the naive baseline.")
    else:
        warnings.append("Subscription mode: no purchase history, so the recency and P(alive) baselines are "
                        "not available; the short-tenure rule is the naive baseline.")
    ev = _evaluate(chosen, fitted, X_eval, y_eval, threshold, baselines, flags, seed)
    # score current subscribers out of fold: nobody is scored by a model that saw them
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    oof = cross_val_predict(make_models(X, seed)[chosen], X, y, cv=folds, method="predict_proba")[:, 1]
    current = y.index[y.to_numpy() == 0]
    probability = pd.Series(oof, index=X.index).reindex(current).to_numpy()
    monthly = next((c for c in X.columns if "monthly" in c and pd.api.types.is_numeric_dtype(X[c])), None)
    fallback = (X[monthly] * 12) if monthly else None
    value, basis = _value(current, clv, fallback, f"12 x {monthly}" if monthly else "", warnings)
    extra = {tenure: X[tenure]} if tenure else {}
    scores = _scores(current, probability, value, extra)
    targets = retention_targets(scores, threshold=threshold, control_share=control_share, seed=seed,
                                max_targets=max_targets)
    _quality_warnings(ev, chosen, warnings)
    return ChurnResult(
        mode="customer_table", chosen_model=chosen, threshold=threshold, scores=scores, targets=targets,
        eval_customers=len(X_eval), train_customers=len(X_train), cutoffs={"as_of": str(as_of.date())},
        trend=None, value_basis=basis, warnings=warnings, notes=notes, **ev)


def _quality_warnings(ev: dict[str, Any], chosen: str, warnings: list[str]) -> None:
    mine = ev["evaluation"][chosen]["roc_auc"]
    for name in ("recency", "p_alive", "tenure"):
        other = ev["evaluation"].get(name, {}).get("roc_auc")
        if mine is not None and other is not None and mine <= other:
            warnings.append(f"The churn model does not beat the naive {MODEL_NAMES[name]} on the "
                            f"evaluation set (ROC-AUC {mine:.3f} vs {other:.3f}); prefer the simple rule.")
    n_eval = int(ev["lift"]["customers"].sum())
    if n_eval < 200:
        warnings.append(f"The evaluation set holds only {n_eval} customers, so the model-quality figures are rough.")
    if mine is not None and mine < 0.6:
        warnings.append(f"The churn model separates churners only weakly (ROC-AUC {mine:.2f}).")


# ============================================================ narrative (for the notebook)
MODEL_NAMES = {"logistic_regression": "logistic regression", "gradient_boosting": "gradient boosting",
               "recency": "recency rule", "p_alive": "1 - P(alive) rule", "tenure": "short-tenure rule"}


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
    from crmlib.plots import currency_symbol

    sym = currency_symbol(currency)
    t = result.targets
    s = result.scores
    tiers = s["risk_tier"].value_counts()
    low, high = RISK_BANDS
    who = "current subscribers" if result.mode == "customer_table" else "active customers"
    return (f"{len(s):,} {who} scored: {tiers.get('high', 0):,} high risk (churn probability {high:.0%} or more), "
            f"{tiers.get('medium', 0):,} medium ({low:.0%} to {high:.0%}) and {tiers.get('low', 0):,} low risk. Total value at risk: **{sym}{s['value_at_risk'].sum():,.0f}** "
            f"(churn probability x {result.value_basis}). The retention list holds {len(t):,} customers "
            f"(probability at least {result.threshold:.0%}) worth {sym}{t['value_at_risk'].sum():,.0f} at risk; "
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


# ============================================================ charts (kept apart from the models)
def plot_trend(result: ChurnResult):
    """Churn rate at each month start (transactions mode)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots()
    trend = result.trend
    ax.plot(trend["cutoff"], trend["churn_rate"], marker="o")
    ax.set_ylim(0, max(1.0, float(trend["churn_rate"].max()) * 1.1) if len(trend) else 1)
    plots.percent_axis(ax)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    fig.autofmt_xdate()
    return plots.label(ax, f"Churn rate: no purchase in the next {result.window_days} days",
                       "Month start (customers active at that date)", "Share who did not buy again")


def plot_gains(result: ChurnResult):
    """Cumulative gains of the chosen model and the naive rules vs random contact."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots()
    curves = {MODEL_NAMES[result.chosen_model]: result.lift,
              **{MODEL_NAMES[k]: v for k, v in result.baseline_lift.items()}}
    for name, table in curves.items():
        ax.plot(np.r_[0, table["cum_customers_share"]], np.r_[0, table["cum_gain"]], marker="o", label=name)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random contact")
    plots.percent_axis(ax)
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, "Cumulative gains on the evaluation set", "Customers contacted (riskiest first)",
                       "Share of all churners reached")


def plot_calibration(result: ChurnResult):
    """Predicted vs observed churn rate by probability tenth."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(5, 4.2))
    cal = result.calibration
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(cal["predicted"], cal["observed"], marker="o", label=MODEL_NAMES[result.chosen_model])
    plots.percent_axis(ax)
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, "Are the churn probabilities right?", "Predicted churn probability (tenths of customers)",
                       "Observed churn rate")


def plot_drivers(result: ChurnResult, top: int = 8):
    """Permutation importance of the top features, with plain-words names."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    d = result.drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.2))
    ax.barh([feature_label(f) for f in d["feature"]], d["importance"], xerr=d["importance_std"])
    return plots.label(ax, "What drives churn predictions", "Drop in ROC-AUC when the fact is shuffled", "")


def plot_driver_bins(result: ChurnResult, feature: str):
    """Churn rate by group of one driver (evaluation set)."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    bins = result.driver_bins[feature]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(bins["bin"].astype(str), bins["churn_rate"])
    ax.axhline(result.churn_rate, linestyle="--", color="grey", label="average")
    ax.tick_params(axis="x", labelrotation=20)
    plots.percent_axis(ax)
    ax.legend()
    return plots.label(ax, f"Churn rate by {feature_label(feature)}", feature_label(feature).capitalize(),
                       "Churn rate")


def plot_value_at_risk(result: ChurnResult, currency: str = "GBP"):
    """Value at risk and number of customers by risk tier."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    by = (result.scores.groupby("risk_tier")["value_at_risk"].agg(["sum", "size"])
          .reindex(["high", "medium", "low"]).fillna(0))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    bars = ax.bar(by.index, by["sum"])
    for bar, n in zip(bars, by["size"]):
        ax.annotate(f"{int(n):,} customers", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    plots.money_axis(ax, currency)
    return plots.label(ax, f"Value at risk by churn-risk tier ({result.value_basis})", "Risk tier",
                       f"Value at risk ({currency})")
