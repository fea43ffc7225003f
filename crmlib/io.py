"""Read retailers' exports (CSV, CSV.GZ, Excel, Parquet) onto the canonical contract.

Reading is split in two steps so that nothing is lost:

1. :func:`read_source` reads one file *as it is* (encoding detected with
   charset-normalizer, delimiter sniffed, ids kept as text) and maps its header onto the
   canonical names (:func:`crmlib.schema.map_columns`). The untouched frame is kept for
   the quarantine.
2. :func:`parse_source` turns the mapped columns into canonical dtypes (dates, numbers,
   ids without a trailing ``.0``) and marks rows whose values cannot be read. When more
   than ``max_invalid_share`` of the rows of a column cannot be read, it stops with a
   :class:`~crmlib.errors.DataError` naming file, column and example rows; below that
   share the rows are quarantined by the cleaning step with reason ``invalid_value``.

Every sheet of an Excel workbook is read (or the configured ``sheet:``), each mapped on
its own header. Dates in Korean forms or as Excel serial numbers, and numbers with a
thousands separator, are read when configured (``date_format: korean | excel``,
``thousands``) or recognised among the values that did not read plainly; what was
recognised is noted in :attr:`RawSource.notes` (and the audit). When a byte after the
first 64 KB does not decode in the detected encoding, the file is read again (see
:func:`crmlib.io_text._fallback_encoding`) instead of failing. How a text file is decoded
(encoding, delimiter, that fallback) is in :mod:`crmlib.io_text`.

The optional customer table is read by :mod:`crmlib.io_customers`.

The report period is chosen from the invoice-date column alone, streamed: see
:mod:`crmlib.io_dates`.

Raw files are only ever opened for reading.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib import schema
from crmlib.parsing import (
    _failed, DATE_FORMS, THOUSANDS_CANDIDATES, THOUSANDS_SEPARATORS, _separator_name, as_id, as_text, date_hint, detect_thousands, parse_dates_form, parse_numbers,
)
from crmlib.errors import DataError
from crmlib.io_text import (
    WHITESPACE, _check_decodes, _fallback_encoding, _head_bytes, _truncated, detect_encoding, sniff_delimiter,
)

TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet", ".pq")


# ----------------------------------------------------------------------------- file kinds
def file_kind(path: str | Path) -> str:
    """``csv``, ``excel`` or ``parquet`` from the file name (``.gz`` allowed on text files)."""
    name = Path(path).name.lower()
    if name.endswith(".gz") or name.endswith(".zip") or name.endswith(".bz2"):
        name = name.rsplit(".", 1)[0]
    if name.endswith(EXCEL_SUFFIXES):
        return "excel"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "csv"


# ----------------------------------------------------------------------------- raw source
@dataclass
class RawSource:
    """One file as read: the untouched frame plus how it maps onto the contract."""

    path: Path
    name: str
    frame: pd.DataFrame                      # original columns, original values
    mapping: dict[str, str]                  # canonical -> original column
    layout: str
    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    dayfirst: bool = False
    decimal: str = "."
    thousands: str | None = None
    sheet: str | None = None                 # Excel: the sheet these rows come from
    notes: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        """The file as named in messages: ``path`` or ``path, sheet 'name'``."""
        return f"{self.path}, sheet '{self.sheet}'" if self.sheet is not None else str(self.path)


def _source_path(source: dict[str, Any]) -> Path:
    path = Path(str(source.get("path"))).expanduser()
    if not path.is_file():
        raise DataError("file not found", file=path,
                        hint="check 'sources' in workbook.yml or the --data path")
    return path.resolve()


def check_distinct_files(sources: list[dict[str, Any]]) -> None:
    """Refuse two sources that are the same file or byte-identical copies of one export.

    The same export given twice (under two names, or by two paths) would count every sale
    twice. Only files of equal size are hashed (BLAKE2b of the whole content), so the usual
    case of sources of different sizes costs one ``stat`` per file.
    """
    import hashlib

    paths = [_source_path(s) for s in sources]
    by_size: dict[int, list[int]] = {}
    for i, path in enumerate(paths):
        by_size.setdefault(path.stat().st_size, []).append(i)
    for group in by_size.values():
        if len(group) < 2:
            continue
        seen: dict[str, int] = {}
        for i in group:
            with open(paths[i], "rb") as fh:
                digest = hashlib.file_digest(fh, "blake2b").hexdigest()
            if digest in seen:
                j = seen[digest]
                name_i, name_j = (str(sources[k].get("name") or paths[k].name.split(".")[0]) for k in (i, j))
                same = "is the same file as" if paths[i] == paths[j] else "has exactly the same content as"
                raise DataError(
                    f"{same} {paths[j]} (sources '{name_j}' and '{name_i}'): the same export read twice "
                    f"would count every sale twice",
                    file=paths[i], hint="remove one of them from 'sources' in workbook.yml (or from the --data paths)",
                )
            seen[digest] = i


def _text_header(path: Path, source: dict[str, Any]) -> tuple[list[str], str, str]:
    sample = _head_bytes(path)
    if not sample.strip():
        raise DataError("the file is empty", file=path)
    encoding = source.get("encoding") or "auto"
    if str(encoding).lower() == "auto":
        encoding = detect_encoding(sample, file=path)
    else:
        _check_decodes(sample, encoding, path)
    text = codecs.decode(sample, encoding, errors="ignore").lstrip("\ufeff")
    delimiter = source.get("delimiter") or sniff_delimiter(text)
    first = text.splitlines()[0] if text else ""
    if delimiter == WHITESPACE:
        header = first.split()
    else:
        header = next(csv.reader([first], delimiter=delimiter), [])
    return [h.strip() for h in header], encoding, delimiter


def read_header(source: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The column names of a source without reading its rows, plus reading options found.

    For an Excel workbook this is the header of the first sheet read (see
    :func:`excel_sheets`); :func:`read_source` maps every sheet on its own.
    """
    path = _source_path(source)
    kind = file_kind(path)
    if kind == "csv":
        header, encoding, delimiter = _text_header(path, source)
        return header, {"encoding": encoding, "delimiter": delimiter}
    if kind == "excel":
        sheets = excel_sheets(path, source.get("sheet"))
        return sheets[0][1], {"sheet": sheets[0][0]}
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names), {}
    except Exception as exc:
        raise DataError(f"cannot read as Parquet ({exc})", file=path) from None


def _open_excel(path: Path) -> pd.ExcelFile:
    try:
        return pd.ExcelFile(path)
    except Exception as exc:  # openpyxl raises many types on bad files
        raise DataError(f"cannot read as an Excel workbook ({exc})", file=path) from None


def excel_sheets(path: str | Path, sheet: Any = None,
                 book: pd.ExcelFile | None = None) -> list[tuple[str, list[str]]]:
    """``(sheet name, header)`` of each sheet to read, in workbook order.

    ``sheet`` is the source's ``sheet:`` setting: ``None`` = every sheet, a name or
    0-based index = that sheet only, a list = those sheets. Sheets with nothing in
    them (no header, no rows) are left out; an unknown sheet is an error naming the
    sheets the workbook has, and so is a workbook with nothing on any sheet.
    ``book`` is the workbook when already open (it is left open).
    """
    path = Path(path)
    if book is None:
        with _open_excel(path) as opened:
            return excel_sheets(path, sheet, opened)
    names = [str(n) for n in book.sheet_names]
    wanted = _wanted_sheets(names, sheet, path)
    out = []
    for name in wanted:
        try:
            head = pd.read_excel(book, sheet_name=name, header=None, nrows=1, dtype=object)
        except Exception as exc:
            raise DataError(f"cannot read sheet '{name}' of the Excel workbook ({exc})", file=path) from None
        if head.empty or head.iloc[0].isna().all():
            continue
        out.append((name, [str(h).strip() for h in head.iloc[0].tolist()]))
    if not out:
        raise DataError(f"the workbook has no data on {'any sheet' if len(wanted) > 1 else 'the sheet read'} "
                        f"(sheets read: {', '.join(repr(n) for n in wanted)}; sheets in the file: "
                        f"{', '.join(repr(n) for n in names)})", file=path,
                        hint="set 'sheet' for this source in workbook.yml to the sheet holding the data"
                        if sheet is not None else None)
    return out


def _wanted_sheets(names: list[str], sheet: Any, path: Path) -> list[str]:
    if sheet is None:
        return names
    wanted = []
    for item in (sheet if isinstance(sheet, (list, tuple)) else [sheet]):
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise DataError(f"'sheet' must be a sheet name, a 0-based index or a list of them, got {item!r}",
                            file=path)
        if isinstance(item, int):
            if not 0 <= item < len(names):
                raise DataError(f"sheet index {item} is out of range: the workbook has {len(names)} sheet(s) "
                                f"({', '.join(repr(n) for n in names)})", file=path,
                                hint="set 'sheet' for this source in workbook.yml (a name, a 0-based index, "
                                     "or null for every sheet)")
            item = names[item]
        elif item not in names:
            raise DataError(f"no sheet named '{item}' in the workbook (sheets: {', '.join(repr(n) for n in names)})",
                            file=path, hint="set 'sheet' for this source in workbook.yml (a name, a 0-based "
                                            "index, or null for every sheet)")
        if item not in wanted:
            wanted.append(item)
    return wanted


def _check_duplicated(header: list[str], mapping: dict[str, str], path: Path) -> None:
    counts = Counter(header)
    for canonical, column in mapping.items():
        if counts[column] > 1:
            raise DataError(
                f"column '{column}' appears {counts[column]} times in the header, so it is not "
                f"clear which one holds {canonical}",
                file=path, column=column,
                hint="rename one of them in the file, or map the one to use in workbook.yml 'columns'",
            )


def read_source(source: dict[str, Any]) -> list[RawSource]:
    """Read one configured source as it is and map its columns (see module docstring).

    ``source`` is a source dict of :mod:`crmlib.config` (path, name, layout, encoding,
    date_format, dayfirst, decimal, thousands, delimiter, sheet, columns). Returns one
    :class:`RawSource` per part read: one for a text or Parquet file, one per sheet
    for an Excel workbook (every sheet with data by default, or the configured
    ``sheet``), each mapped on its own header.
    """
    path = _source_path(source)
    if file_kind(path) == "excel":
        return _read_excel_source(path, source)
    header, options = read_header(source)
    mapping, layout, text_cols, date_format = _map_source(header, source, path)
    decimal = source.get("decimal") or "."
    if file_kind(path) == "csv":
        text = _TextOptions(encoding=options["encoding"], delimiter=options["delimiter"],
                            auto=str(source.get("encoding") or "auto").lower() == "auto")
        frame = _read_csv(path, text.encoding, text.delimiter, decimal, text_cols, options=text)
        options["encoding"], notes = text.encoding, text.notes
    else:
        frame, notes = pd.read_parquet(path), []
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if frame.empty:
        raise DataError("the file has a header but no data rows", file=path)
    return [_raw(path, source, frame, mapping, layout, date_format, options.get("encoding"),
                 options.get("delimiter"), None, notes)]


def _map_source(header: list[str], source: dict[str, Any],
                where: Any) -> tuple[dict[str, str], str, list[str], str | None]:
    """Mapping, layout, columns to read as text, and date format of one header."""
    mapping, layout = schema.map_columns(header, explicit=source.get("columns") or {},
                                         layout=source.get("layout") or "auto", file=where)
    _check_duplicated(header, mapping, where)
    text_cols = [mapping[c] for c in schema.ID_COLUMNS if c in mapping]
    date_format = source.get("date_format") or schema.LAYOUT_DATE_FORMATS.get(layout)
    if date_format:
        text_cols.append(mapping[schema.INVOICE_DATE])
    return mapping, layout, text_cols, date_format


def _raw(path: Path, source: dict[str, Any], frame: pd.DataFrame, mapping: dict[str, str], layout: str,
         date_format: str | None, encoding: str | None, delimiter: str | None, sheet: str | None,
         notes: list[str]) -> RawSource:
    decimal, thousands = source.get("decimal") or ".", source.get("thousands") or None
    if thousands is not None and (thousands == decimal or thousands not in THOUSANDS_SEPARATORS):
        raise DataError(f"'thousands' must differ from 'decimal' ({decimal!r}) and be one of ',', '.', \"'\", ' ', "
                        f"got {thousands!r}", file=path, hint="set 'thousands' for this source in workbook.yml")
    return RawSource(
        path=path, name=str(source.get("name") or path.name.split(".")[0]), frame=frame,
        mapping=mapping, layout=layout, encoding=encoding, delimiter=delimiter, date_format=date_format,
        dayfirst=bool(source.get("dayfirst")), decimal=decimal, thousands=thousands, sheet=sheet,
        notes=list(notes),
    )


def _read_excel_source(path: Path, source: dict[str, Any]) -> list[RawSource]:
    """Every sheet to read of a workbook, each mapped on its own header (see :func:`excel_sheets`).

    A sheet with a header but no rows is noted and left out (it has no rows to lose); a
    sheet whose header does not map is an error naming the sheet.
    """
    parts: list[RawSource] = []
    skipped: list[str] = []
    with _open_excel(path) as book:
        sheets = excel_sheets(path, source.get("sheet"), book)
        for name, header in sheets:
            where = f"{path}, sheet '{name}'"
            try:
                mapping, layout, text_cols, date_format = _map_source(header, source, where)
            except DataError as exc:
                if len(sheets) > 1 and source.get("sheet") is None:
                    exc.hint = ((exc.hint + "; ") if exc.hint else "") + (
                        "every sheet of a workbook is read by default: to read only some, set 'sheet' for this "
                        "source in workbook.yml (a name, a 0-based index or a list)")
                    exc.args = (exc._message(),)
                raise
            try:
                frame = pd.read_excel(book, sheet_name=name, dtype={c: object for c in text_cols})
            except Exception as exc:
                raise DataError(f"cannot read the sheet ({exc})", file=where) from None
            frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
            if frame.empty:
                skipped.append(name)
                continue
            parts.append(_raw(path, source, frame, mapping, layout, date_format, None, None, name, []))
    if not parts:
        raise DataError(f"the workbook has a header but no data rows (sheets read: "
                        f"{', '.join(repr(n) for n, _ in sheets)})", file=path)
    if skipped:
        parts[0].notes.append(f"sheet(s) {', '.join(repr(n) for n in skipped)} have a header but no rows")
    return parts


@dataclass
class _TextOptions:
    """How a text file is decoded; :func:`_read_csv` updates it when it has to change the
    encoding it was given (``auto`` only) and adds a note saying so."""

    encoding: str
    delimiter: str
    auto: bool = False
    notes: list[str] = field(default_factory=list)


def _read_csv(path: Path, encoding: str, delimiter: str, decimal: str, text_cols: list[str],
              usecols: list[str] | None = None, options: _TextOptions | None = None) -> pd.DataFrame:
    """Read a delimited text file (Arrow's reader when it can, pandas' C parser otherwise).

    The encoding comes from the first 64 KB. When a later byte does not decode and the
    encoding was detected (``options.auto``), the file is read again with
    :func:`_fallback_encoding` (another encoding that reads the whole file, or the same one
    with undecodable bytes replaced by U+FFFD), and ``options`` says so.
    """
    try:
        try:
            return _read_csv_as(path, encoding, delimiter, decimal, text_cols, usecols)
        except UnicodeDecodeError as exc:
            if options is None or not options.auto:
                raise
            fallback, errors, note = _fallback_encoding(path, encoding, exc)
            options.encoding = fallback
            options.notes.append(note)
            return _read_csv_as(path, fallback, delimiter, decimal, text_cols, usecols, errors=errors)
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot be read as {encoding} ({exc.reason} at byte {exc.start})", file=path,
                        hint="set 'encoding' for this source in workbook.yml (e.g. cp949, latin-1)") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _truncated(path, exc) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", file=path) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot be parsed as delimited text ({str(exc).splitlines()[0]})", file=path,
                        hint="check 'delimiter' for this source in workbook.yml") from None


def _read_csv_as(path: Path, encoding: str, delimiter: str, decimal: str, text_cols: list[str],
                 usecols: list[str] | None, errors: str = "strict") -> pd.DataFrame:
    """One attempt at reading with one encoding; raises ``UnicodeDecodeError`` when a byte
    does not decode (``errors="strict"``)."""
    dtype = {c: "str" for c in text_cols}
    common: dict[str, Any] = {"encoding": encoding, "dtype": dtype, "usecols": usecols}
    if errors != "strict":
        common["encoding_errors"] = errors
    if delimiter == WHITESPACE:
        return pd.read_csv(path, sep=WHITESPACE, decimal=decimal, **common)
    if decimal == "." and errors == "strict":
        try:  # fast path: Arrow's multi-threaded reader
            with _returning_arrow_memory():
                frame = pd.read_csv(path, engine="pyarrow", sep=delimiter, **common)
            _release_arrow_buffers()
            if not _has_undecoded_column(frame):
                return frame
            del frame  # Arrow kept a column whose bytes are not valid text: the C parser says where
        except UnicodeDecodeError:
            raise
        except (EOFError, gzip.BadGzipFile, zlib.error):
            raise
        except Exception:  # ragged lines, odd quoting: the C parser below says what is wrong
            pass
    return pd.read_csv(path, sep=delimiter, decimal=decimal, **common)


def _has_undecoded_column(frame: pd.DataFrame) -> bool:
    """Whether Arrow's reader returned a column as raw bytes (it does so, instead of
    failing, when the column holds bytes that are not valid UTF-8)."""
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object:
            first = values.first_valid_index()
            if first is not None and isinstance(values.loc[first], bytes):
                return True
    return False


@contextlib.contextmanager
def _returning_arrow_memory():
    """Arrow allocates from its jemalloc pool while the block runs (when pyarrow has it).

    The default pool (mimalloc) keeps the CSV reader's scratch buffers, about the size of
    the file, where NumPy and pandas cannot reuse them; jemalloc hands freed pages back to
    the system within a second. Measured on a 10M-line CSV (918 MB): the read peaks at
    2.3 GB instead of 2.8 GB and leaves 1.2 GB resident instead of 2.0 GB. The buffers
    made here go back to jemalloc whenever they are freed; other Arrow work is unchanged.
    (The C library's allocator is worse: the reader's threads leave their freed buffers
    in per-thread arenas.)
    """
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, AttributeError):  # a pyarrow built without jemalloc
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _release_arrow_buffers() -> None:
    """Hand the CSV reader's scratch buffers back to the system (Arrow's allocator keeps
    them otherwise, and later NumPy steps cannot reuse them)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # older pyarrow: nothing to release
        pass


def parse_source(raw: RawSource, *, max_invalid_share: float = 0.01, ahead: int = 0,
                 failures: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Canonical frame of one source and a boolean mask of rows that could not be read.

    Rows with an unreadable or missing date, quantity, price/amount, invoice or product
    id are marked invalid (the cleaning step quarantines them). If more than
    ``max_invalid_share`` of the rows are unreadable in one column, a
    :class:`DataError` names the file, the column and up to five example rows.
    Derived columns: ``invoice_id`` (customer + day) and ``product_id`` (``ALL``) when the
    file has none; ``unit_price`` = amount / quantity or ``amount`` = quantity x unit_price.

    For a file read in chunks (:mod:`crmlib.cleaning_chunks`): the first ``ahead`` rows of
    ``raw.frame`` are the file's first rows, read ahead of the chunk only so that formats
    are inferred as on the whole file (they are parsed, then left out of the result); and
    with ``failures`` (a dict) the unreadable values are counted there per column
    (``{column: {"count", "examples": [(position in the chunk, value)], "what", "hint"}}``)
    instead of being checked against ``max_invalid_share``: the caller checks the file's total.
    """
    frame, m, n = raw.frame, raw.mapping, len(raw.frame)
    out: dict[str, pd.Series] = {}
    invalid = np.zeros(n, dtype=bool)

    def check(canonical: str, parsed: pd.Series, original: pd.Series, what: str, hint: str) -> None:
        nonlocal invalid
        invalid |= parsed.isna().to_numpy()
        rows = _failed(parsed, original)
        if failures is not None:
            mine = rows[rows >= ahead]
            seen = failures.setdefault(canonical, {"count": 0, "examples": [], "what": what, "hint": hint,
                                                   "column": m[canonical]})
            seen["count"] += int(mine.size)
            seen["examples"] += [(int(i) - ahead, original.iloc[i]) for i in mine[:5]]
            return
        share = rows.size / n if n else 0.0
        if rows.size and share > max_invalid_share:
            examples = [f"row {i + 1}: {original.iloc[i]!r}" for i in rows[:5]]
            raise DataError(
                f"{rows.size:,} of {n:,} values ({share:.1%}) cannot be read as {what}",
                file=raw.where, column=m[canonical], examples=examples, hint=hint,
            )

    date_src = frame[m[schema.INVOICE_DATE]]
    out[schema.INVOICE_DATE], form = parse_dates_form(date_src, date_format=raw.date_format, dayfirst=raw.dayfirst)
    if form:
        raw.notes.append(f"column '{m[schema.INVOICE_DATE]}': {DATE_FORMS[form]} recognised and read; set "
                         f"date_format: {form} for this source in workbook.yml to make it explicit")
    check(schema.INVOICE_DATE, out[schema.INVOICE_DATE], date_src, "dates", date_hint(raw.date_format))

    num_hint = ("set 'decimal' (e.g. ',') or 'thousands' (e.g. ',' for 1,234.50) for this source in "
                "workbook.yml, or fix the values")
    for canonical in (schema.QUANTITY, schema.UNIT_PRICE, schema.AMOUNT):
        if canonical in m:
            original = frame[m[canonical]]
            out[canonical] = parse_numbers(original, decimal=raw.decimal, thousands=raw.thousands)
            if raw.thousands is None:
                out[canonical] = _with_detected_thousands(raw, m[canonical], original, out[canonical])
            check(canonical, out[canonical], original, "numbers", num_hint)
    if schema.UNIT_PRICE not in out:
        q = out[schema.QUANTITY]
        out[schema.UNIT_PRICE] = (out[schema.AMOUNT] / q.where(q != 0)).astype("float64")
    if schema.AMOUNT in out:
        del out[schema.AMOUNT]  # recomputed from quantity x unit_price after cleaning

    for canonical in schema.ID_COLUMNS:
        if canonical in m:
            out[canonical] = as_id(frame[m[canonical]])
    if schema.INVOICE_ID not in out:
        out[schema.INVOICE_ID] = (out[schema.CUSTOMER_ID].fillna("anonymous") + "-"
                                  + out[schema.INVOICE_DATE].dt.strftime("%Y%m%d").fillna("")).astype("str")
    if schema.PRODUCT_ID not in out:
        out[schema.PRODUCT_ID] = pd.Series("ALL", index=frame.index, dtype="str")
    invalid |= out[schema.INVOICE_ID].isna().to_numpy() | out[schema.PRODUCT_ID].isna().to_numpy()

    for canonical in (schema.PRODUCT_NAME, schema.COUNTRY, *schema.OPTIONAL_TEXT):
        if canonical in m:
            out[canonical] = as_text(frame[m[canonical]])
    canonical_frame = pd.DataFrame(out, index=frame.index, copy=False)  # no copy of 10M-row columns
    canonical_frame[schema.SOURCE] = raw.name
    if ahead:
        canonical_frame, invalid = canonical_frame.iloc[ahead:].reset_index(drop=True), invalid[ahead:]
        return canonical_frame, pd.Series(invalid, index=canonical_frame.index)
    return canonical_frame, pd.Series(invalid, index=frame.index)




def _with_detected_thousands(raw: RawSource, column: str, original: pd.Series, parsed: pd.Series) -> pd.Series:
    """``parsed`` with the values written with a thousands separator read, when every value
    that failed uses the same one (noted in ``raw.notes``); otherwise unchanged, with a
    note naming the setting when some of them look like it."""
    rows = _failed(parsed, original)
    if not rows.size:
        return parsed
    failed = original.iloc[rows]
    sep = detect_thousands(failed, decimal=raw.decimal)
    example = failed.iloc[0]
    if sep is None:
        some = next((s for s in THOUSANDS_CANDIDATES.get(raw.decimal, ())
                     if as_text(failed).str.contains(s, regex=False).any()), None)
        if some is not None:
            raw.notes.append(f"column '{column}': some values that are not plain numbers contain "
                             f"{_separator_name(some)}; if it separates thousands, set thousands: {some!r} for this source in workbook.yml")
        return parsed
    fixed = parse_numbers(failed, decimal=raw.decimal, thousands=sep)
    parsed = parsed.copy()
    parsed.iloc[rows] = fixed.to_numpy()
    raw.notes.append(f"column '{column}': {rows.size:,} values written with {_separator_name(sep)} as thousands "
                     f"separator (e.g. {example!r}) were read as numbers; set thousands: {sep!r} for this source "
                     f"in workbook.yml to make it explicit")
    return parsed


__all__ = [
    "RawSource", "check_distinct_files", "excel_sheets", "file_kind", "parse_source", "read_header", "read_source",
]
