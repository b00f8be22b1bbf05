"""ps.area_profile: one area's comparisons, trends, gaps, similar areas and spend, checked against the pieces."""

from __future__ import annotations

import polars as pl
import pytest

import publicservices as ps
from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.results.profile import _gaps


@pytest.fixture(scope="module")
def demo():
    return ps.demo()


@pytest.fixture(scope="module")
def profile(demo):
    return ps.area_profile(demo, "Eskelham")


def test_strengths_and_concerns_are_the_areas_comparisons(demo, profile):
    assert profile.area == "X06000001"
    compared = ps.compare(demo).frame.filter(pl.col("area_code") == "X06000001")
    better = compared.filter(pl.col("comparison_95").cast(pl.String) == "better").get_column("indicator_id").to_list()
    worse = compared.filter(pl.col("comparison_95").cast(pl.String) == "worse").get_column("indicator_id").to_list()
    text = profile.summary()
    said = profile.strengths_and_concerns()
    strengths = next(s for s in said if " does better on " in s or " does not do better" in s)
    concerns = next(s for s in said if s.startswith("It does worse on") or s.startswith("It does not do worse"))
    assert all(demo.indicators[i].title in strengths for i in better)
    assert all(demo.indicators[i].title in concerns for i in worse)
    assert not any(demo.indicators[i].title in strengths for i in worse)
    assert all(s in profile.sentences() for s in said)  # the profile's account, as the site's area pages give it
    assert profile.frame.height == len(demo.indicators) and "Eskelham (X06000001)" in text


def test_changes_name_what_is_improving_and_what_is_getting_worse(demo, profile):
    trends = profile.frame.select("indicator_id", pl.col("recent_trend").cast(pl.String))
    titles = {
        w: [demo.indicators[i].title for i, t in trends.iter_rows() if t and f"getting {w}" in t] for w in ("better", "worse")
    }
    said = profile.changes()
    assert said and said[0].startswith("Over the latest five periods, it is")
    for word, names in titles.items():
        found = [s for s in said if f"getting {word} on " in s]
        assert bool(found) == bool(names)
        if names:
            assert f"on {len(names)} indicator" in found[0] and all(n in found[0] for n in names[:6])
    assert all(s in profile.sentences() for s in said)


def test_changes_never_call_a_directionless_rise_better_and_say_when_trends_cannot_be_judged():
    from publicservices.results.profile import AreaProfileResult

    inds = {
        "x.a": Indicator(id="x.a", title="Prevalence", sector="x", measure="proportion"),
        "x.b": Indicator(id="x.b", title="Waits", sector="x", measure="proportion", polarity="lower_is_better"),
    }
    rows = pl.DataFrame({"indicator_id": ["x.a", "x.b"], "recent_trend": ["Increasing", "Cannot be calculated"]})
    said = AreaProfileResult(rows, outcomes=None, area="A", neighbours=[], indicators=inds).changes()
    assert said == [
        "Over the latest five periods, it is rising on Prevalence, where neither higher nor lower is better.",
        "For 1 indicator the trend cannot be judged: there are too few periods or no counts.",
    ]
    both = pl.DataFrame({"indicator_id": ["x.a", "x.c"], "recent_trend": ["Increasing", "Decreasing"]})
    inds["x.c"] = Indicator(id="x.c", title="Births", sector="x", measure="rate")
    # each list joined on its own, then the two with a comma: never "rising on A and B and falling on C"
    assert AreaProfileResult(both, outcomes=None, area="A", neighbours=[], indicators=inds).changes() == [
        "Over the latest five periods, it is rising on Prevalence, and falling on Births, where neither higher nor lower is better."
    ]
    none = pl.DataFrame(
        {"indicator_id": ["x.b"], "recent_trend": [None]}, schema={"indicator_id": pl.String, "recent_trend": pl.String}
    )
    assert AreaProfileResult(none, outcomes=None, area="A", neighbours=[], indicators=inds).changes() == [
        "Its trends cannot be judged: there are too few periods or no counts."
    ]


def test_similar_areas_are_its_nearest_neighbours_and_peer_mean_their_mean(demo, profile):
    from publicservices.stats import nearest_neighbours

    found = nearest_neighbours(demo.areas, k=5).filter(pl.col("area_code") == "X06000001").sort("rank")
    assert profile.neighbours == found.get_column("neighbour_code").to_list()
    latest = ps.compare(demo).frame
    ind = "health.ae_4hr"
    mean = latest.filter(pl.col("indicator_id") == ind, pl.col("area_code").is_in(profile.neighbours))["value"].mean()
    assert profile.frame.filter(pl.col("indicator_id") == ind)["peer_mean"].item() == pytest.approx(mean)
    names = demo.areas.filter(pl.col("area_code").is_in(profile.neighbours))["area_name"].to_list()
    assert all(n in profile.summary() for n in names)


def test_spend_assessments_come_from_value_for_money(demo, profile):
    from publicservices.stats import value_for_money

    vfm = value_for_money(demo).filter(pl.col("area_code") == "X06000001", pl.col("period") == "2023/24")
    joined = profile.frame.join(vfm.select("indicator_id", pl.col("assessment").alias("direct")), on="indicator_id")
    assert joined.height and (joined["assessment"] == joined["direct"]).all()


def test_the_widest_gap_between_groups_is_found():
    values = pl.DataFrame(
        {
            "indicator_id": ["x"] * 4 + ["y"] * 2,
            "area_code": ["A"] * 6,
            "period": ["2024"] * 6,
            "sex": ["Female", "Male", None, None, "Female", "Male"],
            "value": [60.0, 40.0, 50.0, 55.0, 10.0, 11.0],
        }
    )
    gaps = _gaps(values, "A")
    first = gaps.row(0, named=True)
    assert (first["indicator_id"], first["breakdown"], first["low_group"], first["high_group"]) == ("x", "sex", "Male", "Female")
    assert first["relative_gap"] == pytest.approx(20 / 60)


def test_charts_and_errors(demo, profile):
    assert profile.chart().to_dict()["description"].startswith("Spine chart for Eskelham")
    assert "vconcat" in profile.chart("page").to_dict()
    with pytest.raises(DataError, match="area_profile: unknown area 'Eskelam'; did you mean 'Eskelham'"):
        ps.area_profile(demo, "Eskelam")
    ind = Indicator(id="demo.x", title="X", sector="demo", measure="score", polarity="higher_is_better")
    one = ps.Dataset(
        pl.DataFrame(
            {"indicator_id": ["demo.x"] * 3, "area_code": ["A", "B", "C"], "period": ["2024"] * 3, "value": [1.0, 2.0, 3.0]}
        ),
        indicators=[ind],
    )
    small = ps.area_profile(one, "B")
    assert small.neighbours == [] and small.frame.height == 1


def test_an_area_without_rows_is_said_to_have_no_figures_not_to_have_unjudged_ones():
    from publicservices.results.profile import changes, strengths_and_concerns

    assert strengths_and_concerns("Wycombe", [], {}) == [
        "There are no figures for Wycombe in the latest period of any indicator, so it cannot be compared."
    ]
    assert changes([], {}) == []
