"""Report languages: the Korean catalogue, locale formatting, language-tagged notebook cells."""
from __future__ import annotations

import datetime as dt
import string

import nbformat
import pandas as pd
import pytest

from crmlib.core import glossary, i18n
from crmlib.core.i18n import (
    format_date, format_korean_amount, format_money, format_money_compact, format_month,
    format_number, format_percent, format_points, translator, untranslated,
)
from crmlib.errors import ConfigError


# ----------------------------------------------------------------------------- messages
def placeholders(text: str) -> set[str]:
    """The str.format field names in ``text``."""
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_placeholder_check_can_fail():
    assert placeholders("Revenue in {month}") != placeholders("{월} 매출")
    assert placeholders("Revenue in {month}") == placeholders("{month} 매출")


def test_every_string_crmlib_marks_has_a_korean_translation():
    msgids = i18n.crmlib_msgids()
    assert set(glossary.KPI_NAMES.values()) <= msgids     # the extractor sees N_() constants
    missing = untranslated(msgids, "ko")
    assert missing == [], f"{len(missing)} strings without Korean translation: {missing[:10]}"


def test_untranslated_finds_a_missing_id():
    assert untranslated(["Champions", "A brand new sentence"], "ko") == ["A brand new sentence"]
    assert untranslated(["A brand new sentence"], "en") == []


def test_korean_catalogue_is_valid_and_has_no_fuzzy_or_stale_entries():
    catalog = i18n.load_catalog("ko")
    assert not [m.id for m in catalog if m.id and m.fuzzy]
    assert not list(catalog.obsolete)
    # crmlib's convention is str.format placeholders ({month}); Babel's python-format check
    # would misread "20 % customers" as a %-placeholder, so the braces are compared here.
    mismatched = [m.id for m in catalog if m.id and m.string and placeholders(m.id) != placeholders(m.string)]
    assert mismatched == []
    stale = {m.id for m in catalog if m.id} - i18n.crmlib_msgids()
    assert stale == set(), "catalogue entries no longer used in crmlib: run `make messages`"


def test_translator_translates_korean_and_leaves_english_alone():
    ko, en = translator("ko"), translator("en")
    assert ko("Champions") == "최우수 고객"
    assert ko(glossary.KPI_NAMES["repeat_purchase_rate"]) == "재구매율"
    assert en("Champions") == "Champions"
    assert ko("Not in the catalogue") == "Not in the catalogue"


def test_kpi_names_match_the_kpi_module_labels():
    from crmlib.core import kpis

    assert glossary.KPI_NAMES == kpis.KPI_LABELS


def test_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError, match="allowed: en, ko"):
        translator("ja")


# ----------------------------------------------------------------------------- numbers
def test_money_korean_won_has_no_decimals():
    assert format_money(1_435_014, "KRW", "ko") == "1,435,014원"
    assert format_money(1_435_014.6, "KRW", "ko", decimals=2) == "1,435,015원"
    assert format_money(1_435_014, "KRW", "ko", won_suffix=False) == "₩1,435,014"
    assert format_money(1_435_014, "KRW", "en") == "₩1,435,014"
    assert format_money(-9_800, "KRW", "ko") == "-9,800원"


def test_money_other_currencies_keep_their_conventions_in_a_korean_report():
    assert format_money(1_435_014, "GBP", "ko") == "£1,435,014"
    assert format_money(1_435_014, "GBP", "en") == "£1,435,014"
    assert format_money(12.5, "GBP", "en", decimals=2) == "£12.50"
    assert format_money(12.5, "EUR", "ko", decimals=2) == "€12.50"


def test_money_compact_counts_in_man_and_eok_in_korean():
    assert format_money_compact(1_435_014_000, "KRW", "ko") == "₩14.4억"
    assert format_money_compact(14_350_140, "KRW", "ko") == "₩1,435만"
    assert format_money_compact(9_800, "KRW", "ko") == "₩9,800"
    assert format_money_compact(1_435_014, "GBP", "en") == "£1.4m"


@pytest.mark.parametrize("value, text", [
    (1_435_014_000, "14억 3,501만 원"),
    (1_435_014, "143만 5,014원"),
    (300_000_000, "3억 원"),
    (100_005_000, "1억 1만 원"),
    (2_000_000_000_000, "2조 원"),
    (9_800, "9,800원"),
    (10_000, "1만 원"),
    (0, "0원"),
    (-1_435_014, "-143만 5,014원"),
])
def test_korean_amount_in_sentences(value, text):
    assert format_korean_amount(value) == text


def test_korean_amount_exact_and_without_unit():
    assert format_korean_amount(1_435_014_321, exact=True) == "14억 3,501만 4,321원"
    assert format_korean_amount(1_435_014_000, unit="") == "14억 3,501만"


def test_numbers_percent_and_points():
    assert format_number(1_435_014, "ko") == "1,435,014"
    assert format_number(3.14159, "en", 2) == "3.14"
    assert format_percent(0.1234, "ko") == "12%"
    assert format_percent(0.1234, "en", 1) == "12.3%"
    assert format_points(0.023, "ko") == "+2.3%p"
    assert format_points(-0.023, "en") == "-2.3 pts"
    assert format_points(0.0001, "en") == "0.0 pts"


@pytest.mark.parametrize("value", [dt.date(2011, 11, 30), pd.Timestamp("2011-11-30 12:50"),
                                   pd.Period("2011-11-30", "D"), "2011-11-30"])
def test_dates(value):
    assert format_month(value, "ko") == "2011년 11월"
    assert format_month(value, "en") == "November 2011"
    assert format_date(value, "ko") == "2011. 11. 30."
    assert format_date(value, "en") == "30 Nov 2011"


def test_month_from_period_text():
    assert format_month("2011-11", "ko") == "2011년 11월"
    assert format_month(pd.Period("2011-11", "M"), "en") == "November 2011"


# ----------------------------------------------------------------------------- notebooks
def tiny_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Segments / 세그먼트"),                      # every language
        nbformat.v4.new_markdown_cell("Champions bought most.", metadata={"tags": ["lang-en"]}),
        nbformat.v4.new_markdown_cell("최우수 고객이 가장 많이 샀습니다.", metadata={"tags": ["lang-ko"]}),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
    ]
    return nb


@pytest.mark.parametrize("language, kept", [
    ("en", ["# Segments / 세그먼트", "Champions bought most.", "x = 1"]),
    ("ko", ["# Segments / 세그먼트", "최우수 고객이 가장 많이 샀습니다.", "x = 1"]),
])
def test_language_preprocessor_keeps_own_and_untagged_cells(language, kept):
    nb, _resources = i18n.language_preprocessor(language).preprocess(tiny_notebook(), {})
    assert [c.source for c in nb.cells] == kept


def test_language_preprocessor_in_an_html_export():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")
    exporter.register_preprocessor(i18n.language_preprocessor("ko"), enabled=True)
    html, _ = exporter.from_notebook_node(tiny_notebook())
    assert "최우수 고객이" in html and "Champions bought most." not in html


def test_language_tag_problems():
    assert i18n.language_tag_problems(tiny_notebook()) == []
    nb = tiny_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"tags": ["lang-ko"]}))
    nb.cells.append(nbformat.v4.new_markdown_cell("x", metadata={"tags": ["lang-jp"]}))
    problems = i18n.language_tag_problems(nb)
    assert any("cell 4: code cell" in p for p in problems)
    assert any("cell 5: unknown language tag 'lang-jp'" in p for p in problems)
