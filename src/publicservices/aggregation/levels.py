"""Roll aggregates up from the records' areas to every ancestor, through ``parent_code``.

Records hold their finest area (a district, a trust, a school's local authority). The areas
frame links each area to its parent (district -> county -> region -> nation). Sums of numerators,
denominators, band counts and populations add up the tree, so every level comes from the one
aggregated pass over the records: a *bridge* (leaf area, ancestor) is joined to the small
aggregated frame and summed again. Values (rates, DSRs, intervals) are computed after, on sums.

Example:
    >>> import polars as pl
    >>> areas = pl.DataFrame({"area_code": ["d1", "d2", "c1"], "parent_code": ["c1", "c1", "r1"]})
    >>> bridge(areas).sort("leaf", "area_code").rows()
    [('c1', 'c1'), ('c1', 'r1'), ('d1', 'c1'), ('d1', 'd1'), ('d1', 'r1'), ('d2', 'c1'), ('d2', 'd2'), ('d2', 'r1'), ('r1', 'r1')]
    >>> cells = pl.DataFrame({"area_code": ["d1", "d2"], "numerator": [1.0, 2.0]})
    >>> roll_up(cells, bridge(areas), [], ["numerator"]).sort("area_code").rows()
    [('c1', 3.0), ('d1', 1.0), ('d2', 2.0), ('r1', 3.0)]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from publicservices.errors import DataError, SchemaError, problem

__all__ = ["bridge", "roll_up", "finest", "area_codes"]

_MAX_DEPTH = 32  # deeper than any real geography: a longer chain is a cycle in parent_code


def _parents(areas: pl.DataFrame) -> pl.DataFrame:
    for column in ("area_code", "parent_code"):
        if column not in areas.columns:
            raise SchemaError(
                f"areas: column {column!r} is missing; aggregating to every level follows each area's parent_code.\n"
                f"Columns present: {', '.join(areas.columns)}.\n"
                "Fix: pass an areas frame with area_code and parent_code (ps.demo().areas has them), or areas=None."
            )
    return (
        areas.select(pl.col("area_code").cast(pl.String), pl.col("parent_code").cast(pl.String))
        .filter(pl.col("area_code").is_not_null())
        .unique(subset="area_code", keep="first", maintain_order=True)
    )


def area_codes(areas: pl.DataFrame) -> list[str]:
    """Every code the areas frame knows: its areas and their parents."""
    p = _parents(areas)
    return pl.concat([p["area_code"], p["parent_code"].drop_nulls()]).unique(maintain_order=True).to_list()


def bridge(areas: pl.DataFrame) -> pl.DataFrame:
    """``leaf, area_code``: each known area paired with itself and every ancestor (vectorised joins)."""
    p = _parents(areas)
    codes = pl.DataFrame({"leaf": area_codes(areas)})
    step = codes.with_columns(pl.col("leaf").alias("area_code"))
    out = [step]
    for _ in range(_MAX_DEPTH):
        step = (
            step.join(p, on="area_code", how="inner")
            .filter(pl.col("parent_code").is_not_null() & (pl.col("parent_code") != pl.col("area_code")))
            .select("leaf", pl.col("parent_code").alias("area_code"))
        )
        if not step.height:
            return pl.concat(out).unique(maintain_order=True)
        out.append(step)
    loop = step["leaf"].unique().head(5).to_list()
    raise DataError(
        problem(
            "parent_code",
            f"goes round in a circle (a chain of parents longer than {_MAX_DEPTH})",
            rows=[str(c) for c in loop],
            fix="correct the parent of one area in the loop so the chain ends at the nation.",
        )
    )


def finest(codes: Sequence[str], bridge_frame: pl.DataFrame) -> list[str]:
    """The codes in ``codes`` that are not an ancestor of another code in ``codes``.

    A population file often holds every level; rolling all of it up would count people twice.
    """
    ancestors = (
        bridge_frame.filter(pl.col("leaf").is_in(list(codes)) & (pl.col("leaf") != pl.col("area_code")))
        .get_column("area_code")
        .unique()
    )
    return [c for c in codes if c not in set(ancestors.to_list())]


def roll_up(cells: pl.DataFrame, bridge_frame: pl.DataFrame, keys: Sequence[str], sums: Sequence[str]) -> pl.DataFrame:
    """Sum ``sums`` by ``area_code`` and ``keys`` for each area and each of its ancestors."""
    joined = cells.join(bridge_frame, left_on="area_code", right_on="leaf", how="inner", suffix="__up")
    return (
        joined.drop("area_code")
        .rename({"area_code__up": "area_code"})
        .group_by(["area_code", *keys], maintain_order=True)
        .agg(pl.col(c).sum() for c in sums)
    )
