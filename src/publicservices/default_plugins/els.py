"""The ONS *Explore local statistics* (ELS) CSV layout, read into the data contract.

ELS files (github.com/ONSdigital/explore-local-statistics-data) have one row per area,
indicator and period::

    area_code, area_name, geography, indicator, period_start, period_length, value,
    measure, unit, lower_ci, upper_ci, status, notes

* ``period_length`` is an ISO-8601 duration: ``P1Y`` from 1 January is the calendar year
  ``2023``; ``P1Y`` from any other month is a financial or academic year ``2023/24``;
  ``P3Y`` from 1 January is ``2020-22``; ``P3Y`` from 1 April is ``2014/15-2016/17``.
* ``status`` codes: ``x`` not available, ``u`` low reliability, ``c`` confidential
  (suppressed), ``z`` not applicable. A row whose value is empty is **kept** with a missing
  value and its reason in ``missing_reason``; the load report counts each reason. ``status``
  and ``notes`` are kept as columns (``u`` rows with a value stay usable but flagged).
* Indicator ids: a plugin can map ELS indicator names onto its own indicators by
  registering :func:`mapped_els_reader`; any other name gets a generated id and a generic
  :class:`~publicservices.indicators.Indicator` returned in ``ReadResult.indicators``:
  ``context.<slug>`` (``role="context"``) for population and deprivation measures, which
  describe an area rather than an outcome, and ``other.<slug>`` for the rest. A generic
  indicator's direction is unknown (polarity ``no_judgement``), and the load report says so:
  it is compared as higher or lower, never better or worse.
* Metadata sidecar: ELS publishes ``x/x.json`` beside each ``x/x.csv`` (an
  ``ess-beta-metadata`` object: one indicator's ``label``, ``suffix`` (unit), ``subText``,
  ``decimalPlaces``, ``sourceOrg``, ``longDescription``, ``caveats`` ...; or a ``shared``
  block plus one block per value of the ``indicator`` column). The reader looks for
  ``<stem>.json`` beside the CSV, then in a folder ``els_metadata`` beside the CSV (or beside
  its folder); failing both, it looks in ``els_metadata`` for a sidecar that names the file's
  indicators. For names no plugin maps, the sidecar gives the title, unit, decimal places,
  source and definition (and a label a plugin may map). A missing or malformed sidecar is a
  note in the load report, never an error.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"start": ["2022-04-01", "2020-01-01", "2014-04-01", "2023-01-01"],
    ...                       "length": ["P1Y", "P3Y", "P3Y", "P1Y"]})
    >>> frame.select(period_label(pl.col("start").str.to_date(), pl.col("length"))).to_series().to_list()
    ['2022/23', '2020-22', '2014/15-2016/17', '2023']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from publicservices.default_plugins.els_generic import els_indicator_id, generic_indicator
from publicservices.default_plugins.els_layout import (
    ELS_COLUMNS,
    REQUIRED_COLUMNS,
    STATUS_REASONS,
    period_label,
    sniff_els,
)
from publicservices.default_plugins.els_layout import norm_name as _norm
from publicservices.default_plugins.els_mapping import registered_els_mappings, resolve_indicators
from publicservices.default_plugins.els_metadata import ElsMetadata, find_els_metadata, read_els_metadata
from publicservices.errors import ReaderError, problem, short_text
from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult, missing_counts

__all__ = [
    "ELS_COLUMNS",
    "STATUS_REASONS",
    "sniff_els",
    "read_els",
    "mapped_els_reader",
    "registered_els_mappings",
    "period_label",
    "els_indicator_id",
    "generic_indicator",
    "ElsMetadata",
    "find_els_metadata",
    "read_els_metadata",
]

READER_NAME = "ons-els"


class _MappedEls:
    """The read function of a plugin's ELS reader; ``els_indicators`` is its name -> id mapping."""

    def __init__(self, name: str, mapping: Mapping[str, str]) -> None:
        self.name = name
        self.els_indicators = {_norm(k): v for k, v in mapping.items()}

    def __call__(self, path: Path, **options: Any) -> ReadResult:
        extra = options.pop("indicator_ids", None) or {}
        return read_els(
            path, indicator_ids={**self.els_indicators, **extra}, reader_name=self.name, use_registered=False, **options
        )


def mapped_els_reader(name: str, mapping: Mapping[str, str], description: str | None = None) -> Reader:
    """A Reader for ELS files whose indicator names map onto a plugin's indicator ids.

    Register it from ``publicservices_readers``; the core ``ons-els`` reader also applies
    every registered mapping, so ``ps.read(path)`` finds the plugin's ids without naming
    the reader.

    Example:
        >>> reader = mapped_els_reader("welfare-els", {"Claimant Count": "welfare.claimant_rate"})
        >>> reader.sniff(list(ELS_COLUMNS)), reader.read.els_indicators
        (True, {'claimant count': 'welfare.claimant_rate'})
    """
    return Reader(
        name=name,
        description=description
        or f"ONS Explore local statistics CSV, with {len(mapping)} indicator name(s) mapped to registered ids",
        sniff=sniff_els,
        read=_MappedEls(name, mapping),
        extensions=(".csv",),
    )


def read_els(
    path: str | Path,
    *,
    indicator_ids: Mapping[str, str] | None = None,
    area_prefixes: Sequence[str] | None = None,
    use_registered: bool = True,
    reader_name: str = READER_NAME,
    metadata: str | Path | bool | None = None,
) -> ReadResult:
    """Read an ONS Explore local statistics CSV into the data contract.

    Parameters:
        path: the CSV file.
        indicator_ids: extra ``{ELS indicator name: indicator id}`` mappings (names are
            matched ignoring case and repeated spaces).
        area_prefixes: keep only areas whose code starts with one of these (e.g.
            ``["E06", "E08", "E09", "E10"]`` for upper-tier authorities); the other rows
            are set aside and counted.
        use_registered: also apply the mappings registered by plugins (default True).
        metadata: the ELS metadata sidecar (``x.json``) for names no mapping knows: ``None``
            (default) looks for it (see the module docstring), a path uses that file, ``False``
            uses none.

    Returns:
        a :class:`~publicservices.reading.ReadResult` with values (plus ``status``,
        ``missing_reason``, ``notes`` and ``period_length`` columns), the areas frame
        (names, ``area_type`` from the code prefix, ``geography`` as published) and
        generic indicators for unmapped names.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read("claimant-count.csv")          # doctest: +SKIP
        >>> print(result.report.summary())                  # doctest: +SKIP
    """
    import polars as pl

    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.frame import to_polars, validate_areas, validate_values

    path = Path(path)
    raw = to_polars(path, name=path.name)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise ReaderError(
            f"{path.name}: not an Explore local statistics file: column(s) {missing} are missing.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: pass an ELS CSV, or read it with publicservices.read_csv(mapping=...)."
        )
    frame = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ELS_COLUMNS if c not in raw.columns)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in ELS_COLUMNS)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=frame.height)
    frame = _tidy_codes(frame, report)
    # the same row twice (files joined end to end) says nothing new: one is kept, the rest counted
    distinct = frame.unique(maintain_order=True)
    if distinct.height < frame.height:
        report.set_aside["exact duplicates of another row"] = frame.height - distinct.height
        frame = distinct

    if area_prefixes:
        keep = pl.col("area_code").str.slice(0, 3).is_in(list(area_prefixes))
        outside = frame.filter(~keep).height
        if outside:
            report.set_aside[f"area code outside {', '.join(area_prefixes)}"] = outside
        frame = frame.filter(keep)

    for column in ("area_code", "indicator", "period_start", "period_length"):
        empty = frame.filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
        if empty.height:
            rows = [f"row {i + 1}" for i in empty.with_row_index("_i").head(5).get_column("_i").to_list()]
            raise ReaderError(
                f"{path.name}: "
                + problem(
                    column,
                    "is empty",
                    rows=rows,
                    total=empty.height,
                    fix="every ELS row needs an area code, indicator name, period_start and period_length.",
                )
            )

    from publicservices.frame import PERIOD_YEARS

    parsed = pl.col("period_start").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    # A date Polars parses can still be nonsense (-0001-01-01): years outside PERIOD_YEARS are errors too.
    starts = pl.when(parsed.dt.year().is_between(*PERIOD_YEARS)).then(parsed)
    bad_start = frame.filter(starts.is_null())
    if bad_start.height:
        shown = (
            bad_start.head(5).select(pl.format("{} | {} | {}", "area_code", "indicator", "period_start")).to_series().to_list()
        )
        raise ReaderError(
            f"{path.name}: "
            + problem(
                "period_start",
                f"is not an ISO date (YYYY-MM-DD) from {PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}",
                rows=shown,
                total=bad_start.height,
                fix="correct the dates; ELS periods start on a YYYY-MM-DD date.",
            )
        )

    ids, indicators = resolve_indicators(
        frame, path, report, indicator_ids=indicator_ids, use_registered=use_registered, metadata=metadata
    )

    from publicservices.published_numbers import number_from_text, unread_note, unread_numbers, unread_reason

    status_code = pl.col("status").str.strip_chars().str.to_lowercase()
    value_text = pl.col("value").str.strip_chars()
    # "65.0%" is 65.0 where the row's unit or measure is a percentage (ELS values are 0-100)
    percent = (
        (pl.col("unit").str.strip_chars() == "%") | pl.col("measure").str.to_lowercase().str.contains("percent")
    ).fill_null(False)
    value = number_from_text(value_text, percent=percent)
    not_number = unread_numbers(value_text, value)
    reason = (
        pl.when(value.is_not_null())
        .then(None)
        .when(status_code.is_in(list(STATUS_REASONS)))
        .then(status_code.replace_strict(STATUS_REASONS, default=None))
        .when(not_number)
        .then(unread_reason(value_text))
        .when(pl.col("status").is_not_null())
        .then(pl.format("empty; status says: {}", pl.col("status")))
        .otherwise(pl.lit("empty in the source file"))
    )
    values = frame.with_columns(
        indicator_id=pl.col("indicator").replace_strict(ids, return_dtype=pl.String),
        period_start=starts,
        period_length=pl.col("period_length").str.strip_chars(),
    ).with_columns(
        period_label(pl.col("period_start"), pl.col("period_length")),
        value=value,
        lower_ci=number_from_text(pl.col("lower_ci"), percent=percent),
        upper_ci=number_from_text(pl.col("upper_ci"), percent=percent),
        missing_reason=reason,
        numerator=pl.lit(None, dtype=pl.Float64),
        denominator=pl.lit(None, dtype=pl.Float64),
    )
    # One label must mean one start within an indicator; where two starts share a label
    # (a financial and an academic year, say) the start date is added to tell them apart.
    clash = pl.col("period_start").n_unique().over("indicator_id", "period") > 1
    values = values.with_columns(
        pl.when(clash)
        .then(pl.format("{} (from {})", "period", pl.col("period_start").cast(pl.String)))
        .otherwise("period")
        .alias("period")
    )
    for limit in ("lower_ci", "upper_ci"):
        if note := unread_note(frame, limit, number_from_text(pl.col(limit), percent=percent)):
            report.notes.append(note)

    values = values.select(
        "indicator_id",
        "area_code",
        "period",
        "period_start",
        "numerator",
        "denominator",
        "value",
        "lower_ci",
        "upper_ci",
        "status",
        "missing_reason",
        "notes",
        "period_length",
    )
    values = validate_values(values)
    report.rows_kept = values.height
    report.missing = missing_counts(values)
    flagged = values.filter(
        pl.col("value").is_not_null() & pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS))
    )
    for code, n in flagged.group_by(pl.col("status").str.strip_chars().str.to_lowercase()).len().sort("status").iter_rows():
        report.notes.append(f"{n:,} published values are flagged {STATUS_REASONS[code]}; kept, with the flag in 'status'.")
    free_status = values.filter(
        pl.col("status").is_not_null() & ~pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS))
    )
    for text, n in free_status.group_by("status").len().sort("len", "status", descending=[True, False]).head(3).iter_rows():
        report.notes.append(f"{n:,} rows have status {short_text(text, 60)!r} (kept).")
    noted = values.filter(pl.col("notes").is_not_null())
    if noted.height:
        top = noted.group_by("notes").len().sort("len", "notes", descending=[True, False])
        examples = "; ".join(f"{short_text(t, 60)!r} x{n}" for t, n in top.head(2).iter_rows())
        report.notes.append(f"{noted.height:,} rows carry notes in {top.height} wording(s), e.g. {examples}.")

    areas = (
        frame.with_columns(starts.alias("_start"))
        .sort("_start", descending=True, nulls_last=True)
        .group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").drop_nulls().first(), pl.col("geography").drop_nulls().first())
        .with_columns(area_type_expr(pl.col("area_code")).fill_null(pl.col("geography")))
        .select("area_code", "area_name", "area_type", "geography")
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


def _tidy_codes(frame: Any, report: LoadReport) -> Any:
    """Area codes as ONS writes them: without the spaces around them or the lower case a
    spreadsheet can add (an ONS code is a capital and eight digits, so ' e06000001' is
    E06000001), and names without spaces around them; the codes changed are noted."""
    import polars as pl

    code = pl.col("area_code").str.strip_chars()
    code = pl.when(code.str.contains(r"^[a-z]\d{8}$")).then(code.str.to_uppercase()).otherwise(code)
    tidied = frame.with_columns(code.alias("area_code"), pl.col("area_name").str.strip_chars())
    changed = tidied.get_column("area_code").ne_missing(frame.get_column("area_code"))
    if changed.any():
        was, now = frame.get_column("area_code").filter(changed)[0], tidied.get_column("area_code").filter(changed)[0]
        report.notes.append(
            f"{changed.sum():,} area codes had spaces around them or were in lower case (e.g. {was!r}); read as ONS writes them ({now!r})."
        )
    return tidied


def _read_core(path: Path, **options: Any) -> ReadResult:
    return read_els(path, **options)


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name=READER_NAME,
            description="ONS Explore local statistics CSV (area_code, indicator, period_start, period_length, value, status ...)",
            sniff=sniff_els,
            read=_read_core,
            extensions=(".csv",),
        )
    )
