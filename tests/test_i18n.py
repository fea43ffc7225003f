"""Report languages: the Korean catalogue, locale formatting, language-tagged notebook cells."""
from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crmlib.core import bilingual, formatting, glossary, i18n
from crmlib.core.i18n import (
    format_date, format_korean_amount, format_money, format_money_compact, format_month,
    format_number, format_percent, format_points, translator, untranslated,
)
from crmlib.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A test that makes Korean current must not leak it into the next test."""
    yield
    i18n.set_language("en")


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
    stale = {m.id for m in catalog if m.id} - i18n.crmlib_msgids() - bilingual.notebook_msgids(NOTEBOOKS)
    assert stale == set(), "catalogue entries no longer used in crmlib: run `make messages`"


def test_babel_cfg_reads_what_the_tests_check():
    """`make messages` (babel.cfg) and the coverage tests (METHOD_MAP) extract the same files."""
    text = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    assert "[python: crmlib/**.py]" in text and "[jinja2: crmlib/templates/**.j2]" in text
    assert "notebook = crmlib.core.bilingual:extract_notebook" in text and "[notebook: notebooks/*.ipynb]" in text
    assert [method for _pattern, method in i18n.METHOD_MAP] == ["python", "jinja2", "crmlib.core.bilingual:extract_notebook"]


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
    nb, _resources = bilingual.language_preprocessor(language).preprocess(tiny_notebook(), {})
    assert [c.source for c in nb.cells] == kept


def test_language_preprocessor_in_an_html_export():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")
    exporter.register_preprocessor(bilingual.language_preprocessor("ko"), enabled=True)
    html, _ = exporter.from_notebook_node(tiny_notebook())
    assert "최우수 고객이" in html and "Champions bought most." not in html


def test_language_tag_problems():
    assert bilingual.language_tag_problems(tiny_notebook()) == []
    nb = tiny_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"tags": ["lang-ko"]}))
    nb.cells.append(nbformat.v4.new_markdown_cell("x", metadata={"tags": ["lang-jp"]}))
    problems = bilingual.language_tag_problems(nb)
    assert any("cell 4: code cell" in p for p in problems)
    assert any("cell 5: unknown language tag 'lang-jp'" in p for p in problems)


# ----------------------------------------------------------------------------- the current language
def test_current_language_drives_underscore_and_is_restored():
    assert i18n.get_language() == "en" and i18n._("Champions") == "Champions"
    with i18n.using_language("ko"):
        assert i18n._("Champions") == "최우수 고객"
        with i18n.using_language(None):                 # None keeps the current language
            assert i18n.get_language() == "ko"
    assert i18n.get_language() == "en"
    with pytest.raises(ConfigError, match="unknown language 'ja'"):
        i18n.set_language("ja")
    assert i18n.get_language() == "en"


def test_in_config_language_renders_in_the_config_language():
    @i18n.in_config_language
    def title(*, config):
        return i18n._("Champions")

    assert title(config={"language": "ko"}) == "최우수 고객"
    assert title(config={}) == "Champions" and i18n.get_language() == "en"


# ----------------------------------------------------------------------------- crmlib.core.formatting
@pytest.mark.parametrize("call, english, korean", [
    (lambda lang: formatting.format_money(1_435_014, "KRW", language=lang), "₩1,435,014", "1,435,014원"),
    (lambda lang: formatting.format_money(1_435_014_000, "KRW", compact=True, language=lang),
     "₩1,435.0m", "14억 3,501만 원"),
    (lambda lang: formatting.format_money(9_800, "KRW", compact=True, language=lang), "₩9,800", "9,800원"),
    (lambda lang: formatting.format_money(45.3, "KRW", language=lang), "₩45.30", "45원"),
    (lambda lang: formatting.format_money(1_435_014, "GBP", language=lang), "£1,435,014", "£1,435,014"),
    (lambda lang: formatting.format_money(58_300, "GBP", compact=True, language=lang), "£58k", "£58k"),
    (lambda lang: formatting.format_money(45.3, "EUR", language=lang), "€45.30", "€45.30"),
    (lambda lang: formatting.format_money(None, "KRW", language=lang), "–", "–"),
    (lambda lang: formatting.format_money_tick(1_435_014_000, "KRW", language=lang), "₩1,435.0m", "₩14.4억"),
    (lambda lang: formatting.format_money_tick(25_000, "KRW", language=lang), "₩25k", "₩2.5만"),
    (lambda lang: formatting.format_money_tick(2_500_000, "GBP", language=lang), "£2.5m", "£2.5m"),
    (lambda lang: formatting.format_money_tick(0.01, "GBP", language=lang), "£0.01", "£0.01"),
    (lambda lang: formatting.format_money_tick(0.1, "GBP", language=lang), "£0.1", "£0.1"),
    (lambda lang: formatting.format_count(4_297, language=lang), "4,297", "4,297"),
    (lambda lang: formatting.format_count_tick(4_297, language=lang), "4,297", "4,297"),
    (lambda lang: formatting.format_count_tick(12_500, language=lang), "12.5k", "1.25만"),
    (lambda lang: formatting.format_count_tick(1_250_000, language=lang), "1.25m", "125만"),
    (lambda lang: formatting.format_count_tick(-3_000_000, language=lang), "-3m", "-300만"),
    (lambda lang: formatting.format_percent(0.4134, language=lang), "41.3 %", "41.3%"),
    (lambda lang: formatting.format_percent(0.4134, 0, language=lang), "41 %", "41%"),
    (lambda lang: formatting.format_points(0.034, language=lang), "+3.4 pts", "+3.4%p"),
    (lambda lang: formatting.format_change(-0.038, language=lang), "-3.8 %", "-3.8%"),
    (lambda lang: formatting.format_date("2011-11-30", language=lang), "30 Nov 2011", "2011. 11. 30."),
    (lambda lang: formatting.format_date(pd.Timestamp("2011-01-05 12:50"), language=lang), "5 Jan 2011", "2011. 1. 5."),
    (lambda lang: formatting.format_date(None, language=lang), "–", "–"),
    (lambda lang: formatting.format_period("2011-11", language=lang), "Nov 2011", "2011년 11월"),
    (lambda lang: formatting.format_period("last 12 months", language=lang), "last 12 months", "last 12 months"),
])
def test_one_formatter_speaks_both_languages(call, english, korean):
    assert (call("en"), call("ko")) == (english, korean)
    with i18n.using_language("ko"):                       # language=None: the current language
        assert call(None) == korean
    assert call(None) == english


def _reference_english_money(value, currency, compact):
    """The English money rule as written before languages existed (the report must not change)."""
    symbol = formatting.CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign, v = ("-" if value < 0 else ""), abs(value)
    if compact and v >= 1e6:
        return f"{sign}{symbol}{v / 1e6:,.1f}m"
    if compact and v >= 1e4:
        return f"{sign}{symbol}{v / 1e3:,.0f}k"
    return f"{sign}{symbol}{v:,.2f}" if v < 100 else f"{sign}{symbol}{v:,.0f}"


def test_english_money_is_unchanged_over_a_range_of_amounts():
    amounts = [0, 0.004, 1, 45.3, 99.994, 99.995, 100, 9_999.5, 10_000, 58_300, 999_999, 1e6, 1_503_866.78]
    for value in amounts + [-a for a in amounts]:
        for currency in ("GBP", "KRW", "EUR", "XYZ"):
            for compact in (False, True):
                assert formatting.format_money(value, currency, compact=compact) == \
                    _reference_english_money(value, currency, compact)


def test_money_axis_writes_won_the_korean_way(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 2e9])
    plots.money_axis(ax, "KRW")
    tick = ax.yaxis.get_major_formatter()
    assert tick(1.5e9, 0) == "₩1,500.0m"
    with i18n.using_language("ko"):
        assert tick(1.5e9, 0) == "₩15억"
    plt.close(fig)


# ----------------------------------------------------------------------------- the run's language
def _workbook(tmp_path, language_line: str) -> Path:
    data = tmp_path / "sales.csv"
    data.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n", encoding="utf-8")
    path = tmp_path / "workbook.yml"
    path.write_text(f"{language_line}\nsources: [sales.csv]\n", encoding="utf-8")
    return path


def test_language_in_workbook_yml_is_checked_like_every_key(tmp_path):
    from crmlib.core import config

    assert config.load_config(_workbook(tmp_path, "language: ko"))["language"] == "ko"
    assert config.load_config(_workbook(tmp_path, ""))["language"] == "en"
    with pytest.raises(ConfigError, match=r"workbook\.yml: language: unknown language 'jp'; allowed: en, ko"):
        config.load_config(_workbook(tmp_path, "language: jp"))


def test_language_option_overrides_the_file_for_one_run_and_reaches_the_kernel(tmp_path):
    from crmlib.core.context import RunContext
    from crmlib.core.run import RUN_FILE, resolve_run

    path = _workbook(tmp_path, "language: en")
    run = resolve_run(config_path=path, period="2010-12", language="ko")
    assert run.language == "ko" and resolve_run(config_path=path, period="2010-12").language == "en"
    artifacts = tmp_path / "artifacts"
    run.write(artifacts)
    assert json.loads((artifacts / RUN_FILE).read_text(encoding="utf-8"))["config"]["language"] == "ko"
    ctx = RunContext.create("07_units", **{k: v for k, v in run.parameters(artifacts).items()})
    assert ctx.language == "ko" and i18n.get_language() == "ko"      # as in the notebook's kernel
    assert formatting.format_money(1_435_014, "KRW") == "1,435,014원"
    with pytest.raises(ConfigError, match="--language: unknown language 'jp'"):
        resolve_run(config_path=path, period="2010-12", language="jp")


def test_crm_report_language_option_is_one_clear_error(tmp_path, capsys):
    from crmlib import cli

    path = _workbook(tmp_path, "language: en")
    assert cli.main(["report", "--config", str(path), "--language", "jp", "--no-progress"]) == 1
    assert "crm: error: --language: unknown language 'jp'; allowed: en, ko" in capsys.readouterr().err


# ----------------------------------------------------------------------------- coverage: nothing a manager reads left in English
#: Notebooks written in both languages (every markdown cell paired or neutral, every code-cell
#: ``_()`` translated). Add a notebook here when you translate it (docs/translating.md);
#: when every notebook is here, the report is fully Korean.
TRANSLATED_NOTEBOOKS: list[str] = ["00_summary", "01_data_cleaning", "02_segmentation", "03_clv", "04_churn", "05_basket",
                                   "06_campaigns", "07_units"]


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", TRANSLATED_NOTEBOOKS)
def test_translated_notebook_has_korean_for_every_cell_a_manager_reads(name):
    assert bilingual.bilingual_problems(_notebook(name)) == []
    missing = untranslated(bilingual.notebook_msgids([ROOT / "notebooks" / f"{name}.ipynb"]), "ko")
    assert missing == [], f"{name}: code-cell prose without Korean: {missing[:3]}"
    done, total = bilingual.markdown_coverage(_notebook(name))
    assert done == total > 0


def test_translated_notebooks_exist():
    assert set(TRANSLATED_NOTEBOOKS) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_uses_language_tags_correctly(path):
    assert bilingual.language_tag_problems(nbformat.read(path, as_version=4)) == []


def test_bilingual_check_can_fail():
    nb = tiny_notebook()
    assert [p[:7] for p in bilingual.bilingual_problems(nb)] == ["cell 0:"]          # '# Segments / 세그먼트'
    nb.cells[0].source = "## 2011 · 2012"                                              # neutral: fine
    nb.cells.append(nbformat.v4.new_markdown_cell("---"))
    assert bilingual.bilingual_problems(nb) == []
    nb.cells.append(nbformat.v4.new_markdown_cell("## What to do next"))              # untagged English
    nb.cells.append(nbformat.v4.new_markdown_cell("Call them.", metadata={"tags": ["lang-en"]}))   # no pair
    nb.cells.append(nbformat.v4.new_code_cell("y = 1"))
    nb.cells.append(nbformat.v4.new_markdown_cell("## Who", metadata={"tags": ["lang-en"]}))
    nb.cells.append(nbformat.v4.new_markdown_cell("누구", metadata={"tags": ["lang-ko"]}))   # lost its heading
    problems = bilingual.bilingual_problems(nb)
    assert any(p.startswith("cell 5: markdown '## What to do next' has no language tag") for p in problems)
    assert any(p.startswith("cell 6: 1 lang-en, 0 lang-ko cells") for p in problems)
    assert any(p.startswith("cells 8, 9: translations of one another start with different heading levels")
               for p in problems)
    assert len(problems) == 3


def test_code_cell_prose_is_extracted_from_notebooks(tmp_path):
    nb = tiny_notebook()
    nb.cells.append(nbformat.v4.new_code_cell('%matplotlib inline\nshow(_("""## Only here\\n\\nThe list."""))'))
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert bilingual.notebook_msgids([path]) == {"## Only here\n\nThe list."}
    assert untranslated(bilingual.notebook_msgids([path]), "ko") == ["## Only here\n\nThe list."]


def test_every_page_title_and_description_has_korean():
    from crmlib.core.pages import load_pages

    texts = [t for page in load_pages().values() for t in (page.title, page.description)]
    assert untranslated(texts, "ko") == [], "mark the Page's title/description with N_ and run `make messages`"


def test_share_of_manager_visible_text_translated(capsys):
    """Prints the share translated (``python -m crmlib.core.bilingual`` prints the same)."""
    coverage = bilingual.translation_coverage(NOTEBOOKS)
    with capsys.disabled():
        print("\n" + "; ".join(f"{kind}: {done}/{total}" for kind, (done, total) in coverage.items()))
    assert coverage["crmlib strings"][0] == coverage["crmlib strings"][1]
    translated = [bilingual.markdown_coverage(_notebook(n)) for n in TRANSLATED_NOTEBOOKS]
    assert coverage["notebook markdown cells"][0] >= sum(done for done, _total in translated)


def test_units_page_sentences_and_tables_in_korean():
    """The worked example (page 07): its sentences, headers and summary line follow the run's language."""
    import re

    from crmlib.pages import units

    lines = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"], "source": ["호텔", "베이커리", "호텔", "베이커리", "매장"],
                          "amount": [1_200_000.0, 30_000.0, 800_000.0, 12_000.0, 55_000.0]})
    clv = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [2_500_000.0, 900_000.0, 1_435_014.0]})
    english = units.describe_units(units.analyse_units(lines), "KRW", clv)
    with i18n.using_language("ko"):
        view = units.analyse_units(lines)
        korean = units.describe_units(view, "KRW", clv)
        table = units.shown(view, units.value_by_units(view, clv), "KRW").to_frame()
        finding = units.finding(units.headline_metrics(view, clv), "KRW")
    assert english.startswith("Of **3 customers**, 2 (66.7 %) buy in two or more units")
    assert korean.startswith("**고객 3명** 중 2명(66.7%)이 두 곳 이상의 사업부에서 구매하며")
    assert "1,967,507원" in korean and "₩" not in korean
    assert not re.search(r"[A-Za-z]{3,}", korean.replace("CLV", "")), korean     # no English word but CLV
    assert list(table.columns)[:2] == ["이용 형태", "고객"] and table.iloc[0, 0] == "한 곳 이용"
    assert finding.startswith("고객 3명 중 2명이 3개 사업부 가운데 두 곳 이상에서 구매하며")
