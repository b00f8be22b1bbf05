"""Confidence sets for ranks (Mogstad, Romano, Shaikh & Wilhelm 2023): worked values, a naive
reference implementation, the PISA application, coverage by simulation and properties."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import polars as pl
import pytest
from conftest import digest, frame_digest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import publicservices as ps
import publicservices.stats.ranking.rank_set_engine as rs
from publicservices.errors import DataError, PublicServicesError, SchemaError
from publicservices.stats import rank_confidence_sets, top_k_set
from publicservices.stats.ranking.rank_set_engine import rank_set_arrays

PISA = "intl_pisa_2018_2022_oecd.csv"


# --------------------------------------------------------------------------------------
# A naive reference: the paper's procedure written out pair by pair (tiny n only)
# --------------------------------------------------------------------------------------
def naive_rank_sets(y, se, *, level, kind, stepdown, n_boot, seed):
    """Loops over draws and ordered pairs; same draws (seed, canonical order) as the module."""
    y = np.asarray(y, dtype=float)
    se = np.asarray(se, dtype=float)
    n = y.size
    order = np.lexsort((se, y))
    ys, ss = y[order], se[order]
    e = np.random.default_rng(seed).standard_normal((n_boot, n))
    x = [[e[b, j] * ss[j] for j in range(n)] for b in range(n_boot)]
    v = [ss[j] * ss[j] for j in range(n)]
    r = math.ceil(level * (n_boot + 1) - 1e-9)  # the (r)-th smallest draw: Monte Carlo test rule

    def t(j, k):
        return (ys[j] - ys[k]) / math.sqrt(v[j] + v[k])

    def critical(pairs):
        maxima = []
        for b in range(n_boot):
            best = -math.inf
            for j, k in pairs:  # H(j,k): theta_j <= theta_k, statistic (Z_j - Z_k) / sd
                best = max(best, (x[b][j] - x[b][k]) / math.sqrt(v[j] + v[k]))
            maxima.append(best)
        return max(sorted(maxima)[r - 1], 0.0)

    def stepdown_rejections(pairs):
        pairs, rejected = set(pairs), set()
        while True:
            c = critical(sorted(pairs))
            new = {p for p in pairs if t(*p) > c}
            if not new:
                return rejected
            rejected |= new
            pairs -= new
            if not stepdown:
                return rejected

    lower, upper = [0] * n, [0] * n
    everything = {(j, k) for j in range(n) for k in range(n) if j != k}
    if kind == "simultaneous":
        rej = stepdown_rejections(everything)
    for j in range(n):
        if kind == "marginal":
            rej = stepdown_rejections({p for p in everything if j in p})
        lower[j] = 1 + sum((k, j) in rej for k in range(n))
        upper[j] = n - sum((j, k) in rej for k in range(n))
    lo, hi = np.empty(n, dtype=int), np.empty(n, dtype=int)
    lo[order], hi[order] = lower, upper
    return lo, hi


@pytest.mark.parametrize("kind", ["simultaneous", "marginal"])
@pytest.mark.parametrize("stepdown", [True, False])
@pytest.mark.parametrize("case", range(3))
def test_agrees_exactly_with_the_naive_reference(kind, stepdown, case):
    rng = np.random.default_rng(case)
    n = 6
    y = np.round(rng.normal(0, 2.5, n), 1)
    y[1] = y[0]  # a tie in the estimates
    se = rng.choice([0.5, 0.8, 1.2, 2.0], n)
    lo, hi = naive_rank_sets(y, se, level=0.9, kind=kind, stepdown=stepdown, n_boot=120, seed=case)
    res = rank_set_arrays(y, se, level=0.9, kind=kind, stepdown=stepdown, n_boot=120, seed=case)
    assert res.lower.tolist() == lo.tolist()
    assert res.upper.tolist() == hi.tolist()


@pytest.mark.parametrize("kind", ["simultaneous", "marginal"])
def test_pruned_engine_agrees_with_the_naive_reference(kind):
    """n = 24 is above the size where every pair is evaluated: the bound-and-prune path."""
    rng = np.random.default_rng(7)
    n = 24
    y = np.sort(rng.normal(0, 3, n))
    se = rng.uniform(0.4, 1.6, n)
    assert n > rs._FULL_N
    lo, hi = naive_rank_sets(y, se, level=0.95, kind=kind, stepdown=True, n_boot=60, seed=11)
    res = rank_set_arrays(y, se, level=0.95, kind=kind, stepdown=True, n_boot=60, seed=11)
    assert res.lower.tolist() == lo.tolist() and res.upper.tolist() == hi.tolist()
    assert (res.upper - res.lower).max() > 2  # a non-trivial case


@pytest.mark.parametrize("kind", ["simultaneous", "marginal"])
@pytest.mark.parametrize("n", [30, 90, 260])
def test_pruning_and_blocks_do_not_change_the_answer(kind, n):
    """Pruned vs every pair evaluated, tiny blocks (every chunk loop runs) and the pairwise
    standard errors worked out per block rather than gathered from a matrix: identical."""
    rng = np.random.default_rng(n)
    y = rng.normal(0, 4, n)
    y[: n // 5] = y[0]  # a block of tied estimates
    se = rng.uniform(0.3, 3.0, n)
    se[3] = se[5] = 0.0  # two exactly known values
    args = dict(kind=kind, n_boot=200, seed=5)
    base = rank_set_arrays(y, se, **args)
    with mock.patch.object(rs, "_FULL_N", 10**9):
        full = rank_set_arrays(y, se, **args)
    with mock.patch.object(rs, "_BLOCK", 97), mock.patch.object(rs, "_CACHE", 0):
        small = rank_set_arrays(y, se, **args)
    with mock.patch.object(rs, "_DEN_N", 0):
        no_matrix = rank_set_arrays(y, se, **args)
    for other in (full, small, no_matrix):
        assert np.array_equal(base.lower, other.lower) and np.array_equal(base.upper, other.upper)
        assert np.array_equal(base.critical, other.critical)


# --------------------------------------------------------------------------------------
# Worked values
# --------------------------------------------------------------------------------------
def test_two_units_critical_value_is_the_two_sided_normal_quantile():
    # max over both orders of (Z1 - Z2) / sqrt(2) is |N(0, 1)|: its 95% point is 1.959964
    res = rank_set_arrays([0.0, 1.0], [1.0, 1.0], n_boot=20_000, stepdown=False)
    assert res.critical[0] == pytest.approx(1.959964, abs=0.05)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_equal_se_single_step_is_tukeys_studentized_range(n):
    """With equal se the simultaneous single step is Tukey's HSD: c = q(0.95; n, inf) / sqrt 2."""
    res = rank_set_arrays(np.zeros(n), np.ones(n), n_boot=20_000, stepdown=False)
    assert res.critical[0] == pytest.approx(stats.studentized_range.ppf(0.95, n, np.inf) / math.sqrt(2), abs=0.05)


def test_equal_se_marginal_single_step_is_dunnetts_two_sided_value():
    """Marginal set of one of 3 units: max of two |N(0,1)| with correlation 1/2 (Dunnett, inf df)."""
    mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]])
    dunnett = optimize.brentq(lambda c: mvn.cdf([c, c], lower_limit=[-c, -c]) - 0.95, 1.5, 3.0)
    assert dunnett == pytest.approx(2.2121, abs=1e-3)  # published table value 2.21
    res = rank_set_arrays(np.zeros(3), np.ones(3), kind="marginal", n_boot=20_000, stepdown=False)
    assert res.critical == pytest.approx([dunnett] * 3, abs=0.05)


def test_stepdown_worked_example():
    """Three units, se 1. Step 1: c1 = 2.3437 (studentized range) shows unit 3 above both.
    Step 2 tests max(|Z1 - Z2|, Z1 - Z3, Z2 - Z3) / sqrt 2, whose 95% point is c2 = 2.19572
    (by numerical integration: P = integral phi(z3) P(|Z1 - Z2| <= a, Z1, Z2 <= z3 + a) dz3 with
    a = c sqrt 2). With t(2,1) halfway between c2 and c1 only the stepdown shows unit 2 above 1."""
    c1 = stats.studentized_range.ppf(0.95, 3, np.inf) / math.sqrt(2)
    c2 = 2.19572
    y = [0.0, (c1 + c2) / 2 * math.sqrt(2), 100.0]
    single = rank_set_arrays(y, [1.0] * 3, n_boot=20_000, stepdown=False)
    step = rank_set_arrays(y, [1.0] * 3, n_boot=20_000, stepdown=True)
    assert single.lower.tolist() == [2, 2, 1] and single.upper.tolist() == [3, 3, 1]
    assert step.lower.tolist() == [3, 2, 1] and step.upper.tolist() == [3, 2, 1]
    assert step.critical[0] == pytest.approx(c1, abs=0.05)
    assert step.critical[1] == pytest.approx(c2, abs=0.05)
    assert list(step.critical) == sorted(step.critical, reverse=True)


def test_hand_computed_sets():
    # t = (12 - 10) / sqrt 2 = 1.41 and (31 - 30) / sqrt 2 = 0.71 are below any critical value
    # here (>= 1.96); every other pair has t >= 12.7: two blocks of two.
    df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0], "se": [1.0] * 4})
    for kind in ("simultaneous", "marginal"):
        out = rank_confidence_sets(df, kind=kind)
        assert out["rank"].to_list() == [4, 3, 2, 1]
        assert out["rank_lower"].to_list() == [3, 3, 1, 1]
        assert out["rank_upper"].to_list() == [4, 4, 2, 2]
        assert out["n_ranked"].to_list() == [4] * 4


def test_exactly_known_values_and_ties():
    assert rank_set_arrays([1.0, 2.0], [0.0, 0.0]).lower.tolist() == [2, 1]
    tied = rank_set_arrays([1.0, 1.0, 5.0], [0.0, 0.0, 0.0])
    assert tied.rank.tolist() == [2, 2, 1]  # ties share the smallest rank
    assert tied.lower.tolist() == [2, 2, 1] and tied.upper.tolist() == [3, 3, 1]
    one = rank_set_arrays([3.0], [1.0])
    assert (one.rank.tolist(), one.lower.tolist(), one.upper.tolist()) == ([1], [1], [1])


def test_polarity_reverses_the_order():
    df = pl.DataFrame({"area_code": list("ABC"), "value": [20.0, 10.0, 11.0], "se": [1.0, 1.0, 1.0]})
    low = rank_confidence_sets(df, polarity="lower_is_better")
    assert low.select("rank", "rank_lower", "rank_upper").rows() == [(3, 3, 3), (1, 1, 2), (2, 1, 2)]
    assert rank_confidence_sets(df, descending=False).equals(low)
    high = rank_confidence_sets(df)
    assert high["rank"].to_list() == [1, 3, 2]
    ind = ps.Indicator(id="health.waits", title="Waits", sector="health", measure="mean", polarity="lower_is_better")
    assert rank_confidence_sets(df, ind)["rank"].to_list() == [3, 1, 2]
    with pytest.raises(DataError, match="contradicts"):
        rank_confidence_sets(df, polarity="lower_is_better", descending=True)


# --------------------------------------------------------------------------------------
# The frame API
# --------------------------------------------------------------------------------------
def test_se_from_interval_limits_and_missing_rows():
    z = 1.959963984540054
    df = pl.DataFrame(
        {
            "area_code": ["A", "B", "C", "D", "E"],
            "value": [10.0, 20.0, None, 30.0, None],
            "se": [1.0, 1.5, 1.0, 2.0, None],
        }
    )
    by_se = rank_confidence_sets(df)
    limits = df.with_columns(lower_ci=pl.col("value") - z * pl.col("se"), upper_ci=pl.col("value") + z * pl.col("se")).drop("se")
    by_ci = rank_confidence_sets(limits)
    assert by_ci.select("rank", "rank_lower", "rank_upper").equals(by_se.select("rank", "rank_lower", "rank_upper"))
    # rows without a value are kept, unranked, and not counted
    assert by_se["rank"].to_list() == [3, 2, None, 1, None]
    assert by_se["n_ranked"].to_list() == [3] * 5
    assert by_se.columns == [*df.columns, "rank", "rank_lower", "rank_upper", "n_ranked"]
    # a value without a standard error cannot be placed: an error naming the row
    message = r"(?s)'se' is missing for rows that have a value \(looked in se\).*E.*add_intervals"
    with pytest.raises(DataError, match=message):
        rank_confidence_sets(df.with_columns(value=pl.col("value").fill_null(5.0)))


def test_counts_through_add_intervals():
    """Counts -> limits (publicservices.stats.add_intervals adds lower_95/upper_95) -> sets."""
    from publicservices.stats import add_intervals

    demo = ps.demo()
    ind = demo.indicators["health.cvd_mortality_preventable"]  # a rate, lower is better
    values = add_intervals(demo.values.filter(pl.col("indicator_id") == ind.id), demo.indicators)
    with pytest.raises(DataError, match=r"(?s)'se' is missing for rows that have a value.*upper_95.*\d+ more"):
        rank_confidence_sets(values, ind)  # limits are null below 10 events (as PHE suppresses)
    values = values.filter(pl.col("lower_95").is_not_null())
    out = rank_confidence_sets(values, ind, n_boot=300)
    ranked = out.filter(pl.col("rank").is_not_null())
    assert ranked.height == values.filter(pl.col("value").is_not_null()).height > 0
    one = ranked.filter(pl.col("period") == ranked["period"].max()).sort("value")
    assert one["rank"].to_list() == sorted(one["rank"].to_list())  # lowest rate ranks first
    assert (one["rank_lower"] <= one["rank"]).all() and (one["rank"] <= one["rank_upper"]).all()


def test_groups_are_ranked_separately():
    rng = np.random.default_rng(3)
    df = pl.DataFrame(
        {
            "indicator_id": ["x.a"] * 30 + ["x.b"] * 20,
            "period": ["2022"] * 50,
            "area_code": [f"E{i:02d}" for i in range(30)] + [f"E{i:02d}" for i in range(20)],
            "value": rng.normal(0, 3, 50),
            "se": rng.uniform(0.5, 2, 50),
        }
    )
    whole = rank_confidence_sets(df, kind="marginal", n_boot=300)
    for ind_id, n in (("x.a", 30), ("x.b", 20)):
        part = df.filter(pl.col("indicator_id") == ind_id)
        alone = rank_confidence_sets(part, kind="marginal", n_boot=300)
        assert whole.filter(pl.col("indicator_id") == ind_id).equals(alone)
        assert alone["n_ranked"].unique().to_list() == [n]
    pooled = rank_confidence_sets(df.with_columns(pl.col("area_code") + pl.col("indicator_id")), by=[], n_boot=300)
    assert pooled["n_ranked"].unique().to_list() == [50]


def test_errors_name_the_column_rows_and_fix():
    df = pl.DataFrame({"area_code": ["A", "B", "C"], "value": [1.0, 2.0, 3.0], "se": [1.0, -1.0, 1.0]})
    with pytest.raises(DataError, match=r"(?s)'se'.*B.*Fix"):
        rank_confidence_sets(df)
    with pytest.raises(SchemaError, match=r"(?s)'se' is missing.*add_intervals"):
        rank_confidence_sets(df.drop("se"))
    dup = df.with_columns(se=pl.lit(1.0), area_code=pl.lit("A"))
    with pytest.raises(DataError, match=r"(?s)'area_code' is repeated.*by="):
        rank_confidence_sets(dup)
    with pytest.raises(DataError, match=r"(?s)'value' is infinite"):
        rank_confidence_sets(df.with_columns(se=pl.lit(1.0), value=pl.Series([1.0, float("inf"), 2.0])))
    good = df.with_columns(se=pl.lit(1.0))
    for bad in (dict(kind="joint"), dict(level=1.0), dict(level=0.3), dict(n_boot=0), dict(n_boot=10)):
        with pytest.raises(PublicServicesError):
            rank_confidence_sets(good, **bad)
    with pytest.raises(DataError, match="k must be"):
        top_k_set(good, 0)
    with pytest.raises(DataError, match="which"):
        top_k_set(good, 1, which="middle")


def test_top_and_bottom_k():
    df = pl.DataFrame({"area_code": list("ABCDEF"), "value": [10.0, 12.0, 30.0, 31.0, 50.0, 49.0], "se": [1.0] * 6})
    top = top_k_set(df, 2)
    assert top.filter("could_be_top_k")["area_code"].to_list() == ["E", "F"]
    assert top.filter("surely_top_k")["area_code"].to_list() == ["E", "F"]
    top3 = top_k_set(df, 3)
    assert top3.filter("could_be_top_k")["area_code"].to_list() == ["C", "D", "E", "F"]
    assert top3.filter("surely_top_k")["area_code"].to_list() == ["E", "F"]
    bottom = top_k_set(df, 1, which="bottom")
    assert bottom.filter("could_be_bottom_k")["area_code"].to_list() == ["A", "B"]
    assert not bottom["surely_bottom_k"].any()
    everyone = top_k_set(df, 6)
    assert everyone["could_be_top_k"].all() and everyone["surely_top_k"].all()


# --------------------------------------------------------------------------------------
# PISA (the paper's application), through the package's reader
# --------------------------------------------------------------------------------------
@pytest.fixture
def pisa(shared_data):
    return ps.read(shared_data(PISA)).values


def test_pisa_2022_mathematics(pisa):
    maths = pisa.filter(pl.col("indicator_id") == "schools.pisa_mathematics", pl.col("period") == "2022")
    assert maths.height == 37 and "LUX" not in maths["area_code"].to_list()  # Luxembourg not reported
    assert "LUX" in pisa.filter(pl.col("period") == "2018")["area_code"].to_list()
    simul = rank_confidence_sets(maths)
    marg = rank_confidence_sets(maths, kind="marginal")
    row = {r["area_code"]: r for r in simul.iter_rows(named=True)}
    assert simul["n_ranked"].unique().to_list() == [37]
    # Japan and Korea lead, each could be first; nobody else could be
    assert (row["JPN"]["rank_lower"], row["KOR"]["rank_lower"]) == (1, 1)
    assert simul.filter(pl.col("rank_lower") == 1)["area_code"].sort().to_list() == ["JPN", "KOR"]
    assert row["JPN"]["rank_upper"] <= 2
    # the UK (10th on the point estimate) could be anywhere from 5th to 20th
    gbr = row["GBR"]
    assert gbr["rank"] == 10 and 4 <= gbr["rank_lower"] <= 7 and 18 <= gbr["rank_upper"] <= 22
    m_gbr = marg.filter(pl.col("area_code") == "GBR").row(0, named=True)
    assert gbr["rank_lower"] <= m_gbr["rank_lower"] <= m_gbr["rank"] <= m_gbr["rank_upper"] <= gbr["rank_upper"]
    # the bottom four are separated from the rest: Greece and Chile exactly placed
    assert (row["GRC"]["rank_lower"], row["GRC"]["rank_upper"]) == (33, 33)
    assert (row["CHL"]["rank_lower"], row["CHL"]["rank_upper"]) == (34, 34)
    assert {row[c]["rank_lower"] for c in ("MEX", "CRI", "COL")} >= {35}
    # as in the paper, the middle of the table cannot be ordered: wide sets
    middle = simul.filter(pl.col("rank").is_between(6, 29))
    assert (middle["rank_upper"] - middle["rank_lower"]).min() >= 10


def test_pisa_2018_mathematics_reproduces_the_published_csranks_results(pisa):
    """csranks vignette 'Inference for Ranks' (pisa2018: the 37 OECD members of 2018, so no
    Costa Rica): the 95% top-5 set has 12 countries, at 90% Sweden drops out; the UK (13th)
    has marginal set 7-23 (8-23 in the printed output, a bootstrap draw apart); Chile, Mexico
    and Colombia do not overlap the rest; Germany and Korea both contain 7th place."""
    maths = pisa.filter(
        pl.col("indicator_id") == "schools.pisa_mathematics", pl.col("period") == "2018", pl.col("area_code") != "CRI"
    )
    assert maths.height == 37
    published = ["BEL", "CAN", "CHE", "DNK", "EST", "FIN", "JPN", "KOR", "NLD", "POL", "SVN", "SWE"]
    assert top_k_set(maths, 5).filter("could_be_top_k")["area_code"].sort().to_list() == published
    at90 = top_k_set(maths, 5, level=0.9).filter("could_be_top_k")["area_code"].sort().to_list()
    assert at90 == [c for c in published if c != "SWE"]
    gbr = rank_confidence_sets(maths, kind="marginal").filter(pl.col("area_code") == "GBR").row(0, named=True)
    assert gbr["rank"] == 13 and gbr["rank_lower"] in (7, 8) and gbr["rank_upper"] == 23
    simul = rank_confidence_sets(maths)
    low = simul.filter(pl.col("area_code").is_in(["CHL", "MEX", "COL"]))
    rest = simul.filter(~pl.col("area_code").is_in(["CHL", "MEX", "COL"]))
    assert low["rank_lower"].min() > rest["rank_upper"].max()
    for c in ("DEU", "KOR"):
        r = simul.filter(pl.col("area_code") == c).row(0, named=True)
        assert r["rank_lower"] <= 7 <= r["rank_upper"]


def test_pisa_groups_and_interval_limits(pisa):
    """All six subject x year groups at once; se recovered from the 95% limits gives the same sets."""
    out = rank_confidence_sets(pisa, n_boot=500)
    sizes = out.group_by("indicator_id", "period").agg(pl.col("n_ranked").first()).sort("indicator_id", "period")
    assert sizes["n_ranked"].to_list() == [38, 37, 37, 37, 38, 37]
    via_ci = rank_confidence_sets(pisa.drop("standard_error"), n_boot=500)
    assert via_ci.select("rank", "rank_lower", "rank_upper").equals(out.select("rank", "rank_lower", "rank_upper"))


# --------------------------------------------------------------------------------------
# Coverage by simulation
# --------------------------------------------------------------------------------------
def _design(n, scenario, rng):
    se = rng.uniform(0.5, 1.5, n)  # heterogeneous standard errors
    if scenario == "equal":  # least favourable: every pair tied
        theta = np.zeros(n)
    else:  # spaced half a standard error apart, about a fifth of units tied with a neighbour
        theta = np.concatenate([[0.0], np.cumsum((rng.random(n - 1) < 0.8) * 0.5)])
    return theta, se


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["spaced", "equal"])
@pytest.mark.parametrize("n", [38, 150])
def test_coverage_by_simulation(n, scenario):
    """Simultaneous and marginal sets cover the true ranks at least 95% of the time.

    A tied unit's true places run from 1 + #{theta_k > theta_j} to n - #{theta_k < theta_j};
    a set covers only if it holds the whole range (stronger than the paper's rank, the
    smallest of them). 500 data sets; allowance: the 0.1% one-sided binomial quantile at 0.95
    (0.922), Bonferroni over units for the per-unit marginal check. With every unit tied the
    single step is exact (coverage r / (n_boot + 1) = 0.950), so there the coverage must also
    stay below the upper 0.01% binomial quantile (0.984): the sets are calibrated, not just wide.
    """
    reps, n_boot = 500, 500
    rng = np.random.default_rng(2023 + n)
    theta, se = _design(n, scenario, rng)
    first = 1 + (theta[None, :] > theta[:, None]).sum(axis=1)
    last = n - (theta[None, :] < theta[:, None]).sum(axis=1)
    simul = 0
    marginal = np.zeros(n)
    for rep in range(reps):
        y = theta + se * rng.standard_normal(n)
        s = rank_set_arrays(y, se, kind="simultaneous", n_boot=n_boot, seed=rep)
        m = rank_set_arrays(y, se, kind="marginal", n_boot=n_boot, seed=rep)
        simul += bool(np.all((s.lower <= first) & (s.upper >= last)))
        marginal += (m.lower <= first) & (m.upper >= last)
    floor = stats.binom.ppf(0.001, reps, 0.95) / reps
    unit_floor = stats.binom.ppf(0.001 / n, reps, 0.95) / reps
    print(
        f"n={n} {scenario}: simultaneous {simul / reps:.3f}, marginal mean {marginal.mean() / reps:.4f} "
        f"min {marginal.min() / reps:.3f}"
    )
    assert simul / reps >= floor
    assert marginal.min() / reps >= unit_floor
    assert marginal.mean() / reps >= floor
    if scenario == "equal":
        ceiling = stats.binom.isf(1e-4, reps, 0.95) / reps
        assert simul / reps <= ceiling and marginal.mean() / reps <= ceiling


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------
units = st.integers(2, 12).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 16).map(lambda i: i * 0.5), min_size=n, max_size=n),  # ties likely
        st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), min_size=n, max_size=n),
    )
)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(units, st.sampled_from(["simultaneous", "marginal"]), st.booleans(), st.integers(0, 3))
def test_sets_hold_the_point_rank(data, kind, stepdown, seed):
    y, se = data
    r = rank_set_arrays(y, se, kind=kind, stepdown=stepdown, n_boot=60, seed=seed)
    n = len(y)
    assert np.all((1 <= r.lower) & (r.lower <= r.rank) & (r.rank <= r.upper) & (r.upper <= n))
    assert r.rank.tolist() == [1 + sum(o > v for o in y) for v in y]


@SETTINGS
@given(units, st.sampled_from([1.0, 1.5, 2.0, 3.0]), st.sampled_from(["simultaneous", "marginal"]))
def test_widening_every_se_never_shrinks_a_set(data, factor, kind):
    """All se times the same factor: the bootstrap critical values are unchanged and every |t|
    falls, so no set shrinks. (Widening one unit's se changes the critical values too -- the
    correlations of the pairwise statistics move -- and can shrink another unit's set.)"""
    y, se = data
    before = rank_set_arrays(y, se, kind=kind, n_boot=60, seed=1)
    after = rank_set_arrays(y, np.asarray(se) * factor, kind=kind, n_boot=60, seed=1)
    assert np.all(after.lower <= before.lower) and np.all(after.upper >= before.upper)


@SETTINGS
@given(units, st.randoms(use_true_random=False), st.sampled_from(["simultaneous", "marginal"]))
def test_permuting_rows_permutes_the_output(data, random, kind):
    y, se = data
    n = len(y)
    df = pl.DataFrame({"area_code": [f"A{i:02d}" for i in range(n)], "value": y, "se": se})
    perm = list(range(n))
    random.shuffle(perm)
    out = rank_confidence_sets(df, kind=kind, n_boot=60)
    shuffled = rank_confidence_sets(df[perm], kind=kind, n_boot=60)
    assert shuffled.equals(out[perm])


@SETTINGS
@given(units, st.booleans(), st.integers(0, 3))
def test_simultaneous_sets_contain_marginal_sets_and_stepdown_never_widens(data, stepdown, seed):
    y, se = data
    simul = rank_set_arrays(y, se, kind="simultaneous", stepdown=stepdown, n_boot=60, seed=seed)
    marg = rank_set_arrays(y, se, kind="marginal", stepdown=stepdown, n_boot=60, seed=seed)
    assert np.all(simul.lower <= marg.lower) and np.all(simul.upper >= marg.upper)
    single = rank_set_arrays(y, se, kind="simultaneous", stepdown=False, n_boot=60, seed=seed)
    assert np.all(simul.lower >= single.lower) and np.all(simul.upper <= single.upper)
    assert list(simul.critical) == sorted(simul.critical, reverse=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(17, 60), st.integers(0, 10**6), st.sampled_from(["simultaneous", "marginal"]))
def test_pruned_path_equals_every_pair_evaluated(n, seed, kind):
    rng = np.random.default_rng(seed)
    y = np.round(rng.normal(0, rng.uniform(0.5, 5), n), 1)
    se = rng.choice([0.0, 0.3, 1.0, 2.5], n, p=[0.05, 0.35, 0.4, 0.2])
    base = rank_set_arrays(y, se, kind=kind, n_boot=80, seed=seed)
    with mock.patch.object(rs, "_FULL_N", 10**9):
        full = rank_set_arrays(y, se, kind=kind, n_boot=80, seed=seed)
    assert np.array_equal(base.lower, full.lower) and np.array_equal(base.upper, full.upper)
    assert np.array_equal(base.critical, full.critical)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(17, 300),
    st.integers(0, 10**6),
    st.sampled_from([0.0, 1e6, -3e9]),
    st.sampled_from([1e-3, 1.0, 50.0]),
    st.booleans(),
)
def test_stepdown_shortcuts_change_nothing(n, seed, offset, scale, stepdown):
    """The simultaneous stepdown's shortcuts -- near pairs skipped (_near_band), the pairs kept
    for later steps (_BAND), the candidates carried across steps and the top-m pruning -- give
    exactly the answer of evaluating every pair at every step, even where rounding is coarse
    (estimates far from 0 with small standard errors)."""
    rng = np.random.default_rng(seed)
    y = offset + scale * np.round(rng.normal(0, rng.uniform(0.5, 5), n), 1)
    se = scale * rng.choice([0.0, 0.05, 0.3, 1.0, 2.5], n, p=[0.05, 0.15, 0.3, 0.3, 0.2])
    args = dict(kind="simultaneous", stepdown=stepdown, n_boot=100, seed=seed)
    base = rank_set_arrays(y, se, **args)
    nothing_skipped = lambda y, v, c: (np.zeros(y.size, dtype=np.int64), np.zeros(y.size, dtype=np.int64))  # noqa: E731
    variants = [
        {"_near_band": nothing_skipped, "_BAND_MAX": 0},
        {"_BAND": 0.0},
        {"_BAND_MAX": 5, "_BLOCK": 2000},  # pairs kept, then given up part way through a step
        {"_BAND": 0.9, "_BLOCK": 997},
        {"_M_SIMUL": 8, "_CACHE": 0},
        {"_FULL_N": 10**9},
    ]
    for patches in variants:
        with mock.patch.multiple(rs, **patches):
            other = rank_set_arrays(y, se, **args)
        assert np.array_equal(base.lower, other.lower) and np.array_equal(base.upper, other.upper), patches
        assert np.array_equal(base.critical, other.critical) and base.steps == other.steps, patches


def test_largest_draws_by_threshold_match_a_full_partition():
    a = np.abs(np.random.default_rng(3).standard_normal((60, 5000)))
    a[7] *= 1e-3  # a row with too few values above the threshold: the partition fallback
    got = rs._largest(a, 5)
    want = rs._largest_partition(a, 5)
    assert np.array_equal(np.take_along_axis(a, got, 1), np.take_along_axis(a, want, 1))
    assert np.array_equal(got, want)  # no ties among continuous draws: the same columns, in order


def test_large_group_uses_the_threshold_path_and_agrees():
    rng = np.random.default_rng(8)
    y, se = rng.normal(0, 3, 1500), rng.uniform(0.2, 2, 1500)
    base = rank_set_arrays(y, se, n_boot=200, seed=2)
    with mock.patch.object(rs, "_largest", rs._largest_partition), mock.patch.object(rs, "_BAND_MAX", 0):
        other = rank_set_arrays(y, se, n_boot=200, seed=2)
    assert np.array_equal(base.lower, other.lower) and np.array_equal(base.upper, other.upper)
    assert np.array_equal(base.critical, other.critical)


def test_each_indicator_of_a_dataset_is_ranked_by_its_own_polarity():
    up = ps.Indicator(id="health.good", title="Good", sector="health", measure="mean", polarity="higher_is_better")
    down = ps.Indicator(id="health.bad", title="Bad", sector="health", measure="mean", polarity="lower_is_better")
    df = pl.DataFrame(
        {
            "indicator_id": ["health.good"] * 3 + ["health.bad"] * 3,
            "period": ["2024"] * 6,
            "area_code": list("ABCABC"),
            "value": [1.0, 5.0, 9.0] * 2,
            "se": [0.1] * 6,
        }
    )
    out = rank_confidence_sets(df, indicators={up.id: up, down.id: down})
    assert out["rank"].to_list() == [3, 2, 1, 1, 2, 3]
    assert rank_confidence_sets(df)["rank"].to_list() == [3, 2, 1, 3, 2, 1]  # no polarity known: highest first


# --------------------------------------------------------------------------------------
# Pinned outputs: speed-ups must give bit-identical answers for the same seed
# --------------------------------------------------------------------------------------
# digests of the outputs before the ranking speed-ups (issue 21); a change here changes answers
PINNED_SETS = {
    (3, "simultaneous", True): "1c5e40b8fc1d1200",
    (3, "simultaneous", False): "f549cb994cb0af27",
    (3, "marginal", True): "d71ba2725778b768",
    (3, "marginal", False): "26983bc9deebee24",
    (12, "simultaneous", True): "91d7674290be67b4",
    (12, "simultaneous", False): "7b0e73acd4575391",
    (12, "marginal", True): "f08bcbc28fad3fa9",
    (12, "marginal", False): "15c01c96f37b03d2",
    (17, "simultaneous", True): "17756efd43197b2a",
    (17, "simultaneous", False): "11f971414ec78267",
    (17, "marginal", True): "a3fcac45f8d52e0c",
    (17, "marginal", False): "4783e6468562a97d",
    (40, "simultaneous", True): "dbe8f788e1ecff90",
    (40, "simultaneous", False): "019399bf26084ec7",
    (40, "marginal", True): "4e5e0ee783792420",
    (40, "marginal", False): "ebd0978ff103b76b",
    (150, "simultaneous", True): "f671bee1d24f889a",
    (150, "simultaneous", False): "c0dfe9e348d5dcd5",
    (150, "marginal", True): "44f6c5528685c39d",
    (150, "marginal", False): "3336f786e36bfd12",
    (700, "simultaneous", True): "fca5d96f09f5c656",
    (700, "simultaneous", False): "64a94d7264f63d72",
    (700, "marginal", True): "34365ed89f44922c",
    (700, "marginal", False): "fb6123579b5fb407",
}


@pytest.mark.parametrize("case", sorted(PINNED_SETS))
def test_rank_sets_are_pinned(case):
    n, kind, stepdown = case
    r = np.random.default_rng(n)
    y, s = r.normal(size=n) * 3, r.uniform(0.2, 2, n)
    if n >= 40:  # three exactly known values and a tied pair
        s[:3] = 0.0
        y[5], s[5] = y[6], s[6]
    res = rank_set_arrays(y, s, kind=kind, stepdown=stepdown, n_boot=500 if n > 100 else 1000, seed=3)
    got = digest(res.rank, res.lower, res.upper, np.asarray(res.critical, dtype=float), np.asarray([res.steps]))
    assert got == PINNED_SETS[case]


def test_rank_confidence_sets_frame_is_pinned():
    rng = np.random.default_rng(5)
    df = pl.DataFrame(
        {"area_code": [f"A{i:04d}" for i in range(400)], "value": rng.normal(50, 5, 400).round(1), "se": rng.uniform(0.5, 3, 400)}
    )
    out = rank_confidence_sets(df, polarity="lower_is_better", n_boot=1000, seed=0)
    assert frame_digest(out) == "afba4ae98ce6ad08"
