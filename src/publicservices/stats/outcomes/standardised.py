"""Directly and indirectly standardised rates: DSR (Dobson et al. 1991) and ISR / SMR.

DSR limits are Byar's (exact below 10 events) limits of the total count, scaled (Dobson),
with an optional adjustment for non-independent events; ISRs are observed / expected with
exact or Byar's limits of the observed count -- as PHEindicatormethods 2.1.0 (``calculate_dsr``,
``calculate_ISRatio`` / ``calculate_ISRate``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, OptionError, SchemaError, problem
from publicservices.stats._common import as_list, z_for
from publicservices.stats.outcomes._interval_core import F64, Frame, check_rows, key_columns, lazy, require_schema
from publicservices.stats.outcomes.levels import confidence_levels, limit_names
from publicservices.stats.outcomes.rates import byar_limits, fractional_small, poisson_factor, poisson_limits
from publicservices.stats.outcomes.standard_populations import STANDARD_POPULATIONS

__all__ = ["dsr", "isr"]


# --------------------------------------------------------------------------------------------
# directly standardised rates (Dobson)
# --------------------------------------------------------------------------------------------


def _position(by: list[str]) -> pl.Expr:
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    return pos.over(by) if by else pos


def _group_label(row: tuple, by: list[str]) -> str:
    return " | ".join(str(v) for v in row) if by else "(all rows)"


def _vector_by_position(lf: pl.LazyFrame, values: Sequence[float], by: list[str], what: str, validate: bool) -> pl.Expr:
    try:
        vals = [float(v) for v in values]
    except (TypeError, ValueError):
        raise OptionError(f"{what} must be a sequence of numbers.") from None
    if validate and any(not math.isfinite(v) or v < 0 for v in vals):
        raise DataError(
            problem(
                None,
                f"{what} has missing, negative or non-finite values",
                rows=[f"position {i}: {v}" for i, v in enumerate(vals) if not (math.isfinite(v) and v >= 0)],
                fix="give a number >= 0 for every band.",
            )
        )
    k = len(vals)
    position = _position(by)
    if validate:
        sizes = (
            lf.group_by(by, maintain_order=True).agg(pl.len().alias("__ps_n")).collect()
            if by
            else lf.select(pl.len().alias("__ps_n")).collect()
        )
        bad = sizes.filter(pl.col("__ps_n") != k)
        if bad.height:
            rows = [f"{_group_label(r[:-1], by)}: {r[-1]} rows" for r in bad.head(5).rows()]
            raise DataError(
                problem(
                    None,
                    f"{what} has {k} values, matched by position within each group, but "
                    "some groups have a different number of rows (data must contain the same "
                    "number of rows for each group)",
                    rows=rows,
                    total=bad.height,
                    fix="give every group one row per band in the same order as the vector, "
                    "filling missing counts with 0; or pass the values as a column.",
                )
            )
        if by:
            # Groups stored contiguously (the usual layout) need no window: every group has k
            # rows, so the position is the row number modulo k.
            key = pl.struct(by) if len(by) > 1 else pl.col(by[0])
            runs = lf.select(key.rle_id().max()).collect().item()
            if runs is not None and runs + 1 == sizes.height:
                position = pl.int_range(pl.len(), dtype=pl.Int64) % k
    return pl.lit(pl.Series(vals, dtype=F64)).gather(position)


def _resolve_standard(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    standard: Any,
    by: list[str],
    age_band: str | None,
    validate: bool,
    independent: bool,
) -> pl.Expr:
    if isinstance(standard, str) and standard in schema:
        require_schema(schema, [standard], [standard])
        return pl.col(standard).cast(F64)
    if isinstance(standard, str) and standard.lower() in STANDARD_POPULATIONS:
        bands, weights = STANDARD_POPULATIONS[standard.lower()]
        if age_band is not None:
            standard = dict(zip(bands, weights, strict=True))
        else:
            standard = weights
    if isinstance(standard, pl.DataFrame):
        if not {"age_band", "standard"} <= set(standard.columns):
            raise SchemaError(
                "a standard population frame needs columns 'age_band' and 'standard'.\n"
                "Fix: build it like "
                "publicservices.stats.standard_population()."
            )
        standard = dict(zip(standard["age_band"].to_list(), standard["standard"].to_list(), strict=True))
    if isinstance(standard, Mapping):
        if age_band is None:
            raise OptionError(
                "a standard population given by age band needs age_band= naming the age-band "
                "column.\n"
                "Fix: pass age_band='ageband' (or give the weights as a column or in band order)."
            )
        require_schema(schema, [age_band])
        labels = list(standard.keys())
        if validate:
            unknown = (
                lf.select(pl.col(age_band).cast(pl.String).unique())
                .filter(~pl.col(age_band).is_in([str(k) for k in labels]))
                .collect()[age_band]
                .to_list()
            )
            if unknown:
                raise DataError(
                    problem(
                        age_band,
                        "has bands that the standard population does not define",
                        rows=[str(u) for u in unknown],
                        fix=f"relabel them to the standard's bands: {labels}.",
                    )
                )
        return (
            pl.col(age_band)
            .cast(pl.String)
            .replace_strict([str(k) for k in labels], [float(v) for v in standard.values()], default=None, return_dtype=F64)
        )
    if isinstance(standard, Sequence) and not isinstance(standard, str):
        if not independent:
            raise OptionError(
                "with independent_events=False the standard population must be a column or a "
                "mapping age band -> weight (rows are per age band and event frequency, so "
                "position cannot match them).\nFix: pass standard='stdpop' or a mapping."
            )
        return _vector_by_position(lf, standard, by, "the standard population", validate)
    raise OptionError(
        f"standard {standard!r} is not a column of the frame, a shipped standard "
        f"({', '.join(STANDARD_POPULATIONS)}), a sequence or a mapping.\n"
        "Fix: pass standard='esp2013', a column name, or the weights."
    )


def dsr(
    frame: Frame,
    count: str,
    population: str,
    standard: str | Sequence[float] | Mapping[str, float] | pl.DataFrame = "esp2013",
    *,
    by: str | Sequence[str] | None = None,
    age_band: str | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: float = 100000.0,
    independent_events: bool = True,
    event_frequency: str | None = None,
    min_count: float = 10,
    validate: bool = True,
) -> Frame:
    """Directly standardised rates with Dobson's confidence limits, one row per group.

    Method: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991) Stat Med 10:457-462, as in the
    Fingertips technical guidance and PHEindicatormethods ``calculate_dsr``:
    DSR = Σ(xᵢwᵢ/nᵢ)/Σwᵢ × multiplier; var = Σ(xᵢwᵢ²/nᵢ²)/(Σwᵢ)²;
    limits = DSR + √(var/O)·(O_L − O)·multiplier with O = Σx and O_L, O_U Byar's limits of O.
    When O < ``min_count`` (10) the value and limits are null and ``suppression_reason`` says
    why. Missing counts count as 0. With ``independent_events=False`` (PHE's adjustment for
    people with several events) each row holds the number of *people* with
    ``event_frequency`` events; events = Σ f·people and var = Σ_f f²·var_f.

    Parameters:
        frame: age-band rows (DataFrame or LazyFrame; the result has the same type).
        count: events (or people, when events are not independent). population: band population.
        standard: a column of standard-population weights; ``"esp2013"``/``"esp1976"``; a
            sequence matched by position within each group (as PHE's vector); a mapping or frame
            age band -> weight (needs ``age_band``).
        by: grouping columns (e.g. area, period). age_band: the age-band column.
        confidence, multiplier: as elsewhere (default 95% and 99.8%, per 100,000).
        independent_events, event_frequency: see above. min_count: suppression threshold.
        validate: check inputs first (PHE's checks, with the offending rows named).

    Returns:
        by columns, ``total_count, total_pop, value``, limits, ``ci_method``,
        ``suppression_reason``.

    Example:
        >>> df = pl.DataFrame({"area": ["a"] * 3, "x": [10, 20, 30],
        ...                    "n": [1000, 1000, 500], "w": [3000, 2000, 1000]})
        >>> dsr(df, "x", "n", "w", by="area", confidence=0.95).select(
        ...     "value", "lower", "upper").with_columns(pl.col(pl.Float64).round(3)).rows()
        [(2166.667, 1645.764, 2798.116)]
    """
    lf, eager = lazy(frame)
    by_cols = as_list(by)
    schema = lf.collect_schema()
    needed = [count, population, *by_cols]
    if not independent_events:
        if event_frequency is None or age_band is None:
            raise OptionError(
                "dsr with independent_events=False needs event_frequency= (events per person) "
                "and age_band= columns.\nFix: pass both column names."
            )
        needed += [event_frequency, age_band]
    require_schema(schema, needed, [count, population] + ([event_frequency] if event_frequency else []))
    if not (isinstance(multiplier, (int, float)) and multiplier > 0):
        raise OptionError(f"multiplier {multiplier!r} must be greater than 0.")
    levels, names = confidence_levels(confidence), limit_names(confidence)
    w = _resolve_standard(lf, schema, standard, by_cols, age_band, validate, independent_events)
    keys = by_cols + ([age_band] if age_band else [])
    rows = lf.with_columns(w.alias("__ps_w"))
    if validate:
        x, n, wc = pl.col(count), pl.col(population), pl.col("__ps_w")
        checks = [
            (population, "has missing values", n.is_null(), "every age band needs its population."),
            (population, "is zero or negative", n <= 0, "denominators must all be greater than zero."),
            (count, "is negative", x < 0, "numerators must all be greater than or equal to zero."),
            (count, "is not finite (NaN or infinite)", ~x.cast(F64).is_finite(), "use a count, or null (counted as 0)."),
            ("standard", "has missing values", wc.is_null(), "give a weight for every age band."),
            ("standard", "is negative", wc < 0, "standard populations must be >= 0."),
        ]
        if not independent_events:
            assert event_frequency is not None and age_band is not None  # checked above
            checks += [
                (
                    event_frequency,
                    "has missing values",
                    pl.col(event_frequency).is_null(),
                    "give the events per person on every row.",
                ),
                (age_band, "has missing values", pl.col(age_band).is_null(), "give the age band on every row."),
            ]
        check_rows(rows, checks, keys or key_columns(schema, by_cols))
    x0 = pl.col(count).cast(F64).fill_null(0.0)
    if independent_events:
        bands = rows.select(
            *by_cols,
            x0.alias("__ps_events"),
            x0.alias("__ps_var"),
            pl.col(population).cast(F64).alias("__ps_n"),
            pl.col("__ps_w"),
        )
        method = "dobson"
    else:
        assert event_frequency is not None and age_band is not None  # checked above
        f = pl.col(event_frequency).cast(F64)
        band_keys = [*by_cols, age_band]
        if validate:
            clash = (
                rows.group_by(band_keys)
                .agg((pl.col(population).n_unique() > 1) | (pl.col("__ps_w").n_unique() > 1))
                .filter(pl.col(population))
                .select(band_keys)
                .head(5)
                .collect()
            )
            if clash.height:
                raise DataError(
                    problem(
                        None,
                        "rows with the same group and age band have different populations or standard populations",
                        rows=[" | ".join(str(v) for v in r) for r in clash.rows()],
                        fix="give each group and age band one population and one standard weight.",
                    )
                )
        bands = rows.group_by(band_keys, maintain_order=True).agg(
            (f * x0).sum().alias("__ps_events"),
            (f * f * x0).sum().alias("__ps_var"),
            pl.col(population).first().cast(F64).alias("__ps_n"),
            pl.col("__ps_w").first(),
        )
        method = "dobson_non_independent"
    ratio = pl.col("__ps_w") / pl.col("__ps_n")
    aggs = [
        pl.col("__ps_events").sum().alias("total_count"),
        pl.col("__ps_n").sum().alias("total_pop"),
        (pl.col("__ps_events") * ratio).sum().alias("__ps_s"),
        (pl.col("__ps_var") * ratio * ratio).sum().alias("__ps_v"),
        pl.col("__ps_w").sum().alias("__ps_wsum"),
    ]
    if by_cols:
        grouped = bands.group_by(by_cols, maintain_order=True).agg(aggs)
    else:
        grouped = bands.select(aggs)
    o = pl.col("total_count")
    wsum = pl.col("__ps_wsum")
    shown = (o >= min_count) & (wsum > 0)
    value = pl.col("__ps_s") / wsum * multiplier
    sd_per_event = (pl.col("__ps_v") / (wsum * wsum) / o).sqrt() * multiplier
    limits = []
    for level, (lo_name, up_name) in zip(levels, names, strict=True):
        lo, up = byar_limits(o, z_for(level))
        limits += [
            pl.when(shown).then(value + sd_per_event * (lo - o)).alias(lo_name),
            pl.when(shown).then(value + sd_per_event * (up - o)).alias(up_name),
        ]
    out = grouped.with_columns(
        pl.when(shown).then(value).alias("value"),
        *limits,
        pl.lit(method).alias("ci_method"),
        pl.when(o < min_count)
        .then(pl.lit(f"total count < {min_count:g}: DSR not calculated"))
        .when(wsum <= 0)
        .then(pl.lit("standard population sums to 0"))
        .alias("suppression_reason"),
    ).drop("__ps_s", "__ps_v", "__ps_wsum")
    return out.collect() if eager else out


# --------------------------------------------------------------------------------------------
# indirectly standardised ratios and rates
# --------------------------------------------------------------------------------------------


def _ref_expr(lf, schema, ref, by, what, validate) -> pl.Expr:
    if isinstance(ref, str):
        require_schema(schema, [ref], [ref])
        return pl.col(ref).cast(F64)
    if isinstance(ref, Sequence):
        return _vector_by_position(lf, ref, by, what, validate)
    raise OptionError(f"{what} must be a column name or a sequence of numbers in band order, not {type(ref).__name__}.")


def isr(
    frame: Frame,
    count: str,
    population: str,
    ref_count: str | Sequence[float],
    ref_population: str | Sequence[float],
    *,
    by: str | Sequence[str] | None = None,
    kind: str = "ratio",
    multiplier: float | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    observed_totals: pl.DataFrame | None = None,
    exact_below: float = 10,
    validate: bool = True,
) -> Frame:
    """Indirectly standardised ratios (SMR) or rates, with exact / Byar's limits, per group.

    Method (Fingertips technical guidance; Breslow & Day 1987; PHEindicatormethods
    ``calculate_ISRatio`` / ``calculate_ISRate``): expected E = Σ (x_refᵢ/n_refᵢ)·nᵢ (missing
    terms 0); observed O = Σx (or from ``observed_totals``). Ratio: value = O/E × multiplier
    (1, or 100 for an SMR per 100). Rate: value = O/E × reference rate, the reference rate being
    Σx_ref/Σn_ref × multiplier. Limits are the exact Poisson (O < 10) or Byar's limits of O,
    scaled the same way. Populations of 0 are allowed (they expect nothing).

    Parameters:
        frame: band rows. count, population: observed events and population per band.
        ref_count, ref_population: reference events and population per band: column names, or
            sequences matched by position within each group.
        by: grouping columns. kind: ``"ratio"`` or ``"rate"``.
        multiplier: default 1 for ratios, 100000 for rates.
        confidence: default 95% and 99.8%.
        observed_totals: optional frame with the ``by`` columns and a ``count`` column holding
            each group's observed total (when band-level observed counts are not available).
        exact_below: observed totals below this use exact limits.

    Returns:
        by columns, ``observed, expected`` (``reference_rate`` for rates), ``value``, limits,
        ``ci_method``.

    Example:
        >>> df = pl.DataFrame({"area": ["a", "a"], "x": [30, 50], "n": [1000, 500]})
        >>> out = isr(df, "x", "n", [100, 300], [10000, 5000], by="area", confidence=0.95,
        ...           multiplier=100)
        >>> (out.select("observed", "expected", "value", "lower", "upper")
        ...  .with_columns(pl.col(pl.Float64).round(3)).rows())
        [(80.0, 40.0, 200.0, 158.582, 248.92)]
    """
    if kind not in ("ratio", "rate"):
        raise OptionError(f"kind {kind!r} must be 'ratio' or 'rate'.")
    if multiplier is None:
        multiplier = 1.0 if kind == "ratio" else 100000.0
    if not (isinstance(multiplier, (int, float)) and multiplier > 0):
        raise OptionError(f"multiplier {multiplier!r} must be greater than 0.")
    lf, eager = lazy(frame)
    by_cols = as_list(by)
    schema = lf.collect_schema()
    require_schema(schema, [population, *by_cols], [population])
    if observed_totals is None:
        require_schema(schema, [count], [count])
    levels, names = confidence_levels(confidence), limit_names(confidence)
    xr = _ref_expr(lf, schema, ref_count, by_cols, "ref_count", validate)
    nr = _ref_expr(lf, schema, ref_population, by_cols, "ref_population", validate)
    rows = lf.with_columns(xr.alias("__ps_xr"), nr.alias("__ps_nr"))
    n = pl.col(population).cast(F64)
    xr_c, nr_c = pl.col("__ps_xr"), pl.col("__ps_nr")
    if validate:
        checks = [
            (population, "is negative", n < 0, "denominators must all be greater than or equal to zero."),
            ("ref_count", "is negative", xr_c < 0, "reference counts must be >= 0."),
            (
                "ref_population",
                "is zero or negative where the reference count is positive",
                (nr_c <= 0) & (xr_c > 0),
                "a reference rate needs a positive reference population.",
            ),
        ]
        if observed_totals is None:
            checks.insert(0, (count, "is negative", pl.col(count) < 0, "numerators must all be greater than or equal to zero."))
        check_rows(rows, checks, key_columns(schema, by_cols))
    expected = pl.when(nr_c > 0).then(xr_c / nr_c * n).fill_null(0.0)
    both = xr_c.is_not_null() & nr_c.is_not_null()
    aggs = [
        expected.sum().alias("expected"),
        xr_c.filter(both).sum().alias("__ps_xr_sum"),
        nr_c.filter(both).sum().alias("__ps_nr_sum"),
    ]
    if observed_totals is None:
        aggs.insert(0, pl.col(count).cast(F64).fill_null(0.0).sum().alias("observed"))
    if by_cols:
        grouped = rows.group_by(by_cols, maintain_order=True).agg(aggs)
    else:
        grouped = rows.select(aggs)
    if observed_totals is not None:
        ot, _ = lazy(observed_totals, "observed_totals")
        ot_schema = ot.collect_schema()
        if count not in ot_schema:
            raise SchemaError(
                problem(
                    count,
                    "is missing from observed_totals",
                    fix=f"observed_totals needs the by columns {by_cols} and a {count!r} column.",
                )
            )
        require_schema(ot_schema, [count, *by_cols], [count])
        ot = ot.select(*by_cols, pl.col(count).cast(F64).alias("observed"))
        if by_cols:
            grouped = grouped.join(ot, on=by_cols, how="left")
        else:
            grouped = grouped.join(ot, how="cross")
    e = pl.col("expected")
    if kind == "rate":
        ref = pl.col("__ps_xr_sum") / pl.col("__ps_nr_sum") * multiplier
        grouped = grouped.with_columns(ref.alias("reference_rate"))
        scale = pl.col("reference_rate")
    else:
        scale = pl.lit(multiplier, dtype=F64)
    o = pl.col("observed")
    factor = poisson_factor(scale, e)
    # Sums of whole counts are whole: the lookup path is safe when the inputs say so.
    whole = eager and (
        not fractional_small(lf, pl.col(count), exact_below)
        if observed_totals is None
        else not fractional_small(observed_totals.lazy(), pl.col(count), exact_below)
    )
    ci = poisson_limits(o, factor, levels, names, exact_below, whole)
    out = (
        grouped.with_columns((o * factor).alias("value"), *ci.columns())
        .with_columns(
            pl.when(o.is_null() | factor.is_null())
            .then(None)
            .when(o < exact_below)
            .then(pl.lit("exact_poisson"))
            .otherwise(pl.lit("byar"))
            .alias("ci_method")
        )
        .drop("__ps_xr_sum", "__ps_nr_sum")
    )
    return out.collect() if eager else out
