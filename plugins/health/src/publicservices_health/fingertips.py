"""Reader for Fingertips data (OHID public health profiles) in its long layout.

Two spellings of the layout are accepted:

* the snake-case extract used by FingertipsNext (``indicator_id, indicator, value_type,
  polarity, period_type, year, area_code, sex, age, category_type, category, numerator,
  denominator, value, lower_ci, upper_ci, trend``);
* the CSV download from fingertips.phe.org.uk (``Indicator ID, Indicator Name, Area Code,
  Area Name, Sex, Age, Category Type, Category, Time period, Value, Lower CI 95.0 limit,
  Upper CI 95.0 limit, Count, Denominator, Value note, Recent Trend ...``).

Each Fingertips indicator becomes ``health.fingertips_<id>`` (or one of this plugin's own
ids where it is the same measure, e.g. 241 -> ``health.diabetes_prevalence``) with an
:class:`~publicservices.indicators.Indicator` built from the file: measure from the value
type (Proportion, Crude rate, Directly standardised rate, Indirectly standardised ratio,
Score, Count), multiplier from the published values (value / (numerator / denominator),
rounded to a power of ten), polarity from the polarity column ("Low is good" ->
lower_is_better ...; a few known errors in a file's polarity are corrected, see
``FINGERTIPS_POLARITY``). Indicators that describe an area rather than a health outcome
(92708 resident population, 93553 deprivation score) are ``role="context"`` with no
polarity, and so is any indicator the file does not name ("Fingertips indicator 92026 (no
name in the source)"): its rows are kept, but what it measures is unknown, so it is never
published as a comparison. Periods: ``Financial`` 2018 -> ``2018/19`` from 1 April,
``Academic`` 2018 -> ``2018/19`` from 1 September, ``Calendar`` 2018 -> ``2018``.

Sex, age, category type and category are breakdown columns (empty category = all
persons). Rows that repeat another row exactly, or empty rows that repeat the key of a
row with a value, are set aside and counted; rows that share a key but disagree are all
set aside (the file has no column to tell them apart) and counted. Indicator 92708
(resident population, all ages, persons) fills the areas frame's ``population``.

Reference: OHID, *Fingertips technical guidance* (fingertips.phe.org.uk/profile/guidance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publicservices.plugin_api import LoadReport, Reader, ReadResult, count_reasons

__all__ = ["READER", "read_fingertips", "sniff_fingertips", "fingertips_indicator"]

# Fingertips download headers -> the snake-case layout.
_DOWNLOAD_NAMES = {
    "Indicator ID": "indicator_id",
    "Indicator Name": "indicator",
    "Area Code": "area_code",
    "Area Name": "area_name",
    "Area Type": "area_type",
    "Sex": "sex",
    "Age": "age",
    "Category Type": "category_type",
    "Category": "category",
    "Time period": "time_period",
    "Value": "value",
    "Lower CI 95.0 limit": "lower_ci",
    "Upper CI 95.0 limit": "upper_ci",
    "Count": "numerator",
    "Denominator": "denominator",
    "Value note": "value_note",
    "Recent Trend": "trend",
    "Time period Sortable": "time_period_sortable",
}
_COLUMNS = (
    "indicator_id",
    "indicator",
    "value_type",
    "polarity",
    "period_type",
    "year",
    "time_period",
    "time_period_sortable",
    "area_code",
    "area_name",
    "sex",
    "age",
    "category_type",
    "category",
    "numerator",
    "denominator",
    "value",
    "lower_ci",
    "upper_ci",
    "value_note",
    "trend",
)
_BREAKDOWNS = ("sex", "age", "category_type", "category")
_MEASURES = {
    "proportion": "proportion",
    "percentage": "proportion",
    "indirectly standardised proportion": "proportion",
    "crude rate": "rate",
    "directly standardised rate": "dsr",
    "indirectly standardised ratio": "ratio",
    "standardised ratio": "ratio",
    "ratio": "ratio",
    "score": "score",
    "count": "score",
    "mean": "mean",
    "life expectancy": "mean",
}
_POPULATION_ID = "92708"


def sniff_fingertips(columns: Sequence[str]) -> bool:
    """The snake-case extract (indicator_id, area_code, year, value_type ...) or the Fingertips download."""
    cols = set(columns)
    snake = (
        {"indicator_id", "area_code", "value"} <= cols
        and ("year" in cols or "time_period" in cols)
        and bool(cols & {"value_type", "category_type", "period_type"})
    )
    download = {"Indicator ID", "Area Code", "Time period", "Value"} <= cols
    return snake or download


def _polarity(text: str | None) -> str:
    low = (text or "").casefold()
    if "low is good" in low or "lower is better" in low:
        return "lower_is_better"
    if "high is good" in low or "higher is better" in low:
        return "higher_is_better"
    return "no_judgement"


def fingertips_indicator(
    fid: str, name: str | None, value_type: str | None, polarity: str | None, period_type: str | None, ratio: float | None
) -> Any:
    """An Indicator for one Fingertips indicator, from the file's own metadata columns.

    ``ratio`` is the median of value / (numerator / denominator) over the indicator's rows,
    which gives the multiplier (100 for a percentage, 100,000 for a rate per 100,000).

    Example:
        >>> fingertips_indicator("20401", "Conception rate", "Crude rate", "Low is good", "Calendar", 999.99).unit
        'per 1,000'
    """
    from publicservices.plugin_api import Indicator

    from publicservices_health.indicators import FINGERTIPS_CONTEXT, FINGERTIPS_INDICATORS, FINGERTIPS_POLARITY, INDICATORS

    if fid in FINGERTIPS_INDICATORS:
        return next(i for i in INDICATORS if i.id == FINGERTIPS_INDICATORS[fid])
    measure = _MEASURES.get((value_type or "").strip().casefold(), "score")
    if measure == "proportion":
        multiplier = 100.0
    elif measure in ("rate", "dsr", "ratio") and ratio and ratio > 0 and math.isfinite(ratio):
        multiplier = 10.0 ** round(math.log10(ratio))
    elif measure == "dsr":
        multiplier = 100_000.0
    elif measure == "ratio":
        multiplier = 100.0
    else:
        multiplier = 1.0
    unit = {
        "proportion": "%",
        "rate": f"per {multiplier:,.0f}",
        "dsr": f"per {multiplier:,.0f} (age-standardised)",
        "ratio": f"ratio x {multiplier:,.0f}",
    }.get(measure, "count" if (value_type or "").casefold() == "count" else "score")
    named = bool((name or "").strip())
    title = (name or "").strip() or f"Fingertips indicator {fid} (no name in the source)"
    definition = f"{title}, as published in OHID Fingertips"
    details = [
        f"value type: {value_type}" if value_type else "value type not given",
        f"period type: {period_type}" if period_type else "period type not given",
    ]
    definition = f"{definition} ({'; '.join(details)})."
    direction = _polarity(polarity)
    role = "outcome"
    if fid in FINGERTIPS_CONTEXT:
        role, direction = "context", "no_judgement"
        definition += f" Context, not compared: {FINGERTIPS_CONTEXT[fid]}."
    elif not named:
        role, direction = "context", "no_judgement"
        definition += (
            " The file does not name this indicator, so what it measures is unknown: its values are kept but not compared."
        )
    elif fid in FINGERTIPS_POLARITY:
        corrected, why = FINGERTIPS_POLARITY[fid]
        if corrected != direction:
            definition += f" Direction: {corrected.replace('_', ' ')}, because {why}; the file says {polarity!r}."
        direction = corrected
    return Indicator(
        id=f"health.fingertips_{fid}",
        title=title,
        sector="health",
        measure=measure,
        multiplier=multiplier,
        polarity=direction,
        unit=unit,
        source=f"OHID Fingertips, indicator {fid}",
        definition=definition,
        role=role,
    )


def _period(frame: Any) -> Any:
    """Add ``period`` and ``period_start`` from period_type + year, or from the download's time period."""
    import polars as pl

    year = pl.col("year").str.strip_chars().str.extract(r"^(\d{4})", 1).cast(pl.Int32, strict=False)
    kind = pl.col("period_type").str.strip_chars().str.to_lowercase()
    split = pl.format("{}/{}", year.cast(pl.String), ((year + 1) % 100).cast(pl.String).str.zfill(2))
    label_from_year = pl.when(kind.is_in(["financial", "academic"])).then(split).otherwise(year.cast(pl.String))
    start_from_year = pl.date(year, pl.when(kind == "financial").then(4).when(kind == "academic").then(9).otherwise(1), 1)
    # Download layout: "2022/23", "2020 - 22", "2023"; the first four digits give the year.
    label_text = pl.col("time_period").str.strip_chars().str.replace_all(r"\s+-\s+", "-")
    text_year = label_text.str.extract(r"^(\d{4})", 1).cast(pl.Int32, strict=False)
    start_from_text = pl.date(text_year, pl.when(label_text.str.contains(r"^\d{4}/\d{2}")).then(4).otherwise(1), 1)
    return frame.with_columns(
        period=pl.when(pl.col("time_period").is_not_null()).then(label_text).otherwise(label_from_year),
        period_start=pl.when(pl.col("time_period").is_not_null()).then(start_from_text).otherwise(start_from_year),
    )


def read_fingertips(path: str | Path, *, area_names: Any = None) -> ReadResult:
    """Read a Fingertips data file (see the module docstring) into the data contract.

    Parameters:
        path: CSV file in either Fingertips layout.
        area_names: where to find names for the area codes: a TopoJSON boundary file (such
            as ONS's ``uk-topojson``), a CSV/Parquet file or a frame with ``area_code`` and
            ``area_name``. Names in the file itself (download layout) are used when absent.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read("healthdata.csv", area_names="topo.json")   # doctest: +SKIP
    """
    import polars as pl

    from publicservices.plugin_api import (
        ReaderError,
        area_type_expr,
        join_area_names,
        number_from_text,
        to_polars,
        unread_note,
        unread_reason,
        validate_areas,
        validate_values,
    )

    from publicservices_health.indicators import FINGERTIPS_POLARITY

    path = Path(path)
    raw = to_polars(path, name=path.name)
    frame = raw.rename({k: v for k, v in _DOWNLOAD_NAMES.items() if k in raw.columns})
    if not sniff_fingertips(frame.columns) and not sniff_fingertips(raw.columns):
        raise ReaderError(
            f"{path.name}: not a Fingertips data file (columns: {', '.join(raw.columns[:12])}).\n"
            "Fix: pass a Fingertips download or extract, or use publicservices.read_csv(mapping=...)."
        )
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in _COLUMNS if c not in frame.columns)
    frame = frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in _COLUMNS)
    report = LoadReport(source=path.name, reader="fingertips", rows_read=frame.height)

    frame = _period(frame)
    no_period = frame.filter(pl.col("period_start").is_null())
    if no_period.height:
        report.set_aside["no year or time period"] = no_period.height
        frame = frame.filter(pl.col("period_start").is_not_null())
    no_id = frame.filter(pl.col("indicator_id").is_null())
    if no_id.height:  # a row with no indicator id belongs to no indicator: counted, not guessed
        report.set_aside["no indicator id"] = no_id.height
        frame = frame.filter(pl.col("indicator_id").is_not_null())
    untyped = frame.filter(pl.col("period_type").is_null() & pl.col("time_period").is_null())
    if untyped.height:
        ids = ", ".join(sorted(untyped.get_column("indicator_id").unique().to_list()))
        report.notes.append(
            f"{untyped.height:,} rows (indicator {ids}) have no period type; their year is read as a calendar year."
        )

    numbers = {c: number_from_text(pl.col(c)) for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci")}
    frame = frame.with_columns(**{f"_{c}": e for c, e in numbers.items()})
    for c in ("numerator", "denominator", "lower_ci", "upper_ci"):  # a value's own reason is its missing_reason
        if note := unread_note(frame, c, pl.col(f"_{c}")):
            report.notes.append(note)

    # Duplicates: exact copies, then empty rows repeating a key with a value, then conflicts.
    exact = ~pl.struct(raw.columns if set(raw.columns) <= set(frame.columns) else list(_COLUMNS)).is_first_distinct()
    n_exact = frame.filter(exact).height
    frame = frame.filter(~exact)
    key = ["indicator_id", "area_code", "period", *_BREAKDOWNS]
    empty = pl.col("_value").is_null() & pl.col("_numerator").is_null() & pl.col("_denominator").is_null()
    frame = frame.with_columns(_empty=empty, _n=pl.len().over(key), _filled=(~empty).sum().over(key))
    drop_empty = (pl.col("_n") > 1) & pl.col("_empty") & ((pl.col("_filled") > 0) | ~pl.struct(key).is_first_distinct())
    n_empty_dup = frame.filter(drop_empty).height
    frame = frame.filter(~drop_empty).with_columns(_n=pl.len().over(key))
    conflict = pl.col("_n") > 1
    n_conflict = frame.filter(conflict).height
    if n_conflict:
        by_id = frame.filter(conflict).group_by("indicator_id").len().sort("len", "indicator_id", descending=[True, False])
        report.notes.append(
            "Rows set aside because they share a key but differ, by Fingertips indicator: "
            + ", ".join(f"{i} x{n}" for i, n in by_id.iter_rows())
            + " (for example quarterly values without a quarter column)."
        )
    frame = frame.filter(~conflict)
    report.set_aside.update(
        count_reasons(
            {
                "exact duplicates of another row": n_exact,
                "empty rows repeating the key of another row": n_empty_dup,
                "rows sharing indicator, area, period and breakdown with different values (no column tells them apart)": n_conflict,
            }
        )
    )

    # Indicators, with the multiplier read from the published values.
    usable = (pl.col("_numerator") > 0) & (pl.col("_denominator") > 0) & pl.col("_value").is_not_null()
    meta = frame.group_by("indicator_id", maintain_order=True).agg(
        pl.col("indicator").drop_nulls().first(),
        pl.col("value_type").drop_nulls().first(),
        pl.col("polarity").drop_nulls().first(),
        pl.col("period_type").drop_nulls().first(),
        (pl.col("_value") / (pl.col("_numerator") / pl.col("_denominator"))).filter(usable).median().alias("ratio"),
    )
    indicators = {}
    ids = {}
    context, corrected = [], []
    for fid, name, value_type, polarity, period_type, ratio in meta.iter_rows():
        ind = fingertips_indicator(fid, name, value_type, polarity, period_type, ratio)
        indicators[ind.id] = ind
        ids[fid] = ind.id
        if ind.is_context:
            context.append(f"{fid} ({ind.title})")
        elif fid in FINGERTIPS_POLARITY and ind.polarity != _polarity(polarity):
            corrected.append(f"{fid} (the file says {polarity!r}; {ind.polarity.replace('_', ' ')} is used)")
    if context:
        report.notes.append(
            f"{len(context)} indicator(s) are context, kept but not compared between areas: {', '.join(context)}."
        )
    if corrected:
        report.notes.append(
            f"Polarity corrected for Fingertips indicator(s) {', '.join(corrected)}; the reason is in the definition."
        )

    reason = (
        pl.when(pl.col("_value").is_not_null())
        .then(None)
        .when(pl.col("value_note").is_not_null())
        .then(pl.col("value_note"))
        .when(pl.col("value").is_not_null())
        .then(unread_reason(pl.col("value")))
        .when(pl.col("_numerator").is_not_null() | pl.col("_denominator").is_not_null())
        .then(pl.lit("value empty in the source (counts given)"))
        .otherwise(pl.lit("empty in the source file"))
    )
    values = frame.with_columns(
        indicator_id=pl.col("indicator_id").replace_strict(ids, return_dtype=pl.String),
        fingertips_id=pl.col("indicator_id"),
        **{c: pl.col(f"_{c}") for c in numbers},
        missing_reason=reason,
    ).select(
        "indicator_id", "area_code", "period", "period_start", *numbers, *_BREAKDOWNS, "trend", "missing_reason", "fingertips_id"
    )
    values = validate_values(values, breakdowns=list(_BREAKDOWNS))
    report.rows_kept = values.height
    report.missing = count_reasons(
        dict(values.filter(pl.col("missing_reason").is_not_null()).group_by("missing_reason").len().iter_rows())
    )

    # Areas: codes from the file, population from indicator 92708, names joined if given.
    population = (
        frame.filter((pl.col("indicator_id") == _POPULATION_ID) & (pl.col("sex") == "Persons") & (pl.col("age") == "All ages"))
        .sort("period_start", descending=True)
        .group_by("area_code")
        .agg(pl.col("_value").first().alias("population"))
    )
    areas = (
        frame.group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").drop_nulls().first())
        .join(population, on="area_code", how="left", maintain_order="left")
        .with_columns(area_type_expr(pl.col("area_code")))
        .sort("area_code")
    )
    if area_names is not None:
        areas = join_area_names(areas, area_names, report).select("area_code", "area_name", "area_type", "population")
    elif areas.get_column("area_name").null_count():
        report.notes.append(
            "The file has no area names (codes only); names can come from the ONS TopoJSON boundaries: "
            "area_names= when reading, --boundaries when publishing."
        )
    if population.height:
        report.notes.append(
            f"Population for {population.height} areas taken from Fingertips indicator 92708 (all ages, persons, latest year)."
        )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


READER = Reader(
    name="fingertips",
    description="OHID Fingertips data (download or snake-case extract): indicator, area, period, sex, age, category, counts, value, 95% CI",
    sniff=sniff_fingertips,
    read=read_fingertips,
    extensions=(".csv",),
)
