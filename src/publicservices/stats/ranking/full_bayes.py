"""Fully Bayesian hyperparameters for :func:`publicservices.stats.shrink`: the prior's average and
between-unit variation integrated out on a grid (uniform shrinkage prior).

References: Christiansen CL, Morris CN (1997) JASA 92:618; Daniels MJ (1999) Can J Stat 27:567;
Gelman A et al. (2013) Bayesian Data Analysis, 3rd ed., 5.4.

Example:
    >>> import numpy as np
    >>> fit = normal_full_bayes(np.array([1.0, 2.0, 3.0, 4.0]), np.full(4, 0.25), (0.025, 0.975))
    >>> bool(np.all(np.diff(fit["mean"]) > 0))
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypedDict

import numpy as np

__all__ = ["normal_full_bayes", "conjugate_full_bayes", "MAX_PRECISION"]

MAX_PRECISION = 1e12  # cap on alpha + beta: beyond it the prior is a point mass (no between-unit variation)


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
        # >=: with a log posterior of order 1e25, max - _DROP rounds to max itself, and the peak must stay live
        live = np.flatnonzero(np.isfinite(lp) & (lp >= np.nanmax(lp) - _DROP))
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
    cut[order[np.searchsorted(cum, _MASS) + 1 :]] = True
    w = np.where(cut.reshape(w.shape), 0.0, w)
    return w / w.sum()


def _mixture_quantiles(
    cdf_pdf: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    probs: Sequence[float],
    start: Sequence[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
) -> list[np.ndarray]:
    """Solve F_j(q) = p for every unit j of a mixture, vectorised.

    ``cdf_pdf(q, idx)`` returns the mixture CDF and density of units ``idx`` at ``q``.
    Safeguarded Newton: each unit keeps a bracket [lo, hi] that always contains the root;
    a Newton step leaving it is replaced by bisection. Stops when the step is below 1e-9
    of the starting bracket (or after 100 iterations).
    """
    out = []
    tol = 1e-9 * (hi - lo)
    for p, x0 in zip(probs, start, strict=True):
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


class Fit(TypedDict):
    """A full-Bayes fit: each unit's posterior mean, sd, quantiles (one array per probability)
    and weight on the prior, and the prior mean."""

    mean: np.ndarray
    sd: np.ndarray
    quantiles: list[np.ndarray]
    shrinkage: np.ndarray
    prior_mean: float


def normal_full_bayes(y: np.ndarray, s2: np.ndarray, probs: Sequence[float]) -> Fit:
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


def _trigammas(distinct: tuple[np.ndarray, np.ndarray], shift: np.ndarray) -> np.ndarray:
    """trigamma(count_j + shift) for every unit j (columns) and row of ``shift`` (grid, 1), from
    ``distinct = np.unique(counts, return_inverse=True)``.

    The trigamma function (the Hurwitz zeta(2, .)) costs 20 times the digamma and is the bulk
    of the Newton steps of :func:`conjugate_full_bayes`; counts repeat (a rate's deaths), so it
    is evaluated once per distinct count and gathered back in C order: the same numbers as
    ``polygamma(1, counts + shift)``, which a sum over units then adds in the same order.
    """
    from scipy.special import zeta

    values, at = distinct
    return np.take(zeta(2.0, values + shift), at, axis=1)


def conjugate_full_bayes(x: np.ndarray, n: np.ndarray, family: str, probs: Sequence[float]) -> Fit:
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
    # the distinct counts (and, for a proportion, complements) that _trigammas evaluates
    x_at = np.unique(x, return_inverse=True)
    c_at = np.unique(n - x, return_inverse=True) if beta else x_at
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
            d2 = (_trigammas(x_at, a_) + _trigammas(c_at, b_)).sum(axis=1) - k * (polygamma(1, a) + polygamma(1, b))
            return (prec * s * d1 + 0.5 * (1 - 2 * m), prec * prec * s * s * d2 + prec * s * (1 - 2 * m) * d1 - s)
        d1 = (digamma(x + a_) - np.log(b_ + n)).sum(axis=1) + k * (np.log(b) - digamma(a))
        d2 = _trigammas(x_at, a_).sum(axis=1) - k * polygamma(1, a)
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
