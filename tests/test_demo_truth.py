"""The statistics recover the demo nation's known truth (statistical tests with fixed seeds).

The DEA counterpart (simulated efficient areas on the frontier) is in test_value.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import publicservices as ps
import publicservices.stats as rk

PERIOD = "2023/24"


def _fairness_row(dataset: ps.Dataset) -> dict:
    return ps.fairness(dataset, repetitions=1000, permutations=0).row(0, named=True)


@pytest.mark.slow
def test_tau2_and_sii_intervals_cover_the_truth_over_200_nations():
    """Issue 5: 95% intervals contain the truth in 90-99% of 200 seeds.

    The Q-profile interval is for the random-effects model's between-area variance. The
    realised variance of one nation's 150 true values scatters around it, so the truth for
    tau^2 is the model's variance: the mean of the realised variances over the 200 nations.
    The SII's interval is for sampling noise given the areas, so its truth is the SII of
    each nation's own true values (same deciles, same denominators, no noise).
    """
    indicator = "health.ae_4hr"
    rows = []
    for seed in range(200):
        data = ps.demo(seed=seed, sectors=["health"]).filter(indicators=indicator, periods=PERIOD)
        est = _fairness_row(data)
        realised = data.truth["between_area_variance"].filter(indicator_id=indicator, period=PERIOD)["variance"][0]
        true_values = data.truth["values"].filter(indicator_id=indicator, period=PERIOD).select("area_code", "true_value")
        noiseless = (
            data.values.join(true_values, on="area_code")
            .with_columns(numerator=pl.col("denominator") * pl.col("true_value") / data.indicators[indicator].multiplier)
            .drop("true_value")
        )
        true_sii = _fairness_row(ps.Dataset(noiseless, data.areas, indicators=data.indicators))["sii"]
        rows.append(
            (
                est["tau2"],
                est["tau2_lower_95"],
                est["tau2_upper_95"],
                realised,
                est["sii_lower_95"],
                est["sii_upper_95"],
                true_sii,
            )
        )
    a = np.array(rows)
    model_tau2 = a[:, 3].mean()
    tau_cover = np.mean((a[:, 1] <= model_tau2) & (model_tau2 <= a[:, 2]))
    sii_cover = np.mean((a[:, 4] <= a[:, 6]) & (a[:, 6] <= a[:, 5]))
    assert 0.90 <= tau_cover <= 0.99, tau_cover
    assert 0.90 <= sii_cover <= 0.99, sii_cover
    # And the point estimate is unbiased for the model's variance (within 3 standard errors).
    assert abs(a[:, 0].mean() - model_tau2) < 3 * a[:, 0].std() / np.sqrt(len(a))


@pytest.mark.slow
def test_no_true_variation_gives_an_index_consistent_with_zero():
    from publicservices.indicators import Indicator
    from publicservices.synthetic import DemoNation, Model, simulate

    flat = Indicator(
        id="test.flat", title="Flat", sector="test", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    model = Model(
        baseline=70.0, trend=0.0, tau=0.0, gradient=0.0, spend=0.0, efficiency=0.0, denominator_per_head=0.002, service="health"
    )
    zero_in_interval = 0
    for seed in range(100):
        nation = DemoNation(seed=seed)
        sim = simulate(nation, [(flat, model)])
        data = ps.Dataset(sim.values.filter(period=PERIOD), nation.areas, indicators=[flat])
        est = _fairness_row(data)
        zero_in_interval += est["true_cv_lower_95"] == 0
    assert zero_in_interval >= 90


def test_shrunken_estimates_beat_raw_against_the_truth():
    """Issue 6: shrinkage recovers the truth better than raw values (MSE and the top 10%)."""
    data = ps.demo(seed=0)
    wins = 0
    checked = 0
    for indicator_id in ["policing.homicide_rate", "health.cancer_early_stage", "schools.good_or_outstanding"]:
        indicator = data.indicators[indicator_id]
        values = data.values.filter(indicator_id=indicator_id, period=PERIOD)
        shrunk = rk.shrink(values, indicator).join(
            data.truth["values"].filter(indicator_id=indicator_id, period=PERIOD), on=["indicator_id", "area_code", "period"]
        )
        mse_raw = shrunk.select(((pl.col("raw_value") - pl.col("true_value")) ** 2).mean()).item()
        mse_shrunk = shrunk.select(((pl.col("value") - pl.col("true_value")) ** 2).mean()).item()
        assert mse_shrunk <= mse_raw, indicator_id
        checked += 1
        wins += mse_shrunk < mse_raw
    assert wins == checked
