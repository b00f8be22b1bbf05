"""Spine chart: one area against the range of all areas, for every indicator.

The layout of the Fingertips area profiles (OHID): each indicator is a row; the benchmark
sits at the centre; grey bars run from the worst area to the 25th percentile, the
inter-quartile range, and the 75th percentile to the best; the chosen area is a dot coloured
by its comparison with the benchmark. Better is always to the right, so the reader never has
to remember which direction is good.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from publicservices.charts._common import category_scale, finish, first_present, inline, one_group, require, vega
from publicservices.display import PALETTE, format_number, plural

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["spine_chart", "spine_frame"]

CATEGORY_COLUMNS = ("comparison_95", "comparison", "comparison_998")


def spine_frame(
    frame: pl.DataFrame,
    area_code: str,
    indicators: Mapping[str, Indicator] | None = None,
    *,
    category: str | None = None,
) -> pl.DataFrame:
    """The drawing table of a spine chart: one row per indicator.

    The latest period of each indicator is used, one row per indicator in the order of
    ``indicators`` (a Dataset's definitions come by sector, then id: the order of the site's
    pages), those not in ``indicators`` after them by id. ``worst``, ``q25``, ``q75``, ``best`` are
    the range and quartiles of all areas' values (the benchmark area itself excluded), put in
    order of polarity; ``x_*`` columns place them on a 0-1 scale with the benchmark at 0.5
    and better to the right. These are the drawn extents of the bars, as a box plot draws
    its quartiles; no statistic is estimated here.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 4, "area_code": list("ABCD"), "period": ["1"] * 4,
        ...     "value": [1.0, 2.0, 3.0, 4.0], "benchmark_value": [2.5] * 4, "polarity": ["lower_is_better"] * 4})
        >>> spine_frame(f, "A").select("area_value", "worst", "best", "x_area").row(0)
        (1.0, 4.0, 1.0, 1.0)
    """
    require(
        frame,
        ["indicator_id", "area_code", "value"],
        "spine_chart",
        "pass an outcomes frame (publicservices.stats.assess_outcomes).",
    )
    indicators = dict(indicators or {})
    if "period_start" in frame.columns:
        latest = frame.group_by("indicator_id").agg(pl.col("period_start").max().alias("_latest"))
        frame = frame.join(latest, on="indicator_id").filter(pl.col("period_start") == pl.col("_latest")).drop("_latest")
    one_group(frame, "spine_chart", by=["indicator_id"])  # one comparable set and breakdown per indicator
    category = category or first_present(frame, CATEGORY_COLUMNS)
    if "polarity" not in frame.columns:
        pol = {i: ind.polarity for i, ind in indicators.items()}
        frame = frame.with_columns(
            pl.col("indicator_id").replace_strict(pol, default="no_judgement", return_dtype=pl.String).alias("polarity")
        )
    peers = frame
    if "benchmark_code" in frame.columns:
        peers = frame.filter(pl.col("benchmark_code").is_null() | (pl.col("area_code") != pl.col("benchmark_code")))
    bench = pl.col("benchmark_value").drop_nulls().first() if "benchmark_value" in frame.columns else pl.col("value").median()
    spread = spine_spread(peers, bench)
    area = frame.filter(pl.col("area_code") == area_code).select(
        "indicator_id",
        pl.col("value").alias("area_value"),
        *([pl.col(category).alias("category")] if category else [pl.lit(None, dtype=pl.String).alias("category")]),
        *([pl.col("period")] if "period" in frame.columns else []),
    )
    out = spread.join(area, on="indicator_id", how="left")
    out = out.with_columns(
        *(spine_x(c).alias(f"x_{c}") for c in ("worst", "q25", "q75", "best")), spine_x("area_value").alias("x_area")
    )
    titles = {i: ind.title for i, ind in indicators.items()}
    units = {i: ind.unit for i, ind in indicators.items()}
    out = out.with_columns(
        pl.col("indicator_id").replace_strict(titles, default=pl.col("indicator_id"), return_dtype=pl.String).alias("title"),
        pl.col("indicator_id").replace_strict(units, default="", return_dtype=pl.String).alias("unit"),
    )
    order = {ind_id: i for i, ind_id in enumerate(indicators)}
    position = pl.col("indicator_id").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    return out.drop("_min", "_q1", "_q3", "_max", "_half").sort(position, "indicator_id")


def spine_spread(frame: pl.DataFrame, benchmark: pl.Expr, *, midrange: bool = False) -> pl.DataFrame:
    """Per indicator, the spread of areas a spine bar draws, oriented so that better is right.

    ``worst``, ``q25``, ``q75``, ``best`` (quartiles by linear interpolation, swapped when lower
    is better), the ``benchmark`` at the centre (``midrange``: the middle of the range where
    there is none) and ``_half``, the distance from the benchmark to the farther extreme, which
    maps to the edge of the bar. One definition for the notebook chart and the site's pages.
    """
    low_good = pl.col("polarity") == "lower_is_better"
    spread = frame.group_by("indicator_id").agg(
        pl.col("polarity").first(),
        pl.col("value").min().alias("_min"),
        pl.col("value").quantile(0.25, interpolation="linear").alias("_q1"),
        pl.col("value").quantile(0.75, interpolation="linear").alias("_q3"),
        pl.col("value").max().alias("_max"),
        pl.col("value").is_not_null().sum().alias("areas"),
        benchmark.alias("benchmark"),
    )
    if midrange:
        spread = spread.with_columns(pl.coalesce("benchmark", (pl.col("_min") + pl.col("_max")) / 2).alias("benchmark"))
    return spread.with_columns(
        pl.when(low_good).then(pl.col("_max")).otherwise(pl.col("_min")).alias("worst"),
        pl.when(low_good).then(pl.col("_q3")).otherwise(pl.col("_q1")).alias("q25"),
        pl.when(low_good).then(pl.col("_q1")).otherwise(pl.col("_q3")).alias("q75"),
        pl.when(low_good).then(pl.col("_min")).otherwise(pl.col("_max")).alias("best"),
        pl.max_horizontal((pl.col("_max") - pl.col("benchmark")).abs(), (pl.col("benchmark") - pl.col("_min")).abs()).alias(
            "_half"
        ),
    )


def spine_x(column: str) -> pl.Expr:
    """Where ``column`` falls on the bar: 0.5 at the benchmark, 0 and 1 at the edges, better to the right."""
    sign = pl.when(pl.col("polarity") == "lower_is_better").then(-1.0).otherwise(1.0)
    return (
        pl.when(pl.col("_half") > 0)
        .then(0.5 + sign * (pl.col(column) - pl.col("benchmark")) / (2 * pl.col("_half")))
        .otherwise(0.5)
    )


def spine_chart(
    frame: pl.DataFrame,
    area_code: str,
    indicators: Mapping[str, Indicator] | None = None,
    *,
    area_name: str | None = None,
    category: str | None = None,
    width: int = 420,
) -> alt.LayerChart:
    """Spine chart of one area against the range of all areas, one row per indicator.

    Method: as Fingertips area profiles (see the module docstring); positions come from
    :func:`spine_frame`. Tooltips carry the real values and units; the x axis is a relative
    scale and is not labelled with numbers.

    Parameters:
        frame: an outcomes frame for many indicators and areas (``indicator_id``,
            ``area_code``, ``value``, ``benchmark_value``, comparison, ``polarity``).
        area_code: the area to show.
        indicators: mapping id -> Indicator for titles, units and polarity.
        area_name: the area's name for the title (default: ``area_name`` column or the code).

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 3, "area_code": list("ABC"), "period": ["1"] * 3,
        ...     "value": [1.0, 2.0, 3.0], "benchmark_value": [2.0] * 3, "comparison_95": ["worse", "similar", "better"],
        ...     "polarity": ["higher_is_better"] * 3})
        >>> spine_chart(f, "A").to_dict()["description"][:34]
        'Spine chart for A on 1 indicator: '
    """
    alt = vega()

    data = spine_frame(frame, area_code, indicators, category=category)
    if area_name is None and "area_name" in frame.columns:
        names = frame.filter(pl.col("area_code") == area_code).get_column("area_name").drop_nulls()
        area_name = names[0] if names.len() else None
    who = area_name or area_code
    data = data.with_columns(
        pl.struct("area_value", "unit")
        .map_elements(lambda r: format_number(r["area_value"], unit=r["unit"]), return_dtype=pl.String)
        .alias("area_text"),
        pl.struct("benchmark", "unit")
        .map_elements(lambda r: format_number(r["benchmark"], unit=r["unit"]), return_dtype=pl.String)
        .alias("benchmark_text"),
        pl.struct("worst", "unit")
        .map_elements(lambda r: format_number(r["worst"], unit=r["unit"]), return_dtype=pl.String)
        .alias("worst_text"),
        pl.struct("best", "unit")
        .map_elements(lambda r: format_number(r["best"], unit=r["unit"]), return_dtype=pl.String)
        .alias("best_text"),
        pl.col("category").fill_null("not compared"),
    )
    columns = [
        "title",
        "x_worst",
        "x_q25",
        "x_q75",
        "x_best",
        "x_area",
        "area_text",
        "benchmark_text",
        "worst_text",
        "best_text",
        "category",
        "areas",
    ]
    source = inline(data, columns)
    y = alt.Y("title:N", title=None, sort=data.get_column("title").to_list(), axis=alt.Axis(labelLimit=260))
    x_scale = alt.Scale(domain=[0, 1], nice=False)
    unjudged = bool((data.get_column("polarity") == "no_judgement").any())
    tips = [
        alt.Tooltip("title:N", title="indicator"),
        alt.Tooltip("area_text:N", title=who),
        alt.Tooltip("benchmark_text:N", title="benchmark"),
        alt.Tooltip("worst_text:N", title="worst area (lowest without a direction)" if unjudged else "worst area"),
        alt.Tooltip("best_text:N", title="best area (highest without a direction)" if unjudged else "best area"),
        alt.Tooltip("category:N", title="compared with benchmark"),
    ]
    base = alt.Chart(source).encode(y=y)
    light, dark = "#D5D5D5", "#A8A8A8"
    layers = [
        base.mark_bar(color=light, height=12).encode(x=alt.X("x_worst:Q", scale=x_scale, axis=None), x2="x_q25:Q", tooltip=tips),
        base.mark_bar(color=dark, height=12).encode(x=alt.X("x_q25:Q", scale=x_scale), x2="x_q75:Q", tooltip=tips),
        base.mark_bar(color=light, height=12).encode(x=alt.X("x_q75:Q", scale=x_scale), x2="x_best:Q", tooltip=tips),
        # the benchmark: a short vertical tick at the centre of each row, never a rule spanning rows
        base.mark_tick(color=PALETTE["benchmark"], thickness=2, size=20, opacity=1).encode(
            x=alt.XDatum(0.5, scale=x_scale), tooltip=[tips[0], tips[2]]
        ),
        base.mark_point(filled=True, size=90, stroke="white", strokeWidth=0.8, opacity=1).encode(
            x=alt.X("x_area:Q", scale=x_scale),
            color=alt.Color(
                "category:N",
                scale=category_scale("no_judgement", data.get_column("category").unique().to_list()),
                legend=alt.Legend(title="compared with benchmark", orient="bottom"),
            ),
            tooltip=tips,
        ),
    ]
    n = data.height
    counts = data.get_column("category").value_counts()
    found = dict(zip(counts.get_column("category").to_list(), counts.get_column("count").to_list(), strict=True))
    judged = ", ".join(f"{found[w]} {w}" for w in ("better", "similar", "worse", "higher", "lower", "not compared") if w in found)
    description = (
        f"Spine chart for {who} on {plural(n, 'indicator')}: each bar runs from the worst area on the left to the "
        f"best on the right{' (from the lowest to the highest for indicators without a direction)' if unjudged else ''}, "
        f"the darker middle is the middle half of areas, and the short line at the centre of each bar is the benchmark. "
        f"{who} compared with the benchmark: {judged}."
    )
    chart = alt.layer(*layers).properties(
        width=width,
        height=max(60, 26 * n),
        title=alt.TitleParams(
            f"{who} against all areas",
            subtitle=[
                "worst ← → best" + (" (lowest ← → highest without a direction)" if unjudged else "") + "; centre line = benchmark"
            ],
            anchor="start",
        ),
    )
    return finish(chart, kind="spine", description=description, extra={"area_code": area_code, "indicators": n})
