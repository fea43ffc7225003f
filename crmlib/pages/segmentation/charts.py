"""The segmentation page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmlib.pages.segmentation.analysis import BehaviourClusters, pareto_curve, top_share

def plot_segments(table: pd.DataFrame, currency: str = "GBP"):
    """Customers per segment and each segment's share of customers vs of revenue."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    y = np.arange(len(table))
    left.barh(y, table["customers"], color=plots.PALETTE[0])
    left.set_yticks(y, table.index)
    left.invert_yaxis()
    plots.count_axis(left, axis="x")
    plots.label(left, "Customers per segment", "customers", "segment")
    right.barh(y - 0.2, table["customer_share"], height=0.4, label="share of customers", color=plots.PALETTE[4])
    right.barh(y + 0.2, table["revenue_share"], height=0.4, label="share of revenue", color=plots.PALETTE[1])
    plots.percent_axis(right, axis="x")
    plots.label(right, "Share of customers and of revenue", "share (%)", "")
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
                cbar_kws={"label": f"average spend per customer ({plots.currency_symbol(currency).strip()})"})
    ax.grid(False)
    plots.label(ax, "Recency x Frequency (number = customers, colour = average spend)",
                "frequency score (5 = most purchase days)", "recency score (5 = most recent)")
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
    names = {"recency_days": "days since last purchase", "frequency": "purchase days", "monetary": "total spend"}
    rows = [f"{c}: {d} ({n:,})" for c, d, n in zip(p.index, p["description"], p["customers"])]
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(p) + 1.8))
    sns.heatmap(better.set_axis(rows), annot=medians.map(lambda v: f"{v:,.0f}"), fmt="", cmap="RdYlGn",
                center=0, vmin=-2, vmax=2, ax=ax,
                cbar_kws={"label": "worse  <-  average  ->  better\n(standard deviations, log scale)"})
    ax.set_xticklabels([names.get(f, f) for f in model.features], rotation=0)
    plots.label(ax, "Customer groups (numbers = the group's typical customer)", "", "group: description (customers)")
    return ax


def plot_lifecycle(customers: pd.DataFrame, currency: str = "GBP"):
    """Customers and revenue by life-cycle stage."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    from crmlib.pages.segmentation.text import LIFECYCLE_LABELS

    grouped = customers.groupby("lifecycle_stage", observed=False)
    counts, revenue = grouped.size(), grouped["monetary"].sum()
    labels = [LIFECYCLE_LABELS.get(str(k), str(k)) for k in counts.index]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(labels, counts.to_numpy(), color=plots.PALETTE[0])
    plots.count_axis(left)
    plots.label(left, "Customers by life-cycle stage", "stage", "customers")
    right.bar(labels, revenue.to_numpy(), color=plots.PALETTE[1])
    plots.money_axis(right, currency)
    plots.label(right, "Their revenue to date", "stage", f"revenue ({currency})")
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
                    ax=ax, annot_kws={"size": 8}, cbar_kws={"label": "share of cohort buying (%)"})
        plots.percent_axis(ax.collections[0].colorbar.ax)
        plots.label(ax, "Retention by monthly cohort", "months since first purchase", "cohort (first purchase month)")
    else:
        sym = plots.currency_symbol(currency).strip()
        sns.heatmap(table, annot=True, fmt=",.0f", cmap="Oranges", ax=ax, annot_kws={"size": 8},
                    cbar_kws={"label": f"revenue per cohort customer ({sym})"})
        plots.label(ax, f"Revenue per cohort customer ({sym})", "months since first purchase",
                    "cohort (first purchase month)")
    return ax


def plot_pareto(values: pd.Series, currency: str = "GBP"):
    """Cumulative share of revenue against share of customers, best first."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    curve = pareto_curve(values)
    share = top_share(values, 0.2)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve["customer_share"], curve["revenue_share"], color=plots.PALETTE[0], label="our customers")
    ax.plot([0, 1], [0, 1], color=plots.PALETTE[4], linestyle="--", label="everyone spends the same")
    ax.axvline(0.2, color=plots.PALETTE[1], linewidth=1)
    ax.annotate(f"top 20 %: {share:.0%} of revenue", (0.2, share), xytext=(0.3, share - 0.15),
                arrowprops={"arrowstyle": "->"})
    plots.percent_axis(ax, "x")
    plots.percent_axis(ax, "y")
    plots.label(ax, "Revenue concentration, all purchases to date", "share of customers, best first (%)",
                "cumulative share of revenue (%)")
    ax.legend(loc="lower right")
    return ax
