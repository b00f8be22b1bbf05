"""DEA with one input and one output in closed form: no linear programmes.

With a single input and a single output the envelopment LPs of :mod:`._solver` have answers
that can be written down (Cooper, Seiford & Tone 2007, *Data Envelopment Analysis*, 2nd ed.,
ch. 3-4; Banker, Charnes & Cooper 1984, "Some models for estimating technical and scale
inefficiencies in data envelopment analysis", *Management Science* 30(9):1078-1092):

* **CCR, input-oriented.** The frontier is the ray through the unit with the largest output per
  unit of input, ``R = max_j y_j / x_j``, so ``theta_o = (y_o / x_o) / R``, the peer is that unit
  with ``lambda = y_o / y_peer``, and no slack is left. A unit producing nothing has
  ``theta_o = 0`` and no peer (``lambda = 0`` is optimal), as the LP says.
* **BCC, input-oriented.** ``theta_o x_o = f(y_o)`` with
  ``f(y) = min {sum_j l_j x_j : sum_j l_j y_j >= y, sum_j l_j = 1, l >= 0}``: in the (x, y)
  plane the frontier is the concave majorant of the non-dominated units, from ``A`` (the
  smallest input, and the largest output among units tied on it) up to the largest output.
  At or below ``y_A``, ``f = x_A``: the peer is ``A`` and the second (max-slack) phase leaves an
  output slack ``y_A - y_o``. Above it ``f`` interpolates between the two frontier vertices
  bracketing ``y_o``, weighted by output, and leaves no slack (``f`` is strictly increasing
  there). The input slack is always zero: the one input is already the minimum.

Units scoring 1 with no slack are their own peer (weight 1). Where the LP optimum is not unique
(ties, duplicated units, units on the line between two frontier vertices) the LP may name other
peers; scores, slacks and targets are the same. Weights too small to matter are dropped by the
same rule as :func:`._solver._finish`.

Example:
    >>> import numpy as np
    >>> x = np.array([[2.0], [3.0], [3.0], [4.0]])
    >>> y = np.array([[1.0], [3.0], [2.0], [3.0]])
    >>> sol = _closed_form(x, y, np.zeros(4, dtype=np.int64), vrs=True)
    >>> sol[0].round(4).tolist()   # C needs 2.5 of its 3 (halfway between A and B)
    [1.0, 1.0, 0.8333, 0.75]
"""

from __future__ import annotations

from typing import Any

from publicservices.stats.value._tolerances import _WEIGHT_TOL

# Scores this close to 1 are 1 (rounding in the interpolation, not a measurable gap: the LP
# path is accurate to 1e-9).
_ONE_TOL = 1e-12


def _closed_form(Xs, Ys, groups, *, vrs: bool) -> tuple[Any, ...] | None:
    """Input-oriented CCR (``vrs=False``) or BCC scores, peers and max-slacks of ``Xs`` (n x 1)
    against ``Ys`` (n x 1) within each of ``groups``, in the form :func:`._solver._envelopment`
    returns: radial scores, peer COO (unit, peer, weight), input and output slacks, info.

    None when the closed form does not apply exactly (not one input and one output, no units, a
    value not finite, an input not positive or an output negative): the caller then solves the
    LPs.
    """
    import numpy as np

    if Xs.ndim != 2 or Ys.ndim != 2 or Xs.shape[1] != 1 or Ys.shape[1] != 1:
        return None
    x, y = Xs[:, 0], Ys[:, 0]
    if not len(x) or not (np.isfinite(x).all() and np.isfinite(y).all() and (x > 0).all() and (y >= 0).all()):
        return None
    n = len(x)
    groups = np.asarray(groups, dtype=np.int64)
    found = _bcc(x, y, groups) if vrs else _ccr(x, y, groups)
    if found is None:
        return None
    radial, peers, weights, sl_out = found
    # Scores of 1 are exactly 1, and such units with no slack are their own peer.
    one = radial >= 1 - _ONE_TOL
    radial = np.where(one, 1.0, radial)
    own = one & (sl_out == 0)
    units = np.arange(n)
    peers[own] = np.c_[units[own], np.full(int(own.sum()), -1)]
    weights[own] = np.c_[np.ones(int(own.sum())), np.zeros(int(own.sum()))]
    # the rule of _finish: a peer counts when its share of the unit's targets beats noise
    size = np.maximum(np.maximum(x, y), 0.0)
    c = np.where(peers >= 0, peers, 0)
    share = weights * size[c] / size[:, None]
    keep = (peers >= 0) & (weights > 0) & (share > _WEIGHT_TOL)
    row = np.broadcast_to(units[:, None], peers.shape)
    pu, pr, pw = row[keep], peers[keep], weights[keep]
    order = np.lexsort((-pw, pu))
    info = {"lps": 0, "highs_calls": 0, "rounds": 0, "phase2": 0, "closed_form": n}
    return radial, pu[order], pr[order], pw[order], np.zeros((n, 1)), sl_out[:, None], info


def _ccr(x, y, groups):
    """CCR: each group's best output per unit of input is the frontier (a ray)."""
    import numpy as np

    n = len(x)
    ratio = y / x
    # the unit with the largest ratio in each group: last of each group once sorted by ratio
    order = np.lexsort((ratio, groups))
    g_sorted = groups[order]
    last = np.flatnonzero(np.r_[g_sorted[1:] != g_sorted[:-1], True])
    best = np.empty(int(groups.max()) + 1, dtype=np.int64)
    best[g_sorted[last]] = order[last]
    p = best[groups]
    peers = np.full((n, 2), -1, dtype=np.int64)
    weights = np.zeros((n, 2))
    produced = y > 0
    # y_o = 0: theta = 0 with lambda = 0 (no peer), as the LP finds; else R > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        radial = np.where(produced, ratio / ratio[p], 0.0)
        weights[:, 0] = np.where(produced, y / y[p], 0.0)
    peers[:, 0] = np.where(produced, p, -1)
    return radial, peers, weights, np.zeros(n)


def _bcc(x, y, groups):
    """BCC: the concave majorant of each group's non-dominated units (a loop over groups)."""
    import numpy as np

    n = len(x)
    radial = np.empty(n)
    peers = np.full((n, 2), -1, dtype=np.int64)
    weights = np.zeros((n, 2))
    sl_out = np.zeros(n)
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    cuts = np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1
    for idx in np.split(order, cuts) if n else ():  # a loop over groups, never over units
        chain = _frontier(x[idx], y[idx])
        if chain is None:
            return None
        vx, vy = x[idx][chain], y[idx][chain]
        yo = y[idx]
        left = yo <= vy[0]
        if len(chain) == 1:  # one non-dominated unit: it is everyone's peer
            k = np.ones(len(idx), dtype=np.int64)
            w = np.zeros(len(idx))
            vx, vy, chain = np.r_[vx, vx], np.r_[vy, vy], np.r_[chain, chain]
        else:
            k = np.clip(np.searchsorted(vy, yo, side="left"), 1, len(chain) - 1)
            # exact 1 when y_o is a vertex's output, so the other weight is exactly 0
            w = np.where(left, 0.0, (yo - vy[k - 1]) / (vy[k] - vy[k - 1]))
        lo, hi = np.where(left, 0, k - 1), np.where(left, 0, k)
        f = np.where(left, vx[0], (1 - w) * vx[k - 1] + w * vx[k])
        radial[idx] = f / x[idx]
        peers[idx] = np.c_[idx[chain[lo]], np.where(left, -1, idx[chain[hi]])]
        weights[idx] = np.c_[np.where(left, 1.0, 1 - w), np.where(left, 0.0, w)]
        sl_out[idx] = np.where(left, vy[0] - yo, 0.0)
    return radial, peers, weights, sl_out


def _frontier(x, y):
    """Positions of the BCC frontier's vertices (input and output both increasing), or None
    when the hull cannot be computed.

    The non-dominated units form a staircase (sorted by input, each produces more than all
    before it); the frontier is its concave majorant, the upper-left chain of the convex hull
    of the staircase and the corner (largest input, smallest output), which keeps the hull
    two-dimensional however the staircase lies.
    """
    import numpy as np

    order = np.lexsort((-y, x))  # by input, the larger output first among ties
    ys = y[order]
    stair = np.ones(len(order), dtype=bool)
    stair[1:] = ys[1:] > np.maximum.accumulate(ys)[:-1]
    stair = order[stair]
    if len(stair) <= 2:
        return stair
    from scipy.spatial import ConvexHull, QhullError

    pts = np.c_[x[stair], y[stair]]
    try:
        hull = ConvexHull(np.r_[pts, [[pts[-1, 0], pts[0, 1]]]])
    except (QhullError, ValueError):
        return None
    vert = hull.vertices[hull.vertices < len(stair)]
    return stair[np.sort(vert)]  # the staircase is sorted by input already
