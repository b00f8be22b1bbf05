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
# units with the most extreme draws whose pairs are evaluated (simultaneous): 3 is the quickest,
# its bound still settles all but a draw or so per step
_M_SIMUL = 3
_M_MARGINAL = 10  # the same for marginal sets
_CACHE = 1 << 22  # cache the candidate pair statistics across stepdown steps up to this many
# up to this many units the pairwise sqrt(se_j^2 + se_k^2) is kept as a matrix; above about
# 1,500 units, making the matrix (page faults included) costs more than gathering from it saves
_DEN_N = 1500
_SAFE = 1.0 + 1e-9  # inflate the pruning bounds: floating-point rounding cannot beat them
_NEG = -np.inf
_BAND = 0.1  # pairs kept for the next stepdown steps: |t| within 10% below the critical value
_BAND_MAX = 1 << 22  # at most this many of them (64 MB)
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


def _largest(a: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``a`` (|standard normal| draws), the columns of its k largest values, largest
    first. Only the values above a threshold that about 4k of a row's n exceed are sorted (rows
    with fewer than k above it fall back to a partition of the whole row). Which of exactly
    equal values is taken does not matter: the bounds built on them are the same."""
    from statistics import NormalDist

    b, n = a.shape
    if n < max(1000, 32 * k):  # a partition is as quick
        return _largest_partition(a, k)
    cut = NormalDist().inv_cdf(1 - 2 * k / n)  # P(|e| > cut) = 4k / n
    rows, cols = np.nonzero(a > cut)
    counts = np.bincount(rows, minlength=b)
    width = int(counts.max()) if counts.size else 0
    if width < k:
        return _largest_partition(a, k)
    # each row's values above the cut, left-aligned in a small (b, width) matrix padded with -1
    slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    vals = np.full((b, width), -1.0)
    where = np.zeros((b, width), dtype=np.intp)
    vals[rows, slot] = a[rows, cols]
    where[rows, slot] = cols
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    out = np.take_along_axis(where, order, 1)
    short = counts < k
    if short.any():  # a row with too few values above the cut
        out[short] = _largest_partition(a[short], k)
    return out


def _largest_partition(a: np.ndarray, k: int) -> np.ndarray:
    n = a.shape[1]
    part = np.argpartition(a, n - k, axis=1)[:, n - k :]
    return np.take_along_axis(part, np.argsort(-np.take_along_axis(a, part, 1), axis=1, kind="stable"), 1)


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
        a = np.abs(e, out=e)  # e is not needed again
        part = _largest(a, m + 2)
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
            self._cache = self._candidates(slice(0, n_boot), None)

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

    def _candidates(self, b: slice | np.ndarray, cols: np.ndarray | None) -> np.ndarray:
        """D[i, q, k] = (x[b_i, top[b_i, q]] - x[b_i, k]) / sd(top[b_i, q], k) for the draws b
        (a slice or an array of draw indices)."""
        if self._cache is not None:
            block = self._cache[b]
            return block if cols is None else block[:, :, cols]
        assert self.top is not None  # no top m means every pair is evaluated, without candidates
        top = self.top[b]
        x = self.x[b]
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


def _pair_argmax(d: np.ndarray, forward: np.ndarray, backward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw (axis 0): the largest of d where the forward order is under test and of -d
    where the backward one is, and its flat position (a (q, k) entry: below q x k the forward
    order, from q x k up the backward one); -inf where nothing is under test."""
    rows = np.arange(d.shape[0])
    hi = np.where(forward, d, _NEG).reshape(d.shape[0], -1)
    lo = np.where(backward, d, np.inf).reshape(d.shape[0], -1)
    at_hi, at_lo = hi.argmax(axis=1), lo.argmin(axis=1)
    best_hi, best_lo = hi[rows, at_hi], -lo[rows, at_lo]
    first = best_hi >= best_lo  # as the first largest of [hi, -lo]: forward wins a tie
    return np.where(first, best_hi, best_lo), np.where(first, at_hi, hi.shape[1] + at_lo)


class _Candidates:
    """Per draw, the largest candidate statistic (pairs of a top-m unit) and the pair it came
    from, kept across stepdown steps: the pairs under test only shrink, so while a draw's
    maximising pair is still under test its maximum is unchanged, exactly, and only the draws
    whose pair was just rejected are evaluated again."""

    def __init__(self, dr: _Draws) -> None:
        assert dr.top is not None
        self.value = np.empty(dr.B)
        self.at = np.zeros(dr.B, dtype=np.int64)
        self.fresh = False

    def update(self, dr: _Draws, active: np.ndarray, active_t: np.ndarray) -> np.ndarray:
        assert dr.top is not None
        m, n = dr.top.shape[1], dr.n
        if not self.fresh:
            redo = np.arange(dr.B)
            self.fresh = True
        else:
            q, k = np.divmod(self.at % (m * n), n)
            j = dr.top[np.arange(dr.B), q]
            forward = self.at < m * n
            still = np.where(forward, active[j, k], active_t[j, k])
            redo = np.flatnonzero(~still & (self.value > _NEG))
        db = max(1, _BLOCK // (m * n))
        for i0 in range(0, redo.size, db):
            b = redo[i0 : i0 + db]
            if b.size == b[-1] - b[0] + 1:  # a run of draws: a view, not a copy
                b = slice(int(b[0]), int(b[-1]) + 1)  # type: ignore[assignment]
            top = dr.top[b]
            self.value[b], self.at[b] = _pair_argmax(dr._candidates(b, None), active[top], active_t[top])
        return self.value


def _simul_critical(dr: _Draws, active: np.ndarray, active_t: np.ndarray | None, r: int, cands: _Candidates | None) -> float:
    """The r-th smallest, over draws, of the largest statistic over the ordered pairs under test.

    ``active_t`` is ``active`` transposed (kept up to date by the caller, not transposed here);
    ``cands`` carries each draw's candidate maximum from the previous step."""
    if dr.top is None:
        t = _simul_full(dr, np.arange(dr.B), active)
    else:
        assert active_t is not None and cands is not None
        cand = cands.update(dr, active, active_t)
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
            d = dr._candidates(slice(b0, b1), None if nj == n else jrows)
            cand[b0:b1] = _pair_max(d, act_ct[top], act_rt[top], axis=1)
        bound = dr.bound[:, jrows]
        t = _resolve(dr, cand, bound, r, lambda ij: _marg_full(dr, ij[0], ij[1], jrows, act_r, act_c))
    return np.maximum(_kth(t, r), 0.0)


def _tstats(
    y: np.ndarray, v: np.ndarray, rows: np.ndarray | slice, exact_pairs: bool = True, cols: slice = slice(None)
) -> np.ndarray:
    """t[j, k] = (y_j - y_k) / sqrt(v_j + v_k) for j in rows (and k in cols); two exactly known
    values are ordered with certainty (+-inf) unless equal (0). ``exact_pairs=False`` (at most
    one unit known exactly) skips that step: 0/0 can then only be a unit paired with itself."""
    t = np.subtract(y[rows, None], y[None, cols])
    den = np.add(v[rows, None], v[None, cols])
    np.sqrt(den, out=den)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(t, den, out=t)
    if exact_pairs:
        t[np.isnan(t)] = 0.0
    return t


def _near_band(y: np.ndarray, v: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """For y sorted ascending: per unit j, the units [lo_j, hi_j) so close to it that
    |t[j, k]| < c for certain, so the pair cannot be rejected at critical value c.

    |y_j - y_k| <= delta_j = c sqrt(v_j + min v) gives |t[j, k]| <= c; delta is shrunk by a
    relative 1e-9 and by a few units in the last place of the largest |y|, so that the rounding
    of y_j -+ delta, of the differences and of the square roots cannot carry a pair across."""
    lo = np.zeros(y.size, dtype=np.int64)
    hi = np.zeros(y.size, dtype=np.int64)
    if not math.isfinite(c) or c <= 0:
        return lo, hi
    slack = 8 * np.finfo(np.float64).eps * float(np.abs(y).max())
    delta = c * np.sqrt(v + v.min()) * (1 - 1e-9) - slack
    ok = delta > 0
    lo[ok] = np.searchsorted(y, y[ok] - delta[ok], side="left")
    hi[ok] = np.searchsorted(y, y[ok] + delta[ok], side="right")
    return lo, np.maximum(hi, lo)


Band = tuple[np.ndarray, np.ndarray]  # flat positions j x n + k of some pairs, and their t[j, k]


def _reject_rows(
    y: np.ndarray,
    dr: _Draws,
    c: float,
    rows: slice,
    lo: np.ndarray,
    hi: np.ndarray,
    active: np.ndarray,
    active_t: np.ndarray | None,
    record: list[Band] | None = None,
    c_lo: float = 0.0,
) -> bool:
    """Reject the pairs (j, k), j in rows, still under test with t[j, k] > c (and, in
    ``active_t``, those with t[k, j] = -t[j, k] > c); whether any (j, k) was rejected.

    Only the pairs outside each unit's near band [lo_j, hi_j) (see :func:`_near_band`) are
    evaluated: as one block of columns when the bands overlap enough, else gathered pair by
    pair. With ``record``, the pairs with c_lo < |t| <= c (the only ones later steps with a
    critical value of at least c_lo can reject) are appended to it.
    """
    n = y.size
    left, right = int(lo.max()), int(hi.min())
    count = lo + (n - hi)  # pairs outside the band, per row
    total = int(count.sum())
    new_any = False
    if 2 * total >= (rows.stop - rows.start) * n or left >= right:
        spans = [slice(0, n)] if left >= right else [slice(0, left), slice(right, n)]
        for cols in spans:
            if cols.start == cols.stop:
                continue
            t = _tstats(y, dr.v, rows, dr.exact_pairs, cols)
            new = t > c
            new &= active[rows, cols]
            if new.any():
                active[rows, cols] &= ~new
                new_any = True
            if active_t is not None:  # (k, j) rejected: t[k, j] = -t[j, k] > c, i.e. t[j, k] < -c
                np.less(t, -c, out=new)
                active_t[rows, cols] &= ~new
            if record is not None:
                size = np.abs(t)
                jj, kk = np.nonzero((size > c_lo) & (size <= c))
                record.append(((jj + rows.start) * n + (kk + cols.start), t[jj, kk]))
        return new_any
    if not total:
        return False
    # the columns [0, lo_j) then [hi_j, n) of each row j, flattened
    seg_len = np.stack([lo, n - hi], axis=1).ravel()
    seg_start = np.stack([np.zeros_like(lo), hi], axis=1).ravel()
    ends = np.cumsum(seg_len)
    cols = np.arange(total) + np.repeat(seg_start - (ends - seg_len), seg_len)
    j = np.repeat(np.arange(rows.start, rows.stop), count)
    d = y[j] - y[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d / np.sqrt(dr.v[j] + dr.v[cols])
    if dr.exact_pairs:
        t[np.isnan(t)] = 0.0
    flat = j * n + cols
    new_any = _reject_pairs((flat, t), c, active, active_t)
    if record is not None:
        size = np.abs(t)
        keep = (size > c_lo) & (size <= c)
        record.append((flat[keep], t[keep]))
    return new_any


def _reject_pairs(pairs: Band, c: float, active: np.ndarray, active_t: np.ndarray | None) -> bool:
    """:func:`_reject_rows` for listed pairs (flat positions and their t)."""
    flat, t = pairs
    act = active.reshape(-1)
    hit = flat[(t > c) & act[flat]]
    if hit.size:
        act[hit] = False
    if active_t is not None:
        active_t.reshape(-1)[flat[t < -c]] = False
    return bool(hit.size)


def _simultaneous(y: np.ndarray, dr: _Draws, r: int, stepdown: bool) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The stepdown over all ordered pairs: per unit, (#{k: theta_k > theta_j shown},
    #{k: theta_k < theta_j shown}) and the critical value of each step.

    The pairs still under test are kept as ``active[j, k]`` (H(j,k) not rejected) and its
    transpose ``active_t``, both updated from the same t-statistics: t[k, j] = -t[j, k]
    exactly in floating point, so a (k, j) rejection is read off row j as -t[j, k] > c.
    Critical values never rise from step to step (the pairs under test only shrink), so a step
    can reject only pairs with c_s < |t| <= c_{s-1}: a step that evaluates every pair keeps
    those with |t| within ``_BAND`` below its critical value, and the next steps test just
    those, as long as their critical value stays within the band (else every pair again).
    """
    n = y.size
    active = np.ones((n, n), dtype=bool)
    np.fill_diagonal(active, False)
    active_t = active.copy() if dr.top is not None else None
    cands = _Candidates(dr) if dr.top is not None else None
    crit: list[float] = []
    rb = max(1, min(n, _BLOCK // max(n, 1)))
    band: Band | None = None  # pairs with band_lo < |t| <= the last critical value
    band_lo = math.inf
    while True:
        c = _simul_critical(dr, active, active_t, r, cands)
        crit.append(c)
        if band is not None and c >= band_lo:
            new_any = _reject_pairs(band, c, active, active_t)
            keep = np.abs(band[1]) <= c
            band = (band[0][keep], band[1][keep])
        else:
            record: list[Band] | None = [] if stepdown else None
            band_lo = c * (1 - _BAND) if record is not None else c
            new_any = False
            lo, hi = _near_band(y, dr.v, band_lo)  # y is sorted: each unit's near neighbours cannot be rejected
            kept = 0
            for r0 in range(0, n, rb):
                rows = slice(r0, min(n, r0 + rb))
                before = len(record) if record is not None else 0
                new_any |= _reject_rows(y, dr, c, rows, lo[rows], hi[rows], active, active_t, record, band_lo)
                if record is not None:
                    kept += sum(p[0].size for p in record[before:])
                    if kept > _BAND_MAX:
                        record = None  # too many to keep: the next step evaluates every pair again
            if record is None:
                band = None
            else:
                band = (
                    np.concatenate([np.zeros(0, dtype=np.int64), *(p[0] for p in record)]),
                    np.concatenate([np.zeros(0), *(p[1] for p in record)]),
                )
        if not new_any or not stepdown:
            # rejected = not under test, off the diagonal
            below = (n - 1) - np.count_nonzero(active, axis=1)
            above = (
                (n - 1) - np.count_nonzero(active, axis=0) if active_t is None else (n - 1) - np.count_nonzero(active_t, axis=1)
            )
            return above, below, crit


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
            above, below, crit = _simultaneous(ys, dr, r, stepdown)
            critical, steps = np.asarray(crit), len(crit)
        else:
            above, below, first, steps = _marginal(ys, dr, r, stepdown)
            critical = np.empty(n)
            critical[order] = first
    lower = np.empty(n, dtype=np.int64)
    upper = np.empty(n, dtype=np.int64)
    lower[order] = 1 + above
    upper[order] = n - below
    return RankSets(rank, lower, upper, critical, steps)
