"""Floor standards and targets: is an area confidently below its floor, how far from its target?

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"value": [30.0, 52.0], "lower_95": [21.9, 42.3], "upper_95": [39.6, 61.5],
    ...                   "polarity": ["higher_is_better"] * 2, "floor": [40.0, 40.0]})
    >>> floor_status(f).get_column("floor_status").to_list()
    ['confidently below', 'meets']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from publicservices.indicators import Indicator
from publicservices.stats._common import fraction, require, require_numeric, with_metadata
from publicservices.stats.outcomes.levels import level_suffix

__all__ = ["floor_status", "distance_to_target", "FLOOR_STATUS"]

# The floor statuses as an Enum: a byte a row, and it compares equal to plain strings.
FLOOR_STATUS = pl.Enum(["meets", "possibly below", "confidently below", "possibly above", "confidently above", "not assessed"])


def floor_status(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    level: float = 0.95,
    floor: float | None = None,
) -> pl.DataFrame:
    """Add ``floor_status`` (an Enum, :data:`FLOOR_STATUS`): is each area confidently below its floor standard?

    Method: the same interval logic as the Fingertips benchmark comparison, against the
    floor (a minimum standard) instead of a benchmark. For higher_is_better and no_judgement
    indicators the floor is a minimum: **confidently below** when the upper limit is below
    it, **possibly below** when the interval straddles it (lower < floor <= upper),
    **meets** when the lower limit is at or above it. For lower_is_better indicators the
    floor is a ceiling: **confidently above** (lower limit above it), **possibly above**,
    **meets** (upper limit at or below it). Values without limits (scores) are judged on
    the value alone. Missing value: **not assessed**; no floor: null.

    Parameters:
        frame: values with ``value``, limits at ``level`` and ``floor``/``polarity`` columns
            (or ``indicators``).
        indicators: mapping id -> Indicator supplying ``floor`` and ``polarity``.
        level: which limits decide (0.95 -> ``lower_95``/``upper_95``).
        floor: one floor for every row, overriding the indicators' floors.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"value": [90.0, 94.0, 97.0], "lower_95": [88.0, 92.0, 96.0],
        ...     "upper_95": [92.0, 96.0, 98.0], "polarity": ["higher_is_better"] * 3, "floor": [95.0] * 3})
        >>> floor_status(f).get_column("floor_status").to_list()
        ['confidently below', 'possibly below', 'meets']
    """
    frame = with_metadata(frame, indicators, need=("polarity",))
    if floor is not None:
        frame = frame.with_columns(pl.lit(float(floor)).alias("floor"))
    require(frame, ["floor", "value"], "pass indicators= with floors, or floor=.")
    require_numeric(frame, ["floor", "value", "lower", "upper", "lower_95", "upper_95"])
    c = fraction(level)
    tag = level_suffix(c)
    lo_name, hi_name = f"lower_{tag}", f"upper_{tag}"
    if lo_name not in frame.columns and "lower" in frame.columns:
        lo_name, hi_name = "lower", "upper"  # a frame computed at one custom level
    v, f = pl.col("value"), pl.col("floor")
    lo = pl.col(lo_name).fill_null(v) if lo_name in frame.columns else v
    hi = pl.col(hi_name).fill_null(v) if hi_name in frame.columns else v
    ceiling = pl.col("polarity") == "lower_is_better"
    status = (
        pl.when(f.is_null())
        .then(None)
        .when(v.is_null())
        .then(pl.lit("not assessed"))
        .when(ceiling)
        .then(
            pl.when(lo > f)
            .then(pl.lit("confidently above"))
            .when(hi > f)
            .then(pl.lit("possibly above"))
            .otherwise(pl.lit("meets"))
        )
        .otherwise(
            pl.when(hi < f)
            .then(pl.lit("confidently below"))
            .when(lo < f)
            .then(pl.lit("possibly below"))
            .otherwise(pl.lit("meets"))
        )
    )
    return frame.with_columns(status.cast(FLOOR_STATUS).alias("floor_status"))


def distance_to_target(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    target: float | None = None,
) -> pl.DataFrame:
    """Add ``distance_to_target``: how far each value still has to move to reach the target.

    Method: the signed gap on the value scale, oriented by polarity so that a positive number
    is the improvement still needed and zero or less means the target is met:
    ``target - value`` when higher is better (and for no_judgement), ``value - target``
    when lower is better. Null without a target or a value.

    Parameters:
        frame: values with ``value`` and ``target``/``polarity`` columns (or ``indicators``).
        indicators: mapping id -> Indicator supplying ``target`` and ``polarity``.
        target: one target for every row, overriding the indicators' targets.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"value": [80.0, 12.0], "polarity": ["higher_is_better", "lower_is_better"],
        ...     "target": [90.0, 10.0]})
        >>> distance_to_target(f).get_column("distance_to_target").to_list()
        [10.0, 2.0]
    """
    frame = with_metadata(frame, indicators, need=("polarity",))
    if target is not None:
        frame = frame.with_columns(pl.lit(float(target)).alias("target"))
    require(frame, ["target", "value"], "pass indicators= with targets, or target=.")
    require_numeric(frame, ["target", "value"])
    gap = (
        pl.when(pl.col("polarity") == "lower_is_better")
        .then(pl.col("value") - pl.col("target"))
        .otherwise(pl.col("target") - pl.col("value"))
    )
    return frame.with_columns(gap.alias("distance_to_target"))


# -- the entry point ------------------------------------------------------------------------
