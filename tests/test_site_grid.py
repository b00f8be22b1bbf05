"""The grid of areas × indicators on sector and region pages (issue 18, item 2).

Read from the generated Markdown (``publish(..., generate_only=True)``): the grid is one raw
HTML block there, passed through by MkDocs as it is. The browser test (clicking a header
sorts the rows) is in tests/test_site_browser.py, on the demo site that module builds.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from publicservices.charts.maps import FIFTHS_COLOURS
from publicservices.dataset import Dataset
from publicservices.display import PALETTE, format_number
from publicservices.site import publish
from publicservices.site.grid import LEGEND, short_title
from publicservices.site.sample import sample_dataset

STATIC = Path(__file__).resolve().parents[1] / "src/publicservices/site/static"
HOSTILE = {
    "E06000001": "<script>alert(1)</script>",
    "E06000002": 'Barking & "Dagenham" </td></tr><img src=x onerror=alert(2)>',
}
WORDS = {"better", "similar", "worse", "higher", "lower"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class GridParser(HTMLParser):
    """Every grid of a page: caption, header cells, and the rows of each tbody, each cell with its attributes and text.

    A cell's ``text`` is all of it; ``shown`` what is on screen (not hidden from anyone, not the
    heading's note); ``hidden`` the visually hidden text a screen reader adds.
    """

    def __init__(self) -> None:
        super().__init__()
        self.grids: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []  # the div.ps-grid blocks, with their legends
        self.tags: list[str] = []  # every element inside a grid block
        self._open: list[tuple[str, dict[str, str | None]]] = []
        self._cell: dict[str, Any] | None = None
        self._caption: list[str] | None = None
        self._section: str | None = None

    def _inside(self, tag: str, cls: str) -> bool:
        return any(t == tag and cls in (a.get("class") or "").split() for t, a in self._open)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "div" and "ps-grid" in classes:
            self.blocks.append({"attrs": a, "legend": []})
        if self._inside("div", "ps-grid"):
            self.tags.append(tag)
        if tag not in VOID:
            self._open.append((tag, a))
        if tag == "table" and "ps-grid__table" in classes:
            self.grids.append({"attrs": a, "caption": "", "head": [], "body": {}})
        if not self._inside("table", "ps-grid__table"):
            return
        grid = self.grids[-1]
        if tag == "caption":
            self._caption = []
        elif tag == "thead":
            self._section = "thead"
        elif tag == "tbody":
            self._section = a.get("class") or ""
            grid["body"][self._section] = []
        elif tag == "tr" and self._section != "thead":
            grid["body"][self._section].append([])
        elif tag in ("th", "td"):
            self._cell = {"tag": tag, "attrs": a, "text": "", "hidden": "", "shown": "", "href": None, "abbr": None}
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = a.get("href")
        elif tag == "abbr" and self._cell is not None:
            self._cell["abbr"] = a.get("title")

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            cell, self._cell = self._cell, None
            for key in ("text", "shown"):
                cell[key] = " ".join(cell[key].split())
            grid = self.grids[-1]
            if self._section == "thead":
                grid["head"].append(cell)
            else:
                grid["body"][self._section][-1].append(cell)
        elif tag == "caption" and self._caption is not None:
            self.grids[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if self._open and self._open[-1][0] == "li" and self._inside("ul", "ps-grid__legend"):
            self.blocks[-1]["legend"].append(data.strip())
        if self._cell is None:
            return
        self._cell["text"] += data
        if self._inside("span", "ps-vh"):
            self._cell["hidden"] += data
        elif not self._inside("span", "ps-grid__note") and not any(a.get("aria-hidden") == "true" for _, a in self._open):
            self._cell["shown"] += data


def grids_of(path: Path) -> GridParser:
    parser = GridParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def cell_key(cell: dict[str, Any]) -> str:
    return next(c[len("ps-g-") :] for c in cell["attrs"]["class"].split() if c.startswith("ps-g-"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid-demo") / "site"
    publish(None, out, generate_only=True)
    return out / "docs"


def no_interval_dataset(n_areas: int = 12) -> Dataset:
    """The sample dataset with hostile names, its schools indicator published without confidence intervals."""
    data = sample_dataset(n_areas=n_areas, n_periods=2, names=HOSTILE)
    values = data.values.with_columns(
        pl.when(pl.col("indicator_id") == "schools.sample_score").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("lower_ci", "upper_ci")
    )
    return Dataset(values, data.areas, data.spend, data.indicators, metadata=data.metadata)


@pytest.fixture(scope="module")
def fifths(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid-fifths") / "site"
    publish(no_interval_dataset(), out, generate_only=True)
    return out / "docs"


def latest_of(docs: Path, indicator_id: str) -> pl.DataFrame:
    """The site's own published latest rows of an indicator (the model's comparisons and fifths)."""
    return pl.read_parquet(docs / f"data/indicators/{indicator_id}.parquet")


# -- structure --------------------------------------------------------------------------------


def test_sector_page_has_a_real_table_with_caption_headers_and_the_benchmark_first(demo):
    page = demo / "sectors/health.md"
    parsed = grids_of(page)
    assert len(parsed.grids) == 1 and len(parsed.blocks) == 1
    grid = parsed.grids[0]
    assert grid["caption"].startswith("Health: ") and "benchmark" in grid["caption"] and "95%" in grid["caption"]
    head = grid["head"]
    assert all(h["tag"] == "th" and h["attrs"].get("scope") == "col" for h in head)
    assert head[0]["text"] == "Area" and head[0]["attrs"]["data-sort"] == "name"
    assert head[0]["attrs"]["aria-sort"] == "ascending"  # as written: sorted by name, without JavaScript too
    indicators = {p.stem for p in (demo / "indicators").glob("health.*.md")}
    assert len(head) - 1 == len(indicators) == 6
    for h in head[1:]:
        assert h["attrs"]["data-sort"] == "value" and h["attrs"]["data-best"] in ("asc", "desc")
        assert "2023/24" in h["text"]  # the latest period, with the unit
    # a long title is shortened on screen; the full title is in the abbr and the hidden text
    long = [h for h in head if h["abbr"]]
    assert long and all(h["hidden"] == h["abbr"] and short_title(h["abbr"]) in h["text"] for h in long)
    cvd = next(h for h in head if h["abbr"] and h["abbr"].startswith("Under-75"))
    assert cvd["attrs"]["data-best"] == "asc" and "per 100,000" in cvd["text"]  # lower is better: best first is ascending
    # the benchmark's row: its own tbody, first, marked
    assert list(grid["body"]) == ["ps-grid__bench", "ps-grid__areas"]
    (bench,) = grid["body"]["ps-grid__bench"]
    assert bench[0]["tag"] == "th" and bench[0]["attrs"]["scope"] == "row" and "benchmark" in bench[0]["text"]
    assert page.read_text(encoding="utf-8").index("ps-grid__bench") < page.read_text(encoding="utf-8").index("ps-grid__areas")
    # then one row per area, named in a row header linked to the area's page, in name order
    rows = grid["body"]["ps-grid__areas"]
    assert len(rows) == 150
    names = [r[0]["text"] for r in rows]
    assert names == sorted(names, key=lambda n: n.lower())
    for r in rows:
        assert r[0]["tag"] == "th" and r[0]["attrs"]["scope"] == "row"
        assert re.fullmatch(r"\.\./areas/[a-z0-9]+\.html", r[0]["href"])
        assert (demo / "areas" / Path(r[0]["href"]).with_suffix(".md").name).is_file()
        assert len(r) == len(head)
    # a scrolling region of its own, keyboard reachable and named by the caption; out of the search index
    text = page.read_text(encoding="utf-8")
    assert 'role="region" aria-labelledby="grid-health-caption" tabindex="0"' in text
    assert "data-search-exclude" in parsed.blocks[0]["attrs"]
    # one raw HTML block: Markdown would end it at a blank line
    block = text[text.index('<div class="ps-grid"') :]
    block = block[: block.index("</table>\n</div>\n</div>")]
    assert "\n\n" not in block
    # the legend says what every colour used means
    legend = parsed.blocks[0]["legend"]
    assert LEGEND["better"] in legend and LEGEND["worse"] in legend and LEGEND["similar"] in legend


def test_every_sector_page_has_its_grid(demo):
    for page in sorted((demo / "sectors").glob("*.md")):
        (grid,) = grids_of(page).grids
        sector = page.stem
        ids = sorted(p.stem for p in (demo / "indicators").glob(f"{sector}.*.md"))
        assert len(grid["head"]) - 1 == len(ids), page


# -- colours: the model's categories ----------------------------------------------------------


def test_cell_colours_values_and_words_agree_with_the_model(demo):
    checked = 0
    for page in sorted((demo / "sectors").glob("*.md")):
        (grid,) = grids_of(page).grids
        head = grid["head"][1:]
        ids = sorted(p.stem for p in (demo / "indicators").glob(f"{page.stem}.*.md"))
        rows = grid["body"]["ps-grid__areas"]
        codes = [Path(r[0]["href"]).stem.upper() for r in rows]
        for j, ind_id in enumerate(ids):
            latest = latest_of(demo, ind_id)
            by_code = {r["area_code"]: r for r in latest.to_dicts()}
            for code, row in list(zip(codes, rows, strict=True))[::7]:  # a sample of every column
                cell, want = row[j + 1], by_code[code]
                key = cell_key(cell)
                if want["suppressed"] is not None or want["value"] is None:
                    assert key == "na" and cell["shown"] == "" and "data-v" not in cell["attrs"], (ind_id, code)
                    assert cell["hidden"].strip(", ") in ("suppressed", "no value")
                    continue
                word = str(want["comparison_95"] or "not compared")
                assert key == (word if word in WORDS else "nc"), (ind_id, code, key, word)
                assert cell["hidden"] == ", " + word  # the category in words, for screen readers
                assert cell["shown"] == format_number(want["value"])
                assert abs(float(cell["attrs"]["data-v"]) - want["value"]) <= 1e-5 * max(1.0, abs(want["value"]))
                checked += 1
            # the benchmark row's value is the model's benchmark
            bench = grid["body"]["ps-grid__bench"][0][j + 1]
            values = latest.get_column("benchmark_value").drop_nulls().unique()
            assert values.len() == 1 and bench["shown"] == format_number(values[0]), ind_id
        assert head  # every column checked
    assert checked > 400
    # every category the demo has shows somewhere
    seen = {
        cell_key(c)
        for page in (demo / "sectors").glob("*.md")
        for r in grids_of(page).grids[0]["body"]["ps-grid__areas"]
        for c in r[1:]
    }
    assert {"better", "similar", "worse", "higher", "na"} <= seen


def test_cell_colours_are_the_palette_and_readable(demo):
    css = (STATIC / "ps-grid.css").read_text(encoding="utf-8")
    rules = dict(
        (k, (bg.upper(), fg.upper()))
        for k, bg, fg in re.findall(r"\.ps-g-([a-z0-9]+) \{ background: (#[0-9A-Fa-f]{6}); color: (#[0-9A-Fa-f]{6}); \}", css)
    )
    want = {k: PALETTE[k] for k in WORDS} | {"nc": PALETTE["not compared"]}
    want |= {f"j{i}": c for i, c in enumerate(FIFTHS_COLOURS["judged"], 1)}
    want |= {f"n{i}": c for i, c in enumerate(FIFTHS_COLOURS["no_judgement"], 1)}
    assert {k: bg for k, (bg, _) in rules.items()} == {k: v.upper() for k, v in want.items()}

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for key, (bg, fg) in rules.items():
        high, low = sorted((luminance(bg), luminance(fg)), reverse=True)
        assert (high + 0.05) / (low + 0.05) >= 4.5, (key, bg, fg)
    # every class a cell can have has a legend entry and a rule (no value and the benchmark take the theme's colours)
    assert set(LEGEND) - {"na"} == set(rules)
    assert ".ps-g-na {" in css and ".ps-g-bm {" in css


# -- fifths where there are no intervals; escaping ------------------------------------------------


def test_indicator_without_intervals_is_coloured_by_fifths(fifths):
    (grid,) = grids_of(fifths / "sectors/schools.md").grids
    head = grid["head"][1:]
    assert len(head) == 1 and "coloured by fifths" in head[0]["text"]
    assert "fifth of all areas by value" in grid["caption"]
    latest = {r["area_code"]: r for r in latest_of(fifths, "schools.sample_score").to_dicts()}
    assert all(r["lower_95"] is None for r in latest.values())
    # higher is better: fifth 1 (lowest values) is the worst, coloured as the maps colour it
    classes = {"Worst": "j1", "Worse": "j2", "Middle": "j3", "Better": "j4", "Best": "j5"}
    rows = grid["body"]["ps-grid__areas"]
    assert len(rows) == 12
    for row in rows:
        want = latest[Path(row[0]["href"]).stem.upper()]
        assert cell_key(row[1]) == classes[want["quintile_label"]]
        assert row[1]["hidden"] == f", {want['quintile_label'].lower()} fifth"
    assert {cell_key(r[1]) for r in rows} == set(classes.values())
    legend = grids_of(fifths / "sectors/schools.md").blocks[0]["legend"]
    assert LEGEND["j5"] in legend and LEGEND["j1"] in legend and LEGEND["better"] not in legend
    # the health indicators of the same site keep their intervals: coloured by comparison
    (health,) = grids_of(fifths / "sectors/health.md").grids
    keys = {cell_key(c) for r in health["body"]["ps-grid__areas"] for c in r[1:]}
    assert keys <= WORDS | {"nc", "na"}


def test_area_names_are_escaped_in_the_grid(fifths):
    for page in ("sectors/health.md", "sectors/schools.md"):
        text = (fifths / page).read_text(encoding="utf-8")
        block = text[text.index('<div class="ps-grid"') :]
        assert "<script>alert(1)</script>" not in block and "<img src=x" not in block
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
        assert "Barking &amp; &#34;Dagenham&#34; &lt;/td&gt;&lt;/tr&gt;&lt;img src=x onerror=alert(2)&gt;" in block
        parsed = grids_of(fifths / page)
        assert "script" not in parsed.tags and "img" not in parsed.tags
        (grid,) = parsed.grids
        names = {r[0]["text"] for r in grid["body"]["ps-grid__areas"]}
        assert set(HOSTILE.values()) <= names  # read back as the very text, in its own row header
        assert all(len(r) == len(grid["head"]) for r in grid["body"]["ps-grid__areas"])


# -- region pages and the size limit ------------------------------------------------------------


def test_region_pages_get_a_grid_per_sector_of_their_areas(tmp_path, monkeypatch):
    from publicservices.site.pages import overview

    monkeypatch.setattr(overview, "REGION_PAGES_FROM", 5)  # region pages from 6 areas, not 1,000
    monkeypatch.setattr(overview, "GRID_MAX_CELLS", 20)  # 12 areas × 2 health indicators is too many for one page
    out = tmp_path / "site"
    publish(sample_dataset(n_areas=12, n_periods=2, names=HOSTILE), out, generate_only=True)
    docs = out / "docs"
    sector = (docs / "sectors/health.md").read_text(encoding="utf-8")
    assert "ps-grid__table" not in sector and "is on each region&#x27;s page: " in sector
    assert '<a href="../areas.html">the areas by region</a>' in sector
    areas = pl.read_parquet(docs / "data/all/areas.parquet")
    regions = sorted((docs / "regions").glob("*.md"))
    assert regions
    for page in regions:
        parsed = grids_of(page)
        captions = [g["caption"] for g in parsed.grids]
        assert len(captions) == 2 and captions[0].startswith("Health, areas in ") and captions[1].startswith("Schools, areas in ")
        members = set(areas.filter(pl.col("parent_code") == page.stem.upper()).get_column("area_code").to_list())
        assert members
        for grid in parsed.grids:
            codes = {Path(r[0]["href"]).stem.upper() for r in grid["body"]["ps-grid__areas"]}
            assert codes == members, page
            assert all(r[0]["href"].startswith("../areas/") for r in grid["body"]["ps-grid__areas"])
            assert len(grid["body"]["ps-grid__bench"]) == 1
        ids = {g["attrs"]["id"] for g in parsed.grids}
        assert ids == {"grid-health", "grid-schools"}  # one per sector, each its own id on the page
