"""Geography: levels from codes, parents from the shipped lookup, comparable sets, successor codes."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices import geography as geo
from publicservices.errors import DataError, PublicServicesError, SchemaError

REPO = Path(__file__).resolve().parents[1]
BUILDER = REPO / "scripts" / "build_geography_lookup.py"
TOPOJSON = "geo_uk_la_topojson_2014_2025.json"
ENGLISH_LA = ("E06", "E07", "E08", "E09", "E10")


@cache
def _builder():
    spec = importlib.util.spec_from_file_location("build_geography_lookup", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer(path: Path, layer: str) -> list[dict]:
    topology = json.loads(path.read_text(encoding="utf-8"))
    return [g["properties"] for g in topology["objects"][layer]["geometries"]]


def _codes(path: Path) -> pl.Series:
    frame = pl.read_csv(path, infer_schema=False)
    column = next((c for c in ("area_code", "pfa_code") if c in frame.columns), None)
    if column is None:
        return pl.Series("code", [], dtype=pl.String)
    return frame.get_column(column).drop_nulls().unique().sort()


# -- levels -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("E92000001", "country"),
        ("K04000001", "country"),
        ("W92000004", "country"),
        ("X92000001", "country"),
        ("E12000002", "region"),
        ("X12000003", "region"),
        ("E40000003", "nhs_region"),
        ("E13000001", "london_part"),
        ("E47000001", "combined_authority"),
        ("E11000001", "metropolitan_county"),
        ("E10000017", "shire_county"),
        ("X10000001", "shire_county"),
        ("E06000001", "unitary"),
        ("W06000015", "unitary"),
        ("X06000001", "unitary"),
        ("E08000003", "metropolitan_district"),
        ("X08000001", "metropolitan_district"),
        ("E09000033", "london_borough"),
        ("X09000001", "london_borough"),
        ("E07000117", "shire_district"),
        ("E67000001", "merged_authority"),
        ("S12000036", "council_area"),
        ("N09000003", "local_government_district"),
        ("E23000001", "police_force_area"),
        ("W15000001", "police_force_area"),
        ("E54000048", "icb"),
        ("E38000014", "sub_icb"),
        ("RXX", "nhs_provider"),
        ("R0A", "nhs_provider"),
        ("RBL", "nhs_provider"),
        ("RXX01", "nhs_provider"),
        ("100001", "school"),
        (" e06000001 ", "unitary"),
        ("E99000001", "other"),
        ("E0600001", "other"),
        ("A81001", "other"),
        ("RXXX", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_level_of_each_kind_of_code(code, level):
    assert geo.levels_of([code]).to_list() == [level]


def test_level_expr_is_vectorised_and_handles_integer_urns():
    frame = pl.DataFrame({"urn": [100001, 145000]})
    assert frame.select(geo.level_expr(pl.col("urn"))).to_series().to_list() == ["school", "school"]
    assert geo.levels_of(pl.Series(["E09000001", "E23000034"])).name == "level"


def test_every_prefix_maps_to_a_level_and_roles_are_as_documented():
    assert set(geo.PREFIX_LEVELS.values()) <= set(geo.LEVELS)
    benchmarks = {k for k, v in geo.LEVELS.items() if v.role == geo.BENCHMARK}
    assert benchmarks == {"country", "region", "nhs_region", "london_part"}
    assert all(v.role in (geo.BENCHMARK, geo.UNIT) for v in geo.LEVELS.values())
    assert geo.LEVELS["shire_county"] == geo.Level("shire_county", "Shire county", "shire counties", "unit")


def test_every_unit_level_is_in_a_comparable_set_and_no_benchmark_is():
    in_sets = {level for s in geo.COMPARABLE_SETS.values() for level in s.levels}
    units = {k for k, v in geo.LEVELS.items() if v.role == geo.UNIT}
    assert in_sets == units
    assert list(geo.COMPARABLE_SETS) == [
        "upper_tier",
        "lower_tier",
        "combined_authority",
        "police_force_area",
        "icb",
        "sub_icb",
        "nhs_provider",
        "school",
        "nation",
        "other",
    ]


# -- comparable sets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (["shire_county", "shire_district", "unitary"], ["upper_tier", "lower_tier"]),
        (["unitary", "metropolitan_district", "london_borough"], ["upper_tier"]),
        (["unitary", "shire_district"], ["lower_tier"]),
        (["shire_county"], ["upper_tier"]),
        (["shire_district"], ["lower_tier"]),
        (["merged_authority", "shire_county"], ["upper_tier"]),
        (["country", "region", "london_part", "nhs_region"], []),
        ([], []),
        (["combined_authority", "unitary", "region"], ["upper_tier", "combined_authority"]),
        (["school", "nhs_provider", "other", "sub_icb", "icb"], ["icb", "sub_icb", "nhs_provider", "school", "other"]),
    ],
)
def test_comparable_sets_rules(levels, expected):
    assert geo.comparable_sets(levels) == expected


def test_comparable_sets_rejects_unknown_levels():
    with pytest.raises(DataError, match="unknown level ids"):
        geo.comparable_sets(["unitary", "county"])


def test_set_membership_gives_one_row_per_area_and_set():
    areas = pl.DataFrame({"area_code": ["E92000001", "E06000001", "E10000017", "E07000117", "E12000002"]})
    out = geo.set_membership(geo.area_geography(areas), ["upper_tier", "lower_tier"])
    assert out.columns == ["area_code", "level", "comparable_set"]
    assert out.select("area_code", "comparable_set").rows() == [
        ("E06000001", "upper_tier"),
        ("E06000001", "lower_tier"),
        ("E10000017", "upper_tier"),
        ("E07000117", "lower_tier"),
    ]
    # without a level column, and with only one tier chosen
    assert geo.set_membership(areas, ["upper_tier"]).get_column("area_code").to_list() == ["E06000001", "E10000017"]
    with pytest.raises(DataError, match="unknown comparable sets"):
        geo.set_membership(areas, ["counties"])
    with pytest.raises(SchemaError):
        geo.set_membership(areas.rename({"area_code": "code"}), ["upper_tier"])


def test_set_membership_keeps_existing_levels():
    areas = pl.DataFrame({"area_code": ["A", "B"], "level": ["unitary", None]})
    assert geo.set_membership(areas, ["upper_tier", "other"]).rows() == [("A", "unitary", "upper_tier"), ("B", "other", "other")]


# -- successors -------------------------------------------------------------------------------------


def test_successor_map_is_one_to_one_only():
    mapping = geo.successor_map()
    assert len(set(mapping.values())) == len(mapping), "two obsolete codes map to one successor"
    for old, new in mapping.items():
        successors, _year = geo.SUCCESSORS[old]
        assert len(successors) == 1
        assert new == successors[0] or new in geo.SUCCESSORS.get(successors[0], ((),))[0]
    assert mapping["E06000048"] == "E06000057"  # Northumberland
    assert mapping["E08000020"] == "E08000037"  # Gateshead
    assert mapping["E10000009"] == "E06000059"  # Dorset: one-to-one for the upper tier
    assert mapping["E10000002"] == "E06000060"  # Buckinghamshire
    assert mapping["E10000023"] == "E06000065"  # North Yorkshire
    assert mapping["E10000027"] == "E06000066"  # Somerset
    assert mapping["E08000016"] == "E08000038" and mapping["E08000019"] == "E08000039"  # Barnsley, Sheffield 2025
    # many-to-one and one-to-many changes stay historical
    for code in (
        "E06000028",
        "E06000029",
        "E07000048",
        "E10000021",
        "E10000006",
        "E07000049",
        "E07000004",
        "E07000190",
        "E07000246",
    ):
        assert code in geo.SUCCESSORS and code not in mapping, code
    mapping["E06000048"] = "changed"
    assert geo.successor_map()["E06000048"] == "E06000057", "the cached map was mutated"


def test_successors_are_well_formed():
    for old, (new, year) in geo.SUCCESSORS.items():
        assert new and old not in new and 2000 < year < 2100
        assert geo.levels_of([old, *new]).is_in(list(geo.LEVELS)).all()
        assert "other" not in geo.levels_of([old, *new]).to_list()


@pytest.mark.shared
def test_successors_agree_with_the_obsolete_code_notes(shared_data):
    notes = (
        pl.read_csv(shared_data("health_preventable_cvd_mortality.csv"), infer_schema=False)
        .filter(pl.col("notes").str.starts_with("Obsolete code since"))
        .select(
            "area_code",
            pl.col("notes").str.extract(r"since (\d{4})").cast(pl.Int64).alias("year"),
            pl.col("notes").str.extract_all(r"[EWSN]\d{8}").alias("new"),
        )
        .unique("area_code")
    )
    assert notes.height > 0
    for code, year, new in notes.iter_rows():
        assert code in geo.SUCCESSORS, code
        assert geo.SUCCESSORS[code][1] == year, code
        if len(new) == 1:  # ELS names both Northamptonshire unitaries for every old district
            assert geo.SUCCESSORS[code][0] == tuple(new), code


# -- the shipped lookup -----------------------------------------------------------------------------


def test_lookup_ships_with_the_package_and_is_unique():
    lookup = geo.geography_lookup()
    assert lookup.columns == ["area_code", "area_name", "level", "region_code", "upper_tier_code", "start", "end"]
    assert lookup.get_column("area_code").is_unique().all()
    assert 400 < lookup.height < 1000
    assert lookup.filter(pl.col("level") == "other").height == 0
    assert lookup.get_column("level").to_list() == geo.levels_of(lookup["area_code"]).to_list()
    # regions and countries have no region; every English local authority has one
    assert lookup.filter(pl.col("level").is_in(["region", "country"]) & pl.col("region_code").is_not_null()).height == 0
    english = lookup.filter(pl.col("area_code").str.slice(0, 3).is_in(ENGLISH_LA + ("E67", "E47", "E11", "E13")))
    assert english.filter(pl.col("region_code").is_null()).height == 0
    assert set(english["region_code"]) <= set(lookup.filter(pl.col("level") == "region")["area_code"])


@pytest.mark.parametrize(
    ("code", "region", "upper"),
    [
        ("E07000117", "E12000002", "E10000017"),  # Burnley: Lancashire, North West
        ("E08000003", "E12000002", "E08000003"),  # Manchester
        ("E09000033", "E12000007", "E09000033"),  # Westminster
        ("E06000001", "E12000001", "E06000001"),  # Hartlepool
        ("E07000008", "E12000006", "E10000003"),  # Cambridge: Cambridgeshire, East of England
        ("E07000048", "E12000009", "E10000009"),  # Christchurch (to 2018): Dorset county, South West
        ("E07000246", "E12000009", "E10000027"),  # Somerset West and Taunton (2019-22): Somerset
        ("E07000004", "E12000008", "E10000002"),  # Aylesbury Vale: Buckinghamshire, South East
        ("E07000163", "E12000003", "E10000023"),  # Craven: North Yorkshire
        ("E07000026", "E12000002", "E10000006"),  # Allerdale: Cumbria
        ("E10000017", "E12000002", "E10000017"),  # Lancashire itself
        ("E67000001", "E12000007", "E67000001"),  # Hackney and City of London
        ("E67000002", "E12000009", "E67000002"),  # Cornwall and Isles of Scilly
        ("E06000048", "E12000001", "E06000048"),  # Northumberland before 2013 (not in the boundaries)
        ("E08000020", "E12000001", "E08000020"),  # Gateshead before 2013
        ("E47000001", "E12000002", None),  # Greater Manchester combined authority
        ("E12000002", None, None),
        ("E92000001", None, None),
        ("W06000015", None, "W06000015"),  # Cardiff: no English region
    ],
)
def test_lookup_spot_checks(code, region, upper):
    row = geo.geography_lookup().filter(pl.col("area_code") == code).row(0, named=True)
    assert (row["region_code"], row["upper_tier_code"]) == (region, upper)


@pytest.mark.shared
def test_every_english_la_in_the_boundaries_gets_a_region(shared_data):
    path = shared_data(TOPOJSON)
    lookup = geo.geography_lookup()
    regions = dict(lookup.select("area_code", "region_code").iter_rows())
    for layer in ("utla", "ltla"):
        codes = [p["areacd"] for p in _layer(path, layer) if p["areacd"].startswith("E")]
        assert codes
        assert [c for c in codes if regions.get(c) is None] == [], layer


@pytest.mark.shared
def test_every_shire_district_gets_a_county_of_an_overlapping_vintage(shared_data):
    path = shared_data(TOPOJSON)
    counties = {p["areacd"]: (p.get("start"), p.get("end")) for p in _layer(path, "cty")}
    lookup = {r["area_code"]: r for r in geo.geography_lookup().iter_rows(named=True)}
    districts = [p for p in _layer(path, "ltla") if p["areacd"].startswith("E07")]
    assert len(districts) > 150
    for p in districts:
        county = lookup[p["areacd"]]["upper_tier_code"]
        assert county in counties, p
        first, last = counties[county]
        assert (first or 0) <= (p.get("end") or 9999) and (p.get("start") or 0) <= (last or 9999), (p, county)
        assert lookup[county]["region_code"] == lookup[p["areacd"]]["region_code"], p


@pytest.mark.shared
def test_rebuilding_the_lookup_from_the_boundaries_gives_the_shipped_file(shared_data):
    rebuilt = _builder().build_lookup(shared_data(TOPOJSON))
    shipped = geo.geography_lookup()
    assert rebuilt.columns == shipped.columns
    assert rebuilt.equals(shipped), "the shipped lookup is stale: run python scripts/build_geography_lookup.py <topojson>"


def test_builder_geometry_helpers():
    import numpy as np

    b = _builder()
    # a U shape: its centroid is in the notch, outside the area
    u = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]], dtype=float)
    x, y = b.interior_point([u])
    assert b.contains(b.edges([u]), x, y)
    assert not b.contains(b.edges([u]), *b.centroid(u))
    # a square with a hole: the centroid is in the hole
    outer = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)
    hole = np.array([[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]], dtype=float)
    x, y = b.interior_point([outer, hole])
    assert b.contains(b.edges([outer, hole]), x, y) and not (1 < x < 3 and 1 < y < 3)
    # a ring made of a forward and a reversed arc
    arcs = [np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])]
    assert b.ring_points([0, ~1], arcs).tolist() == [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def test_builder_reports_an_unreadable_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PublicServicesError, match="not a readable TopoJSON"):
        _builder().build_lookup(bad)


# -- real data files --------------------------------------------------------------------------------


def _data_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.csv"))


@pytest.mark.shared
def test_no_english_la_code_in_the_shared_data_is_other(shared_data):
    files = _data_files(shared_data("README.md").parent)
    assert len(files) >= 10
    others = {}
    for path in files:
        codes = _codes(path)
        levels = geo.levels_of(codes)
        english_la = codes.str.slice(0, 3).is_in(ENGLISH_LA + ("E67", "E47", "E12", "E13", "E92", "E23"))
        assert codes.filter(english_la & (levels == "other")).to_list() == [], path.name
        others[path.name] = codes.filter(levels == "other").to_list()
    assert all(not v for v in others.values()), others


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("health_preventable_cvd_mortality.csv", ["upper_tier", "lower_tier"]),
        ("schools_gcse_english_maths.csv", ["upper_tier", "lower_tier", "combined_authority"]),
        ("schools_persistent_absence.csv", ["upper_tier"]),
        ("context_imd2019_lad_summary.csv", ["lower_tier"]),
        ("policing_homicide_rate_pfa.csv", ["police_force_area"]),
        ("health_fingertips_northwest_sample.csv", ["upper_tier", "lower_tier", "icb", "sub_icb"]),
    ],
)
def test_comparable_sets_of_real_files(shared_data, name, expected):
    assert geo.comparable_sets(geo.levels_of(_codes(shared_data(name)))) == expected


@pytest.mark.shared
def test_area_geography_on_every_english_la_in_the_shared_data(shared_data):
    codes = pl.concat([_codes(p) for p in _data_files(shared_data("README.md").parent)]).unique().sort()
    out = geo.area_geography(pl.DataFrame({"area_code": codes}))
    la = out.filter(pl.col("area_code").str.slice(0, 3).is_in(ENGLISH_LA + ("E67",)))
    # E10000022 is a typo for North Yorkshire (E10000023) in the 2017-18 revenue outturn file
    assert la.filter(pl.col("region_code").is_null()).get_column("area_code").to_list() == ["E10000022"]
    assert la.filter(pl.col("upper_tier_code").is_null()).height == 0


# -- area_geography ---------------------------------------------------------------------------------


def test_area_geography_adds_levels_roles_and_parents():
    areas = pl.DataFrame(
        {
            "area_code": ["E07000117", "E92000001", "E10000023", "X06000001", "X07000001", "E06000028"],
            "area_name": ["Burnley", "England", "North Yorkshire", "Eskelham", "Nowhere", "Bournemouth"],
            "parent_code": [None, None, None, "X12000001", None, "E10000009"],
            "population": [95_000.0, 5.7e7, 6.0e5, 1.0, 2.0, 3.0],
        }
    )
    out = geo.area_geography(areas)
    assert out.columns == [*areas.columns, "level", "level_label", "role", "region_code", "upper_tier_code", "successor_code"]
    assert out.rows() == [
        (
            "E07000117",
            "Burnley",
            "E12000002",
            95_000.0,
            "shire_district",
            "Shire district",
            "unit",
            "E12000002",
            "E10000017",
            None,
        ),
        ("E92000001", "England", None, 5.7e7, "country", "Country", "benchmark", None, None, None),
        (
            "E10000023",
            "North Yorkshire",
            "E12000003",
            6.0e5,
            "shire_county",
            "Shire county",
            "unit",
            "E12000003",
            "E10000023",
            "E06000065",
        ),
        # demo: the region comes from a parent that is a region
        ("X06000001", "Eskelham", "X12000001", 1.0, "unitary", "Unitary authority", "unit", "X12000001", "X06000001", None),
        ("X07000001", "Nowhere", None, 2.0, "other", "Other area", "unit", None, None, None),
        # an existing parent is kept; Bournemouth merged into BCP with others, so no successor
        ("E06000028", "Bournemouth", "E10000009", 3.0, "unitary", "Unitary authority", "unit", "E12000009", "E06000028", None),
    ]


def test_area_geography_shire_district_county_from_parent_when_unknown():
    areas = pl.DataFrame({"area_code": ["E07999999"], "parent_code": ["E10000017"]})
    out = geo.area_geography(areas).row(0, named=True)
    assert out["upper_tier_code"] == "E10000017" and out["region_code"] is None


def test_area_geography_on_the_demo_nation():
    from publicservices.synthetic import demo

    areas = demo().areas
    out = geo.area_geography(areas)
    assert out.height == areas.height and out.select(areas.columns).equals(areas)
    assert out.filter(pl.col("region_code").is_null() | (pl.col("level") == "other")).height == 0
    assert geo.comparable_sets(out["level"]) == ["upper_tier"]


def test_area_geography_errors():
    with pytest.raises(SchemaError, match="area_code"):
        geo.area_geography(pl.DataFrame({"code": ["E06000001"]}))
    with pytest.raises(SchemaError, match="Polars DataFrame"):
        geo.area_geography({"area_code": ["E06000001"]})


_CODES = st.sampled_from(
    [
        None,
        "E06000001",
        "E07000117",
        "E10000017",
        "E92000001",
        "E12000002",
        "E08000020",
        "E06000048",
        "X06000003",
        "X12000001",
        "RXX",
        "123456",
        "junk",
        "E10000023",
        "E67000002",
    ]
)
_MAYBE = st.one_of(st.none(), st.sampled_from(["keep", "E12000009", "E10000003", "unitary", "x"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CODES, _MAYBE, _MAYBE, _MAYBE, _MAYBE), max_size=25))
def test_area_geography_never_drops_duplicates_or_changes_values(rows):
    frame = pl.DataFrame(
        rows,
        schema={
            "area_code": pl.String,
            "parent_code": pl.String,
            "level": pl.String,
            "region_code": pl.String,
            "area_name": pl.String,
        },
        orient="row",
    )
    out = geo.area_geography(frame)
    assert out.height == frame.height
    assert out.get_column("area_code").to_list() == frame.get_column("area_code").to_list()
    for column in frame.columns:
        before, after = frame.get_column(column).to_list(), out.get_column(column).to_list()
        assert all(b is None or a == b for b, a in zip(before, after, strict=True)), column
    for column in ("level", "level_label", "role", "region_code", "upper_tier_code", "successor_code", "parent_code"):
        assert column in out.columns


def test_area_geography_fills_an_all_null_column():
    frame = pl.DataFrame({"area_code": ["E06000001"], "region_code": [None]})
    assert geo.area_geography(frame).get_column("region_code").to_list() == ["E12000001"]


def test_module_is_not_imported_by_the_package():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import publicservices, sys; print('publicservices.geography' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
