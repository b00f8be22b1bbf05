"""Explore, offline (issue 18, item 1), in a real browser: the period picker, the chart / table /
map views, "highlight my area" across pages, marks that open an area's page, the compare page
and permalinks; axe on the compare page and a phone-width check. The specs' area links and
highlight (:func:`publicservices.site.specs.link_areas`) are checked without a browser first.

Reuses the headless-Chromium client, the local server and the demo site of
``tests/test_site_browser.py`` (its ``demo`` fixture builds the site once for this module).
Skips without Chromium (or npm, for axe); under ``CI=true`` those are failures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import test_site_browser as browser
from test_site_browser import CHARTS_DONE, PHONE, WIDER_THAN_WINDOW, Chrome, problems, requests_outside

# the browser, the demo site and axe-core: test_site_browser's module-scoped fixtures, made again for this module
chrome = browser.chrome
demo = browser.demo
axe_source = browser.axe_source


def in_browser(test: Any) -> Any:
    """A test in headless Chromium on the demo site (marked browser and slow, as test_site_browser's)."""
    return pytest.mark.browser(pytest.mark.slow(test))


IND = "health.ae_4hr"
READY = f"{CHARTS_DONE} && !!document.documentElement.getAttribute('data-ps-explore')"
SIGNAL = """((sel) => Array.from(document.querySelectorAll(sel)).map(f => {
  try { return f.psView.signal('ps_highlight'); } catch (e) { return null; } }))"""


def results(site: Path) -> pl.DataFrame:
    return pl.read_parquet(site / "data/all/results.parquet")


def areas(site: Path) -> pl.DataFrame:
    return pl.read_parquet(site / "data/all/areas.parquet").sort("area_name")


def open_page(chrome: Chrome, url: str) -> list[dict[str, Any]]:
    events = chrome.open(url, until=READY, timeout=90)
    assert chrome.evaluate("document.documentElement.getAttribute('data-ps-explore')") == "ready", url
    return events


def settle(chrome: Chrome, until: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if chrome.evaluate(f"!!({until})"):
            return
        time.sleep(0.1)
    raise TimeoutError(until)


def choose(chrome: Chrome, selector: str, value: str) -> None:
    """Set a select's or input's value as a reader's choice does, and fire its change event."""
    chrome.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); e.value = {json.dumps(value)};"
        " e.dispatchEvent(new Event('change', {bubbles: true})); })()"
    )


def click(chrome: Chrome, selector: str) -> None:
    box = chrome.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
        " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        chrome.page("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
    time.sleep(0.3)


def forget(chrome: Chrome) -> None:
    chrome.evaluate("localStorage.clear()")


def drawn_title(chrome: Chrome, key: str) -> str:
    return chrome.evaluate(
        f"(() => {{ const t = document.querySelector(\"figure[data-spec$='{key}'] svg .role-title-text text\");"
        " return t ? t.textContent : ''; })()"
    )


def test_area_marks_link_to_their_pages_and_take_the_highlight():
    from publicservices.site.specs import HIGHLIGHT, link_areas, public_words

    pages = {"A": "areas/a.html", "B": "areas/b.html"}
    # rows in a named data set, drawn as points and as a rule (only the points link)
    spec = {
        "datasets": {"rows-1": [{"area_code": "A", "_label": "Ay", "v": 1}, {"area_code": "C", "_label": "Cee", "v": 2}]},
        "data": {"name": "rows-1"},
        "layer": [{"mark": {"type": "rule"}, "encoding": {}}, {"mark": {"type": "circle", "size": 40}, "encoding": {}}],
    }
    out = link_areas(spec, "indicators/x.md", pages)
    assert [r["_href"] for r in out["datasets"]["rows-1"]] == ["../areas/a.html", None]  # no page, no link
    rule, circle = out["layer"]
    assert "href" not in rule["encoding"] and circle["encoding"]["href"] == {"field": "_href", "type": "nominal"}
    assert circle["encoding"]["strokeWidth"]["condition"]["test"] == f"{HIGHLIGHT} !== '' && datum.area_code === {HIGHLIGHT}"
    assert circle["mark"]["size"] == 40 and out["params"] == [{"name": HIGHLIGHT, "value": ""}]
    assert spec["datasets"]["rows-1"][0].get("_href") is None  # the input is left as it was
    # hex tiles: GeoJSON features whose properties carry the code
    hexes = {"data": {"values": [{"type": "Feature", "properties": {"area_code": "B"}}]}, "mark": "geoshape"}
    out = link_areas(hexes, "index.md", pages)
    assert out["data"]["values"][0]["properties"]["_href"] == "areas/b.html"
    assert (
        out["encoding"]["href"]["field"] == "properties._href"
        and "properties.area_code" in out["encoding"]["stroke"]["condition"]["test"]
    )
    # a boundary map: the rows join the shapes by a lookup, which brings the link with them
    lookup = {
        "data": {"name": "ps-boundaries"},
        "transform": [
            {
                "lookup": "properties.code",
                "from": {"data": {"values": [{"area_code": "A", "value": 3}]}, "key": "area_code", "fields": ["value"]},
            }
        ],
        "mark": {"type": "geoshape", "stroke": "white", "strokeWidth": 0.4},
    }
    out = link_areas(lookup, "indicators/x.md", pages)
    source = out["transform"][0]["from"]
    assert source["fields"] == ["value", "area_code", "_href"] and source["data"]["values"][0]["_href"] == "../areas/a.html"
    assert out["encoding"]["href"]["field"] == "_href" and out["encoding"]["stroke"]["value"] == "white"
    # a chart with no area rows is left alone
    assert link_areas({"data": {"values": [{"x": 1}]}, "mark": "point"}, "index.md", pages) == {
        "data": {"values": [{"x": 1}]},
        "mark": "point",
    }
    assert public_words({"tooltip": [{"title": "efficiency (DEA)"}]}) == {"tooltip": [{"title": "efficiency (1 = best value)"}]}


def test_chart_scripts_write_every_string_of_a_spec_in_the_public_words():
    """The public words replace the statistician's on the spec's JSON text, rows included, and
    only inside strings: no word holds a character that JSON or the script escapes."""
    from publicservices.site.safety import js_json
    from publicservices.site.specs import PUBLIC_WORDS, ChartScripts, public_words

    for old, new in PUBLIC_WORDS.items():
        assert js_json(old) == f'"{old}"' and js_json(new) == f'"{new}"'
    spec = {
        "title": "Funnel <b>(overdispersed)</b>",
        "datasets": {"rows-1": [{"band": "99.8% limits (overdispersed)", "v": 1.5}, {"band": "efficiency (DEA)", "v": None}]},
        "encoding": {"y": {"title": "Heterogeneity (I², %)"}},
    }
    scripts = ChartScripts()
    scripts.add("charts/x.js", "x/funnel", spec)
    text = scripts.render("charts/x.js")
    assert text == f'(window.PS_SPECS = window.PS_SPECS || {{}})["x/funnel"] = {js_json(public_words(spec))};\n'
    assert "(allowing for extra variation)" in text and "overdispersed" not in text and "DEA" not in text


@in_browser
def test_the_period_picker_redraws_the_chart_table_and_map(chrome, demo):
    site, base, _ = demo
    frame = results(site).filter(pl.col("indicator_id") == IND)
    periods = frame.sort("period_start").get_column("period").unique(maintain_order=True).to_list()
    earlier = periods[-3]
    events = open_page(chrome, base + f"indicators/{IND}.html")
    forget(chrome)
    options = chrome.evaluate("Array.from(document.querySelectorAll('#ps-period option')).map(o => o.value)")
    assert options == list(reversed(periods))  # every period, newest first
    assert chrome.evaluate("document.querySelector('#ps-period').value") == periods[-1]  # the latest by default
    assert periods[-1] in drawn_title(chrome, "/explore")
    choose(chrome, "#ps-period", earlier)
    settle(chrome, f"document.querySelector(\"figure[data-spec$='/explore']\").psSpec.title.text.endsWith({json.dumps(earlier)})")
    settle(chrome, "document.querySelectorAll('.ps-explore__stale').length > 0")
    time.sleep(0.5)
    assert drawn_title(chrome, "/explore").endswith(earlier)
    # the table view lists the period's values, best first, each area linked to its page
    table = chrome.evaluate(
        """(() => { const t = document.querySelector('.ps-explore__table table');
           return {caption: t.caption.textContent, rows: Array.from(t.tBodies[0].rows).map(r => [r.cells[1].textContent,
             r.cells[2].textContent, !!r.cells[1].querySelector('a[href]')])}; })()"""
    )
    assert earlier in table["caption"]
    expected = frame.filter(pl.col("period") == earlier, pl.col("value").is_not_null()).sort("value", descending=True)
    assert table["rows"][0][0] == expected.get_column("area_name")[0] and table["rows"][0][2]
    assert len(table["rows"]) == frame.filter(pl.col("period") == earlier).height
    # both maps are redrawn with that period's values; the funnel says it shows the latest period
    maps = chrome.evaluate(
        """Array.from(document.querySelectorAll("figure[data-spec$='/map'], figure[data-spec$='/map_value']")).map(f => {
             const d = f.psSpec.datasets[f.psSpec.data.name];
             return {title: f.psSpec.title.text, values: Object.fromEntries(d.map(x => [x.properties.area_code, x.properties.value]))}; })"""
    )
    assert len(maps) >= 2
    want = dict(frame.filter(pl.col("period") == earlier).select("area_code", pl.col("value").round(4)).iter_rows())
    for m in maps:
        assert m["title"].endswith(earlier)
        code = next(iter(m["values"]))
        assert m["values"][code] == pytest.approx(want[code])
    # the comparison map colours each of that period's categories as the site does, even those the
    # latest period lacks (an ordinal scale given only the latest's would colour them as another)
    from publicservices.display import PALETTE

    scale, categories = chrome.evaluate(
        """(() => { const f = document.querySelector("figure[data-spec$='/map']"); const s = f.psSpec;
             return [s.encoding.color.condition.scale,
                     Array.from(new Set(s.datasets[s.data.name].map(x => x.properties.comparison_95).filter(Boolean)))]; })()"""
    )
    assert set(categories) <= set(scale["domain"]) and "better" in categories
    assert scale["range"] == [PALETTE[w] for w in scale["domain"]]
    stale = chrome.evaluate(
        "Array.from(document.querySelectorAll('.ps-explore__stale')).map(p => (p.nextElementSibling.getAttribute('data-spec') || p.nextElementSibling.tagName))"
    )
    assert f"indicators/{IND}/funnel" in stale and f"indicators/{IND}/league" in stale
    # the address keeps the choice; back to the latest period, the notes go and the address forgets it
    assert chrome.evaluate("location.search") == f"?period={earlier}"
    choose(chrome, "#ps-period", periods[-1])
    settle(chrome, "document.querySelectorAll('.ps-explore__stale').length === 0")
    assert chrome.evaluate("location.search") == ""
    assert problems(events + chrome.drain()) == []
    assert requests_outside(events, base) == []


@in_browser
def test_the_area_page_shows_any_period(chrome, demo):
    site, base, _ = demo
    code = areas(site).get_column("area_code")[0]
    slug = code.lower()
    frame = results(site).filter(pl.col("area_code") == code)
    earlier = frame.sort("period_start").get_column("period").unique(maintain_order=True).to_list()[-3]
    open_page(chrome, base + f"areas/{slug}.html?period={earlier}")
    settle(chrome, "document.querySelector('.ps-explore__area-table table')")
    rows = chrome.evaluate(
        "Array.from(document.querySelectorAll('.ps-explore__area-table tbody tr')).map(r => r.cells[0].textContent)"
    )
    assert len(rows) == frame.filter(pl.col("period") == earlier).height
    assert drawn_title(chrome, "areas/spine").endswith(earlier)
    assert chrome.evaluate("document.querySelector('.ps-explore__area-table').nextElementSibling.hidden")


@in_browser
def test_the_chart_table_and_map_tabs_switch_views_and_keep_the_choice(chrome, demo):
    _, base, _ = demo
    open_page(chrome, base + f"indicators/{IND}.html")
    labels = chrome.evaluate("Array.from(document.querySelectorAll('.ps-explore-tabs__labels label')).map(l => l.textContent)")
    assert labels == ["Chart", "Table", "Map"]
    shown = "Array.from(document.querySelectorAll('.ps-explore-tabs__block')).filter(b => b.offsetParent !== null).map(b => b.dataset.view)"
    assert chrome.evaluate(shown) == ["chart"]
    click(chrome, "label[for='ps-view-table']")
    assert chrome.evaluate(shown) == ["table"] and chrome.evaluate("location.search") == "?view=table"
    click(chrome, "label[for='ps-view-map']")
    assert chrome.evaluate(shown) == ["map"] and chrome.evaluate("location.search") == "?view=map"
    # the map drawn in its tab fits the column once shown
    settle(
        chrome,
        "(() => { const f = document.querySelector(\".ps-explore-tabs__block[data-view='map'] figure\");"
        " const s = f.querySelector('svg'); return s && s.getBoundingClientRect().width <= f.clientWidth + 1; })()",
    )


@in_browser
def test_highlight_my_area_follows_the_reader_across_pages_and_shows_in_the_charts(chrome, demo):
    site, base, _ = demo
    name, code = areas(site).select("area_name", "area_code").row(5)
    open_page(chrome, base + f"indicators/{IND}.html")
    forget(chrome)
    choose(chrome, "#ps-highlight", name)
    settle(chrome, f"document.querySelector(\"figure[data-spec$='/explore'] svg\").textContent.includes({json.dumps(name)})")
    assert json.loads(chrome.evaluate("localStorage.getItem('ps-highlight')"))["code"] == code
    signals = chrome.evaluate(
        SIGNAL
        + "(\"figure[data-spec$='/explore'], figure[data-spec$='/map'], figure[data-spec$='/funnel'], figure[data-spec$='/league']\")"
    )
    assert signals and all(s == code for s in signals), signals
    # the highlighted area is named beside its ringed dot, and its row in the All areas table is marked
    ring = chrome.evaluate(
        """Array.from(document.querySelectorAll("figure[data-spec$='/explore'] svg path[aria-roledescription='point']"))
             .filter(p => parseFloat(p.getAttribute('stroke-width') || '0') >= 3).length"""
    )
    assert ring == 1
    assert chrome.evaluate("document.querySelectorAll('tr.ps-highlight-row').length") >= 1
    # a second page: the same area, highlighted without asking
    other = "health.cancer_early_stage"
    open_page(chrome, base + f"indicators/{other}.html")
    assert chrome.evaluate("document.querySelector('#ps-highlight').value") == name
    signals = chrome.evaluate(
        SIGNAL + "(\"figure[data-spec$='/explore'], figure[data-spec$='/map'], figure[data-spec$='/funnel']\")"
    )
    assert signals and all(s == code for s in signals), signals
    row = chrome.evaluate("Array.from(document.querySelectorAll('tr.ps-highlight-row a')).map(a => a.textContent)")
    assert name in row
    # a page without the control (a sector page) marks the area's row in its grid too
    open_page(chrome, base + "sectors/health.html")
    assert name in chrome.evaluate("Array.from(document.querySelectorAll('tr.ps-highlight-row a')).map(a => a.textContent)")
    # and clearing it clears it everywhere
    open_page(chrome, base + f"indicators/{IND}.html")
    click(chrome, ".ps-explore__clear")
    assert chrome.evaluate("localStorage.getItem('ps-highlight')") is None
    assert chrome.evaluate("document.querySelectorAll('tr.ps-highlight-row').length") == 0
    forget(chrome)


@in_browser
def test_a_mark_opens_its_areas_page_and_the_table_links_the_same_page(chrome, demo):
    site, base, _ = demo
    open_page(chrome, base + f"indicators/{IND}.html")
    point = "figure[data-spec$='/explore'] svg path[aria-roledescription='point']"
    label = chrome.evaluate(f"document.querySelector(\"{point}\").getAttribute('aria-label')")
    name = next(part.split(": ", 1)[1] for part in label.split("; ") if part.startswith("area: "))
    code = areas(site).filter(pl.col("area_name") == name).get_column("area_code")[0]
    click(chrome, point)
    settle(chrome, f"location.pathname.endsWith('/areas/{code.lower()}.html') && document.readyState === 'complete'")
    assert chrome.evaluate("document.querySelector('h1').textContent") == name
    # the keyboard's way: every chart's data table links each area to the same page
    open_page(chrome, base + f"indicators/{IND}.html")
    click(chrome, "figure[data-spec$='/funnel'] button.ps-chart__toggle")
    links = chrome.evaluate(
        "Array.from(document.querySelectorAll(\"figure[data-spec$='/funnel'] .ps-chart__table a\")).map(a => a.getAttribute('href'))"
    )
    assert links and f"../areas/{code.lower()}.html" in links


@in_browser
def test_compare_three_areas_side_by_side(chrome, demo):
    site, base, _ = demo
    chosen = areas(site).head(3)
    open_page(chrome, base + "compare.html")
    forget(chrome)
    open_page(chrome, base + "compare.html")
    for name in chosen.get_column("area_name"):
        choose(chrome, ".ps-compare__add", name)
        click(chrome, ".ps-compare__add-button")
    settle(chrome, "document.querySelectorAll('.ps-compare__indicator figure.ps-chart--drawn').length > 0")
    codes = chosen.get_column("area_code").to_list()
    assert chrome.evaluate("location.search") == "?areas=" + ",".join(codes)
    n_ind = len(list((site / "data/explore").glob("*.js"))) - 1
    sections = chrome.evaluate(
        """Array.from(document.querySelectorAll('.ps-compare__indicator')).map(s => ({
             title: s.querySelector('h2').textContent,
             rows: Array.from(s.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent))}))"""
    )
    assert len(sections) == n_ind
    first = sections[0]
    assert [r[0] for r in first["rows"]] == [*chosen.get_column("area_name").to_list(), "Benchmark"]
    latest = results(site).filter(pl.col("indicator_id") == IND).sort("period_start").get_column("period")[-1]
    want = results(site).filter(pl.col("indicator_id") == IND, pl.col("period") == latest, pl.col("area_code") == codes[0])
    assert first["rows"][0][1] == f"{want.get_column('value')[0]:.1f}%"
    lo, hi = want.get_column("lower_95")[0], want.get_column("upper_95")[0]
    assert first["rows"][0][2] == f"{lo:.1f} to {hi:.1f}"
    # each chart draws every chosen area (dots with intervals) and the benchmark
    marks = chrome.evaluate(
        """(() => { const f = document.querySelector('.ps-compare__indicator figure');
           return [f.querySelectorAll("svg path[aria-roledescription='point']").length,
                   f.querySelectorAll("svg g.mark-rule line").length]; })()"""
    )
    assert marks[0] == 3 and marks[1] >= 4
    # a removed area leaves the comparison and the address
    click(chrome, f".ps-compare__remove[data-code='{codes[1]}']")
    assert chrome.evaluate("location.search") == f"?areas={codes[0]},{codes[2]}"
    assert chrome.evaluate("document.querySelectorAll('.ps-compare__chosen li').length") == 2


@in_browser
def test_a_permalink_restores_the_readers_choices_after_a_reload(chrome, demo):
    site, base, _ = demo
    name, code = areas(site).select("area_name", "area_code").row(7)
    period = (
        results(site)
        .filter(pl.col("indicator_id") == IND)
        .sort("period_start")
        .get_column("period")
        .unique(maintain_order=True)[-2]
    )
    open_page(chrome, base + f"indicators/{IND}.html")
    forget(chrome)
    choose(chrome, "#ps-period", period)
    click(chrome, "label[for='ps-view-map']")
    choose(chrome, "#ps-highlight", name)
    settle(chrome, "location.search.includes('area=')")
    url = chrome.evaluate("location.href")
    assert url.split("#")[0].endswith(f"?period={period}&view=map&area={code}")
    forget(chrome)  # the address alone brings the choices back
    open_page(chrome, base + "index.html")
    open_page(chrome, url)
    assert chrome.evaluate("document.querySelector('#ps-period').value") == period
    assert chrome.evaluate("document.querySelector('#ps-view-map').checked")
    assert chrome.evaluate("document.querySelector('#ps-highlight').value") == name
    assert chrome.evaluate(SIGNAL + "(\"figure[data-spec$='/map']\")")[0] == code
    assert drawn_title(chrome, "/explore").endswith(period)
    # the compare page's choice too
    compare = base + f"compare.html?areas={code},{areas(site).get_column('area_code')[0]}"
    open_page(chrome, compare)
    assert chrome.evaluate("document.querySelectorAll('.ps-compare__chosen li').length") == 2
    forget(chrome)


def _axe(chrome: Chrome, source: str) -> list[dict[str, Any]]:
    chrome.evaluate(source)
    return chrome.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
        "({id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target.join(' ')})))",
        wait=True,
        timeout=120,
    )


@in_browser
def test_the_explore_tools_pass_axe_at_every_impact_level(chrome, demo, axe_source):
    site, base, _ = demo
    codes = areas(site).get_column("area_code").head(3).to_list()
    slug = codes[0].lower()
    report = {}
    for page in (
        f"compare.html?areas={','.join(codes)}&area={codes[1]}",
        f"indicators/{IND}.html?view=table&area={codes[1]}",
        f"areas/{slug}.html?period=2019/20",
    ):
        open_page(chrome, base + page)
        report[page] = _axe(chrome, axe_source)  # every impact level, minor included
    forget(chrome)
    assert all(not v for v in report.values()), json.dumps(report, indent=1)


@in_browser
def test_the_compare_page_fits_a_phone(chrome, demo):
    site, base, _ = demo
    codes = areas(site).get_column("area_code").head(3).to_list()
    chrome.page("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        events = open_page(chrome, base + f"compare.html?areas={','.join(codes)}")
        assert chrome.evaluate("document.documentElement.clientWidth") == 390
        assert chrome.evaluate("document.scrollingElement.scrollWidth") <= 390
        assert chrome.evaluate(WIDER_THAN_WINDOW) == []
        assert problems(events) == []
    finally:
        chrome.page("Emulation.clearDeviceMetricsOverride")


hostile = browser.hostile


@in_browser
def test_hostile_area_names_are_text_in_the_compare_page_and_the_highlight(chrome, hostile):
    _, base = hostile
    events = open_page(chrome, base + "compare.html?areas=E06000001,E06000002&area=E06000002")
    assert chrome.evaluate("Array.from(document.querySelectorAll('.ps-compare__chosen li a')).map(a => a.textContent)") == [
        "<script>alert(1)</script>",
        "Zed <img src=x onerror=alert(2)>",
    ]
    assert chrome.evaluate("document.querySelector('#ps-highlight').value") == "Zed <img src=x onerror=alert(2)>"
    assert chrome.evaluate("document.querySelectorAll('.ps-compare img, .ps-compare script').length") == 0
    assert not [e for e in events + chrome.drain() if e.get("method") == "Page.javascriptDialogOpening"]
    assert problems(events) == []
    chrome.evaluate("localStorage.clear()")
