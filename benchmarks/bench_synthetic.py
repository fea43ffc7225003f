"""Time crmlib.synthetic.make_synthetic on a log of a given size (default 10M invoice lines).

Usage: python benchmarks/bench_synthetic.py [ROWS] [--dirt] [--groups K]

A pilot run on 20,000 customers sets the number of customers that gives about ROWS lines;
then one timed run prints the wall time, rows per second, the time per step budget target
(a 10M-row log in under a minute) and the peak memory of the process.
"""
from __future__ import annotations

import argparse
import resource
import time

from crmlib.synthetic import make_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=float, default=10e6, help="target invoice lines")
    parser.add_argument("--dirt", action="store_true", help="add dirt (cancellations, duplicates, ...)")
    parser.add_argument("--groups", type=int, default=None, help="planted customer groups")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pilot = make_synthetic(20_000, groups=args.groups, seed=args.seed)
    per_customer = len(pilot.transactions) / 20_000
    n_customers = max(1, int(args.rows / per_customer))
    del pilot

    start = time.perf_counter()
    data = make_synthetic(n_customers, groups=args.groups, dirt=args.dirt, seed=args.seed)
    wall = time.perf_counter() - start
    rows = len(data.transactions)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"make_synthetic: {n_customers:,} customers, {data.truth.invoices.shape[0]:,} invoices, "
          f"{rows:,} rows (dirt={args.dirt}, groups={args.groups})")
    print(f"wall time {wall:.1f} s, {rows / wall:,.0f} rows/s, "
          f"{wall / (rows / 10e6):.1f} s per 10M rows (target < 60 s), peak memory {peak_gb:.1f} GB")


if __name__ == "__main__":
    main()
