"""The built demo site in a real browser: headless Chromium driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe`` and spoken to over two pipes with the
standard library only (no Selenium, no WebSocket client, no browser download). The site is
served by ``http.server`` on 127.0.0.1; every request the page makes is recorded, so a request
leaving the site fails the test. axe-core (from the npm registry, installed once into a cache
folder) checks accessibility.

Skips with a reason on a machine without Chromium (or npm, for the axe check); under
``CI=true`` those are failures (see ``tests/conftest.py``).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import require

from publicservices.site import publish
from publicservices.site.sample import sample_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE_VERSION = "4.10.3"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
]


def chromium_binary() -> str | None:
    for name in (os.environ.get("PUBLICSERVICES_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Chrome:
    """Just enough of the Chrome DevTools Protocol, over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="ps-chromium-")
        to_child, from_parent = os.pipe()  # parent writes commands, child reads them on fd 3
        from_child, to_parent = os.pipe()  # child writes replies on fd 4

        def wire() -> None:  # in the child: put the pipe ends on fd 3 and 4 (via high numbers, never clobbering)
            a, b = os.dup(to_child), os.dup(to_parent)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire,
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(to_parent)
        self.writer = os.fdopen(from_parent, "wb", buffering=0)
        self.reader = os.fdopen(from_child, "rb", buffering=0)
        self.counter = 0
        self.replies: dict[int, dict[str, Any]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.page(f"{domain}.enable")

    def _read(self) -> None:
        buffer = b""
        while chunk := self.reader.read(1 << 16):
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self.ready:
                        self.replies[message["id"]] = message
                        self.ready.notify_all()
                else:
                    self.events.put(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        self.counter += 1
        ident = self.counter
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.writer.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.ready:
            while ident not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"Chromium did not answer {method} in {timeout} s")
                self.ready.wait(left)
            reply = self.replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def page(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        return self.send(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expression: str, *, wait: bool = False, timeout: float = 60) -> Any:
        result = self.page(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": wait}, timeout=timeout
        )
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"])[:800])
        return result["result"].get("value")

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def open(self, url: str, *, until: str = "true", timeout: float = 45) -> list[dict[str, Any]]:
        """Navigate, wait until the page has loaded and ``until`` is true; return the events seen."""
        self.drain()
        self.page("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"document.readyState === 'complete' && location.href === {json.dumps(url)} && !!({until})"):
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"{url}: {until} did not become true in {timeout} s")
        time.sleep(0.3)
        return self.drain()

    def screenshot(self, path: Path) -> None:
        shot = self.page("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among ``events``."""
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:400])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"failed load: {p.get('errorText')}")
    return out


def requests_outside(events: list[dict[str, Any]], base: str) -> list[str]:
    urls = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    return [u for u in urls if not u.startswith((base, "data:", "blob:", "about:"))]


CHARTS_DONE = "(document.querySelectorAll('figure.ps-chart').length === 0 || document.documentElement.getAttribute('data-ps-charts') === 'done')"
CHARTS_STATE = (
    "[document.querySelectorAll('figure.ps-chart').length,"
    " document.querySelectorAll('figure.ps-chart svg, figure.ps-chart canvas').length,"
    " document.querySelectorAll('figure.ps-chart.ps-chart--failed').length]"
)


class Server:
    def __init__(self, root: Path) -> None:
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def chrome():
    binary = chromium_binary()
    require(binary is not None, "headless Chromium is not installed (Debian: apt-get install chromium)")
    browser = Chrome(binary)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "site"
    result = publish(None, out)
    server = Server(out)
    yield out, server.base, result
    server.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "site"
    publish(
        sample_dataset(
            n_areas=8,
            n_periods=2,
            names={"E06000001": "<script>alert(1)</script>", "E06000002": "Zed <img src=x onerror=alert(2)>"},
        ),
        out,
    )
    server = Server(out)
    yield out, server.base
    server.close()


def demo_pages(site: Path) -> dict[str, str]:
    indicator = sorted(p.relative_to(site).as_posix() for p in (site / "indicators").glob("*.html"))[0]
    area = sorted(p.relative_to(site).as_posix() for p in (site / "areas").glob("*.html"))[0]
    return {"home": "index.html", "indicator": indicator, "area": area, "sector": "sectors/health.html"}


def test_pages_render_with_charts_and_no_errors(chrome, demo, tmp_path):
    site, base, _ = demo
    for _kind, page in demo_pages(site).items():
        events = chrome.open(base + page, until=CHARTS_DONE)
        figures, drawn, failed = chrome.evaluate(CHARTS_STATE)
        assert figures >= 1 and drawn == figures and failed == 0, (page, figures, drawn, failed)
        assert problems(events) == [], page
        assert requests_outside(events, base) == [], page
    if os.environ.get("PUBLICSERVICES_SCREENSHOTS"):
        chrome.screenshot(tmp_path / "area.png")


def test_indicator_page_draws_map_funnel_and_league(chrome, demo):
    site, base, _ = demo
    page = demo_pages(site)["indicator"]
    chrome.open(base + page, until=CHARTS_DONE)
    keys = chrome.evaluate(
        "Array.from(document.querySelectorAll('figure.ps-chart--drawn')).map(f => f.getAttribute('data-spec').split('/').pop())"
    )
    assert {"map", "funnel", "league", "trend"} <= set(keys), keys
    # the SVG is labelled for screen readers
    assert chrome.evaluate("document.querySelectorAll('figure.ps-chart .ps-chart__view[aria-label]').length") == len(keys)


def _search(chrome: Chrome, query: str) -> list[dict[str, str]]:
    chrome.evaluate(
        "(() => { const i = document.querySelector('input.md-search__input'); i.focus();"
        f" i.value = {json.dumps(query)}; i.dispatchEvent(new Event('input', {{bubbles: true}}));"
        " i.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'a'})); })()"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = chrome.evaluate(
            "Array.from(document.querySelectorAll('.md-search-result__item a')).map(a => ({href: a.getAttribute('href').split(/[?#]/)[0],"
            " title: (a.querySelector('h1, h2') || a).textContent.trim()}))"
        )
        if found:
            return found
        time.sleep(0.25)
    return []


def test_search_finds_an_area_by_name(chrome, demo):
    site, base, _ = demo
    import polars as pl

    areas = pl.read_parquet(site / "data/all/areas.parquet").filter(pl.col("area_code").str.starts_with("X06"))
    name, code = areas.row(3)[1], areas.row(3)[0]
    events = chrome.open(base + "index.html")
    found = _search(chrome, name)
    assert any(r["href"].endswith(f"areas/{code.lower()}.html") and name in r["title"] for r in found), (name, found[:5])
    assert requests_outside(events + chrome.drain(), base) == []


def test_site_works_from_file_urls_with_offline_search(chrome, demo):
    site, _, _ = demo
    base = site.resolve().as_uri() + "/"
    chrome.open(base + "index.html")
    found = _search(chrome, "Downloads")
    assert any(r["href"].endswith("downloads.html") for r in found), found[:5]
    events = chrome.open(base + demo_pages(site)["area"], until=CHARTS_DONE)
    figures, drawn, failed = chrome.evaluate(CHARTS_STATE)
    assert figures >= 1 and drawn == figures and failed == 0
    assert requests_outside(events, base) == []


def test_hostile_names_never_run_as_script(chrome, hostile):
    site, base = hostile
    for page in ("areas/e06000001.html", "areas/e06000002.html", "areas.html", "indicators/health.sample_rate.html"):
        events = chrome.open(base + page, until=CHARTS_DONE)
        dialogs = [e for e in events if e.get("method") == "Page.javascriptDialogOpening"]
        assert dialogs == [], page
        assert problems(events) == [], page
    chrome.open(base + "areas/e06000001.html", until=CHARTS_DONE)
    assert chrome.evaluate("document.querySelector('h1').textContent") == "<script>alert(1)</script>"
    assert chrome.evaluate("document.title").startswith("<script>alert(1)</script>")
    chrome.open(base + "index.html")
    found = _search(chrome, "Zed")
    assert any(r["href"].endswith("areas/e06000002.html") for r in found), found
    assert not [e for e in chrome.drain() if e.get("method") == "Page.javascriptDialogOpening"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    cache = Path(os.environ.get("PUBLICSERVICES_CACHE") or Path.home() / ".cache" / "publicservices") / f"axe-core-{AXE_VERSION}"
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        require(npm is not None, "npm is not installed, so axe-core cannot be fetched")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--no-save", f"axe-core@{AXE_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        require(done.returncode == 0 and script.exists(), f"npm could not install axe-core: {done.stderr[-300:]}")
    return script.read_text(encoding="utf-8")


def every_page_type(site: Path) -> dict[str, str]:
    """One page of every kind the site has (the explore and region pages where the site has them)."""
    pages = {
        **demo_pages(site),
        "value": "value/health.html",
        "indicators index": "indicators.html",
        "areas index": "areas.html",
        "methodology": "methodology.html",
        "downloads": "downloads.html",
        "how to read": "how-to-read.html",
        "glossary": "glossary.html",
    }
    for kind, pattern in (("compare", "compare.html"), ("region", "regions/*.html"), ("value part", "value/*/*.html")):
        found = sorted(site.glob(pattern))
        if found:
            pages[kind] = found[0].relative_to(site).as_posix()
    return pages


def test_every_kind_of_page_passes_axe_at_every_impact_level(chrome, demo, axe_source):
    site, base, _ = demo
    report = {}
    for _kind, page in every_page_type(site).items():
        chrome.open(base + page, until=CHARTS_DONE)
        chrome.evaluate(axe_source)
        result = chrome.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
            "({id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target.join(' ')})))",
            wait=True,
            timeout=120,
        )
        if result:  # minor and moderate as well as serious and critical
            report[page] = result
    assert report == {}, json.dumps(report, indent=1)


SPINE_MARKS = """(() => {
  const svg = document.querySelector("figure[data-spec$='areas/spine'] svg");
  const rows = svg.querySelectorAll("g.role-axis-label text").length;
  const ticks = Array.from(svg.querySelectorAll("path[aria-roledescription='tick']")).map(p => {
    const b = p.getBBox(); return {x: b.x + b.width / 2, y: b.y, w: b.width, h: b.height};
  });
  const bars = Array.from(svg.querySelectorAll("path[aria-roledescription='bar']")).map(p => p.getBBox());
  const left = Math.min(...bars.map(b => b.x)), right = Math.max(...bars.map(b => b.x + b.width));
  return {rows, ticks, rules: svg.querySelectorAll("[aria-roledescription='rule mark']").length, left, right,
          labels: Array.from(svg.querySelectorAll("g.role-axis-label text")).map(t => t.textContent)};
})()"""
TREND_AXES = """Array.from(document.querySelectorAll("figure[data-spec$='areas/trend'] svg g.role-axis"))
  .filter(g => (g.getAttribute('aria-label') || '').startsWith('X-axis'))
  .map(g => Array.from(g.querySelectorAll('g.role-axis-label text')).map(t => t.textContent))"""


def test_area_charts_draw_the_benchmark_as_a_tick_and_label_each_period_once(chrome, demo):
    import polars as pl

    site, base, _ = demo
    page = demo_pages(site)["area"]
    chrome.open(base + page, until=CHARTS_DONE)
    spine = chrome.evaluate(SPINE_MARKS)
    assert spine["rows"] >= 3 and spine["rules"] == 0
    assert len(spine["ticks"]) == spine["rows"]  # one benchmark mark per row ...
    centre = (spine["left"] + spine["right"]) / 2
    for tick in spine["ticks"]:  # ... a short vertical line at the centre, not a bar from the left edge
        assert tick["w"] <= 3 and 10 <= tick["h"] <= 26 and abs(tick["x"] - centre) < 1.5, (tick, centre)
    assert len({round(t["y"]) for t in spine["ticks"]}) == spine["rows"]
    # rows in the site's indicator order (sector, then id), as the area's table lists them, not A to Z
    indicators = json.loads((site / "data/all/indicators.json").read_text())
    titles = [indicators[i]["title"] for i in sorted(indicators, key=lambda i: (indicators[i]["sector"], i))]
    places = [next(n for n, t in enumerate(titles) if t.startswith(label.rstrip("…"))) for label in spine["labels"]]
    assert places == sorted(places), spine["labels"]
    # the trend panels: each x axis reads the periods as the data label them, each once
    periods = set(pl.read_parquet(site / "data/all/results.parquet").get_column("period").unique())
    axes = chrome.evaluate(TREND_AXES)
    assert axes, "no trend axes"
    for labels in axes:
        assert labels and len(labels) == len(set(labels)), labels  # never 2019 2019 2020
        assert set(labels) <= periods, labels  # "2019/20", never "2019" for it


# -- the grid of areas × indicators (sector pages) ---------------------------------------------

GRID_READY = "!!document.querySelector('table.ps-grid__table[data-ps-grid=\"ready\"]')"
GRID_STATE = """(() => {
  const t = document.querySelector('table.ps-grid__table');
  const heads = Array.from(t.tHead.rows[0].cells);
  const rows = Array.from(t.querySelector('tbody.ps-grid__areas').rows);
  return {
    sort: heads.map(h => h.getAttribute('aria-sort')),
    buttons: heads.map(h => !!h.querySelector('button.ps-grid__sort')),
    first: t.tBodies[0].className + ' ' + t.tBodies[0].rows[0].cells[0].textContent.trim(),
    names: rows.map(r => r.cells[0].textContent.trim()),
    values: heads.map((h, j) => rows.map(r => r.cells[j].hasAttribute('data-v') ? parseFloat(r.cells[j].getAttribute('data-v')) : null)),
    status: document.querySelector('.ps-grid__status').textContent,
  };
})()"""


def _click(chrome: Chrome, selector: str) -> None:
    """A real mouse click (pressed and released over the element), as a reader's."""
    box = chrome.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center', inline: 'center'}});"
        " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        chrome.page("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
    time.sleep(0.2)


def _press_enter(chrome: Chrome, selector: str) -> None:
    chrome.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
    assert chrome.evaluate(f"document.activeElement === document.querySelector({json.dumps(selector)})")
    chrome.page(
        "Input.dispatchKeyEvent", {"type": "keyDown", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}
    )
    chrome.page("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13})
    time.sleep(0.2)


def _ordered(values: list[float | None], descending: bool) -> bool:
    present = [v for v in values if v is not None]
    missing_last = all(v is None for v in values[len(present) :])
    return missing_last and present == sorted(present, reverse=descending)


def test_grid_sorts_by_a_header_with_mouse_and_keyboard(chrome, demo):
    site, base, _ = demo
    events = chrome.open(base + "sectors/health.html", until=GRID_READY)
    state = chrome.evaluate(GRID_STATE)
    assert all(state["buttons"]) and state["sort"][0] == "ascending"
    assert state["first"].startswith("ps-grid__bench ")  # the benchmark's row first
    assert state["names"] == sorted(state["names"], key=str.lower) and len(state["names"]) == 150
    heads = chrome.evaluate(
        "Array.from(document.querySelectorAll('table.ps-grid__table thead th')).map(h => [h.textContent, h.getAttribute('data-best')])"
    )
    ae = next(j for j, (text, _) in enumerate(heads) if text.startswith("A&E"))  # higher is better
    cvd = next(j for j, (text, _) in enumerate(heads) if "cardiovascular" in text)  # lower is better
    button = "table.ps-grid__table thead th:nth-child({}) button"
    # a click sorts best first: highest first when higher is better
    _click(chrome, button.format(ae + 1))
    state = chrome.evaluate(GRID_STATE)
    assert state["sort"][ae] == "descending" and state["sort"].count(None) == len(heads) - 1
    assert _ordered(state["values"][ae], descending=True)
    assert "best first" in state["status"] and state["first"].startswith("ps-grid__bench ")
    # the keyboard: Enter on the focused header's button turns the order round (worst first)
    _press_enter(chrome, button.format(ae + 1))
    state = chrome.evaluate(GRID_STATE)
    assert state["sort"][ae] == "ascending" and _ordered(state["values"][ae], descending=False)
    assert "worst first" in state["status"]
    # lower is better: best first is lowest first; areas with no value stay last
    _click(chrome, button.format(cvd + 1))
    state = chrome.evaluate(GRID_STATE)
    assert state["sort"][cvd] == "ascending" and _ordered(state["values"][cvd], descending=False)
    assert state["values"][cvd][-1] is None  # the demo hides a few small counts
    # and back to the area names, A to Z, then Z to A
    _click(chrome, button.format(1))
    state = chrome.evaluate(GRID_STATE)
    assert state["sort"][0] == "ascending" and state["names"] == sorted(state["names"], key=str.lower)
    _click(chrome, button.format(1))
    state = chrome.evaluate(GRID_STATE)
    assert state["sort"][0] == "descending" and state["names"] == sorted(state["names"], key=str.lower, reverse=True)
    assert problems(events + chrome.drain()) == [] and requests_outside(events, base) == []


# -- every chart: readable on a phone, its data as a table, downloads as PNG and SVG --------------

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}

# Elements of the page reaching past the window's right edge, leaving out those inside a box
# that scrolls or clips them (a wide table scrolls inside itself) and those not shown. (Material's
# navigation drawer waits off the left edge.)
WIDER_THAN_WINDOW = """(() => {
  const W = document.documentElement.clientWidth;
  const held = e => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  return Array.from(document.body.querySelectorAll('*')).filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > W + 1 && getComputedStyle(e).visibility !== 'hidden' && !held(e);
  }).map(e => e.tagName.toLowerCase() + '.' + String(e.className.baseVal ?? e.className) + ' ' + Math.round(e.getBoundingClientRect().right));
})()"""
# Per chart: its key, the smallest text on screen (font size times the SVG's scale), the SVG's
# width and its column's, and any text cut off by the SVG's edge (a legend pushed out of view).
CHART_TEXT = """Array.from(document.querySelectorAll('figure.ps-chart')).map(f => {
  const svg = f.querySelector('.ps-chart__view svg');
  const texts = svg ? Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()) : [];
  const sizes = texts.map(t => { const m = t.getScreenCTM(); return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); });
  const box = svg ? svg.getBoundingClientRect() : null;
  const outside = texts.filter(t => { const r = t.getBoundingClientRect(); return r.left < box.left - 3 || r.right > box.right + 3; });
  return {key: f.getAttribute('data-spec'), texts: texts.length, smallest: Math.min(...sizes),
          svg: box ? box.width : null, column: f.clientWidth,
          right: Math.max(...texts.map(t => t.getBoundingClientRect().right)), outside: outside.map(t => t.textContent)};
})"""


@pytest.fixture
def phone(chrome):
    chrome.page("Emulation.setDeviceMetricsOverride", PHONE)
    yield chrome
    chrome.page("Emulation.clearDeviceMetricsOverride")


def test_pages_fit_a_phone_and_chart_text_is_readable(phone, demo, tmp_path):
    site, base, _ = demo
    for kind in ("home", "indicator", "area"):
        page = demo_pages(site)[kind]
        events = phone.open(base + page, until=CHARTS_DONE)
        assert phone.evaluate("document.documentElement.clientWidth") == 390
        assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390, page
        assert phone.evaluate(WIDER_THAN_WINDOW) == [], page
        charts = phone.evaluate(CHART_TEXT)
        assert charts and all(c["texts"] > 0 for c in charts), (page, charts)
        for c in charts:
            # drawn at its column's width or less (never scaled down), every text at least 11 px on screen
            assert c["svg"] <= c["column"] + 0.5 and c["right"] <= 390 and c["outside"] == [], (page, c)
            assert c["smallest"] >= 11 - 0.01, (page, c)
        assert problems(events) == [], page
        if os.environ.get("PUBLICSERVICES_SCREENSHOTS"):
            phone.screenshot(tmp_path / f"{kind}-390.png")
    # the spine chart at 390 px: each indicator's name on its own line, whole or cut with "…", inside the screen
    page = demo_pages(site)["area"]
    phone.open(base + page, until=CHARTS_DONE)
    rows = json.loads(
        phone.evaluate("document.querySelector(\"figure[data-spec='areas/spine'] script.ps-chart__data\").textContent")
    )
    titles = [r["title"] for r in next(iter(rows.values()))]
    texts = phone.evaluate(
        """Array.from(document.querySelectorAll("figure[data-spec='areas/spine'] svg text")).map(t => {
             const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right, r.top]; })"""
    )
    shown = {t[0]: t for t in texts}
    for title in titles:
        label = next((t for t in shown if t == title or (t.endswith("…") and title.startswith(t[:-1]))), None)
        assert label is not None, (title, list(shown)[:30])
        assert shown[label][1] >= 0 and shown[label][2] <= 390
    tops = [shown[next(t for t in shown if t == title or (t.endswith("…") and title.startswith(t[:-1])))][3] for title in titles]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one line each, in the site's order


def test_every_kind_of_page_fits_a_phone(phone, demo):
    site, base, _ = demo
    wide = {}
    for _kind, page in every_page_type(site).items():
        phone.open(base + page, until=CHARTS_DONE)
        found = phone.evaluate(WIDER_THAN_WINDOW)
        if found or phone.evaluate("document.scrollingElement.scrollWidth") > 390:
            wide[page] = found
    assert wide == {}, wide


def test_the_home_pages_postcode_lottery_is_readable_on_a_phone(phone, demo):
    site, base, _ = demo
    phone.open(base + "index.html", until=CHARTS_DONE)
    lottery = next(c for c in phone.evaluate(CHART_TEXT) if c["key"].endswith("lottery"))
    assert lottery["smallest"] >= 11 - 0.01 and lottery["right"] <= 390, lottery
    # at 390 px the bars' labels are lines above the bars, not a column beside them
    labels = phone.evaluate(
        """(() => { const names = Object.values(window.PS_SPECS).filter(s => s.usermeta && s.usermeta.publicservices
             && s.usermeta.publicservices.kind === 'lottery')[0].layer[0].encoding.y.sort;
           const texts = Array.from(document.querySelectorAll("figure[data-spec$='lottery'] svg text"));
           return names.map(n => texts.filter(t => t.textContent === n || (t.textContent.endsWith('…') && n.startsWith(t.textContent.slice(0, -1))))
             .map(t => t.getBoundingClientRect().left)[0]); })()"""
    )
    assert labels and all(left is not None and left < 40 for left in labels), labels


TABLE_STATE = """((figure) => {
  const f = document.querySelector(figure), b = f.querySelector('button.ps-chart__toggle');
  const holder = document.getElementById(b.getAttribute('aria-controls'));
  const t = holder.querySelector('table');
  return {expanded: b.getAttribute('aria-expanded'), text: b.textContent, hidden: holder.hidden, inFigure: f.contains(holder),
          visible: !!t && holder.getBoundingClientRect().height > 0,
          heads: t ? Array.from(t.tHead.rows[0].cells).map(c => c.textContent) : [],
          scope: t ? Array.from(t.tHead.rows[0].cells).every(c => c.scope === 'col') : null,
          caption: t && t.caption ? t.caption.textContent : null,
          rows: t ? Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent)) : []};
})"""


def test_a_charts_data_shows_as_a_table_with_mouse_and_keyboard(chrome, demo):
    site, base, _ = demo
    page = demo_pages(site)["area"]
    events = chrome.open(base + page, until=CHARTS_DONE)
    # every drawn chart has the toggle, a real button that controls its figure's hidden table
    buttons = chrome.evaluate(
        """Array.from(document.querySelectorAll('figure.ps-chart')).map(f => {
             const b = f.querySelector('button.ps-chart__toggle'); const saves = f.querySelectorAll('button.ps-chart__save');
             return [b && b.type, b && b.getAttribute('aria-expanded'), !!b && !!document.getElementById(b.getAttribute('aria-controls')),
                     Array.from(saves).map(s => s.textContent)]; })"""
    )
    assert buttons and all(b == ["button", "false", True, ["Download PNG", "Download SVG"]] for b in buttons), buttons
    spine = "figure[data-spec='areas/spine']"
    state = chrome.evaluate(TABLE_STATE + f"({json.dumps(spine)})")
    assert state["expanded"] == "false" and state["hidden"] and state["inFigure"] and state["rows"] == []
    # the keyboard: Enter on the focused button shows the table
    _press_enter(chrome, spine + " button.ps-chart__toggle")
    state = chrome.evaluate(TABLE_STATE + f"({json.dumps(spine)})")
    rows = next(
        iter(
            json.loads(
                chrome.evaluate(f"document.querySelector({json.dumps(spine + ' script.ps-chart__data')}).textContent")
            ).values()
        )
    )
    assert state["expanded"] == "true" and not state["hidden"] and state["visible"] and state["text"] == "Hide the data table"
    assert state["heads"] == ["indicator", "this area", "benchmark", "worst area", "best area", "compared with benchmark"]
    assert state["scope"] and state["caption"].startswith("The data in the chart:")
    assert len(state["rows"]) == len(rows)  # one row per indicator the chart draws
    assert [r[0] for r in state["rows"]] == [r["title"] for r in rows]
    assert [r[1] for r in state["rows"]] == [r["area_text"] for r in rows]
    # a click hides it again
    _click(chrome, spine + " button.ps-chart__toggle")
    state = chrome.evaluate(TABLE_STATE + f"({json.dumps(spine)})")
    assert state["expanded"] == "false" and state["hidden"] and not state["visible"]
    # the league table on an indicator page: a row for each area it ranks
    page = demo_pages(site)["indicator"]
    events += chrome.open(base + page, until=CHARTS_DONE)
    league = "figure[data-spec$='/league']"
    _click(chrome, league + " button.ps-chart__toggle")
    state = chrome.evaluate(TABLE_STATE + f"({json.dumps(league)})")
    units = chrome.evaluate(
        f"window.PS_SPECS[document.querySelector({json.dumps(league)}).getAttribute('data-spec')].usermeta.publicservices.units"
    )
    assert units > 100 and len(state["rows"]) == units
    assert state["heads"][0] == "area" and "compared with benchmark" in state["heads"]
    assert problems(events + chrome.drain()) == [] and requests_outside(events, base) == []


def test_a_charts_data_table_shows_hostile_names_as_text(chrome, hostile):
    site, base = hostile
    events = chrome.open(base + "indicators/health.sample_rate.html", until=CHARTS_DONE)
    funnel = "figure[data-spec$='/funnel']"
    _click(chrome, funnel + " button.ps-chart__toggle")
    state = chrome.evaluate(TABLE_STATE + f"({json.dumps(funnel)})")
    names = [r[0] for r in state["rows"]]
    assert "<script>alert(1)</script>" in names and "Zed <img src=x onerror=alert(2)>" in names
    assert (
        chrome.evaluate(
            f"document.querySelectorAll({json.dumps(funnel + ' .ps-chart__table img, ' + funnel + ' .ps-chart__table script')}).length"
        )
        == 0
    )
    events += chrome.drain()
    assert not [e for e in events if e.get("method") == "Page.javascriptDialogOpening"]
    assert problems(events) == []


def _download(chrome: Chrome, figure: str, fmt: str) -> tuple[str, str]:
    """Click a chart's download button; the href and file name of the link it made and clicked."""
    chrome.evaluate("document.querySelectorAll('a.ps-chart__download').forEach(a => a.remove())")
    _click(chrome, f"{figure} button.ps-chart__save[data-format='{fmt}']")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = chrome.evaluate(
            f"(() => {{ const a = document.querySelector({json.dumps(figure + ' a.ps-chart__download')}); return a && [a.href, a.download]; }})()"
        )
        if got:
            return got[0], got[1]
        time.sleep(0.2)
    raise TimeoutError(f"no {fmt} download from {figure}")


def test_charts_download_as_png_and_svg_with_no_network(chrome, demo):
    site, base, _ = demo
    chrome.send("Browser.setDownloadBehavior", {"behavior": "deny"})  # the link is clicked; keep no file
    page = demo_pages(site)["indicator"]
    events = chrome.open(base + page, until=CHARTS_DONE)
    stem = page.rsplit("/", 1)[-1].removesuffix(".html")
    funnel = "figure[data-spec$='/funnel']"
    href, name = _download(chrome, funnel, "png")
    assert href.startswith("data:image/png;base64,") and name == f"{stem}-funnel.png"
    png = base64.b64decode(href.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    width = int.from_bytes(png[16:20], "big")
    assert (
        width >= 2 * chrome.evaluate(f"document.querySelector({json.dumps(funnel + ' svg')}).getBoundingClientRect().width") - 2
    )
    href, name = _download(chrome, funnel, "svg")
    assert href.startswith("data:image/svg+xml") and name == f"{stem}-funnel.svg"
    from urllib.parse import unquote

    svg = unquote(href.split(",", 1)[1])
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg and "per cent" in svg
    # an area page's chart is named after the area
    area = demo_pages(site)["area"]
    events += chrome.open(base + area, until=CHARTS_DONE)
    _, name = _download(chrome, "figure[data-spec='areas/spine']", "png")
    assert name == area.rsplit("/", 1)[-1].removesuffix(".html") + "-spine.png"
    events += chrome.drain()
    assert problems(events) == [] and requests_outside(events, base) == []
