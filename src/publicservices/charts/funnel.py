"""Funnel plot: each unit's value against its size, inside 95% and 99.8% control limits.

Reference: Spiegelhalter DJ (2005) "Funnel plots for comparing institutional performance",
Statistics in Medicine 24:1185-1202. The limits come from ``publicservices.stats.ranking``;
this module only draws them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import (
    HEIGHT,
    WIDTH,
    area_labels,
    category_scale,
    chart_title,
    counts_sentence,
    finish,
    first_present,
    fmt,
    inline,
    one_group,
    polarity_of,
    require,
    thin,
    value_label,
    vega,
)
from publicservices.display import PALETTE, join_words, plural

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["funnel_plot", "limit_lines"]

CATEGORY_COLUMNS = ("comparison", "comparison_998", "comparison_95")
_LINE_ORDER = ("99.8% limits", "95% limits", "99.8% limits (overdispersed)", "95% limits (overdispersed)")
_LIMIT = re.compile(r"^(lower|upper)_(\d+)(?:_(.+))?$")


def _level_label(digits: str, overdispersed: bool) -> str:
    level = f"{digits[:2]}.{digits[2:]}%" if len(digits) > 2 else f"{digits}%"
    return f"{level} limits" + (" (overdispersed)" if overdispersed else "")


def limit_lines(limits: pl.DataFrame, x: str = "precision", n: int = 100, *, overdispersed: bool = False) -> pl.DataFrame:
    """Funnel limits in long form for drawing: ``x``, ``limit``, ``line``, ``side``.

    Accepts the long table of :func:`publicservices.stats.build_funnel` (``limit`` naming
    ``lower_998`` ... ``upper_998``, ``baseline``; ``precision``; ``value``) or a wide table
    with one column per limit (``lower_95``, ``upper_998``, ``lower_998_od`` ...; a suffix
    marks overdispersed limits). Each line is thinned to about ``n`` points (exact rows of
    the input, never interpolated); the baseline is left out (it is drawn as a rule).

    Example:
        >>> import polars as pl
        >>> lim = pl.DataFrame({"precision": [10.0, 100.0], "lower_95": [1.0, 2.0], "upper_95": [9.0, 8.0]})
        >>> limit_lines(lim).select("line", "side").unique().sort("side").rows()
        [('95% limits', 'lower'), ('95% limits', 'upper')]
    """
    if x not in limits.columns:
        x = first_present(limits, ("precision", "denominator", "population")) or x
    if "limit" in limits.columns and "value" in limits.columns:
        # long form: pivot-free, one line per distinct limit name, split in one pass
        lines = limits.select(x, pl.col("limit").cast(pl.String), "value").partition_by(
            "limit", as_dict=True, maintain_order=True
        )
        parts_in = [
            (name, table.select(x, pl.col("value").alias(name)))
            for (name,), table in lines.items()
            if name is not None and name != "baseline"
        ]
    else:
        parts_in = [(c, limits.select(x, c)) for c in limits.columns if _LIMIT.match(c)]
    parts = []
    for name, table in parts_in:
        match = _LIMIT.match(name)
        if not match:
            continue
        side, digits, suffix = match.groups()
        part = thin(table.filter(pl.col(name).is_not_null()), x, n)
        parts.append(
            part.select(
                pl.col(x).cast(pl.Float64).alias("x"),
                pl.col(name).cast(pl.Float64).alias("limit"),
                pl.lit(_level_label(digits, bool(suffix) or overdispersed)).alias("line"),
                pl.lit(side).alias("side"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"x": pl.Float64, "limit": pl.Float64, "line": pl.String, "side": pl.String})
    return pl.concat(parts)


def funnel_plot(
    points: pl.DataFrame,
    limits: pl.DataFrame | None = None,
    *,
    indicator: Indicator | None = None,
    overdispersed_limits: pl.DataFrame | None = None,
    x: str | None = None,
    y: str = "value",
    category: str | None = None,
    benchmark: float | None = None,
    label: str = "area_name",
    x_title: str | None = None,
    log_x: bool | None = None,
    subtitle: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> alt.LayerChart:
    """Funnel plot with 95% and 99.8% limits (and overdispersed limits when supplied).

    Method: each unit (area, trust, practice) is a point at its size and value; control
    limits around the benchmark narrow as size grows, so a small unit needs a larger
    difference to fall outside them (Spiegelhalter 2005). Points are coloured by the
    comparison category, polarity-aware (better blue, worse vermillion, lighter shades for
    outside 95% only; blues when the indicator has no polarity). Only the drawn columns are
    embedded and each limit line is thinned to about 100 points, so 7,000 GP practices make a
    spec of a few hundred kB and never meet Altair's max-rows limit.

    Parameters:
        points: one row per unit with a size column (``precision`` as returned by
            :func:`publicservices.stats.build_funnel`, or ``denominator``) and ``y``
            (``value``); optional ``area_code``, ``area_name`` and a category column.
        limits: the limit curves: the long ``Funnel.limits`` table, or a wide table of
            ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` by size.
        overdispersed_limits: limits widened for overdispersion, drawn beside the plain ones; the
            points' comparison category must then come from these (as
            :func:`publicservices.funnel_check` does), and the description says so.
        indicator: the :class:`~publicservices.indicators.Indicator`, for title, unit, polarity.
        x: the size column (default ``precision``, else ``denominator``).
        category: the category column; default ``comparison`` (the funnel's better/similar/
            worse with the level), else ``comparison_998`` or ``comparison_95``.
        benchmark: the centre line; default the ``baseline``/``benchmark_value`` column.
        label: column naming each unit in tooltips (falls back to ``area_code``).
        log_x: log-scale x axis; default when sizes span more than two orders of magnitude.

    Example:
        >>> import polars as pl
        >>> pts = pl.DataFrame({"area_code": ["A", "B", "C"], "denominator": [50.0, 200.0, 800.0],
        ...                     "value": [30.0, 12.0, 10.0], "comparison": ["worse (99.8%)", "similar", "similar"]})
        >>> lim = pl.DataFrame({"denominator": [50.0, 200.0, 800.0], "lower_998": [0.0, 3.0, 6.0],
        ...                     "upper_998": [25.0, 18.0, 14.0]})
        >>> chart = funnel_plot(pts, lim, benchmark=10.0)
        >>> chart.to_dict()["description"][:40]
        'Funnel plot of value against denominator'
    """
    alt = vega()

    x = x or first_present(points, ("precision", "denominator")) or "denominator"
    require(points, [x, y], "funnel_plot", f"pass one row per unit with {x!r} (size) and {y!r} columns.")
    group = one_group(points, "funnel_plot")
    polarity = polarity_of(points, indicator)
    category = category or first_present(points, CATEGORY_COLUMNS)
    frame = area_labels(points.filter(pl.col(x).is_not_null() & pl.col(y).is_not_null()), label)
    if category:
        frame = frame.with_columns(pl.col(category).cast(pl.String).fill_null("not compared"))
    dropped = points.height - frame.height
    if x_title is None:
        x_title = "size (denominator)" if x == "precision" else x.replace("_", " ")
    y_title = value_label(indicator)

    if benchmark is None:
        if limits is not None and "limit" in limits.columns:
            base = limits.filter(pl.col("limit").cast(pl.String) == "baseline").get_column("value").drop_nulls()
            benchmark = float(base[0]) if base.len() else None
        if benchmark is None:
            column = first_present(points, ("baseline", "benchmark_value", "benchmark"))
            if column and points.get_column(column).drop_nulls().len():
                benchmark = float(points.get_column(column).drop_nulls()[0])

    xs = frame.get_column(x).cast(pl.Float64)
    if log_x is None:
        positive = xs.filter(xs > 0)
        log_x = bool(positive.len() == xs.len() and positive.len() and positive.max() / positive.min() > 100)  # type: ignore[operator]
    x_scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)

    many = frame.height > 300
    tooltips = [
        alt.Tooltip("_label:N", title="area"),
        alt.Tooltip(f"{y}:Q", title=y_title, format=",.3~f"),
        alt.Tooltip(f"{x}:Q", title=x_title, format=",.0f"),
    ]
    if category:
        tooltips.append(alt.Tooltip(f"{category}:N", title="compared with benchmark"))
        colour: Any = alt.Color(
            f"{category}:N",
            scale=category_scale(polarity, frame.get_column(category).unique().to_list()),
            legend=alt.Legend(title="compared with benchmark", orient="bottom", columns=4),
        )
    else:
        colour = alt.value(PALETTE["neutral"])
    dots = (
        alt.Chart(
            inline(
                frame,
                ["_label", x, y, *([category] if category else []), *(["area_code"] if "area_code" in frame.columns else [])],
            )
        )
        .mark_circle(size=14 if many else 45, opacity=0.55 if many else 0.85)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=x_scale),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=colour,
            tooltip=tooltips,
        )
    )
    layers: list[Any] = []
    line_parts = []
    if limits is not None:
        line_parts.append(limit_lines(limits, x))
    if overdispersed_limits is not None:
        line_parts.append(limit_lines(overdispersed_limits, x, overdispersed=True))
    lines = (
        pl.concat(line_parts)
        if line_parts
        else pl.DataFrame(schema={"x": pl.Float64, "limit": pl.Float64, "line": pl.String, "side": pl.String})
    )
    # Keep the limit curves to the plotted range: a curve far beyond the points would
    # stretch the axis and squash the units.
    if lines.height and frame.height:
        lines = lines.filter(pl.col("x").is_between(xs.min() * 0.8, xs.max() * 1.2))  # type: ignore[operator]
    names = [n for n in _LINE_ORDER if n in set(lines.get_column("line").to_list())]
    if lines.height:
        layers.append(
            alt.Chart(inline(lines, ["x", "limit", "line", "side"]))
            .mark_line(color=PALETTE["benchmark"], strokeWidth=1.2, clip=True)
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                y=alt.Y("limit:Q"),
                strokeDash=alt.StrokeDash(
                    "line:N",
                    scale=alt.Scale(domain=names, range=[_DASH[n] for n in names]),
                    legend=alt.Legend(title="control limits", orient="bottom"),
                ),
                detail="side:N",
                tooltip=[
                    alt.Tooltip("line:N", title="line"),
                    alt.Tooltip("limit:Q", title="limit", format=",.3~f"),
                    alt.Tooltip("x:Q", title=x_title, format=",.0f"),
                ],
            )
        )
    if benchmark is not None:
        layers.append(
            alt.Chart(alt.InlineData(values=[{"benchmark": benchmark}]))
            .mark_rule(color=PALETTE["benchmark"], strokeWidth=1)
            .encode(y="benchmark:Q", tooltip=[alt.Tooltip("benchmark:Q", title="benchmark", format=",.3~f")])
        )
    layers.append(dots)

    noun = plural(frame.height, "unit")
    name = indicator.title if indicator is not None else y
    parts = [f"Funnel plot of {name} against {x_title} for {noun}."]
    if benchmark is not None:
        parts.append(f"The centre line is the benchmark, {fmt(benchmark, indicator)}.")
    if names:
        parts.append(f"Control limits drawn: {join_words(names)}.")
    if category:
        parts.append(f"Compared with the benchmark: {counts_sentence(frame, category)}.")
        if overdispersed_limits is not None:
            parts.append(
                "Colours compare each unit with the wider limits, which allow for variation between units "
                "beyond chance; the narrower limits, for chance alone, are drawn for reference."
            )
    if dropped:
        parts.append(f"{plural(dropped, 'unit')} without a value or size are not drawn.")
    chart = alt.layer(*layers).properties(
        title=chart_title(
            indicator,
            f"Funnel plot of {y}",
            subtitle or "points outside the limits differ from the benchmark by more than chance",
            group=group,
        ),
        width=width,
        height=height,
    )
    return finish(chart, kind="funnel", description=" ".join(parts), indicator=indicator, extra={"units": frame.height})


_DASH = {
    "99.8% limits": [1, 0],
    "95% limits": [5, 3],
    "99.8% limits (overdispersed)": [8, 2, 2, 2],
    "95% limits (overdispersed)": [2, 2],
}
