"""Issue 16, the runner: faults a real team meets, each reproduced on small generated inputs.

Most runs use tiny notebooks (no analysis code, seconds each); the checks that need the
real pages run only the notebooks they need (a project keeps the notebooks it runs).
Every ``crm report`` here goes through :func:`crmlib.cli.main`: one ``crm: error:`` line,
exit 1, never a traceback.
"""
from __future__ import annotations

from crmlib.core import layout

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crmlib import cli, datasets, report, run_folders
from crmlib.synthetic import make_synthetic, write_synthetic_csv
from crmlib.core.context import RunContext
from crmlib.core.parameters import Parameter, accepts, expectation
from crmlib.errors import ConfigError, NotApplicableError

ROOT = Path(__file__).resolve().parents[1]
BASE = 'as_of = None\nperiod = None\ndata_paths = []\nartifacts_dir = None\nconfig_path = None\n'
BODY = (
    "import errno, json, pathlib, time\n"
    "time.sleep(sleep)\n"
    "if fail == 'disk':\n"
    "    raise OSError(errno.ENOSPC, 'No space left on device', artifacts_dir + '/big.parquet')\n"
    "if fail == 'permission':\n"
    "    raise PermissionError(errno.EACCES, 'Permission denied', artifacts_dir + '/x.parquet')\n"
    "folder = pathlib.Path(artifacts_dir)\n"
    "(folder / 'metrics').mkdir(exist_ok=True)\n"
    "(folder / 'metrics' / (NAME + '.json')).write_text(json.dumps({'period': period}))\n"
    "print('page', NAME, 'for', period)\n"
)
SALES = ("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
         + "".join(f"5{m:05d},A1,1,2011-{m:02d}-15 10:00,2.5,17850\n" for m in range(1, 13)))


def _toy_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(BASE + "sleep = 0\nfail = ''\n")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), params,
                nbformat.v4.new_code_cell(BODY.replace("NAME", repr(path.stem)))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "notebooks").mkdir()
    for name in ("00_summary", "01_data_cleaning", "02_segmentation"):
        _toy_notebook(tmp_path / "notebooks" / f"{name}.ipynb")
    (tmp_path / "sales.csv").write_text(SALES)
    (tmp_path / "workbook.yml").write_text("sources:\n  - path: sales.csv\n")
    return tmp_path


def crm(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    """``crm report`` through the command's own entry point: exit code and stderr."""
    code = cli.main(["report", "--no-progress", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        lines = [line for line in err.splitlines() if line.startswith("crm: error:")]
        assert len(lines) == 1, err
        return code, lines[0]
    return code, err


def _run(project: Path, capsys, *extra: str) -> tuple[int, str]:
    return crm(capsys, "--config", str(project / "workbook.yml"), "--output", str(project / "reports"), *extra)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ relative paths
def test_relative_output_and_config_paths_work(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, err = crm(capsys, "--config", "workbook.yml", "--output", "reports2", "--period", "2011-11")
    assert code == 0, err
    assert "page 01_data_cleaning for 2011-11" in (project / "reports2" / "2011-11" / "01_data_cleaning.html").read_text()


# ------------------------------------------------------------------ scratch of failed or killed runs
def _scratch(output: Path, name: str, owner: dict | None, age_seconds: float = 0) -> Path:
    folder = output / ".runs" / name
    (folder / "artifacts").mkdir(parents=True)
    if owner is not None:
        (folder / "owner.json").write_text(json.dumps(owner))
    stamp = time.time() - age_seconds
    os.utime(folder, (stamp, stamp))
    return folder


def test_only_the_scratch_of_runs_that_are_not_live_is_removed(tmp_path):
    import socket

    host = socket.gethostname()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    dead = _scratch(tmp_path, "2011-11-a", {"pid": dead_pid, "host": host, "started": 0})
    live = _scratch(tmp_path, "2011-11-b", {"pid": os.getpid(), "host": host, "started": 0})
    elsewhere = _scratch(tmp_path, "2011-11-c", {"pid": 1, "host": "another-machine", "started": 0})
    stale = _scratch(tmp_path, "2011-11-d", None, age_seconds=2 * run_folders.STALE_SECONDS)
    fresh = _scratch(tmp_path, "2011-11-e", None)
    replaced = _scratch(tmp_path, "old-2011-11-f", None)
    for i in range(run_folders.KEEP_FAILED + 2):
        kept = tmp_path / ".failed" / f"run-{i}"
        kept.mkdir(parents=True)
        os.utime(kept, (1000 + i, 1000 + i))
    removed = run_folders.remove_dead_scratch(tmp_path)
    assert set(removed) >= {dead, stale, replaced}
    assert live.is_dir() and elsewhere.is_dir() and fresh.is_dir()
    assert not dead.exists() and not stale.exists() and not replaced.exists()
    assert sorted(p.name for p in (tmp_path / ".failed").iterdir()) == [
        f"run-{i}" for i in range(2, run_folders.KEEP_FAILED + 2)]


def test_a_run_killed_with_kill_9_is_cleaned_up_by_the_next_run(project, capsys):
    (project / "workbook.yml").write_text("sources:\n  - path: sales.csv\nnotebooks:\n  01_data_cleaning: {sleep: 120}\n")
    runs = project / "reports" / ".runs"
    run = subprocess.Popen(
        [sys.executable, "-m", "crmlib.cli", "report", "--no-progress", "--period", "2011-11",
         "--config", str(project / "workbook.yml"), "--output", str(project / "reports")],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not list(runs.glob("*/notebooks")) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
        assert list(runs.glob("*/notebooks")), "the run never started its notebooks"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # kill -9: no clean-up code runs
        run.wait()
    left = list(runs.iterdir())
    assert left
    (project / "workbook.yml").write_text("sources:\n  - path: sales.csv\n")
    code, err = _run(project, capsys, "--period", "2011-11")
    assert code == 0, err
    assert not any(p.exists() for p in left) and not list(runs.iterdir())


# ------------------------------------------------------------------ disk full, permissions
@pytest.mark.parametrize(("fault", "words"), [("disk", "no space left on device"), ("permission", "permission denied")])
def test_a_notebook_that_cannot_write_is_named_and_the_previous_report_stays(project, capsys, fault, words):
    assert _run(project, capsys, "--period", "2011-11")[0] == 0
    before = _snapshot(project / "reports" / "2011-11")
    (project / "workbook.yml").write_text(f"sources:\n  - path: sales.csv\nnotebooks:\n  02_segmentation: {{fail: {fault}}}\n")
    code, line = _run(project, capsys, "--period", "2011-11")
    assert code == 1
    assert "notebook 02_segmentation could not write its results" in line and words in line
    assert _snapshot(project / "reports" / "2011-11") == before
    assert not list((project / "reports" / ".runs").iterdir())  # the failed run's scratch is gone
    failed = list((project / "reports" / ".failed").iterdir())
    assert [sorted(p.name for p in f.iterdir()) for f in failed] == [["notebooks"]]  # only what explains it


@pytest.mark.parametrize(("error", "words"), [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on device writing"),
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only"),
])
def test_the_runner_itself_failing_to_write_is_named(project, capsys, monkeypatch, error, words):
    assert _run(project, capsys, "--period", "2011-11")[0] == 0
    before = _snapshot(project / "reports" / "2011-11")
    error.filename = str(project / "reports" / ".runs" / "x" / "01_data_cleaning.html")

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(report.site, "render_pages", fail)
    code, line = _run(project, capsys, "--period", "2011-11")
    assert code == 1 and words in line and "01_data_cleaning.html" in line
    assert _snapshot(project / "reports" / "2011-11") == before
    assert not list((project / "reports" / ".runs").iterdir())


def test_a_reports_folder_that_cannot_be_written_is_named(project, capsys, monkeypatch):
    def refuse(output, period):
        raise PermissionError(errno.EACCES, "Permission denied", str(output / ".runs"))

    monkeypatch.setattr(run_folders, "new_scratch", refuse)
    code, line = _run(project, capsys, "--period", "2011-11")
    assert code == 1 and line.endswith(f"cannot write to {project / 'reports' / '.runs'}: permission denied")


# ------------------------------------------------------------------ periods without data
@pytest.mark.parametrize("when", [["--period", "2099-01"], ["--period", "2005-06"], ["--as-of", "2099-01-15"]])
def test_a_requested_period_without_transactions_is_an_error(project, capsys, when):
    code, line = _run(project, capsys, *when)
    assert code == 1
    assert "no transactions between" in line and "invoice dates run from 2011-01-15 to 2011-12-15" in line
    assert not (project / "reports" / "2099-01").exists() and not (project / "reports" / "2005-06").exists()


def test_no_complete_month_yet_says_how_to_report_the_days_so_far(project, capsys):
    (project / "sales.csv").write_text(SALES.splitlines()[0] + "\n5001,A1,1,2011-01-03 10:00,2.5,1\n")
    code, line = _run(project, capsys)
    assert code == 1 and "no complete month in the data yet" in line and "--as-of 2011-01-03" in line


# ------------------------------------------------------------------ notebook parameters
@pytest.mark.parametrize(("section", "message"), [
    ("05_basket: {min_support: high}", "notebooks.05_basket.min_support: expected a number between 0 and 1, got 'high'"),
    ("05_basket: {min_support: 1.5}", "notebooks.05_basket.min_support: expected a number between 0 and 1, got 1.5"),
    ("02_segmentation: {k_min: 2.5}", "notebooks.02_segmentation.k_min: expected a whole number of at least 2, got 2.5"),
    ("04_churn: {mode: sometimes}", "notebooks.04_churn.mode: expected one of 'auto', 'transactions', "
                                    "'customer_table', got 'sometimes'"),
    ("03_clv: {clv_horizon_months: null}", "notebooks.03_clv.clv_horizon_months: expected a whole number of at "
                                           "least 1, got null"),
    ("04_churn: {control_share: true}", "notebooks.04_churn.control_share: expected a number between 0 and 1, got true"),
])
def test_notebook_parameters_are_checked_before_any_notebook_runs(tmp_path, capsys, section, message):
    (tmp_path / "sales.csv").write_text(SALES)
    (tmp_path / "workbook.yml").write_text(f"sources: [sales.csv]\nnotebooks:\n  {section}\n")
    code, line = crm(capsys, "--config", str(tmp_path / "workbook.yml"), "--output", str(tmp_path / "reports"))
    assert code == 1 and line == f"crm: error: {(tmp_path / 'workbook.yml').resolve()}: {message}"
    assert not (tmp_path / "reports" / ".runs").exists() or not list((tmp_path / "reports" / ".runs").iterdir())


def test_parameter_expectations_follow_the_default_and_the_declaration():
    assert accepts(0.05, 0.01, Parameter(low=0, high=1)) and not accepts("high", 0.01, Parameter(low=0, high=1))
    assert accepts(3, 0.1) and not accepts(True, 0.1) and not accepts(2.5, 3) and accepts(3.0, 3)
    assert accepts(None, 3, Parameter(optional=True)) and not accepts(None, 3) and accepts("x", None)
    assert accepts([1], [2]) and not accepts("a", [2]) and accepts(False, True) and not accepts(0, True)
    assert expectation(3, Parameter(low=1, optional=True)) == "a whole number of at least 1 (or null)"
    assert expectation("W", Parameter(choices=("W", "D"))) == "one of 'W', 'D'"
    assert expectation(None) is None


# ------------------------------------------------------------------ too few known customers
def _context(tmp_path: Path, frame: pd.DataFrame, as_of: str = "2011-11-30") -> RunContext:
    write_synthetic_csv(frame, tmp_path / "sales.csv")
    (tmp_path / "workbook.yml").write_text("sources: [sales.csv]\n")
    return RunContext.create("02_segmentation", as_of=as_of, config_path=tmp_path / "workbook.yml",
                             artifacts_dir=tmp_path / "artifacts")


@pytest.fixture(scope="module")
def small_log() -> pd.DataFrame:
    return make_synthetic(n_customers=60, start="2011-01-01", end="2011-12-31", seed=3).transactions


def test_a_three_row_file_is_too_few_customers(tmp_path, small_log):
    ctx = _context(tmp_path, small_log.head(3), as_of="2011-01-31")
    transactions = ctx.load_transactions()
    with pytest.raises(NotApplicableError, match=r"needs at least 20 customers with a customer id, and the data up "
                                                 r"to 2011-01-31 have [0-3]; the sales figures"):
        ctx.require_customers(transactions)
    assert ctx.require_customers(transactions, minimum=1) >= 1


def test_a_file_without_customer_ids_is_no_customers(tmp_path, small_log):
    ctx = _context(tmp_path, small_log.assign(customer_id=None))
    transactions = ctx.load_transactions()
    assert len(transactions) > 100  # the sales are kept
    with pytest.raises(NotApplicableError, match="have 0;"):
        ctx.require_customers(transactions)


def _real_project(tmp_path: Path, notebooks: tuple[str, ...], config: str) -> Path:
    (tmp_path / "notebooks").mkdir()
    for name in notebooks:  # a project keeps the notebooks it runs
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / "notebooks")
    (tmp_path / "workbook.yml").write_text(config)
    return tmp_path


def _outcomes(period_dir: Path) -> dict[str, str]:
    metrics = {p.stem: json.loads(p.read_text()) for p in (layout.artifacts_dir(period_dir) / "metrics").glob("*.json")}
    return {name: m.get("not_applicable", "ran") for name, m in metrics.items()}


def test_customer_pages_say_not_available_and_sales_pages_run_without_customer_ids(tmp_path, capsys, small_log):
    project = _real_project(tmp_path, ("00_summary", "01_data_cleaning", "02_segmentation"), "sources: [sales.csv]\n")
    write_synthetic_csv(small_log.assign(customer_id=None), project / "sales.csv")
    code, err = _run(project, capsys, "--period", "2011-11")
    assert code == 0, err
    outcomes = _outcomes(project / "reports" / "2011-11")
    assert outcomes["01_data_cleaning"] == "ran" and outcomes["00_summary"] == "ran"
    assert "customers with a customer id" in outcomes["02_segmentation"]
    page = (project / "reports" / "2011-11" / "02_segmentation.html").read_text(encoding="utf-8")
    assert "Not available for this period." in page


def test_a_customer_table_alone_runs_churn_and_the_summary(tmp_path, capsys):
    project = _real_project(tmp_path, ("00_summary", "01_data_cleaning", "04_churn"),
                            "customers:\n  path: subscribers.csv\n")
    datasets.make_subscription_table(n_customers=400, seed=1).to_csv(project / "subscribers.csv", index=False)
    code, err = _run(project, capsys, "--period", "2011-11")
    assert code == 0, err
    period_dir = project / "reports" / "2011-11"
    outcomes = _outcomes(period_dir)
    assert outcomes["00_summary"] == "ran" and outcomes["04_churn"] == "ran"
    assert "needs a transaction log" in outcomes["01_data_cleaning"]
    churn = json.loads(layout.metrics_path(period_dir, "04_churn").read_text())
    assert churn["mode"] == "customer_table" and churn["roc_auc"] > 0.6


def test_no_sources_and_no_customer_table_is_still_no_data(tmp_path, capsys):
    (tmp_path / "workbook.yml").write_text("currency: GBP\n")
    code, line = crm(capsys, "--config", str(tmp_path / "workbook.yml"), "--output", str(tmp_path / "reports"))
    assert code == 1 and "no data: configure `sources:`" in line


# ------------------------------------------------------------------ personal ids
def test_shown_ids_and_downloads_pseudonymise_personal_ids(tmp_path, small_log):
    ctx = _context(tmp_path, small_log.head(50))
    frame = pd.DataFrame({"customer_id": ["010-1234-5678", "kim@example.com", "17850", None],
                          "value": [1.0, 2.0, 3.0, 4.0]})
    shown = ctx.shown_ids(frame)
    assert shown["customer_id"].iloc[2] == "17850" and pd.isna(shown["customer_id"].iloc[3])
    assert shown["customer_id"].iloc[:2].str.fullmatch(r"C[0-9a-f]{12}").all()
    by_index = ctx.shown_ids(frame.set_index("customer_id"))
    assert list(by_index.index[:2]) == list(shown["customer_id"].iloc[:2])  # stable: same id, same pseudonym
    ctx.download(frame, "targets", "the list")
    written = (ctx.downloads_dir / "targets.csv").read_text(encoding="utf-8-sig")
    assert "5678" not in written and "kim@" not in written and shown["customer_id"].iloc[0] in written
    mapping = pd.read_parquet(tmp_path / "artifacts" / "pseudonyms" / "02_segmentation.parquet")
    assert sorted(mapping["id"]) == ["010-1234-5678", "kim@example.com"]


@pytest.mark.parametrize(("setting", "replaced"), [("false", 0), ("true", 3), ("auto", 2)])
def test_ids_are_personal_setting(tmp_path, small_log, setting, replaced):
    ctx = _context(tmp_path, small_log.head(50))
    (tmp_path / "workbook.yml").write_text(f"sources: [sales.csv]\nids_are_personal: {setting}\n")
    ctx = RunContext.create("02_segmentation", as_of="2011-11-29", config_path=tmp_path / "workbook.yml",
                            artifacts_dir=tmp_path / "other")
    ids = pd.DataFrame({"customer_id": ["010-1234-5678", "kim@example.com", "17850"]})
    assert (ctx.shown_ids(ids)["customer_id"] != ids["customer_id"]).sum() == replaced


def test_ids_are_personal_must_be_auto_true_or_false(tmp_path):
    from crmlib.core.config import load_config

    (tmp_path / "workbook.yml").write_text("ids_are_personal: sometimes\n")
    with pytest.raises(ConfigError, match="ids_are_personal: expected auto, true or false, got 'sometimes'"):
        load_config(tmp_path / "workbook.yml")
