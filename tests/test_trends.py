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


def test_trends_over_different_windows_concatenate():
    f = series([10, 12, 14, 16, 18, 20], [100] * 6)
    parts = [recent_trend(f, points=p).with_columns(pl.lit(p).alias("points")) for p in (3, 5, 6, 20)]
    both = pl.concat(parts)  # one dtype of trend_reason, whatever the window
    assert both.filter(pl.col("points") == 6).get_column("trend_reason")[0] == "fewer than 6 consecutive periods"
    assert both.filter(pl.col("points") == 3).get_column("trend_reason")[1:3].to_list() == [
        "fewer than 3 consecutive periods",
        recent_trend(f, points=3).get_column("trend_reason").cast(pl.String)[2],
    ]
    assert both.filter(pl.col("points") == 3).get_column("trend_reason")[2] != "fewer than 3 consecutive periods"
    assert both.get_column("trend_reason").cast(pl.String).to_list() == [
        r for p in parts for r in p.get_column("trend_reason").cast(pl.String).to_list()
    ]


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


# -- the vectorised trends agree with a naive per-series reference --------------------------------


def _ieee_div(a: float, b: float) -> float:
    """a / b as floating point divides (Polars does): no ZeroDivisionError."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _gt(a: float, b: float) -> bool:
    """a > b in Polars' total order of floats (NaN above everything)."""
    return not math.isnan(b) and (math.isnan(a) or a > b)


def _fold(xs: list[float]) -> float:
    """Sum as pl.sum_horizontal adds (the two halves, recursively), so that slopes near zero
    get the same sign as in the library."""
    if len(xs) == 1:
        return xs[0]
    half = len(xs) // 2
    return _fold(xs[:half]) + _fold(xs[half:])


def _naive_slope(ts: list[float], ys: list[float]) -> float:
    n, st, stt = len(ts), _fold(ts), _fold([t * t for t in ts])
    sy, sty = _fold(ys), _fold([t * y for t, y in zip(ts, ys, strict=True)])
    return _ieee_div(n * sty - sy * st, n * stt - st * st)


def _naive_weighted(ts: list[float], ws: list[float], vs: list[float]) -> tuple[float, float]:
    s1 = _fold(ws)
    s2 = _fold([w * v * t for w, v, t in zip(ws, vs, ts, strict=True)])
    s3 = _fold([w * t for w, t in zip(ws, ts, strict=True)])
    s4 = _fold([w * v for w, v in zip(ws, vs, strict=True)])
    s5 = _fold([w * t * t for w, t in zip(ws, ts, strict=True)])
    det = s1 * s5 - s3 * s3
    slope = _ieee_div(s1 * s2 - s3 * s4, det)
    return slope, _ieee_div(slope * slope * det, s1)


def _naive_clean(ts: list[float], slope_of) -> bool:  # noqa: ANN001
    def sign(s: float) -> int:
        return -1 if _gt(0.0, s) else 1

    idx = list(range(len(ts)))
    signs = [sign(slope_of(idx))] + [sign(slope_of([j for j in idx if j != drop])) for drop in idx]
    return abs(sum(signs)) == len(signs)


def naive_trends(rows: list[dict], keys: list[str], points: int, threshold: float) -> list[dict]:
    """The Fingertips recent trend and the year-on-year change, series by series, row by row."""
    groups = [k for k in keys if k != "area_code"]
    periods: dict[tuple, set] = {}
    series: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        periods.setdefault(tuple(r[k] for k in groups), set()).add(r["period_start"])
        series.setdefault(tuple(r[k] for k in keys), []).append(i)
    index = {g: {p: j for j, p in enumerate(sorted(ps))} for g, ps in periods.items()}

    def idx(i: int) -> int:
        return index[tuple(rows[i][k] for k in groups)][rows[i]["period_start"]]

    ts = [float(j + 1) for j in range(points)]
    out: list[dict] = [{} for _ in rows]
    for ids in series.values():
        ids = sorted(ids, key=lambda i: rows[i]["period_start"])
        for pos, i in enumerate(ids):
            r, res = rows[i], out[i]
            # year on year: the row before in the series, when it holds the period just before
            prev = rows[ids[pos - 1]] if pos > 0 and idx(ids[pos - 1]) == idx(i) - 1 else None
            res["previous_period"] = prev["period"] if prev else None
            v1, v0 = r["value"], prev["value"] if prev else None
            d = None if v1 is None or v0 is None else v1 - v0
            res["yoy_change"] = d
            l1, u1 = r["lower_95"], r["upper_95"]
            l0, u0 = (prev["lower_95"], prev["upper_95"]) if prev else (None, None)
            low_ok, high_ok = d is not None and None not in (l1, u0), d is not None and None not in (u1, l0)
            res["yoy_lower_95"] = d - math.sqrt((v1 - l1) ** 2 + (u0 - v0) ** 2) if low_ok else None
            res["yoy_upper_95"] = d + math.sqrt((u1 - v1) ** 2 + (v0 - l0) ** 2) if high_ok else None
            # recent trend over the window of `points` rows ending here
            window = [rows[j] for j in ids[pos - points + 1 : pos + 1]] if pos >= points - 1 else []
            complete = bool(window) and idx(i) - idx(ids[pos - points + 1]) == points - 1
            O = [w["numerator"] for w in window]  # noqa: N806, E741
            N = [w["denominator"] for w in window]  # noqa: N806
            V, L, U = ([w[c] for w in window] for c in ("value", "lower_95", "upper_95"))  # noqa: N806
            method = chi2 = slope = clean = None
            prop_ok = r["measure"] == "proportion" and all(
                o is not None and n is not None and 0 < o < n for o, n in zip(O, N, strict=True)
            )
            w_ok = all(v is not None and lo is not None and u is not None and u > lo for v, lo, u in zip(V, L, U, strict=True))
            if complete and prop_ok:
                method = "chi-square for trend"
                nt, big_r = _fold(N), _fold(O)
                rt = _fold([o * t for o, t in zip(O, ts, strict=True)])
                nt1 = _fold([n * t for n, t in zip(N, ts, strict=True)])
                nt2 = _fold([n * t * t for n, t in zip(N, ts, strict=True)])
                chi2 = _ieee_div(nt * (nt * rt - big_r * nt1) ** 2, big_r * (nt - big_r) * (nt * nt2 - nt1 * nt1))
                ys = [math.log(o / (n - o)) for o, n in zip(O, N, strict=True)]
                slope = _naive_slope(ts, ys)
                clean = _naive_clean(ts, lambda js, ys=ys: _naive_slope([ts[j] for j in js], [ys[j] for j in js]))
            elif complete and w_ok:
                method = "weighted regression"
                ws = [(3.92 / (u - lo)) ** 2 for lo, u in zip(L, U, strict=True)]
                slope, chi2 = _naive_weighted(ts, ws, V)
                clean = _naive_clean(
                    ts, lambda js, ws=ws, vs=V: _naive_weighted([ts[j] for j in js], [ws[j] for j in js], [vs[j] for j in js])[0]
                )
            significant = chi2 is not None and _gt(chi2, threshold)
            if method is None:
                label = "Cannot be calculated"
            elif not significant or not clean:
                label = "No significant change"
            else:
                up, down = _gt(slope, 0.0), _gt(0.0, slope)
                direction = "Increasing" if up else "Decreasing"
                pol = r["polarity"]
                better = (up and pol == "higher_is_better") or (down and pol == "lower_is_better")
                judged = pol in ("higher_is_better", "lower_is_better")
                label = f"{direction} and getting {'better' if better else 'worse'}" if judged else direction
            if not complete:
                reason = f"fewer than {points} consecutive periods"
            elif method is None:
                reason = "missing or unusable counts or limits"
            elif not significant:
                reason = "not significant"
            elif not clean:
                reason = "direction changes when one point is left out"
            else:
                reason = "significant trend"
            res.update(trend_method=method, trend_chi2=chi2, recent_trend=label, trend_reason=reason)
    return out


@st.composite
def trend_frames(draw: st.DrawFn) -> tuple[pl.DataFrame, int, float]:
    """Small frames of several series: gaps, breakdowns, nulls, zero-width limits, rows in any order."""
    with_sex = draw(st.booleans())
    indicators = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["proportion", "rate"]), st.sampled_from(["higher_is_better", "lower_is_better", "no_judgement"])
            ),
            min_size=1,
            max_size=2,
        )
    )

    def rarely_missing(values: st.SearchStrategy) -> st.SearchStrategy:
        return st.tuples(st.integers(0, 9), values).map(lambda t: None if t[0] == 0 else t[1])

    count = rarely_missing(st.integers(0, 400))
    width = rarely_missing(st.one_of(st.floats(0.01, 30.0), st.just(0.0)))
    rows = []
    for k, (measure, polarity) in enumerate(indicators):
        for area in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True)):
            for sex in ["Male", "Female"] if with_sex else [None]:
                years = [y for y in range(2000, 2010) if draw(st.booleans()) or draw(st.booleans())]
                for y in years:
                    den = draw(st.integers(1, 400))
                    num = draw(count)
                    num = None if num is None else min(num, den)
                    value = 100.0 * num / den if num is not None else draw(st.one_of(st.none(), st.floats(0.0, 100.0)))
                    lo_w, hi_w = draw(width), draw(width)
                    rows.append(
                        {
                            "indicator_id": f"t.i{k}",
                            "area_code": area,
                            "sex": sex,
                            "period": str(y),
                            "period_start": dt.date(y, 1, 1),
                            "numerator": None if num is None else float(num),
                            "denominator": float(den),
                            "value": value,
                            "lower_95": None if value is None or lo_w is None else value - lo_w,
                            "upper_95": None if value is None or hi_w is None else value + hi_w,
                            "measure": measure,
                            "polarity": polarity,
                        }
                    )
    order = draw(st.permutations(range(len(rows))))
    schema = {
        "indicator_id": pl.String,
        "area_code": pl.String,
        "sex": pl.String,
        "period": pl.String,
        "period_start": pl.Date,
        **{c: pl.Float64 for c in ("numerator", "denominator", "value", "lower_95", "upper_95")},
        "measure": pl.String,
        "polarity": pl.String,
    }
    frame = pl.DataFrame([rows[i] for i in order], schema=schema, orient="row")
    if not with_sex:
        frame = frame.drop("sex")
    return frame, draw(st.integers(3, 6)), draw(st.sampled_from([0.95, 0.998]))


@settings(max_examples=80, deadline=None)
@given(trend_frames())
def test_trends_agree_with_a_naive_per_series_reference(case):
    frame, points, confidence = case
    from statistics import NormalDist

    threshold = NormalDist().inv_cdf(confidence + (1 - confidence) / 2) ** 2
    keys = [c for c in ("indicator_id", "area_code", "sex") if c in frame.columns]
    rows = frame.with_columns(pl.col("sex") if "sex" in frame.columns else pl.lit(None).alias("sex")).to_dicts()
    expected = naive_trends(rows, keys, points, threshold)
    got = year_on_year(recent_trend(frame, points=points, confidence=confidence), confidence=(0.95,))
    # rows keep their order; the columns of the input come first, unchanged
    assert got.select(frame.columns).equals(frame)
    for row, want in zip(got.iter_rows(named=True), expected, strict=True):
        for column, value in want.items():
            have = row[column]
            if isinstance(value, float) and have is not None:
                assert have == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True), (column, row)
            else:
                assert have == value, (column, row, want)
