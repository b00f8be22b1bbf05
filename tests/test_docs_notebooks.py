"""The example notebooks in the docs site: run at build, shown with their outputs, charts offline.

``make docs`` adds ``notebooks/*.ipynb`` to the site (docs/hooks/notebooks.py) and mkdocs-jupyter
runs each one from ``notebooks/`` and renders it with its outputs at ``notebooks/<name>/``
(mkdocs.yml). The whole site is built once here, in a ``python3`` kernel running this test's own
interpreter; nearly all of its 40 s or so is the five notebooks running. Charts must draw with no
network: the first chart of a page carries the Vega scripts (publicservices.notebook), and no
page loads a script, style sheet or image from another site.

Skips with a reason when mkdocs-jupyter, vl-convert or ipykernel is missing (``pip install -e
'.[dev]'``), or Chromium for the browser check; under ``CI=true`` those are failures.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import require

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "requirejs", "require.min.js")


def _title(notebook: Path) -> str:
    """The notebook's first heading, which names its page."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise AssertionError(f"{notebook.name} has no '# ' heading to name its page")


class _Refs(HTMLParser):
    """Every URL a page loads: src of scripts, images and frames, href of style sheets (not text inside scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.loads.append(a["src"] or "")
        if tag == "link" and a.get("href") and "stylesheet" in (a.get("rel") or "") + (a.get("as") or ""):
            self.loads.append(a["href"] or "")
        if tag == "object" and a.get("data"):
            self.loads.append(a["data"] or "")


def _loads(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.loads


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The docs site, built once with the notebooks executed."""
    for module, what in (("mkdocs_jupyter", "mkdocs-jupyter"), ("vl_convert", "vl-convert-python"), ("ipykernel", "ipykernel")):
        require(
            find_spec(module) is not None,
            f"{what} is not installed (pip install -e '.[dev]'), so the docs cannot render the notebooks",
        )
    mkdocs = Path(sys.executable).with_name("mkdocs")
    require(mkdocs.exists(), f"no mkdocs beside {sys.executable}")
    # The notebooks ask for the "python3" kernel: make it this interpreter, whatever kernels the
    # machine has (JUPYTER_PATH comes before the user's and the environment's folders).
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}), encoding="utf-8"
    )
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "PUBLICSERVICES_DOCS_EXECUTE": "true",
        "JUPYTER_PATH": os.pathsep.join([str(jupyter), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep),
    }
    env.pop("PUBLICSERVICES_ONLINE_CHARTS", None)  # the offline renderer, as a reader gets it
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def _page(site: Path, notebook: Path) -> str:
    path = site / "notebooks" / notebook.stem / "index.html"
    assert path.exists(), f"no docs page for {notebook.name}"
    return path.read_text(encoding="utf-8")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


def _nav_section(home: str, label: str) -> list[tuple[str, str]]:
    """The (href, title) links of a section of Material's navigation, from its label."""
    found = re.search(
        r'<nav class="md-nav" data-md-level="1"[^>]*>\s*<label class="md-nav__title"[^>]*>\s*<span[^>]*></span>\s*'
        + re.escape(label)
        + r"\s*</label>(.*?)</nav>",
        home,
        flags=re.S,
    )
    assert found, f"no {label!r} section in the docs nav"
    links = re.findall(
        r'<a href="([^"]+)" class="md-nav__link[^"]*">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>', found[1], flags=re.S
    )
    return [(href, re.sub(r"\s+", " ", title)) for href, title in links]


def test_every_notebook_is_in_the_nav_under_its_first_heading(site):
    links = _nav_section((site / "index.html").read_text(encoding="utf-8"), "Notebooks")
    assert links[0][0] == "notebooks/"  # the section's own page first
    for notebook in NOTEBOOKS:
        entry = (f"notebooks/{notebook.stem}/", html.escape(_title(notebook), quote=False))
        assert entry in links, f"{notebook.name} is not in the nav as {entry} (add it to mkdocs.yml): {links}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_page_shows_the_executed_outputs(site, notebook):
    page = _page(site, notebook)
    assert f"<title>{html.escape(_title(notebook), quote=False)} - " in page
    inputs = re.findall(r'jp-InputArea-prompt">In\xa0\[([^\]]*)\]:', page)
    assert inputs and all(n.isdigit() for n in inputs), f"{notebook.name} was not executed (prompts {inputs[:5]})"
    assert 'jp-OutputArea-prompt">Out[' in page  # displayed results, not only printed text
    assert "<table" in page  # results display as HTML tables
    # the notebook itself, for download, beside its page
    assert (site / "notebooks" / notebook.stem / notebook.name).exists()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_page_charts_carry_their_own_vega(site, notebook):
    page = _page(site, notebook)
    charts = re.findall(r'<div id="(ps-chart-[0-9-]+)"></div>', page)
    if not charts:
        pytest.skip(f"{notebook.name} draws no chart")
    # each chart is drawn from its embedded Vega-Lite spec ...
    assert page.count("window.vegaEmbed(el, spec") == len(charts)
    assert page.count('"$schema": "https://vega.github.io/schema/vega-lite/') >= len(charts)
    # ... by the Vega scripts inlined once, with the first chart, before any chart draws
    scripts = [s for s in re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S) if len(s) > 200_000]
    assert len(scripts) == 1, f"expected the Vega bundle once, found {len(scripts)} large inline scripts"
    assert page.index(scripts[0]) < page.index("window.vegaEmbed(el, spec")


def test_quickstart_page_shows_its_funnel_plot(site):
    page = _page(site, REPO / "notebooks" / "01-quickstart.ipynb")
    assert '"kind": "funnel"' in page
    assert "of 150 areas with a value" in page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_page_loads_nothing_from_other_sites(site, notebook):
    page = _page(site, notebook)
    outside = [u for u in _loads(page) if re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", u, flags=re.I) and not u.startswith("data:")]
    assert outside == [], f"{notebook.name} loads {outside}"
    named = [h for h in CDN_HOSTS if h in page]
    assert named == [], f"{notebook.name} names a CDN: {named}"
    assert "<script src=" not in page.replace('<script src="../../assets/javascripts/', "")


@pytest.mark.browser
def test_notebook_charts_draw_in_a_browser_with_no_network(site):
    from test_site_browser import Chrome, Server, chromium_binary, problems, requests_outside

    binary = chromium_binary()
    require(binary is not None, "headless Chromium is not installed (Debian: apt-get install chromium)")
    server = Server(site)
    chrome = Chrome(binary)
    charts = "document.querySelectorAll('div[id^=\"ps-chart-\"]')"
    drawn = (
        'document.querySelectorAll(\'div[id^="ps-chart-"] .chart-wrapper > svg, div[id^="ps-chart-"] .chart-wrapper > canvas\')'
    )
    try:
        for notebook in NOTEBOOKS:
            url = f"{server.base}notebooks/{notebook.stem}/"
            events = chrome.open(url, until=f"{charts}.length === {drawn}.length")
            assert chrome.evaluate(f"{charts}.length") == chrome.evaluate(f"{drawn}.length"), notebook.name
            assert requests_outside(events, server.base) == [], notebook.name
            assert problems(events) == [], notebook.name
    finally:
        chrome.close()
        server.close()
