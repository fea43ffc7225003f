"""Models that scale by design (issue 17): training on a seeded, stratified customer sample
above ``max_customers``, scores for every customer, the page saying so; BTYD fits on the
unique (frequency, recency, T) rows with weights give the per-customer fit's parameters.

A small limit (a few hundred customers) on the tests' synthetic logs makes the sample
kick in; ``max_customers=None`` is the path without any sampling (the code before the
sample existed), which every result at or under the limit must equal exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from crmlib import datasets
from crmlib.synthetic import SyntheticData, make_synthetic
from crmlib.core import btyd, value
from crmlib.core.activity import ActivityModel
from crmlib.core.i18n import using_language
from crmlib.core.summaries import btyd_summary
from crmlib.pages import churn, clv
from crmlib.pages.churn.evaluation import explain_drivers

AS_OF = pd.Timestamp("2011-12-31")
LIMIT = 150


@pytest.fixture(scope="module")
def log() -> SyntheticData:
    return make_synthetic(n_customers=400, start="2011-01-01", end="2011-12-31", r=10, alpha=20,
                                   a=1, b=100, churn_driver_effect=15, acquisition_share=0.8, seed=2)


# ------------------------------------------------------------------ the activity model
def test_activity_model_trains_on_a_stratified_sample_and_scores_everyone(log):
    full = ActivityModel(60, use_btyd="never", max_customers=None).fit(log.transactions, AS_OF)
    sampled = ActivityModel(60, use_btyd="never", max_customers=LIMIT).fit(log.transactions, AS_OF)
    assert full.n_train_ == full.n_customers_ > LIMIT
    assert sampled.n_train_ == LIMIT and sampled.n_customers_ == full.n_customers_
    assert sampled.p_alive_.index.equals(full.p_alive_.index)  # every customer scored
    assert sampled.p_alive_.notna().all() and not np.allclose(sampled.p_alive_, full.p_alive_)
    # stratified: the sample keeps the buyers' share (largest-remainder rounding: within one customer)
    X = sampled.features(log.transactions, sampled.train_cutoff_)
    assert len(X) == sampled.n_customers_
    rows = sampled._training_sample(X, np.r_[np.ones(60), np.zeros(len(X) - 60)].astype(int))[1]
    assert len(rows) == LIMIT and abs(rows.sum() - LIMIT * 60 / len(X)) < 1
    assert sampled.summary()["training_customers"] == LIMIT


def test_under_the_limit_the_activity_model_is_exactly_the_unsampled_one(log):
    a = ActivityModel(60, max_customers=None).fit(log.transactions, AS_OF)
    b = ActivityModel(60).fit(log.transactions, AS_OF)  # default limit 50,000 > 400 customers
    pd.testing.assert_series_equal(a.p_alive_, b.p_alive_)
    assert a.cv_roc_auc_ == b.cv_roc_auc_ and a.n_train_ == b.n_train_ == b.n_customers_


# ------------------------------------------------------------------ value candidates
def test_spend_models_train_on_a_sample_of_the_stacked_rows_and_forecast_everyone(log):
    full = value.forecast_candidates(log.transactions, "2011-09-30", candidates=("spend_gbm", "hurdle"),
                                     window_days=60, max_customers=None)
    sampled = value.forecast_candidates(log.transactions, "2011-09-30", candidates=("spend_gbm", "hurdle"),
                                        window_days=60, max_customers=LIMIT)
    assert full.train_rows == full.train_rows_total > 2 * LIMIT
    assert sampled.train_rows == 2 * LIMIT and sampled.train_rows_total == full.train_rows_total
    assert sampled.forecasts.index.equals(full.forecasts.index)
    assert sampled.forecasts.notna().all().all()
    assert sampled.activity.n_train_ == LIMIT


def test_value_page_states_the_sample_and_values_everyone(log):
    full = clv.run_value(log.transactions, AS_OF, window_days=60, max_customers=None)
    page = clv.run_value(log.transactions, AS_OF, window_days=60, max_customers=LIMIT)
    assert page.table["customer_id"].tolist() == full.table["customer_id"].tolist()
    assert page.table["clv"].notna().all()
    m = page.metrics()
    assert m["training_customers"] == LIMIT and m["customers_scored"] == len(full.table)
    text = clv.values_text(page)
    assert f"random sample of {LIMIT} of the {page.activity.n_customers_} customers" in text
    assert "the scores cover every customer" in text
    with using_language("ko"):
        assert "무작위로 뽑은 150명" in clv.values_text(page)
    assert "random sample" not in clv.values_text(full) and full.metrics()["training_customers"] == \
        full.activity.n_customers_


def test_under_the_limit_the_value_page_is_exactly_the_unsampled_one(log):
    a = clv.run_value(log.transactions, AS_OF, window_days=60, max_customers=None)
    b = clv.run_value(log.transactions, AS_OF, window_days=60)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.values.backtest.table, b.values.backtest.table)


# ------------------------------------------------------------------ churn page
def test_churn_page_trains_and_explains_on_a_sample_and_scores_every_active_customer(log):
    kwargs = dict(mode="transactions", churn_window_days=60, active_days=60, seed=0)
    full = churn.run_churn(log.transactions, AS_OF, max_customers=None, **kwargs)
    sampled = churn.run_churn(log.transactions, AS_OF, max_customers=LIMIT, **kwargs)
    assert set(sampled.scores["customer_id"]) == set(full.scores["customer_id"])
    m = sampled.metrics()
    assert m["training_customers"] == LIMIT == m["train_customers"]
    assert m["customers_scored"] == len(full.scores)
    assert m["eval_customers"] == full.metrics()["eval_customers"]  # the check scores everyone
    assert f"random sample of {LIMIT} of the" in churn.quality_text(sampled)
    assert "random sample" not in churn.quality_text(full) and full.metrics()["training_sample"] == ""
    a = churn.run_churn(log.transactions, AS_OF, **kwargs)
    pd.testing.assert_frame_equal(a.scores, full.scores)
    pd.testing.assert_frame_equal(a.drivers.drop(columns="sentence"), full.drivers.drop(columns="sentence"))


def test_permutation_importance_on_a_sample_keeps_every_feature_and_full_data_bins():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"signal": rng.normal(size=2000), "noise": rng.normal(size=2000)})
    y = pd.Series((X["signal"] + rng.normal(scale=0.5, size=2000) > 0).astype(int))

    class Score(ClassifierMixin, BaseEstimator):  # a fitted "model": churn probability rises with the signal
        classes_ = np.array([0, 1])

        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-X["signal"].to_numpy()))
            return np.column_stack([1 - p, p])

    table = explain_drivers(Score(), X, y, max_customers=300, top=2)
    assert list(table["feature"]) == ["signal", "noise"] and table["importance"].iloc[0] > 0.2
    full = explain_drivers(Score(), X, y, max_customers=None, top=2)
    assert table.set_index("feature")["high_rate"].equals(full.set_index("feature")["high_rate"])  # bins: everyone


@pytest.mark.skipif(not hasattr(datasets, "make_subscription_table"), reason="generator not available")
def test_subscription_mode_scores_every_current_customer_out_of_sample():
    table = datasets.make_subscription_table(2000, seed=0)
    sampled = churn.run_churn(None, "2011-11-30", customers=table, mode="auto", seed=0, max_customers=600)
    full = churn.run_churn(None, "2011-11-30", customers=table, mode="auto", seed=0, max_customers=None)
    assert set(sampled.scores["customer_id"]) == set(full.scores["customer_id"])
    assert sampled.scores["churn_probability"].notna().all()
    assert sampled.train_customers == 600 and sampled.train_window_customers == full.train_customers
    assert "random sample of 600 of the 1,500 customers" in churn.quality_text(sampled)


# ------------------------------------------------------------------ BTYD on unique rows
@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd"])
def test_btyd_fit_on_weighted_unique_rows_has_the_per_customer_fits_parameters(log, model):
    summary = btyd_summary(log.transactions, AS_OF)
    compressed = btyd.fit_model(summary, model)
    plain = btyd.fit_model(summary, model, compress=False)
    assert len(btyd.compress_summary(summary)) < len(summary)  # the compression is real
    assert compressed.converged and plain.converged
    for name, v in plain.params.items():
        assert compressed.params[name] == pytest.approx(v, rel=1e-3), name
    assert compressed.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-6)


def test_btyd_fallback_fit_on_a_sample_predicts_for_every_customer(log):
    summary = btyd_summary(log.transactions, AS_OF)
    full = btyd.fit_with_fallback(log.transactions, AS_OF, "bgnbd")
    sampled = btyd.fit_with_fallback(log.transactions, AS_OF, "bgnbd", max_customers=LIMIT)
    assert sampled.usable and sampled.summary.index.equals(summary.index)
    assert sampled.expected_purchases(13.0).notna().all() and sampled.params != full.params
    same = btyd.fit_with_fallback(log.transactions, AS_OF, "bgnbd", max_customers=len(summary))
    assert same.params == full.params
    spend = btyd.fit_spend(summary, max_customers=LIMIT)
    assert spend.n_customers == int((summary["frequency"] > 0).sum()) and spend.converged
