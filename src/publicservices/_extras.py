"""Optional dependencies: what each extra installs, and a clear error when it is missing.

``pip install publicservices`` is what an analyst needs in a notebook (Polars, NumPy, SciPy,
Altair, pluggy, click ...). ``pip install 'publicservices[site]'`` adds what building the
website needs: MkDocs, Material for MkDocs and vl-convert-python (which bundles Vega for
the site's offline charts). Code that needs one of them imports it inside a function and
calls :func:`require` first, so a base install raises
:class:`~publicservices.errors.MissingDependency` naming the extra instead of an
``ImportError`` from deep inside a build.

Example:
    >>> require("building the website", ["json"], extra="site")  # importable: nothing happens
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from publicservices.errors import MissingDependency

# import name -> distribution that provides it, for every module an extra installs
DISTRIBUTIONS: dict[str, str] = {
    "mkdocs": "mkdocs",
    "material": "mkdocs-material",
    "vl_convert": "vl-convert-python",
}
SITE_MODULES: tuple[str, ...] = ("mkdocs", "material", "vl_convert")


def missing(modules: Iterable[str]) -> list[str]:
    """The distributions providing those of ``modules`` that cannot be imported (none imported here)."""
    gone: list[str] = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            gone.append(DISTRIBUTIONS.get(name, name))
    return gone


def require(feature: str, modules: Iterable[str] = SITE_MODULES, *, extra: str = "site") -> None:
    """Raise :class:`MissingDependency` (``pip install 'publicservices[extra]'``) unless all ``modules`` import."""
    gone = missing(modules)
    if gone:
        raise MissingDependency(feature, gone, extra=extra)
