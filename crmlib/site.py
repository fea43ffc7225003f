"""The report site: notebook pages rendered to HTML, a page per period, an index of periods.

Managers read these pages, so they carry no code (inputs hidden), no warnings or
tracebacks (stderr and error outputs removed), one stylesheet, and navigation between
the period's pages. Layout of ``reports/``::

    index.html            periods, newest first, with headline KPIs
    style.css             the one house style
    2011-11/index.html    the period page: summary first, then one link per analysis
    2011-11/03_clv.html   one page per notebook
    2011-11/artifacts/    parquet/json artifacts of the run
    2011-11/notebooks/    the executed notebooks (for analysts)
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

TITLES = {
    "00_summary": "Executive summary",
    "01_data_cleaning": "Data quality and cleaning",
    "02_segmentation": "Customer segments",
    "03_clv": "Customer lifetime value",
    "04_churn": "Churn risk and retention",
    "05_basket": "Basket analysis and cross-sell",
}

CSS = """
:root { --ink:#1d2733; --muted:#5b6b7b; --accent:#1f4e79; --line:#dde3ea; --bg:#ffffff; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; line-height: 1.5; }
.crm-nav { background: var(--accent); color: #fff; padding: .6rem 1.2rem; display: flex; flex-wrap: wrap;
           gap: .2rem 1rem; align-items: baseline; }
.crm-nav a { color: #fff; text-decoration: none; opacity: .85; }
.crm-nav a:hover, .crm-nav a.current { opacity: 1; text-decoration: underline; }
.crm-nav .brand { font-weight: 700; margin-right: 1rem; opacity: 1; }
main.crm-page { max-width: 1000px; margin: 0 auto; padding: 1.2rem; }
h1 { font-size: 1.6rem; margin: .4rem 0 1rem; }
table.crm-table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
table.crm-table th, table.crm-table td { border-bottom: 1px solid var(--line); padding: .45rem .6rem;
           text-align: left; }
table.crm-table td.num, table.crm-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
@media print {
  @page { size: A4; margin: 15mm; }
  .crm-nav { background: none; color: var(--ink); border-bottom: 1px solid var(--line); }
  .crm-nav a { color: var(--ink); }
  main.crm-page, .jp-Notebook { max-width: none; padding: 0; }
  img { max-width: 100% !important; page-break-inside: avoid; }
  .jp-Cell { page-break-inside: avoid; }
}
"""


def title_of(name: str) -> str:
    return TITLES.get(name, name.split("_", 1)[-1].replace("_", " ").capitalize())


def fmt_date(day: Any) -> str:
    """Unambiguous dates for managers: 30 Nov 2011."""
    return pd.Timestamp(day).strftime("%d %b %Y").lstrip("0")


def _nav(period: str, names: list[str], current: str | None, up: str = "..") -> str:
    links = [f'<a class="brand" href="{up}/index.html">CRM Workbook</a>',
             f'<a href="index.html"{" class=current" if current is None else ""}>{html.escape(period)}</a>']
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
        nb.metadata["title"] = f"{title_of(name)} · {period}"
        body, _ = exporter.from_notebook_node(nb)
        head = '<link rel="stylesheet" href="../style.css">'
        body = body.replace("</head>", f"{head}</head>", 1)
        i = body.index(">", body.index("<body")) + 1
        body = body[:i] + _nav(period, names, name) + body[i:]
        page = out_dir / f"{name}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
    return pages


def _read_metrics(folder: Path, name: str) -> dict[str, Any]:
    path = folder / "artifacts" / "metrics" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _page(title: str, nav: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><link rel=stylesheet href=\"{{css}}\"></head>"
        f"<body>{nav}<main class=crm-page>{body}</main></body></html>"
    )


def write_period_index(period_dir: Path, *, period: str, as_of: Any, config: dict[str, Any]) -> Path:
    """``<period>/index.html``: the period's pages, summary first."""
    names = sorted((p.stem for p in period_dir.glob("[0-9][0-9]_*.html")), key=lambda n: (n != "00_summary", n))
    rows = "".join(
        f'<tr><td><a href="{n}.html">{html.escape(title_of(n))}</a></td>'
        f'<td class=muted>{html.escape(" ".join(_read_metrics(period_dir, n).get("warnings", [])[:1]))}</td></tr>'
        for n in names
    )
    body = (
        f"<h1>CRM report · {html.escape(period)}</h1>"
        f"<p class=muted>Data up to {fmt_date(as_of)}.</p>"
        f"<table class=crm-table><tr><th>Page</th><th>Note</th></tr>{rows}</table>"
    )
    path = period_dir / "index.html"
    path.write_text(_page(f"CRM report {period}", _nav(period, names, None), body).replace("{css}", "../style.css"), encoding="utf-8")
    return path


def write_site_index(reports_dir: Path, *, config: dict[str, Any]) -> Path:
    """``reports/index.html``: every period, newest first, and ``style.css``."""
    (reports_dir / "style.css").write_text(CSS, encoding="utf-8")
    periods = sorted(
        (p for p in reports_dir.iterdir() if p.is_dir() and (p / "index.html").is_file() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    rows = "".join(
        f'<tr><td><a href="{p.name}/index.html">{html.escape(p.name)}</a></td></tr>' for p in periods
    )
    body = f"<h1>CRM reports</h1><table class=crm-table><tr><th>Period</th></tr>{rows}</table>"
    nav = '<nav class="crm-nav"><a class="brand" href="index.html">CRM Workbook</a></nav>'
    path = reports_dir / "index.html"
    path.write_text(_page("CRM reports", nav, body).replace("{css}", "style.css"), encoding="utf-8")
    return path
