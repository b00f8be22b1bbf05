"""Statistical test: shrink()'s 95% intervals cover the truth whatever the real variation.

The plug-in (empirical-Bayes) intervals collapsed when the between-area variation was small:
the normal model gave zero-width intervals in 44-47% of replicates at tau <= 0.2 (coverage
49-51%) and the beta-binomial covered 39% at tau = 0. The default fully Bayesian estimator
integrates over the between-area variance, so coverage must hold from tau = 0 upwards.

Design (one design per family, fixed across replicates; each replicate is one "period", so
one call of :func:`shrink` fits all 200 replicates, one prior each):

* 150 areas; tau on the scale of a typical standard error, tau in {0, 0.05, 0.1, 0.2, 0.5, 1};
* normal: se_i ~ U(0.5, 1.5), theta_i ~ N(0, tau^2), y_i ~ N(theta_i, se_i^2);
* beta-binomial: n_i ~ U{50..2000}, p_i ~ Beta with mean 0.3 and sd tau x sqrt(0.3 x 0.7 / n_h)
  (n_h the harmonic mean of n; p_i = 0.3 when tau = 0), x_i ~ Bin(n_i, p_i);
* Poisson-gamma: expected counts e_i ~ U(5, 200), lambda_i ~ Gamma with mean 1 and sd
  tau x sqrt(1 / e_h), x_i ~ Poisson(lambda_i e_i).

Criterion, at every tau and for every family: of the 150 x 200 = 30,000 (area, replicate)
95% intervals, at least 90% contain the area's true value. (Coverage is an average over areas
and replicates, the frequentist property a Bayesian interval under the true prior has; at
tau = 0 the intervals are conservative, near 100%, because the data cannot rule out some
variation.)
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from publicservices.stats import shrink

K = 150
REPLICATES = 200
TAUS = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)
FLOOR = 0.90


def frame(values: dict[str, np.ndarray]) -> pl.DataFrame:
    rep = np.repeat(np.arange(REPLICATES), K)
    return pl.DataFrame(
        {"period": [f"r{r:03d}" for r in rep], "area_code": np.tile(np.arange(K), REPLICATES).astype(str), **values}
    )


def coverage(out: pl.DataFrame, truth: np.ndarray, scale: float = 1.0) -> float:
    lo, hi = out["lower_95"].to_numpy() / scale, out["upper_95"].to_numpy() / scale
    return float(np.mean((lo <= truth) & (truth <= hi)))


@pytest.mark.slow
@pytest.mark.parametrize("tau", TAUS)
def test_normal_intervals_cover_at_every_tau(tau):
    rng = np.random.default_rng(int(1000 * tau) + 1)
    se = np.tile(rng.uniform(0.5, 1.5, K), REPLICATES)
    theta = rng.normal(0.0, tau, K * REPLICATES)
    y = theta + se * rng.standard_normal(K * REPLICATES)
    out = shrink(frame({"value": y, "se": se}), measure="mean")
    assert (out["upper_95"] - out["lower_95"]).min() > 0
    assert coverage(out, theta) >= FLOOR


@pytest.mark.slow
@pytest.mark.parametrize("tau", TAUS)
def test_beta_binomial_intervals_cover_at_every_tau(tau):
    rng = np.random.default_rng(int(1000 * tau) + 2)
    n = rng.integers(50, 2001, K).astype(float)
    sd = tau * np.sqrt(0.3 * 0.7 / (K / np.sum(1 / n)))
    size = K * REPLICATES
    if sd > 0:
        m = 0.3 * 0.7 / sd**2 - 1
        p = rng.beta(0.3 * m, 0.7 * m, size)
    else:
        p = np.full(size, 0.3)
    nn = np.tile(n, REPLICATES)
    x = rng.binomial(nn.astype(np.int64), p).astype(float)
    out = shrink(frame({"numerator": x, "denominator": nn}), measure="proportion", multiplier=100)
    assert coverage(out, p, scale=100) >= FLOOR


@pytest.mark.slow
@pytest.mark.parametrize("tau", TAUS)
def test_poisson_gamma_intervals_cover_at_every_tau(tau):
    rng = np.random.default_rng(int(1000 * tau) + 3)
    e = rng.uniform(5, 200, K)
    sd = tau * np.sqrt(1 / (K / np.sum(1 / e)))
    size = K * REPLICATES
    lam = rng.gamma(1 / sd**2, sd**2, size) if sd > 0 else np.ones(size)
    ee = np.tile(e, REPLICATES)
    x = rng.poisson(lam * ee).astype(float)
    out = shrink(frame({"numerator": x, "denominator": ee}), measure="ratio", multiplier=1)
    assert coverage(out, lam) >= FLOOR
