"""Records -> indicator values at any scale: Polars streaming by default, Apache Spark when data outgrows it.

An indicator's :class:`~publicservices.record_definitions.RecordDefinition` says how it is
counted from records; :func:`aggregate` compiles the definitions into one lazy query per source
(narwhals: one code path for Polars and PySpark), rolls the small result up to every area level
and returns the data contract's values frame with a report of every record not counted.

Modules: :mod:`.definition` (the definition language and its TOML form), :mod:`.compile`
(definitions -> the lazy query), :mod:`.engines` (scanning files, Polars streaming, Spark),
:mod:`.levels` (roll-up through ``parent_code``), :mod:`.values` (population, intervals, DSR),
:mod:`.result` (:class:`AggregateResult`).

The package is ``aggregation`` so that ``ps.aggregate`` stays the function whatever is imported
(a package named ``aggregate`` would replace it as an attribute of ``publicservices``).

Example:
    >>> import publicservices as ps
    >>> import publicservices.aggregation.levels
    >>> ps.aggregate.__name__, ps.aggregate is aggregate
    ('aggregate', True)
"""

from __future__ import annotations

from publicservices.aggregation.definition import (
    AgeBands,
    Condition,
    RecordDefinition,
    definitions_from_toml,
    definitions_to_toml,
)
from publicservices.aggregation.result import AggregateResult
from publicservices.aggregation.run import aggregate

__all__ = [
    "aggregate",
    "AggregateResult",
    "RecordDefinition",
    "AgeBands",
    "Condition",
    "definitions_from_toml",
    "definitions_to_toml",
]
