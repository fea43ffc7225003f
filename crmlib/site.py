"""The report site: notebook pages rendered to HTML, a page per period, an index of periods.

Managers read these pages, so they carry no code (inputs hidden), no warnings or
tracebacks (stderr and error outputs removed), one stylesheet (laptop screen and A4
print), and navigation between the period's pages. Numbers use the currency of
``workbook.yml`` and thousands separators; dates read like 30 Nov 2011. Layout of
``reports/``::

    index.html            periods, newest first, with headline KPIs
    style.css             the one house style
    2011-11/index.html    the period page: headline KPIs, summary first, then one link per analysis
    2011-11/03_clv.html   one page per notebook
    2011-11/artifacts/    parquet/json artifacts of the run
    2011-11/notebooks/    the executed notebooks (for analysts)

Headline numbers come only from each period's ``artifacts/metrics/00_summary.json``
(written by :func:`crmlib.kpi.summary_metrics`); a period without it still gets listed.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import nbformat

from crmlib import kpi

TITLES = kpi.PAGE_TITLES

DESCRIPTIONS = {
    "00_summary": "This period's KPIs against last period and last year, trends, and what to act on.",
    "01_data_cleaning": "What data came in, what was set aside and why, and how far the numbers can be trusted.",
    "02_segmentation": "Who our customers are: RFM segments, behavioural groups, life-cycle stages, cohorts.",
    "03_clv": "What customers are worth over the coming months, and the customer base's total value.",
    "04_churn": "Who is likely to leave, why, what it is worth, and whom to contact first.",
    "05_basket": "What sells together, bundles and cross-sells to try, next-best products per customer.",
}

#: KPIs shown for each period on the index pages (keys of metrics/00_summary.json).
INDEX_KPIS = ["revenue", "active_customers", "new_customers", "retention_rate"]
PERIOD_KPIS = ["revenue", "orders", "aov", "active_customers", "new_customers", "retention_rate"]

CSS = """
/* CRM Workbook house style: one sheet for every page, screen and A4 print. */
:root { --ink:#1d2733; --muted:#5b6b7b; --accent:#1f4e79; --line:#dde3ea; --bg:#ffffff; --soft:#f4f7fa;
        --good:#2e7d32; --bad:#b3261e; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; line-height: 1.5; }
a { color: var(--accent); }
.crm-nav { background: var(--accent); color: #fff; padding: .6rem 1.2rem; display: flex; flex-wrap: wrap;
           gap: .2rem 1rem; align-items: baseline; font-size: .95rem; }
.crm-nav a { color: #fff; text-decoration: none; opacity: .85; }
.crm-nav a:hover, .crm-nav a.current { opacity: 1; text-decoration: underline; }
.crm-nav .brand { font-weight: 700; margin-right: 1rem; opacity: 1; }
main.crm-page { max-width: 1000px; margin: 0 auto; padding: 1.2rem; }
h1 { font-size: 1.6rem; margin: .4rem 0 .6rem; }
h2 { font-size: 1.25rem; margin: 1.6rem 0 .6rem; }
.muted { color: var(--muted); }
.crm-footer { color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); margin-top: 2rem;
              padding-top: .6rem; }
table.crm-table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
table.crm-table th, table.crm-table td { border-bottom: 1px solid var(--line); padding: .45rem .6rem;
           text-align: left; vertical-align: top; }
table.crm-table th { font-size: .85rem; color: var(--muted); font-weight: 600; }
table.crm-table td.num, table.crm-table th.num { text-align: right; font-variant-numeric: tabular-nums;
           white-space: nowrap; }
.crm-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .8rem; margin: 1rem 0; }
.crm-card { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; }
.crm-card .label { font-size: .8rem; color: var(--muted); }
.crm-card .value { font-size: 1.35rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.crm-card .change { font-size: .8rem; color: var(--muted); }
/* Notebook pages (nbconvert lab template): same width, fonts and tables as the index pages. */
body.jp-Notebook { padding: 0; margin: 0; font-family: inherit; }
body.jp-Notebook > main { max-width: 1000px; margin: 0 auto; padding: 1.2rem; }
footer.crm-footer { max-width: 1000px; margin: 2rem auto 0; padding: .6rem 1.2rem 1.2rem; }
.jp-RenderedHTMLCommon { font-family: inherit; font-size: 1rem; color: var(--ink); }
.jp-RenderedHTMLCommon table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td { border: 0; border-bottom: 1px solid var(--line);
           padding: .35rem .6rem; font-variant-numeric: tabular-nums; }
.jp-RenderedHTMLCommon thead th { color: var(--muted); font-weight: 600; }
.jp-RenderedImage img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
@media (max-width: 640px) { main.crm-page, body.jp-Notebook > main { padding: .6rem; } h1 { font-size: 1.35rem; } }
@media print {
  @page { size: A4; margin: 15mm 12mm; }
  html { font-size: 11pt; }
  body { background: #fff; }
  .crm-nav { background: none; color: var(--ink); border-bottom: 1px solid var(--line); padding: 0 0 .3rem; }
  .crm-nav a { color: var(--ink); opacity: 1; }
  .crm-nav a:not(.brand):not(.current) { display: none; }
  main.crm-page, body.jp-Notebook > main, footer.crm-footer { max-width: none; padding: 0; margin: 0; }
  a { color: var(--ink); text-decoration: none; }
  img { max-width: 100% !important; page-break-inside: avoid; break-inside: avoid; }
  h1, h2, h3 { page-break-after: avoid; break-after: avoid; }
  table, tr, .crm-card, .jp-Cell-outputWrapper { page-break-inside: avoid; break-inside: avoid; }
  .crm-card { background: none; }
}
"""


def title_of(name: str) -> str:
    """A notebook's page title (``03_clv`` -> "Customer lifetime value")."""
    return TITLES.get(name, name.split("_", 1)[-1].replace("_", " ").capitalize())


def fmt_date(day: Any) -> str:
    """Unambiguous dates for managers: 30 Nov 2011 (one implementation: :func:`crmlib.kpi.format_date`)."""
    return kpi.format_date(day)


def _nav(period: str, names: list[str], current: str | None, up: str = "..") -> str:
    links = [f'<a class="brand" href="{up}/index.html">CRM Workbook</a>',
             f'<a href="index.html"{" class=current" if current is None else ""}>{html.escape(kpi.format_period(period))}</a>']
    for name in names:
        cls = ' class="current"' if name == current else ""
        links.append(f'<a href="{name}.html"{cls}>{html.escape(title_of(name))}</a>')
    return f'<nav class="crm-nav">{"".join(links)}</nav>'


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


def render_pages(
    executed_dir: Path, out_dir: Path, names: list[str], *, config: dict[str, Any], period: str
) -> list[Path]:
    """Render each executed notebook to ``out_dir/<name>.html`` with code hidden."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    pages = []
    for name in names:
        nb = _clean_for_managers(nbformat.read(executed_dir / f"{name}.ipynb", as_version=4))
        nb.metadata["title"] = f"{title_of(name)} · {kpi.format_period(period)}"
        body, _ = exporter.from_notebook_node(nb)
        head = '<link rel="stylesheet" href="../style.css">'
        body = body.replace("</head>", f"{head}</head>", 1)
        i = body.index(">", body.index("<body")) + 1
        body = body[:i] + _nav(period, names, name) + body[i:]
        as_of = _read_metrics(out_dir, name).get("as_of")
        footer = (f'<footer class="crm-footer">{html.escape(title_of(name))} · '
                  f'{html.escape(kpi.format_period(period))}'
                  + (f" · data up to {html.escape(fmt_date(as_of))}" if as_of else "") + "</footer>")
        j = body.rindex("</body>")
        body = body[:j] + footer + body[j:]
        page = out_dir / f"{name}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
    return pages


def _read_metrics(folder: Path, name: str) -> dict[str, Any]:
    path = folder / "artifacts" / "metrics" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):  # a damaged metrics file must not break the index
        return {}
    return data if isinstance(data, dict) else {}


def _page(title: str, nav: str, body: str, css: str) -> str:
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><link rel=stylesheet href=\"{css}\"></head>"
        f"<body>{nav}<main class=crm-page>{body}</main></body></html>"
    )


def _kpi_cards(summary: dict[str, Any], keys: list[str], currency: str) -> str:
    """Headline KPI cards with the change against the previous period."""
    changes = summary.get("change_vs_previous") or {}
    cards = []
    for key in keys:
        if kpi.as_number(summary.get(key)) is None:
            continue
        change = changes.get(key) if isinstance(changes, dict) else None
        line = (f"<div class=change>{html.escape(kpi.format_change(key, change))} vs previous period</div>"
                if kpi.as_number(change) is not None else "")
        cards.append(
            f'<div class=crm-card><div class=label>{html.escape(kpi.KPI_LABELS.get(key, key))}</div>'
            f'<div class=value>{html.escape(kpi.format_kpi(key, summary.get(key), currency))}</div>{line}</div>'
        )
    return f'<div class=crm-cards>{"".join(cards)}</div>' if cards else ""


def write_period_index(period_dir: Path, *, period: str, as_of: Any, config: dict[str, Any]) -> Path:
    """``<period>/index.html``: headline KPIs, then the period's pages, summary first."""
    names = sorted((p.stem for p in period_dir.glob("[0-9][0-9]_*.html")), key=lambda n: (n != "00_summary", n))
    currency = config.get("currency", "GBP")
    rows = []
    for n in names:
        warnings = _read_metrics(period_dir, n).get("warnings") or []
        note = f"{len(warnings)} caveat{'s' if len(warnings) != 1 else ''} on the page" if warnings else ""
        rows.append(
            f'<tr><td><a href="{n}.html">{html.escape(title_of(n))}</a></td>'
            f"<td>{html.escape(DESCRIPTIONS.get(n, ''))}</td><td class=muted>{html.escape(note)}</td></tr>"
        )
    label = kpi.format_period(period)
    body = (
        f"<h1>CRM report · {html.escape(label)}</h1>"
        f"<p class=muted>Data up to {html.escape(fmt_date(as_of))}. Start with the executive summary; "
        f"each analysis has its own page.</p>"
        + _kpi_cards(_read_metrics(period_dir, "00_summary"), PERIOD_KPIS, currency)
        + "<h2>Pages</h2><table class=crm-table><tr><th>Page</th><th>What it answers</th><th>Notes</th></tr>"
        + "".join(rows) + "</table>"
    )
    path = period_dir / "index.html"
    path.write_text(_page(f"CRM report {label}", _nav(period, names, None), body, "../style.css"), encoding="utf-8")
    return path


def write_site_index(reports_dir: Path, *, config: dict[str, Any]) -> Path:
    """``reports/index.html``: every period, newest first, with headline KPIs; and ``style.css``."""
    reports_dir = Path(reports_dir)
    (reports_dir / "style.css").write_text(CSS, encoding="utf-8")
    currency = config.get("currency", "GBP")
    periods = sorted(
        (p for p in reports_dir.iterdir() if p.is_dir() and (p / "index.html").is_file() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    head = "".join(f"<th class=num>{html.escape(kpi.KPI_LABELS.get(k, k))}</th>" for k in INDEX_KPIS)
    rows = []
    for p in periods:
        summary = _read_metrics(p, "00_summary")
        cells = "".join(f"<td class=num>{html.escape(kpi.format_kpi(k, summary.get(k), currency))}</td>" for k in INDEX_KPIS)
        as_of = summary.get("as_of")
        summary_link = ' · <a href="{0}/00_summary.html">summary</a>'.format(html.escape(p.name)) \
            if (p / "00_summary.html").is_file() else ""
        rows.append(
            f'<tr><td><a href="{html.escape(p.name)}/index.html">{html.escape(kpi.format_period(p.name))}</a>'
            f"{summary_link}</td><td>{html.escape(fmt_date(as_of)) if as_of else '–'}</td>{cells}</tr>"
        )
    listing = (
        f"<table class=crm-table><tr><th>Period</th><th>Data up to</th>{head}</tr>{''.join(rows)}</table>"
        if rows else "<p>No reports yet: run <code>crm report</code>.</p>"
    )
    body = (
        "<h1>CRM reports</h1><p class=muted>One report per period, newest first. Revenue includes sales "
        f"without a customer id; amounts in {html.escape(currency)}.</p>{listing}"
    )
    nav = '<nav class="crm-nav"><a class="brand" href="index.html">CRM Workbook</a></nav>'
    path = reports_dir / "index.html"
    path.write_text(_page("CRM reports", nav, body, "style.css"), encoding="utf-8")
    return path
