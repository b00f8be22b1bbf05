"""Result objects: a Polars frame that explains itself and draws the right chart.

Every result has

* ``.frame`` -- the plain Polars DataFrame, for the next step of an analysis;
* ``.summary()`` -- plain-language sentences saying what the numbers mean;
* ``.chart(kind=None, ...)`` -- the Altair chart a statistician would choose;
* ``_repr_html_`` -- headline sentences and the first rows as a compact table, readable in
  light and dark notebook themes (JupyterLab, VS Code, Quarto), and ``__repr__`` -- the
  same as plain text for terminals.

Results are made by the convenience functions here (:func:`compare`,
:func:`postcode_lottery`, :func:`spend_vs_outcome`, :func:`funnel_check`,
:func:`rank_areas`, :func:`grade_areas`), which call the statistics in
``publicservices.stats``, or from a frame you already have with ``Result.from_frame(frame,
dataset)``. The statistics live in ``stats``; charts and display only read results.

Example:
    >>> import polars as pl
    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="demo.x", title="Share seen on time", sector="demo", measure="proportion",
    ...                 multiplier=100, polarity="higher_is_better", unit="%")
    >>> frame = pl.DataFrame({"indicator_id": ["demo.x"] * 3, "area_code": ["A", "B", "C"],
    ...     "period": ["2023"] * 3, "value": [70.0, 80.0, 91.0], "lower_95": [65.0, 76.0, 88.0],
    ...     "upper_95": [75.0, 84.0, 94.0], "benchmark_value": [80.0] * 3,
    ...     "comparison_95": ["worse", "similar", "better"]})
    >>> result = OutcomeResult.from_frame(frame, indicators=[ind])
    >>> print(result.summary())
    Share seen on time, 2023: of 3 areas with a value, 1 is better than the benchmark (80.0%), 1 similar and 1 worse, at 95% confidence.
"""

from __future__ import annotations

from publicservices.results._base import Result
from publicservices.results.fairness import FairnessResult, decile_values, postcode_lottery
from publicservices.results.funnel import FunnelResult, funnel_check
from publicservices.results.international import InternationalResult, compare_internationally
from publicservices.results.outcomes import OutcomeResult, compare
from publicservices.results.profile import AreaProfileResult, area_profile
from publicservices.results.ranking import RankingResult, rank_areas
from publicservices.results.report_cards import ReportCardResult, grade_areas
from publicservices.results.value import ValueResult, spend_vs_outcome

__all__ = [
    "Result",
    "OutcomeResult",
    "FairnessResult",
    "ValueResult",
    "FunnelResult",
    "RankingResult",
    "ReportCardResult",
    "InternationalResult",
    "AreaProfileResult",
    "compare",
    "postcode_lottery",
    "spend_vs_outcome",
    "funnel_check",
    "rank_areas",
    "grade_areas",
    "compare_internationally",
    "area_profile",
    "decile_values",
]
