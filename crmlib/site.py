"""The report site: notebook pages rendered to HTML, a page per period, an index of periods.

Managers read these pages, so they carry no code (inputs hidden), no warnings or
tracebacks (stderr and error outputs removed: :class:`ManagerView`), and load nothing
from the internet: no scripts, no web fonts, charts embedded as light PNGs with their
titles as alt text (:mod:`crmlib.core.chart_output`), and one stylesheet per folder
(laptop, phone and A4 print) linked relatively. Numbers use the currency of
``workbook.yml`` and the core's formatters. Every page is rendered from a jinja2
template in ``crmlib/templates/`` (notebook pages extend nbconvert's ``lab/base``
cell markup with a page head of our own); titles and descriptions come from the pages'
declarations. Layout of ``reports/`` (the paths live in :mod:`crmlib.core.layout`)::

    index.html             periods, newest first, with headline KPIs
    style.css              the house style (of the index)
    2011-11/index.html     the period page: headline KPIs, pages (summary first), downloads
    2011-11/style.css      the house style, once for all the period's pages
    2011-11/03_clv.html    one page per notebook; glossary.html when the core has a vocabulary
    2011-11/downloads/     CSV files the pages link to
    2011-11/analyst.html   lists the analysts' files:
    2011-11/analyst/artifacts/, analyst/notebooks/   parquet/json artifacts, executed notebooks

Headline numbers come only from the metrics of the page that reads every other page
(the summary's ``metrics/00_summary.json``); a period without it still gets listed.

Language (``docs/translating.md``): each renderer runs in the language of its ``config``
(:func:`crmlib.core.i18n.in_config_language`); page titles, descriptions and template
words go through ``_()`` (a jinja2 global in the templates), numbers and dates through
the language-aware formatters, and the other language's notebook cells are removed
(:func:`crmlib.core.bilingual.language_preprocessor` in :func:`page_preprocessors`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from crmlib.core import bilingual, i18n, layout, vocabulary, writer
from crmlib.core.formatting import as_number, format_date, format_period
from crmlib.core.kpis import KPI_LABELS, format_kpi, format_kpi_change
from crmlib.core.pages import Page, load_pages

TEMPLATES = Path(str(resources.files("crmlib") / "templates"))

#: KPIs shown for each period on the index pages (keys of the summary's metrics).
INDEX_KPIS = ["revenue", "active_customers", "new_customers", "retention_rate"]
PERIOD_KPIS = ["revenue", "orders", "aov", "active_customers", "new_customers", "retention_rate"]

#: The optional glossary page (``glossary.html``) and its navigation link.
GLOSSARY_PAGE = "glossary"
GLOSSARY_LINK = {"name": GLOSSARY_PAGE, "title": i18n.N_("Glossary")}   # title translated in _nav

_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
_environment.globals.update(i18n.jinja_globals())   # _("...") in templates: the current language


def _summary_name(pages: Mapping[str, Page]) -> str | None:
    """The page that reads every other page (the executive summary), if one is declared."""
    return next((name for name, page in pages.items() if page.reads_all), None)


def _nav(period: str, names: list[str], current: str | None, pages: Mapping[str, Page],
         extra_links: list[dict[str, str]] | None = None) -> dict[str, Any]:
    links = [{"name": n, "title": pages[n].title if n in pages else n} for n in names]
    links = [{**link, "title": i18n._(link["title"])} for link in links + list(extra_links or [])]
    return {"up": "..", "current": current, "period_label": format_period(period), "links": links}


class ManagerView(Preprocessor):
    """Drop what a manager must not see: stderr streams, error outputs, the parameters cells."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[nbformat.NotebookNode, dict]:
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
        return nb, resources


def page_preprocessors(config: Mapping[str, Any] | None = None) -> list[Preprocessor]:
    """The nbconvert preprocessors every page goes through before rendering, in order.

    The hook for whatever changes what a reader sees of a notebook: the manager view, then
    the language filter (drops the cells tagged ``lang-xx`` for languages other than the
    report's, :func:`crmlib.core.bilingual.language_preprocessor`).
    """
    return [ManagerView(), bilingual.language_preprocessor(i18n.config_language(config))]


def page_exporter(config: Mapping[str, Any] | None = None) -> HTMLExporter:
    """nbconvert's exporter for report pages: our template, inputs and prompts hidden, no anchor links."""
    exporter = HTMLExporter(
        template_name="lab", template_file="notebook_page.html.j2", extra_template_paths=[str(TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, exclude_anchor_links=True,
    )
    for preprocessor in page_preprocessors(config):
        exporter.register_preprocessor(preprocessor, enabled=True)
    exporter.language_code = i18n.config_language(config)          # <html lang=...>
    exporter.environment.globals.update(i18n.jinja_globals())
    return exporter


@i18n.in_config_language
def render_pages(executed_dir: Path, out_dir: Path, names: list[str], *, period: str,
                 config: Mapping[str, Any] | None = None, extra_links: list[dict[str, str]] | None = None) -> list[Path]:
    """Render each executed notebook to ``out_dir/<name>.html``: no code, no scripts, one stylesheet.

    ``config`` (``workbook.yml``) tells which pages are declared, for their titles;
    ``extra_links`` (``{"name", "title"}``) are pages after them in the navigation (the glossary).
    """
    pages = load_pages(config)
    exporter = page_exporter(config)
    out = []
    for name in names:
        title = i18n._(pages[name].title) if name in pages else name
        nb = nbformat.read(Path(executed_dir) / f"{name}.ipynb", as_version=4)
        nb.metadata["title"] = f"{title} · {format_period(period)}"
        as_of = _read_metrics(out_dir, name).get("as_of")
        footer = f"{title} · {format_period(period)}" + (
            " · " + i18n._("data up to {date}").format(date=format_date(as_of)) if as_of else "")
        crm = {"nav": _nav(period, names, name, pages, extra_links), "footer": footer, "css": layout.STYLESHEET}
        body, _ = exporter.from_notebook_node(nb, resources={"crm": crm})
        out.append(writer.write_text(Path(out_dir) / f"{name}.html", body))
    return out


def glossary_entries(config: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """(term, one-sentence definition with its window) pairs for the glossary page, from
    the one vocabulary (:func:`crmlib.core.vocabulary.glossary`) with the run's windows, in the
    current language."""
    return [(e.term, i18n._("{definition} Window: {window}.").format(
                definition=e.definition, window=f"{e.window[:1].lower()}{e.window[1:]}") if e.window else e.definition)
            for e in vocabulary.glossary(config)]


@i18n.in_config_language
def write_glossary(period_dir: Path, *, period: str, names: list[str], config: Mapping[str, Any],
                   entries: list[tuple[str, str]]) -> Path:
    """``<period>/glossary.html``: each term a manager meets, defined in one sentence."""
    html = _environment.get_template("glossary.html.j2").render(
        title=f"{i18n._('Glossary')} · {format_period(period)}", css=layout.STYLESHEET, entries=entries,
        nav=_nav(period, names, GLOSSARY_PAGE, load_pages(config), [GLOSSARY_LINK]),
    )
    return writer.write_text(Path(period_dir) / f"{GLOSSARY_PAGE}.html", html)


def _size(nbytes: int) -> str:
    if nbytes >= 1024:
        return i18n._("{size} KB").format(size=f"{nbytes / 1024:,.0f}")
    return i18n._("{count} bytes").format(count=nbytes)


@i18n.in_config_language
def write_analyst_page(period_dir: Path, *, period: str, names: list[str], config: Mapping[str, Any],
                       extra_links: list[dict[str, str]] | None = None) -> Path:
    """``<period>/analyst.html``: the run's data files and executed notebooks, for analysts."""
    period_dir = Path(period_dir)
    folder = period_dir / layout.ANALYST
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    rows = [{"href": quote(p.relative_to(period_dir).as_posix()), "name": p.relative_to(folder).as_posix(),
             "size": _size(p.stat().st_size)} for p in files]
    html = _environment.get_template("analyst_files.html.j2").render(
        title=f"{i18n._('Analyst files')} · {format_period(period)}", css=layout.STYLESHEET, rows=rows,
        nav=_nav(period, names, None, load_pages(config), extra_links),
    )
    return writer.write_text(period_dir / layout.ANALYST_PAGE, html)


@i18n.in_config_language
def build_period(run_dir: Path, names: list[str], *, period: str, as_of: Any,
                 config: Mapping[str, Any]) -> list[Path]:
    """Turn a finished run folder into a period of the report site; returns the notebook pages.

    The analysts' files move under ``analyst/`` (:func:`crmlib.core.layout.arrange_for_managers`),
    then the pages, the glossary (when the core has a vocabulary), the analyst files page,
    the period index and the period's ``style.css`` are written.
    """
    run_dir = Path(run_dir)
    layout.arrange_for_managers(run_dir)
    entries = glossary_entries(config)
    extra = [GLOSSARY_LINK] if entries else []
    pages = render_pages(layout.notebooks_dir(run_dir), run_dir, names, period=period, config=config,
                         extra_links=extra)
    if entries:
        write_glossary(run_dir, period=period, names=names, config=config, entries=entries)
    write_analyst_page(run_dir, period=period, names=names, config=config, extra_links=extra)
    write_period_index(run_dir, period=period, as_of=as_of, config=config)
    write_stylesheet(run_dir)
    return pages


def write_stylesheet(folder: Path) -> Path:
    """Copy the house style into ``folder`` (a period, or the site root), once for all its pages."""
    return writer.write_text(Path(folder) / layout.STYLESHEET, (TEMPLATES / "style.css").read_text(encoding="utf-8"))


def _read_metrics(folder: Path, name: str | None) -> dict[str, Any]:
    path = layout.metrics_path(folder, name) if name else None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else {}
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
    """``<period>/index.html``: headline KPIs, the period's pages in page order (summary first), downloads.

    Links the glossary and the analyst files page when the period has them.
    """
    period_dir = Path(period_dir)
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
    extra = [GLOSSARY_LINK] if (period_dir / f"{GLOSSARY_PAGE}.html").is_file() else []
    downloads = sorted((period_dir / layout.DOWNLOADS).glob("*.csv")) if (period_dir / layout.DOWNLOADS).is_dir() else []
    html = _environment.get_template("period_index.html.j2").render(
        title=i18n._("CRM report {period}").format(period=format_period(period)), css=layout.STYLESHEET, nav=_nav(period, names, None, pages, extra),
        period_label=format_period(period), as_of=format_date(as_of), rows=rows,
        cards=_kpi_cards(summary, PERIOD_KPIS, config.get("currency", "GBP")),
        downloads=[{"href": f"{layout.DOWNLOADS}/{quote(p.name)}", "name": p.name, "size": _size(p.stat().st_size)}
                   for p in downloads],
        analyst_page=layout.ANALYST_PAGE if (period_dir / layout.ANALYST_PAGE).is_file() else None,
    )
    return writer.write_text(period_dir / "index.html", html)


@i18n.in_config_language
def write_site_index(reports_dir: Path, *, config: Mapping[str, Any]) -> Path:
    """``reports/index.html``: every period, newest first, with headline KPIs; and ``style.css``."""
    reports_dir = Path(reports_dir)
    write_stylesheet(reports_dir)
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
        title=i18n._("CRM reports"), css=layout.STYLESHEET, currency=currency, rows=rows,
        kpi_labels=[i18n._(KPI_LABELS.get(k, k)) for k in INDEX_KPIS],
    )
    return writer.write_text(reports_dir / "index.html", html)
