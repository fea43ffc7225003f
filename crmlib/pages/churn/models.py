"""The churn page's candidate models, the retention list and its control group."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from crmlib.core.classifiers import PriorCorrectedClassifier, make_models  # noqa: F401  (re-exported for the page)
from crmlib.core.i18n import N_, Message
from crmlib.errors import ConfigError
from crmlib.pages.churn.evaluation import best_threshold, score_quality

RISK_BANDS = (0.3, 0.6)  # low < 0.3 <= medium < 0.6 <= high
#: the churn-risk tiers and retention-list groups as stored (message ids: shown through ``_()``)
RISK_TIERS = (N_("low"), N_("medium"), N_("high"))
GROUPS = (N_("target"), N_("control"))


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
    notes.append(Message(N_("Cross-validated ROC-AUC on the training data: {scores}; chosen: {chosen}."),
                         scores=", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in cv.items()),
                         chosen=chosen.replace("_", " ")))
    fitted = {name: model.fit(X, y) for name, model in models.items()}
    return chosen, fitted, threshold, oof
