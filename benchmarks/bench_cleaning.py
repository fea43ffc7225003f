"""Time read + validate + clean against the plain tutorial cleaning, and on a large synthetic log.

Usage: python benchmarks/bench_cleaning.py [--rows N] [--repeat K] [--skip-large] [--page CSV ...]

1. On the bundled 541,909-row sample, in the same run (best of K interleaved rounds after a warm-up):
   - tutorial: ``read_csv``, ``dropna``, drop 'C' invoices, drop non-positive quantity or
     price, ``drop_duplicates`` (rows are lost without a trace);
   - workbook: ``crmlib.cleaning.clean_sources`` (encoding and layout detection, parsing,
     every rule, netting of returns, quarantine with reasons, audit, contract check).
   Prints both times and the ratio (target: workbook <= 2x tutorial).
2. On a synthetic log of N lines (default 10M, with dirt) written as a UCI-layout CSV:
   clean_sources in a fresh process; prints rows/s (aim >= 1M rows/s) and the peak memory
   added by cleaning relative to the in-memory size of the data as read (aim <= 3x).
3. With ``--page CSV`` (e.g. /work/scale/tx_1m.csv, tx_10m.csv), for each file: ``crm report
   --only 01_data_cleaning`` as the report runs it; prints the wall time, the page's time
   (papermill's), and the peak resident memory (VmHWM) of the runner and of the page's
   kernel (aim at 10M lines: page <= 30 s, every process <= 3.5 GB).
4. With ``--chunked CSV ...``: for each file, ``clean_sources`` whole-frame and forced in
   parts (:mod:`crmlib.cleaning_chunks`, default chunk and part sizes), each in a fresh
   process; prints time and peak resident memory of both and their ratios (aim: the
   chunked peak bounded, about 3 GB or less, whatever the size of the log).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "online_retail.csv.gz"


def tutorial(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df = df.dropna()
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)]
    return df.drop_duplicates()


def workbook(path: Path, chunked: bool | None = None):
    from crmlib import cleaning
    from crmlib.core.config import SOURCE_DEFAULTS

    return cleaning.clean_sources([{**SOURCE_DEFAULTS, "path": str(path), "name": "web"}], None, {}, chunked=chunked)


def best_of_interleaved(fns: list, repeat: int) -> list[float]:
    """Best time of each function over ``repeat`` rounds, run in turn (fair on a busy machine)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process image. ``VmHWM`` rather than ``ru_maxrss``:
    on Linux a child started by fork/vfork + exec inherits the parent's peak in
    ``ru_maxrss``, so a parent that generated the data would be counted."""
    peak = rss_mb("VmHWM")
    return peak if peak == peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, chunked: bool | None = None) -> None:
    """Run in a fresh process: clean one file, report time and memory as JSON (chunked: and
    write the stored log, as the cleaning page does)."""
    import pandera.pandas  # noqa: F401  (imports are not part of the measurement)

    from crmlib import cleaning, cleaning_chunks  # noqa: F401

    before = rss_mb()
    start = time.perf_counter()
    result = workbook(Path(path), chunked)
    if chunked:
        with tempfile.TemporaryDirectory() as tmp:
            result.write(tmp)
        result.close()
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_mb": peak,
                      "rows_in": result.audit["rows_in"], "rows_kept": result.audit["rows_kept"]}))


def sample_comparison(repeat: int) -> None:
    print(f"== bundled sample ({SAMPLE.name})")
    tutorial(SAMPLE), workbook(SAMPLE)  # warm-up: imports, lazy Arrow kernels, file cache
    t_tutorial, t_workbook = best_of_interleaved([lambda: tutorial(SAMPLE), lambda: workbook(SAMPLE)], repeat)
    result = workbook(SAMPLE)
    a = result.audit
    print(f"tutorial cleaning : {t_tutorial:6.2f} s  ({len(tutorial(SAMPLE)):,} rows left, the rest untraced)")
    print(f"workbook cleaning : {t_workbook:6.2f} s  ({a['rows_kept']:,} kept + {a['rows_quarantined']:,} "
          f"quarantined = {a['rows_in']:,} read)")
    print(f"ratio             : {t_workbook / t_tutorial:6.2f} x   (target <= 2.0)")


def large_log(rows: int) -> None:
    from crmlib.synthetic import make_synthetic, write_synthetic_csv

    print(f"== synthetic log, about {rows:,} lines")
    pilot = make_synthetic(5_000, dirt=True, seed=1)
    n_customers = max(1, int(rows / (len(pilot.transactions) / 5_000)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.csv"
        start = time.perf_counter()
        data = make_synthetic(n_customers, dirt=True, seed=1)
        write_synthetic_csv(data, path)
        del data
        print(f"generated and wrote {path.stat().st_size / 1e6:,.0f} MB of CSV in {time.perf_counter() - start:.0f} s")
        raw = pd.read_csv(path, engine="pyarrow", dtype={"InvoiceNo": "str", "StockCode": "str", "CustomerID": "str"})
        raw_mb = raw.memory_usage(deep=True).sum() / 2**20
        del raw
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                             cwd=ROOT, check=False)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            raise SystemExit(1)
        m = json.loads(out.stdout.strip().splitlines()[-1])
    added = m["peak_mb"] - m["rss_before_mb"]
    print(f"rows read         : {m['rows_in']:,} ({m['rows_kept']:,} kept)")
    print(f"clean_sources     : {m['seconds']:6.1f} s = {m['rows_in'] / m['seconds'] / 1e6:.2f} M rows/s "
          f"(aim >= 1 M rows/s)")
    print(f"data as read      : {raw_mb:,.0f} MB in memory")
    print(f"peak memory added : {added:,.0f} MB = {added / raw_mb:.1f} x the data (aim <= 3 x); "
          f"process peak {m['peak_mb']:,.0f} MB")


def page_run(csv: Path) -> None:
    """The cleaning page as ``crm report`` runs it, with the runner's and the kernel's peak memory."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_full_report import MemoryPoller, page_times

    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "reports"
        start = time.perf_counter()
        proc = subprocess.Popen([str(Path(sys.executable).parent / "crm"), "report", "--no-progress", "--only",
                                 "01_data_cleaning", "--data", str(csv), "--output", str(output)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        poller = MemoryPoller(proc.pid)
        poller.start()
        log = proc.communicate()[0]
        wall = time.perf_counter() - start
        poller.stop.set()
        poller.join()
        if proc.returncode:
            print(log[-2000:])
            raise SystemExit(1)
        period = next(p for p in output.iterdir() if p.is_dir() and p.name[:2] == "20")
        page = page_times(period)["01_data_cleaning"]["seconds"]
    runner = poller.peaks.get(proc.pid, {}).get("peak_mb", float("nan"))
    kernel = max((p["peak_mb"] for p in poller.peaks.values() if "ipykernel" in p["cmd"]), default=float("nan"))
    print(f"== cleaning page on {csv.name} ({csv.stat().st_size / 1e6:,.0f} MB)")
    print(f"report {wall:6.1f} s, page {page:6.1f} s (aim <= 30 s at 10M); peak memory: runner {runner:,.0f} MB, "
          f"kernel {kernel:,.0f} MB (aim <= 3,500 MB)")


def chunked_run(csv: Path) -> None:
    """Whole-frame and chunked cleaning of one file, each in a fresh process."""
    runs = {}
    for mode in ("whole", "chunked"):
        out = subprocess.run([sys.executable, __file__, "--child", str(csv), "--mode", mode], capture_output=True,
                             text=True, cwd=ROOT, check=False)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            raise SystemExit(1)
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    w, c = runs["whole"], runs["chunked"]
    print(f"== {csv.name}: {w['rows_in']:,} lines ({w['rows_kept']:,} kept; chunked {c['rows_kept']:,})")
    print(f"whole-frame : {w['seconds']:6.1f} s, peak {w['peak_mb']:,.0f} MB")
    print(f"chunked     : {c['seconds']:6.1f} s, peak {c['peak_mb']:,.0f} MB (incl. writing the stored log)")
    print(f"ratio       : time {c['seconds'] / w['seconds']:.2f} x, peak {c['peak_mb'] / w['peak_mb']:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="lines in the synthetic log")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs on the sample (best is kept)")
    parser.add_argument("--skip-large", action="store_true", help="only the sample comparison")
    parser.add_argument("--page", nargs="*", type=Path, default=[],
                        help="CSV files to run the cleaning page on, as crm report does (then nothing else runs)")
    parser.add_argument("--chunked", nargs="*", type=Path, default=[],
                        help="CSV files to clean whole-frame and in parts (then nothing else runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, {"auto": None, "whole": False, "chunked": True}[args.mode])
        return
    if args.chunked:
        for csv in args.chunked:
            chunked_run(csv)
        return
    if args.page:
        for csv in args.page:
            page_run(csv)
        return
    sample_comparison(args.repeat)
    if not args.skip_large:
        large_log(args.rows)


if __name__ == "__main__":
    main()
