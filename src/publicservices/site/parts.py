"""Tables of every area on a large site, split by region onto pages of their own.

A table with a row per area grows with the site: at 7,000 areas an indicator's league table or
a sector's efficiency table is 850 KB of HTML, too much for a phone on a slow connection (the
budget is 300 KB a page). Above :data:`SPLIT_FROM` areas such a table moves to one page per
region (a region with more than :data:`PART_ROWS` areas gets several, in the table's order),
and its own page lists the parts with links, like the area index does.

Example:
    >>> part = Part("North East", "value/health/north-east.md", ("A1", "A2"))
    >>> part.html_path
    'value/health/north-east.html'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from publicservices.site.markup import link, table

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.site.model import SiteModel

__all__ = ["SPLIT_FROM", "PART_ROWS", "Part", "split_by_region", "parts_table", "rows_of"]

#: Above this many rows, a table of every area is split onto pages by region.
SPLIT_FROM = 1_000
#: The most rows on one part's page (about 100 KB of HTML with a link per row).
PART_ROWS = 500


@dataclass(frozen=True)
class Part:
    """One page of a split table: its title, its path in the docs tree, and its areas in table order."""

    title: str
    page: str
    codes: tuple[str, ...]

    @property
    def html_path(self) -> str:
        return self.page.removesuffix(".md") + ".html"


def split_by_region(model: SiteModel, folder: str, codes: Sequence[str]) -> list[Part]:
    """``codes`` (in table order) grouped by region, regions by name, ``folder/<region slug>.md`` each.

    Areas with no region share a part called "Areas without a region"; a region over
    :data:`PART_ROWS` areas is cut into numbered parts ("North East, part 2 of 3").
    """
    parents = dict(model.areas.select("area_code", "parent_code").iter_rows())
    names = dict(model.regions.iter_rows()) if model.regions.height else {}
    groups: dict[str | None, list[str]] = {}
    for code in codes:
        parent = parents.get(code)
        groups.setdefault(parent if parent in names else None, []).append(code)
    parts = []
    for parent in sorted(groups, key=lambda p: (p is None, names.get(p, "") if p else "")):
        members = groups[parent]
        title = names[parent] if parent is not None else "Areas without a region"
        stem = model.slugs.get(parent, "none") if parent is not None else "none"
        n = math.ceil(len(members) / PART_ROWS)
        for i in range(n):
            chunk = tuple(members[i * PART_ROWS : (i + 1) * PART_ROWS])
            suffix = "" if n == 1 else f"-{i + 1}"
            parts.append(Part(title if n == 1 else f"{title}, part {i + 1} of {n}", f"{folder}/{stem}{suffix}.md", chunk))
    return parts


def parts_table(page: str, parts: Sequence[Part], caption: str) -> str:
    """The table on the split table's own page: each part, linked, with its number of areas."""
    body = [[link(page, p.html_path, p.title), f"{len(p.codes):,}"] for p in parts]
    return table(["Region", "Areas"], body, caption=caption, raw=[True, False], numeric=[False, True])


def rows_of(frame: pl.DataFrame, part: Part) -> pl.DataFrame:
    """The rows of ``frame`` (with an ``area_code`` column) for one part, in the part's order."""
    order = pl.DataFrame({"area_code": list(part.codes)}).with_row_index("_order")
    return frame.join(order, on="area_code").sort("_order").drop("_order")
