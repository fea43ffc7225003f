"""Issue 14 on the bundled sample: back-fill 2011-08, then the 2011-11 report measures its retention list.

Two one-page report runs into a temporary site folder, with the shipped ``workbook.yml``:

1. period 2011-08, only ``04_churn``: publishes ``2011-08/artifacts/retention_targets.csv``
   (the churn page's list with its seeded random control group);
2. period 2011-11, only ``06_campaigns``: picks that list up as the campaign
   "Retention list 2011-08", contacted on 2011-08-31, and measures it over the response
   window.

Nobody was actually contacted, so the expected verdict is "no evidence". Prints the list's
size, the campaign's figures, the page's sentence and the seconds of each run; no assertion.

    .venv/bin/python benchmarks/bench_campaigns.py [--keep FOLDER]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib import report  # noqa: E402
from crmlib.pages.campaigns import campaign_sentence  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="site folder to keep (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_campaigns_") as tmp:
        site = Path(args.keep) if args.keep else Path(tmp)
        config = ROOT / "workbook.yml"
        started = time.perf_counter()
        report.run_report(config_path=config, period="2011-08", only="04_churn", output_dir=site, progress=False)
        backfill = time.perf_counter() - started
        listed = pd.read_csv(site / "2011-08" / "artifacts" / "retention_targets.csv", dtype={"customer_id": str})
        started = time.perf_counter()
        report.run_report(config_path=config, period="2011-11", only="06_campaigns", output_dir=site, progress=False)
        measure = time.perf_counter() - started
        metrics = json.loads((site / "2011-11" / "artifacts" / "metrics" / "06_campaigns.json").read_text())

    print(f"2011-08 retention list: {len(listed):,} customers, "
          + ", ".join(f"{g} {n:,}" for g, n in listed["group"].value_counts().items()))
    for entry in metrics["campaigns"]:
        print(f"\n{entry['name']} ({entry['source']}), contacted {entry['contact_date']}, "
              f"window {entry['window_days']} days, complete: {entry['window_complete']}")
        rows = {g: entry[g] for g in ("target", "control")}
        print(pd.DataFrame(rows).T.round(4).to_string())
        for measure_name, u in entry["uplift"].items():
            print(f"uplift {measure_name}: {u['value']:+.4f} (95 % CI {u['ci_low']:+.4f} to {u['ci_high']:+.4f}), "
                  f"p = {u['p_value']:.3f}")
        print(f"incremental revenue {entry['incremental_revenue']:,.0f}; smallest detectable response uplift "
              f"{entry['mde'] * 100:.1f} pts; verdict: {entry['verdict']}")
        print("sentence:", campaign_sentence(entry, "GBP"))
    if not metrics["campaigns"]:
        print("no campaign measured (unexpected)")
    print(f"\nseconds: back-fill 2011-08 (churn page) {backfill:.0f}, 2011-11 (campaign page) {measure:.0f}")


if __name__ == "__main__":
    main()
