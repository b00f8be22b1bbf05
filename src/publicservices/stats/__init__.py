"""Statistics over Polars expressions and frames: outcomes, fairness, value for money, ranking.

The work is organised by the question it answers: :mod:`.outcomes` (intervals, benchmark
comparison, standards, trends, quantiles), :mod:`.fairness` (dispersion, inequality, between-area
variation, the deprivation gradient, spatial), :mod:`.ranking` (funnels, shrinkage, rank
intervals and sets, report cards, comparators), :mod:`.disclosure`, and value for money
(:mod:`.value`, :mod:`.dea`). Every public name is imported from here.

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

# public name -> module in this package. The one import path of the frame API: the
# subpackages (outcomes, fairness, ranking) hold the work, by the question it answers.
_EXPORTS: dict[str, str] = {
    # outcomes: intervals
    "confidence_levels": "outcomes.levels",
    "level_suffix": "outcomes.levels",
    "limit_names": "outcomes.levels",
    "level_columns": "outcomes.levels",
    "wilson_ci": "outcomes.proportions",
    "clopper_pearson_ci": "outcomes.proportions",
    "proportions": "outcomes.grouped",
    "byar_ci": "outcomes.rates",
    "rates": "outcomes.grouped",
    "mean_ci": "outcomes.means",
    "mean_ci_from_sums": "outcomes.means",
    "means": "outcomes.means",
    "dsr": "outcomes.standardised",
    "isr": "outcomes.standardised",
    "interval_columns": "outcomes.intervals",
    "add_intervals": "outcomes.intervals",
    "standard_population": "outcomes.standard_populations",
    # outcomes: benchmark, standards, trends, SPC, quantiles, the orchestrator
    "compare_to_benchmark": "outcomes.benchmark",
    "benchmark_values": "outcomes.benchmark",
    "bh_qvalues": "outcomes.benchmark",
    "floor_status": "outcomes.standards",
    "distance_to_target": "outcomes.standards",
    "recent_trend": "outcomes.trends",
    "year_on_year": "outcomes.trends",
    "xmr": "outcomes.spc",
    "quantile": "outcomes.quantiles",
    "rank": "outcomes.quantiles",
    "value_quintiles": "outcomes.quantiles",
    "assess_outcomes": "outcomes.assess",
    # disclosure control
    "suppress": "disclosure",
    "Suppression": "disclosure",
    # fairness
    "dispersion_measures": "fairness.dispersion",
    "weighted_quantile": "fairness.dispersion",
    "coefficient_of_variation": "fairness.dispersion",
    "group_index": "_common",
    "gini": "fairness.inequality",
    "theil_t": "fairness.inequality",
    "theil_l": "fairness.inequality",
    "atkinson": "fairness.inequality",
    "inequality_indices": "fairness.inequality",
    "sii": "fairness.sii",
    "sii_level_suffixes": "fairness.sii",
    "between_area_variation": "fairness.variation",
    "reliability": "fairness.variation",
    "systematic_component": "fairness.variation",
    "standard_error": "fairness.variation",
    "dersimonian_laird": "fairness.tau2",
    "assign_quantiles": "fairness.gradient",
    "deprivation_gradient": "fairness.gradient",
    "morans_i": "fairness.spatial",
    "neighbour_pairs": "fairness.spatial",
    "assess_fairness": "fairness.assess",
    # ranking
    "funnel_limits": "ranking.phe_funnel",
    "funnel_significance": "ranking.phe_funnel",
    "funnel_points": "ranking.phe_funnel",
    "sigma_adjustment": "ranking.phe_funnel",
    "poisson_funnel": "ranking.phe_funnel",
    "exact_funnel_limits": "ranking.exact_funnel",
    "exact_tail_positions": "ranking.exact_funnel",
    "winsorised_dispersion": "ranking.exact_funnel",
    "Funnel": "ranking.funnels",
    "build_funnel": "ranking.funnels",
    "shrink": "ranking.shrinkage",
    "rank_intervals": "ranking.rank_intervals",
    "simulate_ranks": "ranking.rank_intervals",
    "rank_confidence_sets": "ranking.rank_sets",
    "top_k_set": "ranking.rank_sets",
    "compare_countries": "ranking.international",
    "build_report_cards": "ranking.report_cards",
    "gap_change": "ranking.closing_gaps",
    "gap_credit": "ranking.closing_gaps",
    "nearest_neighbours": "ranking.comparators",
    "compare_with_neighbours": "ranking.comparators",
    # value for money (modules of their own)
    "unit_costs": "value",
    "cost_per_outcome": "value",
    "expected_outcome": "value",
    "value_for_money": "value",
    "service_frontier": "value",
    "frontier_savings": "value",
    "frontier_with_savings": "value",
    "DEAResult": "value",
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
