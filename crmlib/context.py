"""The run context every notebook starts with: resolved parameters, paths, artifacts.

A notebook is a function (papermill's view): its ``parameters`` cell is the signature,
and its first code cell turns those parameters into a :class:`RunContext`::

    ctx = RunContext.create("02_segmentation", as_of=as_of, period=period,
                            data_paths=data_paths, artifacts_dir=artifacts_dir,
                            config_path=config_path, parameters={"n_clusters": n_clusters})
    transactions = ctx.load_transactions()

The context resolves defaults (``as_of=None`` means the end of the last complete month
in the data), reads upstream artifacts, rebuilds ``transactions.parquet`` through
:mod:`crmlib.cleaning` when it is missing or was built for another ``as_of`` (and says
so), and writes the notebook's ``metrics/<notebook>.json``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib import config as config_mod
from crmlib.errors import ConfigError, DataError

TRANSACTIONS = "transactions.parquet"
AUDIT = "cleaning_audit.json"


def month_end_as_of(last_date: pd.Timestamp) -> pd.Timestamp:
    """End of the last complete month up to ``last_date``.

    A month counts as complete when the data reaches its last day; otherwise the
    analysis stops at the end of the month before (e.g. data up to 2011-12-09 gives
    2011-11-30).
    """
    day = pd.Timestamp(last_date).normalize()
    month_end = day + pd.offsets.MonthEnd(0)
    return month_end if day == month_end else day - pd.offsets.MonthEnd(1)


def parse_as_of(as_of: Any) -> pd.Timestamp:
    """Parse an ``as_of`` value (date or string) into a midnight Timestamp."""
    try:
        return pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError):
        raise ConfigError(f"as_of: cannot read '{as_of}' as a date (use YYYY-MM-DD)") from None


def period_as_of(period: str) -> pd.Timestamp:
    """The last day of a ``YYYY-MM`` period."""
    try:
        start = pd.Period(str(period), freq="M")
    except (ValueError, TypeError):
        raise ConfigError(f"period: cannot read '{period}' as a month (use YYYY-MM)") from None
    return start.end_time.normalize()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass
class RunContext:
    """Everything a notebook needs to know about the run it is part of."""

    notebook: str
    as_of: pd.Timestamp | None
    period: str | None
    sources: list[dict[str, Any]]
    artifacts_dir: Path
    config: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        notebook: str,
        *,
        as_of: Any = None,
        period: str | None = None,
        data_paths: list[str] | None = None,
        artifacts_dir: str | Path | None = None,
        config_path: str | Path | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> "RunContext":
        """Resolve a notebook's parameters into a context.

        ``as_of`` wins over ``period``; with neither, ``as_of`` is resolved lazily from
        the data (see :meth:`resolve_as_of`). ``data_paths`` replace the sources of
        ``workbook.yml``; ``artifacts_dir`` defaults to ``data/processed/artifacts``.
        """
        config = config_mod.load_config(config_path)
        root = Path(config["_root"])
        sources = (
            config_mod.sources_for_paths(config, list(data_paths)) if data_paths else config["sources"]
        )
        resolved_as_of = None
        if as_of not in (None, ""):
            resolved_as_of = parse_as_of(as_of)
        elif period not in (None, ""):
            resolved_as_of = period_as_of(period)
        if resolved_as_of is not None and not period:
            period = resolved_as_of.strftime("%Y-%m")
        artifacts = Path(artifacts_dir) if artifacts_dir else root / "data" / "processed" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        return cls(
            notebook=notebook,
            as_of=resolved_as_of,
            period=period,
            sources=sources,
            artifacts_dir=artifacts,
            config=config,
            parameters=dict(parameters or {}),
        )

    # ----------------------------------------------------------------- paths
    def path(self, name: str) -> Path:
        """Path of an artifact in this run's artifacts folder."""
        return self.artifacts_dir / name

    @property
    def metrics_dir(self) -> Path:
        d = self.artifacts_dir / "metrics"
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ----------------------------------------------------------------- as_of
    def resolve_as_of(self, dates: pd.Series | None = None) -> pd.Timestamp:
        """Fix ``as_of`` when it was not given: the end of the last complete month.

        Looks, in order, at ``dates`` (e.g. the raw invoice dates), the ``as_of``
        recorded by the cleaning step in ``cleaning_audit.json``.
        """
        if self.as_of is not None:
            return self.as_of
        audit = self.read_json(AUDIT)
        if dates is None and audit and audit.get("as_of"):
            self.as_of = parse_as_of(audit["as_of"])
        elif dates is not None:
            dates = pd.to_datetime(dates, errors="coerce").dropna()
            if dates.empty:
                raise DataError("no valid invoice dates to derive as_of from", column="invoice_date")
            self.as_of = month_end_as_of(dates.max())
            self.notes.append(
                f"No analysis date given: using {self.as_of.date()}, the end of the last "
                f"complete month in the data (last invoice {dates.max().date()})."
            )
        else:
            raise ConfigError("as_of is not set and there is no cleaned data to derive it from")
        if not self.period:
            self.period = self.as_of.strftime("%Y-%m")
        return self.as_of

    # ----------------------------------------------------------------- artifacts
    def read_json(self, name: str) -> dict[str, Any] | None:
        p = self.path(name)
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        p = self.path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps(_jsonable(data), indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(p)
        return p

    def read_parquet(self, name: str) -> pd.DataFrame | None:
        """An upstream artifact, or ``None`` when that notebook has not run."""
        p = self.path(name)
        return pd.read_parquet(p) if p.is_file() else None

    def write_parquet(self, name: str, frame: pd.DataFrame) -> Path:
        p = self.path(name)
        tmp = p.with_suffix(".tmp.parquet")
        frame.to_parquet(tmp, index=False)
        tmp.replace(p)
        return p

    def _transactions_are_current(self) -> bool:
        audit = self.read_json(AUDIT)
        if not audit or not self.path(TRANSACTIONS).is_file():
            return False
        if self.as_of is not None and audit.get("as_of") != str(self.as_of.date()):
            return False
        wanted = sorted(str(Path(s["path"]).resolve()) for s in self.sources)
        return not wanted or sorted(audit.get("source_paths", [])) == wanted

    def load_transactions(self) -> pd.DataFrame:
        """Clean transactions up to ``as_of`` (``transactions.parquet``).

        When the artifact is missing or was built for another ``as_of`` or other files,
        the cleaning step is re-run through :mod:`crmlib.cleaning` and the notebook
        notes that it did so.
        """
        if not self._transactions_are_current():
            from crmlib import cleaning  # late import: cleaning imports io, which is heavy

            result = cleaning.clean_sources(
                self.sources, as_of=self.as_of, rules=self.config.get("cleaning", {})
            )
            if self.as_of is None:
                self.as_of = parse_as_of(result.audit["as_of"])
                self.period = self.period or self.as_of.strftime("%Y-%m")
            result.write(self.artifacts_dir)
            self.notes.append(
                "transactions.parquet was missing or out of date, so the cleaning step "
                "(01_data_cleaning) was re-run through crmlib before this analysis."
            )
        else:
            self.resolve_as_of()
        return pd.read_parquet(self.path(TRANSACTIONS))

    def show_notes(self) -> None:
        """Display what the context did on its own (defaults chosen, steps re-run)."""
        if self.notes:
            from IPython.display import Markdown, display

            display(Markdown("\n".join(f"> **Note.** {n}" for n in self.notes)))

    # ----------------------------------------------------------------- metrics
    def warn(self, message: str) -> None:
        """Record a plain-language warning for the report (shown in the summary)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        """Write ``metrics/<notebook>.json``: headline numbers, parameters, warnings.

        Keys given in ``metrics`` come first; ``notebook``, ``as_of``, ``period``,
        ``parameters`` and ``warnings`` are added (``warnings`` merged with
        :meth:`warn`'s).
        """
        warnings = list(metrics.get("warnings", [])) + [w for w in self.warnings if w not in metrics.get("warnings", [])]
        payload = {
            **metrics,
            "notebook": self.notebook,
            "as_of": str(self.as_of.date()) if self.as_of is not None else None,
            "period": self.period,
            "parameters": self.parameters,
            "warnings": warnings,
        }
        return self.write_json(f"metrics/{self.notebook}.json", payload)

    def read_metrics(self, notebook: str) -> dict[str, Any] | None:
        """Another notebook's metrics, or ``None`` when it has not run."""
        return self.read_json(f"metrics/{notebook}.json")
