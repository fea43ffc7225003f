"""The CLV page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_date
from crmlib.core.i18n import _
from crmlib.pages.clv.values import ValuePage


def plot_deciles(page: ValuePage, currency: str = "GBP"):
    """Forecast vs actual spend by tenth of customers (ranked by the forecast), at the latest check."""
    import matplotlib.pyplot as plt
    import numpy as np

    from crmlib.core import plots

    bt = page.values.backtest
    cutoff = str(max(bt.cutoffs).date())
    d = bt.deciles[(cutoff, page.values.chosen)]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(d))
    ax.bar(x - 0.2, d["predicted"], width=0.4, label=_("forecast"))
    ax.bar(x + 0.2, d["actual"], width=0.4, label=_("actually spent"))
    ax.set_xticks(x, [str(int(k)) for k in d["decile"]])
    ax.legend()
    plots.money_axis(ax, currency)
    plots.label(ax, _("Forecast vs actual spend in the three months after {date}").format(
                    date=format_date(pd.Timestamp(cutoff))),
                _("tenth of customers by forecast (1 = highest forecast)"), _("spend in the three months"))
    return ax


def plot_clv_distribution(values: pd.DataFrame, currency: str = "GBP"):
    """Histogram of CLV on a log scale, coloured by tier."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    data = values[values["clv"] > 0].assign(clv_tier=lambda d: d["clv_tier"].astype(str).map(_))
    if len(data):  # the lowest 1 % share the first bar, so fractions of a penny do not stretch the scale
        data = data.assign(clv=data["clv"].clip(lower=max(float(data["clv"].quantile(0.01)), 0.01)))
    sns.histplot(data, x="clv", hue="clv_tier", log_scale=True, bins=40, multiple="stack", ax=ax,
                 hue_order=[_(str(c)) for c in values["clv_tier"].cat.categories])
    if ax.get_legend() is not None:
        ax.get_legend().set_title(_("value tier"))
    plots.money_axis(ax, currency, axis="x")
    plots.count_axis(ax)
    plots.label(ax, _("How customer values are spread (log scale)"),
                _("value per customer ({currency}, log scale)").format(
                    currency=plots.currency_symbol(currency).strip()), _("customers"))
    return ax


def plot_equity_by_segment(table: pd.DataFrame, currency: str = "GBP"):
    """Horizontal bars: customer equity by segment."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, max(3, 0.4 * len(table) + 1)))
    t = table.iloc[::-1]
    ax.barh([_(str(s)) for s in t.index], t["equity"])      # default segment names are message ids
    for y, (eq, share) in enumerate(zip(t["equity"], t["share_of_equity"])):
        ax.text(eq, y, f" {share:.0%}", va="center", fontsize=9)
    plots.money_axis(ax, currency, axis="x")
    plots.label(ax, _("Customer equity by segment (share of total)"),
                _("customer equity ({currency})").format(currency=currency), _("segment"))
    return ax
