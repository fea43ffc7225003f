"""The report site: notebook pages rendered to HTML, a page per period, an index of periods.

Managers read these pages, so they carry no code (inputs hidden), no warnings or
tracebacks (stderr and error outputs removed), one stylesheet (laptop screen and A4
print), and navigation between the period's pages. Numbers use the currency of
``workbook.yml`` and the core's formatters. Every page is rendered from a jinja2
template in ``crmlib/templates/`` (notebook pages extend nbconvert's ``lab`` template);
titles and descriptions come from the pages' declarations. Layout of ``reports/``::

    index.html            periods, newest first, with headline KPIs
    style.css             the one house style
    2011-11/index.html    the period page: headline KPIs, summary first, then one link per page
    2011-11/03_clv.html   one page per notebook
    2011-11/artifacts/    parquet/json artifacts of the run
    2011-11/notebooks/    the executed notebooks (for analysts)

Headline numbers come only from the metrics of the page that reads every other page
(the summary's ``artifacts/metrics/00_summary.json``); a period without it still gets listed.

Language (``docs/translating.md``): each renderer runs in the language of its ``config``
(:func:`crmlib.core.i18n.in_config_language`); page titles, descriptions and template
words go through ``_()`` (a jinja2 global in the templates), numbers and dates through
the language-aware formatters, and the other language's notebook cells are removed
(:func:`crmlib.core.bilingual.language_preprocessor`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from crmlib.core import bilingual, i18n, writer
from crmlib.core.formatting import as_number, format_date, format_period
from crmlib.core.kpis import KPI_LABELS, format_kpi, format_kpi_change
from crmlib.core.pages import Page, load_pages

TEMPLATES = Path(str(resources.files("crmlib") / "templates"))

#: KPIs shown for each period on the index pages (keys of the summary's metrics).
INDEX_KPIS = ["revenue", "active_customers", "new_customers", "retention_rate"]
PERIOD_KPIS = ["revenue", "orders", "aov", "active_customers", "new_customers", "retention_rate"]

_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
_environment.globals.update(i18n.jinja_globals())   # _("...") in templates: the current language


def _summary_name(pages: Mapping[str, Page]) -> str | None:
    """The page that reads every other page (the executive summary), if one is declared."""
    return next((name for name, page in pages.items() if page.reads_all), None)


def _nav(period: str, names: list[str], current: str | None, pages: Mapping[str, Page]) -> dict[str, Any]:
    return {"up": "..", "current": current, "period_label": format_period(period),
            "links": [{"name": n, "title": i18n._(pages[n].title) if n in pages else n} for n in names]}


def _clean_for_managers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what a manager must not see: stderr streams, error outputs, the parameters cells."""
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs
                if not (o.output_type == "stream" and o.get("name") == "stderr") and o.output_type != "error"
            ]
        cells.append(cell)
    nb.cells = cells
    return nb


@i18n.in_config_language
def render_pages(executed_dir: Path, out_dir: Path, names: list[str], *, period: str,
                 config: Mapping[str, Any] | None = None) -> list[Path]:
    """Render each executed notebook to ``out_dir/<name>.html`` with code hidden.

    ``config`` (``workbook.yml``) tells which pages are declared, for their titles.
    """
    from nbconvert import HTMLExporter

    pages = load_pages(config)
    exporter = HTMLExporter(
        template_name="lab", template_file="notebook_page.html.j2", extra_template_paths=[str(TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )
    exporter.register_preprocessor(bilingual.language_preprocessor(i18n.get_language()), enabled=True)
    exporter.language_code = i18n.get_language()                # <html lang=...>
    exporter.environment.globals.update(i18n.jinja_globals())
    out = []
    for name in names:
        title = i18n._(pages[name].title) if name in pages else name
        nb = _clean_for_managers(nbformat.read(executed_dir / f"{name}.ipynb", as_version=4))
        nb.metadata["title"] = f"{title} · {format_period(period)}"
        as_of = _read_metrics(out_dir, name).get("as_of")
        footer = f"{title} · {format_period(period)}" + (
            " · " + i18n._("data up to {date}").format(date=format_date(as_of)) if as_of else "")
        body, _ = exporter.from_notebook_node(nb, resources={"crm": {"nav": _nav(period, names, name, pages),
                                                                     "footer": footer}})
        out.append(writer.write_text(out_dir / f"{name}.html", body))
    return out


def _read_metrics(folder: Path, name: str | None) -> dict[str, Any]:
    path = folder / "artifacts" / "metrics" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if name and path.is_file() else {}
    except (OSError, ValueError):  # a damaged metrics file must not break the index
        return {}
    return data if isinstance(data, dict) else {}


def _kpi_cards(summary: dict[str, Any], keys: list[str], currency: str) -> list[dict[str, str]]:
    changes = summary.get("change_vs_previous") or {}
    cards = []
    for key in keys:
        if as_number(summary.get(key)) is None:
            continue
        change = changes.get(key) if isinstance(changes, dict) else None
        cards.append({"label": i18n._(KPI_LABELS.get(key, key)), "value": format_kpi(key, summary.get(key), currency),
                      "change": format_kpi_change(key, change) if as_number(change) is not None else ""})
    return cards


@i18n.in_config_language
def write_period_index(period_dir: Path, *, period: str, as_of: Any, config: Mapping[str, Any]) -> Path:
    """``<period>/index.html``: headline KPIs, then the period's pages in page order (summary first)."""
    pages = load_pages(config)
    present = {p.stem for p in period_dir.glob("[0-9][0-9]_*.html")}
    names = [n for n in pages if n in present] + sorted(present - set(pages))
    rows = []
    for n in names:
        warnings = _read_metrics(period_dir, n).get("warnings") or []
        note = i18n._("1 caveat on the page") if len(warnings) == 1 else i18n._("{count} caveats on the page")
        rows.append({"name": n, "title": i18n._(pages[n].title) if n in pages else n,
                     "description": i18n._(pages[n].description) if n in pages else "",
                     "note": note.format(count=len(warnings)) if warnings else ""})
    summary = _read_metrics(period_dir, _summary_name(pages))
    html = _environment.get_template("period_index.html.j2").render(
        title=i18n._("CRM report {period}").format(period=format_period(period)), css="../style.css", nav=_nav(period, names, None, pages),
        period_label=format_period(period), as_of=format_date(as_of), rows=rows,
        cards=_kpi_cards(summary, PERIOD_KPIS, config.get("currency", "GBP")),
    )
    return writer.write_text(period_dir / "index.html", html)


@i18n.in_config_language
def write_site_index(reports_dir: Path, *, config: Mapping[str, Any]) -> Path:
    """``reports/index.html``: every period, newest first, with headline KPIs; and ``style.css``."""
    reports_dir = Path(reports_dir)
    writer.write_text(reports_dir / "style.css", (TEMPLATES / "style.css").read_text(encoding="utf-8"))
    currency = config.get("currency", "GBP")
    summary_name = _summary_name(load_pages(config))
    periods = sorted(
        (p for p in reports_dir.iterdir() if p.is_dir() and (p / "index.html").is_file() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    rows = []
    for p in periods:
        summary = _read_metrics(p, summary_name)
        as_of = summary.get("as_of")
        rows.append({
            "period": p.name, "period_label": format_period(p.name),
            "summary": summary_name if summary_name and (p / f"{summary_name}.html").is_file() else None,
            "as_of": format_date(as_of) if as_of else "–",
            "kpis": [format_kpi(k, summary.get(k), currency) for k in INDEX_KPIS],
        })
    html = _environment.get_template("site_index.html.j2").render(
        title=i18n._("CRM reports"), css="style.css", currency=currency, rows=rows,
        kpi_labels=[i18n._(KPI_LABELS.get(k, k)) for k in INDEX_KPIS],
    )
    return writer.write_text(reports_dir / "index.html", html)
