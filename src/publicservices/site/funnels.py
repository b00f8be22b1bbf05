"""Each indicator's funnel plot and rank intervals, and the comparisons the funnel's limits decide."""

from __future__ import annotations

from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.indicators import Indicator
from publicservices.site.progress import Advance
from publicservices.site.sections import attempt


def funnels_and_ranks(
    public: Dataset,
    results: pl.DataFrame,
    areas: pl.DataFrame,
    chosen: dict[str, Indicator],
    latest: dict[str, str],
    overdispersion: str,
    notes: list[str],
    advance: Advance,
) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """Each indicator's funnel plot and rank intervals in its latest period (a note, not a stop, where one fails)."""
    from publicservices.results import funnel_check, rank_areas

    funnels: dict[str, Any] = {}
    ranks: dict[str, pl.DataFrame] = {}
    latest_rows = public.values.filter(
        pl.col("period") == pl.col("indicator_id").replace_strict(latest, default=None, return_dtype=pl.String)
    )
    by_indicator = latest_rows.partition_by("indicator_id", as_dict=True)
    with_limits = _limits_by_indicator(latest_rows, chosen)
    for ind_id, ind in chosen.items():
        rows = by_indicator.get((ind_id,), latest_rows.clear())
        # The funnel is drawn around the page's benchmark, so its counts agree with every other section.
        bench = (
            results.filter(pl.col("indicator_id") == ind_id, pl.col("period") == latest[ind_id])
            .get_column("benchmark_value")
            .drop_nulls()
            .unique()
        )
        funnels[ind_id] = attempt(
            notes,
            f"{ind.title}: funnel plot",
            funnel_check,
            rows,
            ind,
            areas=areas,
            dataset=public,
            overdispersion=overdispersion,
            **({"target": float(bench[0])} if bench.len() == 1 else {}),
        )
        advance()
        # One ranking everywhere: rank_areas ranks by value with rank intervals, and gives
        # the shrunken estimates beside it (shown for reference; they never set the rank).
        ranked = attempt(
            notes,
            f"{ind.title}: rank intervals",
            rank_areas,
            with_limits.get((ind_id,), rows),
            ind,
            dataset=public,
            n_sims=1000 if areas.height > 1000 else 2000,
        )
        if ranked is not None:
            ranks[ind_id] = ranked.frame
        advance()
    return funnels, ranks


def _limits_by_indicator(rows: pl.DataFrame, chosen: dict[str, Indicator]) -> dict[tuple[Any, ...], pl.DataFrame]:
    """Every indicator's latest rows with the limits ``rank_areas`` would add, in one pass.

    The same rows and arguments as ``rank_areas``' own call, so the ranks are unchanged; one
    pass over all indicators saves a query per indicator. Where that pass fails, each
    indicator goes without, and ``rank_areas`` adds its own limits (and notes its own failure).
    """
    from publicservices.errors import PublicServicesError
    from publicservices.stats import add_intervals

    try:
        return add_intervals(rows, chosen).partition_by("indicator_id", as_dict=True)
    except PublicServicesError:
        return {}


def funnel_comparisons(
    results: pl.DataFrame, funnels: dict[str, Any], chosen: dict[str, Indicator], latest: dict[str, str]
) -> pl.DataFrame:
    """Judge each area of the latest period by the funnel's limits where there is a funnel.

    The funnel is drawn around the page's benchmark and, when areas vary more than chance
    explains (Spiegelhalter 2005), with limits that allow for it; every count on every page
    (headline, map, table, area pages) then comes from the limits shown, never from
    narrower ones. ``comparison_basis`` says which limits judged each row.
    """
    out = results.with_columns(
        pl.when(pl.col("lower_95").is_not_null()).then(pl.lit("confidence interval")).alias("comparison_basis")
    )
    for cid, funnel in funnels.items():
        frame = getattr(funnel, "frame", None)
        if funnel is None or not isinstance(frame, pl.DataFrame) or "position_95" not in frame.columns:
            continue
        ind = chosen[cid]
        up, down = {"higher_is_better": ("better", "worse"), "lower_is_better": ("worse", "better")}.get(
            ind.polarity, ("higher", "lower")
        )
        words = {"above": up, "below": down, "within": "similar"}
        judged = frame.select(
            pl.lit(cid).alias("indicator_id"),
            "area_code",
            *(
                pl.col(f"position_{lv}").cast(pl.String).replace_strict(words, default="not compared").alias(f"_f{lv}")
                for lv in ("95", "998")
                if f"position_{lv}" in frame.columns
            ),
        ).with_columns(pl.lit(latest[cid]).alias("period"))
        out = out.join(judged, on=["indicator_id", "area_code", "period"], how="left")
        basis = (
            "funnel limits allowing for variation beyond chance"
            if any(str(x) != "none" for x in funnel.dispersion.get_column("overdispersion").to_list())
            else "funnel limits"
        )
        for lv in ("95", "998"):
            col, new = f"comparison_{lv}", f"_f{lv}"
            if new in out.columns and col in out.columns:
                out = out.with_columns(
                    pl.when(pl.col(new).is_not_null()).then(pl.col(new).cast(out.schema[col])).otherwise(pl.col(col)).alias(col)
                )
        if "_f95" in out.columns:
            out = out.with_columns(
                pl.when(pl.col("_f95").is_not_null())
                .then(pl.lit(basis))
                .otherwise(pl.col("comparison_basis"))
                .alias("comparison_basis")
            )
        out = out.drop([c for c in ("_f95", "_f998") if c in out.columns])
    return out
