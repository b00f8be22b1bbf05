"""True (excess) variation between areas: how much of the spread is real, not sampling noise.

Every area's value is a noisy measurement of its true value. The observed spread between areas
mixes the real differences (variance ``tau^2``) with each area's sampling error (``se_i^2``).
This module separates them, as a random-effects meta-analysis does for studies:

* ``tau2`` -- the between-area variance beyond sampling noise: DerSimonian & Laird (1986)
  moment estimator by default, restricted maximum likelihood (REML) as an option;
* its confidence interval by the Q-profile method (Viechtbauer 2007);
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

References: DerSimonian R, Laird N (1986) Control Clin Trials 7:177-188; Viechtbauer W (2005)
J Educ Behav Stat 30:261-293 (REML); Viechtbauer W (2007) Stat Med 26:37-52 (Q-profile);
Higgins JPT, Thompson SG (2002) Stat Med 21:1539-1558; Spiegelhalter DJ (2005) Stat Med
24:1185-1202; McPherson K et al. (1982) N Engl J Med 307:1310-1314.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0] * 5})
    >>> row = between_area_variation(df, by="g").row(0, named=True)
    >>> row["tau2"], round(row["i2"], 4), round(row["true_cv"], 4)
    (5.5, 0.8462, 0.1954)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
]

METHODS: tuple[str, ...] = ("DL", "REML")
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


def _q_gen(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Q statistic at tau2 = t per group, and its derivative in t."""
    with np.errstate(divide="ignore", invalid="ignore"):  # groups without rows stay NaN
        w = 1.0 / (v + t[gid])
        mu = _sums(gid, size, w * y) / _sums(gid, size, w)
    r2 = (y - mu[gid]) ** 2
    return _sums(gid, size, w * r2), -_sums(gid, size, w * w * r2)


def _q_root(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """tau2 solving Q_gen(tau2) = target in every group (0 when Q_gen(0) <= target).

    Q_gen is decreasing and convex in tau2 (a partial minimum of the jointly convex
    quadratic-over-linear sum), so Newton's method started at 0 climbs monotonically to the
    root without overshooting; no bracketing is needed.
    """
    t = np.zeros(size)
    q, dq = _q_gen(gid, size, y, v, t)
    active = np.isfinite(target) & (q > target)
    for _ in range(500):
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(active, (q - target) / -dq, 0.0)
        step = np.where(np.isfinite(step) & (step > 0), step, 0.0)
        t = t + step
        active = active & (step > 1e-13 * np.maximum(t, 1e-300))
        q, dq = _q_gen(gid, size, y, v, t)
    return t


def _reml(gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """REML tau2 by Fisher scoring (Viechtbauer 2005), truncated at 0; returns (tau2, converged)."""
    t = start.copy()
    converged = np.zeros(size, dtype=bool)
    for _ in range(200):
        w = 1.0 / (v + t[gid])
        sw, sw2, sw3 = _sums(gid, size, w), _sums(gid, size, w * w), _sums(gid, size, w**3)
        mu = _sums(gid, size, w * y) / sw
        ypy = _sums(gid, size, (w * (y - mu[gid])) ** 2)
        tr_p = sw - sw2 / sw
        tr_p2 = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.maximum(0.0, t + (ypy - tr_p) / tr_p2)
        new = np.where(np.isfinite(new), new, t)
        converged = np.abs(new - t) <= 1e-10 * (1.0 + t)
        t = new
        if converged.all():
            break
    return t, converged


def _tau2_all(
    gid: np.ndarray, size: int, y: np.ndarray, v: np.ndarray, method: str, level: float
) -> dict[str, np.ndarray]:
    """DL or REML tau2 with Q-profile limits and heterogeneity statistics for every group."""
    from scipy import special  # lighter to import than scipy.stats

    k = np.bincount(gid, minlength=size).astype(float)
    w = 1.0 / v
    sw, sw2 = _sums(gid, size, w), _sums(gid, size, w * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_fe = _sums(gid, size, w * y) / sw
        q = _sums(gid, size, w * (y - mu_fe[gid]) ** 2)
        df = k - 1
        c = sw - sw2 / sw
        tau2 = np.maximum(0.0, (q - df) / c)
        s2 = df / c  # "typical" within-area variance (Higgins & Thompson 2002)
    converged = np.ones(size, dtype=bool)
    if method == "REML":
        tau2, converged = _reml(gid, size, y, v, np.where(np.isfinite(tau2), tau2, 0.0))
    alpha = 1 - level
    ok = df >= 1
    dfc = np.where(ok, df, 1.0)
    # chdtri(df, p) is the chi-square quantile with upper-tail probability p
    lo_target = np.where(ok, special.chdtri(dfc, alpha / 2), np.nan)
    hi_target = np.where(ok, special.chdtri(dfc, 1 - alpha / 2), np.nan)
    # both limits in one sweep: stack the rows twice, the second copy in groups size..2*size
    both = _q_root(
        np.concatenate([gid, gid + size]), 2 * size, np.concatenate([y, y]), np.concatenate([v, v]),
        np.concatenate([lo_target, hi_target]),
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # one-area groups have no tau2
        w_re = 1.0 / (v + tau2[gid])
        mu_re = _sums(gid, size, w_re * y) / _sums(gid, size, w_re)
        q_p = np.where(ok, special.chdtrc(dfc, q), np.nan)
    nan = np.where(ok, 1.0, np.nan)
    return {
        "k": k, "q": q * nan, "q_df": df, "q_p": q_p, "tau2": tau2 * nan,
        "tau2_lower": both[:size] * nan, "tau2_upper": both[size:] * nan,
        "s2": s2 * nan, "mu": mu_re, "mu_fe": mu_fe, "converged": converged,
    }


def between_area_variation(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str = "value",
    se: str = "se",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    reference: str | None = None,
    method: Literal["DL", "REML"] = "DL",
    level: float = 0.95,
) -> pl.DataFrame:
    """Between-area variance beyond chance (tau^2), its Q-profile interval, I^2, phi and true CV.

    Method: random-effects model ``y_i = mu + u_i + e_i``, ``u_i ~ (0, tau2)``,
    ``e_i ~ (0, se_i^2)``. ``tau2`` by DerSimonian & Laird (1986) --
    ``max(0, (Q - (k-1)) / (sum w - sum w^2 / sum w))`` with ``w = 1/se^2`` and Cochran's
    ``Q = sum w (y - mu_FE)^2`` -- or by REML (Fisher scoring, Viechtbauer 2005). The interval
    inverts the generalised Q statistic (Q-profile, Viechtbauer 2007):
    ``Q_gen(tau2) = sum (y - mu(tau2))^2 / (se^2 + tau2)`` equals the chi-square ``(k-1)``
    quantiles ``1 - alpha/2`` (lower) and ``alpha/2`` (upper); a limit is 0 when ``Q`` is
    already below its quantile. ``i2 = tau2 / (tau2 + s^2)`` with
    ``s^2 = (k-1) sum w / ((sum w)^2 - sum w^2)`` -- for DL this is Higgins' ``(Q - df)/Q``.
    ``phi = mean(((y - reference) / se)^2)`` (Spiegelhalter 2005). ``true_cv = sqrt(tau2) /
    reference``, the postcode-lottery index, with the interval from the ``tau2`` limits.
    ``reliability_mean`` is the mean over areas of ``tau2 / (tau2 + se_i^2)``.

    Areas without a value or with a missing / non-positive standard error are left out of
    the estimate and counted in ``n_no_se``; a group needs at least 2 usable areas.

    Parameters:
        frame: one row per area (and group).
        value: column of area values.
        se: column of their standard errors (see :func:`standard_error`).
        by: grouping column(s).
        reference: column with the reference (national) value per row; default: the
            random-effects mean ``mu``.
        method: ``"DL"`` (default) or ``"REML"``.
        level: confidence level of the intervals (default 0.95, columns ``_95``).

    Returns:
        One row per group: ``k, n_no_se, q, q_df, q_p, tau2, tau2_lower_95, tau2_upper_95,
        tau, i2, i2_lower_95, i2_upper_95, phi, mu, reference, true_cv, true_cv_lower_95,
        true_cv_upper_95, reliability_mean, variation_method, variation_note``.

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"g": ["a"] * 5, "value": [10.0, 12.0, 15.0, 9.0, 14.0], "se": [1.0] * 5})
        >>> row = between_area_variation(df, by="g").row(0, named=True)
        >>> row["q"], round(row["tau2_lower_95"], 3), round(row["tau2_upper_95"], 3)
        (26.0, 1.333, 52.673)
    """
    if method not in METHODS:
        raise PublicServicesError(f"method must be one of {', '.join(METHODS)}, got {method!r}.\nFix: use method='DL' or method='REML'.")
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
    with np.errstate(divide="ignore", invalid="ignore"):
        # phi: z-scores against the reference (Spiegelhalter 2005)
        phi = _sums(gid, size, (y - ref[gid]) ** 2 / v) / res["k"] if size else np.zeros(0)
        i2 = lambda t: t / (t + res["s2"])  # noqa: E731
        rel = _sums(gid, size, res["tau2"][gid] / (res["tau2"][gid] + v)) / res["k"] if size else np.zeros(0)
        pos_ref = np.where(ref > 0, ref, np.nan)
        cv = lambda t: np.sqrt(t) / pos_ref  # noqa: E731
    few = res["k"] < 2 if size else np.zeros(0, dtype=bool)
    note = np.where(
        few, "fewer than 2 areas with a value and a standard error: between-area variance not estimable",
        np.where(~np.isfinite(pos_ref), "reference value is not positive: no coefficient of variation",
                 np.where(~res["converged"], "REML did not converge in 200 iterations", None)),
    ) if size else np.zeros(0, dtype=object)
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
        pl.lit(method).alias("variation_method"),
        pl.Series("variation_note", _text(note), dtype=pl.String),
    ).fill_nan(None)
    return out.drop("__all") if not keys else out


def reliability(
    frame: pl.DataFrame,
    value: str = "value",
    se: str = "se",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    method: Literal["DL", "REML"] = "DL",
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
        method: ``"DL"`` or ``"REML"``.

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
