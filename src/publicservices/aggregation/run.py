"""``ps.aggregate``: records -> the values frame, on Polars streaming or Apache Spark.

The work is in three steps: every definition is checked against the records' columns (before any
record is read), one query per source aggregates the records to the finest cells (the engine's
work, :mod:`.compile`), and the small cells are rolled up to every area level, joined to the
population and turned into values with the package's own interval methods (:mod:`.values`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.aggregation.compile import ROWS, WHY, YEAR, SourcePlan, plan_source
from publicservices.aggregation.engines import collect, engine_of, open_records, to_polars_frame
from publicservices.aggregation.result import EXCLUDED_SCHEMA, AggregateResult
from publicservices.aggregation.values import Population, indicator_values, period_columns
from publicservices.errors import IndicatorError, OptionError, SchemaError
from publicservices.indicators import Indicator

__all__ = ["aggregate"]


def aggregate(
    records: Any,
    indicators: Indicator | str | Iterable[Indicator | str] | None = None,
    *,
    population: Any = None,
    areas: Any = None,
    levels: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    engine: str = "polars",
    spark: Any = None,
    exclusions_report: bool = True,
) -> AggregateResult:
    """Aggregate records into the data contract's values frame, on Polars streaming or Spark.

    Each indicator's :class:`~publicservices.record_definitions.RecordDefinition` (its
    ``records``) is compiled into one lazy query per record source (narwhals: the same query on
    Polars and PySpark), which counts the numerator and denominator by area, period,
    breakdowns and age band in a single pass. The small aggregate is rolled up to every
    ancestor area through the areas frame's ``parent_code``, and values and 95% limits come
    from the package's methods: Wilson (proportions), Byar/exact Poisson (rates), Student's t
    (means), Dobson's DSR on ESP2013 band counts (standardised rates).

    Parameters:
        records: a Polars LazyFrame/DataFrame, a Parquet/CSV path, glob or folder (scanned
            lazily), a PySpark DataFrame, a ``(SparkSession, path)`` pair, or a mapping
            ``{source name: any of those}``. A folder whose sub-folders are named after record
            sources (``health.ae_attendances/`` ..., as :func:`publicservices.demo_records`
            writes) reads as that mapping, with its ``population.parquet``, if any, as the
            population.
        indicators: Indicator objects or ids (default: every registered indicator whose record
            source is given).
        population: ``area_code, period, [sex], [age_band], population`` for rates and DSRs
            (a frame or a path).
        areas: an areas frame with ``area_code`` and ``parent_code``: record area codes must be
            in it (others are reported as unknown), and values are rolled up to every ancestor.
        levels: keep only areas whose ``level`` (a column of ``areas``) is one of these.
        periods: keep only these period labels (``["2022/23", "2023/24"]``); other dates are
            reported as outside any period.
        engine: ``"polars"`` (default: streaming, bounded memory) or ``"spark"``.
        spark: the SparkSession reading paths on the Spark engine (default: the active one).
        exclusions_report: when False, ``.excluded`` is left empty.

    Returns:
        :class:`~publicservices.aggregation.result.AggregateResult`: ``.values`` (the values
        frame), ``.excluded`` (``source, indicator_id, reason, rows``), ``.bands``.

    Raises:
        SchemaError: a definition names a column the records lack (column, source, indicator
            and fix named) -- before any record is read.

    Example:
        >>> import datetime as dt, polars as pl, publicservices as ps
        >>> ind = ps.Indicator(id="health.ae_4hr", title="A&E within 4 hours", sector="health",
        ...     measure="proportion", multiplier=100, records={"source": "health.ae_attendances",
        ...     "numerator": {"column": "minutes_in_department", "le": 240}})
        >>> ae = pl.DataFrame({"area_code": ["E06000001"] * 4 + [None],
        ...     "date": [dt.date(2024, 5, 1)] * 5, "minutes_in_department": [90, 200, 250, 30, 60]})
        >>> result = ps.aggregate(ae, [ind])
        >>> result.values.select("area_code", "period", "numerator", "denominator", "value").rows()
        [('E06000001', '2024/25', 3.0, 4.0, 75.0)]
        >>> result.excluded.select("reason", "rows").rows()
        [('null key (area_code)', 1)]
    """
    records, population = _folder_of_sources(records, population)
    chosen, sources = _resolve(records, indicators)
    areas_frame = None if areas is None else to_polars_frame(areas, "areas")
    if levels is not None:
        _check_levels(levels, areas_frame)
    years = None if periods is None else _period_years(periods)
    pop = Population.prepare(population, chosen, areas_frame)

    # 1. every definition against every source's columns, before any work
    from publicservices.aggregation.levels import area_codes

    codes = None if areas_frame is None else area_codes(areas_frame)
    engines = {name: engine_of(obj, engine) for name, obj in sources.items()}
    plans: list[tuple[SourcePlan, Any]] = []
    for name, obj in sources.items():
        inds = [i for i in chosen if i.records is not None and i.records.source == name]
        if not inds:
            continue
        lf = open_records(obj, engines[name], spark)
        schema = dict(lf.collect_schema())
        plans += [(plan, lf) for plan in plan_source(name, inds, schema, areas_known=codes is not None)]

    # 2. one pass per query on the engine; the cells that come back are small
    excluded: list[tuple[str, str, str, int]] = []
    rows_read: dict[str, int] = {}
    cells: dict[str, tuple[Indicator, SourcePlan, pl.DataFrame]] = {}
    for plan, lf in plans:
        out = collect(plan.query(lf, codes, years), engines[plan.source])
        rows_read[plan.source] = max(rows_read.get(plan.source, 0), int(out[ROWS].sum() or 0))
        bad = out.filter(pl.col(WHY) != 0).group_by(WHY).agg(pl.col(ROWS).sum()).sort(WHY)
        good = out.filter(pl.col(WHY) == 0)
        for i, ind in enumerate(plan.indicators):
            excluded += [(plan.source, ind.id, plan.reason_of(code), int(n)) for code, n in bad.rows()]
            mine, lost = _own_cells(plan, i, ind, good)
            excluded += [(plan.source, ind.id, reason, n) for reason, n in lost]
            cells[ind.id] = (ind, plan, mine)

    # 3. roll up, join the population, compute values and intervals
    frames, band_frames = [], []
    for ind, plan, finest in cells.values():
        values, bands, lost = indicator_values(ind, plan, finest, areas_frame, pop)
        excluded += [(plan.source, ind.id, reason, n) for reason, n in lost]
        frames.append(values)
        if bands is not None:
            band_frames.append(bands)
    ran = ", ".join(sorted({engines[p.source] for p, _ in plans})) or engine  # a Spark DataFrame runs on Spark
    return _result(frames, band_frames, excluded, rows_read, chosen, areas_frame, levels, ran, exclusions_report)


def _own_cells(plan: SourcePlan, i: int, ind: Indicator, good: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[str, int]]]:
    """Indicator ``i``'s finest cells from the query's (its own breakdowns only), and the rows it lost."""
    d = ind.records
    assert d is not None
    lost: list[tuple[str, int]] = []
    for b in d.breakdowns:  # its breakdowns' missing values: null keys for it, counted for the others
        lost.append((f"null key ({b})", int(good.filter(pl.col(b).is_null())[ROWS].sum())))
        good = good.filter(pl.col(b).is_not_null())
    lost += [(reason, int(good[f"x{i}_{j}"].sum())) for j, (reason, _) in enumerate(d.exclusions)]
    if d.value_column is not None:
        lost.append((f"no value ({d.value_column} is null)", int(good[f"v{i}"].sum())))
    sums = {"numerator": f"n{i}", "denominator": f"d{i}", "sum_squares": f"s{i}"}
    keys = [
        pl.col(plan.area_column).cast(pl.String).alias("area_code"),
        *period_columns(pl.col(YEAR), plan.periods),
        *(pl.col(b).cast(pl.String) for b in d.breakdowns),
        *plan_band(plan),
    ]
    mine = good.group_by(keys).agg(pl.col(c).cast(pl.Float64).sum().alias(name) for name, c in sums.items() if c in good.columns)
    return mine, lost


def plan_band(plan: SourcePlan) -> list[pl.Expr]:
    from publicservices.aggregation.compile import BAND

    if plan.bands is None:
        return []
    labels = list(plan.bands.labels)
    return [pl.col(BAND).replace_strict(list(range(len(labels))), labels, return_dtype=pl.String).alias("age_band")]


def _result(
    frames: list[pl.DataFrame],
    band_frames: list[pl.DataFrame],
    excluded: list[tuple[str, str, str, int]],
    rows_read: dict[str, int],
    chosen: list[Indicator],
    areas: pl.DataFrame | None,
    levels: Sequence[str] | None,
    engine: str,
    exclusions_report: bool,
) -> AggregateResult:
    from publicservices.frame import validate_values
    from publicservices.frame_schemas import VALUES

    breakdowns = list(dict.fromkeys(b for i in chosen if i.records for b in i.records.breakdowns))
    columns = [*VALUES.columns, *breakdowns]
    values = pl.concat(frames, how="diagonal_relaxed") if frames else VALUES.empty()
    values = values.with_columns(pl.lit(None, dtype=pl.String).alias(b) for b in breakdowns if b not in values.columns)
    if levels is not None and areas is not None:
        keep = areas.filter(pl.col("level").is_in(list(levels)))["area_code"].cast(pl.String).to_list()
        values = values.filter(pl.col("area_code").is_in(keep))
    values = values.select(columns).sort("indicator_id", "area_code", "period_start", *breakdowns, nulls_last=True)
    values = validate_values(values, {i.id: i for i in chosen}, breakdowns=breakdowns)
    report = pl.DataFrame(excluded, schema=EXCLUDED_SCHEMA, orient="row").filter(pl.col("rows") > 0)
    if not exclusions_report:
        report = report.clear()
    bands = None
    if band_frames:
        bands = pl.concat(band_frames, how="diagonal_relaxed")
        bands = bands.sort([c for c in bands.columns if bands.schema[c] in (pl.String, pl.Date)], nulls_last=True)
    return AggregateResult(
        values=values, excluded=report, rows_read=rows_read, engine=engine, bands=bands, indicators={i.id: i for i in chosen}
    )


# -- arguments ---------------------------------------------------------------------------------


def _folder_of_sources(records: Any, population: Any) -> tuple[Any, Any]:
    """A folder of one sub-folder per record source, read as ``{source: sub-folder}`` (and its population file)."""
    from pathlib import Path

    from publicservices.indicators import ID_PATTERN

    if not isinstance(records, (str, Path)) or not Path(records).is_dir():
        return records, population
    folder = Path(records)
    named = {d.name: str(d) for d in sorted(folder.iterdir()) if d.is_dir() and ID_PATTERN.fullmatch(d.name)}
    if not named:  # one source's files (or its hive partitions)
        return records, population
    if population is None and (folder / "population.parquet").is_file():
        population = str(folder / "population.parquet")
    return named, population


def _resolve(records: Any, indicators: Any) -> tuple[list[Indicator], dict[str, Any]]:
    """The indicators to build and the records of each source they read."""
    given = None if indicators is None else _indicator_list(indicators)
    if isinstance(records, Mapping):
        sources = {str(k): v for k, v in records.items()}
    else:
        named = sorted({i.records.source for i in given or [] if i.records is not None})
        if given is None or len(named) != 1:
            raise OptionError(
                "records given without a source name, for "
                + ("no indicator" if given is None else f"indicators of {len(named)} sources ({', '.join(named) or 'none'})")
                + ".\nFix: pass a mapping {source name: records}, e.g. {'health.ae_attendances': 'ae/*.parquet'}, "
                "or the indicators of that one source."
            )
        sources = {named[0]: records}
    if given is None:
        from publicservices.plugins import registered_indicators

        given = [i for i in registered_indicators().values() if i.records is not None and i.records.source in sources]
        if not given:
            raise IndicatorError(
                f"no registered indicator is built from the sources given ({', '.join(sources)}).\n"
                "Fix: name the sources as the indicators' records definitions do (publicservices indicators lists "
                "them), or pass indicators=."
            )
    for ind in given:
        if ind.records is None:
            raise IndicatorError(
                f"indicator {ind.id!r} has no records definition, so it cannot be aggregated from records.\n"
                "Fix: give it records=RecordDefinition(...), or leave it out."
            )
        if ind.records.source not in sources:
            raise OptionError(
                f"indicator {ind.id!r} is built from source {ind.records.source!r}, which was not given "
                f"(sources: {', '.join(sources)}).\nFix: pass {{'{ind.records.source}': <records>}} too, or leave the indicator out."
            )
    return given, sources


def _indicator_list(indicators: Any) -> list[Indicator]:
    items = [indicators] if isinstance(indicators, (Indicator, str)) else list(indicators)
    out: list[Indicator] = []
    registry: dict[str, Indicator] | None = None
    for item in items:
        if isinstance(item, Indicator):
            out.append(item)
            continue
        if not isinstance(item, str):
            raise OptionError(f"indicators must be Indicator objects or ids, not {type(item).__name__}.")
        if registry is None:
            from publicservices.plugins import registered_indicators

            registry = registered_indicators()
        for name in (s.strip() for s in item.split(",") if s.strip()):
            if name not in registry:
                from publicservices.frame_checks import nearest

                guess = nearest(name, list(registry))
                raise IndicatorError(
                    f"indicator {name!r} is not registered{f' (did you mean {guess!r}?)' if guess else ''}.\n"
                    "Fix: `publicservices indicators` lists the registered ids."
                )
            out.append(registry[name])
    if not out:
        raise OptionError("indicators is empty.\nFix: name at least one indicator, or leave indicators out.")
    return list({i.id: i for i in out}.values())


def _check_levels(levels: Sequence[str], areas: pl.DataFrame | None) -> None:
    if areas is None or "level" not in areas.columns:
        raise SchemaError(
            "levels= picks areas by the areas frame's 'level' column, but "
            + ("no areas frame was given" if areas is None else "it has none")
            + ".\nFix: pass areas= with a level column (ps.demo().areas has one), or leave levels out."
        )
    known = set(areas["level"].drop_nulls().to_list())
    unknown = [lv for lv in levels if lv not in known]
    if unknown:
        raise OptionError(f"levels {unknown} are not in the areas frame.\nFix: use some of {sorted(known)}.")


def _period_years(periods: Sequence[str]) -> list[int]:
    years = []
    for label in [periods] if isinstance(periods, str) else periods:
        m = re.match(r"^\s*(\d{4})", str(label))
        if not m:
            raise OptionError(f"period {label!r} does not start with a year.\nFix: use labels like '2023/24' or '2023'.")
        years.append(int(m.group(1)))
    return years
