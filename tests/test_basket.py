"""Tests for crmlib.basket: brute-force equality, hand-computed metrics, planted pairs,
data without products, and recommendations that never repeat a purchase."""
from __future__ import annotations

import itertools
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from crmlib.pages import basket as mb
from crmlib.pages.basket import recommendations
from crmlib import datasets
from crmlib.synthetic import make_synthetic
from crmlib.errors import ConfigError


def _transactions(baskets: list[list[str]], customers: list[str] | None = None) -> pd.DataFrame:
    """Canonical-ish transactions: one invoice per basket, one line per item."""
    customers = customers or [f"C{i % 7}" for i in range(len(baskets))]
    rows = [
        {"customer_id": customers[i], "invoice_id": f"I{i:04d}",
         "invoice_date": pd.Timestamp("2011-01-01") + pd.Timedelta(days=i),
         "product_id": item, "product_name": f"name of {item}", "quantity": 1.0}
        for i, items in enumerate(baskets) for item in items
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def random_baskets() -> list[list[str]]:
    rng = np.random.default_rng(7)
    items = list("abcdefg")
    probs = np.array([0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.1])
    out = []
    for _ in range(120):
        chosen = [it for it, p in zip(items, probs) if rng.random() < p]
        if "a" in chosen and rng.random() < 0.7:
            chosen.append("d")      # a correlated pair
        out.append(sorted(set(chosen)) or ["g"])
    return out


def _brute_force(baskets: list[list[str]], min_support: float, max_len: int) -> dict[frozenset, float]:
    n = len(baskets)
    sets = [set(b) for b in baskets]
    items = sorted(set().union(*sets))
    found = {}
    for k in range(1, max_len + 1):
        for combo in itertools.combinations(items, k):
            count = sum(1 for s in sets if s.issuperset(combo))
            if count / n >= min_support:
                found[frozenset(combo)] = count / n
    return found


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic(1500, n_products=200, planted_pairs=3, seed=3)


def test_itemsets_equal_brute_force(random_baskets):
    b = mb.build_baskets(_transactions(random_baskets))
    for min_support, max_len in ((0.05, 3), (0.15, 4), (0.3, 2)):
        mined = mb.mine_itemsets(b, min_support=min_support, max_len=max_len)
        got = dict(zip(mined["itemsets"], mined["support"]))
        expected = _brute_force(random_baskets, min_support, max_len)
        assert set(got) == set(expected)
        for key, support in expected.items():
            assert got[key] == pytest.approx(support)


def test_estimate_is_an_upper_bound(random_baskets):
    b = mb.build_baskets(_transactions(random_baskets))
    for min_support in (0.02, 0.05, 0.15):
        est = mb.estimate_itemsets(b, min_support, None)
        actual = len(_brute_force(random_baskets, min_support, 7))
        assert est["itemsets_bound"] >= actual
        assert est["frequent_items"] == len(_brute_force(random_baskets, min_support, 1))


def test_pair_affinity_equals_brute_force(random_baskets):
    b = mb.build_baskets(_transactions(random_baskets))
    aff = mb.pair_affinity(b)
    n = len(random_baskets)
    single = _brute_force(random_baskets, 1e-9, 1)
    pairs = {k: v for k, v in _brute_force(random_baskets, 1e-9, 2).items() if len(k) == 2}
    assert len(aff) == len(pairs)
    for row in aff.itertuples():
        key = frozenset((row.item_a, row.item_b))
        s_a, s_b = single[frozenset(row.item_a)], single[frozenset(row.item_b)]
        assert row.support == pytest.approx(pairs[key])
        assert row.count == round(pairs[key] * n)
        assert row.lift == pytest.approx(pairs[key] / (s_a * s_b))
        assert row.confidence_ba == pytest.approx(pairs[key] / s_b)


def test_rule_metrics_by_hand():
    # 5 baskets: a in 4, b in 4, a & b in 3, c in 2
    b = mb.build_baskets(_transactions([["a", "b"], ["a", "b", "c"], ["a", "c"], ["b"], ["a", "b"]]))
    _, rules = mb.mine_rules(b, min_support=0.2, max_len=2)
    rule = rules[(rules["antecedents"].map(tuple) == ("a",)) & (rules["consequents"].map(tuple) == ("b",))].iloc[0]
    assert rule["support"] == pytest.approx(3 / 5)
    assert rule["confidence"] == pytest.approx(3 / 4)
    assert rule["lift"] == pytest.approx((3 / 4) / (4 / 5))
    assert rule["leverage"] == pytest.approx(3 / 5 - (4 / 5) * (4 / 5))
    assert rule["conviction"] == pytest.approx((1 - 4 / 5) / (1 - 3 / 4))
    assert rule["count"] == 3
    assert rule["antecedent_names"] == ["name of a"]
    aff = mb.pair_affinity(b)
    ab = aff[(aff["item_a"] == "a") & (aff["item_b"] == "b")].iloc[0]
    assert ab["conviction_ab"] == pytest.approx(rule["conviction"])
    assert ab["leverage"] == pytest.approx(rule["leverage"])
    # c -> a holds in every basket with c: confidence 1, conviction infinite
    ca = rules[(rules["antecedents"].map(tuple) == ("c",)) & (rules["consequents"].map(tuple) == ("a",))].iloc[0]
    assert ca["confidence"] == 1 and math.isinf(ca["conviction"])


def test_planted_pairs_found_strongest_first(synthetic):
    b = mb.build_baskets(synthetic.transactions)
    aff = mb.pair_affinity(b, min_support=0.01)
    pairs = [frozenset(p) for p in zip(aff["item_a"].astype(str), aff["item_b"].astype(str))]
    planted = [frozenset(p[:2]) for p in synthetic.truth.planted_pairs]
    assert pairs[0] == planted[0]
    ax = mb.plot_affinity_heatmap(b, aff, n=10)
    assert len(ax.get_xticklabels()) == 10
    for p in planted:
        assert aff["lift"].iloc[pairs.index(p)] > 1
    _, rules = mb.mine_rules(b, min_support=0.01, max_len=3)
    top_items = set(rules["antecedents"].iloc[0]) | set(rules["consequents"].iloc[0])
    assert planted[0] <= top_items


def test_customer_day_baskets_merge_same_day_invoices():
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B"], "invoice_id": ["1", "2", "3", "4"],
        "invoice_date": pd.to_datetime(["2011-01-01 09:00", "2011-01-01 17:00", "2011-01-02 10:00", "2011-01-01 10:00"]),
        "product_id": ["x", "y", "x", "x"],
    })
    by_invoice = mb.build_baskets(tx, basket="invoice")
    by_day = mb.build_baskets(tx, basket="customer_day")
    assert by_invoice.n_baskets == 4 and by_day.n_baskets == 3
    assert by_day.matrix.sum() == 4  # A's first day holds x and y
    with pytest.raises(ConfigError, match="basket"):
        mb.build_baskets(tx, basket="week")
    guest = pd.concat([tx, pd.DataFrame({"customer_id": [None], "invoice_id": ["5"],
                                         "invoice_date": pd.to_datetime(["2011-01-03 10:00"]), "product_id": ["y"]})])
    assert mb.build_baskets(guest).n_baskets == 4
    with_guests = mb.build_baskets(guest, include_anonymous=True)
    assert with_guests.n_baskets == 5 and with_guests.info["customer_id"].isna().sum() == 1
    assert set(mb.recommend(with_guests)["customer_id"]) == {"B"}  # A already has every item; guests get none


def test_category_items(synthetic):
    b = mb.build_baskets(synthetic.transactions, item="category")
    assert b.n_items == synthetic.transactions["category"].nunique()
    assert set(b.item_names) == set(b.item_ids)


def test_explosion_guard_stops_before_mining(random_baskets):
    b = mb.build_baskets(_transactions(random_baskets))
    with pytest.raises(ConfigError, match="min_support.*max_len"):
        mb.mine_itemsets(b, min_support=0.01, max_len=None, max_itemsets=20)
    assert len(mb.mine_itemsets(b, min_support=0.01, max_len=None, max_itemsets=10_000)) > 20


def test_no_product_column_runs_through():
    tx = datasets.load_cdnow_transactions()
    b = mb.build_baskets(tx)
    assert not b.available and "product_id" in b.problem
    assert mb.pair_affinity(b).empty
    itemsets, rules = mb.mine_rules(b)
    assert itemsets.empty and rules.empty and list(rules.columns) == mb.RULE_COLUMNS
    recs = mb.recommend(b)
    assert recs.empty and list(recs.columns) == mb.RECOMMENDATION_COLUMNS
    evaluation = mb.evaluate_holdout(b)
    metrics = mb.headline_metrics(b, rules, evaluation, recs)
    assert metrics["basket_analysis_available"] is False and "product_id" in metrics["unavailable_reason"]
    assert "No basket analysis" in mb.describe_baskets(b, 0.01)
    assert mb.compare_segment(b, None)[0] is None
    mb.plot_strongest_pairs(mb.pair_affinity(b))
    mb.plot_affinity_heatmap(b, mb.pair_affinity(b))
    mb.plot_holdout(evaluation)


def test_placeholder_product_counts_as_no_product():
    # cleaning fills a missing product column with one placeholder value
    tx = datasets.load_cdnow_transactions().assign(product_id="ALL")
    b = mb.build_baskets(tx)
    assert not b.available and "single value" in b.problem
    assert mb.recommend(b).empty


def test_recommendations_never_repeat_a_purchase(synthetic):
    tx = synthetic.transactions
    b = mb.build_baskets(tx)
    recs = mb.recommend(b, n=5)
    bought = set(zip(tx["customer_id"].astype(str), tx["product_id"].astype(str)))
    assert recs["customer_id"].nunique() == tx["customer_id"].nunique()
    assert not any(pair in bought for pair in zip(recs["customer_id"], recs["product_id"]))
    assert (recs.groupby("customer_id")["rank"].apply(list) .map(lambda r: r == [1, 2, 3, 4, 5])).all()
    assert (recs.groupby("customer_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_top_columns_matches_a_stable_sort():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 30)).astype(float)
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    for n in (1, 5, 30):
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        assert (recommendations._top_columns(scores, n) == expected).all()


def test_recommendation_follows_cooccurrence():
    # x and y always go together; a customer who bought only x must be offered y first
    baskets = [["x", "y"]] * 5 + [["z"]] * 8 + [["x"]]
    customers = [f"K{i}" for i in range(len(baskets))]
    recs = mb.recommend(mb.build_baskets(_transactions(baskets, customers)), n=2, min_count=1)
    mine = recs[recs["customer_id"] == "K13"]
    assert mine["product_id"].tolist() == ["y", "z"]


def test_holdout_check(synthetic):
    b = mb.build_baskets(synthetic.transactions)
    evaluation = mb.evaluate_holdout(b, n=10)
    assert evaluation["customers_evaluated"] > 100
    assert 0 < evaluation["hit_rate_baseline"] <= 1 and 0 < evaluation["hit_rate_model"] <= 1
    assert "customers" in mb.describe_evaluation(evaluation)


def test_segment_comparison(synthetic):
    b = mb.build_baskets(synthetic.transactions)
    customers = b.info["customer_id"].drop_duplicates()
    segments = pd.DataFrame({"customer_id": customers, "segment": np.where(np.arange(len(customers)) % 2, "Champions", "Others")})
    table, text = mb.compare_segment(b, segments, "Champions", min_support=0.01)
    assert table is not None and len(table) > 0 and "Champions" in text
    assert {"lift (Champions)", "lift (everyone)"} <= set(table.columns)
    missing, why = mb.compare_segment(b, segments, "Nobody")
    assert missing is None and "Nobody" in why


# --------------------------------------------------------------------------- product ranges (issue 13)
def test_variants_of_one_product_form_one_range():
    names = ["REGENCY TEA PLATE ROSES", "REGENCY TEA PLATE GREEN", "REGENCY TEA PLATE PINK",
             "POPPY'S PLAYHOUSE BEDROOM", "POPPY'S PLAYHOUSE KITCHEN",
             "CHILDRENS CUTLERY DOLLY GIRL", "CHILDRENS CUTLERY SPACEBOY",
             "SET OF 3 HEART COOKIE CUTTERS", "SET OF 3 WOODEN SLEIGH DECORATIONS",
             "PARTY BUNTING", "PARTY CANDLES", "HAPPY BIRTHDAY CARD,", "HAPPY BIRTHDAY CARD TEDDY"]
    ids = np.array([f"p{i}" for i in range(len(names))], dtype=object)
    ranges = mb.product_ranges(ids, np.array(names, dtype=object), np.arange(len(names))[::-1])
    range_of = dict(zip(ranges["item_name"], ranges["range_id"]))
    label = dict(zip(ranges["item_name"], ranges["range_name"]))
    same = lambda *ns: len({range_of[n] for n in ns}) == 1  # noqa: E731
    assert same("REGENCY TEA PLATE ROSES", "REGENCY TEA PLATE GREEN", "REGENCY TEA PLATE PINK")
    assert label["REGENCY TEA PLATE PINK"] == "REGENCY TEA PLATE …"
    assert range_of["REGENCY TEA PLATE GREEN"] == "p0+p1+p2"          # best seller first
    assert same("POPPY'S PLAYHOUSE BEDROOM", "POPPY'S PLAYHOUSE KITCHEN")
    assert same("CHILDRENS CUTLERY DOLLY GIRL", "CHILDRENS CUTLERY SPACEBOY")   # a two-word variant
    assert same("HAPPY BIRTHDAY CARD,", "HAPPY BIRTHDAY CARD TEDDY")            # punctuation ignored
    assert not same("SET OF 3 HEART COOKIE CUTTERS", "SET OF 3 WOODEN SLEIGH DECORATIONS")  # a pack size only
    assert not same("PARTY BUNTING", "PARTY CANDLES")                              # two-word names
    assert not same("REGENCY TEA PLATE ROSES", "POPPY'S PLAYHOUSE BEDROOM")
    alone = ranges.set_index("item_name").loc["PARTY BUNTING"]
    assert alone["range_id"] == alone["item_id"] and alone["variants"] == 1


def test_collapsed_variants_leave_the_cross_product_pair_on_top():
    # plate variants always together (the strongest raw pair); plates also go with a teapot
    plates = ["PLATE", "PLATE_G"]
    baskets = [plates] * 6 + [["PLATE", "POT"]] * 5 + [["PLATE_G", "POT"]] * 4 + [["CARD"]] * 20 + [["POT", "CARD"]] * 2
    tx = _transactions(baskets)
    names = {"PLATE": "REGENCY TEA PLATE ROSES", "PLATE_G": "REGENCY TEA PLATE GREEN",
             "POT": "REGENCY TEAPOT ROSES", "CARD": "BIRTHDAY CARD"}
    tx["product_name"] = tx["product_id"].map(names)
    b = mb.build_baskets(tx)
    raw = mb.pair_affinity(b)
    assert {raw["item_a"].iloc[0], raw["item_b"].iloc[0]} == {"PLATE", "PLATE_G"}
    by_range = mb.collapse_variants(b)
    assert by_range.n_items == 3 and by_range.n_baskets == b.n_baskets
    plate = list(by_range.item_ids).index("PLATE+PLATE_G")
    assert by_range.item_counts()[plate] == 15                      # a basket holds the range once
    top = mb.pair_affinity(by_range).iloc[0]
    assert {str(top["name_a"]), str(top["name_b"])} == {"REGENCY TEA PLATE …", "REGENCY TEAPOT ROSES"}


def test_suggestions_discount_what_everyone_buys():
    # P is in most baskets; x goes with P more often than with y, but y is rare and almost
    # always bought with x: a customer who bought only x is offered y before the best seller
    baskets = ([["P"]] * 70 + [["x", "P"]] * 6 + [["x", "y"]] * 3 + [["P", "z"]] * 4 + [["x"]])
    customers = [f"K{i}" for i in range(len(baskets))]
    recs = mb.recommend(mb.build_baskets(_transactions(baskets, customers)), n=2)
    mine = recs[recs["customer_id"] == customers[-1]]
    assert mine["product_id"].tolist()[0] == "y"
    assert mb.most_suggested_share(recs) == pytest.approx(
        recs.groupby("product_id")["customer_id"].nunique().max() / recs["customer_id"].nunique())
    assert mb.most_suggested_share(recs.iloc[:0]) is None


# --------------------------------------------------------------------------- script injection (issue 16)
def _planted_transactions() -> pd.DataFrame:
    from markup import HAZARDS

    pair = [["h0", "h1"]] * 8 + [["h1", "h2"]] * 6 + [["h0", "h2", "k"]] * 5 + [["k"]] * 4
    tx = _transactions(pair, [f"C{i % 9}" for i in range(len(pair))])
    tx["product_name"] = tx["product_id"].map({"h0": HAZARDS[0], "h1": HAZARDS[1], "h2": HAZARDS[2], "k": "KETTLE"})
    return tx


def test_planted_product_names_stay_text_on_the_basket_page():
    from markup import live_markup

    b = mb.build_baskets(_planted_transactions())
    by_range = mb.collapse_variants(b)
    itemsets, rules = mb.mine_rules(by_range, min_support=0.1, max_len=3)
    assert not rules.empty
    metrics = mb.headline_metrics(b, rules, mb.evaluate_holdout(b, n=3), mb.recommend(b, n=3))
    segments = pd.DataFrame({"customer_id": [f"C{i}" for i in range(9)], "segment": "<script>alert(2)</script>"})
    table, segment_text = mb.compare_segment(by_range, segments, "<script>alert(2)</script>", min_support=0.1)
    outputs = {
        "describe_rules": mb.describe_rules(rules, itemsets, 0.2),
        "finding": mb.PAGE.finding(metrics, "GBP"),
        "describe_ranges": mb.describe_ranges(mb.product_ranges(b.item_ids, b.item_names)),
        "compare_segment": segment_text,
        "no_segment": mb.compare_segment(by_range, segments, "<img src=x onerror=alert(1)>")[1],
        "strongest_pairs": mb.strongest_pairs(mb.pair_affinity(by_range)).to_html(),
        "top_rules": mb.top_rules(rules).to_html(),
        "segment_pairs": mb.segment_pairs_table(table, "<script>alert(2)</script>").to_html(),
        "most_suggested": mb.most_suggested(mb.recommend(b, n=3)).to_html(),
    }
    assert "script" in outputs["describe_rules"]            # the names are shown, as text
    for name, text in outputs.items():
        assert live_markup(text) == [], (name, text)
