"""The segmentation page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.core.i18n import _
from crmlib.pages.segmentation.analysis import BehaviourClusters, pareto_curve, top_share
from crmlib.pages.segmentation.text import cluster_description, segment_name, stage_label

def plot_segments(table: pd.DataFrame, currency: str = "GBP"):
    """Customers per segment and each segment's share of customers vs of revenue."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    y = np.arange(len(table))
    left.barh(y, table["customers"], color=plots.PALETTE[0])
    left.set_yticks(y, [segment_name(n) for n in table.index])
    left.invert_yaxis()
    plots.count_axis(left, axis="x")
    plots.label(left, _("Customers per segment"), _("customers"), _("segment"))
    right.barh(y - 0.2, table["customer_share"], height=0.4, label=_("share of customers"), color=plots.PALETTE[4])
    right.barh(y + 0.2, table["revenue_share"], height=0.4, label=_("share of revenue"), color=plots.PALETTE[1])
    plots.percent_axis(right, axis="x")
    plots.label(right, _("Share of customers and of revenue"), _("share (%)"), "")
    right.legend(loc="lower right")
    fig.tight_layout()
    return left, right


def plot_rf_heatmap(customers: pd.DataFrame, currency: str = "GBP"):
    """R x F grid: colour = average spend, number = customers in the cell."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    grid = customers.groupby(["r_score", "f_score"])["monetary"].agg(["mean", "size"])
    spend = grid["mean"].unstack().reindex(index=range(5, 0, -1), columns=range(1, 6))
    counts = grid["size"].unstack().reindex(index=range(5, 0, -1), columns=range(1, 6))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sns.heatmap(spend, annot=counts.map(lambda v: "" if pd.isna(v) else f"{int(v):,}"), fmt="", cmap="Blues",
                linewidths=0.5, ax=ax,
                cbar_kws={"label": _("average spend per customer ({currency})").format(
                    currency=plots.currency_symbol(currency).strip())})
    ax.grid(False)
    plots.label(ax, _("Recency x Frequency (number = customers, colour = average spend)"),
                _("frequency score (5 = most purchase days)"), _("recency score (5 = most recent)"))
    return ax


def plot_cluster_profiles(model: BehaviourClusters):
    """Each cluster's standardised profile (colour: green = better than average, with
    recency flipped so that recent is better) and its median values (numbers)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    p = model.profiles_
    medians = p[[f"median_{f}" for f in model.features]].set_axis(list(model.features), axis=1)
    better = model.centers_.copy()
    if "recency_days" in better:
        better["recency_days"] = -better["recency_days"]
    names = {"recency_days": _("days since last purchase"), "frequency": _("purchase days"),
             "monetary": _("total spend")}
    rows = [f"{c}: {cluster_description(d)} ({n:,})" for c, d, n in zip(p.index, p["description"], p["customers"])]
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(p) + 1.8))
    sns.heatmap(better.set_axis(rows), annot=medians.map(lambda v: f"{v:,.0f}"), fmt="", cmap="RdYlGn",
                center=0, vmin=-2, vmax=2, ax=ax,
                cbar_kws={"label": _("worse  <-  average  ->  better\n(standard deviations, log scale)")})
    ax.set_xticklabels([names.get(f, f) for f in model.features], rotation=0)
    plots.label(ax, _("Customer groups (numbers = the group's typical customer)"), "",
                _("group: description (customers)"))
    return ax


def plot_lifecycle(customers: pd.DataFrame, currency: str = "GBP"):
    """Customers and revenue by life-cycle stage."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    grouped = customers.groupby("lifecycle_stage", observed=False)
    counts, revenue = grouped.size(), grouped["monetary"].sum()
    labels = [stage_label(k) for k in counts.index]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(labels, counts.to_numpy(), color=plots.PALETTE[0])
    plots.count_axis(left)
    plots.label(left, _("Customers by life-cycle stage"), _("stage"), _("customers"))
    right.bar(labels, revenue.to_numpy(), color=plots.PALETTE[1])
    plots.money_axis(right, currency)
    plots.label(right, _("Their revenue to date"), _("stage"), _("revenue ({currency})").format(currency=currency))
    fig.tight_layout()
    return left, right


def plot_cohorts(cohorts: dict[str, pd.DataFrame], kind: str = "retention", currency: str = "GBP"):
    """Cohort heat map: ``kind`` "retention" (% of the cohort buying in month k) or
    "revenue_per_customer" (spend in month k per cohort customer)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    table = cohorts[kind]
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(table) + 1.8))
    ax.grid(False)
    if kind == "retention":
        sns.heatmap(table, annot=True, fmt=".0%", cmap="Greens", vmin=0, vmax=max(0.01, table.iloc[:, 1:].max().max()),
                    ax=ax, annot_kws={"size": 8}, cbar_kws={"label": _("share of cohort buying (%)")})
        plots.percent_axis(ax.collections[0].colorbar.ax)
        plots.label(ax, _("Retention by monthly cohort"), _("months since first purchase"),
                    _("cohort (first purchase month)"))
    else:
        sym = plots.currency_symbol(currency).strip()
        sns.heatmap(table, annot=True, fmt=",.0f", cmap="Oranges", ax=ax, annot_kws={"size": 8},
                    cbar_kws={"label": _("revenue per cohort customer ({currency})").format(currency=sym)})
        plots.label(ax, _("Revenue per cohort customer ({currency})").format(currency=sym),
                    _("months since first purchase"), _("cohort (first purchase month)"))
    return ax


def plot_pareto(values: pd.Series, currency: str = "GBP"):
    """Cumulative share of revenue against share of customers, best first."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    curve = pareto_curve(values)
    share = top_share(values, 0.2)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve["customer_share"], curve["revenue_share"], color=plots.PALETTE[0], label=_("our customers"))
    ax.plot([0, 1], [0, 1], color=plots.PALETTE[4], linestyle="--", label=_("everyone spends the same"))
    ax.axvline(0.2, color=plots.PALETTE[1], linewidth=1)
    ax.annotate(_("top 20 %: {share} of revenue").format(share=f"{share:.0%}"), (0.2, share), xytext=(0.3, share - 0.15),
                arrowprops={"arrowstyle": "->"})
    plots.percent_axis(ax, "x")
    plots.percent_axis(ax, "y")
    plots.label(ax, _("Revenue concentration, all purchases to date"), _("share of customers, best first (%)"),
                _("cumulative share of revenue (%)"))
    ax.legend(loc="lower right")
    return ax
