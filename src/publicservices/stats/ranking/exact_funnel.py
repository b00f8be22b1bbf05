"""Spiegelhalter (2005): exact funnel limits with interpolation, exact tail tests, over-dispersion.

References: Spiegelhalter DJ (2005) Funnel plots for comparing institutional performance.
Stat Med 24:1185-1202; Spiegelhalter DJ (2005) Handling over-dispersion of performance
indicators. Qual Saf Health Care 14:347-351; DerSimonian R, Laird N (1986) Control Clin Trials 7:177.

Example:
    >>> lim = exact_funnel_limits([100, 1000], 0.8, family="binomial")
    >>> [round(float(v), 4) for v in lim["lower_95"]]
    [0.7135, 0.7744]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError
from publicservices.stats.outcomes.levels import level_suffix
from publicservices.stats.ranking._funnel_core import LEVELS, POSITION_LEVELS, check_array, enum_series

__all__ = ["exact_funnel_limits", "exact_tail_positions", "winsorised_dispersion", "winsorised_second_moment"]


def _binom_cdf(r: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    from scipy.special import betainc

    out = np.where(r < 0, 0.0, 1.0)
    mid = (r >= 0) & (r < n)
    if mid.any():
        out[mid] = betainc(n[mid] - r[mid], r[mid] + 1, np.broadcast_to(1 - p, r.shape)[mid])
    return out


def _pois_cdf(r: np.ndarray, m: np.ndarray) -> np.ndarray:
    from scipy.special import gammaincc

    out = np.zeros(r.shape)
    ok = r >= 0
    out[ok] = gammaincc(r[ok] + 1, m[ok])
    return out


def _interpolated_quantile(
    q: np.ndarray, size: np.ndarray, theta: float, family: str, upper: np.ndarray | None = None
) -> np.ndarray:
    """Spiegelhalter (2005) Appendix A.1: (r_q - alpha) / size, with r_q the q-quantile of the
    count and alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)) smoothing the discrete steps.

    Where ``upper`` is true the same construction is applied to the upper tail
    P(X >= r) = 1 - F(r - 1), which works out as (r_q + 1 - alpha) / size: the smallest whole
    count above that limit is the smallest whose one-sided exact p-value P(X >= x) is below
    1 - q, so a unit lies above a drawn upper limit exactly when the exact test says so.
    (A.1 applied to the CDF at q = 0.975 sits one count lower and flags units at the limit's
    quantile, up to 2.5 times the nominal rate at high baselines, and every unit at a 100%
    target.) The lower tail needs no change: below (r_q - alpha) / size means P(X <= x) < q.
    """
    from scipy.special import ndtri

    if family == "binomial":
        mean, var = size * theta, size * theta * (1 - theta)
        cdf = lambda r, idx: _binom_cdf(r, size[idx], theta)  # noqa: E731
        top = size
    else:
        mean = var = size * theta
        cdf = lambda r, idx: _pois_cdf(r, mean[idx])  # noqa: E731
        top = np.full(size.shape, np.inf)
    check_array(mean, "the expected count (precision x baseline)")
    sd = np.sqrt(var)
    z = ndtri(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(sd > 0, (1 - 2 * theta) / sd if family == "binomial" else 1 / sd, 0.0)
    # Cornish-Fisher start, then step to the smallest r with F(r) >= q (1-3 steps; every count
    # is at most MAX_COUNT < 2^53, so each step changes r and the searches end)
    r = np.clip(np.floor(mean + sd * (z + skew * (z * z - 1) / 6)), 0, top)
    every = np.arange(r.size)
    f = cdf(r, every)
    active = np.flatnonzero(f < q)
    steps = 0
    while active.size:
        r[active] += 1
        f[active] = cdf(r[active], active)
        active = active[f[active] < q[active]]
        steps = _count_step(steps)
    f_prev = cdf(r - 1, every)
    active = np.flatnonzero(f_prev >= q)
    while active.size:
        r[active] -= 1
        f[active] = f_prev[active]
        f_prev[active] = cdf(r[active] - 1, active)
        active = active[f_prev[active] >= q[active]]
        steps = _count_step(steps)
    alpha = (f - q) / (f - f_prev)
    if upper is not None:
        r = r + upper
    return (r - alpha) / size


def _count_step(steps: int, limit: int = 100_000) -> int:
    """A guard: the quantile searches take a handful of steps; never loop without end."""
    if steps >= limit:  # pragma: no cover - unreachable for counts below MAX_COUNT
        raise DataError(
            "the exact funnel limits did not converge (the counts are too large or not finite).\n"
            "Fix: check the numerator and denominator columns hold counts."
        )
    return steps + 1


def exact_funnel_limits(
    precision: Any,
    baseline: float,
    *,
    family: Literal["binomial", "poisson"],
    levels: Sequence[float] = LEVELS,
) -> dict[str, np.ndarray]:
    """Exact binomial or Poisson control limits with interpolation, at any precision.

    Spiegelhalter (2005) Stat Med 24:1185, Appendix A.1, applied to each tail: for a unit of
    size n (binomial) or expected count E (Poisson; limits are then on the ratio scale O/E),
    with r_q the q-quantile of the count under the baseline and
    alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)), the lower limit (q = (1 - level) / 2) is
    (r_q - alpha) / size and the upper limit (q = (1 + level) / 2), the same interpolation
    on the upper tail P(X >= r), is (r_q + 1 - alpha) / size. A whole count lies outside a
    limit exactly when its one-sided exact p-value is below (1 - level) / 2, so the curves
    drawn and the labels of :func:`funnel` agree. Binomial limits are kept within [0, 1],
    Poisson limits at or above 0.

    Parameters:
        precision: denominators n (binomial) or expected counts (Poisson), any shape.
        baseline: the target proportion (binomial) or rate per unit of precision (Poisson).
        family: ``"binomial"`` or ``"poisson"``.
        levels: two-sided coverage levels.

    Returns ``{"lower_95": ..., "upper_95": ..., "lower_998": ..., "upper_998": ...}`` on the
    proportion / ratio scale (multiply by the indicator's multiplier to plot).

    >>> lim = exact_funnel_limits([100, 1000], 0.8, family="binomial")
    >>> [round(float(v), 4) for v in lim["lower_95"]]
    [0.7135, 0.7744]
    >>> float(exact_funnel_limits([20], 1.0, family="binomial")["upper_998"][0])  # nothing is above 100%
    1.0
    """
    prec = np.asarray(precision, dtype=np.float64)
    shape = prec.shape
    flat = prec.ravel()
    check_array(flat, "precision")
    if family == "binomial" and np.any(flat != np.round(flat)):
        flat = np.round(flat)  # binomial sizes are whole numbers
    qs = []
    names = []
    for level in levels:
        suffix = level_suffix(level)
        tail = (1 - level) / 2
        qs += [tail, 1 - tail]
        names += [f"lower_{suffix}", f"upper_{suffix}"]
    q = np.repeat(np.asarray(qs), flat.size)
    upper = np.repeat(np.asarray(qs) > 0.5, flat.size).astype(np.float64)
    size = np.tile(flat, len(qs))
    lims = np.full(size.shape, np.nan)
    valid = np.isfinite(size) & (size > 0)  # units without a usable precision get no limits
    if valid.any():
        lims[valid] = np.maximum(_interpolated_quantile(q[valid], size[valid], float(baseline), family, upper[valid]), 0.0)
    if family == "binomial":
        lims = np.minimum(lims, 1.0)
    return {nm: lims[i * flat.size : (i + 1) * flat.size].reshape(shape) for i, nm in enumerate(names)}


def exact_tail_positions(
    count: Any,
    precision: Any,
    baseline: float,
    *,
    family: Literal["binomial", "poisson"],
    levels: Sequence[float] = LEVELS,
) -> dict[str, pl.Series]:
    """Where each unit lies by the one-sided exact tests: ``below``, ``within`` or ``above``.

    A unit with count x is above the ``level`` limits when P(X >= x) < (1 - level) / 2 and
    below them when P(X <= x) < (1 - level) / 2, with X ~ Binomial(n, baseline) or
    Poisson(E x baseline) (the exact test behind Spiegelhalter's (2005) exact limits; the
    interpolated limits of :func:`exact_funnel_limits` agree for whole counts). Discrete tests
    are conservative, so under the baseline at most (1 - level) of units are flagged, whatever
    n and the baseline; a unit at a 100% target is never above it.

    Tail probabilities by the regularised incomplete beta (binomial: P(X >= x) =
    I_p(x, n - x + 1), P(X <= x) = I_{1-p}(n - x, x + 1)) and gamma functions (Poisson:
    P(X >= x) = P(x, mu), P(X <= x) = Q(x + 1, mu)).

    Parameters:
        count: observed counts x.
        precision: denominators n (binomial) or expected counts E (Poisson).
        baseline: proportion (binomial) or rate per unit of precision (Poisson; 1 for ratios).
        family: ``"binomial"`` or ``"poisson"``.
        levels: two-sided levels; keys ``"95"``, ``"998"``.

    Returns ``{"95": ..., "998": ...}``: Polars Enum series (below/within/above), null where
    the count or precision is missing.

    >>> exact_tail_positions([20, 19, 14], [20, 20, 20], 0.95, family="binomial")["998"].to_list()
    ['within', 'within', 'below']
    """
    from scipy.special import betainc, gammainc, gammaincc

    x = np.asarray(count, dtype=np.float64)
    n = np.broadcast_to(np.asarray(precision, dtype=np.float64), x.shape)
    check_array(x, "count")
    check_array(n, "precision")
    theta = float(baseline)
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "binomial":
            tiny = 1e-300  # betainc needs positive shapes; the edge cases are set explicitly
            p_hi = np.where(x <= 0, 1.0, np.where(x > n, 0.0, betainc(np.maximum(x, tiny), np.maximum(n - x + 1, tiny), theta)))
            p_lo = np.where(x >= n, 1.0, np.where(x < 0, 0.0, betainc(np.maximum(n - x, tiny), x + 1, 1 - theta)))
        else:
            mu = n * theta
            p_hi = np.where(x <= 0, 1.0, gammainc(np.maximum(x, 1e-300), mu))
            p_lo = np.where(x < 0, 0.0, gammaincc(x + 1, mu))
    unusable = ~(np.isfinite(x) & np.isfinite(n) & (n > 0))
    out = {}
    for level in levels:
        a = (1 - level) / 2
        pos = np.where(p_hi < a, "above", np.where(p_lo < a, "below", "within"))
        key = level_suffix(level)
        out[key] = enum_series(f"position_{key}", pos, unusable, POSITION_LEVELS)
    return out


def winsorised_second_moment(winsorize: float) -> float:
    """E[Z_w^2] for a standard normal Z Winsorised at its ``winsorize`` and ``1 - winsorize``
    quantiles: (1 - 2q) - 2 z_q phi(z_q) + 2 q z_q^2 with z_q = Phi^-1(1 - q); 1 without
    Winsorising. Spiegelhalter's Winsorised phi is divided by it, so that phi is 1 on average
    when units differ by chance alone (at q = 0.1 the raw estimate is about 0.68 then).

    >>> round(winsorised_second_moment(0.1), 4), winsorised_second_moment(0.0)
    (0.6787, 1.0)
    """
    from scipy.special import ndtri

    q = float(winsorize)
    if q <= 0:
        return 1.0
    if not q < 0.5:
        raise DataError(f"winsorize must be at least 0 and below 0.5, not {winsorize!r}.\nFix: use 0.1 (the default) or 0.")
    zq = float(ndtri(1 - q))
    density = math.exp(-zq * zq / 2) / math.sqrt(2 * math.pi)
    return (1 - 2 * q) - 2 * zq * density + 2 * q * zq * zq


def winsorised_dispersion(z: Any, se: Any, winsorize: float = 0.1, *, df: int | None = None) -> dict[str, float]:
    """Over-dispersion from z-scores: Spiegelhalter's robust phi and tau^2, and the test of phi = 1.

    * ``phi_winsorised``: the mean of the squared z-scores after Winsorising them at the
      ``winsorize`` and ``1 - winsorize`` quantiles (the lowest 10% set to the 10th percentile,
      the highest 10% to the 90th; quantiles by linear interpolation, R type 7) -- Spiegelhalter
      (2005), robust to a few extreme units.
    * ``phi``: that estimate divided by :func:`winsorised_second_moment` (0.679 at 10%), the
      value it has on average when units differ by chance alone, so phi is 1 then. Without the
      rescaling, additive limits from it flag about 11% of units at the 95% level when areas
      differ by normal random effects; with it, 5-6% (simulations in the methodology page and
      ``tests/test_funnel_null.py``).
    * ``tau2`` = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w = 1 / se^2, floored at 0
      (DerSimonian-Laird form with the robust phi).
    * the test: without over-dispersion the Pearson statistic sum z^2 (all units, not
      Winsorised) is chi^2 on ``df`` degrees of freedom -- I - 1 when the baseline was estimated
      from the same units (the default), I for an external target; ``chi2`` and ``chi2_p`` =
      P(chi^2_df > chi2). (The Winsorised sum is not chi^2: tested as one it almost never finds
      over-dispersion.)

    Reference: Spiegelhalter DJ (2005) Qual Saf Health Care 14:347, and Stat Med 24:1185 s.6;
    DerSimonian R, Laird N (1986) Control Clin Trials 7:177.

    Parameters:
        z: z-scores (y - theta0) / se under the baseline.
        se: the standard errors used for those z-scores.
        winsorize: fraction Winsorised in each tail (0 to switch off; then phi = mean z^2).
        df: degrees of freedom of the test (default I - 1).

    Returns ``n_units``, ``phi``, ``phi_winsorised``, ``tau2``, ``chi2``, ``chi2_df`` and
    ``chi2_p`` (NaN when there are too few units: none for phi, fewer than 2 for the default test).

    >>> d = winsorised_dispersion([-3.0, -1.0, 0.0, 1.0, 3.0], [1.0] * 5, winsorize=0.0)
    >>> d["phi"], d["tau2"], d["chi2"], d["chi2_df"]
    (4.0, 4.0, 20.0, 4)
    """
    from scipy.special import chdtrc

    z = np.asarray(z, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    i = z.size
    dof = i - 1 if df is None else int(df)
    scale = winsorised_second_moment(winsorize)
    if i == 0:
        nan = float("nan")
        return {"n_units": 0, "phi": nan, "phi_winsorised": nan, "tau2": nan, "chi2": nan, "chi2_df": dof, "chi2_p": nan}
    chi2 = float(np.sum(z * z))
    zw = z
    if winsorize > 0:
        lo, hi = np.quantile(z, [winsorize, 1 - winsorize])
        zw = np.clip(z, lo, hi)
    raw = float(np.mean(zw * zw))
    phi = raw / scale
    w = 1 / se**2
    denom = w.sum() - (w * w).sum() / w.sum()
    tau2 = max(0.0, (i * phi - (i - 1)) / denom) if denom > 0 else 0.0
    p = float(chdtrc(dof, chi2)) if dof >= 1 else float("nan")
    return {"n_units": i, "phi": phi, "phi_winsorised": raw, "tau2": float(tau2), "chi2": chi2, "chi2_df": dof, "chi2_p": p}
