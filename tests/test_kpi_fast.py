"""The summary's KPIs on integer codes equal the pandas computation they replaced (issue 17).

:mod:`kpi_reference` is the former ``period_kpis`` (group-bys, ``merge_asof``), kept only
for this comparison: counts must be equal, money and rates within 1e-9 relative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.core.kpis import KPI_KINDS
from crmlib.pages import summary as kpi
from kpi_reference import reference_period_kpis


def _log(seed: int, customers: int = 300, lines: int = 6000, days: int = 700, anonymous: float = 0.1) -> pd.DataFrame:
    """A dirty-ish log: invoices of several lines, anonymous and blank ids, padded ids, a gap month."""
    rng = np.random.default_rng(seed)
    n_invoices = lines // 3
    invoice_customer = rng.integers(0, customers, n_invoices).astype(str).astype(object)
    invoice_customer[rng.random(n_invoices) < anonymous] = None
    invoice_customer[rng.random(n_invoices) < 0.02] = ""
    padded = rng.random(n_invoices) < 0.02
    invoice_customer[padded] = [f" {c} " if c else c for c in invoice_customer[padded]]
    invoice_day = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, days, n_invoices), unit="D")
    per = rng.integers(1, 6, n_invoices)
    rows = np.repeat(np.arange(n_invoices), per)
    frame = pd.DataFrame({
        "customer_id": invoice_customer[rows],
        "invoice_id": (500000 + rows).astype(str),
        "invoice_date": invoice_day[rows] + pd.to_timedelta(rng.integers(0, 36000, len(rows)), unit="s"),
        "amount": rng.gamma(2, 20, len(rows)) * np.where(rng.random(len(rows)) < 0.03, -1, 1),
    })
    frame.loc[rng.random(len(frame)) < 0.01, "invoice_id"] = None
    gap = (frame["invoice_date"] >= "2011-02-01") & (frame["invoice_date"] < "2011-03-01")
    return frame[~gap].reset_index(drop=True)


def _assert_same(fast: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(fast.index) == list(reference.index)
    assert list(fast.columns) == list(reference.columns)
    for column, kind in KPI_KINDS.items():
        a, b = fast[column].to_numpy(), reference[column].to_numpy(dtype="float64")
        assert (np.isnan(a) == np.isnan(b)).all(), column
        if kind == "count":
            assert (a[~np.isnan(a)] == b[~np.isnan(b)]).all(), column
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=column)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("freq,n_periods,window", [("M", 13, 90), ("M", 24, 30), ("Q", 5, 120), ("W", 53, 21)])
def test_codes_equal_the_reference_on_random_logs(seed, freq, n_periods, window):
    log = _log(seed)
    for as_of in ("2011-06-30", "2011-03-17", "2010-02-10"):
        _assert_same(kpi.period_kpis(log, as_of, freq=freq, n_periods=n_periods, churn_window_days=window),
                     reference_period_kpis(log, as_of, freq=freq, n_periods=n_periods, churn_window_days=window))


def test_codes_equal_the_reference_with_unordered_lines_and_numeric_ids():
    log = _log(5).sample(frac=1.0, random_state=3).reset_index(drop=True)
    _assert_same(kpi.period_kpis(log, "2011-09-30"), reference_period_kpis(log, "2011-09-30"))
    numeric = _log(6, anonymous=0.0)
    numeric = numeric[numeric["customer_id"].str.strip() != ""]
    numeric = numeric.assign(customer_id=numeric["customer_id"].str.strip().astype("int64"))
    _assert_same(kpi.period_kpis(numeric, "2011-09-30"), reference_period_kpis(numeric, "2011-09-30"))


def test_codes_equal_the_reference_on_arrow_strings_and_edge_cases():
    log = _log(7).astype({"customer_id": "str", "invoice_id": "str"})
    _assert_same(kpi.period_kpis(log, "2011-06-30"), reference_period_kpis(log, "2011-06-30"))
    anonymous = log.assign(customer_id=None)
    _assert_same(kpi.period_kpis(anonymous, "2011-06-30"), reference_period_kpis(anonymous, "2011-06-30"))
    before = kpi.period_kpis(log, "2009-12-31")
    assert before.isna().all().all()
    _assert_same(before, reference_period_kpis(log, "2009-12-31"))
