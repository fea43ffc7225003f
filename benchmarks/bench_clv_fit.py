"""Time BTYD fits on unique (frequency, recency, T) rows with weights against the plain fit.

A synthetic purchase log with known BG/NBD parameters (crmlib.synthetic.make_synthetic, two
years, CDNOW's parameters) is summarised with crmlib.core.summaries.btyd_summary and fitted
twice with lifetimes' BetaGeoFitter:

* plain: one row per customer (the lifetimes tutorial);
* weighted: ``crmlib.core.btyd.fit_model`` - identical histories compressed to one row with a
  weight (Fader & Hardie's condensed form). Same likelihood, so the same estimate.

Both purchase-occasion resolutions of crmlib.core.btyd are measured: daily occasions (recency
and T in days / 7: many distinct histories, so compression helps less) and weekly
occasions (the fallback ladder's second rung; whole weeks, the resolution of lifetimes'
``summary_data_from_transaction_data(freq="W")`` tutorial summary).

Printed per resolution: rows fitted, both times, the speed-up (target >= 10x at 1M
customers) and the largest relative difference between the two fits' parameters
(target <= 1e-4). Above ``--plain-max`` customers the plain fit is not run and its time is
EXTRAPOLATED linearly from the largest measured size (every optimiser step evaluates the
likelihood once per row), and the output says so.

    .venv/bin/python benchmarks/bench_clv_fit.py                        # 1M customers
    .venv/bin/python benchmarks/bench_clv_fit.py --customers 2e5        # quicker
    .venv/bin/python benchmarks/bench_clv_fit.py --plain-max 2e5        # skip the slow plain fit at 1M
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib.synthetic import make_synthetic  # noqa: E402
from crmlib.core import btyd as clv  # noqa: E402
from crmlib.core.summaries import btyd_summary  # noqa: E402

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # the CDNOW estimates


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def compare(summary, label: str, run_plain: bool) -> dict:
    unique = len(clv.compress_summary(summary))
    weighted, t_w = timed(clv.fit_model, summary, "bgnbd")
    out = {"label": label, "rows": len(summary), "unique": unique, "t_weighted": t_w, "t_plain": None, "diff": None}
    print(f"  [{label}] weighted fit: {unique:,} unique rows of {len(summary):,} ({unique / len(summary):.1%}) "
          f"in {t_w:.2f} s -> " + ", ".join(f"{k}={v:.4f}" for k, v in weighted.params.items()))
    if run_plain:
        plain, t_p = timed(clv.fit_model, summary, "bgnbd", compress=False)
        diff = max(abs(weighted.params[k] - plain.params[k]) / abs(plain.params[k]) for k in plain.params)
        out.update(t_plain=t_p, diff=diff)
        print(f"  [{label}] plain fit: {len(summary):,} rows in {t_p:.2f} s; speed-up {t_p / t_w:.1f}x; "
              f"largest relative parameter difference {diff:.1e}")
    return out


def run(n: int, run_plain: bool) -> list[dict]:
    data, t_gen = timed(make_synthetic, n, seed=1, planted_pairs=0, lines_per_invoice=1.0, **TRUTH)
    end = data.truth.params["end"]
    print(f"{n:,} customers: {len(data.transactions):,} transaction rows generated in {t_gen:.1f} s")
    results = []
    for occasion in ("day", "week"):
        summary, t_sum = timed(btyd_summary, clv._occasion_transactions(data.transactions, occasion), end,
                               time_unit="W")
        results.append(compare(summary, f"{occasion} occasions", run_plain))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=float, default=1e6)
    parser.add_argument("--plain-max", type=float, default=1e6,
                        help="largest size at which the plain fit is measured (default 1M)")
    args = parser.parse_args()
    n, plain_max = int(args.customers), int(args.plain_max)
    warm = make_synthetic(500, seed=2, planted_pairs=0)  # warm-up: imports and first calls off the clock
    clv.fit_model(btyd_summary(warm.transactions, warm.truth.params["end"]), "bgnbd")
    if n <= plain_max:
        for r in run(n, True):
            print(f"RESULT {n:,} customers, {r['label']}: plain {r['t_plain']:.1f} s, weighted {r['t_weighted']:.1f} s, "
                  f"speed-up {r['t_plain'] / r['t_weighted']:.1f}x (target >= 10x); parameters equal to "
                  f"{r['diff']:.1e} relative (target <= 1e-4)")
        return
    small = run(plain_max, True)
    big = run(n, False)
    for s_, b_ in zip(small, big):
        t_plain = s_["t_plain"] * n / plain_max
        print(f"RESULT {n:,} customers, {b_['label']}: weighted {b_['t_weighted']:.1f} s; plain EXTRAPOLATED from "
              f"{plain_max:,} customers ~{t_plain:.0f} s; speed-up ~{t_plain / b_['t_weighted']:.0f}x (target >= 10x); "
              f"parameters at {plain_max:,} equal to {s_['diff']:.1e} relative")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
