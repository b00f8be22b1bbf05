"""Honest league tables: ranks with rank intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, plural
from publicservices.errors import SchemaError
from publicservices.indicators import Indicator
from publicservices.results._base import (
    IndicatorsLike,
    Result,
    _indicator_map,
    _latest,
    _one,
    _pick_indicator,
    _unpack,
    _with_names,
)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["RankingResult", "rank_areas"]



class RankingResult(Result):
    """A league table with honest ranks: median rank, 95% rank interval, P(top / bottom 10%).

    ``.frame`` is :func:`publicservices.stats.shrinkage.rank_intervals` output joined with
    each unit's value interval. Chart: ``league`` (caterpillar plot with rank intervals).
    """

    kind = "ranking"
    title = "League table"
    default_chart = "league"

    def __init__(self, frame: pl.DataFrame, *, indicator: Indicator | None = None, **kwargs: Any) -> None:
        super().__init__(frame, **kwargs)
        self.indicator = indicator or _pick_indicator(frame, self.indicators, None)

    def _title(self) -> str:
        return f"League table: {self.indicator.title}" if self.indicator else self.title

    def sentences(self) -> list[str]:
        f = self._frame
        lo = next((c for c in ("rank_lower_95", "rank_lower") if c in f.columns), None)
        hi = next((c for c in ("rank_upper_95", "rank_upper") if c in f.columns), None)
        ranked = f.filter(pl.col("median_rank").is_not_null()) if "median_rank" in f.columns else f
        n = ranked.height
        if not n or not lo or not hi:
            return [f"{plural(n, 'unit')} ranked."]
        width = ranked.select((pl.col(hi) - pl.col(lo)).median()).item()
        out = [f"{plural(n, 'unit')} ranked; the median 95% rank interval spans {width:,.0f} places, so most ranks are uncertain."]
        if "p_top" in f.columns:
            sure_top = ranked.filter(pl.col("p_top") >= 0.9).height
            sure_bottom = ranked.filter(pl.col("p_bottom") >= 0.9).height if "p_bottom" in f.columns else 0
            out.append(f"Only {sure_top:,} can be placed in the top 10% with 90% confidence, and {sure_bottom:,} in the bottom 10%.")
        top = _with_names(ranked.sort("median_rank").head(1), self.areas).row(0, named=True)
        name = top.get("area_name") or top.get("area_code")
        if top[lo] == top[hi]:
            out.append(f"The top-ranked unit, {name}, ranks {top[lo]:,.0f} in 95% of simulations.")
        else:
            out.append(f"The top-ranked unit, {name}, could plausibly rank anywhere from {top[lo]:,.0f} to {top[hi]:,.0f}.")
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        lo = "rank_lower_95" if "rank_lower_95" in self._frame.columns else "rank_lower"
        hi = "rank_upper_95" if "rank_upper_95" in self._frame.columns else "rank_upper"
        return [Column("median_rank", "rank", kind="integer"), Column(lo, "95% rank interval", kind="integer_interval", upper=hi),
                Column("area_name", "area"), Column("area_code", "code"), Column("value", "value", kind="number", unit=unit),
                Column("lower_95", "95% interval", kind="interval", upper="upper_95"),
                Column("p_top", "P(top 10%)", kind="percent"), Column("p_bottom", "P(bottom 10%)", kind="percent")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "median_rank" in frame.columns:
            return frame.sort("median_rank", nulls_last=True, maintain_order=True), "median_rank"
        return frame, None

    def _chart_league(self, **options: Any) -> Any:
        from publicservices.charts import league_table

        return league_table(_with_names(self._frame, self.areas), indicator=self.indicator, **options)


def rank_areas(
    data: Any,
    indicator: str | Indicator | None = None,
    *,
    period: str | None = None,
    indicators: IndicatorsLike = None,
    areas: pl.DataFrame | None = None,
    dataset: Dataset | None = None,
    n_sims: int = 2000,
    seed: int = 0,
    **options: Any,
) -> RankingResult:
    """League table with rank intervals for one indicator in one period.

    Method: :func:`publicservices.stats.shrinkage.rank_intervals` -- each unit's true value
    drawn from its sampling distribution ``n_sims`` times and ranked (Goldstein &
    Spiegelhalter 1996); values and 95% intervals from the outcome statistics.

    Parameters:
        data: a Dataset or a values/outcomes frame.
        indicator: the Indicator or its id.
        period: the period (default the latest).
        n_sims, seed: the simulation.
    """
    from publicservices.stats.shrinkage import rank_intervals

    values, ds = _unpack(data)
    dataset = dataset or ds
    inds = _indicator_map(indicators, dataset)
    ind = indicator if isinstance(indicator, Indicator) else _pick_indicator(values, inds, indicator)
    if ind is None:
        raise SchemaError("rank_areas needs the indicator's definition.\nFix: pass indicator= an Indicator, or a Dataset.")
    rows = _one(values, "indicator_id", ind.id) if "indicator_id" in values.columns else values
    rows = _one(rows, "period", period) if period else _latest(rows)
    if "lower_95" not in rows.columns:
        from publicservices.stats.intervals import add_intervals

        rows = add_intervals(rows, {ind.id: ind})
    keep = [c for c in ("indicator_id", "area_code", "period", "period_start", "numerator", "denominator", "value",
                        "lower_ci", "upper_ci") if c in rows.columns and rows.get_column(c).null_count() < rows.height]
    ranks = rank_intervals(rows.select(keep), ind, n_sims=n_sims, seed=seed, **options)
    join_on = [c for c in ("indicator_id", "area_code", "period") if c in ranks.columns and c in rows.columns]
    extra = [c for c in ("lower_95", "upper_95", "comparison_95", "area_name") if c in rows.columns and c not in ranks.columns]
    if extra:
        ranks = ranks.join(rows.select(*join_on, *extra), on=join_on, how="left", maintain_order="left")
    return RankingResult(ranks, indicator=ind, dataset=dataset, indicators=inds,
                         areas=areas if areas is not None else getattr(dataset, "areas", None))


