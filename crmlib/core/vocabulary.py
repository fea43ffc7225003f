"""One vocabulary: every customer state and KPI term of the report, defined once, with its window.

A manager reads "at risk", "lost" or "value at risk" on several pages; each term here
has one meaning, one sentence and one window, and a page that means something else
uses another name (the RFM segment "At Risk" is not "high churn risk"). The windows are
the ``windows:`` section of ``workbook.yml`` (:func:`crmlib.core.config.windows`), so a
glossary made from a run's configuration states the windows that run used.

Use::

    from crmlib.core.vocabulary import glossary, term
    glossary(ctx.config)          # [GlossaryEntry(term, definition, window), ...] for that run
    term("value_at_risk").name    # "Value at risk" (the msgid; show it with ``_()``)
    GLOSSARY                      # the same entries with the default windows (for the site's glossary page)

The churn-risk bands (:data:`CHURN_RISK_BANDS`) are part of the vocabulary because
"high churn risk" is a term the summary counts: the churn page's bands must equal them
(``tests/test_report_consistency.py`` checks it).

Sources: the customer-state definitions follow Kumar & Reinartz, *Customer
Relationship Management* (customer metrics), and Gupta & Lehmann, *Managing Customers
as Investments* (2005) for customer equity; the summary's KPI assumptions are numbered
in :mod:`crmlib.pages.summary.kpis`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crmlib.core.config import windows as configured_windows
from crmlib.core.formatting import format_percent
from crmlib.core.i18n import N_, _

#: Churn probability bands: low < 30 % <= medium < 60 % <= high ("high churn risk").
CHURN_RISK_BANDS = (0.3, 0.6)

#: Window kinds a term can have besides a ``windows:`` key.
PERIOD = "period"   # the report period (a calendar month by default)


@dataclass(frozen=True)
class Term:
    """One term: its key, the name pages show, a one-sentence definition and its window.

    ``definition`` may name windows as ``{churn_days}``, ``{customer_base_days}``,
    ``{value_horizon_months}`` or ``{high_risk}``; ``window`` is a ``windows:`` key,
    :data:`PERIOD`, or ``""`` when the term has none. ``kpi`` is the KPI key the term
    defines (:data:`crmlib.core.kpis.KPI_KINDS`), if any.
    """

    key: str
    name: str            # a msgid: shown through ``_()``
    definition: str      # a msgid: shown through ``_()``, then the windows filled in
    window: str = ""
    kpi: str | None = None


@dataclass(frozen=True)
class GlossaryEntry:
    """A term as a reader sees it: name, definition and window in words."""

    term: str
    definition: str
    window: str


#: Every term, in the order the glossary lists them.
TERMS: tuple[Term, ...] = (
    Term("revenue", N_("Revenue"), N_("Every sale in the period, including sales without a known customer."),
         PERIOD, "revenue"),
    Term("aov", N_("Average order value"), N_("Revenue divided by the number of orders (one order is one invoice)."),
         PERIOD, "aov"),
    Term("active", N_("Active customers"), N_("Known customers who bought at least once in the period."),
         PERIOD, "active_customers"),
    Term("new", N_("New customers"), N_("Active customers whose first purchase falls in the period."),
         PERIOD, "new_customers"),
    Term("returning", N_("Returning customers"),
         N_("Active customers who had bought before the period (new + returning = active)."),
         PERIOD, "returning_customers"),
    Term("live", N_("Live customers"),
         N_("Customers whose last purchase is less than {churn_days} days old."), "churn_days", "live_customers"),
    Term("lapsed", N_("Lapsed customers"),
         N_("Customers who have not bought for {churn_days} days or more, so are no longer live."), "churn_days"),
    Term("churned", N_("Lost (churned) customers"),
         N_("Customers live when the period began whose {churn_days} days without a purchase ran out during it."),
         "churn_days", "lost_customers"),
    Term("retained", N_("Retention rate"),
         N_("The share of customers live at the start of the period who are still live at its end "
            "(1 − lost ÷ live at the start)."), "churn_days", "retention_rate"),
    Term("reactivated", N_("Reactivated customers"),
         N_("Returning customers who had lapsed ({churn_days} days or more without a purchase) and bought again "
            "in the period."), "churn_days", "reactivated_customers"),
    Term("repeat", N_("Repeat-purchase rate"),
         N_("The share of active customers with two or more orders in the period."), PERIOD, "repeat_purchase_rate"),
    Term("top20", N_("Top-20 % share"),
         N_("The share of known customers' revenue in the period spent by the fifth of active customers who "
            "spent most."), PERIOD, "top20_revenue_share"),
    Term("customer_base", N_("Customer base"),
         N_("Customers who bought at least once in the last {customer_base_days} days: the customers scored for "
            "churn risk."), "customer_base_days"),
    Term("churn_rate", N_("Churn rate"),
         N_("The share of the customer base who made no purchase in the {churn_days} days after a given date."),
         "churn_days"),
    Term("high_churn_risk", N_("High churn risk"),
         N_("Customers in the customer base with a predicted chance of {high_risk} or more of making no purchase "
            "in the next {churn_days} days."), "churn_days"),
    Term("rfm_at_risk", N_("At Risk (RFM segment)"),
         N_("Customers who used to buy often and spend well but have not bought for a long time compared with "
            "other customers: a group by past behaviour, not a prediction."), ""),
    Term("customer_value", N_("Customer value (CLV)"),
         N_("What a customer is expected to spend over the next {value_horizon_months} months: their chance of "
            "still being active times what they spend when active."), "value_horizon_months"),
    Term("equity", N_("Customer equity"),
         N_("The sum of every customer's expected value over the next {value_horizon_months} months."),
         "value_horizon_months", "customer_equity"),
    Term("value_at_risk", N_("Value at risk"),
         N_("For customers at high churn risk, their chance of leaving times their expected value, added up: the "
            "value we expect to lose if nothing is done."), "churn_days"),
    Term("control_group", N_("Control group"),
         N_("Customers on a contact list who are deliberately not contacted, so that the effect of contacting the "
            "others can be measured."), ""),
    Term("uplift", N_("Uplift"),
         N_("How much better the contacted customers did than the control group (response rate or revenue per "
            "customer)."), ""),
    Term("points", N_("Percentage points (pts)"),
         N_("The difference between two percentages: 12 % to 15 % is +3 pts."), ""),
)

_BY_KEY = {t.key: t for t in TERMS}


def term(key: str) -> Term:
    """The term called ``key`` (e.g. ``"value_at_risk"``); an unknown key is a ``KeyError`` naming the keys."""
    if key not in _BY_KEY:
        raise KeyError(f"no term {key!r} in the vocabulary; terms: {', '.join(_BY_KEY)}")
    return _BY_KEY[key]


def kpi_term(kpi: str) -> Term | None:
    """The term defining KPI ``kpi`` (e.g. ``"lost_customers"``), or ``None``."""
    return next((t for t in TERMS if t.kpi == kpi), None)


def _window_words(window: str, days: Mapping[str, int]) -> str:
    """A term's window in words, in the current language."""
    if window == PERIOD:
        return _("The report period")
    if window == "value_horizon_months":
        return _("Next {months} months").format(months=days[window])
    if window == "churn_days":
        return _("{days} days").format(days=days[window])
    if window == "customer_base_days":
        return _("Last {days} days").format(days=days[window])
    return "–"


def define(key: str, config: Mapping[str, Any] | None = None) -> str:
    """The one-sentence definition of ``key`` with the run's windows filled in, in the current language."""
    days = configured_windows(dict(config) if config is not None else None)
    return _(term(key).definition).format(**days, high_risk=format_percent(CHURN_RISK_BANDS[1], 0))


def glossary(config: Mapping[str, Any] | None = None) -> list[GlossaryEntry]:
    """Every term with its definition and window, for the run configured by ``config``.

    ``config`` is the loaded ``workbook.yml`` (``ctx.config``); ``None`` gives the
    default windows. Names, definitions and windows are in the current language
    (:func:`crmlib.core.i18n.set_language`).
    """
    days = configured_windows(dict(config) if config is not None else None)
    return [GlossaryEntry(_(t.name), define(t.key, config), _window_words(t.window, days)) for t in TERMS]


def glossary_frame(config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """:func:`glossary` as a frame with columns ``term``, ``definition``, ``window``."""
    return pd.DataFrame([vars(e) for e in glossary(config)], columns=["term", "definition", "window"])


#: The glossary with the default windows, in English (the site's glossary page renders
#: :func:`glossary` of the run's configuration, in the run's language).
GLOSSARY: tuple[GlossaryEntry, ...] = tuple(glossary())
