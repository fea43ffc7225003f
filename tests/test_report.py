"""The report runner on a throwaway project with tiny notebooks (fast, no analysis code).

The end-to-end run of the real notebooks on a synthetic log is in test_end_to_end.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from crmlib import cli, report
from crmlib.core import periods
from crmlib.core.pages import dependencies, load_pages
from crmlib.errors import ConfigError
from crmlib.core import layout

CODE_MARKER = "CODE_MARKER_THAT_MUST_NOT_REACH_HTML"


def _notebook(path: Path, params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


BASE = 'as_of = None\nperiod = None\ndata_paths = []\nartifacts_dir = None\nconfig_path = None\n'
RECORD = (
    "import json, pathlib\n"
    f"{CODE_MARKER} = 1\n"
    "folder = pathlib.Path(artifacts_dir)\n"
    "(folder / 'metrics').mkdir(exist_ok=True)\n"
    "(folder / 'metrics' / (NAME + '.json')).write_text(json.dumps({'as_of': as_of, 'period': period, "
    "'upstream': sorted(p.name for p in folder.glob('*.done'))}))\n"
    "(folder / (NAME + '.done')).write_text('ok')\n"
    "print('visible output of', NAME)\n"
)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "sales.csv").write_text(  # a line in every month of 2011: the runner checks the period has data
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        + "".join(f"5{m:05d},A1,1,2011-{m:02d}-15 10:00,2.5,17850\n" for m in range(1, 13)))
    for name in ("01_data_cleaning", "02_segmentation", "03_clv", "00_summary"):
        extra = "fail = False\n" if name == "02_segmentation" else ""
        body = RECORD.replace("NAME", repr(name))
        if name == "02_segmentation":
            body = "if fail:\n    raise ValueError('planted failure')\n" + body
        _notebook(tmp_path / "notebooks" / f"{name}.ipynb", BASE + extra, body)
    (tmp_path / "workbook.yml").write_text("sources:\n  - path: sales.csv\n")
    return tmp_path


def _run(project: Path, **kwargs):
    return report.run_report(
        config_path=project / "workbook.yml", output_dir=project / "reports", progress=False, **kwargs
    )


def test_report_publishes_one_page_per_notebook_without_code(project: Path) -> None:
    result = _run(project, period="2011-11")
    period_dir = project / "reports" / "2011-11"
    assert result.period_dir == period_dir
    pages = sorted(p.name for p in period_dir.glob("*.html"))
    assert [p for p in pages if p not in ("glossary.html",)] == [
        "00_summary.html", "01_data_cleaning.html", "02_segmentation.html", "03_clv.html", "analyst.html", "index.html"]
    for page in period_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        body = text.split("<body", 1)[1]
        assert CODE_MARKER not in text  # inputs are hidden
        assert "Traceback" not in body and "application/vnd.jupyter.stderr" not in body
    assert "visible output of 03_clv" in (period_dir / "03_clv.html").read_text(encoding="utf-8")
    # the period is listed in both index pages
    assert "2011-11" in (project / "reports" / "index.html").read_text(encoding="utf-8")
    period_index = (period_dir / "index.html").read_text(encoding="utf-8")
    assert all(f"{n}.html" in period_index for n in ("00_summary", "01_data_cleaning", "02_segmentation", "03_clv"))
    # every notebook got the base parameters; dependencies ran first; the summary ran last
    metrics = {p.stem: json.loads(p.read_text()) for p in (layout.artifacts_dir(period_dir) / "metrics").glob("*.json")}
    assert {m["as_of"] for m in metrics.values()} == {"2011-11-30"}
    assert metrics["02_segmentation"]["upstream"] == ["01_data_cleaning.done"]
    assert metrics["00_summary"]["upstream"] == ["01_data_cleaning.done", "02_segmentation.done", "03_clv.done"]
    assert not any((project / "reports" / ".runs").iterdir())  # nothing half-written left behind


def test_failed_notebook_keeps_previous_report_and_says_where(project: Path, capsys) -> None:
    _run(project, period="2011-11")
    page = project / "reports" / "2011-11" / "02_segmentation.html"
    before = page.read_text(encoding="utf-8")
    (project / "workbook.yml").write_text(
        "sources:\n  - path: sales.csv\nnotebooks:\n  02_segmentation: {fail: true}\n"
    )
    code = cli.main(["report", "--period", "2011-11", "--config", str(project / "workbook.yml"),
                     "--output", str(project / "reports"), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "02_segmentation" in err and "if fail:" in err and "ValueError: planted failure" in err
    kept = Path(err.split("executed notebook kept at ")[1].split()[0])
    assert kept.is_file() and kept.name == "02_segmentation.ipynb"
    assert page.read_text(encoding="utf-8") == before  # previous report untouched


def test_rerun_replaces_period_whole(project: Path) -> None:
    _run(project, period="2011-11")
    stray = project / "reports" / "2011-11" / "stale.html"
    stray.write_text("old")
    _run(project, as_of="2011-11-15")
    assert not stray.exists()
    metrics = json.loads(layout.metrics_path(project / "reports" / "2011-11", "01_data_cleaning").read_text())
    assert metrics["as_of"] == "2011-11-15"


def test_only_reruns_one_notebook_inside_the_period(project: Path) -> None:
    _run(project, period="2011-11")
    done = layout.artifacts_dir(project / "reports" / "2011-11") / "01_data_cleaning.done"
    done.write_text("from the first run")
    _run(project, period="2011-11", only="03_clv")
    assert done.read_text() == "from the first run"  # upstream artifacts kept, not re-run
    assert (project / "reports" / "2011-11" / "03_clv.html").is_file()


def test_unknown_notebook_parameter_names_key_and_allowed(project: Path) -> None:
    (project / "workbook.yml").write_text(
        "sources:\n  - path: sales.csv\nnotebooks:\n  02_segmentation: {fial: true}\n"
    )
    with pytest.raises(ConfigError, match=r"unknown key 'fial' in notebooks.02_segmentation; allowed there: fail"):
        _run(project, period="2011-11")
    (project / "workbook.yml").write_text("sources:\n  - path: sales.csv\nnotebooks:\n  09_nope: {}\n")
    with pytest.raises(ConfigError, match="unknown key '09_nope' in notebooks"):
        _run(project, period="2011-11")


def test_expand_periods() -> None:
    assert periods.expand_periods("2011-01..2011-03") == ["2011-01", "2011-02", "2011-03"]
    assert periods.expand_periods("2010-12..2011-01") == ["2010-12", "2011-01"]
    with pytest.raises(ConfigError):
        periods.expand_periods("2011-03..2011-01")
    with pytest.raises(ConfigError):
        periods.expand_periods("March")


def test_resolve_period_prefers_as_of() -> None:
    assert periods.resolve_period([], period="2011-02") == ("2011-02", periods.period_as_of("2011-02"))
    period, day = periods.resolve_period([], as_of="2011-11-15")
    assert period == "2011-11" and str(day.date()) == "2011-11-15"


def test_not_applicable_analysis_becomes_a_page_that_says_why(project: Path) -> None:
    _notebook(
        project / "notebooks" / "03_clv.ipynb",
        BASE,
        "from crmlib.errors import NotApplicableError\n"
        "raise NotApplicableError('only 61 days of history; a 90-day churn window needs more')",
    )
    nb = nbformat.read(project / "notebooks" / "03_clv.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("## A heading that must not dangle"))
    nbformat.write(nb, project / "notebooks" / "03_clv.ipynb")
    result = _run(project, period="2011-01")
    page = (result.period_dir / "03_clv.html").read_text(encoding="utf-8").split("<body", 1)[1]
    assert "Not available for this period" in page and "only 61 days of history" in page
    assert "A heading that must not dangle" not in page and "Traceback" not in page
    metrics = json.loads(layout.metrics_path(result.period_dir, "03_clv").read_text())
    assert metrics["not_applicable"].startswith("only 61 days") and metrics["as_of"] == "2011-01-31"
    # the summary still ran after it
    assert (result.period_dir / "00_summary.html").is_file()


@pytest.mark.parametrize(
    ("section", "message"),
    [("cleaning:\n  dedupe: false\n", "dedupe"), ("segments:\n  mapp: {}\n", "mapp")],
)
def test_module_settings_are_checked_before_any_notebook_runs(project: Path, section: str, message: str) -> None:
    (project / "workbook.yml").write_text("sources:\n  - path: sales.csv\n" + section)
    with pytest.raises(ConfigError, match=message):
        _run(project, period="2011-11")
    assert not (project / "reports" / "2011-11").exists()
    assert not any((project / "reports" / ".runs").glob("2011-11-*"))


def test_a_notebook_without_a_page_declaration_is_refused(project: Path) -> None:
    _notebook(project / "notebooks" / "06_extra.ipynb", BASE, RECORD.replace("NAME", repr("06_extra")))
    with pytest.raises(ConfigError, match="06_extra.ipynb .* has no page declaration"):
        _run(project, period="2011-11")


def test_run_order_follows_the_declared_reads() -> None:
    declared = load_pages()
    graph = dependencies(declared, list(declared))
    assert graph["02_segmentation"] == {"01_data_cleaning"}
    assert graph["00_summary"] == set(declared) - {"00_summary"}
    # a page reading a page outside the run (--only, fewer notebooks) does not wait for it
    assert dependencies(declared, ["03_clv", "00_summary"]) == {"03_clv": set(), "00_summary": {"03_clv"}}


def test_a_large_log_runs_its_pages_one_at_a_time(tmp_path, monkeypatch):
    """Two kernels of a log of tens of millions of lines would add up beyond the machine's memory."""
    (tmp_path / "sales.csv").write_text("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
                                        + "".join(f"5{m:05d},A1,1,2011-{m:02d}-15 10:00,2.5,17850\n"
                                                  for m in range(1, 13)))
    (tmp_path / "workbook.yml").write_text("sources:\n  - path: sales.csv\n")
    seen: list[int] = []

    def run_in(run_dir, output, run, declared, folder, names, only, max_parallel, progress):
        seen.append(max_parallel)
        raise RuntimeError("stop before any notebook runs")

    monkeypatch.setattr(report, "_run_in", run_in)
    for limit in (10**9, 1):
        monkeypatch.setattr(report, "SIDE_BY_SIDE_MAX_LINES", limit)
        with pytest.raises(RuntimeError, match="stop before"):
            report.run_report(config_path=tmp_path / "workbook.yml", output_dir=tmp_path / "out", progress=False)
    with pytest.raises(RuntimeError, match="stop before"):  # asked for explicitly: as asked
        report.run_report(config_path=tmp_path / "workbook.yml", output_dir=tmp_path / "out", progress=False,
                          max_parallel=3)
    assert seen == [2, 1, 3]
