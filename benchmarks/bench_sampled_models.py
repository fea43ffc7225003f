"""Sampled vs full model fits at a million customers: is the sample's quality within noise?

Usage::

    .venv/bin/python benchmarks/bench_sampled_models.py [transactions.parquet] [--as-of 2011-12-31]
        [--sample 50000] [--seeds 3]

Default data: the 10M-line cleaned log (1.11M customers). Out of time, one churn window
(90 days) back, as the churn page checks its model:

* **activity model** (:class:`crmlib.core.activity.ActivityModel`, classifier only)
  fitted at ``as_of - 90 d`` (it trains on the window before that), scoring every
  customer; quality = ROC-AUC of its ``p_alive`` for "bought in (as_of - 90 d, as_of]".
* **churn** = the same scores on the customers active then (a purchase in the 365 days
  before), ROC-AUC of 1 - ``p_alive`` for "no purchase in the window" (the churn page's
  check).
* **value backtest ranking**: the spend_gbm and bgnbd_gg candidates
  (:func:`crmlib.core.value.forecast_candidates`) at ``as_of - 91 d``, scored against the
  actual spend in the 91 days after: Spearman and top-decile capture.

Each is fitted on everyone (``max_customers=None``) and on ``--seeds`` samples of
``--sample`` customers; the noise is the spread (min..max, standard deviation) over the
seeds. Features are computed once per cutoff and reused (cached) so the benchmark
times the training, not the features. Prints, does not assert.
"""
from __future__ import annotations

import argparse
import functools
import time

import pandas as pd
from sklearn.metrics import roc_auc_score

from crmlib.core import activity as activity_module
from crmlib.core import value
from crmlib.core.value import candidates as candidates_module

DEFAULT_DATA = "/work/scale/r10m/2011-12/analyst/artifacts/transactions.parquet"
COLUMNS = ["customer_id", "invoice_id", "invoice_date", "product_id", "quantity", "unit_price", "amount", "country"]


def _cache_features() -> None:
    """Features at a cutoff are the same for every fit: compute each once."""
    original = activity_module._features
    cache: dict = {}

    @functools.wraps(original)
    def cached(transactions, cutoff, customers, segment_map):
        key = (id(transactions), pd.Timestamp(cutoff), customers is None, segment_map is None)
        if key not in cache:
            cache[key] = original(transactions, cutoff, customers, segment_map)
        return cache[key]

    activity_module._features = cached
    candidates_module._features = cached


def _activity(tx: pd.DataFrame, as_of: pd.Timestamp, max_customers: int | None, seed: int) -> dict[str, float]:
    window = 90
    fitted_at = as_of - pd.Timedelta(days=window)
    start = time.perf_counter()
    model = activity_module.ActivityModel(window, use_btyd="never", seed=seed, max_customers=max_customers).fit(
        tx, fitted_at)
    seconds = time.perf_counter() - start
    p = model.p_alive_
    day = tx["invoice_date"]
    cutoff = fitted_at + pd.Timedelta(days=1)
    bought = set(tx.loc[(day >= cutoff) & (day < cutoff + pd.Timedelta(days=window)), "customer_id"].unique())
    y = p.index.isin(list(bought)).astype(int)
    active = set(tx.loc[(day < cutoff) & (day >= cutoff - pd.Timedelta(days=365)), "customer_id"].unique())
    act = p.index.isin(list(active))
    return {"activity_roc_auc": roc_auc_score(y, p.to_numpy()),
            "churn_roc_auc": roc_auc_score(1 - y[act], 1 - p.to_numpy()[act]),
            "activity_fit_s": seconds, "trained_on": model.n_train_, "customers": model.n_customers_}


def _value(tx: pd.DataFrame, as_of: pd.Timestamp, max_customers: int | None, seed: int) -> dict[str, float]:
    cutoff = as_of - pd.Timedelta(days=91)
    start = time.perf_counter()
    fc = value.forecast_candidates(tx, cutoff, 91, candidates=("bgnbd_gg", "spend_gbm"), seed=seed,
                                   max_customers=max_customers)
    seconds = time.perf_counter() - start
    actual = value.spend_between(tx, cutoff, cutoff + pd.Timedelta(days=91)).reindex(fc.forecasts.index).fillna(0.0)
    out = {"value_fit_s": seconds}
    for name in fc.forecasts.columns:
        score = value.score_forecast(actual, fc.forecasts[name].fillna(0.0))
        out[f"{name}_spearman"] = score["spearman"]
        out[f"{name}_top_decile_capture"] = score["top_decile_capture"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=DEFAULT_DATA)
    parser.add_argument("--as-of", default="2011-12-31")
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    as_of = pd.Timestamp(args.as_of)
    tx = pd.read_parquet(args.data, columns=COLUMNS)
    tx = tx[tx["customer_id"].notna() & (tx["invoice_date"] < as_of + pd.Timedelta(days=1))]
    tx = tx.assign(customer_id=tx["customer_id"].astype(str))
    print(f"{len(tx):,} lines, {tx['customer_id'].nunique():,} customers, as_of {as_of.date()}")
    _cache_features()

    rows = {}
    for seed in range(args.seeds):
        rows[f"sample seed {seed}"] = {**_activity(tx, as_of, args.sample, seed), **_value(tx, as_of, args.sample, seed)}
        print(f"sample seed {seed}: {rows[f'sample seed {seed}']}", flush=True)
    rows["full"] = {**_activity(tx, as_of, None, 0), **_value(tx, as_of, None, 0)}
    print(f"full: {rows['full']}", flush=True)

    table = pd.DataFrame(rows).T
    samples = table.drop(index="full")
    quality = [c for c in table.columns if c.endswith(("roc_auc", "spearman", "capture"))]
    report = pd.DataFrame({
        "full": table.loc["full", quality],
        "sampled_mean": samples[quality].mean(),
        "difference": samples[quality].mean() - table.loc["full", quality],
        "seed_min": samples[quality].min(), "seed_max": samples[quality].max(),
        "seed_std": samples[quality].std(ddof=1),
    })
    # within noise: the sample's mean is within two seed standard deviations of the full fit (a systematic
    # loss, however small, shows as False; read it with the size of the difference)
    report["within_noise"] = report["difference"].abs() <= 2 * report["seed_std"]
    pd.set_option("display.width", 160)
    print("\nQuality (out of time): full fit vs samples of", f"{args.sample:,}", "customers")
    print(report.round(4).to_string())
    times = [c for c in table.columns if c.endswith("_s")]
    print("\nFit seconds (features cached):")
    print(table[times].round(1).to_string())
    warm = samples.iloc[1:] if len(samples) > 1 else samples  # seed 0 also computed the (cached) features
    print("\nSpeed-up of the sample (full / sampled mean, seeds after the first):",
          {c: round(float(table.loc["full", c] / warm[c].mean()), 1) for c in times})


if __name__ == "__main__":
    main()
