"""The units page's customer x unit tables as computed before issue 17 (pivot_table on ids).

Kept only as the reference that tests compare :func:`crmlib.pages.units.analyse_units` against.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.core.i18n import _
from crmlib.core.text import md
from crmlib.pages.units import AMOUNT, CUSTOMER_ID, ONE_UNIT, SEVERAL_UNITS, SOURCE, UnitsView


def reference_analyse_units(transactions: pd.DataFrame) -> UnitsView:
    """Per customer and unit: bought there or not, and revenue (known customers only)."""
    for column in (CUSTOMER_ID, SOURCE, AMOUNT):
        if column not in transactions.columns:
            raise ValueError(f"transactions need a '{column}' column")
    known = transactions.loc[transactions[CUSTOMER_ID].notna() & (transactions[CUSTOMER_ID].astype("str") != ""),
                             [CUSTOMER_ID, SOURCE, AMOUNT]]
    units = sorted(known[SOURCE].astype("str").unique())
    revenue = (known.assign(**{SOURCE: known[SOURCE].astype("str")})
               .pivot_table(index=CUSTOMER_ID, columns=SOURCE, values=AMOUNT, aggfunc="sum", fill_value=0.0)
               .reindex(columns=units, fill_value=0.0).astype("float64"))
    revenue.columns.name = None
    presence = known.groupby([CUSTOMER_ID, known[SOURCE].astype("str")]).size().unstack(fill_value=0) > 0
    presence = presence.reindex(index=revenue.index, columns=units, fill_value=False)
    presence.columns.name = None
    view = UnitsView(units=units, presence=presence, revenue=revenue)
    if len(units) < 2:
        view.available = False
        view.problem = (_("Only one business unit ({unit}) in this period's data: there is nothing to compare "
                          "across units.").format(unit=md(units[0])) if units else
                        _("Only one business unit in this period's data: there is nothing to compare across units."))
    elif presence.empty:
        view.available = False
        view.problem = _("No sales line has a customer id: there are no customers to compare across units.")
    return view


def reference_value_by_units(view: UnitsView, clv: pd.DataFrame | None = None,
                   churn: pd.DataFrame | None = None) -> pd.DataFrame:
    """Single-unit vs multi-unit customers: revenue, and CLV and churn risk when available.

    ``clv``: ``customers_clv.parquet`` (``customer_id``, ``clv``) of the value page;
    ``churn``: ``churn_scores.parquet`` (``customer_id``, ``churn_probability``) of the
    churn page. Either may be ``None`` (that page has not run): its columns are left out.
    Means are over the customers the upstream page scored.
    """
    if not view.available:
        return pd.DataFrame(columns=["group", "customers", "revenue_per_customer"])
    group = pd.Series(np.where(view.multi_unit, SEVERAL_UNITS, ONE_UNIT), index=view.presence.index, name="group")
    frame = pd.DataFrame({"group": group, "revenue": view.revenue.sum(axis=1)})
    aggregations: dict[str, tuple[str, str]] = {"customers": ("revenue", "size"),
                                                "revenue_per_customer": ("revenue", "mean")}
    if clv is not None and {CUSTOMER_ID, "clv"} <= set(clv.columns):
        values = clv.assign(**{CUSTOMER_ID: clv[CUSTOMER_ID].astype("str")}).drop_duplicates(CUSTOMER_ID)
        frame["clv"] = frame.index.astype("str").map(values.set_index(CUSTOMER_ID)["clv"])
        aggregations.update(mean_clv=("clv", "mean"), median_clv=("clv", "median"))
    if churn is not None and {CUSTOMER_ID, "churn_probability"} <= set(churn.columns):
        scores = churn.assign(**{CUSTOMER_ID: churn[CUSTOMER_ID].astype("str")}).drop_duplicates(CUSTOMER_ID)
        frame["churn_probability"] = frame.index.astype("str").map(scores.set_index(CUSTOMER_ID)["churn_probability"])
        aggregations.update(mean_churn_probability=("churn_probability", "mean"))
    table = frame.groupby("group").agg(**aggregations).reindex([ONE_UNIT, SEVERAL_UNITS])
    table["customers"] = table["customers"].fillna(0).astype("int64")
    return table.reset_index()
