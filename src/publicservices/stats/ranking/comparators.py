"""Comparator groups: each area's nearest neighbours on standardised covariates.

Comparing a council with "similar councils" rather than the whole country is how CIPFA's Nearest
Neighbours model and the Home Office's most-similar police force groups work: areas are close
when their standardised characteristics (deprivation, size, density, rurality ...) are close.
:func:`nearest_neighbours` builds the groups; :func:`compare_with_neighbours` sets each area's
value beside its group's and gives the value expected of an area like it.

References: CIPFA (2019), *Nearest Neighbours Model: technical guidance*; Mahalanobis, P. C.
(1936), "On the generalised distance in statistics", *Proceedings of the National Institute of
Sciences of India* 2:49-55.

Example:
    >>> import polars as pl
    >>> areas = pl.DataFrame({"area_code": ["A", "B", "C", "D"],
    ...                       "deprivation": [10.0, 11.0, 30.0, 31.0],
    ...                       "population": [1e5, 1.05e5, 3e5, 3.1e5]})
    >>> nn = nearest_neighbours(areas, k=1)
    >>> nn["neighbour_code"].to_list()
    ['B', 'A', 'D', 'C']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import POLARITIES
from publicservices.keys import GROUP_KEYS
from publicservices.stats._common import collect, require_columns

__all__ = ["nearest_neighbours", "compare_with_neighbours", "DEFAULT_COVARIATES"]

DEFAULT_COVARIATES = ("deprivation", "population", "density", "rurality")
# Size and density are skewed and act multiplicatively (a city twice as dense, not 100 people
# per hectare more), so they are compared on the log scale by default.
DEFAULT_LOG = ("population", "density")
# One comparison: indicator x period x comparable set x breakdowns (sex, age, category).
_KEY_CANDIDATES = ("indicator_id", "period", *GROUP_KEYS)


def nearest_neighbours(
    areas: pl.DataFrame | pl.LazyFrame,
    *,
    k: int = 15,
    covariates: Sequence[str] | None = None,
    unit: str = "area_code",
    metric: str = "euclidean",
    log_columns: Sequence[str] = DEFAULT_LOG,
    weights: Mapping[str, float] | None = None,
    within: str | None = "auto",
) -> pl.DataFrame:
    """Each area's ``k`` nearest neighbours on standardised covariates.

    Method: covariates (``log_columns`` log-transformed) are standardised to mean 0 and standard
    deviation 1 within each group, optionally multiplied by ``weights``, and areas are ranked by
    Euclidean distance (as in CIPFA's Nearest Neighbours model). ``metric="mahalanobis"``
    whitens the standardised covariates with their inverse covariance first (Mahalanobis 1936),
    so correlated covariates (deprivation and density, say) are not counted twice. Distances
    come from a k-d tree (``scipy.spatial.cKDTree``): 10,000 areas take well under a second.

    Parameters:
        areas: one row per area with the ``unit`` column and the covariates.
        k: neighbours per area (fewer when the group is smaller than ``k + 1``).
        covariates: numeric (or boolean) columns; default: those of
            ``deprivation, population, density, rurality`` that are present.
        unit: the area key column.
        metric: ``"euclidean"`` or ``"mahalanobis"``.
        log_columns: covariates compared on the log scale (must be positive).
        weights: optional importance per covariate (Euclidean only), e.g. ``{"deprivation": 2}``.
        within: a column whose groups neighbours must share (e.g. ``"area_type"``, so districts
            are compared with districts); ``"auto"`` uses ``area_type`` when present; ``None``
            compares every area with every other.

    Returns:
        Long frame ``area_code, neighbour_code, rank, distance`` (rank 1 is the closest),
        sorted by area (in input order) and rank.

    Example:
        >>> import polars as pl
        >>> areas = pl.DataFrame({"area_code": list("PQRST"),
        ...                       "deprivation": [1.0, 2.0, 3.0, 4.0, 10.0]})
        >>> nearest_neighbours(areas, k=2).filter(pl.col("area_code") == "T")["neighbour_code"].to_list()
        ['S', 'R']
    """
    import numpy as np

    areas = collect(areas, "areas")
    require_columns(areas, [unit], "from areas")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise DataError(
            problem(None, f"k={k!r} is not a positive whole number", fix="Ask for at least one neighbour, e.g. k=15.")
        )
    metric = str(metric).lower()
    if metric not in ("euclidean", "mahalanobis"):
        raise DataError(problem(None, f"metric {metric!r} is not known", fix="Use 'euclidean' or 'mahalanobis'."))
    if weights and metric == "mahalanobis":
        raise DataError(
            problem(
                None,
                "weights cannot be combined with the Mahalanobis metric",
                fix="Use metric='euclidean' with weights, or drop the weights.",
            )
        )
    if covariates is None:
        covariates = [c for c in DEFAULT_COVARIATES if c in areas.columns]
        if not covariates:
            raise SchemaError(
                problem(
                    None,
                    f"areas has none of the default covariates {list(DEFAULT_COVARIATES)}",
                    fix="Pass covariates=[...] naming numeric columns of areas.",
                )
            )
    covariates = list(covariates)
    require_columns(areas, covariates, "from areas")
    group_col = ("area_type" if "area_type" in areas.columns else None) if within == "auto" else within
    if group_col is not None:
        require_columns(areas, [group_col], "from areas")
    dup = areas[unit].is_duplicated()
    if dup.any():
        raise DataError(
            problem(
                unit,
                "has duplicated values",
                rows=_head(areas.filter(dup)[unit]),
                total=int(dup.sum()),
                fix="Give each area one row.",
            )
        )
    Z = _covariate_matrix(areas, covariates, unit, log_columns)
    w = np.array([float((weights or {}).get(c, 1.0)) for c in covariates])
    unknown = sorted(set(weights or {}) - set(covariates))
    if unknown:
        raise DataError(
            problem(
                None, f"weights name columns that are not covariates: {unknown}", fix=f"Weight only the covariates {covariates}."
            )
        )
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise DataError(problem(None, "weights must be finite and non-negative", fix="Use weights such as {'deprivation': 2.0}."))

    if group_col is None:
        groups = [np.arange(areas.height)]
    else:
        gid = areas[group_col].cast(pl.String).fill_null("").to_numpy()
        _, inverse = np.unique(gid, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        groups = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for g in groups:  # one k-d tree per group (a handful of groups, never per area)
        if len(g) < 2:
            continue
        Zg = _standardise(Z[g]) * w
        if metric == "mahalanobis":
            Zg = _whiten(Zg)
        i, j, r, d = _knn(Zg, min(k, len(g) - 1))
        parts.append((g[i], g[j], r, d))
    if parts:
        a_idx, n_idx, ranks, dists = (np.concatenate(p) for p in zip(*parts, strict=True))
        order = np.lexsort((ranks, a_idx))
        a_idx, n_idx, ranks, dists = a_idx[order], n_idx[order], ranks[order], dists[order]
    else:
        a_idx = n_idx = ranks = np.zeros(0, dtype=np.int64)
        dists = np.zeros(0)
    keys = areas[unit]
    return pl.DataFrame(
        {
            unit: keys.gather(a_idx),
            "neighbour_code": keys.gather(n_idx),
            "rank": pl.Series(ranks, dtype=pl.Int32),
            "distance": pl.Series(dists, dtype=pl.Float64),
        }
    )


def compare_with_neighbours(
    values: pl.DataFrame | pl.LazyFrame,
    neighbours: pl.DataFrame,
    *,
    value: str = "value",
    unit: str = "area_code",
    keys: Sequence[str] | None = None,
    polarity: str | Mapping[str, Any] | None = None,
    weighting: str = "equal",
    level: float = 0.95,
) -> pl.DataFrame:
    """Each area's value beside its comparator group's, and the value expected of an area like it.

    Method: the expected value is the mean of the neighbours' values (a k-nearest-neighbour
    regression), or with ``weighting="distance"`` a Gaussian-kernel weighted mean whose bandwidth
    is the area's median neighbour distance. The interval ``expected_lower``/``expected_upper``
    is a prediction interval for one more member of the group,
    ``expected +/- t(m-1) * sd * sqrt(1 + 1/m)`` with ``m`` neighbours with values (``m`` is
    Kish's effective size under distance weights). An area outside it is ``higher``/``lower``
    than similar areas (``better``/``worse`` when the polarity is known), otherwise ``in line``.
    Reference: CIPFA (2019) Nearest Neighbours Model; Altman (1992) "An introduction to kernel
    and nearest-neighbor nonparametric regression", *The American Statistician* 46(3):175-185.

    Parameters:
        values: one row per area (per ``keys``) with ``unit`` and ``value`` columns.
        neighbours: the frame from :func:`nearest_neighbours` (``unit, neighbour_code, rank,
            distance``).
        value: the column to compare.
        unit: the area key.
        keys: columns that separate comparisons (default: ``indicator_id``, ``period`` and the
            group keys -- comparable_set, sex, age, category_type, category -- when present);
            neighbours' values are taken from the same keys, so women are compared with women.
        polarity: ``"higher_is_better"``/``"lower_is_better"``/``"no_judgement"``, or a mapping
            ``indicator_id -> Indicator`` (or -> polarity string) to label better/worse.
            Without one (None, an indicator missing from the mapping, a context indicator)
            areas are only ``higher``/``lower`` than similar areas, never better or worse.
        weighting: ``"equal"`` or ``"distance"``.
        level: coverage of the prediction interval.

    Returns:
        ``values`` with ``n_neighbours``, ``neighbour_mean``, ``neighbour_median``,
        ``neighbour_sd``, ``expected``, ``expected_lower``, ``expected_upper``, ``difference``
        (value - expected), ``share_below`` (share of neighbours with a lower value, ties
        half) and ``comparison`` added. Areas without neighbours' values get nulls.

    Example:
        >>> import polars as pl
        >>> areas = pl.DataFrame({"area_code": list("ABCDE"), "deprivation": [1.0, 2, 3, 4, 5]})
        >>> nn = nearest_neighbours(areas, k=4)
        >>> vals = pl.DataFrame({"area_code": list("ABCDE"), "value": [10.0, 11, 12, 13, 30]})
        >>> out = compare_with_neighbours(vals, nn, polarity="higher_is_better")
        >>> out.filter(pl.col("area_code") == "E").select("expected", "comparison").row(0)
        (11.5, 'better than similar areas')
    """
    import numpy as np
    from scipy.special import stdtrit  # Student's t quantile (scipy.stats.t.ppf), a lighter import

    values = collect(values, "values")
    if not isinstance(neighbours, pl.DataFrame):
        neighbours = collect(neighbours, "neighbours")
    require_columns(values, [unit, value], "from values")
    require_columns(neighbours, [unit, "neighbour_code", "distance"], "from neighbours")
    if not values.schema[value].is_numeric():
        raise SchemaError(
            problem(value, f"has type {values.schema[value]}, not a number", fix=f"Cast it: pl.col({value!r}).cast(pl.Float64).")
        )
    keys = [c for c in _KEY_CANDIDATES if c in values.columns] if keys is None else list(keys)
    require_columns(values, keys, "from values")
    weighting = str(weighting).lower()
    if weighting not in ("equal", "distance"):
        raise DataError(problem(None, f"weighting {weighting!r} is not known", fix="Use 'equal' or 'distance'."))
    if not 0 < level < 1:
        raise DataError(problem(None, f"level={level!r} is not between 0 and 1", fix="Use a coverage such as 0.95."))
    dup = values.select(keys + [unit]).is_duplicated()
    if dup.any():
        raise DataError(
            problem(
                unit,
                f"is repeated within {keys or 'the frame'}",
                rows=_head(
                    values.filter(dup)
                    .select(pl.concat_str([pl.col(c).cast(pl.String) for c in keys + [unit]], separator=" | ", ignore_nulls=True))
                    .to_series()
                ),
                total=int(dup.sum()),
                fix="Give each area one row per comparison (filter breakdowns first).",
            )
        )

    own = values.select(keys + [unit, pl.col(value).cast(pl.Float64).alias("_v")])
    nb = neighbours.select(unit, "neighbour_code", pl.col("distance").cast(pl.Float64))
    theirs = own.rename({unit: "neighbour_code", "_v": "_nv"})
    pairs = (
        own.join(nb, on=unit, how="inner")
        .join(theirs, on=keys + ["neighbour_code"], how="inner")
        .filter(pl.col("_nv").is_not_null() & pl.col("_nv").is_finite())
    )
    if weighting == "distance":
        h = pl.col("distance").median().over(keys + [unit])
        wexpr = (-0.5 * (pl.col("distance") / pl.when(h > 0).then(h).otherwise(1.0)) ** 2).exp()
    else:
        wexpr = pl.lit(1.0)
    pairs = pairs.with_columns(wexpr.alias("_w"))
    below = (pl.col("_nv") < pl.col("_v")).cast(pl.Float64) + 0.5 * (pl.col("_nv") == pl.col("_v")).cast(pl.Float64)
    agg = pairs.group_by(keys + [unit]).agg(
        pl.col("_nv").count().cast(pl.Int64).alias("n_neighbours"),
        pl.col("_nv").mean().alias("neighbour_mean"),
        pl.col("_nv").median().alias("neighbour_median"),
        pl.col("_nv").std().alias("neighbour_sd"),
        ((pl.col("_w") * pl.col("_nv")).sum() / pl.col("_w").sum()).alias("_wmean"),
        (pl.col("_w").sum() ** 2 / (pl.col("_w") ** 2).sum()).alias("_neff"),
        below.mean().alias("share_below"),
    )
    agg = agg.with_columns(
        pl.col("_wmean").alias("expected") if weighting == "distance" else pl.col("neighbour_mean").alias("expected"),
        (pl.col("_neff") if weighting == "distance" else pl.col("n_neighbours").cast(pl.Float64)).alias("_m"),
    )
    m = agg["_m"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(m >= 2, stdtrit(np.maximum(m - 1, 1), 0.5 + level / 2), np.nan)
        half = tq * agg["neighbour_sd"].to_numpy() * np.sqrt(1 + 1 / m)
    agg = agg.with_columns(pl.Series("_half", half, dtype=pl.Float64, nan_to_null=True)).with_columns(
        (pl.col("expected") - pl.col("_half")).alias("expected_lower"),
        (pl.col("expected") + pl.col("_half")).alias("expected_upper"),
    )
    out = values.join(agg.drop("_wmean", "_neff", "_m", "_half"), on=keys + [unit], how="left", maintain_order="left")
    v = pl.col(value).cast(pl.Float64)
    side = (
        pl.when(v.is_null() | pl.col("expected_lower").is_null())
        .then(None)
        .when(v > pl.col("expected_upper"))
        .then(pl.lit(1))
        .when(v < pl.col("expected_lower"))
        .then(pl.lit(-1))
        .otherwise(pl.lit(0))
    )
    pol = _polarity_expr(polarity, out)
    label = (
        pl.when(side.is_null())
        .then(None)
        .when(side == 0)
        .then(pl.lit("in line with similar areas"))
        .when((pol == "higher_is_better") & (side == 1))
        .then(pl.lit("better than similar areas"))
        .when((pol == "higher_is_better") & (side == -1))
        .then(pl.lit("worse than similar areas"))
        .when((pol == "lower_is_better") & (side == 1))
        .then(pl.lit("worse than similar areas"))
        .when((pol == "lower_is_better") & (side == -1))
        .then(pl.lit("better than similar areas"))
        .when(side == 1)
        .then(pl.lit("higher than similar areas"))
        .otherwise(pl.lit("lower than similar areas"))
    )
    return out.with_columns((v - pl.col("expected")).alias("difference"), label.alias("comparison"))


# --------------------------------------------------------------------------------------------


def _head(series: pl.Series) -> list[str]:
    return [str(v) for v in series.head(5).to_list()]


# Larger than any population, density, score or sum of money (the data contract's ceiling,
# publicservices.frame.MAX_MAGNITUDE); far above it a covariance overflows.
_LARGEST = 1e15


def _covariate_matrix(areas: pl.DataFrame, covariates, unit, log_columns):
    import numpy as np

    cols = []
    for c in covariates:
        dtype = areas.schema[c]
        if not (dtype.is_numeric() or dtype == pl.Boolean):
            raise SchemaError(
                problem(
                    c,
                    f"has type {dtype}, not a number",
                    fix="Encode it as a number (e.g. rurality as a 0-1 share or a 1-6 class) or leave it out of covariates.",
                )
            )
        x = areas[c].cast(pl.Float64)
        bad = x.is_null() | ~x.is_finite().fill_null(False)
        if bad.any():
            raise DataError(
                problem(
                    c,
                    "is missing or not finite",
                    rows=_head(areas.filter(bad)[unit]),
                    total=int(bad.sum()),
                    fix="Fill the covariate (e.g. with an estimate) or leave it out "
                    "of covariates; areas are never dropped silently.",
                )
            )
        big = x.abs() > _LARGEST
        if big.any():
            raise DataError(
                problem(
                    c,
                    "is implausibly large (above 10^15): distances over it lose all precision",
                    rows=_head(areas.filter(big)[unit]),
                    total=int(big.sum()),
                    fix="Look for a unit error or a number mangled on export (such as 1e300), and correct "
                    "it or leave it out of covariates.",
                )
            )
        if c in log_columns:
            nonpos = x <= 0
            if nonpos.any():
                raise DataError(
                    problem(
                        c,
                        "is zero or negative, so cannot be logged",
                        rows=_head(areas.filter(nonpos)[unit]),
                        total=int(nonpos.sum()),
                        fix=f"Correct it, or pass log_columns without {c!r}.",
                    )
                )
            x = x.log()
        cols.append(x.to_numpy())
    return np.column_stack(cols).astype(float)


def _standardise(Z):
    import numpy as np

    sd = Z.std(axis=0, ddof=1) if len(Z) > 1 else np.ones(Z.shape[1])
    # a constant covariate carries no information: leave it at zero rather than divide by 0
    return (Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _whiten(Z):
    """Rotate and scale so Euclidean distance equals Mahalanobis distance (pseudo-inverse when
    covariates are collinear)."""
    import numpy as np

    cov = np.atleast_2d(np.cov(Z, rowvar=False))
    vals, vecs = np.linalg.eigh(cov)
    keep = vals > 1e-10 * max(vals.max(initial=0.0), 1e-300)
    if not keep.any():
        # no covariate varies: every area is as near as every other (as with Euclidean distance
        # over constant covariates), not a space with no dimensions to search
        return np.zeros((len(Z), 1))
    return Z @ (vecs[:, keep] / np.sqrt(vals[keep]))


def _knn(Z, k: int):
    """k nearest other points of every row: (row, neighbour, rank, distance) arrays."""
    import numpy as np
    from scipy.spatial import cKDTree

    n = len(Z)
    kk = min(k + 1, n)
    dist, idx = cKDTree(Z).query(Z, k=kk)
    dist, idx = np.atleast_2d(dist).reshape(n, kk), np.atleast_2d(idx).reshape(n, kk)
    # drop the area itself; with exact duplicates it may not be first, or may be crowded out
    me = idx == np.arange(n)[:, None]
    drop = np.where(me.any(axis=1), me.argmax(axis=1), kk - 1)
    keep = np.ones_like(me)
    keep[np.arange(n), drop] = False
    idx = idx[keep].reshape(n, kk - 1)[:, :k]
    dist = dist[keep].reshape(n, kk - 1)[:, :k]
    rows = np.repeat(np.arange(n), idx.shape[1])
    ranks = np.tile(np.arange(1, idx.shape[1] + 1), n)
    return rows, idx.ravel(), ranks, dist.ravel()


def _polarity_expr(polarity, frame: pl.DataFrame) -> pl.Expr:
    """Polarity per row: a constant string, or looked up by indicator_id from a mapping.

    No direction is ever assumed: without one a row is ``no_judgement`` (higher/lower), and
    context indicators (``role="context"``) are never judged.
    """
    if polarity is None:
        return pl.lit("no_judgement")
    if isinstance(polarity, str):
        _check_polarity(polarity, "polarity")
        return pl.lit(polarity)
    if "indicator_id" not in frame.columns:
        raise SchemaError(
            problem(
                "indicator_id",
                "is needed to look up polarity by indicator",
                fix="Pass polarity='higher_is_better' (or lower_is_better) instead.",
            )
        )
    lookup = {}
    for k, v in polarity.items():
        pol = "no_judgement" if getattr(v, "role", "outcome") == "context" else getattr(v, "polarity", v)
        lookup[k] = _check_polarity(pol, f"polarity of {k!r}")
    return pl.col("indicator_id").replace_strict(lookup, default="no_judgement", return_dtype=pl.String)


def _check_polarity(value: Any, what: str) -> str:
    if value not in POLARITIES:
        raise DataError(problem(None, f"{what} is {value!r}, not a known direction", fix=f"Use one of {', '.join(POLARITIES)}."))
    return str(value)
