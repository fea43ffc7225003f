"""The summary page's words: overview, headline table, findings, caveats and definitions."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from crmlib.core.formatting import as_number, format_count, format_date, format_money, format_percent, format_period
from crmlib.core.kpis import DEFAULT_CHURN_WINDOW_DAYS, HEADLINE_KPIS, KPI_LABELS, format_kpi, format_kpi_change
from crmlib.core.pages import Page

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
            f"{format_kpi_change(k, r['change_vs_previous'])} | {format_kpi_change(k, r['change_vs_year'])} |"
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
    text += f", revenue {format_kpi_change('revenue', change)} on the previous period)." if change is not None else ")."
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


def analysis_metrics(read_metrics: Any, as_of: Any, pages: Mapping[str, Page]) -> dict[str, dict[str, Any] | None]:
    """Every analysis page's metrics for this ``as_of`` (``None`` when absent or stale).

    ``read_metrics`` is e.g. ``ctx.read_metrics``; ``pages`` the declared pages
    (:func:`crmlib.core.pages.load_pages`); pages that read every other page (the
    summary itself) are left out. Metrics written for another analysis date (an earlier
    run left in the artifacts folder) count as "not run", so the summary never mixes
    periods.
    """
    day = str(pd.Timestamp(as_of).date())
    out: dict[str, dict[str, Any] | None] = {}
    for name, page in pages.items():
        if page.reads_all:
            continue
        m = read_metrics(name)
        out[name] = m if m and m.get("as_of") in (None, day) else None
    return out


def churn_window(metrics: Mapping[str, Mapping[str, Any] | None], churn_window_days: int | None = None) -> int:
    """The churn window: the given value, else the ``churn_window_days`` a page's metrics
    report (the churn page's), else :data:`~crmlib.core.kpis.DEFAULT_CHURN_WINDOW_DAYS`,
    so that the summary and the churn page agree."""
    if churn_window_days not in (None, ""):
        return int(churn_window_days)
    reported = [m["churn_window_days"] for m in metrics.values() if m and m.get("churn_window_days")]
    return int(reported[0]) if reported else DEFAULT_CHURN_WINDOW_DAYS


def findings(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
             currency: str = "GBP") -> list[str]:
    """Plain-language findings, one per analysis page, each linking to its page.

    ``metrics`` maps page names to their ``metrics/*.json`` content, or ``None`` when
    that page did not run ("not run for this period"); a page that was not applicable
    says why. Each line comes from the page's own ``finding`` (its declaration); a page
    without one, or whose finding returns ``None``, gets "ran; see the page". Errors in a
    finding are not hidden: a producer and the summary must not drift apart silently.
    """
    out = []
    for name, page in pages.items():
        if page.reads_all or name not in metrics:
            continue
        m = metrics[name]
        link = f"[{page.title}]({name}.html)"
        if not m:
            out.append(f"**{page.title}**: not run for this period.")
            continue
        if m.get("not_applicable"):
            out.append(f"**{link}**: not available for this period: {m['not_applicable']}")
            continue
        text = page.finding(m, currency) if page.finding else None
        out.append(f"**{link}**: {text}" if text else f"**{link}**: ran; see the page for details.")
    return out


def findings_markdown(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
                      currency: str = "GBP") -> str:
    """:func:`findings` as a markdown bullet list."""
    return "\n".join(f"- {f}" for f in findings(metrics, pages, currency))


def caveats(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
            extra: list[str] | None = None) -> list[str]:
    """Warnings carried up from every page's metrics, in page order, then ``extra``; deduplicated."""
    seen: list[str] = []
    for name, m in metrics.items():
        title = pages[name].title if name in pages else name
        for w in (m or {}).get("warnings") or []:
            text = f"{w} (see [{title}]({name}.html))"
            if text not in seen:
                seen.append(text)
    for w in extra or []:
        if w not in seen:
            seen.append(w)
    return seen


def caveats_markdown(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
                     extra: list[str] | None = None) -> str:
    """:func:`caveats` as a markdown list, or a sentence saying there are none."""
    items = caveats(metrics, pages, extra)
    return "\n".join(f"- {w}" for w in items) if items else "No data-quality warnings were raised in this run."
