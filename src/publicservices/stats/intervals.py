"""Confidence intervals for indicator values, as Polars expressions and frame functions.

The methods are those of the Fingertips *Public Health Technical Guidance* and the R package
PHEindicatormethods (2.1.0), whose own test fixtures these functions reproduce:

========================  =====================================================================
measure                   method
========================  =====================================================================
proportion                Wilson score (Wilson 1927; Newcombe & Altman 2000); Clopper-Pearson
                          exact (Clopper & Pearson 1934) as an option
rate (crude)              exact Poisson (chi-square) below 10 events, Byar's approximation from
                          10 (Breslow & Day 1987)
mean                      Student's t
dsr                       Dobson et al. (1991), Byar's limits of the total count; optional
                          adjustment for non-independent events; suppressed below 10 events
ratio (ISR / SMR)         observed / expected with exact (< 10) or Byar's limits of observed
========================  =====================================================================

Expression builders (:func:`wilson_ci`, :func:`clopper_pearson_ci`, :func:`byar_ci`) return a
Struct with fields ``lower`` and ``upper`` for one level, or ``lower_95, upper_95, lower_998,
upper_998`` for a sequence of levels; ``.struct.unnest()`` turns it into flat columns, and
:func:`interval_columns` gives ``value`` plus the flat limits in one call. Frame functions
(:func:`proportions`, :func:`rates`, :func:`means`, :func:`dsr`, :func:`isr`) work on
DataFrames and LazyFrames and return the same type. :func:`add_intervals` applies the right
method to every row of a values frame according to each indicator's ``measure``.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"x": [65, 0], "n": [100, 50]})
    >>> (df.select(interval_columns("wilson", "x", "n", confidence=0.95))
    ...  .with_columns(pl.col(pl.Float64).round(6)).rows())
    [(0.65, 0.552544, 0.736358), (0.0, 0.0, 0.071348)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import polars as pl

from publicservices.errors import (
    DataError,
    IndicatorError,
    PublicServicesError,
    SchemaError,
    problem,
)
from publicservices.stats.standard_populations import STANDARD_POPULATIONS

__all__ = [
    "confidence_levels",
    "level_suffix",
    "limit_names",
    "wilson_ci",
    "clopper_pearson_ci",
    "byar_ci",
    "mean_ci",
    "interval_columns",
    "proportions",
    "rates",
    "means",
    "dsr",
    "isr",
    "add_intervals",
    "CI_METHODS",
]

IntoExpr = str | pl.Expr | float | int
Frame = pl.DataFrame | pl.LazyFrame

#: Values the ``ci_method`` column can take (null means no interval could be computed).
CI_METHODS: tuple[str, ...] = (
    "wilson",
    "clopper_pearson",
    "exact_poisson",
    "byar",
    "dobson",
    "dobson_non_independent",
    "student_t",
    "supplied_logit",
    "supplied_sqrt",
    "supplied_linear",
)

_F64 = pl.Float64
_KEYS = ("indicator_id", "area_code", "period")


# --------------------------------------------------------------------------------------------
# confidence levels
# --------------------------------------------------------------------------------------------


def _one_level(c: Any) -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
        raise PublicServicesError(
            f"confidence {c!r} is not a number.\n"
            "Fix: give a level such as 0.95 (or 95), or a sequence such as (0.95, 0.998)."
        )
    level = float(c)
    if 1 < level < 100:
        level = level / 100.0
    if not 0 < level < 1:
        raise PublicServicesError(
            f"confidence level {c!r} is out of range: it must be between 0 and 1 (e.g. 0.95) "
            "or between 1 and 100 as a percentage (e.g. 95); 1 and 100 would give infinite "
            "limits.\n"
            "Fix: use 0.95 for 95% limits and 0.998 for 99.8% limits."
        )
    return level


def confidence_levels(confidence: float | Sequence[float]) -> tuple[float, ...]:
    """Normalise one level or a sequence of levels to fractions, as PHEindicatormethods does.

    Levels above 1 are percentages (95 -> 0.95, 99.8 -> 0.998).

    Parameters:
        confidence: a number (0.95 or 95) or a sequence of distinct numbers.

    Example:
        >>> confidence_levels(95), confidence_levels((0.95, 99.8))
        ((0.95,), (0.95, 0.998))
    """
    items = (confidence,) if isinstance(confidence, (int, float)) else tuple(confidence)
    if not items:
        raise PublicServicesError(
            "confidence is empty.\nFix: give a level such as 0.95, or (0.95, 0.998)."
        )
    levels = tuple(_one_level(c) for c in items)
    suffixes = [level_suffix(lv) for lv in levels]
    if len(set(suffixes)) != len(suffixes):
        raise PublicServicesError(
            f"confidence {confidence!r} repeats a level.\n"
            "Fix: list each level once, e.g. (0.95, 0.998)."
        )
    return levels


def level_suffix(level: float) -> str:
    """Column suffix for a level: 0.95 -> ``"95"``, 0.998 -> ``"998"``, 0.9 -> ``"90"``.

    Example:
        >>> [level_suffix(x) for x in (0.95, 0.998, 0.9, 0.975)]
        ['95', '998', '90', '975']
    """
    return f"{round(float(level) * 100, 6):g}".replace(".", "")


def limit_names(confidence: float | Sequence[float]) -> list[tuple[str, str]]:
    """Names of the (lower, upper) columns for ``confidence``.

    One number gives ``lower``/``upper``; a sequence gives ``lower_95``/``upper_95``, ... .

    Example:
        >>> limit_names(0.95), limit_names((0.95, 0.998))
        ([('lower', 'upper')], [('lower_95', 'upper_95'), ('lower_998', 'upper_998')])
    """
    levels = confidence_levels(confidence)
    if isinstance(confidence, (int, float)):
        return [("lower", "upper")]
    return [(f"lower_{level_suffix(lv)}", f"upper_{level_suffix(lv)}") for lv in levels]


def _z(level: float) -> float:
    # PHE's form qnorm(c + (1 - c)/2), kept so limits agree to the last bit.
    return NormalDist().inv_cdf(level + (1.0 - level) / 2.0)


def _e(v: IntoExpr, what: str) -> pl.Expr:
    if isinstance(v, pl.Expr):
        return v.cast(_F64)
    if isinstance(v, str):
        return pl.col(v).cast(_F64)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return pl.lit(float(v), dtype=_F64)
    raise PublicServicesError(
        f"{what} must be a column name, a Polars expression or a number, not {type(v).__name__}."
    )


def _multiplier(m: IntoExpr) -> pl.Expr:
    if isinstance(m, (int, float)) and not isinstance(m, bool) and not (math.isfinite(m) and m > 0):
        raise PublicServicesError(
            f"multiplier {m!r} must be a positive number such as 1, 100 or 100000."
        )
    return _e(m, "multiplier")


# --------------------------------------------------------------------------------------------
# expression builders
# --------------------------------------------------------------------------------------------


class _Limits:
    """Limit expressions (one per field, in ``names`` order) and the rows where they are valid.

    The fields are already null on invalid rows (the inputs are masked once, which is cheaper
    than masking every field). ``struct()`` wraps them for the Struct-returning builders, null
    as a whole on invalid rows; ``columns()`` gives flat columns. Flat columns matter for
    speed: ``.struct.unnest()`` on an unmaterialised expression evaluates the whole struct
    once per field.
    """

    def __init__(self, fields: list[pl.Expr], valid: pl.Expr) -> None:
        self.fields, self.valid = fields, valid

    def struct(self) -> pl.Expr:
        return pl.when(self.valid).then(pl.struct(self.fields))

    def columns(self) -> list[pl.Expr]:
        return list(self.fields)


def _wilson(x: pl.Expr, n: pl.Expr, k: pl.Expr, levels, names) -> _Limits:
    valid = (n > 0) & (x >= 0) & (x <= n)
    n = pl.when(valid).then(n)  # invalid rows -> null denominator -> null limits
    q4 = 4.0 * x * (1.0 - x / n)  # shared by every level
    twice_x = 2.0 * x
    at_n = x == n
    fields = []
    for level, (lo_name, up_name) in zip(levels, names):
        z = _z(level)
        z2 = z * z
        half = z * (q4 + z2).sqrt()
        scale = k / (2.0 * (n + z2))
        fields.append(((twice_x + z2 - half) * scale).clip(lower_bound=0.0).alias(lo_name))
        # x = n gives 1 - eps by the formula; the method's exact answer is 1.
        upper = ((twice_x + z2 + half) * scale).clip(upper_bound=k)
        fields.append(pl.when(at_n).then(k).otherwise(upper).alias(up_name))
    return _Limits(fields, valid)


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
    return _wilson(
        _e(x, "x"), _e(n, "n"), _multiplier(multiplier), levels, limit_names(confidence)
    ).struct()


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
        return pl.Series(s.name, out, dtype=_F64).fill_nan(None)

    return compute


def _cp(x: pl.Expr, n: pl.Expr, k: pl.Expr, levels, names) -> _Limits:
    valid = (n > 0) & (x >= 0) & (x <= n) & k.is_not_null()
    inputs = pl.struct(x.alias("x"), pl.when(valid).then(n).alias("n"), k.alias("k"))
    fields = []
    for level, pair in zip(levels, names):
        tail = (1.0 - level) / 2.0
        for upper, name in zip((False, True), pair):
            mapped = inputs.map_batches(
                _cp_one(tail, upper), return_dtype=_F64, is_elementwise=True
            )
            fields.append(mapped.alias(name))
    return _Limits(fields, valid)


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
    limits = _cp(_e(x, "x"), _e(n, "n"), _multiplier(multiplier), levels, limit_names(confidence))
    return limits.struct()


def _byar_limits(x: pl.Expr, z: float) -> tuple[pl.Expr, pl.Expr]:
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


def _exact_one(tail: float, upper: bool, exact_below: float) -> Callable[[pl.Series], pl.Series]:
    """Exact Poisson limit of each count below ``exact_below`` (null elsewhere)."""

    def compute(s: pl.Series) -> pl.Series:
        import numpy as np
        from scipy.special import gammaincinv

        x = s.to_numpy().astype(float, copy=False)
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
        # The NaNs sit on rows that are not small counts; the caller takes Byar's there.
        return pl.Series(s.name, out, dtype=_F64)

    return compute


def _factor(k: pl.Expr, n: pl.Expr) -> pl.Expr:
    """``k / n`` where usable: null for n <= 0 (or a quotient too large to be finite)."""
    f = k / n
    return pl.when((n > 0) & f.is_finite()).then(f)


_TABLE_MAX = 4096


def _poisson(
    x: pl.Expr,
    factor: pl.Expr,
    levels,
    names,
    exact_below: float = 10,
    integer_counts: bool = False,
) -> _Limits:
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
    for level, pair in zip(levels, names):
        tail = (1.0 - level) / 2.0
        for upper, byar, name in zip((False, True), _byar_limits(x, _z(level)), pair):
            if exact_below <= 0:
                fields.append((byar * factor).alias(name))
                continue
            if table_ok:
                table = pl.lit(pl.Series(_exact_table(tail, upper, size)))
                exact = pl.when(whole).then(table.gather(index))
            else:
                exact = x.map_batches(
                    _exact_one(tail, upper, exact_below), return_dtype=_F64, is_elementwise=True
                )
            fields.append((pl.when(small).then(exact).otherwise(byar) * factor).alias(name))
    return _Limits(fields, valid)


def _fractional_small(lf: pl.LazyFrame, x: pl.Expr, exact_below: float) -> bool:
    """Whether any count below ``exact_below`` is fractional (decides the lookup path)."""
    xf = x.cast(_F64)
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
    levels = confidence_levels(confidence)
    xe, ne = _e(x, "x"), _e(n, "n")
    factor = _factor(_multiplier(multiplier), ne)
    return _poisson(
        xe, factor, levels, limit_names(confidence), exact_below, integer_counts
    ).struct()


def _t_quantile(p: float) -> Callable[[pl.Series], pl.Series]:
    def compute(s: pl.Series) -> pl.Series:
        import numpy as np
        from scipy.special import stdtrit

        df = s.cast(_F64).to_numpy() - 1.0
        with np.errstate(all="ignore"):
            t = np.where(df >= 1, stdtrit(np.where(df >= 1, df, 1.0), p), np.nan)
        return pl.Series(s.name, t, dtype=_F64).fill_nan(None)

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
    v = _e(values, "values")
    count = v.count()
    mean = v.mean()
    se = v.std() / count.cast(_F64).sqrt()
    out = [
        v.sum().alias("value_sum"),
        count.alias("value_count"),
        v.std().alias("stdev"),
        mean.alias("value"),
    ]
    for level, (lo_name, up_name) in zip(levels, names):
        t = count.map_batches(
            _t_quantile(level + (1.0 - level) / 2.0), return_dtype=_F64, is_elementwise=True
        )
        out += [(mean - t * se).alias(lo_name), (mean + t * se).alias(up_name)]
    return out


_METHODS = ("wilson", "clopper_pearson", "byar")


def interval_columns(
    method: str,
    x: IntoExpr,
    n: IntoExpr,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: IntoExpr | None = None,
    exact_below: float = 10,
    integer_counts: bool = False,
) -> list[pl.Expr]:
    """``value`` plus flat limit columns for a proportion or a crude rate, in one call.

    ``method`` is ``"wilson"`` or ``"clopper_pearson"`` (proportions, multiplier default 1) or
    ``"byar"`` (rates: exact Poisson below ``exact_below`` events; multiplier default 100000).
    See :func:`wilson_ci`, :func:`clopper_pearson_ci`, :func:`byar_ci` for methods and
    references. Use inside ``with_columns`` (row by row) or ``group_by().agg`` with summed
    counts; for many groups it is faster to aggregate first, then add the columns.
    ``integer_counts`` is passed to :func:`byar_ci` (rates only).

    Example:
        >>> df = pl.DataFrame({"x": [20], "n": [100]})
        >>> (df.with_columns(interval_columns("byar", "x", "n", multiplier=100))
        ...  .with_columns(pl.col(pl.Float64).round(3)).row(0))
        (20, 100, 20.0, 12.211, 30.89, 8.923, 38.085)
    """
    if method not in _METHODS:
        raise PublicServicesError(
            f"method {method!r} is not known.\nFix: use one of {', '.join(_METHODS)}."
        )
    if multiplier is None:
        multiplier = 100000.0 if method == "byar" else 1.0
    xe, ne, k = _e(x, "x"), _e(n, "n"), _multiplier(multiplier)
    levels, names = confidence_levels(confidence), limit_names(confidence)
    if method == "wilson":
        ci = _wilson(xe, ne, k, levels, names)
        value = pl.when((ne > 0) & (xe >= 0) & (xe <= ne)).then(xe / ne * k)
    elif method == "clopper_pearson":
        ci = _cp(xe, ne, k, levels, names)
        value = pl.when((ne > 0) & (xe >= 0) & (xe <= ne)).then(xe / ne * k)
    else:
        factor = _factor(k, ne)
        ci = _poisson(xe, factor, levels, names, exact_below, integer_counts)
        value = pl.when((ne > 0) & (xe >= 0)).then(xe * factor)
    return [value.alias("value"), *ci.columns()]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _lazy(frame: Any, what: str = "frame") -> tuple[pl.LazyFrame, bool]:
    if isinstance(frame, pl.DataFrame):
        return frame.lazy(), True
    if isinstance(frame, pl.LazyFrame):
        return frame, False
    raise SchemaError(
        f"{what} must be a Polars DataFrame or LazyFrame, not {type(frame).__name__}.\n"
        "Fix: convert it first, e.g. pl.from_pandas(df)."
    )


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _require(schema: pl.Schema, columns: Sequence[str], numeric: Sequence[str] = ()) -> None:
    missing = [c for c in columns if c not in schema]
    if missing:
        raise SchemaError(
            problem(
                missing[0],
                "is missing",
                fix=f"the frame has columns {list(schema.names())}; pass the right name or add "
                f"the column{'s ' + str(missing) if len(missing) > 1 else ''}.",
            )
        )
    for c in numeric:
        if not schema[c].is_numeric():
            raise SchemaError(
                problem(
                    c,
                    f"must be numeric but is {schema[c]}",
                    fix=f"cast it, e.g. pl.col({c!r}).cast(pl.Float64), after removing any "
                    "text such as '*'.",
                )
            )


def _describe(lf: pl.LazyFrame, mask: pl.Expr, keys: Sequence[str]) -> list[str]:
    if keys:
        rows = lf.filter(mask).select(keys).head(5).collect().rows()
        return [" | ".join("" if v is None else str(v) for v in r) for r in rows]
    rows = lf.with_row_index("__ps_row").filter(mask).select("__ps_row").head(5).collect()
    return [f"row {i}" for i in rows["__ps_row"]]


def _check(
    lf: pl.LazyFrame,
    checks: Sequence[tuple[str | None, str, pl.Expr, str]],
    keys: Sequence[str],
) -> None:
    """Count every failing condition in one pass; raise for the first that fails."""
    if not checks:
        return
    counts = lf.select(
        [m.fill_null(False).sum().alias(f"c{i}") for i, (_, _, m, _) in enumerate(checks)]
    ).collect().row(0)
    for (column, what, mask, fix), count in zip(checks, counts):
        if count:
            rows = _describe(lf, mask.fill_null(False), keys)
            raise DataError(problem(column, what, rows=rows, total=count, fix=fix))


def _keys(schema: pl.Schema, by: Sequence[str]) -> list[str]:
    keys = [c for c in _KEYS if c in schema]
    return keys or [c for c in by if c in schema]


def _count_checks(x: str, n: str, proportion: bool, n_strict: bool = True) -> list:
    xc, nc = pl.col(x), pl.col(n)
    not_finite = "is not finite (NaN or infinite)"
    use_count = "replace it with a count, or null if unknown."
    checks = [
        (x, not_finite, ~xc.cast(_F64).is_finite(), use_count),
        (n, not_finite, ~nc.cast(_F64).is_finite(), use_count),
        (x, "is negative", xc < 0,
         "numerators (counts of events) must be greater than or equal to zero."),
    ]
    if n_strict:
        checks.append((n, "is zero or negative", nc <= 0,
                       "denominators must be greater than zero; use null when unknown."))
    else:
        checks.append((n, "is negative", nc < 0,
                       "populations must be greater than or equal to zero."))
    if proportion:
        checks.append(
            (x, "is greater than the denominator", xc > nc,
             "a proportion needs numerator <= denominator; if the indicator is a rate, use rates() "
             "or measure='rate'.")
        )
    return checks


def _nullable_sum(c: str) -> pl.Expr:
    # PHE sums with NA propagating: a group with a missing count has a missing total.
    return pl.when(pl.col(c).null_count() == 0).then(pl.col(c).cast(_F64).sum())


# --------------------------------------------------------------------------------------------
# frame functions: proportions, rates, means
# --------------------------------------------------------------------------------------------


def _aggregate_counts(lf: pl.LazyFrame, x: str, n: str, by: list[str]) -> pl.LazyFrame:
    if not by:
        return lf
    return lf.group_by(by, maintain_order=True).agg(
        _nullable_sum(x).alias(x), _nullable_sum(n).alias(n)
    )


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
        raise PublicServicesError(
            f"method {method!r} is not a proportion method.\n"
            "Fix: use 'wilson' or 'clopper_pearson'."
        )
    lf, eager = _lazy(frame)
    by_cols = _by_list(by)
    schema = lf.collect_schema()
    _require(schema, [numerator, denominator, *by_cols], [numerator, denominator])
    if validate:
        _check(lf, _count_checks(numerator, denominator, True), _keys(schema, by_cols))
    out = _aggregate_counts(lf, numerator, denominator, by_cols)
    out = out.with_columns(
        interval_columns(method, numerator, denominator, confidence, multiplier)
    ).with_columns(
        pl.when(pl.col(numerator).is_not_null() & pl.col(denominator).is_not_null())
        .then(pl.lit(method))
        .alias("ci_method")
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
    lf, eager = _lazy(frame)
    by_cols = _by_list(by)
    schema = lf.collect_schema()
    _require(schema, [numerator, denominator, *by_cols], [numerator, denominator])
    if validate:
        _check(lf, _count_checks(numerator, denominator, False), _keys(schema, by_cols))
    out = _aggregate_counts(lf, numerator, denominator, by_cols)
    x = pl.col(numerator).cast(_F64)
    out = out.with_columns(
        interval_columns(
            "byar", numerator, denominator, confidence, multiplier, exact_below,
            integer_counts=eager and not _fractional_small(lf, pl.col(numerator), exact_below),
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
    lf, eager = _lazy(frame)
    by_cols = _by_list(by)
    schema = lf.collect_schema()
    _require(schema, [values, *by_cols], [values])
    if validate:
        _check(
            lf,
            [(values, "is not finite (NaN or infinite)", ~pl.col(values).cast(_F64).is_finite(),
              "replace it with a number, or null if unknown.")],
            _keys(schema, by_cols),
        )
    exprs = mean_ci(values, confidence)
    out = lf.group_by(by_cols, maintain_order=True).agg(exprs) if by_cols else lf.select(exprs)
    out = out.with_columns(pl.lit("student_t").alias("ci_method"))
    return out.collect() if eager else out


# --------------------------------------------------------------------------------------------
# directly standardised rates (Dobson)
# --------------------------------------------------------------------------------------------


def _position(by: list[str]) -> pl.Expr:
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    return pos.over(by) if by else pos


def _group_label(row: tuple, by: list[str]) -> str:
    return " | ".join(str(v) for v in row) if by else "(all rows)"


def _vector_by_position(
    lf: pl.LazyFrame, values: Sequence[float], by: list[str], what: str, validate: bool
) -> pl.Expr:
    try:
        vals = [float(v) for v in values]
    except (TypeError, ValueError):
        raise PublicServicesError(f"{what} must be a sequence of numbers.") from None
    if validate and any(not math.isfinite(v) or v < 0 for v in vals):
        raise DataError(
            problem(None, f"{what} has missing, negative or non-finite values",
                    rows=[f"position {i}: {v}" for i, v in enumerate(vals)
                          if not (math.isfinite(v) and v >= 0)],
                    fix="give a number >= 0 for every band.")
        )
    k = len(vals)
    position = _position(by)
    if validate:
        sizes = (
            lf.group_by(by, maintain_order=True).agg(pl.len().alias("__ps_n")).collect()
            if by
            else lf.select(pl.len().alias("__ps_n")).collect()
        )
        bad = sizes.filter(pl.col("__ps_n") != k)
        if bad.height:
            rows = [
                f"{_group_label(r[:-1], by)}: {r[-1]} rows" for r in bad.head(5).rows()
            ]
            raise DataError(
                problem(
                    None,
                    f"{what} has {k} values, matched by position within each group, but "
                    "some groups have a different number of rows (data must contain the same "
                    "number of rows for each group)",
                    rows=rows,
                    total=bad.height,
                    fix="give every group one row per band in the same order as the vector, "
                    "filling missing counts with 0; or pass the values as a column.",
                )
            )
        if by:
            # Groups stored contiguously (the usual layout) need no window: every group has k
            # rows, so the position is the row number modulo k.
            key = pl.struct(by) if len(by) > 1 else pl.col(by[0])
            runs = lf.select(key.rle_id().max()).collect().item()
            if runs is not None and runs + 1 == sizes.height:
                position = pl.int_range(pl.len(), dtype=pl.Int64) % k
    return pl.lit(pl.Series(vals, dtype=_F64)).gather(position)


def _resolve_standard(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    standard: Any,
    by: list[str],
    age_band: str | None,
    validate: bool,
    independent: bool,
) -> pl.Expr:
    if isinstance(standard, str) and standard in schema:
        _require(schema, [standard], [standard])
        return pl.col(standard).cast(_F64)
    if isinstance(standard, str) and standard.lower() in STANDARD_POPULATIONS:
        bands, weights = STANDARD_POPULATIONS[standard.lower()]
        if age_band is not None:
            standard = dict(zip(bands, weights))
        else:
            standard = weights
    if isinstance(standard, pl.DataFrame):
        if not {"age_band", "standard"} <= set(standard.columns):
            raise SchemaError(
                "a standard population frame needs columns 'age_band' and 'standard'.\n"
                "Fix: build it like "
                "publicservices.stats.standard_populations.standard_population()."
            )
        standard = dict(zip(standard["age_band"].to_list(), standard["standard"].to_list()))
    if isinstance(standard, Mapping):
        if age_band is None:
            raise PublicServicesError(
                "a standard population given by age band needs age_band= naming the age-band "
                "column.\n"
                "Fix: pass age_band='ageband' (or give the weights as a column or in band order)."
            )
        _require(schema, [age_band])
        labels = list(standard.keys())
        if validate:
            unknown = (
                lf.select(pl.col(age_band).cast(pl.String).unique())
                .filter(~pl.col(age_band).is_in([str(k) for k in labels]))
                .collect()[age_band]
                .to_list()
            )
            if unknown:
                raise DataError(
                    problem(
                        age_band,
                        "has bands that the standard population does not define",
                        rows=[str(u) for u in unknown],
                        fix=f"relabel them to the standard's bands: {labels}.",
                    )
                )
        return (
            pl.col(age_band)
            .cast(pl.String)
            .replace_strict([str(k) for k in labels], [float(v) for v in standard.values()],
                            default=None, return_dtype=_F64)
        )
    if isinstance(standard, Sequence) and not isinstance(standard, str):
        if not independent:
            raise PublicServicesError(
                "with independent_events=False the standard population must be a column or a "
                "mapping age band -> weight (rows are per age band and event frequency, so "
                "position cannot match them).\nFix: pass standard='stdpop' or a mapping."
            )
        return _vector_by_position(lf, standard, by, "the standard population", validate)
    raise PublicServicesError(
        f"standard {standard!r} is not a column of the frame, a shipped standard "
        f"({', '.join(STANDARD_POPULATIONS)}), a sequence or a mapping.\n"
        "Fix: pass standard='esp2013', a column name, or the weights."
    )


def dsr(
    frame: Frame,
    count: str,
    population: str,
    standard: str | Sequence[float] | Mapping[str, float] | pl.DataFrame = "esp2013",
    *,
    by: str | Sequence[str] | None = None,
    age_band: str | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: float = 100000.0,
    independent_events: bool = True,
    event_frequency: str | None = None,
    min_count: float = 10,
    validate: bool = True,
) -> Frame:
    """Directly standardised rates with Dobson's confidence limits, one row per group.

    Method: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991) Stat Med 10:457-462, as in the
    Fingertips technical guidance and PHEindicatormethods ``calculate_dsr``:
    DSR = Σ(xᵢwᵢ/nᵢ)/Σwᵢ × multiplier; var = Σ(xᵢwᵢ²/nᵢ²)/(Σwᵢ)²;
    limits = DSR + √(var/O)·(O_L − O)·multiplier with O = Σx and O_L, O_U Byar's limits of O.
    When O < ``min_count`` (10) the value and limits are null and ``suppression_reason`` says
    why. Missing counts count as 0. With ``independent_events=False`` (PHE's adjustment for
    people with several events) each row holds the number of *people* with
    ``event_frequency`` events; events = Σ f·people and var = Σ_f f²·var_f.

    Parameters:
        frame: age-band rows (DataFrame or LazyFrame; the result has the same type).
        count: events (or people, when events are not independent). population: band population.
        standard: a column of standard-population weights; ``"esp2013"``/``"esp1976"``; a
            sequence matched by position within each group (as PHE's vector); a mapping or frame
            age band -> weight (needs ``age_band``).
        by: grouping columns (e.g. area, period). age_band: the age-band column.
        confidence, multiplier: as elsewhere (default 95% and 99.8%, per 100,000).
        independent_events, event_frequency: see above. min_count: suppression threshold.
        validate: check inputs first (PHE's checks, with the offending rows named).

    Returns:
        by columns, ``total_count, total_pop, value``, limits, ``ci_method``,
        ``suppression_reason``.

    Example:
        >>> df = pl.DataFrame({"area": ["a"] * 3, "x": [10, 20, 30],
        ...                    "n": [1000, 1000, 500], "w": [3000, 2000, 1000]})
        >>> dsr(df, "x", "n", "w", by="area", confidence=0.95).select(
        ...     "value", "lower", "upper").with_columns(pl.col(pl.Float64).round(3)).rows()
        [(2166.667, 1645.764, 2798.116)]
    """
    lf, eager = _lazy(frame)
    by_cols = _by_list(by)
    schema = lf.collect_schema()
    needed = [count, population, *by_cols]
    if not independent_events:
        if event_frequency is None or age_band is None:
            raise PublicServicesError(
                "dsr with independent_events=False needs event_frequency= (events per person) "
                "and age_band= columns.\nFix: pass both column names."
            )
        needed += [event_frequency, age_band]
    _require(schema, needed, [count, population] + ([event_frequency] if event_frequency else []))
    if not (isinstance(multiplier, (int, float)) and multiplier > 0):
        raise PublicServicesError(f"multiplier {multiplier!r} must be greater than 0.")
    levels, names = confidence_levels(confidence), limit_names(confidence)
    w = _resolve_standard(lf, schema, standard, by_cols, age_band, validate, independent_events)
    keys = by_cols + ([age_band] if age_band else [])
    rows = lf.with_columns(w.alias("__ps_w"))
    if validate:
        x, n, wc = pl.col(count), pl.col(population), pl.col("__ps_w")
        checks = [
            (population, "has missing values", n.is_null(), "every age band needs its population."),
            (population, "is zero or negative", n <= 0,
             "denominators must all be greater than zero."),
            (count, "is negative", x < 0, "numerators must all be greater than or equal to zero."),
            (count, "is not finite (NaN or infinite)", ~x.cast(_F64).is_finite(),
             "use a count, or null (counted as 0)."),
            ("standard", "has missing values", wc.is_null(), "give a weight for every age band."),
            ("standard", "is negative", wc < 0, "standard populations must be >= 0."),
        ]
        if not independent_events:
            checks += [
                (event_frequency, "has missing values", pl.col(event_frequency).is_null(),
                 "give the events per person on every row."),
                (age_band, "has missing values", pl.col(age_band).is_null(),
                 "give the age band on every row."),
            ]
        _check(rows, checks, keys or _keys(schema, by_cols))
    x0 = pl.col(count).cast(_F64).fill_null(0.0)
    if independent_events:
        bands = rows.select(
            *by_cols,
            x0.alias("__ps_events"),
            x0.alias("__ps_var"),
            pl.col(population).cast(_F64).alias("__ps_n"),
            pl.col("__ps_w"),
        )
        method = "dobson"
    else:
        f = pl.col(event_frequency).cast(_F64)
        band_keys = [*by_cols, age_band]
        if validate:
            clash = (
                rows.group_by(band_keys)
                .agg(
                    (pl.col(population).n_unique() > 1) | (pl.col("__ps_w").n_unique() > 1)
                )
                .filter(pl.col(population))
                .select(band_keys)
                .head(5)
                .collect()
            )
            if clash.height:
                raise DataError(
                    problem(
                        None,
                        "rows with the same group and age band have different populations or "
                        "standard populations",
                        rows=[" | ".join(str(v) for v in r) for r in clash.rows()],
                        fix="give each group and age band one population and one standard weight.",
                    )
                )
        bands = rows.group_by(band_keys, maintain_order=True).agg(
            (f * x0).sum().alias("__ps_events"),
            (f * f * x0).sum().alias("__ps_var"),
            pl.col(population).first().cast(_F64).alias("__ps_n"),
            pl.col("__ps_w").first(),
        )
        method = "dobson_non_independent"
    ratio = pl.col("__ps_w") / pl.col("__ps_n")
    aggs = [
        pl.col("__ps_events").sum().alias("total_count"),
        pl.col("__ps_n").sum().alias("total_pop"),
        (pl.col("__ps_events") * ratio).sum().alias("__ps_s"),
        (pl.col("__ps_var") * ratio * ratio).sum().alias("__ps_v"),
        pl.col("__ps_w").sum().alias("__ps_wsum"),
    ]
    if by_cols:
        grouped = bands.group_by(by_cols, maintain_order=True).agg(aggs)
    else:
        grouped = bands.select(aggs)
    o = pl.col("total_count")
    wsum = pl.col("__ps_wsum")
    shown = (o >= min_count) & (wsum > 0)
    value = pl.col("__ps_s") / wsum * multiplier
    sd_per_event = (pl.col("__ps_v") / (wsum * wsum) / o).sqrt() * multiplier
    limits = []
    for level, (lo_name, up_name) in zip(levels, names):
        lo, up = _byar_limits(o, _z(level))
        limits += [
            pl.when(shown).then(value + sd_per_event * (lo - o)).alias(lo_name),
            pl.when(shown).then(value + sd_per_event * (up - o)).alias(up_name),
        ]
    out = grouped.with_columns(
        pl.when(shown).then(value).alias("value"),
        *limits,
        pl.lit(method).alias("ci_method"),
        pl.when(o < min_count)
        .then(pl.lit(f"total count < {min_count:g}: DSR not calculated"))
        .when(wsum <= 0)
        .then(pl.lit("standard population sums to 0"))
        .alias("suppression_reason"),
    ).drop("__ps_s", "__ps_v", "__ps_wsum")
    return out.collect() if eager else out


# --------------------------------------------------------------------------------------------
# indirectly standardised ratios and rates
# --------------------------------------------------------------------------------------------


def _ref_expr(lf, schema, ref, by, what, validate) -> pl.Expr:
    if isinstance(ref, str):
        _require(schema, [ref], [ref])
        return pl.col(ref).cast(_F64)
    if isinstance(ref, Sequence):
        return _vector_by_position(lf, ref, by, what, validate)
    raise PublicServicesError(
        f"{what} must be a column name or a sequence of numbers in band order, "
        f"not {type(ref).__name__}."
    )


def isr(
    frame: Frame,
    count: str,
    population: str,
    ref_count: str | Sequence[float],
    ref_population: str | Sequence[float],
    *,
    by: str | Sequence[str] | None = None,
    kind: str = "ratio",
    multiplier: float | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    observed_totals: pl.DataFrame | None = None,
    exact_below: float = 10,
    validate: bool = True,
) -> Frame:
    """Indirectly standardised ratios (SMR) or rates, with exact / Byar's limits, per group.

    Method (Fingertips technical guidance; Breslow & Day 1987; PHEindicatormethods
    ``calculate_ISRatio`` / ``calculate_ISRate``): expected E = Σ (x_refᵢ/n_refᵢ)·nᵢ (missing
    terms 0); observed O = Σx (or from ``observed_totals``). Ratio: value = O/E × multiplier
    (1, or 100 for an SMR per 100). Rate: value = O/E × reference rate, the reference rate being
    Σx_ref/Σn_ref × multiplier. Limits are the exact Poisson (O < 10) or Byar's limits of O,
    scaled the same way. Populations of 0 are allowed (they expect nothing).

    Parameters:
        frame: band rows. count, population: observed events and population per band.
        ref_count, ref_population: reference events and population per band: column names, or
            sequences matched by position within each group.
        by: grouping columns. kind: ``"ratio"`` or ``"rate"``.
        multiplier: default 1 for ratios, 100000 for rates.
        confidence: default 95% and 99.8%.
        observed_totals: optional frame with the ``by`` columns and a ``count`` column holding
            each group's observed total (when band-level observed counts are not available).
        exact_below: observed totals below this use exact limits.

    Returns:
        by columns, ``observed, expected`` (``reference_rate`` for rates), ``value``, limits,
        ``ci_method``.

    Example:
        >>> df = pl.DataFrame({"area": ["a", "a"], "x": [30, 50], "n": [1000, 500]})
        >>> out = isr(df, "x", "n", [100, 300], [10000, 5000], by="area", confidence=0.95,
        ...           multiplier=100)
        >>> (out.select("observed", "expected", "value", "lower", "upper")
        ...  .with_columns(pl.col(pl.Float64).round(3)).rows())
        [(80.0, 40.0, 200.0, 158.582, 248.92)]
    """
    if kind not in ("ratio", "rate"):
        raise PublicServicesError(f"kind {kind!r} must be 'ratio' or 'rate'.")
    if multiplier is None:
        multiplier = 1.0 if kind == "ratio" else 100000.0
    if not (isinstance(multiplier, (int, float)) and multiplier > 0):
        raise PublicServicesError(f"multiplier {multiplier!r} must be greater than 0.")
    lf, eager = _lazy(frame)
    by_cols = _by_list(by)
    schema = lf.collect_schema()
    _require(schema, [population, *by_cols], [population])
    if observed_totals is None:
        _require(schema, [count], [count])
    levels, names = confidence_levels(confidence), limit_names(confidence)
    xr = _ref_expr(lf, schema, ref_count, by_cols, "ref_count", validate)
    nr = _ref_expr(lf, schema, ref_population, by_cols, "ref_population", validate)
    rows = lf.with_columns(xr.alias("__ps_xr"), nr.alias("__ps_nr"))
    n = pl.col(population).cast(_F64)
    xr_c, nr_c = pl.col("__ps_xr"), pl.col("__ps_nr")
    if validate:
        checks = [
            (population, "is negative", n < 0,
             "denominators must all be greater than or equal to zero."),
            ("ref_count", "is negative", xr_c < 0, "reference counts must be >= 0."),
            ("ref_population", "is zero or negative where the reference count is positive",
             (nr_c <= 0) & (xr_c > 0), "a reference rate needs a positive reference population."),
        ]
        if observed_totals is None:
            checks.insert(0, (count, "is negative", pl.col(count) < 0,
                              "numerators must all be greater than or equal to zero."))
        _check(rows, checks, _keys(schema, by_cols))
    expected = pl.when(nr_c > 0).then(xr_c / nr_c * n).fill_null(0.0)
    both = xr_c.is_not_null() & nr_c.is_not_null()
    aggs = [
        expected.sum().alias("expected"),
        xr_c.filter(both).sum().alias("__ps_xr_sum"),
        nr_c.filter(both).sum().alias("__ps_nr_sum"),
    ]
    if observed_totals is None:
        aggs.insert(0, pl.col(count).cast(_F64).fill_null(0.0).sum().alias("observed"))
    if by_cols:
        grouped = rows.group_by(by_cols, maintain_order=True).agg(aggs)
    else:
        grouped = rows.select(aggs)
    if observed_totals is not None:
        ot, _ = _lazy(observed_totals, "observed_totals")
        ot_schema = ot.collect_schema()
        if count not in ot_schema:
            raise SchemaError(
                problem(count, "is missing from observed_totals",
                        fix=f"observed_totals needs the by columns {by_cols} and a "
                        f"{count!r} column.")
            )
        _require(ot_schema, [count, *by_cols], [count])
        ot = ot.select(*by_cols, pl.col(count).cast(_F64).alias("observed"))
        if by_cols:
            grouped = grouped.join(ot, on=by_cols, how="left")
        else:
            grouped = grouped.join(ot, how="cross")
    e = pl.col("expected")
    if kind == "rate":
        ref = pl.col("__ps_xr_sum") / pl.col("__ps_nr_sum") * multiplier
        grouped = grouped.with_columns(ref.alias("reference_rate"))
        scale = pl.col("reference_rate")
    else:
        scale = pl.lit(multiplier, dtype=_F64)
    o = pl.col("observed")
    factor = _factor(scale, e)
    # Sums of whole counts are whole: the lookup path is safe when the inputs say so.
    whole = eager and (
        not _fractional_small(lf, pl.col(count), exact_below)
        if observed_totals is None
        else not _fractional_small(observed_totals.lazy(), pl.col(count), exact_below)
    )
    ci = _poisson(o, factor, levels, names, exact_below, whole)
    out = grouped.with_columns((o * factor).alias("value"), *ci.columns()).with_columns(
        pl.when(o.is_null() | factor.is_null())
        .then(None)
        .when(o < exact_below)
        .then(pl.lit("exact_poisson"))
        .otherwise(pl.lit("byar"))
        .alias("ci_method")
    ).drop("__ps_xr_sum", "__ps_nr_sum")
    return out.collect() if eager else out


# --------------------------------------------------------------------------------------------
# a whole values frame
# --------------------------------------------------------------------------------------------

# Scales on which supplied 95% limits are stretched to other levels: logit for proportions,
# square root (Poisson's variance-stabilising transform) for counts-based rates, DSRs and
# ratios, linear for means and scores. docs/methodology/intervals.md compares the choices.
_SCALE = {
    "proportion": "logit",
    "rate": "sqrt",
    "dsr": "sqrt",
    "ratio": "sqrt",
    "mean": "linear",
    "score": "linear",
}


def _forward(scale: pl.Expr, y: pl.Expr, k: pl.Expr) -> pl.Expr:
    return (
        pl.when(scale == "logit")
        .then((y / (k - y)).log())
        .when(scale == "sqrt")
        .then(pl.when(y >= 0).then(y.sqrt()))
        .otherwise(y)
    )


def _back(scale: pl.Expr, t: pl.Expr, k: pl.Expr) -> pl.Expr:
    return (
        pl.when(scale == "logit")
        .then(k / (1.0 + (-t).exp()))
        .when(scale == "sqrt")
        .then(t.clip(lower_bound=0.0).pow(2))
        .otherwise(t)
    )


def add_intervals(
    values: Frame,
    indicators: Mapping[str, Any],
    confidence: float | Sequence[float] = (0.95, 0.998),
    method_proportion: str = "wilson",
    *,
    supplied_confidence: float = 0.95,
    exact_below: float = 10,
    validate: bool = True,
) -> Frame:
    """Add ``value``, limits and ``ci_method`` to a values frame, by each indicator's measure.

    One vectorised pass over all indicators (the method is chosen per row with when/then):

    * ``proportion`` with counts: Wilson (Wilson 1927), or Clopper-Pearson when
      ``method_proportion="clopper_pearson"``;
    * ``rate`` with counts: exact Poisson below 10 events, Byar's above (Breslow & Day 1987);
    * ``ratio`` with counts (numerator = observed, denominator = expected): the same Poisson
      limits of the observed count, divided by expected (an SMR; Fingertips method);
    * otherwise, when the row has a value and supplied ``lower_ci``/``upper_ci`` (taken as
      ``supplied_confidence``, 95%): those are the 95% limits, and other levels are derived
      from the standard error each side implies, on the logit scale (proportions),
      square-root scale (rates, DSRs, ratios) or linear scale (means, scores):
      ``g⁻¹(g(v) ∓ (z_c/z_s)·|g(v) − g(limit)|)``, falling back to the linear scale where the
      transform is undefined (a proportion of 0% or 100%); ``ci_method`` is
      ``supplied_logit``, ``supplied_sqrt`` or ``supplied_linear``;
    * ``dsr`` with a total count and population but no age bands and no supplied limits: a
      one-band standardisation, for which Dobson's method gives Byar's limits of the count
      scaled to the value (``ci_method`` ``dobson_single_band``; null below 10 events, as PHE
      suppresses); with age bands use :func:`dsr`;
    * otherwise null limits and a
      null ``ci_method``.

    ``value`` is kept when published; when missing it is numerator / denominator × multiplier
    for proportions, rates, ratios and means.

    Parameters:
        values: a frame in the values contract (``indicator_id``; optional ``numerator``,
            ``denominator``, ``value``, ``lower_ci``, ``upper_ci``); DataFrame or LazyFrame.
        indicators: mapping indicator id -> :class:`~publicservices.indicators.Indicator`.
        confidence: levels to add (default 95% and 99.8% -> ``lower_95 ... upper_998``).
        method_proportion: ``"wilson"`` or ``"clopper_pearson"``.
        supplied_confidence: the level of supplied ``lower_ci``/``upper_ci``.
        exact_below: counts below this use exact Poisson limits.
        validate: check unknown indicators and counts first (raises with rows named).

    Returns:
        The same type as ``values`` with ``value``, the limit columns and ``ci_method`` added.

    Example:
        >>> from publicservices.indicators import Indicator
        >>> inds = {
        ...     "health.screen": Indicator(id="health.screen", title="Screened", sector="health",
        ...                                measure="proportion", multiplier=100),
        ...     "health.deaths": Indicator(id="health.deaths", title="Deaths", sector="health",
        ...                                measure="rate", multiplier=100000)}
        >>> vals = pl.DataFrame({"indicator_id": ["health.screen", "health.deaths"],
        ...                      "numerator": [65.0, 5.0], "denominator": [100.0, 10000.0]})
        >>> out = add_intervals(vals, inds)
        >>> (out.select("value", "lower_95", "upper_998", "ci_method")
        ...  .with_columns(pl.col(pl.Float64).round(3)).rows())
        [(65.0, 55.254, 77.835, 'wilson'), (50.0, 16.235, 164.547, 'exact_poisson')]
    """
    if method_proportion not in ("wilson", "clopper_pearson"):
        raise PublicServicesError(
            f"method_proportion {method_proportion!r} must be 'wilson' or 'clopper_pearson'."
        )
    lf, eager = _lazy(values, "values")
    schema = lf.collect_schema()
    _require(schema, ["indicator_id"])
    for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        if c in schema and not schema[c].is_numeric():
            _require(schema, [c], [c])
    measures: dict[str, str] = {}
    mults: dict[str, float] = {}
    for key, ind in indicators.items():
        measure = getattr(ind, "measure", None)
        if measure not in _SCALE:
            raise IndicatorError(
                f"indicator {key!r} has measure {measure!r}.\nFix: use one of {', '.join(_SCALE)}."
            )
        measures[str(key)] = measure
        mults[str(key)] = float(getattr(ind, "multiplier", 1.0))
    levels, names = confidence_levels(confidence), limit_names(confidence)
    s_level = _one_level(supplied_confidence)
    z_s = _z(s_level)

    def col(c: str) -> pl.Expr:
        return pl.col(c).cast(_F64) if c in schema else pl.lit(None, dtype=_F64)

    x, n, lo_s, up_s = col("numerator"), col("denominator"), col("lower_ci"), col("upper_ci")
    keys = _keys(schema, [])
    if validate:
        unknown = (
            lf.select(pl.col("indicator_id").cast(pl.String).unique())
            .filter(
                ~pl.col("indicator_id").is_in(list(measures)) | pl.col("indicator_id").is_null()
            )
            .collect()["indicator_id"]
            .to_list()
        )
        if unknown:
            raise IndicatorError(
                problem(
                    "indicator_id",
                    "has ids that are not in indicators",
                    rows=[repr(u) for u in unknown[:5]],
                    total=len(unknown),
                    fix="pass every indicator's definition in indicators= (or filter the "
                    "rows out first).",
                )
            )
        m0 = pl.col("indicator_id").cast(pl.String).replace_strict(measures, default=None, return_dtype=pl.String)
        finite = [
            (c, "is not finite (NaN or infinite)", ~col(c).is_finite(),
             "use a number, or null if unknown.")
            for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci")
            if c in schema
        ]
        counted = m0.is_in(["proportion", "rate", "ratio", "mean"]) & x.is_not_null()
        checks = finite + [
            ("numerator", "is negative", (x < 0) & m0.is_in(["proportion", "rate", "ratio", "dsr"]),
             "counts must be greater than or equal to zero."),
            ("denominator", "is zero or negative", counted & (n <= 0),
             "denominators must be greater than zero; use null when unknown."),
            ("numerator", "is greater than the denominator for a proportion",
             (m0 == "proportion") & (x > n),
             "check the counts, or define the indicator with measure='rate'."),
            ("lower_ci", "is greater than upper_ci", lo_s > up_s,
             "swap or correct the supplied limits."),
        ]
        _check(lf, checks, keys)

    measure = pl.col("indicator_id").cast(pl.String).replace_strict(measures, default=None, return_dtype=pl.String)
    k = (
        pl.col("indicator_id")
        .cast(pl.String)
        .replace_strict(mults, default=None, return_dtype=_F64)
    )
    tmp = ["__ps_m", "__ps_k", "__ps_scale", "__ps_prop", "__ps_pois", "__ps_sup"]
    m, kk = pl.col("__ps_m"), pl.col("__ps_k")
    has_counts = x.is_not_null() & n.is_not_null()
    from_counts = m.is_in(["proportion", "rate", "ratio", "mean"])
    computed = pl.when(has_counts & from_counts & (n > 0)).then(x / n * kk)
    v_pub = col("value")
    out = lf.with_columns(
        measure.alias("__ps_m"),
        k.alias("__ps_k"),
        measure.replace_strict(_SCALE, default="linear").alias("__ps_scale"),
    ).with_columns(pl.coalesce(v_pub, computed).alias("value"))

    v = pl.col("value")
    scale = pl.col("__ps_scale")
    prop_method = _wilson if method_proportion == "wilson" else _cp
    prop_struct = prop_method(x, n, kk, levels, names).struct()
    whole = eager and "numerator" in schema and not _fractional_small(lf, x, exact_below)
    pois_struct = _poisson(x, _factor(kk, n), levels, names, exact_below, whole).struct()
    # Supplied limits: keep them at their own level; derive other levels side by side.
    g_lo, g_up = _forward(scale, lo_s, kk), _forward(scale, up_s, kk)
    inside = (v >= lo_s) & (v <= up_s)
    g_v = pl.when(inside).then(_forward(scale, v, kk)).otherwise((g_lo + g_up) / 2.0)
    lin_v = pl.when(inside).then(v).otherwise((lo_s + up_s) / 2.0)
    sup_fields = []
    for level, (lo_name, up_name) in zip(levels, names):
        if abs(level - s_level) < 1e-12:
            sup_fields += [lo_s.alias(lo_name), up_s.alias(up_name)]
            continue
        r = _z(level) / z_s
        t_lo = g_v - r * (g_v - g_lo)
        t_up = g_v + r * (g_up - g_v)
        lo = pl.when(t_lo.is_finite()).then(_back(scale, t_lo, kk))
        lo = lo.otherwise(lin_v - r * (lin_v - lo_s))
        up = pl.when(t_up.is_finite()).then(_back(scale, t_up, kk))
        up = up.otherwise(lin_v + r * (up_s - lin_v))
        lo = pl.when(scale != "linear").then(lo.clip(lower_bound=0.0)).otherwise(lo)
        up = pl.when(scale == "logit").then(pl.min_horizontal(up, kk)).otherwise(up)
        sup_fields += [lo.alias(lo_name), up.alias(up_name)]
    supplied_ok = lo_s.is_not_null() & up_s.is_not_null()
    out = out.with_columns(
        prop_struct.alias("__ps_prop"),
        pois_struct.alias("__ps_pois"),
        pl.when(supplied_ok).then(pl.struct(sup_fields)).alias("__ps_sup"),
    )
    use_prop = (m == "proportion") & pl.col("__ps_prop").is_not_null()
    use_pois = m.is_in(["rate", "ratio"]) & pl.col("__ps_pois").is_not_null()
    use_sup = pl.col("__ps_sup").is_not_null()
    # A DSR given as one total count and population is a one-band standardisation, for
    # which Dobson's limits reduce to Byar's limits of the count, scaled to the published
    # value; PHE suppresses DSRs below 10 events. Published limits take precedence.
    crude = x / n * kk
    use_dsr = (m == "dsr") & ~use_sup & has_counts & (n > 0) & (x >= 10) & v.is_not_null()
    limit_cols = []
    for pair in names:
        for name in pair:
            limit_cols.append(
                pl.when(use_prop)
                .then(pl.col("__ps_prop").struct.field(name))
                .when(use_pois)
                .then(pl.col("__ps_pois").struct.field(name))
                .when(use_sup)
                .then(pl.col("__ps_sup").struct.field(name))
                .when(use_dsr)
                .then(pl.col("__ps_pois").struct.field(name) * v / crude)
                .alias(name)
            )
    method = (
        pl.when(use_prop)
        .then(pl.lit(method_proportion))
        .when(use_pois & (x < exact_below))
        .then(pl.lit("exact_poisson"))
        .when(use_pois)
        .then(pl.lit("byar"))
        .when(use_sup)
        .then(pl.lit("supplied_") + scale)
        .when(use_dsr)
        .then(pl.lit("dobson_single_band"))
        .when((m == "dsr") & has_counts & (x < 10))
        .then(pl.lit("dsr_suppressed_lt10"))
        .alias("ci_method")
    )
    out = out.with_columns(*limit_cols, method).drop(tmp)
    return out.collect() if eager else out
