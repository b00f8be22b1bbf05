"""Simulated rank uncertainty: the honest league table.

:func:`rank_intervals` draws every unit's true value from its posterior (or its sampling
distribution), ranks the units within each simulation, and reports the median rank, the 95%
rank interval and the chance of being in the top or bottom 10% (Goldstein & Spiegelhalter 1996;
Marshall & Spiegelhalter 1998). Ties are ranked as ties: never by row order.

References: Goldstein H, Spiegelhalter DJ (1996) JRSS A 159:385; Marshall EC, Spiegelhalter DJ
(1998) BMJ 316:1701.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C"], "value": [10.0, 20.0, 30.0], "se": [0.1, 0.1, 0.1]})
    >>> rank_intervals(df, polarity="higher_is_better", n_sims=200).sort("area_code")["median_rank"].to_list()
    [3, 2, 1]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats._common import require_columns
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking.shrinkage import raise_missing_se, standard_errors

__all__ = ["rank_intervals", "simulate_ranks"]


# --------------------------------------------------------------------------------------
# Rank simulation
# --------------------------------------------------------------------------------------
_CHUNK = 250  # simulations per work item: bounds memory and keeps both cores busy
_THREADED = 1 << 20  # unit x simulations from which the default uses two threads
_KEYS = 1 << 17  # keys packed and sorted at a time (1 MB): they stay in the L2 cache
_ROWS = 16  # ... but at least this many simulations at a time


def _noise_check() -> bool:
    """Whether ``_tie_noise`` reproduces ``Generator.integers`` on this NumPy (checked once)."""
    global _NOISE_OK
    if _NOISE_OK is None:
        ok = True
        for pre in (0, 1):
            a = np.random.Generator(np.random.SFC64(7))
            b = np.random.Generator(np.random.SFC64(7))
            a.standard_normal(pre, dtype=np.float32)
            b.standard_normal(pre, dtype=np.float32)
            want = a.integers(0, 1 << 19, size=(3, 7), dtype=np.uint32).ravel()
            ok &= np.array_equal(_tie_noise(b, 13, np.arange(want.size)), want)
        _NOISE_OK = bool(ok)
    return _NOISE_OK


_NOISE_OK: bool | None = None


def _tie_noise(rng: np.random.Generator, width: int, at: np.ndarray) -> np.ndarray:
    """Entries ``at`` (flat positions, ascending) of ``rng.integers(0, 2**(32 - width), size, uint32)``.

    The bound is a power of two, so NumPy's Lemire method takes one 32-bit word per value and
    never rejects: value = word >> width, the words being the generator's buffered 32-bit
    stream (a word left over from earlier draws first, then the low and high halves of each
    64-bit output). Reading the raw outputs up to the last position needed gives the same
    numbers without building the whole array (``_noise_check`` confirms it once per process).
    """
    bg = rng.bit_generator
    state = bg.state
    need = int(at[-1]) + 1
    if state.get("has_uint32"):
        words = bg.random_raw(need // 2 + 1).view(np.uint32)
        out = words[np.maximum(at - 1, 0)]
        out[at == 0] = state["uinteger"]
    else:
        out = bg.random_raw((need + 1) // 2).view(np.uint32)[at]
    return out >> np.uint32(width)


def _chunk_ranks(
    draw: Callable[[np.random.Generator, int], np.ndarray],
    seed: np.random.SeedSequence,
    m: int,
    n: int,
    rank_dtype: Any,
    top_k: int,
    out_t: np.ndarray,
    col0: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ranks (0 = best) of m simulations of n units, written to out_t[:, col0:col0+m].

    Each draw is mapped to an order-preserving int32 (-0.0 first made +0.0, so equal values
    have equal keys), packed above the unit's index in an int64 and the rows sorted, about
    1 MB of keys (at least 16 simulations) at a time so that they stay in cache: one SIMD
    integer sort gives each simulation's order, and scattering 0..n-1 through that order gives
    the ranks. Exactly equal draws (units with no uncertainty, or float32 coincidences) are
    ordered at random, not by row, so tied units get identical rank distributions: when a
    chunk holds any, a random word is drawn for every (simulation, place) --
    ``rng.integers(0, 2**(32 - w), (m, n))`` with w = ceil(log2 n) -- and the units of each
    run of equal draws are put in the order of (word at their place, index). Only the tied places are reordered (a few per
    simulation), which gives the same ranks as sorting every row again on (draw, word,
    index); should the words also tie, the lower index goes first.
    """
    rng = np.random.Generator(np.random.SFC64(seed))
    # float32 (m, n), smaller = better; a sampler marked blockwise gives the same numbers
    # drawn a block of rows at a time, so they are used while still in cache
    blockwise = getattr(draw, "blockwise", False)
    x = None if blockwise else draw(rng, m)
    rows = max(1, min(m, max(_ROWS, _KEYS // n), (2**31 - 1) // n))  # few units: many simulations at once
    keys = np.empty((rows, n), dtype=np.int64)
    halves = keys.view(np.int32).reshape(rows, n, 2)  # little-endian: [..., 1] is the high word
    high = np.empty((rows, n), dtype=np.int32)
    order = np.empty((rows, n), dtype=np.intp)
    offsets = (np.arange(rows, dtype=np.intp) * n)[:, None]
    flat = (offsets + np.arange(n)).astype(np.int32)  # unit index + row x n: sorts as the index
    places = np.tile(np.arange(n, dtype=rank_dtype), rows)
    ranks = np.empty((m, n), dtype=rank_dtype)
    top = np.zeros(n, dtype=np.int64)
    bottom = np.zeros(n, dtype=np.int64)
    # each pair of equal neighbouring draws: the flat (simulation x n + place) position of the
    # first, and the units at that place and the next (as sorted by index)
    tied_pairs: list[np.ndarray] = []
    tied_units: list[np.ndarray] = []
    for r0 in range(0, m, rows):
        mb = min(rows, m - r0)
        kb, hb, h, ob = keys[:mb], halves[:mb], high[:mb], order[:mb]
        xb = draw(rng, mb) if x is None else x[r0 : r0 + mb]
        xb += np.float32(0.0)  # -0.0 + 0.0 = +0.0: one key for zero
        b = xb.view(np.int32)
        np.right_shift(b, 31, out=h)
        h &= np.int32(0x7FFFFFFF)
        np.bitwise_xor(h, b, out=hb[..., 1])  # negative floats: flip magnitude bits so integer order = float order
        hb[..., 0] = flat[:mb]
        kb.sort(axis=1)
        np.bitwise_and(kb, 0xFFFFFFFF, out=ob)  # flat positions in the block, in sorted order
        if n > 1:
            hs = hb[..., 1]
            eq = hs[:, 1:] == hs[:, :-1]
            at = np.flatnonzero(eq)
            if at.size:
                row, place = np.divmod(at, n - 1)
                pairs = row * n + place  # the first of each pair of equal neighbours
                obf, base = ob.ravel(), row * n
                tied_pairs.append(pairs + r0 * n)
                tied_units.append(np.stack([obf[pairs] - base, obf[pairs + 1] - base]))
        top += np.bincount((ob[:, :top_k] - offsets[:mb]).ravel(), minlength=n)
        bottom += np.bincount((ob[:, n - top_k :] - offsets[:mb]).ravel(), minlength=n)
        ranks[r0 : r0 + mb].ravel()[ob.ravel()] = places[: mb * n]
    if tied_pairs:
        # the places of tied draws, the unit at each and whether it begins a run of equal draws
        # (pairs never span two simulations: the first of a pair is never a simulation's last place)
        pairs = np.concatenate(tied_pairs)
        both = np.concatenate(tied_units, axis=1)
        at, first_seen = np.unique(np.concatenate([pairs, pairs + 1]), return_index=True)
        tied_unit = np.concatenate([both[0], both[1]])[first_seen]
        tied_first = ~np.isin(at - 1, pairs)
        width = max(1, (n - 1).bit_length())
        if _noise_check():
            words = _tie_noise(rng, width, at)
        else:  # pragma: no cover - a NumPy whose integers() no longer works as _tie_noise assumes
            words = rng.integers(0, 1 << (32 - width), size=(m, n), dtype=np.uint32).ravel()[at]
        unit = tied_unit
        run = np.cumsum(tied_first)
        tiebreak = (words.astype(np.uint64) << np.uint64(width)) | unit.astype(np.uint64)
        new = unit[np.lexsort((tiebreak, run))]
        sim, place = np.divmod(at, n)
        ranks[sim, new] = place
        for counts, hit in ((top, place < top_k), (bottom, place >= n - top_k)):
            np.subtract.at(counts, unit[hit], 1)
            np.add.at(counts, new[hit], 1)
    for u0 in range(0, n, 512):  # a block of units at a time: its rows of out_t stay in cache
        out_t[u0 : u0 + 512, col0 : col0 + m] = ranks[:, u0 : u0 + 512].T
    return top, bottom


def simulate_ranks(
    draw: Callable[[np.random.Generator, int], np.ndarray],
    n_units: int,
    n_sims: int = 10_000,
    *,
    seed: int | np.random.SeedSequence | None = None,
    top: float = 0.1,
    level: float = 0.95,
    threads: int | None = None,
    return_ranks: bool = False,
    groups: Any = None,
) -> dict[str, np.ndarray]:
    """Exact simulated ranks: median, interval and top/bottom probabilities per unit.

    ``draw(rng, m)`` returns an (m, n_units) float32 array of simulated true values for m
    simulations, oriented so that *smaller is better* (rank 1). Within each simulation units
    are ranked exactly; exactly equal draws (a unit with no uncertainty, or float32
    coincidences) are ordered at random, never by row, so tied units have the same chance of
    every place and P(top) is shared equally between them. Work is split
    into chunks of 250 simulations, each with its own child SeedSequence, so results do not
    depend on the number of threads. Per unit, the ranks are radix-sorted and the interval
    read as inverted-CDF quantiles (the smallest rank r with P(rank <= r) >= q).

    Parameters:
        draw: the sampler described above.
        n_units: number of units.
        n_sims: number of simulations.
        seed: seed or SeedSequence for reproducibility.
        top: fraction defining "top" and "bottom": rank <= ceil(top x n).
        level: rank-interval coverage.
        threads: worker threads (default: up to 2, the cores this is tuned for; 1 below a
            million unit x simulations, where a pool costs more than it saves).
        return_ranks: also return the (n_units, n_sims) rank matrix (1 = best), for tests.
        groups: optional label per unit; units sharing a label have the same distribution
            (exchangeable: the same value and uncertainty), so their summaries are computed
            from their pooled simulated ranks and are identical -- tied units are reported
            as ties, with no Monte Carlo flicker between them.

    Returns arrays ``median_rank``, ``rank_lower``, ``rank_upper``, ``p_top``, ``p_bottom``.
    Memory: 2 bytes per unit x simulation (4 beyond 32,767 units) plus ~20 MB per thread.

    >>> mu = np.array([0.0, 1.0, 2.0], dtype=np.float32)
    >>> out = simulate_ranks(lambda rng, m: mu + 0.01 * rng.standard_normal((m, 3), dtype=np.float32),
    ...                      3, 1000, seed=1)
    >>> out["median_rank"].tolist(), out["p_top"].tolist()
    ([1, 2, 3], [1.0, 0.0, 0.0])
    """
    n = int(n_units)
    if n < 1 or n_sims < 1:
        raise DataError("rank simulation needs at least one unit and one simulation.\nFix: check the inputs.")
    rank_dtype = np.int16 if n <= np.iinfo(np.int16).max else np.int32
    top_k = max(1, math.ceil(top * n))
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    starts = list(range(0, n_sims, _CHUNK))
    children = ss.spawn(len(starts))
    ranks_t = np.empty((n, n_sims), dtype=rank_dtype)
    # below ~1M unit x simulations a thread pool costs more CPU than it saves (the answer is
    # the same with any number of threads: each chunk has its own seed)
    threads = threads or (min(2, os.cpu_count() or 1) if n * n_sims >= _THREADED else 1)

    def work(i: int) -> tuple[np.ndarray, np.ndarray]:
        c0 = starts[i]
        m = min(_CHUNK, n_sims - c0)
        return _chunk_ranks(draw, children[i], m, n, rank_dtype, top_k, ranks_t, c0)

    if threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(threads) as ex:
            counts = list(ex.map(work, range(len(starts))))
    else:
        counts = [work(i) for i in range(len(starts))]
    top_n = np.sum([c[0] for c in counts], axis=0)
    bottom_n = np.sum([c[1] for c in counts], axis=0)
    # inverted-CDF quantile positions in each unit's sorted ranks
    probs = np.array([(1 - level) / 2, 0.5, 1 - (1 - level) / 2])
    pos = np.maximum(np.ceil(probs * n_sims - 1e-9).astype(np.int64) - 1, 0)
    quant = np.empty((n, 3), dtype=np.int64)
    block = max(1, (1 << 22) // n_sims)

    def agg(lo: int) -> None:
        hi = min(lo + block, n)
        # stable sort of 16-bit integers is a radix sort: linear time
        srt = np.sort(ranks_t[lo:hi], axis=1, kind="stable")
        quant[lo:hi] = srt[:, pos]

    blocks = range(0, n, block)
    if threads > 1 and n > block:
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(agg, blocks))
    else:
        for lo in blocks:
            agg(lo)
    p_top, p_bottom = top_n / n_sims, bottom_n / n_sims
    if groups is not None:
        _pool_exchangeable(np.asarray(groups), ranks_t, probs, quant, p_top, p_bottom)
    out = {
        "median_rank": quant[:, 1] + 1,
        "rank_lower": quant[:, 0] + 1,
        "rank_upper": quant[:, 2] + 1,
        "p_top": p_top,
        "p_bottom": p_bottom,
    }
    if return_ranks:
        out["ranks"] = ranks_t.astype(np.int32) + 1
    return out


def _pool_exchangeable(
    labels: np.ndarray, ranks_t: np.ndarray, probs: np.ndarray, quant: np.ndarray, p_top: np.ndarray, p_bottom: np.ndarray
) -> None:
    """Give units with the same label the summaries of their pooled simulated ranks (in place).

    One pass per group of two or more exchangeable units (a handful of tie groups, not rows).
    """
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    tied = np.flatnonzero(counts[inv] > 1)
    if tied.size == 0:
        return
    tied = tied[np.argsort(inv[tied], kind="stable")]
    for members in np.split(tied, np.flatnonzero(np.diff(inv[tied])) + 1):
        pooled = np.sort(ranks_t[members].ravel(), kind="stable")
        pos = np.maximum(np.ceil(probs * pooled.size - 1e-9).astype(np.int64) - 1, 0)
        quant[members] = pooled[pos]
        p_top[members] = p_top[members].mean()
        p_bottom[members] = p_bottom[members].mean()


def _blockwise(draw: Callable[[np.random.Generator, int], np.ndarray]) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Mark a sampler whose m rows are the rows of successive smaller calls, in order (one
    stream of draws filled row by row): :func:`_chunk_ranks` then draws a block at a time."""
    draw.blockwise = True  # type: ignore[attr-defined]
    return draw


def _normal_sampler(mean: np.ndarray, sd: np.ndarray, sign: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    # a common affine map keeps ranks and spreads values over float32's resolution (fewer ties)
    centre = float(np.median(mean)) if mean.size else 0.0  # no unit to rank: no median of nothing (a NumPy warning)
    scale = float(np.median(sd[sd > 0])) if np.any(sd > 0) else 1.0
    mu = (sign * (mean - centre) / scale).astype(np.float32)
    s = (sd / scale).astype(np.float32)

    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        x = rng.standard_normal((m, mu.size), dtype=np.float32)
        x *= s
        x += mu
        return x

    return _blockwise(draw)


def _gamma_sampler(shape: np.ndarray, rate: np.ndarray, sign: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    inv = (sign / rate).astype(np.float32)

    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        x = rng.standard_gamma(np.broadcast_to(shape, (m, shape.size)), dtype=np.float32)
        x *= inv
        return x

    return _blockwise(draw)


def _beta_sampler(a: np.ndarray, b: np.ndarray, sign: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        ga = rng.standard_gamma(np.broadcast_to(a, (m, a.size)), dtype=np.float32)
        gb = rng.standard_gamma(np.broadcast_to(b, (m, b.size)), dtype=np.float32)
        gb += ga
        ga /= gb
        if sign < 0:
            np.negative(ga, out=ga)
        return ga

    return draw


def rank_intervals(
    frame: Any,
    indicator: Indicator | str | None = None,
    *,
    n_sims: int = 10_000,
    seed: int | None = 0,
    top: float = 0.1,
    level: float = 0.95,
    draws: Literal["auto", "posterior", "normal"] = "auto",
    polarity: str | None = None,
    by: Sequence[str] | str | None = None,
    key: str = "area_code",
    indicators: Mapping[str, Indicator] | None = None,
    threads: int | None = None,
    missing_se: Literal["raise", "skip"] = "raise",
) -> pl.DataFrame:
    """Rank uncertainty by simulation: median rank, 95% rank interval, P(top / bottom 10%).

    Each unit's true value is drawn ``n_sims`` times -- from its posterior when the frame
    comes from :func:`shrink` (``posterior`` columns: beta, gamma or normal); for a
    proportion, rate or ratio with counts for every valued unit (and no ``se`` column), from
    its Jeffreys distribution Beta(x + 1/2, n - x + 1/2) or Gamma(x + 1/2, rate n) (the
    distribution behind Jeffreys intervals; Brown, Cai & DasGupta 2001), which stays inside
    0-100% and is not degenerate at 0% or 100%; otherwise from N(value, se^2), se taken row by
    row from an ``se`` column, else ``lower_ci``/``upper_ci`` (read as 95%), else the counts
    (dsr: value / sqrt(events), Dobson et al. 1991) -- and units are ranked within every
    simulation (1 = best by the indicator's polarity; without a direction --
    ``no_judgement`` -- rank 1 is simply the highest value, which is an order, not a
    judgement). Goldstein H, Spiegelhalter DJ (1996) JRSS A 159:385; Marshall EC,
    Spiegelhalter DJ (1998) BMJ 316:1701. Ranks are exact (see :func:`simulate_ranks`).

    Ties: ``rank`` is the competition rank of the point estimate ("1224": tied units share
    the best of their places, the PHE/Fingertips convention; -0.0 equals 0.0). In the
    simulations exactly equal draws are ordered at random, never by row, and units with the
    same value and uncertainty get the summaries of their pooled simulations, so tied units
    have identical median ranks, intervals and P(top), and no answer depends on row order.

    Parameters:
        frame: output of :func:`shrink`, or a values frame / Dataset.
        indicator: the Indicator or its id (for polarity and measure).
        n_sims: simulations.
        seed: random seed (results are reproducible for a given seed).
        top: the "top" and "bottom" fraction (rank <= ceil(top x n)).
        level: rank-interval coverage (columns ``rank_lower_95``/``rank_upper_95`` at 0.95,
            ``rank_lower``/``rank_upper`` otherwise).
        draws: ``"auto"`` (as above), ``"posterior"`` (shrink() output required) or
            ``"normal"`` (always N(value, se^2), even with counts).
        polarity: overrides the indicator's.
        by: grouping columns (default indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category): units are ranked only
            against the others of their group, and the group columns are kept.
        key: unit column, kept in the output.
        threads: worker threads.
        missing_se: a unit with a value but no standard error either raises a DataError
            naming it (``"raise"``) or is kept unranked (``"skip"``; not counted in
            ``n_ranked``).

    Returns one row per unit: the group and key columns, ``value``, ``rank`` (of the point
    estimate), ``median_rank``, the rank interval, ``p_top``, ``p_bottom`` and ``n_ranked``.
    Units with no value are kept with null ranks and not counted in ``n_ranked``.

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0],
    ...                    "se": [1.0, 1.0, 1.0, 1.0]})
    >>> r = rank_intervals(df, polarity="higher_is_better", n_sims=2000, seed=1)
    >>> r["median_rank"].to_list(), r["rank_lower_95"].to_list()
    ([4, 3, 2, 1], [3, 3, 1, 1])
    """
    frame, ind = ru.resolve(frame, indicator, indicators)
    polarity = polarity or (ind.polarity if ind else "no_judgement")
    if polarity not in ("higher_is_better", "lower_is_better", "no_judgement"):
        raise DataError(f"unknown polarity {polarity!r}.\nFix: use higher_is_better, lower_is_better or no_judgement.")
    if n_sims < 1:
        raise DataError(f"n_sims must be at least 1, not {n_sims}.\nFix: e.g. n_sims=10000.")
    if not 0 < top < 1:
        raise DataError(f"top must lie between 0 and 1, not {top!r}.\nFix: e.g. top=0.1.")
    if missing_se not in ("raise", "skip"):
        raise DataError(f"missing_se must be 'raise' or 'skip', not {missing_se!r}.\nFix: use one of those.")
    sign = 1.0 if polarity == "lower_is_better" else -1.0  # the engine ranks smallest first
    use_post = draws == "posterior" or (draws == "auto" and "posterior" in frame.columns)
    keys = ru.group_keys(frame, by)
    ss = np.random.SeedSequence(seed)
    parts = []
    for part in ru.partitions(frame, keys):
        parts.append(
            _rank_group(
                part, keys, key, use_post, sign, n_sims, ss.spawn(1)[0], top, level, ind, threads, missing_se, draws == "auto"
            )
        )
    return pl.concat(parts, how="vertical")


def _exchangeable(*params: np.ndarray) -> np.ndarray:
    """A label per unit: equal labels for units whose sampling parameters are all equal."""
    stacked = np.stack([np.asarray(p, dtype=np.float64) + 0.0 for p in params], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()


def _group_sampler(
    frame: pl.DataFrame, use_post: bool, sign: float, ind: Indicator | None, missing_se: str = "raise", jeffreys: bool = True
):
    """(point estimate, usable mask, sampler over the usable units, exchangeable labels)."""
    if use_post:
        require_columns(frame, ["posterior", "posterior_a", "posterior_b"], "draws='posterior' needs the output of shrink()")
        fams = frame.get_column("posterior").drop_nulls().unique().to_list()
        if len(fams) > 1:
            raise DataError(
                problem("posterior", f"mixes families {fams} within one group", fix="Rank each indicator separately (by=...).")
            )
        a = ru.numeric(frame, "posterior_a", allow_null=True)
        b = ru.numeric(frame, "posterior_b", allow_null=True)
        ok = np.isfinite(a) & np.isfinite(b)
        fam = fams[0] if fams else "normal"
        if fam == "beta":
            point = a / (a + b)
            sampler = _beta_sampler(a[ok], b[ok], sign)
        elif fam == "gamma":
            point = a / b
            sampler = _gamma_sampler(a[ok], b[ok], sign)
        else:
            point = a
            sampler = _normal_sampler(a[ok], b[ok], sign)
        return point, ok, sampler, _exchangeable(a[ok], b[ok])
    require_columns(frame, ["value"], "rank intervals need a value column (or shrink() output)")
    y = ru.numeric(frame, "value", allow_null=True)
    measure = ind.measure if ind is not None else None
    counted = {"numerator", "denominator"} <= set(frame.columns)
    if jeffreys and measure in ("proportion", "rate", "ratio") and "se" not in frame.columns and counted:
        x = ru.numeric(frame, "numerator", allow_null=True)
        n = ru.numeric(frame, "denominator", allow_null=True)
        has = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
        if has[np.isfinite(y)].all() and has.any():  # counts for every valued unit: their Jeffreys distributions
            ok = np.isfinite(y) & has
            if measure == "proportion":
                ru.check(
                    frame,
                    "numerator",
                    ok & (x > n),
                    "exceeds the denominator",
                    "A proportion's numerator cannot exceed its denominator.",
                )
                sampler = _beta_sampler(x[ok] + 0.5, n[ok] - x[ok] + 0.5, sign)
            else:
                sampler = _gamma_sampler(x[ok] + 0.5, n[ok], sign)
            return y, ok, sampler, _exchangeable(x[ok], n[ok])
    se, _ = standard_errors(frame, measure, ind.multiplier if ind is not None else 1.0)
    counts = measure in ("proportion", "rate", "ratio", "dsr") and "numerator" in frame.columns
    if not ({"se"} <= set(frame.columns) or {"lower_ci", "upper_ci"} <= set(frame.columns) or counts):
        raise SchemaError(
            problem(
                "se",
                "is missing (needed to simulate each unit's value)",
                fix="Add se, or lower_ci/upper_ci, or counts with a count-based indicator, or run shrink() first.",
            )
        )
    if missing_se == "raise":
        raise_missing_se(frame, np.isfinite(y) & ~np.isfinite(se), measure, "rank intervals simulate each value from it")
    ru.check(frame, "se", np.isfinite(y) & (se < 0), "is negative", "Standard errors (and intervals) cannot be negative.")
    ok = np.isfinite(y) & np.isfinite(se)
    return y, ok, _normal_sampler(y[ok], se[ok], sign), _exchangeable(y[ok], se[ok])


def _rank_group(frame, keys, key, use_post, sign, n_sims, seed, top, level, ind, threads, missing_se="raise", jeffreys=True):
    point, ok, sampler, labels = _group_sampler(frame, use_post, sign, ind, missing_se, jeffreys)
    n_ok = int(ok.sum())
    h = frame.height
    cols = {nm: np.full(h, np.nan) for nm in ("rank", "median_rank", "rank_lower", "rank_upper", "p_top", "p_bottom")}
    if n_ok:
        res = simulate_ranks(sampler, n_ok, n_sims, seed=seed, top=top, level=level, threads=threads, groups=labels)
        cols["rank"][ok] = ru.min_ranks(sign * point[ok] + 0.0)
        cols["median_rank"][ok] = res["median_rank"]
        cols["rank_lower"][ok] = res["rank_lower"]
        cols["rank_upper"][ok] = res["rank_upper"]
        cols["p_top"][ok] = res["p_top"]
        cols["p_bottom"][ok] = res["p_bottom"]
    sfx = "_95" if abs(level - 0.95) < 1e-12 else ""
    keep = [c for c in (*keys, key) if c in frame.columns]
    shown = frame.get_column("value") if "value" in frame.columns else pl.Series("value", point, nan_to_null=True)
    out = frame.select(keep).with_columns(
        shown.alias("value"),
        *[
            pl.Series(nm if nm.startswith("p_") or nm in ("rank", "median_rank") else nm + sfx, v, nan_to_null=True).cast(
                pl.Int64 if not nm.startswith("p_") else pl.Float64
            )
            for nm, v in cols.items()
        ],
        pl.lit(n_ok, dtype=pl.Int64).alias("n_ranked"),
    )
    return out
