"""Dispersion and inequality: PySAL agreement, NumPy references, and invariances."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from publicservices.stats import (
    atkinson,
    coefficient_of_variation,
    dispersion_measures,
    gini,
    inequality_indices,
    theil_l,
    theil_t,
    weighted_quantile,
)

ineq = pytest.importorskip("inequality")
from inequality.atkinson import atkinson as pysal_atkinson  # noqa: E402
from inequality.gini import Gini  # noqa: E402
from inequality.theil import Theil, TheilD  # noqa: E402

RNG = np.random.default_rng(20240501)


# -- direct NumPy references (quadratic or textbook forms, deliberately different code) ------------


def ref_gini(y, w):
    w = np.asarray(w, float)
    return float(np.sum(np.outer(w, w) * np.abs(y[:, None] - y[None, :])) / (2 * w.sum() ** 2 * np.average(y, weights=w)))


def ref_theil_t(y, w):
    f = np.asarray(w, float) / np.sum(w)
    m = np.sum(f * y)
    r = y / m
    return float(np.sum(f * np.where(r > 0, r * np.log(np.where(r > 0, r, 1)), 0)))


def ref_theil_l(y, w):
    f = np.asarray(w, float) / np.sum(w)
    return float(np.sum(f * np.log(np.sum(f * y) / y)))


def ref_atkinson(y, w, e):
    f = np.asarray(w, float) / np.sum(w)
    m = np.sum(f * y)
    if e == 1:
        return float(1 - np.exp(np.sum(f * np.log(y))) / m)
    return float(1 - np.sum(f * y ** (1 - e)) ** (1 / (1 - e)) / m)


def ref_weighted_quantile(y, w, q):
    o = np.argsort(y, kind="stable")
    y, w = y[o], np.asarray(w, float)[o]
    pos = (np.cumsum(w) - w / 2) / w.sum()
    return float(np.interp(q, pos, y))  # np.interp clamps outside [pos_1, pos_n]


# -- PySAL agreement (unweighted) ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_unweighted_indices_match_pysal(seed):
    rng = np.random.default_rng(seed)
    y = rng.lognormal(3, 0.6, size=2_000)
    regions = rng.integers(0, 9, size=y.size).astype(str)
    df = pl.DataFrame({"value": y, "region": regions})
    row = inequality_indices(df, by=[], group="region", weight=None).row(0, named=True)
    assert row["gini"] == pytest.approx(Gini(y).g, abs=1e-12)
    assert row["theil_t"] == pytest.approx(float(Theil(y).T), abs=1e-12)
    decomposed = TheilD(y, regions)
    assert row["theil_t_between"] == pytest.approx(float(decomposed.bg[0]), abs=1e-12)
    assert row["theil_t_within"] == pytest.approx(float(decomposed.wg[0]), abs=1e-12)
    for e, name in ((0.5, "atkinson_0_5"), (1.0, "atkinson_1"), (2.0, "atkinson_2")):
        assert row[name] == pytest.approx(pysal_atkinson(y, e), abs=1e-12)
    assert gini(y) == pytest.approx(Gini(y).g, abs=1e-12)
    assert theil_t(y) == pytest.approx(float(Theil(y).T), abs=1e-12)


def test_grouped_results_equal_single_group_results():
    # vectorised over groups: each group's row equals the same computation on that group alone
    n = 3_000
    df = pl.DataFrame(
        {
            "g": RNG.integers(0, 7, n),
            "value": RNG.gamma(2.0, 10.0, n),
            "w": RNG.uniform(100, 5000, n),
            "region": RNG.integers(0, 4, n).astype(str),
        }
    )
    grouped = inequality_indices(df, by="g", group="region", weight="w").sort("g")
    for g, sub in df.group_by("g"):
        alone = inequality_indices(sub, by=[], group="region", weight="w").row(0, named=True)
        row = grouped.filter(pl.col("g") == g[0]).row(0, named=True)
        for k, v in alone.items():
            if isinstance(v, float):
                assert row[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k


# -- weighted versions against direct NumPy references -------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_weighted_indices_match_numpy_reference(seed):
    rng = np.random.default_rng(100 + seed)
    y = rng.gamma(3.0, 5.0, size=400)
    w = rng.uniform(500, 20_000, size=400)
    assert gini(y, w) == pytest.approx(ref_gini(y, w), abs=1e-12)
    assert theil_t(y, w) == pytest.approx(ref_theil_t(y, w), abs=1e-12)
    assert theil_l(y, w) == pytest.approx(ref_theil_l(y, w), abs=1e-12)
    for e in (0.5, 1.0, 2.0):
        assert atkinson(y, e, w) == pytest.approx(ref_atkinson(y, w, e), abs=1e-12)


def test_integer_weights_equal_replicated_values():
    y = np.array([3.0, 1.0, 7.0, 2.0, 5.0])
    w = np.array([2, 1, 3, 1, 4])
    rep = np.repeat(y, w)
    assert gini(y, w) == pytest.approx(ref_gini(rep, np.ones(rep.size)), abs=1e-12)
    assert theil_t(y, w) == pytest.approx(theil_t(rep), abs=1e-12)
    assert theil_l(y, w) == pytest.approx(theil_l(rep), abs=1e-12)
    assert coefficient_of_variation(y, w) == pytest.approx(np.std(rep) / np.mean(rep), rel=1e-12)


def test_weighted_decomposition_matches_reference():
    n = 500
    y = RNG.gamma(2.0, 3.0, n)
    w = RNG.uniform(1, 10, n)
    g = RNG.integers(0, 5, n)
    row = inequality_indices(pl.DataFrame({"value": y, "w": w, "region": g.astype(str)}), by=[], group="region", weight="w").row(
        0, named=True
    )
    total_w, m = w.sum(), np.average(y, weights=w)
    tb = tw = lb = lw = vb = vw = 0.0
    for k in np.unique(g):
        sel = g == k
        p = w[sel].sum() / total_w
        mk = np.average(y[sel], weights=w[sel])
        s = p * mk / m
        tb += s * np.log(mk / m)
        tw += s * ref_theil_t(y[sel], w[sel])
        lb += p * np.log(m / mk)
        lw += p * ref_theil_l(y[sel], w[sel])
        vb += p * (mk - m) ** 2
        vw += p * np.average((y[sel] - mk) ** 2, weights=w[sel])
    for key, ref in (
        ("theil_t_between", tb),
        ("theil_t_within", tw),
        ("theil_l_between", lb),
        ("theil_l_within", lw),
        ("variance_between", vb),
        ("variance_within", vw),
    ):
        assert row[key] == pytest.approx(ref, abs=1e-12), key
    assert row["theil_l"] == pytest.approx(lb + lw, abs=1e-12)
    assert row["region_share_variance"] == pytest.approx(vb / (vb + vw), abs=1e-12)


def test_dispersion_matches_numpy():
    n = 1_001
    y = RNG.normal(50, 10, n)
    w = RNG.uniform(1, 5, n)
    row = dispersion_measures(pl.DataFrame({"g": [1] * n, "value": y, "population": w}), by="g").row(0, named=True)
    assert row["mean"] == pytest.approx(y.mean(), rel=1e-12)
    assert row["sd"] == pytest.approx(y.std(ddof=1), rel=1e-12)
    assert row["range"] == pytest.approx(y.max() - y.min(), rel=1e-12)
    for p in (10, 25, 50, 75, 90):
        assert row[f"p{p}"] == pytest.approx(np.quantile(y, p / 100, method="hazen"), rel=1e-12)
        assert row[f"p{p}_w"] == pytest.approx(ref_weighted_quantile(y, w, p / 100), rel=1e-12)
    assert row["iqr"] == pytest.approx(np.quantile(y, 0.75, method="hazen") - np.quantile(y, 0.25, method="hazen"), rel=1e-12)
    assert row["mean_w"] == pytest.approx(np.average(y, weights=w), rel=1e-12)
    assert row["sd_w"] == pytest.approx(np.sqrt(np.average((y - np.average(y, weights=w)) ** 2, weights=w)), rel=1e-12)
    assert row["cv_w"] == pytest.approx(coefficient_of_variation(y, w), rel=1e-12)
    assert row["p90_p10_w"] == pytest.approx(ref_weighted_quantile(y, w, 0.9) / ref_weighted_quantile(y, w, 0.1), rel=1e-12)


def test_dispersion_counts_rows_left_out():
    df = pl.DataFrame(
        {"g": ["a"] * 6, "value": [1.0, 2.0, None, float("nan"), 5.0, 6.0], "population": [1.0, None, 1.0, 1.0, 0.0, 2.0]}
    )
    row = dispersion_measures(df, by="g").row(0, named=True)
    assert (row["n"], row["n_missing"], row["n_no_weight"]) == (4, 2, 2)
    assert row["mean_w"] == pytest.approx((1 + 12) / 3)


def test_zero_and_negative_values_are_reported_not_dropped():
    df = pl.DataFrame(
        {"g": ["zero"] * 4 + ["neg"] * 4 + ["ok"] * 4, "value": [0.0, 1.0, 2.0, 3.0, -1.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 4.0]}
    )
    out = {r["g"]: r for r in inequality_indices(df, by="g", group=None, weight=None).iter_rows(named=True)}
    zero = out["zero"]
    assert zero["n_zero"] == 1 and zero["gini"] is not None and zero["theil_t"] is not None
    assert zero["atkinson_0_5"] is not None
    assert zero["theil_l"] is None and zero["atkinson_1"] is None and zero["atkinson_2"] is None
    assert "zero values" in zero["inequality_note"]
    neg = out["neg"]
    assert neg["n_negative"] == 1 and neg["gini"] is None and neg["theil_t"] is None
    assert "negative values" in neg["inequality_note"]
    assert out["ok"]["inequality_note"] is None
    # Theil T with a zero equals the limit 0 log 0 = 0
    assert zero["theil_t"] == pytest.approx(ref_theil_t(np.array([0.0, 1, 2, 3]), np.ones(4)), abs=1e-15)


def test_weighted_quantile_examples():
    assert weighted_quantile([5.0], 0.3) == 5.0
    assert weighted_quantile([1.0, 2.0], 0.0) == 1.0 and weighted_quantile([1.0, 2.0], 1.0) == 2.0
    assert weighted_quantile([1.0, 2.0, 3.0, 4.0], 0.5, [1, 1, 1, 1]) == np.quantile([1.0, 2, 3, 4], 0.5, method="hazen")


# -- hypothesis properties ---------------------------------------------------------------------

positive = arrays(np.float64, st.integers(2, 60), elements=st.floats(0.01, 1e4, allow_nan=False))
weights_for = st.floats(0.5, 1e3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(y=positive, scale=st.floats(1e-3, 1e3), data=st.data())
def test_scale_invariance(y, scale, data):
    w = data.draw(arrays(np.float64, y.size, elements=weights_for))
    for f in (gini, theil_t, theil_l):
        assert f(y * scale) == pytest.approx(f(y), rel=1e-9, abs=1e-12)
        assert f(y * scale, w) == pytest.approx(f(y, w), rel=1e-9, abs=1e-12)
    assert coefficient_of_variation(y * scale) == pytest.approx(coefficient_of_variation(y), rel=1e-9)
    assert coefficient_of_variation(y * scale, w) == pytest.approx(coefficient_of_variation(y, w), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(y=positive, data=st.data())
def test_gini_bounds_and_permutation_invariance(y, data):
    w = data.draw(arrays(np.float64, y.size, elements=weights_for))
    g = gini(y)
    assert 0 <= g < 1 and g <= 1 - 1 / y.size + 1e-12
    assert 0 <= gini(y, w) < 1
    perm = data.draw(st.permutations(list(range(y.size))))
    assert gini(y[perm], w[perm]) == pytest.approx(gini(y, w), abs=1e-12)
    assert theil_t(y[perm], w[perm]) == pytest.approx(theil_t(y, w), abs=1e-12)
    assert theil_l(y[perm], w[perm]) == pytest.approx(theil_l(y, w), abs=1e-12)
    for e in (0.5, 1.0, 2.0):
        assert 0 <= atkinson(y, e, w) < 1


@settings(max_examples=60, deadline=None)
@given(y=positive, data=st.data())
def test_decomposition_adds_up(y, data):
    w = data.draw(arrays(np.float64, y.size, elements=weights_for))
    groups = data.draw(arrays(np.int64, y.size, elements=st.integers(0, 4)))
    df = pl.DataFrame({"value": y, "w": w, "region": groups.astype(str)})
    for weight in (None, "w"):
        row = inequality_indices(df, by=[], group="region", weight=weight).row(0, named=True)
        assert row["theil_t_between"] + row["theil_t_within"] == pytest.approx(row["theil_t"], abs=1e-12)
        assert row["theil_l_between"] + row["theil_l_within"] == pytest.approx(row["theil_l"], abs=1e-12)
        assert row["theil_t_between"] >= -1e-15 and row["theil_l_between"] >= -1e-15
        if row["variance_between"] + row["variance_within"] > 0:
            assert 0 <= row["region_share_variance"] <= 1 + 1e-12
        else:  # all values equal: no variation to share out
            assert row["region_share_variance"] is None


@settings(max_examples=40, deadline=None)
@given(y=positive, data=st.data())
def test_dispersion_permutation_invariance_and_scale(y, data):
    w = data.draw(arrays(np.float64, y.size, elements=weights_for))
    perm = np.array(data.draw(st.permutations(list(range(y.size)))))
    a = dispersion_measures(pl.DataFrame({"g": [0] * y.size, "value": y, "population": w}), by="g")
    b = dispersion_measures(pl.DataFrame({"g": [0] * y.size, "value": y[perm] * 3.0, "population": w[perm]}), by="g")
    for col in ("cv", "cv_w", "p90_p10", "p90_p10_w"):
        if a[col][0] is not None:
            assert b[col][0] == pytest.approx(a[col][0], rel=1e-9)
    for col in ("iqr", "iqr_w", "sd", "sd_w", "range"):
        assert b[col][0] == pytest.approx(3.0 * a[col][0], rel=1e-9, abs=1e-9)


# -- missing values are never read as equality ---------------------------------------------------


def _single_indices():
    return {
        "gini": gini,
        "theil_t": theil_t,
        "theil_l": theil_l,
        **{f"atkinson_{e:g}".replace(".", "_"): (lambda v, w=None, e=e: atkinson(v, e, w)) for e in (0.5, 1.0, 2.0)},
    }


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_infinite_values_and_weights_give_nan_never_zero(bad):
    # issue: theil_l([1, 2, nan]), atkinson(...) and gini(..., weights with NaN) returned 0.0
    assert np.isnan(theil_l([1.0, 2.0, bad]))
    assert np.isnan(gini([1.0, 2.0, 3.0], [1.0, bad, 1.0]))
    for name, f in _single_indices().items():
        assert np.isnan(f(np.array([1.0, 2.0, bad]))), name
        assert np.isnan(f(np.array([1.0, 2.0, bad]), np.ones(3))), name
        assert np.isnan(f(np.array([1.0, 2.0, 3.0]), np.array([1.0, bad, 1.0]))), name
        assert np.isnan(f(np.array([2.0, 2.0, bad]))), name  # NaN, not the 0 of the equal values


def test_grouped_rows_without_a_value_are_left_out_and_said_never_read_as_equality():
    nan = float("nan")
    df = pl.DataFrame(
        {
            "g": ["one"] * 2 + ["some"] * 4 + ["weight"] * 3 + ["full"] * 3,
            "value": [4.0, nan, 1.0, 2.0, 3.0, None, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
            "w": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, nan, 2.0, 1.0, 1.0, 1.0],
            "region": ["N", "S"] * 6,
        }
    )
    out = {r["g"]: r for r in inequality_indices(df, by="g", group="region", weight="w").iter_rows(named=True)}
    one = out["one"]
    for col in (
        "gini",
        "theil_t",
        "theil_l",
        "atkinson_0_5",
        "atkinson_1",
        "atkinson_2",
        "theil_t_between",
        "theil_t_within",
        "region_share_variance",
    ):
        assert one[col] is None, col  # one area left: not measurable, never "perfect equality"
    assert one["inequality_note"].startswith("fewer than 2 areas with a value")
    assert one["inequality_note"].endswith("left out: 1 without a value")
    some = out["some"]
    assert some["gini"] == pytest.approx(gini([1.0, 2.0, 3.0]), abs=1e-15)
    assert some["theil_l"] == pytest.approx(theil_l([1.0, 2.0, 3.0]), abs=1e-15)
    assert some["inequality_note"] == "left out: 1 without a value"
    weight = out["weight"]
    assert weight["gini"] == pytest.approx(gini([1.0, 3.0], [1.0, 2.0]), abs=1e-15)
    assert weight["inequality_note"] == "left out: 1 without a positive weight"
    assert out["full"]["inequality_note"] is None
    unweighted = {r["g"]: r for r in inequality_indices(df, by="g", group=None, weight=None).iter_rows(named=True)}
    assert unweighted["weight"]["inequality_note"] is None and unweighted["one"]["gini"] is None


@settings(max_examples=80, deadline=None)
@given(y=positive, data=st.data())
def test_inserting_a_nan_never_reads_as_equality(y, data):
    w = data.draw(arrays(np.float64, y.size, elements=weights_for))
    i = data.draw(st.integers(0, y.size))
    y_nan, w_one = np.insert(y, i, np.nan), np.insert(w, i, 1.0)
    y_one, w_nan = np.insert(y, i, 1.0), np.insert(w, i, np.nan)
    for name, f in _single_indices().items():
        assert np.isnan(f(y_nan)) and np.isnan(f(y_nan, w_one)) and np.isnan(f(y_one, w_nan)), name
    # the frame function leaves the NaN row out: its indices are those of the finite values,
    # so 0 only when all of those are equal
    frame = pl.DataFrame({"value": y_nan, "w": w_one})
    for weight, ref_w in ((None, None), ("w", w)):
        row = inequality_indices(frame, by=[], group=None, weight=weight).row(0, named=True)
        for name, f in _single_indices().items():
            assert row[name] == pytest.approx(f(y, ref_w), rel=1e-9, abs=1e-12), name
            if row[name] == 0.0:
                assert np.ptp(y) <= 1e-9 * y.max(), name
        assert row["inequality_note"] == "left out: 1 without a value"
