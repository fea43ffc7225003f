"""Tests for crmlib.churn: no leakage, hand-computed metrics, planted drivers, both modes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib import datasets
from crmlib.synthetic import SyntheticData, make_synthetic
from crmlib.core import features
from crmlib.pages import churn
from crmlib.errors import ConfigError, DataError, NotApplicableError


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Transactions from (customer_id, date, amount) triples, one invoice per row."""
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"])
    frame["invoice_id"] = [f"I{i}" for i in range(len(frame))]
    frame["product_id"] = "P1"
    frame["quantity"] = 1.0
    frame["unit_price"] = frame["amount"]
    frame["country"] = "United Kingdom"
    return frame


@pytest.fixture(scope="module")
def synthetic() -> SyntheticData:
    # frequent buyers (about one purchase a fortnight) who rarely drop out, unless they had
    # service issues (30 % of customers): then a purchase is often their last
    return make_synthetic(n_customers=1500, start="2011-01-01", end="2011-12-31", r=10, alpha=20,
                                   a=1, b=100, churn_driver_effect=15, acquisition_share=0.8, seed=1)


# ------------------------------------------------------------------ leakage
def test_features_ignore_every_row_dated_at_or_after_the_cutoff(synthetic):
    tx = synthetic.transactions
    cutoff = pd.Timestamp("2011-09-01")
    before = features.purchase_features(tx, cutoff, customers=synthetic.customers)

    later = tx["invoice_date"] >= cutoff
    assert later.sum() > 1000  # the perturbation below really touches rows
    perturbed = tx.copy()
    perturbed.loc[later, "amount"] *= 7.5
    perturbed.loc[later, "quantity"] += 3
    perturbed.loc[later, "product_id"] = "NEW"
    perturbed.loc[later, "invoice_date"] += pd.Timedelta(days=11)
    extra = perturbed[later].head(200).assign(customer_id="999999", invoice_id="X1")  # new customer after cutoff
    on_cutoff = perturbed[~later].head(50).assign(invoice_date=cutoff)  # rows exactly at the cutoff
    perturbed = pd.concat([perturbed, extra, on_cutoff], ignore_index=True)

    after = features.purchase_features(perturbed, cutoff, customers=synthetic.customers)
    pd.testing.assert_frame_equal(before, after)
    assert before["recency_days"].min() >= 0


def test_labels_look_only_at_the_window_after_the_cutoff():
    tx = _tx([("a", "2011-01-10", 5), ("a", "2011-03-05", 5),   # buys inside the window
              ("b", "2011-01-20", 5), ("b", "2011-04-02", 5),   # first purchase after the window
              ("c", "2011-02-27", 5),                           # nothing after the cutoff
              ("d", "2011-03-01", 5)])                          # bought ON the cutoff: in the window
    y = features.churn_labels(tx, "2011-03-01", 30, pd.Index(["a", "b", "c", "d"]))
    assert y.to_dict() == {"a": 0, "b": 1, "c": 1, "d": 0}


def test_purchase_features_by_hand():
    tx = _tx([("a", "2011-01-01", 10), ("a", "2011-01-11", 30), ("a", "2011-01-31", 20),
              ("b", "2009-12-01", 50), ("a", "2011-02-05", 999)])
    f = features.purchase_features(tx, "2011-02-01", with_p_alive=False)
    assert list(f.index) == ["a"]  # recency is counted from the last day before the cutoff; b last bought more than 365 days before the cutoff
    a = f.loc["a"]
    assert a["recency_days"] == 0 and a["monetary"] == 60 and a["orders"] == 3
    assert a["gap_mean_days"] == 15 and a["gap_std_days"] == pytest.approx(np.std([10, 20], ddof=1))
    assert a["spend_last_90d"] == 60 and a["spend_prev_90d"] == 0 and a["spend_trend"] == 1


# ------------------------------------------------------------------ metrics by hand
def test_lift_table_on_twenty_rows_by_hand():
    score = np.arange(20, 0, -1)  # customer i has the (i+1)-th highest score
    y = np.zeros(20)
    y[[0, 1, 2, 5, 9, 19]] = 1      # 6 churners: deciles 1 (two), 2 (one), 3 (one), 5 (one), 10 (one)
    table = churn.lift_table(y, score)
    assert table["customers"].tolist() == [2] * 10
    assert table["churners"].tolist() == [2, 1, 1, 0, 1, 0, 0, 0, 0, 1]
    overall = 6 / 20
    assert table["lift"].iloc[0] == pytest.approx(1.0 / overall)          # 100 % vs 30 %
    assert table["lift"].iloc[1] == pytest.approx(0.5 / overall)
    assert table["cum_gain"].tolist() == pytest.approx([2 / 6, 3 / 6, 4 / 6, 4 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 6, 1])
    assert table["cum_customers_share"].iloc[2] == pytest.approx(0.3)
    assert churn.leavers_found(table, 0.2) == pytest.approx(3 / 6)  # "the riskiest 20 % hold half the leavers"


def test_lift_table_ranks_missing_scores_last():
    table = churn.lift_table([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [np.nan, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert table["churners"].iloc[0] == 1 and table["churners"].iloc[-1] == 1


def test_score_quality_confusion_and_threshold_by_hand():
    y = [0, 0, 1, 1]
    q = churn.score_quality(y, [0.1, 0.4, 0.35, 0.8])
    assert q["roc_auc"] == pytest.approx(0.75)              # 3 of the 4 churner/stayer pairs ordered right
    assert q["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)    # precision 1 at recall .5, 2/3 at recall 1
    c = churn.confusion_at(y, [False, True, True, True])
    assert (c["true_positive"], c["false_positive"], c["false_negative"], c["true_negative"]) == (2, 1, 0, 1)
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == 1.0
    # Youden's J = TPR - FPR: 0.5 at 0.8, 0.17 at 0.5, 0.67 at 0.4 (both churners, one stayer of three)
    assert churn.best_threshold([0, 0, 0, 1, 1], [0.1, 0.2, 0.5, 0.4, 0.8]) == pytest.approx(0.4)
    assert churn.score_quality([1, 1], [0.2, 0.3]) == {"roc_auc": None, "pr_auc": None}


def test_prior_correction_brings_probabilities_back_to_the_base_rate():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=4000)})
    y = pd.Series((rng.random(4000) < 1 / (1 + np.exp(-(X["x"] * 1.5 - 2.5)))).astype(int))
    model = churn.make_models(X)["logistic_regression"].fit(X, y)
    raw = model.estimator_.predict_proba(X)[:, 1]
    corrected = model.predict_proba(X)[:, 1]
    assert raw.mean() > 0.35                       # balanced weights inflate churn probabilities
    assert corrected.mean() == pytest.approx(y.mean(), abs=0.02)
    assert np.array_equal(np.argsort(raw), np.argsort(corrected))  # ranking unchanged


# ------------------------------------------------------------------ dirty values
def test_parse_flag_rules():
    s = pd.Series(["Yes", " no", "TRUE", "false", "1", "0", "", None, "n/a", "Y"])
    assert churn.parse_flag(s).tolist()[:6] == [1, 0, 1, 0, 1, 0]
    assert churn.parse_flag(s).iloc[6:9].isna().all() and churn.parse_flag(s).iloc[9] == 1
    assert churn.parse_flag(pd.Series(["예", "아니오", " 네 ", "아니요", "N"])).tolist() == [1, 0, 1, 0, 0]
    with pytest.raises(DataError, match="maybe"):
        churn.parse_flag(pd.Series(["yes", "maybe"]), "churned")


def test_an_unreadable_flag_names_the_file_and_the_column():
    raw = pd.DataFrame({"customer_id": ["1", "2"], "Churned": ["예", "아마"]})
    with pytest.raises(DataError) as err:
        churn.clean_customer_table(raw.rename(columns={"Churned": "churned"}), file="data/customers.xlsx")
    message = str(err.value)
    assert "data/customers.xlsx" in message and "'churned'" in message and "아마" in message
    table, _ = churn.clean_customer_table(pd.DataFrame({"customer_id": ["1", "2"], "churned": ["예", "아니오"]}))
    assert table["churned"].tolist() == [1.0, 0.0]


def test_clean_customer_table_rules():
    raw = pd.DataFrame({
        "Customer ID": ["1", "2", "3", "4"],
        "Email": ["a@x", "b@x", "c@x", "d@x"],
        "TotalCharges": ["10.5", " ", "1,200.0", "7"],
        "Partner": ["Yes", "No", "yes", ""],
        "Phone Service": ["Yes", "No", "No", "Yes"],
        "Contract": ["Month-to-month", "Two year", None, "One year"],
        "Churn": ["Yes", "No", "1", "false"],
    })
    table, notes = churn.clean_customer_table(raw.rename(columns={"Churn": "churned"}))
    assert "email" not in table.columns
    assert table["phone_service"].tolist() == [1.0, 0.0, 0.0, 1.0]  # a service flag, not a phone number
    assert table["totalcharges"].tolist()[0] == 10.5 and np.isnan(table["totalcharges"].iloc[1])
    assert table["totalcharges"].iloc[2] == 1200.0
    assert table["partner"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(table["partner"].iloc[3])
    assert table["contract"].tolist() == ["Month-to-month", "Two year", "missing", "One year"]
    assert table["churned"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert any("totalcharges" in n and "1 blank" in n for n in notes)


# ------------------------------------------------------------------ targets and modes
def test_retention_targets_rank_by_value_and_hold_out_a_seeded_control_group():
    rng = np.random.default_rng(3)
    scores = pd.DataFrame({"customer_id": [str(i) for i in range(1000)],
                           "churn_probability": rng.random(1000),
                           "value_at_risk": rng.gamma(2, 50, 1000)})
    scores["risk_tier"] = churn.risk_tier(scores["churn_probability"]).to_numpy()
    t1 = churn.retention_targets(scores, threshold=0.3, control_share=0.1, seed=5)
    t2 = churn.retention_targets(scores, threshold=0.3, control_share=0.1, seed=5)
    pd.testing.assert_frame_equal(t1, t2)
    assert (t1["churn_probability"] >= 0.3).all() and len(t1) == (scores["churn_probability"] >= 0.3).sum()
    assert t1["value_at_risk"].is_monotonic_decreasing and t1["rank"].tolist() == list(range(1, len(t1) + 1))
    share = t1.groupby("risk_tier")["group"].apply(lambda g: (g == "control").mean())
    assert share.between(0.09, 0.11).all()
    t3 = churn.retention_targets(scores, threshold=0.3, control_share=0.1, seed=6)
    assert not t1["group"].equals(t3["group"])
    with pytest.raises(ConfigError):
        churn.retention_targets(scores, threshold=0.3, control_share=1.5)


def test_choose_mode():
    table = pd.DataFrame({"customer_id": ["1"], "Churned": ["yes"]})
    assert churn.choose_mode("auto", table) == "customer_table"
    assert churn.choose_mode("auto", table.drop(columns="Churned")) == "transactions"
    assert churn.choose_mode("auto", None) == "transactions"
    with pytest.raises(ConfigError):
        churn.choose_mode("customer_table", None)
    with pytest.raises(ConfigError):
        churn.choose_mode("contract", table)


@pytest.fixture(scope="module")
def driver_run(synthetic) -> churn.ChurnResult:
    return churn.run_churn(synthetic.transactions, "2011-12-31", customers=synthetic.customers,
                           mode="transactions", churn_window_days=60, active_days=60, seed=0)


def test_transactions_mode_checks_the_activity_model_one_window_back_and_beats_recency(driver_run):
    m = driver_run.metrics()
    assert m["mode"] == "transactions" and m["chosen_model"] == churn.ACTIVITY
    assert m["cutoffs"] == {"train": "2011-09-03", "evaluation": "2011-11-02", "scoring": "2012-01-01"}
    assert m["roc_auc"] > m["baselines"]["recency"]["roc_auc"]
    assert m["top_drivers"] and driver_run.drivers["importance"].iloc[0] > 0  # churn labels, churn direction
    assert 0.2 < m["leavers_found_top20"] <= 1
    assert set(m) >= {"mode", "chosen_model", "roc_auc", "pr_auc", "baselines", "churn_rate", "top_drivers", "warnings"}
    assert "better than" in churn.quality_text(driver_run)


def test_model_table_compares_every_method_on_the_same_measures(driver_run):
    table = churn.model_table(driver_run)
    assert len(table) == 2  # the activity model and the recency rule
    assert table[["ROC-AUC", "PR-AUC", "top-decile lift"]].notna().all().all()
    chosen = table[table["method"].str.endswith("(chosen)")].iloc[0]
    assert chosen["top-decile lift"] == round(float(driver_run.lift["lift"].iloc[0]), 3)
    shown = churn.methods_table(driver_run).to_frame()
    assert list(shown["Method"]) == ["The model", "Simple rule: longest since the last purchase"]


def test_scores_cover_active_customers_and_value_at_risk_falls_back_to_spend(driver_run, synthetic):
    scores = driver_run.scores
    tx = synthetic.transactions
    recent = tx.loc[tx["invoice_date"] >= pd.Timestamp("2012-01-01") - pd.Timedelta(days=60), "customer_id"]
    assert set(scores["customer_id"]) == set(recent.dropna().astype(str))
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["risk_tier"]) <= {"low", "medium", "high"}
    assert np.allclose(scores["value_at_risk"], scores["churn_probability"] * scores["value"])
    assert driver_run.value_basis == churn.SPEND_BASIS
    assert any("value page" in w for w in driver_run.warnings)
    assert (driver_run.targets["churn_probability"] >= driver_run.threshold).all()


@pytest.fixture(scope="module")
def small():
    return make_synthetic(n_customers=400, start="2011-01-01", end="2011-12-31", r=10, alpha=20,
                                   a=1, b=100, churn_driver_effect=15, acquisition_share=0.8, seed=2)


def test_scores_are_the_value_pages_state_and_runs_repeat_exactly(small):
    ids = pd.Index(small.transactions["customer_id"].dropna().astype(str).unique())
    rng = np.random.default_rng(0)
    clv = pd.DataFrame({"customer_id": ids, "p_alive": rng.uniform(0.05, 0.95, len(ids)),
                        "clv": rng.gamma(2.0, 50.0, len(ids))})
    runs = [churn.run_churn(small.transactions, "2011-12-31", clv=clv, mode="transactions",
                            churn_window_days=60, active_days=60) for _ in range(2)]
    scores = runs[0].scores.set_index("customer_id")
    state = clv.set_index("customer_id").reindex(scores.index)
    assert runs[0].value_basis == churn.CLV_BASIS
    assert np.allclose(scores["churn_probability"], 1 - state["p_alive"])  # no second model for the same window
    assert np.allclose(scores["value_at_risk"], (1 - state["p_alive"]) * state["clv"])
    assert not any("value page" in w for w in runs[0].warnings)
    pd.testing.assert_frame_equal(runs[0].targets, runs[1].targets)  # same data + parameters => same numbers
    assert runs[0].metrics()["roc_auc"] == runs[1].metrics()["roc_auc"]
    download = churn.retention_download(runs[0])
    assert len(download) == len(runs[0].targets) and set(download["group"]) <= {"target", "control"}


def test_transactions_mode_reads_no_row_after_the_analysis_date(small):
    tx = small.transactions
    as_of = pd.Timestamp("2011-11-30")
    later = tx["invoice_date"] >= as_of + pd.Timedelta(days=1)
    assert later.sum() > 100
    perturbed = tx.copy()
    perturbed.loc[later, "amount"] *= 9
    perturbed.loc[later, "customer_id"] = perturbed.loc[later, "customer_id"].sample(frac=1, random_state=0).to_numpy()
    a, b = (churn.run_churn(frame, as_of, mode="transactions", churn_window_days=60, active_days=60)
            for frame in (tx, perturbed))
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert a.metrics()["roc_auc"] == b.metrics()["roc_auc"]


@pytest.mark.skipif(not hasattr(datasets, "make_subscription_table"), reason="generator not available")
def test_subscription_mode_on_a_generated_customer_table():
    table = datasets.make_subscription_table(2000, seed=0)
    assert (table["total_charges"] == " ").any()  # the dirt this mode must handle
    result = churn.run_churn(None, "2011-11-30", customers=table, mode="auto", seed=0)
    m = result.metrics()
    assert m["mode"] == "customer_table"
    assert m["roc_auc"] > 0.75
    assert m["roc_auc"] > m["baselines"]["tenure"]["roc_auc"]
    assert m["baselines"]["recency"]["roc_auc"] is None
    assert "contract" in m["top_drivers"][:2]
    assert result.drivers.loc[result.drivers["feature"] == "contract", "direction"].iloc[0] == "riskiest: Month-to-month"
    # only current subscribers are scored; value at risk from 12 x monthly charges
    current = table.loc[table["churned"].str.strip().str.lower() == "no", "customer_id"]
    assert set(result.scores["customer_id"]) == set(current)
    assert result.value_basis == "12 x monthly_charges"
    assert (result.targets["group"] == "control").sum() > 0


def test_too_little_history_is_not_applicable_rather_than_a_failure():
    # two months of data cannot hold a 90-day training window and a 90-day evaluation window
    tx = _tx([(f"c{i}", f"2010-12-{1 + i % 28:02d}", 10.0) for i in range(60)]
             + [(f"c{i}", f"2011-01-{1 + i % 28:02d}", 12.0) for i in range(0, 60, 2)])
    with pytest.raises(NotApplicableError, match="90-day window.*data start 2010-12-01"):
        churn.run_churn(tx, pd.Timestamp("2011-01-31"), churn_window_days=90)


def test_segment_feature_follows_the_configured_segment_map(synthetic):
    from crmlib.core import summaries as segmentation

    cutoff = pd.Timestamp("2011-09-01")
    one_segment = segmentation.load_segment_map({"map": {"Everyone": {"action": "treat alike"}}})
    custom = features.purchase_features(synthetic.transactions, cutoff, with_p_alive=False, segment_map=one_segment)
    default = features.purchase_features(synthetic.transactions, cutoff, with_p_alive=False)
    assert set(custom["segment"]) == {"Everyone"}
    assert default["segment"].nunique() > 3
