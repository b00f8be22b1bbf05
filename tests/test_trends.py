"""Recent trends (Fingertips) and year-on-year change (MOVER / Newcombe)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import SchemaError
from publicservices.stats import recent_trend, year_on_year
from publicservices.stats.outcomes.trends import TREND_LABELS

Z95 = 1.959963984540054


def wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score limits (test helper; the library's own live in stats.intervals)."""
    p, c = x / n, z * z
    centre = (2 * x + c) / (2 * (n + c))
    half = z * math.sqrt(c + 4 * x * (1 - p)) / (2 * (n + c))
    return centre - half, centre + half


def series(num, den, *, area="A", start=2015, polarity="higher_is_better", measure="proportion", mult=100.0):
    n = len(num)
    lims = [wilson(x, d) for x, d in zip(num, den, strict=True)]
    return pl.DataFrame(
        {
            "indicator_id": ["h.x"] * n,
            "area_code": [area] * n,
            "period": [str(start + i) for i in range(n)],
            "period_start": [dt.date(start + i, 1, 1) for i in range(n)],
            "numerator": [float(x) for x in num],
            "denominator": [float(d) for d in den],
            "value": [x / d * mult for x, d in zip(num, den, strict=True)],
            "lower_95": [lo * mult for lo, _ in lims],
            "upper_95": [hi * mult for _, hi in lims],
            "measure": [measure] * n,
            "multiplier": [mult] * n,
            "polarity": [polarity] * n,
        }
    )


def test_chi_square_for_trend_matches_r_prop_trend_test():
    # R documentation example: prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82)) -> X-squared = 8.2249
    f = series([83, 90, 129, 70], [86, 93, 136, 82])
    out = recent_trend(f, points=4)
    last = out.row(-1, named=True)
    assert last["trend_chi2"] == pytest.approx(8.2249, abs=5e-5)
    assert last["trend_method"] == "chi-square for trend"
    assert last["recent_trend"] == "No significant change"  # 8.22 < 9.5495 (99.8%)
    at95 = recent_trend(f, points=4, confidence=0.95).row(-1, named=True)
    assert at95["trend_chi2"] > 3.8415


def test_chi_square_equals_n_r_squared_of_individual_data():
    num, den = [120, 140, 150, 171, 190], [1000, 1010, 990, 1000, 1005]
    out = recent_trend(series(num, den)).row(-1, named=True)
    t = np.concatenate([np.full(d, i + 1.0) for i, d in enumerate(den)])
    y = np.concatenate([np.r_[np.ones(x), np.zeros(d - x)] for x, d in zip(num, den, strict=True)])
    r = np.corrcoef(t, y)[0, 1]
    assert out["trend_chi2"] == pytest.approx(len(t) * r * r, rel=1e-9)
    assert out["recent_trend"] == "Increasing and getting better"


def test_fingertips_worked_example_decreasing():
    # the PHEindicatormethods assign_trend_markers() documentation example
    count = [1367, 1332, 1199, 1023, 994]
    denom = [44701, 44064, 42811, 41527, 40299]
    f = series(count, denom, polarity="lower_is_better")
    assert recent_trend(f).get_column("recent_trend")[-1] == "Decreasing and getting better"
    other = pl.DataFrame(
        {
            "area_code": ["A"] * 5,
            "period_start": [dt.date(y, 1, 1) for y in range(1, 6)],
            "value": [30.6, 30.2, 28, 24.6, 24.67],
            "lower_95": [28.98, 28.63, 26.44, 23.15, 23.16],
            "upper_95": [32.25, 31.9, 29.64, 26.19, 26.25],
            "polarity": ["no_judgement"] * 5,
            "measure": ["rate"] * 5,
        }
    )
    last = recent_trend(other).row(-1, named=True)
    assert (last["recent_trend"], last["trend_method"]) == ("Decreasing", "weighted regression")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1, 100), min_size=5, max_size=5),
    st.lists(st.floats(0.5, 10), min_size=5, max_size=5),
)
def test_weighted_regression_agrees_with_numpy_wls(values, widths):
    f = pl.DataFrame(
        {
            "area_code": ["A"] * 5,
            "period_start": [dt.date(2000 + i, 1, 1) for i in range(5)],
            "value": values,
            "lower_95": [v - w for v, w in zip(values, widths, strict=True)],
            "upper_95": [v + w for v, w in zip(values, widths, strict=True)],
            "polarity": ["no_judgement"] * 5,
        }
    )
    got = recent_trend(f).row(-1, named=True)
    t = np.arange(1, 6.0)
    w = (3.92 / (2 * np.array(widths))) ** 2
    X = np.c_[np.ones(5), t]
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    b = cov @ X.T @ (w * np.array(values))
    chi2 = b[1] ** 2 / cov[1, 1]
    assert got["trend_chi2"] == pytest.approx(chi2, rel=1e-7, abs=1e-9)
    assert got["recent_trend"] in TREND_LABELS
    if chi2 <= 9.5495:
        assert got["recent_trend"] == "No significant change"


def test_outlier_check_blocks_a_trend_driven_by_one_point():
    # flat, then one huge final value: significant chi-square, but leaving out the last point
    # turns the slope negative -> Fingertips reports no significant change
    f = pl.DataFrame(
        {
            "area_code": ["A"] * 5,
            "period_start": [dt.date(2000 + i, 1, 1) for i in range(5)],
            "value": [10.2, 10.0, 9.9, 9.8, 30.0],
            "lower_95": [9.9, 9.7, 9.6, 9.5, 29.0],
            "upper_95": [10.5, 10.3, 10.2, 10.1, 31.0],
            "polarity": ["higher_is_better"] * 5,
        }
    )
    last = recent_trend(f).row(-1, named=True)
    assert last["trend_chi2"] > 9.5495
    assert last["recent_trend"] == "No significant change"
    assert last["trend_reason"] == "direction changes when one point is left out"


def test_cannot_be_calculated_cases():
    f = series([10, 12, 14, 16], [100] * 4)
    assert recent_trend(f).get_column("recent_trend").to_list() == ["Cannot be calculated"] * 4
    # a gap in the periods (2017 missing for this area, present for another)
    g = pl.concat(
        [
            series([10, 12, 14, 16, 18, 20], [100] * 6, area="B"),
            series([10, 12, 14, 16, 18, 20], [100] * 6, area="A").filter(pl.col("period") != "2017"),
        ]
    )
    out = recent_trend(g).filter(pl.col("area_code") == "A")
    assert out.get_column("recent_trend").to_list() == ["Cannot be calculated"] * 5
    assert out.get_column("trend_reason")[-1] == "fewer than 5 consecutive periods"
    # a proportion with numerator = denominator; no limits to fall back on
    h = series([10, 12, 14, 16, 100], [100] * 5).drop("lower_95", "upper_95")
    assert recent_trend(h).get_column("recent_trend")[-1] == "Cannot be calculated"
    with pytest.raises(SchemaError, match="points"):
        recent_trend(f, points=2)


def test_polarity_words_and_many_series_at_once():
    up = [100, 130, 160, 190, 220]
    frames = [
        series(up, [1000] * 5, area="A", polarity="higher_is_better"),
        series(up, [1000] * 5, area="B", polarity="lower_is_better"),
        series(up[::-1], [1000] * 5, area="C", polarity="no_judgement"),
    ]
    out = recent_trend(pl.concat(frames).reverse())
    last = {r["area_code"]: r["recent_trend"] for r in out.filter(pl.col("period") == "2019").iter_rows(named=True)}
    assert last == {"A": "Increasing and getting better", "B": "Increasing and getting worse", "C": "Decreasing"}
    # row order preserved
    assert out.get_column("area_code").to_list() == pl.concat(frames).reverse().get_column("area_code").to_list()


def test_year_on_year_is_newcombe_method_10_with_wilson_limits():
    # Newcombe (1998) Stat Med 17:873, example (a): 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339
    f = series([48, 56], [80, 70], mult=1.0)
    out = year_on_year(f, confidence=(0.95,)).row(-1, named=True)
    assert out["yoy_change"] == pytest.approx(0.2)
    assert out["yoy_lower_95"] == pytest.approx(0.0524, abs=5e-5)
    assert out["yoy_upper_95"] == pytest.approx(0.3339, abs=5e-5)
    assert out["previous_period"] == "2015"


def test_year_on_year_needs_the_adjacent_period():
    g = pl.concat(
        [series([10, 12, 14], [100] * 3, area="B"), series([10, 12, 14], [100] * 3, area="A").filter(pl.col("period") != "2016")]
    )
    out = year_on_year(g).filter(pl.col("area_code") == "A")
    assert out.get_column("yoy_change").to_list() == [None, None]
    assert out.get_column("yoy_lower_998").to_list() == [None, None]  # no 99.8% limits in the frame


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(1, 200), st.integers(0, 200), st.integers(1, 200))
def test_year_on_year_interval_brackets_change(x0, n0, x1, n1):
    x0, x1 = min(x0, n0), min(x1, n1)
    out = year_on_year(series([x0, x1], [n0, n1]), confidence=(0.95,)).row(-1, named=True)
    assert out["yoy_lower_95"] <= out["yoy_change"] + 1e-9 <= out["yoy_upper_95"] + 2e-9
    assert -100 - 1e-9 <= out["yoy_lower_95"] and out["yoy_upper_95"] <= 100 + 1e-9
