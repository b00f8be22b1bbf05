"""Statistical process control: XmR charts in the NHS "Making Data Count" manner.

One call handles every series in a frame (each indicator x area, say): the series are ordered
and the rules are read with window shifts over the series, with no Python loop per series.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"t": range(12), "value": [10.0, 11, 9, 10, 12, 10, 11, 9, 10, 11, 10, 20]})
    >>> out = xmr(f, order="t", polarity="higher_is_better")
    >>> out.select("centre", "upper_limit").row(0)  # 11.083 + 2.66 x 1.4 (the 10-point jump screened out)
    (11.083333333333334, 14.807333333333334)
    >>> out.get_column("variation").to_list()[-1]
    'improvement'
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from publicservices.errors import SchemaError
from publicservices.indicators import POLARITIES
from publicservices.stats._common import require, require_numeric, series_keys

__all__ = ["xmr", "XMR_LIMIT", "SCREEN_LIMIT"]

XMR_LIMIT = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two points
SCREEN_LIMIT = 3.267  # D4: moving ranges above D4 x mean are outliers (Making Data Count / NHSRplotthedots)
_RUN = 7  # Making Data Count: a run of seven points on one side of the mean
_TREND = 7  # ... and seven points all increasing or all decreasing


def xmr(
    frame: pl.DataFrame,
    value: str = "value",
    *,
    by: Sequence[str] | None = None,
    order: str = "period_start",
    polarity: str | None = None,
    baseline: int | None = None,
    screen_outliers: bool = True,
) -> pl.DataFrame:
    """Add XmR (individuals and moving range) chart columns and the special-cause rules.

    Method: NHS England "Making Data Count" (2019), as implemented by the NHS-R
    NHSRplotthedots package (``ptd_spc``); Wheeler DJ (1995) *Advanced Topics in SPC*.

    * centre line: the mean of the series (of its first ``baseline`` points, if given);
    * moving range: |x_t - x_(t-1)|; with ``screen_outliers`` moving ranges at or above
      3.267 x their mean are left out and the mean moving range recomputed;
    * process limits: centre +- 2.66 x mean moving range (3 sigma, sigma = MR-bar / 1.128);
    * rules, each marking every point of the pattern:
      ``rule_limits`` -- a point beyond a process limit;
      ``rule_run`` -- seven consecutive points on the same side of the centre (a point on
      the centre breaks the run);
      ``rule_trend`` -- seven consecutive points all increasing or all decreasing;
      ``rule_two_of_three`` -- two of three consecutive points beyond 2 sigma ("near a
      limit", but within the limits) with all three on the same side of the centre;
    * ``spc_rule``: the pattern that names the point, by the Making Data Count priority
      (beyond limits, trend, two of three, run); ``variation``: "common cause", or for a
      special-cause point "improvement" / "concern" by polarity -- the side of the centre,
      or the direction of a trend -- and "neither" without polarity.

    Null values are kept as rows but break moving ranges, runs and trends.

    Parameters:
        frame: one row per point.
        value: the plotted column.
        by: series columns (default: whichever of indicator_id, area_code and breakdown
            columns are present; none -> one series).
        order: the time-order column.
        polarity: ``higher_is_better`` / ``lower_is_better`` / ``no_judgement``, or the name
            of a column holding them; default the ``polarity`` column if present.
        baseline: fix the centre and limits on the first ``baseline`` points of each series.
        screen_outliers: screen large moving ranges (NHSRplotthedots default: yes).

    Adds ``centre``, ``moving_range``, ``mean_moving_range``, ``sigma``, ``lower_limit``,
    ``upper_limit``, the four ``rule_*`` booleans, ``spc_rule`` and ``variation``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["A"] * 8 + ["B"] * 8, "t": list(range(8)) * 2,
        ...     "value": [5.0, 6, 7, 8, 9, 10, 11, 8] + [3.0, 3, 4, 3, 4, 3, 4, 3]})
        >>> out = xmr(f, by=["area_code"], order="t", polarity="lower_is_better")
        >>> out.filter(pl.col("area_code") == "A").get_column("rule_trend").to_list()
        [True, True, True, True, True, True, True, False]
        >>> out.filter(pl.col("area_code") == "A").get_column("variation").to_list()
        ['concern', 'concern', 'concern', 'concern', 'concern', 'concern', 'concern', 'common cause']
    """
    require(frame, [value, order], "name the plotted column with value= and the time column with order=.")
    require_numeric(frame, [value])
    if baseline is not None and (isinstance(baseline, bool) or not isinstance(baseline, int) or baseline < 2):
        raise SchemaError(
            f"baseline={baseline!r} must be a whole number of points, at least 2.\nFix: pass e.g. baseline=12 or None."
        )
    series = list(by) if by is not None else [c for c in series_keys(frame)]
    require(frame, series, "name existing series columns in by=.")
    reserved = {"centre", "moving_range", "mean_moving_range", "sigma", "lower_limit", "upper_limit"}
    if value in reserved:
        raise SchemaError(f"value={value!r} clashes with an output column.\nFix: rename that column first.")

    if polarity is None:
        pol = pl.col("polarity") if "polarity" in frame.columns else pl.lit("no_judgement")
    elif polarity in POLARITIES:
        pol = pl.lit(polarity)
    elif polarity in frame.columns:
        pol = pl.col(polarity)
    else:
        raise SchemaError(
            f"polarity={polarity!r} is neither a polarity ({', '.join(POLARITIES)}) nor a column.\nFix: pass one of those."
        )
    direction = pl.when(pol == "higher_is_better").then(1).when(pol == "lower_is_better").then(-1).otherwise(0)

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(series) if series else e

    def s(e: pl.Expr, k: int) -> pl.Expr:
        return over(e.shift(k))

    work = frame.with_row_index("_spc_row").sort([*series, order], maintain_order=True)
    y = pl.col(value).cast(pl.Float64).fill_nan(None)
    work = work.with_columns(y.alias("_y"))
    y = pl.col("_y")
    fixed = pl.when(over(pl.int_range(pl.len())) < baseline).then(y) if baseline else y
    work = work.with_columns(fixed.alias("_fy"))
    fy = pl.col("_fy")
    work = work.with_columns(over(fy.mean()).alias("centre"), (fy - s(fy, 1)).abs().alias("_mr"))
    work = work.with_columns(over(pl.col("_mr").mean()).alias("_amr"))
    if screen_outliers:
        kept = pl.when(pl.col("_mr") < SCREEN_LIMIT * pl.col("_amr")).then(pl.col("_mr"))
        work = work.with_columns(over(kept.mean()).alias("_amr"))
    amr, centre = pl.col("_amr"), pl.col("centre")
    work = work.with_columns(
        (y - s(y, 1)).abs().alias("moving_range"),
        amr.alias("mean_moving_range"),
        (amr / 1.128).alias("sigma"),
        (centre - XMR_LIMIT * amr).alias("lower_limit"),
        (centre + XMR_LIMIT * amr).alias("upper_limit"),
    )
    near = 2 * XMR_LIMIT / 3
    outside = ((y > pl.col("upper_limit")) | (y < pl.col("lower_limit"))).fill_null(False)
    rtm = (y - centre).sign().cast(pl.Int8)
    close = (~outside & ((y < centre - near * amr) | (y > centre + near * amr))).fill_null(False)
    work = work.with_columns(outside.alias("rule_limits"), rtm.alias("_rtm"), close.alias("_close"))
    rtm, close = pl.col("_rtm"), pl.col("_close")

    # a run: this point and the six before it on the same side of the centre
    run_end = ((rtm != 0) & pl.all_horizontal([s(rtm, k) == rtm for k in range(1, _RUN)])).fill_null(False)
    # a trend: seven points each above (or each below) the one before
    up_end = pl.all_horizontal([s(y, k) > s(y, k + 1) for k in range(_TREND - 1)]).fill_null(False)
    down_end = pl.all_horizontal([s(y, k) < s(y, k + 1) for k in range(_TREND - 1)]).fill_null(False)
    work = work.with_columns(run_end.alias("_run_end"), (up_end | down_end).alias("_trend_end"))

    def part_of(flag: str, length: int) -> pl.Expr:
        # a point belongs to a pattern ending at it or at any of the next length - 1 points
        return pl.any_horizontal([s(pl.col(flag), -k).fill_null(False) for k in range(length)])

    # two of three near a limit: any window of three containing the point
    windows = []
    for a in (-2, -1, 0):
        ks = [a + j for j in range(3)]
        n_close = pl.sum_horizontal([s(close.cast(pl.Int8), -k).fill_null(0) for k in ks])
        side = pl.sum_horizontal([s(rtm, -k).fill_null(0) for k in ks])
        windows.append((n_close >= 2) & (side.abs() == 3))
    work = work.with_columns(
        part_of("_run_end", _RUN).alias("rule_run"),
        part_of("_trend_end", _TREND).alias("rule_trend"),
        (pl.any_horizontal(windows) & close).alias("rule_two_of_three"),
    )
    # A trend point takes the direction of the step after it when that step is in the trend too.
    right = (s(y, -1) - y).sign()
    left = (y - s(y, 1)).sign().fill_null(0)
    trend_dir = pl.when(pl.col("rule_trend") & s(pl.col("rule_trend"), -1).fill_null(False)).then(right).otherwise(left)
    side_word = pl.when(rtm > 0).then(pl.lit("above")).otherwise(pl.lit("below"))
    rule = (
        pl.when(pl.col("rule_limits"))
        .then(pl.when(rtm > 0).then(pl.lit("above upper limit")).otherwise(pl.lit("below lower limit")))
        .when(pl.col("rule_trend"))
        .then(pl.when(trend_dir > 0).then(pl.lit("increasing trend")).otherwise(pl.lit("decreasing trend")))
        .when(pl.col("rule_two_of_three"))
        .then(pl.concat_str([pl.lit("two of three "), side_word]))
        .when(pl.col("rule_run"))
        .then(pl.concat_str([pl.lit("run "), side_word]))
    )
    sense = (
        pl.when(pl.col("rule_limits"))
        .then(rtm)
        .when(pl.col("rule_trend"))
        .then(trend_dir)
        .when(pl.col("rule_two_of_three") | pl.col("rule_run"))
        .then(rtm)
        .otherwise(0)
        .cast(pl.Int8)
    )
    oriented = sense * direction
    variation = (
        pl.when(sense == 0)
        .then(pl.lit("common cause"))
        .when(direction == 0)
        .then(pl.lit("neither"))
        .when(oriented > 0)
        .then(pl.lit("improvement"))
        .otherwise(pl.lit("concern"))
    )
    work = work.with_columns(rule.alias("spc_rule"), variation.alias("variation"))
    return work.sort("_spc_row").drop("_spc_row", "_y", "_fy", "_mr", "_amr", "_rtm", "_close", "_run_end", "_trend_end")
