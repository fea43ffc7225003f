"""BTYD fitting shared by the pages: purchase models, the fallback ladder, Gamma-Gamma spend.

Everything fits on :mod:`lifetimes`' own fitters; this module adds what a report needs
around them:

* fits on the unique ``(frequency, recency, T)`` rows with weights (Fader & Hardie's
  condensed form; ``benchmarks/bench_clv_fit.py`` measures the speed-up);
* the documented fallback ladder for real data that defeats the plain fit (see
  :func:`ladder_rungs`, :func:`fit_with_fallback`), with parameters at their bounds
  flagged; :func:`p_alive` is the short ladder used for a P(alive) feature;
* a calibration / holdout split (:func:`calibration_holdout`) built on
  :func:`crmlib.core.summaries.btyd_summary`.

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

from crmlib.core.sampling import sample_customers
from crmlib.core.summaries import TIME_UNITS, btyd_summary
from crmlib.core.validation import require_columns
from crmlib.errors import DataError, ModelError

#: model name -> (lifetimes fitter class name, parameter names), in preference order
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bgnbd": ("BetaGeoFitter", ("r", "alpha", "a", "b")),
    "pareto_nbd": ("ParetoNBDFitter", ("r", "alpha", "s", "beta")),
    "mbgnbd": ("ModifiedBetaGeoFitter", ("r", "alpha", "a", "b")),
}


MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "Modified BG/NBD",
                "gamma_gamma": "Gamma-Gamma"}


#: days per time unit of the summaries (as in crmlib.core.summaries)
UNIT_DAYS = {"D": 1.0, "W": 7.0}


DAYS_PER_MONTH = 365.25 / 12


#: penalizers tried, in order, by the fallback ladder
PENALIZERS: tuple[float, ...] = (0.001, 0.01, 0.1)


#: a shape parameter below/above these is "at its bound" (the optimiser ran off to 0 or
#: infinity); scale parameters (alpha, beta, v) are compared after dividing by the
#: longest customer age (or the mean spend for v)
BOUND_LOW, BOUND_HIGH = 1e-3, 1e3


SCALE_PARAMS = {"alpha", "beta", "v"}


#: |correlation| of frequency and average spend above which Gamma-Gamma's
#: independence assumption is reported as failed
INDEPENDENCE_THRESHOLD = 0.3


def _fitter_class(model: str) -> type:
    if model not in MODELS:
        raise ModelError(f"unknown model '{model}'; allowed: {', '.join(MODELS)}")
    import lifetimes

    return getattr(lifetimes, MODELS[model][0])


def _check_summary(summary: pd.DataFrame, columns: Sequence[str]) -> None:
    require_columns(summary, columns, "the BTYD model", hint="build it with crmlib.core.summaries.btyd_summary")
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


def _occasion_transactions(transactions: pd.DataFrame, occasion: str, as_of: Any = None) -> pd.DataFrame:
    """Transactions with dates coarsened so that one purchase occasion is a ``occasion``.

    ``as_of``: rows dated after that calendar day are dropped *before* coarsening (a
    Wednesday after ``as_of`` must not become the Monday before it); daily occasions need
    no cut, since :func:`btyd_summary` ignores later rows itself.
    """
    if occasion == "day":
        return transactions
    if occasion == "week":
        cols = [c for c in ("customer_id", "invoice_date", "amount") if c in transactions.columns]
        out = transactions[cols]
        if as_of is not None:
            out = out[out["invoice_date"] < pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)]
        out = out.copy()
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
    max_customers: int | None = None,
    seed: int = 0,
    cache: dict[str, pd.DataFrame] | None = None,
) -> ModelFit:
    """Fit ``model`` with the documented fallback ladder (:func:`ladder_rungs`).

    The first rung whose fit converges with no parameter at a bound is used. When no
    rung gets there, the first rung that converged at all is used, with its parameters
    at bounds listed in ``at_bounds`` (the report then carries a caveat). When nothing
    converges the returned fit has ``converged=False`` (never an exception): the next
    rung, another model, is :func:`choose_model`'s job.

    ``summary`` may pass the daily-occasion summary when the caller already has it;
    ``cache``, a dict shared by calls on the same ``transactions``, ``as_of`` and
    ``time_unit`` (e.g. BG/NBD and Pareto/NBD at one cutoff), keeps each occasion's
    summary so it is computed once (4 s a summary at 10M lines).

    ``max_customers``: with more customers than this, every rung fits on the same seeded
    sample of that many customers, stratified by repeat vs one-time buyers (four
    parameters are pinned down long before a million customers, while the number of
    unique rows keeps growing); the returned fit's ``summary`` is every customer's, so
    its predictions cover everyone. ``None`` fits on everyone.
    """
    summaries: dict[str, pd.DataFrame] = cache if cache is not None else {}
    sample: pd.Index | None = None
    if summary is not None:
        summaries["day"] = summary
    tried: list[dict[str, Any]] = []
    fits: list[ModelFit] = []
    for rung in ladder_rungs(penalizers):
        if rung["penalizer"] > 0 and any(f.usable for f in fits):
            break
        occ = rung["occasion"]
        if occ not in summaries:
            summaries[occ] = btyd_summary(_occasion_transactions(transactions, occ, as_of), as_of, time_unit=time_unit)
        rows = summaries[occ]
        if max_customers is not None and len(rows) > int(max_customers):
            if sample is None:
                sample = _customer_sample(rows, int(max_customers), seed)
            rows = rows[rows.index.isin(sample)]
        fit = fit_model(rows, model, penalizer=rung["penalizer"], time_unit=time_unit, occasion=occ)
        fit.summary = summaries[occ]
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


def _customer_sample(summary: pd.DataFrame, max_customers: int, seed: int) -> pd.Index:
    """Ids of a seeded sample of ``max_customers`` customers, stratified by repeat buyer (frequency > 0)."""
    strata = pd.DataFrame({"repeat": summary["frequency"].to_numpy() > 0}, index=summary.index)
    return sample_customers(strata, max_customers, stratify="repeat", seed=seed).index


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


def fit_spend(summary: pd.DataFrame, *, penalizer: float = 0.0, max_customers: int | None = None,
              seed: int = 0) -> SpendFit:
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

    ``max_customers``: with more repeat buyers than this, the fit uses a seeded random
    sample of that many (three parameters); ``n_customers`` stays the repeat buyers' count.
    """
    from lifetimes import GammaGammaFitter

    _check_summary(summary, ("frequency", "monetary_value"))
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    n = len(repeat)
    if n < 10:
        return SpendFit(None, False, [], None, None, n, f"only {n} repeat buyers with spend")
    if max_customers is not None and n > int(max_customers):
        repeat = sample_customers(repeat, int(max_customers), seed=seed)
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


def calibration_holdout(
    transactions: pd.DataFrame,
    calibration_end: Any,
    holdout_end: Any,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Calibration summary plus what each calibration customer did in the holdout.

    The pandas-3-safe counterpart of ``lifetimes.utils.calibration_and_holdout_data``:
    columns ``frequency_cal, recency_cal, T_cal, monetary_value_cal`` (from
    :func:`crmlib.core.summaries.btyd_summary` at ``calibration_end``),
    ``frequency_holdout`` (purchase occasions, i.e. distinct purchase days, in
    ``(calibration_end, holdout_end]``), ``monetary_value_holdout`` (their mean value;
    lifetimes averages the raw rows instead, which for invoice lines would be a line
    value) and ``duration_holdout`` (holdout length in ``time_unit``).
    Customers whose first purchase falls in the holdout are not in the frame.
    """
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


#: BTYD models tried for P(alive), in order: the first that converges is used.
P_ALIVE_LADDER: tuple[tuple[str, float], ...] = (("bgnbd", 0.0), ("bgnbd", 0.01), ("pareto_nbd", 0.01))


def p_alive(summary: pd.DataFrame) -> pd.Series:
    """P(alive) of each customer from a BTYD model fitted on ``summary``'s ``btyd_*`` columns.

    Fits with :func:`fit_model` (weighted unique rows) down
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
        fit = fit_model(data.astype("float64"), model, penalizer=penalizer)
        if fit.usable:
            return fit.p_alive().rename("p_alive")
    return pd.Series(np.nan, index=summary.index, name="p_alive")
