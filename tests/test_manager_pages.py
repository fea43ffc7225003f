"""Every page a manager opens, read as a manager would (issue 13's acceptance checks).

On the session's one full report (``full_report`` in ``conftest.py``): tables have no
positional 0..n index and show no raw values (NaN, None, True/False, counts as ``12.0``);
the manager part of every page (everything before its "For analysts" section) names no
internal file, module or setting; the retention list is downloadable from the churn page
and the glossary is there.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

RAW_VALUES = {"nan", "none", "true", "false", "nat", "<na>"}
INTERNAL = ("crmlib", "workbook.yml", ".parquet", "notebook 0", "returns_mode", "min_support", "penalizer")
WHOLE_AS_FLOAT = re.compile(r"^-?\d[\d,]*\.0$")


@pytest.fixture(scope="module")
def pages(full_report: dict) -> dict[str, BeautifulSoup]:
    period_dir: Path = full_report["period_dir"]
    found = sorted(period_dir.glob("[0-9][0-9]_*.html"))
    assert found, "the full report published no page"
    return {p.stem: BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser") for p in found}


def _manager_part(soup: BeautifulSoup) -> str:
    """The page's text up to its "For analysts" heading (model names and settings may follow it)."""
    text = (soup.find("main") or soup.body or soup).get_text(" ")
    return re.split(r"For analysts", text, maxsplit=1)[0]


def test_no_table_shows_a_positional_index(pages: dict) -> None:
    offenders = []
    for name, soup in pages.items():
        for table in soup.find_all("table"):
            row_heads = [th.get_text(strip=True) for th in table.select("tbody tr > th:first-child")]
            if len(row_heads) >= 2 and row_heads == [str(i) for i in range(len(row_heads))]:
                offenders.append(f"{name}: table starting {row_heads[:3]}")
    assert not offenders, offenders


def test_no_table_cell_shows_a_raw_value(pages: dict) -> None:
    offenders = []
    for name, soup in pages.items():
        for cell in soup.select("table td, table th"):
            text = cell.get_text(strip=True)
            if text.lower() in RAW_VALUES or WHOLE_AS_FLOAT.match(text):
                offenders.append(f"{name}: {text!r}")
    assert not offenders, offenders[:20]


@pytest.mark.parametrize("word", INTERNAL)
def test_manager_text_names_no_internal_file_module_or_setting(pages: dict, word: str) -> None:
    leaks = [name for name, soup in pages.items() if word in _manager_part(soup)]
    assert not leaks, f"{word!r} in the manager part of {leaks}"


def test_the_retention_list_is_downloadable_from_the_churn_page(full_report: dict, pages: dict) -> None:
    links = [a["href"] for a in pages["04_churn"].find_all("a", href=True) if a["href"].startswith("downloads/")]
    assert any("retention" in href for href in links), links
    for href in links:
        assert (full_report["period_dir"] / href).is_file(), href


def test_the_glossary_page_defines_the_shared_terms(full_report: dict) -> None:
    glossary = (full_report["period_dir"] / "glossary.html").read_text(encoding="utf-8")
    for term in ("Active customers", "Value at risk", "Customer equity"):
        assert term in glossary, term
