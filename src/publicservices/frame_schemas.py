"""The data contract's three frames: their columns, dtypes, keys, and the bounds of a plausible number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

__all__ = [
    "VALUES",
    "AREAS",
    "SPEND",
    "BREAKDOWN_COLUMNS",
    "SET_COLUMN",
    "Schema",
    "PERIOD_YEARS",
    "MAX_MAGNITUDE",
    "MIN_DENOMINATOR",
]


@dataclass(frozen=True)
class Schema:
    """A contract frame: its columns and dtypes, which are required, and its key."""

    name: str
    columns: Mapping[str, pl.DataType]
    required: tuple[str, ...]
    key: tuple[str, ...]

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=dict(self.columns))


VALUES = Schema(
    "values",
    {
        "indicator_id": pl.String(),
        "area_code": pl.String(),
        "period": pl.String(),
        "period_start": pl.Date(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
        "value": pl.Float64(),
        "lower_ci": pl.Float64(),
        "upper_ci": pl.Float64(),
    },
    required=("indicator_id", "area_code", "period"),
    key=("indicator_id", "area_code", "period"),
)
AREAS = Schema(
    "areas",
    {
        "area_code": pl.String(),
        "area_name": pl.String(),
        "area_type": pl.String(),
        "parent_code": pl.String(),
        "population": pl.Float64(),
        "deprivation": pl.Float64(),
    },
    required=("area_code",),
    key=("area_code",),
)
SPEND = Schema(
    "spend",
    {
        "area_code": pl.String(),
        "period": pl.String(),
        "service": pl.String(),
        "spend": pl.Float64(),
    },
    required=("area_code", "period", "service", "spend"),
    key=("area_code", "period", "service"),
)
# Optional breakdown columns of the values frame: part of the key when present.
BREAKDOWN_COLUMNS: tuple[str, ...] = ("sex", "age", "category_type", "category")
# The comparable set a row is compared within (added by publicservices.comparison_values).
SET_COLUMN = "comparable_set"
#: The years a period may start in. Anything outside is a typo or a parsing accident
#: (``-0001-01-01``), and would break date arithmetic further on.
PERIOD_YEARS = (1800, 2200)
#: Larger than any count, population or sum of money in public services. A number above it is
#: a unit error or a parsing accident (``1e300``), and above 2**53 whole numbers stop being exact.
MAX_MAGNITUDE = 1e15
#: A denominator counts people, person-years or expected events: one above zero but below this
#: is a unit error or a number mangled on export (``5e-324``), and its reciprocal overflows the
#: statistics that weight by it.
MIN_DENOMINATOR = 1e-15
