"""Privacy: no name, e-mail or phone number from the customer table reaches any HTML page.

One full report run (every notebook, as `crm report` does it) on a small synthetic log,
with a customer table that carries personal data configured in workbook.yml.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from crmlib import datasets, report
from crmlib.core import layout

ROOT = Path(__file__).resolve().parents[1]
FIRST = ["Zelda", "Quentin", "Ottoline", "Barnaby", "Imogen", "Leopold", "Marisol", "Thaddeus"]
LAST = ["Quixotewood", "Fairweather-Pym", "Okonkwo", "Vandersteen", "Brightwater", "Halloran"]


def _customer_table(customers, seed: int = 3):
    rng = np.random.default_rng(seed)
    n = len(customers)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    table = customers.copy()
    table["full_name"] = [f"{f} {s}" for f, s in zip(first, last)]
    table["email"] = [f"{f.lower()}.{s.lower()}{i}@example.org" for i, (f, s) in enumerate(zip(first, last))]
    table["phone"] = [f"+44 7700 9{i:05d}" for i in range(n)]
    return table


def test_no_personal_data_in_any_html(tmp_path: Path) -> None:
    data = datasets.make_synthetic(n_customers=400, start="2010-01-01", end="2011-12-31", dirt=True, seed=11)
    raw = datasets.write_synthetic_csv(data, tmp_path / "sales.csv")
    people = _customer_table(data.customers)
    people.to_csv(tmp_path / "customers.csv", index=False)

    shipped = yaml.safe_load((ROOT / "workbook.yml").read_text(encoding="utf-8"))
    present = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    config = {
        "currency": shipped.get("currency", "GBP"),
        "sources": [{"path": raw.name, "name": "web"}],
        "customers": {"path": "customers.csv"},
        "notebooks": {k: v for k, v in (shipped.get("notebooks") or {}).items() if k in present},
    }
    (tmp_path / "workbook.yml").write_text(yaml.safe_dump(config), encoding="utf-8")

    result = report.run_report(config_path=tmp_path / "workbook.yml", period="2011-11",
                               output_dir=tmp_path / "reports", progress=False)

    # the table did reach the analyses (04_churn reads it and says which columns it dropped)
    executed = layout.notebooks_dir(result.period_dir).glob("*.ipynb")
    assert any("full_name" in nb.read_text(encoding="utf-8") for nb in executed)

    pages = sorted((tmp_path / "reports").rglob("*.html"))
    assert len(pages) >= len(present) + 2  # every notebook's page + both index pages
    assert result.period_dir / "index.html" in pages
    secrets = {
        "name": set(people["full_name"]),
        "e-mail": set(people["email"]),
        "phone": set(people["phone"]) | {p.replace(" ", "") for p in people["phone"]},
        "surname": set(LAST),
    }
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for kind, values in secrets.items():
            leaked = sorted(v for v in values if v in text)
            assert not leaked, f"{page.relative_to(tmp_path)} shows customer {kind}s, e.g. {leaked[:3]}"
