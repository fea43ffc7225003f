"""Row-level engines (crmlib.core.engine) and the fast customer summary they share.

* ``customer_summary`` (pandas, one sort) equals a plain group-by reference on awkward
  logs: digit ids with and without leading zeros, missing invoice ids, one invoice split
  over two runs of rows, one invoice id shared by two customers, shuffled rows.
* Every available engine gives the same customer summary, period aggregates and basket
  pair counts on one small log: counts exactly, money within 1e-9 relative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.core import summaries


def _reference_customer_facts(tx: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """The customer summary's facts by plain pandas group-bys (slow, obviously right)."""
    as_of_day = pd.Timestamp(as_of)
    rows = tx[tx["customer_id"].notna() & (tx["invoice_date"].dt.normalize() <= as_of_day)]
    rows = rows.assign(day=rows["invoice_date"].dt.normalize())
    occasions = rows.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    by = occasions.groupby("customer_id")
    first_amount = occasions.sort_values("day").groupby("customer_id")["amount"].first()
    previous = occasions.sort_values("day").groupby("customer_id")["day"].apply(
        lambda d: d.iloc[-2] if len(d) > 1 else pd.NaT)
    return pd.DataFrame({
        "first_purchase": by["day"].min(),
        "previous_purchase": previous,
        "last_purchase": by["day"].max(),
        "frequency": by.size(),
        "monetary": by["amount"].sum(),
        "repeat": by["amount"].sum() - first_amount,
        "orders": rows.groupby("customer_id")["invoice_id"].nunique(),
    }).sort_index()


def _awkward_log(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.array(["17850", "0042", "42", "-7", "ab-1", "12.0", "99", "100", "9"], dtype=object)
    invoice = rng.integers(500_000, 500_400, n).astype(str).astype(object)
    invoice[rng.random(n) < 0.03] = None                      # missing invoice ids
    invoice[rng.random(n) < 0.02] = "C12"                     # a non-digit id, shared by customers
    customer = ids[rng.integers(0, len(ids), n)].astype(object)
    customer[rng.random(n) < 0.05] = None                     # anonymous lines
    frame = pd.DataFrame({
        "customer_id": pd.array(customer, dtype="str"),
        "invoice_id": pd.array(invoice, dtype="str"),
        "invoice_date": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h"),
        "amount": rng.gamma(2.0, 10.0, n),
    })
    frame = frame.sort_values(["invoice_id", "invoice_date"], kind="stable", ignore_index=True)  # runs, as exports list them
    return frame


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("digits_only", [False, True])
def test_customer_summary_equals_a_plain_groupby(shuffle: bool, digits_only: bool) -> None:
    tx = _awkward_log()
    if digits_only:  # the fast path for digit ids (ints hashed instead of strings) must stay exact
        tx = tx[tx["customer_id"].isin(["17850", "42", "99", "100", "9"]) | tx["customer_id"].isna()]
        tx = tx[tx["invoice_id"].ne("C12")]
    if shuffle:
        tx = tx.sample(frac=1.0, random_state=3)
    as_of = "2011-12-31"
    got = summaries.customer_summary(tx, as_of, time_unit="D")
    want = _reference_customer_facts(tx, as_of)
    assert list(got.index) == list(want.index)
    assert got.index.is_monotonic_increasing
    for column in ("first_purchase", "previous_purchase", "last_purchase"):
        assert (got[column].isna() == want[column].isna()).all()
        assert (got[column].dropna() == want[column].dropna()).all(), column
    assert (got["frequency"].to_numpy() == want["frequency"].to_numpy()).all()
    assert (got["orders"].to_numpy() == want["orders"].to_numpy()).all()
    assert np.allclose(got["monetary"], want["monetary"], rtol=1e-12)
    repeats = want["frequency"] - 1
    expected_mv = np.where(repeats > 0, want["repeat"] / repeats.where(repeats > 0, 1), 0.0)
    assert np.allclose(got["btyd_monetary_value"], expected_mv, rtol=1e-9, atol=1e-9)
    if not digits_only:  # digit strings that read as one number stay two ids
        assert "0042" in got.index and "42" in got.index


def test_customer_summary_without_invoice_ids_counts_purchase_days_as_orders() -> None:
    tx = _awkward_log(seed=1).drop(columns="invoice_id")
    got = summaries.customer_summary(tx, "2011-12-31")
    assert (got["orders"] == got["frequency"]).all()


# --------------------------------------------------------------------------- engines
from crmlib.core import engine as engines  # noqa: E402
from crmlib.errors import ConfigError  # noqa: E402

AS_OF = "2011-09-30"


@pytest.fixture(scope="module")
def small_log() -> pd.DataFrame:
    from crmlib.synthetic import make_synthetic

    tx = make_synthetic(n_customers=600, seed=3).transactions
    anonymous = np.random.default_rng(0).random(len(tx)) < 0.05   # guest checkouts: sales, no customer
    tx["customer_id"] = tx["customer_id"].where(~anonymous)
    return tx


@pytest.fixture(scope="module")
def stored_log(small_log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same log stored month-partitioned, as large logs are."""
    path = tmp_path_factory.mktemp("store") / "transactions.parquet"
    engines.write_transactions(small_log, path, partition_rows=1000)
    return str(path)


@pytest.fixture(scope="module")
def pandas_results(small_log: pd.DataFrame):
    return _results(small_log, engines.Engine("pandas"))


def _results(source, engine):
    return (engines.customer_summary(source, AS_OF, engine), engines.period_aggregates(source, AS_OF, engine),
            engines.pair_counts(source, engine, min_count=3))


def _assert_same(got, want) -> None:
    (summary, periods, pairs), (summary0, periods0, pairs0) = got, want
    pd.testing.assert_frame_equal(summary, summary0, check_exact=False, rtol=1e-9)  # counts are ints: exact
    pd.testing.assert_frame_equal(periods, periods0, check_exact=False, rtol=1e-9)
    assert pairs.n_baskets == pairs0.n_baskets
    pd.testing.assert_series_equal(pairs.items, pairs0.items)
    pd.testing.assert_frame_equal(pairs.pairs, pairs0.pairs)


def test_pandas_engine_agrees_with_the_summary_and_the_kpi_page(small_log, pandas_results) -> None:
    from crmlib.pages.summary.kpis import period_kpis

    summary, periods, pairs = pandas_results
    pd.testing.assert_frame_equal(summary, summaries.customer_summary(small_log, AS_OF))
    kpis = period_kpis(small_log, AS_OF, n_periods=6)
    months = kpis.index.intersection(periods.index)
    assert len(months) == 6
    for column, kpi in [("revenue", "revenue"), ("orders", "orders"), ("active_customers", "active_customers"),
                        ("new_customers", "new_customers"), ("identified_revenue", "identified_revenue")]:
        assert np.allclose(periods.loc[months, column], kpis.loc[months, kpi], rtol=1e-9), column
    assert len(pairs.pairs) > 0 and (pairs.pairs["count"] >= 3).all()
    assert (pairs.pairs["item_a"] < pairs.pairs["item_b"]).all()


def test_stored_log_reads_back_whole(small_log, stored_log) -> None:
    assert engines.parquet_rows(stored_log) == len(small_log)
    months = {p.name for p in __import__("pathlib").Path(stored_log).iterdir()}
    assert "month=2011-09" in months
    back = engines.read_transactions(stored_log, small_log.columns)
    assert sorted(back.columns) == sorted(small_log.columns) and len(back) == len(small_log)
    assert np.isclose(back["amount"].sum(), small_log["amount"].sum(), rtol=1e-12)


def test_pandas_engine_reads_the_stored_log(stored_log, pandas_results) -> None:
    _assert_same(_results(stored_log, engines.Engine("pandas")), pandas_results)


def test_duckdb_engine_equals_pandas(small_log, stored_log, pandas_results) -> None:
    if not engines.duckdb_available():
        pytest.skip("DuckDB engine not tested: duckdb or ibis-framework is not installed")
    with engines.Engine("duckdb", threads=2) as engine:
        _assert_same(_results(small_log, engine), pandas_results)
        _assert_same(_results(stored_log, engine), pandas_results)


def test_spark_engine_equals_pandas(stored_log, pandas_results) -> None:
    available, why = engines.spark_available()
    if not available:
        pytest.skip(f"Spark engine not tested: {why}")
    with engines.Engine("spark", master="local[1]") as engine:  # its own session, stopped at the end
        _assert_same(_results(stored_log, engine), pandas_results)


def test_engine_settings_are_checked() -> None:
    assert engines.engine_settings({}).resolve(10) == "pandas"
    assert engines.engine_settings({"engine": "pandas"}).resolve(10**9) == "pandas"
    if engines.duckdb_available():
        assert engines.engine_settings({"engine": "auto"}).resolve(engines.AUTO_DUCKDB_ROWS) == "duckdb"
    with pytest.raises(ConfigError, match="engine: unknown value 'polars'"):
        engines.engine_settings({"engine": "polars"})
    with pytest.raises(ConfigError, match="unknown key 'maste' in spark"):
        engines.engine_settings({"spark": {"maste": "local[2]"}})


# --------------------------------------------------------------------------- sampling
from crmlib.core import sampling  # noqa: E402


def test_stratified_sample_keeps_shares_is_seeded_and_small_bases_stay_whole() -> None:
    rng = np.random.default_rng(1)
    base = pd.DataFrame({"churned": rng.random(50_000) < 0.03, "segment": rng.choice(list("abcde"), 50_000)},
                        index=pd.Index([f"c{i}" for i in range(50_000)], name="customer_id"))
    sample = sampling.sample_customers(base, 5_000, stratify="churned", seed=7)
    assert len(sample) == 5_000 and sample.index.is_unique and sample.index.isin(base.index).all()
    assert abs(sample["churned"].sum() - round(base["churned"].mean() * 5_000)) <= 1   # rare class keeps its share
    assert sample.index.equals(sampling.sample_customers(base, 5_000, stratify="churned", seed=7).index)
    assert not sample.index.equals(sampling.sample_customers(base, 5_000, stratify="churned", seed=8).index)
    two = sampling.sample_customers(base, 1_000, stratify=["churned", "segment"], seed=0)
    assert len(two) == 1_000
    assert list(sample.index) == sorted(sample.index, key=base.index.get_loc)       # original order kept
    assert sampling.sample_customers(base.head(10), 5_000) is not None
    assert len(sampling.sample_customers(base.head(10), 5_000)) == 10
    assert "5,000 of the 50,000 customers" in sampling.describe_sample(5_000, 50_000)
    assert sampling.describe_sample(10, 10) == ""


def test_batches_give_the_whole() -> None:
    import scipy.sparse as sp

    x = sp.random(1_003, 40, density=0.05, format="csr", random_state=0)
    whole = x @ np.arange(40.0)
    assert np.allclose(sampling.in_batches(lambda block: block @ np.arange(40.0), x, batch_rows=100), whole)
    frame = pd.DataFrame({"f": [0, 1, 1, 0, 2], "r": [0.0, 3.0, 3.0, 0.0, 5.0]})
    assert (sampling.in_batches(lambda f: f["f"] * 2, frame, batch_rows=2) == frame["f"] * 2).all()


def test_workbook_engine_setting_is_checked_when_the_configuration_is_read(tmp_path) -> None:
    from crmlib.core.config import load_config

    path = tmp_path / "workbook.yml"
    path.write_text("engine: duckdb\n", encoding="utf-8")
    if engines.duckdb_available():
        assert load_config(path)["engine"] == "duckdb"
    path.write_text("engine: polars\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"workbook.yml: engine: unknown value 'polars'"):
        load_config(path)


@pytest.mark.parametrize("engine_name", ["pandas", "duckdb", "spark"])
def test_a_runs_engine_computes_the_segmentation_summary(tmp_path, small_log, engine_name) -> None:
    """`engine:` in workbook.yml decides where page 02's customer summary is computed; same numbers."""
    from crmlib.core.context import RunContext
    from crmlib.synthetic import write_synthetic_csv

    if engine_name == "spark" and not engines.spark_available()[0]:
        pytest.skip(f"Spark engine not tested: {engines.spark_available()[1]}")
    csv = write_synthetic_csv(small_log, tmp_path / "log.csv")
    config = tmp_path / "workbook.yml"
    spark = "spark: {master: 'local[1]'}\n" if engine_name == "spark" else ""
    config.write_text(f"sources:\n  - path: {csv}\nengine: {engine_name}\n{spark}", encoding="utf-8")
    ctx = RunContext.create("02_segmentation", as_of="2011-11-30", config_path=config, artifacts_dir=tmp_path / "art")
    assert ctx.engine_name() == engine_name
    transactions = ctx.load_transactions()
    got = ctx.customer_summary(transactions)
    want = summaries.customer_summary(transactions, ctx.as_of)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    assert not (tmp_path / "art" / ".engine").exists()
