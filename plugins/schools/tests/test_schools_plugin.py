"""The schools plugin: contract, ELS mappings and demo data."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import publicservices as ps
from publicservices.plugin_api import DemoNation, check_plugin

from publicservices_schools import INDICATORS, plugin

# The demo nation with this sector's declared spend (whatever else is installed).
SPEND = {plugin.sector.id: plugin.sector.demo}

FIXTURES = Path(__file__).parent / "fixtures"


def test_contract():
    result = check_plugin(
        "publicservices-schools",
        reader_fixtures={"schools-els": FIXTURES / "els_schools.csv", "schools-ees": FIXTURES / "ees_ks2.csv"},
    )
    assert result.ok and len(result.indicators) >= 6 and result.sectors == ["schools"]


def test_indicator_metadata():
    by_id = {i.id: i for i in INDICATORS}
    assert by_id["schools.persistent_absence"].polarity == "lower_is_better"
    assert by_id["schools.attainment8"].measure == "mean"
    assert by_id["schools.disadvantage_gap"].measure == "score"
    assert all(i.source and i.definition for i in INDICATORS)


def test_els_names_map_onto_school_ids_and_suppressed_cells_are_kept():
    result = ps.read(FIXTURES / "els_schools.csv")
    ids = set(result.values.get_column("indicator_id"))
    assert ids == {
        "schools.gcse_english_maths",
        "schools.ks2_expected_standard",
        "schools.persistent_absence",
        "schools.persistent_absence_fsm",
        "schools.persistent_absence_looked_after",
    }
    assert result.report.rows_kept == result.report.rows_read == 8
    assert result.report.missing == {"not available (status x)": 1, "confidential or suppressed (status c)": 1}
    looked_after = result.values.filter(pl.col("indicator_id") == "schools.persistent_absence_looked_after").row(0, named=True)
    assert looked_after["value"] is None and looked_after["status"] == "c" and looked_after["period"] == "2023/24"


def test_disadvantage_gap_in_attendance_from_the_two_published_rates():
    values = ps.read(FIXTURES / "els_schools.csv").values
    wide = values.filter(pl.col("area_code") == "E06000001").pivot("indicator_id", index="period", values="value")
    gap = wide.select(pl.col("schools.persistent_absence_fsm") - pl.col("schools.persistent_absence")).drop_nulls().item()
    assert gap == 36.9 - 22.4


def test_demo_good_or_outstanding_is_noisier_in_small_areas():
    nation = DemoNation(seed=0, spend=SPEND)
    values = plugin.generate(nation).values.filter(pl.col("indicator_id") == "schools.good_or_outstanding")
    # Few schools per area: the binomial noise is large, so some areas reach 100%.
    assert values.get_column("denominator").median() < 200
    assert values.get_column("value").max() <= 100.0


def test_every_els_catalogue_indicator_is_mapped_and_judged():
    from publicservices_schools.indicators import ELS_CATALOGUE, ELS_INDICATORS

    by_id = {i.id: i for i in INDICATORS}
    assert set(ELS_INDICATORS.values()) <= set(by_id)
    assert {i.id for i in ELS_CATALOGUE} <= set(ELS_INDICATORS.values())
    assert all(i.polarity != "no_judgement" and i.role == "outcome" and "Direction" in i.definition for i in ELS_CATALOGUE)
    assert by_id["schools.qualifications_level3"].polarity == by_id["schools.eyfs_literacy"].polarity == "higher_is_better"
    assert by_id["schools.no_qualifications"].polarity == "lower_is_better"
    assert (
        by_id["schools.apprenticeship_starts"].measure == "rate"
        and by_id["schools.apprenticeship_starts"].multiplier == 100_000.0
    )


def test_els_skills_names_map_through_the_plugin_reader(tmp_path):
    path = tmp_path / "skills.csv"
    path.write_text(
        "area_code,indicator,period_start,period_length,value\n"
        "E06000001,Apprenticeship starts (England),2023-08-01,P1Y,612\n"
        "E06000001,Literacy,2023-09-01,P1Y,70.1\n"
        "E06000001,No qualifications,2023-01-01,P1Y,6.5\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    assert set(result.values.get_column("indicator_id")) == {
        "schools.apprenticeship_starts",
        "schools.eyfs_literacy",
        "schools.no_qualifications",
    }


def test_dfe_release_columns_are_read_as_school_indicators():
    # a DfE key stage 2 file in the Explore education statistics layout: its standard column is
    # the registered indicator (higher is better); the others stay generic, with no direction
    result = ps.read(FIXTURES / "ees_ks2.csv", format="schools-ees")
    ks2 = result.values.filter(pl.col("indicator_id") == "schools.ks2_expected_standard", pl.col("category").is_null())
    assert dict(ks2.select("area_code", "value").iter_rows())["E09000003"] == 70.0
    assert result.indicators["schools.ks2_expected_standard"].polarity == "higher_is_better"
    assert result.indicators["other.pt_rwm_met_higher_standard"].polarity == "no_judgement"
    bexley = result.values.filter(pl.col("area_code") == "E09000004", pl.col("indicator_id").str.contains("higher"))
    assert bexley.get_column("missing_reason").to_list() == ["confidential (suppressed) in the source"]
