"""Issue 16, intake: every failure found by the hardening tries, reproduced on small generated inputs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmlib import cleaning, io_dates, io_text
from crmlib.core.config import SOURCE_DEFAULTS
from crmlib.errors import DataError

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
COLUMNS = HEADER.strip().split(",")
AS_OF = pd.Timestamp("2011-06-30")


def source(path: Path, **kw) -> dict:
    return {**SOURCE_DEFAULTS, "path": str(path), "name": kw.pop("name", "shop"), **kw}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def clean(*sources, as_of=AS_OF, rules=None):
    return cleaning.clean_sources(list(sources), as_of, rules or {})


def balanced(result) -> bool:
    a = result.audit
    return a["rows_in"] == a["rows_kept"] + a["rows_quarantined"] == len(result.transactions) + len(result.quarantine)


def lines(n: int, start: int = 0, qty: int = 1, price: float = 2.0) -> list[list]:
    return [[str(500000 + i), f"P{i % 7}", "MUG", qty, pd.Timestamp("2011-01-03 10:00") + pd.Timedelta(hours=i),
             price, float(100 + i % 5), "UK"] for i in range(start, start + n)]


# ------------------------------------------------------------------ 1. every sheet of a workbook
def test_every_sheet_is_read_and_tagged_and_counted(tmp_path):
    path = tmp_path / "shops.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame(lines(3), columns=COLUMNS).to_excel(xl, sheet_name="2011-01", index=False)
        pd.DataFrame(lines(2, start=3) + [lines(1, start=5, qty=-1)[0]], columns=COLUMNS).to_excel(
            xl, sheet_name="2011-02", index=False)
    result = clean(source(path, name="stores"))
    t = result.transactions
    assert len(t) + len(result.quarantine) == 6 and balanced(result)
    assert t["source"].unique().tolist() == ["stores"]
    assert t["source_sheet"].tolist() == ["2011-01"] * 3 + ["2011-02"] * 2
    assert result.quarantine[["source", "source_sheet", "source_row"]].values.tolist() == [["stores", "2011-02", 3]]
    per_sheet = [(s["name"], s["sheet"], s["rows_in"], s["rows_kept"], s["rows_quarantined"])
                 for s in result.audit["sources"]]
    assert per_sheet == [("stores", "2011-01", 3, 3, 0), ("stores", "2011-02", 3, 2, 1)]
    only = clean(source(path, sheet="2011-02"))
    assert only.audit["rows_in"] == 3 and only.transactions["source_sheet"].unique().tolist() == ["2011-02"]


def test_data_only_on_the_second_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame().to_excel(xl, sheet_name="cover", index=False)
        pd.DataFrame(lines(2), columns=COLUMNS).to_excel(xl, sheet_name="data", index=False)
    result = clean(source(path))
    assert len(result.transactions) == 2 and result.transactions["source_sheet"].unique().tolist() == ["data"]
    with pytest.raises(DataError, match=r"book.xlsx: the workbook has no data on the sheet read \(sheets read: "
                                        r"'cover'; sheets in the file: 'cover', 'data'\)"):
        clean(source(path, sheet=0))


def test_a_sheet_that_does_not_map_is_named(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame(lines(2), columns=COLUMNS).to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame({"note": ["prices include VAT"]}).to_excel(xl, sheet_name="notes", index=False)
    with pytest.raises(DataError) as err:
        clean(source(path))
    msg = str(err.value)
    assert msg.startswith(f"file {path}, sheet 'notes', column 'customer_id': required column")
    assert "to read only some, set 'sheet' for this source" in msg
    assert len(clean(source(path, sheet=["data"])).transactions) == 2
    with pytest.raises(DataError, match=r"no sheet named 'sales' in the workbook \(sheets: 'data', 'notes'\)"):
        clean(source(path, sheet="sales"))


def test_csv_sources_have_no_sheet_column(tmp_path):
    rows = "1,A,X,1,2011-01-05 08:00,2.0,1,UK\n"
    result = clean(source(write(tmp_path, "a.csv", HEADER + rows)))
    assert "source_sheet" not in result.transactions and result.audit["sources"][0]["sheet"] is None


# ------------------------------------------------------------------ 2. the same export twice
def test_the_same_export_given_twice_is_refused(tmp_path):
    rows = "1,A,X,1,2011-01-05 08:00,2.0,1,UK\n2,P2,Y,3,2011-01-06 08:00,5.0,2,UK\n"
    first = write(tmp_path, "export.csv", HEADER + rows)
    copy = write(tmp_path, "export_copy.csv", HEADER + rows)
    with pytest.raises(DataError) as err:
        clean(source(first, name="web"), source(copy, name="store"))
    assert str(err.value) == (
        f"file {copy}: has exactly the same content as {first} (sources 'web' and 'store'): the same export read "
        f"twice would count every sale twice\n"
        f"  hint: remove one of them from 'sources' in workbook.yml (or from the --data paths)")
    with pytest.raises(DataError, match="is the same file as"):
        clean(source(first, name="web"), source(first, name="again"))
    other = write(tmp_path, "other.csv", HEADER + rows.replace("5.0", "6.0"))  # same size, other content
    result = clean(source(first, name="web"), source(other, name="store"))
    assert result.audit["revenue_kept"] == 2 * 2.0 + 15.0 + 18.0


# ------------------------------------------------------------------ 3. dates outside a plausible window
def implausible_log(tmp_path: Path) -> Path:
    rows = [[str(i), "P1", "MUG", 1, f"2011-{1 + i % 11:02d}-{1 + i % 28:02d} 10:00", 2.0, "7", "UK"] for i in range(200)]
    rows[-1][4] = "2011-12-09 12:00"
    rows += [[f"9{i}", "P1", "MUG", 1, "2099-12-31 10:00", 2.0, "7", "UK"] for i in range(2)]
    rows += [[f"8{i}", "P1", "MUG", 1, "1900-01-01 00:00", 2.0, "7", "UK"] for i in range(2)]
    path = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def test_dates_outside_the_plausible_window_are_quarantined_and_do_not_set_the_period(tmp_path):
    path = implausible_log(tmp_path)
    result = clean(source(path), as_of=None)
    assert result.audit["as_of"] == "2011-11-30" and result.audit["first_date"].startswith("2011")
    assert result.audit["by_rule"]["implausible_date"] == 4 and balanced(result)
    assert io_dates.last_invoice_date([source(path)]) == pd.Timestamp("2011-12-09 12:00")
    assert sorted(result.quarantine.loc[result.quarantine["reason"] == "implausible_date", "InvoiceDate"]
                  .astype("str").str[:16]) == \
        ["1900-01-01 00:00", "1900-01-01 00:00", "2099-12-31 10:00", "2099-12-31 10:00"]
    wide = {"date_window": {"earliest": "1899-01-01", "latest": "2100-01-01"}}
    assert clean(source(path), as_of=None, rules=wide).audit["as_of"] == "2099-12-31"
    assert io_dates.last_invoice_date([source(path)], window=cleaning.date_window(wide)) == pd.Timestamp("2099-12-31 10:00")
    off = clean(source(path), as_of=AS_OF, rules={"date_window": False})
    assert "implausible_date" not in off.audit["by_rule"] and off.audit["first_date"] == "1900-01-01"


@pytest.mark.parametrize("window, message", [
    ({"earliest": "soon"}, r"cleaning.date_window.earliest must be a date like 1990-01-01 \(or null\), got 'soon'"),
    ({"earliest": "2012-01-01", "latest": "2011-01-01"}, r"earliest 2012-01-01 comes after latest 2011-01-01"),
    ({"start": "2011-01-01"}, r"cleaning.date_window: unknown key 'start'"),
])
def test_date_window_settings_are_checked(window, message):
    from crmlib.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        cleaning.resolve_rules({"date_window": window})


def test_only_implausible_dates_is_a_clear_error(tmp_path):
    path = write(tmp_path, "fut.csv", HEADER + "1,A,X,1,2099-01-05 08:00,2.0,1,UK\n")
    with pytest.raises(DataError, match=r"no invoice date inside the plausible window \(1990-01-01 to .*\)") as err:
        io_dates.last_invoice_date([source(path)])
    assert f"{path}, column 'InvoiceDate', row 1: 2099-01-05 08:00:00" in str(err.value) and "cleaning.date_window" in str(err.value)


# ------------------------------------------------------------------ 7. header-only file
def test_header_only_file_says_no_data_rows_when_the_period_is_derived(tmp_path):
    path = write(tmp_path, "head.csv", HEADER)
    with pytest.raises(DataError, match=rf"^file {path}: the file has a header but no data rows$"):
        io_dates.last_invoice_date([source(path)])
    with pytest.raises(DataError, match=rf"^file {path}: the file has a header but no data rows$"):
        clean(source(path))


def test_unreadable_date_column_names_file_and_column_when_the_period_is_derived(tmp_path):
    path = write(tmp_path, "d.csv", HEADER.replace("InvoiceDate", "Datum") + "1,A,X,1,gestern,2.0,1,UK\n")
    with pytest.raises(DataError) as err:
        io_dates.last_invoice_date([source(path, columns={"invoice_date": "Datum"})])
    msg = str(err.value)
    assert msg.startswith(f"file {path}, column 'Datum': none of the 1 values can be read as dates")
    assert "row 1: 'gestern'" in msg and "set 'date_format' for this source" in msg


# ------------------------------------------------------------------ 4. thousands separators
def thousands_log(tmp_path: Path) -> Path:
    rows = "".join(f"{i},P{i % 9},MUG,{1 + i % 4},2011-01-{1 + i % 28:02d} 10:00,2.5,{i % 50},UK\n" for i in range(1000))
    rows += "".join(f'2{i},Q{i},BIG ORDER,"1,{234 + i}",2011-02-01 10:00,"1,020.50",7,UK\n' for i in range(9))
    return write(tmp_path, "big.csv", HEADER + rows)


def test_thousands_separators_are_detected_and_read(tmp_path):
    result = clean(source(thousands_log(tmp_path)), rules={"outliers": False})
    assert "invalid_value" not in result.audit["by_rule"] and balanced(result)
    big = result.transactions.loc[result.transactions["product_name"] == "BIG ORDER"]
    assert big["quantity"].tolist() == [1234.0 + i for i in range(9)] and set(big["unit_price"]) == {1020.5}
    notes = result.audit["sources"][0]["notes"]
    assert any("column 'Quantity': 9 values written with ',' as thousands separator (e.g. '1,234') were read as "
               "numbers; set thousands: ','" in n for n in notes)


def test_thousands_setting_reads_them_and_a_mixture_gets_a_hint(tmp_path):
    path = thousands_log(tmp_path)
    result = clean(source(path, thousands=","), rules={"outliers": False})
    assert result.transactions["quantity"].max() == 1242.0 and not result.audit["sources"][0]["notes"]
    text = path.read_text().replace('"1,234"', '"1,2345"')  # one value no longer fits: none are guessed
    result = clean(source(write(tmp_path, "mixed.csv", text)))
    assert result.audit["by_rule"]["invalid_value"] == 9 and balanced(result)
    assert "set thousands: ','" in result.audit["sources"][0]["notes"][0]
    semi = write(tmp_path, "semi.csv", HEADER.replace(",", ";") + "1;A;X;1 234;2011-01-05 08:00;2,5;1;UK\n")
    t = clean(source(semi, decimal=",", thousands=" ")).transactions
    assert t["quantity"].tolist() == [1234.0] and t["unit_price"].tolist() == [2.5]
    with pytest.raises(DataError, match=r"'thousands' must differ from 'decimal' \(','\)"):
        clean(source(semi, decimal=",", thousands=","))


def test_a_decimal_comma_is_never_taken_for_a_thousands_separator(tmp_path):
    rows = "1,A,X,1,2011-01-05 08:00,\"2,55\",1,UK\n"
    with pytest.raises(DataError) as err:
        clean(source(write(tmp_path, "dc.csv", HEADER + rows)))
    assert "column 'UnitPrice': 1 of 1 values (100.0%) cannot be read as numbers" in str(err.value)
    assert "set 'decimal' (e.g. ',') or 'thousands'" in str(err.value)


# ------------------------------------------------------------------ 5. Korean dates, Excel serial dates
DEC = pd.Timestamp("2011-12-31")
KOREAN = "주문번호,상품코드,상품명,수량,주문일시,단가,고객번호\n"


def korean_log(tmp_path: Path, dates: list[str], name: str = "kr.csv", encoding: str = "utf-8") -> Path:
    rows = "".join(f"{1000 + i},A{i % 3},머그컵,1,{d},3000,{77 + i % 4}\n" for i, d in enumerate(dates))
    return write(tmp_path, name, KOREAN + rows, encoding)


@pytest.mark.parametrize("dates", [
    ["2011. 12. 9. 오후 3:04", "2011. 12. 10. 오전 9:15", "2011. 12. 11. 오후 12:30"],
    ["2011년 12월 9일 오후 3시 4분", "2011년 12월 10일 오전 9시 15분", "2011년 12월 11일 오후 12시 30분"],
])
def test_korean_dates_are_recognised(tmp_path, dates):
    for encoding in ("utf-8", "cp949"):
        result = clean(source(korean_log(tmp_path, dates, f"kr-{encoding}.csv", encoding)), as_of=DEC)
        assert result.transactions["invoice_date"].tolist() == [
            pd.Timestamp("2011-12-09 15:04"), pd.Timestamp("2011-12-10 09:15"), pd.Timestamp("2011-12-11 12:30")]
        assert "column '주문일시': Korean dates" in result.audit["sources"][0]["notes"][0]
        assert "set date_format: korean" in result.audit["sources"][0]["notes"][0]


def test_korean_dates_with_a_date_format_or_the_named_form(tmp_path):
    path = korean_log(tmp_path, ["2011. 12. 9. 오후 3:04", "2011. 12. 10. 오전 9:15"])
    for fmt in ("%Y. %m. %d. %p %I:%M", "korean"):
        t = clean(source(path, date_format=fmt), as_of=DEC).transactions
        assert t["invoice_date"].tolist() == [pd.Timestamp("2011-12-09 15:04"), pd.Timestamp("2011-12-10 09:15")]
    plain = korean_log(tmp_path, ["2011년 12월 9일", "2011년 12월 10일"], "day.csv")
    assert clean(source(plain), as_of=DEC).transactions["invoice_date"].dt.day.tolist() == [9, 10]


def test_excel_serial_dates_in_a_csv(tmp_path):
    rows = "1,A,X,1,40886.5,2.0,1,UK\n2,P2,X,1,40887,2.0,1,UK\n"
    path = write(tmp_path, "serial.csv", HEADER + rows)
    result = clean(source(path), as_of=DEC)
    assert result.transactions["invoice_date"].tolist() == [pd.Timestamp("2011-12-09 12:00"), pd.Timestamp("2011-12-10")]
    assert "Excel serial day numbers" in result.audit["sources"][0]["notes"][0]
    assert io_dates.last_invoice_date([source(path)]) == pd.Timestamp("2011-12-10")
    t = clean(source(path, date_format="excel"), as_of=DEC).transactions
    assert t["invoice_date"].tolist() == [pd.Timestamp("2011-12-09 12:00"), pd.Timestamp("2011-12-10")]


def test_unrecognised_dates_name_file_column_examples_and_setting(tmp_path):
    path = korean_log(tmp_path, ["9.12.2011 nachm. 3:04", "10.12.2011 vorm. 9:15"])
    for call in (lambda: clean(source(path)), lambda: io_dates.last_invoice_date([source(path)])):
        with pytest.raises(DataError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith(f"file {path}, column '주문일시': ")
        assert "row 1: '9.12.2011 nachm. 3:04'" in msg
        assert "set 'date_format' for this source in workbook.yml" in msg and "korean for 2011. 12. 9." in msg
        assert "excel for serial day numbers" in msg


# ------------------------------------------------------------------ 6. truncated .gz, a late cp1252 byte
def long_log(n: int = 3000) -> str:
    return HEADER + "".join(f"{i},P{i % 40},WHITE HEART MUG,{1 + i % 5},2011-01-{1 + i % 28:02d} 08:00,2.5,{i % 300},"
                            f"United Kingdom\n" for i in range(n))


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_gz_is_a_clear_error(tmp_path, keep):
    import gzip

    data = gzip.compress(long_log(40000).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[:int(len(data) * keep)])
    for call in (lambda: clean(source(path)), lambda: io_dates.last_invoice_date([source(path)])):
        with pytest.raises(DataError) as err:
            call()
        assert str(err.value).startswith(f"file {path}: the compressed file is truncated or damaged (")
        assert "copy or export the file again" in str(err.value)


def test_a_cp1252_byte_after_the_first_64_kb_is_read_as_cp1252(tmp_path):
    text = long_log()
    assert len(text) > io_text.SAMPLE_BYTES
    path = write(tmp_path, "late.csv", text + "99999,A1,CAFÉ CRÈME MUG,1,2011-01-05 08:00,2.5,1,France\n", "cp1252")
    result = clean(source(path), rules={"duplicates": False})
    assert result.transactions["product_name"].iloc[-1] == "CAFÉ CRÈME MUG" and balanced(result)
    s = result.audit["sources"][0]
    assert s["encoding"] == "cp1252" and s["notes"][0].startswith("read as cp1252: the start of the file looked like utf-8, "
                                                                  "but byte b'\\xc9' at position ")
    assert io_dates.last_invoice_date([source(path)]) == pd.Timestamp("2011-01-28 08:00")


def test_a_file_mixing_utf8_and_cp1252_is_read_with_replacement_characters(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(long_log().replace("United Kingdom", "Österreich", 1).encode("utf-8")
                     + "99999,A1,CAFÉ MUG,1,2011-01-05 08:00,2.5,1,France\n".encode("cp1252"))
    result = clean(source(path), rules={"duplicates": False})
    assert result.transactions["product_name"].iloc[-1] == "CAF\ufffd MUG"
    assert result.transactions["country"].iloc[0] == "Österreich"
    assert "bytes that are not utf-8 replaced by '\ufffd' (the first is b'\\xc9' at position" in \
        result.audit["sources"][0]["notes"][0]
    with pytest.raises(DataError, match=r"cannot be read as utf-8"):  # a declared encoding is not second-guessed
        clean(source(path, encoding="utf-8"))


# ------------------------------------------------------------------ 8. the crm command: one line, exit 1
def run_crm(capsys, *argv) -> tuple[int, list[str]]:
    from crmlib import cli

    code = cli.main(["report", "--no-progress", *argv])
    err = capsys.readouterr().err
    return code, err.splitlines()


def one_error_line(lines: list[str]) -> str:
    assert len(lines) == 1 and lines[0].startswith("crm: error: "), lines
    assert "Traceback" not in lines[0]
    return lines[0]


def test_crm_names_a_truncated_gz_in_one_line(tmp_path, capsys, monkeypatch):
    import gzip

    monkeypatch.chdir(tmp_path)
    data = gzip.compress(long_log(40000).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    code, lines = run_crm(capsys, "--data", str(path), "--output", str(tmp_path / "reports"))
    assert code == 1
    assert one_error_line(lines).startswith(f"crm: error: file {path}: the compressed file is truncated or damaged (")


def test_crm_names_a_header_only_file_and_a_bad_period(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "head.csv", HEADER)
    code, lines = run_crm(capsys, "--data", str(path), "--output", str(tmp_path / "reports"))
    assert code == 1 and one_error_line(lines) == f"crm: error: file {path}: the file has a header but no data rows"
    code, lines = run_crm(capsys, "--period", "2011-13", "--data", str(path))
    assert code == 1
    assert one_error_line(lines) == "crm: error: --period: cannot read '2011-13' as a month (use YYYY-MM, e.g. 2011-11)"


def test_crm_joins_example_rows_and_hint_onto_the_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = korean_log(tmp_path, ["9.12.2011 nachm. 3:04", "10.12.2011 vorm. 9:15"])
    code, lines = run_crm(capsys, "--data", str(path), "--output", str(tmp_path / "reports"))
    line = one_error_line(lines)
    assert code == 1 and line.startswith(f"crm: error: file {path}, column '주문일시': none of the 2 values")
    assert "; example rows: row 1: '9.12.2011 nachm. 3:04' | row 2: '10.12.2011 vorm. 9:15'; hint: " in line


@pytest.mark.parametrize("exc, expected", [
    (OSError(28, "No space left on device", "/r/2011-11/index.html"),
     "no space left on device writing /r/2011-11/index.html; free some space and run again"),
    (PermissionError(13, "Permission denied", "/r/2011-11"), "cannot write to /r/2011-11: permission denied"),
    (OSError(30, "Read-only file system", "/r"), "cannot write to /r: the file system is read-only"),
    (EOFError("Compressed file ended before the end-of-stream marker was reached"),
     "a file ended early: it is truncated or damaged (Compressed file ended before the end-of-stream marker "
     "was reached); copy or export it again"),
    (UnicodeDecodeError("utf-8", b"ab\xc9cd", 2, 3, "invalid continuation byte"),
     "text that cannot be read as utf-8 (byte b'\\xc9' at position 2); set 'encoding' for the source in "
     "workbook.yml (e.g. cp949, cp1252, latin-1)"),
    (KeyError("x"), "unexpected KeyError: 'x'; this is a bug in the workbook, not in your data or settings: "
                    "run again with CRM_DEBUG=1 to see the details"),
])
def test_crm_puts_system_failures_in_words(capsys, monkeypatch, exc, expected):
    from crmlib import report

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(report, "run_report", fail)
    monkeypatch.delenv("CRM_DEBUG", raising=False)
    code, lines = run_crm(capsys)
    assert code == 1 and one_error_line(lines) == f"crm: error: {expected}"
    monkeypatch.setenv("CRM_DEBUG", "1")
    code, lines = run_crm(capsys)
    assert code == 1 and lines[0] == "Traceback (most recent call last):" and lines[-1] == f"crm: error: {expected}"


# ------------------------------------------------------------------ 9. rows in = kept + quarantined, everywhere
def test_every_row_is_kept_or_quarantined_across_sheets_forms_and_sources(tmp_path):
    book = tmp_path / "stores.xlsx"
    with pd.ExcelWriter(book) as xl:
        pd.DataFrame(lines(4), columns=COLUMNS).to_excel(xl, sheet_name="north", index=False)
        bad = lines(3, start=10)
        bad[0][4] = pd.Timestamp("2099-01-01")
        pd.DataFrame(bad, columns=COLUMNS).to_excel(xl, sheet_name="south", index=False)
    rows = [l[:] for l in lines(300, start=20)]
    for r in rows:
        r[4] = r[4].strftime("%Y. %m. %d. ") + ("오후 " if r[4].hour >= 12 else "오전 ") + r[4].strftime("%I:%M").lstrip("0")
    rows[0][3] = "1,200"
    rows[1][4] = "not a date"
    rows[2][4] = "1989. 12. 31. 오전 9:00"
    csv = tmp_path / "web.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(csv, index=False)
    result = clean(source(book, name="stores"), source(csv, name="web"), rules={"outliers": False})
    a = result.audit
    assert balanced(result) and a["rows_in"] == 4 + 3 + 300
    assert [(s["name"], s["sheet"], s["rows_in"]) for s in a["sources"]] == [
        ("stores", "north", 4), ("stores", "south", 3), ("web", None, 300)]
    assert all(s["rows_in"] == s["rows_kept"] + s["rows_quarantined"] for s in a["sources"])
    assert sum(s["rows_in"] for s in a["sources"]) == a["rows_in"]
    assert a["by_rule"]["implausible_date"] == 2 and a["by_rule"]["invalid_value"] == 1
    q = result.quarantine
    assert q.loc[q["source_sheet"] == "south", ["source_row", "reason"]].values.tolist() == [[1, "implausible_date"]]
    web = q.loc[q["source"] == "web"]
    assert web["source_sheet"].isna().all()
    assert web.set_index("source_row")["reason"].to_dict() == {2: "invalid_value", 3: "implausible_date"}
    assert result.transactions["quantity"].max() == 1200.0
    paths = result.write(tmp_path / "artifacts")
    assert pd.read_parquet(paths["quarantine"])["source_sheet"].tolist()[:1] == ["south"]
    assert pd.read_parquet(paths["transactions"])["source_sheet"].value_counts().to_dict() == {"north": 4, "south": 2}
