"""Reading sources in chunks and spooling them by customer: the first two steps of
:mod:`crmlib.cleaning_chunks` (see its docstring, steps 1 and 2).

* :func:`_chunks` streams a text file with Arrow's CSV reader, :data:`crmlib.cleaning_chunks.CHUNK_ROWS`
  lines at a time, parsed as the whole-frame path would (or reads a file whole and cuts it
  when streaming could read it differently; :class:`NotChunkable` when only the whole
  file can decide);
* :func:`_spool_chunk` applies the row-local rules and writes each chunk's lines, raw
  columns kept for the quarantine, to Parquet parts split by a hash of the customer id;
* :func:`_read_part` and :func:`_raw_rows` read a part back (parsed lines; raw rows by position).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crmlib import cleaning_rules as cleaning
from crmlib import io as crm_io
from crmlib import io_dates
from crmlib import io_text
from crmlib import schema
from crmlib.cleaning_rules import _CODE
from crmlib.errors import DataError

_RAW = "__raw__"     # prefix of the raw columns kept in the spool for the quarantine
_REASON, _VALUE = "_reason", "_line_value"


class NotChunkable(Exception):
    """A source the chunked path cannot read exactly as the whole-frame path does."""


# ----------------------------------------------------------------------------- reading in chunks
@dataclass
class _Part:
    """One file or sheet being read: its :class:`RawSource` (``frame`` = its first rows)."""

    raw: crm_io.RawSource
    index: int
    rows: int = 0
    dtypes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] | None = None
    failures: dict[str, Any] = field(default_factory=dict)


def estimated_lines(sources: list[dict[str, Any]]) -> int:
    """Lines of the sources estimated from file sizes and the bytes per line of their first
    64 KB (a ``.gz`` counted 4 times its size; Excel and Parquet files as 0: they are read whole)."""
    total = 0
    for source in sources:
        path = Path(source["path"])
        if crm_io.file_kind(path) != "csv" or not path.exists():
            continue
        head = io_text._head_bytes(path)
        per_line = max(len(head) / max(head.count(b"\n"), 1), 1.0)
        size = path.stat().st_size * (4 if path.name.lower().endswith(".gz") else 1)
        total += int(size / per_line)
    return total


def _text_chunks(source: dict[str, Any], chunk_rows: int) -> Iterator[crm_io.RawSource]:
    """A delimited text file as :class:`RawSource` chunks (``frame`` = the chunk), streamed by
    Arrow as :func:`crmlib.io._read_csv_as` reads it whole; :class:`NotChunkable` when that
    reading would differ."""
    import pyarrow.csv as pacsv
    from pandas._libs.parsers import STR_NA_VALUES
    from pandas.io._util import arrow_table_to_pandas

    path = crm_io._source_path(source)
    header, options = crm_io.read_header(source)
    mapping, layout, text_cols, date_format = crm_io._map_source(header, source, path)
    decimal = source.get("decimal") or "."
    name = path.name.lower()
    if (options["delimiter"] == io_text.WHITESPACE or decimal != "." or len(set(header)) != len(header)
            or any(not h for h in header) or name.endswith((".zip", ".bz2", ".xz", ".zst", ".tar"))):
        raise NotChunkable(f"{path}: read whole")
    dtype = {c: "str" for c in text_cols}
    convert = pacsv.ConvertOptions(null_values=list(STR_NA_VALUES), strings_can_be_null=True,
                                   column_types={c: pa.large_string() for c in text_cols})
    template = crm_io._raw(path, source, pd.DataFrame(), mapping, layout, date_format, options["encoding"],
                           options["delimiter"], None, [])
    import gzip
    try:
        with gzip.open(path, "rb") if name.endswith(".gz") else pa.OSFile(str(path)) as fh:
            reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(encoding=options["encoding"]),
                                    parse_options=pacsv.ParseOptions(delimiter=options["delimiter"]),
                                    convert_options=convert)
            batches, held, sent = [], 0, False
            for batch in reader:
                batches.append(batch)
                held += batch.num_rows
                if held >= chunk_rows:
                    yield replace(template, frame=_to_pandas(batches, dtype, arrow_table_to_pandas))
                    batches, held, sent = [], 0, True
            if batches or not sent:
                if not batches and not sent:
                    raise NotChunkable(f"{path}: no data rows")
                yield replace(template, frame=_to_pandas(batches, dtype, arrow_table_to_pandas))
    except NotChunkable:
        raise
    except Exception as exc:  # noqa: BLE001 - the whole-frame reader reads it, or says what is wrong
        raise NotChunkable(f"{path}: {exc}") from None
    finally:
        crm_io._release_arrow_buffers()


def _to_pandas(batches: list, dtype: dict[str, str], convert: Any) -> pd.DataFrame:
    """Arrow batches as the frame ``pd.read_csv(engine="pyarrow", dtype=...)`` makes."""
    table = pa.Table.from_batches(batches)
    types = table.schema.types
    if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in types):
        raise NotChunkable("a column is not valid text")
    if any(pa.types.is_null(t) for t in types):
        table = table.cast(pa.schema([f.with_type(pa.float64()) if pa.types.is_null(f.type) else f
                                      for f in table.schema]))
    frame = convert(table, null_to_int64=True, dtype=dtype)
    frame = frame.astype({c: t for c, t in dtype.items() if c in frame})
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    return frame


def _chunks(source: dict[str, Any], chunk_rows: int, whole_ok: bool) -> Iterator[crm_io.RawSource]:
    """Chunks of every part (file or sheet) of a source; a part starts when ``frame`` is the
    first chunk of a new :class:`RawSource` (``sheet`` or path changes)."""
    path = crm_io._source_path(source)
    if crm_io.file_kind(path) == "csv":
        try:
            yield from _text_chunks(source, chunk_rows)
            return
        except NotChunkable:
            if not whole_ok:
                raise
    for raw in crm_io.read_source(source):  # read whole, cut into chunks
        frame = raw.frame
        for start in range(0, len(frame), chunk_rows):
            yield replace(raw, frame=frame.iloc[start:start + chunk_rows].reset_index(drop=True), notes=list(raw.notes))


# ----------------------------------------------------------------------------- the spool
@dataclass
class _Spool:
    folder: Path
    parts: int
    files: list[list[tuple[int, Path]]] = field(default_factory=list)   # per part: (raw index, file)
    columns: dict[str, Any] = field(default_factory=dict)             # parsed columns, first dtype seen
    names: list[str] = field(default_factory=list)                    # source names by code
    latest: pd.Timestamp | None = None                                # latest plausible date

    def __post_init__(self) -> None:
        self.files = [[] for _ in range(self.parts)]


def _part_of(frame: pd.DataFrame, parts: int) -> np.ndarray:
    """Each line's part: a hash of its customer id, or of its invoice id when it has none."""
    key = frame[schema.CUSTOMER_ID].fillna(frame[schema.INVOICE_ID]) if schema.CUSTOMER_ID in frame \
        else frame[schema.INVOICE_ID]
    key = key.fillna("")
    return (pd.util.hash_pandas_object(key, index=False).to_numpy() % np.uint64(parts)).astype(np.int64)


def _spool_chunk(spool: _Spool, part: _Part, chunk: crm_io.RawSource, chunk_no: int,
                 params: dict[str, Any], with_sheets: bool, window: tuple) -> None:
    """Parse one chunk, apply the row-local rules, and write it to the parts."""
    raw_frame = chunk.frame
    ahead = part.raw.frame if part.rows else raw_frame.iloc[:0]
    reading = replace(chunk, frame=pd.concat([ahead, raw_frame], ignore_index=True) if len(ahead) else raw_frame,
                      notes=[])
    frame, invalid = crm_io.parse_source(reading, ahead=len(ahead), failures=(failures := {}))
    if part.notes is None:
        part.notes = reading.notes
    elif reading.notes != part.notes:
        raise NotChunkable(f"{part.raw.where}: chunks read differently ({reading.notes} vs {part.notes})")
    for column, seen in failures.items():
        total = part.failures.setdefault(column, {**seen, "count": 0, "examples": []})
        total["count"] += seen["count"]
        total["examples"] += [(part.rows + i, v) for i, v in seen["examples"]][:5 - len(total["examples"])]
    del frame[schema.SOURCE]
    n = len(frame)
    frame["source_row"] = np.arange(part.rows + 1, part.rows + n + 1, dtype=np.int64)
    frame["_source_index"] = np.int16(part.index)
    if chunk.name not in spool.names:
        spool.names.append(chunk.name)
    frame[cleaning._SOURCE_CODE] = np.int16(spool.names.index(chunk.name))
    if with_sheets:
        frame[schema.SOURCE_SHEET] = pd.Series(chunk.sheet, index=frame.index, dtype="str")
    for col in frame.columns:
        spool.columns.setdefault(col, frame[col].dtype)
    reason = np.zeros(n, dtype=np.int8)
    reason[invalid.to_numpy()] = _CODE["invalid_value"]
    frame[_VALUE] = (frame[schema.QUANTITY] * frame[schema.UNIT_PRICE]).fillna(0.0).to_numpy()
    if params["normalise"]["enabled"]:
        cleaning._normalise(frame, params["normalise"]["upper_ids"])
    dates = frame[schema.INVOICE_DATE]
    reason[(reason == 0) & io_dates.outside_window(dates, window)] = _CODE["implausible_date"]
    valid = dates[reason == 0]
    if not valid.empty:
        latest = valid.max()
        spool.latest = latest if spool.latest is None else max(spool.latest, latest)
    frame[_REASON] = reason
    for col in raw_frame.columns:
        frame[_RAW + col] = raw_frame[col].to_numpy() if raw_frame[col].dtype == object else raw_frame[col].array
    of = _part_of(frame, spool.parts)
    for k in np.unique(of):
        target = spool.folder / f"part-{k:04d}" / f"c{chunk_no:06d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.iloc[np.flatnonzero(of == k)].to_parquet(target, index=False)
        spool.files[k].append((part.index, target))
    part.rows += n


def _check_failures(part: _Part, max_share: float) -> None:
    """The invalid-value check of :func:`crmlib.io.parse_source`, on a whole file's counts."""
    n = part.rows
    for column in (schema.INVOICE_DATE, schema.QUANTITY, schema.UNIT_PRICE, schema.AMOUNT):
        seen = part.failures.get(column)
        if not seen or not seen["count"]:
            continue
        share = seen["count"] / n if n else 0.0
        if share > max_share:
            raise DataError(f"{seen['count']:,} of {n:,} values ({share:.1%}) cannot be read as {seen['what']}",
                            file=part.raw.where, column=seen["column"],
                            examples=[f"row {i + 1}: {v!r}" for i, v in seen["examples"][:5]], hint=seen["hint"])


# ----------------------------------------------------------------------------- one part of the log
def _read_part(spool: _Spool, k: int) -> tuple[pd.DataFrame, list[tuple[int, Path, int]]]:
    """A part's parsed lines (in the original order) and its files: (source part, path, lines)."""
    parsed, files = [], []
    for index, path in spool.files[k]:
        names = [c for c in pq.read_schema(path).names if not c.startswith(_RAW)]
        frame = pq.read_table(path, columns=names).to_pandas()
        files.append((index, path, len(frame)))
        parsed.append(frame)
    data = pd.concat(parsed, ignore_index=True) if len(parsed) > 1 else parsed[0]
    del parsed
    for col, dtype in spool.columns.items():  # a column no file of this part has (e.g. from another source)
        if col not in data:
            data[col] = pd.Series(pd.NA if dtype == "str" else np.nan, index=data.index).astype(dtype)
    crm_io._release_arrow_buffers()
    return data[[*spool.columns, _REASON, _VALUE]], files


def _raw_rows(files: list[tuple[int, Path, int]], index: int, wanted: np.ndarray, dtypes: dict[str, Any]) -> pd.DataFrame:
    """The raw rows of source part ``index`` at ``wanted`` (positions among the part's lines
    of that source part), as read."""
    frames, before = [], 0
    for i, path, n in files:
        if i != index:
            continue
        mine = wanted[(wanted >= before) & (wanted < before + n)] - before
        before += n
        if not mine.size:
            continue
        names = [c for c in pq.read_schema(path).names if c.startswith(_RAW)]
        frame = pq.read_table(path, columns=names).take(pa.array(mine)).to_pandas()
        frame.columns = [c[len(_RAW):] for c in names]
        frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.astype({c: t for c, t in dtypes.items() if frame[c].dtype != t})
