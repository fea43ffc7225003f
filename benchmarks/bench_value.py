"""Credible customer value, checked on a published report (issue 12's acceptance figures).

(a) A report published with ``--as-of 2011-08-31`` (``--folder``; without it the benchmark
    runs ``crm report --as-of 2011-08-31 --output /tmp/value_bench``). Over every customer
    in its ``customers_clv.parquet``, against what customers actually did 2011-09-01..
    2011-11-30 (the raw sample, cleaned as a report up to 2011-11-30 cleans it; 91 days):
    * ROC-AUC of ``p_alive`` for "bought in the 91 days after" vs recency alone, and the
      spread of ``p_alive`` (its 10th percentile must be well below 1);
    * Spearman and top-decile capture of the ``clv`` column against actual spend, vs
      "last 91 days' spend" (the bar: clv >= naive - 0.005 on both).
    The page's backtest table (from its ``metrics/03_clv.json``) is printed beside them.
(b) The backtest table for CDNOW as of 1998-06-30 (``crmlib.core.value`` directly).
(c) With ``--current DIR`` (a published 2011-11 report): customer equity and value at
    risk as that report states them, beside the figures before issue 12.

Prints tables; no assertion on timing.

    .venv/bin/python benchmarks/bench_value.py [--folder DIR] [--current DIR] [--skip-cdnow]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib import cleaning, datasets  # noqa: E402
from crmlib.core import config, value  # noqa: E402

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)
pd.set_option("display.float_format", lambda v: f"{v:,.3f}")
AS_OF = pd.Timestamp("2011-08-31")
HORIZON = 91
#: what the 2011-11 report said before issue 12 (from the issue and the last run before it)
OLD_2011_11 = {"customer equity": 8_026_901.0, "value at risk (churn page)": 1_619_765.0,
               "value at risk at high churn risk (summary)": 607_000.0}


def clean(as_of: str) -> pd.DataFrame:
    conf = config.load_config(ROOT / "workbook.yml")
    result = cleaning.clean_sources(conf["sources"], as_of=pd.Timestamp(as_of), rules=conf.get("cleaning", {}))
    tx = result.transactions
    return tx[tx["customer_id"].notna()].assign(customer_id=lambda d: d["customer_id"].astype(str))


def find(folder: Path, name: str) -> Path:
    """The newest file called ``name`` under a published report folder (wherever the site keeps artifacts)."""
    hits = sorted((p for p in folder.rglob(name) if ".failed" not in p.parts and ".runs" not in p.parts),
                  key=lambda p: p.stat().st_mtime)
    if not hits:
        raise SystemExit(f"no {name} under {folder}")
    return hits[-1]


def publish(folder: Path) -> None:
    t = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/crm"), "report", "--no-progress", "--as-of", str(AS_OF.date()),
                    "--output", str(folder)], cwd=ROOT, check=True)
    print(f"crm report --as-of {AS_OF.date()}: {time.perf_counter() - t:.0f} s")


def ranking(actual: pd.Series, score: pd.Series) -> dict[str, float]:
    return {"spearman": float(score.corr(actual, method="spearman")),
            "top_decile_capture": value.top_decile_capture(actual.to_numpy(), score.to_numpy())}


def part_a(folder: Path) -> None:
    print(f"\n=== (a) the published report as of {AS_OF.date()}: p_alive and clv against "
          f"{(AS_OF + pd.Timedelta(days=1)).date()}..{(AS_OF + pd.Timedelta(days=HORIZON)).date()}")
    table = pd.read_parquet(find(folder, "customers_clv.parquet"))
    table = table.assign(customer_id=table["customer_id"].astype(str)).set_index("customer_id")
    tx_all = clean(str((AS_OF + pd.Timedelta(days=HORIZON)).date()))
    seen = tx_all[tx_all["invoice_date"] < AS_OF + pd.Timedelta(days=1)]
    actual = value.spend_between(tx_all, AS_OF, AS_OF + pd.Timedelta(days=HORIZON)).reindex(table.index).fillna(0.0)
    bought = (actual > 0).astype(int)
    last = seen.groupby("customer_id")["invoice_date"].max()
    recency = (AS_OF - last.dt.normalize()).dt.days.reindex(table.index)
    naive = value.spend_between(seen, AS_OF - pd.Timedelta(days=HORIZON), AS_OF).reindex(table.index).fillna(0.0)
    p = table["p_alive"]
    print(f"customers in customers_clv.parquet: {len(table):,} (value model: {table['value_model'].iloc[0]}); "
          f"bought in the 91 days after: {bought.mean():.1%}; recency missing for {int(recency.isna().sum())}")
    auc = pd.Series({"p_alive": roc_auc_score(bought, p),
                     "recency alone (-days since last purchase)": roc_auc_score(bought, -recency)},
                    name="ROC-AUC for 'bought in the 91 days after'")
    print(auc.to_frame().to_string())
    print("p_alive percentiles: " + ", ".join(f"{q:.0%}: {p.quantile(q):.3f}" for q in (0.1, 0.25, 0.5, 0.75, 0.9))
          + f"; mean {p.mean():.3f} vs observed buying rate {bought.mean():.3f}")
    frame = pd.DataFrame({"clv (customers_clv.parquet)": ranking(actual, table["clv"]),
                          "last 91 days' spend": ranking(actual, naive)}).T
    print(frame.to_string())
    ok_rank = all(frame.iloc[0][k] >= frame.iloc[1][k] - 0.005 for k in frame.columns)
    ok_auc = auc.iloc[0] >= auc.iloc[1]
    print(f"acceptance: ROC-AUC p_alive >= recency: {'MET' if ok_auc else 'NOT MET'}; 10th percentile of p_alive "
          f"{p.quantile(0.1):.3f}; clv >= last 91 days' spend - 0.005 on Spearman and top-decile capture: "
          f"{'MET' if ok_rank else 'NOT MET'}")
    metrics = json.loads(find(folder, "03_clv.json").read_text())
    print(f"\nthe page's backtest (means over cutoffs {metrics['backtest_cutoffs']}, chosen first):")
    print(pd.DataFrame(metrics["backtest"]).set_index("candidate").to_string())


def part_b() -> None:
    cd = datasets.load_cdnow_transactions()
    cd_as_of = pd.Timestamp("1998-06-30")
    t = time.perf_counter()
    cv = value.fit_customer_values(cd, cd_as_of, horizon_days=HORIZON)
    print(f"\n=== (b) CDNOW as of {cd_as_of.date()} ({time.perf_counter() - t:.0f} s): value model {cv.chosen}; "
          f"p_alive source {cv.activity.source_}: {cv.activity.btyd_.get('reason')}")
    cols = ["cutoff", "candidate", "customers", "predicted_total", "actual_total", "total_bias", "mae", "spearman",
            "gini", "top_decile_capture", "clean"]
    print(cv.backtest.table[cols].to_string(index=False))
    print("means over cutoffs, in the order of the selection rule:")
    print(cv.backtest.summary_table().to_string())


def part_c(folder: Path) -> None:
    clv_m = json.loads(find(folder, "03_clv.json").read_text())
    churn_m = json.loads(find(folder, "04_churn.json").read_text())
    now = {"customer equity": clv_m["customer_equity"],
           "value at risk (churn page)": churn_m["value_at_risk_total"],
           "value at risk at high churn risk (summary)": churn_m["high_risk_value_at_risk"]}
    print(f"\n=== (c) the {clv_m['period']} report ({folder}): now vs before issue 12")
    print(pd.DataFrame({"now": now, "before": OLD_2011_11}).to_string(float_format=lambda v: f"{v:,.0f}"))
    print(f"value model {clv_m['chosen_model']}; p_alive mean {clv_m['p_alive_mean']:.3f}, 10th percentile "
          f"{clv_m['p_alive_p10']:.3f}; customers scored on the churn page {churn_m['scored_customers']:,}, at high "
          f"churn risk {churn_m['high_risk_customers']:,}; retention what-if: "
          + "; ".join(f"+{r['survival_uplift_points']:g} pts -> +{r['gain']:,.0f}" for r in clv_m["retention_what_if"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, help=f"a report published with --as-of {AS_OF.date()}")
    parser.add_argument("--current", type=Path, help="a published 2011-11 report, for equity and value at risk")
    parser.add_argument("--skip-cdnow", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    folder = args.folder
    if folder is None:
        folder = Path("/tmp/value_bench")
        publish(folder)
    part_a(folder)
    if not args.skip_cdnow:
        part_b()
    if args.current:
        part_c(args.current)


if __name__ == "__main__":
    main()
