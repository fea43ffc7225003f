"""Market basket analysis and cross-sell: baskets, pair affinity, rules, recommendations.

Everything works on one sparse basket x item matrix (:class:`Baskets`), never on a dense
invoice x product pivot:

* :func:`build_baskets` turns clean transactions into baskets (by invoice or by
  customer-day, on products or categories);
* :func:`pair_affinity` scores every pair of items from the sparse co-occurrence
  matrix X^T X (support, confidence both ways, lift, leverage, conviction);
* :func:`mine_rules` finds frequent itemsets with mlxtend's FP-growth and turns them into
  association rules, after :func:`estimate_itemsets` has checked that the mining cannot
  explode;
* :func:`recommend` and :func:`evaluate_holdout` give each customer the products they
  have not bought yet that co-occur most with what they did buy, and check that offline
  against a most-popular baseline.

Data without an item column (e.g. CDNOW, which has no products) gives empty baskets whose
``problem`` says why; every later step then returns empty results instead of failing, so
a notebook run continues and says so.

References: Agrawal, Imielinski & Swami (1993), "Mining association rules between sets of
items in large databases", SIGMOD; Han, Pei & Yin (2000), "Mining frequent patterns
without candidate generation", SIGMOD (FP-growth); Brin, Motwani, Ullman & Tsur (1997),
"Dynamic itemset counting and implication rules for market basket data", SIGMOD
(lift, conviction); Piatetsky-Shapiro (1991) (leverage); Linden, Smith & York (2003),
"Amazon.com recommendations: item-to-item collaborative filtering", IEEE Internet
Computing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import comb

from crmlib.core.i18n import _
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError

BASKET_KINDS = ("invoice", "customer_day")


DEFAULT_MAX_ITEMSETS = 200_000


RULE_COLUMNS = [
    "antecedents", "consequents", "antecedent_names", "consequent_names",
    "antecedent_support", "consequent_support", "support", "count",
    "confidence", "lift", "leverage", "conviction",
]


@dataclass
class Baskets:
    """A 0/1 basket x item matrix with the labels needed to read it.

    Attributes
    ----------
    matrix:
        ``scipy.sparse.csr_matrix`` of int32, shape (n_baskets, n_items); 1 when the
        basket holds the item (quantities are ignored).
    info:
        One row per basket, in matrix row order: ``basket_id``, ``customer_id``,
        ``basket_date``.
    item_ids, item_names:
        Item labels in matrix column order (names: the most frequent product name).
    basket, item:
        How baskets and items were defined (``invoice``/``customer_day``; a column).
    problem:
        ``None``, or why there are no items (e.g. the data has no product column).
    """

    matrix: sp.csr_matrix
    info: pd.DataFrame
    item_ids: np.ndarray
    item_names: np.ndarray
    basket: str = "invoice"
    item: str = "product_id"
    problem: str | None = None
    dropped_items: int = field(default=0)

    @property
    def n_baskets(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def available(self) -> bool:
        """True when there is something to analyse (items and baskets)."""
        return self.problem is None and self.n_items > 0 and self.n_baskets > 0

    def item_counts(self) -> np.ndarray:
        """Number of baskets holding each item."""
        return np.asarray(self.matrix.getnnz(axis=0), dtype=np.int64)

    def item_support(self) -> pd.Series:
        """Share of baskets holding each item, indexed by item id."""
        n = max(self.n_baskets, 1)
        return pd.Series(self.item_counts() / n, index=pd.Index(self.item_ids, name="item_id"), name="support")

    def filter_items(self, min_support: float) -> "Baskets":
        """Keep only items in at least ``min_support`` of the baskets (all baskets kept,
        so supports stay shares of every basket)."""
        keep = self.item_counts() >= _min_count(min_support, self.n_baskets)
        return Baskets(
            self.matrix[:, keep].tocsr(), self.info, self.item_ids[keep], self.item_names[keep],
            self.basket, self.item, self.problem, self.dropped_items + int((~keep).sum()),
        )

    def subset(self, rows: np.ndarray) -> "Baskets":
        """Baskets selected by a boolean mask or positions (items unchanged)."""
        return Baskets(
            self.matrix[rows].tocsr(), self.info.iloc[rows].reset_index(drop=True),
            self.item_ids, self.item_names, self.basket, self.item, self.problem, self.dropped_items,
        )

    def to_sparse_frame(self) -> pd.DataFrame:
        """The matrix as a pandas sparse bool DataFrame (columns = item ids), the input
        mlxtend's ``fpgrowth`` accepts without a dense pivot."""
        return pd.DataFrame.sparse.from_spmatrix(
            self.matrix.astype(bool), columns=pd.Index(self.item_ids.astype(str))
        )

    def names_of(self, ids: list[str]) -> list[str]:
        """Readable names for a list of item ids."""
        lookup = dict(zip(self.item_ids, self.item_names))
        return [str(lookup.get(i, i)) for i in ids]


def item_problem(transactions: pd.DataFrame, item: str = "product_id") -> str | None:
    """Why ``transactions`` cannot be analysed by ``item``, or ``None`` when it can.

    Missing column, no values, or one single value (e.g. CDNOW, whose loader fills in no
    real product) all mean there is nothing to put in a basket.
    """
    if item not in transactions.columns:
        return _("the data has no '{column}' column, so there is nothing to put in a basket").format(column=item)
    values = transactions[item].dropna()
    if values.empty:
        return _("the '{column}' column is empty, so there is nothing to put in a basket").format(column=item)
    if values.nunique() < 2:
        return _("the '{column}' column holds a single value ('{value}'), so every basket is the same and there is "
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
        raise ConfigError(f"basket: '{basket}' is not allowed; use one of {', '.join(BASKET_KINDS)}")
    problem = item_problem(transactions, item)
    if problem is not None:
        empty = pd.DataFrame({"basket_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str),
                              "basket_date": pd.Series(dtype="datetime64[ns]")})
        return Baskets(sp.csr_matrix((0, 0), dtype=np.int32), empty, np.array([], dtype=object),
                       np.array([], dtype=object), basket, item, problem)
    needed = ["customer_id", "invoice_date"] + (["invoice_id"] if basket == "invoice" else [])
    require_columns(transactions, needed, f"{basket} baskets", hint="run the cleaning step first")

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


def _min_count(min_support: float, n_baskets: int) -> int:
    """Smallest basket count whose share reaches ``min_support`` (at least 1)."""
    if not 0 < min_support <= 1:
        raise ConfigError(f"min_support must be a share in (0, 1], got {min_support}")
    return max(1, math.ceil(min_support * n_baskets - 1e-9))


def cooccurrence(baskets: Baskets) -> sp.csr_matrix:
    """Item x item co-occurrence counts C = X^T X (diagonal = baskets holding the item)."""
    x = baskets.matrix
    return (x.T.tocsr() @ x).tocsr()


def pair_affinity(baskets: Baskets, min_support: float | None = None, min_count: int = 1) -> pd.DataFrame:
    """Affinity of every pair of items bought together, from sparse co-occurrence.

    For a pair (a, b) with n_ab joint baskets out of N:
    support = n_ab / N; confidence_ab = P(b | a) = n_ab / n_a (and the reverse);
    lift = support / (support_a * support_b); leverage = support - support_a * support_b;
    conviction_ab = (1 - support_b) / (1 - confidence_ab) (infinite when b always follows a).

    Assumptions:
    1. Baskets are independent draws, so shares estimate probabilities.
    2. Lift > 1 means the pair is bought together more often than chance; with few joint
       baskets it is noisy, hence ``min_support`` / ``min_count`` on the joint count.
    Sources: Agrawal et al. (1993); Brin et al. (1997) for lift and conviction;
    Piatetsky-Shapiro (1991) for leverage.

    Returns one row per unordered pair (item_a < item_b in column order), sorted by lift
    then joint count, both descending.
    """
    n = baskets.n_baskets
    if min_support is not None and n:
        min_count = max(min_count, _min_count(min_support, n))
    if not baskets.available:
        return _empty_affinity()
    if min_count > 1:  # an item in fewer baskets cannot be in a pair that reaches min_count
        baskets = baskets.filter_items(min_count / n - 1e-12)
    c = cooccurrence(baskets)
    counts = c.diagonal().astype(np.float64)
    upper = sp.triu(c, k=1).tocoo()
    keep = upper.data >= min_count
    a, b, n_ab = upper.row[keep], upper.col[keep], upper.data[keep].astype(np.float64)
    s_a, s_b, s_ab = counts[a] / n, counts[b] / n, n_ab / n
    conf_ab, conf_ba = n_ab / counts[a], n_ab / counts[b]
    with np.errstate(divide="ignore"):
        conv_ab = np.where(conf_ab < 1, (1 - s_b) / np.maximum(1 - conf_ab, 1e-300), np.inf)
        conv_ba = np.where(conf_ba < 1, (1 - s_a) / np.maximum(1 - conf_ba, 1e-300), np.inf)
    ids = pd.Index(baskets.item_ids.astype(str))
    names = pd.Index(baskets.item_names.astype(str)).unique()
    name_code = names.get_indexer(baskets.item_names.astype(str))
    out = pd.DataFrame({
        "item_a": pd.Categorical.from_codes(a, categories=ids),
        "item_b": pd.Categorical.from_codes(b, categories=ids),
        "name_a": pd.Categorical.from_codes(name_code[a], categories=names),
        "name_b": pd.Categorical.from_codes(name_code[b], categories=names),
        "count": n_ab.astype(np.int64),
        "support": s_ab, "support_a": s_a, "support_b": s_b,
        "confidence_ab": conf_ab, "confidence_ba": conf_ba,
        "lift": s_ab / (s_a * s_b), "leverage": s_ab - s_a * s_b,
        "conviction_ab": conv_ab, "conviction_ba": conv_ba,
    })
    return out.sort_values(["lift", "count"], ascending=False, kind="stable").reset_index(drop=True)


def _empty_affinity() -> pd.DataFrame:
    cols = ["item_a", "item_b", "name_a", "name_b", "count", "support", "support_a", "support_b",
            "confidence_ab", "confidence_ba", "lift", "leverage", "conviction_ab", "conviction_ba"]
    return pd.DataFrame({c: pd.Series(dtype=object if c[:4] in ("item", "name") else float) for c in cols})


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


def _short(name: str, width: int = 38) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


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


def strongest_pairs(affinity: pd.DataFrame, n: int = 15) -> ManagerTable:
    """The ``n`` pairs with the highest lift, as a table for a manager."""
    frame = affinity.head(n).assign(name_a=lambda f: f["name_a"].astype(str),
                                    name_b=lambda f: f["name_b"].astype(str))
    return manager_table(frame, {
        "name_a": (_("Product"), "text"), "name_b": (_("Bought with"), "text"),
        "count": (_("Baskets"), "count"), "lift": (_("Times chance"), "ratio"),
    })
