"""HTML fragments inside the generated Markdown pages: tables, links, chart figures, front matter.

Each fragment is one raw HTML block with no blank line inside, so Markdown passes it
through untouched; every value is escaped here, so callers pass plain text.

Example:
    >>> table(["Area"], [["<b>x</b>"]])
    '<table class="ps-table"><thead><tr><th scope="col">Area</th></tr></thead><tbody>\\n<tr><td>&lt;b&gt;x&lt;/b&gt;</td></tr>\\n</tbody></table>'
"""

from __future__ import annotations

import functools
import html
import json
import math
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from publicservices.site.safety import html_text, js_json, yaml_str


def _meta_value(value: Any) -> str:
    # Text is HTML-escaped like the title: Material prints meta (the description) unescaped too.
    # Numbers and booleans stay YAML numbers and booleans; lists become one-line flow sequences.
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_meta_value(v) for v in value) + "]"
    if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
        return json.dumps(value)
    return yaml_str(html_text(value))


def front_matter(title: str, **meta: Any) -> str:
    """A YAML front-matter block; the title HTML-escaped (Material prints it unescaped in ``<title>``).

    >>> front_matter("A & B")
    '---\\ntitle: "A &amp; B"\\n---\\n\\n'
    >>> print(front_matter("Areas", description="All <areas>", hide=["toc"]), end="")
    ---
    title: "Areas"
    description: "All &lt;areas&gt;"
    hide: ["toc"]
    ---
    <BLANKLINE>
    """
    lines = [f"title: {_meta_value(str(title))}"]
    lines += [f"{key}: {_meta_value(value)}" for key, value in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n"


def rel(page: str, target: str) -> str:
    """``target`` (relative to the docs root) as a URL relative to ``page``.

    >>> rel("areas/a.md", "data/a.csv"), rel("index.md", "areas.html")
    ('../data/a.csv', 'areas.html')
    """
    return _relative(posixpath.dirname(page), target)


@functools.lru_cache(maxsize=1 << 16)
def _relative(folder: str, target: str) -> str:
    # posixpath.relpath asks the operating system for the working folder twice a call, and a
    # 7,000-area site makes hundreds of thousands of links; paths inside the docs tree need no
    # working folder, and the same few folders and targets recur
    start, goal = posixpath.normpath(folder or "."), posixpath.normpath(target)
    if start.startswith(("/", "..")) or goal.startswith(("/", "..")):
        return posixpath.relpath(target, folder or ".")
    here = [] if start == "." else start.split("/")
    there = [] if goal == "." else goal.split("/")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:]) or "."


def link(page: str, target: str, text: Any) -> str:
    """An ``<a>`` element from ``page`` to ``target`` with escaped text.

    >>> link("areas/a.md", "areas/b.html", "B & C")
    '<a href="b.html">B &amp; C</a>'
    """
    return f'<a href="{html_text(rel(page, target))}">{html_text(text)}</a>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    numeric: Sequence[bool] | None = None,
    raw: Sequence[bool] | None = None,
    cls: str = "ps-table",
    compact: bool = False,
) -> str:
    """An HTML table; cells escaped unless their column is flagged ``raw`` (already-safe HTML such as a link).

    ``compact`` rows leave out the per-cell class, for tables of thousands of rows; the table
    carries the class ``ps-compact`` instead. End tags are always written: HTML lets a table
    omit them, but MkDocs Material's search indexer then keeps every cell open, and its time
    grows with the square of the rows (a 2,000-area page took minutes). Cells are separated by a
    space, which the page does not show, so that the search index reads them as words
    ("Carrowbury £2,166 84%", not "Carrowbury£2,16684%": such run-together terms broke
    Material's search for the whole name).

    >>> print(table(["Area", "Pop"], [[link("areas.md", "areas/a.html", "A & B"), 10]], raw=[True, False],
    ...             numeric=[False, True], caption="Areas"))
    <table class="ps-table"><caption>Areas</caption> <thead><tr><th scope="col">Area</th> <th scope="col">Pop</th></tr></thead><tbody>
    <tr><td><a href="areas/a.html">A &amp; B</a></td> <td class="ps-num">10</td></tr>
    </tbody></table>
    >>> print(table(["Area", "Pop"], [["A", 10], ["B", 20]], compact=True))
    <table class="ps-table ps-compact"><thead><tr><th scope="col">Area</th> <th scope="col">Pop</th></tr></thead><tbody>
    <tr><td>A</td> <td>10</td></tr>
    <tr><td>B</td> <td>20</td></tr>
    </tbody></table>
    """
    esc = html.escape
    raw = list(raw or [False] * len(headers))
    numeric = list(numeric or [False] * len(headers))
    opens = ['<td class="ps-num">' if n else "<td>" for n in numeric]
    head = " ".join(f'<th scope="col">{esc(str(h))}</th>' for h in headers)
    body = []
    if compact:
        cls = f"{cls} ps-compact"
        for row in rows:
            body.append(
                "<tr>"
                + " ".join(f"<td>{c if r else ('' if c is None else esc(str(c)))}</td>" for c, r in zip(row, raw, strict=True))
                + "</tr>"
            )
    else:
        for row in rows:
            cells = [f"{o}{c if r else ('' if c is None else esc(str(c)))}</td>" for o, c, r in zip(opens, row, raw, strict=True)]
            body.append("<tr>" + " ".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption> " if caption else ""
    # one row a line, and no blank line when there is none: Markdown would end the block there
    return (
        f'<table class="{esc(cls)}">{cap}<thead><tr>{head}</tr></thead><tbody>\n'
        + "".join(f"{b}\n" for b in body)
        + "</tbody></table>"
    )


def chart(
    *,
    page: str,
    key: str,
    load: Sequence[str],
    label: str,
    summary: str,
    links: Mapping[str, str] | None = None,
    inline: Mapping[str, Any] | None = None,
    height: int | None = None,
) -> str:
    """A chart figure for the site's loader: spec ``key`` from the scripts in ``load``, drawn into the view.

    The figure carries its text summary and data links in the caption, so the chart is never
    the only way to the numbers. It also holds an empty, hidden place for the chart's data as
    an HTML table (id from the key, see :func:`chart_table_id`): the loader (``ps-charts.js``)
    adds the buttons that show it and download the chart as PNG or SVG, so a page without
    scripts shows no button that cannot work, and the buttons' words stay out of the search index.

    >>> print(chart(page="areas/a.md", key="funnel", load=["charts/a.js"], label="Funnel plot",
    ...             summary="3 areas", links={"CSV": "data/a.csv"}, inline={"n": 3}, height=300))
    <figure class="ps-chart" data-spec="funnel" data-load="../charts/a.js"><div class="ps-chart__view" role="img" aria-label="Funnel plot" style="min-height:300px"></div><script type="application/json" class="ps-chart__data">{"n":3}</script><div class="ps-chart__table" id="ps-data-funnel" hidden></div><figcaption>3 areas <a href="../data/a.csv" download>CSV</a></figcaption></figure>
    """
    attrs = [f'data-spec="{html_text(key)}"', f'data-load="{html_text(" ".join(rel(page, u) for u in load))}"']
    # The figure's own rows as a JSON script block, not an attribute: HTML parsers (MkDocs'
    # Markdown and its search index among them) pass over a script's text in one step, where
    # an attribute of tens of kilobytes is read character by character. js_json writes no "<",
    # so the text cannot close the block.
    data = f'<script type="application/json" class="ps-chart__data">{js_json(inline)}</script>' if inline is not None else ""
    style = f' style="min-height:{int(height)}px"' if height else ""
    anchors = " · ".join(
        f'<a href="{html_text(rel(page, url))}" download>{html_text(text)}</a>' for text, url in (links or {}).items()
    )
    return (
        f'<figure class="ps-chart" {" ".join(attrs)}><div class="ps-chart__view" role="img" aria-label="{html_text(label)}"{style}></div>'
        f'{data}<div class="ps-chart__table" id="{chart_table_id(key)}" hidden></div>'
        f"<figcaption>{html_text(summary)}{' ' + anchors if anchors else ''}</figcaption></figure>"
    )


def chart_table_id(key: str) -> str:
    """The id of a chart figure's data table: the key in letters, digits and hyphens.

    >>> chart_table_id("indicators/health.ae_4hr/map")
    'ps-data-indicators-health-ae-4hr-map'
    """
    return "ps-data-" + (re.sub(r"[^a-z0-9]+", "-", str(key).lower()).strip("-") or "chart")
