"""MkDocs hooks of a published site: the raw HTML the pages are built with skips the Markdown parser.

A copy of this file is written beside each site's ``mkdocs.yml`` (``hooks:``), so a tree made
with ``publish --generate-only`` builds the same with plain ``mkdocs build``; it imports only
the standard library and what MkDocs itself brings (Python-Markdown, Jinja).

Area and indicator pages carry their tables and chart figures as HTML (written and escaped by
:mod:`publicservices.site.markup`). Python-Markdown reads each such block tag by tag, in pure
Python, only to pass it through unchanged: on a 2,000-area site that was a fifth of the build.
``on_page_markdown`` sets each block aside behind a comment, which the parser passes over in
one step, and ``on_post_page`` puts it back into the finished page, which comes out the same.
Until then the search plugin indexes the page without its tables and charts: a search for an
area finds the area's page, not every indicator page whose table lists it (and at 7,000 areas
the search plugin's HTML parser no longer reads 300 MB of table rows). Paragraphs written as
HTML (``<p>``, the pages' generated prose) are set aside the same way but come back in
``on_page_content``, before the search plugin reads the page, so they stay searchable. The
"how to read" block (``<details>``) and the explore controls (``<div>``) are set aside as
tables are, out of search: the same words on thousands of pages would make every search
find every area (and the index of a 7,000-area site a third larger). An area page is then
little more than its headings to Python-Markdown. Only blocks that start a line with one of
those tags, end a line with its end tag, hold as many start tags of their kind as end tags
and no blank line are set aside (a raw HTML block of Markdown ends at a blank line), never
one that asks for Markdown inside (``markdown``), and never on a page with fenced code, where
such text would be an example to show.

A page left with nothing but headings (an area page) is rendered without Python-Markdown, to
the same HTML. ``on_env`` has Material render its navigation once per folder for the pages
the navigation does not list, the same HTML each would get, and render such pages once per
shape (folder, headings, metadata): each further page of a shape is that HTML with its own
title, first anchor and content put in. ``PUBLICSERVICES_RENDER_EACH_PAGE=1`` renders every
page in full.

``on_files`` hard-links the site's static files (data downloads, chart scripts, assets) into
the built site instead of copying them, when ``publish`` asks for it (the environment variable
``PUBLICSERVICES_LINK_STATIC``: the docs tree is staging that is deleted after the build, so a
shared file is never edited through the other name). A plain ``mkdocs build`` copies, as usual.
It also adds the pages ``publish`` kept in memory rather than write to the docs folder
(``mkdocs_build.held_pages``), each where the walk of that folder would have listed it, read
as a file would be read; a plain ``mkdocs build`` has none and reads the pages on disk.
``on_post_page`` counts each page built for ``publish``'s progress bar
(``mkdocs_build.page_built``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import posixpath
import re
import shutil
import sys
from typing import Any

import jinja2

_log = logging.getLogger("mkdocs.plugins.publicservices")

# A block: its first line starts with the tag, then whole lines, none blank, up to the first
# line that ends with the end tag (matched line by line: a character-by-character test for a
# blank line took 1.7 ms on a 75 KB page).
_BLOCK = re.compile(
    r"^(?:<(table|figure|p)\b(?![^>]*\bmarkdown\b)(?:[^\n]*\n(?![ \t]*(?:\n|$)))*?[^\n]*</\1>"
    # a container is set aside whole only when it holds no table or chart, which the parser must leave to the hook
    r"|<(details|div)\b(?![^>]*\bmarkdown\b)(?:(?:(?!<table\b|<figure\b)[^\n])*\n(?![ \t]*(?:\n|$)))*?"
    r"(?:(?!<table\b|<figure\b)[^\n])*</\2>)[ \t]*$",
    re.MULTILINE,
)
_SEARCHABLE = ("p",)  # a page's own words; not its tables and charts, nor the guide and controls every page repeats
_PLACEHOLDER = re.compile(r"<!--ps-raw-(\d+)-->")
_PROSE = re.compile(r"<!--ps-prose-(\d+)-->")
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)

# blocks set aside, by page, between the two hooks
_aside: dict[str, list[str]] = {}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if ("```" in markdown or "~~~" in markdown) and _FENCE.search(markdown):  # the plain test first: it is faster
        return markdown
    blocks: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        block, tag = match.group(0), match.group(1) or match.group(2)
        if len(re.findall(f"<{tag}[\\s>]", block)) != block.count(f"</{tag}>"):  # ends inside a nested one of its kind
            return block
        blocks.append(block)
        kind = "prose" if tag in _SEARCHABLE else "raw"
        return f"<!--ps-{kind}-{len(blocks) - 1}-->"

    text = _BLOCK.sub(set_aside, markdown)
    if blocks:
        _aside[page.file.src_uri] = blocks
    if config is not None and _only_headings_left(text, config):
        page.render = functools.partial(_render_headings, page)
    return text


# --------------------------------------------------------------------------------------
# Pages left with nothing but headings: rendered without Python-Markdown
# --------------------------------------------------------------------------------------
# Once its blocks are set aside, an area page is only headings and placeholders, yet
# Python-Markdown took 1.2 ms to set up and run its dozens of processors over those twenty
# lines: 8 s of a 7,000-area build. Such a page is rendered here instead, to the same HTML,
# table of contents and anchors; tests/test_mkdocs_hooks.py holds the two equal on random pages.
# a heading's text: no character Markdown could read as syntax (entities as ``md_text`` writes them)
_CHAR = r"[^\x00-\x1f\x7f\\`*_{}\[\]()#+!|<>~^=$&\"']|&#[0-9]+;"
_EDGE = rf"(?!\s)(?:{_CHAR})"  # and no white space at either end (Markdown strips it)
_HEADING_TEXT = rf"(?:{_EDGE})(?:(?:{_CHAR})*(?:{_EDGE}))?"
_LINE = re.compile(rf"(#{{1,6}}) +({_HEADING_TEXT})|(<!--ps-(?:raw|prose)-[0-9]+-->)|")
# nothing else, not even white space on a blank line (four spaces or a tab would start code)
_PLAIN = re.compile(rf"(?:(?:#{{1,6}} +{_HEADING_TEXT}|<!--ps-(?:raw|prose)-[0-9]+-->)?(?:\n|\Z))*\Z")
# the Markdown a site is built with (MkDocs adds toc, tables and fenced_code): none of them
# reads a heading's plain text or a comment differently
_KNOWN_EXTENSIONS = {
    "toc",
    "tables",
    "fenced_code",
    "attr_list",
    "md_in_html",
    "admonition",
    "pymdownx.details",
    "pymdownx.tabbed",
}


def _only_headings_left(text: str, config: Any) -> bool:
    extensions = {e if isinstance(e, str) else "" for e in config["markdown_extensions"]}
    toc = dict(config["mdx_configs"].get("toc") or {})
    return extensions <= _KNOWN_EXTENSIONS and toc.pop("permalink", False) is False and not toc and _PLAIN.match(text) is not None


def _render_headings(page: Any, config: Any, files: Any) -> None:
    """What ``Page.render`` makes of a page of ATX headings and HTML comments, without the parser.

    Python-Markdown gives each heading an id (slugified, made unique) and writes the blocks
    one per line, a blank line after a comment that the page follows with one.
    """
    import html

    from markdown.extensions.toc import nest_toc_tokens, slugify, unique
    from mkdocs.structure.toc import get_toc

    parts: list[str] = []
    tokens: list[dict[str, Any]] = []
    used: set[str] = set()
    lines = page.markdown.split("\n")
    for i, line in enumerate(lines):
        m = _LINE.fullmatch(line)
        if m is None or not (m.group(1) or m.group(3)):
            continue
        if parts:
            parts.append("\n\n" if parts[-1].startswith("<!--") and not lines[i - 1] else "\n")
        if m.group(3):
            parts.append(m.group(3))
            continue
        level, text = len(m.group(1)), m.group(2)
        name = " ".join(text.split())  # as the table of contents gives it, white space collapsed
        anchor = unique(slugify(html.unescape(name), "-"), used)
        parts.append(f'<h{level} id="{anchor}">{text}</h{level}>')
        tokens.append({"level": level, "id": anchor, "name": name, "html": text, "data-toc-label": ""})
    first = _LINE.fullmatch(next((line for line in lines if line), ""))
    page.content = "".join(parts)
    page.toc = get_toc(nest_toc_tokens(tokens))
    page._title_from_render = " ".join(first.group(2).split()) if first and first.group(1) == "#" else None
    page.present_anchor_ids = used
    page.links_to_anchors = {}


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    blocks = _aside.get(page.file.src_uri)
    if not blocks:
        return html
    return _PROSE.sub(lambda m: blocks[int(m.group(1))], html)


def on_post_page(output: str, page: Any, config: Any) -> str:
    # publish's progress bar (none when MkDocs builds a written docs tree)
    for advance in getattr(sys.modules.get("publicservices.site.mkdocs_build"), "page_built", ()):
        advance(1)
    blocks = _aside.pop(page.file.src_uri, None)
    if not blocks:
        return output
    return _PLACEHOLDER.sub(lambda m: blocks[int(m.group(1))], output)


# --------------------------------------------------------------------------------------
# Material's navigation, rendered once per folder for the pages it does not list
# --------------------------------------------------------------------------------------
# Material renders the whole navigation into every page: 0.35 ms a page, 2.5 s of a
# 7,000-area site. For a page the navigation does not list (every area page) nothing in it is
# active, and its links are relative to the page's folder: the HTML is the same for every such
# page of a folder, so it is rendered once and reused. Material's own template still renders
# it, through a prefix; pages the navigation lists render it as before.
_NAV = "partials/nav.html"
_NAV_ONCE = (
    "{% if ps_nav_once.reusable(nav, page) %}"
    "{% set html = ps_nav_once.get(page) %}"
    "{% if html is none %}{% set html %}{% include 'ps-theme/" + _NAV + "' %}{% endset %}"
    "{% set html = ps_nav_once.put(page, html) %}{% endif %}"
    "{{ html }}"
    "{% else %}{% include 'ps-theme/" + _NAV + "' %}{% endif %}"
)


class _NavOnce:
    """The navigation's HTML by folder, for pages the navigation does not list."""

    def __init__(self) -> None:
        self._html: dict[str, str] = {}

    def reusable(self, nav: Any, page: Any) -> bool:
        return page is not None and getattr(page, "parent", None) is None and page not in nav.pages

    def get(self, page: Any) -> Any:
        return self._html.get(os.path.dirname(page.url))

    def put(self, page: Any, html: Any) -> Any:
        self._html[os.path.dirname(page.url)] = html
        return html


# --------------------------------------------------------------------------------------
# Pages of one shape, rendered once
# --------------------------------------------------------------------------------------
# Even without its navigation, Material's page template takes about 1 ms a page: 7 s of a
# 7,000-area site, most of what a plain MkDocs build of that many pages costs. The area pages
# of a folder differ, in what the template reads, only in their title, the anchor of their
# first heading and their content; the rest (folder, headings below the first, metadata) is
# their shape. The template renders a shape once with a slot for each of those, and each
# further page of the shape is that skeleton with its own values in the slots. A skeleton is
# used only once it has given the first page of its shape exactly the HTML the template gave
# it (held as a digest): if anything else the template reads differed between the two pages,
# the shape is rendered in full for every page. Titles that a filter could change (tags,
# entities, runs of white space) and pages the navigation lists are always rendered in full,
# and the characters of the title and anchor are part of the shape, so a filter that changes
# one character (``urlencode`` of a space) is caught by the check on the first page. A theme
# with templates of its own (``custom_dir``) is rendered in full: one could, say, shorten
# long titles, which no check on a short one would see.
_SLOTS = ("psSlotTitle7q", "psSlotAnchor7q", "psSlotContent7q", "psSlotHeading7q")  # no filter changes them
# the content's slot ends with "<h1" when the page's content has one: Material looks for it
_SLOT = re.compile("|".join(f"({slot}{'(?:<h1)?' if slot.startswith('psSlotContent') else ''})" for slot in _SLOTS))
_PLAIN_TITLE = re.compile(r"[^\s<&]+(?: [^\s<&]+)*")
_PLAIN_ANCHOR = re.compile(r"[\w-]+")
_UNSET = object()


def _toc_shape(items: Any) -> tuple[Any, ...]:
    return tuple((item.title, item.id, item.level, _toc_shape(item.children)) for item in items)


class _StandIn:
    """A page as the template sees it, with slots for its title, first anchor and content."""

    def __init__(self, page: Any, h1: Any) -> None:
        from mkdocs.structure.toc import AnchorLink, TableOfContents

        self._page = page
        self.title = _SLOTS[0]
        if "title" in page.meta:  # the title, as the template may read it
            self.meta = dict(page.meta, title=_SLOTS[0])
        self.content = _SLOTS[2] + ("<h1" if "<h1" in page.content else "")
        if h1 is not None:
            first = AnchorLink(_SLOTS[3], _SLOTS[1], 1)
            first.children = h1.children
            self.toc = TableOfContents([first, *list(page.toc)[1:]])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


def _h1(page: Any) -> Any:
    first = next(iter(page.toc), None)
    return first if first is not None and first.level == 1 else None


def _values(page: Any) -> tuple[str, str, str, str]:
    h1 = _h1(page)
    return (page.title, h1.id if h1 else "", page.content, h1.title if h1 else "")


def _digest(html: str) -> bytes:
    return hashlib.blake2b(html.encode("utf-8", "surrogatepass")).digest()


class _Shapes:
    """Skeletons of rendered pages by shape; see above."""

    def __init__(self) -> None:
        self._first: dict[tuple[Any, ...], tuple[Any, bytes]] = {}  # the first page of a shape, and its HTML's digest
        self._skeleton: dict[tuple[Any, ...], Any] = {}  # (texts, slots), or None: render in full
        self.filled = 0

    @staticmethod
    def key(name: str, context: dict[str, Any]) -> tuple[Any, ...] | None:
        page, nav = context.get("page"), context.get("nav")
        if page is None or nav is None or not isinstance(page.content, str) or page.is_homepage:
            return None
        if page.parent is not None or page.previous_page or page.next_page or page.canonical_url or page.edit_url:
            return None
        title, h1 = page.title, _h1(page)
        if not isinstance(title, str) or not _PLAIN_TITLE.fullmatch(title) or page in nav.pages:
            return None
        if h1 is not None and not (_PLAIN_TITLE.fullmatch(h1.title) and _PLAIN_ANCHOR.fullmatch(h1.id)):
            return None
        return (
            name,
            posixpath.dirname(page.url),
            page.is_index,
            repr(sorted((k, v) for k, v in page.meta.items() if k != "title")),  # a title of its own is the page's title
            "title" in page.meta,
            _toc_shape(h1.children if h1 else page.toc),
            h1 is not None,
            "<h1" in page.content,
            frozenset(c for c in title + (h1.title + h1.id if h1 else "") if not c.isalnum()),
        )

    def render(self, name: str, context: dict[str, Any], render: Any) -> str:
        key = self.key(name, context)
        if key is None:
            return render(context)
        page = context["page"]
        skeleton = self._skeleton.get(key, _UNSET)
        if skeleton is _UNSET:
            first = self._first.pop(key, None)
            if first is None:  # a shape's first page: rendered in full, and remembered
                html = render(context)
                self._first[key] = (page, _digest(html))
                return html
            skeleton = self._make(render(dict(context, page=_StandIn(page, _h1(page)))), *first)
            self._skeleton[key] = skeleton
        if skeleton is None:
            return render(context)
        self.filled += 1
        return _fill(skeleton, _values(page))

    def summary(self) -> str:
        used = sum(skeleton is not None for skeleton in self._skeleton.values())
        return f"{self.filled} pages filled in from {used} skeletons ({len(self._skeleton) - used} shapes rendered in full)"

    @staticmethod
    def _make(html: str, first: Any, digest: bytes) -> Any:
        texts: list[str] = []
        slots: list[int] = []
        end = 0
        for m in _SLOT.finditer(html):
            texts.append(html[end : m.start()])
            slots.append((m.lastindex or 1) - 1)  # the slot's group
            end = m.end()
        texts.append(html[end:])
        skeleton = (texts, slots)
        return skeleton if _digest(_fill(skeleton, _values(first))) == digest else None


def _fill(skeleton: Any, values: tuple[str, ...]) -> str:
    texts, slots = skeleton
    out = [texts[0]]
    for slot, text in zip(slots, texts[1:], strict=True):
        out.append(values[slot])
        out.append(text)
    return "".join(out)


class _ShapedTemplate(jinja2.Template):
    """A theme template that renders pages of a shape once (the ``ps_shapes`` global)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = dict(*args, **kwargs)
        shapes = self.environment.globals.get("ps_shapes")
        if not isinstance(shapes, _Shapes) or self.name is None:
            return super().render(context)
        return shapes.render(self.name, context, lambda c: jinja2.Template.render(self, c))


def on_env(env: Any, config: Any, files: Any) -> Any:
    if config["theme"].name != "material" or os.environ.get("PUBLICSERVICES_RENDER_EACH_PAGE"):
        return env
    try:
        env.loader.get_source(env, _NAV)
    except jinja2.TemplateNotFound:
        return env
    theme = env.loader
    env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({_NAV: _NAV_ONCE}), jinja2.PrefixLoader({"ps-theme": theme}), theme])
    # one of each per build: MkDocs makes a new environment for each build
    env.globals["ps_nav_once"] = _NavOnce()
    if not config["theme"].custom_dir:  # only Material's own templates, whose filters of a title are known
        env.globals["ps_shapes"] = _current_shapes[0] = _Shapes()
        env.template_class = _ShapedTemplate  # the templates are loaded after this hook
    return env


_current_shapes: list[_Shapes | None] = [None]  # the build's, for its summary


def on_post_build(config: Any) -> None:
    shapes, _current_shapes[0] = _current_shapes[0], None
    if shapes is not None:
        _log.debug(shapes.summary())


def _link(file: Any, dirty: bool = False) -> None:
    # a link costs a directory entry; a copy of thousands of CSV and Parquet files cost 8% of a large build
    os.makedirs(os.path.dirname(file.abs_dest_path), exist_ok=True)
    try:
        os.link(file.abs_src_path, file.abs_dest_path)
    except FileExistsError:
        os.unlink(file.abs_dest_path)
        os.link(file.abs_src_path, file.abs_dest_path)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(file.abs_src_path, file.abs_dest_path)


def _walk_order(src_uri: str, name_order: Any) -> tuple[tuple[Any, ...], ...]:
    """Where MkDocs' walk of the docs folder lists a file: a folder's files by ``name_order``
    (what MkDocs sorts them by: index first), then its subfolders in name order."""
    *folders, name = src_uri.split("/")
    return (*((1, folder) for folder in folders), (0, *name_order(name)))


def _with_held_pages(files: Any, config: Any, held: dict[str, str]) -> Any:
    """The build's files with the pages ``publish`` kept in memory, each where it would be
    listed had it been written to the docs folder (the order sets the search index's)."""
    from mkdocs.structure.files import File, Files, _file_sort_key

    docs = os.path.join(os.path.abspath(config["docs_dir"]), "")
    in_docs = [bool(f.abs_src_path) and os.path.abspath(f.abs_src_path).startswith(docs) for f in files]
    listed = [f for f, ok in zip(files, in_docs, strict=True) if ok]
    theme = [f for f, ok in zip(files, in_docs, strict=True) if not ok]  # MkDocs adds them after the walk
    # as read from a file: without a byte-order mark, and with universal newlines
    pages = [
        File.generated(config, uri, content=text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
        for uri, text in held.items()
    ]
    return Files(sorted([*listed, *pages], key=lambda f: _walk_order(f.src_uri, _file_sort_key)) + theme)


def on_files(files: Any, config: Any) -> Any:
    # pages publish holds in memory for this build (none when MkDocs builds a written docs tree)
    held = getattr(sys.modules.get("publicservices.site.mkdocs_build"), "held_pages", None)
    if held:
        files = _with_held_pages(files, config, held)
    if not os.environ.get("PUBLICSERVICES_LINK_STATIC"):
        return files
    docs = os.path.join(os.path.abspath(config["docs_dir"]), "")
    for file in files:
        # only the files publish wrote: never a theme's, which a link would let a later write change at its source
        source = file.abs_src_path if file.generated_by is None else None
        if source and not file.is_documentation_page() and os.path.abspath(source).startswith(docs):
            file.copy_file = functools.partial(_link, file)
    return files
