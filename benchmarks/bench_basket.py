"""Time crmlib.pages.basket against the tutorial dense-pivot approach, and pair affinity at scale.

1. Bundled sample (clean transactions, ~18k invoices, ~3.6k products), min_support 0.01:
   the basket step (encode to a sparse matrix + FP-growth + rules) against the tutorial
   recipe (groupby-unstack dense pivot + mlxtend fpgrowth/apriori + association_rules);
   both must find the same itemsets. Target: basket step <= 5 s. (``--apriori`` adds the
   tutorial's apriori: about 100 s and 10 GB on the sample, so it is off by default.)
2. Bundled sample, next-best products (issue 13): share of customers offered the single
   most suggested product, and hit@10 of the page's offline check against the best-seller
   baseline, for the page's cosine weights and for the earlier confidence weights
   (target: the share at least halved from the earlier 76 %, hit@10 above best sellers);
   product ranges: how many products collapse, the strongest pairs before and after.
3. Synthetic log with ~1M baskets (crmlib.synthetic.make_synthetic): time and peak memory of
   pair affinity for all pairs from sparse X^T X (targets: <= 5 s, <= 2 GB), with mlxtend
   fpgrowth's time on the same baskets beside it.

4. The page's stages at scale (issue 17): with ``--log PATH`` (a clean ``transactions.parquet``,
   repeatable), the library calls in the notebook's order - baskets from the stored log,
   ranges, pairs, rules, segment pairs, suggestions for every customer, the offline check
   (sampled above 50,000 repeat customers), metrics, the two artifacts and the download's
   CSV - with wall and CPU seconds and the peak RSS; ``--old`` adds the code before issue 17
   (tests/basket_reference.py: pandas frame, mlxtend, everyone checked) for the ratio.
   Budget at 10M lines: 60 s for the whole page, kernel start included, 3.5 GB.

Nothing is asserted; the script prints one run's numbers.

    .venv/bin/python benchmarks/bench_basket.py                 # 1M synthetic baskets
    .venv/bin/python benchmarks/bench_basket.py --baskets 2e5   # quicker
    .venv/bin/python benchmarks/bench_basket.py --skip-sample --baskets 0 \
        --log /work/scale/reports_1m/2011-12/analyst/artifacts/transactions.parquet --old \
        --log /work/scale/r10m/2011-12/analyst/artifacts/transactions.parquet
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crmlib.pages import basket as mba  # noqa: E402
from crmlib.core import config as config_mod  # noqa: E402
from crmlib.synthetic import make_synthetic  # noqa: E402

MIN_SUPPORT = 0.01


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def traced_peak_mb(fn, *args, **kwargs) -> float:
    """Peak memory allocated by ``fn`` (tracemalloc sees numpy/scipy buffers too)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def sample_transactions() -> pd.DataFrame:
    from crmlib import cleaning

    config = config_mod.load_config(ROOT / "workbook.yml")
    return cleaning.clean_sources(config["sources"], rules=config.get("cleaning", {})).transactions


def tutorial_rules(tx: pd.DataFrame, algorithm: str):
    """The recipe found in most tutorials: a dense invoice x product pivot."""
    from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth

    tx = tx[tx["customer_id"].notna()]
    pivot = tx.groupby(["invoice_id", "product_id"])["quantity"].sum().unstack().fillna(0)
    encoded = pivot > 0
    mine = fpgrowth if algorithm == "fpgrowth" else apriori
    itemsets = mine(encoded, min_support=MIN_SUPPORT, use_colnames=True)
    rules = association_rules(itemsets, num_itemsets=len(encoded), metric="confidence", min_threshold=0.0)
    return itemsets, rules, encoded.shape


def crmlib_rules(tx: pd.DataFrame):
    baskets = mba.build_baskets(tx)
    itemsets, rules = mba.mine_rules(baskets, min_support=MIN_SUPPORT, max_len=None)
    return itemsets, rules, baskets


def bench_sample(with_apriori: bool = False) -> None:
    print("== bundled sample, min_support", MIN_SUPPORT)
    tx, t_clean = timed(sample_transactions)
    print(f"clean transactions: {len(tx):,} rows ({t_clean:.1f} s, not counted)")
    (itemsets, rules, baskets), t_ours = timed(crmlib_rules, tx)
    print(f"crmlib.pages.basket (sparse encode + fpgrowth + rules): {t_ours:6.2f} s  "
          f"{baskets.n_baskets:,} baskets x {baskets.n_items:,} items, {len(itemsets):,} itemsets, "
          f"{len(rules):,} rules  [target <= 5 s]")
    for algorithm in ("fpgrowth", "apriori") if with_apriori else ("fpgrowth",):
        (t_itemsets, t_rules, shape), t_tut = timed(tutorial_rules, tx, algorithm)
        same = set(map(frozenset, t_itemsets["itemsets"])) == set(map(frozenset, itemsets["itemsets"]))
        print(f"tutorial dense pivot + {algorithm:8s}:           {t_tut:6.2f} s  pivot {shape[0]:,} x {shape[1]:,}, "
              f"{len(t_itemsets):,} itemsets, {len(t_rules):,} rules, same itemsets: {same}; "
              f"crmlib is {t_tut / t_ours:.1f}x faster")
    tx_peak = traced_peak_mb(crmlib_rules, tx)
    tut_peak = traced_peak_mb(tutorial_rules, tx, "fpgrowth")
    print(f"peak memory (tracemalloc): crmlib {tx_peak:,.0f} MB, tutorial pivot + fpgrowth {tut_peak:,.0f} MB")


def confidence_similarity(baskets, min_count: int = 2):
    """The earlier item weights, confidence(i -> j) = n_ij / n_i (for comparison only)."""
    import numpy as np
    import scipy.sparse as sp

    c = mba.cooccurrence(baskets).tocoo()
    keep = (c.row != c.col) & (c.data >= min_count)
    counts = baskets.item_counts().astype(np.float64)
    return sp.csr_matrix((c.data[keep] / counts[c.row[keep]], (c.row[keep], c.col[keep])), shape=c.shape)


def bench_recommendations(tx: pd.DataFrame) -> None:
    from crmlib.pages.basket import recommendations as recs_mod

    print("== bundled sample, next-best products (n = 10) and product ranges")
    baskets = mba.build_baskets(tx)
    for label, weights in (("cosine (the page)", None), ("confidence (earlier)", confidence_similarity)):
        saved = recs_mod.item_similarity
        if weights is not None:
            recs_mod.item_similarity = weights
        try:
            (recs, t_rec) = timed(mba.recommend, baskets, n=10)
            evaluation, t_eval = timed(mba.evaluate_holdout, baskets, n=10)
        finally:
            recs_mod.item_similarity = saved
        counts = recs.groupby("product_name")["customer_id"].nunique().sort_values(ascending=False)
        print(f"{label:22s}: most suggested product on {mba.most_suggested_share(recs):.1%} of "
              f"{recs['customer_id'].nunique():,} lists ({counts.index[0]}); hit@10 "
              f"{evaluation['hit_rate_model']:.1%} vs best sellers {evaluation['hit_rate_baseline']:.1%} "
              f"({evaluation['customers_evaluated']:,} customers); recommend {t_rec:.1f} s, check {t_eval:.1f} s")
    (ranges, by_range), t_ranges = timed(lambda: (r := mba.product_ranges(
        baskets.item_ids, baskets.item_names, baskets.item_counts()), mba.collapse_variants(baskets, r)))
    grouped = ranges[ranges["variants"] > 1]
    print(f"product ranges: {len(grouped):,} of {len(ranges):,} products in {grouped['range_id'].nunique():,} "
          f"ranges ({t_ranges:.2f} s)")
    for label, b in (("single products", baskets), ("ranges", by_range)):
        top = mba.pair_affinity(b, min_support=MIN_SUPPORT).head(5)
        pairs = "; ".join(f"{a} + {c}" for a, c in zip(top["name_a"].astype(str), top["name_b"].astype(str)))
        print(f"strongest 5 pairs, {label}: {pairs}")


def bench_scale(n_baskets: int) -> None:
    print(f"== synthetic, ~{n_baskets:,} baskets")
    n_customers = max(100, int(n_baskets / 2.65))   # make_synthetic's defaults give ~2.65 invoices per customer
    data, t_gen = timed(make_synthetic, n_customers, n_products=300, planted_pairs=3, seed=1)
    tx = data.transactions
    baskets, t_build = timed(mba.build_baskets, tx)
    print(f"generated {len(tx):,} lines in {t_gen:.1f} s; build_baskets {t_build:.2f} s -> "
          f"{baskets.n_baskets:,} baskets x {baskets.n_items:,} items, {baskets.matrix.nnz:,} entries")
    affinity, t_aff = timed(mba.pair_affinity, baskets)
    peak = traced_peak_mb(mba.pair_affinity, baskets)
    print(f"pair affinity, all {len(affinity):,} pairs: {t_aff:.2f} s, peak {peak:,.0f} MB "
          f"[targets <= 5 s, <= 2048 MB]")
    planted = [frozenset(p[:2]) for p in data.truth.planted_pairs]
    common = affinity[affinity["support"] >= 0.001]
    top = [frozenset(p) for p in zip(common["item_a"].astype(str), common["item_b"].astype(str))][:3]
    print(f"planted pairs are the top 3 by lift among pairs in >= 0.1% of baskets: {top == planted}")
    (itemsets, rules), t_mine = timed(mba.mine_rules, baskets, min_support=MIN_SUPPORT, max_len=None)
    print(f"mlxtend fpgrowth + rules via crmlib.pages.basket.mine_rules: {t_mine:.2f} s "
          f"({len(itemsets):,} itemsets, {len(rules):,} rules); affinity is {t_mine / t_aff:.1f}x faster")
    recs, t_rec = timed(mba.recommend, baskets, n=10)
    print(f"recommend top-10 for {recs['customer_id'].nunique():,} customers: {t_rec:.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS so far: {rss:,.0f} MB")


class Stages:
    """Wall and CPU seconds per named stage, and the process's peak RSS after each."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float]] = []

    def __call__(self, name: str, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.rows.append((name, time.perf_counter() - wall, time.process_time() - cpu, rss))
        return out

    def print(self, title: str) -> tuple[float, float]:
        print(f"{title}\n  {'stage':26s} {'wall s':>8s} {'cpu s':>8s} {'peak RSS MB':>12s}")
        for name, wall, cpu, rss in self.rows:
            print(f"  {name:26s} {wall:8.2f} {cpu:8.2f} {rss:12,.0f}")
        wall, cpu = sum(r[1] for r in self.rows), sum(r[2] for r in self.rows)
        print(f"  {'total':26s} {wall:8.2f} {cpu:8.2f}")
        return wall, cpu


#: The new stages that do what the old code's stages did (for the CPU ratio).
COMPARED = ("baskets (stored log)", "collapse variants", "itemsets + rules", "suggestions (everyone)", "offline check")


def bench_page_stages(log: str, segments: str | None) -> float:
    """The page's library calls in the notebook's order on a stored clean log; returns CPU s."""
    import tempfile

    from crmlib.core import writer

    stage = Stages()
    baskets = stage("baskets (stored log)", mba.build_baskets, log)
    stage("describe", mba.describe_baskets, baskets, MIN_SUPPORT)
    ranges = stage("product ranges", mba.product_ranges, baskets.item_ids, baskets.item_names, baskets.item_counts())
    by_range = stage("collapse variants", mba.collapse_variants, baskets, ranges)
    stage("pair affinity", mba.pair_affinity, by_range, min_support=MIN_SUPPORT)
    _itemsets, rules = stage("itemsets + rules", mba.mine_rules, by_range, min_support=MIN_SUPPORT, max_len=3)
    if segments:
        frame = pd.read_parquet(segments, columns=["customer_id", "segment"])
        stage("segment pairs", mba.compare_segment, by_range, frame, min_support=MIN_SUPPORT, n=15)
    recs = stage("suggestions (everyone)", mba.recommend, baskets, n=10)
    download = stage("download frame", mba.recommendations_download, recs)
    stage("most suggested", mba.most_suggested, recs, n=15)
    limit = config_mod.max_training_customers(None)
    evaluation = stage("offline check", mba.evaluate_holdout, baskets, n=10, max_customers=limit)
    stage("describe check", mba.describe_evaluation, evaluation, recs)
    stage("metrics", mba.headline_metrics, baskets, rules, evaluation, recs)
    with tempfile.TemporaryDirectory() as tmp:
        stage("rules.parquet", writer.write_parquet, Path(tmp) / "rules.parquet", rules)
        stage("recommendations.parquet", writer.write_parquet, Path(tmp) / "recommendations.parquet", recs)
        stage("download CSV", writer.write_csv, Path(tmp) / "next_best_products.csv", download)
    stage.print(f"== page 05 stages, {baskets.n_baskets:,} baskets, {recs['customer_id'].nunique():,} "
                             f"customers, {len(recs):,} suggestions; check on {evaluation['customers_evaluated']:,} "
                f"of {evaluation['repeat_customers']:,} repeat customers (sampled: {evaluation['sampled']})")
    return sum(cpu for name, _wall, cpu, _rss in stage.rows if name in COMPARED)


def bench_old_page_stages(log: str) -> float:
    """The same stages with the code before issue 17 (for the ratio); returns CPU s."""
    sys.path.insert(0, str(ROOT / "tests"))
    import basket_reference as ref

    stage = Stages()
    tx = stage("read whole log", pd.read_parquet, log)
    baskets = stage("baskets (pandas frame)", ref.build_baskets, tx)
    by_range = stage("collapse variants", mba.collapse_variants, baskets)
    itemsets = stage("itemsets (mlxtend)", ref.mine_itemsets, by_range, MIN_SUPPORT, 3)
    stage("rules (mlxtend)", ref.association_rules, itemsets, by_range)
    stage("suggestions (everyone)", ref.recommend, baskets, n=10)
    stage("offline check (everyone)", ref.evaluate_holdout, baskets, n=10)
    stage.print("== the same stages before issue 17")
    return sum(cpu for _name, _wall, cpu, _rss in stage.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baskets", type=float, default=1e6, help="synthetic baskets (default 1e6)")
    parser.add_argument("--skip-sample", action="store_true", help="only the synthetic part")
    parser.add_argument("--apriori", action="store_true",
                        help="also time tutorial pivot + apriori (about 100 s and 10 GB on the sample)")
    parser.add_argument("--log", action="append", default=[],
                        help="a clean transactions.parquet to time the page's stages on (repeatable)")
    parser.add_argument("--old", action="store_true", help="with --log: also time the code before issue 17")
    args = parser.parse_args()
    if not args.skip_sample:
        bench_sample(args.apriori)
        bench_recommendations(sample_transactions())
    if args.baskets:
        bench_scale(int(args.baskets))
    for log in args.log:
        segments = Path(log).with_name("customers_segments.parquet")
        cpu = bench_page_stages(log, str(segments) if segments.is_file() else None)
        if args.old:
            old = bench_old_page_stages(log)
            print(f"  CPU ratio old / new over {', '.join(COMPARED)}: {old / cpu:.1f}x")


if __name__ == "__main__":
    main()
