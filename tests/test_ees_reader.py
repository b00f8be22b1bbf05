"""The DfE Explore education statistics reader, on a fixture in the EES layout (tests/fixtures/readers/ees_ks4.csv)."""

from __future__ import annotations

import datetime as dt
import html
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import publicservices as ps
from publicservices.default_plugins.ees_layout import _SPANS, _YEARS, ees_period
from publicservices.errors import ReaderError
from publicservices.published_numbers import SYMBOLS

KS4 = Path(__file__).parent / "fixtures" / "readers" / "ees_ks4.csv"


@pytest.mark.parametrize(
    ("time_period", "identifier", "label", "start"),
    [
        ("202223", "Academic year", "2022/23", dt.date(2022, 9, 1)),
        ("202223", "Financial year", "2022/23", dt.date(2022, 4, 1)),
        ("199900", "Academic year", "1999/00", dt.date(1999, 9, 1)),
        ("2023", "Calendar year", "2023", dt.date(2023, 1, 1)),
        ("202223", "Spring term", "2022/23 spring term", dt.date(2023, 1, 1)),
        ("202223", "Autumn term", "2022/23 autumn term", dt.date(2022, 9, 1)),
        ("2024", "Q2", "2024 Q2", dt.date(2024, 4, 1)),
        ("202324", "Financial year Q4", "2023/24 Q4", dt.date(2024, 1, 1)),
        ("2024", "March", "March 2024", dt.date(2024, 3, 1)),
        # not understood: the reader sets such rows aside and counts them
        ("2024", "Week 12", None, None),
        ("2023", "Academic year", None, None),
        ("202325", "Academic year", None, None),
        (None, "Academic year", None, None),
    ],
)
def test_ees_time_periods(time_period, identifier, label, start):
    got = ees_period(pl.Series([time_period], dtype=pl.String), pl.Series([identifier])).row(0)
    assert got == (label, start)


@given(st.integers(1900, 2098), st.sampled_from(sorted(_SPANS)), st.sampled_from(sorted(_YEARS)))
def test_ees_periods_of_every_identifier_start_inside_their_years(first, span_kind, year_kind):
    # a span YYYY(YY+1) starts in its first or second year; a year YYYY in that year; labels name them
    spans = ees_period(pl.Series([f"{first}{(first + 1) % 100:02d}"]), pl.Series([span_kind.title()])).row(0)
    assert spans[0].startswith(f"{first}/{(first + 1) % 100:02d}")
    assert spans[1].year in (first, first + 1) and spans[1].day == 1
    assert (spans[1].year == first + 1) == _SPANS[span_kind][2]
    years = ees_period(pl.Series([str(first)]), pl.Series([year_kind.upper()])).row(0)
    assert str(first) in years[0] and years[1].year == first and years[1].month == _YEARS[year_kind][2]
    # the second year must follow the first
    assert ees_period(pl.Series([f"{first}{(first + 2) % 100:02d}"]), pl.Series([span_kind])).row(0) == (None, None)


def test_ees_reads_areas_periods_breakdowns_and_symbols():
    result = ps.read(KS4, use_registered=False)  # every column generic (the schools plugin's mapping: below)
    report, values = result.report, result.values
    assert report.reader == "dfe-ees"
    # the metadata file names the indicators and gives their titles and units
    inds = result.indicators
    assert set(inds) == {"context.t_pupils", "other.avg_att8", "other.pt_l2basics_94"}
    pct = inds["other.pt_l2basics_94"]
    assert (pct.title, pct.measure, pct.multiplier, pct.decimals) == (
        "Percentage of pupils achieving grade 4 or above in English and maths",
        "proportion",
        100.0,
        1,
    )
    assert all(i.polarity == "no_judgement" for i in inds.values())  # the file does not say which way is better
    # a count of pupils is the size of an area's cohort: context, not an outcome to compare
    assert (inds["context.t_pupils"].role, inds["other.avg_att8"].role) == ("context", "outcome")
    assert inds["other.avg_att8"].source == "DfE Explore education statistics (ees_ks4.csv)"
    assert "Explore local statistics" not in inds["other.avg_att8"].definition
    # each area by its level's code column; the region is the parent of its authorities
    areas = result.areas.select("area_code", "area_type", "parent_code").rows()
    assert areas == [
        ("E06000001", "Unitary authority", "E12000001"),
        ("E06000002", "Unitary authority", "E12000001"),
        ("E06000003", "Unitary authority", "E12000001"),
        ("E12000001", "Region", "E92000001"),
        ("E92000001", "Country", None),
    ]
    hartlepool = values.filter(pl.col("area_code") == "E06000001", pl.col("indicator_id") == "other.avg_att8").sort("period")
    assert hartlepool.select("period", "period_start", "value").rows() == [
        ("2021/22", dt.date(2021, 9, 1), 47.1),
        ("2022/23", dt.date(2022, 9, 1), 45.0),
    ]
    # symbols are missing values with what the symbol means; nothing is a "number" it is not
    middlesbrough = values.filter(pl.col("area_code").is_in(["E06000002", "E06000003"]), pl.col("period") == "2022/23")
    reasons = dict(middlesbrough.select(pl.concat_str("area_code", "indicator_id"), "missing_reason").iter_rows())
    assert reasons["E06000002other.avg_att8"] == SYMBOLS["c"]
    assert reasons["E06000003other.avg_att8"] == SYMBOLS["x"]
    assert reasons["E06000003other.pt_l2basics_94"] == SYMBOLS["low"]
    assert reasons["E06000003context.t_pupils"] is None
    assert report.missing == {SYMBOLS["c"]: 2, SYMBOLS["x"]: 1, SYMBOLS["low"]: 1}
    # breakdowns: the topic column names the kind; a filter without its pair is named by the column
    broken = values.filter(pl.col("category").is_not_null(), pl.col("indicator_id") == "other.avg_att8")
    assert sorted(broken.select("category_type", "category", "value").rows()) == [
        ("School type", "State-funded mainstream", 46.0),
        ("Sex", "Boys", 44.0),
        ("Sex", "Girls", 48.9),
    ]
    # every row accounted for, in values (three a row): kept, or set aside with its reason
    assert report.rows_read == 16 * 3 == report.rows_kept + report.rows_set_aside
    assert report.set_aside == {
        "Local authority rows with no new_la_code": 3,
        "time period not understood ('Week 12')": 3,
        "cross-tabulated rows (two or more of breakdown, school_type not a total)": 3,
    }
    result.to_dataset()


def test_ees_without_its_metadata_file_tells_indicators_by_their_cells_and_says_so(tmp_path):
    data = tmp_path / "ks4.csv"
    shutil.copy(KS4, data)
    result = ps.read(data, use_registered=False)
    assert set(result.indicators) == {"context.t_pupils", "other.avg_att8", "other.pt_l2basics_94"}
    assert result.indicators["other.avg_att8"].title == "avg_att8"
    assert any("No EES metadata file (ks4.meta.csv)" in n for n in result.report.notes)
    # breakdown_topic is a filter here too (its cells are text), paired with breakdown by name
    kinds = set(result.values.get_column("category_type").drop_nulls())
    assert kinds == {"Sex", "School type"}


def test_ees_filter_without_a_total_splits_indicators_and_unknown_text_is_named(tmp_path):
    text = KS4.read_text().splitlines()
    head, rows = text[0] + ",phase", [r + ",Secondary" for r in text[1:]]
    rows += [rows[2].replace("Secondary", "Middle").replace(",47.1,", ",n/a,")]
    data = tmp_path / "ks4_phase.csv"
    data.write_text("\n".join([head, *rows]) + "\n")
    meta = KS4.with_name("ees_ks4.meta.csv").read_text() + "phase,Filter,Phase,,,,,\n"
    (tmp_path / "ks4_phase.meta.csv").write_text(meta)
    result = ps.read(data)  # a split column is another population: never mapped
    ids = set(result.indicators)
    assert {"other.avg_att8_secondary", "other.avg_att8_middle"} <= ids
    assert result.indicators["other.avg_att8_middle"].title == "Average Attainment 8 score: Middle"
    assert any("phase" in n and "separate indicator" in n for n in result.report.notes)
    unread = result.values.filter(pl.col("indicator_id") == "other.avg_att8_middle").get_column("missing_reason")
    assert unread.to_list() == ["not a number in the source (n/a)"]


def test_ees_file_without_indicator_columns_is_refused_with_the_fix(tmp_path):
    data = tmp_path / "only_filters.csv"
    data.write_text(
        "time_period,time_identifier,geographic_level,country_code,country_name,sex\n2023,Calendar year,National,E92000001,England,Total\n"
    )
    with pytest.raises(ReaderError, match=r"no indicator columns.*\n.*meta\.csv"):
        ps.read(data)


def test_ees_file_publishes_with_the_reason_for_each_symbol(tmp_path):
    from publicservices.site import publish

    out = tmp_path / "site"
    publish(KS4, out, generate_only=True)
    assert (out / "docs" / "indicators" / "schools.attainment8.md").is_file()  # mapped by the schools plugin
    methodology = html.unescape((out / "docs" / "methodology.md").read_text())  # pages escape every data string
    assert "2 confidential (suppressed) in the source" in methodology
    page = html.unescape((out / "docs" / "indicators" / "schools.attainment8.md").read_text())
    assert "confidential (suppressed) in the source" in page


def test_ees_columns_a_plugin_maps_become_its_indicators_with_their_direction():
    from conftest import require

    require("schools-ees" in ps.readers(), "the schools plugin is not installed")
    result = ps.read(KS4)
    assert result.report.reader == "dfe-ees"  # the core reader applies every plugin's mapping
    inds = result.indicators
    assert sorted(inds) == ["context.t_pupils", "schools.attainment8", "schools.gcse_english_maths"]
    assert inds["schools.attainment8"].polarity == "higher_is_better"
    assert any("avg_att8 -> schools.attainment8" in n for n in result.report.notes)
    # the plugin's own reader gives the same values
    mine = ps.read(KS4, format="schools-ees")
    assert mine.report.reader == "schools-ees"
    assert mine.values.sort("indicator_id", "area_code", "period", "category").equals(
        result.values.sort("indicator_id", "area_code", "period", "category")
    )


def test_ees_file_of_one_group_is_never_read_as_the_whole_population(tmp_path):
    # a release table of disadvantaged pupils only: Attainment 8 of that group is not the
    # registered indicator (all pupils), so it stays generic, with the group in its title and id
    text = KS4.read_text().splitlines()
    rows = [r for r in text[1:] if ",Total,Total," in r]
    data = tmp_path / "ks4_disadvantaged.csv"
    data.write_text("\n".join([text[0] + ",disadvantage", *(r + ",Disadvantaged" for r in rows)]) + "\n")
    result = ps.read(data)
    assert "schools.attainment8" not in result.indicators
    ind = result.indicators["other.avg_att8_disadvantage_disadvantaged"]
    assert ind.title == "avg_att8 (disadvantage: Disadvantaged)" and ind.polarity == "no_judgement"
    assert any("Every row is of one group (disadvantage: Disadvantaged)" in n for n in result.report.notes)


def test_ees_column_withheld_throughout_is_an_indicator_and_an_empty_one_is_left_out(tmp_path):
    # without the metadata file: a column of symbols only is an indicator with every value
    # missing (not a filter whose one value 'c' would restrict the file), an empty one is noted
    text = KS4.read_text().splitlines()
    data = tmp_path / "odd.csv"
    data.write_text("\n".join([text[0] + ",withheld,blank", *(r + ",c," for r in text[1:])]) + "\n")
    result = ps.read(data, use_registered=False)
    assert "other.withheld" in result.indicators
    withheld = result.values.filter(pl.col("indicator_id") == "other.withheld").get_column("missing_reason")
    assert set(withheld) == {SYMBOLS["c"]}
    assert "Empty column(s) left out: blank." in result.report.notes
    assert not any("Every row is of one group" in n for n in result.report.notes)
    # with the metadata file, an empty filter restricts nothing either
    (tmp_path / "odd.meta.csv").write_text(
        KS4.with_name("ees_ks4.meta.csv").read_text() + "withheld,Indicator,Withheld,,,,,\nblank,Filter,Blank,,,,,\n"
    )
    result = ps.read(data, use_registered=False)
    assert not any("Every row is of one group" in n for n in result.report.notes)
    assert result.indicators["other.avg_att8"].title == "Average Attainment 8 score"
