"""The segmentation page (02): RFM segments, behavioural clusters, life-cycle stages, cohorts.

Modules: :mod:`.analysis` (the page's work, :func:`segment_customers`), :mod:`.text`
(its words), :mod:`.charts`. Customer summaries, RFM scores and the segment map are the
core's (:mod:`crmlib.core.summaries`). The page declares itself as :data:`PAGE`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from crmlib.core.formatting import format_count, format_date, format_percent
from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.core.text import md
from crmlib.pages.segmentation.analysis import (  # noqa: F401  (the page's API, for its notebook)
    CLUSTER_FEATURES, LIFECYCLE_STAGES, SEGMENTS_COLUMNS, attribute_columns, attribute_crosstab,
    attribute_profile, BehaviourClusters, cohort_tables, describe_clusters, lifecycle_stage,
    lifecycle_thresholds, pareto_curve, purchase_gaps, segment_customers, segment_table, Segmentation, top_share,
)
from crmlib.pages.segmentation.text import (  # noqa: F401  (the page's API, for its notebook)
    LIFECYCLE_LABELS, WIN_BACK_SEGMENTS, analyst_notes, attribute_tables, cluster_description, clusters_text,
    cohorts_text, concentration_text, history_window, lifecycle_text, rfm_text, segment_action, segment_details,
    segment_list, segment_name, segment_summary, segments_text, stage_label, summary_text,
)
from crmlib.pages.segmentation.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_cluster_profiles, plot_cohorts, plot_lifecycle, plot_pareto, plot_rf_heatmap, plot_segments,
)


class SegmentSize(TypedDict):
    customers: int
    revenue_share: float


class SegmentationMetrics(PageMetrics):
    """``metrics/02_segmentation.json`` (see :meth:`Segmentation.metrics`)."""

    customers: int
    revenue: float
    segments: dict[str, SegmentSize]
    top20_revenue_share: float | None
    history_start: str
    clusters_k: int
    silhouette: float | None
    clusters: dict[str, str]
    lifecycle: dict[str, int]
    lifecycle_thresholds_days: dict[str, int]


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: customers and segments, the segment bringing most revenue, concentration.

    The page's figures cover all purchases from ``history_start`` to the analysis date,
    not the report's month, and the line says so; segment names are escaped (Markdown).
    """
    sizes = m["segments"]
    since = format_date(m["history_start"])
    parts = [_("{customers} customers (all who bought since {since}) in {segments} RFM segments").format(
        customers=format_count(m["customers"]), since=since, segments=len(sizes))]
    if sizes:
        name = max(sizes, key=lambda k: sizes[k]["revenue_share"])
        parts.append(_("{segment} ({customers} customers) bring {share} of their revenue").format(
            segment=md(segment_name(name)), customers=format_count(sizes[name]["customers"]),
            share=format_percent(sizes[name]["revenue_share"])))
    if m["top20_revenue_share"] is not None:
        parts.append(_("over all purchases since {since} the top 20 % of customers bring {share}").format(
            since=since, share=format_percent(m["top20_revenue_share"])))
    if "at-risk" in m["lifecycle"]:
        parts.append(_("{customers} customers are overdue for their next purchase").format(
            customers=format_count(m["lifecycle"]["at-risk"])))
    return "; ".join(parts) + "."


#: The clean-log columns this page reads (``RunContext.load_transactions(columns=...)``):
#: at 10M lines every column takes 1.2 GB, these about half.
COLUMNS = ("customer_id", "invoice_id", "invoice_date", "amount", "source")

PAGE = Page(
    name="02_segmentation",
    title=N_("Customer segments"),
    description=N_("Who our customers are: RFM segments, behavioural groups, life-cycle stages, cohorts."),
    reads=("01_data_cleaning",),
    metrics=SegmentationMetrics,
    finding=finding,
    parameters={"n_clusters": Parameter(low=2, kind="a whole number"), "k_min": Parameter(low=2),
                "k_max": Parameter(low=2), "seed": Parameter(low=0),
                "active_days": Parameter(low=1, kind="a whole number"),
                "lapsed_days": Parameter(low=1, kind="a whole number")},
)
