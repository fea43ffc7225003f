"""Cleaning rules on small hand-made files, the audit identity, the one customer view."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crmlib import cleaning
from crmlib.core.config import SOURCE_DEFAULTS
from crmlib.pages import data_cleaning
from crmlib.errors import ConfigError, DataError

UCI = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "online_retail.csv.gz"
AS_OF = pd.Timestamp("2011-03-31")


def line(inv, code, qty, date, price=2.0, cust="100", name="MUG", country="UK"):
    return [inv, code, name, qty, date, price, cust, country]


def clean(tmp_path, rows, rules=None, as_of=AS_OF, name="shop"):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=UCI).to_csv(path, index=False)
    return cleaning.clean_sources([{**SOURCE_DEFAULTS, "path": str(path), "name": name}], as_of, rules or {})


def reasons(result):
    return result.quarantine.set_index("source_row")["reason"].to_dict()


BASE = [line("1", "A", 1, "2011-01-03 10:00"), line("2", "E", 2, "2011-01-04 10:00", cust="200")]


def test_clean_file_keeps_every_line_with_canonical_columns(tmp_path):
    result = clean(tmp_path, BASE)
    t = result.transactions
    assert list(t.columns) == ["customer_id", "invoice_id", "invoice_date", "product_id", "product_name",
                               "quantity", "unit_price", "amount", "country", "source", "is_outlier"]
    assert t["amount"].tolist() == [2.0, 4.0]
    assert t["customer_id"].tolist() == ["100", "200"]
    assert t["source"].unique().tolist() == ["shop"]
    assert str(t["invoice_date"].dtype) == "datetime64[ns]"
    assert result.audit["rows_in"] == 2 and result.audit["rows_quarantined"] == 0


def test_exact_duplicates_are_quarantined_unless_switched_off(tmp_path):
    rows = BASE + [BASE[0]]
    result = clean(tmp_path, rows)
    assert reasons(result) == {3: "duplicate"}
    assert result.audit["by_rule"] == {"duplicate": 1}
    assert len(clean(tmp_path, rows, {"duplicates": False}).transactions) == 3


def test_returns_are_netted_latest_purchase_first(tmp_path):
    rows = [
        line("1", "A", 3, "2011-01-03 10:00"),
        line("2", "A", 3, "2011-02-03 10:00"),
        line("C3", "A", -4, "2011-03-03 10:00"),
        line("4", "A", 5, "2011-03-10 10:00"),  # after the return: untouched
    ]
    result = clean(tmp_path, rows)
    assert reasons(result) == {2: "fully_returned", 3: "return"}
    t = result.transactions.set_index("invoice_id")
    assert t.loc["1", "quantity"] == 2.0 and t.loc["4", "quantity"] == 5.0
    r = result.audit["returns"]
    assert (r["quantity_returned"], r["quantity_netted"], r["quantity_unmatched"]) == (4.0, 4.0, 0.0)
    assert r["purchase_lines_reduced"] == 1 and r["revenue_netted_from_kept_lines"] == 2.0


def test_returns_without_a_matching_purchase_are_unmatched(tmp_path):
    rows = [line("C1", "A", -2, "2011-01-03 10:00"), line("2", "A", 5, "2011-01-10 10:00"),
            line("C3", "E", -1, "2011-01-11 10:00", cust=None)]
    result = clean(tmp_path, rows)
    assert reasons(result) == {1: "return", 3: "return"}
    assert result.transactions["quantity"].tolist() == [5.0]
    assert result.audit["returns"]["quantity_unmatched"] == 3.0


def test_returns_quarantine_mode_keeps_purchases_whole(tmp_path):
    rows = [line("1", "A", 3, "2011-01-03 10:00"), line("C2", "A", -3, "2011-01-05 10:00")]
    result = clean(tmp_path, rows, {"returns": {"mode": "quarantine"}})
    assert reasons(result) == {2: "return"}
    assert result.transactions["quantity"].tolist() == [3.0]


def test_cancel_prefix_needs_a_digit_after_it(tmp_path):
    # UCI cancellations look like C536379; ids such as CD00001 or CUST-9 merely start with C
    rows = [line("CD00001", "A", 3, "2011-01-03 10:00"), line("CUST-9", "E", 1, "2011-01-04 10:00"),
            line("C536379", "A", 1, "2011-01-05 10:00")]
    result = clean(tmp_path, rows, {"returns": {"mode": "quarantine"}})
    assert reasons(result) == {3: "return"}
    assert sorted(result.transactions["invoice_id"]) == ["CD00001", "CUST-9"]


def test_returns_off_sends_negative_quantities_to_the_safety_net(tmp_path):
    rows = [line("1", "A", 3, "2011-01-03 10:00"), line("C2", "A", -3, "2011-01-05 10:00")]
    result = clean(tmp_path, rows, {"returns": False})
    assert reasons(result) == {2: "non_positive_quantity"}


def test_anonymous_lines_are_kept_and_counted(tmp_path):
    rows = BASE + [line("3", "F", 1, "2011-01-05 10:00", price=5.0, cust=None)]
    result = clean(tmp_path, rows)
    assert result.transactions["customer_id"].isna().sum() == 1
    assert result.audit["anonymous_rows_kept"] == 1 and result.audit["anonymous_revenue_kept"] == 5.0
    assert result.audit["customers"] == 2
    dropped = clean(tmp_path, rows, {"missing_customer": {"keep": False}})
    assert reasons(dropped) == {3: "missing_customer"}


def test_non_product_codes_and_non_positive_prices(tmp_path):
    rows = BASE + [line("3", "POST", 1, "2011-01-05 10:00", price=18.0),
                   line("4", "gift", 1, "2011-01-05 10:00"),
                   line("5", "K", 1, "2011-01-06 10:00", price=0.0),
                   line("6", "Z", 1, "2011-01-06 10:00", price=-11.0)]
    result = clean(tmp_path, rows, {"non_product": {"codes": ["POST", "GIFT"]}})
    assert reasons(result) == {3: "non_product", 4: "non_product", 5: "non_positive_price", 6: "non_positive_price"}
    assert result.audit["revenue_by_rule"]["non_product"] == 20.0


def _with_outliers():
    rows = [line(str(i), "A", 2 + i % 3, f"2011-01-{1 + i % 28:02d} 10:00", price=2.0) for i in range(40)]
    rows.append(line("90", "A", 5000, "2011-02-01 10:00", price=2.0))   # extreme quantity
    rows.append(line("91", "A", 2, "2011-02-01 10:00", price=40.0))     # 20x the usual price
    return rows


def test_outliers_are_flagged_by_default(tmp_path):
    result = clean(tmp_path, _with_outliers())
    t = result.transactions.set_index("invoice_id")
    assert t["is_outlier"].sum() == 2 and t.loc["90", "is_outlier"] and t.loc["91", "is_outlier"]
    assert t.loc["90", "quantity"] == 5000.0
    assert result.audit["outliers"]["lines"] == 2


def test_outliers_cap_and_quarantine(tmp_path):
    capped = clean(tmp_path, _with_outliers(), {"outliers": {"action": "cap"}}).transactions.set_index("invoice_id")
    assert capped.loc["91", "unit_price"] == 10.0  # 5x the product's median price of 2
    assert capped.loc["90", "quantity"] < 5000
    assert capped.loc["90", "amount"] == capped.loc["90", "quantity"] * 2.0
    dropped = clean(tmp_path, _with_outliers(), {"outliers": {"action": "quarantine"}})
    assert sorted(dropped.quarantine["reason"]) == ["outlier", "outlier"]
    assert not dropped.transactions["is_outlier"].any()


def test_rows_after_as_of_are_quarantined_and_as_of_defaults_to_last_complete_month(tmp_path):
    rows = BASE + [line("3", "F", 1, "2011-03-31 23:00"), line("4", "F", 1, "2011-04-02 10:00")]
    result = clean(tmp_path, rows)
    assert reasons(result) == {4: "after_as_of"}
    auto = clean(tmp_path, rows, as_of=None)
    assert auto.audit["as_of"] == "2011-03-31"
    assert auto.transactions["invoice_date"].max() < pd.Timestamp("2011-04-01")


def test_normalise_trims_and_upper_cases_ids(tmp_path):
    rows = [line(" 1 ", " 85123a ", 1, "2011-01-03 10:00", cust=" 17850 ", name="  MUG ")]
    t = clean(tmp_path, rows).transactions
    assert (t.loc[0, "invoice_id"], t.loc[0, "product_id"], t.loc[0, "customer_id"]) == ("1", "85123A", "17850")
    assert t.loc[0, "product_name"] == "MUG"
    raw = clean(tmp_path, rows, {"normalise": {"upper_ids": False}}).transactions
    assert raw.loc[0, "product_id"] == "85123a"


def test_quarantine_keeps_the_original_row(tmp_path):
    rows = BASE + [line("C9", " x1 ", -1, "2011-01-05 10:00", cust="300")]
    q = clean(tmp_path, rows).quarantine
    assert q.loc[0, "StockCode"] == " x1 " and q.loc[0, "Quantity"] == -1
    assert (q.loc[0, "source"], q.loc[0, "source_row"], q.loc[0, "reason"]) == ("shop", 3, "return")


@pytest.mark.parametrize(
    "rules, message",
    [
        ({"dedupe": True}, "unknown key 'dedupe'; allowed there: invalid_values, date_window, normalise"),
        ({"returns": {"mod": "net"}}, "cleaning.returns: unknown key 'mod'; allowed there: enabled, mode, cancel_prefix"),
        ({"returns": {"mode": "ignore"}}, "mode must be net or quarantine"),
        ({"outliers": {"action": "drop"}}, "action must be flag, cap or quarantine"),
        ({"outliers": {"max_price_ratio": 0.5}}, "max_price_ratio must be a number above 1"),
        ({"missing_customer": False}, "cannot be switched off"),
        ({"invalid_values": {"max_share": 2}}, "max_share must be between 0 and 1"),
    ],
)
def test_bad_rule_settings_name_the_key(rules, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cleaning.resolve_rules(rules)


def test_write_produces_the_three_artifacts(tmp_path):
    result = clean(tmp_path, BASE + [BASE[0]])
    paths = result.write(tmp_path / "artifacts")
    audit = json.loads(paths["audit"].read_text())
    assert audit["rows_in"] == audit["rows_kept"] + audit["rows_quarantined"] == 3
    assert audit["source_paths"] == [str((tmp_path / "shop.csv").resolve())]
    assert len(pd.read_parquet(paths["transactions"])) == 2
    assert pd.read_parquet(paths["quarantine"])["reason"].tolist() == ["duplicate"]


def test_no_rows_left_is_a_clear_error(tmp_path):
    rows = [line("1", "POST", 1, "2011-01-03 10:00"), line("2", "A", 1, "2011-01-04 10:00", price=0)]
    with pytest.raises(DataError, match=r"no rows left after cleaning \(2 rows read\)") as err:
        clean(tmp_path, rows)
    assert "non_product: 1 rows" in str(err.value)


def test_customer_overlap_counts_customers_by_number_of_sources(tmp_path):
    t = pd.DataFrame({
        "customer_id": ["1", "1", "2", "3", "3", "3", None],
        "source": ["web", "shop", "web", "web", "shop", "app", "web"],
        "amount": [10.0, 20.0, 5.0, 1.0, 1.0, 1.0, 100.0],
    })
    view = data_cleaning.customer_overlap(t)
    counts = view.by_source_count.set_index("found_in")
    assert counts["customers"].tolist() == [1, 1, 1]
    assert counts.loc["2 sources", "revenue"] == 30.0
    assert abs(counts["revenue_share"].sum() - 1) < 1e-9
    top = view.pairs.iloc[0]
    assert (top["source_a"], top["source_b"], top["shared_customers"]) == ("shop", "web", 2)
    assert view.per_source.set_index("source").loc["web", "also_elsewhere"] == 2


def test_audit_identity_on_the_bundled_sample():
    result = cleaning.clean_sources([{**SOURCE_DEFAULTS, "path": str(SAMPLE), "name": "web"}], None, {})
    a = result.audit
    assert a["rows_in"] == 541_909
    assert a["rows_in"] == a["rows_kept"] + a["rows_quarantined"] == len(result.transactions) + len(result.quarantine)
    assert sum(a["by_rule"].values()) == a["rows_quarantined"]
    assert a["as_of"] == "2011-11-30" and a["sources"][0]["layout"] == "online_retail"
    assert 4_000 < a["customers"] < 4_500
    assert (result.transactions["quantity"] > 0).all() and (result.transactions["unit_price"] > 0).all()


def test_notebook_overrides_lay_over_the_config():
    merged = data_cleaning.rules_with_overrides({"returns": False, "duplicates": False}, returns_mode="quarantine")
    assert merged == {"returns": {"enabled": True, "mode": "quarantine"}, "duplicates": False}
    assert data_cleaning.rules_with_overrides({"outliers": {"max_robust_z": 4}}, outlier_action=None) == {
        "outliers": {"max_robust_z": 4}}
    with pytest.raises(ConfigError, match="action must be flag, cap or quarantine"):
        data_cleaning.rules_with_overrides({}, outlier_action="drop")


def test_profile_rule_table_and_warnings(tmp_path):
    rows = [line(str(i), "A", 1, f"2011-{m:02d}-05 10:00", cust=None if i % 2 else "7")
            for i, m in enumerate([1, 1, 3, 3])]
    rows.append(line("C9", "A", -1, "2011-03-06 10:00", price=3.0, cust=None))
    result = clean(tmp_path, rows)
    facts = data_cleaning.profile(result.transactions)
    assert (facts["customers"], facts["anonymous_rows"], facts["anonymous_share"]) == (1, 2, 0.5)
    table = data_cleaning.rule_table(result.audit)
    assert table.to_dict("records") == [{"reason": "return", "meaning": "return or cancellation line", "rows": 1,
                                         "revenue": -3.0, "share_of_rows": 0.2}]
    monthly = data_cleaning.revenue_by_month(result.transactions)
    assert [str(p) for p in monthly.index] == ["2011-01", "2011-02", "2011-03"]
    warnings = data_cleaning.quality_warnings(result.audit, facts, monthly)
    assert any("50.0 % of the clean lines" in w for w in warnings)
    assert any("Returns worth £3.00 came back without a customer id" in w for w in warnings)
    assert any("No sales at all in Feb 2011" in w for w in warnings)
    assert any("Only 3 months" in w for w in warnings)
    metrics = data_cleaning.headline_metrics(result, facts)
    assert metrics["rows_in"] == 5 and metrics["anonymous_share"] == 0.5
    json.dumps(metrics)


@pytest.mark.parametrize("mode", ["quarantine", "net"])
def test_cleaning_recovers_the_dirt_planted_in_a_synthetic_log(tmp_path, mode):
    from crmlib.synthetic import make_synthetic, write_synthetic_csv

    kw = dict(n_customers=300, start="2010-01-01", end="2011-12-31", seed=3)
    dirty = make_synthetic(dirt=True, **kw)
    clean_lines = len(make_synthetic(dirt=False, **kw).transactions)
    path = write_synthetic_csv(dirty, tmp_path / "log.csv")
    result = cleaning.clean_sources([{**SOURCE_DEFAULTS, "path": str(path), "name": "log"}], "2011-12-31",
                                    {"returns": {"mode": mode}, "outliers": False})
    planted, a = dirty.truth.dirt, result.audit
    assert a["by_rule"]["duplicate"] == planted["duplicate_lines"]
    assert a["by_rule"]["non_product"] == planted["postage_lines"]
    assert a["by_rule"]["non_positive_price"] == planted["zero_price_lines"]
    assert a["by_rule"]["return"] == planted["cancellation_lines"]
    assert a["anonymous_rows_kept"] == planted["anonymous_lines"]
    if mode == "quarantine":
        assert a["rows_kept"] == clean_lines + planted["anonymous_lines"]
    else:  # each planted cancellation undoes one whole purchase line of the same customer
        assert a["by_rule"]["fully_returned"] == planted["cancellation_lines"]
        assert a["returns"]["quantity_unmatched"] == 0


def test_cleaning_page_words_escape_data_values():
    from markup import HAZARDS, live_markup

    from crmlib.pages import data_cleaning as page

    audit = {"rows_in": 3, "as_of": "2011-11-30", "sources": [
        {"name": HAZARDS[0], "path": f"/x/{HAZARDS[1]}.csv", "layout": "custom", "encoding": "utf-8",
         "rows_in": 3, "columns": {"product_name": HAZARDS[2]}}]}
    view = page.CustomerOverlap(
        by_source_count=pd.DataFrame({"found_in": ["1 source", "2 sources", "3+ sources"], "customers": [1, 1, 0],
                                      "revenue": [1.0, 2.0, 0.0], "customer_share": [0.5, 0.5, 0.0],
                                      "revenue_share": [1 / 3, 2 / 3, 0.0]}),
        pairs=pd.DataFrame({"source_a": [HAZARDS[0]], "source_b": [HAZARDS[2]], "shared_customers": [1],
                            "shared_customers_revenue": [2.0]}),
        per_source=pd.DataFrame())
    countries = pd.DataFrame({"country": [HAZARDS[1]], "revenue": [1.0], "revenue_share": [1.0], "customers": [1]})
    outputs = {"intake": page.intake_markdown(audit), "intake_table": page.intake_table(audit).to_html(),
               "overlap": page.overlap_markdown(view), "countries": page.countries_table(countries).to_html(),
               "overlap_tables": "".join(t.to_html() for t in page.overlap_tables(view))}
    for name, text in outputs.items():
        assert live_markup(text) == [], (name, text)
    assert "(cleaning." not in page.reason_text("implausible_date")


def test_cleaning_reasons_are_shown_in_the_reports_language():
    from crmlib.core import i18n

    assert cleaning.REASON_TEXT["missing_customer"] == "no customer id"       # the audit's words stay English
    with i18n.using_language("ko"):
        assert data_cleaning.reason_text("missing_customer") == "고객번호 없음"
        assert data_cleaning.reason_text("implausible_date") == "타당한 기간 이전이거나 실행일 이후 날짜"
        assert data_cleaning.reason_text("some_new_rule") == "some new rule"


def test_page_summaries_on_codes_equal_the_plain_pandas_group_bys():
    """The cleaning page's profile, months and countries are counted on integer codes and
    Arrow; they equal the plain pandas group-bys (counts exactly, money to 1e-12)."""
    from crmlib import schema
    from crmlib.synthetic import make_synthetic
    from crmlib.pages import data_cleaning

    tx = make_synthetic(n_customers=300, start="2010-12-01", end="2011-12-31", seed=11).transactions
    tx = tx.assign(amount=tx["quantity"] * tx["unit_price"], is_outlier=False, source="web")
    tx.loc[tx.index[::7], "customer_id"] = None                       # anonymous lines
    tx.loc[tx.index[::11], "country"] = None                          # lines without a country
    tx.loc[tx.index[5], "customer_id"] = ""                           # an empty id is no known customer
    tx = tx.astype({c: "str" for c in ("customer_id", "invoice_id", "product_id", "country", "source")})

    facts = data_cleaning.profile(tx)
    known = schema.known_customers(tx)
    assert (facts["customers"], facts["invoices"], facts["products"], facts["countries"], facts["sources"]) == (
        known["customer_id"].nunique(), tx["invoice_id"].nunique(), tx["product_id"].nunique(),
        tx["country"].nunique(), 1)

    month = tx["invoice_date"].dt.to_period("M")
    expected = tx.groupby(month, sort=True).agg(revenue=("amount", "sum"), invoices=("invoice_id", "nunique"),
                                                 customers=("customer_id", "nunique"))
    expected = expected.reindex(pd.period_range(expected.index.min(), expected.index.max(), freq="M"), fill_value=0)
    expected.index.name = "month"
    pd.testing.assert_frame_equal(data_cleaning.revenue_by_month(tx), expected, rtol=1e-12)

    by_country = tx.groupby("country").agg(revenue=("amount", "sum"), customers=("customer_id", "nunique"))
    by_country["revenue_share"] = by_country["revenue"] / by_country["revenue"].sum()
    by_country = by_country.sort_values("revenue", ascending=False).head(10).reset_index()[
        ["country", "revenue", "revenue_share", "customers"]]
    pd.testing.assert_frame_equal(data_cleaning.top_countries(tx), by_country, rtol=1e-12)
