"""The JSON Schema a site project file is checked against, and the data contract's columns it maps onto."""

from __future__ import annotations

from typing import Any

__all__ = ["CONTRACT_COLUMNS", "SCHEMA"]

CONTRACT_COLUMNS = (
    "indicator_id",
    "area_code",
    "area_name",
    "period",
    "period_start",
    "numerator",
    "denominator",
    "value",
    "lower_ci",
    "upper_ci",
    "sex",
    "age",
    "category_type",
    "category",
)
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    # `sources` (values files) or `records` (record-level sources that `publish` aggregates
    # first), or both: project._checked says so in words when both are missing
    "properties": {
        "site": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "title": {"type": "string"},
                "about": {"type": "string"},
                "base_url": {"type": "string"},
                "out": {"type": "string"},
                "sectors": {"type": "array", "items": {"type": "string"}},
                "indicators": {"type": "array", "items": {"type": "string"}},
            },
        },
        "sources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["path"],
                "properties": {
                    "path": {"type": "string"},
                    "format": {"type": "string"},
                    "sheet": {"type": "string"},
                    "map": _STR_MAP,
                    "set": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
                    "licence": {"type": "string"},
                    "attribution": {"type": "string"},
                },
            },
        },
        "records": {
            "type": "object",
            "additionalProperties": False,
            "required": ["sources"],
            "properties": {
                # record source name (as indicators' records definitions name it) -> path or glob
                "sources": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
                "population": {"type": "string"},
                "areas": {"type": "string"},
                "indicators": {"type": "array", "items": {"type": "string"}},
                "periods": {"type": "array", "items": {"type": "string"}},
                "engine": {"enum": ["polars", "spark"]},
            },
        },
        "indicators": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "sector": {"type": "string"},
                    "measure": {"enum": ["proportion", "rate", "mean", "dsr", "ratio", "score"]},
                    "multiplier": {"type": "number", "exclusiveMinimum": 0},
                    "unit": {"type": "string"},
                    "polarity": {"enum": ["higher_is_better", "lower_is_better", "no_judgement"]},
                    "role": {"enum": ["outcome", "context"]},
                    "floor": {"type": "number"},
                    "target": {"type": "number"},
                    "service": {"type": "string"},
                    "source": {"type": "string"},
                    "definition": {"type": "string"},
                },
            },
        },
        "areas": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"context": {"type": "array", "items": {"type": "string"}}},
        },
        "spend": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {"path": {"type": "string"}, "services": _STR_MAP},
        },
        "geography": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "boundaries": {"type": "string"},
                "layer": {"type": "string"},
                "comparable_sets": {"type": "array", "items": {"type": "string"}},
                "area_types": {"type": "array", "items": {"type": "string"}},
                "benchmark": {"type": ["string", "number"]},
            },
        },
        "international": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string"},
                "format": {"type": "string"},
                "licence": {"type": "string"},
                "attribution": {"type": "string"},
            },
        },
        "judgement": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "suppress_threshold": {"type": "integer", "minimum": 0},
                "overdispersion": {"enum": ["auto", "none", "additive", "multiplicative"]},
            },
        },
    },
}
