"""Customer features at many cutoffs: the pandas path before vs the CustomerLog path (issue 17).

Reads a cleaned transactions artifact (page 01's ``transactions.parquet``) and times:

* the one-off :class:`crmlib.core.customer_log.CustomerLog` preparation (and its size);
* per call, at the value page's cutoffs: ``purchase_features`` as the activity model calls
  it (every customer ever seen, no P(alive)), ``churn_labels`` and ``spend_between`` -
  from the log (now), and with ``--reference N`` (at the first N cutoffs) from the frame with the pandas code as it
  was (kept in ``tests/test_features_log.py``), checking the frames are identical;
* with ``--pages``: the whole ``crmlib.pages.clv.run_value`` and ``crmlib.pages.churn.run_churn``
  (transactions mode, fed the value table; CPU seconds) with the code of ``--before REV`` (a git revision,
  extracted to a temporary folder) and with this tree, each in its own process, and the
  sums of their outputs (they must agree).

Prints times and ratios; asserts nothing about time.

    .venv/bin/python benchmarks/bench_features.py [--data PARQUET] [--reference N] [--pages] [--before REV]
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
DATA_1M = "/work/scale/reports_1m/2011-12/analyst/artifacts/transactions.parquet"
SEGMENTS_1M = "/work/scale/reports_1m/2011-12/analyst/artifacts/customers_segments.parquet"
AS_OF = pd.Timestamp("2011-12-31")
BASE_REVISION = "1817242"   # the code before the CustomerLog
ALL_CUSTOMERS_DAYS = 36_525

PAGES_SNIPPET = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import pandas as pd
from crmlib.pages import churn, clv
tx = pd.read_parquet(sys.argv[2])
segments = pd.read_parquet(sys.argv[3]) if sys.argv[3] else None
as_of = pd.Timestamp(sys.argv[4])
t = time.process_time()
page = clv.run_value(tx, as_of, segments=segments)
value_s = time.process_time() - t
table = page.values.table
t = time.process_time()
result = churn.run_churn(tx, as_of, clv=table, mode="transactions")
churn_s = time.process_time() - t
print(json.dumps({"run_value_s": value_s, "run_churn_s": churn_s, "value_model": page.values.chosen,
                  "clv_sum": float(table["clv"].sum()), "p_alive_sum": float(table["p_alive"].sum()),
                  "customers": int(len(table)), "churn_p_sum": float(result.scores["churn_probability"].sum()),
                  "churn_customers": int(len(result.scores))}))
"""


def timed(fn, *args, repeat: int = 1, **kwargs):
    """(best CPU seconds of ``repeat`` calls, last result): CPU time, as the machine is shared."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn(*args, **kwargs)
        best = min(best, time.process_time() - t)
    return best, out


def per_call(tx: pd.DataFrame, reference: int) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from crmlib.core import features
    from crmlib.core.customer_log import CustomerLog

    print(f"{len(tx):,} lines, {tx['customer_id'].nunique():,} customers")
    prep_s, log = timed(CustomerLog.from_transactions, tx)
    print(f"CustomerLog preparation: {prep_s:.2f} s; {len(log.code):,} units, "
          f"{len(log.product_customer) if log.product_customer is not None else 0:,} customer-product pairs, "
          f"{log.nbytes / 2**20:.0f} MB ({log.nbytes / len(tx):.1f} bytes per line); "
          f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    if reference:
        from test_features_log import (  # the pandas code as it was
            assert_same, reference_churn_labels, reference_purchase_features, reference_spend_between,
        )
    score = AS_OF + pd.Timedelta(days=1)
    cutoffs = [score, score - pd.Timedelta(days=90), AS_OF - pd.Timedelta(days=91), AS_OF - pd.Timedelta(days=182)]
    rows = []
    for i, cutoff in enumerate(cutoffs):
        kw = dict(active_days=ALL_CUSTOMERS_DAYS, with_p_alive=False)
        new_s, new = timed(features.purchase_features, log, cutoff, repeat=2, **kw)
        lab_s, labels = timed(features.churn_labels, log, cutoff - pd.Timedelta(days=90), 90, new.index, repeat=2)
        start = cutoff - pd.Timedelta(days=92)
        spend_s, spend = timed(features.spend_between, log, start, cutoff - pd.Timedelta(days=1), repeat=2)
        row = {"cutoff": str(cutoff.date()), "customers": len(new), "features_s": new_s, "labels_s": lab_s,
               "spend_s": spend_s}
        if i < reference:
            row["ref_features_s"], old = timed(reference_purchase_features, tx, cutoff, **kw)
            row["ref_labels_s"], old_labels = timed(reference_churn_labels, tx, cutoff - pd.Timedelta(days=90), 90,
                                                    new.index)
            row["ref_spend_s"], old_spend = timed(reference_spend_between, tx, start, cutoff - pd.Timedelta(days=1))
            assert_same(new, old)
            assert_same(labels, old_labels)
            assert_same(spend, old_spend)
            row["identical"] = True
            for what in ("features", "labels", "spend"):
                row[f"{what}_x"] = row[f"ref_{what}_s"] / row[f"{what}_s"]
        rows.append(row)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.3f}".format):
        print(pd.DataFrame(rows).set_index("cutoff").T)
    with_p_s, _ = timed(features.purchase_features, log, score)
    print(f"purchase_features with P(alive) and the default 365 active days at {score.date()}: {with_p_s:.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


def pages(data: str, segments: str, revision: str) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(f"git -C {ROOT} archive {revision} crmlib | tar -x -C {tmp}", shell=True, check=True)
        for label, source in ((f"before ({revision})", tmp), ("now", str(ROOT))):
            out = subprocess.run([sys.executable, "-c", PAGES_SNIPPET, source, data, segments, str(AS_OF.date())],
                                 capture_output=True, text=True, check=True)
            results[label] = json.loads(out.stdout.strip().splitlines()[-1])
    table = pd.DataFrame(results)
    print(table.to_string())
    before, now = table.columns
    for key in ("run_value_s", "run_churn_s"):
        print(f"{key}: {table.loc[key, before]:.1f} s -> {table.loc[key, now]:.1f} s "
              f"({table.loc[key, before] / table.loc[key, now]:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA_1M, help="a cleaned transactions.parquet (default: the 1M report's)")
    parser.add_argument("--segments", default=SEGMENTS_1M, help="customers_segments.parquet for run_value ('' for none)")
    parser.add_argument("--reference", type=int, default=0, metavar="N",
                        help="also time the pandas reference at the first N cutoffs (of 4) and compare")
    parser.add_argument("--pages", action="store_true", help="time run_value and run_churn before and now")
    parser.add_argument("--before", default=BASE_REVISION, help="git revision of the code before")
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"no data at {args.data}: nothing to measure")
        return
    tx = pd.read_parquet(args.data)
    per_call(tx, args.reference)
    if args.pages:
        pages(args.data, args.segments, args.before)


if __name__ == "__main__":
    main()
