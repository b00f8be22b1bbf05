"""The Department for Education's *Explore education statistics* (EES) open data CSV, read into the data contract.

Every DfE release publishes its tables in one tidy layout (the EES data standards): a row per
time period, geography and combination of filters, with the indicators side by side::

    time_period, time_identifier, geographic_level, country_code, country_name,
    [region_code, region_name, new_la_code, la_name, old_la_code, ...],
    [filters: sex, breakdown_topic, breakdown, school_type ...],
    [indicators: t_pupils, pt_l2basics_94, avg_att8 ...]

* ``time_period`` is ``202223`` for an academic, financial or tax year (``2022/23``) and
  ``2023`` for a calendar or reporting year; ``time_identifier`` says which, or gives a term,
  month or quarter. Week-based periods are set aside and counted.
* ``geographic_level`` says which code column names the row's area: ``National`` reads
  ``country_code``, ``Regional`` ``region_code``, ``Local authority`` ``new_la_code`` (and so on
  for districts, constituencies, trusts, schools and providers). National and regional rows
  are benchmarks, as everywhere; rows whose code is missing are set aside and counted.
* **Filters** are breakdowns. A row whose filters are all totals (``Total``, ``All pupils`` ...)
  is the headline; a row with one filter not a total is a breakdown (``category_type`` the
  filter, ``category`` its value; a ``x_topic``/``x`` or ``x_group``/``x`` pair is one filter);
  a row with two or more is a cross-tabulation, set aside and counted. A filter with one value
  in the whole file is noted and dropped; a filter with several values and no total splits
  the indicators (``pt_l2basics_94: State-funded mainstream``).
* **Symbols** (GSS and EES, :data:`publicservices.published_numbers.SYMBOLS`): ``c``
  confidential, ``x`` not available, ``z`` not applicable, ``low`` rounds to zero, ``u`` low
  reliability ... The value is missing with that reason, counted in the load report; other
  text is "not a number".
* **Indicators:** the ``<stem>.meta.csv`` file EES publishes beside each data file says which
  columns are indicators and gives their labels, units and decimal places. Without it, a column
  is an indicator when nine in ten of its cells or more are numbers or symbols, and the note says
  so. A column a plugin maps (:func:`mapped_ees_reader`) becomes that plugin's indicator, with
  its direction; any other becomes a generic indicator ``other.<column>`` whose direction is
  unknown (compared as higher or lower, never better or worse), and a count of people
  (``t_pupils``, "Number of ...") is context (``context.<column>``), not compared.

The layout itself (levels, periods, filters) is :mod:`publicservices.default_plugins.ees_layout`.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.default_plugins.ees_layout import ID_COLUMN, LEVELS, REQUIRED, breakdowns, ees_period, sniff_ees
from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult, missing_counts

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["READER_NAME", "sniff_ees", "read_ees", "ees_period", "mapped_ees_reader"]

READER_NAME = "dfe-ees"


def _metadata(path: Path, report: LoadReport) -> pl.DataFrame | None:
    """The EES ``<stem>.meta.csv`` beside the data file, or None (with a note)."""
    import polars as pl

    from publicservices.frame import to_polars

    meta_path = path.with_name(path.name[: -len(path.suffix)] + ".meta.csv") if path.suffix else None
    if meta_path is None or not meta_path.exists():
        report.notes.append(
            f"No EES metadata file ({path.stem}.meta.csv) beside the data: columns whose cells are numbers or symbols "
            "(nine in ten or more) are read as indicators, the rest as filters, and column names are the titles."
        )
        return None
    meta = to_polars(meta_path, name=meta_path.name)
    meta = meta.rename({c: c.strip().lower() for c in meta.columns})
    if not {"col_name", "col_type"} <= set(meta.columns):
        report.notes.append(f"{meta_path.name} has no col_name and col_type columns: it was not used.")
        return None
    return meta.with_columns(pl.col("col_name", "col_type").str.strip_chars())


def read_ees(
    path: str | Path,
    *,
    indicator_ids: Mapping[str, str] | None = None,
    use_registered: bool = True,
    reader_name: str = READER_NAME,
) -> ReadResult:
    """Read a DfE Explore education statistics CSV (see the module docstring).

    Parameters:
        path: the CSV file (its ``<stem>.meta.csv`` is read from beside it).
        indicator_ids: ``{indicator column: registered indicator id}``, over the mappings
            plugins register (:func:`mapped_ees_reader`): a mapped column takes that
            indicator's title, measure and direction.
        use_registered: apply the plugins' mappings (default True).
        reader_name: the name the load report gives.

    Example:
        >>> import publicservices as ps
        >>> ps.read("ks4_la_2023.csv").report.reader   # doctest: +SKIP
        'dfe-ees'
    """
    import polars as pl

    from publicservices.default_plugins.els_generic import els_indicator_id
    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.errors import ReaderError
    from publicservices.frame import to_polars, validate_areas, validate_values
    from publicservices.published_numbers import missing_reason, number_from_text, symbol_meaning

    path = Path(path)
    raw = to_polars(path, name=path.name)
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    if not sniff_ees(raw.columns):
        raise ReaderError(
            f"{path.name}: not an Explore education statistics file: it needs columns {list(REQUIRED)}.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: pass the CSV as downloaded from explore-education-statistics.service.gov.uk."
        )
    raw = raw.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in raw.columns)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=raw.height)
    meta = _metadata(path, report)
    grouping: dict[str, str] = {}
    known = set(REQUIRED) | {c for codes, name in LEVELS.values() for c in (*codes, name)}
    rest = [c for c in raw.columns if c not in known and not ID_COLUMN.search(c)]
    if meta is not None:
        kinds = dict(meta.select("col_name", pl.col("col_type").str.to_lowercase()).iter_rows())
        # a filter's grouping column (breakdown_topic for breakdown) is named by the filter's row only
        if "filter_grouping_column" in meta.columns:
            groups = meta.filter(pl.col("filter_grouping_column").str.strip_chars() != "")
            grouping = dict(groups.select("col_name", pl.col("filter_grouping_column").str.strip_chars()).iter_rows())
        kinds.update({g: "filter" for g in grouping.values() if g in rest})
        measures = [c for c in rest if kinds.get(c) == "indicator"]
        filters = [c for c in rest if kinds.get(c) == "filter"]
        unnamed = [c for c in rest if c not in measures and c not in filters]
        if unnamed:
            report.notes.append(f"Columns not in {path.stem}.meta.csv, left out: {', '.join(unnamed)}.")
    else:
        # an indicator's cells are numbers or symbols (a column withheld throughout is all
        # symbols); a stray note ("n/a") in one in ten is read as not a number, while a
        # filter's cells are words
        cell = pl.col("_v")
        read = number_from_text(cell).is_not_null() | symbol_meaning(cell).is_not_null()
        filled = cell.is_not_null() & (cell != "")
        tally = {c: raw.select(pl.col(c).alias("_v")).select(read.sum().alias("r"), filled.sum().alias("n")).row(0) for c in rest}
        empty = [c for c, (_, n) in tally.items() if n == 0]
        if empty:
            report.notes.append(f"Empty column(s) left out: {', '.join(empty)}.")
        measures = [c for c, (r, n) in tally.items() if n and r >= 0.9 * n]
        filters = [c for c, (r, n) in tally.items() if n and r < 0.9 * n]
    if not measures:
        raise ReaderError(
            f"{path.name}: no indicator columns: every column besides time and geography is text ({', '.join(rest) or 'none'}).\n"
            "Fix: pass the data file, not its metadata; or add the .meta.csv file that names the indicators."
        )

    # -- where: each row's area, by its geographic level --------------------------------------
    level = pl.col("geographic_level").str.to_lowercase()
    code, name = pl.lit(None, pl.String), pl.lit(None, pl.String)
    for key, (code_cols, name_col) in LEVELS.items():
        present = [c for c in code_cols if c in raw.columns]
        if not present:
            continue
        blank = [pl.when(pl.col(c) != "").then(pl.col(c)) for c in present]
        code = pl.when(level == key).then(pl.coalesce(blank)).otherwise(code)
        if name_col in raw.columns:
            name = pl.when(level == key).then(pl.col(name_col)).otherwise(name)
    # the region an area lies in is its parent; a region's is its country
    region = pl.col("region_code") if "region_code" in raw.columns else pl.lit(None, pl.String)
    country = pl.col("country_code") if "country_code" in raw.columns else pl.lit(None, pl.String)
    parent = pl.when(level == "national").then(None).when(level == "regional").then(country).otherwise(region)
    frame = raw.with_columns(
        code.alias("area_code"), name.alias("area_name"), pl.when(parent != "").then(parent).alias("_parent")
    )
    no_area = frame.filter(pl.col("area_code").is_null())
    for lvl, n in no_area.group_by("geographic_level").len().sort("geographic_level").iter_rows():
        where = LEVELS.get((lvl or "").lower())
        report.set_aside[
            f"{lvl} rows with no {' or '.join(where[0])}"
            if where
            else f"rows at geographic level {lvl!r}, which has no area code this reader knows"
        ] = n
    frame = frame.filter(pl.col("area_code").is_not_null())

    # -- when ---------------------------------------------------------------------------------
    frame = pl.concat([frame, ees_period(frame.get_column("time_period"), frame.get_column("time_identifier"))], how="horizontal")
    undated = frame.filter(pl.col("period").is_null())
    for ti, n in undated.group_by("time_identifier").len().sort("time_identifier").iter_rows():
        report.set_aside[f"time period not understood ({ti!r})"] = n
    frame = frame.filter(pl.col("period").is_not_null())

    # -- breakdowns -----------------------------------------------------------------------------
    restricted: list[str] = []  # a filter with one value, not a total, in the whole file: every figure is of that group
    frame, category_type, category, split = breakdowns(frame, filters, grouping, restricted, report)
    frame = frame.with_columns(category_type.alias("category_type"), category.alias("category"))

    # -- values: one row per indicator ----------------------------------------------------------
    long = frame.unpivot(
        index=["area_code", "period", "period_start", "category_type", "category", *split],
        on=measures,
        variable_name="_column",
        value_name="_text",
    )
    suffix = pl.concat_str([pl.col(c) for c in split], separator=", ") if split else None
    long = long.with_columns(
        (pl.col("_column") + pl.lit(": ") + suffix if suffix is not None else pl.col("_column")).alias("_name")
    )
    value = number_from_text(pl.col("_text"))
    reason = missing_reason(pl.col("_text"), value)
    labels = _labels(meta)
    names = long.get_column("_name").unique(maintain_order=True).to_list()
    mapping: dict[str, str] = {}
    if restricted:
        # a registered indicator means the whole population: these columns are of one group only
        use_registered, indicator_ids = False, None
        report.notes.append(
            f"Every row is of one group ({'; '.join(restricted)}): its columns are read as generic indicators "
            "with the group in their titles, not as the registered indicators of the whole population."
        )
    from publicservices.default_plugins.els_mapping import _registered_indicators, registered_els_mappings

    if use_registered:
        registered, conflicts = registered_els_mappings("ees_indicators", "EES")
        mapping.update(registered)
        report.notes.extend(conflicts)
    mapping.update({k.strip().lower(): v for k, v in (indicator_ids or {}).items()})
    registry = _registered_indicators() if mapping else {}
    ids: dict[str, str] = {}
    indicators: dict[str, Any] = {}
    mapped: list[str] = []
    generated: list[str] = []
    for n in names:
        column = n.split(": ", 1)[0]
        target = mapping.get(column) if ": " not in n else None  # a split column is another population
        if target is not None and target in registry:
            ids[n] = target
            indicators[target] = registry[target]
            mapped.append(f"{column} -> {target}")
            continue
        if target is not None:
            report.notes.append(
                f"{column} is mapped to {target}, which no installed plugin registers: read as a generic indicator."
            )
        info = labels.get(column, {})
        title = info.get("label") or column
        if ": " in n:
            title = f"{title}: {n.split(': ', 1)[1]}"
        if restricted:
            title = f"{title} ({'; '.join(restricted)})"
        ind = _generic(title, column, info, path.name)
        ind_id = els_indicator_id(" ".join([n, *restricted]), sector=ind.sector)
        ids[n] = ind_id
        indicators[ind_id] = dataclasses.replace(ind, id=ind_id)
        generated.append(ind_id)
    values = long.with_columns(
        pl.col("_name").replace_strict(ids, return_dtype=pl.String).alias("indicator_id"),
        value.alias("value"),
        reason.alias("missing_reason"),
    )
    breakdown = values.get_column("category_type").is_not_null().any()
    values = values.select(
        "indicator_id",
        "area_code",
        "period",
        "period_start",
        *(["category_type", "category"] if breakdown else []),
        "value",
        "missing_reason",
    )
    values = validate_values(values)
    # The contract has a row per value: each row of the file holds one per indicator column.
    width = len(measures)
    report.rows_read *= width
    report.set_aside = Counter({why: n * width for why, n in report.set_aside.items()})
    report.rows_kept = values.height
    report.missing = missing_counts(values)
    report.notes.append(
        f"Each of the {raw.height:,} rows of the file holds {width} indicator value(s): read as rows of one value each."
    )
    if mapped:
        report.notes.append(f"{len(mapped)} indicator column(s) mapped to registered indicators: {', '.join(mapped)}.")
    counts = [i for i in generated if indicators[i].is_context]
    outcomes = [i for i in generated if not indicators[i].is_context]

    def listed(ids_: list[str]) -> str:
        return ", ".join(ids_[:4]) + (" ..." if len(ids_) > 4 else "")

    if outcomes:
        report.notes.append(
            f"{len(outcomes)} indicator column(s) as generic indicators ({listed(outcomes)}): the file does not say "
            "which direction is better, so areas are compared as higher or lower, never better or worse."
        )
    if counts:
        report.notes.append(
            f"{len(counts)} count column(s) as context ({listed(counts)}): a count of people describes the size of "
            "an area, so it is kept to explain outcomes but not compared."
        )
    areas = (
        frame.group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").drop_nulls().last(), pl.col("geographic_level").first(), pl.col("_parent").drop_nulls().last())
        .with_columns(area_type_expr(pl.col("area_code")).fill_null(pl.col("geographic_level")))
        .select("area_code", "area_name", "area_type", pl.col("_parent").alias("parent_code"), "geographic_level")
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


class _MappedEes:
    """The read function of a plugin's EES reader; ``ees_indicators`` is its column -> id mapping."""

    def __init__(self, name: str, mapping: Mapping[str, str]) -> None:
        self.name = name
        self.ees_indicators = {k.strip().lower(): v for k, v in mapping.items()}

    def __call__(self, path: Path, **options: Any) -> ReadResult:
        extra = options.pop("indicator_ids", None) or {}
        return read_ees(
            path, indicator_ids={**self.ees_indicators, **extra}, reader_name=self.name, use_registered=False, **options
        )


def mapped_ees_reader(name: str, mapping: Mapping[str, str], description: str | None = None) -> Reader:
    """A Reader for DfE Explore education statistics files whose indicator columns map onto a
    plugin's indicator ids (their titles, measures and directions).

    Register it from ``publicservices_readers`` (or pass it in ``sector_plugin(readers=...)``);
    the core ``dfe-ees`` reader also applies every registered mapping.

    Example:
        >>> reader = mapped_ees_reader("schools-ees", {"avg_att8": "schools.attainment8"})
        >>> reader.sniff(["time_period", "time_identifier", "geographic_level"]), reader.read.ees_indicators
        (True, {'avg_att8': 'schools.attainment8'})
    """
    return Reader(
        name=name,
        description=description
        or f"DfE Explore education statistics CSV, with {len(mapping)} indicator column(s) mapped to registered ids",
        sniff=sniff_ees,
        read=_MappedEes(name, mapping),
        extensions=(".csv",),
    )


# DfE names a count of people "t_<what>" (t_pupils) and labels it "Number of ...": the size of an
# area's cohort, which describes the area rather than how well it does
_COUNT = re.compile(r"^(t_|num_)|^(number|total number) of\b", re.IGNORECASE)


def _generic(title: str, column: str, info: dict[str, Any], source: str) -> Any:
    """A generic indicator for an EES column no plugin maps: measure and unit from the metadata
    file's unit, the DfE file as its source; counts of people are context, not compared."""
    from publicservices.default_plugins.els_generic import CONTEXT_SECTOR, generic_indicator
    from publicservices.default_plugins.els_metadata import ElsMetadata

    meta = ElsMetadata(key=column, label=title, unit=info.get("unit"), decimals=info.get("decimals"))
    ind = generic_indicator(title, None, info.get("unit"), source, meta)
    where = f"column {column} of {source}, a DfE Explore education statistics file"
    if _COUNT.search(column) or _COUNT.search(title):
        return dataclasses.replace(
            ind,
            id=f"{CONTEXT_SECTOR}.{ind.id.split('.', 1)[1]}",
            sector=CONTEXT_SECTOR,
            role="context",
            source=f"DfE Explore education statistics ({source})",
            definition=f"{title} ({where}). Context, not compared: a count of people describes the size of an area, "
            "not how well it does, and is used to explain outcomes.",
        )
    return dataclasses.replace(
        ind,
        source=f"DfE Explore education statistics ({source})",
        definition=f"{title} ({where}). Direction unknown: no installed plugin says whether higher is better, so "
        "areas are compared as higher or lower, never better or worse.",
    )


def _labels(meta: pl.DataFrame | None) -> dict[str, dict[str, Any]]:
    """col_name -> label, unit and decimals of each indicator in the metadata file."""

    if meta is None:
        return {}
    cols = meta.columns
    out: dict[str, dict[str, Any]] = {}
    for row in meta.iter_rows(named=True):
        dp = row.get("indicator_dp") if "indicator_dp" in cols else None
        out[row["col_name"]] = {
            "label": (row.get("label") or "").strip() or None,
            "unit": (row.get("indicator_unit") or "").strip() or None,
            "decimals": int(dp) if dp and str(dp).strip().isdigit() else None,
        }
    return out


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name=READER_NAME,
            description="DfE Explore education statistics open data CSV (time_period, time_identifier, geographic_level, filters, indicators)",
            sniff=sniff_ees,
            read=read_ees,
            extensions=(".csv",),
        )
    )
