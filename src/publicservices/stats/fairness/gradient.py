"""The social gradient: how steeply outcomes follow deprivation.

* :func:`assign_quantiles` -- deprivation deciles / quintiles by the Fingertips method
  (PHEindicatormethods' ``phe_quantile``: the one implementation is
  :func:`publicservices.stats.quantile`, whose numbers this returns as Int32);
* the SII and RII themselves live in :mod:`publicservices.stats.fairness.sii`;
* :func:`deprivation_gradient` -- for area-level data: deciles, the SII/RII from pooled decile
  values, the gap between the most and least deprived fifth, and the concentration index.

Sign convention (PHE's): quantile 1 is the *most* deprived, the ridit runs from 0 (most
deprived) to 1 (least deprived), so ``SII = fitted(least deprived) - fitted(most deprived)``:
positive when values are higher in less deprived areas (e.g. life expectancy), negative when
they are higher in more deprived areas (e.g. mortality). The quintile gap uses the same
direction: least deprived fifth minus most deprived fifth.

References: Low A, Low A (2004) Measuring the gap: quantifying and comparing local health
inequalities. J Public Health 26:388-395; Office for Health Improvement and Disparities,
*Public Health Technical Guidance* (assigning deprivation categories; slope index of
inequality); Kakwani N, Wagstaff A, van Doorslaer E (1997) J Econometrics 77:87-103
(concentration index); PHEindicatormethods 2.1.0 (UKHSA, GPL-3), ``phe_sii`` and ``phe_quantile``.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"score": [5.0, 1.0, 3.0, 2.0, 4.0]})
    >>> assign_quantiles(df, "score", 5)["quantile"].to_list()
    [1, 5, 3, 4, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from publicservices.errors import SchemaError
from publicservices.stats._common import as_list, group_index, quantile_numbers, text_values, z_for
from publicservices.stats.fairness.sii import sii_core, sii_level_suffixes

__all__ = ["assign_quantiles", "deprivation_gradient"]


def assign_quantiles(
    data: pl.DataFrame,
    values: str,
    nquantiles: int = 10,
    *,
    invert: bool | str = True,
    by: str | Sequence[str] | None = None,
    name: str = "quantile",
) -> pl.DataFrame:
    """Assign quantiles (deciles, quintiles ...) by rank, as Fingertips / ``phe_quantile`` does.

    The PHE quantile algorithm under the argument names of ``phe_quantile``
    (``values``, ``nquantiles``): :func:`publicservices.stats.quantile` does the work (and
    documents the method); this returns its numbers as Int32. ``invert=True`` (the default,
    as in PHE) puts the *highest* values in quantile 1 -- for a deprivation score (higher =
    more deprived) quantile 1 is the most deprived.

    Parameters:
        data: frame with the values.
        values: numeric column to rank.
        nquantiles: number of quantiles ``k`` (10 = deciles).
        invert: True / False, or the name of a boolean column constant within each group.
        by: grouping column(s): separate quantiles within each group.
        name: name of the output column (Int32).

    Example:
        >>> import polars as pl
        >>> df = pl.DataFrame({"score": [5.0, 1.0, 3.0, 2.0, 4.0]})
        >>> assign_quantiles(df, "score", 5)["quantile"].to_list()
        [1, 5, 3, 4, 2]
    """
    from publicservices.stats.outcomes.quantiles import quantile

    if values not in data.columns:
        raise SchemaError(f"column {values!r} is missing.\nFix: pass the name of a numeric column of values.")
    out = quantile(data, values, int(nquantiles), invert=invert, by=by, name=name)
    return out.with_columns(pl.col(name).cast(pl.Int32))


# -- the gradient of area-level data -----------------------------------------------------------


def deprivation_gradient(
    frame: pl.DataFrame,
    *,
    by: str | Sequence[str] = ("indicator_id", "period"),
    value: str = "value",
    se: str = "se",
    weight: str = "weight",
    deprivation: str = "deprivation",
    numerator: str = "numerator",
    denominator: str = "denominator",
    measure: str = "measure",
    multiplier: str = "multiplier",
    quantiles: int = 10,
    level: float = 0.95,
    repetitions: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> pl.DataFrame:
    """SII/RII over deprivation deciles, the quintile gap and the concentration index, per group.

    Method: areas are put into deprivation quantiles within each group by the
    ``phe_quantile`` algorithm (:func:`assign_quantiles`, ``invert=True``: quantile 1 =
    highest deprivation score = most deprived). Each quantile's value is pooled -- ``sum
    numerator / sum denominator * multiplier`` for proportions, rates and ratios with complete
    counts, else the ``weight``-weighted mean of area values -- with its standard error from
    the pooled counts (logit scale for proportions, ``value_type=2``; log scale for rates and
    ratios, 1) or from the area standard errors (``sqrt(sum w^2 se^2) / sum w``, natural
    scale, 0). A group where some quantile has 0 events (or 100%) uses the natural scale, with
    half an event added to the variance of empty quantiles. The SII/RII then follow :func:`sii`
    (population = summed weights) with ``repetitions`` simulations. The gap is least deprived
    fifth minus most deprived fifth with a normal interval. The concentration index
    (Kakwani, Wagstaff & van Doorslaer 1997) is ``2 cov_w(y, R) / mean_w(y)`` with ``R`` the
    weighted fractional rank from most to least deprived (ties share their mid-rank):
    negative when values concentrate in more deprived areas. Areas without a deprivation
    score are left out and counted.

    Parameters:
        frame: one row per area and group, with the named columns (``measure`` and
            ``multiplier`` constant within a group).
        by: grouping column(s).
        value, se, weight, deprivation, numerator, denominator, measure, multiplier: column names.
        quantiles: quantiles for the SII (10 = deciles).
        level: confidence level (columns ``_95`` for 0.95).
        repetitions: simulations for the SII limits.
        seed: seed or Generator.

    Returns:
        One row per group: ``n_no_deprivation``, ``sii``, ``sii_lower/upper``, ``rii``,
        ``rii_lower/upper``, ``sii_value_type``, ``gap``, ``gap_lower/upper``,
        ``concentration_index``, ``gradient_note``.

    Example:
        >>> import polars as pl
        >>> n = 50
        >>> df = pl.DataFrame({"g": ["a"] * n, "deprivation": [float(i) for i in range(n)],
        ...     "value": [80.0 - 0.2 * i for i in range(n)], "se": [0.5] * n, "weight": [1000.0] * n,
        ...     "numerator": [None] * n, "denominator": [None] * n, "measure": ["mean"] * n, "multiplier": [1.0] * n},
        ...     schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})
        >>> row = deprivation_gradient(df, by="g", repetitions=1000).row(0, named=True)
        >>> round(row["sii"], 6), round(row["gap"], 6), row["concentration_index"] > 0
        (10.0, 8.0, True)
    """
    keys = as_list(by)
    sfx = sii_level_suffixes([level])[0]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    df = frame if keys else frame.with_columns(pl.lit(0).alias("__all"))
    gkeys = keys or ["__all"]
    gid_all, key_frame = group_index(df, gkeys)
    size = key_frame.height

    def col(name: str) -> np.ndarray:
        return df.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()

    y_all, dep_all, w_all = col(value), col(deprivation), col(weight)
    has_dep = np.isfinite(dep_all)
    has_y = np.isfinite(y_all)
    use = has_dep & has_y & np.isfinite(w_all) & (w_all > 0)
    n_no_dep = np.bincount(gid_all[has_y & ~has_dep], minlength=size)
    n_use = np.bincount(gid_all[use], minlength=size)
    # per-group measure and multiplier (constant within a group)
    kind = df.select(
        pl.col(measure).is_in(["proportion", "rate", "ratio"]).fill_null(False).alias("c"),
        (pl.col(measure) == "proportion").fill_null(False).alias("p"),
    )
    is_count_row, is_prop_row = kind["c"].to_numpy(), kind["p"].to_numpy()
    mult_row = col(multiplier)
    g_mult = np.ones(size)
    g_mult[gid_all] = mult_row
    g_count = np.zeros(size, dtype=bool)
    g_count[gid_all] = is_count_row
    g_prop = np.zeros(size, dtype=bool)
    g_prop[gid_all] = is_prop_row

    gid, y, dep, w = gid_all[use], y_all[use], dep_all[use], w_all[use]
    x, n, se_a = col(numerator)[use], col(denominator)[use], col(se)[use]
    rows_ok_counts = np.isfinite(x) & np.isfinite(n) & (n > 0)
    g_counts_complete = np.bincount(gid, weights=~rows_ok_counts, minlength=size) == 0
    pooled_counts = g_count & g_counts_complete

    def pool(k: int) -> dict[str, np.ndarray]:
        """Pooled value and SEs per (group, quantile): arrays of shape (size, k)."""
        q = quantile_numbers(gid, dep, k, np.ones(gid.size, dtype=bool))
        ok = np.isfinite(q)
        cell = gid[ok] * k + (q[ok].astype(np.int64) - 1)
        cells = size * k

        def sums(v: np.ndarray) -> np.ndarray:
            return np.bincount(cell, weights=v[ok], minlength=cells).reshape(size, k)

        cnt = np.bincount(cell, minlength=cells).reshape(size, k)
        sx, sn, sw = sums(np.nan_to_num(x)), sums(np.nan_to_num(n)), sums(w)
        swy = sums(w * y)
        swse = sums(w * w * np.nan_to_num(se_a) ** 2)
        se_missing = sums((~np.isfinite(se_a)).astype(float)) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            m = g_mult[:, None]
            v_counts = sx / sn * m
            v_w = swy / sw
            use_counts = pooled_counts[:, None] & (cnt > 0)
            val = np.where(use_counts, v_counts, v_w)
            p = sx / sn
            p_adj = (sx + 0.5) / (sn + 1.0)
            se_prop = m * np.sqrt(np.where((sx > 0) & (sx < sn), p * (1 - p), p_adj * (1 - p_adj)) / sn)
            se_rate = m * np.sqrt(np.where(sx > 0, sx, 0.5)) / sn
            se_nat = np.where(
                use_counts, np.where(g_prop[:, None], se_prop, se_rate), np.where(se_missing, np.nan, np.sqrt(swse) / sw)
            )
        return {"count": cnt, "value": val, "se": se_nat, "x": sx, "n": sn, "pop": sw, "counts": use_counts}

    names = ["sii", f"sii_lower{sfx}", f"sii_upper{sfx}", "rii", f"rii_lower{sfx}", f"rii_upper{sfx}"]
    out = {c: np.full(size, np.nan) for c in names}
    vtype = np.zeros(size, dtype=np.int64)
    dec = pool(quantiles)
    full = np.all(dec["count"] > 0, axis=1) & (n_use >= quantiles)
    if full.any():
        x_d, n_d = dec["x"], dec["n"]
        prop_ok = np.all((x_d > 0) & (x_d < n_d), axis=1)
        rate_ok = np.all(x_d > 0, axis=1)
        counts_all = np.all(dec["counts"], axis=1)
        vtype = np.where(counts_all & g_prop & prop_ok, 2, np.where(counts_all & ~g_prop & rate_ok, 1, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            p_d = x_d / n_d
            se_t = np.where(
                vtype[:, None] == 2,
                1 / np.sqrt(n_d * p_d * (1 - p_d)),
                np.where(vtype[:, None] == 1, 1 / np.sqrt(x_d), dec["se"]),
            )
            v_core = np.where(vtype[:, None] == 2, dec["value"] / g_mult[:, None], dec["value"])
        has_se = np.all(np.isfinite(se_t), axis=1)
        se_t = np.where(np.isfinite(se_t), se_t, 0.0)
        for t in (0, 1, 2):
            sel = full & (vtype == t)
            # value_type 2 works on fractions and rescales by the multiplier: one run per multiplier
            for m in np.unique(g_mult[sel]) if t == 2 else ([1.0] if sel.any() else []):
                idx = np.flatnonzero(sel & (g_mult == m)) if t == 2 else np.flatnonzero(sel)
                res = sii_core(
                    v_core[idx],
                    se_t[idx],
                    dec["pop"][idx],
                    np.full(idx.size, t),
                    transform=False,
                    multiplier=float(m),
                    levels=[level],
                    repetitions=repetitions,
                    rng=rng,
                    want_rii=True,
                )
                out["sii"][idx], out["rii"][idx] = res["sii"], res["rii"]
                lvl = res["levels"][0]
                out[names[1]][idx], out[names[2]][idx] = (
                    np.where(has_se[idx], lvl["sii"][0], np.nan),
                    np.where(has_se[idx], lvl["sii"][1], np.nan),
                )
                out[names[4]][idx], out[names[5]][idx] = (
                    np.where(has_se[idx], lvl["rii"][0], np.nan),
                    np.where(has_se[idx], lvl["rii"][1], np.nan),
                )
    # gap: least deprived fifth (5) minus most deprived fifth (1)
    z = z_for(level)
    fifth = pool(5)
    with np.errstate(invalid="ignore"):
        gap = np.where(
            (fifth["count"][:, 0] > 0) & (fifth["count"][:, 4] > 0), fifth["value"][:, 4] - fifth["value"][:, 0], np.nan
        )
        gap_se = np.sqrt(fifth["se"][:, 4] ** 2 + fifth["se"][:, 0] ** 2)
    # concentration index: weighted fractional rank from most to least deprived, ties share mid-rank
    order = np.lexsort((-dep, gid))
    g_s, d_s, w_s, y_s = gid[order], dep[order], w[order], y[order]
    total = np.bincount(g_s, weights=w_s, minlength=size)
    cum = np.cumsum(w_s)
    new_group = np.r_[True, g_s[1:] != g_s[:-1]] if g_s.size else np.zeros(0, dtype=bool)
    new_tie = new_group | (np.r_[True, d_s[1:] != d_s[:-1]] if g_s.size else np.zeros(0, dtype=bool))
    pos = np.arange(g_s.size)
    group_first = np.maximum.accumulate(np.where(new_group, pos, 0)) if g_s.size else pos
    tie_id = np.cumsum(new_tie) - 1
    before_group = np.r_[0.0, cum][group_first]
    last_of_tie = np.r_[new_tie[1:], True] if g_s.size else np.zeros(0, dtype=bool)
    tie_end = cum[last_of_tie]  # cumulative weight at the end of each tie block (blocks in order)
    tie_w = np.bincount(tie_id, weights=w_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        rank = (tie_end[tie_id] - before_group - tie_w[tie_id] / 2) / total[g_s]
        mu = np.bincount(g_s, weights=w_s * y_s, minlength=size) / total
        cov = np.bincount(g_s, weights=w_s * (y_s - mu[g_s]) * (rank - 0.5), minlength=size) / total
        conc = np.where(mu > 0, 2 * cov / mu, np.nan)
    note = np.where(
        n_use < quantiles,
        f"fewer than {quantiles} areas with a value and a deprivation score: no SII",
        np.where(
            ~np.isfinite(out["sii"]),
            "deprivation quantiles could not all be filled: no SII",
            np.where(~np.isfinite(out[names[1]]), "standard errors missing in some quantiles: SII without limits", None),  # type: ignore[call-overload]
        ),
    )
    cols = {
        "n_no_deprivation": n_no_dep.astype(np.int64),
        **out,
        "sii_value_type": np.where(np.isfinite(out["sii"]), vtype, -1),
        "gap": gap,
        f"gap_lower{sfx}": gap - z * gap_se,
        f"gap_upper{sfx}": gap + z * gap_se,
        "concentration_index": conc,
    }
    series = [
        pl.Series(k, v, dtype=pl.Int64 if k in ("n_no_deprivation", "sii_value_type") else pl.Float64) for k, v in cols.items()
    ]
    result = (
        key_frame.with_columns(*series, pl.Series("gradient_note", text_values(note), dtype=pl.String))
        .fill_nan(None)
        .with_columns(pl.when(pl.col("sii_value_type") >= 0).then(pl.col("sii_value_type")).alias("sii_value_type"))
    )
    return result.drop("__all") if not keys else result
