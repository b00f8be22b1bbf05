"""Report cards: grades from weighted domains, NYC defaults, grade stability."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats.report_cards import GRADES, SECTOR_DEFAULTS, report_cards


def schools_frame(k=200, seed=0):
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "area_code": [f"S{i:04d}" for i in range(k)],
        "school_type": np.where(np.arange(k) % 2 == 0, "primary", "secondary"),
        "environment": rng.normal(3.5, 0.5, k),
        "performance": rng.normal(60, 10, k),
        "progress": rng.normal(0, 1, k),
        "closing_the_gap": rng.normal(0, 1, k),
    })


def test_nyc_defaults_are_15_25_60_with_extra_credit():
    d = SECTOR_DEFAULTS["schools"]
    assert d["weights"] == {"environment": 15.0, "performance": 25.0, "progress": 60.0}
    assert d["extra_credit"] == "closing_the_gap" and d["peer_weight"] == 0.75
    rc = report_cards(schools_frame(), sector="schools", n_sims=100)
    assert {"score_environment", "score_performance", "score_progress", "extra_credit"} <= set(rc.columns)
    assert "score_closing_the_gap" not in rc.columns  # extra credit is not a weighted domain
    # overall = 0.15 env + 0.25 perf + 0.60 progress (+ bonus)
    expected = (0.15 * rc["score_environment"] + 0.25 * rc["score_performance"] + 0.6 * rc["score_progress"]
                + rc["extra_credit"])
    np.testing.assert_allclose(rc["score"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert rc["extra_credit"].min() >= 0 and rc["extra_credit"].max() <= 5.0
    # the schools cut-points give roughly 25/35/30/7/3 per cent
    shares = rc["grade"].value_counts(normalize=True).sort("grade")["proportion"].to_numpy()
    np.testing.assert_allclose(shares, [0.25, 0.35, 0.30, 0.07, 0.03], atol=0.011)


def test_extra_credit_only_raises_scores():
    df = schools_frame()
    with_ec = report_cards(df, sector="schools", n_sims=0)
    without = report_cards(df.drop("closing_the_gap"), sector="schools", n_sims=0)
    assert (with_ec["score"] >= without["score"] - 1e-12).all()
    assert (with_ec["extra_credit"] > 0).sum() > 50


def test_peer_group_percentiles_mix_peer_and_all_units():
    df = pl.DataFrame({"area_code": list("ABCD"), "grp": ["x", "x", "y", "y"], "m": [1.0, 2.0, 10.0, 20.0]})
    rc = report_cards(df, {"m": ["m"]}, peer_group="grp", peer_weight=0.75, polarity="higher_is_better", n_sims=0)
    # within group: 25, 75; all units: 12.5, 37.5, 62.5, 87.5
    np.testing.assert_allclose(rc["score_m"].to_numpy(),
                               [0.75 * 25 + 0.25 * 12.5, 0.75 * 75 + 0.25 * 37.5,
                                0.75 * 25 + 0.25 * 62.5, 0.75 * 75 + 0.25 * 87.5])


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
                    min_size=2, max_size=40),
    w=st.tuples(st.floats(0.1, 10), st.floats(0.1, 10), st.floats(0.1, 10)),
    relative=st.booleans(),
    scoring=st.sampled_from(["percentile", "zscore"]),
)
def test_grades_are_monotone_in_the_weighted_score(values, w, relative, scoring):
    arr = np.array(values)
    df = pl.DataFrame({"area_code": [str(i) for i in range(len(values))], "a": arr[:, 0], "b": arr[:, 1],
                       "c": arr[:, 2]})
    cut = {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0} if (relative or scoring == "percentile") else \
        {"A": 1.0, "B": 0.3, "C": -0.3, "D": -1.0}
    rc = report_cards(df, weights={"a": w[0], "b": w[1], "c": w[2]}, cutpoints=cut, relative=relative,
                      scoring=scoring, polarity="higher_is_better", n_sims=20, seed=1)
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
    a = report_cards(df, sector="schools", n_sims=50, jitter=0.0)
    b = report_cards(df, sector="schools", weights={"environment": 1.5, "performance": 2.5, "progress": 6.0},
                     n_sims=50, jitter=0.0)
    assert a["grade"].to_list() == b["grade"].to_list()
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy())
    assert (a["p_grade_change"] == 0).all()


def test_grade_stability_flags_areas_near_a_cut_point():
    rng = np.random.default_rng(8)
    df = pl.DataFrame({"area_code": [f"U{i}" for i in range(200)], "x": rng.normal(size=200),
                       "y": rng.normal(size=200)})
    rc = report_cards(df, weights={"x": 1.0, "y": 1.0}, relative=False, polarity="higher_is_better", n_sims=2000, seed=5)
    p = rc["p_grade_change"].to_numpy()
    assert p.max() > 0.2  # some grades hinge on the weights ...
    assert np.median(p) < 0.05  # ... most do not
    # units whose two domain scores agree cannot be moved by re-weighting them
    agree = (rc["score_x"] - rc["score_y"]).abs() < 1e-9
    assert (rc.filter(agree)["p_grade_change"] == 0).all()
    # the further a unit sits from the nearest cut-point, the steadier its grade
    dist = np.min(np.abs(rc["score"].to_numpy()[:, None] - np.array([80, 60, 40, 20])), axis=1)
    assert p[dist > 10].max() == 0
    single = report_cards(df, weights={"x": 1.0}, relative=False, polarity="higher_is_better", n_sims=500)
    assert (single["p_grade_change"] == 0).all()  # one domain: weights cannot matter


def test_long_values_frame_with_indicators_and_polarity():
    inds = {
        "schools.attendance": Indicator(id="schools.attendance", title="Attendance", sector="schools",
                                        measure="proportion", multiplier=100, polarity="higher_is_better"),
        "schools.exclusions": Indicator(id="schools.exclusions", title="Exclusions", sector="schools",
                                        measure="rate", multiplier=1000, polarity="lower_is_better"),
    }
    rows = []
    for period, shift in (("2022/23", 0.0), ("2023/24", 1.0)):
        for i, area in enumerate("ABCD"):
            rows.append(("schools.attendance", area, period, 90.0 + i + shift))
            rows.append(("schools.exclusions", area, period, 10.0 - i))
    long = pl.DataFrame(rows, schema=["indicator_id", "area_code", "period", "value"], orient="row")
    rc = report_cards(long, {"environment": ["schools.attendance", "schools.exclusions"]},
                      indicators=inds, n_sims=0)
    # D has the best attendance and the fewest exclusions
    assert rc.sort("score")["area_code"].to_list() == ["A", "B", "C", "D"]
    assert rc.filter(pl.col("area_code") == "D")["grade"][0] == "A"


def test_bad_configuration_is_explained():
    df = schools_frame(20)
    with pytest.raises(DataError, match="cutpoints"):
        report_cards(df, sector="schools", cutpoints={"A": 10, "B": 60, "C": 40, "D": 20})
    with pytest.raises(DataError, match="no weight"):
        report_cards(df, {"environment": "environment", "progress": "progress"}, weights={"progress": 1.0},
                     polarity="higher_is_better")
    with pytest.raises(SchemaError, match="missing"):
        report_cards(df, {"x": ["nope"]}, polarity="higher_is_better")
    dup = pl.concat([df, df])
    with pytest.raises(DataError, match="duplicated"):
        report_cards(dup, sector="schools")
    assert GRADES == ("A", "B", "C", "D", "F")


def test_measures_without_a_direction_are_left_out_never_higher_is_better():
    from publicservices.stats.report_cards import NotGradedWarning

    inds = {
        "schools.attendance": Indicator(id="schools.attendance", title="Attendance", sector="schools",
                                        measure="proportion", multiplier=100, polarity="higher_is_better"),
        "schools.pupils": Indicator(id="schools.pupils", title="Pupils on roll", sector="schools",
                                    measure="score", polarity="no_judgement"),
    }
    rows = [(i, a, "2023/24", v) for a, att, pupils in (("A", 90.0, 900.0), ("B", 95.0, 100.0), ("C", 92.0, 500.0))
            for i, v in (("schools.attendance", att), ("schools.pupils", pupils))]
    long = pl.DataFrame(rows, schema=["indicator_id", "area_code", "period", "value"], orient="row")
    with pytest.warns(NotGradedWarning, match=r"Pupils on roll \(schools.pupils\): no direction"):
        rc = report_cards(long, indicators=inds, n_sims=0)
    assert "score_schools.pupils" not in rc.columns
    assert rc.sort("score")["area_code"].to_list() == ["A", "C", "B"]  # attendance alone
    with pytest.raises(DataError, match="no measure with a direction"):
        report_cards(long.filter(pl.col("indicator_id") == "schools.pupils"), indicators=inds, n_sims=0)
    # an indicator id with no definition is not assumed higher-is-better either
    with pytest.warns(NotGradedWarning, match="schools.pupils: no direction given"):
        report_cards(long, indicators={"schools.attendance": inds["schools.attendance"]}, n_sims=0)
    with pytest.raises(DataError, match="polarity"):
        report_cards(long, indicators=inds, polarity={"schools.attendance": "up"}, n_sims=0)
