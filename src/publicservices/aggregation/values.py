"""Aggregated cells -> values: totals over breakdowns, roll-up, population, intervals.

Everything here runs on the small frame the engine returned (areas x periods x breakdowns x age
bands), with the package's own statistics: :func:`~publicservices.stats.outcomes.intervals.add_intervals`
(Wilson for proportions, exact Poisson/Byar for rates), :func:`~publicservices.stats.outcomes.means.mean_ci_from_sums`
(Student's t for means) and :func:`~publicservices.stats.outcomes.standardised.dsr` (Dobson's DSR
on the band counts, ESP2013 by default). All limits are 95%.

Example:
    >>> import polars as pl
    >>> pl.select(period_columns(pl.lit(2014), "financial_year")).row(0)
    ('2014/15', datetime.date(2014, 4, 1))
    >>> pl.select(period_columns(pl.lit(1999), "academic_year")).row(0)
    ('1999/00', datetime.date(1999, 9, 1))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.aggregation.compile import SourcePlan
from publicservices.aggregation.levels import bridge, finest, roll_up
from publicservices.errors import DataError, IndicatorError, OptionError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.record_definitions import PERIOD_KINDS

__all__ = ["period_columns", "Population", "indicator_values", "TOTAL"]

#: The breakdown label of the rows summed over a breakdown (``keys.WHOLE_POPULATION`` knows it).
TOTAL = "persons"


def period_columns(year: pl.Expr, kind: str) -> list[pl.Expr]:
    """``period`` (``2014/15`` or ``2014``) and ``period_start`` (its first day) from the year it starts in."""
    if kind == "calendar_year":
        label = year.cast(pl.String)
    else:
        label = pl.concat_str(year.cast(pl.String), pl.lit("/"), ((year + 1) % 100).cast(pl.String).str.zfill(2))
    return [label.alias("period"), pl.date(year, PERIOD_KINDS[kind], 1).alias("period_start")]


@dataclasses.dataclass(frozen=True)
class Population:
    """The population frame, checked before any record is read, and its bridge for the roll-up."""

    frame: pl.DataFrame
    bridge: pl.DataFrame | None

    @classmethod
    def prepare(cls, population: Any, indicators: Sequence[Indicator], areas: pl.DataFrame | None) -> Population | None:
        needed = [i for i in indicators if i.records is not None and i.records.denominator == "population"]
        for ind in indicators:
            if ind.records is not None and ind.records.bands is not None:
                _check_standard(ind)
        if not needed:
            return None
        names = ", ".join(i.id for i in needed)
        if population is None:
            raise OptionError(
                f"{names} divide by a population, but population= was not given.\n"
                "Fix: pass population= a frame (or file) with area_code, period, population (and sex, age_band "
                "where the indicator is broken down or standardised)."
            )
        from publicservices.aggregation.engines import to_polars_frame

        frame = to_polars_frame(population, "population")
        for ind in needed:
            d = ind.records
            assert d is not None
            for column in ("area_code", "period", "population", *d.breakdowns, *(["age_band"] if d.bands else [])):
                if column not in frame.columns:
                    raise SchemaError(
                        f"population: column {column!r} is missing; indicator {ind.id!r} needs it.\n"
                        f"Columns present: {', '.join(frame.columns)}.\n"
                        "Fix: give the population by area_code, period"
                        + (", age_band (ESP2013 labels 0-4 ... 90+)" if d.bands else "")
                        + "".join(f", {b}" for b in d.breakdowns)
                        + "."
                    )
            if d.bands is not None:
                from publicservices.stats.outcomes.standard_populations import STANDARD_POPULATIONS

                standard = STANDARD_POPULATIONS[d.bands.standard][0]
                unknown = [b for b in frame["age_band"].cast(pl.String).unique().to_list() if b not in standard]
                if unknown:
                    raise DataError(
                        problem(
                            "age_band",
                            f"of the population has bands that the {d.bands.standard} standard (indicator {ind.id!r}) "
                            "does not define",
                            rows=[repr(u) for u in unknown],
                            fix=f"label the population's bands {', '.join(standard)}.",
                        )
                    )
        frame = frame.with_columns(
            pl.col("area_code").cast(pl.String),
            pl.col("period").cast(pl.String),
            pl.col("population").cast(pl.Float64, strict=False),
            *(pl.col(c).cast(pl.String) for c in frame.columns if c in ("sex", "age_band")),
        )
        pop = pl.col("population")
        bad = frame.filter(pop.is_null() | ~pop.is_finite() | (pop < 0))
        if bad.height:
            raise DataError(
                problem(
                    "population",
                    "is missing, negative or not a number",
                    rows=[f"{r['area_code']} {r['period']}: {r['population']!r}" for r in bad.head(5).to_dicts()],
                    total=bad.height,
                    fix="give every population as a count of people (0 where there is none).",
                )
            )
        return cls(frame, None if areas is None else bridge(areas))

    def cells(self, ind: Indicator, periods: Sequence[str]) -> pl.DataFrame:
        """Population summed to the indicator's keys, at the records' level, for the periods given."""
        d = ind.records
        assert d is not None
        keys = ["area_code", "period", *d.breakdowns, *(["age_band"] if d.bands else [])]
        frame = self.frame.filter(pl.col("period").is_in(list(periods)))
        if d.bands is not None:  # bands outside the definition's (aged 75+ for an under-75 rate) are not at risk
            frame = frame.filter(pl.col("age_band").is_in(list(d.bands.labels)))
        if self.bridge is not None:
            codes = frame["area_code"].unique().to_list()
            frame = frame.filter(pl.col("area_code").is_in(finest(codes, self.bridge)))  # parents come from the roll-up
        return frame.group_by(keys).agg(pl.col("population").sum())


def _check_standard(ind: Indicator) -> None:
    from publicservices.stats.outcomes.standard_populations import STANDARD_POPULATIONS

    bands = ind.records.bands  # type: ignore[union-attr]
    assert bands is not None
    expected = STANDARD_POPULATIONS[bands.standard][0]
    odd = [b for b in bands.labels if b not in expected]
    if odd:
        raise IndicatorError(
            f"indicator {ind.id!r}: age bands {', '.join(odd)} are not bands of the {bands.standard} standard "
            f"({', '.join(expected)}).\nFix: use the standard's edges (the default for esp2013), or a run of them "
            "with upper= (edges=range(0, 75, 5), upper=75)."
        )


def _add_totals(frame: pl.DataFrame, breakdowns: Sequence[str], sums: Sequence[str]) -> pl.DataFrame:
    """Add rows summed over each breakdown (``sex = "persons"``), every combination."""
    for b in breakdowns:
        others = [c for c in frame.columns if c not in sums and c != b]
        total = frame.group_by(others).agg(pl.col(s).sum() for s in sums).with_columns(pl.lit(TOTAL).alias(b))
        frame = pl.concat([frame, total.select(frame.columns)])
    return frame


def indicator_values(
    ind: Indicator, plan: SourcePlan, cells: pl.DataFrame, areas: pl.DataFrame | None, pop: Population | None
) -> tuple[pl.DataFrame, pl.DataFrame | None, list[tuple[str, int]]]:
    """One indicator's values rows (every level), its band frame (DSR) and records lost on the way."""
    d = ind.records
    assert d is not None
    keys = ["area_code", "period", "period_start", *d.breakdowns, *(["age_band"] if d.bands else [])]
    lost: list[tuple[str, int]] = []
    if d.denominator == "population":
        assert pop is not None  # Population.prepare insisted
        periods = cells.select("period", "period_start").unique()
        people = pop.cells(ind, periods["period"].to_list()).join(periods, on="period")
        frame = cells.select(*keys, "numerator").join(people, on=keys, how="full", coalesce=True, nulls_equal=True)
        frame = frame.with_columns(pl.col("numerator").fill_null(0.0))
        none = pl.col("population").is_null() | (pl.col("population") <= 0)
        missing = int(frame.filter(none)["numerator"].sum())
        where = "area, period" + "".join(f", {b}" for b in d.breakdowns) + (" and age band" if d.bands else "")
        lost.append((f"no population for the {where}", missing))
        frame = frame.filter(~none)
        sums = ["numerator", "population"]
    else:
        frame = cells.select(*keys, *(c for c in ("numerator", "denominator", "sum_squares") if c in cells.columns))
        sums = [c for c in frame.columns if c not in keys]
    frame = _add_totals(frame, d.breakdowns, sums)
    if areas is not None:
        frame = roll_up(frame, bridge(areas), [k for k in keys if k != "area_code"], sums)
    frame = frame.with_columns(pl.lit(ind.id).alias("indicator_id"))
    by = ["indicator_id", "area_code", "period", "period_start", *d.breakdowns]
    if ind.measure == "dsr":
        from publicservices.stats.outcomes.standardised import dsr

        assert d.bands is not None
        out = dsr(
            frame,
            "numerator",
            "population",
            d.bands.standard,
            by=by,
            age_band="age_band",
            confidence=0.95,
            multiplier=ind.multiplier,
        )
        values = out.select(
            *by,
            pl.col("total_count").alias("numerator"),
            pl.col("total_pop").alias("denominator"),
            "value",
            pl.col("lower").alias("lower_ci"),
            pl.col("upper").alias("upper_ci"),
        )
        assert isinstance(values, pl.DataFrame)  # dsr returns the type it is given
        return values, frame.select(*by, "age_band", "numerator", "population"), lost
    if ind.measure in ("mean", "score"):
        from publicservices.stats.outcomes.means import mean_ci_from_sums

        values = frame.with_columns(mean_ci_from_sums("numerator", "denominator", "sum_squares", 0.95)).rename(
            {"lower": "lower_ci", "upper": "upper_ci"}
        )
        # the values contract's numerator is a count: a mean's sum of values is not one (it can be
        # negative), so the row carries the count of values and the mean, as published means do
        numerator = pl.lit(None, dtype=pl.Float64).alias("numerator")
        return values.select(*by, numerator, "denominator", "value", "lower_ci", "upper_ci"), None, lost
    from publicservices.stats.outcomes.intervals import add_intervals

    if "population" in frame.columns:
        frame = frame.rename({"population": "denominator"})
    values = add_intervals(frame, {ind.id: ind}, confidence=0.95).rename({"lower": "lower_ci", "upper": "upper_ci"})
    return values.select(*by, "numerator", "denominator", "value", "lower_ci", "upper_ci"), None, lost
