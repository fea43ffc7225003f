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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from crmlib.core.formatting import as_number, format_date, format_period
from crmlib.core.i18n import _
from crmlib.core.kpis import KPI_KINDS
from crmlib.core.summaries import factorize_ids
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
    window = int(churn_window_days)
    as_of = pd.Timestamp(as_of).normalize()
    n_periods = int(n_periods or YEAR_LAG[freq] + 1)

    periods = pd.period_range(end=pd.Period(as_of, freq=freq), periods=n_periods)
    labels = periods.astype(str)
    starts = _day_numbers(periods.start_time)
    ends = np.minimum(_day_numbers(periods.end_time), _day_numbers(pd.DatetimeIndex([as_of]))[0])
    out = pd.DataFrame(index=pd.Index(labels, name="period"), columns=list(KPI_KINDS), dtype="float64")

    log = _coded_lines(transactions, as_of)
    if not len(log.day):  # no transactions (a customer table alone): every number missing
        return out
    period = np.searchsorted(starts, log.day, side="right") - 1       # -1: before the first period
    in_range = period >= 0

    # Sales (assumption 3): every line, anonymous included.
    out["revenue"] = np.bincount(period[in_range], weights=log.amount[in_range], minlength=n_periods)
    out["orders"] = _distinct_per_group(period[in_range], log.invoice[in_range], n_periods)

    # One row per (period, customer) with what they did in it.
    known = log.customer >= 0
    first_day = np.full(log.n_customers, np.iinfo("int64").max)
    np.minimum.at(first_day, log.customer[known], log.day[known])
    rows = known & in_range
    width = np.int64(max(log.n_customers, 1))
    cp_code, cp_keys = pd.factorize(period[rows] * width + log.customer[rows])
    cp_period, cp_customer = cp_keys // width, cp_keys % width
    cp_revenue = np.bincount(cp_code, weights=log.amount[rows], minlength=len(cp_keys))
    cp_orders = _distinct_per_group(cp_code, log.invoice[rows], len(cp_keys))
    cp_new = first_day[cp_customer] >= starts[cp_period]

    # Live on a day (assumption 6): bought on one of the `window` days ending with it.
    live = _live_on(log.customer[known], log.day[known], log.n_customers, np.r_[starts - 1, ends], window)
    live_before, live_end = live[:n_periods], live[n_periods:]
    cp_reactivated = ~cp_new & ~live_before[cp_period, cp_customer]

    def per_period(values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(cp_period, weights=values, minlength=n_periods)

    out["active_customers"] = per_period()
    out["new_customers"] = per_period(cp_new)
    out["returning_customers"] = out["active_customers"] - out["new_customers"]
    out["reactivated_customers"] = per_period(cp_reactivated)
    out["customers_at_start"] = live_before.sum(axis=1)
    out["live_customers"] = live_end.sum(axis=1)
    # Lost (assumption 7): live the day before the period, not live on its last day.
    out["lost_customers"] = (live_before & ~live_end).sum(axis=1)
    out["retention_rate"] = 1 - out["lost_customers"] / out["customers_at_start"].where(out["customers_at_start"] > 0)
    out["identified_revenue"] = per_period(cp_revenue)
    n_active = out["active_customers"].where(out["active_customers"] > 0)
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    out["revenue_per_customer"] = out["identified_revenue"] / n_active
    out["purchase_frequency"] = per_period(cp_orders) / n_active
    out["repeat_purchase_rate"] = per_period(cp_orders >= 2) / n_active
    # Top-20 % share (assumption 10): the ceil(20 %) biggest spenders of each period.
    out["top20_revenue_share"] = _top_share(cp_period, cp_revenue, n_periods) / \
        out["identified_revenue"].where(out["identified_revenue"] > 0)

    # Periods wholly before the data begin have no numbers, not zeros.
    out.loc[ends < log.day.min()] = np.nan
    return out


class _CodedLines(NamedTuple):
    """The log's lines on or before ``as_of`` as integer arrays (runs of equal lines merged)."""

    customer: np.ndarray   # customer code, -1 = anonymous (missing or blank id)
    invoice: np.ndarray    # invoice code, -1 = missing
    day: np.ndarray        # days since 1970-01-01
    amount: np.ndarray     # summed amount (a missing amount counts 0, as pandas' sum skips it)
    n_customers: int


def _day_numbers(dates: Any) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")


def _coded_lines(transactions: pd.DataFrame, as_of: pd.Timestamp) -> _CodedLines:
    """Customers and invoices as integer codes, days as day numbers: no string group-by.

    Ids are compared as text without surrounding spaces, and a blank id is anonymous
    (as the cleaning step writes them). Consecutive lines of the same customer, invoice
    and day (an export lists an invoice's lines together) are merged first: the counts
    are the same and the rest works on 3-5x fewer rows.
    """
    day = _day_numbers(pd.to_datetime(transactions["invoice_date"]))
    dated = ~np.isnat(day.view("datetime64[D]"))
    keep = dated & (day <= _day_numbers(pd.DatetimeIndex([as_of]))[0])
    customer = _id_codes(transactions["customer_id"], strip=True)
    invoice = pd.factorize(transactions["invoice_id"])[0]    # only counted: no need for factorize_ids' sorted ids
    amount = np.nan_to_num(transactions["amount"].to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    if not keep.all():
        customer, invoice, day, amount = customer[keep], invoice[keep], day[keep], amount[keep]
    n_customers = int(customer.max()) + 1 if len(customer) else 0
    if len(day) > 1:
        heads = np.r_[True, (customer[1:] != customer[:-1]) | (invoice[1:] != invoice[:-1]) | (day[1:] != day[:-1])]
        if heads.mean() < 0.8:
            starts = np.flatnonzero(heads)
            customer, invoice, day, amount = customer[starts], invoice[starts], day[starts], np.add.reduceat(amount, starts)
    return _CodedLines(customer.astype("int64"), invoice.astype("int64"), day, amount, max(n_customers, 0))


def _id_codes(ids: pd.Series, *, strip: bool) -> np.ndarray:
    """Integer codes of ids read as text (-1 = missing; with ``strip`` also blank), codes of
    equal stripped text equal."""
    codes, uniques = factorize_ids(ids)
    if not strip or not len(uniques):
        return codes
    text = pd.Index(uniques).astype("string").str.strip()
    new, _ = pd.factorize(text.where(text != ""), use_na_sentinel=True)
    return np.where(codes >= 0, new[np.maximum(codes, 0)], -1)


def _distinct_per_group(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct non-negative ``values`` in each group 0..n_groups-1."""
    present = values >= 0
    width = np.int64(max(int(values.max()) + 1, 1)) if len(values) else np.int64(1)
    pairs = pd.unique(group[present] * width + values[present])
    return np.bincount(pairs // width, minlength=n_groups)


def _live_on(customer: np.ndarray, day: np.ndarray, n_customers: int, days: np.ndarray, window: int) -> np.ndarray:
    """``live[i, c]``: customer ``c`` bought on one of the ``window`` days ending with ``days[i]``."""
    live = np.zeros((len(days), n_customers), dtype=bool)
    if not len(day):
        return live
    occasion = np.sort(customer * np.int64(1 << 32) + (day - day.min()))     # (customer, day), sorted
    occasion = occasion[np.r_[True, occasion[1:] != occasion[:-1]]]              # each once
    occ_customer, occ_day = occasion >> 32, (occasion & 0xFFFFFFFF) + day.min()
    useful = occ_day > days.min() - window
    occ_customer, occ_day = occ_customer[useful], occ_day[useful]
    for i, on in enumerate(days):
        live[i, occ_customer[(occ_day <= on) & (occ_day > on - window)]] = True
    return live


def _top_share(group: np.ndarray, values: np.ndarray, n_groups: int, top: float = 0.2) -> np.ndarray:
    """Per group: the sum of its ceil(``top`` x size) largest values (0 for an empty group)."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    sums = np.zeros(n_groups)
    for g in range(n_groups):
        part = values[order[bounds[g]:bounds[g + 1]]]
        k = int(np.ceil(top * len(part)))
        if k:
            sums[g] = np.partition(part, len(part) - k)[len(part) - k:].sum()
    return sums


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
