"""Inequality indices across areas: Gini, Theil T, Theil L, Atkinson, and their decomposition.

All indices take optional population weights, so that an area of 300,000 people counts 300
times as much as one of 1,000. :func:`inequality_indices` computes them for every group (indicator x
period) at once -- one sort, then NumPy ``bincount`` sums -- and adds the exact
between-group / within-group decomposition (for example between regions and within them).
:func:`gini`, :func:`theil_t`, :func:`theil_l` and :func:`atkinson` do the same for one array.

Zeros and negative values are never dropped silently:

* a negative value makes every index undefined (they measure shares of a non-negative
  total): all indices are null and ``inequality_note`` says why;
* zeros are fine for Gini, Theil T (``0 log 0 = 0``) and Atkinson with ``epsilon < 1``, but
  Theil L and Atkinson with ``epsilon >= 1`` need ``log(y)`` or ``1/y``: those are null, with
  the reason in ``inequality_note``;
* ``n_zero`` and ``n_negative`` count such areas in every result.

Missing values are never read as equality. :func:`gini`, :func:`theil_t`, :func:`theil_l` and
:func:`atkinson` return NaN when any value or weight is NaN or infinite (as NumPy's ``mean``
does): the index of the other values would describe a different set of areas. :func:`inequality_indices`
leaves such rows out of the group, says how many in ``inequality_note``, and reports null (not
0) for a group left with fewer than 2 areas.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"value": [1.0, 2.0, 3.0, 4.0], "region": ["N", "N", "S", "S"]})
    >>> row = inequality_indices(df, by=[], group="region", weight=None).row(0, named=True)
    >>> round(row["gini"], 6), round(row["theil_t"], 6)
    (0.25, 0.10644)
    >>> abs(row["theil_t_between"] + row["theil_t_within"] - row["theil_t"]) < 1e-12
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from publicservices.errors import OptionError
from publicservices.stats._common import as_list, group_index, text_values

__all__ = ["gini", "theil_t", "theil_l", "atkinson", "inequality_indices", "ATKINSON_EPSILONS"]

#: inequality-aversion parameters reported by :func:`inequality_indices`
ATKINSON_EPSILONS: tuple[float, ...] = (0.5, 1.0, 2.0)

_NEGATIVE = "negative values: inequality indices are defined for non-negative values only"
_ZERO = "zero values: Theil L and Atkinson (epsilon >= 1) are undefined when any value is 0"
_NO_TOTAL = "no positive total: every value is 0"
_FEW = "fewer than 2 areas with a value (and a positive weight): inequality between areas is not measurable"


def _clamp(x: float) -> float:
    """``max(0, x)`` that keeps NaN (Python's ``max(0.0, nan)`` is 0.0: perfect equality)."""
    return 0.0 if x < 0 else x


def _atkinson_name(epsilon: float) -> str:
    return "atkinson_" + f"{epsilon:g}".replace(".", "_")


def _sums(g: np.ndarray, size: int, x: np.ndarray) -> np.ndarray:
    return np.bincount(g, weights=x, minlength=size)


_ALL = ("gini", "theil_t", "theil_l", *(_atkinson_name(e) for e in ATKINSON_EPSILONS))


def _indices(
    gid: np.ndarray, size: int, y: np.ndarray, w: np.ndarray | None, which: Sequence[str] = _ALL
) -> dict[str, np.ndarray]:
    """Gini, Theil T/L, Atkinson (those in ``which``) for every group; NaN where undefined."""
    ws = np.ones_like(y) if w is None else w
    n_neg = np.bincount(gid, weights=(y < 0), minlength=size)
    n_zero = np.bincount(gid, weights=(y == 0), minlength=size)
    total = _sums(gid, size, ws)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = _sums(gid, size, ws * y) / total
        bad = (n_neg > 0) | ~(mean > 0)
        zero = n_zero > 0
        f = ws / total[gid]
        r = y / mean[gid]
        out: dict[str, np.ndarray] = {}
        # Gini from the sorted values: each value times (weight below it - weight above it);
        # with unit weights this is PySAL's sum (2i - n - 1) y_(i) / (n sum y)
        if "gini" in which:
            order = np.argsort(y) if size == 1 else np.lexsort((y, gid))
            g_s, y_s, w_s = gid[order], y[order], ws[order]
            cum = np.cumsum(w_s)
            if size == 1:
                c = cum
            else:
                n = np.bincount(g_s, minlength=size)
                starts = np.concatenate([[0], np.cumsum(n)[:-1]])
                c = cum - np.concatenate([[0.0], cum])[starts][g_s]
            out["gini"] = _sums(g_s, size, w_s * y_s * (2 * c - w_s - total[g_s])) / (total * _sums(g_s, size, w_s * y_s))
        if "theil_t" in which:
            out["theil_t"] = _sums(gid, size, f * np.where(y > 0, r * np.log(np.where(y > 0, r, 1.0)), 0.0))
        if "theil_l" in which:
            out["theil_l"] = np.where(zero, np.nan, _sums(gid, size, -f * np.log(r)))
        logy = np.log(np.where(y > 0, y, 1.0)) if _atkinson_name(1.0) in which else None
        for e in ATKINSON_EPSILONS:
            if _atkinson_name(e) not in which:
                continue
            if e == 1.0:
                a = 1 - np.exp(_sums(gid, size, f * logy)) / mean
            else:
                a = 1 - _sums(gid, size, f * np.power(np.where(y > 0, y, 0.0), 1 - e)) ** (1 / (1 - e)) / mean
            out[_atkinson_name(e)] = np.where(zero & (e >= 1), np.nan, a)
    for k in list(out):
        # every index is >= 0; rounding can leave -1e-16 for perfectly equal values
        out[k] = np.where(bad, np.nan, np.maximum(out[k], 0.0))
    out["n_zero"] = n_zero.astype(np.int64)
    out["n_negative"] = n_neg.astype(np.int64)
    note = np.where(n_neg > 0, _NEGATIVE, np.where(~(mean > 0), _NO_TOTAL, np.where(zero, _ZERO, None)))  # type: ignore[call-overload]  # numpy's stubs reject None (an object array) in np.where
    out["inequality_note"] = np.where(np.bincount(gid, minlength=size) == 0, None, note)  # type: ignore[call-overload]  # numpy's stubs reject None (an object array) in np.where
    return out


def _arrays(
    values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    y = np.asarray(values, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None and w.shape != y.shape:
        raise OptionError(f"weights have shape {w.shape}, values {y.shape}: they must match")
    return y, w


# The single-array functions below are lean NumPy -- the formula, with the checks for zeros and
# negatives folded into it -- so they cost about what a bare NumPy formula costs (``np.dot`` is
# avoided: BLAS threading makes it slower than multiply-and-sum at these sizes). :func:`inequality_indices`
# does the same maths for many groups at once; both are tested against PySAL and references.


def _avg(x: np.ndarray, w: np.ndarray | None, total_w: float) -> float:
    if w is None:
        return float(x.mean())
    with np.errstate(invalid="ignore"):  # inf / inf with an infinite weight: NaN, reported as such
        return float((w * x).sum() / total_w)


def gini(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Gini coefficient of one array, optionally population-weighted.

    Method: the mean absolute difference between all pairs of people (areas, unweighted)
    divided by twice the mean, ``G = sum_ij w_i w_j |y_i - y_j| / (2 W^2 mean)``, computed in
    O(n log n) from the sorted values (Gini 1912; Lerman & Yitzhaki 1989 for weights). Equals
    PySAL ``inequality.gini.Gini`` unweighted; lies in ``[0, 1 - 1/n]`` unweighted. NaN when
    any value is negative, all are zero, or any value or weight is NaN or infinite.

    Parameters:
        values: the values.
        weights: optional positive weights.

    Example:
        >>> gini([1.0, 2.0, 3.0, 4.0]), round(gini([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 3]), 6)
        (0.25, 0.203704)
    """
    y, w = _arrays(values, weights)
    if y.size == 0:
        return float("nan")
    if w is None:
        ys = np.sort(y)
        if ys[0] < 0:
            return float("nan")
        n = ys.size
        total = ys.sum()
        # sum (2i - n - 1) y_(i) / (n sum y); arange(1 - n, n, 2) is (2i - n - 1) for i = 1..n
        # (NaN sorts last and makes the total NaN; an infinite value makes it infinite)
        return _clamp(float((np.arange(1.0 - n, n, 2.0) * ys).sum() / (n * total))) if 0 < total < np.inf else float("nan")
    order = np.argsort(y)
    ys, ws = y[order], w[order]
    if ys[0] < 0:
        return float("nan")
    total_w = ws.sum()
    wy = ws * ys
    total_y = wy.sum()
    if not (0 < total_y < np.inf and 0 < total_w < np.inf):  # a NaN or infinite value or weight
        return float("nan")
    return _clamp(float((wy * (2.0 * np.cumsum(ws) - ws - total_w)).sum() / (total_w * total_y)))


def theil_t(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Theil's T index (GE(1)) of one array, optionally population-weighted.

    Method: ``T = sum_i f_i (y_i / mean) log(y_i / mean)`` with ``f_i`` the population share
    (``1/n`` unweighted); zeros contribute ``0 log 0 = 0``. Theil H (1967) *Economics and
    Information Theory*; Shorrocks AF (1980) Econometrica 48:613-625. Equals PySAL
    ``inequality.theil.Theil`` unweighted. NaN with negative values, and when any value or
    weight is NaN or infinite.

    Parameters:
        values: the values.
        weights: optional positive weights.

    Example:
        >>> round(theil_t([1.0, 1.0, 4.0]), 6)
        0.231049
    """
    y, w = _arrays(values, weights)
    total_w = 0.0 if w is None else float(w.sum())
    m = _avg(y, w, total_w) if y.size else float("nan")
    if not 0 < m < np.inf:  # also NaN when any value or weight is NaN
        return float("nan")
    r = y / m
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _avg(r * np.log(r), w, total_w)  # NaN if any value is 0 (0 * -inf) or negative
    if t != t:
        if y.min() < 0:
            return float("nan")
        t = _avg(np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0), w, total_w)
    return _clamp(t)


def theil_l(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Theil's L index (mean log deviation, GE(0)) of one array, optionally weighted.

    Method: ``L = sum_i f_i log(mean / y_i)`` (Theil 1967; Shorrocks 1980). NaN when any
    value is zero (``log 0``) or negative, and when any value or weight is NaN or infinite.

    Parameters:
        values: the values.
        weights: optional positive weights.

    Example:
        >>> round(theil_l([1.0, 1.0, 4.0]), 6)
        0.231049
    """
    y, w = _arrays(values, weights)
    total_w = 0.0 if w is None else float(w.sum())
    m = _avg(y, w, total_w) if y.size else float("nan")
    if not 0 < m < np.inf or y.min() <= 0:  # m is NaN when any value or weight is NaN
        return float("nan")
    return _clamp(float(np.log(m) - _avg(np.log(y), w, total_w)))


def atkinson(
    values: Sequence[float] | np.ndarray, epsilon: float = 0.5, weights: Sequence[float] | np.ndarray | None = None
) -> float:
    """Atkinson index of one array with inequality aversion ``epsilon`` (0.5, 1 or 2).

    Method: ``A = 1 - EDE / mean`` where the equally-distributed equivalent is the
    generalised mean of order ``1 - epsilon`` (the geometric mean when ``epsilon = 1``);
    Atkinson AB (1970) J Econ Theory 2:244-263. Equals PySAL ``inequality.atkinson``. NaN
    with negative values, with zeros when ``epsilon >= 1``, and when any value or weight is
    NaN or infinite.

    Parameters:
        values: the values.
        epsilon: inequality aversion, one of 0.5, 1, 2.
        weights: optional positive weights.

    Example:
        >>> round(atkinson([10.0, 20.0, 30.0, 40.0, 50.0], 1), 5)
        0.13161
    """
    if epsilon not in ATKINSON_EPSILONS:
        raise OptionError(f"epsilon must be one of {ATKINSON_EPSILONS}, got {epsilon!r}")
    y, w = _arrays(values, weights)
    total_w = 0.0 if w is None else float(w.sum())
    if y.size == 0:
        return float("nan")
    low = y.min()
    m = _avg(y, w, total_w)
    if not 0 < m < np.inf or low < 0 or (low == 0 and epsilon >= 1):  # m is NaN with a NaN value or weight
        return float("nan")
    if epsilon == 1.0:
        ede = float(np.exp(_avg(np.log(y), w, total_w)))
    else:
        ede = _avg(np.power(y, 1.0 - epsilon), w, total_w) ** (1.0 / (1.0 - epsilon))
    return _clamp(1.0 - ede / m)


def _decomposition(
    gid: np.ndarray, cell: np.ndarray, size: int, cells: int, y: np.ndarray, w: np.ndarray
) -> dict[str, np.ndarray]:
    """Between/within parts of Theil T, Theil L and the variance, groups ``cell`` within ``gid``."""
    cell_gid = np.zeros(cells, dtype=np.int64)
    cell_gid[cell] = gid
    with np.errstate(divide="ignore", invalid="ignore"):
        w_c = _sums(cell, cells, w)
        m_c = _sums(cell, cells, w * y) / w_c
        r = y / m_c[cell]
        t_c = _sums(cell, cells, w * np.where(y > 0, r * np.log(np.where(y > 0, r, 1.0)), 0.0)) / w_c
        l_c = _sums(cell, cells, -w * np.log(r)) / w_c
        v_c = _sums(cell, cells, w * (y - m_c[cell]) ** 2) / w_c
        total = _sums(cell_gid, size, w_c)
        m = _sums(cell_gid, size, w_c * m_c) / total
        p = w_c / total[cell_gid]
        s = p * m_c / m[cell_gid]
        ratio = m_c / m[cell_gid]
        t_between = _sums(cell_gid, size, np.where(s > 0, s * np.log(np.where(s > 0, ratio, 1.0)), 0.0))
        t_within = _sums(cell_gid, size, np.where(s > 0, s * t_c, 0.0))
        l_between = _sums(cell_gid, size, -p * np.log(ratio))
        l_within = _sums(cell_gid, size, p * l_c)
        v_between = _sums(cell_gid, size, p * (m_c - m[cell_gid]) ** 2)
        v_within = _sums(cell_gid, size, p * v_c)
        return {
            "theil_t_between": t_between,
            "theil_t_within": t_within,
            "theil_l_between": l_between,
            "theil_l_within": l_within,
            "region_share_theil": t_between / (t_between + t_within),
            "variance_between": v_between,
            "variance_within": v_within,
            "region_share_variance": v_between / (v_between + v_within),
            "n_groups": np.bincount(cell_gid, minlength=size).astype(np.int64),
        }


def inequality_indices(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str = "value",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    group: str | None = "parent_code",
    weight: str | None = "population",
) -> pl.DataFrame:
    """Inequality indices per group of areas, with the exact decomposition by ``group``.

    Method: Gini, Theil T and L, Atkinson (0.5, 1, 2) as in :func:`gini`, :func:`theil_t`,
    :func:`theil_l`, :func:`atkinson`. Decomposition (Shorrocks 1980; Bourguignon F (1979)
    Econometrica 47:901-920): with population shares ``p_g``, means ``m_g`` and value shares
    ``s_g = p_g m_g / m`` of each group ``g`` (region),

    * ``T = sum_g s_g log(m_g / m)  +  sum_g s_g T_g``   (between + within)
    * ``L = sum_g p_g log(m / m_g)  +  sum_g p_g L_g``
    * ``Var = sum_g p_g (m_g - m)^2 + sum_g p_g Var_g`` (population variance, ANOVA)

    The between and within parts are each computed directly, so their sum reproduces the
    total to rounding error (tested to 1e-12). ``region_share_theil`` = between / total
    Theil T and ``region_share_variance`` = between / total variance: the share of the
    variation between groups rather than within them. Areas with a missing group form their
    own group, counted in ``n_no_group``. Rows with a missing or non-finite value, or (when
    weighted) a missing or non-positive weight, are left out and ``inequality_note`` says how
    many (:func:`~publicservices.stats.fairness.dispersion.dispersion_measures` counts them in ``n_missing`` and
    ``n_no_weight``). A group left with fewer than 2 areas has every index null, with a note:
    one area is not "perfect equality".

    Parameters:
        frame: one row per area (and ``by`` group).
        value: column of values.
        by: grouping column(s); ``[]`` for the whole frame.
        group: column to decompose by (e.g. region ``parent_code``), or None.
        weight: population column, or None for unweighted indices.

    Returns:
        ``by`` columns, ``gini, theil_t, theil_l, atkinson_0_5, atkinson_1, atkinson_2,
        n_zero, n_negative, inequality_note`` and with ``group``: ``theil_t_between,
        theil_t_within, theil_l_between, theil_l_within, region_share_theil,
        variance_between, variance_within, region_share_variance, n_groups, n_no_group``.

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"value": [1.0, 2.0, 3.0, 4.0], "region": ["N", "N", "S", "S"]})
        >>> row = inequality_indices(df, by=[], group="region", weight=None).row(0, named=True)
        >>> round(row["theil_l_between"], 6), round(row["region_share_variance"], 6)
        (0.087177, 0.8)
    """
    keys = as_list(by)
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if not keys:
        df = df.with_columns(pl.lit(0).alias("__all"))
    gkeys = keys or ["__all"]
    y = df.get_column(value).cast(pl.Float64).fill_null(np.nan).to_numpy()
    has = np.isfinite(y)
    ok = has.copy()
    w = None
    if weight is not None:
        w = df.get_column(weight).cast(pl.Float64).fill_null(np.nan).to_numpy()
        ok &= np.isfinite(w) & (w > 0)
    gid_all, key_frame = group_index(df, gkeys)
    size = key_frame.height
    gid = gid_all[ok]
    cols: dict[str, np.ndarray] = _indices(gid, size, y[ok], None if w is None else w[ok])
    # a group left with fewer than 2 areas has no inequality to measure: null, never 0 (equality)
    few = np.bincount(gid, minlength=size) < 2
    for k in _ALL:
        cols[k] = np.where(few, np.nan, cols[k])
    cols["inequality_note"] = np.where(few, _FEW, cols["inequality_note"])
    if group is not None:
        cell_all, cell_frame = group_index(df, [*gkeys, group])
        cell_ids = cell_all[ok]
        # dense ids of the cells that have rows
        used, cell = np.unique(cell_ids, return_inverse=True)
        dec = _decomposition(gid, cell.astype(np.int64), size, used.size, y[ok], np.ones(ok.sum()) if w is None else w[ok])
        neg = cols["n_negative"] > 0
        for k in ("theil_t_between", "theil_t_within", "region_share_theil"):
            dec[k] = np.where(neg, np.nan, dec[k])
        for k in ("theil_l_between", "theil_l_within"):
            dec[k] = np.where(neg | (cols["n_zero"] > 0), np.nan, dec[k])
        for k, v in dec.items():
            if k != "n_groups":
                dec[k] = np.where(few, np.nan, v)
        cols.update(dec)
        no_group = df.get_column(group).is_null().to_numpy()
        cols["n_no_group"] = np.bincount(gid_all[ok & no_group], minlength=size).astype(np.int64)
    series = []
    for k, v in cols.items():
        if k == "inequality_note":
            series.append(pl.Series(k, text_values(v), dtype=pl.String))
        else:
            series.append(pl.Series(k, v, dtype=pl.Int64 if k.startswith("n_") else pl.Float64))
    # rows left out are said in the note (fairness() also counts them in n_missing / n_no_weight)
    n_no_value = pl.Series("__no_value", np.bincount(gid_all[~has], minlength=size), dtype=pl.Int64)
    n_no_weight = pl.Series("__no_weight", np.bincount(gid_all[has & ~ok], minlength=size), dtype=pl.Int64)
    left_out = pl.concat_str(
        [
            pl.when(pl.col("__no_value") > 0).then(pl.format("{} without a value", "__no_value")),
            pl.when(pl.col("__no_weight") > 0).then(pl.format("{} without a positive weight", "__no_weight")),
        ],
        separator=", ",
        ignore_nulls=True,
    )
    out = (
        key_frame.with_columns(*series, n_no_value, n_no_weight)
        .fill_nan(None)
        .with_columns(
            pl.concat_str(
                [
                    pl.col("inequality_note"),
                    pl.when(pl.col("__no_value") + pl.col("__no_weight") > 0).then(pl.format("left out: {}", left_out)),
                ],
                separator="; ",
                ignore_nulls=True,
            ).alias("inequality_note"),
        )
        .with_columns(
            pl.when(pl.col("inequality_note") != "").then(pl.col("inequality_note")).alias("inequality_note"),
        )
        .drop("__no_value", "__no_weight")
    )
    return out.drop("__all") if not keys else out
