"""Shared plumbing for the ranking family (funnel, shrinkage, report cards): resolving a
Dataset or frame plus an indicator, naming offending rows, and checking columns.

Private to the ranking package: the public names are exported by :mod:`publicservices.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, IndicatorError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.keys import GROUP_KEYS
from publicservices.stats._common import as_list, require_columns

KEY_COLUMNS = ("indicator_id", "area_code", "period", *GROUP_KEYS)
# One family of areas compared together: indicator x period x comparable set x breakdowns.
GROUP_COLUMNS = ("indicator_id", "period", *GROUP_KEYS)


def resolve(
    frame: Any,
    indicator: Indicator | str | None,
    indicators: Mapping[str, Indicator] | None = None,
) -> tuple[pl.DataFrame, Indicator | None]:
    """Return (values frame, Indicator) from a Dataset or a frame plus an indicator.

    A Dataset (anything with ``.values`` and ``.indicators``) supplies both; a plain frame
    needs ``indicator`` as an :class:`Indicator`, or as an id found in ``indicators``.
    When the frame holds several indicators, only the rows of the chosen one are kept.
    """
    if not isinstance(frame, pl.DataFrame) and hasattr(frame, "values") and hasattr(frame, "indicators"):
        indicators = {**dict(frame.indicators), **dict(indicators or {})}
        frame = frame.values
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(
            f"expected a Polars DataFrame or a Dataset, got {type(frame).__name__}.\n"
            "Fix: pass dataset.values, a pl.DataFrame, or the Dataset itself."
        )
    if isinstance(indicator, str):
        if not indicators or indicator not in indicators:
            known = ", ".join(sorted(indicators or {})[:10]) or "none given"
            raise IndicatorError(
                f"unknown indicator {indicator!r} (known: {known}).\n"
                "Fix: pass the Indicator object, or indicators={id: Indicator} / a Dataset."
            )
        indicator = indicators[indicator]
    if indicator is not None and "indicator_id" in frame.columns:
        ids = frame.get_column("indicator_id").unique().to_list()
        if len(ids) > 1 or (ids and ids[0] != indicator.id):
            frame = frame.filter(pl.col("indicator_id") == indicator.id)
            if frame.height == 0:
                raise DataError(
                    problem(
                        "indicator_id",
                        f"has no rows for indicator {indicator.id!r}",
                        fix="Check the indicator id, or pass the matching values frame.",
                    )
                )
    return frame, indicator


def row_labels(frame: pl.DataFrame, mask: Any) -> list[str]:
    """Up to five ``indicator_id | area_code | period (| group keys)`` labels of the rows where mask is true."""
    import numpy as np

    idx = np.flatnonzero(np.asarray(mask))[:5]
    keys = [k for k in KEY_COLUMNS if k in frame.columns]
    if not keys:
        return [f"row {i}" for i in idx]
    sub = frame.select(keys)[idx.tolist()]
    return [" | ".join("" if v is None else str(v) for v in row) for row in sub.iter_rows()]


def numeric(frame: pl.DataFrame, column: str, *, allow_null: bool = False, what: str = "") -> Any:
    """Column as float64 NumPy array; nulls raise a DataError naming rows unless allowed."""
    import numpy as np

    s = frame.get_column(column)
    if not s.dtype.is_numeric():
        raise SchemaError(problem(column, f"must be numeric, not {s.dtype}", fix=f"Cast {column!r} to Float64."))
    arr = np.asarray(s.cast(pl.Float64).to_numpy(), dtype=np.float64)  # null -> NaN
    nulls = np.isnan(arr)  # null or NaN: one array, not a Polars query per test
    if nulls.any() and not allow_null:
        raise DataError(
            problem(
                column,
                f"is missing{what}",
                rows=row_labels(frame, nulls),
                total=int(nulls.sum()),
                fix=f"Provide {column!r} for every row (0 where the count is zero), or filter those rows out before calling.",
            )
        )
    return arr


def check(frame: pl.DataFrame, column: str, bad: Any, what: str, fix: str) -> None:
    """Raise a DataError naming the rows where ``bad`` is true."""
    import numpy as np

    bad = np.asarray(bad)
    if bad.any():
        raise DataError(problem(column, what, rows=row_labels(frame, bad), total=int(bad.sum()), fix=fix))


def group_keys(frame: pl.DataFrame, by: Sequence[str] | str | None) -> list[str]:
    """Grouping columns: ``by`` if given, else whichever of indicator_id, period and the group
    keys (comparable_set, sex, age, category_type, category) exist: one family per group."""
    if by is None:
        return [c for c in GROUP_COLUMNS if c in frame.columns]
    by = as_list(by)
    require_columns(frame, by, "grouping columns named in by=")
    return by


def partitions(frame: pl.DataFrame, keys: Sequence[str]) -> list[pl.DataFrame]:
    """Split by keys (a few groups: indicator x period x group keys), preserving order."""
    if not keys:
        return [frame]
    return frame.partition_by(list(keys), maintain_order=True)


def average_ranks(values: Any, axis: int = -1) -> Any:
    """Ranks 1..n along ``axis``, ties sharing the average of their places: what
    ``scipy.stats.rankdata(values, axis=axis, method="average")`` gives (for values without NaN),
    without importing scipy.stats (a second of a site build).

    >>> import numpy as np
    >>> average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]]))
    array([[3.5, 1. , 3.5, 2. ]])
    """
    import numpy as np

    moved = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    flat = moved.reshape(int(np.prod(moved.shape[:-1])), moved.shape[-1])
    n = flat.shape[-1]
    # Not a stable sort: tied values all get their run's average, whatever their order among
    # themselves, and the default sort is several times faster on the simulated draws.
    order = np.argsort(flat, axis=-1)
    ordered = np.take_along_axis(flat, order, axis=-1)
    starts = np.ones(flat.shape, dtype=bool)  # the first place of each run of equal values
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(flat.shape, dtype=bool)  # and its last
    ends[:, :-1] = starts[:, 1:]
    place = np.broadcast_to(np.arange(n), flat.shape)
    first = np.maximum.accumulate(np.where(starts, place, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, place, n)[:, ::-1], axis=-1)[:, ::-1]
    ranks = np.empty(flat.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=-1)
    return np.moveaxis(ranks.reshape(moved.shape), -1, axis)


def min_ranks(values: Any) -> Any:
    """Ranks 1..n of a 1-D array, ties sharing their lowest place: what
    ``scipy.stats.rankdata(values, method="min")`` gives (for values without NaN), without
    importing scipy.stats.

    >>> import numpy as np
    >>> min_ranks(np.array([3.0, 1.0, 3.0, 2.0]))
    array([3, 1, 3, 2])
    """
    import numpy as np

    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.ones(len(values), dtype=bool)  # the first place of each run of equal values
    starts[1:] = ordered[1:] != ordered[:-1]
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0)) + 1
    return ranks


def spread_words(width: float, n: int) -> str:
    """What a median rank interval of ``width`` places out of ``n`` says about the ranks.

    The words follow the numbers: "certain" for one place, "within a tenth of the table" up to
    n/10, "within a quarter" up to n/4, "uncertain" beyond a quarter of the places.
    """
    if width <= 1:
        return "most ranks are certain"
    if width <= n / 10:
        return "most ranks are known to within a tenth of the table"
    if width <= n / 4:
        return "most ranks are known only to within a quarter of the table"
    return "most ranks are uncertain"
