"""Funnel plots by simulation: false flags when areas differ by chance alone, and coverage when
they really differ (random effects), for the exact limits and the default overdispersion policy.

Each test simulates many areas (or many funnels at once, one per ``period``) with a known truth
and checks the share flagged outside the 95% and 99.8% limits. Seeds are fixed; the bounds
allow about four Monte Carlo standard errors. Marked slow, run in CI.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from publicservices.indicators import Indicator
from publicservices.stats import build_funnel

pytestmark = pytest.mark.slow

PROP = Indicator(
    id="health.share", title="Share", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better", unit="%"
)
SMR = Indicator(id="health.smr", title="SMR", sector="health", measure="ratio", multiplier=100, polarity="lower_is_better")


def outside(f, level: str) -> float:
    return float((f.points[f"position_{level}"].cast(pl.String) != "within").mean())


def binomial_funnels(rng, reps: int, k: int, p: float, tau: float = 0.0, n_range=(100, 3000), outliers: int = 0):
    """``reps`` independent funnels (one per period) of ``k`` areas; true p_i = p + N(0, tau^2);
    the first ``outliers`` areas of each funnel are 0.15 higher (special causes)."""
    n = rng.integers(n_range[0], n_range[1] + 1, (reps, k))
    pi = np.clip(p + rng.normal(0, tau, (reps, k)), 0.001, 0.999)
    pi[:, :outliers] = np.minimum(pi[:, :outliers] + 0.15, 0.999)
    x = rng.binomial(n, pi)
    return pl.DataFrame(
        {
            "period": np.repeat(np.arange(reps), k).astype(str),
            "area_code": np.tile([f"A{i:03d}" for i in range(k)], reps),
            "numerator": x.ravel().astype(float),
            "denominator": n.ravel().astype(float),
        }
    )


# -- exact limits against a target --------------------------------------------------------------
@pytest.mark.parametrize(
    "p0,n_range", [(0.5, (10, 100)), (0.9, (10, 100)), (0.95, (20, 100)), (0.99, (10, 60)), (0.99, (100, 1000))]
)
def test_exact_limits_flag_at_most_nominal_under_the_target(p0, n_range):
    # before the fix: 12.9% outside the 95% limits at p0 = 0.95 (n 20-100), 72% at p0 = 0.99 (n 10-60)
    rng = np.random.default_rng(int(p0 * 1000) + n_range[0])
    n = rng.integers(n_range[0], n_range[1] + 1, 40_000)
    df = pl.DataFrame(
        {
            "area_code": np.arange(n.size).astype(str),
            "numerator": rng.binomial(n, p0).astype(float),
            "denominator": n.astype(float),
        }
    )
    f = build_funnel(df, PROP, target=100 * p0)
    assert f.dispersion["method"][0] == "exact"
    assert outside(f, "95") <= 0.05 + 0.01
    assert outside(f, "998") <= 0.002 + 0.01
    # an area at 100% is "better" only when so many successes in a row are unlikely under the target
    top = f.points.filter(pl.col("numerator") == pl.col("denominator"))
    better = top["comparison"].cast(pl.String).str.starts_with("better").to_numpy()
    assert np.array_equal(better, p0 ** top["denominator"].to_numpy() < 0.025)


@pytest.mark.parametrize("expected_range", [(1, 10), (5, 60), (50, 500)])
def test_exact_poisson_limits_flag_at_most_nominal(expected_range):
    rng = np.random.default_rng(expected_range[0])
    e = rng.uniform(*expected_range, 40_000)
    df = pl.DataFrame({"area_code": np.arange(e.size).astype(str), "numerator": rng.poisson(e).astype(float), "denominator": e})
    f = build_funnel(df, SMR, method="exact")
    assert outside(f, "95") <= 0.06 and outside(f, "998") <= 0.012


# -- the default policy ("auto"): null false flags --------------------------------------------------
@pytest.mark.parametrize("k,p", [(20, 0.3), (150, 0.3), (60, 0.9)])
def test_auto_rarely_widens_and_flags_nominally_when_areas_differ_by_chance(k, p):
    rng = np.random.default_rng(k)
    df = binomial_funnels(rng, 300, k, p)
    f = build_funnel(df, PROP, "auto")
    widened = float((f.dispersion["overdispersion"] != "none").mean())
    assert widened <= 0.05 + 0.04  # the chi-square test's size, with Monte Carlo error
    assert outside(f, "95") <= 0.05 + 0.01
    assert outside(f, "998") <= 0.002 + 0.003


def test_auto_with_a_target_as_the_site_uses_it():
    # the site draws each funnel around the page's benchmark: a target, so exact limits when not widened
    rng = np.random.default_rng(5)
    df = binomial_funnels(rng, 300, 80, 0.3)
    f = build_funnel(df, PROP, "auto", target=30)
    assert (f.dispersion["chi2_df"] == 79).all()
    assert float((f.dispersion["overdispersion"] != "none").mean()) <= 0.09
    assert outside(f, "95") <= 0.06 and outside(f, "998") <= 0.005


def test_auto_for_ratios_under_chance():
    rng = np.random.default_rng(8)
    reps, k = 200, 100  # the PHE ratio curves take ~80 ms a funnel
    e = rng.uniform(5, 200, (reps, k))
    df = pl.DataFrame(
        {
            "period": np.repeat(np.arange(reps), k).astype(str),
            "area_code": np.tile(np.arange(k), reps).astype(str),
            "numerator": rng.poisson(e).ravel().astype(float),
            "denominator": e.ravel(),
        }
    )
    f = build_funnel(df, SMR, "auto")
    assert float((f.dispersion["overdispersion"] != "none").mean()) <= 0.05 + 0.05
    assert outside(f, "95") <= 0.06 and outside(f, "998") <= 0.005


# -- the default policy: coverage when areas really differ -------------------------------------------
@pytest.mark.parametrize("tau", [0.01, 0.03, 0.05])
@pytest.mark.parametrize("k", [30, 150])
def test_auto_limits_cover_areas_that_differ_by_random_effects(tau, k):
    # limits for chance alone flag 13-60% of these areas; the additive limits about 5%
    rng = np.random.default_rng(int(tau * 1000) + k)
    df = binomial_funnels(rng, 200, k, 0.3, tau)
    auto = build_funnel(df, PROP, "auto")
    plain = build_funnel(df, PROP, "none")
    assert 0.03 <= outside(auto, "95") <= 0.05 + 0.025
    assert outside(auto, "998") <= 0.002 + 0.006
    assert outside(plain, "95") > 0.1
    if tau >= 0.03:
        assert (auto.dispersion["overdispersion"] == "additive").all()


def test_a_few_special_causes_stand_out_without_masking_the_rest():
    # 5% of areas far from the rest: Winsorised phi keeps them from widening everyone's limits
    rng = np.random.default_rng(21)
    k, bad = 150, 7
    df = binomial_funnels(rng, 200, k, 0.3, 0.02, outliers=bad)
    f = build_funnel(df, PROP, "auto").points.with_columns(special=pl.col("area_code").is_in([f"A{i:03d}" for i in range(bad)]))
    flagged = pl.col("position_95").cast(pl.String) != "within"
    rates = f.group_by("special").agg(flagged.mean().alias("rate"))
    rate = dict(rates.rows())
    assert rate[True] >= 0.85  # the special causes are found
    assert 0.02 <= rate[False] <= 0.07  # the rest flagged near the nominal 5%
