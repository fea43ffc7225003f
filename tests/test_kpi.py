"""Period KPIs: identities on hand-made data, statelessness, and the summary's words."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.core.formatting import format_date, format_money, format_period
from crmlib.core.kpis import format_kpi_change
from crmlib.core.pages import Page, load_pages
from crmlib.pages import basket, churn, clv, data_cleaning
from crmlib.pages import summary as kpi
from crmlib.errors import DataError
from crmlib.core import layout


def _tx(rows):
    """rows: (customer_id or None, invoice_id, date, amount)."""
    f = pd.DataFrame(rows, columns=["customer_id", "invoice_id", "invoice_date", "amount"])
    f["invoice_date"] = pd.to_datetime(f["invoice_date"])
    return f


@pytest.fixture
def hand_made():
    # Churn window 40 days (longer than a month), months Jan..Apr 2011.
    return _tx([
        ("A", "1", "2011-01-05", 100.0),   # A: Jan, Feb (retained), gone after Feb -> lost in Mar/Apr
        ("A", "2", "2011-02-10", 50.0),
        ("B", "3", "2011-01-10", 10.0),    # B: Jan, then back in Apr -> reactivated in Apr
        ("B", "4", "2011-04-15", 30.0),
        ("B", "5", "2011-04-16", 30.0),    # two orders in Apr -> repeat purchaser
        ("C", "6", "2011-03-01", 200.0),   # C: new in Mar
        (None, "7", "2011-03-02", 1000.0), # anonymous sale: revenue only
        ("", "8", "2011-04-02", 5.0),      # blank id counts as anonymous
    ])


def test_hand_made_counts_and_identities(hand_made):
    k = kpi.period_kpis(hand_made, "2011-04-30", n_periods=4, churn_window_days=40)
    assert list(k.index) == ["2011-01", "2011-02", "2011-03", "2011-04"]
    assert k["active_customers"].tolist() == [2, 1, 1, 1]
    assert k["new_customers"].tolist() == [2, 0, 1, 0]
    assert k["reactivated_customers"].tolist() == [0, 0, 0, 1]
    # Live on 31 Jan: A, B; 28 Feb: A (B lost); 31 Mar: C (A lost); 30 Apr: B (C lost).
    assert k["customers_at_start"].tolist() == [0, 2, 1, 1]
    assert k["lost_customers"].tolist() == [0, 1, 1, 1]
    assert k.loc["2011-02", "retention_rate"] == pytest.approx(0.5)
    assert k.loc["2011-03", "revenue"] == 1200.0          # anonymous line included
    assert k.loc["2011-03", "identified_revenue"] == 200.0
    assert k.loc["2011-04", "revenue"] == 65.0
    assert k.loc["2011-04", "orders"] == 3
    assert k.loc["2011-04", "repeat_purchase_rate"] == 1.0
    assert k.loc["2011-04", "purchase_frequency"] == 2.0
    # Identities (module docstring, assumptions 5, 7, 8).
    assert (k["new_customers"] + k["returning_customers"] == k["active_customers"]).all()
    assert (k["reactivated_customers"] <= k["returning_customers"]).all()
    rated = k["customers_at_start"] > 0
    assert np.allclose(k.loc[rated, "retention_rate"],
                       1 - k.loc[rated, "lost_customers"] / k.loc[rated, "customers_at_start"])
    flow = k["customers_at_start"] - k["lost_customers"] + k["new_customers"] + k["reactivated_customers"]
    assert (flow == k["live_customers"]).all()


def _random_log(seed=0, customers=300, days=500):
    rng = np.random.default_rng(seed)
    n = 4000
    cust = rng.integers(0, customers, n).astype(str).astype(object)
    cust[rng.random(n) < 0.1] = None
    return _tx(list(zip(
        cust, rng.integers(0, 2500, n).astype(str),
        pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, days, n), unit="D"),
        rng.gamma(2, 20, n),
    )))


def test_identities_on_random_log():
    k = kpi.period_kpis(_random_log(), "2011-05-14", churn_window_days=60).dropna(how="all")
    assert (k["new_customers"] + k["returning_customers"] == k["active_customers"]).all()
    assert (k["reactivated_customers"] <= k["returning_customers"]).all()
    ok = k["customers_at_start"] > 0
    assert np.allclose(k.loc[ok, "retention_rate"], 1 - k.loc[ok, "lost_customers"] / k.loc[ok, "customers_at_start"])
    flow = k["customers_at_start"] - k["lost_customers"] + k["new_customers"] + k["reactivated_customers"]
    assert (flow == k["live_customers"]).all()
    assert ((k["top20_revenue_share"] >= 0.2) & (k["top20_revenue_share"] <= 1)).all()


def test_backfill_equals_single_period_run():
    log = _random_log(seed=1)
    log["invoice_date"] = log["invoice_date"].astype("datetime64[us]")  # as read from Parquet
    trend = kpi.period_kpis(log, "2011-05-14", n_periods=13)
    for period in ["2010-08", "2011-01", "2011-04"]:
        end = pd.Period(period, "M").end_time.normalize()
        # run "live" at the end of that month, with only the data known then
        live = kpi.period_kpis(log[log["invoice_date"] <= end + pd.Timedelta(hours=23)], end, n_periods=1)
        # and with the whole log but as_of = end of the month
        later = kpi.period_kpis(log, end, n_periods=3)
        pd.testing.assert_series_equal(live.loc[period], trend.loc[period])
        pd.testing.assert_series_equal(later.loc[period], trend.loc[period])


def test_partial_last_month_and_empty_early_periods(hand_made):
    k = kpi.period_kpis(hand_made, "2011-04-15", n_periods=5, churn_window_days=40)
    assert k.loc["2011-04", "orders"] == 2            # 16 Apr is after as_of
    assert k.loc["2010-12"].isna().all()              # before the data begin
    c = kpi.compare_periods(k)
    assert np.isnan(c.loc["revenue", "change_vs_year"])
    assert c.loc["revenue", "change_vs_previous"] == pytest.approx((35 - 1200) / 1200)
    assert c.loc["retention_rate", "change_vs_previous"] == pytest.approx(0.0)  # points, not relative
    notes = kpi.history_warnings(hand_made, k, churn_window_days=40, as_of="2011-04-15")
    assert notes[0].startswith("Apr 2011 is counted only up to 15 Apr 2011")
    assert not any("No data for" in n for n in notes)  # before the data begin: the year-ago note says so once
    gap = kpi.history_warnings(hand_made, k.where(pd.Series(k.index != "2011-02", index=k.index), axis=0),
                               churn_window_days=40)
    assert any("No data for Feb 2011" in n for n in gap)  # a month without data after the start is a caveat
    assert any("in Jan 2011, Feb 2011 customers" in n for n in notes)


def test_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="amount"):
        kpi.period_kpis(pd.DataFrame({"customer_id": [], "invoice_id": [], "invoice_date": []}), "2011-01-31")


def test_long_form_and_metrics(hand_made):
    k = kpi.set_customer_equity(kpi.period_kpis(hand_made, "2011-04-30", n_periods=4, churn_window_days=40),
                                {"customer_equity": 1234.5, "period": "2011-04"})
    long = kpi.kpis_long(k)
    assert list(long.columns) == ["period", "kpi", "value"]
    assert len(long) == 4 * len(kpi.KPI_KINDS)
    assert long.query("kpi == 'customer_equity' and period == '2011-04'")["value"].item() == 1234.5
    m = kpi.summary_metrics(kpi.compare_periods(k))
    for key in ("revenue", "active_customers", "new_customers", "retention_rate", "aov"):
        assert key in m
    assert m["customer_equity"] == 1234.5
    # equity from another period is not put into this one
    other = kpi.set_customer_equity(k.assign(customer_equity=np.nan), {"customer_equity": 9.0, "period": "2011-03"})
    assert other["customer_equity"].isna().all()


def test_findings_say_not_run_not_applicable_and_ran():
    pages = load_pages()
    analyses = {name: None for name, page in pages.items() if not page.reads_all}
    assert kpi.findings_markdown(analyses, pages).count("not run") == len(analyses)
    analyses["04_churn"] = {"not_applicable": "only 61 days of history"}
    text = kpi.findings_markdown(analyses, pages)
    assert "[Churn risk and retention](<04_churn.html>)**: not available for this period: only 61 days" in text
    assert "**Customer segments**: not run" in text
    silent = {**pages, "06_toy": Page(name="06_toy", title="Toy", description="A toy page.")}
    assert "[Toy](<06_toy.html>)**: ran; see the page" in kpi.findings_markdown({"06_toy": {"rows": 1}}, silent)


def test_findings_do_not_hide_a_producer_drifting_from_its_declaration():
    pages = load_pages()
    with pytest.raises(KeyError):  # a metrics file without the declared keys is an error, not "ran"
        kpi.findings_markdown({"03_clv": {"customer_equity": 5.0, "parameters": {}}}, pages)


def test_each_page_finding_by_hand():
    cleaning = {"rows_in": 1000, "rows_kept": 900, "by_rule": {"after_as_of": 60, "duplicate": 10, "return": 30},
                "anonymous_revenue_share": 0.0}
    assert data_cleaning.finding(cleaning, "GBP") == (
        "900 of 1,000 rows kept (60 dated after the analysis date, left for later reports); 40 set aside, "
        "each with its reason, most often return or cancellation line (30 rows).")
    clv_line = clv.finding({"customer_equity": 1_234_567, "chosen_model": "bgnbd",
                            "parameters": {"clv_horizon_months": 12}}, "GBP")
    assert clv_line == "Customer equity £1.2m over the next 12 months (model: BG/NBD)."
    churn_line = churn.finding({"high_risk_customers": 2, "high_risk_value_at_risk": 58_000.0,
                                "value_basis": "CLV from notebook 03", "churn_rate": 0.31,
                                "top_drivers": ["recency_days"], "roc_auc": 0.74}, "GBP")
    assert churn_line.startswith("2 customers at high churn risk, with £58k of value at risk")
    assert "top driver: days since the last purchase" in churn_line and "ROC-AUC 0.74" in churn_line
    rule = {"antecedent_names": ["A", "B"], "consequent_names": ["C"], "lift": 2.0, "confidence": 0.6}
    assert basket.finding({"top_rule": rule, "rules": 40}, "GBP") == (
        "bundle to try: A & B + C, lift 2.0 (60 % of baskets with the first also hold the second); 40 rules found.")


def test_caveats_in_page_order_then_the_summary_own_model_fitting_for_analysts():
    pages = load_pages()
    partial = {"01_data_cleaning": {"warnings": ["10 % of rows dropped"]},
               "03_clv": {"warnings": ["parameters a, b ran to their bounds", "few repeat buyers"],
                          "analyst_notes": ["penalizer 0.01 used"]}}
    notes = kpi.caveats(partial, pages, extra=["history is short", "the model did not converge"])
    assert notes["managers"][0].startswith("10 % of rows dropped") and "few repeat buyers" in notes["managers"][1]
    assert notes["managers"][-1] == "history is short" and len(notes["managers"]) == 3
    assert [n.split(" (see")[0] for n in notes["analysts"]] == [
        "parameters a, b ran to their bounds", "penalizer 0.01 used", "the model did not converge"]
    assert "(see [Customer lifetime value](<03_clv.html>))" in notes["analysts"][0]
    assert kpi.caveats_markdown([]).startswith("No data-quality warnings")


def test_formatting():
    assert format_money(1503866.78, "GBP") == "£1,503,867"
    assert format_money(45.3, "EUR") == "€45.30"
    assert format_money(58_300, "GBP", compact=True) == "£58k"
    assert format_money(None) == "–"
    assert format_date("2011-11-30") == "30 Nov 2011"
    assert format_period("2011-11") == "Nov 2011"
    assert format_kpi_change("retention_rate", 0.034) == "+3.4 pts"
    assert format_kpi_change("revenue", -0.038) == "-3.8 %"


def test_stale_metrics_count_as_not_run():
    store = {"03_clv": {"as_of": "2011-10-31", "customer_equity": 5.0}, "04_churn": {"as_of": "2011-11-30"}}
    got = kpi.analysis_metrics(store.get, "2011-11-30", load_pages())
    assert got["03_clv"] is None and got["04_churn"] == {"as_of": "2011-11-30"} and got["05_basket"] is None
    assert "00_summary" not in got


def test_backfilled_report_equals_live_report(tmp_path):
    """`crm report --period 2011-10` run later (more data in the file) gives the numbers it gave live."""
    from crmlib import report
    from crmlib.synthetic import make_synthetic, write_synthetic_csv

    data = make_synthetic(n_customers=300, start="2010-06-01", end="2011-12-31", dirt=True, seed=5)
    full = write_synthetic_csv(data, tmp_path / "full.csv")
    live_rows = data.transactions[data.transactions["invoice_date"] < "2011-11-01"]
    live = write_synthetic_csv(live_rows, tmp_path / "live.csv")
    (tmp_path / "workbook.yml").write_text("currency: GBP\nsources:\n  - path: full.csv\n    name: web\n")
    frames = {}
    for name, path in (("backfill", full), ("live", live)):
        result = report.run_report(config_path=tmp_path / "workbook.yml", data_paths=[path], period="2011-10",
                                   only="00_summary", output_dir=tmp_path / name, progress=False)
        frames[name] = pd.read_parquet(layout.artifacts_dir(result.period_dir) / "kpis.parquet")
    assert frames["live"]["period"].iloc[-1] == "2011-10"
    assert frames["live"]["value"].notna().sum() > 100
    pd.testing.assert_frame_equal(frames["backfill"], frames["live"])


# ----------------------------------------------------------------------------- windows and vocabulary
def _config(tmp_path, text):
    from crmlib.core.config import load_config

    path = tmp_path / "workbook.yml"
    path.write_text(text)
    return load_config(path)


def test_windows_one_section_with_the_old_churn_window_as_the_same_setting(tmp_path):
    from crmlib.core.config import WINDOWS_DEFAULTS, churn_window_days, windows
    from crmlib.errors import ConfigError

    assert churn_window_days(_config(tmp_path, "currency: GBP\n")) == WINDOWS_DEFAULTS["churn_days"]
    assert churn_window_days(_config(tmp_path, "windows: {churn_days: 60}\n")) == 60
    legacy = _config(tmp_path, "notebooks:\n  04_churn: {churn_window_days: 45}\n  03_clv: {clv_horizon_months: 6}\n")
    assert churn_window_days(legacy) == 45 and windows(legacy)["value_horizon_months"] == 6
    agree = _config(tmp_path, "windows: {churn_days: 45}\nnotebooks:\n  04_churn: {churn_window_days: 45}\n")
    assert churn_window_days(agree) == 45
    with pytest.raises(ConfigError, match="windows.churn_days is 60 but notebooks.04_churn.churn_window_days is 45"):
        _config(tmp_path, "windows: {churn_days: 60}\nnotebooks:\n  04_churn: {churn_window_days: 45}\n")
    with pytest.raises(ConfigError, match="unknown key 'churn_day' in windows"):
        _config(tmp_path, "windows: {churn_day: 60}\n")
    with pytest.raises(ConfigError, match="windows.churn_days must be a whole number"):
        _config(tmp_path, "windows: {churn_days: 0}\n")


def test_vocabulary_defines_every_headline_kpi_once_with_the_run_windows(tmp_path):
    from crmlib.core import vocabulary

    defined = [t.kpi for t in vocabulary.TERMS if t.kpi]
    assert len(defined) == len(set(defined))
    missing = [k for k in kpi.HEADLINE_KPIS if vocabulary.kpi_term(k) is None and k not in
               ("orders", "revenue_per_customer", "purchase_frequency")]
    assert missing == []
    names = [e.term for e in vocabulary.GLOSSARY]
    assert len(names) == len(set(names)) and "At Risk (RFM segment)" in names and "High churn risk" in names
    entries = {e.term: e for e in vocabulary.glossary(_config(tmp_path, "windows: {churn_days: 45}\n"))}
    assert "45 days" in entries["Live customers"].definition and entries["Live customers"].window == "45 days"
    assert "90" not in entries["Reactivated customers"].definition
    assert all(e.definition.count(".") >= 1 and "{" not in e.definition for e in entries.values())
    with pytest.raises(KeyError, match="no term 'nope'"):
        vocabulary.term("nope")


def test_churn_page_risk_bands_are_the_vocabulary_bands():
    from crmlib.core.vocabulary import CHURN_RISK_BANDS

    assert tuple(churn.RISK_BANDS) == CHURN_RISK_BANDS


# ----------------------------------------------------------------------------- comparisons
def test_year_ago_only_with_a_year_of_history(hand_made):
    assert not kpi.year_ago_available("2010-12-01", "2011-11", min_history_days=365)
    assert kpi.year_ago_available("2010-11-01", "2011-11", min_history_days=365)
    assert "1 Dec 2010" in kpi.year_ago_note(pd.Timestamp("2010-12-01"), "2011-11")
    k = kpi.period_kpis(hand_made, "2011-04-30", n_periods=4, churn_window_days=40)
    without = kpi.compare_periods(k, year_ago=False)
    assert without["change_vs_year"].isna().all() and without["change_vs_previous"].notna().any()
    table = kpi.headline_table(without, year_ago=False).to_frame()
    assert list(table.columns) == ["KPI", "This period", "vs previous period"]
    assert "vs same period last year" in kpi.headline_table(kpi.compare_periods(k)).headers


def test_changes_carry_arrows_and_good_or_bad_classes():
    from crmlib.core.kpis import format_kpi_delta

    assert format_kpi_delta("revenue", 0.052) == ("▲ +5.2 %", "delta good")
    assert format_kpi_delta("revenue", -0.1) == ("▼ -10.0 %", "delta bad")
    assert format_kpi_delta("lost_customers", 0.2) == ("▲ +20.0 %", "delta bad")
    assert format_kpi_delta("retention_rate", -0.034) == ("▼ -3.4 pts", "delta bad")
    assert format_kpi_delta("revenue", 0.001)[1] == "delta flat"
    assert format_kpi_delta("revenue", None) == ("–", "delta")
    comparison = pd.DataFrame({"current": [10.0, 3.0], "change_vs_previous": [0.5, 0.5], "change_vs_year": [None, None]},
                              index=["revenue", "lost_customers"])
    html = kpi.headline_table(comparison, year_ago=False).to_html()
    assert '<td class="num delta good">▲ +50.0 %</td>' in html and '<td class="num delta bad">▲ +50.0 %</td>' in html


def test_data_start_months_are_masked_and_marked(hand_made):
    k = kpi.period_kpis(hand_made, "2011-04-30", n_periods=4, churn_window_days=40)
    early = kpi.early_periods(k.index, kpi.data_start(hand_made), 40)
    assert early == ["2011-01", "2011-02"]  # Feb starts 27 days after the first purchase (5 Jan)
    masked = kpi.mask_early_periods(k, early)
    assert masked.loc[early, list(kpi.WINDOW_KPIS)].isna().all().all()
    assert masked.loc["2011-03", "retention_rate"] == k.loc["2011-03", "retention_rate"]
    assert (masked["revenue"] == k["revenue"]).all()


def test_seasonality_is_flagged_against_the_trailing_average_or_last_year():
    idx = [str(p) for p in pd.period_range("2010-01", "2011-11", freq="M")]
    revenue = pd.Series(100.0, index=idx)
    revenue["2011-11"] = 150.0
    k = pd.DataFrame({"revenue": revenue})
    note = kpi.seasonality_note(k, "2011-11")
    assert note and "50 % above the average of the previous 6 months" in note
    assert kpi.seasonality_note(k, "2011-11", as_of="2011-11-15") is None  # a partial month is not judged
    assert kpi.seasonality_note(k.assign(revenue=100.0), "2011-11") is None
    k.loc["2010-11", "revenue"] = 140.0
    yearly = kpi.seasonality_note(k, "2011-11", year_ago=True)
    assert "+50.0 %" in yearly and "+40.0 %" in yearly


# ----------------------------------------------------------------------------- what to act on
def _page_metrics():
    return {
        "02_segmentation": {"revenue": 1000.0, "segments": {
            "Champions": {"customers": 10, "revenue_share": 0.5}, "At Risk": {"customers": 5, "revenue_share": 0.1},
            "Cannot Lose Them": {"customers": 2, "revenue_share": 0.05}}},
        "04_churn": {"high_risk_customers": 7, "high_risk_value_at_risk": 25_000.0, "targets": 9, "control": 1,
                     "downloads": {"retention_list": "downloads/retention_list.csv"}},
        "05_basket": {"basket_analysis_available": True, "customers_with_recommendations": 40,
                      "top_rule": {"antecedent_names": ["Tea <b>cup</b>"], "consequent_names": ["Saucer"],
                                   "confidence": 0.5, "baskets": 12, "lift": 3.0}},
        "06_campaigns": {"campaigns": []},
        "03_clv": None,
    }


def test_actions_say_who_how_many_value_and_where_the_list_is():
    titles = {n: p.title for n, p in load_pages().items()}
    todo = kpi.actions(_page_metrics(), titles, "GBP")
    assert [a.page for a in todo] == ["04_churn", "02_segmentation", "02_segmentation", "05_basket"]
    retention = todo[0]
    assert retention.customers == 10 and retention.value == 25_000.0
    assert "7 of them are at high churn risk, with £25k of value at risk" in retention.text
    assert "(<downloads/retention_list.csv>)" in retention.link and "(<04_churn.html>)" in retention.link
    assert todo[1].customers == 7 and todo[1].value == pytest.approx(150.0)
    assert "&lt;b&gt;cup&lt;/b&gt;" in todo[3].text and "<b>" not in todo[3].text
    text = kpi.actions_markdown(todo, ran=4)
    assert text.startswith("1. **Keep customers") and text.count("\n") == 3


def test_actions_skip_pages_not_run_or_not_applicable_but_not_drifted_metrics():
    titles = {}
    m = _page_metrics()
    m["04_churn"] = {"not_applicable": "too little history"}
    m["05_basket"] = None
    assert [a.page for a in kpi.actions(m, titles)] == ["02_segmentation", "02_segmentation"]
    m["06_campaigns"] = {"campaigns": [{"name": "Win-back", "verdict": "no evidence", "target": {"customers": 50},
                                        "incremental_revenue": 1200.0}]}
    last = kpi.actions(m, titles)[-1]
    assert last.page == "06_campaigns" and "Win\\-back (50 contacted, £1,200 extra revenue)" in last.text
    with pytest.raises(KeyError):
        kpi.actions({"04_churn": {"high_risk_customers": 3}}, titles)
    assert kpi.actions_markdown([], ran=0).startswith("No action can be derived")


def test_summary_words_follow_the_report_language(hand_made):
    """In a Korean report the summary's sentences, tables, actions and glossary are Korean;
    the metrics keep English action headlines."""
    import re

    from crmlib.core import i18n, vocabulary

    k = kpi.period_kpis(hand_made, "2011-04-30", n_periods=4, churn_window_days=40)
    comparison = kpi.compare_periods(k, year_ago=False)
    english = kpi.kpi_overview_markdown(comparison, "2011-04", "2011-04-30", "KRW")
    with i18n.using_language("ko"):
        overview = kpi.kpi_overview_markdown(comparison, "2011-04", "2011-04-30", "KRW")
        headline = kpi.headline_table(comparison, "KRW", year_ago=False).to_frame()
        glossary = kpi.glossary_table({"windows": {"churn_days": 45}}).to_frame()
        todo = kpi.actions(_page_metrics(), {n: p.title for n, p in load_pages().items()}, "KRW")
        first_action = todo[0].markdown()
        warnings = kpi.history_warnings(hand_made, k, churn_window_days=40, as_of="2011-04-20")
        caveats = kpi.caveats({"03_clv": {"warnings": ["BG/NBD 모델이 수렴하지 않았습니다."]}}, load_pages())
    assert english.startswith("In **Apr 2011** (data up to 30 Apr 2011) the business sold **₩65.00** in 3 orders")
    assert overview.startswith("**2011년 4월**(2011. 4. 30.까지의 데이터)에는 주문 ")
    assert not re.search(r"[A-Za-z]{3,}", overview), overview
    assert list(headline.columns) == ["지표", "이번 기간", "전기 대비"] and headline.iloc[0, 0] == "매출(전체 판매)"
    assert list(glossary.columns) == ["용어", "뜻", "기간"]
    assert "45일" in glossary.set_index("용어").loc["유지 고객", "뜻"]
    assert todo[0].headline == "Keep customers who are about to leave."        # metrics stay English
    assert first_action.startswith("**떠나려는 고객을 붙잡으세요.** 유지 관리 명단에 고객 10명이 있으며")
    assert "[이탈 위험과 고객 유지](<04_churn.html>)" in todo[0].link
    assert all(not re.search(r"[A-Za-z]{3,}", w) for w in warnings), warnings
    assert caveats["analysts"] and not caveats["managers"]          # a Korean model-fitting note
    assert vocabulary.glossary()[0].term == "Revenue"                 # back in English outside the block
