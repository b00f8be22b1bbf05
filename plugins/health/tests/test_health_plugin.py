"""The health plugin: contract, Fingertips reader, ELS mapping and demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import publicservices as ps
from publicservices.synthetic import DemoNation
from publicservices_health import INDICATORS, generate
from publicservices_health.fingertips import fingertips_indicator, read_fingertips, sniff_fingertips

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
    nation = DemoNation(seed=3)
    data = generate(nation)
    values = data.values
    assert values.height == 6 * 150 * 10
    ae = values.filter(pl.col("indicator_id") == "health.ae_4hr")
    national = ae.group_by("period").agg((pl.col("numerator").sum() / pl.col("denominator").sum() * 100).alias("pct")).sort("period")
    # The 4-hour performance declines over the decade, as the model's negative trend says.
    assert national.get_column("pct")[0] > national.get_column("pct")[-1]
    hle = values.filter(pl.col("indicator_id") == "health.healthy_life_expectancy")
    assert hle.filter(pl.col("lower_ci") >= pl.col("upper_ci")).height == 0
    assert data.truth["tau2"]["health.ae_4hr"] == pytest.approx(0.25**2)
