"""Confidence sets for ranks with guaranteed frequentist coverage.

A league table ranks estimates; the confidence set for a rank says which places an area's
*true* value could hold. The method is Mogstad, Romano, Shaikh and Wilhelm (2023, *Review of
Economic Studies* 91:476, "Inference for ranks with applications to mobility across
neighbourhoods and academic achievement across countries", section 3; R package ``csranks``),
for independent estimates (a diagonal covariance matrix):

1. Rank by the true values: ``rank_j = 1 + #{k : theta_k > theta_j}`` (1 = best, or simply
   the highest value when the indicator has no direction; tied units share the best place
   they occupy, and their true places run from that rank to ``n - #{k : theta_k < theta_j}``).
2. Test every ordered pair ``H(j,k): theta_j <= theta_k`` with ``t_jk = (y_j - y_k) /
   sqrt(se_j^2 + se_k^2)``. The critical value is the ``level`` quantile of the largest
   bootstrap statistic over the pairs still under test, ``max (Z_j - Z_k) / sqrt(se_j^2 +
   se_k^2)`` with ``Z ~ N(0, diag(se^2))`` (a parametric bootstrap, ``n_boot`` draws). While
   both orders of a pair are under test this is the max-|t| statistic of the two-sided
   intervals for all differences.
3. Romano-Wolf stepdown (``stepdown=True``): remove the rejected hypotheses, recompute the
   critical value over those left, and repeat until nothing new is rejected. This keeps the
   familywise error rate at ``1 - level`` and never rejects less than the single step.
4. ``rank_lower_j = 1 + #{k : theta_k > theta_j shown}`` and ``rank_upper_j = n - #{k :
   theta_k < theta_j shown}``: the set for the rank is the integer interval between them.

*Simultaneous* sets (``kind="simultaneous"``) test all ``n (n - 1)`` ordered pairs at once:
with probability at least ``level`` every area's set holds its true rank, so the whole
league table can be read at once (who is surely above whom). *Marginal* sets
(``kind="marginal"``) test, for each area ``j``, only the ``2 (n - 1)`` pairs that involve
``j``: each covers its own area's true rank with probability ``level``; they are narrower
and fit a single area's profile, not a table. The "which areas could be in the top k"
set (the paper's tau-best) is ``rank_lower <= k`` from the simultaneous sets; see
:func:`top_k_set`.

Implementation notes. The bootstrap draws ``Z`` are drawn once per group (seeded, in a
canonical order of the units so that the result does not depend on the row order) and reused
at every stepdown step, so the critical values never increase from step to step and marginal
sets always lie inside the simultaneous ones. The critical value is the
``ceil(level x (n_boot + 1))``-th smallest draw: a statistic with the bootstrap's own
distribution lies at or below it with probability exactly ``ceil(level x (n_boot + 1)) /
(n_boot + 1) >= level`` (the Monte Carlo test rule), so the single step is exact in the least
favourable case (all true values equal, standard errors known); ``csranks`` interpolates
(R's type 7 quantile), a fraction of one draw lower.
The largest statistic of each draw is found exactly without evaluating all ``n^2`` pairs:
pairs between the few units with the most extreme draws and every other unit are evaluated,
and the bound ``|Z_j - Z_k| / sqrt(se_j^2 + se_k^2) <= sqrt(e_j^2 + e_k^2)`` (``e = Z / se``,
Cauchy-Schwarz) proves that no other pair can be larger; draws where the bound cannot prove
it and which might matter for the quantile are evaluated in full. The answer is identical to
the brute-force computation (float64 throughout). Temporary arrays are processed in blocks of
about 2 MB; memory is O(n_boot x n + n^2) booleans and floats (pairwise standard deviations are
kept as a matrix up to 2,000 units and recomputed per block above that).

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0],
    ...                    "se": [1.0, 1.0, 1.0, 1.0]})
    >>> out = rank_confidence_sets(df)
    >>> out.select("area_code", "rank", "rank_lower", "rank_upper").rows()
    [('A', 4, 3, 4), ('B', 3, 3, 4), ('C', 2, 1, 2), ('D', 1, 1, 2)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats import _rankutil as ru

__all__ = ["RankSets", "rank_confidence_sets", "rank_sets", "top_k_set"]

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
        a1 = np.take_along_axis(a, part[:, m: m + 1], 1)[:, 0]  # largest |e| outside the top m
        a2 = np.take_along_axis(a, part[:, m + 1: m + 2], 1)[:, 0]
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
            x = dr.x[idx[i0: i0 + db]]
            d = (x[:, rows, None] - x[:, None, :]) / den
            val = np.where(act, d, _NEG).reshape(d.shape[0], -1).max(axis=1)
            np.maximum(out[i0: i0 + db], val, out=out[i0: i0 + db])
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


def _marg_full(dr: _Draws, bs: np.ndarray, js: np.ndarray, jrows: np.ndarray, act_r: np.ndarray,
               act_c: np.ndarray) -> np.ndarray:
    """For each (draw bs[i], family jrows[js[i]]): the largest statistic over its pairs under test."""
    n = dr.n
    out = np.empty(bs.size)
    cb = max(1, _BLOCK // n)
    for i0 in range(0, bs.size, cb):
        b, jj = bs[i0: i0 + cb], js[i0: i0 + cb]
        j = jrows[jj]
        d = (dr.x[b, j][:, None] - dr.x[b]) / _den(dr.v[j][:, None], dr.v[None, :], dr.exact_pairs)
        out[i0: i0 + cb] = _pair_max(d, act_r[jj], act_c[jj], axis=1)
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
                x = dr.x[b0: b0 + db]
                d = (x[:, j, None] - x[:, None, :]) / den
                t[b0: b0 + db, sl] = _pair_max(d, act_r[sl], act_c[sl], axis=2)
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


def _check_options(kind: str, level: float, n_boot: int) -> None:
    if kind not in ("simultaneous", "marginal"):
        raise DataError(f"kind must be 'simultaneous' or 'marginal', not {kind!r}.\n"
                        "Fix: kind='simultaneous' for a league table, 'marginal' for one area's rank.")
    if not (isinstance(level, (int, float)) and 0.5 <= level < 1):
        raise DataError(f"level must lie in [0.5, 1), not {level!r}.\nFix: e.g. level=0.95.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise DataError(f"n_boot must be a positive whole number, not {n_boot!r}.\nFix: e.g. n_boot=1000.")
    if _order_count(level, int(n_boot)) > n_boot:
        need = math.ceil(level / (1 - level) - 1e-9)
        raise DataError(f"n_boot={n_boot} is too few draws for level={level}: the critical value needs at least "
                        f"{need} draws.\nFix: use n_boot=1000 (or at least {need}).")


def rank_sets(
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

    >>> r = rank_sets([500.0, 495.0, 430.0], [2.0, 2.0, 2.0], n_boot=2000)
    >>> r.rank.tolist(), r.lower.tolist(), r.upper.tolist()
    ([1, 2, 3], [1, 1, 3], [2, 2, 3])
    """
    _check_options(kind, level, n_boot)
    y = np.asarray(estimate, dtype=np.float64).ravel()
    s = np.asarray(se, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise DataError(f"estimate and se have different lengths ({y.size} and {s.size}).\n"
                        "Fix: pass one standard error per estimate.")
    if not (np.isfinite(y).all() and np.isfinite(s).all()) or (s < 0).any():
        raise DataError("estimate and se must be finite and se at least 0.\n"
                        "Fix: set aside units without a value or standard error before ranking.")
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


# --------------------------------------------------------------------------------------
# The frame API
# --------------------------------------------------------------------------------------
def _descending(descending: bool | None, polarity: str | None, ind: Indicator | None) -> bool:
    polarity = polarity or (ind.polarity if ind is not None else None)
    if polarity is not None and polarity not in ("higher_is_better", "lower_is_better", "no_judgement"):
        raise DataError(f"unknown polarity {polarity!r}.\nFix: use higher_is_better, lower_is_better or no_judgement.")
    from_polarity = None if polarity is None else polarity != "lower_is_better"
    if descending is not None and from_polarity is not None and descending != from_polarity:
        raise DataError(f"descending={descending} contradicts polarity {polarity!r}.\n"
                        "Fix: pass one of them: rank 1 is the highest value unless lower is better.")
    return bool(descending if descending is not None else (True if from_polarity is None else from_polarity))


_ADD_INTERVALS = "publicservices.stats.add_intervals(values, indicators)"


def _standard_errors(frame: pl.DataFrame, se: str, ci_level: float) -> tuple[np.ndarray, str]:
    """(se, the column named in errors), row by row from the first source present: the named
    column, ``standard_error``, (upper_ci - lower_ci) / (2 z) with z the normal quantile of
    ``ci_level``, then (upper_95 - lower_95) / (2 x 1.959964) (the limits add_intervals adds)."""
    from scipy.stats import norm

    cols = set(frame.columns)
    out = np.full(frame.height, np.nan)
    named: list[str] = []
    if se in cols:
        named.append(se)
        out = ru.numeric(frame, se, allow_null=True)
    if se == "se" and "standard_error" in cols:
        named.append("standard_error")
        out = np.where(np.isnan(out), ru.numeric(frame, "standard_error", allow_null=True), out)
    for lower, upper, level in (("lower_ci", "upper_ci", ci_level), ("lower_95", "upper_95", 0.95)):
        if {lower, upper} <= cols:
            named.append(upper)
            lo = ru.numeric(frame, lower, allow_null=True)
            hi = ru.numeric(frame, upper, allow_null=True)
            ru.check(frame, upper, np.isfinite(lo) & np.isfinite(hi) & (hi < lo), f"is below {lower}",
                     "Swap the limits, or correct the rows.")
            z = float(norm.ppf(0.5 + level / 2))  # 1.959964 for 95% limits
            out = np.where(np.isnan(out), (hi - lo) / (2 * z), out)
    if not named:
        raise SchemaError(problem(se, "is missing (rank confidence sets need each estimate's standard error)",
                                  fix="Add a standard-error column (se=... names it), or lower_ci/upper_ci; "
                                      f"for counts, compute limits first: {_ADD_INTERVALS}."))
    return out, ", ".join(named)


def rank_confidence_sets(
    frame: Any,
    indicator: Indicator | str | None = None,
    *,
    estimate: str = "value",
    se: str = "se",
    by: Sequence[str] | str | None = None,
    key: str = "area_code",
    level: float = 0.95,
    kind: Kind = "simultaneous",
    stepdown: bool = True,
    n_boot: int = 1000,
    seed: int | None = 0,
    descending: bool | None = None,
    polarity: str | None = None,
    ci_level: float = 0.95,
    indicators: Mapping[str, Indicator] | None = None,
) -> pl.DataFrame:
    """Confidence sets for ranks with guaranteed coverage (Mogstad, Romano, Shaikh & Wilhelm 2023).

    Adds ``rank`` (of the point estimate; 1 = best by polarity, or the highest value when the
    indicator has no direction; ties share the smallest rank), ``rank_lower`` and
    ``rank_upper`` (the set for the true rank is every integer between them) and
    ``n_ranked`` (units ranked in the row's group). With ``kind="simultaneous"`` (the default,
    for league tables) all the sets of a group hold their true ranks together with
    probability at least ``level``; with ``kind="marginal"`` each set holds its own unit's
    rank with that probability. Method: see :mod:`publicservices.stats.rank_sets`.

    Unlike :func:`publicservices.stats.shrinkage.rank_intervals` (Bayesian: quantiles of the
    ranks simulated from each unit's posterior, one unit at a time, dependent on the prior),
    these are frequentist sets with a coverage guarantee for every true ranking.

    Parameters:
        frame: values frame or Dataset: one row per unit and group, with ``estimate`` and a
            standard error.
        indicator: the Indicator or its id (for its polarity; also selects its rows).
        estimate: the column to rank.
        se: the standard-error column. Where it is absent or null, ``standard_error`` is
            used, else ``(upper_ci - lower_ci) / (2 x 1.959964)`` (normal limits at
            ``ci_level``), else the same from ``lower_95``/``upper_95``. For counts, compute
            limits first (``publicservices.stats.add_intervals``); asymmetric limits (Wilson,
            Byar) are then read as if symmetric, an approximation.
        by: grouping columns (default: indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category); each group is ranked alone.
        key: unit column (area code); fixes the order of the bootstrap draws among units with
            equal estimate and se, so the result does not depend on the row order. Must be
            unique within a group when present.
        level: coverage, in [0.5, 1).
        kind: ``"simultaneous"`` or ``"marginal"``.
        stepdown: Romano-Wolf stepdown (default; never wider than the single step).
        n_boot: parametric bootstrap draws per group.
        seed: seed (every group uses the same seed); None for fresh randomness.
        descending: rank 1 = highest value (True) or lowest (False). Default from polarity:
            the indicator's, or (with a Dataset or ``indicators=`` and no indicator named) each
            indicator's own; the highest value when no polarity is known.
        polarity: ``higher_is_better``, ``lower_is_better`` or ``no_judgement``; overrides
            the indicator's.
        ci_level: the level of ``lower_ci``/``upper_ci`` when se comes from them.

    Returns the frame, rows in their order, with the four columns added. Rows without an
    estimate are kept with null ranks and are not counted in ``n_ranked``; a row with an
    estimate but no standard error is an error (it names the rows).

    >>> df = pl.DataFrame({"area_code": list("ABC"), "value": [20.0, 10.0, 11.0], "se": [1.0, 1.0, 1.0]})
    >>> rank_confidence_sets(df, polarity="lower_is_better").select("rank", "rank_lower", "rank_upper").rows()
    [(3, 3, 3), (1, 1, 2), (2, 1, 2)]
    """
    known = dict(getattr(frame, "indicators", None) or {}) if not isinstance(frame, pl.DataFrame) else {}
    known.update(indicators or {})
    frame, ind = ru.resolve(frame, indicator, indicators)
    desc = _descending(descending, polarity, ind)
    # without an indicator, polarity or direction, each indicator's own polarity (when known)
    per_group = ind is None and descending is None and polarity is None and bool(known) \
        and "indicator_id" in frame.columns
    _check_options(kind, level, n_boot)
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie between 0 and 1, not {ci_level!r}.\nFix: e.g. ci_level=0.95.")
    ru.require_columns(frame, [estimate], "the values to rank")
    keys = ru.group_keys(frame, by)
    y = ru.numeric(frame, estimate, allow_null=True)
    s, se_name = _standard_errors(frame, se, ci_level)  # se_name: the columns it came from
    ru.check(frame, estimate, np.isinf(y), "is infinite", "Replace infinite values with null (or a finite value).")
    ru.check(frame, se_name, np.isinf(s), "is infinite (gives an infinite standard error)",
             "Set the standard error to null to leave the row unranked, or correct it.")
    ru.check(frame, se_name, s < 0, "gives a negative standard error",
             "Standard errors are at least 0; check the column (or that lower_ci <= upper_ci).")
    ru.check(frame, "se", np.isfinite(y) & np.isnan(s), f"is missing for rows that have a value (looked in {se_name})",
             f"Give every ranked row a standard error or limits (for counts: {_ADD_INTERVALS}), "
             "or filter those rows out: an area cannot be placed without its uncertainty.")
    tiebreak = None
    if key in frame.columns:
        dup = frame.select(pl.struct([*keys, key]).is_duplicated()).to_series().to_numpy()
        ru.check(frame, key, dup, f"is repeated within a group ({', '.join(keys) or 'whole frame'})",
                 "Each unit appears once per group: add the column that tells the rows apart to by=, "
                 "or filter the rows first.")
        tiebreak = frame.get_column(key).cast(pl.String).rank("dense").fill_null(0).to_numpy()
    ok = np.isfinite(y) & np.isfinite(s)
    h = frame.height
    out = {nm: np.full(h, -1, dtype=np.int64) for nm in ("rank", "rank_lower", "rank_upper", "n_ranked")}
    indexed = frame.select(keys).with_row_index("__row") if keys else pl.DataFrame({"__row": np.arange(h)})
    for part in ru.partitions(indexed, keys):
        rows = part.get_column("__row").to_numpy()
        use = rows[ok[rows]]
        out["n_ranked"][rows] = use.size
        if not use.size:
            continue
        group_desc = desc
        if per_group:
            ids = frame.get_column("indicator_id")[use.tolist()].unique().to_list()
            pols = {known[i].polarity for i in ids if i in known}
            if len(pols) > 1:
                raise DataError(problem("indicator_id", "mixes indicators of opposite polarity in one group",
                                        fix="Rank each indicator separately: keep indicator_id in by=."))
            group_desc = _descending(None, pols.pop() if pols else None, None)
        res = rank_sets(y[use], s[use], level=level, kind=kind, stepdown=stepdown, n_boot=n_boot, seed=seed,
                        descending=group_desc, tiebreak=None if tiebreak is None else tiebreak[use])
        out["rank"][use] = res.rank
        out["rank_lower"][use] = res.lower
        out["rank_upper"][use] = res.upper
    added = frame.with_columns(*[pl.Series(nm, v, dtype=pl.Int64) for nm, v in out.items()])
    return added.with_columns(*[pl.when(pl.col(nm) >= 0).then(pl.col(nm)).alias(nm)
                                for nm in ("rank", "rank_lower", "rank_upper")])


def top_k_set(
    frame: Any,
    k: int,
    indicator: Indicator | str | None = None,
    *,
    which: Literal["top", "bottom"] = "top",
    **options: Any,
) -> pl.DataFrame:
    """Which units could be, and which surely are, among the top (or bottom) k.

    The paper's confidence set for the tau-best (Mogstad, Romano, Shaikh & Wilhelm 2023,
    section 3.4; ``csranks::cstaubest``): with probability at least ``level`` every unit
    whose true rank is at most ``k`` has ``could_be_top_k`` true, and every unit with
    ``surely_top_k`` true has a true rank of at most ``k`` -- both statements together,
    because they are read off the simultaneous sets (``could_be_top_k = rank_lower <= k``,
    ``surely_top_k = rank_upper <= k``). For all units the one-sided family the paper uses
    for the tau-best is the same family of ordered pairs as the two-sided simultaneous sets,
    so the set is the same. ``which="bottom"`` gives ``could_be_bottom_k`` (``rank_upper >=
    n - k + 1``) and ``surely_bottom_k`` (``rank_lower >= n - k + 1``), ``csranks::cstauworst``.

    Parameters:
        frame: as :func:`rank_confidence_sets`.
        k: how many places count as the top (bottom); at least 1.
        indicator: the Indicator or its id.
        which: ``"top"`` or ``"bottom"``.
        options: any keyword of :func:`rank_confidence_sets` except ``kind``.

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0], "se": [1.0] * 4})
    >>> top_k_set(df, 1).select("area_code", "could_be_top_k", "surely_top_k").rows()
    [('A', False, False), ('B', False, False), ('C', True, False), ('D', True, False)]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataError(f"k must be a whole number of at least 1, not {k!r}.\nFix: e.g. k=5 for the top five.")
    if which not in ("top", "bottom"):
        raise DataError(f"which must be 'top' or 'bottom', not {which!r}.\nFix: which='top'.")
    if "kind" in options:
        raise DataError("top_k_set always uses simultaneous sets.\nFix: drop kind=.")
    out = rank_confidence_sets(frame, indicator, kind="simultaneous", **options)
    lo, hi, n = pl.col("rank_lower"), pl.col("rank_upper"), pl.col("n_ranked")
    if which == "top":
        return out.with_columns(could_be_top_k=lo <= k, surely_top_k=hi <= k)
    cut = n - k + 1
    return out.with_columns(could_be_bottom_k=hi >= cut, surely_bottom_k=lo >= cut)
