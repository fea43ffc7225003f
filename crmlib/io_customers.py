"""Read the optional customer table (``customers:`` of workbook.yml): one row per customer.

The file is found, its header read and its rows read as :mod:`crmlib.io` reads a
source's (same encoding detection, delimiter, Excel sheet), then its columns are
mapped by name or by common synonyms (:data:`CUSTOMER_SYNONYMS`). Raw files are only
ever opened for reading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib import schema
from crmlib.errors import DataError
from crmlib.io import _check_duplicated, _read_csv, _source_path, file_kind, read_header
from crmlib.parsing import as_id, parse_dates


def _read_excel(path: Path, sheet: Any, text_cols: list[str]) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=sheet, dtype={c: object for c in text_cols})
    except Exception as exc:
        raise DataError(f"cannot read sheet {sheet!r} of the Excel workbook ({exc})", file=path) from None


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


__all__ = ["CUSTOMER_SYNONYMS", "read_customers"]
