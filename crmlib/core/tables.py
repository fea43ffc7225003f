"""Tables as managers read them: the one table formatter of every page.

A notebook shows a frame through :func:`manager_table` instead of printing the raw
pandas frame: no positional index, human headers, every cell formatted by
:mod:`crmlib.core.formatting` (thousands separators, currency, percentages, dates),
``–`` for a missing value, Yes/No for flags, numbers right-aligned, text escaped for
HTML, and only the columns a manager needs (the rest belong in the page's download).
The HTML is a plain ``<table class="crm-table">`` inside a scrolling wrapper, styled
by the report's one stylesheet, so wide tables never cut off on a phone or on A4.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crmlib.core import formatting

#: The kinds a column can be formatted as, and whether they are numbers (right-aligned).
KINDS: dict[str, bool] = {
    "text": False, "id": False, "flag": False, "date": False, "period": False,
    "count": True, "money": True, "percent": True, "points": True, "change": True, "ratio": True,
    "number": True, "figure": True,   # figure: text already formatted as a number (kept as given, right-aligned)
}
FLAG_WORDS = ("Yes", "No")
NUMBER_CELL = ' class="num"'  # right-aligned by the stylesheet


#: How ids are made fit to show (the run context installs its pseudonymiser, see
#: :meth:`crmlib.core.context.RunContext.shown_ids`); ``None`` shows ids as they are.
_id_filter: Callable[..., pd.DataFrame] | None = None


def show_ids_through(id_filter: Callable[..., pd.DataFrame] | None) -> None:
    """Route every ``"id"`` column of every manager table through ``id_filter(frame, *columns)``.

    :class:`~crmlib.core.context.RunContext` installs its ``shown_ids`` when a notebook
    starts, so an id that looks like a phone number or an e-mail address never reaches a
    page, whichever page builds the table.
    """
    global _id_filter
    _id_filter = id_filter


def _kind_of(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "flag"
    if pd.api.types.is_integer_dtype(values):
        return "count"
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        whole = bool(len(finite)) and bool((finite == finite.round()).all())
        return "count" if whole else "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    return "text"


def human_header(column: str) -> str:
    """``share_of_rows`` -> ``Share of rows`` (used when no label is given)."""
    text = str(column).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_cell(value: Any, kind: str, currency: str = "GBP") -> str:
    """One cell as text, by its ``kind`` (see :data:`KINDS`)."""
    if kind == "flag":
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return formatting.MISSING
        return FLAG_WORDS[0] if bool(value) else FLAG_WORDS[1]
    if kind == "money":
        return formatting.format_money(value, currency)
    if kind == "count":
        return formatting.format_count(value)
    if kind == "percent":
        return formatting.format_percent(value)
    if kind == "points":
        return formatting.format_points(value)
    if kind == "change":
        return formatting.format_change(value)
    if kind in ("ratio", "number"):
        v = formatting.as_number(value)
        return formatting.MISSING if v is None else f"{v:,.2f}"
    if kind == "date":
        return formatting.format_date(value)
    if kind == "period":
        return formatting.MISSING if value is None or value is pd.NA else formatting.format_period(value)
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return formatting.MISSING
    return str(value)


def _cell_class(numeric: bool, extra: str) -> str:
    names = " ".join(filter(None, ["num" if numeric else "", extra]))
    return f' class="{html.escape(names)}"' if names else ""


@dataclass
class ManagerTable:
    """A formatted table; shown as HTML in a notebook (``_repr_html_``)."""

    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]]
    caption: str | None = None
    more_rows: int = 0
    classes: list[list[str]] | None = None   # extra CSS classes per cell (e.g. "delta good"), or None

    def to_html(self) -> str:
        """The table as escaped HTML (no inline styles: the report's stylesheet styles it)."""
        align = [NUMBER_CELL if n else "" for n in self.numeric]
        head = "".join(f"<th{a}>{html.escape(h)}</th>" for h, a in zip(self.headers, align))
        classes = self.classes or [[""] * len(self.headers) for _ in self.rows]
        body = "".join(
            "<tr>" + "".join(f"<td{_cell_class(n, extra)}>{html.escape(cell)}</td>"
                             for cell, n, extra in zip(row, self.numeric, extra_row)) + "</tr>"
            for row, extra_row in zip(self.rows, classes)
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        more = (f'<p class="crm-table-more">{formatting.format_count(self.more_rows)} more rows '
                f'in the download.</p>' if self.more_rows else "")
        return (f'<div class="crm-table-wrap"><table class="crm-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>{more}")

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_frame(self) -> pd.DataFrame:
        """The formatted cells as a frame of text (for tests and plain-text output)."""
        return pd.DataFrame(self.rows, columns=self.headers)


def manager_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str | tuple[str, str]] | None = None,
    *,
    currency: str = "GBP",
    max_rows: int | None = None,
    caption: str | None = None,
    index: str | tuple[str, str] | None = None,
    cell_classes: Mapping[str, Any] | None = None,
) -> ManagerTable:
    """``frame`` formatted for a manager.

    ``columns`` maps each column to show to its header, or to ``(header, kind)``; only
    those columns are shown, in that order. Without it every column is shown with a
    header made from its name and a kind inferred from its dtype. ``index`` keeps a
    meaningful index (e.g. a segment name) as the first column, with that header. The
    positional 0..n index is never shown. ``max_rows`` cuts the table and says how many
    rows are left for the download. ``cell_classes`` maps a shown column to one CSS class
    per row (e.g. ``"delta good"`` for a change the stylesheet colours green).
    """
    data = frame.reset_index() if index is not None else frame
    if index is not None:
        first = data.columns[0]
        columns = {first: index, **(columns or {c: human_header(c) for c in frame.columns})}
    if columns is None:
        columns = {c: human_header(c) for c in data.columns}
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"manager_table: no column {missing[0]!r}; the frame has {list(data.columns)}")
    specs = []
    for column, spec in columns.items():
        header, kind = (spec, _kind_of(data[column])) if isinstance(spec, str) else spec
        if kind not in KINDS:
            raise ValueError(f"manager_table: unknown kind {kind!r} for {column!r}; kinds: {', '.join(KINDS)}")
        specs.append((column, header, kind))
    shown = data if max_rows is None else data.head(max_rows)
    id_columns = [column for column, _, kind in specs if kind == "id"]
    if id_columns and _id_filter is not None:
        shown = _id_filter(shown, *id_columns)
    rows = [[format_cell(value, kind, currency) for value in shown[column].tolist()]
            for column, _, kind in specs]
    classes = None
    if cell_classes:
        unknown = [c for c in cell_classes if c not in columns]
        if unknown:
            raise KeyError(f"manager_table: cell_classes for {unknown[0]!r}, which is not a shown column")
        per_column = [[str(v or "") for v in list(cell_classes[column])[:len(shown)]] if column in cell_classes
                      else [""] * len(shown) for column, _, _ in specs]
        classes = [list(r) for r in zip(*per_column)]
    return ManagerTable(
        headers=[header for _, header, _ in specs],
        numeric=[KINDS[kind] for _, _, kind in specs],
        rows=[list(r) for r in zip(*rows)] if rows else [],
        caption=caption,
        more_rows=max(len(data) - len(shown), 0),
        classes=classes,
    )
