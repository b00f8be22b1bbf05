"""Tables of one measure with a column per period, as many official releases lay them out.

A table saved from a release's spreadsheet often has a row per area and a column per year::

    Area code, Area name, 2019, 2020, 2021/22, 2022/23

The ``wide-periods`` reader turns it into the data contract: one value per area and period
column, of one generic indicator named after the file (``other.<file name>``; a workbook's
sheet, when one is named, joins the name). Nothing in
such a table says what the measure is, its unit or which direction is better, so the
indicator is compared as higher or lower, never better or worse, and the load report says so
(a project file or a plugin can give it a direction).

* **The columns it reads:** one area code column (a name ending in "code": ``Area code``,
  ``LA code``, ``ONS code`` ...), optional name columns (``Area name``, ``Name``,
  ``Geography`` ...) and two or more period columns. A table with any other column is left
  to other readers.
* **Period columns:** ``2023``; ``2022/23``, ``2022-23`` or ``2022/2023`` (taken to start on 1
  April, as financial years do: the start only orders the periods, and the label is kept as
  written); ``Mar 2024`` or ``Mar-24``; ``2024 Q1`` or ``Q1 2024``; ``year ending Mar 2024``.
* **Cells:** numbers as spreadsheets write them (thousands separators); symbols for withheld
  numbers (``c``, ``[x]`` ...) are missing values with what they mean; other text is "not a
  number", counted in the load report.

Example:
    >>> period_of("2022/23"), period_of("Mar-24"), period_of("year ending Mar 2024"), period_of("Total")
    (datetime.date(2022, 4, 1), datetime.date(2024, 3, 1), datetime.date(2023, 4, 1), None)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult, missing_counts

__all__ = ["READER_NAME", "sniff_wide_periods", "read_wide_periods", "period_of"]

READER_NAME = "wide-periods"
_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"^(\d{4})$"), lambda m: dt.date(int(m[1]), 1, 1)),
    (re.compile(r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})$"), lambda m: _span(int(m[1]), m[2])),
    (re.compile(rf"^{_MONTH}[\s-]+(\d{{2}}|\d{{4}})$"), lambda m: dt.date(_year(m[2]), _MONTHS[m[1]], 1)),
    (re.compile(r"^(\d{4})\s*q([1-4])$"), lambda m: dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)),
    (re.compile(r"^q([1-4])\s*(\d{4})$"), lambda m: dt.date(int(m[2]), 3 * int(m[1]) - 2, 1)),
    (re.compile(rf"^(?:year ending|ye)\s+{_MONTH}\s+(\d{{4}})$"), lambda m: _after(int(m[2]) - 1, _MONTHS[m[1]])),
)
# area name columns, compared lower-case with "_" read as a space
_NAMES = re.compile(r"^(.* )?name$|^(area|geography|local authority|la|region|country|force|trust|organisation)$")


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _span(first: int, second: str) -> dt.date | None:
    """1 April of a two-year span's first year (2022/23, 2022-23, 2022/2023); None unless the
    second year follows the first."""
    follows = int(second) == (first + 1) % (100 if len(second) == 2 else 10_000)
    return dt.date(first, 4, 1) if follows else None


def _after(year: int, month: int) -> dt.date:
    """The first day of the month after ``month`` of ``year``: where a year ending then began."""
    return dt.date(year + month // 12, month % 12 + 1, 1)


def period_of(label: str) -> dt.date | None:
    """The start of the period a column name labels, or None if it labels no period."""
    text = " ".join(label.strip().lower().split())
    for pattern, start in _PATTERNS:
        if match := pattern.match(text):
            return start(match)
    return None


def _roles(columns: Sequence[str]) -> tuple[str | None, list[str], list[str], list[str]]:
    """The area code column, the name columns, the period columns and any other columns."""
    codes, names, periods, other = [], [], [], []
    for c in columns:
        key = " ".join(c.strip().lower().replace("_", " ").split())
        if period_of(c) is not None:
            periods.append(c)
        elif key == "code" or key.endswith(" code"):
            codes.append(c)
        elif _NAMES.match(key):
            names.append(c)
        else:
            other.append(c)
    return (codes[0] if len(codes) == 1 else None), names, periods, other + codes[1:]


def sniff_wide_periods(columns: Sequence[str]) -> bool:
    code, _, periods, other = _roles(columns)
    return code is not None and len(periods) >= 2 and not other


def read_wide_periods(path: str | Path) -> ReadResult:
    """Read a table with a row per area and a column per period (see the module docstring).

    Example:
        >>> import publicservices as ps
        >>> ps.read("claimants_by_year.csv").report.reader   # doctest: +SKIP
        'wide-periods'
    """
    import dataclasses

    import polars as pl

    from publicservices.default_plugins.els_generic import els_indicator_id, generic_indicator
    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.errors import ReaderError
    from publicservices.frame import to_polars, validate_areas, validate_values
    from publicservices.published_numbers import missing_reason, number_from_text
    from publicservices.workbooks import named_sheet

    path = Path(path)
    raw = to_polars(path, name=path.name)
    code, names, periods, other = _roles(raw.columns)
    if code is None or len(periods) < 2 or other:
        raise ReaderError(
            f"{path.name}: not a table of one area code column and two or more period columns "
            f"(other columns: {', '.join(other) or 'none'}; periods: {', '.join(periods) or 'none'}).\n"
            "Fix: keep the area code, its name and the period columns (2019, 2022/23, Mar 2024 ...), or map the "
            "columns with publicservices.read_csv."
        )
    report = LoadReport(source=path.name, reader=READER_NAME, rows_read=raw.height * len(periods))
    frame = raw.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in raw.columns)
    frame = frame.with_columns(pl.col(code).alias("area_code"))
    no_code = frame.filter(pl.col("area_code").is_null() | (pl.col("area_code") == ""))
    if no_code.height:
        report.set_aside["rows without an area code (totals or notes)"] = no_code.height * len(periods)
    frame = frame.filter(pl.col("area_code").is_not_null() & (pl.col("area_code") != ""))
    starts = {c: period_of(c) for c in periods}
    long = frame.unpivot(index=["area_code"], on=periods, variable_name="period", value_name="_text").with_columns(
        pl.col("period").str.strip_chars()
    )
    long = long.with_columns(
        pl.col("period").replace_strict({c.strip(): s for c, s in starts.items()}, return_dtype=pl.Date).alias("period_start")
    )
    value = number_from_text(pl.col("_text"))
    sheet = named_sheet()
    # a workbook's tables are told apart by their sheets
    name = re.sub(r"[_\s]+", " ", " ".join(filter(None, [path.stem, sheet]))).strip() or "Indicator"
    name = name[:1].upper() + name[1:]
    generic = generic_indicator(name, None, None, path.name)
    ind_id = els_indicator_id(name, generic.sector)
    judged = (
        "it describes areas (their population or deprivation), so it is context, not compared"
        if generic.is_context
        else "it does not say what it measures, its unit or which direction is better, so areas are compared as "
        "higher or lower, never better or worse"
    )
    indicator = dataclasses.replace(
        generic, id=ind_id, source=path.name, definition=f"The values of {path.name}, a table with a column per period; {judged}."
    )
    values = validate_values(
        long.select(
            pl.lit(ind_id).alias("indicator_id"),
            "area_code",
            "period",
            "period_start",
            value.alias("value"),
            missing_reason(pl.col("_text"), value).alias("missing_reason"),
        )
    )
    report.rows_kept = values.height
    report.missing = missing_counts(values)
    gss = float(frame.get_column("area_code").str.contains(r"^[A-Z]\d{8}$").cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
    report.notes += [
        f"Each of the {raw.height:,} rows holds a value for each of {len(periods)} periods ({periods[0]} to {periods[-1]}): "
        "read as rows of one value each.",
        f"One indicator, {ind_id}, named after the file{' and its sheet' if sheet else ''}: {judged}. "
        "A project file (publicservices init) can give "
        "it a title and a direction.",
    ]
    if any(re.match(r"^\d{4}\s*[/-]", c.strip()) for c in periods):
        report.notes.append(
            "Periods such as 2022/23 are taken to start on 1 April of their first year, as financial years do: the "
            "start only orders the periods; their labels are kept as written."
        )
    if gss < 0.9:
        report.notes.append(
            f"Only {gss:.0%} of the codes in {code!r} look like ONS area codes (E06000001): areas of unknown kind "
            "cannot be sorted into comparable sets."
        )
    area_name = pl.coalesce([pl.col(c) for c in names]) if names else pl.lit(None, pl.String)
    areas = (
        frame.group_by("area_code", maintain_order=True)
        .agg(area_name.drop_nulls().first().alias("area_name"))
        .with_columns(area_type_expr(pl.col("area_code")))
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators={ind_id: indicator})


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name=READER_NAME,
            description="A table of one measure with a row per area and a column per period (Area code, Area name, 2019, 2020 ...)",
            sniff=sniff_wide_periods,
            read=read_wide_periods,
            extensions=(".csv", ".parquet", ".pq"),
        )
    )
