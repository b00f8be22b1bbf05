"""The policing plugin: contract, workforce reader, homicide mapping and demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

import publicservices as ps
from publicservices.plugin_api import DemoNation, check_plugin

from publicservices_policing import INDICATORS, plugin

# The demo nation with this sector's declared spend (whatever else is installed).
SPEND = {plugin.sector.id: plugin.sector.demo}

FIXTURES = Path(__file__).parent / "fixtures"


def test_contract():
    result = check_plugin(
        "publicservices-policing",
        reader_fixtures={"police-workforce": FIXTURES / "police_workforce.csv", "policing-els": FIXTURES / "els_homicide.csv"},
    )
    assert result.ok and len(result.indicators) >= 6


def test_indicator_metadata():
    by_id = {i.id: i for i in INDICATORS}
    assert by_id["policing.calls_999_answered"].floor == 90.0
    assert by_id["policing.homicide_rate"].multiplier == 1_000_000.0
    assert by_id["policing.recorded_crime"].multiplier == 1_000.0


def test_workforce_reader_codes_regions_and_sets_aside_national_bodies():
    result = ps.read(FIXTURES / "police_workforce.csv")
    assert result.report.reader == "police-workforce"
    report = result.report
    assert report.rows_read == 9 and report.rows_kept == 8 and report.rows_set_aside == 1
    assert report.missing == {"empty in the source file": 1}
    codes = dict(result.values.select("area_code", "value").drop_nulls().unique("area_code").rows())
    assert codes["E12000001"] == 6092.46  # North East region
    assert codes["E23000014"] == 7005.5  # West Midlands force, not the region
    assert codes["E12000005"] == 10102.3  # West Midlands region
    assert "W92000004" in codes and "K04000001" in codes
    starts = set(result.values.get_column("period_start"))
    assert starts == {dt.date(2014, 9, 30), dt.date(2015, 3, 31)}


def test_homicide_els_maps_and_keeps_low_reliability_cells():
    result = ps.read(FIXTURES / "els_homicide.csv")
    assert set(result.values.get_column("indicator_id")) == {"policing.homicide_rate"}
    assert result.report.missing == {"low reliability (status u)": 1}
    assert set(result.values.get_column("period")) == {"2021/22-2023/24"}


def test_demo_homicides_are_small_counts():
    values = plugin.generate(DemoNation(seed=0, spend=SPEND)).values.filter(pl.col("indicator_id") == "policing.homicide_rate")
    assert values.filter(pl.col("numerator") == 0).height > 0  # small areas see years without a homicide
    assert values.get_column("numerator").median() < 10


def test_the_els_label_spelling_maps_too(tmp_path):
    # The ELS metadata labels the file "Homicide offences"; the CSV says "Homicide Offences". Case does not matter.
    path = tmp_path / "homicide.csv"
    path.write_text(
        "area_code,indicator,period_start,period_length,value\nE23000001,Homicide offences,2022-04-01,P3Y,12.1\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    assert set(result.values.get_column("indicator_id")) == {"policing.homicide_rate"}
    assert result.indicators["policing.homicide_rate"].polarity == "lower_is_better"
