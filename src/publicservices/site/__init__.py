"""Publish: build the static comparison website.

``publish(dataset, "site/")`` computes every comparison once (:mod:`.model`), writes a plain
docs tree of Markdown pages, chart scripts and data files (:mod:`.write`, :mod:`.pages`),
builds it with MkDocs Material and swaps the finished site into place (:mod:`.build`).
The command line's ``publicservices publish`` is a thin shell over this function.

Example:
    >>> from publicservices.site import publish           # doctest: +SKIP
    >>> publish(None, "site").summary()                   # doctest: +SKIP
    'Published 190 pages ...'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.site.pipeline import PublishResult, publish

__all__ = ["PublishResult", "publish"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `publicservices publish --help` (which imports site.progress) loads no Polars.
    if name in __all__:
        from publicservices.site import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
