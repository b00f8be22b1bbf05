"""Shrinkage (fully Bayesian by default) and simulated rank uncertainty.

:func:`shrink` pulls each unit's estimate towards the average by as much as its own noise
warrants: beta-binomial for proportions, Poisson-gamma for rates and ratios, and the normal
random-effects model otherwise. By default the prior's parameters -- the average and the
between-unit variation -- are integrated out (uniform shrinkage prior, exact grid
integration), so intervals keep their width when the variation is estimated near zero;
``estimator="ml"``/``"moments"`` give plain empirical Bayes (maximum likelihood of the
beta-binomial / negative binomial, or moments; DerSimonian-Laird for the normal model).

:func:`rank_intervals` draws every unit's true value from its posterior (or its sampling
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
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats import _rankutil as ru

__all__ = ["shrink", "rank_intervals", "simulate_ranks", "dersimonian_laird"]

_Z95 = 1.959963984540054
_MAX_PRECISION = 1e12  # cap on alpha + beta: beyond it the prior is a point mass (no between-unit variation)


# --------------------------------------------------------------------------------------
# Prior fitting
# --------------------------------------------------------------------------------------
def dersimonian_laird(y: Any, se: Any) -> tuple[float, float, float]:
    """DerSimonian-Laird random-effects fit: returns (mu, tau2, se of mu).

    tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)), Q = sum w (y - y_w)^2 with
    w = 1/se^2; mu is the mean weighted by 1 / (se^2 + tau^2). DerSimonian R, Laird N (1986)
    Control Clin Trials 7:177.

    Parameters:
        y: estimates.
        se: their standard errors.

    >>> mu, tau2, _ = dersimonian_laird([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5])
    >>> round(mu, 4), round(tau2, 4)
    (2.5, 1.4167)
    """
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    w = 1 / v
    yw = (w * y).sum() / w.sum()
    q = (w * (y - yw) ** 2).sum()
    denom = w.sum() - (w * w).sum() / w.sum()
    tau2 = max(0.0, (q - (y.size - 1)) / denom) if denom > 0 else 0.0
    ws = 1 / (v + tau2)
    mu = float((ws * y).sum() / ws.sum())
    return mu, float(tau2), float(math.sqrt(1 / ws.sum()))


def _fit_beta_binomial(x: np.ndarray, n: np.ndarray, estimator: str) -> tuple[float, float]:
    """Beta(a, b) prior for proportions: moments (DL on the raw proportions) then ML."""
    from scipy.optimize import minimize
    from scipy.special import betaln, digamma, expit, logit

    p_bar = x.sum() / n.sum()
    p_bar = min(max(p_bar, 1e-9), 1 - 1e-9)
    _, tau2, _ = dersimonian_laird(x / n, np.sqrt(p_bar * (1 - p_bar) / n))
    m0 = p_bar * (1 - p_bar) / tau2 - 1 if tau2 > 0 else _MAX_PRECISION
    m0 = min(max(m0, 1e-3), _MAX_PRECISION)
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
    res = minimize(nll, start, jac=True, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-9},
                   bounds=[(-30, 30), (math.log(1e-3), math.log(_MAX_PRECISION))])
    mu, m = expit(res.x[0]), math.exp(res.x[1])
    return mu * m, (1 - mu) * m


def _fit_poisson_gamma(x: np.ndarray, e: np.ndarray, estimator: str) -> tuple[float, float]:
    """Gamma(shape a, rate b) prior for rates (x events in exposure e): moments then ML."""
    from scipy.optimize import minimize
    from scipy.special import digamma, gammaln

    lam = max(x.sum() / e.sum(), 1e-12)
    _, tau2, _ = dersimonian_laird(x / e, np.sqrt(lam / e))
    a0 = lam * lam / tau2 if tau2 > 0 else _MAX_PRECISION
    a0 = min(max(a0, 1e-3), _MAX_PRECISION)
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
    res = minimize(nll, start, jac=True, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-9},
                   bounds=[(-60, 60), (math.log(1e-3), math.log(_MAX_PRECISION))])
    mu, a = math.exp(res.x[0]), math.exp(res.x[1])
    return a, a / mu


# --------------------------------------------------------------------------------------
# Fully Bayesian hyperparameters: integrate over the between-unit variance on a grid
# --------------------------------------------------------------------------------------
_GRID = 64  # coarse grid on t = logit(u), u the shrinkage scale: finds where the posterior lives
_FINE = 32  # fewest points of a zoomed grid; the midpoint rule is spectrally accurate for a smooth posterior
_GH = 5  # Gauss-Hermite nodes for the prior mean of the beta and gamma models (moments only)
_DROP = 40.0  # grid points whose log posterior is this far below the peak carry no mass (< e^-40)
_MASS = 1 - 1e-7  # mixture components kept: the heaviest ones holding this much posterior mass


def _shrinkage_grid(log_post: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive grid on t = logit(u), u ~ Uniform(0, 1) the shrinkage scale.

    In t the prior is the logistic density u (1 - u) (``log_post`` must include it), and the
    posterior is smooth and decays at least exponentially in both tails, so the midpoint rule
    with equal weights is accurate once the spacing is below the posterior sd of t (error of
    order exp(-2 pi^2 (sd / h)^2)). A coarse grid of _GRID points on [lo, hi] finds where the
    posterior lives (log posterior within _DROP of its peak); midpoint grids then cover that
    range (plus one cell either side) with spacing at most sd / 1.5 (half the last spacing
    while that is too coarse to measure sd; at least _FINE, at most 256 points), re-measured
    until it holds -- so a posterior 0.01 wide in t (tens of
    thousands of units) and one spread over tens of units of t (eight units) are both resolved.
    Returns (t, log posterior at t).
    """
    t = np.linspace(lo, hi, _GRID)
    lp = log_post(t)
    for _ in range(12):
        live = np.flatnonzero(np.isfinite(lp) & (lp > np.nanmax(lp) - _DROP))
        step = t[1] - t[0]
        w = np.exp(np.where(np.isfinite(lp), lp - np.nanmax(lp), -np.inf))
        w /= w.sum()
        sd = math.sqrt(max(float(w @ (t - w @ t) ** 2), 0.0))
        if live.size > 2 and step <= sd / 1.5:
            break
        a, b = t[max(live[0] - 1, 0)] - 0.5 * step * (live[0] == 0), t[min(live[-1] + 1, t.size - 1)]
        a, b = max(a, lo), min(b, hi)
        # sd is only trusted once the grid resolves it (step <= sd); until then halve the step
        target = sd / 1.5 if step <= sd else step / 2
        size = int(min(max(math.ceil((b - a) / target), _FINE), 256))
        t = a + (b - a) * (np.arange(size) + 0.5) / size
        lp = log_post(t)
    return t, lp


def _log_logistic(t: np.ndarray) -> np.ndarray:
    """log u (1 - u) for u = expit(t): the uniform prior on u, as a density in t."""
    return -np.logaddexp(0, t) - np.logaddexp(0, -t)


def _weights(log_w: np.ndarray) -> np.ndarray:
    """Normalised weights from log weights, the lightest (1 - _MASS of the mass) set to 0."""
    w = np.exp(log_w - np.nanmax(log_w))
    w = np.where(np.isfinite(w), w, 0.0)
    w /= w.sum()
    order = np.argsort(-w.ravel())
    cum = np.cumsum(w.ravel()[order])
    cut = np.zeros(w.size, dtype=bool)
    cut[order[np.searchsorted(cum, _MASS) + 1:]] = True
    w = np.where(cut.reshape(w.shape), 0.0, w)
    return w / w.sum()


def _mixture_quantiles(cdf_pdf: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], probs: Sequence[float],
                       start: Sequence[np.ndarray], lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Solve F_j(q) = p for every unit j of a mixture, vectorised.

    ``cdf_pdf(q, idx)`` returns the mixture CDF and density of units ``idx`` at ``q``.
    Safeguarded Newton: each unit keeps a bracket [lo, hi] that always contains the root;
    a Newton step leaving it is replaced by bisection. Stops when the step is below 1e-9
    of the starting bracket (or after 100 iterations).
    """
    out = []
    tol = 1e-9 * (hi - lo)
    for p, x0 in zip(probs, start):
        a, b = lo.copy(), hi.copy()
        q = np.where(np.isfinite(x0), x0, 0.5 * (a + b))
        q = np.clip(q, a + tol, b - tol)
        act = np.arange(q.size)
        for _ in range(100):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a density at 0 or 1: bisect
                f_, d_ = cdf_pdf(q[act], act)
            g = f_ - p
            a[act] = np.where(g < 0, q[act], a[act])
            b[act] = np.where(g > 0, q[act], b[act])
            with np.errstate(divide="ignore", invalid="ignore"):
                step = q[act] - g / d_
            small = np.abs(step - q[act]) <= tol[act]  # converged: accept before any bracket test
            bad = ~small & (~np.isfinite(step) | (step <= a[act]) | (step >= b[act]))
            new = np.where(bad, 0.5 * (a[act] + b[act]), np.where(np.isfinite(step), step, q[act]))
            new = np.clip(new, a[act], b[act])  # the root is inside the bracket
            done = small | (g == 0) | (b[act] - a[act] <= tol[act])
            q[act] = new
            act = act[~done]
            if act.size == 0:
                break
        out.append(q)
    return out


def _normal_full_bayes(y: np.ndarray, s2: np.ndarray, probs: Sequence[float]) -> dict[str, np.ndarray | float]:
    """Hierarchical normal model with the between-unit variance integrated out.

    y_j ~ N(theta_j, s_j^2), theta_j ~ N(mu, tau^2); mu flat; tau^2 under the uniform
    shrinkage prior (Christiansen & Morris 1997; Daniels 1999): u = s0^2 / (s0^2 + tau^2)
    ~ Uniform(0, 1), s0^2 the harmonic mean of the s_j^2. p(tau | y) is computed exactly on a
    grid in logit(u) (Gelman et al., Bayesian Data Analysis, 3rd ed., section 5.4):
    p(u | y) propto V_mu^(1/2) prod_j N(y_j | mu_hat, s_j^2 + tau^2), and given tau,
    theta_j ~ N(mu_hat + (1 - B_j)(y_j - mu_hat), s_j^2 (1 - B_j) + B_j^2 V_mu) with
    B_j = s_j^2 / (s_j^2 + tau^2). The posterior of theta_j is the mixture over the grid.
    """
    from scipy.special import ndtr

    s0 = y.size / np.sum(1 / s2)

    def fit(t: np.ndarray) -> tuple[np.ndarray, ...]:
        t2 = s0 * np.exp(-t)  # tau^2: u = s0^2 / (s0^2 + tau^2) = expit(t)
        v = s2[None, :] + t2[:, None]
        w = 1 / v
        sw = w.sum(axis=1)
        mu = (w * y).sum(axis=1) / sw
        ll = -0.5 * np.log(sw) - 0.5 * np.log(v).sum(axis=1) - 0.5 * (w * (y - mu[:, None]) ** 2).sum(axis=1)
        return v, mu, 1 / sw, ll + _log_logistic(t)

    t, _ = _shrinkage_grid(lambda t: fit(t)[-1], -46.0, 46.0)  # tau^2 / s0^2 from e^-46 to e^46
    v, mu, v_mu, ll = fit(t)
    wt = _weights(ll)
    use = wt > 0
    wt, v, mu, v_mu = wt[use], v[use], mu[use], v_mu[use]
    b = s2 / v  # weight on the prior mean, per grid point and unit
    m = mu[:, None] + (1 - b) * (y - mu[:, None])
    sd = np.sqrt(s2 * (1 - b) + b * b * v_mu[:, None])
    mean = wt @ m
    var = wt @ (sd * sd + (m - mean) ** 2)

    def cdf_pdf(q: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (q - m[:, idx]) / sd[:, idx]
        return wt @ ndtr(z), wt @ (np.exp(-0.5 * z * z) / (sd[:, idx] * math.sqrt(2 * math.pi)))

    from scipy.special import ndtri

    post_sd = np.sqrt(var)
    lo = (m - 12 * sd).min(axis=0)
    hi = (m + 12 * sd).max(axis=0)
    qs = _mixture_quantiles(cdf_pdf, probs, [mean + ndtri(p) * post_sd for p in probs], lo, hi)
    return {"mean": mean, "sd": post_sd, "quantiles": qs, "shrinkage": wt @ b, "prior_mean": float(wt @ mu)}


def _conjugate_full_bayes(x: np.ndarray, n: np.ndarray, family: str, probs: Sequence[float]) -> dict[str, np.ndarray | float]:
    """Beta-binomial or Poisson-gamma model with both hyperparameters integrated out.

    beta:  x_j ~ Bin(n_j, p_j), p_j ~ Beta(m M, (1 - m) M);  gamma: x_j ~ Poisson(lambda_j n_j),
    lambda_j ~ Gamma(shape m b, rate b). The precision (M or b) has the uniform shrinkage
    prior u = M / (M + n0) ~ Uniform(0, 1), n0 the harmonic mean of the n_j (Christiansen &
    Morris 1997, whose PRIMM uses it for the Poisson-gamma); the mean m has a Jeffreys prior
    (Beta(1/2, 1/2) for a proportion, m^(-1/2) for a rate). The posterior over the precision
    is computed on a grid in logit(u); at each grid point the mean is integrated by
    Gauss-Hermite quadrature around its conditional mode (eta = logit m or log m). Given the
    hyperparameters the unit posterior is Beta(m M + x, (1 - m) M + n - x), or
    Gamma(m b + x, b + n); given the precision alone, the beta / gamma with the moments of
    that average over m; the posterior is the mixture of those over the grid.
    """
    from scipy.special import betainc, betaln, digamma, gammainc, gammaln, logsumexp, polygamma

    k = x.size
    n0 = k / np.sum(1 / n)
    beta = family == "beta"
    if beta:
        eta0 = math.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5))
    else:
        eta0 = math.log((x.sum() + 0.5) / n.sum())

    def split(eta: np.ndarray, prec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prior shape parameters (a, b) for hyperparameters eta (mean) and prec."""
        if beta:
            m = 1 / (1 + np.exp(-eta))
            return m * prec, (1 - m) * prec
        return np.exp(eta) * prec, prec

    def log_post(eta: np.ndarray, prec: np.ndarray) -> np.ndarray:
        """log prior(eta) + log marginal likelihood; eta, prec broadcast over a trailing unit axis."""
        a, b = split(eta, prec)
        a, b = a[..., None], b[..., None]
        if beta:
            ll = (betaln(x + a, n - x + b) - betaln(a, b)).sum(axis=-1)
            m = 1 / (1 + np.exp(-eta))
            return ll + 0.5 * np.log(m) + 0.5 * np.log1p(-m)
        ll = (gammaln(x + a) - gammaln(a) + a * np.log(b) - (x + a) * np.log(b + n)).sum(axis=-1)
        return ll + 0.5 * eta

    def derivatives(eta: np.ndarray, prec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and second derivatives of log p(eta | precision, y) in eta."""
        a, b = split(eta, prec)
        a_, b_ = a[:, None], b[:, None]
        if beta:
            m = 1 / (1 + np.exp(-eta))
            s = m * (1 - m)
            d1 = (digamma(x + a_) - digamma(n - x + b_)).sum(axis=1) + k * (digamma(b) - digamma(a))
            d2 = (polygamma(1, x + a_) + polygamma(1, n - x + b_)).sum(axis=1) - k * (polygamma(1, a) + polygamma(1, b))
            return (prec * s * d1 + 0.5 * (1 - 2 * m),
                    prec * prec * s * s * d2 + prec * s * (1 - 2 * m) * d1 - s)
        d1 = (digamma(x + a_) - np.log(b_ + n)).sum(axis=1) + k * (np.log(b) - digamma(a))
        d2 = polygamma(1, x + a_).sum(axis=1) - k * polygamma(1, a)
        return a * d1 + 0.5, a * d1 + a * a * d2

    def mode(prec: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conditional mode of eta given each precision (Newton from ``eta``, grid points that
        have converged drop out) and the posterior sd of eta there, 1 / sqrt(-d2/d eta2)."""
        eta = eta.copy()
        hess = np.full(eta.shape, -1.0)
        act = np.arange(eta.size)
        for _ in range(60):
            grad, h = derivatives(eta[act], prec[act])
            hess[act] = h
            step = np.clip(np.where(h < 0, -grad / np.where(h < 0, h, -1.0), np.sign(grad)), -1.0, 1.0)
            eta[act] += step
            act = act[np.abs(step) >= 1e-7]
            if act.size == 0:
                break
        return eta, 1 / np.sqrt(np.maximum(-hess, 1e-300))

    last: dict[str, np.ndarray] = {}

    def laplace(t: np.ndarray) -> np.ndarray:  # log p(t | y), the mean integrated by Laplace's method
        prec = n0 * np.exp(t)  # u = prec / (prec + n0) = expit(t)
        start = np.interp(t, last["t"], last["eta"]) if last else np.full(t.shape, eta0)
        eta, sd = mode(prec, start)
        last.update(t=t, eta=eta)
        return log_post(eta, prec) + np.log(sd) + _log_logistic(t)

    # precision from 1e-8 n0 (no pooling) to 1e6 x the largest unit (complete pooling: the
    # likelihood no longer changes, and the prior mass beyond is below 1e-6)
    t, _ = _shrinkage_grid(laplace, math.log(1e-8), math.log(1e6 * n.max() / n0))
    prec = n0 * np.exp(t)
    eta_hat, sd = mode(prec, np.interp(t, last["t"], last["eta"]))
    gh, omega = np.polynomial.hermite.hermgauss(_GH)
    eta = eta_hat[:, None] + math.sqrt(2) * sd[:, None] * gh[None, :]  # (grid, nodes)
    precs = np.broadcast_to(prec[:, None], eta.shape)
    log_w = log_post(eta, precs) + gh * gh + np.log(omega) + np.log(sd)[:, None] + _log_logistic(t)[:, None]
    node_w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    node_w /= node_w.sum(axis=1, keepdims=True)  # the mean's posterior at each grid point
    wt = _weights(logsumexp(log_w, axis=1))  # p(u | y) on the grid
    use = wt > 0
    wt, eta, precs, node_w, prec = wt[use], eta[use], precs[use], node_w[use], prec[use]
    a0, b0 = split(eta, precs)  # (grid, nodes)
    # Given the precision, the unit's posterior averages over the mean: its moments by the
    # quadrature, matched by one beta / gamma per grid point (a point mass per node would leave
    # steps in the CDF when the precision is large and the unit is pooled onto the mean).
    if beta:
        pa, pb = a0[..., None] + x, b0[..., None] + n - x
        tot = pa + pb
        mj, vj = pa / tot, pa * pb / (tot * tot * (tot + 1))
    else:
        pa, pb = a0[..., None] + x, precs[..., None] + n
        mj, vj = pa / pb, pa / (pb * pb)
    m = np.einsum("gi,gij->gj", node_w, mj)
    v = np.einsum("gi,gij->gj", node_w, vj + (mj - m[:, None, :]) ** 2)
    if beta:
        nu = m * (1 - m) / v - 1
        ca, cb = m * nu, (1 - m) * nu
        lnb = betaln(ca, cb)

        def cdf_pdf(q: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a_, b_ = ca[:, idx], cb[:, idx]
            dens = np.exp((a_ - 1) * np.log(q) + (b_ - 1) * np.log1p(-q) - lnb[:, idx])
            return wt @ betainc(a_, b_, q), wt @ dens

        lo, hi = np.zeros(k), np.ones(k)
        prior_mean = float(wt @ (node_w * (1 / (1 + np.exp(-eta)))).sum(axis=1))
    else:
        ca, cb = m * m / v, m / v
        lng = gammaln(ca)

        def cdf_pdf(q: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a_, b_ = ca[:, idx], cb[:, idx]
            z = b_ * q
            dens = np.exp(a_ * np.log(b_) + (a_ - 1) * np.log(q) - z - lng[:, idx])
            return wt @ gammainc(a_, z), wt @ dens

        lo = np.zeros(k)
        hi = (m + 40 * np.sqrt(v)).max(axis=0)
        prior_mean = float(wt @ (node_w * np.exp(eta)).sum(axis=1))
    shrink_w = wt @ (prec[:, None] / (prec[:, None] + n))
    mean = wt @ m
    var = wt @ (v + (m - mean) ** 2)
    # start Newton from the moment-matched beta / gamma quantiles
    from scipy.special import betaincinv, gammaincinv

    if beta:
        nu = mean * (1 - mean) / var - 1
        starts = [betaincinv(mean * nu, (1 - mean) * nu, p) for p in probs]
    else:
        shape, rate = mean * mean / var, mean / var
        starts = [gammaincinv(shape, p) / rate for p in probs]
    qs = _mixture_quantiles(cdf_pdf, probs, starts, lo, hi)
    return {"mean": mean, "sd": np.sqrt(var), "quantiles": qs, "shrinkage": shrink_w, "prior_mean": prior_mean}


# --------------------------------------------------------------------------------------
# shrink()
# --------------------------------------------------------------------------------------
def _standard_errors(frame: pl.DataFrame, measure: str | None, mult: float) -> tuple[np.ndarray, str]:
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
        fill((ru.numeric(frame, "upper_ci", allow_null=True) - ru.numeric(frame, "lower_ci", allow_null=True)) / (2 * _Z95),
             "95% interval")
    if measure in ("proportion", "rate", "ratio", "dsr") and "numerator" in frame.columns:
        x = ru.numeric(frame, "numerator", allow_null=True)
        n = ru.numeric(frame, "denominator", allow_null=True) if "denominator" in frame.columns else np.full(h, np.nan)
        z2 = _Z95 * _Z95
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


def _missing_se(frame: pl.DataFrame, bad: np.ndarray, measure: str | None, what: str) -> None:
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
    raise DataError(problem(
        "se", f"cannot be found for a row with a value ({what}; the frame has {has})",
        rows=ru.row_labels(frame, bad), total=int(bad.sum()),
        fix=f"Give each row {sources}; or filter those rows out; or pass missing_se='skip' to keep them with "
            "null results."))


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
        method = {"proportion": "beta_binomial", "rate": "poisson_gamma", "ratio": "poisson_gamma"}.get(
            measure, "normal")
        if method != "normal" and not {"numerator", "denominator"} <= set(frame.columns):
            method = "normal"
    if method not in ("beta_binomial", "poisson_gamma", "normal"):
        raise DataError(f"unknown shrinkage method {method!r}.\nFix: use 'auto', 'beta_binomial', "
                        "'poisson_gamma' or 'normal'.")
    if estimator not in ("bayes", "ml", "moments"):
        raise DataError(f"unknown estimator {estimator!r}.\nFix: use 'bayes' (the default), 'ml' or 'moments'.")
    if missing_se not in ("raise", "skip"):
        raise DataError(f"missing_se must be 'raise' or 'skip', not {missing_se!r}.\nFix: use one of those.")
    if not 0 < level < 1:
        raise DataError(f"level must lie between 0 and 1, not {level!r}.\nFix: e.g. level=0.95.")
    keys = ru.group_keys(frame, by)
    parts = [_shrink_group(p, method, estimator, level, float(multiplier), measure, missing_se)
             for p in ru.partitions(frame, keys)]
    return pl.concat(parts, how="vertical")


def _shrink_group(frame: pl.DataFrame, method: str, estimator: str, level: float, mult: float,
                  measure: str | None = None, missing_se: str = "raise") -> pl.DataFrame:
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
        ru.require_columns(frame, ["numerator", "denominator"], f"{method} shrinkage needs counts")
        x = ru.numeric(frame, "numerator", allow_null=True)
        n = ru.numeric(frame, "denominator", allow_null=True)
        ok = np.isfinite(x) & np.isfinite(n)
        ru.check(frame, "numerator", ok & (x < 0), "is negative", "Counts cannot be below zero.")
        ru.check(frame, "denominator", ok & (n <= 0), "is zero or negative",
                 "Remove units with no population, or correct the denominator.")
        if method == "beta_binomial":
            ru.check(frame, "numerator", ok & (x > n), "exceeds the denominator",
                     "A proportion's numerator cannot exceed its denominator.")
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(ok, x / n, np.nan)
        family = "beta" if method == "beta_binomial" else "gamma"
        if ok.sum() >= 2:
            xo, no = x[ok], n[ok]
            if bayes:
                fit = _conjugate_full_bayes(xo, no, family, (lo_q, hi_q))
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
        ru.require_columns(frame, ["value"], "normal shrinkage needs a value column")
        value = ru.numeric(frame, "value", allow_null=True)
        y = value / mult
        se, _ = _standard_errors(frame, measure, mult)
        if not {"se", "lower_ci", "upper_ci", "numerator"} & set(frame.columns):
            raise SchemaError(
                problem("se", "is missing (normal shrinkage needs each unit's standard error)",
                        fix="Add an 'se' column, or lower_ci/upper_ci (95%) columns"
                            + (", or the event counts in 'numerator'." if measure == "dsr" else "."))
            )
        if missing_se == "raise":
            _missing_se(frame, np.isfinite(value) & ~np.isfinite(se), measure, "normal shrinkage needs it")
        se = se / mult
        ok = np.isfinite(y) & np.isfinite(se)
        ru.check(frame, "se", ok & ~(se > 0), "is not positive", "Standard errors must be above zero.")
        raw = np.where(ok, y, np.nan)
        if ok.sum() >= 2:
            if bayes:
                fit = _normal_full_bayes(y[ok], se[ok] ** 2, (lo_q, hi_q))
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
        *[pl.Series(k, v).fill_nan(None) for k, v in new.items()],
        pl.when(fitted).then(pl.lit(family)).otherwise(pl.lit(None, dtype=pl.String)).alias("posterior"),
        pl.Series("posterior_a", pa).fill_nan(None),
        pl.Series("posterior_b", pb).fill_nan(None),
    )


# --------------------------------------------------------------------------------------
# Rank simulation
# --------------------------------------------------------------------------------------
_CHUNK = 250  # simulations per work item: bounds memory and keeps both cores busy


def _chunk_ranks(draw: Callable[[np.random.Generator, int], np.ndarray], seed: np.random.SeedSequence,
                 m: int, n: int, rank_dtype: Any, top_k: int, out_t: np.ndarray, col0: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ranks (0 = best) of m simulations of n units, written to out_t[:, col0:col0+m].

    Each draw is mapped to an order-preserving int32 (-0.0 first made +0.0, so equal values
    have equal keys), packed above the unit's index in an int64 and the rows sorted: one
    SIMD integer sort gives each simulation's order, and scattering 0..n-1 through that
    order gives the ranks. When a chunk holds exactly equal draws (units with no
    uncertainty, or float32 coincidences), its low words are redrawn as random bits above
    the index and the chunk sorted again, so ties are ordered at random, not by row: tied
    units get identical rank distributions. The random bits are 32 - ceil(log2 n) wide (17
    or more below 32,768 units); should they also tie, the lower index goes first.
    """
    rng = np.random.Generator(np.random.SFC64(seed))
    x = draw(rng, m)  # float32 (m, n); smaller = better
    x += np.float32(0.0)  # -0.0 + 0.0 = +0.0: one key for zero
    keys = np.empty((m, n), dtype=np.int64)
    halves = keys.view(np.int32).reshape(m, n, 2)
    bits = x.view(np.int32)
    hi = halves[..., 1]  # little-endian: the high word decides the order
    np.right_shift(bits, 31, out=hi)
    hi &= np.int32(0x7FFFFFFF)
    hi ^= bits  # negative floats: flip magnitude bits so integer order = float order
    index = np.arange(n, dtype=np.int32)
    halves[..., 0] = index
    del x, bits
    keys.sort(axis=1)
    if n > 1 and (halves[:, 1:, 1] == halves[:, :-1, 1]).any():
        width = max(1, (n - 1).bit_length())
        noise = rng.integers(0, 1 << (32 - width), size=(m, n), dtype=np.uint32)
        noise <<= np.uint32(width)
        noise |= halves[..., 0].view(np.uint32)
        halves[..., 0] = noise.view(np.int32)
        del noise
        keys.sort(axis=1)
        order = np.ascontiguousarray(halves[..., 0]) & np.int32((1 << width) - 1)
    else:
        order = np.ascontiguousarray(halves[..., 0])
    del keys, halves
    ranks = np.empty((m, n), dtype=rank_dtype)
    np.put_along_axis(ranks, order, np.arange(n, dtype=rank_dtype)[None, :], axis=1)
    out_t[:, col0:col0 + m] = ranks.T
    top = np.count_nonzero(ranks < top_k, axis=0)
    bottom = np.count_nonzero(ranks >= n - top_k, axis=0)
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
        threads: worker threads (default: up to 2, the cores this is tuned for).
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
    threads = threads or min(2, os.cpu_count() or 1)

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


def _pool_exchangeable(labels: np.ndarray, ranks_t: np.ndarray, probs: np.ndarray, quant: np.ndarray,
                       p_top: np.ndarray, p_bottom: np.ndarray) -> None:
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


def _normal_sampler(mean: np.ndarray, sd: np.ndarray, sign: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    # a common affine map keeps ranks and spreads values over float32's resolution (fewer ties)
    centre = float(np.median(mean))
    scale = float(np.median(sd[sd > 0])) if np.any(sd > 0) else 1.0
    mu = (sign * (mean - centre) / scale).astype(np.float32)
    s = (sd / scale).astype(np.float32)

    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        x = rng.standard_normal((m, mu.size), dtype=np.float32)
        x *= s
        x += mu
        return x

    return draw


def _gamma_sampler(shape: np.ndarray, rate: np.ndarray, sign: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    inv = (sign / rate).astype(np.float32)

    def draw(rng: np.random.Generator, m: int) -> np.ndarray:
        x = rng.standard_gamma(np.broadcast_to(shape, (m, shape.size)), dtype=np.float32)
        x *= inv
        return x

    return draw


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
        parts.append(_rank_group(part, keys, key, use_post, sign, n_sims, ss.spawn(1)[0], top, level,
                                 ind, threads, missing_se, draws == "auto"))
    return pl.concat(parts, how="vertical")


def _exchangeable(*params: np.ndarray) -> np.ndarray:
    """A label per unit: equal labels for units whose sampling parameters are all equal."""
    stacked = np.stack([np.asarray(p, dtype=np.float64) + 0.0 for p in params], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()


def _group_sampler(frame: pl.DataFrame, use_post: bool, sign: float, ind: Indicator | None, missing_se: str = "raise",
                   jeffreys: bool = True):
    """(point estimate, usable mask, sampler over the usable units, exchangeable labels)."""
    if use_post:
        ru.require_columns(frame, ["posterior", "posterior_a", "posterior_b"],
                           "draws='posterior' needs the output of shrink()")
        fams = frame.get_column("posterior").drop_nulls().unique().to_list()
        if len(fams) > 1:
            raise DataError(problem("posterior", f"mixes families {fams} within one group",
                                    fix="Rank each indicator separately (by=...)."))
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
    ru.require_columns(frame, ["value"], "rank intervals need a value column (or shrink() output)")
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
                ru.check(frame, "numerator", ok & (x > n), "exceeds the denominator",
                         "A proportion's numerator cannot exceed its denominator.")
                sampler = _beta_sampler(x[ok] + 0.5, n[ok] - x[ok] + 0.5, sign)
            else:
                sampler = _gamma_sampler(x[ok] + 0.5, n[ok], sign)
            return y, ok, sampler, _exchangeable(x[ok], n[ok])
    se, _ = _standard_errors(frame, measure, ind.multiplier if ind is not None else 1.0)
    counts = measure in ("proportion", "rate", "ratio", "dsr") and "numerator" in frame.columns
    if not ({"se"} <= set(frame.columns) or {"lower_ci", "upper_ci"} <= set(frame.columns) or counts):
        raise SchemaError(problem("se", "is missing (needed to simulate each unit's value)",
                                  fix="Add se, or lower_ci/upper_ci, or counts with a count-based indicator, "
                                      "or run shrink() first."))
    if missing_se == "raise":
        _missing_se(frame, np.isfinite(y) & ~np.isfinite(se), measure, "rank intervals simulate each value from it")
    ru.check(frame, "se", np.isfinite(y) & (se < 0), "is negative", "Standard errors (and intervals) cannot be negative.")
    ok = np.isfinite(y) & np.isfinite(se)
    return y, ok, _normal_sampler(y[ok], se[ok], sign), _exchangeable(y[ok], se[ok])


def _rank_group(frame, keys, key, use_post, sign, n_sims, seed, top, level, ind, threads, missing_se="raise",
                jeffreys=True):
    from scipy.stats import rankdata

    point, ok, sampler, labels = _group_sampler(frame, use_post, sign, ind, missing_se, jeffreys)
    n_ok = int(ok.sum())
    h = frame.height
    cols = {nm: np.full(h, np.nan) for nm in ("rank", "median_rank", "rank_lower", "rank_upper", "p_top", "p_bottom")}
    if n_ok:
        res = simulate_ranks(sampler, n_ok, n_sims, seed=seed, top=top, level=level, threads=threads, groups=labels)
        cols["rank"][ok] = rankdata(sign * point[ok] + 0.0, method="min")
        cols["median_rank"][ok] = res["median_rank"]
        cols["rank_lower"][ok] = res["rank_lower"]
        cols["rank_upper"][ok] = res["rank_upper"]
        cols["p_top"][ok] = res["p_top"]
        cols["p_bottom"][ok] = res["p_bottom"]
    sfx = "_95" if abs(level - 0.95) < 1e-12 else ""
    keep = [c for c in (*keys, key) if c in frame.columns]
    shown = frame.get_column("value") if "value" in frame.columns else pl.Series("value", point).fill_nan(None)
    out = frame.select(keep).with_columns(
        shown.alias("value"),
        *[pl.Series(nm if nm.startswith("p_") or nm in ("rank", "median_rank") else nm + sfx,
                    v).fill_nan(None).cast(pl.Int64 if not nm.startswith("p_") else pl.Float64)
          for nm, v in cols.items()],
        pl.lit(n_ok, dtype=pl.Int64).alias("n_ranked"),
    )
    return out
