"""Identity resolution across business units, and the 07_units page on generated units.

Three generated units (tests/identity_fixtures.py) with overlapping people, phones in
three formats, one shop phone, one member with two phones, one member linked to two
people and one replaced card: the resolved customers equal the generated people, the
conflicts are counted, the cross-shop matrix equals a hand count, and no raw phone or
e-mail reaches any returned frame or text.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from crmlib.core import identity, layout, privacy
from crmlib.errors import ConfigError, DataError
from crmlib.pages import units
from identity_fixtures import UNITS, make_unit_members

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("units")
    generated = make_unit_members(n_people=60, seed=7)
    generated.write(folder / "members")
    key = privacy.load_key(folder)
    lists = identity.read_member_lists(generated.identity_config(folder / "members"), folder, key)
    result = identity.resolve_identities(lists, key)
    transactions = identity.apply_identities(generated.transactions, result)
    return {"folder": folder, "generated": generated, "key": key, "lists": lists, "result": result,
            "transactions": transactions}


def partition(frame: pd.DataFrame, by: str) -> set[frozenset]:
    return {frozenset(zip(g["source"], g["source_customer_id"])) for _, g in frame.groupby(by)}


def raw_keys(generated) -> set[str]:
    """Every raw phone and e-mail, as written and as normalised (neither may leak)."""
    written = {s.strip() for s in generated.phones + generated.emails}
    normal = set(identity.normalise_phone(pd.Series(generated.phones)).dropna())
    normal |= set(identity.normalise_email(pd.Series(generated.emails)).dropna())
    digits = {"".join(ch for ch in p if ch.isdigit()) for p in generated.phones}
    return written | {s.lower() for s in written} | normal | digits


def assert_no_raw_keys(generated, *things) -> None:
    secrets = raw_keys(generated)
    for thing in things:
        if isinstance(thing, pd.DataFrame):
            text = " ".join(map(str, thing.to_numpy().ravel())) + " " + " ".join(map(str, thing.columns))
            text += " " + " ".join(map(str, thing.index))
        else:
            text = json.dumps(thing, default=str) if not isinstance(thing, str) else thing
        leaked = sorted(s for s in secrets if s and s in text)
        assert not leaked, f"raw keys leaked, e.g. {leaked[:3]}"


# ----------------------------------------------------------------------------- normalising
@pytest.mark.parametrize("written", ["010-1234-5678", "01012345678", "+82 10 1234 5678", "82-10-1234-5678",
                                     "+82 (0)10-1234-5678", "0082 10 1234 5678", "010.1234.5678", "1012345678",
                                     " 010 1234 5678 "])
def test_phone_formats_are_one_number(written):
    assert identity.normalise_phone(pd.Series([written])).iloc[0] == "+821012345678"


def test_landlines_foreign_numbers_and_invalid_phones():
    got = identity.normalise_phone(pd.Series(["(02) 123-4567", "031-123-4567", "+44 7700 900123", "1588-1234",
                                              "010-0000-0000", "abc", "", None, "12345", "+1 23"]))
    assert got.iloc[:3].tolist() == ["+8221234567", "+82311234567", "+447700900123"]
    assert got.iloc[3:].isna().all()


def test_emails_are_trimmed_lower_cased_and_checked():
    got = identity.normalise_email(pd.Series([" Kim.A@Example.COM ", "mailto:x@y.co", "bad@", "a..b@x.com",
                                              "a b@c.com", None]))
    assert got.iloc[:2].tolist() == ["kim.a@example.com", "x@y.co"]
    assert got.iloc[2:].isna().all()


# ----------------------------------------------------------------------------- configuration
def test_identity_config_is_checked_with_clear_messages():
    good = [{"path": "m.csv", "source": "hotel", "columns": {"customer_id": "member_no", "phone": "phone"}}]
    parsed = identity.parse_identity_config(good, "workbook.yml", source_names=["hotel"])
    assert parsed[0]["columns"] == {"customer_id": "member_no", "phone": ["phone"]}
    assert identity.parse_identity_config(parsed) == parsed  # idempotent
    assert identity.parse_identity_config(None) == [] and identity.parse_identity_config([]) == []
    bad = {
        "identity must be a list": "members.csv",
        r"identity\[0\]: unknown key 'file'": [{**good[0], "file": "x"}],
        r"identity\[0\]: 'source' is required": [{"path": "m.csv", "columns": good[0]["columns"]}],
        r"identity\[0\].columns: needs phone and/or email": [{**good[0], "columns": {"customer_id": "m"}}],
        r"identity\[0\].columns: unknown key 'mobile'": [{**good[0], "columns": {"customer_id": "m", "mobile": "p"}}],
        r"identity\[0\].columns.customer_id": [{**good[0], "columns": {"phone": "p"}}],
        r"identity\[0\].source: 'spa' is not the name of a configured source": [{**good[0], "source": "spa"}],
        r"identity\[0\].columns.email must be a column name": [{**good[0], "columns": {"customer_id": "m", "email": 3}}],
    }
    for message, spec in bad.items():
        with pytest.raises(ConfigError, match=message) as err:
            identity.parse_identity_config(spec, "workbook.yml", source_names=["hotel"])
        assert str(err.value).startswith("workbook.yml: identity")


def test_missing_file_and_column_name_the_file_and_the_setting(tmp_path):
    key = privacy.load_key(tmp_path)
    spec = [{"path": "nope.csv", "source": "hotel", "columns": {"customer_id": "member_no", "phone": "phone"}}]
    with pytest.raises(DataError, match=r"nope.csv: member list not found(.|\n)*identity\[0\].path"):
        identity.read_member_lists(spec, tmp_path, key)
    pd.DataFrame({"member_no": ["H1"], "mobile": ["010-1234-5678"]}).to_csv(tmp_path / "m.csv", index=False)
    spec[0]["path"] = "m.csv"
    with pytest.raises(DataError) as err:
        identity.read_member_lists(spec, tmp_path, key)
    message = str(err.value)
    assert "m.csv" in message and "'phone'" in message and "identity[0].columns" in message
    assert "010-1234-5678" not in message


def test_excel_member_lists_with_numeric_phones_and_several_sheets(tmp_path):
    key = privacy.load_key(tmp_path)
    with pd.ExcelWriter(tmp_path / "hotel.xlsx") as writer:
        pd.DataFrame({"member_no": [87850, 87851], "phone": [1012345678, "010-2222-3333"]}).to_excel(
            writer, sheet_name="Seoul", index=False)
        pd.DataFrame({"member_no": [87852], "phone": ["+82 10 4444 5555"]}).to_excel(writer, sheet_name="Busan",
                                                                                     index=False)
    pd.DataFrame({"no": ["B1", "B2"], "tel": ["01012345678", "01044445555"]}).to_csv(tmp_path / "bakery.csv",
                                                                                     index=False)
    spec = [{"path": "hotel.xlsx", "source": "hotel", "columns": {"customer_id": "member_no", "phone": "phone"}},
            {"path": "bakery.csv", "source": "bakery", "columns": {"customer_id": "no", "phone": "tel"}}]
    lists = identity.read_member_lists(spec, tmp_path, key)
    assert lists.files.set_index("source")["member_ids"].to_dict() == {"hotel": 3, "bakery": 2}
    result = identity.resolve_identities(lists, key)
    groups = partition(result.mapping, "customer_id")
    assert frozenset({("hotel", "87850"), ("bakery", "B1")}) in groups  # 1012345678: a lost leading 0
    assert frozenset({("hotel", "87852"), ("bakery", "B2")}) in groups
    assert frozenset({("hotel", "87851")}) in groups


# ----------------------------------------------------------------------------- resolving
def test_resolved_customers_equal_the_generated_people(case):
    result, generated = case["result"], case["generated"]
    assert partition(result.mapping, "customer_id") == partition(generated.truth, "person")
    assert result.mapping["customer_id"].str.fullmatch(r"U[0-9a-f]{12}").all()
    assert result.stats["member_ids"] == len(generated.truth)
    assert result.stats["customers"] == generated.truth["person"].nunique()


def test_conflicts_are_counted_by_the_stated_rules(case):
    conflicts = case["result"].conflicts.set_index("kind")
    assert conflicts.loc["key_shared_by_many", "count"] == 1          # the bakery's shop phone
    assert conflicts.loc["key_shared_by_many", "member_ids"] == 7     # typed for 7 walk-ins
    assert conflicts.loc["member_links_different_people", "count"] == 1   # X's old number is Y's
    assert conflicts.loc["member_links_different_people", "member_ids"] == 2
    assert case["result"].n_conflicts == 2
    assert case["result"].stats["same_source_merges"] == 1           # the replaced hotel card
    assert set(conflicts["rule"].str.len() > 20) == {True}


def test_the_shop_phone_is_used_when_the_limit_allows_it(case):
    lenient = identity.resolve_identities(case["lists"], case["key"], max_ids_per_key=7)
    walkins = case["generated"].truth.query("person.str.startswith('walkin')", engine="python")
    ids = lenient.mapping.merge(walkins, on=["source", "source_customer_id"])["customer_id"]
    assert ids.nunique() == 1
    with pytest.raises(ConfigError):
        identity.resolve_identities(case["lists"], case["key"], max_ids_per_key=0)


def test_customer_ids_are_stable_across_runs_orders_and_key_reloads(case):
    lists = case["lists"]
    shuffled = lists.keys.sample(frac=1.0, random_state=3)
    again = identity.resolve_identities(shuffled, privacy.load_key(case["folder"]))
    pd.testing.assert_frame_equal(again.mapping, case["result"].mapping)
    # the stated rule: the pseudonym of the group's smallest (source, member id)
    mapping = case["result"].mapping
    for _, group in mapping.groupby("customer_id"):
        anchor = min(zip(group["source"], group["source_customer_id"]))
        expected = privacy.pseudonymise([f"{anchor[0]}\x1f{anchor[1]}"], case["key"], prefix="U").iloc[0]
        assert set(group["customer_id"]) == {expected}
    # the members of one unit alone keep their customer ids as long as their anchor stays
    hotel_only = identity.resolve_identities(lists.keys.query("source == 'hotel'"), case["key"])
    alone = mapping.groupby("customer_id").filter(lambda g: set(g["source"]) == {"hotel"})
    assert set(alone["customer_id"]) <= set(hotel_only.mapping["customer_id"])


def test_no_raw_phone_or_email_in_any_returned_frame_or_text(case):
    result = case["result"]
    view = identity.customer_view(case["transactions"], result)
    page = units.analyse_units(case["transactions"])
    assert_no_raw_keys(case["generated"], case["lists"].keys, case["lists"].files, result.mapping, result.conflicts,
                       result.stats, case["transactions"], view, identity.customer_view_markdown(view),
                       units.describe_units(page), units.headline_metrics(page), units.only_here_lists(page),
                       units.cross_shop_counts(page))


# ----------------------------------------------------------------------------- applying
def test_apply_keeps_the_units_own_id_and_leaves_unmatched_and_anonymous_ids(case):
    generated = case["generated"]
    raw = generated.transactions.copy()
    raw.loc[0, "customer_id"] = None  # an anonymous line
    before = raw.copy()
    applied = identity.apply_identities(raw, case["result"])
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    assert len(applied) == len(raw) and list(applied.columns) == list(raw.columns) + ["source_customer_id"]
    pd.testing.assert_series_equal(applied["source_customer_id"], raw["customer_id"], check_names=False)
    assert pd.isna(applied.loc[0, "customer_id"])
    unmatched = applied.merge(generated.unmatched, on=["source", "source_customer_id"])
    assert len(unmatched) and (unmatched["customer_id"] == unmatched["source_customer_id"]).all()
    listed = applied.loc[~applied.index.isin([0]) & ~applied.set_index(["source", "source_customer_id"]).index
                         .isin(pd.MultiIndex.from_frame(generated.unmatched))]
    assert listed["customer_id"].str.startswith("U").all()


def test_customer_view_has_the_issues_shape_and_hand_counts(case):
    generated, transactions = case["generated"], case["transactions"]
    view = identity.customer_view(transactions, case["result"])
    assert list(view) == ["customers", "multi_source_customers", "matched_ids", "unmatched_ids", "conflicts",
                          "by_source"]
    # hand count from the truth: people (plus unmatched ids) with sales, and in how many units
    truth = pd.concat([generated.truth, generated.unmatched.assign(person=lambda d: d["source"] + d["source_customer_id"])])
    sold = generated.transactions[["source", "customer_id"]].drop_duplicates().rename(
        columns={"customer_id": "source_customer_id"}).merge(truth, on=["source", "source_customer_id"])
    units_per_person = sold.groupby("person")["source"].nunique()
    assert view["customers"] == len(units_per_person)
    assert view["multi_source_customers"] == int((units_per_person > 1).sum())
    assert view["unmatched_ids"] == len(generated.unmatched)
    assert view["matched_ids"] == len(sold) - len(generated.unmatched)
    assert view["conflicts"] == 2
    assert set(view["by_source"]) == set(UNITS)
    assert sum(s["unmatched_ids"] for s in view["by_source"].values()) == view["unmatched_ids"]
    # before or after apply_identities: the same view
    assert identity.customer_view(generated.transactions, case["result"]) == view


# ----------------------------------------------------------------------------- the units page
def test_cross_shop_matrix_equals_a_hand_count(case):
    generated = case["generated"]
    truth = pd.concat([generated.truth, generated.unmatched.assign(person=lambda d: d["source"] + d["source_customer_id"])])
    sold = generated.transactions[["source", "customer_id"]].drop_duplicates().rename(
        columns={"customer_id": "source_customer_id"}).merge(truth, on=["source", "source_customer_id"])
    people_in = {u: set(sold.loc[sold["source"] == u, "person"]) for u in UNITS}
    matrix = units.cross_shop_matrix(units.analyse_units(case["transactions"]))
    for a in UNITS:
        for b in UNITS:
            if a == b:
                assert np.isnan(matrix.loc[a, b])
            else:
                assert matrix.loc[a, b] == pytest.approx(len(people_in[a] & people_in[b]) / len(people_in[a]))


def test_units_page_on_a_small_hand_made_case():
    lines = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "d", "d", None],
        "source": ["hotel", "bakery", "hotel", "online", "bakery", "online", "online", "bakery"],
        "amount": [100.0, 10.0, 200.0, 50.0, 5.0, 20.0, 30.0, 7.0],
    })
    view = units.analyse_units(lines)
    used = units.customers_by_units_used(view).set_index("units_used")
    assert used["customers"].tolist() == [2, 2, 0]
    assert used.loc[2, "share_of_revenue"] == pytest.approx(360 / 415)
    shares = units.revenue_from_multi_unit(view).set_index("unit")["multi_unit_revenue_share"]
    assert shares.to_dict() == pytest.approx({"bakery": 10 / 15, "hotel": 1.0, "online": 50 / 100})
    matrix = units.cross_shop_matrix(view)
    assert matrix.loc["hotel", "bakery"] == 0.5 and matrix.loc["bakery", "hotel"] == 0.5
    assert matrix.loc["online", "hotel"] == 0.5 and matrix.loc["bakery", "online"] == 0.0
    alone = units.only_here(view)
    assert alone["unit"].tolist()[:2] == ["bakery", "online"] and alone["only_here"].tolist() == [1, 1, 0]
    assert units.only_here_lists(view)[["unit", "customer_id"]].values.tolist() == [["bakery", "c"], ["online", "d"]]
    clv = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "clv": [300.0, 500.0, 10.0, 30.0]})
    churn = pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_probability": [0.1, 0.3, 0.9]})
    values = units.value_by_units(view, clv, churn).set_index("group")
    assert values.loc["several units", "mean_clv"] == 400 and values.loc["one unit", "mean_clv"] == 20
    assert values.loc["one unit", "mean_churn_probability"] == pytest.approx(0.9)
    assert "mean_clv" not in units.value_by_units(view).columns
    text = units.describe_units(view, "KRW", clv, churn)
    assert "Of **4 customers**, 2 (50.0 %)" in text and "₩400" in text and "First cross-sell target: bakery" in text
    metrics = units.headline_metrics(view, clv, churn)
    assert metrics["cross_shop"]["hotel"] == {"bakery": 0.5, "online": 0.5}
    json.dumps(metrics)


def test_one_unit_is_one_line_and_no_error():
    lines = pd.DataFrame({"customer_id": ["a", "b"], "source": ["web", "web"], "amount": [1.0, 2.0]})
    view = units.analyse_units(lines)
    assert not view.available
    text = units.describe_units(view)
    assert text.count("\n") == 0 and "nothing to compare" in text and "(web)" in text
    assert units.customers_by_units_used(view).empty and units.cross_shop_matrix(view).empty
    assert units.only_here(view).empty and units.only_here_lists(view).empty
    assert units.section(view, "## heading") is None and units.shown(view, lines) is None
    assert units.plot_units_used(units.customers_by_units_used(view)) is None
    assert units.headline_metrics(view)["nothing_to_compare"] == text


def test_unit_names_are_escaped_in_sentences():
    lines = pd.DataFrame({"customer_id": ["a", "a"], "source": ["<script>x</script>", "[b](javascript:1)"],
                          "amount": [1.0, 2.0]})
    text = units.describe_units(units.analyse_units(lines))
    assert "<script>" not in text and "](javascript" not in text


def test_notebook_07_is_output_free_with_the_base_parameters_and_no_def():
    nb = nbformat.read(ROOT / "notebooks" / "07_units.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    for name in ("as_of", "period", "data_paths", "artifacts_dir", "config_path"):
        assert f"{name} = " in parameters[0].source
    assert not any("def " in c.source or "class " in c.source for c in code)
    assert any("RunContext.create(\"07_units\"" in c.source for c in code)


# ----------------------------------------------------------------------------- settings and the full report
def test_identity_setting_is_checked_when_workbook_yml_loads(tmp_path):
    from crmlib.core.config import load_config

    def load(text: str):
        (tmp_path / "workbook.yml").write_text("sources: [{path: h.csv, name: hotel}]\n" + text, encoding="utf-8")
        return load_config(tmp_path / "workbook.yml")

    [entry] = load("identity:\n  - {path: m.csv, source: hotel, columns: {customer_id: member_no, phone: tel}}\n")["identity"]
    assert entry["path"] == str(tmp_path / "m.csv") and entry["columns"]["phone"] == ["tel"]
    assert load("")["identity"] == []
    with pytest.raises(ConfigError, match=r"identity\[0\].source: 'bakery' is not the name of a configured source"):
        load("identity:\n  - {path: m.csv, source: bakery, columns: {customer_id: member_no, phone: tel}}\n")
    with pytest.raises(ConfigError, match=r"identity\[0\].columns: needs phone and/or email"):
        load("identity:\n  - {path: m.csv, source: hotel, columns: {customer_id: member_no}}\n")


def test_a_full_report_with_three_units_unifies_customers_and_leaks_no_phone_email_or_name(tmp_path):
    """Issue 18's full-report test: one small run of every page on the generated units."""
    from crmlib import report

    generated = make_unit_members(n_people=60, seed=7)
    generated.write(tmp_path / "members")
    names = [f"Kim Minji{i:03d}" for i in range(200)]
    for unit in UNITS:  # a name column in each list: never read, never shown
        path = tmp_path / "members" / f"members_{unit}.csv"
        members = pd.read_csv(path, dtype=str)
        members.assign(name=names[:len(members)]).to_csv(path, index=False)
        lines = generated.transactions[generated.transactions["source"] == unit]
        lines.drop(columns=["source", "is_outlier", "amount"]).to_csv(tmp_path / f"{unit}.csv", index=False)
    config = ["currency: KRW", "sources:", *(f"  - {{path: {u}.csv, name: {u}}}" for u in UNITS), "identity:"]
    for unit in UNITS:
        config += [f"  - path: members/members_{unit}.csv", f"    source: {unit}",
                   "    columns: {customer_id: member_no, phone: [phone, phone2], email: email}"]
    (tmp_path / "workbook.yml").write_text("\n".join(config) + "\n", encoding="utf-8")
    report.run_report(config_path=tmp_path / "workbook.yml", period="2024-12", output_dir=tmp_path / "reports",
                      progress=False)
    published = tmp_path / "reports" / "2024-12"

    # the resolved customers are the generated people (unlisted ids stay customers of their own)
    transactions = pd.read_parquet(layout.artifacts_dir(published) / "transactions.parquet")
    truth = pd.concat([generated.truth, generated.unmatched.assign(person=lambda d: d["source"] + d["source_customer_id"])])
    sold = transactions[["source", "source_customer_id", "customer_id"]].drop_duplicates()
    sold = sold.merge(truth, on=["source", "source_customer_id"], how="left", validate="one_to_one")
    assert sold["person"].notna().all()
    assert partition(sold, "customer_id") == partition(sold, "person")

    # conflicts counted in the cleaning metrics; the cross-shop matrix of page 07 equals a hand count
    cleaning_metrics = json.loads(layout.metrics_path(published, "01_data_cleaning").read_text())
    view = cleaning_metrics["customer_view"]
    assert view["conflicts"] == 2 and view["customers"] == sold["person"].nunique()
    assert view["unmatched_ids"] == len(generated.unmatched)
    units_metrics = json.loads(layout.metrics_path(published, "07_units").read_text())
    people_in = {u: set(sold.loc[sold["source"] == u, "person"]) for u in UNITS}
    for a in UNITS:
        for b in set(UNITS) - {a}:
            expected = len(people_in[a] & people_in[b]) / len(people_in[a])
            assert units_metrics["cross_shop"][a][b] == pytest.approx(expected)
    assert "Customers who buy in one unit only" in (published / "07_units.html").read_text(encoding="utf-8")

    # no phone, e-mail or name in any page, download or artifact text
    texts = [p.read_text(encoding="utf-8") for p in published.rglob("*") if p.suffix in (".html", ".csv", ".json")]
    texts += [pd.read_parquet(p).to_csv() for p in published.rglob("*.parquet")]
    assert_no_raw_keys(generated, *texts)
    assert not [n for n in names if any(n in t for t in texts)]
    assert (published / "downloads" / "units_only_here.csv").is_file()


def test_cleaning_metrics_declare_the_customer_view_as_optional():
    from crmlib.pages.data_cleaning import PAGE

    assert "customer_view" in PAGE.metrics.__optional_keys__ and "rows_in" in PAGE.metrics.__required_keys__
