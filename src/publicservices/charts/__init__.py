"""Altair chart builders: funnel, league table, spine, maps, trend, gradient, frontier, grades.

Each function takes a result frame (from ``publicservices.stats`` or a result object's
``.frame``) and returns an Altair chart with a title, units, tooltips, polarity-aware
colour-blind-safe colours and a plain-text description (the Vega-Lite ``description``; read
it back with :func:`describe`). Charts draw results; they never compute statistics.

Only the columns a chart draws are embedded, as inline values: Altair's max-rows check
never fires and the global data transformer is never touched.

Altair is imported inside the functions, so ``import publicservices`` never loads it.
"""

from __future__ import annotations

from publicservices.charts._common import chart_spec, describe, detached_data
from publicservices.charts.frontier import frontier_chart
from publicservices.charts.funnel import funnel_plot, limit_lines
from publicservices.charts.grades import GRADE_COLOURS, report_card_chart
from publicservices.charts.gradient import gradient_chart
from publicservices.charts.international import country_chart
from publicservices.charts.league import league_table
from publicservices.charts.lottery import lottery_chart
from publicservices.charts.maps import choropleth, hex_map, hex_polygons, subset_topojson
from publicservices.charts.spine import spine_chart, spine_frame
from publicservices.charts.trend import trend_chart

__all__ = [
    "chart_spec",
    "describe",
    "detached_data",
    "funnel_plot",
    "limit_lines",
    "league_table",
    "spine_chart",
    "spine_frame",
    "choropleth",
    "hex_map",
    "hex_polygons",
    "subset_topojson",
    "trend_chart",
    "gradient_chart",
    "lottery_chart",
    "frontier_chart",
    "report_card_chart",
    "country_chart",
    "GRADE_COLOURS",
]
