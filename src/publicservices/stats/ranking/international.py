"""A country among other countries: differences with uncertainty on both sides, and its rank.

International comparator tables (OECD PISA means, for example) give each country's value and
its standard error from an independent national sample. For one country ``c`` and each other
country ``j`` in the same indicator and period:

* difference ``d = v_c - v_j`` with standard error ``sqrt(se_c^2 + se_j^2)`` (independent
  samples), a normal interval at ``level`` and a two-sided p-value;
* the **average** of the countries (the OECD average, when the table holds the OECD members: the
  arithmetic mean of the country means), whose difference from ``c`` allows for ``c`` being one
  of the countries averaged: ``d = (1 - 1/n) v_c - (1/n) sum_{j != c} v_j`` with variance
  ``(1 - 1/n)^2 se_c^2 + sum_{j != c} se_j^2 / n^2`` (OECD 2019, *PISA 2018 Results, Volume I*,
  Annex A3, comparisons between a country and the OECD average);
* its **rank** with a marginal confidence set that holds the true rank with probability at
  least ``level`` (Mogstad, Romano, Shaikh & Wilhelm 2024, *Review of Economic Studies*
  91(1):476-518; :func:`publicservices.stats.rank_confidence_sets`).

A difference is called higher or lower (better or worse, when the indicator has a direction)
only when its interval excludes zero; otherwise the two are *not distinguishable*.

Example:
    >>> import polars as pl
    >>> v = pl.DataFrame({"indicator_id": ["x"] * 3, "area_code": ["A", "B", "C"], "period": ["2022"] * 3,
    ...                   "value": [500.0, 490.0, 499.0], "standard_error": [3.0, 4.0, 3.0]})
    >>> out = compare_countries(v, "A").select("versus", "difference", "comparison")
    >>> out.rows()
    [('B', 10.0, 'higher'), ('C', 1.0, 'not distinguishable'), ('average', 3.666..., 'not distinguishable')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from publicservices.errors import DataError, OptionError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats._common import Z95, collect, z_for

__all__ = ["compare_countries", "AVERAGE"]

#: The ``versus`` label of the comparison with the average of the countries.
AVERAGE = "average"
_KEYS = ["indicator_id", "period"]


def _standard_errors(frame: pl.DataFrame) -> pl.Expr:
    """The standard error column, or the one implied by 95% normal limits."""
    se = pl.col("standard_error").cast(pl.Float64) if "standard_error" in frame.columns else pl.lit(None, pl.Float64)
    for lo, hi in (("lower_ci", "upper_ci"), ("lower_95", "upper_95")):
        if lo in frame.columns and hi in frame.columns:
            se = pl.coalesce(se, (pl.col(hi) - pl.col(lo)).cast(pl.Float64) / (2 * Z95))
    return se.alias("_se")


def compare_countries(
    data: Any,
    country: str,
    *,
    indicators: Mapping[str, Indicator] | None = None,
    countries: Sequence[str] | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> pl.DataFrame:
    """How ``country`` compares with every other country, and with their average, per indicator and period.

    Parameters:
        data: a values frame (``indicator_id``, ``area_code``, ``period``, ``value`` and
            ``standard_error``, or 95% limits ``lower_ci``/``upper_ci``) or a Dataset read from
            an international comparator table (``publicservices.read("intl_pisa....csv")``).
        country: the focal country's code (``GBR``) as in ``area_code``.
        indicators: id -> Indicator, for the direction (a Dataset brings its own); without a
            direction differences are higher or lower, never better or worse.
        countries: the countries to compare with and average over (default: every country in
            the table, which for the PISA table are the OECD members, so the average is the
            OECD average).
        level: confidence level of the intervals and the rank set.
        n_boot, seed: for the rank confidence set (parametric bootstrap).

    Returns:
        One row per indicator x period x other country, then one for the average: ``country``,
        ``versus``, ``value``, ``standard_error``, ``versus_value``, ``versus_standard_error``,
        ``difference``, ``difference_lower``, ``difference_upper``, ``p_value``, ``comparison``
        (``better``/``worse`` or ``higher``/``lower``, or ``not distinguishable``), ``rank``,
        ``rank_lower``, ``rank_upper``, ``n_countries`` (the focal country's rank among them,
        1 = best or highest) and ``note``.
    """
    from scipy.special import ndtr

    from publicservices.stats.ranking.rank_sets import rank_confidence_sets

    if not 0.5 <= level < 1:
        raise OptionError(problem(None, f"level={level!r} is not in [0.5, 1)", fix="Use e.g. level=0.95."))
    if hasattr(data, "values") and isinstance(getattr(data, "values", None), pl.DataFrame):
        indicators = {**dict(getattr(data, "indicators", None) or {}), **dict(indicators or {})}
        frame = data.values
    else:
        frame = collect(data, "data")
    missing = [c for c in ("indicator_id", "area_code", "period", "value") if c not in frame.columns]
    if missing:
        raise SchemaError(
            problem(
                missing[0],
                "is missing from the international comparator table",
                fix="Read the table with publicservices.read(...) (the international reader), or give "
                "indicator_id, area_code (country code), period, value and standard_error.",
            )
        )
    frame = frame.with_columns(_standard_errors(frame), pl.col("value").cast(pl.Float64))
    if countries is not None:
        wanted = list(dict.fromkeys([*countries, country]))
        frame = frame.filter(pl.col("area_code").is_in(wanted))
    frame = frame.filter(pl.col("value").is_not_null())
    present = frame.get_column("area_code").unique().to_list()
    if country not in present:
        from difflib import get_close_matches

        close = get_close_matches(str(country), [str(c) for c in present], n=3, cutoff=0.3)
        raise DataError(
            problem(
                "area_code",
                f"has no row for country {country!r}",
                fix=(f"Did you mean {', '.join(map(repr, close))}? " if close else "")
                + f"The table has {len(present)} countries: {', '.join(sorted(map(str, present))[:12])}"
                + (" ..." if len(present) > 12 else "."),
            )
        )
    no_se = frame.filter(pl.col("_se").is_null() | ~pl.col("_se").is_finite() | (pl.col("_se") < 0))
    if no_se.height:
        raise SchemaError(
            problem(
                "standard_error",
                "is missing or invalid, so no difference has an interval",
                rows=[f"{r['area_code']} {r['indicator_id']} {r['period']}" for r in no_se.head(5).to_dicts()],
                total=no_se.height,
                fix="Give each country's standard error (or its 95% limits lower_ci/upper_ci).",
            )
        )
    if frame.select(pl.struct("area_code", *_KEYS).is_duplicated().any()).item():
        raise DataError(
            problem(
                "area_code",
                "appears twice for one indicator and period",
                fix="Keep one row per country, indicator and period (filter breakdowns first).",
            )
        )
    z = z_for(level)
    polarity = {
        i: getattr((indicators or {}).get(i), "polarity", "no_judgement")
        for i in frame.get_column("indicator_id").unique().to_list()
    }
    focal = frame.filter(pl.col("area_code") == country).select(*_KEYS, pl.col("value").alias("_vc"), pl.col("_se").alias("_sc"))
    pairs = (
        frame.filter(pl.col("area_code") != country)
        .join(focal, on=_KEYS, how="inner")
        .select(
            *_KEYS,
            pl.col("area_code").alias("versus"),
            pl.col("value").alias("versus_value"),
            pl.col("_se").alias("versus_standard_error"),
            "_vc",
            "_sc",
            (pl.col("_vc") - pl.col("value")).alias("difference"),
            (pl.col("_sc") ** 2 + pl.col("_se") ** 2).sqrt().alias("_sd"),
        )
    )
    # the average of all n countries, the focal country included
    stats = frame.group_by(_KEYS).agg(
        pl.len().alias("n"), pl.col("value").mean().alias("_mean"), (pl.col("_se") ** 2).sum().alias("_ss")
    )
    average = focal.join(stats, on=_KEYS, how="inner").select(
        *_KEYS,
        pl.lit(AVERAGE).alias("versus"),
        pl.col("_mean").alias("versus_value"),
        ((pl.col("_ss")).sqrt() / pl.col("n")).alias("versus_standard_error"),
        "_vc",
        "_sc",
        (pl.col("_vc") - pl.col("_mean")).alias("difference"),
        ((1 - 1 / pl.col("n")) ** 2 * pl.col("_sc") ** 2 + (pl.col("_ss") - pl.col("_sc") ** 2) / pl.col("n") ** 2)
        .sqrt()
        .alias("_sd"),
    )
    out = pl.concat([pairs.sort(*_KEYS, "versus"), average], how="vertical_relaxed").sort(_KEYS, maintain_order=True)
    p = 2 * ndtr(-np.abs(out.get_column("difference").to_numpy() / out.get_column("_sd").to_numpy()))
    pol = pl.col("indicator_id").replace_strict(polarity, default="no_judgement", return_dtype=pl.String)
    lo, hi = pl.col("difference") - z * pl.col("_sd"), pl.col("difference") + z * pl.col("_sd")
    above = (
        pl.when(pol == "lower_is_better")
        .then(pl.lit("worse"))
        .when(pol == "higher_is_better")
        .then(pl.lit("better"))
        .otherwise(pl.lit("higher"))
    )
    below = (
        pl.when(pol == "lower_is_better")
        .then(pl.lit("better"))
        .when(pol == "higher_is_better")
        .then(pl.lit("worse"))
        .otherwise(pl.lit("lower"))
    )
    out = out.with_columns(
        pl.lit(country).alias("country"),
        pl.col("_vc").alias("value"),
        pl.col("_sc").alias("standard_error"),
        lo.alias("difference_lower"),
        hi.alias("difference_upper"),
        pl.Series("p_value", p),
        pl.when(lo > 0).then(above).when(hi < 0).then(below).otherwise(pl.lit("not distinguishable")).alias("comparison"),
    )
    ranked = rank_confidence_sets(
        frame.with_columns(pl.col("_se").alias("se")),
        estimate="value",
        se="se",
        by=_KEYS,
        level=level,
        kind="marginal",
        n_boot=n_boot,
        seed=seed,
        indicators=indicators or None,
        descending=None if indicators else True,
    )
    ranks = ranked.filter(pl.col("area_code") == country).select(
        *_KEYS, "rank", "rank_lower", "rank_upper", pl.col("n_ranked").alias("n_countries")
    )
    out = out.join(ranks, on=_KEYS, how="left").with_columns(
        pl.when(pol == "no_judgement")
        .then(pl.lit("no known direction: rank 1 is the highest value"))
        .otherwise(None)
        .alias("note")
    )
    return out.select(
        *_KEYS,
        "country",
        "versus",
        "value",
        "standard_error",
        "versus_value",
        "versus_standard_error",
        "difference",
        "difference_lower",
        "difference_upper",
        "p_value",
        "comparison",
        "rank",
        "rank_lower",
        "rank_upper",
        "n_countries",
        "note",
    )
