"""The segmentation page's computations as they were before issue 17 (pandas group-bys on ids).

Kept only as the reference that tests compare the integer-code versions against.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.summaries import _as_timestamp


def reference_cohort_tables(transactions: pd.DataFrame, as_of: Any, *, customer_col: str = "customer_id",
                  date_col: str = "invoice_date", amount_col: str = "amount") -> dict[str, pd.DataFrame]:
    """Monthly acquisition cohorts x months since first purchase.

    A customer's cohort is the month of their first purchase in the data (customers who
    bought before the data starts look new in its first month: that cohort is
    over-stated). Returns ``{"sizes", "active", "retention", "revenue",
    "revenue_per_customer"}``: ``active`` counts cohort customers who bought in month k
    after acquisition (k = 0 is the acquisition month), ``retention`` = active / cohort
    size, ``revenue`` the cohort's spend in month k, ``revenue_per_customer`` = revenue /
    cohort size. Rows are cohorts (``YYYY-MM``), columns k = 0, 1, ...
    """
    as_of_ts = _as_timestamp(as_of, "as_of")
    dates = pd.to_datetime(transactions[date_col])
    rows = transactions[customer_col].notna() & (dates.dt.normalize() <= as_of_ts)
    month = (dates.dt.year * 12 + dates.dt.month - 1)[rows]
    frame = pd.DataFrame({"customer": transactions.loc[rows, customer_col], "month": month,
                          "amount": transactions.loc[rows, amount_col]})
    frame["cohort"] = frame.groupby("customer", observed=True)["month"].transform("min")
    frame["k"] = frame["month"] - frame["cohort"]
    grouped = frame.groupby(["cohort", "k"])
    active = grouped["customer"].nunique().unstack(fill_value=0)
    revenue = grouped["amount"].sum().unstack(fill_value=0.0)
    sizes = active[0]

    def label(index: pd.Index) -> pd.Index:
        return pd.Index([f"{m // 12}-{m % 12 + 1:02d}" for m in index], name="cohort")

    # months not yet observed for a cohort are NaN, not 0
    observed_months = (as_of_ts.year * 12 + as_of_ts.month - 1) - active.index.to_numpy()
    unobserved = active.columns.to_numpy()[None, :] > observed_months[:, None]
    out = {
        "sizes": sizes.set_axis(label(sizes.index)),
        "active": active.mask(unobserved).set_axis(label(active.index)),
        "retention": active.div(sizes, axis=0).mask(unobserved).set_axis(label(active.index)),
        "revenue": revenue.mask(unobserved).set_axis(label(revenue.index)),
        "revenue_per_customer": revenue.div(sizes, axis=0).mask(unobserved).set_axis(label(revenue.index)),
    }
    for table in out.values():
        if isinstance(table, pd.DataFrame):
            table.columns.name = "months since first purchase"
    return out
