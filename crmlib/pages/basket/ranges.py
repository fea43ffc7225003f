"""Product ranges: variants of one product (colours, patterns, rooms) counted as one item.

Catalogues list one product in several variants: "REGENCY TEA PLATE ROSES", "... GREEN",
"... PINK"; "POPPY'S PLAYHOUSE BEDROOM", "... KITCHEN". Customers buy the variants
together, so ranked by lift the strongest "bundles" are a product with its own variants,
which tells a merchandiser nothing. Before pairs are ranked, the page therefore puts
every range in one column (:func:`collapse_variants`).

The rule (:func:`product_ranges`), in plain words: **two products are variants of one
range when their names differ only in one run of up to three consecutive words** (a
colour, a pattern, a room: REGENCY TEA PLATE ROSES / GREEN; CHILDRENS CUTLERY DOLLY GIRL
/ SPACEBOY), **and they share at least two words that say more than a pack size**
("SET OF 3 …" alone does not make a range; names of two words are never merged). A product that
fits several ranges joins the one with the most products (then the one sharing the most
words, then the first alphabetically), so a range never chains through different words.
A range is named by its shared words with "…" where the variants differ: "REGENCY TEA
PLATE …", "CHILDRENS CUTLERY …".
"""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmlib.pages.basket.baskets import Baskets

#: Most consecutive words in which two variants' names may differ.
MAX_VARYING_WORDS = 3
#: Words that say nothing about the product on their own (pack sizes, linking words).
GENERIC_WORDS = frozenset({"SET", "OF", "PACK", "BOX", "THE", "AND", "WITH", "IN", "A", "&", "+", "-"})
VARIES = "…"
RANGE_COLUMNS = ["item_id", "item_name", "range_id", "range_name", "variants"]


def _words(name: object) -> tuple[str, ...]:
    """Upper-case words, punctuation at their ends dropped ("CARD," = "CARD")."""
    words = (w.strip(",.;:!?()\"") for w in str(name).upper().split())
    return tuple(w for w in words if w)


def _is_generic(word: str) -> bool:
    return word in GENERIC_WORDS or bool(re.fullmatch(r"[\d/.,x]+", word.lower()))


def range_keys(name: object, max_varying: int = MAX_VARYING_WORDS) -> list[tuple[str, ...]]:
    """The ranges ``name`` could belong to: its words with one run of 1..``max_varying``
    words replaced by "…", where the words kept are at least two and not all generic
    (pack sizes, linking words)."""
    words = _words(name)
    keys = []
    for run in range(1, max_varying + 1):
        if len(words) - run < 2:
            continue
        for k in range(len(words) - run + 1):
            shared = words[:k] + words[k + run:]
            if not all(_is_generic(w) for w in shared):
                keys.append(words[:k] + (VARIES,) + words[k + run:])
    return keys


def product_ranges(item_ids: np.ndarray, item_names: np.ndarray, popularity: np.ndarray | None = None,
                   max_varying: int = MAX_VARYING_WORDS) -> pd.DataFrame:
    """Each item's range (see the module docstring for the rule).

    ``popularity`` (e.g. baskets per item) orders a range's members, best seller first,
    and gives the range id: its members' ids joined by ``+`` in that order (an item
    without variants keeps its own id and name). Returns :data:`RANGE_COLUMNS`, one row
    per item, in the order given.
    """
    ids = np.asarray(item_ids, dtype=object).astype(str)
    names = np.asarray(item_names, dtype=object)
    popularity = np.zeros(len(ids)) if popularity is None else np.asarray(popularity, dtype=float)
    words = [_words(n) for n in names]
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        for key in range_keys(name, max_varying):
            groups[key].append(i)
    # a name repeated under several ids is one variant, not a range of its own
    candidates = sorted(((key, members) for key, members in groups.items()
                         if len({words[i] for i in members}) >= 2),
                        key=lambda kv: (-len({words[i] for i in kv[1]}), -len(kv[0]), kv[0]))
    range_of = np.full(len(ids), -1)
    labels: list[str] = []
    for key, members in candidates:
        free = [i for i in members if range_of[i] < 0]
        if len({words[i] for i in free}) < 2:
            continue
        range_of[free] = len(labels)
        labels.append(" ".join(key))
    out = pd.DataFrame({"item_id": ids, "item_name": names.astype(str), "range": range_of, "pop": popularity})
    ranged = out[out["range"] >= 0].sort_values(["range", "pop", "item_id"], ascending=[True, False, True])
    members = ranged.groupby("range", sort=True)["item_id"].agg(list)
    range_id = {r: "+".join(m) for r, m in members.items()}
    out["range_id"] = [range_id.get(r, i) for r, i in zip(out["range"], out["item_id"])]
    out["range_name"] = [labels[r] if r >= 0 else n for r, n in zip(out["range"], out["item_name"])]
    out["variants"] = out.groupby("range_id")["item_id"].transform("size").astype(np.int64)
    return out[RANGE_COLUMNS]


def collapse_variants(baskets: Baskets, ranges: pd.DataFrame | None = None) -> Baskets:
    """``baskets`` with each product range as one item (a basket holds the range when it
    holds any of its variants). ``ranges`` defaults to :func:`product_ranges` of the
    baskets' items; items keep their order of first appearance among the ranges."""
    if not baskets.available:
        return baskets
    if ranges is None:
        ranges = product_ranges(baskets.item_ids, baskets.item_names, baskets.item_counts())
    code, range_ids = pd.factorize(ranges["range_id"], sort=False)
    names = ranges.drop_duplicates("range_id").set_index("range_id")["range_name"].reindex(range_ids)
    to_range = sp.csr_matrix((np.ones(len(code), dtype=np.int32), (np.arange(len(code)), code)),
                             shape=(baskets.n_items, len(range_ids)))
    matrix = (baskets.matrix @ to_range).tocsr()
    matrix.data[:] = 1
    return Baskets(matrix, baskets.info, np.asarray(range_ids, dtype=object), names.to_numpy(dtype=object),
                   baskets.basket, baskets.item, baskets.problem, baskets.dropped_items)
