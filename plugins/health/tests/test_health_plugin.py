"""The health plugin: contract, Fingertips reader, ELS mapping and demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import publicservices as ps
from publicservices.plugin_api import DemoNation

from publicservices_health import INDICATORS, plugin
from publicservices_health.fingertips import fingertips_indicator, read_fingertips, sniff_fingertips

# The demo nation with this sector's declared spend (whatever else is installed).
SPEND = {plugin.sector.id: plugin.sector.demo}

FIXTURES = Path(__file__).parent / "fixtures"
READER_FIXTURES = {"fingertips": FIXTURES / "fingertips_extract.csv", "health-els": FIXTURES / "els_cvd.csv"}


def test_contract(plugin_contract):
    result = plugin_contract("publicservices-health", reader_fixtures=READER_FIXTURES)
    assert result.ok
    assert len(result.indicators) >= 6
    assert result.readers == ["fingertips", "health-els"]
    assert result.sectors == ["health"]


def test_indicator_metadata_follows_national_definitions():
    by_id = {i.id: i for i in INDICATORS}
    ae = by_id["health.ae_4hr"]
    assert (ae.measure, ae.multiplier, ae.polarity, ae.floor) == ("proportion", 100.0, "higher_is_better", 95.0)
    cvd = by_id["health.cvd_mortality_preventable"]
    assert (cvd.measure, cvd.multiplier, cvd.polarity) == ("dsr", 100_000.0, "lower_is_better")
    assert by_id["health.healthy_life_expectancy"].measure == "mean"
    assert by_id["health.diabetes_prevalence"].polarity == "no_judgement"
    assert by_id["health.cancer_early_stage"].target == 75.0


def test_fingertips_extract_sets_aside_duplicates_and_counts_every_row():
    result = read_fingertips(FIXTURES / "fingertips_extract.csv")
    report = result.report
    assert report.rows_read == 14
    assert report.set_aside == {
        "exact duplicates of another row": 1,
        "empty rows repeating the key of another row": 1,
        "rows sharing indicator, area, period and breakdown with different values (no column tells them apart)": 2,
    }
    assert report.rows_kept + report.rows_set_aside == report.rows_read
    assert report.missing == {"empty in the source file": 1}
    values = result.values
    # Financial year 2022 is 2022/23 from 1 April; calendar year 2022 is "2022".
    diabetes = values.filter(pl.col("indicator_id") == "health.diabetes_prevalence", pl.col("area_code") == "E06000006")
    assert diabetes.sort("period").select("period", "period_start").rows()[0] == ("2022/23", dt.date(2022, 4, 1))
    breakdowns = values.filter(pl.col("indicator_id") == "health.fingertips_93763").select("sex", "category_type").rows()
    assert ("Male", None) in breakdowns and ("Persons", "Most deprived quintile") in breakdowns


def test_fingertips_indicators_take_measure_multiplier_and_polarity_from_the_file():
    indicators = read_fingertips(FIXTURES / "fingertips_extract.csv").indicators
    alcohol = indicators["health.fingertips_93763"]
    assert (alcohol.measure, alcohol.multiplier, alcohol.polarity) == ("dsr", 100_000.0, "lower_is_better")
    conception = indicators["health.fingertips_20401"]
    assert (conception.measure, conception.multiplier, conception.unit) == ("rate", 1_000.0, "per 1,000")
    assert indicators["health.diabetes_prevalence"] is next(i for i in INDICATORS if i.id == "health.diabetes_prevalence")
    assert fingertips_indicator("1", None, None, None, None, None).title == "Fingertips indicator 1 (no name in the source)"


def test_fingertips_population_and_names_fill_the_areas_frame():
    result = read_fingertips(FIXTURES / "fingertips_extract.csv", area_names=FIXTURES / "area_names.json")
    areas = {r["area_code"]: r for r in result.areas.to_dicts()}
    assert areas["E06000006"]["population"] == 129587.0  # the latest year of indicator 92708
    assert areas["E06000006"]["area_type"] == "Unitary authority"
    assert any("no name" in note for note in result.report.notes)  # the small lookup lacks these codes


def test_fingertips_download_layout_keeps_the_value_note_as_the_reason():
    path = FIXTURES / "fingertips_download.csv"
    assert sniff_fingertips(ps.reading.read_header(path))
    result = ps.read(path)
    assert result.report.reader == "fingertips"
    assert result.report.missing == {"Value suppressed for disclosure control due to small count": 1}
    periods = dict(result.values.select("indicator_id", "period").unique().rows())
    assert periods == {"health.fingertips_92904": "2022/23", "health.fingertips_40401": "2020-22"}
    names = dict(result.areas.select("area_code", "area_name").rows())
    assert names["E06000009"] == "Blackpool"


def test_els_cvd_file_maps_to_the_plugin_indicator():
    result = ps.read(FIXTURES / "els_cvd.csv")
    assert set(result.values.get_column("indicator_id")) == {"health.cvd_mortality_preventable"}
    assert result.report.missing == {"not available (status x)": 1}
    assert result.values.get_column("period").unique().to_list() == ["2021-23"]


def test_demo_data_follow_the_model():
    nation = DemoNation(seed=3, spend=SPEND)
    data = plugin.generate(nation)
    values = data.values
    assert values.height == 6 * 150 * 10
    ae = values.filter(pl.col("indicator_id") == "health.ae_4hr")
    national = (
        ae.group_by("period").agg((pl.col("numerator").sum() / pl.col("denominator").sum() * 100).alias("pct")).sort("period")
    )
    # The 4-hour performance declines over the decade, as the model's negative trend says.
    assert national.get_column("pct")[0] > national.get_column("pct")[-1]
    hle = values.filter(pl.col("indicator_id") == "health.healthy_life_expectancy")
    assert hle.filter(pl.col("lower_ci") >= pl.col("upper_ci")).height == 0
    assert data.truth["tau2"]["health.ae_4hr"] == pytest.approx(0.25**2)


# -- the ONS Explore local statistics catalogue and context indicators ----------------------------

ELS_HEADER = "area_code,indicator,period_start,period_length,value\n"


def test_every_els_catalogue_indicator_is_mapped_and_judged():
    from publicservices_health.indicators import ELS_CATALOGUE, ELS_INDICATORS

    by_id = {i.id: i for i in INDICATORS}
    assert set(ELS_INDICATORS.values()) <= set(by_id)
    assert {i.id for i in ELS_CATALOGUE} <= set(ELS_INDICATORS.values())  # each is reachable from an ELS name
    assert all(i.polarity != "no_judgement" and i.role == "outcome" and "Direction" in i.definition for i in ELS_CATALOGUE)
    polarity = {i: by_id[i].polarity for i in by_id}
    assert polarity["health.healthy_life_expectancy_female"] == polarity["health.cancer_early_stage"] == "higher_is_better"
    assert polarity["health.adult_obesity"] == polarity["health.smoking_prevalence"] == "lower_is_better"
    assert polarity["health.child_obesity_year6"] == polarity["health.child_overweight_reception"] == "lower_is_better"
    assert polarity["health.child_healthy_weight_year6"] == "higher_is_better"
    wellbeing = {k.split(".")[1]: v for k, v in polarity.items() if k.startswith("health.wellbeing_")}
    assert wellbeing == {
        "wellbeing_life_satisfaction": "higher_is_better",
        "wellbeing_happiness": "higher_is_better",
        "wellbeing_worthwhile": "higher_is_better",
        "wellbeing_anxiety": "lower_is_better",
    }


def test_els_health_names_map_through_the_plugin_reader(tmp_path):
    path = tmp_path / "child-weight.csv"
    path.write_text(
        ELS_HEADER + "E06000001,Aged 10 to 11 years obese,2023-09-01,P1Y,24.1\n"
        "E06000001,Aged four to five years healthy weight,2023-09-01,P1Y,75.2\n"
        "E06000001,Anxiety,2022-04-01,P1Y,3.2\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    assert set(result.values.get_column("indicator_id")) == {
        "health.child_obesity_year6",
        "health.child_healthy_weight_reception",
        "health.wellbeing_anxiety",
    }
    assert not any("generic ids" in note for note in result.report.notes)


def test_demo_data_cover_only_the_modelled_indicators():
    from publicservices_health.indicators import MODELS

    ids = set(plugin.generate(DemoNation(seed=1, spend=SPEND)).values.get_column("indicator_id"))
    assert ids == set(MODELS) and len(INDICATORS) > len(MODELS)


def test_fingertips_population_deprivation_and_unnamed_indicators_are_context():
    population = fingertips_indicator("92708", "Resident population", "Count", None, "Calendar", None)
    assert (population.role, population.polarity, population.is_context) == ("context", "no_judgement", True)
    deprivation = fingertips_indicator(
        "93553", "Deprivation score (Index of Multiple Deprivation 2019)", "Score", "Low is good", "Calendar", None
    )
    assert (deprivation.role, deprivation.polarity) == ("context", "no_judgement")  # the file's "Low is good" is not used
    unnamed = fingertips_indicator("12345", None, "Proportion", "High is good", None, None)
    assert unnamed.title == "Fingertips indicator 12345 (no name in the source)" and unnamed.id == "health.fingertips_12345"
    assert (unnamed.role, unnamed.polarity) == ("context", "no_judgement")
    named = fingertips_indicator("93015", "Physically inactive adults", "Proportion", "Low is good", "Calendar", None)
    assert (named.role, named.polarity) == ("outcome", "lower_is_better")


def test_fingertips_polarity_corrections_are_said():
    obesity = fingertips_indicator(
        "92033", "Obesity prevalence including severe obesity in Year 6", "Proportion", "High is good", "Academic", None
    )
    assert obesity.polarity == "lower_is_better" and "the file says 'High is good'" in obesity.definition


def test_fingertips_context_rows_are_kept_and_reported():
    result = read_fingertips(FIXTURES / "fingertips_extract.csv")
    population = result.indicators["health.fingertips_92708"]
    assert population.is_context
    assert result.values.filter(pl.col("indicator_id") == "health.fingertips_92708").height > 0  # rows not dropped
    assert any(
        "are context, kept but not compared between areas: 92708 (Resident population)" in note for note in result.report.notes
    )


def test_fingertips_rows_without_an_indicator_id_are_set_aside_and_counted(tmp_path):
    # fuzz finding: an empty indicator id raised TypeError (sorting None with text) or made an
    # indicator 'health.fingertips_None'
    path = tmp_path / "ft.csv"
    path.write_text(
        "indicator_id,indicator,value_type,polarity,period_type,year,area_code,sex,age,category_type,category,"
        "numerator,denominator,value,lower_ci,upper_ci,trend\n"
        "241,Diabetes,Proportion,No judgement,,2018,E06000001,Persons,All ages,,,5,100,5.0,2.1,11.2,\n"
        ",Diabetes,Proportion,No judgement,,2018,E06000002,Persons,All ages,,,6,100,6.0,2.8,12.5,\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    assert result.report.rows_kept == 1 and result.report.set_aside == {"no indicator id": 1}
    assert list(result.indicators) == ["health.diabetes_prevalence"]
