"""Issue 17: the period is chosen from a streamed scan of the invoice-date column.

Every hazard log of issue 16 (Korean and dotted dates, Excel serials, implausible dates, a
cp1252 byte after 64 KB, a second date format, empty first values, a truncated .gz) is
scanned in blocks of a few hundred bytes and compared with the one-piece reading the
runner did before: same lines per day, first and last dates, examples and messages.
"""
from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmlib import cleaning, io, io_dates, io_text, schema
from crmlib.core.config import SOURCE_DEFAULTS
from crmlib.errors import DataError
from crmlib.parsing import parse_dates

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
KOREAN = "주문번호,상품코드,상품명,수량,주문일시,단가,고객번호\n"
WINDOW = io_dates.default_date_window(pd.Timestamp("2024-06-30"))


def source(path: Path, **kw) -> dict:
    return {**SOURCE_DEFAULTS, "path": str(path), "name": "shop", **kw}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode(encoding)))
    else:
        path.write_bytes(text.encode(encoding))
    return path


def log(dates: list[str], header: str = HEADER) -> str:
    if header == KOREAN:
        return header + "".join(f"{1000 + i},A{i % 3},머그컵,1,{d},3000,{77 + i % 4}\n" for i, d in enumerate(dates))
    return header + "".join(f"{500000 + i},P{i % 7},MUG,1,{d},2.5,{100 + i % 5},UK\n" for i, d in enumerate(dates))


def days(n: int, fmt: str, start: str = "2011-01-01 08:00") -> list[str]:
    return [(pd.Timestamp(start) + pd.Timedelta(hours=7 * i)).strftime(fmt) for i in range(n)]


def one_piece_summary(src: dict, window) -> list[tuple]:
    """The runner's reading before issue 17: the whole column in one piece, parsed at once."""
    path = Path(src["path"]).resolve()
    header, options = io.read_header(src)
    mapping, layout = schema.map_columns(header, explicit=src.get("columns") or {}, layout=src.get("layout") or "auto")
    col = mapping[schema.INVOICE_DATE]
    fmt = src.get("date_format") or schema.LAYOUT_DATE_FORMATS.get(layout)
    text = io._TextOptions(encoding=options["encoding"], delimiter=options["delimiter"], auto=True)
    values = io._read_csv(path, text.encoding, text.delimiter, ".", [col] if fmt else [], usecols=[col], options=text)[col]
    dates = parse_dates(values, date_format=fmt, dayfirst=bool(src.get("dayfirst")))
    readable = dates.notna().to_numpy()
    late = io_dates.outside_window(dates, window)
    inside = dates[readable & ~late]
    per_day = Counter((inside.to_numpy().astype("datetime64[D]").astype(np.int64)).tolist())
    return [(len(values), int(readable.sum()),
             [f"row {i + 1}: {values.iloc[i]!r}" for i in np.flatnonzero(values.notna().to_numpy())[:5]],
             [f"{path}, column '{col}', row {i + 1}: {io_dates._shown(values.iloc[i])}" for i in np.flatnonzero(late)[:5]],
             inside.min() if len(inside) else None, inside.max() if len(inside) else None, dict(per_day))]


def streamed_summary(src: dict, window) -> list[tuple]:
    return [(s.rows, s.readable, s.examples, s.outside, s.first, s.last, s.lines_per_day)
            for s in io_dates._scan_dates(src, window)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 300 bytes, chunks of 7 lines: every test log is read in many pieces;
    counts how often the one-piece reader is used instead."""
    monkeypatch.setattr(io_dates, "STREAM_BLOCK_BYTES", 300)
    monkeypatch.setattr(io_dates, "DATE_CHUNK_ROWS", 7)
    calls = []
    read_csv = io_dates._read_csv
    monkeypatch.setattr(io_dates, "_read_csv", lambda *a, **k: calls.append(a[0]) or read_csv(*a, **k))
    io_dates._SUMMARIES.clear()
    return calls


def implausible(n: int = 200) -> list[str]:
    dates = [f"2011-{1 + i % 11:02d}-{1 + i % 28:02d} 10:00" for i in range(n)]
    return dates[:50] + ["2099-12-31 10:00", "1900-01-01 00:00"] * 4 + dates[50:] + ["2011-12-09 12:00"]


HAZARDS = {
    "iso with implausible dates": (lambda: log(implausible()), {}),
    "korean dotted": (lambda: log(days(60, "%Y. %m. %d. 오후 %I:%M"), KOREAN), {}),
    "korean words": (lambda: log(days(60, "%Y년 %m월 %d일 %H시 %M분"), KOREAN), {}),
    "korean named": (lambda: log(days(60, "%Y. %m. %d. 오전 %I:%M"), KOREAN), {"date_format": "korean"}),
    "dotted day first": (lambda: log(days(80, "%d.%m.%Y %H:%M")), {"dayfirst": True}),
    "dotted month first": (lambda: log(days(80, "%m.%d.%Y %H:%M")), {}),
    "slashes with a format": (lambda: log(days(80, "%d/%m/%Y %H:%M")), {"date_format": "%d/%m/%Y %H:%M"}),
    "excel serials": (lambda: log([str(40500 + i) for i in range(30)] + [f"{40600 + i}.5" for i in range(30)]), {}),
    "a second format later": (lambda: log(days(40, "%Y/%m/%d %H:%M") + days(40, "%m/%d/%Y %H:%M", "2011-06-01")), {}),
    "NaT first": (lambda: log(["NaT", " NAT"] * 600 + days(30, "%m/%d/%Y %H:%M") + days(30, "%d.%m.%Y", "2011-05-01")), {}),
    "empty first values": (lambda: log([""] * 1200 + days(30, "%m/%d/%Y %H:%M") + days(30, "%d.%m.%Y", "2011-05-01")), {}),
    "some unreadable": (lambda: log(days(50, "%Y-%m-%d %H:%M") + ["gestern", "soon"] + days(9, "%Y/%m/%d")), {}),
    "mixed korean and iso": (lambda: log(days(30, "%Y. %m. %d. 오후 %I:%M") + days(30, "%Y-%m-%d %H:%M"), KOREAN), {}),
}


@pytest.mark.parametrize("name", sorted(HAZARDS))
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_the_streamed_scan_counts_as_the_one_piece_reading(tmp_path, small_blocks, name, suffix):
    text, settings = HAZARDS[name]
    path = write(tmp_path, "log" + suffix, text())
    src = source(path, **settings)
    streamed = streamed_summary(src, WINDOW)
    assert not small_blocks  # streamed, not read in one piece
    assert streamed == one_piece_summary(src, WINDOW)
    wide = (pd.Timestamp("1899-01-01"), pd.Timestamp("2100-01-01"))
    assert streamed_summary(src, wide) == one_piece_summary(src, wide)


def test_korean_dates_in_cp949_and_a_late_cp1252_byte_are_streamed_alike(tmp_path, small_blocks):
    kr = write(tmp_path, "kr.csv", log(days(60, "%Y. %m. %d. 오후 %I:%M"), KOREAN), "cp949")
    late = write(tmp_path, "late.csv", log(days(3000, "%Y-%m-%d %H:%M"))
                 + "99999,A1,CAFÉ CRÈME MUG,1,2011-01-05 08:00,2.5,1,France\n", "cp1252")
    assert late.stat().st_size > io_text.SAMPLE_BYTES
    for path in (kr, late):
        small_blocks.clear()
        streamed = streamed_summary(source(path), WINDOW)
        assert not small_blocks and streamed == one_piece_summary(source(path), WINDOW)
    assert io_dates.last_invoice_date([source(late)], window=WINDOW) == pd.Timestamp("2011-01-01 08:00") + pd.Timedelta(hours=7 * 2999)


def test_files_arrow_cannot_stream_are_read_in_one_piece_as_before(tmp_path, small_blocks):
    ragged = write(tmp_path, "ragged.csv", log(days(40, "%Y-%m-%d %H:%M")) + "1,A,X,1,2011-09-09 10:00,2.5,1,UK,extra\n")
    spaces = write(tmp_path, "spaces.txt", "InvoiceNo Quantity InvoiceDate UnitPrice CustomerID\n"
                   + "".join(f"{i} 1 2011-02-{1 + i:02d} 2.5 7\n" for i in range(20)))
    for path in (ragged, spaces):
        src = source(path)
        small_blocks.clear()
        try:
            streamed = streamed_summary(src, WINDOW)
        except DataError as err:
            assert small_blocks == [path.resolve()]
            with pytest.raises(DataError, match=re.escape(str(err))):
                one_piece_summary(src, WINDOW)
        else:
            assert small_blocks == [path.resolve()] and streamed == one_piece_summary(src, WINDOW)


def test_messages_are_the_ones_of_the_one_piece_reading(tmp_path, small_blocks):
    unreadable = write(tmp_path, "d.csv", HEADER.replace("InvoiceDate", "Datum") + "1,A,X,1,gestern,2.0,1,UK\n" * 12)
    with pytest.raises(DataError) as err:
        io_dates.last_invoice_date([source(unreadable, columns={"invoice_date": "Datum"})])
    assert str(err.value).startswith(f"file {unreadable}, column 'Datum': none of the 12 values can be read as dates")
    assert str(err.value).count("'gestern'") == 5
    empty = write(tmp_path, "e.csv", HEADER + "1,A,X,1,,2.0,1,UK\n" * 9)
    with pytest.raises(DataError, match=r"column 'InvoiceDate': the column is empty in all 9 rows"):
        io_dates.last_invoice_date([source(empty)])
    header_only = write(tmp_path, "h.csv", HEADER)
    with pytest.raises(DataError, match=rf"^file {header_only}: the file has a header but no data rows$"):
        io_dates.last_invoice_date([source(header_only)])
    future = write(tmp_path, "f.csv", log(["2099-01-05 08:00"] * 8))
    with pytest.raises(DataError, match=r"no invoice date inside the plausible window") as err:
        io_dates.last_invoice_date([source(future)])
    assert str(err.value).count(f"{future}, column 'InvoiceDate', row ") == 5
    assert f"{future}, column 'InvoiceDate', row 1: 2099-01-05 08:00:00" in str(err.value)


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_a_truncated_gz_keeps_its_message(tmp_path, small_blocks, keep):
    data = gzip.compress(log(days(40000, "%Y-%m-%d %H:%M")).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(DataError) as err:
        io_dates.last_invoice_date([source(path)])
    assert str(err.value).startswith(f"file {path}: the compressed file is truncated or damaged (")
    assert "copy or export the file again" in str(err.value)


def test_the_period_and_the_lines_between_match_the_one_piece_reading(tmp_path, small_blocks):
    path = write(tmp_path, "log.csv", log(implausible()))
    src = source(path)
    (_, _, _, _, first, last, per_day), = one_piece_summary(src, WINDOW)
    assert io_dates.last_invoice_date([src], window=WINDOW) == last == pd.Timestamp("2011-12-09 12:00")
    dates = pd.Series([d for d in implausible() if d.startswith("2011")], dtype="str").pipe(pd.to_datetime)
    for start, end in [("2011-11-01", "2011-12-01"), ("2011-12-01", "2011-12-09"), ("2011-12-01", "2011-12-10"),
                       ("2005-01-01", "2006-01-01")]:
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        assert io_dates.invoice_dates_between([src], start, end, window=WINDOW) == (
            int(((dates >= start) & (dates < end)).sum()), first, last)
    with pytest.raises(ValueError, match="must be days"):
        io_dates.invoice_dates_between([src], pd.Timestamp("2011-12-01 10:00"), pd.Timestamp("2011-12-02"), window=WINDOW)
    wide = cleaning.date_window({"date_window": {"earliest": "1899-01-01", "latest": "2100-01-01"}})
    assert io_dates.last_invoice_date([src], window=wide) == pd.Timestamp("2099-12-31 10:00")


def test_a_file_is_scanned_once_until_it_changes(tmp_path, monkeypatch):
    io_dates._SUMMARIES.clear()
    scanned = []
    scan = io_dates._scan_dates
    monkeypatch.setattr(io_dates, "_scan_dates", lambda src, window: scanned.append(src["path"]) or scan(src, window))
    path = write(tmp_path, "log.csv", log(days(30, "%Y-%m-%d %H:%M")))
    src = source(path)
    io_dates.last_invoice_date([src], window=WINDOW)
    io_dates.invoice_dates_between([src], pd.Timestamp("2011-01-01"), pd.Timestamp("2011-02-01"), window=WINDOW)
    assert scanned == [str(path)]
    io_dates.last_invoice_date([source(path, dayfirst=True)], window=WINDOW)  # other settings: scanned again
    assert len(scanned) == 2
    write(tmp_path, "log.csv", log(days(30, "%Y-%m-%d %H:%M") + ["2011-03-03 10:00"]))
    assert io_dates.last_invoice_date([src], window=WINDOW) == pd.Timestamp("2011-03-03 10:00") and len(scanned) == 3
