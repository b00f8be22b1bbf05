"""Small-number suppression: primary, secondary, never a recoverable single hidden cell."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, SchemaError
from publicservices.stats.disclosure import suppress


def test_primary_range_and_zero_policy():
    f = pl.DataFrame({"numerator": [0.0, 1.0, 4.0, 4.5, 5.0, None]})
    out, report = suppress(f)
    assert out.get_column("suppressed").to_list() == [None, "primary", "primary", "primary", None, None]
    assert out.get_column("numerator").to_list() == [0.0, None, None, None, 5.0, None]
    out, _ = suppress(f, suppress_zero=True)
    assert out.get_column("suppressed").to_list()[0] == "primary"
    out, _ = suppress(f, threshold=10)
    assert out.get_column("suppressed").to_list()[4] == "primary"
    assert report.filter(pl.col("reason") == "secondary").get_column("rows").item() == 0


def test_secondary_picks_next_smallest_non_zero_and_masks_derived_columns():
    f = pl.DataFrame({
        "region": ["R"] * 5, "area_code": list("ABCDE"),
        "numerator": [3.0, 0.0, 9.0, 7.0, 50.0], "denominator": [100.0] * 5,
        "value": [3.0, 0.0, 9.0, 7.0, 50.0], "lower_95": [1.0] * 5, "upper_95": [8.0] * 5,
    })
    out, report = suppress(f, by="region")
    assert out.get_column("suppressed").to_list() == ["primary", None, None, "secondary", None]
    hidden = out.filter(pl.col("suppressed").is_not_null())
    assert hidden.select("numerator", "value", "lower_95", "upper_95").null_count().row(0) == (2, 2, 2, 2)
    # denominators and keys survive; no row dropped
    assert out.height == 5 and out.get_column("denominator").null_count() == 0
    assert out.get_column("area_code").to_list() == list("ABCDE")
    assert report.filter(pl.col("reason") == "secondary").get_column("rows").item() == 1


def test_two_hidden_cells_need_no_secondary_and_missing_counts_protect():
    f = pl.DataFrame({"g": ["a"] * 4, "numerator": [2.0, 3.0, 10.0, 20.0]})
    out, _ = suppress(f, by="g")
    assert out.get_column("suppressed").to_list() == ["primary", "primary", None, None]
    g = pl.DataFrame({"g": ["a"] * 3, "numerator": [2.0, None, 20.0]})
    out, _ = suppress(g, by="g")
    assert out.get_column("suppressed").to_list() == ["primary", None, None]


def test_lone_cell_group_is_reported_unprotected():
    f = pl.DataFrame({"g": ["a", "b", "b"], "numerator": [2.0, 30.0, 40.0]})
    out, report = suppress(f, by="g")
    row = report.filter(pl.col("reason") == "unprotected").row(0, named=True)
    assert row["rows"] == 1 and row["groups"] == 1 and "total" in row["rule"]


def test_two_way_table_margins_settle():
    # rows r1..r3 x columns c1..c3; both margins published
    cells = {("r1", "c1"): 2.0, ("r1", "c2"): 20.0, ("r1", "c3"): 30.0,
             ("r2", "c1"): 25.0, ("r2", "c2"): 26.0, ("r2", "c3"): 27.0,
             ("r3", "c1"): 40.0, ("r3", "c2"): 41.0, ("r3", "c3"): 42.0}
    f = pl.DataFrame({"r": [k[0] for k in cells], "c": [k[1] for k in cells], "numerator": list(cells.values())})
    out, _ = suppress(f, by=[["r"], ["c"]])
    hidden = out.with_columns(pl.col("suppressed").is_not_null().alias("h"))
    for margin in ("r", "c"):
        per = hidden.group_by(margin).agg(pl.col("h").sum())
        assert not (per.get_column("h") == 1).any()
    assert hidden.get_column("h").sum() == 4  # the classic rectangle


def test_errors():
    f = pl.DataFrame({"g": ["a"], "numerator": [-1.0]})
    with pytest.raises(DataError, match="negative"):
        suppress(f)
    with pytest.raises(SchemaError, match="positive number"):
        suppress(f, threshold=0)
    with pytest.raises(SchemaError, match="'count'"):
        suppress(f, total_cols="count")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.one_of(st.none(), st.integers(0, 12).map(float))), min_size=1, max_size=30),
    st.sampled_from([3, 5, 10]),
    st.booleans(),
)
def test_property_no_recoverable_single_cell(rows, threshold, zero):
    f = pl.DataFrame({"g": [r[0] for r in rows], "numerator": [r[1] for r in rows]}, schema={"g": pl.String, "numerator": pl.Float64})
    out, report = suppress(f, threshold, by="g", suppress_zero=zero)
    assert out.height == f.height
    hidden = out.with_columns(pl.col("numerator").is_null().alias("h"))
    per = hidden.group_by("g").agg(pl.col("h").sum().alias("k"), pl.len().alias("n"))
    # a group of two or more never has exactly one hidden cell
    assert per.filter((pl.col("n") >= 2) & (pl.col("k") == 1)).height == 0
    # every small count is hidden; visible counts are never small
    low = 0 if zero else 1
    visible = out.get_column("numerator").drop_nulls()
    assert not ((visible >= low) & (visible < threshold)).any()
    # the report matches the reason column
    counts = out.get_column("suppressed").value_counts()
    for reason in ("primary", "secondary"):
        n = counts.filter(pl.col("suppressed") == reason).get_column("count")
        assert report.filter(pl.col("reason") == reason).get_column("rows").item() == (n.item() if n.len() else 0)
