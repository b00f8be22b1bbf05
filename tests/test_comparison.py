"""Which areas are compared with which: comparable sets, benchmark rows, successor codes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.comparison import comparison_values, with_successor_codes
from publicservices.errors import DataError

NATION, REGION = "E92000001", "E12000002"
COUNTY, DISTRICT, UNITARY, MET = "E10000017", "E07000117", "E06000008", "E08000003"
POLICE = "E23000005"


def _values(codes, indicator="health.x", value=1.0):
    return pl.DataFrame(
        {
            "indicator_id": [indicator] * len(codes),
            "area_code": codes,
            "period": ["2023"] * len(codes),
            "value": [value + i for i in range(len(codes))],
        }
    )


def _areas(codes):
    return pl.DataFrame({"area_code": sorted(set(codes))})


def test_benchmarks_are_never_units_and_sets_follow_the_tiers():
    codes = [NATION, REGION, COUNTY, DISTRICT, UNITARY, MET]
    frame, layout = comparison_values(_values(codes), _areas(codes))
    assert layout.sets["health.x"] == ["upper_tier", "lower_tier"]
    units = frame.filter(pl.col("area_role") == "unit")
    upper = set(units.filter(pl.col("comparable_set") == "upper_tier")["area_code"])
    lower = set(units.filter(pl.col("comparable_set") == "lower_tier")["area_code"])
    assert upper == {COUNTY, UNITARY, MET}  # the county, never its district
    assert lower == {DISTRICT, UNITARY, MET}  # the district, never its county
    bench = frame.filter(pl.col("area_role") == "benchmark")
    # each set finds its benchmarks
    assert sorted(bench["comparable_set"].to_list()) == ["lower_tier"] * 2 + ["upper_tier"] * 2
    assert set(bench["area_code"]) == {NATION, REGION}
    assert any("compared separately" in n for n in layout.notes)


def test_one_tier_only_gives_one_set():
    codes = [NATION, UNITARY, MET]
    _, layout = comparison_values(_values(codes), _areas(codes))
    assert layout.sets["health.x"] == ["upper_tier"]
    codes = [NATION, UNITARY, DISTRICT]
    _, layout = comparison_values(_values(codes), _areas(codes))
    assert layout.sets["health.x"] == ["lower_tier"]


def test_police_force_areas_are_their_own_set_and_unknown_codes_are_kept():
    codes = [NATION, POLICE, "E23000001", "ZZ-unknown"]
    frame, layout = comparison_values(_values(codes), _areas(codes))
    assert layout.sets["health.x"] == ["police_force_area", "other"]
    assert layout.other_codes == ["ZZ-unknown"]
    assert frame.filter(pl.col("area_code") == "ZZ-unknown")["comparable_set"].to_list() == ["other"]
    assert any("no known type" in n for n in layout.notes)


def test_choosing_a_set_and_naming_an_absent_one():
    codes = [NATION, COUNTY, DISTRICT, UNITARY]
    frame, layout = comparison_values(_values(codes), _areas(codes), comparable_set="lower_tier")
    assert set(frame["comparable_set"]) == {"lower_tier"}
    assert layout.dropped == {"upper_tier": 2}
    with pytest.raises(DataError, match="(?s)police_force_area.*choose from 'lower_tier', 'upper_tier'"):
        comparison_values(_values(codes), _areas(codes), comparable_set="police_force_area")


def test_successor_codes_apply_only_without_a_clash():
    old, new = "E08000016", "E08000038"  # Barnsley, one-to-one in 2025
    recoded, used = with_successor_codes(_values([old, MET]))
    assert used == {old: new} and new in recoded["area_code"].to_list()
    clash, used = with_successor_codes(_values([old, new]))
    assert used == {} and clash["area_code"].to_list() == [old, new]
    # a one-to-many change (Northamptonshire) is never recoded
    assert with_successor_codes(_values(["E10000021"]))[1] == {}


def _successor_codes_naive(rows):
    """The rule row by row: an old code is recoded unless, for some indicator and period, two
    rows would then share its successor's code."""
    from collections import Counter

    from publicservices.geography import successor_map

    mapping = {old: new for old, new in successor_map().items() if old in {code for _, code, _ in rows}}
    after = Counter((ind, mapping.get(code, code), period) for ind, code, period in rows)
    kept = {code for ind, code, period in rows if code in mapping and after[(ind, mapping[code], period)] > 1}
    return {old: new for old, new in mapping.items() if old not in kept}


_BARNSLEY, _BARNSLEY_NEW = "E08000016", "E08000038"
_GATESHEAD, _GATESHEAD_NEW = "E08000020", "E08000037"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["h.a", "h.b"]),
            st.sampled_from([_BARNSLEY, _BARNSLEY_NEW, _GATESHEAD, _GATESHEAD_NEW, MET, COUNTY]),
            st.sampled_from(["2022", "2023"]),
        ),
        max_size=14,
        unique=True,
    )
)
def test_successor_codes_agree_with_the_rule_applied_row_by_row(rows):
    frame = pl.DataFrame(rows, schema=["indicator_id", "area_code", "period"], orient="row")
    recoded, used = with_successor_codes(frame)
    assert used == _successor_codes_naive(rows)
    assert recoded["area_code"].to_list() == [used.get(code, code) for _, code, _ in rows]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([NATION, REGION, COUNTY, DISTRICT, UNITARY, MET, POLICE, "X1"]), min_size=1, max_size=8, unique=True)
)
def test_no_unit_row_is_lost_or_put_in_a_set_it_does_not_belong_to(codes):
    frame, layout = comparison_values(_values(codes), _areas(codes))
    units_in = {c for c in codes if c not in (NATION, REGION)}
    units_out = set(frame.filter(pl.col("area_role") == "unit")["area_code"])
    assert units_out == units_in
    # never the same area twice in one set
    assert frame.group_by("comparable_set", "area_code").len()["len"].max() in (None, 1)
    # a county and a district never share a set
    both = frame.filter(pl.col("area_code").is_in([COUNTY, DISTRICT])).group_by("comparable_set").len()
    assert both.height == 0 or both["len"].max() == 1


def test_dataset_analysis_keeps_sets_apart(shared_data):
    data = ps.read(shared_data("health_preventable_cvd_mortality.csv")).to_dataset()
    lottery = ps.fairness(data, repetitions=200)
    latest = lottery.filter(pl.col("period") == "2022-24")
    by_set = dict(latest.select("comparable_set", "n_areas").iter_rows())
    # 61 unitaries + 36 metropolitan districts + 31 London boroughs + 21 counties + 2 merged areas
    assert by_set == {"upper_tier": 151, "lower_tier": 294}
    assert latest["n_parent_areas"].to_list() == [0, 0]  # England and the regions are not in the lottery
    out = ps.outcomes(data).filter(pl.col("period") == "2022-24")
    national = out.filter(pl.col("area_role") == "unit")["benchmark_code"].unique().to_list()
    assert national == ["E92000001"]
