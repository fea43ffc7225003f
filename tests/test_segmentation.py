"""Tests of crmlib.segmentation: summaries, RFM scores, segments, clusters, life cycle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.core import summaries
from crmlib.pages import segmentation as seg
from crmlib.errors import ConfigError, DataError


def _tx(rows):
    """Hand-made transactions: (customer_id, date, amount[, invoice_id])."""
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount", "invoice_id"][: len(rows[0])])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="ISO8601")
    if "invoice_id" not in frame:
        frame["invoice_id"] = [f"i{i}" for i in range(len(frame))]
    return frame


# --------------------------------------------------------------------------- summaries
def test_btyd_summary_reproduces_lifetimes_cdnow_summary_on_every_row():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    from crmlib.datasets import load_cdnow_transactions

    reference = load_cdnow_summary_data_with_monetary_value()  # the published summary, int ids
    summary = summaries.btyd_summary(load_cdnow_transactions(), "1997-09-30", time_unit="W")
    summary.index = summary.index.astype(int)
    summary = summary.sort_index()
    assert summary.index.equals(reference.index)
    assert list(summary.columns) == ["frequency", "recency", "T", "monetary_value"]
    diff = (summary - reference[summary.columns]).abs()
    assert diff.max().max() < 1e-2, diff.max()


def test_btyd_summary_merges_same_day_and_ignores_later_and_anonymous_rows():
    tx = _tx([
        ("a", "2020-01-01 09:00", 10.0),
        ("a", "2020-01-01 17:00", 5.0),    # same day: one occasion worth 15
        ("a", "2020-01-08", 20.0),
        ("a", "2020-01-15", 40.0),
        ("a", "2020-02-01", 99.0),         # after as_of: ignored
        ("b", "2020-01-29 23:59", 7.0),    # only purchase, on as_of itself
        (None, "2020-01-02", 1000.0),      # anonymous: dropped
        ("c", "2020-02-02", 3.0),          # only after as_of: absent
    ])
    weeks = summaries.btyd_summary(tx, "2020-01-29", time_unit="W")
    assert list(weeks.index) == ["a", "b"]
    a = weeks.loc["a"]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(2.0)
    assert a["T"] == pytest.approx(4.0)
    assert a["monetary_value"] == pytest.approx(30.0)  # mean of repeat occasions 20 and 40
    b = weeks.loc["b"]
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, 0, 0)
    days = summaries.btyd_summary(tx, "2020-01-29", time_unit="D")
    assert days.loc["a", "T"] == 28 and days.loc["a", "recency"] == 14


@pytest.mark.parametrize("time_unit, multiplier", [("D", 1), ("W", 7)])
def test_btyd_summary_equals_lifetimes_on_an_export_like_log(time_unit, multiplier):
    from lifetimes.utils import summary_data_from_transaction_data

    from crmlib.synthetic import make_synthetic

    tx = make_synthetic(n_customers=300, seed=4).transactions   # invoice lines listed together
    tx.loc[tx.index[::50], "customer_id"] = None                 # some anonymous lines
    ours = summaries.btyd_summary(tx, "2011-06-30", time_unit=time_unit)
    theirs = summary_data_from_transaction_data(
        tx.dropna(subset=["customer_id"]), "customer_id", "invoice_date", monetary_value_col="amount",
        observation_period_end="2011-06-30", freq="D", freq_multiplier=multiplier).sort_index()
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs[ours.columns].to_numpy(), rtol=1e-9, atol=1e-9)


def test_btyd_summary_start_window_and_bad_input():
    tx = _tx([("a", "2020-01-01", 10.0), ("a", "2020-01-10", 20.0), ("a", "2020-01-20", 30.0)])
    late = summaries.btyd_summary(tx, "2020-01-31", time_unit="D", start="2020-01-05")
    assert late.loc["a", "frequency"] == 1 and late.loc["a", "T"] == 21
    with pytest.raises(ConfigError, match="time_unit"):
        summaries.btyd_summary(tx, "2020-01-31", time_unit="M")
    with pytest.raises(DataError, match="amount"):
        summaries.btyd_summary(tx.drop(columns="amount"), "2020-01-31")
    empty = summaries.btyd_summary(tx, "2019-01-01")
    assert empty.empty and list(empty.columns) == ["frequency", "recency", "T", "monetary_value"]


def test_customer_summary_counts_days_orders_and_agrees_with_btyd():
    tx = _tx([
        ("a", "2020-01-01", 10.0, "i1"),
        ("a", "2020-01-01", 5.0, "i2"),
        ("a", "2020-01-11", 15.0, "i3"),
        ("a", "2020-01-11", 15.0, "i3"),
        ("b", "2020-01-21", 8.0, "i4"),
    ])
    cs = summaries.customer_summary(tx, "2020-01-31", time_unit="D")
    a = cs.loc["a"]
    assert a["frequency"] == 2           # distinct purchase days
    assert a["orders"] == 3              # distinct invoices
    assert a["monetary"] == pytest.approx(45.0)
    assert a["avg_order_value"] == pytest.approx(15.0)
    assert a["recency_days"] == 20 and a["tenure_days"] == 30
    assert a["first_purchase"] == pd.Timestamp("2020-01-01")
    btyd = summaries.btyd_summary(tx, "2020-01-31", time_unit="D")
    assert np.allclose(cs[["btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value"]].to_numpy(),
                       btyd.to_numpy())


# --------------------------------------------------------------------------- RFM scores
def _summary(recency, frequency, monetary):
    return pd.DataFrame({"recency_days": recency, "frequency": frequency, "monetary": monetary},
                        index=pd.Index([f"c{i}" for i in range(len(recency))], name="customer_id"))


def test_rfm_quintile_boundaries_on_distinct_values():
    n = 10
    s = _summary(recency=np.arange(n) * 10, frequency=np.arange(1, n + 1), monetary=np.arange(n) * 100.0)
    scores = summaries.rfm_scores(s)
    # two customers per quintile; recency reversed (most recent = 5)
    assert scores["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores.loc["c9", "rfm_score"] == "155" and scores.loc["c0", "rfm_score"] == "511"


def test_rfm_ties_share_a_score_and_tiny_bases_are_centred():
    # 6 of 10 customers bought on one day only: they all get the same F score
    s = _summary(recency=[5] * 10, frequency=[1] * 6 + [2, 3, 4, 9], monetary=np.arange(10.0))
    scores = summaries.rfm_scores(s)
    assert scores["f_score"].iloc[:6].nunique() == 1
    assert scores["f_score"].iloc[0] == 2          # mid-rank 30 % -> score 2
    assert scores["f_score"].tolist()[6:] == [4, 4, 5, 5]
    assert set(scores["r_score"]) == {3}           # everyone tied: neutral middle score
    assert summaries.rfm_scores(_summary([1], [1], [1.0]))["rfm_score"].tolist() == ["333"]
    assert summaries.rfm_scores(_summary([1, 2], [1, 2], [1.0, 2.0]))["f_score"].tolist() == [2, 4]
    assert summaries.rfm_scores(_summary([], [], [])).empty


# --------------------------------------------------------------------------- segment map
def test_default_segment_map_puts_each_of_125_scores_in_exactly_one_segment():
    segment_map = summaries.load_segment_map({})
    grid = summaries.segment_grid(segment_map)
    assert len(grid) == 125 and grid["rfm_score"].nunique() == 125
    assert (grid["n_segments"] == 1).all()
    assert set(grid["segment"]) == set(summaries.DEFAULT_SEGMENT_MAP)
    assert grid.set_index("rfm_score").loc[["555", "111", "511", "155"], "segment"].tolist() == [
        "Champions", "Lost", "New", "Cannot Lose Them"]


def test_custom_segment_map_is_checked():
    good = summaries.load_segment_map({"map": {"Top": {"r": "4-5", "f": [4, 5]}, "Rest": {"r": "1-3"},
                                         "Mid": {"r": "4-5", "f": "1-3"}}})
    scores = pd.DataFrame({"rfm_score": ["551", "315", "412"]})
    assert summaries.assign_segments(scores, good).tolist() == ["Top", "Rest", "Mid"]
    with pytest.raises(ConfigError, match="without a segment.*e.g. 4"):
        summaries.load_segment_map({"map": {"Top": {"r": "4-5", "f": "4-5"}, "Rest": {"r": "1-3"}}})
    with pytest.raises(ConfigError, match="more than one segment"):
        summaries.load_segment_map({"map": {"All": {}, "Top": {"r": "5"}}})
    with pytest.raises(ConfigError, match="unknown key 'mapp'.*allowed there: map"):
        summaries.load_segment_map({"mapp": {}})
    with pytest.raises(ConfigError, match="unknown key 'x'.*allowed there: r, f, m, action"):
        summaries.load_segment_map({"map": {"All": {"x": 1}}})
    with pytest.raises(ConfigError, match="scores must lie in 1-5"):
        summaries.load_segment_map({"map": {"All": {"r": "0-5"}}})


# --------------------------------------------------------------------------- clusters
@pytest.fixture(scope="module")
def planted():
    from crmlib.synthetic import make_synthetic

    data = make_synthetic(n_customers=1200, groups=4, seed=3)
    summary = summaries.customer_summary(data.transactions, "2011-12-31")
    truth = data.truth.customers.set_index("customer_id")["group"].reindex(summary.index)
    return summary, truth


def test_clusters_recover_planted_groups(planted):
    from sklearn.metrics import adjusted_rand_score

    summary, truth = planted
    model = seg.BehaviourClusters(k_range=(2, 6), random_state=0).fit(summary)
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_) >= 0.8
    assert model.profiles_["customers"].sum() == len(summary)
    # cluster 1 is the best group, described in plain words
    assert model.profiles_.loc[1, "description"] == "frequent, high spend, recent"
    assert model.profiles_["median_monetary"].is_monotonic_decreasing


def test_clusters_are_deterministic_under_the_seed(planted):
    summary, _ = planted
    a = seg.BehaviourClusters(n_clusters=3, random_state=7).fit(summary)
    b = seg.BehaviourClusters(n_clusters=3, random_state=7).fit(summary.sample(frac=1, random_state=1))
    assert a.labels_.equals(b.labels_.reindex(a.labels_.index))  # row order does not matter
    c = seg.BehaviourClusters(n_clusters=3, random_state=7).fit(summary)
    assert a.labels_.equals(c.labels_) and a.silhouette_ == c.silhouette_


# --------------------------------------------------------------------------- life cycle, cohorts, concentration
def test_lifecycle_stages_follow_the_thresholds():
    tx = _tx([
        ("new", "2020-06-20", 1.0),
        ("active", "2020-04-20", 1.0), ("active", "2020-06-01", 1.0),
        ("back", "2020-01-01", 1.0), ("back", "2020-06-25", 1.0),        # 176-day gap, back
        ("risk", "2020-01-01", 1.0), ("risk", "2020-04-15", 1.0),
        ("gone", "2020-01-01", 1.0),
    ])
    cs = summaries.customer_summary(tx, "2020-06-30", time_unit="D")
    stage = seg.lifecycle_stage(cs, active_days=60, lapsed_days=120)
    assert stage.to_dict() == {"active": "active", "back": "reactivated", "gone": "lapsed",
                               "new": "new", "risk": "at-risk"}
    with pytest.raises(ConfigError):
        seg.lifecycle_stage(cs, active_days=120, lapsed_days=60)


def test_lifecycle_thresholds_come_from_inter_purchase_times():
    tx = _tx([("a", d, 1.0) for d in pd.date_range("2020-01-01", periods=50, freq="10D")]
             + [("b", "2020-01-01", 1.0), ("b", "2020-01-01", 1.0), ("b", "2020-03-01", 1.0)])
    gaps = summaries.inter_purchase_days(tx, "2021-12-31")
    assert sorted(set(gaps)) == [10, 60] and len(gaps) == 50   # same-day rows merged
    th = seg.lifecycle_thresholds(gaps)
    assert th["active_days"] == 10 and th["lapsed_days"] == 11 and th["n_gaps"] == 50
    assert seg.lifecycle_thresholds(gaps[:5])["active_days"] == 90   # too few: fallback


def test_cohorts_retention_and_revenue():
    tx = _tx([
        ("a", "2020-01-05", 10.0), ("a", "2020-02-05", 20.0), ("a", "2020-03-05", 5.0),
        ("b", "2020-01-20", 30.0),
        ("c", "2020-02-10", 40.0), ("c", "2020-03-10", 1.0),
        ("c", "2020-04-10", 99.0),  # after as_of
    ])
    co = seg.cohort_tables(tx, "2020-03-31")
    assert co["sizes"].to_dict() == {"2020-01": 2, "2020-02": 1}
    ret = co["retention"]
    assert ret.loc["2020-01", 0] == 1.0 and ret.loc["2020-01", 1] == 0.5 and ret.loc["2020-01", 2] == 0.5
    assert ret.loc["2020-02", 1] == 1.0 and np.isnan(ret.loc["2020-02", 2])   # not yet observable
    assert co["revenue"].loc["2020-01", 0] == 40.0 and co["revenue"].loc["2020-02", 1] == 1.0


def test_value_concentration():
    values = pd.Series([100.0, 50.0, 20.0, 10.0, 10.0, 5.0, 3.0, 1.0, 1.0, 0.0])
    assert seg.top_share(values, 0.2) == pytest.approx(150 / 200)
    curve = seg.pareto_curve(values)
    assert curve.iloc[0].tolist() == [0.0, 0.0] and curve.iloc[-1].tolist() == [1.0, 1.0]
    assert curve["revenue_share"].is_monotonic_increasing
    cs = _summary([1, 2, 3, 4], [1, 1, 2, 5], [10.0, 30.0, 20.0, 40.0]).assign(
        segment=pd.Categorical(["A", "A", "B", "B"], categories=["A", "B", "C"]))
    table = seg.segment_table(cs)
    assert table.loc["A", "revenue_share"] == pytest.approx(0.4)
    assert table.loc["C", "customers"] == 0 and table["customer_share"].sum() == pytest.approx(1.0)
    assert table.loc["A", "top20_share_within"] == pytest.approx(30 / 40)   # top 1 of 2 customers
    assert np.isnan(table.loc["C", "top20_share_within"])


def test_attribute_crosstab_and_profile():
    cs = _summary([1, 2, 3, 4], [1, 1, 2, 5], [10.0, 30.0, 20.0, 40.0]).assign(segment=["A", "A", "B", "B"])
    attrs = pd.DataFrame({"customer_id": ["c0", "c1", "c2"], "age_band": ["18-24", "25-34", "18-24"],
                          "email": ["x@y", "z@y", "w@y"]})
    assert seg.attribute_columns(attrs) == ["age_band"]
    ct = seg.attribute_crosstab(cs, attrs, "age_band")
    assert ct.loc["B", "unknown"] == 0.5 and ct.loc["A", "18-24"] == 0.5
    profile = seg.attribute_profile(cs, attrs, "age_band")
    assert profile.loc["18-24", "customers"] == 2 and profile.loc["18-24", "mean_spend"] == 15.0


# --------------------------------------------------------------------------- one call for notebook 02
def test_segment_customers_artifact_metrics_and_determinism():
    from crmlib.synthetic import make_synthetic

    tx = make_synthetic(n_customers=400, groups=3, seed=11).transactions
    a = seg.segment_customers(tx, "2011-12-31", random_state=5)
    b = seg.segment_customers(tx.sample(frac=1, random_state=2), "2011-12-31", random_state=5)
    art = a.artifact()
    assert list(art.columns[:8]) == ["customer_id", "recency_days", "frequency", "monetary", "rfm_score",
                                     "segment", "cluster", "lifecycle_stage"]
    assert art["customer_id"].is_unique and len(art) == tx["customer_id"].nunique()
    pd.testing.assert_frame_equal(art, b.artifact())
    metrics = a.metrics()
    assert metrics["customers"] == len(art)
    assert sum(s["customers"] for s in metrics["segments"].values()) == len(art)
    assert sum(metrics["lifecycle"].values()) == len(art)
    assert 3 <= metrics["clusters_k"] <= 8 and 0.2 < metrics["top20_revenue_share"] <= 1
    fixed = seg.segment_customers(tx, "2011-12-31", n_clusters=2, active_days=30, lapsed_days=200)
    assert fixed.clusters.k_ == 2 and fixed.thresholds["lapsed_days"] == 200


def test_missing_amounts_are_reported_with_example_rows():
    tx = _tx([("a", "2020-01-01", 10.0), ("b", "2020-01-02", float("nan"))])
    with pytest.raises(DataError, match="missing or non-numeric amounts(.|\n)*'b'"):
        summaries.btyd_summary(tx, "2020-01-31")


# --------------------------------------------------------------------------- the page's words (issues 13, 16)
def test_segment_page_words_tables_and_downloads():
    from markup import HAZARDS, live_markup

    from crmlib.synthetic import make_synthetic
    from crmlib.pages import segmentation as page

    tx = make_synthetic(n_customers=300, groups=3, seed=4).transactions
    result = seg.segment_customers(tx, "2011-12-31", random_state=1)
    listing = page.segment_list(result)
    assert len(listing) == len(result.customers) and listing["Customer id"].is_unique
    assert {"RFM segment", "Recency score", "Frequency score", "Monetary score", "Last purchase",
            "Spend"} <= set(listing.columns)
    table = page.segment_summary(result)
    assert table.headers[0] == "RFM segment" and table.headers[-1] == "Suggested action"
    assert all(cell and "nan" not in cell.lower() for row in table.rows for cell in row)
    # a segment map may rename segments: names are data and must stay text
    result.segments = result.segments.rename(index=dict(zip(result.segments.index[:3], HAZARDS)))
    metrics = result.metrics()
    metrics["segments"] = {HAZARDS[i]: v for i, v in enumerate(metrics["segments"].values()) if i < 3}
    outputs = {"segments_text": page.segments_text(result), "clusters_text": page.clusters_text(result),
               "finding": page.PAGE.finding(metrics, "GBP"), "table": page.segment_summary(result).to_html()}
    for name, text in outputs.items():
        assert live_markup(text) == [], (name, text)
    words = " ".join([page.lifecycle_text(result), page.concentration_text(result), outputs["finding"]])
    assert "at-risk" not in words and "active" not in words   # those words mean other things in the report
    assert "since" in outputs["finding"] and "all purchases" in page.concentration_text(result)


def test_segment_page_in_korean_translates_default_names_and_keeps_configured_ones():
    """Default segment names and actions are shown in the report's language; stored values stay
    English; a name or action a team configures (here in Korean) is data, shown as it is."""
    import re

    from crmlib.core import i18n
    from crmlib.synthetic import make_synthetic
    from crmlib.pages import segmentation as page

    tx = make_synthetic(n_customers=300, groups=3, seed=4).transactions
    config = {"map": {"우수 고객": {"r": "4-5", "action": "감사 쿠폰 발송"}, "Champions": {"r": "1-3"}}}
    with i18n.using_language("ko"):
        default = seg.segment_customers(tx, "2011-12-31", random_state=1)
        table = page.segment_summary(default, "KRW").to_frame()
        text = page.segments_text(default, "KRW") + page.clusters_text(default) + page.lifecycle_text(default)
        finding = page.PAGE.finding(default.metrics(), "KRW")
        custom = seg.segment_customers(tx, "2011-12-31", segments_config=config, random_state=1)
        custom_table = page.segment_summary(custom, "KRW").to_frame()
    assert "Champions" in default.metrics()["segments"] and "Champions" in set(default.artifact()["segment"])
    assert list(table.columns) == ["RFM 세그먼트", "고객", "매출 비중", "권장 조치"]
    assert "최우수 고객" in set(table.iloc[:, 0]) and "Champions" not in set(table.iloc[:, 0])
    assert "보상하고" in " ".join(table.iloc[:, 3])
    assert not re.search(r"[A-Za-z]{3,}", text.replace("RFM", "").replace("win-back", "")), text
    assert finding.startswith("고객 300명")
    assert set(custom_table.iloc[:, 0]) == {"우수 고객", "최우수 고객"}      # configured name as it is
    assert "감사 쿠폰 발송" in set(custom_table.iloc[:, 3])
