"""The Vega, Vega-Lite and vega-embed scripts as one classic script, for charts that draw with no
network: the published site's pages (``assets/ps/vega.js``) and notebooks
(:mod:`publicservices.notebook`). Bundled by vl-convert-python, the ``[site]`` extra.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

__all__ = ["vega_bundle"]


@functools.cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one classic script defining ``vega``, ``vegaLite``, ``vegaEmbed``.

    vl-convert bundles it afresh on each call (seconds of CPU); the result depends only on the
    vl-convert version, so it is kept in a cache folder (``PUBLICSERVICES_CACHE_DIR``, else the
    user's cache folder) under that version. A cache that cannot be read or written is skipped.
    """
    from publicservices._extras import require

    require("bundling Vega for offline charts", ["vl_convert"])  # the [site] extra
    import vl_convert

    cached = _cache_dir() / f"vega-bundle-vl-convert-{_vl_convert_version()}.js"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return cached.read_text(encoding="utf-8")
    bundle: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]  # the stub makes the optional snippet required
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        # written whole then renamed: a build running at the same time never reads half a bundle
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8", newline="\n")
        os.replace(partial, cached)
    return bundle


def _vl_convert_version() -> str:
    from importlib import metadata

    return metadata.version("vl-convert-python")


def _cache_dir() -> Path:
    if folder := os.environ.get("PUBLICSERVICES_CACHE_DIR"):
        return Path(folder)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "publicservices" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "publicservices"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "publicservices"
