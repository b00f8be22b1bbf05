"""Page templates: Jinja, with every value escaped unless it is already-safe markup.

The pages are Markdown with HTML inside. A template gets its words and numbers from the page
classes (:mod:`publicservices.site.pages`), which compute nothing: they pick what the site
model holds and word it. Autoescaping is on, so a value from the data that reaches a template
without a filter is HTML-escaped; prose takes the ``md`` filter, which also escapes Markdown
(:func:`publicservices.site.safety.md_text`) and leaves markup that is already safe. Markup built elsewhere (tables, links, figures,
all escaped when built) is passed as :class:`markupsafe.Markup` with :func:`safe`.

Example:
    >>> print(render("_example.md.j2", title="A & B", items=["*x*", safe("<b>y</b>")]), end="")
    # A &#38; B
    - &#42;x&#42;
    - <b>y</b>
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup, escape

from publicservices.site.markup import front_matter
from publicservices.site.safety import md_text

__all__ = ["render", "safe"]


def safe(text: str) -> Markup:
    """Markup that is already escaped (a table, a link, a figure): a template prints it as it is."""
    return Markup(text)


def _md(value: Any) -> Markup:
    """Prose from the data, escaped for Markdown and HTML; markup already made safe is kept."""
    return value if isinstance(value, Markup) else Markup(md_text(value))


def _oneline(value: Any) -> Markup:
    """Text for one line of HTML: escaped (markup already made safe is kept), its whitespace collapsed.

    >>> print(_oneline("A & B\\n  C"))
    A &amp; B C
    """
    return Markup(" ".join(str(escape(value)).split()))


def _para(value: Any, *after: Any) -> Markup:
    """A paragraph as one line of HTML, ``<p>...</p>``: its text HTML-escaped (markup already made
    safe is kept), then ``after`` (safe markup, such as a link). Python-Markdown passes such a
    block through unread, and the site's MkDocs hook sets it aside before it is parsed at all.

    >>> print(_para("A & B < C.\\nNext", Markup('<a href="x.html">more</a>')))
    <p>A &amp; B &lt; C. Next <a href="x.html">more</a></p>
    """
    text = _oneline(value)
    tail = "".join(f" {escape(a)}" for a in after)
    return Markup(f"<p>{text}{tail}</p>")


@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("publicservices.site", "templates"),
        autoescape=True,
        auto_reload=False,  # the package's templates do not change while it runs: no stat per page
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _md
    env.filters["para"] = _para
    env.filters["oneline"] = _oneline
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["front_matter"] = lambda title, **meta: Markup(front_matter(title, **meta))
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (under ``publicservices/site/templates``) with ``context``."""
    return _environment().get_template(name).render(**context)
