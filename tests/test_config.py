"""workbook.yml loading and the run context's date rules."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmlib.core.config import load_config, sources_for_paths
from crmlib.core.context import RunContext
from crmlib.core.periods import month_end_as_of, period_as_of
from crmlib.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workbook.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_and_points_at_the_bundled_sample() -> None:
    config = load_config(ROOT / "workbook.yml")
    assert config["currency"] == "GBP"
    [source] = config["sources"]
    assert Path(source["path"]) == ROOT / "data" / "sample" / "online_retail.csv.gz"
    assert source["name"] == "web" and source["layout"] == "auto"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("curency: GBP\n", r"unknown key 'curency' in the top level; allowed there: (\w+, )*cleaning, currency"),
        ("sources:\n  - path: a.csv\n    encodng: utf-8\n", r"unknown key 'encodng' in sources\[0\]; allowed there: columns"),
        ("customers:\n  file: c.csv\n", r"unknown key 'file' in customers"),
        ("sources:\n  - name: web\n", r"sources\[0\] has no 'path'"),
        ("notebooks: [1, 2]\n", r"'notebooks' must be a mapping"),
        ("currency: [\n", r"not valid YAML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sources:\n  - data/a.csv\n  - path: /abs/b.csv\n    name: shop\n"))
    assert [s["path"] for s in config["sources"]] == [str(tmp_path / "data" / "a.csv"), "/abs/b.csv"]
    assert [s["name"] for s in config["sources"]] == ["a", "shop"]


def test_data_paths_replace_sources_keeping_settings_when_counts_match(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sources:\n  - path: a.csv\n    encoding: cp949\n    name: web\n"))
    [same] = sources_for_paths(config, [tmp_path / "new.csv"])
    assert same["encoding"] == "cp949" and same["path"] == str(tmp_path / "new.csv")
    two = sources_for_paths(config, [tmp_path / "x.csv", tmp_path / "y.csv.gz"])
    assert [s["name"] for s in two] == ["x", "y"] and all(s["encoding"] == "auto" for s in two)


@pytest.mark.parametrize(
    ("last", "expected"),
    [("2011-12-09", "2011-11-30"), ("2011-11-30 17:00", "2011-11-30"), ("2012-02-29", "2012-02-29"), ("2011-03-01", "2011-02-28")],
)
def test_default_as_of_is_the_end_of_the_last_complete_month(last: str, expected: str) -> None:
    assert month_end_as_of(pd.Timestamp(last)) == pd.Timestamp(expected)


def test_period_and_as_of_resolution(tmp_path: Path) -> None:
    config = _write(tmp_path, "sources: [a.csv]\n")
    assert period_as_of("2011-02") == pd.Timestamp("2011-02-28")
    ctx = RunContext.create("x", period="2011-02", config_path=config, artifacts_dir=tmp_path / "art")
    assert ctx.as_of == pd.Timestamp("2011-02-28") and ctx.period == "2011-02"
    ctx = RunContext.create("x", as_of="2011-02-10", period="2011-02", config_path=config, artifacts_dir=tmp_path / "art")
    assert ctx.as_of == pd.Timestamp("2011-02-10")
    with pytest.raises(ConfigError, match="as_of: cannot read 'soon'"):
        RunContext.create("x", as_of="soon", config_path=config, artifacts_dir=tmp_path / "art")


def test_metrics_carry_parameters_and_warnings(tmp_path: Path) -> None:
    config = _write(tmp_path, "sources: [a.csv]\n")
    ctx = RunContext.create("03_clv", period="2011-11", config_path=config, artifacts_dir=tmp_path / "art",
                            parameters={"clv_horizon_months": 12})
    ctx.warn("BG/NBD landed on its bounds")
    ctx.warn("BG/NBD landed on its bounds")
    clv = {"chosen_model": "bgnbd", "time_unit": "W", "models": {}, "customer_equity": 1234.5}
    ctx.write_metrics({**clv, "warnings": ["spend depends on frequency"]})
    metrics = ctx.read_metrics("03_clv")
    assert metrics["customer_equity"] == 1234.5 and metrics["as_of"] == "2011-11-30"
    assert metrics["parameters"] == {"clv_horizon_months": 12}
    assert metrics["warnings"] == ["spend depends on frequency", "BG/NBD landed on its bounds"]


def test_metrics_are_checked_against_the_page_declaration(tmp_path: Path) -> None:
    from crmlib.core.pages import MetricsError

    config = _write(tmp_path, "sources: [a.csv]\n")
    ctx = RunContext.create("03_clv", period="2011-11", config_path=config, artifacts_dir=tmp_path / "art")
    with pytest.raises(MetricsError, match="'chosen_model' is missing"):
        ctx.write_metrics({"customer_equity": 1234.5})
    with pytest.raises(MetricsError, match="'customer_equity' should be float"):
        ctx.write_metrics({"chosen_model": "bgnbd", "time_unit": "W", "models": {}, "customer_equity": "lots"})
    assert ctx.read_metrics("03_clv") is None  # nothing half-checked was written


def test_one_run_is_resolved_once_and_reused_by_every_notebook(tmp_path: Path) -> None:
    from crmlib.core.run import RUN_FILE, load_run, resolve_run

    config = _write(tmp_path, "sources: [a.csv]\ncurrency: EUR\n")
    run = resolve_run(config_path=config, period="2011-11")
    art = tmp_path / "art"
    run.write(art)
    (art / RUN_FILE).write_text((art / RUN_FILE).read_text().replace('"EUR"', '"KRW"'))  # marks the stored run
    again = load_run(art, **{k: v for k, v in run.request.items()})
    assert again.config["currency"] == "KRW"  # read from run.json, not from workbook.yml again
    other = load_run(art, **{**run.request, "as_of": "2011-11-15"})  # other parameters: resolved afresh
    assert other.as_of == pd.Timestamp("2011-11-15") and other.config["currency"] == "EUR"
