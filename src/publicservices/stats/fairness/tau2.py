"""Estimators of the between-area variance tau2 with their own intervals, on arrays of rows.

The vectorised core of :mod:`publicservices.stats.fairness.variation`: DerSimonian-Laird (the
one implementation, also used by :mod:`publicservices.stats.ranking.shrinkage` through
:func:`dersimonian_laird`) with the Biggerstaff-Tweedie interval, Paule-Mandel with the
Q-profile interval, REML with the profile likelihood interval. Arrays of rows with integer group
ids; every solver iterates on all groups at once with ``numpy.bincount`` sums.

Example:
    >>> mu, tau2, _ = dersimonian_laird([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5])
    >>> round(mu, 4), round(tau2, 4)
    (2.5, 1.4167)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

__all__ = ["dersimonian_laird", "tau2_estimates", "group_sums"]


def group_sums(gid: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
    return np.bincount(gid, weights=weights, minlength=size)


def _others(gid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For every row, the sum of ``x`` over the *other* rows of its group, without cancellation.

    ``total - x_i`` loses every digit when one area's weight dwarfs the rest (a standard error
    of 0.06 beside ones of 9 gives weights 256 and 0.01); the sums of the rows before and after
    each row are sums of positive terms, exact to rounding.
    """
    f = pl.DataFrame({"g": gid, "x": x})
    return (
        f.select(
            pl.col("x").shift(1, fill_value=0.0).cum_sum().over("g")
            + pl.col("x").shift(-1, fill_value=0.0).cum_sum(reverse=True).over("g")
        )
        .to_series()
        .to_numpy()
    )


def _q_gen(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Q statistic at tau2 = t per group, and its derivative in t."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # groups without rows stay NaN
        w = 1.0 / (v + t[gid])
        mu = group_sums(gid, size, w * y) / group_sums(gid, size, w)
        r2 = (y - mu[gid]) ** 2
        return group_sums(gid, size, w * r2), -group_sums(gid, size, w * w * r2)


def _q_root(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """tau2 solving Q_gen(tau2) = target in every group (0 when Q_gen(0) <= target).

    Q_gen is decreasing and convex in tau2 (a partial minimum of the jointly convex
    quadratic-over-linear sum), so Newton's method started at 0 climbs monotonically to the
    root without overshooting; no bracketing is needed. It stops when a step is below 1e-13
    of tau2 itself: a relative criterion, so the answer does not depend on the units.
    """
    t = np.zeros(size)
    q, dq = _q_gen(gid, size, y, v, t)
    active = np.isfinite(target) & (q > target)
    for _ in range(500):
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.where(active, (q - target) / -dq, 0.0)
        step = np.where(np.isfinite(step) & (step > 0), step, 0.0)
        t = t + step
        active = active & (step > 1e-13 * t)
        q, dq = _q_gen(gid, size, y, v, t)
    return t


def _illinois(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """A root of ``f`` in ``[lo, hi]`` for every group in ``todo``, where ``f(lo)`` and ``f(hi)`` differ in sign.

    Regula falsi with the Illinois modification (Dowell M, Jarratt P (1971) BIT 11:168-174):
    every iterate stays inside the bracket, so the root found always lies between the ends the
    caller chose; the bracket shrinks superlinearly to a relative width of 1e-13.
    """
    lo, hi = lo.copy(), hi.copy()
    flo, fhi = f(lo), f(hi)
    side = np.zeros(lo.size, dtype=np.int8)  # which end moved last: -1 lower, +1 upper
    for _ in range(300):
        active = todo & (hi - lo > 1e-13 * np.abs(hi)) & (flo != 0) & (fhi != 0)
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x = hi - fhi * (hi - lo) / (fhi - flo)
        x = np.where(np.isfinite(x) & (x > lo) & (x < hi), x, 0.5 * (lo + hi))
        fx = f(np.where(active, x, lo))
        move_lo = active & (np.sign(fx) == np.sign(flo))
        move_hi = active & ~move_lo
        fhi = np.where(move_lo & (side == -1), 0.5 * fhi, fhi)  # the Illinois step: the end that
        flo = np.where(move_hi & (side == 1), 0.5 * flo, flo)  # stays twice has its value halved
        lo, flo = np.where(move_lo, x, lo), np.where(move_lo, fx, flo)
        hi, fhi = np.where(move_hi, x, hi), np.where(move_hi, fx, fhi)
        side = np.where(move_lo, -1, np.where(move_hi, 1, side)).astype(np.int8)
    return np.where(flo == 0, lo, np.where(fhi == 0, hi, 0.5 * (lo + hi)))


def _expand(f: Callable[[np.ndarray], np.ndarray], start: np.ndarray, todo: np.ndarray, factor: float = 2.0) -> np.ndarray:
    """Multiply ``start`` by ``factor`` until ``f`` is negative there (at most 200 times)."""
    x = start.copy()
    for _ in range(200):
        move = todo & ~(f(x) < 0)
        if not move.any():
            break
        x = np.where(move, factor * x, x)
    return x


def _reml_score(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Twice the REML score ``d l_R / d tau2``: ``sum w^2 (y - mu)^2 - (sum w - sum w^2 / sum w)``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = 1.0 / (v + t[gid])
        sw, sw2 = group_sums(gid, size, w), group_sums(gid, size, w * w)
        mu = group_sums(gid, size, w * y) / sw
        return group_sums(gid, size, (w * (y - mu[gid])) ** 2) - (sw - sw2 / sw)


def _reml(
    gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, start: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """REML tau2 by Fisher scoring (Viechtbauer 2005), truncated at 0; returns (tau2, converged).

    Converged when a step is at most 1e-13 of ``tau2 + s^2`` (``scale`` = the typical sampling
    variance ``s^2``): relative to the variances in the problem, so multiplying every value and
    standard error by ``c`` multiplies tau2 by exactly ``c^2`` and the accuracy does not depend
    on the units (an absolute step criterion was several per cent off at values of order 1e-5).
    Fisher scoring can oscillate when standard errors differ by orders of magnitude; a group
    not converged after 40 steps has its score equation solved by bracketing next to the last
    iterate instead (Illinois regula falsi), or 0 when the score is negative all the way down.
    """
    t = start.copy()
    converged = np.zeros(size, dtype=bool)
    tol = np.where(np.isfinite(scale), scale, 0.0)
    for _ in range(40):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = 1.0 / (v + t[gid])
            sw, sw2, sw3 = group_sums(gid, size, w), group_sums(gid, size, w * w), group_sums(gid, size, w**3)
            mu = group_sums(gid, size, w * y) / sw
            ypy = group_sums(gid, size, (w * (y - mu[gid])) ** 2)
            tr_p = sw - sw2 / sw
            tr_p2 = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
            new = np.maximum(0.0, t + (ypy - tr_p) / tr_p2)
        new = np.where(np.isfinite(new), new, t)
        converged = np.abs(new - t) <= 1e-13 * (new + tol)
        t = new
        if converged.all():
            return t, converged
    stuck = ~converged & (tol > 0)
    if stuck.any():

        def score(x: np.ndarray) -> np.ndarray:
            return _reml_score(gid, size, y, v, x)

        # bracket the root next to the last iterate: above it when the score is positive
        # there, else below it (halving towards 0; the boundary 0 when the score stays negative)
        at_t = score(t)
        up = stuck & (at_t >= 0)
        down = stuck & ~up
        base = np.where(t > 0, t, np.where(tol > 0, tol, 1.0))
        hi = _expand(score, base, up)
        lo = _expand(lambda x: -score(x), base, down, factor=0.5)
        inside = down & (score(lo) > 0)
        root = _illinois(score, np.where(up, t, lo), np.where(up, hi, base), up | inside)
        t = np.where(up | inside, root, np.where(down, 0.0, t))
        converged = converged | (stuck & np.isfinite(t))
    return t, converged


def _reml_loglik(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Restricted log-likelihood of tau2 = t per group, up to a constant (Viechtbauer 2005, eq. 12)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        vt = v + t[gid]
        w = 1.0 / vt
        sw = group_sums(gid, size, w)
        mu = group_sums(gid, size, w * y) / sw
        return -0.5 * (group_sums(gid, size, np.log(vt)) + np.log(sw) + group_sums(gid, size, w * (y - mu[gid]) ** 2))


def _pl_limits(
    gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, tau2: np.ndarray, ok: np.ndarray, level: float, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Profile (restricted) likelihood limits around the REML estimate.

    ``{tau2 : 2 (l_R(REML) - l_R(tau2)) <= chi2_1(level)}`` (Hardy RJ, Thompson SG (1996) Stat Med
    15:619-629; Viechtbauer 2007): the limits are searched below and above the estimate, so
    the estimate always lies between them. A limit is 0 when the boundary is inside the region.
    """
    from scipy import special

    crit = 0.5 * float(special.chdtri(1.0, 1.0 - level))
    t_hat = np.where(ok, tau2, 0.0)
    target = _reml_loglik(gid, size, y, v, t_hat) - crit
    g2, y2, v2 = np.concatenate([gid, gid + size]), np.concatenate([y, y]), np.concatenate([v, v])
    target2 = np.concatenate([target, target])

    def f(t: np.ndarray) -> np.ndarray:
        return _reml_loglik(g2, 2 * size, y2, v2, t) - target2

    zero = np.zeros(size)
    f0 = f(np.concatenate([zero, zero]))[:size]
    need_lo = ok & (f0 < 0)
    s = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    start_hi = np.maximum(2.0 * t_hat, s)
    hi = _expand(f, np.concatenate([t_hat, start_hi]), np.concatenate([np.zeros(size, dtype=bool), ok]))
    both = _illinois(f, np.concatenate([zero, t_hat]), np.concatenate([t_hat, hi[size:]]), np.concatenate([need_lo, ok]))
    return np.where(need_lo, both[:size], 0.0), both[size:]


def _bt_limits(
    k: np.ndarray, q: np.ndarray, c: np.ndarray, d: np.ndarray, tau2: np.ndarray, ok: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Limits for tau2 that invert the distribution of Cochran's Q itself: the DL estimate's own.

    Biggerstaff BJ, Tweedie RL (1997) Stat Med 16:753-768: under the random-effects model
    Cochran's ``Q`` (weights ``w = 1/se^2``) has mean ``E = (k-1) + c tau2`` and variance
    ``V = 2(k-1) + 4 c tau2 + 2 d tau2^2``, ``c = S1 - S2/S1``, ``d = S2 - 2 S3/S1 + (S2/S1)^2``,
    ``Sr = sum w^r``; ``Q`` is approximated by the gamma distribution with that mean and
    variance (exact when the standard errors are equal: then it is ``(1 + tau2/se^2) chi2_(k-1)``,
    and the limits equal the Q-profile's). The lower limit is the tau2 at which the observed
    ``Q`` is the upper ``alpha/2`` quantile, the upper the tau2 at which it is the lower one.
    DerSimonian-Laird solves ``E(tau2) = Q``, and ``Q`` is a positive sum of ``chi2_1``
    variables, so its gamma shape ``E^2 / V`` is at least 1/2 and ``P(Q <= E)`` lies in
    (0.5, 0.683]: for any level of at least 0.5 the DL estimate lies between the limits. The
    limits are searched on either side of it, so that holds by construction.
    """
    from scipy import special

    alpha = 1.0 - level
    df = k - 1

    def cdf(t: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            e = df + c * t
            var = 2.0 * df + 4.0 * c * t + 2.0 * d * t * t
            return special.gammainc(e * e / var, q * e / var)

    t_hat = np.where(ok, tau2, 0.0)
    f0 = cdf(np.zeros_like(t_hat))
    need_lo = ok & (f0 > 1.0 - alpha / 2)
    need_hi = ok & (f0 > alpha / 2)
    f_lo = lambda t: (1.0 - alpha / 2) - cdf(t)  # noqa: E731  (negative below the root)
    f_hi = lambda t: cdf(t) - alpha / 2  # noqa: E731  (positive below the root)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        start = np.where(ok, np.maximum(2.0 * t_hat, (q + 1.0) / c), 1.0)
    hi = _expand(f_hi, start, need_hi)
    # the brackets [0, DL] and [DL, hi]; a side whose end does not change sign at the DL estimate
    # (possible only through rounding, given the argument above) has its limit at the estimate
    lo_ok, hi_ok = need_lo & (f_lo(t_hat) >= 0), need_hi & (f_hi(t_hat) >= 0)
    lower = np.where(lo_ok, _illinois(f_lo, np.zeros_like(t_hat), t_hat, lo_ok), np.where(need_lo, t_hat, 0.0))
    upper = np.where(hi_ok, _illinois(f_hi, t_hat, hi, hi_ok), np.where(need_hi, t_hat, 0.0))
    return lower, upper


def _dl_fit(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
    """DerSimonian-Laird in every group: the one implementation (shrinkage uses it through
    :func:`dersimonian_laird`).

    tau2 = max(0, (Q - (k - 1)) / c), Q = sum w (y - y_w)^2 with w = 1 / v, and
    c = S1 - S2/S1 = sum w_i r_i / S1, d = S2 - 2 S3/S1 + (S2/S1)^2 = sum w_i^2 (r_i^2 + r2_i) / S1^2
    (for the Biggerstaff-Tweedie interval), with r_i (r2_i) the sum of w (w^2) over the other
    areas: positive terms, no cancellation. NaN where a group has one area (c = 0).
    """
    k = np.bincount(gid, minlength=size).astype(float)
    w = 1.0 / v
    sw = group_sums(gid, size, w)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow is reported by the callers
        r, r2 = _others(gid, w), _others(gid, w * w)
        mu_fe = group_sums(gid, size, w * y) / sw
        q = group_sums(gid, size, w * (y - mu_fe[gid]) ** 2)
        df = k - 1
        c = group_sums(gid, size, w * r) / sw
        d = group_sums(gid, size, w * w * (r * r + r2)) / (sw * sw)
        tau2 = np.maximum(0.0, (q - df) / c)
        s2 = df / c  # "typical" within-area variance (Higgins & Thompson 2002)
    return {"k": k, "q": q, "df": df, "c": c, "d": d, "tau2": tau2, "s2": s2, "mu_fe": mu_fe}


def dersimonian_laird(y: Any, se: Any) -> tuple[float, float, float]:
    """DerSimonian-Laird random-effects fit of one set of estimates: returns (mu, tau2, se of mu).

    tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)), Q = sum w (y - y_w)^2 with
    w = 1/se^2 (0 when there is one estimate); mu is the mean weighted by 1 / (se^2 + tau^2).
    DerSimonian R, Laird N (1986) Control Clin Trials 7:177. The same estimator as
    :func:`between_area_variation` with ``method="DL"``, for one group.

    Parameters:
        y: estimates.
        se: their standard errors.

    >>> mu, tau2, _ = dersimonian_laird([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5])
    >>> round(mu, 4), round(tau2, 4)
    (2.5, 1.4167)
    """
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    fit = _dl_fit(np.zeros(y.size, dtype=np.int64), 1, y, v)
    tau2 = float(fit["tau2"][0]) if fit["c"][0] > 0 else 0.0
    ws = 1 / (v + tau2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((ws * y).sum() / ws.sum()), tau2, float(np.sqrt(1 / ws.sum()))


def tau2_estimates(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, method: str, level: float) -> dict[str, np.ndarray]:
    """tau2 by ``method`` with the limits of its own interval method, and heterogeneity statistics."""
    from scipy import special  # lighter to import than scipy.stats

    fit = _dl_fit(gid, size, y, v)
    k, q, df, c, d, tau2, s2, mu_fe = (fit[n] for n in ("k", "q", "df", "c", "d", "tau2", "s2", "mu_fe"))
    alpha = 1 - level
    # values or standard errors so extreme that the sums overflow (or underflow to 0) give no
    # estimate at all rather than an infinite or empty one
    overflow = (df >= 1) & ~(np.isfinite(q) & np.isfinite(mu_fe) & (c > 0) & np.isfinite(c) & np.isfinite(d))
    ok = (df >= 1) & ~overflow
    dfc = np.where(ok, df, 1.0)
    converged = np.ones(size, dtype=bool)
    if method == "DL":
        lower, upper = _bt_limits(k, q, c, d, tau2, ok, level)
    elif method == "PM":
        # the Paule-Mandel point (Q_gen = k - 1) and both Q-profile limits (Q_gen = the chi-square
        # quantiles; chdtri(df, p) has upper-tail probability p) in one sweep over three copies
        targets = [np.where(ok, df, np.nan)] + [np.where(ok, special.chdtri(dfc, p), np.nan) for p in (alpha / 2, 1 - alpha / 2)]
        three = _q_root(
            np.concatenate([gid, gid + size, gid + 2 * size]), 3 * size, np.tile(y, 3), np.tile(v, 3), np.concatenate(targets)
        )
        tau2, lower, upper = three[:size], three[size : 2 * size], three[2 * size :]
    else:
        tau2, converged = _reml(gid, size, y, v, np.where(np.isfinite(tau2), tau2, 0.0), s2)
        lower, upper = _pl_limits(gid, size, y, v, tau2, ok, level, s2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # one-area groups have no tau2
        w_re = 1.0 / (v + tau2[gid])
        mu_re = group_sums(gid, size, w_re * y) / group_sums(gid, size, w_re)
        q_p = np.where(ok, special.chdtrc(dfc, q), np.nan)
    nan = np.where(ok, 1.0, np.nan)
    return {
        "k": k,
        "q": q * nan,
        "q_df": df,
        "q_p": q_p,
        "tau2": tau2 * nan,
        "tau2_lower": lower * nan,
        "tau2_upper": upper * nan,
        "s2": s2 * nan,
        "mu": np.where(overflow, np.nan, mu_re),
        "mu_fe": mu_fe,
        "converged": converged,
        "overflow": overflow,
    }
