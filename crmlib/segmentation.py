"""Customer segmentation: customer summary (RFM and BTYD form), RFM scores, named
segments, behavioural clusters, life-cycle stages, cohorts and value concentration.

Everything here is vectorised (numpy / pandas groupby); there is no per-customer
Python loop. Notebook ``02_segmentation`` only calls these functions.

Purchase occasions
------------------
A customer's *purchase occasion* is a calendar day on which they bought anything:
several invoices (or invoice lines) on the same day are one occasion, exactly as
``lifetimes.utils.summary_data_from_transaction_data`` merges same-period purchases
with ``freq="D"``. Both :func:`btyd_summary` and :func:`customer_summary` are built on
one private day-level computation (:func:`_day_summary`), so they always agree.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.errors import ConfigError, DataError

#: time units of the BTYD summary: days per unit. "W" is fractional weeks (days / 7),
#: the convention of the published CDNOW summary in lifetimes (freq="D", freq_multiplier=7).
TIME_UNITS: dict[str, int] = {"D": 1, "W": 7}


# --------------------------------------------------------------------------- summaries
def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: cannot read '{value}' as a date (use YYYY-MM-DD)") from None


def _occasions(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str | None = "amount",
    start: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.Timestamp]:
    """Purchase occasions (customer, calendar day, summed amount), sorted by customer then day.

    Returns ``(code, day, amount, ids, as_of)``: ``code`` indexes ``ids`` (the sorted
    customer ids), ``day`` is in days since 1970-01-01. Rows with a missing customer id,
    before ``start`` or after ``as_of`` (compared by calendar day) are ignored.
    """
    needed = [customer_col, date_col] + ([amount_col] if amount_col else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise DataError(
            "required column missing from the transactions",
            column=missing[0],
            hint=f"columns present: {', '.join(map(str, transactions.columns))}",
        )
    customers = transactions[customer_col]
    keep = customers.notna().to_numpy().copy()
    try:
        dates = pd.to_datetime(transactions[date_col])
    except (ValueError, TypeError):
        raise DataError("dates cannot be read", column=date_col,
                        examples=transactions[date_col].head(5).tolist()) from None
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    bad = np.isnat(days) & keep
    if bad.any():
        raise DataError("missing or unreadable purchase dates", column=date_col,
                        examples=transactions.loc[bad, needed].head(5).to_dict("records"))
    if as_of is None:
        as_of_ts = pd.Timestamp(days[keep].max()) if keep.any() else pd.Timestamp("today")
    else:
        as_of_ts = _as_timestamp(as_of, "as_of")
    keep &= days <= np.datetime64(as_of_ts.date(), "D")
    if start is not None:
        keep &= days >= np.datetime64(_as_timestamp(start, "start").date(), "D")

    if amount_col:
        amounts = pd.to_numeric(transactions[amount_col], errors="coerce").to_numpy(dtype="float64")
        bad = np.isnan(amounts) & keep
        if bad.any():
            raise DataError("missing or non-numeric amounts", column=amount_col,
                            examples=transactions.loc[bad, needed].head(5).to_dict("records"))
        amounts = amounts[keep]
    else:
        amounts = np.zeros(int(keep.sum()))

    # customer codes ordered like the sorted ids (hash factorize, then sort only the ids)
    codes, uniques = pd.factorize(customers[keep], sort=False)
    if len(codes) == 0:
        empty = np.array([], dtype="int64")
        return empty, empty, np.array([], dtype="float64"), np.asarray(uniques), as_of_ts
    id_order = pd.Index(uniques).argsort()
    rank = np.empty(len(id_order), dtype="int64")
    rank[id_order] = np.arange(len(id_order))
    day_num = days[keep].astype("int64")

    # one int64 key per (customer, day); one sort groups rows into occasions by customer, then day
    d0 = day_num.min()
    span = np.int64(day_num.max() - d0 + 1)
    key = rank[codes] * span + (day_num - d0)
    order = np.argsort(key)
    key = key[order]
    occ_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    occ_amount = np.add.reduceat(amounts[order], occ_start)
    occ_key = key[occ_start]
    occ_code = occ_key // span
    occ_day = occ_key % span + d0
    return occ_code, occ_day, occ_amount, np.asarray(uniques)[id_order], as_of_ts


def _day_summary(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str | None = "amount",
    start: Any = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Per-customer day-level facts: the one computation behind both summaries.

    Returns ``(frame, as_of)`` where ``frame`` is indexed by customer id (sorted) with
    ``first_day``, ``previous_day`` (the occasion before the last; NaT with one),
    ``last_day``, ``occasions`` (distinct purchase days), ``total`` (spend) and
    ``repeat_total`` (spend on all but the first occasion).
    """
    occ_code, occ_day, occ_amount, ids, as_of_ts = _occasions(
        transactions, as_of, customer_col=customer_col, date_col=date_col, amount_col=amount_col, start=start)
    if len(occ_code) == 0:
        empty = pd.DataFrame(columns=["first_day", "previous_day", "last_day", "occasions", "total",
                                      "repeat_total"], index=pd.Index(ids, name=customer_col))
        return empty.astype({"first_day": "datetime64[s]", "previous_day": "datetime64[s]",
                             "last_day": "datetime64[s]", "occasions": "int64", "total": "float64",
                             "repeat_total": "float64"}), as_of_ts

    def as_date(day_numbers: np.ndarray) -> np.ndarray:
        return day_numbers.astype("datetime64[D]").astype("datetime64[s]")

    cust_start = np.flatnonzero(np.r_[True, occ_code[1:] != occ_code[:-1]])
    cust_end = np.r_[cust_start[1:], len(occ_code)] - 1
    occasions = cust_end - cust_start + 1
    previous = as_date(occ_day[np.maximum(cust_end - 1, cust_start)])
    previous[occasions == 1] = np.datetime64("NaT")
    repeat_amount = occ_amount.copy()
    repeat_amount[cust_start] = 0.0
    frame = pd.DataFrame(
        {
            "first_day": as_date(occ_day[cust_start]),
            "previous_day": previous,
            "last_day": as_date(occ_day[cust_end]),
            "occasions": occasions.astype("int64"),
            "total": np.add.reduceat(occ_amount, cust_start),
            "repeat_total": np.add.reduceat(repeat_amount, cust_start),
        },
        index=pd.Index(ids[occ_code[cust_start]], name=customer_col),
    )
    return frame, as_of_ts


def inter_purchase_days(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
) -> np.ndarray:
    """Days between consecutive purchase occasions of the same customer (all customers pooled).

    A purchase occasion is a calendar day, as in :func:`btyd_summary`; the result is
    the data's inter-purchase-time distribution, used for life-cycle thresholds.
    """
    occ_code, occ_day, _, _, _ = _occasions(transactions, as_of, customer_col=customer_col,
                                            date_col=date_col, amount_col=None)
    same = occ_code[1:] == occ_code[:-1]
    return np.diff(occ_day)[same].astype("int64")


def _btyd_from_days(days: pd.DataFrame, as_of: pd.Timestamp, time_unit: str) -> pd.DataFrame:
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"time_unit: unknown value '{time_unit}'; allowed: {', '.join(TIME_UNITS)}")
    unit = TIME_UNITS[time_unit]
    day = np.timedelta64(1, "D")
    frequency = (days["occasions"] - 1).astype("float64")
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (days["last_day"] - days["first_day"]) / day / unit,
            "T": (as_of - days["first_day"]) / day / unit,
            "monetary_value": np.where(frequency > 0, days["repeat_total"] / frequency.where(frequency > 0, 1.0), 0.0),
        },
        index=days.index,
    )
    return out.astype("float64")


def btyd_summary(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str | None = "amount",
    start: Any = None,
) -> pd.DataFrame:
    """Per-customer ``frequency, recency, T, monetary_value`` for the BTYD models.

    The same numbers as ``lifetimes.utils.summary_data_from_transaction_data(...,
    freq="D", freq_multiplier=1 or 7, monetary_value_col=amount_col,
    observation_period_end=as_of)``, computed with one sort instead of lifetimes'
    period conversions (see ``benchmarks/bench_summary.py``).

    Assumptions and conventions (lifetimes', Fader, Hardie & Lee 2005, "Counting your
    customers the easy way", Marketing Science 24(2)):

    1. A purchase occasion is a calendar day: all of a customer's purchases on one day
       are merged into one occasion whose value is their sum.
    2. ``frequency`` is the number of *repeat* occasions (occasions minus one).
    3. ``recency`` is the time from the first to the last occasion; ``T`` the time
       from the first occasion to ``as_of``; both in ``time_unit``: ``"D"`` days or
       ``"W"`` fractional weeks (days / 7, which reproduces lifetimes' published CDNOW
       summary ``load_cdnow_summary_data_with_monetary_value``, calibration end
       1997-09-30).
    4. ``monetary_value`` is the mean value of the repeat occasions (the first is
       left out, as the Gamma-Gamma model expects); 0 for customers without repeats.
    5. Rows after ``as_of`` (by calendar day) or before ``start`` (when given) are
       ignored; rows with a missing customer id are dropped; customers without a
       purchase in that window are absent.

    Returns a float frame indexed by customer id (sorted). With ``amount_col=None``
    the ``monetary_value`` column is left out.
    """
    days, as_of_ts = _day_summary(transactions, as_of, customer_col=customer_col, date_col=date_col,
                                  amount_col=amount_col, start=start)
    out = _btyd_from_days(days, as_of_ts, time_unit)
    return out if amount_col else out.drop(columns="monetary_value")


def customer_summary(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str = "amount",
    invoice_col: str = "invoice_id",
) -> pd.DataFrame:
    """One row per customer: RFM facts and the BTYD form, at ``as_of``.

    Columns: ``first_purchase``, ``previous_purchase`` (the purchase day before the
    last one; NaT for one-day customers), ``last_purchase`` (dates), ``recency_days`` (days
    from the last purchase to ``as_of``), ``frequency`` (distinct purchase *days*,
    i.e. purchase occasions: two invoices on one day count once), ``monetary``
    (total spend), ``orders`` (distinct invoices), ``avg_order_value`` (monetary /
    orders), ``tenure_days`` (days from the first purchase to ``as_of``), and
    ``btyd_frequency``, ``btyd_recency``, ``btyd_T``, ``btyd_monetary_value`` from
    the same computation as :func:`btyd_summary` (in ``time_unit``).

    Assumptions: 1. the transactions follow the data contract (purchases only,
    amount > 0); 2. rows without a customer id or after ``as_of`` are ignored.
    """
    days, as_of_ts = _day_summary(transactions, as_of, customer_col=customer_col, date_col=date_col,
                                  amount_col=amount_col)
    btyd = _btyd_from_days(days, as_of_ts, time_unit).add_prefix("btyd_")
    out = pd.DataFrame(index=days.index)
    out["first_purchase"] = days["first_day"]
    out["previous_purchase"] = days["previous_day"]
    out["last_purchase"] = days["last_day"]
    out["recency_days"] = ((as_of_ts - days["last_day"]) / np.timedelta64(1, "D")).astype("int64")
    out["frequency"] = days["occasions"]
    out["monetary"] = days["total"]
    if invoice_col in transactions.columns:
        dates = pd.to_datetime(transactions[date_col]).dt.normalize()
        rows = transactions[customer_col].notna() & (dates <= as_of_ts)
        orders = transactions.loc[rows].groupby(customer_col, observed=True, sort=False)[invoice_col].nunique()
        out["orders"] = orders.reindex(out.index).fillna(0).astype("int64")
    else:  # no invoice ids: an occasion is the best available order count
        out["orders"] = days["occasions"]
    out["avg_order_value"] = out["monetary"] / out["orders"].where(out["orders"] > 0)
    out["tenure_days"] = ((as_of_ts - days["first_day"]) / np.timedelta64(1, "D")).astype("int64")
    return out.join(btyd)
