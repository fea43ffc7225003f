"""The CustomerLog fast path of the customer features gives exactly the pandas results.

The reference below is the pandas implementation of ``purchase_features``,
``churn_labels`` and ``spend_between`` as they were before :mod:`crmlib.core.customer_log`
(copied unchanged); every test compares the new functions (given a frame, or a log
prepared once) with it: same index order, columns and dtypes, counts exact, money within
1e-9 relative, NaN where the reference has NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmlib.synthetic import SyntheticData, make_synthetic
from crmlib.core import features
from crmlib.core.btyd import p_alive
from crmlib.core.customer_log import CustomerLog
from crmlib.core.summaries import assign_segments, customer_summary, load_segment_map, rfm_scores
from crmlib.core.value import spend_between
from crmlib.errors import DataError


# ------------------------------------------------------------------ the reference (pandas, as before)
def _reference_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    tx = transactions[transactions["customer_id"].notna()]
    if not pd.api.types.is_datetime64_any_dtype(tx["invoice_date"]):
        raise DataError("invoice_date is not a date column", column="invoice_date")
    return tx


def reference_churn_labels(transactions: pd.DataFrame, cutoff: Any, churn_window_days: int,
                           population: pd.Index) -> pd.Series:
    cutoff = pd.Timestamp(cutoff)
    tx = _reference_rows(transactions)
    dates = tx["invoice_date"]
    inside = tx.loc[(dates >= cutoff) & (dates < cutoff + pd.Timedelta(days=churn_window_days)), "customer_id"]
    bought = pd.Index(population).isin(inside.astype(str).unique())
    return pd.Series((~bought).astype(int), index=pd.Index(population, name="customer_id"), name="churned")


def reference_spend_between(transactions: pd.DataFrame, start: Any, end: Any) -> pd.Series:
    tx = transactions[transactions["customer_id"].notna()]
    tx = tx.assign(customer_id=tx["customer_id"].astype(str))
    day = tx["invoice_date"].dt.normalize()
    inside = (day > pd.Timestamp(start).normalize()) & (day <= pd.Timestamp(end).normalize())
    return tx.loc[inside].groupby("customer_id")["amount"].sum()


def reference_purchase_features(transactions: pd.DataFrame, cutoff: Any, *, active_days: int = 365,
                                customers: pd.DataFrame | None = None, with_p_alive: bool = True,
                                segment_map: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    cutoff = pd.Timestamp(cutoff).normalize()
    tx = _reference_rows(transactions)
    tx = tx[tx["invoice_date"] < cutoff].copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    if tx.empty:
        raise DataError(f"no purchases before the cutoff {cutoff.date()}", column="invoice_date")
    last_day = cutoff - pd.Timedelta(days=1)
    summary = customer_summary(tx, last_day)
    summary.index = summary.index.astype(str)
    summary = summary[summary["last_purchase"] >= cutoff - pd.Timedelta(days=active_days)]
    keep = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders"]
    feats = summary[keep].astype("float64")
    tx = tx[tx["customer_id"].isin(feats.index)]
    age = (cutoff - tx["invoice_date"]).dt.days
    for name, lo, hi in (("last_90d", 0, 90), ("prev_90d", 90, 180)):
        part = tx[(age >= lo) & (age < hi)].groupby("customer_id")
        feats[f"spend_{name}"] = part["amount"].sum().reindex(feats.index).fillna(0.0)
        feats[f"orders_{name}"] = part["invoice_id"].nunique().reindex(feats.index).fillna(0).astype("float64")
    for what in ("spend", "orders"):
        last, prev = feats[f"{what}_last_90d"], feats[f"{what}_prev_90d"]
        feats[f"{what}_trend"] = ((last - prev) / (last + prev)).where(last + prev > 0, 0.0)
    days = tx[["customer_id"]].assign(day=tx["invoice_date"].dt.normalize()).drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days.dropna()
    gap_by = gaps.groupby(days.loc[gaps.index, "customer_id"])
    feats["gap_mean_days"] = gap_by.mean().reindex(feats.index)
    feats["gap_std_days"] = gap_by.std().reindex(feats.index)
    feats["overdue_ratio"] = feats["recency_days"] / feats["gap_mean_days"].where(feats["gap_mean_days"] > 0)
    by = tx.groupby("customer_id")
    if "product_id" in tx.columns:
        feats["distinct_products"] = by["product_id"].nunique().reindex(feats.index).astype("float64")
        feats["products_per_order"] = feats["distinct_products"] / feats["orders"].where(feats["orders"] > 0)
    if "quantity" in tx.columns:
        feats["items_per_order"] = by["quantity"].sum().reindex(feats.index) / feats["orders"].where(feats["orders"] > 0)
    if with_p_alive:
        feats["p_alive"] = p_alive(summary)
    feats["segment"] = assign_segments(rfm_scores(summary), segment_map).astype(str)
    if "country" in tx.columns:
        # the one change to the copy: kind="stable" (the default quicksort leaves rows with the same
        # timestamp in no defined order; the log takes the one further down the file)
        latest = tx.sort_values("invoice_date", kind="stable").drop_duplicates("customer_id", keep="last")
        feats["country"] = latest.set_index("customer_id")["country"].reindex(feats.index).fillna("unknown").astype(str)
    if customers is not None:
        attrs = customers.drop(columns=["churned"], errors="ignore").set_index("customer_id")
        attrs = attrs.drop(columns=[c for c in attrs.columns if c in feats.columns])
        attrs.index = attrs.index.astype(str)
        feats = feats.join(attrs, how="left")
    feats.index.name = "customer_id"
    return feats


def assert_same(new: pd.DataFrame | pd.Series, old: pd.DataFrame | pd.Series) -> None:
    """Same index (order, dtype), columns and dtypes; values equal, money within 1e-9 relative."""
    if isinstance(old, pd.Series):
        pd.testing.assert_series_equal(new, old, check_exact=False, rtol=1e-9, atol=0.0)
    else:
        pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9, atol=0.0)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def synthetic() -> SyntheticData:
    return make_synthetic(n_customers=600, start="2010-06-01", end="2011-12-31", r=2, alpha=10,
                                   a=1, b=20, acquisition_share=0.8, seed=5)


@pytest.fixture(scope="module")
def log(synthetic) -> CustomerLog:
    return CustomerLog.from_transactions(synthetic.transactions)


def _tx(rows: list[tuple[Any, str, float]], **columns: Any) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="mixed")
    frame["amount"] = frame["amount"].astype("float64")   # cleaned amounts are floats
    frame["invoice_id"] = [f"I{i}" for i in range(len(frame))]
    frame["product_id"] = "P1"
    frame["quantity"] = 1.0
    frame["country"] = "United Kingdom"
    for name, values in columns.items():
        if values is None:
            frame = frame.drop(columns=name)
        else:
            frame[name] = values
    return frame


CUTOFFS = ["2010-08-01", "2011-01-01", "2011-03-17", "2011-07-01", "2011-12-01", "2012-01-01"]


# ------------------------------------------------------------------ synthetic log, every cutoff
@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_features_from_the_log_equal_the_pandas_ones(synthetic, log, cutoff):
    old = reference_purchase_features(synthetic.transactions, cutoff, with_p_alive=False)
    assert len(old) > 50
    assert_same(features.purchase_features(log, cutoff, with_p_alive=False), old)


def test_features_with_every_option_equal_the_pandas_ones(synthetic, log):
    kwargs = dict(active_days=36_525, customers=synthetic.customers[["customer_id", "age_band", "service_issues", "country"]],
                  segment_map=load_segment_map({"map": {"Old": {"r": "1-2"}, "All": {"r": "3-5"}}}))
    old = reference_purchase_features(synthetic.transactions, "2011-06-15", **kwargs)
    assert old["p_alive"].notna().all() and set(old["segment"]) == {"Old", "All"}
    assert_same(features.purchase_features(synthetic.transactions, "2011-06-15", **kwargs), old)  # from a frame
    assert_same(features.purchase_features(log, "2011-06-15", **kwargs), old)


@pytest.mark.parametrize("cutoff", CUTOFFS[:-1])
def test_labels_and_spend_from_the_log_equal_the_pandas_ones(synthetic, log, cutoff):
    tx = synthetic.transactions
    population = pd.Index(sorted(tx["customer_id"].astype(str).unique())[::3] + ["nobody"])
    assert_same(features.churn_labels(log, cutoff, 90, population),
                reference_churn_labels(tx, cutoff, 90, population))
    start = pd.Timestamp(cutoff) - pd.Timedelta(days=91)
    assert_same(spend_between(log, start, cutoff), reference_spend_between(tx, start, cutoff))
    assert_same(features.spend_between(tx, start, cutoff), reference_spend_between(tx, start, cutoff))


def test_products_and_countries_read_as_categories_give_the_same_features(synthetic, tmp_path):
    """Pages 03 and 04 read product and country as categoricals (``load_transactions(categories=)``)."""
    from crmlib.core import engine
    path = engine.write_transactions(synthetic.transactions, tmp_path / "transactions.parquet")
    read = engine.read_transactions(path, categories=("product_id", "country"))
    assert isinstance(read["product_id"].dtype, pd.CategoricalDtype) and isinstance(read["country"].dtype,
                                                                                      pd.CategoricalDtype)
    assert read["country"].nunique() > 1 and read["product_id"].nunique() > 50
    pd.testing.assert_series_equal(read["product_id"].astype(str), synthetic.transactions["product_id"].astype(str))
    read["invoice_date"] = read["invoice_date"].astype("datetime64[ns]")
    for cutoff in CUTOFFS[1:4]:
        old = reference_purchase_features(synthetic.transactions, cutoff, with_p_alive=False)
        assert_same(features.purchase_features(CustomerLog.from_transactions(read), cutoff, with_p_alive=False), old)


def test_a_shuffled_log_gives_the_same_features(synthetic):
    """Units are runs of consecutive rows: a shuffled file makes more of them, same numbers."""
    tx = synthetic.transactions.sample(frac=1.0, random_state=3).reset_index(drop=True)
    old = reference_purchase_features(tx, "2011-09-01", with_p_alive=False)
    assert_same(features.purchase_features(tx, "2011-09-01", with_p_alive=False), old)


# ------------------------------------------------------------------ edge cases
def test_edge_cases_one_purchase_same_day_invoices_and_midnight_rows():
    tx = _tx([("a", "2011-01-01 10:00", 10), ("a", "2011-01-01 15:00", 20),          # two invoices, one day
              ("a", "2011-03-01 00:00", 5),                                         # at midnight: a 90-day edge
              ("b", "2011-03-02 09:00", 50),                                        # one purchase
              ("c", "2010-12-02 00:00", 7), ("c", "2010-12-02 10:00", 8),          # ages 90 / 89 at the cutoff
              ("c", "2011-02-01 12:00", 1), ("c", "2011-02-08 12:00", 1), ("c", "2011-02-22 12:00", 1),
              (None, "2011-02-01", 99)])                                            # no customer: ignored
    tx.loc[4, "invoice_id"] = tx.loc[5, "invoice_id"]      # one invoice at midnight and later that day
    tx.loc[7, "country"] = None                            # c's latest row has no country? (not latest)
    tx.loc[8, "country"] = "France"
    tx.loc[2, "product_id"] = None
    for cutoff in ("2011-03-01", "2011-03-02", "2011-03-03"):
        old = reference_purchase_features(tx, cutoff, with_p_alive=False)
        assert_same(features.purchase_features(tx, cutoff, with_p_alive=False), old)
    new = features.purchase_features(tx, "2011-03-03", with_p_alive=False)
    assert np.isnan(new.loc["b", "gap_mean_days"]) and np.isnan(new.loc["a", "gap_std_days"])  # one gap: no std
    assert new.loc["a", "frequency"] == 2 and new.loc["a", "orders"] == 3
    assert new.loc["c", "country"] == "France"


def test_edge_cases_missing_columns_and_missing_values():
    rows = [("a", "2011-01-01", 10), ("a", "2011-01-05", 20), ("b", "2011-02-01", 5), ("b", "2011-02-01", 6)]
    for columns in ({"product_id": None}, {"country": None}, {"quantity": None},
                    {"product_id": None, "country": None, "quantity": None},
                    {"invoice_id": [None, "I1", None, None]}, {"country": [None, "UK", "UK", None]},
                    {"quantity": [np.nan, 2.0, np.nan, np.nan]}, {"product_id": [None, None, "P", "P"]}):
        tx = _tx(rows, **columns)
        old = reference_purchase_features(tx, "2011-03-01", with_p_alive=False)
        assert_same(features.purchase_features(tx, "2011-03-01", with_p_alive=False), old)


def test_numeric_and_mixed_customer_ids_become_the_same_strings():
    tx = _tx([(17850, "2011-01-01", 10), (17850, "2011-01-05", 20), (9, "2011-02-01", 5), (10, "2011-02-03", 1)])
    old = reference_purchase_features(tx, "2011-03-01", with_p_alive=False)
    new = features.purchase_features(tx, "2011-03-01", with_p_alive=False)
    assert list(new.index) == ["10", "17850", "9"]   # string order, as before
    assert_same(new, old)
    mixed = tx.astype({"customer_id": object})
    mixed.loc[1, "customer_id"] = "17850"            # the int and the string are one customer
    assert_same(features.purchase_features(mixed, "2011-03-01", with_p_alive=False),
                reference_purchase_features(mixed, "2011-03-01", with_p_alive=False))


def test_an_invoice_over_two_days_is_counted_once_per_window():
    tx = _tx([("a", "2011-01-01 23:00", 10), ("a", "2011-01-02 01:00", 20), ("a", "2010-10-03 12:00", 5)])
    tx["invoice_id"] = ["I0", "I0", "I0"]                # one invoice id on three days
    log = CustomerLog.from_transactions(tx)
    assert log.invoices_span_days
    for cutoff in ("2011-01-02", "2011-01-03", "2011-04-01"):
        assert_same(features.purchase_features(log, cutoff, with_p_alive=False),
                    reference_purchase_features(tx, cutoff, with_p_alive=False))


def test_no_purchase_before_the_cutoff_and_unreadable_dates_are_errors():
    tx = _tx([("a", "2011-01-01", 10)])
    with pytest.raises(DataError, match="no purchases before"):
        features.purchase_features(tx, "2010-01-01")
    with pytest.raises(DataError, match="not a date"):
        CustomerLog.from_transactions(tx.assign(invoice_date=tx["invoice_date"].astype(str)))
    with pytest.raises(DataError, match="calendar day"):
        features.churn_labels(tx, "2011-01-01 12:00", 30, pd.Index(["a"]))


def test_the_log_is_compact(synthetic, log):
    tx = synthetic.transactions
    assert log.n_customers == tx["customer_id"].nunique()
    assert len(log.code) < len(tx)                      # lines of one invoice are one unit
    assert log.nbytes < 60 * len(tx)
    assert (np.diff(log.code) >= 0).all()               # sorted by customer
