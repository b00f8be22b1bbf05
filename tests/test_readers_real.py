"""Every real file in ../shared/data loads through a registered reader, with an honest load report.

The expected counts come from the files' README (/work/shared/data/README.md): suppressed
and unavailable cells are kept as missing values with their reason and counted; rows that
are not areas are set aside and counted; nothing disappears silently.
"""

from __future__ import annotations

import polars as pl
import pytest

import publicservices as ps

TOPOJSON = "geo_uk_la_topojson_2014_2025.json"
UPPER_TIER = ("E06", "E08", "E09", "E10")

# file -> (reader, missing-value counts by reason, rows set aside)
CASES = {
    "health_preventable_cvd_mortality.csv": ("ons-els", {}, 0),
    "health_fingertips_northwest_sample.csv": (
        "fingertips",
        {"empty in the source file": 1594, "value empty in the source (counts given)": 54},
        1781,
    ),
    "schools_gcse_english_maths.csv": ("ons-els", {"not available (status x)": 18}, 0),
    "schools_ks2_expected_standard.csv": ("ons-els", {"not available (status x)": 10}, 0),
    "schools_persistent_absence.csv": (
        "ons-els",
        {"not available (status x)": 163, "confidential or suppressed (status c)": 13, "not applicable (status z)": 11},
        0,
    ),
    "policing_homicide_rate_pfa.csv": ("ons-els", {"low reliability (status u)": 9}, 0),
    "policing_officer_fte_by_force.csv": ("police-workforce", {}, 27),
    "welfare_claimant_count.csv": ("ons-els", {}, 0),
    "welfare_children_relative_poverty.csv": ("ons-els", {}, 0),
    "context_imd2019_lad_summary.csv": ("imd-lad-summary", {}, 0),
    "spend_la_revenue_outturn_by_service.csv": ("mhclg-revenue-outturn", {}, 0),
    "intl_pisa_2018_2022_oecd.csv": ("international", {}, 0),
    TOPOJSON: ("topojson-areas", {}, 0),
}


def test_every_data_file_has_a_case(shared_data):
    folder = shared_data("README.md").parent
    # els_metadata/ is a folder of ELS sidecars (tests/test_els_catalogue.py), not a data file
    files = {p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md"}
    assert files == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_file_loads_with_an_honest_report(shared_data, name):
    reader, missing, set_aside = CASES[name]
    options = {"area_names": shared_data(TOPOJSON)} if reader == "fingertips" else {}
    result = ps.read(shared_data(name), **options)
    report = result.report
    assert report.reader == reader
    assert dict(report.missing) == missing
    assert report.rows_set_aside == set_aside
    assert report.rows_read == report.rows_kept + report.rows_set_aside
    kept = result.values.height + (result.spend.height if result.spend is not None else 0)
    assert report.rows_kept == kept
    # The summary names how many values are missing and why (or says none are).
    summary = report.summary()
    if missing:
        assert f"{sum(missing.values()):,} values are missing" in summary
        for reason in missing:
            assert reason in summary
    else:
        assert "No values are missing." in summary
    dataset = result.to_dataset()
    assert dataset.areas.height > 0
    if result.values.height:
        # Every missing value carries its reason.
        gaps = dataset.values.filter(pl.col("value").is_null())
        assert gaps.get_column("missing_reason").null_count() == 0


def test_els_files_map_to_plugin_indicators(shared_data):
    expected = {
        "health_preventable_cvd_mortality.csv": {"health.cvd_mortality_preventable"},
        "schools_gcse_english_maths.csv": {"schools.gcse_english_maths"},
        "schools_ks2_expected_standard.csv": {"schools.ks2_expected_standard"},
        "schools_persistent_absence.csv": {
            "schools.persistent_absence",
            "schools.persistent_absence_fsm",
            "schools.persistent_absence_looked_after",
        },
        "policing_homicide_rate_pfa.csv": {"policing.homicide_rate"},
        "welfare_claimant_count.csv": {"welfare.claimant_rate"},
        "welfare_children_relative_poverty.csv": {"welfare.children_low_income", "welfare.children_low_income_ahc"},
    }
    for name, ids in expected.items():
        assert set(ps.read(shared_data(name)).values.get_column("indicator_id")) == ids, name


def test_els_period_labels_on_real_files(shared_data):
    cvd = ps.read(shared_data("health_preventable_cvd_mortality.csv")).values
    assert {"2001-03", "2022-24"} <= set(cvd.get_column("period"))
    homicide = ps.read(shared_data("policing_homicide_rate_pfa.csv")).values
    assert "2014/15-2016/17" in set(homicide.get_column("period"))
    absence = ps.read(shared_data("schools_persistent_absence.csv")).values
    looked_after = absence.filter(pl.col("indicator_id") == "schools.persistent_absence_looked_after")
    assert looked_after.get_column("period_start").dt.month().unique().to_list() == [4]
    claimants = ps.read(shared_data("welfare_claimant_count.csv")).values
    assert {"2001", "2025"} <= set(claimants.get_column("period"))


def test_upper_tier_selection_counts_what_it_sets_aside(shared_data):
    result = ps.read(shared_data("schools_persistent_absence.csv"), area_prefixes=list(UPPER_TIER))
    assert set(result.values.get_column("area_code").str.slice(0, 3)) == set(UPPER_TIER)
    assert result.report.rows_set_aside > 0
    assert result.report.rows_read == 5032 == result.report.rows_kept + result.report.rows_set_aside


def test_fingertips_names_come_from_the_topojson(shared_data):
    result = ps.read(shared_data("health_fingertips_northwest_sample.csv"), area_names=shared_data(TOPOJSON))
    names = dict(result.areas.select("area_code", "area_name").rows())
    assert names["E06000006"] == "Halton" and names["E08000003"] == "Manchester"
    # Sub-ICB and ICB codes are not in the local-authority boundaries: named in the report.
    assert any("E38 x17" in note for note in result.report.notes)
    population = dict(result.areas.select("area_code", "population").rows())
    assert population["E08000003"] > 500_000
    diabetes = result.values.filter(pl.col("indicator_id") == "health.diabetes_prevalence")
    assert diabetes.height > 0 and diabetes.get_column("period").str.contains(r"^\d{4}/\d{2}$").all()


def test_spend_joins_names_and_sectors(shared_data):
    result = ps.read(shared_data("spend_la_revenue_outturn_by_service.csv"))
    spend = result.spend
    assert {"schools", "policing", "health"} <= set(spend.get_column("service"))
    assert set(spend.get_column("period")) == {"2010/11", "2011/12", "2012/13", "2013/14", "2014/15", "2017/18"}
    # Pounds, not thousands: an upper-tier education budget is hundreds of millions.
    education = spend.filter(pl.col("service") == "schools", pl.col("area_code") == "E10000003")
    assert education.get_column("spend").max() > 1e8


def test_topojson_names_every_upper_tier_code_in_the_els_files(shared_data):
    names = ps.read(shared_data(TOPOJSON), format="topojson-areas").areas
    claimants = ps.read(shared_data("welfare_claimant_count.csv")).values
    codes = claimants.filter(pl.col("period") == "2024", pl.col("area_code").str.slice(0, 3).is_in(list(UPPER_TIER)))
    assert set(codes.get_column("area_code")) <= set(names.get_column("area_code"))
