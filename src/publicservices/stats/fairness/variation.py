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
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from publicservices.errors import OptionError
from publicservices.stats._common import Z95, as_list, group_index, text_values
from publicservices.stats.fairness.tau2 import group_sums, tau2_estimates
from publicservices.stats.outcomes.levels import level_suffix

__all__ = [
    "between_area_variation",
    "reliability",
    "systematic_component",
    "standard_error",
    "column_suffix",
    "METHODS",
    "INTERVAL_METHODS",
]

METHODS: tuple[str, ...] = ("DL", "PM", "REML")
#: the interval paired with each estimator: always the estimator's own, so the point lies inside it
INTERVAL_METHODS: dict[str, str] = {"DL": "Biggerstaff-Tweedie", "PM": "Q-profile", "REML": "profile likelihood"}


def column_suffix(level: float) -> str:
    """Suffix of the tau2 limit columns: ``_95`` and ``_998`` for the two standard levels, else ``""``.

    Built on :func:`publicservices.stats.level_suffix` (the one level-to-suffix rule); a custom
    level names its columns without a suffix (``tau2_lower``), as before.

    Example:
        >>> column_suffix(0.95), column_suffix(0.998), column_suffix(0.9)
        ('_95', '_998', '')
    """
    if math.isclose(level, 0.95) or math.isclose(level, 0.998):
        return "_" + level_suffix(0.95 if math.isclose(level, 0.95) else 0.998)
    return ""


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise OptionError(
            f"level must lie strictly between 0 and 1 (e.g. 0.95), got {level!r}.\nFix: pass a fraction such as 0.95."
        )
    if level < 0.5:
        raise OptionError(
            f"level must be at least 0.5 for an interval around tau2, got {level!r}: a narrower central interval "
            "need not contain the point estimate.\nFix: pass a level such as 0.8, 0.95 or 0.998."
        )
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
        (pl.col(upper) - pl.col(lower)) / (2 * Z95) if lower is not None and upper is not None else pl.lit(None, dtype=pl.Float64)
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
        raise OptionError(f"method must be one of {', '.join(METHODS)}, got {method!r}.\nFix: use method='DL', 'PM' or 'REML'.")
    level = _check_level(level)
    sfx = column_suffix(level)
    keys = as_list(by)
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
    res = tau2_estimates(gid, size, y, v, method, level) if size else {}
    n_no_se = np.bincount(gid_all[has_y & ~usable], minlength=size)
    if reference is not None:
        ref_all = df.get_column(reference).cast(pl.Float64).to_numpy()
        ref = np.full(size, np.nan)
        ref[gid_all] = ref_all  # constant within a group by contract
    else:
        ref = res.get("mu", np.zeros(0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # phi: z-scores against the reference (Spiegelhalter 2005)
        phi = group_sums(gid, size, (y - ref[gid]) ** 2 / v) / res["k"] if size else np.zeros(0)
        i2 = lambda t: t / (t + res["s2"])  # noqa: E731
        rel = group_sums(gid, size, res["tau2"][gid] / (res["tau2"][gid] + v)) / res["k"] if size else np.zeros(0)
        pos_ref = np.where(ref > 0, ref, np.nan)
        cv = lambda t: np.sqrt(t) / pos_ref  # noqa: E731
    few = res["k"] < 2 if size else np.zeros(0, dtype=bool)
    overflow = res["overflow"] if size else np.zeros(0, dtype=bool)
    converged = res["converged"] if size else np.zeros(0, dtype=bool)
    note = np.where(
        few,
        "fewer than 2 areas with a value and a standard error: between-area variance not estimable",
        np.where(
            overflow,
            "values or standard errors too extreme for floating point (the weighted sums overflow): "
            "between-area variance not computed; rescale the values (e.g. per 1,000 instead of per 1)",
            np.where(
                ~np.isfinite(pos_ref),
                "reference value is not positive: no coefficient of variation",
                np.where(~converged, "REML did not converge", None),  # type: ignore[call-overload]  # numpy's stubs reject None
            ),
        ),
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
        pl.Series("variation_note", text_values(note), dtype=pl.String),
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
    keys = as_list(by)
    est = between_area_variation(frame, value, se, by=keys or [], method=method).select(*keys, "tau2", "mu")
    joined = (
        frame.join(est, on=keys, how="left", nulls_equal=True)
        if keys
        else frame.with_columns(pl.lit(est["tau2"][0]).alias("tau2"), pl.lit(est["mu"][0]).alias("mu"))
    )
    r = pl.col("tau2") / (pl.col("tau2") + pl.col(se) ** 2)
    usable = pl.col(se).is_not_null() & (pl.col(se) > 0)
    return (
        joined.with_columns(
            pl.when(usable).then(r).alias("reliability"),
        )
        .with_columns(
            pl.when(usable).then(pl.col("mu") + pl.col("reliability") * (pl.col(value) - pl.col("mu"))).alias("shrunk"),
        )
        .drop("mu")
    )


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
    keys = as_list(by)
    o, n = pl.col(observed).cast(pl.Float64), pl.col(denominator).cast(pl.Float64)
    ok = o.is_not_null() & n.is_not_null() & (n > 0)
    p = o.filter(ok).sum() / n.filter(ok).sum()
    e = n.filter(ok) * p
    noise = (1 - p) / e if binomial else 1 / e
    term = ((o.filter(ok) - e) / e) ** 2 - noise
    lf = frame.lazy()
    if not keys:
        lf = lf.with_columns(pl.lit(0).alias("__all"))
    out = (
        lf.group_by(keys or ["__all"], maintain_order=True)
        .agg(
            pl.when(p > 0).then(term.mean()).alias("scv"),
            (~ok).sum().cast(pl.Int64).alias("scv_n_excluded"),
        )
        .collect()
    )
    return out if keys else out.drop("__all")
