"""The basket page's computations as they were before issue 17, kept as the reference the
fast paths are compared with (tests/test_basket_scale.py): pandas factorize for the baskets,
mlxtend FP-growth and association_rules for the rules, every customer scored at once.
Frozen copies: do not change them to make a test pass.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlib.pages.basket.baskets import BASKET_KINDS, Baskets, _min_count, cooccurrence
from crmlib.pages.basket.itemsets import DEFAULT_MAX_ITEMSETS, _empty_rules, check_itemset_explosion

RECOMMENDATION_COLUMNS = ["customer_id", "product_id", "rank", "score", "product_name"]


def item_problem(transactions: pd.DataFrame, item: str = "product_id") -> str | None:
    """Why ``transactions`` cannot be analysed by ``item``, or ``None`` when it can.

    Missing column, no values, or one single value (e.g. CDNOW, whose loader fills in no
    real product) all mean there is nothing to put in a basket.
    """
    if item not in transactions.columns:
        return ("the data has no '{column}' column, so there is nothing to put in a basket").format(column=item)
    values = transactions[item].dropna()
    if values.empty:
        return ("the '{column}' column is empty, so there is nothing to put in a basket").format(column=item)
    if values.nunique() < 2:
        return ("the '{column}' column holds a single value ('{value}'), so every basket is the same and there is "
                 "nothing to learn about what sells together").format(column=item, value=values.iloc[0])
    return None


def build_baskets(
    transactions: pd.DataFrame,
    basket: str = "invoice",
    item: str = "product_id",
    include_anonymous: bool = False,
) -> Baskets:
    """Build the sparse basket x item matrix from clean transactions.

    Assumptions:
    1. ``transactions`` follows the data contract: one row per purchase line, returns and
       non-product lines (postage, fees) already removed by cleaning.
    2. A basket is one invoice (``basket="invoice"``) or everything one customer bought on
       one calendar day (``"customer_day"``); an item is counted once per basket whatever
       the quantity.
    3. Lines without a customer id are left out unless ``include_anonymous`` (and always
       for customer-day baskets), because recommendations and segments need a customer.

    When the item column is missing or useless (see :func:`item_problem`) the result has
    no items and ``problem`` set, instead of raising: later steps return empty results.
    """
    if basket not in BASKET_KINDS:
        raise ValueError(f"basket: '{basket}' is not allowed; use one of {', '.join(BASKET_KINDS)}")
    problem = item_problem(transactions, item)
    if problem is not None:
        empty = pd.DataFrame({"basket_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str),
                              "basket_date": pd.Series(dtype="datetime64[ns]")})
        return Baskets(sp.csr_matrix((0, 0), dtype=np.int32), empty, np.array([], dtype=object),
                       np.array([], dtype=object), basket, item, problem)
    needed = ["customer_id", "invoice_date"] + (["invoice_id"] if basket == "invoice" else [])
    assert set(needed) <= set(transactions.columns)

    tx = transactions
    keep = tx[item].notna().to_numpy()
    if basket == "customer_day" or not include_anonymous:
        keep = keep & tx["customer_id"].notna().to_numpy()
    tx = tx.loc[keep]
    dates = pd.to_datetime(tx["invoice_date"])
    customer_code, customer_ids = pd.factorize(tx["customer_id"].astype(str), sort=True)
    if basket == "invoice":
        basket_code, basket_ids = pd.factorize(tx["invoice_id"].astype(str), sort=True)
    else:
        day_code, days = pd.factorize(dates.dt.normalize(), sort=True)
        basket_code, pair = pd.factorize(customer_code.astype(np.int64) * len(days) + day_code, sort=True)
        day_labels = np.asarray(days.strftime("%Y-%m-%d"), dtype=object)
        customer_labels = np.asarray(customer_ids, dtype=object)
        basket_ids = customer_labels[pair // len(days)] + "|" + day_labels[pair % len(days)]
    per_basket = pd.DataFrame({"code": basket_code, "customer": customer_code,
                               "basket_date": dates.to_numpy()}).groupby("code", sort=True)
    first_customer = per_basket["customer"].first().to_numpy()
    customers = pd.Series(np.asarray(customer_ids, dtype=object)[first_customer], dtype=object)
    if include_anonymous and basket == "invoice":
        customers = customers.where(first_customer >= 0, None)
    info = pd.DataFrame({
        "basket_id": np.asarray(basket_ids, dtype=object).astype(str),
        "customer_id": customers.to_numpy(),
        "basket_date": per_basket["basket_date"].min().to_numpy(),
    })

    item_code, item_ids = pd.factorize(tx[item].astype(str), sort=True)
    n_baskets, n_items = len(info), len(item_ids)
    matrix = sp.csr_matrix(
        (np.ones(len(item_code), dtype=np.int32), (basket_code, item_code)), shape=(n_baskets, n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return Baskets(matrix, info, np.asarray(item_ids, dtype=object), _item_names(tx, item, item_ids),
                   basket, item, None)


def _item_names(tx: pd.DataFrame, item: str, item_ids: pd.Index) -> np.ndarray:
    """Most frequent product name of each item (the item id itself when there is none)."""
    if item != "product_id" or "product_name" not in tx.columns:
        return np.asarray(item_ids, dtype=object)
    named = tx[[item, "product_name"]].dropna()
    named = named.assign(product_name=named["product_name"].astype(str).str.strip())
    counts = named.groupby([item, "product_name"], sort=False, observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["n", "product_name"], ascending=[False, True], kind="stable")
    best = counts.drop_duplicates(item).set_index(item)["product_name"]
    best.index = best.index.astype(str)
    names = best.reindex(item_ids)
    return np.where(names.isna(), np.asarray(item_ids, dtype=object), names.astype(object)).astype(object)


def mine_itemsets(
    baskets: Baskets, min_support: float = 0.01, max_len: int | None = None,
    max_itemsets: int = DEFAULT_MAX_ITEMSETS,
) -> pd.DataFrame:
    """Frequent itemsets with mlxtend ``fpgrowth`` on the sparse frame.

    Items below ``min_support`` are dropped first (they cannot be in a frequent itemset),
    and :func:`check_itemset_explosion` runs before mining. (mlxtend 0.25 still reads the
    sparse frame's ``.values`` once to count item supports; because only frequent items are
    left, that is baskets x frequent items booleans, e.g. 17,500 x 620 = 11 MB on the
    sample, not the invoice x product pivot.) Returns columns ``support``,
    ``itemsets`` (frozensets of item ids), ``length``.
    Source: Han, Pei & Yin (2000), via mlxtend.frequent_patterns.fpgrowth.
    """
    from mlxtend.frequent_patterns import fpgrowth

    empty = pd.DataFrame({"support": pd.Series(dtype=float), "itemsets": pd.Series(dtype=object),
                          "length": pd.Series(dtype=np.int64)})
    if not baskets.available:
        return empty
    check_itemset_explosion(baskets, min_support, max_len, max_itemsets)
    frequent = baskets.filter_items(min_support)
    if frequent.n_items == 0:
        return empty
    itemsets = fpgrowth(frequent.to_sparse_frame(), min_support=min_support, use_colnames=True, max_len=max_len)
    itemsets["length"] = itemsets["itemsets"].map(len).astype(np.int64)
    return itemsets.sort_values(["length", "support"], ascending=[True, False], kind="stable").reset_index(drop=True)


def association_rules(itemsets: pd.DataFrame, baskets: Baskets, min_confidence: float = 0.0) -> pd.DataFrame:
    """Association rules A -> C from frequent itemsets, with readable names.

    Metrics (for a rule A -> C over N baskets): support = P(A and C); confidence =
    P(C | A); lift = confidence / P(C); leverage = P(A and C) - P(A) P(C);
    conviction = (1 - P(C)) / (1 - confidence).
    Assumptions:
    1. As for :func:`pair_affinity`: baskets are independent draws.
    2. Rules below ``min_confidence`` are dropped.
    Source: mlxtend.frequent_patterns.association_rules (``num_itemsets`` = number of
    baskets, as mlxtend 0.25 asks); Agrawal et al. (1993); Brin et al. (1997).

    Returns :data:`RULE_COLUMNS`, antecedents/consequents as sorted lists of item ids,
    sorted by lift, confidence and support (descending).
    """
    from mlxtend.frequent_patterns import association_rules as mlx_rules

    if itemsets.empty or (itemsets["length"] < 2).all():
        return _empty_rules()
    raw = mlx_rules(itemsets[["support", "itemsets"]], num_itemsets=baskets.n_baskets,
                    metric="confidence", min_threshold=min_confidence)
    if raw.empty:
        return _empty_rules()
    lookup = dict(zip(baskets.item_ids.astype(str).tolist(), baskets.item_names.astype(str).tolist()))
    ante = raw["antecedents"].map(sorted)
    cons = raw["consequents"].map(sorted)
    rules = pd.DataFrame({
        "antecedents": ante,
        "consequents": cons,
        "antecedent_names": ante.map(lambda ids: [lookup[i] for i in ids]),
        "consequent_names": cons.map(lambda ids: [lookup[i] for i in ids]),
        "antecedent_support": raw["antecedent support"].to_numpy(),
        "consequent_support": raw["consequent support"].to_numpy(),
        "support": raw["support"].to_numpy(),
        "count": np.rint(raw["support"].to_numpy() * baskets.n_baskets).astype(np.int64),
        "confidence": raw["confidence"].to_numpy(),
        "lift": raw["lift"].to_numpy(),
        "leverage": raw["leverage"].to_numpy(),
        "conviction": raw["conviction"].to_numpy(),
    })
    key = rules["antecedents"].map(" ".join) + " -> " + rules["consequents"].map(" ".join)
    rules = rules.assign(_key=key).sort_values(
        ["lift", "confidence", "support", "_key"], ascending=[False, False, False, True], kind="stable")
    return rules.drop(columns="_key").reset_index(drop=True)


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
        return {**result, "reason": N("no basket data")}
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
        return {**result, "reason": N("not enough repeat customers who bought something new in their last basket")}
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
