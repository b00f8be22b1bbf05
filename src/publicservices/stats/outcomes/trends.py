"""Trends: the Fingertips recent-trend test and year-on-year change with its interval.

Both work on many series at once: rows are ordered within each indicator x area (x
breakdown) series and the previous points are read with window shifts, so there is no
Python loop over series or rows.

Example:
    >>> import datetime as dt, polars as pl
    >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 5, "area_code": ["A"] * 5,
    ...     "period": [str(y) for y in range(2019, 2024)],
    ...     "period_start": [dt.date(y, 1, 1) for y in range(2019, 2024)],
    ...     "numerator": [1367.0, 1332.0, 1199.0, 1023.0, 994.0],
    ...     "denominator": [44701.0, 44064.0, 42811.0, 41527.0, 40299.0],
    ...     "measure": ["proportion"] * 5, "polarity": ["lower_is_better"] * 5})
    >>> recent_trend(f).get_column("recent_trend").to_list()[-1]
    'Decreasing and getting better'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from publicservices.errors import SchemaError
from publicservices.indicators import Indicator
from publicservices.stats._common import fraction, require, require_numeric, series_keys, with_metadata, z_for
from publicservices.stats.outcomes.levels import resolve_levels

__all__ = ["recent_trend", "year_on_year", "TREND_LABELS"]

TREND_LABELS = (
    "Increasing",
    "Decreasing",
    "Increasing and getting better",
    "Increasing and getting worse",
    "Decreasing and getting better",
    "Decreasing and getting worse",
    "No significant change",
    "Cannot be calculated",
)
# Fingertips turns a 95% interval into a standard error with this literal (2 x 1.96).
_FINGERTIPS_CI_WIDTH = 3.92


def _period_index(frame: pl.DataFrame, series: list[str], order: str) -> pl.Expr:
    """Position of each row's period among all periods of its indicator (gaps count)."""
    groups = [c for c in series if c != "area_code"]
    rank = pl.col(order).rank("dense")
    return (rank.over(groups) if groups else rank).cast(pl.Int64)


def _sorted(frame: pl.DataFrame, series: list[str], order: str) -> pl.DataFrame:
    return frame.with_row_index("_tr_row").sort([*series, order], maintain_order=True)


def _sign(e: pl.Expr) -> pl.Expr:
    # Fingertips counts a slope of exactly zero as positive.
    return pl.when(e < 0).then(-1).otherwise(1)


def _slope_unweighted(ts: list[float], ys: list[pl.Expr]) -> pl.Expr:
    n = len(ts)
    st, stt = sum(ts), sum(t * t for t in ts)
    sy = pl.sum_horizontal(ys)
    sty = pl.sum_horizontal([t * y for t, y in zip(ts, ys, strict=True)])
    return (n * sty - sy * st) / (n * stt - st * st)


def _slope_weighted(ts: list[float], ws: list[pl.Expr], vs: list[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    s1 = pl.sum_horizontal(ws)
    s2 = pl.sum_horizontal([w * v * t for w, v, t in zip(ws, vs, ts, strict=True)])
    s3 = pl.sum_horizontal([w * t for w, t in zip(ws, ts, strict=True)])
    s4 = pl.sum_horizontal([w * v for w, v in zip(ws, vs, strict=True)])
    s5 = pl.sum_horizontal([w * t * t for w, t in zip(ws, ts, strict=True)])
    det = s1 * s5 - s3 * s3
    slope = (s1 * s2 - s3 * s4) / det
    return slope, slope * slope * det / s1


def _no_outliers(ts: list[float], slope_of) -> pl.Expr:  # noqa: ANN001
    """True when the slope keeps its sign with every single point left out (Fingertips)."""
    signs = [_sign(slope_of(list(range(len(ts)))))]
    for drop in range(len(ts)):
        signs.append(_sign(slope_of([j for j in range(len(ts)) if j != drop])))
    total = pl.sum_horizontal(signs)
    return total.abs() == len(signs)


def recent_trend(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    points: int = 5,
    confidence: float = 0.998,
    by: Sequence[str] | None = None,
    order: str = "period_start",
    limits: tuple[str, str] | None = None,
) -> pl.DataFrame:
    """Add the Fingertips recent trend over the latest ``points`` periods ending at each row.

    Method (Fingertips Public Health Technical Guidance, "Recent trends"; the production code
    is fingertips-open ``TrendMarkerCalculator``): take the five most recent consecutive
    periods, numbered t = 1..5.

    * Proportions with counts -- the chi-square test for linear trend in proportions
      (Armitage; Cochran 1954), with N = sum n_t, R = sum r_t::

          X2 = N (N sum t r_t - R sum t n_t)^2 / (R (N - R) (N sum t^2 n_t - (sum t n_t)^2))

      The direction is the sign of the least-squares slope of logit(r_t / n_t) on t.
    * Everything else (crude and standardised rates, ratios, means, proportions without
      counts) -- inverse-variance weighted least squares of the value on t, with
      se_t = (upper_95 - lower_95) / 3.92 and w_t = 1 / se_t^2; the slope b and its
      standard error sqrt(sum w / (sum w sum w t^2 - (sum w t)^2)) give X2 = (b / se_b)^2.
      For a crude rate this is the test for trend in rates on the rate scale.

    The trend is significant when X2 exceeds the chi-square(1) quantile at ``confidence``
    (99.8%: 9.5495, as Fingertips; 0.95 gives 3.8415) **and** the slope keeps its sign
    when each of the five points is left out in turn (Fingertips' outlier check). Labels:
    "Increasing" / "Decreasing" ("... and getting better" / "... and getting worse" by
    polarity), "No significant change", and "Cannot be calculated" when fewer than five
    consecutive periods end at the row, a point lacks counts or limits, a proportion's
    numerator is 0 or equals its denominator (the logit is undefined; Fingertips also
    refuses count = denominator) or an interval has zero width.

    Parameters:
        frame: values with ``value`` and 95% limits and/or ``numerator``/``denominator``;
            ``polarity`` and ``measure`` as columns or through ``indicators``.
        indicators: mapping id -> Indicator.
        points: number of latest periods (Fingertips: 5).
        confidence: significance level of the chi-square test (Fingertips: 0.998).
        by: series columns (default indicator_id, area_code and breakdowns present).
        order: the column giving time order.
        limits: the 95% limit columns (default ``lower_95``/``upper_95``, else
            ``lower_ci``/``upper_ci``).

    Adds ``recent_trend``, ``trend_chi2``, ``trend_method`` ("chi-square for trend" or
    "weighted regression") and ``trend_reason``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> f = pl.DataFrame({"area_code": ["A"] * 5, "period_start": [dt.date(y, 1, 1) for y in range(2019, 2024)],
        ...     "value": [30.6, 30.2, 28.0, 24.6, 24.67], "lower_95": [28.98, 28.63, 26.44, 23.15, 23.16],
        ...     "upper_95": [32.25, 31.9, 29.64, 26.19, 26.25], "polarity": ["no_judgement"] * 5})
        >>> recent_trend(f).select("recent_trend", pl.col("trend_chi2").round(2)).row(-1)
        ('Decreasing', 46.77)
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 3:
        raise SchemaError(f"points={points!r} must be an integer of at least 3 (Fingertips uses 5).\nFix: pass points=5.")
    level = fraction(confidence)
    threshold = z_for(level) ** 2
    frame = with_metadata(frame, indicators, need=("polarity",))
    require(frame, [order], f"add the {order!r} column (a sortable period start).")
    series = list(by) if by is not None else series_keys(frame)
    if limits is None:
        limits = ("lower_95", "upper_95") if "lower_95" in frame.columns else ("lower_ci", "upper_ci")
    require_numeric(frame, ["value", "numerator", "denominator", *limits])
    work = _sorted(frame, series, order)
    work = work.with_columns(_period_index(work, series, order).alias("_tr_idx"))

    def lag(name: str, k: int) -> pl.Expr:
        if name not in work.columns:
            return pl.lit(None, dtype=pl.Float64)
        e = pl.col(name)
        return (e.shift(k).over(series) if series else e.shift(k)).cast(pl.Float64)

    P = points
    ts = [float(j + 1) for j in range(P)]
    ks = [P - 1 - j for j in range(P)]  # lag of window position j
    # Materialise the window once: later expressions read plain columns.
    work = work.with_columns(
        (pl.col("_tr_idx") - lag("_tr_idx", P - 1)).alias("_tr_span"),
        *[
            lag(src, k).alias(f"_tr_{tag}{j}")
            for j, k in enumerate(ks)
            for src, tag in (("numerator", "o"), ("denominator", "n"), ("value", "v"), (limits[0], "l"), (limits[1], "u"))
        ],
    )
    complete = (pl.col("_tr_span") == P - 1).fill_null(False)
    O = [pl.col(f"_tr_o{j}") for j in range(P)]  # noqa: E741 - observed counts, named as in the chi-square formula
    N = [pl.col(f"_tr_n{j}") for j in range(P)]
    V = [pl.col(f"_tr_v{j}") for j in range(P)]
    L = [pl.col(f"_tr_l{j}") for j in range(P)]
    U = [pl.col(f"_tr_u{j}") for j in range(P)]
    work = work.with_columns(
        *[(o / (n - o)).log().alias(f"_tr_y{j}") for j, (o, n) in enumerate(zip(O, N, strict=True))],
        *[((_FINGERTIPS_CI_WIDTH / (u - lo)) ** 2).alias(f"_tr_w{j}") for j, (lo, u) in enumerate(zip(L, U, strict=True))],
    )
    Y = [pl.col(f"_tr_y{j}") for j in range(P)]
    W = [pl.col(f"_tr_w{j}") for j in range(P)]

    # proportions: chi-square for trend + logit slopes
    measure = pl.col("measure") if "measure" in work.columns else pl.lit(None, dtype=pl.String)
    prop_ok = (measure == "proportion").fill_null(False) & pl.all_horizontal(
        [(o > 0) & (o < n) for o, n in zip(O, N, strict=True)]
    ).fill_null(False)
    Nt, R = pl.sum_horizontal(N), pl.sum_horizontal(O)
    RT = pl.sum_horizontal([o * t for o, t in zip(O, ts, strict=True)])
    NT = pl.sum_horizontal([n * t for n, t in zip(N, ts, strict=True)])
    NT2 = pl.sum_horizontal([n * t * t for n, t in zip(N, ts, strict=True)])
    chi_prop = Nt * (Nt * RT - R * NT) ** 2 / (R * (Nt - R) * (Nt * NT2 - NT * NT))
    slope_prop = _slope_unweighted(ts, Y)
    clean_prop = _no_outliers(ts, lambda idx: _slope_unweighted([ts[i] for i in idx], [Y[i] for i in idx]))

    # everything else: inverse-variance weighted regression
    w_ok = pl.all_horizontal([v.is_not_null() & (u > lo) for v, lo, u in zip(V, L, U, strict=True)]).fill_null(False)
    slope_w, chi_w = _slope_weighted(ts, W, V)
    clean_w = _no_outliers(ts, lambda idx: _slope_weighted([ts[i] for i in idx], [W[i] for i in idx], [V[i] for i in idx])[0])

    method = (
        pl.when(complete & prop_ok).then(pl.lit("chi-square for trend")).when(complete & w_ok).then(pl.lit("weighted regression"))
    )
    chi2 = pl.when(complete & prop_ok).then(chi_prop).when(complete & w_ok).then(chi_w)
    slope = pl.when(complete & prop_ok).then(slope_prop).when(complete & w_ok).then(slope_w)
    clean = pl.when(complete & prop_ok).then(clean_prop).when(complete & w_ok).then(clean_w)
    work = work.with_columns(
        method.alias("trend_method"), chi2.alias("trend_chi2"), slope.alias("_tr_slope"), clean.alias("_tr_clean")
    )

    pol = pl.col("polarity")
    up, down = pl.col("_tr_slope") > 0, pl.col("_tr_slope") < 0
    better = (up & (pol == "higher_is_better")) | (down & (pol == "lower_is_better"))
    direction = pl.when(up).then(pl.lit("Increasing")).otherwise(pl.lit("Decreasing"))
    judged = (
        pl.when(pol.is_in(["higher_is_better", "lower_is_better"]))
        .then(
            pl.concat_str(
                [direction, pl.when(better).then(pl.lit(" and getting better")).otherwise(pl.lit(" and getting worse"))]
            )
        )
        .otherwise(direction)
    )
    significant = pl.col("trend_chi2") > threshold
    label = (
        pl.when(pl.col("trend_method").is_null())
        .then(pl.lit("Cannot be calculated"))
        .when(~significant | ~pl.col("_tr_clean"))
        .then(pl.lit("No significant change"))
        .otherwise(judged)
    )
    reason = (
        pl.when(~complete)
        .then(pl.lit(f"fewer than {P} consecutive periods"))
        .when(pl.col("trend_method").is_null())
        .then(pl.lit("missing or unusable counts or limits"))
        .when(~significant)
        .then(pl.lit("not significant"))
        .when(~pl.col("_tr_clean"))
        .then(pl.lit("direction changes when one point is left out"))
        .otherwise(pl.lit("significant trend"))
    )
    work = work.with_columns(label.alias("recent_trend"), reason.alias("trend_reason"))
    keep = [
        *frame.columns,
        *(c for c in ("trend_method", "trend_chi2", "recent_trend", "trend_reason") if c not in frame.columns),
    ]
    return work.sort("_tr_row").select(keep)


def year_on_year(
    frame: pl.DataFrame,
    *,
    confidence: float | Sequence[float] = (0.95, 0.998),
    by: Sequence[str] | None = None,
    order: str = "period_start",
) -> pl.DataFrame:
    """Add the change since the previous period, with its confidence interval.

    Method: MOVER, the "method of variance estimates recovery" (Newcombe 1998, Stat Med
    17:873-890, method 10 for a difference of proportions; Zou & Donner 2008, Stat Med
    27:1693-1702): with d = v1 - v0 and each period's own limits (l, u),
    ``lower = d - sqrt((v1 - l1)^2 + (u0 - v0)^2)`` and
    ``upper = d + sqrt((u1 - v1)^2 + (v0 - l0)^2)``. With Wilson limits this is Newcombe's
    hybrid score interval; it inherits the asymmetry of Byar's or exact limits for rates.
    The two periods are treated as independent samples. The previous period is the one
    just before this row's among all periods of the indicator; when the area has no row
    for it the change is null.

    Parameters:
        frame: values with ``value`` and limit columns for the levels in ``confidence``.
        confidence: levels (``yoy_lower_95`` ...; a single number gives ``yoy_lower``).
        by: series columns (default indicator_id, area_code and breakdowns present).
        order: the column giving time order.

    Adds ``previous_period``, ``yoy_change`` and ``yoy_lower{_95,...}``, ``yoy_upper{...}``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> f = pl.DataFrame({"area_code": ["A", "A"], "period": ["2022", "2023"],
        ...     "period_start": [dt.date(2022, 1, 1), dt.date(2023, 1, 1)], "value": [50.0, 56.0],
        ...     "lower_95": [46.0, 52.0], "upper_95": [54.0, 60.0]})
        >>> year_on_year(f, confidence=(0.95,)).select("yoy_change", pl.col("yoy_lower_95").round(3),
        ...     pl.col("yoy_upper_95").round(3)).row(-1)
        (6.0, 0.343, 11.657)
    """
    levels = resolve_levels(frame, confidence)
    require(frame, ["value", order], "compute values first and add a sortable period start.")
    require_numeric(frame, ["value", *(c for lv in levels for c in lv[1:3])])
    series = list(by) if by is not None else series_keys(frame)
    work = _sorted(frame, series, order)
    work = work.with_columns(_period_index(work, series, order).alias("_tr_idx"))

    def prev(name: str) -> pl.Expr:
        e = pl.col(name)
        return e.shift(1).over(series) if series else e.shift(1)

    adjacent = (pl.col("_tr_idx") - prev("_tr_idx")) == 1
    v1, v0 = pl.col("value"), prev("value")
    d = pl.when(adjacent).then(v1 - v0)
    cols = [d.alias("yoy_change")]
    if "period" in work.columns:
        cols.insert(0, pl.when(adjacent).then(prev("period")).alias("previous_period"))
    for _, lo, hi, suffix in levels:
        if lo not in work.columns or hi not in work.columns:
            cols += [
                pl.lit(None, dtype=pl.Float64).alias(f"yoy_lower{suffix}"),
                pl.lit(None, dtype=pl.Float64).alias(f"yoy_upper{suffix}"),
            ]
            continue
        l1, u1, l0, u0 = pl.col(lo), pl.col(hi), prev(lo), prev(hi)
        cols.append((d - ((v1 - l1) ** 2 + (u0 - v0) ** 2).sqrt()).alias(f"yoy_lower{suffix}"))
        cols.append((d + ((u1 - v1) ** 2 + (v0 - l0) ** 2).sqrt()).alias(f"yoy_upper{suffix}"))
    work = work.with_columns(cols)
    return work.sort("_tr_row").drop("_tr_row", "_tr_idx")
