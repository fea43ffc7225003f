"""The executive summary page (00): this period's KPIs, trends, one finding per page, caveats.

Modules: :mod:`.kpis` (every KPI, defined in its docstring), :mod:`.text` (overview,
headline table, findings, caveats, definitions), :mod:`.charts`. The findings come from
each declared page's own ``finding``. The page declares itself as :data:`PAGE`; it reads
every other page (``reads=("*",)``), so it runs last.
"""
from __future__ import annotations


from crmlib.core.kpis import HEADLINE_KPIS, KPI_KINDS, KPI_LABELS  # noqa: F401  (the KPI vocabulary)
from crmlib.core.i18n import N_
from crmlib.core.pages import ALL_PAGES, Page, PageMetrics
from crmlib.pages.summary.kpis import (  # noqa: F401  (the page's API, for its notebook)
    REQUIRED, YEAR_LAG, compare_periods, history_warnings, kpis_long, metrics_with, period_kpis, set_customer_equity,
    summary_metrics,
)
from crmlib.pages.summary.text import (  # noqa: F401  (the page's API, for its notebook)
    analysis_metrics, caveats, caveats_markdown, churn_window, definitions_markdown, findings,
    findings_markdown, headline_markdown, kpi_overview_markdown,
)
from crmlib.pages.summary.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_trends,
)


class SummaryMetrics(PageMetrics):
    """``metrics/00_summary.json`` (see :func:`summary_metrics`): every KPI at the top level."""

    revenue: float | None
    orders: int | None
    aov: float | None
    active_customers: int | None
    new_customers: int | None
    retention_rate: float | None
    customer_equity: float | None
    change_vs_previous: dict[str, float | None]
    change_vs_year: dict[str, float | None]
    churn_window_days: int
    freq: str
    analyses_run: list[str]


PAGE = Page(
    name="00_summary",
    title=N_("Executive summary"),
    description=N_("This period's KPIs against last period and last year, trends, and what to act on."),
    reads=(ALL_PAGES,),
    metrics=SummaryMetrics,
    finding=None,
)
