"""The churn page's candidate models, the retention list and its control group."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from crmlib.errors import ConfigError, ModelError
from crmlib.pages.churn.evaluation import best_threshold, score_quality

RISK_BANDS = (0.3, 0.6)  # low < 0.3 <= medium < 0.6 <= high


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
