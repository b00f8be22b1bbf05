"""Readers on hand-written fixture rows of every published layout (tests/fixtures/readers)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.default_plugins.els import els_indicator_id, generic_indicator, period_label, read_els
from publicservices.default_plugins.geography import area_type_expr, read_topojson_areas
from publicservices.errors import ReaderError, SchemaError
from publicservices.reading import read_header, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "readers"

EXPECTED_READER = {
    "els.csv": "ons-els",
    "fingertips_extract.csv": "fingertips",
    "fingertips_download.csv": "fingertips",
    "imd_summary.csv": "imd-lad-summary",
    "revenue_outturn.csv": "mhclg-revenue-outturn",
    "police_workforce.csv": "police-workforce",
    "topojson_small.json": "topojson-areas",
    "contract.csv": "contract",
    "ees_ks4.csv": "dfe-ees",
    "wide_periods.csv": "wide-periods",
}


def test_builtin_readers_are_registered():
    assert {"contract", "ons-els", "topojson-areas", "imd-lad-summary", "mhclg-revenue-outturn"} <= set(ps.readers())


@pytest.mark.parametrize("name", sorted(EXPECTED_READER))
def test_sniffing_picks_the_right_reader_and_every_row_is_accounted_for(name):
    path = FIXTURES / name
    assert sniff(path).name == EXPECTED_READER[name]
    result = ps.read(path)
    report = result.report
    assert report.reader == EXPECTED_READER[name]
    kept = result.values.height + (result.spend.height if result.spend is not None else 0)
    assert report.rows_kept == kept
    assert report.rows_read == report.rows_kept + report.rows_set_aside
    empty = result.values.filter(pl.col("value").is_null() & pl.col("numerator").is_null()).height
    assert sum(report.missing.values()) >= empty
    summary = report.summary()
    assert ("No values are missing." in summary) or ("values are missing" in summary)
    result.to_dataset()  # passes the data contract as a whole


# -- ONS Explore local statistics -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "length", "label"),
    [
        ("2023-01-01", "P1Y", "2023"),
        ("2022-04-01", "P1Y", "2022/23"),
        ("2023-09-01", "P1Y", "2023/24"),
        ("1999-08-01", "P1Y", "1999/00"),
        ("2020-01-01", "P3Y", "2020-22"),
        ("2016-01-01", "P5Y", "2016-20"),
        ("2014-04-01", "P3Y", "2014/15-2016/17"),
        ("2024-04-01", "P3M", "2024 Q2"),
        ("2024-03-01", "P1M", "2024-03"),
        ("2024-03-05", "P7D", "2024-03-05 (P7D)"),
    ],
)
def test_els_period_labels(start, length, label):
    frame = pl.DataFrame({"s": [start], "l": [length]})
    assert frame.select(period_label(pl.col("s").str.to_date(), pl.col("l"))).item() == label


def test_els_suppressed_cells_are_kept_with_their_reason():
    result = ps.read(FIXTURES / "els.csv")
    values = result.values
    assert result.report.rows_read == result.report.rows_kept == values.height == 12
    assert result.report.missing == {
        "not available (status x)": 1,
        "confidential or suppressed (status c)": 1,
        "not applicable (status z)": 1,
        "low reliability (status u)": 1,
    }
    missing = values.filter(pl.col("value").is_null())
    assert missing.get_column("missing_reason").null_count() == 0
    assert set(missing.get_column("status")) == {"x", "c", "z", "u"}
    merged = values.filter(pl.col("area_code") == "E67000001").row(0, named=True)
    assert merged["status"] == "Value for Hackney and City of London combined" and merged["value"] == 41.3
    assert any("Hackney" in note for note in result.report.notes)
    assert values.filter(pl.col("area_code") == "E08000016").item(0, "notes").startswith("Obsolete code")


def test_els_plugin_mappings_and_generic_ids():
    result = ps.read(FIXTURES / "els.csv")
    ids = set(result.values.get_column("indicator_id"))
    assert ids == {
        "schools.persistent_absence",
        "schools.persistent_absence_fsm",
        "schools.persistent_absence_looked_after",
        "policing.homicide_rate",
        "health.cvd_mortality_preventable",
        "other.wellbeing_average_life_satisfaction",
    }
    generic = result.indicators["other.wellbeing_average_life_satisfaction"]
    # Not "Sector: Els": an unmapped indicator is in the sector "other", with no direction, and the report says so.
    assert (generic.sector, generic.measure, generic.polarity, generic.role) == ("other", "score", "no_judgement", "outcome")
    assert "ONS Explore local statistics" in generic.source and "Direction unknown" in generic.definition
    assert (
        "1 indicator(s) have no known direction: they will be compared as higher/lower, never better/worse "
        "(other.wellbeing_average_life_satisfaction)"
    ) in result.report.summary()
    assert any("No metadata sidecar was found" in note for note in result.report.notes)
    # A user mapping wins over the plugins' mappings.
    mine = read_els(FIXTURES / "els.csv", indicator_ids={"Homicide Offences": "els.my_homicides"})
    assert "els.my_homicides" in set(mine.values.get_column("indicator_id"))


def test_els_areas_frame_names_and_types():
    areas = ps.read(FIXTURES / "els.csv").areas
    types = dict(areas.select("area_code", "area_type").rows())
    # ONS labels Westminster "Local Authority District"; its code says London borough (upper tier).
    assert types["E09000033"] == "London borough"
    assert types["E08000016"] == "Metropolitan district"
    assert types["E07000008"] == "Shire district"
    assert types["E23000001"] == "Police force area"
    assert dict(areas.select("area_code", "area_name").rows())["E06000001"] == "Hartlepool"
    assert dict(areas.select("area_code", "geography").rows())["E09000033"] == "Local Authority District"


def test_els_area_prefix_filter_sets_rows_aside_and_counts_them():
    result = read_els(FIXTURES / "els.csv", area_prefixes=["E06", "E08", "E09", "E10"])
    assert set(result.values.get_column("area_code").str.slice(0, 3)) <= {"E06", "E08", "E09", "E10"}
    assert result.report.rows_set_aside == 12 - result.values.height > 0
    assert result.report.rows_read == result.report.rows_kept + result.report.rows_set_aside


def test_els_two_starts_with_one_label_are_told_apart(tmp_path):
    path = tmp_path / "clash.csv"
    path.write_text(
        "area_code,area_name,indicator,period_start,period_length,value\n"
        "E06000001,Hartlepool,Thing,2022-04-01,P1Y,1\n"
        "E06000001,Hartlepool,Thing,2022-09-01,P1Y,2\n",
        encoding="utf-8",
    )
    periods = sorted(ps.read(path).values.get_column("period"))
    assert periods == ["2022/23 (from 2022-04-01)", "2022/23 (from 2022-09-01)"]


def test_els_errors_name_the_problem(tmp_path):
    bad_date = tmp_path / "bad.csv"
    bad_date.write_text(
        "area_code,indicator,period_start,period_length,value\nE06000001,Thing,April 2022,P1Y,1\n", encoding="utf-8"
    )
    with pytest.raises(ReaderError, match="period_start"):
        ps.read(bad_date)
    text_value = tmp_path / "text.csv"
    text_value.write_text(
        "area_code,indicator,period_start,period_length,value\n"
        "E06000001,Thing,2022-04-01,P1Y,[c]\nE06000002,Thing,2022-04-01,P1Y,n/a\nE06000003,Thing,2022-04-01,P1Y,low\n",
        encoding="utf-8",
    )
    # a symbol of the GSS guidance is read for what it means; other text is named as it is
    assert ps.read(text_value).report.missing == {
        "confidential (suppressed) in the source": 1,
        "not a number in the source (n/a)": 1,
        "rounds to zero in the source ('low')": 1,
    }
    with pytest.raises(ReaderError, match="not an Explore local statistics file"):
        read_els(FIXTURES / "imd_summary.csv")


def test_generic_indicator_guesses_the_measure():
    pct = generic_indicator("Share", "Percentage", "%", "f.csv")
    assert (pct.measure, pct.multiplier, pct.unit) == ("proportion", 100.0, "%")
    dsr = generic_indicator("Deaths", "Age-standardised rate per 100,000", "Rate per 100,000 population", "f.csv")
    assert (dsr.measure, dsr.multiplier) == ("dsr", 100_000.0)
    per_thousand = generic_indicator("Births", "Rate per 1,000 women", "", "f.csv")
    assert (per_thousand.measure, per_thousand.multiplier) == ("rate", 1_000.0)
    assert els_indicator_id("2020 Index!") == "other.x2020_index"
    assert els_indicator_id("Population density", sector="context") == "context.population_density"
    change = generic_indicator("Five-year population change", "Percentage", "%", "f.csv")
    assert (change.measure, change.unit, change.role, change.id) == (
        "score",
        "%",
        "context",
        "context.five_year_population_change",
    )


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_generated_ids_are_always_valid(name):
    from publicservices.indicators import ID_PATTERN

    assert ID_PATTERN.match(els_indicator_id(name))


# -- other layouts ----------------------------------------------------------------------------


def test_imd_summary_gives_deprivation_and_score_indicators():
    result = ps.read(FIXTURES / "imd_summary.csv")
    assert set(result.indicators) == {"context.imd2019_imd", "context.imd2019_income"}
    areas = dict(result.areas.select("area_code", "deprivation").rows())
    assert areas == {"E06000001": 35.037, "E07000008": 13.1}
    assert result.report.missing == {"average score empty in the source file": 1}
    assert "rank_average_score" in result.values.columns


def test_revenue_outturn_becomes_spend_in_pounds():
    result = ps.read(FIXTURES / "revenue_outturn.csv")
    spend = result.spend
    assert result.values.height == 0 and spend.height == 7
    row = spend.filter(pl.col("area_code") == "E10000003", pl.col("period") == "2017/18", pl.col("service") == "schools").row(
        0, named=True
    )
    assert row["spend"] == 278_639_000.0 and row["service_name"] == "Education services"
    assert set(spend.get_column("service")) == {"schools", "policing", "health", "adult_social_care", "net_current_expenditure"}
    # A police authority without an ONS code keeps its MHCLG E-code.
    assert "E3331" in set(spend.get_column("area_code"))
    assert dict(result.areas.select("area_code", "area_name").rows())["E10000003"] == "Cambridgeshire"  # the latest name


def test_topojson_gives_areas_by_vintage():
    every = read_topojson_areas(FIXTURES / "topojson_small.json")
    assert every.height == 4
    assert dict(every.select("area_code", "layers").rows())["E06000001"] == "ltla,utla"
    in_2024 = set(read_topojson_areas(FIXTURES / "topojson_small.json", year=2024).get_column("area_code"))
    assert "E06000063" in in_2024 and "E10000006" not in in_2024
    with pytest.raises(ReaderError, match="no layer"):
        read_topojson_areas(FIXTURES / "topojson_small.json", layers=["lsoa"])


def test_police_workforce_snapshots():
    result = ps.read(FIXTURES / "police_workforce.csv")
    assert set(result.values.get_column("period_start")) == {dt.date(2014, 9, 30), dt.date(2015, 3, 31)}
    assert result.report.set_aside == {"not a police force area or region (British Transport Police)": 1}


def test_fingertips_joins_names_from_a_boundary_file():
    result = ps.read(FIXTURES / "fingertips_extract.csv", area_names=FIXTURES / "topojson_small.json")
    assert result.report.reader == "fingertips"
    assert any("no name" in note for note in result.report.notes)


def test_area_type_from_code():
    codes = pl.DataFrame({"c": ["E10000003", "E13000001", "X06000001", "Z99"]})
    assert codes.select(area_type_expr(pl.col("c"))).to_series().to_list() == [
        "Shire county",
        "Inner or Outer London",
        "Unitary authority",
        None,
    ]


def test_header_of_every_fixture_is_readable():
    for name in EXPECTED_READER:
        assert read_header(FIXTURES / name)


_cells = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(_cells, _cells, st.sampled_from(["P1Y", "P3Y", "P2M", "Q1", ""])), min_size=1, max_size=8))
def test_els_reader_never_loses_a_row_or_leaks_a_raw_error(tmp_path_factory, rows):
    from publicservices.errors import PublicServicesError

    frame = pl.DataFrame(
        {
            "area_code": [f"E0600000{i}" for i in range(len(rows))],
            "indicator": ["Thing"] * len(rows),
            "period_start": ["2022-04-01"] * len(rows),
            "period_length": [r[2] or "P1Y" for r in rows],
            "value": [r[0] for r in rows],
            "status": [r[1] for r in rows],
        },
        schema={c: pl.String for c in ("area_code", "indicator", "period_start", "period_length", "value", "status")},
    )
    path = tmp_path_factory.mktemp("els") / "random.csv"
    frame.write_csv(path)
    try:
        result = read_els(path, use_registered=False)
    except PublicServicesError:
        return
    assert result.report.rows_read == result.report.rows_kept == len(rows)
    nulls = result.values.filter(pl.col("value").is_null())
    assert sum(result.report.missing.values()) == nulls.height
    assert nulls.get_column("missing_reason").null_count() == 0


def test_els_names_with_the_same_slug_stay_apart(tmp_path):
    path = tmp_path / "slugs.csv"
    path.write_text(
        "area_code,indicator,period_start,period_length,value\n"
        "E06000001,Thing (a),2022-04-01,P1Y,1\n"
        "E06000001,Thing a,2022-04-01,P1Y,2\n",
        encoding="utf-8",
    )
    result = read_els(path, use_registered=False)
    assert sorted(result.values.get_column("indicator_id")) == ["other.thing_a", "other.thing_a_2"]


# -- ELS metadata sidecars ----------------------------------------------------------------------

_ELS_HEADER = (
    "area_code,area_name,geography,indicator,period_start,period_length,value,measure,unit,lower_ci,upper_ci,status,notes\n"
)
_SIDECAR = {
    "_note": "This file was last modified on 01/01/2026",
    "ess-beta-metadata": {
        "shared": {
            "prefix": None,
            "suffix": None,
            "subText": "per 10,000 population",
            "decimalPlaces": 2,
            "sourceOrg": "Office for Widgets|Widget Council",
            "standardised": "T",
        },
        "Widget shops": {
            "label": "Widget shops in the area",
            "subtitle": "Widget shops per 10,000 people",
            "longDescription": "This indicator shows widget shops per 10,000 people.",
            "caveats": "Counts exclude online shops.",
        },
        "Employment rate": {"label": "Employment rate (Widgetland)", "suffix": "%", "decimalPlaces": 1},
    },
}


def _els_csv(path: Path, *names: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"E06000001,Hartlepool,County or Unitary Authority,{n},2023-01-01,P1Y,1.5,,,,,,\n" for n in names)
    path.write_text(_ELS_HEADER + rows, encoding="utf-8")
    return path


def _sidecar(path: Path, document=_SIDECAR) -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["beside", "els_metadata beside", "els_metadata beside the folder"])
def test_els_sidecar_describes_an_unmapped_indicator(tmp_path, layout):
    if layout == "beside":  # ELS's own layout: widgets/widgets.csv + widgets/widgets.json
        csv = _els_csv(tmp_path / "widgets" / "widgets.csv", "Widget shops")
        _sidecar(tmp_path / "widgets" / "widgets.json")
    elif layout == "els_metadata beside":  # ../shared/data's layout: widgets.csv + els_metadata/widgets.json
        csv = _els_csv(tmp_path / "widgets.csv", "Widget shops")
        _sidecar(tmp_path / "els_metadata" / "widgets.json")
    else:
        csv = _els_csv(tmp_path / "widgets" / "widgets.csv", "Widget shops")
        _sidecar(tmp_path / "els_metadata" / "widgets.json")
    result = ps.read(csv)
    ind = result.indicators["other.widget_shops"]
    assert (ind.title, ind.unit, ind.decimals, ind.measure, ind.multiplier) == (
        "Widget shops in the area",
        "per 10,000",
        2,
        "rate",
        10_000.0,
    )
    assert ind.source.startswith("Office for Widgets; Widget Council, via ONS Explore local statistics")
    assert "Widget shops per 10,000 people." in ind.definition and "Caveats: Counts exclude online shops." in ind.definition
    assert (ind.sector, ind.polarity, ind.role) == ("other", "no_judgement", "outcome")
    summary = result.report.summary()
    assert "Titles, units and definitions for 1 of them come from the metadata sidecar" in summary
    assert "1 indicator(s) have no known direction: they will be compared as higher/lower, never better/worse" in summary


def test_els_sidecar_label_finds_the_plugin_mapping_and_plugins_win(tmp_path):
    # "Employment rate" is mapped by the welfare plugin: its indicator, with its direction, not the sidecar's.
    csv = _els_csv(tmp_path / "widgets" / "widgets.csv", "Widget shops", "Employment rate")
    _sidecar(tmp_path / "widgets" / "widgets.json")
    result = ps.read(csv)
    assert set(result.values.get_column("indicator_id")) == {"other.widget_shops", "welfare.employment_rate"}
    assert result.indicators["welfare.employment_rate"].polarity == "higher_is_better"
    # A CSV name that differs from every mapping is still found through the sidecar's label.
    single = {"ess-beta-metadata": {"label": "Claimant Count", "suffix": "%", "decimalPlaces": 1}}
    renamed = _els_csv(tmp_path / "claims" / "claims.csv", "Claimants as a share of residents")
    _sidecar(tmp_path / "claims" / "claims.json", single)
    claims = ps.read(renamed)
    assert set(claims.values.get_column("indicator_id")) == {"welfare.claimant_rate"}
    assert any("matched through the metadata sidecar's label" in note for note in claims.report.notes)


def test_els_sidecar_found_by_indicator_name_when_the_file_was_renamed(tmp_path):
    csv = _els_csv(tmp_path / "my_copy.csv", "Widget shops")
    _sidecar(tmp_path / "els_metadata" / "widgets.json")
    _sidecar(tmp_path / "els_metadata" / "not-a-sidecar.json", {"type": "Topology"})
    result = ps.read(csv)
    assert result.indicators["other.widget_shops"].title == "Widget shops in the area"
    assert any("widgets.json (found by indicator name)" in note for note in result.report.notes)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ({"type": "Topology"}, "has no 'ess-beta-metadata' object"),
        ([1, 2, 3], "has no 'ess-beta-metadata' object"),
        ({"ess-beta-metadata": {"suffix": "%"}}, "neither a label nor a block per indicator"),
        (b"\xff\xfe{", "cannot be read (UnicodeDecodeError"),
    ],
)
def test_a_malformed_sidecar_is_a_note_not_an_error(tmp_path, document, reason):
    csv = _els_csv(tmp_path / "widgets" / "widgets.csv", "Widget shops")
    _sidecar(tmp_path / "widgets" / "widgets.json", document)
    result = ps.read(csv)
    assert result.report.rows_kept == result.report.rows_read == 1
    assert result.indicators["other.widget_shops"].title == "Widget shops"  # from the CSV alone
    notes = " ".join(result.report.notes)
    assert "The metadata sidecar could not be used: widgets.json" in notes and reason in notes


def test_sidecar_fields_of_the_wrong_type_are_ignored(tmp_path):
    odd = {
        "ess-beta-metadata": {
            "label": "Widget shops",
            "suffix": 5,
            "decimalPlaces": "one",
            "sourceOrg": ["x"],
            "caveats": None,
            "prefix": "GBPSign",
        }
    }
    csv = _els_csv(tmp_path / "widgets" / "widgets.csv", "Widget shops")
    _sidecar(tmp_path / "widgets" / "widgets.json", odd)
    ind = ps.read(csv).indicators["other.widget_shops"]
    assert (ind.unit, ind.decimals, ind.measure) == ("£", None, "score")
    assert ind.source.startswith("ONS Explore local statistics")


def test_sidecar_can_be_named_or_switched_off(tmp_path):
    csv = _els_csv(tmp_path / "widgets.csv", "Widget shops")
    elsewhere = _sidecar(tmp_path / "meta" / "anything.json")
    assert read_els(csv, metadata=elsewhere).indicators["other.widget_shops"].decimals == 2
    _sidecar(tmp_path / "widgets.json")
    off = read_els(csv, metadata=False)
    assert off.indicators["other.widget_shops"].decimals is None
    assert not any("sidecar" in note for note in off.report.notes)
    missing = read_els(csv, metadata=tmp_path / "nope.json")
    assert any("could not be used: nope.json cannot be read" in note for note in missing.report.notes)


def test_population_and_deprivation_are_context_not_compared(tmp_path):
    csv = _els_csv(tmp_path / "people.csv", "Population density", "Median age", "Deprivation score", "Widget shops")
    result = read_els(csv, metadata=False)
    context = {i for i, ind in result.indicators.items() if ind.is_context}
    assert context == {"context.population_density", "context.median_age", "context.deprivation_score"}
    assert all(result.indicators[i].polarity == "no_judgement" for i in context)
    notes = " ".join(result.report.notes)
    assert "3 indicator(s) are context (population or deprivation), kept to explain outcomes but not compared" in notes
    assert "1 indicator(s) have no known direction" in notes


# -- nothing changed on read without a word --------------------------------------------------

ELS_HEADER = (
    "area_code,area_name,geography,indicator,period_start,period_length,value,measure,unit,lower_ci,upper_ci,status,notes"
)


def test_a_windows_1252_file_is_decoded_and_the_report_says_so(tmp_path):
    path = tmp_path / "welsh.csv"
    path.write_bytes(
        "indicator_id,area_code,area_name,period,value\n"
        "health.x,W06000001,Ynys Môn,2023,1.5\n"
        "health.x,W06000002,Gwynedd,2023,2.5\n".encode("cp1252")
    )
    result = ps.read(path)
    assert dict(result.areas.select("area_code", "area_name").rows())["W06000001"] == "Ynys Môn"
    assert "welsh.csv: read as windows-1252 (not UTF-8), e.g. 'Ynys Môn'" in result.report.summary()
    # The same through read_csv directly, and for an ELS file (a reader of its own).
    assert any("windows-1252" in n for n in ps.read_csv(path).report.notes)
    els = tmp_path / "els_latin.csv"
    els.write_bytes(f"{ELS_HEADER}\nW06000001,Ynys Môn,LAD,Thing,2023-01-01,P1Y,1,,,,,,\n".encode("cp1252"))
    read = ps.read(els)
    assert read.areas.item(0, "area_name") == "Ynys Môn"
    assert read.report.notes[0].startswith("els_latin.csv: read as windows-1252 (not UTF-8)")


def test_utf8_files_get_no_encoding_note(tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_text("\ufeffindicator_id,area_code,area_name,period,value\nhealth.x,W06000001,Ynys Môn,2023,1\n", encoding="utf-8")
    result = ps.read(path)
    assert result.areas.item(0, "area_name") == "Ynys Môn" and result.report.notes == []


def test_utf16_and_other_encodings_are_named(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes("indicator_id,area_code,area_name,period,value\nhealth.x,W06000001,Ynys Môn,2023,1\n".encode("utf-16"))
    result = ps.read(path, format="contract")  # sniffing reads the header on its own (reading.read_header)
    assert result.areas.item(0, "area_name") == "Ynys Môn"
    assert any("read as UTF-16 (not UTF-8)" in n for n in result.report.notes)


def test_a_file_mixing_encodings_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "indicator_id,area_code,area_name,period,value\nhealth.x,E1,Café,2023,1\n".encode()
        + "health.x,W06000001,Ynys Môn,2023,1\n".encode("cp1252")
    )
    with pytest.raises(ps.SchemaError, match="mixes text encodings.*line 3"):
        ps.read(path)


def test_cr_only_line_endings_are_read_and_noted(tmp_path):
    els = tmp_path / "mac.csv"
    els.write_bytes(
        f"{ELS_HEADER}\rE06000001,Hartlepool,LAD,Thing,2022-04-01,P1Y,1,,,,,,\rE06000002,Middlesbrough,LAD,Thing,2022-04-01,P1Y,2,,,,,,\r".encode()
    )
    result = ps.read(els)
    assert result.report.rows_read == result.report.rows_kept == result.values.height == 2
    assert "mac.csv: lines end with a carriage return only (an old Mac format); read as line breaks." in result.report.notes
    contract = tmp_path / "contract_mac.csv"
    contract.write_bytes(b"indicator_id,area_code,period,value\rhealth.x,A1,2023,1\rhealth.x,A2,2023,2")
    assert ps.read(contract).values.get_column("value").to_list() == [1.0, 2.0]
    # A carriage return inside a quoted cell is text, not a line break.
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'indicator_id,area_code,period,value,notes\nhealth.x,A1,2023,1,"two\rlines"\n')
    read = ps.read(quoted)
    assert read.values.item(0, "notes") == "two\rlines" and read.report.notes == []


@pytest.mark.parametrize(
    ("rows", "shown"),
    [
        ("health.x,A1,2023,1\nhealth.x,A2,2023\n", ["line 3: 3 cells"]),  # short: used to be padded with a blank
        ("health.x,A1,2023,1\nhealth.x,A2,2023,2,7\n", ["line 3: 5 cells"]),  # long: used to fail with a Polars message
        ('health.x,A1,2023,1\n"health.x\n",A2,2023\nhealth.x,A3,2023,3,4\n', ["line 3: 3 cells", "line 5: 5 cells"]),
    ],
)
def test_rows_with_too_few_or_too_many_cells_are_errors_naming_lines(tmp_path, rows, shown):
    path = tmp_path / "ragged.csv"
    path.write_text("indicator_id,area_code,period,value\n" + rows, encoding="utf-8")
    with pytest.raises(ps.SchemaError, match="rows do not have the header's 4 cells") as err:
        ps.read(path)
    for line in shown:
        assert line in str(err.value)
    assert "never padded" in str(err.value)


def test_notes_below_the_table_are_named_as_such(tmp_path):
    path = tmp_path / "footnotes.csv"
    table = "indicator_id,area_code,period,value\nhealth.x,A1,2023,1\n"
    path.write_text(table + "\nSource: Department for Education\nc = suppressed,\n", encoding="utf-8")
    with pytest.raises(ps.SchemaError, match="line 4: 1 cell") as err:
        ps.read(path)
    assert "the 2 lines below the table look like notes ('Source: Department for Education'), not rows" in str(err.value)
    # a short row inside the table is a ragged row, however few cells it has
    path.write_text(table + "Source: DfE\nhealth.x,A2,2023,2\n", encoding="utf-8")
    with pytest.raises(ps.SchemaError, match="line 3: 1 cell") as err:
        ps.read(path)
    assert "look like notes" not in str(err.value) and "missing or extra comma" in str(err.value)


@pytest.mark.parametrize(
    ("text", "says", "fix"),
    [
        (
            "Table 1: claimants\nSource: DWP\n\nindicator_id,area_code,period,value\nwelfare.x,A1,2023,1\n",
            "line 1 ('Table 1: claimants') looks like a title: the table seems to start at line 4 (indicator_id, area_code",
            "delete the 3 lines above the table's header",
        ),
        (
            "indicator_id;area_code;period;value\nwelfare.x;A1;2023;1\n",
            "separated by semicolons, not commas",
            "save it as a comma-separated CSV",
        ),
        (
            "indicator_id\tarea_code\tperiod\tvalue\nwelfare.x\tA1\t2023\t1\n",
            "separated by tabs",
            "save it as a comma-separated CSV",
        ),
    ],
)
def test_a_first_line_that_is_not_the_header_is_named(tmp_path, text, says, fix):
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReaderError, match="no reader recognises the columns") as err:
        ps.read(path)
    assert says in str(err.value) and f"Fix: {fix}" in str(err.value)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"PK\x03\x04", "a zip archive (an Excel or OpenDocument workbook?)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook"),
    ],
)
def test_a_workbook_renamed_csv_is_named_as_one(tmp_path, head, kind):
    # read as text, its header was binary noise ("no reader recognises ['PK\x03\x04...']");
    # workbooks with their own extension are read (tests/test_workbooks.py)
    path = tmp_path / "release.csv"
    path.write_bytes(head + b"\x00" * 64)
    for read in (ps.read, lambda p: ps.read_csv(p, mapping={"Area": "area_code"})):
        with pytest.raises((ReaderError, SchemaError)) as err:
            read(path)
        assert f"release.csv is {kind}, not a CSV file" in str(err.value)
        assert "Fix: give it its workbook's extension" in str(err.value)


def test_a_header_no_reader_knows_still_gets_the_general_advice(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("kind,place\nx,y\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"\['kind', 'place'\]\nFix: name a reader with format="):
        ps.read(path)


def test_els_area_codes_with_spaces_or_in_lower_case_are_read_as_ons_writes_them(tmp_path):
    clean = [
        "E06000001,Hartlepool,Unitary Authority,Claimant Count,2023-01-01,P1Y,4.1,Percentage,%,,,,",
        "E06000002,Middlesbrough,Unitary Authority,Claimant Count,2023-01-01,P1Y,5.2,Percentage,%,,,,",
        "E06000003,Redcar and Cleveland,Unitary Authority,Claimant Count,2023-01-01,P1Y,3.9,Percentage,%,,,,",
    ]
    messy = [
        " E06000001 ,Hartlepool ,Unitary Authority,Claimant Count,2023-01-01,P1Y,4.1,Percentage,%,,,,",
        "e06000002" + clean[1][9:],
        clean[2],
    ]
    (tmp_path / "clean.csv").write_text("\n".join([ELS_HEADER, *clean]) + "\n", encoding="utf-8")
    (tmp_path / "messy.csv").write_text("\n".join([ELS_HEADER, *messy]) + "\n", encoding="utf-8")
    a, b = ps.read(tmp_path / "clean.csv"), ps.read(tmp_path / "messy.csv")
    assert b.values.equals(a.values) and b.areas.equals(a.areas)
    assert (
        "2 area codes had spaces around them or were in lower case (e.g. ' E06000001 '); read as ONS writes them ('E06000001')."
        in b.report.notes
    )
    assert not any("area codes had" in n for n in a.report.notes)


def test_els_rows_repeated_exactly_are_counted_once_and_conflicting_ones_refused(tmp_path):
    rows = [
        "E06000001,Hartlepool,Unitary Authority,Claimant Count,2023-01-01,P1Y,4.1,Percentage,%,,,,",
        "E06000002,Middlesbrough,Unitary Authority,Claimant Count,2023-01-01,P1Y,5.2,Percentage,%,,,,",
    ]
    (tmp_path / "once.csv").write_text("\n".join([ELS_HEADER, *rows]) + "\n", encoding="utf-8")
    (tmp_path / "twice.csv").write_text("\n".join([ELS_HEADER, *rows, *rows, rows[0]]) + "\n", encoding="utf-8")
    once, twice = ps.read(tmp_path / "once.csv"), ps.read(tmp_path / "twice.csv")
    assert twice.values.equals(once.values)
    assert twice.report.rows_read == 5 and twice.report.set_aside == {"exact duplicates of another row": 3}
    (tmp_path / "clash.csv").write_text(
        "\n".join([ELS_HEADER, *rows, rows[0].replace(",4.1,", ",4.2,")]) + "\n", encoding="utf-8"
    )
    with pytest.raises(ps.DataError, match="duplicated keys"):
        ps.read(tmp_path / "clash.csv")


def test_blank_lines_and_trailing_commas_are_counted_not_silent(tmp_path):
    path = tmp_path / "loose.csv"
    path.write_text("indicator_id,area_code,period,value\nhealth.x,A1,2023,1,,\n\nhealth.x,A2,2023,2\n\n", encoding="utf-8")
    result = ps.read(path)
    assert result.values.get_column("area_code").to_list() == ["A1", "A2"]
    assert result.report.notes == [
        "loose.csv: 1 row(s) end with empty cells beyond the header's columns (trailing commas); those empty cells were ignored.",
        "loose.csv: skipped 2 blank line(s) (line 3, 5).",
    ]


def test_two_names_for_one_area_code_keep_the_latest_periods_and_say_so(tmp_path):
    path = tmp_path / "renamed.csv"
    path.write_text(
        "indicator_id,area_code,area_name,period,value\n"
        "health.x,E06000001,Hartlepool BC,2023,3\n"
        "health.x,E06000001,Hartlepool UA,2021,1\n"
        "health.x,E06000001,Hartlepool,2024,4\n"
        "health.x,E06000002,Middlesbrough,2023,2\n"
        "health.x,E06000002,,2024,2\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    assert dict(result.areas.select("area_code", "area_name").rows()) == {"E06000001": "Hartlepool", "E06000002": "Middlesbrough"}
    assert (
        "1 area code(s) have more than one area_name; each keeps its latest period's name: "
        "E06000001: 'Hartlepool BC' / 'Hartlepool UA' / 'Hartlepool' -> 'Hartlepool' (2024)."
    ) in result.report.notes


def test_read_csv_refuses_two_columns_mapped_onto_one(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("Area,Year,Count,Other count\nA1,2023,3,4\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="'Count', 'Other count' all map onto 'numerator'"):
        ps.read_csv(
            path,
            mapping={"Area": "area_code", "Year": "period", "Count": "numerator", "Other count": "numerator"},
            constants={"indicator_id": "health.x"},
        )


def test_read_csv_notes_columns_it_replaces(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("indicator_id,area_code,period,value,Rate\nold.id,A1,2023,1,2\n", encoding="utf-8")
    result = ps.read_csv(path, mapping={"Rate": "value"}, constants={"indicator_id": "health.x"})
    assert result.values.row(0, named=True)["value"] == 2.0
    assert "The file's own 'value' column was left out: the mapping puts 'Rate' there." in result.report.notes
    assert "The file's 'indicator_id' column was replaced by the constant 'health.x'." in result.report.notes


@pytest.mark.parametrize("start", ["-0001-01-01", "0001-01-01", "2500-04-01"])
def test_els_period_start_outside_1800_to_2200_is_an_error(tmp_path, start):
    # -0001-01-01 used to be accepted, then fail later with "year -1 is out of range".
    path = tmp_path / "years.csv"
    path.write_text(f"area_code,indicator,period_start,period_length,value\nE06000001,Thing,{start},P1Y,1\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="period_start' is not an ISO date \\(YYYY-MM-DD\\) from 1800 to 2200") as err:
        ps.read(path)
    assert f"E06000001 | Thing | {start}" in str(err.value)


def test_csv_header_reads_like_the_file(tmp_path):
    from publicservices.csv_files import csv_header

    path = tmp_path / "mac.csv"
    path.write_bytes("Area Code,Área,value\rE06000001,1,2\r".encode("cp1252"))
    assert csv_header(path) == ["Area Code", "Área", "value"]
