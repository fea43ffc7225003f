"""The units page on integer codes (issue 17) equals the pivot-table version it replaced."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.pages import units
from units_reference import reference_analyse_units, reference_value_by_units


def _log(seed: int, customers: int = 500, lines: int = 8000, sources=("bakery", "hotel", "online")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, customers, lines).astype(str).astype(object)
    who[rng.random(lines) < 0.08] = None
    who[rng.random(lines) < 0.01] = ""
    # most customers keep to one unit, some use two or three
    home = rng.integers(0, len(sources), customers)
    roam = rng.random(lines) < 0.15
    unit = np.where(roam, rng.integers(0, len(sources), lines),
                    home[np.where(pd.isna(who) | (who == ""), 0, who).astype(int)])
    return pd.DataFrame({"customer_id": who, "source": np.asarray(sources, dtype=object)[unit],
                         "amount": rng.gamma(2, 20, lines)})


def _same(fast: units.UnitsView, reference: units.UnitsView) -> None:
    assert fast.units == reference.units
    assert (fast.available, fast.problem) == (reference.available, reference.problem)
    pd.testing.assert_frame_equal(fast.presence, reference.presence, check_index_type=False)
    pd.testing.assert_frame_equal(fast.revenue, reference.revenue, rtol=1e-9, check_index_type=False)
    assert list(fast.presence.index.astype(str)) == list(reference.presence.index.astype(str))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_codes_equal_the_pivot_tables(seed):
    log = _log(seed)
    fast, reference = units.analyse_units(log), reference_analyse_units(log)
    _same(fast, reference)
    assert fast.available and fast.multi_unit.sum() > 0
    for table in (units.customers_by_units_used, units.revenue_from_multi_unit, units.cross_shop_counts,
                  units.only_here, units.only_here_lists):
        pd.testing.assert_frame_equal(table(fast), table(reference), rtol=1e-9)


def test_codes_equal_the_pivot_tables_on_arrow_digit_ids_shuffled_and_edge_cases():
    log = _log(3).dropna(subset=["customer_id"])
    log = log[log["customer_id"] != ""].sample(frac=1, random_state=1).astype({"customer_id": "str", "source": "str"})
    _same(units.analyse_units(log), reference_analyse_units(log))
    one_unit = log.assign(source="bakery")
    _same(units.analyse_units(one_unit), reference_analyse_units(one_unit))
    anonymous = _log(4).assign(customer_id=None)
    _same(units.analyse_units(anonymous), reference_analyse_units(anonymous))


def test_value_by_units_looks_values_up_like_the_map_it_replaced():
    log = _log(5)
    view = units.analyse_units(log)
    ids = view.presence.index.to_series().sample(frac=0.7, random_state=2)
    rng = np.random.default_rng(5)
    clv = pd.DataFrame({"customer_id": pd.concat([ids, ids.iloc[:20]]).to_numpy(),   # repeated ids: the first row counts
                        "clv": rng.gamma(2, 50, len(ids) + 20)})
    churn = pd.DataFrame({"customer_id": ids.astype(int).to_numpy(), "churn_probability": rng.random(len(ids))})
    for args in ((clv, churn), (clv, None), (None, churn), (None, None)):
        fast, reference = units.value_by_units(view, *args), reference_value_by_units(view, *args)
        pd.testing.assert_frame_equal(fast, reference, rtol=1e-9)
    assert units.value_by_units(view, clv, churn)["mean_clv"].notna().all()


def test_value_by_units_with_an_empty_group():
    lines = pd.DataFrame({"customer_id": ["a", "b", "c"], "source": ["hotel", "bakery", "hotel"], "amount": [1.0, 2.0, 4.0]})
    view = units.analyse_units(lines)
    clv = pd.DataFrame({"customer_id": ["a", "b"], "clv": [10.0, 30.0]})
    churn = pd.DataFrame({"customer_id": ["c"], "churn_probability": [0.5]})
    fast, reference = units.value_by_units(view, clv, churn), reference_value_by_units(view, clv, churn)
    pd.testing.assert_frame_equal(fast, reference)
    assert fast["customers"].tolist() == [3, 0]
