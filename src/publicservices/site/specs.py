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
from publicservices.site.markup import rel
from publicservices.site.safety import js_json

JUDGED = ("better", "similar", "worse", "higher", "lower", "not compared")
LIGHT, DARK = "#D5D5D5", "#A8A8A8"


# Words a statistician uses in the library's charts, and the plain words the public site shows in
# their place (tooltips, legends, descriptions); the methodology page explains both.
PUBLIC_WORDS = {
    "(overdispersed)": "(allowing for extra variation)",
    "efficiency (DEA)": "efficiency (1 = best value)",
    "(I², %)": "(%)",
}


def public_words(node: Any) -> Any:
    """``node`` (a spec, or part of one) with every string's :data:`PUBLIC_WORDS` replaced.

    >>> public_words({"title": "efficiency (DEA)", "domain": ["95% limits (overdispersed)"]})
    {'title': 'efficiency (1 = best value)', 'domain': ['95% limits (allowing for extra variation)']}
    """
    if isinstance(node, str):
        for old, new in PUBLIC_WORDS.items():
            if old in node:
                node = node.replace(old, new)
        return node
    if isinstance(node, dict):
        return {k: public_words(v) for k, v in node.items()}
    if isinstance(node, list):
        return [public_words(v) for v in node]
    return node


def to_spec(chart: Any) -> dict[str, Any]:
    """An Altair chart as a Vega-Lite dict (no ``$schema``: nothing for a browser to fetch).

    The public site's words (:data:`PUBLIC_WORDS`) replace the statistician's when the spec is
    written (:meth:`ChartScripts.render`): once on its JSON text, not by walking every row."""
    from publicservices.charts import chart_spec

    spec = chart_spec(chart)
    spec.pop("$schema", None)
    return spec


# -- area marks: links to area pages and "highlight my area" ----------------------------------------

HIGHLIGHT = "ps_highlight"  # the signal ps-explore.js sets to the highlighted area's code ("" for none)
LINKED_MARKS = ("point", "circle", "square", "bar", "geoshape", "tick", "rect")


def highlight_test(prefix: str = "") -> str:
    """The Vega expression true for the highlighted area's marks."""
    return f"{HIGHLIGHT} !== '' && datum{'.properties' if prefix else ''}.area_code === {HIGHLIGHT}"


def _rows_of(data: Any, datasets: Mapping[str, Any]) -> list[Any] | None:
    if not isinstance(data, dict):
        return None
    rows = data.get("values")
    if rows is None and isinstance(data.get("name"), str):
        rows = datasets.get(data["name"])
    if isinstance(rows, dict):  # a FeatureCollection
        rows = rows.get("features")
    return rows if isinstance(rows, list) else None


def _area_prefix(rows: list[Any] | None) -> str | None:
    """ "" when the rows carry ``area_code``, "properties." when their GeoJSON properties do, else None."""
    first = rows[0] if rows else None
    if not isinstance(first, dict):
        return None
    if "area_code" in first:
        return ""
    if isinstance(first.get("properties"), dict) and "area_code" in first["properties"]:
        return "properties."
    return None


def _mark_type(mark: Any) -> str:
    return mark.get("type", "") if isinstance(mark, dict) else str(mark or "")


def _link_view(view: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A unit view with an ``href`` to each area's page and a stroke for the highlighted area."""
    mark = view["mark"]
    encoding = dict(view.get("encoding") or {})
    encoding.setdefault("href", {"field": f"{prefix}_href", "type": "nominal"})
    own = mark if isinstance(mark, dict) else {}
    test = highlight_test(prefix)
    if "stroke" not in encoding:
        encoding["stroke"] = {"condition": {"test": test, "value": "currentColor"}, "value": own.get("stroke")}
        encoding["strokeWidth"] = {"condition": {"test": test, "value": 3}, "value": own.get("strokeWidth", 0)}
        if "strokeOpacity" not in own:
            encoding["strokeOpacity"] = {"value": 1}
    return {**view, "encoding": encoding, "mark": {**own, "type": _mark_type(mark), "cursor": "pointer"}}


def link_areas(spec: dict[str, Any], page: str, pages: Mapping[str, str]) -> dict[str, Any]:
    """``spec`` with its area marks linked to the areas' pages and ready to highlight an area.

    Rows that carry an ``area_code`` (or GeoJSON features whose properties do) get ``_href``, the
    area's page relative to ``page`` (``pages`` maps a code to its page from the site's root; an
    area without a page gets no link). Point, bar and shape marks drawn from such rows get an
    ``href`` encoding (Vega-Lite opens it on a click) and a stroke when their area is the one the
    reader highlights (signal :data:`HIGHLIGHT`, declared at the top). The data tables of the
    page (and each chart's own table) carry the same links for the keyboard.

    >>> spec = {"data": {"values": [{"area_code": "A", "v": 1}]}, "mark": "point"}
    >>> out = link_areas(spec, "indicators/x.md", {"A": "areas/a.html"})
    >>> out["data"]["values"][0]["_href"], out["encoding"]["href"], out["params"]
    ('../areas/a.html', {'field': '_href', 'type': 'nominal'}, [{'name': 'ps_highlight', 'value': ''}])
    """
    datasets = dict(spec.get("datasets") or {})
    linked = {"any": False}

    def href(code: Any) -> str | None:
        target = pages.get(str(code))
        return rel(page, target) if target else None

    def add(rows: list[Any], prefix: str) -> list[Any]:
        if prefix:
            return [
                {**r, "properties": {**r["properties"], "_href": href(r["properties"].get("area_code"))}}
                if isinstance(r, dict) and isinstance(r.get("properties"), dict)
                else r
                for r in rows
            ]
        return [{**r, "_href": href(r.get("area_code"))} if isinstance(r, dict) else r for r in rows]

    done: set[str] = set()
    for name, rows in list(datasets.items()):
        held = rows.get("features") if isinstance(rows, dict) else rows
        prefix = _area_prefix(held) if isinstance(held, list) else None
        if prefix is not None and isinstance(held, list):
            new = add(held, prefix)
            datasets[name] = {**rows, "features": new} if isinstance(rows, dict) else new
            done.add(name)

    def walk(node: Any, data: Any) -> Any:
        if isinstance(node, list):
            return [walk(n, data) for n in node]
        if not isinstance(node, dict):
            return node
        out = dict(node)
        own = node.get("data")
        if isinstance(own, dict) and isinstance(own.get("values"), list) and _area_prefix(own["values"]) is not None:
            out["data"] = {**own, "values": add(own["values"], _area_prefix(own["values"]) or "")}
        here = out.get("data", data)
        for key in ("layer", "hconcat", "vconcat", "concat"):
            if key in out:
                out[key] = [walk(child, here) for child in out[key]]
        if isinstance(out.get("spec"), dict):
            out["spec"] = walk(out["spec"], here)
        looked_up = None  # a map joins its rows to the boundaries by a lookup: link through it
        if isinstance(out.get("transform"), list):
            steps = []
            for step in out["transform"]:
                source = step.get("from") if isinstance(step, dict) and "lookup" in step else None
                rows = _rows_of(source.get("data"), datasets) if isinstance(source, dict) else None
                if isinstance(source, dict) and _area_prefix(rows) == "" and rows is not None:
                    data_ = source["data"]
                    if "values" in data_:
                        data_ = {**data_, "values": add(rows, "")}
                    fields = [
                        *(source.get("fields") or []),
                        *(f for f in ("area_code", "_href") if f not in (source.get("fields") or [])),
                    ]
                    step = {**step, "from": {**source, "data": data_, "fields": fields}}
                    looked_up = ""
                steps.append(step)
            out["transform"] = steps
        if "mark" in out and _mark_type(out["mark"]) in LINKED_MARKS:
            prefix = _area_prefix(_rows_of(here, datasets))
            prefix = looked_up if prefix is None else prefix
            if prefix is not None:
                linked["any"] = True
                out = _link_view(out, prefix)
        return out

    result = walk(spec, spec.get("data"))
    if datasets:
        result["datasets"] = datasets
    if linked["any"] and not any(p.get("name") == HIGHLIGHT for p in result.get("params", [])):
        result["params"] = [*result.get("params", []), {"name": HIGHLIGHT, "value": ""}]
    return result


def explore_spec(title: str, unit: str, polarity: str) -> dict[str, Any]:
    """Every area's value in one period, in order (best first where there is a better), with its 95% interval
    and the benchmark: the chart view of an indicator's "Explore" section, drawn from the named data set
    ``explore``, whose rows ``ps-explore.js`` makes for the chosen period (``area_code``, ``_label``,
    ``_href``, ``_rank``, ``value``, ``lower_95``, ``upper_95``, ``comparison``, ``benchmark``, ``period``).
    The highlighted area is ringed and named.
    """
    y_title = "per cent" if unit.strip() == "%" else unit.strip() or "value"
    order = {"higher_is_better": "best (highest) first", "lower_is_better": "best (lowest) first"}.get(polarity, "highest first")
    x = {
        "field": "_rank",
        "type": "quantitative",
        "title": f"areas in order of value, {order}",
        "axis": {"labels": False, "ticks": False, "grid": False},
    }
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False}}
    tips = [
        {"field": "_label", "type": "nominal", "title": "area"},
        {"field": "value", "type": "quantitative", "title": y_title, "format": ",.3~f"},
        {"field": "lower_95", "type": "quantitative", "title": "95% lower", "format": ",.3~f"},
        {"field": "upper_95", "type": "quantitative", "title": "95% upper", "format": ",.3~f"},
        {"field": "comparison", "type": "nominal", "title": "compared with benchmark"},
        {"field": "period", "type": "nominal", "title": "period"},
    ]
    test = highlight_test()
    return {
        "data": {"name": "explore"},
        "params": [{"name": HIGHLIGHT, "value": ""}],
        "width": 520,
        "height": 280,
        "title": {
            "text": title,
            "subtitle": "each area's value (dot) and 95% interval (line); benchmark dashed",
            "anchor": "start",
        },
        "layer": [
            {
                "mark": {"type": "rule", "color": PALETTE["neutral"], "opacity": 0.5},
                "encoding": {"x": x, "y": {"field": "lower_95", "type": "quantitative"}, "y2": {"field": "upper_95"}},
            },
            {
                "mark": {"type": "rule", "color": PALETTE["benchmark"], "strokeDash": [4, 3]},
                "encoding": {"y": {"field": "benchmark", "type": "quantitative", "aggregate": "max"}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 40, "opacity": 0.9, "cursor": "pointer"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "comparison",
                        "type": "nominal",
                        "scale": _colours(),
                        "legend": {"title": "compared with benchmark", "orient": "bottom"},
                    },
                    "stroke": {"condition": {"test": test, "value": "currentColor"}, "value": None},
                    "strokeWidth": {"condition": {"test": test, "value": 3}, "value": 0},
                    "size": {"condition": {"test": test, "value": 140}, "value": 40},
                    "href": {"field": "_href", "type": "nominal"},
                    "tooltip": tips,
                },
            },
            {
                "transform": [{"filter": test}],
                "mark": {"type": "text", "dy": -14, "fontWeight": "bold", "align": "center"},
                "encoding": {"x": x, "y": y, "text": {"field": "_label"}},
            },
        ],
    }


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
            # no word of PUBLIC_WORDS holds a character JSON escapes, so replacing in the text is
            # replacing in each string of the spec
            f"(window.PS_SPECS = window.PS_SPECS || {{}})[{js_json(key)}] = {public_words(js_json(spec))};"
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
        # each row's dot opens its indicator's page (the area pages sit one folder down)
        pl.concat_str(pl.lit("../indicators/"), pl.col("indicator_id"), pl.lit(".html")).alias("_href"),
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
                "mark": {
                    "type": "point",
                    "filled": True,
                    "size": 90,
                    "stroke": "white",
                    "strokeWidth": 0.8,
                    "opacity": 1,
                    "cursor": "pointer",
                },
                "encoding": {
                    "x": {"field": "x_area", **x},
                    "href": {"field": "_href", "type": "nominal"},
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
