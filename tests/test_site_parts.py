"""Tables of every area on a large site are split by region onto pages of their own (300 KB page budget)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from publicservices.site import publish
from publicservices.site.parts import PART_ROWS, SPLIT_FROM, split_by_region
from publicservices.site.sample import sample_dataset


def _model(parents: dict[str, str | None]) -> SimpleNamespace:
    regions = sorted({p for p in parents.values() if p})
    return SimpleNamespace(
        areas=pl.DataFrame(
            {"area_code": list(parents), "parent_code": list(parents.values())},
            schema={"area_code": pl.String, "parent_code": pl.String},
        ),
        regions=pl.DataFrame({"parent_code": regions, "region_name": [f"Region {r}" for r in regions]}),
        slugs={r: r.lower() for r in regions},
    )


def test_parts_keep_every_area_once_in_table_order_grouped_by_region():
    parents = {f"A{i:05d}": ("R2" if i % 3 else "R1") if i % 7 else None for i in range(1, 2 * PART_ROWS + 50)}
    codes = sorted(parents, reverse=True)  # the table's own order, which each part keeps
    parts = split_by_region(_model(parents), "value/health", codes)
    assert sorted(c for p in parts for c in p.codes) == sorted(codes)
    assert all(len(p.codes) <= PART_ROWS for p in parts)
    for p in parts:
        assert list(p.codes) == [c for c in codes if c in set(p.codes)]
    assert [p.title for p in parts] == ["Region R1", "Region R2, part 1 of 2", "Region R2, part 2 of 2", "Areas without a region"]
    assert [p.page for p in parts] == [
        "value/health/r1.md",
        "value/health/r2-1.md",
        "value/health/r2-2.md",
        "value/health/none.md",
    ]
    assert parts[0].html_path == "value/health/r1.html"


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parts") / "site"
    publish(sample_dataset(n_areas=SPLIT_FROM + 200, n_periods=2, seed=1), out, generate_only=True)
    return out / "docs"


def test_a_large_sites_efficiency_table_is_split_by_region(large):
    main = (large / "value/health.md").read_text(encoding="utf-8")
    links = re.findall(r'<a href="(health/[^"]+\.html)">([^<]+)</a></td> <td class="ps-num">([\d,]+)</td>', main)
    assert len(links) == 9  # the sample's nine regions
    seen: list[str] = []
    for href, region, count in links:
        part = (large / "value" / href.replace(".html", ".md")).read_text(encoding="utf-8")
        assert f"# Value for money&#58; Health, {region}" in part
        areas = re.findall(r'<tr><td><a href="\.\./\.\./areas/([a-z0-9]+)\.html">', part)
        assert len(areas) == int(count.replace(",", ""))
        seen += areas
        # the how-to-read block links the glossary from two folders down
        assert 'href="../../glossary.html#best-value"' in part and 'href="../health.html"' in part
        assert len(part.encode()) < 150_000
    scored = len(set(seen))
    assert scored == len(seen) and scored > SPLIT_FROM  # every scored area once
    assert len(main.encode()) < 50_000


def test_a_large_sites_table_of_every_area_is_split_by_region_with_national_positions(large):
    main = (large / "indicators/health.sample_rate.md").read_text(encoding="utf-8")
    table = main.split("## All areas\n\n", 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><td><a href="(health\.sample_rate/[^"]+\.html)">[^<]+</a></td>((?: <td[^>]*>[^<]*</td>)+)</tr>', table
    )
    assert len(rows) == 9
    positions: list[int] = []
    total = 0
    for href, cells in rows:
        areas, better, similar, worse, other = (int(c.replace(",", "")) for c in re.findall(r">([\d,]+)<", cells))
        assert better + similar + worse + other == areas
        total += areas
        part = (large / "indicators" / href.replace(".html", ".md")).read_text(encoding="utf-8")
        body = part.split("<tbody>", 1)[1]
        # each row: its position among all areas, then a link to the area's page
        found = re.findall(r'<tr><td class="ps-num">([\d,]+|–)</td> <td><a href="\.\./\.\./areas/', body)
        assert len(found) == areas
        mine = [int(p.replace(",", "")) for p in found if p != "–"]
        assert mine == sorted(mine)  # best first within the region
        positions += mine
        assert 'href="../../glossary.html#benchmark"' in part and 'href="../health.sample_rate.html"' in part
        assert len(part.encode()) < 200_000
    assert total == SPLIT_FROM + 200
    # across the regions, the positions are one ranking of all areas (ties share the best place: 1, 1, 3 ...)
    ordered = sorted(positions)
    assert all(p == i + 1 or p == ordered[i - 1] for i, p in enumerate(ordered))
    assert len(main.encode()) < 150_000
