"""Numbers and dates as managers read them: one set of formatters, one rounding rule.

Rounding rule (every page, every table cell and sentence):

* money: thousands separators; two decimals below 100, none from 100 up
  (``£45.30``, ``£1,503,867``); ``compact=True`` shortens from 10,000 up
  (``£58k``, ``£1.2m``);
* counts: whole numbers with thousands separators (``4,297``);
* shares in [0, 1]: percentages with one decimal (``41.3 %``);
* rate differences: percentage points with one decimal and a sign (``+3.4 pts``);
* dates: ``30 Nov 2011``; periods: ``Nov 2011``.

Missing values print as ``–``. Every function takes the value first; money takes the
``currency`` (ISO code). A ``language`` keyword will join them when the report speaks
more than English (see ``docs/architecture.md``).
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

MISSING = "–"
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "KRW": "₩", "JPY": "¥"}


def as_number(value: Any) -> float | None:
    """A finite float, or ``None`` for missing / non-numeric values."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def currency_symbol(currency: str) -> str:
    """'£' for GBP and so on; the code and a space when unknown."""
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def format_money(value: Any, currency: str = "GBP", *, compact: bool = False) -> str:
    """Money with thousands separators, e.g. ``£12,345`` (``£1.2m`` / ``£58k`` when compact)."""
    v = as_number(value)
    if v is None:
        return MISSING
    symbol = currency_symbol(currency)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if compact and v >= 1e6:
        return f"{sign}{symbol}{v / 1e6:,.1f}m"
    if compact and v >= 1e4:
        return f"{sign}{symbol}{v / 1e3:,.0f}k"
    return f"{sign}{symbol}{v:,.2f}" if v < 100 else f"{sign}{symbol}{v:,.0f}"


def format_count(value: Any) -> str:
    """A count with thousands separators, e.g. ``4,297``."""
    v = as_number(value)
    return MISSING if v is None else f"{v:,.0f}"


def format_percent(value: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage, e.g. ``41.3 %``."""
    v = as_number(value)
    return MISSING if v is None else f"{v * 100:.{decimals}f} %"


def format_points(value: Any, decimals: int = 1) -> str:
    """A difference of two shares as signed percentage points, e.g. ``+3.4 pts``."""
    v = as_number(value)
    return MISSING if v is None else f"{v * 100:+.{decimals}f} pts"


def format_change(value: Any, decimals: int = 1) -> str:
    """A relative change as a signed percentage, e.g. ``-3.8 %``."""
    v = as_number(value)
    return MISSING if v is None else f"{v * 100:+.{decimals}f} %"


def format_date(value: Any) -> str:
    """An unambiguous date, e.g. ``30 Nov 2011`` (a dash when missing)."""
    if value in (None, "") or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    try:
        return pd.Timestamp(value).strftime("%-d %b %Y")
    except (ValueError, TypeError):
        return str(value)


def format_period(period: Any) -> str:
    """A period label for people: ``2011-11`` -> ``Nov 2011``; other labels unchanged."""
    try:
        return pd.Period(str(period), freq="M").strftime("%b %Y") if len(str(period)) == 7 else str(period)
    except (ValueError, TypeError):
        return str(period)
