"""The Vega, Vega-Lite and vega-embed scripts as one classic script, for charts that draw with no
network: the published site's pages (``assets/ps/vega.js``) and notebooks
(:mod:`publicservices.notebook`). Bundled by vl-convert-python, the ``[site]`` extra.
"""

from __future__ import annotations

import functools

__all__ = ["vega_bundle"]


@functools.cache
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one classic script defining ``vega``, ``vegaLite``, ``vegaEmbed``."""
    from publicservices._extras import require

    require("bundling Vega for offline charts", ["vl_convert"])  # the [site] extra
    import vl_convert

    return vl_convert.javascript_bundle()  # type: ignore[call-arg]  # the stub makes the optional snippet required
