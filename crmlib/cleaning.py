"""Cleaning rules, audit trail and quarantine: raw exports in, canonical transactions out.

Every row read ends up in exactly one place: ``transactions.parquet`` (purchase lines,
``quantity > 0`` and ``unit_price > 0``, dated on or before ``as_of``) or
``quarantine.parquet`` (the original row, its ``source``, ``source_row`` -- the 1-based
data row number in its file, header not counted -- and the ``reason``). Every sheet of
an Excel workbook is read (or the configured ``sheet:``); its rows carry the sheet name
in ``source_sheet`` and ``source_row`` counts within the sheet. The audit
(``cleaning_audit.json``) proves ``rows_in == rows_kept + rows_quarantined``, per file
and sheet too; the identity is checked at run time.

Rules run in this order; each row is quarantined by the first rule that rejects it.
Configure them under ``cleaning:`` in ``workbook.yml`` (``rule: false`` switches a
switchable rule off; unknown keys are an error)::

    cleaning:
      invalid_values: {max_share: 0.01}      # unreadable date/number/id: quarantine up to 1 %
                                             # of a column's rows, stop with an error above
      date_window: {enabled: true, earliest: 1990-01-01, latest: null}
                                             # dates before earliest or after latest (null = the
                                             # day of the run) are not plausible sales: quarantined
                                             # ("implausible_date"), never used for the period
      normalise: {enabled: true, upper_ids: true}   # trim spaces; upper-case invoice/product ids
      # after_as_of (always on): rows dated after as_of are quarantined ("after_as_of")
      duplicates: {enabled: true}            # exact repeats of a line in the same source
      non_product: {enabled: true, codes: [POST, DOT, M, ...], non_positive_price: true}
      returns: {enabled: true, mode: net, cancel_prefix: C}   # net | quarantine
      # non_positive_quantity (always on): lines with quantity <= 0 left after the rules above
      missing_customer: {keep: true}         # anonymous lines stay, for revenue KPIs only
      outliers: {enabled: true, action: flag, max_robust_z: 3.5, max_price_ratio: 5.0}
                                             # action: flag | cap | quarantine

After the rules, when ``identity:`` lists member lists (:mod:`crmlib.core.identity`), the
kept lines' ``customer_id`` becomes one id per person across sources (matched on hashed
phone numbers and e-mail addresses) and the unit's own id is kept as
``source_customer_id``; the audit gets ``customer_view`` (integration quality) and
``identity`` (counts per member list, conflicts), and lists the member lists among its
``source_paths``. Without ``identity:`` nothing changes.

Quarantine reasons: ``invalid_value``, ``implausible_date``, ``after_as_of``, ``duplicate``, ``non_product``,
``non_positive_price``, ``return``, ``fully_returned``, ``non_positive_quantity``,
``missing_customer`` (only with ``keep: false``), ``outlier`` (only with
``action: quarantine``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib import io as crm_io
from crmlib import io_dates
from crmlib import schema
from crmlib.core import privacy
from crmlib.core.identity import apply_identities, customer_view, read_member_lists, resolve_identities
from crmlib.core.periods import month_end_as_of
from crmlib.errors import ConfigError, DataError
from crmlib.cleaning_rules import (  # noqa: F401 - the engine's public names live here too
    NON_PRODUCT_CODES,
    DEFAULT_RULES,
    REASONS,
    _CODE,
    REASON_TEXT,
    _SOURCE_CODE,
    _DEDUP_COLUMNS,
    resolve_rules,
    _window_day,
    date_window,
    CleaningResult,
    _normalise,
    _exact_duplicates,
    _net_returns,
    _outliers,
    apply_outlier_action,
    _spread,
    input_paths,
    _rules_from_as_of,
    _id_codes,
    _transactions,
    _quarantined_rows,
    _quarantine_frame,
)


def clean_sources(
    sources: list[dict[str, Any]],
    as_of: pd.Timestamp | None = None,
    rules: dict[str, Any] | None = None,
    *,
    identity: list[dict[str, Any]] | None = None,
    root: str | Path | None = None,
    chunked: bool | None = None,
    workdir: str | Path | None = None,
) -> CleaningResult:
    """Read, validate and clean the configured sources into canonical transactions.

    ``sources`` are source dicts of :mod:`crmlib.core.config`; ``as_of=None`` uses the end of
    the last complete month in the data (:func:`crmlib.core.periods.month_end_as_of`);
    ``rules`` is the ``cleaning:`` mapping of ``workbook.yml`` (see the module docstring).
    ``identity`` is the ``identity:`` setting (member lists, :mod:`crmlib.core.identity`):
    when given, after the rules each kept line's ``customer_id`` becomes the unified
    customer id, the unit's own id is kept as ``source_customer_id``, and the audit gets
    ``customer_view`` and ``identity`` (counts only; no phone or e-mail); ``root`` is the
    project folder whose pseudonym key hashes them (:func:`crmlib.core.privacy.load_key`).
    Raises :class:`DataError` for unusable files and when no row is left.

    ``chunked``: clean in parts with bounded memory (:mod:`crmlib.cleaning_chunks`, same
    result); ``None`` (default) does so when the text sources hold more than
    :data:`crmlib.cleaning_chunks.CHUNKED_ABOVE_LINES` lines (estimated from their sizes).
    ``workdir``: where that path spools its parts (a run's scratch folder, on the disk of
    its artifacts, so the clean log is then moved into place; the system's temporary
    folder by default).
    """
    if chunked is not False and sources:
        from crmlib import cleaning_chunks

        if chunked or cleaning_chunks.estimated_lines(sources) > cleaning_chunks.CHUNKED_ABOVE_LINES:
            try:
                return cleaning_chunks.clean_sources_chunked(sources, as_of, rules, identity=identity, root=root,
                                                             workdir=workdir)
            except cleaning_chunks.NotChunkable:  # a file only the whole-frame path reads right: as before
                pass
    params = resolve_rules(rules)
    if identity and root is None:
        raise ConfigError("identity resolution needs the project folder (root) that holds the pseudonym key")
    if not sources:
        raise ConfigError("no transaction sources: add one under 'sources' in workbook.yml or pass --data")
    crm_io.check_distinct_files(sources)
    raws = [raw for s in sources for raw in crm_io.read_source(s)]  # one per file, or per Excel sheet
    with_sheets = any(raw.sheet is not None for raw in raws)
    # a source's name is one code per line while the rules run (its text is rebuilt for the kept lines)
    names = list(dict.fromkeys(raw.name for raw in raws))
    parts, invalid_parts = [], []
    for i, raw in enumerate(raws):
        frame, invalid = crm_io.parse_source(raw, max_invalid_share=params["invalid_values"]["max_share"])
        del frame[schema.SOURCE]
        frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
        frame["_source_index"] = np.int16(i)
        frame[_SOURCE_CODE] = np.int16(names.index(raw.name))
        if with_sheets:
            frame[schema.SOURCE_SHEET] = pd.Series(raw.sheet, index=frame.index, dtype="str")
        parts.append(frame)
        invalid_parts.append(invalid.to_numpy())
    data = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    data = data.reset_index(drop=True)
    del parts, frame  # ``data`` alone holds the lines: its columns are freed as they are moved out
    n = len(data)
    reason = np.zeros(n, dtype=np.int8)
    reason[np.concatenate(invalid_parts)] = _CODE["invalid_value"]
    line_value = (data[schema.QUANTITY] * data[schema.UNIT_PRICE]).fillna(0.0).to_numpy()

    ids_upper = params["normalise"]["enabled"] and params["normalise"]["upper_ids"]
    if params["normalise"]["enabled"]:
        _normalise(data, params["normalise"]["upper_ids"])

    # integer codes of the ids, shared by the rules below (factorising text is the costly part)
    codes, uniques = _id_codes(data)

    dates = data[schema.INVOICE_DATE]
    window = date_window(params)
    reason[(reason == 0) & io_dates.outside_window(dates, window)] = _CODE["implausible_date"]
    if as_of is None:
        valid_dates = dates[reason == 0]
        if valid_dates.empty:
            raise DataError("no readable invoice dates, so the analysis date cannot be derived",
                            column=schema.INVOICE_DATE)
        as_of = month_end_as_of(valid_dates.max())
        del valid_dates
    as_of = pd.Timestamp(as_of).normalize()
    returns_stats, anonymous = _rules_from_as_of(data, reason, codes, uniques, params, as_of)

    outlier_stats: dict[str, Any] = {"action": params["outliers"]["action"] if params["outliers"]["enabled"] else "off"}
    is_outlier = np.zeros(n, dtype=bool)
    if params["outliers"]["enabled"]:
        is_outlier, bounds, usual_price = _outliers(data, reason == 0, codes["product"],
                                                    float(params["outliers"]["max_robust_z"]),
                                                    float(params["outliers"]["max_price_ratio"]))
        outlier_stats.update(lines=int(is_outlier.sum()), bounds=bounds)
        apply_outlier_action(data, reason, is_outlier, bounds, usual_price, params)

    kept = reason == 0
    if not kept.any():
        counts = pd.Series(reason[reason > 0]).map(lambda c: REASONS[c - 1]).value_counts()
        raise DataError(
            f"no rows left after cleaning ({n:,} rows read)",
            file=", ".join(str(r.path) for r in raws),
            examples=[f"{r}: {c:,} rows ({REASON_TEXT[r]})" for r, c in counts.items()],
            hint="check the cleaning rules in workbook.yml, as_of, and the quarantine reasons above",
        )

    distinct = {name: int(np.count_nonzero(np.bincount(c[kept & (c >= 0)], minlength=1)))
                for name, c in codes.items()}
    src_index, rows = data["_source_index"].to_numpy(), data["source_row"].to_numpy()
    del codes, uniques, dates  # working state no longer needed: free it before the output is built
    if params["outliers"]["enabled"]:
        del usual_price
    # the set-aside rows first: then the files' frames as read can go before the clean lines are built
    quarantine = _quarantine(raws, src_index, rows, reason)
    rows_in = [len(raw.frame) for raw in raws]
    for raw in raws:  # an empty frame of the same columns (a slice would keep the whole buffers)
        raw.frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in raw.frame.dtypes.items()})
    transactions = _transactions(data, kept, is_outlier, names)
    del data
    unified = None
    if identity:
        transactions, unified = _unify_customers(transactions, identity, root)
    schema.validate_transactions(transactions, as_of=as_of)
    audit = _audit(raws, rows_in, src_index, reason, line_value, transactions, quarantine, anonymous & kept, as_of,
                   params, returns_stats, outlier_stats, distinct)
    if unified is not None:
        audit["source_paths"] += input_paths([], identity)
        audit["customers"] = unified["customer_view"]["customers"]
        audit.update(unified)
    return CleaningResult(transactions=transactions, quarantine=quarantine, audit=audit)


def _unify_customers(transactions: pd.DataFrame, identity: list[dict[str, Any]],
                     root: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One customer across sources (:mod:`crmlib.core.identity`): the transactions with the
    unified ``customer_id`` and ``source_customer_id``, and the audit's ``customer_view`` and
    ``identity`` entries (counts and file names only: the member lists' keys are hashed as
    they are read and no raw phone or e-mail leaves :func:`read_member_lists`)."""
    key = privacy.load_key(root)
    members = read_member_lists(identity, root, key)
    result = resolve_identities(members, key)
    transactions = apply_identities(transactions, result)
    return transactions, {
        "customer_view": customer_view(transactions, result),
        "identity": {"member_lists": members.files.to_dict("records"), "stats": result.stats,
                     "conflicts": result.conflicts.to_dict("records")},
    }


def _quarantine(raws: list[crm_io.RawSource], src_index: np.ndarray, rows: np.ndarray,
                reason: np.ndarray) -> pd.DataFrame:
    frames = []
    with_sheets = any(r.sheet is not None for r in raws)
    for i, raw in enumerate(raws):
        mine = np.flatnonzero((src_index == i) & (reason > 0))
        frames.append(_quarantined_rows(raw.frame.take(rows[mine] - 1), raw, rows[mine], reason[mine],
                                        many=len(raws) > 1, with_sheets=with_sheets))
    return _quarantine_frame(frames)


def _audit(raws, raw_rows, src_index, reason, line_value, transactions, quarantine, anonymous_kept, as_of, params,
           returns_stats, outlier_stats, distinct) -> dict[str, Any]:
    rows_in = int(sum(raw_rows))
    rows_kept = int(len(transactions))
    rows_quarantined = int(len(quarantine))
    if rows_in != rows_kept + rows_quarantined or rows_quarantined != int((reason > 0).sum()):
        # the "nothing lost" promise: checked on every run, never skipped
        raise RuntimeError(f"cleaning lost rows: {rows_in} in, {rows_kept} kept, {rows_quarantined} quarantined")
    by_rule = {r: int((reason == _CODE[r]).sum()) for r in REASONS if (reason == _CODE[r]).any()}
    revenue_by_rule = {r: round(float(line_value[reason == _CODE[r]].sum()), 2) for r in by_rule}
    per_source = []
    for i, raw in enumerate(raws):
        mine = src_index == i
        per_source.append({
            "name": raw.name, "path": str(raw.path), "sheet": raw.sheet, "layout": raw.layout,
            "encoding": raw.encoding, "delimiter": raw.delimiter, "columns": raw.mapping,
            "rows_in": int(mine.sum()), "rows_kept": int((mine & (reason == 0)).sum()),
            "rows_quarantined": int((mine & (reason > 0)).sum()), "notes": list(raw.notes),
        })
    dates = transactions[schema.INVOICE_DATE]
    known = transactions[schema.CUSTOMER_ID].notna()
    return {
        "rows_in": rows_in,
        "rows_kept": rows_kept,
        "rows_quarantined": rows_quarantined,
        "by_rule": by_rule,
        "revenue_by_rule": revenue_by_rule,
        "revenue_in": round(float(line_value.sum()), 2),
        "revenue_kept": round(float(transactions[schema.AMOUNT].sum()), 2),
        "anonymous_rows_kept": int(anonymous_kept.sum()),
        "anonymous_revenue_kept": round(float(transactions.loc[~known, schema.AMOUNT].sum()), 2),
        "customers": distinct["customer"],
        "invoices": distinct["invoice"],
        "products": distinct["product"],
        "first_date": str(dates.min().date()),
        "last_date": str(dates.max().date()),
        "as_of": str(as_of.date()),
        "source_paths": list(dict.fromkeys(str(r.path) for r in raws)),
        "sources": per_source,
        "returns": returns_stats,
        "outliers": outlier_stats,
        "rules": params,
    }
