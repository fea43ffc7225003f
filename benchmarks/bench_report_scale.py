"""Row-level stages at scale: pandas vs DuckDB (vs Spark) on 1M and 10M synthetic lines (100M on request).

For each size the script writes a synthetic log (the project's generator,
``crmlib.synthetic.make_synthetic``, in chunks of about 1M lines with disjoint customer and
invoice ids) straight to month-partitioned Parquet (``crmlib.core.engine.write_transactions``),
then runs the row-level stages on each engine in a fresh process: reading the log
(pandas only; the other engines read inside each query), the customer summary, the
monthly sales and customer counts, and the basket pair counts. It prints wall time per
stage, the process's peak memory (VmHWM), and the scaling exponent k (time ~ lines^k)
between consecutive sizes. ``--full-report`` also times ``crm report`` on the log
written as CSV (slow: half an hour at 10M lines on 2 cores today).

    .venv/bin/python benchmarks/bench_report_scale.py                       # 1M and 10M lines
    .venv/bin/python benchmarks/bench_report_scale.py --sizes 1e6 --engines pandas duckdb spark
    .venv/bin/python benchmarks/bench_report_scale.py --sizes 1e6 1e7 1e8 --allow-100m   # needs ~1 h and ~5 GB disk
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib.core import engine as engines  # noqa: E402
from crmlib.synthetic import make_synthetic  # noqa: E402

LINES_PER_CUSTOMER = 8.4      # make_synthetic's default process: about 8.4 lines per customer over two years
CHUNK_CUSTOMERS = 120_000     # about 1M lines per chunk
AS_OF = "2011-12-31"
STAGES = ("read", "customer_summary", "period_aggregates", "pair_counts")


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_chunks(lines: int, seed: int = 0):
    """Chunks of a synthetic log of about ``lines`` lines, customers and invoices disjoint across chunks."""
    customers = max(int(lines / LINES_PER_CUSTOMER), 100)
    done, chunk = 0, 0
    while done < customers:
        n = min(CHUNK_CUSTOMERS, customers - done)
        tx = make_synthetic(n_customers=n, seed=seed + chunk).transactions
        for column, offset in (("customer_id", done), ("invoice_id", chunk * 10**8)):
            codes = pd.to_numeric(tx[column], errors="coerce")
            tx[column] = (codes + offset).astype("Int64").astype("str").where(codes.notna())
        yield tx
        done += n
        chunk += 1


def build_log(lines: int, folder: Path) -> tuple[Path, float]:
    path = folder / f"transactions_{lines}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        engines.write_transactions(synthetic_chunks(lines), path)
        print(f"  wrote {engines.parquet_rows(path):,} lines in {time.perf_counter() - t0:.0f} s "
              f"({sum(f.stat().st_size for f in path.rglob('*.parquet')) / 1e6:,.0f} MB Parquet)", flush=True)
    return path, engines.parquet_rows(path)


def worker(engine_name: str, path: str, scratch: str) -> dict:
    """Run the stages once on one engine (in its own process, for a clean peak memory)."""
    times: dict[str, float] = {}
    options = {"threads": os.cpu_count(), "memory_limit": "3GB", "temp_directory": scratch} if engine_name == "duckdb" else {}
    if engine_name == "spark":
        options = {"master": f"local[{os.cpu_count()}]", "spark_conf": [("spark.driver.memory", "3g")]}
    with engines.Engine(engine_name, **options) as engine:
        source: object = path
        if engine_name == "pandas":
            t0 = time.perf_counter()
            source = engines.read_transactions(path, list(engines.ROW_COLUMNS))
            times["read"] = time.perf_counter() - t0
        for stage, run in (("customer_summary", lambda: engines.customer_summary(source, AS_OF, engine)),
                           ("period_aggregates", lambda: engines.period_aggregates(source, AS_OF, engine)),
                           ("pair_counts", lambda: engines.pair_counts(source, engine, min_count=50))):
            t0 = time.perf_counter()
            result = run()
            times[stage] = time.perf_counter() - t0
            if stage == "customer_summary":
                times["customers"] = len(result)
    return {"times": times, "peak_mb": peak_memory_mb()}


def run_worker(engine_name: str, path: Path, scratch: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", engine_name, str(path), str(scratch)],
                         capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def full_report(path: Path, folder: Path) -> tuple[float, float]:
    """``crm report`` on the log as CSV: (wall seconds, peak MB of the largest child process)."""
    csv = folder / f"{path.stem}.csv"
    if not csv.exists():
        engines.read_transactions(path).to_csv(csv, index=False)
    t0 = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "crm"), "report", "--no-progress", "--data", str(csv),
                    "--output", str(folder / "reports")], check=True, cwd=ROOT)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7], help="lines per log")
    parser.add_argument("--engines", nargs="+", default=["pandas", "duckdb"], choices=["pandas", "duckdb", "spark"])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "crm_scale_bench",
                        help="where logs are written (kept for the next run)")
    parser.add_argument("--allow-100m", action="store_true", help="allow sizes of 100M lines and more")
    parser.add_argument("--full-report", action="store_true", help="also time `crm report` on each log")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    sizes = [int(s) for s in args.sizes]
    if max(sizes) >= 10**8 and not args.allow_100m:
        parser.error("100M lines take about an hour and several GB of disk here; add --allow-100m")
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; logs in {args.folder}")

    results: dict[tuple[str, int], dict] = {}
    rows_of: dict[int, int] = {}
    for size in sizes:
        print(f"\n== {size:,} lines", flush=True)
        path, rows_of[size] = build_log(size, args.folder)
        for name in args.engines:
            scratch = Path(tempfile.mkdtemp(dir=args.folder, prefix="spill_"))
            result = results[(name, size)] = run_worker(name, path, scratch)
            if "error" in result:
                print(f"  {name:7s} failed: {result['error']}")
                continue
            t = result["times"]
            stages = "  ".join(f"{s} {t[s]:6.1f} s" for s in STAGES if s in t)
            total = sum(t[s] for s in STAGES if s in t)
            print(f"  {name:7s} {stages}  total {total:6.1f} s  peak {result['peak_mb']:,.0f} MB  "
                  f"({int(t['customers']):,} customers)", flush=True)
        if args.full_report:
            seconds, peak = full_report(path, args.folder)
            print(f"  crm report: {seconds:,.0f} s, largest child process peak {peak:,.0f} MB")

    print("\nscaling exponent k (time ~ lines^k) between consecutive sizes:")
    for name in args.engines:
        for small, large in zip(sizes, sizes[1:]):
            a, b = results.get((name, small), {}), results.get((name, large), {})
            if "times" not in a or "times" not in b:
                continue
            ratio = math.log(rows_of[large] / rows_of[small])
            parts = [f"{s} {math.log(b['times'][s] / a['times'][s]) / ratio:.2f}" for s in STAGES if s in a["times"]]
            total_a = sum(a["times"][s] for s in STAGES if s in a["times"])
            total_b = sum(b["times"][s] for s in STAGES if s in b["times"])
            print(f"  {name:7s} {small:,} -> {large:,}: " + ", ".join(parts)
                  + f"; total {math.log(total_b / total_a) / ratio:.2f}")
    for size in sizes:
        p, d = results.get(("pandas", size), {}), results.get(("duckdb", size), {})
        if "times" in p and "times" in d:
            tp = sum(p["times"][s] for s in STAGES if s in p["times"])
            td = sum(d["times"][s] for s in STAGES if s in d["times"])
            print(f"  {size:,} lines: pandas / duckdb time {tp / td:.2f}, peak memory {p['peak_mb'] / d['peak_mb']:.2f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
