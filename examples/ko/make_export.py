"""Make the Korean example's POS export from the bundled UCI sample.

The result looks like a Korean shop's POS or Excel export: Korean headers, cp949 (the
encoding Korean Excel writes), dates ``YYYY/MM/DD HH:MM``, Korean product and country
names, prices in won. Every line of the sample is kept, in order, so cleaning it gives
the same rows in and kept as the English sample.

- **Amounts:** the sample is in GBP; unit prices are converted at a fixed, stated rate of
  ``KRW_PER_GBP`` won per pound (about the 2011 average, rounded) and rounded to whole won.
  The rate only makes the example's amounts look like won: it is not a market rate.
- **Product names:** translated word by word with ``product_words.tsv`` (HEART -> 하트,
  HOLDER -> 홀더, T-LIGHT -> 티라이트; whole descriptions such as POSTAGE first); a
  description with a word the table lacks keeps its English name, as mixed Korean POS
  data does. The product code stays, so products remain distinct. The table covers every
  word of the top 300 products by revenue; ``--check`` fails when one of the top 200 is
  left in English.
- **Countries:** ``countries.tsv`` (all 38 countries of the sample).

Run it from the repository root (``make`` does so on first use of the example)::

    .venv/bin/python examples/ko/make_export.py          # writes examples/ko/data/pos_export_cp949.csv.gz
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = ROOT / "data" / "sample" / "online_retail.csv.gz"
OUTPUT = HERE / "data" / "pos_export_cp949.csv.gz"
WORDS = HERE / "product_words.tsv"
COUNTRIES = HERE / "countries.tsv"

#: Fixed conversion rate of the example (won per pound), stated in README.ko.md.
KRW_PER_GBP = 1_800
ENCODING = "cp949"
DATE_FORMAT = "%Y/%m/%d %H:%M"
#: Sample column -> Korean header, in the export's column order.
KOREAN_HEADERS: dict[str, str] = {
    "CustomerID": "고객번호",
    "InvoiceNo": "주문번호",
    "InvoiceDate": "주문일자",
    "StockCode": "상품코드",
    "Description": "상품명",
    "Quantity": "수량",
    "UnitPrice": "단가",
    "Country": "국가",
}
#: How many top products (by revenue) must get a Korean name.
TOP_PRODUCTS_IN_KOREAN = 200

_SET_OF = re.compile(r"\b(?:SET OF|SET/|S/|SET)\s*(\d+)\b")
_PACK_OF = re.compile(r"\b(?:PACK OF|PACK/)\s*(\d+)\b")
_DECADE = re.compile(r"^(\d0)'S$")
_NUMBER_LIKE = re.compile(r"^\d[\w.\"'/x-]*$", re.IGNORECASE)
_VOUCHER = re.compile(r"^Dotcomgiftshop Gift Voucher £(\d+)\.00$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def read_table(path: Path) -> dict[str, str]:
    """A two-column TSV (``english<TAB>korean``, ``#`` comments, one header line) as a dict."""
    table: dict[str, str] = {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    for line in lines[1:]:
        english, _, korean = line.partition("\t")
        table[english] = korean
    return table


def korean_product_name(description: str, words: dict[str, str], rate: int = KRW_PER_GBP) -> str | None:
    """The Korean name of one product description, or ``None`` when a word is unknown.

    Whole descriptions in ``words`` (keys with spaces, e.g. ``DOTCOM POSTAGE``) win;
    otherwise ``SET OF 3`` / ``PACK OF 12`` become a Korean suffix (``3개 세트``,
    ``12개입``), numbers and sizes stay as they are and every other word is looked up.
    """
    voucher = _VOUCHER.match(description.strip())
    if voucher:
        return f"닷컴기프트샵 상품권 {int(voucher.group(1)) * rate:,}원"
    text = " ".join(re.sub(r",(?=\S)", ", ", description.upper()).split())
    if text in words:
        return words[text]
    suffixes: list[str] = []
    for pattern, suffix in ((_SET_OF, "{}개 세트"), (_PACK_OF, "{}개입")):
        match = pattern.search(text)
        if match:
            suffixes.append(suffix.format(match.group(1)))
            text = pattern.sub(" ", text, count=1)
    out: list[str] = []
    for token in text.split():
        if token in words:
            out.append(words[token])
        elif token.rstrip(",.") in words:
            out.append(words[token.rstrip(",.")] + token[len(token.rstrip(",.")):])
        elif _DECADE.match(token):
            out.append(_DECADE.sub(r"\1년대", token))
        elif _NUMBER_LIKE.match(token):
            out.append(token)
        else:
            return None
    name = " ".join(part for part in [*out, *suffixes] if part)
    name = re.sub(r"(\d) (단|개)\b", r"\1\2", name)         # counters attach to numbers: 3단
    return re.sub(r"\s+([,.])", r"\1", name).strip() or None


def korean_description(description: str | float, words: dict[str, str], rate: int = KRW_PER_GBP) -> str | float:
    """The Korean name when every word is known, else the original (missing stays missing)."""
    if not isinstance(description, str):
        return description
    return korean_product_name(description, words, rate) or description.replace("£", "GBP ")


def won(prices_gbp: pd.Series, rate: int = KRW_PER_GBP) -> pd.Series:
    """GBP prices in whole won at ``rate``, rounded half away from zero (the sign kept)."""
    values = prices_gbp.to_numpy(dtype="float64") * rate
    return pd.Series(np.sign(values) * np.floor(np.abs(values) + 0.5), index=prices_gbp.index).astype("int64")


def read_sample(path: Path = SAMPLE) -> pd.DataFrame:
    """The sample as text columns except Quantity and UnitPrice (ids keep their exact text)."""
    return pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str,
                                    "Description": str, "Country": str, "InvoiceDate": str})


def to_korean(sample: pd.DataFrame, words: dict[str, str], countries: dict[str, str],
              rate: int = KRW_PER_GBP) -> pd.DataFrame:
    """The Korean export as a frame: same lines in the same order, Korean headers and names."""
    names = {d: korean_description(d, words, rate) for d in sample["Description"].dropna().unique()}
    out = pd.DataFrame({
        "CustomerID": sample["CustomerID"],
        "InvoiceNo": sample["InvoiceNo"],
        "InvoiceDate": pd.to_datetime(sample["InvoiceDate"]).dt.strftime(DATE_FORMAT),
        "StockCode": sample["StockCode"],
        "Description": sample["Description"].map(names),
        "Quantity": sample["Quantity"],
        "UnitPrice": won(sample["UnitPrice"], rate),
        "Country": sample["Country"].map(lambda c: countries.get(c, c)),
    })
    return out.rename(columns=KOREAN_HEADERS)


def top_products(sample: pd.DataFrame, n: int = TOP_PRODUCTS_IN_KOREAN) -> pd.Series:
    """The ``n`` product codes with the highest revenue (sale lines only), with their usual name."""
    sales = sample[(sample["Quantity"] > 0) & (sample["UnitPrice"] > 0)]
    revenue = (sales["Quantity"] * sales["UnitPrice"]).groupby(sales["StockCode"]).sum()
    usual = sales.dropna(subset=["Description"]).groupby("StockCode")["Description"].agg(
        lambda s: s.value_counts().index[0])
    return usual.reindex(revenue.nlargest(n).index)


@dataclass
class ExportFacts:
    """What one run wrote, for the log and the checks."""
    path: Path
    rows: int
    lines_with_korean_name: int
    top_products_in_korean: int
    top_products: int
    english_left_in_top: list[str]


def make_export(sample_path: Path = SAMPLE, output: Path = OUTPUT, rate: int = KRW_PER_GBP) -> ExportFacts:
    """Write the cp949, gzip-compressed Korean export; return what it holds."""
    words, countries = read_table(WORDS), read_table(COUNTRIES)
    sample = read_sample(sample_path)
    export = to_korean(sample, words, countries, rate)
    top = top_products(sample)
    korean_top = top.map(lambda d: korean_description(d, words, rate))
    left = [f"{code} {name}" for code, name in korean_top.items() if not _HANGUL.search(str(name))]
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    export.to_csv(tmp, index=False, encoding=ENCODING, compression={"method": "gzip", "mtime": 0})
    tmp.replace(output)
    names = export[KOREAN_HEADERS["Description"]].astype("string")
    return ExportFacts(
        path=output,
        rows=len(export),
        lines_with_korean_name=int(names.str.contains(_HANGUL.pattern, regex=True).fillna(False).sum()),
        top_products_in_korean=len(top) - len(left),
        top_products=len(top),
        english_left_in_top=left,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--rate", type=int, default=KRW_PER_GBP, help="won per pound (default %(default)s)")
    args = parser.parse_args(argv)
    facts = make_export(args.sample, args.output, args.rate)
    print(f"wrote {facts.path} ({facts.rows:,} lines, {ENCODING}); "
          f"{facts.lines_with_korean_name:,} lines with a Korean product name; "
          f"top {facts.top_products} products in Korean: {facts.top_products_in_korean}")
    if facts.english_left_in_top:
        print("top products still in English (add their words to product_words.tsv):", file=sys.stderr)
        for item in facts.english_left_in_top:
            print("  " + item, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
