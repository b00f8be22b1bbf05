"""Honest league tables: ranks with rank intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, plural
from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.results._base import (
    IndicatorsLike,
    Result,
    _group_columns,
    _group_name,
    _groups,
    _indicator_map,
    _latest,
    _n_areas,
    _one,
    _one_group,
    _pick_indicator,
    _unpack,
    _with_names,
)
from publicservices.stats._keys import present_keys

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["RankingResult", "rank_areas"]



class RankingResult(Result):
    """A league table with honest ranks: median rank, 95% rank interval, P(top / bottom 10%).

    ``.frame`` is :func:`publicservices.stats.shrinkage.rank_intervals` output joined with
    each unit's value interval. Chart: ``league`` (caterpillar plot with rank intervals).

    Units are ranked within their group (comparable set, sex, age, category), never across
    groups; the group columns stay on every row. Rank 1 is the best when the indicator has a
    direction, and simply the highest value when it has none (``no_judgement``).
    """

    kind = "ranking"
    title = "League table"
    default_chart = "league"

    def __init__(self, frame: pl.DataFrame, *, indicator: Indicator | None = None, **kwargs: Any) -> None:
        super().__init__(frame, **kwargs)
        self.indicator = indicator or _pick_indicator(frame, self.indicators, None)

    def _title(self) -> str:
        return f"League table: {self.indicator.title}" if self.indicator else self.title

    def _unjudged(self) -> bool:
        """The indicator has no direction: ranks order values, they do not judge them."""
        return self.indicator is not None and self.indicator.polarity == "no_judgement"

    def sentences(self) -> list[str]:
        groups = _groups(self._frame)
        out: list[str] = []
        if self._unjudged():
            out.append(f"{self.indicator.title} has no better or worse direction, so rank 1 is the highest value, not the best.")
        for group, rows in groups[:4]:
            out.extend(self._group_sentences(rows, _group_name(group)))
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        return out

    def _group_sentences(self, f: pl.DataFrame, group: str) -> list[str]:
        lo = next((c for c in ("rank_lower_95", "rank_lower") if c in f.columns), None)
        hi = next((c for c in ("rank_upper_95", "rank_upper") if c in f.columns), None)
        ranked = f.filter(pl.col("median_rank").is_not_null()) if "median_rank" in f.columns else f
        n = _n_areas(ranked)
        units = plural(n, "unit") + (f" ({group})" if group else "")
        if not n or not lo or not hi:
            return [f"{units} ranked."]
        width = ranked.select((pl.col(hi) - pl.col(lo)).median()).item()
        out = [f"{units} ranked; the median 95% rank interval spans {width:,.0f} places, so most ranks are uncertain."]
        top_words, bottom_words, first = (("in the top 10%", "in the bottom 10%", "The top-ranked unit") if not self._unjudged()
                                          else ("among the highest 10%", "among the lowest 10%", "The unit ranked highest"))
        if "p_top" in f.columns:
            sure_top = ranked.filter(pl.col("p_top") >= 0.9).height
            sure_bottom = ranked.filter(pl.col("p_bottom") >= 0.9).height if "p_bottom" in f.columns else 0
            out.append(f"Only {sure_top:,} can be placed {top_words} with 90% confidence, and {sure_bottom:,} {bottom_words}.")
        top = _with_names(ranked.sort("median_rank").head(1), self.areas).row(0, named=True)
        name = top.get("area_name") or top.get("area_code")
        if top[lo] == top[hi]:
            out.append(f"{first}, {name}, ranks {top[lo]:,.0f} in 95% of simulations.")
        else:
            out.append(f"{first}, {name}, could plausibly rank anywhere from {top[lo]:,.0f} to {top[hi]:,.0f}.")
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        lo = "rank_lower_95" if "rank_lower_95" in self._frame.columns else "rank_lower"
        hi = "rank_upper_95" if "rank_upper_95" in self._frame.columns else "rank_upper"
        return [Column("median_rank", "rank", kind="integer"), Column(lo, "95% rank interval", kind="integer_interval", upper=hi),
                Column("area_name", "area"), Column("area_code", "code"), *_group_columns(self._frame),
                Column("value", "value", kind="number", unit=unit),
                Column("lower_95", "95% interval", kind="interval", upper="upper_95"),
                Column("p_top", "P(top 10%)", kind="percent"), Column("p_bottom", "P(bottom 10%)", kind="percent")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "median_rank" in frame.columns:
            keys = [c.name for c in _group_columns(frame)]
            return frame.sort([*keys, "median_rank"], nulls_last=True, maintain_order=True), "median_rank"
        return frame, None

    def _chart_league(self, breakdown: Mapping[str, Any] | str | None = None, **options: Any) -> Any:
        from publicservices.charts import league_table

        return league_table(_with_names(_one_group(self._frame, breakdown), self.areas), indicator=self.indicator, **options)


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

    Units are ranked within each comparable set and breakdown (sex, age, category): a frame
    with men, women and persons for 10 areas gives 30 rows, three league tables of 10.
    Rank 1 is the best by the indicator's direction; for an indicator without one
    (``no_judgement``) rank 1 is the highest value. Context indicators (``role="context"``)
    describe areas and are not ranked.

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
    if getattr(ind, "role", "outcome") == "context":
        raise DataError(f"{ind.title} ({ind.id}) is a context indicator: it describes areas and is not ranked as a comparison.\n"
                        "Fix: rank an outcome indicator; use context indicators to explain or group areas.")
    rows = _one(values, "indicator_id", ind.id) if "indicator_id" in values.columns else values
    rows = _one(rows, "period", period) if period else _latest(rows)
    if "lower_95" not in rows.columns:
        from publicservices.stats.intervals import add_intervals

        rows = add_intervals(rows, {ind.id: ind})
    groups = present_keys(rows)  # comparable set and breakdowns: ranked within, never pooled
    keep = [c for c in ("indicator_id", "area_code", "period", "period_start", "numerator", "denominator", "value",
                        "lower_ci", "upper_ci") if c in rows.columns and rows.get_column(c).null_count() < rows.height]
    ranks = rank_intervals(rows.select(*keep, *groups), ind, n_sims=n_sims, seed=seed, **options)
    join_on = [c for c in ("indicator_id", "area_code", "period", *groups) if c in ranks.columns and c in rows.columns]
    extra = [c for c in ("lower_95", "upper_95", "comparison_95", "area_name") if c in rows.columns and c not in ranks.columns]
    if extra:
        ranks = ranks.join(rows.select(*join_on, *extra), on=join_on, how="left", maintain_order="left", nulls_equal=True)
    return RankingResult(ranks, indicator=ind, dataset=dataset, indicators=inds,
                         areas=areas if areas is not None else getattr(dataset, "areas", None))


