"""Exceptions the workbook raises on purpose.

Every problem a user can fix (a bad file, a bad setting) is raised as a subclass of
:class:`CrmError` with a message that names the file, the column and example rows,
so that notebooks and the ``crm`` command can show one clear line instead of a
pandas traceback.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CrmError(Exception):
    """Base class of every error the workbook raises on purpose."""


class ConfigError(CrmError):
    """``workbook.yml`` or a parameter is wrong (unknown key, bad value)."""


class DataError(CrmError):
    """Input data cannot be used as it is.

    Parameters
    ----------
    problem:
        What is wrong, in plain words.
    file:
        The file the data came from (or ``None`` for in-memory data).
    column:
        The column concerned, if any.
    examples:
        Up to five example rows, as records or preformatted strings.
    hint:
        What the user can do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: Any = None,
        column: str | None = None,
        examples: Sequence[Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.column = column
        self.examples = list(examples or [])[:5]
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.problem}" if where else self.problem
        if self.examples:
            text += "\n  example rows:\n" + "\n".join(f"    {e}" for e in self.examples)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ModelError(CrmError):
    """A model could not be fitted or used even after its documented fallbacks."""


class NotApplicableError(CrmError):
    """This analysis cannot be done on this data (e.g. too little history for a churn window).

    Not a failure: the report runner ends the page at this point with the reason in plain
    words, records it in the notebook's metrics for the summary, and carries on.
    """
