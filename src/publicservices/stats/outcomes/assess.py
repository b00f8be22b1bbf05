"""The outcomes orchestrator: intervals, benchmark comparison, floors, targets and trends in one table.

:func:`assess_outcomes` is what ``ps.outcomes`` runs; its building blocks live beside it
(:mod:`.intervals`, :mod:`.benchmark`, :mod:`.standards`, :mod:`.trends`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats._common import as_indicator_map, require, with_metadata
from publicservices.stats.outcomes.benchmark import compare_to_benchmark
from publicservices.stats.outcomes.levels import resolve_levels
from publicservices.stats.outcomes.standards import distance_to_target, floor_status

__all__ = ["assess_outcomes"]


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


def _make_whole(frame: pl.DataFrame) -> None:
    """Rechunk ``frame`` in place, one column at a time (each column's pieces are freed as its whole copy is made).

    Every later step is a Polars query on the whole frame, and a query copies each column of
    many chunks (the laid-out frame is two frames stacked; computed limits come in pieces)
    into one chunk for as long as it runs: made whole once here, no query copies them again.
    """
    for i, name in enumerate(frame.columns):
        if frame.get_column(name).n_chunks() > 1:
            frame.replace_column(i, frame.get_column(name).rechunk())


def assess_outcomes(
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
       (:func:`publicservices.stats.add_intervals`: Wilson, Byar/exact Poisson,
       t, Dobson ...), unless the frame already carries the limit columns;
    2. comparison with the benchmark at each level, ``z``, ``p_value``, ``prob_worse``
       and, with ``fdr``, ``q_value`` / ``comparison_fdr`` (:func:`compare_to_benchmark`);
    3. ``floor_status`` at 95% and ``distance_to_target`` (:func:`floor_status`,
       :func:`distance_to_target`);
    4. the Fingertips recent trend over the latest five periods ending at each row
       (:func:`publicservices.stats.recent_trend`) and the change since the previous
       period with its interval (:func:`publicservices.stats.year_on_year`).

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
        >>> assess_outcomes(f, {"demo.x": ind}, benchmark=45.0).select(
        ...     "area_code", "comparison_95", "comparison_998", "floor_status").rows()
        [('A', 'worse', 'similar', 'confidently below'), ('B', 'similar', 'similar', 'meets')]
    """
    values, indicators, areas = _unpack(data, indicators, areas)
    indicators = as_indicator_map(indicators)
    if indicators is None and not all(c in values.columns for c in ("polarity", "measure")):
        raise SchemaError(
            "assess_outcomes() needs indicator definitions.\n"
            "Fix: pass a Dataset, or indicators= (a mapping id -> publicservices.Indicator) with the values frame."
        )
    require(
        values,
        ["indicator_id", "area_code", "period", "period_start"],
        "pass a Dataset, or validate the frame first with publicservices.validate_values(frame) "
        "(it derives period_start from the period labels).",
        what="values",
    )
    levels = resolve_levels(values, confidence)
    if not all(lo in values.columns and hi in values.columns for _, lo, hi, _ in levels):
        if indicators is None:
            raise SchemaError(
                "assess_outcomes(): the frame has no limit columns and no indicator definitions to compute them from.\n"
                "Fix: pass indicators= (a mapping id -> publicservices.Indicator)."
            )
        from publicservices.stats.outcomes.intervals import add_intervals

        values = add_intervals(values, indicators, confidence=confidence)
    # a clone (cheap: the columns are shared), so that making its columns whole changes no
    # frame of the caller's; `values` goes first, so each column's pieces are freed as it is made whole
    frame = with_metadata(values, indicators, need=("polarity", "measure", "multiplier")).clone()
    del values
    _make_whole(frame)
    from publicservices.stats.outcomes.trends import _recent_trend, _series_layout, _year_on_year

    out = compare_to_benchmark(frame, benchmark=benchmark, confidence=confidence, fdr=fdr, areas=areas, national=national)
    del frame
    floor_level = next((lv[0] for lv in levels if abs(lv[0] - 0.95) < 1e-12), levels[0][0])
    out = floor_status(out, level=floor_level)
    out = distance_to_target(out)
    # The result's order (by series, then period) is the order the trends read the rows in:
    # worked out once, and the rows are moved only when they are not already in it, one column
    # at a time (each column's unordered copy is freed as its ordered copy is made).
    layout = _series_layout(out)
    if layout.perm is not None:
        moved = []
        for name in out.columns:
            moved.append(out.get_column(name).gather(layout.perm))
            out = out.drop(name)
        out, layout = pl.DataFrame(moved), layout.moved()
    out = _recent_trend(out, None, points=5, confidence=0.998, by=None, order="period_start", limits=None, layout=layout)
    out = _year_on_year(out, confidence=confidence, by=None, order="period_start", layout=layout)
    if periods is not None:
        wanted = [periods] if isinstance(periods, str) else list(periods)
        unknown = sorted(set(wanted) - set(out.get_column("period").unique().to_list()))
        if unknown:
            raise DataError(
                f"periods: unknown period label(s) {', '.join(map(repr, unknown))}.\nFix: choose labels present in the data."
            )
        out = out.filter(pl.col("period").is_in(wanted))
    return out
