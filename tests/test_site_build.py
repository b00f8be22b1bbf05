"""Building the published site: pages, escaping, offline assets, reproducibility, safe swap."""

from __future__ import annotations

import filecmp
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import polars as pl
import pytest
from click.testing import CliRunner

from publicservices.errors import DataError, PublicServicesError
from publicservices.site import publish
from publicservices.site.build import MANIFEST, external_resources
from publicservices.site.progress import RecordingProgress
from publicservices.site.sample import sample_dataset

XSS = "<script>alert(1)</script>"
NAMES = {
    "E06000001": XSS,
    "E06000002": "*Bold* [link](javascript:alert(1)) | pipe {: .x }",
    "E06000003": 'Barking & "Dagenham" </title><img src=x onerror=alert(2)>',
}


def hostile_dataset(n_areas: int = 12):
    return sample_dataset(n_areas=n_areas, n_periods=3, names=NAMES)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    progress = RecordingProgress()
    result = publish(hostile_dataset(), out, progress=progress)
    return out, result, progress


class _Tags(HTMLParser):
    """Every real tag and its attributes, and the text of every script."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script:
            self.scripts.append(data)


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key):
                self.urls.append(a[key])
        self.in_script = tag == "script" and a.get("type") != "application/json"

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts.append(data)


@pytest.mark.slow
def test_site_has_every_kind_of_page(built):
    out, result, progress = built
    for page in [
        "index.html",
        "indicators.html",
        "areas.html",
        "methodology.html",
        "downloads.html",
        "glossary.html",
        "how-to-read.html",
        "sectors/health.html",
        "sectors/schools.html",
        "value/health.html",
        "indicators/health.sample_screening.html",
        "areas/e06000004.html",
        "404.html",
        "search/search_index.js",
        "assets/ps/vega.js",
        MANIFEST,
    ]:
        assert (out / page).is_file(), page
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.name != "404.html")
    assert result.built and result.pages == len(written)  # every page counted is a page built, and no more
    assert [e[0] for e in progress.events] == ["prepare data", "statistics", "write pages", "mkdocs build", "swap into place"]
    # every page stage counted its steps
    assert all(done == total for _, done, total in progress.events), progress.events
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["data_sha256"] == result.data_hash and len(result.data_hash) == 64
    # table cells are separate words in the search index (run-together cells such as
    # "Carrowbury£2,16684%" broke Material's search for the name)
    index = json.loads((out / "search/search_index.json").read_text())
    glued = [d["location"] for d in index["docs"] if re.search(r"[A-Za-z)][£%]|\d£", d["text"])]
    assert not glued, glued[:5]
    assert manifest["areas"] == 12
    # no section of the sample dropped, but the schools report card, which needs two indicators (the sample has one)
    dropped = [n for n in result.notes if "not shown" in n]
    assert dropped == [
        "schools report cards: not shown (they need at least 2 indicators with a known direction compared "
        "within one set of areas; 1 found)."
    ], dropped


@pytest.mark.slow
def test_hostile_names_show_as_text_everywhere(built):
    out, _, _ = built
    page = (out / "areas/e06000001.html").read_text()
    assert "&lt;script&gt;alert" in page
    for path in [*html_files(out), *out.rglob("*.js"), *out.rglob("*.json")]:
        text = path.read_text(encoding="utf-8")
        assert XSS not in text, path
        assert "<img src=x" not in text, path
        if path.suffix == ".html":
            tags = _Tags()
            tags.feed(text)
            assert not [t for t in tags.found if any(k.startswith("on") for k, _ in t[1])], path
            assert not [t for t in tags.found if t[0] == "img" and dict(t[1]).get("src") == "x"], path
            assert not any("alert(" in s for s in tags.scripts), path
    # the <title> holds the escaped name and is closed only once
    title = re.search(r"<title>(.*?)</title>", (out / "areas/e06000003.html").read_text(), re.S).group(1)
    assert "&lt;/title&gt;" in title and "<" not in title
    # Markdown syntax in a name is not interpreted
    second = (out / "areas/e06000002.html").read_text()
    assert "<strong>Bold</strong>" not in second and "<em>Bold</em>" not in second
    assert 'href="javascript' not in second
    assert "&#42;Bold&#42; &#91;link&#93;" in second
    # the area names are in the downloads unchanged
    areas = pl.read_parquet(out / "data/all/areas.parquet")
    assert XSS in areas.get_column("area_name").to_list()


@pytest.mark.slow
def test_nothing_is_loaded_from_outside_the_site(built):
    out, _, _ = built
    for page in html_files(out):
        assert external_resources(page) == [], page
    text = (out / "index.html").read_text()
    assert "fonts.googleapis" not in text and "unpkg.com" not in text
    assert "assets/ps/iframe-worker-shim.js" in text


@pytest.mark.slow
def test_every_local_link_and_script_resolves(built):
    out, _, _ = built
    missing = []
    for page in html_files(out):
        if page.name == "404.html":  # served at any path, so MkDocs links it from the root
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.urls:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("#", "//", "mailto:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                missing.append(f"{page.relative_to(out)} -> {url}")
            elif parts.fragment and target.suffix == ".html":  # a glossary term, a heading: the anchor exists too
                if f'id="{unquote(parts.fragment)}"' not in target.read_text(encoding="utf-8"):
                    missing.append(f"{page.relative_to(out)} -> {url} (no such anchor)")
    assert missing == []


@pytest.mark.slow
def test_chart_scripts_reference_files_that_exist(built):
    out, _, _ = built
    for page in html_files(out):
        text = page.read_text(encoding="utf-8")
        for load in re.findall(r'data-load="([^"]+)"', text):
            for url in load.split():
                assert (page.parent / url).resolve().is_file(), (page, url)
        # every chart has a text summary, and a data link
        for fig in re.findall(r'<figure class="ps-chart".*?</figure>', text, re.S):
            caption = re.search(r"<figcaption>(.*?)</figcaption>", fig, re.S).group(1)
            assert len(re.sub(r"<[^>]+>", "", caption).strip()) > 40, (page, caption)
            assert 'role="img"' in fig and "aria-label=" in fig
        if page.parent.name in ("indicators", "areas") and "ps-chart" in text:
            assert re.search(r'href="[^"]+\.csv" download', text), page


@pytest.mark.slow
def test_navigation_lists_only_the_fixed_pages(built):
    out, _, _ = built
    text = (out / "areas/e06000004.html").read_text()
    nav = text[text.index("md-nav--primary") : text.index("md-sidebar--secondary")]
    links = re.findall(r'href="([^"]+)"', nav)
    assert not any("areas/" in link for link in links)
    assert not any("indicators/" in link for link in links)
    assert any(link.endswith("methodology.html") for link in links)


@pytest.mark.slow
def test_every_page_states_versions_method_and_data_hash(built):
    out, result, _ = built
    for page in html_files(out):
        text = page.read_text(encoding="utf-8")
        assert result.data_hash[:16] in text, page
        assert "methods version site-1" in text and "mkdocs-material" in text and "publicservices 0." in text, page


@pytest.mark.slow
def test_small_numbers_are_suppressed_and_the_site_says_so(built):
    out, _, _ = built
    results = pl.read_parquet(out / "data/all/results.parquet")
    hidden = results.filter(pl.col("suppressed").is_not_null())
    assert hidden.height > 0
    assert hidden.select("numerator", "value", "lower_95", "upper_95").null_count().row(0) == (hidden.height,) * 4
    assert set(hidden.get_column("suppressed").unique()) == {"hidden"}  # one neutral label: primary and secondary look alike
    shown = results.filter(pl.col("suppressed").is_null() & pl.col("numerator").is_not_null())
    assert (shown.get_column("numerator").filter(shown.get_column("numerator") > 0) >= 5).all()
    # within each region and period no suppressed cell stands alone
    alone = hidden.group_by("indicator_id", "period", "parent_code").len().filter(pl.col("len") == 1)
    assert alone.height == 0
    methodology = (out / "methodology.html").read_text()
    assert "Counts from 1 to 4 are suppressed" in methodology


@pytest.mark.slow
def test_same_input_builds_byte_identical_sites(built, tmp_path):
    out, _, _ = built
    again = publish(hostile_dataset(), tmp_path / "again")
    assert again.data_hash == built[1].data_hash
    a = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path / "again").as_posix() for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert a == b
    _, mismatch, errors = filecmp.cmpfiles(out, tmp_path / "again", a, shallow=False)
    assert mismatch == [] and errors == []


@pytest.mark.slow
def test_failed_build_keeps_the_old_site(built, tmp_path, monkeypatch):
    out = tmp_path / "site"
    publish(sample_dataset(n_areas=5, n_periods=2), out, generate_only=True)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise PublicServicesError("the MkDocs build failed (simulated)")

    monkeypatch.setattr("publicservices.site.build.run_mkdocs", broken)
    with pytest.raises(PublicServicesError, match="simulated"):
        publish(sample_dataset(n_areas=6, n_periods=2), out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging folder left behind


def test_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(PublicServicesError, match="not a site built by publicservices"):
        publish(sample_dataset(n_areas=4, n_periods=2), out, generate_only=True)
    assert (out / "thesis.tex").read_text() == "years of work"


def test_unsafe_area_codes_are_rejected_by_name(tmp_path):
    ds = sample_dataset(n_areas=4, n_periods=2)
    from publicservices.dataset import Dataset

    bad = {"E06000002": "../../etc/x", "E06000003": "A B"}
    recode = lambda f: f.with_columns(pl.col("area_code").replace(bad))  # noqa: E731
    ds = Dataset(values=recode(ds.values), areas=recode(ds.areas), spend=recode(ds.spend), indicators=ds.indicators)
    with pytest.raises(DataError) as err:
        publish(ds, tmp_path / "site", generate_only=True)
    assert "'../../etc/x'" in str(err.value) and "'A B'" in str(err.value) and "area_code" in str(err.value)
    assert not (tmp_path / "site").exists()
    assert list(tmp_path.iterdir()) == []


def test_pages_built_from_memory_equal_those_built_from_the_written_docs_tree(tmp_path):
    # publish hands its pages to MkDocs in memory; MkDocs over the --generate-only tree reads
    # them from disk: the two sites must be the same, file for file (the search index too, whose
    # order follows the order MkDocs lists the pages in)
    from publicservices.site.build import epoch_of, run_mkdocs

    data = sample_dataset(n_areas=14, n_periods=2)
    publish(data, tmp_path / "built")
    publish(data, tmp_path / "gen", generate_only=True)
    assert not any((tmp_path / "built").rglob("*.md"))
    run_mkdocs(
        tmp_path / "gen" / "mkdocs.yml", tmp_path / "from-disk", lambda n: None, epoch_of(data.values["period_start"].max())
    )
    built = sorted(p.relative_to(tmp_path / "built").as_posix() for p in (tmp_path / "built").rglob("*") if p.is_file())
    disk = sorted(p.relative_to(tmp_path / "from-disk").as_posix() for p in (tmp_path / "from-disk").rglob("*") if p.is_file())
    assert built == sorted([*disk, MANIFEST]) and len(built) > 100
    same, differ, errors = filecmp.cmpfiles(tmp_path / "built", tmp_path / "from-disk", disk, shallow=False)
    assert differ == [] and errors == [] and "search/search_index.json" in same


def test_a_held_page_is_read_as_a_page_file_would_be(tmp_path):
    # MkDocs reads a page file without its byte-order mark and with universal newlines; a page
    # held in memory with a BOM and CRLF or lone CR line ends must give the same site
    import shutil

    from publicservices.site.build import run_mkdocs

    gen = tmp_path / "gen"
    publish(sample_dataset(n_areas=5, n_periods=2), gen, generate_only=True)
    page = gen / "docs" / "glossary.md"
    lines = page.read_text(encoding="utf-8").split("\n")
    page.write_bytes(("\ufeff" + "\r\n".join(lines[:10]) + "\r" + "\n".join(lines[10:])).encode("utf-8"))
    shutil.copytree(gen, tmp_path / "held")
    held = {}
    for md in sorted((tmp_path / "held" / "docs").rglob("*.md")):
        held[md.relative_to(tmp_path / "held" / "docs").as_posix()] = md.read_bytes().decode("utf-8")  # as written
        md.unlink()
    assert held["glossary.md"].startswith("\ufeff") and "\r\n" in held["glossary.md"]
    run_mkdocs(gen / "mkdocs.yml", tmp_path / "from-disk", lambda n: None, 0)
    run_mkdocs(tmp_path / "held" / "mkdocs.yml", tmp_path / "from-memory", lambda n: None, 0, pages=held)
    files = sorted(p.relative_to(tmp_path / "from-disk").as_posix() for p in (tmp_path / "from-disk").rglob("*") if p.is_file())
    same, differ, errors = filecmp.cmpfiles(tmp_path / "from-disk", tmp_path / "from-memory", files, shallow=False)
    assert differ == [] and errors == [] and "glossary.html" in same


def test_generate_only_writes_a_buildable_docs_tree(tmp_path):
    out = tmp_path / "gen"
    result = publish(sample_dataset(n_areas=5, n_periods=2), out, generate_only=True, title="Test <site>")
    assert not result.built
    config = json.loads((out / "mkdocs.yml").read_text().partition("\n")[2])
    assert config["site_name"] == "Test &lt;site&gt;"
    assert config["theme"]["font"] is False and config["use_directory_urls"] is False
    assert [list(p)[0] for p in config["plugins"]] == ["search", "offline"]
    assert [list(n)[0] for n in config["nav"]] == [
        "Home",
        "Sectors",
        "Value for money",
        "Indicators",
        "Areas",
        "Compare areas",
        "How to read this site",
        "Glossary",
        "Methodology",
        "Downloads",
    ]
    assert (out / "docs/index.md").is_file() and (out / "docs/areas/e06000001.md").is_file()
    assert (out / MANIFEST).is_file()
    assert "mkdocs build" in result.summary()


def test_filters_by_sector_and_indicator(tmp_path):
    result = publish(sample_dataset(n_areas=5, n_periods=2), tmp_path / "a", generate_only=True, sectors=["schools"])
    docs = tmp_path / "a/docs"
    assert sorted(p.name for p in (docs / "indicators").glob("*.md")) == ["schools.sample_score.md"]
    assert result.pages == len(list(docs.rglob("*.md")))  # one page per Markdown file written
    with pytest.raises(DataError, match="unknown sector"):
        publish(sample_dataset(n_areas=5, n_periods=2), tmp_path / "b", generate_only=True, sectors=["nonsense"])


def test_cli_publishes_a_dataset_folder(tmp_path):
    from publicservices.cli import cli

    folder = sample_dataset(n_areas=5, n_periods=2).to_dir(tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "publish",
            str(folder),
            "--out",
            str(tmp_path / "out"),
            "--generate-only",
            "--quiet",
            "--title",
            "My site",
            "--suppress-threshold",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pages" in result.output and "Data hash" in result.output
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["options"]["suppress_threshold"] == 0
    bad = runner.invoke(cli, ["publish", str(folder), "--out", str(tmp_path / "x"), "--layer", "utla"])
    assert bad.exit_code != 0 and "--layer needs --boundaries" in bad.output


def test_cli_publishes_a_data_file_through_the_readers(tmp_path):
    from publicservices.cli import cli
    from publicservices.plugins import registered_indicators

    known = registered_indicators()
    if "health.ae_4hr" not in known:
        pytest.skip("the health plugin is not installed")
    # A contract-layout CSV with a registered indicator, as a publisher would have it.
    rows = [
        {
            "indicator_id": "health.ae_4hr",
            "area_code": f"E06{i:06d}",
            "area_name": f"Place {i}",
            "period": f"{y}/{(y + 1) % 100:02d}",
            "numerator": 900.0 + 7 * i + y % 3,
            "denominator": 1000.0 + 5 * i,
        }
        for i in range(1, 8)
        for y in (2021, 2022)
    ]
    path = tmp_path / "ae.csv"
    pl.DataFrame(rows).write_csv(path)
    result = CliRunner().invoke(cli, ["publish", str(path), "--out", str(tmp_path / "out"), "--generate-only", "-q"])
    assert result.exit_code == 0, result.output
    docs = tmp_path / "out/docs"
    assert (docs / "indicators/health.ae_4hr.md").is_file()
    assert "# Place 3" in (docs / "areas/e06000003.md").read_text()
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["indicators"] == ["health.ae_4hr"] and manifest["areas"] == 7


def test_cli_reports_errors_without_a_traceback(tmp_path):
    from publicservices.cli import cli

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "notes.txt").write_text("x")
    folder = sample_dataset(n_areas=4, n_periods=2).to_dir(tmp_path / "data")
    result = CliRunner().invoke(cli, ["publish", str(folder), "--out", str(tmp_path / "site"), "-q"])
    assert result.exit_code == 1
    assert "not a site built by publicservices" in result.output and "Traceback" not in result.output


def test_breakdown_rows_leave_one_whole_population_series_per_indicator():
    from publicservices.site.model import _headline_rows

    values = pl.DataFrame(
        {
            "indicator_id": ["h.a"] * 5 + ["h.b"] * 3,
            "area_code": ["A", "A", "A", "B", "A", "A", "B", "C"],
            "period": ["1"] * 8,
            "sex": ["Persons", "Male", "Female", "Persons", "Persons", "Persons", "Persons", "Persons"],
            "age": ["All ages", "All ages", "All ages", "All ages", "All ages", "40-74 yrs", "40-74 yrs", "40-74 yrs"],
            "category": [None, None, None, None, "Most deprived decile", None, None, None],
            "value": [1.0] * 8,
        }
    )
    kept, notes = _headline_rows(values)
    assert kept.columns == ["indicator_id", "area_code", "period", "value"]
    # h.a keeps its Persons/All ages rows (not the sexes, not the decile); h.b its only age band
    assert kept.sort("indicator_id", "area_code").select("indicator_id", "area_code").rows() == [
        ("h.a", "A"),
        ("h.a", "B"),
        ("h.b", "A"),
        ("h.b", "B"),
        ("h.b", "C"),
    ]
    assert "3 breakdown rows" in notes[0]


def _square_geojson(codes: list[str]) -> dict:
    features = []
    for i, code in enumerate(codes):
        x, y = i % 4, i // 4
        ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {"areacd": code, "areanm": f"Boundary name {i}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    features.append(
        {
            "type": "Feature",
            "properties": {"areacd": "E99999999", "areanm": "Not in the data"},
            "geometry": {"type": "Polygon", "coordinates": [[[9, 9], [10, 9], [10, 10], [9, 9]]]},
        }
    )
    return {"type": "FeatureCollection", "features": features}


def test_boundaries_are_stored_once_and_name_unnamed_areas(tmp_path):
    from publicservices.dataset import Dataset

    ds = sample_dataset(n_areas=6, n_periods=2)
    codes = ds.areas.filter(pl.col("area_type") == "local authority").get_column("area_code").to_list()
    geo = tmp_path / "squares.geojson"
    geo.write_text(json.dumps(_square_geojson(codes)))
    unnamed = Dataset(
        values=ds.values,
        areas=ds.areas.with_columns(
            pl.when(pl.col("area_code") == codes[0]).then(None).otherwise(pl.col("area_name")).alias("area_name")
        ),
        spend=ds.spend,
        indicators=ds.indicators,
    )
    out = tmp_path / "gen"
    publish(unnamed, out, generate_only=True, boundaries=geo)
    docs = out / "docs"
    stored = (docs / "assets/ps/boundaries.js").read_text()
    assert stored.count('"Feature"') == 6 and "E99999999" not in stored  # cut to the areas on the site
    for page in (docs / "indicators").glob("*.md"):
        text = page.read_text()
        assert 'data-load="../assets/ps/boundaries.js ../charts/indicators/' in text and "## Map" in text
    for script in (docs / "charts/indicators").glob("*.js"):
        assert '"Feature"' not in script.read_text() and '"ps-boundaries"' in script.read_text()  # geometry by reference
    # the area without a name takes the one in the boundaries file
    assert "# Boundary name 0" in (docs / f"areas/{codes[0].lower()}.md").read_text()
    assert "# Boundary name 1" not in (docs / f"areas/{codes[1].lower()}.md").read_text()


def test_names_come_from_every_topojson_layer_and_the_mapped_one_wins():
    from publicservices.site.boundaries import cut_boundaries

    def layer(*features):
        return {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0]], "properties": {"areacd": code, "areanm": name}} for code, name in features
            ],
        }

    topo = {
        "type": "Topology",
        "arcs": [[[0, 0], [1, 0], [1, 1], [0, 0]]],
        "objects": {
            "utla": layer(("E06000001", "Hartlepool"), ("E10000002", "Buckinghamshire")),
            "ltla": layer(("E07000117", "Burnley"), ("E06000001", "Hartlepool (district)")),
        },
    }
    cut = cut_boundaries(topo, {"E06000001", "E07000117", "E38000001"}, "utla")
    assert cut.names == {"E06000001": "Hartlepool", "E07000117": "Burnley"}
    assert cut.matched == 1  # only the mapped layer is drawn


def test_real_data_site_names_areas_from_the_boundaries(shared_data, tmp_path):
    topo = shared_data("geo_uk_la_topojson_2014_2025.json")
    csv = shared_data("health_fingertips_northwest_sample.csv")
    result = publish(csv, tmp_path / "gen", generate_only=True, boundaries=topo, layer="utla")
    notes = " ".join(result.notes)
    assert notes.index("--boundaries when publishing") < notes.index("taken from the boundaries file")  # hint, then answer
    assert re.search(r"Names for \d+ areas taken from the boundaries file; \d+ areas it does not name", notes)
    assert "# Burnley" in (tmp_path / "gen/docs/areas/e07000117.md").read_text()  # a district, named from ltla


def test_boundaries_that_match_no_area_are_rejected(tmp_path):
    geo = tmp_path / "elsewhere.geojson"
    geo.write_text(json.dumps(_square_geojson(["W06000001", "W06000002"])))
    with pytest.raises(DataError, match="no feature in the boundaries file carries one of the area codes"):
        publish(sample_dataset(n_areas=4, n_periods=2), tmp_path / "gen", generate_only=True, boundaries=geo)


def test_real_uk_boundaries_for_an_upper_tier_site(shared_data, tmp_path):
    topo = shared_data("geo_uk_la_topojson_2014_2025.json")
    ds = sample_dataset(n_areas=8, n_periods=2)  # codes E06000001..8 are real unitary authorities
    out = tmp_path / "gen"
    publish(ds, out, generate_only=True, boundaries=topo, layer="utla")
    stored = (out / "docs/assets/ps/boundaries.js").read_text()
    body = json.loads(stored.split("=", 2)[-1].rstrip(";\n"))
    geometries = body["objects"]["utla"]["geometries"]
    assert sorted(g["properties"]["areacd"] for g in geometries) == [f"E06{i:06d}" for i in range(1, 9)]
    assert len(stored) < topo.stat().st_size  # one layer, eight areas: a fraction of the file
    with pytest.raises(DataError, match="no layer 'wards'"):
        publish(ds, tmp_path / "x", generate_only=True, boundaries=topo, layer="wards")


@pytest.mark.slow
def test_cli_builds_into_a_relative_out_folder_with_progress(tmp_path, monkeypatch):
    from publicservices.cli import cli

    folder = sample_dataset(n_areas=4, n_periods=2).to_dir(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["publish", "data", "--out", "site"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site/index.html").is_file() and (tmp_path / "site/areas/e06000004.html").is_file()
    for stage in ("prepare data", "statistics", "write pages", "mkdocs build"):
        assert stage in result.output
    assert "Open site/index.html" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "site"]  # no staging folder left
    assert folder.is_dir()
