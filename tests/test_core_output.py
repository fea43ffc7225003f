"""The core's output helpers: escaping generated text, the manager table, the Excel-safe CSV."""
from __future__ import annotations

import html.parser

import numpy as np
import pandas as pd
import pytest

from crmlib.core import text, writer
from crmlib.core.tables import manager_table

HAZARDS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))",
           "**bold** _it_ # heading", "a|b", "O'Brien's \"best\" tea"]


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("value", HAZARDS)
def test_md_leaves_no_live_markup(value):
    import mistune  # nbconvert renders notebook Markdown with mistune

    rendered = mistune.html(f"Strongest bundle: customers who buy {text.md(value)} also buy tea.")
    parser = _Tags()
    parser.feed(rendered)
    assert [t for t, _ in parser.tags] == ["p"], rendered  # no script, img, a, strong, em, h1
    assert "href" not in rendered and "onerror=" not in rendered.replace("onerror=alert(1)&gt;", "")
    shown = html.unescape(rendered.replace("<p>", "").replace("</p>", "")).strip()
    assert value.replace("  ", " ") in shown  # the reader still sees the name as written


def test_md_link_refuses_unsafe_schemes():
    assert text.md_link("x", "javascript:alert(1)") == "x"
    assert text.md_link("x", " JaVa\tScRiPt:alert(1)") == "x"
    assert text.md_link("x", "data:text/html,hi") == "x"
    assert text.md_link("list", "downloads/retention list.csv") == "[list](<downloads/retention list.csv>)"


def test_manager_table_formats_and_escapes():
    frame = pd.DataFrame({"segment": ["Champions", "<b>x</b>"], "customers": [1228.0, 5.0],
                          "share": [0.0471, np.nan], "revenue": [7869259.0, 12.5], "flag": [True, False]})
    table = manager_table(frame, {"segment": "Segment", "customers": ("Customers", "count"),
                                  "share": ("Share", "percent"), "revenue": ("Revenue", "money"), "flag": "Flag"})
    assert table.to_frame().values.tolist() == [["Champions", "1,228", "4.7 %", "£7,869,259", "Yes"],
                                                ["<b>x</b>", "5", "–", "£12.50", "No"]]
    out = table.to_html()
    assert "<b>" not in out and "&lt;b&gt;" in out and "NaN" not in out and "True" not in out
    assert out.count('class="num"') == 3 * 3  # header + 2 rows, three number columns


def test_manager_table_cuts_rows_and_says_so():
    table = manager_table(pd.DataFrame({"n": range(30)}), max_rows=10)
    assert len(table.rows) == 10 and table.more_rows == 20 and "20 more rows" in table.to_html()


def test_manager_table_names_a_missing_column():
    with pytest.raises(KeyError, match="no column 'nope'"):
        manager_table(pd.DataFrame({"a": [1]}), {"nope": "Nope"})


def test_csv_for_excel_has_bom_and_neutralises_formulas(tmp_path):
    frame = pd.DataFrame({"customer_id": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "12345", "홍길동"],
                          "amount": [-5.0, 1, 2, 3, 4, 5, 6]})
    path = writer.write_csv(tmp_path / "list.csv", frame)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"customer_id": str})
    assert back["customer_id"].tolist()[:5] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx"]
    assert back["customer_id"].tolist()[5:] == ["12345", "홍길동"]
    assert back["amount"].tolist()[0] == -5.0  # numbers are not touched
