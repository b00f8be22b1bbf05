"""Shared private helpers of the statistics modules, one copy each.

Checking columns, naming offending rows, grouping, confidence levels and the two methods
more than one family runs on arrays (dense group ids and the PHE quantile numbers). Every
module of :mod:`publicservices.stats` takes these from here; no statistics module imports a
private name from another.

Example:
    >>> import polars as pl
    >>> as_list("a"), as_list(None), round(z_for(0.95), 6)
    (['a'], [], 1.959964)
    >>> series_keys(pl.DataFrame({"area_code": ["A"], "sex": ["Male"], "value": [1.0]}))
    ['area_code', 'sex']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import polars as pl

from publicservices.errors import DataError, IndicatorError, OptionError, SchemaError, problem
from publicservices.indicators import POLARITIES, Indicator
from publicservices.keys import GROUP_KEYS

#: the key of a values row: one indicator, area and period (with the group keys, if present)
KEY: tuple[str, ...] = ("indicator_id", "area_code", "period")
#: qnorm(0.975) as R prints it: converts a 95% interval's half-width to a standard error
Z95 = 1.959963984540054
#: indicator metadata columns that statistics read per row
META_COLUMNS: tuple[str, ...] = ("measure", "multiplier", "polarity", "floor", "target")


# -- arguments and columns ---------------------------------------------------------------------


def as_list(by: str | Sequence[str] | None) -> list[str]:
    """``by`` (None, one column name or several) as a list of column names."""
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def collect(frame: Any, name: str) -> pl.DataFrame:
    """A DataFrame from a DataFrame or LazyFrame; anything else is a SchemaError naming ``name``."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(
            problem(
                None,
                f"{name} must be a Polars DataFrame, got {type(frame).__name__}",
                fix="Pass a polars.DataFrame (pl.from_pandas(...) converts a pandas frame).",
            )
        )
    return frame


def require(frame: pl.DataFrame, columns: Iterable[str], fix: str, what: str = "frame") -> None:
    """Raise a SchemaError listing the ``columns`` that ``frame`` lacks, with ``fix``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what}: required column(s) {', '.join(map(repr, missing))} missing.\n"
            f"Columns present: {', '.join(frame.columns)}.\nFix: {fix}"
        )


def require_columns(frame: pl.DataFrame, columns: Sequence[str], why: str) -> None:
    """Raise a SchemaError naming the first of ``columns`` missing from ``frame``, and ``why`` it is needed."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            problem(
                missing[0],
                f"is missing ({why})",
                fix=f"Add column(s) {missing} or name the column(s) to use; the frame has {frame.columns}.",
            )
        )


def require_numeric(frame: pl.DataFrame, columns: Iterable[str]) -> None:
    """Raise a SchemaError (not a Polars error) for present columns that are not numbers."""
    for c in columns:
        if c in frame.columns and not (frame.schema[c].is_numeric() or frame.schema[c] == pl.Null):
            raise SchemaError(
                f"column {c!r} holds {frame.schema[c]} values; it must be numeric.\n"
                f"Fix: cast {c!r} to numbers (publicservices.validate_values does this for the contract columns)."
            )


def breakdowns(frame: pl.DataFrame) -> list[str]:
    """The group keys (comparable set and breakdowns) among ``frame``'s columns."""
    return [c for c in GROUP_KEYS if c in frame.columns]


def series_keys(frame: pl.DataFrame) -> list[str]:
    """The columns naming one time series: indicator x area (x breakdowns)."""
    return [c for c in ("indicator_id", "area_code", *GROUP_KEYS) if c in frame.columns]


def family_keys(frame: pl.DataFrame) -> list[str]:
    """The columns naming one set of areas compared together: indicator x period (x breakdowns)."""
    return [c for c in ("indicator_id", "period", *GROUP_KEYS) if c in frame.columns]


def row_keys(frame: pl.DataFrame, mask: pl.Series) -> tuple[list[str], int]:
    """Up to five ``row i: key | key`` labels of the rows where ``mask`` holds, and how many there are."""
    cols = [c for c in (*KEY, *GROUP_KEYS) if c in frame.columns]
    bad = frame.with_row_index("_row").filter(mask)
    rows = [
        f"row {r[0] + 1}" + (": " + " | ".join("<null>" if v is None else str(v) for v in r[1:]) if cols else "")
        for r in bad.head(5).select("_row", *cols).iter_rows()
    ]
    return rows, bad.height


def text_values(values: Any) -> list[str | None]:
    """A list for a String column from a NumPy object array (Polars 2 refuses to cast Object).

    Example:
        >>> import numpy as np
        >>> text_values(np.array(["a", None], dtype=object))
        ['a', None]
    """
    return values.tolist() if hasattr(values, "tolist") else list(values)


# -- confidence levels -------------------------------------------------------------------------


def z_for(level: float) -> float:
    """The two-sided normal quantile for a confidence level, in PHE's form ``qnorm(c + (1 - c)/2)``.

    Kept in that form so limits agree with PHEindicatormethods to the last bit.
    """
    return NormalDist().inv_cdf(level + (1.0 - level) / 2.0)


def fraction(level: float) -> float:
    """Accept 0.95 or 95 (PHEindicatormethods style) and return the fraction (0.5 to 1)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level):
        raise SchemaError(
            f"confidence level {level!r} must be a number such as 0.95 or 0.998.\nFix: pass e.g. confidence=(0.95, 0.998)."
        )
    c = level / 100 if level > 1 else float(level)
    if not 0.5 <= c < 1:
        raise SchemaError(
            f"confidence level {level!r} must be between 0.5 and 1 (or 50 and 100).\n"
            "Fix: pass e.g. confidence=0.95 or confidence=(0.95, 0.998)."
        )
    return c


# -- indicator metadata ------------------------------------------------------------------------


def as_indicator_map(indicators: Mapping[str, Indicator] | Iterable[Indicator] | None) -> dict[str, Indicator] | None:
    """``indicators`` (a mapping id -> Indicator, or a list of them) as a dict by id."""
    if indicators is None:
        return None
    items = indicators.values() if isinstance(indicators, Mapping) else indicators
    out: dict[str, Indicator] = {}
    for ind in items:
        if not isinstance(ind, Indicator):
            raise SchemaError(
                f"indicators must be Indicator objects, got {type(ind).__name__}.\n"
                "Fix: pass a mapping id -> publicservices.Indicator, or a list of them."
            )
        out[ind.id] = ind
    return out


def with_metadata(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None,
    need: Sequence[str] = ("polarity",),
) -> pl.DataFrame:
    """Add indicator metadata columns (measure, multiplier, polarity, floor, target).

    Columns already in ``frame`` win: a caller may set, say, ``polarity`` per row. Without
    ``indicators`` the needed columns must already be there.
    """
    mapping = as_indicator_map(indicators)
    absent = [c for c in META_COLUMNS if c not in frame.columns]
    if mapping is not None and absent:
        require(frame, ["indicator_id"], "add the indicator_id column, or pass the metadata as columns.")
        ids = frame.get_column("indicator_id").unique().drop_nulls().to_list()
        unknown = sorted(i for i in ids if i not in mapping)
        if unknown:
            rows, total = row_keys(frame, frame.get_column("indicator_id").is_in(unknown))
            raise IndicatorError(
                problem(
                    "indicator_id",
                    f"holds id(s) with no definition in indicators= ({', '.join(unknown[:5])})",
                    rows=rows,
                    total=total,
                    fix="pass every indicator's definition in indicators= (a mapping id -> Indicator).",
                )
            )
        meta = pl.DataFrame(
            {
                "indicator_id": list(mapping),
                "measure": [i.measure for i in mapping.values()],
                "multiplier": [float(i.multiplier) for i in mapping.values()],
                "polarity": [i.polarity for i in mapping.values()],
                "floor": [None if i.floor is None else float(i.floor) for i in mapping.values()],
                "target": [None if i.target is None else float(i.target) for i in mapping.values()],
            },
            schema={
                "indicator_id": pl.String,
                "measure": pl.String,
                "multiplier": pl.Float64,
                "polarity": pl.String,
                "floor": pl.Float64,
                "target": pl.Float64,
            },
        ).select("indicator_id", *absent)
        frame = frame.join(meta, on="indicator_id", how="left", maintain_order="left")
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"column(s) {', '.join(map(repr, missing))} needed but absent.\n"
            "Fix: pass indicators= (a mapping id -> Indicator) so the metadata can be looked up, "
            "or add the column(s) to the frame."
        )
    if "polarity" in frame.columns and "polarity" in need:
        bad = frame.get_column("polarity").is_not_null() & ~frame.get_column("polarity").is_in(list(POLARITIES))
        if bad.any():
            rows, total = row_keys(frame, bad)
            raise DataError(
                problem(
                    "polarity", "holds unknown polarities", rows=rows, total=total, fix=f"use one of {', '.join(POLARITIES)}."
                )
            )
    return frame


# -- methods run on arrays by more than one family ---------------------------------------------


def group_index(frame: pl.DataFrame, keys: Sequence[str]) -> tuple[Any, pl.DataFrame]:
    """Dense integer group id per row (groups in sorted key order) and the key frame.

    Example:
        >>> import polars as pl
        >>> gid, keys = group_index(pl.DataFrame({"k": ["b", "a", "b"]}), ["k"])
        >>> gid.tolist(), keys["k"].to_list()
        ([1, 0, 1], ['a', 'b'])
    """
    keys = list(keys)
    if not keys:
        raise OptionError("group_index needs at least one key column")
    gid = frame.select((pl.struct(keys).rank("dense") - 1).cast(pl.Int64)).to_series().to_numpy()
    key_frame = (
        frame.select(keys)
        .with_columns(pl.Series("__group_index__", gid))
        .unique("__group_index__")
        .sort("__group_index__")
        .drop("__group_index__")
    )
    return gid, key_frame


def quantile_numbers(gid: Any, values: Any, k: int, invert: Any) -> Any:
    """PHEindicatormethods ``phe_quantile``'s numbers for every row (NaN where missing or the group is too small).

    The one implementation of the PHE quantile algorithm (OHID Technical Guide, "Assigning
    deprivation categories"): within each group, with N the number of finite values and rank
    the "min" rank of ``max - value`` (``invert``) or of ``value``::

        q = floor((k + 1) - ceiling(((N + 1) - rank) / (N / k)))   (0 becomes 1)

    ``gid`` dense group ids, ``values`` with NaN for missing, ``invert`` per row (constant in a
    group). A group with fewer than ``k`` values gets NaN.

    Example:
        >>> import numpy as np
        >>> quantile_numbers(np.zeros(5, dtype=np.int64), np.array([5.0, 1.0, 3.0, 2.0, 4.0]), 5, np.ones(5, dtype=bool)).tolist()
        [1.0, 5.0, 3.0, 4.0, 2.0]
    """
    import numpy as np

    size = int(gid.max()) + 1 if gid.size else 0
    has = np.isfinite(values)
    n = np.bincount(gid[has], minlength=size).astype(float)
    gmax = np.full(size, -np.inf)
    if has.any():
        mx = pl.DataFrame({"g": gid[has], "v": values[has]}).group_by("g").agg(pl.col("v").max())
        gmax[mx["g"].to_numpy()] = mx["v"].to_numpy()
    adj = np.where(invert, gmax[gid] - values, values)
    idx = np.flatnonzero(has)
    order = idx[np.lexsort((adj[idx], gid[idx]))]
    g_s, a_s = gid[order], adj[order]
    new_group = np.r_[True, g_s[1:] != g_s[:-1]]
    new_tie = new_group | np.r_[True, a_s[1:] != a_s[:-1]]
    pos = np.arange(order.size)
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    tie_start = np.maximum.accumulate(np.where(new_tie, pos, 0))
    rank = np.empty(values.size)
    rank[order] = tie_start - group_start + 1
    nn = n[gid]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor((k + 1) - np.ceil(((nn + 1) - rank) / (nn / k)))
    q = np.where(q == 0, 1.0, q)
    return np.where(has & (nn >= k), q, np.nan)
