"""Issue 17: the runner reads each source's invoice dates once per run (resolve_run and
check_period_has_data share one streamed scan) and says the same as before."""
from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from crmlib import io_dates, report
from crmlib.core.run import resolve_run
from crmlib.errors import ConfigError

SALES = ("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
         + "".join(f"5{m:05d},A1,1,2011-{m:02d}-15 10:00,2.5,17850\n" for m in range(1, 13)))
MORE = ("주문번호,상품코드,수량,주문일시,단가,고객번호\n"
        + "".join(f"{7000 + d},B{d % 3},1,2011. 12. {d}. 오후 3:04,3000,{77 + d % 4}\n" for d in range(1, 21)))


@pytest.fixture()
def scans(tmp_path: Path, monkeypatch) -> list[str]:
    """A project with a CSV and a Korean .csv.gz; lists the files scanned for dates."""
    (tmp_path / "sales.csv").write_text(SALES)
    (tmp_path / "more.csv.gz").write_bytes(gzip.compress(MORE.encode("cp949")))
    (tmp_path / "workbook.yml").write_text("sources:\n  - path: sales.csv\n  - path: more.csv.gz\n")
    io_dates._SUMMARIES.clear()
    scanned: list[str] = []
    scan = io_dates._scan_dates
    monkeypatch.setattr(io_dates, "_scan_dates", lambda src, window: scanned.append(Path(src["path"]).name) or scan(src, window))
    return scanned


def test_a_derived_period_reads_each_file_once(tmp_path, scans):
    run = resolve_run(config_path=tmp_path / "workbook.yml")
    assert (run.period, run.as_of) == ("2011-11", pd.Timestamp("2011-11-30"))
    report.check_period_has_data(run, requested=False)
    assert sorted(scans) == ["more.csv.gz", "sales.csv"]


def test_a_requested_period_without_transactions_reads_each_file_once_and_says_so(tmp_path, scans):
    run = resolve_run(config_path=tmp_path / "workbook.yml", period="2099-01")
    assert scans == []  # the period was given: resolving reads no data
    with pytest.raises(ConfigError) as err:
        report.check_period_has_data(run)
    assert str(err.value) == (
        "period 2099-01: no transactions between 2099-01-01 and 2099-01-31 (the sources' invoice dates run from "
        "2011-01-15 to 2011-12-20); choose a period inside the data, or leave out --period for the last complete month")
    report.check_period_has_data(resolve_run(config_path=tmp_path / "workbook.yml", as_of="2011-12-20"))
    assert sorted(scans) == ["more.csv.gz", "sales.csv"]


def test_no_complete_month_yet_is_said_as_before(tmp_path, scans):
    (tmp_path / "sales.csv").write_text(SALES.splitlines()[0] + "\n5001,A1,1,2011-01-03 10:00,2.5,1\n")
    (tmp_path / "workbook.yml").write_text("sources:\n  - path: sales.csv\n")
    run = resolve_run(config_path=tmp_path / "workbook.yml")
    with pytest.raises(ConfigError) as err:
        report.check_period_has_data(run, requested=False)
    assert str(err.value) == ("no complete month in the data yet (the sources' invoice dates run from 2011-01-03 to "
                              "2011-01-03); pass --as-of 2011-01-03 to report the days so far")
    assert scans == ["sales.csv"]
