"""Project hygiene: the two install routes agree, notebooks are committed clean."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CARD = ["jupyterlab", "papermill", "pandas", "seaborn", "scikit-learn", "lifetimes", "mlxtend", "nbval"]
RUNNER = ["nbconvert", "ipykernel", "pyarrow", "PyYAML"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_pyproject_has_the_card_and_runner_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = _names(project["dependencies"])
    missing = [d for d in CARD + RUNNER if d.lower() not in names]
    assert not missing, f"missing from pyproject.toml: {missing}"
    assert "pytest" in _names(project["optional-dependencies"]["dev"])
    assert project["scripts"]["crm"] == "crmlib.cli:main"


def test_environment_yml_installs_the_same_set_as_pyproject() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    # conda users install the package itself, so both routes read one dependency list
    assert pip == ["-e .[dev]"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_and_parameterised(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "outputs committed"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    source = "".join(params[0]["source"])
    for name in ("as_of", "period", "data_paths", "artifacts_dir", "config_path"):
        assert re.search(rf"^{name}\s*=", source, re.M), f"parameters cell lacks {name}"
    for cell in code:
        assert not re.search(r"^\s*(def|class)\s", "".join(cell["source"]), re.M), "logic belongs in crmlib"
    assert nb["cells"][0]["cell_type"] == "markdown", "a notebook opens with its story, not code"


def test_sample_data_is_bundled_with_its_licence() -> None:
    readme = (ROOT / "data" / "sample" / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "data" / "sample" / "online_retail.csv.gz").is_file()
    assert "CC BY 4.0" in readme and "UCI" in readme
