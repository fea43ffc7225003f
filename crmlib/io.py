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
:func:`_fallback_encoding`) instead of failing.

The report period is chosen from the invoice-date column alone (:func:`last_invoice_date`,
:func:`invoice_dates_between`): streamed from text files in chunks and counted per day
once per process (:func:`invoice_date_summaries`), so the runner never holds the data.

Raw files are only ever opened for reading.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
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
from crmlib.parsing import (
    _failed, DATE_FORMS, THOUSANDS_CANDIDATES, THOUSANDS_SEPARATORS, _separator_name, as_id, as_text, date_hint, detect_thousands, parse_dates, parse_dates_form, parse_numbers,
)
from crmlib.errors import DataError

TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".dat")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet", ".pq")
SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = r"\s+"
#: Tie-break among equally plausible encodings: what retail exports most often use.
PREFERRED_ENCODINGS = ("utf-8", "cp949", "euc_kr", "cp1252", "iso8859-1", "iso8859-15")


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


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head_bytes(path: Path, nbytes: int = SAMPLE_BYTES) -> bytes:
    try:
        with _open_bytes(path) as fh:
            return fh.read(nbytes)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _truncated(path, exc) from None
    except PermissionError:
        raise DataError("cannot read the file: permission denied", file=path,
                        hint="check the file's permissions, or copy it somewhere readable") from None
    except OSError as exc:
        raise DataError(f"cannot open the file ({exc})", file=path) from None


def _truncated(path: Path, exc: BaseException) -> DataError:
    """The error for a compressed file that ends early or is damaged."""
    return DataError(f"the compressed file is truncated or damaged ({exc or type(exc).__name__})", file=path,
                     hint="the download or copy was probably cut short: copy or export the file again "
                          "(`gzip -t <file>` checks a .gz file)")


# ----------------------------------------------------------------------------- encoding
def detect_encoding(sample: bytes, *, file: Any = None) -> str:
    """The text encoding of a byte sample: BOMs first, then strict UTF-8, then charset-normalizer.

    Korean (EUC-KR) is reported as ``cp949``, its superset used by Excel.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # the sample cut a multi-byte character in two
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is not None:  # ties are common on short samples: prefer the usual export encodings
        tied = {codecs.lookup(m.encoding).name: m for m in matches if m.chaos <= best.chaos}
        best = next((tied[n] for n in PREFERRED_ENCODINGS if n in tied), best)
    if best is None:
        raise DataError(
            "cannot detect the text encoding (the file may be binary or corrupt)",
            file=file, hint="set 'encoding' for this source in workbook.yml (e.g. utf-8, cp949, latin-1)",
        )
    name = codecs.lookup(best.encoding).name
    if name in ("euc_kr", "johab", "iso2022_kr", "cp949"):
        return "cp949"
    if name == "ascii":
        return "utf-8"
    return name


def _check_decodes(sample: bytes, encoding: str, file: Any) -> None:
    try:
        codecs.decode(sample, encoding)
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason in ("unexpected end of data", "incomplete multibyte sequence"):
            return
        detected = _guess_or_none(sample)
        raise DataError(
            f"cannot be read as {encoding}: byte {sample[exc.start:exc.start + 1]!r} at position {exc.start}",
            file=file, column=None,
            hint=(f"the file looks like {detected}; " if detected else "")
            + "set 'encoding' for this source in workbook.yml, or use encoding: auto",
        ) from None
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'", file=file,
                        hint="use auto or a Python codec name such as utf-8, cp949, latin-1") from None


def _guess_or_none(sample: bytes) -> str | None:
    try:
        return detect_encoding(sample)
    except DataError:
        return None


# ----------------------------------------------------------------------------- delimiter
def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header and the first lines into the same, largest
    number of fields (``,`` ``;`` tab ``|``); whitespace when none of them splits."""
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    best, best_score = None, (0, 0)
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best or WHITESPACE


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


def _fallback_encoding(path: Path, encoding: str, exc: UnicodeDecodeError) -> tuple[str, str, str]:
    """``(encoding, errors, note)`` for a file whose first 64 KB decode as ``encoding`` but
    a later byte does not (detection looks at the start only).

    The whole file is decoded once, in chunks, to find the first bad byte. If nothing but
    ASCII came before it, the file most likely uses a single other encoding throughout
    (e.g. cp1252 with the first accent late in the file): the encoding detected around
    that byte is used when it decodes the whole file. Otherwise the file mixes encodings:
    it is read as ``encoding`` with the bad bytes replaced by U+FFFD, and the note says so.
    """
    offset, ascii_before, window = _first_undecodable(path, encoding)
    if offset is None:  # the parser's error was not about this encoding: report it as it is
        raise exc
    byte = window[1]
    if ascii_before:
        candidate = _guess_or_none(window[0])
        if candidate and codecs.lookup(candidate).name != codecs.lookup(encoding).name \
                and _first_undecodable(path, candidate)[0] is None:
            return candidate, "strict", (f"read as {candidate}: the start of the file looked like {encoding}, "
                                         f"but byte {byte!r} at position {offset:,} is not; set 'encoding' for "
                                         f"this source in workbook.yml if {candidate} is wrong")
    return encoding, "replace", (f"read as {encoding} with bytes that are not {encoding} replaced by '\ufffd' (the "
                                 f"first is {byte!r} at position {offset:,}); the file seems to mix encodings: set "
                                 f"'encoding' for this source in workbook.yml if the text looks wrong")


def _first_undecodable(path: Path, encoding: str, chunk: int = 1 << 24) -> tuple[int | None, bool, tuple[bytes, bytes]]:
    """``(offset, only ASCII before it, (bytes around it, the byte))`` of the first byte of
    the file that does not decode as ``encoding``; offset ``None`` when all of it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    ascii_before, done = True, 0
    with _open_bytes(path) as fh:
        while True:
            data = fh.read(chunk)
            try:
                decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                # the decoder's position counts from the start of its own buffer: find the byte in this chunk
                pending = len(exc.object) - len(data)
                at = max(exc.start - pending, 0)
                ascii_before = ascii_before and data[:at].isascii()
                lo = max(at - SAMPLE_BYTES // 2, 0)
                return done + at, ascii_before, (data[lo:at + SAMPLE_BYTES // 2], data[at:at + 1])
            if not data:
                return None, ascii_before, (b"", b"")
            ascii_before = ascii_before and data.isascii()
            done += len(data)


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


def _read_excel(path: Path, sheet: Any, text_cols: list[str]) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=sheet, dtype={c: object for c in text_cols})
    except Exception as exc:
        raise DataError(f"cannot read sheet {sheet!r} of the Excel workbook ({exc})", file=path) from None


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


# ----------------------------------------------------------------------------- helpers for others
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

CUSTOMER_SYNONYMS = {
    "churned": ("churned", "churn", "churnflag", "isChurned", "exited", "attrition", "이탈", "이탈여부"),
    "signup_date": ("signupdate", "registrationdate", "joindate", "createdat", "firstpurchasedate", "가입일"),
}


def read_customers(customers_cfg: dict[str, Any]) -> pd.DataFrame | None:
    """The optional customer table (``customers:`` of workbook.yml), or ``None`` without a path.

    ``customer_id`` is read as text (no ``.0``) and must be unique; ``columns`` maps
    canonical names (``customer_id``, ``churned``, ``signup_date``, any attribute) to
    the file's columns; ``customer_id``, ``churned`` and ``signup_date`` are also
    recognised by common synonyms. Other columns keep their names. ``churned`` is left
    as it is in the file (the churn module normalises yes/no, true/false, 1/0).
    """
    if not customers_cfg or not customers_cfg.get("path"):
        return None
    source = {**customers_cfg, "layout": "custom"}
    path = _source_path(source)
    header, options = read_header(source)
    explicit = dict(customers_cfg.get("columns") or {})
    for canonical, column in explicit.items():
        if column not in header:
            raise DataError(f"column '{column}' (mapped to {canonical} in workbook.yml) is not in the file",
                            file=path, column=column, hint=schema._closest_hint(column, header))
    by_norm = {schema.normalise_header(h): h for h in header}
    rename = {column: canonical for canonical, column in explicit.items()}
    synonyms = {schema.CUSTOMER_ID: ("customerid", *schema.SYNONYMS[schema.CUSTOMER_ID]), **CUSTOMER_SYNONYMS}
    for canonical, names in synonyms.items():
        if canonical in explicit.keys():
            continue
        for cand in names:
            col = by_norm.get(schema.normalise_header(cand))
            if col is not None and col not in rename:
                rename[col] = canonical
                break
    if schema.CUSTOMER_ID not in rename.values():
        raise DataError(f"required column 'customer_id' not found (columns in the file: {', '.join(header)})",
                        file=path, column=schema.CUSTOMER_ID,
                        hint=schema._closest_hint(schema.CUSTOMER_ID, header)
                        + "; or map it in workbook.yml: customers: columns: {customer_id: <column>}")
    id_col = next(c for c, v in rename.items() if v == schema.CUSTOMER_ID)
    _check_duplicated(header, {schema.CUSTOMER_ID: id_col}, path)
    kind = file_kind(path)
    if kind == "csv":
        frame = _read_csv(path, options["encoding"], options["delimiter"], customers_cfg.get("decimal") or ".",
                          [id_col])
    elif kind == "excel":
        frame = _read_excel(path, options["sheet"], [id_col])
    else:
        frame = pd.read_parquet(path)
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if frame.empty:
        raise DataError("the file has a header but no data rows", file=path)
    frame = frame.rename(columns=rename)
    frame[schema.CUSTOMER_ID] = as_id(frame[schema.CUSTOMER_ID])
    missing = frame[schema.CUSTOMER_ID].isna()
    if missing.any():
        raise DataError(f"{missing.sum():,} rows have no customer id", file=path, column=id_col,
                        examples=[f"row {i + 1}" for i in np.flatnonzero(missing.to_numpy())[:5]])
    dup = frame[schema.CUSTOMER_ID].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{frame.loc[dup, schema.CUSTOMER_ID].nunique():,} customer ids appear more than once",
                        file=path, column=id_col,
                        examples=[f"row {i + 1}: {frame[schema.CUSTOMER_ID].iloc[i]}"
                                  for i in np.flatnonzero(dup.to_numpy())[:5]],
                        hint="the customer table needs one row per customer")
    if "signup_date" in frame:
        frame["signup_date"] = parse_dates(frame["signup_date"])
    cols = [schema.CUSTOMER_ID] + [c for c in frame.columns if c != schema.CUSTOMER_ID]
    return frame[cols].reset_index(drop=True)


__all__ = [
    "DateSummary", "RawSource", "check_distinct_files", "detect_encoding", "excel_sheets", "file_kind", "invoice_date_summaries", "invoice_dates_between", "last_invoice_date", "parse_source", "read_customers", "read_header", "read_source", "sniff_delimiter",
]
