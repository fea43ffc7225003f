"""Where a report's files live: the one place that knows the folder layout.

A run works in a flat folder (``<output>/.runs/<id>/``)::

    artifacts/            run.json, parquet/JSON artifacts, metrics/<page>.json
    notebooks/            the executed notebooks
    downloads/            the managers' CSV files (``RunContext.download``: beside ``artifacts/``)

Before it is published the run is arranged for managers (:func:`arrange_for_managers`):
the HTML pages, ``style.css`` and ``downloads/`` stay at the top of ``<output>/<period>/``,
the analysts' files move under ``analyst/``::

    2011-11/index.html, 00_summary.html, ..., glossary.html, analyst.html
    2011-11/style.css                the period's one stylesheet
    2011-11/downloads/               CSV files linked from the pages
    2011-11/analyst/artifacts/       run.json, parquet, metrics/*.json
    2011-11/analyst/notebooks/       executed notebooks

Everything that reads a published period (the site index, the campaigns page reading
earlier retention lists, tests) goes through :func:`artifacts_dir` and
:func:`metrics_path`, which also read a period published before this layout
(``<period>/artifacts/``).
"""
from __future__ import annotations

import shutil
from pathlib import Path

ARTIFACTS = "artifacts"
NOTEBOOKS = "notebooks"
DOWNLOADS = "downloads"
METRICS = "metrics"
SCRATCH = ".scratch"     # in the artifacts folder while pages run (spilled parts); removed before publishing
#: The folder of a published period that holds the analysts' files.
ANALYST = "analyst"
#: The page listing the analysts' files, and the stylesheet every page links.
ANALYST_PAGE = "analyst.html"
STYLESHEET = "style.css"

_ANALYST_FOLDERS = (ARTIFACTS, NOTEBOOKS)


def artifacts_dir(period_dir: str | Path) -> Path:
    """The artifacts folder of a published (or arranged) period, else of a working run."""
    period_dir = Path(period_dir)
    arranged = period_dir / ANALYST / ARTIFACTS
    return arranged if arranged.is_dir() else period_dir / ARTIFACTS


def notebooks_dir(period_dir: str | Path) -> Path:
    """The executed notebooks of a published (or arranged) period, else of a working run."""
    period_dir = Path(period_dir)
    arranged = period_dir / ANALYST / NOTEBOOKS
    return arranged if arranged.is_dir() else period_dir / NOTEBOOKS


def metrics_path(period_dir: str | Path, name: str) -> Path:
    """``metrics/<name>.json`` of a period (published or working)."""
    return artifacts_dir(period_dir) / METRICS / f"{name}.json"


def _move_into(source: Path, target: Path) -> None:
    """Move the folder ``source`` to ``target``, merging into an existing ``target``."""
    if not source.is_dir():
        return
    if target.exists():
        shutil.copytree(source, target, dirs_exist_ok=True)
        shutil.rmtree(source)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)


def arrange_for_managers(run_dir: str | Path) -> Path:
    """Move a finished run's ``artifacts/`` and ``notebooks/`` under ``analyst/``; returns that folder."""
    run_dir = Path(run_dir)
    for name in _ANALYST_FOLDERS:
        _move_into(run_dir / name, run_dir / ANALYST / name)
    return run_dir / ANALYST


def arrange_for_run(run_dir: str | Path) -> Path:
    """Undo :func:`arrange_for_managers` (a ``--only`` run starts from the published period)."""
    run_dir = Path(run_dir)
    for name in _ANALYST_FOLDERS:
        _move_into(run_dir / ANALYST / name, run_dir / name)
    if (run_dir / ANALYST).is_dir() and not any((run_dir / ANALYST).iterdir()):
        (run_dir / ANALYST).rmdir()
    return run_dir
