"""Shrinkage (fully Bayesian by default) and simulated rank uncertainty.

:func:`shrink` pulls each unit's estimate towards the average by as much as its own noise
warrants: beta-binomial for proportions, Poisson-gamma for rates and ratios, and the normal
random-effects model otherwise. By default the prior's parameters -- the average and the
between-unit variation -- are integrated out (uniform shrinkage prior, exact grid
integration), so intervals keep their width when the variation is estimated near zero;
``estimator="ml"``/``"moments"`` give plain empirical Bayes (maximum likelihood of the
beta-binomial / negative binomial, or moments; DerSimonian-Laird for the normal model).

:func:`~publicservices.stats.ranking.rank_intervals.rank_intervals` draws every unit's true value from its posterior (or its sampling
distribution), ranks the units within each simulation, and reports the median rank, the 95%
rank interval and the chance of being in the top or bottom 10% -- the honest league table
(Goldstein & Spiegelhalter 1996; Marshall & Spiegelhalter 1998). Ties are ranked as ties:
never by row order.

References: Efron B, Morris C (1975) JASA 70:311; Clayton D, Kaldor J (1987) Biometrics
43:671 (Poisson-gamma); Kleinman JC (1973) JASA 68:46 and Griffiths DA (1973) Biometrics 29:637
(beta-binomial); DerSimonian R, Laird N (1986) Control Clin Trials 7:177; Christiansen CL,
Morris CN (1997) JASA 92:618 and Daniels MJ (1999) Can J Stat 27:567 (uniform shrinkage
prior); Gelman A et al. (2013) Bayesian Data Analysis, 3rd ed., 5.4; Goldstein H,
Spiegelhalter DJ (1996) JRSS A 159:385; Marshall EC, Spiegelhalter DJ (1998) BMJ 316:1701;
Dobson AJ et al. (1991) Stat Med 10:457.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C"], "numerator": [2.0, 30.0, 250.0],
    ...                    "denominator": [10.0, 100.0, 1000.0]})
    >>> out = shrink(df, measure="proportion", multiplier=100)
    >>> out.select("area_code", "raw_value").to_dicts()[0]
    {'area_code': 'A', 'raw_value': 20.0}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats._common import Z95, require_columns
from publicservices.stats.fairness.tau2 import dersimonian_laird
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking.full_bayes import MAX_PRECISION, conjugate_full_bayes, normal_full_bayes

__all__ = ["shrink"]


# --------------------------------------------------------------------------------------
# Prior fitting
# --------------------------------------------------------------------------------------


def _fit_beta_binomial(x: np.ndarray, n: np.ndarray, estimator: str) -> tuple[float, float]:
    """Beta(a, b) prior for proportions: moments (DL on the raw proportions) then ML."""
    from scipy.optimize import minimize
    from scipy.special import betaln, digamma, expit, logit

    p_bar = x.sum() / n.sum()
    p_bar = min(max(p_bar, 1e-9), 1 - 1e-9)
    _, tau2, _ = dersimonian_laird(x / n, np.sqrt(p_bar * (1 - p_bar) / n))
    m0 = p_bar * (1 - p_bar) / tau2 - 1 if tau2 > 0 else MAX_PRECISION
    m0 = min(max(m0, 1e-3), MAX_PRECISION)
    if estimator == "moments":
        return p_bar * m0, (1 - p_bar) * m0

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, m = expit(theta[0]), math.exp(theta[1])
        a, b = mu * m, (1 - mu) * m
        ll = (betaln(x + a, n - x + b) - betaln(a, b)).sum()
        common = (digamma(a + b) - digamma(n + a + b)).sum()
        da = (digamma(x + a) - digamma(a)).sum() + common
        db = (digamma(n - x + b) - digamma(b)).sum() + common
        # chain rule to (logit mu, log m)
        g0 = (da - db) * m * mu * (1 - mu)
        g1 = (da * mu + db * (1 - mu)) * m
        return -ll, -np.array([g0, g1])

    start = np.array([logit(p_bar), math.log(m0)])
    res = minimize(
        nll,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-9},
        bounds=[(-30, 30), (math.log(1e-3), math.log(MAX_PRECISION))],
    )
    mu, m = expit(res.x[0]), math.exp(res.x[1])
    return mu * m, (1 - mu) * m


def _fit_poisson_gamma(x: np.ndarray, e: np.ndarray, estimator: str) -> tuple[float, float]:
    """Gamma(shape a, rate b) prior for rates (x events in exposure e): moments then ML."""
    from scipy.optimize import minimize
    from scipy.special import digamma, gammaln

    lam = max(x.sum() / e.sum(), 1e-12)
    _, tau2, _ = dersimonian_laird(x / e, np.sqrt(lam / e))
    a0 = lam * lam / tau2 if tau2 > 0 else MAX_PRECISION
    a0 = min(max(a0, 1e-3), MAX_PRECISION)
    if estimator == "moments":
        return a0, a0 / lam

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, a = math.exp(theta[0]), math.exp(theta[1])
        b = a / mu
        ll = (gammaln(x + a) - gammaln(a) + a * math.log(b) - (x + a) * np.log(b + e)).sum()
        da = (digamma(x + a) - digamma(a) + math.log(b) - np.log(b + e)).sum()
        db = (a / b - (x + a) / (b + e)).sum()
        # a and b = a/mu as functions of (log mu, log a)
        g_logmu = db * (-b)
        g_loga = (da + db / mu) * a
        return -ll, -np.array([g_logmu, g_loga])

    start = np.array([math.log(lam), math.log(a0)])
    res = minimize(
        nll,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-9},
        bounds=[(-60, 60), (math.log(1e-3), math.log(MAX_PRECISION))],
    )
    mu, a = math.exp(res.x[0]), math.exp(res.x[1])
    return a, a / mu


# --------------------------------------------------------------------------------------
# shrink()
# --------------------------------------------------------------------------------------
def standard_errors(frame: pl.DataFrame, measure: str | None, mult: float) -> tuple[np.ndarray, str]:
    """Each row's standard error on the value's scale, from the first source a row has:

    1. an ``se`` column;
    2. ``lower_ci``/``upper_ci``, read as a 95% interval: (upper - lower) / (2 x 1.959964);
    3. the counts, by measure -- proportion: the Wilson score interval's half-width / 1.96,
       sqrt(p(1 - p)/n + z^2/4n^2) / (1 + z^2/n) (Wilson 1927), never 0 at 0% or 100%;
       rate and ratio: the Poisson score interval's, sqrt(x + z^2/4) / n; dsr:
       value / sqrt(O), the delta-method variance DSR^2 / O that Dobson et al. (1991) and
       Byar's limits rest on when the counts are all there is.

    Returns (se, a description of the sources used). Rows with no source get NaN.
    """
    h = frame.height
    se = np.full(h, np.nan)
    used: list[str] = []

    def fill(values: np.ndarray, label: str) -> None:
        take = ~np.isfinite(se) & np.isfinite(values)
        if take.any():
            se[take] = values[take]
            used.append(label)

    if "se" in frame.columns:
        fill(ru.numeric(frame, "se", allow_null=True), "se")
    if {"lower_ci", "upper_ci"} <= set(frame.columns):
        fill(
            (ru.numeric(frame, "upper_ci", allow_null=True) - ru.numeric(frame, "lower_ci", allow_null=True)) / (2 * Z95),
            "95% interval",
        )
    if measure in ("proportion", "rate", "ratio", "dsr") and "numerator" in frame.columns:
        x = ru.numeric(frame, "numerator", allow_null=True)
        n = ru.numeric(frame, "denominator", allow_null=True) if "denominator" in frame.columns else np.full(h, np.nan)
        z2 = Z95 * Z95
        with np.errstate(divide="ignore", invalid="ignore"):
            if measure == "proportion":
                p = x / n
                fill(np.sqrt(np.maximum(p * (1 - p), 0) / n + z2 / (4 * n * n)) / (1 + z2 / n) * mult, "counts (Wilson)")
            elif measure in ("rate", "ratio"):
                fill(np.sqrt(np.maximum(x, 0) + z2 / 4) / n * mult, "counts (Poisson score)")
            elif "value" in frame.columns:
                v = ru.numeric(frame, "value", allow_null=True)
                fill(np.where(x > 0, np.abs(v) / np.sqrt(x), np.nan), "counts (Dobson: value / sqrt(events))")
    return se, ", ".join(used)


def raise_missing_se(frame: pl.DataFrame, bad: np.ndarray, measure: str | None, what: str) -> None:
    """Raise a DataError naming the rows that have a value but no standard error."""
    if not bad.any():
        return
    sources = "an 'se' column, or lower_ci/upper_ci (95%)"
    if measure == "dsr":
        sources += ", or the number of events in 'numerator' (above 0)"
    elif measure in ("proportion", "rate", "ratio"):
        sources += ", or numerator and denominator"
    have = [c for c in ("se", "lower_ci", "upper_ci", "numerator", "denominator") if c in frame.columns]
    has = ", ".join(have) if have else "none of se, lower_ci, upper_ci, numerator, denominator"
    raise DataError(
        problem(
            "se",
            f"cannot be found for a row with a value ({what}; the frame has {has})",
            rows=ru.row_labels(frame, bad),
            total=int(bad.sum()),
            fix=f"Give each row {sources}; or filter those rows out; or pass missing_se='skip' to keep them with null results.",
        )
    )


def shrink(
    frame: Any,
    indicator: Indicator | str | None = None,
    *,
    method: Literal["auto", "beta_binomial", "poisson_gamma", "normal"] = "auto",
    estimator: Literal["bayes", "ml", "moments"] = "bayes",
    level: float = 0.95,
    by: Sequence[str] | str | None = None,
    indicators: Mapping[str, Indicator] | None = None,
    measure: str | None = None,
    multiplier: float | None = None,
    missing_se: Literal["raise", "skip"] = "raise",
) -> pl.DataFrame:
    """Shrunken estimates with posterior intervals that allow for the uncertainty in the prior.

    Methods (``method="auto"`` picks by the indicator's measure):

    * ``beta_binomial`` (proportion with counts): x_i ~ Bin(n_i, p_i), p_i ~ Beta(m M, (1 - m) M)
      (Kleinman 1973; Griffiths 1973);
    * ``poisson_gamma`` (rate: events / person-time; ratio: observed / expected, with counts):
      x_i ~ Poisson(lambda_i e_i), lambda_i ~ Gamma(m b, b) (Clayton & Kaldor 1987);
    * ``normal`` (mean, score, dsr, or any value): y_i ~ N(theta_i, s_i^2), theta_i ~ N(mu,
      tau^2), s_i from ``se``, ``lower_ci``/``upper_ci`` or the counts (see below).

    Estimators:

    * ``"bayes"`` (default): the prior's parameters are integrated out, so the intervals carry
      the uncertainty in the between-unit variance and do not collapse when it is estimated
      near zero. The precision (M, b, or tau^2 through u = s0^2 / (s0^2 + tau^2)) has the
      *uniform shrinkage prior* u ~ Uniform(0, 1), scaled by the harmonic mean of the unit
      sizes or variances (Christiansen & Morris 1997 JASA 92:618; Daniels 1999 Can J Stat
      27:567); the mean has a flat (normal) or Jeffreys (beta, gamma) prior. The posterior of
      u is computed on a grid (Gelman et al., Bayesian Data Analysis, 3rd ed., 5.4); the mean
      is integrated exactly (normal) or by Gauss-Hermite quadrature (beta, gamma). Each
      unit's posterior is the resulting mixture: ``value`` is its mean, the interval its
      equal-tailed quantiles (solved exactly), ``shrinkage`` the posterior mean of the weight
      on the prior mean.
    * ``"ml"`` / ``"moments"``: plain empirical Bayes -- the prior fitted by maximum likelihood
      of the beta-binomial / negative binomial, or by moments, and treated as known (normal:
      DerSimonian-Laird tau^2 for both); posterior Beta(a + x, b + n - x), Gamma(a + x, b + e)
      or N(mu + B(y - mu), B s^2). Intervals ignore the prior's uncertainty and can have zero
      width when tau^2 is estimated as 0.

    Standard errors for the normal model come, row by row, from ``se``, else
    ``lower_ci``/``upper_ci`` (read as 95%), else the counts: Wilson (proportion), Poisson
    score (rate, ratio) or value / sqrt(events) (dsr; Dobson et al. 1991). A row with a value
    and none of these raises a DataError naming it (``missing_se="skip"`` keeps it with null
    results instead); rows with no value or counts are kept with null results, and so is a
    group with fewer than two usable units (there is no variation between units to learn).

    Parameters:
        frame: a Dataset or values frame.
        indicator: the Indicator or its id.
        method, estimator: as above.
        level: credible level; 0.95 gives ``lower_95``/``upper_95``, other levels
            ``lower``/``upper``.
        by: grouping columns (default indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category); one prior per group.
        measure, multiplier: override or replace the indicator's metadata.
        missing_se: ``"raise"`` or ``"skip"`` rows that have a value but no standard error.

    Returns the frame with ``raw_value`` (the unshrunk estimate), ``value`` (posterior mean),
    the interval, ``posterior_sd``, ``shrinkage`` (weight on the prior mean, 0-1),
    ``prior_mean``, and ``posterior`` / ``posterior_a`` / ``posterior_b``: the family and
    parameters, on the natural scale, that :func:`rank_intervals` draws from (with
    ``"bayes"``, the beta, gamma or normal with the mixture's mean and variance).

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "numerator": [1.0, 9.0, 50.0, 400.0],
    ...                    "denominator": [10.0, 30.0, 200.0, 1000.0]})
    >>> out = shrink(df, measure="rate", multiplier=1000)
    >>> out["posterior"][0], bool(out["shrinkage"][0] > out["shrinkage"][3])
    ('gamma', True)
    """
    frame, ind = ru.resolve(frame, indicator, indicators)
    measure = measure or (ind.measure if ind else None)
    if multiplier is None:
        multiplier = ind.multiplier if ind else 1.0
    if method == "auto":
        if measure is None:
            raise SchemaError("shrink needs an indicator or measure=...\nFix: pass the Indicator or measure='proportion'.")
        chosen: dict[str, Literal["beta_binomial", "poisson_gamma", "normal"]] = {
            "proportion": "beta_binomial",
            "rate": "poisson_gamma",
            "ratio": "poisson_gamma",
        }
        method = chosen.get(measure, "normal")
        if method != "normal" and not {"numerator", "denominator"} <= set(frame.columns):
            method = "normal"
    if method not in ("beta_binomial", "poisson_gamma", "normal"):
        raise DataError(f"unknown shrinkage method {method!r}.\nFix: use 'auto', 'beta_binomial', 'poisson_gamma' or 'normal'.")
    if estimator not in ("bayes", "ml", "moments"):
        raise DataError(f"unknown estimator {estimator!r}.\nFix: use 'bayes' (the default), 'ml' or 'moments'.")
    if missing_se not in ("raise", "skip"):
        raise DataError(f"missing_se must be 'raise' or 'skip', not {missing_se!r}.\nFix: use one of those.")
    if not 0 < level < 1:
        raise DataError(f"level must lie between 0 and 1, not {level!r}.\nFix: e.g. level=0.95.")
    keys = ru.group_keys(frame, by)
    parts = [
        _shrink_group(p, method, estimator, level, float(multiplier), measure, missing_se) for p in ru.partitions(frame, keys)
    ]
    return pl.concat(parts, how="vertical")


def _shrink_group(
    frame: pl.DataFrame,
    method: str,
    estimator: str,
    level: float,
    mult: float,
    measure: str | None = None,
    missing_se: str = "raise",
) -> pl.DataFrame:
    from scipy.special import betaincinv, gammaincinv, ndtri

    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    h = frame.height
    post_mean = np.full(h, np.nan)
    post_sd = np.full(h, np.nan)
    lower = np.full(h, np.nan)
    upper = np.full(h, np.nan)
    weight = np.full(h, np.nan)
    pa = np.full(h, np.nan)
    pb = np.full(h, np.nan)
    raw = np.full(h, np.nan)
    prior_mean = float("nan")
    bayes = estimator == "bayes"
    if method in ("beta_binomial", "poisson_gamma"):
        require_columns(frame, ["numerator", "denominator"], f"{method} shrinkage needs counts")
        x = ru.numeric(frame, "numerator", allow_null=True)
        n = ru.numeric(frame, "denominator", allow_null=True)
        ok = np.isfinite(x) & np.isfinite(n)
        ru.check(frame, "numerator", ok & (x < 0), "is negative", "Counts cannot be below zero.")
        ru.check(
            frame,
            "denominator",
            ok & (n <= 0),
            "is zero or negative",
            "Remove units with no population, or correct the denominator.",
        )
        if method == "beta_binomial":
            ru.check(
                frame,
                "numerator",
                ok & (x > n),
                "exceeds the denominator",
                "A proportion's numerator cannot exceed its denominator.",
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(ok, x / n, np.nan)
        family = "beta" if method == "beta_binomial" else "gamma"
        if ok.sum() >= 2:
            xo, no = x[ok], n[ok]
            if bayes:
                fit = conjugate_full_bayes(xo, no, family, (lo_q, hi_q))
                m, v = fit["mean"], fit["sd"] ** 2
                post_mean[ok], post_sd[ok] = m, fit["sd"]
                lower[ok], upper[ok] = fit["quantiles"]
                weight[ok] = fit["shrinkage"]
                prior_mean = fit["prior_mean"]
                if family == "beta":  # the beta with the mixture's mean and variance
                    nu = m * (1 - m) / v - 1
                    pa[ok], pb[ok] = m * nu, (1 - m) * nu
                else:
                    pa[ok], pb[ok] = m * m / v, m / v
            elif family == "beta":
                a, b = _fit_beta_binomial(xo, no, estimator)
                pa[ok], pb[ok] = a + xo, b + no - xo
                post_mean[ok] = pa[ok] / (pa[ok] + pb[ok])
                tot = pa[ok] + pb[ok]
                post_sd[ok] = np.sqrt(pa[ok] * pb[ok] / (tot * tot * (tot + 1)))
                lower[ok], upper[ok] = betaincinv(pa[ok], pb[ok], lo_q), betaincinv(pa[ok], pb[ok], hi_q)
                weight[ok] = (a + b) / (a + b + no)
                prior_mean = a / (a + b)
            else:
                a, b = _fit_poisson_gamma(xo, no, estimator)
                pa[ok], pb[ok] = a + xo, b + no
                post_mean[ok] = pa[ok] / pb[ok]
                post_sd[ok] = np.sqrt(pa[ok]) / pb[ok]
                lower[ok], upper[ok] = gammaincinv(pa[ok], lo_q) / pb[ok], gammaincinv(pa[ok], hi_q) / pb[ok]
                weight[ok] = b / (b + no)
                prior_mean = a / b
    else:
        require_columns(frame, ["value"], "normal shrinkage needs a value column")
        value = ru.numeric(frame, "value", allow_null=True)
        y = value / mult
        se, _ = standard_errors(frame, measure, mult)
        if not {"se", "lower_ci", "upper_ci", "numerator"} & set(frame.columns):
            raise SchemaError(
                problem(
                    "se",
                    "is missing (normal shrinkage needs each unit's standard error)",
                    fix="Add an 'se' column, or lower_ci/upper_ci (95%) columns"
                    + (", or the event counts in 'numerator'." if measure == "dsr" else "."),
                )
            )
        if missing_se == "raise":
            raise_missing_se(frame, np.isfinite(value) & ~np.isfinite(se), measure, "normal shrinkage needs it")
        se = se / mult
        ok = np.isfinite(y) & np.isfinite(se)
        ru.check(frame, "se", ok & ~(se > 0), "is not positive", "Standard errors must be above zero.")
        raw = np.where(ok, y, np.nan)
        if ok.sum() >= 2:
            if bayes:
                fit = normal_full_bayes(y[ok], se[ok] ** 2, (lo_q, hi_q))
                post_mean[ok], post_sd[ok] = fit["mean"], fit["sd"]
                lower[ok], upper[ok] = fit["quantiles"]
                weight[ok] = fit["shrinkage"]
                prior_mean = fit["prior_mean"]
            else:
                mu, tau2, _ = dersimonian_laird(y[ok], se[ok])
                s2 = se[ok] ** 2
                b_ = tau2 / (tau2 + s2)
                post_mean[ok] = mu + b_ * (y[ok] - mu)
                post_sd[ok] = np.sqrt(b_ * s2)
                lower[ok] = post_mean[ok] + ndtri(lo_q) * post_sd[ok]
                upper[ok] = post_mean[ok] + ndtri(hi_q) * post_sd[ok]
                weight[ok] = 1 - b_
                prior_mean = mu
            pa[ok], pb[ok] = post_mean[ok], post_sd[ok]
        family = "normal"
    lo_name, hi_name = ("lower_95", "upper_95") if abs(level - 0.95) < 1e-12 else ("lower", "upper")
    new = {
        "raw_value": raw * mult,
        "value": post_mean * mult,
        lo_name: lower * mult,
        hi_name: upper * mult,
        "posterior_sd": post_sd * mult,
        "shrinkage": weight,
        "prior_mean": np.full(h, prior_mean * mult),
    }
    out = frame.drop([c for c in (*new, "posterior", "posterior_a", "posterior_b") if c in frame.columns])
    fitted = pl.Series("posterior", np.isfinite(post_mean))  # a group with fewer than 2 usable units has no fit
    return out.with_columns(
        *[pl.Series(k, v, nan_to_null=True) for k, v in new.items()],
        pl.when(fitted).then(pl.lit(family)).otherwise(pl.lit(None, dtype=pl.String)).alias("posterior"),
        pl.Series("posterior_a", pa, nan_to_null=True),
        pl.Series("posterior_b", pb, nan_to_null=True),
    )
