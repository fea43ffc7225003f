"""Cleaning a log larger than memory: the rules of :mod:`crmlib.cleaning`, part by part.

:func:`clean_sources_chunked` gives the same :class:`~crmlib.cleaning.CleaningResult` as
the whole-frame path (same clean lines in the same order, same quarantine rows and
reasons, same audit counts; sums of money may differ in the last bits, as they are added
in another order) while holding only a chunk or a part of the log at a time (steps 1 and 2,
reading and spooling, are in :mod:`crmlib.cleaning_spool`):

1. **Read in chunks.** A delimited text file (plain or ``.gz``) is streamed by Arrow's
   CSV reader with the options pandas gives it when reading the whole file (so the column
   types are inferred from the same first block), :data:`CHUNK_ROWS` lines at a time. Each
   chunk is parsed by :func:`crmlib.io.parse_source` behind the file's first
   :data:`crmlib.io_dates.DATE_HEAD` rows, so dates are read in the form inferred on the whole
   column; unreadable values are counted over the whole file and checked against
   ``invalid_values.max_share`` at its end (same message). Excel workbooks, Parquet files
   and text files Arrow's streaming reader cannot read as pandas would (a column type
   changing after the first block, bad bytes, a decimal comma, a whitespace delimiter)
   are read whole and then cut into chunks: their memory is not bounded.
2. **Spool by customer.** The parsed chunks, with the row-local rules applied (invalid
   values, normalise, date window) and the raw columns kept for the quarantine, are
   written to Parquet files split into parts by a hash of ``customer_id`` (of
   ``invoice_id`` for lines without a customer). Exact duplicates (same customer and
   invoice) and net returns (same customer and product) then stay inside one part.
3. **Global figures.** ``as_of`` (when not given) comes from the latest plausible date of
   all chunks; the outlier rule's quantity centre and each product's usual price come
   from counts of the distinct quantities and (product, price) pairs of the whole log,
   whose medians equal the whole-frame medians exactly.
4. **Clean part by part** with the rule functions of :mod:`crmlib.cleaning`
   (:func:`~crmlib.cleaning._rules_from_as_of`, then the outliers with the global
   figures), the identity step per part (a mapping of each line), and write the clean
   lines per month; the stored log is then written month by month in the original order
   (source, row) by :func:`crmlib.core.engine.write_transactions`.

The result is a :class:`StoredCleaningResult`: the clean lines stay on disk
(:attr:`StoredCleaningResult.transactions_path`); ``result.transactions`` reads them
whole on demand (for small logs and tests), :meth:`StoredCleaningResult.read_transactions`
reads chosen columns. A file that needs a decision only the whole file can make (e.g.
thousands separators recognised in only some chunks) raises :class:`NotChunkable`, and
:func:`crmlib.cleaning.clean_sources` then cleans the log whole, as before.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from crmlib import cleaning_rules as cleaning
from crmlib import io as crm_io
from crmlib import io_dates
from crmlib import schema
from crmlib.cleaning_rules import _CODE, REASONS, REASON_TEXT, CleaningResult
from crmlib.cleaning_spool import (_REASON, _VALUE, NotChunkable, _chunks, _check_failures, _Part,  # noqa: F401
                                   _raw_rows, _read_part, _Spool, _spool_chunk, estimated_lines)
from crmlib.core.periods import month_end_as_of
from crmlib.errors import ConfigError, DataError

#: Above this many lines (estimated from the files' sizes) :func:`crmlib.cleaning.clean_sources` cleans in parts.
CHUNKED_ABOVE_LINES = 20_000_000
#: Lines read and parsed at a time.
CHUNK_ROWS = 1_000_000
#: Lines per part of the spool (each part is cleaned in memory on its own).
PART_LINES = 1_000_000


# ----------------------------------------------------------------------------- one part of the log
def _clean_part(data: pd.DataFrame, params: dict[str, Any], as_of: pd.Timestamp) -> tuple[np.ndarray, dict[str, Any]]:
    """The rules from ``after_as_of`` to ``missing_customer`` on one part (in place)."""
    reason = data.pop(_REASON).to_numpy().copy()
    codes, uniques = cleaning._id_codes(data)
    returns, _ = cleaning._rules_from_as_of(data, reason, codes, uniques, params, as_of)
    return reason, returns


@dataclass
class _OutlierInputs:
    """The whole log's kept quantities (as counts of each distinct value) and (product, price)
    pairs (spooled by a hash of the product: the pairs of one product meet in one file set)."""

    folder: Path
    parts: int
    quantities: list[pd.Series] = field(default_factory=list)
    written: int = 0

    def add(self, data: pd.DataFrame, alive: np.ndarray) -> None:
        self.quantities.append(pd.Series(data[schema.QUANTITY].to_numpy()[alive]).value_counts(sort=False))
        pairs = pd.DataFrame({"product": data[schema.PRODUCT_ID].to_numpy()[alive],
                              "price": data[schema.UNIT_PRICE].to_numpy()[alive]})
        of = (pd.util.hash_pandas_object(pairs["product"], index=False).to_numpy() % np.uint64(self.parts)).astype(np.int64)
        for j in np.unique(of):
            target = self.folder / f"products-{j:04d}" / f"p{self.written:06d}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pairs.iloc[np.flatnonzero(of == j)].to_parquet(target, index=False)
        self.written += 1

    def quantity_centre(self) -> tuple[float, float] | None:
        """(median, median absolute deviation) of the log quantities, as ``np.median`` gives them."""
        counts = pd.concat(self.quantities).groupby(level=0).sum() if self.quantities else pd.Series(dtype="int64")
        if counts.empty:
            return None
        logs = np.log(counts.index.to_numpy(dtype="float64"))
        centre = _weighted_median(logs, counts.to_numpy())
        return centre, _weighted_median(np.abs(logs - centre), counts.to_numpy())

    def usual_price(self) -> pd.Series:
        """Each product's median price, by the same ``groupby(...).median()`` as the whole-frame path."""
        medians = []
        for folder in sorted(self.folder.glob("products-*")):
            pairs = pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("*.parquet"))], ignore_index=True)
            medians.append(pairs.groupby("product", sort=False)["price"].median())
            shutil.rmtree(folder)
        if not medians:
            return pd.Series(dtype="float64")
        return pd.concat(medians)


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` repeated ``counts`` times."""
    order = np.argsort(values, kind="stable")
    values, ends = values[order], np.cumsum(counts[order])
    total = int(ends[-1])
    low = values[np.searchsorted(ends, (total - 1) // 2, side="right")]
    high = values[np.searchsorted(ends, total // 2, side="right")]
    return float(high) if total % 2 else float(np.mean(np.array([low, high])))


# ----------------------------------------------------------------------------- the result
@dataclass
class StoredCleaningResult(CleaningResult):
    """A :class:`CleaningResult` whose clean lines stay on disk (a month-partitioned Parquet
    folder, :attr:`transactions_path`); ``transactions`` reads them whole when asked."""

    transactions_path: Path | None = None
    workdir: Path | None = None

    def __getattribute__(self, name: str) -> Any:
        if name == "transactions":
            return object.__getattribute__(self, "read_transactions")()
        return object.__getattribute__(self, name)

    def read_transactions(self, columns: list[str] | tuple[str, ...] | None = None, *,
                          outliers_only: bool = False, categories: tuple[str, ...] = ()) -> pd.DataFrame:
        """The clean lines, only ``columns`` (all when ``None``), only the flagged outliers
        when ``outliers_only``, ``categories`` as categoricals, in the dtypes of
        :data:`crmlib.schema.TRANSACTION_DTYPES`; read from disk, nothing else loaded."""
        from crmlib.core import engine
        return engine.read_transactions(self.transactions_path, columns, outliers_only=outliers_only,
                                        categories=categories)

    def write(self, artifacts_dir: str | Path) -> dict[str, Path]:
        """As :meth:`CleaningResult.write`, the stored log moved into place (not read or
        copied: at 100M lines it is gigabytes; a rename when the working folder is on the
        same disk, see ``workdir`` of :func:`clean_sources_chunked`). The result then reads
        from the written artifact."""
        folder = Path(artifacts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "transactions.parquet"
        if Path(self.transactions_path).resolve() != target.resolve():
            tmp = Path(tempfile.mkdtemp(prefix=".transactions.", dir=folder))
            shutil.rmtree(tmp)
            shutil.move(self.transactions_path, tmp)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            tmp.replace(target)
            self.transactions_path = target
            self.close()   # the parts are gone already; the working folder is left empty
        paths = {"transactions": target, "quarantine": folder / "quarantine.parquet",
                 "audit": folder / "cleaning_audit.json"}
        tmp_q = paths["quarantine"].with_suffix(".tmp.parquet")
        self.quarantine.to_parquet(tmp_q, index=False)
        tmp_q.replace(paths["quarantine"])
        import json
        tmp_a = paths["audit"].with_suffix(".json.tmp")
        tmp_a.write_text(json.dumps(self.audit, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp_a.replace(paths["audit"])
        return paths

    def close(self) -> None:
        """Remove the working folder (the stored log with it, unless :meth:`write` moved it out)."""
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


# ----------------------------------------------------------------------------- main entry
def clean_sources_chunked(
    sources: list[dict[str, Any]],
    as_of: pd.Timestamp | None = None,
    rules: dict[str, Any] | None = None,
    *,
    identity: list[dict[str, Any]] | None = None,
    root: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    parts: int | None = None,
    workdir: str | Path | None = None,
    whole_files_ok: bool = True,
) -> CleaningResult:
    """:func:`crmlib.cleaning.clean_sources` in parts (see the module docstring): the same
    result, memory bounded by ``chunk_rows`` and the size of a part (``parts``: default one
    per :data:`PART_LINES` estimated lines). ``workdir``: where the spool and the stored log
    go (a new temporary folder by default; removed by :meth:`StoredCleaningResult.close`).
    Raises :class:`NotChunkable` when a file needs a decision only the whole file can make
    (:func:`crmlib.cleaning.clean_sources` then cleans it whole); ``whole_files_ok=False``
    raises it too for a text file that cannot be streamed (instead of reading it whole)."""
    params = cleaning.resolve_rules(rules)
    if identity and root is None:
        raise ConfigError("identity resolution needs the project folder (root) that holds the pseudonym key")
    if not sources:
        raise ConfigError("no transaction sources: add one under 'sources' in workbook.yml or pass --data")
    crm_io.check_distinct_files(sources)
    parts = parts or max(1, math.ceil(estimated_lines(sources) / PART_LINES))
    folder = Path(tempfile.mkdtemp(prefix="crm-clean-", dir=workdir))
    try:
        return _clean(sources, as_of, params, identity, root, chunk_rows, parts, folder, whole_files_ok)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _clean(sources, as_of, params, identity, root, chunk_rows, parts, folder, whole_files_ok) -> StoredCleaningResult:
    spool = _Spool(folder / "spool", parts)
    window = cleaning.date_window(params)
    with_sheets = any(crm_io.file_kind(crm_io._source_path(s)) == "excel" for s in sources)
    part_list: list[_Part] = []
    chunk_no = 0
    for source in sources:
        current: _Part | None = None
        for chunk in _chunks(source, chunk_rows, whole_files_ok):
            if current is None or chunk.sheet != current.raw.sheet or chunk.path != current.raw.path:
                if current is not None:
                    _check_failures(current, params["invalid_values"]["max_share"])
                current = _Part(raw=replace(chunk, frame=chunk.frame.iloc[:io_dates.DATE_HEAD]), index=len(part_list),
                                dtypes=dict(chunk.frame.dtypes))
                part_list.append(current)
            _spool_chunk(spool, current, chunk, chunk_no, params, with_sheets, window)
            chunk_no += 1
        if current is not None:
            _check_failures(current, params["invalid_values"]["max_share"])
    for part in part_list:
        part.raw.notes = list(part.raw.notes) + list(part.notes or [])  # as read, then as parsed
    if as_of is None:
        if spool.latest is None:
            raise DataError("no readable invoice dates, so the analysis date cannot be derived",
                            column=schema.INVOICE_DATE)
        as_of = month_end_as_of(spool.latest)
    as_of = pd.Timestamp(as_of).normalize()
    raw_dtypes = [p.dtypes for p in part_list]

    # pass 1: the rules up to missing_customer, part by part; the outliers' inputs of the whole log
    outliers = params["outliers"]["enabled"]
    inputs = _OutlierInputs(spool.folder, parts)
    returns_parts = []
    for k in range(parts):
        if not spool.files[k]:
            continue
        data, _ = _read_part(spool, k)
        reason, returns = _clean_part(data, params, as_of)
        returns_parts.append(returns)
        if outliers:
            inputs.add(data, reason == 0)
        np.savez(spool.folder / f"part-{k:04d}" / "state.npz", reason=reason,
                 quantity=data[schema.QUANTITY].to_numpy())
    centre = inputs.quantity_centre() if outliers else None
    usual = inputs.usual_price() if outliers else None
    del inputs

    # pass 2: outliers with the whole log's figures, the clean lines per month, the quarantine
    unify = _identity(identity, root) if identity else None
    totals = _Totals(len(part_list))
    months = folder / "months"
    for k in range(parts):
        if not spool.files[k]:
            continue
        data, files = _read_part(spool, k)
        state = np.load(spool.folder / f"part-{k:04d}" / "state.npz")
        del data[_REASON]
        reason = state["reason"].copy()
        data[schema.QUANTITY] = state["quantity"]
        is_outlier = _outlier_step(data, reason, params, centre, usual, totals)
        totals.add(data, reason, is_outlier, files, raw_dtypes, part_list, with_sheets)
        kept = reason == 0
        order = data[["_source_index", "source_row"]].to_numpy()[kept]
        line_value = data.pop(_VALUE)
        del line_value
        transactions = cleaning._transactions(data, kept, is_outlier, spool.names)
        if unify is not None:
            from crmlib.core.identity import apply_identities
            transactions = apply_identities(transactions, unify[2])
            totals.identity.append(transactions.loc[transactions[schema.CUSTOMER_ID].notna(),
                                                    [schema.CUSTOMER_ID, schema.SOURCE, "source_customer_id"]]
                                   .drop_duplicates())
        schema.validate_transactions(transactions, as_of=as_of)
        totals.kept(transactions)
        transactions["_source_index"], transactions["source_row_"] = order[:, 0], order[:, 1]
        month = transactions[schema.INVOICE_DATE].dt.strftime("%Y-%m")
        for label, rows in transactions.groupby(month.to_numpy(), sort=True):
            target = months / f"month={label}" / f"part-{k:04d}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            rows.to_parquet(target, index=False)
        shutil.rmtree(spool.folder / f"part-{k:04d}")
    if not totals.rows_kept:
        # as value_counts orders them: most rows first, ties in the order the reasons first occur
        codes = sorted((c for c in range(1, len(REASONS) + 1) if totals.by_code[c]),
                       key=lambda c: (-totals.by_code[c], totals.first_at[c]))
        counts = {REASONS[c - 1]: int(totals.by_code[c]) for c in codes}
        raise DataError(f"no rows left after cleaning ({totals.rows_in:,} rows read)",
                        file=", ".join(str(p.raw.path) for p in part_list),
                        examples=[f"{r}: {c:,} rows ({REASON_TEXT[r]})" for r, c in counts.items()],
                        hint="check the cleaning rules in workbook.yml, as_of, and the quarantine reasons above")

    from crmlib.core import engine
    if totals.rows_kept <= engine.PARTITION_ROWS:  # one file in the original order, as the whole-frame path writes
        frame = pd.concat(list(_months_in_order(months)), ignore_index=True)
        order = np.lexsort((frame.pop("source_row_").to_numpy(), frame.pop("_source_index").to_numpy()))
        stored = engine.write_transactions(frame.take(order).reset_index(drop=True), folder / "transactions.parquet")
        del frame
    else:  # month by month, each in the original order: the whole-frame path's folder
        stored = engine.write_transactions(_months_in_order(months, drop=True), folder / "transactions.parquet")
    shutil.rmtree(months, ignore_errors=True)
    quarantine = totals.quarantine_frame(len(part_list))
    returns_stats = _returns_stats(params, returns_parts)
    outlier_stats = {"action": params["outliers"]["action"] if outliers else "off"}
    if outliers:
        outlier_stats.update(lines=totals.outliers, bounds=totals.bounds)
    audit = totals.audit(part_list, quarantine, as_of, params, returns_stats, outlier_stats)
    if unify is not None:
        from crmlib.core.identity import customer_view
        members, result = unify[1], unify[2]
        triples = pd.concat(totals.identity, ignore_index=True)
        view = customer_view(triples, result)
        audit["source_paths"] += cleaning.input_paths([], identity)
        audit["customers"] = view["customers"]
        audit.update({"customer_view": view,
                      "identity": {"member_lists": members.files.to_dict("records"), "stats": result.stats,
                                   "conflicts": result.conflicts.to_dict("records")}})
    return StoredCleaningResult(transactions=None, quarantine=quarantine, audit=audit,
                                transactions_path=stored, workdir=folder)


def _outlier_step(data: pd.DataFrame, reason: np.ndarray, params: dict[str, Any], centre: tuple[float, float] | None,
                  usual: pd.Series | None, totals: "_Totals") -> np.ndarray:
    """The outlier rule on one part with the whole log's figures (as in :func:`crmlib.cleaning.clean_sources`)."""
    is_outlier = np.zeros(len(data), dtype=bool)
    if not params["outliers"]["enabled"]:
        return is_outlier
    ratio = float(params["outliers"]["max_price_ratio"])
    is_outlier, bounds, usual_price = cleaning._outliers(
        data, reason == 0, None, float(params["outliers"]["max_robust_z"]), ratio,
        quantity_centre=centre if centre is not None else (0.0, 0.0), usual_price=usual)
    if centre is None:
        bounds.pop(schema.QUANTITY, None)
    totals.outliers += int(is_outlier.sum())
    totals.bounds = bounds
    cleaning.apply_outlier_action(data, reason, is_outlier, bounds, usual_price, params)
    return is_outlier


def _identity(identity: list[dict[str, Any]], root: str | Path) -> tuple[Any, Any, Any]:
    from crmlib.core import privacy
    from crmlib.core.identity import read_member_lists, resolve_identities
    key = privacy.load_key(root)
    members = read_member_lists(identity, root, key)
    return key, members, resolve_identities(members, key)


def _returns_stats(params: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The returns' statistics of the whole log from those of its parts."""
    stats: dict[str, Any] = {"mode": params["returns"]["mode"] if params["returns"]["enabled"] else "off"}
    if not params["returns"]["enabled"]:
        return stats
    stats["return_lines"] = sum(p.get("return_lines", 0) for p in parts)
    full = [p for p in parts if "quantity_netted" in p]
    if params["returns"]["mode"] == "net" and full:
        for key in ("quantity_returned", "anonymous_return_lines", "anonymous_return_value", "quantity_netted",
                    "quantity_unmatched", "purchase_lines_fully_returned", "purchase_lines_reduced",
                    "revenue_netted_from_kept_lines"):
            stats[key] = sum(p[key] for p in full)
        stats["quantity_unmatched"] = max(stats["quantity_returned"] - stats["quantity_netted"], 0.0)
    return stats


class _Totals:
    """What the audit and the quarantine need, added up part by part."""

    def __init__(self, n_parts: int) -> None:
        self.rows = np.zeros((n_parts, 2), dtype=np.int64)             # per source part: kept, quarantined
        self.by_code = np.zeros(len(REASONS) + 1, dtype=np.int64)
        self.value_by_code = np.zeros(len(REASONS) + 1, dtype=np.float64)
        self.first_at: dict[int, tuple] = {}                                # reason -> (source part, row) first seen
        self.anonymous_kept = 0
        self.customers = 0
        self.invoices: list[np.ndarray] = []
        self.products: list[np.ndarray] = []
        self.revenue_kept = 0.0
        self.anonymous_revenue = 0.0
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.rows_kept = 0
        self.outliers = 0
        self.bounds: dict[str, Any] = {}
        self.quarantine: dict[int, list[pd.DataFrame]] = {}
        self.identity: list[pd.DataFrame] = []
        self._parts: list[_Part] = []
        self._with_sheets = False

    @property
    def rows_in(self) -> int:
        return int(self.rows.sum())

    def add(self, data: pd.DataFrame, reason: np.ndarray, is_outlier: np.ndarray, files: list[tuple[int, Path, int]],
            raw_dtypes: list[dict[str, Any]], parts: list[_Part], with_sheets: bool) -> None:
        self._parts, self._with_sheets = parts, with_sheets
        src = data["_source_index"].to_numpy()
        rows = data["source_row"].to_numpy()
        kept = reason == 0
        self.rows += np.stack([np.bincount(src[kept], minlength=len(parts)),
                               np.bincount(src[~kept], minlength=len(parts))], axis=1)
        self.by_code += np.bincount(reason, minlength=len(REASONS) + 1)
        for code in np.unique(reason[reason > 0]).tolist():
            at = np.flatnonzero(reason == code)[0]  # parts hold lines in the original order
            self.first_at[code] = min(self.first_at.get(code, (np.inf, np.inf)), (int(src[at]), int(rows[at])))
        self.value_by_code += np.bincount(reason, weights=data[_VALUE].to_numpy(), minlength=len(REASONS) + 1)
        customer = data[schema.CUSTOMER_ID]
        self.anonymous_kept += int((customer.isna().to_numpy() & kept).sum())
        self.customers += int(customer[kept].nunique())
        self.invoices.append(pd.unique(data[schema.INVOICE_ID][kept].dropna()))
        self.products.append(pd.unique(data[schema.PRODUCT_ID][kept].dropna()))
        for i in sorted({index for index, _, _ in files}):
            mine = src == i
            local = np.cumsum(mine) - 1
            out = np.flatnonzero(mine & ~kept)
            self.quarantine.setdefault(i, []).append(cleaning._quarantined_rows(
                _raw_rows(files, i, local[out], raw_dtypes[i]), parts[i].raw, rows[out], reason[out],
                many=len(parts) > 1, with_sheets=with_sheets))

    def kept(self, transactions: pd.DataFrame) -> None:
        amount = transactions[schema.AMOUNT]
        self.revenue_kept += float(amount.sum())
        self.anonymous_revenue += float(amount[transactions[schema.CUSTOMER_ID].isna()].sum())
        self.rows_kept += len(transactions)
        if len(transactions):
            dates = transactions[schema.INVOICE_DATE]
            low, high = dates.min(), dates.max()
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)

    def quarantine_frame(self, n_parts: int) -> pd.DataFrame:
        frames = []
        for i in range(n_parts):
            mine = self.quarantine.get(i) or [cleaning._quarantined_rows(
                self._parts[i].raw.frame.iloc[:0], self._parts[i].raw, np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int8), many=n_parts > 1, with_sheets=self._with_sheets)]
            frame = pd.concat(mine, ignore_index=True) if len(mine) > 1 else mine[0]
            order = np.argsort(frame["source_row"].to_numpy(), kind="stable")
            frames.append(frame.take(order).reset_index(drop=True))
        return cleaning._quarantine_frame(frames)

    def audit(self, parts: list[_Part], quarantine: pd.DataFrame, as_of: pd.Timestamp, params: dict[str, Any],
              returns_stats: dict[str, Any], outlier_stats: dict[str, Any]) -> dict[str, Any]:
        rows_in, rows_quarantined = self.rows_in, int(self.rows[:, 1].sum())
        if rows_in != self.rows_kept + len(quarantine) or rows_quarantined != len(quarantine):
            raise RuntimeError(f"cleaning lost rows: {rows_in} in, {self.rows_kept} kept, {len(quarantine)} quarantined")
        by_rule = {r: int(self.by_code[_CODE[r]]) for r in REASONS if self.by_code[_CODE[r]]}
        per_source = [{
            "name": p.raw.name, "path": str(p.raw.path), "sheet": p.raw.sheet, "layout": p.raw.layout,
            "encoding": p.raw.encoding, "delimiter": p.raw.delimiter, "columns": p.raw.mapping,
            "rows_in": int(self.rows[i].sum()), "rows_kept": int(self.rows[i, 0]),
            "rows_quarantined": int(self.rows[i, 1]), "notes": list(p.raw.notes),
        } for i, p in enumerate(parts)]
        distinct = lambda arrays: int(len(pd.unique(np.concatenate(arrays)))) if arrays else 0  # noqa: E731
        return {
            "rows_in": rows_in,
            "rows_kept": self.rows_kept,
            "rows_quarantined": rows_quarantined,
            "by_rule": by_rule,
            "revenue_by_rule": {r: round(float(self.value_by_code[_CODE[r]]), 2) for r in by_rule},
            "revenue_in": round(float(self.value_by_code.sum()), 2),
            "revenue_kept": round(self.revenue_kept, 2),
            "anonymous_rows_kept": self.anonymous_kept,
            "anonymous_revenue_kept": round(self.anonymous_revenue, 2),
            "customers": self.customers,
            "invoices": distinct(self.invoices),
            "products": distinct(self.products),
            "first_date": str(self.first.date()),
            "last_date": str(self.last.date()),
            "as_of": str(as_of.date()),
            "source_paths": list(dict.fromkeys(str(p.raw.path) for p in parts)),
            "sources": per_source,
            "returns": returns_stats,
            "outliers": outlier_stats,
            "rules": params,
        }


def _months_in_order(folder: Path, drop: bool = False) -> Iterator[pd.DataFrame]:
    """The clean lines month by month, each month in the original order (source, row);
    ``drop``: without the two order columns."""
    for month in sorted(folder.iterdir()):
        frames = [pd.read_parquet(f) for f in sorted(month.glob("*.parquet"))]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        order = np.lexsort((frame["source_row_"].to_numpy(), frame["_source_index"].to_numpy()))
        frame = frame.take(order).reset_index(drop=True)
        yield frame.drop(columns=["source_row_", "_source_index"]) if drop else frame
