"""Above its limit a backtest checks a seeded sample of customers; totals are scaled, measures are the sample's."""
import pandas as pd
import pytest

from crmlib.core.i18n import using_language
from crmlib.core.value.backtest import backtest
from crmlib.synthetic import make_synthetic


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_synthetic(n_customers=2500, seed=4).transactions


def test_a_backtest_under_its_limit_checks_everyone_exactly(log):
    as_of = log["invoice_date"].max().normalize()
    everyone = backtest(log, as_of, max_customers=None)
    default = backtest(log, as_of)
    pd.testing.assert_frame_equal(default.table, everyone.table)
    assert (everyone.table["customers"] == everyone.table["customers_seen"]).all()


def test_above_its_limit_a_backtest_checks_a_sample_and_scales_the_totals(log):
    as_of = log["invoice_date"].max().normalize()
    everyone = backtest(log, as_of, max_customers=None)
    sampled = backtest(log, as_of, max_customers=None, check_customers=900)
    assert (sampled.table["customers"] == 900).all()
    assert (sampled.table["customers_seen"] == everyone.table["customers_seen"]).all()
    # the same models (no training sample), so the scaled totals estimate the full ones
    ratio = sampled.table["actual_total"] / everyone.table["actual_total"]
    assert ratio.between(0.8, 1.25).all()
    assert backtest(log, as_of, max_customers=None, check_customers=900).table.equals(sampled.table)  # seeded


def test_the_value_page_says_the_check_was_on_a_sample(log):
    from crmlib.pages import clv

    as_of = log["invoice_date"].max().normalize()
    page = clv.run_value(log, as_of, max_customers=300)
    text = clv.values_text(page)
    assert "random sample of 1,200 of the 2,500 customers at each check date" in text
    assert "scaled to every customer" in text and page.metrics()["backtest_customers_checked"] == 1200
    with using_language("ko"):
        assert "무작위로 뽑은 1,200명의 예측" in clv.values_text(page)
