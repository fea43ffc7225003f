"""Tests for crmlib.datasets (bundled data loaders) and crmlib.synthetic (the generator's planted truth)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from crmlib import datasets
from crmlib.synthetic import GROUP_PROFILES, SyntheticData, make_synthetic, write_synthetic_csv

CANONICAL = ["customer_id", "invoice_id", "invoice_date", "product_id", "product_name", "category",
             "quantity", "unit_price", "amount", "country", "source"]


@pytest.fixture(scope="module")
def big() -> SyntheticData:
    return make_synthetic(20000, seed=5)


@pytest.fixture(scope="module")
def small() -> SyntheticData:
    return make_synthetic(1500, seed=11)


def test_same_seed_same_data_other_seed_other_data():
    one, two = make_synthetic(300, seed=3, dirt=True), make_synthetic(300, seed=3, dirt=True)
    pd.testing.assert_frame_equal(one.transactions, two.transactions)
    pd.testing.assert_frame_equal(one.customers, two.customers)
    pd.testing.assert_frame_equal(one.truth.customers, two.truth.customers)
    assert one.truth.planted_pairs == two.truth.planted_pairs
    other = make_synthetic(300, seed=4, dirt=True)
    assert not other.transactions["amount"].sum() == pytest.approx(one.transactions["amount"].sum())


def test_sizes_columns_and_contract(small):
    tx, truth = small.transactions, small.truth
    assert list(tx.columns) == CANONICAL
    assert len(small.customers) == len(truth.customers) == 1500
    assert small.customers["customer_id"].is_unique
    assert set(tx["customer_id"]) == set(small.customers["customer_id"])  # everyone bought once
    assert tx["invoice_id"].nunique() == len(truth.invoices) == truth.customers["n_purchases"].sum()
    assert (tx["quantity"] >= 1).all() and (tx["quantity"] == tx["quantity"].round()).all()
    assert (tx["unit_price"] > 0).all()
    np.testing.assert_allclose(tx["amount"], tx["quantity"] * tx["unit_price"])
    assert tx["invoice_date"].min() >= pd.Timestamp("2010-01-01")
    assert tx["invoice_date"].max() < pd.Timestamp("2012-01-01")
    assert not tx.duplicated(["invoice_id", "product_id"]).any()          # baskets are sets
    # no truth leaks into the customer table
    assert not {"lam", "p", "group", "dropout_date", "driver"} & set(small.customers.columns)


def test_invoice_lines_sum_to_drawn_value(small):
    per_invoice = small.transactions.groupby("invoice_id")["amount"].sum()
    drawn = small.truth.invoices.set_index("invoice_id")["value"]
    np.testing.assert_allclose(per_invoice.loc[drawn.index], drawn, rtol=1e-9)


def test_bgnbd_heterogeneity_matches_parameters(big):
    tc, n = big.truth.customers, len(big.truth.customers)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    lam_se = np.sqrt(r) / alpha / np.sqrt(n)
    assert abs(tc["lam"].mean() - r / alpha) < 4 * lam_se
    p_sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert abs(tc["p"].mean() - a / (a + b)) < 4 * p_sd / np.sqrt(n)
    assert (tc["p"] == tc["p_base"]).all()                               # effect 1.0: pure BG/NBD


def test_repeat_purchases_match_bgnbd_expectation(big):
    from scipy.special import hyp2f1

    tc = big.truth.customers
    counted = big.truth.invoices.groupby("customer_id").size() - 1
    assert (counted.loc[tc["customer_id"]].to_numpy() == tc["frequency"].to_numpy()).all()
    assert big.transactions.groupby("customer_id")["invoice_id"].nunique().sum() == len(big.truth.invoices)
    # E[X(t)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 9)
    r, alpha, a, b, t = 0.243, 4.414, 0.793, 2.426, tc["T_weeks"].to_numpy()
    expected = ((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                         * hyp2f1(r, b, a + b - 1, t / (alpha + t)))).mean()
    se = tc["frequency"].std() / np.sqrt(len(tc))
    assert abs(tc["frequency"].mean() - expected) < 4 * se
    # BG/NBD: nobody drops out before a repeat purchase; drop-outs happen at their last purchase
    assert tc.loc[tc["frequency"] == 0, "alive_at_end"].all()
    last = big.truth.invoices.groupby("customer_id")["invoice_date"].max().loc[tc["customer_id"]]
    dead = ~tc["alive_at_end"].to_numpy()
    gap = (tc["dropout_date"].to_numpy()[dead] - last.to_numpy()[dead]) / np.timedelta64(1, "s")
    assert np.abs(gap).max() < 1.0


def test_gamma_gamma_spend(big):
    p, q, gamma = 6.25, 3.74, 15.44
    tc = big.truth.customers
    np.testing.assert_allclose(tc["mean_spend"], p / tc["nu"])
    sd = np.sqrt(p * p * gamma ** 2 / ((q - 1) ** 2 * (q - 2)))           # sd of p / nu
    assert abs(tc["mean_spend"].mean() - p * gamma / (q - 1)) < 4 * sd / np.sqrt(len(tc))
    inv = big.truth.invoices.merge(tc[["customer_id", "mean_spend"]], on="customer_id")
    ratio = inv["value"] / inv["mean_spend"]                              # Gamma(p, p): mean 1
    assert abs(ratio.mean() - 1) < 4 * np.sqrt(1 / p) / np.sqrt(len(inv))


def _pair_lift(tx: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    inv, _ = pd.factorize(tx["invoice_id"])
    prod, products = pd.factorize(tx["product_id"])
    x = sp.csr_matrix((np.ones(len(tx)), (inv, prod)))
    co = (x.T @ x).toarray()
    n = x.shape[0]
    support = np.diag(co) / n
    lift = co / n / np.outer(support, support)
    np.fill_diagonal(lift, 0)
    return products, lift, co / n


def test_planted_pairs_cooccur_strongest_first(small):
    pairs = small.truth.planted_pairs
    assert len(pairs) == 3 and [s for *_, s in pairs] == sorted((s for *_, s in pairs), reverse=True)
    products, lift, pair_support = _pair_lift(small.transactions)
    pos = {pid: i for i, pid in enumerate(products)}
    lifts = [lift[pos[a], pos[b]] for a, b, _ in pairs]
    assert min(lifts) > 3
    assert lifts == sorted(lifts, reverse=True)
    frequent = np.where(pair_support >= 0.01, lift, 0)                    # as a miner would see it
    best = np.unravel_index(np.argmax(frequent), frequent.shape)
    assert {products[best[0]], products[best[1]]} == set(pairs[0][:2])


def test_dirt_counts_match_truth_and_clean_log_is_inside():
    clean = make_synthetic(800, seed=2)
    dirty = make_synthetic(800, seed=2, dirt=True)
    tx, counts = dirty.transactions, dirty.truth.dirt
    assert all(v > 0 for v in counts.values())
    assert clean.truth.dirt == dict.fromkeys(counts, 0)
    assert tx["invoice_id"].str.startswith("C").sum() == counts["cancellation_lines"]
    assert (tx["quantity"] < 0).sum() == counts["cancellation_lines"]
    assert tx["customer_id"].isna().sum() == counts["anonymous_lines"]
    assert tx.loc[tx["customer_id"].isna(), "invoice_id"].nunique() == counts["anonymous_invoices"]
    assert tx.duplicated().sum() == counts["duplicate_lines"]
    assert (tx["product_id"] == "POST").sum() == counts["postage_lines"]
    assert (tx["unit_price"] == 0).sum() == counts["zero_price_lines"]
    assert len(tx) == len(clean.transactions) + sum(v for k, v in counts.items() if k != "anonymous_invoices")
    # every cancellation mirrors an earlier purchase line of the same customer and product
    canc = tx[tx["quantity"] < 0]
    orig = clean.transactions.merge(canc, on=["customer_id", "product_id", "unit_price"], suffixes=("", "_c"))
    orig = orig[(orig["quantity"] == -orig["quantity_c"]) & (orig["invoice_date"] <= orig["invoice_date_c"])]
    assert orig["invoice_id_c"].nunique() == len(canc)
    # dropping the dirt gives back the clean log; the customer table does not depend on dirt
    kept = tx[(tx["quantity"] > 0) & tx["customer_id"].notna() & (tx["product_id"] != "POST")
              & (tx["unit_price"] > 0)].drop_duplicates()
    key = ["invoice_id", "product_id"]
    pd.testing.assert_frame_equal(kept.sort_values(key, ignore_index=True),
                                  clean.transactions.sort_values(key, ignore_index=True))
    pd.testing.assert_frame_equal(dirty.customers, clean.customers)


def test_churn_driver_speeds_up_dropout():
    plain = make_synthetic(4000, seed=8)
    driven = make_synthetic(4000, seed=8, churn_driver_effect=4.0)
    tc = driven.truth.customers
    assert (driven.customers["service_issues"].to_numpy() == tc["driver"].to_numpy()).all()
    assert 0.25 < tc["driver"].mean() < 0.35
    np.testing.assert_allclose(tc["p"], np.where(tc["driver"], 1 - (1 - tc["p_base"]) ** 4, tc["p_base"]))
    assert (tc.loc[tc["driver"], "hazard"] > 0).all() and (tc.loc[~tc["driver"], "hazard"] == 0).all()
    churned = driven.truth.churned_between("2011-01-01", "2011-04-01")
    drv = tc.set_index("customer_id").loc[churned.index, "driver"]
    assert churned[drv].mean() > 3 * churned[~drv].mean()
    # customers who truly dropped out make no purchase after their drop-out date
    inv = driven.truth.invoices.merge(tc[["customer_id", "dropout_date"]], on="customer_id")
    assert not (inv["invoice_date"] > inv["dropout_date"]).any()
    assert (plain.truth.customers["hazard"] == 0).all()
    alive = plain.truth.alive_at("2011-01-01")
    assert alive.index.equals(pd.Index(plain.customers["customer_id"]))
    assert 0 < alive.mean() < 1


def test_planted_groups_are_recoverable_by_kmeans():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    data = make_synthetic(1200, groups=4, seed=1)
    tx = data.transactions
    inv = tx.groupby("invoice_id").agg(customer_id=("customer_id", "first"),
                                       date=("invoice_date", "first"), value=("amount", "sum"))
    rfm = inv.groupby("customer_id").agg(last=("date", "max"), frequency=("value", "size"),
                                         monetary=("value", "sum"))
    recency = (pd.Timestamp("2012-01-01") - rfm["last"]).dt.days
    features = StandardScaler().fit_transform(np.log1p(np.c_[recency, rfm["frequency"], rfm["monetary"]]))
    found = KMeans(4, n_init=4, random_state=0).fit_predict(features)
    true = data.truth.customers.set_index("customer_id").loc[rfm.index, "group"]
    assert adjusted_rand_score(true, found) >= 0.8
    assert sorted(data.truth.customers["group_name"].unique()) == sorted(g["name"] for g in GROUP_PROFILES)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        make_synthetic(10, groups=7)
    with pytest.raises(ValueError):
        make_synthetic(10, planted_pairs=2, pair_strength=(0.5, 0.9))


def test_subscription_table_driver_and_dirt():
    table = datasets.make_subscription_table(3000, seed=0)
    assert len(table) == 3000 and table["customer_id"].is_unique
    assert set(table["churned"]) == {"Yes", "No"}
    assert set(table["contract"]) == {"Month-to-month", "One year", "Two year"}
    rate = table["churned"].eq("Yes").groupby(table["contract"]).mean()
    assert rate["Month-to-month"] > 2.5 * rate["Two year"]
    assert rate["Month-to-month"] > rate["One year"] > rate["Two year"]
    blank = table["total_charges"] == " "
    assert blank.any() and (table.loc[blank, "tenure_months"] == 0).all()
    assert pd.to_numeric(table.loc[~blank, "total_charges"]).gt(0).all()
    assert (table.loc[table["internet_service"] == "No", "tech_support"] == "No internet service").all()
    pd.testing.assert_frame_equal(table, datasets.make_subscription_table(3000, seed=0))


def test_write_synthetic_csv_round_trip(tmp_path):
    data = make_synthetic(200, seed=1, dirt=True)
    path = write_synthetic_csv(data, tmp_path / "log.csv.gz")
    back = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    assert list(back.columns) == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                                  "UnitPrice", "CustomerID", "Country"]
    assert not back["CustomerID"].dropna().str.endswith(".0").any()
    assert len(back) == len(data.transactions)
    assert back["CustomerID"].isna().sum() == data.truth.dirt["anonymous_lines"]
    assert (back["Quantity"] * back["UnitPrice"]).sum() == pytest.approx(data.transactions["amount"].sum())
    assert back["InvoiceNo"].str.startswith("C").sum() == data.truth.dirt["cancellation_lines"]


def test_load_sample_raw_columns():
    raw = datasets.load_sample(nrows=200)
    assert datasets.load_sample_path().is_file()
    assert list(raw.columns) == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                                 "UnitPrice", "CustomerID", "Country"]
    assert len(raw) == 200 and raw.loc[0, "CustomerID"] == "17850"
    assert not raw["CustomerID"].dropna().str.endswith(".0").any()
    assert pd.api.types.is_datetime64_any_dtype(raw["InvoiceDate"])


def test_cdnow_transactions_reproduce_the_published_summary():
    tx = datasets.load_cdnow_transactions()
    summary = datasets.load_cdnow_summary()
    assert len(tx) == 6919 and tx["customer_id"].nunique() == 2357 and len(summary) == 2357
    assert "product_id" not in tx.columns and tx["invoice_id"].is_unique
    np.testing.assert_allclose(tx["amount"], tx["quantity"] * tx["unit_price"])
    end = pd.Timestamp(datasets.CDNOW_CALIBRATION_END)
    days = (tx[tx["invoice_date"] <= end].groupby(["customer_id", "invoice_date"], as_index=False)["amount"].sum())
    per = days.groupby("customer_id")
    first, last, n = per["invoice_date"].min(), per["invoice_date"].max(), per.size()
    first_value = days.sort_values("invoice_date").groupby("customer_id")["amount"].first()
    mine = pd.DataFrame({"frequency": n - 1, "recency": (last - first).dt.days / 7, "T": (end - first).dt.days / 7})
    mine["monetary_value"] = ((per["amount"].sum() - first_value) / mine["frequency"]).where(mine["frequency"] > 0, 0.0)
    diff = (mine.loc[summary.index] - summary).abs().max()
    assert (diff < 1e-2).all(), diff
