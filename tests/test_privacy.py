"""Privacy: no name, e-mail or phone number from the customer table reaches any HTML page.

The shared full report run (``published`` in ``conftest.py``) has a customer table with
personal data configured in workbook.yml; ``test_end_to_end.py`` scans every page and
download for it and for personal customer ids.
"""
from __future__ import annotations

from crmlib.core import layout


def test_the_customer_table_reached_the_analyses(published: dict) -> None:
    """04_churn reads the table and says which personal columns it dropped."""
    executed = layout.notebooks_dir(published["result"].period_dir).glob("*.ipynb")
    assert any("full_name" in nb.read_text(encoding="utf-8") for nb in executed)
