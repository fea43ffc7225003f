"""One run's settings, resolved once: the configuration, the sources, the period and ``as_of``.

The report runner calls :func:`resolve_run` once, writes the result to
``<artifacts>/run.json`` and hands every notebook the same base parameters. A notebook's
:class:`~crmlib.core.context.RunContext` calls :func:`load_run`, which returns the
runner's ``run.json`` when it was made for these parameters and otherwise resolves them
through :func:`resolve_run` itself (a notebook run by hand in JupyterLab), so both
routes share one function. See ``docs/architecture.md``, "One run".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crmlib.cleaning import date_window
from crmlib.core import config as config_mod
from crmlib.core.periods import month_end_as_of, parse_as_of, resolve_period
from crmlib.core.writer import write_json
from crmlib.errors import ConfigError

RUN_FILE = "run.json"
#: The parameters every notebook's ``parameters`` cell has; the runner sets them all.
BASE_PARAMETERS = ("as_of", "period", "data_paths", "artifacts_dir", "config_path")


@dataclass(frozen=True)
class Run:
    """The resolved settings of one run, shared by all of its notebooks.

    ``request`` holds the base parameters (without ``artifacts_dir``) as a notebook
    receives them; a notebook given the same request reuses this run unchanged.
    """

    config: dict[str, Any]
    sources: list[dict[str, Any]]
    period: str
    as_of: pd.Timestamp
    data_paths: list[str] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)

    def parameters(self, artifacts_dir: str | Path) -> dict[str, Any]:
        """The base parameters that make a notebook load exactly this run."""
        return {**self.request, "artifacts_dir": str(artifacts_dir)}

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "sources": self.sources, "period": self.period,
                "as_of": str(self.as_of.date()), "data_paths": self.data_paths, "request": self.request}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Run":
        return cls(config=data["config"], sources=data["sources"], period=data["period"],
                   as_of=parse_as_of(data["as_of"]), data_paths=list(data["data_paths"]),
                   request=dict(data["request"]))

    def write(self, artifacts_dir: str | Path) -> Path:
        """Write ``run.json`` into ``artifacts_dir``."""
        return write_json(Path(artifacts_dir) / RUN_FILE, self.to_dict())


def _request(config_path: Any, period: Any, as_of: Any, data_paths: Any) -> dict[str, Any]:
    return {
        "as_of": None if as_of in (None, "") else str(as_of),
        "period": None if period in (None, "") else str(period),
        "data_paths": [str(p) for p in (data_paths or [])],
        "config_path": None if config_path in (None, "") else str(config_path),
    }


def resolve_run(
    *,
    config_path: str | Path | None = None,
    period: str | None = None,
    as_of: Any = None,
    data_paths: list[str | Path] | None = None,
) -> Run:
    """Load ``workbook.yml`` and fix the sources, the period and ``as_of`` for one run.

    ``data_paths`` replace the configured sources; ``as_of`` wins over ``period``; with
    neither, ``as_of`` is the end of the last complete month in the data
    (:func:`crmlib.core.periods.resolve_period`); with a customer table and no transaction
    sources, the last complete month before today. Raises
    :class:`~crmlib.errors.ConfigError` for a missing file or no data at all.
    """
    config = config_mod.load_config(config_path)
    paths = [str(Path(p).resolve()) for p in (data_paths or [])]
    for p in paths:
        if not Path(p).is_file():
            raise ConfigError(f"--data: file not found: {p}")
    sources = config_mod.sources_for_paths(config, paths) if paths else config["sources"]
    undated = as_of in (None, "") and period in (None, "")
    if not sources and undated and not config["customers"]["path"]:
        raise ConfigError("no data: configure `sources:` (or a `customers:` table) in workbook.yml or pass --data PATH")
    if not sources and undated:  # a customer table alone is a snapshot: report the last complete month
        as_of = month_end_as_of(pd.Timestamp.today())
    period, day = resolve_period(sources, period, as_of, window=date_window(config["cleaning"]))
    request = _request(config["_path"], period, str(day.date()), paths)
    return Run(config=config, sources=sources, period=period, as_of=day, data_paths=paths, request=request)


def load_run(
    artifacts_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    period: str | None = None,
    as_of: Any = None,
    data_paths: list[str | Path] | None = None,
) -> Run:
    """The run a notebook belongs to: the runner's ``run.json`` or a freshly resolved one.

    ``run.json`` is reused when it was written for exactly these parameters and they
    fix the date (``as_of`` or ``period`` given); otherwise :func:`resolve_run` resolves
    them and the result is written for the notebooks that follow.
    """
    given = _request(config_path, period, as_of, data_paths)
    file = Path(artifacts_dir) / RUN_FILE
    if file.is_file() and (given["as_of"] or given["period"]):
        stored = Run.from_dict(json.loads(file.read_text(encoding="utf-8")))
        if stored.request == given:
            return stored
    run = resolve_run(config_path=config_path, period=period, as_of=as_of, data_paths=data_paths)
    run.write(artifacts_dir)
    return run
