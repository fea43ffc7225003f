"""Market basket analysis and cross-sell: baskets, pair affinity, rules, recommendations.

Everything works on one sparse basket x item matrix (:class:`Baskets`), never on a dense
invoice x product pivot:

* :func:`build_baskets` turns clean transactions into baskets (by invoice or by
  customer-day, on products or categories);
* :func:`pair_affinity` scores every pair of items from the sparse co-occurrence
  matrix X^T X (support, confidence both ways, lift, leverage, conviction);
* :func:`~crmlib.pages.basket.itemsets.mine_rules` counts frequent itemsets on the same
  matrix and turns them into association rules, after
  :func:`~crmlib.pages.basket.itemsets.estimate_itemsets` has checked that the mining
  cannot explode;
* :func:`~crmlib.pages.basket.recommendations.recommend` and ``evaluate_holdout`` give each customer the products they
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
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import scipy.sparse as sp

from crmlib.core.i18n import _
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.validation import require_columns
from crmlib.errors import ConfigError

BASKET_KINDS = ("invoice", "customer_day")


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


def _columns(transactions: pd.DataFrame | str | Path, wanted: list[str]) -> dict[str, pa.ChunkedArray]:
    """The ``wanted`` columns that exist, as Arrow arrays: from a frame, or read from a
    Parquet file or month-partitioned folder (only those columns, never the whole log)."""
    if isinstance(transactions, pd.DataFrame):
        out = {}
        for c in (c for c in wanted if c in transactions.columns):
            values = transactions[c]
            if c != "invoice_date" and not (pd.api.types.is_string_dtype(values) or values.dtype == object):
                values = values.astype(str).where(values.notna())   # ids read as text, as pandas prints them
            elif c == "invoice_date":
                values = pd.to_datetime(values)
            out[c] = pa.chunked_array([pa.array(values, from_pandas=True)])
        return out
    path = Path(transactions)
    files = sorted(str(f) for f in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
    schema = pq.read_schema(files[0])
    present = [c for c in wanted if c in schema.names]
    # products and their names read as dictionaries (an int32 per line, each name once); the
    # ids with a value per customer or invoice read as text and encoded once, since merging
    # the row groups' dictionaries of millions of ids costs more than encoding them anew
    few = [c for c in present if c not in ("customer_id", "invoice_id", "invoice_date")
           and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]
    parquet = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=few))
    table = ds.dataset(files, format=parquet).to_table(columns=present).unify_dictionaries()
    return {c: table[c] for c in present}


def _codes(values: pa.ChunkedArray, keep: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array]:
    """``pandas.factorize(values[keep].astype(str), sort=True)`` without a Python string per
    row: codes (-1 for missing) and the sorted distinct values, through an Arrow dictionary."""
    if not pa.types.is_dictionary(values.type):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.large_string())
        values = values.combine_chunks().dictionary_encode()
    elif isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    dictionary = values.dictionary
    order = np.asarray(pc.sort_indices(dictionary))
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[order] = np.arange(len(dictionary))
    raw = np.asarray(values.indices.fill_null(-1), dtype=np.int64)
    codes = np.where(raw >= 0, rank[np.maximum(raw, 0)], -1)
    if keep is not None:
        codes = codes[keep]
    used = np.zeros(len(dictionary) + 1, dtype=bool)
    used[codes + 1] = True
    new = np.cumsum(used[1:]) - 1
    codes = np.where(codes >= 0, new[np.maximum(codes, 0)], -1)
    return codes, dictionary.take(order[used[1:]])


def _text(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_pylist(), dtype=object)


def item_problem(transactions: pd.DataFrame | str | Path, item: str = "product_id") -> str | None:
    """Why ``transactions`` (a frame or a stored log) cannot be analysed by ``item``, or
    ``None`` when it can.

    Missing column, no values, or one single value (e.g. CDNOW, whose loader fills in no
    real product) all mean there is nothing to put in a basket.
    """
    return _item_problem(_columns(transactions, [item]).get(item), item)


def _item_problem(values: pa.ChunkedArray | None, item: str) -> str | None:
    if values is None:
        return _("the data has no '{column}' column, so there is nothing to put in a basket").format(column=item)
    values = values.drop_null()
    if len(values) == 0:
        return _("the '{column}' column is empty, so there is nothing to put in a basket").format(column=item)
    distinct = values.combine_chunks().indices if pa.types.is_dictionary(values.type) else values
    if pc.count_distinct(distinct).as_py() < 2:
        return _("the '{column}' column holds a single value ('{value}'), so every basket is the same and there is "
                 "nothing to learn about what sells together").format(column=item, value=values[0].as_py())
    return None


def build_baskets(
    transactions: pd.DataFrame | str | Path,
    basket: str = "invoice",
    item: str = "product_id",
    include_anonymous: bool = False,
) -> Baskets:
    """Build the sparse basket x item matrix from clean transactions (a frame, or the path
    of the stored log: then only the columns needed are read).

    Assumptions:
    1. ``transactions`` follows the data contract: one row per purchase line, returns and
       non-product lines (postage, fees) already removed by cleaning.
    2. A basket is one invoice (``basket="invoice"``) or everything one customer bought on
       one calendar day (``"customer_day"``); an item is counted once per basket whatever
       the quantity.
    3. Lines without a customer id are left out unless ``include_anonymous`` (and always
       for customer-day baskets), because recommendations and segments need a customer.

    Ids become integer codes through Arrow dictionaries (sorted like the ids), so a
    10-million-line log costs arrays of integers, not a Python string per line. Baskets
    are numbered in the order of their ids (invoice id, or customer then day); ``info``
    holds ``customer_id`` as a categorical of the sorted customer ids. When the item column
    is missing or useless (see :func:`item_problem`) the result has no items and
    ``problem`` set, instead of raising: later steps return empty results.
    """
    if basket not in BASKET_KINDS:
        raise ConfigError(f"basket: '{basket}' is not allowed; use one of {', '.join(BASKET_KINDS)}")
    needed = ["customer_id", "invoice_date"] + (["invoice_id"] if basket == "invoice" else [])
    columns = _columns(transactions, list(dict.fromkeys([*needed, item, "product_name"])))
    problem = _item_problem(columns.get(item), item)
    if problem is not None:
        empty = pd.DataFrame({"basket_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str),
                              "basket_date": pd.Series(dtype="datetime64[ns]")})
        return Baskets(sp.csr_matrix((0, 0), dtype=np.int32), empty, np.array([], dtype=object),
                       np.array([], dtype=object), basket, item, problem)
    missing = [c for c in needed if c not in columns]
    if missing:
        require_columns(pd.DataFrame(columns=list(columns)), needed, f"{basket} baskets",
                        hint="run the cleaning step first")

    keep = np.asarray(columns[item].is_valid())
    if basket == "customer_day" or not include_anonymous:
        keep &= np.asarray(columns["customer_id"].is_valid())
    dates = np.asarray(columns["invoice_date"].combine_chunks().to_numpy(zero_copy_only=False))[keep]
    dates = dates.astype("datetime64[ns]")
    customer_code, customer_values = _codes(columns["customer_id"], keep)
    customer_ids = _text(customer_values)
    if basket == "invoice":
        basket_code, basket_ids = _codes(columns["invoice_id"], keep)
        basket_labels = basket_ids.to_pandas().array
    else:
        day_code, days = pd.factorize(dates.astype("datetime64[D]"), sort=True)
        basket_code, pair = pd.factorize(customer_code.astype(np.int64) * len(days) + day_code, sort=True)
        day_labels = np.asarray(pd.DatetimeIndex(days).strftime("%Y-%m-%d"), dtype=object)
        basket_labels = pd.array(customer_ids[pair // len(days)] + "|" + day_labels[pair % len(days)], dtype="str")
    n_baskets = int(basket_code.max()) + 1 if len(basket_code) else 0
    first_row = np.full(n_baskets, len(basket_code), dtype=np.int64)
    np.minimum.at(first_row, basket_code, np.arange(len(basket_code)))
    first_date = np.full(n_baskets, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_date, basket_code, dates.view(np.int64))
    info = pd.DataFrame({
        "basket_id": basket_labels,
        "customer_id": pd.Categorical.from_codes(customer_code[first_row], categories=pd.Index(customer_ids, dtype=object)),
        "basket_date": first_date.view("datetime64[ns]"),
    })

    item_code, item_values = _codes(columns[item], keep)
    item_ids = _text(item_values)
    matrix = sp.csr_matrix(
        (np.ones(len(item_code), dtype=np.int32), (basket_code, item_code)), shape=(n_baskets, len(item_ids))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    names = _item_names(item_code, item_ids, columns.get("product_name") if item == "product_id" else None, keep)
    return Baskets(matrix, info, item_ids, names, basket, item, None)


def _item_names(item_code: np.ndarray, item_ids: np.ndarray, product_names: pa.ChunkedArray | None,
                keep: np.ndarray) -> np.ndarray:
    """Most frequent product name of each item (lines), stripped, ties to the first
    alphabetically; the item id itself when there is none."""
    if product_names is None:
        return item_ids.copy()
    encoded = product_names.combine_chunks()
    encoded = encoded if pa.types.is_dictionary(encoded.type) else encoded.dictionary_encode()
    name_code, names = _codes(pa.chunked_array([pc.utf8_trim_whitespace(encoded.dictionary)]))
    raw = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)[keep]
    code = np.where(raw >= 0, name_code[np.maximum(raw, 0)], -1)
    named = code >= 0
    n_names = max(len(names), 1)
    key = item_code[named] * np.int64(n_names) + code[named]
    if len(item_ids) * n_names <= 50_000_000:
        counts = np.bincount(key, minlength=len(item_ids) * n_names)
        pairs = np.flatnonzero(counts)
        counts = counts[pairs]
    else:
        pairs, counts = np.unique(key, return_counts=True)
    item_of, name_of = pairs // n_names, pairs % n_names
    best = np.lexsort((name_of, -counts, item_of))           # per item: most lines, then name order
    first = best[np.r_[True, np.diff(item_of[best]) != 0]] if len(best) else best
    out = item_ids.copy()
    out[item_of[first]] = _text(names.take(name_of[first]))
    return out


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


def _short(name: str, width: int = 38) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def strongest_pairs(affinity: pd.DataFrame, n: int = 15) -> ManagerTable:
    """The ``n`` pairs with the highest lift, as a table for a manager."""
    frame = affinity.head(n).assign(name_a=lambda f: f["name_a"].astype(str),
                                    name_b=lambda f: f["name_b"].astype(str))
    return manager_table(frame, {
        "name_a": (_("Product"), "text"), "name_b": (_("Bought with"), "text"),
        "count": (_("Baskets"), "count"), "lift": (_("Times chance"), "ratio"),
    })
