"""The one full report run of the test suite, shared by every test that needs it.

``full_report`` (alias ``published``) runs every real notebook once (``crm report``'s runner) on a small synthetic
log that plants every hazard the hardening tries found (issue 16): product names that are
HTML or Markdown attacks, customer ids that are phone numbers, e-mail addresses or an Excel
formula, Korean product and country names, two sources (two business units), and a
customer table carrying names, e-mail addresses and phone numbers. Tests read what it
published; a run costs a minute or two, so there is exactly one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crmlib import report
from crmlib.synthetic import make_synthetic, write_synthetic_csv

ROOT = Path(__file__).resolve().parents[1]

#: Product names that attack the page: a live script, an event handler, a Markdown link.
ATTACK_NAMES = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))")
KOREAN_PRODUCT, KOREAN_COUNTRY = "한글 머그컵 세트", "대한민국"
#: A customer id that Excel would run as a formula.
FORMULA_ID = '=HYPERLINK("http://x")'
FIRST = ["Zelda", "Quentin", "Ottoline", "Barnaby", "Imogen", "Leopold", "Marisol", "Thaddeus"]
LAST = ["Quixotewood", "Fairweather-Pym", "Okonkwo", "Vandersteen", "Brightwater", "Halloran"]


def _customer_table(customers: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """The synthetic customer table with personal columns (names, e-mails, phone numbers)."""
    rng = np.random.default_rng(seed)
    n = len(customers)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    table = customers.copy()
    table["full_name"] = [f"{f} {s}" for f, s in zip(first, last)]
    table["email"] = [f"{f.lower()}.{s.lower()}{i}@example.org" for i, (f, s) in enumerate(zip(first, last))]
    table["phone"] = [f"+44 7700 9{i:05d}" for i in range(n)]
    return table


def _personal_ids(transactions: pd.DataFrame) -> dict[str, str]:
    """New ids for some customers: the biggest spender gets a formula, the next ones (and a
    random spread, so they reach every list) phone numbers and e-mail addresses."""
    spend = transactions.groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top = list(spend.index[:40])
    rest = list(np.random.default_rng(5).choice(spend.index[40:], 60, replace=False))
    chosen = top[1:] + rest
    ids = {top[0]: FORMULA_ID}
    for i, old in enumerate(chosen):
        ids[old] = f"010-{4000 + i:04d}-{7000 + 3 * i:04d}" if i % 2 else f"member{i}.kim@example.co.kr"
    return ids


#: The period the shared report is made for (the synthetic log runs 2010-01 to 2011-12).
FULL_REPORT_PERIOD = "2011-11"


@pytest.fixture(scope="session")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shipped settings on the hazard-planted log, reported for 2011-11: ``folder``,
    ``config``, ``result``, ``period_dir`` (the published period), ``people`` (the customer
    table), ``personal_ids``, ``formula_id``."""
    folder = tmp_path_factory.mktemp("e2e")
    data = make_synthetic(n_customers=400, start="2010-01-01", end="2011-12-31", dirt=True, seed=7)
    tx = data.transactions.copy()
    names = dict(zip([a for pair in data.truth.planted_pairs[:2] for a in pair[:2]],
                     [*ATTACK_NAMES, KOREAN_PRODUCT]))
    tx["product_name"] = tx["product_id"].map(names).fillna(tx["product_name"])
    ids = _personal_ids(tx)
    tx["customer_id"] = tx["customer_id"].map(lambda c: ids.get(c, c))
    korean = tx["customer_id"].isin(tx["customer_id"].dropna().unique()[::7])
    tx.loc[korean, "country"] = KOREAN_COUNTRY
    invoice = pd.to_numeric(tx["invoice_id"].str.lstrip("C"), errors="coerce").fillna(0)
    shop = write_synthetic_csv(tx[invoice % 3 == 0], folder / "shop.csv")  # two business units
    web = write_synthetic_csv(tx[invoice % 3 != 0], folder / "web.csv")

    people = _customer_table(data.customers)
    people["customer_id"] = people["customer_id"].map(lambda c: ids.get(c, c))
    people.to_csv(folder / "customers.csv", index=False)

    shipped = yaml.safe_load((ROOT / "workbook.yml").read_text(encoding="utf-8"))
    config = {**shipped,
              "sources": [{"path": shop.name, "name": "shop"}, {"path": web.name, "name": "web"}],
              "customers": {"path": "customers.csv"}}
    (folder / "workbook.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = report.run_report(config_path=folder / "workbook.yml", period=FULL_REPORT_PERIOD,
                               output_dir=folder / "reports", progress=False)
    personal = sorted(i for i in ids.values() if i != FORMULA_ID)
    return {"folder": folder, "config": folder / "workbook.yml", "result": result, "people": people,
            "personal_ids": personal, "formula_id": FORMULA_ID, "period_dir": folder / "reports" / FULL_REPORT_PERIOD}


@pytest.fixture(scope="session")
def published(full_report: dict) -> dict:
    """The same one full report (the name the end-to-end and privacy tests use)."""
    return full_report
