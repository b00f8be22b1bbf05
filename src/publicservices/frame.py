"""The tidy data contract, checked once at the door.

Three long frames carry everything (see DESIGN.md):

* **values** -- one row per indicator x area x period (x optional breakdown such as sex);
* **areas** -- one row per area: name, type, region, population, deprivation, covariates;
* **spend** -- one row per area x period x service: pounds spent.

``validate_values``, ``validate_areas`` and ``validate_spend`` accept a Polars DataFrame or
LazyFrame, a pandas DataFrame, or a CSV/Parquet path, and return a Polars DataFrame with
the contract's dtypes and column order (absent optional columns are added as nulls, other
columns are kept after them). Strings are cast where that is lossless (``"12"`` to 12.0);
anything else raises a :class:`~publicservices.errors.SchemaError` or
:class:`~publicservices.errors.DataError` that names the column, shows up to five
offending rows by key and says how to fix it. Nothing is dropped or coerced to null.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"indicator_id": ["health.x"], "area_code": ["E06000001"],
    ...                       "period": ["2023/24"], "numerator": ["12"], "denominator": [40]})
    >>> validate_values(frame).select("numerator", "denominator", "period_start").row(0)
    (12.0, 40.0, datetime.date(2023, 1, 1))
    >>> validate_values(frame.rename({"area_code": "area_cod"}))
    Traceback (most recent call last):
    ...
    publicservices.errors.SchemaError: values: required column 'area_code' is missing (did you mean 'area_cod'?).
    Columns present: indicator_id, area_cod, period, numerator, denominator.
    Fix: rename the column to 'area_code', or read the file with publicservices.read_csv(path, mapping={'your column': 'area_code'}).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.csv_files import MAX_SHOWN, read_table, short_text, tell
from publicservices.errors import DataError, SchemaError, problem

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Indicator

__all__ = [
    "VALUES",
    "AREAS",
    "SPEND",
    "BREAKDOWN_COLUMNS",
    "Schema",
    "validate_values",
    "validate_areas",
    "validate_spend",
    "to_polars",
    "period_start_from_label",
    "PERIOD_YEARS",
    "MAX_MAGNITUDE",
    "MIN_DENOMINATOR",
]

FrameLike = Any  # pl.DataFrame | pl.LazyFrame | pandas.DataFrame | str | Path


@dataclass(frozen=True)
class Schema:
    """A contract frame: its columns and dtypes, which are required, and its key."""

    name: str
    columns: Mapping[str, pl.DataType]
    required: tuple[str, ...]
    key: tuple[str, ...]

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=dict(self.columns))


VALUES = Schema(
    "values",
    {
        "indicator_id": pl.String(),
        "area_code": pl.String(),
        "period": pl.String(),
        "period_start": pl.Date(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
        "value": pl.Float64(),
        "lower_ci": pl.Float64(),
        "upper_ci": pl.Float64(),
    },
    required=("indicator_id", "area_code", "period"),
    key=("indicator_id", "area_code", "period"),
)
AREAS = Schema(
    "areas",
    {
        "area_code": pl.String(),
        "area_name": pl.String(),
        "area_type": pl.String(),
        "parent_code": pl.String(),
        "population": pl.Float64(),
        "deprivation": pl.Float64(),
    },
    required=("area_code",),
    key=("area_code",),
)
SPEND = Schema(
    "spend",
    {
        "area_code": pl.String(),
        "period": pl.String(),
        "service": pl.String(),
        "spend": pl.Float64(),
    },
    required=("area_code", "period", "service", "spend"),
    key=("area_code", "period", "service"),
)
# Optional breakdown columns of the values frame: part of the key when present.
BREAKDOWN_COLUMNS: tuple[str, ...] = ("sex", "age", "category_type", "category")
# The comparable set a row is compared within (added by publicservices.comparison_values).
SET_COLUMN = "comparable_set"
_NUMERIC = ("numerator", "denominator", "value", "lower_ci", "upper_ci")
#: The years a period may start in. Anything outside is a typo or a parsing accident
#: (``-0001-01-01``), and would break date arithmetic further on.
PERIOD_YEARS = (1800, 2200)
#: Larger than any count, population or sum of money in public services. A number above it is
#: a unit error or a parsing accident (``1e300``), and above 2**53 whole numbers stop being exact.
MAX_MAGNITUDE = 1e15
#: A denominator counts people, person-years or expected events: one above zero but below this
#: is a unit error or a number mangled on export (``5e-324``), and its reciprocal overflows the
#: statistics that weight by it.
MIN_DENOMINATOR = 1e-15
#: Columns the statistics add to a values frame (interval limits at a level: ``lower_95``,
#: ``upper_998``): a frame carrying them is a result passed on, not a misspelt contract column.
_DERIVED = re.compile(r"^(lower|upper)_\d+$")


# -- input ---------------------------------------------------------------------------------


def to_polars(data: FrameLike, *, name: str = "frame") -> pl.DataFrame:
    """Turn any accepted input into an eager Polars DataFrame.

    CSV files are read with every column as text, so that the contract's lossless casting
    (and its clear errors) decide each column's type rather than the CSV parser's guess.
    Files go through :func:`read_table`: what it had to do to read one (another encoding
    than UTF-8, old line endings, blank lines) goes to the load report of the reader at
    work (see :func:`read_notes`), or is a warning outside a reader.
    """
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, (str, Path)):
        frame, notes = read_table(data, name=name)
        tell(notes)
        return frame
    if _is_pandas(data):
        try:
            return pl.from_pandas(data)
        except Exception as exc:  # noqa: BLE001
            raise SchemaError(
                f"{name}: cannot convert the pandas DataFrame to Polars: {exc}\nFix: check its column dtypes."
            ) from exc
    raise SchemaError(
        f"{name}: expected a Polars DataFrame or LazyFrame, a pandas DataFrame, or a CSV/Parquet path; "
        f"got {type(data).__name__}.\nFix: pass one of those."
    )


def _is_pandas(obj: Any) -> bool:
    # Never import pandas ourselves: if it is not imported, obj cannot be a pandas frame.
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


# -- shared checks -------------------------------------------------------------------------


def _row_labels(frame: pl.DataFrame, mask: pl.Series | pl.Expr, key: Sequence[str]) -> tuple[list[str], int]:
    """Up to five offending rows, shown by key (with row numbers), and how many there are."""
    cols = [c for c in key if c in frame.columns]
    bad = frame.with_row_index("_row").filter(mask)
    total = bad.height
    # Lists, structs and binary cells cannot be cast to text: they are shown as Python shows them.
    shown = bad.head(MAX_SHOWN).select(
        "_row", *[pl.col(c).cast(pl.String) if _printable(frame.schema[c]) else pl.col(c) for c in cols]
    )
    labels = [
        f"row {r[0] + 1}: " + " | ".join(short_text("<null>" if v is None else str(v)) for v in r[1:])
        if cols
        else f"row {r[0] + 1}"
        for r in shown.iter_rows()
    ]
    return labels, total


def _printable(dtype: pl.DataType) -> bool:
    """Can a column of this type be cast to text?"""
    return not (dtype.is_nested() or dtype in (pl.Binary, pl.Object))


def _nearest(name: str, candidates: Sequence[str]) -> str | None:
    lowered = {c.lower().strip(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _check_columns(frame: pl.DataFrame, schema: Schema, extra_required: Sequence[str] = ()) -> None:
    present = frame.columns
    for column in (*schema.required, *extra_required):
        if column in present:
            continue
        guess = _nearest(column, [c for c in present if c not in schema.columns])
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise SchemaError(
            f"{schema.name}: required column {column!r} is missing{hint}.\n"
            f"Columns present: {', '.join(present)}.\n"
            f"Fix: rename the column to {column!r}, or read the file with "
            f"publicservices.read_csv(path, mapping={{'your column': {column!r}}})."
        )
    # An unknown column that looks like an absent contract column is almost surely a typo:
    # ignoring it would silently lose that data.
    absent = [c for c in schema.columns if c not in present]
    for column in present:
        if column in schema.columns or column in BREAKDOWN_COLUMNS or _DERIVED.match(column):
            continue
        guess = _nearest(column, absent)
        if guess:
            raise SchemaError(
                f"{schema.name}: column {column!r} is not in the data contract; it looks like a misspelling of {guess!r}.\n"
                f"Fix: rename {column!r} to {guess!r} (or to something unlike any contract column if it is extra data)."
            )


def _cast_column(frame: pl.DataFrame, column: str, dtype: pl.DataType, schema: Schema, key: Sequence[str]) -> pl.Series:
    """Cast one column losslessly or raise, naming the rows whose values would change."""
    series = frame.get_column(column)
    if series.dtype == dtype:
        return series
    if series.dtype == pl.Null:
        return series.cast(dtype)
    source = series.dtype
    if dtype == pl.String():
        if source.is_integer() or source == pl.Categorical or source == pl.Enum:
            return series.cast(pl.String)
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, which are not codes")
    if dtype == pl.Float64():
        if source.is_numeric():
            cast = series.cast(pl.Float64)
            # Integers beyond 2**53 do not survive as floats.
            if source.is_integer():
                lossy = series.is_not_null() & (cast.cast(source, strict=False) != series)
                if lossy.any():
                    return _cast_error(frame, column, dtype, schema, key, lossy, "holds integers too large to store exactly")
            return cast
        if source == pl.String:
            stripped = series.str.strip_chars()
            cast = stripped.cast(pl.Float64, strict=False)
            bad = stripped.is_not_null() & (stripped != "") & cast.is_null()
            if bad.any():
                examples = series.filter(bad).unique(maintain_order=True).head(3).to_list()
                return _cast_error(
                    frame,
                    column,
                    dtype,
                    schema,
                    key,
                    bad,
                    f"holds text that is not a number (e.g. {', '.join(repr(e) for e in examples)})",
                )
            empty = stripped.is_not_null() & (stripped == "")
            return pl.Series(column, cast).set(empty, None) if empty.any() else cast
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not numbers")
    if dtype == pl.Date():
        if source == pl.Datetime or isinstance(source, pl.Datetime):
            cast = series.dt.date()
            lossy = series.is_not_null() & (series.dt.truncate("1d") != series)
            if lossy.any():
                return _cast_error(frame, column, dtype, schema, key, lossy, "holds date-times with a time of day")
            return cast
        if source == pl.String:
            stripped = series.str.strip_chars()
            cast = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = stripped.is_not_null() & cast.is_null()
            if bad.any():
                return _cast_error(frame, column, dtype, schema, key, bad, "holds text that is not an ISO date (YYYY-MM-DD)")
            return cast
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not dates")
    raise AssertionError(f"no cast rule for {dtype}")  # pragma: no cover - schemas only use the three


def _cast_error(frame, column, dtype, schema, key, mask, what) -> pl.Series:  # noqa: ANN001
    rows, total = _row_labels(frame, mask, key)
    raise SchemaError(
        f"{schema.name}: "
        + problem(
            column,
            f"{what} and cannot be converted to {dtype} without losing information",
            rows=rows,
            total=total,
            fix=f"correct or blank out those cells so that {column!r} holds only {dtype} values.",
        )
    )


def _conform(frame: pl.DataFrame, schema: Schema, key: Sequence[str]) -> pl.DataFrame:
    """Cast present contract columns, add absent ones as nulls, contract columns first."""
    cast = {c: _cast_column(frame, c, dt, schema, key) for c, dt in schema.columns.items() if c in frame.columns}
    missing = [pl.lit(None, dtype=dt).alias(c) for c, dt in schema.columns.items() if c not in frame.columns]
    out = frame.with_columns(*cast.values(), *missing) if (cast or missing) else frame
    extra = [c for c in frame.columns if c not in schema.columns]
    return out.select(*schema.columns, *extra)


def _raise_if(
    frame: pl.DataFrame,
    mask: pl.Expr,
    column: str | None,
    what: str,
    fix: str,
    key: Sequence[str],
    schema: Schema,
    error: type = DataError,
) -> None:
    flags = frame.select(mask.fill_null(False).alias("_bad")).get_column("_bad")
    if flags.any():
        rows, total = _row_labels(frame, flags, key)
        raise error(f"{schema.name}: " + problem(column, what, rows=rows, total=total, fix=fix))


def _check_not_null(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(
            frame,
            pl.col(column).is_null(),
            column,
            "is empty",
            key=key,
            schema=schema,
            fix=f"every row needs a {column!r}: fill it in, or remove rows that are not data (such as totals or notes).",
        )


def _check_finite(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(
            frame,
            pl.col(column).is_nan() | pl.col(column).is_infinite(),
            column,
            "holds NaN or infinite values",
            key=key,
            schema=schema,
            fix="leave missing values empty (null) instead of NaN, and check the division that made infinities.",
        )


def _check_magnitude(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(
            frame,
            pl.col(column).abs() > MAX_MAGNITUDE,
            column,
            "is implausibly large (above 10^15)",
            key=key,
            schema=schema,
            fix="no count, population or sum of money in public services is this large; look for a unit error, "
            "a misplaced column, or a number mangled on export (such as 1e300), and correct or blank the cell.",
        )


def _check_unique(frame: pl.DataFrame, key: Sequence[str], schema: Schema) -> None:
    mask = pl.struct(key).is_duplicated()
    _raise_if(
        frame,
        mask,
        ", ".join(key),
        "has duplicated keys",
        key=key,
        schema=schema,
        fix=f"keep one row per ({', '.join(key)}); if rows differ by a breakdown (sex, age ...), add that column.",
    )


# -- periods -------------------------------------------------------------------------------


def period_start_from_label(label: pl.Expr) -> pl.Expr:
    """Derive a sortable ``period_start`` from labels like ``2023``, ``2022/23``, ``2021-23``, ``2024 Q2``.

    The start is only used for ordering: ``2022/23`` and ``2022-24`` both start on
    1 January 2022 (the first year). Labels in no known pattern give null, which validation
    reports as a period that cannot be ordered.

    Example:
        >>> import polars as pl
        >>> pl.DataFrame({"p": ["2022/23", "2019", "2024 Q3", "2020-01-31", "later"]}).select(
        ...     period_start_from_label(pl.col("p"))).to_series().to_list()
        [datetime.date(2022, 1, 1), datetime.date(2019, 1, 1), datetime.date(2024, 7, 1), datetime.date(2020, 1, 31), None]
    """
    text = label.str.strip_chars()
    year = text.str.extract(r"^(\d{4})(?:\s*(?:[/\-–]\s*(?:\d{2}|\d{4}))?)$", 1)
    quarter = text.str.extract(r"(?i)^(\d{4})\s*[- ]?Q([1-4])$", 2)
    quarter_year = text.str.extract(r"(?i)^(\d{4})\s*[- ]?Q([1-4])$", 1)
    iso = text.str.to_date("%Y-%m-%d", strict=False)
    return (
        pl.when(iso.is_not_null())
        .then(iso)
        .when(year.is_not_null())
        .then(pl.date(year.cast(pl.Int32, strict=False), 1, 1))
        .when(quarter.is_not_null())
        .then(pl.date(quarter_year.cast(pl.Int32, strict=False), quarter.cast(pl.Int32, strict=False) * 3 - 2, 1))
        .otherwise(None)
        .alias("period_start")
    )


# -- the three validators ------------------------------------------------------------------


def validate_values(
    data: FrameLike,
    indicators: Mapping[str, Indicator] | None = None,
    *,
    breakdowns: Sequence[str] | None = None,
    ordered: bool = True,
) -> pl.DataFrame:
    """Check and normalise a values frame.

    Parameters:
        data: frame, pandas frame, or CSV/Parquet path.
        indicators: known indicators by id; when given, unknown ids are an error and
            proportions are checked for numerator <= denominator.
        breakdowns: extra key columns (default: whichever of ``sex``, ``age``,
            ``category_type``, ``category`` are present). A ``comparable_set`` column (a
            frame laid out by :func:`publicservices.comparison_values`) is part of the key too.
        ordered: when False, a period whose start cannot be derived from its label keeps a
            null ``period_start`` instead of being an error: for a statistic that orders such
            periods by their labels (``ps.fairness``). A ``period_start`` that is given is
            still checked.

    Every public function that takes a plain values frame instead of a Dataset (``ps.outcomes``,
    ``ps.fairness``, ``ps.compare``, ``ps.rank_areas`` ...) checks it here first, so a frame
    is held to the same contract whichever door it comes through.

    Returns:
        The frame with contract dtypes; absent optional columns added as nulls;
        ``period_start`` derived from the period label where absent.
    """
    frame = to_polars(data, name="values")
    _check_columns(frame, VALUES)
    if breakdowns is None:
        breakdowns = [c for c in BREAKDOWN_COLUMNS if c in frame.columns]
    # A frame laid out by comparable set (publicservices.comparison_values) holds an area once
    # per set it belongs to: the set is part of the key, as it is for every statistic.
    key = (*VALUES.key, *breakdowns, *([SET_COLUMN] if SET_COLUMN in frame.columns else []))
    for column in breakdowns:
        if column not in frame.columns:
            raise SchemaError(f"values: breakdown column {column!r} is missing.\nFix: add it or leave it out of breakdowns=.")
    derive_start = "period_start" not in frame.columns
    frame = _conform(frame, VALUES, key)
    for column in breakdowns:
        dtype = frame.schema[column]
        if not _printable(dtype):
            _cast_error(
                frame,
                column,
                pl.String(),
                VALUES,
                key,
                frame.get_column(column).is_not_null(),
                f"holds {dtype} values, which are not categories",
            )
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in breakdowns if frame.schema[c] != pl.String)
    _check_not_null(frame, VALUES.key, VALUES, key)
    if derive_start:
        frame = frame.with_columns(period_start_from_label(pl.col("period")))
    _check_periods(frame, key, ordered=ordered)
    _check_finite(frame, _NUMERIC, VALUES, key)
    _check_magnitude(frame, _NUMERIC, VALUES, key)
    for column in ("numerator", "denominator"):
        _raise_if(
            frame,
            pl.col(column) < 0,
            column,
            "is negative",
            key=key,
            schema=VALUES,
            fix="counts and denominators cannot be below zero; correct the source or blank the cell.",
        )
    _raise_if(
        frame,
        (pl.col("denominator") > 0) & (pl.col("denominator") < MIN_DENOMINATOR),
        "denominator",
        "is above zero but implausibly small (below 10^-15)",
        key=key,
        schema=VALUES,
        fix="a denominator counts people, person-years or expected events; look for a unit error or a number "
        "mangled on export (such as 5e-324), and correct or blank the cell (0 where there is no one at risk).",
    )
    _raise_if(
        frame,
        pl.col("lower_ci") > pl.col("upper_ci"),
        "lower_ci",
        "is greater than upper_ci",
        key=key,
        schema=VALUES,
        fix="swap the two limit columns if they were read the wrong way round.",
    )
    if indicators is not None:
        _check_indicator_ids(frame, indicators, key)
        proportions = [i for i, ind in indicators.items() if ind.measure == "proportion"]
        if proportions:
            is_prop = pl.col("indicator_id").is_in(proportions)
            _raise_if(
                frame,
                is_prop & (pl.col("numerator") > pl.col("denominator")),
                "numerator",
                "is greater than the denominator for a proportion",
                key=key,
                schema=VALUES,
                fix="a proportion's numerator counts a subset of its denominator; check the two columns were not swapped.",
            )
            _raise_if(
                frame,
                is_prop & (pl.col("denominator") == 0) & (pl.col("numerator") > 0),
                "denominator",
                "is zero for a proportion with a positive numerator",
                key=key,
                schema=VALUES,
                fix="blank the denominator (and numerator) where there is no population at risk.",
            )
    _check_unique(frame, key, VALUES)
    return frame


def _check_periods(frame: pl.DataFrame, key: Sequence[str], *, ordered: bool = True) -> None:
    _raise_if(
        frame,
        pl.col("period_start").is_null() & ordered,
        "period_start",
        "is missing, so the period cannot be ordered",
        key=key,
        schema=VALUES,
        fix="add a period_start date column (YYYY-MM-DD), or use period labels like 2023, 2022/23 or 2024 Q1.",
    )
    first, last = PERIOD_YEARS
    _raise_if(
        frame,
        ~pl.col("period_start").dt.year().is_between(first, last),
        "period_start",
        f"is outside the years {first} to {last}",
        key=key,
        schema=VALUES,
        fix="correct the date or the period label; a year outside that range is a typo or a date read wrongly.",
    )
    # One label must mean one start date within an indicator, or ordering is ambiguous.
    clash = pl.col("period_start").n_unique().over("indicator_id", "period") > 1
    _raise_if(
        frame,
        clash,
        "period_start",
        "differs between rows of the same period label",
        key=key,
        schema=VALUES,
        fix="give each period label a single period_start within an indicator.",
    )


def _check_indicator_ids(frame: pl.DataFrame, indicators: Mapping[str, Indicator], key: Sequence[str]) -> None:
    unknown = frame.filter(~pl.col("indicator_id").is_in(list(indicators))).get_column("indicator_id").unique(maintain_order=True)
    if unknown.len():
        hints = []
        for uid in unknown.head(MAX_SHOWN).to_list():
            guess = _nearest(uid, list(indicators))
            hints.append(f"{uid!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
        rows, total = _row_labels(frame, ~frame.get_column("indicator_id").is_in(list(indicators)), key)
        raise DataError(
            "values: "
            + problem(
                "indicator_id",
                f"holds {unknown.len()} unknown indicator id(s): {', '.join(hints)}",
                rows=rows,
                total=total,
                fix="use registered ids (see `publicservices indicators`), register the indicator through a plugin, "
                "or pass its definition in indicators=.",
            )
        )


def validate_areas(data: FrameLike) -> pl.DataFrame:
    """Check and normalise an areas frame (``area_code`` unique; population >= 0; finite numbers no larger than 10^15)."""
    frame = to_polars(data, name="areas")
    _check_columns(frame, AREAS)
    key = ("area_code", "area_name")
    frame = _conform(frame, AREAS, key)
    _check_not_null(frame, ["area_code"], AREAS, key)
    _check_finite(frame, ["population", "deprivation"], AREAS, key)
    _check_magnitude(frame, ["population", "deprivation"], AREAS, key)
    _raise_if(
        frame,
        pl.col("population") < 0,
        "population",
        "is negative",
        key=key,
        schema=AREAS,
        fix="populations cannot be below zero.",
    )
    _check_unique(frame, ["area_code"], AREAS)
    return frame


def validate_spend(data: FrameLike) -> pl.DataFrame:
    """Check and normalise a spend frame (pounds; net spend may be negative, but must be finite)."""
    frame = to_polars(data, name="spend")
    _check_columns(frame, SPEND)
    frame = _conform(frame, SPEND, SPEND.key)
    _check_not_null(frame, SPEND.key, SPEND, SPEND.key)
    _check_finite(frame, ["spend"], SPEND, SPEND.key)
    _check_magnitude(frame, ["spend"], SPEND, SPEND.key)
    _check_unique(frame, SPEND.key, SPEND)
    return frame
