"""The summary page's words: overview, headline table, findings, caveats and the glossary.

Data values in sentences go through :func:`crmlib.core.text.md`; tables through
:func:`crmlib.core.tables.manager_table`. The words follow :mod:`crmlib.core.vocabulary`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from crmlib.core.formatting import as_number, format_count, format_date, format_money, format_percent, format_period
from crmlib.core.i18n import N_, _
from crmlib.core.kpis import HEADLINE_KPIS, KPI_LABELS, format_kpi, format_kpi_change, format_kpi_delta
from crmlib.core.pages import Page
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md_link
from crmlib.core.vocabulary import glossary_frame

#: Headers of the glossary table (msgids, shown through ``_()``).
GLOSSARY_HEADERS = {"term": N_("Term"), "definition": N_("What it means"), "window": N_("Window")}


def glossary_table(config: Mapping[str, Any] | None = None) -> ManagerTable:
    """The glossary: every term of the report in one sentence, with its window (the run's ``windows:``),
    in the current language."""
    return manager_table(glossary_frame(config), {c: _(h) for c, h in GLOSSARY_HEADERS.items()})


def headline_table(comparison: pd.DataFrame, currency: str = "GBP", *, year_ago: bool = True,
                   kpis: list[str] | None = None) -> ManagerTable:
    """The headline table: each KPI now, and its change on the previous period (and last year).

    Changes carry an arrow and the classes ``delta good`` / ``delta bad`` / ``delta flat``
    (:func:`crmlib.core.kpis.format_kpi_delta`). ``year_ago=False`` leaves the "same period
    last year" column out (too little history; the page says so once). A KPI without a value
    this period (e.g. customer equity when the value page did not run) is left out.
    """
    rows = [k for k in (kpis or HEADLINE_KPIS) if k in comparison.index
            and as_number(comparison.loc[k, "current"]) is not None]
    frame = pd.DataFrame({
        "kpi": [_(KPI_LABELS.get(k, k)) for k in rows],
        "now": [format_kpi(k, comparison.loc[k, "current"], currency) for k in rows],
    })
    columns: dict[str, Any] = {"kpi": _("KPI"), "now": (_("This period"), "figure")}
    classes: dict[str, list[str]] = {}
    changes = [("previous", "change_vs_previous", _("vs previous period"))]
    if year_ago:
        changes.append(("year", "change_vs_year", _("vs same period last year")))
    for name, column, header in changes:
        deltas = [format_kpi_delta(k, comparison.loc[k, column]) for k in rows]
        frame[name] = [text for text, _css in deltas]
        classes[name] = [css for _text, css in deltas]
        columns[name] = (header, "figure")
    return manager_table(frame, columns, currency=currency, cell_classes=classes)


def kpi_overview_markdown(comparison: pd.DataFrame, period: str, as_of: Any, currency: str = "GBP") -> str:
    """Two or three sentences on the period, generated from the numbers (in the current language)."""
    c = comparison["current"]
    if as_number(c.get("revenue")) is None:
        return _("There are no sales in {period} up to {date}.").format(period=format_period(period),
                                                                         date=format_date(as_of))
    numbers = {
        "period": format_period(period), "date": format_date(as_of), "revenue": format_money(c["revenue"], currency),
        "orders": format_count(c["orders"]), "aov": format_money(c["aov"], currency),
        "active": format_count(c["active_customers"]), "new": format_count(c["new_customers"]),
        "returning": format_count(c["returning_customers"]),
    }
    change = as_number(comparison.loc["revenue", "change_vs_previous"])
    if change is not None:
        sales = _("In **{period}** (data up to {date}) the business sold **{revenue}** in {orders} orders "
                  "(average order {aov}, revenue {change} on the previous period).").format(
            **numbers, change=format_kpi_change("revenue", change))
    else:
        sales = _("In **{period}** (data up to {date}) the business sold **{revenue}** in {orders} orders "
                  "(average order {aov}).").format(**numbers)
    if as_number(c.get("reactivated_customers")) is not None:
        customers = _("{active} known customers bought: {new} new and {returning} returning (of whom "
                      "{reactivated} came back after a lapse).").format(
            **numbers, reactivated=format_count(c["reactivated_customers"]))
    else:
        customers = _("{active} known customers bought: {new} new and {returning} returning.").format(**numbers)
    sentences = [sales, customers]
    if as_number(c.get("retention_rate")) is not None:
        sentences.append(_("Of the {at_start} customers live at the start, {lost} were lost (retention "
                           "{retention}).").format(at_start=format_count(c["customers_at_start"]),
                                                   lost=format_count(c["lost_customers"]),
                                                   retention=format_percent(c["retention_rate"])))
    return " ".join(sentences)


def analysis_metrics(read_metrics: Any, as_of: Any, pages: Mapping[str, Page]) -> dict[str, dict[str, Any] | None]:
    """Every analysis page's metrics for this ``as_of`` (``None`` when absent or stale).

    ``read_metrics`` is e.g. ``ctx.read_metrics``; ``pages`` the declared pages
    (:func:`crmlib.core.pages.load_pages`); pages that read every other page (the
    summary itself) are left out. Metrics written for another analysis date (an earlier
    run left in the artifacts folder) count as "not run", so the summary never mixes
    periods.
    """
    day = str(pd.Timestamp(as_of).date())
    out: dict[str, dict[str, Any] | None] = {}
    for name, page in pages.items():
        if page.reads_all:
            continue
        m = read_metrics(name)
        out[name] = m if m and m.get("as_of") in (None, day) else None
    return out


def findings(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
             currency: str = "GBP") -> list[str]:
    """Plain-language findings, one per analysis page, each linking to its page.

    ``metrics`` maps page names to their ``metrics/*.json`` content, or ``None`` when
    that page did not run ("not run for this period"); a page that was not applicable
    says why. Each line comes from the page's own ``finding`` (its declaration); a page
    without one, or whose finding returns ``None``, gets "ran; see the page". Errors in a
    finding are not hidden: a producer and the summary must not drift apart silently.
    Titles and sentences are in the current language (a page's finding speaks it too).
    """
    out = []
    for name, page in pages.items():
        if page.reads_all or name not in metrics:
            continue
        m = metrics[name]
        title = _(page.title)
        link = md_link(title, f"{name}.html")
        if not m:
            out.append(_("**{page}**: not run for this period.").format(page=title))
            continue
        if m.get("not_applicable"):
            out.append(_("**{page}**: not available for this period: {reason}").format(
                page=link, reason=m["not_applicable"]))
            continue
        text = page.finding(m, currency) if page.finding else None
        out.append(f"**{link}**: {text}" if text else _("**{page}**: ran; see the page for details.").format(page=link))
    return out


def findings_markdown(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
                      currency: str = "GBP") -> str:
    """:func:`findings` as a markdown bullet list."""
    return "\n".join(f"- {f}" for f in findings(metrics, pages, currency))


#: Words that mark a caveat about fitting a model (for analysts, not managers), in English
#: and in Korean (a Korean report's pages write their notes in Korean).
ANALYST_WORDS = re.compile(
    r"BG/NBD|Pareto/NBD|Gamma-Gamma|\bmodels?\b|parameters?\b|penali[sz]er|converge|at (?:their|its) bounds|"
    r"\brungs?\b|ladder|ROC|AUC|silhouette|FP-growth|holdout|calibrat|log-likelihood|"
    r"모델|모형|매개변수|파라미터|벌점|수렴|실루엣|홀드아웃|캘리브레이션|로그우도", re.IGNORECASE)


def is_analyst_note(text: str) -> bool:
    """Whether a caveat is about model fitting (shown in the analysts' section)."""
    return bool(ANALYST_WORDS.search(text))


def caveats(metrics: Mapping[str, Mapping[str, Any] | None], pages: Mapping[str, Page],
            extra: list[str] | None = None) -> dict[str, list[str]]:
    """Caveats for managers and notes for analysts, in page order, then ``extra``; deduplicated.

    Returns ``{"managers": [...], "analysts": [...]}``. A page's ``warnings`` go to
    managers unless they are about model fitting (:func:`is_analyst_note`); its
    ``analyst_notes`` (optional) go to analysts. Each item links to its page.
    """
    out: dict[str, list[str]] = {"managers": [], "analysts": []}

    def add(who: str, text: str) -> None:
        if text not in out[who]:
            out[who].append(text)

    for name, m in metrics.items():
        page = md_link(_(pages[name].title) if name in pages else name, f"{name}.html")
        see = _("{caveat} (see {page})")
        for w in (m or {}).get("warnings") or []:
            add("analysts" if is_analyst_note(w) else "managers", see.format(caveat=w, page=page))
        for w in (m or {}).get("analyst_notes") or []:
            add("analysts", see.format(caveat=w, page=page))
    for w in extra or []:
        add("analysts" if is_analyst_note(w) else "managers", w)
    return out


def caveats_markdown(items: list[str], empty: str | None = None) -> str:
    """Caveats as a markdown list, or ``empty`` when there are none (by default: no
    data-quality warnings, in the current language)."""
    if items:
        return "\n".join(f"- {w}" for w in items)
    return _("No data-quality warnings were raised in this run.") if empty is None else empty
