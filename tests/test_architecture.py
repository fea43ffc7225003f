"""The layers hold: pages sit on the core, never on each other, and nothing imports in a circle.

Static checks with :mod:`ast` over the installed package's source (every import,
function-level ones included), so a sideways import cannot hide inside a function.
"""
from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

import crmlib
from crmlib.core.pages import load_pages

PACKAGE = Path(crmlib.__file__).resolve().parent
#: what a page may import besides its own modules: the core, the errors and intake
PAGE_MAY_IMPORT = ("crmlib.core", "crmlib.errors", "crmlib.io", "crmlib.parsing", "crmlib.schema", "crmlib.cleaning")
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The crmlib modules ``name`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _page_of(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 and parts[1] == "pages" else None


def test_no_import_circle_in_crmlib() -> None:
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _page_of(m)))
def test_a_page_imports_only_the_core_and_itself(module: str) -> None:
    page = _page_of(module)
    bad = sorted(t for t in GRAPH[module]
                 if not t.startswith(PAGE_MAY_IMPORT) and not (t == page or t.startswith(page + ".")))
    assert not bad, f"{module} imports {bad}: pages share what they need through the core, artifacts and metrics"


def test_the_core_and_intake_import_no_page() -> None:
    for module, targets in GRAPH.items():
        if module.startswith(("crmlib.core", "crmlib.io", "crmlib.parsing", "crmlib.schema", "crmlib.cleaning", "crmlib.errors")):
            assert not [t for t in targets if t.startswith("crmlib.pages")], module


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(("crmlib.core", "crmlib.pages"))))
def test_modules_stay_small(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it into a small package"


def test_notebook_names_appear_only_in_page_declarations() -> None:
    """A page's name is written once, in its ``PAGE`` (docstrings may mention it)."""
    names = "|".join(re.escape(n) for n in load_pages())
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        declared = {id(kw.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
                    and getattr(n.func, "id", None) == "Page" for kw in n.keywords if kw.arg in ("name", "reads")}
        declared |= {id(e) for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Page"
                     for kw in n.keywords if kw.arg == "reads" and isinstance(kw.value, ast.Tuple) for e in kw.value.elts}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and id(node) not in declared and re.search(rf"\b({names})\b", node.value)):
                pytest.fail(f"{module} line {node.lineno} names a notebook outside its declaration: {node.value!r}")
