"""The page declaration and the registry of pages.

A page is one notebook of the report plus its module. The module declares the page
once, as ``PAGE = Page(...)``: its name (the notebook's file name, e.g. ``"03_clv"``),
title, one-line description, the pages whose artifacts or metrics it reads, the shape
of its ``metrics/<name>.json`` (a ``TypedDict``, checked when written) and its line in
the executive summary. The runner, the site and the summary iterate over the declared
pages; nothing else names a notebook.

Discovery: the built-in page modules are listed in :data:`crmlib.pages.BUILTIN_PAGES`;
``workbook.yml`` may add modules under ``pages:`` (importable from the folder of
``workbook.yml``). Both lists are loaded by :func:`load_pages`, the same way. See
``docs/architecture.md``, "Adding a page".
"""
from __future__ import annotations

import importlib
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from crmlib.core.parameters import Parameter
from crmlib.errors import ConfigError, CrmError

#: ``reads`` entry meaning "every other page of the run" (the summary).
ALL_PAGES = "*"
#: Where the built-in page modules are listed (a module attribute, read at run time).
BUILTIN_LIST = ("crmlib.pages", "BUILTIN_PAGES")

#: A page's line in the summary: (its metrics, the currency) -> text, or None for "ran".
Finding = Callable[[Mapping[str, Any], str], "str | None"]


class PageMetrics(TypedDict):
    """What every ``metrics/<page>.json`` holds (added by ``RunContext.write_metrics``)."""

    notebook: str
    as_of: str
    period: str
    parameters: dict[str, Any]
    warnings: list[str]


class MetricsError(CrmError):
    """A page's metrics do not match what the page declared."""


@dataclass(frozen=True)
class Page:
    """One page of the report, declared once in its module as ``PAGE``.

    Parameters
    ----------
    name:
        The notebook's file name without ``.ipynb`` (``"03_clv"``); also the name of its
        HTML page, its ``--only`` name, its ``workbook.yml`` ``notebooks:`` key and its
        ``metrics/<name>.json``.
    title, description:
        The page's title and what it answers, in one line (navigation and indexes).
    reads:
        Names of the pages whose artifacts or metrics it reads; they run first.
        ``("*",)`` (:data:`ALL_PAGES`) means every other page of the run.
    metrics:
        A ``TypedDict`` describing ``metrics/<name>.json`` (required keys and types),
        checked by :func:`validate_metrics` when the page writes it; ``None`` = unchecked.
    finding:
        ``finding(metrics, currency)`` -> the page's line in the executive summary, or
        ``None`` when there is nothing to say beyond "ran".
    parameters:
        Optional ranges and choices of the notebook's parameters, by name
        (:class:`crmlib.core.parameters.Parameter`); their types come from the defaults in
        the ``parameters`` cell. The runner checks ``workbook.yml``'s ``notebooks:`` section
        against both before any notebook runs.
    """

    name: str
    title: str
    description: str
    reads: tuple[str, ...] = ()
    metrics: type | None = None
    finding: Finding | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    @property
    def reads_all(self) -> bool:
        return ALL_PAGES in self.reads


# --------------------------------------------------------------------------- discovery
_cache: dict[tuple[str, tuple[str, ...]], dict[str, Page]] = {}


def _import_page(module_name: str, root: Path | None) -> Page:
    added = root is not None and str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"pages: cannot import page module '{module_name}' ({exc})") from None
    finally:
        if added:
            sys.path.remove(str(root))
    page = getattr(module, "PAGE", None)
    if not isinstance(page, Page):
        raise ConfigError(f"pages: module '{module_name}' declares no PAGE = Page(...)")
    return page


def builtin_modules() -> tuple[str, ...]:
    """The module names of the built-in pages."""
    module, attribute = BUILTIN_LIST
    return tuple(getattr(importlib.import_module(module), attribute))


def load_pages(config: Mapping[str, Any] | None = None) -> dict[str, Page]:
    """Every declared page by name, in name order (so the summary, ``00_summary``, comes first).

    The built-in pages plus the modules under ``pages:`` of ``config`` (imported with
    the folder of ``workbook.yml`` on the import path). Two pages with one name, or a
    module without ``PAGE``, is a :class:`~crmlib.errors.ConfigError`.
    """
    config = config or {}
    root = Path(config["_root"]) if config.get("_root") else None
    extra = tuple(config.get("pages") or ())
    key = (str(root), extra)
    if key not in _cache:
        found: dict[str, Page] = {}
        for module_name in builtin_modules() + extra:
            page = _import_page(module_name, root if module_name in extra else None)
            if page.name in found:
                raise ConfigError(f"pages: two pages are named '{page.name}' (module '{module_name}')")
            found[page.name] = page
        _cache[key] = dict(sorted(found.items()))
    return dict(_cache[key])


def page(name: str, config: Mapping[str, Any] | None = None) -> Page:
    """The declared page called ``name``."""
    declared = load_pages(config)
    if name not in declared:
        raise ConfigError(f"no page is declared for notebook '{name}'; declared: {', '.join(declared)} "
                          "(add PAGE = Page(...) to a module listed under pages: in workbook.yml)")
    return declared[name]


def dependencies(declared: Mapping[str, Page], names: list[str]) -> dict[str, set[str]]:
    """For each of ``names`` (the pages of one run), the pages of the run it waits for.

    A page reading a page outside the run does not wait for it (``--only``, or a
    project with fewer notebooks); ``reads=("*",)`` waits for every other page.
    """
    graph = {}
    for name in names:
        p = declared[name]
        wanted = [n for n in names if n != name] if p.reads_all else list(p.reads)
        unknown = [r for r in wanted if r not in declared]
        if unknown:
            raise ConfigError(f"page {name} reads '{unknown[0]}', which no page declares")
        graph[name] = {r for r in wanted if r in names}
    return graph


# --------------------------------------------------------------------------- metrics
def _matches(value: Any, expected: Any) -> bool:
    if expected is Any:
        return True
    if expected is type(None) or expected is None:
        return value is None
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(expected))
    if origin is typing.Literal:
        return value in typing.get_args(expected)
    if origin in (list, tuple):
        args = typing.get_args(expected)
        return isinstance(value, (list, tuple)) and (not args or all(_matches(v, args[0]) for v in value))
    if origin is dict:
        args = typing.get_args(expected)
        return isinstance(value, dict) and (not args or all(_matches(v, args[1]) for v in value.values()))
    if typing.is_typeddict(expected):
        return isinstance(value, dict) and not _problems(value, expected)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _problems(metrics: Mapping[str, Any], schema: type, where: str = "") -> list[str]:
    hints = typing.get_type_hints(schema)
    problems = [f"'{where}{k}' is missing" for k in sorted(schema.__required_keys__) if k not in metrics]
    for key, expected in hints.items():
        if key in metrics and not _matches(metrics[key], expected):
            shown = repr(metrics[key])
            problems.append(f"'{where}{key}' should be {getattr(expected, '__name__', expected)}, "
                            f"got {shown[:60]}")
    return problems


def validate_metrics(page: Page, metrics: Mapping[str, Any]) -> None:
    """Raise :class:`MetricsError` when ``metrics`` lack a declared key or hold a wrong type.

    ``metrics`` are the JSON-ready values (after :func:`crmlib.core.writer.jsonable`).
    """
    if page.metrics is None:
        return
    problems = _problems(metrics, page.metrics)
    if problems:
        raise MetricsError(f"metrics of page {page.name} do not match its declaration "
                           f"({page.metrics.__name__}): " + "; ".join(problems))
