"""Charts in a notebook draw with no network: executed in a real Jupyter kernel, exported to HTML,
and opened in headless Chromium from a file, with every request outside the file recorded."""

from __future__ import annotations

import html

import pytest
from conftest import require
from test_site_browser import Chrome, chromium_binary, problems, requests_outside

import publicservices as ps
from publicservices.notebook import offline_mimebundle

pytestmark = pytest.mark.browser

CELLS = [
    "import publicservices as ps\nresult = ps.funnel_check(ps.demo(), 'health.ae_4hr')",
    "result.chart()",
    "ps.compare(ps.demo(), 'health.ae_4hr').chart('league')",
]


def _executed_notebook():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    return nb


def _export(nb) -> str:
    """The notebook as one HTML page: each output's text/html in cell order, as nbconvert lays them out."""
    parts = []
    for cell in nb.cells:
        parts.append(f"<pre>{html.escape(cell.source)}</pre>")
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                parts.append(f"<div class='output'>{data['text/html']}</div>")
            elif "text/plain" in data:
                parts.append(f"<pre>{html.escape(data['text/plain'])}</pre>")
    return "<!doctype html><html><head><meta charset='utf-8'></head><body>" + "".join(parts) + "</body></html>"


def test_charts_embed_vega_once_and_draw_offline(tmp_path):
    binary = chromium_binary()
    require(binary is not None, "headless Chromium is not installed (Debian: apt-get install chromium)")
    nb = _executed_notebook()
    outputs = [o for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    charts = [o["data"]["text/html"] for o in outputs if "ps-chart-" in o["data"]["text/html"]]
    assert len(charts) == 2
    assert "vegaEmbed=" in charts[0].replace(" ", "") or "vegaEmbed" in charts[0]
    assert len(charts[0]) > 200_000 > len(charts[1])  # the scripts once, in the first chart only
    page = tmp_path / "exported.html"
    page.write_text(_export(nb), encoding="utf-8")
    chrome = Chrome(binary)
    try:
        url = page.as_uri()
        events = chrome.open(
            url, until="document.querySelectorAll('div[id^=ps-chart-] svg, div[id^=ps-chart-] canvas').length >= 2"
        )
        assert chrome.evaluate("document.querySelectorAll('div[id^=ps-chart-] svg, div[id^=ps-chart-] canvas').length") >= 2
        assert not requests_outside(events, "file://"), requests_outside(events, "file://")
        assert not problems(events), problems(events)
    finally:
        chrome.close()


def test_the_renderer_escapes_script_ends_in_specs():
    html_out = offline_mimebundle({"title": "</script><script>alert(1)</script>"}, bundle="x")["text/html"]
    assert "</script><script>alert(1)" not in html_out and "<\\/script>" in html_out
    assert ps.__name__ == "publicservices"
