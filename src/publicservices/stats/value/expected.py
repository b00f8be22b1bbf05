"""The outcome expected for an area's spend and need, by weighted regression."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats._common import Z95 as _Z95
from publicservices.stats._common import collect as _collect
from publicservices.stats.value._checks import (
    _LARGEST,
    _group_ids,
    _numeric,
    _require,
    _rows,
)

ASSESSMENTS = {
    "higher_is_better": (
        "achieves more than expected for its spend and need",
        "as expected for its spend and need",
        "achieves less than expected for its spend and need",
    ),
    "lower_is_better": (
        "achieves more than expected for its spend and need",
        "as expected for its spend and need",
        "achieves less than expected for its spend and need",
    ),
    "no_judgement": (
        "higher than expected for its spend and need",
        "as expected for its spend and need",
        "lower than expected for its spend and need",
    ),
}

# --------------------------------------------------------------------------------------------
# expected outcome given spend and need


def expected_outcome(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    outcome: str = "value",
    spend: str = "spend_per_head",
    need: Sequence[str] = ("deprivation", "population"),
    log: Sequence[str] = ("spend_per_head", "population"),
    by: Sequence[str] | None = None,
    weights: str = "auto",
    lower: str = "lower_95",
    upper: str = "upper_95",
    polarity: str | None = None,
    level: float = 0.95,
) -> pl.DataFrame:
    """The outcome expected given spend and need, and each area's distance from it.

    Method: within each group (``by``, default indicator and period) the outcome is regressed on
    ``1, log(spend per head), deprivation, log(population)`` by weighted least squares:

    * ``weights="inverse_variance"``: each area's standard error comes from its 95% limits,
      ``se = (upper - lower) / (2 * 1.96)``; the between-area variance beyond sampling error,
      ``tau2``, is estimated by the method of moments for meta-regression (DerSimonian & Laird
      1986; Raudenbush 2009, "Analyzing effect sizes: random-effects models", in *The Handbook
      of Research Synthesis*), and weights are ``1 / (se**2 + tau2)``. The prediction variance is
      ``se_i**2 + tau2 + z_i' V z_i`` with ``V`` the coefficients' covariance (Higgins,
      Thompson & Spiegelhalter 2009, *JRSS A* 172:137-159, prediction intervals);
    * ``weights="population"``: ``w_i`` proportional to population, residual variance ``s2``
      estimated, prediction variance ``s2 / w_i + z_i' V z_i``;
    * ``weights="equal"``: ordinary least squares;
    * ``"auto"`` (default): inverse variance where every fitted area has limits, else population.

    The interval uses Student's t with n - p degrees of freedom. ``residual = outcome -
    expected``; an area whose ``residual_lower > 0`` does better than expected when higher is
    better (worse when lower is better), one whose ``residual_upper < 0`` the reverse; the
    ``assessment`` says so in words. ``value_need_adjusted`` is the outcome with the need
    covariates' fitted effects removed (as if the area had its group's average need), the
    input to the need-adjusted frontier. Groups with no more areas than coefficients are not
    fitted.

    Parameters:
        frame: one row per area (per group) with the outcome, spend and need columns.
        outcome: the outcome column.
        spend: spend per head (or per user) column.
        need: need covariates; ``log`` lists those (and the spend) taken on the log scale.
        by: grouping columns (default: ``indicator_id`` and ``period`` when present).
        weights: ``"auto"``, ``"inverse_variance"``, ``"population"`` or ``"equal"``.
        lower, upper: the outcome's 95% limits (for inverse-variance weights).
        polarity: a polarity string, or a column holding it (default ``polarity`` if present).
        level: coverage of the prediction interval.

    Returns:
        ``frame`` with ``expected``, ``expected_lower``, ``expected_upper``, ``residual``,
        ``residual_lower``, ``residual_upper``, ``assessment``, ``fit_weights`` and
        ``value_need_adjusted`` added.

    Example:
        >>> import numpy as np, polars as pl
        >>> rng = np.random.default_rng(1)
        >>> spend = rng.uniform(100, 400, 60)
        >>> f = pl.DataFrame({"area_code": [f"A{i}" for i in range(60)], "spend_per_head": spend,
        ...                   "deprivation": rng.uniform(5, 40, 60), "population": rng.uniform(1e5, 5e5, 60)})
        >>> f = f.with_columns((50 + 5 * pl.col("spend_per_head").log() - 0.3 * pl.col("deprivation")
        ...                     + pl.Series(rng.normal(0, 1, 60))).alias("value"))
        >>> f = f.with_columns(pl.when(pl.col("area_code") == "A0").then(pl.col("value") + 10)
        ...                    .otherwise(pl.col("value")).alias("value"))
        >>> out = expected_outcome(f, polarity="higher_is_better")
        >>> out.filter(pl.col("area_code") == "A0")["assessment"].item()
        'achieves more than expected for its spend and need'
    """
    import numpy as np
    from scipy.special import stdtrit  # Student's t quantile (scipy.stats.t.ppf), a lighter import

    frame = _collect(frame, "frame")
    need = list(need)
    _require(frame, [outcome, spend, *need], "frame")
    for c in (outcome, spend, *need):
        _numeric(frame, c, "frame")
    by = [c for c in ("indicator_id", "period") if c in frame.columns] if by is None else list(by)
    _require(frame, by, "frame")
    weights = str(weights).lower()
    if weights not in ("auto", "inverse_variance", "population", "equal"):
        raise DataError(
            problem(None, f"weights {weights!r} is not known", fix="Use 'auto', 'inverse_variance', 'population' or 'equal'.")
        )
    if weights == "population" and "population" not in frame.columns:
        raise SchemaError(
            problem("population", "is needed for population weights", fix="Add population, or use weights='equal'.")
        )
    if weights == "inverse_variance" and not (lower in frame.columns and upper in frame.columns):
        raise SchemaError(
            problem(
                lower,
                "and its upper partner are needed for inverse-variance weights",
                fix=f"Add {lower!r} and {upper!r}, or use weights='population'.",
            )
        )
    if not 0 < level < 1:
        raise DataError(problem(None, f"level={level!r} is not between 0 and 1", fix="Use e.g. 0.95."))

    n = frame.height
    cols = [spend, *need]
    Z = np.ones((n, len(cols) + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, c in enumerate(cols, start=1):
            x = frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy()
            Z[:, j] = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan) if c in log else x
    y = frame[outcome].cast(pl.Float64).fill_null(np.nan).to_numpy()
    for c, x in ((outcome, y), *((c, Z[:, j]) for j, c in enumerate(cols, start=1))):
        big = np.isfinite(x) & (np.abs(x) > _LARGEST)
        if big.any():
            what = "is implausibly large (above 10^15" + (" as a log" if c in log else "") + ") to fit a regression on"
            raise DataError(
                problem(
                    c,
                    what,
                    rows=_rows(frame.filter(pl.Series(big)), [*by, "area_code"]),
                    total=int(big.sum()),
                    fix="Look for a unit error or a number mangled on export (such as 1e300), and correct it "
                    "or leave the covariate out of need=.",
                )
            )
    if lower in frame.columns and upper in frame.columns:
        lo = frame[lower].cast(pl.Float64).fill_null(np.nan).to_numpy()
        hi = frame[upper].cast(pl.Float64).fill_null(np.nan).to_numpy()
        se = (hi - lo) / (2 * _Z95)
    else:
        se = np.full(n, np.nan)
    pop = (
        frame["population"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "population" in frame.columns else np.full(n, np.nan)
    )
    usable = np.isfinite(y) & np.all(np.isfinite(Z), axis=1)
    gid = _group_ids(frame, by)
    G = int(gid.max()) + 1 if n else 0

    has_se = np.isfinite(se) & (se > 0)
    has_pop = np.isfinite(pop) & (pop > 0)
    # a group uses a weighting only if every fitted area supports it
    all_se = np.bincount(gid, weights=(usable & ~has_se), minlength=G) == 0
    all_pop = np.bincount(gid, weights=(usable & ~has_pop), minlength=G) == 0
    if weights == "auto":
        kind = np.where(all_se, 0, np.where(all_pop, 1, 2))
    else:
        kind = np.full(G, {"inverse_variance": 0, "population": 1, "equal": 2}[weights])
    kind_row = kind[gid]
    usable &= np.where(kind_row == 0, has_se, np.where(kind_row == 1, has_pop, True))
    se_f = np.where(has_se, se, 1.0)
    w0 = np.where(kind_row == 0, 1 / se_f**2, np.where(kind_row == 1, np.where(has_pop, pop, 1.0), 1.0))
    # population weights relative to the group mean keep the sums well scaled
    mean_w = np.bincount(gid, weights=np.where(usable, w0, 0), minlength=G) / np.maximum(
        np.bincount(gid, weights=usable, minlength=G), 1
    )
    w0 = np.where(kind_row == 1, w0 / np.where(mean_w > 0, mean_w, 1.0)[gid], w0)
    w0 = np.where(usable, w0, 0.0)
    Zu = np.where(usable[:, None], Z, 0.0)
    yu = np.where(usable, y, 0.0)

    beta, Vinv, rank, count = _wls(Zu, yu, w0, gid, G)
    dof = count - rank
    fit = dof > 0
    resid0 = yu - np.einsum("np,np->n", Zu, beta[gid])
    tau2 = np.zeros(G)
    iv = (kind == 0) & fit
    if iv.any():
        # method-of-moments between-area variance (DerSimonian-Laird for meta-regression)
        Q = np.bincount(gid, weights=w0 * resid0**2, minlength=G)
        P2 = _sym_bincount(Zu, w0**2, gid, G)
        trace = np.einsum("gpq,gqp->g", Vinv, P2)
        denom = np.bincount(gid, weights=w0, minlength=G) - trace
        with np.errstate(divide="ignore", invalid="ignore"):
            t2 = np.where(denom > 0, (Q - dof) / denom, 0.0)
        tau2 = np.where(iv, np.maximum(t2, 0.0), 0.0)
        w1 = np.where(usable & (kind_row == 0), 1 / (se_f**2 + tau2[gid]), w0)
        beta, Vinv, rank, count = _wls(Zu, yu, w1, gid, G)
    else:
        w1 = w0
    resid = yu - np.einsum("np,np->n", Zu, beta[gid])
    s2 = np.bincount(gid, weights=w1 * resid**2, minlength=G) / np.where(dof > 0, dof, 1)
    scale = np.where(kind == 0, 1.0, s2)  # known variances under inverse variance
    V = Vinv * scale[:, None, None]
    Zall = np.where(np.isfinite(Z), Z, 0.0)
    expected = np.einsum("np,np->n", Zall, beta[gid])
    lever = np.einsum("np,npq,nq->n", Zall, V[gid], Zall)
    # the area's own variance: sampling plus between-area (inverse variance), or s2 / weight;
    # unknown (so no interval) where the area lacks the standard error or population needed
    w_rel = np.where(has_pop, pop, np.nan) / np.where(mean_w > 0, mean_w, 1.0)[gid]
    own = np.select(
        [kind_row == 0, kind_row == 1], [np.where(has_se, se_f**2 + tau2[gid], np.nan), s2[gid] / w_rel], default=s2[gid]
    )
    with np.errstate(invalid="ignore"):
        half = stdtrit(np.maximum(dof, 1), 0.5 + level / 2)[gid] * np.sqrt(own + lever)
    ok = fit[gid] & np.all(np.isfinite(Z), axis=1) & np.isfinite(half)
    expected = np.where(ok, expected, np.nan)
    half = np.where(ok, half, np.nan)
    residual = np.where(ok, y - expected, np.nan)
    # remove the need covariates' effects, measured from each group's mean need
    need_idx = np.arange(2, Z.shape[1])
    zbar = (
        np.stack([np.bincount(gid, weights=np.where(usable, Zall[:, j], 0.0), minlength=G) for j in need_idx], axis=1)
        / np.maximum(count, 1)[:, None]
    )
    adjusted = y - np.einsum("nk,nk->n", (Zall[:, need_idx] - zbar[gid]), beta[gid][:, need_idx])
    adjusted = np.where(ok, adjusted, np.nan)

    label_names = np.array(["inverse_variance", "population", "equal"], dtype=object)
    out = frame.with_columns(
        pl.Series("expected", expected, nan_to_null=True),
        pl.Series("expected_lower", expected - half, nan_to_null=True),
        pl.Series("expected_upper", expected + half, nan_to_null=True),
        pl.Series("residual", residual, nan_to_null=True),
        pl.Series("residual_lower", residual - half, nan_to_null=True),
        pl.Series("residual_upper", residual + half, nan_to_null=True),
        pl.Series("fit_weights", label_names[kind_row].tolist(), dtype=pl.String),
        pl.Series("value_need_adjusted", adjusted, nan_to_null=True),
    )
    if polarity is None:
        pol = pl.col("polarity") if "polarity" in frame.columns else pl.lit("no_judgement")
    else:
        pol = pl.col(polarity) if polarity in frame.columns else pl.lit(polarity)
    return out.with_columns(_assessment(pol).alias("assessment"))


def _assessment(pol: pl.Expr) -> pl.Expr:
    above = pl.col("residual_lower") > 0
    below = pl.col("residual_upper") < 0
    more, same, less = ASSESSMENTS["higher_is_better"]
    higher, _, lower = ASSESSMENTS["no_judgement"]
    p = pol.fill_null("no_judgement")
    return (
        pl.when(pl.col("residual").is_null())
        .then(None)
        .when(~above & ~below)
        .then(pl.lit(same))
        .when(p == "higher_is_better")
        .then(pl.when(above).then(pl.lit(more)).otherwise(pl.lit(less)))
        .when(p == "lower_is_better")
        .then(pl.when(below).then(pl.lit(more)).otherwise(pl.lit(less)))
        .otherwise(pl.when(above).then(pl.lit(higher)).otherwise(pl.lit(lower)))
    )


def _sym_bincount(Z, w, gid, G):
    """Per-group sum of w * z z' as a (G, p, p) array."""
    import numpy as np

    p = Z.shape[1]
    out = np.empty((G, p, p))
    for a in range(p):  # loops over the few coefficients, not over rows
        for b in range(a, p):
            out[:, a, b] = out[:, b, a] = np.bincount(gid, weights=w * Z[:, a] * Z[:, b], minlength=G)
    return out


def _wls(Z, y, w, gid, G):
    """Weighted least squares in every group at once: coefficients, (Z'WZ)^+, rank, count."""
    import numpy as np

    p = Z.shape[1]
    ZtWZ = _sym_bincount(Z, w, gid, G)
    ZtWy = np.stack([np.bincount(gid, weights=w * Z[:, a] * y, minlength=G) for a in range(p)], axis=1)
    # pseudo-inverse: a covariate constant within a group leaves the fit defined
    Vinv = np.linalg.pinv(ZtWZ, rcond=1e-12, hermitian=True)
    beta = np.einsum("gpq,gq->gp", Vinv, ZtWy)
    rank = np.linalg.matrix_rank(ZtWZ, hermitian=True) if G else np.zeros(0, dtype=int)
    count = np.bincount(gid, weights=(w > 0), minlength=G)
    return beta, Vinv, np.asarray(rank), count
