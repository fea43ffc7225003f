"""One number, one meaning: headline numbers agree between the rendered pages and the metrics.

Reads the session's one full report (``full_report`` in tests/conftest.py): the HTML
pages as a manager sees them, and the pages' ``metrics/*.json``. A number that appears
on two pages must be the same number (the summary's KPI table, its "what to act on",
the value and churn pages); the glossary is on the summary; "what to act on" names 3–5
actions linking to pages that exist; the period index counts the caveats the summary
shows.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from crmlib.core import layout
from crmlib.core.formatting import format_count, format_money
from crmlib.core.kpis import KPI_LABELS, format_kpi
from crmlib.core.vocabulary import CHURN_RISK_BANDS, GLOSSARY
from crmlib.pages import churn

SUMMARY = "00_summary"
ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _soup(period_dir: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((period_dir / f"{page}.html").read_text(encoding="utf-8"), "html.parser")


def _metrics(period_dir: Path, page: str) -> dict:
    return json.loads(layout.metrics_path(period_dir, page).read_text(encoding="utf-8"))


def _text(soup: BeautifulSoup) -> str:
    return " ".join(soup.body.get_text(" ").split())


def _section(soup: BeautifulSoup, title: str) -> list:
    """The elements after the ``<h2>`` titled ``title``, up to the next ``<h2>``."""
    heading = next((h for h in soup.find_all("h2") if h.get_text(" ").strip().rstrip("¶").strip() == title), None)
    assert heading is not None, f"no section '{title}'"
    out = []
    for element in heading.find_all_next():
        if element.name == "h2":
            break
        out.append(element)
    return out


def _headline_table(soup: BeautifulSoup) -> dict[str, list[str]]:
    table = next(t for t in soup.select("table.crm-table") if t.find("th") and t.find("th").get_text() == "KPI")
    rows = {}
    for tr in table.select("tbody tr"):
        cells = [td.get_text(" ").strip() for td in tr.find_all("td")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def report(full_report: dict) -> dict:
    period_dir = full_report["period_dir"]
    names = sorted(p.stem for p in period_dir.glob("[0-9][0-9]_*.html"))
    return {"dir": period_dir, "pages": names, "soup": {n: _soup(period_dir, n) for n in names},
            "metrics": {n: _metrics(period_dir, n) for n in names}}


def test_summary_kpi_table_equals_its_metrics(report: dict) -> None:
    table = _headline_table(report["soup"][SUMMARY])
    m = report["metrics"][SUMMARY]
    for kpi in ("revenue", "orders", "active_customers", "new_customers", "retention_rate", "top20_revenue_share",
                "customer_equity"):
        assert table[KPI_LABELS[kpi]][0] == format_kpi(kpi, m[kpi]), kpi


def test_customer_equity_is_the_value_page_number(report: dict) -> None:
    equity = report["metrics"]["03_clv"]["customer_equity"]
    assert report["metrics"][SUMMARY]["customer_equity"] == equity
    assert _headline_table(report["soup"][SUMMARY])[KPI_LABELS["customer_equity"]][0] == format_money(equity)
    shown = (format_money(equity), format_money(equity, compact=True))
    assert any(s in _text(report["soup"]["03_clv"]) for s in shown), f"the value page shows neither of {shown}"


def test_high_churn_risk_and_value_at_risk_on_the_summary_are_the_churn_metrics(report: dict) -> None:
    m = report["metrics"]["04_churn"]
    summary = _text(report["soup"][SUMMARY])
    said = re.search(r"([\d,]+) of them are at high churn risk, with (\S+) of value at risk", summary)
    assert said, "the summary's retention action is missing"
    assert said.group(1) == format_count(m["high_risk_customers"])
    assert said.group(2) == format_money(m["high_risk_value_at_risk"], compact=True)
    assert format_count(m["high_risk_customers"]) in _text(report["soup"]["04_churn"])
    assert tuple(churn.RISK_BANDS) == CHURN_RISK_BANDS  # "high churn risk" means the vocabulary's band


@pytest.mark.parametrize("page", ["04_churn"])
def test_the_churn_page_shows_the_summary_value_at_risk(report: dict, page: str) -> None:
    value = report["metrics"][page]["high_risk_value_at_risk"]
    text = _text(report["soup"][page])
    assert any(s in text for s in (format_money(value), format_money(value, compact=True)))


@pytest.mark.parametrize("page, words, kpi", [
    pytest.param(page, words, kpi)
    for page in PAGES for words, kpi in (("active customers", "active_customers"), ("new customers", "new_customers"))
])
def test_a_count_named_alike_on_any_page_is_the_summary_number(report: dict, page: str, words: str, kpi: str) -> None:
    """"N active customers" anywhere means the period's active customers (the vocabulary's term)."""
    expected = format_count(report["metrics"][SUMMARY][kpi])
    for found in re.findall(rf"\b([\d,]+) {words}\b", _text(report["soup"][page]), flags=re.IGNORECASE):
        assert found == expected, f"{page} says '{found} {words}', the summary {expected}"


def test_top20_share_on_the_summary_is_its_metric(report: dict) -> None:
    share = format_kpi("top20_revenue_share", report["metrics"][SUMMARY]["top20_revenue_share"])
    table = _headline_table(report["soup"][SUMMARY])
    assert table[KPI_LABELS["top20_revenue_share"]][0] == share


def test_the_glossary_is_on_the_summary(report: dict) -> None:
    cells = [td.get_text(" ").strip() for el in _section(report["soup"][SUMMARY], "Glossary")
             if el.name == "table" for td in el.select("tbody td")]
    assert {e.term for e in GLOSSARY} <= set(cells)
    assert "90 days" in cells  # the shipped churn window, stated beside its terms


def test_what_to_act_on_has_3_to_5_actions_linking_pages_that_exist(report: dict) -> None:
    items = [el for el in _section(report["soup"][SUMMARY], "What to act on") if el.name == "li"]
    assert 3 <= len(items) <= 5
    for item in items:
        links = [a["href"] for a in item.find_all("a")]
        pages = [h for h in links if h.endswith(".html")]
        assert pages and all((report["dir"] / h).is_file() for h in pages), links
        assert all((report["dir"] / h).is_file() for h in links), f"a link goes nowhere: {links}"
        assert re.search(r"\d", item.get_text()), "an action without a number"
    assert len(report["metrics"][SUMMARY]["actions"]) == len(items)


def test_period_index_counts_the_caveats_the_summary_shows(report: dict) -> None:
    shown = [el for el in _section(report["soup"][SUMMARY], "Caveats") if el.name == "li"]
    assert len(shown) == len(report["metrics"][SUMMARY]["warnings"])
    index = _text(_soup(report["dir"], "index"))
    counted = re.search(r"Executive summary .*?(\d+) caveats? on the page", index)
    assert counted and int(counted.group(1)) == len(shown)


def test_year_ago_column_only_with_a_year_of_history(report: dict) -> None:
    """The synthetic log starts in Jan 2010: Nov 2011 has its year-ago month, so the column is there."""
    soup = report["soup"][SUMMARY]
    headers = [th.get_text() for th in soup.select("table.crm-table th")]
    assert report["metrics"][SUMMARY]["year_ago_compared"] is True
    assert "vs same period last year" in headers
    deltas = soup.select("td.delta")
    assert deltas and {c for td in deltas for c in td["class"]} & {"good", "bad"}


def test_summary_manager_text_has_no_internal_names(report: dict) -> None:
    soup = report["soup"][SUMMARY]
    manager = " ".join(el.get_text(" ") for title in ("This period at a glance", "What to act on", "Caveats", "Glossary")
                       for el in _section(soup, title) if el.name in ("p", "li", "td"))
    for word in ("crmlib", "workbook.yml", ".parquet", "notebook 0", "BG/NBD", "ROC-AUC", "nan", "None"):
        assert word not in manager, word
