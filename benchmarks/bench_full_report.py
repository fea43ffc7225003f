"""Full `crm report` at scale: wall time per page, peak memory per process, scaling exponent.

For each size the script writes a dirty synthetic log (``crmlib.synthetic.make_synthetic``
with ``dirt=True``, about 9 lines per customer; in chunks with disjoint customer and
invoice ids above 12M lines) as CSV, runs ``crm report`` on it in one process tree, and
prints:

* the report's wall time and each page's execution time (papermill's own record in the
  executed notebooks) plus the time spent rendering and publishing;
* the peak resident memory (VmHWM) of every process of the run - the runner and each
  notebook kernel, polled every 0.2 s and matched to its page by start time;
* the peak disk use above the start on the file system of ``--folder`` (the cleaning's
  spool, the stored log, the reports), the customers and clean lines of the log;
* the scaling exponent k (time ~ lines^k) between consecutive sizes, per page and in all;
* with ``--old PATH``, the same run from another checkout (e.g. the pre-scale commit,
  ``git worktree add /tmp/old <commit>`` with its own ``make install``) for the ratio
  old / new. Each run's result is kept in ``<folder>/results.json`` under the checkout's
  commit and the size; a later script run reuses a kept result of the *old* checkout
  (it says so, with the time it was measured) unless ``--rerun`` is given, since the old
  path takes half an hour at 10M lines. ``--skip-new`` runs only the old checkout.

    .venv/bin/python benchmarks/bench_full_report.py --sizes 1e6 1e7
    .venv/bin/python benchmarks/bench_full_report.py --sizes 1e7 --old /tmp/old
    .venv/bin/python benchmarks/bench_full_report.py --sizes 1e8 --shape chain --folder /big/disk   # ~10 GB of CSV
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Log shapes: make_synthetic settings and the lines per customer they give (dirt=True).
#: ``default`` is the generator's own (about 3 invoices of 3 lines per customer);
#: ``chain`` is a store chain's members (more frequent buyers, 6 lines a receipt): about
#: 27.5 lines per customer, so 100M lines have about 3.6M customers.
SHAPES = {
    "default": ({}, 9.0),
    "chain": ({"alpha": 1.2, "lines_per_invoice": 6.0}, 27.5),
}
CHUNK_LINES = 12_000_000       # one make_synthetic call per ~12M lines keeps the generator under ~6 GB


def write_log(lines: int, path: Path, python: str, shape: str = "default") -> None:
    """Write a dirty synthetic log of about ``lines`` lines to ``path`` (CSV), in chunks."""
    settings, lines_per_customer = SHAPES[shape]
    code = f"""
import pandas as pd
from crmlib.synthetic import make_synthetic, write_synthetic_csv
customers, done, chunk = {int(lines / lines_per_customer)}, 0, 0
path = {str(path)!r}
while done < customers:
    n = min({int(CHUNK_LINES / lines_per_customer)}, customers - done)
    tx = make_synthetic(n_customers=n, dirt=True, seed=chunk, **{settings!r}).transactions
    if chunk:  # disjoint ids across chunks
        for column, offset in (("customer_id", done), ("invoice_id", chunk * 10**8)):
            codes = pd.to_numeric(tx[column], errors="coerce")
            tx[column] = (codes + offset).astype("Int64").astype("str").where(codes.notna(), tx[column])
    write_synthetic_csv(tx, path + (f".part{{chunk}}" if chunk else ""))
    done += n
    chunk += 1
"""
    subprocess.run([python, "-c", code], check=True, cwd=ROOT)
    parts = sorted(path.parent.glob(path.name + ".part*"), key=lambda p: int(p.suffix[5:]))
    with path.open("ab") as out:  # append the other chunks without their header line
        for part in parts:
            with part.open("rb") as f:
                f.readline()
                shutil.copyfileobj(f, out, 1 << 24)
            part.unlink()


class MemoryPoller(threading.Thread):
    """Polls the peak resident memory (VmHWM) of a process and all its descendants, and the
    peak disk use of the file system holding ``disk_path`` above what it used at the start
    (spool, stored log, reports; anything else writing there counts too)."""

    def __init__(self, root_pid: int, interval: float = 0.2, disk_path: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.interval = root_pid, interval
        self.peaks: dict[int, dict] = {}
        self.stop = threading.Event()
        self.disk_path = disk_path
        self.disk_start = shutil.disk_usage(disk_path).used if disk_path else 0
        self.disk_peak = 0

    def _children(self) -> dict[int, int]:
        parents = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree, frontier = {self.root_pid}, [self.root_pid]
        while frontier:
            pid = frontier.pop()
            for child, parent in parents.items():
                if parent == pid and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        return tree

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self._children():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
                except OSError:
                    continue
                hwm = next((int(l.split()[1]) / 1024 for l in status.splitlines() if l.startswith("VmHWM:")), 0.0)
                seen = self.peaks.setdefault(pid, {"first_seen": time.time(), "cmd": cmd, "peak_mb": 0.0})
                seen["peak_mb"] = max(seen["peak_mb"], hwm)
                seen["last_seen"] = time.time()
            if self.disk_path is not None:
                self.disk_peak = max(self.disk_peak, shutil.disk_usage(self.disk_path).used - self.disk_start)
            self.stop.wait(self.interval)


def page_times(period_dir: Path) -> dict[str, dict]:
    """Each executed notebook's duration and start time, as papermill recorded them."""
    out = {}
    for nb in sorted((period_dir / "analyst" / "notebooks").glob("*.ipynb")):
        meta = json.loads(nb.read_text(encoding="utf-8"))["metadata"].get("papermill", {})
        start = datetime.fromisoformat(meta["start_time"].replace("Z", "+00:00")).timestamp()
        out[nb.stem] = {"seconds": float(meta["duration"]), "start": start}
    return out


def run_report(checkout: Path, csv: Path, output: Path) -> dict:
    """``crm report`` from ``checkout`` on ``csv``; wall time, page times and process peaks."""
    shutil.rmtree(output, ignore_errors=True)
    crm = checkout / ".venv" / "bin" / "crm"
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(crm), "report", "--no-progress", "--data", str(csv), "--output", str(output)],
                            cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    poller = MemoryPoller(proc.pid, disk_path=output.parent)
    poller.start()
    log = proc.communicate()[0]
    wall = time.perf_counter() - t0
    poller.stop.set()
    poller.join()
    if proc.returncode:
        return {"error": log.strip().splitlines()[-3:]}
    period_dir = next(p for p in output.iterdir() if p.is_dir() and p.name[:2] == "20")
    pages = page_times(period_dir)
    kernels = {pid: p for pid, p in poller.peaks.items() if "ipykernel" in p["cmd"]}
    for name, page in pages.items():  # the kernel started closest to the page's start
        pid = min(kernels, key=lambda k: abs(kernels[k]["first_seen"] - page["start"]), default=None)
        page["peak_mb"] = kernels.pop(pid)["peak_mb"] if pid is not None else float("nan")
    runner = poller.peaks.get(proc.pid, {}).get("peak_mb", float("nan"))
    cleaning = period_dir / "analyst" / "artifacts" / "metrics" / "01_data_cleaning.json"
    facts = json.loads(cleaning.read_text()) if cleaning.is_file() else {}
    return {"wall": wall, "pages": pages, "runner_peak_mb": runner,
            "max_peak_mb": max([runner] + [p["peak_mb"] for p in pages.values()]),
            "disk_peak_gb": poller.disk_peak / 1e9, "customers": facts.get("customers"),
            "lines_kept": facts.get("rows_kept")}


def commit_of(checkout: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=checkout,
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def show(label: str, result: dict) -> None:
    if "error" in result:
        print(f"  {label}: failed: {' | '.join(result['error'])}")
        return
    pages = result["pages"]
    print(f"  {label}: report {result['wall']:,.0f} s; largest process {result['max_peak_mb']:,.0f} MB "
          f"(runner {result['runner_peak_mb']:,.0f} MB); disk used at most "
          f"{result.get('disk_peak_gb', float('nan')):.1f} GB above the start; "
          f"{result.get('customers') or 0:,} customers, {result.get('lines_kept') or 0:,} clean lines")
    for name, page in pages.items():
        print(f"    {name:18s} {page['seconds']:7.1f} s  peak {page['peak_mb']:7,.0f} MB")
    rest = result["wall"] - sum(p["seconds"] for p in pages.values())
    print(f"    {'(runner, render, overlap)':18s} {rest:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7], help="lines per log")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "crm_full_report_bench",
                        help="where logs and reports are written (logs kept for the next run)")
    parser.add_argument("--old", type=Path, help="another checkout (with its .venv) to run on the same logs, for the ratio")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="default",
                        help="default: ~9 lines per customer; chain: ~27.5 (100M lines = 3.6M customers)")
    parser.add_argument("--rerun", action="store_true", help="run the old checkout again even if a result is kept")
    parser.add_argument("--skip-new", action="store_true", help="run only the --old checkout")
    args = parser.parse_args()
    kept_file = args.folder / "results.json"
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; logs in {args.folder}", flush=True)
    results: dict[tuple[str, int], dict] = {}
    for size in (int(s) for s in args.sizes):
        csv = args.folder / (f"transactions_{size}.csv" if args.shape == "default"
                             else f"transactions_{args.shape}_{size}.csv")
        if not csv.exists():
            t0 = time.perf_counter()
            write_log(size, csv, str(ROOT / ".venv" / "bin" / "python"), args.shape)
            print(f"\n== wrote {csv.name}: {csv.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s", flush=True)
        lines = sum(1 for _ in csv.open("rb")) - 1
        print(f"\n== {lines:,} lines ({csv.stat().st_size / 1e9:.2f} GB CSV)", flush=True)
        for label, checkout in (("new", None if args.skip_new else ROOT), ("old", args.old)):
            if checkout is None:
                continue
            kept = json.loads(kept_file.read_text()) if kept_file.exists() else {}
            key = f"{commit_of(checkout)}:{size}"
            if label == "old" and key in kept and not args.rerun:
                result = results[(label, size)] = kept[key]
                show(f"{label} ({key}, kept from {result['measured']}, load average then {result['load']:.1f})", result)
                continue
            load = os.getloadavg()[0]
            result = results[(label, size)] = run_report(checkout.resolve(), csv, args.folder / f"reports_{label}_{size}")
            result.update(lines=lines, measured=datetime.now().isoformat(timespec="minutes"), load=load)
            show(f"{label} ({key}, load average at start {load:.1f})", result)
            du = sum(f.stat().st_size for f in (args.folder / f"reports_{label}_{size}").rglob("*") if f.is_file())
            print(f"    report folder {du / 1e9:.2f} GB", flush=True)
            kept[key] = result
            kept_file.write_text(json.dumps(kept, indent=1))
        if "wall" in results.get(("old", size), {}) and "wall" in results.get(("new", size), {}):
            old, new = results[("old", size)], results[("new", size)]
            print(f"  old / new: time {old['wall'] / new['wall']:.1f}x, largest process "
                  f"{old['max_peak_mb'] / new['max_peak_mb']:.1f}x", flush=True)
    sizes = sorted({s for _, s in results})
    print("\nscaling exponent k (time ~ lines^k):")
    for small, large in zip(sizes, sizes[1:]):
        a, b = results.get(("new", small), {}), results.get(("new", large), {})
        if "wall" not in a or "wall" not in b:
            continue
        ratio = math.log(b["lines"] / a["lines"])
        per_page = ", ".join(f"{n} {math.log(b['pages'][n]['seconds'] / a['pages'][n]['seconds']) / ratio:.2f}"
                             for n in a["pages"] if n in b["pages"])
        print(f"  {small:,} -> {large:,} lines: report {math.log(b['wall'] / a['wall']) / ratio:.2f}; {per_page}")


if __name__ == "__main__":
    main()
