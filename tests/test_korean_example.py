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
