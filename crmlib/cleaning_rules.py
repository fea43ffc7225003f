"""The cleaning engine's rules, settings and result, used by both ways of running them:
:func:`crmlib.cleaning.clean_sources` (the whole log in one frame) and
:func:`crmlib.cleaning_chunks.clean_sources_chunked` (part by part). What the rules do and
how to configure them is described in :mod:`crmlib.cleaning`; import from there.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from crmlib import io as crm_io
from crmlib import io_dates
from crmlib import parsing, schema
from crmlib.core.i18n import N_
from crmlib.errors import ConfigError

#: Postage, carriage, fees, manual adjustments and samples in the UCI Online Retail
#: data; extend in workbook.yml for other shops.
NON_PRODUCT_CODES = [
    "POST", "DOT", "C2", "M", "BANK CHARGES", "AMAZONFEE", "CRUK", "D", "S", "B", "PADS",
    "ADJUST", "ADJUST2", "TEST001", "TEST002",
]

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "invalid_values": {"max_share": 0.01},
    "date_window": {"enabled": True, "earliest": io_dates.EARLIEST_PLAUSIBLE_DATE, "latest": None},
    "normalise": {"enabled": True, "upper_ids": True},
    "duplicates": {"enabled": True},
    "non_product": {"enabled": True, "codes": NON_PRODUCT_CODES, "non_positive_price": True},
    "returns": {"enabled": True, "mode": "net", "cancel_prefix": "C"},
    "missing_customer": {"keep": True},
    "outliers": {"enabled": True, "action": "flag", "max_robust_z": 3.5, "max_price_ratio": 5.0},
}

#: Quarantine reasons in rule order (index + 1 is the code used internally; 0 = kept).
REASONS = [
    "invalid_value", "implausible_date", "after_as_of", "duplicate", "non_product", "non_positive_price",
    "return", "fully_returned", "non_positive_quantity", "missing_customer", "outlier",
]
_CODE = {r: i + 1 for i, r in enumerate(REASONS)}

#: Plain-language description of each reason, for the notebook and the report.
REASON_TEXT = {
    "invalid_value": N_("date, number or id could not be read"),
    "implausible_date": N_("dated before the plausible window (cleaning.date_window) or after the day of the run"),
    "after_as_of": N_("dated after the analysis date"),
    "duplicate": N_("exact repeat of another line"),
    "non_product": N_("postage, fees or manual adjustments (not a product)"),
    "non_positive_price": N_("zero or negative price"),
    "return": N_("return or cancellation line"),
    "fully_returned": N_("purchase returned in full later"),
    "non_positive_quantity": N_("zero or negative quantity"),
    "missing_customer": N_("no customer id"),
    "outlier": N_("extreme quantity or price"),
}

#: The working column holding each line's source name as a code (the name's text is not repeated 10M times).
_SOURCE_CODE = "_source_code"
_DEDUP_COLUMNS = [schema.CUSTOMER_ID, schema.INVOICE_ID, schema.INVOICE_DATE, schema.PRODUCT_ID,
                  schema.PRODUCT_NAME, schema.QUANTITY, schema.UNIT_PRICE, schema.COUNTRY, _SOURCE_CODE]


# ----------------------------------------------------------------------------- rule config
def resolve_rules(rules: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The ``cleaning:`` mapping merged over :data:`DEFAULT_RULES`, checked.

    ``rule: true/false`` is short for ``rule: {enabled: true/false}``. Unknown rules or
    parameters raise :class:`ConfigError` naming the key and the keys allowed there.
    """
    resolved = copy.deepcopy(DEFAULT_RULES)
    for rule, value in (rules or {}).items():
        if rule not in DEFAULT_RULES:
            raise ConfigError(f"cleaning: unknown key '{rule}'; allowed there: {', '.join(DEFAULT_RULES)}")
        if isinstance(value, bool):
            if "enabled" not in DEFAULT_RULES[rule]:
                raise ConfigError(f"cleaning.{rule} cannot be switched off; allowed keys: "
                                  f"{', '.join(DEFAULT_RULES[rule])}")
            value = {"enabled": value}
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"cleaning.{rule} must be true/false or a mapping of "
                              f"{', '.join(DEFAULT_RULES[rule])}")
        for key in value:
            if key not in DEFAULT_RULES[rule]:
                raise ConfigError(f"cleaning.{rule}: unknown key '{key}'; allowed there: "
                                  f"{', '.join(DEFAULT_RULES[rule])}")
        resolved[rule].update(value)
    share = resolved["invalid_values"]["max_share"]
    if not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ConfigError(f"cleaning.invalid_values.max_share must be between 0 and 1, got {share!r}")
    if resolved["returns"]["mode"] not in ("net", "quarantine"):
        raise ConfigError(f"cleaning.returns.mode must be net or quarantine, got {resolved['returns']['mode']!r}")
    if resolved["outliers"]["action"] not in ("flag", "cap", "quarantine"):
        raise ConfigError(f"cleaning.outliers.action must be flag, cap or quarantine, "
                          f"got {resolved['outliers']['action']!r}")
    for key, lowest in (("max_robust_z", 0), ("max_price_ratio", 1)):
        value = resolved["outliers"][key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= lowest:
            raise ConfigError(f"cleaning.outliers.{key} must be a number above {lowest}, got {value!r}")
    window = resolved["date_window"]
    for key in ("earliest", "latest"):
        if window[key] is not None:
            window[key] = _window_day(window[key], f"cleaning.date_window.{key}")
    if window["earliest"] and window["latest"] and window["earliest"] > window["latest"]:
        raise ConfigError(f"cleaning.date_window: earliest {window['earliest']} comes after latest {window['latest']}")
    codes = resolved["non_product"]["codes"]
    if not isinstance(codes, list):
        raise ConfigError("cleaning.non_product.codes must be a list of product codes")
    resolved["non_product"]["codes"] = [str(c) for c in codes]
    return resolved


def _window_day(value: Any, key: str) -> str:
    """A ``date_window`` bound as ``YYYY-MM-DD`` (YAML gives dates or strings)."""
    try:
        if isinstance(value, bool) or isinstance(value, (int, float)):
            raise ValueError
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise ConfigError(f"{key} must be a date like 1990-01-01 (or null), got {value!r}") from None


def date_window(rules: dict[str, Any] | None = None, *, today: pd.Timestamp | None = None
                ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``(earliest, end)`` of plausible invoice dates: a date is plausible when
    ``earliest <= date < end``; ``end`` is the day after ``latest`` (default: the day after
    ``today``, the day of the run: an export holds no sales from the future). ``None`` =
    no bound (the rule switched off). ``rules`` is the ``cleaning:`` mapping (or resolved rules).
    """
    window = resolve_rules(rules)["date_window"]
    if not window.get("enabled", True):
        return None, None
    earliest = pd.Timestamp(window["earliest"]) if window.get("earliest") else None
    latest = pd.Timestamp(window["latest"]) if window.get("latest") else (today or pd.Timestamp.today())
    return earliest, latest.normalize() + pd.Timedelta(days=1)



# ----------------------------------------------------------------------------- result
@dataclass
class CleaningResult:
    """Output of :func:`clean_sources`: clean lines, quarantined rows, audit trail."""

    transactions: pd.DataFrame
    quarantine: pd.DataFrame
    audit: dict[str, Any]

    def read_transactions(self, columns: list[str] | tuple[str, ...] | None = None, *,
                          outliers_only: bool = False, categories: tuple[str, ...] = ()) -> pd.DataFrame:
        """The clean lines, only ``columns`` (all when ``None``; asked-for columns the log
        does not have are left out), only the flagged outliers when ``outliers_only``, the
        text columns ``categories`` as pandas categoricals. A page that needs a few columns
        of a large log asks for them: a result cleaned in parts reads them from disk
        (:class:`crmlib.cleaning_chunks.StoredCleaningResult`)."""
        frame = self.transactions
        if outliers_only:
            frame = frame.loc[frame[schema.IS_OUTLIER].to_numpy(dtype=bool)]
        frame = frame if columns is None else frame[[c for c in frame.columns if c in set(columns)]]
        coded = [c for c in categories if c in frame.columns]
        return frame.astype({c: "category" for c in coded}) if coded else frame

    def write(self, artifacts_dir: str | Path) -> dict[str, Path]:
        """Write ``transactions.parquet``, ``quarantine.parquet`` and ``cleaning_audit.json``.

        Each file is written to a temporary name first and then moved into place, so a
        reader never sees a half-written artifact. The transactions go through
        :func:`crmlib.core.engine.write_transactions`: one file, or above
        ``engine.PARTITION_ROWS`` lines a folder partitioned by month (times in
        microseconds, which Spark reads too). The audit is written last: its presence
        marks a complete set.
        """
        from crmlib.core import engine

        folder = Path(artifacts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "transactions": folder / "transactions.parquet",
            "quarantine": folder / "quarantine.parquet",
            "audit": folder / "cleaning_audit.json",
        }
        engine.write_transactions(self.transactions, paths["transactions"], partition_rows=engine.PARTITION_ROWS)
        tmp = paths["quarantine"].with_suffix(".tmp.parquet")
        self.quarantine.to_parquet(tmp, index=False)
        tmp.replace(paths["quarantine"])
        tmp = paths["audit"].with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.audit, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(paths["audit"])
        return paths


# ----------------------------------------------------------------------------- the rules
def _normalise(data: pd.DataFrame, upper_ids: bool) -> None:
    """Trim spaces of names (empty -> missing); upper-case invoice and product ids.

    Ids are already trimmed when read (:func:`crmlib.parsing.as_id`).
    """
    for col in schema.TEXT_COLUMNS:
        if col not in data:
            continue
        if col in schema.ID_COLUMNS:
            if upper_ids and col != schema.CUSTOMER_ID and parsing.may_have_lowercase(data[col]):
                data[col] = data[col].str.upper()
            continue
        data[col] = parsing.strip_text_empty_missing(parsing.as_text(data[col]))


def _exact_duplicates(data: pd.DataFrame, positions: np.ndarray, codes: dict[str, np.ndarray]) -> np.ndarray:
    """Positions (among ``positions``) of lines repeating an earlier line in every field.

    Only lines sharing their (invoice, product) pair with another line can be repeats;
    those few are then compared on every field, so the result is exact.
    """
    cols = [c for c in _DEDUP_COLUMNS if c in data]
    pair = codes["invoice"][positions].astype(np.int64) * (int(codes["product"].max()) + 2) + codes["product"][positions]
    # pairs seen more than once, found by sorting (codes follow the file order, so the
    # stable sort meets long sorted runs and is several times faster than hashing)
    order = np.argsort(pair, kind="stable")
    repeat = pair[order]
    repeat = repeat[1:] == repeat[:-1]
    shared_sorted = np.zeros(len(positions), dtype=bool)
    shared_sorted[1:] = repeat
    shared_sorted[:-1] |= repeat
    shared = np.empty_like(shared_sorted)
    shared[order] = shared_sorted
    candidates = positions[shared]
    dup = data[cols].take(candidates).duplicated(keep="first").to_numpy()
    return candidates[dup]


def _net_returns(data: pd.DataFrame, reason: np.ndarray, is_return: np.ndarray,
                 codes: dict[str, np.ndarray]) -> dict[str, Any]:
    """Net return quantities against earlier purchases of the same customer and product.

    Assumptions:
    1. A return refers to a purchase of the same customer and product dated on or
       before the customer's last return of that product.
    2. Returned units are taken from the latest such purchases first.
    3. Returns cannot be matched without a customer id, or when the purchase happened
       before the data starts; those units are counted as unmatched.
    4. The returned value is the purchase's own unit price times the returned units.
    Return lines themselves are quarantined (reason ``return``); purchases returned in
    full are quarantined (``fully_returned``); partly returned purchases keep the units
    not returned.
    """
    qty = data[schema.QUANTITY].to_numpy()
    customer, product = codes["customer"], codes["product"]  # -1 = missing
    key = customer.astype(np.int64) * (int(product.max()) + 2) + product  # one integer per (customer, product)
    dates = data[schema.INVOICE_DATE].to_numpy()
    anonymous = is_return & (customer < 0)
    stats = {"return_lines": int(is_return.sum()), "quantity_returned": float(np.abs(qty[is_return]).sum()),
             "anonymous_return_lines": int(anonymous.sum()),
             "anonymous_return_value": float(np.abs(qty[anonymous] * data[schema.UNIT_PRICE].to_numpy()[anonymous]).sum())}
    ret_pos = np.flatnonzero(is_return & (customer >= 0))
    returned = (pd.DataFrame({"key": key[ret_pos], "returned": np.abs(qty[ret_pos]), "last_return": dates[ret_pos]})
                .groupby("key", sort=False).agg(returned=("returned", "sum"), last_return=("last_return", "max")))
    buy_pos = np.flatnonzero((reason == 0) & ~is_return & (qty > 0) & (customer >= 0))
    buy_pos = buy_pos[returned.index.get_indexer(key[buy_pos]) >= 0]  # hash look-up, no sort
    buys = pd.DataFrame({"pos": buy_pos, "key": key[buy_pos], "date": dates[buy_pos], "qty": qty[buy_pos]})
    buys = buys.join(returned, on="key")
    buys = buys.loc[buys["date"] <= buys["last_return"]]
    buys = buys.sort_values(["key", "date", "pos"], ascending=[True, False, False])
    taken_before = buys.groupby("key", sort=False)["qty"].cumsum() - buys["qty"]
    reduce = np.clip(buys["returned"] - taken_before, 0, buys["qty"]).to_numpy()
    pos = buys["pos"].to_numpy()
    price = data[schema.UNIT_PRICE].to_numpy()[pos]
    full = reduce >= buys["qty"].to_numpy()
    partial = (reduce > 0) & ~full
    reason[pos[full]] = _CODE["fully_returned"]
    new_qty = qty.copy()
    new_qty[pos[partial]] = qty[pos[partial]] - reduce[partial]
    data[schema.QUANTITY] = new_qty
    netted = float(reduce.sum())
    stats.update(
        quantity_netted=netted,
        quantity_unmatched=max(stats["quantity_returned"] - netted, 0.0),
        purchase_lines_fully_returned=int(full.sum()),
        purchase_lines_reduced=int(partial.sum()),
        revenue_netted_from_kept_lines=float((reduce[partial] * price[partial]).sum()),
    )
    return stats


def _outliers(data: pd.DataFrame, alive: np.ndarray, product: np.ndarray, max_z: float,
              max_price_ratio: float, *, quantity_centre: tuple[float, float] | None = None,
              usual_price: pd.Series | None = None) -> tuple[np.ndarray, dict[str, Any], pd.Series]:
    """Flag lines with an extreme quantity, or a price far from the product's usual price.

    Assumptions:
    1. Line quantities are roughly log-normal, so their distance from the typical line is
       measured on log values with the median and the median absolute deviation (x 1.4826),
       which a few extreme lines cannot move (robust z-score, Iglewicz & Hoaglin 1993).
       A quantity is extreme when its robust z-score exceeds ``max_z`` in absolute value.
    2. A product has one usual price, its median unit price over the lines kept; a line
       priced more than ``max_price_ratio`` times above or below it is extreme (typing
       errors, manual prices). Volume discounts stay well inside that ratio.
    Returns the flags, the quantity bounds and each line's product median price (for caps).

    A log cleaned in parts (:mod:`crmlib.cleaning_chunks`) passes the whole log's figures:
    ``quantity_centre`` = (median, median absolute deviation) of the log quantities and
    ``usual_price`` = each product's median price, indexed by ``product_id``.
    """
    flags = np.zeros(len(data), dtype=bool)
    bounds: dict[str, Any] = {}
    qty = data[schema.QUANTITY].to_numpy()
    if quantity_centre is None:
        logs = np.log(qty[alive])
        if logs.size:
            centre = float(np.median(logs))
            quantity_centre = (centre, float(np.median(np.abs(logs - centre))))
    if quantity_centre is not None:
        centre = quantity_centre[0]
        spread = 1.4826 * quantity_centre[1]
        if spread > 0:
            low, high = float(np.exp(centre - max_z * spread)), float(np.exp(centre + max_z * spread))
            bounds[schema.QUANTITY] = {"low": round(low, 4), "high": round(high, 4)}
            flags |= alive & ((qty < low) | (qty > high))
    price = data[schema.UNIT_PRICE].where(alive)
    if usual_price is None:
        usual = price.groupby(product, sort=False).transform("median")
    else:
        at = usual_price.index.get_indexer(data[schema.PRODUCT_ID])
        found = np.append(usual_price.to_numpy(dtype="float64"), np.nan)  # position -1: not found
        usual = pd.Series(found[at], index=data.index)
    ratio = (price / usual).to_numpy()
    flags |= alive & ((ratio > max_price_ratio) | (ratio < 1 / max_price_ratio))
    bounds[schema.UNIT_PRICE] = {"max_ratio_to_product_median": max_price_ratio}
    return flags, bounds, usual


def apply_outlier_action(data: pd.DataFrame, reason: np.ndarray, is_outlier: np.ndarray, bounds: dict[str, Any],
                         usual_price: pd.Series, params: dict[str, Any]) -> None:
    """What ``outliers.action`` does to the flagged lines, in place: ``quarantine`` sets
    their reason (and clears the flags), ``cap`` clips their quantity to the bounds and
    their price to the product's usual price x/÷ the allowed ratio, ``flag`` leaves them.
    One place for the whole-frame and the part-by-part paths."""
    action = params["outliers"]["action"]
    if action == "quarantine":
        reason[is_outlier] = _CODE["outlier"]
        is_outlier[:] = False
    elif action == "cap":
        if schema.QUANTITY in bounds:
            b = bounds[schema.QUANTITY]
            capped = data[schema.QUANTITY].clip(lower=b["low"], upper=b["high"])
            data[schema.QUANTITY] = data[schema.QUANTITY].mask(is_outlier, capped)
        ratio = float(params["outliers"]["max_price_ratio"])
        capped = data[schema.UNIT_PRICE].clip(lower=usual_price / ratio, upper=usual_price * ratio)
        data[schema.UNIT_PRICE] = data[schema.UNIT_PRICE].mask(is_outlier, capped)


def _spread(per_code: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A boolean found for each distinct value, given to every line holding it
    (lines with code -1, a missing value, get False)."""
    return np.append(per_code.astype(bool), False)[codes]


# ----------------------------------------------------------------------------- main entry
def input_paths(sources: list[dict[str, Any]], identity: list[dict[str, Any]] | None = None) -> list[str]:
    """The files a clean result is built from, resolved: the sources' and the member lists'.

    A clean result whose audit lists other ``source_paths`` is out of date.
    """
    return list(dict.fromkeys(str(Path(s["path"]).resolve()) for s in [*sources, *(identity or [])]))


def _rules_from_as_of(data: pd.DataFrame, reason: np.ndarray, codes: dict[str, np.ndarray],
                      uniques: dict[str, Any], params: dict[str, dict[str, Any]],
                      as_of: pd.Timestamp) -> tuple[dict[str, Any], np.ndarray]:
    """The rules from ``after_as_of`` to ``missing_customer`` on ``data`` (normalised, with
    the id codes of :func:`_id_codes`), in place on ``reason`` (and ``quantity``, netted).
    Returns the returns' statistics and which lines have no customer id. Every rule here
    looks at one line, or at lines of the same customer (returns) or the same invoice
    (duplicates), so a log split by customer gives the same result part by part."""
    ids_upper = params["normalise"]["enabled"] and params["normalise"]["upper_ids"]
    reason[(reason == 0) & (data[schema.INVOICE_DATE] >= as_of + pd.Timedelta(days=1)).to_numpy()] = _CODE["after_as_of"]

    if params["duplicates"]["enabled"]:
        alive_pos = np.flatnonzero(reason == 0)
        reason[_exact_duplicates(data, alive_pos, codes)] = _CODE["duplicate"]

    if params["non_product"]["enabled"]:
        listed = {c.upper() for c in params["non_product"]["codes"]}
        # tested on the distinct codes, then spread to the lines (code -1 = missing id: no match)
        products = pd.Series(uniques["product"]) if ids_upper else pd.Series(uniques["product"]).str.upper()
        is_code = _spread(products.isin(listed).to_numpy(), codes["product"])
        reason[(reason == 0) & is_code] = _CODE["non_product"]
        if params["non_product"]["non_positive_price"]:
            reason[(reason == 0) & (data[schema.UNIT_PRICE] <= 0).to_numpy()] = _CODE["non_positive_price"]

    returns_stats: dict[str, Any] = {"mode": params["returns"]["mode"] if params["returns"]["enabled"] else "off"}
    if params["returns"]["enabled"]:
        prefix = str(params["returns"]["cancel_prefix"] or "")
        is_return = (data[schema.QUANTITY] < 0).to_numpy()
        if prefix:
            invoices = pd.Series(uniques["invoice"])
            invoices = invoices if ids_upper else invoices.str.upper()
            # "C536379" is a cancellation, "CD00001" or "CUST-9" is not: the prefix must precede a digit
            marked = _spread(invoices.str.match(re.escape(prefix.upper()) + r"\d").fillna(False)
                             .to_numpy(dtype=bool), codes["invoice"])
            is_return = is_return | marked
        is_return = is_return & (reason == 0)
        if params["returns"]["mode"] == "net" and is_return.any():
            returns_stats.update(_net_returns(data, reason, is_return, codes))
        else:
            returns_stats["return_lines"] = int(is_return.sum())
        reason[is_return] = _CODE["return"]

    reason[(reason == 0) & (data[schema.QUANTITY] <= 0).to_numpy()] = _CODE["non_positive_quantity"]
    anonymous = data[schema.CUSTOMER_ID].isna().to_numpy()
    if not params["missing_customer"]["keep"]:
        reason[(reason == 0) & anonymous] = _CODE["missing_customer"]
    return returns_stats, anonymous


def _id_codes(data: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Integer codes of the invoice, product and customer ids (-1 = missing) and the
    distinct ids, shared by the rules (factorising text is the costly part)."""
    codes, uniques = {}, {}
    for name, col in (("invoice", schema.INVOICE_ID), ("product", schema.PRODUCT_ID), ("customer", schema.CUSTOMER_ID)):
        code, uniques[name] = pd.factorize(data[col])
        codes[name] = code.astype(np.int32)  # half the memory of intp; 2**31 distinct ids is plenty
    return codes, uniques


def _transactions(data: pd.DataFrame, kept: np.ndarray, is_outlier: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Move the kept lines out of ``data`` column by column (each working column is
    released as soon as it is copied, which keeps the peak memory down); ``names`` are the
    sources' names, by their code in ``data``."""
    pos = np.flatnonzero(kept)
    index = pd.RangeIndex(len(pos))
    out: dict[str, Any] = {}
    for col in schema.TRANSACTION_COLUMNS:
        dtype = schema.TRANSACTION_DTYPES[col]
        if col == schema.AMOUNT:
            out[col] = out[schema.QUANTITY] * out[schema.UNIT_PRICE]
        elif col == schema.IS_OUTLIER:
            out[col] = pd.Series(is_outlier[pos], index=index)
        elif col == schema.SOURCE:
            named = pa.DictionaryArray.from_arrays(pa.array(data.pop(_SOURCE_CODE).to_numpy()[pos]), pa.array(names))
            out[col] = pd.Series(pd.arrays.ArrowStringArray(named.cast(pa.large_string())), index=index).astype(dtype)
        elif col in data:
            out[col] = pd.Series(data.pop(col).array[kept], index=index).astype(dtype)
        elif col in (schema.PRODUCT_NAME, schema.COUNTRY):
            out[col] = pd.Series(pd.NA, index=index, dtype="str")
    return pd.DataFrame(out, index=index)


def _quarantined_rows(original: pd.DataFrame, raw: crm_io.RawSource, rows: np.ndarray, reason: np.ndarray, *,
                      many: bool, with_sheets: bool) -> pd.DataFrame:
    """One part's set-aside rows as read (``original``), with where they come from and why."""
    original = original.reset_index(drop=True)
    original = original.rename(columns={c: f"{c}_original" for c in original.columns
                                        if c in ("source", "source_sheet", "source_row", "reason")})
    if many:  # the same column name may hold different types in different files
        original = original.astype("str").where(original.notna())
    original["source"] = raw.name
    if with_sheets:
        original["source_sheet"] = raw.sheet
    original["source_row"] = rows
    original["reason"] = np.array(REASONS, dtype=object)[reason - 1]
    return original


def _quarantine_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return out.astype({c: "str" for c in ("source", "source_sheet", "reason") if c in out})
