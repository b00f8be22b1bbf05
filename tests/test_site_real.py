"""A site from every real file in ../shared/data: the audit passes and every page says something true.

Each file with outcome indicators is published (docs tree only: the audit runs on it, and
the MkDocs build is covered elsewhere); the results download is then checked from outside,
as a reader would: one comparable set per comparison, no national or regional row ranked,
no better/worse for an indicator without a direction, every compared area in the table of
its indicator page. Files that hold only context, spend or boundaries stop with a named
error saying why.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from publicservices.errors import DataError
from publicservices.geography import COMPARABLE_SETS, LEVELS, levels_of
from publicservices.site import publish

TOPOJSON = "geo_uk_la_topojson_2014_2025.json"
# file -> the comparable sets its site compares within
OUTCOME_FILES = {
    "health_preventable_cvd_mortality.csv": {"upper_tier", "lower_tier"},
    "health_fingertips_northwest_sample.csv": {"upper_tier", "lower_tier", "icb", "sub_icb"},
    "schools_gcse_english_maths.csv": {"upper_tier", "lower_tier", "combined_authority"},
    "schools_ks2_expected_standard.csv": {"upper_tier", "lower_tier", "combined_authority"},
    "schools_persistent_absence.csv": {"upper_tier"},
    "policing_homicide_rate_pfa.csv": {"police_force_area"},
    "policing_officer_fte_by_force.csv": {"police_force_area"},
    "welfare_claimant_count.csv": {"upper_tier", "lower_tier", "combined_authority"},
    "welfare_children_relative_poverty.csv": {"upper_tier", "lower_tier", "combined_authority"},
    "intl_pisa_2018_2022_oecd.csv": {"nation"},
}
NOT_SITES = {
    "context_imd2019_lad_summary.csv": "only context indicators",
    "spend_la_revenue_outturn_by_service.csv": "no indicator values",
    TOPOJSON: "no indicator values",
}


def test_every_shared_file_is_covered(shared_data):
    folder = shared_data("README.md").parent
    files = {p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md"}
    assert files == set(OUTCOME_FILES) | set(NOT_SITES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OUTCOME_FILES))
def test_real_file_site_passes_its_audit(shared_data, tmp_path, name):
    boundaries = shared_data(TOPOJSON) if OUTCOME_FILES[name] & {"upper_tier", "lower_tier"} else None
    result = publish(
        shared_data(name), tmp_path / "site", generate_only=True, boundaries=boundaries, layer="utla" if boundaries else None
    )
    docs = tmp_path / "site" / "docs"
    results = pl.read_csv(docs / "data" / "all" / "results.csv", infer_schema_length=0)
    definitions = json.loads((docs / "data" / "all" / "indicators.json").read_text(encoding="utf-8"))

    assert set(results["comparable_set"].unique()) == OUTCOME_FILES[name]
    levels = results.with_columns(levels_of(results["area_code"]).alias("level"))
    # a level the code alone cannot tell (international countries) is set by the reader
    levels = levels.with_columns(
        pl.when(pl.col("comparable_set") == "nation").then(pl.lit("nation")).otherwise("level").alias("level")
    )
    for set_id, frame in levels.group_by("comparable_set"):
        allowed = set(COMPARABLE_SETS[set_id[0]].levels)
        assert set(frame["level"]) <= allowed, (name, set_id, set(frame["level"]) - allowed)
    assert not any(LEVELS[lv].role == "benchmark" for lv in levels["level"].unique())
    # one row per indicator page, area and period: breakdowns and sets never mixed
    pages = {cid for cid in definitions}
    assert results.group_by("indicator_id", "comparable_set", "area_code", "period").len()["len"].max() == 1
    # no judgement without a direction
    for cid, definition in definitions.items():
        if definition["polarity"] == "no_judgement":
            real = cid.split("__")[0]
            said = results.filter(pl.col("indicator_id") == real)["comparison_95"].unique().to_list()
            assert not {"better", "worse"} & set(said), (cid, said)
            page = (docs / "indicators" / f"{cid}.md").read_text(encoding="utf-8").lower()
            assert "rank 1 is best" not in page
    # every indicator page lists every area it compares in the latest period
    for cid in pages:
        real, _, set_id = cid.partition("__")
        page = (docs / "indicators" / f"{cid}.md").read_text(encoding="utf-8")
        rows = results.filter(pl.col("indicator_id") == real)
        if set_id:
            rows = rows.filter(pl.col("comparable_set") == set_id)
        else:
            first = [s for s in COMPARABLE_SETS if s in set(rows["comparable_set"])][0]
            rows = rows.filter(pl.col("comparable_set") == first)
        shown = rows.filter(pl.col("value").is_not_null())
        latest = shown.sort("period_start")["period"].to_list()[-1]
        missing = [c for c in shown.filter(pl.col("period") == latest)["area_code"].to_list() if c not in page]
        assert not missing, (cid, missing[:5])
    assert any("compared" in note for note in result.notes)


@pytest.mark.parametrize("name", sorted(NOT_SITES))
def test_files_without_outcomes_say_why(shared_data, tmp_path, name):
    with pytest.raises(DataError, match=NOT_SITES[name]):
        publish(shared_data(name), tmp_path / "site", generate_only=True)
    assert not (tmp_path / "site").exists()
