"""The value page (03): what customers are worth over the coming months, and customer equity.

Modules: :mod:`.values` (the page's work in one call: :func:`run_value`, on
:mod:`crmlib.core.value` and :mod:`crmlib.core.activity`), :mod:`.text` (plain words and
tables; model names only in the analysts' part), :mod:`.charts`, and :mod:`.analysis`
(the BTYD diagnostics behind the classic candidates: :func:`run_clv`, kept for analysts
and the CDNOW checks). The page declares itself as :data:`PAGE`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmlib.core.btyd import MODEL_LABELS
from crmlib.core.formatting import format_money
from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.pages.clv.analysis import (  # noqa: F401  (BTYD diagnostics, for analysts and tests)
    REST_TIER, SELECTION_RULE, ClvResult, Validation, assign_tiers, choose_model,
    customer_values, equity_by_segment, retention_what_if, run_clv, validate,
)
from crmlib.pages.clv.values import HORIZON_DAYS, ValuePage, run_value, segment_series  # noqa: F401
from crmlib.pages.clv.text import (  # noqa: F401  (the page's API, for its notebook)
    PLAIN_METHODS, activity_text, analysts_backtest_table, analysts_text, backtest_table, backtest_text,
    download_frame, forecast_vs_past_table, forecast_vs_past_text, guards_text, horizon_words, manager_warnings,
    method_name, segment_table, segment_text, tiers_table, top_customers_table, values_text, what_if_table,
    what_if_text,
)
from crmlib.pages.clv.charts import plot_clv_distribution, plot_deciles, plot_equity_by_segment  # noqa: F401


class ClvMetrics(PageMetrics):
    """``metrics/03_clv.json`` (see :meth:`ValuePage.metrics`)."""

    chosen_model: str
    time_unit: str
    models: dict[str, dict[str, Any]]
    customer_equity: float


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: customer equity over the horizon, and the method behind it in plain words."""
    horizon = m["parameters"].get("clv_horizon_months")
    equity = format_money(m["customer_equity"], currency, compact=True)
    name = m["chosen_model"]
    if name in PLAIN_METHODS:
        method = method_name(name)
        method = method[:1].lower() + method[1:]
        if horizon:
            return _("Customer equity {equity} over the next {months} months (method: {method}, checked against "
                     "past quarters).").format(equity=equity, months=horizon, method=method)
        return _("Customer equity {equity} (method: {method}, checked against past quarters).").format(
            equity=equity, method=method)
    model = MODEL_LABELS.get(name, name)
    if horizon:
        return _("Customer equity {equity} over the next {months} months (model: {model}).").format(
            equity=equity, months=horizon, model=model)
    return _("Customer equity {equity} (model: {model}).").format(equity=equity, model=model)


#: The clean-log columns this page reads (``RunContext.load_transactions(columns=...)``):
#: at 10M lines every column takes 1.2 GB, these about half.
COLUMNS = ("customer_id", "invoice_id", "invoice_date", "product_id", "quantity", "amount", "country")
#: Of those, the columns the page only turns into codes (the customer features'): read as
#: categoricals, a few bytes a line instead of a string (at 100M lines about 3 GB less).
CATEGORIES = ("product_id", "country")

PAGE = Page(
    name="03_clv",
    title=N_("Customer lifetime value"),
    description=N_("What customers are worth over the coming months, and the customer base's total value."),
    reads=("01_data_cleaning", "02_segmentation"),
    metrics=ClvMetrics,
    finding=finding,
    parameters={"clv_horizon_months": Parameter(low=1), "discount_rate": Parameter(low=0, high=1)},
)
