"""The KPI vocabulary: each KPI's name, label and kind (how it is formatted).

Defined once here so that the summary page, the site's index pages and any later page
name and format a KPI the same way. How each KPI is computed is the summary page's
(:mod:`crmlib.pages.summary.kpis`, whose docstring defines every KPI).
"""
from __future__ import annotations

from typing import Any

from crmlib.core.formatting import MISSING, as_number, format_change, format_count, format_money, format_percent, format_points
from crmlib.core.i18n import N_

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


#: KPI name -> label a manager reads (a msgid: shown through ``_()``, e.g. ``_(KPI_LABELS["aov"])``).
KPI_LABELS: dict[str, str] = {
    "revenue": N_("Revenue (all sales)"),
    "orders": N_("Orders"),
    "aov": N_("Average order value"),
    "active_customers": N_("Active customers"),
    "new_customers": N_("New customers"),
    "returning_customers": N_("Returning customers"),
    "reactivated_customers": N_("Reactivated customers"),
    "lost_customers": N_("Lost customers"),
    "customers_at_start": N_("Live customers at start"),
    "live_customers": N_("Live customers at end"),
    "retention_rate": N_("Retention rate"),
    "identified_revenue": N_("Revenue from known customers"),
    "revenue_per_customer": N_("Revenue per active customer"),
    "purchase_frequency": N_("Orders per active customer"),
    "repeat_purchase_rate": N_("Repeat-purchase rate"),
    "top20_revenue_share": N_("Revenue share of top 20 % customers"),
    "customer_equity": N_("Customer equity (CLV total)"),
}


#: The KPIs the summary's headline table shows.
HEADLINE_KPIS = [
    "revenue", "orders", "aov", "active_customers", "new_customers", "returning_customers",
    "reactivated_customers", "lost_customers", "retention_rate", "revenue_per_customer",
    "purchase_frequency", "repeat_purchase_rate", "top20_revenue_share", "customer_equity",
]


#: Which way is good for each KPI: +1 up is good, -1 down is good, 0 neither (default +1).
KPI_DIRECTION: dict[str, int] = {"lost_customers": -1, "top20_revenue_share": 0, "customers_at_start": 0}

#: Changes smaller than this (relative, or in points for rates) are shown as flat, not good or bad.
FLAT_CHANGE = 0.005


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
    return MISSING if v is None else f"{v:,.2f}"


def format_kpi_change(kpi: str, change: Any) -> str:
    """A KPI's change as people read it: ``+5.2 %`` for amounts, ``+1.3 pts`` for rates."""
    return format_points(change) if KPI_KINDS.get(kpi) == "rate" else format_change(change)


def change_tone(kpi: str, change: Any) -> str:
    """``"good"``, ``"bad"`` or ``"flat"`` for a KPI's change (:data:`KPI_DIRECTION`); ``""`` when missing."""
    v = as_number(change)
    if v is None:
        return ""
    direction = KPI_DIRECTION.get(kpi, 1)
    if abs(v) < FLAT_CHANGE or direction == 0:
        return "flat"
    return "good" if v * direction > 0 else "bad"


def format_kpi_delta(kpi: str, change: Any) -> tuple[str, str]:
    """A change with its arrow and its CSS classes: ``("▲ +5.2 %", "delta good")``.

    The arrow shows the direction (▲ up, ▼ down, ► flat), the class whether that is good
    for the business (``delta good`` / ``delta bad`` / ``delta flat``; the report's
    stylesheet colours them). A missing change is ``("–", "delta")``.
    """
    tone = change_tone(kpi, change)
    if not tone:
        return MISSING, "delta"
    v = as_number(change)
    arrow = "►" if abs(v) < FLAT_CHANGE else ("▲" if v > 0 else "▼")
    return f"{arrow} {format_kpi_change(kpi, change)}", f"delta {tone}"
