"""Customer summaries shared by every page: the BTYD form, RFM facts, RFM scores and segments.

Everything here is vectorised (numpy / pandas groupby); there is no per-customer
Python loop. Used by the segmentation, CLV and churn pages and by the core's BTYD
fitting and customer features.

* :func:`btyd_summary` (lifetimes' frequency / recency / T / monetary_value),
  :func:`customer_summary` (RFM facts + BTYD form), :func:`inter_purchase_days`;
* RFM: :func:`rfm_scores`; segment map: :data:`DEFAULT_SEGMENT_MAP`,
  :func:`load_segment_map` (checks ``workbook.yml`` ``segments:``, whose only key is
  ``map``), :func:`segment_grid`, :func:`assign_segments`.

Purchase occasions
------------------
A customer's *purchase occasion* is a calendar day on which they bought anything:
several invoices (or invoice lines) on the same day are one occasion, exactly as
``lifetimes.utils.summary_data_from_transaction_data`` merges same-period purchases
with ``freq="D"``. Both :func:`btyd_summary` and :func:`customer_summary` are built on
one private day-level computation (:func:`_day_summary`), so they always agree.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError, DataError

#: time units of the BTYD summary: days per unit. "W" is fractional weeks (days / 7),
#: the convention of the published CDNOW summary in lifetimes (freq="D", freq_multiplier=7).
TIME_UNITS: dict[str, int] = {"D": 1, "W": 7}


def _as_timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: cannot read '{value}' as a date (use YYYY-MM-DD)") from None


def _sort_with_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(np.sort(key), order)`` for non-negative int64 keys, fast.

    When key and row number fit together in 63 bits they are packed into one int64 and
    sorted by value (numpy's SIMD sort, about 7x faster than ``argsort`` on 10M rows);
    otherwise ``argsort`` is used.
    """
    n = len(key)
    idx_bits = max(int(n - 1).bit_length(), 1)
    if n and int(key.max()).bit_length() + idx_bits <= 63:
        packed = np.sort((key << idx_bits) | np.arange(n, dtype="int64"))
        return packed >> idx_bits, packed & ((1 << idx_bits) - 1)
    order = np.argsort(key)
    return key[order], order


class _Occasions(NamedTuple):
    """Purchase occasions sorted by customer then day (see :func:`_occasions`)."""

    code: np.ndarray         # index into ``ids``
    day: np.ndarray          # days since 1970-01-01
    amount: np.ndarray       # summed amount of the occasion
    ids: pd.Index            # sorted customer ids
    as_of: pd.Timestamp
    orders: np.ndarray | None  # distinct invoices per customer (aligned with ``ids``), when asked


def _occasions(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str | None = "amount",
    start: Any = None,
    invoice_col: str | None = None,
) -> _Occasions:
    """Purchase occasions (customer, calendar day, summed amount), sorted by customer then day.

    ``code`` indexes ``ids`` (the sorted customer ids), ``day`` is in days since
    1970-01-01. Rows with a missing customer id, before ``start`` or after ``as_of``
    (compared by calendar day) are ignored. With ``invoice_col`` the distinct non-missing
    invoice ids of each customer are counted in the same pass (``orders``).
    """
    needed = [customer_col, date_col] + ([amount_col] if amount_col else [])
    require_columns(transactions, needed, "the customer summary",
                    hint=f"columns present: {', '.join(map(str, transactions.columns))}")
    customers = transactions[customer_col]
    invoices = transactions[invoice_col] if invoice_col else None
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
    else:
        amounts = np.zeros(len(days))
    if not keep.all():  # filter only when needed: copying 10M strings is not free
        customers, days, amounts = customers[keep], days[keep], amounts[keep]
        invoices = invoices[keep] if invoices is not None else None
    # Exports list an invoice's lines together: merging runs of consecutive rows with the
    # same customer, day (and invoice) first is exact (sums add up, an invoice stays one)
    # and leaves the string hashing and the sort below far fewer rows (3-5x fewer).
    if len(days) > 1:
        heads = customers.ne(customers.shift()).to_numpy() | np.r_[True, days[1:] != days[:-1]]
        if invoices is not None:
            heads |= invoices.ne(invoices.shift()).to_numpy(dtype=bool, na_value=True)
        if heads.mean() < 0.8:
            starts = np.flatnonzero(heads)
            customers, days, amounts = customers.iloc[starts], days[starts], np.add.reduceat(amounts, starts)
            invoices = invoices.iloc[starts] if invoices is not None else None

    # customer codes ordered like the sorted ids (hash factorize, then sort only the ids)
    codes, uniques = factorize_ids(customers)
    if len(codes) == 0:
        empty = np.array([], dtype="int64")
        return _Occasions(empty, empty, np.array([], dtype="float64"), np.asarray(uniques), as_of_ts,
                          empty if invoices is not None else None)
    id_order = _argsort_labels(uniques)
    rank = np.empty(len(id_order), dtype="int64")
    rank[id_order] = np.arange(len(id_order))
    customer_rank = rank[codes]
    day_num = days.astype("int64")

    # one int64 key per (customer, day); one sort groups rows into occasions by customer, then day
    d0 = day_num.min()
    span = np.int64(day_num.max() - d0 + 1)
    key = customer_rank * span + (day_num - d0)
    key, order = _sort_with_order(key)
    occ_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    occ_amount = np.add.reduceat(amounts[order], occ_start)
    occ_key = key[occ_start]
    orders = None if invoices is None else _distinct_per_customer(customer_rank, invoices, len(id_order))
    return _Occasions(occ_key // span, occ_key % span + d0, occ_amount, pd.Index(uniques).take(id_order),
                      as_of_ts, orders)


def factorize_ids(values: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values)`` (codes, -1 for missing; uniques), faster for digit ids.

    Customer and invoice ids are often digit strings ("17850", "536365"). When every
    present value reads as an int64 *and* writes back as exactly the same string (no
    leading zeros, signs or spaces), the ints are factorized instead of the strings
    (hashing ints is several times cheaper); the uniques are given back as the original
    strings. Any other column is factorized as it is.
    """
    array = values.array
    if isinstance(array, pd.arrays.ArrowStringArray) and len(array):
        text = pa.chunked_array(array._pa_array)
        try:
            numbers = pc.cast(text, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            numbers = None
        if numbers is not None and pc.all(pc.equal(pc.cast(numbers, text.type), text)).as_py() is not False:
            present = pc.is_valid(numbers).to_numpy(zero_copy_only=False)
            ints = numbers.fill_null(0).to_numpy()
            if present.all():
                codes, unique_ints = pd.factorize(ints, sort=False)
            else:
                codes = np.full(len(ints), -1, dtype="int64")
                codes[present], unique_ints = pd.factorize(ints[present], sort=False)
            labels = pd.Index(pd.Series(pa.array(unique_ints).cast(text.type), dtype=values.dtype))
            return codes.astype("int64"), labels
    return pd.factorize(values, sort=False)


def _argsort_labels(labels: pd.Index) -> np.ndarray:
    """``labels.argsort()``; Arrow's sort for Arrow strings (10x faster than pandas' there,
    same order: UTF-8 bytes sort like code points, as Python sorts str)."""
    values = getattr(labels, "array", labels)
    if isinstance(values, pd.arrays.ArrowStringArray):
        return pc.array_sort_indices(pa.chunked_array(values._pa_array)).to_numpy().astype("int64")
    return np.asarray(pd.Index(labels).argsort(), dtype="int64")


def _distinct_per_customer(customer_rank: np.ndarray, values: pd.Series, n_customers: int) -> np.ndarray:
    """Number of distinct non-missing ``values`` per customer rank (0..n_customers-1)."""
    value_code, value_uniques = factorize_ids(values)  # -1 = missing
    known = value_code >= 0
    pair = customer_rank[known] * np.int64(max(len(value_uniques), 1)) + value_code[known]
    pair = np.sort(pair)
    first = np.r_[True, pair[1:] != pair[:-1]] if len(pair) else np.array([], dtype=bool)
    return np.bincount(pair[first] // max(len(value_uniques), 1), minlength=n_customers).astype("int64")


def _day_summary(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "invoice_date",
    amount_col: str | None = "amount",
    start: Any = None,
    invoice_col: str | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Per-customer day-level facts: the one computation behind both summaries.

    Returns ``(frame, as_of)`` where ``frame`` is indexed by customer id (sorted) with
    ``first_day``, ``previous_day`` (the occasion before the last; NaT with one),
    ``last_day``, ``occasions`` (distinct purchase days), ``total`` (spend) and
    ``repeat_total`` (spend on all but the first occasion); with ``invoice_col`` also
    ``orders`` (distinct invoice ids). These are the *day facts* that
    :func:`customer_summary_from_days` turns into the customer summary (the row-level
    engines in :mod:`crmlib.core.engine` compute the same frame).
    """
    occ = _occasions(transactions, as_of, customer_col=customer_col, date_col=date_col,
                     amount_col=amount_col, start=start, invoice_col=invoice_col)
    occ_code, occ_day, occ_amount, ids, as_of_ts = occ.code, occ.day, occ.amount, occ.ids, occ.as_of
    if len(occ_code) == 0:
        return empty_day_facts(customer_col, with_orders=invoice_col is not None), as_of_ts

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
        index=pd.Index(ids, name=customer_col),  # every id has an occasion: one row each, in order
    )
    if occ.orders is not None:
        frame["orders"] = occ.orders
    return frame, as_of_ts


def day_facts(transactions: pd.DataFrame, as_of: Any, *, invoice_col: str | None = "invoice_id") -> pd.DataFrame:
    """Per-customer day facts at ``as_of`` (:data:`DAY_FACT_DTYPES`), indexed by sorted customer id.

    The pandas form of :func:`crmlib.core.engine.customer_day_facts`; ``orders`` is left
    out when ``invoice_col`` is ``None`` or not a column.
    """
    invoice_col = invoice_col if invoice_col in transactions.columns else None
    return _day_summary(transactions, as_of, invoice_col=invoice_col)[0]


#: Columns and dtypes of the day facts (:func:`_day_summary`, the engines' customer facts).
DAY_FACT_DTYPES: dict[str, str] = {
    "first_day": "datetime64[s]", "previous_day": "datetime64[s]", "last_day": "datetime64[s]",
    "occasions": "int64", "total": "float64", "repeat_total": "float64", "orders": "int64",
}


def empty_day_facts(customer_col: str = "customer_id", *, with_orders: bool = True) -> pd.DataFrame:
    """Day facts of no customer (the right columns and dtypes)."""
    dtypes = {k: v for k, v in DAY_FACT_DTYPES.items() if with_orders or k != "orders"}
    return pd.DataFrame(columns=list(dtypes), index=pd.Index([], name=customer_col, dtype=object)).astype(dtypes)


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
    occ = _occasions(transactions, as_of, customer_col=customer_col, date_col=date_col, amount_col=None)
    same = occ.code[1:] == occ.code[:-1]
    return np.diff(occ.day)[same].astype("int64")


def _day_numbers(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[D]").astype("int64")


def _btyd_columns(days: pd.DataFrame, as_of: pd.Timestamp, time_unit: str) -> dict[str, np.ndarray]:
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"time_unit: unknown value '{time_unit}'; allowed: {', '.join(TIME_UNITS)}")
    unit = TIME_UNITS[time_unit]
    first = _day_numbers(days["first_day"])
    frequency = days["occasions"].to_numpy(dtype="float64") - 1.0
    repeat_total = days["repeat_total"].to_numpy(dtype="float64")
    return {
        "frequency": frequency,
        "recency": (_day_numbers(days["last_day"]) - first) / unit,
        "T": (np.datetime64(as_of.date(), "D").astype("int64") - first) / unit,
        "monetary_value": np.where(frequency > 0, repeat_total / np.where(frequency > 0, frequency, 1.0), 0.0),
    }


def _btyd_from_days(days: pd.DataFrame, as_of: pd.Timestamp, time_unit: str) -> pd.DataFrame:
    return pd.DataFrame(_btyd_columns(days, as_of, time_unit), index=days.index).astype("float64")


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
    amount > 0); 2. rows without a customer id or after ``as_of`` are ignored; 3. without
    an ``invoice_col`` column an occasion is the best available order count.
    """
    with_invoices = invoice_col in transactions.columns
    days, as_of_ts = _day_summary(transactions, as_of, customer_col=customer_col, date_col=date_col,
                                  amount_col=amount_col, invoice_col=invoice_col if with_invoices else None)
    return customer_summary_from_days(days, as_of_ts, time_unit=time_unit)


def customer_summary_from_days(days: pd.DataFrame, as_of: Any, *, time_unit: str = "W") -> pd.DataFrame:
    """The customer summary (:func:`customer_summary`'s columns) from per-customer day facts.

    ``days`` has :data:`DAY_FACT_DTYPES`' columns (``orders`` optional: the number of
    purchase days stands in for it), indexed by customer id, as :func:`_day_summary` and
    the row-level engines (:func:`crmlib.core.engine.customer_day_facts`) return them.
    """
    as_of_ts = _as_timestamp(as_of, "as_of")
    as_of_day = np.datetime64(as_of_ts.date(), "D").astype("int64")
    monetary = days["total"].to_numpy(dtype="float64")
    orders = days["orders" if "orders" in days.columns else "occasions"].to_numpy(dtype="int64")
    columns = {
        "first_purchase": days["first_day"].to_numpy(),
        "previous_purchase": days["previous_day"].to_numpy(),
        "last_purchase": days["last_day"].to_numpy(),
        "recency_days": as_of_day - _day_numbers(days["last_day"]),
        "frequency": days["occasions"].to_numpy(dtype="int64"),
        "monetary": monetary,
        "orders": orders,
        "avg_order_value": monetary / np.where(orders > 0, orders, np.nan),
        "tenure_days": as_of_day - _day_numbers(days["first_day"]),
    }
    columns.update({f"btyd_{k}": v for k, v in _btyd_columns(days, as_of_ts, time_unit).items()})
    return pd.DataFrame(columns, index=days.index)


from crmlib.core.rfm import (  # noqa: E402,F401  (RFM and segments live in their own module)
    RFM_BINS, rfm_scores, DEFAULT_SEGMENT_MAP, SEGMENTS_CONFIG_KEYS, SEGMENT_SPEC_KEYS, load_segment_map, segment_grid, assign_segments,
)
