"""Run every notebook for one period and publish the HTML report atomically.

One run (``docs/architecture.md``, "One run"):

1. Resolve the run once (:func:`crmlib.core.run.resolve_run`): ``workbook.yml``, the
   sources, the period and ``as_of`` (``--as-of`` wins, then ``--period``, else the last
   complete month in the data), written to ``artifacts/run.json``. Every notebook gets
   the same base parameters (``as_of``, ``period``, ``data_paths``, ``artifacts_dir``,
   ``config_path``), which make its context load that ``run.json``, plus its own section
   of ``workbook.yml`` (checked against its ``parameters`` cell); a notebook whose
   parameters cell has ``reports_dir`` also gets the output folder (06_campaigns reads
   earlier periods' retention lists there).
2. papermill executes the declared pages' notebooks in the order their ``reads`` give
   (:class:`graphlib.TopologicalSorter`) into a temporary run folder
   (``<output>/.runs/...``), independent notebooks side by side, all in this process
   through papermill's Python API and a kernel that is this environment's Python.
3. :func:`crmlib.site.build_period` moves the analysts' files under ``analyst/``
   (:mod:`crmlib.core.layout`) and renders each executed notebook to HTML with inputs
   hidden, plus the period index, the analyst files page and the glossary.
4. Only when every notebook succeeded, the run folder replaces ``<output>/<period>/``
   in one rename and ``<output>/index.html`` is rebuilt. A failed run leaves the
   previous report untouched, keeps the failed run's executed notebooks under
   ``<output>/.failed/`` and raises :class:`ReportError` naming the notebook, the
   failing cell's first line and the error (a full disk or a permission problem named as
   such). Scratch folders, killed runs' included, are handled by :mod:`crmlib.run_folders`.

Before any notebook runs, the settings are checked (``cleaning:``, ``segments:``, every
``notebooks:`` parameter's type and range, :mod:`crmlib.core.parameters`) and a period
without transactions is refused.
"""
from __future__ import annotations

import graphlib
import json
import os
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crmlib import cleaning, io_dates, run_folders, site
from crmlib.cleaning import date_window
from crmlib.core import i18n, layout
from crmlib.core import pages as page_registry
from crmlib.core.parameters import check_parameters, parameter_defaults
from crmlib.core.periods import expand_periods
from crmlib.core.run import BASE_PARAMETERS, resolve_run
from crmlib.core.writer import write_json
from crmlib.core.summaries import load_segment_map
from crmlib.core.text import md
from crmlib.errors import ConfigError, CrmError

KERNEL_NAME = "crm-workbook-python"
#: Above this many source lines (estimated from the files' sizes) pages run one at a time.
SIDE_BY_SIDE_MAX_LINES = 30_000_000


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


def discover_notebooks(folder: Path, declared: dict[str, page_registry.Page]) -> list[str]:
    """The declared pages whose notebook is in ``folder``, in name order.

    A numbered notebook (``NN_name.ipynb``) that no page declares is an error: it would
    otherwise be left out of the report without a word.
    """
    found = sorted(p.stem for p in folder.glob("[0-9][0-9]_*.ipynb"))
    undeclared = [n for n in found if n not in declared]
    if undeclared:
        raise ConfigError(
            f"notebook {undeclared[0]}.ipynb in {folder} has no page declaration: add a module with "
            f"PAGE = Page(name='{undeclared[0]}', ...) and list it under pages: in workbook.yml"
        )
    return [n for n in declared if n in found]


def notebook_parameters(path: Path) -> list[str]:
    """Names assigned in a notebook's ``parameters`` cell, in order."""
    return list(parameter_defaults(path))


def check_notebook_config(config: dict[str, Any], folder: Path, names: list[str],
                          declared: dict[str, page_registry.Page] | None = None) -> None:
    """Check the whole of ``workbook.yml`` before any notebook runs.

    Every key under ``notebooks:`` must name a notebook and one of its parameters, with a
    value of the type its default has and inside the range its page declares
    (:mod:`crmlib.core.parameters`); ``cleaning:`` and ``segments:`` are checked by the
    modules that own them, so a typo fails in a second instead of after minutes of notebooks.
    """
    cleaning.resolve_rules(config["cleaning"])
    load_segment_map(config["segments"])
    where = config.get("_path") or "workbook.yml"
    declared = declared or {}
    for name, params in config["notebooks"].items():
        if name not in names:
            raise ConfigError(f"{where}: unknown key '{name}' in notebooks; allowed there: {', '.join(names)}")
        defaults = {k: v for k, v in parameter_defaults(folder / f"{name}.ipynb").items() if k not in BASE_PARAMETERS}
        for key in params:
            if key not in defaults:
                raise ConfigError(
                    f"{where}: unknown key '{key}' in notebooks.{name}; "
                    f"allowed there: {', '.join(defaults) or '(none)'}"
                )
        page = declared.get(name)
        check_parameters(where, name, params, defaults, page.parameters if page is not None else None)


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
#: Errors from the machine rather than the notebook: what ``OSError`` says -> what to do.
SYSTEM_PROBLEMS = {
    "No space left on device": "no space left on device; free some space and run again",
    "Disk quota exceeded": "disk quota exceeded; free some space and run again",
    "Permission denied": "permission denied; check that the reports folder can be written",
    "Read-only file system": "the file system is read-only; choose another --output folder",
}


def _failure_message(name: str, exc: BaseException, kept: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        problem = next((words for text, words in SYSTEM_PROBLEMS.items() if text in str(exc.evalue)), None)
        if problem is not None:
            return (f"notebook {name} could not write its results: {problem} ({exc.ename}: {exc.evalue}); "
                    f"the previous report is unchanged")
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


def _run_graph(
    graph: dict[str, set[str]],
    run_one: Callable[[str], None],
    max_parallel: int,
    progress: bool,
) -> None:
    """Run ``run_one(name)`` for every page of ``graph`` after the pages it reads, in a thread pool.

    Pages whose inputs are ready run side by side (at most ``max_parallel``), in name
    order. After a failure nothing new starts; the pages already running finish.
    """
    from tqdm.auto import tqdm

    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise ConfigError(f"pages read each other in a circle: {' -> '.join(exc.args[1])}") from None
    ready: deque[str] = deque()
    running: dict[Future, str] = {}
    failure: _NotebookFailed | None = None
    bar = tqdm(total=len(graph), desc="report", unit="notebook", disable=not progress, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max_parallel) as pool:
        while running or (failure is None and sorter.is_active()):
            if failure is None:
                ready.extend(sorted(sorter.get_ready()))
                while ready and len(running) < max_parallel:
                    name = ready.popleft()
                    running[pool.submit(run_one, name)] = name
            bar.set_postfix_str(", ".join(sorted(running.values())))
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                exc = future.exception()
                if exc is not None:
                    failure = failure or _NotebookFailed(name, exc)
                else:
                    sorter.done(name)
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
    max_parallel: int | None = None,
    language: str | None = None,
) -> ReportResult:
    """Execute the notebooks for one period and publish ``<output_dir>/<period>/``.

    ``max_parallel``: how many pages run side by side; by default 2, or 1 when the
    sources hold more than :data:`SIDE_BY_SIDE_MAX_LINES` lines (each kernel of such a
    log holds gigabytes, and two of them must not add up beyond the machine's memory).

    Raises :class:`ReportError` when a notebook fails (the previous report of the
    period stays as it was) and :class:`~crmlib.errors.ConfigError` for bad settings.
    """
    started = time.perf_counter()
    requested = period not in (None, "") or as_of not in (None, "")
    run = resolve_run(config_path=config_path, period=period, as_of=as_of, data_paths=data_paths, language=language)
    config = run.config
    if not run.sources and not config["customers"]["path"]:
        raise ConfigError("no data: configure `sources:` (or a `customers:` table) in workbook.yml or pass --data PATH")
    root = Path(config["_root"])
    declared = page_registry.load_pages(config)
    folder = notebooks_dir(config)
    names = discover_notebooks(folder, declared)
    if not names:
        raise ConfigError(f"no notebooks found in {folder}")
    check_notebook_config(config, folder, names, declared)
    if only is not None and only not in names:
        raise ConfigError(f"--only: unknown notebook '{only}'; choose one of: {', '.join(names)}")
    period, day = run.period, run.as_of
    if max_parallel is None:
        from crmlib.cleaning_chunks import estimated_lines

        max_parallel = 1 if run.sources and estimated_lines(run.sources) > SIDE_BY_SIDE_MAX_LINES else 2

    output = (Path(output_dir) if output_dir else root / "reports").resolve()  # the kernelspec path must be absolute
    if run.sources:
        check_period_has_data(run, requested)
    output.mkdir(parents=True, exist_ok=True)
    run_folders.remove_dead_scratch(output)
    run_dir = run_folders.new_scratch(output, period)
    try:
        pages = _run_in(run_dir, output, run, declared, folder, names, only, max_parallel, progress)
    except _NotebookFailed as failed:  # keep the executed notebooks for the analyst, say where it broke
        kept = run_folders.keep_failed(output, run_dir) / "notebooks" / f"{failed.name}.ipynb"
        if isinstance(failed.error, OSError):  # papermill could not write: the disk, not the notebook
            raise failed.error
        raise ReportError(_failure_message(failed.name, failed.error, kept), kept) from failed.error
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)  # whatever is left of the scratch (gone once published)
    target = output / period
    index = site.write_site_index(output, config=config)
    return ReportResult(
        period=period,
        as_of=day,
        period_dir=target,
        index_path=index,
        pages=[target / p.name for p in pages],
        seconds=time.perf_counter() - started,
    )


def _run_in(run_dir: Path, output: Path, run: Any, declared: dict[str, page_registry.Page], folder: Path,
            names: list[str], only: str | None, max_parallel: int, progress: bool) -> list[Path]:
    """Execute the notebooks of ``run`` in the scratch folder ``run_dir``, render them and
    publish ``<output>/<period>/``; returns the rendered pages."""
    config, period = run.config, run.period
    artifacts = run_dir / layout.ARTIFACTS
    executed = run_dir / layout.NOTEBOOKS
    artifacts.mkdir(parents=True)
    executed.mkdir()
    target = output / period

    to_run = names if only is None else [only]
    if only is not None and target.is_dir():
        # Re-run one page inside an existing period: start from its artifacts and pages.
        shutil.copytree(target, run_dir, dirs_exist_ok=True)
        layout.arrange_for_run(run_dir)  # analyst/artifacts -> artifacts while the notebooks run

    run.write(artifacts)
    base = run.parameters(artifacts)
    kernel = ensure_kernel(output / ".kernel")
    site_parameters = {"reports_dir": str(output)}  # for pages that read earlier periods (06_campaigns)

    def run_one(name: str) -> None:
        from papermill.exceptions import PapermillExecutionError

        wanted = notebook_parameters(folder / f"{name}.ipynb")
        params = {**base, **{k: v for k, v in site_parameters.items() if k in wanted},
                  **config["notebooks"].get(name, {})}
        try:
            _execute(name, folder / f"{name}.ipynb", executed / f"{name}.ipynb", params, kernel, folder)
        except PapermillExecutionError as exc:
            if exc.ename != "NotApplicableError":
                raise
            close_not_applicable(executed / f"{name}.ipynb", artifacts, declared[name], str(exc.evalue), base,
                                 language=run.language)

    _run_graph(page_registry.dependencies(declared, to_run), run_one, max_parallel, progress)
    shutil.rmtree(artifacts / layout.SCRATCH, ignore_errors=True)
    pages = site.build_period(run_dir, names_in_order(names, executed), period=period, as_of=run.as_of, config=config)
    run_folders.publish(run_dir, target)
    return pages


def check_period_has_data(run: Any, requested: bool = True) -> None:
    """Refuse a period without transactions before any notebook runs (``--period 2099-01``
    published an empty report): the sources' invoice dates must reach into it.
    ``requested``: the period was asked for (``--period``/``--as-of``), not derived."""
    start = pd.Period(run.period, freq="M").start_time
    inside, first, last = io_dates.invoice_dates_between(run.sources, start, run.as_of + pd.Timedelta(days=1),
                                                   window=date_window(run.config["cleaning"]))
    if inside:
        return
    if first is None:
        raise ConfigError("no transactions: the sources hold no plausible invoice date")
    span = f"the sources' invoice dates run from {first.date()} to {last.date()}"
    if not requested:
        raise ConfigError(f"no complete month in the data yet ({span}); pass --as-of {last.date()} to report "
                          f"the days so far")
    raise ConfigError(f"period {run.period}: no transactions between {start.date()} and {run.as_of.date()} "
                      f"({span}); choose a period inside the data, or leave out --period for the last complete month")


def close_not_applicable(
    executed_notebook: Path, artifacts: Path, page: page_registry.Page, reason: str, base: dict[str, Any],
    language: str = "en",
) -> None:
    """End a notebook that raised NotApplicableError as a page that says why.

    The cells after the one that raised are dropped, its error output is replaced by the
    reason in plain words, and ``metrics/<name>.json`` records ``not_applicable`` so the
    summary can say the analysis was not possible for this period (rather than missing).
    The words are in the report's ``language`` (the reason is already: the page wrote it).
    """
    import nbformat

    _ = i18n.translator(language)   # not the process-wide language: pages may close in parallel

    nb = nbformat.read(executed_notebook, as_version=4)
    index = next(
        (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)),
        len(nb.cells) - 1,
    )
    nb.cells[index].outputs = [o for o in nb.cells[index].outputs if o.output_type != "error"]
    message = _("> **Not available for this period.** {reason}").format(reason=md(reason))  # it may quote the data
    nb.cells = nb.cells[: index + 1] + [nbformat.v4.new_markdown_cell(message)]
    nbformat.write(nb, executed_notebook)
    write_json(artifacts / "metrics" / f"{page.name}.json", {
        "notebook": page.name,
        "as_of": base["as_of"],
        "period": base["period"],
        "not_applicable": reason,
        "warnings": [_("{page}: not available for this period: {reason}").format(page=_(page.title), reason=reason)],
    })


def names_in_order(names: list[str], executed: Path) -> list[str]:
    """Executed notebooks in page order (the summary, ``00_``, first: the order managers read them in)."""
    return [n for n in names if (executed / f"{n}.ipynb").is_file()]


def run_periods(spec: str, **kwargs: Any) -> list[ReportResult]:
    """Back-fill: one :func:`run_report` per month of ``spec`` (``FROM..TO``), oldest first."""
    return [run_report(period=p, **kwargs) for p in expand_periods(spec)]
