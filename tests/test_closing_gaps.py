"""Closing the gap: the gap-change statistic, the extra credit it earns, and the schools report cards that use it."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices import ClosingGap, Indicator, ReportCardScheme
from publicservices.errors import DataError, PluginError
from publicservices.stats import build_report_cards, gap_change, gap_credit
from publicservices.stats.ranking.report_cards import ReportCardNote

pytestmark = pytest.mark.filterwarnings("ignore::publicservices.stats.ranking.report_cards.ReportCardNote")

Z = 1.959963984540054  # qnorm(0.975): an interval of +/- Z x se gives back se exactly

GAP = Indicator(
    id="schools.disadvantage_gap",
    title="Disadvantage gap index at key stage 2",
    sector="schools",
    measure="score",
    polarity="lower_is_better",
)
SCORE = Indicator(id="schools.score", title="Score", sector="schools", measure="score", polarity="higher_is_better")


def series(values: dict[str, list[float]], se: float | dict[str, list[float]] = 0.1, start: int = 2020) -> pl.DataFrame:
    """Long gap values, one list per area over consecutive academic years, with +/- Z x se intervals."""
    rows = []
    for area, ys in values.items():
        ses = se[area] if isinstance(se, dict) else [se] * len(ys)
        for j, (y, s) in enumerate(zip(ys, ses, strict=True)):
            rows.append((GAP.id, area, f"{start + j}/{(start + j + 1) % 100:02d}", y, y - Z * s, y + Z * s))
    return pl.DataFrame(rows, schema=["indicator_id", "area_code", "period", "value", "lower_ci", "upper_ci"], orient="row")


def reference(t: np.ndarray, y: np.ndarray, s: np.ndarray, dispersion: bool = True) -> tuple[float, float]:
    """Naive weighted least squares by matrices: (fitted change first -> last, its standard error)."""
    X = np.column_stack([np.ones_like(t), t])
    W = np.diag(1 / s**2)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ y
    resid = y - X @ beta
    phi = float(resid @ W @ resid) / (len(t) - 2) if len(t) > 2 else 1.0
    scale = max(1.0, phi) if dispersion else 1.0
    span = t.max() - t.min()
    return float(beta[1] * span), float(math.sqrt(scale * cov[1, 1]) * span)


# -- the statistic, by hand ------------------------------------------------------------------------


def test_two_periods_give_the_difference_and_the_combined_standard_error():
    out = gap_change(series({"A": [3.0, 2.6], "B": [3.0, 2.9]}, se={"A": [0.1, 0.1], "B": [0.03, 0.04]}), indicators=[GAP])
    a, b = out.rows(named=True)
    assert a["gap_change"] == pytest.approx(-0.4) and a["gap_change_se"] == pytest.approx(math.sqrt(0.02))
    assert a["gap_change_upper"] == pytest.approx(-0.4 + Z * math.sqrt(0.02))  # -0.1228: entirely below 0
    assert a["gap_status"] == "significantly narrowing" and a["gap_dispersion"] is None
    # B: -0.1 with se sqrt(0.03^2 + 0.04^2) = 0.05, z = 2 > 1.96: narrowing, just
    assert b["gap_change"] == pytest.approx(-0.1) and b["gap_change_se"] == pytest.approx(0.05)
    assert b["gap_narrowing_z"] == pytest.approx(2.0) and b["gap_status"] == "significantly narrowing"
    assert (a["gap_first_period"], a["gap_last_period"], a["gap_periods"]) == ("2020/21", "2021/22", 2)


def test_three_periods_worked_by_hand_with_and_without_over_dispersion():
    # A: 3.0, 2.9, 2.6 (se 0.1 each, so equal weights 100): slope -0.2 per period, change -0.4;
    # residuals -1/30, 2/30, -1/30 -> sum w r^2 = 2/3, phi = 2/3 -> floored at 1; se(slope) =
    # sqrt(1 / (100 x 2)) = 0.0707, se(change) = 0.1414, z = 2.83: narrowing.
    # B: 3.0, 2.6, 2.6: slope -0.2 again, but residuals 2/30, -4/30, 2/30 -> phi = 8/3: se(change) =
    # 0.1414 x sqrt(8/3) = 0.2309, z = 1.73: no significant change (2.83 and narrowing with phi = 1).
    frame = series({"A": [3.0, 2.9, 2.6], "B": [3.0, 2.6, 2.6]})
    out = gap_change(frame, indicators=[GAP])
    a, b = out.rows(named=True)
    assert a["gap_change"] == pytest.approx(-0.4) and a["gap_change_se"] == pytest.approx(math.sqrt(0.02))
    assert a["gap_dispersion"] == pytest.approx(2 / 3) and a["gap_status"] == "significantly narrowing"
    assert (a["gap_change_lower"], a["gap_change_upper"]) == pytest.approx((-0.4 - Z * 0.141421, -0.4 + Z * 0.141421), abs=1e-5)
    assert b["gap_change"] == pytest.approx(-0.4) and b["gap_dispersion"] == pytest.approx(8 / 3)
    assert b["gap_change_se"] == pytest.approx(math.sqrt(0.02 * 8 / 3)) and b["gap_status"] == "no significant change"
    fixed = gap_change(frame, indicators=[GAP], dispersion=False).filter(pl.col("area_code") == "B").row(0, named=True)
    assert fixed["gap_narrowing_z"] == pytest.approx(0.4 / math.sqrt(0.02)) and fixed["gap_status"] == "significantly narrowing"
    # the credit: 5 x min(1, z / (2 x 1.96)) for A; nothing for B
    np.testing.assert_allclose(gap_credit(out["gap_narrowing_z"].to_numpy(), 5.0), [5 * (0.4 / math.sqrt(0.02)) / (2 * Z), 0.0])


def test_matches_a_naive_matrix_reference_with_dates_gaps_and_unequal_precision():
    rng = np.random.default_rng(3)
    rows, expected = [], {}
    years = [2014, 2015, 2016, 2018, 2019, 2022, 2023]  # gaps in the series: time is in years from the dates
    for i in range(12):
        keep = sorted(rng.choice(years, size=int(rng.integers(2, 8)), replace=False).tolist())
        t = np.array([(np.datetime64(f"{y}-09-01") - np.datetime64("2014-09-01")).astype(int) / 365.25 for y in keep])
        y = 3 + rng.normal(-0.05, 0.05) * t + rng.normal(0, 0.1, t.size)
        s = rng.uniform(0.03, 0.3, t.size)
        expected[f"A{i}"] = reference(t, y, s)
        for yr, v, e in zip(keep, y, s, strict=True):
            rows.append((f"A{i}", dt.date(yr, 9, 1), v, v - Z * e, v + Z * e))
    frame = pl.DataFrame(rows, schema=["area_code", "period_start", "value", "lower_ci", "upper_ci"], orient="row")
    out = gap_change(frame, polarity="lower_is_better")
    got = {r["area_code"]: (r["gap_change"], r["gap_change_se"]) for r in out.iter_rows(named=True)}
    for area, (change, se) in expected.items():
        assert got[area] == pytest.approx((change, se), rel=1e-9), area


def test_cannot_judge_is_never_guessed():
    frame = series({"one": [3.0], "none": [3.0, 2.0], "some": [3.0, 2.9, 2.5]})
    frame = frame.with_columns(
        pl.when(pl.col("area_code") == "none").then(None).otherwise(pl.col("lower_ci")).alias("lower_ci"),
        # the middle period of "some" has no interval: judged on its first and last
        pl.when((pl.col("area_code") == "some") & (pl.col("period") == "2021/22"))
        .then(None)
        .otherwise(pl.col("upper_ci"))
        .alias("upper_ci"),
    )
    out = {r["area_code"]: r for r in gap_change(frame, indicators=[GAP]).iter_rows(named=True)}
    assert out["one"]["gap_status"] == "cannot judge" and out["one"]["gap_change"] is None
    assert out["one"]["gap_reason"] == "only 1 period(s) with a value and an interval (at least 2 needed)"
    assert out["none"]["gap_status"] == "cannot judge" and out["none"]["gap_change"] is None
    assert out["none"]["gap_reason"].startswith("no interval or standard error")
    assert out["some"]["gap_periods"] == 2 and out["some"]["gap_change"] == pytest.approx(-0.5)
    stricter = gap_change(frame, indicators=[GAP], min_periods=3).filter(pl.col("area_code") == "some")
    assert stricter["gap_status"].to_list() == ["cannot judge"]
    assert gap_credit([np.nan], 5.0).tolist() == [0.0]


def test_window_and_standard_error_column():
    frame = series({"A": [2.0, 3.0, 3.0, 2.8, 2.6]})
    whole = gap_change(frame, indicators=[GAP]).row(0, named=True)
    latest = gap_change(frame, indicators=[GAP], window=3).row(0, named=True)
    assert whole["gap_change"] > 0 and latest["gap_change"] == pytest.approx(-0.4)
    assert latest["gap_first_period"] == "2022/23" and latest["gap_periods"] == 3
    with_se = frame.drop("lower_ci", "upper_ci").with_columns(pl.lit(0.1).alias("se"))
    assert gap_change(with_se, indicators=[GAP], se="se")["gap_change_se"].to_list() == pytest.approx([whole["gap_change_se"]])


def test_errors_name_the_rows_and_the_fix():
    frame = series({"A": [3.0, 2.8]})
    with pytest.raises(DataError, match="cannot tell narrowing from widening.*schools.disadvantage_gap: no definition"):
        gap_change(frame)
    with pytest.raises(DataError, match="polarity='no_judgement' does not say which way the gap narrows"):
        gap_change(frame, polarity="no_judgement")
    with pytest.raises(DataError, match=r"column 'period' repeats a period.*\n  row 1: schools.disadvantage_gap \| A"):
        gap_change(pl.concat([frame, frame]), indicators=[GAP])
    swapped = frame.with_columns(lower_ci=pl.col("upper_ci"), upper_ci=pl.col("lower_ci"))
    with pytest.raises(DataError, match=r"column 'upper_ci' is below lower_ci in 2 rows(.|\n)*Fix: Correct the rows"):
        gap_change(swapped, indicators=[GAP])
    with pytest.raises(DataError, match="no rows of gap indicator 'schools.other'"):
        gap_change(frame, "schools.other", indicators=[GAP])
    with pytest.raises(DataError, match="min_periods=1"):
        gap_change(frame, indicators=[GAP], min_periods=1)
    with pytest.raises(DataError, match="award='both'"):
        gap_credit([3.0], 5.0, award="both")


# -- properties -----------------------------------------------------------------------------------

values = st.floats(0.0, 10.0, allow_nan=False)
ses = st.floats(0.01, 1.0)


@st.composite
def panels(draw, min_periods=2):
    n_areas = draw(st.integers(1, 6))
    out = {}
    for i in range(n_areas):
        n = draw(st.integers(min_periods, 7))
        out[f"A{i}"] = (draw(st.lists(values, min_size=n, max_size=n)), draw(st.lists(ses, min_size=n, max_size=n)))
    return out


def frame_of(panel) -> pl.DataFrame:
    return series({a: ys for a, (ys, _) in panel.items()}, se={a: s for a, (_, s) in panel.items()})


@settings(max_examples=60, deadline=None)
@given(panel=panels())
def test_a_gap_that_widens_never_earns_credit(panel):
    widening = {a: (sorted(ys), s) for a, (ys, s) in panel.items()}  # never falls: lower is better
    out = gap_change(frame_of(widening), indicators=[GAP])
    assert (out["gap_status"] != "significantly narrowing").all()
    assert (gap_credit(out["gap_narrowing_z"].to_numpy(), 5.0) == 0).all()


@settings(max_examples=60, deadline=None)
@given(panel=panels())
def test_reversing_the_direction_flips_narrowing_and_widening(panel):
    frame = frame_of(panel)
    low = gap_change(frame, polarity="lower_is_better")
    high = gap_change(frame, polarity="higher_is_better")
    np.testing.assert_allclose(low["gap_narrowing_z"].to_numpy(), -high["gap_narrowing_z"].to_numpy())
    swap = {"significantly narrowing": "significantly widening", "significantly widening": "significantly narrowing"}
    assert [swap.get(s, s) for s in low["gap_status"].cast(pl.String)] == high["gap_status"].cast(pl.String).to_list()
    # and so does turning the gap over (negating it) with the same direction
    negated = gap_change(
        frame.with_columns(-pl.col("value"), lower_ci=-pl.col("upper_ci"), upper_ci=-pl.col("lower_ci")),
        polarity="lower_is_better",
    )
    np.testing.assert_allclose(negated["gap_narrowing_z"].to_numpy(), high["gap_narrowing_z"].to_numpy(), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(panel=panels(), more=st.floats(0.0, 2.0), award=st.sampled_from(["scaled", "fixed"]))
def test_credit_is_monotone_in_the_narrowing(panel, more, award):
    frame = frame_of(panel)
    # narrow every gap further by `more` per period: same residuals, same precision, larger z
    position = pl.col("period").rank("dense") - 1
    steeper = frame.with_columns(*(pl.col(c) - more * position for c in ("value", "lower_ci", "upper_ci")))
    before = gap_credit(gap_change(frame, indicators=[GAP])["gap_narrowing_z"].to_numpy(), 5.0, award=award)
    after = gap_credit(gap_change(steeper, indicators=[GAP])["gap_narrowing_z"].to_numpy(), 5.0, award=award)
    assert (after >= before - 1e-12).all()
    assert ((0 <= after) & (after <= 5.0)).all()


@settings(max_examples=40, deadline=None)
@given(panel=panels(), seed=st.integers(0, 2**32 - 1))
def test_invariant_to_row_order(panel, seed):
    frame = frame_of(panel)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    a = gap_change(frame, indicators=[GAP]).sort("area_code")
    b = gap_change(shuffled, indicators=[GAP]).sort("area_code")
    assert a.drop(
        "gap_change", "gap_change_se", "gap_change_lower", "gap_change_upper", "gap_narrowing_z", "gap_slope", "gap_dispersion"
    ).equals(
        b.drop(
            "gap_change",
            "gap_change_se",
            "gap_change_lower",
            "gap_change_upper",
            "gap_narrowing_z",
            "gap_slope",
            "gap_dispersion",
        )
    )
    for c in ("gap_change", "gap_change_se", "gap_narrowing_z"):
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(z=st.lists(st.floats(-10, 10), min_size=2, max_size=20), points=st.floats(0.1, 20))
def test_credit_rule_is_zero_below_the_threshold_and_monotone_above(z, points):
    z = np.sort(np.array(z))
    credit = gap_credit(z, points)
    assert (np.diff(credit) >= -1e-12).all()
    below, above = z < Z - 1e-9, z > Z + 1e-9
    assert (credit[below] == 0).all() and (credit[above] >= points / 2 - 1e-9).all()
    assert (gap_credit(z, points, award="fixed")[above] == points).all()


# -- the scheme -------------------------------------------------------------------------------------


def test_closing_gap_is_declared_and_validated_in_the_scheme():
    scheme = ReportCardScheme(domains={"a": "x"}, closing_gap="schools.disadvantage_gap")
    assert scheme.closing_gap == ClosingGap("schools.disadvantage_gap")
    assert hash(scheme) == hash(ReportCardScheme(domains={"a": "x"}, closing_gap=ClosingGap("schools.disadvantage_gap")))
    with pytest.raises(PluginError, match="closing_gap must be a ClosingGap, a gap indicator's id or None, not dict"):
        ReportCardScheme(domains={"a": "x"}, closing_gap={"indicator": "g"})
    with pytest.raises(PluginError, match="(?s)award 'both' must be one of 'scaled', 'fixed'.*window 1 must be None"):
        ClosingGap("g", award="both", window=1)
    with pytest.raises(PluginError, match="indicator must be the id of a gap indicator"):
        ReportCardScheme(domains={"a": "x"}, closing_gap=" ")


def test_the_schools_plugin_declares_narrowing_credit_and_the_contract_checks_it():
    from publicservices.plugin_api import check_plugin

    scheme = ps.registered_sectors()["schools"].report_card
    assert scheme.closing_gap.indicator == "schools.disadvantage_gap" and scheme.extra_credit is None
    assert "schools.progress8" in ps.registered_indicators()
    check = check_plugin("publicservices-schools", raise_on_failure=False)
    assert "sector declarations" in check.passed and not [f for f in check.failures if "closing-the-gap" in f]


# -- report cards with closing-the-gap credit ------------------------------------------------------


def long_cards(n_areas=30, seed=0, gap_trends=None, periods=4):
    """A score measure (latest period) and a gap with intervals over `periods` years."""
    rng = np.random.default_rng(seed)
    codes = [f"E{i:03d}" for i in range(n_areas)]
    trends = rng.normal(0, 0.2, n_areas) if gap_trends is None else np.asarray(gap_trends)
    gaps = {c: [3 + k * t for k in range(periods)] for c, t in zip(codes, trends, strict=True)}
    frame = series(gaps, se=0.05)
    score = pl.DataFrame(
        {"indicator_id": SCORE.id, "area_code": codes, "period": frame["period"].max(), "value": rng.normal(50, 10, n_areas)}
    )
    return pl.concat([frame, score], how="diagonal_relaxed"), trends


def test_extra_credit_goes_only_to_significant_narrowing_and_shows_its_interval():
    frame, trends = long_cards()
    scheme = ReportCardScheme(domains={"results": SCORE.id}, closing_gap=ClosingGap(GAP.id, points=4))
    with pytest.warns(ReportCardNote, match=r"Closing the gap: up to 4 points .* lies entirely below 0 \(2020/21 to 2023/24\)"):
        rc = build_report_cards(frame, scheme=scheme, indicators={GAP.id: GAP, SCORE.id: SCORE}, n_sims=0)
    assert {"gap_change", "gap_change_lower", "gap_change_upper", "gap_status", "gap_credit", "gap_credited"} <= set(rc.columns)
    expected = gap_change(frame, GAP.id, indicators=[GAP])
    joined = rc.join(expected.select("area_code", pl.col("gap_narrowing_z").alias("z")), on="area_code")
    np.testing.assert_allclose(joined["gap_credit"].to_numpy(), gap_credit(joined["z"].to_numpy(), 4.0))
    credited = rc.filter(pl.col("gap_credited"))
    assert credited.height and (credited["gap_change_upper"] < 0).all()
    assert (rc.filter(~pl.col("gap_credited"))["gap_credit"] == 0).all()
    # the overall score is the percentile of the one measure plus the credit
    np.testing.assert_allclose(rc["score"].to_numpy(), (rc["score_results"] + rc["gap_credit"]).to_numpy())
    np.testing.assert_allclose(rc["extra_credit"].to_numpy(), rc["gap_credit"].to_numpy())
    # gaps that widen or stay put never earn it
    assert (
        rc.join(pl.DataFrame({"area_code": rc["area_code"], "t": trends}), on="area_code").filter(pl.col("t") >= 0)["gap_credit"]
        == 0
    ).all()
    # the gap is credit, not also a graded domain; closing_gap=False switches it off
    assert "score_schools.disadvantage_gap" not in rc.columns
    off = build_report_cards(frame, scheme=scheme, closing_gap=False, indicators={GAP.id: GAP, SCORE.id: SCORE}, n_sims=0)
    assert "gap_credit" not in off.columns and (off["extra_credit"] == 0).all()


def test_period_bounds_the_change_and_noise_moves_the_credit():
    frame, _ = long_cards(gap_trends=np.linspace(-0.06, 0.02, 30), periods=5)
    inds = {GAP.id: GAP, SCORE.id: SCORE}
    score_rows = frame.filter(pl.col("indicator_id") == SCORE.id)
    earlier = pl.concat([frame, score_rows.with_columns(pl.lit("2022/23").alias("period"))])
    rc = build_report_cards(earlier, {"results": SCORE.id}, closing_gap=GAP.id, period="2022/23", indicators=inds, n_sims=0)
    assert set(rc["gap_last_period"]) == {"2022/23"}
    # the score has no interval, so all the sampling noise is the gap's: areas near the threshold move
    rc = build_report_cards(frame, {"results": SCORE.id}, closing_gap=GAP.id, indicators=inds, relative=False, n_sims=400)
    assert rc["p_grade_change_noise"].null_count() == 0 and rc["p_grade_change_noise"].max() > 0


def test_cannot_judge_earns_nothing_and_says_why():
    frame, _ = long_cards(periods=1)
    inds = {GAP.id: GAP, SCORE.id: SCORE}
    with pytest.warns(
        ReportCardNote, match=r"No area can be judged, so none earns it \(30 areas: only 1 period\(s\) with a value"
    ):
        rc = build_report_cards(frame, {"results": SCORE.id}, closing_gap=GAP.id, indicators=inds, n_sims=0)
    assert (rc["gap_status"] == "cannot judge").all() and (rc["gap_credit"] == 0).all()
    no_ci, _ = long_cards()
    no_ci = no_ci.with_columns(lower_ci=None, upper_ci=None)
    with pytest.warns(ReportCardNote, match="no interval or standard error, so the change's precision is unknown"):
        rc = build_report_cards(no_ci, {"results": SCORE.id}, closing_gap=GAP.id, indicators=inds, n_sims=0)
    assert rc["gap_change"].null_count() == rc.height
    with pytest.warns(ReportCardNote, match="schools.other is not in these data, so no area earns closing-the-gap credit"):
        build_report_cards(no_ci, {"results": SCORE.id}, closing_gap="schools.other", indicators=inds, n_sims=0)
    with pytest.raises(DataError, match="closing-the-gap indicator .*schools.disadvantage_gap.* no direction"):
        build_report_cards(frame, {"results": SCORE.id}, closing_gap=GAP.id, indicators={SCORE.id: SCORE}, n_sims=0)


@pytest.mark.filterwarnings("ignore::publicservices.stats.ranking.report_cards.ReportCardNote")
def test_schools_on_the_demo_credit_the_areas_whose_gap_truly_narrowed():
    d = ps.demo()
    result = ps.grade_areas(d, sector="schools")
    frame = result.frame
    assert frame.height == 150 and frame["grade"].null_count() == 0
    assert {"score_environment", "score_performance", "score_progress"} <= set(frame.columns)  # the NYC domains, no arguments
    assert any(n.startswith("Closing the gap: up to 5 points") for n in result.notes)
    assert "Closing the gap" in result.summary()
    # the demo simulated each area's own gap trend: compare with the truth
    truth = (
        d.truth["values"]
        .filter(pl.col("indicator_id") == "schools.disadvantage_gap")
        .sort("period")
        .group_by("area_code")
        .agg((pl.col("true_value").last() - pl.col("true_value").first()).alias("true_change"))
    )
    joined = frame.join(truth, on="area_code")
    credited = joined.filter(pl.col("gap_credited"))
    assert credited.height > 30 and (credited["true_change"] < 0).all()  # every credited gap truly narrowed
    assert (joined.filter(pl.col("gap_status") == "significantly widening")["true_change"] > 0).all()
    fast = joined.filter(pl.col("true_change") < -0.5)
    assert fast["gap_credited"].mean() > 0.9  # and gaps that truly narrowed fast are found
    assert (joined.filter(pl.col("true_change") > 0)["gap_credit"] == 0).all()
    # credit is extra: overall = weighted domains (15:25:60) + credit; grades keep their stability
    weighted = (15 * frame["score_environment"] + 25 * frame["score_performance"] + 60 * frame["score_progress"]) / 100
    np.testing.assert_allclose(frame["score"].to_numpy(), (weighted + frame["gap_credit"]).to_numpy())
    assert frame["p_grade_change_noise"].null_count() == 0
    # closing_gap=False gives the same domains without the credit
    plain = ps.grade_areas(d, sector="schools", closing_gap=False, n_sims=0).frame
    np.testing.assert_allclose(plain["score"].to_numpy(), weighted.to_numpy())


@pytest.mark.filterwarnings("ignore::publicservices.stats.ranking.report_cards.ReportCardNote")
def test_schools_on_real_files_say_plainly_why_no_gap_can_be_judged(shared_data):
    files = ["schools_gcse_english_maths.csv", "schools_ks2_expected_standard.csv", "schools_persistent_absence.csv"]
    data = ps.read_many([shared_data(f) for f in files]).dataset
    result = ps.grade_areas(data, sector="schools", n_sims=50)
    assert result.frame["grade"].null_count() <= 5
    notes = " ".join(result.notes)
    assert "Closing the gap: schools.disadvantage_gap is not in these data, so no area earns closing-the-gap credit" in notes
    assert "domain progress" in notes and "lower tier: environment" in notes
    # the published FSM and all-pupil absence rates make a gap, but no interval: nothing can be judged
    v = data.values.filter(pl.col("indicator_id").is_in(["schools.persistent_absence_fsm", "schools.persistent_absence"]))
    gap = (
        v.pivot("indicator_id", index=["area_code", "period", "period_start"], values="value")
        .select(
            "area_code",
            "period",
            "period_start",
            (pl.col("schools.persistent_absence_fsm") - pl.col("schools.persistent_absence")).alias("value"),
        )
        .drop_nulls("value")
        .with_columns(indicator_id=pl.lit("schools.absence_gap"))
    )
    absence_gap = Indicator(
        id="schools.absence_gap", title="Absence gap", sector="schools", measure="score", polarity="lower_is_better"
    )
    both = ps.Dataset(
        pl.concat([data.values, gap], how="diagonal_relaxed"),
        areas=data.areas,
        indicators={**data.indicators, absence_gap.id: absence_gap},
    )
    result = ps.grade_areas(both, sector="schools", closing_gap=absence_gap.id, n_sims=0)
    note = next(n for n in result.notes if n.startswith("Closing the gap"))
    assert "No area can be judged, so none earns it" in note and "no interval or standard error" in note
    assert (result.frame["gap_credit"] == 0).all()


def test_the_plugin_contract_checks_the_gap_indicator():
    from publicservices.plugin_api import Model, Sector, check_plugin, sector_plugin

    share = Indicator(
        id="toy.share", title="Share", sector="toy", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    gap = Indicator(id="toy.gap", title="Gap", sector="toy", measure="score")  # no direction
    scheme = ReportCardScheme(domains={"a": "toy.share"}, closing_gap="toy.gap")
    models = {"toy.share": Model(baseline=70.0, tau=0.2)}
    failures = " ".join(
        check_plugin(
            sector_plugin(Sector(id="toy", title="Toys", report_card=scheme), [share, gap], models=models), raise_on_failure=False
        ).failures
    )
    assert "closing-the-gap credit on 'toy.gap', which has no direction" in failures
    failures = " ".join(
        check_plugin(
            sector_plugin(Sector(id="toy", title="Toys", report_card=scheme), [share], models=models), raise_on_failure=False
        ).failures
    )
    assert "closing-the-gap credit on 'toy.gap', which the plugin does not register" in failures
