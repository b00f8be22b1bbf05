"""Trends: the Fingertips recent-trend test and year-on-year change with its interval.

Both work on many series at once, with no Python loop over series or rows: the rows are put
in series order (indicator x area (x breakdown), then period) by one stable sort, and the
previous points are read with plain shifts guarded by a series id, so a point is only read
from its own series. The recent trend's arithmetic runs on slices of a fixed number of rows
(each with the few rows it looks back on), so its memory does not grow with the frame.

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
from dataclasses import dataclass

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


# Rows per slice of the recent-trend arithmetic: each slice is computed with its P - 1 rows of
# look-back, so the temporaries of the statistic stay bounded whatever the frame's size.
_SLICE = 1 << 16


@dataclass(frozen=True)
class _Layout:
    """A frame's rows in series order (by series, then period), worked out once.

    ``perm`` is the original row of each row in series order and ``inv`` the series-order
    position of each original row; both are None when the frame is already in series order.
    ``keys`` holds, in series order, ``_g`` (a run id, equal for the rows of one series) and
    ``_idx`` (the position of the row's period among its indicator's periods; gaps count).
    In series order the row k places back belongs to the same series exactly when its run id
    is the same, so a plain shift guarded by ``_g`` reads what a window shift over the series
    reads.
    """

    perm: pl.Series | None
    inv: pl.Series | None
    keys: pl.DataFrame

    def in_series_order(self, exprs: Sequence[pl.Expr]) -> list[pl.Expr]:
        return list(exprs) if self.perm is None else [e.gather(self.perm) for e in exprs]

    def in_frame_order(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame if self.inv is None else frame[self.inv]

    def moved(self) -> _Layout:
        """The layout once the frame's rows are moved into series order (``frame[perm]``)."""
        return _Layout(None, None, self.keys)


def _period_index(groups: list[str], order: str) -> pl.Expr:
    """Position of each row's period among all periods of its indicator (gaps count): ``groups``
    are the columns of the series keys other than the area."""
    rank = pl.col(order).rank("dense")
    return (rank.over(groups) if groups else rank).cast(pl.Int64)


def _layout(frame: pl.DataFrame, series: list[str], order: str) -> _Layout:
    """The series order of ``frame``: the rows of ``frame.sort([*series, order], maintain_order=True)``."""
    # String keys are sorted, grouped and compared as their dense ranks (UInt32): the same order
    # and the same ties as the strings (nulls stay null), without encoding or copying the
    # strings of every row for the sort and the comparisons.
    schema = frame.collect_schema()
    keys = [f"_k{i}" for i in range(len(series))]
    keyed = frame.select(
        *[(pl.col(c).rank("dense") if schema[c] == pl.String else pl.col(c)).alias(k) for c, k in zip(series, keys, strict=True)],
        pl.col(order).alias("_order"),
    )
    rows = keyed.select(pl.arg_sort_by([*keys, "_order"], maintain_order=True)).to_series()
    # a permutation in increasing order is the identity: nothing to move
    perm, inv = (None, None) if rows.is_sorted() else (rows, rows.arg_sort())
    del rows

    def in_series_order(e: pl.Expr) -> pl.Expr:
        return e if perm is None else e.gather(perm)

    groups = [k for c, k in zip(series, keys, strict=True) if c != "area_code"]
    idx = keyed.lazy().select(in_series_order(_period_index(groups, "_order")).alias("_idx"))
    if series:
        # a series starts where any key differs from the row before (nulls equal, as in a window)
        sorted_keys = keyed.lazy().select([in_series_order(pl.col(k)) for k in keys])
        start = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys])
        group = sorted_keys.select(start.cast(pl.UInt32).cum_sum().alias("_g"))
    else:
        group = frame.lazy().select(pl.repeat(0, frame.height, dtype=pl.UInt32).alias("_g"))
    return _Layout(perm, inv, pl.concat([group, idx], how="horizontal").collect())


def _same_series(k: int) -> pl.Expr:
    """In series order: is the row ``k`` places back in this row's series?"""
    return (pl.col("_g") == pl.col("_g").shift(k)).fill_null(False)


def _series_layout(frame: pl.DataFrame, order: str = "period_start") -> _Layout:
    """The layout of ``frame`` by its series keys (indicator, area, group keys) and ``order``."""
    return _layout(frame, series_keys(frame), order)


def _labels(codes: pl.Series, names: Sequence[str], name: str, categories: Sequence[str] | None = None) -> pl.Series:
    """An Enum (of ``categories``, by default ``names``) of ``names[code]`` for integer codes
    (null stays null): a byte a row where a string column would take 16 or more, and it
    compares equal to plain strings."""
    return pl.Series(name, list(names), dtype=pl.Enum(categories or names)).gather(codes)


def _sign(e: pl.Expr) -> pl.Expr:
    # Fingertips counts a slope of exactly zero as positive.
    return pl.when(e < 0).then(-1).otherwise(1)


def _slope_unweighted(ts: list[float], ys: list[pl.Expr], tys: list[pl.Expr]) -> pl.Expr:
    """Least-squares slope of y on t; ``tys`` are the products t * y."""
    n = len(ts)
    st, stt = sum(ts), sum(t * t for t in ts)
    sy = pl.sum_horizontal(ys)
    sty = pl.sum_horizontal(tys)
    return (n * sty - sy * st) / (n * stt - st * st)


def _slope_weighted(
    ws: list[pl.Expr], wvts: list[pl.Expr], wts: list[pl.Expr], wvs: list[pl.Expr], wtts: list[pl.Expr]
) -> tuple[pl.Expr, pl.Expr]:
    """Weighted least-squares slope of v on t and its chi-square (b / se_b)^2, from the terms
    w, w v t, w t, w v and w t t of each point."""
    s1 = pl.sum_horizontal(ws)
    s2 = pl.sum_horizontal(wvts)
    s3 = pl.sum_horizontal(wts)
    s4 = pl.sum_horizontal(wvs)
    s5 = pl.sum_horizontal(wtts)
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
    "weighted regression") and ``trend_reason``; the labels are Enums, which compare equal
    to plain strings.

    Example:
        >>> import datetime as dt, polars as pl
        >>> f = pl.DataFrame({"area_code": ["A"] * 5, "period_start": [dt.date(y, 1, 1) for y in range(2019, 2024)],
        ...     "value": [30.6, 30.2, 28.0, 24.6, 24.67], "lower_95": [28.98, 28.63, 26.44, 23.15, 23.16],
        ...     "upper_95": [32.25, 31.9, 29.64, 26.19, 26.25], "polarity": ["no_judgement"] * 5})
        >>> recent_trend(f).select("recent_trend", pl.col("trend_chi2").round(2)).row(-1)
        ('Decreasing', 46.77)
    """
    return _recent_trend(frame, indicators, points=points, confidence=confidence, by=by, order=order, limits=limits)


def _recent_trend(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None,
    *,
    points: int,
    confidence: float,
    by: Sequence[str] | None,
    order: str,
    limits: tuple[str, str] | None,
    layout: _Layout | None = None,
) -> pl.DataFrame:
    """:func:`recent_trend`, optionally given the frame's series order (``layout``) worked out before."""
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
    return _add_recent_trend(frame, layout or _layout(frame, series, order), points, threshold, limits)


_TREND_METHODS = ("chi-square for trend", "weighted regression")


_SHORT = "fewer than {} consecutive periods"


def _trend_reasons(points: int) -> tuple[str, ...]:
    return (
        _SHORT.format(points),
        "missing or unusable counts or limits",
        "not significant",
        "direction changes when one point is left out",
        "significant trend",
    )


def _trend_reason_enum(points: int) -> list[str]:
    """The categories of ``trend_reason``: the same for every window of up to 20 points, so
    that trends over different windows concatenate (Polars joins no two different Enums)."""
    return [*(_SHORT.format(p) for p in range(3, max(points, 20) + 1)), *_trend_reasons(points)[1:]]


def _trend_inputs(frame: pl.DataFrame, limits: tuple[str, str]) -> list[pl.Expr]:
    """One value of each per row, read at the window's points by shifting in series order."""

    def num(name: str) -> pl.Expr:
        if name in frame.columns:
            return pl.col(name).cast(pl.Float64)
        return pl.repeat(None, pl.len(), dtype=pl.Float64)  # a column, not a literal: it is gathered

    o, n, v, lo, u = num("numerator"), num("denominator"), num("value"), num(limits[0]), num(limits[1])
    measure = pl.col("measure") if "measure" in frame.columns else pl.repeat(None, pl.len(), dtype=pl.String)
    pol = pl.col("polarity")
    return [
        o.alias("_o"),
        n.alias("_n"),
        v.alias("_v"),
        (o / (n - o)).log().alias("_y"),  # the logit of a proportion
        ((_FINGERTIPS_CI_WIDTH / (u - lo)) ** 2).alias("_w"),  # the inverse-variance weight
        ((o > 0) & (o < n)).fill_null(False).alias("_okp"),
        (v.is_not_null() & (u > lo)).fill_null(False).alias("_okw"),
        (measure == "proportion").fill_null(False).alias("_prop"),
        pl.when(pol == "higher_is_better")
        .then(pl.lit(0, dtype=pl.Int8))
        .when(pol == "lower_is_better")
        .then(pl.lit(1, dtype=pl.Int8))
        .when(pol.is_not_null())
        .then(pl.lit(2, dtype=pl.Int8))
        .alias("_pol"),
    ]


@dataclass(frozen=True)
class _TrendSteps:
    """The recent trend on a slice in series order, as steps of expressions.

    ``window``: whether the row ends ``P`` consecutive periods of its series, whether they
    serve the chi-square or the weighted regression, and the window's points as columns.
    Then, on the rows of each method only, that method's terms of the sums (each point's
    ``t * y``, ``w * t`` ...: made once, read by the full fit and by every leave-one-out fit)
    and its fit (``trend_chi2``, ``_slope``, ``_clean``). ``codes``: the method, label and
    reason of every row as codes into ``_TREND_METHODS``, ``TREND_LABELS`` and
    ``_trend_reasons(P)``.
    """

    window: list[pl.Expr]
    prop_terms: list[pl.Expr]
    prop_fit: list[pl.Expr]
    w_terms: list[pl.Expr]
    w_fit: list[pl.Expr]
    codes: list[pl.Expr]


def _trend_steps(points: int, threshold: float) -> _TrendSteps:
    P = points  # noqa: N806
    ts = [float(j + 1) for j in range(P)]
    ks = [P - 1 - j for j in range(P)]  # lag of window position j

    def window(name: str) -> list[pl.Expr]:
        return [pl.col(name).shift(k) for k in ks]

    def at(name: str) -> list[pl.Expr]:
        return [pl.col(f"_{name}{j}") for j in range(P)]

    complete = _same_series(P - 1) & ((pl.col("_idx") - pl.col("_idx").shift(P - 1)) == P - 1).fill_null(False)
    prop_ok = pl.col("_prop") & pl.all_horizontal(window("_okp")).fill_null(False)
    w_ok = pl.all_horizontal(window("_okw")).fill_null(False)
    window_step = [
        complete.alias("_complete"),
        (complete & prop_ok).alias("_use_prop"),
        (complete & ~prop_ok & w_ok).alias("_use_w"),
        *[e.alias(f"{name}{j}") for name in ("_o", "_n", "_v", "_y", "_w") for j, e in enumerate(window(name))],
    ]
    O, N, V, Y, W = at("o"), at("n"), at("v"), at("y"), at("w")  # noqa: E741, N806 - as in the formulas

    # proportions: chi-square for trend + logit slopes
    prop_terms = [
        *[(o * t).alias(f"_ot{j}") for j, (o, t) in enumerate(zip(O, ts, strict=True))],
        *[(n * t).alias(f"_nt{j}") for j, (n, t) in enumerate(zip(N, ts, strict=True))],
        *[(n * t * t).alias(f"_ntt{j}") for j, (n, t) in enumerate(zip(N, ts, strict=True))],
        *[(t * y).alias(f"_ty{j}") for j, (y, t) in enumerate(zip(Y, ts, strict=True))],
    ]
    Nt, R = pl.sum_horizontal(N), pl.sum_horizontal(O)  # noqa: N806
    RT, NT, NT2 = pl.sum_horizontal(at("ot")), pl.sum_horizontal(at("nt")), pl.sum_horizontal(at("ntt"))  # noqa: N806
    TY = at("ty")  # noqa: N806

    def slope_prop(idx: list[int]) -> pl.Expr:
        return _slope_unweighted([ts[i] for i in idx], [Y[i] for i in idx], [TY[i] for i in idx])

    every = list(range(P))
    prop_fit = [
        (Nt * (Nt * RT - R * NT) ** 2 / (R * (Nt - R) * (Nt * NT2 - NT * NT))).alias("trend_chi2"),
        slope_prop(every).alias("_slope"),
        _no_outliers(ts, slope_prop).alias("_clean"),
    ]

    # everything else: inverse-variance weighted regression
    w_terms = [
        *[(w * v * t).alias(f"_wvt{j}") for j, (w, v, t) in enumerate(zip(W, V, ts, strict=True))],
        *[(w * t).alias(f"_wt{j}") for j, (w, t) in enumerate(zip(W, ts, strict=True))],
        *[(w * v).alias(f"_wv{j}") for j, (w, v) in enumerate(zip(W, V, strict=True))],
        *[(w * t * t).alias(f"_wtt{j}") for j, (w, t) in enumerate(zip(W, ts, strict=True))],
    ]
    WVT, WT, WV, WTT = at("wvt"), at("wt"), at("wv"), at("wtt")  # noqa: N806

    def slope_w(idx: list[int]) -> tuple[pl.Expr, pl.Expr]:
        return _slope_weighted(*([col[i] for i in idx] for col in (W, WVT, WT, WV, WTT)))

    slope, chi_w = slope_w(every)
    w_fit = [chi_w.alias("trend_chi2"), slope.alias("_slope"), _no_outliers(ts, lambda idx: slope_w(idx)[0]).alias("_clean")]

    def code(i: int) -> pl.Expr:
        return pl.lit(i, dtype=pl.UInt8)

    pol, clean, method = pl.col("_pol"), pl.col("_clean"), pl.col("_method")
    up, down = pl.col("_slope") > 0, pl.col("_slope") < 0
    better = (up & (pol == 0)) | (down & (pol == 1))
    # codes into TREND_LABELS
    judged = (
        pl.when(pol < 2)
        .then(
            pl.when(up)
            .then(pl.when(better).then(code(2)).otherwise(code(3)))
            .otherwise(pl.when(better).then(code(4)).otherwise(code(5)))
        )
        .otherwise(pl.when(up).then(code(0)).otherwise(code(1)))
    )
    significant = pl.col("trend_chi2") > threshold
    label = pl.when(method.is_null()).then(code(7)).when(~significant | ~clean).then(code(6)).otherwise(judged)
    # codes into _trend_reasons(P)
    reason = (
        pl.when(~pl.col("_complete"))
        .then(code(0))
        .when(method.is_null())
        .then(code(1))
        .when(~significant)
        .then(code(2))
        .when(~clean)
        .then(code(3))
        .otherwise(code(4))
    )
    codes = [method, pl.col("trend_chi2"), label.alias("_label"), reason.alias("_reason")]
    return _TrendSteps(window_step, prop_terms, prop_fit, w_terms, w_fit, codes)


def _add_recent_trend(
    frame: pl.DataFrame, layout: _Layout, points: int, threshold: float, limits: tuple[str, str]
) -> pl.DataFrame:
    """:func:`recent_trend` on a checked frame whose series order is ``layout``."""
    P = points  # noqa: N806
    base = pl.concat(
        [layout.keys, frame.select(layout.in_series_order(_trend_inputs(frame, limits)))],
        how="horizontal",
    )
    steps = _trend_steps(P, threshold)
    # Eager steps, on purpose: an optimised lazy query may fuse a * b + c into one rounding, and
    # the statistic is kept to the last bit of the window-shift implementation it replaced.
    parts = []
    for start in range(0, base.height, _SLICE):
        first = max(0, start - (P - 1))  # the rows the slice's first points look back on
        part = base.slice(first, start + _SLICE - first).with_columns(steps.window).with_row_index("_r")
        # each fit only on the rows it serves
        fits = [
            part.filter(use).with_columns(terms).select("_r", *fit, pl.lit(code, dtype=pl.UInt8).alias("_method"))
            for use, terms, fit, code in (
                ("_use_prop", steps.prop_terms, steps.prop_fit, 0),
                ("_use_w", steps.w_terms, steps.w_fit, 1),
            )
        ]
        part = part.select("_r", "_complete", "_pol").join(pl.concat(fits), on="_r", how="left", maintain_order="left")
        parts.append(part.select(steps.codes).slice(start - first))
    del base
    if parts:
        codes = layout.in_frame_order(pl.concat(parts, rechunk=True))
    else:
        codes = pl.DataFrame(schema={"_method": pl.UInt8, "trend_chi2": pl.Float64, "_label": pl.UInt8, "_reason": pl.UInt8})
    return frame.with_columns(
        _labels(codes.get_column("_method"), _TREND_METHODS, "trend_method"),
        codes.get_column("trend_chi2"),
        _labels(codes.get_column("_label"), TREND_LABELS, "recent_trend"),
        _labels(codes.get_column("_reason"), _trend_reasons(P), "trend_reason", _trend_reason_enum(P)),
    )


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
    return _year_on_year(frame, confidence=confidence, by=by, order=order)


def _year_on_year(
    frame: pl.DataFrame,
    *,
    confidence: float | Sequence[float],
    by: Sequence[str] | None,
    order: str,
    layout: _Layout | None = None,
) -> pl.DataFrame:
    """:func:`year_on_year`, optionally given the frame's series order (``layout``) worked out before."""
    levels = resolve_levels(frame, confidence)
    require(frame, ["value", order], "compute values first and add a sortable period start.")
    require_numeric(frame, ["value", *(c for lv in levels for c in lv[1:3])])
    series = list(by) if by is not None else series_keys(frame)
    return _add_year_on_year(frame, layout or _layout(frame, series, order), levels)


def _add_year_on_year(frame: pl.DataFrame, layout: _Layout, levels: list[tuple[float, str, str, str]]) -> pl.DataFrame:
    """:func:`year_on_year` on a checked frame whose series order is ``layout``."""
    # the row holding the period just before this row's, in its series (null when there is none)
    row = pl.int_range(pl.len(), dtype=pl.UInt32) if layout.perm is None else pl.lit(layout.perm)
    adjacent = _same_series(1) & ((pl.col("_idx") - pl.col("_idx").shift(1)) == 1).fill_null(False)
    previous = layout.in_frame_order(layout.keys.select(pl.when(adjacent).then(row.shift(1)).alias("_prev")))
    at = previous.get_column("_prev")
    del previous
    # Column by column, each level on its own: the previous period's values are gathered for
    # one level at a time, instead of every gathered copy and temporary being alive at once.
    cols: list[pl.Series | pl.Expr] = []
    if "period" in frame.columns:
        cols.append(frame.select(pl.col("period").gather(at).alias("previous_period")).to_series())
    work = frame.select("value", pl.col("value").gather(at).alias("_v0"))
    work = work.with_columns((pl.col("value") - pl.col("_v0")).alias("yoy_change"))
    cols.append(work.get_column("yoy_change"))
    d, v1, v0 = pl.col("yoy_change"), pl.col("value"), pl.col("_v0")
    for _, lo, hi, suffix in levels:
        if lo not in frame.columns or hi not in frame.columns:
            cols += [
                pl.lit(None, dtype=pl.Float64).alias(f"yoy_lower{suffix}"),
                pl.lit(None, dtype=pl.Float64).alias(f"yoy_upper{suffix}"),
            ]
            continue
        # the lower limit reads this period's lower limit and the previous period's upper limit,
        # the upper limit the other two: one at a time, each with its one gathered column
        l1, u1, l0, u0 = pl.col("_l1"), pl.col("_u1"), pl.col("_l0"), pl.col("_u0")
        lower = work.hstack([frame.get_column(lo).alias("_l1"), frame.get_column(hi).gather(at).alias("_u0")])
        cols.append(lower.select((d - ((v1 - l1) ** 2 + (u0 - v0) ** 2).sqrt()).alias(f"yoy_lower{suffix}")).to_series())
        del lower
        upper = work.hstack([frame.get_column(hi).alias("_u1"), frame.get_column(lo).gather(at).alias("_l0")])
        cols.append(upper.select((d + ((u1 - v1) ** 2 + (v0 - l0) ** 2).sqrt()).alias(f"yoy_upper{suffix}")).to_series())
        del upper
    del work
    return frame.with_columns(cols)
