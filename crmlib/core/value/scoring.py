"""How good a spend forecast is: totals, MAE, Spearman, normalised Gini, top-decile capture, deciles."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def normalised_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of ``actual`` ordered by ``predicted`` divided by the Gini of the perfect order
    (1 = perfect ranking, 0 = random). Ties in ``predicted`` are averaged (stable order
    within ties would flatter whichever customer comes first)."""
    a = np.asarray(actual, dtype="float64")
    p = np.asarray(predicted, dtype="float64")

    def gini(order_by: np.ndarray) -> float:
        frame = pd.DataFrame({"a": a, "k": order_by}).groupby("k", sort=True)["a"].agg(["sum", "size"])
        frame = frame.iloc[::-1]  # highest score first
        cum_share = frame["sum"].cumsum().to_numpy() / a.sum()
        cum_pop = frame["size"].cumsum().to_numpy() / len(a)
        prev_share = np.r_[0.0, cum_share[:-1]]
        prev_pop = np.r_[0.0, cum_pop[:-1]]
        area = float(((cum_share + prev_share) / 2 * (cum_pop - prev_pop)).sum())  # trapezoids
        return area - 0.5

    if a.sum() <= 0 or len(a) < 2:
        return float("nan")
    best = gini(a)
    return gini(p) / best if best else float("nan")


def top_decile_capture(actual: np.ndarray, predicted: np.ndarray, share: float = 0.10) -> float:
    """Share of total actual spend made by the ``share`` of customers predicted highest
    (ties broken by position: callers pass customers in a fixed, sorted order)."""
    a = np.asarray(actual, dtype="float64")
    if a.sum() <= 0:
        return float("nan")
    n_top = max(1, int(math.ceil(share * len(a))))
    order = np.argsort(-np.asarray(predicted, dtype="float64"), kind="stable")
    return float(a[order[:n_top]].sum() / a.sum())


def decile_table(actual: np.ndarray, predicted: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Predicted vs actual spend by decile of the prediction (decile 1 = highest predictions;
    equal-size groups, ties by position). The columns sum to the totals."""
    a = np.asarray(actual, dtype="float64")
    p = np.asarray(predicted, dtype="float64")
    n = len(a)
    order = np.argsort(-p, kind="stable")
    decile = np.empty(n, dtype=int)
    decile[order] = np.arange(n) * n_bins // max(n, 1) + 1
    table = (pd.DataFrame({"decile": decile, "predicted": p, "actual": a})
             .groupby("decile").agg(customers=("actual", "size"), predicted=("predicted", "sum"),
                                    actual=("actual", "sum")).reset_index())
    table["actual_share"] = table["actual"] / a.sum() if a.sum() else np.nan
    return table


def score_forecast(actual: pd.Series, predicted: pd.Series) -> dict[str, float]:
    """Total, bias, MAE, Spearman, normalised Gini and top-decile capture of one forecast."""
    a = actual.to_numpy(dtype="float64")
    p = predicted.to_numpy(dtype="float64")
    pred_total, act_total = float(p.sum()), float(a.sum())
    return {
        "customers": int(len(a)),
        "predicted_total": pred_total,
        "actual_total": act_total,
        "total_bias": pred_total / act_total - 1 if act_total else float("nan"),
        "mae": float(np.abs(p - a).mean()),
        "spearman": float(pd.Series(p).corr(pd.Series(a), method="spearman")),
        "gini": normalised_gini(a, p),
        "top_decile_capture": top_decile_capture(a, p),
    }

