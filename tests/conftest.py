"""Shared fixtures. ``full_report``: the real notebooks run once per test session through
``report.run_report`` on a small synthetic log (a run costs tens of seconds), for every
test that reads a whole published report (end to end, the site's pages, cross-page numbers).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crmlib import datasets, report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``{"folder", "raw", "config", "result"}`` of one full report for 2011-11 under ``folder/reports``."""
    folder = tmp_path_factory.mktemp("e2e")
    data = datasets.make_synthetic(n_customers=400, start="2010-01-01", end="2011-12-31", dirt=True, seed=7)
    raw = folder / "sales.csv"
    datasets.write_synthetic_csv(data, raw)
    config = folder / "workbook.yml"
    shutil.copy(ROOT / "workbook.yml", config)  # the shipped settings, with --data replacing the sample
    result = report.run_report(
        config_path=config, data_paths=[raw], period="2011-11", output_dir=folder / "reports", progress=False
    )
    return {"folder": folder, "raw": raw, "config": config, "result": result}
