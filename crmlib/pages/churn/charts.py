"""The churn page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import numpy as np

from crmlib.core.features import feature_label
from crmlib.core.formatting import format_period
from crmlib.core.i18n import _, shown
from crmlib.pages.churn.analysis import BASELINE_WORDS, ChurnResult
from crmlib.pages.churn.evaluation import bin_label


def _feature(feature: str) -> str:
    return _(feature_label(feature))


def plot_trend(result: ChurnResult):
    """Churn rate at each month start (transactions mode)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots()
    trend = result.trend
    ax.plot(trend["cutoff"], trend["churn_rate"], marker="o")
    ax.set_ylim(0, max(1.0, float(trend["churn_rate"].max()) * 1.1) if len(trend) else 1)
    plots.percent_axis(ax)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _pos: format_period(mdates.num2date(x).strftime("%Y-%m"))))
    fig.autofmt_xdate()
    return plots.label(ax, _("Churn rate: no purchase in the next {days} days").format(days=result.window_days),
                       _("Month start (customers active at that date)"), _("Share who did not buy again"))


def plot_gains(result: ChurnResult):
    """Cumulative gains of the chosen model and the naive rules vs random contact."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots()
    curves = {_("the model"): result.lift,
              **{_("rule: {rule}").format(rule=_(BASELINE_WORDS.get(k, k))): v for k, v in result.baseline_lift.items()}}
    for name, table in curves.items():
        ax.plot(np.r_[0, table["cum_customers_share"]], np.r_[0, table["cum_gain"]], marker="o", label=name)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=_("random contact"))
    plots.percent_axis(ax)
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, _("Leavers reached when contacting the riskiest first (the check)"),
                       _("Customers contacted (riskiest first)"), _("Share of all leavers reached"))


def plot_calibration(result: ChurnResult):
    """Predicted vs observed churn rate by probability tenth."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(5, 4.2))
    cal = result.calibration
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=_("perfect calibration"))
    ax.plot(cal["predicted"], cal["observed"], marker="o", label=_("the model"))
    plots.percent_axis(ax)
    plots.percent_axis(ax, axis="x")
    ax.legend()
    return plots.label(ax, _("Are the churn probabilities right?"),
                       _("Predicted churn probability (tenths of customers)"), _("Observed churn rate"))


def plot_drivers(result: ChurnResult, top: int = 8):
    """Permutation importance of the top features, with plain-words names."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    d = result.drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.2))
    ax.barh([_feature(f) for f in d["feature"]], d["importance"], xerr=d["importance_std"])
    return plots.label(ax, _("What drives churn predictions"), _("How much worse the ranking gets without this fact"), "")


def plot_driver_bins(result: ChurnResult, feature: str):
    """Churn rate by group of one driver (evaluation set)."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    bins = result.driver_bins[feature]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar([shown(bin_label(b)) for b in bins["bin"]], bins["churn_rate"])
    ax.axhline(result.churn_rate, linestyle="--", color="grey", label=_("average"))
    ax.tick_params(axis="x", labelrotation=20)
    plots.percent_axis(ax)
    ax.legend()
    name = _feature(feature)
    return plots.label(ax, _("Churn rate by {feature}").format(feature=name), name.capitalize(), _("Churn rate"))


def plot_value_at_risk(result: ChurnResult, currency: str = "GBP"):
    """Value at risk and number of customers by risk tier."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    by = (result.scores.groupby("risk_tier")["value_at_risk"].agg(["sum", "size"])
          .reindex(["high", "medium", "low"]).fillna(0))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    bars = ax.bar([_(tier) for tier in by.index], by["sum"])
    for bar, n in zip(bars, by["size"]):
        ax.annotate(_("{count} customers").format(count=f"{int(n):,}"), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    plots.money_axis(ax, currency)
    return plots.label(ax, _("Value at risk by churn risk ({basis})").format(basis=_(result.value_basis)),
                       _("Churn risk"), _("Value at risk ({currency})").format(currency=currency))
