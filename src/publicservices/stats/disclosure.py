"""Small-number disclosure control: primary and secondary cell suppression.

Counts of one to four people can identify them -- and so can the *complement* of a
proportion: "2,246 of 2,247 seen" names the one who was not. A mean over one or two people
is their score. A published total can give a hidden count back by subtraction.
:func:`suppress` hides all of these, never drops a row, and reports what it hid.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"region": ["R1"] * 3, "area_code": ["A", "B", "C"], "numerator": [3.0, 12.0, 40.0]})
    >>> out, report = suppress(f, by="region")
    >>> out.select("area_code", "numerator", "suppressed").rows()
    [('A', None, 'hidden'), ('B', None, 'hidden'), ('C', 40.0, None)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats._common import require, row_keys

__all__ = ["suppress", "Suppression"]

_MAX_ROUNDS = 1000
# The one label of every hidden cell in the output frame: primary and secondary cells look
# the same, so a reader cannot tell which hidden cells are the small ones.
HIDDEN = "hidden"
# Measures whose complement (denominator - numerator) is a count of people.
_COMPLEMENT_MEASURES = ("proportion",)
# Measures whose denominator is the cohort a mean is taken over (numerator: the sum of scores).
_MEAN_MEASURES = ("mean", "score")


class Suppression(NamedTuple):
    """What :func:`suppress` returns: the frame (same rows, hidden cells null, a ``suppressed``
    column saying "hidden" on every hidden row) and a report with one row per reason."""

    frame: pl.DataFrame
    report: pl.DataFrame


def _groupings(by: str | Sequence[str] | Sequence[Sequence[str]] | None) -> list[list[str]]:
    if by is None:
        return []
    if isinstance(by, str):
        return [[by]]
    items = list(by)
    names = [b for b in items if isinstance(b, str)]
    if items and len(names) == len(items):
        return [names]
    out = []
    for b in items:
        if isinstance(b, str):
            out.append([b])
        else:
            out.append(list(b))
    return out


def _exposed(g: list[str]) -> pl.Expr:
    """Hidden cells of a group that the group's published total gives back exactly.

    A published total fixes the sum of the group's hidden numerators; each hidden numerator
    also lies between 0 and its denominator (a proportion) or above 0 (other counts). A
    hidden cell is pinned to one value exactly when the *other* hidden cells can neither
    absorb a larger value of it (their complements are all 0, or there are none) nor a
    smaller one (their numerators are all 0, or there are none) -- the bounds of the linear
    programme collapse. Cells with a zero denominator are pinned at 0 and protect nothing.
    """
    free = pl.col("_hidden") & ~pl.col("_pinned")
    ps = (free & ~pl.col("_s_zero")).cast(pl.Int64)
    pc = (free & ~pl.col("_c_zero")).cast(pl.Int64)
    other_s = ps.sum().over(g) - ps
    other_c = pc.sum().over(g) - pc
    return free & (pl.col("_s_zero") | (other_c == 0)) & (pl.col("_c_zero") | (other_s == 0))


def suppress(
    frame: pl.DataFrame,
    threshold: float = 5,
    *,
    by: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
    total_cols: str | Sequence[str] = ("numerator",),
    mask: Sequence[str] | None = None,
    suppress_zero: bool = False,
    complement: bool = True,
    denominator: str = "denominator",
) -> Suppression:
    """Suppress small counts, small complements and small cohorts, and enough other cells
    that totals cannot reveal them.

    Method: threshold cell suppression with complementary (secondary) suppression, as in the
    UK Government Statistical Service guidance on statistical disclosure control, the ONS
    and NHS Digital small-number guidance (a cell is disclosive when it *or its complement*
    is small) and Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley.

    **Primary** -- a cell is hidden when any of these holds:

    * *small count*: any of its ``total_cols`` counts is at least 1 and below ``threshold``
      (1 to 4 for the usual threshold of 5). Zero is *not* suppressed by default: a zero
      does not single anyone out, and hiding zeros hides real absences of events;
      ``suppress_zero=True`` hides 0 too (use it where a zero would reveal something about
      every member of a group).
    * *small complement* (``complement=True``, the default): ``denominator - numerator``
      (numerator: the first ``total_cols`` column) is at least 1 and below ``threshold``
      -- "2,246 of 2,247 seen within 4 hours" reveals the one who was not. Only where the
      complement is a count of people: rows whose ``measure`` is ``proportion`` (or, when
      the frame has no ``measure`` column or the row's measure is null, every row with a
      denominator no smaller than its numerator). Rates, DSRs and ratios divide events by a
      population or an expected count, whose difference counts nobody, so their complement
      is not checked; pass ``complement=False`` for a frame of rates without a ``measure``
      column. A zero complement ("all 30 met the standard") follows ``suppress_zero``, as
      a zero count does.
    * *small cohort*: rows whose ``measure`` is ``mean`` or ``score`` are hidden when their
      ``denominator`` (the number of people averaged) is at least 1 and below ``threshold``
      -- a mean over one or two people is their score. Their numerator is a sum of scores,
      not a count, so the small-count rule does not apply to it (and it may be negative). A
      mean without a denominator cannot be checked: give the cohort size.

    **Secondary** -- the counts of each group in ``by`` add up to a published total (of
    numerators, and of denominators, which stay visible). A group with one hidden cell
    would give it away by subtraction; so would two hidden cells that are both full
    (numerator = denominator, so the total pins each), or hidden cells whose only partners
    have a zero denominator. In any group where a hidden cell's numerator -- and so its
    complement -- is fixed exactly by the total, the published numbers and the bounds
    0 <= numerator <= denominator, the next visible cell is hidden as well: the smallest
    (by the first ``total_cols`` column) with a non-zero numerator and complement, then a
    full cell, then a zero, ties by row order; cells with a zero denominator are never
    picked (they protect nothing). With several groupings (a list of column lists, e.g. the
    rows and columns of a two-way table, or regions and the whole country) the rule is
    applied to each in turn until no group exposes a hidden cell.

    Cells whose counts are already null (and whose ``value``, when there is one, is null
    too) count as hidden: they protect a suppressed cell the same way, but are not reported
    as suppressed. A primary cell whose group cannot protect it -- a group of one row, whose
    own total is the cell, or one with nothing left to hide -- is reported as "unprotected"
    so the published total can be suppressed too.

    Hidden rows keep their keys; their ``total_cols`` and ``mask`` columns become null and
    ``suppressed`` says "hidden" -- the same word for primary and secondary cells, so a
    reader cannot tell which hidden cells are the small ones. Denominators stay. No row is
    ever dropped. The report gives the detail (primary, secondary, unprotected, and the
    primary rows by rule); it is for the publisher: do not publish a per-row reason.

    Parameters:
        frame: one row per cell.
        threshold: smallest count that may be shown (default 5: 1-4 are suppressed).
        by: grouping columns whose cells add up to published totals (a column, a list of
            columns, or a list of such lists for several margins). None: no secondary
            suppression.
        total_cols: the count column(s) checked and protected (default ``numerator``).
        mask: further columns to blank on hidden rows (default: ``value``, ``lower_ci``,
            ``upper_ci`` and any ``lower_*`` / ``upper_*`` limit columns present).
        suppress_zero: also suppress zero counts and zero complements.
        complement: also suppress small complements (``denominator`` minus the numerator)
            of proportions. Needs a ``denominator`` column; without one it checks nothing.
        denominator: the denominator (population, cohort) column, if the frame has one.

    Returns:
        ``Suppression(frame, report)``; unpack as ``out, report = suppress(...)``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"g": ["x", "x", "x", "y", "y", "y"],
        ...                   "numerator": [2.0, 9.0, 30.0, 29.0, 40.0, 50.0],
        ...                   "denominator": [50.0, 60.0, 70.0, 30.0, 80.0, 90.0]})
        >>> out, report = suppress(f, by="g")  # 2 of 50: small count; 29 of 30: small complement
        >>> out.get_column("suppressed").to_list()
        ['hidden', 'hidden', None, 'hidden', 'hidden', None]
        >>> report.select("reason", "rows", "groups").rows()[:3]
        [('primary', 2, 2), ('secondary', 2, 2), ('unprotected', 0, 0)]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold <= 0:
        raise SchemaError(f"threshold={threshold!r} must be a positive number such as 5.\nFix: pass threshold=5 (or 3, 10 ...).")
    counts = [total_cols] if isinstance(total_cols, str) else list(total_cols)
    if not counts:
        raise SchemaError("total_cols is empty.\nFix: name the count column(s), e.g. total_cols='numerator'.")
    groupings = _groupings(by)
    require(frame, [*counts, *(c for g in groupings for c in g)], "name existing columns in total_cols= and by=.")
    has_measure = "measure" in frame.columns
    has_den = denominator in frame.columns and denominator not in counts
    if has_measure:
        measure = pl.col("measure").cast(pl.String).str.strip_chars().str.to_lowercase()
        is_mean = measure.is_in(list(_MEAN_MEASURES)).fill_null(False)
        comp_kind = measure.is_in(list(_COMPLEMENT_MEASURES)) | measure.is_null()
    else:
        is_mean = pl.lit(False)
        comp_kind = pl.lit(True)
    for c in [*counts, *([denominator] if has_den else [])]:
        dtype = frame.schema[c]
        if not (dtype.is_numeric() or dtype == pl.Null):
            raise SchemaError(f"column {c!r} holds {dtype} values; counts must be numeric.\nFix: cast it to numbers first.")
        # the numerator of a mean is a sum of scores, which may be negative
        bad = frame.select(((pl.col(c) < 0) & ~is_mean if c in counts else pl.col(c) < 0).fill_null(False)).to_series()
        if bad.any():
            rows, total = row_keys(frame, bad)
            raise DataError(
                problem(c, "is negative", rows=rows, total=total, fix="counts cannot be below zero; correct the source.")
            )
    if mask is None:
        mask = [c for c in frame.columns if c in ("value", "lower_ci", "upper_ci") or c.startswith(("lower_", "upper_"))]
    else:
        require(frame, list(mask), "name existing columns in mask=.")
    mask = [c for c in mask if c not in counts]

    def floor(e: pl.Expr) -> pl.Expr:
        return e >= 0 if suppress_zero else e > 0

    s = pl.col(counts[0])
    d = pl.col(denominator) if has_den else pl.lit(None, pl.Float64)
    # the complement is known (and a count of people) for proportions with numerator <= denominator
    comp_known = (pl.lit(complement and has_den) & comp_kind & ~is_mean & s.is_not_null() & d.is_not_null() & (s <= d)).fill_null(
        False
    )
    comp = d - s
    small_count = (~is_mean & pl.any_horizontal([floor(pl.col(c)) & (pl.col(c) < threshold) for c in counts])).fill_null(False)
    small_comp = (comp_known & floor(comp) & (comp < threshold)).fill_null(False)
    small_cohort = (is_mean & (d > 0) & (d < threshold)).fill_null(False)
    primary = small_count | small_comp | small_cohort
    missing = pl.any_horizontal([pl.col(c).is_null() for c in counts])
    if "value" in frame.columns and "value" not in counts:
        missing = missing & pl.col("value").is_null()  # a shown value gives the count back
    # secondary candidates: non-zero numerator and complement first, then full cells, then zeros
    tier = (
        pl.when(is_mean)
        .then(pl.lit(0))
        .when(s.is_null())
        .then(3)
        .when(s == 0)
        .then(2)
        .when(comp_known & (comp == 0))
        .then(1)
        .otherwise(0)
    )
    size = pl.when(is_mean & d.is_not_null()).then(d.cast(pl.Float64)).otherwise(s.cast(pl.Float64))
    work = (
        frame.with_row_index("_sup_row")
        .with_columns(
            small_count.alias("_small_count"),
            small_comp.alias("_small_comp"),
            small_cohort.alias("_small_cohort"),
            primary.alias("_primary"),
            pl.lit(False).alias("_secondary"),
            (primary | missing).fill_null(False).alias("_hidden"),
            (d == 0).fill_null(False).alias("_pinned"),
            (~is_mean & (s == 0)).fill_null(False).alias("_s_zero"),
            (comp_known & (comp == 0)).fill_null(False).alias("_c_zero"),
        )
        .with_columns(
            pl.arg_sort_by([tier, size, pl.col("_sup_row")], nulls_last=True).arg_sort().alias("_order"),
        )
    )
    candidate = ~pl.col("_hidden") & ~pl.col("_pinned")
    # each grouping as one integer key: windows over it are several times faster than over
    # the grouping's text columns, and they run once per grouping in every round
    keys = [f"_sup_group{i}" for i in range(len(groupings))]
    work = work.with_columns(pl.struct(g).rank("dense").alias(k) for g, k in zip(groupings, keys, strict=True))
    for _ in range(_MAX_ROUNDS):
        changed = False
        for key in keys:
            best = pl.when(candidate).then(pl.col("_order")).min().over(key)
            # the exposure first, in a context of its own: a window nested in a window is slow
            work = work.with_columns(_exposed([key]).alias("_pick"))
            pick = candidate & pl.col("_pick").any().over(key) & (pl.col("_order") == best)
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
    for key in keys:
        lone = work.filter(pl.col("_primary") & _exposed([key]))
        unprotected_rows += lone.height
        unprotected_groups += lone.get_column(key).n_unique()
    hide = pl.col("_primary") | pl.col("_secondary")
    out = work.with_columns(
        *[pl.when(hide).then(None).otherwise(pl.col(c)).alias(c) for c in (*counts, *mask)],
        pl.when(hide).then(pl.lit(HIDDEN)).otherwise(pl.lit(None, pl.String)).alias("suppressed"),
    )

    def n_rows(flag: str) -> int:
        return int(out.get_column(flag).sum())

    def n_groups(flag: str) -> int:
        if not groupings:
            return 0
        return out.filter(pl.col(flag)).select(groupings[0]).unique().height

    zero = "0" if suppress_zero else "1"
    if not complement:
        comp_rule = "complement not checked (complement=False)"
    elif not has_den:
        comp_rule = f"complement not checked (no {denominator!r} column)"
    else:
        comp_rule = f"{denominator} - {counts[0]} between {zero} and below {threshold:g}" + (
            " (proportions only)" if has_measure else ""
        )
    flags = ["_primary", "_secondary", None, "_small_count", "_small_comp", "_small_cohort"]
    report = pl.DataFrame(
        {
            "reason": ["primary", "secondary", "unprotected", "small count", "small complement", "small cohort"],
            "rows": [n_rows(f) if f else unprotected_rows for f in flags],
            "groups": [n_groups(f) if f else unprotected_groups for f in flags],
            "rule": [
                "small count, small complement or small cohort (the three rows below; a row may meet more than one)",
                "next smallest visible cell of a group ("
                + "; ".join(", ".join(g) for g in groupings)
                + ") whose total would give a hidden cell back"
                if groupings
                else "no groups given (by=None): no secondary suppression",
                "primary cell its group cannot protect (e.g. a group of one row): suppress the published total as well",
                f"{' or '.join(counts)} between {zero} and below {threshold:g}"
                + (" (not means: their numerator is a sum of scores)" if has_measure else ""),
                comp_rule,
                f"mean or score over a {denominator} between 1 and below {threshold:g}"
                if has_measure and has_den
                else "no means with a cohort size in the frame",
            ],
        },
        schema={"reason": pl.String, "rows": pl.Int64, "groups": pl.Int64, "rule": pl.String},
    )
    frame_out = out.sort("_sup_row").drop(
        "_sup_row",
        "_primary",
        "_secondary",
        "_hidden",
        "_pick",
        "_pinned",
        "_s_zero",
        "_c_zero",
        "_order",
        "_small_count",
        "_small_comp",
        "_small_cohort",
        *keys,
        strict=False,
    )
    return Suppression(frame_out, report)
