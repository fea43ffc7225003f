"""One atomic writer: a reader never sees a half-written artifact.

Each file is written under a temporary name in the same folder, then renamed into place
(a rename within one file system is atomic).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def jsonable(value: Any) -> Any:
    """``value`` with numpy numbers, timestamps and paths turned into JSON types (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, Path):
        return str(value)
    return value


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp")


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON (see :func:`jsonable`)."""
    path = Path(path)
    tmp = _temporary(path)
    tmp.write_text(json.dumps(jsonable(data), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def write_parquet(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` without its index."""
    path = Path(path)
    tmp = _temporary(path)
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text (HTML, CSS, markdown)."""
    path = Path(path)
    tmp = _temporary(path)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with ``= + - @``, tab or carriage return get a leading ``'``.

    OWASP's rule for CSV files opened in a spreadsheet: the apostrophe makes Excel and
    LibreOffice show the cell as text instead of running it (``=HYPERLINK(...)``).
    Only text columns are touched; numbers (e.g. a negative amount) stay numbers.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) \
                or pd.api.types.is_datetime64_any_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def write_csv(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as a CSV a manager can open in Excel: no index, UTF-8 with a BOM
    (so Korean and accented names open cleanly), formula-like text neutralised
    (:func:`neutralise_formulas`)."""
    path = Path(path)
    tmp = _temporary(path)
    neutralise_formulas(frame).to_csv(tmp, index=False, encoding="utf-8-sig")
    tmp.replace(path)
    return path
