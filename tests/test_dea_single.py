"""DEA with one input and one output in closed form, against the LP path it replaces."""

from __future__ import annotations

import contextlib
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import publicservices.stats.value._solver as solver
from publicservices.stats.value import dea
from publicservices.stats.value._single import _closed_form

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def lp_path():
    """Solve by the LPs even where the closed form applies."""
    before = solver._CLOSED_FORM
    solver._CLOSED_FORM = False
    try:
        yield
    finally:
        solver._CLOSED_FORM = before


def solve(x, y, model, groups=None, *, slacks=True):
    x, y = np.asarray(x, float).reshape(-1, 1), np.asarray(y, float).reshape(-1, 1)
    return solver._solve(x, y, model=model, orientation="input", slacks=slacks, groups=groups)


def both(x, y, model, groups=None):
    cf = solve(x, y, model, groups)
    assert cf.info["lps"] == 0 and cf.info["closed_form"] == len(np.ravel(x))
    with lp_path():
        lp = solve(x, y, model, groups)
    return cf, lp


def peer_map(sol, above=0.0):
    out = defaultdict(dict)
    for u, p, w in zip(sol.peer_unit.tolist(), sol.peer_ref.tolist(), sol.peer_weight.tolist(), strict=True):
        if w > above:
            out[u][p] = w
    return out


def group_means(v, groups):
    g = np.zeros(len(v), dtype=np.int64) if groups is None else np.asarray(groups)
    m = np.bincount(g, weights=v) / np.bincount(g)
    return np.where(m > 0, m, 1.0)[g]


def close(a, b, tol):
    """|a - b| <= tol elementwise (tol an array: each unit's own scale)."""
    bad = np.flatnonzero(~(np.abs(a - b) <= tol))
    assert bad.size == 0, f"units {bad[:5].tolist()}: {a[bad[:5]]} != {b[bad[:5]]} (tol {np.broadcast_to(tol, a.shape)[bad[:5]]})"


def assert_same(cf, lp, x, y, groups=None, *, peers=False):
    """Scores to 1e-9; slacks and targets to 1e-7 of the group's mean; peers (where the LP
    optimum is unique) to 1e-6, ignoring the LP's phase-2 noise (weights of ~1e-7)."""
    x, y = np.ravel(np.asarray(x, float)), np.ravel(np.asarray(y, float))
    mx, my = group_means(x, groups), group_means(y, groups)
    np.testing.assert_allclose(cf.efficiency, lp.efficiency, rtol=0, atol=1e-9)
    close(cf.slack_in[:, 0], lp.slack_in[:, 0], 1e-7 * mx)
    close(cf.slack_out[:, 0], lp.slack_out[:, 0], 1e-7 * my)
    close(cf.target_in[:, 0], lp.target_in[:, 0], 1e-8 * mx)
    close(cf.target_out[:, 0], lp.target_out[:, 0], 1e-7 * my)
    if peers:
        a, b = peer_map(cf, 1e-6), peer_map(lp, 1e-6)
        for u in range(len(x)):
            assert a[u].keys() == b[u].keys(), (u, a[u], b[u])
            for p in a[u]:
                assert a[u][p] == pytest.approx(b[u][p], abs=1e-6)


# -- worked examples by hand ----------------------------------------------------------------

# Cooper, Seiford & Tone (2007), Table 1.1: eight shops, staff against sales
STAFF = [2.0, 3, 3, 4, 5, 5, 6, 8]
SALES = [1.0, 3, 2, 3, 4, 2, 3, 5]


def test_ccr_table_1_1_by_hand():
    # B sells 1 per staff member, the best ratio: every score is sales per staff, B the peer
    sol = solve(STAFF, SALES, "ccr")
    np.testing.assert_allclose(sol.efficiency, [0.5, 1, 2 / 3, 0.75, 0.8, 0.4, 0.5, 0.625], atol=1e-15)
    assert sol.peer_unit.tolist() == list(range(8))
    assert sol.peer_ref.tolist() == [1] * 8
    # lambda = y_o / y_B
    np.testing.assert_allclose(sol.peer_weight, np.array(SALES) / 3, atol=1e-15)
    assert not sol.slack_in.any() and not sol.slack_out.any()
    np.testing.assert_allclose(sol.target_in[:, 0], SALES, atol=1e-12)  # a target of 1 staff per sale


def test_bcc_table_1_1_by_hand():
    # frontier A(2,1) - B(3,3) - E(5,4) - H(8,5); C and F (sales 2) are halfway from A to B:
    # 2.5 staff; D and G (sales 3) are at B: 3 staff
    sol = solve(STAFF, SALES, "bcc")
    np.testing.assert_allclose(sol.efficiency, [1, 1, 2.5 / 3, 0.75, 1, 0.5, 0.5, 1], atol=1e-15)
    assert peer_map(sol) == {
        0: {0: 1.0},
        1: {1: 1.0},
        2: {0: 0.5, 1: 0.5},
        3: {1: 1.0},
        4: {4: 1.0},
        5: {0: 0.5, 1: 0.5},
        6: {1: 1.0},
        7: {7: 1.0},
    }
    assert not sol.slack_in.any() and not sol.slack_out.any()
    np.testing.assert_allclose(sol.target_in[:, 0], [2, 3, 2.5, 3, 5, 2.5, 3, 8], atol=1e-12)
    # peers listed by unit, the larger weight first
    assert sol.peer_unit.tolist() == sorted(sol.peer_unit.tolist())


def test_bcc_left_of_the_cheapest_unit_has_an_output_slack():
    # units 0 and 1 spend least (1); unit 1 achieves more, so it is A. Unit 0 is weakly
    # efficient with an output slack of 1; unit 3 needs only A's spend, 1 of 3, and falls 1.5
    # short of A's output.
    x, y = [1.0, 1, 2, 3], [1.0, 2, 3, 0.5]
    cf, lp = both(x, y, "bcc")
    np.testing.assert_allclose(cf.efficiency, [1, 1, 1, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(cf.slack_out[:, 0], [1, 0, 0, 1.5], atol=1e-15)
    np.testing.assert_allclose(cf.target_out[:, 0], [2, 2, 3, 2], atol=1e-15)
    assert peer_map(cf) == {0: {1: 1.0}, 1: {1: 1.0}, 2: {2: 1.0}, 3: {1: 1.0}}
    assert_same(cf, lp, x, y, peers=True)


def test_zero_outputs_as_the_lp():
    # translated outputs put the worst unit at 0
    x, y = [2.0, 3, 4, 5], [0.0, 3, 1, 0]
    cf, lp = both(x, y, "ccr")
    # CCR: nothing produced, nothing needed: theta 0 with lambda 0, no peer (the LP's answer)
    np.testing.assert_allclose(cf.efficiency, [0, 1, 0.25, 0], atol=1e-15)
    assert peer_map(cf) == peer_map(lp) == {1: {1: 1.0}, 2: {1: pytest.approx(1 / 3)}}
    assert_same(cf, lp, x, y)
    # BCC: the cheapest unit is on the frontier at output 0; unit 3 needs only its spend
    cf, lp = both(x, y, "bcc")
    np.testing.assert_allclose(cf.efficiency, [1, 1, 7 / 12, 0.4], atol=1e-15)
    assert_same(cf, lp, x, y, peers=True)
    # a group producing nothing at all
    cf, lp = both([2.0, 3, 4], [0.0, 0, 0], "ccr")
    assert not cf.efficiency.any() and len(cf.peer_unit) == len(lp.peer_unit) == 0
    cf, lp = both([2.0, 3, 4], [0.0, 0, 0], "bcc")
    np.testing.assert_allclose(cf.efficiency, [1, 2 / 3, 0.5], atol=1e-15)
    assert_same(cf, lp, [2.0, 3, 4], [0.0, 0, 0], peers=True)


def test_one_unit_groups_and_a_single_frontier_unit():
    # one unit alone scores 1; a unit cheaper and better than all others is everyone's peer
    x, y = [5.0, 1, 2, 3], [1.0, 9, 2, 3]
    g = np.array([0, 1, 1, 1])
    for model in ("ccr", "bcc"):
        cf, lp = both(x, y, model, g)
        assert cf.efficiency[0] == 1.0 and peer_map(cf)[0] == {0: 1.0}
        assert all(set(peer_map(cf)[u]) == {1} for u in (1, 2, 3))
        assert_same(cf, lp, x, y, g, peers=True)


# -- against the LP path --------------------------------------------------------------------


@st.composite
def general_position(draw):
    """Continuous random data in 1-3 groups of different scales: the LP optimum is unique."""
    G = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(2, 40), min_size=G, max_size=G))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = np.repeat(np.arange(G), sizes)
    sx = draw(st.lists(st.floats(1e-3, 1e4), min_size=G, max_size=G))
    sy = draw(st.lists(st.floats(1e-3, 1e4), min_size=G, max_size=G))
    x = rng.uniform(0.5, 2.0, len(groups))
    # a noisy increasing frontier, so that the BCC hull has several vertices
    y = np.sqrt(x) * rng.uniform(0.3, 1.0, len(groups)) - draw(st.floats(0, 0.5))
    y = np.maximum(y, 0.0)
    for g in range(G):
        i = groups == g
        # no near-ties: the LP's answer is unique and its solver noise well below 1e-6
        for v in (x[i], y[i], y[i] / x[i]):
            gaps = np.diff(np.sort(v))
            assume(gaps.size == 0 or gaps.min() > 1e-4)
    return x * np.array(sx)[groups], y * np.array(sy)[groups], groups


@SETTINGS
@given(general_position(), st.sampled_from(["ccr", "bcc"]))
def test_matches_the_lp_in_general_position(data, model):
    x, y, g = data
    cf, lp = both(x, y, model, g)
    assert_same(cf, lp, x, y, g, peers=True)


small_int = st.integers(0, 6).map(float)


@st.composite
def tied(draw):
    """Values on a small grid: ties, duplicated units and zero outputs."""
    n = draw(st.integers(2, 30))
    x = draw(arrays(float, n, elements=st.integers(1, 6).map(float)))
    y = draw(arrays(float, n, elements=small_int))
    g = draw(arrays(np.int64, n, elements=st.integers(0, 2)))
    return x, y, np.unique(g, return_inverse=True)[1]


@SETTINGS
@given(tied(), st.sampled_from(["ccr", "bcc"]))
def test_matches_the_lp_with_ties_and_duplicates(data, model):
    x, y, g = data
    cf, lp = both(x, y, model, g)
    assert_same(cf, lp, x, y, g)
    # whichever of several optimal peer sets is named, it reproduces the targets
    w = np.zeros(len(x))
    np.add.at(w, cf.peer_unit, cf.peer_weight * x[cf.peer_ref])
    np.testing.assert_allclose(w, cf.target_in[:, 0], atol=1e-12)
    np.add.at(w := np.zeros(len(x)), cf.peer_unit, cf.peer_weight * y[cf.peer_ref])
    np.testing.assert_allclose(w, cf.target_out[:, 0], atol=1e-12)
    assert np.all(g[cf.peer_unit] == g[cf.peer_ref])


@SETTINGS
@given(general_position())
def test_bounds_and_the_frontier(data):
    x, y, g = data
    for model in ("ccr", "bcc"):
        sol = solve(x, y, model, g)
        eff = sol.efficiency
        assert np.all(eff <= 1)
        assert np.all(eff[y > 0] > 0)
        # every peer is efficient: score 1, no slack
        assert np.all(eff[sol.peer_ref] == 1)
        assert not sol.slack_out[sol.peer_ref].any()
        for k in range(int(g.max()) + 1):
            i = np.flatnonzero(g == k)
            if model == "ccr":
                on = [i[np.argmax(y[i] / x[i])]]
            else:  # the cheapest and the best-achieving units span the BCC frontier
                on = [i[np.argmin(x[i])], i[np.argmax(y[i])]]
            assert np.all(eff[on] == 1)
        if model == "bcc":
            assert np.all(eff > 0)
            assert np.all(eff >= solve(x, y, "ccr", g).efficiency - 1e-12)


@SETTINGS
@given(general_position(), st.data())
def test_invariant_to_scaling_each_group(data, draws):
    x, y, g = data
    G = int(g.max()) + 1
    a = np.array(draws.draw(st.lists(st.floats(1e-3, 1e3), min_size=G, max_size=G)))
    b = np.array(draws.draw(st.lists(st.floats(1e-3, 1e3), min_size=G, max_size=G)))
    for model in ("ccr", "bcc"):
        one, two = solve(x, y, model, g), solve(x * a[g], y * b[g], model, g)
        np.testing.assert_allclose(two.efficiency, one.efficiency, atol=1e-12)
        close(two.slack_out[:, 0], one.slack_out[:, 0] * b[g], 1e-9 * b[g] * np.abs(y).max())
        assert peer_map(one).keys() == peer_map(two).keys()
        for u, p in peer_map(one, 1e-9).items():
            assert p == pytest.approx(peer_map(two, 1e-9)[u], abs=1e-9)
    # BCC input scores do not move when an output is translated (Ali & Seiford 1990)
    shift = np.array(draws.draw(st.lists(st.floats(0, 1e3), min_size=G, max_size=G)))
    np.testing.assert_allclose(solve(x, y + shift[g], "bcc", g).efficiency, solve(x, y, "bcc", g).efficiency, atol=1e-9)


@SETTINGS
@given(general_position())
def test_several_groups_at_once_equal_separate_solves(data):
    x, y, g = data
    for model in ("ccr", "bcc"):
        together = solve(x, y, model, g)
        together_peers = peer_map(together)
        for k in range(int(g.max()) + 1):
            i = np.flatnonzero(g == k)
            alone = solve(x[i], y[i], model)
            np.testing.assert_allclose(together.efficiency[i], alone.efficiency, atol=0)
            np.testing.assert_allclose(together.slack_out[i], alone.slack_out, rtol=1e-12)
            # the same arithmetic on the same group-scaled numbers: the same peers exactly
            alone_peers = peer_map(alone)
            assert [{i[p]: w for p, w in alone_peers[j].items()} for j in range(len(i))] == [together_peers[u] for u in i]


@SETTINGS
@given(general_position())
def test_duplicated_units_change_nothing(data):
    x, y, g = data
    for model in ("ccr", "bcc"):
        once = solve(x, y, model, g)
        twice = solve(np.r_[x, x], np.r_[y, y], model, np.r_[g, g])
        np.testing.assert_allclose(twice.efficiency, np.r_[once.efficiency, once.efficiency], atol=1e-12)
        np.testing.assert_allclose(twice.slack_out, np.r_[once.slack_out, once.slack_out], atol=1e-9)
        # efficient units name themselves, not their twin
        on = np.flatnonzero(once.efficiency == 1)
        assert all(peer_map(twice)[u] == {u: 1.0} for u in on)


def test_a_large_group_as_the_column_generation_path():
    # 4,000 units in each of two groups: the LP path prices columns group by group here
    rng = np.random.default_rng(0)
    n = 4000
    g = np.repeat([0, 1], n)
    x = rng.uniform(500, 3000, 2 * n)
    y = np.maximum(np.log(x) * rng.uniform(0.5, 1, 2 * n) - 3, 0) * np.where(g == 0, 1, 40)
    for model in ("ccr", "bcc"):
        cf, lp = both(x, y, model, g)
        assert lp.info["lps"] > 0
        assert_same(cf, lp, x, y, g)


# -- where the closed form does not apply, the LPs are solved ---------------------------------


def test_falls_back_to_the_lp_outside_its_domain():
    x, y = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [2.5]])
    g = np.zeros(3, dtype=np.int64)
    assert _closed_form(x, y, g, vrs=True) is not None
    assert _closed_form(x, -y, g, vrs=True) is None  # a negative output
    assert _closed_form(x * 0, y, g, vrs=True) is None  # an input of zero
    assert _closed_form(np.r_[x[:2], [[np.nan]]], y, g, vrs=False) is None
    assert _closed_form(np.c_[x, x], y, g, vrs=False) is None  # two inputs
    # through _solve: the LPs answer, and still correctly
    neg = solver._solve(x, y - 1.5, model="bcc", orientation="input", groups=g)
    assert neg.info["lps"] > 0
    np.testing.assert_allclose(neg.efficiency, solver._solve(x, y, model="bcc", orientation="input").efficiency, atol=1e-9)
    out = solver._solve(x, y, model="bcc", orientation="output")
    assert out.info["lps"] > 0 and "closed_form" not in out.info
    two = solver._solve(x, np.c_[y, y], model="ccr", orientation="input")
    assert two.info["lps"] > 0


def test_dea_with_one_input_and_one_output_solves_no_lp():
    shops = pl.DataFrame({"shop": list("ABCDEFGH"), "staff": STAFF, "sales": SALES})
    res = dea(shops, ["staff"], ["sales"], unit="shop", model="bcc")
    assert res.info["lps"] == 0 and res.info["closed_form"] == 8
    assert res.scores["efficient"].to_list() == [True, True, False, False, True, False, False, True]
    c = res.peers.filter(pl.col("shop") == "C")
    assert c["peer"].to_list() == ["A", "B"] and c["weight"].to_list() == [0.5, 0.5]


# -- value for money on the demo nation: as before -------------------------------------------


def test_value_for_money_on_the_demo_is_unchanged():
    import publicservices
    from publicservices.stats.value import frontier, value_for_money

    ds = publicservices.demo()
    calls = []
    real = frontier._solve

    def record(x, y, **kw):
        calls.append((x, y, kw))
        return real(x, y, **kw)

    frontier._solve = record
    try:
        ours = value_for_money(ds)
    finally:
        frontier._solve = real
    with lp_path():
        before = value_for_money(ds)
    assert ours.height == before.height
    np.testing.assert_allclose(ours["efficiency"].to_numpy(), before["efficiency"].to_numpy(), atol=1e-9)
    assert ours["efficient"].eq_missing(before["efficient"]).all()
    assert ours["dea_peers"].list.sort().eq_missing(before["dea_peers"].list.sort()).all()
    # and the frontier's targets (value_for_money keeps only scores and peers)
    (x, y, kw), *_ = calls
    assert kw["model"] == "bcc" and x.shape[1] == y.shape[1] == 1
    cf, lp = both(x, y, "bcc", kw["groups"])
    assert_same(cf, lp, x, y, kw["groups"])
