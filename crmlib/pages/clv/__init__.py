"""The CLV page (03): what customers are worth over the coming months, and customer equity.

Modules: :mod:`.analysis` (holdout validation, model choice, values: :func:`run_clv`),
:mod:`.text`, :mod:`.charts`. BTYD fitting and its fallback ladder are the core's
(:mod:`crmlib.core.btyd`). The page declares itself as :data:`PAGE`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmlib.core.btyd import DAYS_PER_MONTH, MODEL_LABELS, UNIT_DAYS  # noqa: F401  (used by the notebook)
from crmlib.core.formatting import format_money
from crmlib.core.i18n import N_
from crmlib.core.pages import Page, PageMetrics
from crmlib.pages.clv.analysis import (  # noqa: F401  (the page's API, for its notebook)
    FREQUENCY_BUCKETS, NO_DROPOUT_P_ALIVE, REST_TIER, RETENTION_ASSUMPTIONS, SELECTION_RULE, assign_tiers,
    choose_model, ClvResult, cumulative_tracking, customer_values, equity_by_segment, expectation_matrix,
    frequency_bucket, no_dropout_caveat, retention_what_if, run_clv, validate, Validation,
)
from crmlib.pages.clv.text import (  # noqa: F401  (the page's API, for its notebook)
    models_text, segment_text, spend_text, validation_text, values_text, what_if_text,
)
from crmlib.pages.clv.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_calibration_vs_holdout, plot_clv_distribution, plot_equity_by_segment, plot_matrix, plot_tracking,
)


class ClvMetrics(PageMetrics):
    """``metrics/03_clv.json`` (see :meth:`ClvResult.metrics`)."""

    chosen_model: str
    time_unit: str
    models: dict[str, dict[str, Any]]
    customer_equity: float


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: customer equity over the horizon, and the model behind it."""
    horizon = m["parameters"].get("clv_horizon_months")
    text = f"Customer equity {format_money(m['customer_equity'], currency, compact=True)}"
    if horizon:
        text += f" over the next {horizon} months"
    return text + f" (model: {MODEL_LABELS.get(m['chosen_model'], m['chosen_model'])})."


PAGE = Page(
    name="03_clv",
    title=N_("Customer lifetime value"),
    description=N_("What customers are worth over the coming months, and the customer base's total value."),
    reads=("01_data_cleaning", "02_segmentation"),
    metrics=ClvMetrics,
    finding=finding,
)
