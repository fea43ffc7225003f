"""The value table: 12-month value from the chosen candidate, tiers, guards, what-if."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.activity import ActivityModel
from crmlib.core.btyd import DAYS_PER_MONTH, UNIT_DAYS, fit_spend
from crmlib.core.customer_log import CustomerLog, keep_rows
from crmlib.core.i18n import N_, Message, Sentences
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS
from crmlib.core.summaries import btyd_summary
from crmlib.core.value.backtest import SELECTION_RULE, Backtest, backtest
from crmlib.core.value.candidates import (
    CANDIDATE_LABELS, CANDIDATES, HORIZON_LEVEL_CANDIDATES, _customer_rows, _day, forecast_candidates, spend_between,
)
from crmlib.errors import ModelError

#: CLV tiers: (label, cumulative share of customers ranked by CLV); the labels are stored in
#: English and shown through ``_()``
DEFAULT_TIERS: tuple[tuple[str, float], ...] = ((N_("top 1%"), 0.01), (N_("next 4%"), 0.05), (N_("next 15%"), 0.20))
REST_TIER = N_("rest")


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


HORIZON_RULE = N_(
    "Only the {h}-day forecast is validated. The {months}-month value spreads it evenly over {months} months "
    "(x {per_year:.2f}) and discounts each month at {rate:.1%}. For candidates trained on one horizon's spend "
    "(gradient boosting, p_alive x spend, last period) the level of that horizon is replaced by the average "
    "{h}-day level of the last 12 months (x revenue per {h} days over the last year / revenue of the training "
    "horizon), when 12 months of history exist, so a seasonal peak is not counted four times."
)
#: "a few pounds": whole-history spend below this in a top tier gets a recorded reason
LOW_HISTORY_SPEND = 10.0
VALUE_COLUMNS = ["customer_id", "p_alive", "expected_purchases", "expected_avg_spend", "clv", "clv_tier",
                 "value_model"]


# =========================================================================== 12 months
def annual_factor(horizon_days: int, discount_rate: float = 0.01, months: int = 12) -> float:
    """Multiplier from a ``horizon_days`` forecast to a discounted ``months`` value: the
    forecast spread evenly over months of 365.25/12 days, month m discounted by
    (1 + discount_rate)^-m (lifetimes' monthly discounting, as :mod:`crmlib.clv`)."""
    m = np.arange(1, months + 1, dtype="float64")
    return float((DAYS_PER_MONTH / horizon_days * (1.0 + discount_rate) ** -m).sum())


def level_factor(transactions: pd.DataFrame, as_of: Any, horizon_days: int) -> tuple[float, str]:
    """Average ``horizon_days`` revenue over the last 365 days / revenue of the last horizon.

    1.0 (and a note) when the data hold less than 365 days before ``as_of``."""
    as_of = _day(as_of)
    tx = _customer_rows(transactions)
    day = tx["invoice_date"].dt.normalize()
    upto = (day <= as_of).to_numpy()
    amount, day = tx["amount"][upto], day[upto]   # two columns: a filtered frame copies every column of the log
    if (as_of - day.min()).days + 1 < 365:
        return 1.0, Message(N_("Less than 12 months of history before {date}: the level of the last {days} days is "
                               "carried over unchanged (no seasonal adjustment)."), date=str(as_of.date()),
                            days=horizon_days)
    year = float(amount[(day > as_of - pd.Timedelta(days=365)).to_numpy()].sum()) * horizon_days / 365.0
    last = float(amount[(day > as_of - pd.Timedelta(days=horizon_days)).to_numpy()].sum())
    factor = year / last if last > 0 else 1.0
    return factor, Message(N_("The last {days} days' revenue was {ratio:.2f}x the average {days}-day revenue of the "
                              "last 12 months; models trained on it are scaled by {factor:.2f} for the 12-month "
                              "value."), days=horizon_days, ratio=1 / factor, factor=factor)


def horizon_text(bt: Backtest, discount_rate: float, level_note: str | None, chosen: str, months: int = 12) -> str:
    """What was validated, how it is extended, and any seasonal peak in the holdouts (Markdown).

    A :class:`~crmlib.core.i18n.Sentences`: English as a string, shown translated."""
    h = bt.horizon_days
    dates = ", ".join(str(c.date()) for c in bt.cutoffs)
    validated = (N_("Validated: {days}-day spend forecasts, checked at 1 cutoff ({dates}).") if len(bt.cutoffs) <= 1
                 else N_("Validated: {days}-day spend forecasts, checked at {count} cutoffs ({dates})."))
    parts: list[str] = [Message(validated, days=h, count=len(bt.cutoffs), dates=dates),
                        Message(HORIZON_RULE, h=h, per_year=months * DAYS_PER_MONTH / h, rate=discount_rate,
                                months=months)]
    if chosen in HORIZON_LEVEL_CANDIDATES and level_note:
        parts.append(level_note)
    for row in bt.seasonality.itertuples():
        if row.peak:
            parts.append(Message(N_("The holdout {start}..{end} is a strong seasonal peak: its monthly revenue was "
                                    "{ratio:.2f}x the average month of the year before, so every candidate's total "
                                    "is too low there and its ranking is what the choice rests on."),
                                 start=str(row.start), end=str(row.end), ratio=row.ratio))
    return Sentences(*parts)


# =========================================================================== the table
@dataclass
class CustomerValues:
    """Everything the value page shows and writes (see :func:`fit_customer_values`).

    ``table``: exactly :data:`VALUE_COLUMNS` (``customers_clv.parquet``);
    ``activity``: the run's activity model (its ``p_alive_`` is the table's p_alive);
    ``backtest``: the candidates' backtest; ``value_notes``: customer_id -> reason, for
    customers a guard flagged; ``warnings``: plain words for the report; ``horizon_text``;
    ``train_rows`` / ``train_rows_total``: the chosen candidate's supervised training rows at
    ``as_of``, used and available (0 for a candidate without training rows).
    """

    as_of: pd.Timestamp
    table: pd.DataFrame
    activity: ActivityModel
    backtest: Backtest
    chosen: str
    horizon_days: int
    discount_rate: float
    level_factor: float
    horizon_text: str
    value_notes: pd.DataFrame
    warnings: list[str]
    months: int = 12
    train_rows: int = 0
    train_rows_total: int = 0

    @property
    def customer_equity(self) -> float:
        return float(self.table["clv"].sum())

    def metrics(self) -> dict[str, Any]:
        """Headline numbers for the page's metrics JSON."""
        return {"value_model": self.chosen, "value_model_label": CANDIDATE_LABELS[self.chosen],
                "customer_equity": self.customer_equity, "horizon_days": self.horizon_days,
                "horizon_months": self.months,
                "training_customers": self.activity.n_train_, "customers_scored": int(len(self.table)),
                "spend_model_training_rows": {"used": self.train_rows, "available": self.train_rows_total},
                "backtest_cutoffs": [str(c.date()) for c in self.backtest.cutoffs],
                "backtest_customers_checked": (int(self.backtest.table["customers"].min())
                                               if len(self.backtest.table) else 0),
                "backtest": self.backtest.summary_table().reset_index().to_dict(orient="records"),
                "selection_rule": SELECTION_RULE, "activity": self.activity.summary(),
                "level_factor": self.level_factor, "warnings": list(self.warnings)}


def fit_customer_values(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    horizon_days: int = 91,
    window_days: int = 90,
    discount_rate: float = 0.01,
    candidates: Sequence[str] = CANDIDATES,
    cutoffs: Sequence[Any] | None = None,
    tiers: Sequence[tuple[str, float]] = DEFAULT_TIERS,
    activity: ActivityModel | None = None,
    months: int = 12,
    seasonal_adjustment: bool = True,
    low_history_spend: float = LOW_HISTORY_SPEND,
    seed: int = 0,
    log: CustomerLog | None = None,
    max_customers: int | None = DEFAULT_MAX_CUSTOMERS,
) -> CustomerValues:
    """Backtest the candidates, fit the chosen one at ``as_of``, value every customer.

    1. :func:`backtest` at ``cutoffs`` (default :func:`backtest_cutoffs`), choice by
       :data:`SELECTION_RULE`.
    2. The run's activity model (``activity``, else ``ActivityModel(window_days)``
       fitted at ``as_of``) gives ``p_alive`` for every customer seen up to ``as_of``.
    3. The chosen candidate's ``horizon_days`` forecast at ``as_of``, extended to 12
       months by :data:`HORIZON_RULE` (:func:`annual_factor`, :func:`level_factor`), is
       ``clv``; value-if-active is ``clv / p_alive``, so ``clv = p_alive x value-if-active``.
    4. ``expected_purchases``: the chosen BTYD model's 12-month expected purchases, NA
       for the other candidates; ``expected_avg_spend``: Gamma-Gamma expected spend per
       purchase occasion (the chosen BTYD model's, else a BG/NBD-summary fit on daily
       occasions) - the same meaning whichever candidate makes ``clv``.
    5. Tiers by :func:`crmlib.clv.assign_tiers`; guards (:func:`low_history_guard`).

    ``log``: ``transactions`` prepared once (:class:`~crmlib.core.customer_log.CustomerLog`;
    built here when not given), read at every cutoff. ``max_customers`` bounds every
    model's training (a seeded, stratified sample above it: :func:`forecast_candidates`,
    :class:`ActivityModel`); every customer is valued.
    """
    as_of = _day(as_of)
    tx = _customer_rows(transactions)
    tx = keep_rows(tx, tx["invoice_date"] < as_of + pd.Timedelta(days=1))
    warnings: list[str] = []
    log = log if log is not None else CustomerLog.from_transactions(tx)
    bt = backtest(tx, as_of, cutoffs, horizon_days, candidates=candidates, window_days=window_days, seed=seed,
                  log=log, max_customers=max_customers)
    chosen = bt.chosen
    if activity is None:
        activity = ActivityModel(window_days, seed=seed, max_customers=max_customers).fit(tx, as_of, log=log)
    elif activity.as_of_ != as_of:
        raise ModelError(f"the activity model was fitted at {activity.as_of_.date()}, not at {as_of.date()}")
    final = forecast_candidates(tx, as_of, horizon_days, candidates=[chosen], window_days=window_days,
                                activity=activity, seed=seed, log=log, max_customers=max_customers)
    forecast = final.forecasts[chosen]
    if forecast.isna().all():
        raise ModelError(f"the chosen value model ({CANDIDATE_LABELS[chosen]}) could not be fitted at {as_of.date()}")
    forecast = forecast.fillna(0.0)
    factor, level_note = level_factor(tx, as_of, horizon_days) if seasonal_adjustment else (1.0, None)
    applied = factor if chosen in HORIZON_LEVEL_CANDIDATES else 1.0
    clv = forecast * annual_factor(horizon_days, discount_rate, months) * applied
    ids = forecast.index
    p_alive = activity.p_alive_.reindex(ids)
    if p_alive.isna().any():
        raise ModelError("the activity model did not score every customer of the value table")
    if chosen in final.expected_purchases:
        fit = final.btyd_fits[chosen]
        purchases = fit.expected_purchases(months * DAYS_PER_MONTH / UNIT_DAYS[fit.time_unit])
        purchases.index = purchases.index.astype(str)
        expected_purchases = purchases.reindex(ids).astype("Float64")
        avg_spend = final.expected_avg_spend[chosen]
    else:
        expected_purchases = pd.Series(pd.NA, index=ids, dtype="Float64")
        summary = btyd_summary(tx, as_of)
        avg_spend = fit_spend(summary, max_customers=max_customers, seed=seed).expected_avg_spend(summary)
        avg_spend.index = avg_spend.index.astype(str)
        avg_spend = avg_spend.reindex(ids)
    table = pd.DataFrame({
        "customer_id": ids.astype(str),
        "p_alive": p_alive.to_numpy(dtype="float64"),
        "expected_purchases": expected_purchases.to_numpy(),
        "expected_avg_spend": avg_spend.to_numpy(dtype="float64"),
        "clv": clv.to_numpy(dtype="float64"),
    })
    table["clv_tier"] = assign_tiers(table["clv"], tiers).array  # ordered categorical, as crmlib.clv
    table["value_model"] = chosen
    history = spend_between(log, pd.Timestamp.min, as_of)  # whole-history spend
    notes = low_history_guard(table, history, min_spend=low_history_spend)
    if len(notes):
        warnings.append(Message(N_("{count} customers in a top tier have spent less than {spend:g} in their whole "
                                   "history; their value comes from the model, see value_notes."),
                                count=len(notes), spend=low_history_spend))
    if (table["p_alive"].max() - table["p_alive"].min()) < 1e-9:
        warnings.append(Message(N_("p_alive is the same for every customer: it cannot rank anybody.")))
    warnings += [n for n in bt.notes if "not usable" in n or "Too little" in n]
    text = horizon_text(bt, discount_rate, level_note, chosen, months)
    return CustomerValues(as_of, table[VALUE_COLUMNS], activity, bt, chosen, int(horizon_days), discount_rate,
                          applied, text, notes, warnings, int(months), final.train_rows, final.train_rows_total)


def customer_value_table(transactions: pd.DataFrame, as_of: Any, **kwargs: Any) -> pd.DataFrame:
    """The ``customers_clv.parquet`` frame: exactly :data:`VALUE_COLUMNS`
    (see :func:`fit_customer_values` for the arguments and the method)."""
    return fit_customer_values(transactions, as_of, **kwargs).table


# =========================================================================== guards and what-if
def low_history_guard(values: pd.DataFrame, history_spend: pd.Series, *, min_spend: float = LOW_HISTORY_SPEND,
                      rest_tier: str = "rest") -> pd.DataFrame:
    """Customers outside the ``rest`` tier whose whole-history spend is below ``min_spend``,
    each with the reason recorded (``customer_id``, ``history_spend``, ``clv``, ``clv_tier``,
    ``value_note``). An empty frame when there are none."""
    spent = values["customer_id"].map(history_spend).fillna(0.0).astype("float64")
    flagged = values[(spent < min_spend).to_numpy() & (values["clv_tier"].astype(str) != rest_tier).to_numpy()]
    out = pd.DataFrame({"customer_id": flagged["customer_id"].to_numpy(),
                        "history_spend": spent[flagged.index].to_numpy(),
                        "clv": flagged["clv"].to_numpy(), "clv_tier": flagged["clv_tier"].astype(str).to_numpy()})
    out["value_note"] = pd.Series([Message(N_("in tier '{tier}' with a whole-history spend of {spend:.2f}: the value is the "
                                    "model's forecast (value model {model}), not earned history - check before "
                                    "acting"), tier=Message(str(t)), spend=s, model=m)
                         for t, s, m in zip(out["clv_tier"], out["history_spend"],
                                            flagged.get("value_model", pd.Series("?", index=flagged.index)))],
                                  index=out.index, dtype=object)   # object, not str: Messages, shown translated
    return out


def past_spend(transactions: pd.DataFrame | CustomerLog, as_of: Any, days: int = 365) -> pd.Series:
    """Each customer's spend in the ``days`` up to and including ``as_of``."""
    as_of = _day(as_of)
    return spend_between(transactions, as_of - pd.Timedelta(days=days), as_of)


def forecast_to_past_ratio(values: pd.DataFrame, segment: str | pd.Series, past: pd.Series) -> pd.DataFrame:
    """Forecast 12-month value vs past spend, by segment: where the model extrapolates.

    ``segment`` is a column of ``values`` or a Series indexed by customer id; ``past`` is
    each customer's past spend (e.g. :func:`past_spend` over 365 days). Returns per
    segment: customers, past_spend, forecast (sum of clv), ratio (forecast / past) and
    share_forecast_above_past (customers forecast to spend more than they did),
    ratio highest first.
    """
    ids = values["customer_id"].astype(str)
    seg = values[segment] if isinstance(segment, str) else ids.map(segment)
    frame = pd.DataFrame({"segment": seg.astype("object").fillna(N_("not segmented")).to_numpy(),
                          "past": ids.map(past).fillna(0.0).to_numpy(dtype="float64"),
                          "forecast": values["clv"].to_numpy(dtype="float64")})
    frame["above"] = frame["forecast"] > frame["past"]
    out = frame.groupby("segment").agg(customers=("past", "size"), past_spend=("past", "sum"),
                                       forecast=("forecast", "sum"), share_forecast_above_past=("above", "mean"))
    out["ratio"] = out["forecast"] / out["past_spend"].where(out["past_spend"] > 0)
    return out.sort_values("ratio", ascending=False)


def retention_what_if(values: pd.DataFrame, uplifts: Sequence[float] = (0.01, 0.05, 0.10)) -> pd.DataFrame:
    """Customer equity if every customer's p_alive rose by each uplift (capped at 1).

    ``clv = p_alive x value-if-active``, so a customer's value scales by
    ``min(p_alive + u, 1) / p_alive``: non-zero for every customer with ``p_alive < 1``
    and a positive value. Assumptions: the uplift is the same number of points for
    everybody; value-if-active does not change; the programme's cost is not included.
    A customer with p_alive = 0 has no value-if-active to scale and gains nothing.
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
                     "customers_gaining": int(((p < 1) & (p > 0) & (clv > 0)).sum()),
                     "customers_capped": int((p + u >= 1).sum())})
    return pd.DataFrame(rows)
