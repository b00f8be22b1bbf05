"""Private core of the interval modules: expression inputs, limit sets and frame checks.

The names here are shared by :mod:`.proportions`, :mod:`.rates`, :mod:`.means`,
:mod:`.standardised` and :mod:`.intervals`; nothing outside the outcomes package uses them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

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


class Batch(NamedTuple):
    """What a NumPy limit function returns for one batch (see :func:`one_pass_struct`).

    ``fields``: one float array per limit; NaN is null where ``nan_is_null``, and anything
    on rows whose struct is null or that are redone. ``null``: rows whose struct is null
    (None: none). ``redo``: rows left to the Polars expression (None: none).
    ``nan_is_null``: per field, whether it holds NaNs that stand for nulls.
    """

    fields: list[Any]
    null: Any
    redo: Any
    nan_is_null: list[bool]


def finite_rows(fields: Sequence[Any]) -> Any:
    """Rows where every array in ``fields`` is finite (one pass: their sum is finite)."""
    import numpy as np

    total = np.array(fields[0], dtype=np.float64, copy=True)
    for f in fields[1:]:
        total += f
    return np.isfinite(total)


_BLOCK = 1 << 16


def one_pass_struct(
    inputs: Sequence[pl.Expr],
    names: Sequence[str],
    compute: Callable[[dict[str, Any]], Batch],
    exact: Callable[[], pl.Expr],
) -> pl.Expr:
    """A Struct of limits computed by one NumPy call per batch, for the Struct-returning builders.

    ``.struct.unnest()`` (as the builders' docstrings show) evaluates a Struct expression
    once per field: a struct of per-field expressions would redo all of them for every
    field, SciPy steps included. Here the struct is one elementwise function of the batch,
    which Polars evaluates once, so every limit is computed once. ``inputs`` are plain
    aliased Float64 expressions (x, n, a multiplier column); ``compute`` gets their values as
    NumPy arrays (NaN for null) and does the arithmetic of the builder's Polars expressions,
    operation for operation, on rows with finite inputs. The rows it leaves out -- null,
    infinite or NaN inputs, or an overflow -- go to ``exact()``, the builder's Polars
    expression over ``pl.col(<input>)``, so that every row comes out exactly as before.
    """
    dtype = pl.Struct({name: F64 for name in names})

    def run(s: pl.Series) -> pl.Series:
        if len(s) <= _BLOCK:
            return block(s)
        # blocks of 64k rows keep the temporaries in cache
        return pl.concat([block(s.slice(i, _BLOCK)) for i in range(0, len(s), _BLOCK)], rechunk=False)

    def block(s: pl.Series) -> pl.Series:
        import numpy as np

        frame = s.struct.unnest()
        with np.errstate(all="ignore"):
            out = compute({c: frame[c].to_numpy() for c in frame.columns})
        cols = [
            pl.Series(name, v, dtype=F64, nan_to_null=nan)
            for name, v, nan in zip(names, out.fields, out.nan_is_null, strict=True)
        ]
        null = out.null
        at = np.flatnonzero(out.redo) if out.redo is not None else np.zeros(0, dtype=np.intp)
        if at.size:
            fixed = frame[at].select(exact().alias("s")).to_series()
            cols = [c.scatter(at, fixed.struct.field(c.name)) for c in cols]
            null = np.zeros(len(s), dtype=bool) if null is None else null.copy()
            null[at] = fixed.is_null().to_numpy()
        result = pl.DataFrame(cols).to_struct(s.name)
        if null is not None and null.any():
            result = result.set(pl.Series(null), None)
        return result

    return pl.struct(*inputs).map_batches(run, return_dtype=dtype, is_elementwise=True)


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
