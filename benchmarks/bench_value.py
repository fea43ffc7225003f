"""Credible customer value on the bundled sample and on CDNOW (issue 12's acceptance figures).

(a) As of 2011-08-31 (cleaned as a report run for that date would clean it), against what
    customers actually did 2011-09-01..2011-11-30 (read from the data cleaned up to
    2011-11-30; 91 days):
    * ROC-AUC of ``p_alive`` for "bought in the 91 days after" vs recency alone, and the
      spread of ``p_alive`` (its 10th percentile must be well below 1);
    * Spearman and top-decile capture of the ``clv`` column against actual spend, vs
      "last 91 days' spend" as the forecast (the bar: clv >= naive - 0.005 on both).
(b) The backtest table (every candidate, every cutoff, and the means the selection rule
    reads) for the sample as of 2011-11-30 and for CDNOW as of 1998-06-30.
(c) What the 2011-11 report would now state: customer equity, value at risk, the
    retention what-if and forecast/past ratio by RFM segment, beside the old figures
    (crmlib.clv.run_clv and crmlib.churn.run_churn as today's pages run them).

Prints tables; no assertion on timing. ``--skip-old`` leaves out the (slow) old-page runs.

    .venv/bin/python benchmarks/bench_value.py
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib import cleaning, datasets  # noqa: E402
from crmlib.core import config  # noqa: E402
from crmlib.pages import segmentation  # noqa: E402
from crmlib.core import value  # noqa: E402

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)
pd.set_option("display.float_format", lambda v: f"{v:,.3f}")
HORIZON = 91


def clean(as_of: str) -> pd.DataFrame:
    conf = config.load_config(ROOT / "workbook.yml")
    result = cleaning.clean_sources(conf["sources"], as_of=pd.Timestamp(as_of), rules=conf.get("cleaning", {}))
    tx = result.transactions
    return tx[tx["customer_id"].notna()].assign(customer_id=lambda d: d["customer_id"].astype(str))


def ranking(actual: pd.Series, score: pd.Series) -> dict[str, float]:
    return {"spearman": float(score.corr(actual, method="spearman")),
            "top_decile_capture": value.top_decile_capture(actual.to_numpy(), score.to_numpy())}


def show_backtest(title: str, bt: value.Backtest) -> None:
    print(f"\n--- backtest: {title} (horizon {bt.horizon_days} days; chosen: {bt.chosen})")
    cols = ["cutoff", "candidate", "customers", "predicted_total", "actual_total", "total_bias", "mae", "spearman",
            "gini", "top_decile_capture", "clean"]
    print(bt.table[cols].to_string(index=False))
    print("means over cutoffs, in the order of the selection rule:")
    print(bt.summary_table().to_string())
    print("holdout seasonality:")
    print(bt.seasonality.to_string(index=False))
    deciles = bt.deciles[(str(bt.cutoffs[0].date()), bt.chosen)]
    print(f"deciles of the chosen candidate at {bt.cutoffs[0].date()} (predicted vs actual spend):")
    print(deciles.to_string(index=False))


def part_a(tx_all: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2011-08-31")
    print(f"\n=== (a) as of {as_of.date()}: p_alive and clv against 2011-09-01..2011-11-30")
    tx = clean(str(as_of.date()))
    t = time.perf_counter()
    cv = value.fit_customer_values(tx, as_of, horizon_days=HORIZON)
    print(f"fit_customer_values: {time.perf_counter() - t:.1f} s; value model: {cv.chosen}; "
          f"p_alive source: {cv.activity.source_}")
    table = cv.table.set_index("customer_id")
    end = as_of + pd.Timedelta(days=HORIZON)
    actual = value.spend_between(tx_all, as_of, end).reindex(table.index).fillna(0.0)
    bought = (actual > 0).astype(int)
    last = tx[tx["invoice_date"] < as_of + pd.Timedelta(days=1)].groupby("customer_id")["invoice_date"].max()
    recency = (as_of - last.dt.normalize()).dt.days.reindex(table.index)
    naive = value.spend_between(tx, as_of - pd.Timedelta(days=HORIZON), as_of).reindex(table.index).fillna(0.0)
    p = table["p_alive"]
    print(f"customers in customers_clv: {len(table):,}; bought in the 91 days after: {bought.mean():.1%}")
    auc = pd.DataFrame({"ROC-AUC for 'bought in the 91 days after'": {
        "p_alive": roc_auc_score(bought, p), "recency alone (-days since last purchase)": roc_auc_score(bought, -recency)}})
    print(auc.to_string())
    print("p_alive percentiles: " + ", ".join(f"{q:.0%}: {p.quantile(q):.3f}" for q in (0.1, 0.25, 0.5, 0.75, 0.9))
          + f"; mean {p.mean():.3f} vs observed buying rate {bought.mean():.3f}")
    rows = {"clv (this run)": ranking(actual, table["clv"]), "last 91 days' spend": ranking(actual, naive)}
    frame = pd.DataFrame(rows).T
    print(frame.to_string())
    ok = all(frame.loc["clv (this run)", k] >= frame.loc["last 91 days' spend", k] - 0.005 for k in frame.columns)
    print(f"acceptance (clv >= last 91 days' spend - 0.005 on Spearman and top-decile capture): "
          f"{'MET' if ok else 'NOT MET'}")
    print(f"ROC-AUC p_alive >= recency: {'MET' if auc.iloc[0, 0] >= auc.iloc[1, 0] else 'NOT MET'}; "
          f"10th percentile of p_alive {p.quantile(0.1):.3f}")
    show_backtest(f"sample as of {as_of.date()}", cv.backtest)
    print("\n" + cv.horizon_text)


def rfm_segments(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    summary = segmentation.customer_summary(tx, as_of)
    summary.index = summary.index.astype(str)
    return segmentation.assign_segments(segmentation.rfm_scores(summary)).astype(str)


def part_bc(tx_all: pd.DataFrame, skip_old: bool) -> None:
    as_of = pd.Timestamp("2011-11-30")
    print(f"\n=== (b) backtest tables\n(sample as of {as_of.date()})")
    t = time.perf_counter()
    cv = value.fit_customer_values(tx_all, as_of, horizon_days=HORIZON)
    print(f"fit_customer_values: {time.perf_counter() - t:.1f} s")
    show_backtest(f"sample as of {as_of.date()}", cv.backtest)
    print("\n" + cv.horizon_text)
    print("\nactivity model:", {k: v for k, v in cv.activity.summary().items() if k != "note"})

    cd = datasets.load_cdnow_transactions()
    cd_as_of = pd.Timestamp("1998-06-30")
    t = time.perf_counter()
    cd_values = value.fit_customer_values(cd, cd_as_of, horizon_days=HORIZON)
    print(f"\n(CDNOW as of {cd_as_of.date()}: {time.perf_counter() - t:.1f} s; value model {cd_values.chosen}; "
          f"p_alive source {cd_values.activity.source_}: {cd_values.activity.btyd_.get('reason')})")
    show_backtest(f"CDNOW as of {cd_as_of.date()}", cd_values.backtest)

    print(f"\n=== (c) the 2011-11 report ({as_of.date()}), new vs old")
    new = cv.table.set_index("customer_id")
    last = tx_all.groupby("customer_id")["invoice_date"].max()
    active = last.index[last >= as_of + pd.Timedelta(days=1) - pd.Timedelta(days=365)]  # churn page's population
    new_var = float(((1 - new["p_alive"]) * new["clv"]).reindex(active).sum())
    past = value.past_spend(tx_all, as_of, 365)
    segments = rfm_segments(tx_all, as_of)
    figures = {"customers valued": len(new), "customer equity": cv.customer_equity,
               "value at risk (sum of (1 - p_alive) x clv, customers active in the last 365 days)": new_var,
               "p_alive min / max": f"{new['p_alive'].min():.3f} / {new['p_alive'].max():.3f}",
               "share forecast to spend more in 12 months than in the last 12":
                   float((new["clv"] > past.reindex(new.index).fillna(0)).mean()),
               "customer 16446 (GBP 2.90 in total)": float(new["clv"].get("16446", np.nan))}
    old_figures: dict[str, object] = {}
    if not skip_old:
        from crmlib.pages import churn, clv

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            old = clv.run_clv(tx_all, as_of)
            old_churn = churn.run_churn(tx_all, as_of, clv=old.customers, mode="transactions")
        print(f"(old pages: {time.perf_counter() - t:.1f} s)")
        o = old.customers.set_index("customer_id")
        old_figures = {"customers valued": len(o), "customer equity": old.customer_equity,
                       "value at risk (sum of (1 - p_alive) x clv, customers active in the last 365 days)":
                           float(old_churn.scores["value_at_risk"].sum()),
                       "p_alive min / max": f"{o['p_alive'].min():.3f} / {o['p_alive'].max():.3f}",
                       "share forecast to spend more in 12 months than in the last 12":
                           float((o["clv"] > past.reindex(o.index).fillna(0)).mean()),
                       "customer 16446 (GBP 2.90 in total)": float(o["clv"].get("16446", np.nan))}
        # what the churn page would say if it kept its own model but read the new values
        churn_new = churn.run_churn(tx_all, as_of, clv=cv.table, mode="transactions")
        figures["(for reference) churn page's own model x new clv"] = float(churn_new.scores["value_at_risk"].sum())
        old_figures["(for reference) churn page's own model x new clv"] = "-"
    print(pd.DataFrame({"new": figures, "old (run_clv + run_churn)": old_figures or None}).to_string())
    print("(old value at risk = churn page's churn probability x old clv, its own population)")
    print("\nretention what-if (new):")
    print(value.retention_what_if(cv.table).to_string(index=False))
    print("\nforecast 12-month value / last 12 months' spend, by RFM segment (new):")
    print(value.forecast_to_past_ratio(cv.table, segments, past).to_string())
    if not skip_old:
        print("\nsame, old values (run_clv):")
        print(value.forecast_to_past_ratio(old.customers, segments, past).to_string())
    print("\nis a forecast above past spend for lapsed segments plausible? At the backtest cutoff 2011-06-01, "
          "the chosen candidate's 91-day forecast vs what each RFM segment (as of then) actually spent:")
    c = pd.Timestamp("2011-06-01")
    fc = value.forecast_candidates(tx_all, c, HORIZON, candidates=[cv.chosen])
    ids = fc.forecasts.index
    check = pd.DataFrame({
        "segment": rfm_segments(tx_all[tx_all["invoice_date"] < c + pd.Timedelta(days=1)], c).reindex(ids),
        "forecast_91d": fc.forecasts[cv.chosen],
        "actual_next_91d": value.spend_between(tx_all, c, c + pd.Timedelta(days=HORIZON)).reindex(ids),
        "actual_next_182d": value.spend_between(tx_all, c, c + pd.Timedelta(days=2 * HORIZON)).reindex(ids),
        "past_182d": value.spend_between(tx_all, c - pd.Timedelta(days=2 * HORIZON), c).reindex(ids)}).fillna(0.0)
    print(check.groupby("segment").sum().sort_values("past_182d").to_string())
    print(f"\nlow-history guard: {len(cv.value_notes)} top-tier customers with a whole history below "
          f"{value.LOW_HISTORY_SPEND:g}")
    print("warnings:", cv.warnings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-old", action="store_true", help="do not run today's clv/churn pages for comparison")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tx_all = clean("2011-11-30")
    part_a(tx_all)
    part_bc(tx_all, args.skip_old)


if __name__ == "__main__":
    main()
