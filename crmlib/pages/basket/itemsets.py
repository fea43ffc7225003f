"""Frequent itemsets and association rules, counted on the sparse basket matrix.

:func:`mine_itemsets` counts itemsets exactly, depth first: for an itemset P it takes the
baskets holding P (rows of the basket x item matrix) and counts every item after P's last
item among them in one pass (a ``bincount`` of their column indices), so each frequent
itemset costs its own baskets once, and memory holds one row list per level. No dense
one-hot frame, no FP-tree in Python objects: at 3 million baskets it takes seconds where
mlxtend's FP-growth took minutes. :func:`association_rules` turns the itemsets into rules
with mlxtend's formulas, operation for operation, so the rules are the same numbers
mlxtend gives (``tests/test_basket_scale.py`` compares them with mlxtend on small logs).
Before any mining :func:`check_itemset_explosion` bounds how many itemsets could come out.

References: Agrawal, Imielinski & Swami (1993), SIGMOD (itemsets, rules, the Apriori
property); Zaki (2000), "Scalable algorithms for association mining", IEEE TKDE (depth-first
counting on basket lists); Brin, Motwani, Ullman & Tsur (1997) (lift, conviction);
Piatetsky-Shapiro (1991) (leverage); mlxtend.frequent_patterns (the formulas).
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import comb

from crmlib.core.i18n import _
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.errors import ConfigError
from crmlib.pages.basket.baskets import Baskets, _min_count, cooccurrence

DEFAULT_MAX_ITEMSETS = 200_000

RULE_COLUMNS = [
    "antecedents", "consequents", "antecedent_names", "consequent_names",
    "antecedent_support", "consequent_support", "support", "count",
    "confidence", "lift", "leverage", "conviction",
]


def estimate_itemsets(baskets: Baskets, min_support: float, max_len: int | None = None) -> dict:
    """Upper bound on the number of frequent itemsets, computed before any mining.

    Exact counts of frequent items (n1) and pairs (n2) come from X^T X. For k >= 3 the
    bound rests on two facts (the Apriori property, Agrawal et al. 1993):
    1. every frequent k-itemset is a k-clique of the frequent-pair graph; counted at its
       first item (items ordered by degree), the other k - 1 items are among that
       item's d "forward" neighbours, so there are at most C(d, k - 1) of them;
    2. every frequent k-itemset lies in at least ``min_count`` baskets, so those starting
       at item i number at most sum over baskets b holding i of
       C(forward neighbours of i in b, k - 1) / min_count.
    Per item the smaller bound is taken; the sum over items is the bound for length k
    (also capped by sum over baskets of C(basket size, k) / min_count).
    Returns ``{"frequent_items", "frequent_pairs", "itemsets_bound", "by_length"}``.
    """
    n = baskets.n_baskets
    if not baskets.available:
        return {"frequent_items": 0, "frequent_pairs": 0, "itemsets_bound": 0.0, "by_length": {}}
    min_count = _min_count(min_support, n)
    freq = baskets.filter_items(min_support)
    n1 = freq.n_items
    by_length: dict[int, float] = {1: float(n1)}
    if n1 == 0 or (max_len is not None and max_len < 2):
        return {"frequent_items": n1, "frequent_pairs": 0, "itemsets_bound": float(n1), "by_length": by_length}
    upper = sp.triu(cooccurrence(freq), k=1).tocoo()
    keep = upper.data >= min_count
    rows, cols = upper.row[keep], upper.col[keep]
    n2 = int(keep.sum())
    by_length[2] = float(n2)
    degree = np.bincount(rows, minlength=n1) + np.bincount(cols, minlength=n1)
    order = np.empty(n1, dtype=np.int64)
    order[np.lexsort((np.arange(n1), degree))] = np.arange(n1)
    low = np.where(order[rows] < order[cols], rows, cols)
    high = np.where(order[rows] < order[cols], cols, rows)
    forward = np.bincount(low, minlength=n1)
    # later[b, i]: frequent items of basket b that are forward neighbours of i (b holds i)
    adjacency = sp.csr_matrix((np.ones(n2, dtype=np.int32), (high, low)), shape=(n1, n1))
    later = (freq.matrix @ adjacency).multiply(freq.matrix).tocoo()
    later_items, later_sizes = later.col, later.data.astype(np.float64)
    basket_sizes = np.asarray(freq.matrix.getnnz(axis=1))
    basket_sizes = basket_sizes[basket_sizes >= 3]
    k_max = int(min(forward.max(initial=0) + 1, basket_sizes.max(initial=0)))
    if max_len is not None:
        k_max = min(k_max, max_len)
    total = float(n1 + n2)
    for k in range(3, k_max + 1):
        per_item_clique = comb(forward, k - 1)
        per_item_baskets = np.floor(np.bincount(later_items, weights=comb(later_sizes, k - 1), minlength=n1) / min_count)
        by_item = float(np.minimum(per_item_clique, per_item_baskets).sum())
        by_basket = float(comb(basket_sizes, k).sum()) / min_count
        by_length[k] = math.floor(min(by_item, by_basket))
        total += by_length[k]
        if by_length[k] == 0 or not np.isfinite(total) or total > 1e15:
            break
    return {"frequent_items": n1, "frequent_pairs": n2, "itemsets_bound": total, "by_length": by_length}


def check_itemset_explosion(
    baskets: Baskets, min_support: float, max_len: int | None = None, max_itemsets: int = DEFAULT_MAX_ITEMSETS
) -> dict:
    """Raise :class:`ConfigError` when mining could produce more than ``max_itemsets``
    itemsets (see :func:`estimate_itemsets`), suggesting settings that fit; else return
    the estimate."""
    est = estimate_itemsets(baskets, min_support, max_len)
    if est["itemsets_bound"] <= max_itemsets:
        return est
    pairs_only = est["frequent_items"] + est["frequent_pairs"]
    shorter = f"max_len=2 gives {pairs_only:,} itemsets"
    if max_len is None or max_len > 3:
        triples = estimate_itemsets(baskets, min_support, 3)["itemsets_bound"]
        shorter = f"max_len=3 gives at most ~{triples:,.0f}, " + shorter
    suggestion = min_support
    for _attempt in range(30):
        suggestion = round(suggestion * 1.5, 6)
        if suggestion >= 1 or estimate_itemsets(baskets, suggestion, max_len)["itemsets_bound"] <= max_itemsets:
            break
    raise ConfigError(
        f"min_support={min_support} with max_len={max_len} could produce up to "
        f"~{est['itemsets_bound']:,.0f} itemsets ({est['frequent_items']:,} frequent items, "
        f"{est['frequent_pairs']:,} frequent pairs), more than the limit of {max_itemsets:,}; "
        f"mining was not started to avoid running out of memory. Raise min_support "
        f"(about {suggestion} fits) or lower max_len ({shorter}). The estimate is an upper bound; "
        f"to mine anyway, pass a larger max_itemsets."
    )


def _frequent(matrix: sp.csr_matrix, min_support: float, max_len: int | None) -> tuple[list[tuple[int, ...]], list[int]]:
    """Every itemset (column positions, ascending) in a share of at least ``min_support``
    of the rows of ``matrix``, with its row count; at most ``max_len`` items.

    A set is frequent when ``count / rows >= min_support`` (mlxtend's test, in floats).
    """
    n = matrix.shape[0]
    counts = np.asarray(matrix.getnnz(axis=0), dtype=np.int64)
    found: list[tuple[int, ...]] = []
    found_counts: list[int] = []
    stack: list[tuple[tuple[int, ...], np.ndarray | None]] = []
    columns = matrix.tocsc()
    for item in np.flatnonzero(counts / float(n) >= min_support):
        found.append((int(item),))
        found_counts.append(int(counts[item]))
        stack.append(((int(item),), columns.indices[columns.indptr[item]:columns.indptr[item + 1]]))
    stack.reverse()
    while stack:
        itemset, rows = stack.pop()
        if max_len is not None and len(itemset) >= max_len:
            continue
        block = matrix[rows]
        later = np.bincount(block.indices, minlength=matrix.shape[1])
        later[: itemset[-1] + 1] = 0
        extensions = np.flatnonzero(later / float(n) >= min_support)
        if not len(extensions):
            continue
        block_columns = block.tocsc()
        children = []
        for item in extensions:
            child = itemset + (int(item),)
            found.append(child)
            found_counts.append(int(later[item]))
            children.append((child, rows[block_columns.indices[block_columns.indptr[item]:block_columns.indptr[item + 1]]]))
        stack.extend(reversed(children))
    return found, found_counts


def mine_itemsets(
    baskets: Baskets, min_support: float = 0.01, max_len: int | None = None,
    max_itemsets: int = DEFAULT_MAX_ITEMSETS,
) -> pd.DataFrame:
    """Frequent itemsets, counted exactly on the sparse basket matrix (see the module docstring).

    Items below ``min_support`` are dropped first (they cannot be in a frequent itemset),
    and :func:`check_itemset_explosion` runs before mining. Returns columns ``support``
    (count / baskets), ``itemsets`` (frozensets of item ids), ``length``, sorted by length,
    then support (descending), then the item ids. Same itemsets and supports as mlxtend's
    ``fpgrowth`` (Han, Pei & Yin 2000), which counts the same sets another way.
    """
    empty = pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": pd.Series(dtype=object),
                          "length": pd.Series(dtype=np.int64)})
    if not baskets.available:
        return empty
    check_itemset_explosion(baskets, min_support, max_len, max_itemsets)
    frequent = baskets.filter_items(min_support)
    if frequent.n_items == 0:
        return empty
    found, counts = _frequent(frequent.matrix, min_support, max_len)
    if not found:
        return empty
    ids = frequent.item_ids.astype(str)
    labels = [tuple(sorted(ids[list(s)])) for s in found]
    itemsets = pd.DataFrame({
        "support": np.asarray(counts, dtype=np.int64) / float(baskets.n_baskets),
        "itemsets": [frozenset(s) for s in labels],
        "length": np.array([len(s) for s in found], dtype=np.int64),
        "_key": [" ".join(s) for s in labels],
    })
    itemsets = itemsets.sort_values(["length", "support", "_key"], ascending=[True, False, True], kind="stable")
    return itemsets.drop(columns="_key").reset_index(drop=True)


def association_rules(itemsets: pd.DataFrame, baskets: Baskets, min_confidence: float = 0.0) -> pd.DataFrame:
    """Association rules A -> C from frequent itemsets, with readable names.

    Metrics (for a rule A -> C over N baskets): support = P(A and C); confidence =
    P(C | A); lift = confidence / P(C); leverage = P(A and C) - P(A) P(C);
    conviction = (1 - P(C)) / (1 - confidence) (infinite when confidence is 1).
    Assumptions:
    1. As for :func:`~crmlib.pages.basket.baskets.pair_affinity`: baskets are independent draws.
    2. Rules below ``min_confidence`` are dropped.
    Every subset A of a frequent itemset (C the rest) is a rule, computed in floats exactly
    as mlxtend.frequent_patterns.association_rules 0.25 does (confidence = (s_AC N) /
    (s_A N)), so the numbers equal mlxtend's; Agrawal et al. (1993); Brin et al. (1997).

    Returns :data:`RULE_COLUMNS`, antecedents/consequents as sorted lists of item ids,
    sorted by lift, confidence and support (descending).
    """
    if itemsets.empty or (itemsets["length"] < 2).all():
        return _empty_rules()
    n = baskets.n_baskets
    support = dict(zip(itemsets["itemsets"], itemsets["support"].astype(float)))
    ante, cons, s_a, s_c, s_ac = [], [], [], [], []
    for itemset, s in support.items():
        for size in range(len(itemset) - 1, 0, -1):
            for left in combinations(sorted(itemset), size):
                a = frozenset(left)
                c = itemset - a
                ante.append(sorted(a))
                cons.append(sorted(c))
                s_a.append(support[a])
                s_c.append(support[c])
                s_ac.append(s)
    s_a, s_c, s_ac = np.array(s_a), np.array(s_c), np.array(s_ac)
    confidence = (s_ac * n) / (s_a * n - 0)
    keep = confidence >= min_confidence
    if not keep.any():
        return _empty_rules()
    s_a, s_c, s_ac, confidence = s_a[keep], s_c[keep], s_ac[keep], confidence[keep]
    ante = pd.Series([v for v, k in zip(ante, keep) if k], dtype=object)
    cons = pd.Series([v for v, k in zip(cons, keep) if k], dtype=object)
    conviction = np.full(len(confidence), np.inf)
    below = confidence < 1.0
    conviction[below] = (1.0 - s_c[below]) / (1.0 - confidence[below])
    lookup = dict(zip(baskets.item_ids.astype(str).tolist(), baskets.item_names.astype(str).tolist()))
    rules = pd.DataFrame({
        "antecedents": ante,
        "consequents": cons,
        "antecedent_names": ante.map(lambda ids: [lookup[i] for i in ids]),
        "consequent_names": cons.map(lambda ids: [lookup[i] for i in ids]),
        "antecedent_support": s_a,
        "consequent_support": s_c,
        "support": s_ac,
        "count": np.rint(s_ac * n).astype(np.int64),
        "confidence": confidence,
        "lift": confidence / s_c,
        "leverage": s_ac - s_a * s_c,
        "conviction": conviction,
    })
    key = rules["antecedents"].map(" ".join) + " -> " + rules["consequents"].map(" ".join)
    rules = rules.assign(_key=key).sort_values(
        ["lift", "confidence", "support", "_key"], ascending=[False, False, False, True], kind="stable")
    return rules.drop(columns="_key").reset_index(drop=True)


def _empty_rules() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c.startswith(("antecedents", "consequents", "antecedent_n", "consequent_n"))
                                      else (np.int64 if c == "count" else float)) for c in RULE_COLUMNS})


def mine_rules(
    baskets: Baskets, min_support: float = 0.01, max_len: int | None = 3, min_confidence: float = 0.0,
    max_itemsets: int = DEFAULT_MAX_ITEMSETS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`mine_itemsets` then :func:`association_rules`; returns (itemsets, rules)."""
    itemsets = mine_itemsets(baskets, min_support, max_len, max_itemsets)
    return itemsets, association_rules(itemsets, baskets, min_confidence)


def best_rule_per_bundle(rules: pd.DataFrame, min_confidence: float = 0.0) -> pd.DataFrame:
    """One rule per set of items (the direction with the highest confidence), rules below
    ``min_confidence`` dropped, sorted by lift then confidence: A -> B and B -> A share
    their lift, so showing both would repeat the same bundle."""
    kept = rules[rules["confidence"] >= min_confidence]
    bundle = (kept["antecedents"] + kept["consequents"]).map(lambda ids: " ".join(sorted(ids)))
    best = kept.assign(_bundle=bundle).sort_values(
        ["confidence", "lift", "_bundle"], ascending=[False, False, True], kind="stable").drop_duplicates("_bundle")
    best = best.sort_values(["lift", "confidence", "_bundle"], ascending=[False, False, True], kind="stable")
    return best.drop(columns="_bundle").reset_index(drop=True)


def top_rules(rules: pd.DataFrame, n: int = 15, min_confidence: float = 0.0) -> ManagerTable:
    """The ``n`` bundles with the highest lift at ``min_confidence`` (one rule each, see
    :func:`best_rule_per_bundle`), as a table for a manager."""
    top = best_rule_per_bundle(rules, min_confidence).head(n)
    frame = pd.DataFrame({
        "if": top["antecedent_names"].map(lambda v: " + ".join(map(str, v))),
        "then": top["consequent_names"].map(lambda v: " + ".join(map(str, v))),
        "baskets": top["count"], "confidence": top["confidence"], "lift": top["lift"],
    })
    return manager_table(frame, {
        "if": (_("If a basket holds"), "text"), "then": (_("it also holds"), "text"),
        "baskets": (_("Baskets"), "count"), "confidence": (_("Holds in"), "percent"),
        "lift": (_("Times chance"), "ratio"),
    })


