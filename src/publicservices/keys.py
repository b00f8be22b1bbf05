"""The grouping keys of the values contract, defined once (below `stats`, which uses them, and
above nothing: results, charts and the site share them).

A *family* is one set of areas compared together: indicator x period x the group keys
below. Every statistic that compares areas does so within a family, and every result keeps
these columns: no function drops them, pools across them, or repeats rows because of them.

* ``comparable_set`` -- which comparable set of areas a row's area is compared within
  (``"upper_tier"``, ``"lower_tier"``, ``"police_force_area"`` ...); one area can sit in
  two sets (a unitary authority is upper and lower tier), so it is a key, not an attribute.
* ``sex``, ``age``, ``category_type``, ``category`` -- the breakdowns of the values contract
  (``publicservices.frame.BREAKDOWN_COLUMNS``; repeated here because ``stats`` does not
  import the frame layer).

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"area_code": ["A", "A"], "sex": ["Male", "Female"], "age": ["All ages"] * 2})
    >>> present_keys(f), varying_keys(f)
    (['sex', 'age'], ['sex'])
    >>> group_label({"comparable_set": "upper_tier", "sex": "Female"})
    'upper tier, Female'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

__all__ = ["GROUP_KEYS", "WHOLE_POPULATION", "present_keys", "varying_keys", "group_label", "is_whole_population"]

GROUP_KEYS: tuple[str, ...] = ("comparable_set", "sex", "age", "category_type", "category")

# Breakdown values that mean "everyone" (compared lower-case, stripped); null means the same.
WHOLE_POPULATION: tuple[str, ...] = ("persons", "all persons", "all ages", "all", "total", "")


def _columns(frame: pl.DataFrame | Iterable[str]) -> list[str]:
    return list(frame.columns) if isinstance(frame, pl.DataFrame) else list(frame)


def present_keys(frame: pl.DataFrame | Iterable[str]) -> list[str]:
    """The group keys among a frame's columns (or a list of column names), in contract order."""
    cols = set(_columns(frame))
    return [c for c in GROUP_KEYS if c in cols]


def varying_keys(frame: pl.DataFrame) -> list[str]:
    """The group keys that hold more than one value (nulls count as a value) in ``frame``."""
    return [c for c in present_keys(frame) if frame.get_column(c).n_unique() > 1]


def is_whole_population(column: str) -> pl.Expr:
    """True where a breakdown column means the whole population (Persons, All ages, null ...)."""
    text = pl.col(column).cast(pl.String)
    return text.is_null() | text.str.to_lowercase().str.strip_chars().is_in(list(WHOLE_POPULATION))


def group_label(row: Mapping[str, Any], keys: Iterable[str] | None = None) -> str:
    """A short label for one group: ``"upper tier, Female, 65+"`` (``category_type: category``)."""
    keys = present_keys(row.keys()) if keys is None else list(keys)
    parts = []
    for k in keys:
        v = row.get(k)
        if k == "category_type" and "category" in keys:
            continue  # written with the category
        if k == "category" and row.get("category_type") is not None and v is not None:
            parts.append(f"{row['category_type']}: {v}")
        elif v is None:
            parts.append(f"no {k.replace('_', ' ')}")
        elif k == "comparable_set":
            parts.append(str(v).replace("_", " "))
        else:
            parts.append(str(v))
    return ", ".join(parts)
