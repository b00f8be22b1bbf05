"""Confidence intervals for proportions: Wilson score and Clopper-Pearson exact limits.

Wilson (1927); Newcombe & Altman (2000); Clopper & Pearson (1934) -- as PHEindicatormethods
2.1.0 computes them (``phe_proportion``), checked against its test fixtures.

Example:
    >>> import polars as pl
    >>> [round(v, 4) for v in pl.DataFrame({"x": [3], "n": [10]}).select(ci=wilson_ci("x", "n")).unnest("ci").row(0)]
    [0.1078, 0.6032]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from publicservices.stats._common import z_for
from publicservices.stats.outcomes._interval_core import (
    F64,
    IntoExpr,
    Limits,
    as_expr,
    multiplier_expr,
)
from publicservices.stats.outcomes.levels import confidence_levels, limit_names

__all__ = ["wilson_ci", "clopper_pearson_ci"]


def wilson_limits(x: pl.Expr, n: pl.Expr, k: pl.Expr, levels, names) -> Limits:
    valid = (n > 0) & (x >= 0) & (x <= n)
    n = pl.when(valid).then(n)  # invalid rows -> null denominator -> null limits
    q4 = 4.0 * x * (1.0 - x / n)  # shared by every level
    twice_x = 2.0 * x
    at_n = x == n
    fields = []
    for level, (lo_name, up_name) in zip(levels, names, strict=True):
        z = z_for(level)
        z2 = z * z
        half = z * (q4 + z2).sqrt()
        scale = k / (2.0 * (n + z2))
        fields.append(((twice_x + z2 - half) * scale).clip(lower_bound=0.0).alias(lo_name))
        # x = n gives 1 - eps by the formula; the method's exact answer is 1.
        upper = ((twice_x + z2 + half) * scale).clip(upper_bound=k)
        fields.append(pl.when(at_n).then(k).otherwise(upper).alias(up_name))
    return Limits(fields, valid)


def wilson_ci(
    x: IntoExpr,
    n: IntoExpr,
    confidence: float | Sequence[float] = 0.95,
    multiplier: IntoExpr = 1.0,
) -> pl.Expr:
    """Wilson score interval for a proportion ``x / n``, scaled by ``multiplier``.

    Method: Wilson EB (1927) JASA 22:209-212, as in Newcombe & Altman (2000) and the Fingertips
    technical guidance: ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``. Closed form,
    no SciPy. Limits lie in ``[0, multiplier]``; ``x = 0`` gives lower 0 and ``x = n`` upper
    ``multiplier``. Rows with a null input, ``n <= 0``, ``x < 0`` or ``x > n`` give null.

    Parameters:
        x: numerator (events); column name, expression or number. Need not be an integer.
        n: denominator.
        confidence: one level (0.95 or 95 -> fields ``lower``, ``upper``) or a sequence
            (``(0.95, 0.998)`` -> ``lower_95, upper_95, lower_998, upper_998``).
        multiplier: 1 for a fraction, 100 for a percentage; a number or an expression.

    Returns:
        A Struct expression; use ``.struct.unnest()`` for flat columns.

    Example:
        >>> df = pl.DataFrame({"x": [65, 1045], "n": [100, 5000]})
        >>> (df.select(wilson_ci("x", "n", (0.95, 0.998), 100).struct.unnest())
        ...  .with_columns(pl.col(pl.Float64).round(4)).rows())
        [(55.2544, 73.6358, 49.5495, 77.8354), (19.7955, 22.0491, 19.1794, 22.7316)]
    """
    levels = confidence_levels(confidence)
    return wilson_limits(as_expr(x, "x"), as_expr(n, "n"), multiplier_expr(multiplier), levels, limit_names(confidence)).struct()


def _cp_one(tail: float, upper: bool) -> Callable[[pl.Series], pl.Series]:
    def compute(s: pl.Series) -> pl.Series:
        import numpy as np
        from scipy.special import betaincinv

        x = s.struct.field("x").to_numpy().astype(float, copy=False)
        n = s.struct.field("n").to_numpy().astype(float, copy=False)
        k = s.struct.field("k").to_numpy().astype(float, copy=False)
        out = np.full(x.shape, np.nan)
        with np.errstate(all="ignore"):
            ok = np.isfinite(x) & np.isfinite(n) & np.isfinite(k) & (n > 0) & (x >= 0) & (x <= n)
            xm, nm = x[ok], n[ok]
            if upper:
                inner = xm < nm
                q = betaincinv(xm + 1.0, np.where(inner, nm - xm, 1.0), 1.0 - tail)
                out[ok] = np.where(inner, q, 1.0) * k[ok]
            else:
                inner = xm > 0
                q = betaincinv(np.where(inner, xm, 1.0), nm - xm + 1.0, tail)
                out[ok] = np.where(inner, q, 0.0) * k[ok]
        return pl.Series(s.name, out, dtype=F64).fill_nan(None)

    return compute


def cp_limits(x: pl.Expr, n: pl.Expr, k: pl.Expr, levels, names) -> Limits:
    valid = (n > 0) & (x >= 0) & (x <= n) & k.is_not_null()
    inputs = pl.struct(x.alias("x"), pl.when(valid).then(n).alias("n"), k.alias("k"))
    fields = []
    for level, pair in zip(levels, names, strict=True):
        tail = (1.0 - level) / 2.0
        for upper, name in zip((False, True), pair, strict=True):
            mapped = inputs.map_batches(_cp_one(tail, upper), return_dtype=F64, is_elementwise=True)
            fields.append(mapped.alias(name))
    return Limits(fields, valid)


def clopper_pearson_ci(
    x: IntoExpr,
    n: IntoExpr,
    confidence: float | Sequence[float] = 0.95,
    multiplier: IntoExpr = 1.0,
) -> pl.Expr:
    """Clopper-Pearson ("exact") interval for a proportion ``x / n``.

    Method: Clopper CJ, Pearson ES (1934) Biometrika 26:404-413; lower = Beta⁻¹(α/2; x, n−x+1)
    (0 when x = 0), upper = Beta⁻¹(1−α/2; x+1, n−x) (1 when x = n), via
    ``scipy.special.betaincinv`` applied to whole columns. Conservative: at least nominal
    coverage, wider than Wilson. Invalid rows give null as in :func:`wilson_ci`.

    Parameters:
        x, n, confidence, multiplier: as for :func:`wilson_ci`.

    Example:
        >>> df = pl.DataFrame({"x": [0, 5], "n": [10, 10]})
        >>> (df.select(clopper_pearson_ci("x", "n").struct.unnest())
        ...  .with_columns(pl.col(pl.Float64).round(6)).rows())
        [(0.0, 0.308497), (0.187086, 0.812914)]
    """
    levels = confidence_levels(confidence)
    limits = cp_limits(as_expr(x, "x"), as_expr(n, "n"), multiplier_expr(multiplier), levels, limit_names(confidence))
    return limits.struct()
