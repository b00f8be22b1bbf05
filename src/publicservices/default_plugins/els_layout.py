"""The ELS CSV layout: its columns, status codes, header sniffing, name matching and period labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["ELS_COLUMNS", "REQUIRED_COLUMNS", "STATUS_REASONS", "sniff_els", "norm_name", "period_label"]

ELS_COLUMNS = (
    "area_code",
    "area_name",
    "geography",
    "indicator",
    "period_start",
    "period_length",
    "value",
    "measure",
    "unit",
    "lower_ci",
    "upper_ci",
    "status",
    "notes",
)
REQUIRED_COLUMNS = ("area_code", "indicator", "period_start", "period_length", "value")
STATUS_REASONS: dict[str, str] = {
    "x": "not available (status x)",
    "u": "low reliability (status u)",
    "c": "confidential or suppressed (status c)",
    "z": "not applicable (status z)",
}


def sniff_els(columns: Sequence[str]) -> bool:
    """Does a header belong to the ELS layout? (needs area_code, indicator, period_start, period_length, value)"""
    return set(REQUIRED_COLUMNS) <= set(columns)


def norm_name(name: str) -> str:
    """An ELS indicator name as names are matched: repeated spaces collapsed, case ignored."""
    return " ".join(str(name).split()).casefold()


def period_label(start: pl.Expr, length: pl.Expr) -> pl.Expr:
    """Human period labels from a start date and an ISO-8601 duration (see :mod:`publicservices.default_plugins.els`).

    Years (``PnY``) give ``2023``, ``2022/23``, ``2020-22`` or ``2014/15-2016/17``;
    ``P3M`` from a quarter's first month gives ``2024 Q1``; ``P1M`` gives ``2024-03``;
    anything else gives ``<start> (<duration>)``.
    """
    import polars as pl

    years = length.str.extract(r"^P(\d+)Y$", 1).cast(pl.Int32, strict=False)
    months = length.str.extract(r"^P(\d+)M$", 1).cast(pl.Int32, strict=False)
    y = start.dt.year().cast(pl.Int32)
    m = start.dt.month().cast(pl.Int32)
    two = lambda e: (e % 100).cast(pl.String).str.zfill(2)  # noqa: E731
    split = pl.format("{}/{}", y.cast(pl.String), two(y + 1))
    last = y + years - 1
    return (
        pl.when((years == 1) & (m == 1) & (start.dt.day() == 1))
        .then(y.cast(pl.String))
        .when(years == 1)
        .then(split)
        .when((years > 1) & (m == 1))
        .then(pl.format("{}-{}", y.cast(pl.String), two(last)))
        .when(years > 1)
        .then(pl.format("{}-{}/{}", split, last.cast(pl.String), two(last + 1)))
        .when((months == 3) & m.is_in([1, 4, 7, 10]))
        .then(pl.format("{} Q{}", y.cast(pl.String), ((m + 2) // 3).cast(pl.String)))
        .when(months == 1)
        .then(pl.format("{}-{}", y.cast(pl.String), m.cast(pl.String).str.zfill(2)))
        .otherwise(pl.format("{} ({})", start.cast(pl.String), length))
        .alias("period")
    )
