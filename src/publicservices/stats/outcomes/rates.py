"""Confidence intervals for crude rates: exact Poisson below 10 events, Byar's approximation from 10.

Breslow & Day (1987); as PHEindicatormethods 2.1.0 computes them (``phe_rate``).
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

__all__ = ["byar_ci"]


def byar_limits(x: pl.Expr, z: float) -> tuple[pl.Expr, pl.Expr]:
    """Byar's approximation to the Poisson limits of a count (Breslow & Day 1987)."""
    x1 = x + 1.0
    b_lo = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * x.sqrt())
    b_up = 1.0 - 1.0 / (9.0 * x1) + z / (3.0 * x1.sqrt())
    # A negative base means the approximation has broken down (tiny x at high confidence):
    # PHEindicatormethods returns NA there, and so do we.
    lower = pl.when(b_lo >= 0).then(x * b_lo.pow(3)).when(x == 0).then(0.0)
    return lower, x1 * b_up.pow(3)


_EXACT_TABLES: dict[tuple[float, bool, int], Any] = {}


def _exact_table(tail: float, upper: bool, size: int):
    """Exact limits of the counts 0 .. size-1 (most counts are integers: a lookup is enough)."""
    key = (tail, upper, size)
    if key not in _EXACT_TABLES:
        import numpy as np
        from scipy.special import gammaincinv

        counts = np.arange(size, dtype=float)
        if upper:
            table = gammaincinv(counts + 1.0, 1.0 - tail)
        else:
            table = np.concatenate([[0.0], gammaincinv(counts[1:], tail)])
        _EXACT_TABLES[key] = table
    return _EXACT_TABLES[key]


def _exact_values(x: Any, tail: float, upper: bool, exact_below: float) -> Any:
    """Exact Poisson limit of each count in ``x`` below ``exact_below`` (NaN elsewhere)."""
    import numpy as np
    from scipy.special import gammaincinv

    out = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore"):
        # Only the few small counts need the special function; the rest use Byar's.
        idx = np.flatnonzero((x < exact_below) & (x >= 0))
    xm = x[idx]
    whole = xm.astype(np.int64)
    if exact_below <= _TABLE_MAX and np.array_equal(whole, xm):
        out[idx] = _exact_table(tail, upper, int(math.ceil(exact_below)))[whole]
    elif upper:
        # chi2(p, 2x + 2)/2 is the Gamma(x + 1) quantile: gammaincinv(x + 1, p).
        out[idx] = gammaincinv(xm + 1.0, 1.0 - tail)
    else:
        pos = xm > 0
        # For vanishing counts the lower quantile underflows (SciPy returns NaN): it is 0.
        q = np.nan_to_num(gammaincinv(np.where(pos, xm, 1.0), tail), nan=0.0)
        out[idx] = np.where(pos, q, 0.0)
    return out


def exact_one(tail: float, upper: bool, exact_below: float) -> Callable[[pl.Series], pl.Series]:
    """Exact Poisson limit of each count below ``exact_below`` (null elsewhere)."""

    def compute(s: pl.Series) -> pl.Series:
        x = s.to_numpy().astype(float, copy=False)
        # The NaNs sit on rows that are not small counts; the caller takes Byar's there.
        return pl.Series(s.name, _exact_values(x, tail, upper, exact_below), dtype=F64)

    return compute


def poisson_factor(k: pl.Expr, n: pl.Expr) -> pl.Expr:
    """``k / n`` where usable: null for n <= 0 (or a quotient too large to be finite)."""
    f = k / n
    return pl.when((n > 0) & f.is_finite()).then(f)


_TABLE_MAX = 4096


def poisson_limits(
    x: pl.Expr,
    factor: pl.Expr,
    levels,
    names,
    exact_below: float = 10,
    integer_counts: bool = False,
) -> Limits:
    """Limits of a count ``x`` times ``factor``: exact below ``exact_below``, else Byar's.

    ``factor`` (multiplier / denominator) must already be null where it is not usable.
    By default the exact limits come from a NumPy/SciPy function applied per batch (works in
    every context, any count). ``integer_counts=True`` looks whole counts up in a small table
    with a Polars gather instead: no Python call, less memory, but only in ``select`` /
    ``with_columns`` (not inside ``group_by().agg``), and fractional small counts get null.
    """
    valid = (x >= 0) & factor.is_not_null()
    x = pl.when(x >= 0).then(x)  # negative counts -> null limits
    small = x < exact_below
    table_ok = integer_counts and 0 < exact_below <= _TABLE_MAX
    if table_ok:
        size = int(math.ceil(exact_below))
        whole = x == x.floor()
        # Rows that are not small whole counts read some entry and are discarded below.
        index = x.clip(upper_bound=float(size - 1)).cast(pl.Int64, strict=False)
    fields = []
    for level, pair in zip(levels, names, strict=True):
        tail = (1.0 - level) / 2.0
        for upper, byar, name in zip((False, True), byar_limits(x, z_for(level)), pair, strict=True):
            if exact_below <= 0:
                fields.append((byar * factor).alias(name))
                continue
            if table_ok:
                table = pl.lit(pl.Series(_exact_table(tail, upper, size)))
                exact: pl.Expr = pl.when(whole).then(table.gather(index))
            else:
                exact = x.map_batches(exact_one(tail, upper, exact_below), return_dtype=F64, is_elementwise=True)
            fields.append((pl.when(small).then(exact).otherwise(byar) * factor).alias(name))
    return Limits(fields, valid)


def fractional_small(lf: pl.LazyFrame, x: pl.Expr, exact_below: float) -> bool:
    """Whether any count below ``exact_below`` is fractional (decides the lookup path)."""
    xf = x.cast(F64)
    return bool(lf.select(((xf < exact_below) & (xf != xf.floor())).any()).collect().item())


def byar_ci(
    x: IntoExpr,
    n: IntoExpr = 1.0,
    confidence: float | Sequence[float] = 0.95,
    multiplier: IntoExpr = 100000.0,
    exact_below: float = 10,
    integer_counts: bool = False,
) -> pl.Expr:
    """Interval for a crude rate ``x/n × multiplier``: exact Poisson below 10 events, else Byar's.

    Method (Fingertips technical guidance; Breslow NE, Day NE (1987) *Statistical Methods in
    Cancer Research II*): for x < ``exact_below`` the exact limits
    ``χ²((1−c)/2, 2x)/2`` and ``χ²((1+c)/2, 2x+2)/2`` (lower 0 when x = 0; SciPy's
    ``gammaincinv`` on the small counts only); otherwise Byar's
    ``x(1 − 1/(9x) − z/(3√x))³`` and ``(x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³``; both divided
    by ``n`` and multiplied by ``multiplier``. ``exact_below=0`` gives Byar's everywhere (a
    Byar's lower limit that falls below zero is null, as in PHEindicatormethods). A count may
    exceed ``n``. Null input, ``n <= 0`` or ``x < 0`` give null.

    Parameters:
        x: events. n: population or person-time (1 with ``multiplier=1`` gives limits of the
            count itself). confidence: as for :func:`wilson_ci`. multiplier: e.g. 100000.
        exact_below: counts below this use the exact method (10 as Fingertips).
        integer_counts: promise that counts below ``exact_below`` are whole numbers: their
            exact limits are then looked up in pure Polars (faster, less memory; for
            ``select``/``with_columns``, not inside ``group_by().agg``); a fractional count
            below ``exact_below`` would get null limits.

    Example:
        >>> df = pl.DataFrame({"x": [5, 65], "n": [100, 100]})
        >>> (df.select(byar_ci("x", "n", multiplier=100).struct.unnest())
        ...  .with_columns(pl.col(pl.Float64).round(5)).rows())
        [(1.62349, 11.66833), (50.16319, 82.84914)]
    """
    levels, names = confidence_levels(confidence), limit_names(confidence)
    k = multiplier_expr(multiplier)
    fixed_k = float(multiplier) if isinstance(multiplier, (int, float)) and not isinstance(multiplier, bool) else None
    inputs = [as_expr(x, "x").alias("x"), as_expr(n, "n").alias("n")]
    if fixed_k is None:
        inputs.append(k.alias("k"))
    k_in = k if fixed_k is not None else pl.col("k")
    return one_pass_struct(
        inputs,
        [name for pair in names for name in pair],
        lambda a: _byar_arrays(a, fixed_k, levels, exact_below, integer_counts),
        lambda: poisson_limits(
            pl.col("x"), poisson_factor(k_in, pl.col("n")), levels, names, exact_below, integer_counts
        ).struct(),
    )


def _byar_arrays(
    a: dict[str, Any], fixed_k: float | None, levels: Sequence[float], exact_below: float, integer_counts: bool
) -> Batch:
    """:func:`poisson_limits` in NumPy, operation for operation (the same bits), on the rows
    with finite inputs; the others are left to the Polars expression."""
    import numpy as np

    x, n = a["x"], a["n"]
    k = a["k"] if fixed_k is None else fixed_k
    factor = np.divide(k, n)  # poisson_factor: usable where n > 0 and the quotient is finite
    x1 = x + 1.0
    # 1 - 1/(9x) and 3 sqrt(x), for x and x + 1, shared by every level
    one_lo = np.multiply(x, 9.0)
    np.divide(1.0, one_lo, out=one_lo)
    np.subtract(1.0, one_lo, out=one_lo)
    one_up = np.multiply(x1, 9.0)
    np.divide(1.0, one_up, out=one_up)
    np.subtract(1.0, one_up, out=one_up)
    root_lo = np.sqrt(x)
    root_lo *= 3.0
    root_up = np.sqrt(x1)
    root_up *= 3.0
    small = np.flatnonzero((x < exact_below) & (x >= 0)) if exact_below > 0 else np.zeros(0, dtype=np.intp)
    xs = x[small]
    lookup = integer_counts and 0 < exact_below <= _TABLE_MAX
    if lookup:  # as poisson_limits: whole small counts read a table, fractional ones get null
        size = int(math.ceil(exact_below))
        whole = xs == np.floor(xs)
        index = np.where(whole, xs, 0.0).astype(np.int64)
    fields, nulls = [], []
    base = np.empty_like(x)
    for level in levels:
        z = z_for(level)
        tail = (1.0 - level) / 2.0
        np.divide(z, root_lo, out=base)
        np.subtract(one_lo, base, out=base)  # 1 - 1/(9x) - z/(3 sqrt x)
        lower = np.multiply(base, base)
        lower *= base
        lower *= x
        # byar_limits: the lower limit is null where its base is negative, 0 for no events
        neg = np.flatnonzero(~(base >= 0))
        lower[neg] = np.where(x[neg] == 0, 0.0, np.nan)
        lower_null = neg[x[neg] != 0]
        np.divide(z, root_up, out=base)
        np.add(one_up, base, out=base)  # 1 - 1/(9(x+1)) + z/(3 sqrt(x+1))
        upper = np.multiply(base, base)
        upper *= base
        upper *= x1
        for is_upper, limit in ((False, lower), (True, upper)):
            null = np.zeros(0, dtype=np.intp) if is_upper else lower_null
            if small.size:
                if lookup:
                    limit[small] = np.where(whole, _exact_table(tail, is_upper, size)[index], np.nan)
                    null = np.union1d(np.setdiff1d(null, small), small[~whole])
                else:
                    limit[small] = _exact_values(xs, tail, is_upper, exact_below)
                    null = np.setdiff1d(null, small)
            limit *= factor
            fields.append(limit)
            nulls.append(null)
    nan_is_null = [null.size > 0 for null in nulls]
    if _all_valid(x, n, factor, levels):
        return Batch(fields, None, None, nan_is_null)
    fast = np.isfinite(x) & np.isfinite(n)
    if fixed_k is None:
        fast &= np.isfinite(k)
    valid = (x >= 0) & (n > 0) & np.isfinite(factor)
    # a limit that is not null by the method must be finite (else an overflow: Polars decides)
    check = np.flatnonzero(valid & ~finite_rows(fields))
    for limit, null in zip(fields, nulls, strict=True):
        bad = check[~np.isfinite(limit[check]) & ~np.isin(check, null)]
        fast[bad] = False
    return Batch(fields, ~valid, ~fast, nan_is_null)


def _all_valid(x: Any, n: Any, factor: Any, levels: Sequence[float]) -> bool:
    """Whether every row is valid (x >= 0, n > 0, a finite factor), finite and too small to
    overflow, found from a few reductions: then no row needs the Polars expression."""
    import numpy as np

    if x.size == 0:
        return True
    x_max, f_max = float(np.max(x)), float(np.max(np.abs(factor)))
    if not (float(np.min(x)) >= 0 and float(np.min(n)) > 0 and x_max < 1e100 and f_max < 1e100):
        return False  # NaN and infinity fail these comparisons
    z = max(z_for(level) for level in levels)
    return (x_max + 1.0) * (1.0 + z) ** 3 * f_max < 1e300
