"""Each customer's probability of being active: ``p_alive`` = P(buys within the next window).

One model, fitted once per run, whose probability every page reads (value, churn, summary).

Why a classifier and not only BTYD: on one year of purchase logs (the bundled Online
Retail sample) every BTYD model runs a drop-out parameter to its bound and gives
P(alive) = 1 for every customer - a constant that cannot rank anybody. The purchase
log itself holds the signal ("who bought in the last window" is observable), so
``p_alive`` comes from a classifier trained on exactly that, unless a BTYD model does
measure drop-out on the data and ranks at least as well (:data:`SOURCE_RULE`).

Design (time split, no leakage; the same design as the churn page)::

    train cutoff = as_of + 1 day - window        score cutoff = as_of + 1 day
    features from rows dated < train cutoff       features from rows dated < score cutoff
    label: bought in [train cutoff, as_of]        p_alive = P(buys in [as_of + 1, as_of + window])

Sources: churn as "no purchase in a window after a cutoff" and the time-split design
(Provost & Fawcett, *Data Science for Business*, 2013, ch. 7-8); prior correction for
re-weighted classes (King & Zeng 2001, via :class:`crmlib.churn.PriorCorrectedClassifier`);
Platt scaling (Platt 1999) / isotonic calibration (Zadrozny & Elkan 2002) on
out-of-fold predictions, as scikit-learn's ``CalibratedClassifierCV(ensemble=False)``;
BG/NBD P(alive) (Fader, Hardie & Lee 2005, eq. 11, via ``lifetimes``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

# ---- today's locations of the shared pieces (the refactor moves them to crmlib.core.features
# ---- and crmlib.core.btyd: repoint these imports, nothing else in this module)
from crmlib.core.btyd import fit_with_fallback
from crmlib.core.classifiers import make_models
from crmlib.core.customer_log import CustomerLog, keep_rows
from crmlib.core.features import churn_labels, purchase_features
from crmlib.core.i18n import N_, Message, Sentences
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS, in_batches, sample_customers
from crmlib.errors import DataError, ModelError

#: "every customer ever seen": the look-back passed to ``purchase_features``
ALL_CUSTOMERS_DAYS = 36_525  # 100 years: everyone, and still inside a nanosecond Timedelta (±292 years)
#: columns of ``purchase_features`` never used by the activity model
DROPPED_FEATURES = ("p_alive",)
#: the BTYD P(alive) must spread at least this much (10th to 90th percentile) to be used
BTYD_MIN_SPREAD = 0.10
#: a training window needs at least this many days of history before its cutoff
MIN_HISTORY_DAYS = 60
SOURCE_RULE = N_(
    "p_alive is the calibrated probability that the customer buys within the next {window} days, "
    "from a classifier trained on who bought in the last {window} days before the analysis date. "
    "A BG/NBD model's P(alive) replaces it only when the model measures drop-out on this data: its fit "
    "at the analysis date converged with no parameter at a bound, its P(alive) spreads (10th to 90th "
    "percentile at least {spread:.0%}), and on the training window it ranks the customers who did buy at "
    "least as well as the classifier (ROC-AUC, out of fold for the classifier)."
)


def _features(transactions: pd.DataFrame | CustomerLog, cutoff: pd.Timestamp, customers: pd.DataFrame | None,
              segment_map: dict[str, dict[str, Any]] | None) -> pd.DataFrame:
    """Leakage-free features of every customer seen before ``cutoff`` (rows dated < cutoff)."""
    X = purchase_features(transactions, cutoff, active_days=ALL_CUSTOMERS_DAYS, customers=customers,
                          with_p_alive=False, segment_map=segment_map)
    return X.drop(columns=[c for c in DROPPED_FEATURES if c in X.columns])


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else None


class ActivityModel:
    """P(a customer buys within the next ``window_days``) at ``as_of``: the ``p_alive`` column.

    Parameters
    ----------
    window_days:
        The activity window (the churn window, default 90 days).
    calibration:
        ``"sigmoid"`` (Platt scaling; keeps the classifier's ranking exactly) or
        ``"isotonic"``, fitted on 3-fold out-of-fold predictions; ``"prior"`` keeps the
        prior-corrected probabilities as they are.
    use_btyd:
        ``"auto"`` applies :data:`SOURCE_RULE`; ``"never"`` always uses the classifier.
    seed:
        Fixes the folds, the gradient-boosting model and the training sample.
    max_customers:
        With more training customers than this, the classifier (cross-validation, final
        fit, calibration) trains on a random sample of ``max_customers`` of them, stratified
        by the label (buyers and non-buyers keep their shares; :func:`crmlib.core.sampling.
        sample_customers`); every customer is still scored (in batches). ``None`` trains
        on everyone. At or under the limit nothing changes.

    Assumptions
    -----------
    1. Activity is observable only as purchases: "active" means "buys within the window".
    2. What separated buyers from non-buyers over the last window (recency, frequency,
       spend, trends, gaps, basket breadth, country, RFM segment, all measured before the
       window) separates them over the next one. The *level* may shift with the season
       (a pre-Christmas window has more buyers than a summer one): the ranking transfers,
       the calibration is that of the training window.
    3. Only customers seen up to ``as_of`` are scored; a customer first seen inside the
       training window is scored but was not trained on (their tenure feature is short).

    The classifier is the better (by 3-fold out-of-fold ROC-AUC) of the churn page's two
    pipelines (:func:`crmlib.churn.make_models`: regularised logistic regression and
    gradient boosting, balanced classes with King & Zeng's prior correction), then
    calibrated. Fitting is single-threaded (threadpoolctl).

    Learned attributes: ``as_of_``, ``train_cutoff_``, ``score_cutoff_``, ``estimator_``
    (the fitted pipeline), ``estimator_name_``, ``calibrator_``, ``feature_columns_``,
    ``cv_roc_auc_`` (out-of-fold ROC-AUC per pipeline), ``base_rate_`` (share of training
    customers who bought in the window), ``n_customers_`` (customers in the training window),
    ``n_train_`` (those the classifier was trained on: all of them, or the sample),
    ``btyd_`` (what the BTYD check found),
    ``source_`` ("classifier" or "bgnbd"), ``p_alive_`` (Series indexed by customer id,
    every customer seen up to ``as_of``), ``note_`` (the rule and the outcome in words).
    """

    def __init__(self, window_days: int = 90, *, calibration: str = "sigmoid", use_btyd: str = "auto",
                 seed: int = 0, max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> None:
        self.window_days = window_days
        self.calibration = calibration
        self.use_btyd = use_btyd
        self.seed = seed
        self.max_customers = max_customers

    # ------------------------------------------------------------------ fit
    def fit(self, transactions: pd.DataFrame, as_of: Any, *, customers: pd.DataFrame | None = None,
            segment_map: dict[str, dict[str, Any]] | None = None, log: CustomerLog | None = None,
            btyd_summaries: dict[str, pd.DataFrame] | None = None) -> "ActivityModel":
        """Train on the window ending at ``as_of`` and score every customer at ``as_of``.

        ``transactions`` may hold rows after ``as_of``: they are never read.
        ``customers`` (cleaned customer-table attributes) must be known at the training
        cutoff. Raises :class:`DataError` when the history before the training cutoff is
        shorter than :data:`MIN_HISTORY_DAYS`, :class:`ModelError` when everybody (or
        nobody) bought in the training window. ``log``: ``transactions`` prepared once
        (:class:`~crmlib.core.customer_log.CustomerLog`; built here when not given).
        ``btyd_summaries``: the BTYD summaries at ``as_of`` already computed on the same
        transactions (``fit_with_fallback``'s ``cache``), shared with the BTYD check.
        """
        if self.calibration not in ("sigmoid", "isotonic", "prior"):
            raise ModelError(f"calibration must be sigmoid, isotonic or prior; got {self.calibration!r}")
        if self.use_btyd not in ("auto", "never"):
            raise ModelError(f"use_btyd must be auto or never; got {self.use_btyd!r}")
        if int(self.window_days) < 7:
            raise ModelError(f"window_days must be at least 7; got {self.window_days}")
        as_of = pd.Timestamp(as_of).normalize()
        self.customers_, self.segment_map_ = customers, segment_map
        # the log itself, not a copy (every use below reads up to as_of only)
        tx = keep_rows(transactions, transactions["customer_id"].notna())
        self.as_of_ = as_of
        self.score_cutoff_ = as_of + pd.Timedelta(days=1)
        self.train_cutoff_ = self.score_cutoff_ - pd.Timedelta(days=int(self.window_days))
        dates = tx["invoice_date"]
        first = dates[dates < self.score_cutoff_].min()
        if pd.isna(first) or self.train_cutoff_ - first < pd.Timedelta(days=MIN_HISTORY_DAYS):
            raise DataError(f"an activity model with a {self.window_days}-day window needs {MIN_HISTORY_DAYS} days "
                            f"of purchases before {self.train_cutoff_.date()}; the data start "
                            f"{'nowhere' if pd.isna(first) else first.date()}")

        log = log if log is not None else CustomerLog.from_transactions(tx)
        X = _features(log, self.train_cutoff_, customers, segment_map)
        y = 1 - churn_labels(log, self.train_cutoff_, int(self.window_days), X.index).to_numpy()
        if len(np.unique(y)) < 2:
            raise ModelError("in the training window everybody (or nobody) bought: no activity model can be learned")
        self.base_rate_ = float(y.mean())
        self.n_customers_ = int(len(y))
        self.feature_columns_ = list(X.columns)
        X_fit, y_fit = self._training_sample(X, y)
        self.n_train_ = int(len(y_fit))
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=self.seed)
        oof: dict[str, np.ndarray] = {}
        self.cv_roc_auc_ = {}
        with threadpool_limits(limits=1):
            for name, model in make_models(X_fit, self.seed).items():
                oof[name] = cross_val_predict(model, X_fit, y_fit, cv=folds, method="predict_proba")[:, 1]
                self.cv_roc_auc_[name] = _auc(y_fit, oof[name])
        self.estimator_name_ = max(self.cv_roc_auc_, key=lambda k: (self.cv_roc_auc_[k], k == "logistic_regression"))
        self.estimator_ = clone(make_models(X_fit, self.seed)[self.estimator_name_]).fit(X_fit, y_fit)
        self.calibrator_ = self._fit_calibrator(oof[self.estimator_name_], y_fit)

        X_now = _features(log, self.score_cutoff_, customers, segment_map).reindex(columns=self.feature_columns_)
        classifier_p = pd.Series(self._score(X_now), index=X_now.index, name="p_alive")
        self.btyd_ = self._btyd_check(tx, y, X.index, self.cv_roc_auc_[self.estimator_name_], btyd_summaries)
        if self.btyd_["used"]:
            self.source_ = "bgnbd"
            self.p_alive_ = self.btyd_.pop("p_alive").reindex(classifier_p.index).rename("p_alive")
        else:
            self.btyd_.pop("p_alive", None)
            self.source_ = "classifier"
            self.p_alive_ = classifier_p
        self.p_alive_.index.name = "customer_id"
        self.note_ = self._note()
        return self

    def _training_sample(self, X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """``X, y`` themselves, or a sample of ``max_customers`` rows stratified by ``y`` (seeded)."""
        if self.max_customers is None or len(y) <= int(self.max_customers):
            return X, y
        rows = sample_customers(pd.DataFrame({"bought": y}), int(self.max_customers), stratify="bought",
                                seed=self.seed).index.to_numpy()
        return X.iloc[rows], y[rows]

    def _score(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(buys) of every row of ``X``, in blocks (bounded memory on a large base)."""
        with threadpool_limits(limits=1):
            return in_batches(lambda block: self._calibrated(self.estimator_.predict_proba(block)[:, 1]), X)

    def _fit_calibrator(self, oof: np.ndarray, y: np.ndarray) -> Any:
        if self.calibration == "prior":
            return None
        if self.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof, y)
        logit = np.log(np.clip(oof, 1e-6, 1 - 1e-6) / (1 - np.clip(oof, 1e-6, 1 - 1e-6)))
        return LogisticRegression(C=1e6, max_iter=1000).fit(logit.reshape(-1, 1), y)

    def _calibrated(self, p: np.ndarray) -> np.ndarray:
        if self.calibrator_ is None:
            return p
        if self.calibration == "isotonic":
            return self.calibrator_.predict(p)
        q = np.clip(p, 1e-6, 1 - 1e-6)
        return self.calibrator_.predict_proba(np.log(q / (1 - q)).reshape(-1, 1))[:, 1]

    def _btyd_check(self, tx: pd.DataFrame, y: np.ndarray, train_ids: pd.Index, classifier_auc: float | None,
                    summaries: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
        """Apply :data:`SOURCE_RULE`'s BTYD conditions; returns what was found."""
        out: dict[str, Any] = {"used": False, "clean": None, "spread": None, "roc_auc": None, "reason": ""}
        if self.use_btyd == "never":
            out["reason"] = Message(N_("BTYD not considered (use_btyd='never')"))
            return out
        final = fit_with_fallback(tx, self.as_of_, "bgnbd", max_customers=self.max_customers, seed=self.seed,
                                  cache=summaries)
        out["clean"] = bool(final.clean)
        if not final.clean:
            out["reason"] = Message(N_("BG/NBD does not measure drop-out here (parameters at their bounds: "
                                       "{parameters})"),
                                    parameters=", ".join(final.at_bounds) or Message(N_("fit not usable")))
            return out
        p_now = final.p_alive()
        p_now.index = p_now.index.astype(str)
        out["spread"] = float(p_now.quantile(0.9) - p_now.quantile(0.1))
        if out["spread"] < BTYD_MIN_SPREAD:
            out["reason"] = Message(N_("BG/NBD P(alive) barely varies (10th-90th percentile spread {spread:.3f})"),
                                    spread=out["spread"])
            return out
        last_train_day = self.train_cutoff_ - pd.Timedelta(days=1)
        train_fit = fit_with_fallback(tx, last_train_day, "bgnbd",
                                      max_customers=self.max_customers, seed=self.seed)
        if not train_fit.usable:
            out["reason"] = Message(N_("BG/NBD could not be fitted at the training cutoff"))
            return out
        p_train = train_fit.p_alive()
        p_train.index = p_train.index.astype(str)
        out["roc_auc"] = _auc(y, p_train.reindex(train_ids).fillna(0.0).to_numpy())
        if classifier_auc is not None and (out["roc_auc"] is None or out["roc_auc"] < classifier_auc):
            out["reason"] = Message(N_("BG/NBD P(alive) ranks the training window's buyers less well than the "
                                       "classifier (ROC-AUC {btyd_auc:.3f} vs {classifier_auc:.3f})"),
                                    btyd_auc=out["roc_auc"] or float("nan"), classifier_auc=classifier_auc)
            return out
        out.update(used=True, reason=Message(N_("BG/NBD measures drop-out and ranks at least as well as the classifier")),
                   p_alive=p_now)
        return out

    def _note(self) -> str:
        """The rule and its outcome (a :class:`~crmlib.core.i18n.Sentences`: English as a string, shown translated)."""
        rule = Message(SOURCE_RULE, window=self.window_days, spread=BTYD_MIN_SPREAD)
        auc = self.cv_roc_auc_[self.estimator_name_]
        if self.source_ == "bgnbd":
            outcome = Message(N_("Here BG/NBD's P(alive) is used: {reason}."), reason=self.btyd_["reason"])
        else:
            facts = dict(classifier=Message(self.estimator_name_.replace("_", " ")), auc=auc,
                         start=str(self.train_cutoff_.date()), end=str(self.as_of_.date()))
            outcome = (Message(N_("Here the classifier ({classifier}, out-of-fold ROC-AUC {auc:.3f} on "
                                  "{start}..{end}) is used: {reason}."), reason=self.btyd_["reason"], **facts)
                       if self.btyd_.get("reason") else
                       Message(N_("Here the classifier ({classifier}, out-of-fold ROC-AUC {auc:.3f} on "
                                  "{start}..{end}) is used."), **facts))
        return Sentences(rule, outcome)

    # ------------------------------------------------------------------ use
    def predict(self, transactions: pd.DataFrame | CustomerLog, cutoff: Any, *, customers: pd.DataFrame | None = None,
                segment_map: dict[str, dict[str, Any]] | None = None) -> pd.Series:
        """The classifier's calibrated P(buys within the window after ``cutoff``) from rows dated
        before ``cutoff`` (for re-scoring on other data; ``p_alive_`` holds the run's values)."""
        X = _features(transactions, pd.Timestamp(cutoff).normalize(), customers,
                      segment_map).reindex(columns=self.feature_columns_)
        return pd.Series(self._score(X), index=X.index, name="p_alive")

    def features(self, transactions: pd.DataFrame | CustomerLog, cutoff: Any) -> pd.DataFrame:
        """The model's features of every customer seen before ``cutoff`` (rows dated before it),
        in the training columns, with the customer table and segment map given to :meth:`fit`
        (for permutation importance and driver tables on another cutoff's labels)."""
        return _features(transactions, pd.Timestamp(cutoff).normalize(), self.customers_,
                         self.segment_map_).reindex(columns=self.feature_columns_)

    def summary(self) -> dict[str, Any]:
        """Headline facts for metrics JSON: source, rule outcome, quality, spread."""
        p = self.p_alive_
        return {"source": self.source_, "window_days": int(self.window_days),
                "train_cutoff": str(self.train_cutoff_.date()), "as_of": str(self.as_of_.date()),
                "classifier": self.estimator_name_, "cv_roc_auc": self.cv_roc_auc_,
                "base_rate": self.base_rate_, "btyd": {k: v for k, v in self.btyd_.items() if k != "p_alive"},
                "customers": int(len(p)), "training_customers": self.n_train_,
                "training_window_customers": self.n_customers_, "p_alive_mean": float(p.mean()),
                "p_alive_percentiles": {str(q): float(p.quantile(q)) for q in (0.1, 0.5, 0.9)},
                "note": self.note_}
