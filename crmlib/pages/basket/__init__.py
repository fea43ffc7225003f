"""The basket page (05): what sells together, bundles and cross-sells, next-best products.

Modules: :mod:`.baskets` (baskets and pair affinity), :mod:`.itemsets` (itemsets and rules), :mod:`.recommendations`
(next-best products and their offline check), :mod:`.text` (words and metrics),
:mod:`.charts`. The page declares itself as :data:`PAGE`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from crmlib.core.formatting import format_count, format_percent
from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.core.text import md
from crmlib.pages.basket.baskets import (  # noqa: F401  (the page's API, for its notebook)
    BASKET_KINDS, Baskets, build_baskets, cooccurrence, item_problem, pair_affinity, strongest_pairs,
)
from crmlib.pages.basket.itemsets import (  # noqa: F401  (the page's API, for its notebook)
    DEFAULT_MAX_ITEMSETS, RULE_COLUMNS, association_rules, best_rule_per_bundle, check_itemset_explosion,
    estimate_itemsets, mine_itemsets, mine_rules, top_rules,
)
from crmlib.pages.basket.ranges import (  # noqa: F401  (the page's API, for its notebook)
    RANGE_COLUMNS, collapse_variants, product_ranges, range_keys,
)
from crmlib.pages.basket.recommendations import (  # noqa: F401  (the page's API, for its notebook)
    RECOMMENDATION_COLUMNS, customer_items, evaluate_holdout, item_similarity, most_suggested_share, recommend,
)
from crmlib.pages.basket.text import (  # noqa: F401  (the page's API, for its notebook)
    analyst_notes, compare_segment, describe_baskets, describe_evaluation, describe_ranges, describe_rules,
    headline_metrics, most_suggested, recommendations_download, segment_pairs_table,
)
from crmlib.pages.basket.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_affinity_heatmap, plot_holdout, plot_strongest_pairs,
)


class TopRule(TypedDict):
    antecedents: list[str]
    consequents: list[str]
    antecedent_names: list[str]
    consequent_names: list[str]
    lift: float
    confidence: float
    baskets: int


class BasketMetrics(PageMetrics):
    """``metrics/05_basket.json`` (see :func:`headline_metrics`)."""

    basket_analysis_available: bool
    unavailable_reason: str | None
    baskets: int
    items: int
    rules: int
    top_rule: TopRule | None
    customers_with_recommendations: int
    hit_at_n: int
    hit_rate_model: float | None
    hit_rate_baseline: float | None
    customers_evaluated: int
    most_suggested_share: float | None


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: the strongest bundle (by lift) and how many rules were found
    (product names escaped: the line is Markdown)."""
    rule = m["top_rule"]
    if rule is None:
        return _("{rules} rules found.").format(rules=format_count(m["rules"]))
    left, right = (" & ".join(md(name) for name in rule[k]) for k in ("antecedent_names", "consequent_names"))
    return _("bundle to try: {first} + {second}, lift {lift} ({share} of baskets with the first also hold the "
             "second); {rules} rules found.").format(
        first=left, second=right, lift=f"{rule['lift']:.1f}", share=format_percent(rule["confidence"], 0),
        rules=format_count(m["rules"]))


PAGE = Page(
    name="05_basket",
    title=N_("Basket analysis and cross-sell"),
    description=N_("What sells together, bundles and cross-sells to try, next-best products per customer."),
    reads=("01_data_cleaning", "02_segmentation"),
    metrics=BasketMetrics,
    finding=finding,
    parameters={"min_support": Parameter(low=0, high=1), "basket": Parameter(choices=("invoice", "customer_day")),
                "max_len": Parameter(low=1, optional=True),
                "min_confidence": Parameter(low=0, high=1), "n_recommendations": Parameter(low=1),
                "top_n": Parameter(low=1)},
)
