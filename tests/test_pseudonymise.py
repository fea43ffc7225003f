"""The core pseudonymisation helper: one persistent key, stable short pseudonyms, personal-id detection."""
from __future__ import annotations

import stat

import pandas as pd
import pytest

from crmlib.core import privacy
from crmlib.errors import ConfigError

IDS = pd.Series(["17850", "010-1234-5678", None, "kim@example.com", "17850", "H87850"])


def test_key_is_created_once_private_and_reused(tmp_path):
    key = privacy.load_key(tmp_path)
    path = tmp_path / "data" / "processed" / ".pseudonym_key"
    assert path.is_file() and len(key) == privacy.KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.load_key(tmp_path) == key
    assert not list(path.parent.glob("*.tmp"))  # no leftovers of the atomic creation


def test_a_damaged_key_is_an_error_not_a_silent_new_key(tmp_path):
    privacy.load_key(tmp_path)
    privacy.key_path(tmp_path).write_bytes(b"short")
    with pytest.raises(ConfigError, match="pseudonym key must be 32 bytes"):
        privacy.load_key(tmp_path)


def test_the_key_file_is_git_ignored():
    from pathlib import Path

    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "data/processed/*" in ignore


def test_pseudonyms_are_short_stable_and_keep_missing(tmp_path):
    key = privacy.load_key(tmp_path)
    first = privacy.pseudonymise(IDS, key)
    assert first.dropna().str.fullmatch(r"C[0-9a-f]{12}").all()
    assert first.isna().tolist() == IDS.isna().tolist()
    assert first.iloc[0] == first.iloc[4]  # same id, same pseudonym
    assert first.dropna().nunique() == IDS.dropna().nunique()
    # across calls, orders, subsets, and a reload of the key from disk
    again = privacy.pseudonymise(IDS.iloc[::-1], privacy.load_key(tmp_path)).iloc[::-1]
    pd.testing.assert_series_equal(first, again)
    assert privacy.pseudonymise(["H87850"], key).iloc[0] == first.iloc[5]
    # another project (another key) gets other pseudonyms
    other = privacy.pseudonymise(IDS, privacy.load_key(tmp_path / "other"))
    assert (other.dropna() != first.dropna()).all()


def test_numbers_and_text_of_one_id_get_one_pseudonym(tmp_path):
    key = privacy.load_key(tmp_path)
    assert privacy.pseudonymise(pd.Series([17850]), key).iloc[0] == privacy.pseudonymise(["17850"], key).iloc[0]


def test_colliding_short_pseudonyms_get_the_long_form(tmp_path, monkeypatch):
    monkeypatch.setattr(privacy, "PSEUDONYM_HEX", 1)  # force collisions: 16 possible short forms
    ids = pd.Series([f"id{i}" for i in range(40)])
    out = privacy.pseudonymise(ids, privacy.load_key(tmp_path))
    assert out.nunique() == 40
    assert set(out.str.len()) <= {2, 1 + privacy.PSEUDONYM_HEX_LONG}


def test_match_key_hashes_are_not_comparable_with_pseudonyms(tmp_path):
    key = privacy.load_key(tmp_path)
    hashed = privacy.hash_match_key(pd.Series(["+821012345678", None]), key)
    assert hashed.iloc[0] and len(hashed.iloc[0]) == privacy.MATCH_KEY_HEX and pd.isna(hashed.iloc[1])
    assert privacy.pseudonymise(["+821012345678"], key, prefix="").iloc[0] not in hashed.iloc[0]


@pytest.mark.parametrize("value, personal", [
    ("010-1234-5678", True), ("01012345678", True), ("+82 10 1234 5678", True), ("82-10-1234-5678", True),
    ("(02) 123-4567", True), ("+44 7700 900123", True), ("010.1234.5678", True),
    ("kim@example.com", True), (" Kim.A@Example.COM ", True),
    ("17850", False), ("100234567", False), ("H87850", False), ("C12345", False), ("2024-01-05", False),
    ("12-34", False), ("", False), (None, False), ("=HYPERLINK(\"x\")", False), ("not@an email", False),
])
def test_looks_personal(value, personal):
    assert bool(privacy.looks_personal(pd.Series([value])).iloc[0]) == personal


def test_personal_ids_are_pseudonymised_for_pages_and_mapped_for_the_analyst(tmp_path):
    key = privacy.load_key(tmp_path)
    frame = pd.DataFrame({"customer_id": IDS, "other_id": ["x@y.com", None, "17850", "A1", "B2", "C3"],
                          "revenue": range(6)})
    auto, mapping = privacy.pseudonymise_personal_ids(frame, ["customer_id", "other_id"], key, "auto")
    assert auto["customer_id"].tolist()[0] == "17850" and auto["customer_id"].iloc[5] == "H87850"
    shown = " ".join(map(str, auto.to_numpy().ravel()))
    for raw in ("010-1234-5678", "kim@example.com", "x@y.com"):
        assert raw not in shown
    assert set(mapping["id"]) == {"010-1234-5678", "kim@example.com", "x@y.com"}
    assert set(mapping["pseudonym"]) <= set(auto["customer_id"]) | set(auto["other_id"])
    assert frame["customer_id"].iloc[1] == "010-1234-5678"  # the input is not changed

    everything, mapping_all = privacy.pseudonymise_personal_ids(frame, ["customer_id"], key, True)
    assert everything["customer_id"].dropna().str.startswith("C").all() and len(mapping_all) == 4
    nothing, mapping_none = privacy.pseudonymise_personal_ids(frame, ["customer_id"], key, False)
    pd.testing.assert_frame_equal(nothing, frame)
    assert mapping_none.empty

    with pytest.raises(ConfigError, match="ids_are_personal"):
        privacy.pseudonymise_personal_ids(frame, ["customer_id"], key, "sometimes")
