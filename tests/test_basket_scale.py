"""The basket page's fast paths (issue 17) against the computations they replace
(tests/basket_reference.py: pandas factorize, mlxtend FP-growth and association_rules,
every customer scored at once): same baskets, itemsets, rules, suggestions and offline
check on small logs; the check samples customers only above its limit; every customer
gets suggestions whatever the block size."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import basket_reference as ref  # noqa: E402

from crmlib import cleaning  # noqa: E402
from crmlib.synthetic import make_synthetic
from crmlib.core import engine, i18n  # noqa: E402
from crmlib.core.config import SOURCE_DEFAULTS  # noqa: E402
from crmlib.pages import basket as mb  # noqa: E402
from crmlib.pages.basket import recommendations  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "online_retail.csv.gz"


@pytest.fixture(scope="module")
def synthetic_log() -> pd.DataFrame:
    tx = make_synthetic(1200, n_products=120, planted_pairs=3, seed=5).transactions.copy()
    rng = np.random.default_rng(0)
    tx.loc[rng.random(len(tx)) < 0.03, "customer_id"] = None        # anonymous lines
    names = tx["product_name"].astype(object)
    tx["product_name"] = names.where(rng.random(len(tx)) > 0.05, "  " + names + " ")   # untrimmed variants
    return tx


@pytest.fixture(scope="module")
def sample_log() -> pd.DataFrame:
    return cleaning.clean_sources([{**SOURCE_DEFAULTS, "path": str(SAMPLE), "name": "web"}], None, {}).transactions


def assert_same_baskets(new: mb.Baskets, old: mb.Baskets) -> None:
    assert new.matrix.shape == old.matrix.shape and (new.matrix != old.matrix).nnz == 0
    assert new.item_ids.tolist() == old.item_ids.tolist()
    assert new.item_names.tolist() == old.item_names.tolist()
    for column in ("basket_id", "customer_id"):
        assert new.info[column].astype(object).tolist() == old.info[column].astype(object).tolist(), column
    assert (new.info["basket_date"].to_numpy() == old.info["basket_date"].to_numpy()).all()


@pytest.mark.parametrize("basket,item,anonymous", [("invoice", "product_id", False), ("customer_day", "product_id", False),
                                                   ("invoice", "product_id", True), ("invoice", "category", False)])
def test_baskets_equal_the_reference(synthetic_log, basket, item, anonymous):
    if item not in synthetic_log.columns:
        pytest.skip(f"the synthetic log has no {item}")
    new = mb.build_baskets(synthetic_log, basket=basket, item=item, include_anonymous=anonymous)
    assert_same_baskets(new, ref.build_baskets(synthetic_log, basket=basket, item=item, include_anonymous=anonymous))


@pytest.mark.parametrize("partition_rows", [10**9, 1000])
def test_baskets_from_the_stored_log_equal_those_from_the_frame(synthetic_log, tmp_path, partition_rows):
    path = engine.write_transactions(synthetic_log, tmp_path / "transactions.parquet", partition_rows=partition_rows)
    assert path.is_dir() == (partition_rows == 1000)
    assert_same_baskets(mb.build_baskets(path), ref.build_baskets(synthetic_log))
    assert mb.item_problem(path, "no_such_column") == mb.item_problem(synthetic_log, "no_such_column")


def test_rules_equal_mlxtend(synthetic_log):
    baskets = mb.collapse_variants(mb.build_baskets(synthetic_log))
    for max_len in (2, 3, None):
        itemsets, rules = mb.mine_rules(baskets, min_support=0.01, max_len=max_len, min_confidence=0.1)
        old_itemsets = ref.mine_itemsets(baskets, 0.01, max_len)
        assert dict(zip(itemsets["itemsets"], itemsets["support"])) == \
            dict(zip(old_itemsets["itemsets"], old_itemsets["support"]))
        pd.testing.assert_frame_equal(rules, ref.association_rules(old_itemsets, baskets, 0.1), check_exact=True)
        assert len(rules) > 0


def test_pair_counts_of_the_engine_equal_the_basket_matrix(synthetic_log):
    baskets = mb.build_baskets(synthetic_log)
    counts = engine.pair_counts(synthetic_log, "pandas", min_count=3)
    affinity = mb.pair_affinity(baskets, min_count=3)
    assert counts.n_baskets == baskets.n_baskets
    assert counts.items.to_dict() == {i: c for i, c in zip(baskets.item_ids, baskets.item_counts()) if c >= 3}
    mine = {(a, b) if a < b else (b, a): c
            for a, b, c in zip(affinity["item_a"].astype(str), affinity["item_b"].astype(str), affinity["count"])}
    assert mine == {(a, b): c for a, b, c in zip(counts.pairs["item_a"], counts.pairs["item_b"], counts.pairs["count"])}


def test_recommendations_equal_the_reference_for_every_customer_in_any_block_size(synthetic_log, monkeypatch):
    baskets = mb.build_baskets(synthetic_log)
    expected = ref.recommend(baskets, n=7)
    monkeypatch.setattr(recommendations, "BLOCK_CELLS", 5 * baskets.n_items)   # blocks of 5 customers
    got = mb.recommend(baskets, n=7)
    pd.testing.assert_frame_equal(got.astype(object), expected.astype(object), check_exact=True)
    customers = baskets.info["customer_id"].dropna().astype(str).unique()
    assert set(got["customer_id"]) == set(customers)
    assert (got.groupby("customer_id").size() == 7).all()


def test_offline_check_equals_the_reference_below_the_limit(synthetic_log):
    baskets = mb.build_baskets(synthetic_log)
    expected = ref.evaluate_holdout(baskets, n=10)
    for limit in (None, 50_000):
        got = mb.evaluate_holdout(baskets, n=10, max_customers=limit)
        assert not got["sampled"]
        assert {k: got[k] for k in expected} == expected


def test_offline_check_samples_only_above_the_limit(synthetic_log):
    baskets = mb.build_baskets(synthetic_log)
    full = mb.evaluate_holdout(baskets, n=10)
    repeat = full["repeat_customers"]
    assert mb.evaluate_holdout(baskets, n=10, max_customers=repeat)["sampled"] is False
    sampled = mb.evaluate_holdout(baskets, n=10, max_customers=repeat // 2)
    assert sampled["sampled"] and sampled["repeat_customers"] == repeat
    assert sampled["sample_size"] == repeat // 2 and 0 < sampled["customers_evaluated"] <= repeat // 2
    assert sampled == mb.evaluate_holdout(baskets, n=10, max_customers=repeat // 2)          # seeded
    assert sampled != mb.evaluate_holdout(baskets, n=10, max_customers=repeat // 2, seed=1)
    assert abs(sampled["hit_rate_model"] - full["hit_rate_model"]) < 0.1


def test_the_page_states_the_sample_and_that_suggestions_cover_everyone(synthetic_log):
    baskets = mb.build_baskets(synthetic_log)
    recs = mb.recommend(baskets)
    full = mb.evaluate_holdout(baskets)
    assert "sample" not in mb.describe_evaluation(full, recs)
    sampled = mb.evaluate_holdout(baskets, max_customers=full["repeat_customers"] // 2)
    text = mb.describe_evaluation(sampled, recs)
    customers = f"{recs['customer_id'].nunique():,}"
    assert f"random sample of {sampled['sample_size']:,} of the {full['repeat_customers']:,}" in text
    assert f"all {customers} customers" in text
    with i18n.using_language("ko"):
        korean = mb.describe_evaluation(sampled, recs)
    assert "random sample" not in korean and customers in korean


def test_the_bundled_sample_gives_the_same_results(sample_log):
    old = ref.build_baskets(sample_log)
    new = mb.build_baskets(sample_log)
    assert_same_baskets(new, old)
    by_range = mb.collapse_variants(new)
    itemsets, rules = mb.mine_rules(by_range, min_support=0.01, max_len=3)
    old_itemsets = ref.mine_itemsets(by_range, 0.01, 3)
    pd.testing.assert_frame_equal(rules, ref.association_rules(old_itemsets, by_range), check_exact=True)
    pd.testing.assert_frame_equal(mb.recommend(new).astype(object), ref.recommend(new).astype(object),
                                  check_exact=True)
    got = mb.evaluate_holdout(new, max_customers=50_000)
    expected = ref.evaluate_holdout(new)
    assert {k: got[k] for k in expected} == expected
