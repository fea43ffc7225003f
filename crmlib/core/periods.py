"""Periods and the analysis date (``as_of``): the one place where they are worked out.

``as_of`` is the last day whose data a report uses; ``period`` is its ``YYYY-MM`` label.
Precedence: an explicit ``as_of`` wins, then ``period`` (its last day), else the end of
the last complete month in the data. See ``docs/architecture.md``, "One run".
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from crmlib import io_dates
from crmlib.errors import ConfigError


def parse_as_of(as_of: Any) -> pd.Timestamp:
    """Parse an ``as_of`` value (date or string) into a midnight Timestamp."""
    try:
        return pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"as_of: cannot read '{as_of}' as a date (use YYYY-MM-DD)") from None


def period_as_of(period: str) -> pd.Timestamp:
    """The last day of a ``YYYY-MM`` period."""
    try:
        start = pd.Period(str(period), freq="M")
    except (ValueError, TypeError):
        raise ConfigError(f"period: cannot read '{period}' as a month (use YYYY-MM)") from None
    return start.end_time.normalize()


def month_end_as_of(last_date: pd.Timestamp) -> pd.Timestamp:
    """End of the last complete month up to ``last_date``.

    A month counts as complete when the data reaches its last day; otherwise the
    analysis stops at the end of the month before (e.g. data up to 2011-12-09 gives
    2011-11-30).
    """
    day = pd.Timestamp(last_date).normalize()
    month_end = day + pd.offsets.MonthEnd(0)
    return month_end if day == month_end else day - pd.offsets.MonthEnd(1)


def resolve_period(
    sources: list[dict[str, Any]], period: str | None = None, as_of: Any = None,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
) -> tuple[str, pd.Timestamp]:
    """``(period, as_of)``: ``as_of`` wins; then ``period``; else the last complete month.

    Only the last case reads the data (the invoice-date column of ``sources``), leaving
    out dates outside ``window`` (the cleaning rule ``date_window``), so stray dates from
    2099 never decide the period.
    """
    if as_of not in (None, ""):
        day = parse_as_of(as_of)
        return (str(period) if period not in (None, "") else day.strftime("%Y-%m")), day
    if period not in (None, ""):
        return str(pd.Period(str(period), freq="M")), period_as_of(period)
    day = month_end_as_of(io_dates.last_invoice_date(sources, window=window))
    return day.strftime("%Y-%m"), day


def expand_periods(spec: str) -> list[str]:
    """``"2011-01..2011-11"`` -> every month from the first to the last, inclusive."""
    try:
        first, last = (pd.Period(part.strip(), freq="M") for part in spec.split(".."))
    except ValueError:
        raise ConfigError(f"--periods: expected FROM..TO like 2011-01..2011-11, got '{spec}'") from None
    if last < first:
        raise ConfigError(f"--periods: {last} comes before {first}")
    return [str(p) for p in pd.period_range(first, last, freq="M")]
