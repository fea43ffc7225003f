"""Customer classifiers shared by the value and churn pages.

The activity model (:mod:`crmlib.core.activity`) and the churn page's evaluation fit
the same two candidate pipelines, so they live in the core.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from crmlib.errors import ModelError


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
