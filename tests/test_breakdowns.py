"""Comparable sets and breakdowns are keys everywhere; direction decides judgement.

A values frame may hold several groups of areas for one indicator and period: one per
comparable set (``comparable_set``) and breakdown (``sex``, ``age``, ``category_type``,
``category``). Every statistic compares areas within a group, every result keeps the group
columns, summaries count areas (not rows), and a chart shows one group. An indicator without
a direction is higher or lower, never better or worse, never graded, never ranked "best".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.keys import GROUP_KEYS
from publicservices.stats import build_funnel, build_report_cards, compare_with_neighbours, rank_intervals, shrink
from publicservices.stats.ranking.report_cards import NotGradedWarning

SCREEN = Indicator(
    id="health.screen",
    title="Screening uptake",
    sector="health",
    measure="proportion",
    multiplier=100,
    polarity="higher_is_better",
    unit="%",
)
ADMIT = Indicator(
    id="health.admit",
    title="Emergency admissions",
    sector="health",
    measure="proportion",
    multiplier=100,
    polarity="no_judgement",
    unit="%",
)
SEXES = ("Male", "Female", "Persons")
AREAS = [f"E0600000{i}" for i in range(10)]


def sexed(ind: Indicator = SCREEN, seed: int = 1) -> pl.DataFrame:
    """10 areas x Male / Female / Persons, one period: 30 rows, women screened more than men."""
    rng = np.random.default_rng(seed)
    rows = []
    for sex, shift in (("Male", -0.05), ("Female", 0.05), ("Persons", 0.0)):
        for i, area in enumerate(AREAS):
            n = float(rng.integers(800, 3000))
            x = float(rng.binomial(int(n), 0.55 + 0.02 * i + shift))
            rows.append((ind.id, area, "2023/24", dt.date(2023, 4, 1), sex, x, n, 100 * x / n))
    return pl.DataFrame(
        rows,
        schema=["indicator_id", "area_code", "period", "period_start", "sex", "numerator", "denominator", "value"],
        orient="row",
    )


def context(ind_id: str = "health.population") -> Indicator:
    """A context indicator, whether or not Indicator has grown its ``role`` field yet."""
    base = dict(id=ind_id, title="Population", sector="health", measure="mean", polarity="no_judgement")
    if "role" in {f.name for f in dataclasses.fields(Indicator)}:
        return Indicator(**base, role="context")

    class _Context(Indicator):  # a stand-in carrying role="context"
        __slots__ = ("role",)

    ind = _Context(**base)
    object.__setattr__(ind, "role", "context")
    return ind


# -- the key list ------------------------------------------------------------------------------


def test_group_keys_are_defined_once_and_used_by_the_outcome_families():
    from publicservices.stats import _common

    assert GROUP_KEYS == ("comparable_set", "sex", "age", "category_type", "category")
    frame = pl.DataFrame({"indicator_id": ["a.b"], "period": ["1"], "comparable_set": ["upper_tier"], "sex": ["Male"]})
    assert _common.breakdowns(frame) == ["comparable_set", "sex"]
    assert _common.family_keys(frame) == ["indicator_id", "period", "comparable_set", "sex"]


# -- rank_areas ----------------------------------------------------------------------------------


def test_rank_areas_ranks_within_each_sex_and_keeps_the_column():
    result = ps.rank_areas(sexed(), SCREEN, n_sims=300)
    f = result.frame
    assert f.height == 30 and "sex" in f.columns
    assert not f.select("area_code", "sex").is_duplicated().any()
    for sex in SEXES:
        one = f.filter(pl.col("sex") == sex)
        assert sorted(one["rank"].to_list()) == list(range(1, 11))
        assert one["n_ranked"].unique().to_list() == [10]
    # the interval columns joined on area *and* sex: each row keeps its own group's interval
    assert f["lower_95"].null_count() == 0
    summary = result.summary()
    assert "10 units (Persons) ranked" in summary and "30 units" not in summary


def test_rank_intervals_rank_within_each_comparable_set():
    # a unitary authority sits in both the upper- and the lower-tier set
    df = pl.DataFrame(
        {
            "area_code": ["U1", "C1", "C2", "U1", "D1", "D2", "D3"],
            "comparable_set": ["upper_tier"] * 3 + ["lower_tier"] * 4,
            "value": [50.0, 40.0, 60.0, 50.0, 10.0, 20.0, 30.0],
            "se": [0.01] * 7,
        }
    )
    r = rank_intervals(df, polarity="higher_is_better", n_sims=200)
    assert r["comparable_set"].to_list() == df["comparable_set"].to_list()
    assert r.filter(pl.col("comparable_set") == "upper_tier")["rank"].to_list() == [2, 3, 1]
    assert r.filter(pl.col("comparable_set") == "lower_tier")["rank"].to_list() == [1, 4, 3, 2]
    assert r.group_by("comparable_set").agg(pl.col("n_ranked").first()).sort("comparable_set")["n_ranked"].to_list() == [4, 3]
    s = shrink(df, measure="mean")
    assert s["comparable_set"].to_list() == df["comparable_set"].to_list()
    assert s.group_by("comparable_set").agg(pl.col("prior_mean").n_unique())["prior_mean"].to_list() == [1, 1]
    assert s["prior_mean"].n_unique() == 2  # one prior per set, not one pooled


# -- funnel_check ----------------------------------------------------------------------------------


def test_funnel_check_gives_one_funnel_per_sex():
    values = sexed()
    result = ps.funnel_check(values, SCREEN)
    points, disp = result.frame, result.dispersion
    assert points.height == 30 and "sex" in points.columns
    assert disp.height == 3 and sorted(disp["sex"].to_list()) == sorted(SEXES)
    pooled = values.group_by("sex").agg((pl.col("numerator").sum() / pl.col("denominator").sum() * 100).alias("rate"))
    for sex, rate in pooled.iter_rows():
        assert points.filter(pl.col("sex") == sex)["baseline"].unique().to_list() == [pytest.approx(rate)]
        assert disp.filter(pl.col("sex") == sex)["n_units"].item() == 10
    assert "sex" in result.limits.columns and result.limits["sex"].n_unique() == 3
    summary = result.summary()
    assert "Of 10 units (Persons)" in summary and "30 units" not in summary


def test_funnel_by_comparable_set_keeps_key_dtypes_with_nulls():
    df = pl.DataFrame(
        {
            "area_code": list("ABCDEF"),
            "numerator": [30.0, 40, 50, 10, 20, 30],
            "denominator": [100.0] * 6,
            "comparable_set": ["a", "a", "a", None, None, None],
        }
    )
    f = build_funnel(df, SCREEN)
    assert f.dispersion["comparable_set"].to_list() == ["a", None]
    assert f.limits.schema["comparable_set"] == pl.String
    assert f.points["baseline"].to_list() == pytest.approx([40.0] * 3 + [20.0] * 3)


# -- compare ------------------------------------------------------------------------------------


def test_compare_summary_counts_areas_per_group():
    result = ps.compare(sexed(), indicators=[SCREEN])
    assert result.frame.height == 30 and "sex" in result.frame.columns
    summary = result.summary()
    assert summary.count("of 10 areas with a value") == 3
    assert "30 areas" not in summary and "(each area's own benchmark)" not in summary
    assert "(Female)" in summary and "(Male)" in summary and "(Persons)" in summary
    assert "sex" in repr(result)  # the table shows which group each row is


# -- report cards -------------------------------------------------------------------------------


def test_report_cards_grade_within_each_group():
    inds = {SCREEN.id: SCREEN}
    values = sexed()
    rc = build_report_cards(values, indicators=inds, n_sims=50)
    assert rc.height == 30 and "sex" in rc.columns
    for sex in SEXES:
        alone = build_report_cards(values.filter(pl.col("sex") == sex).drop("sex"), indicators=inds, n_sims=50)
        mine = rc.filter(pl.col("sex") == sex).drop("sex")
        assert mine.sort("area_code").equals(alone.sort("area_code"))
    result = ps.grade_areas(values, indicators=[SCREEN], n_sims=50)
    assert result.summary().count("10 areas graded") == 3 and "30 areas" not in result.summary()


# -- spend against outcome ----------------------------------------------------------------------


def test_spend_vs_outcome_assesses_each_group_on_its_own():
    rng = np.random.default_rng(3)
    areas = pl.DataFrame(
        {
            "area_code": AREAS,
            "area_name": [f"Area {i}" for i in range(10)],
            "population": rng.uniform(1e5, 5e5, 10),
            "deprivation": rng.uniform(5, 40, 10),
        }
    )
    spend = pl.DataFrame(
        {"area_code": AREAS, "period": ["2023/24"] * 10, "service": ["health"] * 10, "spend": rng.uniform(1e7, 5e7, 10)}
    )
    result = ps.spend_vs_outcome(sexed(), SCREEN, indicators=[SCREEN], areas=areas, spend=spend)
    f = result.frame
    assert f.height == 30 and "sex" in f.columns
    assert not f.select("area_code", "sex").is_duplicated().any()
    assert "across 10 areas" in result.summary() and "30 areas" not in result.summary()


# -- comparators -------------------------------------------------------------------------------


def test_neighbours_compare_women_with_women():
    areas = pl.DataFrame({"area_code": list("ABCDE"), "deprivation": [1.0, 2, 3, 4, 5]})
    nn = ps.nearest_neighbours(areas, k=4)
    values = pl.DataFrame(
        {
            "area_code": list("ABCDE") * 2,
            "sex": ["Male"] * 5 + ["Female"] * 5,
            "value": [10.0, 11, 12, 13, 30, 50.0, 51, 52, 53, 54],
        }
    )
    out = compare_with_neighbours(values, nn, polarity="higher_is_better")
    assert out.height == 10
    e = out.filter(pl.col("area_code") == "E").sort("sex")
    assert e["expected"].to_list() == [51.5, 11.5]  # Female, Male: each from its own sex
    with pytest.raises(DataError, match="direction"):
        compare_with_neighbours(values, nn, polarity="higher is better")


# -- charts show one group ----------------------------------------------------------------------


def test_charts_show_the_whole_population_or_the_group_asked_for():
    result = ps.compare(sexed(), indicators=[SCREEN])
    league = ps.rank_areas(sexed(), SCREEN, n_sims=200)
    assert "(Persons)" in str(league.chart().to_dict()["title"])
    assert "(Female)" in str(league.chart(breakdown={"sex": "Female"}).to_dict()["title"])
    assert "(Male)" in str(league.chart(breakdown="Male").to_dict()["title"])
    funnel_chart = ps.funnel_check(sexed(), SCREEN).chart(breakdown={"sex": "Female"}).to_dict()
    assert "(Female)" in str(funnel_chart["title"])
    assert "10 units" in funnel_chart["description"] or "10 " in funnel_chart["description"]
    assert "(Persons)" in str(result.chart("funnel").to_dict()["title"])


def test_a_chart_never_pools_groups_without_a_whole_population():
    values = sexed().filter(pl.col("sex") != "Persons")
    with pytest.raises(DataError, match="breakdown="):
        ps.rank_areas(values, SCREEN, n_sims=100).chart()
    sets = (
        sexed()
        .filter(pl.col("sex") == "Persons")
        .with_columns(
            pl.when(pl.col("area_code") < "E06000005")
            .then(pl.lit("upper_tier"))
            .otherwise(pl.lit("lower_tier"))
            .alias("comparable_set")
        )
    )
    with pytest.raises(DataError, match="comparable_set"):
        ps.funnel_check(sets, SCREEN).chart()
    from publicservices.charts import funnel_plot, league_table

    with pytest.raises(DataError, match="several groups"):
        league_table(ps.rank_areas(values, SCREEN, n_sims=100).frame)
    with pytest.raises(DataError, match="several groups"):
        funnel_plot(ps.funnel_check(values, SCREEN).frame)


def test_spine_and_lottery_charts_keep_groups_apart():
    both = pl.concat([sexed(), sexed(ADMIT, seed=2)])
    spine = ps.compare(both, indicators=[SCREEN, ADMIT]).chart("spine", area=AREAS[0]).to_dict()
    assert spine["usermeta"]["publicservices"]["indicators"] == 2  # Persons rows only, one bar each
    assert "lowest ← → highest" in str(spine["title"])  # the no-judgement bar is not worst-to-best
    from publicservices.charts import lottery_chart, spine_chart

    with pytest.raises(DataError, match="several groups"):
        spine_chart(ps.compare(both, indicators=[SCREEN, ADMIT]).frame, AREAS[0])
    fair = pl.DataFrame(
        {
            "indicator_id": [SCREEN.id] * 2,
            "period": ["1"] * 2,
            "sex": ["Male", "Female"],
            "true_cv": [0.2, 0.1],
            "true_cv_lower_95": [0.1, 0.05],
            "true_cv_upper_95": [0.3, 0.15],
        }
    )
    chart = lottery_chart(fair, {SCREEN.id: SCREEN}).to_dict()
    assert "Screening uptake (Male)" in str(chart) and "Screening uptake (Female)" in str(chart)
    # two rows of one indicator are two comparisons, never "2 indicators"
    assert chart["description"].startswith("The postcode lottery across 2 comparisons of 1 indicator:")
    # rows already apart by id (a site's page per set, its title naming the set) are not named by their set again
    ids = [SCREEN.id, SCREEN.id + "__lower_tier"]
    sets = fair.drop("sex").with_columns(
        pl.Series("indicator_id", ids), pl.Series("comparable_set", ["upper_tier", "lower_tier"])
    )
    pages = {
        i: dataclasses.replace(SCREEN, id=i, title=f"Screening uptake ({s})")
        for i, s in zip(ids, ["upper tier", "lower tier"], strict=True)
    }
    spec = lottery_chart(sets, pages, same_indicator={ids[1]: ids[0]}).to_dict()
    labels = {row["_title"] for row in spec["datasets"][spec["data"]["name"]]}
    assert labels == {"Screening uptake (upper tier)", "Screening uptake (lower tier)"}


# -- direction decides judgement ----------------------------------------------------------------


def test_no_judgement_ranks_are_highest_first_never_best():
    result = ps.rank_areas(sexed(ADMIT).filter(pl.col("sex") == "Persons"), ADMIT, n_sims=300)
    summary = result.summary()
    assert "rank 1 is the highest value" in summary
    assert "best" not in summary.replace("not the best", "") and "top-ranked" not in summary
    top = result.frame.sort("rank").head(1)
    assert top["value"].item() == result.frame["value"].max()
    spec = result.chart().to_dict()
    text = str(spec)
    assert "1 = highest value" in text and "1 = best" not in text
    judged = ps.rank_areas(sexed().filter(pl.col("sex") == "Persons"), SCREEN, n_sims=300)
    assert "1 = best" in str(judged.chart().to_dict())


def test_no_judgement_funnel_and_comparison_say_higher_or_lower():
    rows = sexed(ADMIT).filter(pl.col("sex") == "Persons")
    funnel_summary = ps.funnel_check(rows, ADMIT).summary()
    assert "higher than the benchmark" in funnel_summary
    assert "better" not in funnel_summary and "worse" not in funnel_summary
    compare_summary = ps.compare(rows, indicators=[ADMIT]).summary()
    assert "higher than the benchmark" in compare_summary
    assert "better" not in compare_summary and "worse" not in compare_summary


def _two_indicators(extra: Indicator) -> pl.DataFrame:
    base = sexed().filter(pl.col("sex") == "Persons").drop("sex")
    other = base.with_columns(pl.lit(extra.id).alias("indicator_id"), (100 - pl.col("value")).alias("value"))
    return pl.concat([base, other])


def test_report_cards_leave_out_indicators_without_a_direction_and_say_so():
    frame = _two_indicators(ADMIT)
    with pytest.warns(NotGradedWarning, match="Emergency admissions"):
        rc = build_report_cards(frame, indicators={SCREEN.id: SCREEN, ADMIT.id: ADMIT}, n_sims=0)
    assert [c for c in rc.columns if c.startswith("score_")] == [f"score_{SCREEN.id}"]
    # graded on screening alone: the no-judgement indicator (its mirror image) did not cancel it out
    best = rc.sort("score", descending=True)["area_code"][0]
    assert best == frame.filter(pl.col("indicator_id") == SCREEN.id).sort("value")["area_code"][-1]
    result = ps.grade_areas(frame, indicators=[SCREEN, ADMIT], n_sims=0)
    assert any("Emergency admissions" in n and "no direction" in n for n in result.notes)
    assert "Emergency admissions" in result.summary()
    with pytest.raises(DataError, match="no measure with a direction"):
        build_report_cards(frame.filter(pl.col("indicator_id") == ADMIT.id), indicators={ADMIT.id: ADMIT}, n_sims=0)


def test_report_cards_never_grade_context_indicators_or_assume_a_direction():
    ctx = context()
    frame = _two_indicators(ctx)
    with pytest.warns(NotGradedWarning, match="context"):
        rc = build_report_cards(
            frame, indicators={SCREEN.id: SCREEN, ctx.id: ctx}, polarity={ctx.id: "higher_is_better"}, n_sims=0
        )
    assert f"score_{ctx.id}" not in rc.columns
    # a wide measure with no direction is not silently higher-is-better
    wide = pl.DataFrame({"area_code": list("ABCD"), "m": [1.0, 2, 3, 4]})
    with pytest.raises(DataError, match="no measure with a direction"):
        build_report_cards(wide, n_sims=0)
    low = build_report_cards(wide, polarity="lower_is_better", n_sims=0)
    assert low["grade"].to_list() == ["A", "B", "D", "F"]
    with pytest.raises(DataError, match="context"):
        ps.rank_areas(frame.filter(pl.col("indicator_id") == ctx.id).with_columns(se=pl.lit(1.0)), ctx, n_sims=50)


def test_employment_and_inactivity_do_not_cancel_out():
    employment = Indicator(
        id="welfare.employment",
        title="Employment rate",
        sector="welfare",
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
    )
    inactivity = Indicator(
        id="welfare.inactivity",
        title="Economic inactivity rate",
        sector="welfare",
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
    )
    rates = np.linspace(60, 80, 10)
    frame = pl.DataFrame(
        {
            "indicator_id": [employment.id] * 10 + [inactivity.id] * 10,
            "area_code": AREAS * 2,
            "period": ["2023"] * 20,
            "value": [*rates, *(97 - rates)],
        }
    )
    rc = build_report_cards(frame, indicators={employment.id: employment, inactivity.id: inactivity}, n_sims=0)
    assert rc.sort("area_code")["score"].to_list() == pytest.approx(list(np.linspace(5, 95, 10)))
    assert rc.filter(pl.col("area_code") == AREAS[-1])["grade"].item() == "A"


# -- a constant breakdown changes nothing but carries the column --------------------------------


@settings(max_examples=12, deadline=None)
@given(
    key=st.sampled_from(GROUP_KEYS),
    label=st.sampled_from(["Persons", "All ages", "upper_tier", "Female", "65+"]),
    seed=st.integers(0, 10_000),
)
def test_a_constant_group_column_changes_nothing_but_is_carried(key, label, seed):
    base = sexed(seed=seed).filter(pl.col("sex") == "Persons").drop("sex")
    keyed = base.with_columns(pl.lit(label).alias(key))

    def same(a: pl.DataFrame, b: pl.DataFrame) -> None:
        assert key in b.columns and b[key].to_list() == [label] * b.height
        assert a.equals(b.drop(key).select(a.columns))

    same(rank_intervals(base, SCREEN, n_sims=200), rank_intervals(keyed, SCREEN, n_sims=200))
    same(shrink(base, SCREEN), shrink(keyed, SCREEN))
    f0, f1 = build_funnel(base, SCREEN), build_funnel(keyed, SCREEN)
    same(f0.points, f1.points)
    same(f0.dispersion, f1.dispersion)
    same(f0.limits, f1.limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGradedWarning)
        same(
            build_report_cards(base, indicators={SCREEN.id: SCREEN}, n_sims=20),
            build_report_cards(keyed, indicators={SCREEN.id: SCREEN}, n_sims=20),
        )
    r0, r1 = ps.rank_areas(base, SCREEN, n_sims=200), ps.rank_areas(keyed, SCREEN, n_sims=200)
    same(r0.frame, r1.frame)
    assert r0.summary() == r1.summary()
    c0, c1 = ps.funnel_check(base, SCREEN), ps.funnel_check(keyed, SCREEN)
    same(c0.frame, c1.frame)
    assert c0.summary() == c1.summary()
    o0, o1 = ps.compare(base, indicators=[SCREEN]), ps.compare(keyed, indicators=[SCREEN])
    assert o0.summary() == o1.summary()
    assert o1.frame.height == o0.frame.height
