"""Grouped counts to values with confidence intervals, as PHEindicatormethods' ``phe_proportion``
and ``phe_rate`` do: numerators and denominators summed within groups, then each group's value and
limits (:mod:`publicservices.stats.outcomes.intervals`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from publicservices.errors import OptionError
from publicservices.stats._common import as_list
from publicservices.stats.outcomes._interval_core import (
    F64,
    Frame,
    aggregate_counts,
    check_rows,
    count_checks,
    key_columns,
    lazy,
    require_schema,
)
from publicservices.stats.outcomes.intervals import interval_columns
from publicservices.stats.outcomes.rates import fractional_small

__all__ = ["proportions", "rates"]


def proportions(
    frame: Frame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: float = 1.0,
    method: str = "wilson",
    validate: bool = True,
) -> Frame:
    """Proportions with Wilson (default) or Clopper-Pearson limits, row by row or per group.

    Method: see :func:`wilson_ci` (Wilson 1927) and :func:`clopper_pearson_ci`; equivalent to
    PHEindicatormethods ``phe_proportion``. With ``by``, numerators and denominators are summed
    per group first (a group with a missing count gets null results). Adds ``value``, the limit
    columns and ``ci_method``.

    Parameters:
        frame: DataFrame or LazyFrame (the result has the same type).
        numerator, denominator: column names.
        by: grouping columns, or None for one result per row.
        confidence: one level or a sequence (default 95% and 99.8%).
        multiplier: 1 (fraction) or 100 (percentage).
        method: ``"wilson"`` or ``"clopper_pearson"``.
        validate: check counts (negative, zero denominator, numerator > denominator) first.

    Raises:
        DataError: naming the column and up to five offending rows.

    Example:
        >>> df = pl.DataFrame({"area": ["a", "a", "b"], "x": [1, 1, 65], "n": [100, 100, 100]})
        >>> out = proportions(df, "x", "n", by="area", confidence=0.95)
        >>> (out.select("area", "value", "lower", "upper")
        ...  .with_columns(pl.col(pl.Float64).round(5)).rows())
        [('a', 0.01, 0.00275, 0.03572), ('b', 0.65, 0.55254, 0.73636)]
    """
    if method not in ("wilson", "clopper_pearson"):
        raise OptionError(f"method {method!r} is not a proportion method.\nFix: use 'wilson' or 'clopper_pearson'.")
    lf, eager = lazy(frame)
    by_cols = as_list(by)
    schema = lf.collect_schema()
    require_schema(schema, [numerator, denominator, *by_cols], [numerator, denominator])
    if validate:
        check_rows(lf, count_checks(numerator, denominator, True), key_columns(schema, by_cols))
    out = aggregate_counts(lf, numerator, denominator, by_cols)
    out = out.with_columns(interval_columns(method, numerator, denominator, confidence, multiplier)).with_columns(
        pl.when(pl.col(numerator).is_not_null() & pl.col(denominator).is_not_null()).then(pl.lit(method)).alias("ci_method")
    )
    return out.collect() if eager else out


def rates(
    frame: Frame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: float = 100000.0,
    exact_below: float = 10,
    validate: bool = True,
) -> Frame:
    """Crude rates with exact Poisson (< 10 events) or Byar's limits, row by row or per group.

    Method: see :func:`byar_ci` (Breslow & Day 1987; Fingertips technical guidance);
    equivalent to PHEindicatormethods ``phe_rate``. ``ci_method`` is ``"exact_poisson"`` or
    ``"byar"`` per row (null when the count is missing). Numerators may exceed denominators.

    Parameters:
        frame, numerator, denominator, by, confidence, validate: as for :func:`proportions`.
        multiplier: e.g. 100000 for a rate per 100,000.
        exact_below: counts below this use the exact method.

    Example:
        >>> df = pl.DataFrame({"x": [1, 20], "n": [100, 100]})
        >>> out = rates(df, "x", "n", multiplier=100, confidence=95)
        >>> (out.select("value", "lower", "upper", "ci_method")
        ...  .with_columns(pl.col(pl.Float64).round(4)).rows())
        [(1.0, 0.0253, 5.5716, 'exact_poisson'), (20.0, 12.2114, 30.8899, 'byar')]
    """
    lf, eager = lazy(frame)
    by_cols = as_list(by)
    schema = lf.collect_schema()
    require_schema(schema, [numerator, denominator, *by_cols], [numerator, denominator])
    if validate:
        check_rows(lf, count_checks(numerator, denominator, False), key_columns(schema, by_cols))
    out = aggregate_counts(lf, numerator, denominator, by_cols)
    x = pl.col(numerator).cast(F64)
    out = out.with_columns(
        interval_columns(
            "byar",
            numerator,
            denominator,
            confidence,
            multiplier,
            exact_below,
            integer_counts=eager and not fractional_small(lf, pl.col(numerator), exact_below),
        )
    ).with_columns(
        pl.when(x.is_null())
        .then(None)
        .when(x < exact_below)
        .then(pl.lit("exact_poisson"))
        .otherwise(pl.lit("byar"))
        .alias("ci_method")
    )
    return out.collect() if eager else out
