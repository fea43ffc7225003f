"""Read and check ``workbook.yml``, the workbook's one configuration file.

Unknown keys are an error naming the key and the keys allowed there, so that a typo
never silently falls back to a default. Paths in the file are relative to the file.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from crmlib.core import i18n
from crmlib.core.member_lists import parse_identity_config
from crmlib.core.sampling import DEFAULT_MAX_CUSTOMERS
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

#: The time windows behind the report's customer states (see :mod:`crmlib.core.vocabulary`):
#: one place, read by every page through :func:`windows` / :func:`churn_window_days`.
WINDOWS_DEFAULTS: dict[str, int] = {
    "churn_days": 90,                 # live while the last purchase is younger; churned = none in this many days
    "customer_base_days": 365,        # the customer base the churn page scores: bought within this many days
    "value_horizon_months": 12,       # customer value and equity: expected spend over this many months
    "year_ago_min_history_days": 365,  # data needed before a period starts for a "same period last year" column
}
#: The notebook parameters two windows used to be (the churn and the value pages' sections
#: under ``notebooks:``): still read, and each must agree with its ``windows:`` key.
LEGACY_WINDOWS: dict[str, str] = {
    "churn_days": "churn_window_days",
    "value_horizon_months": "clv_horizon_months",
}
#: One entry of ``campaigns:`` (a campaign file measured by page 06_campaigns).
CAMPAIGN_DEFAULTS: dict[str, Any] = {
    "path": None,
    "columns": {},          # canonical -> column: customer_id, group, contact_date, campaign
    "name": None,           # the campaign's name when the file has no campaign column; default: file name
    "source": None,         # whose member ids these are (a source's `name`), once sources are unified
    "cost_per_contact": None,
    "channel": None,
    "encoding": "auto",
    "delimiter": None,
    "sheet": None,          # Excel: a sheet name or 0-based index; None = the first sheet
    "date_format": None,
    "dayfirst": False,
}
#: Canonical names allowed under ``campaigns[].columns``.
CAMPAIGN_COLUMNS = ("customer_id", "group", "contact_date", "campaign")

DEFAULTS: dict[str, Any] = {
    "currency": "GBP",
    "language": "en",
    "sources": [],
    "customers": CUSTOMERS_DEFAULTS,
    "cleaning": {},        # checked against crmlib.cleaning's rule parameters
    "segments": {},        # checked by crmlib.core.summaries (e.g. a custom segment map)
    "windows": WINDOWS_DEFAULTS,  # the customer-state windows in days (crmlib.core.vocabulary)
    "notebooks": {},       # checked by the runner against each notebook's parameters cell
    "pages": [],           # extra page modules, importable from this file's folder (crmlib.core.pages)
    "campaigns": [],       # campaign files measured by 06_campaigns (CAMPAIGN_DEFAULTS)
    "identity": [],        # member lists matched on phone/e-mail (crmlib.core.member_lists)
    "ids_are_personal": "auto",  # auto: ids that look like phone numbers or e-mails are pseudonymised; true: all; false: none
    "engine": "auto",      # row-level engine: auto | pandas | duckdb | spark (checked by crmlib.core.engine)
    "spark": {},           # engine: spark only: {master, conf} (crmlib.core.engine.engine_settings)
    "max_training_customers": DEFAULT_MAX_CUSTOMERS,  # models train on a seeded, stratified sample above this many customers (crmlib.core.sampling)
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
    names = [s["name"] for s in config["sources"]]
    config["campaigns"] = campaign_specs(raw.get("campaigns"), root, where, names)
    config["identity"] = identity_specs(raw.get("identity"), root, where, names)

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

    i18n.check_language(config["language"], f"{where}: language")   # en | ko (crmlib.core.i18n)
    if config["ids_are_personal"] not in ("auto", True, False):
        raise ConfigError(f"{where}: ids_are_personal: expected auto, true or false, "
                          f"got {config['ids_are_personal']!r}")

    notebooks = config["notebooks"]
    for name, params in notebooks.items():
        if params is not None and not isinstance(params, dict):
            raise ConfigError(f"{where}: notebooks.{name} must be a mapping of parameters")
        notebooks[name] = dict(params or {})

    config["windows"] = _windows(raw.get("windows"), notebooks, where)
    from crmlib.core.engine import engine_settings  # the engine: and spark: settings, checked where they are used

    try:
        engine_settings(config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None

    config["_path"] = str(Path(path).resolve()) if path else None
    config["_root"] = str(root)
    return config


def _windows(given: Any, notebooks: dict[str, dict[str, Any]], where: Path | str) -> dict[str, int]:
    """The ``windows:`` section checked (known keys, whole numbers >= 1), with the legacy places.

    ``notebooks: 04_churn: churn_window_days`` is the same setting as ``windows:
    churn_days`` (and ``notebooks: 03_clv: clv_horizon_months`` as ``value_horizon_months``):
    given alone it sets it; given with a different ``windows:`` value it is an error.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: 'windows' must be a mapping of days, e.g. {{churn_days: 90}}")
    _check_keys(given, WINDOWS_DEFAULTS, "windows", where)
    out = dict(WINDOWS_DEFAULTS)
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: windows.{key} must be a whole number (at least 1), got {value!r}")
        out[key] = value
    set_in = {window: f"windows.{window}" for window in given}
    for window, key in LEGACY_WINDOWS.items():
        for page, params in notebooks.items():
            legacy = (params or {}).get(key)
            if legacy is None:
                continue
            if isinstance(legacy, bool) or not isinstance(legacy, int) or legacy < 1:
                raise ConfigError(f"{where}: notebooks.{page}.{key} must be a whole number (at least 1), got {legacy!r}")
            if window in set_in and out[window] != legacy:
                raise ConfigError(
                    f"{where}: {set_in[window]} is {out[window]} but notebooks.{page}.{key} is {legacy}: "
                    f"the same setting given twice with different values; keep windows.{window} only"
                )
            out[window], set_in[window] = legacy, f"notebooks.{page}.{key}"
    return out


def windows(config: dict[str, Any] | None) -> dict[str, int]:
    """The customer-state windows in days (``windows:`` of ``workbook.yml``, defaults filled in).

    Every page reads its windows here, never from another page's ``notebooks:`` section.
    ``config=None`` gives the defaults.
    """
    return {**WINDOWS_DEFAULTS, **((config or {}).get("windows") or {})}


def churn_window_days(config: dict[str, Any] | None) -> int:
    """Days without a purchase after which a customer counts as churned (``windows: churn_days``).

    The one churn window of the report: the churn page's label ("no purchase in the next N
    days"), the summary's live/lost/retained/reactivated customers and the glossary.
    """
    return int(windows(config)["churn_days"])


def max_training_customers(config: dict[str, Any] | None) -> int:
    """Customers above which the pages' models train on a sample (``max_training_customers``).

    Scores and lists still cover every customer (:mod:`crmlib.core.sampling`). Raises
    :class:`ConfigError` for a value below 1000 (too few to train a model on).
    """
    value = (config or {}).get("max_training_customers", DEFAULTS["max_training_customers"])
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"max_training_customers: expected a whole number, got {value!r}") from None
    if number < 1000:
        raise ConfigError(f"max_training_customers: at least 1000, got {number}")
    return number


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


def campaign_specs(spec: Any, root: str | Path, where: Path | str = "workbook.yml",
                   source_names: list[str] | None = None) -> list[dict[str, Any]]:
    """Check the ``campaigns:`` setting; return its entries with defaults and absolute paths.

    Each entry is a path or a mapping of :data:`CAMPAIGN_DEFAULTS` keys; ``columns`` maps
    :data:`CAMPAIGN_COLUMNS` to the file's columns; ``source``, when given, must name a
    configured source (``source_names``). Checked entries pass unchanged.
    """
    if spec is None:
        return []
    if isinstance(spec, (str, dict)):
        spec = [spec]
    if not isinstance(spec, list):
        raise ConfigError(f"{where}: 'campaigns' must be a list of campaign files "
                          "(- path: ..., columns: {customer_id: ..., group: ..., contact_date: ...})")
    entries = []
    for i, entry in enumerate(spec):
        at = f"campaigns[{i}]"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {at} must be a path or a mapping")
        _check_keys(entry, CAMPAIGN_DEFAULTS, at, where)
        entry = {**CAMPAIGN_DEFAULTS, **entry}
        if not entry["path"] or not isinstance(entry["path"], (str, Path)):
            raise ConfigError(f"{where}: {at} has no 'path'")
        columns = entry["columns"] or {}
        if not isinstance(columns, dict):
            raise ConfigError(f"{where}: {at}.columns must be a mapping such as "
                              "{customer_id: cust, group: arm, contact_date: sent}")
        _check_keys(columns, dict.fromkeys(CAMPAIGN_COLUMNS), f"{at}.columns", where)
        bad = next((k for k, v in columns.items() if not isinstance(v, str) or not v), None)
        if bad:
            raise ConfigError(f"{where}: {at}.columns.{bad} must name a column of the file")
        cost = entry["cost_per_contact"]
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0):
            raise ConfigError(f"{where}: {at}.cost_per_contact must be a number >= 0, got {cost!r}")
        if entry["source"] is not None and source_names is not None and entry["source"] not in source_names:
            raise ConfigError(f"{where}: {at}.source: '{entry['source']}' is not the name of a configured "
                              f"source; sources: {', '.join(map(str, source_names)) or '(none)'}")
        if not isinstance(entry["dayfirst"], bool):
            raise ConfigError(f"{where}: {at}.dayfirst must be true or false")
        entries.append({**entry, "path": str(_absolute(entry["path"], Path(root))), "columns": dict(columns)})
    return entries


def identity_specs(spec: Any, root: str | Path, where: Path | str = "workbook.yml",
                   source_names: list[str] | None = None) -> list[dict[str, Any]]:
    """Check the ``identity:`` setting (:func:`crmlib.core.member_lists.parse_identity_config`);
    return its entries with absolute paths (``[]``: no identity resolution)."""
    entries = parse_identity_config(spec, where, source_names=source_names)
    return [{**e, "path": str(_absolute(e["path"], Path(root)))} for e in entries]


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
