"""Tests for crmlib.pages.campaigns: A/A coverage, a planted effect, hand-computed figures,
campaign files (Korean groups, quarantine, unmatched ids), group conflicts, no campaigns."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmlib.pages import campaigns as cp
from crmlib.core import layout

CONTACT = pd.Timestamp("2011-09-01")
Z = stats.norm.ppf(0.975)


def _tx(rows: list[tuple[str, str | pd.Timestamp, float]]) -> pd.DataFrame:
    """Clean transactions from (customer_id, date, amount), one invoice per row."""
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"])
    frame["invoice_id"] = [f"I{i}" for i in range(len(frame))]
    return frame


def _rows(target: list[str], control: list[str], name: str = "Win-back", contact=CONTACT, **extra) -> pd.DataFrame:
    ids = list(target) + list(control)
    rows = pd.DataFrame({"campaign": name, "source": "test", "customer_id": ids,
                         "group": ["target"] * len(target) + ["control"] * len(control),
                         "contact_date": pd.Timestamp(contact), "cost_per_contact": np.nan, "channel": None})
    for k, v in extra.items():
        rows[k] = v
    return rows


# ------------------------------------------------------------------ (a) A/A coverage
def test_aa_split_intervals_contain_zero_in_at_least_184_of_200_replications():
    """No treatment: the 95 % intervals of both uplifts must cover 0 about 95 % of the time."""
    n_t, n_c, rate = 400, 400, 0.15
    covered_response = covered_revenue = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        bought = rng.random(n_t + n_c) < rate
        revenue = bought * rng.lognormal(3.0, 1.0, n_t + n_c)   # zero-inflated, long-tailed
        group = rng.permutation(np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)])  # the random split
        resp = cp.response_rate_uplift(int(bought[group].sum()), n_t, int(bought[~group].sum()), n_c)
        rev = cp.mean_uplift(revenue[group], revenue[~group])
        covered_response += resp.ci_low <= 0 <= resp.ci_high
        covered_revenue += rev.ci_low <= 0 <= rev.ci_high
    assert covered_response >= 184, covered_response
    assert covered_revenue >= 184, covered_revenue
    assert covered_response < 200 and covered_revenue < 200  # intervals are not uselessly wide


# ------------------------------------------------------------------ (b) planted effect
def _synthetic_log(n_per_group: int, base: float, extra: float, seed: int, window: int = 30):
    """Target customers get ``extra`` purchase probability in the window after contact.

    Everyone also buys before the contact and after the window (these must not count).
    """
    rng = np.random.default_rng(seed)
    target = [f"T{i:05d}" for i in range(n_per_group)]
    control = [f"C{i:05d}" for i in range(n_per_group)]
    rows = []
    for ids, p in ((target, base + extra), (control, base)):
        for cid in ids:
            rows.append((cid, CONTACT - pd.Timedelta(days=int(rng.integers(1, 200))), 20.0))  # before: ignored
            rows.append((cid, CONTACT, 20.0))                                               # contact day: ignored
            rows.append((cid, CONTACT + pd.Timedelta(days=window + int(rng.integers(1, 60))), 20.0))  # after window
            if rng.random() < p:
                rows.append((cid, CONTACT + pd.Timedelta(days=int(rng.integers(1, window + 1)), hours=15),
                             float(rng.lognormal(3, 0.5))))
    return target, control, _tx(rows)


def test_planted_uplift_is_recovered_and_called_worked():
    planted = 0.08
    target, control, tx = _synthetic_log(1500, base=0.10, extra=planted, seed=7)
    result = cp.measure_campaign(_rows(target, control), tx, as_of="2011-12-31")
    u = result.response_uplift
    assert u.ci_low <= planted <= u.ci_high
    assert u.ci_low > 0 and u.p_value < 0.05
    assert result.revenue_uplift.ci_low > 0
    assert result.verdict == "worked"
    assert result.window_complete and result.observed_days == 30
    # only in-window purchases count: no customer can have more than one order
    assert result.outcomes["orders"].max() == 1
    # incremental revenue is the revenue-per-customer uplift times the target size
    assert result.incremental_revenue == pytest.approx(result.revenue_uplift.value * len(target))
    entry = result.metrics()
    assert entry["verdict"] == "worked" and entry["uplift"]["response_rate"]["value"] == pytest.approx(u.value)


def test_open_window_counts_only_observed_days_and_says_so():
    target, control, tx = _synthetic_log(200, base=0.2, extra=0.0, seed=3)
    as_of = CONTACT + pd.Timedelta(days=12)
    result = cp.measure_campaign(_rows(target, control), tx[tx["invoice_date"] < as_of + pd.Timedelta(days=1)],
                                 as_of=as_of)
    assert result.observed_days == 12 and not result.window_complete
    assert result.outcomes["first_response_day"].max() <= 12
    assert "window still open: 12 of 30 days" in cp.campaign_sentence(result)
    assert result.daily["day"].max() == 12


# ------------------------------------------------------------------ (c) hand-computed 20 customers
def _wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def test_twenty_customer_case_matches_hand_computation():
    # target: 6 of 10 bought (revenues below), control: 3 of 10
    t_rev = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 0, 0, 0, 0]
    c_rev = [15.0, 25.0, 35.0, 0, 0, 0, 0, 0, 0, 0]
    target = [f"T{i}" for i in range(10)]
    control = [f"C{i}" for i in range(10)]
    rows = [(cid, CONTACT + pd.Timedelta(days=3), r) for cid, r in zip(target + control, t_rev + c_rev) if r > 0]
    rows.append(("T0", CONTACT + pd.Timedelta(days=45), 999.0))   # outside the window
    result = cp.measure_campaign(_rows(target, control, cost_per_contact=2.0), _tx(rows), as_of="2011-12-31")

    p1, p2 = 0.6, 0.3
    assert result.target["response_rate"] == pytest.approx(p1)
    assert result.control["response_rate"] == pytest.approx(p2)
    assert result.target["revenue_per_customer"] == pytest.approx(21.0)
    assert result.control["revenue_per_customer"] == pytest.approx(7.5)
    assert result.target["orders_per_customer"] == pytest.approx(0.6)

    # Newcombe (1998) method 10 from the two Wilson intervals
    l1, u1 = _wilson(6, 10)
    l2, u2 = _wilson(3, 10)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    # pooled two-proportion z-test
    pooled = 9 / 20
    z = d / math.sqrt(pooled * (1 - pooled) * (1 / 10 + 1 / 10))
    p_value = 2 * (1 - stats.norm.cdf(abs(z)))
    u = result.response_uplift
    assert (u.value, u.ci_low, u.ci_high, u.p_value) == pytest.approx((d, low, high, p_value), abs=1e-9)

    # Welch: s^2/n per group, Welch-Satterthwaite degrees of freedom
    v1, v2 = np.var(t_rev, ddof=1) / 10, np.var(c_rev, ddof=1) / 10
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / 9 + v2 ** 2 / 9)
    diff = 21.0 - 7.5
    tq = stats.t.ppf(0.975, df)
    r = result.revenue_uplift
    assert (r.value, r.ci_low, r.ci_high) == pytest.approx((diff, diff - tq * se, diff + tq * se), abs=1e-9)
    assert r.p_value == pytest.approx(2 * stats.t.sf(diff / se, df), abs=1e-9)

    assert result.incremental_revenue == pytest.approx(13.5 * 10)
    assert result.roi == pytest.approx((135.0 - 20.0) / 20.0)
    assert result.verdict == "no evidence"  # both intervals straddle 0 with 10 per group
    assert cp.campaign_sentence(result).startswith("Win\\-back: +30.0 pts response, £135 incremental, 95 % CI -£")


def test_minimum_detectable_uplift_matches_the_arcsine_formula():
    n, p0 = 1000, 0.10
    h = (stats.norm.ppf(0.975) + stats.norm.ppf(0.80)) * math.sqrt(2 / n)
    expected = math.sin(math.asin(math.sqrt(p0)) + h / 2) ** 2 - p0
    assert cp.minimum_detectable_uplift(n, n, p0) == pytest.approx(expected, rel=1e-3)
    assert cp.minimum_detectable_uplift(4 * n, 4 * n, p0) < expected  # more customers, smaller MDE


def test_verdict_rule():
    up, down, flat = cp.Uplift(1, 0.5, 1.5, 0.01), cp.Uplift(-1, -1.5, -0.5, 0.01), cp.Uplift(0, -1, 1, 0.9)
    assert cp.verdict(up, flat) == "worked"
    assert cp.verdict(flat, down) == "hurt"
    assert cp.verdict(flat, flat) == "no evidence"
    assert cp.verdict(up, down) == "no evidence"
    assert cp.verdict(None, None) == "no evidence"


# ------------------------------------------------------------------ (d) campaign files
CAMPAIGN_CSV = """cust,arm,sent,name
 c001 ,대상,2011-09-01,Autumn mailing
C002,대조,2011-09-01,Autumn mailing
C003,Target,2011-09-01,Autumn mailing
C004,CONTROL,2011-09-01,Autumn mailing
,대상,2011-09-01,Autumn mailing
C005,대상,not a date,Autumn mailing
C006,maybe,2011-09-01,Autumn mailing
ZZZ9,대조,2011-09-01,Autumn mailing
"""
SPEC_COLUMNS = {"customer_id": "cust", "group": "arm", "contact_date": "sent", "campaign": "name"}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_campaign_file_korean_groups_quarantine_and_unmatched_ids(tmp_path, kind):
    path = tmp_path / f"autumn.{kind}"
    if kind == "csv":
        path.write_text(CAMPAIGN_CSV, encoding="utf-8")
    else:
        import io

        pd.read_csv(io.StringIO(CAMPAIGN_CSV), dtype=str, keep_default_na=False).to_excel(path, index=False)
    rows, quarantine = cp.read_campaign_file({"path": path.name, "columns": SPEC_COLUMNS, "cost_per_contact": 1.5},
                                             root=tmp_path)
    assert rows["group"].tolist() == ["target", "control", "target", "control", "control"]
    assert rows["customer_id"].tolist()[0] == "c001"  # trimmed as intake does
    assert set(rows["campaign"]) == {"Autumn mailing"} and (rows["cost_per_contact"] == 1.5).all()
    assert quarantine["row"].tolist() == [5, 6, 7]
    assert quarantine["reason"].tolist()[0] == "empty customer id"
    assert quarantine["reason"].tolist()[1] == "unreadable contact date"
    assert quarantine["value"].tolist()[1] == "not a date"
    assert quarantine["reason"].tolist()[2].startswith("unknown group")
    assert len(rows) + len(quarantine) == 8  # nothing dropped silently

    match = cp.match_ids(rows, ["C001", "C002", "C003", "C004", "C999"])
    assert sorted(match.rows["customer_id"]) == ["C001", "C002", "C003", "C004"]  # c001 matched up to case
    assert match.unmatched["customer_id"].tolist() == ["ZZZ9"]
    counts = match.counts.set_index("group")
    assert counts.loc["control", "unmatched"] == 1 and counts.loc["target", "case_fixed"] == 1
    assert "ZZZ9" in match.sentences()[0] and "Autumn mailing" in match.sentences()[0]


def test_customer_in_both_groups_is_named_and_left_out():
    rows = _rows([f"T{i}" for i in range(40)] + ["X1"], [f"C{i}" for i in range(40)] + ["X1"], name="Spring promo")
    check = cp.validate_campaigns(rows)
    assert any("Spring promo" in w and "both" in w and "X1" in w for w in check.warnings)
    assert "X1" not in set(check.rows["customer_id"])
    broken = _rows(["A", "B", "C"], ["A", "B", "D"], name="Broken list")
    check = cp.validate_campaigns(broken)
    assert check.skipped == ["Broken list"] and "both" in check.errors[0] and "Broken list" in check.errors[0]


def test_campaign_without_control_is_measured_without_uplift():
    target, _, tx = _synthetic_log(50, base=0.3, extra=0.0, seed=1)
    rows = _rows(target, [], name="Newsletter")
    check = cp.validate_campaigns(rows)
    assert any("Newsletter" in w and "no control group" in w for w in check.warnings)
    result = cp.measure_campaign(check.rows, tx, as_of="2011-12-31")
    assert result.response_uplift is None and result.verdict == "no evidence" and result.mde is None
    assert "no effect can be claimed" in cp.campaign_sentence(result)


def test_published_retention_lists_become_campaigns_with_scores(tmp_path):
    reports = tmp_path / "reports"
    for period, as_of in (("2011-08", "2011-08-31"), ("2011-11", "2011-11-30")):
        art = reports / period / layout.ANALYST / layout.ARTIFACTS
        (art / "metrics").mkdir(parents=True)
        (art / "metrics" / "04_churn.json").write_text(json.dumps({"as_of": as_of}))
        pd.DataFrame({"rank": [1, 2, 3], "customer_id": ["00012", "00013", "00014"],
                      "churn_probability": [0.9, 0.8, 0.7], "value": [100.0, 50.0, 10.0],
                      "group": ["target", "target", "control"]}).to_csv(art / "retention_targets.csv", index=False)
    (reports / ".runs").mkdir()
    lists = cp.published_retention_lists(reports, as_of="2011-11-30")
    assert set(lists["campaign"]) == {"Retention list 2011-08"}           # the current period is not earlier
    assert (lists["contact_date"] == pd.Timestamp("2011-08-31")).all()
    assert lists["customer_id"].tolist() == ["00012", "00013", "00014"]   # leading zeros kept
    assert lists["churn_probability"].tolist() == [0.9, 0.8, 0.7]
    assert lists["source"].iloc[0] == "retention list 2011-08"


def test_targeting_deciles_and_qini_from_scores():
    rng = np.random.default_rng(11)
    n = 2000
    ids = [f"K{i}" for i in range(n)]
    score = rng.random(n)
    is_target = rng.random(n) < 0.5
    # contact helps only high scorers: +30 pts above score 0.5
    p = 0.1 + 0.3 * (is_target & (score > 0.5))
    bought = rng.random(n) < p
    tx = _tx([(cid, CONTACT + pd.Timedelta(days=5), 10.0) for cid, b in zip(ids, bought) if b])
    rows = pd.DataFrame({"campaign": "Scored", "source": "test", "customer_id": ids,
                         "group": np.where(is_target, "target", "control"), "contact_date": CONTACT,
                         "cost_per_contact": np.nan, "channel": None, "churn_probability": score})
    result = cp.measure_campaign(rows, tx, as_of="2011-12-31")
    d = result.deciles.set_index("decile")
    assert len(d) == 10
    assert d.loc[[1, 2, 3, 4], "uplift"].min() > 0.15 and d.loc[[7, 8, 9, 10], "uplift"].abs().max() < 0.12
    q = result.qini
    middle = q.iloc[len(q) // 2]
    assert middle["incremental_responders"] > middle["random"] * 1.5  # the score puts responders first


# ------------------------------------------------------------------ (e) no campaigns
def test_no_campaigns_gives_an_empty_result(tmp_path):
    tx = _tx([("A", "2011-09-05", 10.0)])
    inputs = cp.collect_campaigns([], tmp_path, tmp_path / "reports", "2011-11-30", tx)
    assert inputs.rows.empty and inputs.campaigns == [] and not inputs.errors
    report = cp.measure_campaigns(inputs.rows, tx, "2011-11-30")
    assert report.metrics() == {"campaigns": []}
    assert cp.no_campaigns_text(inputs.sources).startswith("No campaigns to measure this period")


def test_collect_campaigns_end_to_end_metrics_shape(tmp_path):
    target, control, tx = _synthetic_log(100, base=0.2, extra=0.0, seed=5)
    path = tmp_path / "mailing.csv"
    pd.DataFrame({"cust": target + control + ["nobody"], "arm": ["대상"] * 100 + ["대조"] * 100 + ["대상"],
                  "sent": "2011-09-01", "name": "Autumn"}).to_csv(path, index=False)
    inputs = cp.collect_campaigns([{"path": "mailing.csv", "columns": SPEC_COLUMNS, "cost_per_contact": 0.5}],
                                  tmp_path, tmp_path / "reports", "2011-12-31", tx)
    assert inputs.campaigns == ["Autumn"] and any("nobody" in w for w in inputs.warnings)
    report = cp.measure_campaigns(inputs.rows, tx, "2011-12-31")
    (entry,) = report.metrics()["campaigns"]
    assert set(entry) == {"name", "source", "contact_date", "window_days", "window_complete", "target", "control",
                          "uplift", "incremental_revenue", "roi", "mde", "verdict"}
    assert set(entry["target"]) == {"customers", "response_rate", "revenue_per_customer", "orders_per_customer"}
    assert set(entry["uplift"]["response_rate"]) == {"value", "ci_low", "ci_high", "p_value"}
    assert entry["source"] == "mailing.csv" and entry["contact_date"] == "2011-09-01"
    assert entry["target"]["customers"] == 100 and entry["roi"] is not None
    assert entry["verdict"] in cp.VERDICTS
    json.dumps(entry)  # plain JSON types


# ============================================================================ settings and the run
def test_campaigns_setting_is_checked_when_workbook_yml_loads(tmp_path):
    from crmlib.core.config import load_config
    from crmlib.errors import ConfigError

    def load(text: str):
        (tmp_path / "workbook.yml").write_text("sources: [{path: sales.csv, name: web}]\n" + text, encoding="utf-8")
        return load_config(tmp_path / "workbook.yml")

    [entry] = load("campaigns:\n  - path: data/mailing.csv\n    columns: {customer_id: cust, group: arm}\n")["campaigns"]
    assert entry["path"] == str(tmp_path / "data" / "mailing.csv") and entry["columns"] == {"customer_id": "cust", "group": "arm"}
    assert load("")["campaigns"] == []
    for text, message in [
        ("campaigns:\n  - path: a.csv\n    colums: {}\n", r"unknown key 'colums' in campaigns\[0\]"),
        ("campaigns:\n  - columns: {group: arm}\n", r"campaigns\[0\] has no 'path'"),
        ("campaigns:\n  - path: a.csv\n    columns: {arm: group}\n", r"unknown key 'arm' in campaigns\[0\].columns"),
        ("campaigns:\n  - path: a.csv\n    cost_per_contact: -1\n", r"cost_per_contact must be a number >= 0"),
        ("campaigns:\n  - path: a.csv\n    source: shop\n", r"'shop' is not the name of a configured source; sources: web"),
        ("campaigns: 3\n", r"'campaigns' must be a list"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load(text)


def test_a_backfilled_retention_list_is_measured_by_a_later_report(tmp_path):
    """Issue 14 end to end, cheaply: the 2011-08 report publishes its retention list (only
    the churn page runs), the 2011-11 report measures it (only the campaign page runs).
    Nobody was contacted, so the expected finding is "no evidence"."""
    import shutil
    from pathlib import Path

    from crmlib import report
    from crmlib.synthetic import make_synthetic, write_synthetic_csv

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "notebooks").mkdir()
    for name in ("01_data_cleaning", "04_churn", "06_campaigns"):
        shutil.copy(root / "notebooks" / f"{name}.ipynb", tmp_path / "notebooks")
    data = make_synthetic(n_customers=300, start="2010-06-01", end="2011-12-31", seed=11)
    write_synthetic_csv(data, tmp_path / "sales.csv")
    config = tmp_path / "workbook.yml"
    config.write_text("sources: [sales.csv]\nnotebooks:\n  04_churn: {control_share: 0.5}\n", encoding="utf-8")
    output = tmp_path / "site"  # not <project>/reports: the runner tells page 06 where the site is

    report.run_report(config_path=config, period="2011-08", only="04_churn", output_dir=output, progress=False)
    published = pd.read_parquet(layout.artifacts_dir(output / "2011-08") / "retention_targets.parquet")
    report.run_report(config_path=config, period="2011-11", only="06_campaigns", output_dir=output, progress=False)

    metrics = json.loads(layout.metrics_path(output / "2011-11", "06_campaigns").read_text())
    [entry] = metrics["campaigns"]
    assert entry["source"] == "retention list 2011-08" and entry["contact_date"] == "2011-08-31"
    assert entry["window_complete"] is True and entry["verdict"] == "no evidence"
    listed = published["group"].str.lower().value_counts()
    assert entry["target"]["customers"] == listed["target"] and entry["control"]["customers"] == listed["control"]
    assert entry["uplift"]["response_rate"]["ci_low"] < 0 < entry["uplift"]["response_rate"]["ci_high"]
    page = (output / "2011-11" / "06_campaigns.html").read_text(encoding="utf-8")
    assert "Retention list 2011-08" in page and "no evidence" in page
