"""A page is a plug-in: declared once, discovered like the built-in pages, run, listed, summarised.

The toy page lives in a throwaway project (its module beside ``workbook.yml``, named
under ``pages:``; its notebook in the project's ``notebooks/``), never in the installed
package. The project runs the real cleaning and summary notebooks on a small synthetic log.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from crmlib import report
from crmlib.synthetic import make_synthetic, write_synthetic_csv
from crmlib.core import layout
from crmlib.core.pages import load_pages

ROOT = Path(__file__).resolve().parents[1]

TOY_MODULE = '''
from typing import Any

from crmlib.core.formatting import format_count
from crmlib.core.pages import Page, PageMetrics


class ToyMetrics(PageMetrics):
    clean_lines: int


def finding(metrics: dict[str, Any], currency: str) -> str:
    return f"{format_count(metrics['clean_lines'])} clean lines counted by the toy page"


PAGE = Page(name="99_toy", title="Toy page", description="Counts the clean lines, to show how a page plugs in.",
            reads=("01_data_cleaning",), metrics=ToyMetrics, finding=finding)
'''

TOY_PARAMETERS = "as_of = None\nperiod = None\ndata_paths = []\nartifacts_dir = None\nconfig_path = None\n"
TOY_BODY = (
    "from crmlib.core.context import RunContext\n\n"
    "ctx = RunContext.create(\"99_toy\", as_of=as_of, period=period, data_paths=data_paths,\n"
    "                        artifacts_dir=artifacts_dir, config_path=config_path)\n"
    "transactions = ctx.load_transactions()\n"
    "ctx.write_metrics({\"clean_lines\": len(transactions)})"
)


def _toy_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(TOY_PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Toy page"), params, nbformat.v4.new_code_cell(TOY_BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def toy_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("toy")
    data = make_synthetic(n_customers=80, start="2011-01-01", end="2011-12-31", dirt=False, seed=3)
    write_synthetic_csv(data, folder / "sales.csv")
    (folder / "workbook.yml").write_text("sources:\n  - path: sales.csv\npages: [toy_crm_page]\n", encoding="utf-8")
    (folder / "toy_crm_page.py").write_text(TOY_MODULE, encoding="utf-8")
    notebooks = folder / "notebooks"
    notebooks.mkdir()
    for name in ("00_summary", "01_data_cleaning"):  # a project keeps the notebooks it runs
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", notebooks)
    _toy_notebook(notebooks / "99_toy.ipynb")
    return folder


def test_a_page_declared_in_workbook_yml_is_discovered_like_the_built_in_ones(toy_project: Path) -> None:
    from crmlib.core.config import load_config

    pages = load_pages(load_config(toy_project / "workbook.yml"))
    assert list(pages)[-1] == "99_toy" and pages["99_toy"].reads == ("01_data_cleaning",)
    assert "99_toy" not in load_pages()  # nothing was written into the package


def test_the_toy_page_runs_is_listed_and_gets_its_line_in_the_summary(toy_project: Path) -> None:
    result = report.run_report(config_path=toy_project / "workbook.yml", period="2011-11",
                               output_dir=toy_project / "reports", progress=False)
    period_dir = result.period_dir
    assert (period_dir / "99_toy.html").is_file()
    metrics = json.loads(layout.metrics_path(period_dir, "99_toy").read_text())
    cleaning = json.loads(layout.metrics_path(period_dir, "01_data_cleaning").read_text())
    assert metrics["clean_lines"] == cleaning["rows_kept"] > 0

    index = (period_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="99_toy.html">Toy page</a>' in index and "Counts the clean lines, to show how a page plugs in." in index

    summary_page = (period_dir / "00_summary.html").read_text(encoding="utf-8")
    assert f"{metrics['clean_lines']:,} clean lines counted by the toy page" in summary_page
    assert 'href="99_toy.html"' in summary_page
    summary = json.loads(layout.metrics_path(period_dir, "00_summary").read_text())
    assert summary["analyses_run"] == ["01_data_cleaning", "99_toy"]


def test_every_declared_parameter_range_names_a_parameter_of_its_notebook() -> None:
    from crmlib.core.parameters import parameter_defaults

    for name, declared in load_pages().items():
        in_notebook = set(parameter_defaults(ROOT / "notebooks" / f"{name}.ipynb"))
        stale = set(declared.parameters or {}) - in_notebook
        assert not stale, f"{name} declares ranges for parameters its notebook does not have: {sorted(stale)}"
