"""Campaign lists: the user's campaign files and the retention lists of earlier periods.

A campaign is a list of customers, each in the ``target`` group (contacted) or the
``control`` group (held out, not contacted), with a contact date. Every list, whatever
its origin, becomes rows of one frame with the columns of :data:`CAMPAIGN_COLUMNS`
(plus score columns such as ``churn_probability`` when the list came with them).

Two origins:

* **campaign files** listed under ``campaigns:`` in ``workbook.yml`` (CSV or Excel),
  read by :func:`read_campaign_file`. Rows that cannot be used are quarantined with a
  reason, never dropped silently;
* **retention lists** published by earlier periods of the report site
  (``<reports>/<YYYY-MM>/analyst/artifacts/retention_targets.parquet`` or ``.csv``, the
  analyst artifact with the clean ids), read by :func:`published_retention_lists`.

Ids are then matched to the clean customer ids of the transactions (:func:`match_ids`;
a file's unit member ids are first translated to the unified customer ids when identity
resolution ran, :func:`unify_member_ids`) and each campaign is checked
(:func:`validate_campaigns`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlib import io as crm_io
from crmlib import parsing, schema
from crmlib.core import layout
from crmlib.core.config import CAMPAIGN_DEFAULTS
from crmlib.core.formatting import format_count, format_date, format_period
from crmlib.core.i18n import N_, _, get_language
from crmlib.core.periods import period_as_of
from crmlib.core.privacy import looks_personal
from crmlib.core.text import md
from crmlib.core.run import RUN_FILE
from crmlib.errors import ConfigError, DataError

#: Columns of a campaign row, whatever its origin.
CAMPAIGN_COLUMNS = ["campaign", "source", "customer_id", "group", "contact_date", "cost_per_contact", "channel"]

#: What the user's file must provide (``campaign`` may instead come from the spec's ``name``
#: or the file name).
REQUIRED_FILE_COLUMNS = ("customer_id", "group", "contact_date")
#: Keys of a ``campaigns:`` entry (checked when ``workbook.yml`` is loaded, :func:`crmlib.core.config.campaign_specs`).
SPEC_KEYS = set(CAMPAIGN_DEFAULTS)

#: Accepted spellings of the two groups (compared after trimming and lower-casing).
GROUP_WORDS: dict[str, str] = {
    "target": "target", "treatment": "target", "treated": "target", "contacted": "target",
    "대상": "target", "대상군": "target", "실험군": "target",
    "control": "control", "holdout": "control", "hold-out": "control", "hold out": "control",
    "대조": "control", "대조군": "control", "통제군": "control",
}

#: Score columns carried from a retention list for the targeting analysis, in order of use.
SCORE_COLUMNS = ("churn_probability", "value_at_risk", "value", "clv")

#: Above this share of a campaign's customers in both groups the list is considered broken.
MAX_BOTH_GROUPS_SHARE = 0.05

RETENTION_FILES = ("retention_targets.parquet", "retention_targets.csv")
#: Name and source of an earlier period's retention list as a campaign (English in the
#: data and metrics; shown through :func:`campaign_label` / :func:`source_label`).
RETENTION_CAMPAIGN = N_("Retention list {period}")
RETENTION_SOURCE = N_("retention list {period}")
#: Why a campaign file row is set aside (English in ``campaign_quarantine.parquet``, shown through ``_()``).
EMPTY_ID = N_("empty customer id")
BAD_DATE = N_("unreadable contact date")
UNKNOWN_GROUP = N_("unknown group (use target or control, 대상 or 대조)")


# ============================================================================ words
def shown_date(value: Any) -> str:
    """A date for a sentence or table: ``01 Sep 2011`` in English (as the page always wrote
    it), the report's way in other languages (:func:`crmlib.core.formatting.format_date`)."""
    day = pd.Timestamp(value)
    return f"{day:%d %b %Y}" if get_language() == "en" else format_date(day)


def _retention_words(text: Any, template: str) -> str:
    """``text`` in the report's language when it is ``template`` filled with a period, else unchanged."""
    found = re.fullmatch(re.escape(template).replace(re.escape("{period}"), r"(\d{4}-\d{2})"), str(text))
    if found is None:
        return str(text)
    period = found.group(1)
    return _(template).format(period=period if get_language() == "en" else format_period(period))


def campaign_label(name: Any) -> str:
    """A campaign's name for people: an earlier period's retention list ("Retention list
    2011-10") in the report's language; any other name as it is (a data value)."""
    return _retention_words(name, RETENTION_CAMPAIGN)


def source_label(source: Any) -> str:
    """A campaign's source for people (see :func:`campaign_label`)."""
    return _retention_words(source, RETENTION_SOURCE)


def _examples(ids: Iterable[Any], n: int = 3) -> str:
    """Up to ``n`` example ids for a sentence, escaped; ids that look like a phone number or an
    e-mail address are not shown (they are personal data)."""
    ids = pd.Series(list(ids), dtype="object").astype(str)
    shown = ids[~looks_personal(ids).to_numpy()].head(n)
    return ", ".join(md(i) for i in shown) if len(shown) else _("ids not shown: they look like phone numbers or e-mails")


# ============================================================================ campaign files
def parse_group(values: pd.Series) -> pd.Series:
    """``target`` / ``control`` from the user's spelling (see :data:`GROUP_WORDS`); NaN when unknown."""
    text = values.astype("string").str.strip().str.lower()
    return text.map(GROUP_WORDS).astype("object")


def _resolve_columns(header: list[str], explicit: Mapping[str, str], path: Path) -> dict[str, str]:
    """canonical -> file column: the spec's ``columns`` first, then the canonical name itself
    (case-insensitive), then the intake synonyms for ``customer_id``."""
    by_normal = {schema.normalise_header(h): h for h in header}
    mapping: dict[str, str] = {}
    for canonical in ("customer_id", "group", "contact_date", "campaign"):
        if canonical in explicit:
            column = explicit[canonical]
            if column not in header:
                raise DataError(f"the column '{column}' mapped to {canonical} is not in the file "
                                f"(columns: {', '.join(header)})", file=path, column=column,
                                hint="fix 'columns' of this campaign file in workbook.yml")
            mapping[canonical] = column
            continue
        names = (canonical,) + (schema.SYNONYMS[schema.CUSTOMER_ID] if canonical == "customer_id" else ())
        found = next((by_normal[schema.normalise_header(n)] for n in names if schema.normalise_header(n) in by_normal), None)
        if found is not None:
            mapping[canonical] = found
    missing = [c for c in REQUIRED_FILE_COLUMNS if c not in mapping]
    if missing:
        raise DataError(f"no column for {', '.join(missing)} (columns: {', '.join(header)})", file=path,
                        column=missing[0], hint="map it under 'columns' of this campaign file in workbook.yml, "
                        "e.g. columns: {customer_id: cust, group: arm, contact_date: sent}")
    return mapping


def _read_table(path: Path, spec: Mapping[str, Any]) -> pd.DataFrame:
    """The file as text (every cell a string, so ids keep leading zeros), header trimmed."""
    header_options = crm_io.read_header({"path": str(path), "encoding": spec.get("encoding", "auto"),
                                         "delimiter": spec.get("delimiter"), "sheet": spec.get("sheet", 0)})[1]
    kind = crm_io.file_kind(path)
    try:
        if kind == "excel":
            frame = pd.read_excel(path, sheet_name=spec.get("sheet", 0) or 0, dtype=object)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=header_options["encoding"],
                                sep=header_options["delimiter"], engine="python")
    except DataError:
        raise
    except Exception as exc:  # the readers raise many types on bad files
        raise DataError(f"cannot read the campaign file ({str(exc).splitlines()[0]})", file=path) from None
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    return frame


def read_campaign_file(spec: Mapping[str, Any], root: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one campaign file listed in ``workbook.yml``; return ``(rows, quarantine)``.

    ``spec`` is ``{path, columns: {customer_id: ..., group: ..., contact_date: ...,
    campaign: ...}, source?, cost_per_contact?, channel?, name?}`` (``columns`` maps the
    canonical name to the file's column; unmapped names are looked up by their own name).
    Relative paths are relative to ``root`` (the folder of ``workbook.yml``).

    Rules: 1. ids are read as text, trimmed, a trailing ``.0`` removed (as intake does);
    2. ``group`` is target/control in any case, or 대상/대조 (see :data:`GROUP_WORDS`);
    3. ``contact_date`` is read like invoice dates (``date_format``/``dayfirst`` of the
    spec when given); 4. the campaign name is the ``campaign`` column, else the spec's
    ``name``, else the file name; 5. a row with an empty id, an unreadable date or an
    unknown group goes to the quarantine with the reason (first failing check) and its
    original values and row number (1 = first data row). Nothing is dropped silently.
    """
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise ConfigError(f"campaigns: unknown key '{unknown[0]}' in a campaign file entry; "
                          f"allowed: {', '.join(sorted(SPEC_KEYS))}")
    if not spec.get("path"):
        raise ConfigError("campaigns: every campaign file entry needs a 'path'")
    path = Path(str(spec["path"])).expanduser()
    if not path.is_absolute() and root is not None:
        path = Path(root) / path
    if not path.is_file():
        raise DataError("campaign file not found", file=path, hint="check 'campaigns' in workbook.yml")
    frame = _read_table(path, spec)
    mapping = _resolve_columns(list(frame.columns), dict(spec.get("columns") or {}), path)

    ids = parsing.as_id(frame[mapping["customer_id"]].astype("string"))
    dates = parsing.parse_dates(frame[mapping["contact_date"]], date_format=spec.get("date_format"),
                               dayfirst=bool(spec.get("dayfirst", False)))
    groups = parse_group(frame[mapping["group"]])
    if "campaign" in mapping:
        names = frame[mapping["campaign"]].astype("string").str.strip()
        names = names.mask(names == "").fillna(str(spec.get("name") or path.stem))
    else:
        names = pd.Series(str(spec.get("name") or path.stem), index=frame.index)

    reason = pd.Series(pd.NA, index=frame.index, dtype="object")
    checks = [  # (rows failing, reason, column whose value is shown)
        (ids.isna(), EMPTY_ID, mapping["customer_id"]),
        (dates.isna(), BAD_DATE, mapping["contact_date"]),
        (groups.isna(), UNKNOWN_GROUP, mapping["group"]),
    ]
    value = pd.Series(pd.NA, index=frame.index, dtype="object")
    for bad, why, column in checks:
        new = bad.to_numpy(dtype=bool, na_value=True) & reason.isna().to_numpy()
        reason[new] = why
        value[new] = frame.loc[new, column].astype("string")
    bad_rows = reason.notna()
    quarantine = frame[bad_rows].astype("string").copy()
    quarantine.insert(0, "row", (frame.index[bad_rows] + 1).to_numpy())
    quarantine.insert(0, "file", str(path))
    quarantine["reason"] = reason[bad_rows].to_numpy()
    quarantine["value"] = value[bad_rows].to_numpy()

    keep = ~bad_rows
    rows = pd.DataFrame({
        "campaign": names[keep].astype(str).to_numpy(),
        "source": path.name,
        "customer_id": ids[keep].astype(str).to_numpy(),
        "group": groups[keep].to_numpy(),
        "contact_date": dates[keep].dt.normalize().to_numpy(),
        "cost_per_contact": float(spec["cost_per_contact"]) if spec.get("cost_per_contact") is not None else np.nan,
        "channel": spec.get("channel"),
    })
    rows["id_source"] = spec.get("source")
    return rows.reset_index(drop=True), quarantine.reset_index(drop=True)


# ============================================================================ id matching
@dataclass
class IdMatch:
    """Campaign rows whose ids were found among the clean customer ids, and what was not."""

    rows: pd.DataFrame                 # matched rows, ``customer_id`` in the clean spelling
    unmatched: pd.DataFrame            # campaign, group, customer_id of rows not found
    counts: pd.DataFrame               # per campaign and group: rows, matched, unmatched, case_fixed

    def sentences(self) -> list[str]:
        """One plain sentence per campaign with unmatched ids (empty when all matched)."""
        out = []
        for name, part in self.counts.groupby("campaign", sort=False):
            missing = int(part["unmatched"].sum())
            if missing:
                examples = _examples(self.unmatched.loc[self.unmatched["campaign"] == name, "customer_id"])
                out.append(_("Campaign '{campaign}': {missing} of {listed} listed customer ids are not in the "
                             "cleaned transactions (e.g. {examples}); they are left out of the measurement in both "
                             "groups.").format(campaign=md(campaign_label(name)), missing=format_count(missing),
                                               listed=format_count(int(part["rows"].sum())), examples=examples))
        return out


def normalise_ids(values: Iterable[Any] | pd.Series) -> pd.Series:
    """Ids as intake writes them (:func:`crmlib.parsing.as_id`): text, trimmed, no trailing ``.0``."""
    return parsing.as_id(pd.Series(values).astype("string"))


def is_in(values: pd.Series, among: pd.Series) -> np.ndarray:
    """``values.isin(among)`` for text, by Arrow's hash lookup (pandas' ``isin`` on Arrow text
    builds a Python list of ``among``: seconds for a million ids). Missing matches nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(series: pd.Series) -> pa.Array:
        return pa.array(series.astype("str").array, type=pa.large_string())

    found = pc.is_in(arrow(values), value_set=arrow(among).drop_null())
    return found.to_numpy(zero_copy_only=False).astype(bool)

def match_ids(campaign_rows: pd.DataFrame, known_customer_ids: Iterable[Any]) -> IdMatch:
    """Match campaign ids to the clean customer ids; count what does not match.

    Rules: 1. both sides are normalised like intake (:func:`normalise_ids`); 2. an exact
    match wins; 3. otherwise an id matching a known id up to upper/lower case is matched
    to it (``upper_ids`` of the cleaning rules upper-cases invoice and product codes, and
    exports differ in case) when that known id is the only one with that spelling;
    4. the rest are unmatched, counted per campaign and group, and left out.
    """
    given = known_customer_ids if isinstance(known_customer_ids, (pd.Index, pd.Series)) else list(known_customer_ids)
    known = normalise_ids(given).dropna().astype(str)
    upper = pd.Series(known.to_numpy(), index=known.str.upper().to_numpy())
    upper = upper[~upper.index.duplicated(keep=False)]

    rows = campaign_rows.copy()
    ids = normalise_ids(rows["customer_id"]).astype(str)
    exact = is_in(ids, known)
    fixed = ids.str.upper().map(upper)
    case_fixed = ~exact & fixed.notna().to_numpy()
    rows["customer_id"] = np.where(exact, ids, fixed.fillna(ids)).astype(str)
    matched = exact | case_fixed
    counts = (rows.assign(matched=matched, unmatched=~matched, case_fixed=case_fixed, rows=1)
              .groupby(["campaign", "group"], sort=False)[["rows", "matched", "unmatched", "case_fixed"]].sum()
              .astype(int).reset_index())
    unmatched = rows.loc[~matched, ["campaign", "group", "customer_id"]].reset_index(drop=True)
    return IdMatch(rows=rows[matched].reset_index(drop=True), unmatched=unmatched, counts=counts)


# ============================================================================ retention lists
def _period_as_of(period_dir: Path) -> pd.Timestamp:
    """The ``as_of`` of a published period: from its ``run.json``, else the period's last day."""
    metrics = layout.artifacts_dir(period_dir) / RUN_FILE
    if metrics.is_file():
        try:
            value = json.loads(metrics.read_text(encoding="utf-8")).get("as_of")
            if value:
                return pd.Timestamp(value).normalize()
        except (ValueError, OSError):
            pass
    return period_as_of(period_dir.name)


def _read_retention_list(artifacts: Path) -> pd.DataFrame | None:
    for name in RETENTION_FILES:
        p = artifacts / name
        if p.is_file():
            if p.suffix == ".parquet":
                return pd.read_parquet(p)
            return pd.read_csv(p, dtype={"customer_id": str})
    return None


def published_retention_lists(reports_dir: str | Path, as_of: Any) -> pd.DataFrame:
    """The retention lists of earlier published periods, as campaign rows.

    Looks at ``<reports_dir>/<YYYY-MM>/analyst/artifacts/retention_targets.parquet`` (preferred;
    :func:`crmlib.core.layout.artifacts_dir`, which also reads the older ``<YYYY-MM>/artifacts/``)
    or ``retention_targets.csv``: the analyst artifact written by the churn page with the
    clean ids, not the manager's download. Each period whose ``as_of`` (from its
    ``metrics/04_churn.json``, else the period's last day) is before ``as_of`` becomes a
    campaign named "Retention list YYYY-MM", contacted on that ``as_of``. The churn
    page's ``group`` column (target / seeded random control) is kept, and so are the
    scores (:data:`SCORE_COLUMNS`) for the targeting analysis.

    Assumption: the list was acted on as published (targets contacted, control not) on
    its ``as_of``; if nobody acted on it, the measurement should find no effect.
    """
    reports = Path(reports_dir)
    current = pd.Timestamp(as_of).normalize()
    frames = []
    if not reports.is_dir():
        return _empty_rows()
    for period_dir in sorted(p for p in reports.iterdir() if p.is_dir()):
        try:
            pd.Period(period_dir.name, freq="M")
        except (ValueError, TypeError):
            continue  # .runs, assets and other folders
        if len(period_dir.name) != 7:
            continue
        listed = _read_retention_list(layout.artifacts_dir(period_dir))
        if listed is None or listed.empty:
            continue
        contact = _period_as_of(period_dir)
        if contact >= current:
            continue
        rows = pd.DataFrame({
            "campaign": RETENTION_CAMPAIGN.format(period=period_dir.name),
            "source": RETENTION_SOURCE.format(period=period_dir.name),
            "customer_id": normalise_ids(listed["customer_id"]).astype(str).to_numpy(),
            "group": parse_group(listed["group"]).to_numpy(),
            "contact_date": contact,
            "cost_per_contact": np.nan,
            "channel": None,
        })
        for col in SCORE_COLUMNS:
            if col in listed.columns:
                rows[col] = pd.to_numeric(listed[col], errors="coerce").to_numpy()
        frames.append(rows[rows["group"].notna()])
    return pd.concat(frames, ignore_index=True) if frames else _empty_rows()


def _empty_rows() -> pd.DataFrame:
    rows = pd.DataFrame({c: pd.Series(dtype="object") for c in CAMPAIGN_COLUMNS})
    rows["contact_date"] = pd.Series(dtype="datetime64[ns]")
    rows["cost_per_contact"] = pd.Series(dtype="float64")
    return rows


# ============================================================================ validation
@dataclass
class Validation:
    """Rows fit to measure, and what was wrong, in plain words."""

    rows: pd.DataFrame
    errors: list[str] = field(default_factory=list)      # campaigns not measured, and why
    warnings: list[str] = field(default_factory=list)    # measured, with a caveat
    skipped: list[str] = field(default_factory=list)     # names of campaigns not measured


def validate_campaigns(rows: pd.DataFrame) -> Validation:
    """Check each campaign's lists before measuring; nothing is fixed silently.

    Rules per campaign: 1. a customer listed twice in the same group is counted once
    (earliest contact date), with a warning; 2. a customer in *both* groups cannot be
    assigned an outcome: they are left out, with a warning naming the campaign and
    example ids; when they are more than :data:`MAX_BOTH_GROUPS_SHARE` of the campaign
    the list itself is unreliable and the campaign is not measured (error); 3. a campaign
    without target customers is not measured (error); 4. a campaign without a control
    group is measured (group figures only) with a warning that no uplift is claimed.
    """
    kept, errors, warnings, skipped = [], [], [], []
    for name, part in rows.groupby("campaign", sort=False):
        part = part.sort_values("contact_date", kind="stable")
        repeats = int(part.duplicated(["customer_id", "group"]).sum())
        if repeats:
            warnings.append(_("Campaign '{campaign}': {count} customers are listed more than once in the same "
                              "group; each is counted once, from their first contact date.").format(
                campaign=md(campaign_label(name)), count=format_count(repeats)))
            part = part.drop_duplicates(["customer_id", "group"], keep="first")
        groups_per_id = part.groupby("customer_id")["group"].nunique()
        both = groups_per_id.index[groups_per_id > 1]
        if len(both):
            share = len(both) / groups_per_id.size
            examples = _examples(both)
            if share > MAX_BOTH_GROUPS_SHARE:
                errors.append(_("Campaign '{campaign}' is not measured: {count} customers ({share}) are in both the "
                                "target and the control group (e.g. {examples}), so the list cannot say who was "
                                "contacted. Fix the group column of the campaign file.").format(
                    campaign=md(campaign_label(name)), count=format_count(len(both)), share=f"{share:.0%}",
                    examples=examples))
                skipped.append(str(name))
                continue
            warnings.append(_("Campaign '{campaign}': {count} customers are in both the target and the control "
                              "group (e.g. {examples}); they are left out of the measurement.").format(
                campaign=md(campaign_label(name)), count=format_count(len(both)), examples=examples))
            part = part[~part["customer_id"].isin(both)]
        if not (part["group"] == "target").any():
            errors.append(_("Campaign '{campaign}' is not measured: it has no customers in the target group.").format(
                campaign=md(campaign_label(name))))
            skipped.append(str(name))
            continue
        if not (part["group"] == "control").any():
            warnings.append(_("Campaign '{campaign}' has no control group, so there is nothing to compare the "
                              "contacted customers with: their figures are shown, but no uplift is claimed.").format(
                campaign=md(campaign_label(name))))
        kept.append(part)
    out = pd.concat(kept, ignore_index=True) if kept else rows.iloc[0:0].copy()
    return Validation(rows=out, errors=errors, warnings=warnings, skipped=skipped)


# ============================================================================ all sources
@dataclass
class CampaignInputs:
    """Every campaign list of this period, matched and checked, with what was set aside."""

    rows: pd.DataFrame                   # validated rows ready to measure
    quarantine: pd.DataFrame             # unreadable file rows, with reasons
    unmatched: pd.DataFrame              # ids not found among the clean customer ids
    match_counts: pd.DataFrame           # per campaign and group: rows, matched, unmatched, case_fixed
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)    # where lists were looked for, in plain words

    @property
    def campaigns(self) -> list[str]:
        return list(dict.fromkeys(self.rows["campaign"])) if len(self.rows) else []


def known_customer_ids(transactions: pd.DataFrame, source: str | None = None) -> pd.Index:
    """Distinct clean customer ids of the transactions (of one ``source`` when given and present)."""
    ids = transactions["customer_id"]
    if source is not None and "source" in transactions.columns:
        of_source = (transactions["source"] == source).to_numpy(dtype=bool, na_value=False)
        if of_source.any():
            ids = ids[of_source]
    # distinct ids first (one hash pass): the text work is then per customer, not per line
    return pd.Index(pd.Index(ids.unique()).dropna().astype(str).unique())


def unify_member_ids(rows: pd.DataFrame, transactions: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """A campaign file's ids given as one unit's own member ids -> the unified customer ids.

    When identity resolution ran (``identity:`` in ``workbook.yml``), ``customer_id`` of the
    transactions is one id per person and the unit's own id is ``source_customer_id``; a
    campaign file with ``source: <unit>`` lists the unit's own ids, which are translated
    here. Ids not found stay as they are (and are then counted as unmatched, or match a
    unified id written directly). Without identity resolution or ``source`` nothing changes.
    """
    if not source or "source_customer_id" not in transactions.columns or rows.empty:
        return rows
    own = transactions.loc[transactions["source"] == source, ["source_customer_id", "customer_id"]].dropna()
    own = own.drop_duplicates("source_customer_id")
    lookup = pd.Series(own["customer_id"].astype(str).to_numpy(), index=own["source_customer_id"].astype(str))
    ids = normalise_ids(rows["customer_id"])
    return rows.assign(customer_id=ids.map(lookup).fillna(ids).astype(str).to_numpy())


def collect_campaigns(campaign_specs: list[Mapping[str, Any]] | None, root: str | Path | None,
                      reports_dir: str | Path | None, as_of: Any, transactions: pd.DataFrame) -> CampaignInputs:
    """Read, match and check every campaign of this period.

    Sources: the retention lists of earlier periods under ``reports_dir``
    (:func:`published_retention_lists`) and the campaign files ``campaign_specs`` (the
    ``campaigns:`` entries of ``workbook.yml``, :func:`read_campaign_file`). A file's
    ``source`` key restricts matching to that source's customers when the transactions
    carry it. Returns empty frames (not an error) when there is nothing to measure.
    """
    frames, quarantines, sources = [], [], []
    if reports_dir is not None:
        lists = published_retention_lists(reports_dir, as_of)
        sources.append(_("retention lists published before {date} in {folder}: {count} found").format(
            date=shown_date(as_of), folder=reports_dir, count=lists["campaign"].nunique()))
        if len(lists):
            frames.append(lists)
    for spec in campaign_specs or []:
        rows, quarantine = read_campaign_file(spec, root)
        sources.append(_("campaign file {path}: {rows} rows read, {set_aside} set aside").format(
            path=spec["path"], rows=format_count(len(rows)), set_aside=format_count(len(quarantine))))
        frames.append(rows)
        if len(quarantine):
            quarantines.append(quarantine)
    rows = pd.concat(frames, ignore_index=True) if frames else _empty_rows()
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else pd.DataFrame(columns=["file", "row", "reason"])
    reasons = "; ".join(_("{count} {reason}").format(count=format_count(n), reason=_(r))
                        for r, n in quarantine["reason"].value_counts().items()) if len(quarantine) else ""
    warnings = [_("{count} campaign file rows were set aside: {reasons}.").format(
        count=format_count(len(quarantine)), reasons=reasons)] if len(quarantine) else []
    matched, unmatched, counts = [], [], []
    id_source = rows["id_source"] if "id_source" in rows else pd.Series(None, index=rows.index, dtype="object")
    for source, part in rows.groupby(id_source.fillna(""), sort=False, dropna=False):
        part = unify_member_ids(part, transactions, source or None)
        match = match_ids(part, known_customer_ids(transactions, source or None))
        matched.append(match.rows)
        unmatched.append(match.unmatched)
        counts.append(match.counts)
        warnings += match.sentences()
    rows = pd.concat(matched, ignore_index=True) if matched else rows
    check = validate_campaigns(rows)
    return CampaignInputs(
        rows=check.rows, quarantine=quarantine,
        unmatched=pd.concat(unmatched, ignore_index=True) if unmatched else pd.DataFrame(columns=["campaign", "group", "customer_id"]),
        match_counts=pd.concat(counts, ignore_index=True) if counts else pd.DataFrame(),
        errors=check.errors, warnings=warnings + check.warnings, sources=sources,
    )
