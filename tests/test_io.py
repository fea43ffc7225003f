"""Bad-input battery: files generated here, each with its specific error or cleaned result."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmlib import cleaning, io_customers, io_dates, parsing, schema
from crmlib.core.config import CUSTOMERS_DEFAULTS, SOURCE_DEFAULTS
from crmlib.errors import DataError
from crmlib.pages import data_cleaning

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = (
    "536365,85123A,WHITE HEART,6,2011-01-05 08:26:00,2.55,17850,United Kingdom\n"
    "536366,71053,METAL LANTERN,2,2011-01-06 09:00:00,3.39,13047,France\n"
)
AS_OF = pd.Timestamp("2011-06-30")


def source(path: Path, **kw) -> dict:
    return {**SOURCE_DEFAULTS, "path": str(path), "name": kw.pop("name", "shop"), **kw}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def clean(*sources, as_of=AS_OF, rules=None):
    return cleaning.clean_sources(list(sources), as_of, rules or {})


# ------------------------------------------------------------------ errors
def test_missing_column_names_it_and_the_closest_names(tmp_path):
    path = write(tmp_path, "t.csv", HEADER.replace("Quantity", "Qnty") + ROWS)
    with pytest.raises(DataError) as err:
        clean(source(path))
    msg = str(err.value)
    assert f"file {path}, column 'quantity': required column 'quantity' not found" in msg
    assert "closest names in the file: Qnty" in msg


def test_wrong_declared_encoding_says_what_the_file_looks_like(tmp_path):
    text = "주문번호,상품코드,상품명,수량,주문일자,단가,고객번호\n1,A1,머그컵,2,2011-01-05,3000,77\n" * 50
    path = write(tmp_path, "kr.csv", text, "cp949")
    with pytest.raises(DataError, match=r"cannot be read as utf-8: byte .* at position 0") as err:
        clean(source(path, encoding="utf-8"))
    assert "the file looks like cp949" in str(err.value)


def test_binary_file_has_no_detectable_encoding(tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    with pytest.raises(DataError, match=r"noise.csv: cannot detect the text encoding \(the file may be binary"):
        clean(source(path))


def test_empty_file(tmp_path):
    path = write(tmp_path, "empty.csv", "")
    with pytest.raises(DataError, match=r"empty.csv: the file is empty"):
        clean(source(path))


def test_header_only(tmp_path):
    path = write(tmp_path, "head.csv", HEADER)
    with pytest.raises(DataError, match=r"head.csv: the file has a header but no data rows"):
        clean(source(path))


def test_all_rows_invalid_leaves_nothing(tmp_path):
    rows = "".join(f"C{i},A,X,-1,2011-01-05 08:00,2.0,1,UK\n" for i in range(5))
    path = write(tmp_path, "neg.csv", HEADER + rows)
    with pytest.raises(DataError, match=r"no rows left after cleaning \(5 rows read\)") as err:
        clean(source(path))
    assert "return: 5 rows" in str(err.value)


def test_two_date_formats_mixed_stop_with_examples(tmp_path):
    rows = "".join(f"{i},A,X,1,2011-01-{i + 1:02d} 08:00,2.0,1,UK\n" for i in range(10))
    rows += "".join(f"{i},A,X,1,{i + 1:02d}/02/2011 08:00,2.0,1,UK\n" for i in range(10, 14))
    path = write(tmp_path, "dates.csv", HEADER + rows)
    with pytest.raises(DataError) as err:
        clean(source(path))
    msg = str(err.value)
    assert "column 'InvoiceDate': 4 of 14 values (28.6%) cannot be read as dates" in msg
    assert "row 11: '11/02/2011 08:00'" in msg and "may mix several date formats" in msg


def test_dayfirst_and_explicit_date_format(tmp_path):
    rows = "1,A,X,1,05/01/2011 08:00,2.0,1,UK\n2,P2,X,1,13/01/2011 09:30,2.0,1,UK\n"
    t = clean(source(write(tmp_path, "dmy.csv", HEADER + rows), dayfirst=True)).transactions
    assert t["invoice_date"].tolist() == [pd.Timestamp("2011-01-05 08:00"), pd.Timestamp("2011-01-13 09:30")]
    rows = "1,A,X,1,20110105,2.0,1,UK\n2,P2,X,1,20110113,2.0,1,UK\n"
    t = clean(source(write(tmp_path, "ymd.csv", HEADER + rows), date_format="%Y%m%d")).transactions
    assert t["invoice_date"].tolist() == [pd.Timestamp("2011-01-05"), pd.Timestamp("2011-01-13")]


def test_a_few_unreadable_dates_are_quarantined_not_fatal(tmp_path):
    rows = "".join(f"{i},A,X,1,2011-01-{1 + i % 28:02d} 08:00,2.0,1,UK\n" for i in range(200))
    rows += "999,A,X,1,not a date,2.0,1,UK\n"
    result = clean(source(write(tmp_path, "d.csv", HEADER + rows)), rules={"duplicates": False})
    assert result.quarantine["reason"].tolist() == ["invalid_value"]
    assert result.quarantine["InvoiceDate"].tolist() == ["not a date"]


def test_non_numeric_quantity(tmp_path):
    rows = ROWS.replace(",6,", ",six,").replace(",2,", ",two,")
    with pytest.raises(DataError, match=r"column 'Quantity': 2 of 2 values \(100.0%\) cannot be read as numbers") as err:
        clean(source(write(tmp_path, "q.csv", HEADER + rows)))
    assert "row 1: 'six'" in str(err.value)


def test_duplicated_column_names(tmp_path):
    header = HEADER.replace("Description", "Quantity")
    with pytest.raises(DataError, match=r"column 'Quantity' appears 2 times in the header"):
        clean(source(write(tmp_path, "dup.csv", header + ROWS)))


def test_mapping_to_a_column_that_is_not_there(tmp_path):
    path = write(tmp_path, "t.csv", HEADER + ROWS)
    with pytest.raises(DataError, match=r"column 'Qty' \(mapped to quantity in workbook.yml\) is not in the file"):
        clean(source(path, columns={"quantity": "Qty"}))


# ------------------------------------------------------------------ cleaned results
def test_cp949_file_with_korean_headers_and_a_mapping(tmp_path):
    text = ("주문번호,상품코드,상품명,수량,주문일자,단가,회원\n"
            "1001,A1,머그컵,2,2011-01-05,3000,77\n1002,B2,접시,1,2011-01-06,4500,78\n")
    path = write(tmp_path, "kr.csv", text, "cp949")
    result = clean(source(path, columns={"customer_id": "회원"}))
    t = result.transactions
    assert result.audit["sources"][0]["encoding"] == "cp949"
    assert t["product_name"].tolist() == ["머그컵", "접시"]
    assert t["customer_id"].tolist() == ["77", "78"] and t["amount"].tolist() == [6000.0, 4500.0]


def test_semicolon_delimited_with_decimal_comma(tmp_path):
    text = HEADER.replace(",", ";") + "1;A;X;3;2011-01-05 08:00;2,55;17850;UK\n2;P2;Y;1;2011-01-05 09:00;1.234,50;17850;UK\n"
    result = clean(source(write(tmp_path, "semi.csv", text), decimal=","))
    assert result.audit["sources"][0]["delimiter"] == ";"
    assert result.transactions["unit_price"].tolist() == [2.55, 1234.5]


def test_excel_workbook(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(HEADER + ROWS))
    frame["CustomerID"] = frame["CustomerID"].astype(float)  # Excel stores numbers as floats
    path = tmp_path / "shop.xlsx"
    frame.to_excel(path, index=False, sheet_name="sales")
    result = clean(source(path, sheet="sales"))
    assert result.transactions["customer_id"].tolist() == ["17850", "13047"]
    assert result.transactions["invoice_id"].tolist() == ["536365", "536366"]


def test_utf8_bom_header_is_recognised(tmp_path):
    path = write(tmp_path, "bom.csv", HEADER + ROWS, "utf-8-sig")
    result = clean(source(path))
    assert result.audit["sources"][0]["layout"] == "online_retail"
    assert result.transactions["invoice_id"].tolist() == ["536365", "536366"]


def test_latin1_file_is_detected(tmp_path):
    rows = "".join(f"{i},A,CAFÉ CRÈME SÜß,1,2011-01-05 08:00,2.0,{i},España\n" for i in range(30))
    result = clean(source(write(tmp_path, "l1.csv", HEADER + rows, "latin-1")), rules={"duplicates": False})
    assert result.transactions["country"].iloc[0] == "España"
    assert result.transactions["product_name"].iloc[0] == "CAFÉ CRÈME SÜß"


def test_ids_with_trailing_dot_zero(tmp_path):
    rows = ROWS.replace(",17850,", ",17850.0,").replace(",13047,", ",13047.0,")
    result = clean(source(write(tmp_path, "f.csv", HEADER + rows)))
    assert result.transactions["customer_id"].tolist() == ["17850", "13047"]


def test_negative_prices_are_quarantined(tmp_path):
    rows = ROWS + "536367,B,ADJUST BAD DEBT,1,2011-01-07 09:00:00,-11062.06,,United Kingdom\n"
    result = clean(source(write(tmp_path, "neg.csv", HEADER + rows)))
    assert result.quarantine["reason"].tolist() == ["non_product"]
    rows = ROWS + "536367,XYZ,ODD,1,2011-01-07 09:00:00,-5,1,United Kingdom\n"
    result = clean(source(write(tmp_path, "neg2.csv", HEADER + rows)))
    assert result.quarantine["reason"].tolist() == ["non_positive_price"]
    assert result.audit["revenue_by_rule"] == {"non_positive_price": -5.0}


def test_rows_after_as_of_are_quarantined(tmp_path):
    rows = ROWS + "536367,A,X,1,2012-01-07 09:00:00,2.0,1,UK\n"
    result = clean(source(write(tmp_path, "fut.csv", HEADER + rows)))
    assert result.quarantine["reason"].tolist() == ["after_as_of"]
    assert result.audit["as_of"] == "2011-06-30"


def test_two_sources_are_tagged_and_share_customers(tmp_path):
    web = write(tmp_path, "web.csv", HEADER + ROWS)
    store = tmp_path / "store.csv.gz"
    with gzip.open(store, "wt", encoding="utf-8") as fh:
        fh.write("Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country\n"
                 "900;85123A;WHITE HEART;1;2011-02-01 10:00;2.55;17850;United Kingdom\n"
                 "901;22222;CANDLE;4;2011-02-02 10:00;1.00;55555;United Kingdom\n")
    result = clean(source(web, name="web"), source(store, name="store"))
    t = result.transactions
    assert t["source"].tolist() == ["web", "web", "store", "store"]
    assert [s["layout"] for s in result.audit["sources"]] == ["online_retail", "online_retail_ii"]
    assert len(result.audit["source_paths"]) == 2
    view = data_cleaning.customer_overlap(t)
    assert view.by_source_count.set_index("found_in").loc["2 sources", "customers"] == 1
    assert view.pairs.iloc[0][["source_a", "source_b", "shared_customers"]].tolist() == ["store", "web", 1]


def test_cdnow_layout_whitespace_delimited(tmp_path):
    text = " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112  2   12.00\n"
    result = clean(source(write(tmp_path, "cdnow.txt", text)), as_of=pd.Timestamp("1997-06-30"))
    t = result.transactions
    assert result.audit["sources"][0]["layout"] == "cdnow"
    assert t["customer_id"].tolist() == ["00001", "00002"]
    assert t["unit_price"].tolist() == [11.77, 6.0] and t["product_id"].tolist() == ["ALL", "ALL"]
    assert t["invoice_date"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12")]


def test_parquet_and_synonym_headers(tmp_path):
    frame = pd.DataFrame({"Order ID": ["1", "2"], "SKU": ["sku1", "sku2"], "Qty": [1, 2],
                          "Order Date": pd.to_datetime(["2011-01-01", "2011-01-02"]),
                          "Price": [1.5, 2.0], "Client ID": [10.0, 11.0]})
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    t = clean(source(path)).transactions
    assert t["customer_id"].tolist() == ["10", "11"] and t["product_id"].tolist() == ["SKU1", "SKU2"]
    assert t["amount"].tolist() == [1.5, 4.0]


# ------------------------------------------------------------------ helpers for others
def test_timezone_offsets_are_converted_to_utc(tmp_path):
    rows = ROWS.replace("2011-01-05 08:26:00", "2011-01-05T08:26:00+01:00").replace(
        "2011-01-06 09:00:00", "2011-01-06T09:00:00+01:00")
    t = clean(source(write(tmp_path, "tz.csv", HEADER + rows))).transactions
    assert t["invoice_date"].tolist() == [pd.Timestamp("2011-01-05 07:26"), pd.Timestamp("2011-01-06 08:00")]


def test_last_invoice_date_reads_the_date_column(tmp_path):
    path = write(tmp_path, "t.csv", HEADER + ROWS)
    assert io_dates.last_invoice_date([source(path)]) == pd.Timestamp("2011-01-06 09:00:00")


def test_read_customers_maps_columns_and_keeps_ids_as_text(tmp_path):
    path = write(tmp_path, "c.csv", "CustomerID,Churn,Region\n17850.0,yes,North\n13047,no,South\n")
    frame = io_customers.read_customers({**CUSTOMERS_DEFAULTS, "path": str(path), "columns": {"region": "Region"}})
    assert list(frame.columns) == ["customer_id", "churned", "region"]
    assert frame["customer_id"].tolist() == ["17850", "13047"] and frame["churned"].tolist() == ["yes", "no"]
    assert io_customers.read_customers({**CUSTOMERS_DEFAULTS}) is None


def test_read_customers_rejects_duplicated_ids(tmp_path):
    path = write(tmp_path, "c.csv", "customer_id,age\n1,30\n1,31\n")
    with pytest.raises(DataError, match=r"1 customer ids appear more than once"):
        io_customers.read_customers({**CUSTOMERS_DEFAULTS, "path": str(path)})


def test_known_customers_drops_anonymous_lines():
    t = pd.DataFrame({"customer_id": pd.array(["1", None, "2"], dtype="str"), "amount": [1.0, 2.0, 3.0]})
    assert schema.known_customers(t)["amount"].tolist() == [1.0, 3.0]


def test_contract_check_names_the_broken_column():
    t = pd.DataFrame({
        "customer_id": pd.array(["1"], dtype="str"), "invoice_id": pd.array(["9"], dtype="str"),
        "invoice_date": pd.to_datetime(["2011-01-01"]).astype("datetime64[ns]"),
        "product_id": pd.array(["A"], dtype="str"), "product_name": pd.array(["X"], dtype="str"),
        "quantity": [0.0], "unit_price": [2.0], "amount": [0.0], "country": pd.array(["UK"], dtype="str"),
        "source": pd.array(["s"], dtype="str"), "is_outlier": [False],
    })
    with pytest.raises(DataError, match=r"column 'quantity': clean transactions break the data contract"):
        schema.validate_transactions(t)
    t["quantity"], t["amount"] = 1.0, 2.0
    assert schema.validate_transactions(t) is t
    with pytest.raises(DataError, match="contain rows after as_of 2010-12-31"):
        schema.validate_transactions(t, as_of=pd.Timestamp("2010-12-31"))



@pytest.mark.parametrize("values", [
    [" a", "b", None], ["a\t", "b"], ["ab\r", "c"], ["x\n"], ["\tx"], ["é ", "ü"], ["é", "ü", None],
    ["17850.0", "1"], ["17850.5", "10"], ["", "a"], [None, None], ["0", "."], ["a.0b"],
])
def test_byte_level_checks_agree_with_pandas_string_methods(values):
    """strip_text / as_id read first and last bytes from the Arrow buffers; the result
    must equal the plain pandas string methods, also on sliced chunked columns."""
    arrow = pd.Series(["pad"] + values + ["pad"], dtype="str").iloc[1:-1]  # a slice: buffers with an offset
    python = pd.Series(values, dtype=object)
    expect_strip = python.str.strip() if (python.str.startswith((" ", "\t")) | python.str.endswith(
        (" ", "\t", "\r", "\n"))).fillna(False).any() else python
    assert parsing.strip_text(arrow).fillna("<NA>").tolist() == expect_strip.fillna("<NA>").tolist()
    ids = parsing.as_id(arrow).fillna("<NA>").tolist()
    stripped = expect_strip.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    assert ids == stripped.where(stripped != "").fillna("<NA>").tolist()


@pytest.mark.parametrize("values, lower, empty", [
    (["ABC", "X-1"], False, False), (["ABc"], True, False), (["É"], True, False),
    ([None, "A"], False, False), (["", "Z"], False, True),
])
def test_lowercase_and_empty_checks(values, lower, empty):
    column = pd.Series(["zz"] + values + ["zz"], dtype="str").iloc[1:-1]  # a slice: buffers with an offset
    assert parsing.may_have_lowercase(column) is lower
    assert parsing.has_empty_text(column) is empty
    assert parsing.has_empty_text(pd.Series(values, dtype=object)) is empty


# ------------------------------------------------------------------ storage of the clean lines
@pytest.mark.parametrize("partition_rows", [10**9, 50])
def test_clean_lines_read_back_the_same_from_a_file_or_a_month_folder(tmp_path, monkeypatch, partition_rows):
    """``transactions.parquet`` is one file, or a month-partitioned folder above
    ``engine.PARTITION_ROWS`` lines; the run context reads both to the frame cleaning made
    (same dtypes, nanosecond dates), every column or only some."""
    from crmlib.synthetic import make_synthetic, write_synthetic_csv
    from crmlib.core import engine
    from crmlib.core.context import RunContext

    log = make_synthetic(n_customers=40, start="2011-01-01", end="2011-03-31", dirt=True, seed=5).transactions
    write_synthetic_csv(log, tmp_path / "sales.csv")
    (tmp_path / "workbook.yml").write_text("sources: [sales.csv]\n")
    monkeypatch.setattr(engine, "PARTITION_ROWS", partition_rows)
    ctx = RunContext.create("02_segmentation", as_of="2011-03-31", config_path=tmp_path / "workbook.yml",
                            artifacts_dir=tmp_path / "artifacts")
    result = cleaning.clean_sources(ctx.sources, as_of=ctx.as_of, root=tmp_path)
    result.write(ctx.artifacts_dir)
    stored = ctx.path("transactions.parquet")
    assert stored.is_dir() == (len(result.transactions) > partition_rows)
    if stored.is_dir():
        assert {p.name for p in stored.iterdir()} == {"month=2011-01", "month=2011-02", "month=2011-03"}

    key = [schema.INVOICE_DATE, schema.INVOICE_ID, schema.PRODUCT_ID, schema.QUANTITY, schema.UNIT_PRICE]
    def in_order(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(key, kind="stable", ignore_index=True)

    loaded = ctx.load_transactions()
    assert ctx.notes == []  # read back, not cleaned again
    pd.testing.assert_frame_equal(in_order(loaded), in_order(result.transactions))
    some = ctx.load_transactions(columns=[schema.CUSTOMER_ID, schema.INVOICE_DATE, schema.AMOUNT])
    assert list(some.columns) == [schema.CUSTOMER_ID, schema.INVOICE_DATE, schema.AMOUNT]
    assert some[schema.INVOICE_DATE].dtype == "datetime64[ns]"
    assert some[schema.AMOUNT].sum() == pytest.approx(result.transactions[schema.AMOUNT].sum(), rel=1e-12)
