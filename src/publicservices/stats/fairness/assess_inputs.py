"""The inputs of :func:`~publicservices.stats.fairness.assess.assess_fairness`, checked and laid out one row per area."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, IndicatorError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats.fairness.variation import standard_error

__all__ = ["BREAKDOWN_COLUMNS", "COUNT_MEASURES", "prepare_areas", "resolve_inputs"]

BREAKDOWN_COLUMNS: tuple[str, ...] = ("sex", "age", "category_type", "category")
COUNT_MEASURES: tuple[str, ...] = ("proportion", "rate", "ratio")
_OPTIONAL = {
    "period_start": pl.Date,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "value": pl.Float64,
    "lower_ci": pl.Float64,
    "upper_ci": pl.Float64,
}


def _as_frame(data: Any, name: str) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    try:
        return pl.DataFrame(data)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a frame"
        raise SchemaError(
            f"{name}: expected a Polars DataFrame (or a Dataset), got {type(data).__name__}.\nFix: pass a Polars frame."
        ) from exc


def _numeric(frame: pl.DataFrame, columns: Sequence[str], name: str) -> pl.DataFrame:
    """Cast numeric columns to Float64, naming the column and rows that are not numbers."""
    out = []
    for c in columns:
        if c not in frame.columns:
            continue
        if frame.schema[c].is_numeric() or frame.schema[c] == pl.Null:
            out.append(pl.col(c).cast(pl.Float64))
            continue
        cast = frame.get_column(c).cast(pl.Float64, strict=False)
        bad = frame.filter(cast.is_null() & frame.get_column(c).is_not_null())
        if bad.height:
            keys = [k for k in ("indicator_id", "area_code", "period") if k in frame.columns]
            rows = [" | ".join(str(v) for v in r) for r in bad.select(keys or [c]).head(5).rows()]
            raise SchemaError(
                problem(
                    c,
                    "holds values that are not numbers",
                    rows=rows,
                    total=bad.height,
                    fix=f"{name}: make {c!r} numeric (blank for missing).",
                )
            )
        out.append(pl.lit(cast).alias(c))
    return frame.with_columns(out) if out else frame


def resolve_inputs(data: Any, indicators: Any, areas: Any) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, Indicator]]:
    """Values, areas and definitions from a Dataset or from frames + a mapping."""
    defs: dict[str, Indicator] = {}
    selection: list[str] | None = None
    is_dataset = not isinstance(data, (pl.DataFrame, pl.LazyFrame)) and hasattr(data, "values") and hasattr(data, "indicators")
    if is_dataset:
        from publicservices.comparison import comparison_values, units_only

        if areas is None:
            areas = getattr(data, "areas", None)
        # National and regional rows are benchmarks, never areas of the lottery; each
        # comparable set (upper tier, lower tier, police force areas ...) is analysed apart.
        laid, _ = comparison_values(_as_frame(data.values, "values"), areas)
        values = units_only(laid).drop("area_role")
        defs.update(dict(data.indicators))
    else:
        from publicservices.frame import validate_values  # the door sits above stats: imported on use

        # A plain frame is held to the values contract at the door, as a Dataset's values are;
        # periods with no start date are ordered by their labels (see the trends below).
        values = validate_values(_as_frame(data, "values"), ordered=False)
    if isinstance(indicators, str):
        selection = [indicators]
    elif isinstance(indicators, Mapping):
        defs.update(indicators)
    elif indicators is not None:
        items = list(indicators)
        if all(isinstance(i, Indicator) for i in items):
            defs.update({i.id: i for i in items})
        elif all(isinstance(i, str) for i in items):
            selection = items
        else:
            raise IndicatorError(
                "indicators= must be a mapping id -> Indicator, Indicators, or indicator ids.\nFix: pass e.g. {ind.id: ind}."
            )
    missing = [c for c in ("indicator_id", "area_code", "period") if c not in values.columns]
    if missing:
        raise SchemaError(
            f"values: required column(s) {missing} missing (have {values.columns}).\nFix: follow the values contract: indicator_id, area_code, period, ..."
        )
    values = values.with_columns([pl.lit(None, dtype=dt).alias(c) for c, dt in _OPTIONAL.items() if c not in values.columns])
    values = _numeric(values, ["numerator", "denominator", "value", "lower_ci", "upper_ci"], "values")
    if (
        values.select(pl.col("value").is_null() & (pl.col("numerator").is_null() | pl.col("denominator").is_null()))
        .to_series()
        .all()
    ):
        if values.height:
            raise SchemaError(
                "values: no row has a value or a numerator and denominator.\nFix: supply value, or numerator and denominator."
            )
    present = values.get_column("indicator_id").unique(maintain_order=True).to_list()
    if selection is not None:
        unknown = [i for i in selection if i not in present]
        if unknown:
            raise IndicatorError(f"indicator(s) {unknown} have no rows in the values.\nFix: choose among {present[:10]}.")
        values = values.filter(pl.col("indicator_id").is_in(selection))
        present = selection
    undefined = [i for i in present if i not in defs]
    if undefined:
        raise IndicatorError(
            f"no definition for indicator(s) {undefined[:5]}{' ...' if len(undefined) > 5 else ''}: fairness needs each "
            "indicator's measure and multiplier.\nFix: pass indicators={id: Indicator(...)} or a Dataset."
        )
    area_frame = _as_frame(areas, "areas") if areas is not None else None
    if area_frame is not None:
        from publicservices.frame import validate_areas

        area_frame = validate_areas(area_frame)  # an areas frame is checked at the door, as a Dataset's is
    if area_frame is not None:
        area_frame = _numeric(area_frame, [c for c in ("population", "deprivation") if c in area_frame.columns], "areas")
        if "area_code" not in area_frame.columns:
            raise SchemaError("areas: column 'area_code' is missing.\nFix: the areas frame needs area_code.")
        dup = area_frame.filter(pl.col("area_code").is_duplicated())
        if dup.height:
            codes = dup.get_column("area_code").unique(maintain_order=True).head(5).to_list()
            raise DataError(f"areas: column 'area_code' is duplicated in {dup.height:,} rows: {codes}.\nFix: one row per area.")
    return values, area_frame, {i: defs[i] for i in present}


def prepare_areas(
    values: pl.DataFrame,
    areas: pl.DataFrame | None,
    defs: dict[str, Indicator],
    *,
    by: str | None,
    deprivation: str,
    population: str,
) -> tuple[pl.DataFrame, list[str], dict[str, bool], pl.DataFrame]:
    """One row per area x group with value, se, weights, deprivation, region; parent rows counted."""
    breakdown = [
        c
        for c in ("comparable_set", *BREAKDOWN_COLUMNS)
        if c in values.columns and values.get_column(c).null_count() < values.height
    ]
    keys = ["indicator_id", "period", *breakdown]
    meta = pl.DataFrame(
        {
            "indicator_id": list(defs),
            "measure": [d.measure for d in defs.values()],
            "multiplier": [d.multiplier for d in defs.values()],
        },
        schema={"indicator_id": pl.String, "measure": pl.String, "multiplier": pl.Float64},
    )
    frame = values.join(meta, on="indicator_id", how="left")
    have = {"population": False, "deprivation": False, "region": False}
    attrs = []
    if areas is not None:
        for src, dst, flag in (
            (population, "__pop", "population"),
            (deprivation, "__dep", "deprivation"),
            (by, "__region", "region"),
        ):
            if src is not None and src in areas.columns:
                attrs.append(pl.col(src).alias(dst))
                have[flag] = areas.get_column(src).null_count() < areas.height
        if attrs:
            frame = frame.join(areas.select(pl.col("area_code"), *attrs), on="area_code", how="left")
    # rows for areas that are parents of other areas (regions, the nation) would count twice
    parents = (
        areas.get_column(by).drop_nulls().unique()
        if areas is not None and by is not None and by in areas.columns
        else pl.Series([], dtype=pl.String)
    )
    frame = frame.with_columns(pl.col("area_code").is_in(parents.cast(pl.String).implode()).alias("__parent"))
    parent_rows = frame.filter(pl.col("__parent")).group_by(keys).agg(pl.len().cast(pl.Int64).alias("n_parent_areas"))
    frame = frame.filter(~pl.col("__parent")).drop("__parent")
    for dst, dt in (("__pop", pl.Float64), ("__dep", pl.Float64), ("__region", pl.String)):
        if dst not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dt).alias(dst))
    frame = frame.with_columns(
        pl.col("__pop").cast(pl.Float64), pl.col("__dep").cast(pl.Float64), pl.col("__region").cast(pl.String)
    )
    mult = pl.col("multiplier")
    num, den = pl.col("numerator"), pl.col("denominator")
    counts_ok = num.is_not_null() & den.is_not_null() & (den > 0)
    y = pl.coalesce(pl.col("value"), pl.when(counts_ok).then(num / den * mult))
    frame = frame.with_columns(y.alias("__y"), counts_ok.alias("__counts"))
    is_count = pl.col("measure").is_in(list(COUNT_MEASURES))
    has_y = pl.col("__y").is_not_null() & pl.col("__y").is_finite()
    pooled = num.filter(pl.col("__counts") & has_y).sum() / den.filter(pl.col("__counts") & has_y).sum() * mult.first()
    wmean = (
        pl.when(pl.col("__pop").filter(has_y).is_not_null().all() & (pl.col("__pop").filter(has_y).sum() > 0))
        .then((pl.col("__y") * pl.col("__pop")).filter(has_y).sum() / pl.col("__pop").filter(has_y).sum())
        .otherwise(pl.col("__y").filter(has_y).mean())
    )
    national = pl.when(is_count.first() & pl.col("__counts").filter(has_y).any()).then(pooled).otherwise(wmean)
    frame = frame.with_columns(national.over(keys).alias("__national"))
    se = pl.lit(None, dtype=pl.Float64)
    for m in ("proportion", "rate", "ratio", "dsr", "mean", "score"):
        se = (
            pl.when(pl.col("measure") == m)
            .then(standard_error(m, multiplier=mult, reference="__national", value="__y"))
            .otherwise(se)
        )
    sii_weight = pl.when(is_count & pl.col("__counts")).then(den).otherwise(pl.col("__pop")).cast(pl.Float64)
    # With neither counts nor populations (a values-only file), the gradient is across areas,
    # each weighted equally, rather than not at all; the note says so.
    unweighted = sii_weight.is_null().all().over(keys)
    frame = frame.with_columns(
        se.alias("__se"),
        pl.when(unweighted).then(pl.lit(1.0)).otherwise(sii_weight).alias("__siiw"),
        unweighted.alias("__equal_weights"),
    )
    return frame, keys, have, parent_rows
