"""The campaign page at scale (issue 17): id matching and response windows equal the versions
they replaced (tests/campaigns_reference.py) on random logs with windows at the edges."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.pages import campaigns as cp
from crmlib.pages.campaigns import inputs
from campaigns_reference import reference_customer_outcomes, reference_known_customer_ids, reference_match_ids


def _log(seed: int, customers: int = 300, lines: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, customers, lines).astype(str).astype(object)
    who[rng.random(lines) < 0.05] = None
    start = pd.Timestamp("2011-06-01")
    return pd.DataFrame({
        "customer_id": who, "invoice_id": [f"I{i // 3}" for i in range(lines)],
        # whole days and times of day, so lines fall on the window's first and last days
        "invoice_date": start + pd.to_timedelta(rng.integers(0, 200, lines), unit="D")
        + pd.to_timedelta(rng.integers(0, 86400, lines) * (rng.random(lines) < 0.5), unit="s"),
        "amount": rng.gamma(2, 20, lines),
        "source": np.where(rng.random(lines) < 0.7, "web", "shop"),
    })


def _rows(seed: int, customers: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 100)
    ids = rng.choice(customers + 30, 150, replace=False).astype(str)      # some ids nobody has
    contact = pd.Timestamp("2011-08-01") + pd.to_timedelta(rng.integers(0, 20, len(ids)), unit="D")
    return pd.DataFrame({"campaign": "Autumn", "source": "test", "customer_id": ids,
                         "group": np.where(rng.random(len(ids)) < 0.3, "control", "target"),
                         "contact_date": contact, "cost_per_contact": np.nan, "channel": None,
                         "churn_probability": rng.random(len(ids))})


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("window", [1, 7, 30])
def test_response_windows_equal_the_full_scan(seed, window):
    log, rows = _log(seed), _rows(seed)
    for as_of in ("2011-12-31", "2011-08-15"):
        fast = cp.customer_outcomes(rows, log, as_of, window)
        reference = reference_customer_outcomes(rows, log, as_of, window)
        pd.testing.assert_frame_equal(fast, reference, rtol=1e-9)
        assert fast["responded"].any() or as_of == "2011-08-15"
    empty = rows.iloc[:0]
    pd.testing.assert_frame_equal(cp.customer_outcomes(empty, log, "2011-12-31", window),
                                  reference_customer_outcomes(empty, log, "2011-12-31", window))


def test_known_ids_and_matching_equal_the_set_versions():
    log = _log(3)
    log.loc[log.index[:50], "customer_id"] = log.loc[log.index[:50], "customer_id"].str.upper().radd("ab")
    for source in (None, "shop", "nowhere"):
        fast, reference = inputs.known_customer_ids(log, source), reference_known_customer_ids(log, source)
        pd.testing.assert_index_equal(fast, reference)
    rows = _rows(3)
    rows.loc[rows.index[:10], "customer_id"] = [f" {i}.0" for i in rows["customer_id"][:10]]
    rows.loc[rows.index[10:12], "customer_id"] = ["ABX", "Ab1"]
    known = inputs.known_customer_ids(log)
    for given in (known, list(known), set(known)):
        fast, reference = inputs.match_ids(rows, given), reference_match_ids(rows, given)
        for a, b in ((fast.rows, reference.rows), (fast.unmatched, reference.unmatched), (fast.counts, reference.counts)):
            pd.testing.assert_frame_equal(a, b)
    assert len(fast.rows) > 0 and len(fast.unmatched) > 0
