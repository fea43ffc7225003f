"""Pseudonymisation: one keyed hash, one persistent key, for every page and artifact.

Customer ids that are personal data (a member's phone number used as card number, an
e-mail address used as login) must not reach a page or a shared download. They are
replaced by a *pseudonym*: ``prefix + the first 12 hex characters of
HMAC-SHA256(key, purpose || value)``. The same value gives the same pseudonym in every
run and every back-filled period, because the key is created once and kept:

    <root>/data/processed/.pseudonym_key     32 random bytes, mode 0600, git-ignored

Losing the key changes every pseudonym (and every unified customer id of
:mod:`crmlib.core.identity`); deleting it is the way to rotate them. The mapping from a
personal id to its pseudonym is returned separately, for the analyst's artifacts only.

Match keys of identity resolution (normalised phone numbers and e-mail addresses) are
hashed with the same key but another *purpose* (:func:`hash_match_key`), so a hashed
phone number can never be compared with a pseudonymised customer id.

Assumptions: values are compared as text after ``str()`` (``17850`` and ``"17850"`` are
the same id); missing values stay missing.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from crmlib.errors import ConfigError

#: Where the one persistent key lives, relative to the project root (``data/processed/*``
#: is git-ignored).
KEY_RELATIVE_PATH = Path("data") / "processed" / ".pseudonym_key"
#: Key length in bytes (256 bits, HMAC-SHA256's block-friendly size).
KEY_BYTES = 32
#: Hex characters of a pseudonym (48 bits). Two different values that collide on these
#: get :data:`PSEUDONYM_HEX_LONG` characters instead (both of them), so pseudonyms stay
#: distinct; at 100,000 ids a collision happens about once in 50,000 runs.
PSEUDONYM_HEX = 12
PSEUDONYM_HEX_LONG = 24
#: Hex characters of a hashed match key (128 bits: never shown, so no need to be short).
MATCH_KEY_HEX = 32

#: Purposes keep the hashes of different kinds of value apart (domain separation).
PURPOSE_ID = b"crm-workbook/id\x00"
PURPOSE_MATCH = b"crm-workbook/match-key\x00"

IdsArePersonal = bool | Literal["auto"]

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s.]+"
_SEPARATORS = r"[\s\-./()]"


# ----------------------------------------------------------------------------- the key
def key_path(root: str | Path) -> Path:
    """Path of the pseudonym key of the project at ``root``."""
    return Path(root) / KEY_RELATIVE_PATH


def load_key(root: str | Path) -> bytes:
    """The project's pseudonym key: read it, or create it once (32 random bytes, mode 0600).

    Creation is atomic (written to a private temporary file, then hard-linked into place),
    so two runs starting at once end up with the same key. Raises :class:`ConfigError`
    when the file exists but is not a key (e.g. truncated), rather than silently making a
    new one that would change every pseudonym.
    """
    path = key_path(root)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
            try:
                os.link(tmp, path)  # fails if another run created the key first: use theirs
            except FileExistsError:
                pass
            except OSError:  # file systems without hard links
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{path}: the pseudonym key must be {KEY_BYTES} bytes, found {len(key)}; restore it from a "
            "backup, or delete it to start new pseudonyms (every pseudonym and unified customer id changes)"
        )
    return key


# ----------------------------------------------------------------------------- hashing
def _text(values: pd.Series | list | np.ndarray) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="object")
    return series.astype("str").where(series.notna())


def _hex_digests(uniques: np.ndarray, key: bytes, purpose: bytes, chars: int) -> np.ndarray:
    return np.array(
        [hmac.new(key, purpose + str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:chars] for v in uniques],
        dtype=object,
    )


def _hash_series(values: pd.Series, key: bytes, purpose: bytes, chars: int, prefix: str,
                 long_chars: int | None = None) -> pd.Series:
    """Keyed hash of each non-missing value, computed once per distinct value."""
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("key must be at least 16 bytes (use load_key)")
    text = _text(values)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    digests = _hex_digests(uniques, key, purpose, chars)
    if long_chars is not None and len(digests):
        clash = pd.Series(digests).duplicated(keep=False).to_numpy()
        if clash.any():  # distinct values with one short pseudonym: give both the long form
            digests[clash] = _hex_digests(uniques[clash], key, purpose, long_chars)
    labels = np.array([prefix + d for d in digests] + [None], dtype=object)
    out = pd.Series(labels[codes], index=text.index, dtype="str", name=text.name)
    return out


def pseudonymise(values: pd.Series | list, key: bytes, prefix: str = "C") -> pd.Series:
    """Stable short pseudonyms: ``prefix`` + 12 hex characters of HMAC-SHA256 per value.

    Same value and key -> same pseudonym, in any run, any order, any subset of values.
    Missing values stay missing. Vectorised over distinct values (one HMAC per id).
    """
    return _hash_series(_text(values), key, PURPOSE_ID, PSEUDONYM_HEX, prefix, PSEUDONYM_HEX_LONG)


def hash_match_key(normalised_key: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (32 hex characters) of normalised match keys (phone numbers, e-mails).

    Only equality of the hashes is used; the raw key cannot be recovered without the key
    file. Missing keys stay missing.
    """
    return _hash_series(_text(normalised_key), key, PURPOSE_MATCH, MATCH_KEY_HEX, "")


# ----------------------------------------------------------------------------- personal ids
def looks_personal(values: pd.Series | list) -> pd.Series:
    """``True`` where an id looks like a phone number or an e-mail address.

    Phone-like: a Korean mobile number (``010``/``011``/``016``-``019`` + 7-8 digits,
    with or without separators), an international number (``+`` and 8-15 digits), or
    9-15 digits written with separators (spaces, ``-``, ``.``, ``/``, brackets) such as
    ``(02) 123-4567``. Plain digit strings that are not Korean mobiles (``17850``,
    ``100234567``) are taken as member numbers, not personal.
    """
    text = _text(values)
    stripped = text.str.strip()
    email = stripped.str.fullmatch(_EMAIL)
    digits = stripped.str.replace(r"\D", "", regex=True)
    n_digits = digits.str.len()
    phone_chars = stripped.str.fullmatch(r"\+?[\d\s\-./()]+")
    has_separator = stripped.str.contains(_SEPARATORS, regex=True)
    mobile = digits.str.fullmatch(r"01[016789]\d{7,8}") | digits.str.fullmatch(r"821[016789]\d{7,8}")
    international = stripped.str.startswith("+") & n_digits.between(8, 15)
    grouped = has_separator & n_digits.between(9, 15)
    phone = phone_chars & (mobile | international | grouped)
    return (email | phone).fillna(False).astype(bool)


def pseudonymise_personal_ids(
    frame: pd.DataFrame,
    columns: list[str] | tuple[str, ...],
    key: bytes,
    ids_are_personal: IdsArePersonal = "auto",
    prefix: str = "C",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace personal ids in ``columns`` by pseudonyms, for pages and shared downloads.

    ``ids_are_personal``: ``True`` pseudonymises every id, ``False`` none, ``"auto"`` only
    the ids that :func:`looks_personal`. Returns ``(frame, mapping)``: a copy of ``frame``
    with the ids replaced, and ``mapping`` (``id``, ``pseudonym``, one row per id
    replaced) -- an analyst-only artifact, never for a page.
    """
    if ids_are_personal not in (True, False, "auto"):
        raise ConfigError(f"ids_are_personal must be true, false or auto, got {ids_are_personal!r}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"columns not in the frame: {', '.join(missing)}")
    out = frame.copy()
    mappings = []
    for column in columns:
        ids = _text(out[column])
        if ids_are_personal is True:
            replace = ids.notna().to_numpy()
        elif ids_are_personal is False:
            replace = np.zeros(len(ids), dtype=bool)
        else:
            replace = looks_personal(ids).to_numpy()
        if not replace.any():
            continue
        chosen = ids[replace]
        pseudonyms = pseudonymise(chosen, key, prefix)
        new = ids.astype("object")
        new[replace] = pseudonyms.to_numpy(dtype=object)
        out[column] = pd.Series(new, index=out.index, dtype="str")
        mappings.append(pd.DataFrame({"id": chosen.to_numpy(), "pseudonym": pseudonyms.to_numpy()}))
    mapping = (pd.concat(mappings, ignore_index=True).drop_duplicates("id").sort_values("pseudonym")
               .reset_index(drop=True) if mappings
               else pd.DataFrame({"id": pd.Series(dtype="str"), "pseudonym": pd.Series(dtype="str")}))
    return out, mapping


__all__ = [
    "KEY_RELATIVE_PATH", "hash_match_key", "key_path", "load_key", "looks_personal", "pseudonymise",
    "pseudonymise_personal_ids",
]
