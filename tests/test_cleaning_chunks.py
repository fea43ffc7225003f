"""Cleaning in parts (crmlib.cleaning_chunks) gives the whole-frame result exactly.

Every cleaning test of test_cleaning.py, test_hardening.py and test_io.py is run again with
``clean_sources`` replaced by both paths: the whole-frame result (which the test then checks
as before) and the chunked one with tiny chunks and several parts, compared line by line
(transactions, quarantine, audit: counts exact, sums of money within 1e-9 relative). Then a
dirty synthetic log split into several sources (one an Excel workbook, which is read whole
and cut into chunks), with member lists, both return modes and every outlier action.
"""
from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import test_cleaning
import test_hardening
import test_io
from crmlib import cleaning, cleaning_chunks
from crmlib.core.config import SOURCE_DEFAULTS
from crmlib.synthetic import make_synthetic
from crmlib.errors import CrmError

_WHOLE = cleaning.clean_sources


def _close(a: Any, b: Any, where: str) -> None:
    """Equal, floats within 1e-9 relative (money added in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=0.011 if where.startswith("audit.revenue") else 1e-9), \
            f"{where}: {a} != {b}"
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"


def assert_same(whole: cleaning.CleaningResult, parts: cleaning.CleaningResult) -> None:
    pd.testing.assert_frame_equal(whole.transactions, parts.transactions)
    pd.testing.assert_frame_equal(whole.quarantine, parts.quarantine)
    _close(whole.audit, parts.audit, "audit")


def both_paths(calls: list[str], workdir: Path, **options: Any):
    """A ``clean_sources`` that runs both paths, compares them and returns the whole-frame result."""
    def clean_sources(sources, as_of=None, rules=None, *, identity=None, root=None, chunked=None):
        try:
            expected = _WHOLE(sources, as_of, rules, identity=identity, root=root, chunked=False)
        except CrmError as exc:
            with pytest.raises(type(exc)) as got:
                cleaning_chunks.clean_sources_chunked(sources, as_of, rules, identity=identity, root=root,
                                                      workdir=workdir, **options)
            assert str(got.value) == str(exc)
            calls.append("error")
            raise
        try:
            result = cleaning_chunks.clean_sources_chunked(sources, as_of, rules, identity=identity, root=root,
                                                           workdir=workdir, **options)
        except cleaning_chunks.NotChunkable:  # clean_sources cleans it whole
            calls.append("not chunkable")
            return expected
        calls.append(type(result).__name__)
        assert_same(expected, result)
        return expected
    return clean_sources


def _cases() -> list:
    cases = []
    for module in (test_cleaning, test_hardening, test_io):
        for name, function in vars(module).items():
            if name.startswith("test_") and inspect.isfunction(function) \
                    and list(inspect.signature(function).parameters) == ["tmp_path"]:
                cases.append(pytest.param(module, name, id=f"{module.__name__}.{name}"))
    return cases


@pytest.mark.parametrize("module, name", _cases())
def test_each_cleaning_test_gives_the_same_result_in_parts(module, name, tmp_path, monkeypatch):
    calls: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(cleaning, "clean_sources", both_paths(calls, work, chunk_rows=2, parts=3))
    getattr(module, name)(tmp_path)
    if not calls:
        pytest.skip("does not clean")


def test_most_of_those_tests_really_ran_in_parts(tmp_path, monkeypatch):
    """The comparison above is not all fallbacks to the whole-frame path."""
    calls: list[str] = []
    monkeypatch.setattr(cleaning, "clean_sources", both_paths(calls, tmp_path, chunk_rows=2, parts=3))
    for param in _cases():
        module, name = param.values
        folder = tmp_path / name
        folder.mkdir()
        try:
            getattr(module, name)(folder)
        except BaseException:  # noqa: BLE001 - checked one by one above
            pass
    assert calls.count("StoredCleaningResult") >= 30, calls


# ----------------------------------------------------------------------------- a dirty log in several sources
@pytest.fixture(scope="module")
def dirty_sources(tmp_path_factory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("dirty")
    log = make_synthetic(n_customers=400, dirt=True, seed=3).transactions
    log = log.rename(columns={"invoice_id": "InvoiceNo", "product_id": "StockCode", "product_name": "Description",
                              "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
                              "customer_id": "CustomerID", "country": "Country"})
    log = log[["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]]
    thirds = np.array_split(np.arange(len(log)), 3)
    a, b, c = (log.iloc[t] for t in thirds)
    a.to_csv(folder / "shop.csv", index=False)
    b.to_csv(folder / "web.csv.gz", index=False)
    c.iloc[:300].to_excel(folder / "stores.xlsx", index=False)
    return [{**SOURCE_DEFAULTS, "path": str(folder / "shop.csv"), "name": "shop"},
            {**SOURCE_DEFAULTS, "path": str(folder / "web.csv.gz"), "name": "web"},
            {**SOURCE_DEFAULTS, "path": str(folder / "stores.xlsx"), "name": "stores"}]


@pytest.mark.parametrize("rules", [
    {},
    {"returns": {"mode": "quarantine"}, "outliers": {"action": "cap"}},
    {"outliers": {"action": "quarantine"}, "missing_customer": {"keep": False}},
    {"outliers": {"action": "cap", "max_robust_z": 2.0, "max_price_ratio": 1.5}, "normalise": {"upper_ids": False}},
])
@pytest.mark.parametrize("chunk_rows, parts", [(97, 7), (5000, 1)])
def test_dirty_log_in_three_sources_is_the_same_in_parts(dirty_sources, rules, chunk_rows, parts, tmp_path):
    whole = _WHOLE(dirty_sources, None, rules, chunked=False)
    result = cleaning_chunks.clean_sources_chunked(dirty_sources, None, rules, chunk_rows=chunk_rows, parts=parts,
                                                   workdir=tmp_path, whole_files_ok=False)
    assert isinstance(result, cleaning_chunks.StoredCleaningResult)
    assert whole.audit["by_rule"].get("duplicate") and whole.audit["returns"]["return_lines"]
    assert_same(whole, result)
    from crmlib.pages.data_cleaning import COLUMNS, FLAGGED_COLUMNS
    from crmlib.pages import data_cleaning as page
    coded = result.read_transactions(COLUMNS, categories=page.CATEGORIES)   # as the page reads it
    assert isinstance(coded["product_id"].dtype, pd.CategoricalDtype)
    plain = whole.read_transactions(COLUMNS)
    assert page.profile(coded) == page.profile(plain)
    pd.testing.assert_frame_equal(page.revenue_by_month(coded), page.revenue_by_month(plain))
    pd.testing.assert_frame_equal(page.top_countries(coded), page.top_countries(plain), check_dtype=False,
                                  check_categorical=False)
    for columns, flagged in ((COLUMNS, False), (FLAGGED_COLUMNS, True)):  # what the cleaning page reads
        expected = whole.read_transactions(columns, outliers_only=flagged).reset_index(drop=True)
        assert list(expected.columns) == [c for c in whole.transactions.columns if c in columns]
        assert len(expected) > 0 or (flagged and rules.get("outliers", {}).get("action") == "quarantine")
        assert not flagged or expected["is_outlier"].all()
        pd.testing.assert_frame_equal(result.read_transactions(columns, outliers_only=flagged), expected)
    written = result.write(tmp_path / "artifacts")
    assert not result.workdir.exists()  # the stored log was moved out, the working folder removed
    pd.testing.assert_frame_equal(result.read_transactions(FLAGGED_COLUMNS, outliers_only=True), expected)
    from crmlib.core import engine
    stored = engine.read_transactions(written["transactions"])
    assert stored[["customer_id", "invoice_id", "quantity"]].equals(
        whole.transactions[["customer_id", "invoice_id", "quantity"]])
    assert pd.read_parquet(written["quarantine"]).equals(pd.read_parquet(whole.write(tmp_path / "w")["quarantine"]))
    result.close()
    assert not result.workdir.exists()


@pytest.mark.parametrize("rules", [{}, {"returns": {"mode": "quarantine"}, "outliers": {"action": "quarantine"}}])
def test_member_lists_unify_customers_the_same_in_parts(tmp_path, rules):
    from identity_fixtures import make_unit_members
    generated = make_unit_members(n_people=60, seed=7)
    generated.write(tmp_path / "members")
    sources = []
    for unit, lines in generated.transactions.groupby("source", sort=True):
        path = tmp_path / f"{unit}.csv"
        lines.drop(columns=["source"]).to_csv(path, index=False)
        sources.append({**SOURCE_DEFAULTS, "path": str(path), "name": unit})
    config = generated.identity_config(tmp_path / "members")
    whole = _WHOLE(sources, None, rules, identity=config, root=tmp_path, chunked=False)
    result = cleaning_chunks.clean_sources_chunked(sources, None, rules, identity=config, root=tmp_path, chunk_rows=40,
                                                   parts=4, workdir=tmp_path, whole_files_ok=False)
    assert whole.audit["customer_view"]["multi_source_customers"] > 0
    assert_same(whole, result)


def test_the_chunked_path_is_chosen_by_size(monkeypatch, tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame({"InvoiceNo": ["1", "2"], "StockCode": ["A", "B"], "Quantity": [1, 2],
                  "InvoiceDate": ["2011-01-03 10:00", "2011-01-04 10:00"], "UnitPrice": [2.0, 3.0],
                  "CustomerID": ["7", "8"]}).to_csv(path, index=False)
    sources = [{**SOURCE_DEFAULTS, "path": str(path), "name": "log"}]
    assert 1 <= cleaning_chunks.estimated_lines(sources) <= 4
    assert type(cleaning.clean_sources(sources, pd.Timestamp("2011-03-31"))) is cleaning.CleaningResult
    monkeypatch.setattr(cleaning_chunks, "CHUNKED_ABOVE_LINES", 1)
    result = cleaning.clean_sources(sources, pd.Timestamp("2011-03-31"))
    assert isinstance(result, cleaning_chunks.StoredCleaningResult)
    result.close()
    assert not result.workdir.exists()


def test_a_log_above_the_partition_size_is_stored_month_by_month_in_the_same_order(dirty_sources, tmp_path,
                                                                                     monkeypatch):
    from crmlib.core import engine
    monkeypatch.setattr(engine, "PARTITION_ROWS", 500)
    whole = _WHOLE(dirty_sources, None, {}, chunked=False).write(tmp_path / "whole")
    result = cleaning_chunks.clean_sources_chunked(dirty_sources, None, {}, chunk_rows=300, parts=4, workdir=tmp_path)
    parts = result.write(tmp_path / "parts")
    assert parts["transactions"].is_dir() and whole["transactions"].is_dir()
    pd.testing.assert_frame_equal(engine.read_transactions(whole["transactions"]),
                                  engine.read_transactions(parts["transactions"]))
    assert pd.read_parquet(whole["quarantine"]).equals(pd.read_parquet(parts["quarantine"]))
