"""Value candidates: each one's spend forecast for the held-back horizon (see the package docstring)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from crmlib.core.activity import ActivityModel, _features
from crmlib.core.btyd import UNIT_DAYS, ModelFit, fit_spend, fit_with_fallback
from crmlib.core.customer_log import CustomerLog, keep_rows
from crmlib.core.features import spend_between  # noqa: F401  (re-exported: crmlib.core.value.spend_between)
from crmlib.core.i18n import N_, Message
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS, in_batches, sample_customers
from crmlib.errors import DataError, ModelError

CANDIDATES: tuple[str, ...] = ("bgnbd_gg", "pareto_nbd_gg", "spend_gbm", "hurdle", "last_period",
                               "average_per_period")
#: each candidate's model name (message ids: shown through ``_()``, stored in English)
CANDIDATE_LABELS = {
    "bgnbd_gg": N_("BG/NBD + Gamma-Gamma"), "pareto_nbd_gg": N_("Pareto/NBD + Gamma-Gamma"),
    "spend_gbm": N_("gradient boosting (Poisson) on spend"), "hurdle": N_("p_alive x spend of a buyer"),
    "last_period": N_("naive: last period's spend"), "average_per_period": N_("naive: average spend per period"),
}
#: candidates whose forecast is at the level of the one training horizon (see HORIZON_RULE)
HORIZON_LEVEL_CANDIDATES = frozenset({"spend_gbm", "hurdle", "last_period"})
NAIVE_CANDIDATES = frozenset({"last_period", "average_per_period"})
BTYD_CANDIDATES = frozenset({"bgnbd_gg", "pareto_nbd_gg"})


# =========================================================================== helpers
def _day(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _customer_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    missing = {"customer_id", "invoice_id", "invoice_date", "amount"} - set(transactions.columns)
    if missing:
        raise DataError("transactions lack required columns", column=sorted(missing)[0])
    tx = keep_rows(transactions, transactions["customer_id"].notna())
    if isinstance(tx["customer_id"].dtype, pd.StringDtype):  # already text: no copy
        return tx
    return tx.assign(customer_id=tx["customer_id"].astype(str))


def _make_regressor(X: pd.DataFrame, loss: str, seed: int) -> Pipeline:
    """Numbers as they are, categories one-hot (rare levels pooled); shallow, regularised trees."""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    prepare = ColumnTransformer([
        ("num", "passthrough", numeric),
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False),
         categorical),
    ])
    model = HistGradientBoostingRegressor(loss=loss, learning_rate=0.05, max_iter=200, max_leaf_nodes=15,
                                          min_samples_leaf=40, l2_regularization=1.0, early_stopping=False,
                                          random_state=seed)
    return Pipeline([("prepare", prepare), ("model", model)])


# =========================================================================== candidates
#: a stacked training snapshot (beyond the first) needs this many days of history before it
SNAPSHOT_MIN_HISTORY_DAYS = 30


def _training_set(tx: pd.DataFrame, cutoff: pd.Timestamp, h: int, windows: int, log: CustomerLog | None = None
                  ) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """Stacked supervised training snapshots ending at ``cutoff``: for k = 1..``windows``,
    features from rows dated up to ``cutoff - k h`` and target = spend in the following
    ``h`` days (so the last target ends at ``cutoff``). Snapshot k > 1 is used only with
    :data:`SNAPSHOT_MIN_HISTORY_DAYS` of history before it. Assumption: what predicts next
    quarter's spend is the same in the stacked quarters (their levels may differ)."""
    first = tx["invoice_date"].min().normalize()
    log = log if log is not None else CustomerLog.from_transactions(tx)
    parts, targets = [], []
    for k in range(1, max(1, int(windows)) + 1):
        start = cutoff - pd.Timedelta(days=k * h)
        if start < first or (k > 1 and start - first < pd.Timedelta(days=SNAPSHOT_MIN_HISTORY_DAYS)):
            break
        X = _features(log, start + pd.Timedelta(days=1), None, None)
        y = spend_between(log, start, start + pd.Timedelta(days=h)).reindex(X.index).fillna(0.0).clip(lower=0.0)
        parts.append(X.reset_index(drop=True))
        targets.append(y.reset_index(drop=True))
    if not parts or sum(len(p) for p in parts) < 50:
        return None, None
    X = pd.concat(parts, ignore_index=True)
    for col in X.columns:  # a category seen in one snapshot only must stay a category
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype(str)
    return X, pd.concat(targets, ignore_index=True)


def _training_sample(X: pd.DataFrame, target: pd.Series, max_rows: int | None, seed: int
                     ) -> tuple[pd.DataFrame, pd.Series]:
    """The stacked training rows themselves, or ``max_rows`` of them drawn at random (seeded),
    stratified by "bought in the horizon" (target > 0), so buyers and non-buyers keep their
    shares and the spend-of-a-buyer model keeps its share of rows."""
    if max_rows is None or len(target) <= int(max_rows):
        return X, target
    rows = sample_customers(pd.DataFrame({"bought": (target > 0).to_numpy()}), int(max_rows), stratify="bought",
                            seed=seed).index.to_numpy()
    return X.iloc[rows].reset_index(drop=True), target.iloc[rows].reset_index(drop=True)


@dataclass
class CandidateForecasts:
    """Every candidate's forecast of spend in ``(cutoff, cutoff + horizon_days]``.

    ``forecasts``: one column per candidate, one row per customer seen up to ``cutoff``
    (NaN where a candidate could not be fitted); ``p_alive``: the activity model's
    probability at the cutoff; ``expected_purchases``: per BTYD candidate; ``notes``:
    what failed and why; ``activity``: the fitted :class:`ActivityModel` (or ``None``);
    ``train_rows`` / ``train_rows_total``: the (customer, horizon) rows the supervised spend
    models were trained on, and how many there were (they differ when they were sampled).
    """

    cutoff: pd.Timestamp
    horizon_days: int
    forecasts: pd.DataFrame
    p_alive: pd.Series | None
    expected_purchases: dict[str, pd.Series] = field(default_factory=dict)
    expected_avg_spend: dict[str, pd.Series] = field(default_factory=dict)
    btyd_fits: dict[str, ModelFit] = field(default_factory=dict)
    activity: ActivityModel | None = None
    notes: list[str] = field(default_factory=list)
    train_rows: int = 0
    train_rows_total: int = 0
    customers_seen: int = 0


def forecast_candidates(
    transactions: pd.DataFrame,
    cutoff: Any,
    horizon_days: int = 91,
    *,
    candidates: Sequence[str] = CANDIDATES,
    window_days: int = 90,
    activity: ActivityModel | None = None,
    training_windows: int = 2,
    seed: int = 0,
    log: CustomerLog | None = None,
    max_customers: int | None = DEFAULT_MAX_CUSTOMERS,
    forecast_customers: int | None = None,
) -> CandidateForecasts:
    """Each candidate's spend forecast for ``(cutoff, cutoff + horizon_days]`` per customer.

    Reads only rows dated on or before ``cutoff`` (the first line drops the rest: the
    leakage test changes later rows and checks nothing moves). The supervised models
    train on features at ``cutoff - k x horizon_days`` (k = 1..``training_windows``,
    stacked, :func:`_training_set`) with target "spend in the following ``horizon_days``"
    (the last one ends at ``cutoff``), then score features at ``cutoff``.
    ``activity`` may pass an activity model already fitted at ``cutoff`` (the run's);
    ``log`` the transactions prepared once (:class:`~crmlib.core.customer_log.CustomerLog`,
    any rows after ``cutoff`` in it are not read; built here when not given).
    ``max_customers`` bounds the training: the spend models train on at most
    ``max_customers`` x ``training_windows`` stacked rows (:func:`_training_sample`) and an
    activity model fitted here on ``max_customers`` customers; every customer is scored.
    ``None`` trains on everything. ``forecast_customers``: forecast only a seeded sample
    of that many of the customers seen up to ``cutoff``, stratified by whether they
    bought in the last 90 days (a backtest checks a sample; ``customers_seen`` keeps how
    many there were); ``None`` forecasts everyone.
    """
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise ModelError(f"unknown value candidates {unknown}; allowed: {', '.join(CANDIDATES)}")
    cutoff = _day(cutoff)
    tx = _customer_rows(transactions)  # rows after the cutoff stay: every use below reads up to the cutoff only
    if not (tx["invoice_date"] < cutoff + pd.Timedelta(days=1)).any():
        raise DataError(f"no purchases with a customer id up to {cutoff.date()}", column="customer_id")
    h = int(horizon_days)
    log = log if log is not None else CustomerLog.from_transactions(tx)
    X_now = _features(log, cutoff + pd.Timedelta(days=1), None, None)
    customers_seen = len(X_now)
    if forecast_customers is not None:
        X_now = sample_customers(X_now, int(forecast_customers), stratify=X_now["spend_last_90d"] > 0, seed=seed)
    ids = X_now.index
    out = pd.DataFrame(index=ids)
    notes: list[str] = []
    result = CandidateForecasts(cutoff, h, out, None, notes=notes, customers_seen=customers_seen)

    if "last_period" in candidates:
        out["last_period"] = spend_between(log, cutoff - pd.Timedelta(days=h), cutoff).reindex(ids).fillna(0.0)
    if "average_per_period" in candidates:
        observed = np.maximum(X_now["tenure_days"].to_numpy() + 1.0, h)
        out["average_per_period"] = X_now["monetary"].to_numpy() * h / observed

    btyd_summaries: dict[str, pd.DataFrame] = {}  # one summary per purchase occasion for both models
    for name in ("bgnbd_gg", "pareto_nbd_gg"):
        if name not in candidates:
            continue
        model = name.removesuffix("_gg")
        fit = fit_with_fallback(tx, cutoff, model, max_customers=max_customers, seed=seed, cache=btyd_summaries)
        if not fit.usable:
            notes.append(Message(N_("{model}: not usable at {date} ({reason})."), model=Message(CANDIDATE_LABELS[name]),
                                 date=str(cutoff.date()), reason=fit.message or Message(N_("no fit"))))
            out[name] = np.nan
            continue
        result.btyd_fits[name] = fit
        spend = fit_spend(fit.summary, max_customers=max_customers, seed=seed)
        purchases = fit.expected_purchases(h / UNIT_DAYS[fit.time_unit])
        avg = spend.expected_avg_spend(fit.summary)
        for series in (purchases, avg):
            series.index = series.index.astype(str)
        result.expected_purchases[name] = purchases.reindex(ids)
        result.expected_avg_spend[name] = avg.reindex(ids)
        out[name] = (purchases * avg).reindex(ids)
        if fit.at_bounds:
            notes.append(Message(N_("{model} at {date}: parameters at their bounds ({parameters}), rung '{rung}'."),
                                 model=Message(CANDIDATE_LABELS[name]), date=str(cutoff.date()),
                                 parameters=", ".join(fit.at_bounds), rung=fit.fallback or "plain"))

    needs_training = {"spend_gbm", "hurdle"} & set(candidates)
    if needs_training:
        X_train, target = _training_set(tx, cutoff, h, training_windows, log)
        if X_train is None:
            notes.append(Message(N_("Too little history before {date} to train the supervised spend models."),
                                 date=str((cutoff - pd.Timedelta(days=h)).date())))
            for name in needs_training:
                out[name] = np.nan
        else:
            result.train_rows_total = len(target)
            X_train, target = _training_sample(
                X_train, target, None if max_customers is None else int(max_customers) * max(1, int(training_windows)),
                seed)
            result.train_rows = len(target)
            X_now_aligned = X_now.reindex(columns=X_train.columns)
            with threadpool_limits(limits=1):
                if "spend_gbm" in candidates:
                    gbm = _make_regressor(X_train, "poisson", seed).fit(X_train, target)
                    out["spend_gbm"] = np.clip(in_batches(gbm.predict, X_now_aligned), 0.0, None)
                if "hurdle" in candidates:
                    buyers = (target > 0).to_numpy()
                    if buyers.sum() < 50:
                        notes.append(Message(N_("Too few buyers in the training horizon for the spend-of-a-buyer model.")))
                        out["hurdle"] = np.nan
                    else:
                        spend_if_active = _make_regressor(X_train, "gamma", seed).fit(X_train[buyers],
                                                                                      target[buyers])
                        if activity is None:
                            activity = ActivityModel(window_days, seed=seed, max_customers=max_customers).fit(
                                tx, cutoff, log=log, btyd_summaries=btyd_summaries)
                        p = activity.p_alive_.reindex(ids).to_numpy()
                        out["hurdle"] = p * in_batches(spend_if_active.predict, X_now_aligned)
    result.activity = activity
    result.p_alive = None if activity is None else activity.p_alive_.reindex(ids)
    result.forecasts = out[[c for c in candidates if c in out.columns]]
    return result

