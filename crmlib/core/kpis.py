"""The KPI vocabulary: each KPI's name, label and kind (how it is formatted).

Defined once here so that the summary page, the site's index pages and any later page
name and format a KPI the same way. How each KPI is computed is the summary page's
(:mod:`crmlib.pages.summary.kpis`, whose docstring defines every KPI).
"""
from __future__ import annotations

from typing import Any

from crmlib.core.formatting import MISSING, as_number, format_change, format_count, format_money, format_percent, format_points

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


#: Days without a purchase after which a customer counts as lost, unless a page says otherwise.
DEFAULT_CHURN_WINDOW_DAYS = 90


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
