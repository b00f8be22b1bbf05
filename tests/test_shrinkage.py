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
from publicservices.stats import dersimonian_laird, shrink

PROP = Indicator(
    id="health.uptake", title="Uptake", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
)


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
    out = shrink(df, PROP, estimator="ml")
    x, n = df["numerator"].to_numpy(), df["denominator"].to_numpy()
    a = out["posterior_a"][0] - x[0]
    b = out["posterior_b"][0] - (n[0] - x[0])

    def nll(t):
        return -stats.betabinom.logpmf(x, n, np.exp(t[0]), np.exp(t[1])).sum()

    ref = optimize.minimize(
        nll, [np.log(5.0), np.log(5.0)], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000}
    )
    assert a == pytest.approx(np.exp(ref.x[0]), rel=1e-3)
    assert b == pytest.approx(np.exp(ref.x[1]), rel=1e-3)
    # posterior: Beta(a + x, b + n - x)
    np.testing.assert_allclose(out["value"].to_numpy(), 100 * (a + x) / (a + b + n), rtol=1e-9)
    np.testing.assert_allclose(out["upper_95"].to_numpy(), 100 * stats.beta.ppf(0.975, a + x, b + n - x), rtol=1e-7)
    np.testing.assert_allclose(out["shrinkage"].to_numpy(), (a + b) / (a + b + n), rtol=1e-9)


def test_poisson_gamma_ml_matches_negative_binomial_likelihood_maximum():
    _, df = poisson_gamma_data(2)
    out = shrink(df, measure="ratio", multiplier=1, estimator="ml")
    o, e = df["numerator"].to_numpy(), df["denominator"].to_numpy()
    a = out["posterior_a"][0] - o[0]
    b = out["posterior_b"][0] - e[0]

    def nll(t):  # O ~ NegBin(size=a, prob=b/(b+E))
        aa, bb = np.exp(t)
        return -stats.nbinom.logpmf(o, aa, bb / (bb + e)).sum()

    ref = optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
    assert a == pytest.approx(np.exp(ref.x[0]), rel=1e-3)
    assert b == pytest.approx(np.exp(ref.x[1]), rel=1e-3)
    np.testing.assert_allclose(out["value"].to_numpy(), (a + o) / (b + e), rtol=1e-9)
    np.testing.assert_allclose(out["lower_95"].to_numpy(), stats.gamma.ppf(0.025, a + o, scale=1 / (b + e)), rtol=1e-7)


def direct_dl(y, se):
    w = [1 / s**2 for s in se]
    sw = sum(w)
    yw = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sw
    q = sum(wi * (yi - yw) ** 2 for wi, yi in zip(w, y, strict=True))
    tau2 = max(0.0, (q - (len(y) - 1)) / (sw - sum(wi * wi for wi in w) / sw))
    ws = [1 / (s**2 + tau2) for s in se]
    return sum(a * b for a, b in zip(ws, y, strict=True)) / sum(ws), tau2


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
    df = pl.DataFrame({"area_code": list("ABCDE"), "value": [10.0, 20.0, 30.0, 45.0, 12.0], "se": [2.0, 5.0, 1.0, 8.0, 3.0]})
    out = shrink(df, measure="mean", estimator="ml")  # plug-in: DerSimonian-Laird tau^2
    mu, tau2 = direct_dl(df["value"].to_list(), df["se"].to_list())
    s2 = df["se"].to_numpy() ** 2
    b = tau2 / (tau2 + s2)
    np.testing.assert_allclose(out["value"].to_numpy(), mu + b * (df["value"].to_numpy() - mu), rtol=1e-9)
    np.testing.assert_allclose(out["posterior_sd"].to_numpy(), np.sqrt(b * s2), rtol=1e-9)
    np.testing.assert_allclose(out["shrinkage"].to_numpy(), 1 - b, rtol=1e-9)
    # lower_ci/upper_ci are read as 95% limits when se is absent
    ci = df.with_columns(
        lower_ci=pl.col("value") - 1.959963984540054 * pl.col("se"), upper_ci=pl.col("value") + 1.959963984540054 * pl.col("se")
    ).drop("se")
    np.testing.assert_allclose(shrink(ci, measure="mean", estimator="ml")["value"].to_numpy(), out["value"].to_numpy(), rtol=1e-9)


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
    ml = shrink(df, PROP, estimator="ml")["prior_mean"][0]
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


# ---------------------------------------------------------------- full Bayes: worked values (defect 4)
EIGHT_SCHOOLS = ([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0], [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
NO_VARIATION = ([10.0, 10.5, 9.5, 10.2, 9.9, 10.1, 9.8, 10.3], [1.0] * 8)  # DerSimonian-Laird tau^2 = 0


def brute_force_normal(y, se, n_u=1500, n_mu=801):
    """Posterior of each theta_j by direct 2-D quadrature over (u, mu): an independent check.

    u = s0^2 / (s0^2 + tau^2) ~ Uniform(0, 1) (uniform shrinkage prior), mu flat; given (mu, tau)
    theta_j ~ N(mu + (1 - B_j)(y_j - mu), s_j^2 (1 - B_j)), B_j = s_j^2 / (s_j^2 + tau^2).
    Returns (weights, conditional means, conditional sds), each over (u, mu, unit).
    """
    y, s2 = np.asarray(y), np.asarray(se) ** 2
    s0 = len(y) / np.sum(1 / s2)
    u = (np.arange(n_u) + 0.5) / n_u
    t2 = s0 * (1 - u) / u
    mu = np.linspace(y.min() - 8 * np.sqrt(s2.max()), y.max() + 8 * np.sqrt(s2.max()), n_mu)
    v = s2[None, None, :] + t2[:, None, None]
    loglik = stats.norm.logpdf(y, mu[None, :, None], np.sqrt(v)).sum(axis=2)
    w = np.exp(loglik - loglik.max())
    w /= w.sum()
    b = s2[None, None, :] / v
    m = mu[None, :, None] + (1 - b) * (y - mu[None, :, None])
    return w, m, np.sqrt(s2 * (1 - b))


@pytest.mark.parametrize("data", [EIGHT_SCHOOLS, NO_VARIATION], ids=["eight_schools", "no_variation"])
def test_normal_full_bayes_matches_direct_integration(data):
    y, se = data
    out = shrink(pl.DataFrame({"value": y, "se": se}), measure="mean")
    w, m, sd = brute_force_normal(y, se)
    mean = np.einsum("ij,ijk->k", w, m)
    np.testing.assert_allclose(out["value"].to_numpy(), mean, atol=2e-3 * np.mean(se))
    for column, p in (("lower_95", 0.025), ("upper_95", 0.975)):
        q = out[column].to_numpy()
        cdf = np.einsum("ij,ijk->k", w, stats.norm.cdf((q - m) / sd))
        np.testing.assert_allclose(cdf, p, atol=5e-4)
    sd_post = np.sqrt(np.einsum("ij,ijk->k", w, sd**2 + (m - mean) ** 2))
    np.testing.assert_allclose(out["posterior_sd"].to_numpy(), sd_post, rtol=5e-3)


def test_eight_schools_worked_values():
    # Rubin's eight schools (Gelman et al., BDA 3rd ed., 5.5) under the uniform shrinkage prior
    # (values checked by direct integration above; BDA's uniform prior on tau gives school A a
    # posterior of about 10 with 95% interval -2 to 31, close to these)
    out = shrink(pl.DataFrame({"school": list("ABCDEFGH"), "value": EIGHT_SCHOOLS[0], "se": EIGHT_SCHOOLS[1]}), measure="mean")
    a = out.row(0, named=True)
    assert (a["value"], a["lower_95"], a["upper_95"]) == pytest.approx((11.50, -2.47, 29.95), abs=0.01)
    assert round(out["prior_mean"][0], 2) == 7.95
    # every school is pulled most of the way to the mean: the data say little about tau
    assert (out["shrinkage"] > 0.6).all()


def brute_force_conjugate(x, n, family, n_u=700, n_eta=500):
    """Weights and per-unit posterior parameters over a dense (u, eta) grid: an independent check."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    n0 = len(n) / np.sum(1 / n)
    u = (np.arange(n_u) + 0.5) / n_u
    prec = n0 * u / (1 - u)
    centre = np.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5)) if family == "beta" else np.log((x.sum() + 0.5) / n.sum())
    eta = np.linspace(centre - 6, centre + 6, n_eta)
    if family == "beta":
        mean = 1 / (1 + np.exp(-eta))
        a, b = mean[None, :] * prec[:, None], (1 - mean[None, :]) * prec[:, None]
        ll = stats.betabinom.logpmf(x, n, a[..., None], b[..., None]).sum(axis=2)
        log_prior = 0.5 * np.log(mean) + 0.5 * np.log1p(-mean)  # Beta(1/2, 1/2) on the mean, per d eta
        pa, pb = a[..., None] + x, b[..., None] + n - x
    else:
        mean = np.exp(eta)
        a, rate = mean[None, :] * prec[:, None], np.broadcast_to(prec[:, None], (n_u, n_eta))
        ll = stats.nbinom.logpmf(x, a[..., None], rate[..., None] / (rate[..., None] + n)).sum(axis=2)  # x ~ NB(a, b/(b+n))
        log_prior = 0.5 * eta  # mean^(-1/2) on the mean, per d eta
        pa, pb = a[..., None] + x, rate[..., None] + n
    lw = ll + log_prior[None, :]
    w = np.exp(lw - lw.max())
    w /= w.sum()
    return w, pa, pb


@pytest.mark.parametrize("family", ["beta", "gamma"])
def test_conjugate_full_bayes_matches_direct_integration(family):
    rng = np.random.default_rng(3)
    n = rng.integers(20, 400, 10).astype(float)
    if family == "beta":
        x = rng.binomial(n.astype(int), rng.beta(30, 70, 10)).astype(float)
        out = shrink(pl.DataFrame({"numerator": x, "denominator": n}), PROP)
        scale = 100
    else:
        x = rng.poisson(n * rng.gamma(20, 1 / 20, 10) * 0.1).astype(float)
        out = shrink(pl.DataFrame({"numerator": x, "denominator": n}), measure="rate", multiplier=1)
        scale = 1
    w, pa, pb = brute_force_conjugate(x, n, family)
    keep = w > 1e-14
    w, pa, pb = w[keep], pa[keep], pb[keep]
    dist = stats.beta(pa, pb) if family == "beta" else stats.gamma(pa, scale=1 / pb)
    mean = w @ dist.mean()
    sd = np.sqrt(w @ (dist.var() + (dist.mean() - mean) ** 2))
    np.testing.assert_allclose(out["value"].to_numpy() / scale, mean, atol=5e-3 * sd.min())
    np.testing.assert_allclose(out["posterior_sd"].to_numpy() / scale, sd, rtol=1e-2)
    for column, p in (("lower_95", 0.025), ("upper_95", 0.975)):
        q = out[column].to_numpy() / scale
        np.testing.assert_allclose(w @ dist.cdf(q), p, atol=1e-3)


def test_intervals_do_not_collapse_when_tau2_is_estimated_as_zero():
    y, se = NO_VARIATION
    out = shrink(pl.DataFrame({"value": y, "se": se}), measure="mean")
    width = (out["upper_95"] - out["lower_95"]).to_numpy()
    # at least the uncertainty of the common mean, 2 x 1.96 x 1/sqrt(8); was exactly 0
    assert (width > 2 * 1.96 / np.sqrt(8)).all() and (out["posterior_sd"] > 0.35).all()
    assert (out["lower_95"] < out["value"]).all() and (out["value"] < out["upper_95"]).all()
    # the plug-in estimator still shows the collapse it is documented to have
    plug_in = shrink(pl.DataFrame({"value": y, "se": se}), measure="mean", estimator="ml")
    assert (plug_in["upper_95"] - plug_in["lower_95"]).max() == 0
    # counts with no between-unit variation: the beta-binomial intervals keep their width too
    n = np.full(150, 400.0)
    x = np.random.default_rng(0).binomial(400, 0.3, 150).astype(float)
    beta = shrink(pl.DataFrame({"numerator": x, "denominator": n}), PROP)
    assert ((beta["upper_95"] - beta["lower_95"]) > 100 * 2 * 1.96 * np.sqrt(0.21 / n.sum())).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(0.2, 10)), min_size=3, max_size=30), st.randoms())
def test_normal_full_bayes_properties(pairs, rnd):
    y = np.array([p[0] for p in pairs])
    se = np.array([p[1] for p in pairs])
    df = pl.DataFrame({"area_code": [f"A{i}" for i in range(len(y))], "value": y, "se": se})
    out = shrink(df, measure="mean")
    v, lo, hi = out["value"].to_numpy(), out["lower_95"].to_numpy(), out["upper_95"].to_numpy()
    assert (lo < v).all() and (v < hi).all() and (out["posterior_sd"] > 0).all()
    assert ((out["shrinkage"] > 0) & (out["shrinkage"] < 1)).all()
    # a weighted average of the value and the common mean: inside the range of the values
    tol = 1e-9 * (1 + np.abs(y).max())
    assert (v >= y.min() - tol).all() and (v <= y.max() + tol).all()
    # no answer depends on row order
    order = list(range(len(y)))
    rnd.shuffle(order)
    shuffled = shrink(df[order], measure="mean").sort("area_code")
    same = out.sort("area_code")
    for column in ("value", "lower_95", "upper_95", "shrinkage"):
        np.testing.assert_allclose(shuffled[column].to_numpy(), same[column].to_numpy(), rtol=1e-7, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 60)), min_size=2, max_size=20))
def test_beta_binomial_full_bayes_properties(pairs):
    x = np.array([min(a, b) for a, b in pairs], dtype=float)
    n = np.array([b for _, b in pairs], dtype=float)
    out = shrink(pl.DataFrame({"numerator": x, "denominator": n}), PROP)
    v, lo, hi = out["value"].to_numpy(), out["lower_95"].to_numpy(), out["upper_95"].to_numpy()
    assert (0 <= lo).all() and (lo < v).all() and (v < hi).all() and (hi <= 100).all()
    assert ((out["shrinkage"] > 0) & (out["shrinkage"] < 1)).all()
    # the moment-matched beta rank_intervals draws from has the posterior's mean
    a, b = out["posterior_a"].to_numpy(), out["posterior_b"].to_numpy()
    np.testing.assert_allclose(100 * a / (a + b), v, rtol=1e-9)


# ---------------------------------------------------------------- standard errors: never silently null (defect 6)
DSR = Indicator(
    id="health.cvd", title="CVD mortality", sector="health", measure="dsr", multiplier=100_000, polarity="lower_is_better"
)


def test_dsr_with_counts_but_no_interval_derives_the_standard_error():
    rng = np.random.default_rng(1)
    deaths = rng.integers(20, 400, 40).astype(float)
    pop = rng.integers(100_000, 900_000, 40).astype(float)
    value = deaths / pop * 100_000 * rng.uniform(0.8, 1.2, 40)
    df = pl.DataFrame(
        {
            "indicator_id": "health.cvd",
            "area_code": [f"E{i:02d}" for i in range(40)],
            "numerator": deaths,
            "denominator": pop,
            "value": value,
            "lower_ci": [None] * 40,
            "upper_ci": [None] * 40,
        },
        schema_overrides={"lower_ci": pl.Float64, "upper_ci": pl.Float64},
    )
    out = shrink(df, DSR)
    assert out["value"].null_count() == 0  # was 40 of 40 null
    # Dobson: var(DSR) = DSR^2 / O, the same answer as giving se = value / sqrt(O) explicitly
    explicit = shrink(df.with_columns(se=pl.col("value") / pl.col("numerator").sqrt()), DSR)
    np.testing.assert_allclose(out["value"].to_numpy(), explicit["value"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(out["upper_95"].to_numpy(), explicit["upper_95"].to_numpy(), rtol=1e-12)


def test_demo_dsr_indicator_is_shrunk_not_nulled():
    import publicservices as ps

    out = shrink(ps.demo(), "health.cvd_mortality_preventable")
    assert out.height == 1500 and out["value"].null_count() == 0


def test_a_value_without_any_standard_error_is_named_not_nulled():
    df = pl.DataFrame(
        {
            "indicator_id": "health.cvd",
            "area_code": ["A", "B", "C"],
            "period": "2023",
            "numerator": [50.0, None, 80.0],
            "denominator": [1e5, 1e5, 1e5],
            "value": [40.0, 30.0, 55.0],
        }
    )
    with pytest.raises(DataError) as err:
        shrink(df, DSR)
    message = str(err.value)
    assert "'se'" in message and "health.cvd | B | 2023" in message and "numerator" in message and "Fix:" in message
    kept = shrink(df, DSR, missing_se="skip")
    assert kept["value"].is_null().to_list() == [False, True, False]
    with pytest.raises(DataError, match="events in 'numerator'"):
        shrink(df.with_columns(numerator=pl.lit(0.0)), DSR)


def test_full_bayes_keeps_the_peak_when_the_log_posterior_is_huge():
    # found by tests/test_fuzz.py: values of 1e14 with standard errors of 1e-9 put the log
    # posterior near -1e25, where max - 40 rounds to max itself and no grid point was kept
    import numpy as np

    from publicservices.stats.ranking.full_bayes import normal_full_bayes

    y = np.array([32258.0, 96993.0, 42112.0, 51607.0, 29297.0, 11587.0, 1e14, 62349.0])
    se = np.array([5.1e-10, 11.6, 3.4, 5.1e5, 5.2, 6.7, 19.1, 7.2])
    fit = normal_full_bayes(y, se**2, (0.025, 0.975))
    assert np.isfinite(fit["mean"]).all() and np.isfinite(fit["shrinkage"]).all()
    assert fit["mean"][0] == pytest.approx(y[0])  # a unit known to 1e-9 stays where it is


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=300),
    st.lists(st.floats(1e-6, 1e6, allow_nan=False), min_size=1, max_size=9),
)
def test_trigammas_of_distinct_counts_add_up_to_the_same_bits(counts, shifts):
    # the full-Bayes Newton steps sum trigamma(count + shift) over units: evaluated once per
    # distinct count and gathered back, the sums must be polygamma's to the last bit (a gather
    # left in Fortran order once made numpy add the same numbers in another order)
    from scipy.special import polygamma

    from publicservices.stats.ranking.full_bayes import _trigammas

    x = np.asarray(counts, dtype=float)
    shift = np.asarray(shifts)[:, None]
    got = _trigammas(np.unique(x, return_inverse=True), shift)
    assert np.array_equal(got.sum(axis=1), polygamma(1, x + shift).sum(axis=1))
