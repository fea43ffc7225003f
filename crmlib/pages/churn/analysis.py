"""The churn page's analysis in one call: :func:`run_churn` -> :class:`ChurnResult`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from crmlib.core.features import LABEL, _customer_rows
from crmlib.core.i18n import N_, Message, shown
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS, describe_sample, in_batches, sample_customers
from crmlib.errors import ConfigError, DataError
from crmlib.pages.churn.evaluation import binned_churn_rates, calibration_table, confusion_at, explain_drivers, lift_table, score_quality
from crmlib.pages.churn.models import _select_and_fit, make_models, retention_targets, risk_tier
from crmlib.pages.churn.table import clean_customer_table
from crmlib.pages.churn.transactions import ACTIVITY, CLV_BASIS, run_transactions

MODES = ("auto", "transactions", "customer_table")
#: the value basis when there is no value at all: value at risk counts expected lost customers
ONE_CUSTOMER = N_("one customer")
#: the naive rules every model is compared with
BASELINES = ("recency", "p_alive", "tenure")
#: what a training sample keeps the shares of (message ids, shown through ``_()``)
BOUGHT_STRATUM = N_("customers who bought in the window and who did not")
CHURNED_STRATUM = N_("churned and retained customers")


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
    train_window_customers: int | None = None      # customers the training could use (train_customers: a sample of them)

    def sample_text(self) -> str:
        """The sentence on the training sample (empty when the model trained on every customer it could)."""
        if self.train_window_customers is None:
            return ""
        stratum = CHURNED_STRATUM if self.mode == "customer_table" else BOUGHT_STRATUM
        return describe_sample(self.train_customers, self.train_window_customers, stratified_by=stratum)

    def metrics(self) -> dict[str, Any]:
        """The headline numbers for ``metrics/04_churn.json`` (evaluation-set figures)."""
        chosen = self.evaluation[self.chosen_model]
        base = {k: {"roc_auc": v["roc_auc"], "pr_auc": v["pr_auc"]} for k, v in self.evaluation.items()
                if k in BASELINES}
        for k in ("recency", "p_alive"):
            base.setdefault(k, {"roc_auc": None, "pr_auc": None})
        high = self.scores["risk_tier"].astype(str).eq("high")
        return {
            "mode": self.mode,
            "chosen_model": self.chosen_model,
            "roc_auc": chosen["roc_auc"],
            "pr_auc": chosen["pr_auc"],
            "models": {k: v for k, v in self.evaluation.items() if k not in BASELINES},
            "baselines": base,
            "beats_baselines": self.beats_baselines(),
            "churn_rate": self.churn_rate,
            "threshold": self.threshold,
            "confusion": self.confusion,
            "top_decile_lift": float(self.lift["lift"].iloc[0]),
            "leavers_found_top20": self.leavers_found(0.2),
            "eval_customers": self.eval_customers,
            "train_customers": self.train_customers,
            "cutoffs": self.cutoffs,
            "top_drivers": self.drivers["feature"].head(5).tolist(),
            "top_driver_sentences": self.drivers["sentence"].dropna().head(3).tolist(),
            "scored_customers": int(len(self.scores)),
            "training_customers": self.train_customers,
            "customers_scored": int(len(self.scores)),
            "training_sample": str(self.sample_text()),
            "targets": int((self.targets["group"] == "target").sum()),
            "control": int((self.targets["group"] == "control").sum()),
            "value_at_risk_total": float(self.scores["value_at_risk"].sum()),
            "value_basis": self.value_basis,
            "high_risk_customers": int(high.sum()),
            "high_risk_value_at_risk": float(self.scores.loc[high, "value_at_risk"].sum()),
            "churn_window_days": self.window_days,
            "warnings": [shown(w) for w in self.warnings],      # what the page shows, in its language
        }

    def leavers_found(self, share: float = 0.2) -> float | None:
        """Share of the evaluation set's leavers among the ``share`` of customers ranked riskiest."""
        return leavers_found(self.lift, share)

    def beats_baselines(self) -> dict[str, float | None]:
        """ROC-AUC margin of the chosen model over each available baseline (positive = better)."""
        mine = self.evaluation[self.chosen_model]["roc_auc"]
        return {k: (None if v["roc_auc"] is None or mine is None else mine - v["roc_auc"])
                for k, v in self.evaluation.items() if k in BASELINES}


def leavers_found(lift: pd.DataFrame, share: float = 0.2) -> float | None:
    """Share of all leavers among the ``share`` of customers ranked riskiest, read from a
    :func:`~crmlib.pages.churn.evaluation.lift_table` (the decile boundary nearest ``share``;
    ``None`` without leavers)."""
    if lift.empty or lift["cum_gain"].isna().all():
        return None
    nearest = (lift["cum_customers_share"] - share).abs().idxmin()
    return float(lift.loc[nearest, "cum_gain"])


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


def run_churn(
    transactions: pd.DataFrame | None,
    as_of: Any,
    *,
    customers: pd.DataFrame | None = None,
    clv: pd.DataFrame | None = None,
    mode: str = "auto",
    churn_window_days: int = 90,
    active_days: int = 365,
    control_share: float = 0.10,
    max_targets: int | None = None,
    seed: int = 0,
    segment_map: dict[str, dict[str, Any]] | None = None,
    customers_file: str | None = None,
    max_customers: int | None = DEFAULT_MAX_CUSTOMERS,
) -> ChurnResult:
    """Train, evaluate, explain and score churn in one call (what notebook 04 runs).

    ``clv`` is the value page's ``customers_clv.parquet`` frame (``customer_id``,
    ``p_alive``, ``clv``). Transactions mode (:mod:`.transactions`) reads its ``p_alive``
    and ``clv`` for today's scores and checks the same activity model one window back;
    without it, the activity model is fitted here and value at risk uses spend in the
    last 365 days. Customer-table mode fits its own model on the churn flag; value at
    risk uses ``clv`` when given, else 12 x monthly charges, and says so. ``segment_map``
    (from :func:`crmlib.core.summaries.load_segment_map`) names the RFM segment feature as
    the segmentation page does; ``None`` = the default map. ``customers_file`` names the
    customer table's file in data errors. ``max_customers`` (the setting
    ``max_training_customers``): above it the models, their cross-validation and the
    permutation importance work on a seeded sample of that many customers, stratified by
    the label; every customer is scored (:meth:`ChurnResult.sample_text` says so).
    """
    if churn_window_days < 7:
        raise ConfigError(f"churn_window_days must be at least 7 (got {churn_window_days})")
    mode = choose_mode(mode, customers)
    warnings: list[str] = []
    notes: list[str] = []
    table, table_notes = (clean_customer_table(customers, file=customers_file) if customers is not None else (None, []))
    notes += table_notes
    as_of = pd.Timestamp(as_of).normalize()
    if mode == "transactions":
        parts = run_transactions(transactions, as_of, clv, int(churn_window_days), active_days, control_share,
                                 max_targets, seed, warnings, notes, segment_map, max_customers)
        _quality_warnings(parts, parts["chosen_model"], warnings)
        return ChurnResult(**parts, trend=churn_rate_trend(transactions, as_of, churn_window_days, active_days),
                           warnings=warnings, notes=notes, window_days=int(churn_window_days),
                           active_days=active_days)
    return _run_table(transactions, as_of, table, clv, control_share, max_targets, seed, warnings, notes,
                      max_customers)


def _evaluate(chosen: str, fitted: dict, X: pd.DataFrame, y: pd.Series, threshold: float,
              baselines: dict[str, pd.Series], baseline_flags: dict[str, pd.Series], seed: int,
              max_customers: int | None = DEFAULT_MAX_CUSTOMERS) -> dict[str, Any]:
    scores = {**{name: m.predict_proba(X)[:, 1] for name, m in fitted.items()}, **baselines}
    evaluation = {name: {**score_quality(y, score), "top_decile_lift": float(lift_table(y, score)["lift"].iloc[0])}
                  for name, score in scores.items()}
    probability = fitted[chosen].predict_proba(X)[:, 1]
    drivers = explain_drivers(fitted[chosen], X, y, seed=seed, max_customers=max_customers)
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
                warnings.append(Message(N_("{count} scored customers have no customer value; their value at risk "
                                           "uses {basis} instead."), count=missing, basis=Message(fallback_basis)))
                if fallback is not None:
                    values = values.fillna(fallback.reindex(ids))
            return values.fillna(0.0), CLV_BASIS
    if fallback is None:
        warnings.append(Message(N_("No CLV and no spend figure: value at risk is the churn probability itself "
                                   "(expected lost customers).")))
        return pd.Series(1.0, index=ids), ONE_CUSTOMER
    warnings.append(Message(N_("Customer values are not available, so value at risk = churn probability × {basis}."),
                            basis=Message(fallback_basis)))
    return fallback.reindex(ids).fillna(0.0), fallback_basis


def _scores(ids: pd.Index, probability: np.ndarray, value: pd.Series, extra: dict[str, Any]) -> pd.DataFrame:
    scores = pd.DataFrame({"customer_id": ids.astype(str), "churn_probability": probability})
    scores["risk_tier"] = risk_tier(scores["churn_probability"]).to_numpy()
    scores["value"] = value.reindex(ids).to_numpy()
    scores["value_at_risk"] = scores["churn_probability"] * scores["value"]
    for k, v in extra.items():
        scores[k] = pd.Series(v).reindex(ids).to_numpy()
    return scores.sort_values("value_at_risk", ascending=False).reset_index(drop=True)


def _sample(X: pd.DataFrame, y: pd.Series, max_customers: int | None, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """``X, y`` themselves, or a seeded sample of ``max_customers`` customers stratified by ``y``."""
    if max_customers is None or len(y) <= int(max_customers):
        return X, y
    rows = sample_customers(pd.DataFrame({"churned": y.to_numpy()}), int(max_customers), stratify="churned",
                            seed=seed).index.to_numpy()
    return X.iloc[rows], y.iloc[rows]


def _out_of_fold(model: Any, X: pd.DataFrame, y: pd.Series, max_customers: int | None, seed: int) -> pd.Series:
    """Every customer's churn probability from a model that did not see them: 3-fold out of fold
    on ``X`` (on a sample of ``max_customers`` when larger; the others by a model fitted on that sample)."""
    fit_X, fit_y = _sample(X, y, max_customers, seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    oof = pd.Series(cross_val_predict(model, fit_X, fit_y, cv=folds, method="predict_proba")[:, 1], index=fit_X.index)
    if len(fit_X) == len(X):
        return oof
    rest = X.drop(index=fit_X.index)
    fitted = clone(model).fit(fit_X, fit_y)
    others = pd.Series(in_batches(lambda block: fitted.predict_proba(block)[:, 1], rest), index=rest.index)
    return pd.concat([oof, others]).reindex(X.index)


def _run_table(transactions, as_of, table, clv, control_share, max_targets, seed, warnings, notes,
               max_customers=DEFAULT_MAX_CUSTOMERS) -> ChurnResult:
    data = table.set_index("customer_id")
    y = data.pop(LABEL).astype(int)
    X = data
    if X.shape[1] == 0:
        raise DataError("the customer table has no usable attribute columns besides the churn flag")
    if y.nunique() < 2 or y.value_counts().min() < 20:
        raise DataError("the churn flag needs at least 20 churned and 20 retained customers", column=LABEL)
    X_train, X_eval, y_train, y_eval = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    notes.append(Message(N_("Subscription data has no time axis here, so the evaluation set is a random, stratified "
                            "25 % of customers held out from training.")))
    X_fit, y_fit = _sample(X_train, y_train, max_customers, seed)
    chosen, fitted, threshold, _ = _select_and_fit(X_fit, y_fit, seed, notes)
    tenure = next((c for c in X.columns if "tenure" in c and pd.api.types.is_numeric_dtype(X[c])), None)
    baselines, flags = {}, {}
    if tenure:
        baselines["tenure"] = -X_eval[tenure]
        flags["tenure"] = X_eval[tenure] < X_train[tenure].median()
    if transactions is not None and len(transactions):
        warnings.append(Message(N_("Subscription data: the simple rules built on purchase dates need them per "
                                   "subscriber and are not computed; the model is compared with the rule \"shortest "
                                   "tenure\".")))
    else:
        warnings.append(Message(N_("Subscription data without purchase history: the model is compared with the rule "
                                   "\"shortest tenure\" only.")))
    ev = _evaluate(chosen, fitted, X_eval, y_eval, threshold, baselines, flags, seed, max_customers)
    # score current subscribers out of fold: nobody is scored by a model that saw them
    oof = _out_of_fold(make_models(X, seed)[chosen], X, y, max_customers, seed)
    current = y.index[y.to_numpy() == 0]
    probability = oof.reindex(current).to_numpy()
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
        eval_customers=len(X_eval), train_customers=len(X_fit), train_window_customers=len(X_train),
        cutoffs={"as_of": str(as_of.date())},
        trend=None, value_basis=basis, warnings=warnings, notes=notes, **ev)


def _quality_warnings(ev: dict[str, Any], chosen: str, warnings: list[str]) -> None:
    """Plain-words caveats when the model does no better than a simple rule, or the check is small or weak."""
    mine = ev["evaluation"][chosen]["roc_auc"]
    for name in BASELINES:
        other = ev["evaluation"].get(name, {}).get("roc_auc")
        if mine is not None and other is not None and mine <= other:
            warnings.append(Message(N_("The churn model ranks leavers no better than the simple rule \"{rule}\" "
                                       "({model_auc:.0%} vs {rule_auc:.0%} of leaver-stayer pairs in the right order); "
                                       "prefer the rule."), rule=Message(BASELINE_WORDS[name]), model_auc=mine,
                                    rule_auc=other))
    n_eval = int(ev["lift"]["customers"].sum())
    if n_eval < 200:
        warnings.append(Message(N_("The churn model was checked on only {count} customers, so its quality figures "
                                   "are rough."), count=n_eval))
    if mine is not None and mine < 0.6:
        warnings.append(Message(N_("The churn model tells leavers from stayers only weakly (a random leaver is ranked "
                                   "above a random stayer {auc:.0%} of the time; a coin toss gets 50 %)."), auc=mine))


MODEL_NAMES = {ACTIVITY: N_("activity model"), "logistic_regression": N_("logistic regression"),
               "gradient_boosting": N_("gradient boosting"), "recency": N_("recency rule"),
               "p_alive": N_("1 - P(alive) rule"), "tenure": N_("short-tenure rule")}
#: the naive rules in a manager's words (message ids: shown through ``_()``)
BASELINE_WORDS = {"recency": N_("longest since the last purchase"), "p_alive": N_("least likely still active"),
                  "tenure": N_("shortest tenure")}
