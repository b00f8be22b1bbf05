"""Private core of the interval modules: expression inputs, limit sets and frame checks.

The names here are shared by :mod:`.proportions`, :mod:`.rates`, :mod:`.means`,
:mod:`.standardised` and :mod:`.intervals`; nothing outside the outcomes package uses them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, OptionError, SchemaError, problem

IntoExpr = str | pl.Expr | float | int
Frame = pl.DataFrame | pl.LazyFrame
F64 = pl.Float64
ROW_KEYS = ("indicator_id", "area_code", "period")


def as_expr(v: IntoExpr, what: str) -> pl.Expr:
    if isinstance(v, pl.Expr):
        return v.cast(F64)
    if isinstance(v, str):
        return pl.col(v).cast(F64)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return pl.lit(float(v), dtype=F64)
    raise OptionError(f"{what} must be a column name, a Polars expression or a number, not {type(v).__name__}.")


def multiplier_expr(m: IntoExpr) -> pl.Expr:
    if isinstance(m, (int, float)) and not isinstance(m, bool) and not (math.isfinite(m) and m > 0):
        raise OptionError(f"multiplier {m!r} must be a positive number such as 1, 100 or 100000.")
    return as_expr(m, "multiplier")


class Limits:
    """Limit expressions (one per field, in ``names`` order) and the rows where they are valid.

    The fields are already null on invalid rows (the inputs are masked once, which is cheaper
    than masking every field). ``struct()`` wraps them for the Struct-returning builders, null
    as a whole on invalid rows; ``columns()`` gives flat columns. Flat columns matter for
    speed: ``.struct.unnest()`` on an unmaterialised expression evaluates the whole struct
    once per field.
    """

    def __init__(self, fields: list[pl.Expr], valid: pl.Expr) -> None:
        self.fields, self.valid = fields, valid

    def struct(self) -> pl.Expr:
        return pl.when(self.valid).then(pl.struct(self.fields))

    def columns(self) -> list[pl.Expr]:
        return list(self.fields)


def lazy(frame: Any, what: str = "frame") -> tuple[pl.LazyFrame, bool]:
    if isinstance(frame, pl.DataFrame):
        return frame.lazy(), True
    if isinstance(frame, pl.LazyFrame):
        return frame, False
    raise SchemaError(
        f"{what} must be a Polars DataFrame or LazyFrame, not {type(frame).__name__}.\n"
        "Fix: convert it first, e.g. pl.from_pandas(df)."
    )


def require_schema(schema: pl.Schema, columns: Sequence[str], numeric: Sequence[str] = ()) -> None:
    missing = [c for c in columns if c not in schema]
    if missing:
        raise SchemaError(
            problem(
                missing[0],
                "is missing",
                fix=f"the frame has columns {list(schema.names())}; pass the right name or add "
                f"the column{'s ' + str(missing) if len(missing) > 1 else ''}.",
            )
        )
    for c in numeric:
        if not schema[c].is_numeric():
            raise SchemaError(
                problem(
                    c,
                    f"must be numeric but is {schema[c]}",
                    fix=f"cast it, e.g. pl.col({c!r}).cast(pl.Float64), after removing any text such as '*'.",
                )
            )


def describe_rows(lf: pl.LazyFrame, mask: pl.Expr, keys: Sequence[str]) -> list[str]:
    if keys:
        rows = lf.filter(mask).select(keys).head(5).collect().rows()
        return [" | ".join("" if v is None else str(v) for v in r) for r in rows]
    numbered = lf.with_row_index("__ps_row").filter(mask).select("__ps_row").head(5).collect()
    return [f"row {i}" for i in numbered["__ps_row"]]


def check_rows(
    lf: pl.LazyFrame,
    checks: Sequence[tuple[str | None, str, pl.Expr, str]],
    keys: Sequence[str],
) -> None:
    """Count every failing condition in one pass; raise for the first that fails."""
    if not checks:
        return
    counts = lf.select([m.fill_null(False).sum().alias(f"c{i}") for i, (_, _, m, _) in enumerate(checks)]).collect().row(0)
    for (column, what, mask, fix), count in zip(checks, counts, strict=True):
        if count:
            rows = describe_rows(lf, mask.fill_null(False), keys)
            raise DataError(problem(column, what, rows=rows, total=count, fix=fix))


def key_columns(schema: pl.Schema, by: Sequence[str]) -> list[str]:
    keys = [c for c in ROW_KEYS if c in schema]
    return keys or [c for c in by if c in schema]


def count_checks(x: str, n: str, proportion: bool, n_strict: bool = True) -> list:
    xc, nc = pl.col(x), pl.col(n)
    not_finite = "is not finite (NaN or infinite)"
    use_count = "replace it with a count, or null if unknown."
    checks = [
        (x, not_finite, ~xc.cast(F64).is_finite(), use_count),
        (n, not_finite, ~nc.cast(F64).is_finite(), use_count),
        (x, "is negative", xc < 0, "numerators (counts of events) must be greater than or equal to zero."),
    ]
    if n_strict:
        checks.append((n, "is zero or negative", nc <= 0, "denominators must be greater than zero; use null when unknown."))
    else:
        checks.append((n, "is negative", nc < 0, "populations must be greater than or equal to zero."))
    if proportion:
        checks.append(
            (
                x,
                "is greater than the denominator",
                xc > nc,
                "a proportion needs numerator <= denominator; if the indicator is a rate, use rates() or measure='rate'.",
            )
        )
    return checks


def nullable_sum(c: str) -> pl.Expr:
    # PHE sums with NA propagating: a group with a missing count has a missing total.
    return pl.when(pl.col(c).null_count() == 0).then(pl.col(c).cast(F64).sum())


def aggregate_counts(lf: pl.LazyFrame, x: str, n: str, by: list[str]) -> pl.LazyFrame:
    if not by:
        return lf
    return lf.group_by(by, maintain_order=True).agg(nullable_sum(x).alias(x), nullable_sum(n).alias(n))
