"""The package's own funnel plot: every unit against limits at its own precision.

:func:`build_funnel` places each unit against PHE, exact-with-interpolation or normal limits,
optionally widened for over-dispersion by Spiegelhalter's (2005) multiplicative factor phi or
additive random-effects tau^2, and says whether each unit is better, similar or worse by the
indicator's polarity. The PHE API ports it builds on are in
:mod:`publicservices.stats.ranking.phe_funnel`; exact limits and the over-dispersion estimate in
:mod:`publicservices.stats.ranking.exact_funnel`.

References: Spiegelhalter DJ (2005) Stat Med 24:1185-1202; Spiegelhalter DJ (2005) Qual Saf
Health Care 14:347-351; PHEindicatormethods 2.1.0 (UKHSA, GPL-3).

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C", "D"], "numerator": [10232.0, 12321.0, 15123.0, 13213.0],
    ...                    "denominator": [15232.0, 16123.0, 17932.0, 18475.0]})
    >>> build_funnel(df, measure="proportion", multiplier=100, polarity="higher_is_better").points["comparison"].to_list()
    ['worse (99.8%)', 'better (99.8%)', 'better (99.8%)', 'worse (99.8%)']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats._common import Z95, require_columns
from publicservices.stats.outcomes.levels import level_suffix
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking._funnel_core import (
    COMPARISON_LEVELS,
    LEVELS,
    OVERDISPERSION_ALPHA,
    OVERDISPERSION_POLICIES,
    POSITION_LEVELS,
    SIGNIFICANCE_LEVELS,
    enum_series,
)
from publicservices.stats.ranking.exact_funnel import exact_funnel_limits, exact_tail_positions, winsorised_dispersion
from publicservices.stats.ranking.phe_funnel import funnel_limits, phe_labels, sigma_adjustment, unit_counts

__all__ = ["Funnel", "build_funnel", "SIGNIFICANCE_LEVELS", "COMPARISON_LEVELS", "OVERDISPERSION_POLICIES"]


class Funnel(NamedTuple):
    """Result of :func:`build_funnel`: ``points`` (one row per unit), ``limits`` (long form, one row
    per curve point: ``limit`` in lower_998/lower_95/baseline/upper_95/upper_998, ``precision``,
    ``value``) and ``dispersion`` (one row per group: the limits used and why -- ``method``,
    ``overdispersion`` (applied), ``overdispersion_policy`` (asked for), ``phi``, ``chi2_df``,
    ``chi2_p``, ``tau2``, ``overdispersion_reason``). The points' positions and comparisons
    always come from the limits in ``limits``."""

    points: pl.DataFrame
    limits: pl.DataFrame
    dispersion: pl.DataFrame


_Z = {0.95: Z95, 0.998: 3.090232306167813}  # qnorm(0.975), qnorm(0.999)


def _policy(overdispersion: str | None) -> str:
    policy = "none" if overdispersion is None else overdispersion
    if policy not in OVERDISPERSION_POLICIES:
        raise DataError(
            f"overdispersion must be one of {', '.join(repr(p) for p in OVERDISPERSION_POLICIES)}, "
            f"not {overdispersion!r}.\n"
            "Fix: 'auto' (test for variation beyond chance and allow for it when significant), 'none', "
            "'additive' or 'multiplicative'."
        )
    return policy


def build_funnel(
    frame: Any,
    indicator: Indicator | str | None = None,
    overdispersion: Literal["auto", "none", "multiplicative", "additive"] | None = None,
    *,
    method: Literal["phe", "exact", "normal"] | None = None,
    target: float | None = None,
    years_of_data: float = 1.0,
    winsorize: float = 0.1,
    by: Sequence[str] | str | None = None,
    indicators: Mapping[str, Indicator] | None = None,
    measure: str | None = None,
    multiplier: float | None = None,
    polarity: str | None = None,
    points: int = 100,
) -> Funnel:
    """Funnel plot for one indicator: each unit against control limits at its own precision.

    Methods (Spiegelhalter 2005, Stat Med 24:1185; Fingertips technical guidance):

    * ``"phe"`` (default for proportion, ratio, rate, dsr without a target):
      curves from :func:`funnel_limits`, labels from :func:`funnel_significance`, positions
      from the labels. Per-unit limit columns: Wilson inversion for proportions; exact
      interpolated Poisson limits for ratios and rates (PHE labels those with Byar's interval,
      so a unit within a count of a limit can differ).
    * ``"exact"`` (default with ``target=``): exact binomial / Poisson limits with
      interpolation (:func:`exact_funnel_limits`), baseline sum(O)/sum(n) (ratios: 1) or
      ``target``; each unit is placed by the one-sided exact tests
      (:func:`exact_tail_positions`: above when P(X >= x) < 0.025 (95%) or 0.001 (99.8%)),
      which agree with the drawn limits for whole counts and keep the false-flag rate under the
      baseline at or below nominal for any n and baseline; nothing is above a 100% target.
    * ``"normal"``: theta0 +/- z se; the only method for ``mean`` and ``score`` measures,
      which need an ``se`` column (or ``lower_ci``/``upper_ci``, read as 95% limits).

    ``overdispersion`` (Spiegelhalter 2005, s.6; QSHC 14:347): z_i = (y_i - theta0)/s_i with
    s_i^2 = V(theta0)/rho_i, 10% Winsorised (``winsorize``); phi = mean z^2; I phi is compared
    with chi^2 on I - 1 degrees of freedom (I with a ``target``, or for ratios against 1).

    * ``None`` / ``"none"`` (default here): limits for chance alone (the method above).
    * ``"auto"`` (the default of :func:`publicservices.funnel_check` and the published site):
      in each group, when the test is significant at 5% the additive random-effects limits
      below, otherwise no adjustment (the method above). ``method`` then applies to the
      unadjusted groups only.
    * ``"additive"``: theta0 +/- z sqrt(s^2 + tau^2), tau^2 = (I phi - (I-1)) / (sum w -
      sum w^2 / sum w), w = 1/s^2 (normal limits).
    * ``"multiplicative"``: theta0 +/- z sqrt(phi) s (only when phi > 1; normal limits).

    Parameters:
        frame: a Dataset or a values frame (numerator/denominator for counts; value and
            se or lower_ci/upper_ci otherwise).
        indicator: the Indicator (or its id, looked up in ``indicators`` / the Dataset).
        overdispersion: ``"auto"``, ``"none"`` (or None), ``"additive"`` or ``"multiplicative"``.
        method: ``"phe"``, ``"exact"`` or ``"normal"``; default as above.
        target: baseline on the value scale instead of the data's average.
        years_of_data: years the rates cover (x axis in annual population).
        winsorize: fraction Winsorised in each tail when estimating phi.
        by: grouping columns (default indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category): one funnel per group, never
            one pooled across men and women or across comparable sets.
        measure, multiplier, polarity: override or replace the indicator's metadata.
        points: number of points on each curve for methods other than ``"phe"``.

    Returns a :class:`Funnel` of three frames. ``points`` adds ``value``, ``precision``,
    ``baseline``, ``z``, ``z_adjusted``, ``lower_95``, ``upper_95``, ``lower_998``,
    ``upper_998``, ``position_95``, ``position_998`` (below/within/above), ``significance``
    (PHE labels) and ``comparison`` (better/similar/worse by polarity, with the level), all
    from the limits in ``limits``. ``dispersion`` says, per group, which limits were used
    and why: ``method``, ``overdispersion`` (``none``/``additive``/``multiplicative``: the
    adjustment applied), ``overdispersion_policy`` (asked for), ``baseline``, ``n_units``,
    ``phi``, ``chi2_df``, ``chi2_p``, ``overdispersed`` (the test significant at 5%),
    ``tau2`` (indicator scale, x multiplier^2) and ``overdispersion_reason`` (a sentence).

    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="health.screen", title="Screening", sector="health", measure="proportion",
    ...                 multiplier=100, polarity="higher_is_better")
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C", "D"], "numerator": [700.0, 820.0, 410.0, 900.0],
    ...                    "denominator": [1000.0, 1000.0, 500.0, 1100.0]})
    >>> f = build_funnel(df, ind)
    >>> f.points["comparison"].to_list()
    ['worse (99.8%)', 'better (95%)', 'similar', 'better (95%)']
    >>> wider = build_funnel(df, ind, "auto")  # chi^2 = 61 on 3 degrees of freedom: areas differ beyond chance
    >>> wider.dispersion["overdispersion"].to_list(), wider.points["comparison"].to_list()
    (['additive'], ['similar', 'similar', 'similar', 'similar'])
    """
    frame, ind = ru.resolve(frame, indicator, indicators)
    measure = measure or (ind.measure if ind else None)
    if measure is None:
        raise SchemaError("funnel needs an indicator or measure=...\nFix: pass the Indicator, or measure='proportion'.")
    if multiplier is None:
        multiplier = ind.multiplier if ind else 1.0
    polarity = polarity or (ind.polarity if ind else "no_judgement")
    policy = _policy(overdispersion)
    widened = policy in ("multiplicative", "additive")
    counted = measure in ("proportion", "ratio", "rate", "dsr")
    if method is None:
        method = "phe" if counted and not widened and target is None else "normal"
        if counted and not widened and target is not None:
            method = "exact"
    if method not in ("phe", "exact", "normal"):
        raise DataError(f"method must be 'phe', 'exact' or 'normal', not {method!r}.\nFix: choose one.")
    if method in ("phe", "exact") and not counted:
        raise DataError(
            f"method {method!r} needs counts, but the measure is {measure!r}.\n"
            "Fix: use method='normal' with an se column (or lower_ci/upper_ci)."
        )
    if widened and method == "exact":
        raise DataError(
            "over-dispersed limits are normal approximations (Spiegelhalter 2005), not exact ones.\n"
            "Fix: drop method='exact' (or pass method='normal') when overdispersion is set."
        )
    if method == "phe" and widened:
        method = "normal"
    if method == "phe" and target is not None:
        raise DataError("method 'phe' always uses the data's average as baseline.\nFix: use method='exact' for a target.")
    if frame.height == 0:
        raise DataError(
            problem(
                None,
                "the frame has no rows, so there is no funnel to draw",
                fix="Pass the values of at least one unit (check any filter applied before).",
            )
        )
    keys = ru.group_keys(frame, by)
    pts, lims, disp = [], [], []
    for part in ru.partitions(frame, keys):
        p, lm, d = _funnel_group(
            part, keys, measure, float(multiplier), polarity, method, policy, target, float(years_of_data), winsorize, points
        )
        pts.append(p)
        lims.append(lm)
        disp.append(d)
    return Funnel(pl.concat(pts, how="vertical"), pl.concat(lims, how="vertical"), pl.concat(disp, how="vertical"))


def _decide(policy: str, disp: dict[str, Any]) -> tuple[str, str]:
    """The adjustment applied in one group, and the reason in plain words."""
    phi, p, df, n, tau2 = disp["phi"], disp["chi2_p"], disp["chi2_df"], disp["n_units"], disp["tau2"]
    phi_text = f"φ = {phi:.3g}" if math.isfinite(phi) else ""
    p_text = f"p {'< 0.001' if p < 0.001 else f'= {p:.3f}'} on {df} degrees of freedom" if math.isfinite(p) else ""
    test = ", ".join(t for t in (phi_text, p_text) if t)
    beyond = "the limits allow for variation between areas beyond chance"
    significant = math.isfinite(p) and p < OVERDISPERSION_ALPHA
    if policy == "auto":
        if not math.isfinite(p):
            if n == 0:
                return "none", (
                    "No area's value can show variation beyond chance (none has a usable count, or "
                    "the average leaves no room for chance), so the limits allow for chance alone."
                )
            return "none", (f"Too few areas ({n}) to test for variation beyond chance, so the limits allow for chance alone.")
        if significant and tau2 > 0:
            return "additive", (
                f"Areas vary more than chance alone would make them ({test}), so {beyond} (additive random-effects limits)."
            )
        if significant:
            return "none", (
                f"Areas vary more than chance would make them ({p_text}) only through a few extreme "
                f"areas: with those down-weighted ({phi_text}) they vary no more than chance, so the "
                "limits allow for chance alone."
            )
        return "none", (f"Areas vary no more than chance would make them ({test}), so the limits allow for chance alone.")
    if policy == "additive":
        return "additive", f"As chosen, {beyond} (additive random-effects limits{', ' + test if test else ''})."
    if policy == "multiplicative":
        if math.isfinite(phi) and phi > 1:
            return "multiplicative", (
                f"As chosen, {beyond} (limits widened by the square root of φ, multiplicative overdispersion; {test})."
            )
        return "multiplicative", (
            "Multiplicative limits were chosen but areas vary no more than chance"
            f"{' (' + test + ')' if test else ''}, so the limits are not widened."
        )
    if significant:
        return "none", (
            f"The limits allow for chance alone, although areas vary more than chance would make them "
            f"({test}): many areas outside them may differ for lasting reasons, not by chance."
        )
    return "none", f"The limits allow for chance alone{' (' + test + ')' if test else ''}."


def _variance_function(stat: str) -> Any:
    """V(theta) / rho: the sampling variance of a unit's value at precision rho (None: own se)."""
    if stat == "proportion":
        return lambda theta, r: theta * (1 - theta) / r
    if stat in ("ratio", "rate"):
        return lambda theta, r: theta / r
    return None


def _funnel_group(frame, keys, measure, multiplier, polarity, method, policy, target, years, winsorize, n_points):
    u = _unit_inputs(frame, measure, multiplier, years)
    stat = u["stat"]
    y, rho = u["y"], u["rho"]
    # baseline on the natural scale
    if target is not None:
        theta = target / multiplier
    elif stat == "ratio":
        theta = 1.0
    elif stat in ("proportion", "rate"):
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = u["x"].sum() / np.nansum(u["n"])
    else:
        w = 1 / u["se"] ** 2
        theta = float((w * y).sum() / w.sum())
    # z-scores under the baseline (s^2 = V(theta)/rho)
    variance = _variance_function(stat)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(variance(theta, rho)) if variance else u["se"]
        z = (y - theta) / s
        # Over-dispersion is variation *between* areas, so it is measured around the areas' own
        # pooled average (sum O / sum n; the precision-weighted mean), never around a target or a
        # ratio's 1: areas that all sit 5 points below a target differ from it, not from each
        # other, and must not widen the limits. The test then has I - 1 degrees of freedom.
        if stat in ("proportion", "ratio", "rate"):
            pooled = u["x"].sum() / np.nansum(u["n"])
        else:
            pooled = float((y / u["se"] ** 2).sum() / (1 / u["se"] ** 2).sum())
        s_d = np.sqrt(variance(pooled, rho)) if variance else u["se"]
        z_d = (y - pooled) / s_d
    usable = np.isfinite(z_d)
    if stat == "rate" and u.get("rate_type") == "dsr":
        usable &= u["x"] >= 10
    disp = winsorised_dispersion(z_d[usable], s_d[usable], winsorize)
    # no usable unit: no evidence of variation beyond chance, so widening changes nothing
    phi = disp["phi"] if math.isfinite(disp["phi"]) else 1.0
    tau2 = disp["tau2"] if math.isfinite(disp["tau2"]) else 0.0
    overdispersion, reason = _decide(policy, disp)
    if overdispersion != "none" and method != "normal":
        method = "normal"  # "auto" found over-dispersion: additive limits are normal ones
    if overdispersion == "none":
        widen = None
    else:
        widen = overdispersion

    def normal_limits(rho_, s_):
        out = {}
        for level in LEVELS:
            zz = _Z[level]
            if widen == "multiplicative":
                half = zz * s_ * math.sqrt(max(phi, 1.0))
            elif widen == "additive":
                half = zz * np.sqrt(s_**2 + tau2)
            else:
                half = zz * s_
            lo_, hi_ = theta - half, theta + half
            if stat in ("proportion", "ratio", "rate"):
                lo_ = np.maximum(lo_, 0.0)
            if stat == "proportion":
                hi_ = np.minimum(hi_, 1.0)
            out[f"lower_{level_suffix(level)}"] = lo_
            out[f"upper_{level_suffix(level)}"] = hi_
        return out

    def unit_limits(rho_):
        if method == "normal":
            with np.errstate(divide="ignore", invalid="ignore"):
                s_ = np.sqrt(variance(theta, rho_)) if variance else None
            return normal_limits(rho_, s_)
        if method == "phe" and stat == "proportion":
            out = {}
            for level, p in ((0.95, 0.975), (0.998, 0.999)):
                out[f"lower_{level_suffix(level)}"] = np.maximum(0, sigma_adjustment(p, rho_, theta, "low", 1))
                out[f"upper_{level_suffix(level)}"] = np.minimum(1, sigma_adjustment(p, rho_, theta, "high", 1))
            return out
        if u["family"] == "binomial":
            return exact_funnel_limits(rho_, theta, family="binomial")
        # Poisson: limits on the O / rho scale with mean theta * rho
        lim = exact_funnel_limits(rho_ * theta, 1.0, family="poisson")
        return {k: v * theta for k, v in lim.items()}

    limits = normal_limits(rho, u["se"]) if stat == "normal" else unit_limits(rho)
    # positions and labels
    pos = {}
    with np.errstate(invalid="ignore"):
        for level in LEVELS:
            sfx = level_suffix(level)
            lo_, hi_ = limits[f"lower_{sfx}"], limits[f"upper_{sfx}"]
            pos[sfx] = np.where(y > hi_, "above", np.where(y < lo_, "below", "within"))
    if method == "exact":
        # the one-sided exact tests (agree with the drawn limits for whole counts; never
        # above a 100% target, and at most nominal false flags under the baseline)
        if u["family"] == "binomial":
            tails = exact_tail_positions(u["x"], rho, theta, family="binomial")
        else:
            tails = exact_tail_positions(u["x"], rho * theta, 1.0, family="poisson")
        pos = {k: v.cast(pl.String).fill_null("within").to_numpy().astype(str) for k, v in tails.items()}
    if method == "phe":
        labels = phe_labels(stat, u["x"], u["n"], u.get("rate_type"))
        hi998 = labels == "High (0.001)"
        hi95 = hi998 | (labels == "High (0.025)")
        lo998 = labels == "Low (0.001)"
        lo95 = lo998 | (labels == "Low (0.025)")
        pos["998"] = np.where(hi998, "above", np.where(lo998, "below", "within"))
        pos["95"] = np.where(hi95, "above", np.where(lo95, "below", "within"))
    else:
        labels = np.where(
            pos["998"] == "above",
            "High (0.001)",
            np.where(
                pos["95"] == "above",
                "High (0.025)",
                np.where(pos["998"] == "below", "Low (0.001)", np.where(pos["95"] == "below", "Low (0.025)", "Not significant")),
            ),
        )
    not_applicable = ~np.isfinite(y)
    label_null = not_applicable.copy() if method != "phe" else np.zeros(y.shape, dtype=bool)
    if stat == "rate" and u.get("rate_type") == "dsr":
        not_applicable |= u["x"] < 10
        labels = np.where(u["x"] < 10, SIGNIFICANCE_LEVELS[5], labels)
        label_null &= ~(u["x"] < 10)
    comparison = _comparison(pos["95"], pos["998"], polarity)
    with np.errstate(divide="ignore", invalid="ignore"):
        if widen == "multiplicative":
            z_adj = z / math.sqrt(max(phi, 1.0))
        elif widen == "additive":
            z_adj = (y - theta) / np.sqrt(s**2 + tau2)
        else:
            z_adj = z
    mult = multiplier
    value = y * mult
    new = {
        "value": value,
        "precision": u["x_axis"],
        "baseline": np.full(y.shape, theta * mult),
        "z": z,
        "z_adjusted": z_adj,
        **{k: v * mult for k, v in limits.items()},
    }
    out = frame.drop([c for c in (*new, "position_95", "position_998", "significance", "comparison") if c in frame.columns])
    out = out.with_columns(
        *[pl.Series(k, np.asarray(v, dtype=np.float64), nan_to_null=True) for k, v in new.items()],
        enum_series("position_95", pos["95"], not_applicable, POSITION_LEVELS),
        enum_series("position_998", pos["998"], not_applicable, POSITION_LEVELS),
        enum_series("significance", labels, label_null, SIGNIFICANCE_LEVELS),
        enum_series("comparison", comparison, not_applicable, COMPARISON_LEVELS),
    )
    # curves
    group_vals = {k: frame.get_column(k)[0] for k in keys}
    curves = _curves(method, stat, u, theta, mult, years, limits_fn=unit_limits, normal_fn=normal_limits, n_points=n_points)
    curves = curves.with_columns(*[pl.lit(v, dtype=frame.schema[k]).alias(k) for k, v in group_vals.items()]).select(
        [*keys, "limit", "precision", "value"]
    )
    p_value = disp["chi2_p"]
    disp_row = pl.DataFrame(
        {
            **{k: pl.Series(k, [v], dtype=frame.schema[k]) for k, v in group_vals.items()},
            "method": [method],
            "overdispersion": [overdispersion],
            "overdispersion_policy": [policy],
            "baseline": [theta * mult],
            "n_units": [disp["n_units"]],
            "phi": [disp["phi"]],
            "phi_winsorised": [disp["phi_winsorised"]],
            "chi2": [disp["chi2"]],
            "chi2_df": pl.Series([disp["chi2_df"]], dtype=pl.Int64),
            "chi2_p": [p_value],
            "overdispersed": [bool(math.isfinite(p_value) and p_value < OVERDISPERSION_ALPHA)],
            "tau2": [disp["tau2"] * mult * mult],
            "overdispersion_reason": [reason],
        }
    )
    return out, curves, disp_row


def _unit_inputs(frame: pl.DataFrame, measure: str, multiplier: float, years: float) -> dict[str, Any]:
    """y (natural scale), precision rho, variance function, and PHE inputs per unit."""
    if measure == "proportion":
        x, n = unit_counts(frame, "numerator", "denominator", "proportion", None, None, None)
        return {"stat": "proportion", "x": x, "n": n, "y": x / n, "rho": n, "x_axis": n, "family": "binomial"}
    if measure == "ratio":
        x, n = unit_counts(frame, "numerator", "denominator", "ratio", None, None, None)
        return {"stat": "ratio", "x": x, "n": n, "y": x / n, "rho": n, "x_axis": n, "family": "poisson"}
    if measure in ("rate", "dsr"):
        rate_type = "dsr" if measure == "dsr" else "crude"
        work = frame
        source = "value"  # the column the working rate comes from, named in messages
        if measure == "rate" and "denominator" in frame.columns:
            source = "denominator"
            # a crude rate is events over population: both columns, as numbers, before any arithmetic
            require_columns(
                frame, ["numerator"], "a crude rate's funnel needs its events (numerator) as well as its population (denominator)"
            )
            ru.numeric(frame, "numerator", allow_null=True)
            ru.numeric(frame, "denominator", what=" (a crude rate needs its population)")
            # crude rate: numerator / denominator is the rate, whatever `value` says
            work = frame.with_columns((pl.col("numerator") / pl.col("denominator") * multiplier).alias("_rate"))
        else:
            require_columns(frame, ["numerator", "value"], "dsr funnels need events (numerator) and value")
            work = frame.with_columns(pl.col("value").alias("_rate"))
        den = "denominator" if "denominator" in frame.columns else None
        x, n = unit_counts(work, "numerator", den, "rate", "_rate", rate_type, multiplier, rate_label=source)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = x / n
        if measure == "dsr":
            y = ru.numeric(frame, "value", allow_null=True) / multiplier
        return {
            "stat": "rate",
            "rate_type": rate_type,
            "x": x,
            "n": n,
            "y": y,
            "rho": n,
            "x_axis": n / years,
            "family": "poisson",
            "work": work,
        }
    # normal measures: value with a standard error
    require_columns(frame, ["value"], "funnels of means and scores need a value column")
    y = ru.numeric(frame, "value")
    if "se" in frame.columns:
        se = ru.numeric(frame, "se")
    elif "lower_ci" in frame.columns and "upper_ci" in frame.columns:
        lo, hi = ru.numeric(frame, "lower_ci"), ru.numeric(frame, "upper_ci")
        se = (hi - lo) / (2 * _Z[0.95])
    else:
        raise SchemaError(
            problem(
                "se",
                "is missing (a normal funnel needs each unit's standard error)",
                fix="Add an 'se' column, or lower_ci/upper_ci (95%) columns.",
            )
        )
    ru.check(frame, "se", ~(se > 0), "is not positive", "Standard errors must be above zero.")
    # natural scale inside (value / multiplier); the x axis stays 1 / se^2 in value units
    return {
        "stat": "normal",
        "y": y / multiplier,
        "se": se / multiplier,
        "rho": (multiplier / se) ** 2,
        "x_axis": 1 / se**2,
        "x_to_rho": multiplier**2,
        "family": "normal",
    }


def _comparison(p95: np.ndarray, p998: np.ndarray, polarity: str) -> np.ndarray:
    if polarity == "higher_is_better":
        up, down = "better", "worse"
    elif polarity == "lower_is_better":
        up, down = "worse", "better"
    else:
        up, down = "higher", "lower"
    return np.where(
        p998 == "above",
        f"{up} (99.8%)",
        np.where(
            p95 == "above",
            f"{up} (95%)",
            np.where(p998 == "below", f"{down} (99.8%)", np.where(p95 == "below", f"{down} (95%)", "similar")),
        ),
    )


def _curves(method, stat, u, theta, mult, years, *, limits_fn, normal_fn, n_points):
    """Long-form curve points for charting."""
    names = ["lower_998", "lower_95", "upper_95", "upper_998"]
    if method == "phe":
        if stat == "proportion":
            fr = pl.DataFrame({"numerator": u["x"], "denominator": u["n"]})
            # PHE clamps to [0, 100]; computing as a percentage and rescaling clamps to [0, mult]
            t = funnel_limits(fr, statistic="proportion", multiplier=100, type="standard")
            xs = {nm: t["population"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() * mult / 100 for nm in names}
            base_x = t["population"].to_numpy()
        elif stat == "ratio":
            fr = pl.DataFrame({"numerator": u["x"], "denominator": u["n"]})
            t = funnel_limits(fr, statistic="ratio", multiplier=mult, ratio_type="isr", type="standard")
            xs = {nm: t[f"{nm}_expected_events"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() / 100 * mult for nm in names}
            base_x = np.unique(np.concatenate(list(xs.values())))
        else:
            w = u["work"]
            t = funnel_limits(
                w,
                statistic="rate",
                multiplier=mult,
                numerator="numerator",
                rate="_rate",
                denominator="denominator" if "denominator" in w.columns else None,
                rate_type=u["rate_type"],
                years_of_data=years,
                type="standard",
            )
            xs = {nm: t[f"{nm}_population_1_year"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() for nm in names}
            base_x = np.unique(np.concatenate(list(xs.values())))
        frames = [pl.DataFrame({"limit": nm, "precision": xs[nm], "value": ys[nm]}) for nm in names]
        frames.insert(
            2, pl.DataFrame({"limit": "baseline", "precision": np.sort(base_x), "value": np.full(base_x.size, theta * mult)})
        )
        return pl.concat(frames, how="vertical").with_columns(
            pl.col("limit").cast(pl.Enum(["lower_998", "lower_95", "baseline", "upper_95", "upper_998"]))
        )
    x_axis = u["x_axis"][np.isfinite(u["x_axis"])]
    lo = float(x_axis.min()) * 0.9 if x_axis.size else 1.0
    hi = float(x_axis.max()) * 1.1 if x_axis.size else 10.0
    grid = np.geomspace(max(lo, 1e-12), max(hi, lo * 1.01, 1e-11), n_points)
    if stat == "proportion" and method == "exact":
        grid = np.unique(np.maximum(np.round(grid), 1.0))
    rho = grid * u.get("x_to_rho", years if stat == "rate" else 1.0)
    if stat == "normal":
        lim = normal_fn(rho, 1 / np.sqrt(rho))
    else:
        lim = limits_fn(rho)
    frames = [pl.DataFrame({"limit": nm, "precision": grid, "value": lim[nm] * mult}) for nm in names]
    frames.insert(2, pl.DataFrame({"limit": "baseline", "precision": grid, "value": np.full(grid.size, theta * mult)}))
    return pl.concat(frames, how="vertical").with_columns(
        pl.col("limit").cast(pl.Enum(["lower_998", "lower_95", "baseline", "upper_95", "upper_998"]))
    )
