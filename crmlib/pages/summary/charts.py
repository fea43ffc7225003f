"""The summary page's trend charts (house style of :mod:`crmlib.core.plots`).

One figure per chart, so each stays readable on a phone (one per row at 390 px) and in
print. Periods too early to measure retention (see
:func:`crmlib.pages.summary.comparisons.early_periods`) are shaded and labelled
"data start" on every chart; their retention values are blank in ``kpis`` already.
"""
from __future__ import annotations

import pandas as pd

from crmlib.core.formatting import format_period
from crmlib.core.i18n import N_, _

#: The x-axis label and the revenue chart's title for each period length (msgids, shown through ``_()``).
PERIOD_WORD = {"M": N_("Month"), "Q": N_("Quarter"), "W": N_("Week")}
REVENUE_TITLE = {"M": N_("Revenue per month"), "Q": N_("Revenue per quarter"), "W": N_("Revenue per week")}
FIGSIZE = (7.5, 3.6)
#: Where a legend hangs below its chart, in axes fractions (under the period labels and the axis label).
LEGEND_BELOW = -0.42


def _frame(ax, x: list[str], early: list[str], word: str) -> None:
    shaded = [i for i, label in enumerate(x) if label in early]
    if shaded:
        ax.axvspan(min(shaded) - 0.5, max(shaded) + 0.5, color="#e8ecf0", zorder=0, lw=0)
        ax.text((min(shaded) + max(shaded)) / 2, 0.98, _("data start"), transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, color="#5b6b7b")
    ax.grid(axis="x", visible=False)
    ax.set_xlabel(word)
    ax.tick_params(axis="x", labelrotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")


def _legend_below(ax) -> None:
    """The legend, centred under the x-axis label; moved lower when taller period labels (Korean
    months, say) push the label onto it."""
    legend = ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, LEGEND_BELOW), ncols=2)
    ax.figure.canvas.draw()                      # lays out the rotated period labels
    to_axes = ax.transAxes.inverted()
    label_bottom = to_axes.transform(ax.xaxis.label.get_window_extent().p0)[1]
    legend_top = to_axes.transform(legend.get_window_extent().p1)[1]
    if legend_top > label_bottom:
        legend.set_bbox_to_anchor((0.5, LEGEND_BELOW - (legend_top - label_bottom) - 0.02), transform=ax.transAxes)


def plot_trends(kpis: pd.DataFrame, currency: str = "GBP", last: int = 12, freq: str = "M",
                early: list[str] | None = None) -> list:
    """Four titled trend charts over the last ``last`` periods, one figure each.

    Revenue; active customers (new and returning); retention and repeat purchase; order
    value and revenue per customer. ``early`` periods (labels like ``"2011-01"``) are
    shaded as "data start". Titles, labels and legends are in the current language.
    Returns the list of matplotlib Figures.
    """
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    data = kpis.dropna(how="all").tail(last)
    word = _(PERIOD_WORD[freq])
    x = [format_period(p) for p in data.index]
    early_x = [format_period(p) for p in (early or []) if p in data.index]
    figures = []

    fig, ax = plt.subplots(figsize=FIGSIZE, constrained_layout=True)
    ax.bar(x, data["revenue"], color=plots.PALETTE[0])
    plots.money_axis(ax, currency)
    plots.label(ax, _(REVENUE_TITLE[freq]), word, _("Revenue ({currency})").format(currency=currency))
    _frame(ax, x, early_x, word)
    figures.append(fig)

    fig, ax = plt.subplots(figsize=FIGSIZE, constrained_layout=True)
    ax.bar(x, data["returning_customers"], color=plots.PALETTE[0], label=_("Returning"))
    ax.bar(x, data["new_customers"], bottom=data["returning_customers"], color=plots.PALETTE[1], label=_("New"))
    plots.count_axis(ax)
    plots.label(ax, _("Active customers: new and returning"), word, _("Customers"))
    _frame(ax, x, early_x, word)
    _legend_below(ax)
    figures.append(fig)

    fig, ax = plt.subplots(figsize=FIGSIZE, constrained_layout=True)
    ax.plot(x, data["retention_rate"], marker="o", color=plots.PALETTE[2], label=_("Retention rate"))
    ax.plot(x, data["repeat_purchase_rate"], marker="s", color=plots.PALETTE[3], label=_("Repeat-purchase rate"))
    plots.percent_axis(ax)
    ax.set_ylim(0, 1.05)
    plots.label(ax, _("Retention and repeat purchase"), word, _("Share of customers (%)"))
    _frame(ax, x, early_x, word)
    _legend_below(ax)
    figures.append(fig)

    fig, ax = plt.subplots(figsize=FIGSIZE, constrained_layout=True)
    ax.plot(x, data["aov"], marker="o", color=plots.PALETTE[5], label=_("Average order value"))
    ax.plot(x, data["revenue_per_customer"], marker="s", color=plots.PALETTE[6], label=_("Revenue per active customer"))
    plots.money_axis(ax, currency)
    ax.set_ylim(bottom=0)
    plots.label(ax, _("Order value and customer value"), word, _("Amount ({currency})").format(currency=currency))
    _frame(ax, x, early_x, word)
    _legend_below(ax)
    figures.append(fig)
    return figures
