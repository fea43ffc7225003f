"""The CLV page's charts (house style of :mod:`crmlib.core.plots`)."""
from __future__ import annotations

import pandas as pd

from crmlib.core.btyd import MODEL_LABELS
from crmlib.pages.clv.analysis import ClvResult

def plot_calibration_vs_holdout(result: ClvResult):
    """Mean holdout purchases by calibration-frequency bucket: actual vs each model."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    chosen = result.validations[result.chosen_model].by_bucket()
    ax.plot(chosen.index.astype(str), chosen["actual"], marker="o", linewidth=2.5, color="black", label="actual")
    for name, v in result.validations.items():
        if v.mae is None:
            continue
        b = v.by_bucket()
        ax.plot(b.index.astype(str), b["predicted"], marker=".", linestyle="--", label=f"{MODEL_LABELS[name]} predicted")
    ax.legend()
    plots.label(ax, "Holdout purchases by purchases in the calibration period",
                "repeat purchases in the calibration period", "average purchases per customer in the holdout")
    return ax


def plot_tracking(tracking: pd.DataFrame, calibration_end: pd.Timestamp, model: str):
    """Cumulative repeat purchases, actual vs model, with the calibration end marked."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(tracking["date"], tracking["actual"], color="black", linewidth=2.5, label="actual")
    ax.plot(tracking["date"], tracking["predicted"], linestyle="--", label=f"{MODEL_LABELS[model]} predicted")
    ax.axvline(calibration_end, color="grey", linestyle=":", label="end of calibration")
    ax.legend()
    plots.count_axis(ax)
    plots.label(ax, "Cumulative repeat purchases: actual vs model", "week", "repeat purchases (cumulative)")
    return ax


def plot_matrix(matrix: pd.DataFrame, kind: str, t_label: str = "", unit: str = "weeks"):
    """Heatmap of :func:`expectation_matrix` (rows: recency, most recent buyers at the top)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, 5))
    data = matrix.iloc[::-1]
    sns.heatmap(data, cmap="viridis" if kind == "p_alive" else "Blues", ax=ax,
                vmin=0 if kind == "p_alive" else None, vmax=1 if kind == "p_alive" else None,
                cbar_kws={"label": "probability still active" if kind == "p_alive" else f"expected purchases {t_label}"})
    title = ("Probability a customer is still active" if kind == "p_alive"
             else f"Expected purchases {t_label}")
    plots.label(ax, f"{title}, by purchase history", "repeat purchases so far (frequency)",
                f"{unit} between first and last purchase (recency)")
    return ax


def plot_clv_distribution(values: pd.DataFrame, currency: str = "GBP"):
    """Histogram of CLV on a log scale, coloured by tier."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, 4.2))
    data = values[values["clv"] > 0].assign(clv_tier=lambda d: d["clv_tier"].astype(str))
    sns.histplot(data, x="clv", hue="clv_tier", log_scale=True, bins=40, multiple="stack", ax=ax,
                 hue_order=[str(c) for c in values["clv_tier"].cat.categories])
    if ax.get_legend() is not None:
        ax.get_legend().set_title("CLV tier")
    plots.money_axis(ax, currency, axis="x")
    plots.count_axis(ax)
    plots.label(ax, "How customer lifetime values are spread (log scale)",
                f"CLV per customer ({plots.currency_symbol(currency).strip()}, log scale)", "customers")
    return ax


def plot_equity_by_segment(table: pd.DataFrame, currency: str = "GBP"):
    """Horizontal bars: customer equity by segment."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots(figsize=(8, max(3, 0.4 * len(table) + 1)))
    t = table.iloc[::-1]
    ax.barh(t.index.astype(str), t["equity"])
    for y, (eq, share) in enumerate(zip(t["equity"], t["share_of_equity"])):
        ax.text(eq, y, f" {share:.0%}", va="center", fontsize=9)
    plots.money_axis(ax, currency, axis="x")
    plots.label(ax, "Customer equity by segment (share of total)", f"customer equity ({currency})", "segment")
    return ax
