"""Run every notebook for one period and publish the HTML report atomically.

One run (DESIGN.md "One run"):

1. Resolve the period: ``--as-of`` wins, then ``--period``, else the last complete
   month in the data. Every notebook gets the same base parameters (``as_of``,
   ``period``, ``data_paths``, ``artifacts_dir``, ``config_path``) plus its own section
   of ``workbook.yml`` (checked against its ``parameters`` cell).
2. papermill executes the notebooks in dependency order into a temporary run folder
   (``<output>/.runs/...``), independent notebooks side by side, all in this process
   through papermill's Python API and a kernel that is this environment's Python.
3. nbconvert renders each executed notebook to HTML with inputs hidden.
4. Only when every notebook succeeded, the run folder replaces ``<output>/<period>/``
   in one rename and ``<output>/index.html`` is rebuilt. A failed run leaves the
   previous report untouched, keeps the failed executed notebook under
   ``<output>/.failed/`` and raises :class:`ReportError` naming the notebook, the
   failing cell's first line and the error.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crmlib import config as config_mod
from crmlib import site
from crmlib.context import month_end_as_of, parse_as_of, period_as_of
from crmlib.errors import ConfigError, CrmError

BASE_PARAMETERS = ("as_of", "period", "data_paths", "artifacts_dir", "config_path")
SUMMARY = "00_summary"

# Which notebook reads whose artifacts. A notebook runs once all of its dependencies
# that are part of the run have finished; the others run side by side.
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "01_data_cleaning": (),
    "02_segmentation": ("01_data_cleaning",),
    "03_clv": ("01_data_cleaning", "02_segmentation"),
    "05_basket": ("01_data_cleaning", "02_segmentation"),
    "04_churn": ("01_data_cleaning", "02_segmentation", "03_clv"),
}
KERNEL_NAME = "crm-workbook-python"


class _NotebookFailed(Exception):
    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(name)
        self.name, self.error = name, error


class ReportError(CrmError):
    """A notebook failed; the message says which, where and why."""

    def __init__(self, message: str, failed_notebook: Path | None = None) -> None:
        super().__init__(message)
        self.failed_notebook = failed_notebook


@dataclass
class ReportResult:
    """What one successful run produced."""

    period: str
    as_of: pd.Timestamp
    period_dir: Path
    index_path: Path
    pages: list[Path] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- discovery
def notebooks_dir(config: dict[str, Any]) -> Path:
    """The ``notebooks/`` folder beside ``workbook.yml`` (or of this package's repo)."""
    candidate = Path(config["_root"]) / "notebooks"
    if candidate.is_dir():
        return candidate
    return Path(__file__).resolve().parents[1] / "notebooks"


def discover_notebooks(folder: Path) -> list[str]:
    """Notebook names (``01_data_cleaning`` ...) in run order: analyses first, summary last."""
    names = sorted(p.stem for p in folder.glob("[0-9][0-9]_*.ipynb"))
    return [n for n in names if n != SUMMARY] + ([SUMMARY] if SUMMARY in names else [])


def notebook_parameters(path: Path) -> list[str]:
    """Names assigned in a notebook's ``parameters`` cell, in order.

    Read with :mod:`ast` rather than papermill's line parser, which gives up on comments
    holding quotes or percent signs.
    """
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError as exc:
                raise ConfigError(f"{path}: the parameters cell is not valid Python ({exc.msg})") from None
            return [
                target.id
                for node in tree.body
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)
            ]
    return []


def check_notebook_config(config: dict[str, Any], folder: Path, names: list[str]) -> None:
    """Check the whole of ``workbook.yml`` before any notebook runs.

    Every key under ``notebooks:`` must name a notebook and one of its parameters;
    ``cleaning:`` and ``segments:`` are checked by the modules that own them, so a typo
    fails in a second instead of after minutes of notebooks.
    """
    from crmlib import cleaning, segmentation

    cleaning.resolve_rules(config["cleaning"])
    segmentation.load_segment_map(config["segments"])
    where = config.get("_path") or "workbook.yml"
    for name, params in config["notebooks"].items():
        if name not in names:
            raise ConfigError(f"{where}: unknown key '{name}' in notebooks; allowed there: {', '.join(names)}")
        allowed = [p for p in notebook_parameters(folder / f"{name}.ipynb") if p not in BASE_PARAMETERS]
        for key in params:
            if key not in allowed:
                raise ConfigError(
                    f"{where}: unknown key '{key}' in notebooks.{name}; "
                    f"allowed there: {', '.join(allowed) or '(none)'}"
                )


# --------------------------------------------------------------------------- periods
def resolve_period(
    sources: list[dict[str, Any]], period: str | None = None, as_of: Any = None
) -> tuple[str, pd.Timestamp]:
    """``(period, as_of)``: ``as_of`` wins; then ``period``; else the last complete month."""
    if as_of not in (None, ""):
        day = parse_as_of(as_of)
        return (period or day.strftime("%Y-%m")), day
    if period not in (None, ""):
        return str(pd.Period(period, freq="M")), period_as_of(period)
    from crmlib import io

    day = month_end_as_of(io.last_invoice_date(sources))
    return day.strftime("%Y-%m"), day


def expand_periods(spec: str) -> list[str]:
    """``"2011-01..2011-11"`` -> every month from the first to the last, inclusive."""
    try:
        first, last = (pd.Period(part.strip(), freq="M") for part in spec.split(".."))
    except ValueError:
        raise ConfigError(f"--periods: expected FROM..TO like 2011-01..2011-11, got '{spec}'") from None
    if last < first:
        raise ConfigError(f"--periods: {last} comes before {first}")
    return [str(p) for p in pd.period_range(first, last, freq="M")]


# --------------------------------------------------------------------------- kernel
_kernel_lock = threading.Lock()


def ensure_kernel(folder: Path) -> str:
    """Register a kernelspec for *this* Python in ``folder`` and put it first on JUPYTER_PATH.

    Papermill would otherwise use the notebook's ``python3`` kernelspec, which on a
    machine with other Jupyter installs may point at a different interpreter (or be
    missing: NoSuchKernel). Returns the kernel name.
    """
    with _kernel_lock:
        spec_dir = folder / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--log-level=ERROR"],
            "display_name": "CRM Workbook (Python)",
            "language": "python",
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        paths = [str(folder)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != str(folder)]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return KERNEL_NAME


# --------------------------------------------------------------------------- execution
def _failure_message(name: str, exc: BaseException, kept: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first_line = next((line for line in (exc.source or "").splitlines() if line.strip()), "")
        return (
            f"notebook {name} failed in cell {exc.exec_count} (`{first_line.strip()}`): "
            f"{exc.ename}: {exc.evalue}\n  executed notebook kept at {kept}"
        )
    return f"notebook {name} failed: {type(exc).__name__}: {exc}\n  executed notebook kept at {kept}"


def _execute(
    name: str, source: Path, target: Path, parameters: dict[str, Any], kernel: str, cwd: Path
) -> None:
    import papermill

    papermill.execute_notebook(
        str(source),
        str(target),
        parameters=parameters,
        kernel_name=kernel,
        progress_bar=False,
        cwd=str(cwd),
        start_timeout=120,
    )


def _dependencies(name: str, names: list[str]) -> tuple[str, ...]:
    """The notebooks of this run that ``name`` reads from.

    The summary reads everything; a notebook missing from :data:`DEPENDENCIES` (one an
    analyst added) waits for every analysis before it in run order.
    """
    if name == SUMMARY:
        return tuple(n for n in names if n != SUMMARY)
    if name in DEPENDENCIES:
        return tuple(d for d in DEPENDENCIES[name] if d in names)
    return tuple(n for n in names[: names.index(name)] if n != SUMMARY)


def _run_graph(
    names: list[str],
    run_one: Any,
    max_parallel: int,
    progress: bool,
) -> None:
    """Run ``run_one(name)`` for every name, each after its dependencies, in a thread pool."""
    from tqdm.auto import tqdm

    pending = list(names)
    done: set[str] = set()
    running: dict[Future, str] = {}
    bar = tqdm(total=len(names), desc="report", unit="notebook", disable=not progress, file=sys.stderr)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max_parallel) as pool:
        while (pending and failure is None) or running:
            if failure is None:
                for name in list(pending):
                    if all(d in done for d in _dependencies(name, names)) and len(running) < max_parallel:
                        pending.remove(name)
                        running[pool.submit(run_one, name)] = name
            if not running:
                raise ConfigError(f"notebooks {', '.join(pending)} wait on each other; check DEPENDENCIES")
            bar.set_postfix_str(", ".join(sorted(running.values())))
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                exc = future.exception()
                if exc is not None:
                    failure = failure or _NotebookFailed(name, exc)
                else:
                    done.add(name)
                    bar.update(1)
    bar.close()
    if failure is not None:
        raise failure


def run_report(
    *,
    config_path: str | Path | None = None,
    period: str | None = None,
    as_of: Any = None,
    data_paths: list[str | Path] | None = None,
    only: str | None = None,
    output_dir: str | Path | None = None,
    progress: bool = True,
    max_parallel: int = 2,
) -> ReportResult:
    """Execute the notebooks for one period and publish ``<output_dir>/<period>/``.

    Raises :class:`ReportError` when a notebook fails (the previous report of the
    period stays as it was) and :class:`~crmlib.errors.ConfigError` for bad settings.
    """
    started = time.perf_counter()
    config = config_mod.load_config(config_path)
    root = Path(config["_root"])
    folder = notebooks_dir(config)
    names = discover_notebooks(folder)
    if not names:
        raise ConfigError(f"no notebooks found in {folder}")
    check_notebook_config(config, folder, names)
    if only is not None and only not in names:
        raise ConfigError(f"--only: unknown notebook '{only}'; choose one of: {', '.join(names)}")

    paths = [str(Path(p).resolve()) for p in (data_paths or [])]
    for p in paths:
        if not Path(p).is_file():
            raise ConfigError(f"--data: file not found: {p}")
    sources = config_mod.sources_for_paths(config, paths) if paths else config["sources"]
    if not sources:
        raise ConfigError("no data: configure `sources:` in workbook.yml or pass --data PATH")
    period, day = resolve_period(sources, period, as_of)

    output = Path(output_dir) if output_dir else root / "reports"
    output.mkdir(parents=True, exist_ok=True)
    run_dir = output / ".runs" / f"{period}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    artifacts = run_dir / "artifacts"
    executed = run_dir / "notebooks"
    artifacts.mkdir(parents=True)
    executed.mkdir()
    target = output / period

    to_run = names if only is None else [only]
    if only is not None and target.is_dir():
        # Re-run one page inside an existing period: start from its artifacts and pages.
        shutil.copytree(target, run_dir, dirs_exist_ok=True)

    base = {
        "as_of": str(day.date()),
        "period": period,
        "data_paths": paths,
        "artifacts_dir": str(artifacts),
        "config_path": config["_path"],
    }
    kernel = ensure_kernel(output / ".kernel")

    def run_one(name: str) -> None:
        from papermill.exceptions import PapermillExecutionError

        params = {**base, **config["notebooks"].get(name, {})}
        try:
            _execute(name, folder / f"{name}.ipynb", executed / f"{name}.ipynb", params, kernel, folder)
        except PapermillExecutionError as exc:
            if exc.ename != "NotApplicableError":
                raise
            close_not_applicable(executed / f"{name}.ipynb", artifacts, name, str(exc.evalue), base)

    try:
        _run_graph(to_run, run_one, max_parallel, progress)
    except _NotebookFailed as failed:  # keep the run for the analyst, say where it broke
        kept_dir = output / ".failed" / run_dir.name
        kept_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run_dir), str(kept_dir))
        kept = kept_dir / "notebooks" / f"{failed.name}.ipynb"
        raise ReportError(_failure_message(failed.name, failed.error, kept), kept) from failed.error

    pages = site.render_pages(executed, run_dir, names_in_order(names, executed), config=config, period=period)
    site.write_period_index(run_dir, period=period, as_of=day, config=config)
    _publish(run_dir, target)
    index = site.write_site_index(output, config=config)
    return ReportResult(
        period=period,
        as_of=day,
        period_dir=target,
        index_path=index,
        pages=[target / p.name for p in pages],
        seconds=time.perf_counter() - started,
    )


def close_not_applicable(
    executed_notebook: Path, artifacts: Path, name: str, reason: str, base: dict[str, Any]
) -> None:
    """End a notebook that raised NotApplicableError as a page that says why.

    The cells after the one that raised are dropped, its error output is replaced by the
    reason in plain words, and ``metrics/<name>.json`` records ``not_applicable`` so the
    summary can say the analysis was not possible for this period (rather than missing).
    """
    import nbformat

    nb = nbformat.read(executed_notebook, as_version=4)
    index = next(
        (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)),
        len(nb.cells) - 1,
    )
    nb.cells[index].outputs = [o for o in nb.cells[index].outputs if o.output_type != "error"]
    message = f"> **Not available for this period.** {reason}"
    nb.cells = nb.cells[: index + 1] + [nbformat.v4.new_markdown_cell(message)]
    nbformat.write(nb, executed_notebook)
    metrics = artifacts / "metrics" / f"{name}.json"
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(
        json.dumps(
            {
                "notebook": name,
                "as_of": base["as_of"],
                "period": base["period"],
                "not_applicable": reason,
                "warnings": [f"{site.title_of(name)}: not available for this period: {reason}"],
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def names_in_order(names: list[str], executed: Path) -> list[str]:
    """Executed notebooks, summary first (the order managers read them in)."""
    present = [n for n in names if (executed / f"{n}.ipynb").is_file()]
    return sorted(present, key=lambda n: (n != SUMMARY, n))


def _publish(run_dir: Path, target: Path) -> None:
    """Swap the finished run folder into place: the old report goes only after the new one is in."""
    if target.exists():
        trash = target.parent / ".runs" / f"old-{target.name}-{uuid.uuid4().hex[:6]}"
        target.rename(trash)
        run_dir.rename(target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        run_dir.rename(target)


def run_periods(spec: str, **kwargs: Any) -> list[ReportResult]:
    """Back-fill: one :func:`run_report` per month of ``spec`` (``FROM..TO``), oldest first."""
    return [run_report(period=p, **kwargs) for p in expand_periods(spec)]
