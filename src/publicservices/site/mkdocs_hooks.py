"""MkDocs hooks of a published site: the raw HTML the pages are built with skips the Markdown parser.

A copy of this file is written beside each site's ``mkdocs.yml`` (``hooks:``), so a tree made
with ``publish --generate-only`` builds the same with plain ``mkdocs build``; it imports only
the standard library.

Area and indicator pages carry their tables and chart figures as HTML (written and escaped by
:mod:`publicservices.site.markup`). Python-Markdown reads each such block tag by tag, in pure
Python, only to pass it through unchanged: on a 2,000-area site that was a fifth of the build.
``on_page_markdown`` sets each block aside behind a comment, which the parser passes over in
one step, and ``on_page_content`` puts it back; the page comes out the same. Only blocks that
start a line with ``<table`` or ``<figure``, end a line with their end tag and hold no blank
line are set aside (a raw HTML block of Markdown ends at a blank line), and never on a page
with fenced code, where such text would be an example to show.
"""

from __future__ import annotations

import re
from typing import Any

_BLOCK = re.compile(r"^<(table|figure)\b(?:(?!\n[ \t]*\n).)*?</\1>[ \t]*$", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"<!--ps-raw-(\d+)-->")
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)

# blocks set aside, by page, between the two hooks
_aside: dict[str, list[str]] = {}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if _FENCE.search(markdown):
        return markdown
    blocks: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        blocks.append(match.group(0))
        return f"<!--ps-raw-{len(blocks) - 1}-->"

    text = _BLOCK.sub(set_aside, markdown)
    if blocks:
        _aside[page.file.src_uri] = blocks
    return text


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    blocks = _aside.pop(page.file.src_uri, None)
    if not blocks:
        return html
    return _PLACEHOLDER.sub(lambda m: blocks[int(m.group(1))], html)
