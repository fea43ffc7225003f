"""The real notebooks, end to end through ``crm report``, on a small synthetic log.

One report run (``published``, in ``conftest.py``) is shared by the whole suite; its data
plant every hazard of issue 16, and the acceptance checks below parse every page for live
scripts, event handlers and ``javascript:`` links, and scan pages and downloads for
personal ids and formula cells. A second run with a broken input file checks that a
failure leaves the published report alone.
"""
from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crmlib import cli
from crmlib.core import layout

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _body(page: Path) -> str:
    return page.read_text(encoding="utf-8").split("<body", 1)[1]


def test_one_page_per_notebook(published: dict) -> None:
    period_dir = published["folder"] / "reports" / "2011-11"
    assert sorted(p.stem for p in period_dir.glob("[0-9][0-9]_*.html")) == NOTEBOOKS
    assert len(NOTEBOOKS) >= 2


def test_pages_carry_no_code_and_no_errors(published: dict) -> None:
    period_dir = published["folder"] / "reports" / "2011-11"
    for page in period_dir.glob("*.html"):
        body = _body(page)
        # markdown cells sit in jp-InputArea too; code shows as highlighted source or an editor
        assert "hl-ipython3" not in body and "jp-CodeMirrorEditor" not in body, f"{page.name} shows code"
        assert body.count("jp-CodeCell") == body.count("jp-mod-noInput"), f"{page.name} shows a code cell's input"
        assert "RunContext.create" not in body and "from crmlib" not in body, f"{page.name} shows code"
        assert "Traceback" not in body and "application/vnd.jupyter.stderr" not in body, f"{page.name} shows an error"
        assert not re.search(r"\b\w+Error\b:", body), f"{page.name} shows an exception"


def test_period_listed_in_both_indexes(published: dict) -> None:
    reports = published["folder"] / "reports"
    assert 'href="2011-11/index.html"' in (reports / "index.html").read_text(encoding="utf-8")
    period_index = (reports / "2011-11" / "index.html").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert f'href="{name}.html"' in period_index


def test_failure_keeps_previous_report_and_exits_1(published: dict, capsys: pytest.CaptureFixture) -> None:
    folder = published["folder"]
    summary = folder / "reports" / "2011-11" / f"{NOTEBOOKS[0]}.html"
    before = summary.read_text(encoding="utf-8")
    broken = folder / "broken.csv"
    broken.write_text("InvoiceNo,StockCode,Quantity\n536365,85123A,6\n")  # no dates, no prices, no customers
    code = cli.main(["report", "--period", "2011-11", "--config", str(published["config"]), "--data", str(broken),
                     "--output", str(folder / "reports"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("crm: error:") == 1 and "Traceback" not in err
    assert "broken.csv" in err and "required column" in err  # refused before any notebook ran
    assert summary.read_text(encoding="utf-8") == before
    assert not any((folder / "reports" / ".runs").iterdir())  # no scratch left behind


def test_every_page_real_metrics_give_its_finding(published: dict) -> None:
    """Each page's own metrics, as its notebook wrote them, fed to the summary's findings."""
    from crmlib.core.pages import load_pages
    from crmlib.pages import summary

    period_dir = published["folder"] / "reports" / "2011-11"
    pages = load_pages()
    metrics = {name: json.loads(layout.metrics_path(period_dir, name).read_text(encoding="utf-8"))
               for name, page in pages.items() if not page.reads_all}
    for name, page in pages.items():
        if page.finding is not None:
            line = page.finding(metrics[name], "GBP")  # raises if a producer drifted from its declaration
            assert isinstance(line, str) and line, name
    lines = summary.findings(metrics, pages, "GBP")
    assert len(lines) == len(metrics) and not any("ran; see the page" in line for line in lines)
    summary_page = (period_dir / "00_summary.html").read_text(encoding="utf-8")
    for name in metrics:
        assert f'href="{name}.html"' in summary_page


# ------------------------------------------------------------------ issue 16: the planted hazards
class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, and whether it sits in the body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str], bool]] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_body = self.in_body or tag == "body"
        self.tags.append((tag, {k.lower(): v or "" for k, v in attrs}, self.in_body))

    handle_startendtag = handle_starttag


def _pages(published: dict) -> list[Path]:
    pages = sorted((published["folder"] / "reports").rglob("*.html"))
    assert len(pages) >= len(NOTEBOOKS) + 2  # every notebook's page + both index pages
    return pages


def _tags(page: Path) -> list[tuple[str, dict[str, str], bool]]:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def test_planted_names_reach_the_pages_as_text(published: dict) -> None:
    """The attack names are in the data the pages show (else the checks below prove nothing)."""
    from conftest import ATTACK_NAMES, KOREAN_COUNTRY

    period_dir = published["folder"] / "reports" / "2011-11"
    text = "".join(p.read_text(encoding="utf-8") for p in period_dir.glob("0*.html"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text or ATTACK_NAMES[0] in text
    assert KOREAN_COUNTRY in text


def test_no_page_body_runs_a_script_handler_or_javascript_link(published: dict) -> None:
    found = []
    for page in _pages(published):
        for tag, attrs, in_body in _tags(page):
            links = [re.sub(r"[\s\x00-\x1f]", "", attrs.get(n, "")).lower()
                     for n in ("href", "src", "action", "formaction", "xlink:href")]
            if ((tag == "script" and in_body) or any(a.startswith("on") for a in attrs)
                    or any(v.startswith(("javascript:", "vbscript:", "data:text/html")) for v in links)):
                found.append(f"{page.name}: <{tag} {attrs}>")
    assert not found, "live script, handler or script link from the data:\n" + "\n".join(found)


def test_pages_carry_no_script_at_all(published: dict) -> None:
    """A report page is a document: no script of the template either (MathJax, require.js)."""
    found = [f"{page.name}: {attrs.get('src') or 'inline'}"
             for page in _pages(published) for tag, attrs, _ in _tags(page) if tag == "script"]
    assert not found, "pages carry scripts:\n" + "\n".join(found)


def _downloads(published: dict) -> list[Path]:
    return sorted((published["folder"] / "reports").rglob("downloads/*.csv"))


def test_no_personal_id_in_any_page_or_download(published: dict) -> None:
    ids = [i.lower() for i in published["personal_ids"]]
    people = published["people"]
    secrets = {"customer id": set(ids), "name": set(people["full_name"]), "e-mail": set(people["email"]),
               "phone": set(people["phone"]) | {p.replace(" ", "") for p in people["phone"]}}
    for path in _pages(published) + _downloads(published):
        text = path.read_text(encoding="utf-8-sig")
        lowered = text.lower()
        for kind, values in secrets.items():
            leaked = sorted(v for v in values if (v.lower() in lowered))
            assert not leaked, f"{path.relative_to(published['folder'])} shows {kind}s, e.g. {leaked[:3]}"


def test_pseudonyms_are_kept_for_the_analyst_only(published: dict) -> None:
    import pandas as pd

    artifacts = layout.artifacts_dir(published["folder"] / "reports" / "2011-11")
    maps = [pd.read_parquet(p) for p in (artifacts / "pseudonyms").glob("*.parquet")]
    assert maps, "no page showed a personal id, or the mapping was not kept"
    mapping = pd.concat(maps)
    assert set(mapping["id"].str.lower()) <= set(published["personal_ids"])
    assert mapping["pseudonym"].str.fullmatch(r"C[0-9a-f]{12,24}").all()


def test_no_download_cell_is_a_live_formula(published: dict) -> None:
    for path in _downloads(published):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                live = [c for c in row if c[:1] in ("=", "+", "@", "\t", "\r") or re.match(r"-[^\d.]", c)]
                assert not live, f"{path.name}: formula cells {live[:3]}"
