"""Confidence intervals for proportions: Wilson score and Clopper-Pearson exact limits.

Wilson (1927); Newcombe & Altman (2000); Clopper & Pearson (1934) -- as PHEindicatormethods
2.1.0 computes them (``phe_proportion``), checked against its test fixtures.

Example:
    >>> import polars as pl
    >>> [round(v, 4) for v in pl.DataFrame({"x": [3], "n": [10]}).select(ci=wilson_ci("x", "n")).unnest("ci").row(0)]
    [0.1078, 0.6032]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from publicservices.stats._common import z_for
from publicservices.stats.outcomes._interval_core import (
    F64,
    Batch,
    IntoExpr,
    Limits,
    as_expr,
    finite_rows,
    multiplier_expr,
    one_pass_struct,
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
    levels, names = confidence_levels(confidence), limit_names(confidence)
    k = multiplier_expr(multiplier)
    return one_pass_struct(
        _inputs(x, n, k, multiplier),
        [name for pair in names for name in pair],
        lambda a: _wilson_arrays(a, _number(multiplier), levels),
        lambda: wilson_limits(pl.col("x"), pl.col("n"), _k_column(k, multiplier), levels, names).struct(),
    )


def _number(v: IntoExpr) -> float | None:
    """A multiplier given as a plain number (it then stays out of the batch's columns)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _inputs(x: IntoExpr, n: IntoExpr, k: pl.Expr, multiplier: IntoExpr) -> list[pl.Expr]:
    columns = [as_expr(x, "x").alias("x"), as_expr(n, "n").alias("n")]
    return columns if _number(multiplier) is not None else [*columns, k.alias("k")]


def _k_column(k: pl.Expr, multiplier: IntoExpr) -> pl.Expr:
    return k if _number(multiplier) is not None else pl.col("k")


def _wilson_arrays(a: dict[str, Any], fixed_k: float | None, levels: Sequence[float]) -> Batch:
    """:func:`wilson_limits` in NumPy, operation for operation (the same bits), on the rows
    with finite inputs; the others are left to the Polars expression."""
    import numpy as np

    x, n = a["x"], a["n"]
    k: Any = a["k"] if fixed_k is None else fixed_k
    # all rows valid, finite, far from overflow and k > 0: no clipping can meet -0.0 or NaN
    plain = _all_valid(x, n, k, levels)
    # q4 = 4x(1 - x/n) and 2x, shared by every level (in place: fewer large temporaries)
    q4 = np.divide(x, n)
    np.subtract(1.0, q4, out=q4)
    twice_x = np.multiply(x, 4.0)
    q4 *= twice_x
    np.multiply(x, 2.0, out=twice_x)
    half = np.empty_like(q4)
    scale = np.empty_like(q4)
    fields = []
    for level in levels:
        z = z_for(level)
        z2 = z * z
        np.add(q4, z2, out=half)
        np.sqrt(half, out=half)
        half *= z
        np.add(n, z2, out=scale)
        scale *= 2.0
        np.divide(k, scale, out=scale)
        lower = np.add(twice_x, z2)
        lower -= half
        lower *= scale
        upper = np.add(twice_x, z2)
        upper += half
        upper *= scale
        if plain:
            np.maximum(lower, 0.0, out=lower)
            np.minimum(upper, k, out=upper)
        else:  # as Polars' clip: -0.0 stays -0.0, NaN stays NaN
            np.copyto(lower, 0.0, where=lower < 0.0)
            np.copyto(upper, k, where=upper > k)
        fields += [lower, upper]
    at_n = np.flatnonzero(x == n)  # x = n: the upper limit is the multiplier itself
    for upper in fields[1::2]:
        upper[at_n] = k if fixed_k is not None else k[at_n]
    if plain:
        return Batch(fields, None, None, [False] * len(fields))
    valid = (n > 0) & (x >= 0) & (x <= n)
    fast = np.isfinite(x) & np.isfinite(n)
    if fixed_k is None:
        fast &= np.isfinite(k)
    # an overflow (a count near 1e308) makes a limit infinite or NaN: Polars decides those
    fast &= ~(valid & ~finite_rows(fields))
    return Batch(fields, ~valid, ~fast, [False] * len(fields))


def _all_valid(x: Any, n: Any, k: Any, levels: Sequence[float]) -> bool:
    """Whether every row is valid (0 <= x <= n, n > 0), finite, with a positive multiplier and
    too small to overflow, found from a few reductions: then no row needs a null or the
    Polars expression."""
    import numpy as np

    if x.size == 0:
        return True
    big = max(float(np.max(x)), float(np.max(n)))
    k_big = float(np.max(np.abs(k)))
    k_min = float(np.min(k))
    if not (float(np.min(x)) >= 0 and float(np.min(n)) > 0 and big < 1e100 and 0 < k_min and k_big < 1e100):
        return False  # NaN fails every comparison
    for level in levels:
        z2 = z_for(level) ** 2
        if (2 * big + z2 + math.sqrt(z2 * (4 * big + z2))) * k_big / (2 * z2) > 1e300:
            return False
    return bool(np.all(x <= n))


def _cp_values(x: Any, n: Any, k: Any, tail: float, upper: bool) -> Any:
    """One Clopper-Pearson limit of every row (NaN where the inputs are unusable)."""
    import numpy as np
    from scipy.special import betaincinv

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
    return out


def _cp_one(tail: float, upper: bool) -> Callable[[pl.Series], pl.Series]:
    def compute(s: pl.Series) -> pl.Series:
        x = s.struct.field("x").to_numpy().astype(float, copy=False)
        n = s.struct.field("n").to_numpy().astype(float, copy=False)
        k = s.struct.field("k").to_numpy().astype(float, copy=False)
        return pl.Series(s.name, _cp_values(x, n, k, tail, upper), dtype=F64, nan_to_null=True)

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
    levels, names = confidence_levels(confidence), limit_names(confidence)
    k = multiplier_expr(multiplier)
    return one_pass_struct(
        _inputs(x, n, k, multiplier),
        [name for pair in names for name in pair],
        lambda a: _cp_arrays(a, _number(multiplier), levels),
        lambda: cp_limits(pl.col("x"), pl.col("n"), _k_column(k, multiplier), levels, names).struct(),
    )


def _cp_arrays(a: dict[str, Any], fixed_k: float | None, levels: Sequence[float]) -> Batch:
    """Every limit of :func:`cp_limits` in one call: the same SciPy steps on the same rows."""
    import numpy as np

    x, n = a["x"], a["n"]
    k = a["k"] if fixed_k is None else np.full(x.shape, fixed_k)
    fast = np.isfinite(x) & np.isfinite(n) & np.isfinite(k)
    valid = (n > 0) & (x >= 0) & (x <= n)
    n = np.where(valid, n, np.nan)  # as cp_limits: invalid rows have a null denominator
    fields = []
    for level in levels:
        tail = (1.0 - level) / 2.0
        fields += [_cp_values(x, n, k, tail, False), _cp_values(x, n, k, tail, True)]
    return Batch(fields, ~valid, ~fast, [True] * len(fields))
