"""MkDocs hooks of a published site: the raw HTML the pages are built with skips the Markdown parser.

A copy of this file is written beside each site's ``mkdocs.yml`` (``hooks:``), so a tree made
with ``publish --generate-only`` builds the same with plain ``mkdocs build``; it imports only
the standard library.

Area and indicator pages carry their tables and chart figures as HTML (written and escaped by
:mod:`publicservices.site.markup`). Python-Markdown reads each such block tag by tag, in pure
Python, only to pass it through unchanged: on a 2,000-area site that was a fifth of the build.
``on_page_markdown`` sets each block aside behind a comment, which the parser passes over in
one step, and ``on_post_page`` puts it back into the finished page, which comes out the same.
Until then the search plugin indexes the page without its tables and charts: a search for an
area finds the area's page, not every indicator page whose table lists it (and at 7,000 areas
the search plugin's HTML parser no longer reads 300 MB of table rows). Paragraphs written as
HTML (``<p>``, the pages' generated prose) are set aside the same way but come back in
``on_page_content``, before the search plugin reads the page, so they stay searchable. Only
blocks that start a line with ``<table``, ``<figure`` or ``<p``, end a line with their end tag
and hold no blank line are set aside (a raw HTML block of Markdown ends at a blank line), never
one that asks for Markdown inside (``markdown=``), and never on a page with fenced code, where
such text would be an example to show.

``on_files`` hard-links the site's static files (data downloads, chart scripts, assets) into
the built site instead of copying them, when ``publish`` asks for it (the environment variable
``PUBLICSERVICES_LINK_STATIC``: the docs tree is staging that is deleted after the build, so a
shared file is never edited through the other name). A plain ``mkdocs build`` copies, as usual.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from typing import Any

_BLOCK = re.compile(r"^<(table|figure|p)\b(?![^>]*\bmarkdown=)(?:(?!\n[ \t]*\n).)*?</\1>[ \t]*$", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"<!--ps-raw-(\d+)-->")
_PROSE = re.compile(r"<!--ps-prose-(\d+)-->")
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)

# blocks set aside, by page, between the two hooks
_aside: dict[str, list[str]] = {}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if _FENCE.search(markdown):
        return markdown
    blocks: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        blocks.append(match.group(0))
        kind = "prose" if match.group(1) == "p" else "raw"
        return f"<!--ps-{kind}-{len(blocks) - 1}-->"

    text = _BLOCK.sub(set_aside, markdown)
    if blocks:
        _aside[page.file.src_uri] = blocks
    return text


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    blocks = _aside.get(page.file.src_uri)
    if not blocks:
        return html
    return _PROSE.sub(lambda m: blocks[int(m.group(1))], html)


def on_post_page(output: str, page: Any, config: Any) -> str:
    blocks = _aside.pop(page.file.src_uri, None)
    if not blocks:
        return output
    return _PLACEHOLDER.sub(lambda m: blocks[int(m.group(1))], output)


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


def on_files(files: Any, config: Any) -> Any:
    if not os.environ.get("PUBLICSERVICES_LINK_STATIC"):
        return files
    docs = os.path.join(os.path.abspath(config["docs_dir"]), "")
    for file in files:
        # only the files publish wrote: never a theme's, which a link would let a later write change at its source
        source = file.abs_src_path if file.generated_by is None else None
        if source and not file.is_documentation_page() and os.path.abspath(source).startswith(docs):
            file.copy_file = functools.partial(_link, file)
    return files
