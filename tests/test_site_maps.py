"""Indicator pages' maps: coloured by comparison with the benchmark or by value (fifths of areas), as two tabs.

Issue 18, item 3: the legend says which colouring a map uses, and the map by value states its classes.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import polars as pl
import pytest

from publicservices.charts import hex_map
from publicservices.display import format_number
from publicservices.site import publish

IND = "health.ae_4hr"  # higher is better, with confidence intervals
HOSTILE = '<script>alert("map")</script> *x* [y](z)'


def chart_specs(site: Path, ind_id: str) -> dict[str, dict]:
    """Every chart spec of an indicator's page, by key (from its chart script)."""
    specs = {}
    for line in (site / f"charts/indicators/{ind_id}.js").read_text(encoding="utf-8").splitlines():
        key, _, spec = line.partition("] = ")
        specs[json.loads(key.split("[", 1)[1])] = json.loads(spec.rstrip(";"))
    return specs


def colour_of(spec: dict) -> dict:
    colour = spec["encoding"]["color"]
    return colour.get("condition", colour)


def features(spec: dict) -> list[dict]:
    """The hex tiles of a map spec, inline or in its named dataset."""
    data = spec["data"]
    held = data["values"] if "values" in data else spec["datasets"][data["name"]]
    return held["features"] if isinstance(held, dict) else held  # a FeatureCollection, or its features


def tab_labels(page: str) -> list[str]:
    labels = re.search(r'<div class="tabbed-labels">(.*?)</div>', page, flags=re.S)
    assert labels is not None, "no tabs"
    return [html.unescape(t) for t in re.findall(r"<label [^>]*>(.*?)</label>", labels.group(1))]


def fifths_of(values: list[float]) -> list[tuple[float, float]]:
    """Lowest and highest value of each fifth of ``values`` (no ties: fifths of equal size)."""
    ordered = sorted(values)
    n = len(ordered)
    assert n % 5 == 0 and len(set(ordered)) == n
    size = n // 5
    return [(ordered[i * size], ordered[(i + 1) * size - 1]) for i in range(5)]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps") / "site"
    publish(None, out, indicators=[IND])
    return out


def test_an_indicator_page_offers_both_colourings_as_tabs(demo_site):
    page = (demo_site / f"indicators/{IND}.html").read_text(encoding="utf-8")
    assert 'class="tabbed-set tabbed-alternate' in page
    assert tab_labels(page) == ["Compared with the benchmark", "By value"]
    # the comparison tab is the one chosen; each tab holds its map, with a text summary in the caption
    inputs = re.findall(r"<input[^>]*>", page.split('class="tabbed-set', 1)[1].split("tabbed-labels", 1)[0])
    assert len(inputs) == 2 and 'checked="checked"' in inputs[0] and "checked" not in inputs[1]
    blocks = re.findall(r'<div class="tabbed-block">\s*(<figure .*?</figure>)', page, flags=re.S)
    assert [re.search(r'data-spec="([^"]+)"', b).group(1) for b in blocks] == [  # type: ignore[union-attr]
        f"indicators/{IND}/map",
        f"indicators/{IND}/map_value",
    ]
    assert "Compared with the benchmark:" in blocks[0] and "Coloured by value, in fifths of areas:" in blocks[1]


def test_the_map_by_value_states_its_fifths_and_their_ranges(demo_site):
    specs = chart_specs(demo_site, IND)
    assert colour_of(specs[f"indicators/{IND}/map"])["title"] == "Compared with the benchmark (95%)"
    spec = specs[f"indicators/{IND}/map_value"]
    colour = colour_of(spec)
    domain, colours = colour["scale"]["domain"], colour["scale"]["range"]
    assert len(domain) == 5 and len(colours) == 5 and len(set(colours)) == 5
    # the data's fifths, computed here from the page's CSV: lowest to highest value in each
    data = pl.read_csv(demo_site / f"data/indicators/{IND}.csv", infer_schema_length=None)
    latest = data.filter(pl.col("period_start") == pl.col("period_start").max())
    values = latest.filter(pl.col("value").is_not_null() & pl.col("suppressed").is_null()).get_column("value").to_list()
    ranges = [f"{format_number(lo)}–{format_number(hi, unit='%')}" for lo, hi in fifths_of(values)]
    # higher is better: the lowest fifth is the worst, read first; the best fifth is blue, the "better" colour
    words = ["Worst", "Worse", "Middle", "Better", "Best"]
    assert domain == [f"{w}: {r}" for w, r in zip(words, ranges, strict=True)]
    assert colour["title"] == f"Fifths of areas by value (lowest fifth: {ranges[0]})"
    assert colours[-1] == "#0072B2" and colours[0] == "#D55E00"
    # every area with a value is in one of the five, the same number in each
    classes = [f["properties"]["_class"] for f in features(spec) if f["properties"]["value"] is not None]
    assert sorted(set(classes)) == sorted(domain) and {classes.count(d) for d in domain} == {len(values) // 5}
    # the caption's summary gives the same ranges
    assert all(f"{len(values) // 5} {w.lower()} ({r})" in spec["description"] for w, r in zip(words, ranges, strict=True))


@pytest.fixture(scope="module")
def no_intervals(tmp_path_factory):
    """The demo's A&E indicator as values only (no counts, so no intervals), one area with a hostile name."""
    from publicservices.dataset import Dataset
    from publicservices.synthetic import demo

    full = demo().filter(indicators=IND)
    latest = full.values.get_column("period").max()
    values = full.values.filter(pl.col("period") == latest).with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c) for c in ("numerator", "denominator", "lower_ci", "upper_ci")
    )
    first = values.get_column("area_code")[0]
    areas = full.areas.with_columns(
        pl.when(pl.col("area_code") == first).then(pl.lit(HOSTILE)).otherwise(pl.col("area_name")).alias("area_name")
    )
    dataset = Dataset(values, areas, full.spend, full.indicators, metadata=full.metadata)
    out = tmp_path_factory.mktemp("maps") / "site"
    publish(dataset, out, generate_only=True)
    return out / "docs"


def test_without_intervals_the_map_by_value_comes_first_and_the_page_says_why(no_intervals):
    page = (no_intervals / f"indicators/{IND}.md").read_text(encoding="utf-8")
    assert tab_labels(page) == ["By value", "Compared with the benchmark"]
    section = page.split('class="tabbed-set', 1)[1].split("</div>\n</div>", 1)[0]
    blocks = re.findall(r'<div class="tabbed-block">\s*(.*?)\s*</div>\n(?=<div class="tabbed-block">|$)', section, flags=re.S)
    assert blocks[0].startswith("<figure ") and f'data-spec="indicators/{IND}/map_value"' in blocks[0]
    assert re.search(r"<p>There is no map compared with the benchmark: these figures have no confidence intervals", section)
    specs = chart_specs(no_intervals, IND)
    assert f"indicators/{IND}/map_value" in specs and f"indicators/{IND}/map" not in specs
    assert len(colour_of(specs[f"indicators/{IND}/map_value"])["scale"]["domain"]) == 5
    # the hostile name is text in the page and data in the chart script, never markup
    assert "<script>alert" not in page and "<script>alert" not in (no_intervals / f"charts/indicators/{IND}.js").read_text()
    names = [f["properties"]["_label"] for f in features(specs[f"indicators/{IND}/map_value"])]
    assert HOSTILE in names


def test_hex_map_by_value_with_class_ranges():
    frame = pl.DataFrame(
        {
            "area_code": list("ABCDE"),
            "area_name": ["A", "B", "C", "D", HOSTILE],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
            "quintile_label": ["Lowest", "Low", "Middle", "High", "Highest"],
        }
    )
    areas = pl.DataFrame({"area_code": list("ABCDE"), "hex_q": [0, 1, 2, 3, 4], "hex_r": [0] * 5})
    ranges = {w: f"{i}.0" for i, w in enumerate(["Lowest", "Low", "Middle", "High", "Highest"], 1)}
    spec = hex_map(frame, areas, classes="quintile_label", class_ranges=ranges).to_dict()
    colour = colour_of(spec)
    assert colour["title"] == "Fifths of areas by value (lowest fifth: 1.0)"
    assert colour["scale"]["domain"] == ["Lowest: 1.0", "Low: 2.0", "Middle: 3.0", "High: 4.0", "Highest: 5.0"]
    # no direction: a single-hue sequential ramp, no "better" or "worse" colour
    assert colour["scale"]["range"] == ["#DEEBF7", "#9ECAE1", "#6BAED6", "#3182BD", "#08519C"]
    assert "1 lowest (1.0)" in spec["description"]
    # without ranges the classes are the labels themselves
    plain = colour_of(hex_map(frame, areas, classes="quintile_label").to_dict())
    assert plain["title"] == "Fifths of areas by value" and plain["scale"]["domain"][0] == "Lowest"
