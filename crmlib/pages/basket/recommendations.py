"""Next-best products per customer (item-to-item co-occurrence) and their offline check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlib.core.i18n import N_
from crmlib.pages.basket.baskets import Baskets, cooccurrence

RECOMMENDATION_COLUMNS = ["customer_id", "product_id", "rank", "score", "product_name"]


def customer_items(baskets: Baskets) -> tuple[sp.csr_matrix, np.ndarray]:
    """Customer x item 0/1 matrix of what each customer ever bought, and the customer ids."""
    known = baskets.info["customer_id"].notna().to_numpy()
    codes, customers = pd.factorize(baskets.info.loc[known, "customer_id"].astype(str), sort=True)
    owner = sp.csr_matrix((np.ones(len(codes), dtype=np.int32), (codes, np.flatnonzero(known))),
                          shape=(len(customers), baskets.n_baskets))
    history = (owner @ baskets.matrix).tocsr()
    history.data[:] = 1
    return history, np.asarray(customers, dtype=object)


def item_similarity(baskets: Baskets, min_count: int = 2) -> sp.csr_matrix:
    """Item-to-item weights W[i, j] = cosine(i, j) = n_ij / sqrt(n_i n_j), diagonal zero,
    pairs seen together in fewer than ``min_count`` baskets dropped (noise).

    Cosine rather than confidence n_ij / n_i: confidence favours whatever is in most
    baskets (on the bundled sample one T-light holder was suggested to 76 % of
    customers), cosine discounts the suggested product's own popularity, so a list says
    what goes with *this* customer's products. Sarwar, Karypis, Konstan & Riedl (2001),
    "Item-based collaborative filtering recommendation algorithms", WWW; Linden et al. (2003).
    """
    c = cooccurrence(baskets).tocoo()
    keep = (c.row != c.col) & (c.data >= min_count)
    counts = baskets.item_counts().astype(np.float64)
    w = c.data[keep] / np.sqrt(counts[c.row[keep]] * counts[c.col[keep]])
    return sp.csr_matrix((w, (c.row[keep], c.col[keep])), shape=c.shape)


def most_suggested_share(recommendations: pd.DataFrame) -> float | None:
    """Share of the customers with suggestions whose list holds the most suggested product
    (1.0 = everyone is offered the same product; ``None`` without suggestions)."""
    customers = recommendations["customer_id"].nunique()
    if not customers:
        return None
    return float(recommendations.groupby("product_id")["customer_id"].nunique().max() / customers)


def _top_n(history: sp.csr_matrix, weights: sp.csr_matrix | None, popularity: np.ndarray, n: int):
    """Top-``n`` not-yet-bought items per customer row, in chunks of rows.

    Score = mean over the customer's items of W[i, j] (0 for the baseline, i.e.
    ``weights=None``); ties, including items with no co-occurrence, go to the most
    popular item. Returns (row, item, rank, score) arrays.
    """
    n_rows, n_items = history.shape
    n = min(n, n_items)
    if n_rows == 0 or n == 0:
        return (np.array([], dtype=np.int64),) * 3 + (np.array([], dtype=float),)
    by_popularity = np.lexsort((np.arange(n_items), -popularity))
    bought_per_row = np.maximum(np.asarray(history.getnnz(axis=1)), 1)
    chunk = max(1, 4_000_000 // n_items)
    out_rows, out_items, out_scores = [], [], []
    for start in range(0, n_rows, chunk):
        h = history[start:start + chunk]
        if weights is None:
            scores = np.zeros(h.shape, dtype=np.float64)
        else:
            scores = (h @ weights).toarray() / bought_per_row[start:start + chunk, None]
        r, c = h.nonzero()
        scores[r, c] = -np.inf
        scores = scores[:, by_popularity]
        top = _top_columns(scores, n)
        top_scores = np.take_along_axis(scores, top, axis=1)
        out_rows.append(np.repeat(np.arange(start, start + h.shape[0]), n))
        out_items.append(by_popularity[top].ravel())
        out_scores.append(top_scores.ravel())
    rows, items, scores = np.concatenate(out_rows), np.concatenate(out_items), np.concatenate(out_scores)
    ranks = np.tile(np.arange(1, n + 1), len(rows) // n)
    ok = np.isfinite(scores)
    return rows[ok], items[ok], ranks[ok], scores[ok]


def _top_columns(scores: np.ndarray, n: int) -> np.ndarray:
    """Columns of the ``n`` largest values per row, ties to the leftmost column; same result
    as ``np.argsort(-scores, kind="stable")[:, :n]`` without sorting whole rows."""
    threshold = -np.partition(-scores, n - 1, axis=1)[:, n - 1:n]
    above = scores > threshold
    equal = scores == threshold
    room = n - above.sum(axis=1, keepdims=True)
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= room))
    columns = np.nonzero(chosen)[1].reshape(len(scores), n)
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def recommend(baskets: Baskets, n: int = 10, min_count: int = 2) -> pd.DataFrame:
    """Per customer, the ``n`` items they have not bought that go best with their history.

    Item-to-item collaborative filtering ("customers who bought this also bought"):
    score(customer, j) = mean over items i the customer bought of cosine(i, j)
    (:func:`item_similarity`).
    Assumptions:
    1. What a customer bought before predicts what they will buy next through items that
       other baskets hold together (Linden, Smith & York 2003).
    2. Items already bought are never recommended (a cross-sell, not a repeat reminder).
    3. Customers with too little history still get ``n`` items: ties (including items
       with score 0) are broken by popularity, i.e. the most-popular fallback.
    Returns :data:`RECOMMENDATION_COLUMNS` (``product_id`` holds the item, a category when
    baskets were built on categories).
    """
    if not baskets.available:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            RECOMMENDATION_COLUMNS, [object, object, np.int64, float, object])})
    history, customers = customer_items(baskets)
    rows, items, ranks, scores = _top_n(history, item_similarity(baskets, min_count),
                                        baskets.item_counts().astype(float), n)
    return pd.DataFrame({
        "customer_id": customers[rows].astype(str), "product_id": baskets.item_ids[items].astype(str),
        "rank": ranks.astype(np.int64), "score": scores, "product_name": baskets.item_names[items].astype(str),
    })


def evaluate_holdout(baskets: Baskets, n: int = 10, min_count: int = 2) -> dict:
    """Offline check of :func:`recommend`: hide each customer's last basket, recommend from
    the earlier ones, and count a hit when one of the ``n`` items is in the hidden basket.

    Assumptions:
    1. Only customers with at least two baskets and at least one item in the last basket
       that they had not bought before can be scored (repeat purchases are excluded from
       recommendations by design).
    2. The item weights and popularity are learned without the hidden baskets.
    3. Baseline: the ``n`` most popular items the customer has not bought yet.
    Returns customers evaluated, hit@n of the model and the baseline, and their ratio (and,
    when no customer can be scored, ``reason``: an English message id, shown through ``_()``).
    """
    result = {"n": n, "customers_evaluated": 0, "hit_rate_model": None, "hit_rate_baseline": None,
              "lift_over_baseline": None}
    if not baskets.available:
        return {**result, "reason": N_("no basket data")}
    info = baskets.info.assign(_row=np.arange(baskets.n_baskets)).dropna(subset=["customer_id"])
    info = info.sort_values(["customer_id", "basket_date", "basket_id"], kind="stable")
    per_customer = info.groupby("customer_id")["_row"].transform("size")
    info = info[per_customer >= 2]
    last = info.drop_duplicates("customer_id", keep="last")
    hidden = np.zeros(baskets.n_baskets, dtype=bool)
    hidden[last["_row"].to_numpy()] = True
    train = baskets.subset(~hidden)
    history, customers = customer_items(train)
    position = pd.Index(customers).get_indexer(last["customer_id"].astype(str))
    history = history[position]
    target = baskets.matrix[last["_row"].to_numpy()].tocsr()
    target = (target - target.multiply(history)).tocsr()
    target.eliminate_zeros()
    scorable = np.asarray(target.getnnz(axis=1)) > 0
    history, target = history[scorable], target[scorable]
    if history.shape[0] == 0:
        return {**result, "reason": N_("not enough repeat customers who bought something new in their last basket")}
    popularity = train.item_counts().astype(float)
    hits = {}
    for name, weights in (("model", item_similarity(train, min_count)), ("baseline", None)):
        rows, items, _, _ = _top_n(history, weights, popularity, n)
        recommended = sp.csr_matrix((np.ones(len(rows)), (rows, items)), shape=target.shape)
        hits[name] = float((np.asarray(recommended.multiply(target).getnnz(axis=1)) > 0).mean())
    result.update(customers_evaluated=int(history.shape[0]), hit_rate_model=hits["model"],
                  hit_rate_baseline=hits["baseline"],
                  lift_over_baseline=hits["model"] / hits["baseline"] if hits["baseline"] else None)
    return result
