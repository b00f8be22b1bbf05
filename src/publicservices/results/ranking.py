"""Honest league tables: ranks with rank intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from publicservices.display import Column, join_words, plural
from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.keys import present_keys
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
from publicservices.stats.ranking._rankutil import spread_words

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["RankingResult", "rank_areas"]


RANKING_METHOD = (
    'units are ranked by value ({order} first; tied values share the better place, "=1"); each 95% rank interval '
    "and P(top / bottom) comes from {sims} simulations that draw every unit's true value from its counts or its "
    "95% interval (Goldstein & Spiegelhalter 1996)"
)


class RankingResult(Result):
    """A league table with honest ranks: rank by value, 95% rank interval, P(top / bottom 10%).

    ``.frame`` is :func:`publicservices.stats.rank_intervals` output joined with
    each unit's value interval and, from :func:`rank_areas`, its shrunken estimate
    (``shrunk_value``, ``shrunk_lower_95``, ``shrunk_upper_95``, ``shrinkage``), which is shown
    beside the rank but does not set it. Chart: ``league`` (caterpillar plot with rank
    intervals).

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

    def method(self) -> str:
        """The ranking method in one sentence (the same for the notebook, charts and site)."""
        sims = self.extra.get("n_sims")
        text = RANKING_METHOD.format(order="highest" if self._unjudged() else "best", sims=f"{sims:,}" if sims else "repeated")
        return f"Method: {text}."

    def sentences(self) -> list[str]:
        groups = _groups(self._frame)
        out: list[str] = []
        if self.indicator is not None and self._unjudged():
            out.append(f"{self.indicator.title} has no better or worse direction, so rank 1 is the highest value, not the best.")
        for group, rows in groups[:4]:
            out.extend(self._group_sentences(rows, _group_name(group)))
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        out.append(self.method())
        out.extend(self.extra.get("notes", []))
        return out

    def _rank_column(self, f: pl.DataFrame) -> str | None:
        return next((c for c in ("rank", "median_rank") if c in f.columns), None)

    def _group_sentences(self, f: pl.DataFrame, group: str) -> list[str]:
        lo = next((c for c in ("rank_lower_95", "rank_lower") if c in f.columns), None)
        hi = next((c for c in ("rank_upper_95", "rank_upper") if c in f.columns), None)
        rank = self._rank_column(f)
        ranked = f.filter(pl.col(rank).is_not_null()) if rank else f
        n = _n_areas(ranked)
        units = plural(n, "unit") + (f" ({group})" if group else "")
        out: list[str] = []
        if not n or not lo or not hi or not rank:
            out.append(f"{units} ranked by value.")
        else:
            width = ranked.select((pl.col(hi) - pl.col(lo) + 1).median()).item()
            out.append(
                f"{units} ranked by value; the median 95% rank interval covers {width:,.0f} of the {n:,} places, "
                f"so {spread_words(width, n)}."
            )
            out.extend(self._top_bottom(ranked))
            out.append(self._leaders(ranked, rank, lo, hi))
        if "value" in f.columns and rank:
            unranked = f.filter(pl.col("value").is_not_null() & pl.col(rank).is_null()).height
            if unranked:
                out.append(
                    f"{plural(unranked, 'unit')} with a value but no 95% interval or counts "
                    f"{'is' if unranked == 1 else 'are'} not ranked: a rank needs the value's uncertainty."
                )
        return out

    def _top_bottom(self, ranked: pl.DataFrame) -> list[str]:
        if "p_top" not in ranked.columns:
            return []
        share = f"{self.extra.get('top', 0.1):.0%}"
        top_words, bottom_words = (
            (f"in the top {share}", f"in the bottom {share}")
            if not self._unjudged()
            else (f"among the highest {share}", f"among the lowest {share}")
        )
        sure_top = ranked.filter(pl.col("p_top") >= 0.9).height
        sure_bottom = ranked.filter(pl.col("p_bottom") >= 0.9).height if "p_bottom" in ranked.columns else 0
        if not sure_top and not sure_bottom:
            return [f"No unit can be placed {top_words} or {bottom_words} with 90% confidence."]
        if not sure_top:
            return [
                f"No unit can be placed {top_words} with 90% confidence; {plural(sure_bottom, 'unit')} "
                f"can be placed {bottom_words}."
            ]
        tail = f"and {sure_bottom:,} {bottom_words}" if sure_bottom else f"and none {bottom_words}"
        return [f"{plural(sure_top, 'unit')} can be placed {top_words} with 90% confidence, {tail}."]

    def _leaders(self, ranked: pl.DataFrame, rank: str, lo: str, hi: str) -> str:
        # numeric columns: polars types their min and max as any Python value
        best = cast(float, ranked.get_column(rank).min())
        leaders = _with_names(ranked.filter(pl.col(rank) == best), self.areas)
        names = [str(r.get("area_name") or r.get("area_code")) for r in leaders.iter_rows(named=True)]
        low, high = cast(float, leaders.get_column(lo).min()), cast(float, leaders.get_column(hi).max())
        if len(names) == 1:
            first = "The top-ranked unit" if not self._unjudged() else "The unit ranked highest"
            if low == high:
                return f"{first}, {names[0]}, ranks {low:,.0f} in 95% of simulations."
            return f"{first}, {names[0]}, could plausibly rank anywhere from {low:,.0f} to {high:,.0f}."
        shown = join_words([*names[:3], f"{len(names) - 3:,} more"] if len(names) > 3 else names)
        what = "rank" if not self._unjudged() else "the highest value, rank"
        return (
            f"{len(names):,} units share {what} {best:,.0f} ({shown}); between them they could plausibly rank "
            f"anywhere from {low:,.0f} to {high:,.0f}."
        )

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        lo = "rank_lower_95" if "rank_lower_95" in self._frame.columns else "rank_lower"
        hi = "rank_upper_95" if "rank_upper_95" in self._frame.columns else "rank_upper"
        rank = self._rank_column(self._frame) or "rank"
        return [
            Column(rank, "rank", kind="integer"),
            Column(lo, "95% rank interval", kind="integer_interval", upper=hi),
            Column("area_name", "area"),
            Column("area_code", "code"),
            *_group_columns(self._frame),
            Column("value", "value", kind="number", unit=unit),
            Column("lower_95", "95% interval", kind="interval", upper="upper_95"),
            Column("p_top", "P(top 10%)", kind="percent"),
            Column("p_bottom", "P(bottom 10%)", kind="percent"),
            Column("shrunk_value", "shrunken estimate", kind="number", unit=unit),
        ]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        rank = self._rank_column(frame)
        if rank:
            keys = [c.name for c in _group_columns(frame)]
            order = [c for c in ("median_rank", "area_code") if c in frame.columns and c != rank]
            return frame.sort([*keys, rank, *order], nulls_last=True, maintain_order=True), rank
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
    shrunken: bool = True,
    confidence_sets: bool = True,
    **options: Any,
) -> RankingResult:
    """League table for one indicator in one period: ranks by value, with rank intervals.

    The one ranking method -- the notebook, the charts and the published site all use it:

    * ``rank``: the unit's place by its value, 1 = best by the indicator's direction (the
      highest value for one without, ``no_judgement``); tied values share the better place
      ("=1"; competition ranking, the PHE/Fingertips convention).
    * ``rank_lower_95``/``rank_upper_95``, ``median_rank``, ``p_top``, ``p_bottom``: from
      ``n_sims`` simulations in which every unit's true value is drawn from its uncertainty
      and the units ranked (:func:`publicservices.stats.rank_intervals`;
      Goldstein & Spiegelhalter 1996; Marshall & Spiegelhalter 1998): a proportion, rate or
      ratio with counts from its Jeffreys distribution, Beta(x + 1/2, n - x + 1/2) or
      Gamma(x + 1/2, n); any other value from a normal spanning the 95% interval shown
      beside it (supplied limits, or Dobson limits from a DSR's counts; value / sqrt(events)
      where the interval is suppressed). Tied units get identical summaries, and nothing
      depends on row order.
    * ``shrunk_value``, ``shrunk_lower_95``, ``shrunk_upper_95``, ``shrinkage`` (when
      ``shrunken=True``): each unit's fully Bayesian shrunken estimate
      (:func:`publicservices.stats.shrink`), a better guess at its true value,
      shown beside the rank; it does not set the rank.

    Units are ranked within each comparable set and breakdown (sex, age, category): a frame
    with men, women and persons for 10 areas gives 30 rows, three league tables of 10.
    Context indicators (``role="context"``) describe areas and are not ranked. A unit with a
    value but neither a 95% interval nor counts is kept unranked and counted in the summary.

    Parameters:
        data: a Dataset or a values/outcomes frame.
        indicator: the Indicator or its id.
        period: the period (default the latest).
        n_sims, seed: the simulation.
        shrunken: add the shrunken estimates.
        confidence_sets: add ``rank_set_lower``/``rank_set_upper``, 95% confidence sets for
            every unit's rank at once (Mogstad, Romano, Shaikh and Wilhelm 2023), where units
            have intervals: frequentist, simultaneous, and guaranteed to cover; the Bayesian
            intervals above are per unit and rest on the simulation model.
        options: passed to ``rank_intervals`` (``top=``, ``level=``, ``threads=``).
    """
    from publicservices.errors import PublicServicesError
    from publicservices.stats import rank_intervals, shrink

    values, ds = _unpack(data)
    dataset = dataset or ds
    inds = _indicator_map(indicators, dataset)
    ind = indicator if isinstance(indicator, Indicator) else _pick_indicator(values, inds, indicator, "rank_areas")
    if ind is None:
        raise SchemaError("rank_areas needs the indicator's definition.\nFix: pass indicator= an Indicator, or a Dataset.")
    if getattr(ind, "role", "outcome") == "context":
        raise DataError(
            f"{ind.title} ({ind.id}) is a context indicator: it describes areas and is not ranked as a comparison.\n"
            "Fix: rank an outcome indicator; use context indicators to explain or group areas."
        )
    rows = _one(values, "indicator_id", ind.id, "rank_areas") if "indicator_id" in values.columns else values
    rows = _one(rows, "period", period, "rank_areas") if period else _latest(rows)
    if "lower_95" not in rows.columns:
        from publicservices.stats import add_intervals

        rows = add_intervals(rows, {ind.id: ind})
    groups = present_keys(rows)  # comparable set and breakdowns: ranked within, never pooled
    # Each unit's uncertainty is the 95% interval shown beside its value (supplied, or from the counts).
    basis = rows.with_columns(
        *[
            pl.coalesce(pl.col(shown), *([pl.col(given)] if given in rows.columns else [])).alias(given)
            for shown, given in (("lower_95", "lower_ci"), ("upper_95", "upper_ci"))
            if shown in rows.columns
        ]
    )
    keep = [
        c
        for c in (
            "indicator_id",
            "area_code",
            "period",
            "period_start",
            "numerator",
            "denominator",
            "value",
            "se",
            "lower_ci",
            "upper_ci",
        )
        if c in basis.columns and basis.get_column(c).null_count() < basis.height
    ]
    options.setdefault("missing_se", "skip")  # kept unranked, and said so in the summary
    ranks = rank_intervals(basis.select(*keep, *groups), ind, n_sims=n_sims, seed=seed, **options)
    join_on = [c for c in ("indicator_id", "area_code", "period", *groups) if c in ranks.columns and c in rows.columns]
    extra = [c for c in ("lower_95", "upper_95", "comparison_95", "area_name") if c in rows.columns and c not in ranks.columns]
    if extra:
        ranks = ranks.join(rows.select(*join_on, *extra), on=join_on, how="left", maintain_order="left", nulls_equal=True)
    notes: list[str] = []
    if shrunken:
        try:
            shrunk = shrink(basis.select(*keep, *groups), ind, missing_se="skip")
        except PublicServicesError as err:
            notes.append(f"Shrunken estimates could not be computed: {str(err).splitlines()[0]}")
        else:
            on = [c for c in join_on if c in shrunk.columns]
            ranks = ranks.join(
                shrunk.select(
                    *on,
                    pl.col("value").alias("shrunk_value"),
                    pl.col("lower_95").alias("shrunk_lower_95"),
                    pl.col("upper_95").alias("shrunk_upper_95"),
                    "shrinkage",
                ),
                on=on,
                how="left",
                maintain_order="left",
                nulls_equal=True,
            )
            missing = ranks.filter(pl.col("value").is_not_null() & pl.col("shrunk_value").is_null()).height
            if missing:
                notes.append(
                    f"{plural(missing, 'unit')} with a value {'has' if missing == 1 else 'have'} no shrunken "
                    "estimate: shrinkage needs a standard error and at least two such units in the group."
                )
    if confidence_sets:
        ranks, said = _with_confidence_sets(ranks, basis.select(*keep, *groups), ind, groups, seed)
        notes += said
    return RankingResult(
        ranks,
        indicator=ind,
        dataset=dataset,
        indicators=inds,
        areas=areas if areas is not None else getattr(dataset, "areas", None),
        n_sims=n_sims,
        top=options.get("top", 0.1),
        notes=notes,
    )


def _with_confidence_sets(
    ranks: pl.DataFrame, basis: pl.DataFrame, ind: Indicator, groups: list[str], seed: int
) -> tuple[pl.DataFrame, list[str]]:
    """Add ``rank_set_lower``/``rank_set_upper``: 95% confidence sets for every unit's rank at once.

    Method: Mogstad, Romano, Shaikh and Wilhelm (2023), simultaneous sets
    (:func:`publicservices.stats.rank_confidence_sets`): with 95% confidence every
    unit's true rank lies in its set, all at once -- the right reading of a whole league
    table. The Bayesian rank intervals beside them are per unit and depend on the model.
    """
    from publicservices.errors import PublicServicesError
    from publicservices.stats import rank_confidence_sets

    usable = (
        basis.filter(pl.col("value").is_not_null() & pl.col("lower_ci").is_not_null() & pl.col("upper_ci").is_not_null())
        if {"lower_ci", "upper_ci"} <= set(basis.columns)
        else basis.clear()
    )
    if usable.height < 2:
        return ranks.with_columns(
            pl.lit(None, pl.Int64).alias("rank_set_lower"), pl.lit(None, pl.Int64).alias("rank_set_upper")
        ), []
    try:
        sets = rank_confidence_sets(
            usable,
            ind,
            kind="simultaneous",
            n_boot=1000,
            seed=seed,
            by=[c for c in ("indicator_id", "period", *groups) if c in usable.columns],
        )
    except PublicServicesError as err:
        return ranks, [f"Confidence sets for ranks could not be computed: {str(err).splitlines()[0]}"]
    on = [c for c in ("indicator_id", "area_code", "period", *groups) if c in sets.columns and c in ranks.columns]
    ranks = ranks.join(
        sets.select(*on, pl.col("rank_lower").alias("rank_set_lower"), pl.col("rank_upper").alias("rank_set_upper")),
        on=on,
        how="left",
        maintain_order="left",
        nulls_equal=True,
    )
    width = (ranks.get_column("rank_set_upper") - ranks.get_column("rank_set_lower") + 1).drop_nulls()
    if not width.len():
        return ranks, []
    n = int(cast(int | None, sets.get_column("n_ranked").max()) or 0)
    return ranks, [
        f"With 95% confidence for every unit at once (confidence sets for ranks, Mogstad et al. 2023), the median "
        f"unit could hold any of {plural(int(cast(float, width.median())), 'place')} out of {n}."
    ]
