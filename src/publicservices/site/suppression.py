"""Small counts hidden before any statistic is computed, and every figure of a hidden row blanked."""

from __future__ import annotations

from typing import Any

import polars as pl

from publicservices.indicators import Indicator

# What suppression blanks on a hidden row, beyond the counts: every per-area figure.
BLANKED = (
    "value",
    "lower_ci",
    "upper_ci",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "z",
    "p_value",
    "prob_worse",
    "distance_to_target",
    "yoy_change",
    "yoy_lower_95",
    "yoy_upper_95",
    "yoy_lower_998",
    "yoy_upper_998",
    "trend_chi2",
)


def blank_hidden(results: pl.DataFrame) -> pl.DataFrame:
    """Every figure of a hidden row blank, and its comparisons ``not compared``."""
    if "suppressed" not in results.columns:
        results = results.with_columns(pl.lit(None, pl.String).alias("suppressed"))
    gone = pl.col("suppressed").is_not_null()
    blank = [c for c in ("comparison_95", "comparison_998") if c in results.columns]
    return results.with_columns(
        *(pl.when(gone).then(pl.lit("not compared")).otherwise(pl.col(c)).cast(results.schema[c]).alias(c) for c in blank),
        *(
            pl.when(gone).then(None).otherwise(pl.col(c)).alias(c)
            for c in (*BLANKED, "floor_status", "recent_trend")
            if c in results.columns
        ),
    )


def suppress_small_counts(
    values: pl.DataFrame,
    areas: pl.DataFrame,
    chosen: dict[str, Indicator],
    threshold: int,
    suppress: Any,
    comparisons: dict[str, tuple[str, str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hide small counts, small complements of proportions and small cohorts of means (with
    secondary cells) on the area rows *of the input*; return the values and the report.

    Every measure goes through: rows without counts are left as they are, a mean or score
    over fewer people than the threshold is hidden (one pupil's score), and a proportion
    whose complement is small is hidden (2,246 of 2,247 reveals the one). Hidden rows keep
    their keys with every figure blank and ``suppressed == "hidden"``, so the statistics
    computed afterwards never see them. Benchmark rows (national, regional) are published
    totals and are not suppressed.

    Cells are protected once per indicator, area and period, whichever comparisons show
    them, and in three kinds of group that a reader could subtract: the region, the whole
    set, and a shire county with its districts (overlapping geographies: the county's
    total minus its visible districts must not give a hidden district).
    """
    empty = pl.DataFrame(schema={"reason": pl.String, "rows": pl.Int64, "groups": pl.Int64})
    marked = values.with_columns(pl.lit(None, pl.String).alias("suppressed"))
    if threshold <= 0:
        return marked, empty
    real = {cid: ind for cid, (ind, _) in (comparisons or {}).items()}
    measures = {real.get(cid, cid): ind.measure for cid, ind in chosen.items()}
    # Disclosure protects counts: rows that publish no count (a value alone, or a missing
    # cell of a values-only file) can reveal none, and must not set off secondary suppression.
    counted = pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null()
    is_unit = (pl.col("area_role") != "benchmark" if "area_role" in values.columns else pl.lit(True)) & counted
    marked = marked.with_columns(pl.col("indicator_id").replace(real).alias("_real"))
    cell_key = ["_real", "area_code", "period"]
    upper = pl.col("upper_tier_code") if "upper_tier_code" in areas.columns else pl.col("area_code")
    cells = (
        marked.filter(is_unit)
        .unique(cell_key, keep="first", maintain_order=True)
        .join(
            areas.select(
                "area_code",
                pl.col("parent_code").fill_null("(none)").alias("_group"),
                upper.fill_null(pl.col("area_code")).alias("_upper"),
            ),
            on="area_code",
            how="left",
        )
        .with_columns(
            pl.col("_group").fill_null("(none)"),
            pl.col("_upper").fill_null(pl.col("area_code")),
            pl.col("_real").replace_strict(measures, default=None, return_dtype=pl.String).alias("measure"),
        )
    )
    mask = [c for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci") if c in cells.columns]
    hidden, report = suppress(
        cells, threshold, mask=mask, by=[["_real", "period", "_group"], ["_real", "period"], ["_real", "period", "_upper"]]
    )
    gone = hidden.filter(pl.col("suppressed").is_not_null()).select(*cell_key, pl.col("suppressed").alias("_hidden"))
    out = marked.join(gone, on=cell_key, how="left", maintain_order="left")
    out = out.with_columns(
        *(pl.when(pl.col("_hidden").is_not_null()).then(None).otherwise(pl.col(c)).alias(c) for c in mask),
        pl.col("_hidden").alias("suppressed"),
    ).drop("_hidden", "_real")
    return out, report.select("reason", "rows", "groups")
