"""Statistics over Polars expressions and frames: outcomes, fairness, value for money, ranking.

Each building block is a pure function of Polars frames (and NumPy/SciPy where a solver is
needed), documented with its method and reference. Names load lazily: importing
``publicservices.stats`` imports no statistics module until a name is used.

Example:
    >>> import polars as pl
    >>> from publicservices.stats import wilson_ci
    >>> [round(v, 4) for v in pl.DataFrame({"x": [3], "n": [10]}).select(ci=wilson_ci("x", "n")).unnest("ci").row(0)]
    [0.1078, 0.6032]
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module in this package. A function named like its module (``outcomes``,
# ``fairness``, ``dea`` ...) is not listed: importing the submodule would replace the
# package attribute with the module. Import those from their module, or use ``ps.outcomes``.
_EXPORTS: dict[str, str] = {
    "rank_confidence_sets": "rank_sets",
    "top_k_set": "rank_sets",
    "confidence_levels": "intervals",
    "level_suffix": "intervals",
    "limit_names": "intervals",
    "wilson_ci": "intervals",
    "clopper_pearson_ci": "intervals",
    "byar_ci": "intervals",
    "mean_ci": "intervals",
    "interval_columns": "intervals",
    "proportions": "intervals",
    "rates": "intervals",
    "means": "intervals",
    "dsr": "intervals",
    "isr": "intervals",
    "add_intervals": "intervals",
    "standard_population": "standard_populations",
    "compare": "outcomes",
    "benchmark_values": "outcomes",
    "bh_qvalues": "outcomes",
    "floor_status": "outcomes",
    "distance_to_target": "outcomes",
    "level_columns": "outcomes",
    "recent_trend": "trends",
    "year_on_year": "trends",
    "xmr": "spc",
    "quantile": "quantiles",
    "rank": "quantiles",
    "suppress": "disclosure",
    "Suppression": "disclosure",
    "weighted_quantile": "dispersion",
    "coefficient_of_variation": "dispersion",
    "group_index": "dispersion",
    "gini": "inequality",
    "theil_t": "inequality",
    "theil_l": "inequality",
    "atkinson": "inequality",
    "between_area_variation": "variation",
    "reliability": "variation",
    "systematic_component": "variation",
    "standard_error": "variation",
    "assign_quantiles": "gradient",
    "sii": "gradient",
    "deprivation_gradient": "gradient",
    "sii_level_suffixes": "gradient",
    "morans_i": "spatial",
    "neighbour_pairs": "spatial",
    "Funnel": "funnel",
    "funnel_limits": "funnel",
    "funnel_significance": "funnel",
    "funnel_points": "funnel",
    "exact_funnel_limits": "funnel",
    "sigma_adjustment": "funnel",
    "poisson_funnel": "funnel",
    "winsorised_dispersion": "funnel",
    "shrink": "shrinkage",
    "rank_intervals": "shrinkage",
    "simulate_ranks": "shrinkage",
    "dersimonian_laird": "shrinkage",
    "unit_costs": "value",
    "cost_per_outcome": "value",
    "expected_outcome": "value",
    "value_for_money": "value",
    "service_frontier": "value",
    "frontier_savings": "value",
    "DEAResult": "value",
    "nearest_neighbours": "comparators",
    "compare_with_neighbours": "comparators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'publicservices.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"publicservices.stats.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
