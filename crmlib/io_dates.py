"""The invoice-date scan that chooses and checks the report period, without holding the data.

The report period is chosen from the invoice-date column alone (:func:`last_invoice_date`,
:func:`invoice_dates_between`): streamed from text files in chunks and counted per day
once per process (:func:`invoice_date_summaries`), so the runner never holds the data.
The plausible window (:data:`EARLIEST_PLAUSIBLE_DATE`, :func:`default_date_window`,
:func:`outside_window`) is shared with the cleaning rule ``date_window``.

Files are found and read as :mod:`crmlib.io` reads them (same header mapping, same
options, the same one-piece reader as the last resort), so a date is read here as the
cleaning step reads it. Raw files are only ever opened for reading.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from crmlib import schema
from crmlib.errors import DataError
from crmlib.io import _read_csv, _release_arrow_buffers, _source_path, _TextOptions, file_kind, read_header, read_source
from crmlib.io_text import WHITESPACE, _truncated
from crmlib.parsing import as_text, date_hint, parse_dates


# ----------------------------------------------------------------------------- the plausible window
#: plausible invoice dates by default: from this day up to the day of the run (the
#: cleaning rule ``date_window`` in :mod:`crmlib.cleaning` starts from these)
EARLIEST_PLAUSIBLE_DATE = "1990-01-01"


def default_date_window(today: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(earliest, end)`` of the default plausible window: 1990-01-01 up to the day of the run."""
    return pd.Timestamp(EARLIEST_PLAUSIBLE_DATE), (today or pd.Timestamp.today()).normalize() + pd.Timedelta(days=1)


def outside_window(dates: pd.Series, window: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> np.ndarray:
    """Boolean mask of dates outside ``window`` = ``(earliest, end)``, ``earliest <= date < end``;
    ``None`` = no bound; missing dates are not outside."""
    earliest, end = window
    out = np.zeros(len(dates), dtype=bool)
    if earliest is not None:
        out |= (dates < earliest).to_numpy(dtype=bool, na_value=False)
    if end is not None:
        out |= (dates >= end).to_numpy(dtype=bool, na_value=False)
    return out


def last_invoice_date(sources: list[dict[str, Any]], *,
                      window: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None) -> pd.Timestamp:
    """Latest plausible invoice date over the configured sources (reads only that column
    where the format allows, streamed from text files: see :func:`invoice_date_summaries`),
    e.g. to default the report period.

    Dates outside ``window`` (the cleaning rule ``date_window``, see
    :func:`crmlib.cleaning.date_window`; default: 1990-01-01 up to the day of the run) are left out, as the cleaning
    step quarantines them: five lines dated 2099 must not make the period 2099-12. A
    source without data rows, or whose date column holds no readable date, is an error
    naming the file (and sheet) and the column as mapped.
    """
    window = default_date_window() if window is None else window
    last: pd.Timestamp | None = None
    outside: list[str] = []
    for source in sources:
        for part in invoice_date_summaries(source, window):
            if not part.rows:
                raise DataError("the file has a header but no data rows", file=part.where)
            if not part.readable:
                raise DataError(
                    f"none of the {part.rows:,} values can be read as dates"
                    if part.examples else f"the column is empty in all {part.rows:,} rows",
                    file=part.where, column=part.column, examples=part.examples, hint=date_hint(part.date_format),
                )
            outside += part.outside[:5 - len(outside)]
            if part.last is not None and (last is None or part.last > last):
                last = part.last
    if last is None:
        if not outside:
            raise DataError("no transaction sources: add one under 'sources' in workbook.yml or pass --data")
        earliest, end = window
        raise DataError(
            f"no invoice date inside the plausible window ({earliest.date() if earliest is not None else '...'} to "
            f"{(end - pd.Timedelta(days=1)).date() if end is not None else '...'})",
            column=schema.INVOICE_DATE, examples=outside,
            hint="check the dates in the file, or widen cleaning.date_window (earliest, latest) in workbook.yml",
        )
    return pd.Timestamp(last)


def invoice_dates_between(sources: list[dict[str, Any]], start: pd.Timestamp, end: pd.Timestamp, *,
                          window: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
                          ) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """``(lines dated start <= date < end, first and last plausible date)`` over the sources;
    ``start`` and ``end`` are days (midnight).

    Answered from the same one-pass summaries as :func:`last_invoice_date` (a file is read
    once per process), e.g. to refuse a requested period without transactions before any
    notebook runs. Dates outside ``window`` are left out, as cleaning quarantines them.
    """
    window = default_date_window() if window is None else window
    inside, first, last = 0, None, None
    for source in sources:
        for part in invoice_date_summaries(source, window):
            if part.first is None:
                continue
            inside += part.lines_between(pd.Timestamp(start), pd.Timestamp(end))
            first = part.first if first is None else min(first, part.first)
            last = part.last if last is None else max(last, part.last)
    return inside, first, last


def _shown(value: Any) -> str:
    """A cell as shown in messages: text quoted, dates and numbers as they print."""
    return repr(value) if isinstance(value, str) else str(value)


# ----------------------------------------------------------------------------- invoice dates (the period)
#: Values of a column read ahead of every later chunk of a streamed date column, so that
#: :func:`~crmlib.parsing.parse_dates` decides the form (``_form_of_head`` looks at the
#: first 1000) and pandas the format (from the first value) as on the whole column.
DATE_HEAD = 1000
#: Dates parsed at a time when the date column of a text file is streamed.
DATE_CHUNK_ROWS = 1 << 20
_NS_PER_DAY = 86_400_000_000_000
#: Arrow's block size when streaming (``None``: Arrow's default, which pandas uses too, so the
#: column type is inferred from the same first block; tests set a few hundred bytes).
STREAM_BLOCK_BYTES: int | None = None
#: Text pandas' format inference skips when it looks for the first value (as ``tslib.first_non_null``).
_NOT_A_FIRST_DATE = ("", "NaT", "nat", "NAT", "nan", "NaN", "NAN", "now", "today")
#: Arrow types a streamed date column may have; any other (booleans, times) is read in one piece.
_STREAMED_TYPES = ("string", "large_string", "int64", "double", "date32[day]", "null")


@dataclass
class DateSummary:
    """What choosing and checking the period needs from one part's invoice-date column.

    Built in one pass over the column (:func:`invoice_date_summaries`): the plausible
    dates (inside the cleaning rule ``date_window``) as lines per day with the exact first
    and last, the first five implausible values and the first five non-empty values (for
    the messages). A few kilobytes whatever the size of the file.
    """

    where: str
    column: str
    date_format: str | None
    rows: int = 0
    readable: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    lines_per_day: dict[int, int] = field(default_factory=dict)   # days since 1970-01-01 -> plausible lines
    examples: list[str] = field(default_factory=list)             # "row 3: 'gestern'": the first non-empty values
    outside: list[str] = field(default_factory=list)              # "<where>, column 'c', row 9: 2099-..."

    def add(self, values: pd.Series, dates: pd.Series, window: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> None:
        """Count one chunk: ``values`` as read, ``dates`` as parsed, rows numbered after those already added."""
        before, self.rows = self.rows, self.rows + len(values)
        readable = dates.notna().to_numpy()
        self.readable += int(readable.sum())
        if len(self.examples) < 5:
            rows = np.flatnonzero(values.notna().to_numpy())[:5 - len(self.examples)]
            self.examples += [f"row {before + i + 1}: {values.iloc[i]!r}" for i in rows]
        late = outside_window(dates, window)
        if len(self.outside) < 5 and late.any():
            self.outside += [f"{self.where}, column '{self.column}', row {before + i + 1}: {_shown(values.iloc[i])}"
                             for i in np.flatnonzero(late)[:5 - len(self.outside)]]
        inside = dates.to_numpy(dtype="datetime64[ns]")[readable & ~late].view(np.int64)  # ns since 1970
        if not inside.size:
            return
        low, high = pd.Timestamp(int(inside.min())), pd.Timestamp(int(inside.max()))
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)
        days = inside // _NS_PER_DAY
        first_day = int(days.min())
        counts = np.bincount(days - first_day)
        for offset in np.flatnonzero(counts).tolist():
            self.lines_per_day[first_day + offset] = self.lines_per_day.get(first_day + offset, 0) + int(counts[offset])

    def lines_between(self, start: pd.Timestamp, end: pd.Timestamp) -> int:
        """Plausible lines dated ``start <= date < end``; both are days (midnight)."""
        if start != start.normalize() or end != end.normalize():
            raise ValueError(f"start and end must be days (midnight), got {start} and {end}")
        lo, hi = (int(t.value // _NS_PER_DAY) for t in (start, end))
        return sum(n for day, n in self.lines_per_day.items() if lo <= day < hi)


#: Summaries already made in this process, by file, its size and time, its settings and the window:
#: the runner's :func:`crmlib.core.run.resolve_run` and ``check_period_has_data`` share one scan.
_SUMMARIES: dict[tuple, list[DateSummary]] = {}
_SUMMARIES_KEPT = 32


def invoice_date_summaries(source: dict[str, Any], window: tuple[pd.Timestamp | None, pd.Timestamp | None]
                           ) -> list[DateSummary]:
    """One :class:`DateSummary` per part of ``source`` (per sheet of a workbook), made once
    per process for the same file (path, size, modification time), settings and window."""
    path = _source_path(source)
    stat = path.stat()
    settings = json.dumps({k: v for k, v in source.items() if k != "name"}, sort_keys=True, default=str)
    key = (str(path), stat.st_size, stat.st_mtime_ns, settings, window)
    if key not in _SUMMARIES:
        while len(_SUMMARIES) >= _SUMMARIES_KEPT:
            del _SUMMARIES[next(iter(_SUMMARIES))]
        _SUMMARIES[key] = _scan_dates(source, window)
    return _SUMMARIES[key]


def _scan_dates(source: dict[str, Any], window: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> list[DateSummary]:
    """Read and count the invoice-date column of each part of ``source`` in one pass.

    Each part comes with readings to try in order (see :func:`_date_columns`): when a
    streamed reading stops (:class:`_OnePiece`), the column is counted afresh by the next
    one (:class:`_NextType`) or by the last, the one-piece reader.
    """
    dayfirst = bool(source.get("dayfirst"))
    summaries = []
    for where, column, readings, date_format in _date_columns(source):
        at = 0
        while True:
            summary = DateSummary(where, column, date_format)
            try:
                for values, dates in _parsed_chunks(readings[at](), date_format, dayfirst):
                    summary.add(values, dates, window)
                break
            except _OnePiece as stopped:
                at = at + 1 if isinstance(stopped, _NextType) else len(readings) - 1
        summaries.append(summary)
    return summaries


def _parsed_chunks(chunks: Iterable[pd.Series], date_format: str | None, dayfirst: bool):
    """``(values, dates)`` of each chunk of one column, parsed as the whole column would be:
    where the column's first values decide how text is read (no ``date_format``), every
    chunk after the first is parsed behind the column's first :data:`DATE_HEAD` values (and
    its first value that is not empty, when those are all empty)."""
    head: pd.Series | None = None
    has_first = True
    for values in chunks:
        values = values.reset_index(drop=True)
        behind = head is not None and len(head) > 0
        joined = pd.concat([head, values], ignore_index=True) if behind else values
        dates = parse_dates(joined, date_format=date_format, dayfirst=dayfirst)
        yield values, (dates.iloc[len(head):].reset_index(drop=True) if behind else dates)
        rest = values
        if head is None:
            if date_format or pd.api.types.is_datetime64_any_dtype(values.dtype):
                head = values.iloc[:0]  # read value by value: no chunk needs the column's first values
                continue
            head, rest = values.iloc[:DATE_HEAD], values.iloc[DATE_HEAD:]
            has_first = _first_date_at(head) is not None
        if not has_first and (at := _first_date_at(rest)) is not None:
            head, has_first = pd.concat([head, rest.iloc[[at]]], ignore_index=True), True


def _first_date_at(values: pd.Series) -> int | None:
    """Position of the first value pandas' format inference starts from (not empty, not ``NaT``)."""
    text = as_text(values).str.strip()
    found = np.flatnonzero((text.notna() & ~text.isin(_NOT_A_FIRST_DATE)).to_numpy(dtype=bool, na_value=False))
    return int(found[0]) if found.size else None


def _date_columns(source: dict[str, Any]):
    """``(where, column as mapped, readings, date format)`` of each part of a source, where
    ``readings`` are functions returning the column's values in chunks, to try in order: the
    date column alone where the file format allows reading one column; from delimited text
    streamed (:func:`_streamed_date_column`) with Arrow's inferred type, then as numbers,
    then as text, and last in one piece as the cleaning step reads it."""
    path = _source_path(source)
    kind = file_kind(path)
    if kind == "excel":
        for raw in read_source(source):
            column = raw.mapping[schema.INVOICE_DATE]
            yield raw.where, column, [lambda values=raw.frame[column]: [values]], raw.date_format
        return
    header, options = read_header(source)
    mapping, layout = schema.map_columns(header, explicit=source.get("columns") or {},
                                         layout=source.get("layout") or "auto", file=path)
    col = mapping[schema.INVOICE_DATE]
    date_format = source.get("date_format") or schema.LAYOUT_DATE_FORMATS.get(layout)
    if kind == "csv" and Counter(header)[col] == 1:
        def one_piece() -> list[pd.Series]:
            text = _TextOptions(encoding=options["encoding"], delimiter=options["delimiter"],
                                auto=str(source.get("encoding") or "auto").lower() == "auto")
            return [_read_csv(path, text.encoding, text.delimiter, ".", [col] if date_format else [],
                              usecols=[col], options=text)[col]]

        def streamed(as_type: str | None):
            return lambda: _streamed_date_column(path, options["encoding"], options["delimiter"], col, as_type)

        types = ["text"] if date_format else [None, "number", "text"]
        readings = [*(streamed(t) for t in types), one_piece]
    elif kind == "parquet":
        readings = [lambda: [pd.read_parquet(path, columns=[col])[col]]]
    else:
        readings = [lambda: [read_source(source)[0].frame[col]]]
    yield str(path), col, readings, date_format


def _streamed_date_column(path: Path, encoding: str, delimiter: str, column: str,
                          as_type: str | None) -> Iterator[pd.Series]:
    """The date column of a delimited text file (plain or ``.gz``) in chunks of about
    :data:`DATE_CHUNK_ROWS` values, read by Arrow's streaming reader with the options pandas gives Arrow in
    :func:`_read_csv` (null markers, encoding, block size, so the same column type is
    inferred from the first block): memory holds a chunk, not the whole file. ``as_type``:
    ``None`` = the type Arrow infers from the first block, ``number`` = float64, ``text``.

    Raises :class:`_NextType` when a value does not fit the type (``2011-12-09 10:00`` in
    the first block, ``gestern`` in a later one; pandas then read the column with its C
    parser: as float64 when all are numbers, as text otherwise): read it as the next. Raises
    :class:`_OnePiece` when the one-piece reader must read it (a whitespace delimiter,
    another compression, a column type other than text, numbers or dates, or anything else
    Arrow stops at: bad bytes, ragged lines); that reader then does what it always did. A
    damaged ``.gz`` is the usual error.
    """
    name = path.name.lower()
    if delimiter == WHITESPACE or name.endswith((".zip", ".bz2", ".xz", ".zst", ".tar")):
        raise _OnePiece(name)
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from pandas._libs.parsers import STR_NA_VALUES  # the null markers pd.read_csv hands Arrow

    convert = pacsv.ConvertOptions(include_columns=[column], null_values=list(STR_NA_VALUES), strings_can_be_null=True,
                                   column_types={column: {"number": pa.float64(), "text": pa.large_string()}[as_type]}
                                   if as_type else None)
    try:
        with gzip.open(path, "rb") if name.endswith(".gz") else pa.OSFile(str(path)) as fh:
            reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(encoding=encoding, **(
                {"block_size": STREAM_BLOCK_BYTES} if STREAM_BLOCK_BYTES else {})),
                                    parse_options=pacsv.ParseOptions(delimiter=delimiter), convert_options=convert)
            arrays, held, sent = [], 0, False
            for batch in reader:
                arrays.append(batch.column(0))
                held += batch.num_rows
                if held >= DATE_CHUNK_ROWS:
                    chunk, arrays, held = _arrow_dates(arrays), [], 0
                    yield chunk
                    sent = True
            if arrays or not sent:
                yield _arrow_dates(arrays, reader.schema.field(0).type)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _truncated(path, exc) from None
    except _OnePiece:
        raise
    except Exception as exc:  # noqa: BLE001 - the one-piece reader reads it, or says what is wrong, as before
        if as_type != "text" and "CSV conversion error" in str(exc):
            raise _NextType(str(exc)) from None
        raise _OnePiece(str(exc)) from None
    finally:
        _release_arrow_buffers()


class _OnePiece(Exception):
    """A streamed date column the one-piece reader must read instead (see :func:`_streamed_date_column`)."""


class _NextType(_OnePiece):
    """A streamed date column to read again as the next type (see :func:`_streamed_date_column`)."""


def _arrow_dates(arrays: list, empty_type: Any = None) -> pd.Series:
    """Arrow arrays of one column as pandas converts them in ``pd.read_csv(engine="pyarrow")``."""
    import pyarrow as pa

    column = pa.chunked_array(arrays, type=empty_type) if empty_type is not None else pa.chunked_array(arrays)
    kind = str(column.type)
    if not (kind in _STREAMED_TYPES or pa.types.is_timestamp(column.type)):
        raise _OnePiece(kind)
    if kind == "null":  # pandas reads an all-empty column as float NaN
        return pd.Series(np.full(len(column), np.nan))
    return column.to_pandas()


__all__ = [
    "DATE_CHUNK_ROWS", "DATE_HEAD", "DateSummary", "EARLIEST_PLAUSIBLE_DATE", "default_date_window",
    "invoice_date_summaries", "invoice_dates_between", "last_invoice_date", "outside_window",
]
