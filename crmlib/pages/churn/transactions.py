"""The churn page on purchase logs: the run's one customer state, checked one window back.

The value page (03) fits the run's activity model once and writes its ``p_alive`` (the
chance of buying within the churn window) and ``clv`` to ``customers_clv.parquet``. This
page does not fit a second, contradicting model for the same window:

* **today's scores**: churn probability = 1 - ``p_alive``, value = ``clv``,
  value at risk = (1 - ``p_alive``) x ``clv``, over the *active customers* (a purchase
  in the ``active_days`` before the analysis date);
* **the check**: the same :class:`~crmlib.core.activity.ActivityModel`, fitted one window
  earlier (as of ``as_of - window``), scores the customers active then; its churn
  probabilities are compared with who really bought nothing in the following window
  (ROC/PR, lift, calibration, the threshold, the drivers by permutation importance on
  its estimator). The window it is checked on ends at the analysis date, so the check
  uses no row after ``as_of``.

Without the value page's table (03 did not run) the activity model is fitted here, the
same way, and value at risk uses the last 12 months' spend (the page says so).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from crmlib.core.activity import ActivityModel
from crmlib.core.customer_log import CustomerLog, keep_rows
from crmlib.core.features import _customer_rows, churn_labels
from crmlib.core.i18n import N_, Message
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS
from crmlib.errors import DataError, NotApplicableError
from crmlib.pages.churn.evaluation import (
    best_threshold, binned_churn_rates, calibration_table, confusion_at, explain_drivers, lift_table, score_quality,
)
from crmlib.pages.churn.models import retention_targets, risk_tier

#: the value basis when the value page's table is read
CLV_BASIS = N_("12-month customer value")
SPEND_BASIS = N_("spend in the last 12 months")
#: the activity model's name in the evaluation tables
ACTIVITY = "activity_model"


class ChurnProbability(ClassifierMixin, BaseEstimator):
    """A fitted activity classifier seen as a churn classifier: P(churn) = 1 - P(buys).

    Only for scoring (permutation importance with churn labels); ``fit`` is not used.
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: Any = None) -> "ChurnProbability":
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        buys = self.estimator.predict_proba(X)[:, 1]
        return np.column_stack([buys, 1 - buys])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _active(tx: pd.DataFrame, cutoff: pd.Timestamp, active_days: int) -> pd.Index:
    """Customers with a purchase in the ``active_days`` before ``cutoff`` (rows dated < cutoff)."""
    day = tx["invoice_date"]
    inside = (day < cutoff) & (day >= cutoff - pd.Timedelta(days=int(active_days)))
    return pd.Index(sorted(tx.loc[inside, "customer_id"].unique()), name="customer_id")


def _state_from_value_page(clv: pd.DataFrame | None) -> pd.DataFrame | None:
    if clv is None or not {"customer_id", "p_alive", "clv"} <= set(clv.columns):
        return None
    return clv.assign(customer_id=clv["customer_id"].astype(str)).set_index("customer_id")[["p_alive", "clv"]]


def score_today(tx: pd.DataFrame, as_of: pd.Timestamp, window: int, active_days: int, clv: pd.DataFrame | None,
                seed: int, segment_map: Any, warnings: list[str], notes: list[str], log: CustomerLog | None = None,
                max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> tuple[pd.DataFrame, str, ActivityModel | None]:
    """Today's scores of the active customers from the value page's table (or a fresh
    activity model when it is missing): customer_id, churn_probability, risk_tier, value,
    value_at_risk, recency_days, monetary, highest value at risk first."""
    score_cutoff = as_of + pd.Timedelta(days=1)
    ids = _active(tx, score_cutoff, active_days)
    state = _state_from_value_page(clv)
    fitted = None
    if state is None:
        fitted = ActivityModel(window, seed=seed, max_customers=max_customers).fit(tx, as_of, segment_map=segment_map,
                                                                                   log=log)
        state = pd.DataFrame({"p_alive": fitted.p_alive_, "clv": np.nan})
        notes.append(Message(N_("The value page's table was not available, so the activity model was fitted here "
                                "(the same model and window the value page uses).")))
    p_alive = state["p_alive"].reindex(ids)
    if p_alive.isna().any():
        raise DataError(f"{int(p_alive.isna().sum())} active customers have no chance of buying in the value "
                        "page's table; re-run the value page for this period", column="p_alive",
                        examples=list(p_alive.index[p_alive.isna()][:5]))
    # three columns, and no copy when every line is before the cutoff (a report at the data's end)
    seen = keep_rows(tx[["customer_id", "invoice_date", "amount"]], tx["invoice_date"] < score_cutoff)
    last = seen.groupby("customer_id")["invoice_date"].max().reindex(ids)
    spend_year = (seen[seen["invoice_date"] >= score_cutoff - pd.Timedelta(days=365)]
                  .groupby("customer_id")["amount"].sum().reindex(ids).fillna(0.0))
    value = state["clv"].reindex(ids)
    basis = CLV_BASIS
    if value.isna().all():
        value, basis = spend_year, SPEND_BASIS
        warnings.append(Message(N_("Customer values from the value page are not available, so value at risk = churn "
                                   "probability × spend in the last 12 months.")))
    elif value.isna().any():
        warnings.append(Message(N_("{count} active customers have no customer value; their value at risk uses their "
                                   "spend in the last 12 months."), count=int(value.isna().sum())))
        value = value.fillna(spend_year)
    scores = pd.DataFrame({"customer_id": ids.astype(str), "churn_probability": 1.0 - p_alive.to_numpy()})
    scores["risk_tier"] = risk_tier(scores["churn_probability"]).to_numpy()
    scores["value"] = value.to_numpy(dtype="float64")
    scores["value_at_risk"] = scores["churn_probability"] * scores["value"]
    scores["recency_days"] = (as_of - last.dt.normalize()).dt.days.to_numpy()
    scores["monetary"] = seen.groupby("customer_id")["amount"].sum().reindex(ids).to_numpy()
    return scores.sort_values("value_at_risk", ascending=False).reset_index(drop=True), basis, fitted


def evaluate_one_window_back(tx: pd.DataFrame, as_of: pd.Timestamp, window: int, active_days: int, seed: int,
                             segment_map: Any, log: CustomerLog | None = None,
                             max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> dict[str, Any]:
    """Fit the activity model as of ``as_of - window`` and check it on the window that ends at ``as_of``.

    Above ``max_customers`` the model and the permutation importance work on seeded,
    stratified samples; the check itself (ROC/PR, lift, calibration) scores every customer.
    """
    eval_cutoff = as_of + pd.Timedelta(days=1) - pd.Timedelta(days=window)
    log = log if log is not None else CustomerLog.from_transactions(tx)
    model = ActivityModel(window, seed=seed, max_customers=max_customers).fit(
        tx, eval_cutoff - pd.Timedelta(days=1), segment_map=segment_map, log=log)
    ids = _active(tx, eval_cutoff, active_days)
    y = churn_labels(log, eval_cutoff, window, ids)
    churn_p = 1.0 - model.p_alive_.reindex(ids).to_numpy()
    X = model.features(log, eval_cutoff).reindex(ids)
    recency = X["recency_days"].to_numpy(dtype="float64")
    threshold = best_threshold(y, churn_p)
    scores = {ACTIVITY: churn_p, "recency": recency}
    evaluation = {name: {**score_quality(y, s), "top_decile_lift": float(lift_table(y, s)["lift"].iloc[0])}
                  for name, s in scores.items()}
    drivers = explain_drivers(ChurnProbability(model.estimator_).fit(X), X, y, seed=seed, max_customers=max_customers)
    return {
        "model": model, "cutoff": eval_cutoff, "train_cutoff": model.train_cutoff_, "customers": len(ids),
        "train_customers": model.n_train_, "train_window_customers": model.n_customers_,
        "threshold": threshold, "evaluation": evaluation,
        "lift": lift_table(y, churn_p), "baseline_lift": {"recency": lift_table(y, recency)},
        "calibration": calibration_table(y, churn_p),
        "confusion": {**confusion_at(y, churn_p >= threshold), "threshold": threshold},
        "baseline_confusion": {"recency": confusion_at(y, recency > window)},
        "drivers": drivers, "driver_bins": {f: binned_churn_rates(X, y, f) for f in drivers["feature"].head(5)},
        "churn_rate": float(np.mean(y)),
    }


def run_transactions(transactions: pd.DataFrame | None, as_of: pd.Timestamp, clv: pd.DataFrame | None, window: int,
                     active_days: int, control_share: float, max_targets: int | None, seed: int,
                     warnings: list[str], notes: list[str], segment_map: Any = None,
                     max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> dict[str, Any]:
    """Everything :class:`~crmlib.pages.churn.analysis.ChurnResult` needs in transactions mode
    (``max_customers``: see :func:`evaluate_one_window_back`)."""
    if transactions is None or transactions.empty:
        raise DataError("transactions mode needs transactions with customer ids")
    tx = _customer_rows(transactions)
    tx = keep_rows(tx, tx["invoice_date"] < as_of + pd.Timedelta(days=1))
    eval_cutoff = as_of + pd.Timedelta(days=1) - pd.Timedelta(days=window)
    train_cutoff = eval_cutoff - pd.Timedelta(days=window)
    first = tx["invoice_date"].min()
    if pd.isna(first) or train_cutoff - first < pd.Timedelta(days=60):
        raise NotApplicableError(
            f"a churn model with a {window}-day window needs history from at least 60 days before its "
            f"training date ({train_cutoff.date()}), and the data start "
            f"{'nowhere' if pd.isna(first) else first.date()}; a later period or a shorter churn window makes it "
            "possible")
    log = CustomerLog.from_transactions(tx)  # prepared once for every cutoff of the page
    ev = evaluate_one_window_back(tx, as_of, window, active_days, seed, segment_map, log=log,
                                  max_customers=max_customers)
    scores, basis, _ = score_today(tx, as_of, window, active_days, clv, seed, segment_map, warnings, notes, log=log,
                                   max_customers=max_customers)
    model = ev.pop("model")
    fitted_as_of = str((ev["cutoff"] - pd.Timedelta(days=1)).date())
    notes.append(Message(N_("Checked one window back: the activity model fitted as of {as_of} (trained on "
                            "{start}..{as_of}, {classifier}, out-of-fold ROC-AUC {scores}) scored the {customers} "
                            "customers active on {cutoff}; the threshold is the one with the largest Youden's J on "
                            "that check."),
                         as_of=fitted_as_of, start=str(model.train_cutoff_.date()),
                         classifier=Message(model.estimator_name_.replace("_", " ")),
                         scores=", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in model.cv_roc_auc_.items()
                                          if v is not None),
                         customers=f"{ev['customers']:,}", cutoff=str(ev["cutoff"].date())))
    targets = retention_targets(scores, threshold=ev["threshold"], control_share=control_share, seed=seed,
                                max_targets=max_targets)
    return {
        "mode": "transactions", "chosen_model": ACTIVITY, "scores": scores, "targets": targets,
        "eval_customers": ev.pop("customers"), "train_customers": ev.pop("train_customers"),
        "cutoffs": {"train": str(ev.pop("train_cutoff").date()), "evaluation": str(ev.pop("cutoff").date()),
                    "scoring": str((as_of + pd.Timedelta(days=1)).date())},
        "value_basis": basis, **ev,
    }
