"""Fixtures shared by several test modules.

``full_report``: ONE full ``crm report`` of the real notebooks on a synthetic log (a run
costs tens of seconds), shared by the whole test session: the end-to-end checks
(test_end_to_end.py) and the cross-page consistency checks (test_report_consistency.py)
read the same published pages. Add checks to it rather than another full run.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crmlib import datasets, report

ROOT = Path(__file__).resolve().parents[1]
#: The period the shared report is made for (the synthetic log runs 2010-01 to 2011-12).
FULL_REPORT_PERIOD = "2011-11"


@pytest.fixture(scope="session")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shipped settings on a synthetic log with dirt, reported for 2011-11.

    Returns ``folder``, ``raw`` (the CSV), ``config`` (its workbook.yml), ``result``
    (the runner's result) and ``period_dir`` (the published period folder).
    """
    folder = tmp_path_factory.mktemp("e2e")
    data = datasets.make_synthetic(n_customers=400, start="2010-01-01", end="2011-12-31", dirt=True, seed=7)
    raw = folder / "sales.csv"
    datasets.write_synthetic_csv(data, raw)
    config = folder / "workbook.yml"
    shutil.copy(ROOT / "workbook.yml", config)  # the shipped settings, with --data replacing the sample
    result = report.run_report(
        config_path=config, data_paths=[raw], period=FULL_REPORT_PERIOD, output_dir=folder / "reports", progress=False
    )
    return {"folder": folder, "raw": raw, "config": config, "result": result,
            "period_dir": folder / "reports" / FULL_REPORT_PERIOD}
