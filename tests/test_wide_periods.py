"""The wide-periods reader: a table of one measure with a row per area and a column per period."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import publicservices as ps
from publicservices.default_plugins.wide_periods import period_of, sniff_wide_periods
from publicservices.errors import ReaderError

WIDE = Path(__file__).parent / "fixtures" / "readers" / "wide_periods.csv"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@pytest.mark.parametrize(
    ("label", "start"),
    [
        ("2023", dt.date(2023, 1, 1)),
        ("2022/23", dt.date(2022, 4, 1)),
        ("2022-23", dt.date(2022, 4, 1)),
        (" 2022 / 2023 ", dt.date(2022, 4, 1)),
        ("1999/00", dt.date(1999, 4, 1)),
        ("Mar 2024", dt.date(2024, 3, 1)),
        ("March-24", dt.date(2024, 3, 1)),
        ("2024 Q1", dt.date(2024, 1, 1)),
        ("Q3 2024", dt.date(2024, 7, 1)),
        ("Year ending Mar 2024", dt.date(2023, 4, 1)),
        ("YE Dec 2023", dt.date(2023, 1, 1)),
        # not periods: the second year must follow the first; words are not periods
        ("2022/24", None),
        ("Total", None),
        ("2023 (provisional)", None),
        ("Area code", None),
    ],
)
def test_column_names_that_label_periods(label, start):
    assert period_of(label) == start


@given(st.integers(1900, 2098), st.integers(1, 12))
def test_periods_start_where_their_labels_say(year, month):
    assert period_of(f"{MONTHS[month - 1]} {year}") == dt.date(year, month, 1)
    assert period_of(f"{MONTHS[month - 1]}-{year % 100:02d}") == dt.date(2000 + year % 100, month, 1)
    assert period_of(f"{year}/{(year + 1) % 100:02d}") == dt.date(year, 4, 1)
    # the twelve months ending then began the month after, a year before
    ending = period_of(f"year ending {MONTHS[month - 1]} {year}")
    assert ending == (dt.date(year - 1, month + 1, 1) if month < 12 else dt.date(year, 1, 1))


def test_a_table_with_a_column_per_period_is_one_indicator_with_every_cell_accounted_for():
    result = ps.read(WIDE)
    report, values = result.report, result.values
    assert report.reader == "wide-periods"
    # one indicator, named after the file, of unknown direction
    assert list(result.indicators) == ["other.wide_periods"]
    ind = result.indicators["other.wide_periods"]
    assert (ind.title, ind.polarity, ind.source) == ("Wide periods", "no_judgement", "wide_periods.csv")
    hartlepool = values.filter(pl.col("area_code") == "E06000001").sort("period_start")
    assert hartlepool.select("period", "value").rows() == [
        ("2019", 3105.0),
        ("2020", 4800.0),
        ("2021", 4100.0),
        ("2022", 3900.0),
        ("2023", 3700.0),
    ]
    reasons = dict(values.filter(pl.col("missing_reason").is_not_null()).select("area_code", "missing_reason").iter_rows())
    assert reasons == {"E06000002": "confidential (suppressed) in the source", "E06000003": "not a number in the source (n/a)"}
    # the note line below the table has no area code: set aside, counted in values (a row holds five)
    assert report.set_aside == {"rows without an area code (totals or notes)": 5}
    assert report.rows_read == 25 == report.rows_kept + report.rows_set_aside
    assert result.areas.filter(pl.col("area_code") == "E92000001").get_column("area_type").to_list() == ["Country"]
    assert any("compared as higher or lower, never better or worse" in n for n in report.notes)


def test_a_table_with_other_columns_is_left_to_other_readers(tmp_path):
    assert sniff_wide_periods(["Area code", "Area name", "2019", "2020"])
    assert not sniff_wide_periods(["Area code", "Sex", "2019", "2020"])  # a breakdown: not one measure
    assert not sniff_wide_periods(["Area code", "2019"])  # one period: nothing says this is a series
    assert not sniff_wide_periods(["Area code", "Org code", "2019", "2020"])  # which code names the area?
    path = tmp_path / "by_sex.csv"
    path.write_text("Area code,Sex,2019,2020\nE06000001,Male,1,2\n")
    with pytest.raises(ReaderError, match="no reader recognises"):
        ps.read(path)
    with pytest.raises(ReaderError, match=r"other columns: Sex.*\nFix: keep the area code"):
        ps.read(path, format="wide-periods")


def test_a_table_with_a_column_per_period_publishes_as_higher_or_lower(tmp_path):
    from publicservices.site import publish

    publish(WIDE, tmp_path / "site", generate_only=True)
    page = html.unescape((tmp_path / "site" / "docs" / "indicators" / "other.wide_periods.md").read_text())
    assert "compared as higher or lower, never better or worse" in page
    assert "rank 1 is best" not in page.lower()
