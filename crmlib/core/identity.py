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

1. :func:`read_member_lists` reads each list, normalises the keys
   (:func:`normalise_phone`, :func:`normalise_email`) and replaces them at once by keyed
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

import difflib
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib.core import privacy
from crmlib.errors import ConfigError, DataError

#: Above this many member ids of one source sharing a key, the key is not personal.
MAX_IDS_PER_KEY = 5
#: Kinds of match key, in the order their links are followed (see "One member, different people").
KEY_PRIORITY = ("email", "phone")
#: Country code assumed for numbers written without one (Korean domestic formats).
DEFAULT_COUNTRY = "82"
#: Prefix of unified customer ids (``U`` + 12 hex characters).
CUSTOMER_ID_PREFIX = "U"
#: Canonical names allowed under ``identity[].columns``.
IDENTITY_COLUMNS = ("customer_id", "phone", "email")
#: Keys allowed in one ``identity:`` entry.
IDENTITY_KEYS = ("path", "source", "columns", "sheet", "encoding", "delimiter")

#: Columns of the hashed member keys frame (one row per member id and key).
MEMBER_KEY_COLUMNS = ["source", "source_customer_id", "key_kind", "key_hash"]

CONFLICT_RULES = {
    "key_shared_by_many": f"a phone or e-mail held by more than {MAX_IDS_PER_KEY} member ids of one unit "
                          "is not personal (e.g. a shop's own phone): not used for matching",
    "member_links_different_people": "a member whose keys lead to two different members of one unit: "
                                     "the link is not followed (e-mail links win over phone links)",
}


# ----------------------------------------------------------------------------- normalising keys
def _text(values: pd.Series) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="object")
    return series.astype("str").where(series.notna())


def normalise_phone(values: pd.Series, default_country: str | None = DEFAULT_COUNTRY) -> pd.Series:
    """Phone numbers in one canonical, E.164-like form (``+821012345678``); invalid -> NA.

    Read as one number: ``010-1234-5678``, ``01012345678``, ``010.1234.5678``,
    ``+82 10 1234 5678``, ``+82 (0)10-1234-5678``, ``82-10-1234-5678``,
    ``0082 10 1234 5678`` and ``1012345678`` (a mobile number that lost its leading 0 in
    a spreadsheet); ``(02) 123-4567`` is ``+8221234567``. Domestic numbers (trunk ``0``)
    get ``default_country``. Invalid: letters, service numbers without an area code
    (``1588-1234``), too short or long numbers, and dummy numbers whose last 7 digits
    are one digit repeated (``010-0000-0000``).
    """
    text = _text(values).str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    written_ok = text.str.fullmatch(r"\+?[\d\s\-./()]+").fillna(False).astype(bool)
    digits = text.str.replace(r"\D", "", regex=True)
    plus = text.str.startswith("+").fillna(False).astype(bool)
    dial_out = ~plus & digits.str.startswith("00").fillna(False).astype(bool)
    international = pd.Series(pd.NA, index=text.index, dtype="str")
    international[plus] = digits[plus]
    international[dial_out] = digits[dial_out].str[2:]
    if default_country:
        cc = default_country
        national_len = digits.str.len()
        domestic = ~plus & ~dial_out & digits.str.fullmatch(r"0[1-9]\d{7,9}").fillna(False).astype(bool)
        with_cc = (~plus & ~dial_out & ~domestic & digits.str.startswith(cc).fillna(False).astype(bool)
                   & national_len.between(len(cc) + 8, len(cc) + 10).fillna(False).astype(bool))
        lost_zero = (~plus & ~dial_out & ~with_cc
                     & digits.str.fullmatch(r"1[016789]\d{7,8}").fillna(False).astype(bool))
        international[domestic] = cc + digits[domestic].str[1:]
        international[with_cc] = digits[with_cc]
        international[lost_zero] = cc + digits[lost_zero]
        # "+82 (0)10 ..." and "+82 010 ...": drop the domestic trunk 0 after the country code
        trunk = international.str.startswith(cc + "0").fillna(False).astype(bool)
        international[trunk] = cc + international[trunk].str[len(cc) + 1:]
        in_country = international.str.startswith(cc).fillna(False).astype(bool)
        national = international.str[len(cc):]
        bad_national = in_country & ~national.str.fullmatch(r"[1-9]\d{7,9}").fillna(False).astype(bool)
    else:
        bad_national = pd.Series(False, index=text.index)
    length_ok = international.str.len().between(8, 15).fillna(False).astype(bool)
    dummy = international.str[-7:].str.fullmatch(r"(\d)\1{6}").fillna(False).astype(bool)
    valid = written_ok & length_ok & ~bad_national & ~dummy & international.notna()
    return ("+" + international).where(valid).astype("str")


def normalise_email(values: pd.Series) -> pd.Series:
    """E-mail addresses trimmed and lower-cased (a ``mailto:`` prefix dropped); invalid -> NA.

    Valid: one ``@``, no spaces, a non-empty local part without leading, trailing or
    doubled dots, a domain with at least one dot and a final label of 2+ letters.
    """
    text = _text(values).str.strip().str.lower().str.replace(r"^mailto:", "", regex=True)
    valid = text.str.fullmatch(r"[^@\s.]+(\.[^@\s.]+)*@[^@\s.]+(\.[^@\s.]+)*\.[^\W\d_]{2,}").fillna(False)
    return text.where(valid.astype(bool)).astype("str")


def normalise_member_id(values: pd.Series) -> pd.Series:
    """Member ids as the cleaning step writes customer ids: stripped text, numbers without a
    trailing ``.0`` (``17850.0`` -> ``17850``), empty -> NA. Case is kept."""
    text = _text(values).str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return text.where(text != "").astype("str")


# ----------------------------------------------------------------------------- configuration
def parse_identity_config(
    spec: Any, where: str | Path = "workbook.yml", source_names: list[str] | None = None
) -> list[dict[str, Any]]:
    """Check the ``identity:`` setting and return it as a list of normalised entries.

    Each entry: ``path`` (str), ``source`` (str), ``columns`` (``customer_id`` -> a column,
    ``phone``/``email`` -> a list of columns), ``sheet``, ``encoding``, ``delimiter``.
    ``None`` or ``[]`` means no identity resolution. ``source_names``, when given, are the
    configured sources' names that ``source`` must be one of. Raises
    :class:`ConfigError` naming ``where`` and the entry, e.g.
    ``workbook.yml: identity[1].columns: needs phone and/or email``.
    """
    if spec is None or spec == []:
        return []
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, list):
        raise ConfigError(f"{where}: identity must be a list of member lists "
                          "(- path: ..., source: ..., columns: {customer_id: ..., phone: ...})")
    entries = []
    for i, entry in enumerate(spec):
        at = f"{where}: identity[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at} must be a mapping with path, source and columns")
        unknown = [k for k in entry if k not in IDENTITY_KEYS]
        if unknown:
            raise ConfigError(f"{at}: unknown key '{unknown[0]}'; allowed there: {', '.join(IDENTITY_KEYS)}")
        for required in ("path", "source", "columns"):
            if entry.get(required) in (None, "", {}):
                raise ConfigError(f"{at}: '{required}' is required")
        if not isinstance(entry["path"], (str, Path)):
            raise ConfigError(f"{at}.path must be a file path, got {entry['path']!r}")
        source = entry["source"]
        if not isinstance(source, str):
            raise ConfigError(f"{at}.source must be a source name (text), got {source!r}")
        if source_names is not None and source not in source_names:
            raise ConfigError(f"{at}.source: '{source}' is not the name of a configured source; "
                              f"sources: {', '.join(map(str, source_names)) or '(none)'}")
        columns = entry["columns"]
        if not isinstance(columns, dict):
            raise ConfigError(f"{at}.columns must be a mapping such as {{customer_id: member_no, phone: phone}}")
        unknown = [k for k in columns if k not in IDENTITY_COLUMNS]
        if unknown:
            raise ConfigError(f"{at}.columns: unknown key '{unknown[0]}'; allowed there: {', '.join(IDENTITY_COLUMNS)}")
        if not isinstance(columns.get("customer_id"), str) or not columns["customer_id"]:
            raise ConfigError(f"{at}.columns.customer_id: name the column that holds the member id")
        keys: dict[str, list[str]] = {}
        for kind in ("phone", "email"):
            value = columns.get(kind)
            if value is None:
                continue
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                raise ConfigError(f"{at}.columns.{kind} must be a column name or a list of column names")
            keys[kind] = list(names)
        if not keys:
            raise ConfigError(f"{at}.columns: needs phone and/or email (the keys members are matched on)")
        entries.append({
            "path": str(entry["path"]), "source": source,
            "columns": {"customer_id": columns["customer_id"], **keys},
            "sheet": entry.get("sheet"), "encoding": entry.get("encoding") or "auto",
            "delimiter": entry.get("delimiter"),
        })
    return entries


# ----------------------------------------------------------------------------- reading
@dataclass
class MemberLists:
    """Hashed member keys read from the member lists (no raw phone or e-mail anywhere).

    ``keys``: one row per member id and key (``source``, ``source_customer_id``,
    ``key_kind``, ``key_hash``); a member listed without a valid key has one row with a
    missing ``key_kind``/``key_hash``. ``files``: per list, rows read, member ids, valid
    and invalid keys (counts only).
    """

    keys: pd.DataFrame
    files: pd.DataFrame


def hash_member_keys(
    members: pd.DataFrame, source: str, key: bytes, *, customer_id: str = "customer_id",
    phone: list[str] | None = None, email: list[str] | None = None,
    default_country: str | None = DEFAULT_COUNTRY,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One member list (raw columns) -> hashed keys frame (:data:`MEMBER_KEY_COLUMNS`) and counts.

    The raw key columns are normalised and hashed here and go no further.
    """
    ids = normalise_member_id(members[customer_id])
    counts = {"rows": int(len(members)), "rows_without_id": int(ids.isna().sum()),
              "member_ids": int(ids.nunique())}
    parts = [pd.DataFrame({"source_customer_id": ids, "key_kind": pd.NA, "key_hash": pd.NA})]
    for kind, cols, normalise in (("phone", phone or [], lambda s: normalise_phone(s, default_country)),
                                  ("email", email or [], normalise_email)):
        valid = invalid = 0
        for col in cols:
            raw = members[col]
            present = raw.notna() & (_text(raw).str.strip() != "")
            normal = normalise(raw)
            valid += int(normal.notna().sum())
            invalid += int((present & normal.isna()).sum())
            parts.append(pd.DataFrame({"source_customer_id": ids, "key_kind": kind,
                                       "key_hash": privacy.hash_match_key(normal, key)}))
        counts[f"{kind}s"], counts[f"{kind}s_invalid"] = valid, invalid
    keys = pd.concat(parts, ignore_index=True)
    keys = keys.loc[keys["source_customer_id"].notna()]
    has_key = keys["key_hash"].notna()
    keyed_ids = set(keys.loc[has_key, "source_customer_id"])
    keys = keys.loc[has_key | ~keys["source_customer_id"].isin(keyed_ids)]
    keys = keys.assign(source=source)[MEMBER_KEY_COLUMNS].drop_duplicates()
    keys = keys.astype({c: "str" for c in MEMBER_KEY_COLUMNS}).reset_index(drop=True)
    counts["member_ids_without_key"] = int(keys["key_hash"].isna().sum())
    return keys, counts


def _closest(name: str, header: list[str]) -> str:
    close = difflib.get_close_matches(name, header, n=3, cutoff=0.5)
    return f"closest names in the file: {', '.join(close)}" if close else f"columns in the file: {', '.join(header)}"


def _read_table(path: Path, entry: dict[str, Any], wanted: list[str], at: str) -> pd.DataFrame:
    from crmlib import io as crm_io  # late import: io is heavy and being reworked

    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
        try:
            sheets = pd.read_excel(path, sheet_name=entry.get("sheet"), dtype=object)
        except Exception as exc:
            raise DataError(f"cannot read the Excel member list ({type(exc).__name__}: {exc})", file=path,
                            hint=f"{at}.sheet names the sheet to read") from None
        if isinstance(sheets, pd.DataFrame):
            sheets = {entry.get("sheet"): sheets}
        frames = []
        for name, frame in sheets.items():
            frame.columns = [str(c).strip() for c in frame.columns]
            if frame.dropna(how="all").empty:
                continue
            missing = [c for c in wanted if c not in frame.columns]
            if missing:
                raise DataError(f"column '{missing[0]}' ({at}.columns) is not on sheet {name!r}",
                                file=path, column=missing[0], hint=_closest(missing[0], list(frame.columns)))
            frames.append(frame[wanted])
        if not frames:
            raise DataError("the member list has no data rows", file=path)
        return pd.concat(frames, ignore_index=True)
    if suffixes and suffixes[-1] == ".parquet":
        frame = pd.read_parquet(path)
        frame.columns = [str(c) for c in frame.columns]
    else:
        opener = gzip.open if suffixes and suffixes[-1] == ".gz" else open
        try:
            with opener(path, "rb") as fh:
                sample = fh.read(64 * 1024)
        except (OSError, EOFError) as exc:
            raise DataError(f"cannot open the member list ({exc})", file=path) from None
        encoding = entry["encoding"]
        if encoding in (None, "auto"):
            encoding = crm_io.detect_encoding(sample, file=path)
        delimiter = entry.get("delimiter") or crm_io.sniff_delimiter(sample.decode(encoding, errors="replace"))
        try:
            frame = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False,
                                na_values=[""])
        except (UnicodeDecodeError, pd.errors.ParserError, LookupError, ValueError) as exc:
            raise DataError(f"cannot read the member list ({type(exc).__name__})", file=path,
                            hint=f"set {at}.encoding or {at}.delimiter") from None
        frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"column '{missing[0]}' ({at}.columns) is not in the file", file=path,
                        column=missing[0], hint=_closest(missing[0], list(frame.columns)))
    return frame[wanted]


def read_member_lists(specs: Any, root: str | Path, key: bytes | None = None) -> MemberLists:
    """Read the member lists of ``identity:`` (CSV, CSV.GZ, XLSX, Parquet) as hashed keys.

    ``specs`` is the raw ``identity:`` setting or the output of
    :func:`parse_identity_config`; relative paths are taken from ``root`` (the folder of
    ``workbook.yml``). ``key`` defaults to the project's pseudonym key
    (:func:`crmlib.core.privacy.load_key`). Only the member-id and key columns are kept,
    and the keys only as hashes; no raw key is ever put in a message.
    """
    entries = parse_identity_config(specs)  # idempotent: parsed entries pass unchanged
    root = Path(root)
    key = privacy.load_key(root) if key is None else key
    frames, files = [], []
    for i, entry in enumerate(entries):
        at = f"identity[{i}]"
        path = Path(entry["path"])
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise DataError("member list not found", file=path, hint=f"check {at}.path in workbook.yml")
        cols = entry["columns"]
        phone, email = cols.get("phone", []), cols.get("email", [])
        wanted = list(dict.fromkeys([cols["customer_id"], *phone, *email]))
        raw = _read_table(path, entry, wanted, at)
        keys, counts = hash_member_keys(raw, entry["source"], key, customer_id=cols["customer_id"],
                                        phone=phone, email=email)
        del raw
        frames.append(keys)
        files.append({"source": entry["source"], "file": path.name, **counts})
    keys = (pd.concat(frames, ignore_index=True).drop_duplicates().reset_index(drop=True) if frames
            else pd.DataFrame({c: pd.Series(dtype="str") for c in MEMBER_KEY_COLUMNS}))
    return MemberLists(keys=keys, files=pd.DataFrame(files))


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
    """The integration quality in two plain sentences for the cleaning page."""
    ids = view["matched_ids"] + view["unmatched_ids"]
    rate = view["matched_ids"] / ids if ids else 0.0
    share = view["multi_source_customers"] / view["customers"] if view["customers"] else 0.0
    return (f"{view['matched_ids']:,} of {ids:,} member ids in the sales data ({rate:.0%}) were found in a "
            f"member list; together they are **{view['customers']:,} customers**, of whom "
            f"{view['multi_source_customers']:,} ({share:.0%}) buy in two or more units. "
            f"{view['conflicts']:,} matching conflict{'s' if view['conflicts'] != 1 else ''} "
            "(shared shop phones, members linked to two people) were set aside by the stated rules.")


__all__ = [
    "CONFLICT_RULES", "DEFAULT_COUNTRY", "IdentityResult", "KEY_PRIORITY", "MAX_IDS_PER_KEY", "MemberLists",
    "apply_identities", "customer_view", "customer_view_markdown", "hash_member_keys", "normalise_email",
    "normalise_member_id", "normalise_phone", "parse_identity_config", "read_member_lists",
    "resolve_identities",
]
