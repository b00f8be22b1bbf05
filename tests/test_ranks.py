"""Simulated rank intervals: exact ranks, properties, reproducibility."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats.shrinkage import rank_intervals, shrink, simulate_ranks


def recording_sampler(mu, sd):
    """A normal sampler that keeps every block it hands out (run single-threaded)."""
    blocks = []

    def draw(rng, m):
        x = (mu + sd * rng.standard_normal((m, mu.size))).astype(np.float32)
        blocks.append(x.copy())
        return x

    return draw, blocks


@pytest.mark.parametrize("n,sims", [(7, 600), (150, 1000), (40, 257)])
def test_ranks_are_exactly_double_argsort_of_the_draws(n, sims):
    rng = np.random.default_rng(n)
    draw, blocks = recording_sampler(rng.normal(size=n), rng.uniform(0.05, 2, n))
    res = simulate_ranks(draw, n, sims, seed=3, threads=1, return_ranks=True, top=0.2)
    x = np.concatenate(blocks)
    ref = np.argsort(np.argsort(x, axis=1, kind="stable"), axis=1, kind="stable") + 1  # sims x units
    assert np.array_equal(res["ranks"], ref.T)
    q = np.quantile(ref, [0.025, 0.5, 0.975], axis=0, method="inverted_cdf")
    assert np.array_equal(res["rank_lower"], q[0])
    assert np.array_equal(res["median_rank"], q[1])
    assert np.array_equal(res["rank_upper"], q[2])
    k = int(np.ceil(0.2 * n))
    np.testing.assert_allclose(res["p_top"], (ref <= k).mean(axis=0))
    np.testing.assert_allclose(res["p_bottom"], (ref > n - k).mean(axis=0))


def test_ties_in_float32_are_broken_by_unit_order():
    draw = lambda rng, m: np.zeros((m, 5), dtype=np.float32)  # noqa: E731
    res = simulate_ranks(draw, 5, 10, seed=0, return_ranks=True)
    assert (res["ranks"] == np.arange(1, 6)[:, None]).all()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    sims=st.integers(1, 700),
    spread=st.floats(0.01, 5.0),
    top=st.floats(0.01, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_rank_simulation_properties(n, sims, spread, top, seed):
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=n).astype(np.float32)
    draw = lambda g, m: mu + np.float32(spread) * g.standard_normal((m, n), dtype=np.float32)  # noqa: E731
    res = simulate_ranks(draw, n, sims, seed=seed, top=top, return_ranks=True)
    ranks = res["ranks"]
    # every simulation ranks the units 1..n exactly once
    assert np.array_equal(np.sort(ranks, axis=0), np.broadcast_to(np.arange(1, n + 1)[:, None], ranks.shape))
    # intervals contain the median; all within 1..n
    assert (1 <= res["rank_lower"]).all() and (res["rank_upper"] <= n).all()
    assert (res["rank_lower"] <= res["median_rank"]).all() and (res["median_rank"] <= res["rank_upper"]).all()
    for p in (res["p_top"], res["p_bottom"]):
        assert ((0 <= p) & (p <= 1)).all()
    # exactly k units are in the top k of every simulation
    k = max(1, int(np.ceil(top * n)))
    assert res["p_top"].sum() == pytest.approx(k)
    assert res["p_bottom"].sum() == pytest.approx(k)


def test_results_do_not_depend_on_thread_count_and_seed_reproduces():
    rng = np.random.default_rng(0)
    mu, sd = rng.normal(size=300).astype(np.float32), rng.uniform(0.1, 1, 300).astype(np.float32)
    draw = lambda g, m: mu + sd * g.standard_normal((m, 300), dtype=np.float32)  # noqa: E731
    one = simulate_ranks(draw, 300, 1200, seed=9, threads=1)
    two = simulate_ranks(draw, 300, 1200, seed=9, threads=2)
    for k in one:
        assert np.array_equal(one[k], two[k])
    other = simulate_ranks(draw, 300, 1200, seed=10, threads=2)
    assert not np.array_equal(one["p_top"], other["p_top"])


def test_more_than_int16_units_use_wider_ranks():
    n = 33_000
    mu = np.arange(n, dtype=np.float32)
    res = simulate_ranks(lambda g, m: np.broadcast_to(mu, (m, n)).copy(), n, 3, seed=0)
    assert res["median_rank"][-1] == n and res["median_rank"][0] == 1


# ---------------------------------------------------------------- rank_intervals on frames
def test_rank_intervals_orientation_and_columns():
    df = pl.DataFrame({"area_code": list("ABCDE"), "value": [1.0, 2.0, 3.0, 4.0, 5.0], "se": [0.01] * 5})
    hi = rank_intervals(df, polarity="higher_is_better", n_sims=500)
    lo = rank_intervals(df, polarity="lower_is_better", n_sims=500)
    assert hi["median_rank"].to_list() == [5, 4, 3, 2, 1] and hi["rank"].to_list() == [5, 4, 3, 2, 1]
    assert lo["median_rank"].to_list() == [1, 2, 3, 4, 5]
    assert hi["p_top"].to_list() == [0, 0, 0, 0, 1.0]
    assert hi.columns == ["area_code", "value", "rank", "median_rank", "rank_lower_95", "rank_upper_95",
                          "p_top", "p_bottom", "n_ranked"]


def test_rank_intervals_from_shrink_output_and_groups():
    rng = np.random.default_rng(4)
    ind = Indicator(id="health.uptake", title="Uptake", sector="health", measure="proportion",
                    multiplier=100, polarity="higher_is_better")
    n = rng.integers(50, 2000, 120).astype(float)
    x = rng.binomial(n.astype(int), rng.beta(30, 70, 120)).astype(float)
    df = pl.DataFrame({"indicator_id": "health.uptake", "area_code": [f"A{i}" for i in range(120)],
                       "period": np.where(np.arange(120) < 60, "2022", "2023"), "numerator": x, "denominator": n})
    post = shrink(df, ind)
    r = rank_intervals(post, ind, n_sims=800, seed=2)
    assert r.height == 120 and r["n_ranked"].unique().to_list() == [60]
    assert r.filter(pl.col("period") == "2022")["rank"].sort().to_list() == list(range(1, 61))
    assert (r["rank_lower_95"] <= r["median_rank"]).all() and (r["median_rank"] <= r["rank_upper_95"]).all()
    # small units are less certain: wider intervals than large ones on average
    width = (r["rank_upper_95"] - r["rank_lower_95"]).to_numpy()
    assert width[np.argsort(n)[:30]].mean() > width[np.argsort(n)[-30:]].mean()
    # the same frame without posteriors falls back to normal sampling distributions from counts
    raw = rank_intervals(df.with_columns(value=pl.col("numerator") / pl.col("denominator") * 100), ind,
                         n_sims=800, seed=2)
    first = raw.filter(pl.col("period") == "2022")
    expected = (-first["value"]).rank("min").cast(pl.Int64)
    assert first["rank"].to_list() == expected.to_list()
    assert raw["n_ranked"][0] == 60


def test_missing_values_are_kept_unranked_and_errors_are_clear():
    df = pl.DataFrame({"area_code": list("ABC"), "value": [1.0, None, 3.0], "se": [1.0, 1.0, 1.0]})
    r = rank_intervals(df, polarity="higher_is_better", n_sims=100)
    assert r["median_rank"][1] is None and r["n_ranked"][0] == 2
    with pytest.raises(SchemaError, match="se"):
        rank_intervals(df.drop("se"), n_sims=10)
    with pytest.raises(DataError, match="top"):
        rank_intervals(df, n_sims=10, top=1.5)


def test_rank_intervals_rank_each_breakdown_separately_by_default():
    # men and women of the same 5 areas: pooled, every woman would outrank every man
    df = pl.DataFrame({"area_code": list("ABCDE") * 2, "sex": ["Male"] * 5 + ["Female"] * 5,
                       "value": [1.0, 2, 3, 4, 5, 11, 12, 13, 14, 15], "se": [0.01] * 10})
    r = rank_intervals(df, polarity="higher_is_better", n_sims=200)
    assert r.height == 10 and r["sex"].to_list() == df["sex"].to_list()
    assert r["rank"].to_list() == [5, 4, 3, 2, 1] * 2
    assert r["n_ranked"].unique().to_list() == [5]


def test_rank_intervals_without_a_direction_put_the_highest_value_first():
    df = pl.DataFrame({"area_code": list("ABC"), "value": [1.0, 3.0, 2.0], "se": [0.01] * 3})
    r = rank_intervals(df, polarity="no_judgement", n_sims=200)
    assert r["rank"].to_list() == [3, 1, 2]
