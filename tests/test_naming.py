"""Errors that find the name: close matches, the valid values when few, area names for codes, the function named."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import DataError
from publicservices.naming import SHOW_ALL, area_codes, unknown


@pytest.fixture(scope="module")
def demo():
    return ps.demo()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: ps.compare(d, "health.ae_4h"), "compare: unknown indicator 'health.ae_4h'; did you mean 'health.ae_4hr'?"),
        (
            lambda d: ps.compare(d, "health.ae_4hr", period="2023-24"),
            "compare: unknown period '2023-24'; did you mean '2023/24'?",
        ),
        (lambda d: ps.rank_areas(d, "health.ae_4hr", period="2030/31"), "rank_areas: unknown period '2030/31'"),
        (
            lambda d: ps.funnel_check(d, "health.ae4hr"),
            "funnel_check: unknown indicator 'health.ae4hr'; did you mean 'health.ae_4hr'?",
        ),
        (lambda d: ps.spend_vs_outcome(d, "health.ae_4h"), "spend_vs_outcome: unknown indicator"),
        (lambda d: d.filter(sector="helth"), "Dataset.filter: unknown sector 'helth'; did you mean 'health'?"),
    ],
)
def test_errors_name_the_function_and_the_close_match(demo, call, message):
    with pytest.raises(DataError) as err:
        call(demo)
    assert str(err.value).startswith(message), str(err.value)


def test_short_lists_are_given_whole_and_long_ones_counted(demo):
    with pytest.raises(DataError, match=r"use one of the 10 periods: 2014/15, 2015/16, .*2023/24\."):
        ps.compare(demo, "health.ae_4hr", period="1999")
    with pytest.raises(DataError, match=r"use one of the 25 indicators \(health\.ae_4hr, .* \.\.\.\)"):
        ps.compare(demo, "nothing.like.it")


def test_areas_are_accepted_by_name_wherever_codes_are(demo):
    code, name = demo.areas.select("area_code", "area_name").row(0)
    by_name = ps.compare(demo, "health.ae_4hr", area=name.upper())
    assert by_name.frame.get_column("area_code").to_list() == [code]
    assert demo.filter(areas=[name]).areas.get_column("area_code").to_list() == [code]
    with pytest.raises(DataError, match=f"compare: unknown area 'Eskelham Vale'; did you mean '{name}'"):
        ps.compare(demo, "health.ae_4hr", area="Eskelham Vale")


def test_a_shared_name_is_an_error_listing_the_codes():
    areas = pl.DataFrame({"area_code": ["E1", "E2", "E3"], "area_name": ["Newport", "Newport", "Bath"]})
    assert area_codes("bath", areas, function="f") == ["E3"]
    with pytest.raises(DataError, match=r"f: the area name 'Newport' is shared by 2 areas \(E1, E2\)"):
        area_codes("Newport", areas, function="f")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh_.", min_size=3, max_size=12), min_size=1, max_size=30, unique=True), st.data())
def test_a_near_miss_of_a_valid_name_is_always_offered(choices, data):
    target = data.draw(st.sampled_from(choices))
    typo = target[:-1]  # one character short
    if typo in choices or len(typo) < 3:
        return
    text = str(unknown("thing", [typo], choices, function="f"))
    assert text.startswith(f"f: unknown thing {typo!r}")
    if len(choices) <= SHOW_ALL:  # every valid value is listed
        assert all(c in text for c in choices)
    assert "did you mean" in text
