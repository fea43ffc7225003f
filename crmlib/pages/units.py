"""Page 07_units: one customer across the group's business units.

For the group's managers: how many customers use one, two or three units, how much of
each unit's revenue comes from customers who also buy elsewhere in the group, which
units share customers (the cross-shop matrix), how value and churn risk differ between
single-unit and multi-unit customers, and where members most often buy "only here"
(the first cross-sell targets), with the lists to download.

Assumptions: ``transactions`` are the clean lines of ``transactions.parquet`` after
identity resolution (:func:`crmlib.core.identity.apply_identities`), so ``customer_id``
is one person across units and ``source`` is the business unit. Without an ``identity:``
setting, the same id in two sources is taken as the same person. Anonymous lines are
left out. Only customer ids are used: no name, phone or e-mail is read or shown.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core import privacy
from crmlib.core.formatting import format_count, format_money, format_percent
from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.core.summaries import _argsort_labels, factorize_ids
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md

CUSTOMER_ID = "customer_id"
SOURCE = "source"
AMOUNT = "amount"
ONE_UNIT, SEVERAL_UNITS = N_("one unit"), N_("several units")   # metrics keys; shown through _()

#: Header (a msgid, shown through ``_()``) and kind (:func:`crmlib.core.tables.manager_table`) of
#: every column the page's tables show.
HEADERS: dict[str, tuple[str, str]] = {
    "unit": (N_("Unit"), "text"),
    "group": (N_("Customers who use"), "text"),
    "units_used": (N_("Units used"), "count"),
    "customers": (N_("Customers"), "count"),
    "share_of_customers": (N_("Share of customers"), "percent"),
    "revenue": (N_("Revenue"), "money"),
    "share_of_revenue": (N_("Share of revenue"), "percent"),
    "multi_unit_customers": (N_("Also buy in another unit"), "count"),
    "multi_unit_revenue": (N_("Revenue from them"), "money"),
    "multi_unit_revenue_share": (N_("Share of the unit's revenue"), "percent"),
    "revenue_per_customer": (N_("Revenue per customer"), "money"),
    "mean_clv": (N_("Average CLV"), "money"),
    "median_clv": (N_("Median CLV"), "money"),
    "mean_churn_probability": (N_("Average churn risk"), "percent"),
    "only_here": (N_("Buy only here"), "count"),
    "only_here_share": (N_("Share who buy only here"), "percent"),
    "only_here_revenue": (N_("Their revenue here"), "money"),
    CUSTOMER_ID: (N_("Customer"), "id"),
}


@dataclass
class UnitsView:
    """Customers by unit: who buys where, and how much.

    ``presence``: customer x unit, ``True`` where the customer bought in the unit.
    ``revenue``: customer x unit revenue. ``available`` is ``False`` (with ``problem`` in
    plain words) when there is nothing to compare: one unit, or no known customers.
    """

    units: list[str]
    presence: pd.DataFrame
    revenue: pd.DataFrame
    available: bool = True
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def units_used(self) -> pd.Series:
        """Number of units each customer bought in."""
        return self.presence.sum(axis=1).astype("int64")

    @property
    def multi_unit(self) -> pd.Series:
        """``True`` for customers who bought in two or more units."""
        return self.units_used >= 2


#: The clean-log columns this page reads (``RunContext.load_transactions(columns=..., customers_only=True)``).
COLUMNS = (CUSTOMER_ID, SOURCE, AMOUNT)


def analyse_units(transactions: pd.DataFrame) -> UnitsView:
    """Per customer and unit: bought there or not, and revenue (known customers only).

    Customers (sorted ids) and units (sorted names) are integer codes; one ``bincount``
    over customer x unit gives both tables, so 10M lines need no string group-by. A blank
    customer id is anonymous; a missing amount counts 0.
    """
    for column in (CUSTOMER_ID, SOURCE, AMOUNT):
        if column not in transactions.columns:
            raise ValueError(f"transactions need a '{column}' column")
    customer, ids = factorize_ids(transactions[CUSTOMER_ID])
    ids = pd.Index(ids)
    blank = np.flatnonzero(ids.astype("str") == "")
    if len(blank):
        customer = np.where(np.isin(customer, blank), -1, customer)
    unit_code, unit_values = pd.factorize(transactions[SOURCE])
    unit_names = pd.Index(unit_values).astype("str")
    units = sorted(set(unit_names[np.unique(unit_code[(customer >= 0) & (unit_code >= 0)])]))
    unit_of_code = pd.Index(units).get_indexer(unit_names)              # factorized value -> position in units
    rows = (customer >= 0) & (unit_code >= 0)
    amount = np.nan_to_num(pd.to_numeric(transactions[AMOUNT], errors="coerce").to_numpy(dtype="float64"))
    present = np.flatnonzero(np.bincount(customer[rows], minlength=len(ids)))   # known customers with a unit
    order = present[_argsort_labels(ids[present])]
    rank = np.full(len(ids), -1, dtype="int64")
    rank[order] = np.arange(len(order))
    cell = rank[customer[rows]] * len(units) + unit_of_code[unit_code[rows]]
    shape = (len(order), len(units))
    index, columns = pd.Index(ids[order], name=CUSTOMER_ID), pd.Index(units, dtype="str")
    revenue = pd.DataFrame(np.bincount(cell, weights=amount[rows], minlength=shape[0] * shape[1]).reshape(shape),
                           index=index, columns=columns)
    presence = pd.DataFrame(np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape) > 0,
                            index=index, columns=columns)
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


def customers_by_units_used(view: UnitsView) -> pd.DataFrame:
    """How many customers use 1, 2, 3… units, and their share of customers and revenue."""
    columns = ["units_used", "customers", "share_of_customers", "revenue", "share_of_revenue"]
    if not view.available:
        return pd.DataFrame(columns=columns)
    per = pd.DataFrame({"units_used": view.units_used, "revenue": view.revenue.sum(axis=1)})
    table = per.groupby("units_used").agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
    table = table.reindex(range(1, len(view.units) + 1), fill_value=0)
    table["share_of_customers"] = table["customers"] / max(table["customers"].sum(), 1)
    table["share_of_revenue"] = table["revenue"] / (table["revenue"].sum() or 1.0)
    return table.rename_axis("units_used").reset_index()[columns]


def revenue_from_multi_unit(view: UnitsView) -> pd.DataFrame:
    """Per unit: revenue, and the share of it from customers who also buy in other units."""
    columns = ["unit", "customers", "multi_unit_customers", "revenue", "multi_unit_revenue",
               "multi_unit_revenue_share"]
    if not view.available:
        return pd.DataFrame(columns=columns)
    multi = view.multi_unit.to_numpy()
    rows = []
    for unit in view.units:
        bought = view.presence[unit].to_numpy()
        revenue = view.revenue[unit].to_numpy()
        total = float(revenue.sum())
        rows.append({"unit": unit, "customers": int(bought.sum()), "multi_unit_customers": int((bought & multi).sum()),
                     "revenue": total, "multi_unit_revenue": float(revenue[multi].sum()),
                     "multi_unit_revenue_share": float(revenue[multi].sum()) / total if total else np.nan})
    return pd.DataFrame(rows, columns=columns)


def cross_shop_counts(view: UnitsView) -> pd.DataFrame:
    """Customers who bought in both units (row unit, column unit); the diagonal is each unit's customers."""
    if not view.available:
        return pd.DataFrame()
    p = view.presence.to_numpy(dtype="int64")
    counts = pd.DataFrame(p.T @ p, index=view.units, columns=view.units)
    counts.index.name, counts.columns.name = "customers of", "also buy in"
    return counts


def cross_shop_matrix(view: UnitsView) -> pd.DataFrame:
    """Of the customers of the row unit, the share who also buy in the column unit (diagonal empty)."""
    counts = cross_shop_counts(view)
    if counts.empty:
        return counts
    base = np.diag(counts.to_numpy()).astype("float64")
    shares = counts.to_numpy(dtype="float64") / np.where(base > 0, base, np.nan)[:, None]
    np.fill_diagonal(shares, np.nan)
    return pd.DataFrame(shares, index=counts.index, columns=counts.columns)


def value_by_units(view: UnitsView, clv: pd.DataFrame | None = None,
                   churn: pd.DataFrame | None = None) -> pd.DataFrame:
    """Single-unit vs multi-unit customers: revenue, and CLV and churn risk when available.

    ``clv``: ``customers_clv.parquet`` (``customer_id``, ``clv``) of the value page;
    ``churn``: ``churn_scores.parquet`` (``customer_id``, ``churn_probability``) of the
    churn page. Either may be ``None`` (that page has not run): its columns are left out.
    Means are over the customers the upstream page scored.
    """
    if not view.available:
        return pd.DataFrame(columns=["group", "customers", "revenue_per_customer"])
    values = {"revenue": view.revenue.to_numpy().sum(axis=1)}
    if clv is not None and {CUSTOMER_ID, "clv"} <= set(clv.columns):
        values["clv"] = _looked_up(view.presence.index, clv, "clv")
    if churn is not None and {CUSTOMER_ID, "churn_probability"} <= set(churn.columns):
        values["churn_probability"] = _looked_up(view.presence.index, churn, "churn_probability")
    multi = view.multi_unit.to_numpy()
    rows = {}
    for group, members in ((ONE_UNIT, ~multi), (SEVERAL_UNITS, multi)):
        row = {"customers": int(members.sum()), "revenue_per_customer": _mean(values["revenue"][members])}
        if "clv" in values:
            known = values["clv"][members][~np.isnan(values["clv"][members])]
            row.update(mean_clv=_mean(known), median_clv=float(np.median(known)) if len(known) else np.nan)
        if "churn_probability" in values:
            scores = values["churn_probability"][members]
            row["mean_churn_probability"] = _mean(scores[~np.isnan(scores)])
        rows[group] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("group").reset_index()


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else np.nan

def _looked_up(ids: pd.Index, table: pd.DataFrame, column: str) -> np.ndarray:
    """``table[column]`` of each id (ids compared as text; the first row of a repeated id; NaN
    when absent), by Arrow's hash lookup rather than a pandas map of a million strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.array(table[CUSTOMER_ID].astype("str").array, type=pa.large_string())
    wanted = pa.array(ids.astype("str").array, type=pa.large_string())
    position = pc.index_in(wanted, value_set=keys).to_numpy(zero_copy_only=False)
    found = ~np.isnan(position)
    values = np.full(len(ids), np.nan)
    values[found] = table[column].to_numpy(dtype="float64")[position[found].astype("int64")]
    return values

def only_here(view: UnitsView) -> pd.DataFrame:
    """Per unit: its customers who buy nowhere else in the group, most "only here" first.

    The units at the top are the first cross-sell targets.
    """
    columns = ["unit", "customers", "only_here", "only_here_share", "only_here_revenue"]
    if not view.available:
        return pd.DataFrame(columns=columns)
    single = ~view.multi_unit.to_numpy()
    rows = []
    for unit in view.units:
        bought = view.presence[unit].to_numpy()
        alone = bought & single
        rows.append({"unit": unit, "customers": int(bought.sum()), "only_here": int(alone.sum()),
                     "only_here_share": alone.sum() / bought.sum() if bought.sum() else np.nan,
                     "only_here_revenue": float(view.revenue[unit].to_numpy()[alone].sum())})
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["only_here_share", "only_here", "unit"], ascending=[False, False, True],
                             ignore_index=True)


def only_here_lists(view: UnitsView) -> pd.DataFrame:
    """The "only here" customers per unit, for download: ``unit``, ``customer_id``, ``revenue``.

    Customer ids as they are: for a shared download use :func:`only_here_download`.
    """
    if not view.available:
        return pd.DataFrame({"unit": pd.Series(dtype="str"), CUSTOMER_ID: pd.Series(dtype="str"),
                             "revenue": pd.Series(dtype="float64")})
    single = view.presence.loc[~view.multi_unit]
    unit = single.idxmax(axis=1)
    revenue = view.revenue.loc[single.index].to_numpy()[np.arange(len(single)),
                                                         single.columns.get_indexer(unit)]
    lists = pd.DataFrame({"unit": unit.to_numpy(), CUSTOMER_ID: single.index.astype("str"), "revenue": revenue})
    return lists.sort_values(["unit", "revenue", CUSTOMER_ID], ascending=[True, False, True], ignore_index=True)


def only_here_download(view: UnitsView, key: bytes, ids_are_personal: privacy.IdsArePersonal = "auto") -> pd.DataFrame:
    """The "only here" lists for the manager's download: ids that look like a phone number or
    an e-mail address replaced by pseudonyms (:func:`crmlib.core.privacy.pseudonymise_personal_ids`,
    the project's one ``key``). The CSV writer neutralises formula-like cells."""
    lists, _ = privacy.pseudonymise_personal_ids(only_here_lists(view), [CUSTOMER_ID], key, ids_are_personal)
    return lists


def describe_units(view: UnitsView, currency: str = "GBP", clv: pd.DataFrame | None = None,
                   churn: pd.DataFrame | None = None) -> str:
    """The page's findings in plain sentences (one line when there is nothing to compare)."""
    if not view.available:
        return view.problem or _("There is nothing to compare across units.")
    used = customers_by_units_used(view)
    n = int(used["customers"].sum())
    multi = used.loc[used["units_used"] >= 2]
    n_multi = int(multi["customers"].sum())
    lines = [_("Of **{customers} customers**, {multi} ({multi_share}) buy in two or more units; they bring "
               "{revenue_share} of the group's revenue.").format(
        customers=format_count(n), multi=format_count(n_multi), multi_share=format_percent(n_multi / n if n else None),
        revenue_share=format_percent(float(multi["share_of_revenue"].sum())))]
    shares = revenue_from_multi_unit(view).dropna(subset=["multi_unit_revenue_share"])
    if len(shares):
        parts = [f"{md(r.unit)} {format_percent(r.multi_unit_revenue_share)}" for r in shares.itertuples()]
        lines.append(_("Share of each unit's revenue from customers who also buy in another unit: {shares}.")
                     .format(shares=", ".join(parts)))
    matrix = cross_shop_matrix(view)
    stacked = matrix.stack().dropna()
    if len(stacked):
        (a, b), share = stacked.idxmax(), stacked.max()
        lines.append(_("The strongest link: {share} of the customers of {unit} also buy in {other}.")
                     .format(share=format_percent(share), unit=md(a), other=md(b)))
    values = value_by_units(view, clv, churn).set_index("group")
    if "mean_clv" in values and values["mean_clv"].notna().all():
        lines.append(_("Multi-unit customers are worth {multi} on average (CLV), single-unit customers {single}.")
                     .format(multi=format_money(values.at[SEVERAL_UNITS, "mean_clv"], currency),
                             single=format_money(values.at[ONE_UNIT, "mean_clv"], currency)))
    if "mean_churn_probability" in values and values["mean_churn_probability"].notna().all():
        lines.append(_("Average churn risk: {multi} for multi-unit customers, {single} for single-unit.")
                     .format(multi=format_percent(values.at[SEVERAL_UNITS, "mean_churn_probability"]),
                             single=format_percent(values.at[ONE_UNIT, "mean_churn_probability"])))
    alone = only_here(view)
    if len(alone) and alone["only_here"].iloc[0] > 0:
        top = alone.iloc[0]
        lines.append(_("First cross-sell target: {unit}, where {share} of customers ({customers}) buy nowhere "
                       "else in the group.").format(unit=md(top["unit"]), share=format_percent(top["only_here_share"]),
                                                   customers=format_count(top["only_here"])))
    return " ".join(lines)


def headline_metrics(view: UnitsView, clv: pd.DataFrame | None = None,
                     churn: pd.DataFrame | None = None) -> dict[str, Any]:
    """Numbers for ``metrics/07_units.json`` and the summary."""
    if not view.available:
        return {"units": len(view.units), "nothing_to_compare": view.problem}
    used = customers_by_units_used(view)
    matrix = cross_shop_matrix(view)
    alone = only_here(view)
    metrics: dict[str, Any] = {
        "units": len(view.units),
        "customers": int(used["customers"].sum()),
        "multi_unit_customers": int(used.loc[used["units_used"] >= 2, "customers"].sum()),
        "multi_unit_revenue_share": float(used.loc[used["units_used"] >= 2, "share_of_revenue"].sum()),
        "multi_unit_revenue_share_by_unit": dict(zip(*revenue_from_multi_unit(view)[["unit", "multi_unit_revenue_share"]]
                                                     .to_numpy().T)),
        "cross_shop": {a: {b: float(v) for b, v in row.items() if np.isfinite(v)} for a, row in matrix.iterrows()},
        "first_cross_sell_target": str(alone["unit"].iloc[0]) if len(alone) else None,
    }
    values = value_by_units(view, clv, churn).set_index("group")
    for column in ("mean_clv", "mean_churn_probability"):
        if column in values:
            metrics[column] = {g: (None if pd.isna(v) else float(v)) for g, v in values[column].items()}
    return metrics


# ----------------------------------------------------------------------------- the page
def section(view: UnitsView, text: str):
    """``text`` as Markdown for the notebook when there is something to compare, else ``None``.

    With one unit the page ends in the one line of :func:`describe_units`: the later
    sections' headings and tables are not shown (and nothing fails).
    """
    if not view.available:
        return None
    from IPython.display import Markdown

    return Markdown(text)


def shown(view: UnitsView, table: pd.DataFrame, currency: str = "GBP",
          max_rows: int | None = None) -> ManagerTable | None:
    """``table`` formatted for a manager (:data:`HEADERS`) when there is something to compare,
    else ``None`` (no output). The cross-shop counts keep their unit names as rows."""
    if not view.available:
        return None
    if table.index.name == "customers of":
        return manager_table(table, {u: (str(u), "count") for u in table.columns}, index=(_("Customers of"), "text"))
    if "group" in table.columns:
        table = table.assign(group=table["group"].map(_))
    return manager_table(table, {c: (_(HEADERS[c][0]), HEADERS[c][1]) for c in table.columns}, currency=currency,
                         max_rows=max_rows)


# ----------------------------------------------------------------------------- charts
def plot_units_used(table: pd.DataFrame):
    """Bar chart: customers and revenue share by number of units used (``None`` when empty)."""
    if table.empty:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    labels = [_("1 unit") if u == 1 else _("{count} units").format(count=u) for u in table["units_used"]]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, table["share_of_customers"], width=0.4, label=_("share of customers"))
    ax.bar(x + 0.2, table["share_of_revenue"], width=0.4, label=_("share of revenue"))
    ax.set_xticks(x, labels)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(_("Customers and revenue by number of units used"))
    ax.set_ylabel(_("share"))
    ax.legend(frameon=False)
    return ax


def plot_cross_shop(matrix: pd.DataFrame):
    """Heat map of the cross-shop matrix (row: customers of, column: also buy in; ``None`` when empty)."""
    if matrix.empty:
        return None
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(1.2 * len(matrix) + 3, 0.8 * len(matrix) + 2))
    sns.heatmap(matrix, annot=True, fmt=".0%", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax,
                linewidths=0.5)
    ax.set_title(_("Of the customers of a unit (row), the share who also buy in another (column)"))
    ax.set_ylabel(_("customers of"))
    ax.set_xlabel(_("also buy in"))
    return ax


__all__ = [
    "UnitsView", "analyse_units", "cross_shop_counts", "cross_shop_matrix", "customers_by_units_used",
    "describe_units", "headline_metrics", "only_here", "only_here_download", "only_here_lists", "plot_cross_shop", "plot_units_used",
    "revenue_from_multi_unit", "section", "shown", "value_by_units",
]


# ----------------------------------------------------------------------------- declaration
class UnitsMetrics(PageMetrics):
    """``metrics/07_units.json`` (see :func:`headline_metrics`); more keys when units compare."""

    units: int


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: how many customers use several units and what they bring."""
    if m.get("nothing_to_compare") or m["units"] < 2:
        return _("one business unit only: nothing to compare across units.")
    text = _("{multi} of {customers} customers buy in two or more of our {units} units and bring {share} of "
             "revenue").format(multi=format_count(m["multi_unit_customers"]), customers=format_count(m["customers"]),
                               units=m["units"], share=format_percent(m["multi_unit_revenue_share"]))
    if not m.get("first_cross_sell_target"):
        return text + "."
    return text + _("; first cross-sell target: customers who buy only at {unit}.").format(
        unit=md(m["first_cross_sell_target"]))


PAGE = Page(
    name="07_units",
    title=N_("One customer across our units"),
    description=N_("Customers who use several business units, cross-shopping between units, first cross-sell targets."),
    reads=("01_data_cleaning", "03_clv", "04_churn"),
    metrics=UnitsMetrics,
    finding=finding,
    parameters={"top_n": Parameter(low=1)},
)
