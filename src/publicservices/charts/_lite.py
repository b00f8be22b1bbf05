"""The part of Altair's API the chart builders use, making the same Vega-Lite dicts without Altair.

Altair builds a schema object at every step of a chart, checks it and deep-copies it each time
charts are layered, concatenated or given properties. A published site makes hundreds of charts
that only ever become JSON, and that machinery (with Altair's import) was a fifth of a demo build.
Inside :func:`publicservices.charts.detached_data` the chart builders get this module in
Altair's place (:func:`publicservices.charts._common.vega`); everywhere else, as in a notebook,
they get Altair and return its charts.

It follows Altair's rules for what its ``to_dict(validate=False)`` writes: shorthand such as
``"value:Q"``, secondary channels (``x2``) without a type, data shared by every layer or panel
lifted to the parent, ``width``/``height`` moved from layers to the layer chart, inline values
moved to top-level ``datasets`` under a hash of their content, and the default theme's ``config``
at the top. It writes no ``$schema`` (the site drops it: nothing for a browser to fetch). ``tests/test_chart_lite.py`` holds every chart kind to
Altair's output and to the Vega-Lite schema, once per kind, so a site build never validates.

>>> chart = Chart(InlineData(values=[{"a": 1}])).mark_point(size=9).encode(x="a:Q")
>>> spec = chart.to_dict()
>>> spec["mark"], spec["encoding"]
({'type': 'point', 'size': 9}, {'x': {'field': 'a', 'type': 'quantitative'}})
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from publicservices.errors import OptionError, SchemaError

# What Altair's default theme puts at the top of every chart.
DEFAULT_CONFIG = {"config": {"view": {"continuousWidth": 300, "continuousHeight": 300}}}

# Vega-Lite's secondary channels take a field but no type; Altair drops a shorthand's type there.
_UNTYPED = frozenset({"x2", "y2", "xError", "xError2", "yError", "yError2", "theta2", "radius2", "latitude2", "longitude2"})
_TYPECODES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal", "G": "geojson"}
_PLAIN = re.compile(r"\A([^()]*?)(?::([QNOTG]|quantitative|nominal|ordinal|temporal|geojson))?\Z", re.DOTALL)


class _UndefinedType:
    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False


Undefined: Any = _UndefinedType()


def parse_shorthand(shorthand: str) -> dict[str, Any]:
    """``"value:Q"`` as ``{"field": "value", "type": "quantitative"}``, as Altair parses it.

    Shorthand with parentheses (aggregates and time units, ``"sum(x):Q"``) is rare here and
    parsed by Altair itself, so the two never disagree.

    >>> parse_shorthand("lower_95:Q"), parse_shorthand("area_code")
    ({'field': 'lower_95', 'type': 'quantitative'}, {'field': 'area_code'})
    """
    found = _PLAIN.match(shorthand)
    if found is None or ":" in found.group(1):
        from altair.utils import parse_shorthand as altair_parse

        return dict(altair_parse(shorthand))
    field, kind = found.groups()
    return {"field": field, **({"type": _TYPECODES.get(kind, kind)} if kind else {})}


def _plain(value: Any) -> Any:
    """A property value as JSON, by Altair's rules: Undefined left out, NumPy numbers as floats."""
    if isinstance(value, _Spec):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not Undefined}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if type(value).__module__ == "numpy":  # as Altair: arrays element by element, numbers as floats
        if getattr(value, "ndim", 0):
            return [_plain(v) for v in value]
        return float(value) if value.dtype.kind in "iufc" else value
    return value


def _keyword(name: str) -> str:
    return name[:-1] if name in ("from_", "as_", "type_", "lambda_") else name


class _Spec:
    """A Vega-Lite object: its properties by name, read and set as attributes, as in Altair."""

    def __init__(self, **properties: Any) -> None:
        object.__setattr__(self, "_props", {_keyword(k): v for k, v in properties.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._props.get(name, Undefined)

    def __setattr__(self, name: str, value: Any) -> None:
        self._props[name] = value

    def __getitem__(self, name: str) -> Any:
        return self._props.get(name, Undefined)

    def __setitem__(self, name: str, value: Any) -> None:
        self._props[name] = value

    def copy(self) -> Any:
        twin = object.__new__(type(self))
        object.__setattr__(twin, "_props", dict(self._props))
        return twin

    def to_dict(self, validate: bool = False, **_: Any) -> Any:
        return _plain(self._props)


# -- data and plain objects ------------------------------------------------------------------------


def _kind(name: str, *positional: str) -> type[_Spec]:
    """A Vega-Lite object type taking ``positional`` properties in order, as Altair's does."""

    def __init__(self: _Spec, *args: Any, **properties: Any) -> None:
        _Spec.__init__(self, **dict(zip(positional, args, strict=False)), **properties)

    return type(name, (_Spec,), {"__init__": __init__, "__doc__": f"Vega-Lite's {name}, as a plain dict."})


InlineData = _kind("InlineData", "values", "format", "name")
NamedData = _kind("NamedData", "name", "format")
UrlData = _kind("UrlData", "url", "format", "name")
DataFormat = _kind("DataFormat")
LookupData = _kind("LookupData", "data", "key", "fields")
Scale = _kind("Scale")
Axis = _kind("Axis")
Legend = _kind("Legend")
TitleParams = _kind("TitleParams", "text")
EncodingSortField = _kind("EncodingSortField", "field", "op", "order")


# -- encodings ----------------------------------------------------------------------------------------


class _Channel(_Spec):
    """An encoding channel: a field given by shorthand (``"value:Q"``) and its properties."""

    name = ""

    def __init__(self, shorthand: Any = Undefined, **properties: Any) -> None:
        super().__init__(**properties)
        object.__setattr__(self, "_shorthand", shorthand)

    def copy(self) -> Any:
        twin = super().copy()
        object.__setattr__(twin, "_shorthand", self._shorthand)
        return twin

    def to_dict(self, validate: bool = False, **_: Any) -> Any:
        out = _field(self.name, self._shorthand, self._props)
        out.update(_plain(self._props))
        return out


def _field(channel: str, shorthand: Any, properties: dict[str, Any]) -> dict[str, Any]:
    if shorthand is Undefined:
        return {}
    if not isinstance(shorthand, str):
        return {"field": shorthand}
    parsed = parse_shorthand(shorthand)
    if channel in _UNTYPED:
        parsed.pop("type", None)
    elif "type" not in parsed and properties.get("type", Undefined) is Undefined:
        raise SchemaError(
            f"the chart's {channel} encoding {shorthand!r} names no type.\nFix: add one, e.g. {shorthand + ':Q'!r} or {shorthand + ':N'!r}."
        )
    return parsed


def _channel(name: str) -> type[_Channel]:
    return type(name[0].upper() + name[1:], (_Channel,), {"name": name, "__doc__": f"The {name} channel."})


X, Y, Color, Tooltip, Text, StrokeDash, Opacity = (
    _channel(n) for n in ("x", "y", "color", "tooltip", "text", "strokeDash", "opacity")
)


class XDatum(_Spec):
    """A datum on the x channel (a fixed position on its scale)."""

    def __init__(self, datum: Any, **properties: Any) -> None:
        super().__init__(datum=datum, **properties)


def value(value: Any, **properties: Any) -> dict[str, Any]:
    """A fixed value for an encoding channel."""
    return {"value": value, **properties}


class _Conditional(_Spec):
    pass


def condition(predicate: Any, if_true: Any, if_false: Any, **properties: Any) -> _Conditional:
    """``if_true`` where the Vega expression ``predicate`` holds, else ``if_false``."""
    test = {"test": predicate} if isinstance(predicate, str) else dict(predicate)
    if isinstance(if_true, _Spec):
        if_true = if_true.to_dict()
    elif isinstance(if_true, str):
        if_true = {**parse_shorthand(if_true), **properties}
    if isinstance(if_false, _Spec):
        if_false = if_false.to_dict()
    elif isinstance(if_false, str):
        if_false = {**parse_shorthand(if_false), **properties}
    return _Conditional(**if_false, condition={**test, **if_true})


def _encoding(name: str, given: Any) -> Any:
    """One ``encode(name=given)`` as Altair writes it."""
    if isinstance(given, _Spec):
        if isinstance(given, _Channel) and given.name != name:  # e.g. alt.X(...) given as x2
            return {**_field(name, given._shorthand, given._props), **_plain(given._props)}
        return given.to_dict()
    if isinstance(given, str):
        return _field(name, given, {})
    if isinstance(given, (list, tuple)):
        return [_encoding(name, g) for g in given]
    return _plain(given)


# -- charts -------------------------------------------------------------------------------------------


class _Chart(_Spec):
    """What every chart shares: properties, and ``to_dict`` with the top-level additions."""

    def properties(self, **properties: Any) -> Any:
        twin = self.copy()
        for key, val in properties.items():
            twin[key] = val
        return twin

    def resolve_scale(self, **channels: Any) -> Any:
        twin = self.copy()
        resolve = dict(twin["resolve"] or {})
        resolve["scale"] = {**resolve.get("scale", {}), **channels}
        twin["resolve"] = resolve
        return twin

    def to_dict(self, validate: bool = False, *, datasets: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        top = datasets is None
        found: dict[str, Any] = {} if datasets is None else datasets
        out: dict[str, Any] = {}
        for key, val in self._props.items():
            if val is Undefined:
                continue
            if key == "data":
                out[key] = _plain(_consolidated(val, found))
            elif key in ("layer", "hconcat", "vconcat"):
                out[key] = [part.to_dict(datasets=found) for part in val]
            else:
                out[key] = _plain(val)
        if not top:
            return out
        out = _merge(DEFAULT_CONFIG, out)
        if found:
            out.setdefault("datasets", {}).update(found)
        return out


def _consolidated(data: Any, datasets: dict[str, Any]) -> Any:
    """Inline values as a named dataset, named by a hash of their JSON, as Altair names them."""
    if not isinstance(data, InlineData) or data["name"] is not Undefined or data["values"] is Undefined:
        return data
    values = data["values"]
    text = json.dumps(values, sort_keys=True, default=str)
    name = "empty" if values == [{}] else "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]
    datasets[name] = values
    return NamedData(name=name, format=data["format"])


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, val in update.items():
        out[key] = _merge(out[key], val) if isinstance(val, dict) and isinstance(out.get(key), dict) else val
    return out


class Chart(_Chart):
    """A single view: data, a mark and its encodings."""

    def __init__(self, data: Any = Undefined, **properties: Any) -> None:
        super().__init__(data=data, **properties)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("mark_"):
            return lambda **options: self._mark(name[5:], options)
        return super().__getattr__(name)

    def _mark(self, kind: str, options: dict[str, Any]) -> Chart:
        twin = self.copy()
        twin["mark"] = {"type": kind, **options}
        return twin

    def encode(self, **channels: Any) -> Chart:
        twin = self.copy()
        twin["encoding"] = {**(self["encoding"] or {}), **{k: _encoding(k, v) for k, v in channels.items()}}
        return twin

    def _transform(self, step: dict[str, Any]) -> Chart:
        twin = self.copy()
        twin["transform"] = [*(self["transform"] or []), step]
        return twin

    def transform_filter(self, predicate: Any) -> Chart:
        return self._transform({"filter": predicate})

    def transform_calculate(self, **named: str) -> Chart:
        twin = self
        for name, expr in named.items():
            twin = twin._transform({"calculate": expr, "as": name})
        return twin

    def transform_lookup(self, lookup: str, from_: Any, **options: Any) -> Chart:
        return self._transform({"lookup": lookup, "from": from_, **{_keyword(k): v for k, v in options.items()}})

    def project(self, type: str = "mercator", **options: Any) -> Chart:  # noqa: A002 (Altair's name)
        twin = self.copy()
        twin["projection"] = {"type": type, **options}
        return twin


def _lift_data(parent: _Chart, parts: list[Any]) -> list[Any]:
    """Data shared by every part (the same object, as Altair tests it) moves to the parent."""
    data = parent["data"]
    if not parts:
        return parts
    if data is Undefined:
        shared = parts[0]["data"]
        if shared is Undefined or any(p["data"] is not shared for p in parts):
            return parts
        parent["data"] = shared
    elif any(p["data"] is not Undefined and p["data"] is not data for p in parts):
        return parts
    lifted = []
    for p in parts:
        if p["data"] is not Undefined:
            p = p.copy()
            p["data"] = Undefined
        lifted.append(p)
    return lifted


def _no_params(parts: list[Any]) -> None:
    if any(p["params"] is not Undefined for p in parts):
        raise OptionError("charts with params are drawn with Altair.\nFix: make them outside detached_data().")


class LayerChart(_Chart):
    """Charts drawn over each other in one view."""

    def __init__(self, data: Any = Undefined, layer: Any = (), **properties: Any) -> None:
        super().__init__(data=data, **properties)
        parts = list(layer)
        _no_params(parts)
        parts = _lift_data(self, parts)
        # Vega-Lite allows no size on a layer: Altair moves it to the layer chart, where it must agree
        for prop in ("height", "width", "view"):
            own = self[prop]
            if own is Undefined:
                found = [p[prop] for p in parts if p[prop] is not Undefined]
                if found and any(f != found[0] for f in found[1:]):
                    raise OptionError(f"There are inconsistent values {found} for {prop}.\nFix: give the layers one {prop}.")
                if found:
                    self[prop] = found[0]
            elif any(p[prop] is not Undefined and p[prop] != own for p in parts):
                raise OptionError(f"There are inconsistent values for {prop}.\nFix: give the layers the layer chart's {prop}.")
            parts = [_without(p, prop) for p in parts]
        self["layer"] = parts


def _without(part: Any, prop: str) -> Any:
    if part[prop] is Undefined:
        return part
    twin = part.copy()
    twin[prop] = Undefined
    return twin


class _Concat(_Chart):
    key = ""

    def __init__(self, data: Any = Undefined, parts: Any = (), **properties: Any) -> None:
        super().__init__(data=data, **properties)
        parts = list(parts)
        _no_params(parts)
        self[self.key] = _lift_data(self, parts)


class HConcatChart(_Concat):
    """Charts side by side."""

    key = "hconcat"


class VConcatChart(_Concat):
    """Charts one above another."""

    key = "vconcat"


def layer(*charts: Any, **properties: Any) -> LayerChart:
    return LayerChart(layer=charts, **properties)


def hconcat(*charts: Any, **properties: Any) -> HConcatChart:
    return HConcatChart(parts=charts, **properties)


def vconcat(*charts: Any, **properties: Any) -> VConcatChart:
    return VConcatChart(parts=charts, **properties)
