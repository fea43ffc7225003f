"""The report site's index pages: what they list, in which order, in the house style."""
from __future__ import annotations

import json
from pathlib import Path

from crmlib import site


def _period(reports: Path, period: str, pages: list[str], summary: dict | None) -> Path:
    folder = reports / period
    (folder / "artifacts" / "metrics").mkdir(parents=True)
    for name in pages:
        (folder / f"{name}.html").write_text(f"<html><body>{name}</body></html>", encoding="utf-8")
    if summary is not None:
        (folder / "artifacts" / "metrics" / "00_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "artifacts" / "metrics" / "03_clv.json").write_text(
        json.dumps({"warnings": ["No measurable drop-out in this window."]}), encoding="utf-8")
    return folder


def test_index_pages_list_periods_newest_first_with_headline_kpis(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = ["03_clv", "01_data_cleaning", "00_summary"]
    summary = {"as_of": "2011-11-30", "revenue": 1503866.78, "active_customers": 1664, "new_customers": 323,
               "retention_rate": 0.907, "aov": 543.1, "orders": 2769,
               "change_vs_previous": {"revenue": 0.306, "retention_rate": 0.034}}
    nov = _period(reports, "2011-11", names, summary)
    _period(reports, "2011-09", names, {**summary, "as_of": "2011-09-30", "revenue": 1000.0})
    _period(reports, "2011-10", ["01_data_cleaning"], None)  # summary did not run: still listed
    (reports / ".runs").mkdir()  # working folders are never listed

    for folder in sorted(p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")):
        site.write_period_index(folder, period=folder.name, as_of=f"{folder.name}-28", config={"currency": "EUR"})
    index = site.write_site_index(reports, config={"currency": "EUR"}).read_text(encoding="utf-8")

    positions = [index.index(f'href="{p}/index.html"') for p in ("2011-11", "2011-10", "2011-09")]
    assert positions == sorted(positions)  # newest first
    assert ".runs" not in index
    assert "€1,503,867" in index and "1,664" in index and "323" in index and "90.7 %" in index
    assert "30 Nov 2011" in index and "Nov 2011" in index
    assert 'href="2011-11/00_summary.html"' in index
    assert (reports / "style.css").is_file() and "@page { size: A4" in (reports / "style.css").read_text()

    period_index = (nov / "index.html").read_text(encoding="utf-8")
    links = [period_index.index(f'href="{n}.html"', period_index.index("<main")) for n in
             ("00_summary", "01_data_cleaning", "03_clv")]
    assert links == sorted(links)  # summary first, then the analyses in order
    assert "€1,503,867" in period_index and "+30.6 % vs previous period" in period_index
    assert "+3.4 pts" in period_index and "1 caveat on the page" in period_index
    assert 'href="../style.css"' in period_index and "28 Nov 2011" in period_index
