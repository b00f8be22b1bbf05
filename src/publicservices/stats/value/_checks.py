"""Checks and small helpers shared by the value-for-money modules."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from publicservices.errors import DataError, SchemaError, problem

# Larger than any count, population, score or sum of money (the data contract's ceiling,
# publicservices.frame.MAX_MAGNITUDE): beyond it a regression's sums of squares lose all
# precision, and near 1e154 they overflow.
_LARGEST = 1e15
_KEYS = ("indicator_id", "area_code", "period")


def _group_ids(frame: pl.DataFrame, by: Sequence[str]):
    import numpy as np

    if not by:
        return np.zeros(frame.height, dtype=np.int64)
    return frame.select(pl.struct(list(by)).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy().astype(np.int64)


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    for c in columns:
        if c not in frame.columns:
            raise SchemaError(problem(c, f"is missing from {name}", fix=f"Add it, or name one of {frame.columns[:20]}."))


def _numeric(frame: pl.DataFrame, column: str, name: str) -> None:
    if not frame.schema[column].is_numeric():
        raise SchemaError(
            problem(
                column,
                f"in {name} has type {frame.schema[column]}, not a number",
                fix=f"Cast it: pl.col({column!r}).cast(pl.Float64).",
            )
        )


def _codes(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Key columns must hold text (codes and labels), or the joins between frames cannot match them."""
    for column in columns:
        dtype = frame.schema[column]
        if dtype != pl.String:
            raise SchemaError(
                problem(
                    column,
                    f"in {name} has type {dtype}, not text",
                    fix=f"Codes and labels are text: pl.col({column!r}).cast(pl.String) if the values "
                    "are right, or correct the column.",
                )
            )


def _rows(frame: pl.DataFrame, keys: Sequence[str]) -> list[str]:
    keys = [k for k in keys if k in frame.columns]
    return (
        frame.head(5)
        .select(pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=" | ", ignore_nulls=True))
        .to_series()
        .to_list()
    )


def _no_duplicates(frame: pl.DataFrame, keys: Sequence[str], name: str, fix: str | None = None) -> None:
    dup = frame.select(list(keys)).is_duplicated()
    if dup.any():
        raise DataError(
            problem(
                None,
                f"{name} has more than one row per {' x '.join(keys)}",
                rows=_rows(frame.filter(dup), keys),
                total=int(dup.sum()),
                fix=fix or "Aggregate or filter so each key appears once.",
            )
        )
