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
   of the ``churn_window_days`` days ending with t (``windows: churn_days`` of
   ``workbook.yml``, the same window as the churn page; :mod:`crmlib.core.vocabulary`).
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

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core.formatting import as_number, format_date, format_period
from crmlib.core.i18n import _
from crmlib.core.kpis import KPI_KINDS
from crmlib.core.validation import require_columns
from crmlib.pages.summary.comparisons import early_periods
from crmlib.errors import ConfigError

YEAR_LAG = {"M": 12, "Q": 4, "W": 52}   # periods in a year, per supported frequency


REQUIRED = ("customer_id", "invoice_id", "invoice_date", "amount")


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
    require_columns(transactions, REQUIRED, "the KPIs", hint="run the cleaning step first")
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
    else:  # no transactions (a customer table alone): every number missing
        out = pd.DataFrame(np.nan, index=out.index, columns=out.columns)
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


def metrics_with(metrics: Mapping[str, Mapping[str, Any] | None], key: str) -> Mapping[str, Any] | None:
    """The first page's metrics (in page order) that report ``key``, e.g. ``customer_equity``."""
    return next((m for m in metrics.values() if m and key in m), None)


def set_customer_equity(kpis: pd.DataFrame, clv_metrics: Mapping[str, Any] | None, period: str | None = None) -> pd.DataFrame:
    """Copy of ``kpis`` with the CLV page's ``customer_equity`` in the row of the period it ran for.

    The value goes to ``period`` (default the last row) only when the CLV page's metrics
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


def compare_periods(kpis: pd.DataFrame, period: str | None = None, *, freq: str = "M",
                    year_ago: bool = True) -> pd.DataFrame:
    """The current period against the previous one and the same period a year earlier.

    Returns one row per KPI with ``current``, ``previous``, ``year_ago``,
    ``change_vs_previous`` and ``change_vs_year``. Changes are relative (0.05 = +5 %)
    for amounts and counts, and absolute differences (percentage points) for rates.
    Missing comparison periods give NaN; so does the year-ago comparison with
    ``year_ago=False`` (too little history: :func:`~.comparisons.year_ago_available`).
    """
    period = pd.Period(period or kpis.index[-1], freq=freq)
    lag = YEAR_LAG[freq]
    pick = lambda p: kpis.reindex([str(p)]).iloc[0]  # noqa: E731
    table = pd.DataFrame({"current": pick(period), "previous": pick(period - 1), "year_ago": pick(period - lag)})
    if not year_ago:
        table["year_ago"] = np.nan
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
    periods without data, and a current period that ends before its calendar end (``as_of``),
    in the current language."""
    if transactions.empty:
        return [_("There are no transactions, so every KPI is empty.")]
    data_start = pd.to_datetime(transactions["invoice_date"]).min().normalize()
    short = early_periods(kpis.index, data_start, churn_window_days, freq=freq)
    warnings = []
    if as_of is not None:
        current = pd.Period(pd.Timestamp(as_of), freq=freq)
        if pd.Timestamp(as_of).normalize() < current.end_time.normalize():
            warnings.append(_(
                "{period} is counted only up to {date}: its totals are for part of the period, so compare them "
                "with complete periods with care.").format(period=format_period(str(current)), date=format_date(as_of)))
    if short:
        start = {"start": format_date(data_start), "days": churn_window_days}
        if len(short) <= 3:
            warnings.append(_(
                "The data begin on {start}: in {periods} customers who had bought before that date count as new, and "
                "retention, lost and reactivated customers are left blank, because nobody could yet have gone {days} "
                "days without a purchase.").format(periods=", ".join(map(format_period, short)), **start))
        else:
            warnings.append(_(
                "The data begin on {start}: in the periods from {first} to {last} customers who had bought before that "
                "date count as new, and retention, lost and reactivated customers are left blank, because nobody "
                "could yet have gone {days} days without a purchase.").format(
                first=format_period(short[0]), last=format_period(short[-1]), **start))
    periods = pd.PeriodIndex(kpis.index, freq=freq)
    gaps = kpis.isna().all(axis=1).to_numpy() & (periods.end_time >= data_start)  # before the data: said elsewhere
    if gaps.any():
        empty = ", ".join(format_period(str(p)) for p in kpis.index[gaps])
        if gaps.sum() == 1:
            warnings.append(_("No data for {period}, so comparisons with that period are left blank.").format(
                period=empty))
        else:
            warnings.append(_("No data for {periods}, so comparisons with those periods are left blank.").format(
                periods=empty))
    return warnings


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
