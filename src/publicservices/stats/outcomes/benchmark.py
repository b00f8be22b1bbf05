"""Comparison with a benchmark: Fingertips categories, a probability and false discovery control.

Every area's value is judged the way Fingertips judges it -- its confidence interval against
the benchmark value -- at 95% and 99.8%, and then beyond Fingertips: a probability that the
true value is on the wrong side of the benchmark, and Benjamini-Hochberg control of the false
discovery rate when hundreds of areas are tested at once.

Result columns (shared with the other statistics): ``value``, ``lower_95``, ``upper_95``,
``lower_998``, ``upper_998`` (a single custom level: ``lower``, ``upper``); keys
``indicator_id``, ``area_code``, ``period``, ``period_start``.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 3, "area_code": ["A", "B", "C"],
    ...     "period": ["2023"] * 3, "value": [50.0, 61.0, 40.0], "lower_95": [45.0, 58.0, 35.0],
    ...     "upper_95": [55.0, 64.0, 45.0], "polarity": ["higher_is_better"] * 3,
    ...     "measure": ["mean"] * 3, "multiplier": [1.0] * 3})
    >>> compare_to_benchmark(f, benchmark=52.0, confidence=0.95).get_column("comparison").to_list()
    ['similar', 'better', 'worse']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats._common import family_keys, require, require_numeric, with_metadata, z_for
from publicservices.stats.outcomes.levels import resolve_levels

__all__ = ["compare_to_benchmark", "benchmark_values", "bh_qvalues", "NOT_COMPARED", "COMPARISON"]

NOT_COMPARED = "not compared"
# Comparison categories as an Enum: compact, ordered, and compares equal to plain strings.
COMPARISON = pl.Enum(["better", "similar", "worse", "higher", "lower", NOT_COMPARED])
_NATIONAL_TYPES = ("country", "nation", "national")
_COUNT_MEASURES = ("proportion", "rate", "ratio")


def _normal_cdf(expr: pl.Expr) -> pl.Expr:
    """Standard normal CDF of an expression (SciPy's ``ndtr``), nulls kept."""

    def ndtr(s: pl.Series) -> pl.Series:
        from scipy.special import ndtr as _ndtr

        return pl.Series(s.name, _ndtr(s.cast(pl.Float64).to_numpy()), dtype=pl.Float64, nan_to_null=True)

    return expr.map_batches(ndtr, return_dtype=pl.Float64, is_elementwise=True)


# -- the benchmark ----------------------------------------------------------------------------


# The columns a pooled benchmark reads, besides the group keys: pools are cut from these only,
# never from the whole (wide) frame.
_POOLED = ("area_code", "measure", "multiplier", "numerator", "denominator", "value")


def _pool_rows(frame: pl.DataFrame, keys: list[str], keep: pl.Expr) -> pl.DataFrame:
    """The rows a benchmark pools (``keep``), with only the columns :func:`_aggregate` reads."""
    return frame.select(*keys, *(c for c in _POOLED if c not in keys)).filter(keep)


def _aggregate(rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One benchmark value per group: pooled counts where the measure allows, else a mean.

    Proportions, rates and ratios pool counts (sum of numerators over sum of denominators,
    times the multiplier). DSRs, means and scores cannot be pooled from their counts, so they
    take the denominator-weighted mean of the values (the plain mean when no denominators).
    """
    counted = pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null()
    has_w = pl.col("value").is_not_null() & pl.col("denominator").is_not_null()
    agg = rows.group_by(keys).agg(
        pl.col("measure").first().alias("_measure"),
        pl.col("multiplier").first().alias("_mult"),
        pl.col("numerator").filter(counted).sum().alias("_num"),
        pl.col("denominator").filter(counted).sum().alias("_den"),
        (pl.col("value") * pl.col("denominator")).filter(has_w).sum().alias("_vw"),
        pl.col("denominator").filter(has_w).sum().alias("_w"),
        pl.col("value").mean().alias("_mean"),
    )
    pooled = pl.col("_num") / pl.col("_den") * pl.col("_mult")
    weighted = pl.col("_vw") / pl.col("_w")
    return agg.select(
        *keys,
        pl.when(pl.col("_measure").is_in(_COUNT_MEASURES) & (pl.col("_den") > 0))
        .then(pooled)
        .when(pl.col("_w") > 0)
        .then(weighted)
        .otherwise(pl.col("_mean"))
        .alias("benchmark_value"),
    )


def _join_new_columns(frame: pl.DataFrame, right: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """``frame.join(right, on=on, how="left", maintain_order="left", nulls_equal=True)``, sharing
    ``frame``'s columns instead of copying them.

    Only the keys are joined and the new columns are set beside ``frame``'s own: a join of the
    whole (wide) frame would copy every column while ``frame`` is still alive. When ``right``
    repeats a key (the join would add rows) or a new column's name is taken, the whole join
    runs, so the result is always the join's.
    """
    new = [c for c in right.columns if c not in on]
    if not any(c in frame.columns for c in new):
        joined = (
            frame.lazy()
            .select(on)
            .join(right.lazy(), on=on, how="left", maintain_order="left", nulls_equal=True)
            .select(new)
            .collect()
        )
        if joined.height == frame.height:
            return frame.hstack(joined.get_columns())
        del joined
    return frame.join(right, on=on, how="left", maintain_order="left", nulls_equal=True)


def _ensure_cols(frame: pl.DataFrame) -> pl.DataFrame:
    adds = [pl.lit(None, dtype=pl.Float64).alias(c) for c in ("numerator", "denominator") if c not in frame.columns]
    if "measure" not in frame.columns:
        adds.append(pl.lit(None, dtype=pl.String).alias("measure"))
    if "multiplier" not in frame.columns:
        adds.append(pl.lit(1.0).alias("multiplier"))
    return frame.with_columns(adds) if adds else frame


def benchmark_values(
    frame: pl.DataFrame,
    benchmark: str | float | Mapping[str, float] = "national",
    *,
    areas: pl.DataFrame | None = None,
    national: str | None = None,
) -> pl.DataFrame:
    """Add ``benchmark_code`` and ``benchmark_value`` to every row.

    Method: the benchmark Fingertips compares each area with (Public Health Technical
    Guidance, "Comparisons with a benchmark"): England, the area's region, or a fixed value.

    Parameters:
        frame: values with ``value`` (and ``numerator``/``denominator``, ``measure``,
            ``multiplier`` for pooled benchmarks).
        benchmark:
            ``"national"`` -- the national row's value where there is one (``national=`` code,
            or the single area of ``areas`` whose ``area_type`` is country/nation/national),
            otherwise all areas pooled: summed counts for proportions, rates and ratios,
            the denominator-weighted mean value for other measures. Areas that are parents
            in ``areas`` (regions, the nation) are left out of the pool.
            ``"region"`` (or ``"parent"``) -- the parent's row via ``areas.parent_code``,
            or the pool of the parent's children when the parent has no row.
            any other string -- that area's value.
            a number, or a mapping indicator_id -> number -- that fixed value.
        areas: the areas frame (``area_code``, ``parent_code``, ``area_type``).
        national: the national area code, when it cannot be found from ``areas``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 2, "area_code": ["A", "B"], "period": ["2023"] * 2,
        ...     "numerator": [10.0, 30.0], "denominator": [100.0, 100.0], "value": [10.0, 30.0],
        ...     "measure": ["proportion"] * 2, "multiplier": [100.0] * 2})
        >>> benchmark_values(f).get_column("benchmark_value").to_list()
        [20.0, 20.0]
    """
    require(frame, ["value"], "compute values first (add_intervals) or supply a value column.")
    frame = _ensure_cols(frame)
    fam = family_keys(frame)
    if isinstance(benchmark, bool):
        raise SchemaError("benchmark=True is not a benchmark.\nFix: pass 'national', 'region', an area code or a number.")
    if isinstance(benchmark, (int, float)):
        if not math.isfinite(benchmark):
            raise SchemaError(f"benchmark {benchmark!r} is not a finite number.\nFix: pass a finite value.")
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("benchmark_code"), pl.lit(float(benchmark)).alias("benchmark_value")
        )
    if isinstance(benchmark, Mapping):
        values = {str(k): float(v) for k, v in benchmark.items()}
        require(frame, ["indicator_id"], "a per-indicator benchmark mapping needs indicator_id.")
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("benchmark_code"),
            pl.col("indicator_id").replace_strict(values, default=None, return_dtype=pl.Float64).alias("benchmark_value"),
        )
    if not isinstance(benchmark, str):
        raise SchemaError(
            f"benchmark {benchmark!r} is not understood.\nFix: pass 'national', 'region', an area code or a number."
        )
    require(frame, ["area_code"], "add the area_code column.")
    parents: list[str] = []
    if areas is not None and not isinstance(areas, pl.DataFrame):
        raise SchemaError(
            f"areas must be the areas frame (area_code, parent_code ...), got {type(areas).__name__}.\n"
            "Fix: pass a pl.DataFrame; to keep only some areas, filter the result instead."
        )
    if areas is not None:
        require(areas, ["area_code"], "pass an areas frame with area_code (and parent_code).", what="areas")
        if "parent_code" in areas.columns:
            parents = areas.get_column("parent_code").drop_nulls().unique().to_list()
    codes = frame.get_column("area_code")

    def present(code: str) -> bool:
        return bool((codes == code).any())

    if benchmark.lower() == "national":
        code = national
        if code is None and areas is not None and "area_type" in areas.columns:
            nat = areas.filter(pl.col("area_type").str.to_lowercase().is_in(list(_NATIONAL_TYPES))).get_column("area_code")
            found = [c for c in nat.to_list() if present(c)]
            code = found[0] if len(found) == 1 else None
        if code is not None and not present(code):
            raise DataError(
                f"benchmark: the national area {code!r} has no rows in the values frame.\n"
                "Fix: add its rows, pass national=None to pool all areas, or choose another benchmark."
            )
        pooled = _aggregate(_pool_rows(frame, fam, ~pl.col("area_code").is_in(parents + ([code] if code else []))), fam)
        if code is not None:
            row = frame.filter(pl.col("area_code") == code).select(*fam, pl.col("value").alias("_row_value"))
            pooled = pooled.join(row, on=fam, how="full", coalesce=True, nulls_equal=True)
            pooled = pooled.select(
                *fam,
                pl.coalesce("_row_value", "benchmark_value").alias("benchmark_value"),
                pl.when(pl.col("_row_value").is_not_null()).then(pl.lit(code)).alias("benchmark_code"),
            )
        else:
            pooled = pooled.with_columns(pl.lit(None, dtype=pl.String).alias("benchmark_code"))
        return _join_new_columns(frame, pooled, fam)

    if benchmark.lower() in ("region", "parent"):
        if areas is None or "parent_code" not in areas.columns:
            raise SchemaError(
                "benchmark='region' needs the areas frame with a parent_code column.\n"
                "Fix: pass areas= (or use a Dataset whose areas have parent_code)."
            )
        lookup = areas.select("area_code", pl.col("parent_code").alias("_parent"))

        def by_region(frame: pl.DataFrame) -> pl.DataFrame:
            with_parent = frame.join(lookup, on="area_code", how="left", maintain_order="left")
            row = frame.select(*fam, pl.col("area_code").alias("_parent"), pl.col("value").alias("_row_value"))
            keep = pl.col("_parent").is_not_null() & ~pl.col("area_code").is_in(parents)
            pooled = _aggregate(_pool_rows(with_parent, [*fam, "_parent"], keep), [*fam, "_parent"])
            out = (
                with_parent.join(row, on=[*fam, "_parent"], how="left", maintain_order="left", nulls_equal=True)
                .join(pooled, on=[*fam, "_parent"], how="left", maintain_order="left", nulls_equal=True)
                .with_columns(
                    pl.coalesce("_row_value", "benchmark_value").alias("benchmark_value"),
                    pl.col("_parent").alias("benchmark_code"),
                )
            )
            return out.drop("_parent", "_row_value")

        # The joins run on the columns they read only, and the two new columns are set beside
        # the frame's own (joins of the wide frame would copy all of it, three times). When a
        # join would add rows (an area listed twice), or a name is taken, the whole frame goes.
        added = ("_parent", "_row_value", "benchmark_value", "benchmark_code")
        if not any(c in frame.columns for c in added):
            narrow = by_region(frame.select(list(dict.fromkeys([*fam, *_POOLED]))))
            if narrow.height == frame.height:
                return frame.with_columns(narrow.select("benchmark_value", "benchmark_code").get_columns())
            del narrow
        return by_region(frame)

    code = benchmark
    if not present(code):
        raise DataError(
            f"benchmark: area {code!r} has no rows in the values frame.\n"
            "Fix: choose an area_code present in the data, 'national', 'region', or a number."
        )
    row = frame.filter(pl.col("area_code") == code).select(*fam, pl.col("value").alias("benchmark_value"))
    return _join_new_columns(frame, row, fam).with_columns(pl.lit(code).alias("benchmark_code"))


# -- categories, probabilities, FDR ---------------------------------------------------------

# Rows per slice of the row-wise comparison columns (see _in_slices).
_SLICE = 1 << 16


def _in_slices(frame: pl.DataFrame, steps: list[list[pl.Expr]], names: list[str]) -> pl.DataFrame:
    """Columns ``names`` made by row-wise ``steps`` (each a ``with_columns``), slice by slice.

    The same values as on the whole frame; the temporaries of the many branches of the z
    statistic are bounded by the slice instead of growing with the frame.
    """
    parts = []
    for start in range(0, max(frame.height, 1), _SLICE):  # one slice at least: an empty frame keeps its schema
        part = frame.slice(start, _SLICE)
        for step in steps:
            part = part.with_columns(step)
        parts.append(part.select(names))
    return pl.concat(parts, rechunk=True)


def _category(high: pl.Expr, low: pl.Expr, polarity: pl.Expr, comparable: pl.Expr) -> pl.Expr:
    """Fingertips words for a significant difference, by polarity (an Enum column)."""

    def word(w: str) -> pl.Expr:
        return pl.lit(w, dtype=COMPARISON)

    return (
        pl.when(~comparable)
        .then(word(NOT_COMPARED))
        .when(high)
        .then(
            pl.when(polarity == "higher_is_better")
            .then(word("better"))
            .when(polarity == "lower_is_better")
            .then(word("worse"))
            .otherwise(word("higher"))
        )
        .when(low)
        .then(
            pl.when(polarity == "higher_is_better")
            .then(word("worse"))
            .when(polarity == "lower_is_better")
            .then(word("better"))
            .otherwise(word("lower"))
        )
        .otherwise(word("similar"))
    )


def _safe_ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den with 0/0 -> 0 and x/0 -> +-inf (a degenerate standard error)."""
    return (
        pl.when(den > 0)
        .then(num / den)
        .when(num > 0)
        .then(pl.lit(math.inf))
        .when(num < 0)
        .then(pl.lit(-math.inf))
        .otherwise(pl.lit(0.0))
    )


def _z_statistic(lower: str, upper: str, zcrit: float) -> pl.Expr:
    """The normal-approximation z of (true value - benchmark), on the measure's natural scale.

    * proportion with counts: the score statistic (p - b) / sqrt(b (1 - b) / n) -- the test
      the Wilson interval inverts, so it agrees with the Wilson limits;
    * rate or ratio with counts: the Poisson score statistic (O - E) / sqrt(E), E = b n / multiplier;
    * otherwise (DSR, mean, score, or no counts): the standard error read from the limits on
      the log scale (rates, ratios, DSRs), the logit scale (proportions) or the identity scale
      (means, scores): se = (g(U) - g(L)) / (2 z), z = (g(value) - g(b)) / se. The identity
      scale is used wherever the transform is undefined (a limit at 0, say).
    """
    v, b, m = pl.col("value"), pl.col("benchmark_value"), pl.col("multiplier").fill_null(1.0)
    x, n = pl.col("numerator"), pl.col("denominator")
    lo, hi = pl.col(lower), pl.col(upper)
    measure = pl.col("measure")
    counts = x.is_not_null() & n.is_not_null() & (n > 0)
    # proportion score test
    p, p0 = x / n, b / m
    z_prop = pl.when((p0 > 0) & (p0 < 1)).then((p - p0) / (p0 * (1 - p0) / n).sqrt()).otherwise(_safe_ratio(p - p0, pl.lit(0.0)))
    # Poisson score test
    expected = b / m * n
    z_pois = _safe_ratio(x - expected, expected.sqrt())
    # from the limits
    log_ok = (lo > 0) & (b > 0) & (v > 0)
    logit_ok = (lo > 0) & (hi < m) & (b > 0) & (b < m) & (v > 0) & (v < m)

    def logit(e: pl.Expr) -> pl.Expr:
        return (e / (m - e)).log()

    z_log = _safe_ratio(v.log() - b.log(), (hi.log() - lo.log()) / (2 * zcrit))
    z_logit = _safe_ratio(logit(v) - logit(b), (logit(hi) - logit(lo)) / (2 * zcrit))
    z_id = _safe_ratio(v - b, (hi - lo) / (2 * zcrit))
    return (
        pl.when(v.is_null() | b.is_null())
        .then(None)
        .when((measure == "proportion") & counts)
        .then(z_prop)
        .when(measure.is_in(["rate", "ratio"]) & counts)
        .then(z_pois)
        .when(lo.is_null() | hi.is_null())
        .then(None)
        .when(measure.is_in(["rate", "ratio", "dsr"]) & log_ok)
        .then(z_log)
        .when((measure == "proportion") & logit_ok)
        .then(z_logit)
        .otherwise(z_id)
    )


def bh_qvalues(frame: pl.DataFrame, p: str = "p_value", by: Sequence[str] | None = None, name: str = "q_value") -> pl.DataFrame:
    """Benjamini-Hochberg adjusted p-values (q-values) within groups.

    Method: Benjamini Y, Hochberg Y (1995) "Controlling the false discovery rate", JRSS B
    57:289-300: with m p-values sorted ascending, q_(i) = min over j >= i of m p_(j) / j,
    capped at 1. Null p-values are left out of m and get a null q-value. Declaring every
    test with q <= alpha significant controls the false discovery rate at alpha.

    Parameters:
        frame: a frame with a p-value column.
        p: that column.
        by: columns defining the families of tests (default: all rows together).
        name: the output column.

    Example:
        >>> import polars as pl
        >>> q = bh_qvalues(pl.DataFrame({"p_value": [0.01, 0.04, 0.03, 0.2]})).get_column("q_value")
        >>> q.round(4).to_list()  # 4 p-values: 0.01*4/1, min(0.03*4/2, 0.04*4/3), ...
        [0.04, 0.0533, 0.0533, 0.2]
    """
    by = list(by or [])
    pcol = pl.col(p)

    def over(e: pl.Expr, **kw) -> pl.Expr:  # noqa: ANN003
        return e.over(by, **kw) if by else (e.over(pl.lit(0), **kw) if kw else e)

    m = over(pcol.count())
    # "max" ranks give every tied p-value the smallest of their m p / k, so ties share a
    # q-value whatever order the sort leaves them in
    raw = (pcol * m / over(pcol.rank("max"))).clip(upper_bound=1.0)
    q = over(raw.cum_min(reverse=True), order_by=p)
    return frame.with_columns(pl.when(pcol.is_not_null()).then(q).alias(name))


def compare_to_benchmark(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    benchmark: str | float | Mapping[str, float] = "national",
    confidence: float | Sequence[float] = (0.95, 0.998),
    fdr: float | None = None,
    areas: pl.DataFrame | None = None,
    national: str | None = None,
) -> pl.DataFrame:
    """Compare every area with a benchmark: Fingertips categories, a probability, optional FDR.

    Method:
        * Categories -- Fingertips "single overlapping confidence intervals"
          (Public Health Technical Guidance; fingertips-open ``SingleOverlappingCIsComparer``):
          the benchmark value inside the area's interval (limits included) is **similar**;
          an interval wholly above it is **better** (higher_is_better), **worse**
          (lower_is_better) or **higher** (no_judgement); wholly below: worse / better / lower.
          The benchmark's own uncertainty is ignored, as in Fingertips. Missing value,
          limits or benchmark, and the benchmark area itself, are **not compared**.
        * ``z`` / ``p_value`` -- a normal approximation on the measure's natural scale (see
          ``docs/methodology/benchmarking.md``): the score test for proportions (which the
          Wilson interval inverts), the Poisson score test for rates and ratios with
          counts, otherwise a standard error read off the 95% limits on the log, logit or
          identity scale. ``p_value`` is two-sided.
        * ``prob_worse`` -- the probability that the true value lies on the wrong side of the
          benchmark: Phi(-z) when higher is better, Phi(z) when lower is better, i.e. the
          one-sided p-value, which is the posterior probability under a flat prior on that
          scale. Null for no_judgement indicators (there is no wrong side).
        * ``fdr`` -- Benjamini-Hochberg (1995) across the areas of each indicator x period:
          ``q_value`` and ``comparison_fdr``, a category that is significant when q <= fdr.

    Parameters:
        frame: values with ``value`` and limit columns for each level in ``confidence``
            (``lower_95`` ...); ``numerator``/``denominator`` when count-based; indicator
            metadata as columns or through ``indicators``.
        indicators: mapping id -> Indicator (or a list), for polarity, measure, multiplier.
        benchmark: see :func:`benchmark_values`.
        confidence: the levels whose limit columns are compared; one category column each
            (``comparison_95``, ``comparison_998``; a single number gives ``comparison``).
        fdr: false discovery rate (e.g. 0.05) for ``q_value`` and ``comparison_fdr``.
        areas: areas frame for regional benchmarks and national detection.
        national: the national area code.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"indicator_id": ["h.x"] * 2, "area_code": ["A", "B"], "period": ["2023"] * 2,
        ...     "numerator": [30.0, 52.0], "denominator": [100.0, 100.0], "value": [30.0, 52.0],
        ...     "lower_95": [21.9, 42.3], "upper_95": [39.6, 61.5], "measure": ["proportion"] * 2,
        ...     "multiplier": [100.0] * 2, "polarity": ["higher_is_better"] * 2})
        >>> out = compare_to_benchmark(f, benchmark=45.0, confidence=0.95)
        >>> out.select("comparison", pl.col("prob_worse").round(4)).rows()
        [('worse', 0.9987), ('similar', 0.0797)]
    """
    frame = with_metadata(frame, indicators, need=("polarity",))
    frame = _ensure_cols(frame)
    levels = resolve_levels(frame, confidence)
    for _, lo, hi, _ in levels:
        require(
            frame,
            [lo, hi],
            "compute the limits first (publicservices.stats.add_intervals) "
            "or pass confidence= matching the limit columns present.",
        )
    require_numeric(frame, ["value", "numerator", "denominator", "multiplier", *(c for lv in levels for c in lv[1:3])])
    if fdr is not None and not (isinstance(fdr, (int, float)) and 0 < fdr < 1):
        raise SchemaError(f"fdr={fdr!r} must be a rate between 0 and 1, such as 0.05.\nFix: pass fdr=0.05 or leave it None.")
    out = benchmark_values(frame, benchmark, areas=areas, national=national)
    pol = pl.col("polarity")
    is_self = pl.col("benchmark_code").is_not_null() & (pl.col("area_code") == pl.col("benchmark_code"))
    base_ok = pl.col("value").is_not_null() & pl.col("benchmark_value").is_not_null() & ~is_self.fill_null(False)
    b = pl.col("benchmark_value")
    cats = []
    for _, lo, hi, suffix in levels:
        ok = base_ok & pl.col(lo).is_not_null() & pl.col(hi).is_not_null()
        cats.append(_category(pl.col(lo) > b, pl.col(hi) < b, pol, ok).alias(f"comparison{suffix}"))

    # The z statistic reads its standard error from the 95% limits when present.
    ref = next((lv for lv in levels if abs(lv[0] - 0.95) < 1e-12), levels[0])
    z = _z_statistic(ref[1], ref[2], z_for(ref[0]))
    # one tail area serves both columns: Phi(-|z|) is accurate however small it is
    tail, zc = pl.col("_tail"), pl.col("z")
    below = pl.when(zc > 0).then(tail).otherwise(1 - tail)  # P(true value < benchmark)
    above = pl.when(zc < 0).then(tail).otherwise(1 - tail)  # P(true value > benchmark)
    steps = [
        cats,
        [pl.when(base_ok).then(z).alias("z")],
        [_normal_cdf(-pl.col("z").abs()).alias("_tail")],
        [
            (2 * tail).clip(upper_bound=1.0).alias("p_value"),
            pl.when(zc.is_null())
            .then(None)
            .when(pol == "higher_is_better")
            .then(pl.when(zc == 0).then(0.5).otherwise(below))
            .when(pol == "lower_is_better")
            .then(pl.when(zc == 0).then(0.5).otherwise(above))
            .otherwise(None)
            .alias("prob_worse"),
        ],
    ]
    names = [*(f"comparison{suffix}" for *_, suffix in levels), "z", "p_value", "prob_worse"]
    out = out.with_columns(_in_slices(out, steps, names).get_columns())
    if fdr is not None:
        out = bh_qvalues(out, "p_value", by=family_keys(out))
        sig = pl.col("q_value") <= fdr
        out = out.with_columns(
            _category(sig & (pl.col("z") > 0), sig & (pl.col("z") < 0), pol, pl.col("q_value").is_not_null()).alias(
                "comparison_fdr"
            )
        )
    return out
