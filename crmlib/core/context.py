"""The run context every notebook starts with: the resolved run, paths, artifacts, metrics.

A notebook is a function (papermill's view): its ``parameters`` cell is the signature,
and its first code cell turns those parameters into a :class:`RunContext`::

    ctx = RunContext.create("02_segmentation", as_of=as_of, period=period,
                            data_paths=data_paths, artifacts_dir=artifacts_dir,
                            config_path=config_path, parameters={"n_clusters": n_clusters})
    transactions = ctx.load_transactions()

The configuration and ``as_of`` come from :func:`crmlib.core.run.load_run` (the runner's
``run.json``, or resolved the same way for a notebook run by hand). The context reads
upstream artifacts, rebuilds ``transactions.parquet`` through the cleaning engine when
it is missing or was built for another ``as_of`` (and says so), and writes the page's
``metrics/<page>.json`` after checking it against the page's declared metrics.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmlib import cleaning, schema
from crmlib.core import engine, i18n, pages, privacy, tables, writer
from crmlib.core.run import Run, load_run
from crmlib.core.text import md_link
from crmlib.errors import NotApplicableError

if TYPE_CHECKING:
    from IPython.display import Markdown

TRANSACTIONS = "transactions.parquet"
DOWNLOADS = "downloads"
AUDIT = "cleaning_audit.json"
#: The analyst's mapping from personal ids to the pseudonyms pages and downloads show,
#: one file per page: ``pseudonyms/<page>.parquet`` in the artifacts.
PSEUDONYMS = "pseudonyms"
#: Fewest known customers (with a customer id) a customer page works on by default.
MIN_CUSTOMERS = 20
#: Columns of a download that hold customer ids (pseudonymised when personal).
ID_COLUMNS = ("customer_id",)


@dataclass
class RunContext:
    """Everything a notebook needs to know about the run it is part of."""

    notebook: str
    run: Run
    artifacts_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    downloads: dict[str, str] = field(default_factory=dict)   # name -> link relative to the page

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
        """A notebook's context from its base parameters (see :func:`crmlib.core.run.load_run`).

        ``artifacts_dir`` defaults to ``data/processed/artifacts`` beside ``workbook.yml``.
        """
        if artifacts_dir in (None, ""):
            from crmlib.core.config import find_config

            found = Path(config_path) if config_path else find_config()
            root = found.resolve().parent if found else Path.cwd().resolve()
            artifacts_dir = root / "data" / "processed" / "artifacts"
        artifacts = Path(artifacts_dir)
        artifacts.mkdir(parents=True, exist_ok=True)
        run = load_run(artifacts, config_path=config_path, period=period, as_of=as_of, data_paths=data_paths)
        i18n.set_language(run.language)   # the notebook's _() and formatters speak the run's language
        ctx = cls(notebook=notebook, run=run, artifacts_dir=artifacts, parameters=dict(parameters or {}))
        tables.show_ids_through(ctx._shown_customer_ids)  # every manager table shows ids as this run allows
        return ctx

    # ----------------------------------------------------------------- the run
    @property
    def as_of(self) -> pd.Timestamp:
        return self.run.as_of

    @property
    def period(self) -> str:
        return self.run.period

    @property
    def config(self) -> dict[str, Any]:
        return self.run.config

    @property
    def sources(self) -> list[dict[str, Any]]:
        return self.run.sources

    @property
    def language(self) -> str:
        """The report's language, ``"en"`` or ``"ko"`` (current in this kernel)."""
        return self.run.language

    @property
    def currency(self) -> str:
        return self.run.config.get("currency", "GBP")

    # ----------------------------------------------------------------- paths
    def path(self, name: str) -> Path:
        """Path of an artifact in this run's artifacts folder."""
        return self.artifacts_dir / name

    def scratch_dir(self) -> Path:
        """A working folder next to the artifacts (``.scratch``, created): for what a page
        spills to disk (the chunked cleaning's parts, DuckDB's temporary files), on the
        artifacts' disk so results are moved into place rather than copied."""
        from crmlib.core.layout import SCRATCH

        folder = self.artifacts_dir / SCRATCH
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ----------------------------------------------------------------- artifacts
    def read_json(self, name: str) -> dict[str, Any] | None:
        p = self.path(name)
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        return writer.write_json(self.path(name), data)

    def read_parquet(self, name: str) -> pd.DataFrame | None:
        """An upstream artifact, or ``None`` when that page has not run."""
        p = self.path(name)
        return pd.read_parquet(p) if p.is_file() else None

    def write_parquet(self, name: str, frame: pd.DataFrame) -> Path:
        return writer.write_parquet(self.path(name), frame)

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        return writer.write_csv(self.path(name), frame)

    # ----------------------------------------------------------------- downloads
    @property
    def downloads_dir(self) -> Path:
        """Where the manager's downloads go: ``downloads/`` beside the artifacts folder.

        In a run that is ``<period>/downloads/`` once published, so a page at
        ``<period>/<page>.html`` links to ``downloads/<file>``.
        """
        return self.artifacts_dir.parent / DOWNLOADS

    def download(self, frame: pd.DataFrame, name: str, label: str,
                 id_columns: tuple[str, ...] = ID_COLUMNS) -> Markdown:
        """Write ``frame`` as ``downloads/<name>.csv`` for Excel and return the link to show.

        Personal ids in ``id_columns`` (also when headed for people, "Customer id") are
        pseudonymised first (:meth:`shown_ids`); the CSV
        is written by the one writer (UTF-8 with BOM, formula-like text neutralised); the
        link is relative to the page, e.g. ``downloads/retention_list.csv``.
        """
        from IPython.display import Markdown

        # a download may carry headers for people ("Customer id"): the same column for privacy
        headers = [c for c in frame.columns if str(c).strip().lower().replace(" ", "_") in id_columns]
        frame = self.shown_ids(frame, *headers)
        path = writer.write_csv(self.downloads_dir / f"{name}.csv", frame)
        self.downloads[name] = f"{DOWNLOADS}/{path.name}"
        rows = (i18n._("1 row") if len(frame) == 1 else i18n._("{count} rows")).format(count=f"{len(frame):,}")
        return Markdown(i18n._("**Download:** {link} ({rows}, CSV for Excel)").format(
            link=md_link(label, f"{DOWNLOADS}/{path.name}"), rows=rows))

    def _transactions_are_current(self) -> bool:
        audit = self.read_json(AUDIT)
        if not audit or not self.path(TRANSACTIONS).exists():  # a file, or a month-partitioned folder
            return False
        if audit.get("as_of") != str(self.as_of.date()):
            return False
        wanted = sorted(cleaning.input_paths(self.sources, self.config.get("identity")))
        return not wanted or sorted(audit.get("source_paths", [])) == wanted

    def load_transactions(self, columns: Sequence[str] | None = None, *, customers_only: bool = False,
                          categories: Sequence[str] = ()) -> pd.DataFrame:
        """Clean transactions up to ``as_of`` (``transactions.parquet``), every column or ``columns``.

        ``transactions.parquet`` is one Parquet file, or a month-partitioned folder for a
        large log (:func:`crmlib.core.engine.write_transactions`); both read the same. A page
        that needs a few columns asks for them: at 10M lines every column takes 1.2 GB,
        the ids, date and amount about half. When the artifact is missing or was built for
        another ``as_of`` or other files, the cleaning engine is re-run and the notebook
        notes that it did so. A run with a customer table and no transaction sources gets
        no rows (with every column asked for). ``customers_only``: only the lines with a
        customer id (for pages that model customers), filtered while reading. ``categories``:
        text columns read as pandas categoricals (for a page that only codes them, e.g.
        products and countries on the value and churn pages).
        """
        if not self.sources:
            empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in schema.TRANSACTION_DTYPES.items()
                                  if c not in schema.OPTIONAL_TEXT and c != schema.SOURCE_SHEET})
            return empty if columns is None else empty[[c for c in columns if c in empty]]
        return engine.read_transactions(self.transactions_file(), columns, customers_only=customers_only,
                                        categories=categories)

    def transactions_file(self) -> Path:
        """Where the clean transactions are stored (``transactions.parquet``: a file, or a
        month-partitioned folder for a large log), brought up to date first as
        :meth:`load_transactions` does: for a page that reads only the columns it needs, or
        hands the file to a row-level engine, instead of loading every column."""
        if not self._transactions_are_current():
            result = cleaning.clean_sources(self.sources, as_of=self.as_of, rules=self.config.get("cleaning", {}),
                                            identity=self.config.get("identity"), root=self.config["_root"],
                                            workdir=self.scratch_dir())
            result.write(self.artifacts_dir)
            self.notes.append(i18n.N_(
                "The clean transactions were missing or out of date, so the cleaning step was re-run "
                "before this analysis."
            ))
        return self.path(TRANSACTIONS)

    def engine_name(self) -> str:
        """The row-level engine of this run: ``engine:`` of ``workbook.yml``, with ``auto``
        decided by the clean log's number of lines (:mod:`crmlib.core.engine`)."""
        settings = engine.engine_settings(self.config)
        if settings.engine != "auto":
            return settings.engine
        return settings.resolve(engine.parquet_rows(self.transactions_file()) if self.sources else 0)

    def customer_summary(self, transactions: pd.DataFrame) -> pd.DataFrame:
        """Every customer's summary at ``as_of`` (:func:`crmlib.core.summaries.customer_summary`),
        computed by the run's engine: in this process from ``transactions`` (pandas), or by
        DuckDB or Spark from the stored clean log (the same numbers; ``tests/test_engines.py``)."""
        name = self.engine_name()
        if name == "pandas":
            from crmlib.core.summaries import customer_summary

            return customer_summary(transactions, self.as_of)
        settings = engine.engine_settings(self.config)
        options = {"temp_directory": self.scratch_dir() / "engine"} if name == "duckdb" else {}
        with engine.Engine(name, master=settings.spark_master, spark_conf=settings.spark_conf,
                           **options) as run_engine:
            summary = engine.customer_summary(self.transactions_file(), self.as_of, run_engine)
        shutil.rmtree(self.scratch_dir() / "engine", ignore_errors=True)
        return summary

    # ----------------------------------------------------------------- what a page needs
    def require_transactions(self) -> None:
        """Raise :class:`NotApplicableError` when the run has no transaction log (a customer
        table alone): the page then says it is not available, and the others run."""
        if not self.sources:
            raise NotApplicableError(
                "this page needs a transaction log, and this workbook has only a customer table "
                "(no `sources:` in workbook.yml)")

    def require_customers(self, transactions: pd.DataFrame, minimum: int = MIN_CUSTOMERS,
                          customers: pd.DataFrame | None = None) -> int:
        """Raise :class:`NotApplicableError` unless at least ``minimum`` customers are known.

        Known customers are the distinct customer ids in ``transactions`` (anonymous lines
        count for sales only), or the rows of the ``customers`` table when a page can work
        from it (churn in customer-table mode). The runner turns the error into a page that
        says why; sales pages still run. Returns the number of known customers.
        """
        if customers is None:
            self.require_transactions()
        # distinct ids first: filtering the frame would copy every column of every line
        ids = pd.Index(transactions[schema.CUSTOMER_ID].unique()).dropna() if len(transactions) else pd.Index([])
        known = int((ids.astype("str") != "").sum())
        if customers is not None:
            known = max(known, len(customers))
        if known < minimum:
            raise NotApplicableError(
                f"this analysis needs at least {minimum:,} customers with a customer id, and the data up to "
                f"{self.as_of.date()} have {known:,}; the sales figures are on the cleaning page and the summary")
        return known

    # ----------------------------------------------------------------- personal data
    @property
    def ids_are_personal(self) -> privacy.IdsArePersonal:
        """The ``ids_are_personal`` setting of ``workbook.yml``: ``auto`` (default), true or false."""
        return self.config.get("ids_are_personal", "auto")

    def shown_ids(self, frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
        """``frame`` ready to show or share: personal ids in ``columns`` (or the index, when
        it carries one of those names) replaced by stable pseudonyms.

        Which ids are personal follows ``ids_are_personal`` (``auto``: ids that look like a
        phone number or an e-mail address, :func:`crmlib.core.privacy.looks_personal`). The
        mapping from id to pseudonym goes to the analyst's artifacts only
        (``pseudonyms/<page>.parquet``). Columns not in ``frame`` are skipped; ``frame`` is not changed.
        """
        columns = columns or ID_COLUMNS
        index_names = [n for n in frame.index.names if n in columns]
        data = frame.reset_index(index_names) if index_names else frame
        present = [c for c in columns if c in data.columns]
        if not present or self.ids_are_personal is False:
            return frame
        shown, mapping = privacy.pseudonymise_personal_ids(
            data, present, privacy.load_key(self.config["_root"]), self.ids_are_personal)
        if not mapping.empty:
            self._keep_pseudonyms(mapping)
        return shown.set_index(index_names) if index_names else shown

    def _shown_customer_ids(self, frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
        """:meth:`shown_ids` for the customer-id columns among ``columns`` (a product code is no person)."""
        customer_columns = [c for c in columns if c in ID_COLUMNS]
        return self.shown_ids(frame, *customer_columns) if customer_columns else frame

    def _keep_pseudonyms(self, mapping: pd.DataFrame) -> None:
        name = f"{PSEUDONYMS}/{self.notebook}.parquet"
        known = self.read_parquet(name)
        merged = mapping if known is None else pd.concat([known, mapping], ignore_index=True)
        self.write_parquet(name, merged.drop_duplicates("id").reset_index(drop=True))

    def show_notes(self) -> None:
        """Display what the context did on its own (steps re-run)."""
        if self.notes:
            from IPython.display import Markdown, display

            display(Markdown("\n".join(i18n._("> **Note.** {note}").format(note=i18n._(n)) for n in self.notes)))

    # ----------------------------------------------------------------- metrics
    def warn(self, message: str) -> None:
        """Record a plain-language warning for the report (shown in the summary)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        """Write ``metrics/<page>.json``: headline numbers, parameters, warnings.

        ``metrics`` is checked against the page's declared metrics
        (:func:`crmlib.core.pages.validate_metrics`) before anything is written. Keys
        given come first; ``notebook``, ``as_of``, ``period``, ``parameters`` and
        ``warnings`` are added (``warnings`` merged with :meth:`warn`'s), and ``downloads``
        (name -> link) when the page offered any through :meth:`download`, so the summary
        can link a page's list.
        """
        page = pages.page(self.notebook, self.config)
        given = list(metrics.get("warnings", []))
        payload = {
            **metrics,
            "notebook": self.notebook,
            "as_of": str(self.as_of.date()),
            "period": self.period,
            "parameters": self.parameters,
            "warnings": given + [w for w in self.warnings if w not in given],
            **({"downloads": dict(self.downloads)} if self.downloads else {}),
        }
        payload = writer.jsonable(payload)
        pages.validate_metrics(page, payload)
        return self.write_json(f"metrics/{self.notebook}.json", payload)

    def read_metrics(self, notebook: str) -> dict[str, Any] | None:
        """Another page's metrics, or ``None`` when it has not run."""
        return self.read_json(f"metrics/{notebook}.json")
