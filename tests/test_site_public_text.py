"""What a reader of the built demo site gets: readable downloads, unambiguous units, and a
footer naming only the plugins the published data used.

One site of the demo nation's health sector (generate-only: pages and data files, without the
MkDocs step), built once for the module.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

import publicservices as ps
from publicservices.indicators import Indicator
from publicservices.site import publish
from publicservices.site.build import MANIFEST, versions

pytestmark = pytest.mark.slow

OTHER_SECTORS = ("publicservices-schools", "publicservices-policing", "publicservices-welfare")


@pytest.fixture(scope="module")
def health_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("words") / "site"
    publish(ps.demo(), out, sectors=["health"], generate_only=True)
    return out


def _pages(site: Path) -> dict[str, str]:
    """Every page's Markdown with the entities that escape data text turned back into characters."""
    return {p.relative_to(site).as_posix(): html.unescape(p.read_text(encoding="utf-8")) for p in (site / "docs").rglob("*.md")}


# A printed Python or Polars object in a cell: "shape: (1,)", "Series: ''", "['E06000001']", "{'a': 1}".
PRINTED = re.compile(r"shape: \(|Series|^\s*[\[{(]|[\]}]\s*$")


def test_no_csv_cell_holds_a_printed_object(health_site):
    files = sorted((health_site / "docs/data").rglob("*.csv"))
    assert any(f.name == "value_for_money.csv" for f in files)
    for path in files:
        frame = pl.read_csv(path, infer_schema=False)
        for name in frame.columns:
            bad = frame.get_column(name).drop_nulls().filter(frame.get_column(name).drop_nulls().str.contains(PRINTED.pattern))
            assert bad.len() == 0, (path.relative_to(health_site).as_posix(), name, bad.head(2).to_list())
    # the peers DEA compared each area with: the area codes, joined
    peers = pl.read_csv(health_site / "docs/data/all/value_for_money.csv", infer_schema=False).get_column("dea_peers")
    shown = peers.drop_nulls().filter(peers.drop_nulls() != "")
    assert shown.len() > 0
    assert shown.str.contains(r"^[A-Z]\d{8}(; [A-Z]\d{8})*$").all(), shown.head(3).to_list()
    # and the Parquet file keeps the list itself
    assert pl.read_parquet(health_site / "docs/data/all/value_for_money.parquet").schema["dea_peers"] == pl.List(pl.String)


def test_a_relative_spread_is_never_mistaken_for_percentage_points(health_site):
    pages = _pages(health_site)
    found = 0
    for name, text in pages.items():
        for match in re.finditer(r"±\s*\d[\d.,]*%(.{0,40})", text):
            found += 1
            assert match.group(1).startswith((" of the overall value", " of that value")), (name, match.group(0))
    assert found > 0
    # and on a percentage indicator's page the reader is told it is not percentage points
    assert "a relative difference, not percentage points" in pages["docs/indicators/health.ae_4hr.md"]


def test_a_slope_index_of_inequality_is_in_the_indicators_units(health_site):
    pages = _pages(health_site)
    units = {i.id: i.unit for i in ps.demo().indicators.values()}
    seen = 0
    for name, text in pages.items():
        for match in re.finditer(r"slope index of inequality\)? is -?\d[\d.,]*([^(:;]*)", text):
            seen += 1
            assert not match.group(1).startswith("%"), (name, match.group(0))  # "0.918%": a percentage of what?
            ind = name.rsplit("/", 1)[-1].removesuffix(".md")
            if units.get(ind) == "%":
                assert match.group(1).startswith(" percentage point"), (name, match.group(0))
    assert seen > 0


def test_the_footer_and_manifest_name_only_the_plugins_the_data_used(health_site):
    manifest = json.loads((health_site / MANIFEST).read_text())
    listed = manifest["versions"]
    assert "publicservices-health" in listed and not set(OTHER_SECTORS) & set(listed), listed
    footer = json.loads((health_site / "mkdocs.yml").read_text().partition("\n")[2])["copyright"]
    assert "publicservices-health" in footer and not any(d in footer for d in OTHER_SECTORS), footer


def test_versions_follow_the_indicators_sectors_and_readers_used():
    def model(indicators, sectors, readers=()):
        return SimpleNamespace(
            indicators=dict.fromkeys(indicators),
            sectors=list(sectors),
            dataset=SimpleNamespace(metadata={"readers": list(readers)}),
            international=None,
        )

    plugins = [d for d in versions(model(["health.ae_4hr"], ["health"])) if d.startswith("publicservices-")]
    assert plugins == ["publicservices-health"]
    plugins = [d for d in versions(model(["schools.progress8"], ["schools"])) if d.startswith("publicservices-")]
    assert plugins == ["publicservices-schools"]
    assert not [d for d in versions() if d.startswith("publicservices-")]  # no data: no plugin
    # a file read through the built-in contract reader adds no installed plugin
    assert versions(model(["health.ae_4hr"], ["health"], ["contract"])) == versions(model(["health.ae_4hr"], ["health"]))


# Words a resident or councillor would not know, banned from every public page but the methodology page
# (which keeps the precise terms). Symbols are banned everywhere else; terms are allowed in a page's
# "How we worked this out" aside, which names them once beside the plain words.
SYMBOLS = re.compile(r"φ|τ|I²|σ")
JARGON = [
    r"\bunits\b(?! cost)",  # areas
    r"\bshrunk(en)?\b",
    r"\bDEA\b",
    r"data envelopment",
    r"variable returns to scale",
    r"grade changes with the weights",
    r"random.effects",
    r"overdispers",
    r"\bp [<=] ?\d",
    r"\bregression\b",
    r"efficient frontier",
    r"DerSimonian|Q-profile|empirical.Bayes|beta.binomial|Poisson",
    r"publicservices\.stats",
]
ASIDE = re.compile(r'^\?\?\? note "How we worked this out"\n(?:    .*\n|\n)*', re.MULTILINE)


def test_no_statistical_jargon_outside_the_methodology_page(health_site):
    pages = _pages(health_site)
    kinds = {name.split("/")[1] if "/" in name.removeprefix("docs/") else name for name in pages}
    assert {"docs/index.md", "docs/methodology.md", "docs/downloads.md", "areas", "indicators", "sectors", "value"} <= kinds
    for name, text in pages.items():
        if name == "docs/methodology.md":
            continue
        assert not SYMBOLS.search(text), (name, SYMBOLS.search(text).group(0))
        prose = ASIDE.sub("", text)
        for pattern in JARGON:
            found = re.search(r".{0,60}(?:" + pattern + r").{0,40}", prose, re.IGNORECASE if pattern.islower() else 0)
            assert found is None, (name, pattern, found and found.group(0))
    # the plain words that replace them
    indicator = pages["docs/indicators/health.ae_4hr.md"]
    assert "adjusted towards the average to allow for chance (shrinkage)" in indicator
    assert "**Measured in**: %" in indicator
    area = next(t for n, t in pages.items() if n.startswith("docs/areas/"))
    assert "How likely the grade would change if the weights were chosen differently" in area
    value = pages["docs/value/health.md"]
    assert "compared with similar-spending areas is\n    measured by data envelopment analysis" in value


def test_the_methodology_page_keeps_the_precise_terms(health_site):
    text = _pages(health_site)["docs/methodology.md"]
    for term in ("φ", "τ", "I²", "shrinkage", "data envelopment analysis", "slope index of inequality"):
        assert term in text, term


def _how_to_read(text: str) -> str:
    match = re.search(
        r'^<details class="info">\n<summary>How to read this page</summary>\n<p>(.*?)</p>\n</details>$',
        text,
        re.MULTILINE | re.DOTALL,
    )
    assert match, text[:600]
    # at the top: before the page's first section
    assert match.start() < text.find("\n## ") or "\n## " not in text
    words = " ".join(match.group(1).split())
    # its terms link to the glossary, and it ends by pointing to the guide and the glossary
    ending = ' More in <a href="../how-to-read.html">how to read this site</a> and the <a href="../glossary.html">glossary</a>.'
    assert words.endswith(ending), words
    assert '<a href="../glossary.html#' in words
    return re.sub(r"<a [^>]*>([^<]+)</a>", r"\1", words.removesuffix(ending))


@pytest.mark.parametrize(
    "page", ["docs/indicators/health.ae_4hr.md", "docs/areas/x06000001.md", "docs/sectors/health.md", "docs/value/health.md"]
)
def test_a_how_to_read_block_opens_the_page(health_site, page):
    words = _how_to_read(_pages(health_site)[page])
    sentences = [s for s in re.split(r"(?<=[.;])\s+(?=[A-Z])", words) if s]
    assert 3 <= len(sentences) <= 5, sentences
    assert "95%" in words
    if "value" not in page:
        for needed in ("benchmark", "Blue means better", "orange worse", "similar", "95% interval"):
            assert needed in words, needed
    else:
        for needed in ("as expected", "best-value areas", "need"):
            assert needed in words, needed
    if "indicators/" in page:  # the page's own benchmark, named
        assert "compared with the benchmark (all areas combined, 79.7% in 2023/24)" in words


def test_the_methodology_page_explains_each_method(health_site):
    text = _pages(health_site)["docs/methodology.md"]
    body, _, analysts = text.partition("\n## For analysts\n")
    assert analysts, "function names belong in the analysts' section"
    assert "publicservices.stats" not in body
    assert "publicservices.stats.assess_fairness" in analysts
    sections = re.split(r"\n## ", body)[1:]
    methods = [s for s in sections if not s.startswith(("Small numbers", "Notes on the data", "Provenance"))]
    assert len(methods) >= 12
    for section in methods:
        title = section.splitlines()[0]
        assert re.search(r"^\*[^*]+\?\*$", section, re.MULTILINE), title  # the question it answers
        sentences = section.split("\n\n")[2]
        assert sentences and not sentences.startswith(("Reference", "*")), title
    cited = [s for s in methods if re.search(r"^Reference: .*\b(19|20)\d\d\b", s, re.MULTILINE)]
    assert len(cited) >= 10
    assert "|" not in body.split("\n## Small numbers")[0]  # no table of function names


def _area_counts(text: str) -> dict[str, list[str]]:
    table = text.split('<table class="ps-table"><caption>', 1)[1].split("</table>", 1)[0]
    found: dict[str, list[str]] = {}
    for row in re.findall(r"<tr><td>(.*?)</tr>", table):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row)
        found.setdefault(cells[5], []).append(re.sub(r"<[^>]+>", "", cells[0]))
    return found


def test_an_area_page_says_its_strengths_and_concerns(health_site):
    pages = _pages(health_site)
    checked = 0
    for name, text in sorted(pages.items()):
        if not name.startswith("docs/areas/"):
            continue
        # the summary is a paragraph of HTML; the heading's name is escaped for Markdown
        summary = html.unescape(re.sub(r"</?p>", "", text.split("## Strengths and concerns\n\n", 1)[1].split("\n\n", 1)[0]))
        area = html.unescape(re.search(r"^# (.*)$", text, re.MULTILINE).group(1))
        counts = _area_counts(text)
        better, worse = counts.get("better", []), counts.get("worse", [])
        judged = sum(len(counts.get(w, [])) for w in ("better", "worse", "similar", "higher", "lower"))
        assert summary.startswith("Compared with the figure for all areas combined, " + area), summary
        assert f"the {judged} indicators that can be judged" in summary or judged == 1, summary
        if better:
            assert f"does better on {len(better)} of" in summary and all(t in summary for t in better[:6]), summary
        else:
            assert "does not do better, by more than chance" in summary
        if worse:
            assert f"It does worse on {len(worse)}: " in summary and all(t in summary for t in worse[:6]), summary
        else:
            assert "does not do worse, by more than chance" in summary
        if counts.get("similar"):
            assert (
                f"For the other {len(counts['similar'])}, the difference could be chance." in summary
                or len(counts["similar"]) == 1
            )
        checked += bool(better and worse)
    assert checked > 0  # some area with both strengths and concerns


def test_an_area_page_says_what_is_improving_from_its_trend_column(health_site):
    pages = _pages(health_site)
    said = 0
    for name, text in sorted(pages.items()):
        if not name.startswith("docs/areas/"):
            continue
        after = text.split("## Strengths and concerns\n\n", 1)[1].split("\n## ", 1)[0]
        changes = after.split("\n\n")[1]
        table = text.split('<table class="ps-table"><caption>', 1)[1].split("</table>", 1)[0]
        trends = {}
        for row in re.findall(r"<tr><td>(.*?)</tr>", table):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row)
            trends[re.sub(r"<[^>]+>", "", cells[0])] = cells[-1]
        better = [t for t, w in trends.items() if "getting better" in w]
        worse = [t for t, w in trends.items() if "getting worse" in w]
        for word, titles in (("better", better), ("worse", worse)):
            if titles:
                assert f"getting {word} on {len(titles)} indicator" in changes, (name, changes)
                assert all(t in changes for t in titles[:6]), (name, changes)
            else:
                assert f"getting {word}" not in changes, (name, changes)
        said += bool(better or worse)
    assert said > 0


def test_an_area_without_intervals_cannot_be_judged():
    from publicservices.site.pages.area import AreaPages

    ind = Indicator(id="p.h", title="Homicides per million population", sector="p", measure="rate")
    pages = SimpleNamespace(model=SimpleNamespace(indicators={"p.h": ind}, options={}), _all_names=dict)
    records = [{"indicator_id": "p.h", "value": 3.0, "lower_95": None, "quintile_label": "highest", "suppressed": None}]
    paragraphs = AreaPages.strengths_and_concerns(pages, "Eskelham", records)
    text, changes = paragraphs
    assert changes == "Its trends cannot be judged: there are too few periods or no counts."
    assert text.startswith("We cannot say whether Eskelham does better or worse"), text
    assert "For 1 indicator (Homicides per million population) we cannot say" in text
    assert "better on" not in text and "could be chance" not in text


def _chart_specs(site: Path) -> dict[str, dict]:
    """Every chart spec the site's pages draw, by key, from the chart scripts."""
    found = {}
    for path in sorted((site / "docs/charts").rglob("*.js")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r'\(window\.PS_SPECS = window\.PS_SPECS \|\| \{\}\)\[(".*?")\] = (.*);$', line)
            if match:
                found[json.loads(match.group(1))] = json.loads(match.group(2))
    return found


def _tooltip_words(spec: dict) -> list[str]:
    """What a chart's tooltips can show: their titles, and every text value of the fields they show."""
    tips: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "tooltip":
                    tips.extend(t for t in (value if isinstance(value, list) else [value]) if isinstance(t, dict))
                elif key not in ("datasets", "values"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    fields = {str(t["field"]).removeprefix("properties.") for t in tips if "field" in t}
    rows = [r for rs in (spec.get("datasets") or {}).values() if isinstance(rs, list) for r in rs]

    def values(node: object) -> list[object]:
        if isinstance(node, dict):
            return (
                values(node.get("values")) if "values" in node else [v for k, v in node.items() if k == "data" for v in values(v)]
            )
        return node if isinstance(node, list) else []

    rows += values(spec)
    words = [str(t.get("title", "")) for t in tips]
    for row in rows:
        if isinstance(row, dict):
            shown = {**row, **(row.get("properties") or {})}
            words += [v for k, v in shown.items() if k in fields and isinstance(v, str)]
    return words


def test_chart_tooltips_use_plain_words(health_site):
    specs = _chart_specs(health_site)
    kinds = {key.split("/")[0] for key in specs}
    assert {"indicators", "areas"} <= kinds
    checked = 0
    for key, spec in specs.items():
        for text in _tooltip_words(spec):
            checked += 1
            assert not SYMBOLS.search(text), (key, text)
            for pattern in JARGON:
                assert not re.search(pattern, text, re.IGNORECASE if pattern.islower() else 0), (key, pattern, text)
    assert checked > 100
    # the funnel's wider limits and the frontier's efficiency in plain words
    funnel = specs["indicators/health.ae_4hr/funnel"]
    assert "95% limits (allowing for extra variation)" in _tooltip_words(funnel)
    assert any(
        t.startswith("efficiency (1 = best value)")
        for k, s in specs.items()
        if k.endswith("/frontier")
        for t in _tooltip_words(s)
    )
