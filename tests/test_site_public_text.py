"""What a reader of the built demo site gets: readable downloads, unambiguous units, and a
footer naming only the plugins the published data used.

One site of the demo nation's health sector (generate-only: pages and data files, without the
MkDocs step), built once for the module.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

import publicservices as ps
from publicservices.site import publish
from publicservices.site.build import MANIFEST, versions

pytestmark = pytest.mark.slow

OTHER_SECTORS = ("publicservices-schools", "publicservices-policing", "publicservices-welfare")


@pytest.fixture(scope="module")
def health_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("words") / "site"
    publish(ps.demo(), out, sectors=["health"], generate_only=True)
    return out


def _pages(site: Path) -> dict[str, str]:
    """Every page's Markdown with the entities that escape data text turned back into characters."""
    return {p.relative_to(site).as_posix(): html.unescape(p.read_text(encoding="utf-8")) for p in (site / "docs").rglob("*.md")}


# A printed Python or Polars object in a cell: "shape: (1,)", "Series: ''", "['E06000001']", "{'a': 1}".
PRINTED = re.compile(r"shape: \(|Series|^\s*[\[{(]|[\]}]\s*$")


def test_no_csv_cell_holds_a_printed_object(health_site):
    files = sorted((health_site / "docs/data").rglob("*.csv"))
    assert any(f.name == "value_for_money.csv" for f in files)
    for path in files:
        frame = pl.read_csv(path, infer_schema=False)
        for name in frame.columns:
            bad = frame.get_column(name).drop_nulls().filter(frame.get_column(name).drop_nulls().str.contains(PRINTED.pattern))
            assert bad.len() == 0, (path.relative_to(health_site).as_posix(), name, bad.head(2).to_list())
    # the peers DEA compared each area with: the area codes, joined
    peers = pl.read_csv(health_site / "docs/data/all/value_for_money.csv", infer_schema=False).get_column("dea_peers")
    shown = peers.drop_nulls().filter(peers.drop_nulls() != "")
    assert shown.len() > 0
    assert shown.str.contains(r"^[A-Z]\d{8}(; [A-Z]\d{8})*$").all(), shown.head(3).to_list()
    # and the Parquet file keeps the list itself
    assert pl.read_parquet(health_site / "docs/data/all/value_for_money.parquet").schema["dea_peers"] == pl.List(pl.String)


def test_a_relative_spread_is_never_mistaken_for_percentage_points(health_site):
    pages = _pages(health_site)
    found = 0
    for name, text in pages.items():
        for match in re.finditer(r"±\s*\d[\d.,]*%(.{0,40})", text):
            found += 1
            assert match.group(1).startswith((" of the national value", " of that value")), (name, match.group(0))
    assert found > 0
    # and on a percentage indicator's page the reader is told it is not percentage points
    assert "a relative difference, not percentage points" in pages["docs/indicators/health.ae_4hr.md"]


def test_a_slope_index_of_inequality_is_in_the_indicators_units(health_site):
    pages = _pages(health_site)
    units = {i.id: i.unit for i in ps.demo().indicators.values()}
    seen = 0
    for name, text in pages.items():
        for match in re.finditer(r"slope index of inequality\)? is -?\d[\d.,]*([^(:;]*)", text):
            seen += 1
            assert not match.group(1).startswith("%"), (name, match.group(0))  # "0.918%": a percentage of what?
            ind = name.rsplit("/", 1)[-1].removesuffix(".md")
            if units.get(ind) == "%":
                assert match.group(1).startswith(" percentage point"), (name, match.group(0))
    assert seen > 0


def test_the_footer_and_manifest_name_only_the_plugins_the_data_used(health_site):
    manifest = json.loads((health_site / MANIFEST).read_text())
    listed = manifest["versions"]
    assert "publicservices-health" in listed and not set(OTHER_SECTORS) & set(listed), listed
    footer = json.loads((health_site / "mkdocs.yml").read_text().partition("\n")[2])["copyright"]
    assert "publicservices-health" in footer and not any(d in footer for d in OTHER_SECTORS), footer


def test_versions_follow_the_indicators_sectors_and_readers_used():
    def model(indicators, sectors, readers=()):
        return SimpleNamespace(
            indicators=dict.fromkeys(indicators),
            sectors=list(sectors),
            dataset=SimpleNamespace(metadata={"readers": list(readers)}),
            international=None,
        )

    plugins = [d for d in versions(model(["health.ae_4hr"], ["health"])) if d.startswith("publicservices-")]
    assert plugins == ["publicservices-health"]
    plugins = [d for d in versions(model(["schools.progress8"], ["schools"])) if d.startswith("publicservices-")]
    assert plugins == ["publicservices-schools"]
    assert not [d for d in versions() if d.startswith("publicservices-")]  # no data: no plugin
    # a file read through the built-in contract reader adds no installed plugin
    assert versions(model(["health.ae_4hr"], ["health"], ["contract"])) == versions(model(["health.ae_4hr"], ["health"]))
