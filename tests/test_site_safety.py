"""Escaping, safe file names and output paths of the published site (publicservices.site.safety)."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError
from publicservices.site.markup import chart, front_matter, table
from publicservices.site.safety import check_slugs, html_text, inside, js_json, md_text, slug, yaml_str
from publicservices.site.writer import DocsWriter

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "*bold* _it_ `code` [link](javascript:alert(1)) ![img](x.png)",
    "# heading | pipe | {: .attr } {#id}",
    "a & b \"quoted\" 'single' </p><p>",
    "1. not a list\n- nor this\n\n    nor code",
    "\\*escaped\\* <!-- comment --> ]]> <![CDATA[x]]>",
    "St. Helens-on-Sea (East) 100% $x$ ~~strike~~ ^sup^ ==mark==",
]


def render(text: str) -> str:
    # The extensions the published site uses for prose.
    return markdown.markdown(text, extensions=["attr_list", "md_in_html", "toc", "tables", "admonition"])


class _TextOnly(__import__("html.parser").parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> _TextOnly:
    p = _TextOnly()
    p.feed(fragment)
    p.close()
    return p


@pytest.mark.parametrize("value", HOSTILE)
def test_md_text_renders_as_the_same_text_and_no_markup(value):
    out = parse(render(f"Area: {md_text(value)}."))
    assert out.tags == ["p"]
    assert "".join(out.text) == f"Area: {' '.join(value.split())}."


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_md_text_is_literal_for_any_text(value):
    out = parse(render(f"x {md_text(value)} y"))
    assert set(out.tags) <= {"p"}
    assert " ".join("".join(out.text).split()) == " ".join(f"x {' '.join(value.split())} y".split())


@pytest.mark.parametrize("value", HOSTILE)
def test_html_text_in_a_table_cell(value):
    out = parse(table(["Area"], [[value]]))
    assert out.tags == ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    assert value in "".join(out.text)


def test_figure_caption_and_attributes_are_escaped():
    fig = chart(page="areas/a.md", key='k"><script>', load=["charts/x.js"], label="<b>label</b>",
                summary="<script>alert(1)</script>", links={"<i>csv</i>": "data/a.csv"}, inline={"d": [{"name": "</script><script>"}]})
    out = parse(fig)
    assert "script" not in out.tags and "b" not in out.tags and "i" not in out.tags
    assert "<script>alert(1)</script>" in "".join(out.text)
    # the inline JSON survives the attribute round trip and never contains '<'
    attr = re.search(r'data-inline="([^"]*)"', fig).group(1)
    assert "<" not in html.unescape(attr)
    assert json.loads(html.unescape(attr)) == {"d": [{"name": "</script><script>"}]}


def test_front_matter_title_is_yaml_and_html_safe():
    import yaml

    text = front_matter('A: "quoted" <script>x</script> # not a comment')
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["title"] == "A: &quot;quoted&quot; &lt;script&gt;x&lt;/script&gt; # not a comment"
    assert yaml_str("line\nbreak") == '"line break"'


@settings(max_examples=60, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
))
def test_js_json_is_valid_json_without_angle_brackets(obj):
    text = js_json(obj)
    assert not re.search(r"[<>&\u2028\u2029]", text)

    def clean(o):
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return o

    assert json.loads(text) == clean(obj)
    if isinstance(obj, dict):
        assert list(json.loads(text)) == sorted(json.loads(text))


def test_js_json_cannot_close_a_script_block():
    assert "</script" not in js_json({"a": "</script><script>alert(1)</script>"})


@pytest.mark.parametrize("good", ["E06000001", "x06000001", "health.ae_4hr", "gp-A81001", "a_b.c-d", "9"])
def test_slug_accepts_safe_ids(good):
    assert slug(good, kind="id") == good.lower()


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a\\b", ".hidden", "-x", "a b", "é", "a..b", "a.", "con", "NUL", "lpt1.txt",
                                 "x" * 101, "a\x00b", "<script>", None])
def test_slug_rejects_unsafe_ids(bad):
    with pytest.raises(DataError, match="cannot be used as a file name"):
        slug(bad, kind="area_code")


def test_check_slugs_names_every_kind_of_problem():
    with pytest.raises(DataError) as err:
        check_slugs(["E06000001", "../../etc", "a b"], kind="area_code")
    text = str(err.value)
    assert "'../../etc'" in text and "'a b'" in text and "2 rows" in text and "Fix:" in text
    with pytest.raises(DataError, match="differ only in letter case"):
        check_slugs(["Ab1", "aB1"], kind="area_code")
    assert check_slugs(["E1", "E2"], kind="area_code") == {"E1": "e1", "E2": "e2"}


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="abcXYZ019._-/\\ :~", max_size=30))
def test_any_accepted_slug_stays_inside_the_root(value):
    root = Path("/tmp/ps-safety-root")
    try:
        name = slug(value, kind="id")
    except DataError:
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name)
    target = inside(root, f"areas/{name}.md")
    assert root.resolve() in target.parents


@pytest.mark.parametrize("rel_path", ["../x.md", "a/../../x.md", "/etc/passwd", "a/../../../b"])
def test_inside_refuses_paths_outside_the_root(tmp_path, rel_path):
    with pytest.raises(DataError, match="outside the output folder"):
        inside(tmp_path, rel_path)


def test_inside_refuses_a_symlink_out_of_the_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(DataError, match="outside the output folder"):
        inside(root, "link/file.md")


def test_writer_never_writes_twice_or_outside(tmp_path):
    w = DocsWriter(tmp_path / "docs")
    w.text("a.md", "x")
    with pytest.raises(DataError, match="twice"):
        w.text("a.md", "y")
    with pytest.raises(DataError, match="outside"):
        w.text("../escape.md", "y")
    assert not (tmp_path / "escape.md").exists()
    assert (tmp_path / "docs" / "a.md").read_text() == "x"


def test_html_text_handles_none_and_numbers():
    assert html_text(None) == ""
    assert html_text(3.5) == "3.5"
    assert html_text("<&>\"'") == "&lt;&amp;&gt;&quot;&#x27;"
