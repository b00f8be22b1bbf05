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
    "MetadataError",
    "OptionError",
    "MissingDependency",
    "problem",
    "short_text",
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


class MissingDependency(PublicServicesError, ImportError):
    """An optional package that this feature needs is not installed.

    ``extra`` names the publicservices extra that installs it (``site`` for the website's
    MkDocs toolchain and vl-convert); ``packages`` names the missing distributions.

    Example:
        >>> print(MissingDependency("building the website", ["mkdocs"], extra="site"))
        building the website needs mkdocs, which is not installed.
        Fix: pip install 'publicservices[site]'
    """

    def __init__(self, feature: str, packages: Sequence[str], *, extra: str) -> None:
        self.feature, self.packages, self.extra = feature, list(packages), extra
        names = ", ".join(self.packages)
        super().__init__(
            f"{feature} needs {names}, which {'is' if len(self.packages) == 1 else 'are'} not installed.\n"
            f"Fix: pip install 'publicservices[{extra}]'"
        )


class MetadataError(ReaderError, ValueError):
    """An ELS metadata sidecar cannot be read or holds no ELS metadata (also a ``ValueError``, as it always was)."""


class OptionError(PublicServicesError):
    """An argument has a value the function does not accept: an unknown method, a level out of range, a missing partner."""


def short_text(value: str, width: int = 40) -> str:
    """A cell's text for a message: one line, at most ``width`` characters.

    >>> short_text("Table 1: claimants by local authority, 2019 to 2023", 30)
    'Table 1: claimants by local...'
    """
    value = value.replace("\n", "\\n")
    return value if len(value) <= width else value[: width - 3] + "..."


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
