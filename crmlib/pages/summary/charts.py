"""The summary page's trend charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_period

def plot_trends(kpis: pd.DataFrame, currency: str = "GBP", last: int = 12, freq: str = "M"):
    """Four titled trend charts over the last ``last`` periods: revenue, customers, retention, AOV.

    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    data = kpis.dropna(how="all").tail(last)
    word = {"M": "Month", "Q": "Quarter", "W": "Week"}[freq]
    x = [format_period(p) for p in data.index]
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.8), constrained_layout=True)
    ax = axes[0, 0]
    ax.bar(x, data["revenue"], color=plots.PALETTE[0])
    plots.money_axis(ax, currency)
    plots.label(ax, f"Revenue per {word.lower()}", word, f"Revenue ({currency})")
    ax = axes[0, 1]
    ax.bar(x, data["returning_customers"], color=plots.PALETTE[0], label="Returning")
    ax.bar(x, data["new_customers"], bottom=data["returning_customers"], color=plots.PALETTE[1], label="New")
    plots.count_axis(ax)
    ax.legend(frameon=False, loc="upper left")
    plots.label(ax, "Active customers: new and returning", word, "Customers")
    ax = axes[1, 0]
    ax.plot(x, data["retention_rate"], marker="o", color=plots.PALETTE[2], label="Retention rate")
    ax.plot(x, data["repeat_purchase_rate"], marker="s", color=plots.PALETTE[3], label="Repeat-purchase rate")
    plots.percent_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.legend(frameon=False, loc="center left")
    plots.label(ax, "Retention and repeat purchase", word, "Share of customers (%)")
    ax = axes[1, 1]
    ax.plot(x, data["aov"], marker="o", color=plots.PALETTE[5], label="Average order value")
    ax.plot(x, data["revenue_per_customer"], marker="s", color=plots.PALETTE[6], label="Revenue per active customer")
    plots.money_axis(ax, currency)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="lower left")
    plots.label(ax, "Order value and customer value", word, f"Amount ({currency})")
    for ax in axes.flat:
        ax.grid(axis="x", visible=False)
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    return fig
