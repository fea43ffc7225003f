"""Identity resolution: one customer across business units, matched on phone or e-mail.

Units number their members independently (``H87850`` at the hotel, ``B47850`` at the
bakery, ``M17850`` online); only a phone number or an e-mail address, written in
different ways, says that they are one person. Configured in ``workbook.yml``::

    identity:
      - path: data/raw/members_hotel.csv
        source: hotel                                   # the source's `name`
        columns: {customer_id: member_no, phone: phone, email: email}
                                  # match keys: phone and/or email (a column or a list)
        sheet: null               # Excel only: a sheet name/number; null = every sheet

Steps (each a plain function, so a notebook or a test can run them one by one):

1. :func:`read_member_lists` (:mod:`crmlib.core.member_lists`, re-exported here) reads
   each list, normalises the keys (:func:`normalise_phone`, :func:`normalise_email`) and
   replaces them at once by keyed
   hashes (:func:`crmlib.core.privacy.hash_match_key`). Raw phone numbers and e-mail
   addresses never reach a returned frame, an artifact, a message or a log.
2. :func:`resolve_identities` joins members who share a hashed key into one customer,
   transitively, under the rules below, and gives every listed member a unified
   ``customer_id``.
3. :func:`apply_identities` rewrites ``customer_id`` of the transactions with the
   unified id and keeps the unit's own id as ``source_customer_id``.
4. :func:`customer_view` measures the integration (``metrics/01_data_cleaning.json``,
   key ``"customer_view"``).

Rules (all counted, never silent)
---------------------------------
* **Not personal.** A key held by more than :data:`MAX_IDS_PER_KEY` member ids of one
  source (a shop's own phone typed for walk-in members, a placeholder e-mail) is not
  used for matching at all. Conflict kind ``key_shared_by_many``.
* **Same unit, shared key.** Member ids of one source that share a key directly (at
  most :data:`MAX_IDS_PER_KEY` of them) are one customer: a household or a replaced
  card. Counted in the stats (``same_source_merges``), not a conflict.
* **One member, different people.** Otherwise two member ids of one source are two
  people. When a member's keys lead to customers that already hold *different* member
  ids of the same source (hotel member with two phones: one is bakery member ``B1``'s,
  the other bakery member ``B2``'s), the link that would join them is not followed.
  Links are followed in the order of :data:`KEY_PRIORITY` -- e-mail before phone (an
  e-mail is rarely shared, a landline often is) -- then by hashed key (arbitrary but
  the same in every run), so the member stays with the customer its e-mail says.
  Conflict kind ``member_links_different_people``.

Stable customer id
------------------
``customer_id = "U" + pseudonym of "<source>\\x1f<member id>"`` of the customer's
*anchor*, its smallest ``(source, member id)`` pair (text order), hashed with the
project's one pseudonym key (:func:`crmlib.core.privacy.load_key`). Same member lists
and key -> same ids in every run and every back-filled period. A customer's id changes
only when its anchor changes (a member with a smaller pair joins it, or the anchor
leaves the lists), or when the key file is replaced. Ids of transactions that are in
no member list are kept as they are ("unmatched": customers of their own, and, as
before identity resolution, the same id in two sources without member lists is one
customer).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core import privacy
from crmlib.core.formatting import format_count, format_percent
from crmlib.core.member_lists import (DEFAULT_COUNTRY, IDENTITY_COLUMNS, IDENTITY_KEYS, MEMBER_KEY_COLUMNS,
                                      MemberLists, hash_member_keys, normalise_email, normalise_member_id,
                                      normalise_phone, parse_identity_config, read_member_lists)
from crmlib.errors import ConfigError

#: Above this many member ids of one source sharing a key, the key is not personal.
MAX_IDS_PER_KEY = 5
#: Kinds of match key, in the order their links are followed (see "One member, different people").
KEY_PRIORITY = ("email", "phone")
#: Prefix of unified customer ids (``U`` + 12 hex characters).
CUSTOMER_ID_PREFIX = "U"

CONFLICT_RULES = {
    "key_shared_by_many": f"a phone or e-mail held by more than {MAX_IDS_PER_KEY} member ids of one unit "
                          "is not personal (e.g. a shop's own phone): not used for matching",
    "member_links_different_people": "a member whose keys lead to two different members of one unit: "
                                     "the link is not followed (e-mail links win over phone links)",
}



# ----------------------------------------------------------------------------- resolving
@dataclass
class IdentityResult:
    """Output of :func:`resolve_identities`.

    ``mapping``: ``source``, ``source_customer_id``, ``customer_id`` (one row per listed
    member id). ``conflicts``: ``kind``, ``count`` (keys concerned), ``member_ids``
    (member ids concerned), ``rule`` -- no raw or hashed key. ``stats``: counts of the run.
    """

    mapping: pd.DataFrame
    conflicts: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n_conflicts(self) -> int:
        return int(self.conflicts["count"].sum()) if len(self.conflicts) else 0


class _UnionFind:
    """Union-find over member nodes; each root remembers the sources its customer holds."""

    def __init__(self, node_sources: np.ndarray) -> None:
        self.parent = np.arange(len(node_sources))
        self.sources: dict[int, set[int]] = {i: {int(s)} for i, s in enumerate(node_sources)}

    def find(self, a: int) -> int:
        parent = self.parent
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return int(root)

    def union(self, a: int, b: int, *, exclusive: bool) -> bool | None:
        """Join the customers of ``a`` and ``b``; ``None`` when already one, ``False`` when
        ``exclusive`` and both already hold a member of the same source."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if exclusive and self.sources[ra] & self.sources[rb]:
            return False
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.sources[ra] |= self.sources.pop(rb)
        return True


def _member_keys(members: MemberLists | pd.DataFrame) -> pd.DataFrame:
    keys = members.keys if isinstance(members, MemberLists) else members
    missing = [c for c in MEMBER_KEY_COLUMNS if c not in keys.columns]
    if missing:
        raise ValueError(f"member keys need columns {MEMBER_KEY_COLUMNS}, missing {missing}")
    return keys[MEMBER_KEY_COLUMNS]


def _groups(frame: pd.DataFrame, by: list[str]):
    """(start, end) positions of each group of rows of a frame sorted by ``by``."""
    if frame.empty:
        return []
    starts = np.flatnonzero(np.r_[True, (frame[by].iloc[1:].to_numpy() != frame[by].iloc[:-1].to_numpy()).any(axis=1)])
    ends = np.r_[starts[1:], len(frame)]
    return zip(starts, ends)


def resolve_identities(
    members: MemberLists | pd.DataFrame, key: bytes, max_ids_per_key: int = MAX_IDS_PER_KEY
) -> IdentityResult:
    """Join members who share a hashed key into customers (see the module's rules).

    ``members``: :class:`MemberLists` or a frame of :data:`MEMBER_KEY_COLUMNS`. ``key``:
    the pseudonym key, used for the unified ``customer_id`` (stable rule in the module
    docstring). Deterministic: the same members and key give the same result.
    """
    if not isinstance(max_ids_per_key, int) or max_ids_per_key < 1:
        raise ConfigError(f"max_ids_per_key must be a whole number >= 1, got {max_ids_per_key!r}")
    keys = _member_keys(members)
    keys = keys.loc[keys["source_customer_id"].notna()]
    nodes = (keys[["source", "source_customer_id"]].drop_duplicates()
             .sort_values(["source", "source_customer_id"]).reset_index(drop=True))
    node_of = pd.MultiIndex.from_frame(nodes).get_indexer(
        pd.MultiIndex.from_frame(keys[["source", "source_customer_id"]]))
    source_codes, source_names = pd.factorize(nodes["source"], sort=True)
    links = pd.DataFrame({"node": node_of, "source": source_codes[node_of],
                          "kind": keys["key_kind"].to_numpy(), "hash": keys["key_hash"].to_numpy()})
    links = links.loc[links["hash"].notna()].drop_duplicates()

    # rule "not personal": a key held by too many member ids of one source
    per_source = links.groupby(["hash", "source"], sort=False)["node"].transform("nunique")
    crowded = links.loc[per_source.to_numpy() > max_ids_per_key, "hash"].unique()
    dropped = links["hash"].isin(crowded)
    crowded_members = int(links.loc[dropped, "node"].nunique())
    links = links.loc[~dropped]
    uf = _UnionFind(source_codes)

    # same source, shared key: one customer (household, replaced card)
    same_source_merges = 0
    links = links.sort_values(["source", "hash", "node"], kind="stable")
    shared = links.loc[links.duplicated(["source", "hash"], keep=False)]
    for start, end in _groups(shared, ["source", "hash"]):
        group = shared["node"].to_numpy()[start:end]
        for other in group[1:]:
            same_source_merges += bool(uf.union(int(group[0]), int(other), exclusive=False))

    # across sources, e-mail links before phone links, then by hashed key
    priority = {kind: i for i, kind in enumerate(KEY_PRIORITY)}
    links = links.assign(rank=links["kind"].map(priority).fillna(len(priority)).astype(int))
    n_sources = links.groupby("hash", sort=False)["source"].transform("nunique")
    cross = links.loc[n_sources.to_numpy() > 1].sort_values(["rank", "hash", "node"], kind="stable")
    refused_keys: set[str] = set()
    refused_members: set[int] = set()
    hashes, cross_nodes = cross["hash"].to_numpy(), cross["node"].to_numpy()
    for start, end in _groups(cross, ["hash"]):
        group = cross_nodes[start:end]
        for other in group[1:]:
            if uf.union(int(group[0]), int(other), exclusive=True) is False:
                refused_keys.add(hashes[start])
                refused_members.update((int(group[0]), int(other)))

    roots = np.array([uf.find(i) for i in range(len(nodes))], dtype=np.int64)
    anchor = roots  # union keeps the smaller index as root: the smallest (source, id) of the group
    labels = (nodes["source"] + "\x1f" + nodes["source_customer_id"]).to_numpy(dtype=object)
    customer_ids = privacy.pseudonymise(pd.Series(labels[anchor], dtype="str"), key, prefix=CUSTOMER_ID_PREFIX)
    mapping = nodes.assign(customer_id=customer_ids.to_numpy()).astype("str")

    conflicts = pd.DataFrame({
        "kind": list(CONFLICT_RULES),
        "count": [len(crowded), len(refused_keys)],
        "member_ids": [crowded_members, len(refused_members)],
        "rule": list(CONFLICT_RULES.values()),
    })
    size = pd.Series(roots).value_counts()
    sources_per_customer = pd.Series(source_codes).groupby(roots).nunique()
    stats = {
        "member_ids": int(len(nodes)),
        "customers": int(len(size)),
        "customers_with_several_ids": int((size > 1).sum()),
        "customers_in_several_sources": int((sources_per_customer > 1).sum()),
        "largest_customer_ids": int(size.max()) if len(size) else 0,
        "keys_used": int(links["hash"].nunique()),
        "keys_not_personal": int(len(crowded)),
        "same_source_merges": int(same_source_merges),
        "links_not_followed": int(len(refused_keys)),
        "sources": int(len(source_names)),
    }
    return IdentityResult(mapping=mapping, conflicts=conflicts, stats=stats)


# ----------------------------------------------------------------------------- applying
def apply_identities(transactions: pd.DataFrame, result: IdentityResult) -> pd.DataFrame:
    """Transactions with ``customer_id`` = the unified id and ``source_customer_id`` = the unit's own.

    Looks each ``(source, customer_id)`` up in ``result.mapping``; ids in no member list
    keep their own id (unmatched), anonymous lines stay anonymous. Returns a new frame
    (the input is not changed); ``source_customer_id`` is the last column.
    """
    for column in ("customer_id", "source"):
        if column not in transactions.columns:
            raise ValueError(f"transactions need a '{column}' column")
    own = transactions["customer_id"]
    unified = own.astype("object").to_numpy(copy=True)
    sources = transactions["source"].astype("str").to_numpy()
    mapping = result.mapping
    for source, members in mapping.groupby("source", sort=False):
        rows = np.flatnonzero(sources == source)
        if not len(rows):
            continue
        at = pd.Index(members["source_customer_id"]).get_indexer(own.iloc[rows].astype("str"))
        found = at >= 0
        unified[rows[found]] = members["customer_id"].to_numpy(dtype=object)[at[found]]
    out = transactions.drop(columns=["source_customer_id"], errors="ignore").assign(
        customer_id=pd.Series(unified, index=transactions.index, dtype="str").where(own.notna()))
    out["source_customer_id"] = own.astype("str").where(own.notna())
    return out


def customer_view(transactions: pd.DataFrame, result: IdentityResult) -> dict[str, Any]:
    """Integration quality for the cleaning page and ``metrics/01_data_cleaning.json``.

    ``customers``: unified customers with at least one transaction; ``multi_source_customers``:
    those with transactions in two or more sources; ``matched_ids``/``unmatched_ids``:
    source member ids of the transactions found / not found in a member list;
    ``conflicts``: conflicts counted by the rules; ``by_source``: the same per source plus
    ``also_elsewhere`` (its customers who also buy in another source). ``transactions``
    may be before or after :func:`apply_identities`.
    """
    if "source_customer_id" not in transactions.columns:
        transactions = apply_identities(transactions, result)
    known = transactions.loc[transactions["customer_id"].notna(), ["customer_id", "source", "source_customer_id"]]
    pairs = known[["customer_id", "source"]].drop_duplicates()
    n_sources = pairs.groupby("customer_id", sort=False)["source"].size()
    multi = set(n_sources.index[n_sources.to_numpy() > 1])
    ids = known[["source", "source_customer_id"]].drop_duplicates()
    listed = pd.MultiIndex.from_frame(result.mapping[["source", "source_customer_id"]])
    ids = ids.assign(matched=pd.MultiIndex.from_frame(ids.astype("str")).isin(listed))
    by_source = {}
    for source in sorted(pairs["source"].astype("str").unique()):
        mine = pairs.loc[pairs["source"] == source, "customer_id"]
        its_ids = ids.loc[ids["source"] == source, "matched"]
        by_source[source] = {
            "customers": int(mine.nunique()),
            "also_elsewhere": int(mine.isin(multi).sum()),
            "matched_ids": int(its_ids.sum()),
            "unmatched_ids": int((~its_ids).sum()),
        }
    return {
        "customers": int(len(n_sources)),
        "multi_source_customers": int(len(multi)),
        "matched_ids": int(ids["matched"].sum()),
        "unmatched_ids": int((~ids["matched"]).sum()),
        "conflicts": result.n_conflicts,
        "by_source": by_source,
    }


def customer_view_markdown(view: dict[str, Any]) -> str:
    """The integration quality in plain sentences for the cleaning page (counts only)."""
    ids = view["matched_ids"] + view["unmatched_ids"]
    rate = view["matched_ids"] / ids if ids else None
    share = view["multi_source_customers"] / view["customers"] if view["customers"] else None
    conflicts = view["conflicts"]
    return (f"{format_count(view['matched_ids'])} of {format_count(ids)} member ids in the sales data "
            f"({format_percent(rate)}) were found in a member list and matched on phone or e-mail; the others "
            f"stay customers of their own. Together the sales data holds **{format_count(view['customers'])} "
            f"customers**, of whom {format_count(view['multi_source_customers'])} ({format_percent(share)}) buy "
            f"in two or more units. {format_count(conflicts)} matching conflict{'s' if conflicts != 1 else ''} "
            "(shared shop phones, members linked to two people) were set aside by the stated rules.")


__all__ = [
    "CONFLICT_RULES", "CUSTOMER_ID_PREFIX", "DEFAULT_COUNTRY", "IDENTITY_COLUMNS", "IDENTITY_KEYS", "KEY_PRIORITY",
    "MAX_IDS_PER_KEY", "MEMBER_KEY_COLUMNS", "IdentityResult", "MemberLists", "apply_identities", "customer_view",
    "customer_view_markdown", "hash_member_keys", "normalise_email", "normalise_member_id", "normalise_phone",
    "parse_identity_config", "read_member_lists", "resolve_identities",
]
