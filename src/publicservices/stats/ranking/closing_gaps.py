"""Closing the gap: has each area's gap for a disadvantaged group narrowed, beyond chance?

A *gap indicator* measures how far a disadvantaged group lies behind everyone else in an area
-- the KS2 disadvantage gap index (DfE), the slope index of inequality in life expectancy
(OHID) -- once a period, each value with a 95% interval. :func:`gap_change` estimates how
each area's gap changed over its periods, with an interval, and says whether it narrowed
significantly; :func:`gap_credit` turns that into report-card extra credit (New York City's
Progress Reports gave "additional credit" for closing gaps of high-need groups).

Method (inverse-variance weighted least squares, as the Fingertips recent-trend test for
values with intervals; OHID *Public Health Technical Guidance*, "Recent trends"): for one
area, with the gap y_t at time t (years from the period start dates; the period's position
when there are no dates) and its standard error s_t = (upper - lower) / (2 z) from the
interval, w_t = 1 / s_t^2 and the weighted means t_bar, y_bar::

    slope = sum w (t - t_bar)(y - y_bar) / S,   S = sum w (t - t_bar)^2,   se(slope) = sqrt(phi / S)

    phi = max(1, sum w (y - a - slope t)^2 / (n - 2))   (n >= 3; phi = 1 with two periods)

The change is the fitted change from the first period to the last, ``slope x (t_last -
t_first)``, with standard error ``se(slope) x (t_last - t_first)``; with two periods it is
exactly the difference y_last - y_first with se sqrt(s_first^2 + s_last^2). ``phi`` is the
multiplicative over-dispersion of the points about the line, floored at 1 (Spiegelhalter
2005; Thompson & Sharp 1999): when the gap wobbles more from year to year than its intervals
allow, the interval of the change widens by sqrt(phi) instead of crediting the wobble.
``dispersion=False`` keeps phi = 1, exactly Fingertips' weighted regression.

Narrowing is direction-aware: for a gap where lower is better (a positive gap, such as the
disadvantage gap index) narrowing is a fall; for one where higher is better (a gap measured
as the disadvantaged group minus the others, below zero) it is a rise. ``narrowing_z =
d x change / se`` with d = -1 or +1, and an area is **significantly narrowing** when the
``level`` interval of the change lies entirely on the narrowing side (narrowing_z > z),
**significantly widening** when it lies entirely on the other side, and **no significant
change** otherwise. An area with fewer than ``min_periods`` periods that have both a value
and a positive-width interval (or standard error) is **cannot judge**: its change is never
guessed, and the reason says which.

References: Office for Health Improvement and Disparities, *Public Health Technical Guidance*
(Fingertips recent trends: weighted regression with w = 1/se^2 from the 95% limits);
Spiegelhalter DJ (2005) Handling over-dispersion of performance indicators. Quality and
Safety in Health Care 14:347-351; Thompson SG, Sharp SJ (1999) Explaining heterogeneity in
meta-analysis: a comparison of methods. Statistics in Medicine 18:2693-2708 (the
multiplicative scale of a weighted regression); NYC Department of Education, *Progress
Report Educator Guide* (additional credit for high-need groups).

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"area_code": ["A"] * 3 + ["B"] * 3 + ["C"],
    ...     "period": ["2021/22", "2022/23", "2023/24"] * 2 + ["2023/24"],
    ...     "value": [3.0, 2.8, 2.6, 3.0, 3.1, 2.95, 3.0],
    ...     "lower_ci": [2.9, 2.7, 2.5, 2.8, 2.9, 2.75, 2.8], "upper_ci": [3.1, 2.9, 2.7, 3.2, 3.3, 3.15, 3.2]})
    >>> out = gap_change(f, polarity="lower_is_better")
    >>> out.select("area_code", pl.col("gap_change").round(2), "gap_status").rows()
    [('A', -0.4, 'significantly narrowing'), ('B', -0.05, 'no significant change'), ('C', None, 'cannot judge')]
    >>> gap_credit(out["gap_narrowing_z"].to_numpy(), 5.0).round(2).tolist()
    [5.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, problem
from publicservices.indicators import Indicator
from publicservices.keys import GROUP_KEYS
from publicservices.stats._common import (
    as_indicator_map,
    collect,
    fraction,
    require,
    require_numeric,
    row_keys,
    z_for,
)

__all__ = ["GAP_STATUSES", "AWARDS", "gap_change", "gap_credit"]

#: what :func:`gap_change` says of each area's gap
GAP_STATUSES: tuple[str, ...] = (
    "significantly narrowing",
    "no significant change",
    "significantly widening",
    "cannot judge",
)
#: how :func:`gap_credit` turns a significant narrowing into points
AWARDS: tuple[str, ...] = ("scaled", "fixed")
_DIRECTIONS = {"lower_is_better": -1.0, "higher_is_better": 1.0}


def _narrowing_sign(
    frame: pl.DataFrame, polarity: str | None, indicators: Mapping[str, Indicator] | Iterable[Indicator] | None, fn: str
) -> pl.Expr:
    """+1 where a rise narrows the gap (higher is better), -1 where a fall does, per row."""
    if polarity is not None:
        if polarity not in _DIRECTIONS:
            raise DataError(
                f"{fn}: polarity={polarity!r} does not say which way the gap narrows.\n"
                "Fix: pass polarity='lower_is_better' for a gap that narrows as it falls (a positive gap, such as the "
                "disadvantage gap index) or 'higher_is_better' for one that narrows as it rises (disadvantaged minus others)."
            )
        return pl.lit(_DIRECTIONS[polarity])
    if "indicator_id" not in frame.columns:
        raise DataError(
            f"{fn}: no polarity for the gap, so it cannot tell narrowing from widening.\n"
            "Fix: pass polarity='lower_is_better' (or 'higher_is_better'), or an indicator_id column with indicators=."
        )
    ids = frame.get_column("indicator_id").unique(maintain_order=True).drop_nulls().to_list()
    known = as_indicator_map(indicators) or {}
    unjudged = [i for i in ids if i not in known or known[i].polarity not in _DIRECTIONS]
    if unjudged:
        why = "; ".join(
            f"{i}: no definition in indicators=" if i not in known else f"{i}: polarity {known[i].polarity!r}"
            for i in unjudged[:5]
        )
        raise DataError(
            f"{fn}: cannot tell narrowing from widening for gap indicator(s) without a direction ({why}).\n"
            "Fix: pass polarity='lower_is_better' for a gap that narrows as it falls, or 'higher_is_better' for one "
            "that narrows as it rises, or the indicators' definitions in indicators=."
        )
    return pl.col("indicator_id").replace_strict(
        {i: _DIRECTIONS[known[i].polarity] for i in ids}, default=None, return_dtype=pl.Float64
    )


def _time(frame: pl.DataFrame, order: str, family: list[str]) -> pl.Expr:
    """Time of each row: years from dates; else the order column's numbers, or the period's
    position among its family's periods (labels in sort order)."""
    dtype = frame.schema[order]
    if dtype.is_temporal():
        day = pl.col(order).cast(pl.Date)
        return (day - day.min()).dt.total_days().cast(pl.Float64) / 365.25
    if dtype.is_numeric():
        return pl.col(order).cast(pl.Float64)
    position = pl.col(order).rank("dense")
    return ((position.over(family) if family else position) - 1).cast(pl.Float64)


def gap_change(
    frame: pl.DataFrame,
    indicator: str | None = None,
    *,
    polarity: str | None = None,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    key: str = "area_code",
    by: Sequence[str] | None = None,
    order: str | None = None,
    se: str | None = None,
    ci_level: float = 0.95,
    level: float = 0.95,
    min_periods: int = 2,
    window: int | None = None,
    dispersion: bool = True,
) -> pl.DataFrame:
    """Each area's change in a gap over its periods, its interval, and whether it significantly narrowed.

    Method: the inverse-variance weighted least-squares slope of the gap on time, with
    w = 1 / se^2 from each value's interval (Fingertips' recent-trend regression), its
    standard error inflated by sqrt(phi) when the points scatter about the line more than
    their intervals allow (phi floored at 1; ``dispersion=False`` for none); the change is
    the slope x the time from the first period to the last (with two periods exactly
    last - first, se sqrt(s1^2 + s2^2)). See the module docstring for the formulas and the
    references. Vectorised over every area (and indicator and breakdown) at once.

    Parameters:
        frame: long values: ``key``, ``value``, the time column ``order``, and ``lower_ci`` /
            ``upper_ci`` (a ``ci_level`` interval) or a standard-error column ``se``;
            ``indicator_id`` when it holds several indicators (each its own series).
        indicator: keep only this gap indicator's rows.
        polarity: which way the gap narrows: ``"lower_is_better"`` (narrowing = falling) or
            ``"higher_is_better"`` (narrowing = rising); default the indicators'.
        indicators: definitions (by id, or a list), for their polarity.
        key: the area column.
        by: further series columns (default: the group keys present -- comparable_set, sex,
            age, category_type, category).
        order: the time column: ``period_start`` (dates; the slope is per year) if present,
            else ``period`` (labels in sort order; the slope is per period).
        se: a standard-error column to use instead of the interval.
        ci_level: the confidence level of ``lower_ci`` / ``upper_ci``.
        level: the confidence level of the interval of the change (0.95).
        min_periods: the fewest periods with a value and a positive-width interval an area
            needs to be judged (2: first and last).
        window: use only the latest ``window`` periods of each indicator (None: all).
        dispersion: inflate the standard error by sqrt(max(1, phi)) (three periods or more).

    Returns one row per area (and indicator and breakdown): ``gap_periods`` (periods used),
    ``gap_first_period``, ``gap_last_period``, ``gap_latest`` (the last value used),
    ``gap_slope`` (per year, or per period), ``gap_change`` (fitted change, first to last
    period), ``gap_change_se``, ``gap_change_lower``, ``gap_change_upper`` (the ``level``
    interval), ``gap_narrowing_z`` (change / se, positive when narrowing), ``gap_dispersion``
    (phi, null with two periods), ``gap_status`` (one of :data:`GAP_STATUSES`) and
    ``gap_reason`` (why, in words).

    Raises ``DataError`` for an unknown direction, duplicate rows or an interval whose upper
    limit lies below its lower one, naming the rows; ``SchemaError`` for missing columns.

    Example:
        >>> import polars as pl
        >>> two = pl.DataFrame({"area_code": ["A", "A"], "period": ["2022/23", "2023/24"],
        ...                     "value": [3.0, 2.6], "lower_ci": [2.804, 2.404], "upper_ci": [3.196, 2.796]})
        >>> row = gap_change(two, polarity="lower_is_better").row(0, named=True)
        >>> round(row["gap_change"], 3), round(row["gap_change_se"], 4), row["gap_status"]  # se: sqrt(0.1^2 + 0.1^2)
        (-0.4, 0.1414, 'significantly narrowing')
    """
    fn = "gap_change"
    frame = collect(frame, f"{fn} frame")
    if indicator is not None:
        require(frame, ["indicator_id"], f"the frame needs indicator_id to pick the gap indicator {indicator!r}.", fn)
        ids = frame.get_column("indicator_id").unique(maintain_order=True).to_list()
        if indicator not in ids:
            raise DataError(
                f"{fn}: no rows of gap indicator {indicator!r}; the frame holds {', '.join(map(str, ids[:8]))}"
                f"{' ...' if len(ids) > 8 else ''}.\nFix: pass the id of a gap indicator the data hold."
            )
        frame = frame.filter(pl.col("indicator_id") == indicator)
    if isinstance(min_periods, bool) or not isinstance(min_periods, int) or min_periods < 2:
        raise DataError(f"{fn}: min_periods={min_periods!r} must be a whole number, 2 or more.\nFix: e.g. min_periods=2.")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < min_periods):
        raise DataError(
            f"{fn}: window={window!r} must be a whole number of periods, at least min_periods ({min_periods}).\n"
            "Fix: e.g. window=5 for the latest five periods, or window=None for all."
        )
    level, ci_level = fraction(level), fraction(ci_level)
    if order is None:
        order = "period_start" if "period_start" in frame.columns else "period"
    limits = [] if se is not None else [c for c in ("lower_ci", "upper_ci") if c in frame.columns]
    require(frame, [key, "value", order, *([se] if se else [])], "pass long values with a period and a value.", fn)
    require_numeric(frame, ["value", *limits, *([se] if se else [])])
    ids_col = ["indicator_id"] if "indicator_id" in frame.columns else []
    extra = list(by) if by is not None else [c for c in GROUP_KEYS if c in frame.columns and c != key]
    require(frame, extra, "name existing columns in by=.", fn)
    series = [*ids_col, key, *extra]
    family = [*ids_col, *extra]

    dup = frame.select([*series, order]).is_duplicated()
    if dup.any():
        rows, total = row_keys(frame, dup)
        raise DataError(
            problem(
                order,
                f"repeats a period of one area's gap series ({fn} needs one value per area and period)",
                rows=rows,
                total=total,
                fix="Filter to one breakdown (sex, age, category) or name the breakdown columns in by=.",
            )
        )
    sign = _narrowing_sign(frame, polarity, indicators, fn)
    time = _time(frame, order, family)
    label = pl.col("period").cast(pl.String) if "period" in frame.columns else pl.col(order).cast(pl.String)
    if se is not None:
        s = pl.col(se).cast(pl.Float64)
    elif len(limits) == 2:
        s = (pl.col("upper_ci").cast(pl.Float64) - pl.col("lower_ci").cast(pl.Float64)) / (2 * z_for(ci_level))
    else:
        s = pl.lit(None, dtype=pl.Float64)
    work = frame.with_columns(
        time.alias("_t"),
        label.alias("_label"),
        pl.col("value").cast(pl.Float64).alias("_y"),
        s.alias("_s"),
        sign.alias("_d"),
    )
    negative = work.get_column("_s").lt(0).fill_null(False)
    if negative.any():
        rows, total = row_keys(work, negative)
        column = se if se is not None else "upper_ci"
        raise DataError(
            problem(
                column,
                "is negative" if se is not None else "is below lower_ci",
                rows=rows,
                total=total,
                fix="Correct the rows (lower_ci <= value <= upper_ci, standard errors >= 0) or set them to null.",
            )
        )
    if window is not None:
        latest = pl.col("_t").rank("dense", descending=True)
        work = work.filter((latest.over(family) if family else latest) <= window)

    usable = pl.col("_y").is_finite().fill_null(False) & pl.col("_s").is_finite().fill_null(False) & (pl.col("_s") > 0)
    valued = pl.col("_y").is_finite().fill_null(False)
    universe = work.group_by(series, maintain_order=True).agg(valued.sum().alias("_valued"), pl.col("_d").first().alias("_d"))
    fit = work.filter(usable).with_columns((1.0 / pl.col("_s") ** 2).alias("_w"))
    sw = pl.col("_w").sum().over(series)
    fit = fit.with_columns(
        (pl.col("_t") - (pl.col("_w") * pl.col("_t")).sum().over(series) / sw).alias("_tc"),
        (pl.col("_y") - (pl.col("_w") * pl.col("_y")).sum().over(series) / sw).alias("_yc"),
    )
    w, tc, yc = pl.col("_w"), pl.col("_tc"), pl.col("_yc")
    stats = fit.group_by(series, maintain_order=True).agg(
        pl.len().alias("gap_periods"),
        (w * tc * tc).sum().alias("_sxx"),
        (w * tc * yc).sum().alias("_sxy"),
        (w * yc * yc).sum().alias("_syy"),
        (pl.col("_t").max() - pl.col("_t").min()).alias("_span"),
        pl.col("_label").sort_by("_t").first().alias("gap_first_period"),
        pl.col("_label").sort_by("_t").last().alias("gap_last_period"),
        pl.col("_y").sort_by("_t").last().alias("gap_latest"),
    )
    out = universe.join(stats, on=series, how="left", nulls_equal=True, maintain_order="left")
    n = pl.col("gap_periods").fill_null(0)
    judged = (n >= min_periods) & (pl.col("_sxx") > 0).fill_null(False)
    slope = pl.col("_sxy") / pl.col("_sxx")
    rss = pl.max_horizontal(pl.col("_syy") - pl.col("_sxy") ** 2 / pl.col("_sxx"), pl.lit(0.0))
    phi = pl.when(n > 2).then(rss / (n - 2).cast(pl.Float64))
    scale = pl.max_horizontal(phi, pl.lit(1.0)) if dispersion else pl.lit(1.0)
    q = z_for(level)
    out = out.with_columns(
        pl.when(judged).then(slope).alias("gap_slope"),
        pl.when(judged).then(slope * pl.col("_span")).alias("gap_change"),
        pl.when(judged).then((scale / pl.col("_sxx")).sqrt() * pl.col("_span")).alias("gap_change_se"),
        pl.when(judged).then(phi).alias("gap_dispersion"),
    ).with_columns(
        (pl.col("gap_change") - q * pl.col("gap_change_se")).alias("gap_change_lower"),
        (pl.col("gap_change") + q * pl.col("gap_change_se")).alias("gap_change_upper"),
        (pl.col("_d") * pl.col("gap_change") / pl.col("gap_change_se")).alias("gap_narrowing_z"),
    )
    z = pl.col("gap_narrowing_z")
    pct = f"{100 * level:g}%"
    status = (
        pl.when(~judged)
        .then(pl.lit("cannot judge"))
        .when(z > q)
        .then(pl.lit("significantly narrowing"))
        .when(z < -q)
        .then(pl.lit("significantly widening"))
        .otherwise(pl.lit("no significant change"))
    )
    few = pl.format("only {} period(s) with a value and an interval (at least {} needed)", n, pl.lit(min_periods))
    reason = (
        pl.when(pl.col("_valued") == 0)
        .then(pl.lit("no value in any period"))
        .when((n == 0) & (pl.col("_valued") > 0))
        .then(pl.lit("no interval or standard error, so the change's precision is unknown"))
        .when(~judged)
        .then(few)
        .when(z > q)
        .then(pl.lit(f"the {pct} interval of the change lies entirely on the narrowing side"))
        .when(z < -q)
        .then(pl.lit(f"the {pct} interval of the change lies entirely on the widening side"))
        .otherwise(pl.lit(f"the {pct} interval of the change includes no change"))
    )
    out = out.with_columns(
        n.cast(pl.Int64).alias("gap_periods"),
        status.cast(pl.Enum(GAP_STATUSES)).alias("gap_status"),
        reason.alias("gap_reason"),
    )
    columns = [
        "gap_periods",
        "gap_first_period",
        "gap_last_period",
        "gap_latest",
        "gap_slope",
        "gap_change",
        "gap_change_se",
        "gap_change_lower",
        "gap_change_upper",
        "gap_narrowing_z",
        "gap_dispersion",
        "gap_status",
        "gap_reason",
    ]
    return out.select(*series, *columns)


def gap_credit(
    narrowing_z: Any, points: float, *, level: float = 0.95, award: Literal["scaled", "fixed"] = "scaled"
) -> np.ndarray:
    """Extra credit for closing a gap: points only for a statistically significant narrowing.

    Rule: an area earns credit only when the ``level`` interval of its gap's change lies
    entirely on the narrowing side, i.e. ``narrowing_z`` > z (1.96 for 95%). Then, with
    ``award="scaled"`` (default), ``points x min(1, narrowing_z / (2 z))``: a narrowing just
    significant earns half the points, one at least twice the threshold (z >= 3.92) all of
    them, and more narrowing for the same precision never earns less; with
    ``award="fixed"``, all the points. Everything else -- no significant change, widening,
    cannot judge (NaN) -- earns 0. Vectorised: ``narrowing_z`` can have any shape (e.g.
    draws x areas).

    >>> gap_credit([1.9, 1.96, 2.5, 3.92, 10.0, float("nan"), -3.0], 5.0).round(3).tolist()
    [0.0, 2.5, 3.189, 5.0, 5.0, 0.0, 0.0]
    >>> gap_credit([2.5, 1.0], 5.0, award="fixed").tolist()
    [5.0, 0.0]
    """
    if award not in AWARDS:
        raise DataError(f"award={award!r} is not known.\nFix: use one of {', '.join(map(repr, AWARDS))}.")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points < 0:
        raise DataError(f"points={points!r} must be a number of points, 0 or more.\nFix: e.g. points=5.")
    q = z_for(fraction(level))
    z = np.asarray(narrowing_z, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        significant = np.isfinite(z) & (z > q)
        earned = float(points) if award == "fixed" else float(points) * np.minimum(1.0, z / (2 * q))
    return np.where(significant, earned, 0.0)
