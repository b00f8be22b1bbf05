"""Private core shared by the funnel modules: label sets, levels, count checks, Enum columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError

SIGNIFICANCE_LEVELS: tuple[str, ...] = (
    "High (0.001)",
    "High (0.025)",
    "Low (0.001)",
    "Low (0.025)",
    "Not significant",
    "Not applicable for events less than 10 for dsrs",
)
POSITION_LEVELS: tuple[str, ...] = ("below", "within", "above")
COMPARISON_LEVELS: tuple[str, ...] = (
    "better (99.8%)",
    "better (95%)",
    "higher (99.8%)",
    "higher (95%)",
    "similar",
    "lower (95%)",
    "lower (99.8%)",
    "worse (95%)",
    "worse (99.8%)",
)
LEVELS = (0.95, 0.998)
#: what ``overdispersion=`` accepts: "auto" tests phi and uses additive limits only when it
#: is significant; "none" allows for chance alone; the other two always widen the limits.
OVERDISPERSION_POLICIES: tuple[str, ...] = ("auto", "none", "additive", "multiplicative")
#: significance level of the test of phi = 1 that "auto" uses (Spiegelhalter 2005)
OVERDISPERSION_ALPHA = 0.05
#: counts above this are refused: beyond about 9e15 (2^53) adding one no longer changes a
#: float, so the exact quantile searches could not step; no real count comes near it.
MAX_COUNT = 1e15

Statistic = Literal["proportion", "ratio", "rate"]


def check_array(values: np.ndarray, name: str) -> None:
    """Counts passed straight to a public function: finite where given and at most MAX_COUNT."""
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > MAX_COUNT
    if np.any(big):
        raise DataError(
            f"{name} has {int(big.sum()):,} value(s) above {MAX_COUNT:.0e} (the first at position "
            f"{int(np.flatnonzero(big.ravel())[0])}), too large to be a count.\n"
            "Fix: check the units; counts above 1e15 cannot be handled exactly."
        )


def enum_series(name: str, values: np.ndarray, null: np.ndarray, levels: Sequence[str]) -> pl.Series:
    """An Enum column from label strings, null where ``null`` is true.

    Never through a NumPy object array: Polars guesses an object column's type from its first
    element, so a leading None (a dsr unit with under 10 events first) would fail the cast.
    """
    null = np.asarray(null, dtype=bool)
    text = np.where(null, levels[0], np.asarray(values, dtype=object)).astype(str)
    series = pl.Series(name, text, dtype=pl.String).cast(pl.Enum(list(levels)))
    return pl.select(pl.when(pl.Series(~null)).then(series).otherwise(None).alias(name)).to_series()
