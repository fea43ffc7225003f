"""One check for the columns a step needs, with a message that says where and what to do."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from crmlib.errors import DataError


def require_columns(frame: pd.DataFrame, columns: Iterable[str], where: str, *, hint: str | None = None) -> None:
    """Raise :class:`~crmlib.errors.DataError` naming the first missing column of ``columns``.

    ``where`` says what needs them, e.g. ``"the KPIs"``; the message reads
    "transactions lack the column(s) a, b needed for the KPIs".
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"the data lack the column(s) {', '.join(missing)} needed for {where}",
                        column=missing[0], hint=hint)
