"""The basket page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crmlib.core import plots
from crmlib.core.i18n import _
from crmlib.pages.basket.baskets import Baskets, _short

def _no_data(ax: plt.Axes, title: str) -> plt.Axes:
    ax.text(0.5, 0.5, _("no basket data"), ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])
    return plots.label(ax, title, "", "")


def plot_strongest_pairs(affinity: pd.DataFrame, n: int = 15, ax: plt.Axes | None = None) -> plt.Axes:
    """Horizontal bars of the ``n`` pairs with the highest lift."""
    ax = ax or plt.subplots(figsize=(8, 0.35 * n + 1.2))[1]
    title = _("Top {n} product pairs bought together").format(n=n)
    if affinity.empty:
        return _no_data(ax, title)
    top = affinity.head(n).iloc[::-1]
    labels = [f"{_short(a, 28)} + {_short(b, 28)}" for a, b in zip(top["name_a"].astype(str), top["name_b"].astype(str))]
    ax.barh(labels, top["lift"], color=plots.PALETTE[0])
    ax.axvline(1, color="grey", lw=1, ls="--")
    return plots.label(ax, title, _("times more often together than by chance"), "")


def plot_affinity_heatmap(baskets: Baskets, affinity: pd.DataFrame, n: int = 20, ax: plt.Axes | None = None) -> plt.Axes:
    """Lift between the ``n`` best-selling items (blank: never or rarely together)."""
    import seaborn as sns

    ax = ax or plt.subplots(figsize=(9, 7.5))[1]
    title = _("How strongly the {n} most common products go together").format(n=n)
    if affinity.empty or not baskets.available:
        return _no_data(ax, title)
    top = np.argsort(-baskets.item_counts(), kind="stable")[:n]
    ids = baskets.item_ids[top].astype(str)
    names = [_short(x, 30) for x in baskets.item_names[top]]
    pairs = affinity[affinity["item_a"].astype(str).isin(ids) & affinity["item_b"].astype(str).isin(ids)]
    position = pd.Index(ids)
    a = position.get_indexer(pairs["item_a"].astype(str))
    b = position.get_indexer(pairs["item_b"].astype(str))
    values = np.full((len(ids), len(ids)), np.nan)
    values[a, b] = values[b, a] = pairs["lift"].to_numpy()
    grid = pd.DataFrame(values, index=names, columns=names)
    sns.heatmap(grid, ax=ax, cmap="Blues", cbar_kws={"label": _("times more often together than by chance")}, linewidths=0.3, linecolor="white")
    ax.grid(False)
    return plots.label(ax, title, _("product"), _("product"))


def plot_holdout(evaluation: dict, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of hit@n for the cross-sell model and the best-seller baseline."""
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    title = _("Offline check: last basket holds one of the {n} suggestions").format(n=evaluation["n"])
    if not evaluation["customers_evaluated"]:
        return _no_data(ax, title)
    values = [evaluation["hit_rate_model"], evaluation["hit_rate_baseline"]]
    ax.barh([_("cross-sell model"), _("best sellers")], values, color=[plots.PALETTE[0], plots.PALETTE[4]])
    plots.percent_axis(ax, axis="x")
    return plots.label(ax, title, _("share of customers (hit rate)"), "")
