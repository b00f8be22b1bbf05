"""Value for money: what each place spends, what it achieves, and what it would be expected to.

Four pieces, each usable alone, joined up by :func:`value_for_money`:

* :func:`unit_costs` — spend per head and per service user, in real terms when a deflator is
  given (HM Treasury (2022), *The Green Book*, ch. 5: real prices from a GDP deflator);
* :func:`cost_per_outcome` — spend per unit of outcome, with an interval carried through from the
  outcome's own confidence limits;
* :func:`expected_outcome` — the outcome expected given spend and need, by weighted regression,
  with each area's distance from it and a prediction interval;
* the efficient frontier by data envelopment analysis (:mod:`publicservices.stats.value.envelopment`).

Example:
    >>> import polars as pl
    >>> spend = pl.DataFrame({"area_code": ["A", "B"], "period": ["2023/24"] * 2,
    ...                       "service": ["health"] * 2, "spend": [2.0e6, 3.0e6]})
    >>> areas = pl.DataFrame({"area_code": ["A", "B"], "population": [1.0e4, 2.0e4]})
    >>> unit_costs(spend, areas)["spend_per_head"].to_list()
    [200.0, 150.0]
"""

from __future__ import annotations

from publicservices.stats.value.costs import cost_per_outcome, unit_costs
from publicservices.stats.value.envelopment import DEAResult, dea
from publicservices.stats.value.expected import ASSESSMENTS, expected_outcome
from publicservices.stats.value.frontier import service_frontier, value_for_money
from publicservices.stats.value.savings import frontier_savings, frontier_with_savings

__all__ = [
    "unit_costs",
    "cost_per_outcome",
    "expected_outcome",
    "value_for_money",
    "service_frontier",
    "frontier_savings",
    "frontier_with_savings",
    "dea",
    "DEAResult",
    "ASSESSMENTS",
]
