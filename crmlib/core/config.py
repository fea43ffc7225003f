"""Read and check ``workbook.yml``, the workbook's one configuration file.

Unknown keys are an error naming the key and the keys allowed there, so that a typo
never silently falls back to a default. Paths in the file are relative to the file.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from crmlib.errors import ConfigError

CONFIG_NAME = "workbook.yml"

SOURCE_DEFAULTS: dict[str, Any] = {
    "path": None,
    "name": None,          # becomes the `source` column; default: the file's stem
    "layout": "auto",      # auto | online_retail | online_retail_ii | cdnow | custom
    "encoding": "auto",
    "date_format": None,   # e.g. "%Y%m%d"; None = infer
    "dayfirst": False,
    "decimal": ".",        # "," for decimal-comma exports
    "thousands": None,     # e.g. "," for 1,234.50; None = "." with decimal ",", else detected
    "delimiter": None,     # None = sniff
    "sheet": None,         # Excel: None = every sheet; a name, 0-based index or list = those sheets
    "columns": {},         # canonical name -> column in this file
}

CUSTOMERS_DEFAULTS: dict[str, Any] = {
    "path": None,
    "encoding": "auto",
    "delimiter": None,
    "decimal": ".",
    "sheet": 0,
    "columns": {},
}

DEFAULTS: dict[str, Any] = {
    "currency": "GBP",
    "language": "en",
    "sources": [],
    "customers": CUSTOMERS_DEFAULTS,
    "cleaning": {},        # checked against crmlib.cleaning's rule parameters
    "segments": {},        # checked by crmlib.core.summaries (e.g. a custom segment map)
    "notebooks": {},       # checked by the runner against each notebook's parameters cell
    "pages": [],           # extra page modules, importable from this file's folder (crmlib.core.pages)
    "engine": "auto",      # row-level engine: auto | pandas | duckdb | spark (checked by crmlib.core.engine)
    "spark": {},           # engine: spark only: {master, conf} (crmlib.core.engine.engine_settings)
}


def find_config(start: Path | None = None) -> Path | None:
    """Return the nearest ``workbook.yml`` in ``start`` or its parents, or ``None``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _check_keys(given: dict[str, Any], allowed: dict[str, Any], where: str, path: Path | str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key '{unknown[0]}' in {where}; "
            f"allowed there: {', '.join(sorted(allowed))}"
        )


def load_config(config_path: str | Path | None = None) -> dict[str, Any]:
    """Load ``workbook.yml`` merged over the defaults, with source paths made absolute.

    With ``config_path=None`` the nearest ``workbook.yml`` above the current folder is
    used; with none found, the defaults alone (no sources).
    The returned dict carries ``_path`` and ``_root`` (the file and its folder).
    """
    path = Path(config_path) if config_path else find_config()
    raw: dict[str, Any] = {}
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"configuration file not found: {path}")
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    where = path or "defaults"
    _check_keys(raw, DEFAULTS, "the top level", where)
    root = Path(path).resolve().parent if path else Path.cwd().resolve()

    config = copy.deepcopy(DEFAULTS)
    for key, value in raw.items():
        if key in ("sources", "customers"):
            continue
        if isinstance(DEFAULTS[key], dict):
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{key}' must be a mapping")
            config[key] = {**DEFAULTS[key], **value}
        else:
            config[key] = value

    sources = raw.get("sources") or []
    if isinstance(sources, (str, dict)):
        sources = [sources]
    config["sources"] = [_source(s, i, root, where) for i, s in enumerate(sources)]

    customers = raw.get("customers") or {}
    if not isinstance(customers, dict):
        raise ConfigError(f"{where}: 'customers' must be a mapping")
    _check_keys(customers, CUSTOMERS_DEFAULTS, "customers", where)
    config["customers"] = {**CUSTOMERS_DEFAULTS, **customers}
    if config["customers"]["path"]:
        config["customers"]["path"] = str(_absolute(config["customers"]["path"], root))
    config["customers"]["columns"] = dict(config["customers"]["columns"] or {})

    pages = config["pages"] if config["pages"] is not None else []
    if isinstance(pages, str):
        pages = [pages]
    if not isinstance(pages, list) or not all(isinstance(p, str) and p for p in pages):
        raise ConfigError(f"{where}: 'pages' must be a list of module names, e.g. [my_page]")
    config["pages"] = list(pages)

    notebooks = config["notebooks"]
    for name, params in notebooks.items():
        if params is not None and not isinstance(params, dict):
            raise ConfigError(f"{where}: notebooks.{name} must be a mapping of parameters")
        notebooks[name] = dict(params or {})

    from crmlib.core.engine import engine_settings  # the engine: and spark: settings, checked where they are used

    try:
        engine_settings(config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None

    config["_path"] = str(Path(path).resolve()) if path else None
    config["_root"] = str(root)
    return config


def _absolute(value: str | Path, root: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (root / p)


def _source(spec: Any, index: int, root: Path, where: Path | str) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: sources[{index}] must be a path or a mapping")
    _check_keys(spec, SOURCE_DEFAULTS, f"sources[{index}]", where)
    source = {**SOURCE_DEFAULTS, **spec}
    if not source["path"]:
        raise ConfigError(f"{where}: sources[{index}] has no 'path'")
    source["path"] = str(_absolute(source["path"], root))
    source["columns"] = dict(source["columns"] or {})
    if not source["name"]:
        source["name"] = Path(source["path"]).name.split(".")[0]
    return source


def sources_for_paths(config: dict[str, Any], data_paths: list[str | Path]) -> list[dict[str, Any]]:
    """Source specs for ``--data`` paths: they replace the configured paths.

    When exactly as many paths are given as sources are configured, each keeps its
    source's settings (mapping, encoding, ...); otherwise each path gets the default
    settings (layout ``auto``) and the file's stem as its source name.
    """
    configured = config["sources"]
    if len(data_paths) == len(configured):
        return [{**src, "path": str(Path(p).resolve())} for src, p in zip(configured, data_paths)]
    return [
        {**SOURCE_DEFAULTS, "path": str(Path(p).resolve()), "name": Path(p).name.split(".")[0]}
        for p in data_paths
    ]
