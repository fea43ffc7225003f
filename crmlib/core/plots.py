"""Charts with one house style, for managers: every chart titled, axes labelled with units.

The house style registers the Hangul font (:func:`crmlib.core.fonts.register_fonts`) as a
fallback in every language, and the axis formatters write money the report's way
(:func:`crmlib.core.formatting.format_money_tick`: ``£1.2m`` in English, ``₩14.4억`` in
Korean).

Plots are kept apart from data and models (as in lifetimes): each function takes
ready-made frames and returns the matplotlib ``Axes`` it drew on.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

from crmlib.core.chart_output import register_chart_output
from crmlib.core.formatting import currency_symbol
from crmlib.core.fonts import register_fonts
from crmlib.core.formatting import format_count_tick, format_money_tick

PALETTE = ["#1f4e79", "#e07b39", "#4c9a2a", "#b8336a", "#7f7f7f", "#2a9d8f", "#8c6bb1", "#c9a227"]


def use_house_style() -> None:
    """Apply the workbook's chart style (call once at the top of a notebook); see :mod:`crmlib.core.chart_output`."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
    register_fonts()  # after set_theme, which resets the fonts: Hangul in every chart, English too
    plt.rcParams.update(
        {
            "figure.figsize": (8, 4.2),
            "figure.dpi": 100,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "savefig.bbox": "tight",
        }
    )
    register_chart_output()  # light PNGs with the chart's title as alt text (in a notebook)


def money_axis(ax: plt.Axes, currency: str = "GBP", axis: str = "y") -> plt.Axes:
    """Format an axis as money with thousands separators (e.g. £12,300 or £1.2m; Korean ₩14.4억)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(lambda value, _pos: format_money_tick(value, currency)))
    return ax


def count_axis(ax: plt.Axes, axis: str = "y") -> plt.Axes:
    """Format an axis as counts, short from ten thousand up (``4,297``, ``250k``, ``1.25m``; Korean 만/억)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _p: format_count_tick(v)))
    return ax


def percent_axis(ax: plt.Axes, axis: str = "y", decimals: int = 0) -> plt.Axes:
    """Format an axis holding shares in [0, 1] as percentages."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.PercentFormatter(1.0, decimals=decimals))
    return ax


def label(ax: plt.Axes, title: str, xlabel: str, ylabel: str) -> plt.Axes:
    """Title and axis labels in one call (every chart needs all three)."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
