"""Confidence intervals for means: Student's t (PHEindicatormethods ``phe_mean``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from publicservices.stats._common import as_list
from publicservices.stats.outcomes._interval_core import (
    F64,
    Frame,
    IntoExpr,
    as_expr,
    check_rows,
    key_columns,
    lazy,
    require_schema,
)
from publicservices.stats.outcomes.levels import confidence_levels, limit_names

__all__ = ["mean_ci", "mean_ci_from_sums", "means"]


def _t_quantile(p: float) -> Callable[[pl.Series], pl.Series]:
    def compute(s: pl.Series) -> pl.Series:
        import numpy as np
        from scipy.special import stdtrit

        df = s.cast(F64).to_numpy() - 1.0
        with np.errstate(all="ignore"):
            t = np.where(df >= 1, stdtrit(np.where(df >= 1, df, 1.0), p), np.nan)
        return pl.Series(s.name, t, dtype=F64, nan_to_null=True)

    return compute


def mean_ci(values: IntoExpr, confidence: float | Sequence[float] = 0.95) -> list[pl.Expr]:
    """Student's t interval for a mean: expressions for ``group_by().agg`` (or ``select``).

    Method: mean ± t(n−1, (1+c)/2) · sd / √n (Student 1908; PHEindicatormethods ``phe_mean``);
    ``sd`` is the sample standard deviation (n − 1). Nulls are ignored; fewer than two values
    give null limits.

    Parameters:
        values: the observations (column name or expression).
        confidence: one level (``lower``, ``upper``) or a sequence (``lower_95`` ...).

    Returns:
        ``[value_sum, value_count, stdev, value, <limits>]``, ready to splat into ``agg``.

    Example:
        >>> df = pl.DataFrame({"g": ["a"] * 4, "v": [1.0, 2.0, 3.0, 6.0]})
        >>> (df.group_by("g").agg(mean_ci("v")).select("value", "lower", "upper")
        ...  .with_columns(pl.col(pl.Float64).round(4)).rows())
        [(3.0, -0.4374, 6.4374)]
    """
    levels = confidence_levels(confidence)
    names = limit_names(confidence)
    v = as_expr(values, "values")
    count = v.count()
    mean = v.mean()
    se = v.std() / count.cast(F64).sqrt()
    out = [
        v.sum().alias("value_sum"),
        count.alias("value_count"),
        v.std().alias("stdev"),
        mean.alias("value"),
    ]
    for level, (lo_name, up_name) in zip(levels, names, strict=True):
        t = count.map_batches(_t_quantile(level + (1.0 - level) / 2.0), return_dtype=F64, is_elementwise=True)
        out += [(mean - t * se).alias(lo_name), (mean + t * se).alias(up_name)]
    return out


def mean_ci_from_sums(
    total: IntoExpr, count: IntoExpr, sum_squares: IntoExpr, confidence: float | Sequence[float] = 0.95
) -> list[pl.Expr]:
    """Student's t limits of a mean from a group's sum, count and sum of squares.

    The same interval as :func:`mean_ci`, for aggregates that were summed elsewhere (records
    aggregated on Spark, or rolled up from areas to regions): sd² = (Σx² − (Σx)²/n)/(n − 1).
    Fewer than two values give null limits.

    Returns:
        ``[value, <limits>]`` expressions for ``with_columns``.

    Example:
        >>> df = pl.DataFrame({"s": [12.0], "n": [4], "ss": [50.0]})
        >>> (df.select(mean_ci_from_sums("s", "n", "ss")).with_columns(pl.col(pl.Float64).round(4)).rows())
        [(3.0, -0.4374, 6.4374)]
    """
    levels, names = confidence_levels(confidence), limit_names(confidence)
    s, n, ss = as_expr(total, "total").cast(F64), as_expr(count, "count"), as_expr(sum_squares, "sum_squares").cast(F64)
    nf = n.cast(F64)
    mean = pl.when(nf > 0).then(s / nf)
    var = ((ss - s * s / nf) / (nf - 1.0)).clip(lower_bound=0.0)  # rounding can take a zero variance below 0
    se = pl.when(nf >= 2).then((var / nf).sqrt())
    out = [mean.alias("value")]
    for level, (lo_name, up_name) in zip(levels, names, strict=True):
        t = n.map_batches(_t_quantile(level + (1.0 - level) / 2.0), return_dtype=F64, is_elementwise=True)
        out += [(mean - t * se).alias(lo_name), (mean + t * se).alias(up_name)]
    return out


def means(
    frame: Frame,
    values: str,
    *,
    by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    validate: bool = True,
) -> Frame:
    """Means with Student's t limits per group (or over all rows when ``by`` is None).

    Method: see :func:`mean_ci`; equivalent to PHEindicatormethods ``phe_mean``. Returns the
    group columns, ``value_sum, value_count, stdev, value``, the limits and ``ci_method``.

    Example:
        >>> df = pl.DataFrame({"v": [1.0, 2.0, 3.0, 6.0]})
        >>> (means(df, "v", confidence=0.95).select("value", "lower", "upper")
        ...  .with_columns(pl.col(pl.Float64).round(4)).rows())
        [(3.0, -0.4374, 6.4374)]
    """
    lf, eager = lazy(frame)
    by_cols = as_list(by)
    schema = lf.collect_schema()
    require_schema(schema, [values, *by_cols], [values])
    if validate:
        check_rows(
            lf,
            [
                (
                    values,
                    "is not finite (NaN or infinite)",
                    ~pl.col(values).cast(F64).is_finite(),
                    "replace it with a number, or null if unknown.",
                )
            ],
            key_columns(schema, by_cols),
        )
    exprs = mean_ci(values, confidence)
    out = lf.group_by(by_cols, maintain_order=True).agg(exprs) if by_cols else lf.select(exprs)
    out = out.with_columns(pl.lit("student_t").alias("ci_method"))
    return out.collect() if eager else out
