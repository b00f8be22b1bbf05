"""Quantiles (deciles, quintiles ...) of areas and polarity-aware ranks.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"area_code": list("ABCDE"), "deprivation": [40.0, 10.0, 25.0, 33.0, 18.0]})
    >>> quantile(f, "deprivation", n=5).get_column("quantile").to_list()  # 1 = most deprived
    [1, 5, 3, 2, 4]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, cast

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import POLARITIES
from publicservices.stats._common import as_list, group_index, quantile_numbers, require, row_keys

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

__all__ = ["quantile", "rank", "value_quintiles", "QUINTILE_KEYS", "QUINTILE_LABELS", "TOO_FEW_WARNING"]

TOO_FEW_WARNING = "One or more groups had too few small areas with values to allow quantiles to be assigned"
_RANK_METHODS = ("min", "max", "dense", "average", "ordinal")
RankMethod = Literal["min", "max", "dense", "average", "ordinal"]
# The groups value_quintiles compares within, when present: one indicator, period, comparable
# set of areas and breakdown at a time.
QUINTILE_KEYS = ("indicator_id", "period", "comparable_set", "sex", "age", "category_type", "category")
# Labels of quintiles 1 (lowest value) to 5 (highest value), by polarity.
QUINTILE_LABELS: dict[str, tuple[str, ...]] = {
    "no_judgement": ("Lowest", "Low", "Middle", "High", "Highest"),
    "higher_is_better": ("Worst", "Worse", "Middle", "Better", "Best"),
    "lower_is_better": ("Best", "Better", "Middle", "Worse", "Worst"),
}


def _over(e: pl.Expr, by: list[str]) -> pl.Expr:
    return e.over(by) if by else e


def quantile(
    frame: pl.DataFrame,
    value: str = "value",
    n: int = 10,
    *,
    invert: bool | str = True,
    by: str | Sequence[str] | None = None,
    name: str = "quantile",
) -> pl.DataFrame:
    """Assign each row to one of ``n`` quantiles (deciles by default), exactly as PHE does.

    Method: PHEindicatormethods ``phe_quantile`` (OHID Technical Guide, "Assigning
    deprivation categories"). Within each group, with N the number of non-null values and
    rank the "min" rank of the value (of max(value) - value when inverted)::

        quantile = floor((n + 1) - ceiling(((N + 1) - rank) / (N / n)))   (0 becomes 1)

    ``invert=True`` (the PHE default) puts the highest values in quantile 1 -- as in IMD
    deciles, where decile 1 is the most deprived. Groups with fewer than ``n`` values get
    null quantiles and a warning; null values get null quantiles. Tied values share a
    quantile, so a boundary may fall unevenly: PHE advises review in that case.

    The arithmetic is :func:`publicservices.stats._common.quantile_numbers`, the package's one
    implementation of the PHE algorithm (also behind :func:`publicservices.stats.assign_quantiles`
    and :func:`publicservices.stats.deprivation_gradient`). Values that are not finite count as
    missing.

    Parameters:
        frame: one row per area (per group).
        value: the numeric column to rank.
        n: number of quantiles (10 deciles, 5 quintiles, 4 quartiles ...).
        invert: True/False for every group, or the name of a boolean column that must be
            constant within each group.
        by: grouping columns: separate quantiles for each group (e.g. indicator, region).
        name: the output column.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"v": [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, None]})
        >>> quantile(f, "v", n=3, invert=False).get_column("quantile").to_list()
        [1, 1, 1, 2, 3, 3, None]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SchemaError(f"n={n!r} must be a whole number of quantiles, e.g. 10 for deciles.\nFix: pass n=10, 5 or 4.")
    group = as_list(by)
    require(frame, [value, *group], "name existing columns in value= and by=.")
    if not frame.schema[value].is_numeric():
        raise SchemaError(
            f"column {value!r} holds {frame.schema[value]} values; values must be numeric "
            "(values argument must be a numeric field from data).\nFix: pass a numeric column as value=."
        )
    if isinstance(invert, bool):
        inv = pl.lit(invert)
    elif isinstance(invert, str):
        require(frame, [invert], "pass invert=True/False or the name of a boolean column (invert is not a field name from data).")
        if frame.schema[invert] != pl.Boolean:
            raise SchemaError(
                f"invert column {invert!r} holds {frame.schema[invert]} values, not booleans.\nFix: use a True/False column."
            )
        varies = frame.select(_over(pl.col(invert).n_unique(), group).alias("_n")).get_column("_n") > 1
        if varies.any():
            rows, total = row_keys(frame, varies)
            raise DataError(
                problem(
                    invert,
                    "takes more than one value within a group (invert field values must take "
                    "the same logical value for each data grouping set)",
                    rows=rows,
                    total=total,
                    fix=f"give every row of a group ({', '.join(group) or 'the whole frame'}) the same {invert!r}.",
                )
            )
        inv = pl.col(invert)
    else:
        raise SchemaError(
            f"invert={invert!r} must be True, False or a column name (invert expressed as a logical "
            "must equal TRUE or FALSE).\nFix: pass one of those."
        )
    import numpy as np

    gid = group_index(frame, group)[0] if group else np.zeros(frame.height, dtype=np.int64)
    inv_arr = frame.select(inv.fill_null(False).alias("_inv")).get_column("_inv").to_numpy().astype(bool)
    if inv_arr.size != frame.height:  # a literal: one value for every row
        inv_arr = np.full(frame.height, bool(inv_arr[0]) if inv_arr.size else False)
    vals = frame.get_column(value).cast(pl.Float64).fill_nan(None).fill_null(np.nan).to_numpy()
    q = quantile_numbers(gid, vals, n, inv_arr)
    out = frame.with_columns(pl.Series(name, q, dtype=pl.Float64, nan_to_null=True).cast(pl.Int64))
    too_few = out.select((pl.col(value).is_not_null() & pl.col(name).is_null()).any()).item()
    if too_few:
        warnings.warn(TOO_FEW_WARNING, UserWarning, stacklevel=2)
    return out


def rank(
    frame: pl.DataFrame,
    value: str = "value",
    *,
    by: str | Sequence[str] | None = None,
    method: str = "min",
    polarity: str = "higher_is_better",
    name: str = "rank",
) -> pl.DataFrame:
    """Rank areas so that rank 1 is the best, with ties handled as chosen.

    Method: competition ranking within each group. Direction by polarity: the highest value
    ranks 1 for ``higher_is_better`` (and for ``no_judgement``, where rank 1 is simply the
    highest), the lowest value for ``lower_is_better``. Ties (``method``):

    * ``"min"`` -- standard competition ("1224"): tied areas share the best rank and
      the next rank is skipped (the PHE / Fingertips convention);
    * ``"max"`` -- modified competition ("1334");
    * ``"dense"`` -- "1223": no gaps;
    * ``"average"`` -- fractional ("1 2.5 2.5 4"): ranks sum to n(n+1)/2;
    * ``"ordinal"`` -- "1234": ties broken by row order (not by merit -- use with care).

    Null values get a null rank and are not counted; ``{name}_count`` holds the number of
    ranked rows in the group ("3rd of 150").

    Parameters:
        frame: one row per area (per group).
        value: column to rank.
        by: grouping columns (e.g. indicator_id, period).
        method: tie rule, one of min, max, dense, average, ordinal.
        polarity: a polarity, or the name of a column holding one per row.
        name: the output column.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"v": [10.0, 30.0, 20.0, 30.0]})
        >>> rank(f, "v").get_column("rank").to_list()
        [4, 1, 3, 1]
        >>> rank(f, "v", method="dense", polarity="lower_is_better").get_column("rank").to_list()
        [1, 3, 2, 3]
    """
    if method not in _RANK_METHODS:
        raise SchemaError(f"method={method!r} is not a tie rule.\nFix: use one of {', '.join(_RANK_METHODS)}.")
    group = as_list(by)
    require(frame, [value, *group], "name existing columns in value= and by=.")
    if not frame.schema[value].is_numeric():
        raise SchemaError(
            f"column {value!r} holds {frame.schema[value]} values; values must be numeric.\nFix: pass a numeric column."
        )
    if polarity in POLARITIES:
        ascending = pl.lit(polarity == "lower_is_better")
    elif polarity in frame.columns:
        ascending = pl.col(polarity) == "lower_is_better"
    else:
        raise SchemaError(
            f"polarity={polarity!r} is neither a polarity ({', '.join(POLARITIES)}) nor a column.\nFix: pass one of those."
        )
    x = pl.col(value).cast(pl.Float64).fill_nan(None)
    dtype = pl.Float64 if method == "average" else pl.Int64
    how = cast(RankMethod, method)  # one of _RANK_METHODS: checked above
    up = _over(x.rank(how), group).cast(dtype)
    down = _over(x.rank(how, descending=True), group).cast(dtype)
    return frame.with_columns(
        pl.when(ascending).then(up).otherwise(down).alias(name),
        _over(x.count(), group).cast(pl.Int64).alias(f"{name}_count"),
    )


def value_quintiles(
    frame: pl.DataFrame,
    by: str | Sequence[str] | None = None,
    value: str = "value",
    polarity: str = "polarity",
) -> pl.DataFrame:
    """Group areas into fifths by value: ``quintile`` (1 = lowest value ... 5 = highest) and ``quintile_label``.

    Method: :func:`quantile` with ``n=5`` and ``invert=False`` (PHEindicatormethods
    ``phe_quantile``), within each group. This is how Fingertips compares areas when an
    indicator has no confidence intervals: by quintile of value, not against a benchmark, so
    nothing is said about chance. ``quintile_label`` reads "Lowest", "Low", "Middle", "High",
    "Highest" without polarity (``no_judgement``); with a polarity it is oriented by it:
    "Worst", "Worse", "Middle", "Better", "Best" (the highest values are "Best" when higher is
    better, "Worst" when lower is better).

    Groups with fewer than five values, and rows without a value, get null ``quintile`` and
    ``quintile_label`` (no warning: a group too small to split is simply not split). Tied values
    share a quintile, so groups with ties can be uneven.

    Parameters:
        frame: one row per area (per group).
        by: grouping columns; default the columns of :data:`QUINTILE_KEYS` present in ``frame``
            (indicator_id, period, comparable_set, sex, age, category_type, category).
        value: the numeric column to group.
        polarity: a polarity (``higher_is_better``, ``lower_is_better``, ``no_judgement``) for
            every row, or the name of a column holding one per row (null reads as no_judgement);
            when the column is absent every row is ``no_judgement``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"value": [float(v) for v in range(1, 11)], "polarity": "lower_is_better"})
        >>> out = value_quintiles(f)
        >>> out.get_column("quintile").to_list()
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        >>> out.get_column("quintile_label").to_list()[::2]
        ['Best', 'Better', 'Middle', 'Worse', 'Worst']
    """
    group = [c for c in QUINTILE_KEYS if c in frame.columns] if by is None else as_list(by)
    if polarity in POLARITIES:
        pol = pl.lit(polarity)
    elif polarity in frame.columns:
        pol = pl.col(polarity).cast(pl.String)
        unknown = frame.select(pol.drop_nulls().unique()).to_series().to_list()
        unknown = sorted(set(unknown) - set(POLARITIES))
        if unknown:
            raise SchemaError(
                f"column {polarity!r} holds {', '.join(map(repr, unknown))}, not polarities.\nFix: use {', '.join(POLARITIES)}."
            )
    elif polarity == "polarity":
        pol = pl.lit("no_judgement")
    else:
        raise SchemaError(
            f"polarity={polarity!r} is neither a polarity ({', '.join(POLARITIES)}) nor a column.\nFix: pass one of those."
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TOO_FEW_WARNING)
        out = quantile(frame, value, 5, invert=False, by=group, name="quintile")
    q = pl.col("quintile")
    label = pl.lit(None, dtype=pl.String)
    for kind, words in QUINTILE_LABELS.items():
        picked: Then | ChainedThen = pl.when(q == 1).then(pl.lit(words[0]))
        for i, word in enumerate(words[1:], 2):
            picked = picked.when(q == i).then(pl.lit(word))
        match = pol.fill_null("no_judgement") == kind
        label = pl.when(match).then(picked.otherwise(None)).otherwise(label)
    return out.with_columns(label.alias("quintile_label"))
