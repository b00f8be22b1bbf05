"""Fairness: is there a postcode lottery, how much of it is real, and is it narrowing?

:func:`assess_fairness` answers, for every indicator x period, the questions a reader asks about
variation between places, by composing the measures of the neighbouring modules:

1. dispersion across areas (:mod:`~publicservices.stats.fairness.dispersion`): range, IQR, P90/P10,
   SD, CV, unweighted and population-weighted;
2. inequality indices (:mod:`~publicservices.stats.fairness.inequality`): Gini, Theil T and L with the
   exact between/within-region decomposition, Atkinson (0.5, 1, 2);
3. true between-area variation (:mod:`~publicservices.stats.fairness.variation`): tau^2 (DerSimonian-
   Laird, Paule-Mandel or REML, each with its own consistent interval), I^2, phi, McPherson's SCV, reliability, and the
   headline *postcode-lottery index* -- the true coefficient of variation;
4. the social gradient (:mod:`~publicservices.stats.fairness.gradient`): SII and RII over deprivation
   deciles with simulated limits, the gap between the least and most deprived fifth, the
   concentration index;
5. geography: the share of variation between regions, and Moran's I when neighbours are
   given (:mod:`~publicservices.stats.fairness.spatial`);
6. change over time: the trend per year in the true CV and in the SII, with intervals.

Each row ends with a plain-language ``summary`` sentence.

Example:
    >>> import polars as pl
    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="demo.screening", title="screening uptake", sector="demo",
    ...                 measure="proportion", multiplier=100)
    >>> values = pl.DataFrame({"indicator_id": ["demo.screening"] * 12, "area_code": [f"A{i}" for i in range(12)],
    ...     "period": ["2023/24"] * 12, "numerator": [520.0, 610, 480, 700, 655, 590, 430, 720, 515, 640, 600, 560],
    ...     "denominator": [1000.0] * 12})
    >>> areas = pl.DataFrame({"area_code": [f"A{i}" for i in range(12)], "population": [1000.0] * 12,
    ...     "deprivation": [float(i) for i in range(12)], "parent_code": ["N"] * 6 + ["S"] * 6})
    >>> out = assess_fairness(values, {"demo.screening": ind}, areas=areas, quantiles=5, repetitions=1000)
    >>> round(out["true_cv"][0], 3), out["summary"][0]
    (0.148, 'About 97% of the variation between areas in screening uptake is larger than chance would produce; the true spread is ±15% of the overall value.')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import polars as pl

from publicservices.indicators import Indicator
from publicservices.stats.fairness.assess_inputs import BREAKDOWN_COLUMNS, COUNT_MEASURES, prepare_areas, resolve_inputs
from publicservices.stats.fairness.dispersion import dispersion_measures
from publicservices.stats.fairness.gradient import deprivation_gradient
from publicservices.stats.fairness.inequality import inequality_indices
from publicservices.stats.fairness.spatial import morans_i
from publicservices.stats.fairness.variation import (
    between_area_variation,
    column_suffix,
    systematic_component,
)

__all__ = ["assess_fairness", "trend", "BREAKDOWN_COLUMNS", "COUNT_MEASURES"]


# columns that exist only when population, regions or neighbours are known
_STABLE: dict[str, pl.DataType] = {
    "n_no_weight": pl.Int64(),
    **{f"{m}_w": pl.Float64() for m in ("mean", "sd", "cv", "p10", "p25", "p50", "p75", "p90", "iqr", "p90_p10")},
    **{
        c: pl.Float64()
        for c in (
            "theil_t_between",
            "theil_t_within",
            "theil_l_between",
            "theil_l_within",
            "region_share_theil",
            "variance_between",
            "variance_within",
            "region_share_variance",
        )
    },
    "n_groups": pl.Int64(),
    "n_no_group": pl.Int64(),
    "moran_i": pl.Float64(),
    "moran_expected": pl.Float64(),
    "moran_z": pl.Float64(),
    "moran_p": pl.Float64(),
    "moran_n": pl.Int64(),
    "moran_n_isolated": pl.Int64(),
}


# -- change over time -----------------------------------------------------------------------------


def trend(
    frame: pl.DataFrame,
    estimate: str,
    lower: str,
    upper: str,
    *,
    series: str | Sequence[str] = ("indicator_id",),
    time: str = "__t",
    level: float = 0.95,
    name: str | None = None,
) -> pl.DataFrame:
    """Trend per time unit of an estimate across periods, up to and including each period.

    Method: weighted least squares of the per-period estimates on time with weights
    ``1 / se^2``, ``se = (upper - lower) / (2 z)`` from each period's interval (a meta-
    regression; e.g. Borenstein et al. 2009, ch. 20). The slope's standard error
    ``sqrt(S / (S Stt - St^2))`` is inflated by ``sqrt(max(1, RSS / (m - 2)))`` when the periods
    scatter more than their intervals allow (m >= 3). For each row the regression uses the
    periods of its series up to that row, so an early row never speaks of later data.
    Periods without a usable interval are skipped.

    Parameters:
        frame: one row per series x period, sorted by time within series.
        estimate, lower, upper: columns of the per-period estimate and its interval.
        series: column(s) identifying a series (e.g. the indicator).
        time: numeric time column (e.g. years since the first period).
        level: confidence level of the input intervals and of the trend interval.
        name: prefix of the output columns (default ``estimate``).

    Returns:
        ``frame`` with ``{name}_trend``, ``{name}_trend_lower_95``, ``{name}_trend_upper_95``
        and ``{name}_trend_periods`` (how many periods entered).

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"s": ["a"] * 3, "__t": [0.0, 1.0, 2.0], "est": [10.0, 9.0, 8.0],
        ...                    "lo": [9.0, 8.0, 7.0], "hi": [11.0, 10.0, 9.0]})
        >>> [None if t is None else round(t, 9) for t in trend(df, "est", "lo", "hi", series="s")["est_trend"]]
        [None, -1.0, -1.0]
    """
    from scipy import special

    keys = [series] if isinstance(series, str) else list(series)
    name = name or estimate
    sfx = column_suffix(level)
    z = float(special.ndtri(0.5 + level / 2))
    se = (pl.col(upper) - pl.col(lower)) / (2 * z)
    ok = pl.col(estimate).is_not_null() & se.is_not_null() & (se > 0) & pl.col(time).is_not_null()
    w = pl.when(ok).then(1.0 / se**2).otherwise(0.0)
    t = pl.when(ok).then(pl.col(time)).otherwise(0.0)
    yv = pl.when(ok).then(pl.col(estimate)).otherwise(0.0)
    over = (lambda e: e.cum_sum().over(keys)) if keys else (lambda e: e.cum_sum())
    parts = frame.with_columns(
        over(w).alias("__S"),
        over(w * t).alias("__St"),
        over(w * t * t).alias("__Stt"),
        over(w * yv).alias("__Sy"),
        over(w * t * yv).alias("__Sty"),
        over(w * yv * yv).alias("__Syy"),
        over(ok.cast(pl.Int64)).alias("__m"),
    )
    S, St, Stt, Sy, Sty, Syy, m = (pl.col(c) for c in ("__S", "__St", "__Stt", "__Sy", "__Sty", "__Syy", "__m"))
    det = S * Stt - St**2
    slope = (S * Sty - St * Sy) / det
    icpt = (Sy - slope * St) / S
    rss = Syy - 2 * icpt * Sy - 2 * slope * Sty + icpt**2 * S + 2 * icpt * slope * St + slope**2 * Stt
    disp = pl.when(m >= 3).then(pl.max_horizontal(pl.lit(1.0), rss / (m - 2))).otherwise(1.0)
    se_slope = (S / det * disp).sqrt()
    good = (m >= 2) & (det > 0)
    out = parts.with_columns(
        pl.when(good).then(slope).alias(f"{name}_trend"),
        pl.when(good).then(slope - z * se_slope).alias(f"{name}_trend_lower{sfx}"),
        pl.when(good).then(slope + z * se_slope).alias(f"{name}_trend_upper{sfx}"),
        m.alias(f"{name}_trend_periods"),
    )
    return out.drop("__S", "__St", "__Stt", "__Sy", "__Sty", "__Syy", "__m")


# -- the summary sentence -------------------------------------------------------------------------


def _sentence(row: dict[str, Any], title: str, sfx: str) -> str:
    parts: list[str] = []
    i2, lo = row.get("i2"), row.get(f"tau2_lower{sfx}")
    if i2 is None:
        parts.append(f"There are too few areas with known precision to tell real variation in {title} from chance")
    elif lo is not None and lo <= 0:
        parts.append(f"The variation between areas in {title} is no larger than chance would produce")
    else:
        parts.append(f"About {round(i2 * 100):d}% of the variation between areas in {title} is larger than chance would produce")
    cv = row.get("true_cv")
    if cv is not None and i2 is not None:
        parts.append(f"the true spread is ±{cv * 100:.{0 if cv >= 0.1 else 1}f}% of the overall value")  # relative, not points
    slope, since = row.get("sii_trend"), row.get("trend_since")
    s_lo, s_hi, sii_now = row.get(f"sii_trend_lower{sfx}"), row.get(f"sii_trend_upper{sfx}"), row.get("sii")
    if slope is not None and since is not None and sii_now is not None and since != row.get("period"):
        toward = -slope * math.copysign(1.0, sii_now)  # > 0: the gap is shrinking towards 0
        if s_lo is not None and s_hi is not None and (s_lo > 0 or s_hi < 0):
            parts.append(
                f"the gap between more and less deprived areas has {'narrowed' if toward > 0 else 'widened'} since {since}"
            )
        else:
            parts.append(f"the gap between more and less deprived areas has not changed clearly since {since}")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


# -- the entry point ------------------------------------------------------------------------------


def assess_fairness(
    data: Any,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | Iterable[str] | str | None = None,
    *,
    areas: pl.DataFrame | None = None,
    by: str | None = "parent_code",
    deprivation: str = "deprivation",
    population: str = "population",
    neighbours: pl.DataFrame | None = None,
    method: Literal["DL", "PM", "REML"] = "DL",
    level: float = 0.95,
    quantiles: int = 10,
    repetitions: int = 10_000,
    permutations: int = 99,
    seed: int | None = 0,
) -> pl.DataFrame:
    """Postcode-lottery statistics: one row per indicator x period (x breakdown).

    Method: see the module docstring and the methodology page *Fairness*; each measure
    names its reference in its own function (:func:`~publicservices.stats.fairness.dispersion.dispersion_measures`,
    :func:`~publicservices.stats.fairness.inequality.inequality_indices`,
    :func:`~publicservices.stats.fairness.variation.between_area_variation`,
    :func:`~publicservices.stats.fairness.variation.systematic_component`,
    :func:`~publicservices.stats.fairness.gradient.deprivation_gradient`,
    :func:`~publicservices.stats.fairness.spatial.morans_i`, :func:`trend`).

    Area values are ``value``, or ``numerator / denominator * multiplier`` when ``value`` is
    missing. The overall value (column ``national``: the national value when the areas cover the
    nation, else that of the areas compared) is the pooled ``sum numerator / sum denominator`` for
    proportions, rates and ratios, else the population-weighted mean. Standard errors come
    from the counts (binomial / Poisson at the overall value) or from ``lower_ci`` /
    ``upper_ci`` (:func:`~publicservices.stats.fairness.variation.standard_error`). Dispersion and
    inequality use the areas' ``population`` as weights; the SII, gap and concentration index
    weight by the indicator's denominator where counts exist (else population). Nothing is
    dropped silently: ``n_missing``, ``n_no_se``, ``n_no_weight``, ``n_no_deprivation`` count
    the areas left out of each measure, and ``*_note`` columns say why a measure is null.
    Rows of areas that are themselves parents of areas (a region's or the nation's own row,
    found through the areas' ``by`` column) would count people twice: they are left out and
    counted in ``n_parent_areas``.

    Parameters:
        data: a Dataset (``.values``, ``.areas``, ``.indicators``) or a values frame.
        indicators: definitions (mapping id -> Indicator, or Indicators) for a values frame;
            with a Dataset, optionally a list of indicator ids to analyse.
        areas: areas frame (area_code, population, deprivation, parent_code) for a values frame.
        by: areas column of the higher geography for the between/within decomposition.
        deprivation: areas column of deprivation scores (higher = more deprived).
        population: areas column of populations.
        neighbours: optional ``(area_code, neighbour_code)`` pairs for Moran's I.
        method: tau^2 with its own consistent interval: ``"DL"`` (DerSimonian-Laird,
            Biggerstaff-Tweedie interval), ``"PM"`` (Paule-Mandel, Q-profile interval) or
            ``"REML"`` (profile-likelihood interval); the estimate always lies inside its interval.
        level: confidence level (0.95 gives ``*_lower_95`` / ``*_upper_95`` columns).
        quantiles: deprivation quantiles for the SII (10 = deciles).
        repetitions: simulations for the SII limits.
        permutations: permutations for Moran's I p-value (99 keeps 30,000 areas x 20 periods
            fast; ``moran_z`` gives the normal approximation as well).
        seed: random seed (the default 0 makes results reproducible).

    Returns:
        One row per indicator x period (x breakdown), ordered by indicator and time, with the
        columns documented on the methodology page and a ``summary`` sentence.

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="demo.le", title="life expectancy", sector="demo", measure="mean", unit="years")
        >>> v = pl.DataFrame({"indicator_id": ["demo.le"] * 6, "area_code": list("abcdef"), "period": ["2023"] * 6,
        ...                   "value": [79.0, 80.0, 81.0, 82.0, 80.5, 79.5], "lower_ci": [78.0, 79, 80, 81, 79.5, 78.5],
        ...                   "upper_ci": [80.0, 81, 82, 83, 81.5, 80.5]})
        >>> row = assess_fairness(v, [ind]).row(0, named=True)
        >>> row["n_areas"], round(row["sd"], 4), row["sii"] is None
        (6, 1.0801, True)
    """
    sfx = column_suffix(level)
    values, area_frame, defs = resolve_inputs(data, indicators, areas)
    frame, keys, have, parent_rows = prepare_areas(
        values, area_frame, defs, by=by, deprivation=deprivation, population=population
    )
    # one integer id per indicator x period: every measure groups and joins on it
    frame = frame.with_columns((pl.struct(keys).rank("dense") - 1).cast(pl.Int64).alias("__gid"))
    gk = ["__gid"]
    head = frame.group_by([*gk, *keys], maintain_order=True).agg(
        pl.col("period_start").min().alias("period_start"),
        pl.col("measure").first(),
        (pl.col("__y").is_not_null() & pl.col("__y").is_finite()).sum().cast(pl.Int64).alias("n_areas"),
        pl.col("__national").first().alias("national"),
    )
    weight = "__pop" if have["population"] else None
    disp = dispersion_measures(frame, "__y", by=gk, weight=weight).drop("n")
    ineq = inequality_indices(frame, "__y", by=gk, group="__region" if have["region"] else None, weight=weight)
    var = between_area_variation(frame, "__y", "__se", by=gk, reference="__national", method=method, level=level).drop(
        "reference"
    )
    counts = frame.filter(pl.col("measure").is_in(list(COUNT_MEASURES)))
    scv = pl.concat(
        [
            systematic_component(counts.filter(pl.col("measure") == "proportion"), by=gk, binomial=True),
            systematic_component(counts.filter(pl.col("measure") != "proportion"), by=gk),
        ]
    )
    out = head.join(parent_rows, on=keys, how="left", nulls_equal=True, maintain_order="left").with_columns(
        pl.col("n_parent_areas").fill_null(0)
    )
    for part in (disp, ineq, var, scv):
        out = out.join(part, on=gk, how="left", maintain_order="left")
    if have["deprivation"]:
        grad = deprivation_gradient(
            frame,
            by=gk,
            value="__y",
            se="__se",
            weight="__siiw",
            deprivation="__dep",
            quantiles=quantiles,
            level=level,
            repetitions=repetitions,
            seed=seed,
        )
        out = out.join(grad, on=gk, how="left", maintain_order="left")
        equal = frame.group_by(gk).agg(pl.col("__equal_weights").first())
        out = (
            out.join(equal, on=gk, how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("__equal_weights") & pl.col("sii").is_not_null())
                .then(
                    pl.concat_str(
                        [pl.lit("areas weighted equally (no populations or counts)"), pl.col("gradient_note")],
                        separator="; ",
                        ignore_nulls=True,
                    )
                )
                .otherwise(pl.col("gradient_note"))
                .alias("gradient_note")
            )
            .drop("__equal_weights")
        )
    else:
        out = out.with_columns(
            [
                pl.lit(None, dtype=pl.Float64).alias(c)
                for c in (
                    "sii",
                    f"sii_lower{sfx}",
                    f"sii_upper{sfx}",
                    "rii",
                    f"rii_lower{sfx}",
                    f"rii_upper{sfx}",
                    "gap",
                    f"gap_lower{sfx}",
                    f"gap_upper{sfx}",
                    "concentration_index",
                )
            ]
            + [
                pl.lit(None, dtype=pl.Int64).alias("sii_value_type"),
                pl.lit(None, dtype=pl.Int64).alias("n_no_deprivation"),
                pl.lit(f"no deprivation scores (areas column {deprivation!r}): no social gradient").alias("gradient_note"),
            ]
        )
    if neighbours is not None:
        moran = morans_i(frame, neighbours, "__y", by=gk, permutations=permutations, seed=seed)
        out = out.join(moran, on=gk, how="left", maintain_order="left")
    else:
        out = out.with_columns(pl.lit("no neighbours given: no Moran's I").alias("moran_note"))
    out = out.with_columns(
        pl.lit(
            None if have["region"] else f"no regions (areas column {by!r}): no between-region decomposition", dtype=pl.String
        ).alias("region_note")
    )
    # the same columns whatever the inputs: measures that could not be computed are null
    out = out.with_columns([pl.lit(None, dtype=dt).alias(c) for c, dt in _STABLE.items() if c not in out.columns])
    # time: years since the series' first period (or the period order when dates are absent)
    series = [k for k in keys if k != "period"]
    first = pl.col("period_start").min().over(series)
    order = pl.col("period").rank("dense").over(series).cast(pl.Float64) - 1
    out = out.sort([*series, "period_start", "period"], nulls_last=True).with_columns(
        pl.when(pl.col("period_start").is_not_null().all().over(series))
        .then((pl.col("period_start") - first).dt.total_days() / 365.25)
        .otherwise(order)
        .alias("__t")
    )
    out = trend(out, "true_cv", f"true_cv_lower{sfx}", f"true_cv_upper{sfx}", series=series, level=level)
    out = trend(out, "sii", f"sii_lower{sfx}", f"sii_upper{sfx}", series=series, level=level)
    usable_sii = pl.col("sii").is_not_null() & pl.col(f"sii_lower{sfx}").is_not_null()
    out = (
        out.with_columns(
            pl.col("period").filter(usable_sii).first().over(series).alias("__first_sii"),
        )
        .with_columns(
            pl.when(pl.col("sii_trend").is_not_null()).then(pl.col("__first_sii")).alias("trend_since"),
        )
        .drop("__t", "__first_sii", "__gid")
    )
    titles = {k: d.title for k, d in defs.items()}
    summaries = [_sentence(r, titles.get(r["indicator_id"], r["indicator_id"]), sfx) for r in out.iter_rows(named=True)]
    return out.with_columns(pl.Series("summary", summaries, dtype=pl.String))
