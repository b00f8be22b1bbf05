"""The batched dense simplex of the scores-only DEA path against HiGHS (`_lp_block`): the same
optimal scores, feasible and optimal duals, degenerate LPs, the HiGHS fallback, and the same
bootstrap savings with the dense simplex on and off."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import publicservices
from publicservices.stats.value import _simplex, frontier_savings
from publicservices.stats.value._lp import _dense_block, _lp_block
from publicservices.stats.value._simplex import _phase1


def _info():
    return {"lps": 0, "highs_calls": 0, "rounds": 0}


def _random_lps(rng, n, s, r, B, K, *, ties=False):
    """``B`` LPs over ``n`` units, each against its own column and up to K - 1 others (-1 padded)."""
    X = rng.uniform(0.5, 1.5, (n, s))
    Y = X[:, :1] ** rng.uniform(0.3, 0.9) * rng.uniform(0.5, 1.0, (n, r))
    if ties:
        # repeated units, rounded (tied) values and zero outputs: heavily degenerate LPs
        X[n // 2 :] = X[: n - n // 2]
        Y[n // 2 :] = Y[: n - n // 2]
        X, Y = np.round(X, 1), np.round(Y, 1)
        Y[rng.random((n, r)) < 0.2] = 0.0
    units = rng.choice(n, B, replace=B > n)
    cols = np.full((B, K), -1, dtype=np.int64)
    for b, u in enumerate(units):
        others = rng.permutation(np.delete(np.arange(n), u))[: rng.integers(0, K)]
        cols[b, : 1 + len(others)] = np.r_[u, others]
    return X, Y, units, cols


def _check_against_highs(X, Y, units, cols, vrs, **kw):
    rad, lam, du, ok = _phase1(X, Y, units, cols, vrs=vrs, **kw)
    ref = _lp_block(X, Y, units, cols, vrs=vrs, orientation="input", fixed=None, info=_info())
    assert ref is not None
    s = X.shape[1]
    np.testing.assert_allclose(rad[ok], ref[0][ok], rtol=1e-9, atol=1e-12)
    v, u, c = du[:, :s], du[:, s:-1], du[:, -1]
    valid = cols >= 0
    at = np.where(valid, cols, 0)
    tol = 1e-9
    # dual feasible: v, u >= 0, u.y_j - v.x_j + c <= 0 on every column, v.x_o <= 1 (theta's column)
    assert (v[ok] >= -tol).all() and (u[ok] >= -tol).all()
    hyper = np.einsum("br,bkr->bk", u, Y[at]) - np.einsum("bs,bks->bk", v, X[at]) + c[:, None]
    assert (hyper[ok][valid[ok]] <= tol).all()
    assert (np.einsum("bs,bs->b", v, X[units])[ok] <= 1 + tol).all()
    if not vrs:
        assert (c == 0).all()
    # strong duality: theta = u.y_o + c
    np.testing.assert_allclose(np.einsum("br,br->b", u, Y[units])[ok] + c[ok], rad[ok], rtol=1e-9, atol=1e-12)
    # primal feasible lambdas on the given columns only
    assert (lam >= 0).all() and (lam[~valid] == 0).all()
    Xl, Yl = np.einsum("bk,bks->bs", lam, X[at]), np.einsum("bk,bkr->br", lam, Y[at])
    assert (Xl[ok] <= rad[ok, None] * X[units][ok] + tol).all()
    assert (Yl[ok] >= Y[units][ok] - tol).all()
    if vrs:
        np.testing.assert_allclose(lam[ok].sum(axis=1), 1.0, atol=1e-9)
    return ok


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    s=st.integers(1, 2),
    r=st.integers(1, 6),
    K=st.integers(1, 30),
    vrs=st.booleans(),
    ties=st.booleans(),
    rule=st.sampled_from([None, 0, 10_000]),  # default, Bland throughout, Dantzig throughout
)
def test_dense_simplex_is_highs_optimum(seed, n, s, r, K, vrs, ties, rule):
    rng = np.random.default_rng(seed)
    X, Y, units, cols = _random_lps(rng, n, s, r, B=40, K=K, ties=ties)
    ok = _check_against_highs(X, Y, units, cols, vrs, bland_after=rule)
    if not ties and rule is None:
        assert ok.all()  # well-posed random LPs are all proved optimal here


def test_degenerate_lps_duplicates_ties_and_zeros_are_solved():
    # every unit identical: theta = 1, any convex lambda; outputs all zero in some LPs
    X = np.ones((6, 1))
    Y = np.ones((6, 3))
    units = np.arange(6)
    cols = np.tile(np.arange(6), (6, 1))
    ok = _check_against_highs(X, Y, units, cols, True)
    assert ok.all()
    Y0 = Y.copy()
    Y0[:, 1] = 0.0
    Y0[2, 0] = 0.0
    assert _check_against_highs(X, Y0, units, cols, True).all()
    # a unit dominated by a duplicated pair, and a tie on the frontier
    X = np.array([[1.0], [1.0], [2.0], [2.0], [3.0]])
    Y = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 1.0], [1.5, 1.0]])
    cols = np.tile(np.arange(5), (5, 1))
    for vrs in (True, False):
        assert _check_against_highs(X, Y, np.arange(5), cols, vrs).all()


def test_lps_that_cannot_start_or_finish_fall_back_to_highs():
    rng = np.random.default_rng(1)
    X, Y, units, cols = _random_lps(rng, 40, 1, 4, B=30, K=12)
    spare = np.setdiff1d(np.arange(40), units)[:5]
    X[spare], Y[spare] = X[units[:5]], Y[units[:5]]
    cols[:5, 0] = spare  # the unit's own column replaced by its twin: feasible, but no start
    X[units[5]] = 0.0  # zero input: theta's column is empty, no start either
    rad, lam, du, ok = _phase1(X, Y, units, cols, vrs=True)
    assert not ok[:6].any() and ok[6:].all()
    assert (rad[~ok] == 0).all() and (du[~ok] == 0).all()
    # no iterations allowed: nothing verified except LPs optimal at the start
    assert not _phase1(X, Y, units, cols, vrs=True, max_iter=0)[3][6:].all()
    # the hook fills the unverified LPs from HiGHS: together, HiGHS's scores everywhere
    info = _info()
    got = _dense_block(X, Y, units, cols, vrs=True, info=info)
    ref = _lp_block(X, Y, units, cols, vrs=True, orientation="input", fixed=None, info=_info())
    assert info["dense_fallback"] == 6 and info["highs_calls"] == 1
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-12)
    # exactly what HiGHS gives on those 6 LPs
    six = _lp_block(X, Y, units[:6], cols[:6], vrs=True, orientation="input", fixed=None, info=_info())
    for a, b in zip(got, six, strict=True):
        np.testing.assert_array_equal(a[:6], b)


def test_empty_block():
    X, Y = np.ones((3, 1)), np.ones((3, 2))
    rad, lam, du, ok = _phase1(X, Y, np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), vrs=True)
    assert rad.shape == (0,) and lam.shape == (0, 2) and du.shape == (0, 4) and ok.shape == (0,)


@pytest.mark.parametrize("service", ["schools", "welfare"])
def test_bootstrap_savings_are_the_same_with_the_dense_simplex_on_and_off(monkeypatch, service):
    ds = publicservices.demo()
    monkeypatch.setattr(_simplex, "ENABLED", False)
    before = frontier_savings(ds, service, periods="2023/24", replicates=15)
    monkeypatch.setattr(_simplex, "ENABLED", True)
    after = frontier_savings(ds, service, periods="2023/24", replicates=15)
    cols = ["savings", "savings_share", "savings_lower", "savings_upper"]
    np.testing.assert_allclose(after.select(cols).to_numpy(), before.select(cols).to_numpy(), rtol=1e-9)
    assert after.drop(cols).equals(before.drop(cols))
