"""Period KPIs for the manager summary (00_summary), and the summary's words.

One function computes every KPI for a run of consecutive periods (months by default)
from the clean transactions in a few group-bys; the other functions turn the numbers,
and the other notebooks' ``metrics/*.json``, into markdown a manager reads.

Definitions (the numbered assumptions every KPI below relies on)
-----------------------------------------------------------------
1. A period is a calendar month (``freq="M"``; ``"Q"`` and ``"W"`` work the same way).
   The last period ends on ``as_of``; if ``as_of`` falls inside a month, that month is
   partial and its numbers cover only the days up to ``as_of``.
2. Only rows on or before ``as_of`` are used, and every number of period P uses rows up
   to the end of P only. A back-filled month therefore equals the month run live
   (stateless: nothing is carried over from earlier runs).
3. Revenue, orders and average order value include anonymous lines (no
   ``customer_id``): they are sales. Every customer KPI uses identified lines only
   (``identified_revenue`` is the revenue those customers bring).
4. An order is a distinct ``invoice_id``. A customer is *active* in P when they bought at
   least once in P.
5. *New* customers made their first purchase in the data during P; *returning* customers
   are the other active customers, so ``new + returning = active``. The first purchase
   is the first in the data: in the first months of the data, customers who bought
   before the data starts count as new (see :func:`history_warnings`).
6. A customer is *live* on day t when they bought within the churn window, i.e. on one
   of the ``churn_window_days`` days ending with t (the same window as 04_churn).
   ``customers_at_start`` are live on the day before P starts; ``live_customers`` are
   live on P's last day.
7. *Lost* customers were live on the day before P and are not live on its last day (their
   window ran out during P). *Retention rate* = (customers_at_start - lost) /
   customers_at_start, so ``retention = 1 - lost / customers_at_start`` exactly.
8. *Reactivated* customers are returning customers who were not live on the day before
   P (they came back after the window had run out): a subset of returning.
   When the churn window is at least as long as the period,
   ``live_customers = customers_at_start - lost + new + reactivated``.
9. *Purchase frequency* = orders of identified customers / active customers;
   *revenue per customer* = identified revenue / active customers; *repeat-purchase
   rate* = share of active customers with two or more orders in P.
10. *Top-20 % share* = share of identified revenue in P from the 20 % of active customers
    (rounded up) who spent most in P (the Pareto or "80/20" check).
11. *Customer equity* (sum of every customer's CLV) is not recomputed here: it is taken
    from 03_clv's metrics for the period it ran for, and left empty otherwise.

Sources: the definitions follow common CRM practice (Kumar & Reinartz, *Customer
Relationship Management*, ch. on customer metrics; Gupta & Lehmann, *Managing Customers
as Investments*, 2005, for customer equity).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmlib.errors import ConfigError, DataError

#: KPI names in the order reports show them, with their kind (how they are formatted).
KPI_KINDS: dict[str, str] = {
    "revenue": "money",
    "orders": "count",
    "aov": "money",
    "active_customers": "count",
    "new_customers": "count",
    "returning_customers": "count",
    "reactivated_customers": "count",
    "lost_customers": "count",
    "customers_at_start": "count",
    "live_customers": "count",
    "retention_rate": "rate",
    "identified_revenue": "money",
    "revenue_per_customer": "money",
    "purchase_frequency": "ratio",
    "repeat_purchase_rate": "rate",
    "top20_revenue_share": "rate",
    "customer_equity": "money",
}

KPI_LABELS: dict[str, str] = {
    "revenue": "Revenue (all sales)",
    "orders": "Orders",
    "aov": "Average order value",
    "active_customers": "Active customers",
    "new_customers": "New customers",
    "returning_customers": "Returning customers",
    "reactivated_customers": "Reactivated customers",
    "lost_customers": "Lost customers",
    "customers_at_start": "Live customers at start",
    "live_customers": "Live customers at end",
    "retention_rate": "Retention rate",
    "identified_revenue": "Revenue from known customers",
    "revenue_per_customer": "Revenue per active customer",
    "purchase_frequency": "Orders per active customer",
    "repeat_purchase_rate": "Repeat-purchase rate",
    "top20_revenue_share": "Revenue share of top 20 % customers",
    "customer_equity": "Customer equity (CLV total)",
}

#: The KPIs the summary's headline table shows.
HEADLINE_KPIS = [
    "revenue", "orders", "aov", "active_customers", "new_customers", "returning_customers",
    "reactivated_customers", "lost_customers", "retention_rate", "revenue_per_customer",
    "purchase_frequency", "repeat_purchase_rate", "top20_revenue_share", "customer_equity",
]

YEAR_LAG = {"M": 12, "Q": 4, "W": 52}   # periods in a year, per supported frequency
REQUIRED = ("customer_id", "invoice_id", "invoice_date", "amount")


# --------------------------------------------------------------------------- KPIs
def period_kpis(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    freq: str = "M",
    n_periods: int | None = None,
    churn_window_days: int = 90,
) -> pd.DataFrame:
    """Every KPI for the ``n_periods`` periods ending with the one holding ``as_of``.

    Parameters
    ----------
    transactions:
        Clean transactions (data contract: ``customer_id`` missing for anonymous lines,
        ``invoice_id``, ``invoice_date``, ``amount``).
    as_of:
        Analysis date; rows after it are ignored (assumption 2).
    freq:
        ``"M"`` (months), ``"Q"`` or ``"W"``.
    n_periods:
        How many periods up to and including the current one; default one year plus one
        (13 months), so the same period a year earlier is included.
    churn_window_days:
        Days without a purchase after which a customer counts as lost (assumption 6).

    Returns
    -------
    DataFrame indexed by ``period`` (str, e.g. ``"2011-11"``), one column per KPI in
    :data:`KPI_KINDS` order. Periods entirely before the first row of data are NaN.
    See the module docstring for each definition.
    """
    missing = [c for c in REQUIRED if c not in transactions.columns]
    if missing:
        raise DataError(
            f"transactions lack the column(s) {', '.join(missing)} needed for the KPIs",
            column=missing[0], hint="run the cleaning step (01_data_cleaning) first",
        )
    if freq not in YEAR_LAG:
        raise ConfigError(f"freq: '{freq}' is not supported; use one of {', '.join(YEAR_LAG)}")
    if int(churn_window_days) < 1:
        raise ConfigError(f"churn_window_days must be at least 1, got {churn_window_days}")
    window = pd.Timedelta(days=int(churn_window_days))
    as_of = pd.Timestamp(as_of).normalize()
    n_periods = int(n_periods or YEAR_LAG[freq] + 1)

    periods = pd.period_range(end=pd.Period(as_of, freq=freq), periods=n_periods)
    starts = periods.start_time.normalize()
    ends = pd.DatetimeIndex(np.minimum(periods.end_time.normalize().values, as_of.to_datetime64()))
    labels = periods.astype(str)

    # One resolution throughout (files give us or ns; the boundaries below are ns).
    dates = pd.to_datetime(transactions["invoice_date"]).astype("datetime64[ns]")
    keep = dates < as_of + pd.Timedelta(days=1)
    tx = pd.DataFrame({
        "customer_id": transactions["customer_id"],
        "invoice_id": transactions["invoice_id"],
        "day": dates.dt.normalize(),
        "amount": transactions["amount"].astype("float64"),
    })[keep.to_numpy()]
    # Customers as integer codes (faster group-bys); -1 = anonymous line.
    cid = tx["customer_id"].astype("string").str.strip()
    codes, _ = pd.factorize(cid.where(cid.ne("")), use_na_sentinel=True)
    tx["customer_id"] = codes
    # Period of each row by binary search on the period starts (-1 = before the first period).
    day_values = tx["day"].to_numpy()
    code = np.searchsorted(starts.values.astype("datetime64[ns]"), day_values, side="right") - 1
    tx["period"] = pd.Categorical.from_codes(code, categories=list(labels))

    out = pd.DataFrame(index=pd.Index(labels, name="period"), columns=list(KPI_KINDS), dtype="float64")
    in_range = tx[tx["period"].notna()]

    # Sales (assumption 3): every line, anonymous included.
    sales = in_range.groupby("period", observed=False).agg(
        revenue=("amount", "sum"), orders=("invoice_id", "nunique")
    )
    out["revenue"] = sales["revenue"].to_numpy()
    out["orders"] = sales["orders"].to_numpy()

    # One row per (period, customer) with what they did in it.
    known = tx[tx["customer_id"] >= 0]
    first_day = known.groupby("customer_id")["day"].min()
    cp = (
        known[known["period"].notna()]
        .groupby(["period", "customer_id"], observed=True)
        .agg(revenue=("amount", "sum"), orders=("invoice_id", "nunique"))
        .reset_index()
    )
    start_of = pd.Series(starts, index=labels)
    cp_start = start_of.reindex(cp["period"].astype(str)).to_numpy()
    cp["new"] = first_day.reindex(cp["customer_id"]).to_numpy() >= cp_start

    # Live on a day (assumption 6): last purchase on or before it is within the window.
    boundaries = pd.DatetimeIndex(np.unique(np.concatenate([(starts - pd.Timedelta(days=1)).values, ends.values])))
    last_on = _last_purchase_on(known[["customer_id", "day"]], boundaries)
    live = (last_on["boundary"] - last_on["last_day"]) < window
    live_keys = pd.MultiIndex.from_arrays([last_on["customer_id"], last_on["boundary"]])[live.to_numpy()]
    live_count = pd.Series(live_keys.get_level_values(1)).value_counts()

    before = starts - pd.Timedelta(days=1)
    cp["live_before"] = pd.MultiIndex.from_arrays(
        [cp["customer_id"], pd.DatetimeIndex(cp_start) - pd.Timedelta(days=1)]
    ).isin(live_keys)
    cp["reactivated"] = ~cp["new"] & ~cp["live_before"]

    # Lost (assumption 7): live the day before the period, not live on its last day.
    live_frame = pd.DataFrame({"customer_id": live_keys.get_level_values(0), "boundary": live_keys.get_level_values(1)})
    period_of_before = pd.Series(labels, index=before)
    period_of_end = pd.Series(labels, index=ends)
    at_start = live_frame[live_frame["boundary"].isin(before)].assign(
        period=lambda f: period_of_before.reindex(f["boundary"]).to_numpy())
    at_end = live_frame[live_frame["boundary"].isin(ends)].assign(
        period=lambda f: period_of_end.reindex(f["boundary"]).to_numpy())
    stayed = at_start.merge(at_end[["customer_id", "period"]], on=["customer_id", "period"], how="left", indicator=True)
    lost = stayed.loc[stayed["_merge"] == "left_only", "period"].value_counts()

    by = cp.groupby("period", observed=False)
    active = by.size()
    out["active_customers"] = active.to_numpy()
    out["new_customers"] = by["new"].sum().to_numpy()
    out["returning_customers"] = out["active_customers"] - out["new_customers"]
    out["reactivated_customers"] = by["reactivated"].sum().to_numpy()
    out["customers_at_start"] = live_count.reindex(before, fill_value=0).to_numpy()
    out["live_customers"] = live_count.reindex(ends, fill_value=0).to_numpy()
    out["lost_customers"] = lost.reindex(labels, fill_value=0).to_numpy()
    out["retention_rate"] = 1 - out["lost_customers"] / out["customers_at_start"].where(out["customers_at_start"] > 0)
    out["identified_revenue"] = by["revenue"].sum().to_numpy()
    known_orders = by["orders"].sum().to_numpy()
    n_active = out["active_customers"].where(out["active_customers"] > 0)
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    out["revenue_per_customer"] = out["identified_revenue"] / n_active
    out["purchase_frequency"] = known_orders / n_active
    out["repeat_purchase_rate"] = cp.assign(repeat=cp["orders"] >= 2).groupby("period", observed=False)["repeat"].sum().to_numpy() / n_active

    # Top-20 % share (assumption 10): rank customers by spend within the period.
    rank = cp.groupby("period", observed=True)["revenue"].rank(method="first", ascending=False)
    top_n = np.ceil(0.2 * active.reindex(cp["period"].astype(str)).to_numpy())
    top_revenue = cp["revenue"].where(rank.to_numpy() <= top_n, 0.0).groupby(cp["period"], observed=False).sum()
    out["top20_revenue_share"] = top_revenue.to_numpy() / out["identified_revenue"].where(out["identified_revenue"] > 0)

    # Periods wholly before the data begin have no numbers, not zeros.
    if len(tx):
        out.loc[ends < tx["day"].min()] = np.nan
    else:
        out.loc[:] = np.nan
    return out


def _last_purchase_on(customer_days: pd.DataFrame, boundaries: pd.DatetimeIndex) -> pd.DataFrame:
    """For every customer and boundary day: their last purchase day on or before it."""
    days = customer_days.drop_duplicates().sort_values("day")
    days["day"] = days["day"].astype("datetime64[ns]")
    customers = np.unique(days["customer_id"].to_numpy())
    grid = pd.DataFrame({
        "boundary": np.repeat(boundaries.values.astype("datetime64[ns]"), len(customers)),
        "customer_id": np.tile(customers, len(boundaries)),
    })
    merged = pd.merge_asof(
        grid.sort_values("boundary"), days.rename(columns={"day": "last_day"}),
        left_on="boundary", right_on="last_day", by="customer_id", direction="backward",
    )
    return merged.dropna(subset=["last_day"])


def kpis_long(kpis: pd.DataFrame) -> pd.DataFrame:
    """The wide KPI frame as ``kpis.parquet`` wants it: columns ``period``, ``kpi``, ``value``."""
    long = kpis.rename_axis("period").reset_index().melt(id_vars="period", var_name="kpi", value_name="value")
    return long.astype({"period": "string", "kpi": "string", "value": "float64"})


def set_customer_equity(kpis: pd.DataFrame, clv_metrics: Mapping[str, Any] | None, period: str | None = None) -> pd.DataFrame:
    """Copy of ``kpis`` with 03_clv's ``customer_equity`` in the row of the period it ran for.

    The value goes to ``period`` (default the last row) only when 03_clv's metrics
    exist and were produced for that period (its ``period`` key, when present, must
    match); otherwise the column stays empty (assumption 11).
    """
    out = kpis.copy()
    period = period or str(out.index[-1])
    equity = as_number((clv_metrics or {}).get("customer_equity"))
    ran_for = (clv_metrics or {}).get("period")
    if equity is not None and (ran_for in (None, period)) and period in out.index:
        out.loc[period, "customer_equity"] = equity
    return out


def compare_periods(kpis: pd.DataFrame, period: str | None = None, *, freq: str = "M") -> pd.DataFrame:
    """The current period against the previous one and the same period a year earlier.

    Returns one row per KPI with ``current``, ``previous``, ``year_ago``,
    ``change_vs_previous`` and ``change_vs_year``. Changes are relative (0.05 = +5 %)
    for amounts and counts, and absolute differences (percentage points) for rates.
    Missing comparison periods give NaN.
    """
    period = pd.Period(period or kpis.index[-1], freq=freq)
    lag = YEAR_LAG[freq]
    pick = lambda p: kpis.reindex([str(p)]).iloc[0]  # noqa: E731
    table = pd.DataFrame({"current": pick(period), "previous": pick(period - 1), "year_ago": pick(period - lag)})
    is_rate = pd.Series([KPI_KINDS.get(k) == "rate" for k in table.index], index=table.index)
    for col, ref in (("change_vs_previous", "previous"), ("change_vs_year", "year_ago")):
        diff = table["current"] - table[ref]
        rel = diff / table[ref].abs().where(table[ref] != 0)
        table[col] = diff.where(is_rate, rel)
    table.index.name = "kpi"
    return table


def history_warnings(transactions: pd.DataFrame, kpis: pd.DataFrame, *, freq: str = "M", churn_window_days: int = 90,
                     as_of: Any = None) -> list[str]:
    """Plain-language caveats: periods whose look-back is cut short by the data's start,
    periods without data, and a current period that ends before its calendar end (``as_of``)."""
    if transactions.empty:
        return ["There are no transactions, so every KPI is empty."]
    data_start = pd.to_datetime(transactions["invoice_date"]).min().normalize()
    periods = pd.PeriodIndex(kpis.index, freq=freq)
    short = [str(p) for p in periods if p.start_time - pd.Timedelta(days=int(churn_window_days)) < data_start
             and p.end_time >= data_start]
    warnings = []
    if as_of is not None:
        current = pd.Period(pd.Timestamp(as_of), freq=freq)
        if pd.Timestamp(as_of).normalize() < current.end_time.normalize():
            warnings.append(
                f"{format_period(str(current))} is counted only up to {format_date(as_of)}: its totals are for part of "
                "the period, so compare them with complete periods with care."
            )
    if short:
        when = ", ".join(map(format_period, short)) if len(short) <= 3 else \
            f"the periods from {format_period(short[0])} to {format_period(short[-1])}"
        warnings.append(
            f"The data begin on {format_date(data_start)}: in {when} customers who had bought "
            f"before that date count as new, and lost, reactivated and retention figures rest on less "
            f"than the {churn_window_days}-day churn window of history."
        )
    if kpis.isna().all(axis=1).any():
        empty = [str(p) for p in kpis.index[kpis.isna().all(axis=1)]]
        warnings.append(f"No data for {', '.join(map(format_period, empty))}, so comparisons with "
                        f"{'that period' if len(empty) == 1 else 'those periods'} are left blank.")
    return warnings


def churn_window(config: Mapping[str, Any], churn_window_days: int | None = None) -> int:
    """The churn window: the given value, else 04_churn's ``churn_window_days`` in
    ``workbook.yml``, else 90 days (so the summary and the churn page agree)."""
    if churn_window_days not in (None, ""):
        return int(churn_window_days)
    churn = (config.get("notebooks") or {}).get("04_churn") or {}
    return int(churn.get("churn_window_days") or 90)


def definitions_markdown(churn_window_days: int, currency: str = "GBP") -> str:
    """How to read the KPIs, in plain words (the module docstring, for managers)."""
    return "\n".join([
        f"- **Revenue** is every sale in the period in {currency}, including lines without a customer id; "
        "**average order value** = revenue / orders (an order is one invoice).",
        "- **Active** customers bought in the period; **new** ones bought for the first time, the rest are "
        "**returning** (new + returning = active).",
        f"- A customer is **live** while their last purchase is less than {churn_window_days} days old (the churn "
        f"window, as on the churn page). **Lost** customers were live when the period began and their "
        f"{churn_window_days} days ran out during it; **retention rate** = 1 − lost / live at the start.",
        "- **Reactivated** customers are returning customers who had already lapsed (more than "
        f"{churn_window_days} days without a purchase) before coming back.",
        "- **Repeat-purchase rate** is the share of active customers with two or more orders in the period; "
        "**top 20 % share** is the part of known customers' revenue spent by the fifth who spent most.",
        "- Every period is recomputed from the clean data up to its own last day, so a month looks the same "
        "whether it was reported at the time or back-filled later.",
    ])


def plot_trends(kpis: pd.DataFrame, currency: str = "GBP", last: int = 12, freq: str = "M"):
    """Four titled trend charts over the last ``last`` periods: revenue, customers, retention, AOV.

    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from crmlib import plots

    data = kpis.dropna(how="all").tail(last)
    word = {"M": "Month", "Q": "Quarter", "W": "Week"}[freq]
    x = [format_period(p) for p in data.index]
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.8), constrained_layout=True)
    ax = axes[0, 0]
    ax.bar(x, data["revenue"], color=plots.PALETTE[0])
    plots.money_axis(ax, currency)
    plots.label(ax, f"Revenue per {word.lower()}", word, f"Revenue ({currency})")
    ax = axes[0, 1]
    ax.bar(x, data["returning_customers"], color=plots.PALETTE[0], label="Returning")
    ax.bar(x, data["new_customers"], bottom=data["returning_customers"], color=plots.PALETTE[1], label="New")
    plots.count_axis(ax)
    ax.legend(frameon=False, loc="upper left")
    plots.label(ax, "Active customers: new and returning", word, "Customers")
    ax = axes[1, 0]
    ax.plot(x, data["retention_rate"], marker="o", color=plots.PALETTE[2], label="Retention rate")
    ax.plot(x, data["repeat_purchase_rate"], marker="s", color=plots.PALETTE[3], label="Repeat-purchase rate")
    plots.percent_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.legend(frameon=False, loc="center left")
    plots.label(ax, "Retention and repeat purchase", word, "Share of customers (%)")
    ax = axes[1, 1]
    ax.plot(x, data["aov"], marker="o", color=plots.PALETTE[5], label="Average order value")
    ax.plot(x, data["revenue_per_customer"], marker="s", color=plots.PALETTE[6], label="Revenue per active customer")
    plots.money_axis(ax, currency)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="lower left")
    plots.label(ax, "Order value and customer value", word, f"Amount ({currency})")
    for ax in axes.flat:
        ax.grid(axis="x", visible=False)
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    return fig


# --------------------------------------------------------------------------- formatting
def format_money(value: Any, currency: str = "GBP", *, compact: bool = False) -> str:
    """Money with thousands separators, e.g. ``£12,345`` (``£1.2m`` / ``£58k`` when compact)."""
    from crmlib.plots import currency_symbol

    v = as_number(value)
    if v is None:
        return "–"
    symbol = currency_symbol(currency)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if compact and v >= 1e6:
        return f"{sign}{symbol}{v / 1e6:,.1f}m"
    if compact and v >= 1e4:
        return f"{sign}{symbol}{v / 1e3:,.0f}k"
    return f"{sign}{symbol}{v:,.2f}" if v < 100 else f"{sign}{symbol}{v:,.0f}"


def format_count(value: Any) -> str:
    """A count with thousands separators, e.g. ``4,297``."""
    v = as_number(value)
    return "–" if v is None else f"{v:,.0f}"


def format_percent(value: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage, e.g. ``41.3 %``."""
    v = as_number(value)
    return "–" if v is None else f"{v * 100:.{decimals}f} %"


def format_date(value: Any) -> str:
    """An unambiguous date, e.g. ``30 Nov 2011`` (empty dash when missing)."""
    if value in (None, "") or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        return pd.Timestamp(value).strftime("%-d %b %Y")
    except (ValueError, TypeError):
        return str(value)


def format_period(period: Any) -> str:
    """A period label for people: ``2011-11`` -> ``Nov 2011``; other labels unchanged."""
    try:
        return pd.Period(str(period), freq="M").strftime("%b %Y") if len(str(period)) == 7 else str(period)
    except (ValueError, TypeError):
        return str(period)


def format_kpi(kpi: str, value: Any, currency: str = "GBP", *, compact: bool = False) -> str:
    """Format one KPI value by its kind (money, count, rate, ratio)."""
    kind = KPI_KINDS.get(kpi, "ratio")
    if kind == "money":
        return format_money(value, currency, compact=compact)
    if kind == "count":
        return format_count(value)
    if kind == "rate":
        return format_percent(value)
    v = as_number(value)
    return "–" if v is None else f"{v:,.2f}"


def format_change(kpi: str, change: Any) -> str:
    """A change as people read it: ``+5.2 %`` for amounts, ``+1.3 pts`` for rates."""
    v = as_number(change)
    if v is None:
        return "–"
    if KPI_KINDS.get(kpi) == "rate":
        return f"{v * 100:+.1f} pts"
    return f"{v * 100:+.1f} %"


# --------------------------------------------------------------------------- markdown
def headline_markdown(comparison: pd.DataFrame, currency: str = "GBP", kpis: list[str] | None = None) -> str:
    """The headline table: each KPI now, and its change vs last period and last year."""
    rows = [k for k in (kpis or HEADLINE_KPIS) if k in comparison.index]
    lines = ["| KPI | This period | vs previous period | vs same period last year |", "|---|---:|---:|---:|"]
    for k in rows:
        r = comparison.loc[k]
        if as_number(r["current"]) is None and k == "customer_equity":
            continue
        lines.append(
            f"| {KPI_LABELS.get(k, k)} | {format_kpi(k, r['current'], currency)} | "
            f"{format_change(k, r['change_vs_previous'])} | {format_change(k, r['change_vs_year'])} |"
        )
    return "\n".join(lines)


def kpi_overview_markdown(comparison: pd.DataFrame, period: str, as_of: Any, currency: str = "GBP") -> str:
    """Two or three sentences on the period, generated from the numbers."""
    c = comparison["current"]
    if as_number(c.get("revenue")) is None:
        return f"There are no sales in {format_period(period)} up to {format_date(as_of)}."
    text = (
        f"In **{format_period(period)}** (data up to {format_date(as_of)}) the business sold "
        f"**{format_money(c['revenue'], currency)}** in {format_count(c['orders'])} orders "
        f"(average order {format_money(c['aov'], currency)}"
    )
    change = as_number(comparison.loc["revenue", "change_vs_previous"])
    text += f", revenue {format_change('revenue', change)} on the previous period)." if change is not None else ")."
    text += (
        f" {format_count(c['active_customers'])} known customers bought: "
        f"{format_count(c['new_customers'])} new and {format_count(c['returning_customers'])} returning "
        f"(of whom {format_count(c['reactivated_customers'])} came back after a lapse)."
    )
    if as_number(c.get("retention_rate")) is not None:
        text += (
            f" Of the {format_count(c['customers_at_start'])} customers live at the start, "
            f"{format_count(c['lost_customers'])} were lost (retention {format_percent(c['retention_rate'])})."
        )
    return text


ANALYSES = ("01_data_cleaning", "02_segmentation", "03_clv", "04_churn", "05_basket")

#: Page titles of the report (the site's navigation uses the same).
PAGE_TITLES = {
    "00_summary": "Executive summary",
    "01_data_cleaning": "Data quality and cleaning",
    "02_segmentation": "Customer segments",
    "03_clv": "Customer lifetime value",
    "04_churn": "Churn risk and retention",
    "05_basket": "Basket analysis and cross-sell",
}
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "Modified BG/NBD",
               "logistic_regression": "logistic regression", "gradient_boosting": "gradient boosting"}


def analysis_metrics(read_metrics: Any, as_of: Any) -> dict[str, dict[str, Any] | None]:
    """Every analysis notebook's metrics for this ``as_of`` (``None`` when absent or stale).

    ``read_metrics`` is e.g. ``ctx.read_metrics``. Metrics written for another analysis
    date (an earlier run left in the artifacts folder) count as "not run", so the
    summary never mixes periods.
    """
    day = str(pd.Timestamp(as_of).date())
    out: dict[str, dict[str, Any] | None] = {}
    for name in ANALYSES:
        m = read_metrics(name)
        out[name] = m if m and m.get("as_of") in (None, day) else None
    return out


def findings(
    metrics: Mapping[str, Mapping[str, Any] | None],
    currency: str = "GBP",
    *,
    churn_scores: pd.DataFrame | None = None,
    rules: pd.DataFrame | None = None,
) -> list[str]:
    """Plain-language findings, one per analysis, each linking to its page.

    ``metrics`` maps notebook names (``"01_data_cleaning"`` … ``"05_basket"``) to their
    ``metrics/*.json`` content or ``None`` when that notebook did not run; a missing
    notebook gives "not run" instead of an error, and missing keys are skipped.
    ``churn_scores`` (``churn_scores.parquet``) adds the count and value of high-risk
    customers; ``rules`` (``rules.parquet``) adds the strongest bundle by lift. Only
    counts and totals are used: no customer appears in the text.
    """
    metrics = dict(metrics)
    if metrics.get("04_churn") and churn_scores is not None:
        metrics["04_churn"] = {**metrics["04_churn"], **_high_risk(churn_scores)}
    if (metrics.get("05_basket") and not metrics["05_basket"].get("top_rule")
            and rules is not None and len(rules) and "lift" in rules.columns):
        best = rules.sort_values(["lift"] + (["confidence"] if "confidence" in rules.columns else []),
                                 ascending=False, kind="stable").iloc[0]
        metrics["05_basket"] = {**metrics["05_basket"], "top_rule": best.to_dict()}
    out = []
    for name, build in (
        ("01_data_cleaning", _finding_cleaning),
        ("02_segmentation", _finding_segments),
        ("03_clv", _finding_clv),
        ("04_churn", _finding_churn),
        ("05_basket", _finding_basket),
    ):
        title = PAGE_TITLES[name]
        m = metrics.get(name)
        link = f"[{title}]({name}.html)"
        if not m:
            out.append(f"**{title}**: not run for this period.")
            continue
        if m.get("not_applicable"):
            out.append(f"**{link}**: not available for this period: {m['not_applicable']}")
            continue
        try:
            text = build(m, currency)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            text = None
        out.append(f"**{link}**: {text}" if text else f"**{link}**: ran; see the page for details.")
    return out


def findings_markdown(metrics: Mapping[str, Mapping[str, Any] | None], currency: str = "GBP", **frames: Any) -> str:
    """:func:`findings` as a markdown bullet list (``frames``: ``churn_scores``, ``rules``)."""
    return "\n".join(f"- {f}" for f in findings(metrics, currency, **frames))


def caveats(metrics: Mapping[str, Mapping[str, Any] | None], extra: list[str] | None = None) -> list[str]:
    """Warnings carried up from every notebook's metrics (cleaning and CLV first), deduplicated."""
    seen: list[str] = []
    for name in ("01_data_cleaning", "03_clv", "02_segmentation", "04_churn", "05_basket", "00_summary"):
        for w in (metrics.get(name) or {}).get("warnings") or []:
            text = f"{w} (see [{PAGE_TITLES.get(name, name)}]({name}.html))" if name != "00_summary" else str(w)
            if text not in seen:
                seen.append(text)
    for w in extra or []:
        if w not in seen:
            seen.append(w)
    return seen


def caveats_markdown(metrics: Mapping[str, Mapping[str, Any] | None], extra: list[str] | None = None) -> str:
    """:func:`caveats` as a markdown list, or a sentence saying there are none."""
    items = caveats(metrics, extra)
    return "\n".join(f"- {w}" for w in items) if items else "No data-quality warnings were raised in this run."


def summary_metrics(comparison: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """Headline numbers for ``metrics/00_summary.json`` (the report index reads them).

    Every KPI's current value sits at the top level under its own name (``revenue``,
    ``active_customers``, ``new_customers``, ``retention_rate``, ``aov`` …); the
    changes are under ``change_vs_previous`` and ``change_vs_year``.
    """
    clean = lambda s: {k: as_number(v) for k, v in s.items()}  # noqa: E731
    current = {k: (int(v) if v is not None and KPI_KINDS.get(k) == "count" else v)
               for k, v in clean(comparison["current"]).items()}
    return {
        **current,
        "change_vs_previous": clean(comparison["change_vs_previous"]),
        "change_vs_year": clean(comparison["change_vs_year"]),
        **extra,
    }


# --------------------------------------------------------------------------- helpers
def as_number(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric values (metrics are read defensively)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _first(m: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present (dotted keys look inside nested dicts)."""
    for key in keys:
        node: Any = m
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            return node
    return None


def _finding_cleaning(m: Mapping[str, Any], currency: str) -> str | None:
    rows_in = as_number(_first(m, "rows_in", "audit.rows_in"))
    kept = as_number(_first(m, "rows_kept", "audit.rows_kept"))
    if rows_in is None or kept is None or rows_in == 0:
        return None
    by_rule = m.get("by_rule")
    counts = ({k: as_number(v.get("rows") if isinstance(v, Mapping) else v) or 0 for k, v in by_rule.items()}
              if isinstance(by_rule, Mapping) else {})
    later = counts.pop("after_as_of", 0)  # not dirt: those rows belong to later reports
    text = f"{format_count(kept)} of {format_count(rows_in)} rows kept"
    if later:
        text += f" ({format_count(later)} dated after the analysis date, left for later reports)"
    if counts and max(counts.values()) > 0:
        rule = max(counts, key=counts.get)
        text += (f"; {format_count(sum(counts.values()))} set aside, each with its reason, most often "
                 f"{_reason_text(rule)} ({format_count(counts[rule])} rows)")
    anon = as_number(_first(m, "anonymous_revenue_share"))
    if anon is not None and anon > 0:
        text += (f"; {format_percent(anon)} of revenue comes from lines without a customer id, counted in sales "
                 "but not in customer analyses")
    return text + "."


def _reason_text(rule: str) -> str:
    try:
        from crmlib.cleaning import REASON_TEXT
    except ImportError:
        return rule.replace("_", " ")
    return REASON_TEXT.get(rule, rule.replace("_", " "))


def _finding_segments(m: Mapping[str, Any], currency: str) -> str | None:
    parts = []
    n = as_number(_first(m, "customers", "n_customers"))
    sizes = m.get("segments")
    if n is not None:
        parts.append(f"{format_count(n)} customers" + (f" in {len(sizes)} segments" if isinstance(sizes, Mapping) else ""))
    if isinstance(sizes, Mapping) and sizes:
        share = {k: as_number(v.get("revenue_share")) if isinstance(v, Mapping) else None for k, v in sizes.items()}
        share = {k: v for k, v in share.items() if v is not None}
        if share:
            name = max(share, key=share.get)
            count = as_number(sizes[name].get("customers"))
            parts.append(f"{name}" + (f" ({format_count(count)} customers)" if count is not None else "")
                         + f" bring {format_percent(share[name])} of revenue")
    top = as_number(_first(m, "top20_revenue_share", "top_20_share"))
    if top is not None:
        parts.append(f"the top 20 % of customers bring {format_percent(top)}")
    lifecycle = m.get("lifecycle")
    if isinstance(lifecycle, Mapping) and as_number(lifecycle.get("at-risk")) is not None:
        parts.append(f"{format_count(lifecycle['at-risk'])} customers are at risk of lapsing")
    return "; ".join(parts) + "." if parts else None


def _finding_clv(m: Mapping[str, Any], currency: str) -> str | None:
    equity = as_number(m.get("customer_equity"))
    if equity is None:
        return None
    model = m.get("chosen_model")
    horizon = _first(m, "parameters.clv_horizon_months", "clv_horizon_months")
    text = f"customer equity {format_money(equity, currency, compact=True)}"
    if horizon:
        text += f" over the next {horizon} months"
    if model:
        text += f" (model: {MODEL_NAMES.get(str(model), model)})"
    return text[0].upper() + text[1:] + "."


def _high_risk(scores: pd.DataFrame) -> dict[str, float]:
    if "risk_tier" not in scores.columns:
        return {}
    high = scores["risk_tier"].astype(str).eq("high")
    out = {"high_risk_customers": float(high.sum())}
    if "value_at_risk" in scores.columns:
        out["high_risk_value_at_risk"] = float(scores.loc[high, "value_at_risk"].sum())
    return out


def _finding_churn(m: Mapping[str, Any], currency: str) -> str | None:
    parts = []
    high = as_number(_first(m, "high_risk_customers", "n_high_risk", "risk_tiers.high"))
    var = as_number(_first(m, "high_risk_value_at_risk", "value_at_risk_high"))
    if high is not None:
        text = f"{format_count(high)} customers at high churn risk"
        basis = m.get("value_basis")
        if var is not None and basis != "one customer":
            text += f", with {format_money(var, currency, compact=True)} of value at risk"
            text += f" (churn probability × {basis})" if basis else ""
        parts.append(text)
    rate = as_number(m.get("churn_rate"))
    if rate is not None:
        parts.append(f"churn rate {format_percent(rate)}")
    drivers = m.get("top_drivers") or []
    if drivers:
        d = drivers[0]
        d = (d.get("feature") or d.get("name")) if isinstance(d, Mapping) else d
        parts.append(f"top driver: {_feature_label(str(d))}")
    auc = as_number(m.get("roc_auc"))
    if auc is not None:
        parts.append(f"model ROC-AUC {auc:.2f}")
    return "; ".join(parts) + "." if parts else None


def _feature_label(feature: str) -> str:
    try:
        from crmlib.churn import feature_label
    except ImportError:  # churn module not installed in a trimmed deployment
        return feature.replace("_", " ")
    return feature_label(feature)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series))


def _finding_basket(m: Mapping[str, Any], currency: str) -> str | None:
    rule = _first(m, "top_rule", "top_rules", "top_pairs", "bundles")
    if isinstance(rule, list):
        rule = rule[0] if rule else None
    n_rules = as_number(_first(m, "n_rules", "rules"))
    parts = []
    if isinstance(rule, Mapping):
        left = _first(rule, "antecedent_names", "antecedents_names", "antecedents", "antecedent", "item_a")
        right = _first(rule, "consequent_names", "consequents_names", "consequents", "consequent", "item_b")
        names = [" & ".join(map(str, x)) if _is_list(x) else str(x) for x in (left, right) if x is not None]
        lift = as_number(rule.get("lift"))
        confidence = as_number(rule.get("confidence"))
        if len(names) == 2:
            text = f"bundle to try: {names[0]} + {names[1]}" + (f", lift {lift:.1f}" if lift is not None else "")
            if confidence is not None:
                text += f" ({format_percent(confidence, 0)} of baskets with the first also hold the second)"
            parts.append(text)
    if n_rules is not None:
        parts.append(f"{format_count(n_rules)} rules found")
    return "; ".join(parts) + "." if parts else None
