"""The pages of the site, as Markdown with HTML tables and chart figures inside.

Every string that comes from the data goes through :mod:`publicservices.site.safety`:
``md_text`` in prose and headings, ``html_text`` (via :func:`markup.table`) in tables and
attributes, ``js_json`` in chart scripts. Links inside HTML are written as the built
``.html`` paths, relative to the page.
"""

from __future__ import annotations

import dataclasses

from publicservices.site.pages.area import AreaPages
from publicservices.site.pages.indicator import IndicatorPages
from publicservices.site.pages.overview import OverviewPages
from publicservices.site.pages.reference import ReferencePages
from publicservices.site.pages.words import (
    COMPACT_FROM,
    METHODS_VERSION,
    NATIONS,
    NO_INTERVALS,
    OVERDISPERSED,
    REGION_PAGES_FROM,
    Benchmark,
    change,
    comparison_text,
    fifths,
    interval,
    low_reliability,
    missing,
    num,
    percent,
    public_definition,
    public_text,
    reason_text,
    sector_title,
    untitled_note,
    value_text,
)

__all__ = [
    "Pages",
    "Benchmark",
    "COMPACT_FROM",
    "METHODS_VERSION",
    "NATIONS",
    "NO_INTERVALS",
    "OVERDISPERSED",
    "REGION_PAGES_FROM",
    "change",
    "comparison_text",
    "fifths",
    "interval",
    "low_reliability",
    "missing",
    "num",
    "percent",
    "public_definition",
    "public_text",
    "reason_text",
    "sector_title",
    "untitled_note",
    "value_text",
]


@dataclasses.dataclass
class Pages(OverviewPages, IndicatorPages, AreaPages, ReferencePages):
    """Writes every page of one site from its :class:`~publicservices.site.model.SiteModel`."""
