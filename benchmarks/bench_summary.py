"""Time crmlib.segmentation.btyd_summary against lifetimes' summary_data_from_transaction_data.

Both get the same synthetic transaction log (customer id strings, timestamps with a time
of day, amounts) and the same observation end; the script checks they agree and prints
both times and the speed-up from one run.

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
from crmlib.segmentation import btyd_summary  # noqa: E402


def synthetic_log(rows: int, customers: int, seed: int = 0) -> pd.DataFrame:
    """A purchase log over two years: skewed activity per customer, several lines per day."""
    rng = np.random.default_rng(seed)
    weights = rng.gamma(0.6, 1.0, customers)
    cust = rng.choice(customers, size=rows, p=weights / weights.sum())
    minutes = rng.integers(0, 730 * 24 * 60, rows)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(cust).astype(str).str.zfill(7).to_numpy(),
            "invoice_date": pd.Timestamp("2010-01-01") + pd.to_timedelta(minutes, unit="min"),
            "amount": np.round(rng.gamma(2.0, 12.0, rows), 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: rows / 25")
    args = parser.parse_args()
    rows = int(args.rows)
    customers = args.customers or max(rows // 25, 10)
    as_of = "2011-12-31"

    t0 = time.perf_counter()
    log = synthetic_log(rows, customers)
    print(f"synthetic log: {rows:,} rows, {log['customer_id'].nunique():,} customers "
          f"({time.perf_counter() - t0:.1f} s to build)")

    t0 = time.perf_counter()
    ours = btyd_summary(log, as_of, time_unit="W")
    t_ours = time.perf_counter() - t0
    print(f"crmlib btyd_summary:                         {t_ours:8.2f} s")

    try:
        from lifetimes.utils import summary_data_from_transaction_data

        t0 = time.perf_counter()
        theirs = summary_data_from_transaction_data(
            log, "customer_id", "invoice_date", monetary_value_col="amount",
            observation_period_end=as_of, freq="D", freq_multiplier=7,
        )
        t_theirs = time.perf_counter() - t0
    except Exception as exc:  # lifetimes 0.11 predates pandas 3: report instead of crashing
        print(f"lifetimes summary_data_from_transaction_data failed: {type(exc).__name__}: {exc}")
        return
    print(f"lifetimes summary_data_from_transaction_data: {t_theirs:8.2f} s")
    theirs = theirs.sort_index()
    same = ours.index.equals(theirs.index) and np.allclose(ours.to_numpy(), theirs[ours.columns].to_numpy())
    print(f"results identical (to float precision): {same}")
    print(f"speed-up: {t_theirs / t_ours:.1f}x  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
          "timings from a busy machine are noisy)")


if __name__ == "__main__":
    main()
