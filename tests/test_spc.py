"""XmR charts: limits, the four Making Data Count rules, polarity, many series at once.

The reference is a line-by-line Python transcription of NHSRplotthedots' point rules
(``ptd_spc_standard`` + ``ptd_calculate_point_type``), run one series at a time.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import SchemaError
from publicservices.stats import xmr


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _reference(y: list[float], direction: int, screen: bool = True) -> tuple[dict, list[str]]:
    n = len(y)
    mean = sum(y) / n
    mr = [abs(y[i] - y[i - 1]) for i in range(1, n)]
    amr = sum(mr) / len(mr)
    if screen:
        kept = [m for m in mr if m < 3.267 * amr]
        amr = sum(kept) / len(kept)
    lpl, upl = mean - 2.66 * amr, mean + 2.66 * amr
    nlpl, nupl = mean - 2 * 2.66 / 3 * amr, mean + 2 * 2.66 / 3 * amr
    outside = [v > upl or v < lpl for v in y]
    rtm = [_sign(v - mean) for v in y]
    close = [(not o) and (v < nlpl or v > nupl) for v, o in zip(y, outside, strict=True)]
    # seven points one side
    vp = [0] * 6 + rtm
    run_end = [all(vp[i] == vp[i - k] for k in range(1, 7)) and vp[i] != 0 for i in range(6, n + 6)]
    # seven point trend
    trend_end = [0] * n
    for i in range(6, n):
        d = [_sign(y[i - k] - y[i - k - 1]) for k in range(6)]
        trend_end[i] = 1 if all(x == 1 for x in d) else (-1 if all(x == -1 for x in d) else 0)

    def part(v: list) -> list[bool]:
        vp2 = list(v) + [0] * 6
        return [any(abs(int(vp2[i + k])) == 1 for k in range(7)) for i in range(n)]

    part_run, part_trend = part(run_end), part(trend_end)
    cp = [0, 0] + [int(c) for c in close] + [0, 0]
    rp = [0, 0] + rtm + [0, 0]
    tt = []
    for i in range(n):
        hit = False
        for a in range(3):
            if sum(cp[i + a : i + a + 3]) >= 2 and abs(sum(rp[i + a : i + a + 3])) == 3:
                hit = True
        tt.append(hit and close[i])
    sdy = [_sign(y[i + 1] - y[i]) for i in range(n - 1)]
    trend_dir = [
        (sdy[i] if (i + 1 < n and part_trend[i] and part_trend[i + 1]) else (sdy[i - 1] if i > 0 else 0)) for i in range(n)
    ]
    labels = []
    for i in range(n):
        if outside[i]:
            v = rtm[i]
        elif part_trend[i]:
            v = trend_dir[i]
        elif tt[i] or part_run[i]:
            v = rtm[i]
        else:
            v = 0
        if v == 0:
            labels.append("common cause")
        elif direction == 0:
            labels.append("neither")
        else:
            labels.append("improvement" if v * direction > 0 else "concern")
    rules = {
        "centre": mean,
        "mean_moving_range": amr,
        "rule_limits": outside,
        "rule_run": part_run,
        "rule_trend": part_trend,
        "rule_two_of_three": tt,
    }
    return rules, labels


def test_worked_example_limits_and_screening():
    y = [10.0, 11, 9, 10, 12, 10, 11, 9, 10, 11, 10, 20]
    out = xmr(pl.DataFrame({"t": range(12), "value": y}), order="t")
    mean = sum(y) / 12
    # moving ranges 1,2,1,2,2,1,2,1,1,1,10: the 10 is >= 3.267 x 24/11 and is screened out
    assert out.get_column("mean_moving_range")[0] == pytest.approx(1.4)
    assert out.get_column("upper_limit")[0] == pytest.approx(mean + 2.66 * 1.4)
    assert out.get_column("sigma")[0] == pytest.approx(1.4 / 1.128)
    assert out.get_column("spc_rule").to_list()[-1] == "above upper limit"
    assert out.get_column("variation").to_list()[-1] == "neither"  # no polarity
    unscreened = xmr(pl.DataFrame({"t": range(12), "value": y}), order="t", screen_outliers=False)
    assert unscreened.get_column("mean_moving_range")[0] == pytest.approx(24 / 11)


def test_run_of_seven_and_two_of_three():
    y = [10.0, 10.5, 9.5, 10, 11, 11.2, 11.1, 11.3, 11.4, 11.2, 11.3, 9, 10, 9.6]
    out = xmr(pl.DataFrame({"t": range(len(y)), "value": y}), order="t", polarity="higher_is_better")
    rules, labels = _reference(y, 1)
    assert out.get_column("rule_run").to_list() == rules["rule_run"]
    assert any(rules["rule_run"])
    assert out.get_column("variation").to_list() == labels
    z = [0.0, 0.2, -0.2, 0.1, -0.1, 0.0, 0.2, -0.2, 0.8, 0.3, 0.8, 0.1, -0.1, 0.2, -0.2, 0.0, 0.1, -0.1, 0.0, 0.1]
    out = xmr(pl.DataFrame({"t": range(len(z)), "value": z}), order="t", polarity="lower_is_better", screen_outliers=False)
    rules, labels = _reference(z, -1, screen=False)
    flagged = [i for i, r in enumerate(out.get_column("rule_two_of_three").to_list()) if r]
    assert flagged == [8, 10]  # the two near-limit points; the middle one is not near a limit
    assert not any(out.get_column("rule_limits").to_list())
    assert out.get_column("spc_rule").to_list()[8] == "two of three above"
    assert out.get_column("variation").to_list() == labels


def test_trend_direction_labels_by_polarity():
    y = [5.0, 6, 7, 8, 9, 10, 11, 8]
    hib = xmr(pl.DataFrame({"t": range(8), "value": y}), order="t", polarity="higher_is_better")
    assert hib.get_column("rule_trend").to_list() == [True] * 7 + [False]
    assert hib.get_column("spc_rule").to_list()[:7] == ["increasing trend"] * 7
    assert hib.get_column("variation").to_list()[:7] == ["improvement"] * 7


def test_many_series_equal_one_at_a_time_and_order_restored():
    rng = np.random.default_rng(3)
    frames = []
    for area in ["A", "B", "C"]:
        frames.append(pl.DataFrame({"area_code": [area] * 20, "t": list(range(20)), "value": rng.normal(50, 5, 20)}))
    f = pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=1)
    together = xmr(f, by=["area_code"], order="t", polarity="higher_is_better")
    assert together.select("area_code", "t").rows() == f.select("area_code", "t").rows()
    for area in ["A", "B", "C"]:
        alone = xmr(f.filter(pl.col("area_code") == area), by=[], order="t", polarity="higher_is_better").sort("t")
        part = together.filter(pl.col("area_code") == area).sort("t")
        assert part.drop("area_code").equals(alone.drop("area_code"))


def test_baseline_fixes_limits_and_polarity_column():
    y = [10.0, 11, 9, 10, 11, 9, 30, 31, 32]
    f = pl.DataFrame({"t": range(9), "value": y, "polarity": ["lower_is_better"] * 9})
    out = xmr(f, order="t", baseline=6)
    assert out.get_column("centre")[0] == pytest.approx(10.0)
    assert out.get_column("variation").to_list()[-3:] == ["concern"] * 3
    with pytest.raises(SchemaError, match="baseline"):
        xmr(f, order="t", baseline=1)
    with pytest.raises(SchemaError, match="neither a polarity"):
        xmr(f, order="t", polarity="up")


def test_nulls_are_kept_and_break_patterns():
    y = [1.0, 2, 3, None, 4, 5, 6, 7, 8]
    out = xmr(pl.DataFrame({"t": range(9), "value": y}), order="t")
    assert out.height == 9
    assert out.get_column("moving_range").to_list()[3:5] == [None, None]
    assert not any(out.get_column("rule_trend").to_list()[:3])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20).map(float), min_size=3, max_size=40),
    st.sampled_from([("higher_is_better", 1), ("lower_is_better", -1), ("no_judgement", 0)]),
)
def test_property_matches_reference_and_limits_symmetric(y, pol):
    if len(set(y)) == 1:
        return  # a flat series has a zero moving range; nothing to compare
    out = xmr(pl.DataFrame({"t": range(len(y)), "value": y}), order="t", polarity=pol[0])
    rules, labels = _reference(y, pol[1])
    c = out.get_column("centre")[0]
    assert c == pytest.approx(rules["centre"])
    lo, hi = out.get_column("lower_limit")[0], out.get_column("upper_limit")[0]
    assert (hi - c) == pytest.approx(c - lo)
    if not math.isnan(rules["mean_moving_range"]):
        assert out.get_column("mean_moving_range")[0] == pytest.approx(rules["mean_moving_range"])
    for name in ("rule_limits", "rule_run", "rule_trend", "rule_two_of_three"):
        assert out.get_column(name).to_list() == rules[name], name
    assert out.get_column("variation").to_list() == labels
