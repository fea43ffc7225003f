"""The executive summary page (00): this period's KPIs, what to act on, trends, findings, caveats, glossary.

Modules: :mod:`.kpis` (every KPI, defined in its docstring), :mod:`.comparisons`
(year-ago only with a year of history, seasonality, data-start artefacts),
:mod:`.actions` (what to act on, from the other pages' metrics), :mod:`.text`
(overview, headline table, findings, caveats, glossary), :mod:`.charts`. The findings
come from each declared page's own ``finding``; the words and windows from
:mod:`crmlib.core.vocabulary`. The page declares itself as :data:`PAGE`; it reads every
other page (``reads=("*",)``), so it runs last.
"""
from __future__ import annotations

from typing import Any

from crmlib.core.kpis import HEADLINE_KPIS, KPI_KINDS, KPI_LABELS  # noqa: F401  (the KPI vocabulary)
from crmlib.core.i18n import N_
from crmlib.core.parameters import Parameter
from crmlib.core.pages import ALL_PAGES, Page, PageMetrics
from crmlib.pages.summary.kpis import (  # noqa: F401  (the page's API, for its notebook)
    REQUIRED, YEAR_LAG, compare_periods, history_warnings, kpis_long, metrics_with, period_kpis, set_customer_equity,
    summary_metrics,
)
from crmlib.pages.summary.comparisons import (  # noqa: F401  (the page's API, for its notebook)
    WINDOW_KPIS, data_start, early_periods, mask_early_periods, seasonality_note, year_ago_available, year_ago_note,
)
from crmlib.pages.summary.actions import Action, actions, actions_markdown  # noqa: F401
from crmlib.pages.summary.text import (  # noqa: F401  (the page's API, for its notebook)
    analysis_metrics, caveats, caveats_markdown, findings, findings_markdown, glossary_table, headline_table,
    is_analyst_note, kpi_overview_markdown,
)
from crmlib.pages.summary.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_trends,
)


class SummaryMetrics(PageMetrics):
    """``metrics/00_summary.json`` (see :func:`summary_metrics`): every KPI at the top level.

    ``warnings`` are exactly the caveats the page shows to managers (the period index
    counts them); ``analyst_notes`` the model-fitting notes of its analysts' section;
    ``actions`` what to act on (headline, page, customers, value).
    """

    revenue: float | None
    orders: int | None
    aov: float | None
    active_customers: int | None
    new_customers: int | None
    retention_rate: float | None
    customer_equity: float | None
    change_vs_previous: dict[str, float | None]
    change_vs_year: dict[str, float | None]
    year_ago_compared: bool
    churn_window_days: int
    freq: str
    analyses_run: list[str]
    actions: list[dict[str, Any]]
    analyst_notes: list[str]


#: The clean-log columns this page reads (``RunContext.load_transactions(columns=...)``):
#: at 10M lines every column takes 1.2 GB, these about half.
COLUMNS = ("customer_id", "invoice_id", "invoice_date", "amount")

PAGE = Page(
    name="00_summary",
    title=N_("Executive summary"),
    description=N_("This period's KPIs against last period and last year, what to act on, trends and caveats."),
    reads=(ALL_PAGES,),
    metrics=SummaryMetrics,
    finding=None,
    parameters={"freq": Parameter(choices=("M", "Q", "W")), "trend_periods": Parameter(low=1)},
)
