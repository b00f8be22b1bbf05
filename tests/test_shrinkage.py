"""Empirical-Bayes shrinkage: fits against independent likelihoods, and gains on known truth."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats.shrinkage import dersimonian_laird, shrink

PROP = Indicator(id="health.uptake", title="Uptake", sector="health", measure="proportion", multiplier=100,
                 polarity="higher_is_better")


def beta_binomial_data(seed, k=400, a=20.0, b=60.0):
    rng = np.random.default_rng(seed)
    p = rng.beta(a, b, k)
    n = rng.integers(10, 1500, k).astype(float)
    x = rng.binomial(n.astype(int), p).astype(float)
    return p, pl.DataFrame({"area_code": [f"A{i:04d}" for i in range(k)], "numerator": x, "denominator": n})


def poisson_gamma_data(seed, k=400, shape=8.0):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(shape, 1 / shape, k)
    e = rng.uniform(2, 150, k)
    o = rng.poisson(lam * e).astype(float)
    return lam, pl.DataFrame({"area_code": [f"A{i:04d}" for i in range(k)], "numerator": o, "denominator": e})


def top_overlap(truth, estimate, frac=0.1):
    k = max(1, int(round(frac * truth.size)))
    return len(set(np.argsort(-truth)[:k]) & set(np.argsort(-estimate)[:k])) / k


# ---------------------------------------------------------------- fits vs independent references
def test_beta_binomial_ml_matches_scipy_likelihood_maximum():
    _, df = beta_binomial_data(1)
    out = shrink(df, PROP)
    x, n = df["numerator"].to_numpy(), df["denominator"].to_numpy()
    a = out["posterior_a"][0] - x[0]
    b = out["posterior_b"][0] - (n[0] - x[0])

    def nll(t):
        return -stats.betabinom.logpmf(x, n, np.exp(t[0]), np.exp(t[1])).sum()

    ref = optimize.minimize(nll, [np.log(5.0), np.log(5.0)], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
    assert a == pytest.approx(np.exp(ref.x[0]), rel=1e-3)
    assert b == pytest.approx(np.exp(ref.x[1]), rel=1e-3)
    # posterior: Beta(a + x, b + n - x)
    np.testing.assert_allclose(out["value"].to_numpy(), 100 * (a + x) / (a + b + n), rtol=1e-9)
    np.testing.assert_allclose(out["upper_95"].to_numpy(), 100 * stats.beta.ppf(0.975, a + x, b + n - x), rtol=1e-7)
    np.testing.assert_allclose(out["shrinkage"].to_numpy(), (a + b) / (a + b + n), rtol=1e-9)


def test_poisson_gamma_ml_matches_negative_binomial_likelihood_maximum():
    _, df = poisson_gamma_data(2)
    out = shrink(df, measure="ratio", multiplier=1)
    o, e = df["numerator"].to_numpy(), df["denominator"].to_numpy()
    a = out["posterior_a"][0] - o[0]
    b = out["posterior_b"][0] - e[0]

    def nll(t):  # O ~ NegBin(size=a, prob=b/(b+E))
        aa, bb = np.exp(t)
        return -stats.nbinom.logpmf(o, aa, bb / (bb + e)).sum()

    ref = optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
    assert a == pytest.approx(np.exp(ref.x[0]), rel=1e-3)
    assert b == pytest.approx(np.exp(ref.x[1]), rel=1e-3)
    np.testing.assert_allclose(out["value"].to_numpy(), (a + o) / (b + e), rtol=1e-9)
    np.testing.assert_allclose(out["lower_95"].to_numpy(), stats.gamma.ppf(0.025, a + o, scale=1 / (b + e)), rtol=1e-7)


def direct_dl(y, se):
    w = [1 / s**2 for s in se]
    sw = sum(w)
    yw = sum(wi * yi for wi, yi in zip(w, y)) / sw
    q = sum(wi * (yi - yw) ** 2 for wi, yi in zip(w, y))
    tau2 = max(0.0, (q - (len(y) - 1)) / (sw - sum(wi * wi for wi in w) / sw))
    ws = [1 / (s**2 + tau2) for s in se]
    return sum(a * b for a, b in zip(ws, y)) / sum(ws), tau2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(0.1, 20)), min_size=2, max_size=40))
def test_dersimonian_laird_matches_direct_loop(pairs):
    y = [p[0] for p in pairs]
    se = [p[1] for p in pairs]
    mu, tau2, _ = dersimonian_laird(y, se)
    mu_ref, tau2_ref = direct_dl(y, se)
    assert tau2 == pytest.approx(tau2_ref, rel=1e-8, abs=1e-9)
    assert mu == pytest.approx(mu_ref, rel=1e-8, abs=1e-8)


def test_normal_posterior_formula():
    df = pl.DataFrame({"area_code": list("ABCDE"), "value": [10.0, 20.0, 30.0, 45.0, 12.0],
                       "se": [2.0, 5.0, 1.0, 8.0, 3.0]})
    out = shrink(df, measure="mean")
    mu, tau2 = direct_dl(df["value"].to_list(), df["se"].to_list())
    s2 = df["se"].to_numpy() ** 2
    b = tau2 / (tau2 + s2)
    np.testing.assert_allclose(out["value"].to_numpy(), mu + b * (df["value"].to_numpy() - mu), rtol=1e-9)
    np.testing.assert_allclose(out["posterior_sd"].to_numpy(), np.sqrt(b * s2), rtol=1e-9)
    np.testing.assert_allclose(out["shrinkage"].to_numpy(), 1 - b, rtol=1e-9)
    # lower_ci/upper_ci are read as 95% limits when se is absent
    ci = df.with_columns(lower_ci=pl.col("value") - 1.959963984540054 * pl.col("se"),
                         upper_ci=pl.col("value") + 1.959963984540054 * pl.col("se")).drop("se")
    np.testing.assert_allclose(shrink(ci, measure="mean")["value"].to_numpy(), out["value"].to_numpy(), rtol=1e-9)


# ---------------------------------------------------------------- known truth
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_beta_binomial_beats_raw_on_known_truth(seed):
    p, df = beta_binomial_data(seed)
    out = shrink(df, PROP)
    raw = out["raw_value"].to_numpy() / 100
    post = out["value"].to_numpy() / 100
    assert np.mean((post - p) ** 2) < 0.9 * np.mean((raw - p) ** 2)
    inside = (out["lower_95"].to_numpy() / 100 < p) & (p < out["upper_95"].to_numpy() / 100)
    assert 0.9 <= inside.mean() <= 0.99


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_poisson_gamma_beats_raw_on_known_truth(seed):
    lam, df = poisson_gamma_data(seed)
    out = shrink(df, measure="rate", multiplier=1)
    raw, post = out["raw_value"].to_numpy(), out["value"].to_numpy()
    assert np.mean((post - lam) ** 2) < 0.9 * np.mean((raw - lam) ** 2)


def test_shrinkage_recovers_the_truly_best_units_better_than_raw():
    # small, uneven units: raw league tables are topped by lucky small ones
    gains = {"beta": [], "gamma": []}
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        p = rng.beta(30, 70, 500)
        n = rng.integers(5, 150, 500).astype(float)
        x = rng.binomial(n.astype(int), p).astype(float)
        out = shrink(pl.DataFrame({"numerator": x, "denominator": n}), PROP)
        gains["beta"].append(top_overlap(p, out["value"].to_numpy()) - top_overlap(p, out["raw_value"].to_numpy()))
        lam = rng.gamma(10, 0.1, 500)
        e = rng.uniform(1, 60, 500)
        o = rng.poisson(lam * e).astype(float)
        out = shrink(pl.DataFrame({"numerator": o, "denominator": e}), measure="rate", multiplier=1)
        gains["gamma"].append(top_overlap(lam, out["value"].to_numpy()) - top_overlap(lam, out["raw_value"].to_numpy()))
    for family, g in gains.items():
        assert np.mean(g) > 0.01, family
        assert sum(v >= 0 for v in g) >= 7, family


def test_normal_shrinkage_beats_raw_and_recovers_the_top():
    gains = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        theta = rng.normal(50, 4, 300)
        se = rng.uniform(0.5, 12, 300)
        y = theta + se * rng.normal(size=300)
        out = shrink(pl.DataFrame({"value": y, "se": se}), measure="score")
        post = out["value"].to_numpy()
        assert np.mean((post - theta) ** 2) < np.mean((y - theta) ** 2)
        gains.append(top_overlap(theta, post) - top_overlap(theta, y))
    assert np.mean(gains) > 0


def test_moments_estimator_is_close_to_ml():
    _, df = beta_binomial_data(5, k=800)
    ml = shrink(df, PROP)["prior_mean"][0]
    mom = shrink(df, PROP, estimator="moments")["prior_mean"][0]
    assert mom == pytest.approx(ml, rel=0.02)


def test_no_between_unit_variation_pools_completely():
    n = np.full(200, 400.0)
    x = np.random.default_rng(0).binomial(400, 0.3, 200).astype(float)
    out = shrink(pl.DataFrame({"numerator": x, "denominator": n}), PROP)
    # homogeneous units: the estimates collapse (almost) onto the common mean
    assert out["shrinkage"].min() > 0.75
    assert out["value"].std() < 0.25 * out["raw_value"].std()


# ---------------------------------------------------------------- groups, nulls, errors
def test_groups_get_their_own_prior_and_nulls_are_kept():
    _, a = beta_binomial_data(1, k=50, a=5, b=5)
    _, b = beta_binomial_data(2, k=50, a=5, b=45)
    df = pl.concat([a.with_columns(period=pl.lit("2022")), b.with_columns(period=pl.lit("2023"))])
    df = df.with_columns(numerator=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("numerator")))
    out = shrink(df, PROP)
    priors = out.group_by("period").agg(pl.col("prior_mean").first()).sort("period")["prior_mean"].to_list()
    assert priors[0] > 40 and priors[1] < 20
    assert out.height == 100 and out["value"][3] is None and out["posterior"][3] is None


def test_shrink_errors_name_columns():
    with pytest.raises(SchemaError, match="se"):
        shrink(pl.DataFrame({"value": [1.0, 2.0]}), measure="mean")
    with pytest.raises(DataError, match="exceeds the denominator"):
        shrink(pl.DataFrame({"numerator": [5.0, 1.0], "denominator": [4.0, 10.0]}), PROP)
    with pytest.raises(SchemaError, match="measure"):
        shrink(pl.DataFrame({"value": [1.0, 2.0]}))
