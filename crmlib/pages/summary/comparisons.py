"""Comparisons that mean something: year-ago only with a year of history, seasonality, data-start artefacts.

* **Same period last year** is compared only when the data begin at least
  ``windows: year_ago_min_history_days`` before the period starts
  (:func:`year_ago_available`); otherwise the page says why once (:func:`year_ago_note`)
  instead of showing a column of dashes.
* **Seasonality**: a change on the previous period is flagged when the previous period is
  not like for like (:func:`seasonality_note`): with a year of history, last year's change
  over the same two periods is given beside it; without, a period far above (or below)
  the trailing average is flagged as a likely seasonal peak.
* **Artefacts of the data's start**: in the periods that begin less than the churn window
  after the data's first day, nobody can have been silent for a whole window yet, so lost
  customers, retention and reactivation are not measurable (retention shows 100 %).
  :func:`early_periods` finds them and :func:`mask_early_periods` blanks those KPIs there.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.formatting import format_change, format_date, format_percent, format_period
from crmlib.core.i18n import N_, _

#: KPIs that need a whole churn window of history before the period (blank in early periods).
WINDOW_KPIS = ("customers_at_start", "live_customers", "lost_customers", "retention_rate", "reactivated_customers")
#: A period this far above or below the trailing average (or last period) is flagged as seasonal.
SEASONAL_CHANGE = 0.25
#: Periods in the trailing average the seasonality check compares with (at least 3 needed).
TRAILING_PERIODS = 6
#: A number of periods in words (msgids, shown through ``_()``; the count is always 3 or more).
PERIOD_COUNT = {"M": N_("{count} months"), "Q": N_("{count} quarters"), "W": N_("{count} weeks")}


def data_start(transactions: pd.DataFrame) -> pd.Timestamp | None:
    """The first day of the clean data (``None`` without rows)."""
    if transactions.empty:
        return None
    return pd.to_datetime(transactions["invoice_date"]).min().normalize()


def year_ago_available(first_day: Any, period: str, *, freq: str = "M", min_history_days: int = 365) -> bool:
    """Whether the data begin at least ``min_history_days`` before ``period`` starts."""
    if first_day is None:
        return False
    start = pd.Period(period, freq=freq).start_time.normalize()
    return (start - pd.Timestamp(first_day).normalize()).days >= int(min_history_days)


def year_ago_note(first_day: Any, period: str, *, freq: str = "M") -> str:
    """One sentence saying why there is no comparison with the same period last year (current language)."""
    if first_day is None:
        return _("There is no comparison with the same period last year: there are no data.")
    return _("There is no comparison with the same period last year: the data begin on {date}, less than a year "
             "before {period} starts.").format(date=format_date(first_day), period=format_period(period))


def early_periods(periods: Any, first_day: Any, churn_window_days: int, *, freq: str = "M") -> list[str]:
    """Periods that start less than ``churn_window_days`` after the data's first day (and end after it)."""
    if first_day is None:
        return []
    first = pd.Timestamp(first_day).normalize()
    window = pd.Timedelta(days=int(churn_window_days))
    index = pd.PeriodIndex([str(p) for p in periods], freq=freq)
    return [str(p) for p in index if p.start_time - window < first and p.end_time >= first]


def mask_early_periods(kpis: pd.DataFrame, early: list[str]) -> pd.DataFrame:
    """Copy of ``kpis`` with :data:`WINDOW_KPIS` blank (NaN) in the ``early`` periods: not measurable there."""
    out = kpis.copy()
    rows = [p for p in early if p in out.index]
    cols = [c for c in WINDOW_KPIS if c in out.columns]
    out.loc[rows, cols] = np.nan
    return out


def _value(kpis: pd.DataFrame, period: pd.Period, kpi: str) -> float | None:
    key = str(period)
    if key not in kpis.index:
        return None
    v = kpis.at[key, kpi]
    return None if pd.isna(v) else float(v)


def _relative(now: float | None, before: float | None) -> float | None:
    return None if now is None or not before else now / before - 1


def seasonality_note(kpis: pd.DataFrame, period: str, *, freq: str = "M", year_ago: bool = False,
                     as_of: Any = None, kpi: str = "revenue") -> str | None:
    """A sentence when the change on the previous period is likely seasonal, else ``None``.

    With ``year_ago`` (a year of history): when this period moved by at least
    :data:`SEASONAL_CHANGE` on the previous one, last year's change over the same two
    periods is given, and the comparison with last year is the one to read. Without: when
    the period is at least :data:`SEASONAL_CHANGE` above or below the average of up to
    :data:`TRAILING_PERIODS` earlier periods (3 at least), it is flagged as a possible
    seasonal peak or trough. A partial period (``as_of`` before its end) is not judged.
    """
    p = pd.Period(period, freq=freq)
    if as_of is not None and pd.Timestamp(as_of).normalize() < p.end_time.normalize():
        return None
    now, before = _value(kpis, p, kpi), _value(kpis, p - 1, kpi)
    change = _relative(now, before)
    if year_ago:
        lag = {"M": 12, "Q": 4, "W": 52}[freq]
        then = _relative(_value(kpis, p - lag, kpi), _value(kpis, p - lag - 1, kpi))
        if change is None or then is None or abs(change) < SEASONAL_CHANGE:
            return None
        return _("Revenue moved {change} from {previous} to {period}; a year earlier the same step moved it "
                 "{change_then}. Part of the change is the season, so the comparison with the same period last year "
                 "is the fairer one.").format(change=format_change(change), previous=format_period(str(p - 1)),
                                              period=format_period(period), change_then=format_change(then))
    earlier = [_value(kpis, p - k, kpi) for k in range(1, TRAILING_PERIODS + 1)]
    earlier = [v for v in earlier if v is not None]
    if now is None or len(earlier) < 3:
        return None
    ratio = _relative(now, float(np.mean(earlier)))
    if ratio is None or abs(ratio) < SEASONAL_CHANGE:
        return None
    numbers = {"period": format_period(period), "share": format_percent(abs(ratio), 0),
               "periods": _(PERIOD_COUNT[freq]).format(count=len(earlier))}
    if ratio > 0:
        return _("Revenue in {period} is {share} above the average of the previous {periods}. Sales are often "
                 "seasonal (the weeks before Christmas, for example), and with less than a year of data this cannot "
                 "be checked against last year, so do not read the change on last month as a trend.").format(**numbers)
    return _("Revenue in {period} is {share} below the average of the previous {periods}. Sales are often "
             "seasonal (the weeks before Christmas, for example), and with less than a year of data this cannot "
             "be checked against last year, so do not read the change on last month as a trend.").format(**numbers)
