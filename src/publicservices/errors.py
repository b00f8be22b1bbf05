"""One hierarchy of errors, so callers can catch ``PublicServicesError`` and nothing else.

Every message says three things: *what* is wrong (naming the column), *where* (up to five
offending rows by key) and *how to fix it*. Build messages with :func:`problem`.

Example:
    >>> raise DataError(problem("numerator", "is negative", rows=["a | b | 2020"], fix="Counts cannot be below zero."))
    Traceback (most recent call last):
    ...
    publicservices.errors.DataError: column 'numerator' is negative in 1 row:
      a | b | 2020
    Fix: Counts cannot be below zero.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "PublicServicesError",
    "SchemaError",
    "DataError",
    "IndicatorError",
    "PluginError",
    "ReaderError",
    "problem",
]


class PublicServicesError(Exception):
    """Base class of every error publicservices raises on purpose."""


class SchemaError(PublicServicesError):
    """A frame has missing, misspelt or wrongly typed columns."""


class DataError(PublicServicesError):
    """A frame has the right columns but values that break the data contract."""


class IndicatorError(PublicServicesError):
    """An indicator definition is invalid, unknown or registered twice."""


class PluginError(PublicServicesError):
    """A plugin failed to load or registered something invalid.

    ``distribution`` names the installed package (or the in-process plugin) at fault.
    """

    def __init__(self, message: str, *, distribution: str | None = None) -> None:
        self.distribution = distribution
        super().__init__(f"plugin {distribution!r}: {message}" if distribution else message)


class ReaderError(PublicServicesError):
    """A file could not be read, or no reader recognises its layout."""


def problem(
    column: str | None,
    what: str,
    *,
    rows: Sequence[str] = (),
    total: int | None = None,
    fix: str,
) -> str:
    """Format a validation message: the column, what is wrong, up to five rows, the fix."""
    count = len(rows) if total is None else total
    head = f"column {column!r} {what}" if column else what
    if count:
        head += f" in {count:,} row{'s' if count != 1 else ''}"
        shown = list(rows)[:5]
        head += ":\n" + "\n".join(f"  {r}" for r in shown)
        if count > len(shown):
            head += f"\n  ... and {count - len(shown):,} more"
    return f"{head}\nFix: {fix}"
