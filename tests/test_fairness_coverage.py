"""Statistical test: the intervals for tau^2 and the SII cover the truth across 200 seeds.

A small simulator stands in for the synthetic demo nation (``publicservices.demo``, whose
``dataset.truth`` will replace it): areas with fixed sizes and deprivation scores, true
values ``p_i = p0 + beta (ridit_i - 1/2) + u_i`` with ``u_i ~ N(0, sd_u^2)``, and binomial
(or Poisson) sampling. Each seed is one "period" of a single indicator, so one call of
:func:`fairness` analyses all 200 replicates at once.

Truths: tau^2 is the variance of the true values the random-effects model estimates,
``beta^2 Var(ridit) + sd_u^2`` (the design is fixed); the SII's truth is the SII of the true
decile values in that seed (the quantity whose sampling error the simulated limits describe).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from publicservices.indicators import Indicator
from publicservices.stats import assess_fairness
from publicservices.stats._common import quantile_numbers
from publicservices.stats.fairness.sii import _regression_weights

SEEDS = range(200)
K = 150
PROPORTION = Indicator(id="sim.uptake", title="uptake", sector="sim", measure="proportion", multiplier=100)
RATE = Indicator(id="sim.admissions", title="admissions", sector="sim", measure="rate", multiplier=100_000)


def _design(k: int = K):
    rng = np.random.default_rng(0)
    n = rng.integers(300, 3000, k).astype(float)
    dep = rng.uniform(0, 60, k)
    order = np.argsort(-dep)  # ridit: 0 = most deprived, as PHE
    ridit = np.empty(k)
    cum = np.cumsum(n[order])
    ridit[order] = (cum - n[order] / 2) / n.sum()
    return n, dep, ridit


def simulate(indicator: Indicator, *, base: float, beta: float, sd_u: float, scale: float = 1.0):
    """Values for 200 seeds, the areas frame, and the true tau^2 and per-seed true SIIs."""
    n, dep, ridit = _design()
    n = n * scale
    deciles = quantile_numbers(np.zeros(K, dtype=np.int64), dep, 10, np.ones(K, dtype=bool)).astype(int) - 1
    pop = np.bincount(deciles, weights=n, minlength=10)
    _, _, k1 = _regression_weights(pop[None, :])
    codes = [f"A{i:03d}" for i in range(K)]
    frames, true_sii = [], []
    for s in SEEDS:
        rng = np.random.default_rng(10_000 + s)
        p = base + beta * (ridit - 0.5) + rng.normal(0, sd_u, K)
        if indicator.measure == "proportion":
            x = rng.binomial(n.astype(np.int64), np.clip(p, 1e-4, 1 - 1e-4))
        else:
            x = rng.poisson(n * np.clip(p, 1e-9, None))
        frames.append(
            pl.DataFrame(
                {
                    "indicator_id": indicator.id,
                    "area_code": codes,
                    "period": f"seed{s:03d}",
                    "numerator": x.astype(float),
                    "denominator": n,
                }
            )
        )
        true_deciles = np.bincount(deciles, weights=n * p, minlength=10) / pop
        true_sii.append(float((k1[0] * true_deciles).sum() * indicator.multiplier))
    areas = pl.DataFrame(
        {"area_code": codes, "population": n, "deprivation": dep, "parent_code": [f"R{i % 5}" for i in range(K)]}
    )
    true_tau2 = (beta**2 * np.var(ridit) + sd_u**2) * indicator.multiplier**2
    return pl.concat(frames), areas, true_tau2, np.array(true_sii)


def _coverage(lo: np.ndarray, hi: np.ndarray, truth) -> float:
    return float(np.mean((lo <= truth) & (truth <= hi)))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_intervals_cover_true_variation_and_gradient(method):
    values, areas, tau2, sii = simulate(PROPORTION, base=0.25, beta=-0.08, sd_u=0.03)
    out = assess_fairness(values, [PROPORTION], areas=areas, method=method, repetitions=2000).sort("period")
    assert out.height == 200
    cover_tau2 = _coverage(out["tau2_lower_95"].to_numpy(), out["tau2_upper_95"].to_numpy(), tau2)
    cover_sii = _coverage(out["sii_lower_95"].to_numpy(), out["sii_upper_95"].to_numpy(), sii)
    assert 0.90 <= cover_tau2 <= 0.99, cover_tau2
    assert 0.90 <= cover_sii <= 0.99, cover_sii
    # and the estimates are unbiased-ish: mean tau2 within 10%, mean SII within 2% of the truth
    assert out["tau2"].mean() == pytest.approx(tau2, rel=0.10)
    assert out["sii"].mean() == pytest.approx(sii.mean(), rel=0.02)
    # the headline index: true CV = tau / national value, its interval from the tau2 limits
    national = out["national"].to_numpy()
    cover_cv = _coverage(out["true_cv_lower_95"].to_numpy(), out["true_cv_upper_95"].to_numpy(), np.sqrt(tau2) / national)
    assert cover_cv >= 0.90


@pytest.mark.slow
def test_no_true_variation_gives_an_index_consistent_with_zero():
    values, areas, tau2, sii = simulate(PROPORTION, base=0.25, beta=0.0, sd_u=0.0)
    assert tau2 == 0
    out = assess_fairness(values, [PROPORTION], areas=areas, repetitions=2000)
    at_zero = float(np.mean(out["true_cv_lower_95"].to_numpy() == 0))
    assert 0.90 <= at_zero <= 0.995, at_zero  # nominally 97.5%: Q exceeds its 97.5% point 2.5% of the time
    assert _coverage(out["sii_lower_95"].to_numpy(), out["sii_upper_95"].to_numpy(), 0.0) >= 0.90
    assert out["summary"].str.contains("no larger than chance").mean() >= 0.9


@pytest.mark.slow
def test_poisson_rates_cover_too():
    values, areas, tau2, sii = simulate(RATE, base=0.002, beta=-0.0015, sd_u=0.0003, scale=20)
    out = assess_fairness(values, [RATE], areas=areas, repetitions=2000)
    assert 0.90 <= _coverage(out["tau2_lower_95"].to_numpy(), out["tau2_upper_95"].to_numpy(), tau2) <= 0.99
    assert 0.90 <= _coverage(out["sii_lower_95"].to_numpy(), out["sii_upper_95"].to_numpy(), sii) <= 0.99
    assert (out["sii_value_type"] == 1).all()  # log-scale simulation for rates
