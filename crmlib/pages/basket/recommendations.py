"""Next-best products per customer (item-to-item co-occurrence) and their offline check.

Both run over a sparse customer x item matrix in blocks of customers
(:func:`crmlib.core.sampling.in_batches`): a block's scores are dense (customers x items)
only while its top ``n`` are picked, so memory stays bounded at a million customers. The
offline check scores a seeded sample of the repeat customers when there are more than
``max_customers`` of them (:func:`crmlib.core.sampling.sample_customers`); the suggestions
themselves always cover every customer.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from crmlib.core.i18n import N_
from crmlib.core.sampling import in_batches, sample_customers
from crmlib.pages.basket.baskets import Baskets, cooccurrence

RECOMMENDATION_COLUMNS = ["customer_id", "product_id", "rank", "score", "product_name"]

#: Dense score cells per block of customers (customers x items, float64: 32 MB).
BLOCK_CELLS = 4_000_000

#: Item weights are multiplied as a dense matrix up to this many items (a 3,000 x 3,000
#: matrix is 72 MB); beyond it they stay sparse.
DENSE_WEIGHTS_ITEMS = 3_000


def _customer_codes(info: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per basket, the position of its customer among the sorted customer ids present (-1:
    none), and those ids."""
    customers = info["customer_id"]
    if isinstance(customers.dtype, pd.CategoricalDtype):
        codes = customers.cat.codes.to_numpy().astype(np.int64)
        categories = np.asarray(customers.cat.categories, dtype=object).astype(str)
        used = np.zeros(len(categories) + 1, dtype=bool)
        used[codes + 1] = True
        new = np.cumsum(used[1:]) - 1
        order = np.argsort(categories[used[1:]], kind="stable")   # categories may be unsorted
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return np.where(codes >= 0, rank[new[np.maximum(codes, 0)]], -1), categories[used[1:]][order]
    known = customers.notna().to_numpy()
    codes = np.full(len(customers), -1, dtype=np.int64)
    found, ids = pd.factorize(customers[known].astype(str), sort=True)
    codes[known] = found
    return codes, np.asarray(ids, dtype=object)


def customer_items(baskets: Baskets) -> tuple[sp.csr_matrix, np.ndarray]:
    """Customer x item 0/1 matrix of what each customer ever bought, and the customer ids."""
    codes, customers = _customer_codes(baskets.info)
    known = np.flatnonzero(codes >= 0)
    owner = sp.csr_matrix((np.ones(len(known), dtype=np.int32), (codes[known], known)),
                          shape=(len(customers), baskets.n_baskets))
    history = (owner @ baskets.matrix).tocsr()
    history.data[:] = 1
    return history, customers


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
    (1.0 = everyone is offered the same product; ``None`` without suggestions).

    A customer's list never holds a product twice, so lists per product = rows per product.
    """
    customers = recommendations["customer_id"].nunique()
    if not customers:
        return None
    return float(recommendations["product_id"].value_counts().max() / customers)


def _top_n(history: sp.csr_matrix, weights: sp.csr_matrix | None, popularity: np.ndarray, n: int):
    """Top-``n`` not-yet-bought items per customer row, in blocks of rows.

    Score = mean over the customer's items of W[i, j] (0 for the baseline, i.e.
    ``weights=None``); ties, including items with no co-occurrence, go to the most
    popular item. Returns (row, item, rank, score) arrays.
    """
    n_rows, n_items = history.shape
    n = min(n, n_items)
    if n_rows == 0 or n == 0:
        return (np.array([], dtype=np.int64),) * 3 + (np.array([], dtype=float),)
    by_popularity = np.lexsort((np.arange(n_items), -popularity))
    column_of = np.empty(n_items, dtype=np.int64)        # item -> its column in popularity order
    column_of[by_popularity] = np.arange(n_items)
    if weights is not None:
        # columns in popularity order (ties go to the leftmost, most popular column); rows as
        # they are, so each score sums the customer's items in the same order as before
        weights = weights.tocsc()[:, by_popularity]
        weights = weights.toarray() if n_items <= DENSE_WEIGHTS_ITEMS else weights.tocsr()
    block = np.dtype([("item", np.int64, (n,)), ("score", np.float64, (n,))])

    def best(h: sp.csr_matrix) -> np.ndarray:
        if weights is None:
            scores = np.zeros(h.shape, dtype=np.float64)
        else:
            product = h @ weights
            scores = product.toarray() if sp.issparse(product) else np.asarray(product)
            scores /= np.maximum(np.diff(h.indptr), 1)[:, None]
        scores[np.repeat(np.arange(h.shape[0]), np.diff(h.indptr)), column_of[h.indices]] = -np.inf
        top = _top_columns(scores, n)
        out = np.empty(h.shape[0], dtype=block)
        out["item"], out["score"] = top, np.take_along_axis(scores, top, axis=1)
        return out

    found = in_batches(best, history, batch_rows=max(1, BLOCK_CELLS // n_items))
    rows = np.repeat(np.arange(n_rows), n)
    items, scores = by_popularity[found["item"].ravel()], found["score"].ravel()
    ranks = np.tile(np.arange(1, n + 1), n_rows)
    ok = np.isfinite(scores)
    return rows[ok], items[ok], ranks[ok], scores[ok]


def _top_columns(scores: np.ndarray, n: int) -> np.ndarray:
    """Columns of the ``n`` largest values per row, ties to the leftmost column; same result
    as ``np.argsort(-scores, kind="stable")[:, :n]`` without sorting whole rows."""
    k = scores.shape[1]
    threshold = np.partition(scores, k - n, axis=1)[:, k - n:k - n + 1]   # the n-th largest
    above = scores > threshold
    equal = scores == threshold
    room = n - above.sum(axis=1)
    crowded = np.flatnonzero(equal.sum(axis=1) > room)    # more ties than places: leftmost first
    if len(crowded):
        equal[crowded] &= np.cumsum(equal[crowded], axis=1) <= room[crowded, None]
    columns = np.nonzero(above | equal)[1].reshape(len(scores), n)
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def _labels(values: np.ndarray, positions: np.ndarray) -> pd.Series:
    """``values[positions]`` as a text column, taken in Arrow (no Python string per row)."""
    return pa.array(values.astype(str), type=pa.large_string()).take(positions).to_pandas()


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
    Every customer is scored, in blocks (:func:`crmlib.core.sampling.in_batches`).
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
        "customer_id": _labels(customers, rows), "product_id": _labels(baskets.item_ids, items),
        "rank": ranks.astype(np.int64), "score": scores, "product_name": _labels(baskets.item_names, items),
    })


#: Baskets-per-customer bands the offline check's sample keeps the shares of.
BASKET_BANDS = (2, 3, 4, 6, 11)


def evaluate_holdout(baskets: Baskets, n: int = 10, min_count: int = 2, *,
                     max_customers: int | None = None, seed: int = 0) -> dict:
    """Offline check of :func:`recommend`: hide each customer's last basket, recommend from
    the earlier ones, and count a hit when one of the ``n`` items is in the hidden basket.

    Assumptions:
    1. Only customers with at least two baskets and at least one item in the last basket
       that they had not bought before can be scored (repeat purchases are excluded from
       recommendations by design).
    2. The item weights and popularity are learned without the hidden baskets.
    3. Baseline: the ``n`` most popular items the customer has not bought yet.
    4. With more than ``max_customers`` repeat customers, the check runs on a seeded random
       sample of that many of them, stratified by their number of baskets
       (:data:`BASKET_BANDS`), and only the sampled customers' last baskets are hidden; a
       hit rate from 50,000 customers is within about half a point of everyone's.
    Returns customers evaluated, hit@n of the model and the baseline, their ratio,
    ``repeat_customers``, ``sampled`` (whether a sample was scored) and ``sample_size``
    (repeat customers in the sample, or all of them) (and, when no
    customer can be scored, ``reason``: an English message id, shown through ``_()``).
    """
    result = {"n": n, "customers_evaluated": 0, "hit_rate_model": None, "hit_rate_baseline": None,
              "lift_over_baseline": None, "repeat_customers": 0, "sampled": False, "sample_size": 0}
    if not baskets.available:
        return {**result, "reason": N_("no basket data")}
    codes, _ids = _customer_codes(baskets.info)
    known = np.flatnonzero(codes >= 0)
    dates = baskets.info["basket_date"].to_numpy()[known]
    order = known[np.lexsort((known, dates, codes[known]))]   # rows are in basket-id order
    owner = codes[order]
    is_last = np.r_[owner[1:] != owner[:-1], True]
    per_customer = np.bincount(owner, minlength=len(_ids))
    last = order[is_last & (per_customer[owner] >= 2)]        # one row per repeat customer, by customer
    result.update(repeat_customers=len(last), sample_size=len(last))
    if max_customers is not None and len(last) > max_customers:
        band = np.searchsorted(BASKET_BANDS, per_customer[codes[last]], side="right")
        chosen = sample_customers(pd.DataFrame({"row": last, "band": band}), max_customers, stratify="band", seed=seed)
        last = chosen["row"].to_numpy()
        result.update(sampled=True, sample_size=len(last))
    hidden = np.zeros(baskets.n_baskets, dtype=bool)
    hidden[last] = True
    train = baskets.subset(~hidden)
    earlier = np.flatnonzero(~hidden & (codes >= 0))
    target_of = np.full(len(_ids), -1, dtype=np.int64)
    target_of[codes[last]] = np.arange(len(last))
    mine = earlier[target_of[codes[earlier]] >= 0]
    owner_matrix = sp.csr_matrix((np.ones(len(mine), dtype=np.int32), (target_of[codes[mine]], mine)),
                                 shape=(len(last), baskets.n_baskets))
    history = (owner_matrix @ baskets.matrix).tocsr()
    history.data[:] = 1
    target = baskets.matrix[last].tocsr()
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
