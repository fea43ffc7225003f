"""Charts with one house style, for managers: every chart titled, axes labelled with units.

Plots are kept apart from data and models (as in lifetimes): each function takes
ready-made frames and returns the matplotlib ``Axes`` it drew on.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import seaborn as sns

from crmlib.core.chart_output import register_chart_output
from crmlib.core.formatting import currency_symbol

PALETTE = ["#1f4e79", "#e07b39", "#4c9a2a", "#b8336a", "#7f7f7f", "#2a9d8f", "#8c6bb1", "#c9a227"]


def use_house_style() -> None:
    """Apply the workbook's chart style (call once at the top of a notebook); see :mod:`crmlib.core.chart_output`."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
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
    """Format an axis as money with thousands separators (e.g. £12,300 or £1.2m)."""
    symbol = currency_symbol(currency)

    def fmt(value: float, _pos: int) -> str:
        if abs(value) >= 1e6:
            return f"{symbol}{value / 1e6:,.1f}m"
        if abs(value) >= 1e4:
            return f"{symbol}{value / 1e3:,.0f}k"
        return f"{symbol}{value:,.0f}"

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(fmt))
    return ax


def count_axis(ax: plt.Axes, axis: str = "y") -> plt.Axes:
    """Format an axis as counts with thousands separators."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
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
