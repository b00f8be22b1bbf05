"""Chart figures of the published site (publicservices.site.markup.chart): the place for the data table.

The loader (``site/static/ps-charts.js``) adds the figure's buttons (show the data as a table,
download PNG or SVG) and sizes the chart; those are tested in a real browser
(``tests/test_site_browser.py``). Here: what the figure's HTML must hold for them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from publicservices.site import mkdocs_hooks
from publicservices.site.markup import chart, chart_table_id

STATIC = Path(__file__).resolve().parents[1] / "src" / "publicservices" / "site" / "static"


class Tree(HTMLParser):
    """Start tags with their attributes and depth, and the text inside each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[int, str, dict[str, str | None]]] = []
        self.depth = 0
        self.text_in: dict[int, str] = {}
        self._open: list[int] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((self.depth, tag, dict(attrs)))
        self._open.append(len(self.tags) - 1)
        self.depth += 1

    def handle_endtag(self, tag):
        self.depth -= 1
        self._open.pop()

    def handle_data(self, data):
        for i in self._open:
            self.text_in[i] = self.text_in.get(i, "") + data


def figure(**kw) -> str:
    args = {
        "page": "indicators/health.ae_4hr.md",
        "key": "indicators/health.ae_4hr/funnel",
        "load": ["charts/indicators/health.ae_4hr.js"],
        "label": "Funnel plot of A&E",
        "summary": "150 areas against their size",
        "links": {"Download the data (CSV)": "data/indicators/health.ae_4hr.csv"},
    }
    return chart(**{**args, **kw})


def parse(html: str) -> Tree:
    tree = Tree()
    tree.feed(html)
    tree.close()
    return tree


def test_figure_holds_an_empty_hidden_place_for_its_data_table_before_the_caption():
    html = figure()
    tree = parse(html)
    children = [(tag, attrs) for depth, tag, attrs in tree.tags if depth == 1]
    assert [tag for tag, _ in children] == ["div", "div", "figcaption"]  # view, data table, caption (last)
    view, holder, _ = (attrs for _, attrs in children)
    assert view["class"] == "ps-chart__view" and view["role"] == "img" and view["aria-label"] == "Funnel plot of A&E"
    assert holder["class"] == "ps-chart__table" and "hidden" in holder
    assert holder["id"] == "ps-data-indicators-health-ae-4hr-funnel" == chart_table_id("indicators/health.ae_4hr/funnel")
    index = next(i for i, (d, tag, a) in enumerate(tree.tags) if a.get("class") == "ps-chart__table")
    assert tree.text_in.get(index, "") == ""  # nothing for the search index, nothing shown without scripts


def test_figure_has_no_buttons_until_the_loader_adds_them():
    # a page without scripts shows no button that cannot work; their words stay out of the search index
    tags = [tag for _, tag, _ in parse(figure(inline={"rows": [{"a": 1}]})).tags]
    assert "button" not in tags
    assert "figcaption" == tags[-2] and tags[-1] == "a"  # the CSV link stays in the caption


def test_figure_is_still_one_raw_block_for_the_mkdocs_hook():
    html = figure(inline={"rows": [{"name": "x"}]})
    assert "\n" not in html
    aside = [m.group(0) for m in mkdocs_hooks._BLOCK.finditer(html + "\n")]
    assert aside == [html]


@pytest.mark.parametrize(
    "key",
    ['k"><script>alert(1)</script>', "areas/spine", "Ünïcode / key", "", "---", "a b\tc\nd"],
)
def test_table_ids_are_plain_words_for_any_key(key):
    ident = chart_table_id(key)
    assert re.fullmatch(r"ps-data-[a-z0-9]+(-[a-z0-9]+)*", ident), ident
    assert f'id="{ident}"' in figure(key=key)


def test_different_charts_on_a_page_get_different_table_ids():
    keys = ["indicators/x/map", "indicators/x/funnel", "indicators/x/league", "indicators/x/trend", "areas/spine", "areas/trend"]
    assert len({chart_table_id(k) for k in keys}) == len(keys)


def test_loader_builds_tables_as_text_and_images_with_the_view_api():
    js = (STATIC / "ps-charts.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # data become text, never markup
    assert 'toImageURL("png"' in js and "toSVG()" in js  # downloads drawn by the Vega view, no network
    for attr in ("aria-expanded", "aria-controls"):
        assert attr in js
    assert re.search(r"\bfetch\(|XMLHttpRequest|https?://", js) is None


def test_stylesheet_keeps_page_text_inside_a_phone():
    css = (STATIC / "ps-site.css").read_text(encoding="utf-8")
    table = re.search(r"table\.ps-table \{([^}]*)\}", css).group(1)
    assert "overflow-x: auto" in table and "max-width: 100%" in table
    assert re.search(r"figure\.ps-chart \{[^}]*max-width: 100%", css)
    assert re.search(r"caption \{[^}]*display: block", css)  # captions wrap to the column
