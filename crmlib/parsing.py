"""Values as retailers' exports write them, read into numbers, dates and clean text.

Pure functions on one column (a pandas Series), with no file handling: ids and text
(padding, ``.0`` endings, empty strings), dates (ISO, day-first, ``strftime`` formats,
Korean ``2011. 12. 9. 오후 3:04`` / ``2011년 12월 9일``, Excel serial days) and numbers
(decimal commas, thousands separators). :mod:`crmlib.io` reads the files and calls these;
the cleaning engine and the campaign page use them too.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype)


def as_text(values: pd.Series) -> pd.Series:
    """Any column as pandas text (``str`` dtype), missing values kept missing."""
    return values if _is_text(values) else values.astype("str")


def as_id(values: pd.Series) -> pd.Series:
    """Ids as stripped text: numbers without a trailing ``.0`` (``17850.0`` -> ``17850``),
    empty strings as missing."""
    values, edges = _strip_text_and_edges(as_text(values))
    if edges is None or edges.dot_zero:
        if values.str.endswith(".0").any():
            values = values.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
        edges = None
    if edges is not None and not edges.empty:
        return values
    empty = (values == "").to_numpy(dtype=bool, na_value=False)
    return values.where(~empty) if empty.any() else values


def strip_text(values: pd.Series) -> pd.Series:
    """Text without leading/trailing spaces; the same column (no copy) when none has any."""
    return _strip_text_and_edges(values)[0]


def _strip_text_and_edges(values: pd.Series) -> tuple[pd.Series, _Edges | None]:
    """:func:`strip_text` plus the byte facts of the result (``None`` when not known)."""
    edges = _edge_bytes(values)
    if edges is not None:
        padded = edges.padded
    else:
        padded = (values.str.startswith((" ", "\t")) | values.str.endswith((" ", "\t", "\r", "\n"))).fillna(False).any()
    if not padded:
        return values, edges
    values = values.str.strip()
    return values, _edge_bytes(values)


def strip_text_empty_missing(values: pd.Series) -> pd.Series:
    """Text without leading/trailing spaces, empty strings as missing."""
    values, edges = _strip_text_and_edges(values)
    empty = edges.empty if edges is not None else bool((values == "").fillna(False).any())
    return values.where(values != "") if empty else values


def has_empty_text(values: pd.Series) -> bool:
    """Whether some value is the empty string (missing values do not count)."""
    edges = _edge_bytes(values)
    return edges.empty if edges is not None else bool((values == "").fillna(False).any())


def may_have_lowercase(values: pd.Series) -> bool:
    """``False`` only when upper-casing cannot change the column: every value is ASCII
    without a lower-case letter (checked on the Arrow bytes in one pass; any other
    column answers ``True``)."""
    chunked = getattr(values.array, "_pa_array", None)
    if chunked is None:
        return True
    import pyarrow as pa

    for chunk in getattr(chunked, "chunks", [chunked]):
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        if len(chunk) == 0:
            continue
        _, offsets_buf, data_buf = chunk.buffers()
        if data_buf is None:
            continue
        offsets = np.frombuffer(offsets_buf, dtype=np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
        data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[chunk.offset]:offsets[chunk.offset + len(chunk)]]
        if ((data >= 97) & (data <= 122) | (data >= 128)).any():  # a-z or a non-ASCII byte
            return True
    return False


_LEADING_PAD = np.zeros(256, dtype=bool)
_LEADING_PAD[[ord(" "), ord("\t")]] = True
_TRAILING_PAD = np.zeros(256, dtype=bool)
_TRAILING_PAD[[ord(" "), ord("\t"), ord("\r"), ord("\n")]] = True


@dataclass
class _Edges:
    padded: bool     # some value starts with a space or tab, or ends with space, tab, CR or LF
    dot_zero: bool   # some value ends with ".0"
    empty: bool      # some value is the empty string


def _edge_bytes(values: pd.Series) -> _Edges | None:
    """What :func:`strip_text` and :func:`as_id` need to know, read from the first and
    last bytes of each value in the Arrow buffers (one vectorised pass instead of a
    string scan per pattern). ``None`` when the column is not Arrow text: the callers
    then use the pandas string methods. Exact: in UTF-8 an ASCII byte is always a whole
    character, so the first/last byte is the first/last character when it is ASCII."""
    chunked = getattr(values.array, "_pa_array", None)
    if chunked is None:
        return None
    import pyarrow as pa

    padded = dot_zero = empty = False
    for chunk in getattr(chunked, "chunks", [chunked]):
        if pa.types.is_large_string(chunk.type):
            offset_type = np.int64
        elif pa.types.is_string(chunk.type):
            offset_type = np.int32
        else:
            return None
        if len(chunk) == 0:
            continue
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=offset_type)[chunk.offset:chunk.offset + len(chunk) + 1]
        filled = np.diff(offsets) > 0
        if chunk.null_count:
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            empty = empty or bool((valid & ~filled).any())
            filled &= valid
        else:
            empty = empty or not filled.all()
        if data_buf is None or not filled.any():
            continue
        data = np.frombuffer(data_buf, dtype=np.uint8)
        if filled.all():  # the usual case: no masking copies
            start, end = offsets[:-1], offsets[1:]
        else:
            start, end = offsets[:-1][filled], offsets[1:][filled]
        last = data[end - 1]
        padded = padded or bool(_LEADING_PAD[data[start]].any() or _TRAILING_PAD[last].any())
        if not dot_zero:
            zero = np.flatnonzero(last == 48)  # ends with "0": is the byte before it a "."?
            zero = zero[end[zero] - start[zero] >= 2]
            dot_zero = bool((data[end[zero] - 2] == 46).any())
    return _Edges(padded=padded, dot_zero=dot_zero, empty=empty)


def parse_dates(values: pd.Series, *, date_format: str | None = None, dayfirst: bool = False) -> pd.Series:
    """Dates as ``datetime64[ns]``; values that cannot be read become NaT.

    With ``date_format`` that format is applied strictly (``korean`` and ``excel`` name
    the forms of :func:`parse_dates_form`; ``%p`` also reads 오전/오후); otherwise pandas
    infers the format from the first value and applies it to all (so a second format
    shows up as unreadable rows instead of silently swapping day and month), and Korean
    dates and Excel serial day numbers are recognised. Cells that already hold dates
    (Excel, Parquet) are taken as they are; times with a UTC offset become UTC.
    """
    return parse_dates_form(values, date_format=date_format, dayfirst=dayfirst)[0]


#: Date forms that ``date_format`` can name instead of a strftime pattern.
DATE_FORMS = {
    "korean": "Korean dates (2011. 12. 9. 오후 3:04, 2011년 12월 9일, 오전/오후)",
    "excel": "Excel serial day numbers (40886.5 = 2011-12-09 12:00)",
}
_KOREAN_DATE = (
    r"^\s*(?P<y>\d{4})\s*(?:년|[.\-/])\s*(?P<m>\d{1,2})\s*(?:월|[.\-/])\s*(?P<d>\d{1,2})\s*(?:일|\.)?"
    r"\s*(?:\(\s*[월화수목금토일]\s*\)|[월화수목금토일]요일)?\s*(?P<ap1>오전|오후|AM|PM|am|pm)?\s*"
    r"(?:(?P<H>\d{1,2})\s*(?::|시)\s*(?:(?P<M>\d{1,2})\s*분?)?\s*(?::\s*(?P<S>\d{1,2}(?:\.\d+)?)|(?P<S2>\d{1,2})\s*초)?)?"
    r"\s*(?P<ap2>오전|오후|AM|PM|am|pm)?\s*$"
)
#: What makes a value Korean rather than ISO: a Korean word, or the dotted form "2011. 12. 9.".
_KOREAN_MARK = r"[년월일시분초]|오전|오후|^\s*\d{4}\.\s+\d{1,2}\.\s+\d{1,2}\."
_EXCEL_SERIAL = r"^\s*\d{5}(?:\.\d+)?\s*$"
#: Serial numbers taken for Excel dates: 1950-01-01 to 2099-12-31.
_SERIAL_RANGE = (18264, 73050)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_dates_form(values: pd.Series, *, date_format: str | None = None,
                     dayfirst: bool = False) -> tuple[pd.Series, str | None]:
    """:func:`parse_dates` plus the form it recognised without being told (``korean``,
    ``excel`` or ``None``).

    Recognition costs nothing on columns that parse: it looks at the first values (a
    whole column in one form goes straight to that form's parser) and otherwise only at
    the values that did not read. Either way each distinct value is parsed once.
    """
    named = str(date_format).strip().lower() if date_format else None
    if named not in DATE_FORMS:
        named = None
    detected: str | None = None
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
    elif named:
        out = _parse_form(values, named)
    elif not date_format and (head := _form_of_head(values)):
        out, detected = _parse_form(values, head), head
    elif values.dtype == object and not date_format:  # date objects, possibly mixed with text
        out = pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=dayfirst)
    else:
        text = as_id(values) if pd.api.types.is_numeric_dtype(values.dtype) else as_text(values).str.strip()
        if date_format:
            if "%p" in date_format:  # strptime's %p reads AM/PM only
                text = text.str.replace("오전", "AM", regex=False).str.replace("오후", "PM", regex=False)
            out = pd.to_datetime(text, format=date_format, errors="coerce")
        else:
            with warnings.catch_warnings():  # "could not infer format": unreadable rows are reported below
                warnings.simplefilter("ignore", UserWarning)
                out = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)
    if getattr(out.dt, "tz", None) is not None:  # times with an offset: compared in UTC
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    out = out.astype("datetime64[ns]")
    if not date_format and detected is None and not pd.api.types.is_datetime64_any_dtype(values.dtype):
        rows = _failed(out, values)
        for form in ("korean", "excel"):
            if not rows.size:
                break
            fixed = _parse_form(values.iloc[rows], form)
            read = fixed.notna().to_numpy()
            if read.any():
                out = out.copy()
                out.iloc[rows[read]] = fixed.to_numpy()[read]
                detected = detected or form
                rows = rows[~read]
    return out, detected


def _form_of_head(values: pd.Series, n: int = 20, share: float = 0.8) -> str | None:
    """``korean`` or ``excel`` when at least ``share`` of the first ``n`` non-empty values
    are in that form (the others then show up as unreadable rows, with examples)."""
    head = values.iloc[:1000].dropna().iloc[:n]
    if head.empty or pd.api.types.is_bool_dtype(head.dtype):
        return None
    if pd.api.types.is_numeric_dtype(head.dtype):
        return "excel" if _in_serial_range(head.astype("float64")).mean() >= share else None
    text = as_text(head).str.strip()
    text = text[(text != "").to_numpy(dtype=bool, na_value=False)]
    if text.empty:
        return None
    if (text.str.match(_KOREAN_DATE) & text.str.contains(_KOREAN_MARK)).mean() >= share:
        return "korean"
    if (text.str.match(_EXCEL_SERIAL) & _in_serial_range(pd.to_numeric(text, errors="coerce"))).mean() >= share:
        return "excel"
    return None


def _in_serial_range(numbers: pd.Series) -> pd.Series:
    return ((numbers >= _SERIAL_RANGE[0]) & (numbers <= _SERIAL_RANGE[1])).fillna(False)


def _parse_form(values: pd.Series, form: str) -> pd.Series:
    """Values in one named form (``korean`` or ``excel``) as ``datetime64[ns]``, NaT where
    a value is not in that form. Each distinct value is parsed once."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(distinct)
    if form == "excel":
        numbers = (distinct.astype("float64") if pd.api.types.is_numeric_dtype(distinct.dtype)
                   else pd.to_numeric(as_text(distinct).str.strip(), errors="coerce"))
        numbers = numbers.where(_in_serial_range(numbers))
        parsed = (_EXCEL_EPOCH + pd.to_timedelta(numbers, unit="D")).dt.round("s")
    else:
        parts = as_text(distinct).str.extract(_KOREAN_DATE)
        number = {k: pd.to_numeric(parts[k], errors="coerce") for k in ("y", "m", "d", "H", "M", "S", "S2")}
        hour = number["H"].fillna(0)
        marker = parts["ap1"].fillna(parts["ap2"]).str.upper()
        afternoon = marker.isin(["오후", "PM"]).to_numpy()
        morning = marker.isin(["오전", "AM"]).to_numpy()
        bad_hour = ((afternoon | morning) & ((hour > 12) | (hour < 1)).to_numpy())
        hour = hour.where(~(afternoon & (hour < 12)), hour + 12).where(~(morning & (hour == 12)), 0)
        second = number["S"].fillna(number["S2"]).fillna(0)
        parsed = pd.to_datetime(pd.DataFrame({
            "year": number["y"], "month": number["m"], "day": number["d"], "hour": hour,
            "minute": number["M"].fillna(0), "second": second.astype("float64"),
        }), errors="coerce")
        parsed = parsed.where(~bad_hour)
    parsed = parsed.astype("datetime64[ns]").to_numpy()
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = codes >= 0
    out[known] = parsed[codes[known]]
    return pd.Series(out, index=values.index)


def parse_numbers(values: pd.Series, *, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Numbers as float64; text that is not a number becomes NaN.

    ``thousands`` is removed before reading (``None``: ``.`` when ``decimal`` is ``,``,
    nothing otherwise).
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = as_text(values).str.strip()
    if thousands is None and decimal != ".":
        thousands = "."
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


#: Thousands separators a source may set.
THOUSANDS_SEPARATORS = (",", ".", "'", " ", "\u00a0", "\u202f")
#: Thousands separators tried, by decimal mark, on values that do not read as plain numbers.
THOUSANDS_CANDIDATES = {".": (",", "'", " ", "\u00a0", "\u202f"), ",": (" ", "\u00a0", "\u202f", "'")}


def detect_thousands(values: pd.Series, *, decimal: str = ".") -> str | None:
    """The thousands separator every one of ``values`` is written with (``1,234``,
    ``12,345.50``, ``1 234,5``), or ``None`` when there is no single such separator.

    Meant for the few values of a column that did not read as plain numbers: each must
    have groups of exactly three digits after the separator, so ``1,5`` (a decimal
    comma) is never taken for a thousands separator.
    """
    import re

    distinct = pd.Series(pd.unique(as_text(values).str.strip().dropna()), dtype="str")
    if distinct.empty:
        return None
    dec = re.escape(decimal)
    for sep in THOUSANDS_CANDIDATES.get(decimal, ()):
        pattern = rf"[-+]?\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+(?:{dec}\d+)?"
        if distinct.str.fullmatch(pattern).all():
            return sep
    return None


def _separator_name(sep: str) -> str:
    return {" ": "' ' (a space)", "\u00a0": "'\\u00a0' (a no-break space)",
            "\u202f": "'\\u202f' (a narrow no-break space)"}.get(sep, repr(sep))


def date_hint(date_format: str | None) -> str:
    """What to set when dates cannot be read (names the settings and their forms)."""
    fit = (f"the format {date_format!r} does not fit" if date_format else
           "the format was inferred from the first value; the file may mix several date formats")
    return (f"{fit}; set 'date_format' for this source in workbook.yml (e.g. \"%d/%m/%Y %H:%M\"; "
            f"korean for 2011. 12. 9. 오후 3:04 or 2011년 12월 9일; excel for serial day numbers "
            f"such as 40886.5) or 'dayfirst: true'")

def _failed(parsed: pd.Series, original: pd.Series) -> np.ndarray:
    """Positions of non-empty values that did not parse (empty cells are not failures)."""
    bad = parsed.isna().to_numpy()
    if not bad.any():
        return np.zeros(0, dtype=np.int64)
    rows = np.flatnonzero(bad & original.notna().to_numpy())
    if rows.size and not pd.api.types.is_numeric_dtype(original.dtype):
        rows = rows[(as_text(original.iloc[rows]).str.strip() != "").to_numpy(dtype=bool, na_value=False)]
    return rows
