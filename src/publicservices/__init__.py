"""publicservices: compare how well public services perform across places.

Outcomes, fairness (the postcode lottery) and value for money over Polars frames; sector
indicators from plugins; Altair charts; a static comparison website.

Example:
    >>> import publicservices as ps
    >>> ps.Indicator  # doctest: +ELLIPSIS
    <class 'publicservices.indicators.Indicator'>

Names are imported lazily on first use, so ``import publicservices`` stays light: it does
not import Altair, MkDocs, SciPy, pandas or any plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from publicservices.__about__ import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "PublicServicesError": "publicservices.errors",
    "SchemaError": "publicservices.errors",
    "DataError": "publicservices.errors",
    "IndicatorError": "publicservices.errors",
    "PluginError": "publicservices.errors",
    "ReaderError": "publicservices.errors",
    "MetadataError": "publicservices.errors",
    "OptionError": "publicservices.errors",
    "MissingDependency": "publicservices.errors",
    # the data contract
    "Indicator": "publicservices.indicators",
    "Dataset": "publicservices.dataset",
    "validate_values": "publicservices.frame",
    "validate_areas": "publicservices.frame",
    "validate_spend": "publicservices.frame",
    # reading
    "read": "publicservices.reading",
    "readers": "publicservices.reading",
    "read_csv": "publicservices.reading",
    "Reader": "publicservices.reading",
    "ReadResult": "publicservices.reading",
    "LoadReport": "publicservices.reading",
    "combine": "publicservices.combining",
    "read_many": "publicservices.combining",
    "CombineResult": "publicservices.combining",
    # geography: levels, comparable sets, benchmarks
    "area_geography": "publicservices.geography",
    "comparable_sets": "publicservices.geography",
    "comparison_values": "publicservices.comparison",
    # the synthetic demo nation
    "demo": "publicservices.synthetic",
    "demo_records": "publicservices.synthetic",
    "DemoNation": "publicservices.synthetic",
    "DemoData": "publicservices.synthetic",
    "hex_neighbours": "publicservices.synthetic",
    # records -> values (Polars streaming or Spark)
    "aggregate": "publicservices.aggregation",
    "AggregateResult": "publicservices.aggregation.result",
    "RecordDefinition": "publicservices.record_definitions",
    "AgeBands": "publicservices.record_definitions",
    # statistics: frames in, frames out
    # ps.outcomes / ps.fairness run the frame-level orchestrators (stats.assess_outcomes / assess_fairness)
    "outcomes": "publicservices.stats.outcomes.assess:assess_outcomes",
    "fairness": "publicservices.stats.fairness.assess:assess_fairness",
    "value_for_money": "publicservices.stats.value",
    "service_frontier": "publicservices.stats.value",
    "frontier_savings": "publicservices.stats.value",
    "dea": "publicservices.stats.value",
    "nearest_neighbours": "publicservices.stats.ranking.comparators",
    "compare_with_neighbours": "publicservices.stats.ranking.comparators",
    # results that explain themselves
    "compare": "publicservices.results",
    "postcode_lottery": "publicservices.results",
    "spend_vs_outcome": "publicservices.results",
    "funnel_check": "publicservices.results",
    "rank_areas": "publicservices.results",
    "grade_areas": "publicservices.results",
    "compare_internationally": "publicservices.results",
    "area_profile": "publicservices.results",
    "AreaProfileResult": "publicservices.results",
    "InternationalResult": "publicservices.results",
    "OutcomeResult": "publicservices.results",
    "FairnessResult": "publicservices.results",
    "ValueResult": "publicservices.results",
    "FunnelResult": "publicservices.results",
    "RankingResult": "publicservices.results",
    "ReportCardResult": "publicservices.results",
    # plugins
    "hookimpl": "publicservices.hookspecs",
    "registered_indicators": "publicservices.plugins",
    "registered_sectors": "publicservices.plugins",
    "registered_comparators": "publicservices.plugins",
    "InternationalComparator": "publicservices.international_comparators",
    "Sector": "publicservices.sectors",
    "ReportCardScheme": "publicservices.sectors",
    "ClosingGap": "publicservices.sectors",
    "DemoSpend": "publicservices.sectors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.aggregation import aggregate
    from publicservices.aggregation.result import AggregateResult
    from publicservices.combining import CombineResult, combine, read_many
    from publicservices.comparison import comparison_values
    from publicservices.dataset import Dataset
    from publicservices.errors import (
        DataError,
        IndicatorError,
        MetadataError,
        MissingDependency,
        OptionError,
        PluginError,
        PublicServicesError,
        ReaderError,
        SchemaError,
    )
    from publicservices.frame import validate_areas, validate_spend, validate_values
    from publicservices.geography import area_geography, comparable_sets
    from publicservices.hookspecs import hookimpl
    from publicservices.indicators import Indicator
    from publicservices.international_comparators import InternationalComparator
    from publicservices.plugins import registered_comparators, registered_indicators, registered_sectors
    from publicservices.reading import LoadReport, Reader, ReadResult, read, read_csv, readers
    from publicservices.record_definitions import AgeBands, RecordDefinition
    from publicservices.results import (
        AreaProfileResult,
        FairnessResult,
        FunnelResult,
        InternationalResult,
        OutcomeResult,
        RankingResult,
        ReportCardResult,
        ValueResult,
        area_profile,
        compare,
        compare_internationally,
        funnel_check,
        grade_areas,
        postcode_lottery,
        rank_areas,
        spend_vs_outcome,
    )
    from publicservices.sectors import ClosingGap, DemoSpend, ReportCardScheme, Sector
    from publicservices.stats.fairness.assess import assess_fairness as fairness
    from publicservices.stats.outcomes.assess import assess_outcomes as outcomes
    from publicservices.stats.ranking.comparators import compare_with_neighbours, nearest_neighbours
    from publicservices.stats.value import dea, frontier_savings, service_frontier, value_for_money
    from publicservices.synthetic import DemoData, DemoNation, demo, demo_records, hex_neighbours


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'publicservices' has no attribute {name!r}")
    module, _, attribute = module.partition(":")  # "module:attribute" when the names differ
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
