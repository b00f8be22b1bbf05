"""Charts in notebooks that need no network: JupyterLab, VS Code and exported HTML alike.

Altair's default renderer loads Vega from a CDN, so offline (or in an exported notebook opened
later) every chart fails with "Error loading script". The ``publicservices`` renderer embeds
the Vega, Vega-Lite and vega-embed scripts (from vl-convert, the ``[site]`` extra) in the
first chart a kernel displays, and later charts use them: the notebook, and the HTML exported
from it, draw every chart with no network.

It is switched on the first time a publicservices chart is built inside a Jupyter kernel,
unless ``PUBLICSERVICES_ONLINE_CHARTS=1`` or another renderer was chosen with
``alt.renderers.enable(...)``; without vl-convert, Altair's default stays (and says so once).

Example:
    >>> bundle = offline_mimebundle({"mark": "point"}, bundle="/* vega */")
    >>> html = bundle["text/html"]
    >>> html.count("<script"), "vegaEmbed" in html
    (2, True)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import warnings
from typing import Any

__all__ = ["RENDERER", "offline_mimebundle", "use_offline_charts"]

RENDERER = "publicservices"
_ENV_ONLINE = "PUBLICSERVICES_ONLINE_CHARTS"
_ids = itertools.count(1)
_state: dict[str, Any] = {"bundled": False, "tried": False}
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def _inline(text: str) -> str:
    """Text that can sit inside a ``<script>`` element: no ``</script`` ends it early."""
    return _SCRIPT_END.sub(r"<\\/\1", text)


def offline_mimebundle(spec: dict[str, Any], *, bundle: str | None = None, **_: Any) -> dict[str, str]:
    """The chart as HTML: a div, the Vega scripts the first time in this kernel, and the call that draws it."""
    include = not _state["bundled"]
    if include:
        if bundle is None:
            from publicservices.vega import vega_bundle

            bundle = vega_bundle()
        _state["bundled"] = True
    div = f"ps-chart-{os.getpid()}-{next(_ids)}"
    scripts = f'<script type="text/javascript">{_inline(bundle or "")}</script>' if include else ""
    draw = (
        f'(function () {{ var el = document.getElementById("{div}"), spec = {_inline(json.dumps(spec))};'
        ' function draw(tries) { if (window.vegaEmbed) { window.vegaEmbed(el, spec, {"actions": true}); }'
        " else if (tries > 0) { setTimeout(function () { draw(tries - 1); }, 50); }"
        ' else { el.textContent = "This chart needs the Vega scripts of the first chart in the notebook: run that cell."; } }'
        " draw(200); })();"
    )
    return {"text/html": f'<div id="{div}"></div>{scripts}<script type="text/javascript">{draw}</script>'}


def use_offline_charts(force: bool = False) -> bool:
    """Make Altair draw charts offline in this kernel; True when the publicservices renderer is on.

    Called when a chart is built; does nothing outside a Jupyter kernel (unless ``force``), when
    ``PUBLICSERVICES_ONLINE_CHARTS`` is set, when the user chose another renderer, or without
    vl-convert (the ``[site]`` extra), which it says once.
    """
    if _state["tried"] and not force:
        import altair as alt

        return bool(alt.renderers.active == RENDERER)
    _state["tried"] = True
    if not force and ("ipykernel" not in sys.modules or os.environ.get(_ENV_ONLINE, "").strip() not in ("", "0")):
        return False
    import altair as alt

    if alt.renderers.active not in ("default", "html", RENDERER) and not force:
        return False  # the user's choice stands
    from importlib.util import find_spec

    if find_spec("vl_convert") is None:
        warnings.warn(
            "Charts need a network connection to draw: Vega loads from a CDN. For offline charts, "
            "pip install 'publicservices[site]' (vl-convert bundles Vega).",
            stacklevel=3,
        )
        return False
    alt.renderers.register(RENDERER, offline_mimebundle)
    alt.renderers.enable(RENDERER)
    return True
