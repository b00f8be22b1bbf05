"""The contract's shared checks: lossless casts, and errors that name the column and show the offending rows."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from publicservices.csv_files import MAX_SHOWN, short_text
from publicservices.errors import DataError, SchemaError, problem
from publicservices.frame_schemas import BREAKDOWN_COLUMNS, MAX_MAGNITUDE, Schema

__all__ = [
    "row_labels",
    "printable",
    "nearest",
    "check_columns",
    "cast_column",
    "cast_error",
    "conform",
    "raise_if",
    "Rule",
    "raise_first",
    "not_null",
    "finite",
    "plausible",
    "unique",
]

#: Columns the statistics add to a values frame (interval limits at a level: ``lower_95``,
#: ``upper_998``): a frame carrying them is a result passed on, not a misspelt contract column.
_DERIVED = re.compile(r"^(lower|upper)_\d+$")


def row_labels(frame: pl.DataFrame, mask: pl.Series | pl.Expr, key: Sequence[str]) -> tuple[list[str], int]:
    """Up to five offending rows, shown by key (with row numbers), and how many there are."""
    cols = [c for c in key if c in frame.columns]
    bad = frame.with_row_index("_row").filter(mask)
    total = bad.height
    # Lists, structs and binary cells cannot be cast to text: they are shown as Python shows them.
    shown = bad.head(MAX_SHOWN).select(
        "_row", *[pl.col(c).cast(pl.String) if printable(frame.schema[c]) else pl.col(c) for c in cols]
    )
    labels = [
        f"row {r[0] + 1}: " + " | ".join(short_text("<null>" if v is None else str(v)) for v in r[1:])
        if cols
        else f"row {r[0] + 1}"
        for r in shown.iter_rows()
    ]
    return labels, total


def printable(dtype: pl.DataType) -> bool:
    """Can a column of this type be cast to text?"""
    return not (dtype.is_nested() or dtype in (pl.Binary, pl.Object))


def nearest(name: str, candidates: Sequence[str]) -> str | None:
    lowered = {c.lower().strip(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def check_columns(frame: pl.DataFrame, schema: Schema, extra_required: Sequence[str] = ()) -> None:
    present = frame.columns
    for column in (*schema.required, *extra_required):
        if column in present:
            continue
        guess = nearest(column, [c for c in present if c not in schema.columns])
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
        guess = nearest(column, absent)
        if guess:
            raise SchemaError(
                f"{schema.name}: column {column!r} is not in the data contract; it looks like a misspelling of {guess!r}.\n"
                f"Fix: rename {column!r} to {guess!r} (or to something unlike any contract column if it is extra data)."
            )


def cast_column(frame: pl.DataFrame, column: str, dtype: pl.DataType, schema: Schema, key: Sequence[str]) -> pl.Series:
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
        return cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, which are not codes")
    if dtype == pl.Float64():
        if source.is_numeric():
            cast = series.cast(pl.Float64)
            # Integers beyond 2**53 do not survive as floats.
            if source.is_integer():
                lossy = series.is_not_null() & (cast.cast(source, strict=False) != series)
                if lossy.any():
                    return cast_error(frame, column, dtype, schema, key, lossy, "holds integers too large to store exactly")
            return cast
        if source == pl.String:
            from publicservices.published_numbers import number_from_text, symbol_meaning, unread_numbers

            # thousands separators read ("3,319,266"); blank cells are missing values
            read = series.to_frame("text").with_columns(number=number_from_text(pl.col("text")))
            bad = read.select(unread_numbers(pl.col("text"), pl.col("number"))).to_series()
            if bad.any():
                examples = series.filter(bad).unique(maintain_order=True).head(3)
                what = f"holds text that is not a number (e.g. {', '.join(repr(e) for e in examples.to_list())})"
                meanings = examples.to_frame("t").select(pl.col("t"), symbol_meaning(pl.col("t")).alias("m")).drop_nulls()
                fix = None
                if meanings.height:  # a symbol of official tables: the value is withheld, so the cell is blank
                    symbol, meaning = meanings.row(0)
                    fix = (
                        f"{symbol!r} is the symbol for {meaning}: blank such cells and give the reason in a "
                        f"missing_reason column (a reader of the published layout, such as ons-els or dfe-ees, does this)."
                    )
                return cast_error(frame, column, dtype, schema, key, bad, what, fix)
            return read.get_column("number").alias(column)
        return cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not numbers")
    if dtype == pl.Date():
        if source == pl.Datetime or isinstance(source, pl.Datetime):
            cast = series.dt.date()
            lossy = series.is_not_null() & (series.dt.truncate("1d") != series)
            if lossy.any():
                return cast_error(frame, column, dtype, schema, key, lossy, "holds date-times with a time of day")
            return cast
        if source == pl.String:
            stripped = series.str.strip_chars()
            cast = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = stripped.is_not_null() & cast.is_null()
            if bad.any():
                return cast_error(frame, column, dtype, schema, key, bad, "holds text that is not an ISO date (YYYY-MM-DD)")
            return cast
        return cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not dates")
    raise AssertionError(f"no cast rule for {dtype}")  # pragma: no cover - schemas only use the three


def cast_error(frame, column, dtype, schema, key, mask, what, fix=None) -> pl.Series:  # noqa: ANN001
    rows, total = row_labels(frame, mask, key)
    raise SchemaError(
        f"{schema.name}: "
        + problem(
            column,
            f"{what} and cannot be converted to {dtype} without losing information",
            rows=rows,
            total=total,
            fix=fix or f"correct or blank out those cells so that {column!r} holds only {dtype} values.",
        )
    )


def conform(frame: pl.DataFrame, schema: Schema, key: Sequence[str]) -> pl.DataFrame:
    """Cast present contract columns, add absent ones as nulls, contract columns first."""
    cast = {c: cast_column(frame, c, dt, schema, key) for c, dt in schema.columns.items() if c in frame.columns}
    missing = [pl.lit(None, dtype=dt).alias(c) for c, dt in schema.columns.items() if c not in frame.columns]
    out = frame.with_columns(*cast.values(), *missing) if (cast or missing) else frame
    extra = [c for c in frame.columns if c not in schema.columns]
    return out.select(*schema.columns, *extra)


def raise_if(
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
        rows, total = row_labels(frame, flags, key)
        raise error(f"{schema.name}: " + problem(column, what, rows=rows, total=total, fix=fix))


class Rule(NamedTuple):
    """A check for :func:`raise_first`: the rows ``mask`` flags are an error, worded as :func:`raise_if` words it
    (the rows named by ``labels``, when given, instead of the frame's key)."""

    mask: pl.Expr
    column: str | None
    what: str
    fix: str
    labels: Sequence[str] | None = None


def raise_first(frame: pl.DataFrame, rules: Sequence[Rule], key: Sequence[str], schema: Schema) -> None:
    """:func:`raise_if` for each rule in turn, with every rule's mask tested in one query first.

    A frame that passes them all, the usual case, costs one query rather than one a rule (the
    checks of a values frame are a fifth of the queries a site build makes); one that fails
    gets the error of the first rule it breaks, as the rules one by one would give.
    """
    if not rules:
        return
    flags = frame.select(*(r.mask.fill_null(False).any().alias(f"_rule{i}") for i, r in enumerate(rules))).row(0)
    for rule, bad in zip(rules, flags, strict=True):
        if bad:
            raise_if(frame, rule.mask, rule.column, rule.what, rule.fix, rule.labels or key, schema)


def not_null(columns: Sequence[str]) -> list[Rule]:
    return [
        Rule(
            pl.col(column).is_null(),
            column,
            "is empty",
            f"every row needs a {column!r}: fill it in, or remove rows that are not data (such as totals or notes).",
        )
        for column in columns
    ]


def finite(columns: Sequence[str]) -> list[Rule]:
    return [
        Rule(
            pl.col(column).is_nan() | pl.col(column).is_infinite(),
            column,
            "holds NaN or infinite values",
            "leave missing values empty (null) instead of NaN, and check the division that made infinities.",
        )
        for column in columns
    ]


def plausible(columns: Sequence[str]) -> list[Rule]:
    return [
        Rule(
            pl.col(column).abs() > MAX_MAGNITUDE,
            column,
            "is implausibly large (above 10^15)",
            "no count, population or sum of money in public services is this large; look for a unit error, "
            "a misplaced column, or a number mangled on export (such as 1e300), and correct or blank the cell.",
        )
        for column in columns
    ]


def unique(key: Sequence[str]) -> Rule:
    return Rule(
        pl.struct(key).is_duplicated(),
        ", ".join(key),
        "has duplicated keys",
        f"keep one row per ({', '.join(key)}); if rows differ by a breakdown (sex, age ...), add that column.",
        labels=key,  # the duplicated key itself names the rows
    )
