"""A purchase log prepared once for customer features at many cutoffs: :class:`CustomerLog`.

The customer features (:func:`crmlib.core.features.purchase_features`), churn labels and
spend windows are read at several cutoffs per page (the activity model's training and
scoring cutoffs, each backtest cutoff, the stacked training snapshots). Grouping 10M
string-keyed rows with pandas at every cutoff costs ~50 s each; a :class:`CustomerLog`
pays the string work (factorizing ids, one sort) once, after which every cutoff is a few
numpy passes (a mask ``day < cutoff``, ``np.bincount``) over compact integer arrays.

What it holds
-------------
*Units*: runs of consecutive rows of one customer with the same invoice, the same
calendar day and the same "at midnight or later in the day" flag (an export lists an
invoice's lines together, so a unit is usually one invoice: 3 lines per unit in the
Online Retail data). Units are sorted by customer (codes ordered like the sorted ids),
then by their latest row's timestamp and position, so the units of a customer dated
before any cutoff are the first ones of that customer (a prefix). Per unit:

========================  =======  ==========================================================
``code``                  int32    customer (index into ``ids``)
``day``                   int32    calendar day (days since 1970-01-01)
``age_day``               int32    ``day`` + 1 when the rows have a time after midnight: the
                                   ``(cutoff - invoice_date).days`` age is ``cutoff - age_day``
``amount``                float64  summed amount
``quantity``              float64  summed quantity (missing counts 0); ``None`` without the column
``invoice``               int32    invoice code (-1: missing invoice id)
``first_of_invoice``      bool     the earliest unit of its (customer, invoice) pair
``gap``                   int32    days since the customer's previous purchase day when the
                                   unit starts a new purchase day (else 0)
``country``               int32    country code of the unit's latest row (-1: missing); ``None``
                                   without the column; names in ``countries``
========================  =======  ==========================================================

Per (customer, product) pair: ``product_customer`` (int32) and ``product_first_day``
(int32, the first day the customer bought the product); ``None`` without a product
column. ``ids`` are the customer ids as strings (``astype(str)``), sorted.

Memory: 41 bytes per unit + 8 per (customer, product) pair + the ids: about 20 bytes per
input line on invoice-ordered exports (10M lines: ~200 MB); the preparation's temporary
arrays peak at about 100 bytes per line (10M lines: ~1 GB on top of the frame).

Assumptions: rows follow the data contract (a date on every row with a customer id, an
amount); rows without a customer id are left out; the "latest row" of a customer is
the one with the latest timestamp, ties going to the row further down the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.summaries import _argsort_labels, factorize_ids
from crmlib.core.validation import require_columns
from crmlib.errors import DataError

DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, eq=False)
class CustomerLog:
    """Compact, sorted integer arrays of a purchase log (see the module docstring).

    Build it with :meth:`from_transactions`; read it at a cutoff with :meth:`before`.
    """

    ids: pd.Index
    customer_start: np.ndarray          # int64, n_customers + 1 offsets into the units
    code: np.ndarray
    day: np.ndarray
    age_day: np.ndarray
    amount: np.ndarray
    quantity: np.ndarray | None
    invoice: np.ndarray
    first_of_invoice: np.ndarray
    invoices_span_days: bool            # some invoice has units on different (age) days
    gap: np.ndarray
    country: np.ndarray | None
    countries: np.ndarray | None
    product_customer: np.ndarray | None
    product_first_day: np.ndarray | None

    @property
    def n_customers(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the ids' strings not counted)."""
        arrays = (self.customer_start, self.code, self.day, self.age_day, self.amount, self.quantity, self.invoice,
                  self.first_of_invoice, self.gap, self.country, self.product_customer, self.product_first_day)
        return int(sum(a.nbytes for a in arrays if a is not None))

    def before(self, cutoff: Any) -> np.ndarray:
        """Boolean mask of the units dated before ``cutoff`` (a calendar day)."""
        return self.day < day_number(cutoff)

    def units_per_customer(self, mask: np.ndarray) -> np.ndarray:
        """Number of units under ``mask`` per customer code."""
        return np.bincount(self.code[mask], minlength=self.n_customers)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_transactions(cls, transactions: pd.DataFrame) -> "CustomerLog":
        """Prepare a cleaned transactions frame (``customer_id``, ``invoice_id``,
        ``invoice_date``, ``amount``; ``quantity``, ``product_id``, ``country`` used when
        present). Raises :class:`DataError` on a missing date or amount of a customer's row."""
        require_columns(transactions, ("amount", "customer_id", "invoice_date", "invoice_id"), "customer features")
        if not pd.api.types.is_datetime64_any_dtype(transactions["invoice_date"]):
            raise DataError("invoice_date is not a date column", column="invoice_date")
        customer, ids = _customer_codes(transactions["customer_id"])
        rows = None if (customer >= 0).all() else np.flatnonzero(customer >= 0)
        customer = customer if rows is None else customer[rows]
        ts = _rows(transactions["invoice_date"].to_numpy(dtype="datetime64[ns]").view("int64"), rows)
        if (ts == np.iinfo("int64").min).any():
            raise DataError("missing or unreadable purchase dates", column="invoice_date")
        day = (ts // DAY_NS).astype("int32")
        units = _units(transactions, rows, customer, ts, day)
        del ts
        customer_start = np.searchsorted(units["code"], np.arange(len(ids) + 1)).astype("int64")
        is_first_unit = np.zeros(len(units["code"]), dtype=bool)
        is_first_unit[customer_start[:-1][customer_start[:-1] < len(units["code"])]] = True
        gap = np.zeros(len(units["code"]), dtype="int32")
        gap[1:] = np.where(is_first_unit[1:], 0, np.diff(units["day"]))
        first_of_invoice, spans = _first_of_invoice(units["code"], units["invoice"], units["day"], units["age_day"])
        product_customer = product_first_day = None
        if "product_id" in transactions.columns:
            product = _rows(factorize_ids(transactions["product_id"])[0].astype("int32"), rows)
            product_customer, product_first_day = _first_purchase_days(customer, product, day)
        return cls(ids=ids, customer_start=customer_start, invoices_span_days=spans, gap=gap,
                   first_of_invoice=first_of_invoice, product_customer=product_customer,
                   product_first_day=product_first_day, **units)


def _rows(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _units(transactions: pd.DataFrame, rows: np.ndarray | None, customer: np.ndarray, ts: np.ndarray,
           day: np.ndarray) -> dict[str, Any]:
    """The unit arrays (runs of consecutive rows with one customer, invoice, day and
    midnight flag), sorted by customer, latest time, position; ``countries`` too."""
    amount = _rows(pd.to_numeric(transactions["amount"], errors="coerce").to_numpy(dtype="float64"), rows)
    if np.isnan(amount).any():
        raise DataError("missing or non-numeric amounts", column="amount")
    invoice = _rows(factorize_ids(transactions["invoice_id"])[0].astype("int32"), rows)
    late = (ts - day.astype("int64") * DAY_NS) != 0        # a time of day after midnight
    n = len(ts)
    heads = np.ones(n, dtype=bool)
    if n > 1:
        heads[1:] = ((customer[1:] != customer[:-1]) | (invoice[1:] != invoice[:-1]) | (day[1:] != day[:-1])
                     | (late[1:] != late[:-1]))
    starts = np.flatnonzero(heads)
    del heads
    unit_of_row = np.repeat(np.arange(len(starts), dtype="int32"), np.diff(np.r_[starts, n]))
    latest_ts = np.maximum.reduceat(ts, starts) if n else ts
    at_latest = np.flatnonzero(ts == latest_ts[unit_of_row])   # rows at their unit's latest time
    last = np.ones(len(at_latest), dtype=bool)
    last[:-1] = unit_of_row[at_latest[1:]] != unit_of_row[at_latest[:-1]]
    latest_row = at_latest[last]                                # one per unit: the latest, lowest in the file
    del unit_of_row, at_latest, last
    order = np.lexsort((latest_row, latest_ts, customer[starts]))
    first = starts[order]
    u_day = day[first]
    units: dict[str, Any] = {
        "code": customer[first].astype("int32"), "day": u_day, "age_day": (u_day + late[first]).astype("int32"),
        "amount": (np.add.reduceat(amount, starts) if n else amount)[order], "invoice": invoice[first],
        "quantity": None, "country": None, "countries": None,
    }
    del amount, invoice, late
    if "quantity" in transactions.columns:
        quantity = _rows(pd.to_numeric(transactions["quantity"], errors="coerce").to_numpy(dtype="float64"), rows)
        quantity = np.nan_to_num(quantity, nan=0.0)
        units["quantity"] = (np.add.reduceat(quantity, starts) if n else quantity)[order]
    if "country" in transactions.columns:
        country_code, country_names = pd.factorize(transactions["country"], sort=False)
        units["country"] = _rows(country_code, rows)[latest_row[order]].astype("int32")
        units["countries"] = np.asarray(pd.Index(country_names).astype(str), dtype=object)
    return units


def keep_rows(frame: pd.DataFrame, mask: Any) -> pd.DataFrame:
    """``frame[mask]``, or ``frame`` itself when every row is kept.

    Boolean indexing copies every column even when nothing is dropped; at 10M lines a
    copy of the log is ~0.8 GB, and the models filter the same log many times (by
    customer id, by cutoff), so the pages' memory peaks were mostly such copies.
    """
    mask = np.asarray(mask, dtype=bool)
    return frame if mask.all() else frame[mask]


def day_number(value: Any) -> int:
    """A date's calendar day as days since 1970-01-01."""
    return int(np.datetime64(pd.Timestamp(value).date(), "D").astype("int64"))


def as_customer_log(transactions: "pd.DataFrame | CustomerLog") -> CustomerLog:
    """``transactions`` itself when it is a :class:`CustomerLog`, else the log prepared from it."""
    if isinstance(transactions, CustomerLog):
        return transactions
    return CustomerLog.from_transactions(transactions)


def _customer_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (-1 for a missing id) into the sorted ids; the ids are the values' ``astype(str)``
    (ids that become the same string - 17850 and "17850" - are one customer, as in pandas)."""
    codes, uniques = factorize_ids(values)
    labels = pd.Index(uniques).astype(str)
    if not labels.is_unique:
        merged, labels = pd.factorize(labels, sort=False)
        labels = pd.Index(labels)
        codes = np.where(codes >= 0, merged[np.maximum(codes, 0)], -1)
    order = _argsort_labels(labels)
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    return codes, labels.take(order).rename("customer_id")


def _first_of_invoice(code: np.ndarray, invoice: np.ndarray, day: np.ndarray, age_day: np.ndarray
                      ) -> tuple[np.ndarray, bool]:
    """Per unit (sorted by customer and time): is it the earliest of its (customer, invoice)
    pair; and does any pair have units on different days (then window counts need a unique)."""
    first = np.zeros(len(code), dtype=bool)
    known = np.flatnonzero(invoice >= 0)
    if not len(known):
        return first, False
    pair = code[known].astype("int64") * np.int64(invoice.max() + 1) + invoice[known]
    order = np.argsort(pair, kind="stable")          # stable: time order inside a pair
    pair, units = pair[order], known[order]
    new = np.ones(len(pair), dtype=bool)
    new[1:] = pair[1:] != pair[:-1]
    first[units[new]] = True
    same = ~new[1:]
    spans = bool((same & ((day[units[1:]] != day[units[:-1]]) | (age_day[units[1:]] != age_day[units[:-1]]))).any())
    return first, spans


def _first_purchase_days(customer: np.ndarray, product: np.ndarray, day: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(customer code, first day) of every (customer, product) pair, sorted by customer."""
    known = product >= 0
    c, p, d = (customer, product, day) if known.all() else (customer[known], product[known], day[known])
    if not len(c):
        return np.array([], dtype="int32"), np.array([], dtype="int32")
    n_products = np.int64(p.max() + 1)
    d0 = np.int64(d.min())
    span = np.int64(d.max()) - d0 + 1
    pair = c.astype("int64") * n_products + p
    if int(pair.max()).bit_length() + int(span).bit_length() <= 63:
        pair *= span
        pair += d - d0
        pair.sort()                                    # pair, then day: the first of a pair is its first day
        pair_of = pair // span
        new = np.ones(len(pair_of), dtype=bool)
        new[1:] = pair_of[1:] != pair_of[:-1]
        first_day = pair[new] % span + d0
    else:
        order = np.lexsort((d, pair))
        pair_of = pair[order]
        new = np.ones(len(pair_of), dtype=bool)
        new[1:] = pair_of[1:] != pair_of[:-1]
        first_day = d[order][new]
    return (pair_of[new] // n_products).astype("int32"), first_day.astype("int32")
