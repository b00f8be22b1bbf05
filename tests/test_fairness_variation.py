"""True between-area variation: DL, REML, Q-profile limits, I2, phi, SCV, reliability."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize, stats

from publicservices.errors import PublicServicesError
from publicservices.stats.variation import (
    between_area_variation,
    reliability,
    standard_error,
    systematic_component,
)

# -- per-group NumPy / SciPy references ---------------------------------------------------------


def ref_dl(y, v):
    w = 1 / v
    mu = np.sum(w * y) / w.sum()
    q = np.sum(w * (y - mu) ** 2)
    tau2 = max(0.0, (q - (y.size - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    return q, tau2


def q_gen(t, y, v):
    w = 1 / (v + t)
    mu = np.sum(w * y) / w.sum()
    return np.sum(w * (y - mu) ** 2)


def ref_q_profile(y, v, level=0.95):
    df = y.size - 1
    lo_t, hi_t = stats.chi2.ppf(1 - (1 - level) / 2, df), stats.chi2.ppf((1 - level) / 2, df)
    out = []
    for target in (lo_t, hi_t):
        if q_gen(0.0, y, v) <= target:
            out.append(0.0)
        else:
            out.append(optimize.brentq(lambda t: q_gen(t, y, v) - target, 0.0, 1e6 * (np.var(y) + v.max()), xtol=1e-14, rtol=1e-14))
    return out


def ref_reml(y, v):
    def negll(t):
        w = 1 / (v + t)
        mu = np.sum(w * y) / w.sum()
        return 0.5 * (np.sum(np.log(v + t)) + np.log(w.sum()) + np.sum(w * (y - mu) ** 2))

    res = optimize.minimize_scalar(negll, bounds=(0.0, 100 * (np.var(y) + v.max())), method="bounded",
                                   options={"xatol": 1e-12})
    return res.x if negll(res.x) < negll(0.0) else 0.0


def groups(seed: int, n_groups: int = 6):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        k = int(rng.integers(5, 60))
        tau = [0.0, 0.5, 2.0][g % 3]
        se = rng.uniform(0.3, 2.0, k)
        y = 10 + rng.normal(0, tau, k) + rng.normal(0, se)
        rows.append(pl.DataFrame({"g": [g] * k, "value": y, "se": se}))
    return pl.concat(rows)


@pytest.mark.parametrize("seed", range(4))
def test_dl_and_q_profile_match_references(seed):
    df = groups(seed)
    out = between_area_variation(df, by="g").sort("g")
    for g, sub in df.group_by("g", maintain_order=True):
        y, v = sub["value"].to_numpy(), sub["se"].to_numpy() ** 2
        row = out.filter(pl.col("g") == g[0]).row(0, named=True)
        q, tau2 = ref_dl(y, v)
        lo, hi = ref_q_profile(y, v)
        assert row["q"] == pytest.approx(q, rel=1e-12)
        assert row["tau2"] == pytest.approx(tau2, rel=1e-12, abs=1e-15)
        assert row["tau2_lower_95"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
        assert row["tau2_upper_95"] == pytest.approx(hi, rel=1e-9, abs=1e-12)
        assert row["q_p"] == pytest.approx(stats.chi2.sf(q, y.size - 1), rel=1e-9)
        # I2 for DL is Higgins' (Q - df) / Q, truncated at 0
        assert row["i2"] == pytest.approx(max(0.0, (q - (y.size - 1)) / q), abs=1e-12)
        # (the DL point estimate may fall outside the Q-profile interval; the interval brackets
        # the Paule-Mandel root of Q_gen(tau2) = k - 1)
        pm = 0.0 if q_gen(0.0, y, v) <= y.size - 1 else optimize.brentq(lambda t: q_gen(t, y, v) - (y.size - 1), 0, 1e6)
        assert row["tau2_lower_95"] <= pm * (1 + 1e-9) and pm <= row["tau2_upper_95"] * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_reml_matches_direct_likelihood_maximisation(seed):
    df = groups(100 + seed)
    out = between_area_variation(df, by="g", method="REML").sort("g")
    for g, sub in df.group_by("g", maintain_order=True):
        y, v = sub["value"].to_numpy(), sub["se"].to_numpy() ** 2
        row = out.filter(pl.col("g") == g[0]).row(0, named=True)
        assert row["tau2"] == pytest.approx(ref_reml(y, v), rel=1e-5, abs=1e-7)
        assert row["variation_note"] is None


def test_equal_se_closed_forms_and_true_cv():
    # with equal se, Q(t) = S / (se^2 + t): limits S / chi2 - se^2 exactly
    y = np.array([10.0, 12.0, 15.0, 9.0, 14.0])
    df = pl.DataFrame({"value": y, "se": [1.0] * 5, "national": [12.5] * 5})
    row = between_area_variation(df, by=[], reference="national").row(0, named=True)
    s = np.sum((y - y.mean()) ** 2)
    assert row["tau2_lower_95"] == pytest.approx(s / stats.chi2.ppf(0.975, 4) - 1, rel=1e-12)
    assert row["tau2_upper_95"] == pytest.approx(s / stats.chi2.ppf(0.025, 4) - 1, rel=1e-12)
    assert row["true_cv"] == pytest.approx(math.sqrt(5.5) / 12.5, rel=1e-12)
    assert row["true_cv_upper_95"] == pytest.approx(math.sqrt(row["tau2_upper_95"]) / 12.5, rel=1e-12)
    assert row["phi"] == pytest.approx(np.mean((y - 12.5) ** 2), rel=1e-12)
    assert row["reliability_mean"] == pytest.approx(5.5 / 6.5, rel=1e-12)


def test_other_levels_and_no_variation():
    df = pl.DataFrame({"value": [5.0, 5.0, 5.0, 5.0], "se": [1.0, 2.0, 1.0, 3.0]})
    row = between_area_variation(df, by=[], level=0.9).row(0, named=True)
    assert "tau2_lower" in row and "tau2_lower_95" not in row
    assert row["tau2"] == 0.0 and row["tau2_lower"] == 0.0 and row["tau2_upper"] == 0.0 and row["i2"] == 0.0


def test_too_few_areas_and_missing_se_are_reported():
    df = pl.DataFrame({"g": ["a", "b", "b", "b"], "value": [1.0, 2.0, 3.0, 4.0], "se": [1.0, None, 0.0, 1.0]})
    out = {r["g"]: r for r in between_area_variation(df, by="g").iter_rows(named=True)}
    assert out["a"]["tau2"] is None and "fewer than 2 areas" in out["a"]["variation_note"]
    assert out["b"]["n_no_se"] == 2 and out["b"]["k"] == 1 and out["b"]["tau2"] is None


def test_bad_arguments():
    df = pl.DataFrame({"value": [1.0, 2.0], "se": [1.0, 1.0]})
    with pytest.raises(PublicServicesError, match="method must be one of DL, REML"):
        between_area_variation(df, by=[], method="PM")  # type: ignore[arg-type]
    with pytest.raises(PublicServicesError, match="level must lie strictly between 0 and 1"):
        between_area_variation(df, by=[], level=95)


def test_reliability_and_shrinkage():
    df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0, 1.0, 1.0, 1.0, 2.0]})
    est = between_area_variation(df, by="g").row(0, named=True)
    out = reliability(df, by="g")
    r = est["tau2"] / (est["tau2"] + df["se"].to_numpy() ** 2)
    np.testing.assert_allclose(out["reliability"].to_numpy(), r, rtol=1e-12)
    np.testing.assert_allclose(out["shrunk"].to_numpy(), est["mu"] + r * (df["value"].to_numpy() - est["mu"]), rtol=1e-12)
    assert est["reliability_mean"] == pytest.approx(r.mean(), rel=1e-12)


def test_systematic_component_of_variation():
    rng = np.random.default_rng(5)
    o = rng.poisson(200, 40).astype(float)
    n = rng.uniform(5e4, 2e5, 40)
    e = n * o.sum() / n.sum()
    ref = np.mean(((o - e) / e) ** 2 - 1 / e)
    df = pl.DataFrame({"g": [1] * 40, "numerator": o, "denominator": n})
    assert systematic_component(df, by="g")["scv"][0] == pytest.approx(ref, rel=1e-12)
    p = o.sum() / n.sum()
    ref_b = np.mean(((o - e) / e) ** 2 - (1 - p) / e)
    assert systematic_component(df, by="g", binomial=True)["scv"][0] == pytest.approx(ref_b, rel=1e-12)
    # SCV estimates the squared true CV of area rates: large samples recover it
    rates = np.exp(rng.normal(0, 0.2, 4000))
    rates /= rates.mean()
    big_n = np.full(4000, 1e6)
    obs = rng.poisson(big_n * 1e-3 * rates).astype(float)
    scv = systematic_component(pl.DataFrame({"g": [1] * 4000, "numerator": obs, "denominator": big_n}), by="g")["scv"][0]
    assert scv == pytest.approx(np.var(rates), rel=0.1)


def test_standard_error_rules():
    df = pl.DataFrame({
        "numerator": [5.0, 30.0, None, 20.0], "denominator": [100.0, 10_000.0, None, 1000.0],
        "value": [5.0, 300.0, 80.0, 2000.0], "lower_ci": [None, None, 79.0, 1200.0], "upper_ci": [None, None, 81.0, 3000.0],
        "national": [10.0, 250.0, 80.0, 1900.0],
    })
    got = df.select(
        standard_error("proportion", multiplier=100).alias("p"),
        standard_error("rate", multiplier=100_000).alias("r"),
        standard_error("mean").alias("m"),
        standard_error("dsr", multiplier=100_000).alias("d"),
    )
    assert got["p"][0] == pytest.approx(100 * math.sqrt(0.1 * 0.9 / 100))
    assert got["r"][1] == pytest.approx(1e5 * math.sqrt(0.0025 / 10_000))
    assert got["m"][2] == pytest.approx(2 / (2 * stats.norm.ppf(0.975)))
    assert got["d"][3] == pytest.approx(2000 / math.sqrt(20))
    assert got["p"][2] == pytest.approx(2 / (2 * stats.norm.ppf(0.975)))  # no counts: from the interval


@settings(max_examples=60, deadline=None)
@given(
    y=arrays(np.float64, st.integers(2, 40), elements=st.floats(-100, 100, allow_nan=False)),
    data=st.data(),
)
def test_tau2_is_never_negative_and_limits_bracket_it(y, data):
    se = data.draw(arrays(np.float64, y.size, elements=st.floats(0.05, 20, allow_nan=False)))
    df = pl.DataFrame({"value": y, "se": se})
    for method in ("DL", "REML"):
        row = between_area_variation(df, by=[], method=method).row(0, named=True)
        assert row["tau2"] >= 0 and row["tau2_lower_95"] >= 0
        assert row["tau2_lower_95"] <= row["tau2_upper_95"] * (1 + 1e-9) + 1e-12
        assert 0 <= row["i2"] <= 1
    perm = np.array(data.draw(st.permutations(list(range(y.size)))))
    a = between_area_variation(df, by=[]).row(0, named=True)
    b = between_area_variation(pl.DataFrame({"value": y[perm], "se": se[perm]}), by=[]).row(0, named=True)
    assert b["tau2"] == pytest.approx(a["tau2"], rel=1e-9, abs=1e-9)
    assert b["tau2_upper_95"] == pytest.approx(a["tau2_upper_95"], rel=1e-7, abs=1e-9)
