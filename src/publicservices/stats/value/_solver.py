"""The numerical core of DEA: NumPy arrays in, NumPy arrays out (see :mod:`.envelopment`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from publicservices.stats.value._columns import _dedupe, _group_table, _widen
from publicservices.stats.value._lp import (
    _column_generation,
    _facet_init,
    _proxy_init,
    _seed_units,
)
from publicservices.stats.value._tolerances import (
    _PHASE2_MARGIN,
    _REDUCED_COST_TOL,
    _WEIGHT_TOL,
)

# Solve one-input, one-output CCR/BCC input-oriented DEA in closed form (False: always by LP,
# for tests and benchmarks that compare the two).
_CLOSED_FORM = True


@dataclasses.dataclass
class _Solution:
    efficiency: Any  # (n,) in (0, 1]
    peer_unit: Any  # COO of lambda: row unit, peer unit, weight
    peer_ref: Any
    peer_weight: Any
    slack_in: Any  # (n, s) in the data's units
    slack_out: Any  # (n, r)
    target_in: Any
    target_out: Any
    info: dict


def _solve(X, Y, *, model: str, orientation: str, slacks: bool = True, groups=None) -> _Solution:
    """Solve DEA for arrays ``X`` (n x s inputs) and ``Y`` (n x r outputs); data pre-validated.

    ``groups`` (n integer labels) solves several independent DEAs at once: a unit's peers come
    only from its own group. Many small groups are stacked into the same HiGHS calls.
    """
    import numpy as np

    n = X.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    # Radial scores and lambdas are unit-free, so solve on data scaled by each group's column
    # means, for conditioning.
    sx, sy = _group_scale(X, groups), _group_scale(Y, groups)
    Xs, Ys = X / sx, Y / sy
    # one input and one output: the LPs have closed-form answers (see _single); None when
    # the data are outside what it handles exactly, and then the LPs are solved
    single = None
    if _CLOSED_FORM and model in ("ccr", "bcc") and orientation == "input" and X.shape[1] == Y.shape[1] == 1:
        from publicservices.stats.value._single import _closed_form

        single = _closed_form(Xs, Ys, groups, vrs=(model == "bcc"))
    if model == "fdh":
        radial, peer, sl_in, sl_out = _fdh(Xs, Ys, orientation, groups)
        peer_unit, peer_ref, peer_weight = np.arange(n), peer, np.ones(n)
        info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    elif single is not None:
        radial, peer_unit, peer_ref, peer_weight, sl_in, sl_out, info = single
    else:
        radial, peer_unit, peer_ref, peer_weight, sl_in, sl_out, info = _envelopment(
            Xs, Ys, vrs=(model == "bcc"), orientation=orientation, slacks=slacks, groups=groups
        )
    if orientation == "input":
        efficiency = np.minimum(radial, 1.0)
        t_in = radial[:, None] * Xs - sl_in
        t_out = Ys + sl_out
    else:
        efficiency = np.minimum(1.0 / radial, 1.0)
        t_in = Xs - sl_in
        t_out = radial[:, None] * Ys + sl_out
    return _Solution(efficiency, peer_unit, peer_ref, peer_weight, sl_in * sx, sl_out * sy, t_in * sx, t_out * sy, info)


def _scores_from(X, Y, start, *, model: str, orientation: str, groups) -> Any:
    """Efficiency scores only (CCR or BCC), each unit's LP started from likely peers.

    ``start`` (n x K, -1 padded) names candidate peers of each unit within its group, e.g. the
    point estimate's peers of the same area in a bootstrap replicate. Each LP is solved against
    them and its own column (always feasible), then column generation prices every unit of the
    group and adds any with a negative reduced cost until none is left: the same LP optimum as
    :func:`_solve` (to the solver's tolerance). On the demo's bootstrap the LPs hold about a dozen
    columns instead of every non-dominated area of the replicate: 1.7x faster.
    """
    import numpy as np

    n = X.shape[0]
    groups = np.asarray(groups, dtype=np.int64)
    sx, sy = _group_scale(X, groups), _group_scale(Y, groups)
    Xs, Ys = X / sx, Y / sy
    units = np.arange(n)
    cols = _dedupe(np.concatenate([units[:, None], np.asarray(start, dtype=np.int64)], axis=1))
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    radial = _column_generation(
        Xs, Ys, units, cols, vrs=(model == "bcc"), orientation=orientation, batch=None, info=info, groups=groups, scores_only=True
    )[0]
    return np.minimum(radial, 1.0) if orientation == "input" else np.minimum(1.0 / radial, 1.0)


def _col_scale(M):
    import numpy as np

    m = M.mean(axis=0)
    return np.where(m > 0, m, 1.0)


def _group_scale(M, groups):
    """Each row's column means within its group (1 where a mean is 0), shape of ``M``."""
    import numpy as np

    G = int(groups.max()) + 1 if len(groups) else 0
    count = np.bincount(groups, minlength=G)
    means = (
        np.stack([np.bincount(groups, weights=M[:, j], minlength=G) for j in range(M.shape[1])], axis=1)
        / np.maximum(count, 1)[:, None]
    )
    return np.where(means > 0, means, 1.0)[groups]


def _nondominated(Xs, Ys, groups, block: int = 256):
    """Units no other unit of their group dominates (uses no more of every input, produces no
    less of every output, and differs). Only these can be peers: a dominated unit adds nothing
    to the technology that free disposal does not already give (Deprins, Simar & Tulkens 1984),
    so DEA against them alone gives the same scores, slacks and targets."""
    import numpy as np

    n = Xs.shape[0]
    keep = np.ones(n, dtype=bool)
    # sort by group so that each block compares with its own group's units only
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    starts = np.searchsorted(g_sorted, g_sorted, side="left")
    ends = np.searchsorted(g_sorted, g_sorted, side="right")
    for a in range(0, n, block):
        rows = order[a : a + block]
        lo, hi = starts[a], ends[min(a + block, n) - 1]
        ref = order[lo:hi]
        same = groups[ref][None, :] == groups[rows][:, None]
        weak = same.copy()
        strict = np.zeros_like(same)
        for i in range(Xs.shape[1]):  # loops over variables, never over units
            weak &= Xs[ref, i][None, :] <= Xs[rows, i][:, None]
            strict |= Xs[ref, i][None, :] < Xs[rows, i][:, None]
        for r in range(Ys.shape[1]):
            weak &= Ys[ref, r][None, :] >= Ys[rows, r][:, None]
            strict |= Ys[ref, r][None, :] > Ys[rows, r][:, None]
        keep[rows] = ~np.any(weak & strict, axis=1)
    return keep


def _fdh(Xs, Ys, orientation: str, groups=None, block: int = 256):
    """Free disposal hull scores by vectorised dominance (Deprins, Simar & Tulkens 1984).

    Input orientation: theta_o = min over units j producing at least y_o of max_i x_ij / x_io.
    Output orientation: phi_o = max over units j using at most x_o of min_r y_rj / y_ro.
    Ties between equally good peers go to the one leaving the largest total slack.
    """
    import numpy as np

    n = Xs.shape[0]
    radial = np.empty(n)
    peer = np.empty(n, dtype=np.int64)
    inp = orientation == "input"
    # the dominance condition is on outputs (input orientation) or inputs (output orientation);
    # the score is a ratio on the other side
    cond, side = (Ys, Xs) if inp else (Xs, Ys)
    gain = Ys.sum(axis=1) - Xs.sum(axis=1)
    for a in range(0, n, block):
        rows = slice(a, a + block)
        b = min(block, n - a)
        ok = np.ones((b, n), dtype=bool) if groups is None else groups[None, :] == groups[rows][:, None]
        for k in range(cond.shape[1]):  # loops over variables, never over units
            if inp:
                ok &= cond[None, :, k] >= cond[rows, k][:, None]
            else:
                ok &= cond[None, :, k] <= cond[rows, k][:, None]
        score = np.full((b, n), -np.inf if inp else np.inf)
        for i in range(side.shape[1]):
            own = side[rows, i][:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = side[None, :, i] / own
            if inp:  # x_io = 0: only units also using none keep up
                ratio = np.where(own > 0, ratio, np.where(side[None, :, i] > 0, np.inf, 0.0))
                score = np.maximum(score, ratio)
            else:  # y_ro = 0 puts no limit on the expansion
                ratio = np.where(own > 0, ratio, np.inf)
                score = np.minimum(score, ratio)
        if inp:
            score = np.where(ok, score, np.inf)
            best = score.min(axis=1)
            tie = score <= best[:, None] * (1 + 1e-12)
        else:
            score = np.where(ok, score, -np.inf)
            best = score.max(axis=1)
            tie = score >= best[:, None] * (1 - 1e-12)
        # among equally good peers prefer the one leaving the largest total slack, which is
        # the one with the largest (sum of outputs - sum of inputs)
        pick = np.argmax(np.where(tie, gain[None], -np.inf), axis=1)
        radial[rows] = best
        peer[rows] = pick
    if inp:
        sl_in = radial[:, None] * Xs - Xs[peer]
        sl_out = Ys[peer] - Ys
    else:
        sl_in = Xs - Xs[peer]
        sl_out = Ys[peer] - radial[:, None] * Ys
    return radial, peer, np.maximum(sl_in, 0.0), np.maximum(sl_out, 0.0)


def _envelopment(
    Xs,
    Ys,
    *,
    vrs: bool,
    orientation: str,
    slacks: bool,
    groups=None,
    sample: int | None = None,
    batch: int | None = None,
    seed: int = 0,
):
    """CCR/BCC envelopment LPs for every unit (see module doc).

    Small problems (or many groups): every unit's LP uses all non-dominated units of its group
    as columns, exactly, and thousands of such LPs share one HiGHS call. Large problems: batched
    column generation from a sampled-facet start.
    """
    import numpy as np

    n = Xs.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else groups
    rng = np.random.default_rng(seed)
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    units = np.arange(n)
    nd = _exact_candidates(Xs, Ys, groups)
    if nd is not None:
        # Non-dominated units against each other find the frontier F (score 1) of each group;
        # F holds every extreme unit, so the others are solved exactly against F alone.
        cand = np.flatnonzero(nd)
        r_a, c_a, l_a, d_a, _, _ = _column_generation(
            Xs,
            Ys,
            cand,
            _group_table(cand, groups)[groups[cand]],
            vrs=vrs,
            orientation=orientation,
            batch=batch,
            info=info,
            check=False,
        )
        front = cand[_on_frontier(r_a, orientation)]
        f_cols = _group_table(front, groups)[groups]
        rest = np.flatnonzero(~nd)
        r_b, c_b, l_b, d_b, _, _ = _column_generation(
            Xs, Ys, rest, f_cols[rest], vrs=vrs, orientation=orientation, batch=batch, info=info, check=False
        )
        width = max(c_a.shape[1], c_b.shape[1])
        radial = np.empty(n)
        duals = np.empty((n, d_a.shape[1]))
        cols = np.full((n, width), -1, dtype=np.int64)
        lam = np.zeros((n, width))
        radial[cand], radial[rest] = r_a, r_b
        duals[cand], duals[rest] = d_a, d_b
        cols[cand, : c_a.shape[1]], lam[cand, : c_a.shape[1]] = c_a, l_a
        cols[rest, : c_b.shape[1]], lam[rest, : c_b.shape[1]] = c_b, l_b
        return _finish(
            Xs,
            Ys,
            radial,
            duals,
            cols,
            lam,
            vrs=vrs,
            orientation=orientation,
            slacks=slacks,
            batch=batch,
            info=info,
            frontier=front,
            groups=groups,
            check=False,
        )
    if groups.max(initial=0) > 0:
        # several groups, one too large to solve exactly: column generation group by group
        return _by_group(Xs, Ys, groups, vrs=vrs, orientation=orientation, slacks=slacks, sample=sample, batch=batch, seed=seed)
    seeds = _seed_units(Xs, Ys, vrs, rng)
    radial = np.empty(n)
    duals = np.empty((n, Xs.shape[1] + Ys.shape[1] + 1))
    cols = np.full((n, 1), -1, dtype=np.int64)
    lam = np.zeros((n, 1))
    todo = units
    if sample is None:
        sample = min(300, max(50, n // 6))
    if n > 2 * sample:
        # Learn the frontier's facets from a sample; each other unit starts from the peers of
        # the facets that bound it most tightly.
        smp = np.sort(rng.choice(n, sample, replace=False))
        r_s, c_s, l_s, d_s, _, _ = _column_generation(
            Xs, Ys, smp, _proxy_init(Xs, Ys, smp, seeds), vrs=vrs, orientation=orientation, batch=batch, info=info
        )
        radial[smp], duals[smp] = r_s, d_s
        cols, lam = _widen(cols, c_s.shape[1]), _widen(lam, c_s.shape[1], 0.0)
        cols[smp, : c_s.shape[1]], lam[smp, : c_s.shape[1]] = c_s, l_s
        todo = np.setdiff1d(units, smp)
        init = _facet_init(Xs, Ys, todo, d_s, np.where(l_s > _WEIGHT_TOL, c_s, -1), orientation)
    else:
        init = _proxy_init(Xs, Ys, todo, seeds)
    r_t, c_t, l_t, d_t, _, _ = _column_generation(Xs, Ys, todo, init, vrs=vrs, orientation=orientation, batch=batch, info=info)
    radial[todo], duals[todo] = r_t, d_t
    cols, lam = _widen(cols, c_t.shape[1]), _widen(lam, c_t.shape[1], 0.0)
    cols[todo] = -1
    lam[todo] = 0.0
    cols[todo, : c_t.shape[1]], lam[todo, : c_t.shape[1]] = c_t, l_t
    front = np.flatnonzero(_on_frontier(radial, orientation))
    return _finish(
        Xs,
        Ys,
        radial,
        duals,
        cols,
        lam,
        vrs=vrs,
        orientation=orientation,
        slacks=slacks,
        batch=batch,
        info=info,
        frontier=front,
        groups=groups,
        check=True,
    )


def _on_frontier(radial, orientation: str, tol: float = 1e-7):
    """Units scoring 1 (generously: a superset of the frontier is always safe)."""
    return radial >= 1 - tol if orientation == "input" else radial <= 1 + tol


def _by_group(Xs, Ys, groups, **kwargs):
    import numpy as np

    parts = []
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    sl_in, sl_out = np.zeros(Xs.shape), np.zeros(Ys.shape)
    radial = np.empty(Xs.shape[0])
    for g in np.unique(groups):  # a loop over groups, not units
        idx = np.flatnonzero(groups == g)
        r, pu, pr, pw, si, so, inf = _envelopment(Xs[idx], Ys[idx], **kwargs)
        radial[idx], sl_in[idx], sl_out[idx] = r, si, so
        parts.append((idx[pu], idx[pr], pw))
        for k in info:
            info[k] += inf[k]
    pu, pr, pw = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((-pw, pu))
    return radial, pu[order], pr[order], pw[order], sl_in, sl_out, info


_EXACT_LIMIT = 150  # most non-dominated units per group for the direct (no pricing) path


def _exact_candidates(Xs, Ys, groups, budget: float = 3e7):
    """The non-dominated units (mask) when every group has at most ``_EXACT_LIMIT`` of them,
    so their LPs can be solved directly with all of them as columns; None when column
    generation should be used instead (one large group)."""
    import numpy as np

    sizes = np.bincount(groups)
    # the dominance check costs sum(size^2) comparisons; skip it for one huge group
    if float((sizes.astype(float) ** 2).sum()) * (Xs.shape[1] + Ys.shape[1]) > budget:
        return None
    keep = _nondominated(Xs, Ys, groups)
    if np.bincount(groups, weights=keep, minlength=len(sizes)).max(initial=0) > _EXACT_LIMIT:
        return None
    return keep


def _finish(Xs, Ys, radial, duals, cols, lam, *, vrs, orientation, slacks, batch, info, frontier, groups, check):
    """Phase 2 (max slacks) if asked, then the peers as a COO list.

    Every unit in the reference set of a max-slack solution is itself efficient (Cooper,
    Seiford & Tone 2007, Theorem 3.3), so phase 2 needs only the ``frontier`` units (score 1)
    of each group as columns: all of them when ``check`` is False, else the phase-1 columns
    among them, priced against the frontier.
    """
    import numpy as np

    n = Xs.shape[0]
    units = np.arange(n)
    sl_in, sl_out = _phase1_slacks(Xs, Ys, radial, cols, lam, orientation)
    s, r = Xs.shape[1], Ys.shape[1]
    # Complementary slackness: where every input and output price of the phase-1 dual is
    # positive, every optimal solution has zero slacks, so phase 2 would change nothing.
    zero_dual = (duals[:, : s + r] <= _REDUCED_COST_TOL).any(axis=1)
    need = units[zero_dual] if slacks else units[:0]
    if slacks:
        sl_in[~zero_dual], sl_out[~zero_dual] = 0.0, 0.0
    info["phase2"] = info.get("phase2", 0) + len(need)
    if len(need):
        room = _phase2_room(Xs, Ys, radial, cols, lam, vrs, orientation)
        is_front = np.zeros(n, dtype=bool)
        is_front[frontier] = True
        # the phase-1 peers stay too, so the phase-1 optimum is feasible from the start
        used = (cols >= 0) & (lam > 0)
        if check:
            start = np.where(used | ((cols >= 0) & is_front[np.where(cols >= 0, cols, 0)]), cols, -1)
        else:
            start = np.concatenate([_group_table(frontier, groups)[groups], np.where(used, cols, -1)], axis=1)
        pool = np.union1d(frontier, cols[used])
        r2, c2, l2, _, si2, so2 = _column_generation(
            Xs,
            Ys,
            need,
            _dedupe(start[need]),
            vrs=vrs,
            orientation=orientation,
            batch=batch,
            info=info,
            fixed=np.concatenate([radial[:, None], room], axis=1),
            pool=pool,
            check=check,
        )
        # units whose phase 2 failed (numerically) keep their phase-1 solution
        ok = np.isfinite(r2)
        done = need[ok]
        width = max(c2.shape[1], cols.shape[1])
        cols, lam = _widen(cols, width), _widen(lam, width, 0.0)
        c2, l2 = _widen(c2, width), _widen(l2, width, 0.0)
        cols[done], lam[done] = c2[ok], l2[ok]
        sl_in[done], sl_out[done] = si2[ok], so2[ok]
    # A peer counts when its share of the unit's targets is more than solver noise.
    size = np.maximum(Xs.max(axis=1, initial=0.0), Ys.max(axis=1, initial=0.0))
    c = np.where(cols >= 0, cols, 0)
    share = lam * size[c] / size[:, None]
    keep = (cols >= 0) & (lam > 0) & (share > _WEIGHT_TOL)
    row = np.broadcast_to(units[:, None], cols.shape)
    order = np.lexsort((-lam[keep], row[keep]))
    return (radial, row[keep][order], cols[keep][order], lam[keep][order], np.maximum(sl_in, 0.0), np.maximum(sl_out, 0.0), info)


def _phase2_room(Xs, Ys, radial, cols, lam, vrs, orientation):
    """How far each phase-2 row must be loosened for the phase-1 optimum to satisfy it exactly.

    HiGHS meets constraints only to its tolerance (1e-10), so with the score fixed the phase-2
    LP could be declared infeasible by a hair. The room is the phase-1 point's violation (after
    rescaling its lambdas to sum to 1 under BCC) plus a 1e-12 margin; it is subtracted from the
    slacks afterwards, so results move by no more than the solver's tolerance.
    """
    import numpy as np

    c = np.where(cols >= 0, cols, 0)
    w = np.where(cols >= 0, lam, 0.0)
    if vrs:
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    xl = np.einsum("nk,nki->ni", w, Xs[c])
    yl = np.einsum("nk,nkr->nr", w, Ys[c])
    if orientation == "input":
        need_x, need_y = radial[:, None] * Xs, Ys
    else:
        need_x, need_y = Xs, radial[:, None] * Ys
    room = np.concatenate([np.maximum(xl - need_x, 0.0), np.maximum(need_y - yl, 0.0)], axis=1)
    return room + _PHASE2_MARGIN * (1.0 + np.concatenate([need_x, need_y], axis=1))


def _phase1_slacks(Xs, Ys, radial, cols, lam, orientation):
    import numpy as np

    c = np.where(cols >= 0, cols, 0)
    w = np.where(cols >= 0, lam, 0.0)
    xl = np.einsum("nk,nki->ni", w, Xs[c])
    yl = np.einsum("nk,nkr->nr", w, Ys[c])
    if orientation == "input":
        return radial[:, None] * Xs - xl, yl - Ys
    return Xs - xl, yl - radial[:, None] * Ys
