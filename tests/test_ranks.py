"""Simulated rank intervals: exact ranks, properties, reproducibility."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import digest, frame_digest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats import rank_intervals, shrink, simulate_ranks


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


def test_exact_ties_are_ordered_at_random_not_by_row():
    # eight units with no uncertainty at one value: each is equally likely to take each place
    draw = lambda rng, m: np.zeros((m, 8), dtype=np.float32)  # noqa: E731
    res = simulate_ranks(draw, 8, 10_000, seed=0, top=1 / 8, return_ranks=True)
    ranks = res["ranks"]
    assert np.array_equal(np.sort(ranks, axis=0), np.broadcast_to(np.arange(1, 9)[:, None], ranks.shape))
    np.testing.assert_allclose(res["p_top"], 1 / 8, atol=0.015)  # was 1, 0, 0, ... (row order)
    np.testing.assert_allclose(ranks.mean(axis=1), 4.5, atol=0.1)
    # told they are exchangeable, they get identical summaries from their pooled simulations
    same = simulate_ranks(draw, 8, 10_000, seed=0, top=1 / 8, groups=np.zeros(8))
    assert np.all(same["p_top"] == 0.125) and np.all(same["p_bottom"] == 0.125)
    assert len({*same["median_rank"]}) == 1 and set(same["rank_lower"]) == {1} and set(same["rank_upper"]) == {8}


def test_negative_zero_ties_with_positive_zero():
    # -0.0 and +0.0 are the same value: they must not sort apart
    row = np.array([0.0, -0.0, 0.0, -0.0], dtype=np.float32)
    res = simulate_ranks(lambda rng, m: np.tile(row, (m, 1)), 4, 8000, seed=0, top=0.25)
    np.testing.assert_allclose(res["p_top"], 0.25, atol=0.02)  # was 0, 0.5, 0, 0.5
    df = pl.DataFrame({"area_code": list("ABCD"), "value": [0.0, -0.0, 0.0, -0.0], "se": [0.0] * 4})
    r = rank_intervals(df, polarity="lower_is_better", n_sims=2000)
    assert r["rank"].to_list() == [1, 1, 1, 1]
    assert r["p_top"].to_list() == [0.25] * 4 and r["median_rank"].n_unique() == 1


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
    assert hi.columns == [
        "area_code",
        "value",
        "rank",
        "median_rank",
        "rank_lower_95",
        "rank_upper_95",
        "p_top",
        "p_bottom",
        "n_ranked",
    ]


def test_rank_intervals_from_shrink_output_and_groups():
    rng = np.random.default_rng(4)
    ind = Indicator(
        id="health.uptake", title="Uptake", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    n = rng.integers(50, 2000, 120).astype(float)
    x = rng.binomial(n.astype(int), rng.beta(30, 70, 120)).astype(float)
    df = pl.DataFrame(
        {
            "indicator_id": "health.uptake",
            "area_code": [f"A{i}" for i in range(120)],
            "period": np.where(np.arange(120) < 60, "2022", "2023"),
            "numerator": x,
            "denominator": n,
        }
    )
    post = shrink(df, ind)
    r = rank_intervals(post, ind, n_sims=800, seed=2)
    assert r.height == 120 and r["n_ranked"].unique().to_list() == [60]
    assert r.filter(pl.col("period") == "2022")["rank"].sort().to_list() == list(range(1, 61))
    assert (r["rank_lower_95"] <= r["median_rank"]).all() and (r["median_rank"] <= r["rank_upper_95"]).all()
    # small units are less certain: wider intervals than large ones on average
    width = (r["rank_upper_95"] - r["rank_lower_95"]).to_numpy()
    assert width[np.argsort(n)[:30]].mean() > width[np.argsort(n)[-30:]].mean()
    # the same frame without posteriors is drawn from each unit's Jeffreys distribution (its counts)
    raw = rank_intervals(df.with_columns(value=pl.col("numerator") / pl.col("denominator") * 100), ind, n_sims=800, seed=2)
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


def test_a_group_without_values_is_unranked_without_a_numpy_warning():
    # found under tests/test_fuzz.py: "RuntimeWarning: Mean of empty slice" reached the user
    import warnings

    df = pl.DataFrame({"area_code": ["A", "B"], "value": [None, None], "se": [1.0, 2.0]}, schema_overrides={"value": pl.Float64})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = rank_intervals(df, n_sims=50)
    assert r["n_ranked"].to_list() == [0, 0] and r["median_rank"].null_count() == 2


def test_rank_intervals_rank_each_breakdown_separately_by_default():
    # men and women of the same 5 areas: pooled, every woman would outrank every man
    df = pl.DataFrame(
        {
            "area_code": list("ABCDE") * 2,
            "sex": ["Male"] * 5 + ["Female"] * 5,
            "value": [1.0, 2, 3, 4, 5, 11, 12, 13, 14, 15],
            "se": [0.01] * 10,
        }
    )
    r = rank_intervals(df, polarity="higher_is_better", n_sims=200)
    assert r.height == 10 and r["sex"].to_list() == df["sex"].to_list()
    assert r["rank"].to_list() == [5, 4, 3, 2, 1] * 2
    assert r["n_ranked"].unique().to_list() == [5]


def test_rank_intervals_without_a_direction_put_the_highest_value_first():
    df = pl.DataFrame({"area_code": list("ABC"), "value": [1.0, 3.0, 2.0], "se": [0.01] * 3})
    r = rank_intervals(df, polarity="no_judgement", n_sims=200)
    assert r["rank"].to_list() == [3, 1, 2]


# ---------------------------------------------------------------- ties and row order (defect 3)
EIGHT = pl.DataFrame({"area_code": list("ABCDEFGH"), "value": [10.0, 10.5, 9.5, 10.2, 9.9, 10.1, 9.8, 10.3], "se": [1.0] * 8})


def summaries(r):
    return {row["area_code"]: row for row in r.iter_rows(named=True)}


def test_rank_intervals_after_shrink_do_not_follow_row_order():
    # tau^2 is estimated as 0 here; the plug-in posterior was a point mass at the mean, and ties
    # were broken by row: median ranks 1..8 and P(top) 0.506 ... 0.004 down the rows.
    forward = summaries(rank_intervals(shrink(EIGHT, measure="mean"), polarity="higher_is_better"))
    backward = summaries(rank_intervals(shrink(EIGHT.reverse(), measure="mean"), polarity="higher_is_better"))
    for code in forward:
        assert forward[code]["p_top"] == pytest.approx(backward[code]["p_top"], abs=0.02)
        assert abs(forward[code]["median_rank"] - backward[code]["median_rank"]) <= 1
    p_top = np.array([forward[c]["p_top"] for c in EIGHT["area_code"]])
    # nobody is placed: no area's chance of being top is far from 1/8, and the order follows the values
    assert np.all(np.abs(p_top - 1 / 8) < 0.08)
    assert np.corrcoef(p_top, EIGHT["value"].to_numpy())[0, 1] > 0.9
    assert forward["B"]["p_top"] == max(p_top) and forward["C"]["p_top"] == min(p_top)


def test_plug_in_shrinkage_with_no_variation_gives_equal_ranks():
    # the plug-in (empirical Bayes) posterior really is one point for all eight: a tie
    post = shrink(EIGHT, measure="mean", estimator="ml")
    assert post["posterior_b"].to_list() == [0.0] * 8
    r = rank_intervals(post, polarity="higher_is_better")
    assert r["p_top"].to_list() == pytest.approx([0.125] * 8) and r["p_bottom"].to_list() == pytest.approx([0.125] * 8)
    assert r["rank"].to_list() == [1] * 8 and r["median_rank"].n_unique() == 1
    assert r["rank_lower_95"].to_list() == [1] * 8 and r["rank_upper_95"].to_list() == [8] * 8
    reversed_ = rank_intervals(shrink(EIGHT.reverse(), measure="mean", estimator="ml"), polarity="higher_is_better")
    assert reversed_.drop("area_code", "value").equals(r.drop("area_code", "value"))


def test_providers_tied_at_100_percent_are_ranked_as_ties_not_by_row():
    # 38 providers at 100% (seen within 4 hours) among 60 share point rank 1; their rank
    # intervals were 8-36 because float32 ties went to the lower row.
    rng = np.random.default_rng(7)
    n = rng.integers(200, 20_000, 60).astype(float)
    x = np.where(np.arange(60) < 38, n, np.floor(n * rng.uniform(0.7, 0.97, 60)))
    ae = Indicator(
        id="health.ae",
        title="Seen within 4 hours",
        sector="health",
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
    )
    df = pl.DataFrame(
        {
            "indicator_id": "health.ae",
            "area_code": [f"P{i:02d}" for i in range(60)],
            "numerator": x,
            "denominator": n,
            "value": 100 * x / n,
        }
    )
    r = rank_intervals(df, ae, n_sims=4000)
    back = summaries(rank_intervals(df.reverse(), ae, n_sims=4000))
    full = r.head(38)
    assert full["rank"].to_list() == [1] * 38
    assert (full["rank_upper_95"] <= 38).all() and (r.tail(22)["rank_lower_95"] >= 39).all()
    # the order among the tied follows the evidence (a 100% from more patients is surer), not the rows
    assert full["rank_lower_95"][int(np.argmax(n[:38]))] == 1
    assert np.corrcoef(full["p_top"].to_numpy(), np.log(n[:38]))[0, 1] > 0.8
    for row in full.iter_rows(named=True):
        assert row["p_top"] == pytest.approx(back[row["area_code"]]["p_top"], abs=0.04)
    # the same 38 with no uncertainty at all (se = 0) are exact ties: identical summaries
    exact = rank_intervals(
        df.drop("numerator", "denominator").with_columns(se=pl.when(pl.col("value") == 100).then(0.0).otherwise(0.5)),
        ae,
        n_sims=4000,
    )
    top = exact.head(38)
    for column in ("rank", "median_rank", "rank_lower_95", "rank_upper_95", "p_top", "p_bottom"):
        assert top[column].n_unique() == 1, column
    assert top["p_top"][0] == pytest.approx(6 / 38)  # the six top-10% places shared equally
    assert (top["rank_lower_95"][0], top["rank_upper_95"][0]) == (1, 38)  # uniform over 1..38: P(<= 37) < 0.975


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.sampled_from([-1.0, -0.0, 0.0, 0.5, 2.0]), min_size=2, max_size=25),
    spread=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 2**16),
    polarity=st.sampled_from(["higher_is_better", "lower_is_better"]),
)
def test_ties_are_ties_everywhere(values, spread, seed, polarity):
    df = pl.DataFrame({"area_code": [f"U{i}" for i in range(len(values))], "value": values, "se": [spread] * len(values)})
    r = rank_intervals(df, polarity=polarity, n_sims=300, seed=seed)
    v = np.array(values) + 0.0
    key = -v if polarity == "higher_is_better" else v
    # point rank: competition ranking, 1 + the number of strictly better values
    assert r["rank"].to_list() == [int(1 + np.sum(key < k)) for k in key]
    # equal values (and equal uncertainty) get equal summaries
    for column in ("median_rank", "rank_lower_95", "rank_upper_95", "p_top", "p_bottom"):
        per_value = r.with_columns(v=pl.Series(v)).group_by("v").agg(pl.col(column).n_unique())
        assert per_value[column].max() == 1, column
    k = int(np.ceil(0.1 * len(values)))
    assert r["p_top"].sum() == pytest.approx(k) and r["p_bottom"].sum() == pytest.approx(k)


# ---------------------------------------------------------------- one ranking, stated (defect 10)
SHARE = Indicator(
    id="health.share",
    title="Seen within 4 hours",
    sector="health",
    measure="proportion",
    multiplier=100,
    polarity="higher_is_better",
    unit="%",
)


def share_frame(k=43, n=20_000.0, seed=0, spread=0.15):
    rng = np.random.default_rng(seed)
    p = np.clip(0.8 + spread * np.linspace(-1, 1, k) + rng.normal(0, 0.001, k), 0.01, 0.99)
    return pl.DataFrame(
        {
            "indicator_id": "health.share",
            "area_code": [f"E{i:08d}" for i in range(k)],
            "period": "2024",
            "numerator": np.round(p * n),
            "denominator": np.full(k, n),
        }
    )


def test_rank_areas_ranks_by_value_with_rank_intervals_and_shrunken_estimates():
    result = ps.rank_areas(share_frame(), SHARE, n_sims=1000)
    f = result.frame
    expected = (-f["value"]).rank("min").cast(pl.Int64)
    assert f["rank"].to_list() == expected.to_list()
    assert {"shrunk_value", "shrunk_lower_95", "shrunk_upper_95", "shrinkage"} <= set(f.columns)
    assert f["shrunk_value"].null_count() == 0
    assert result.frame.sort("rank")["area_code"].to_list() == result._display_frame()[0]["area_code"].to_list()
    summary = result.summary()
    assert "ranked by value" in summary and "Goldstein & Spiegelhalter 1996" in summary and "1,000 simulations" in summary
    # the chart ranks the same way: rank by value first
    rows = result.chart().to_dict()["datasets"]
    data = next(iter(rows.values()))
    assert [d["rank"] for d in data] == sorted(d["rank"] for d in data)


def test_rank_summary_words_follow_the_numbers():
    precise = ps.rank_areas(share_frame(), SHARE, n_sims=1000)
    f = precise.frame
    width = (f["rank_upper_95"] - f["rank_lower_95"] + 1).median()
    assert width <= 43 / 10
    text = precise.summary()
    assert "ranks are uncertain" not in text  # was: "... spans 3 places, so most ranks are uncertain"
    assert f"covers {width:,.0f} of the 43 places, so most ranks are known to within a tenth of the table" in text
    noisy = ps.rank_areas(share_frame(n=60.0, spread=0.02), SHARE, n_sims=1000)
    text = noisy.summary()
    assert "so most ranks are uncertain" in text
    assert "Only 0" not in text and "No unit can be placed in the top 10%" in text


def test_rank_summary_names_tied_leaders():
    frame = share_frame(k=12).with_columns(
        numerator=pl.when(pl.int_range(pl.len()) >= 9).then(pl.col("denominator")).otherwise(pl.col("numerator"))
    )
    text = ps.rank_areas(frame, SHARE, n_sims=500).summary()
    assert "3 units share rank 1 (E00000009, E00000010 and E00000011)" in text


# ------------------------------------------------------------------------------------------
# The blocked rank engine gives the ranks of the packed double sort it replaced, bit for bit
# ------------------------------------------------------------------------------------------


def _packed_double_sort(draw, seed, m, n, top_k):
    """The previous engine, written plainly: sort (key, index); if any draws tie, draw
    rng.integers(0, 2**(32 - w), (m, n)) and sort again on (key, word << w | index)."""
    rng = np.random.Generator(np.random.SFC64(seed))
    x = draw(rng, m) + np.float32(0.0)
    bits = x.view(np.int32)
    hi = (bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))).astype(np.int64)
    index = np.arange(n, dtype=np.int64)
    keys = np.sort((hi << 32) | index, axis=1)
    if n > 1 and ((keys[:, 1:] >> 32) == (keys[:, :-1] >> 32)).any():
        width = max(1, (n - 1).bit_length())
        noise = rng.integers(0, 1 << (32 - width), size=(m, n), dtype=np.uint32).astype(np.int64)
        keys = np.sort(((keys >> 32) << 32) | (noise << width) | (keys & 0xFFFFFFFF), axis=1)
        order = keys & ((1 << width) - 1)
    else:
        order = keys & 0xFFFFFFFF
    ranks = np.empty((m, n), dtype=np.int64)
    np.put_along_axis(ranks, order, np.arange(n)[None, :], axis=1)
    return ranks, (ranks < top_k).sum(axis=0), (ranks >= n - top_k).sum(axis=0)


def _tied_samplers(n, rng):
    from publicservices.stats.ranking.rank_intervals import _beta_sampler, _gamma_sampler, _normal_sampler

    mean, sd = rng.normal(size=n), rng.uniform(0, 1, n)
    sd[::3], mean[::5] = 0.0, 0.5
    return [
        _normal_sampler(mean, sd, -1.0),  # exact ties: units with no uncertainty
        _normal_sampler(rng.normal(50, 5, n), rng.uniform(0.5, 5, n), 1.0),  # float32 coincidences
        _gamma_sampler(np.full(n, 0.5), np.full(n, 3.0), -1.0),
        _beta_sampler(np.full(n, 0.5), np.full(n, 3.0), 1.0),  # not blockwise
        lambda g, m: np.where(g.random((m, n)) < 0.5, -0.0, 0.0).astype(np.float32),
        lambda g, m: g.integers(-3, 3, (m, n)).astype(np.float32),
    ]


@pytest.mark.parametrize("n", [1, 2, 5, 17, 300, 7000])
def test_chunk_ranks_match_the_packed_double_sort(n):
    from publicservices.stats.ranking.rank_intervals import _chunk_ranks

    rng = np.random.default_rng(n)
    m = 77 if n < 7000 else 40
    for draw in _tied_samplers(n, rng):
        for seed in np.random.SeedSequence(n).spawn(2):
            top_k = max(1, int(np.ceil(0.1 * n)))
            out = np.full((n, m + 3), -1, dtype=np.int16)
            top, bottom = _chunk_ranks(draw, seed, m, n, np.int16, top_k, out, 2)
            ranks, want_top, want_bottom = _packed_double_sort(draw, seed, m, n, top_k)
            assert np.array_equal(out[:, 2 : 2 + m], ranks.T)
            assert np.array_equal(top, want_top) and np.array_equal(bottom, want_bottom)


@pytest.mark.parametrize("before", [0, 1, 2, 3, 1001])
def test_tie_words_are_those_of_generator_integers(before):
    from publicservices.stats.ranking.rank_intervals import _tie_noise

    for width in (1, 13, 17, 31):
        a = np.random.Generator(np.random.SFC64(before + width))
        b = np.random.Generator(np.random.SFC64(before + width))
        a.standard_normal(before, dtype=np.float32)  # may leave half a 64-bit word buffered
        b.standard_normal(before, dtype=np.float32)
        want = a.integers(0, 1 << (32 - width), size=(9, 13), dtype=np.uint32).ravel()
        at = np.array([0, 1, 2, 7, 50, 116])
        assert np.array_equal(_tie_noise(b, width, at), want[at])


# --------------------------------------------------------------------------------------
# Pinned outputs: speed-ups must give bit-identical answers for the same seed
# --------------------------------------------------------------------------------------
def _pinned_sampler(kind, n):
    from publicservices.stats.ranking.rank_intervals import _beta_sampler, _gamma_sampler, _normal_sampler

    r = np.random.default_rng(n)
    if kind == "normal":
        return _normal_sampler(r.normal(size=n), r.uniform(0.1, 2, n), -1.0), None
    if kind == "ties":  # repeated values, a third known exactly, exchangeable groups
        mu, sd = np.round(r.normal(size=n), 1), np.where(r.random(n) < 0.3, 0.0, 0.5)
        return _normal_sampler(mu, sd, 1.0), np.unique(np.stack([mu, sd], 1), axis=0, return_inverse=True)[1].ravel()
    if kind == "gamma":
        return _gamma_sampler(r.integers(1, 30, n).astype(float) + 0.5, r.integers(100, 1000, n).astype(float), 1.0), None
    return _beta_sampler(r.integers(0, 30, n) + 0.5, r.integers(0, 30, n) + 0.5, -1.0), None


# digests of the outputs before the ranking speed-ups (issue 21); a change here changes answers
PINNED_SIMULATIONS = {
    ("normal", 300, 1000): "a464a47bd117471c",
    ("ties", 200, 777): "76c31fe77505e99e",
    ("gamma", 120, 600): "c717e662c3e5f229",
    ("beta", 90, 500): "b0eb168c3f56f3b0",
    ("normal", 1, 50): "2e9797e315b58da2",
    ("normal", 2, 260): "e54d5b930a37740a",
    ("normal", 3000, 500): "3c2c9104a59af787",
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", sorted(PINNED_SIMULATIONS))
def test_simulated_ranks_are_pinned(case, threads):
    kind, n, sims = case
    draw, labels = _pinned_sampler(kind, n)
    res = simulate_ranks(draw, n, sims, seed=11, threads=threads, return_ranks=True, groups=labels)
    assert digest(*[res[k] for k in sorted(res)]) == PINNED_SIMULATIONS[case]


def test_rank_intervals_frame_is_pinned():
    rng = np.random.default_rng(5)
    df = pl.DataFrame(
        {"area_code": [f"A{i:04d}" for i in range(400)], "value": rng.normal(50, 5, 400).round(1), "se": rng.uniform(0.5, 3, 400)}
    )
    out = rank_intervals(df, polarity="higher_is_better", n_sims=1500, seed=4)
    assert frame_digest(out) == "0f54596201c1548d"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e-300, np.inf, -np.inf]), max_size=12))
def test_min_ranks_are_scipys_rankdata_with_ties_at_their_lowest_place(values):
    from scipy.stats import rankdata

    from publicservices.stats.ranking._rankutil import min_ranks

    a = np.array(values, dtype=float)
    assert np.array_equal(min_ranks(a), rankdata(a, method="min"))
