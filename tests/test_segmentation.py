"""Tests of crmlib.segmentation: summaries, RFM scores, segments, clusters, life cycle."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmlib import segmentation as seg
from crmlib.errors import ConfigError, DataError


def _tx(rows):
    """Hand-made transactions: (customer_id, date, amount[, invoice_id])."""
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount", "invoice_id"][: len(rows[0])])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="ISO8601")
    if "invoice_id" not in frame:
        frame["invoice_id"] = [f"i{i}" for i in range(len(frame))]
    return frame


# --------------------------------------------------------------------------- summaries
def _cdnow_transactions() -> pd.DataFrame:
    try:
        from crmlib.datasets import load_cdnow_transactions
    except ImportError:
        load_cdnow_transactions = None
    if load_cdnow_transactions is not None:
        return load_cdnow_transactions()
    import lifetimes

    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    frame = pd.read_csv(path, sep=r"\s+", header=None, dtype={1: str, 2: str},
                        names=["master_id", "customer_id", "invoice_date", "cds", "amount"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], format="%Y%m%d")
    return frame


def test_btyd_summary_reproduces_lifetimes_cdnow_summary_on_every_row():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    reference = load_cdnow_summary_data_with_monetary_value()
    summary = seg.btyd_summary(_cdnow_transactions(), "1997-09-30", time_unit="W")
    summary.index = summary.index.astype(int)
    summary = summary.sort_index()
    assert summary.index.equals(reference.index)
    assert list(summary.columns) == ["frequency", "recency", "T", "monetary_value"]
    diff = (summary - reference[summary.columns]).abs()
    assert diff.max().max() < 1e-2, diff.max()


def test_btyd_summary_merges_same_day_and_ignores_later_and_anonymous_rows():
    tx = _tx([
        ("a", "2020-01-01 09:00", 10.0),
        ("a", "2020-01-01 17:00", 5.0),    # same day: one occasion worth 15
        ("a", "2020-01-08", 20.0),
        ("a", "2020-01-15", 40.0),
        ("a", "2020-02-01", 99.0),         # after as_of: ignored
        ("b", "2020-01-29 23:59", 7.0),    # only purchase, on as_of itself
        (None, "2020-01-02", 1000.0),      # anonymous: dropped
        ("c", "2020-02-02", 3.0),          # only after as_of: absent
    ])
    weeks = seg.btyd_summary(tx, "2020-01-29", time_unit="W")
    assert list(weeks.index) == ["a", "b"]
    a = weeks.loc["a"]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(2.0)
    assert a["T"] == pytest.approx(4.0)
    assert a["monetary_value"] == pytest.approx(30.0)  # mean of repeat occasions 20 and 40
    b = weeks.loc["b"]
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, 0, 0)
    days = seg.btyd_summary(tx, "2020-01-29", time_unit="D")
    assert days.loc["a", "T"] == 28 and days.loc["a", "recency"] == 14


def test_btyd_summary_start_window_and_bad_input():
    tx = _tx([("a", "2020-01-01", 10.0), ("a", "2020-01-10", 20.0), ("a", "2020-01-20", 30.0)])
    late = seg.btyd_summary(tx, "2020-01-31", time_unit="D", start="2020-01-05")
    assert late.loc["a", "frequency"] == 1 and late.loc["a", "T"] == 21
    with pytest.raises(ConfigError, match="time_unit"):
        seg.btyd_summary(tx, "2020-01-31", time_unit="M")
    with pytest.raises(DataError, match="amount"):
        seg.btyd_summary(tx.drop(columns="amount"), "2020-01-31")
    empty = seg.btyd_summary(tx, "2019-01-01")
    assert empty.empty and list(empty.columns) == ["frequency", "recency", "T", "monetary_value"]


def test_customer_summary_counts_days_orders_and_agrees_with_btyd():
    tx = _tx([
        ("a", "2020-01-01", 10.0, "i1"),
        ("a", "2020-01-01", 5.0, "i2"),
        ("a", "2020-01-11", 15.0, "i3"),
        ("a", "2020-01-11", 15.0, "i3"),
        ("b", "2020-01-21", 8.0, "i4"),
    ])
    cs = seg.customer_summary(tx, "2020-01-31", time_unit="D")
    a = cs.loc["a"]
    assert a["frequency"] == 2           # distinct purchase days
    assert a["orders"] == 3              # distinct invoices
    assert a["monetary"] == pytest.approx(45.0)
    assert a["avg_order_value"] == pytest.approx(15.0)
    assert a["recency_days"] == 20 and a["tenure_days"] == 30
    assert a["first_purchase"] == pd.Timestamp("2020-01-01")
    btyd = seg.btyd_summary(tx, "2020-01-31", time_unit="D")
    assert np.allclose(cs[["btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value"]].to_numpy(),
                       btyd.to_numpy())
