"""The data-cleaning page (01): what came in, what was set aside and why, the clean data's profile.

The cleaning itself is intake's engine, :mod:`crmlib.cleaning` (rules, audit,
quarantine); this page shows its result to managers, and declares itself as ``PAGE``.
Data values in its sentences (source and file names, countries) go through
:func:`crmlib.core.text.md`; its tables through :func:`crmlib.core.tables.manager_table`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any, TypedDict

import re

import numpy as np
import pandas as pd

from crmlib import schema
from crmlib.cleaning import REASON_TEXT, REASONS, CleaningResult, clean_sources, resolve_rules
from crmlib.core.formatting import format_count, format_date, format_money, format_percent, format_period
from crmlib.core.i18n import N_, _, get_language
from crmlib.core.parameters import Parameter
from crmlib.core.pages import Page, PageMetrics
from crmlib.core.tables import ManagerTable, manager_table
from crmlib.core.text import md


def reason_text(reason: str) -> str:
    """A cleaning reason in plain words in the report's language, without the setting that
    controls it (that belongs to the analysts' section): "dated before the plausible window
    (cleaning.date_window) …" -> "dated before the plausible window …"."""
    text = _(REASON_TEXT[reason]) if reason in REASON_TEXT else reason.replace("_", " ")
    return re.sub(r"\s*\([a-z_]+\.[a-z_.]+\)", "", text)


#: The bands of :func:`customer_overlap` (values of its ``found_in`` column; shown through ``_()``).
SOURCE_BANDS = (N_("1 source"), N_("2 sources"), N_("3+ sources"))
#: Canonical columns as a reader sees them in the intake's column mappings (shown through ``_()``).
COLUMN_WORDS: dict[str, str] = {
    schema.CUSTOMER_ID: N_("customer id"), schema.INVOICE_ID: N_("invoice id"),
    schema.INVOICE_DATE: N_("invoice date"), schema.PRODUCT_ID: N_("product id"),
    schema.PRODUCT_NAME: N_("product name"), schema.QUANTITY: N_("quantity"),
    schema.UNIT_PRICE: N_("unit price"), schema.AMOUNT: N_("amount"), schema.COUNTRY: N_("country"),
    "category": N_("category"), "channel": N_("channel"), "store": N_("store"),
}


def _day(iso: str) -> str:
    """A date of the audit (``2011-11-30``): as it is in English, the Korean way in Korean."""
    return iso if get_language() == "en" else format_date(iso)

@dataclass
class CustomerOverlap:
    """How customers spread over several sources (stores, business units, web/shop).

    ``by_source_count``: customers found in 1, 2, 3+ sources, their share of customers
    and of revenue. ``pairs``: the largest overlaps between two sources (shared
    customers and what they spend in total). ``per_source``: customers and revenue of
    each source, with how many of its customers also buy elsewhere.
    """

    by_source_count: pd.DataFrame
    pairs: pd.DataFrame
    per_source: pd.DataFrame


def customer_overlap(transactions: pd.DataFrame, top: int = 10) -> CustomerOverlap:
    """The "one customer view" of integrated sources (known customers only).

    Assumptions:
    1. The same ``customer_id`` in two sources is the same person (ids are shared
       across the sources, e.g. a loyalty number); no fuzzy matching is attempted.
    2. Anonymous lines are left out: they cannot be attributed to a customer.
    """
    known = schema.known_customers(transactions)
    cs = (known.groupby([schema.CUSTOMER_ID, schema.SOURCE], sort=False, observed=True)[schema.AMOUNT]
          .sum().rename("revenue").reset_index())
    n_sources = cs.groupby(schema.CUSTOMER_ID, sort=False)[schema.SOURCE].transform("size")
    per_customer = cs.assign(n_sources=n_sources).groupby(schema.CUSTOMER_ID, sort=False).agg(
        n_sources=("n_sources", "first"), revenue=("revenue", "sum"))
    one, two, more = SOURCE_BANDS
    band = np.where(per_customer["n_sources"] >= 3, more, np.where(per_customer["n_sources"] == 2, two, one))
    by_count = (per_customer.groupby(band).agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
                .reindex(list(SOURCE_BANDS), fill_value=0))
    by_count["customer_share"] = by_count["customers"] / max(int(by_count["customers"].sum()), 1)
    by_count["revenue_share"] = by_count["revenue"] / (by_count["revenue"].sum() or 1.0)
    by_count.index.name = "found_in"

    multi = cs.loc[n_sources.to_numpy() > 1, [schema.CUSTOMER_ID, schema.SOURCE]]
    pairs = multi.merge(multi, on=schema.CUSTOMER_ID, suffixes=("_a", "_b"))
    pairs = pairs.loc[pairs["source_a"] < pairs["source_b"]]
    pairs = pairs.merge(per_customer["revenue"], left_on=schema.CUSTOMER_ID, right_index=True)
    pairs = (pairs.groupby(["source_a", "source_b"], sort=False)
             .agg(shared_customers=(schema.CUSTOMER_ID, "size"), shared_customers_revenue=("revenue", "sum"))
             .sort_values("shared_customers", ascending=False).head(top).reset_index())

    per_source = cs.assign(elsewhere=n_sources.to_numpy() > 1).groupby(schema.SOURCE, sort=True).agg(
        customers=(schema.CUSTOMER_ID, "size"), revenue=("revenue", "sum"),
        also_elsewhere=("elsewhere", "sum"))
    per_source["also_elsewhere_share"] = per_source["also_elsewhere"] / per_source["customers"].clip(lower=1)
    return CustomerOverlap(by_source_count=by_count.reset_index(), pairs=pairs,
                           per_source=per_source.reset_index())


def rules_with_overrides(rules: dict[str, Any] | None, *, returns_mode: str | None = None,
                         outlier_action: str | None = None) -> dict[str, Any]:
    """The ``cleaning:`` mapping with a notebook's parameters laid over it (``None`` = keep)."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (rules or {}).items()}
    for rule, key, value in (("returns", "mode", returns_mode), ("outliers", "action", outlier_action)):
        if value is not None:
            current = merged.get(rule)
            current = {"enabled": current} if isinstance(current, bool) else dict(current or {})
            merged[rule] = {**current, key: value, "enabled": True}
    resolve_rules(merged)  # fail early, naming the bad value
    return merged


#: The clean-log columns the page's profile, monthly chart, countries and one-customer view read
#: (``CleaningResult.read_transactions``): a log cleaned in parts is not loaded whole.
COLUMNS = (schema.INVOICE_DATE, schema.CUSTOMER_ID, schema.INVOICE_ID, schema.PRODUCT_ID, schema.COUNTRY,
           schema.SOURCE, schema.AMOUNT, schema.IS_OUTLIER)
#: Of those, the text columns read as categoricals (product codes and countries repeat on every
#: line: a byte or two a line instead of a string; at 100M lines about 3 GB less).
CATEGORIES = (schema.PRODUCT_ID, schema.COUNTRY)
#: The columns of the flagged-lines table (read for the flagged lines only).
FLAGGED_COLUMNS = (schema.INVOICE_DATE, schema.CUSTOMER_ID, schema.PRODUCT_ID, schema.PRODUCT_NAME,
                   schema.QUANTITY, schema.UNIT_PRICE, schema.AMOUNT, schema.IS_OUTLIER)


def run_cleaning(ctx: Any, *, returns_mode: str | None = None, outlier_action: str | None = None) -> CleaningResult:
    """Clean the sources of a :class:`~crmlib.core.context.RunContext` (the page's main step).

    Uses the run's ``as_of`` and the ``cleaning:`` rules of ``workbook.yml`` with the
    notebook's overrides.
    """
    rules = rules_with_overrides(ctx.config.get("cleaning"), returns_mode=returns_mode, outlier_action=outlier_action)
    return clean_sources(ctx.sources, as_of=ctx.as_of, rules=rules, identity=ctx.config.get("identity"),
                         root=ctx.config["_root"], workdir=ctx.scratch_dir())


def rule_table(audit: dict[str, Any]) -> pd.DataFrame:
    """Rows and revenue set aside by each reason, in rule order (for the notebook's chart).

    ``revenue`` is quantity x price of the lines as read (return lines count negative).
    """
    rows = [(r, reason_text(r), audit["by_rule"][r], audit["revenue_by_rule"].get(r, 0.0))
            for r in REASONS if r in audit["by_rule"]]
    table = pd.DataFrame(rows, columns=["reason", "meaning", "rows", "revenue"])
    table["share_of_rows"] = table["rows"] / max(audit["rows_in"], 1)
    return table


def rule_summary(table: pd.DataFrame, currency: str = "GBP") -> ManagerTable:
    """:func:`rule_table` for a manager."""
    return manager_table(table, {"meaning": (_("Reason"), "text"), "rows": (_("Rows"), "count"),
                                 "share_of_rows": (_("Share of rows read"), "percent"),
                                 "revenue": (_("Their value"), "money")}, currency=currency)


def plot_rule_table(table: pd.DataFrame, currency: str = "GBP"):
    """Two bar charts side by side: rows and revenue set aside by reason."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from crmlib.core import plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.5 * max(len(table), 3) + 1.5), sharey=True)
    labels = [m if len(m) <= 40 else m[:39] + "…" for m in table["meaning"]]
    left.barh(labels, table["rows"], color=plots.PALETTE[0])
    plots.count_axis(left, axis="x")
    plots.label(left, _("Rows set aside, by reason"), _("rows"), "")
    right.barh(labels, table["revenue"], color=np.where(table["revenue"] < 0, plots.PALETTE[1], plots.PALETTE[0]))
    plots.money_axis(right, currency, axis="x")
    right.xaxis.set_major_locator(MaxNLocator(5))
    plots.label(right, _("Their value (quantity x price as read)"), _("revenue ({currency})").format(currency=currency),
                "")
    left.invert_yaxis()
    fig.tight_layout()
    return fig


def _distinct(values: pd.Series, *, skip_empty: bool = False) -> int:
    """``values.nunique()`` (``skip_empty``: the empty string not counted either), counted
    by Arrow on Arrow text without building a pandas hash table (10M lines: 0.1 s, not 1 s)."""
    chunked = getattr(values.array, "_pa_array", None)
    if chunked is None:
        values = values[values.astype("str") != ""] if skip_empty else values
        return int(values.nunique())
    import pyarrow as pa
    import pyarrow.compute as pc

    count = pc.count_distinct(chunked, mode="only_valid").as_py()
    if skip_empty and pc.any(pc.equal(chunked, pa.scalar("", chunked.type))).as_py():
        count -= 1
    return int(count)


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a column (-1 = missing) and how many distinct values it has."""
    codes, uniques = pd.factorize(values)
    return codes, len(uniques)


def _distinct_per_group(group: np.ndarray, n_groups: int, values: pd.Series) -> np.ndarray:
    """How many distinct non-missing ``values`` each group ``0..n_groups-1`` holds (integer codes, no strings hashed twice)."""
    codes, n = _codes(values)
    present = (codes >= 0) & (group >= 0)
    pairs = pd.unique(group[present].astype(np.int64) * max(n, 1) + codes[present])
    return np.bincount(pairs // max(n, 1), minlength=n_groups)[:n_groups].astype("int64")


def profile(transactions: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of the clean data (known customers counted without anonymous lines)."""
    revenue = float(transactions[schema.AMOUNT].sum())
    anonymous = transactions[schema.CUSTOMER_ID].isna()
    return {
        "first_date": str(transactions[schema.INVOICE_DATE].min().date()),
        "last_date": str(transactions[schema.INVOICE_DATE].max().date()),
        "customers": _distinct(transactions[schema.CUSTOMER_ID], skip_empty=True),
        "invoices": _distinct(transactions[schema.INVOICE_ID]),
        "products": _distinct(transactions[schema.PRODUCT_ID]),
        "countries": _distinct(transactions[schema.COUNTRY]) if schema.COUNTRY in transactions else 0,
        "sources": _distinct(transactions[schema.SOURCE]),
        "revenue": round(revenue, 2),
        "anonymous_rows": int(anonymous.sum()),
        "anonymous_share": float(anonymous.mean()) if len(transactions) else 0.0,
        "anonymous_revenue_share": float(transactions.loc[anonymous, schema.AMOUNT].sum() / revenue) if revenue else 0.0,
        "outlier_lines": int(transactions[schema.IS_OUTLIER].sum()),
    }


def revenue_by_month(transactions: pd.DataFrame) -> pd.DataFrame:
    """Revenue, invoices and known customers per calendar month (every month in the range)."""
    dates = transactions[schema.INVOICE_DATE].to_numpy(dtype="datetime64[ns]")
    month = dates.astype("datetime64[M]").astype(np.int64)                 # months since 1970-01
    first = int(month.min())
    month = month - first
    n_months = int(month.max()) + 1
    full = pd.period_range(pd.Period(np.datetime64(first, "M"), freq="M"), periods=n_months, freq="M")
    revenue = transactions[schema.AMOUNT].groupby(month, sort=True).sum()  # pandas' summation, as before
    out = pd.DataFrame({
        "revenue": revenue.reindex(range(n_months), fill_value=0.0).to_numpy(),
        "invoices": _distinct_per_group(month, n_months, transactions[schema.INVOICE_ID]),
        "customers": _distinct_per_group(month, n_months, transactions[schema.CUSTOMER_ID]),
    }, index=pd.PeriodIndex(full, name="month"))
    return out


def plot_revenue_by_month(monthly: pd.DataFrame, currency: str = "GBP"):
    """Bar chart of clean revenue per month."""
    import matplotlib.pyplot as plt

    from crmlib.core import plots

    fig, ax = plt.subplots()
    ax.bar([format_period(month) for month in monthly.index], monthly["revenue"], color=plots.PALETTE[0])
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    plots.money_axis(ax, currency)
    plots.label(ax, _("Revenue per month (clean purchase lines)"), _("month"),
                _("revenue ({currency})").format(currency=currency))
    fig.tight_layout()
    return fig


def top_countries(transactions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Countries by revenue with their share of revenue and of known customers."""
    if schema.COUNTRY not in transactions or transactions[schema.COUNTRY].isna().all():
        return pd.DataFrame(columns=["country", "revenue", "revenue_share", "customers"])
    country, names = pd.factorize(transactions[schema.COUNTRY], sort=True)  # groups by code, in name order
    revenue = transactions[schema.AMOUNT].groupby(country, sort=True).sum()  # code -1 (no country) left out below
    out = pd.DataFrame({"revenue": revenue.reindex(range(len(names)), fill_value=0.0).to_numpy(),
                        "customers": _distinct_per_group(country, len(names), transactions[schema.CUSTOMER_ID])},
                       index=pd.Index(names, name=schema.COUNTRY))
    out["revenue_share"] = out["revenue"] / out["revenue"].sum()
    return out.sort_values("revenue", ascending=False).head(n).reset_index()[
        ["country", "revenue", "revenue_share", "customers"]]


def intake_table(audit: dict[str, Any]) -> ManagerTable:
    """What came in: one row per source file."""
    frame = pd.DataFrame([{"name": s["name"], "file": Path(s["path"]).name,
                           "layout": _("custom") if s["layout"] == "custom" else s["layout"].replace("_", " "),
                           "encoding": s["encoding"],
                           "rows": s["rows_in"]} for s in audit["sources"]],
                         columns=["name", "file", "layout", "encoding", "rows"])
    return manager_table(frame, {"name": (_("Source"), "text"), "file": (_("File"), "text"),
                                 "layout": (_("Layout recognised"), "text"), "encoding": (_("Text encoding"), "text"),
                                 "rows": (_("Rows read"), "count")})


def countries_table(countries: pd.DataFrame, currency: str = "GBP") -> ManagerTable:
    """:func:`top_countries` for a manager."""
    return manager_table(countries, {"country": (_("Country"), "text"), "revenue": (_("Revenue"), "money"),
                                     "revenue_share": (_("Share of revenue"), "percent"),
                                     "customers": (_("Known customers"), "count")}, currency=currency)


def intake_markdown(audit: dict[str, Any]) -> str:
    """What came in, in words: rows read, files, the analysis date, and custom column mappings."""
    n_files = len(audit["sources"])
    rows = (_("1 row") if audit["rows_in"] == 1 else _("{count} rows")).format(count=format_count(audit["rows_in"]))
    files = (_("1 file") if n_files == 1 else _("{count} files")).format(count=n_files)
    lines = [_("**{rows}** read from {files}; the analysis date is **{date}**: later rows belong to a later "
               "report.").format(rows=rows, files=files, date=md(_day(audit["as_of"])))]
    for s in audit["sources"]:
        if s["layout"] == "custom":
            pairs = ", ".join(f"{md(_(COLUMN_WORDS[canonical]) if canonical in COLUMN_WORDS else canonical.replace('_', ' '))}"
                              f" = {md(repr(str(column)))}" for canonical, column in s["columns"].items())
            lines.append("\n" + _("Columns of **{source}** (set in the settings or recognised by name): {pairs}.")
                         .format(source=md(s["name"]), pairs=pairs))
    return "\n".join(lines)


def outcome_markdown(audit: dict[str, Any], currency: str = "GBP") -> str:
    """Kept versus set aside, in words."""
    share = audit["rows_quarantined"] / max(audit["rows_in"], 1)
    top = sorted(audit["by_rule"].items(), key=lambda kv: -kv[1])[:3]
    main = ", ".join(f"{reason_text(r)} ({format_count(c)})" for r, c in top)
    return _("**{kept} rows kept** and **{set_aside} set aside** ({share}), each kept with its reason for the "
             "analysts; nothing is dropped silently ({read} = {kept} + {set_aside}). The main reasons: {reasons}. "
             "Clean revenue: **{revenue}**.").format(
        kept=format_count(audit["rows_kept"]), set_aside=format_count(audit["rows_quarantined"]),
        share=format_percent(share), read=format_count(audit["rows_in"]), reasons=main,
        revenue=format_money(audit["revenue_kept"], currency, compact=True))


def returns_markdown(audit: dict[str, Any], currency: str = "GBP") -> str:
    """How returns and cancellations were treated, with the numbers."""
    r = audit["returns"]
    if r["mode"] == "off":
        return _("Return handling is switched off: negative quantities are set aside as *zero or negative "
                 "quantity*.")
    if r["mode"] == "quarantine":
        return _("{lines} return and cancellation lines were set aside; the purchases they refer to are kept whole, "
                 "so revenue includes goods that came back.").format(lines=format_count(r.get("return_lines", 0)))
    return _(
        "{lines} return and cancellation lines ({units} units) were **netted** against the same customer's earlier "
        "purchases of the same product, latest purchase first: {returned} purchase lines were returned in full and "
        "set aside, {reduced} were reduced (by {value}). {unmatched} returned units had no matching purchase in the "
        "data (bought before the data starts, or returned without a customer id): only their return line was set "
        "aside."
    ).format(lines=format_count(r.get("return_lines", 0)), units=format_count(r.get("quantity_returned", 0)),
             returned=format_count(r.get("purchase_lines_fully_returned", 0)),
             reduced=format_count(r.get("purchase_lines_reduced", 0)),
             value=format_money(r.get("revenue_netted_from_kept_lines", 0), currency, compact=True),
             unmatched=format_count(r.get("quantity_unmatched", 0)))


def profile_markdown(facts: dict[str, Any], currency: str = "GBP") -> str:
    """The clean data in one paragraph."""
    return _(
        "From **{first}** to **{last}**: **{revenue}** of sales in {invoices} invoices, {customers} known customers, "
        "{products} products, {countries} countries. {anonymous} lines ({anonymous_share}, {anonymous_revenue_share} "
        "of sales) have no customer id: they count toward sales but not toward customer analyses (segments, "
        "lifetime value, churn, recommendations). {outliers} lines with an unusual quantity or price are flagged "
        "and kept."
    ).format(first=_day(facts["first_date"]), last=_day(facts["last_date"]),
             revenue=format_money(facts["revenue"], currency, compact=True), invoices=format_count(facts["invoices"]),
             customers=format_count(facts["customers"]), products=format_count(facts["products"]),
             countries=format_count(facts["countries"]), anonymous=format_count(facts["anonymous_rows"]),
             anonymous_share=format_percent(facts["anonymous_share"]),
             anonymous_revenue_share=format_percent(facts["anonymous_revenue_share"]),
             outliers=format_count(facts["outlier_lines"]))


def quality_warnings(audit: dict[str, Any], facts: dict[str, Any], monthly: pd.DataFrame | None = None,
                     currency: str = "GBP") -> list[str]:
    """Data-quality warnings in plain words, for the report (empty when all is well)."""
    out = []
    later = audit["by_rule"].get("after_as_of", 0)  # not dirt: those rows belong to later reports
    share = (audit["rows_quarantined"] - later) / max(audit["rows_in"] - later, 1)
    if share > 0.10:
        out.append(_("{share} of the rows up to the analysis date were set aside by cleaning; see the cleaning page "
                     "for the reasons.").format(share=format_percent(share)))
    if audit["by_rule"].get("invalid_value"):
        out.append(_("{rows} rows had a date, number or id that could not be read and were left out.")
                   .format(rows=format_count(audit["by_rule"]["invalid_value"])))
    if facts["anonymous_share"] > 0.05:
        out.append(_("{share} of the clean lines ({revenue_share} of sales) have no customer id; customer analyses "
                     "leave them out.").format(share=format_percent(facts["anonymous_share"]),
                                               revenue_share=format_percent(facts["anonymous_revenue_share"])))
    anonymous_returns = audit["returns"].get("anonymous_return_value", 0)
    if anonymous_returns:
        out.append(_("Returns worth {value} came back without a customer id, so they could not be taken off the "
                     "purchase they undo: sales are overstated by at most that much.")
                   .format(value=format_money(anonymous_returns, currency, compact=True)))
    if facts["outlier_lines"]:
        out.append(_("{lines} lines have an unusual quantity or price; they are kept and flagged, check them before "
                     "quoting single large orders.").format(lines=format_count(facts["outlier_lines"])))
    if monthly is not None and len(monthly):
        if len(monthly) < 13:
            out.append((_("Only 1 month of clean data: year-on-year comparisons are not possible yet.")
                        if len(monthly) == 1 else
                        _("Only {count} months of clean data: year-on-year comparisons are not possible yet."))
                       .format(count=len(monthly)))
        empty = monthly.index[monthly["revenue"] <= 0]
        if len(empty):
            out.append(_("No sales at all in {months}: the data may have a gap.")
                       .format(months=", ".join(format_period(m) for m in empty[:5])))
    return out


def headline_metrics(result: CleaningResult, facts: dict[str, Any]) -> dict[str, Any]:
    """What notebook 01 writes to ``metrics/01_data_cleaning.json`` (read by the summary)."""
    a = result.audit
    return {
        "rows_in": a["rows_in"], "rows_kept": a["rows_kept"], "rows_quarantined": a["rows_quarantined"],
        "quarantined_share": a["rows_quarantined"] / max(a["rows_in"], 1),
        "by_rule": a["by_rule"], "revenue_by_rule": a["revenue_by_rule"],
        "returns_mode": a["returns"]["mode"], "outlier_action": a["outliers"]["action"],
        **facts,
        **({"customer_view": a["customer_view"]} if "customer_view" in a else {}),
    }


def overlap_markdown(view: CustomerOverlap, currency: str = "GBP") -> str:
    """The one customer view in words."""
    counts = view.by_source_count.set_index("found_in")
    multi = counts.loc[list(SOURCE_BANDS[1:])]
    text = _("{customers} customers ({customer_share}) buy in more than one source and bring {revenue_share} of "
             "the revenue of known customers.").format(customers=format_count(multi["customers"].sum()),
                                                       customer_share=format_percent(multi["customer_share"].sum()),
                                                       revenue_share=format_percent(multi["revenue_share"].sum()))
    if not len(view.pairs):
        text += " " + _("No customer id appears in two sources: if the same people do buy in several of them, the "
                        "sources do not share one customer numbering and cannot be integrated on ids alone.")
    else:
        top = view.pairs.iloc[0]
        text += " " + _("The largest overlap is {source} and {other}: {customers} shared customers spending {revenue} "
                        "in total.").format(source=md(top["source_a"]), other=md(top["source_b"]),
                                            customers=format_count(top["shared_customers"]),
                                            revenue=format_money(top["shared_customers_revenue"], currency,
                                                                 compact=True))
    return text


def flagged_lines(transactions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The largest lines flagged as outliers (ids and products only, no personal data)."""
    cols = [c for c in (schema.INVOICE_DATE, schema.CUSTOMER_ID, schema.PRODUCT_ID, schema.PRODUCT_NAME,
                        schema.QUANTITY, schema.UNIT_PRICE, schema.AMOUNT) if c in transactions]
    flagged = transactions.loc[transactions[schema.IS_OUTLIER], cols]
    return flagged.sort_values(schema.AMOUNT, ascending=False).head(n).reset_index(drop=True)


def overlap_tables(view: CustomerOverlap, currency: str = "GBP") -> tuple[ManagerTable, ManagerTable]:
    """The one customer view's two tables for a manager: by number of sources, largest overlaps."""
    counts = manager_table(view.by_source_count.assign(found_in=view.by_source_count["found_in"].map(_)), {
        "found_in": (_("Customers found in"), "text"), "customers": (_("Customers"), "count"),
        "customer_share": (_("Share of customers"), "percent"), "revenue": (_("Revenue"), "money"),
        "revenue_share": (_("Share of revenue"), "percent")}, currency=currency)
    pairs = manager_table(view.pairs, {
        "source_a": (_("Source"), "text"), "source_b": (_("And source"), "text"),
        "shared_customers": (_("Shared customers"), "count"),
        "shared_customers_revenue": (_("Their revenue"), "money")}, currency=currency)
    return counts, pairs


def flagged_table(flagged: pd.DataFrame, currency: str = "GBP") -> ManagerTable:
    """:func:`flagged_lines` for a manager."""
    labels = {schema.INVOICE_DATE: (_("Date"), "date"), schema.CUSTOMER_ID: (_("Customer id"), "id"),
              schema.PRODUCT_ID: (_("Product code"), "id"), schema.PRODUCT_NAME: (_("Product"), "text"),
              schema.QUANTITY: (_("Quantity"), "count"), schema.UNIT_PRICE: (_("Unit price"), "money"),
              schema.AMOUNT: (_("Amount"), "money")}
    return manager_table(flagged, {c: labels[c] for c in flagged.columns if c in labels}, currency=currency)


def analyst_notes(audit: dict[str, Any]) -> str:
    """Markdown for the page's "For analysts" section: settings and files."""
    return "\n".join([
        "- " + _("Returns are handled in mode **{returns}** and unusual lines with action **{outliers}**; change them "
                 "in the settings file under `cleaning:` (`returns: mode: net | quarantine | off`, `outliers: action: "
                 "flag | cap | quarantine`) or with the page's parameters `returns_mode`, `outlier_action`.")
        .format(returns=md(audit["returns"]["mode"]), outliers=md(audit["outliers"]["action"])),
        "- " + _("Rules run in a fixed order and a row is set aside by the first rule it fails: {rules}.").format(
            rules="; ".join(f"{md(r)} = {md(_(REASON_TEXT[r]) if r in REASON_TEXT else r)}" for r in REASONS)),
        "- " + _("Kept with the run's analyst files: the clean lines (`transactions`), every row set aside with its "
                 "file, row number and reason (`quarantine`), and the counts above (`cleaning_audit`). Unusual lines "
                 "carry the flag `is_outlier`."),
    ])


# --------------------------------------------------------------------------- the page
class _IdentityMetrics(TypedDict, total=False):
    """Keys only present with ``identity:`` in ``workbook.yml`` (:mod:`crmlib.core.identity`)."""

    customer_view: dict[str, Any]


class CleaningMetrics(PageMetrics, _IdentityMetrics):
    """``metrics/01_data_cleaning.json`` (see :func:`headline_metrics`)."""

    rows_in: int
    rows_kept: int
    rows_quarantined: int
    quarantined_share: float
    by_rule: dict[str, int]
    revenue_by_rule: dict[str, float]
    returns_mode: str
    outlier_action: str
    first_date: str
    last_date: str
    customers: int
    invoices: int
    products: int
    countries: int
    sources: int
    revenue: float
    anonymous_rows: int
    anonymous_share: float
    anonymous_revenue_share: float
    outlier_lines: int


def finding(m: Mapping[str, Any], currency: str) -> str | None:
    """The summary's line: rows kept, what was set aside most often, anonymous revenue."""
    if m["rows_in"] == 0:
        return None
    counts = {rule: int(rows) for rule, rows in m["by_rule"].items()}
    later = counts.pop("after_as_of", 0)  # not dirt: those rows belong to later reports
    text = _("{kept} of {read} rows kept").format(kept=format_count(m["rows_kept"]), read=format_count(m["rows_in"]))
    if later:
        text += _(" ({later} dated after the analysis date, left for later reports)").format(later=format_count(later))
    if counts and max(counts.values()) > 0:
        rule = max(counts, key=counts.get)
        text += _("; {set_aside} set aside, each with its reason, most often {reason} ({rows} rows)").format(
            set_aside=format_count(sum(counts.values())), reason=reason_text(rule), rows=format_count(counts[rule]))
    if m["anonymous_revenue_share"] > 0:
        text += _("; {share} of revenue comes from lines without a customer id, counted in sales but not in customer "
                  "analyses").format(share=format_percent(m["anonymous_revenue_share"]))
    return text + "."


PAGE = Page(
    name="01_data_cleaning",
    title=N_("Data quality and cleaning"),
    description=N_("What data came in, what was set aside and why, and how far the numbers can be trusted."),
    reads=(),
    metrics=CleaningMetrics,
    finding=finding,
    parameters={"returns_mode": Parameter(choices=("net", "quarantine"), optional=True),
                "outlier_action": Parameter(choices=("flag", "cap", "quarantine"), optional=True)},
)
