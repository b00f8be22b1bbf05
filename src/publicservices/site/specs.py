"""Chart specs for the site: library charts as Vega-Lite JSON, and per-area templates.

Indicator pages draw the library's own charts (:mod:`publicservices.charts`), one spec each.
Area pages are many (7,000 GP practices), so their charts are two *templates* stored once in
``charts/areas.js``; each area page passes only its own rows inline (``data-inline``), and
the loader fills the template's named data set with them. The rows for every area are built
in one vectorised pass, never one chart object per area.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from publicservices.display import PALETTE, number_expr
from publicservices.site.safety import js_json

JUDGED = ("better", "similar", "worse", "higher", "lower", "not compared")
LIGHT, DARK = "#D5D5D5", "#A8A8A8"


def to_spec(chart: Any) -> dict[str, Any]:
    """An Altair chart as a Vega-Lite dict (no ``$schema``: nothing for a browser to fetch)."""
    from publicservices.charts import chart_spec

    spec = chart_spec(chart)
    spec.pop("$schema", None)
    return spec


def name_data(spec: Any, url: str, name: str) -> Any:
    """Replace every ``{"url": url, ...}`` data reference with ``{"name": name, ...}``."""
    if isinstance(spec, dict):
        if spec.get("url") == url:
            return {"name": name, **{k: v for k, v in spec.items() if k != "url"}}
        return {k: name_data(v, url, name) for k, v in spec.items()}
    if isinstance(spec, list):
        return [name_data(v, url, name) for v in spec]
    return spec


class ChartScripts:
    """Chart specs grouped by the script file that carries them."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, script: str, key: str, spec: Mapping[str, Any]) -> str:
        self.files.setdefault(script, {})[key] = spec
        return key

    def render(self, script: str) -> str:
        lines = [
            f"(window.PS_SPECS = window.PS_SPECS || {{}})[{js_json(key)}] = {js_json(spec)};"
            for key, spec in sorted(self.files[script].items())
        ]
        return "\n".join(lines) + "\n"


def data_script(name: str, data: Any) -> str:
    """A script that registers a shared data set by name (read by the chart loader)."""
    return f"(window.PS_DATA = window.PS_DATA || {{}})[{js_json(name)}] = {js_json(data)};\n"


def _colours(words: tuple[str, ...] = JUDGED) -> dict[str, Any]:
    return {"domain": list(words), "range": [PALETTE[w] for w in words]}


def spine_rows(latest: pl.DataFrame, titles: Mapping[str, str], units: Mapping[str, str]) -> pl.DataFrame:
    """Every area's spine-chart rows at once: the spread of all areas and the area's own value.

    Method: as :func:`publicservices.charts.spine_frame` (Fingertips area profiles): bars from
    the worst area to the best through the quartiles, the benchmark at the centre, better to
    the right.

    Rows come in the order of ``titles`` (the site passes its indicators in page order:
    sector, then indicator id, as the area page's table lists them), never alphabetically by
    title; indicators missing from ``titles`` follow, by id.
    """
    from publicservices.charts.spine import spine_spread, spine_x

    spread = spine_spread(latest, pl.col("benchmark_value").drop_nulls().first(), midrange=True)
    rows = (
        latest.select(
            "area_code",
            "indicator_id",
            pl.col("value").alias("area_value"),
            pl.col("comparison_95").cast(pl.String).fill_null("not compared").alias("category"),
        )
        .join(spread.drop("polarity"), on="indicator_id", how="inner")
        .join(latest.select("indicator_id", "polarity").unique("indicator_id"), on="indicator_id")
    )

    def scaled(c: str) -> pl.Expr:
        return spine_x(c).round(4)

    unit = pl.col("indicator_id").replace_strict(dict(units), default="", return_dtype=pl.String)
    order = {ind_id: i for i, ind_id in enumerate(titles)}
    position = pl.col("indicator_id").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    rows = rows.sort("area_code", position, "indicator_id")
    return rows.select(
        "area_code",
        "indicator_id",
        pl.col("indicator_id")
        .replace_strict(dict(titles), default=pl.col("indicator_id"), return_dtype=pl.String)
        .alias("title"),
        *(scaled(c).alias(f"x_{c}") for c in ("worst", "q25", "q75", "best")),
        scaled("area_value").alias("x_area"),
        number_expr(pl.col("area_value"), unit).alias("area_text"),
        number_expr(pl.col("benchmark"), unit).alias("benchmark_text"),
        number_expr(pl.col("worst"), unit).alias("worst_text"),
        number_expr(pl.col("best"), unit).alias("best_text"),
        "category",
    )


def spine_template() -> dict[str, Any]:
    """The spine chart, drawn from the named data set ``spine`` (one row per indicator)."""
    x = {"type": "quantitative", "scale": {"domain": [0, 1], "nice": False}, "axis": None}
    tips = [
        {"field": "title", "title": "indicator"},
        {"field": "area_text", "title": "this area"},
        {"field": "benchmark_text", "title": "benchmark"},
        {"field": "worst_text", "title": "worst area"},
        {"field": "best_text", "title": "best area"},
        {"field": "category", "title": "compared with benchmark"},
    ]

    def bar(start: str, end: str, colour: str) -> dict[str, Any]:
        return {
            "mark": {"type": "bar", "color": colour, "height": 12},
            "encoding": {"x": {"field": start, **x}, "x2": {"field": end}, "tooltip": tips},
        }

    return {
        "data": {"name": "spine"},
        "width": 420,
        "height": {"step": 26},
        "title": {"text": "Against all areas", "subtitle": "worst ← → best; centre line = benchmark", "anchor": "start"},
        "encoding": {"y": {"field": "title", "type": "nominal", "title": None, "sort": None, "axis": {"labelLimit": 260}}},
        "layer": [
            bar("x_worst", "x_q25", LIGHT),
            bar("x_q25", "x_q75", DARK),
            bar("x_q75", "x_best", LIGHT),
            # the benchmark: a short vertical tick at the centre of each row (a rule would take the
            # shared y and run from the left edge to the centre, looking like a bar)
            {
                "mark": {"type": "tick", "color": PALETTE["benchmark"], "thickness": 2, "size": 20, "opacity": 1},
                "encoding": {"x": {"datum": 0.5, **x}, "tooltip": [tips[0], tips[2]]},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90, "stroke": "white", "strokeWidth": 0.8, "opacity": 1},
                "encoding": {
                    "x": {"field": "x_area", **x},
                    "tooltip": tips,
                    "color": {
                        "field": "category",
                        "type": "nominal",
                        "scale": _colours(),
                        "legend": {"title": "compared with benchmark", "orient": "bottom"},
                    },
                },
            },
        ],
    }


# A period axis labelled with the period labels themselves ("2019", "2019/20", "2024 Q1"), each
# once, in time order: the x field is the period's start date (ISO text, which sorts in time
# order) joined to its label, and the axis shows the part after the "|". A time axis would
# label financial years by their first calendar year and repeat a year across its ticks when
# there are few periods.
PERIOD_KEY = [{"calculate": "(datum.start || '') + '|' + datum.period", "as": "_period"}]
PERIOD_LABEL = "slice(datum.value, indexof(datum.value, '|') + 1)"


def period_x(**axis: Any) -> dict[str, Any]:
    """The x encoding of a chart over periods (with :data:`PERIOD_KEY` among its transforms)."""
    return {
        "field": "_period",
        "type": "ordinal",
        "sort": "ascending",
        "title": None,
        "axis": {"labelExpr": PERIOD_LABEL, "labelAngle": 0, "labelOverlap": "greedy", **axis},
    }


def trend_rows(results: pl.DataFrame, titles: Mapping[str, str]) -> pl.DataFrame:
    """Every area's trend rows at once: value, 95% interval and benchmark per indicator and period.

    Indicators come in the order of ``titles`` (the site's page order), then by id; periods in
    time order.
    """
    order = {ind_id: i for i, ind_id in enumerate(titles)}
    position = pl.col("indicator_id").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    return (
        results.select(
            "area_code",
            pl.col("indicator_id")
            .replace_strict(dict(titles), default=pl.col("indicator_id"), return_dtype=pl.String)
            .alias("title"),
            pl.col("period").cast(pl.String),
            pl.col("period_start").cast(pl.String).alias("start"),
            *(pl.col(c).round(4).alias(c) for c in ("value", "lower_95", "upper_95", "benchmark_value")),
            position.alias("_order"),
            pl.col("indicator_id").alias("_id"),
        )
        .sort("area_code", "_order", "_id", "start")
        .drop("_order", "_id")
    )


def trend_template() -> dict[str, Any]:
    """Small multiples of an area's trends (named data set ``trend``): value, interval, benchmark.

    One panel per indicator, in the order of the rows (page order); each panel's x axis is
    its own periods, labelled as the data label them (see :func:`period_x`).
    """
    x = period_x()
    tips = [
        {"field": "title", "title": "indicator"},
        {"field": "period"},
        {"field": "value", "format": ",.3~f", "title": "this area"},
        {"field": "lower_95", "format": ",.3~f", "title": "95% lower"},
        {"field": "upper_95", "format": ",.3~f", "title": "95% upper"},
        {"field": "benchmark_value", "format": ",.3~f", "title": "benchmark"},
    ]
    return {
        "data": {"name": "trend"},
        # panels in the order of the rows (page order): a facet would otherwise sort its titles
        "transform": [{"window": [{"op": "row_number", "as": "_row"}]}, *PERIOD_KEY],
        "facet": {
            "field": "title",
            "type": "nominal",
            "title": None,
            "sort": {"field": "_row", "op": "min"},
            "header": {"labelLimit": 240, "labelAnchor": "start"},
        },
        "columns": 3,
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
        "spec": {
            "width": 190,
            "height": 110,
            "layer": [
                {
                    "mark": {"type": "area", "opacity": 0.25, "color": PALETTE["neutral"]},
                    "encoding": {
                        "x": x,
                        "y": {"field": "lower_95", "type": "quantitative", "title": None, "scale": {"zero": False}},
                        "y2": {"field": "upper_95"},
                    },
                },
                {
                    "mark": {"type": "line", "color": PALETTE["benchmark"], "strokeDash": [4, 3]},
                    "encoding": {"x": x, "y": {"field": "benchmark_value", "type": "quantitative"}},
                },
                {
                    "mark": {"type": "line", "point": True, "color": PALETTE["neutral"]},
                    "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"}, "tooltip": tips},
                },
            ],
        },
    }


def spread_rows(results: pl.DataFrame) -> pl.DataFrame:
    """Per period: the 10th, 25th, 50th, 75th and 90th percentiles of areas, and the benchmark."""
    v = pl.col("value")
    return (
        results.filter(v.is_not_null())
        .group_by("period", "period_start")
        .agg(
            *(v.quantile(q, interpolation="linear").round(4).alias(f"p{int(q * 100)}") for q in (0.1, 0.25, 0.5, 0.75, 0.9)),
            pl.col("benchmark_value").drop_nulls().first().round(4).alias("benchmark"),
            pl.len().alias("areas"),
        )
        .sort("period_start")
        .with_columns(pl.col("period_start").cast(pl.String).alias("start"))
    )


def spread_spec(rows: pl.DataFrame, title: str, unit: str) -> dict[str, Any]:
    """The spread of areas over time: median, middle half, middle 80% and the benchmark."""
    x = period_x()
    y_title = "per cent" if unit == "%" else unit or "value"
    tips = [
        {"field": "period"},
        {"field": "p50", "title": "median area", "format": ",.3~f"},
        {"field": "p25", "title": "25th percentile", "format": ",.3~f"},
        {"field": "p75", "title": "75th percentile", "format": ",.3~f"},
        {"field": "benchmark", "format": ",.3~f"},
        {"field": "areas"},
    ]
    data = rows.select("period", "start", "p10", "p25", "p50", "p75", "p90", "benchmark", "areas").to_dicts()
    return {
        "data": {"values": data},
        "transform": PERIOD_KEY,
        "width": 520,
        "height": 280,
        "title": {
            "text": title,
            "subtitle": "median area (line), middle half and middle 80% of areas (bands), benchmark (dashed)",
            "anchor": "start",
        },
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.18, "color": PALETTE["neutral"]},
                "encoding": {
                    "x": x,
                    "y": {"field": "p10", "type": "quantitative", "title": y_title, "scale": {"zero": False}},
                    "y2": {"field": "p90"},
                },
            },
            {
                "mark": {"type": "area", "opacity": 0.3, "color": PALETTE["neutral"]},
                "encoding": {"x": x, "y": {"field": "p25", "type": "quantitative"}, "y2": {"field": "p75"}},
            },
            {
                "mark": {"type": "line", "color": PALETTE["benchmark"], "strokeDash": [4, 3]},
                "encoding": {"x": x, "y": {"field": "benchmark", "type": "quantitative"}},
            },
            {
                "mark": {"type": "line", "point": True, "color": PALETTE["neutral"]},
                "encoding": {"x": x, "y": {"field": "p50", "type": "quantitative"}, "tooltip": tips},
            },
        ],
    }
