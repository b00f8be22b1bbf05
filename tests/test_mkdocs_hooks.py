"""The site's MkDocs hooks: raw HTML tables and figures skip the Markdown parser, and come out the same."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import markdown

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


def test_a_plain_mkdocs_build_of_the_tree_copies(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = _tree(tmp_path)
    build(load_config(config_file=str(config), site_dir=str(tmp_path / "site")))
    assert (tmp_path / "site/data/x.csv").stat().st_ino != (tmp_path / "docs/data/x.csv").stat().st_ino
