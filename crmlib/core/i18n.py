"""The report's languages: translated strings, locale formatting and language-tagged cells.

The workbook writes reports in English (``en``, the source language) or Korean (``ko``).
Three mechanisms, each a standard one:

**The current language.** A run has one language (``language:`` in ``workbook.yml``,
``crm report --language``). :meth:`RunContext.create <crmlib.core.context.RunContext.create>`
makes it current in the notebook's kernel with :func:`set_language` (as gettext's
``install`` does), so library code calls :func:`_` and the formatters of
:mod:`crmlib.core.formatting` without passing the language around. The site renders
in the run's language with :func:`using_language`. The default is English.

**Strings from crmlib** (chart titles, table headers, KPI names, narrative sentences,
warnings) go through gettext-style message ids::

    from crmlib.core.i18n import _
    ax.set_title(_("Revenue per month"))
    text = _("Revenue in {month}").format(month=format_period(as_of))

(``translator(language)`` gives the same function for an explicit language.)

English is the identity. Korean comes from the Babel-managed catalogue
``crmlib/locale/ko/LC_MESSAGES/crmlib.po``, read at run time with
:func:`babel.messages.pofile.read_po` (no ``.mo`` compile step, nothing generated to keep
in sync). A message id without a translation falls back to English, and
:func:`untranslated` / ``tests/test_i18n.py`` fail the build on it. Constants that are
translated later (a dict of KPI labels, a segment map) are marked with :func:`N_` so
the extractor finds them.

Keeping the catalogue up to date (``make messages``; needs only Babel, a dependency)::

    pybabel extract -F babel.cfg -o crmlib/locale/crmlib.pot .     # crmlib, templates, notebooks
    pybabel update -i crmlib/locale/crmlib.pot -d crmlib/locale -D crmlib -l ko

then fill in the new ``msgstr`` lines of the ``.po`` file. Use named placeholders with
``str.format`` (``{month}``) so a translation can reorder them.

**Numbers, money and dates** use Babel's CLDR locale data: :func:`format_number`,
:func:`format_money`, :func:`format_money_compact`, :func:`format_percent`,
:func:`format_points`, :func:`format_month`, :func:`format_date`, each with a
``language`` argument, plus :func:`format_korean_amount` for the mixed 억/만 wording of
sentences that CLDR does not give.

**Notebook prose** stays in one notebook per analysis: a markdown cell tagged
``lang-en`` or ``lang-ko`` is shown only in that language's report, an untagged cell in
every language. Code cells are never tagged (one copy of the code); prose a code cell
shows (a section shown only when it applies) is wrapped in ``_()`` like crmlib's strings.
:mod:`crmlib.core.bilingual` holds that part: the render-time preprocessor that removes
the other languages' cells, the checks, the notebook extractor and the coverage count.
How a page author makes a page bilingual: ``docs/translating.md``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from crmlib.errors import ConfigError

#: Report languages; the first is the source language of every message id.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "ko")
SOURCE_LANGUAGE = "en"
#: gettext domain: the catalogue is ``<LOCALE_DIR>/<language>/LC_MESSAGES/crmlib.po``.
DOMAIN = "crmlib"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: CLDR locale of each report language (British English: the house writes 30 Nov 2011).
BABEL_LOCALES: dict[str, str] = {"en": "en_GB", "ko": "ko_KR"}

Translator = Callable[[str], str]


# ----------------------------------------------------------------------------- languages
def check_language(language: str, where: str = "") -> str:
    """Return ``language`` when it is a supported report language, else raise ConfigError.

    ``where`` (a file and key, or a command-line option) starts the message.
    """
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"{where + ': ' if where else ''}unknown language '{language}'; "
            f"allowed: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return language


_current_language = SOURCE_LANGUAGE


def set_language(language: str) -> str:
    """Make ``language`` the current language of this process (checked); return it.

    Called by ``RunContext.create`` with the run's language, so every later :func:`_` and
    formatter of the notebook speaks it.
    """
    global _current_language
    _current_language = check_language(language)
    return _current_language


def get_language() -> str:
    """The current language (``"en"`` until :func:`set_language` is called)."""
    return _current_language


@contextlib.contextmanager
def using_language(language: str | None) -> Iterator[str]:
    """Make ``language`` current inside a ``with`` block, then restore the previous one.

    ``None`` keeps the current language (for optional settings).
    """
    previous = _current_language
    set_language(language or previous)
    try:
        yield _current_language
    finally:
        set_language(previous)


def config_language(config: Any) -> str:
    """The language of a ``workbook.yml`` mapping (``"en"`` when it has none)."""
    return check_language((config or {}).get("language") or SOURCE_LANGUAGE)


def in_config_language(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a renderer so it runs in the language of its ``config`` keyword argument.

    For the site's functions, which are given the run's ``workbook.yml`` mapping::

        @in_config_language
        def write_period_index(period_dir, *, period, as_of, config): ...
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with using_language(config_language(kwargs.get("config"))):
            return func(*args, **kwargs)

    return wrapper


def babel_locale(language: str) -> Locale:
    """The CLDR :class:`babel.Locale` used to format numbers and dates in ``language``."""
    return Locale.parse(BABEL_LOCALES[check_language(language)])


# ----------------------------------------------------------------------------- messages
def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it now (gettext's ``gettext_noop``).

    For constants such as label dicts: write ``N_("Orders")`` where they are defined and
    ``_(label)`` where they are shown.
    """
    return msgid


def catalog_path(language: str) -> Path:
    """Path of the ``.po`` catalogue of ``language`` (it need not exist for English)."""
    return LOCALE_DIR / check_language(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=None)
def load_catalog(language: str) -> Catalog:
    """The Babel catalogue of ``language`` read from its ``.po`` file (cached per process).

    English, the source language, has an empty catalogue. Raises ConfigError when the
    file of another supported language is missing.
    """
    if check_language(language) == SOURCE_LANGUAGE:
        return Catalog(locale=BABEL_LOCALES[language], domain=DOMAIN)
    path = catalog_path(language)
    if not path.is_file():
        raise ConfigError(f"no message catalogue for language '{language}': {path}")
    with path.open("rb") as fh:
        return read_po(fh, locale=BABEL_LOCALES[language], domain=DOMAIN)


@functools.lru_cache(maxsize=None)
def translations(language: str) -> dict[str, str]:
    """Message id -> translation for ``language``: only finished, non-fuzzy entries."""
    out: dict[str, str] = {}
    for message in load_catalog(language):
        if not message.id or isinstance(message.id, tuple) or message.fuzzy:
            continue
        if isinstance(message.string, str) and message.string:
            out[message.id] = message.string
    return out


def translator(language: str) -> Translator:
    """A gettext-style ``_(msgid) -> str`` for ``language``.

    English returns the message id unchanged; Korean returns the catalogue's translation,
    or the message id itself when there is none (as gettext does), so a missing
    translation shows English rather than nothing. Tests catch those with
    :func:`untranslated`.
    """
    if check_language(language) == SOURCE_LANGUAGE:
        return _identity
    table = translations(language)

    def _(msgid: str) -> str:
        return table.get(msgid, msgid)

    return _


def _identity(msgid: str) -> str:
    return msgid


def _(msgid: str) -> str:
    """``msgid`` translated into the current language (:func:`get_language`).

    The message id is the English text; use named placeholders and format after
    translating: ``_("Revenue in {month}").format(month=...)``. A :class:`Message` (text built
    and stored earlier, e.g. a model's warning) comes back translated with its placeholders.
    """
    if isinstance(msgid, Message):
        return msgid.translated()
    return translator(_current_language)(msgid)


class Message(str):
    """An English sentence that remembers its message id and placeholders, to be shown translated later.

    For text built where it is stored (a model's note, a list of warnings kept in metrics)
    and shown elsewhere: the string itself is the English text (what metrics and artifacts
    keep); :func:`shown` gives it in the current language. Placeholder values that are
    themselves messages are translated too::

        note = Message(N_("Checked at {count} dates."), count=3)    # str(note) == "Checked at 3 dates."
        shown(note)                                                 # "3개 날짜에 확인했습니다." in Korean
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> "Message":
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def translated(self) -> str:
        """The sentence in the current language."""
        if not self.params:
            return _(self.msgid)
        return _(self.msgid).format(**{k: shown(v) if isinstance(v, Message) else v for k, v in self.params.items()})

    def __reduce__(self):      # copies and pickles keep the message id
        return (_rebuild_message, (type(self), self.msgid, self.params))


class Capitalised(Message):
    """A :class:`Message` shown with its first letter upper-case (a label that starts a sentence)."""

    def __new__(cls, msgid: str, /, **params: Any) -> "Capitalised":
        text = msgid.format(**params) if params else msgid
        self = str.__new__(cls, text[:1].upper() + text[1:])
        self.msgid, self.params = msgid, params
        return self

    def translated(self) -> str:
        text = super().translated()
        return text[:1].upper() + text[1:]


class Sentences(Message):
    """Several sentences (messages or plain strings) kept apart, joined by a space when shown."""

    def __new__(cls, *parts: str) -> "Sentences":
        self = str.__new__(cls, " ".join(parts))
        self.msgid, self.params, self.parts = "", {}, parts
        return self

    def translated(self) -> str:
        return " ".join(shown(p) for p in self.parts)

    def __reduce__(self):
        return (Sentences, tuple(self.parts))


def _rebuild_message(cls: type, msgid: str, params: dict[str, Any]) -> Message:
    return cls(msgid, **params)


def shown(text: Any) -> str:
    """``text`` in the current language: a :class:`Message` translated, any other string through :func:`_`
    (unknown strings, such as data values, come back unchanged)."""
    if isinstance(text, Message):
        return text.translated()
    return _(text) if isinstance(text, str) else str(text)


def untranslated(msgids: Iterable[str], language: str) -> list[str]:
    """The message ids among ``msgids`` with no finished translation in ``language``, sorted.

    Always empty for English. Fuzzy and empty ``msgstr`` entries count as untranslated.
    """
    if check_language(language) == SOURCE_LANGUAGE:
        return []
    table = translations(language)
    return sorted({m for m in msgids if m not in table})


#: What ``pybabel extract`` reads (as in ``babel.cfg``): crmlib's Python, the site's
#: jinja2 templates and the notebooks' code cells.
METHOD_MAP: list[tuple[str, str]] = [
    ("**.py", "python"),
    ("**/templates/**.j2", "jinja2"),
    ("**.ipynb", "crmlib.core.bilingual:extract_notebook"),
]


def messages_of(extracted: Iterable[tuple]) -> set[str]:
    """The message ids of a Babel extraction (its ``(..., message, comments, context)`` tuples)."""
    found: set[str] = set()
    for *_rest, message, _comments, _context in extracted:
        if isinstance(message, tuple):   # ngettext: (singular, plural)
            found.update(m for m in message if m)
        elif message:
            found.add(message)
    return found


def crmlib_msgids(package_dir: Path = PACKAGE_DIR) -> set[str]:
    """Every message id crmlib passes to ``_()``, ``N_()`` or ``gettext()``: Python and templates.

    Extracted with Babel's own extractors (the ones ``pybabel extract`` uses), so what the
    test checks is what the catalogue update sees.
    """
    return messages_of(extract_from_dir(str(package_dir), method_map=METHOD_MAP[:2]))


def jinja_globals() -> dict[str, Callable[..., str]]:
    """What a jinja2 environment needs to translate its templates (``environment.globals.update``).

    ``{{ _("Pages") }}`` translates into the current language; ``{{ current_language() }}``
    gives ``en`` / ``ko`` (for ``<html lang>``). ``pybabel extract`` reads the templates'
    ``_()`` calls with jinja2's extractor (``babel.cfg``).
    """
    return {"_": _, "current_language": get_language}


# ----------------------------------------------------------------------------- numbers
def _fraction_pattern(decimals: int) -> str:
    return "." + "0" * decimals if decimals > 0 else ""


def format_number(value: float, language: str, decimals: int = 0) -> str:
    """A number with the locale's grouping: ``1,435,014`` / ``3.5`` (``decimals`` fixed)."""
    return babel_numbers.format_decimal(
        value, format="#,##0" + _fraction_pattern(decimals), locale=babel_locale(language),
        decimal_quantization=True,
    )


def format_money(value: float, currency: str, language: str, decimals: int = 0,
                 *, won_suffix: bool = True) -> str:
    """An amount of money written the way ``language`` writes ``currency``.

    ``decimals`` is capped by the currency's minor unit, so KRW never shows decimals.
    Korean reports write won as ``1,435,014원`` (``won_suffix=False``: ``₩1,435,014``);
    other currencies keep their own symbol and conventions in every language
    (``£1,435,014``, ``€12.50``; CLDR writes USD as ``US$`` in both locales).
    """
    locale = babel_locale(language)
    decimals = min(decimals, babel_numbers.get_currency_precision(currency))
    if currency == "KRW" and language == "ko" and won_suffix:
        return format_number(value, language, decimals) + "원"
    pattern = re.sub(r"\.0+", _fraction_pattern(decimals),
                     locale.currency_formats["standard"].pattern)
    return babel_numbers.format_currency(
        value, currency, format=pattern, locale=locale, currency_digits=False,
    )


#: The Korean number units (10^4 steps), largest first.
KOREAN_UNITS: tuple[tuple[int, str], ...] = ((10**12, "조"), (10**8, "억"), (10**4, "만"))


def format_money_compact(value: float, currency: str, language: str, decimals: int = 1) -> str:
    """A short amount for chart ticks and tight table cells.

    English uses CLDR's compact form (``£1.4m``, ``£14.4k``). Korean counts in 만, 억
    and 조, as Korean readers do, for every currency: ``₩14.4억``, ``₩1,435만``,
    ``£143.5만``; below 1만 the full amount (``₩9,800``).
    """
    locale = babel_locale(language)
    if language != "ko":
        return babel_numbers.format_compact_currency(
            value, currency, locale=locale, fraction_digits=decimals,
        )
    symbol = babel_numbers.get_currency_symbol(currency, locale=locale)
    sign = "-" if value < 0 else ""
    size = abs(value)
    for unit_value, unit in KOREAN_UNITS:
        if size >= unit_value:
            amount = babel_numbers.format_decimal(
                size / unit_value, format="#,##0." + "#" * decimals, locale=locale,
            )
            return f"{sign}{symbol}{amount}{unit}"
    return f"{sign}{symbol}{format_number(size, language)}"


def format_korean_amount(value: float, unit: str = "원", *, exact: bool = False) -> str:
    """Won in a Korean sentence, grouped by 조/억/만: ``1_435_014_000 -> '14억 3,501만 원'``.

    CLDR's compact forms give only one unit (``14억``); Korean prose writes the mixed
    form. Amounts of 1억 and more are rounded to whole 만 (the usual precision in
    sentences) unless ``exact``; smaller amounts are written to the won:
    ``1_435_014 -> '143만 5,014원'``, ``9_800 -> '9,800원'``, ``300_000_000 -> '3억 원'``.
    The unit is spaced after a 조/억/만 word and attached after digits, as in Korean
    orthography. ``unit=""`` leaves it out.
    """
    if not math.isfinite(value):
        raise ValueError(f"not a finite amount: {value!r}")
    whole = math.floor(abs(value) + 0.5)              # half up, as people round money
    if whole >= 10**8 and not exact:
        whole = (whole + 5_000) // 10**4 * 10**4
    sign = "-" if value < 0 and whole else ""
    parts: list[str] = []
    rest = whole
    for unit_value, unit_word in KOREAN_UNITS:
        count, rest = divmod(rest, unit_value)
        if count:
            parts.append(f"{count:,}{unit_word}")
    if rest or not parts:
        parts.append(f"{rest:,}")
    text = sign + " ".join(parts)
    if not unit:
        return text
    ends_with_unit_word = not text[-1].isdigit()
    return f"{text} {unit}" if ends_with_unit_word else f"{text}{unit}"


def format_percent(share: float, language: str, decimals: int = 0) -> str:
    """A share in [0, 1] as a percentage: ``0.123 -> '12%'`` (``decimals=1``: ``'12.3%'``)."""
    return babel_numbers.format_percent(
        share, format="#,##0" + _fraction_pattern(decimals) + "%", locale=babel_locale(language),
    )


def format_points(share_change: float, language: str, decimals: int = 1) -> str:
    """A change between two shares in percentage points, always signed.

    ``share_change`` is the difference of two shares in [0, 1] (``0.023`` = 2.3 points):
    English ``'+2.3 pts'``, Korean ``'+2.3%p'`` (퍼센트포인트, the Korean abbreviation);
    a change that rounds to zero has no sign (``'0.0 pts'``).
    """
    points = share_change * 100
    number = format_number(abs(points), language, decimals)
    is_zero = not number.strip("0.,")
    sign = "" if is_zero else ("-" if points < 0 else "+")
    if language == "ko":
        return f"{sign}{number}%p"
    check_language(language)
    return f"{sign}{number} pts"


# ----------------------------------------------------------------------------- dates
def _as_date(value: Any) -> dt.date:
    """A :class:`datetime.date` from a date, datetime, pandas Timestamp/Period or ISO text."""
    if isinstance(value, str):
        text = value.strip()
        return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date(int(value.year), int(value.month), int(getattr(value, "day", 1)))
    except AttributeError:
        raise TypeError(f"not a date: {value!r}") from None


def format_month(value: Any, language: str) -> str:
    """A month for people: English ``'November 2011'``, Korean ``'2011년 11월'``.

    ``value`` may be a date, datetime, pandas Timestamp or Period, or ISO text (``2011-11``).
    """
    return babel_dates.format_skeleton("yMMMM", _as_date(value), locale=babel_locale(language))


def format_date(value: Any, language: str) -> str:
    """A day for people: English ``'30 Nov 2011'``, Korean ``'2011. 11. 30.'`` (CLDR medium)."""
    return babel_dates.format_date(_as_date(value), format="medium", locale=babel_locale(language))
