"""Notebook parameters: what each accepts, checked before any notebook runs.

A notebook's ``parameters`` cell is its signature: each parameter's default value gives
its type (``0.01`` a number, ``3`` a whole number, ``"invoice"`` text, ``True`` true or
false, ``[...]`` a list; ``None`` says nothing). A page may narrow a parameter in its
declaration, ``Page(parameters={"min_support": Parameter(low=0, high=1), ...})``: a
range, a set of choices, or ``optional=True`` when ``null`` means "the notebook's own
default behaviour". :func:`check_parameters` checks a ``notebooks:`` section of
``workbook.yml`` against both and raises one :class:`~crmlib.errors.ConfigError` in the
words the cleaning rules use, e.g. ``workbook.yml: notebooks.05_basket.min_support:
expected a number between 0 and 1, got 'high'``.
"""
from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmlib.errors import ConfigError

#: Kinds of value, named as messages name them.
NUMBER, WHOLE, TEXT, FLAG, LIST = "a number", "a whole number", "text", "true or false", "a list"


@dataclass(frozen=True)
class Parameter:
    """What one notebook parameter accepts, beyond the type of its default value.

    ``low``/``high``: inclusive bounds of a number (``None`` = open); ``choices``: the
    allowed values; ``optional``: ``null`` is allowed (the default's type aside);
    ``kind``: the kind of value when the default (``None``) does not give it.
    """

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False
    kind: str | None = None


def parameter_defaults(path: str | Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell, in order.

    Read with :mod:`ast` (papermill's line parser gives up on comments holding quotes);
    a default that is not a literal (an expression) is given as ``None``.
    """
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError as exc:
                raise ConfigError(f"{path}: the parameters cell is not valid Python ({exc.msg})") from None
            defaults: dict[str, Any] = {}
            for node in tree.body:
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign):
                    targets, value = [node.target], node.value
                else:
                    continue
                try:
                    default = ast.literal_eval(value) if value is not None else None
                except ValueError:
                    default = None
                defaults.update({t.id: default for t in targets if isinstance(t, ast.Name)})
            return defaults
    return {}


def _kind(default: Any, spec: Parameter) -> str | None:
    if spec.kind:
        return spec.kind
    if isinstance(default, bool):
        return FLAG
    if isinstance(default, int):
        return WHOLE
    if isinstance(default, float) or spec.low is not None or spec.high is not None:
        return NUMBER
    if isinstance(default, str):
        return TEXT
    if isinstance(default, (list, tuple)):
        return LIST
    return None


_TYPES: dict[str, type | tuple[type, ...]] = {TEXT: str, FLAG: bool, LIST: (list, tuple)}


def _fits_kind(value: Any, kind: str | None) -> bool:
    if kind in (NUMBER, WHOLE):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return kind == NUMBER or float(value).is_integer()
    return isinstance(value, _TYPES[kind]) if kind in _TYPES else True


def _shown(value: Any) -> str:
    """A value as ``workbook.yml`` writes it (``null``, ``true``), text quoted."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)


def _number(value: float) -> str:
    return f"{value:g}"


def expectation(default: Any, spec: Parameter | None = None) -> str | None:
    """What a parameter accepts, in words (``"a number between 0 and 1"``), or ``None``
    when anything goes (a ``None`` default without a declaration)."""
    spec = spec or Parameter()
    if spec.choices:
        text = "one of " + ", ".join(repr(c) for c in spec.choices)
    else:
        kind = _kind(default, spec)
        if kind is None:
            return None
        text = kind
        if spec.low is not None and spec.high is not None:
            text += f" between {_number(spec.low)} and {_number(spec.high)}"
        elif spec.low is not None:
            text += f" of at least {_number(spec.low)}"
        elif spec.high is not None:
            text += f" of at most {_number(spec.high)}"
    if spec.optional or default is None:
        text += " (or null)"
    return text


def accepts(value: Any, default: Any, spec: Parameter | None = None) -> bool:
    """Whether ``value`` is allowed for a parameter with this default and declaration."""
    spec = spec or Parameter()
    if value is None:
        return spec.optional or default is None
    if spec.choices:
        return value in spec.choices and not isinstance(value, bool)
    kind = _kind(default, spec)
    if kind is None:
        return True
    if not _fits_kind(value, kind):
        return False
    if kind in (NUMBER, WHOLE):
        return (spec.low is None or value >= spec.low) and (spec.high is None or value <= spec.high)
    return True


def check_parameters(where: str, page: str, given: Mapping[str, Any], defaults: Mapping[str, Any],
                     declared: Mapping[str, Parameter] | None = None) -> None:
    """Raise :class:`ConfigError` for the first value of ``given`` (a ``notebooks:`` section)
    that its notebook's parameter does not accept: ``<where>: notebooks.<page>.<key>:
    expected <what>, got <value>``. Unknown keys are the caller's check."""
    declared = declared or {}
    for key, value in given.items():
        if key not in defaults:
            continue
        spec = declared.get(key)
        if not accepts(value, defaults[key], spec):
            raise ConfigError(f"{where}: notebooks.{page}.{key}: expected {expectation(defaults[key], spec)}, "
                              f"got {_shown(value)}")


__all__ = ["Parameter", "accepts", "check_parameters", "expectation", "parameter_defaults"]
