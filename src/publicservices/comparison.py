"""Which areas are compared with which, and against what.

A published file mixes rows of different meaning: England and its regions (benchmarks,
never units), shire counties and the districts inside them, combined authorities beside
their member councils, sub-ICBs beside ICBs. Comparing them in one league table or one
fairness analysis is wrong. :func:`comparison_values` gives every value row its
**comparable set** (upper tier, lower tier, police force areas ... from
:mod:`publicservices.geography`) and its **role** (``unit`` or ``benchmark``):

* a unit row appears once per comparable set its area belongs to (a unitary authority is
  compared with upper-tier authorities *and*, when the file also has shire districts, with
  lower-tier ones), and never in a set it does not belong to;
* a benchmark row (the nation, a region) is repeated into every set of its indicator, so
  each comparison finds its benchmark, and is never counted as a unit;
* the column ``comparable_set`` is a grouping key for every statistic downstream.

The choice is made from the data and stated in :class:`Layout` notes.

Example:
    >>> import polars as pl
    >>> values = pl.DataFrame({"indicator_id": ["h.x"] * 4, "area_code": ["E92000001", "E10000017", "E07000117", "E06000008"],
    ...                        "period": ["2023"] * 4, "value": [1.0, 2.0, 3.0, 4.0]})
    >>> frame, layout = comparison_values(values, pl.DataFrame({"area_code": values["area_code"]}))
    >>> frame.sort("comparable_set", "area_code").select("area_code", "comparable_set", "area_role").rows()[:3]
    [('E06000008', 'lower_tier', 'unit'), ('E07000117', 'lower_tier', 'unit'), ('E92000001', 'lower_tier', 'benchmark')]
    >>> layout.sets["h.x"]
    ['upper_tier', 'lower_tier']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError

__all__ = ["Layout", "with_geography", "comparison_values", "with_successor_codes", "set_label", "units_only"]

ROLE = "area_role"
SET = "comparable_set"


@dataclasses.dataclass
class Layout:
    """What :func:`comparison_values` decided, in words and numbers."""

    sets: dict[str, list[str]]  # indicator_id -> comparable sets present, in preference order
    units: dict[tuple[str, str], int]  # (indicator_id, set) -> number of unit areas
    benchmarks: list[str]  # benchmark area codes present
    other_codes: list[str]  # codes of unknown level (kept, shown by code, compared in the set "other")
    dropped: dict[str, int]  # set left out by the caller's choice -> value rows
    notes: list[str]
    successors: dict[str, str] = dataclasses.field(default_factory=dict)  # obsolete code -> successor used
    areas: pl.DataFrame | None = None  # the areas with level, role and parents (successor codes added)

    def all_sets(self) -> list[str]:
        from publicservices.geography import COMPARABLE_SETS

        present = {s for sets in self.sets.values() for s in sets}
        return [s for s in COMPARABLE_SETS if s in present]


def set_label(set_id: str) -> str:
    """The plain-words name of a comparable set ("upper-tier and unitary local authorities ...")."""
    from publicservices.geography import COMPARABLE_SETS

    found = COMPARABLE_SETS.get(set_id)
    return found.label if found is not None else set_id.replace("_", " ")


def with_geography(areas: pl.DataFrame) -> pl.DataFrame:
    """The areas frame with ``level``, ``role``, region and upper-tier parents filled in.

    Regions whose parent is unknown get the national area as parent when exactly one
    national area is present, so "parents are totals of other areas" holds at every level.
    """
    from publicservices.geography import area_geography

    out = area_geography(areas)
    nations = out.filter(pl.col("level") == "country").get_column("area_code").to_list()
    if len(nations) == 1:
        out = out.with_columns(
            pl.when(pl.col("parent_code").is_null() & (pl.col("level") == "region"))
            .then(pl.lit(nations[0]))
            .otherwise(pl.col("parent_code"))
            .alias("parent_code")
        )
    return out


def units_only(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop benchmark rows (the nation, regions) from a frame made by :func:`comparison_values`."""
    return frame.filter(pl.col(ROLE) != "benchmark") if ROLE in frame.columns else frame


def comparison_values(
    values: pl.DataFrame,
    areas: pl.DataFrame,
    *,
    comparable_set: str | Sequence[str] | None = None,
) -> tuple[pl.DataFrame, Layout]:
    """Values with ``comparable_set`` and ``area_role`` (see the module docstring).

    Parameters:
        values: the values frame (``indicator_id``, ``area_code`` ...).
        areas: the areas frame (``area_code``; ``level`` is derived when absent).
        comparable_set: keep only these sets (e.g. ``"lower_tier"``); default: every set
            present. An unknown or absent set is a :class:`DataError` naming those present.
    """
    from publicservices.geography import COMPARABLE_SETS, comparable_sets, set_membership

    if SET in values.columns:  # already laid out (a frame passed on from another function)
        return values, _layout_of(values)
    values, successors = with_successor_codes(values)
    geo = areas if "level" in areas.columns and "role" in areas.columns else with_geography(areas)
    if successors:
        geo = _add_successor_areas(geo, successors)
    roles = geo.select("area_code", "level", pl.col("role").alias(ROLE))
    frame = values.drop([c for c in ("level", ROLE) if c in values.columns]).join(roles, on="area_code", how="left")
    frame = frame.with_columns(pl.col("level").fill_null("other"), pl.col(ROLE).fill_null("unit"))
    units = frame.filter(pl.col(ROLE) == "unit")
    per_indicator = units.group_by("indicator_id", maintain_order=True).agg(pl.col("level").unique())
    sets = {ind: comparable_sets(levels) for ind, levels in per_indicator.iter_rows()}
    wanted = _wanted(comparable_set, sets)
    pairs = pl.DataFrame(
        [(ind, s) for ind, present in sets.items() for s in present],
        schema={"indicator_id": pl.String, SET: pl.String},
        orient="row",
    )
    membership = set_membership(geo.filter(pl.col("role") == "unit"), sorted({s for p in sets.values() for s in p}))
    # Which unit rows go into which sets, found on the keys alone; the rows are then gathered
    # once (joining the whole frame twice copied every column twice).
    picked = (
        units.select("indicator_id", "area_code")
        .with_row_index("_row")
        .join(membership.select("area_code", SET), on="area_code", how="inner")
        .join(pairs, on=["indicator_id", SET], how="semi")
    )
    laid_units = units[picked.get_column("_row")].with_columns(picked.get_column(SET))
    benchmarks = frame.filter(pl.col(ROLE) == "benchmark").join(pairs, on="indicator_id", how="inner")
    out = pl.concat([laid_units, benchmarks.select(laid_units.columns)], how="vertical_relaxed")
    dropped: dict[str, int] = {}
    if wanted is not None:
        left = out.filter(~pl.col(SET).is_in(wanted) & (pl.col(ROLE) == "unit"))
        dropped = dict(left.group_by(SET).len().iter_rows())
        out = out.filter(pl.col(SET).is_in(wanted))
        sets = {ind: [s for s in present if s in wanted] for ind, present in sets.items()}
    counts = out.filter(pl.col(ROLE) == "unit").group_by("indicator_id", SET).agg(pl.col("area_code").n_unique())
    layout = Layout(
        sets={ind: present for ind, present in sets.items() if present},
        units={(i, s): n for i, s, n in counts.iter_rows()},
        benchmarks=sorted(frame.filter(pl.col(ROLE) == "benchmark").get_column("area_code").unique().to_list()),
        other_codes=sorted(units.filter(pl.col("level") == "other").get_column("area_code").unique().to_list()),
        dropped=dropped,
        notes=[],
        successors=successors,
        areas=geo,
    )
    layout.notes = _notes(layout, COMPARABLE_SETS)
    return out.drop("level"), layout


def with_successor_codes(values: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """Recode rows of obsolete area codes to their successor where the change was one-to-one.

    Only where the successor has no row of its own for the same indicator and period (and
    breakdown): then the two codes are one area over time. Where both have rows, or the
    change merged or split areas, the old code stays as a historical area.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"indicator_id": ["h.x"], "area_code": ["E08000016"], "period": ["2023"]})
        >>> with_successor_codes(v)[1]
        {'E08000016': 'E08000038'}
    """
    from publicservices.geography import successor_map

    mapping = {old: new for old, new in successor_map().items()}
    codes = set(values.get_column("area_code").unique().to_list())
    mapping = {old: new for old, new in mapping.items() if old in codes}
    if not mapping:
        return values, {}
    keys = [c for c in ("indicator_id", "period", "sex", "age", "category_type", "category") if c in values.columns]
    recoded = pl.col("area_code").replace(mapping)
    # Only rows of an old code or a successor code can meet in a clash: the rest of a large
    # frame is never copied.
    involved = [*mapping, *mapping.values()]
    moved = values.select(*keys, "area_code").filter(pl.col("area_code").is_in(involved)).with_columns(recoded.alias("_new"))
    clash = moved.group_by([*keys, "_new"]).agg(pl.len().alias("_n")).filter(pl.col("_n") > 1)
    blocked = moved.join(clash, on=[*keys, "_new"], how="semi", nulls_equal=True).filter(pl.col("area_code") != pl.col("_new"))
    keep_old = set(blocked.get_column("area_code").unique().to_list())
    used = {old: new for old, new in mapping.items() if old not in keep_old}
    if not used:
        return values, {}
    return values.with_columns(pl.col("area_code").replace(used)), used


def _add_successor_areas(areas: pl.DataFrame, successors: dict[str, str]) -> pl.DataFrame:
    """Rows for successor codes the areas frame lacks, copied from their predecessor's row."""
    have = set(areas.get_column("area_code").to_list())
    new = areas.filter(pl.col("area_code").is_in(list(successors))).with_columns(pl.col("area_code").replace(successors))
    new = new.filter(~pl.col("area_code").is_in(list(have)))
    return pl.concat([areas, new], how="vertical_relaxed") if new.height else areas


def _wanted(comparable_set: str | Sequence[str] | None, sets: dict[str, list[str]]) -> list[str] | None:
    if comparable_set is None:
        return None
    wanted = [comparable_set] if isinstance(comparable_set, str) else list(comparable_set)
    present = sorted({s for p in sets.values() for s in p})
    unknown = [s for s in wanted if s not in present]
    if unknown:
        raise DataError(
            f"comparable_set: {', '.join(map(repr, unknown))} is not among the sets of areas in the data.\n"
            f"Fix: choose from {', '.join(map(repr, present)) or '(none: the data holds no unit areas)'}."
        )
    return wanted


def _layout_of(frame: pl.DataFrame) -> Layout:
    sets: dict[str, list[str]] = {}
    for ind, s in frame.select("indicator_id", SET).unique(maintain_order=True).iter_rows():
        sets.setdefault(ind, []).append(s)
    units = frame.filter(pl.col(ROLE) == "unit") if ROLE in frame.columns else frame
    counts = units.group_by("indicator_id", SET).agg(pl.col("area_code").n_unique())
    return Layout(
        sets=sets, units={(i, s): n for i, s, n in counts.iter_rows()}, benchmarks=[], other_codes=[], dropped={}, notes=[]
    )


def _notes(layout: Layout, catalogue: dict[str, Any]) -> list[str]:
    notes = []
    present = layout.all_sets()
    if len(present) > 1:
        described = "; ".join(f"{catalogue[s].label}" for s in present)
        notes.append(f"The areas fall into {len(present)} sets that are compared separately, never with each other: {described}.")
    elif present:
        notes.append(f"Areas compared: {catalogue[present[0]].label}.")
    if layout.benchmarks:
        shown = ", ".join(layout.benchmarks[:6]) + (" ..." if len(layout.benchmarks) > 6 else "")
        n = len(layout.benchmarks)
        notes.append(
            f"{n} national or regional area{'s' if n != 1 else ''} ({shown}) {'are benchmarks' if n != 1 else 'is a benchmark'}, "
            "not compared as areas."
        )
    if layout.other_codes:
        shown = ", ".join(layout.other_codes[:5]) + (" ..." if len(layout.other_codes) > 5 else "")
        notes.append(
            f"{len(layout.other_codes)} area codes are of no known type ({shown}); they are kept, shown by code "
            "and compared only with each other."
        )
    if layout.successors:
        shown = ", ".join(f"{o} to {n}" for o, n in sorted(layout.successors.items())[:4])
        notes.append(
            f"Rows under {len(layout.successors)} obsolete area code(s) are shown under their successor "
            f"(one-to-one boundary changes: {shown})."
        )
    for s, n in sorted(layout.dropped.items()):
        notes.append(
            f"{n:,} value rows of {catalogue[s].label if s in catalogue else s} are left out by the choice of comparable set."
        )
    return notes
