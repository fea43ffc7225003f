"""The churn page's customer table: stated rules for dirty flags, identifiers and personal data."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crmlib.core.features import LABEL
from crmlib.core.i18n import N_, Message
from crmlib.errors import DataError

#: Customer-table columns never used as features or shown (personal data, identifiers).
PII_PATTERN = re.compile(r"(customer_|full_|first_|last_|sur)?name|e_?mail(_address)?|(tele)?phone(_number)?|"
                         r"mobile(_number)?|(street_|postal_)?address|street|zip(_code)?|post_?code|iban")


TRUE_WORDS = {"yes", "y", "true", "t", "1", "1.0", "churned", "churn", "left", "예", "네"}


FALSE_WORDS = {"no", "n", "false", "f", "0", "0.0", "stayed", "active", "retained", "아니오", "아니요"}


BLANK_WORDS = {"", "na", "n/a", "nan", "none", "null", "-", "?"}


def _blank_to_na(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.mask(text.str.lower().isin(BLANK_WORDS))


def parse_flag(series: pd.Series, column: str = "churned", *, strict: bool = True, file: str | None = None
               ) -> pd.Series:
    """Read a yes/no column as 1.0 / 0.0 (NaN when blank).

    Rules: 1. case and surrounding spaces are ignored; 2. yes/y/true/t/1 (and
    churned/left, Korean 예/네) mean 1, no/n/false/f/0 (and stayed/active/retained,
    Korean 아니오/아니요) mean 0;
    3. blanks, "NA", "null", "-" and "?" are missing; 4. booleans and numbers 0/1 are
    taken as they are; 5. anything else raises :class:`DataError` naming the file (when
    given), the column and examples (``strict=True``) or becomes missing (``strict=False``).
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    text = _blank_to_na(series).str.lower()
    out = pd.Series(np.nan, index=series.index, dtype="float64")
    out[text.isin(TRUE_WORDS).fillna(False).astype(bool)] = 1.0
    out[text.isin(FALSE_WORDS).fillna(False).astype(bool)] = 0.0
    bad = text.notna() & out.isna()
    if bad.any() and strict:
        raise DataError(
            "values are not a yes/no flag",
            file=file,
            column=column,
            examples=[repr(v) for v in series[bad].unique()[:5]],
            hint="use yes/no, true/false, 1/0 or 예/아니오 (blank = unknown)",
        )
    return out


def _is_flag_column(text: pd.Series) -> bool:
    values = set(text.dropna().str.lower().unique())
    return 0 < len(values) <= 2 and values <= (TRUE_WORDS | FALSE_WORDS)


def clean_customer_table(customers: pd.DataFrame, *, label: str = LABEL, file: str | None = None
                         ) -> tuple[pd.DataFrame, list[str]]:
    """Turn a raw customer table into model-ready columns; return it and the rules applied.

    Rules (each applied column by column, stated in the returned notes):
    1. column names become snake_case; ``customer_id`` is kept as a string key;
    2. columns that look like personal data (name, e-mail, phone, address) are dropped;
    3. the label ``churned`` is read with :func:`parse_flag` (rows with a blank label
       are dropped, with a note);
    4. text columns whose values are all yes/no-like become 1/0 flags;
    5. text columns where at least 90 % of the non-blank values are numbers become
       numbers; blanks (e.g. " " in a charges column) and the rest become missing and
       are imputed by the model pipeline (median for the linear model);
    6. date columns become "days before the latest date in the column";
    7. other text columns are categories; those with more than 50 values, or (from 20
       rows on) more than half as many values as rows, are identifiers and are dropped.
    """
    notes: list[str] = []
    frame = customers.copy()
    frame.columns = [re.sub(r"[^0-9a-z]+", "_", str(c).strip().lower()).strip("_") for c in frame.columns]
    original = dict(zip(frame.columns, customers.columns))  # errors name the file's own column
    if "customer_id" not in frame.columns:
        raise DataError("the customer table has no customer_id column", column="customer_id",
                        hint="map it in workbook.yml under customers.columns")
    frame["customer_id"] = _blank_to_na(frame["customer_id"]).str.replace(r"\.0$", "", regex=True)
    frame = frame[frame["customer_id"].notna()].drop_duplicates("customer_id", keep="last")
    pii = [c for c in frame.columns if c != "customer_id" and PII_PATTERN.fullmatch(c)]
    if pii:
        frame = frame.drop(columns=pii)
        notes.append(Message(N_("Dropped personal-data columns: {columns}."), columns=", ".join(pii)))
    if label in frame.columns:
        frame[label] = parse_flag(frame[label], str(original.get(label, label)), file=file)
        blank = int(frame[label].isna().sum())
        if blank:
            frame = frame[frame[label].notna()]
            notes.append(Message(N_("Dropped {count} customers with a blank '{column}' value."), count=blank, column=label))
    for col in [c for c in frame.columns if c not in ("customer_id", label)]:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            frame[col] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            frame[col] = (s.max() - s).dt.days.astype("float64")
            notes.append(Message(N_("'{column}': dates turned into days before the latest date."), column=col))
        elif pd.api.types.is_numeric_dtype(s):
            frame[col] = s.astype("float64")
        else:
            text = _blank_to_na(s)
            n_blank = int((text.isna() & s.notna()).sum())
            if _is_flag_column(text):
                frame[col] = parse_flag(text, str(original.get(col, col)), file=file)
                continue
            number = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
            filled = int(text.notna().sum())
            if filled and number.notna().sum() >= 0.9 * filled:
                bad = int((text.notna() & number.isna()).sum())
                frame[col] = number.astype("float64")
                if n_blank or bad:
                    notes.append(Message(N_("'{column}': {blank} blank and {unreadable} unreadable values treated as "
                                                "missing."), column=col, blank=n_blank, unreadable=bad))
                continue
            n_values = text.nunique()
            if n_values > 50 or (len(frame) >= 20 and n_values > 0.5 * len(frame)):
                frame = frame.drop(columns=col)
                notes.append(Message(N_("'{column}': {count} distinct text values, treated as an identifier and dropped."),
                                     column=col, count=n_values))
            else:
                frame[col] = text.fillna("missing").astype(str)
    return frame.reset_index(drop=True), notes
