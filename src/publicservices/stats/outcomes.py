"""Outcomes: comparison with a benchmark, floors and targets, and the ``outcomes()`` entry point.

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
    >>> compare(f, benchmark=52.0, confidence=0.95).get_column("comparison").to_list()
    ['similar', 'better', 'worse']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, IndicatorError, SchemaError, problem
from publicservices.indicators import POLARITIES, Indicator

__all__ = [
    "compare",
    "benchmark_values",
    "bh_qvalues",
    "floor_status",
    "distance_to_target",
    "outcomes",
    "level_columns",
    "NOT_COMPARED",
    "COMPARISON",
]

KEY = ("indicator_id", "area_code", "period")
# Optional breakdown columns of the values contract (publicservices.frame.BREAKDOWN_COLUMNS);
# repeated here because stats/ does not import the frame layer.
from publicservices.stats._keys import GROUP_KEYS as BREAKDOWNS  # noqa: E402 (comparable_set, sex, age, category_type, category)
NOT_COMPARED = "not compared"
# Comparison categories as an Enum: compact, ordered, and compares equal to plain strings.
COMPARISON = pl.Enum(["better", "similar", "worse", "higher", "lower", NOT_COMPARED])
META_COLUMNS = ("measure", "multiplier", "polarity", "floor", "target")
_NATIONAL_TYPES = ("country", "nation", "national")
_COUNT_MEASURES = ("proportion", "rate", "ratio")


# -- shared helpers (used by trends, spc) ---------------------------------------------------


def _fraction(level: float) -> float:
    """Accept 0.95 or 95 (PHEindicatormethods style) and return the fraction."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level):
        raise SchemaError(f"confidence level {level!r} must be a number such as 0.95 or 0.998.\nFix: pass e.g. confidence=(0.95, 0.998).")
    c = level / 100 if level > 1 else float(level)
    if not 0.5 <= c < 1:
        raise SchemaError(
            f"confidence level {level!r} must be between 0.5 and 1 (or 50 and 100).\n"
            "Fix: pass e.g. confidence=0.95 or confidence=(0.95, 0.998)."
        )
    return c


def level_columns(confidence: float | Sequence[float]) -> list[tuple[float, str, str, str]]:
    """The limit columns for confidence level(s): ``(level, lower, upper, suffix)``.

    One level given as a plain number names its columns ``lower`` / ``upper`` (suffix
    ``""``); a sequence names them by level: 0.95 -> ``lower_95``, 0.998 -> ``lower_998``.

    Example:
        >>> level_columns((0.95, 0.998))
        [(0.95, 'lower_95', 'upper_95', '_95'), (0.998, 'lower_998', 'upper_998', '_998')]
        >>> level_columns(0.9)
        [(0.9, 'lower', 'upper', '')]
    """
    if isinstance(confidence, (int, float)):
        return [(_fraction(confidence), "lower", "upper", "")]
    out = []
    for level in confidence:
        c = _fraction(level)
        tag = f"{c * 100:.10g}".replace(".", "")
        out.append((c, f"lower_{tag}", f"upper_{tag}", f"_{tag}"))
    if not out:
        raise SchemaError("confidence is empty.\nFix: pass e.g. confidence=(0.95, 0.998).")
    return out


def _resolve_levels(frame: pl.DataFrame, confidence: float | Sequence[float]) -> list[tuple[float, str, str, str]]:
    """:func:`level_columns`, except that one plain level falls back to its suffixed columns.

    ``confidence=0.95`` on a frame holding ``lower_95`` (but no ``lower``) reads ``lower_95``;
    the output columns keep the empty suffix.
    """
    levels = level_columns(confidence)
    if len(levels) == 1 and levels[0][3] == "" and "lower" not in frame.columns:
        c = levels[0][0]
        tag = f"{c * 100:.10g}".replace(".", "")
        if f"lower_{tag}" in frame.columns:
            return [(c, f"lower_{tag}", f"upper_{tag}", "")]
    return levels


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def _breakdowns(frame: pl.DataFrame) -> list[str]:
    return [c for c in BREAKDOWNS if c in frame.columns]


def _series_keys(frame: pl.DataFrame) -> list[str]:
    """The columns naming one time series: indicator x area (x breakdowns)."""
    return [c for c in ("indicator_id", "area_code", *BREAKDOWNS) if c in frame.columns]


def _family_keys(frame: pl.DataFrame) -> list[str]:
    """The columns naming one set of areas compared together: indicator x period (x breakdowns)."""
    return [c for c in ("indicator_id", "period", *BREAKDOWNS) if c in frame.columns]


def _row_keys(frame: pl.DataFrame, mask: pl.Series) -> tuple[list[str], int]:
    cols = [c for c in (*KEY, *BREAKDOWNS) if c in frame.columns]
    bad = frame.with_row_index("_row").filter(mask)
    rows = [
        f"row {r[0] + 1}" + (": " + " | ".join("<null>" if v is None else str(v) for v in r[1:]) if cols else "")
        for r in bad.head(5).select("_row", *cols).iter_rows()
    ]
    return rows, bad.height


def _require(frame: pl.DataFrame, columns: Iterable[str], fix: str, what: str = "frame") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what}: required column(s) {', '.join(map(repr, missing))} missing.\n"
            f"Columns present: {', '.join(frame.columns)}.\nFix: {fix}"
        )


def _require_numeric(frame: pl.DataFrame, columns: Iterable[str]) -> None:
    """Raise a SchemaError (not a Polars error) for present columns that are not numbers."""
    for c in columns:
        if c in frame.columns and not (frame.schema[c].is_numeric() or frame.schema[c] == pl.Null):
            raise SchemaError(
                f"column {c!r} holds {frame.schema[c]} values; it must be numeric.\n"
                f"Fix: cast {c!r} to numbers (publicservices.validate_values does this for the contract columns)."
            )


def _as_indicator_map(indicators: Mapping[str, Indicator] | Iterable[Indicator] | None) -> dict[str, Indicator] | None:
    if indicators is None:
        return None
    items = indicators.values() if isinstance(indicators, Mapping) else indicators
    out: dict[str, Indicator] = {}
    for ind in items:
        if not isinstance(ind, Indicator):
            raise SchemaError(
                f"indicators must be Indicator objects, got {type(ind).__name__}.\n"
                "Fix: pass a mapping id -> publicservices.Indicator, or a list of them."
            )
        out[ind.id] = ind
    return out


def _with_metadata(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None,
    need: Sequence[str] = ("polarity",),
) -> pl.DataFrame:
    """Add indicator metadata columns (measure, multiplier, polarity, floor, target).

    Columns already in ``frame`` win: a caller may set, say, ``polarity`` per row. Without
    ``indicators`` the needed columns must already be there.
    """
    mapping = _as_indicator_map(indicators)
    absent = [c for c in META_COLUMNS if c not in frame.columns]
    if mapping is not None and absent:
        _require(frame, ["indicator_id"], "add the indicator_id column, or pass the metadata as columns.")
        ids = frame.get_column("indicator_id").unique().drop_nulls().to_list()
        unknown = sorted(i for i in ids if i not in mapping)
        if unknown:
            rows, total = _row_keys(frame, frame.get_column("indicator_id").is_in(unknown))
            raise IndicatorError(
                problem("indicator_id", f"holds id(s) with no definition in indicators= ({', '.join(unknown[:5])})",
                        rows=rows, total=total, fix="pass every indicator's definition in indicators= (a mapping id -> Indicator).")
            )
        meta = pl.DataFrame(
            {
                "indicator_id": list(mapping),
                "measure": [i.measure for i in mapping.values()],
                "multiplier": [float(i.multiplier) for i in mapping.values()],
                "polarity": [i.polarity for i in mapping.values()],
                "floor": [None if i.floor is None else float(i.floor) for i in mapping.values()],
                "target": [None if i.target is None else float(i.target) for i in mapping.values()],
            },
            schema={"indicator_id": pl.String, "measure": pl.String, "multiplier": pl.Float64,
                    "polarity": pl.String, "floor": pl.Float64, "target": pl.Float64},
        ).select("indicator_id", *absent)
        frame = frame.join(meta, on="indicator_id", how="left", maintain_order="left")
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"column(s) {', '.join(map(repr, missing))} needed but absent.\n"
            "Fix: pass indicators= (a mapping id -> Indicator) so the metadata can be looked up, "
            "or add the column(s) to the frame."
        )
    if "polarity" in frame.columns and "polarity" in need:
        bad = frame.get_column("polarity").is_not_null() & ~frame.get_column("polarity").is_in(list(POLARITIES))
        if bad.any():
            rows, total = _row_keys(frame, bad)
            raise DataError(problem("polarity", "holds unknown polarities", rows=rows, total=total,
                                    fix=f"use one of {', '.join(POLARITIES)}."))
    return frame


def _unpack(data: Any, indicators: Any, areas: Any) -> tuple[pl.DataFrame, Any, Any]:
    """A Dataset (``.values``, ``.indicators``, ``.areas``) or a values frame + indicators."""
    if hasattr(data, "values") and isinstance(getattr(data, "values", None), pl.DataFrame):
        from publicservices.comparison import comparison_values

        indicators = indicators if indicators is not None else getattr(data, "indicators", None)
        areas = areas if areas is not None else getattr(data, "areas", None)
        # Each row gets its comparable set and role: benchmarks (the nation, regions) are
        # repeated into every set so each comparison finds its benchmark.
        values = comparison_values(data.values, areas)[0] if areas is not None else data.values
        return values, indicators, areas
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if not isinstance(data, pl.DataFrame):
        raise SchemaError(
            f"expected a Dataset or a Polars values frame, got {type(data).__name__}.\n"
            "Fix: pass publicservices.Dataset(...) or a pl.DataFrame with indicators= definitions."
        )
    # A plain frame is held to the values contract at the door, as a Dataset's values are:
    # its wrong types, NaN, implausible magnitudes or duplicated keys are named there, never
    # met as a raw exception deep in a statistic.
    from publicservices.frame import validate_areas, validate_values  # the door sits above stats: imported on use

    return validate_values(data), indicators, (validate_areas(areas) if areas is not None else None)


def _normal_cdf(expr: pl.Expr) -> pl.Expr:
    """Standard normal CDF of an expression (SciPy's ``ndtr``), nulls kept."""

    def ndtr(s: pl.Series) -> pl.Series:
        from scipy.special import ndtr as _ndtr

        return pl.Series(s.name, _ndtr(s.cast(pl.Float64).to_numpy()), dtype=pl.Float64).fill_nan(None)

    return expr.map_batches(ndtr, return_dtype=pl.Float64, is_elementwise=True)


# -- the benchmark ----------------------------------------------------------------------------


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
    _require(frame, ["value"], "compute values first (add_intervals) or supply a value column.")
    frame = _ensure_cols(frame)
    fam = _family_keys(frame)
    if isinstance(benchmark, bool):
        raise SchemaError("benchmark=True is not a benchmark.\nFix: pass 'national', 'region', an area code or a number.")
    if isinstance(benchmark, (int, float)):
        if not math.isfinite(benchmark):
            raise SchemaError(f"benchmark {benchmark!r} is not a finite number.\nFix: pass a finite value.")
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("benchmark_code"), pl.lit(float(benchmark)).alias("benchmark_value"))
    if isinstance(benchmark, Mapping):
        values = {str(k): float(v) for k, v in benchmark.items()}
        _require(frame, ["indicator_id"], "a per-indicator benchmark mapping needs indicator_id.")
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("benchmark_code"),
            pl.col("indicator_id").replace_strict(values, default=None, return_dtype=pl.Float64).alias("benchmark_value"),
        )
    if not isinstance(benchmark, str):
        raise SchemaError(f"benchmark {benchmark!r} is not understood.\nFix: pass 'national', 'region', an area code or a number.")
    _require(frame, ["area_code"], "add the area_code column.")
    parents: list[str] = []
    if areas is not None and not isinstance(areas, pl.DataFrame):
        raise SchemaError(
            f"areas must be the areas frame (area_code, parent_code ...), got {type(areas).__name__}.\n"
            "Fix: pass a pl.DataFrame; to keep only some areas, filter the result instead."
        )
    if areas is not None:
        _require(areas, ["area_code"], "pass an areas frame with area_code (and parent_code).", what="areas")
        if "parent_code" in areas.columns:
            parents = areas.get_column("parent_code").drop_nulls().unique().to_list()
    codes = frame.get_column("area_code")

    def present(code: str) -> bool:
        return bool((codes == code).any())

    if benchmark.lower() == "national":
        code = national
        if code is None and areas is not None and "area_type" in areas.columns:
            nat = areas.filter(pl.col("area_type").str.to_lowercase().is_in(list(_NATIONAL_TYPES))).get_column("area_code")
            nat = [c for c in nat.to_list() if present(c)]
            code = nat[0] if len(nat) == 1 else None
        if code is not None and not present(code):
            raise DataError(
                f"benchmark: the national area {code!r} has no rows in the values frame.\n"
                "Fix: add its rows, pass national=None to pool all areas, or choose another benchmark."
            )
        pool = frame.filter(~pl.col("area_code").is_in(parents + ([code] if code else [])))
        pooled = _aggregate(pool, fam)
        if code is not None:
            row = frame.filter(pl.col("area_code") == code).select(*fam, pl.col("value").alias("_row_value"))
            pooled = pooled.join(row, on=fam, how="full", coalesce=True, nulls_equal=True)
            pooled = pooled.select(*fam, pl.coalesce("_row_value", "benchmark_value").alias("benchmark_value"),
                                   pl.when(pl.col("_row_value").is_not_null()).then(pl.lit(code)).alias("benchmark_code"))
        else:
            pooled = pooled.with_columns(pl.lit(None, dtype=pl.String).alias("benchmark_code"))
        return frame.join(pooled, on=fam, how="left", maintain_order="left", nulls_equal=True)

    if benchmark.lower() in ("region", "parent"):
        if areas is None or "parent_code" not in areas.columns:
            raise SchemaError(
                "benchmark='region' needs the areas frame with a parent_code column.\n"
                "Fix: pass areas= (or use a Dataset whose areas have parent_code)."
            )
        lookup = areas.select("area_code", pl.col("parent_code").alias("_parent"))
        with_parent = frame.join(lookup, on="area_code", how="left", maintain_order="left")
        row = frame.select(*fam, pl.col("area_code").alias("_parent"), pl.col("value").alias("_row_value"))
        pooled = _aggregate(with_parent.filter(pl.col("_parent").is_not_null() & ~pl.col("area_code").is_in(parents)), [*fam, "_parent"])
        out = (
            with_parent.join(row, on=[*fam, "_parent"], how="left", maintain_order="left", nulls_equal=True)
            .join(pooled, on=[*fam, "_parent"], how="left", maintain_order="left", nulls_equal=True)
            .with_columns(
                pl.coalesce("_row_value", "benchmark_value").alias("benchmark_value"),
                pl.col("_parent").alias("benchmark_code"),
            )
        )
        return out.drop("_parent", "_row_value")

    code = benchmark
    if not present(code):
        raise DataError(
            f"benchmark: area {code!r} has no rows in the values frame.\n"
            "Fix: choose an area_code present in the data, 'national', 'region', or a number."
        )
    row = frame.filter(pl.col("area_code") == code).select(*fam, pl.col("value").alias("benchmark_value"))
    return frame.join(row, on=fam, how="left", maintain_order="left", nulls_equal=True).with_columns(
        pl.lit(code).alias("benchmark_code")
    )


# -- categories, probabilities, FDR ---------------------------------------------------------


def _category(high: pl.Expr, low: pl.Expr, polarity: pl.Expr, comparable: pl.Expr) -> pl.Expr:
    """Fingertips words for a significant difference, by polarity (an Enum column)."""

    def word(w: str) -> pl.Expr:
        return pl.lit(w, dtype=COMPARISON)

    return (
        pl.when(~comparable)
        .then(word(NOT_COMPARED))
        .when(high)
        .then(pl.when(polarity == "higher_is_better").then(word("better"))
              .when(polarity == "lower_is_better").then(word("worse")).otherwise(word("higher")))
        .when(low)
        .then(pl.when(polarity == "higher_is_better").then(word("worse"))
              .when(polarity == "lower_is_better").then(word("better")).otherwise(word("lower")))
        .otherwise(word("similar"))
    )


def _safe_ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den with 0/0 -> 0 and x/0 -> +-inf (a degenerate standard error)."""
    return (
        pl.when(den > 0).then(num / den)
        .when(num > 0).then(pl.lit(math.inf))
        .when(num < 0).then(pl.lit(-math.inf))
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


def compare(
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
        >>> out = compare(f, benchmark=45.0, confidence=0.95)
        >>> out.select("comparison", pl.col("prob_worse").round(4)).rows()
        [('worse', 0.9987), ('similar', 0.0797)]
    """
    frame = _with_metadata(frame, indicators, need=("polarity",))
    frame = _ensure_cols(frame)
    levels = _resolve_levels(frame, confidence)
    for _, lo, hi, _ in levels:
        _require(frame, [lo, hi], "compute the limits first (publicservices.stats.intervals.add_intervals) "
                 "or pass confidence= matching the limit columns present.")
    _require_numeric(frame, ["value", "numerator", "denominator", "multiplier", *(c for lv in levels for c in lv[1:3])])
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
    out = out.with_columns(cats)

    # The z statistic reads its standard error from the 95% limits when present.
    ref = next((lv for lv in levels if abs(lv[0] - 0.95) < 1e-12), levels[0])
    z = _z_statistic(ref[1], ref[2], _z(ref[0]))
    out = out.with_columns(pl.when(base_ok).then(z).alias("z"))
    # one tail area serves both columns: Phi(-|z|) is accurate however small it is
    out = out.with_columns(_normal_cdf(-pl.col("z").abs()).alias("_tail"))
    tail, zc = pl.col("_tail"), pl.col("z")
    below = pl.when(zc > 0).then(tail).otherwise(1 - tail)  # P(true value < benchmark)
    above = pl.when(zc < 0).then(tail).otherwise(1 - tail)  # P(true value > benchmark)
    out = out.with_columns(
        (2 * tail).clip(upper_bound=1.0).alias("p_value"),
        pl.when(zc.is_null()).then(None)
        .when(pol == "higher_is_better").then(pl.when(zc == 0).then(0.5).otherwise(below))
        .when(pol == "lower_is_better").then(pl.when(zc == 0).then(0.5).otherwise(above))
        .otherwise(None).alias("prob_worse"),
    ).drop("_tail")
    if fdr is not None:
        out = bh_qvalues(out, "p_value", by=_family_keys(out))
        sig = pl.col("q_value") <= fdr
        out = out.with_columns(
            _category(sig & (pl.col("z") > 0), sig & (pl.col("z") < 0), pol, pl.col("q_value").is_not_null()).alias("comparison_fdr")
        )
    return out


# -- floors and targets ---------------------------------------------------------------------


def floor_status(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    level: float = 0.95,
    floor: float | None = None,
) -> pl.DataFrame:
    """Add ``floor_status``: is each area confidently below its floor standard?

    Method: the same interval logic as the Fingertips benchmark comparison, against the
    floor (a minimum standard) instead of a benchmark. For higher_is_better and no_judgement
    indicators the floor is a minimum: **confidently below** when the upper limit is below
    it, **possibly below** when the interval straddles it (lower < floor <= upper),
    **meets** when the lower limit is at or above it. For lower_is_better indicators the
    floor is a ceiling: **confidently above** (lower limit above it), **possibly above**,
    **meets** (upper limit at or below it). Values without limits (scores) are judged on
    the value alone. Missing value: **not assessed**; no floor: null.

    Parameters:
        frame: values with ``value``, limits at ``level`` and ``floor``/``polarity`` columns
            (or ``indicators``).
        indicators: mapping id -> Indicator supplying ``floor`` and ``polarity``.
        level: which limits decide (0.95 -> ``lower_95``/``upper_95``).
        floor: one floor for every row, overriding the indicators' floors.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"value": [90.0, 94.0, 97.0], "lower_95": [88.0, 92.0, 96.0],
        ...     "upper_95": [92.0, 96.0, 98.0], "polarity": ["higher_is_better"] * 3, "floor": [95.0] * 3})
        >>> floor_status(f).get_column("floor_status").to_list()
        ['confidently below', 'possibly below', 'meets']
    """
    frame = _with_metadata(frame, indicators, need=("polarity",))
    if floor is not None:
        frame = frame.with_columns(pl.lit(float(floor)).alias("floor"))
    _require(frame, ["floor", "value"], "pass indicators= with floors, or floor=.")
    _require_numeric(frame, ["floor", "value", "lower", "upper", "lower_95", "upper_95"])
    c = _fraction(level)
    tag = f"{c * 100:.10g}".replace(".", "")
    lo_name, hi_name = f"lower_{tag}", f"upper_{tag}"
    if lo_name not in frame.columns and "lower" in frame.columns:
        lo_name, hi_name = "lower", "upper"  # a frame computed at one custom level
    v, f = pl.col("value"), pl.col("floor")
    lo = pl.col(lo_name).fill_null(v) if lo_name in frame.columns else v
    hi = pl.col(hi_name).fill_null(v) if hi_name in frame.columns else v
    ceiling = pl.col("polarity") == "lower_is_better"
    status = (
        pl.when(f.is_null()).then(None)
        .when(v.is_null()).then(pl.lit("not assessed"))
        .when(ceiling)
        .then(pl.when(lo > f).then(pl.lit("confidently above")).when(hi > f).then(pl.lit("possibly above")).otherwise(pl.lit("meets")))
        .otherwise(pl.when(hi < f).then(pl.lit("confidently below")).when(lo < f).then(pl.lit("possibly below")).otherwise(pl.lit("meets")))
    )
    return frame.with_columns(status.alias("floor_status"))


def distance_to_target(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    target: float | None = None,
) -> pl.DataFrame:
    """Add ``distance_to_target``: how far each value still has to move to reach the target.

    Method: the signed gap on the value scale, oriented by polarity so that a positive number
    is the improvement still needed and zero or less means the target is met:
    ``target - value`` when higher is better (and for no_judgement), ``value - target``
    when lower is better. Null without a target or a value.

    Parameters:
        frame: values with ``value`` and ``target``/``polarity`` columns (or ``indicators``).
        indicators: mapping id -> Indicator supplying ``target`` and ``polarity``.
        target: one target for every row, overriding the indicators' targets.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"value": [80.0, 12.0], "polarity": ["higher_is_better", "lower_is_better"],
        ...     "target": [90.0, 10.0]})
        >>> distance_to_target(f).get_column("distance_to_target").to_list()
        [10.0, 2.0]
    """
    frame = _with_metadata(frame, indicators, need=("polarity",))
    if target is not None:
        frame = frame.with_columns(pl.lit(float(target)).alias("target"))
    _require(frame, ["target", "value"], "pass indicators= with targets, or target=.")
    _require_numeric(frame, ["target", "value"])
    gap = pl.when(pl.col("polarity") == "lower_is_better").then(pl.col("value") - pl.col("target")).otherwise(
        pl.col("target") - pl.col("value")
    )
    return frame.with_columns(gap.alias("distance_to_target"))


# -- the entry point ------------------------------------------------------------------------


def outcomes(
    data: Any,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
    *,
    benchmark: str | float | Mapping[str, float] = "national",
    confidence: float | Sequence[float] = (0.95, 0.998),
    fdr: float | None = None,
    areas: pl.DataFrame | None = None,
    periods: str | Sequence[str] | None = None,
    national: str | None = None,
) -> pl.DataFrame:
    """How good is each area, and is that real? One row per indicator x area x period.

    Method: the building blocks of this module and its neighbours, applied to every
    indicator at once (no loop over indicators):

    1. values and 95% / 99.8% limits by each indicator's measure
       (:func:`publicservices.stats.intervals.add_intervals`: Wilson, Byar/exact Poisson,
       t, Dobson ...), unless the frame already carries the limit columns;
    2. comparison with the benchmark at each level, ``z``, ``p_value``, ``prob_worse``
       and, with ``fdr``, ``q_value`` / ``comparison_fdr`` (:func:`compare`);
    3. ``floor_status`` at 95% and ``distance_to_target`` (:func:`floor_status`,
       :func:`distance_to_target`);
    4. the Fingertips recent trend over the latest five periods ending at each row
       (:func:`publicservices.stats.trends.recent_trend`) and the change since the previous
       period with its interval (:func:`publicservices.stats.trends.year_on_year`).

    Reference: Fingertips Public Health Technical Guidance (OHID); Benjamini & Hochberg (1995).

    Parameters:
        data: a Dataset (``.values``, ``.indicators``, ``.areas``) or a values frame.
        indicators: mapping id -> Indicator (required with a plain frame).
        benchmark: ``"national"``, ``"region"``, an area code, a number or a mapping
            indicator_id -> number (see :func:`benchmark_values`).
        confidence: the interval levels (default 95% and 99.8%).
        fdr: Benjamini-Hochberg false discovery rate for ``comparison_fdr`` (e.g. 0.05).
        areas: areas frame (for ``benchmark="region"``); a Dataset's own by default.
        periods: period label(s) to return (trends still use earlier periods).
        national: the national area code, when not found from ``areas``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="demo.x", title="X", sector="demo", measure="proportion",
        ...                 multiplier=100, polarity="higher_is_better", floor=40.0)
        >>> f = pl.DataFrame({"indicator_id": ["demo.x"] * 2, "area_code": ["A", "B"],
        ...     "period": ["2023"] * 2, "period_start": [dt.date(2023, 1, 1)] * 2,
        ...     "numerator": [30.0, 52.0], "denominator": [100.0, 100.0], "value": [30.0, 52.0],
        ...     "lower_95": [21.89, 42.32], "upper_95": [39.58, 61.54],  # Wilson limits
        ...     "lower_998": [18.10, 37.07], "upper_998": [45.39, 66.58]})
        >>> outcomes(f, {"demo.x": ind}, benchmark=45.0).select(
        ...     "area_code", "comparison_95", "comparison_998", "floor_status").rows()
        [('A', 'worse', 'similar', 'confidently below'), ('B', 'similar', 'similar', 'meets')]
    """
    values, indicators, areas = _unpack(data, indicators, areas)
    indicators = _as_indicator_map(indicators)
    if indicators is None and not all(c in values.columns for c in ("polarity", "measure")):
        raise SchemaError(
            "outcomes() needs indicator definitions.\n"
            "Fix: pass a Dataset, or indicators= (a mapping id -> publicservices.Indicator) with the values frame."
        )
    _require(values, ["indicator_id", "area_code", "period", "period_start"],
             "pass a Dataset, or validate the frame first with publicservices.validate_values(frame) "
             "(it derives period_start from the period labels).", what="values")
    levels = _resolve_levels(values, confidence)
    if not all(lo in values.columns and hi in values.columns for _, lo, hi, _ in levels):
        if indicators is None:
            raise SchemaError(
                "outcomes(): the frame has no limit columns and no indicator definitions to compute them from.\n"
                "Fix: pass indicators= (a mapping id -> publicservices.Indicator)."
            )
        from publicservices.stats.intervals import add_intervals

        values = add_intervals(values, indicators, confidence=confidence)
    frame = _with_metadata(values, indicators, need=("polarity", "measure", "multiplier"))
    from publicservices.stats.trends import recent_trend, year_on_year

    out = compare(frame, benchmark=benchmark, confidence=confidence, fdr=fdr, areas=areas, national=national)
    floor_level = next((lv[0] for lv in levels if abs(lv[0] - 0.95) < 1e-12), levels[0][0])
    out = floor_status(out, level=floor_level)
    out = distance_to_target(out)
    out = recent_trend(out, confidence=0.998)
    out = year_on_year(out, confidence=confidence)
    if periods is not None:
        wanted = [periods] if isinstance(periods, str) else list(periods)
        unknown = sorted(set(wanted) - set(out.get_column("period").unique().to_list()))
        if unknown:
            raise DataError(f"periods: unknown period label(s) {', '.join(map(repr, unknown))}.\nFix: choose labels present in the data.")
        out = out.filter(pl.col("period").is_in(wanted))
    return out.sort([c for c in ("indicator_id", "area_code", *BREAKDOWNS, "period_start") if c in out.columns], maintain_order=True)
