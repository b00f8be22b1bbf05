"""Record definitions in TOML: read and write them (the language is in :mod:`publicservices.record_definitions`).

:class:`RecordDefinition`, :class:`AgeBands` and :class:`Condition` live in a module of their
own, below :mod:`publicservices.indicators`, so an indicator can hold a definition without
loading an engine; they are re-exported here. A TOML file holds one table per indicator id::

    ["health.ae_4hr"]
    source = "health.ae_attendances"
    numerator = {column = "minutes_in_department", le = 240}

Example:
    >>> text = definitions_to_toml({"health.ae_4hr": RecordDefinition(
    ...     source="health.ae_attendances", numerator={"column": "minutes_in_department", "le": 240},
    ...     exclusions=[("no arrival time", {"column": "minutes_in_department", "is_null": True})])})
    >>> print(text)
    ["health.ae_4hr"]
    source = "health.ae_attendances"
    numerator = {column = "minutes_in_department", le = 240}
    exclusions = [{reason = "no arrival time", when = {column = "minutes_in_department", is_null = true}}]
    <BLANKLINE>
    >>> definitions_from_toml(text)["health.ae_4hr"].numerator.value
    240
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from publicservices.errors import IndicatorError
from publicservices.record_definitions import AgeBands, Condition, RecordDefinition

__all__ = ["RecordDefinition", "AgeBands", "Condition", "definitions_from_toml", "definitions_to_toml"]


def definitions_from_toml(source: str | Path) -> dict[str, RecordDefinition]:
    """Read ``{indicator id: RecordDefinition}`` from TOML text or a ``.toml`` file."""
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith(".toml") and "\n" not in source):
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        text, where = str(source), "TOML text"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorError(f"record definitions in {where} are not valid TOML: {exc}.\nFix: correct the line named.") from None
    out = {}
    for key, table in data.items():
        if not isinstance(table, Mapping):
            raise IndicatorError(
                f'record definitions in {where}: {key!r} must be a table (["{key}"]).\nFix: one table per indicator id.'
            )
        out[key] = RecordDefinition.from_dict(table)
    return out


def definitions_to_toml(definitions: Mapping[str, RecordDefinition]) -> str:
    """Write ``{indicator id: RecordDefinition}`` as TOML that :func:`definitions_from_toml` reads back."""
    lines: list[str] = []
    for key, d in definitions.items():
        lines.append(f"[{json.dumps(str(key))}]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in d.to_dict().items()]
        lines.append("")
    return "\n".join(lines)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise IndicatorError(f"cannot write {v!r} ({type(v).__name__}) to TOML.\nFix: use numbers, strings, booleans or dates.")
