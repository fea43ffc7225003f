"""The report site's index pages: what they list, in which order, in the house style."""
from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import matplotlib
import pytest

from crmlib import site
from crmlib.core import chart_output, layout

matplotlib.use("Agg")


def _period(reports: Path, period: str, pages: list[str], summary: dict | None) -> Path:
    folder = reports / period
    metrics = folder / layout.ANALYST / layout.ARTIFACTS / layout.METRICS  # as published
    metrics.mkdir(parents=True)
    for name in pages:
        (folder / f"{name}.html").write_text(f"<html><body>{name}</body></html>", encoding="utf-8")
    if summary is not None:
        (metrics / "00_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (metrics / "03_clv.json").write_text(
        json.dumps({"warnings": ["No measurable drop-out in this window."]}), encoding="utf-8")
    return folder


def test_index_pages_list_periods_newest_first_with_headline_kpis(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = ["03_clv", "01_data_cleaning", "00_summary"]
    summary = {"as_of": "2011-11-30", "revenue": 1503866.78, "active_customers": 1664, "new_customers": 323,
               "retention_rate": 0.907, "aov": 543.1, "orders": 2769,
               "change_vs_previous": {"revenue": 0.306, "retention_rate": 0.034}}
    nov = _period(reports, "2011-11", names, summary)
    _period(reports, "2011-09", names, {**summary, "as_of": "2011-09-30", "revenue": 1000.0})
    _period(reports, "2011-10", ["01_data_cleaning"], None)  # summary did not run: still listed
    (reports / ".runs").mkdir()  # working folders are never listed

    for folder in sorted(p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")):
        site.write_period_index(folder, period=folder.name, as_of=f"{folder.name}-28", config={"currency": "EUR"})
    index = site.write_site_index(reports, config={"currency": "EUR"}).read_text(encoding="utf-8")

    positions = [index.index(f'href="{p}/index.html"') for p in ("2011-11", "2011-10", "2011-09")]
    assert positions == sorted(positions)  # newest first
    assert ".runs" not in index
    assert "€1,503,867" in index and "1,664" in index and "323" in index and "90.7 %" in index
    assert "30 Nov 2011" in index and "Nov 2011" in index
    assert 'href="2011-11/00_summary.html"' in index
    assert (reports / "style.css").is_file() and "@page { size: A4" in (reports / "style.css").read_text()

    period_index = (nov / "index.html").read_text(encoding="utf-8")
    links = [period_index.index(f'href="{n}.html"', period_index.index("<main")) for n in
             ("00_summary", "01_data_cleaning", "03_clv")]
    assert links == sorted(links)  # summary first, then the analyses in order
    assert "€1,503,867" in period_index and "+30.6 % vs previous period" in period_index
    assert "+3.4 pts" in period_index and "1 caveat on the page" in period_index
    assert 'href="style.css"' in period_index and "28 Nov 2011" in period_index


def test_layout_moves_analyst_files_out_of_the_managers_folder_and_back(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / layout.ARTIFACTS / layout.METRICS).mkdir(parents=True)
    (run / layout.ARTIFACTS / layout.METRICS / "01_x.json").write_text("{}")
    (run / layout.NOTEBOOKS).mkdir()
    (run / layout.NOTEBOOKS / "01_x.ipynb").write_text("{}")
    (run / layout.DOWNLOADS).mkdir()
    (run / layout.DOWNLOADS / "list.csv").write_text("a\n")

    layout.arrange_for_managers(run)
    assert sorted(p.name for p in run.iterdir()) == [layout.ANALYST, layout.DOWNLOADS]
    assert layout.metrics_path(run, "01_x") == run / layout.ANALYST / layout.ARTIFACTS / layout.METRICS / "01_x.json"
    assert layout.metrics_path(run, "01_x").is_file() and (layout.notebooks_dir(run) / "01_x.ipynb").is_file()

    layout.arrange_for_run(run)  # a --only run starts from the published folder
    assert sorted(p.name for p in run.iterdir()) == [layout.ARTIFACTS, layout.DOWNLOADS, layout.NOTEBOOKS]
    assert layout.metrics_path(run, "01_x") == run / layout.ARTIFACTS / layout.METRICS / "01_x.json"


def test_build_period_writes_analyst_page_glossary_and_one_stylesheet(tmp_path: Path, monkeypatch) -> None:
    import nbformat

    run = tmp_path / "2011-11"
    (run / layout.ARTIFACTS / layout.METRICS).mkdir(parents=True)
    (run / layout.ARTIFACTS / "transactions.parquet").write_bytes(b"x" * 2048)
    (run / layout.NOTEBOOKS).mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Toy\n\n## First\n\ntext"), nbformat.v4.new_code_cell("x")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stderr", text="a warning"),
                           nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                                                  metadata={"image/png": {"alt": "Revenue <per> month"}})]
    nbformat.write(nb, run / layout.NOTEBOOKS / "01_data_cleaning.ipynb")
    pages = site.build_period(run, ["01_data_cleaning"], period="2011-11", as_of="2011-11-30", config={})

    page = pages[0].read_text(encoding="utf-8")
    assert '<link href="style.css" rel="stylesheet"/>' in page and "<script" not in page and "<style" not in page
    assert 'alt="Revenue &lt;per&gt; month"' in page and "a warning" not in page
    assert 'href="glossary.html"' in page and 'class="crm-notebook"' in page
    assert "Known customers who bought at least once in the period." in (run / "glossary.html").read_text(encoding="utf-8")
    analyst = (run / layout.ANALYST_PAGE).read_text(encoding="utf-8")
    assert 'href="analyst/artifacts/transactions.parquet"' in analyst and "2 KB" in analyst
    assert 'href="analyst/notebooks/01_data_cleaning.ipynb"' in analyst
    assert (run / layout.STYLESHEET).is_file() and not (run / layout.ARTIFACTS).exists()
    index = (run / "index.html").read_text(encoding="utf-8")
    assert 'href="analyst.html"' in index and 'href="glossary.html"' in index


def test_glossary_entries_carry_the_configured_window() -> None:
    entries = dict(site.glossary_entries({"windows": {"churn_days": 60}}))
    assert any("60 days" in definition for definition in entries.values())


def test_charts_leave_the_kernel_titled_and_light() -> None:
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    ax.plot(range(50), [i * i for i in range(50)])
    ax.set_title("Revenue per month", loc="left")
    assert chart_output.chart_title(fig) == "Revenue per month"
    fig.suptitle("Trends")
    assert chart_output.chart_title(fig) == "Trends"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    original = buffer.getvalue()
    small = chart_output.compact_png(original)
    assert len(small) < len(original)
    image = Image.open(io.BytesIO(small))
    assert image.mode == "P" and image.size == Image.open(io.BytesIO(original)).size
    empty, _ = plt.subplots()
    assert chart_output.chart_title(empty) == chart_output.UNTITLED
    plt.close(empty)
    assert chart_output.register_chart_output() is False  # outside a kernel: nothing to do


@pytest.mark.parametrize("period_layout", ["published", "before analyst/"])
def test_site_index_reads_metrics_of_both_layouts(tmp_path: Path, period_layout: str) -> None:
    folder = tmp_path / "reports" / "2011-10"
    metrics = (folder / layout.ANALYST / layout.ARTIFACTS if period_layout == "published" else folder / "artifacts")
    (metrics / layout.METRICS).mkdir(parents=True)
    (metrics / layout.METRICS / "00_summary.json").write_text(json.dumps({"revenue": 1234.0, "as_of": "2011-10-31"}))
    (folder / "index.html").write_text("<html></html>")
    index = site.write_site_index(tmp_path / "reports", config={"currency": "GBP"}).read_text(encoding="utf-8")
    assert "£1,234" in index
