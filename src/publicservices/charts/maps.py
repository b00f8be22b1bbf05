"""Maps: a choropleth on user-supplied boundaries, and the demo nation's hex tile map.

Boundaries are TopoJSON or GeoJSON, embedded or referenced by URL. Embedded TopoJSON is cut
down to the one layer drawn, the areas present in the data and the arcs those areas use, so a
705 kB UK file becomes the few hundred kB that England's upper tier needs. A URL keeps the
spec small for a website that serves the boundary file itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import (
    area_labels,
    category_scale,
    chart_title,
    counts_sentence,
    finish,
    first_present,
    fmt,
    inline,
    inline_values,
    json_rows,
    polarity_of,
    require,
    value_label,
    vega,
)
from publicservices.display import join_words, plural
from publicservices.errors import DataError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["choropleth", "hex_map", "subset_topojson", "hex_polygons", "fifths_scale", "fifths_title", "FIFTHS_TITLE"]

CATEGORY_COLUMNS = ("comparison_95", "comparison", "comparison_998")
NO_DATA = "#E0E0E0"
FIFTHS_TITLE = "Fifths of areas by value"
# The legend of a map coloured by comparison, by the comparison column it reads.
COMPARISON_TITLES = {
    "comparison_95": "Compared with the benchmark (95%)",
    "comparison_998": "Compared with the benchmark (99.8%)",
}
# Fifths of areas, lowest value first: a single-hue ramp without polarity; with one, vermillion
# (worst) through a warm grey to blue (best), the colour-blind-safe ends of the better/worse palette.
FIFTHS_COLOURS = {
    "no_judgement": ("#DEEBF7", "#9ECAE1", "#6BAED6", "#3182BD", "#08519C"),
    "judged": ("#D55E00", "#EB9C6B", "#BDB8AD", "#74A9CF", "#0072B2"),
}


def fifths_scale(polarity: str) -> tuple[list[str], list[str]]:
    """Domain (the quintile labels, lowest value first) and colours of a map coloured in fifths.

    >>> fifths_scale("lower_is_better")[0]
    ['Worst', 'Worse', 'Middle', 'Better', 'Best']
    """
    from publicservices.stats.outcomes.quantiles import QUINTILE_LABELS

    labels = QUINTILE_LABELS.get(polarity, QUINTILE_LABELS["no_judgement"])
    colours = FIFTHS_COLOURS["no_judgement" if polarity not in ("higher_is_better", "lower_is_better") else "judged"]
    if polarity == "lower_is_better":  # worst (highest value) to best, as the legend reads
        return list(reversed(labels)), list(colours)
    return list(labels), list(colours)


def _fifths_sentence(data: pl.DataFrame, classes: str, polarity: str, ranges: Mapping[str, str] | None = None) -> str:
    domain, _ = fifths_scale(polarity)
    ranges = ranges or {}
    counts = dict(data.get_column(classes).drop_nulls().value_counts().iter_rows())
    parts = [f"{counts[w]:,} {w.lower()}" + (f" ({ranges[w]})" if w in ranges else "") for w in domain if w in counts]
    return f"Coloured by value, in fifths of areas: {join_words(parts)}." if parts else "Coloured by value, in fifths of areas."


def fifths_title(polarity: str, ranges: Mapping[str, str] | None = None) -> str:
    """The legend title of a map in fifths: the method, and the lowest fifth's range of values when known.

    >>> fifths_title("lower_is_better", {"Best": "12.1–15.3%"})
    'Fifths of areas by value (lowest fifth: 12.1–15.3%)'
    """
    from publicservices.stats.outcomes.quantiles import QUINTILE_LABELS

    lowest = QUINTILE_LABELS.get(polarity, QUINTILE_LABELS["no_judgement"])[0]
    return f"{FIFTHS_TITLE} (lowest fifth: {ranges[lowest]})" if ranges and lowest in ranges else FIFTHS_TITLE


def _class_texts(data: pl.DataFrame, classes: str, ranges: Mapping[str, str] | None) -> tuple[pl.DataFrame, str]:
    """With ``ranges``, the classes as shown in the legend and tooltip (``Worst: 12.1–15.3%``), in column ``_class``."""
    if not ranges:
        return data, classes
    shown = {w: f"{w}: {r}" for w, r in ranges.items()}
    return data.with_columns(pl.col(classes).cast(pl.String).replace(shown).alias("_class")), "_class"


def _colour(
    data: pl.DataFrame,
    value: str,
    category: str | None,
    polarity: str,
    indicator: Indicator | None,
    field_prefix: str = "",
    classes: str | None = None,
    ranges: Mapping[str, str] | None = None,
    shown: str | None = None,
) -> Any:
    alt = vega()

    if classes:
        # ``shown``: the column of the classes as the legend reads them (with their ranges), if any
        words, colours = fifths_scale(polarity)
        domain = [f"{w}: {ranges[w]}" if ranges and w in ranges else w for w in words]
        return alt.Color(
            f"{field_prefix}{shown or classes}:N",
            title=fifths_title(polarity, ranges),
            scale=alt.Scale(domain=domain, range=colours),
            sort=domain,
            legend=alt.Legend(orient="bottom", titleLimit=0, labelLimit=0),
        )
    if category:
        return alt.Color(
            f"{field_prefix}{category}:N",
            title=COMPARISON_TITLES.get(category, "Compared with the benchmark"),
            scale=category_scale(polarity, data.get_column(category).unique().to_list()),
            legend=alt.Legend(orient="bottom"),
        )
    # A value scale: blue is the good end when there is a polarity, a single-hue ramp otherwise.
    if polarity == "no_judgement":
        scale = alt.Scale(scheme="blues")
    else:
        scale = alt.Scale(scheme="blueorange", reverse=polarity == "higher_is_better")
    return alt.Color(f"{field_prefix}{value}:Q", title=value_label(indicator), scale=scale, legend=alt.Legend(orient="bottom"))


# -- choropleth ------------------------------------------------------------------------------


def subset_topojson(topology: Mapping[str, Any], feature: str, key: str, codes: set[str] | None = None) -> dict[str, Any]:
    """A TopoJSON holding only layer ``feature``, the geometries whose ``properties[key]`` is
    in ``codes`` (all when None), and the arcs they use (renumbered).

    Example:
        >>> topo = {"type": "Topology", "arcs": [[[0, 0], [1, 0]], [[1, 0], [0, 1]], [[5, 5], [1, 1]]],
        ...         "objects": {"a": {"type": "GeometryCollection", "geometries": [
        ...             {"type": "LineString", "arcs": [1], "properties": {"id": "x"}},
        ...             {"type": "LineString", "arcs": [2], "properties": {"id": "y"}}]}}}
        >>> small = subset_topojson(topo, "a", "id", {"x"})
        >>> small["arcs"], small["objects"]["a"]["geometries"][0]["arcs"]
        ([[[1, 0], [0, 1]]], [0])
    """
    objects = topology.get("objects", {})
    if feature not in objects:
        raise SchemaError(
            f"the boundary file has no layer {feature!r}.\nFix: use one of {', '.join(sorted(objects))} as feature=."
        )
    geometries = [
        g for g in objects[feature].get("geometries", []) if codes is None or str((g.get("properties") or {}).get(key)) in codes
    ]
    used: dict[int, int] = {}

    def collect(arcs: Any) -> None:
        if isinstance(arcs, int):
            index = arcs if arcs >= 0 else ~arcs
            used.setdefault(index, len(used))
        else:
            for item in arcs:
                collect(item)

    for g in geometries:
        collect(g.get("arcs", []))

    def renumber(arcs: Any) -> Any:
        if isinstance(arcs, int):
            return used[arcs] if arcs >= 0 else ~used[~arcs]
        return [renumber(item) for item in arcs]

    old_arcs = topology.get("arcs", [])
    new_arcs = [None] * len(used)
    for old, new in used.items():
        new_arcs[new] = old_arcs[old]
    out = {k: v for k, v in topology.items() if k not in ("objects", "arcs")}
    out["arcs"] = new_arcs
    out["objects"] = {
        feature: {
            "type": "GeometryCollection",
            "geometries": [{**g, "arcs": renumber(g["arcs"])} if "arcs" in g else g for g in geometries],
        }
    }
    return out


def _load_geometry(geometry: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(geometry, Mapping):
        return dict(geometry)
    path = Path(geometry)
    if not path.exists():
        raise DataError(
            f"boundary file {str(path)!r} does not exist.\n"
            "Fix: pass the path of a TopoJSON/GeoJSON file, or geometry_url= to reference it by URL."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read boundary file {str(path)!r}: {exc}\nFix: pass a valid TopoJSON or GeoJSON file.") from exc


def choropleth(
    frame: pl.DataFrame,
    geometry: str | Path | Mapping[str, Any] | None = None,
    *,
    geometry_url: str | None = None,
    feature: str | None = "utla",
    key: str = "areacd",
    indicator: Indicator | None = None,
    value: str = "value",
    category: str | None = None,
    classes: str | None = None,
    class_ranges: Mapping[str, str] | None = None,
    label: str = "area_name",
    projection: str = "mercator",
    subtitle: str | None = None,
    width: int = 420,
    height: int = 520,
) -> alt.Chart:
    """Choropleth of one indicator on boundaries from a TopoJSON or GeoJSON file.

    Method: the boundary features are looked up against the result by area code
    (``properties[key]`` = ``area_code``); areas are coloured by comparison category
    (polarity-aware), by ``classes`` (fifths of areas by value, the ``quintile_label`` of
    :func:`publicservices.stats.value_quintiles`: for figures without confidence
    intervals, whose comparison cannot be judged) or, without either, by value. Areas in the
    boundary file with no data are light grey; with embedded boundaries only areas in
    ``frame`` are kept.

    Parameters:
        frame: one row per area: ``area_code``, ``value`` and optionally a comparison column.
        geometry: a TopoJSON/GeoJSON path or parsed object to embed (cut to what is drawn).
        geometry_url: reference the boundaries by this URL instead (the website serves the
            file itself); ``feature`` must then name the TopoJSON layer (None for GeoJSON).
        feature: the TopoJSON layer (object) holding the areas, e.g. ``utla`` or ``ltla``.
        key: the property holding the area code (``areacd`` in ONS files).
        category: the comparison column (default the first of comparison_95, comparison,
            comparison_998 present; ignored when ``classes`` is given).
        classes: a column of quintile labels to colour by, in fifths of areas.
        class_ranges: each quintile label's range of values in words (``{"Worst": "12.1–15.3%"}``),
            shown in the legend (its title gives the lowest fifth's), tooltips and description.
        projection: a Vega projection type (``mercator``; ``identity`` for projected data).

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["E06000001"], "value": [3.2]})
        >>> spec = choropleth(f, geometry_url="geo.json").to_dict()
        >>> spec["data"]["url"], spec["data"]["format"]["feature"]
        ('geo.json', 'utla')
    """
    alt = vega()

    require(frame, ["area_code", value], "choropleth", f"pass one row per area with area_code and {value!r}.")
    if (geometry is None) == (geometry_url is None):
        raise SchemaError(
            "choropleth: pass exactly one of geometry= (a file or object to embed) and geometry_url=.\n"
            "Fix: e.g. geometry='geo_uk_la_topojson_2014_2025.json' or geometry_url='assets/geo.json'."
        )
    polarity = polarity_of(frame, indicator)
    if classes:
        require(frame, [classes], "choropleth", "pass the quintile labels (value_quintiles) as classes=.")
        category = None
    else:
        category = category or first_present(frame, CATEGORY_COLUMNS)
    data = area_labels(frame, label).unique("area_code", keep="first", maintain_order=True)
    shown = None
    if classes:
        data, shown = _class_texts(data, classes, class_ranges)
    fields = ["_label", value, *([category] if category else []), *(c for c in dict.fromkeys([classes, shown]) if c)]
    codes = set(data.get_column("area_code").to_list())
    matched: int | None = None
    if geometry_url is not None:
        fmt_ = alt.DataFormat(type="topojson", feature=feature) if feature else alt.DataFormat(type="json", property="features")
        source: Any = alt.UrlData(url=geometry_url, format=fmt_)
    else:
        geo = _load_geometry(geometry)  # type: ignore[arg-type]
        if geo.get("type") == "Topology":
            if not feature:
                raise SchemaError(
                    "choropleth: a TopoJSON file needs feature= (the layer name).\n"
                    f"Fix: use one of {', '.join(sorted(geo.get('objects', {})))}."
                )
            geo = subset_topojson(geo, feature, key, codes)
            matched = len(geo["objects"][feature]["geometries"])
            source = alt.InlineData(values=geo, format=alt.DataFormat(type="topojson", feature=feature))
        else:
            features = [f for f in geo.get("features", []) if str((f.get("properties") or {}).get(key)) in codes]
            matched = len(features)
            source = alt.InlineData(
                values={"type": "FeatureCollection", "features": features},
                format=alt.DataFormat(type="json", property="features"),
            )
        if matched == 0:
            raise DataError(
                f"choropleth: none of the {len(codes):,} area codes matches property {key!r} of layer {feature!r}.\n"
                "Fix: check key= and feature= (ONS files use key='areacd'), and that the codes are of the same vintage."
            )
    lookup = alt.LookupData(inline(data, ["area_code", *fields]), key="area_code", fields=fields)
    tooltips = [alt.Tooltip("_label:N", title="area"), alt.Tooltip(f"{value}:Q", title=value_label(indicator), format=",.3~f")]
    if category:
        tooltips.append(alt.Tooltip(f"{category}:N", title="compared with benchmark"))
    if classes:
        tooltips.append(alt.Tooltip(f"{shown}:N", title="fifth of areas by value"))
    colour = _colour(data, value, category, polarity, indicator, classes=classes, ranges=class_ranges, shown=shown)
    has_value = f"isValid(datum['{value}'])"
    shapes = (
        alt.Chart(source)
        .mark_geoshape(stroke="white", strokeWidth=0.4)
        .transform_lookup(lookup=f"properties.{key}", from_=lookup)
        .encode(color=alt.condition(has_value, colour, alt.value(NO_DATA)), tooltip=tooltips)
        .project(type=projection)
    )
    n = data.height
    name = indicator.title if indicator is not None else value
    parts = [f"Map of {name} for {plural(n, 'area')}."]
    if classes:
        parts.append(_fifths_sentence(data, classes, polarity, class_ranges))
    elif category:
        parts.append(f"Compared with the benchmark: {counts_sentence(data, category)}.")
    else:
        values = data.get_column(value).drop_nulls()
        if values.len():
            parts.append(f"Values range from {fmt(values.min(), indicator)} to {fmt(values.max(), indicator)}.")
    if matched is not None and matched < n:
        parts.append(f"{plural(n - matched, 'area')} in the data have no boundary in the file and are not drawn.")
    chart = shapes.properties(width=width, height=height, title=chart_title(indicator, f"Map of {value}", subtitle or ""))
    return finish(
        chart,
        kind="choropleth",
        description=" ".join(parts),
        indicator=indicator,
        extra={"areas": n, "geometry_url": geometry_url} if geometry_url else {"areas": n},
    )


# -- hex tile map ----------------------------------------------------------------------------


def hex_polygons(areas: pl.DataFrame, q: str, r: str, layout: str = "axial") -> pl.DataFrame:
    """Add ``_cx``, ``_cy``: tile centres for pointy-top hexagons one unit wide.

    ``layout``: ``centres`` (``q``/``r`` already hold the centres, as the demo nation's
    ``tile_x``/``tile_y``), ``axial`` (Red Blob Games axial q, r) or ``odd-r`` (offset
    columns and rows, odd rows shifted right). This is drawing geometry (where a tile goes),
    not a statistic.

    Example:
        >>> import polars as pl
        >>> hex_polygons(pl.DataFrame({"q": [0, 0], "r": [0, 1]}), "q", "r", "odd-r").select("_cx", "_cy").rows()
        [(0.0, 0.0), (0.5, 0.866025)]
    """
    qq, rr = pl.col(q).cast(pl.Float64), pl.col(r).cast(pl.Float64)
    row_height = 3**0.5 / 2
    if layout == "centres":
        cx, cy = qq, rr
    elif layout == "axial":
        cx, cy = qq + rr / 2, rr * row_height
    elif layout == "odd-r":
        cx, cy = qq + 0.5 * (pl.col(r).cast(pl.Int64) % 2).cast(pl.Float64), rr * row_height
    else:
        raise SchemaError(f"unknown hex layout {layout!r}.\nFix: use 'centres', 'axial' or 'odd-r'.")
    return areas.with_columns(cx.round(6).alias("_cx"), cy.round(6).alias("_cy"))


# (q column, r column, layout), in order of preference
HEX_COLUMNS = (("tile_x", "tile_y", "centres"), ("hex_q", "hex_r", "axial"), ("hex_col", "hex_row", "odd-r"))


def hex_map(
    frame: pl.DataFrame,
    areas: pl.DataFrame | None = None,
    *,
    indicator: Indicator | None = None,
    value: str = "value",
    category: str | None = None,
    classes: str | None = None,
    class_ranges: Mapping[str, str] | None = None,
    q: str | None = None,
    r: str | None = None,
    layout: str = "axial",
    north_up: bool = True,
    label: str = "area_name",
    subtitle: str | None = None,
    width: int = 420,
    height: int = 480,
) -> alt.Chart:
    """Hex tile map: every area the same size, so small dense areas are as visible as large
    rural ones.

    Method: each area is a pointy-top hexagon at its tile position, drawn as GeoJSON polygons
    through Vega's identity projection so tiles fit the chart at any size. Positions are
    read from ``tile_x``/``tile_y`` (centres, one tile wide: the demo nation), ``hex_q``/
    ``hex_r`` (axial) or ``hex_col``/``hex_row`` (odd-r offset), in that order. Colour as in
    :func:`choropleth`.

    Parameters:
        frame: one row per area: ``area_code``, ``value`` and optionally a comparison column.
        areas: the areas frame with tile positions (may be omitted if ``frame`` has them).
        q, r: the position columns; found automatically when named as above.
        layout: how ``q``/``r`` are read when given: ``axial`` (default), ``odd-r`` or ``centres``.
        north_up: rows grow northwards (the demo nation); False when row 0 is the top row.
        classes: a column of quintile labels to colour by, in fifths of areas (as :func:`choropleth`).
        class_ranges: each quintile label's range of values in words, as :func:`choropleth`.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["A", "B"], "value": [1.0, 2.0]})
        >>> a = pl.DataFrame({"area_code": ["A", "B"], "hex_q": [0, 1], "hex_r": [0, 0]})
        >>> hex_map(f, a).to_dict()["description"]
        'Hex map of value for 2 areas, one tile per area. Values range from 1.00 to 2.00.'
    """
    alt = vega()

    require(frame, ["area_code", value], "hex_map", f"pass one row per area with area_code and {value!r}.")
    positions = areas if areas is not None else frame
    if q is None or r is None:
        found = next((p for p in HEX_COLUMNS if p[0] in positions.columns and p[1] in positions.columns), None)
        if found is None:
            raise SchemaError(
                "hex_map: no tile position columns (hex_q/hex_r or hex_col/hex_row) in the areas frame.\n"
                "Fix: pass areas= with tile positions (the demo nation has them), or q=/r= naming the columns."
            )
        q, r, layout = found
    polarity = polarity_of(frame, indicator)
    if classes:
        require(frame, [classes], "hex_map", "pass the quintile labels (value_quintiles) as classes=.")
        category = None
    else:
        category = category or first_present(frame, CATEGORY_COLUMNS)
    data = frame.unique("area_code", keep="first", maintain_order=True)
    if areas is not None:
        keep = ["area_code", q, r] + (["area_name"] if "area_name" in areas.columns and "area_name" not in data.columns else [])
        data = positions.select(keep).join(data.drop([c for c in (q, r) if c in data.columns]), on="area_code", how="left")
    data = area_labels(hex_polygons(data.filter(pl.col(q).is_not_null() & pl.col(r).is_not_null()), q, r, layout), label)
    shown = None
    if classes:
        data, shown = _class_texts(data, classes, class_ranges)
    fields = ["_label", value, *([category] if category else []), *(c for c in dict.fromkeys([classes, shown]) if c)]
    fields += ["area_code"] if "area_code" in data.columns else []  # not shown: the site links each tile to its area
    # Pointy-top hexagon one unit wide (radius 1/sqrt(3)); the white stroke makes the gutter.
    radius = 1 / 3**0.5
    corners = [(0.0, -radius), (0.5, -radius / 2), (0.5, radius / 2), (0.0, radius), (-0.5, radius / 2), (-0.5, -radius / 2)]
    features = []
    for row in json_rows(data, ["_cx", "_cy", *fields]):
        ring = [[round(row["_cx"] + dx, 5), round(row["_cy"] + dy, 5)] for dx, dy in corners]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {k: row.get(k) for k in fields},
            }
        )
    source = inline_values(features)  # GeoJSON features, one datum each
    colour = _colour(
        data, value, category, polarity, indicator, field_prefix="properties.", classes=classes, ranges=class_ranges, shown=shown
    )
    tooltips = [
        alt.Tooltip("properties._label:N", title="area"),
        alt.Tooltip(f"properties.{value}:Q", title=value_label(indicator), format=",.3~f"),
    ]
    if category:
        tooltips.append(alt.Tooltip(f"properties.{category}:N", title="compared with benchmark"))
    if classes:
        tooltips.append(alt.Tooltip(f"properties.{shown}:N", title="fifth of areas by value"))
    has_value = f"isValid(datum.properties['{value}'])"
    # Screen y grows downwards: reflect when the positions grow northwards.
    tiles = (
        alt.Chart(source)
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .encode(color=alt.condition(has_value, colour, alt.value(NO_DATA)), tooltip=tooltips)
        .project(type="identity", reflectY=north_up)
    )
    n = data.height
    name = indicator.title if indicator is not None else value
    parts = [f"Hex map of {name} for {plural(n, 'area')}, one tile per area."]
    if classes:
        parts.append(_fifths_sentence(data, classes, polarity, class_ranges))
    elif category:
        parts.append(f"Compared with the benchmark: {counts_sentence(data, category)}.")
    else:
        values = data.get_column(value).drop_nulls()
        if values.len():
            parts.append(f"Values range from {fmt(values.min(), indicator)} to {fmt(values.max(), indicator)}.")
    chart = tiles.properties(width=width, height=height, title=chart_title(indicator, f"Hex map of {value}", subtitle or ""))
    return finish(chart, kind="hex_map", description=" ".join(parts), indicator=indicator, extra={"areas": n})
