"""The value-for-money pages: one per sector with spend, and the spend section of every area page.

Built from the demo nation (generate-only: the pages and data files, without the MkDocs step),
and checked against the statistics computed directly.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import polars as pl
import pytest

import publicservices as ps
from publicservices.site import publish
from publicservices.site.model import build_model
from publicservices.site.pages.value import money
from publicservices.stats.value import service_frontier

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("value") / "site"
    dataset = ps.demo()
    result = publish(dataset, out, generate_only=True)
    # every section the demo should have is there: nothing was dropped as "not shown"
    assert not [n for n in result.notes if "not shown" in n], result.notes
    return out, dataset


@pytest.fixture(scope="module")
def published(demo_site):
    """The dataset the site compares: after suppression, one comparison per set of areas."""
    return build_model(demo_site[1]).dataset


def _frontier_csv(out: Path, sector: str) -> pl.DataFrame:
    return pl.read_csv(out / f"docs/data/value/{sector}.csv")


def _page(path: Path) -> str:
    """A page's Markdown with the entities that escape data text turned back into characters."""
    return html.unescape(path.read_text())


def test_every_sector_with_spend_has_a_value_page_in_the_navigation(demo_site):
    out, dataset = demo_site
    config = json.loads((out / "mkdocs.yml").read_text().partition("\n")[2])
    value_nav = next(entry["Value for money"] for entry in config["nav"] if "Value for money" in entry)
    services = sorted(dataset.spend.get_column("service").unique().to_list())
    assert sorted(next(iter(e.values())) for e in value_nav) == [f"value/{s}.md" for s in services]
    for sector in services:
        text = _page(out / f"docs/value/{sector}.md")
        for heading in (
            "## Spend per head",
            "## What each indicator achieves for the spend",
            "## The areas that achieve the most for the least",
            "## What matching the peers would save",
        ):
            assert heading in text, (sector, heading)
        assert "95% range" in text and "upper bound, not a budget" in text
        assert "not shown" not in text


def test_the_frontier_table_is_the_service_frontier_computed_directly(demo_site, published):
    out, dataset = demo_site
    frame = _frontier_csv(out, "health")
    period = frame.get_column("period")[0]
    ids = [i for i, ind in dataset.indicators.items() if ind.service == "health" and ind.has_polarity]
    direct = service_frontier(published, "health", indicators=ids, periods=period).scores
    joined = frame.join(direct, on="area_code", suffix="_direct")
    assert joined.height == direct.height
    assert (joined.get_column("efficiency") - joined.get_column("efficiency_direct")).abs().max() < 1e-9
    scored = frame.filter(pl.col("efficiency").is_not_null())
    # an area's peers need no more than its spend per head, and frontier areas need all of it
    assert (scored.get_column("target_spend_per_head") <= scored.get_column("spend_per_head") * (1 + 1e-9)).all()
    efficient = scored.filter(pl.col("efficient"))
    assert (
        (efficient.get_column("target_spend_per_head") - efficient.get_column("spend_per_head")).abs()
        < 1e-6 * efficient.get_column("spend_per_head")
    ).all()
    text = _page(out / "docs/value/health.md")
    assert re.search(rf"\b{efficient.height} areas are best\s+value: no other area", text), text[:2000]


def test_savings_are_the_sum_of_each_areas_spend_beyond_its_peers(demo_site):
    out, _ = demo_site
    savings = pl.read_csv(out / "docs/data/all/value_savings.csv")
    for sector in savings.get_column("service"):
        frame = _frontier_csv(out, sector).filter(pl.col("efficiency").is_not_null())
        naive = frame.select(((1 - pl.col("efficiency")) * pl.col("spend_real")).sum()).item()
        row = savings.filter(pl.col("service") == sector).row(0, named=True)
        assert row["savings"] == pytest.approx(naive, rel=1e-9)
        assert row["savings_lower"] <= row["savings"] <= row["savings_upper"]
        assert f"would have been {money(row['savings'])} lower" in _page(out / f"docs/value/{sector}.md")


def test_each_area_page_has_its_spend_per_head_efficiency_and_expected_outcomes(demo_site):
    out, dataset = demo_site
    frame = _frontier_csv(out, "policing")
    row = frame.filter(pl.col("efficiency").is_not_null() & ~pl.col("efficient")).row(0, named=True)
    code, period = row["area_code"], row["period"]
    population = dataset.areas.filter(pl.col("area_code") == code).get_column("population").item()
    spend = (
        dataset.spend.filter(pl.col("area_code") == code, pl.col("period") == period, pl.col("service") == "policing")
        .get_column("spend")
        .item()
    )
    page = next((out / "docs/areas").glob(f"{code.lower()}*.md"), None) or next(
        p for p in (out / "docs/areas").glob("*.md") if f"**Code**: {code}" in p.read_text()
    )
    text = _page(page)
    section = text[text.index("## Spend and value for money") :]
    assert f"spent {money(spend / population)} per head on policing" in section  # nominal = real in the demo's base year
    assert f"with {row['efficiency']:.0%} of its spend per head" in section
    assert "Expected for spend and need (95%)" in section
    assert re.search(r"more than expected|as expected|less than expected", section)
