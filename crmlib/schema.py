"""The canonical transaction contract: column names, dtypes, known layouts, synonyms.

Every source file is mapped onto one row per invoice line with these columns
(``docs/architecture.md``, "Data contract")::

    customer_id   str        missing = anonymous line (revenue KPIs only)
    invoice_id    str
    invoice_date  datetime64[ns]
    product_id    str
    product_name  str
    quantity      float64    > 0 after cleaning
    unit_price    float64    > 0 after cleaning
    amount        float64    = quantity * unit_price
    country       str        optional
    source        str        business unit / file the row came from
    source_sheet  str        Excel sources only: the sheet the row came from
    is_outlier    bool       flagged by the cleaning rule ``outliers``

optional: ``category``, ``channel``, ``store``.

A file is mapped by, in order: the explicit ``columns`` of its ``workbook.yml`` source
(canonical name -> file column), a known layout (UCI Online Retail, Online Retail II,
CDNOW), then common synonyms of each canonical name (English and Korean).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from crmlib.errors import DataError

CUSTOMER_ID = "customer_id"
INVOICE_ID = "invoice_id"
INVOICE_DATE = "invoice_date"
PRODUCT_ID = "product_id"
PRODUCT_NAME = "product_name"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
AMOUNT = "amount"
COUNTRY = "country"
SOURCE = "source"
SOURCE_SHEET = "source_sheet"   # Excel sources: the sheet a row came from (absent otherwise)
IS_OUTLIER = "is_outlier"
OPTIONAL_TEXT = ("category", "channel", "store")

#: Column order and dtype of ``transactions.parquet`` (optional columns only when present).
TRANSACTION_DTYPES: dict[str, str] = {
    CUSTOMER_ID: "str",
    INVOICE_ID: "str",
    INVOICE_DATE: "datetime64[ns]",
    PRODUCT_ID: "str",
    PRODUCT_NAME: "str",
    QUANTITY: "float64",
    UNIT_PRICE: "float64",
    AMOUNT: "float64",
    COUNTRY: "str",
    SOURCE: "str",
    SOURCE_SHEET: "str",
    IS_OUTLIER: "bool",
    **{name: "str" for name in OPTIONAL_TEXT},
}
TRANSACTION_COLUMNS = list(TRANSACTION_DTYPES)

#: Canonical columns a source may provide (``amount`` may replace ``unit_price``).
SOURCE_COLUMNS = [c for c in TRANSACTION_COLUMNS if c not in (SOURCE, SOURCE_SHEET, IS_OUTLIER)]
ID_COLUMNS = (CUSTOMER_ID, INVOICE_ID, PRODUCT_ID)
TEXT_COLUMNS = (CUSTOMER_ID, INVOICE_ID, PRODUCT_ID, PRODUCT_NAME, COUNTRY, *OPTIONAL_TEXT)
NUMERIC_COLUMNS = (QUANTITY, UNIT_PRICE, AMOUNT)

#: Well-known export layouts, recognised without configuration (canonical -> file column).
LAYOUTS: dict[str, dict[str, str]] = {
    "online_retail": {  # UCI "Online Retail" (Chen 2015)
        INVOICE_ID: "InvoiceNo", PRODUCT_ID: "StockCode", PRODUCT_NAME: "Description",
        QUANTITY: "Quantity", INVOICE_DATE: "InvoiceDate", UNIT_PRICE: "UnitPrice",
        CUSTOMER_ID: "CustomerID", COUNTRY: "Country",
    },
    "online_retail_ii": {  # UCI "Online Retail II"
        INVOICE_ID: "Invoice", PRODUCT_ID: "StockCode", PRODUCT_NAME: "Description",
        QUANTITY: "Quantity", INVOICE_DATE: "InvoiceDate", UNIT_PRICE: "Price",
        CUSTOMER_ID: "Customer ID", COUNTRY: "Country",
    },
    "cdnow": {  # CDNOW master log as shipped with lifetimes (no invoice or product ids)
        CUSTOMER_ID: "customer_id", INVOICE_DATE: "date", QUANTITY: "number_of_cds",
        AMOUNT: "dollar_value",
    },
}
#: Date format of a layout, when it is fixed.
LAYOUT_DATE_FORMATS = {"cdnow": "%Y%m%d"}

#: Header synonyms (compared after lower-casing and dropping spaces, '_', '-', '.').
SYNONYMS: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: ("customerid", "customer", "custid", "customerno", "customernumber", "clientid",
                  "memberid", "userid", "accountid", "고객번호", "고객id", "회원번호", "고객코드"),
    INVOICE_ID: ("invoiceid", "invoiceno", "invoice", "invoicenumber", "orderid", "orderno",
                 "ordernumber", "order", "transactionid", "receiptid", "receiptno", "주문번호",
                 "송장번호", "거래번호", "영수증번호"),
    INVOICE_DATE: ("invoicedate", "date", "orderdate", "transactiondate", "purchasedate",
                   "datetime", "timestamp", "주문일자", "주문일", "주문일시", "거래일자", "거래일시", "구매일자",
                   "구매일시", "결제일시", "날짜", "일자"),
    PRODUCT_ID: ("productid", "stockcode", "sku", "itemid", "productcode", "itemcode",
                 "articleid", "상품코드", "상품번호", "제품코드"),
    PRODUCT_NAME: ("productname", "description", "itemname", "product", "item", "상품명", "제품명"),
    QUANTITY: ("quantity", "qty", "units", "numberofitems", "수량", "주문수량"),
    UNIT_PRICE: ("unitprice", "price", "itemprice", "단가", "가격", "판매가"),
    AMOUNT: ("amount", "revenue", "sales", "linetotal", "total", "value", "금액", "매출", "매출액",
             "결제금액"),
    COUNTRY: ("country", "countryname", "국가"),
    "category": ("category", "productcategory", "카테고리", "분류"),
    "channel": ("channel", "saleschannel", "채널"),
    "store": ("store", "storeid", "shop", "branch", "매장", "지점"),
}

REQUIRED = (CUSTOMER_ID, INVOICE_DATE, QUANTITY)
#: Derived when absent: invoice_id (customer + day), product_id (one pseudo product),
#: unit_price (amount / quantity) or amount (quantity * unit_price).


def normalise_header(name: object) -> str:
    """Header as compared with synonyms: lower case, no BOM, spaces or punctuation."""
    return re.sub(r"[\s_\-.()/#]+", "", str(name).replace("\ufeff", "")).lower()


def map_columns(
    header: Iterable[str],
    *,
    explicit: Mapping[str, str] | None = None,
    layout: str = "auto",
    file: object = None,
) -> tuple[dict[str, str], str]:
    """Map a file's header onto canonical names.

    Returns ``(mapping, layout)`` where ``mapping`` is canonical name -> file column and
    ``layout`` the layout recognised (``custom`` when synonyms/explicit names were used).
    Raises :class:`DataError` naming the missing column and the closest names in the file.
    """
    header = [str(h) for h in header]
    explicit = dict(explicit or {})
    unknown = sorted(set(explicit) - set(SOURCE_COLUMNS))
    if unknown:
        raise DataError(
            f"'columns' maps unknown canonical name '{unknown[0]}'",
            file=file,
            hint=f"canonical names: {', '.join(SOURCE_COLUMNS)}",
        )
    for canonical, column in explicit.items():
        if column not in header:
            raise DataError(
                f"column '{column}' (mapped to {canonical} in workbook.yml) is not in the file",
                file=file, column=column, hint=_closest_hint(column, header),
            )
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(normalise_header(h), h)

    mapping: dict[str, str] = {}
    chosen = layout
    if layout not in ("auto", "custom"):
        if layout not in LAYOUTS:
            raise DataError(f"unknown layout '{layout}'", file=file,
                            hint=f"use one of: auto, custom, {', '.join(LAYOUTS)}")
        mapping = {c: by_norm[normalise_header(col)] for c, col in LAYOUTS[layout].items()
                   if normalise_header(col) in by_norm}
    elif layout == "auto":
        chosen = "custom"
        for name, cols in LAYOUTS.items():
            if all(normalise_header(col) in by_norm for col in cols.values()):
                mapping = {c: by_norm[normalise_header(col)] for c, col in cols.items()}
                chosen = name
                break
    used = set(explicit.values()) | set(mapping.values())
    mapping = {c: col for c, col in mapping.items() if c not in explicit}
    mapping.update(explicit)
    if chosen == "custom" or layout == "custom":
        for canonical, names in SYNONYMS.items():
            if canonical in mapping:
                continue
            for cand in (canonical.replace("_", ""), *names):
                col = by_norm.get(normalise_header(cand))
                if col is not None and col not in used:
                    mapping[canonical] = col
                    used.add(col)
                    break
    missing = [c for c in REQUIRED if c not in mapping]
    if UNIT_PRICE not in mapping and AMOUNT not in mapping:
        missing.append(UNIT_PRICE)
    if missing:
        want = missing[0]
        raise DataError(
            f"required column '{want}' not found (columns in the file: {', '.join(header)})",
            file=file, column=want,
            hint=_closest_hint(want, header)
            + f"; or map it in workbook.yml: sources: - columns: {{{want}: <column in the file>}}",
        )
    return mapping, chosen


def _closest_hint(name: str, header: list[str]) -> str:
    pool = {normalise_header(h): h for h in header}
    keys = [normalise_header(name), *[normalise_header(s) for s in SYNONYMS.get(name, ())]]
    close: list[str] = []
    for key in keys:
        for match in difflib.get_close_matches(key, list(pool), n=3, cutoff=0.6):
            if pool[match] not in close:
                close.append(pool[match])
    return f"closest names in the file: {', '.join(close[:3])}" if close else "no similar column name in the file"


def known_customers(transactions: pd.DataFrame) -> pd.DataFrame:
    """Rows with a customer id: what every customer analysis (RFM, CLV, churn) must use.

    Anonymous lines stay in ``transactions.parquet`` for revenue KPIs only.
    """
    ids = transactions[CUSTOMER_ID]
    return transactions.loc[ids.notna() & (ids.astype("str") != "")]


def _amount_matches(df: pd.DataFrame) -> pd.Series:
    """``|amount - quantity x unit_price| <= 1e-6 x max(|amount|, 1)`` row by row, computed
    in place (two temporary columns instead of five on a large frame)."""
    amount = df[AMOUNT].to_numpy(dtype="float64")
    gap = df[QUANTITY].to_numpy(dtype="float64") * df[UNIT_PRICE].to_numpy(dtype="float64")
    np.subtract(amount, gap, out=gap)
    np.abs(gap, out=gap)
    tolerance = np.abs(amount)
    np.maximum(tolerance, 1.0, out=tolerance)  # like clip(lower=1): NaN stays NaN
    tolerance *= 1e-6
    return pd.Series(gap <= tolerance, index=df.index)


def transactions_schema():
    """pandera schema of ``transactions.parquet`` (the clean contract).

    Checked at the end of :func:`crmlib.cleaning.clean_sources`; a failure there is a bug
    in the cleaning rules, not in the user's data.
    """
    try:
        import pandera.pandas as pa
    except ImportError:  # pandera < 0.24 has no pandera.pandas
        import pandera as pa

    text = pa.Column(nullable=True, coerce=False)
    return pa.DataFrameSchema(
        {
            CUSTOMER_ID: text,
            INVOICE_ID: pa.Column(nullable=False),
            INVOICE_DATE: pa.Column("datetime64[ns]", nullable=False),
            PRODUCT_ID: pa.Column(nullable=False),
            PRODUCT_NAME: text,
            QUANTITY: pa.Column("float64", pa.Check.gt(0), nullable=False),
            UNIT_PRICE: pa.Column("float64", pa.Check.gt(0), nullable=False),
            AMOUNT: pa.Column("float64", pa.Check.gt(0), nullable=False),
            COUNTRY: text,
            SOURCE: pa.Column(nullable=False),
            IS_OUTLIER: pa.Column("bool"),
        },
        checks=[pa.Check(_amount_matches, name="amount = quantity * unit_price")],
        strict=False,
    )


def validate_transactions(frame: pd.DataFrame, *, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Check a frame against the clean contract; raise :class:`DataError` with examples."""
    import pandera.errors as pe

    try:
        transactions_schema().validate(frame, lazy=False)
    except (pe.SchemaError, pe.SchemaErrors) as exc:
        cases = getattr(exc, "failure_cases", None)
        column = getattr(getattr(exc, "schema", None), "name", None)
        examples = [] if cases is None else [str(r) for r in pd.DataFrame(cases).head(5).to_dict("records")]
        raise DataError(f"clean transactions break the data contract: {str(exc).splitlines()[0]}",
                        column=column, examples=examples) from None
    if as_of is not None and len(frame) and frame[INVOICE_DATE].max() >= as_of + pd.Timedelta(days=1):
        late = frame.loc[frame[INVOICE_DATE] >= as_of + pd.Timedelta(days=1)].head(5)
        raise DataError(f"clean transactions contain rows after as_of {as_of.date()}",
                        column=INVOICE_DATE, examples=late.to_dict("records"))
    return frame
