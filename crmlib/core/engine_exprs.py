"""The row-level aggregates as Ibis expressions: written once, run on DuckDB and on Spark.

Each function takes an Ibis table with the data contract's columns (``customer_id``,
``invoice_id``, ``invoice_date``, ``product_id``, ``amount``) and returns an unexecuted
expression; :mod:`crmlib.core.engine` runs it on the chosen backend and turns the
result into the same pandas frame the pandas path gives. Definitions are those of
:mod:`crmlib.core.summaries` (purchase occasions are calendar days) and of the summary
page's KPIs (a month's orders are its distinct invoices).
"""
from __future__ import annotations

from typing import Any

import ibis
import pandas as pd


def _rows_until(table: Any, as_of: pd.Timestamp) -> Any:
    """Rows dated on or before ``as_of`` (by calendar day), with their ``day``."""
    rows = table.mutate(day=table.invoice_date.date())
    return rows.filter(rows.day <= ibis.date(as_of.date()))


def customer_day_facts(table: Any, as_of: pd.Timestamp) -> Any:
    """Per customer: first, previous and last purchase day, purchase days, spend, repeat spend, orders.

    ``previous_day`` is the purchase day before the last (null with one); ``repeat_total``
    the spend on every purchase day but the first (lifetimes' monetary value times
    frequency); ``orders`` the distinct invoice ids.
    """
    rows = _rows_until(table, as_of)
    rows = rows.filter(rows.customer_id.notnull())
    occasions = rows.group_by(["customer_id", "day"]).aggregate(amount=rows.amount.sum())
    by_customer = ibis.window(group_by=occasions.customer_id)
    occasions = occasions.mutate(first=occasions.day.min().over(by_customer),
                                 last=occasions.day.max().over(by_customer))
    facts = occasions.group_by("customer_id").aggregate(
        first_day=occasions.day.min(),
        previous_day=occasions.day.max(where=occasions.day < occasions.last),
        last_day=occasions.day.max(),
        occasions=occasions.count(),
        total=occasions.amount.sum(),
        repeat_total=occasions.amount.sum(where=occasions.day > occasions.first).fill_null(0.0),
    )
    orders = rows.group_by("customer_id").aggregate(orders=rows.invoice_id.nunique())
    return facts.join(orders, "customer_id")


def period_aggregates(table: Any, as_of: pd.Timestamp) -> Any:
    """Per calendar month (``year``, ``month``): revenue, orders, identified revenue and orders,
    active and new customers (see :func:`crmlib.core.engine.period_aggregates`)."""
    rows = _rows_until(table, as_of)
    rows = rows.mutate(year=rows.day.year(), month=rows.day.month(), known=rows.customer_id.notnull())
    sales = rows.group_by(["year", "month"]).aggregate(
        revenue=rows.amount.sum(),
        orders=rows.invoice_id.nunique(),
        identified_revenue=rows.amount.sum(where=rows.known).fill_null(0.0),
        identified_orders=rows.invoice_id.nunique(where=rows.known),
        active_customers=rows.customer_id.nunique(),
    )
    known = rows.filter(rows.known)
    first = known.group_by("customer_id").aggregate(first_day=known.day.min())
    new = (first.mutate(year=first.first_day.year(), month=first.first_day.month())
           .group_by(["year", "month"]).aggregate(new_customers=ibis._.count()))
    return sales.left_join(new, ["year", "month"]).select(
        "year", "month", "revenue", "orders", "identified_revenue", "identified_orders",
        "active_customers", "new_customers")


def pair_counts(table: Any, min_count: int, item: str = "product_id") -> tuple[Any, Any, Any]:
    """``(baskets, items, pairs)``: the number of baskets (a scalar), baskets per item and per
    pair of items (``item_a < item_b``), each kept when reaching ``min_count``.

    A basket is an invoice with a customer id; an item counts once per basket. The pairs
    are a self-join of the (basket, item) rows on the basket, after dropping items that
    cannot reach ``min_count`` (a pair is never in more baskets than its rarer item).
    """
    rows = table.filter(table.customer_id.notnull() & table.invoice_id.notnull() & table[item].notnull())
    lines = rows.select(basket=rows.invoice_id, item=rows[item].cast("string")).distinct()
    n_baskets = lines.basket.nunique()
    items = lines.group_by("item").aggregate(count=ibis._.count())
    items = items.filter(items["count"] >= min_count)
    frequent = lines.semi_join(items, "item")
    left = frequent.rename(item_a="item")
    right = frequent.rename(item_b="item")
    joined = left.join(right, [left.basket == right.basket, left.item_a < right.item_b])
    pairs = joined.group_by(["item_a", "item_b"]).aggregate(count=ibis._.count())
    return n_baskets, items, pairs.filter(pairs["count"] >= min_count)
