"""Row-level engines: the clean transactions on disk once, the row-level aggregates on pandas, DuckDB or Spark.

The pages work on customer-level frames (one row per customer, per month, per pair of
products), which stay pandas. What grows with the number of *lines* - reading the
clean log and boiling it down to those frames - runs on an engine chosen in
``workbook.yml``::

    engine: auto        # auto | pandas | duckdb | spark
    spark:              # only for engine: spark
      master: local[2]  # or spark://host:7077, yarn, ...; left out: an existing session
      conf: {spark.executor.memory: 8g}

* ``pandas``: in this process (fastest for small data; memory grows with the log).
* ``duckdb``: embedded, no server, uses every core and spills to disk beyond its memory
  limit, so one machine handles logs larger than its memory.
* ``spark``: a Spark cluster (or local mode) for data beyond one machine; reads the same
  Parquet layout (local paths or object-store URLs such as ``s3a://bucket/run/``).
* ``auto``: pandas below :data:`AUTO_DUCKDB_ROWS` lines, DuckDB above (when installed).

Each aggregate is expressed once for DuckDB and Spark, as an Ibis expression
(:mod:`crmlib.core.engine_exprs`), and once in pandas/numpy for small data; a test
(``tests/test_engines.py``) runs one log on every available engine and compares them.

Storage (:func:`write_transactions`, :func:`scan_transactions`, :func:`read_transactions`):
the clean transactions are one Parquet file, or - above ``partition_rows`` lines, or
when written in chunks - a folder of Parquet files partitioned by month
(``month=2011-12/part-0.parquet``, Hive layout), which pandas, DuckDB and Spark all read.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from crmlib.core import summaries
from crmlib.errors import ConfigError

ENGINES = ("auto", "pandas", "duckdb", "spark")

#: ``engine: auto`` switches from pandas to DuckDB at this many lines (see
#: ``benchmarks/bench_report_scale.py``: below it pandas is as fast and needs no setup).
AUTO_DUCKDB_ROWS = 2_000_000

#: Lines above which :func:`write_transactions` partitions the log by month.
PARTITION_ROWS = 5_000_000

#: The columns the row-level aggregates read.
ROW_COLUMNS = ("customer_id", "invoice_id", "invoice_date", "product_id", "amount")

SPARK_KEYS = ("master", "conf")

#: Timestamps in microseconds: Spark cannot read Parquet's nanosecond timestamps
#: (``PARQUET_TYPE_ILLEGAL: INT64 (TIMESTAMP(NANOS,false))``), pandas' default.
PARQUET_OPTIONS: dict[str, Any] = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class EngineSettings:
    """The ``engine:`` and ``spark:`` settings of ``workbook.yml``, checked."""

    engine: str = "auto"
    spark_master: str | None = None
    spark_conf: tuple[tuple[str, str], ...] = ()

    def resolve(self, n_rows: int | None = None) -> str:
        """The concrete engine for a log of ``n_rows`` lines (``auto`` decided here)."""
        if self.engine != "auto":
            return self.engine
        if n_rows is not None and n_rows >= AUTO_DUCKDB_ROWS and duckdb_available():
            return "duckdb"
        return "pandas"


def engine_settings(config: dict[str, Any] | None) -> EngineSettings:
    """Check ``config['engine']`` and ``config['spark']`` (``workbook.yml``) and return them.

    Raises :class:`~crmlib.errors.ConfigError` naming the setting for an unknown engine,
    an unknown ``spark`` key or ``engine: spark`` without pyspark installed.
    """
    config = config or {}
    engine = str(config.get("engine") or "auto").strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"engine: unknown value '{config.get('engine')}'; allowed: {', '.join(ENGINES)}")
    spark = config.get("spark") or {}
    if not isinstance(spark, dict):
        raise ConfigError("spark: must be a mapping, e.g. {master: 'local[2]'}")
    unknown = sorted(set(spark) - set(SPARK_KEYS))
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' in spark; allowed there: {', '.join(SPARK_KEYS)}")
    conf = spark.get("conf") or {}
    if not isinstance(conf, dict):
        raise ConfigError("spark.conf: must be a mapping of Spark settings, e.g. {spark.executor.memory: 8g}")
    if engine == "spark" and not spark_available()[0]:
        raise ConfigError(f"engine: spark cannot run here: {spark_available()[1]}")
    if engine == "duckdb" and not duckdb_available():
        raise ConfigError("engine: duckdb needs the duckdb and ibis packages; install them with `pip install -e '.[scale]'`")
    master = spark.get("master")
    return EngineSettings(engine, str(master) if master else None,
                          tuple(sorted((str(k), str(v)) for k, v in conf.items())))


def duckdb_available() -> bool:
    """True when DuckDB and Ibis can be imported."""
    try:
        import duckdb  # noqa: F401
        import ibis  # noqa: F401
    except ImportError:
        return False
    return True


def spark_available() -> tuple[bool, str]:
    """``(True, "")`` when pyspark, Ibis and a Java runtime are present, else ``(False, why)``."""
    try:
        import ibis  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return False, f"pyspark or ibis is not installed ({exc.name}); install the 'spark' extra"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return False, "no Java runtime (java not on PATH, JAVA_HOME unset); e.g. apt-get install default-jre-headless"
    return True, ""


# ----------------------------------------------------------------------------- storage
def write_transactions(
    data: pd.DataFrame | Iterable[pd.DataFrame],
    path: str | Path,
    *,
    partition_rows: int = PARTITION_ROWS,
) -> Path:
    """Store clean transactions once as Parquet: one file, or a month-partitioned folder.

    ``data`` is a frame, or an iterable of frames (chunks: nothing larger than a chunk is
    held in memory; chunks are always written partitioned). A frame with more than
    ``partition_rows`` lines is written as ``path/month=YYYY-MM/part-<i>.parquet``. The
    result replaces ``path`` only when complete (written beside it, then renamed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        if isinstance(data, pd.DataFrame) and len(data) <= partition_rows:
            target = tmp / "data.parquet"
            data.to_parquet(target, index=False, **PARQUET_OPTIONS)
        else:
            target = tmp / "data"
            chunks = [data] if isinstance(data, pd.DataFrame) else data
            for i, chunk in enumerate(chunks):
                _write_month_partitions(chunk, target, i)
            target.mkdir(exist_ok=True)
        if path.is_dir():
            shutil.rmtree(path)
        target.replace(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _write_month_partitions(frame: pd.DataFrame, folder: Path, part: int) -> None:
    month = pd.to_datetime(frame["invoice_date"]).dt.strftime("%Y-%m")
    for label, rows in frame.groupby(month.to_numpy(), sort=True):
        target = folder / f"month={label}"
        target.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(target / f"part-{part}.parquet", index=False, **PARQUET_OPTIONS)


def parquet_rows(path: str | Path) -> int:
    """Lines in a stored log (from the Parquet footers, without reading the data)."""
    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def read_transactions(path: str | Path, columns: Iterable[str] | None = None, *,
                      customers_only: bool = False, outliers_only: bool = False,
                      categories: Iterable[str] = ()) -> pd.DataFrame:
    """A stored log as a pandas frame (the month partition column left out; times in
    nanoseconds, as the pages expect).

    ``columns``: only these, in the stored order; asked-for columns the log does not
    have (an optional column no source provided) are left out, not an error.
    ``customers_only``: only the lines with a customer id, filtered while reading (no
    second copy of the log in memory). ``outliers_only``: only the lines flagged as
    outliers (``is_outlier``), filtered while reading. ``categories``: text columns read
    as pandas categoricals (Arrow dictionaries): a product code or a country repeated on
    100M lines is then a small integer per line instead of a string.
    """
    import pyarrow.dataset as ds

    path = Path(path)
    files = sorted(str(f) for f in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
    if not files:
        raise FileNotFoundError(f"{path}: no Parquet files in this folder")
    categories = list(categories)
    options = ds.ParquetReadOptions(dictionary_columns=categories) if categories else None
    dataset = ds.dataset(files, format=ds.ParquetFileFormat(read_options=options) if options else "parquet")
    if columns is not None:
        wanted = set(columns)
        columns = [c for c in dataset.schema.names if c in wanted]
    row_filter = ds.field("customer_id").is_valid() if customers_only else None
    if outliers_only:
        flagged = ds.field("is_outlier") == True  # noqa: E712  (an Arrow expression, not a Python test)
        row_filter = flagged if row_filter is None else row_filter & flagged
    table = dataset.to_table(columns=columns, filter=row_filter)
    # Arrow's buffers freed column by column while pandas takes them, times in nanoseconds
    # straight away (the pages' contract): at 10M lines 13 % lower peak, half the time
    return table.to_pandas(split_blocks=True, self_destruct=True, coerce_temporal_nanoseconds=True)


# ----------------------------------------------------------------------------- sessions
class Engine:
    """One concrete engine with its connection: ``Engine("duckdb")``, ``Engine("spark", master=...)``.

    ``memory_limit`` and ``temp_directory`` bound DuckDB (it spills beyond the limit);
    ``threads`` defaults to every core. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, name: str = "pandas", *, master: str | None = None,
                 spark_conf: Iterable[tuple[str, str]] = (), memory_limit: str | None = None,
                 temp_directory: str | Path | None = None, threads: int | None = None) -> None:
        if name not in ENGINES or name == "auto":
            raise ConfigError(f"engine: '{name}' is not a concrete engine; use pandas, duckdb or spark")
        self.name = name
        self._con: Any = None
        self._own_session: Any = None
        self._options = {"master": master, "spark_conf": tuple(spark_conf), "memory_limit": memory_limit,
                         "temp_directory": temp_directory, "threads": threads}

    @classmethod
    def from_settings(cls, settings: EngineSettings, n_rows: int | None = None, **options: Any) -> "Engine":
        """The engine ``workbook.yml`` asks for, for a log of ``n_rows`` lines."""
        return cls(settings.resolve(n_rows), master=settings.spark_master, spark_conf=settings.spark_conf, **options)

    @property
    def connection(self) -> Any:
        """The Ibis backend (DuckDB or PySpark), connected on first use."""
        if self.name == "pandas":
            raise ConfigError("the pandas engine has no Ibis connection")
        if self._con is None:
            self._con = self._connect_duckdb() if self.name == "duckdb" else self._connect_spark()
        return self._con

    def _connect_duckdb(self) -> Any:
        import ibis

        o = self._options
        config: dict[str, Any] = {"threads": o["threads"] or os.cpu_count() or 1,
                                  "preserve_insertion_order": False}
        if o["memory_limit"]:
            config["memory_limit"] = o["memory_limit"]
        if o["temp_directory"]:
            config["temp_directory"] = str(o["temp_directory"])
        return ibis.duckdb.connect(**config)

    def _connect_spark(self) -> Any:
        import ibis
        from pyspark.sql import SparkSession

        existing = SparkSession.getActiveSession()
        session = spark_session(self._options["master"], self._options["spark_conf"])
        self._own_session = session if session is not existing else None
        return ibis.pyspark.connect(session)

    def table(self, source: pd.DataFrame | str | Path) -> Any:
        """An Ibis table over a frame or a stored log (file or month-partitioned folder)."""
        if isinstance(source, pd.DataFrame):  # registered with the backend when first run
            import ibis

            return ibis.memtable(source[[c for c in ROW_COLUMNS if c in source.columns]])
        return scan_transactions(self.connection, source, spark=self.name == "spark")

    def close(self) -> None:
        """Close the DuckDB connection, or stop the Spark session if this engine started it."""
        if self._con is not None and self.name == "duckdb":
            self._con.disconnect()
        if self._own_session is not None:
            self._own_session.stop()
            self._own_session = None
        self._con = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def spark_session(master: str | None = None, conf: Iterable[tuple[str, str]] = ()) -> Any:
    """The active Spark session, or a new one on ``master`` (``local[2]`` when none is given).

    Sessions made here use UTC as the session time zone (the log's times are local
    wall-clock times without a zone; UTC keeps Spark from shifting them) and Arrow for
    moving results to pandas.
    """
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or "local[2]"
    builder = (SparkSession.builder.master(master).appName("crm-workbook")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.showConsoleProgress", "false"))
    if master.startswith("local"):  # one machine: few shuffle partitions (Spark's 200 are for clusters)
        builder = builder.config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
    for key, value in conf:
        builder = builder.config(key, value)
    return builder.getOrCreate()


def scan_transactions(con: Any, path: str | Path, *, spark: bool = False) -> Any:
    """An Ibis table over a stored log on an Ibis backend (local path or object-store URL)."""
    text = str(path)
    if spark:
        return con.read_parquet(text)  # Spark reads files and Hive-partitioned folders alike
    is_folder = "://" not in text and Path(text).is_dir()
    pattern = f"{text.rstrip('/')}/**/*.parquet" if is_folder else text
    return con.read_parquet(pattern, hive_partitioning=is_folder)


# ----------------------------------------------------------------------------- aggregates
def _as_of_day(as_of: Any) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize()


def customer_day_facts(source: pd.DataFrame | str | Path, as_of: Any, engine: Engine | str = "pandas") -> pd.DataFrame:
    """Per-customer day facts at ``as_of`` (:data:`crmlib.core.summaries.DAY_FACT_DTYPES`).

    Indexed by customer id (sorted). :func:`crmlib.core.summaries.customer_summary_from_days`
    turns them into the customer summary (:func:`customer_summary` does both).
    """
    engine = Engine(engine) if isinstance(engine, str) else engine
    if engine.name == "pandas":
        frame = source if isinstance(source, pd.DataFrame) else read_transactions(
            source, ["customer_id", "invoice_id", "invoice_date", "amount"])
        return summaries.day_facts(frame, _as_of_day(as_of))
    from crmlib.core import engine_exprs

    result = engine.connection.to_pyarrow(engine_exprs.customer_day_facts(engine.table(source), _as_of_day(as_of)))
    return _facts_frame(result)


def _facts_frame(result: pa.Table) -> pd.DataFrame:
    frame = result.to_pandas()
    if frame.empty:
        return summaries.empty_day_facts()
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame = frame.set_index("customer_id").sort_index()
    out = pd.DataFrame(index=frame.index)
    for column, dtype in summaries.DAY_FACT_DTYPES.items():
        values = frame[column]
        out[column] = pd.to_datetime(values).astype(dtype) if dtype.startswith("datetime") else values.astype(dtype)
    return out


def customer_summary(source: pd.DataFrame | str | Path, as_of: Any, engine: Engine | str = "pandas",
                     *, time_unit: str = "W") -> pd.DataFrame:
    """:func:`crmlib.core.summaries.customer_summary` computed on ``engine`` (same columns)."""
    days = customer_day_facts(source, as_of, engine)
    return summaries.customer_summary_from_days(days, _as_of_day(as_of), time_unit=time_unit)


#: Columns of :func:`period_aggregates`, in order.
PERIOD_COLUMNS = ("revenue", "orders", "identified_revenue", "identified_orders", "active_customers", "new_customers")


def period_aggregates(source: pd.DataFrame | str | Path, as_of: Any, engine: Engine | str = "pandas") -> pd.DataFrame:
    """Per calendar month up to ``as_of``: sales and customer counts (the KPIs' row-level part).

    ``revenue`` and ``orders`` (distinct invoices) count every line, anonymous included;
    ``identified_revenue``, ``identified_orders``, ``active_customers`` (distinct customers)
    count identified lines only; ``new_customers`` made their first purchase in the data
    in that month. Indexed by ``period`` ("2011-12"), months without lines left out.
    """
    engine = Engine(engine) if isinstance(engine, str) else engine
    day = _as_of_day(as_of)
    if engine.name == "pandas":
        frame = source if isinstance(source, pd.DataFrame) else read_transactions(
            source, ["customer_id", "invoice_id", "invoice_date", "amount"])
        return _period_aggregates_pandas(frame, day)
    from crmlib.core import engine_exprs

    result = engine.connection.to_pyarrow(engine_exprs.period_aggregates(engine.table(source), day)).to_pandas()
    return _period_frame(result)


def _period_frame(result: pd.DataFrame) -> pd.DataFrame:
    labels = [f"{int(y):04d}-{int(m):02d}" for y, m in zip(result["year"], result["month"])]
    out = result.assign(period=labels).set_index("period").sort_index()
    out = out.reindex(columns=list(PERIOD_COLUMNS))
    out["new_customers"] = out["new_customers"].fillna(0)
    money = ["revenue", "identified_revenue"]
    return out.astype({c: "float64" if c in money else "int64" for c in PERIOD_COLUMNS})


def _period_aggregates_pandas(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The monthly aggregates with integer codes and bincounts (no string group-bys)."""
    days = pd.to_datetime(frame["invoice_date"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    keep = days <= np.datetime64(day.date(), "D")
    month = days[keep].astype("datetime64[M]").astype("int64")            # months since 1970-01
    if not len(month):
        return _period_frame(pd.DataFrame(columns=["year", "month", *PERIOD_COLUMNS]))
    m0 = month.min()
    month = month - m0
    n_months = int(month.max()) + 1
    amount = frame["amount"].to_numpy(dtype="float64")[keep]
    customer, _ = summaries.factorize_ids(frame["customer_id"][keep])
    invoice, _ = summaries.factorize_ids(frame["invoice_id"][keep])
    known = customer >= 0

    def distinct_per_month(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        rows = rows & (codes >= 0)
        pairs = pd.unique(month[rows] * np.int64(max(codes.max() + 1, 1)) + codes[rows])
        return np.bincount(pairs // max(codes.max() + 1, 1), minlength=n_months)

    everything = np.ones(len(month), dtype=bool)
    first_month = np.full(customer.max() + 1 if known.any() else 0, n_months, dtype=np.int64)
    np.minimum.at(first_month, customer[known], month[known])
    result = pd.DataFrame({
        "revenue": np.bincount(month, weights=amount, minlength=n_months),
        "orders": distinct_per_month(invoice, everything),
        "identified_revenue": np.bincount(month[known], weights=amount[known], minlength=n_months),
        "identified_orders": distinct_per_month(invoice, known),
        "active_customers": distinct_per_month(customer, known),
        "new_customers": np.bincount(first_month, minlength=n_months)[:n_months],
    })
    calendar = np.arange(n_months) + m0
    result["year"], result["month"] = 1970 + calendar // 12, calendar % 12 + 1
    has_lines = np.bincount(month, minlength=n_months) > 0
    return _period_frame(result[has_lines])


@dataclass
class PairCounts:
    """Basket pair counts: baskets, baskets holding each item, baskets holding each pair."""

    n_baskets: int
    items: pd.Series        # item id -> baskets holding it (items reaching min_count), sorted by id
    pairs: pd.DataFrame     # item_a < item_b, count; sorted by item_a, item_b


def pair_counts(source: pd.DataFrame | str | Path, engine: Engine | str = "pandas", *,
                min_count: int = 1, item: str = "product_id") -> PairCounts:
    """How many invoices hold each product and each pair of products (identified customers' lines).

    A basket is an invoice with a customer id (the basket page's default); an item counts
    once per basket. Only items and pairs in at least ``min_count`` baskets are kept. On
    Spark the pairs come from a self-join on the basket, never through the driver.
    """
    engine = Engine(engine) if isinstance(engine, str) else engine
    min_count = max(int(min_count), 1)
    if engine.name == "pandas":
        frame = source if isinstance(source, pd.DataFrame) else read_transactions(source, ["customer_id", "invoice_id", item])
        return _pair_counts_pandas(frame, min_count, item)
    from crmlib.core import engine_exprs

    n, items, pairs = engine_exprs.pair_counts(engine.table(source), min_count, item)
    con = engine.connection
    n_baskets = int(con.execute(n))
    item_frame = con.to_pyarrow(items).to_pandas()
    pair_frame = con.to_pyarrow(pairs).to_pandas()
    return _pair_result(n_baskets, item_frame, pair_frame)


def _pair_result(n_baskets: int, items: pd.DataFrame, pairs: pd.DataFrame) -> PairCounts:
    item_series = items.assign(item=items["item"].astype(str)).set_index("item")["count"].astype("int64").sort_index()
    pairs = pairs.astype({"item_a": str, "item_b": str, "count": "int64"})
    pairs = pairs.sort_values(["item_a", "item_b"], ignore_index=True)
    return PairCounts(n_baskets, item_series.rename_axis("item"), pairs[["item_a", "item_b", "count"]])


def _pair_counts_pandas(frame: pd.DataFrame, min_count: int, item: str) -> PairCounts:
    rows = frame[frame["customer_id"].notna() & frame["invoice_id"].notna() & frame[item].notna()]
    basket, _ = pd.factorize(rows["invoice_id"])
    code, ids = pd.factorize(rows[item].astype(str), sort=True)
    x = sp.csr_matrix((np.ones(len(code), dtype=np.int64), (basket, code)),
                      shape=(basket.max() + 1 if len(basket) else 0, len(ids)))
    x.sum_duplicates()
    x.data[:] = 1
    counts = np.asarray(x.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts >= min_count)
    x = x[:, keep]
    co = sp.triu((x.T @ x).tocsr(), k=1).tocoo()
    good = co.data >= min_count
    kept_ids = np.asarray(ids, dtype=object)[keep]
    items = pd.DataFrame({"item": kept_ids, "count": counts[keep]})
    pairs = pd.DataFrame({"item_a": kept_ids[co.row[good]], "item_b": kept_ids[co.col[good]], "count": co.data[good]})
    return _pair_result(x.shape[0], items, pairs)
