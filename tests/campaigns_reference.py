"""The campaign page's id matching and response windows as computed before issue 17.

Kept only as the reference that tests compare the faster versions against.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from crmlib.pages.campaigns.inputs import IdMatch, normalise_ids
from crmlib.pages.campaigns.measure import DEFAULT_RESPONSE_WINDOW_DAYS


def reference_match_ids(campaign_rows: pd.DataFrame, known_customer_ids: Iterable[Any]) -> IdMatch:
    """Match campaign ids to the clean customer ids; count what does not match.

    Rules: 1. both sides are normalised like intake (:func:`normalise_ids`); 2. an exact
    match wins; 3. otherwise an id matching a known id up to upper/lower case is matched
    to it (``upper_ids`` of the cleaning rules upper-cases invoice and product codes, and
    exports differ in case) when that known id is the only one with that spelling;
    4. the rest are unmatched, counted per campaign and group, and left out.
    """
    known = normalise_ids(list(known_customer_ids)).dropna().astype(str)
    known_set = set(known)
    upper = pd.Series(known.to_numpy(), index=known.str.upper().to_numpy())
    upper = upper[~upper.index.duplicated(keep=False)]

    rows = campaign_rows.copy()
    ids = normalise_ids(rows["customer_id"]).astype(str)
    exact = ids.isin(known_set).to_numpy()
    fixed = ids.str.upper().map(upper)
    case_fixed = ~exact & fixed.notna().to_numpy()
    rows["customer_id"] = np.where(exact, ids, fixed.fillna(ids)).astype(str)
    matched = exact | case_fixed
    counts = (rows.assign(matched=matched, unmatched=~matched, case_fixed=case_fixed, rows=1)
              .groupby(["campaign", "group"], sort=False)[["rows", "matched", "unmatched", "case_fixed"]].sum()
              .astype(int).reset_index())
    unmatched = rows.loc[~matched, ["campaign", "group", "customer_id"]].reset_index(drop=True)
    return IdMatch(rows=rows[matched].reset_index(drop=True), unmatched=unmatched, counts=counts)


def reference_known_customer_ids(transactions: pd.DataFrame, source: str | None = None) -> pd.Index:
    """Distinct clean customer ids of the transactions (of one ``source`` when given and present)."""
    tx = transactions
    if source is not None and "source" in tx.columns and (tx["source"] == source).any():
        tx = tx[tx["source"] == source]
    return pd.Index(tx["customer_id"].dropna().astype(str).unique())


def reference_customer_outcomes(rows: pd.DataFrame, transactions: pd.DataFrame, as_of: Any,
                      response_window_days: int = DEFAULT_RESPONSE_WINDOW_DAYS) -> pd.DataFrame:
    """One row per campaign customer: what they bought in their observed response window.

    ``rows`` are one campaign's validated rows (customer_id, group, contact_date, and
    optional score columns); ``transactions`` the clean frame (customer_id, invoice_id,
    invoice_date, amount). Returns the rows plus ``observed_days`` (window days observed
    by ``as_of``, at most ``response_window_days``, 0 when contacted on or after as_of),
    ``orders`` (distinct invoices), ``revenue`` (sum of amount), ``responded`` (at least
    one order) and ``first_response_day`` (1 = the day after contact; NaN without a
    purchase).
    """
    as_of = pd.Timestamp(as_of).normalize()
    out = rows.copy().reset_index(drop=True)
    out["contact_date"] = pd.to_datetime(out["contact_date"]).dt.normalize()
    window_end = (out["contact_date"] + pd.Timedelta(days=response_window_days)).clip(upper=as_of)
    out["observed_days"] = (window_end - out["contact_date"]).dt.days.clip(lower=0).astype(int)

    ids = set(out["customer_id"].astype(str))
    tx = transactions.loc[transactions["customer_id"].notna(), ["customer_id", "invoice_id", "invoice_date", "amount"]]
    tx = tx[tx["customer_id"].astype(str).isin(ids)]
    tx = tx.assign(customer_id=tx["customer_id"].astype(str), day=tx["invoice_date"].dt.normalize())
    joined = tx.merge(out[["customer_id", "contact_date", "observed_days"]], on="customer_id", how="inner")
    joined["days_since_contact"] = (joined["day"] - joined["contact_date"]).dt.days
    inside = joined[(joined["days_since_contact"] >= 1) & (joined["days_since_contact"] <= joined["observed_days"])]
    per = inside.groupby("customer_id").agg(orders=("invoice_id", "nunique"), revenue=("amount", "sum"),
                                            first_response_day=("days_since_contact", "min"))
    out = out.join(per, on="customer_id")
    out["orders"] = out["orders"].fillna(0).astype(int)
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    out["responded"] = out["orders"] > 0
    return out
