"""Many tiny phase-1 DEA LPs solved in lockstep by a batched dense tableau simplex.

Column generation (:func:`publicservices.stats.value._lp._column_generation`) solves hundreds
of envelopment LPs of a few rows (inputs + outputs + convexity) against a dozen or so columns
each. HiGHS solves them well, but most of its time there is set-up per call and per LP. Here all
the LPs of a block pivot together, one NumPy operation per simplex iteration over the whole
stack: the primal simplex method on a dense tableau (Dantzig 1963, *Linear Programming and
Extensions*, ch. 7), Dantzig's largest-coefficient rule for the first iterations, then Bland's
smallest-index rule (Bland 1977, "New finite pivoting rules for the simplex method", *Math. Oper.
Res.* 2(2)), which cannot cycle, for the LPs still running.

No artificial variables are needed: the unit's own column is always among the LP's columns, so
theta = 1, lambda_o = 1 is feasible and, with the slacks of every row but one input row (and,
without the convexity row, one output row), a feasible starting basis.

The tableau only steers the search. Each LP's final basis is then re-solved from the original
data (primal values and duals, by LU), and an LP counts as solved only if that basis is proved
optimal: primal feasible, dual feasible (every reduced cost >= -1e-9 relative), with a small
residual. The caller solves every other LP (degenerate stalling, the iteration cap, numerical
trouble, a start that does not exist) with HiGHS.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [4.0]])
    >>> Y = np.array([[1.0], [3.0], [3.0]])
    >>> radial, lam, duals, ok = _phase1(X, Y, np.array([2]), np.array([[0, 1, 2]]), vrs=True)
    >>> bool(ok[0]), round(float(radial[0]), 9)
    (True, 0.5)
"""

from __future__ import annotations

from typing import Any

# The dense simplex is used by column generation's phase 1 (input orientation) when True; the
# HiGHS path is used otherwise. Tests switch it to compare the two.
ENABLED = True

_PRIMAL_TOL = 1e-9  # relative: a basic variable above -1e-9 (1 + |b|) is feasible
_DUAL_TOL = 1e-9  # relative: a reduced cost above -1e-9 (1 + |A_j|.|y|) is dual feasible
_ENTER_TOL = 1e-11  # tableau reduced costs below -1e-11 still improve
_PIVOT_TOL = 1e-11  # smaller pivot-column entries are treated as zero in the ratio test


def _phase1(Xs, Ys, units, cols, *, vrs: bool, max_iter: int = 400, bland_after: int | None = None) -> tuple[Any, Any, Any, Any]:
    """Input-oriented phase-1 envelopment LPs, one per row of ``cols``, as :func:`_lp_block` poses them:

    min theta  s.t.  X.lam - theta x_o <= 0,  -Y.lam <= -y_o  [, 1.lam = 1],  lam, theta >= 0.

    ``cols`` (B x K, -1 padded, valid entries first) names each LP's columns, which must include
    its unit. Returns radial scores (B), lambdas (B x K), duals (B x (s + r + 1)) as (v, u, c) with
    the signs :func:`_lp_block` uses (v, u >= 0; u.y_j - v.x_j + c <= 0 for every column j), and
    a flag per LP: True where the result is a verified optimum. Rows flagged False hold zeros.
    Dantzig's rule picks the entering column until iteration ``bland_after`` (default 2 N + 10
    for N columns), Bland's from then on; LPs still running after ``max_iter`` are not verified.
    """
    import numpy as np

    B, K = cols.shape
    s, r = Xs.shape[1], Ys.shape[1]
    nr = s + r
    m = nr + (1 if vrs else 0)
    N = 1 + K + nr  # theta, lambdas, slacks
    radial, lam, duals = np.zeros(B), np.zeros((B, K)), np.zeros((B, nr + 1))
    ok = np.zeros(B, dtype=bool)
    if B == 0:
        return radial, lam, duals, ok
    valid = cols >= 0
    at = np.where(valid, cols, 0)
    xo, yo = Xs[units], Ys[units]
    # the original equality-form data: A x = b with slacks on the s + r inequality rows
    A = np.zeros((B, m, N))
    A[:, :s, 0] = -xo
    A[:, :s, 1 : K + 1] = np.where(valid[:, None, :], np.swapaxes(Xs[at], 1, 2), 0.0)
    A[:, s:nr, 1 : K + 1] = np.where(valid[:, None, :], -np.swapaxes(Ys[at], 1, 2), 0.0)
    if vrs:
        A[:, nr, 1 : K + 1] = valid
    A[:, np.arange(nr), K + 1 + np.arange(nr)] = 1.0
    b = np.zeros((B, m))
    b[:, s:nr] = -yo
    if vrs:
        b[:, nr] = 1.0
    cost = np.zeros(N)
    cost[0] = 1.0
    allowed = np.concatenate([np.ones((B, 1), dtype=bool), valid, np.ones((B, nr), dtype=bool)], axis=1)

    # starting basis: theta, lambda_o, and the slacks of every row but input row p (and output row q)
    own = valid & (cols == np.asarray(units)[:, None])
    p = np.argmax(np.abs(xo), axis=1)
    q = s + np.argmax(np.abs(yo), axis=1)
    startable = own.any(axis=1) & (np.abs(xo[np.arange(B), p]) > 1e-12)
    if not vrs:
        startable &= np.abs(yo[np.arange(B), q - s]) > 1e-12
    keep_slack = np.ones((B, nr), dtype=bool)
    keep_slack[np.arange(B), p] = False
    if not vrs:
        keep_slack[np.arange(B), q] = False
    go = np.flatnonzero(startable)
    if go.size == 0:
        return radial, lam, duals, ok
    slack_ids = np.broadcast_to(K + 1 + np.arange(nr), (B, nr))[keep_slack].reshape(B, m - 2)
    basis = np.concatenate([np.zeros((B, 1), dtype=np.int64), 1 + np.argmax(own, axis=1)[:, None], slack_ids], axis=1)[go]
    Ag, bg, allow = A[go], b[go], allowed[go]
    try:
        T = np.linalg.solve(_columns(Ag, basis), np.concatenate([Ag, bg[:, :, None]], axis=2))
    except np.linalg.LinAlgError:
        return radial, lam, duals, ok
    # objective row: reduced costs c_j - c_B.B^-1 A_j, and -c_B.x_B in the last column
    cB = cost[basis]
    z = np.concatenate([np.broadcast_to(cost, (len(go), N)), np.zeros((len(go), 1))], axis=1)
    z = z - np.einsum("bm,bmn->bn", cB, T)
    T = np.concatenate([T, z[:, None, :]], axis=1)

    final = basis.copy()  # each LP's last basis
    status = np.zeros(len(go), dtype=bool)  # True: the tableau says optimal
    live = np.arange(len(go))
    if bland_after is None:
        bland_after = 2 * N + 10  # Dantzig's rule first (few pivots), then Bland's (no cycling)
    for it in range(max_iter):
        if live.size == 0:
            break
        d = T[:, m, :N]
        neg = (d < -_ENTER_TOL) & allow
        improving = neg.any(axis=1)
        bland = it >= bland_after
        e = np.argmax(neg, axis=1) if bland else np.argmin(np.where(allow, d, np.inf), axis=1)
        rows = np.arange(len(live))
        col = T[rows, :m, e]
        rhs = np.maximum(T[:, :m, N], 0.0)
        pos = col > _PIVOT_TOL
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(pos, rhs / np.where(pos, col, 1.0), np.inf)
        bounded = pos.any(axis=1)
        best = ratio.min(axis=1, keepdims=True)
        tie = pos & (ratio <= best + 1e-12 * (1.0 + np.abs(best)))
        if bland:
            # Bland: among the tied rows, the one whose basic variable has the smallest index
            leave = np.argmin(np.where(tie, basis, np.iinfo(np.int64).max), axis=1)
        else:
            # among the tied rows, the largest pivot (the most stable)
            leave = np.argmax(np.where(tie, col, -np.inf), axis=1)
        stop = ~improving | ~bounded
        if stop.any():
            done = live[stop]
            final[done] = basis[stop]
            status[done] = ~improving[stop]
            go_on = ~stop
            live, T, basis, allow = live[go_on], T[go_on], basis[go_on], allow[go_on]
            e, leave, col = e[go_on], leave[go_on], col[go_on]
            rows = np.arange(len(live))
            if live.size == 0:
                break
        piv = T[rows, leave, :] / col[rows, leave][:, None]
        T -= T[rows, :, e][:, :, None] * piv[:, None, :]
        T[rows, leave, :] = piv
        basis[rows, leave] = e
    # LPs still live hit the iteration cap: not verified

    # verify: re-solve each final basis from the original data
    idx = np.flatnonzero(status)
    if idx.size == 0:
        return radial, lam, duals, ok
    fb, Ai, bi = final[idx], Ag[idx], bg[idx]
    Bm = _columns(Ai, fb)
    try:
        xB = np.linalg.solve(Bm, bi[:, :, None])[:, :, 0]
        y = np.linalg.solve(np.swapaxes(Bm, 1, 2), cost[fb][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return radial, lam, duals, ok
    red = cost[None, :] - np.einsum("bmn,bm->bn", Ai, y)
    scale = 1.0 + np.einsum("bmn,bm->bn", np.abs(Ai), np.abs(y))
    dual_ok = ((red >= -_DUAL_TOL * scale) | ~allowed[go[idx]]).all(axis=1)
    primal_ok = (xB >= -_PRIMAL_TOL * (1.0 + np.abs(bi).max(axis=1, keepdims=True))).all(axis=1)
    resid = np.abs(np.einsum("bmk,bk->bm", Bm, xB) - bi).max(axis=1)
    fine = dual_ok & primal_ok & (resid <= 1e-10 * (1.0 + np.abs(bi).max(axis=1))) & np.isfinite(y).all(axis=1)
    x = np.zeros((idx.size, N))
    np.put_along_axis(x, fb, np.maximum(xB, 0.0), axis=1)
    out = go[idx][fine]
    radial[out] = x[fine, 0]
    lam[out] = x[fine, 1 : K + 1]
    # y are the marginals of the rows as posed; (v, u) are minus those of the inequality rows
    duals[out, :nr] = -y[fine, :nr]
    if vrs:
        duals[out, nr] = y[fine, nr]
    ok[out] = True
    return radial, lam, duals, ok


def _columns(A, basis):
    """The basis matrices: columns ``basis`` (B x m) of each A (B x m x N)."""
    import numpy as np

    return np.take_along_axis(A, basis[:, None, :], axis=2)
