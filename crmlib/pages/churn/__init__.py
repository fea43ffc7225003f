"""The churn page (04): who is likely to leave, why, what it is worth, whom to contact first.

Modules: :mod:`.table` (the customer table's stated rules), :mod:`.evaluation`
(ROC/PR, lift, calibration, confusion, drivers), :mod:`.models` (candidate models,
retention list), :mod:`.transactions` (purchase logs: the value page's ``p_alive`` and
``clv``, checked one window back), :mod:`.analysis` (:func:`run_churn`), :mod:`.text`,
:mod:`.charts`.
Customer features and labels are the core's (:mod:`crmlib.core.features`). The page
declares itself as :data:`PAGE`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmlib.core.features import FEATURE_LABELS, feature_label  # noqa: F401  (the page's vocabulary)
from crmlib.core.formatting import format_count, format_money, format_percent
from crmlib.core.i18n import N_, _
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.pages.churn.table import (  # noqa: F401  (the page's API, for its notebook)
    BLANK_WORDS, FALSE_WORDS, PII_PATTERN, TRUE_WORDS, clean_customer_table, parse_flag,
)
from crmlib.pages.churn.evaluation import (  # noqa: F401  (the page's API, for its notebook)
    best_threshold, binned_churn_rates, calibration_table, confusion_at, explain_drivers, lift_table,
    score_quality,
)
from crmlib.pages.churn.models import (  # noqa: F401  (the page's API, for its notebook)
    RISK_BANDS, make_models, PriorCorrectedClassifier, retention_targets, risk_tier,
)
from crmlib.pages.churn.analysis import (  # noqa: F401  (the page's API, for its notebook)
    BASELINE_WORDS, BASELINES, MODEL_NAMES, MODES, ONE_CUSTOMER, choose_mode, churn_rate_trend, ChurnResult, leavers_found,
    run_churn,
)
from crmlib.pages.churn.transactions import (  # noqa: F401  (the page's API, for its notebook)
    ACTIVITY, CLV_BASIS, SPEND_BASIS, ChurnProbability, evaluate_one_window_back, run_transactions, score_today,
)
from crmlib.pages.churn.text import (  # noqa: F401  (the page's API, for its notebook)
    analysts_table, analysts_text, confusion_table, drivers_text, method_label, methods_table, model_table,
    notes_table,
    overview_text, quality_text, retention_download, targets_table, targets_text,
)
from crmlib.pages.churn.charts import (  # noqa: F401  (the page's API, for its notebook)
    plot_calibration, plot_driver_bins, plot_drivers, plot_gains, plot_trend, plot_value_at_risk,
)


class ChurnMetrics(PageMetrics):
    """``metrics/04_churn.json`` (see :meth:`ChurnResult.metrics`)."""

    mode: str
    chosen_model: str
    roc_auc: float | None
    pr_auc: float | None
    models: dict[str, dict[str, Any]]
    baselines: dict[str, dict[str, Any]]
    beats_baselines: dict[str, float | None]
    churn_rate: float
    threshold: float
    confusion: dict[str, Any]
    top_decile_lift: float | None
    eval_customers: int
    train_customers: int
    cutoffs: dict[str, str]
    top_drivers: list[str]
    top_driver_sentences: list[str]
    scored_customers: int
    targets: int
    control: int
    value_at_risk_total: float
    value_basis: str
    high_risk_customers: int
    high_risk_value_at_risk: float
    churn_window_days: int | None
    leavers_found_top20: float | None


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: customers at high churn risk and their value at risk, churn rate, top driver, quality."""
    count = format_count(m["high_risk_customers"])
    if m["value_basis"] != ONE_CUSTOMER:
        text = _("{count} customers at high churn risk, with {value} of value at risk (churn probability × "
                 "{basis})").format(count=count, value=format_money(m["high_risk_value_at_risk"], currency, compact=True),
                                    basis=_(m["value_basis"]))
    else:
        text = _("{count} customers at high churn risk").format(count=count)
    # the summary's line lists facts, one clause each, separated by semicolons
    parts = [text, _("churn rate {rate}").format(rate=format_percent(m["churn_rate"]))]
    if m["top_drivers"]:
        parts.append(_("top driver: {driver}").format(driver=_(feature_label(m["top_drivers"][0]))))
    found = m.get("leavers_found_top20")
    if found is not None:
        parts.append(_("the 20 % of customers the model ranks riskiest include {share} of leavers").format(
            share=format_percent(found, 0)))
    elif m["roc_auc"] is not None:  # metrics written before the plain-words measure existed
        parts.append(_("model ROC-AUC {auc:.2f}").format(auc=m["roc_auc"]))
    return "; ".join(parts) + "."

#: The clean-log columns this page reads (``RunContext.load_transactions(columns=...)``):
#: at 10M lines every column takes 1.2 GB, these about half.
COLUMNS = ("customer_id", "invoice_id", "invoice_date", "product_id", "quantity", "amount", "country")
#: Of those, the columns the page only turns into codes (the customer features'): read as
#: categoricals, a few bytes a line instead of a string (at 100M lines about 3 GB less).
CATEGORIES = ("product_id", "country")

PAGE = Page(
    name="04_churn",
    title=N_("Churn risk and retention"),
    description=N_("Who is likely to leave, why, what it is worth, and whom to contact first."),
    reads=("01_data_cleaning", "02_segmentation", "03_clv"),
    metrics=ChurnMetrics,
    finding=finding,
    parameters={"mode": Parameter(choices=("auto", "transactions", "customer_table")),
                "churn_window_days": Parameter(low=1), "active_days": Parameter(low=1),
                "control_share": Parameter(low=0, high=1), "max_targets": Parameter(low=1, kind="a whole number"),
                "seed": Parameter(low=0)},
)
