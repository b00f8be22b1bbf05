"""Pages of sites built from the real shared data: useful without intervals, plain words, one benchmark per page.

The sites are written with ``generate_only=True`` (the Markdown docs tree, no MkDocs build) once
per module. Real files come from ``../shared/data``: missing, these tests skip on a laptop and fail
under ``CI=true`` (see ``conftest.py``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import polars as pl
import pytest

from publicservices.site import publish
from publicservices.site.pages import NO_INTERVALS, OVERDISPERSED, Pages, public_definition, public_text

TOPO = "geo_uk_la_topojson_2014_2025.json"
GCSE = "schools_gcse_english_maths.csv"
FINGERTIPS = "health_fingertips_northwest_sample.csv"
CVD = "health_preventable_cvd_mortality.csv"
PAGE_LIMIT = 300 * 1024
# Code on a public page: keyword arguments, command-line options, calls, imports, fenced code.
CODE = re.compile(
    r"\b[A-Za-z_][\w.]*=(?!=)|(?<![\w-])--[a-z][\w-]*|\b[A-Za-z_][\w.]*\(\)|^\s*(import|from) \w|```|\bpl\.col\b", re.MULTILINE
)
NUMBER = r"(-?[\d,]*\d(?:\.\d+)?)"


def _data(name: str) -> Path:
    from conftest import SHARED, require

    path = SHARED / "data" / name
    require(path.exists(), f"real data file {path} is not available")
    return path


def _build(tmp_path_factory, name: str, **options) -> Path:
    out = tmp_path_factory.mktemp(name.split(".")[0]) / "site"
    publish(_data(name), out, generate_only=True, boundaries=_data(TOPO), layer="utla", **options)
    return out / "docs"


@pytest.fixture(scope="module")
def gcse(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, GCSE)


@pytest.fixture(scope="module")
def fingertips(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, FINGERTIPS)


def text_of(path: Path) -> str:
    """A page's text as a reader sees it: tags and entities resolved, chart data left out."""
    raw = re.sub(r'<script type="application/json" class="ps-chart__data">[^<]*</script>', "", path.read_text(encoding="utf-8"))
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def tables(path: Path) -> list[list[list[str]]]:
    """Every HTML table of a page as rows of cell texts (header row first)."""
    out = []
    for block in re.findall(r"<table.*?</table>", path.read_text(encoding="utf-8"), flags=re.S):
        rows = []
        for row in re.split(r"<tr>", block)[1:]:
            cells = re.split(r"<t[hd][^>]*>", row)[1:]
            rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
        out.append(rows)
    return out


def all_areas_table(path: Path) -> list[list[str]]:
    found = [t for t in tables(path) if t and t[0][:2] == ["Position", "Area"]]
    assert len(found) == 1, f"{path.name}: expected one table of all areas"
    return found[0]


def chart_specs(docs: Path, ind_id: str) -> dict[str, dict]:
    script = (docs / f"charts/indicators/{ind_id}.js").read_text(encoding="utf-8")
    specs = {}
    for line in script.splitlines():
        key, _, spec = line.partition("] = ")
        specs[json.loads(key.split("[", 1)[1])] = json.loads(spec.rstrip(";"))
    return specs


def value_of(cell: str) -> float:
    return float(re.match(NUMBER, cell).group(1).replace(",", ""))


# -- figures without intervals (GCSE: values only) -------------------------------------------


def test_gcse_page_lists_every_compared_area_sorted_by_value(gcse):
    page = gcse / "indicators/schools.gcse_english_maths.md"
    rows = all_areas_table(page)
    head, body = rows[0], rows[1:]
    assert head == ["Position", "Area", "Code", "Value", "Fifth of areas by value"]
    compared = pl.read_csv(
        gcse / "data/indicators/schools.gcse_english_maths.csv", infer_schema=False
    )  # every area of the period
    assert len(body) == compared.height > 100  # every compared area, none left out
    assert sorted(r[2] for r in body) == sorted(compared.get_column("area_code").to_list())
    valued = [r for r in body if r[0] != "–"]
    values = [value_of(r[3]) for r in valued]
    assert values == sorted(values, reverse=True)  # higher is better: best first
    positions = [int(r[0].replace(",", "")) for r in valued]
    assert positions[0] == 1 and positions == sorted(positions)
    assert {r[4] for r in valued} == {"Best fifth", "Better fifth", "Middle fifth", "Worse fifth", "Worst fifth"}
    fifths = [r[4] for r in valued]
    order = ["Best fifth", "Better fifth", "Middle fifth", "Worse fifth", "Worst fifth"]
    assert [order.index(f) for f in fifths] == sorted(order.index(f) for f in fifths)  # monotone in value
    # rows without a value say why: status x (City of London, Isles of Scilly) or hidden by the site
    missing = {r[2]: r[3] for r in body if r[0] == "–"}
    assert missing["E09000001"] == "not available" and set(missing.values()) <= {"not available", "suppressed"}
    assert page.stat().st_size < PAGE_LIMIT


def test_gcse_page_says_chance_cannot_be_judged_and_maps_fifths(gcse):
    page = gcse / "indicators/schools.gcse_english_maths.md"
    text = text_of(page)
    assert NO_INTERVALS in text
    assert "These figures have no confidence intervals, so chance variation cannot be judged" in text
    found = chart_specs(gcse, "schools.gcse_english_maths")
    assert "indicators/schools.gcse_english_maths/map" not in found  # nothing to compare: the page says why instead
    assert "There is no map compared with the benchmark: these figures have no confidence intervals" in text
    spec = found["indicators/schools.gcse_english_maths/map_value"]
    colour = spec["encoding"]["color"]["condition"] if "condition" in spec["encoding"]["color"] else spec["encoding"]["color"]
    assert colour["field"] == "_class" and colour["title"].startswith("Fifths of areas by value (lowest fifth: ")
    assert [d.split(":")[0] for d in colour["scale"]["domain"]] == ["Worst", "Worse", "Middle", "Better", "Best"]
    assert "Coloured by value, in fifths of areas:" in text
    lookup = json.dumps(spec["transform"])
    assert '"quintile_label"' in lookup and '"_class"' in lookup


def test_gcse_home_and_area_pages_are_not_empty_words(gcse):
    home = text_of(gcse / "index.md")
    assert "across 0 indicators" not in home and "1 indicators" not in home
    assert "How 1 indicator of schools compares across" in home
    assert "what areas spend" not in home  # no spend data: no promise of value for money
    # no intervals: the page cannot say no area improved beyond chance, only that it cannot tell
    assert "No area improved by more than chance" not in home
    assert "Whether any area improved by more than chance cannot be judged: the figures have no confidence intervals." in home
    district = text_of(gcse / "areas/e07000208.md")  # a district: compared in the lower-tier set only
    assert "on 1 indicator:" in district and "Best fifth" in district and NO_INTERVALS in district
    unitary = text_of(gcse / "areas/e06000001.md")  # a unitary authority: in both sets
    assert "on 2 indicators:" in unitary and NO_INTERVALS in unitary


def test_low_reliability_shows_the_reason_not_a_dash(tmp_path):
    out = tmp_path / "site"
    publish(_data("policing_homicide_rate_pfa.csv"), out, generate_only=True)
    page = out / "docs/indicators/policing.homicide_rate.md"
    rows = {r[2]: r for r in all_areas_table(page)[1:]}
    assert rows["E23000034"][3] == "low reliability"  # City of London: status u, no value


def test_value_cells_give_the_reason_or_mark_low_reliability():
    from publicservices.site.pages import comparison_text, value_text

    assert value_text({"value": None, "missing_reason": "not available (status x)"}) == "not available"
    assert value_text({"value": None, "missing_reason": "low reliability (status u)"}) == "low reliability"
    assert value_text({"value": 12.5, "status": "u"}) == "12.5 (low reliability)"
    assert value_text({"value": 12.5, "status": None}) == "12.5"
    assert value_text({"value": None, "suppressed": "hidden"}) == "suppressed"
    assert value_text({"value": None}) == "–"
    assert (
        comparison_text({"value": 3.0, "lower_95": None, "comparison_95": "not compared", "quintile_label": "Best"})
        == "Best fifth"
    )
    assert comparison_text({"value": 3.0, "lower_95": 2.0, "comparison_95": "worse", "quintile_label": "Best"}) == "worse"


# -- words -------------------------------------------------------------------------------------


def test_no_page_carries_code(gcse, fingertips):
    for docs in (gcse, fingertips):
        for page in sorted(docs.rglob("*.md")):
            found = CODE.findall(text_of(page))
            assert not found, f"{page.relative_to(docs)}: code on a public page: {found[:3]}"


def test_plurals_agree_on_every_page(gcse, fingertips):
    wrong = re.compile(r"(?<![\d.,])1 (areas|indicators|units|periods|places|simulations)\b")
    for docs in (gcse, fingertips):
        for page in sorted(docs.rglob("*.md")):
            found = wrong.findall(text_of(page))
            assert not found, f"{page.relative_to(docs)}: {found[:3]}"


def test_real_data_pages_carry_no_demo_wording(tmp_path_factory):
    docs = _build(tmp_path_factory, CVD)
    for page in sorted(docs.rglob("*.md")):
        text = text_of(page)
        assert not re.search(r"\bdemo\b|simulates single years", text), page.name
    page = text_of(docs / "indicators/health.cvd_mortality_preventable.md")
    assert "Published as 3-year pooled rates." in page


def test_changes_in_percentages_are_percentage_points():
    from publicservices.indicators import Indicator
    from publicservices.site.pages import change

    pct = Indicator(id="a.b", title="B", sector="a", measure="proportion", multiplier=100, unit="%")
    rate = Indicator(id="a.c", title="C", sector="a", measure="rate", multiplier=100_000, unit="per 100,000")
    assert change(2.1, pct) == "2.10 percentage points" and change(1, pct) == "1 percentage point"
    assert change(15.3, rate) == "15.3 per 100,000"
    assert "%" not in change(0.5, pct)


def test_percentage_changes_on_a_real_site_read_as_points(fingertips):
    said = []
    for page in [fingertips / "index.md", *sorted((fingertips / "sectors").glob("*.md"))]:
        said += re.findall(r"(?:rose|fell) by ([^ ]+ [^ ]+)", text_of(page))
    assert said, "the Fingertips site names its biggest improvers"
    assert not [s for s in said if re.match(r"[\d.,]+%", s)], said


def test_public_text_rewrites_code_and_demo_clauses():
    advice = (
        "Units vary 3.9 times as much as chance alone would make them (φ = 3.94); "
        "consider overdispersed limits (overdispersion='multiplicative' or 'additive')."
    )
    assert public_text(advice) == OVERDISPERSED
    assert (
        public_text(
            "The file has no area names (codes only); names can come from the ONS TopoJSON boundaries: "
            "area_names= when reading, --boundaries when publishing."
        )
        == "The file has no area names (codes only)."
    )
    assert public_text("Of 36 units around the benchmark") == "Of 36 areas around the benchmark"
    assert public_text("the median interval spans 1 places.") == "the median interval spans 1 place."
    text = "Directly standardised. Published as 3-year pooled rates; the demo simulates single years."
    assert public_definition(text, synthetic=False) == "Directly standardised. Published as 3-year pooled rates."
    assert public_definition(text, synthetic=True) == text


def test_value_for_money_without_populations_says_why(tmp_path):
    from publicservices.dataset import Dataset
    from publicservices.site.sample import sample_dataset

    ds = sample_dataset(n_areas=12, n_periods=2)
    blind = Dataset(
        ds.values,
        ds.areas.with_columns(pl.lit(None, pl.Float64).alias("population")),
        ds.spend,
        list(ds.indicators.values()),
        metadata=ds.metadata,
    )
    publish(blind, tmp_path / "site", generate_only=True)
    for page in sorted((tmp_path / "site/docs/indicators").glob("*.md")):
        text = text_of(page)
        assert "0 areas are higher than expected" not in text and "0 areas achieve" not in text
        if "Spend and outcome" in text:
            assert "Value for money could not be computed" in text and "population" in text


# -- one benchmark per page --------------------------------------------------------------------


def benchmarks_named(text: str) -> set[str]:
    """Every benchmark value a page states, as printed."""
    found = set(re.findall(rf"\*\*Benchmark\*\*: [^\n·]*?, {NUMBER}", text))
    found |= set(re.findall(rf"Compared with the benchmark \([^)]*?, {NUMBER}", text))
    found |= set(re.findall(rf"around the benchmark of {NUMBER}", text))
    found |= set(re.findall(rf"centre line is the benchmark, {NUMBER}", text))
    return found


def check_one_benchmark(docs: Path) -> int:
    """Every indicator page states one benchmark, and its sections count areas against it alike."""
    checked = 0
    for page in sorted((docs / "indicators").glob("*.md")):
        text = text_of(page)
        values = benchmarks_named(text)
        assert len(values) <= 1, f"{page.name}: several benchmarks {sorted(values)}"
        if not values:
            continue
        checked += 1
        stated = float(values.pop().replace(",", ""))
        specs = chart_specs(docs, page.stem)
        funnel = specs.get(f"indicators/{page.stem}/funnel")
        if funnel is not None:  # the centre line is drawn at the page's benchmark
            rules = re.findall(r'\{"benchmark": (-?[\d.e+-]+)\}', json.dumps(funnel))
            assert rules and all(abs(float(r) - stated) <= 0.0051 * max(1.0, abs(stated)) for r in rules), (
                page.name,
                rules,
                stated,
            )
        brief = re.search(r"at 95% confidence: (.*?)[.;]", text)
        if brief:
            counts = dict(
                (w, int(n.replace(",", "")))
                for n, w in re.findall(r"([\d,]+) (better|worse|similar|higher|lower)", brief.group(1))
            )
            table = all_areas_table(page)
            column = [r[-1] for r in table[1:]]
            assert counts == {w: column.count(w) for w in counts}, page.name
            shown = re.search(r"Map of .*? Compared with the benchmark: (.*?)\.", text)
            if shown:
                on_map = dict(
                    (w, int(n.replace(",", "")))
                    for n, w in re.findall(r"([\d,]+) (better|worse|similar|higher|lower)", shown.group(1))
                )
                assert on_map == counts, page.name
    return checked


def test_the_lottery_counts_an_indicator_compared_in_several_sets_once(fingertips):
    home = text_of(fingertips / "index.md")
    said = int(re.search(r"(\d+) indicators of health", home).group(1))
    rows, counted = map(int, re.search(r"postcode lottery across (\d+) comparisons of (\d+) indicators", home).groups())
    assert counted <= said < rows  # the rows are indicator-and-set comparisons, never more indicators than the site has


def test_every_fingertips_page_has_one_benchmark(fingertips):
    assert check_one_benchmark(fingertips) >= 20
    page = text_of(fingertips / "indicators/health.fingertips_92904.md")
    assert "**Benchmark**: England, 22.6 per 100,000 in 2021/22" in page


def test_funnel_is_drawn_around_the_page_benchmark_when_the_model_passes_it(tmp_path, monkeypatch):
    """The model's call ``funnel_check(..., target=<the page's benchmark>)``: every funnel shown is centred on it."""
    import publicservices.results as results
    from publicservices.site.model import build_model
    from publicservices.site.sample import sample_dataset

    ds = sample_dataset(n_areas=12, n_periods=3)
    first = build_model(ds)
    centre = {i: first.latest_rows(i).get_column("benchmark_value").drop_nulls()[0] for i in first.indicators}
    plain = results.funnel_check

    def with_target(rows, ind, **options):
        options.setdefault("target", centre[ind.id])
        return plain(rows, ind, **options)

    monkeypatch.setattr(results, "funnel_check", with_target)
    publish(ds, tmp_path / "site", generate_only=True)
    docs = tmp_path / "site/docs"
    assert check_one_benchmark(docs) == 3
    shown = [p.stem for p in (docs / "indicators").glob("*.md") if "## Funnel plot" in p.read_text()]
    assert len(shown) == 3, shown


def test_a_funnel_centred_elsewhere_is_left_out():
    class Funnel:
        frame = pl.DataFrame({"baseline": [7.67, 7.67]})

    from publicservices.site.pages import Benchmark

    bench = Benchmark("England", 7.70, "2023/24")
    assert Pages.funnel_centre(Funnel()) == 7.67 and not bench.matches(7.67) and bench.matches(7.70 + 1e-9)
    assert not Benchmark("each area's region", None, "2023/24", varies=True).matches(7.70)


def test_an_area_without_latest_figures_says_so_instead_of_an_empty_table(gcse):
    # Wycombe merged into Buckinghamshire in 2020: the file has its figures for the years before only
    text = (gcse / "areas/e07000007.md").read_text(encoding="utf-8")
    assert "There are no figures for Wycombe in the latest period of any indicator, so it cannot be compared." in text
    assert "Its area code ended in 2020, when it was replaced by Buckinghamshire." in text  # and why
    assert "Its earlier figures are in the trends below" in text and "## Trends" in text
    assert "every indicator in its latest period" not in text  # the empty table is gone
    assert "We cannot say whether Wycombe" not in text  # no talk of figures it does not have
