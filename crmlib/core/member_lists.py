"""Member lists: reading them, normalising their match keys and hashing them at once.

The first step of identity resolution (:mod:`crmlib.core.identity`): each member list of
the ``identity:`` setting of ``workbook.yml`` is read (CSV, CSV.GZ, XLSX, Parquet), its
member ids normalised like intake's customer ids, and its phone numbers and e-mail
addresses normalised (:func:`normalise_phone`, :func:`normalise_email`) and replaced at
once by keyed hashes (:func:`crmlib.core.privacy.hash_match_key`). Raw phone numbers and
e-mail addresses never leave :func:`hash_member_keys`: not in a returned frame, an
artifact, a message or a log. :func:`parse_identity_config` checks the setting.
"""
from __future__ import annotations

import difflib
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmlib.core import privacy
from crmlib.errors import ConfigError, DataError
from crmlib.io_text import detect_encoding, sniff_delimiter

#: Country code assumed for numbers written without one (Korean domestic formats).
DEFAULT_COUNTRY = "82"
#: Canonical names allowed under ``identity[].columns``.
IDENTITY_COLUMNS = ("customer_id", "phone", "email")
#: Keys allowed in one ``identity:`` entry.
IDENTITY_KEYS = ("path", "source", "columns", "sheet", "encoding", "delimiter")

#: Columns of the hashed member keys frame (one row per member id and key).
MEMBER_KEY_COLUMNS = ["source", "source_customer_id", "key_kind", "key_hash"]


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
            encoding = detect_encoding(sample, file=path)
        delimiter = entry.get("delimiter") or sniff_delimiter(sample.decode(encoding, errors="replace"))
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


__all__ = [
    "DEFAULT_COUNTRY", "IDENTITY_COLUMNS", "IDENTITY_KEYS", "MEMBER_KEY_COLUMNS", "MemberLists",
    "hash_member_keys", "normalise_email", "normalise_member_id", "normalise_phone", "parse_identity_config",
    "read_member_lists",
]
