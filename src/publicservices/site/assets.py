"""The site's own assets, so it draws charts and searches with no request outside itself.

* ``assets/ps/vega.js``: Vega, Vega-Lite and vega-embed as one classic script, bundled by
  vl-convert-python (module scripts are refused on ``file://`` pages);
* ``assets/ps/ps-charts.js``: the chart loader (see its header comment);
* ``assets/ps/iframe-worker-shim.js``: a Worker stand-in so Material's offline search works
  from ``file://``; named in ``extra.polyfills``, which stops Material's offline plugin
  adding its own copy from a CDN;
* ``assets/ps/ps-site.css``: tables and figures, in Material's colour variables;
* ``assets/ps/ps-grid.js``, ``assets/ps/ps-grid.css``: the areas × indicators grid (sorting, colours);
* ``assets/ps/ps-explore.js``, ``assets/ps/ps-explore.css``: the period picker, view tabs, "highlight my
  area", the compare page and permalinks (see :mod:`publicservices.site.explore`).

The theme sets ``font: false``, so no web font is fetched; pages use system font stacks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from publicservices.vega import vega_bundle

ASSETS = "assets/ps"
STATIC = ("ps-charts.js", "iframe-worker-shim.js", "ps-site.css", "ps-grid.js", "ps-grid.css", "ps-explore.js", "ps-explore.css")
MKDOCS_CONFIG = {
    "extra_javascript": [f"{ASSETS}/vega.js", f"{ASSETS}/ps-charts.js", f"{ASSETS}/ps-grid.js", f"{ASSETS}/ps-explore.js"],
    "extra_css": [f"{ASSETS}/ps-site.css", f"{ASSETS}/ps-grid.css", f"{ASSETS}/ps-explore.css"],
    "extra": {"polyfills": [f"{ASSETS}/iframe-worker-shim.js"]},
}


def write_assets(docs: Path) -> list[str]:
    """Write the assets into ``docs/assets/ps``; return their paths relative to ``docs``."""
    folder = Path(docs) / ASSETS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vega.js").write_text(vega_bundle(), encoding="utf-8", newline="\n")
    static = resources.files("publicservices.site") / "static"
    for name in STATIC:
        (folder / name).write_bytes(static.joinpath(name).read_bytes())
    return sorted(f"{ASSETS}/{name}" for name in ("vega.js", *STATIC))
