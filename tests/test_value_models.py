"""Tests of crmlib.core.activity and crmlib.core.value (issue 12: credible customer value).

Small synthetic logs with known drop-out (crmlib.synthetic.make_synthetic: BG/NBD buying,
here r=2, alpha=10 -> about one purchase every five weeks, and a, b = 2, 6 -> a quarter
of customers drop out after each repeat purchase), so the truth is known.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from crmlib.synthetic import SyntheticData, make_synthetic
from crmlib.core import value
from crmlib.core.activity import ActivityModel

AS_OF = pd.Timestamp("2011-12-31")


def dropout_data(n: int, seed: int, start: str = "2010-07-01") -> SyntheticData:
    return make_synthetic(n, start=start, end=str(AS_OF.date()), r=2.0, alpha=10.0, a=2.0, b=6.0,
                                   planted_pairs=0, lines_per_invoice=1.0, seed=seed)


@pytest.fixture(scope="module")
def synthetic() -> SyntheticData:
    return dropout_data(1200, seed=1)


@pytest.fixture(scope="module")
def values(synthetic) -> value.CustomerValues:
    return value.fit_customer_values(synthetic.transactions, AS_OF, candidates=("bgnbd_gg", "spend_gbm", "hurdle",
                                                                                "last_period", "average_per_period"))


# ------------------------------------------------------------------ activity
@pytest.mark.parametrize("use_btyd", ["never", "auto"])
def test_activity_probability_recovers_the_true_alive_state(synthetic, use_btyd):
    model = ActivityModel(90, use_btyd=use_btyd).fit(synthetic.transactions, AS_OF)
    alive = synthetic.truth.alive_at(AS_OF)
    alive.index = alive.index.astype(str)
    truth = alive.reindex(model.p_alive_.index)
    assert truth.notna().all() and 0.05 < truth.mean() < 0.95
    assert roc_auc_score(truth.astype(int), model.p_alive_) >= 0.7
    assert model.p_alive_.between(0, 1).all()
    assert model.p_alive_.quantile(0.9) - model.p_alive_.quantile(0.1) > 0.1  # never a constant
    if use_btyd == "never":
        assert model.source_ == "classifier"
    assert model.source_ in model.note_ or "classifier" in model.note_


def test_activity_uses_the_classifier_when_btyd_finds_no_dropout():
    rng = np.random.default_rng(7)
    n, start, days = 400, pd.Timestamp("2020-01-01"), 365
    birth = rng.integers(0, 180, n)
    counts = rng.poisson(rng.gamma(2.0, 1 / 30.0, n) * (days - birth))
    cust = np.r_[np.arange(n), np.repeat(np.arange(n), counts)]
    day = np.r_[birth, np.repeat(birth, counts) + rng.uniform(0, 1, counts.sum()) * np.repeat(days - birth, counts)]
    tx = pd.DataFrame({"customer_id": [f"c{i}" for i in cust], "invoice_id": [f"i{k}" for k in range(len(cust))],
                       "invoice_date": start + pd.to_timedelta(np.floor(day), unit="D"),
                       "amount": rng.gamma(5.0, 10.0, len(cust))})
    model = ActivityModel(60).fit(tx, start + pd.Timedelta(days=days))
    assert model.source_ == "classifier"
    assert model.btyd_["reason"]  # why BTYD was not used, in words
    assert model.p_alive_.nunique() > 10


# ------------------------------------------------------------------ leakage
def test_a_cutoffs_forecast_ignores_every_row_after_it(synthetic):
    tx = synthetic.transactions
    cutoff = pd.Timestamp("2011-09-30")
    before = value.forecast_candidates(tx, cutoff, 91, candidates=("bgnbd_gg", "spend_gbm", "hurdle",
                                                                    "last_period", "average_per_period"))
    later = tx["invoice_date"] >= cutoff + pd.Timedelta(days=1)
    assert later.sum() > 500
    perturbed = tx.copy()
    perturbed.loc[later, "amount"] *= 10
    perturbed.loc[later, "customer_id"] = perturbed.loc[later, "customer_id"].sample(frac=1, random_state=0).to_numpy()
    extra = tx[later].head(50).assign(customer_id="new-after-cutoff", invoice_id="X")
    perturbed = pd.concat([perturbed, extra], ignore_index=True)
    after = value.forecast_candidates(perturbed, cutoff, 91, candidates=("bgnbd_gg", "spend_gbm", "hurdle",
                                                                         "last_period", "average_per_period"))
    pd.testing.assert_frame_equal(before.forecasts, after.forecasts)
    pd.testing.assert_series_equal(before.p_alive, after.p_alive)


# ------------------------------------------------------------------ metrics and backtest
def test_decile_table_sums_to_the_totals_and_matches_top_decile_capture():
    rng = np.random.default_rng(0)
    actual = rng.gamma(0.5, 100.0, 537) * (rng.random(537) < 0.6)
    predicted = actual * rng.lognormal(0, 1, 537) + rng.random(537)
    table = value.decile_table(actual, predicted)
    assert len(table) == 10 and table["customers"].sum() == 537
    assert table["actual"].sum() == pytest.approx(actual.sum())
    assert table["predicted"].sum() == pytest.approx(predicted.sum())
    n_top = int(np.ceil(0.1 * 537))
    top = np.argsort(-predicted, kind="stable")[:n_top]
    assert value.top_decile_capture(actual, predicted) == pytest.approx(actual[top].sum() / actual.sum())
    assert value.normalised_gini(actual, actual) == pytest.approx(1.0)
    assert abs(value.normalised_gini(actual, np.ones_like(actual))) < 1e-9  # no ranking at all


def test_backtest_reports_every_candidate_and_its_deciles_add_up(values):
    bt = values.backtest
    assert len(bt.cutoffs) == 2  # 18 months of history allow two quarterly cutoffs
    assert set(bt.table["candidate"]) >= {"spend_gbm", "hurdle", "last_period", "average_per_period"}
    for (cutoff, name), deciles in bt.deciles.items():
        row = bt.table[(bt.table["cutoff"] == cutoff) & (bt.table["candidate"] == name)].iloc[0]
        assert deciles["actual"].sum() == pytest.approx(row["actual_total"])
        assert deciles["predicted"].sum() == pytest.approx(row["predicted_total"])
    assert bt.chosen == value.choose_candidate(bt.table)
    assert len(bt.seasonality) == 2 and "peak" in bt.seasonality


def test_selection_rule_prefers_a_model_unless_a_baseline_clearly_beats_it():
    def table(rows):
        return pd.DataFrame(rows, columns=["candidate", "top_decile_capture", "spearman", "clean"])

    # within the tie band on capture: the higher Spearman wins
    assert value.choose_candidate(table([("hurdle", 0.570, 0.52, True), ("spend_gbm", 0.575, 0.50, True)])) == "hurdle"
    # a BTYD fit with parameters at bounds does not qualify
    assert value.choose_candidate(table([("pareto_nbd_gg", 0.60, 0.60, False), ("hurdle", 0.55, 0.5, True)])) \
        == "hurdle"
    # a naive baseline as good as the model does not replace it ...
    assert value.choose_candidate(table([("hurdle", 0.57, 0.52, True), ("average_per_period", 0.575, 0.51, True)])) \
        == "hurdle"
    # ... one clearly better on both does
    assert value.choose_candidate(table([("hurdle", 0.50, 0.40, True), ("last_period", 0.60, 0.50, True)])) \
        == "last_period"


# ------------------------------------------------------------------ the table, guards, what-if
def test_value_table_has_exactly_the_contract_columns(values, synthetic):
    table = values.table
    assert list(table.columns) == value.VALUE_COLUMNS
    seen = synthetic.transactions["customer_id"].dropna().astype(str).unique()
    assert set(table["customer_id"]) == set(seen)
    assert table["p_alive"].between(0, 1).all() and table["p_alive"].nunique() > 10
    assert (table["clv"] >= 0).all() and table["clv"].sum() > 0
    assert (table["value_model"] == values.chosen).all()
    if values.chosen in value.BTYD_CANDIDATES:
        assert table["expected_purchases"].notna().all()
    else:
        assert table["expected_purchases"].isna().all()
    assert list(table["clv_tier"].cat.categories) == ["top 1%", "next 4%", "next 15%", "rest"]
    assert table["clv_tier"].cat.ordered
    assert "Validated: 91-day" in values.horizon_text


def test_retention_what_if_is_non_zero_wherever_p_alive_is_below_one(values):
    table = values.table
    assert (table["p_alive"] < 1).any()
    what_if = value.retention_what_if(table, (0.01, 0.05, 0.10))
    assert (what_if["gain"] > 0).all()
    assert what_if["gain"].is_monotonic_increasing
    one = table.iloc[[int(np.argmin(table["p_alive"]))]]
    assert value.retention_what_if(one, (0.05,))["gain"].iloc[0] > 0
    assert value.retention_what_if(one.assign(p_alive=1.0), (0.05,))["gain"].iloc[0] == 0


def test_low_history_customers_in_top_tiers_get_a_recorded_reason(values, synthetic):
    tx = synthetic.transactions.assign(customer_id=synthetic.transactions["customer_id"].astype(str))
    history = tx.groupby("customer_id")["amount"].sum()
    # a real run records every top-tier customer with a tiny history
    pd.testing.assert_frame_equal(values.value_notes, value.low_history_guard(values.table, history))
    table = values.table.copy()
    tiny = table.index[table["clv_tier"].astype(str) == "rest"][:3]
    ids = table.loc[tiny, "customer_id"]
    history.loc[ids] = 2.90
    assert not set(value.low_history_guard(table, history)["customer_id"]) & set(ids)  # rest tier: no note
    table.loc[tiny, "clv_tier"] = "top 1%"
    notes = value.low_history_guard(table, history).set_index("customer_id")
    assert set(ids) <= set(notes.index)
    assert notes.loc[ids, "value_note"].str.contains("2.90").all()


def test_forecast_to_past_ratio_by_segment(values, synthetic):
    table = values.table
    segment = pd.Series(np.where(table["p_alive"] > 0.5, "likely active", "likely lapsed"),
                        index=table["customer_id"])
    past = value.past_spend(synthetic.transactions, AS_OF)
    ratio = value.forecast_to_past_ratio(table, segment, past)
    assert set(ratio.index) == {"likely active", "likely lapsed"}
    assert ratio["customers"].sum() == len(table)
    assert ratio["forecast"].sum() == pytest.approx(table["clv"].sum())
    assert ratio["past_spend"].sum() == pytest.approx(past.reindex(table["customer_id"]).fillna(0).sum())
    by_column = value.forecast_to_past_ratio(table.assign(seg=segment.to_numpy()), "seg", past)
    pd.testing.assert_frame_equal(ratio, by_column)
