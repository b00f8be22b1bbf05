"""Data envelopment analysis: textbook examples, pyDEA, a per-unit linprog reference, properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

import publicservices.stats.value._solver as dea_module
from publicservices.errors import DataError, SchemaError
from publicservices.stats.value import DEAResult, dea

FIXTURES = Path(__file__).parent / "fixtures" / "dea"


def frame(X, Y, names=None):
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    data = {"unit": names or [f"u{i}" for i in range(len(X))]}
    data |= {f"x{i}": X[:, i] for i in range(X.shape[1])}
    data |= {f"y{r}": Y[:, r] for r in range(Y.shape[1])}
    return pl.DataFrame(data)


def run(X, Y, **kw):
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    return dea(frame(X, Y), [f"x{i}" for i in range(X.shape[1])], [f"y{r}" for r in range(Y.shape[1])], unit="unit", **kw)


def reference_scores(X, Y, model, orientation):
    """One scipy linprog call per unit: the textbook envelopment LP, no tricks."""
    n, s = X.shape
    r = Y.shape[1]
    out = np.empty(n)
    for o in range(n):
        if orientation == "input":
            c = np.r_[1.0, np.zeros(n)]
            A = np.vstack([np.c_[-X[o][:, None], X.T], np.c_[np.zeros((r, 1)), -Y.T]])
            b = np.r_[np.zeros(s), -Y[o]]
        else:
            c = np.r_[-1.0, np.zeros(n)]
            A = np.vstack([np.c_[np.zeros((s, 1)), X.T], np.c_[Y[o][:, None], -Y.T]])
            b = np.r_[X[o], np.zeros(r)]
        kw = {"A_eq": np.r_[0.0, np.ones(n)][None], "b_eq": [1.0]} if model == "bcc" else {}
        res = linprog(c, A_ub=A, b_ub=b, bounds=(0, None), method="highs", **kw)
        assert res.status == 0
        out[o] = res.x[0] if orientation == "input" else 1.0 / res.x[0]
    return out


def random_data(n, s, r, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(10, 20, (n, s))
    core = np.prod(X, axis=1) ** (0.8 / s)
    Y = core[:, None] * rng.dirichlet(np.ones(r), n) * np.exp(-np.abs(rng.normal(0, 0.3, n)))[:, None]
    return X, Y


# -- textbook examples (Cooper, Seiford & Tone 2007, Data Envelopment Analysis, 2nd ed.) -------

STORES = pl.DataFrame(
    {"store": list("ABCDEF"), "staff": [4.0, 7, 8, 4, 2, 10], "floor": [3.0, 3, 1, 2, 4, 1], "sales": [1.0] * 6}
)


def test_two_inputs_one_output_example_3_1():
    # Example 3.1: scores, reference sets and lambdas; solved by hand:
    # A = 5/7 D + 2/7 E at theta 6/7; B = 2/19 C + 17/19 D at theta 12/19.
    res = dea(STORES, ["staff", "floor"], ["sales"], unit="store")
    assert isinstance(res, DEAResult)
    np.testing.assert_allclose(res.scores["efficiency"].to_numpy(), [6 / 7, 12 / 19, 1, 1, 1, 1], atol=1e-9)
    peers = {(r["store"], r["peer"]): r["weight"] for r in res.peers.iter_rows(named=True)}
    assert peers == pytest.approx(
        {
            ("A", "D"): 5 / 7,
            ("A", "E"): 2 / 7,
            ("B", "C"): 2 / 19,
            ("B", "D"): 17 / 19,
            ("C", "C"): 1,
            ("D", "D"): 1,
            ("E", "E"): 1,
            ("F", "C"): 1,
        },
        abs=1e-9,
    )
    # F has score 1 but uses 2 more staff than C: weakly efficient, with slack 2
    f = res.targets.filter(pl.col("store") == "F").sort("variable")
    assert f["slack"].to_list() == pytest.approx([0.0, 0.0, 2.0], abs=1e-9)  # floor, sales, staff
    assert res.scores["efficient"].to_list() == [False, False, True, True, True, False]
    assert res.scores["weakly_efficient"].to_list() == [False, False, True, True, True, True]
    a = res.targets.filter(pl.col("store") == "A")
    assert dict(zip(a["variable"], a["target"], strict=True)) == pytest.approx(
        {"staff": 24 / 7, "floor": 18 / 7, "sales": 1.0}, abs=1e-9
    )


SHOPS = pl.DataFrame({"shop": list("ABCDEFGH"), "staff": [2.0, 3, 3, 4, 5, 5, 6, 8], "sales": [1.0, 3, 2, 3, 4, 2, 3, 5]})


@pytest.mark.parametrize(
    ("model", "orientation", "expected"),
    [
        # Table 1.1: CCR efficiency is sales per staff relative to B's 1.0
        ("ccr", "input", [0.5, 1, 2 / 3, 0.75, 0.8, 0.4, 0.5, 0.625]),
        ("ccr", "output", [0.5, 1, 2 / 3, 0.75, 0.8, 0.4, 0.5, 0.625]),
        # BCC frontier A-B-E-H solved by hand: C needs 2.5 staff for sales 2, D 3 for 3, ...
        ("bcc", "input", [1, 1, 2.5 / 3, 0.75, 1, 0.5, 0.5, 1]),
        # ... and at 4 staff the frontier sells 3.5, at 6 staff 4 + 1/3
        ("bcc", "output", [1, 1, 2 / 3, 3 / 3.5, 1, 0.5, 3 / (13 / 3), 1]),
        # FDH: the best single observed unit
        ("fdh", "input", [1, 1, 1, 0.75, 1, 0.6, 0.5, 1]),
        ("fdh", "output", [1, 1, 2 / 3, 1, 1, 0.5, 0.75, 1]),
    ],
)
def test_one_input_one_output_table_1_1(model, orientation, expected):
    res = dea(SHOPS, ["staff"], ["sales"], unit="shop", model=model, orientation=orientation)
    np.testing.assert_allclose(res.scores["efficiency"].to_numpy(), expected, atol=1e-9)


def test_agrees_with_pydea():
    # scores computed by pyDEA 1.6 (see tests/fixtures/dea/make_pydea_fixture.py)
    ref = pl.read_csv(FIXTURES / "pydea_scores.csv")
    for model in ("ccr", "bcc"):
        for orientation in ("input", "output"):
            res = dea(ref, ["x1", "x2"], ["y1", "y2"], unit="unit", model=model, orientation=orientation)
            assert res.scores["unit"].to_list() == ref["unit"].to_list()
            np.testing.assert_allclose(res.scores["efficiency"].to_numpy(), ref[f"{model}_{orientation}"].to_numpy(), atol=1e-6)


# -- agreement with a per-unit linprog reference ------------------------------------------------


@pytest.mark.parametrize(
    ("n", "path"),
    [(40, "exact"), (40, "columns"), (160, "columns")],  # 160: the sampled-facet start
)
@pytest.mark.parametrize("model", ["ccr", "bcc"])
@pytest.mark.parametrize("orientation", ["input", "output"])
def test_matches_per_unit_linprog(n, path, model, orientation, monkeypatch):
    if path == "columns":  # force column generation even where the direct path applies
        monkeypatch.setattr(dea_module, "_EXACT_LIMIT", 0)
    X, Y = random_data(n, 2, 3, seed=n)
    res = run(X, Y, model=model, orientation=orientation)
    np.testing.assert_allclose(res.scores["efficiency"].to_numpy(), reference_scores(X, Y, model, orientation), atol=1e-6)
    if path == "columns":
        assert res.info["rounds"] > 1 and res.info["highs_calls"] >= 2


def test_grouped_solve_equals_separate_solves():
    # value for money solves every indicator x period in one batched call: peers stay in-group
    X1, Y1 = random_data(60, 1, 2, seed=1)
    X2, Y2 = random_data(45, 1, 2, seed=2)
    both = dea_module._solve(
        np.vstack([X1, X2 * 1000]),
        np.vstack([Y1, Y2]),
        model="bcc",
        orientation="output",
        groups=np.r_[np.zeros(60, int), np.ones(45, int)],
    )
    one = dea_module._solve(X1, Y1, model="bcc", orientation="output")
    two = dea_module._solve(X2 * 1000, Y2, model="bcc", orientation="output")
    np.testing.assert_allclose(both.efficiency, np.r_[one.efficiency, two.efficiency], atol=1e-9)
    assert np.all((both.peer_unit < 60) == (both.peer_ref < 60))
    np.testing.assert_allclose(both.target_in[60:], two.target_in, rtol=1e-7)


def test_fdh_matches_dominance_loop():
    rng = np.random.default_rng(5)
    X = np.round(rng.uniform(1, 10, (120, 2)))  # rounded: plenty of ties
    Y = np.round(rng.uniform(1, 10, (120, 2)))
    for orientation in ("input", "output"):
        res = run(X, Y, model="fdh", orientation=orientation)
        ref = []
        for o in range(len(X)):
            if orientation == "input":
                dom = np.all(Y >= Y[o], axis=1)
                ref.append(np.min(np.max(X[dom] / X[o], axis=1)))
            else:
                dom = np.all(X <= X[o], axis=1)
                ref.append(1 / np.max(np.min(Y[dom] / Y[o], axis=1)))
        np.testing.assert_allclose(res.scores["efficiency"].to_numpy(), ref, atol=1e-12)
        # the single peer dominates the unit (FDH peers are observed units)
        p = res.peers.join(frame(X, Y), left_on="peer", right_on="unit", suffix="_peer")
        assert p.height == len(X)
        assert (p["weight"] == 1.0).all()


# -- a simulated frontier: the units put on it score 1 ---------------------------------------------


def test_simulated_frontier_units_score_one():
    rng = np.random.default_rng(11)
    n = 400
    X = rng.uniform(1, 10, (n, 2))
    frontier = np.sqrt(X[:, 0] * X[:, 1])  # Cobb-Douglas, constant returns
    true_eff = np.where(np.arange(n) < 40, 1.0, rng.uniform(0.4, 0.95, n))
    Y = (frontier * true_eff)[:, None]
    res = run(X, Y, model="ccr", orientation="input")
    eff = res.scores["efficiency"].to_numpy()
    np.testing.assert_allclose(eff[:40], 1.0, atol=1e-6)
    assert res.scores["efficient"].to_numpy()[:40].all()
    # DEA's frontier lies inside the true one, so it never underrates a unit
    assert np.all(eff >= true_eff - 1e-9)
    assert np.all(eff[40:] < 1)
    # and the peers of inefficient units are units on the true frontier
    assert set(res.peers["peer"].to_list()) <= {f"u{i}" for i in range(40)}


def test_simulated_variable_returns_frontier():
    rng = np.random.default_rng(12)
    n = 300
    x = rng.uniform(1, 20, n)
    true_eff = np.where(np.arange(n) < 30, 1.0, rng.uniform(0.5, 0.95, n))
    y = np.sqrt(x) * true_eff  # concave: variable returns
    res = run(x[:, None], y[:, None], model="bcc", orientation="output")
    eff = res.scores["efficiency"].to_numpy()
    np.testing.assert_allclose(eff[:30], 1.0, atol=1e-6)
    assert np.all(eff >= true_eff - 1e-9)


# -- properties -------------------------------------------------------------------------------------

positive = st.floats(min_value=1.0, max_value=100.0, allow_nan=False, allow_infinity=False)


@st.composite
def datasets(draw):
    n = draw(st.integers(2, 25))
    s = draw(st.integers(1, 3))
    r = draw(st.integers(1, 3))
    X = draw(arrays(float, (n, s), elements=positive))
    Y = draw(arrays(float, (n, r), elements=positive))
    return X, Y


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(datasets(), st.sampled_from(["ccr", "bcc", "fdh"]), st.sampled_from(["input", "output"]))
def test_scores_in_unit_interval_with_an_efficient_unit(data, model, orientation):
    X, Y = data
    res = run(X, Y, model=model, orientation=orientation)
    eff = res.scores["efficiency"].to_numpy()
    assert np.all(eff > 0) and np.all(eff <= 1)
    assert res.scores["efficient"].any()
    # every peer is itself on the frontier
    weak = dict(zip(res.scores["unit"], res.scores["weakly_efficient"], strict=True))
    assert all(weak[p] for p in res.peers["peer"])


@SETTINGS
@given(datasets(), st.floats(0.01, 100.0), st.sampled_from(["input", "output"]))
def test_ccr_scores_unchanged_by_scaling_inputs(data, c, orientation):
    X, Y = data
    a = run(X, Y, model="ccr", orientation=orientation).scores["efficiency"].to_numpy()
    b = run(X * c, Y, model="ccr", orientation=orientation).scores["efficiency"].to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-7)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_ordering_ccr_bcc_fdh_and_orientations(data):
    X, Y = data
    ccr = run(X, Y, model="ccr").scores["efficiency"].to_numpy()
    bcc = run(X, Y, model="bcc").scores["efficiency"].to_numpy()
    fdh = run(X, Y, model="fdh").scores["efficiency"].to_numpy()
    assert np.all(bcc >= ccr - 1e-7)
    assert np.all(fdh >= bcc - 1e-7)
    # under constant returns the two orientations give the same score
    ccr_out = run(X, Y, model="ccr", orientation="output").scores["efficiency"].to_numpy()
    np.testing.assert_allclose(ccr, ccr_out, atol=1e-7)


@SETTINGS
@given(datasets(), st.sampled_from(["ccr", "bcc"]), st.sampled_from(["input", "output"]))
def test_targets_are_the_peers_combination(data, model, orientation):
    X, Y = data
    res = run(X, Y, model=model, orientation=orientation)
    f = frame(X, Y)
    cols = [c for c in f.columns if c != "unit"]
    combo = (
        res.peers.join(f, left_on="peer", right_on="unit")
        .group_by("unit")
        .agg([(pl.col(c) * pl.col("weight")).sum() for c in cols] + [pl.col("weight").sum().alias("total")])
    )
    wide = res.targets.pivot(on="variable", index="unit", values="target")
    both = combo.join(wide, on="unit", suffix="_target")
    for c in cols:
        # peers weighing under 1e-7 of a unit are dropped as solver noise, so the combination
        # can miss the target by that share of the column's scale
        scale = max(1.0, float(np.abs(f[c].to_numpy()).max()))
        np.testing.assert_allclose(both[c].to_numpy(), both[f"{c}_target"].to_numpy(), rtol=1e-6, atol=1e-6 * scale)
    if model == "bcc":
        np.testing.assert_allclose(both["total"].to_numpy(), 1.0, atol=1e-7)
    assert (res.targets["slack"] >= 0).all()


def test_without_slacks_scores_are_the_same():
    X, Y = random_data(150, 2, 2, seed=3)
    a = run(X, Y, model="bcc")
    b = run(X, Y, model="bcc", slacks=False)
    np.testing.assert_allclose(a.scores["efficiency"].to_numpy(), b.scores["efficiency"].to_numpy(), atol=1e-9)


def test_lazy_frame_order_and_unit_dtype_kept():
    f = STORES.with_columns(pl.Series("store", [10, 11, 12, 13, 14, 15])).reverse()
    res = dea(f.lazy(), ["staff", "floor"], ["sales"], unit="store")
    assert res.scores["store"].to_list() == [15, 14, 13, 12, 11, 10]
    assert res.peers["peer"].dtype == pl.Int64
    assert "CCR" in repr(res)


# -- errors -------------------------------------------------------------------------------------------


def test_missing_and_wrongly_typed_columns():
    with pytest.raises(SchemaError, match="'rent' is missing"):
        dea(STORES, ["staff", "rent"], ["sales"], unit="store")
    with pytest.raises(SchemaError, match="not a number"):
        dea(STORES.with_columns(pl.col("staff").cast(pl.String)), ["staff"], ["sales"], unit="store")
    with pytest.raises(SchemaError, match="both an input and an output"):
        dea(STORES, ["staff"], ["staff"], unit="store")


def test_bad_values_are_named_with_their_units():
    bad = STORES.with_columns(pl.when(pl.col("store") == "C").then(-1.0).otherwise(pl.col("floor")).alias("floor"))
    with pytest.raises(DataError, match=r"(?s)'floor' is negative in 1 row:\n  C"):
        dea(bad, ["staff", "floor"], ["sales"], unit="store")
    gap = STORES.with_columns(pl.when(pl.col("store") == "B").then(None).otherwise(pl.col("sales")).alias("sales"))
    with pytest.raises(DataError, match=r"(?s)'sales' is missing or not finite.*B"):
        dea(gap, ["staff", "floor"], ["sales"], unit="store")
    with pytest.raises(DataError, match="duplicated"):
        dea(pl.concat([STORES, STORES.head(1)]), ["staff"], ["sales"], unit="store")
    zero = STORES.with_columns(pl.when(pl.col("store") == "E").then(0.0).otherwise(pl.col("sales")).alias("sales"))
    with pytest.raises(DataError, match="all zero"):
        dea(zero, ["staff", "floor"], ["sales"], unit="store")
    # BCC input orientation accepts a unit with zero output
    assert dea(zero, ["staff", "floor"], ["sales"], unit="store", model="bcc").scores.height == 6
    with pytest.raises(DataError, match="model 'dea2'"):
        dea(STORES, ["staff"], ["sales"], unit="store", model="dea2")
