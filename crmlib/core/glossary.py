"""The words a manager reads everywhere, marked for translation: KPI names, segment names, glossary.

Each text is an English message id marked with :func:`crmlib.core.i18n.N_`, so
``pybabel extract`` puts it in the catalogue and ``tests/test_i18n.py`` fails while its
Korean translation is missing. Show a term with the report's translator::

    _ = translator(language)
    _(KPI_NAMES["revenue"])          # '매출(전체 판매)' in a Korean report

The KPI names are exactly the English labels of :data:`crmlib.kpi.KPI_LABELS` and the
segment names the keys of :data:`crmlib.segmentation.DEFAULT_SEGMENT_MAP`, so those
tables translate by passing their values through ``_``.
"""
from __future__ import annotations

from crmlib.core.i18n import N_

#: KPI key -> English name (the msgid).
KPI_NAMES: dict[str, str] = {
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

#: The default RFM segments' English names (msgids), in the order reports list them.
SEGMENT_NAMES: tuple[str, ...] = (
    N_("Champions"),
    N_("Loyal"),
    N_("Potential Loyalist"),
    N_("New"),
    N_("Promising"),
    N_("Need Attention"),
    N_("About to Sleep"),
    N_("At Risk"),
    N_("Cannot Lose Them"),
    N_("Hibernating"),
    N_("Lost"),
)

#: Glossary term -> definition, both msgids; a report shows them as a two-column table.
GLOSSARY: dict[str, str] = {
    N_("Recency"): N_("Days since the customer's last purchase."),
    N_("Frequency"): N_("Number of separate orders the customer placed."),
    N_("Monetary value"): N_("What the customer spent in the period."),
    N_("RFM segment"): N_("A group of customers with similar recency and frequency scores."),
    N_("Customer lifetime value (CLV)"): N_(
        "The profit a customer is expected to bring over the coming months, discounted to today."
    ),
    N_("Churn"): N_("A customer who has stopped buying."),
    N_("Retention rate"): N_("Share of the customers at the start of a period who bought again in it."),
    N_("Average order value"): N_("Revenue divided by the number of orders."),
    N_("Cross-selling"): N_("Recommending products that are often bought together."),
    N_("Percentage points"): N_("The difference between two percentages: 12 % to 15 % is +3 points."),
}

#: Words shown around every page (navigation, column headers), as msgids.
PAGE_WORDS: tuple[str, ...] = (
    N_("Summary"),
    N_("Customers"),
    N_("Revenue"),
    N_("Segment"),
    N_("Share"),
    N_("Month"),
    N_("Country"),
    N_("Product"),
    N_("Glossary"),
    N_("Caveats"),
)
