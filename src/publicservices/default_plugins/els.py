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
  registering :func:`mapped_els_reader`; any other name gets a generated id
  ``els.<slug>`` and a generic :class:`~publicservices.indicators.Indicator` (measure
  guessed from ``measure``/``unit``, polarity ``no_judgement``) returned in
  ``ReadResult.indicators``.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"start": ["2022-04-01", "2020-01-01", "2014-04-01", "2023-01-01"],
    ...                       "length": ["P1Y", "P3Y", "P3Y", "P1Y"]})
    >>> frame.select(period_label(pl.col("start").str.to_date(), pl.col("length"))).to_series().to_list()
    ['2022/23', '2020-22', '2014/15-2016/17', '2023']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import ReaderError, problem

from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult, count_reasons

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

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
]

ELS_COLUMNS = ("area_code", "area_name", "geography", "indicator", "period_start", "period_length",
               "value", "measure", "unit", "lower_ci", "upper_ci", "status", "notes")
_REQUIRED = ("area_code", "indicator", "period_start", "period_length", "value")
STATUS_REASONS: dict[str, str] = {
    "x": "not available (status x)",
    "u": "low reliability (status u)",
    "c": "confidential or suppressed (status c)",
    "z": "not applicable (status z)",
}
READER_NAME = "ons-els"


def sniff_els(columns: Sequence[str]) -> bool:
    """Does a header belong to the ELS layout? (needs area_code, indicator, period_start, period_length, value)"""
    return set(_REQUIRED) <= set(columns)


def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def els_indicator_id(name: str) -> str:
    """The generated id for an unmapped ELS indicator name.

    Example:
        >>> els_indicator_id("Children in relative poverty (before housing costs)")
        'els.children_in_relative_poverty_before_housing_costs'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:90] or "indicator"
    return f"els.{slug if slug[0].isalpha() else 'x' + slug}"


def generic_indicator(name: str, measure: str | None, unit: str | None, source: str) -> Any:
    """A generic Indicator for an unmapped ELS indicator, its measure guessed from ``measure``/``unit``.

    Percentages become proportions per 100; "rate per N" becomes a rate (a directly
    standardised rate when the text says standardised) per N; anything else a score.
    Polarity is ``no_judgement``: the file does not say which direction is better.

    Example:
        >>> generic_indicator("Homicide Offences", "Homicide Offences (rate per million population)",
        ...                   "Rate per 1,000,000 population", "homicides.csv").multiplier
        1000000.0
    """
    from publicservices.indicators import Indicator

    text = f"{measure or ''} {unit or ''}".casefold()
    kind, multiplier, shown_unit = "score", 1.0, (unit or measure or "").strip()
    if "percent" in text or "%" in text:
        kind, multiplier, shown_unit = "proportion", 100.0, "%"
    elif "rate" in text and "per" in text:
        match = re.search(r"per\s+([\d,]+|million|thousand|hundred thousand)", text)
        words = {"million": 1_000_000.0, "thousand": 1_000.0, "hundred thousand": 100_000.0}
        if match:
            token = match.group(1)
            multiplier = words.get(token) or float(token.replace(",", "") or 1)
            kind = "dsr" if "standardi" in text else "rate"
            shown_unit = f"per {multiplier:,.0f}"
    definition = f"{name}, as published in ONS Explore local statistics"
    if measure:
        definition += f" (measure: {measure.strip()})"
    return Indicator(
        id=els_indicator_id(name), title=name.strip() or "ELS indicator", sector="els", measure=kind,
        multiplier=multiplier, polarity="no_judgement", unit=shown_unit,
        source=f"ONS Explore local statistics ({source})", definition=definition + ".",
    )


def period_label(start: pl.Expr, length: pl.Expr) -> pl.Expr:
    """Human period labels from a start date and an ISO-8601 duration (see the module docstring).

    Years (``PnY``) give ``2023``, ``2022/23``, ``2020-22`` or ``2014/15-2016/17``;
    ``P3M`` from a quarter's first month gives ``2024 Q1``; ``P1M`` gives ``2024-03``;
    anything else gives ``<start> (<duration>)``.
    """
    import polars as pl

    years = length.str.extract(r"^P(\d+)Y$", 1).cast(pl.Int32, strict=False)
    months = length.str.extract(r"^P(\d+)M$", 1).cast(pl.Int32, strict=False)
    y = start.dt.year().cast(pl.Int32)
    m = start.dt.month().cast(pl.Int32)
    two = lambda e: (e % 100).cast(pl.String).str.zfill(2)  # noqa: E731
    split = pl.format("{}/{}", y.cast(pl.String), two(y + 1))
    last = y + years - 1
    return (
        pl.when((years == 1) & (m == 1) & (start.dt.day() == 1)).then(y.cast(pl.String))
        .when(years == 1).then(split)
        .when((years > 1) & (m == 1)).then(pl.format("{}-{}", y.cast(pl.String), two(last)))
        .when(years > 1).then(pl.format("{}-{}/{}", split, last.cast(pl.String), two(last + 1)))
        .when((months == 3) & m.is_in([1, 4, 7, 10])).then(pl.format("{} Q{}", y.cast(pl.String), ((m + 2) // 3).cast(pl.String)))
        .when(months == 1).then(pl.format("{}-{}", y.cast(pl.String), m.cast(pl.String).str.zfill(2)))
        .otherwise(pl.format("{} ({})", start.cast(pl.String), length))
        .alias("period")
    )


class _MappedEls:
    """The read function of a plugin's ELS reader; ``els_indicators`` is its name -> id mapping."""

    def __init__(self, name: str, mapping: Mapping[str, str]) -> None:
        self.name = name
        self.els_indicators = {_norm(k): v for k, v in mapping.items()}

    def __call__(self, path: Path, **options: Any) -> ReadResult:
        extra = options.pop("indicator_ids", None) or {}
        return read_els(path, indicator_ids={**self.els_indicators, **extra}, reader_name=self.name,
                        use_registered=False, **options)


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
        description=description or f"ONS Explore local statistics CSV, with {len(mapping)} indicator name(s) mapped to registered ids",
        sniff=sniff_els,
        read=_MappedEls(name, mapping),
        extensions=(".csv",),
    )


def registered_els_mappings() -> tuple[dict[str, str], list[str]]:
    """Every plugin's ELS name -> id mapping, merged, and notes on any conflict."""
    from publicservices.reading import readers

    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for reader in readers().values():
        mapping = getattr(reader.read, "els_indicators", None)
        for key, target in (mapping or {}).items():
            if key in merged and merged[key] != target:
                conflicts.append(f"ELS indicator {key!r} is mapped by {owner[key]!r} to {merged[key]!r} and by {reader.name!r} "
                                 f"to {target!r}; {merged[key]!r} was used.")
                continue
            merged.setdefault(key, target)
            owner.setdefault(key, reader.name)
    return merged, conflicts


def read_els(
    path: str | Path,
    *,
    indicator_ids: Mapping[str, str] | None = None,
    area_prefixes: Sequence[str] | None = None,
    use_registered: bool = True,
    reader_name: str = READER_NAME,
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
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ReaderError(
            f"{path.name}: not an Explore local statistics file: column(s) {missing} are missing.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: pass an ELS CSV, or read it with publicservices.read_csv(mapping=...)."
        )
    frame = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ELS_COLUMNS if c not in raw.columns)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in ELS_COLUMNS)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=frame.height)

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
            raise ReaderError(f"{path.name}: " + problem(column, "is empty", rows=rows, total=empty.height,
                                                         fix="every ELS row needs an area code, indicator name, period_start and period_length."))

    starts = pl.col("period_start").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    bad_start = frame.filter(starts.is_null())
    if bad_start.height:
        shown = bad_start.select(pl.format("{} | {} | {}", "area_code", "indicator", "period_start")).to_series().to_list()
        raise ReaderError(f"{path.name}: " + problem("period_start", "is not an ISO date (YYYY-MM-DD)", rows=shown, total=bad_start.height,
                                                     fix="correct the dates; ELS periods start on a YYYY-MM-DD date."))

    # Indicator ids: plugin mappings first, then generated ids for the rest.
    mapping: dict[str, str] = {}
    if use_registered:
        registered, conflicts = registered_els_mappings()
        mapping.update(registered)
        report.notes.extend(conflicts)
    mapping.update({_norm(k): v for k, v in (indicator_ids or {}).items()})
    names = frame.select("indicator", "measure", "unit").unique("indicator", keep="first", maintain_order=True)
    ids: dict[str, str] = {}
    indicators: dict[str, Any] = {}
    registry_indicators = _registered_indicators() if mapping else {}
    for name, measure, unit in names.iter_rows():
        target = mapping.get(_norm(name))
        if target is not None:
            ids[name] = target
            if target in registry_indicators:
                indicators[target] = registry_indicators[target]
        else:
            generic = generic_indicator(name, measure, unit, path.name)
            if generic.id in indicators:  # two names with the same slug stay two indicators
                n = sum(i == generic.id or i.startswith(generic.id + "_") for i in indicators) + 1
                generic = dataclasses.replace(generic, id=f"{generic.id[:95]}_{n}")
            ids[name] = generic.id
            indicators[generic.id] = generic
    generated = sorted(i for i in set(ids.values()) if i.startswith("els."))
    if generated:
        report.notes.append(f"{len(generated)} indicator(s) had no plugin mapping and got generic ids: {', '.join(generated)}.")

    status_code = pl.col("status").str.strip_chars().str.to_lowercase()
    value_text = pl.col("value").str.strip_chars()
    value = value_text.cast(pl.Float64, strict=False)
    not_number = value_text.is_not_null() & (value_text != "") & value.is_null()
    reason = (
        pl.when(value.is_not_null()).then(None)
        .when(status_code.is_in(list(STATUS_REASONS))).then(status_code.replace_strict(STATUS_REASONS, default=None))
        .when(not_number).then(pl.format("not a number in the source ({})", value_text))
        .when(pl.col("status").is_not_null()).then(pl.format("empty; status says: {}", pl.col("status")))
        .otherwise(pl.lit("empty in the source file"))
    )
    values = frame.with_columns(
        indicator_id=pl.col("indicator").replace_strict(ids, return_dtype=pl.String),
        period_start=starts,
        period_length=pl.col("period_length").str.strip_chars(),
    ).with_columns(
        period_label(pl.col("period_start"), pl.col("period_length")),
        value=value,
        lower_ci=pl.col("lower_ci").str.strip_chars().cast(pl.Float64, strict=False),
        upper_ci=pl.col("upper_ci").str.strip_chars().cast(pl.Float64, strict=False),
        missing_reason=reason,
        numerator=pl.lit(None, dtype=pl.Float64),
        denominator=pl.lit(None, dtype=pl.Float64),
    )
    # One label must mean one start within an indicator; where two starts share a label
    # (a financial and an academic year, say) the start date is added to tell them apart.
    clash = pl.col("period_start").n_unique().over("indicator_id", "period") > 1
    values = values.with_columns(
        pl.when(clash).then(pl.format("{} (from {})", "period", pl.col("period_start").cast(pl.String))).otherwise("period").alias("period")
    )
    unparsed_ci = frame.filter(
        (pl.col("lower_ci").str.strip_chars().fill_null("") != "") & pl.col("lower_ci").str.strip_chars().cast(pl.Float64, strict=False).is_null()
    ).height
    if unparsed_ci:
        report.notes.append(f"{unparsed_ci:,} lower_ci cells were not numbers and were left empty.")

    values = values.select(
        "indicator_id", "area_code", "period", "period_start", "numerator", "denominator", "value", "lower_ci", "upper_ci",
        "status", "missing_reason", "notes", "period_length",
    )
    values = validate_values(values)
    report.rows_kept = values.height
    report.missing = count_reasons(dict(values.filter(pl.col("missing_reason").is_not_null()).group_by("missing_reason").len().iter_rows()))
    flagged = values.filter(pl.col("value").is_not_null() & pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS)))
    for code, n in flagged.group_by(pl.col("status").str.strip_chars().str.to_lowercase()).len().sort("status").iter_rows():
        report.notes.append(f"{n:,} published values are flagged {STATUS_REASONS[code]}; kept, with the flag in 'status'.")
    free_status = values.filter(pl.col("status").is_not_null() & ~pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS)))
    for text, n in free_status.group_by("status").len().sort("len", "status", descending=[True, False]).head(3).iter_rows():
        report.notes.append(f"{n:,} rows have status {_clip(text)!r} (kept).")
    noted = values.filter(pl.col("notes").is_not_null())
    if noted.height:
        top = noted.group_by("notes").len().sort("len", "notes", descending=[True, False])
        examples = "; ".join(f"{_clip(t)!r} x{n}" for t, n in top.head(2).iter_rows())
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


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _registered_indicators() -> dict[str, Any]:
    from publicservices.errors import PluginError
    from publicservices.plugins import get_registry

    try:
        return get_registry().indicators()
    except PluginError:
        return {}


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
