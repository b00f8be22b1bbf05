"""Build ``src/publicservices/data/geography_lookup.csv`` from the ONS TopoJSON boundaries.

Parents are derived geometrically, so the lookup needs nothing but the boundaries file: each
local authority's *interior point* is tested against the region (``rgn``) and shire county
(``cty``) polygons. A shire district's county is the ``cty`` feature that contains it and whose
years overlap the district's (Christchurch, to 2018, lies in Dorset county, to 2018).

Usage:
    python scripts/build_geography_lookup.py ../shared/data/geo_uk_la_topojson_2014_2025.json
    python scripts/build_geography_lookup.py boundaries.json --out /tmp/lookup.csv

Example (the geometry helpers):
    >>> square = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]])
    >>> contains(edges([square]), 1.0, 1.0), contains(edges([square]), 5.0, 1.0)
    (True, False)
    >>> [float(v) for v in interior_point([square])]
    [2.0, 2.0]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from publicservices.errors import DataError, ReaderError, problem
from publicservices.geography import SUCCESSORS, level_expr

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "publicservices" / "data" / "geography_lookup.csv"
# Layers read, most specific first: a code in several layers keeps its first layer's geometry.
LAYERS = ("ltla", "utla", "cty", "mcty", "cauth", "rgn", "ctry", "uk")
# Levels that get an English region from the geometry.
REGIONAL_LEVELS = ("unitary", "metropolitan_district", "london_borough", "shire_district", "shire_county",
                   "metropolitan_county", "combined_authority")
SELF_UPPER_TIER = ("unitary", "metropolitan_district", "london_borough", "shire_county", "council_area",
                   "local_government_district", "merged_authority")
# Areas with no boundary of their own: code -> (name, a member area whose region they share).
EXTRA_AREAS = {
    "E67000001": ("Hackney and City of London", "E09000012"),  # Hackney
    "E67000002": ("Cornwall and Isles of Scilly", "E06000052"),  # Cornwall
    "E13000001": ("Inner London", "E09000033"),  # Westminster
    "E13000002": ("Outer London", "E09000002"),  # Barking and Dagenham
}
COLUMNS = {"area_code": pl.String, "area_name": pl.String, "level": pl.String, "region_code": pl.String,
           "upper_tier_code": pl.String, "start": pl.Int64, "end": pl.Int64}


# -- TopoJSON decoding ------------------------------------------------------------------------------


def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Every arc as an (n, 2) array of longitude/latitude.

    Quantized TopoJSON stores each arc as integer deltas from the previous point; the
    ``transform`` turns the running sum back into coordinates.

    Example:
        >>> topo = {"arcs": [[[10, 20], [1, 0], [0, 2]]], "transform": {"scale": [0.5, 0.1], "translate": [1, 2]}}
        >>> decode_arcs(topo)[0].tolist()
        [[6.0, 4.0], [6.5, 4.0], [6.5, 4.2]]
    """
    transform = topology.get("transform")
    out = []
    for arc in topology["arcs"]:
        points = np.asarray(arc, dtype=float)[:, :2]
        if transform:
            points = np.cumsum(points, axis=0) * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
        out.append(points)
    return out


def ring_points(ring: Sequence[int], arcs: Sequence[np.ndarray]) -> np.ndarray:
    """Join a ring's arcs (a negative index ``~i`` means arc ``i`` reversed) into one closed ring."""
    parts = []
    for position, index in enumerate(ring):
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(points if position == 0 else points[1:])  # consecutive arcs share an end point
    return np.concatenate(parts)


def geometry_rings(geometry: dict[str, Any], arcs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """All rings (outer rings and holes) of a Polygon or MultiPolygon geometry."""
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry["arcs"]]
    elif kind == "MultiPolygon":
        polygons = geometry["arcs"]
    else:
        raise ReaderError(f"TopoJSON geometry {geometry.get('properties')}: type {kind!r} is not a polygon.\n"
                          "Fix: use a boundaries file whose areas are Polygon or MultiPolygon geometries.")
    return [ring_points(ring, arcs) for polygon in polygons for ring in polygon]


# -- plane geometry ---------------------------------------------------------------------------------


def signed_area(ring: np.ndarray) -> float:
    """Shoelace area of a closed ring (positive when anticlockwise)."""
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def centroid(ring: np.ndarray) -> tuple[float, float]:
    """Area-weighted centroid of a closed ring."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    return float(np.sum((x[:-1] + x[1:]) * cross) / (6 * area)), float(np.sum((y[:-1] + y[1:]) * cross) / (6 * area))


def edges(rings: Iterable[np.ndarray]) -> np.ndarray:
    """All edges of some rings as an (n, 4) array ``x1, y1, x2, y2``."""
    return np.concatenate([np.hstack([ring[:-1], ring[1:]]) for ring in rings])


def _crossings(edge: np.ndarray, y: float) -> np.ndarray:
    """x of every edge crossing the horizontal line at ``y`` (half-open rule: vertices count once)."""
    y1, y2 = edge[:, 1], edge[:, 3]
    crossing = (y1 > y) != (y2 > y)
    e = edge[crossing]
    return e[:, 0] + (y - e[:, 1]) * (e[:, 2] - e[:, 0]) / (e[:, 3] - e[:, 1])


def contains(edge: np.ndarray, x: float, y: float) -> bool:
    """Ray casting with the even-odd rule, so holes and the parts of a MultiPolygon just work."""
    return int(np.count_nonzero(_crossings(edge, y) > x)) % 2 == 1


def interior_point(rings: Sequence[np.ndarray]) -> tuple[float, float]:
    """A point inside an area: its largest ring's centroid, or the middle of the widest interior span.

    A centroid can fall outside a crescent-shaped area (or in a hole), so it is checked; the
    fallback takes the horizontal line through the middle of the ring and the midpoint of its
    widest stretch inside the area.
    """
    ring = max(rings, key=lambda r: abs(signed_area(r)))
    edge = edges(rings)
    x, y = centroid(ring)
    if contains(edge, x, y):
        return x, y
    y = float(ring[:, 1].min() + ring[:, 1].max()) / 2
    xs = np.sort(_crossings(edge, y))
    starts, ends = xs[0::2], xs[1::2]
    widest = int(np.argmax(ends - starts))
    x = float(starts[widest] + ends[widest]) / 2
    if not contains(edge, x, y):  # pragma: no cover - a defensive check on the geometry
        raise DataError("interior_point: could not find a point inside an area.\nFix: check the boundary geometry.")
    return x, y


# -- the lookup -------------------------------------------------------------------------------------


def _overlaps(a: tuple[int | None, int | None], b: tuple[int | None, int | None]) -> bool:
    """Whether two [start, end] year ranges overlap (None = open)."""
    first = max(a[0] if a[0] is not None else -10**6, b[0] if b[0] is not None else -10**6)
    last = min(a[1] if a[1] is not None else 10**6, b[1] if b[1] is not None else 10**6)
    return first <= last


def _features(topology: dict[str, Any], arcs: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """One record per code (first layer in LAYERS wins): code, name, layer, years, rings."""
    objects = topology.get("objects", {})
    missing = [layer for layer in ("ltla", "utla", "cty", "rgn") if layer not in objects]
    if missing:
        raise ReaderError(f"TopoJSON: layer(s) {missing} missing (layers present: {', '.join(objects)}).\n"
                          "Fix: use the ONS uk-topojson boundaries (geo_uk_la_topojson_2014_2025.json).")
    seen: dict[str, dict[str, Any]] = {}
    for layer in LAYERS:
        for geometry in objects.get(layer, {}).get("geometries", []):
            props = geometry.get("properties") or {}
            code = props.get("areacd")
            if not code:
                raise ReaderError(f"TopoJSON layer {layer!r}: a geometry has no 'areacd' property.\n"
                                  "Fix: use a boundaries file whose areas carry areacd and areanm.")
            if code in seen:
                record = seen[code]  # the same code in another layer: widen its years
                record["start"] = None if record["start"] is None or props.get("start") is None else min(record["start"], props["start"])
                record["end"] = None if record["end"] is None or props.get("end") is None else max(record["end"], props["end"])
                continue
            seen[code] = {"area_code": code, "area_name": props.get("areanm"), "layer": layer,
                          "start": props.get("start"), "end": props.get("end"),
                          "rings": geometry_rings(geometry, arcs)}
    return list(seen.values())


def _containing(point: tuple[float, float], candidates: Sequence[dict[str, Any]]) -> list[str]:
    return [c["area_code"] for c in candidates if contains(c["edges"], *point)]


def build_lookup(topojson: str | Path) -> pl.DataFrame:
    """The geography lookup built from a TopoJSON boundaries file (see the module docstring)."""
    path = Path(topojson)
    try:
        topology = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReaderError(f"{path}: not a readable TopoJSON file ({exc}).\nFix: pass the ONS boundaries TopoJSON.") from exc
    arcs = decode_arcs(topology)
    features = _features(topology, arcs)
    levels = pl.Series([f["area_code"] for f in features]).to_frame("c").select(level_expr(pl.col("c"))).to_series()
    for feature, level in zip(features, levels.to_list(), strict=True):
        feature["level"] = level
    layer_of = {layer: [g["properties"]["areacd"] for g in topology["objects"][layer]["geometries"]]
                for layer in ("rgn", "cty")}
    by_code = {f["area_code"]: f for f in features}
    regions = [by_code[c] for c in layer_of["rgn"] if c.startswith("E12")]
    counties = [by_code[c] for c in layer_of["cty"]]
    for f in regions + counties:
        f["edges"] = edges(f["rings"])

    rows, unplaced, uncounted = [], [], []
    for f in features:
        region = county = None
        english = f["area_code"].startswith("E")
        if english and f["level"] in REGIONAL_LEVELS:
            point = interior_point(f["rings"])
            found = _containing(point, regions)
            region = found[0] if len(found) == 1 else None
            if region is None:
                unplaced.append(f"{f['area_code']} {f['area_name']}: in regions {found}")
            if f["level"] == "shire_district":
                years = (f["start"], f["end"])
                found = [c for c in _containing(point, counties) if _overlaps(years, (by_code[c]["start"], by_code[c]["end"]))]
                county = found[0] if len(found) == 1 else None
                if county is None:
                    uncounted.append(f"{f['area_code']} {f['area_name']}: in counties {found}")
        upper = f["area_code"] if f["level"] in SELF_UPPER_TIER else county
        rows.append({"area_code": f["area_code"], "area_name": f["area_name"], "level": f["level"],
                     "region_code": region, "upper_tier_code": upper, "start": f["start"], "end": f["end"]})
    if unplaced:
        raise DataError(problem("region_code", "could not be placed in exactly one English region", rows=unplaced,
                                fix="Check the rgn layer of the boundaries file covers England."))
    if uncounted:
        raise DataError(problem("upper_tier_code", "could not be placed in exactly one shire county", rows=uncounted,
                                fix="Check the cty layer and the start/end years of the boundaries file."))
    rows += _extra_rows({r["area_code"]: r for r in rows})
    return pl.DataFrame(rows, schema=COLUMNS, orient="row").sort("area_code")


def _extra_rows(known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Areas without a boundary: merged areas, Inner/Outer London, obsolete codes from before 2014."""
    extra = []
    for code, (name, member) in EXTRA_AREAS.items():
        if code not in known:
            extra.append({"area_code": code, "area_name": name, "region_code": known[member]["region_code"],
                          "start": None, "end": None})
    for code, (successors, year) in SUCCESSORS.items():
        if code in known:
            continue
        # An obsolete code older than the boundaries: its name and region are its successor's.
        parents = {known[s]["region_code"] for s in successors}
        extra.append({"area_code": code, "area_name": known[successors[0]]["area_name"],
                      "region_code": parents.pop() if len(parents) == 1 else None, "start": None, "end": year - 1})
    if not extra:
        return []
    frame = pl.DataFrame(extra, schema={k: COLUMNS[k] for k in ("area_code", "area_name", "region_code", "start", "end")})
    frame = frame.with_columns(level_expr(pl.col("area_code")))
    frame = frame.with_columns(
        pl.when(pl.col("level").is_in(list(SELF_UPPER_TIER))).then(pl.col("area_code")).alias("upper_tier_code"))
    return frame.select(list(COLUMNS)).to_dicts()


def write_lookup(topojson: str | Path, out: str | Path = DEFAULT_OUT) -> pl.DataFrame:
    """Build the lookup and write it as CSV to ``out``; returns the frame."""
    frame = build_lookup(topojson)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(out)
    return frame


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topojson", help="the ONS TopoJSON boundaries, e.g. geo_uk_la_topojson_2014_2025.json")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"CSV to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    frame = write_lookup(args.topojson, args.out)
    print(f"wrote {frame.height} areas to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
