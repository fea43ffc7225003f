"""The Korean example (examples/ko): its export is Korean, cp949, and the intake reads it."""
from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from crmlib import cleaning
from crmlib.core import config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ko"


def _load_make_export():
    spec = importlib.util.spec_from_file_location("make_export", EXAMPLE / "make_export.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_export = _load_make_export()
WORDS = make_export.read_table(make_export.WORDS)
COUNTRIES = make_export.read_table(make_export.COUNTRIES)

LINES = pd.DataFrame({
    "InvoiceNo": ["536365", "536365", "C536379", "536380"],
    "StockCode": ["85123A", "22752", "22752", "POST"],
    "Description": ["WHITE HANGING HEART T-LIGHT HOLDER", "SET 7 BABUSHKA NESTING BOXES",
                    "SET 7 BABUSHKA NESTING BOXES", "POSTAGE"],
    "Quantity": [6, 2, -1, 1],
    "InvoiceDate": ["2010-12-01 08:26:00", "2010-12-01 08:26:00", "2010-12-02 09:41:00", "2010-12-03 10:00:00"],
    "UnitPrice": [2.55, 7.65, 7.65, 18.0],
    "CustomerID": ["17850", "17850", "17850", None],
    "Country": ["United Kingdom", "United Kingdom", "United Kingdom", "EIRE"],
})


def test_product_names_word_by_word():
    assert make_export.korean_product_name("WHITE HANGING HEART T-LIGHT HOLDER", WORDS) == "화이트 행잉 하트 티라이트 홀더"
    assert make_export.korean_product_name("SET OF 3 CAKE TINS PANTRY DESIGN ", WORDS) == "케이크 틴 팬트리 디자인 3개 세트"
    assert make_export.korean_product_name("DOTCOM POSTAGE", WORDS) == "닷컴 배송비"
    assert make_export.korean_product_name("REGENCY CAKESTAND 3 TIER", WORDS) == "리젠시 케이크스탠드 3단"
    assert make_export.korean_product_name("PAPER CHAIN KIT 50'S CHRISTMAS ", WORDS) == "종이 체인 키트 50년대 크리스마스"
    assert make_export.korean_product_name("FLUX CAPACITOR", WORDS) is None
    assert make_export.korean_description("FLUX CAPACITOR", WORDS) == "FLUX CAPACITOR"


def test_word_tables_are_korean_and_cp949():
    assert all(v == "" or v.encode("cp949") for v in WORDS.values())
    assert set(COUNTRIES.values()).issuperset({"영국", "독일", "프랑스", "아일랜드"})
    for path in (make_export.WORDS, make_export.COUNTRIES):
        keys = [ln.split("\t")[0] for ln in path.read_text(encoding="utf-8").splitlines()
                if ln and not ln.startswith("#")]
        assert len(keys) == len(set(keys)), f"duplicate keys in {path.name}"


def test_prices_become_whole_won_at_the_stated_rate():
    won = make_export.won(pd.Series([2.55, 0.001, 0.0, -11062.06]))
    assert won.tolist() == [4590, 2, 0, -19911708]


def test_export_is_read_by_the_intake_with_the_example_config(tmp_path):
    export = make_export.to_korean(LINES, WORDS, COUNTRIES)
    assert list(export.columns) == ["고객번호", "주문번호", "주문일자", "상품코드", "상품명", "수량", "단가", "국가"]
    assert export["주문일자"].iloc[0] == "2010/12/01 08:26"
    path = tmp_path / "data" / "pos_export_cp949.csv.gz"
    path.parent.mkdir()
    export.to_csv(path, index=False, encoding="cp949", compression="gzip")
    raw = gzip.decompress(path.read_bytes())
    assert raw.decode("cp949").startswith("고객번호,")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    (tmp_path / "workbook.yml").write_text((EXAMPLE / "workbook.yml").read_text(encoding="utf-8"), encoding="utf-8")

    cfg = config.load_config(tmp_path / "workbook.yml")
    assert (cfg["language"], cfg["currency"]) == ("ko", "KRW")
    result = cleaning.clean_sources(cfg["sources"], pd.Timestamp("2010-12-31"), cfg["cleaning"])
    t = result.transactions
    assert result.audit["rows_in"] == 4
    assert t.loc[t["product_id"] == "85123A", "product_name"].item() == "화이트 행잉 하트 티라이트 홀더"
    assert t.loc[t["product_id"] == "85123A", "amount"].item() == 6 * 4590
    assert set(t["country"]) == {"영국"}
    assert t["invoice_date"].min() == pd.Timestamp("2010-12-01 08:26")


def test_top_200_products_of_the_sample_get_korean_names():
    sample = make_export.read_sample()
    top = make_export.top_products(sample)
    assert len(top) == 200
    english = [f"{code} {name}" for code, name in top.items()
               if make_export.korean_product_name(name, WORDS) is None]
    assert english == []


# ----------------------------------------------------------------------------- the Korean report's pages
def _executed_notebook(folder: Path, name: str) -> None:
    """A small executed notebook in both languages, as papermill leaves it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# One customer across our units", metadata={"tags": ["lang-en"]}),
        nbformat.v4.new_markdown_cell("# 여러 사업부를 이용하는 고객", metadata={"tags": ["lang-ko"]}),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": "매출 **14억 3,501만 원**"})]),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_site_speaks_the_run_language(tmp_path, language):
    import json

    from crmlib import site
    from crmlib.core import i18n

    period_dir = tmp_path / "reports" / "2011-11"
    for name in ("00_summary", "07_units"):
        _executed_notebook(period_dir / "notebooks", name)
    metrics = period_dir / "artifacts" / "metrics"
    metrics.mkdir(parents=True)
    (metrics / "07_units.json").write_text(json.dumps({"as_of": "2011-11-30", "warnings": ["a", "b"]}))
    (metrics / "00_summary.json").write_text(json.dumps({
        "as_of": "2011-11-30", "revenue": 1_435_014_000, "active_customers": 1664, "retention_rate": 0.907,
        "change_vs_previous": {"revenue": 0.306, "retention_rate": 0.034}}))
    config = {"language": language, "currency": "KRW"}

    page = site.render_pages(period_dir / "notebooks", period_dir, ["00_summary", "07_units"], period="2011-11",
                             config=config)[1].read_text(encoding="utf-8")
    index = site.write_period_index(period_dir, period="2011-11", as_of="2011-11-30",
                                    config=config).read_text(encoding="utf-8")
    home = site.write_site_index(tmp_path / "reports", config=config).read_text(encoding="utf-8")
    assert i18n.get_language() == "en"                     # rendering left the process as it was

    if language == "ko":
        assert '<html lang="ko">' in page and "# 여러 사업부를" not in page and "One customer across" not in page
        assert "여러 사업부를 이용하는 고객 · 2011년 11월" in page and "데이터 기준일 2011. 11. 30." in page
        assert "경영 요약" in page                           # the navigation: the summary's title in Korean
        assert '<html lang="ko">' in index and "CRM 보고서 · 2011년 11월" in index
        assert "2011. 11. 30. 기준 데이터입니다." in index and "이 페이지의 유의 사항 2건" in index
        assert "14억 3,501만 원" not in index and "1,435,014,000원" in index     # cards: the full amount
        assert "전기 대비 +30.6%" in index and "+3.4%p" in index and "90.7%" in index
        assert "여러 사업부를 함께 이용하는 고객" in index                          # the page's description
        assert "기간별 보고서 한 개씩" in home and "2011년 11월" in home and "1,435,014,000원" in home
    else:
        assert '<html lang="en">' in page and "여러 사업부" not in page and "One customer across our units" in page
        assert "One customer across our units · Nov 2011 · data up to 30 Nov 2011" in page
        assert "CRM report · Nov 2011" in index and "2 caveats on the page" in index
        assert "₩1,435,014,000" in index and "+30.6 % vs previous period" in index and "+3.4 pts" in index
        assert "One report per period, newest first" in home
