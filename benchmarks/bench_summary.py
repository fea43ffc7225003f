"""Time crmlib.core.summaries.btyd_summary against lifetimes' summary_data_from_transaction_data.

Both get the same synthetic transaction log (customer id strings, timestamps with a time
of day, amounts; invoice lines listed together as in real exports) and the same
observation end; the script checks they agree and prints both times and the speed-up
from one run.

    .venv/bin/python benchmarks/bench_summary.py            # 10M rows (lifetimes takes minutes)
    .venv/bin/python benchmarks/bench_summary.py --rows 1e6
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from crmlib.core.summaries import btyd_summary  # noqa: E402


def synthetic_log(rows: int, customers: int, seed: int = 0, lines_per_invoice: float = 5.0) -> pd.DataFrame:
    """A purchase log over two years laid out like a retail export: invoices in time
    order, each with 1 + Poisson(lines_per_invoice - 1) lines of one customer; customers'
    activity is skewed (Gamma weights), and a customer may have several invoices a day."""
    rng = np.random.default_rng(seed)
    n_invoices = int(rows / lines_per_invoice) + 1
    weights = rng.gamma(0.6, 1.0, customers)
    invoice_customer = rng.choice(customers, size=n_invoices, p=weights / weights.sum())
    invoice_minute = np.sort(rng.integers(0, 730 * 24 * 60, n_invoices))
    lines = 1 + rng.poisson(lines_per_invoice - 1, n_invoices)
    owner = np.repeat(np.arange(n_invoices), lines)[:rows]
    return pd.DataFrame(
        {
            "customer_id": pd.Series(invoice_customer).astype(str).str.zfill(7).to_numpy()[owner],
            "invoice_date": pd.Timestamp("2010-01-01") + pd.to_timedelta(invoice_minute[owner], unit="min"),
            "amount": np.round(rng.gamma(2.0, 12.0, len(owner)), 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: rows / 25")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is compared")
    args = parser.parse_args()
    rows = int(args.rows)
    customers = args.customers or max(rows // 25, 10)
    as_of = "2011-12-31"

    t0 = time.perf_counter()
    log = synthetic_log(rows, customers)
    print(f"synthetic log: {rows:,} rows, {log['customer_id'].nunique():,} customers "
          f"({time.perf_counter() - t0:.1f} s to build)")

    def best_of(fn):  # the least-disturbed of `repeat` runs (timeit's rule; the box is shared)
        times, result = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return min(times), times, result

    t_ours, ours_times, ours = best_of(lambda: btyd_summary(log, as_of, time_unit="W"))
    print(f"crmlib btyd_summary:                          best {t_ours:7.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in ours_times)})")
    try:
        from lifetimes.utils import summary_data_from_transaction_data

        t_theirs, their_times, theirs = best_of(lambda: summary_data_from_transaction_data(
            log, "customer_id", "invoice_date", monetary_value_col="amount",
            observation_period_end=as_of, freq="D", freq_multiplier=7,
        ))
    except Exception as exc:  # lifetimes 0.11 predates pandas 3: report instead of crashing
        print(f"lifetimes summary_data_from_transaction_data failed: {type(exc).__name__}: {exc}")
        return
    print(f"lifetimes summary_data_from_transaction_data: best {t_theirs:7.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in their_times)})")
    theirs = theirs.sort_index()
    same = ours.index.equals(theirs.index) and np.allclose(ours.to_numpy(), theirs[ours.columns].to_numpy())
    print(f"results identical (to float precision): {same}")
    print(f"speed-up: {t_theirs / t_ours:.1f}x  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
