"""The site's MkDocs hooks: raw HTML tables and figures skip the Markdown parser, and come out the same."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import markdown
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from publicservices.site import mkdocs_hooks

PAGE = """# Eskelham

Some **bold** words.

<p>Generated prose: 3 &lt; 4 &amp; *not emphasis*. <a href="x.html">more</a></p>

<p markdown="1">Markdown **inside**, left to the parser</p>

<table class="ps-table"><caption>Rates</caption> <thead><tr><th scope="col">A</th></tr></thead><tbody>
<tr><td>1 &amp; 2</td></tr>
</tbody></table>

## Next

<figure class="ps-chart" data-spec="x"><div class="ps-chart__view"></div><script type="application/json" class="ps-chart__data">{"a":1}</script><figcaption>3 areas</figcaption></figure>

<table><tr><td>a block that does not end its line</td></tr></table> then *Markdown*

- a list
"""


def page(uri: str = "areas/a.md") -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=uri))


def convert(text: str) -> str:
    return markdown.markdown(text, extensions=["attr_list", "md_in_html", "tables", "admonition", "toc"])


def through_hooks(text: str) -> tuple[str, str]:
    p = page()
    aside = mkdocs_hooks.on_page_markdown(text, p, None, None)
    content = mkdocs_hooks.on_page_content(convert(aside), p, None, None)
    return aside, mkdocs_hooks.on_post_page(content, p, None)


def test_tables_and_figures_skip_the_parser_and_come_back_unchanged():
    aside, html = through_hooks(PAGE)
    assert aside.count("<!--ps-raw-") == 2 and "<caption>" not in aside and "ps-chart__data" not in aside
    assert html == convert(PAGE)  # the same page as without the hooks
    assert not mkdocs_hooks._aside  # nothing left behind between pages


def test_prose_paragraphs_skip_the_parser_but_are_back_before_search_reads_the_page():
    p = page()
    aside = mkdocs_hooks.on_page_markdown(PAGE, p, None, None)
    assert aside.count("<!--ps-prose-") == 1 and "Generated prose" not in aside
    assert '<p markdown="1">' in aside  # asks for Markdown inside: the parser's
    content = mkdocs_hooks.on_page_content(convert(aside), p, None, None)
    # what the search plugin indexes: the prose, not the tables and charts
    assert "Generated prose: 3 &lt; 4 &amp; *not emphasis*." in content and "<caption>" not in content
    assert mkdocs_hooks.on_post_page(content, p, None) == convert(PAGE)


def test_only_whole_blocks_are_set_aside_never_the_markdown_between_them():
    aside, _ = through_hooks(PAGE)
    # the last table shares its line with Markdown: left to the parser, and the list with it
    assert "then *Markdown*" in aside and "- a list" in aside and "## Next" in aside


def test_a_page_with_fenced_code_is_left_alone():
    text = "```html\n<table><tr><td>an example</td></tr></table>\n```\n"
    assert mkdocs_hooks.on_page_markdown(text, page("x.md"), None, None) == text


def _tree(root):
    import json
    from importlib import resources

    (root / "docs/data").mkdir(parents=True)
    (root / "docs/index.md").write_text("# Home\n\n[data](data/x.csv)\n", encoding="utf-8")
    (root / "docs/data/x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (root / "ps_hooks.py").write_text((resources.files("publicservices.site") / "mkdocs_hooks.py").read_text(encoding="utf-8"))
    config = {"site_name": "t", "docs_dir": "docs", "theme": {"name": "material"}, "hooks": ["ps_hooks.py"]}
    (root / "mkdocs.yml").write_text(json.dumps(config), encoding="utf-8")
    return root / "mkdocs.yml"


def test_publish_links_its_own_static_files_and_copies_the_themes(tmp_path):
    import material

    from publicservices.site.mkdocs_build import run_mkdocs

    config = _tree(tmp_path)
    run_mkdocs(config, tmp_path / "site", lambda n: None, epoch=0)
    built, source = tmp_path / "site/data/x.csv", tmp_path / "docs/data/x.csv"
    assert built.read_text() == "a,b\n1,2\n" and built.stat().st_ino == source.stat().st_ino  # a hard link
    theme_js = next((tmp_path / "site/assets/javascripts").glob("bundle.*.js"))
    original = next((Path(material.__file__).parent / "templates/assets/javascripts").glob(theme_js.name))
    assert theme_js.stat().st_ino != original.stat().st_ino  # the theme's files are copies, never links
    assert "PUBLICSERVICES_LINK_STATIC" not in __import__("os").environ


def test_publish_counts_each_page_built_and_shows_the_warnings_that_stop_a_build(tmp_path):
    from publicservices.site.mkdocs_build import PublishError, page_built, run_mkdocs

    config = _tree(tmp_path)
    (tmp_path / "docs/second.md").write_text("# Second\n", encoding="utf-8")
    counted: list[int] = []
    run_mkdocs(config, tmp_path / "site", counted.append, epoch=0)
    assert counted == [1, 1] and page_built == []  # a step per page, and no counter left behind
    (tmp_path / "docs/second.md").write_text("# Second\n\n[gone](missing.md)\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"(?s)MkDocs build failed.*second\.md.*missing\.md"):
        run_mkdocs(config, tmp_path / "site2", counted.append, epoch=0)
    assert page_built == []


def test_a_plain_mkdocs_build_of_the_tree_copies(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = _tree(tmp_path)
    build(load_config(config_file=str(config), site_dir=str(tmp_path / "site")))
    assert (tmp_path / "site/data/x.csv").stat().st_ino != (tmp_path / "docs/data/x.csv").stat().st_ino


def test_the_how_to_read_block_and_controls_are_set_aside_out_of_search_but_not_around_a_table():
    text = (
        '<details class="info">\n<summary>How to read</summary>\n<p>Blue means better.</p>\n</details>\n\n'
        '<div class="ps-explore"><div class="f"><label>Period</label></div></div>\n\n'
        '<div class="tabs">\n<table><tr><td>1</td></tr></table>\n</div>\n\n'
        '<div class="outer">\n<div class="inner">x</div>\n</div>\n'
    )
    p = page("areas/b.md")
    aside = mkdocs_hooks.on_page_markdown(text, p, None, None)
    assert aside.startswith("<!--ps-raw-0-->\n\n<!--ps-raw-1-->\n\n")
    # a container holding a table stays the parser's, and only its table is set aside (out of search)
    assert '<div class="tabs">\n<!--ps-raw-2-->\n</div>' in aside
    # a block whose first end tag closes a nested element is left whole to the parser
    assert '<div class="outer">\n<div class="inner">x</div>\n</div>' in aside
    content = mkdocs_hooks.on_page_content(convert(aside), p, None, None)
    # what every page repeats is not searched, nor tables
    assert "Blue means better." not in content and "<label>Period</label>" not in content and "<td>1</td>" not in content
    assert mkdocs_hooks.on_post_page(content, p, None) == convert(text)


def _tempered_block(text):
    """The blocks the hook sets aside, found by the plain definition (a character-by-character
    test for a blank line): the reference the line-by-line pattern must agree with."""
    import re

    pattern = re.compile(
        r"^(?:<(table|figure|p)\b(?![^>]*\bmarkdown\b)(?:(?!\n[ \t]*\n).)*?</\1>"
        r"|<(details|div)\b(?![^>]*\bmarkdown\b)(?:(?!\n[ \t]*\n|<table\b|<figure\b).)*?</\2>)[ \t]*$",
        re.MULTILINE | re.DOTALL,
    )
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


PIECES = ["<p>", "</p>", "<table>", "</table>", "<div>", "</div>", "<figure>", "</figure>", "<details>", "</details>"]
PIECES += ["\n", "\n\n", "\n \t\n", "x", " ", "<p markdown>", "<div markdown>", "<pre>", "<td>1</td>"]


@given(st.lists(st.sampled_from(PIECES), max_size=30))
@settings(max_examples=400, deadline=None)
def test_blocks_are_found_line_by_line_as_the_plain_definition_finds_them(pieces):
    text = "".join(pieces)
    assert [(m.span(), m.groups()) for m in mkdocs_hooks._BLOCK.finditer(text)] == _tempered_block(text)


# --------------------------------------------------------------------------------------
# Pages of headings only: rendered without Python-Markdown, to what Python-Markdown makes
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site_config(tmp_path_factory):
    import json

    from mkdocs.config import load_config

    from publicservices.site.mkdocs_build import mkdocs_config

    root = tmp_path_factory.mktemp("site")
    (root / "docs").mkdir()
    config = mkdocs_config(title="t", nav=[], base_url=None, copyright="", assets={})
    (root / "mkdocs.yml").write_text(json.dumps(config), encoding="utf-8")
    return load_config(config_file=str(root / "mkdocs.yml"))


def _page(text, config):
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page

    file = File("areas/a.md", config["docs_dir"], config["site_dir"], use_directory_urls=False)
    page = Page(None, file, config)
    page.markdown = text
    return page, Files([file])


def _rendered(page):
    def toc(items):
        return [(i.title, i.id, i.level, toc(i.children)) for i in items]

    return page.content, toc(page.toc), page._title_from_render, page.present_anchor_ids, page.links_to_anchors


HEADING_TEXT = st.lists(st.sampled_from([*"Ab z9.,:;/%?-é  Ŵ\xa0\u2003\u2028", "&#38;", "&#46;"]), min_size=1, max_size=12).map(
    "".join
)
LINES = st.one_of(
    st.tuples(st.integers(1, 6), st.sampled_from([" ", "  "]), HEADING_TEXT).map(lambda t: "#" * t[0] + t[1] + t[2]),
    st.integers(0, 30).map(lambda i: f"<!--ps-{'raw' if i % 2 else 'prose'}-{i}-->"),
    st.sampled_from(["", "", "# Same", "## Same", "## Same_1", "#  é"]),
)


@given(lines=st.lists(LINES, max_size=14), end=st.sampled_from(["", "\n", "\n\n"]))
@settings(max_examples=300, deadline=None)
def test_a_page_of_headings_renders_as_python_markdown_renders_it(site_config, lines, end):
    text = "\n".join(lines) + end
    assume(mkdocs_hooks._only_headings_left(text, site_config))  # a heading of white space alone is not one
    by_markdown, files = _page(text, site_config)
    by_markdown.render(site_config, files)
    by_hook, files = _page(text, site_config)
    mkdocs_hooks._render_headings(by_hook, site_config, files)
    assert _rendered(by_hook) == _rendered(by_markdown)


def test_an_area_page_takes_the_short_path_and_other_pages_keep_the_parser(site_config):
    area = "# Eskelham\n\n<!--ps-prose-0-->\n\n## Strengths &#38; concerns\n\n<!--ps-raw-1-->\n"
    assert mkdocs_hooks._only_headings_left(area, site_config)
    others = ["# A\n\nSome **words**.\n", "# A *b*\n", "# A & B\n", "  # Indented\n", '# A\n\n=== "Tab"\n']
    others += ["# A\n\t\n<!--ps-raw-0-->\n", "# A\n \n<!--ps-raw-0-->\n", "<!--ps-raw-0--> \n", "#\tA\n"]
    for other in others:
        assert not mkdocs_hooks._only_headings_left(other, site_config)
    # a site whose Markdown reads headings differently (another extension, toc options) keeps the parser
    changed = dict(site_config)
    changed["markdown_extensions"] = [*site_config["markdown_extensions"], "smarty"]
    assert not mkdocs_hooks._only_headings_left(area, changed)
    changed = dict(site_config)
    changed["mdx_configs"] = {**site_config["mdx_configs"], "toc": {"permalink": True}}
    assert not mkdocs_hooks._only_headings_left(area, changed)
    p, files = _page(area, site_config)
    assert mkdocs_hooks.on_page_markdown(area, p, site_config, files) == area
    p.render(site_config, files)  # the hook's renderer
    assert p.content.startswith('<h1 id="eskelham">Eskelham</h1>\n<!--ps-prose-0-->\n\n<h2 id="strengths-concerns">')


# Area-like pages: the same headings below a title of their own; titles a filter could change,
# a title from the metadata, other headings, no first heading, another folder, metadata
_AREA = "# {title}\n\n<!--ps-raw-0-->\n\n## Strengths and concerns\n\n## Trends\n"
_TREE = {
    "index.md": "# Home\n",
    "guide.md": "# Guide\n\n[an area](areas/a.md)\n",
    "other.md": "# Not listed, at the root\n",
    "areas/a.md": _AREA.format(title="Area A"),
    "areas/b.md": _AREA.format(title="Bournemouth, Christchurch and Poole"),
    "areas/c.md": _AREA.format(title="King's Lynn and West Norfolk"),
    "areas/d.md": _AREA.format(title="St. Helens (Merseyside) - 2"),
    "areas/e.md": _AREA.format(title="Ynys Môn"),
    "areas/f.md": _AREA.format(title="Brighton & Hove"),
    "areas/g.md": _AREA.format(title="Two  spaces"),
    "areas/h.md": _AREA.format(title="Caf&eacute; &lt;b&gt;"),
    "areas/i.md": '---\ntitle: "Eskelham"\n---\n\n' + _AREA.format(title="Eskelham"),
    "areas/j.md": '---\ntitle: "Tarrowbury"\n---\n\n' + _AREA.format(title="Tarrowbury"),
    "areas/k.md": '---\ntitle: "Tarrowbury, again"\ndescription: "A page with a description"\n---\n\n'
    + _AREA.format(title="Tarrowbury"),
    "areas/l.md": "# Area L\n\n## Trends\n",
    "areas/m.md": "## No title heading\n\n## Trends\n",
    "areas/n.md": "## No title heading either\n\n## Trends\n",
    "areas/o.md": "Text without a heading.\n",
    "areas/p.md": _AREA.format(title="Area P"),
    "areas/t.md": _AREA.format(title="Area With A Much Longer Name"),
    "areas/sub/q.md": _AREA.format(title="Area Q"),
    "areas/sub/r.md": _AREA.format(title="Area R"),
    "areas/sub/s.md": _AREA.format(title="Area S"),
}


def _built_both_ways(tmp_path, monkeypatch, caplog, overrides=None, **config_extra):
    import json
    import logging
    from importlib import resources

    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    root = tmp_path / "tree"
    for name, text in _TREE.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "ps_hooks.py").write_text((resources.files("publicservices.site") / "mkdocs_hooks.py").read_text(encoding="utf-8"))
    for name, text in (overrides or {}).items():
        (root / "overrides" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "overrides" / name).write_text(text, encoding="utf-8")
    config = {
        "site_name": "t",
        "docs_dir": "docs",
        "use_directory_urls": False,
        "theme": {"name": "material", **({"custom_dir": "overrides"} if overrides else {})},
        "hooks": ["ps_hooks.py"],
        "nav": [{"Home": "index.md"}, {"Guide": "guide.md"}],
        "validation": {"nav": {"omitted_files": "ignore"}},
        **config_extra,
    }
    (root / "mkdocs.yml").write_text(json.dumps(config), encoding="utf-8")

    def built(site: str) -> dict[str, str]:
        build(load_config(config_file=str(root / "mkdocs.yml"), site_dir=str(tmp_path / site)))
        return {p.relative_to(tmp_path / site).as_posix(): p.read_text() for p in (tmp_path / site).rglob("*.html")}

    with caplog.at_level(logging.DEBUG, logger="mkdocs.plugins.publicservices"):
        once = built("once")
    monkeypatch.setenv("PUBLICSERVICES_RENDER_EACH_PAGE", "1")
    each = built("each")
    monkeypatch.delenv("PUBLICSERVICES_RENDER_EACH_PAGE")
    summary = [r.getMessage() for r in caplog.records if "skeletons" in r.getMessage()]
    return once, each, summary


def test_pages_rendered_once_per_folder_and_shape_are_the_pages_rendered_in_full(tmp_path, monkeypatch, caplog):
    once, each, summary = _built_both_ways(tmp_path, monkeypatch, caplog)
    assert once == each and len(once) >= len(_TREE)
    # the navigation, once per folder
    assert 'href="../guide.html"' in once["areas/a.html"] and 'href="../../guide.html"' in once["areas/sub/q.html"]
    assert "md-nav__link--active" in once["guide.html"] and "md-nav__link--active" not in once["areas/b.html"]
    # skeletons were used: a, e, g, p and t share a shape in areas/ (a title's characters are part
    # of its shape; g's two spaces are one in its title), as do i and j, and sub/'s three pages
    assert "<title>Two spaces - t</title>" in once["areas/g.html"] and "<h1>O</h1>" in once["areas/o.html"]
    assert summary and summary[0].startswith("7 pages filled in from 3 skeletons"), summary


_FEEDBACK = {
    "analytics": {
        "feedback": {
            "title": "Helpful?",
            "ratings": [
                {"icon": "material/thumb-up-outline", "name": "Yes", "data": 1, "note": "Thanks for {title} at {url}"},
            ],
        }
    }
}


@pytest.mark.parametrize(
    ("config", "rendered_in_full"),
    [
        # a canonical link differs on every page: no page has a shape
        ({"site_url": "https://example.org/x/"}, "0 shapes"),
        # a template that reads what a shape leaves out (the page's address, its title urlencoded):
        # the check on a shape's first page finds it, and the shape is rendered in full
        ({"extra": _FEEDBACK}, "3 shapes"),
    ],
)
def test_pages_a_skeleton_cannot_give_are_rendered_in_full(tmp_path, monkeypatch, caplog, config, rendered_in_full):
    once, each, summary = _built_both_ways(tmp_path, monkeypatch, caplog, **config)
    assert once == each
    assert summary == [f"0 pages filled in from 0 skeletons ({rendered_in_full} rendered in full)"]
    if "site_url" in config:
        assert '<link rel="canonical" href="https://example.org/x/areas/a.html">' in once["areas/a.html"]
    else:
        assert "Thanks for Area%20A at /areas/a.html" in once["areas/a.html"]


def test_a_theme_with_templates_of_its_own_is_rendered_in_full(tmp_path, monkeypatch, caplog):
    # long titles cut short: a shape's first page and its slot are short, so no check would see it
    main = (
        '{% extends "base.html" %}{% block htmltitle %}<title>{{ page.title | truncate(16, True, "", 0) }}</title>{% endblock %}'
    )
    once, each, summary = _built_both_ways(tmp_path, monkeypatch, caplog, overrides={"main.html": main})
    assert once == each and summary == []
    assert "<title>Area P</title>" in once["areas/p.html"] and "<title>Area With A Much</title>" in once["areas/t.html"]
