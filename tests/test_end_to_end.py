"""The real notebooks, end to end through ``crm report``, on a small synthetic log.

One report run is shared by the checks (``full_report`` in ``conftest.py``); a second run with
a broken input file checks that a failure leaves the published report alone.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crmlib import cli
from crmlib.core import layout

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def published(full_report: dict) -> dict:
    """The session's one full report (tests/conftest.py), shared with test_report_consistency.py."""
    return full_report


def _body(page: Path) -> str:
    return page.read_text(encoding="utf-8").split("<body", 1)[1]


def test_one_page_per_notebook(published: dict) -> None:
    period_dir = published["folder"] / "reports" / "2011-11"
    assert sorted(p.stem for p in period_dir.glob("[0-9][0-9]_*.html")) == NOTEBOOKS
    assert len(NOTEBOOKS) >= 2


def test_pages_carry_no_code_and_no_errors(published: dict) -> None:
    period_dir = published["folder"] / "reports" / "2011-11"
    for page in period_dir.glob("*.html"):
        body = _body(page)
        # markdown cells sit in jp-InputArea too; code shows as highlighted source or an editor
        assert "hl-ipython3" not in body and "jp-CodeMirrorEditor" not in body, f"{page.name} shows code"
        assert body.count("jp-CodeCell") == body.count("jp-mod-noInput"), f"{page.name} shows a code cell's input"
        assert "RunContext.create" not in body and "from crmlib" not in body, f"{page.name} shows code"
        assert "Traceback" not in body and "application/vnd.jupyter.stderr" not in body, f"{page.name} shows an error"
        assert not re.search(r"\b\w+Error\b:", body), f"{page.name} shows an exception"


def test_period_listed_in_both_indexes(published: dict) -> None:
    reports = published["folder"] / "reports"
    assert 'href="2011-11/index.html"' in (reports / "index.html").read_text(encoding="utf-8")
    period_index = (reports / "2011-11" / "index.html").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert f'href="{name}.html"' in period_index


def test_failure_keeps_previous_report_and_exits_1(published: dict, capsys: pytest.CaptureFixture) -> None:
    folder = published["folder"]
    summary = folder / "reports" / "2011-11" / f"{NOTEBOOKS[0]}.html"
    before = summary.read_text(encoding="utf-8")
    broken = folder / "broken.csv"
    broken.write_text("InvoiceNo,StockCode,Quantity\n536365,85123A,6\n")  # no dates, no prices, no customers
    code = cli.main(["report", "--period", "2011-11", "--config", str(published["config"]), "--data", str(broken),
                     "--output", str(folder / "reports"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "01_data_cleaning" in err and "broken.csv" in err
    assert summary.read_text(encoding="utf-8") == before
    kept = Path(err.split("executed notebook kept at ")[1].split()[0])
    assert kept.is_file()


def test_every_page_real_metrics_give_its_finding(published: dict) -> None:
    """Each page's own metrics, as its notebook wrote them, fed to the summary's findings."""
    from crmlib.core.pages import load_pages
    from crmlib.pages import summary

    period_dir = published["folder"] / "reports" / "2011-11"
    pages = load_pages()
    metrics = {name: json.loads(layout.metrics_path(period_dir, name).read_text(encoding="utf-8"))
               for name, page in pages.items() if not page.reads_all}
    for name, page in pages.items():
        if page.finding is not None:
            line = page.finding(metrics[name], "GBP")  # raises if a producer drifted from its declaration
            assert isinstance(line, str) and line, name
    lines = summary.findings(metrics, pages, "GBP")
    assert len(lines) == len(metrics) and not any("ran; see the page" in line for line in lines)
    summary_page = (period_dir / "00_summary.html").read_text(encoding="utf-8")
    for name in metrics:
        assert f'href="{name}.html"' in summary_page
