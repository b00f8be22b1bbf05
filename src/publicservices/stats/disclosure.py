"""Small-number disclosure control: primary and secondary cell suppression.

Counts of one to four people can identify them; a published total can give a hidden count
back by subtraction. :func:`suppress` hides both, never drops a row, and says what it hid
and why.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"region": ["R1"] * 3, "area_code": ["A", "B", "C"], "numerator": [3.0, 12.0, 40.0]})
    >>> out, report = suppress(f, by="region")
    >>> out.select("area_code", "numerator", "suppressed").rows()
    [('A', None, 'primary'), ('B', None, 'secondary'), ('C', 40.0, None)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats.outcomes import _require, _row_keys

__all__ = ["suppress", "Suppression"]

_MAX_ROUNDS = 1000


class Suppression(NamedTuple):
    """What :func:`suppress` returns: the frame (same rows, hidden cells null, a ``suppressed``
    reason column) and a report with one row per reason."""

    frame: pl.DataFrame
    report: pl.DataFrame


def _groupings(by: str | Sequence[str] | Sequence[Sequence[str]] | None) -> list[list[str]]:
    if by is None:
        return []
    if isinstance(by, str):
        return [[by]]
    items = list(by)
    if items and all(isinstance(b, str) for b in items):
        return [list(items)]
    out = []
    for b in items:
        if isinstance(b, str):
            out.append([b])
        else:
            out.append(list(b))
    return out


def suppress(
    frame: pl.DataFrame,
    threshold: float = 5,
    *,
    by: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
    total_cols: str | Sequence[str] = ("numerator",),
    mask: Sequence[str] | None = None,
    suppress_zero: bool = False,
) -> Suppression:
    """Suppress small counts, and enough other cells that totals cannot reveal them.

    Method: threshold cell suppression with complementary (secondary) suppression, as in the
    UK Government Statistical Service guidance on statistical disclosure control and
    Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley:

    * **primary** -- a cell is hidden when any of its ``total_cols`` counts is at least 1
      and below ``threshold`` (1 to 4 for the usual threshold of 5). Zero is *not*
      suppressed by default: a zero does not single anyone out, and hiding zeros hides
      real absences of events; ``suppress_zero=True`` hides 0 too (use it where a zero
      would reveal something about every member of a group).
    * **secondary** -- the counts of each group in ``by`` add up to a published total, so a
      group with exactly one hidden cell would give it away by subtraction. In such a group
      the next smallest visible cell (by the first ``total_cols`` column, non-zero cells
      first, ties by row order) is hidden as well. With several groupings (a list of column
      lists, e.g. the rows and columns of a two-way table) the rule is applied to each in
      turn until no group has exactly one hidden cell.

    Cells whose counts are already null count as hidden (they protect a suppressed cell
    the same way) but are not reported as suppressed. A group of a single row cannot be
    protected inside the frame -- its own total is the cell -- and is reported as
    "unprotected" so the published total can be suppressed too.

    Hidden rows keep their keys; their ``total_cols`` and ``mask`` columns become null and
    ``suppressed`` says "primary" or "secondary". No row is ever dropped.

    Parameters:
        frame: one row per cell.
        threshold: smallest count that may be shown (default 5: 1-4 are suppressed).
        by: grouping columns whose cells add up to published totals (a column, a list of
            columns, or a list of such lists for several margins). None: no secondary
            suppression.
        total_cols: the count column(s) checked and protected (default ``numerator``).
        mask: further columns to blank on hidden rows (default: ``value``, ``lower_ci``,
            ``upper_ci`` and any ``lower_*`` / ``upper_*`` limit columns present).
        suppress_zero: also suppress zero counts.

    Returns:
        ``Suppression(frame, report)``; unpack as ``out, report = suppress(...)``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"g": ["x", "x", "y"], "numerator": [2.0, 9.0, 1.0], "value": [0.2, 0.9, 0.1]})
        >>> out, report = suppress(f, by="g")
        >>> report.select("reason", "rows", "groups").rows()
        [('primary', 2, 2), ('secondary', 1, 1), ('unprotected', 1, 1)]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold <= 0:
        raise SchemaError(f"threshold={threshold!r} must be a positive number such as 5.\nFix: pass threshold=5 (or 3, 10 ...).")
    counts = [total_cols] if isinstance(total_cols, str) else list(total_cols)
    if not counts:
        raise SchemaError("total_cols is empty.\nFix: name the count column(s), e.g. total_cols='numerator'.")
    groupings = _groupings(by)
    _require(frame, [*counts, *(c for g in groupings for c in g)], "name existing columns in total_cols= and by=.")
    for c in counts:
        if not frame.schema[c].is_numeric():
            raise SchemaError(f"column {c!r} holds {frame.schema[c]} values; counts must be numeric.\nFix: cast it to numbers first.")
        bad = frame.get_column(c) < 0
        if bad.any():
            rows, total = _row_keys(frame, bad.fill_null(False))
            raise DataError(problem(c, "is negative", rows=rows, total=total, fix="counts cannot be below zero; correct the source."))
    if mask is None:
        mask = [c for c in frame.columns
                if c in ("value", "lower_ci", "upper_ci") or c.startswith(("lower_", "upper_"))]
    else:
        _require(frame, list(mask), "name existing columns in mask=.")
    mask = [c for c in mask if c not in counts]

    floor = (lambda e: e >= 0) if suppress_zero else (lambda e: e > 0)
    primary = pl.any_horizontal([floor(pl.col(c)) & (pl.col(c) < threshold) for c in counts]).fill_null(False)
    missing = pl.any_horizontal([pl.col(c).is_null() for c in counts])
    work = frame.with_row_index("_sup_row").with_columns(
        primary.alias("_primary"), pl.lit(False).alias("_secondary"), (primary | missing).alias("_hidden")
    )
    first = pl.col(counts[0])
    # smallest visible cell first, but a non-zero one before any zero
    key = pl.when(pl.col("_hidden")).then(None).when(first > 0).then(first).otherwise(pl.lit(math.inf))
    for _ in range(_MAX_ROUNDS):
        changed = False
        for g in groupings:
            hidden = pl.col("_hidden").cast(pl.Int64).sum().over(g)
            size = pl.len().over(g)
            pick = (hidden == 1) & (size >= 2) & (key.rank("ordinal").over(g) == 1)
            work = work.with_columns(pick.fill_null(False).alias("_pick"))
            if work.get_column("_pick").any():
                changed = True
                work = work.with_columns(
                    (pl.col("_secondary") | pl.col("_pick")).alias("_secondary"),
                    (pl.col("_hidden") | pl.col("_pick")).alias("_hidden"),
                )
        if not changed:
            break
    else:  # pragma: no cover - each round hides at least one more cell, so this cannot run out
        raise DataError("secondary suppression did not settle.\nFix: report this as a bug with the frame's shape.")

    unprotected_rows = 0
    unprotected_groups = 0
    for g in groupings:
        lone = work.filter(pl.col("_primary") & (pl.len().over(g) == 1))
        unprotected_rows += lone.height
        unprotected_groups += lone.select(g).unique().height
    reason = pl.when(pl.col("_primary")).then(pl.lit("primary")).when(pl.col("_secondary")).then(pl.lit("secondary"))
    hide = pl.col("_primary") | pl.col("_secondary")
    out = work.with_columns(
        *[pl.when(hide).then(None).otherwise(pl.col(c)).alias(c) for c in (*counts, *mask)],
        reason.alias("suppressed"),
    )

    def n_groups(flag: str) -> int:
        if not groupings:
            return 0
        return out.filter(pl.col(flag)).select(groupings[0]).unique().height

    zero = "0" if suppress_zero else "1"
    report = pl.DataFrame(
        {
            "reason": ["primary", "secondary", "unprotected"],
            "rows": [int(out.get_column("_primary").sum()), int(out.get_column("_secondary").sum()), unprotected_rows],
            "groups": [n_groups("_primary"), n_groups("_secondary"), unprotected_groups],
            "rule": [
                f"{' or '.join(counts)} between {zero} and below {threshold:g}",
                "next smallest cell of a group (" + "; ".join(", ".join(g) for g in groupings) + ") with exactly one hidden cell"
                if groupings else "no groups given (by=None): no secondary suppression",
                "group of one row: its published total reveals the cell -- suppress that total as well",
            ],
        },
        schema={"reason": pl.String, "rows": pl.Int64, "groups": pl.Int64, "rule": pl.String},
    )
    frame_out = out.sort("_sup_row").drop("_sup_row", "_primary", "_secondary", "_hidden", "_pick", strict=False)
    return Suppression(frame_out, report)
