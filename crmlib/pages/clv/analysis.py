"""The CLV page's analysis: holdout validation, model choice, per-customer values, equity.

:func:`run_clv` does the page's work in one call and returns a :class:`ClvResult`.
Fitting (models, fallback ladder, spend) is :mod:`crmlib.core.btyd`'s.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.btyd import (
    DAYS_PER_MONTH,
    MODEL_LABELS,
    MODELS,
    PENALIZERS,
    UNIT_DAYS,
    ModelFit,
    SpendFit,
    _occasion_transactions,
    _quiet,
    calibration_holdout,
    fit_model,
    fit_spend,
    fit_with_fallback,
    spend_independence,
)
from crmlib.core.i18n import N_
from crmlib.core.summaries import btyd_summary
from crmlib.errors import DataError, ModelError

from crmlib.core.value import DEFAULT_TIERS, REST_TIER, assign_tiers, retention_what_if  # noqa: F401  (re-exported for the page)


#: mean P(alive) at or above which the data is said to show no measurable drop-out
NO_DROPOUT_P_ALIVE = 0.99


#: the segment of customers the segmentation page did not segment (a message id, shown through ``_()``)
NOT_SEGMENTED = N_("not segmented")
FREQUENCY_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 7)  # the last bucket is "7+"


SELECTION_RULE = (
    "The model used for CLV is the one with the lowest relative holdout error: the "
    "per-customer mean absolute error (MAE) of predicted vs actual holdout purchases, "
    "divided by the mean actual holdout purchases (so fits on daily and on weekly purchase "
    "occasions compare fairly), among models whose final fit converged with no parameter "
    "at a bound; when no model qualifies, among the models whose final fit is usable at "
    "all (and the report says so)."
)




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
    joined = values.assign(segment=values["customer_id"].map(seg).astype("object").fillna(NOT_SEGMENTED))
    out = joined.groupby("segment", observed=True).agg(customers=("clv", "size"), equity=("clv", "sum"),
                                                       mean_clv=("clv", "mean"))
    out["share_of_equity"] = out["equity"] / out["equity"].sum() if out["equity"].sum() else 0.0
    return out.sort_values("equity", ascending=False)




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
