"""Outcomes: how good is each area against the benchmark, and is that real?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.results._base import (
    IndicatorsLike,
    Result,
    _counts,
    _first_area,
    _group_columns,
    _group_name,
    _groups,
    _indicator_map,
    _latest,
    _n_areas,
    _one,
    _one_group,
    _pick_indicator,
    _title_of,
    _unit_of,
    _unpack,
    _with_names,
    _with_titles,
)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["OutcomeResult", "compare"]


_JUDGED_WORDS = {
    "higher_is_better": ("better", "worse"),
    "lower_is_better": ("better", "worse"),
    "no_judgement": ("higher", "lower"),
}


class OutcomeResult(Result):
    """How good is each area against the benchmark, and is that real?

    ``.frame`` is :func:`publicservices.stats.assess_outcomes` output: one row per
    indicator x area x period with ``value``, ``lower_95`` ... ``upper_998``,
    ``benchmark_value``, ``comparison_95``/``comparison_998``, ``prob_worse``,
    ``floor_status`` and the trend columns. Charts: ``funnel`` (default), ``league``,
    ``map`` (the hex map when areas have tile positions, else a choropleth from
    ``geometry=``), ``trend`` (one area), ``spine`` (one area, every indicator).

    Comparable sets and breakdowns (``comparable_set``, ``sex``, ``age``, ``category_type``,
    ``category``) stay on every row; the summary speaks of each group's areas, and a chart
    shows one group: ``breakdown={"sex": "Female"}``, by default the whole population.
    """

    kind = "outcomes"
    title = "Outcomes"
    default_chart = "funnel"

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        dataset: Dataset | None = None,
        indicators: IndicatorsLike = None,
        areas: pl.DataFrame | None = None,
        history: pl.DataFrame | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(frame, dataset=dataset, indicators=indicators, areas=areas, **extra)
        # Trends and SPC need every period even when the result shows the latest only.
        self.history: pl.DataFrame = history if history is not None else frame

    def _title(self) -> str:
        ids = (
            self._frame.get_column("indicator_id").unique(maintain_order=True).to_list()
            if "indicator_id" in self._frame.columns
            else []
        )
        if len(ids) == 1:
            return f"Outcomes: {_title_of(self.indicators, ids[0])}"
        return f"Outcomes: {plural(len(ids), 'indicator')}" if ids else "Outcomes"

    def sentences(self) -> list[str]:
        frame = _latest(self._frame)
        if frame.height == 0:
            return ["The result is empty: no area has a value to compare."]
        if "indicator_id" not in frame.columns:
            return []
        ids = frame.get_column("indicator_id").unique(maintain_order=True).to_list()
        out: list[str] = []
        for indicator_id in ids[:3]:
            groups = _groups(frame.filter(pl.col("indicator_id") == indicator_id))
            for group, rows in groups[:4]:
                out.extend(self._indicator_sentences(rows, indicator_id, _group_name(group)))
            if len(groups) > 4:
                out.append(
                    f"… and {plural(len(groups) - 4, 'more group')} of {_title_of(self.indicators, indicator_id)}; see .frame."
                )
        if len(ids) > 3:
            out.append(f"… and {plural(len(ids) - 3, 'more indicator')}; see .frame.")
        return out

    def _indicator_sentences(self, rows: pl.DataFrame, indicator_id: str, group: str = "") -> list[str]:
        ind = self.indicators.get(indicator_id)
        unit = ind.unit if ind else ""
        polarity = ind.polarity if ind else (rows.get_column("polarity")[0] if "polarity" in rows.columns else "no_judgement")
        up, down = _JUDGED_WORDS.get(polarity, ("higher", "lower"))
        title = _title_of(self.indicators, indicator_id)
        period = rows.get_column("period")[0] if "period" in rows.columns and rows.height else ""
        if "benchmark_code" in rows.columns:
            rows = rows.filter(pl.col("benchmark_code").is_null() | (pl.col("area_code") != pl.col("benchmark_code")))
        with_value = rows.filter(pl.col("value").is_not_null()) if "value" in rows.columns else rows
        n = _n_areas(with_value)
        column = next((c for c in ("comparison_95", "comparison", "comparison_998") if c in rows.columns), None)
        counts = _counts(with_value, column) if column else {}
        bench = ""
        if "benchmark_value" in rows.columns:
            values = rows.get_column("benchmark_value").drop_nulls().unique()
            bench = f" ({format_number(values[0], unit=unit)})" if values.len() == 1 else " (each area's own benchmark)"
        level = "99.8%" if column == "comparison_998" else "95%"
        lead = f"{title}{', ' + str(period) if period else ''}{' (' + group + ')' if group else ''}: of {plural(n, 'area')} with a value"
        sentences = []
        not_compared = counts.get("not compared", 0)
        if counts and not_compared < n:
            k_up, k_down, k_same = counts.get(up, 0), counts.get(down, 0), counts.get("similar", 0)
            verb = "is" if k_up == 1 else "are"
            rest = f"; {not_compared:,} could not be compared" if not_compared else ""
            sentences.append(
                f"{lead}, {k_up:,} {verb} {up} than the benchmark{bench}, {k_same:,} similar and {k_down:,} {down}, "
                f"at {level} confidence{rest}."
            )
        elif counts:
            sentences.append(f"{lead}, none could be compared with the benchmark{bench}: the values have no confidence interval.")
        elif n:
            values = with_value.get_column("value")
            sentences.append(
                f"{lead}, values range from {format_number(values.min(), unit=unit)} to {format_number(values.max(), unit=unit)}."
            )
        else:
            sentences.append(f"{lead.replace('of 0 areas with a value', 'no area has a value')}.")
        floor = _counts(rows, "floor_status")
        if floor and ind is not None and ind.floor is not None:
            confident = floor.get("confidently below", 0) + floor.get("confidently above", 0)
            possible = floor.get("possibly below", 0) + floor.get("possibly above", 0)
            side = "above the ceiling" if polarity == "lower_is_better" else "below the floor"
            sentences.append(
                f"{plural(confident, 'area')} {'is' if confident == 1 else 'are'} confidently {side} of "
                f"{format_number(ind.floor, unit=unit)}, and {possible:,} possibly."
            )
        if "prob_worse" in rows.columns and polarity != "no_judgement":
            ranked = with_value.filter(pl.col("prob_worse").is_not_null()).sort("prob_worse", descending=True)
            top = ranked.get_column("prob_worse")[0] if ranked.height else None
            # probabilities that print alike are a tie: naming one area would pick it by chance
            tied = ranked.filter(pl.col("prob_worse").round(3) == round(top, 3)) if top is not None else ranked
            if top is not None and top >= 0.95 and tied.height == 1:
                row = _with_names(tied, self.areas).row(0, named=True)
                name = row.get("area_name") or row["area_code"]
                sentences.append(
                    f"{name} is the area most likely to be truly worse than the benchmark "
                    f"({format_number(row['value'], unit=unit)}; probability {row['prob_worse']:.1%})."
                )
            elif top is not None and top >= 0.95:
                sentences.append(
                    f"{tied.height:,} areas are truly worse than the benchmark with probability {top:.1%}: "
                    "too many to single one out as the worst."
                )
        trend = _counts(rows, "recent_trend")
        better = sum(v for k, v in trend.items() if "getting better" in k.lower())
        worse = sum(v for k, v in trend.items() if "getting worse" in k.lower())
        if better or worse:
            sentences.append(
                f"Over the latest five periods {better:,} {'area is' if better == 1 else 'areas are'} getting better and {worse:,} getting worse."
            )
        return sentences

    def _columns(self) -> Sequence[Column]:
        unit = _unit_of(self.indicators, self._frame)
        many = "indicator_id" in self._frame.columns and self._frame.get_column("indicator_id").n_unique() > 1
        periods = "period" in self._frame.columns and self._frame.get_column("period").n_unique() > 1
        cols = [Column("indicator", "indicator")] if many else []
        cols += [Column("area_name", "area"), Column("area_code", "code"), *_group_columns(self._frame)]
        if periods:
            cols.append(Column("period", "period"))
        cols += [
            Column("value", "value", kind="number", unit=unit),
            Column("lower_95", "95% interval", kind="interval", upper="upper_95"),
            Column("benchmark_value", "benchmark", kind="number", unit=unit),
            Column("comparison_95", "vs benchmark", kind="category"),
        ]
        if "floor_status" in self._frame.columns and self._frame.get_column("floor_status").drop_nulls().len():
            cols.append(Column("floor_status", "floor"))
        if "recent_trend" in self._frame.columns:
            cols.append(Column("recent_trend", "recent trend"))
        return cols

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_titles(_with_names(self._frame, self.areas), self.indicators)
        if "value" not in frame.columns:
            return frame, None
        keys = [c for c in ("indicator_id",) if c in frame.columns] + [c.name for c in _group_columns(frame)]
        if "period_start" in frame.columns:
            frame = frame.sort([*keys, "period_start", "value"], descending=[False] * len(keys) + [True, True], nulls_last=True)
        else:
            frame = frame.sort([*keys, "value"], descending=[False] * len(keys) + [True], nulls_last=True)
        return frame, "value"

    # charts

    def _one_period(
        self, indicator: str | Indicator | None, period: str | None, breakdown: Mapping[str, Any] | str | None = None
    ) -> tuple[pl.DataFrame, Indicator | None]:
        ind = _pick_indicator(self._frame, self.indicators, indicator)
        rows = self._frame if ind is None else _one(self._frame, "indicator_id", ind.id)
        rows = _one(rows, "period", period) if period else _latest(rows)
        return _with_names(_one_group(rows, breakdown), self.areas), ind

    def _chart_funnel(
        self,
        indicator: str | Indicator | None = None,
        period: str | None = None,
        overdispersion: str | None = None,
        breakdown: Mapping[str, Any] | str | None = None,
        **options: Any,
    ) -> Any:
        rows, ind = self._one_period(indicator, period, breakdown)
        from publicservices.results.funnel import funnel_check

        return funnel_check(rows, ind, overdispersion=overdispersion, areas=self.areas, dataset=self.dataset).chart(**options)

    def _chart_league(
        self,
        indicator: str | Indicator | None = None,
        period: str | None = None,
        breakdown: Mapping[str, Any] | str | None = None,
        **options: Any,
    ) -> Any:
        rows, ind = self._one_period(indicator, period, breakdown)
        from publicservices.results.ranking import rank_areas

        return rank_areas(rows, ind, areas=self.areas, dataset=self.dataset).chart(**options)

    def _chart_map(
        self,
        indicator: str | Indicator | None = None,
        period: str | None = None,
        geometry: Any = None,
        geometry_url: str | None = None,
        breakdown: Mapping[str, Any] | str | None = None,
        **options: Any,
    ) -> Any:
        from publicservices.charts import choropleth, hex_map

        rows, ind = self._one_period(indicator, period, breakdown)
        if geometry is not None or geometry_url is not None:
            return choropleth(rows, geometry, geometry_url=geometry_url, indicator=ind, **options)
        if self.areas is None or not any(c in self.areas.columns for c in ("tile_x", "hex_q", "hex_col")):
            raise SchemaError(
                "no map positions: these areas have no hex tile positions.\n"
                "Fix: pass geometry='boundaries.topojson' (and feature=, key=) for a choropleth."
            )
        return hex_map(rows, self.areas, indicator=ind, **options)

    def _chart_trend(
        self,
        area: str | None = None,
        indicator: str | Indicator | None = None,
        spc: bool = True,
        breakdown: Mapping[str, Any] | str | None = None,
        **options: Any,
    ) -> Any:
        from publicservices.charts import trend_chart

        ind = _pick_indicator(self.history, self.indicators, indicator)
        rows = self.history if ind is None else _one(self.history, "indicator_id", ind.id)
        area = area or _first_area(self._frame)
        rows = _with_names(_one_group(rows.filter(pl.col("area_code") == area), breakdown), self.areas)
        if rows.height == 0:
            raise DataError(f"no rows for area {area!r}.\nFix: pass area= one of the area codes in .frame.")
        if spc and rows.height >= 2:
            from publicservices.stats import xmr

            rows = xmr(rows, polarity=ind.polarity if ind else None)
        name = rows.get_column("area_name")[0] if "area_name" in rows.columns else None
        return trend_chart(rows, indicator=ind, area_name=name, spc=spc, **options)

    def _chart_spine(
        self, area: str | None = None, period: str | None = None, breakdown: Mapping[str, Any] | str | None = None, **options: Any
    ) -> Any:
        from publicservices.charts import spine_chart

        rows = _one(self._frame, "period", period) if period else _latest(self._frame)
        rows = _one_group(rows, breakdown)
        area = area or _first_area(rows)
        rows = _with_names(rows, self.areas)
        names = (
            rows.filter(pl.col("area_code") == area).get_column("area_name").drop_nulls()
            if "area_name" in rows.columns
            else pl.Series([])
        )
        return spine_chart(rows, area, self.indicators, area_name=names[0] if names.len() else None, **options)


def compare(
    data: Any,
    indicator: str | Sequence[str] | None = None,
    *,
    period: str | Sequence[str] | None = None,
    all_periods: bool = False,
    area: str | Sequence[str] | None = None,
    indicators: IndicatorsLike = None,
    areas: pl.DataFrame | None = None,
    benchmark: str | float | Mapping[str, float] = "national",
    **options: Any,
) -> OutcomeResult:
    """Compare every area with a benchmark: values, intervals, categories, floors, trends.

    Method: :func:`publicservices.stats.assess_outcomes` (Fingertips-style comparison at
    95% and 99.8%, probability of being worse, floors, recent trend) over every period, so
    trends use the full history; the result keeps the latest period unless ``period`` or
    ``all_periods`` says otherwise.

    Parameters:
        data: a Dataset (e.g. ``publicservices.demo()``) or a values frame with ``indicators=``.
        indicator: one indicator id or a list (default: all).
        period: period label(s) to keep (default: each indicator's latest).
        all_periods: keep every period.
        area: keep these areas, by code or by name as the data spell it (every area is still
            compared with the same benchmark).
        benchmark: ``"national"``, ``"region"``, an area code or a number.
        options: passed on to ``outcomes`` (``fdr=0.05``, ``confidence=`` ...).

    Example:
        >>> import publicservices as ps                                   # doctest: +SKIP
        >>> result = compare(ps.demo(), "health.ae_4hr")                  # doctest: +SKIP
        >>> result.chart("funnel")                                        # doctest: +SKIP
    """
    from publicservices.stats import assess_outcomes

    values, dataset = _unpack(data, benchmarks=True)
    inds = _indicator_map(indicators, dataset)
    if indicator is not None:
        wanted = [indicator] if isinstance(indicator, str) else list(indicator)
        known = values.get_column("indicator_id").unique().to_list()
        missing = [i for i in wanted if i not in set(known)]
        if missing:
            from publicservices.naming import unknown

            raise unknown("indicator", missing, known, function="compare")
        values = values.filter(pl.col("indicator_id").is_in(wanted))
    areas = areas if areas is not None else getattr(dataset, "areas", None)
    codes = None
    if area is not None:
        from publicservices.naming import area_codes

        codes = area_codes(area, areas if areas is not None else values.select("area_code").unique(), function="compare")
    full = assess_outcomes(values, inds or None, benchmark=benchmark, areas=areas, **options)
    if "area_role" in full.columns:  # the benchmark rows did their job: the result is about areas
        full = full.filter(pl.col("area_role") != "benchmark")
    if all_periods:
        frame = full
    elif period is not None:
        wanted_p = [period] if isinstance(period, str) else list(period)
        present = full.get_column("period").unique().to_list()
        missing_p = [p for p in wanted_p if p not in set(present)]
        if missing_p:
            from publicservices.naming import unknown

            raise unknown("period", missing_p, present, function="compare")
        frame = full.filter(pl.col("period").is_in(wanted_p))
    else:
        frame = _latest(full)
    if codes is not None:
        frame, full = frame.filter(pl.col("area_code").is_in(codes)), full.filter(pl.col("area_code").is_in(codes))
    return OutcomeResult(frame, dataset=dataset, indicators=inds, areas=areas, history=full)
