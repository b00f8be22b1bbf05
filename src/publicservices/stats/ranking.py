"""Honest comparisons: funnel limits, shrinkage, rank intervals and report-card grades.

One import point for the ranking family; the work lives in small modules:

* :mod:`publicservices.stats.funnel` -- PHE/Fingertips funnel limits and labels, exact limits
  with interpolation and Spiegelhalter's (2005) over-dispersion adjustment;
* :mod:`publicservices.stats.shrinkage` -- empirical-Bayes estimates and simulated rank
  intervals;
* :mod:`publicservices.stats.report_cards` -- A-F grades from weighted domains with a
  grade-stability check.

Example:
    >>> import polars as pl
    >>> from publicservices.stats.ranking import funnel_significance
    >>> df = pl.DataFrame({"numerator": [30.0, 60.0, 90.0], "denominator": [100.0, 100.0, 100.0]})
    >>> funnel_significance(df, statistic="proportion")["significance"].to_list()
    ['Low (0.001)', 'Not significant', 'High (0.001)']
"""

from __future__ import annotations

from publicservices.stats.funnel import (
    COMPARISON_LEVELS,
    SIGNIFICANCE_LEVELS,
    Funnel,
    exact_funnel_limits,
    funnel,
    funnel_limits,
    funnel_points,
    funnel_significance,
    poisson_funnel,
    sigma_adjustment,
    winsorised_dispersion,
)
from publicservices.stats.report_cards import DEFAULT_SCHEME, GRADES, report_cards
from publicservices.stats.rank_sets import rank_confidence_sets, top_k_set
from publicservices.stats.shrinkage import dersimonian_laird, rank_intervals, shrink, simulate_ranks

__all__ = [
    "rank_confidence_sets",
    "top_k_set",
    "COMPARISON_LEVELS",
    "GRADES",
    "DEFAULT_SCHEME",
    "SIGNIFICANCE_LEVELS",
    "Funnel",
    "dersimonian_laird",
    "exact_funnel_limits",
    "funnel",
    "funnel_limits",
    "funnel_points",
    "funnel_significance",
    "poisson_funnel",
    "rank_intervals",
    "report_cards",
    "shrink",
    "sigma_adjustment",
    "simulate_ranks",
    "winsorised_dispersion",
]
