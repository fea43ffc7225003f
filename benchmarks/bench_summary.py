"""Time crmlib's customer_summary and btyd_summary against lifetimes' summary_data_from_transaction_data.

All three get the same synthetic transaction log (customer id strings, invoice ids,
timestamps with a time of day, amounts; invoice lines listed together as in real exports)
and the same observation end. Each is called once on a small frame first (warm), then
timed ``--repeat`` times; the script checks that the BTYD columns agree and prints the
median times and the speed-ups (issue 16 asks customer_summary for >= 5x on 2M lines).

    .venv/bin/python benchmarks/bench_summary.py --rows 2e6
    .venv/bin/python benchmarks/bench_summary.py            # 10M rows (lifetimes takes minutes)
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
from crmlib.core.summaries import btyd_summary, customer_summary  # noqa: E402


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
            "invoice_id": pd.Series(np.arange(n_invoices) + 500_000).astype(str).to_numpy()[owner],
            "invoice_date": pd.Timestamp("2010-01-01") + pd.to_timedelta(invoice_minute[owner], unit="min"),
            "amount": np.round(rng.gamma(2.0, 12.0, len(owner)), 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10_000_000)
    parser.add_argument("--customers", type=int, default=None, help="default: rows / 25")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the median is compared")
    args = parser.parse_args()
    rows = int(args.rows)
    customers = args.customers or max(rows // 25, 10)
    as_of = "2011-12-31"

    t0 = time.perf_counter()
    log = synthetic_log(rows, customers)
    print(f"synthetic log: {rows:,} rows, {log['customer_id'].nunique():,} customers, "
          f"{log['invoice_id'].nunique():,} invoices ({time.perf_counter() - t0:.1f} s to build)")

    def median_of(fn):  # warm first (imports, caches) on a small frame, then the median of `repeat`
        fn(log.head(1000))
        times, result = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = fn(log)
            times.append(time.perf_counter() - t0)
        return float(np.median(times)), times, result

    def show(label, timing):
        print(f"{label:46s} median {timing[0]:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in timing[1])})")

    ours_btyd = median_of(lambda f: btyd_summary(f, as_of, time_unit="W"))
    show("crmlib btyd_summary:", ours_btyd)
    ours_customer = median_of(lambda f: customer_summary(f, as_of, time_unit="W"))
    show("crmlib customer_summary (with invoice ids):", ours_customer)
    try:
        from lifetimes.utils import summary_data_from_transaction_data

        theirs = median_of(lambda f: summary_data_from_transaction_data(
            f, "customer_id", "invoice_date", monetary_value_col="amount",
            observation_period_end=as_of, freq="D", freq_multiplier=7,
        ))
    except Exception as exc:  # lifetimes 0.11 predates pandas 3: report instead of crashing
        print(f"lifetimes summary_data_from_transaction_data failed: {type(exc).__name__}: {exc}")
        return
    show("lifetimes summary_data_from_transaction_data:", theirs)
    reference = theirs[2].sort_index()
    btyd = ours_btyd[2]
    from_customer = ours_customer[2][[f"btyd_{c}" for c in btyd.columns]].set_axis(btyd.columns, axis=1)
    same = all(frame.index.equals(reference.index)
               and np.allclose(frame.to_numpy(), reference[btyd.columns].to_numpy())
               for frame in (btyd, from_customer))
    print(f"results identical (to float precision): {same}")
    print(f"speed-up btyd_summary:     {theirs[0] / ours_btyd[0]:.1f}x")
    print(f"speed-up customer_summary: {theirs[0] / ours_customer[0]:.1f}x  "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
