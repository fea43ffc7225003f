"""Customer lifetime value: BTYD purchase models, Gamma-Gamma spend, validation, equity.

Everything fits on :mod:`lifetimes`' own fitters; this module adds what a report needs
around them:

* fits on the unique ``(frequency, recency, T)`` rows with weights (Fader & Hardie's
  condensed form; ``benchmarks/bench_clv_fit.py`` measures the speed-up);
* a documented fallback ladder for real data that defeats the plain fit (see
  :func:`fit_with_fallback`), with parameters at their bounds flagged;
* a calibration / holdout split (:func:`calibration_holdout`) built on
  :func:`crmlib.segmentation.btyd_summary`, and holdout errors per model;
* per-customer values at ``as_of`` (expected purchases, P(alive), expected spend,
  discounted CLV, tier), customer equity, its split by segment and a retention what-if.

Notebook ``03_clv`` calls :func:`run_clv` and reads its result.

References
----------
* Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
  to the Pareto/NBD model", Marketing Science 24(2) - BG/NBD.
* Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and
  what will they do next?", Management Science 33(1) - Pareto/NBD.
* Batislam, Denizel & Filiztekin (2007), and Wagner & Hoppe (2008) - modified BG/NBD.
* Fader & Hardie (2013), "The Gamma-Gamma model of monetary value",
  http://www.brucehardie.com/notes/025/ - Gamma-Gamma.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmlib.errors import DataError, ModelError

#: model name -> (lifetimes fitter class name, parameter names), in preference order
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bgnbd": ("BetaGeoFitter", ("r", "alpha", "a", "b")),
    "pareto_nbd": ("ParetoNBDFitter", ("r", "alpha", "s", "beta")),
    "mbgnbd": ("ModifiedBetaGeoFitter", ("r", "alpha", "a", "b")),
}
MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "Modified BG/NBD",
                "gamma_gamma": "Gamma-Gamma"}
#: days per time unit of the summaries (as in crmlib.segmentation)
UNIT_DAYS = {"D": 1.0, "W": 7.0}
DAYS_PER_MONTH = 365.25 / 12
#: penalizers tried, in order, by the fallback ladder
PENALIZERS: tuple[float, ...] = (0.001, 0.01, 0.1)
#: a shape parameter below/above these is "at its bound" (the optimiser ran off to 0 or
#: infinity); scale parameters (alpha, beta, v) are compared after dividing by the
#: longest customer age (or the mean spend for v)
BOUND_LOW, BOUND_HIGH = 1e-3, 1e3
SCALE_PARAMS = {"alpha", "beta", "v"}
#: CLV tiers: (label, cumulative share of customers ranked by CLV)
DEFAULT_TIERS: tuple[tuple[str, float], ...] = (("top 1%", 0.01), ("next 4%", 0.05), ("next 15%", 0.20))
REST_TIER = "rest"
#: |correlation| of frequency and average spend above which Gamma-Gamma's
#: independence assumption is reported as failed
INDEPENDENCE_THRESHOLD = 0.3
#: mean P(alive) at or above which the data is said to show no measurable drop-out
NO_DROPOUT_P_ALIVE = 0.99
FREQUENCY_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 7)  # the last bucket is "7+"
SELECTION_RULE = (
    "The model used for CLV is the one with the lowest relative holdout error: the "
    "per-customer mean absolute error (MAE) of predicted vs actual holdout purchases, "
    "divided by the mean actual holdout purchases (so fits on daily and on weekly purchase "
    "occasions compare fairly), among models whose final fit converged with no parameter "
    "at a bound; when no model qualifies, among the models whose final fit is usable at "
    "all (and the report says so)."
)
RETENTION_ASSUMPTIONS = (
    "Survival means a customer's probability of still being an active customer (P(alive)) at the analysis date.",
    "The uplift adds the same number of percentage points to every customer's P(alive), capped at 100%.",
    "An active customer keeps the buying rate and average spend the model expects; only the share of "
    "customers still active changes.",
    "Each customer's CLV is proportional to P(alive) (true of BG/NBD, Pareto/NBD and their variants: "
    "expected purchases = P(alive) x expected purchases if alive).",
    "The cost of achieving the uplift is not included: compare the gain with what a retention programme costs.",
)


# --------------------------------------------------------------------------- helpers
def _fitter_class(model: str) -> type:
    if model not in MODELS:
        raise ModelError(f"unknown model '{model}'; allowed: {', '.join(MODELS)}")
    import lifetimes

    return getattr(lifetimes, MODELS[model][0])


def _check_summary(summary: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError("customer summary lacks a column the model needs", column=missing[0],
                        hint="build it with crmlib.segmentation.btyd_summary")
    if summary.empty:
        raise DataError("no customers to fit the model on (empty summary)",
                        hint="check that the transactions have customer ids before as_of")


def compress_summary(summary: pd.DataFrame, columns: Sequence[str] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Unique rows of ``columns`` with a ``weight`` column (how many customers share them).

    Fader & Hardie fit BTYD models on this condensed form: every customer with the same
    history contributes the same likelihood term, so the weighted fit maximises exactly
    the same likelihood as the per-customer fit, on far fewer rows.
    """
    _check_summary(summary, columns)
    grouped = summary.groupby(list(columns), sort=True, observed=True).size()
    return grouped.rename("weight").reset_index()


def _at_bounds(params: Mapping[str, float], scale: float) -> list[str]:
    flagged = []
    for name, value in params.items():
        v = value / scale if name in SCALE_PARAMS else value
        if not np.isfinite(v) or v < BOUND_LOW or v > BOUND_HIGH:
            flagged.append(name)
    return flagged


@contextlib.contextmanager
def _quiet():
    """Silence lifetimes' prints and numpy warnings while the optimiser explores."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------- one fit
@dataclass
class ModelFit:
    """One purchase-model fit on one customer summary (one rung of the ladder).

    Attributes: ``model`` (bgnbd, pareto_nbd, mbgnbd), ``fitter`` (the fitted lifetimes
    object, ``None`` when the fit failed), ``summary`` (the customers it was fitted on,
    indexed by customer id), ``time_unit``, ``occasion`` ("day" or "week": what counts
    as one purchase), ``penalizer``, ``converged``, ``at_bounds`` (parameters that ran to
    0 or infinity), ``log_likelihood`` (unpenalised, in the summary's time unit),
    ``fallback`` (the ladder rung used, ``None`` for the plain fit), ``tried`` (every
    rung tried, with its outcome), ``message`` (why a fit is not usable) and ``defined``
    (False when the parameters make the model's predictions 0/0 or infinite).
    """

    model: str
    fitter: Any
    summary: pd.DataFrame
    time_unit: str = "W"
    occasion: str = "day"
    penalizer: float = 0.0
    converged: bool = False
    at_bounds: list[str] = field(default_factory=list)
    log_likelihood: float | None = None
    fallback: str | None = None
    tried: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    defined: bool = True  # the fitted model's predictions are finite for these customers

    @property
    def usable(self) -> bool:
        """Converged, and gives finite predictions (parameters at a bound can make the
        model's formulas 0/0, e.g. BG/NBD with a and b both near 0)."""
        return self.converged and self.fitter is not None and self.defined

    @property
    def clean(self) -> bool:
        """Converged with no parameter at a bound."""
        return self.usable and not self.at_bounds

    @property
    def params(self) -> dict[str, float] | None:
        if self.fitter is None:
            return None
        return {k: float(v) for k, v in self.fitter.params_.items()}

    def expected_purchases(self, t: float | np.ndarray, summary: pd.DataFrame | None = None) -> pd.Series:
        """Expected repeat purchases in the next ``t`` time units, per customer (eq. 10 of
        Fader, Hardie & Lee 2005 for BG/NBD; eq. 41 of Fader & Hardie's Pareto/NBD note)."""
        s = self.summary if summary is None else summary
        with _quiet():
            values = self.fitter.conditional_expected_number_of_purchases_up_to_time(
                t, s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy())
        return pd.Series(np.asarray(values, dtype="float64"), index=s.index, name="expected_purchases")

    def p_alive(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still active at the end of their summary."""
        s = self.summary if summary is None else summary
        with _quiet():
            values = self.fitter.conditional_probability_alive(
                s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy())
        values = np.clip(np.nan_to_num(np.asarray(values, dtype="float64"), nan=1.0), 0.0, 1.0)
        return pd.Series(values, index=s.index, name="p_alive")


def _log_likelihood(model: str, params: Mapping[str, float], rows: pd.DataFrame) -> float:
    """Unpenalised log-likelihood in the rows' own time unit (comparable to the papers)."""
    cls = _fitter_class(model)
    f, r, T, w = (rows[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T", "weight"))
    values = np.array([params[n] for n in MODELS[model][1]])
    with _quiet():
        if model == "pareto_nbd":
            return float((w * cls._conditional_log_likelihood(values, f, r, T)).sum())
        return float(-cls._negative_log_likelihood(np.log(values), f, r, T, w, 0.0) * w.sum())


def fit_model(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    *,
    penalizer: float = 0.0,
    compress: bool = True,
    time_unit: str = "W",
    occasion: str = "day",
) -> ModelFit:
    """Fit one purchase model on a customer summary (``frequency, recency, T``).

    With ``compress=True`` (the default) the fit runs on the unique
    ``(frequency, recency, T)`` rows with their counts as lifetimes' ``weights``: the
    same maximum-likelihood estimate, much faster on large customer bases.
    A fit that does not converge does not raise: it returns ``converged=False`` with
    the optimiser's complaint in ``message`` (see :func:`fit_with_fallback`).

    Assumptions of the models (each fitter's docstring in lifetimes has the details):

    1. While active, a customer buys at a steady Poisson rate; rates differ between
       customers following a gamma distribution (all three models).
    2. BG/NBD: after each purchase a customer may drop out for good with probability
       p, which differs between customers following a beta distribution (Fader, Hardie
       & Lee 2005). Modified BG/NBD: the same, but a customer may also drop out before
       the first repeat purchase (Batislam et al. 2007).
    3. Pareto/NBD: each customer's lifetime is exponential, with dropout rates following
       a gamma distribution (Schmittlein, Morrison & Colombo 1987).
    4. Buying rate and dropout are independent of each other.
    """
    cls = _fitter_class(model)
    _check_summary(summary, ("frequency", "recency", "T"))
    rows = (compress_summary(summary) if compress
            else summary[["frequency", "recency", "T"]].assign(weight=1).reset_index(drop=True))
    kwargs: dict[str, Any] = {}
    if model == "pareto_nbd":
        # lifetimes starts Pareto/NBD from random values; a fixed start keeps runs repeatable
        kwargs = {"initial_params": np.ones(4), "iterative_fitting": 1}
    fitter = cls(penalizer_coef=penalizer)
    fit = ModelFit(model=model, fitter=None, summary=summary, time_unit=time_unit,
                   occasion=occasion, penalizer=penalizer)
    try:
        with _quiet():
            fitter.fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["weight"].to_numpy(), **kwargs)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # ConvergenceError is a ValueError
        fit.message = " ".join(str(exc).split()) or type(exc).__name__
        return fit
    params = {k: float(v) for k, v in fitter.params_.items()}
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        fit.message = f"the optimiser returned unusable parameters {params}"
        return fit
    fit.fitter = fitter
    fit.converged = True
    fit.at_bounds = _at_bounds(params, float(rows["T"].max()) or 1.0)
    ll = _log_likelihood(model, params, rows)
    fit.log_likelihood = ll if np.isfinite(ll) else None
    f, r, T = (rows[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    with _quiet():
        probe = np.r_[fitter.conditional_expected_number_of_purchases_up_to_time(float(T.max()), f, r, T),
                      fitter.conditional_probability_alive(f, r, T)]
    if not np.all(np.isfinite(probe)):
        fit.defined = False
        fit.message = (f"the fit ran to parameters at their bounds ({', '.join(fit.at_bounds) or 'none flagged'}) "
                       "where the model's predictions are undefined")
    return fit


# --------------------------------------------------------------------------- ladder
def _occasion_transactions(transactions: pd.DataFrame, occasion: str) -> pd.DataFrame:
    """Transactions with dates coarsened so that one purchase occasion is a ``occasion``."""
    if occasion == "day":
        return transactions
    if occasion == "week":
        cols = [c for c in ("customer_id", "invoice_date", "amount") if c in transactions.columns]
        out = transactions[cols].copy()
        dates = pd.to_datetime(out["invoice_date"]).dt.normalize()
        out["invoice_date"] = dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")  # the week's Monday
        return out
    raise ModelError(f"unknown purchase occasion '{occasion}'; allowed: day, week")


def ladder_rungs(penalizers: Sequence[float] = PENALIZERS) -> list[dict[str, Any]]:
    """The fallback ladder, in the order it is tried.

    1. ``plain``: maximum likelihood on daily purchase occasions (the textbook fit).
    2. ``weekly occasions``: the time unit of a purchase occasion becomes a calendar
       week (purchases in the same week merged), which removes day-level noise that can
       stop the optimiser (a change of the *measuring* unit alone, days vs weeks, does
       not change the fit: lifetimes rescales time).
    3. ``penalizer`` 0.001, 0.01, 0.1: an L2 penalty on the parameters (lifetimes'
       ``penalizer_coef``) that keeps the optimiser away from infinity. Tried only while
       no earlier rung gave a usable fit: the penalty shrinks every parameter towards
       zero, so it can rescue an optimiser that runs off to infinity but cannot lift a
       drop-out parameter off zero.
    4. The last rung, another model, is taken by :func:`choose_model` across models.
    """
    rungs = [{"name": None, "occasion": "day", "penalizer": 0.0},
             {"name": "weekly occasions", "occasion": "week", "penalizer": 0.0}]
    rungs += [{"name": f"penalizer {p:g}", "occasion": "day", "penalizer": float(p)} for p in penalizers]
    return rungs


def fit_with_fallback(
    transactions: pd.DataFrame,
    as_of: Any,
    model: str = "bgnbd",
    *,
    time_unit: str = "W",
    penalizers: Sequence[float] = PENALIZERS,
    summary: pd.DataFrame | None = None,
) -> ModelFit:
    """Fit ``model`` with the documented fallback ladder (:func:`ladder_rungs`).

    The first rung whose fit converges with no parameter at a bound is used. When no
    rung gets there, the first rung that converged at all is used, with its parameters
    at bounds listed in ``at_bounds`` (the report then carries a caveat). When nothing
    converges the returned fit has ``converged=False`` (never an exception): the next
    rung, another model, is :func:`choose_model`'s job.

    ``summary`` may pass the daily-occasion summary when the caller already has it.
    """
    from crmlib.segmentation import btyd_summary

    summaries: dict[str, pd.DataFrame] = {}
    if summary is not None:
        summaries["day"] = summary
    tried: list[dict[str, Any]] = []
    fits: list[ModelFit] = []
    for rung in ladder_rungs(penalizers):
        if rung["penalizer"] > 0 and any(f.usable for f in fits):
            break
        occ = rung["occasion"]
        if occ not in summaries:
            summaries[occ] = btyd_summary(_occasion_transactions(transactions, occ), as_of, time_unit=time_unit)
        fit = fit_model(summaries[occ], model, penalizer=rung["penalizer"], time_unit=time_unit, occasion=occ)
        fit.fallback = rung["name"]
        tried.append({"rung": rung["name"] or "plain", "converged": fit.converged, "usable": fit.usable,
                      "at_bounds": list(fit.at_bounds), "message": fit.message})
        fits.append(fit)
        if fit.clean:
            break
    chosen = (next((f for f in fits if f.clean), None) or next((f for f in fits if f.usable), None)
              or next((f for f in fits if f.converged), fits[0]))
    chosen.tried = tried
    return chosen


# --------------------------------------------------------------------------- spend
@dataclass
class SpendFit:
    """Gamma-Gamma fit of average spend per purchase (repeat buyers only)."""

    fitter: Any
    converged: bool
    at_bounds: list[str]
    log_likelihood: float | None
    population_mean: float | None
    n_customers: int
    message: str = ""

    @property
    def params(self) -> dict[str, float] | None:
        return None if self.fitter is None else {k: float(v) for k, v in self.fitter.params_.items()}

    def expected_avg_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Expected average spend per future purchase (eq. 5 of Fader & Hardie's note):
        a weighted mean of the customer's own average and the population mean, the more
        repeat purchases the more weight on the customer's own. Customers without repeat
        purchases get the population mean. Without a usable fit: the customer's own
        average, or the mean over repeat buyers."""
        f = summary["frequency"].to_numpy(dtype="float64")
        m = summary["monetary_value"].to_numpy(dtype="float64")
        if self.fitter is not None and self.converged:
            values = np.asarray(self.fitter.conditional_expected_average_profit(f, m), dtype="float64")
        else:
            fallback = float(m[f > 0].mean()) if (f > 0).any() else 0.0
            values = np.where(f > 0, m, fallback)
        return pd.Series(values, index=summary.index, name="expected_avg_spend")


def fit_spend(summary: pd.DataFrame, *, penalizer: float = 0.0) -> SpendFit:
    """Fit the Gamma-Gamma model of spend on repeat buyers (``frequency > 0``).

    Assumptions (Fader & Hardie 2013, http://www.brucehardie.com/notes/025/):

    1. A customer's spend per purchase varies around their own mean spend (gamma with
       shape p).
    2. Mean spend differs between customers following an inverse-gamma-like mixing
       distribution (gamma with shape q and scale v on the rate).
    3. Spend per purchase is independent of how often a customer buys (check it with
       :func:`spend_independence`).
    4. Only repeat purchases are used (the first one often differs); ``monetary_value``
       is the mean value of a customer's repeat purchase occasions.
    """
    from lifetimes import GammaGammaFitter

    _check_summary(summary, ("frequency", "monetary_value"))
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    n = len(repeat)
    if n < 10:
        return SpendFit(None, False, [], None, None, n, f"only {n} repeat buyers with spend")
    rows = compress_summary(repeat, ("frequency", "monetary_value"))
    fitter = GammaGammaFitter(penalizer_coef=penalizer)
    try:
        with _quiet():
            fitter.fit(rows["frequency"], rows["monetary_value"], weights=rows["weight"].to_numpy(), q_constraint=True)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return SpendFit(None, False, [], None, None, n, " ".join(str(exc).split()))
    p, q, v = (float(fitter.params_[k]) for k in ("p", "q", "v"))
    at_bounds = _at_bounds({"p": p, "q": q, "v": v}, float(repeat["monetary_value"].mean()))
    with _quiet():
        ll = -fitter._negative_log_likelihood(
            np.log([p, q, v]), rows["frequency"].to_numpy(dtype="float64"),
            rows["monetary_value"].to_numpy(dtype="float64"), rows["weight"].to_numpy(), 0.0) * rows["weight"].sum()
    population_mean = v * p / (q - 1) if q > 1 else None
    converged = population_mean is not None and np.isfinite(population_mean) and population_mean > 0
    return SpendFit(fitter, bool(converged), at_bounds, float(ll), population_mean, n,
                    "" if converged else "q <= 1: the model implies an infinite mean spend")


def spend_independence(summary: pd.DataFrame, threshold: float = INDEPENDENCE_THRESHOLD) -> dict[str, Any]:
    """Check Gamma-Gamma's assumption that spend per purchase is independent of frequency.

    Pearson correlation of ``frequency`` and ``monetary_value`` over repeat buyers
    (Fader & Hardie's note shows 0.11 on CDNOW), plus Spearman's rank correlation
    (robust to a few very large spenders). The assumption is reported as failed when
    either ``|correlation|`` exceeds ``threshold`` (0.3: a moderate correlation).
    """
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 3:
        return {"pearson": None, "spearman": None, "n_customers": len(repeat), "holds": None,
                "message": "Too few repeat buyers to check whether spend depends on frequency."}
    pearson = float(repeat["frequency"].corr(repeat["monetary_value"]))
    spearman = float(repeat["frequency"].corr(repeat["monetary_value"], method="spearman"))
    holds = bool(max(abs(pearson), abs(spearman)) <= threshold)
    if holds:
        message = (f"Spend per purchase barely moves with purchase frequency (correlation {pearson:.2f}, "
                   f"rank correlation {spearman:.2f} over {len(repeat):,} repeat buyers), as the spend "
                   "model assumes.")
    else:
        message = (f"Spend per purchase is linked to purchase frequency (correlation {pearson:.2f}, rank "
                   f"correlation {spearman:.2f} over {len(repeat):,} repeat buyers): the Gamma-Gamma spend "
                   "model assumes they are independent, so expected spend, and CLV, are less reliable "
                   f"for {'frequent' if (pearson + spearman) > 0 else 'infrequent'} buyers.")
    return {"pearson": pearson, "spearman": spearman, "n_customers": len(repeat), "holds": holds,
            "message": message}


# --------------------------------------------------------------------------- validation
def calibration_holdout(
    transactions: pd.DataFrame,
    calibration_end: Any,
    holdout_end: Any,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Calibration summary plus what each calibration customer did in the holdout.

    The pandas-3-safe counterpart of ``lifetimes.utils.calibration_and_holdout_data``:
    columns ``frequency_cal, recency_cal, T_cal, monetary_value_cal`` (from
    :func:`crmlib.segmentation.btyd_summary` at ``calibration_end``),
    ``frequency_holdout`` (purchase occasions, i.e. distinct purchase days, in
    ``(calibration_end, holdout_end]``), ``monetary_value_holdout`` (their mean value;
    lifetimes averages the raw rows instead, which for invoice lines would be a line
    value) and ``duration_holdout`` (holdout length in ``time_unit``).
    Customers whose first purchase falls in the holdout are not in the frame.
    """
    from crmlib.segmentation import TIME_UNITS, btyd_summary

    cal_end = pd.Timestamp(calibration_end).normalize()
    end = pd.Timestamp(holdout_end).normalize()
    if end <= cal_end:
        raise DataError(f"holdout end {end.date()} must be after the calibration end {cal_end.date()}")
    cal = btyd_summary(transactions, cal_end, time_unit=time_unit).add_suffix("_cal")
    days = pd.to_datetime(transactions["invoice_date"]).dt.normalize()
    inside = (days > cal_end) & (days <= end) & transactions["customer_id"].isin(cal.index)
    occasions = (
        transactions.loc[inside, ["customer_id", "amount"]]
        .assign(day=days[inside])
        .groupby(["customer_id", "day"], observed=True, sort=False)["amount"].sum()
        .groupby(level=0, observed=True, sort=False)
        .agg(["size", "mean"])
    )
    out = cal.copy()
    out["frequency_holdout"] = occasions["size"].reindex(cal.index).fillna(0).astype("float64")
    out["monetary_value_holdout"] = occasions["mean"].reindex(cal.index).fillna(0.0).astype("float64")
    out["duration_holdout"] = float((end - cal_end).days) / TIME_UNITS[time_unit]
    return out


def frequency_bucket(frequency: pd.Series, buckets: Sequence[int] = FREQUENCY_BUCKETS) -> pd.Series:
    """Calibration-frequency bucket labels: '0', '1', ..., and 'N+' for the last one."""
    top = buckets[-1]
    labels = [str(b) for b in buckets[:-1]] + [f"{top}+"]
    return pd.Categorical(
        np.where(frequency >= top, f"{top}+", frequency.clip(upper=top).astype(int).astype(str)),
        categories=labels, ordered=True)


@dataclass
class Validation:
    """Holdout check of one purchase model (fitted on the calibration period)."""

    model: str
    fit: ModelFit
    frame: pd.DataFrame  # per customer: frequency_cal, actual, predicted
    mae: float | None
    rmse: float | None
    actual_total: float
    predicted_total: float

    @property
    def relative_mae(self) -> float | None:
        """MAE divided by the mean actual holdout purchases (scale-free)."""
        mean_actual = self.actual_total / max(len(self.frame), 1)
        return None if self.mae is None or mean_actual <= 0 else self.mae / mean_actual

    def by_bucket(self) -> pd.DataFrame:
        """Mean actual vs predicted holdout purchases by calibration-frequency bucket."""
        f = self.frame.assign(bucket=frequency_bucket(self.frame["frequency_cal"]))
        return (f.groupby("bucket", observed=False)
                .agg(customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")))


def validate(
    transactions: pd.DataFrame,
    model: str,
    calibration_end: Any,
    holdout_end: Any,
    *,
    time_unit: str = "W",
    penalizers: Sequence[float] = PENALIZERS,
    like: ModelFit | None = None,
) -> Validation:
    """Fit ``model`` on the calibration period and score the holdout.

    With ``like`` (usually the final fit), the calibration fit first tries the same rung
    (purchase occasion and penalizer), so that the configuration that produces the CLV
    is the one validated; when that rung is not usable there, or without ``like``, the
    whole ladder runs (:func:`fit_with_fallback`).
    Errors are per customer: MAE and RMSE of predicted vs actual holdout purchase
    occasions (counted the way the fit counted them: daily or weekly occasions).
    """
    from crmlib.segmentation import btyd_summary

    cal_end = pd.Timestamp(calibration_end).normalize()
    cal_tx = transactions[pd.to_datetime(transactions["invoice_date"]).dt.normalize() <= cal_end]
    fit = None
    if like is not None and like.usable:
        summary = btyd_summary(_occasion_transactions(cal_tx, like.occasion), cal_end, time_unit=time_unit)
        fit = fit_model(summary, model, penalizer=like.penalizer, time_unit=time_unit, occasion=like.occasion)
        fit.fallback = like.fallback
        if not fit.usable:
            fit = None
    if fit is None:
        fit = fit_with_fallback(cal_tx, cal_end, model, time_unit=time_unit, penalizers=penalizers)
    ch = calibration_holdout(_occasion_transactions(transactions, fit.occasion), cal_end, holdout_end, time_unit)
    actual = ch["frequency_holdout"]
    frame = pd.DataFrame({"frequency_cal": ch["frequency_cal"], "actual": actual})
    if fit.usable:
        predicted = fit.expected_purchases(float(ch["duration_holdout"].iloc[0]), fit.summary).reindex(ch.index)
        frame["predicted"] = predicted
        err = (predicted - actual).to_numpy()
        mae, rmse = float(np.nanmean(np.abs(err))), float(np.sqrt(np.nanmean(err ** 2)))
        pred_total = float(predicted.sum())
    else:
        frame["predicted"] = np.nan
        mae = rmse = None
        pred_total = float("nan")
    return Validation(model, fit, frame, mae, rmse, float(actual.sum()), pred_total)


def cumulative_tracking(
    validation: Validation,
    transactions: pd.DataFrame,
    holdout_end: Any,
    *,
    freq: str = "W",
) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration customers, actual vs model, by week.

    Actual: each customer's purchase occasions after their first, counted cumulatively.
    Predicted: the sum over customers of the model's *unconditional* expected repeat
    purchases since their first purchase (the tracking plot of Fader, Hardie & Lee 2005,
    fig. 2); it uses no holdout information.
    """
    fit = validation.fit
    end = pd.Timestamp(holdout_end).normalize()
    unit = UNIT_DAYS[fit.time_unit]
    summary = fit.summary
    tx = _occasion_transactions(transactions, fit.occasion)
    days = pd.to_datetime(tx["invoice_date"]).dt.normalize()
    keep = tx["customer_id"].isin(summary.index) & (days <= end)
    occ = pd.DataFrame({"customer_id": tx.loc[keep, "customer_id"].to_numpy(), "day": days[keep].to_numpy()})
    occ = occ.drop_duplicates().sort_values(["customer_id", "day"])
    repeat_days = occ.loc[occ.duplicated("customer_id"), "day"]
    grid = pd.date_range(occ["day"].min(), end, freq=freq)
    if len(grid) == 0 or grid[-1] < end:
        grid = grid.append(pd.DatetimeIndex([end]))
    actual = np.searchsorted(np.sort(repeat_days.to_numpy()), grid.to_numpy(), side="right")
    first = occ.groupby("customer_id", sort=False)["day"].min()
    births = first.value_counts()
    ages = (grid.to_numpy()[None, :] - births.index.to_numpy()[:, None]) / np.timedelta64(1, "D") / unit
    ages = np.clip(ages, 0.0, None)
    predicted = np.full(len(grid), np.nan)
    if fit.usable:
        with _quiet():
            expected = np.asarray(fit.fitter.expected_number_of_purchases_up_to_time(ages.ravel()), dtype="float64")
        predicted = (expected.reshape(ages.shape) * births.to_numpy()[:, None]).sum(axis=0)
    return pd.DataFrame({"date": grid, "actual": actual.astype("float64"), "predicted": predicted})


def choose_model(validations: Mapping[str, Validation], fits: Mapping[str, ModelFit]) -> tuple[str, str | None]:
    """Pick the model for CLV by :data:`SELECTION_RULE`; returns ``(model, note)``.

    ``note`` says in plain words when the choice had to fall back (no clean model, or
    no holdout errors), else ``None``. Raises :class:`ModelError` when no model
    converged at all.
    """
    def mae(name: str) -> float:
        v = validations.get(name)
        return v.relative_mae if v is not None and v.relative_mae is not None else np.inf

    clean = [m for m in fits if fits[m].clean]
    usable = [m for m in fits if fits[m].usable]
    if not usable:
        raise ModelError("no purchase model could be fitted to this data, even after the fallback ladder: "
                         + "; ".join(f"{MODEL_LABELS[m]}: {fits[m].message}" for m in fits))
    pool = clean or usable
    best = min(pool, key=lambda m: (mae(m), list(MODELS).index(m)))
    note = None
    if not clean:
        note = (f"No purchase model fitted this data cleanly (every fit has a parameter at a bound); "
                f"{MODEL_LABELS[best]} is used because it had the lowest holdout error among those that converged.")
    if not np.isfinite(mae(best)):
        note = (note + " " if note else "") + ("No holdout error could be measured, so the model was taken "
                                                "in the preference order BG/NBD, Pareto/NBD, modified BG/NBD.")
    return best, note


# --------------------------------------------------------------------------- values
def assign_tiers(clv: pd.Series, tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS, rest: str = REST_TIER) -> pd.Series:
    """CLV tier per customer: ``tiers`` are (label, cumulative share of customers ranked
    by CLV, highest first), e.g. top 1% / next 4% / next 15% / rest. Ties are broken by
    order of appearance so the shares are exact."""
    shares = [float(s) for _, s in tiers]
    if any(b <= a for a, b in zip(shares, shares[1:])) or not all(0 < s <= 1 for s in shares):
        raise ModelError(f"clv tiers must have increasing cumulative shares in (0, 1]; got {list(tiers)}")
    labels = [label for label, _ in tiers] + [rest]
    n = len(clv)
    rank = clv.rank(ascending=False, method="first").to_numpy() / max(n, 1)
    idx = np.searchsorted(np.asarray(shares), rank, side="left")
    # a customer whose rank share equals the boundary belongs to that tier
    return pd.Series(pd.Categorical(np.asarray(labels, dtype=object)[idx], categories=labels, ordered=True),
                     index=clv.index, name="clv_tier")


def customer_values(
    fit: ModelFit,
    spend: SpendFit,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    spend_summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-customer values at the fit's ``as_of``.

    Columns: ``customer_id``, ``p_alive``, ``expected_purchases`` (over
    ``horizon_months``), ``expected_avg_spend``, ``clv``, ``clv_tier``.

    CLV is the discounted sum over months m = 1..H of expected purchases in month m x
    expected average spend / (1 + discount_rate)^m (the monthly discounting of
    lifetimes' ``customer_lifetime_value``, with months of 365.25/12 days).
    Assumptions: 1. spend and purchase count are independent (Gamma-Gamma); 2. CLV is
    revenue, not margin (multiply by a margin to get profit); 3. only customers seen up
    to ``as_of`` are valued (no new customers).
    """
    if horizon_months < 1:
        raise ModelError(f"clv_horizon_months must be at least 1; got {horizon_months}")
    s = fit.summary
    unit = UNIT_DAYS[fit.time_unit]
    months = np.arange(1, int(horizon_months) + 1)
    cumulative = np.column_stack([fit.expected_purchases(m * DAYS_PER_MONTH / unit, s).to_numpy() for m in months])
    per_month = np.diff(np.column_stack([np.zeros(len(s)), cumulative]), axis=1)
    discount = (1.0 + discount_rate) ** -months.astype("float64")
    avg_spend = spend.expected_avg_spend(spend_summary if spend_summary is not None else s).reindex(s.index)
    out = pd.DataFrame({
        "customer_id": s.index.astype(str),
        "p_alive": fit.p_alive(s).to_numpy(),
        "expected_purchases": cumulative[:, -1],
        "expected_avg_spend": avg_spend.to_numpy(),
    })
    out["clv"] = (per_month * discount).sum(axis=1) * out["expected_avg_spend"].to_numpy()
    out["clv_tier"] = assign_tiers(out["clv"], tiers)
    return out


def equity_by_segment(values: pd.DataFrame, segments: pd.DataFrame | None, column: str = "segment") -> pd.DataFrame | None:
    """Customer equity (sum of CLV) by segment, largest first; ``None`` without segments."""
    if segments is None or column not in segments.columns:
        return None
    seg = segments.assign(customer_id=segments["customer_id"].astype(str)).set_index("customer_id")[column]
    joined = values.assign(segment=values["customer_id"].map(seg).astype("object").fillna("not segmented"))
    out = joined.groupby("segment", observed=True).agg(customers=("clv", "size"), equity=("clv", "sum"),
                                                       mean_clv=("clv", "mean"))
    out["share_of_equity"] = out["equity"] / out["equity"].sum() if out["equity"].sum() else 0.0
    return out.sort_values("equity", ascending=False)


def retention_what_if(values: pd.DataFrame, uplifts: Sequence[float] = (0.01, 0.05, 0.10)) -> pd.DataFrame:
    """Customer equity if every customer's survival (P(alive)) rose by each uplift.

    Under the BTYD models a customer's expected purchases, hence CLV, are P(alive) times
    what they would buy if alive, so CLV scales with min(P(alive) + uplift, 1) /
    P(alive). Assumptions: :data:`RETENTION_ASSUMPTIONS`.
    """
    p = values["p_alive"].to_numpy(dtype="float64")
    clv = values["clv"].to_numpy(dtype="float64")
    base = float(clv.sum())
    safe = np.where(p > 0, p, np.nan)
    rows = []
    for u in uplifts:
        factor = np.nan_to_num(np.minimum(safe + u, 1.0) / safe, nan=1.0)
        equity = float((clv * factor).sum())
        rows.append({"survival_uplift_points": round(100 * u, 2), "customer_equity": equity,
                     "gain": equity - base, "gain_pct": (equity / base - 1) if base else 0.0,
                     "customers_capped": int((p + u >= 1).sum())})
    return pd.DataFrame(rows)


def expectation_matrix(fit: ModelFit, kind: str = "purchases", t: float = 1.0, max_frequency: int | None = None,
                       max_recency: float | None = None, bins: int = 25) -> pd.DataFrame:
    """Frequency x recency matrix for a customer of age ``T = max_recency``.

    ``kind="purchases"``: expected purchases in the next ``t`` time units;
    ``kind="p_alive"``: probability of being active. Rows: recency (time units between
    first and last purchase, highest = bought recently), columns: frequency (repeat
    purchases). As in lifetimes' plot_frequency_recency_matrix, on a grid.
    """
    s = fit.summary
    max_frequency = int(max_frequency or min(s["frequency"].quantile(0.99), 60))
    max_recency = float(max_recency or s["T"].max())
    freqs = np.arange(0, max_frequency + 1)
    recs = np.linspace(0, max_recency, bins)
    F, R = np.meshgrid(freqs, recs)
    grid = pd.DataFrame({"frequency": F.ravel().astype("float64"), "recency": R.ravel(),
                         "T": np.full(F.size, max_recency)})
    grid.loc[grid["frequency"] == 0, "recency"] = 0.0
    values = fit.p_alive(grid) if kind == "p_alive" else fit.expected_purchases(t, grid)
    return pd.DataFrame(values.to_numpy().reshape(F.shape), index=np.round(recs, 1), columns=freqs)


# --------------------------------------------------------------------------- orchestration
@dataclass
class ClvResult:
    """Everything notebook 03 shows and writes (see :func:`run_clv`)."""

    as_of: pd.Timestamp
    time_unit: str
    summary: pd.DataFrame
    fits: dict[str, ModelFit]
    validations: dict[str, Validation]
    calibration_end: pd.Timestamp | None
    holdout_end: pd.Timestamp | None
    chosen_model: str
    spend: SpendFit
    spend_holdout_mae: float | None
    independence: dict[str, Any]
    customers: pd.DataFrame
    warnings: list[str]
    horizon_months: int
    discount_rate: float

    @property
    def chosen(self) -> ModelFit:
        return self.fits[self.chosen_model]

    @property
    def customer_equity(self) -> float:
        return float(self.customers["clv"].sum())

    def model_table(self) -> pd.DataFrame:
        """One row per model: fit outcome, rung used and holdout error."""
        rows = []
        for name, fit in self.fits.items():
            v = self.validations.get(name)
            rows.append({
                "model": MODEL_LABELS[name], "converged": fit.converged,
                "rung used": fit.fallback or ("plain" if fit.converged else "none converged"),
                "parameters at bounds": ", ".join(fit.at_bounds) or "-",
                "log-likelihood": None if fit.log_likelihood is None else round(fit.log_likelihood, 1),
                "holdout occasions": None if v is None else f"{v.fit.occasion}ly".replace("dayly", "daily"),
                "holdout predicted": None if v is None else round(v.predicted_total, 1),
                "holdout actual": None if v is None else round(v.actual_total, 1),
                "holdout MAE": None if v is None or v.mae is None else round(v.mae, 3),
                "holdout RMSE": None if v is None or v.rmse is None else round(v.rmse, 3),
                "used for CLV": name == self.chosen_model,
            })
        return pd.DataFrame(rows).set_index("model")

    def metrics(self) -> dict[str, Any]:
        """``metrics/03_clv.json`` in the shape the summary reads (issue: CLV)."""
        models: dict[str, Any] = {}
        for name, fit in self.fits.items():
            v = self.validations.get(name)
            if fit.usable:
                fallback = fit.fallback
            elif fit.converged:
                fallback = (f"{fit.fallback or 'plain'}: parameters at bounds make predictions undefined; "
                            "not used (another model is)")
            else:
                fallback = "none of the ladder's rungs converged; not used (another model is)"
            models[name] = {"params": fit.params if fit.converged else None,
                            "log_likelihood": fit.log_likelihood, "converged": fit.converged,
                            "at_bounds": list(fit.at_bounds), "fallback": fallback,
                            "holdout_mae": None if v is None else v.mae}
        sp = self.spend
        models["gamma_gamma"] = {"params": sp.params if sp.converged else None, "log_likelihood": sp.log_likelihood,
                                 "converged": sp.converged, "at_bounds": list(sp.at_bounds),
                                 "fallback": None if sp.converged else "customers' own average spend",
                                 "holdout_mae": self.spend_holdout_mae}
        return {"chosen_model": self.chosen_model, "time_unit": self.time_unit, "models": models,
                "customer_equity": self.customer_equity, "warnings": list(self.warnings)}


def no_dropout_caveat(horizon_months: int) -> str:
    return ("The data shows no measurable drop-out within this window: the models cannot tell how quickly "
            "customers stop buying, so they treat almost every customer as still active. Lifetime values "
            f"assume each customer keeps buying at their past rate for the next {horizon_months} months; "
            "they are an upper bound if customers in fact lapse. Re-check when more history is available.")


def run_clv(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    time_unit: str = "W",
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    holdout_months: int = 3,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    models: Sequence[str] = tuple(MODELS),
    penalizers: Sequence[float] = PENALIZERS,
) -> ClvResult:
    """The whole CLV analysis at ``as_of``: validation, model choice, final fits, values.

    1. Each model is fitted on all data up to ``as_of`` (:func:`fit_with_fallback`);
       these final fits give the reported parameters and the CLV.
    2. Calibration = data up to ``as_of`` minus ``holdout_months``; each usable model is
       refitted there (same rung first) and scored on the holdout (:func:`validate`).
    3. The CLV model is chosen by :data:`SELECTION_RULE` (:func:`choose_model`).
    4. Gamma-Gamma is fitted for spend, its independence assumption checked.
    5. Per-customer values (:func:`customer_values`) with tiers.
    Warnings in plain words are collected in ``warnings`` for the report.
    """
    from crmlib.segmentation import btyd_summary

    as_of_ts = pd.Timestamp(as_of).normalize()
    tx = transactions[transactions["customer_id"].notna()]
    tx = tx[pd.to_datetime(tx["invoice_date"]).dt.normalize() <= as_of_ts]
    if tx.empty:
        raise DataError("no transactions with a customer id up to the analysis date", column="customer_id")
    warns: list[str] = []
    summary = btyd_summary(tx, as_of_ts, time_unit=time_unit)

    fits = {m: fit_with_fallback(tx, as_of_ts, m, time_unit=time_unit, penalizers=penalizers, summary=summary)
            for m in models}
    validations: dict[str, Validation] = {}
    cal_end = hold_end = None
    spend_mae = None
    if holdout_months and holdout_months > 0:
        cal_end = (as_of_ts - pd.DateOffset(months=int(holdout_months))).normalize()
        first_day = pd.to_datetime(tx["invoice_date"]).min().normalize()
        if cal_end - first_day < pd.Timedelta(days=28):
            warns.append(f"Too little history before {cal_end.date()} to check the models on a "
                         f"{holdout_months}-month holdout; the model was not validated.")
            cal_end = None
        else:
            hold_end = as_of_ts
            for m in (m for m in models if fits[m].usable):  # an unusable final fit is not used: skip
                try:
                    validations[m] = validate(tx, m, cal_end, hold_end, time_unit=time_unit,
                                              penalizers=penalizers, like=fits[m])
                except (DataError, ModelError) as exc:
                    warns.append(f"{MODEL_LABELS[m]} could not be checked on the held-back months: {exc}")
    chosen, note = choose_model(validations, fits)
    if note:
        warns.append(note)
    occasion = fits[chosen].occasion
    if cal_end is not None:  # spend model on the holdout, counting occasions as the chosen fit does
        ch = calibration_holdout(_occasion_transactions(tx, occasion), cal_end, hold_end, time_unit)
        cal = ch.rename(columns={"frequency_cal": "frequency", "monetary_value_cal": "monetary_value"})
        spend_cal = fit_spend(cal)
        seen = cal[cal["frequency_holdout"] > 0]
        if spend_cal.converged and len(seen):
            pred = spend_cal.expected_avg_spend(seen)
            spend_mae = float((pred - seen["monetary_value_holdout"]).abs().mean())
    for name, fit in fits.items():
        if not fit.usable:
            warns.append(f"{MODEL_LABELS[name]} could not be used: "
                         f"{fit.message or 'no rung of the fallback ladder converged'}.")
        elif fit.fallback:
            warns.append(f"{MODEL_LABELS[name]}: the plain fit was not usable; the fallback '{fit.fallback}' was used"
                         + (f" and parameters {', '.join(fit.at_bounds)} still ran to their bounds." if fit.at_bounds
                            else "."))
    # spend per purchase occasion, with occasions counted as in the chosen purchase model
    spend = fit_spend(fits[chosen].summary)
    independence = spend_independence(fits[chosen].summary)
    if not spend.converged:
        warns.append("The Gamma-Gamma spend model could not be fitted "
                     f"({spend.message}); each customer's own average spend is used instead.")
    if independence["holds"] is False:
        warns.append(independence["message"])
    values = customer_values(fits[chosen], spend, horizon_months=horizon_months, discount_rate=discount_rate,
                             tiers=tiers)
    if fits[chosen].at_bounds or values["p_alive"].mean() >= NO_DROPOUT_P_ALIVE:
        warns.insert(0, no_dropout_caveat(horizon_months))
    return ClvResult(as_of=as_of_ts, time_unit=time_unit, summary=summary, fits=fits, validations=validations,
                     calibration_end=cal_end, holdout_end=hold_end, chosen_model=chosen, spend=spend,
                     spend_holdout_mae=spend_mae, independence=independence, customers=values, warnings=warns,
                     horizon_months=horizon_months, discount_rate=discount_rate)


# --------------------------------------------------------------------------- page text
def _money(value: float, currency: str) -> str:
    from crmlib import plots

    symbol = plots.currency_symbol(currency)
    if abs(value) >= 1e6:
        return f"{symbol}{value / 1e6:,.2f}m"
    if abs(value) >= 1e4:
        return f"{symbol}{value / 1e3:,.0f}k"
    return f"{symbol}{value:,.0f}"


def models_text(result: ClvResult) -> str:
    """Which purchase model the page uses, why, and how each fit went (Markdown)."""
    chosen = result.chosen
    lines = [f"**{MODEL_LABELS[result.chosen_model]}** is used for lifetime values. {SELECTION_RULE}"]
    rung = chosen.fallback or "the plain fit"
    lines.append(f"Its final fit on all {len(result.summary):,} customers up to {result.as_of.date()} used "
                 f"**{rung}**" + (f"; parameters at their bounds: {', '.join(chosen.at_bounds)}." if chosen.at_bounds
                                  else "; no parameter is at a bound."))
    failed = [MODEL_LABELS[m] for m, f in result.fits.items() if not f.usable]
    if failed:
        lines.append(f"Not usable on this data even after the fallback ladder: {', '.join(failed)}.")
    return "\n\n".join(lines)


def validation_text(result: ClvResult) -> str:
    """Holdout check in words (Markdown)."""
    if not result.validations:
        return "No holdout check was possible (too little history before the analysis date)."
    v = result.validations.get(result.chosen_model)
    if v is None or v.mae is None:
        return (f"{MODEL_LABELS[result.chosen_model]} could not be fitted on the months before "
                f"{result.calibration_end.date()}, so its predictions could not be checked on held-back months.")
    diff = v.predicted_total / v.actual_total - 1 if v.actual_total else float("nan")
    return (f"The models were fitted on purchases up to {result.calibration_end.date()} and asked to predict the "
            f"{len(v.frame):,} customers' purchases from then to {result.holdout_end.date()}. "
            f"{MODEL_LABELS[result.chosen_model]} predicted **{v.predicted_total:,.0f}** repeat purchases against "
            f"**{v.actual_total:,.0f}** actual ({diff:+.0%}); per customer it is off by {v.mae:.2f} purchases on "
            "average (MAE)." + (" A forecast this much too low usually means the held-back months were busier than "
                                "usual (for example the run-up to Christmas), which models built on steady buying "
                                "cannot know: read the values below as conservative for such a season."
                                if diff < -0.1 else "")
            + (" The models expected more purchases than customers made: read the values below with care."
               if diff > 0.1 else ""))


def spend_text(result: ClvResult, currency: str = "GBP") -> str:
    """Gamma-Gamma fit and its independence check (Markdown)."""
    sp, ind = result.spend, result.independence
    if not sp.converged:
        head = f"The spend model could not be fitted ({sp.message}); customers' own average spend is used."
    else:
        head = (f"The spend model (Gamma-Gamma) was fitted on {sp.n_customers:,} repeat buyers; it expects an average "
                f"purchase of {_money(sp.population_mean, currency)} for a customer we know nothing about, and "
                "moves towards each customer's own average the more purchases we have seen from them.")
    return head + "\n\n" + ind["message"]


def values_text(result: ClvResult, currency: str = "GBP") -> str:
    """Customer equity and its concentration (Markdown)."""
    v = result.customers
    equity = result.customer_equity
    top = v.groupby("clv_tier", observed=False)["clv"].agg(["size", "sum"])
    first = top.index[0]
    share = top.loc[first, "sum"] / equity if equity else 0.0
    return (f"Over the next {result.horizon_months} months, discounted at {result.discount_rate:.1%} a month, our "
            f"{len(v):,} customers are expected to be worth **{_money(equity, currency)}** (customer equity). "
            f"The median customer is worth {_money(v['clv'].median(), currency)}; the {first} "
            f"({int(top.loc[first, 'size']):,} customers) hold {share:.0%} of the equity. "
            "Values are expected revenue, not profit: multiply by the gross margin to compare with costs.")


def segment_text(by_segment: pd.DataFrame, currency: str = "GBP") -> str:
    """The largest segments' share of equity vs their share of customers (Markdown)."""
    total_customers = by_segment["customers"].sum()
    parts = [f"**{name}** hold {row['share_of_equity']:.0%} of customer equity "
             f"({_money(row['equity'], currency)}) with {row['customers'] / total_customers:.0%} of customers"
             for name, row in by_segment.head(2).iterrows()]
    return "; ".join(parts) + "."


def what_if_text(result: ClvResult, table: pd.DataFrame, currency: str = "GBP") -> str:
    """The retention what-if in words, with its assumptions (Markdown)."""
    assumptions = "\n".join(f"{i}. {a}" for i, a in enumerate(RETENTION_ASSUMPTIONS, 1))
    mean_alive = float(result.customers["p_alive"].mean())
    if mean_alive >= NO_DROPOUT_P_ALIVE:
        lead = (f"The model counts {mean_alive:.1%} of customers as still active on average, so there is almost no "
                "survival left to improve and the table shows (nearly) no gain. That is a limit of this data's short "
                "window (see the caveat above), not evidence that retention is worthless.")
    else:
        row = table.iloc[min(1, len(table) - 1)]
        lead = (f"If every customer's survival rose by {row['survival_uplift_points']:g} points, customer equity "
                f"would grow by {_money(row['gain'], currency)} ({row['gain_pct']:+.1%}).")
    return lead + "\n\nAssumptions:\n\n" + assumptions


# --------------------------------------------------------------------------- charts
def plot_calibration_vs_holdout(result: ClvResult):
    """Mean holdout purchases by calibration-frequency bucket: actual vs each model."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    chosen = result.validations[result.chosen_model].by_bucket()
    ax.plot(chosen.index.astype(str), chosen["actual"], marker="o", linewidth=2.5, color="black", label="actual")
    for name, v in result.validations.items():
        if v.mae is None:
            continue
        b = v.by_bucket()
        ax.plot(b.index.astype(str), b["predicted"], marker=".", linestyle="--", label=f"{MODEL_LABELS[name]} predicted")
    ax.legend()
    plots.label(ax, "Holdout purchases by purchases in the calibration period",
                "repeat purchases in the calibration period", "average purchases per customer in the holdout")
    return ax


def plot_tracking(tracking: pd.DataFrame, calibration_end: pd.Timestamp, model: str):
    """Cumulative repeat purchases, actual vs model, with the calibration end marked."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(tracking["date"], tracking["actual"], color="black", linewidth=2.5, label="actual")
    ax.plot(tracking["date"], tracking["predicted"], linestyle="--", label=f"{MODEL_LABELS[model]} predicted")
    ax.axvline(calibration_end, color="grey", linestyle=":", label="end of calibration")
    ax.legend()
    plots.count_axis(ax)
    plots.label(ax, "Cumulative repeat purchases: actual vs model", "week", "repeat purchases (cumulative)")
    return ax


def plot_matrix(matrix: pd.DataFrame, kind: str, t_label: str = "", unit: str = "weeks"):
    """Heatmap of :func:`expectation_matrix` (rows: recency, most recent buyers at the top)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(8, 5))
    data = matrix.iloc[::-1]
    sns.heatmap(data, cmap="viridis" if kind == "p_alive" else "Blues", ax=ax,
                vmin=0 if kind == "p_alive" else None, vmax=1 if kind == "p_alive" else None,
                cbar_kws={"label": "probability still active" if kind == "p_alive" else f"expected purchases {t_label}"})
    title = ("Probability a customer is still active" if kind == "p_alive"
             else f"Expected purchases {t_label}")
    plots.label(ax, f"{title}, by purchase history", "repeat purchases so far (frequency)",
                f"{unit} between first and last purchase (recency)")
    return ax


def plot_clv_distribution(values: pd.DataFrame, currency: str = "GBP"):
    """Histogram of CLV on a log scale, coloured by tier."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    data = values[values["clv"] > 0].assign(clv_tier=lambda d: d["clv_tier"].astype(str))
    sns.histplot(data, x="clv", hue="clv_tier", log_scale=True, bins=40, multiple="stack", ax=ax,
                 hue_order=[str(c) for c in values["clv_tier"].cat.categories])
    if ax.get_legend() is not None:
        ax.get_legend().set_title("CLV tier")
    plots.money_axis(ax, currency, axis="x")
    plots.count_axis(ax)
    plots.label(ax, "How customer lifetime values are spread (log scale)",
                f"CLV per customer ({plots.currency_symbol(currency).strip()}, log scale)", "customers")
    return ax


def plot_equity_by_segment(table: pd.DataFrame, currency: str = "GBP"):
    """Horizontal bars: customer equity by segment."""
    import matplotlib.pyplot as plt

    from crmlib import plots

    fig, ax = plt.subplots(figsize=(8, max(3, 0.4 * len(table) + 1)))
    t = table.iloc[::-1]
    ax.barh(t.index.astype(str), t["equity"])
    for y, (eq, share) in enumerate(zip(t["equity"], t["share_of_equity"])):
        ax.text(eq, y, f" {share:.0%}", va="center", fontsize=9)
    plots.money_axis(ax, currency, axis="x")
    plots.label(ax, "Customer equity by segment (share of total)", f"customer equity ({currency})", "segment")
    return ax
