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
        assert "](../../glossary.md#best-value)" in part and 'href="../health.html"' in part
        assert len(part.encode()) < 150_000
    scored = len(set(seen))
    assert scored == len(seen) and scored > SPLIT_FROM  # every scored area once
    assert len(main.encode()) < 50_000
