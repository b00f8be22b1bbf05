"""Dispersion of area values: range, inter-quartile range, P90/P10, SD and CV.

Each measure comes unweighted (every area counts once) and population-weighted (every
*person* counts once). :func:`dispersion_measures` reports one row per group (indicator x period)
together with how many rows were left out and why; the computation sorts once and works on
all groups together with NumPy (``bincount`` sums), so 30,000 areas x 20 periods take
milliseconds.

Percentiles use one definition for both versions, the Hazen (mid-point) rule, Hyndman & Fan
(1996) definition 5: the sorted values sit at cumulative positions ``(C_i - w_i/2) / W``
(``C_i`` the cumulative weight, ``W`` the total) and the percentile is interpolated linearly
between them, clamped to the smallest and largest value. With equal weights this is exactly
``numpy.quantile(..., method="hazen")``, so weighted and unweighted percentiles agree when all
populations are equal.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"g": ["a"] * 4, "value": [10.0, 20.0, 30.0, 40.0],
    ...                    "population": [1.0, 1.0, 1.0, 1.0]})
    >>> dispersion_measures(df, by="g").select("iqr", "iqr_w", "p90_p10", "cv").row(0)
    (20.0, 20.0, 4.0, 0.5163977794943222)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from publicservices.errors import OptionError
from publicservices.stats._common import as_list, group_index

__all__ = ["dispersion_measures", "weighted_quantile", "coefficient_of_variation", "PERCENTILES"]

#: the percentiles reported by :func:`dispersion_measures` (columns ``p10`` ... ``p90``)
PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def _segment_sums(gid: np.ndarray, size: int, x: np.ndarray) -> np.ndarray:
    return np.bincount(gid, weights=x, minlength=size)


def _quantiles(g: np.ndarray, y: np.ndarray, w: np.ndarray, size: int, qs: Sequence[float]) -> dict[float, np.ndarray]:
    """Weighted Hazen percentiles per group; rows sorted by (group, value), weights > 0."""
    n = np.bincount(g, minlength=size)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    total = _segment_sums(g, size, w)
    cum = np.cumsum(w)
    before = np.concatenate([[0.0], cum])[starts]  # cumulative weight before each group
    pos = (cum - before[g] - w / 2) / total[g]
    out = {}
    for q in qs:
        j = np.bincount(g, weights=(pos <= q), minlength=size).astype(np.int64)  # positions at or below q
        lo = starts + np.clip(j - 1, 0, np.maximum(n - 1, 0))
        hi = starts + np.clip(j, 0, np.maximum(n - 1, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = n > 0
            lo, hi = np.where(ok, lo, 0), np.where(ok, hi, 0)
            if y.size == 0:
                out[q] = np.full(size, np.nan)
                continue
            frac = np.clip(np.nan_to_num((q - pos[lo]) / (pos[hi] - pos[lo]), nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
            out[q] = np.where(ok, y[lo] + frac * (y[hi] - y[lo]), np.nan)
    return out


def _sorted(gid: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # ties in value are ordered by weight, so the result depends only on the (value, weight)
    # pairs, never on row order; with equal weights this is plain Hazen
    order = np.lexsort((w, y, gid))
    return gid[order], y[order], w[order]


def _measures(gid: np.ndarray, size: int, y: np.ndarray, w: np.ndarray | None) -> dict[str, np.ndarray]:
    """All dispersion measures for every group; ``w=None`` means unweighted."""
    unit = w is None
    w = np.ones_like(y) if w is None else w
    g, ys, ws = _sorted(gid, y, w)
    n = np.bincount(g, minlength=size)
    total = _segment_sums(g, size, ws)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _segment_sums(g, size, ws * ys) / total
        ss = _segment_sums(g, size, ws * (ys - mean[g]) ** 2)
        sd = np.sqrt(ss / (n - 1)) if unit else np.sqrt(ss / total)
        cv = np.where(mean > 0, sd / mean, np.nan)
    pct = _quantiles(g, ys, ws, size, [p / 100 for p in PERCENTILES])
    out = {"mean": mean, "sd": np.where(n >= (2 if unit else 1), sd, np.nan), "cv": cv}
    if unit:
        starts = np.concatenate([[0], np.cumsum(n)[:-1]])
        safe = np.where(n > 0, starts, 0)
        out["min"] = np.where(n > 0, ys[safe] if ys.size else np.nan, np.nan)
        out["max"] = np.where(n > 0, ys[np.where(n > 0, starts + n - 1, 0)] if ys.size else np.nan, np.nan)
        out["range"] = out["max"] - out["min"]
    for p in PERCENTILES:
        out[f"p{p}"] = pct[p / 100]
    out["iqr"] = pct[0.75] - pct[0.25]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p90_p10"] = np.where(pct[0.1] > 0, pct[0.9] / pct[0.1], np.nan)
    return out


def weighted_quantile(
    values: Sequence[float] | np.ndarray, q: float, weights: Sequence[float] | np.ndarray | None = None
) -> float:
    """Hazen (mid-point) percentile of one array, optionally weighted.

    Method: Hyndman RJ, Fan Y (1996) "Sample quantiles in statistical packages", Am Stat
    50:361-365, definition 5; the weighted form places each value at the mid-point of its
    weight in the cumulative distribution and interpolates linearly.

    Parameters:
        values: the values.
        q: probability in [0, 1].
        weights: optional positive weights.

    Example:
        >>> weighted_quantile([1.0, 2.0, 3.0, 4.0], 0.5), weighted_quantile([1.0, 2.0, 3.0, 4.0], 0.5, [1, 1, 1, 5])
        (2.5, 3.5)
    """
    if not 0.0 <= q <= 1.0:
        raise OptionError(f"q must lie in [0, 1], got {q!r}")
    y = np.asarray(values, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    g, ys, ws = _sorted(np.zeros(y.size, dtype=np.int64), y, w)
    return float(_quantiles(g, ys, ws, 1, [q])[q][0])


def coefficient_of_variation(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Coefficient of variation SD / mean of one array (NaN unless the mean is positive).

    Unweighted: sample SD (``n - 1``). Weighted: the SD over people,
    ``sqrt(sum w (y - m)^2 / sum w)`` with the weighted mean ``m``.

    Parameters:
        values: the values.
        weights: optional positive weights (populations).

    Example:
        >>> round(coefficient_of_variation([1.0, 2.0, 3.0]), 6), round(coefficient_of_variation([1.0, 2.0, 3.0], [1, 1, 1]), 6)
        (0.5, 0.408248)
    """
    y = np.asarray(values, dtype=float)
    if weights is None:
        m = y.mean()
        return float(y.std(ddof=1) / m) if m > 0 else float("nan")
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    m = float((w * y).sum() / total)
    return float(np.sqrt((w * (y - m) ** 2).sum() / total) / m) if m > 0 else float("nan")


def dispersion_measures(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str = "value",
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    weight: str | None = "population",
) -> pl.DataFrame:
    """Dispersion of values across areas, one row per group, unweighted and weighted.

    Method: descriptive statistics; percentiles by the Hazen rule (Hyndman & Fan 1996,
    definition 5), weighted by the mid-point of each area's population in the cumulative
    distribution. Unweighted SD uses ``n - 1``; the population-weighted SD is the SD over
    people, ``sqrt(sum w (y - m)^2 / sum w)``. CV = SD / mean, null unless the mean is
    positive; P90/P10 is null unless P10 is positive (Fingertips technical guidance on
    describing variation between areas).

    Rows with a missing or non-finite value are left out and counted in ``n_missing``; for
    the weighted measures, rows with a missing or non-positive weight are also left out and
    counted in ``n_no_weight``.

    Parameters:
        frame: one row per area (and group).
        value: column of area values.
        by: grouping column(s), e.g. ``("indicator_id", "period")``.
        weight: population column for the ``_w`` measures, or None for unweighted only.

    Returns:
        ``by`` columns, ``n``, ``n_missing``, ``mean, sd, cv, min, max, range, p10, p25, p50,
        p75, p90, iqr, p90_p10`` and, when weighted, ``n_no_weight`` and the same measures
        with suffix ``_w`` (no weighted min, max or range: weights cannot change them).

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"indicator_id": ["x.y"] * 5, "period": ["2023"] * 5,
        ...                    "value": [1.0, 2.0, 3.0, 4.0, None], "population": [1.0, 1.0, 1.0, 3.0, 1.0]})
        >>> row = dispersion_measures(df).row(0, named=True)
        >>> row["n"], row["n_missing"], row["mean"], row["mean_w"], row["p90_p10"]
        (4, 1, 2.5, 3.0, 4.0)
    """
    keys = as_list(by)
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if not keys:
        df = df.with_columns(pl.lit(0).alias("__all"))
    gkeys = keys or ["__all"]
    gid, key_frame = group_index(df, gkeys)
    size = key_frame.height
    y = df.get_column(value).cast(pl.Float64).fill_null(np.nan).to_numpy()
    has = np.isfinite(y)
    cols: dict[str, np.ndarray] = {
        "n": np.bincount(gid[has], minlength=size),
        "n_missing": np.bincount(gid[~has], minlength=size),
    }
    cols.update(_measures(gid[has], size, y[has], None))
    if weight is not None:
        w = df.get_column(weight).cast(pl.Float64).fill_null(np.nan).to_numpy()
        ok = has & np.isfinite(w) & (w > 0)
        cols["n_no_weight"] = np.bincount(gid[has & ~ok], minlength=size)
        cols.update({f"{k}_w": v for k, v in _measures(gid[ok], size, y[ok], w[ok]).items()})
    out = key_frame.with_columns(
        [pl.Series(k, v, dtype=pl.Int64 if k.startswith("n") else pl.Float64) for k, v in cols.items()]
    ).fill_nan(None)
    return out.drop("__all") if not keys else out
