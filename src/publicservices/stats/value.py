"""Value for money: what each place spends, what it achieves, and what it would be expected to.

Four pieces, each usable alone, joined up by :func:`value_for_money`:

* :func:`unit_costs` — spend per head and per service user, in real terms when a deflator is
  given (HM Treasury (2022), *The Green Book*, ch. 5: real prices from a GDP deflator);
* :func:`cost_per_outcome` — spend per unit of outcome, with an interval carried through from the
  outcome's own confidence limits;
* :func:`expected_outcome` — the outcome expected given spend and need, by weighted regression,
  with each area's distance from it and a prediction interval;
* the efficient frontier by data envelopment analysis (:mod:`publicservices.stats.dea`).

Example:
    >>> import polars as pl
    >>> spend = pl.DataFrame({"area_code": ["A", "B"], "period": ["2023/24"] * 2,
    ...                       "service": ["health"] * 2, "spend": [2.0e6, 3.0e6]})
    >>> areas = pl.DataFrame({"area_code": ["A", "B"], "population": [1.0e4, 2.0e4]})
    >>> unit_costs(spend, areas)["spend_per_head"].to_list()
    [200.0, 150.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError, problem

__all__ = [
    "unit_costs",
    "cost_per_outcome",
    "expected_outcome",
    "value_for_money",
    "service_frontier",
    "frontier_savings",
    "ASSESSMENTS",
]

ASSESSMENTS = {
    "higher_is_better": ("achieves more than expected for its spend and need",
                         "as expected for its spend and need",
                         "achieves less than expected for its spend and need"),
    "lower_is_better": ("achieves more than expected for its spend and need",
                        "as expected for its spend and need",
                        "achieves less than expected for its spend and need"),
    "no_judgement": ("higher than expected for its spend and need",
                     "as expected for its spend and need",
                     "lower than expected for its spend and need"),
}
_Z95 = 1.959963984540054
# Larger than any count, population, score or sum of money (the data contract's ceiling,
# publicservices.frame.MAX_MAGNITUDE): beyond it a regression's sums of squares lose all
# precision, and near 1e154 they overflow.
_LARGEST = 1e15
_KEYS = ("indicator_id", "area_code", "period")


# --------------------------------------------------------------------------------------------
# unit costs


def unit_costs(
    spend: pl.DataFrame | pl.LazyFrame,
    areas: pl.DataFrame | None = None,
    *,
    users: str | pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
) -> pl.DataFrame:
    """Spend per head and per service user, per area and period, in cash or real terms.

    Method: ``spend_real = spend * deflator[base_period] / deflator[period]`` (prices of the base
    period; HM Treasury Green Book, GDP deflators); ``spend_per_head = spend_real / population``;
    ``spend_per_user = spend_real / users``. Without a deflator, real means cash.

    Parameters:
        spend: ``area_code, period, spend`` (and usually ``service``); one row per key.
        areas: ``area_code, population``; if omitted, ``spend`` must carry ``population``.
        users: the number of service users: a column of ``spend``, or a frame with ``area_code,
            period`` (and optionally ``service``) and a ``users`` column.
        deflator: price index by period (mapping, or a frame with ``period`` and one numeric
            column), e.g. the GDP deflator.
        base_period: the period whose prices results are expressed in; default: the deflator's
            last period as given (list periods in time order).

    Returns:
        ``spend`` with ``population``, ``users`` (if given), ``prices`` (``"cash"`` or e.g.
        ``"2023/24 prices"``), ``spend_real``, ``spend_per_head`` and ``spend_per_user`` added.
        Rows without a population or spend keep nulls; none are dropped.

    Example:
        >>> import polars as pl
        >>> spend = pl.DataFrame({"area_code": ["A", "A"], "period": ["2022/23", "2023/24"],
        ...                       "spend": [100.0, 110.0], "population": [10.0, 10.0]})
        >>> out = unit_costs(spend, deflator={"2022/23": 95.0, "2023/24": 100.0})
        >>> out["spend_real"].round(2).to_list(), out["prices"].to_list()[0]
        ([105.26, 110.0], '2023/24 prices')
    """
    spend = _collect(spend, "spend")
    _require(spend, ["area_code", "period", "spend"], "spend")
    _numeric(spend, "spend", "spend")
    keys = ["area_code", "period"] + (["service"] if "service" in spend.columns else [])
    _codes(spend, keys, "spend")
    _no_duplicates(spend, keys, "spend")
    neg = spend["spend"] < 0
    if neg.fill_null(False).any():
        raise DataError(problem("spend", "is negative", rows=_rows(spend.filter(neg), keys),
                                total=int(neg.sum()), fix="Spend is money out; record income separately."))
    out = spend
    if areas is not None:
        areas = _collect(areas, "areas")
        _require(areas, ["area_code", "population"], "areas")
        _codes(areas, ["area_code"], "areas")
        _no_duplicates(areas, ["area_code"], "areas")
        out = out.drop("population", strict=False).join(
            areas.select("area_code", pl.col("population").cast(pl.Float64)), on="area_code",
            how="left", maintain_order="left")
    elif "population" not in out.columns:
        raise SchemaError(problem("population", "is missing",
                                  fix="Pass areas= (with area_code, population) or add population to spend."))
    _numeric(out, "population", "areas")
    bad = out["population"] <= 0
    if bad.fill_null(False).any():
        raise DataError(problem("population", "is zero or negative", rows=_rows(out.filter(bad), keys),
                                total=int(bad.sum()), fix="Population is a head count; correct it."))
    out = _attach_users(out, users, keys)
    out = _deflate(out, deflator, base_period)
    per_user = (pl.col("spend_real") / pl.col("users")) if "users" in out.columns else pl.lit(None, pl.Float64)
    return out.with_columns(
        (pl.col("spend_real") / pl.col("population")).alias("spend_per_head"),
        pl.when(pl.col("users") > 0 if "users" in out.columns else pl.lit(False))
        .then(per_user).otherwise(None).alias("spend_per_user"),
    )


def _attach_users(out: pl.DataFrame, users, keys) -> pl.DataFrame:
    if users is None:
        return out
    if isinstance(users, str):
        _require(out, [users], "spend")
        _numeric(out, users, "spend")
        return out.with_columns(pl.col(users).cast(pl.Float64).alias("users"))
    users = _collect(users, "users")
    ukeys = ["area_code", "period"] + (["service"] if "service" in users.columns and "service" in keys else [])
    _require(users, ukeys + ["users"], "users")
    _numeric(users, "users", "users")
    _no_duplicates(users, ukeys, "users")
    return out.drop("users", strict=False).join(
        users.select(ukeys + [pl.col("users").cast(pl.Float64)]), on=ukeys, how="left", maintain_order="left")


def _deflate(out: pl.DataFrame, deflator, base_period) -> pl.DataFrame:
    if deflator is None:
        return out.with_columns(pl.lit("cash").alias("prices"),
                                pl.col("spend").cast(pl.Float64).alias("spend_real"))
    if isinstance(deflator, (pl.DataFrame, pl.LazyFrame)):
        d = _collect(deflator, "deflator")
        _require(d, ["period"], "deflator")
        num = [c for c in d.columns if c != "period" and d.schema[c].is_numeric()]
        if len(num) != 1:
            raise SchemaError(problem(None, f"deflator needs exactly one numeric column besides period, has {num}",
                                      fix="Pass a frame with columns period and index (or a dict period -> index)."))
        index = dict(zip(d["period"].cast(pl.String).to_list(), d[num[0]].to_list()))
    elif isinstance(deflator, Mapping):
        index = {str(k): v for k, v in deflator.items()}
    else:
        raise SchemaError(problem(None, f"deflator must be a mapping or a frame, got {type(deflator).__name__}",
                                  fix="Pass {period: index} such as {'2022/23': 95.1, '2023/24': 100.0}."))
    bad = [p for p, v in index.items() if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0]
    if bad:
        raise DataError(problem("deflator", "must be a positive number for every period", rows=bad,
                                fix="Use a price index such as the GDP deflator (e.g. 2023/24 = 100)."))
    if not index:
        raise DataError(problem("deflator", "is empty", fix="Give an index value for each period."))
    base = list(index)[-1] if base_period is None else str(base_period)
    if base not in index:
        raise DataError(problem("deflator", f"has no value for the base period {base!r}",
                                fix=f"Add it, or choose base_period from {list(index)[:10]}."))
    periods = out["period"].cast(pl.String)
    missing = sorted(set(periods.drop_nulls().unique().to_list()) - set(index))
    if missing:
        raise DataError(problem("period", "has no deflator value", rows=missing,
                                fix="Extend the deflator to every period of the spend data."))
    factor = periods.replace_strict({p: index[base] / v for p, v in index.items()}, default=None,
                                    return_dtype=pl.Float64)
    return out.with_columns(pl.lit(f"{base} prices").alias("prices"),
                            (pl.col("spend").cast(pl.Float64) * factor).alias("spend_real"))


# --------------------------------------------------------------------------------------------
# cost per outcome


def cost_per_outcome(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    spend: str = "spend_real",
    outcome: str = "value",
    lower: str | None = "lower_95",
    upper: str | None = "upper_95",
    base: str = "population",
    multiplier: float | str = 1.0,
    polarity: str | None = None,
) -> pl.DataFrame:
    """Spend per unit of outcome, with an interval carried from the outcome's limits.

    Method: the outcome count is ``base * outcome / multiplier`` (for a proportion per 100 of
    users, the number of users achieving it; for a rate per 100,000 people, the events; for a
    mean score per user, total points) and ``cost_per_outcome = spend / count``. Because cost is
    a decreasing function of the outcome, the outcome's limits map to cost limits the other way
    round: ``cost_per_outcome_lower = spend / count(upper)`` and
    ``cost_per_outcome_upper = spend / count(lower)`` (unbounded, so null, when the lower limit
    is 0). For lower-is-better outcomes (deaths, re-offending) spend per event would reward more
    events, so the cost is left null. Reference: Audit Commission (1986), *Performance Review in
    Local Government*: economy, efficiency, effectiveness ("cost per unit of outcome").

    Parameters:
        frame: rows with the spend, outcome and base columns.
        spend: spend column (cash or real).
        outcome: the outcome value on its published scale.
        lower, upper: the outcome's confidence limits (skipped when absent).
        base: the count the outcome is per: ``users``/``denominator`` or ``population``.
        multiplier: the outcome's scale (100 for %, 100000 per 100,000), or a column name.
        polarity: a polarity string, or a column holding one; lower_is_better rows get null.

    Returns:
        ``frame`` with ``cost_per_outcome``, ``cost_per_outcome_lower``, ``cost_per_outcome_upper``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"spend_real": [1.0e6], "value": [80.0], "lower_95": [75.0],
        ...                   "upper_95": [85.0], "users": [1000.0]})
        >>> out = cost_per_outcome(f, base="users", multiplier=100)
        >>> [round(out[c][0], 2) for c in ("cost_per_outcome", "cost_per_outcome_lower", "cost_per_outcome_upper")]
        [1250.0, 1176.47, 1333.33]
    """
    frame = _collect(frame, "frame")
    _require(frame, [spend, outcome, base], "frame")
    mult = pl.col(multiplier).cast(pl.Float64) if isinstance(multiplier, str) else pl.lit(float(multiplier))
    if isinstance(multiplier, str):
        _require(frame, [multiplier], "frame")
    if polarity is None:
        pol_ok = pl.lit(True)
    elif polarity in frame.columns:
        pol_ok = pl.col(polarity).fill_null("no_judgement") != "lower_is_better"
    else:
        pol_ok = pl.lit(polarity != "lower_is_better")

    def cost(col: str | None) -> pl.Expr:
        if col is None or col not in frame.columns:
            return pl.lit(None, pl.Float64)
        count = pl.col(base).cast(pl.Float64) * pl.col(col).cast(pl.Float64) / mult
        return pl.when(pol_ok & (count > 0)).then(pl.col(spend).cast(pl.Float64) / count).otherwise(None)

    return frame.with_columns(
        cost(outcome).alias("cost_per_outcome"),
        cost(upper).alias("cost_per_outcome_lower"),
        cost(lower).alias("cost_per_outcome_upper"),
    )


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
    from scipy import stats

    frame = _collect(frame, "frame")
    need = list(need)
    _require(frame, [outcome, spend, *need], "frame")
    for c in (outcome, spend, *need):
        _numeric(frame, c, "frame")
    by = [c for c in ("indicator_id", "period") if c in frame.columns] if by is None else list(by)
    _require(frame, by, "frame")
    weights = str(weights).lower()
    if weights not in ("auto", "inverse_variance", "population", "equal"):
        raise DataError(problem(None, f"weights {weights!r} is not known",
                                fix="Use 'auto', 'inverse_variance', 'population' or 'equal'."))
    if weights == "population" and "population" not in frame.columns:
        raise SchemaError(problem("population", "is needed for population weights",
                                  fix="Add population, or use weights='equal'."))
    if weights == "inverse_variance" and not (lower in frame.columns and upper in frame.columns):
        raise SchemaError(problem(lower, "and its upper partner are needed for inverse-variance weights",
                                  fix=f"Add {lower!r} and {upper!r}, or use weights='population'."))
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
            raise DataError(problem(c, what, rows=_rows(frame.filter(pl.Series(big)), [*by, "area_code"]), total=int(big.sum()),
                                    fix="Look for a unit error or a number mangled on export (such as 1e300), and correct it "
                                        "or leave the covariate out of need=."))
    if lower in frame.columns and upper in frame.columns:
        lo = frame[lower].cast(pl.Float64).fill_null(np.nan).to_numpy()
        hi = frame[upper].cast(pl.Float64).fill_null(np.nan).to_numpy()
        se = (hi - lo) / (2 * _Z95)
    else:
        se = np.full(n, np.nan)
    pop = (frame["population"].cast(pl.Float64).fill_null(np.nan).to_numpy()
           if "population" in frame.columns else np.full(n, np.nan))
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
    w0 = np.where(kind_row == 0, 1 / se_f ** 2, np.where(kind_row == 1, np.where(has_pop, pop, 1.0), 1.0))
    # population weights relative to the group mean keep the sums well scaled
    mean_w = np.bincount(gid, weights=np.where(usable, w0, 0), minlength=G) / np.maximum(
        np.bincount(gid, weights=usable, minlength=G), 1)
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
        Q = np.bincount(gid, weights=w0 * resid0 ** 2, minlength=G)
        P2 = _sym_bincount(Zu, w0 ** 2, gid, G)
        trace = np.einsum("gpq,gqp->g", Vinv, P2)
        denom = np.bincount(gid, weights=w0, minlength=G) - trace
        with np.errstate(divide="ignore", invalid="ignore"):
            t2 = np.where(denom > 0, (Q - dof) / denom, 0.0)
        tau2 = np.where(iv, np.maximum(t2, 0.0), 0.0)
        w1 = np.where(usable & (kind_row == 0), 1 / (se_f ** 2 + tau2[gid]), w0)
        beta, Vinv, rank, count = _wls(Zu, yu, w1, gid, G)
    else:
        w1 = w0
    resid = yu - np.einsum("np,np->n", Zu, beta[gid])
    s2 = np.bincount(gid, weights=w1 * resid ** 2, minlength=G) / np.where(dof > 0, dof, 1)
    scale = np.where(kind == 0, 1.0, s2)                 # known variances under inverse variance
    V = Vinv * scale[:, None, None]
    Zall = np.where(np.isfinite(Z), Z, 0.0)
    expected = np.einsum("np,np->n", Zall, beta[gid])
    lever = np.einsum("np,npq,nq->n", Zall, V[gid], Zall)
    # the area's own variance: sampling plus between-area (inverse variance), or s2 / weight;
    # unknown (so no interval) where the area lacks the standard error or population needed
    w_rel = np.where(has_pop, pop, np.nan) / np.where(mean_w > 0, mean_w, 1.0)[gid]
    own = np.select([kind_row == 0, kind_row == 1],
                    [np.where(has_se, se_f ** 2 + tau2[gid], np.nan), s2[gid] / w_rel], default=s2[gid])
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + level / 2, np.maximum(dof, 1))[gid] * np.sqrt(own + lever)
    ok = fit[gid] & np.all(np.isfinite(Z), axis=1) & np.isfinite(half)
    expected = np.where(ok, expected, np.nan)
    half = np.where(ok, half, np.nan)
    residual = np.where(ok, y - expected, np.nan)
    # remove the need covariates' effects, measured from each group's mean need
    need_idx = np.arange(2, Z.shape[1])
    zbar = np.stack([np.bincount(gid, weights=np.where(usable, Zall[:, j], 0.0), minlength=G)
                     for j in need_idx], axis=1) / np.maximum(count, 1)[:, None]
    adjusted = y - np.einsum("nk,nk->n", (Zall[:, need_idx] - zbar[gid]), beta[gid][:, need_idx])
    adjusted = np.where(ok, adjusted, np.nan)

    label_names = np.array(["inverse_variance", "population", "equal"], dtype=object)
    out = frame.with_columns(
        pl.Series("expected", expected).fill_nan(None),
        pl.Series("expected_lower", expected - half).fill_nan(None),
        pl.Series("expected_upper", expected + half).fill_nan(None),
        pl.Series("residual", residual).fill_nan(None),
        pl.Series("residual_lower", residual - half).fill_nan(None),
        pl.Series("residual_upper", residual + half).fill_nan(None),
        pl.Series("fit_weights", label_names[kind_row].tolist(), dtype=pl.String),
        pl.Series("value_need_adjusted", adjusted).fill_nan(None),
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
    return (pl.when(pl.col("residual").is_null()).then(None)
            .when(~above & ~below).then(pl.lit(same))
            .when(p == "higher_is_better").then(pl.when(above).then(pl.lit(more)).otherwise(pl.lit(less)))
            .when(p == "lower_is_better").then(pl.when(below).then(pl.lit(more)).otherwise(pl.lit(less)))
            .otherwise(pl.when(above).then(pl.lit(higher)).otherwise(pl.lit(lower))))


def _group_ids(frame: pl.DataFrame, by: Sequence[str]):
    import numpy as np

    if not by:
        return np.zeros(frame.height, dtype=np.int64)
    return (frame.select(pl.struct(list(by)).rank("dense").cast(pl.Int64) - 1)
            .to_series().to_numpy().astype(np.int64))


def _sym_bincount(Z, w, gid, G):
    """Per-group sum of w * z z' as a (G, p, p) array."""
    import numpy as np

    p = Z.shape[1]
    out = np.empty((G, p, p))
    for a in range(p):                  # loops over the few coefficients, not over rows
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


# --------------------------------------------------------------------------------------------
# the whole picture


def value_for_money(
    data: Any,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    service: str | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    weights: str = "auto",
    dea_model: str = "bcc",
    dea_output: str = "need_adjusted",
    level: float = 0.95,
) -> pl.DataFrame:
    """Spend against outcome for every indicator, area and period: unit costs, cost per outcome,
    the outcome expected for the spend and need, and the DEA efficient frontier.

    Method: outcomes (with 95% limits: supplied, or computed by each indicator's measure with
    :func:`publicservices.stats.intervals.add_intervals`) are joined to the spend of the
    indicator's ``service`` in the same area and period; :func:`unit_costs` gives spend per head
    (``areas.population``) and per service user (the indicator's ``denominator``) in real terms;
    :func:`cost_per_outcome` spend per unit of outcome; :func:`expected_outcome` the expected
    outcome and each area's residual with a prediction interval. The frontier is a DEA
    (:func:`publicservices.stats.dea.dea`) within each indicator and period, with real spend per
    head as the input and the outcome as the output. By default the output is the
    *need-adjusted* outcome (the regression's need effects removed, a two-stage adjustment for
    the operating environment as in Fried, Lovell, Schmidt & Yaisawarng 2002, *Journal of
    Productivity Analysis* 17:157-174), so deprived areas are not put off the frontier by their
    need alone; ``dea_output="raw"`` uses the outcome as published. The output is oriented by
    polarity: ``y - min`` when higher is better, ``max - y`` when lower is better. The BCC
    input-oriented model is used because its scores do not change when an output is translated
    (Ali & Seiford 1990, "Translation invariance in data envelopment analysis", *Operations
    Research Letters* 9(6):403-405), so the flip is harmless: an efficiency of 0.8 means an
    outcome as good was achieved elsewhere for 80% of the spend per head. For all of a
    service's indicators at once, see :func:`service_frontier`.

    Parameters:
        data: a ``Dataset`` (with ``.values``, ``.areas``, ``.spend``, ``.indicators``) or a values
            frame (then pass ``areas=`` and ``spend=``).
        indicators: indicator ids to include, or a mapping ``id -> Indicator`` (needed with a
            plain frame for polarity, multiplier and service). Default: every indicator of the
            dataset whose service has spend.
        areas, spend: frames, when ``data`` is a values frame (they override a Dataset's).
        service: only indicators of this spend service.
        deflator, base_period: real terms, as in :func:`unit_costs`.
        need: need covariates for the expected outcome (see :func:`expected_outcome`).
        weights: regression weights (see :func:`expected_outcome`).
        dea_model: ``"bcc"`` or ``"fdh"``.
        dea_output: ``"need_adjusted"`` or ``"raw"``.
        level: coverage of the prediction interval.

    Returns:
        One row per indicator x area x period: keys, ``service``, ``value``, ``lower_95``,
        ``upper_95``, ``spend``, ``spend_real``, ``prices``, ``population``, ``users``,
        ``spend_per_head``, ``spend_per_user``, ``cost_per_outcome`` (``_lower``, ``_upper``),
        ``expected`` (``_lower``, ``_upper``), ``residual`` (``_lower``, ``_upper``),
        ``assessment``, ``fit_weights``, ``value_need_adjusted``, ``efficiency``,
        ``efficient``, ``dea_peers`` and ``note`` (why a row could not be assessed; rows are
        never dropped).

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="health.checks", title="Health checks", sector="health",
        ...                 measure="proportion", multiplier=100, polarity="higher_is_better")
        >>> values = pl.DataFrame({"indicator_id": ["health.checks"] * 3, "area_code": list("ABC"),
        ...                        "period": ["2023/24"] * 3, "numerator": [400.0, 300.0, 450.0],
        ...                        "denominator": [1000.0] * 3})
        >>> areas = pl.DataFrame({"area_code": list("ABC"), "population": [1e4, 1e4, 2e4],
        ...                       "deprivation": [10.0, 20.0, 30.0]})
        >>> spend = pl.DataFrame({"area_code": list("ABC"), "period": ["2023/24"] * 3,
        ...                       "service": ["health"] * 3, "spend": [1e6, 1.5e6, 1.6e6]})
        >>> out = value_for_money(values, {ind.id: ind}, areas=areas, spend=spend, dea_output="raw")
        >>> out.select("area_code", "spend_per_head", pl.col("efficiency").round(3)).rows()
        [('A', 100.0, 0.8), ('B', 150.0, 0.533), ('C', 80.0, 1.0)]
        >>> out["dea_peers"].to_list()    # C achieves more for less than A and B
        [['C'], ['C'], ['C']]
        >>> out["cost_per_outcome"].to_list()   # pounds per person checked
        [2500.0, 5000.0, 3555.5555555555557]
    """
    frame = _assemble(data, indicators, areas=areas, spend=spend, service=service, deflator=deflator,
                      base_period=base_period, need=need, weights=weights, level=level)
    dea_output = str(dea_output).lower()
    if dea_output not in ("need_adjusted", "raw"):
        raise DataError(problem(None, f"dea_output {dea_output!r} is not known",
                                fix="Use 'need_adjusted' or 'raw'."))
    frame = _frontier(frame, dea_model, "value_need_adjusted" if dea_output == "need_adjusted" else "value")
    note = (pl.when(pl.col("value").is_null()).then(pl.lit("no outcome value"))
            .when(pl.col("spend").is_null()).then(pl.lit("no spend for this service and period"))
            .when(pl.col("spend_real") <= 0).then(pl.lit("no spend recorded (zero)"))
            .when(pl.col("population").is_null()).then(pl.lit("no population for the area"))
            .when(pl.col("expected").is_null()).then(pl.lit("too few comparable areas to fit"))
            .otherwise(None))
    out_cols = [*_KEYS, *(["period_start"] if "period_start" in frame.columns else []), "service",
                "value", "lower_95", "upper_95", "spend", "spend_real", "prices", "population",
                "users", "spend_per_head", "spend_per_user", "cost_per_outcome",
                "cost_per_outcome_lower", "cost_per_outcome_upper", "expected", "expected_lower",
                "expected_upper", "residual", "residual_lower", "residual_upper", "assessment",
                "fit_weights", "value_need_adjusted", "efficiency", "efficient", "dea_peers"]
    return frame.with_columns(note.alias("note")).select(*out_cols, "note")


def service_frontier(
    data: Any,
    service: str | None = None,
    *,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    periods: str | Sequence[str] | None = None,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    need_adjusted: bool = True,
    model: str = "bcc",
) -> Any:
    """The spend–outcome frontier of a whole service: one DEA per service and period with real
    spend per head as the input and all the service's indicators as outputs.

    Method: as the frontier of :func:`value_for_money` (BCC input-oriented, outputs oriented by
    polarity and, by default, adjusted for need), but with several outputs at once (Banker,
    Charnes & Cooper 1984), so an area is efficient when no combination of other areas achieves
    at least as much on *every* indicator for less spend per head. Indicators without polarity
    are left out. Areas missing any output or spend in a period are not scored (``note`` says so).

    Parameters:
        data, indicators, areas, spend, deflator, base_period, need: as for
            :func:`value_for_money`.
        service: the spend service (default: every service with indicators and spend).
        periods: period label(s) (default: all).
        need_adjusted: use need-adjusted outcomes (``False``: as published).
        model: ``"bcc"`` or ``"fdh"``.

    Returns:
        A :class:`publicservices.stats.dea.DEAResult` whose ``scores`` (with ``note``), ``peers``
        and ``targets`` frames carry ``service`` and ``period`` columns; the outputs are named by
        indicator id, and their targets are on the indicator's own scale (for a lower-is-better
        indicator the target is lower than the observed value).

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> inds = {i: Indicator(id=i, title=i, sector="health", measure="score",
        ...                      polarity="higher_is_better") for i in ("health.a", "health.b")}
        >>> values = pl.DataFrame({"indicator_id": ["health.a"] * 3 + ["health.b"] * 3,
        ...                        "area_code": list("PQRPQR"), "period": ["2024"] * 6,
        ...                        "value": [10.0, 4.0, 6.0, 2.0, 9.0, 5.0]})
        >>> areas = pl.DataFrame({"area_code": list("PQR"), "population": [1.0] * 3,
        ...                       "deprivation": [1.0] * 3})
        >>> spend = pl.DataFrame({"area_code": list("PQR"), "period": ["2024"] * 3,
        ...                       "service": ["health"] * 3, "spend": [100.0, 100.0, 125.0]})
        >>> res = service_frontier(values, "health", indicators=inds, areas=areas, spend=spend,
        ...                        need_adjusted=False)
        >>> res.scores.select("area_code", pl.col("efficiency").round(6)).rows()   # P + Q beat R for 100
        [('P', 1.0), ('Q', 1.0), ('R', 0.8)]
    """
    import numpy as np

    from publicservices.stats.dea import DEAResult, _check_options, _solve

    model, _ = _check_options(model, "input")
    if model == "ccr":
        raise DataError(problem(None, "the CCR model changes when outputs are translated",
                                fix="Use model='bcc' (or 'fdh') for oriented outcomes."))
    frame = _assemble(data, indicators, areas=areas, spend=spend, service=service, deflator=deflator,
                      base_period=base_period, need=need, weights="auto", level=0.95)
    if periods is not None:
        wanted = [periods] if isinstance(periods, str) else list(periods)
        frame = frame.filter(pl.col("period").is_in(wanted))
    col = "value_need_adjusted" if need_adjusted else "value"
    frame = frame.filter(pl.col("polarity") != "no_judgement")
    scores, peers, targets = [], [], []
    info = {"lps": 0, "highs_calls": 0, "rounds": 0, "units": 0}
    for (svc,), g in frame.group_by(["service"], maintain_order=True):     # a loop over services
        ids, pol, wide = _service_wide(g, col)
        use = (wide["_ok"] & (wide["_n"] >= 2)).to_numpy()
        note = np.where(wide["_ok"].to_numpy(), np.where(use, None, "fewer than two areas to compare"),
                        "missing spend or an outcome")
        base = wide.select(pl.lit(svc).alias("service"), "period", "area_code")
        n_all = wide.height
        eff = np.full(n_all, np.nan)
        eflag = np.zeros(n_all, dtype=bool)
        weak = np.zeros(n_all, dtype=bool)
        npeers = np.zeros(n_all, dtype=np.int64)
        ok = wide.filter(pl.Series(use))
        if ok.height:
            gid = _group_ids(ok, ["period"])
            G = int(gid.max()) + 1
            x = ok["_sph"].to_numpy()[:, None]
            sign = np.array([1.0 if pol[i] == "higher_is_better" else -1.0 for i in ids])
            V = ok.select(ids).to_numpy() * sign
            Y, shift = _translated(V, gid, G)
            sol = _solve(x, Y, model=model, orientation="input", slacks=True, groups=gid)
            for k in ("lps", "highs_calls", "rounds"):
                info[k] += sol.info.get(k, 0)
            info["units"] += ok.height
            rows = np.flatnonzero(use)
            eff[rows] = sol.efficiency
            cnt = np.bincount(gid, minlength=G)
            mx = np.bincount(gid, weights=x[:, 0], minlength=G) / cnt
            my = np.stack([np.bincount(gid, weights=Y[:, j], minlength=G)
                           for j in range(Y.shape[1])], axis=1) / cnt[:, None]
            my = np.where(my > 0, my, 1.0)
            slack = np.maximum((sol.slack_in / mx[gid][:, None]).max(axis=1), (sol.slack_out / my[gid]).max(axis=1))
            weak[rows] = sol.efficiency >= 1 - 1e-6
            eflag[rows] = weak[rows] & (slack <= 1e-6)
            npeers[rows] = np.bincount(sol.peer_unit, minlength=ok.height)
            codes, per = ok["area_code"], ok["period"]
            peers.append(pl.DataFrame({"service": svc, "period": per.gather(sol.peer_unit),
                                       "area_code": codes.gather(sol.peer_unit),
                                       "peer": codes.gather(sol.peer_ref), "weight": sol.peer_weight}))
            names = ["spend_per_head", *ids]
            obs = np.concatenate([x, V * sign], axis=1)
            tgt = np.concatenate([sol.target_in, (sol.target_out + shift[gid]) * sign], axis=1)
            sl = np.concatenate([sol.slack_in, sol.slack_out], axis=1)
            m = ok.height
            rep = np.repeat(np.arange(m), len(names))
            targets.append(pl.DataFrame({
                "service": svc, "period": per.gather(rep), "area_code": codes.gather(rep),
                "variable": names * m, "role": (["input"] + ["output"] * len(ids)) * m,
                "observed": obs.ravel(), "target": tgt.ravel(), "slack": sl.ravel(),
                "change": (tgt - obs).ravel(),
            }))
        has = ~np.isnan(eff)
        nulls = pl.Series([None] * n_all, dtype=pl.Boolean)
        scores.append(base.with_columns(
            pl.Series("efficiency", eff).fill_nan(None),
            pl.Series("efficient", eflag).zip_with(pl.Series(has), nulls),
            pl.Series("weakly_efficient", weak).zip_with(pl.Series(has), nulls),
            pl.Series("n_peers", npeers).zip_with(pl.Series(has), pl.Series([None] * n_all, dtype=pl.Int64)),
            pl.Series("note", note.tolist(), dtype=pl.String),
        ))
    empty_scores = pl.DataFrame(schema={"service": pl.String, "period": pl.String, "area_code": pl.String,
                                        "efficiency": pl.Float64, "efficient": pl.Boolean,
                                        "weakly_efficient": pl.Boolean, "n_peers": pl.Int64, "note": pl.String})
    empty_peers = pl.DataFrame(schema={"service": pl.String, "period": pl.String, "area_code": pl.String,
                                       "peer": pl.String, "weight": pl.Float64})
    empty_targets = pl.DataFrame(schema={"service": pl.String, "period": pl.String, "area_code": pl.String,
                                         "variable": pl.String, "role": pl.String, "observed": pl.Float64,
                                         "target": pl.Float64, "slack": pl.Float64, "change": pl.Float64})
    outputs = tuple(frame["indicator_id"].unique(maintain_order=True).to_list())
    return DEAResult(
        pl.concat(scores, how="vertical_relaxed") if scores else empty_scores,
        pl.concat(peers, how="vertical_relaxed") if peers else empty_peers,
        pl.concat(targets, how="vertical_relaxed") if targets else empty_targets,
        model, "input", ("spend_per_head",), outputs, "area_code", info)


def _service_wide(g: pl.DataFrame, col: str, extra: Sequence[str] = ()) -> tuple[list[str], dict[str, str], pl.DataFrame]:
    """One service's rows as one row per period and area: spend per head (``_sph``) and one
    column per indicator (``col``; ``extra`` columns become ``<id>:<column>``), with ``_ok``
    (spend and every outcome present) and ``_n`` (complete areas in the period)."""
    ids = g["indicator_id"].unique(maintain_order=True).to_list()
    pol = dict(g.select("indicator_id", "polarity").unique().iter_rows())
    index = ["period", "area_code"]
    wide = g.group_by(index, maintain_order=True).agg(pl.col("_sph").first())
    for c in (col, *extra):
        part = g.pivot(on="indicator_id", index=index, values=c)
        if c != col:
            part = part.rename({i: f"{i}:{c}" for i in ids if i in part.columns})
        wide = wide.join(part, on=index, how="left", maintain_order="left")
    cells = pl.col(["_sph", *ids])
    complete = wide.select(pl.all_horizontal(cells.is_not_null() & cells.is_finite())).to_series()
    wide = wide.with_columns(complete.alias("_ok")).with_columns(pl.col("_ok").sum().over("period").alias("_n"))
    return ids, pol, wide


def _translated(V, gid, G):
    """Each output less its minimum within its group: non-negative, and harmless to BCC input scores."""
    import numpy as np

    shift = np.full((G, V.shape[1]), np.inf)
    np.minimum.at(shift, gid, V)
    return V - shift[gid], shift


def frontier_savings(
    data: Any,
    service: str | None = None,
    *,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    periods: str | Sequence[str] | None = None,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    need_adjusted: bool = True,
    model: str = "bcc",
    replicates: int = 100,
    level: float = 0.95,
    seed: int = 20240401,
) -> pl.DataFrame:
    """The spend saved if every area matched its frontier peers, with the range chance allows.

    Method: the service frontier of :func:`service_frontier` gives each area an input-oriented
    efficiency ``theta``: the share of its spend per head with which its peers achieve at least
    its outcomes. Matching them would save ``(1 - theta) * spend``; the sum over the areas
    scored is the *potential input reduction* of data envelopment analysis (Farrell 1957,
    *JRSS A* 120:253-290; Cooper, Seiford & Tone 2007, *Data Envelopment Analysis*, ch. 3).
    The range is a parametric bootstrap: each replicate redraws every outcome from a normal
    distribution with the standard error implied by its 95% limits, ``(upper - lower) /
    (2 * 1.96)``, solves the frontier again and sums the savings; the interval is the normal
    bootstrap interval, ``savings +/- z * sd(replicates)`` (not below zero), for which 50 to 200
    replicates suffice (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, sections
    6.4 and 13.2), where percentile intervals would need a thousand or more frontier solves.
    It shows how far the figure moves with the noise in the outcomes.
    It does not remove the upward bias of a frontier estimated from the areas themselves
    (chance pushes the frontier out, Simar & Wilson 1998, *Management Science* 44:49-61), so
    the figure is an upper bound on what matching peers could save, not a budget. Outcomes
    without limits are held at their values (``note`` counts them); when more than one in ten
    lack them there is no range, and ``note`` says why.

    Parameters:
        data, service, indicators, periods, areas, spend, deflator, base_period, need,
            need_adjusted, model: as for :func:`service_frontier`.
        replicates: bootstrap replicates (0 for no range; at least 2 for one).
        level: coverage of the range.
        seed: random seed, so that a site rebuilds the same figures.

    Returns:
        One row per service and period: ``n_areas`` (scored), ``spend`` (their real spend),
        ``savings``, ``savings_share`` (of ``spend``), ``savings_lower``, ``savings_upper``,
        ``replicates`` and ``note``.

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="health.a", title="A", sector="health", measure="score",
        ...                 polarity="higher_is_better")
        >>> values = pl.DataFrame({"indicator_id": ["health.a"] * 3, "area_code": list("PQR"),
        ...                        "period": ["2024"] * 3, "value": [10.0, 10.0, 4.0]})
        >>> areas = pl.DataFrame({"area_code": list("PQR"), "population": [1.0] * 3,
        ...                       "deprivation": [1.0] * 3})
        >>> spend = pl.DataFrame({"area_code": list("PQR"), "period": ["2024"] * 3,
        ...                       "service": ["health"] * 3, "spend": [100.0, 125.0, 50.0]})
        >>> out = frontier_savings(values, "health", indicators={ind.id: ind}, areas=areas,
        ...                        spend=spend, need_adjusted=False)
        >>> out.select(pl.col("savings", "savings_share").round(3), "note").row(0)   # Q could do as P for 100
        (25.0, 0.091, 'no range: more than one in ten outcomes have no 95% limits')
    """
    import numpy as np

    from publicservices.stats.dea import _check_options, _solve

    model, _ = _check_options(model, "input")
    if model == "ccr":
        raise DataError(problem(None, "the CCR model changes when outputs are translated",
                                fix="Use model='bcc' (or 'fdh') for oriented outcomes."))
    if not 0 < level < 1:
        raise DataError(problem(None, f"level={level!r} is not between 0 and 1", fix="Use e.g. 0.95."))
    replicates = int(replicates)
    if replicates < 0 or replicates == 1:
        raise DataError(problem(None, f"replicates={replicates} cannot give a range",
                                fix="Use 0 (no range) or at least 2 (50 to 200 suffice)."))
    frame = _assemble(data, indicators, areas=areas, spend=spend, service=service, deflator=deflator,
                      base_period=base_period, need=need, weights="auto", level=0.95)
    if periods is not None:
        wanted = [periods] if isinstance(periods, str) else list(periods)
        frame = frame.filter(pl.col("period").is_in(wanted))
    frame = frame.filter(pl.col("polarity") != "no_judgement")
    col = "value_need_adjusted" if need_adjusted else "value"
    rng = np.random.default_rng(seed)
    out = []
    for (svc,), g in frame.group_by(["service"], maintain_order=True):     # a loop over services
        ids, pol, wide = _service_wide(g, col, ("lower_95", "upper_95", "spend_real"))
        ok = wide.filter(pl.col("_ok") & (pl.col("_n") >= 2))
        if not ok.height:
            continue
        gid = _group_ids(ok, ["period"])
        G = int(gid.max()) + 1
        x = ok["_sph"].to_numpy()[:, None]
        sign = np.array([1.0 if pol[i] == "higher_is_better" else -1.0 for i in ids])
        V = ok.select(ids).to_numpy() * sign
        # the area's spend (the same for each of the service's indicators)
        money = ok.select(pl.coalesce([f"{i}:spend_real" for i in ids])).to_series().to_numpy()
        sol = _solve(x, _translated(V, gid, G)[0], model=model, orientation="input", slacks=False, groups=gid)
        saved = np.bincount(gid, weights=(1 - sol.efficiency) * money, minlength=G)
        total = np.bincount(gid, weights=money, minlength=G)
        se = ((ok.select([f"{i}:upper_95" for i in ids]).to_numpy() - ok.select([f"{i}:lower_95" for i in ids]).to_numpy())
              / (2 * _Z95))
        # outcomes without limits are held at their value; beyond one in ten, there is no range
        unknown = (~(np.isfinite(se) & (se >= 0))).sum(axis=1)
        missing = np.bincount(gid, weights=unknown, minlength=G)
        cells = np.bincount(gid, minlength=G) * len(ids)
        ranged = missing <= 0.1 * cells
        lo = np.full(G, np.nan)
        hi = np.full(G, np.nan)
        if replicates and ranged.any():
            keep = ranged[gid]
            xs, Vs, ses, gs, ms = x[keep], V[keep], np.where(np.isfinite(se), se, 0.0)[keep], gid[keep], money[keep]
            draws = np.empty((replicates, G))
            # replicates in batches, each batch one stacked solve with a group per replicate and period
            batch = max(1, 20000 // max(len(gs), 1))
            for start in range(0, replicates, batch):
                r = min(batch, replicates - start)
                Vr = np.concatenate([Vs + rng.standard_normal(Vs.shape) * ses * sign for _ in range(r)])
                gr = np.concatenate([gs + k * G for k in range(r)])
                Yr = _translated(Vr, gr, r * G)[0]
                eff = _solve(np.tile(xs, (r, 1)), Yr, model=model, orientation="input", slacks=False,
                             groups=gr).efficiency
                draws[start:start + r] = np.bincount(gr, weights=(1 - eff) * np.tile(ms, r),
                                                     minlength=r * G).reshape(r, G)
            from scipy.stats import norm

            half = norm.ppf(0.5 + level / 2) * draws.std(axis=0, ddof=1)
            lo = np.where(ranged, np.maximum(saved - half, 0.0), np.nan)
            hi = np.where(ranged, saved + half, np.nan)
        periods_ = ok.select("period").to_series().gather(np.unique(gid, return_index=True)[1])
        note = np.where(ranged, np.where(missing > 0, [f"the range holds fixed the {int(k):,} of {int(c):,} outcomes without 95% limits"
                                                       for k, c in zip(missing, cells, strict=True)], None),
                        "no range: more than one in ten outcomes have no 95% limits") if replicates else \
            np.full(G, "no range: replicates=0", dtype=object)
        out.append(pl.DataFrame({
            "service": [svc] * G, "period": periods_, "n_areas": np.bincount(gid, minlength=G),
            "spend": total, "savings": saved, "savings_share": saved / np.where(total > 0, total, np.nan),
            "savings_lower": lo, "savings_upper": hi, "replicates": [replicates if r else 0 for r in ranged],
            "note": note.tolist(),
        }, schema_overrides={"note": pl.String}).with_columns(pl.col(pl.Float64).fill_nan(None)))
    schema = {"service": pl.String, "period": pl.String, "n_areas": pl.Int64, "spend": pl.Float64,
              "savings": pl.Float64, "savings_share": pl.Float64, "savings_lower": pl.Float64,
              "savings_upper": pl.Float64, "replicates": pl.Int64, "note": pl.String}
    return pl.concat(out, how="vertical_relaxed").cast(schema) if out else pl.DataFrame(schema=schema)


def _assemble(data, indicators, *, areas, spend, service, deflator, base_period, need, weights, level):
    """Values joined with metadata, limits, spend, areas, unit costs, cost per outcome and the
    expected outcome: everything value for money needs before the frontier."""
    values, areas, spend, catalogue = _resolve(data, areas, spend)
    if isinstance(indicators, Mapping):
        catalogue = {**catalogue, **dict(indicators)}
    ids = _choose_indicators(values, catalogue, indicators, spend, service)
    values = values.filter(pl.col("indicator_id").is_in(ids))
    _no_duplicates(values, list(_KEYS), "values",
                   fix="Value for money uses one row per indicator, area and period: filter "
                       "breakdown rows (sex, age ...) to the totals first.")
    meta = pl.DataFrame({
        "indicator_id": ids,
        "service": [_service_of(catalogue.get(i), service, spend) for i in ids],
        "multiplier": [float(getattr(catalogue.get(i), "multiplier", 1.0)) for i in ids],
        "polarity": [str(getattr(catalogue.get(i), "polarity", "no_judgement")) for i in ids],
    }, schema={"indicator_id": pl.String, "service": pl.String, "multiplier": pl.Float64,
               "polarity": pl.String})
    values = _with_limits(values, {i: catalogue[i] for i in ids if i in catalogue}, ids)
    clash = [c for c in ("service", "multiplier", "polarity") if c in values.columns]
    frame = _prepare_values(values).drop(clash).join(meta, on="indicator_id", how="left",
                                                     maintain_order="left")
    frame = frame.with_columns(
        pl.coalesce(pl.col("value"), pl.col("numerator") / pl.col("denominator") * pl.col("multiplier")).alias("value")
    )
    sp = _collect(spend, "spend")
    _require(sp, ["area_code", "period", "spend"], "spend")
    skeys = ["area_code", "period"] + (["service"] if "service" in sp.columns else [])
    ar = _collect(areas, "areas")
    costs = unit_costs(sp, ar, deflator=deflator, base_period=base_period)
    frame = frame.drop([c for c in ("spend", "spend_real", "prices") if c in frame.columns]).join(
        costs.select(skeys + ["spend", "spend_real", "prices"]), on=skeys, how="left", maintain_order="left")
    acols = ["area_code"] + [c for c in dict.fromkeys(["population", *need]) if c in ar.columns]
    frame = frame.drop([c for c in acols[1:] if c in frame.columns]).join(
        ar.select(acols), on="area_code", how="left", maintain_order="left")
    missing_need = [c for c in need if c not in frame.columns]
    if missing_need:
        raise SchemaError(problem(missing_need[0], "is missing from areas",
                                  fix="Add the need covariate to areas, or pass need=[...] without it."))
    frame = frame.with_columns(
        pl.col("denominator").alias("users"),
        (pl.col("spend_real") / pl.col("population")).alias("spend_per_head"),
    ).with_columns(
        pl.when(pl.col("users") > 0).then(pl.col("spend_real") / pl.col("users"))
        .otherwise(None).alias("spend_per_user"),
        pl.when(pl.col("spend_real") > 0).then(pl.col("spend_per_head")).otherwise(None).alias("_sph"),
        pl.coalesce(pl.col("denominator"), pl.col("population")).alias("_base"),
    )
    frame = cost_per_outcome(frame, spend="spend_real", base="_base", multiplier="multiplier",
                             polarity="polarity")
    return expected_outcome(frame, outcome="value", spend="_sph", need=need,
                            log=("_sph", "population"), by=["indicator_id", "period"],
                            weights=weights, polarity="polarity", level=level)


def _with_limits(values: pl.DataFrame, catalogue: Mapping[str, Any], ids: Sequence[str]) -> pl.DataFrame:
    """95% limits: the frame's own, else computed by each indicator's measure (Wilson, Byar ...)."""
    if ("lower_95" in values.columns and "upper_95" in values.columns) or set(ids) - set(catalogue):
        return values
    from publicservices.stats.intervals import add_intervals

    out = add_intervals(values, dict(catalogue), confidence=(0.95,))
    return out.drop("ci_method", strict=False)


def _frontier(frame: pl.DataFrame, dea_model: str, column: str) -> pl.DataFrame:
    """BCC input-oriented (or FDH) efficiency of real spend per head against the oriented
    outcome ``column``, within each indicator and period."""
    import numpy as np

    from publicservices.stats.dea import _solve

    dea_model = str(dea_model).lower()
    if dea_model not in ("bcc", "fdh"):
        raise DataError(problem(None, f"dea_model {dea_model!r} is not available here",
                                fix="Use 'bcc' (translation invariant, see the docstring) or 'fdh'."))
    f = frame.with_row_index("_row")
    good = (pl.col("_sph").is_not_null() & pl.col(column).is_not_null() & pl.col(column).is_finite()
            & pl.col("_sph").is_finite() & (pl.col("polarity") != "no_judgement"))
    # orient and translate within each indicator x period; groups of one area are not scored
    key = ["indicator_id", "period"]
    v = pl.col(column)
    cand = (f.filter(good)
            .with_columns(pl.len().over(key).alias("_n"),
                          pl.when(pl.col("polarity") == "higher_is_better").then(v - v.min().over(key))
                          .otherwise(v.max().over(key) - v).alias("_y"))
            .filter(pl.col("_n") >= 2))
    eff = np.full(f.height, np.nan)
    efficient = np.zeros(f.height, dtype=bool)
    peer_rows, peer_codes = [], []
    if cand.height:
        gid = _group_ids(cand, key)
        x = cand["_sph"].to_numpy()[:, None]
        y = cand["_y"].to_numpy()[:, None]
        # every indicator x period in the same batched solve, peers kept within each group
        sol = _solve(x, y, model=dea_model, orientation="input", slacks=True, groups=gid)
        rows = cand["_row"].to_numpy()
        eff[rows] = sol.efficiency
        G = int(gid.max()) + 1
        mx = np.bincount(gid, weights=x[:, 0], minlength=G) / np.bincount(gid, minlength=G)
        my = np.bincount(gid, weights=y[:, 0], minlength=G) / np.bincount(gid, minlength=G)
        my = np.where(my > 0, my, 1.0)
        slack = np.maximum(sol.slack_in[:, 0] / mx[gid], sol.slack_out[:, 0] / my[gid])
        efficient[rows] = (sol.efficiency >= 1 - 1e-6) & (slack <= 1e-6)
        peer_rows.append(rows[sol.peer_unit])
        peer_codes.append(cand["area_code"].gather(sol.peer_ref))
    has = ~np.isnan(eff)
    out = frame.with_columns(
        pl.Series("efficiency", eff).fill_nan(None),
        pl.Series("efficient", efficient).zip_with(pl.Series(has), pl.Series([None] * len(has), dtype=pl.Boolean)),
    )
    if peer_rows:
        lists = (pl.DataFrame({"_row": np.concatenate(peer_rows),
                               "peer": pl.concat(peer_codes)})
                 .group_by("_row").agg(pl.col("peer").alias("dea_peers")))
        out = (out.with_row_index("_row")
               .join(lists.with_columns(pl.col("_row").cast(pl.UInt32)), on="_row", how="left", maintain_order="left")
               .drop("_row"))
    else:
        out = out.with_columns(pl.lit(None, pl.List(pl.String)).alias("dea_peers"))
    return out


def _resolve(data, areas, spend):
    if isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        if areas is None or spend is None:
            raise SchemaError(problem(None, "with a values frame, value for money needs areas= and spend=",
                                      fix="Pass areas=<frame with area_code, population, deprivation> "
                                          "and spend=<frame with area_code, period, service, spend>, "
                                          "or pass a Dataset."))
        from publicservices.frame import validate_areas, validate_values  # the door sits above stats: imported on use

        # Plain frames are held to the contract at the door, as a Dataset's are.
        return validate_values(_collect(data, "values")), validate_areas(_collect(areas, "areas")), spend, {}
    for attr in ("values", "areas", "spend"):
        if not isinstance(getattr(data, attr, None), (pl.DataFrame, pl.LazyFrame)):
            raise SchemaError(problem(None, f"value for money needs a Dataset or a values frame; "
                                            f"{type(data).__name__} has no .{attr} frame",
                                      fix="Pass a publicservices Dataset, or a values frame with areas= and spend=."))
    return (_collect(data.values, "values"), areas if areas is not None else data.areas,
            spend if spend is not None else data.spend, dict(getattr(data, "indicators", None) or {}))


def _choose_indicators(values, catalogue, indicators, spend, service) -> list[str]:
    _require(values, list(_KEYS), "values")
    present = values["indicator_id"].unique(maintain_order=True).to_list()
    if indicators is None:
        ids = [i for i in present if i in catalogue] if catalogue else present
        sp = _collect(spend, "spend")
        if catalogue and "service" in sp.columns:
            services = set(sp["service"].unique().to_list())
            ids = [i for i in ids if getattr(catalogue[i], "service", None) in services]
    else:
        ids = list(indicators)
        unknown = [i for i in ids if i not in present]
        if unknown:
            raise DataError(problem("indicator_id", "has no values for some requested indicators",
                                    rows=unknown, fix=f"Choose from {present[:10]}."))
    if service is not None:
        ids = [i for i in ids if catalogue.get(i) is None or getattr(catalogue[i], "service", None) == service]
        if not ids:
            raise DataError(problem(None, f"no indicator relates to service {service!r}",
                                    fix="Check the service name against the indicators' service."))
    return ids


def _service_of(ind, service, spend) -> str | None:
    if ind is not None and getattr(ind, "service", None):
        return ind.service
    if service is not None:
        return service
    sp = _collect(spend, "spend")
    if "service" in sp.columns:
        found = sp["service"].unique().to_list()
        if len(found) == 1:
            return found[0]
        raise DataError(problem("service", f"is ambiguous: spend covers {sorted(map(str, found))[:5]}",
                                fix="Pass indicators={id: Indicator(..., service=...)} or service=..."))
    return None


def _prepare_values(values: pl.DataFrame) -> pl.DataFrame:
    """Outcome value and 95% limits from whichever columns the values frame has."""
    def col(name):
        return pl.col(name).cast(pl.Float64) if name in values.columns else pl.lit(None, pl.Float64)

    return values.with_columns(
        col("value").alias("value"),
        col("numerator").alias("numerator"),
        col("denominator").alias("denominator"),
        pl.coalesce(col("lower_95"), col("lower_ci")).alias("lower_95"),
        pl.coalesce(col("upper_95"), col("upper_ci")).alias("upper_95"),
    )


# --------------------------------------------------------------------------------------------
# small helpers


def _collect(frame: Any, name: str) -> pl.DataFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(problem(None, f"{name} must be a Polars DataFrame, got {type(frame).__name__}",
                                  fix="Pass a polars.DataFrame (pl.from_pandas(...) converts a pandas frame)."))
    return frame


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    for c in columns:
        if c not in frame.columns:
            raise SchemaError(problem(c, f"is missing from {name}",
                                      fix=f"Add it, or name one of {frame.columns[:20]}."))


def _numeric(frame: pl.DataFrame, column: str, name: str) -> None:
    if not frame.schema[column].is_numeric():
        raise SchemaError(problem(column, f"in {name} has type {frame.schema[column]}, not a number",
                                  fix=f"Cast it: pl.col({column!r}).cast(pl.Float64)."))


def _codes(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Key columns must hold text (codes and labels), or the joins between frames cannot match them."""
    for column in columns:
        dtype = frame.schema[column]
        if dtype != pl.String:
            raise SchemaError(problem(column, f"in {name} has type {dtype}, not text",
                                      fix=f"Codes and labels are text: pl.col({column!r}).cast(pl.String) if the values "
                                          "are right, or correct the column."))


def _rows(frame: pl.DataFrame, keys: Sequence[str]) -> list[str]:
    keys = [k for k in keys if k in frame.columns]
    return (frame.head(5).select(pl.concat_str([pl.col(k).cast(pl.String) for k in keys],
                                               separator=" | ", ignore_nulls=True))
            .to_series().to_list())


def _no_duplicates(frame: pl.DataFrame, keys: Sequence[str], name: str, fix: str | None = None) -> None:
    dup = frame.select(list(keys)).is_duplicated()
    if dup.any():
        raise DataError(problem(None, f"{name} has more than one row per {' x '.join(keys)}",
                                rows=_rows(frame.filter(dup), keys), total=int(dup.sum()),
                                fix=fix or "Aggregate or filter so each key appears once."))
