"""The segmentation page at scale (issue 17): integer-code aggregates equal the pandas ones they
replaced, and clusters are fitted on a seeded sample only above the training limit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.core import summaries
from crmlib.core.i18n import using_language
from crmlib.pages import segmentation as seg
from segmentation_reference import (reference_assign_segments, reference_cohort_tables, reference_lifecycle_stage,
                                    reference_rfm_scores, reference_segment_table)


def _dirty_log(seed: int, customers: int = 400, invoices: int = 3000, days: int = 900) -> pd.DataFrame:
    """Invoices of several lines over 2.5 years, anonymous lines, a missing amount, shuffled rows."""
    rng = np.random.default_rng(seed)
    who = rng.integers(0, customers, invoices).astype(str).astype(object)
    who[rng.random(invoices) < 0.1] = None
    when = pd.Timestamp("2009-07-01") + pd.to_timedelta(rng.integers(0, days, invoices), unit="D")
    lines = np.repeat(np.arange(invoices), rng.integers(1, 5, invoices))
    frame = pd.DataFrame({
        "customer_id": who[lines], "invoice_id": (700000 + lines).astype(str),
        "invoice_date": when[lines] + pd.to_timedelta(rng.integers(0, 40000, len(lines)), unit="s"),
        "amount": rng.gamma(2, 15, len(lines)),
    })
    frame.loc[5, "amount"] = np.nan
    return frame


def _logs():
    from crmlib.synthetic import make_synthetic

    synthetic = make_synthetic(n_customers=500, groups=3, seed=4).transactions
    yield synthetic, "2011-12-31"
    yield _dirty_log(1), "2011-06-30"
    yield _dirty_log(2).sample(frac=1, random_state=0).reset_index(drop=True), "2011-09-15"
    yield _dirty_log(3).astype({"customer_id": "str"}), "2010-12-31"


def test_cohorts_on_codes_equal_the_group_by_version():
    for log, as_of in _logs():
        fast, reference = seg.cohort_tables(log, as_of), reference_cohort_tables(log, as_of)
        assert fast.keys() == reference.keys()
        pd.testing.assert_series_equal(fast["sizes"], reference["sizes"], check_names=False)
        for name in ("active", "retention", "revenue", "revenue_per_customer"):
            pd.testing.assert_frame_equal(fast[name], reference[name], rtol=1e-9, check_dtype=name != "active")
            assert fast[name].notna().sum().sum() > 0
        assert (fast["active"].fillna(0).to_numpy() == reference["active"].fillna(0).to_numpy()).all()


def test_purchase_gaps_are_the_core_inter_purchase_days():
    for log, as_of in _logs():
        fast = seg.purchase_gaps(log, as_of)
        reference = summaries.inter_purchase_days(log, as_of)
        assert len(fast) > 100
        assert np.array_equal(np.sort(fast), np.sort(reference))


@pytest.fixture(scope="module")
def planted():
    from crmlib.synthetic import make_synthetic

    data = make_synthetic(n_customers=1200, groups=4, seed=3)
    summary = summaries.customer_summary(data.transactions, "2011-12-31")
    truth = data.truth.customers.set_index("customer_id")["group"].reindex(summary.index)
    return summary, truth


def test_clusters_use_every_customer_up_to_the_limit(planted):
    summary, _ = planted
    everyone = seg.BehaviourClusters(k_range=(2, 6), random_state=0).fit(summary)
    at_limit = seg.BehaviourClusters(k_range=(2, 6), random_state=0, max_customers=len(summary)).fit(summary)
    assert everyone.n_fitted_ == at_limit.n_fitted_ == at_limit.n_customers_ == len(summary)
    assert everyone.labels_.equals(at_limit.labels_) and everyone.silhouette_ == at_limit.silhouette_


def test_clusters_above_the_limit_fit_a_seeded_sample_and_assign_everyone(planted):
    from sklearn.metrics import adjusted_rand_score

    summary, truth = planted
    model = seg.BehaviourClusters(k_range=(2, 6), random_state=0, max_customers=500).fit(summary)
    assert model.n_fitted_ == 500 and model.n_customers_ == len(summary)
    assert model.labels_.index.equals(summary.index) and model.labels_.notna().all()
    assert model.profiles_["customers"].sum() == len(summary)
    assert model.k_ == 4 and adjusted_rand_score(truth, model.labels_) >= 0.8
    shuffled = seg.BehaviourClusters(k_range=(2, 6), random_state=0, max_customers=500).fit(
        summary.sample(frac=1, random_state=9))
    assert model.labels_.equals(shuffled.labels_.reindex(model.labels_.index))   # row order does not matter
    other_seed = seg.BehaviourClusters(k_range=(2, 6), random_state=1, max_customers=500).fit(summary)
    assert other_seed.n_fitted_ == 500


def test_the_page_states_the_sample_in_english_and_korean():
    from crmlib.synthetic import make_synthetic

    tx = make_synthetic(n_customers=1500, groups=3, seed=11).transactions
    n = tx["customer_id"].nunique()
    full = seg.segment_customers(tx, "2011-12-31", random_state=5, max_training_customers=n)
    assert "sample" not in seg.clusters_text(full)
    sampled = seg.segment_customers(tx, "2011-12-31", random_state=5, max_training_customers=1000)
    assert sampled.clusters.n_fitted_ == 1000
    assert sampled.metrics()["customers"] == n == sampled.customers["cluster"].notna().sum()
    assert f"random sample of 1,000 of the {n:,} customers" in seg.clusters_text(sampled)
    with using_language("ko"):
        korean = seg.clusters_text(sampled)
    assert "1,000" in korean and "sample" not in korean


def test_the_customer_check_counts_distinct_known_ids_like_the_filtered_frame(tmp_path):
    from crmlib import schema
    from crmlib.core.context import RunContext
    from crmlib.errors import NotApplicableError

    (tmp_path / "workbook.yml").write_text("sources: []\n")
    ctx = RunContext.create("02_segmentation", as_of="2011-12-31", config_path=tmp_path / "workbook.yml",
                            artifacts_dir=tmp_path / "artifacts")
    no_table = pd.DataFrame()      # (an empty customer table: the count is the log's alone)
    log = _dirty_log(8)
    log.loc[log.index[:40], "customer_id"] = ""
    for ids in (log, log.astype({"customer_id": "str"}), log.assign(customer_id=log["customer_id"].str.len())):
        expected = int(schema.known_customers(ids)["customer_id"].nunique())
        assert ctx.require_customers(ids, minimum=1, customers=no_table) == expected > 0
    with pytest.raises(NotApplicableError):
        ctx.require_customers(log.assign(customer_id=""), minimum=1, customers=no_table)



def _summaries():
    from crmlib.synthetic import make_synthetic

    yield summaries.customer_summary(make_synthetic(n_customers=700, groups=3, seed=6).transactions, "2011-12-31")
    for log, as_of in list(_logs())[1:]:
        yield summaries.customer_summary(log.dropna(subset=["customer_id"]).fillna({"amount": 1.0}), as_of)
    rng = np.random.default_rng(0)   # heavy ties: few distinct values
    n = 3000
    yield pd.DataFrame({"recency_days": rng.integers(0, 5, n), "frequency": rng.integers(1, 4, n),
                        "monetary": rng.integers(1, 3, n) * 10.0, "tenure_days": rng.integers(0, 400, n),
                        "last_purchase": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
                        "previous_purchase": pd.Timestamp("2010-06-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")},
                       index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


CUSTOM_MAP = {"map": {"Top": {"r": "4-5", "f": "4-5", "m": "3-5"}, "Top low spend": {"r": "4-5", "f": "4-5", "m": "1-2"},
                      "Rest": {"r": "1-3"}, "Mid": {"r": "4-5", "f": "1-3"}}}


def test_scores_segments_tables_and_stages_equal_the_pandas_versions():
    for customers in _summaries():
        fast, reference = summaries.rfm_scores(customers), reference_rfm_scores(customers)
        pd.testing.assert_frame_equal(fast, reference)
        scored = customers.join(fast)
        for config in ({}, CUSTOM_MAP):
            segment_map = summaries.load_segment_map(config)
            segments = summaries.assign_segments(scored, segment_map)
            pd.testing.assert_series_equal(segments, reference_assign_segments(scored, segment_map))
            pd.testing.assert_series_equal(summaries.assign_segments(scored[["rfm_score"]], segment_map), segments)
            scored["segment"] = segments
            for by in ("segment", "r_score"):
                pd.testing.assert_frame_equal(seg.segment_table(scored, segment_map, by=by),
                                              reference_segment_table(scored, segment_map, by=by), rtol=1e-9)
        for days in ((30, 90, None), (60, 200, 10)):
            pd.testing.assert_series_equal(seg.lifecycle_stage(customers, active_days=days[0], lapsed_days=days[1],
                                                               new_days=days[2]),
                                           reference_lifecycle_stage(customers, active_days=days[0],
                                                                     lapsed_days=days[1], new_days=days[2]))


def test_the_artifact_writes_categories_as_text():
    from crmlib.synthetic import make_synthetic

    result = seg.segment_customers(make_synthetic(n_customers=300, groups=3, seed=2).transactions, "2011-12-31")
    artifact = result.artifact()
    for column in ("segment", "lifecycle_stage"):
        pd.testing.assert_series_equal(artifact[column], result.customers[column].astype("str").reset_index(drop=True))


def test_the_segment_list_download_equals_the_customer_by_customer_version():
    from crmlib.synthetic import make_synthetic
    from segmentation_reference import reference_segment_list

    for config in ({}, CUSTOM_MAP):
        result = seg.segment_customers(make_synthetic(n_customers=600, groups=3, seed=8).transactions, "2011-12-31",
                                       segments_config=config)
        fast, reference = seg.segment_list(result), reference_segment_list(result)
        pd.testing.assert_frame_equal(fast, reference, check_dtype=False)
        assert (fast.astype(str).to_numpy() == reference.astype(str).to_numpy()).all()
