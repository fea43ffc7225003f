"""RFM mid-ranks from one sort equal the two binary searches they replaced."""
import numpy as np
import pandas as pd

from crmlib.core.rfm import _tie_bounds, rfm_scores


def test_tie_bounds_equal_searchsorted_with_ties_and_missing_values():
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 80))
        values = rng.normal(size=n) if trial % 3 == 0 else rng.integers(0, 6, n).astype(float)
        values[rng.random(n) < 0.15] = np.nan
        ordered = np.sort(values)
        below, through = _tie_bounds(values)
        np.testing.assert_array_equal(below, np.searchsorted(ordered, values, side="left"))
        np.testing.assert_array_equal(through, np.searchsorted(ordered, values, side="right"))


def test_rfm_scores_follow_pandas_average_ranks():
    rng = np.random.default_rng(1)
    summary = pd.DataFrame({"recency_days": rng.integers(0, 30, 500), "frequency": rng.integers(1, 9, 500),
                            "monetary": rng.gamma(2.0, 50.0, 500).round(0)})
    scores = rfm_scores(summary)
    for column, name, sign in (("recency_days", "r_score", -1), ("frequency", "f_score", 1), ("monetary", "m_score", 1)):
        position = ((sign * summary[column]).rank(method="average") - 0.5) / len(summary)
        expected = np.minimum(1 + np.floor(5 * position), 5).astype("int64")
        np.testing.assert_array_equal(scores[name].to_numpy(), expected.to_numpy())
