"""Report cards: grades from weighted domains, the NYC scheme the schools plugin declares, grade stability."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats import build_report_cards
from publicservices.stats.ranking.report_cards import GRADES

from publicservices_schools import NYC_PROGRESS_REPORTS as NYC


def schools_frame(k=200, seed=0):
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "area_code": [f"S{i:04d}" for i in range(k)],
            "school_type": np.where(np.arange(k) % 2 == 0, "primary", "secondary"),
            "environment": rng.normal(3.5, 0.5, k),
            "performance": rng.normal(60, 10, k),
            "progress": rng.normal(0, 1, k),
            "closing_the_gap": rng.normal(0, 1, k),
        }
    )


# the level-based extra credit of a wide frame of NYC-style domain scores, passed explicitly
LEVEL_CREDIT = {"extra_credit": "closing_the_gap", "extra_credit_max": 5.0}


def test_nyc_defaults_are_15_25_60_with_extra_credit():
    assert dict(NYC.weights) == {"environment": 15.0, "performance": 25.0, "progress": 60.0}
    assert NYC.peer_weight == 0.75 and NYC.extra_credit is None
    # extra credit rewards a significant narrowing of the disadvantage gap over time, not its level
    assert NYC.closing_gap.indicator == "schools.disadvantage_gap" and NYC.closing_gap.points == 5.0
    assert dict(NYC.cutpoints) == {"A": 75.0, "B": 40.0, "C": 10.0, "D": 3.0}
    rc = build_report_cards(schools_frame(), sector="schools", scheme=NYC, n_sims=100, **LEVEL_CREDIT)
    assert {"score_environment", "score_performance", "score_progress", "extra_credit"} <= set(rc.columns)
    assert "score_closing_the_gap" not in rc.columns  # extra credit is not a weighted domain
    # overall = 0.15 env + 0.25 perf + 0.60 progress (+ bonus)
    expected = 0.15 * rc["score_environment"] + 0.25 * rc["score_performance"] + 0.6 * rc["score_progress"] + rc["extra_credit"]
    np.testing.assert_allclose(rc["score"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert rc["extra_credit"].min() >= 0 and rc["extra_credit"].max() <= 5.0
    # the schools cut-points give roughly 25/35/30/7/3 per cent
    shares = rc["grade"].value_counts(normalize=True).sort("grade")["proportion"].to_numpy()
    np.testing.assert_allclose(shares, [0.25, 0.35, 0.30, 0.07, 0.03], atol=0.011)


def test_extra_credit_only_raises_scores():
    df = schools_frame()
    with_ec = build_report_cards(df, scheme=NYC, n_sims=0, **LEVEL_CREDIT)
    without = build_report_cards(df.drop("closing_the_gap"), scheme=NYC, n_sims=0)
    assert (with_ec["score"] >= without["score"] - 1e-12).all()
    assert (with_ec["extra_credit"] > 0).sum() > 50


def test_peer_group_percentiles_mix_peer_and_all_units():
    df = pl.DataFrame({"area_code": list("ABCD"), "grp": ["x", "x", "y", "y"], "m": [1.0, 2.0, 10.0, 20.0]})
    rc = build_report_cards(df, {"m": ["m"]}, peer_group="grp", peer_weight=0.75, polarity="higher_is_better", n_sims=0)
    # within group: 25, 75; all units: 12.5, 37.5, 62.5, 87.5
    np.testing.assert_allclose(
        rc["score_m"].to_numpy(),
        [0.75 * 25 + 0.25 * 12.5, 0.75 * 75 + 0.25 * 37.5, 0.75 * 25 + 0.25 * 62.5, 0.75 * 75 + 0.25 * 87.5],
    )


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=40),
    w=st.tuples(st.floats(0.1, 10), st.floats(0.1, 10), st.floats(0.1, 10)),
    relative=st.booleans(),
    scoring=st.sampled_from(["percentile", "zscore"]),
)
def test_grades_are_monotone_in_the_weighted_score(values, w, relative, scoring):
    arr = np.array(values)
    df = pl.DataFrame({"area_code": [str(i) for i in range(len(values))], "a": arr[:, 0], "b": arr[:, 1], "c": arr[:, 2]})
    cut = (
        {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0}
        if (relative or scoring == "percentile")
        else {"A": 1.0, "B": 0.3, "C": -0.3, "D": -1.0}
    )
    rc = build_report_cards(
        df,
        weights={"a": w[0], "b": w[1], "c": w[2]},
        cutpoints=cut,
        relative=relative,
        scoring=scoring,
        polarity="higher_is_better",
        n_sims=20,
        seed=1,
    )
    s = rc["score"].to_numpy()
    g = rc["grade"].to_physical().to_numpy()  # 0 = A
    order = np.argsort(-s, kind="stable")
    assert (np.diff(g[order]) >= 0).all() or np.allclose(np.diff(s[order])[np.diff(g[order]) < 0], 0)
    p = rc["p_grade_change"].to_numpy()
    assert ((0 <= p) & (p <= 1)).all()
    assert (rc["grade_best"].to_physical() <= rc["grade"].to_physical()).all()
    assert (rc["grade"].to_physical() <= rc["grade_worst"].to_physical()).all()


def test_scaling_weights_changes_nothing_and_zero_jitter_is_stable():
    df = schools_frame(80, seed=3)
    a = build_report_cards(df, scheme=NYC, n_sims=50, jitter=0.0)
    b = build_report_cards(
        df, scheme=NYC, weights={"environment": 1.5, "performance": 2.5, "progress": 6.0}, n_sims=50, jitter=0.0
    )
    assert a["grade"].to_list() == b["grade"].to_list()
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy())
    assert (a["p_grade_change"] == 0).all()


def test_grade_stability_flags_areas_near_a_cut_point():
    rng = np.random.default_rng(8)
    df = pl.DataFrame({"area_code": [f"U{i}" for i in range(200)], "x": rng.normal(size=200), "y": rng.normal(size=200)})
    rc = build_report_cards(df, weights={"x": 1.0, "y": 1.0}, relative=False, polarity="higher_is_better", n_sims=2000, seed=5)
    p = rc["p_grade_change"].to_numpy()
    assert p.max() > 0.2  # some grades hinge on the weights ...
    assert np.median(p) < 0.05  # ... most do not
    # units whose two domain scores agree cannot be moved by re-weighting them
    agree = (rc["score_x"] - rc["score_y"]).abs() < 1e-9
    assert (rc.filter(agree)["p_grade_change"] == 0).all()
    # the further a unit sits from the nearest cut-point, the steadier its grade
    dist = np.min(np.abs(rc["score"].to_numpy()[:, None] - np.array([80, 60, 40, 20])), axis=1)
    assert p[dist > 10].max() == 0
    single = build_report_cards(df, weights={"x": 1.0}, relative=False, polarity="higher_is_better", n_sims=500)
    assert (single["p_grade_change"] == 0).all()  # one domain: weights cannot matter


def test_long_values_frame_with_indicators_and_polarity():
    inds = {
        "schools.attendance": Indicator(
            id="schools.attendance",
            title="Attendance",
            sector="schools",
            measure="proportion",
            multiplier=100,
            polarity="higher_is_better",
        ),
        "schools.exclusions": Indicator(
            id="schools.exclusions",
            title="Exclusions",
            sector="schools",
            measure="rate",
            multiplier=1000,
            polarity="lower_is_better",
        ),
    }
    rows = []
    for period, shift in (("2022/23", 0.0), ("2023/24", 1.0)):
        for i, area in enumerate("ABCD"):
            rows.append(("schools.attendance", area, period, 90.0 + i + shift))
            rows.append(("schools.exclusions", area, period, 10.0 - i))
    long = pl.DataFrame(rows, schema=["indicator_id", "area_code", "period", "value"], orient="row")
    rc = build_report_cards(long, {"environment": ["schools.attendance", "schools.exclusions"]}, indicators=inds, n_sims=0)
    # D has the best attendance and the fewest exclusions
    assert rc.sort("score")["area_code"].to_list() == ["A", "B", "C", "D"]
    assert rc.filter(pl.col("area_code") == "D")["grade"][0] == "A"


def test_bad_configuration_is_explained():
    df = schools_frame(20)
    with pytest.raises(DataError, match="cutpoints"):
        build_report_cards(df, scheme=NYC, cutpoints={"A": 10, "B": 60, "C": 40, "D": 20})
    with pytest.raises(DataError, match="no weight"):
        build_report_cards(
            df, {"environment": "environment", "progress": "progress"}, weights={"progress": 1.0}, polarity="higher_is_better"
        )
    with pytest.raises(SchemaError, match="missing"):
        build_report_cards(df, {"x": ["nope"]}, polarity="higher_is_better")
    with pytest.raises(DataError, match="domains must map each domain"):
        build_report_cards(df, {"A": 85, "B": 60}, polarity="higher_is_better")
    dup = pl.concat([df, df])
    with pytest.raises(DataError, match="duplicated"):
        build_report_cards(dup, scheme=NYC)
    with pytest.raises(DataError, match="scheme must be a ReportCardScheme"):
        build_report_cards(df, scheme={"weights": {"environment": 1}})
    assert GRADES == ("A", "B", "C", "D", "F")


def test_measures_without_a_direction_are_left_out_never_higher_is_better():
    from publicservices.stats.ranking.report_cards import NotGradedWarning

    inds = {
        "schools.attendance": Indicator(
            id="schools.attendance",
            title="Attendance",
            sector="schools",
            measure="proportion",
            multiplier=100,
            polarity="higher_is_better",
        ),
        "schools.pupils": Indicator(
            id="schools.pupils", title="Pupils on roll", sector="schools", measure="score", polarity="no_judgement"
        ),
    }
    rows = [
        (i, a, "2023/24", v)
        for a, att, pupils in (("A", 90.0, 900.0), ("B", 95.0, 100.0), ("C", 92.0, 500.0))
        for i, v in (("schools.attendance", att), ("schools.pupils", pupils))
    ]
    long = pl.DataFrame(rows, schema=["indicator_id", "area_code", "period", "value"], orient="row")
    with pytest.warns(NotGradedWarning, match=r"Pupils on roll \(schools.pupils\): no direction"):
        rc = build_report_cards(long, indicators=inds, n_sims=0)
    assert "score_schools.pupils" not in rc.columns
    assert rc.sort("score")["area_code"].to_list() == ["A", "C", "B"]  # attendance alone
    with pytest.raises(DataError, match="no measure with a direction"):
        build_report_cards(long.filter(pl.col("indicator_id") == "schools.pupils"), indicators=inds, n_sims=0)
    # an indicator id with no definition is not assumed higher-is-better either
    with pytest.warns(NotGradedWarning, match="schools.pupils: no direction given"):
        build_report_cards(long, indicators={"schools.attendance": inds["schools.attendance"]}, n_sims=0)
    with pytest.raises(DataError, match="polarity"):
        build_report_cards(long, indicators=inds, polarity={"schools.attendance": "up"}, n_sims=0)


# -- grades at the cut points: a hand-worked table -----------------------------------------------
#
# Ten areas, one measure (higher is better). Percentile = 100 x (rank - 1/2) / n, Hazen's
# plotting position, ties sharing their average rank (B and C share ranks 2 and 3 -> 2.5; F and G
# share 6 and 7 -> 6.5). A cut-point is the minimum of its grade: a percentile exactly on it earns it.
#
#   area  value  rank  percentile  quintile cuts 80/60/40/20   cuts 85/60/45/20
#   A     1      1     5           F                           F
#   B     2      2.5   20          D  (on the D cut)           D  (on the D cut)
#   C     2      2.5   20          D  (on the D cut)           D  (on the D cut)
#   D     3      4     35          D                           D
#   E     4      5     45          C                           C  (on the C cut)
#   F     5      6.5   60          B  (on the B cut)           B  (on the B cut)
#   G     5      6.5   60          B  (on the B cut)           B  (on the B cut)
#   H     6      8     75          B                           B
#   I     7      9     85          A                           A  (on the A cut)
#   J     8      10    95          A                           A
#
# With `<=` at the cuts the on-cut areas drop a grade (B, C -> F; F, G -> C; E -> D; I -> B).
# Without the -1/2 the percentiles are 10, 25, 25, 40, 50, 70, 70, 80, 90, 100: D becomes a C
# and H an A under the quintile cuts.
CUT_AREAS = list("ABCDEFGHIJ")
CUT_VALUES = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0]
CUT_PERCENTILES = [5.0, 20.0, 20.0, 35.0, 45.0, 60.0, 60.0, 75.0, 85.0, 95.0]
QUINTILE_GRADES = ["F", "D", "D", "D", "C", "B", "B", "B", "A", "A"]
CUSTOM_CUTS = {"A": 85.0, "B": 60.0, "C": 45.0, "D": 20.0}
CUSTOM_GRADES = ["F", "D", "D", "D", "C", "B", "B", "B", "A", "A"]


def cut_table(layout: str, lower: bool = False) -> tuple[pl.DataFrame, dict]:
    values = [-v for v in CUT_VALUES] if lower else CUT_VALUES
    polarity = "lower_is_better" if lower else "higher_is_better"
    if layout == "wide":
        return pl.DataFrame({"area_code": CUT_AREAS, "m": values}), {"polarity": polarity}
    ind = Indicator(id="demo.m", title="M", sector="demo", measure="score", polarity=polarity)
    long = pl.DataFrame({"indicator_id": "demo.m", "area_code": CUT_AREAS, "period": "2023/24", "value": values})
    return long, {"indicators": {ind.id: ind}}


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("lower", [False, True])
def test_grades_at_the_cut_points_match_the_hand_worked_table(relative, layout, lower):
    frame, how = cut_table(layout, lower)
    rc = build_report_cards(frame, relative=relative, n_sims=0, **how)
    assert rc["area_code"].to_list() == CUT_AREAS
    assert rc["score"].to_list() == CUT_PERCENTILES  # exact: 100 x (rank - 1/2) / n
    assert rc["grade"].cast(pl.String).to_list() == QUINTILE_GRADES
    custom = build_report_cards(frame, cutpoints=CUSTOM_CUTS, relative=relative, n_sims=0, **how)
    assert custom["grade"].cast(pl.String).to_list() == CUSTOM_GRADES


def test_grades_at_the_cut_points_on_the_relative_scale():
    # z-scores are not percentiles: with relative=True the overall score's own percentile,
    # 100 x (rank - 1/2) / n, is what the cut-points cut (the table's percentiles again)
    frame, how = cut_table("wide")
    rc = build_report_cards(frame, scoring="zscore", relative=True, n_sims=0, **how)
    assert rc["grade"].cast(pl.String).to_list() == QUINTILE_GRADES
    custom = build_report_cards(frame, scoring="zscore", cutpoints=CUSTOM_CUTS, relative=True, n_sims=0, **how)
    assert custom["grade"].cast(pl.String).to_list() == CUSTOM_GRADES


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(2, 30), relative=st.booleans())
def test_a_percentile_on_a_cut_point_earns_that_grade(data, n, relative):
    """Property: grade = the number of cut-points strictly above 100 x (rank - 1/2) / n."""
    order = data.draw(st.permutations(list(range(n))))
    reachable = [(r - 0.5) / n * 100 for r in range(1, n + 1)]
    cuts = sorted(data.draw(st.lists(st.sampled_from(reachable), min_size=4, max_size=4)), reverse=True)
    frame = pl.DataFrame({"area_code": [f"U{i:02d}" for i in range(n)], "m": [float(v) for v in order]})
    rc = build_report_cards(
        frame, cutpoints=dict(zip("ABCD", cuts, strict=True)), relative=relative, polarity="higher_is_better", n_sims=0
    )
    expected = [GRADES[sum(c > reachable[v] for c in cuts)] for v in order]
    assert rc["score"].to_list() == [reachable[v] for v in order]
    assert rc["grade"].cast(pl.String).to_list() == expected


# -- grade stability under sampling noise --------------------------------------------------------

Z95 = 1.959963984540054


def with_intervals(values, se, area_codes=None) -> tuple[pl.DataFrame, dict]:
    """A long frame of one score indicator whose values carry 95% intervals value +/- 1.96 se."""
    codes = area_codes or [f"U{i:03d}" for i in range(len(values))]
    ind = Indicator(id="demo.m", title="M", sector="demo", measure="score", polarity="higher_is_better")
    se = np.asarray(se, dtype=float)
    lower = np.where(np.isfinite(se), np.asarray(values) - Z95 * se, np.nan)
    upper = np.where(np.isfinite(se), np.asarray(values) + Z95 * se, np.nan)
    frame = pl.DataFrame(
        {"indicator_id": "demo.m", "area_code": codes, "period": "2023/24", "value": values, "lower_ci": lower, "upper_ci": upper}
    ).with_columns(pl.col("lower_ci", "upper_ci").fill_nan(None))
    return frame, {"indicators": {ind.id: ind}}


def test_a_value_far_from_every_cut_with_a_tiny_interval_keeps_its_grade():
    frame, how = with_intervals([10.0 * i for i in range(10)], [1e-6] * 10)
    rc = build_report_cards(frame, n_sims=500, **how)
    assert (rc["p_grade_change_noise"] == 0).all()
    assert (rc["p_grade_change"] == 0).all()  # one domain: the weights cannot move it either
    assert (rc["p_grade_change_weights"] == 0).all()
    assert (rc["grade_best"] == rc["grade"]).all() and (rc["grade_worst"] == rc["grade"]).all()


@pytest.mark.parametrize("relative", [False, True])
def test_a_value_on_a_cut_point_with_a_wide_interval_changes_grade_half_the_time(relative):
    # 100 areas valued 1..100; U060 (value 61, rank 61) sits exactly on the B cut, percentile
    # 100 x 60.5 / 100 = 60.5, with its neighbour below at 60.999. Its interval has se 2, the
    # others none: it loses the B whenever its draw falls below 60.999 (probability
    # Phi(-0.0005) ~ 0.4998) and reaches an A only beyond 90 (Phi(-14.5) ~ 0).
    values = [float(i) for i in range(1, 101)]
    values[59] = 60.999
    se = [np.nan] * 100
    se[60] = 2.0
    frame, how = with_intervals(values, se)
    cuts = {"A": 90.0, "B": (61 - 0.5) / 100 * 100, "C": 30.0, "D": 10.0}
    rc = build_report_cards(frame, cutpoints=cuts, relative=relative, n_sims=4000, seed=3, **how)
    row = rc.filter(pl.col("area_code") == "U060")
    assert row["grade"].item() == "B" and row["score"].item() == cuts["B"]
    assert abs(row["p_grade_change_noise"].item() - 0.5) < 0.03
    assert row["p_grade_change"].item() == row["p_grade_change_noise"].item()  # one domain
    assert row["grade_worst"].item() == "C" and row["grade_best"].item() == "B"
    far = rc.filter(pl.col("area_code").is_in(["U000", "U040", "U099"]))
    assert (far["p_grade_change_noise"] == 0).all()


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=25),
    pick=st.integers(0, 24),
    se=st.floats(0, 20),
    wider=st.floats(1, 10),
    relative=st.booleans(),
    others=st.booleans(),
)
def test_widening_an_interval_never_lowers_the_chance_its_grade_changes(values, pick, se, wider, relative, others):
    """Property (exact, same seed): the draws share their normal deviates, so a wider interval
    moves the area's value further along the same path, and a grade's set of values is an
    interval around the point value -- once out, it stays out."""
    k = pick % len(values)
    base = [np.nan] * len(values)
    if others:  # the other areas fixed at a small, unchanged width
        base = [0.5] * len(values)
        base[k] = se
    else:
        base[k] = se
    wide_se = list(base)
    wide_se[k] = se * wider
    narrow, how = with_intervals(values, base)
    broad, _ = with_intervals(values, wide_se)
    a = build_report_cards(narrow, relative=relative, n_sims=60, seed=11, **how)
    b = build_report_cards(broad, relative=relative, n_sims=60, seed=11, **how)
    if not others:
        assert b["p_grade_change_noise"][k] >= a["p_grade_change_noise"][k]
        assert b["p_grade_change"][k] >= a["p_grade_change"][k]
    assert a["grade"].to_list() == b["grade"].to_list()  # the point grades do not depend on the intervals


def test_wider_intervals_everywhere_make_grades_less_stable_on_average():
    rng = np.random.default_rng(4)
    values = rng.normal(50, 10, 120)
    p = []
    for scale in (0.5, 2.0, 8.0):
        frame, how = with_intervals(values, np.full(120, scale))
        p.append(build_report_cards(frame, n_sims=400, seed=2, **how)["p_grade_change_noise"].mean())
    assert p[0] < p[1] < p[2]
    assert p[0] < 0.1 and p[2] > 0.3


def test_noise_from_counts_binomial_and_poisson():
    # proportions 10%..90%: huge denominators hardly move, small ones move a lot
    share = Indicator(
        id="demo.share", title="Share", sector="demo", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    rate = Indicator(id="demo.rate", title="Rate", sector="demo", measure="rate", multiplier=1000, polarity="lower_is_better")
    codes = [f"U{i:02d}" for i in range(20)]
    p = np.linspace(0.3, 0.7, 20)

    def frame(n, ind):
        num = np.rint(p * n)
        return pl.DataFrame(
            {
                "indicator_id": ind.id,
                "area_code": codes,
                "period": "2023/24",
                "numerator": num,
                "denominator": np.full(20, float(n)),
                "value": num / n * ind.multiplier,
            }
        )

    big = build_report_cards(frame(10_000_000, share), indicators={share.id: share}, n_sims=300)
    small = build_report_cards(frame(50, share), indicators={share.id: share}, n_sims=300)
    assert big["p_grade_change_noise"].max() == 0
    assert small["p_grade_change_noise"].mean() > 0.2
    assert big["grade"].to_list() == small["grade"].to_list()
    # a rate's count is drawn from a Poisson (lower is better: the order turns round)
    few = build_report_cards(frame(50, rate), indicators={rate.id: rate}, n_sims=300)
    many = build_report_cards(frame(10_000_000, rate), indicators={rate.id: rate}, n_sims=300)
    assert many["p_grade_change_noise"].max() == 0 and few["p_grade_change_noise"].mean() > 0.2
    assert few.sort("score")["area_code"].to_list() == codes[::-1]
    # a mean has no sampling distribution from its counts alone: held fixed, and said so
    mean = Indicator(id="demo.mean", title="Mean", sector="demo", measure="mean", polarity="higher_is_better")
    both = pl.concat([frame(50, share), frame(50, share).with_columns(pl.lit(mean.id).alias("indicator_id"))])
    from publicservices.stats.ranking.report_cards import ReportCardNote

    with pytest.warns(ReportCardNote, match=r"Sampling noise: no intervals or counts .* Mean \(demo.mean\)"):
        build_report_cards(both, indicators={share.id: share, mean.id: mean}, n_sims=50)


def test_noise_and_weights_are_reported_apart_and_together():
    rng = np.random.default_rng(9)
    n = 60
    ids = ["demo.a", "demo.b"]
    inds = {i: Indicator(id=i, title=i, sector="demo", measure="score", polarity="higher_is_better") for i in ids}
    vals = rng.normal(size=(n, 2))
    rows = pl.DataFrame(
        {
            "indicator_id": np.repeat(ids, n),
            "area_code": [f"U{i:02d}" for i in range(n)] * 2,
            "period": "2023/24",
            "value": vals.T.ravel(),
            "lower_ci": vals.T.ravel() - 0.5,
            "upper_ci": vals.T.ravel() + 0.5,
        }
    )
    rc = build_report_cards(rows, indicators=inds, n_sims=300)
    assert {"p_grade_change", "p_grade_change_noise", "p_grade_change_weights"} <= set(rc.columns)
    assert rc["p_grade_change_noise"].mean() > rc["p_grade_change_weights"].mean() > 0
    still = build_report_cards(rows, indicators=inds, n_sims=300, jitter=0.0)
    assert (still["p_grade_change_weights"] == 0).all()
    np.testing.assert_allclose(still["p_grade_change"].to_numpy(), still["p_grade_change_noise"].to_numpy())
    off = build_report_cards(rows, indicators=inds, n_sims=300, sampling_noise=False)
    assert off["p_grade_change_noise"].null_count() == n
    assert off["p_grade_change"].to_list() == off["p_grade_change_weights"].to_list() == rc["p_grade_change_weights"].to_list()
    # a wide frame carries no intervals: the weights alone
    wide = build_report_cards(schools_frame(40), scheme=NYC, n_sims=100)
    assert wide["p_grade_change_noise"].null_count() == 40
    assert wide["p_grade_change"].to_list() == wide["p_grade_change_weights"].to_list()
    with pytest.raises(DataError, match="upper_ci"):
        build_report_cards(rows.with_columns(pl.col("upper_ci") - 2), indicators=inds, n_sims=10)


# -- count-only data: values derived -------------------------------------------------------------


def test_values_are_derived_from_counts_when_only_counts_are_published():
    import publicservices as ps
    from publicservices.stats.ranking.report_cards import ReportCardNote

    share = Indicator(
        id="demo.share", title="Share", sector="demo", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    num = np.array([5.0, 30, 12, 48, 20, 33, 9, 40])
    den = np.array([50.0, 60, 40, 80, 100, 66, 30, 50])
    codes = [f"U{i}" for i in range(8)]
    counts = pl.DataFrame(
        {
            "indicator_id": share.id,
            "area_code": codes,
            "period": "2023/24",
            "numerator": num,
            "denominator": den,
            "value": [None] * 8,
        }
    ).with_columns(pl.col("value").cast(pl.Float64))
    published = counts.with_columns(pl.Series("value", num / den * 100))
    with pytest.warns(ReportCardNote, match=r"derived from the counts for 8 rows .*Share \(demo.share\): 8 x 100"):
        derived = build_report_cards(counts, indicators={share.id: share}, n_sims=0)
    expected = build_report_cards(published, indicators={share.id: share}, n_sims=0)
    assert derived.equals(expected)
    # hand-worked: 100 x num / den = 10, 50, 30, 60, 20, 50, 30, 80 -> ranks 1, 5.5, 3.5, 7, 2, 5.5, 3.5, 8
    assert derived["score"].to_list() == [(r - 0.5) / 8 * 100 for r in (1, 5.5, 3.5, 7, 2, 5.5, 3.5, 8)]
    result = ps.grade_areas(counts, indicators=[share], n_sims=50)
    assert result.frame["grade"].null_count() == 0
    assert any("numerator / denominator x the indicator's multiplier" in n for n in result.notes)
    assert "derived from the counts" in result.summary()
    # a value with no definition of its multiplier is numerator / denominator, and that is said
    with pytest.warns(ReportCardNote, match="no indicator definition, so no multiplier"):
        build_report_cards(counts, polarity="higher_is_better", n_sims=0)


def test_grade_areas_derives_values_on_a_count_only_dataset():
    import publicservices as ps

    d = ps.demo()
    counted = d.values.filter(pl.col("numerator").is_not_null() & pl.col("indicator_id").str.starts_with("policing."))
    blank = ps.Dataset(counted.with_columns(pl.lit(None, pl.Float64).alias("value")), areas=d.areas, indicators=d.indicators)
    result = ps.grade_areas(blank, sector="policing", n_sims=50)
    assert result.frame.height == 150 and result.frame["grade"].null_count() == 0
    assert any("Values derived from the counts" in n for n in result.notes)


# -- a sector's scheme without domains ------------------------------------------------------------


@pytest.mark.parametrize("sector", ["health", "policing", "welfare"])
def test_grade_areas_grades_each_demo_sector_with_no_arguments(sector):
    import publicservices as ps

    d = ps.demo()
    result = ps.grade_areas(d, sector=sector)
    frame = result.frame
    judged = [i for i, ind in d.indicators.items() if ind.sector == sector and ind.has_polarity]
    assert sorted(c.removeprefix("score_") for c in frame.columns if c.startswith("score_")) == sorted(judged)
    assert frame.height == 150 and frame["grade"].null_count() == 0
    assert frame["p_grade_change_noise"].null_count() == 0  # the demo carries counts or intervals
    assert any(n.startswith("Equal weights:") for n in result.notes)
    assert "Equal weights" in result.summary()
    # quintile grades, equal weights: the overall score is the mean of the indicator scores
    scores = frame.select([f"score_{i}" for i in judged]).to_numpy()
    np.testing.assert_allclose(frame["score"].to_numpy(), np.nanmean(scores, axis=1))
    counts = frame["grade"].value_counts()["count"].to_list()
    assert len(counts) == 5 and all(abs(c - 30) <= 3 for c in counts)  # fifths, give or take tied scores
    result.chart()  # and it draws


@pytest.mark.filterwarnings("ignore::publicservices.stats.ranking.report_cards.NotGradedWarning")
def test_sector_scheme_notes_and_errors():
    import publicservices as ps
    from publicservices.stats.ranking.report_cards import ReportCardNote

    d = ps.demo()
    with pytest.warns(ReportCardNote, match="the health sector declares no report-card scheme"):
        build_report_cards(d, sector="health", n_sims=0)
    # data holding none of the scheme's measures (here: only the gap) get the default, said so
    gap_only = d.values.filter(pl.col("indicator_id") == "schools.disadvantage_gap")
    with pytest.warns(
        ReportCardNote,
        match=r"the schools scheme's domains \(environment, performance, progress\) are not in these data",
    ):
        build_report_cards(gap_only, sector="schools", scheme=NYC, indicators=d.indicators, n_sims=0)
    # grade_areas looks the scheme up from the schools plugin's declaration: the demo holds every
    # measure; without Progress 8 the notes say the progress domain is left out
    assert not any(n.startswith("Partial scheme") for n in ps.grade_areas(d, sector="schools", n_sims=0).notes)
    no_progress = d.filter(indicators=[i for i in d.indicators if i != "schools.progress8"])
    notes = ps.grade_areas(no_progress, sector="schools", n_sims=0).notes
    assert any(n.startswith("Partial scheme: the schools scheme's domain progress (") for n in notes)
    with pytest.raises(DataError, match="no indicator of sector 'transport'.*health, policing, schools, welfare"):
        ps.grade_areas(d, sector="transport")
    # the NYC scheme still applies when its domains are there, and a partial one is named
    assert build_report_cards(schools_frame(), sector="schools", scheme=NYC, n_sims=0)["score_progress"].null_count() == 0
    assert ps.grade_areas(schools_frame(), sector="schools", n_sims=0).frame["score_progress"].null_count() == 0
    with pytest.raises(SchemaError, match="'performance' is missing"):
        build_report_cards(schools_frame().drop("performance"), sector="schools", scheme=NYC, n_sims=0)
    # without the scheme, the stats function knows no sector: schools is graded like any other
    with pytest.warns(ReportCardNote, match="the schools sector declares no report-card scheme"):
        build_report_cards(d, sector="schools", n_sims=0)


def test_grade_areas_grades_units_never_benchmarks():
    import publicservices as ps

    d = ps.demo()
    national = d.values.filter(pl.col("area_code") == "X06000001").with_columns(pl.lit("E92000001").alias("area_code"))
    areas = pl.concat(
        [d.areas, pl.DataFrame({"area_code": ["E92000001"], "area_name": ["England"]})], how="diagonal_relaxed"
    ).drop("level", "role", "level_label")
    with_england = ps.Dataset(pl.concat([d.values, national]), areas=areas, indicators=d.indicators)
    result = ps.grade_areas(with_england, sector="policing", n_sims=20)
    assert "E92000001" not in result.frame["area_code"].to_list() and result.frame.height == 150


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0, np.inf]), min_size=3, max_size=3), min_size=0, max_size=9),
    st.sampled_from([0, 1, -1, -2]),
)
def test_average_ranks_are_scipys_rankdata_with_ties_averaged(rows, axis):
    from scipy.stats import rankdata

    from publicservices.stats.ranking._rankutil import average_ranks

    values = np.array(rows, dtype=float).reshape(len(rows), 3)
    assert np.array_equal(average_ranks(values, axis=axis), rankdata(values, axis=axis, method="average"))
