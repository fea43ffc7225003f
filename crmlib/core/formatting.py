"""Numbers and dates as managers read them: one set of formatters, one rounding rule.

Rounding rule (every page, every table cell and sentence), in English:

* money: thousands separators; two decimals below 100, none from 100 up
  (``£45.30``, ``£1,503,867``); ``compact=True`` shortens from 10,000 up
  (``£58k``, ``£1.2m``);
* counts: whole numbers with thousands separators (``4,297``);
* shares in [0, 1]: percentages with one decimal (``41.3 %``);
* rate differences: percentage points with one decimal and a sign (``+3.4 pts``);
* dates: ``30 Nov 2011``; periods: ``Nov 2011``.

In Korean (``language="ko"``) the same rounding, written the Korean way with Babel's
CLDR data (:mod:`crmlib.core.i18n`): won without decimals (``1,435,014원``), and
``compact=True`` in the mixed 억/만 wording of Korean sentences (``14억 3,501만 원``);
percentages without a space (``41.3%``), points as ``+3.4%p``, dates ``2011. 11. 30.``,
periods ``2011년 11월``. Other currencies keep their own conventions in a Korean report
(``£1,435,014``, ``£1.2m``).

Missing values print as ``–``. Every function takes the value first; money takes the
``currency`` (ISO code). ``language`` is ``"en"`` or ``"ko"``; ``None`` (the default)
means the run's current language (:func:`crmlib.core.i18n.get_language`), so page code
rarely passes it.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from crmlib.core import i18n

MISSING = "–"
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "KRW": "₩", "JPY": "¥"}


def _korean(language: str | None) -> bool:
    """Whether to write the Korean way (``language`` or, when ``None``, the current one)."""
    return i18n.check_language(language or i18n.get_language()) == "ko"


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


def format_money(value: Any, currency: str = "GBP", *, compact: bool = False,
                 language: str | None = None) -> str:
    """Money with thousands separators, e.g. ``£12,345`` (``£1.2m`` / ``£58k`` when compact).

    Korean won: ``1,435,014원``; compact (for sentences and headline cards) from 1만 up
    in the mixed 조/억/만 wording, ``14억 3,501만 원``.
    """
    v = as_number(value)
    if v is None:
        return MISSING
    if currency == "KRW" and _korean(language):
        if compact and abs(v) >= 1e4:
            return i18n.format_korean_amount(v)
        return i18n.format_money(v, "KRW", "ko")
    symbol = currency_symbol(currency)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if compact and v >= 1e6:
        return f"{sign}{symbol}{v / 1e6:,.1f}m"
    if compact and v >= 1e4:
        return f"{sign}{symbol}{v / 1e3:,.0f}k"
    return f"{sign}{symbol}{v:,.2f}" if v < 100 else f"{sign}{symbol}{v:,.0f}"


def format_money_tick(value: Any, currency: str = "GBP", *, language: str | None = None) -> str:
    """Money on a chart axis: short and whole (``£12,300``, ``£58k``, ``£1.2m``).

    Won in a Korean report counts in 만/억 (``₩14.4억``, ``₩1,435만``, ``₩9,800``); other
    currencies keep their English ticks.
    """
    v = as_number(value)
    if v is None:
        return ""
    if currency == "KRW" and _korean(language):
        return i18n.format_money_compact(v, "KRW", "ko")
    symbol = currency_symbol(currency)
    if 0 < abs(v) < 1:   # a log axis reaching into pence: £0.01, £0.1 (not two ticks of "£0")
        return f"{symbol}{v:.2g}"
    if abs(v) >= 1e6:
        return f"{symbol}{v / 1e6:,.1f}m"
    if abs(v) >= 1e4:
        return f"{symbol}{v / 1e3:,.0f}k"
    return f"{symbol}{v:,.0f}"


def format_count_tick(value: Any, *, language: str | None = None) -> str:
    """A count on a chart axis: short and whole (``4,297``, ``12.5k``, ``1.25m``); a
    Korean report counts in 만/억 (``150만``). Full counts with separators collide on an
    axis from about a million up."""
    v = as_number(value)
    if v is None:
        return ""
    steps = tuple((size, word) for size, word in i18n.KOREAN_UNITS) if _korean(language) else (
        (10**6, "m"), (10**4, "k"))
    for size, word in steps:
        if abs(v) >= size:
            unit = 10**3 if word == "k" else size
            return f"{v / unit:,.2f}".rstrip("0").rstrip(".") + word
    return f"{v:,.0f}"


def format_count(value: Any, *, language: str | None = None) -> str:
    """A count with thousands separators, e.g. ``4,297`` (the same in Korean)."""
    v = as_number(value)
    return MISSING if v is None else f"{v:,.0f}"


def format_percent(value: Any, decimals: int = 1, *, language: str | None = None) -> str:
    """A share in [0, 1] as a percentage, e.g. ``41.3 %`` (Korean ``41.3%``)."""
    v = as_number(value)
    if v is None:
        return MISSING
    if _korean(language):
        return i18n.format_percent(v, "ko", decimals)
    return f"{v * 100:.{decimals}f} %"


def format_points(value: Any, decimals: int = 1, *, language: str | None = None) -> str:
    """A difference of two shares as signed percentage points, e.g. ``+3.4 pts`` (Korean ``+3.4%p``)."""
    v = as_number(value)
    if v is None:
        return MISSING
    if _korean(language):
        return f"{v * 100:+.{decimals}f}%p"
    return f"{v * 100:+.{decimals}f} pts"


def format_change(value: Any, decimals: int = 1, *, language: str | None = None) -> str:
    """A relative change as a signed percentage, e.g. ``-3.8 %`` (Korean ``-3.8%``)."""
    v = as_number(value)
    if v is None:
        return MISSING
    return f"{v * 100:+.{decimals}f}" + ("%" if _korean(language) else " %")


def format_date(value: Any, *, language: str | None = None) -> str:
    """An unambiguous date, e.g. ``30 Nov 2011``, Korean ``2011. 11. 30.`` (a dash when missing)."""
    if value in (None, "") or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    try:
        day = pd.Timestamp(value)
        return i18n.format_date(day, "ko") if _korean(language) else day.strftime("%-d %b %Y")
    except (ValueError, TypeError):
        return str(value)


def format_period(period: Any, *, language: str | None = None) -> str:
    """A period label for people: ``2011-11`` -> ``Nov 2011`` (Korean ``2011년 11월``); other labels unchanged."""
    try:
        if len(str(period)) != 7:
            return str(period)
        month = pd.Period(str(period), freq="M")
    except (ValueError, TypeError):
        return str(period)
    return i18n.format_month(month, "ko") if _korean(language) else month.strftime("%b %Y")
