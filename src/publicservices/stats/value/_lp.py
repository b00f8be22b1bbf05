"""Column generation: each unit's LP solved against a few likely peers, proved optimal by reduced costs."""

from __future__ import annotations

from publicservices.errors import DataError, problem
from publicservices.stats.value import _simplex
from publicservices.stats.value._columns import _chunks, _compact, _dedupe, _group_table, _widen
from publicservices.stats.value._tolerances import _HIGHS_OPTIONS, _REDUCED_COST_TOL


def _seed_units(Xs, Ys, vrs: bool, rng, directions: int = 1024):
    """Units maximising random positive price vectors: each is on the frontier."""
    import numpy as np

    s, r = Xs.shape[1], Ys.shape[1]
    wx = rng.dirichlet(np.ones(s), directions)
    wy = rng.dirichlet(np.ones(r), directions)
    found = []
    for a in range(0, directions, 256):
        px, py = wx[a : a + 256], wy[a : a + 256]
        if vrs:
            # profit py.y - t * px.x, with t spanning small to large scale
            t = np.exp(rng.uniform(np.log(0.05), np.log(20.0), len(px)))
            val = py @ Ys.T - (t[:, None] * px) @ Xs.T
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                val = (py @ Ys.T) / (px @ Xs.T)
            val = np.where(np.isfinite(val), val, -np.inf)
        found.append(np.argmax(val, axis=1))
    return np.unique(np.concatenate(found))


def _proxy_init(Xs, Ys, units, pool, k: int = 12):
    """Each unit's own column plus the k pool units that best cover it on their own (CRS)."""
    import numpy as np

    k = min(k, len(pool))
    out = np.empty((len(units), k + 1), dtype=np.int64)
    for a in range(0, len(units), 512):
        u = units[a : a + 512]
        with np.errstate(divide="ignore", invalid="ignore"):
            yo, yp = Ys[u][:, None, :], Ys[pool][None]
            t = np.where(yo > 0, yo / yp, 0.0)
            t = np.where(np.isnan(t), np.inf, t).max(axis=2)
            xo, xp = Xs[u][:, None, :], Xs[pool][None]
            sx = np.where(xo > 0, xp / xo, np.where(xp > 0, np.inf, 0.0)).max(axis=2)
            score = t * sx
        score = np.where(np.isnan(score), np.inf, score)
        near = (
            np.argpartition(score, k - 1, axis=1)[:, :k]
            if k < len(pool)
            else np.broadcast_to(np.arange(len(pool)), (len(u), len(pool)))
        )
        out[a : a + 512, 0] = u
        out[a : a + 512, 1:] = pool[near]
    return _dedupe(out)


def _facet_init(Xs, Ys, units, duals, peer_cols, orientation: str, top: int = 6):
    """Each unit's own column plus the peers of the `top` sample facets that bound it most tightly.

    A sample unit's optimal dual (v, u, c) is a supporting hyperplane u.y - v.x + c <= 0 of the
    whole technology; for unit o it bounds theta_o >= (u.y_o + c) / v.x_o (input) or
    phi_o <= (v.x_o - c) / u.y_o (output), and the tightest bound's peers are likely o's peers.
    """
    import numpy as np

    s = Xs.shape[1]
    V, U, C = duals[:, :s], duals[:, s:-1], duals[:, -1]
    peer_cols = _compact(peer_cols)
    top = min(top, len(duals))
    out = []
    for a in range(0, len(units), 1024):
        u = units[a : a + 1024]
        vx, uy = Xs[u] @ V.T, Ys[u] @ U.T
        with np.errstate(divide="ignore", invalid="ignore"):
            if orientation == "input":
                bound = np.where(vx > 0, (uy + C) / vx, -np.inf)
            else:
                bound = np.where(uy > 0, -(vx - C) / uy, -np.inf)
        bound = np.where(np.isnan(bound), -np.inf, bound)
        best = np.argpartition(-bound, top - 1, axis=1)[:, :top]
        gathered = peer_cols[best].reshape(len(u), -1)
        out.append(_widen(np.concatenate([u[:, None], gathered], axis=1), 1))
    width = max(o.shape[1] for o in out)
    return _dedupe(np.concatenate([_widen(o, width) for o in out]))


def _column_generation(
    Xs,
    Ys,
    units,
    cols,
    *,
    vrs,
    orientation,
    batch,
    info,
    fixed=None,
    pool=None,
    add: int = 10,
    max_rounds: int = 60,
    check: bool = True,
    groups=None,
    scores_only: bool = False,
):
    """Solve the units' LPs, adding any unit with a negative reduced cost until none is left.

    ``cols`` (len(units) x K, -1 padded) are the starting columns (reference units) of each LP;
    ``pool`` (default: every unit) are the units that may be added; with ``groups`` (a label
    per unit) only those of the LP's own group. With ``fixed`` (the phase-1
    scores and phase-2 room of all units) the phase-2 max-slack LPs are solved. Returns radial
    scores, final columns, lambdas, duals (v, u, c), and the two slack arrays. A unit whose LP
    fails (phase 2 only) gets NaN as its radial score. With ``check=False`` the starting columns
    are known to contain every possible peer: one pass, no pricing. With ``scores_only`` the
    caller reads the radial scores alone, and the input-oriented phase-1 LPs are solved by the
    batched dense simplex (:mod:`._simplex`), proved optimal LP by LP, HiGHS taking any it cannot.
    """
    import numpy as np

    n = Xs.shape[0]
    m = len(units)
    s, r = Xs.shape[1], Ys.shape[1]
    pool = np.arange(n) if pool is None else np.asarray(pool, dtype=np.int64)
    in_pool = np.full(n, -1, dtype=np.int64)
    in_pool[pool] = np.arange(len(pool))
    Xp, Yp = Xs[pool], Ys[pool]
    # with groups, each LP is priced against its own group's pool units only (a padded table)
    table = None if groups is None else _group_table(pool, groups)
    if table is not None:
        slot = np.full(n, -1, dtype=np.int64)  # each pool unit's place in its group's row
        tr, tc = np.nonzero(table >= 0)
        slot[table[tr, tc]] = tc
    radial = np.full(m, np.nan)
    duals = np.zeros((m, s + r + 1))
    sl_in, sl_out = np.zeros((m, s)), np.zeros((m, r))
    cols = _compact(np.asarray(cols, dtype=np.int64))
    lam = np.zeros(cols.shape)
    active = np.arange(m)
    for _ in range(max_rounds):
        if active.size == 0:
            break
        info["rounds"] += 1
        new = np.full((len(active), add), -1, dtype=np.int64)
        for chunk in _chunks(cols[active], batch):
            idx = active[chunk]
            sub = _compact(cols[idx])
            u = units[idx]
            fx = None if fixed is None else fixed[u]
            # a caller that reads only the radial scores (the bootstrap) gets them from any optimal
            # basis, so the batched dense simplex serves; _solve keeps HiGHS's peers and duals
            if scores_only and fixed is None and orientation == "input" and _simplex.ENABLED:
                res = _dense_block(Xs, Ys, u, sub, vrs=vrs, info=info)
            else:
                res = _lp_block(Xs, Ys, u, sub, vrs=vrs, orientation=orientation, fixed=fx, info=info)
                if res is None:
                    res = _lp_one_by_one(Xs, Ys, u, sub, vrs=vrs, orientation=orientation, fixed=fx, info=info)
            rad, lm, du, si, so = res
            radial[idx], duals[idx], sl_in[idx], sl_out[idx] = rad, du, si, so
            cols[idx] = -1
            lam[idx] = 0.0
            cols[idx, : sub.shape[1]], lam[idx, : sub.shape[1]] = sub, lm
            if not check:
                continue
            # reduced cost of every pool unit as a column in each LP: d_j = v.x_j - u.y_j - c
            if table is None:
                d = du[:, :s] @ Xp.T - du[:, s:-1] @ Yp.T - du[:, -1:]
                rr, kk = np.nonzero(sub >= 0)
                where = in_pool[sub[rr, kk]]
                d[rr[where >= 0], where[where >= 0]] = np.inf  # already a column
                ids = None
            else:
                ids = table[groups[u]]  # (LPs x group size) pool units of each LP's group
                at = np.where(ids >= 0, ids, 0)
                d = np.einsum("bs,bws->bw", du[:, :s], Xs[at]) - np.einsum("br,bwr->bw", du[:, s:-1], Ys[at]) - du[:, -1:]
                d[ids < 0] = np.inf
                rr, kk = np.nonzero(sub >= 0)
                j = sub[rr, kk]
                mine = (slot[j] >= 0) & (groups[j] == groups[u[rr]])
                d[rr[mine], slot[j[mine]]] = np.inf  # already a column
            d[~np.isfinite(rad)] = np.inf
            # most LPs are already optimal: rank candidates only where some column improves
            hit = np.flatnonzero((d < -_REDUCED_COST_TOL).any(axis=1))
            if hit.size:
                dh = d[hit]
                q = min(add, d.shape[1])
                cand = np.argpartition(dh, q - 1, axis=1)[:, :q]
                dv = np.take_along_axis(dh, cand, axis=1)
                who = pool[cand] if ids is None else np.take_along_axis(ids[hit], cand, axis=1)
                new[chunk[hit], :q] = np.where(dv < -_REDUCED_COST_TOL, who, -1)
        more = (new >= 0).any(axis=1)
        if more.any():
            # append the improving columns after each LP's current ones (re-solved next round)
            grow = active[more]
            block = _compact(cols[grow])
            filled = (block >= 0).sum(axis=1)
            width = block.shape[1] + add
            block = _widen(block, width)
            block[np.arange(len(grow))[:, None], filled[:, None] + np.arange(add)[None]] = new[more]
            cols, lam = _widen(cols, width), _widen(lam, width, 0.0)
            cols[grow] = -1
            cols[grow, :width] = block
            lam[grow] = 0.0
        active = active[more]
    if active.size:
        # Not converged within max_rounds (never seen in practice): solve against the whole pool.
        every = np.broadcast_to(pool, (len(active), len(pool))) if table is None else _compact(table[groups[units[active]]])
        for a in range(0, len(active), 16):
            idx = active[a : a + 16]
            fx = None if fixed is None else fixed[units[idx]]
            res = _lp_block(Xs, Ys, units[idx], every[a : a + 16], vrs=vrs, orientation=orientation, fixed=fx, info=info)
            if res is None:
                res = _lp_one_by_one(Xs, Ys, units[idx], every[a : a + 16], vrs=vrs, orientation=orientation, fixed=fx, info=info)
            rad, lm, du, si, so = res
            radial[idx], duals[idx], sl_in[idx], sl_out[idx] = rad, du, si, so
            w = every.shape[1]
            cols, lam = _widen(cols, w), _widen(lam, w, 0.0)
            cols[idx], lam[idx] = -1, 0.0
            cols[idx, :w], lam[idx, :w] = every[a : a + 16], lm
    return radial, cols, lam, duals, sl_in, sl_out


def _dense_block(Xs, Ys, units, cols, *, vrs, info):
    """Phase 1 (input) by the batched dense simplex; the LPs it cannot prove optimal by HiGHS."""
    import numpy as np

    rad, lm, du, ok = _simplex._phase1(Xs, Ys, units, cols, vrs=vrs)
    info["lps"] += len(units)
    bad = np.flatnonzero(~ok)
    if bad.size:
        info["dense_fallback"] = info.get("dense_fallback", 0) + bad.size
        sub = _compact(cols[bad])
        res = _lp_block(Xs, Ys, units[bad], sub, vrs=vrs, orientation="input", fixed=None, info=info)
        if res is None:
            res = _lp_one_by_one(Xs, Ys, units[bad], sub, vrs=vrs, orientation="input", fixed=None, info=info)
        rad[bad], lm[bad], du[bad] = res[0], 0.0, res[2]
        lm[bad, : sub.shape[1]] = res[1]
    s, r = Xs.shape[1], Ys.shape[1]
    return rad, lm, du, np.zeros((len(units), s)), np.zeros((len(units), r))


def _lp_one_by_one(Xs, Ys, units, cols, *, vrs, orientation, fixed, info):
    """Fallback when a stacked LP fails: solve its units singly so one bad LP spoils only itself."""
    import numpy as np

    B, K = cols.shape
    s, r = Xs.shape[1], Ys.shape[1]
    out = (np.full(B, np.nan), np.zeros((B, K)), np.zeros((B, s + r + 1)), np.zeros((B, s)), np.zeros((B, r)))
    for b in range(B):
        res = _lp_block(
            Xs,
            Ys,
            units[b : b + 1],
            cols[b : b + 1],
            vrs=vrs,
            orientation=orientation,
            fixed=None if fixed is None else fixed[b : b + 1],
            info=info,
        )
        if res is None:
            if fixed is None:
                raise DataError(
                    problem(
                        None,
                        "a DEA linear programme could not be solved",
                        rows=[f"unit #{int(units[b])}"],
                        fix="Check the data for extreme magnitudes.",
                    )
                )
            continue
        for target, value in zip(out, res, strict=True):
            target[b] = value[0]
    return out


def _lp_block(Xs, Ys, units, cols, *, vrs, orientation, fixed, info):
    """Stack the envelopment LPs of ``units`` (each with its own reference columns) into one
    block-diagonal sparse LP and solve it with HiGHS. Returns None if HiGHS does not report an
    optimum.

    Per unit, with lambda_j over its columns (inputs +x_j, outputs -y_j, convexity row 1):
      phase 1, input:   min theta   s.t. X.lam - theta x_o <= 0,  -Y.lam <= -y_o   [, 1.lam = 1]
      phase 1, output:  min -phi    s.t. X.lam <= x_o,  -Y.lam + phi y_o <= 0      [, 1.lam = 1]
      phase 2:          min -(1.s_in + 1.s_out)
                        s.t. X.lam + s_in = theta* x_o (or x_o),
                             -Y.lam + s_out = -y_o (or -phi* y_o)                  [, 1.lam = 1]
    """
    import numpy as np
    import scipy.sparse as sp
    from scipy.optimize import linprog

    B, K = cols.shape
    s, r = Xs.shape[1], Ys.shape[1]
    nr = s + r
    valid = cols >= 0
    count = valid.sum(axis=1)
    phase2 = fixed is not None
    n_extra = nr if phase2 else 1
    width = n_extra + count
    voff = np.concatenate([[0], np.cumsum(width)[:-1]])
    nvar = int(width.sum())
    bb, kk = np.nonzero(valid)
    j = cols[bb, kk]
    pos = (np.cumsum(valid, axis=1) - 1)[bb, kk]
    lam_var = voff[bb] + n_extra + pos
    # lambda entries: s input rows (+x_j), r output rows (-y_j)
    coef = np.concatenate([Xs[j], -Ys[j]], axis=1)  # (nnz_units, nr)
    lrow = bb[:, None] * nr + np.arange(nr)[None]
    lcol = np.broadcast_to(lam_var[:, None], lrow.shape)
    xo, yo = Xs[units], Ys[units]
    c = np.zeros(nvar)
    if phase2:
        erow = np.arange(B)[:, None] * nr + np.arange(nr)[None]
        ecol = voff[:, None] + np.arange(nr)[None]
        evals = np.ones((B, nr))
        c[ecol.ravel()] = -1.0
        score, loosen = fixed[:, 0], fixed[:, 1:]
        if orientation == "input":
            rhs = np.concatenate([score[:, None] * xo, -yo], axis=1)
        else:
            rhs = np.concatenate([xo, -score[:, None] * yo], axis=1)
        # the room that keeps the phase-1 optimum feasible; taken back off the slacks below
        rhs = rhs + loosen
    else:
        erow = np.arange(B)[:, None] * nr + np.arange(nr)[None]
        ecol = np.broadcast_to(voff[:, None], erow.shape)
        if orientation == "input":
            evals = np.concatenate([-xo, np.zeros((B, r))], axis=1)
            rhs = np.concatenate([np.zeros((B, s)), -yo], axis=1)
            c[voff] = 1.0
        else:
            evals = np.concatenate([np.zeros((B, s)), yo], axis=1)
            rhs = np.concatenate([xo, np.zeros((B, r))], axis=1)
            c[voff] = -1.0
    A = sp.csc_matrix(
        (
            np.concatenate([coef.ravel(), evals.ravel()]),
            (np.concatenate([lrow.ravel(), erow.ravel()]), np.concatenate([lcol.ravel(), ecol.ravel()])),
        ),
        shape=(B * nr, nvar),
    )
    conv = None
    if vrs:
        conv = sp.csc_matrix((np.ones(len(j)), (bb, lam_var)), shape=(B, nvar))
    if phase2:
        A_eq = sp.vstack([A, conv]).tocsc() if vrs else A
        b_eq = np.concatenate([rhs.ravel(), np.ones(B)]) if vrs else rhs.ravel()
        kwargs = {"A_eq": A_eq, "b_eq": b_eq}
    else:
        kwargs = {"A_ub": A, "b_ub": rhs.ravel()}
        if vrs:
            kwargs.update(A_eq=conv, b_eq=np.ones(B))
    info["highs_calls"] += 1
    info["lps"] += B
    res = linprog(c, bounds=(0, None), method="highs-ds", options=_HIGHS_OPTIONS, **kwargs)
    if res.status != 0 or res.x is None:
        return None
    x = res.x
    lam = np.zeros((B, K))
    lam[bb, kk] = x[lam_var]
    du = np.zeros((B, nr + 1))
    if phase2:
        m = res.eqlin.marginals
        du[:, :nr] = m[: B * nr].reshape(B, nr)
        if vrs:
            du[:, nr] = m[B * nr :]
        radial = score.astype(float)
        extra = np.maximum(x[voff[:, None] + np.arange(nr)[None]] - loosen, 0.0)
        si, so = extra[:, :s], extra[:, s:]
    else:
        du[:, :nr] = res.ineqlin.marginals.reshape(B, nr)
        if vrs:
            du[:, nr] = res.eqlin.marginals
        radial = x[voff]
        si, so = np.zeros((B, s)), np.zeros((B, r))
    # Store duals as (v, u, c): the marginals of the x-rows are -v and of the y-rows -u (those
    # rows hold -y), c is the convexity row's. In phase 1 v, u >= 0 and the hyperplane
    # u.y_j - v.x_j + c <= 0 holds for every unit j at the optimum.
    du[:, :nr] = -du[:, :nr]
    return radial, lam, du, si, so
