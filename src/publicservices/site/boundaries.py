"""Area boundaries for the site's maps: read once, cut to the site's areas, stored once.

A TopoJSON layer (``--layer``) or a GeoJSON FeatureCollection is reduced to the features
whose code property matches an area on the site; where a file carries ``start``/``end``
years (the ONS uk-topojson files do), the latest vintage of each code is kept. Areas the
data leaves unnamed take their name from the file, from any layer that has them. The cut
boundaries are written once to ``assets/ps/boundaries.js`` and every map refers to them by
name, so no page or chart script carries geometry of its own.

Example:
    >>> geo = {"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"areacd": "E1", "areanm": "One"}, "geometry": None}]}
    >>> b = cut_boundaries(geo, {"E1", "E2"})
    >>> b.matched, b.names, b.feature
    (1, {'E1': 'One'}, None)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from publicservices.errors import DataError

NAME = "ps-boundaries"  # the data set name chart specs refer to
SCRIPT = "assets/ps/boundaries.js"  # where the cut boundaries are stored, once
CODE_KEYS = ("areacd", "code", "area_code", "AREACD", "id", "GSS_CODE", "ctyua_code", "lad_code")
NAME_KEYS = ("areanm", "name", "area_name", "AREANM", "NAME")


@dataclasses.dataclass
class Boundaries:
    """Boundaries cut to the site's areas."""

    data: dict[str, Any]  # TopoJSON topology or GeoJSON FeatureCollection
    feature: str | None  # the TopoJSON layer, None for GeoJSON
    key: str  # the property holding the area code
    names: dict[str, str]  # area code -> name in the file
    matched: int

    @property
    def format(self) -> dict[str, str]:
        """The Vega-Lite data format that reads ``data``."""
        if self.feature:
            return {"type": "topojson", "feature": self.feature}
        return {"type": "json", "property": "features"}


# Beyond these a map page stops being usable (the ONS generalised boundaries of every UK
# local authority are under 1 MB as TopoJSON).
MAX_FILE_BYTES = 200 * 2**20
MAX_SHIPPED_BYTES = 10 * 2**20


def read_boundaries(path: Path, codes: Iterable[str], layer: str | None = None) -> Boundaries:
    """Read a TopoJSON/GeoJSON file and cut it to ``codes`` (see the module docstring)."""
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    if size > MAX_FILE_BYTES:
        raise DataError(
            f"--boundaries: {str(path)!r} is {size / 2**20:,.0f} MB; the limit is {MAX_FILE_BYTES / 2**20:,.0f} MB.\n"
            "Fix: simplify the boundaries first (e.g. mapshaper -simplify 5%), or use a generalised (BGC/BSC) file."
        )
    try:
        geo = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise DataError(
            f"--boundaries: cannot read {str(path)!r} as JSON ({type(exc).__name__}: {str(exc)[:200]}).\n"
            "Fix: pass a TopoJSON or GeoJSON file."
        ) from None
    if not isinstance(geo, dict) or geo.get("type") not in ("Topology", "FeatureCollection"):
        raise DataError(
            f"--boundaries: {str(path)!r} is neither TopoJSON (type Topology) nor a GeoJSON FeatureCollection.\n"
            "Fix: pass a TopoJSON or GeoJSON file of area boundaries."
        )
    cut = cut_boundaries(geo, set(codes), layer)
    shipped = len(json.dumps(cut.data, separators=(",", ":")))
    if shipped > MAX_SHIPPED_BYTES:
        raise DataError(
            f"--boundaries: the boundaries of the site's areas come to {shipped / 2**20:,.1f} MB, more than a web map "
            f"can load ({MAX_SHIPPED_BYTES / 2**20:,.0f} MB is the limit).\n"
            "Fix: simplify the boundaries first (e.g. mapshaper -simplify 5%), or use a generalised (BGC/BSC) file."
        )
    return cut


def cut_boundaries(geo: Mapping[str, Any], codes: set[str], layer: str | None = None) -> Boundaries:
    """Keep the features of ``geo`` whose code is in ``codes`` (latest vintage of each)."""
    if geo.get("type") == "Topology":
        objects = geo.get("objects") or {}
        if layer is None:
            if len(objects) != 1:
                raise DataError(
                    f"--boundaries: the TopoJSON file has {len(objects)} layers.\n"
                    f"Fix: choose one with --layer ({', '.join(sorted(objects))})."
                )
            layer = next(iter(objects))
        if layer not in objects:
            raise DataError(f"--layer: the TopoJSON file has no layer {layer!r}.\nFix: use one of {', '.join(sorted(objects))}.")
        layers = {name: o.get("geometries") or [] for name, o in objects.items()}
    else:
        if layer:
            raise DataError("--layer applies to TopoJSON files only; this is GeoJSON.\nFix: leave out --layer.")
        layers = {layer: geo.get("features") or []}
    items = layers[layer]
    key = _code_key(items, codes)
    if key is None:
        raise DataError(
            f"--boundaries: no feature in the boundaries file carries one of the area codes on the site "
            f"(looked in properties {', '.join(CODE_KEYS)}).\n"
            "Fix: check that the file covers these areas and is of the same vintage (and --layer for TopoJSON)."
        )
    found = {
        name: _latest_vintage([g for g in its if str((g.get("properties") or {}).get(key)) in codes], key)
        for name, its in layers.items()
    }
    chosen = found[layer]
    # Names come from every layer (a site of districts and counties maps one layer but names
    # both); the mapped layer goes last so that its names win.
    names: dict[str, str] = {}
    for name in sorted(found, key=lambda n: n == layer):
        names.update(_names(found[name], key))
    if geo.get("type") == "Topology" and layer is not None:  # a TopoJSON file's layer is chosen above
        from publicservices.charts import subset_topojson

        small = subset_topojson({**geo, "objects": {layer: {"type": "GeometryCollection", "geometries": chosen}}}, layer, key)
        return Boundaries(small, layer, key, names, len(chosen))
    return Boundaries({"type": "FeatureCollection", "features": chosen}, None, key, names, len(chosen))


def _names(items: list[Mapping[str, Any]], key: str) -> dict[str, str]:
    names = {}
    for g in items:
        props = g.get("properties") or {}
        name = next((props[k] for k in NAME_KEYS if isinstance(props.get(k), str) and props[k].strip()), None)
        if name:
            names[str(props[key])] = name
    return names


def _code_key(items: list[Mapping[str, Any]], codes: set[str]) -> str | None:
    best, hits = None, 0
    for key in CODE_KEYS:
        n = sum(str((g.get("properties") or {}).get(key)) in codes for g in items)
        if n > hits:
            best, hits = key, n
    return best


def _latest_vintage(items: list[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """One feature per code: the one with the latest ``end`` (absent = still current), then ``start``."""

    def age(g: Mapping[str, Any]) -> tuple[float, float]:
        props = g.get("properties") or {}
        end, start = props.get("end"), props.get("start")
        return (float("inf") if end in (None, "") else float(end), float("-inf") if start in (None, "") else float(start))

    best: dict[str, Mapping[str, Any]] = {}
    for g in items:
        code = str((g.get("properties") or {})[key])
        if code not in best or age(g) > age(best[code]):
            best[code] = g
    return [best[c] for c in sorted(best)]
