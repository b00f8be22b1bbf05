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
from publicservices.stats import between_area_variation, reliability, standard_error, systematic_component

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
            out.append(
                optimize.brentq(
                    lambda t, target=target: q_gen(t, y, v) - target, 0.0, 1e6 * (np.var(y) + v.max()), xtol=1e-14, rtol=1e-14
                )
            )
    return out


def reml_score(t, y, v):
    """d l_R / d tau2 (times 2): sum w^2 (y - mu)^2 - (sum w - sum w^2 / sum w)."""
    w = 1 / (v + t)
    mu = np.sum(w * y) / w.sum()
    return np.sum(w * w * (y - mu) ** 2) - (w.sum() - np.sum(w * w) / w.sum())


def ref_reml(y, v):
    """REML tau2: the root of the REML score equation by Brent's method (0 when the score is <= 0 there)."""
    if reml_score(0.0, y, v) <= 0:
        return 0.0
    hi = 10 * (np.var(y) + v.max())
    while reml_score(hi, y, v) > 0:
        hi *= 2
    return optimize.brentq(reml_score, 0.0, hi, args=(y, v), xtol=1e-300, rtol=1e-15)


def reml_loglik(t, y, v):
    w = 1 / (v + t)
    mu = np.sum(w * y) / w.sum()
    return -0.5 * (np.sum(np.log(v + t)) + np.log(w.sum()) + np.sum(w * (y - mu) ** 2))


def ref_profile_likelihood(y, v, level=0.95):
    t_hat = ref_reml(y, v)
    target = reml_loglik(t_hat, y, v) - stats.chi2.ppf(level, 1) / 2
    f = lambda t: reml_loglik(t, y, v) - target  # noqa: E731
    lo = 0.0 if f(0.0) >= 0 else optimize.brentq(f, 0.0, t_hat, xtol=1e-300, rtol=1e-15)
    hi = max(t_hat, np.var(y))
    while f(hi) > 0:
        hi *= 2
    return t_hat, lo, optimize.brentq(f, t_hat, hi, xtol=1e-300, rtol=1e-15)


def ref_paule_mandel(y, v):
    df = y.size - 1
    if q_gen(0.0, y, v) <= df:
        return 0.0
    return optimize.brentq(lambda t: q_gen(t, y, v) - df, 0.0, 1e6 * (np.var(y) + v.max()), xtol=1e-300, rtol=1e-15)


def q_moments(y, v, t):
    """Exact mean and variance of Cochran's Q at tau2 = t: Q = y'Ay, A = W - ww'/sum w, Var(y) = diag(v + t)."""
    w = 1 / v
    a_sigma = (np.diag(w) - np.outer(w, w) / w.sum()) * (v + t)[None, :]
    return np.trace(a_sigma), 2 * np.sum(a_sigma * a_sigma.T)


def ref_biggerstaff_tweedie(y, v, level=0.95):
    """Limits where the observed Q is the 1 - alpha/2 / alpha/2 quantile of the moment-matched gamma."""
    q, _ = ref_dl(y, v)
    alpha = 1 - level

    def cdf(t):
        e, var = q_moments(y, v, t)
        return stats.gamma.cdf(q, e * e / var, scale=var / e)

    big = 1e4 * (np.var(y) + v.max())
    lo = (
        0.0
        if cdf(0.0) <= 1 - alpha / 2
        else optimize.brentq(lambda t: cdf(t) - (1 - alpha / 2), 0.0, big, xtol=1e-300, rtol=1e-13)
    )
    hi = 0.0 if cdf(0.0) <= alpha / 2 else optimize.brentq(lambda t: cdf(t) - alpha / 2, 0.0, big, xtol=1e-300, rtol=1e-13)
    return lo, hi


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
def test_dl_and_biggerstaff_tweedie_limits_match_references(seed):
    df = groups(seed)
    out = between_area_variation(df, by="g").sort("g")
    for g, sub in df.group_by("g", maintain_order=True):
        y, v = sub["value"].to_numpy(), sub["se"].to_numpy() ** 2
        row = out.filter(pl.col("g") == g[0]).row(0, named=True)
        q, tau2 = ref_dl(y, v)
        lo, hi = ref_biggerstaff_tweedie(y, v)
        assert row["q"] == pytest.approx(q, rel=1e-12)
        assert row["tau2"] == pytest.approx(tau2, rel=1e-12, abs=1e-15)
        assert row["tau2_lower_95"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
        assert row["tau2_upper_95"] == pytest.approx(hi, rel=1e-9, abs=1e-12)
        assert row["q_p"] == pytest.approx(stats.chi2.sf(q, y.size - 1), rel=1e-9)
        # I2 for DL is Higgins' (Q - df) / Q, truncated at 0
        assert row["i2"] == pytest.approx(max(0.0, (q - (y.size - 1)) / q), abs=1e-12)
        assert row["tau2_lower_95"] <= row["tau2"] <= row["tau2_upper_95"]
        assert row["variation_method"] == "DL (Biggerstaff-Tweedie interval)"


def test_moments_of_q_used_by_the_dl_interval_are_exact():
    # the closed forms behind the Biggerstaff-Tweedie limits equal the matrix traces, and a
    # simulation of Q under the random-effects model agrees with them
    rng = np.random.default_rng(7)
    v = rng.uniform(0.1, 4.0, 12)
    w = 1 / v
    s1, s2, s3 = w.sum(), (w**2).sum(), (w**3).sum()
    c, d = s1 - s2 / s1, s2 - 2 * s3 / s1 + (s2 / s1) ** 2
    for t in (0.0, 0.3, 5.0):
        e, var = q_moments(np.zeros(12), v, t)
        assert e == pytest.approx(11 + c * t, rel=1e-12)
        assert var == pytest.approx(2 * 11 + 4 * c * t + 2 * d * t * t, rel=1e-12)
    y = rng.normal(0, np.sqrt(v + 5.0), (200_000, 12))
    mu = (y * w).sum(1) / s1
    q = ((y - mu[:, None]) ** 2 * w).sum(1)
    assert q.mean() == pytest.approx(11 + 5 * c, rel=0.01)
    assert q.var() == pytest.approx(22 + 20 * c + 50 * d, rel=0.03)


@pytest.mark.parametrize("seed", range(4))
def test_paule_mandel_and_q_profile_match_references(seed):
    df = groups(seed)
    out = between_area_variation(df, by="g", method="PM").sort("g")
    for g, sub in df.group_by("g", maintain_order=True):
        y, v = sub["value"].to_numpy(), sub["se"].to_numpy() ** 2
        row = out.filter(pl.col("g") == g[0]).row(0, named=True)
        lo, hi = ref_q_profile(y, v)
        assert row["tau2"] == pytest.approx(ref_paule_mandel(y, v), rel=1e-9, abs=1e-12)
        assert row["tau2_lower_95"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
        assert row["tau2_upper_95"] == pytest.approx(hi, rel=1e-9, abs=1e-12)
        # the Paule-Mandel point is the Q-profile's own: Q_gen(tau2) = k - 1 (when above 0)
        if row["tau2"] > 0:
            assert q_gen(row["tau2"], y, v) == pytest.approx(y.size - 1, rel=1e-9)
        assert row["tau2_lower_95"] <= row["tau2"] <= row["tau2_upper_95"]
        assert row["variation_method"] == "PM (Q-profile interval)"


@pytest.mark.parametrize("seed", range(4))
def test_reml_and_profile_likelihood_limits_match_references(seed):
    df = groups(100 + seed)
    out = between_area_variation(df, by="g", method="REML").sort("g")
    for g, sub in df.group_by("g", maintain_order=True):
        y, v = sub["value"].to_numpy(), sub["se"].to_numpy() ** 2
        row = out.filter(pl.col("g") == g[0]).row(0, named=True)
        t_hat, lo, hi = ref_profile_likelihood(y, v)
        assert row["tau2"] == pytest.approx(t_hat, rel=1e-9, abs=1e-12)
        assert row["tau2_lower_95"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
        assert row["tau2_upper_95"] == pytest.approx(hi, rel=1e-9, abs=1e-12)
        assert row["variation_note"] is None
        assert row["variation_method"] == "REML (profile likelihood interval)"


SCALES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1.0, 1e2, 1e4, 1e6]


@pytest.mark.parametrize("scale", SCALES)
def test_reml_agrees_with_a_root_finder_at_every_scale(scale):
    # issue: REML stopped on an absolute step, so tau2 was 2.4% off at values of order 1e-5
    rng = np.random.default_rng(1)
    se = rng.uniform(0.3, 2.0, 30)
    y = 10 + rng.normal(0, 1.0, 30) + rng.normal(0, se)
    got = between_area_variation(pl.DataFrame({"value": y * scale, "se": se * scale}), by=[], method="REML").row(0, named=True)
    assert got["tau2"] == pytest.approx(ref_reml(y * scale, (se * scale) ** 2), rel=1e-9)
    assert got["tau2"] / scale**2 == pytest.approx(ref_reml(y, se**2), rel=1e-9)
    assert got["variation_note"] is None


def test_dl_limits_survive_one_dominant_weight():
    # weights 256 and 0.012: S2 - 2 S3/S1 + (S2/S1)^2 cancels to 1e-7 in double precision; the
    # variance of Q is built from sums over the other areas instead, so row order does not matter
    y, se = np.array([0.0, 2.0, 2.0]), np.array([0.0625, 9.0, 9.0])
    uppers = [
        between_area_variation(pl.DataFrame({"value": y[p], "se": se[p]}), by=[])["tau2_upper_95"][0]
        for p in ([0, 1, 2], [1, 2, 0], [2, 0, 1])
    ]
    assert uppers[1] == pytest.approx(uppers[0], rel=1e-13) and uppers[2] == pytest.approx(uppers[0], rel=1e-13)
    assert uppers[0] == pytest.approx(ref_biggerstaff_tweedie(y, se**2)[1], rel=1e-9)


def test_overflowing_sums_give_no_estimate_rather_than_an_infinite_one():
    # a standard error of 1e-154 makes the weight 1e308: sums overflow; say so, never tau2 = inf
    df = pl.DataFrame({"value": [1e-300, 2.5, 3.0], "se": [3.0, 1e-154, 1e-154]})
    for method in ("DL", "PM", "REML"):
        row = between_area_variation(df, by=[], method=method).row(0, named=True)
        assert row["tau2"] is None and row["tau2_upper_95"] is None and row["i2"] is None, method
        assert "too extreme for floating point" in row["variation_note"]


def test_reml_is_solved_when_fisher_scoring_stalls():
    # values agreeing to 1e-4 of their size and standard errors 1,000 times apart: rounding in
    # y - mu keeps Fisher-scoring steps above 1e-13 of tau2, so the score equation is bracketed
    y = np.array([1994.517874828764, 1994.5189103114635, 1994.5896965976801, 1994.26235973202, 1939.159778766541])
    se = np.array([0.06952428865610691, 0.07349118608276088, 0.015553358486954202, 0.2069621124147253, 21.00090595674092])
    row = between_area_variation(pl.DataFrame({"value": y, "se": se}), by=[], method="REML").row(0, named=True)
    assert row["tau2"] == pytest.approx(ref_reml(y, se**2), rel=1e-9)
    assert row["variation_note"] is None
    assert row["tau2_lower_95"] <= row["tau2"] <= row["tau2_upper_95"]


@pytest.mark.parametrize("method", ["DL", "PM", "REML"])
def test_tau2_and_its_limits_scale_with_the_square_of_the_units(method):
    df = groups(3, n_groups=3)
    base = between_area_variation(df, by="g", method=method).sort("g")
    for scale in SCALES:
        scaled = df.with_columns(pl.col("value") * scale, pl.col("se") * scale)
        out = between_area_variation(scaled, by="g", method=method).sort("g")
        for col in ("tau2", "tau2_lower_95", "tau2_upper_95"):
            np.testing.assert_allclose(out[col].to_numpy() / scale**2, base[col].to_numpy(), rtol=1e-9, atol=0, err_msg=col)
        for col in ("i2", "i2_lower_95", "i2_upper_95", "true_cv", "true_cv_upper_95"):
            np.testing.assert_allclose(out[col].to_numpy(), base[col].to_numpy(), rtol=1e-9, atol=1e-15, err_msg=col)


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
    with pytest.raises(PublicServicesError, match="method must be one of DL, PM, REML"):
        between_area_variation(df, by=[], method="SJ")  # type: ignore[arg-type]
    with pytest.raises(PublicServicesError, match="level must lie strictly between 0 and 1"):
        between_area_variation(df, by=[], level=95)
    with pytest.raises(PublicServicesError, match="level must be at least 0.5"):
        between_area_variation(df, by=[], level=0.3)


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
    df = pl.DataFrame(
        {
            "numerator": [5.0, 30.0, None, 20.0],
            "denominator": [100.0, 10_000.0, None, 1000.0],
            "value": [5.0, 300.0, 80.0, 2000.0],
            "lower_ci": [None, None, 79.0, 1200.0],
            "upper_ci": [None, None, 81.0, 3000.0],
            "national": [10.0, 250.0, 80.0, 1900.0],
        }
    )
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
    for method in ("DL", "PM", "REML"):
        row = between_area_variation(df, by=[], method=method).row(0, named=True)
        assert row["tau2"] >= 0 and row["tau2_lower_95"] >= 0
        assert row["tau2_lower_95"] <= row["tau2_upper_95"] * (1 + 1e-9) + 1e-12
        assert 0 <= row["i2"] <= 1
    perm = np.array(data.draw(st.permutations(list(range(y.size)))))
    a = between_area_variation(df, by=[]).row(0, named=True)
    b = between_area_variation(pl.DataFrame({"value": y[perm], "se": se[perm]}), by=[]).row(0, named=True)
    assert b["tau2"] == pytest.approx(a["tau2"], rel=1e-9, abs=1e-9)
    assert b["tau2_upper_95"] == pytest.approx(a["tau2_upper_95"], rel=1e-7, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    y=arrays(np.float64, st.integers(2, 40), elements=st.floats(-100, 100, allow_nan=False)),
    level=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.998]),
    reference=st.floats(0.1, 1e3),
    data=st.data(),
)
def test_every_point_estimate_lies_inside_its_own_interval(y, level, reference, data):
    # issue: a DL estimate with a Q-profile interval sat outside it ("+-8.1% (8.3 to 9.9)")
    se = data.draw(arrays(np.float64, y.size, elements=st.floats(0.05, 20, allow_nan=False)))
    df = pl.DataFrame({"value": y, "se": se, "national": [reference] * y.size})
    for method in ("DL", "PM", "REML"):
        row = between_area_variation(df, by=[], method=method, level=level, reference="national").row(0, named=True)
        sfx = "_95" if level == 0.95 else ("_998" if level == 0.998 else "")
        for col in ("tau2", "i2", "true_cv"):
            assert row[f"{col}_lower{sfx}"] <= row[col] <= row[f"{col}_upper{sfx}"], (method, col, row)
