"""The engine of :mod:`publicservices.stats.ranking.rank_sets`: rank confidence sets for one group of
units on NumPy arrays (Mogstad, Romano, Shaikh & Wilhelm 2023; parametric bootstrap with
Romano-Wolf stepdown; see that module for the method).

Example:
    >>> res = rank_set_arrays([0.0, 5.0, 10.0], [0.1, 0.1, 0.1], n_boot=200, seed=1)
    >>> res.lower.tolist(), res.upper.tolist()
    ([3, 2, 1], [3, 2, 1])
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import numpy as np

from publicservices.errors import DataError

__all__ = ["RankSets", "rank_set_arrays", "check_options"]


_BLOCK = 1 << 18  # elements in one temporary array (2 MB of float64), so each pass stays in cache
_FULL_N = 16  # up to this many units, every pair is evaluated for every draw
_M_SIMUL = 8  # units with the most extreme draws whose pairs are evaluated (simultaneous)
_M_MARGINAL = 10  # the same for marginal sets
_CACHE = 1 << 22  # cache the candidate pair statistics across stepdown steps up to this many
_DEN_N = 2000  # up to this many units the pairwise sqrt(se_j^2 + se_k^2) is kept as a matrix
_SAFE = 1.0 + 1e-9  # inflate the pruning bounds: floating-point rounding cannot beat them
_NEG = -np.inf
Kind = Literal["simultaneous", "marginal"]


class RankSets(NamedTuple):
    """Confidence sets for the ranks of one group of units, in the input order.

    ``rank`` is the rank of the point estimate (1 = highest of ``estimate``, after any
    polarity flip; ties share the smallest rank); the set for unit ``j``'s rank is every
    integer from ``lower[j]`` to ``upper[j]``. ``critical`` holds the bootstrap critical
    values: one per stepdown step (simultaneous) or the first-step value of each unit
    (marginal). ``steps`` counts the stepdown steps taken (the largest over units for
    marginal sets).
    """

    rank: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    critical: np.ndarray
    steps: int


# --------------------------------------------------------------------------------------
# The engine: NumPy arrays for one group
# --------------------------------------------------------------------------------------
def _den(va: np.ndarray, vb: np.ndarray, exact_pairs: bool = True) -> np.ndarray:
    """sqrt(var_a + var_b); a pair of exactly known values (0) gets inf, so its bootstrap
    statistic (x_a - x_b = 0) is 0. ``exact_pairs=False`` skips that step when at most one
    unit is known exactly (then only a unit paired with itself can give 0, and those pairs
    are never under test)."""
    d = np.sqrt(va + vb)
    if exact_pairs:
        d[d == 0] = np.inf
    return d


def _kth(values: np.ndarray, r: int) -> np.ndarray:
    """The r-th smallest value along axis 0 (r counted from 1)."""
    return np.partition(values, r - 1, axis=0)[r - 1]


class _Draws:
    """Parametric bootstrap draws for one group, with the pruning bounds.

    ``x[b, j] = e[b, j] * se_j`` with ``e ~ N(0, 1)``; ``top[b]`` are the ``m`` units with the
    largest ``|e[b]|`` (None when every pair is evaluated); ``bound[b]`` (simultaneous) or
    ``bound[b, j]`` (marginal) is an upper bound on every pair statistic not evaluated.
    """

    def __init__(self, s: np.ndarray, n_boot: int, seed: int | None, kind: Kind) -> None:
        n = s.size
        self.n, self.B = n, n_boot
        e = np.random.default_rng(seed).standard_normal((n_boot, n))
        self.x = e * s
        self.v = s * s
        self.exact_pairs = int(np.count_nonzero(s == 0)) >= 2
        self._cache: np.ndarray | None = None
        m = _M_SIMUL if kind == "simultaneous" else _M_MARGINAL
        if n <= max(_FULL_N, m + 2):
            self.top = None
            return
        a = np.abs(e)
        part = np.argpartition(-a, m + 1, axis=1)[:, : m + 2]
        part = np.take_along_axis(part, np.argsort(-np.take_along_axis(a, part, 1), axis=1, kind="stable"), 1)
        self.top = np.ascontiguousarray(part[:, :m])
        a1 = np.take_along_axis(a, part[:, m : m + 1], 1)[:, 0]  # largest |e| outside the top m
        a2 = np.take_along_axis(a, part[:, m + 1 : m + 2], 1)[:, 0]
        if kind == "simultaneous":
            # a pair of two units outside the top m: |x_j - x_k| / sd <= sqrt(e_j^2 + e_k^2)
            self.bound = np.sqrt(a1 * a1 + a2 * a2) * _SAFE + 1e-300
        else:
            self.bound = self._marginal_bound(a, a1, s)
        self.sd_pairs = _den(self.v[:, None], self.v[None, :], self.exact_pairs) if n <= _DEN_N else None
        if n_boot * m * n <= _CACHE:
            self._cache = self._candidates(0, n_boot, None)

    def _marginal_bound(self, a: np.ndarray, a1: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Bound on |x_j - x_k| / sd_jk over units k outside the top m of a draw.

        With |e_k| <= a1 it is at most g(s_k) = (|e_j| s_j + a1 s_k) / sqrt(s_j^2 + s_k^2), a
        function that rises to its peak at s_k = s_j a1 / |e_j| and then falls; over s_k in
        [min se, max se] its largest value is at the peak clipped into that range.
        """
        sj = s[None, :]
        a1 = a1[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.clip(np.where(a > 0, sj * a1 / a, np.inf), s.min(), s.max())
            den = np.sqrt(sj * sj + peak * peak)
            g = (a * sj + a1 * peak) / den
        # den 0 (this unit and the peak both exactly known): the plain Cauchy-Schwarz bound
        g = np.where(den > 0, g, np.sqrt(a * a + a1 * a1))
        return g * _SAFE + 1e-300

    def _candidates(self, b0: int, b1: int, cols: np.ndarray | None) -> np.ndarray:
        """D[b, q, k] = (x[b, top[b, q]] - x[b, k]) / sd(top[b, q], k) for draws b0:b1."""
        if self._cache is not None:
            block = self._cache[b0:b1]
            return block if cols is None else block[:, :, cols]
        assert self.top is not None  # no top m means every pair is evaluated, without candidates
        top = self.top[b0:b1]
        x = self.x[b0:b1]
        xk = x if cols is None else x[:, cols]
        xt = np.take_along_axis(x, top, 1)
        if self.sd_pairs is not None:  # the same numbers, gathered rather than recomputed
            den = self.sd_pairs[top] if cols is None else self.sd_pairs[top[:, :, None], cols]
        else:
            vk = self.v if cols is None else self.v[cols]
            den = _den(self.v[top][:, :, None], vk[None, None, :], self.exact_pairs)
        return (xt[:, :, None] - xk[:, None, :]) / den


def _pair_max(d: np.ndarray, forward: np.ndarray, backward: np.ndarray, axis: Any) -> np.ndarray:
    """max over pairs of d where the forward order is under test and -d where the backward one is."""
    hi = np.where(forward, d, _NEG).max(axis=axis)
    lo = np.where(backward, d, np.inf).min(axis=axis)
    return np.maximum(hi, -lo)


def _simul_full(dr: _Draws, idx: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The largest statistic over all ordered pairs under test, for the draws idx."""
    n = dr.n
    out = np.full(idx.size, _NEG)
    rb = max(1, min(n, _BLOCK // n))
    for r0 in range(0, n, rb):
        rows = slice(r0, min(n, r0 + rb))
        act = active[rows]
        if not act.any():
            continue
        den = _den(dr.v[rows, None], dr.v[None, :], dr.exact_pairs)
        db = max(1, _BLOCK // act.size)
        for i0 in range(0, idx.size, db):
            x = dr.x[idx[i0 : i0 + db]]
            d = (x[:, rows, None] - x[:, None, :]) / den
            val = np.where(act, d, _NEG).reshape(d.shape[0], -1).max(axis=1)
            np.maximum(out[i0 : i0 + db], val, out=out[i0 : i0 + db])
    return out


def _simul_critical(dr: _Draws, active: np.ndarray, r: int) -> float:
    """The r-th smallest, over draws, of the largest statistic over the ordered pairs under test."""
    if dr.top is None:
        t = _simul_full(dr, np.arange(dr.B), active)
    else:
        active_t = np.ascontiguousarray(active.T)
        m, n = dr.top.shape[1], dr.n
        cand = np.empty(dr.B)
        db = max(1, _BLOCK // (m * n))
        for b0 in range(0, dr.B, db):
            b1 = min(dr.B, b0 + db)
            top = dr.top[b0:b1]
            d = dr._candidates(b0, b1, None)
            cand[b0:b1] = _pair_max(d, active[top], active_t[top], axis=(1, 2))
        t = _resolve(dr, cand, dr.bound, r, lambda idx: _simul_full(dr, idx, active))
    return max(float(_kth(t, r)), 0.0)


def _resolve(dr: _Draws, cand: np.ndarray, bound: np.ndarray, r: int, full) -> np.ndarray:
    """Exact per-draw maxima where they can matter for the r-th smallest, -inf elsewhere.

    ``cand`` (a lower bound on each maximum) is exact where it reaches ``bound``. A draw whose
    bound lies below the r-th smallest candidate is below the quantile whatever its exact
    value, so it is set to -inf (which leaves the r-th smallest unchanged); the rest are
    evaluated in full by ``full(draw indices)``.
    """
    exact = cand >= bound
    low = ~exact & (bound < _kth(cand, r))
    out = np.where(low, _NEG, cand)
    need = ~exact & ~low
    if need.ndim == 1:
        idx = np.flatnonzero(need)
        if idx.size:
            out[idx] = full(idx)
    else:
        bs, js = np.nonzero(need)
        if bs.size:
            out[bs, js] = full((bs, js))
    return out


def _marg_full(dr: _Draws, bs: np.ndarray, js: np.ndarray, jrows: np.ndarray, act_r: np.ndarray, act_c: np.ndarray) -> np.ndarray:
    """For each (draw bs[i], family jrows[js[i]]): the largest statistic over its pairs under test."""
    n = dr.n
    out = np.empty(bs.size)
    cb = max(1, _BLOCK // n)
    for i0 in range(0, bs.size, cb):
        b, jj = bs[i0 : i0 + cb], js[i0 : i0 + cb]
        j = jrows[jj]
        d = (dr.x[b, j][:, None] - dr.x[b]) / _den(dr.v[j][:, None], dr.v[None, :], dr.exact_pairs)
        out[i0 : i0 + cb] = _pair_max(d, act_r[jj], act_c[jj], axis=1)
    return out


def _marg_critical(dr: _Draws, jrows: np.ndarray, act_r: np.ndarray, act_c: np.ndarray, r: int) -> np.ndarray:
    """Per family j in jrows: the r-th smallest over draws of the largest statistic over the
    pairs (j, k) and (k, j) still under test (act_r: H(j,k), act_c: H(k,j))."""
    n, nj = dr.n, jrows.size
    if dr.top is None:
        t = np.empty((dr.B, nj))
        jc = max(1, min(nj, _BLOCK // n))
        for j0 in range(0, nj, jc):
            sl = slice(j0, min(nj, j0 + jc))
            j = jrows[sl]
            den = _den(dr.v[j][:, None], dr.v[None, :], dr.exact_pairs)
            db = max(1, _BLOCK // den.size)
            for b0 in range(0, dr.B, db):
                x = dr.x[b0 : b0 + db]
                d = (x[:, j, None] - x[:, None, :]) / den
                t[b0 : b0 + db, sl] = _pair_max(d, act_r[sl], act_c[sl], axis=2)
    else:
        m = dr.top.shape[1]
        cand = np.empty((dr.B, nj))
        db = max(1, _BLOCK // (m * nj))
        act_rt, act_ct = np.ascontiguousarray(act_r.T), np.ascontiguousarray(act_c.T)
        for b0 in range(0, dr.B, db):
            b1 = min(dr.B, b0 + db)
            top = dr.top[b0:b1]
            # pair (j, top[b, q]) has statistic -D[b, q, j]: it counts where H(j, top) is under
            # test (act_r), and D[b, q, j] where H(top, j) is (act_c)
            d = dr._candidates(b0, b1, None if nj == n else jrows)
            cand[b0:b1] = _pair_max(d, act_ct[top], act_rt[top], axis=1)
        bound = dr.bound[:, jrows]
        t = _resolve(dr, cand, bound, r, lambda ij: _marg_full(dr, ij[0], ij[1], jrows, act_r, act_c))
    return np.maximum(_kth(t, r), 0.0)


def _tstats(y: np.ndarray, v: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """t[j, k] = (y_j - y_k) / sqrt(v_j + v_k) for j in rows; two exactly known values are
    ordered with certainty (+-inf) unless equal (0)."""
    d = y[rows, None] - y[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d / np.sqrt(v[rows, None] + v[None, :])
    t[np.isnan(t)] = 0.0
    return t


def _simultaneous(y: np.ndarray, dr: _Draws, r: int, stepdown: bool) -> tuple[np.ndarray, list[float]]:
    """Rejections rej[j, k] (theta_j > theta_k shown) of the stepdown over all ordered pairs."""
    n = y.size
    rej = np.zeros((n, n), dtype=bool)
    crit: list[float] = []
    rb = max(1, min(n, _BLOCK // max(n, 1)))
    while True:
        active = ~rej
        np.fill_diagonal(active, False)
        c = _simul_critical(dr, active, r)
        crit.append(c)
        new_any = False
        for r0 in range(0, n, rb):
            rows = np.arange(r0, min(n, r0 + rb))
            new = active[rows] & (_tstats(y, dr.v, rows) > c)
            if new.any():
                rej[rows] |= new
                new_any = True
        if not new_any or not stepdown:
            return rej, crit


def _marginal(y: np.ndarray, dr: _Draws, r: int, stepdown: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per unit j, the stepdown over the pairs that involve j: (#{k: theta_k > theta_j shown},
    #{k: theta_k < theta_j shown}, first-step critical values, steps)."""
    n = y.size
    above = np.zeros(n, dtype=np.int64)
    below = np.zeros(n, dtype=np.int64)
    rej_r = np.zeros((n, n), dtype=bool)  # family j: H(j,k) rejected, theta_j > theta_k
    rej_c = np.zeros((n, n), dtype=bool)  # family j: H(k,j) rejected, theta_k > theta_j
    jrows = np.arange(n)
    first = np.zeros(n)
    steps = 0
    while jrows.size:
        steps += 1
        act_r = ~rej_r[jrows]
        act_c = ~rej_c[jrows]
        act_r[np.arange(jrows.size), jrows] = False
        act_c[np.arange(jrows.size), jrows] = False
        c = _marg_critical(dr, jrows, act_r, act_c, r)
        if steps == 1:
            first[:] = c
        changed = np.zeros(jrows.size, dtype=bool)
        rb = max(1, min(jrows.size, _BLOCK // n))
        for r0 in range(0, jrows.size, rb):
            sl = slice(r0, min(jrows.size, r0 + rb))
            t = _tstats(y, dr.v, jrows[sl])
            cc = c[sl, None]
            new_r = act_r[sl] & (t > cc)
            new_c = act_c[sl] & (-t > cc)
            rej_r[jrows[sl]] |= new_r
            rej_c[jrows[sl]] |= new_c
            changed[sl] = new_r.any(axis=1) | new_c.any(axis=1)
        if not stepdown:
            break
        jrows = jrows[changed]
    above[:] = rej_c.sum(axis=1)
    below[:] = rej_r.sum(axis=1)
    return above, below, first, steps


def _order_count(level: float, n_boot: int) -> int:
    """The order statistic used as the bootstrap critical value: ceil(level x (n_boot + 1)).

    With ``r`` this, a statistic with the bootstrap's own distribution falls at or below the
    r-th smallest of ``n_boot`` draws with probability exactly ``r / (n_boot + 1) >= level``
    (the Monte Carlo test rule; Dufour 2006, J Econometrics 133:443).
    """
    return max(1, math.ceil(level * (n_boot + 1) - 1e-9))


def check_options(kind: str, level: float, n_boot: int) -> None:
    if kind not in ("simultaneous", "marginal"):
        raise DataError(
            f"kind must be 'simultaneous' or 'marginal', not {kind!r}.\n"
            "Fix: kind='simultaneous' for a league table, 'marginal' for one area's rank."
        )
    if not (isinstance(level, (int, float)) and 0.5 <= level < 1):
        raise DataError(f"level must lie in [0.5, 1), not {level!r}.\nFix: e.g. level=0.95.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise DataError(f"n_boot must be a positive whole number, not {n_boot!r}.\nFix: e.g. n_boot=1000.")
    if _order_count(level, int(n_boot)) > n_boot:
        need = math.ceil(level / (1 - level) - 1e-9)
        raise DataError(
            f"n_boot={n_boot} is too few draws for level={level}: the critical value needs at least "
            f"{need} draws.\nFix: use n_boot=1000 (or at least {need})."
        )


def rank_set_arrays(
    estimate: Any,
    se: Any,
    *,
    level: float = 0.95,
    kind: Kind = "simultaneous",
    stepdown: bool = True,
    n_boot: int = 1000,
    seed: int | None = 0,
    descending: bool = True,
    tiebreak: Any = None,
) -> RankSets:
    """Confidence sets for the ranks of one group of units (NumPy arrays in, arrays out).

    The engine behind :func:`rank_confidence_sets` (see the module docstring for the method,
    Mogstad, Romano, Shaikh & Wilhelm 2023, section 3). Every value must be finite and every
    standard error at least 0 (0 means known exactly).

    Parameters:
        estimate: the units' estimates.
        se: their standard errors (independent estimates).
        level: coverage of the sets.
        kind: ``"simultaneous"`` (all ranks at once) or ``"marginal"`` (each rank alone).
        stepdown: use the Romano-Wolf stepdown (never wider than the single step).
        n_boot: parametric bootstrap draws.
        seed: seed of the draws (None: fresh randomness, not reproducible).
        descending: rank 1 is the highest estimate (False: the lowest).
        tiebreak: optional integer codes (such as the area codes' order) that fix the order in
            which units receive their draws when estimate and se tie, so that the answer does
            not depend on the row order.

    >>> r = rank_set_arrays([500.0, 495.0, 430.0], [2.0, 2.0, 2.0], n_boot=2000)
    >>> r.rank.tolist(), r.lower.tolist(), r.upper.tolist()
    ([1, 2, 3], [1, 1, 3], [2, 2, 3])
    """
    check_options(kind, level, n_boot)
    y = np.asarray(estimate, dtype=np.float64).ravel()
    s = np.asarray(se, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise DataError(
            f"estimate and se have different lengths ({y.size} and {s.size}).\nFix: pass one standard error per estimate."
        )
    if not (np.isfinite(y).all() and np.isfinite(s).all()) or (s < 0).any():
        raise DataError(
            "estimate and se must be finite and se at least 0.\n"
            "Fix: set aside units without a value or standard error before ranking."
        )
    if not descending:
        y = -y
    n = y.size
    rank = (1 + np.searchsorted(np.sort(-y), -y, side="left")).astype(np.int64)
    if n <= 1:
        ones = np.ones(n, dtype=np.int64)
        return RankSets(rank, ones, ones.copy(), np.zeros(0), 0)
    keys = (s, y) if tiebreak is None else (np.asarray(tiebreak).ravel(), s, y)
    order = np.lexsort(keys)
    ys, ss = y[order], s[order]
    r = _order_count(level, int(n_boot))
    # 0/0 arises only for a unit paired with itself when its se is 0: never under test
    with np.errstate(invalid="ignore", divide="ignore"):
        dr = _Draws(ss, int(n_boot), seed, kind)
        if kind == "simultaneous":
            rej, crit = _simultaneous(ys, dr, r, stepdown)
            above, below, critical, steps = rej.sum(axis=0), rej.sum(axis=1), np.asarray(crit), len(crit)
        else:
            above, below, first, steps = _marginal(ys, dr, r, stepdown)
            critical = np.empty(n)
            critical[order] = first
    lower = np.empty(n, dtype=np.int64)
    upper = np.empty(n, dtype=np.int64)
    lower[order] = 1 + above
    upper[order] = n - below
    return RankSets(rank, lower, upper, critical, steps)
