"""True (excess) variation between areas: how much of the spread is real, not sampling noise.

Every area's value is a noisy measurement of its true value. The observed spread between areas
mixes the real differences (variance ``tau^2``) with each area's sampling error (``se_i^2``).
This module separates them, as a random-effects meta-analysis does for studies:

* ``tau2`` -- the between-area variance beyond sampling noise, with a confidence interval
  from *the same method*, so the estimate always lies inside its own interval:

  - ``"DL"`` (default): DerSimonian & Laird (1986) moment estimator, with the
    Biggerstaff & Tweedie (1997) interval, which inverts the distribution of the same Cochran's
    ``Q`` the estimator is built from;
  - ``"PM"``: Paule & Mandel (1982), the root of ``Q_gen(tau2) = k - 1``, with the Q-profile
    interval (Viechtbauer 2007), which inverts the same ``Q_gen`` -- the pairing recommended
    by Veroniki et al. (2016);
  - ``"REML"``: restricted maximum likelihood (Viechtbauer 2005), with the profile
    (restricted) likelihood interval (Hardy & Thompson 1996);

  (a DL estimate with a Q-profile interval can fall outside it: upper-tier preventable
  cardiovascular mortality 2022-24 had DL tau2 = 44.5 with a Q-profile interval of 44.8 to 74.1);
* ``i2`` -- the share of the observed variation that is real, ``tau2 / (tau2 + s^2)`` with
  ``s^2`` the typical sampling variance (Higgins & Thompson 2002); its interval maps the
  ``tau2`` interval;
* ``phi`` -- the overdispersion ratio, the mean squared z-score of areas against the
  reference value (Spiegelhalter 2005, funnel plots): 1 when all variation is chance;
* ``true_cv`` -- the headline *postcode-lottery index*: the true coefficient of variation
  ``tau / reference`` with its interval;
* per-area reliability ``tau2 / (tau2 + se_i^2)`` (:func:`reliability`), and McPherson's
  systematic component of variation for counts (:func:`systematic_component`).

Everything is vectorised across groups (indicator x period): the solvers iterate on all
groups at once with ``numpy.bincount`` sums, never looping over rows or groups.

References: DerSimonian R, Laird N (1986) Control Clin Trials 7:177-188; Paule RC, Mandel J
(1982) J Res Natl Bur Stand 87:377-385; Biggerstaff BJ, Tweedie RL (1997) Stat Med
16:753-768; Hardy RJ, Thompson SG (1996) Stat Med 15:619-629; Viechtbauer W (2005) J Educ
Behav Stat 30:261-293 (REML); Viechtbauer W (2007) Stat Med 26:37-52 (Q-profile); Veroniki
AA et al. (2016) Res Synth Methods 7:55-79; Higgins JPT, Thompson SG (2002) Stat Med
21:1539-1558; Spiegelhalter DJ (2005) Stat Med 24:1185-1202; McPherson K et al. (1982) N Engl
J Med 307:1310-1314.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0] * 5})
    >>> row = between_area_variation(df, by="g").row(0, named=True)
    >>> row["tau2"], round(row["i2"], 4), round(row["true_cv"], 4)
    (5.5, 0.8462, 0.1954)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import polars as pl

from publicservices.errors import PublicServicesError
from publicservices.stats.dispersion import group_index

from publicservices.stats._arrays import text_values as _text

__all__ = [
    "between_area_variation",
    "reliability",
    "systematic_component",
    "standard_error",
    "level_suffix",
    "METHODS",
    "INTERVAL_METHODS",
]

METHODS: tuple[str, ...] = ("DL", "PM", "REML")
#: the interval paired with each estimator: always the estimator's own, so the point lies inside it
INTERVAL_METHODS: dict[str, str] = {"DL": "Biggerstaff-Tweedie", "PM": "Q-profile", "REML": "profile likelihood"}
_Z95 = 1.959963984540054  # qnorm(0.975): converts a 95% interval width to a standard error


def level_suffix(level: float) -> str:
    """Column suffix for a confidence level: ``_95``, ``_998``; ``""`` for any other level.

    Example:
        >>> level_suffix(0.95), level_suffix(0.998), level_suffix(0.9)
        ('_95', '_998', '')
    """
    if math.isclose(level, 0.95):
        return "_95"
    if math.isclose(level, 0.998):
        return "_998"
    return ""


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise PublicServicesError(f"level must lie strictly between 0 and 1 (e.g. 0.95), got {level!r}.\nFix: pass a fraction such as 0.95.")
    if level < 0.5:
        raise PublicServicesError(
            f"level must be at least 0.5 for an interval around tau2, got {level!r}: a narrower central interval "
            "need not contain the point estimate.\nFix: pass a level such as 0.8, 0.95 or 0.998.")
    return float(level)


def standard_error(
    measure: str,
    *,
    multiplier: float | pl.Expr = 1.0,
    reference: str | pl.Expr = "national",
    numerator: str = "numerator",
    denominator: str = "denominator",
    value: str = "value",
    lower: str | None = "lower_ci",
    upper: str | None = "upper_ci",
) -> pl.Expr:
    """Per-area standard error of the value, from the counts or from a supplied 95% interval.

    Method (counts; the funnel-plot convention of Spiegelhalter 2005, which uses the
    reference value ``p0`` so that an area with 0 events still has a sampling error):

    * ``proportion``: binomial, ``multiplier * sqrt(p0 (1 - p0) / denominator)``, ``p0 = reference / multiplier``;
    * ``rate`` and ``ratio``: Poisson, ``multiplier * sqrt(r0 / denominator)``, ``r0 = reference / multiplier``
      (for a ratio the denominator is the expected count);
    * ``dsr``: ``value / sqrt(numerator)`` (Poisson error of the events);
    * otherwise, or when the counts are missing: ``(upper - lower) / (2 * 1.96)`` from the 95%
      interval (exact for symmetric intervals, an approximation for Wilson/Byar intervals).

    Missing when none of these is available; such areas are left out of the variance
    estimates and counted.

    Parameters:
        measure: the indicator's measure (``proportion``, ``rate``, ``ratio``, ``dsr``, ``mean``, ``score``).
        multiplier: the indicator's multiplier (100 for a percentage ...), or an expression.
        reference: column (or expression) holding the reference (national) value per row.
        numerator, denominator, value: column names.
        lower, upper: columns of the 95% interval, or None when there are none.

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"numerator": [5.0], "denominator": [100.0], "national": [10.0]})
        >>> round(df.select(standard_error("proportion", multiplier=100, lower=None, upper=None)).item(), 12)
        3.0
    """
    ref = pl.col(reference) if isinstance(reference, str) else reference
    from_ci = (
        (pl.col(upper) - pl.col(lower)) / (2 * _Z95) if lower is not None and upper is not None
        else pl.lit(None, dtype=pl.Float64)
    )
    n = pl.col(denominator)
    base = ref / multiplier
    if measure == "proportion":
        counts = multiplier * (base * (1 - base) / n).sqrt()
    elif measure in ("rate", "ratio"):
        counts = multiplier * (base / n).sqrt()
    elif measure == "dsr":
        counts = pl.when(pl.col(numerator) > 0).then(pl.col(value) / pl.col(numerator).sqrt())
    else:
        counts = pl.lit(None, dtype=pl.Float64)
    usable = pl.col(numerator).is_not_null() & n.is_not_null() & (n > 0)
    return pl.when(usable).then(counts).otherwise(from_ci).cast(pl.Float64).alias("se")


# -- the vectorised core (arrays of rows, integer group ids) --------------------------------------


def _sums(gid: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
    return np.bincount(gid, weights=weights, minlength=size)


def _others(gid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For every row, the sum of ``x`` over the *other* rows of its group, without cancellation.

    ``total - x_i`` loses every digit when one area's weight dwarfs the rest (a standard error
    of 0.06 beside ones of 9 gives weights 256 and 0.01); the sums of the rows before and after
    each row are sums of positive terms, exact to rounding.
    """
    f = pl.DataFrame({"g": gid, "x": x})
    return f.select(
        pl.col("x").shift(1, fill_value=0.0).cum_sum().over("g")
        + pl.col("x").shift(-1, fill_value=0.0).cum_sum(reverse=True).over("g")
    ).to_series().to_numpy()


def _q_gen(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Q statistic at tau2 = t per group, and its derivative in t."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # groups without rows stay NaN
        w = 1.0 / (v + t[gid])
        mu = _sums(gid, size, w * y) / _sums(gid, size, w)
        r2 = (y - mu[gid]) ** 2
        return _sums(gid, size, w * r2), -_sums(gid, size, w * w * r2)


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
        sw, sw2 = _sums(gid, size, w), _sums(gid, size, w * w)
        mu = _sums(gid, size, w * y) / sw
        return _sums(gid, size, (w * (y - mu[gid])) ** 2) - (sw - sw2 / sw)


def _reml(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, start: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
            sw, sw2, sw3 = _sums(gid, size, w), _sums(gid, size, w * w), _sums(gid, size, w**3)
            mu = _sums(gid, size, w * y) / sw
            ypy = _sums(gid, size, (w * (y - mu[gid])) ** 2)
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
        sw = _sums(gid, size, w)
        mu = _sums(gid, size, w * y) / sw
        return -0.5 * (_sums(gid, size, np.log(vt)) + np.log(sw) + _sums(gid, size, w * (y - mu[gid]) ** 2))


def _pl_limits(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, tau2: np.ndarray, ok: np.ndarray,
               level: float, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _bt_limits(k: np.ndarray, q: np.ndarray, c: np.ndarray, d: np.ndarray, tau2: np.ndarray,
               ok: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
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


def _tau2_all(
    gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, method: str, level: float
) -> dict[str, np.ndarray]:
    """tau2 by ``method`` with the limits of its own interval method, and heterogeneity statistics."""
    from scipy import special  # lighter to import than scipy.stats

    k = np.bincount(gid, minlength=size).astype(float)
    w = 1.0 / v
    sw = _sums(gid, size, w)
    # c = S1 - S2/S1 = sum w_i r_i / S1 and d = S2 - 2 S3/S1 + (S2/S1)^2 = sum w_i^2 (r_i^2 + r2_i) / S1^2,
    # with r_i (r2_i) the sum of w (w^2) over the other areas: positive terms, no cancellation
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # overflow is reported below
        r, r2 = _others(gid, w), _others(gid, w * w)
        mu_fe = _sums(gid, size, w * y) / sw
        q = _sums(gid, size, w * (y - mu_fe[gid]) ** 2)
        df = k - 1
        c = _sums(gid, size, w * r) / sw
        d = _sums(gid, size, w * w * (r * r + r2)) / (sw * sw)
        tau2 = np.maximum(0.0, (q - df) / c)
        s2 = df / c  # "typical" within-area variance (Higgins & Thompson 2002)
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
        three = _q_root(np.concatenate([gid, gid + size, gid + 2 * size]), 3 * size, np.tile(y, 3), np.tile(v, 3),
                        np.concatenate(targets))
        tau2, lower, upper = three[:size], three[size:2 * size], three[2 * size:]
    else:
        tau2, converged = _reml(gid, size, y, v, np.where(np.isfinite(tau2), tau2, 0.0), s2)
        lower, upper = _pl_limits(gid, size, y, v, tau2, ok, level, s2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # one-area groups have no tau2
        w_re = 1.0 / (v + tau2[gid])
        mu_re = _sums(gid, size, w_re * y) / _sums(gid, size, w_re)
        q_p = np.where(ok, special.chdtrc(dfc, q), np.nan)
    nan = np.where(ok, 1.0, np.nan)
    return {
        "k": k, "q": q * nan, "q_df": df, "q_p": q_p, "tau2": tau2 * nan,
        "tau2_lower": lower * nan, "tau2_upper": upper * nan,
        "s2": s2 * nan, "mu": np.where(overflow, np.nan, mu_re), "mu_fe": mu_fe, "converged": converged, "overflow": overflow,
    }


def between_area_variation(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str = "value",
    se: str = "se",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    reference: str | None = None,
    method: Literal["DL", "PM", "REML"] = "DL",
    level: float = 0.95,
) -> pl.DataFrame:
    """Between-area variance beyond chance (tau^2) with its own interval, I^2, phi and true CV.

    Method: random-effects model ``y_i = mu + u_i + e_i``, ``u_i ~ (0, tau2)``,
    ``e_i ~ (0, se_i^2)``, ``w = 1/se^2``, Cochran's ``Q = sum w (y - mu_FE)^2`` and the
    generalised ``Q_gen(tau2) = sum (y - mu(tau2))^2 / (se^2 + tau2)``. The point estimate and
    its interval always come from one method, so the estimate lies inside its interval at
    every accepted level (0.5 or more; a narrower central interval need not contain it):

    * ``"DL"``: DerSimonian & Laird (1986), ``max(0, (Q - (k-1)) / (S1 - S2/S1))``,
      ``Sr = sum w^r``; interval by Biggerstaff & Tweedie (1997): ``Q`` has mean
      ``(k-1) + c tau2`` and variance ``2(k-1) + 4c tau2 + 2d tau2^2`` (``c = S1 - S2/S1``,
      ``d = S2 - 2 S3/S1 + (S2/S1)^2``); with ``Q`` approximated by the gamma distribution of
      that mean and variance, the limits are the tau2 at which the observed ``Q`` is its
      ``1 - alpha/2`` (lower) and ``alpha/2`` (upper) quantile. With equal standard errors the
      gamma is exact and the limits equal the Q-profile limits.
    * ``"PM"``: Paule & Mandel (1982), the root of ``Q_gen(tau2) = k - 1`` (0 when
      ``Q <= k - 1``); interval by the Q-profile method (Viechtbauer 2007): ``Q_gen(tau2)``
      equal to the chi-square ``(k-1)`` quantiles ``1 - alpha/2`` (lower) and ``alpha/2``
      (upper). Veroniki et al. (2016) recommend this pair.
    * ``"REML"``: restricted maximum likelihood by Fisher scoring (Viechtbauer 2005), stopped
      when a step is below 1e-13 of ``tau2 + s^2`` (so the answer is the same in any units);
      interval by profile restricted likelihood, ``2 (l_R(REML) - l_R(tau2)) <= chi2_1(level)``
      (Hardy & Thompson 1996).

    A limit is 0 when the boundary is already inside the interval. ``i2 = tau2 / (tau2 +
    s^2)`` with ``s^2 = (k-1) sum w / ((sum w)^2 - sum w^2)`` -- for DL this is Higgins'
    ``(Q - df)/Q``. ``phi = mean(((y - reference) / se)^2)`` (Spiegelhalter 2005). ``true_cv =
    sqrt(tau2) / reference``, the postcode-lottery index. ``i2`` and ``true_cv`` increase with
    tau2, so their limits are those of tau2 mapped through the same formula and contain
    their point estimates too. ``reliability_mean`` is the mean over areas of
    ``tau2 / (tau2 + se_i^2)``.

    Areas without a value or with a missing / non-positive standard error are left out of
    the estimate and counted in ``n_no_se``; a group needs at least 2 usable areas.

    Parameters:
        frame: one row per area (and group).
        value: column of area values.
        se: column of their standard errors (see :func:`standard_error`).
        by: grouping column(s).
        reference: column with the reference (national) value per row; default: the
            random-effects mean ``mu``.
        method: ``"DL"`` (default), ``"PM"`` or ``"REML"``.
        level: confidence level of the intervals, at least 0.5 (default 0.95, columns ``_95``).

    Returns:
        One row per group: ``k, n_no_se, q, q_df, q_p, tau2, tau2_lower_95, tau2_upper_95,
        tau, i2, i2_lower_95, i2_upper_95, phi, mu, reference, true_cv, true_cv_lower_95,
        true_cv_upper_95, reliability_mean, variation_method, variation_note``;
        ``variation_method`` names the estimator and its interval, e.g.
        ``"DL (Biggerstaff-Tweedie interval)"``.

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0] * 5})
        >>> row = between_area_variation(df, by="g").row(0, named=True)
        >>> row["q"], round(row["tau2_lower_95"], 3), round(row["tau2_upper_95"], 3)
        (26.0, 1.333, 52.673)
        >>> row = between_area_variation(df.with_columns(se=pl.Series([1.0, 1, 1, 2, 2])), by="g", method="PM").row(0, named=True)
        >>> [round(row[c], 3) for c in ("tau2_lower_95", "tau2", "tau2_upper_95")], row["variation_method"]
        ([0.554, 4.321, 51.213], 'PM (Q-profile interval)')
    """
    if method not in METHODS:
        raise PublicServicesError(f"method must be one of {', '.join(METHODS)}, got {method!r}.\nFix: use method='DL', 'PM' or 'REML'.")
    level = _check_level(level)
    sfx = level_suffix(level)
    keys = [by] if isinstance(by, str) else list(by)
    df = frame.lazy().collect() if isinstance(frame, pl.LazyFrame) else frame
    if not keys:
        df = df.with_columns(pl.lit(0).alias("__all"))
        keys_used = ["__all"]
    else:
        keys_used = keys
    gid_all, key_frame = group_index(df, keys_used)
    size = key_frame.height
    y_all = df.get_column(value).cast(pl.Float64).to_numpy()
    se_all = df.get_column(se).cast(pl.Float64).to_numpy()
    has_y = np.isfinite(y_all)
    usable = has_y & np.isfinite(se_all) & (se_all > 0)
    gid, y, v = gid_all[usable], y_all[usable], se_all[usable] ** 2
    res = _tau2_all(gid, size, y, v, method, level) if size else {}
    n_no_se = np.bincount(gid_all[has_y & ~usable], minlength=size)
    if reference is not None:
        ref_all = df.get_column(reference).cast(pl.Float64).to_numpy()
        ref = np.full(size, np.nan)
        ref[gid_all] = ref_all  # constant within a group by contract
    else:
        ref = res.get("mu", np.zeros(0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # phi: z-scores against the reference (Spiegelhalter 2005)
        phi = _sums(gid, size, (y - ref[gid]) ** 2 / v) / res["k"] if size else np.zeros(0)
        i2 = lambda t: t / (t + res["s2"])  # noqa: E731
        rel = _sums(gid, size, res["tau2"][gid] / (res["tau2"][gid] + v)) / res["k"] if size else np.zeros(0)
        pos_ref = np.where(ref > 0, ref, np.nan)
        cv = lambda t: np.sqrt(t) / pos_ref  # noqa: E731
    few = res["k"] < 2 if size else np.zeros(0, dtype=bool)
    overflow = res["overflow"] if size else np.zeros(0, dtype=bool)
    converged = res["converged"] if size else np.zeros(0, dtype=bool)
    note = np.where(
        few, "fewer than 2 areas with a value and a standard error: between-area variance not estimable",
        np.where(overflow, "values or standard errors too extreme for floating point (the weighted sums overflow): "
                           "between-area variance not computed; rescale the values (e.g. per 1,000 instead of per 1)",
                 np.where(~np.isfinite(pos_ref), "reference value is not positive: no coefficient of variation",
                          np.where(~converged, "REML did not converge", None))),
    ).astype(object)
    out = key_frame.with_columns(
        pl.Series("k", res["k"].astype(np.int64) if size else [], dtype=pl.Int64),
        pl.Series("n_no_se", n_no_se.astype(np.int64), dtype=pl.Int64),
        pl.Series("q", res["q"] if size else [], dtype=pl.Float64),
        pl.Series("q_df", res["q_df"].astype(np.int64) if size else [], dtype=pl.Int64),
        pl.Series("q_p", res["q_p"] if size else [], dtype=pl.Float64),
        pl.Series("tau2", res["tau2"] if size else [], dtype=pl.Float64),
        pl.Series(f"tau2_lower{sfx}", res["tau2_lower"] if size else [], dtype=pl.Float64),
        pl.Series(f"tau2_upper{sfx}", res["tau2_upper"] if size else [], dtype=pl.Float64),
        pl.Series("tau", np.sqrt(res["tau2"]) if size else [], dtype=pl.Float64),
        pl.Series("i2", i2(res["tau2"]) if size else [], dtype=pl.Float64),
        pl.Series(f"i2_lower{sfx}", i2(res["tau2_lower"]) if size else [], dtype=pl.Float64),
        pl.Series(f"i2_upper{sfx}", i2(res["tau2_upper"]) if size else [], dtype=pl.Float64),
        pl.Series("phi", phi, dtype=pl.Float64),
        pl.Series("mu", res["mu"] if size else [], dtype=pl.Float64),
        pl.Series("reference", ref, dtype=pl.Float64),
        pl.Series("true_cv", cv(res["tau2"]) if size else [], dtype=pl.Float64),
        pl.Series(f"true_cv_lower{sfx}", cv(res["tau2_lower"]) if size else [], dtype=pl.Float64),
        pl.Series(f"true_cv_upper{sfx}", cv(res["tau2_upper"]) if size else [], dtype=pl.Float64),
        pl.Series("reliability_mean", rel, dtype=pl.Float64),
        pl.lit(f"{method} ({INTERVAL_METHODS[method]} interval)").alias("variation_method"),
        pl.Series("variation_note", _text(note), dtype=pl.String),
    ).fill_nan(None)
    return out.drop("__all") if not keys else out


def reliability(
    frame: pl.DataFrame,
    value: str = "value",
    se: str = "se",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    method: Literal["DL", "PM", "REML"] = "DL",
) -> pl.DataFrame:
    """Per-area reliability ``tau2 / (tau2 + se_i^2)`` and the shrunken (empirical Bayes) value.

    Method: with ``tau2`` from :func:`between_area_variation`, an area's reliability is the
    share of its observed deviation that is signal; the empirical-Bayes estimate of its true
    value shrinks the observation towards the random-effects mean ``mu`` by that factor,
    ``mu + R_i (y_i - mu)`` (Morris 1983 JASA 78:47-55; Spiegelhalter 2005).

    Parameters:
        frame: one row per area (and group).
        value, se: columns of values and standard errors.
        by: grouping column(s).
        method: ``"DL"``, ``"PM"`` or ``"REML"``.

    Returns:
        ``frame`` with ``tau2``, ``reliability`` and ``shrunk`` (null where ``se`` is missing).

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0, 1, 1, 1, 2]})
        >>> out = reliability(df, by="g")
        >>> [round(r, 3) for r in out["reliability"]]
        [0.849, 0.849, 0.849, 0.849, 0.584]
    """
    keys = [by] if isinstance(by, str) else list(by)
    est = between_area_variation(frame, value, se, by=keys or [], method=method).select(*keys, "tau2", "mu")
    joined = frame.join(est, on=keys, how="left", nulls_equal=True) if keys else frame.with_columns(
        pl.lit(est["tau2"][0]).alias("tau2"), pl.lit(est["mu"][0]).alias("mu"))
    r = pl.col("tau2") / (pl.col("tau2") + pl.col(se) ** 2)
    usable = pl.col(se).is_not_null() & (pl.col(se) > 0)
    return joined.with_columns(
        pl.when(usable).then(r).alias("reliability"),
    ).with_columns(
        pl.when(usable).then(pl.col("mu") + pl.col("reliability") * (pl.col(value) - pl.col("mu"))).alias("shrunk"),
    ).drop("mu")


def systematic_component(
    frame: pl.DataFrame | pl.LazyFrame,
    observed: str = "numerator",
    denominator: str = "denominator",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    binomial: bool = False,
) -> pl.DataFrame:
    """McPherson's systematic component of variation (SCV) for counts.

    Method: McPherson K, Wennberg JE, Hovind OB, Clifford P (1982) N Engl J Med
    307:1310-1314. Expected counts use the pooled rate, ``E_i = n_i * sum O / sum n``;
    ``SCV = mean_i [((O_i - E_i) / E_i)^2 - 1/E_i]``: the variance of the area ratios O/E with
    the Poisson part ``1/E_i`` removed, i.e. roughly the squared true CV of area rates.
    Tables in the literature often show ``SCV x 100``. With ``binomial=True`` (proportions) the
    removed part is ``(1 - p)/E_i``, the binomial sampling variance of ``O/E``. Areas with
    ``E_i = 0`` or missing counts are left out and counted in ``scv_n_excluded``.

    Parameters:
        frame: one row per area (and group).
        observed: observed counts column.
        denominator: population (or expected count) column.
        by: grouping column(s).
        binomial: use the binomial sampling variance (for proportions).

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"g": ["a"] * 3, "numerator": [90.0, 100.0, 140.0], "denominator": [1000.0] * 3})
        >>> round(systematic_component(df, by="g")["scv"][0], 6)
        0.029477
    """
    keys = [by] if isinstance(by, str) else list(by)
    o, n = pl.col(observed).cast(pl.Float64), pl.col(denominator).cast(pl.Float64)
    ok = o.is_not_null() & n.is_not_null() & (n > 0)
    p = o.filter(ok).sum() / n.filter(ok).sum()
    e = n.filter(ok) * p
    noise = (1 - p) / e if binomial else 1 / e
    term = ((o.filter(ok) - e) / e) ** 2 - noise
    lf = frame.lazy()
    if not keys:
        lf = lf.with_columns(pl.lit(0).alias("__all"))
    out = lf.group_by(keys or ["__all"], maintain_order=True).agg(
        pl.when(p > 0).then(term.mean()).alias("scv"),
        (~ok).sum().cast(pl.Int64).alias("scv_n_excluded"),
    ).collect()
    return out if keys else out.drop("__all")
