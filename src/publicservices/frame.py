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

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.csv_files import MAX_SHOWN, read_table, tell
from publicservices.errors import DataError, SchemaError, problem
from publicservices.frame_checks import (
    Rule,
    cast_error,
    check_columns,
    conform,
    finite,
    nearest,
    not_null,
    plausible,
    printable,
    raise_first,
    row_labels,
    unique,
)
from publicservices.frame_schemas import (
    AREAS,
    BREAKDOWN_COLUMNS,
    MAX_MAGNITUDE,
    MIN_DENOMINATOR,
    PERIOD_YEARS,
    SET_COLUMN,
    SPEND,
    VALUES,
    Schema,
)

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
_NUMERIC = ("numerator", "denominator", "value", "lower_ci", "upper_ci")


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
    check_columns(frame, VALUES)
    if breakdowns is None:
        breakdowns = [c for c in BREAKDOWN_COLUMNS if c in frame.columns]
    # A frame laid out by comparable set (publicservices.comparison_values) holds an area once
    # per set it belongs to: the set is part of the key, as it is for every statistic.
    key = (*VALUES.key, *breakdowns, *([SET_COLUMN] if SET_COLUMN in frame.columns else []))
    for column in breakdowns:
        if column not in frame.columns:
            raise SchemaError(f"values: breakdown column {column!r} is missing.\nFix: add it or leave it out of breakdowns=.")
    derive_start = "period_start" not in frame.columns
    frame = conform(frame, VALUES, key)
    for column in breakdowns:
        dtype = frame.schema[column]
        if not printable(dtype):
            cast_error(
                frame,
                column,
                pl.String(),
                VALUES,
                key,
                frame.get_column(column).is_not_null(),
                f"holds {dtype} values, which are not categories",
            )
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in breakdowns if frame.schema[c] != pl.String)
    raise_first(frame, not_null(VALUES.key), key, VALUES)
    if derive_start:
        frame = frame.with_columns(period_start_from_label(pl.col("period")))
    # the checks in order, in one query each side of the indicator ids' (a frame that passes
    # costs two queries, not twenty: a site build validates a frame fifty times)
    rules = [
        *_period_rules(ordered),
        *finite(_NUMERIC),
        *plausible(_NUMERIC),
        *(
            Rule(
                pl.col(column) < 0,
                column,
                "is negative",
                "counts and denominators cannot be below zero; correct the source or blank the cell.",
            )
            for column in ("numerator", "denominator")
        ),
        Rule(
            (pl.col("denominator") > 0) & (pl.col("denominator") < MIN_DENOMINATOR),
            "denominator",
            "is above zero but implausibly small (below 10^-15)",
            "a denominator counts people, person-years or expected events; look for a unit error or a number "
            "mangled on export (such as 5e-324), and correct or blank the cell (0 where there is no one at risk).",
        ),
        Rule(
            pl.col("lower_ci") > pl.col("upper_ci"),
            "lower_ci",
            "is greater than upper_ci",
            "swap the two limit columns if they were read the wrong way round.",
        ),
    ]
    if indicators is not None:
        raise_first(frame, rules, key, VALUES)
        _check_indicator_ids(frame, indicators, key)
        rules = []
        proportions = [i for i, ind in indicators.items() if ind.measure == "proportion"]
        if proportions:
            is_prop = pl.col("indicator_id").is_in(proportions)
            rules += [
                Rule(
                    is_prop & (pl.col("numerator") > pl.col("denominator")),
                    "numerator",
                    "is greater than the denominator for a proportion",
                    "a proportion's numerator counts a subset of its denominator; check the two columns were not swapped.",
                ),
                Rule(
                    is_prop & (pl.col("denominator") == 0) & (pl.col("numerator") > 0),
                    "denominator",
                    "is zero for a proportion with a positive numerator",
                    "blank the denominator (and numerator) where there is no population at risk.",
                ),
            ]
    raise_first(frame, [*rules, unique(key)], key, VALUES)
    return frame


def _period_rules(ordered: bool) -> list[Rule]:
    first, last = PERIOD_YEARS
    return [
        Rule(
            pl.col("period_start").is_null() & ordered,
            "period_start",
            "is missing, so the period cannot be ordered",
            "add a period_start date column (YYYY-MM-DD), or use period labels like 2023, 2022/23 or 2024 Q1.",
        ),
        Rule(
            ~pl.col("period_start").dt.year().is_between(first, last),
            "period_start",
            f"is outside the years {first} to {last}",
            "correct the date or the period label; a year outside that range is a typo or a date read wrongly.",
        ),
        # One label must mean one start date within an indicator, or ordering is ambiguous.
        Rule(
            pl.col("period_start").n_unique().over("indicator_id", "period") > 1,
            "period_start",
            "differs between rows of the same period label",
            "give each period label a single period_start within an indicator.",
        ),
    ]


def _check_indicator_ids(frame: pl.DataFrame, indicators: Mapping[str, Indicator], key: Sequence[str]) -> None:
    unknown = frame.filter(~pl.col("indicator_id").is_in(list(indicators))).get_column("indicator_id").unique(maintain_order=True)
    if unknown.len():
        hints = []
        for uid in unknown.head(MAX_SHOWN).to_list():
            guess = nearest(uid, list(indicators))
            hints.append(f"{uid!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
        rows, total = row_labels(frame, ~frame.get_column("indicator_id").is_in(list(indicators)), key)
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
    check_columns(frame, AREAS)
    key = ("area_code", "area_name")
    frame = conform(frame, AREAS, key)
    numbers = ["population", "deprivation"]
    negative = Rule(pl.col("population") < 0, "population", "is negative", "populations cannot be below zero.")
    raise_first(
        frame, [*not_null(["area_code"]), *finite(numbers), *plausible(numbers), negative, unique(["area_code"])], key, AREAS
    )
    return frame


def validate_spend(data: FrameLike) -> pl.DataFrame:
    """Check and normalise a spend frame (pounds; net spend may be negative, but must be finite)."""
    frame = to_polars(data, name="spend")
    check_columns(frame, SPEND)
    frame = conform(frame, SPEND, SPEND.key)
    rules = [*not_null(SPEND.key), *finite(["spend"]), *plausible(["spend"]), unique(SPEND.key)]
    raise_first(frame, rules, SPEND.key, SPEND)
    return frame
