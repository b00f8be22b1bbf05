"""Slope and relative index of inequality (SII / RII): a port of PHEindicatormethods ``phe_sii``.

Low & Low (2004): a weighted regression of quantile values on the ridit of the cumulative
population, with confidence limits simulated from the quantiles' standard errors -- same point
estimates as ``phe_sii`` to rounding error, Monte-Carlo limits within simulation error,
vectorised over all groups. Sign convention (PHE's): quantile 1 is the *most* deprived, so
``SII = fitted(least deprived) - fitted(most deprived)``.

References: Low A, Low A (2004) Measuring the gap: quantifying and comparing local health
inequalities. J Public Health 26:388-395; OHID *Public Health Technical Guidance* (slope index
of inequality); PHEindicatormethods 2.1.0 (UKHSA, GPL-3), ``phe_sii``.

Example:
    >>> import polars as pl
    >>> d = pl.DataFrame({"decile": list(range(1, 11)), "pop": [1000.0] * 10,
    ...                   "value": [70.0 + i for i in range(10)], "se": [0.5] * 10})
    >>> out = sii(d, "decile", "pop", value="value", se="se", repetitions=1000, seed=1)
    >>> round(out["sii"][0], 9)
    10.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from publicservices.errors import DataError, OptionError, SchemaError, problem
from publicservices.stats._common import Z95, as_list
from publicservices.stats.outcomes.levels import level_suffix

__all__ = ["sii", "sii_level_suffixes"]


def _row_labels(frame: pl.DataFrame, mask: pl.Expr, key: Sequence[str]) -> tuple[list[str], int]:
    """Up to five 'a | b | c' labels of rows where ``mask`` holds, and how many there are."""
    bad = frame.filter(mask)
    cols = [c for c in key if c in frame.columns]
    if not cols:
        return [f"row {i + 1}" for i in frame.with_row_index().filter(mask)["index"].head(5).to_list()], bad.height
    labels = (
        bad.head(5)
        .select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("<null>") for c in cols], separator=" | "))
        .to_series()
        .to_list()
    )
    return labels, bad.height


def _levels(confidence: float | Sequence[float]) -> list[float]:
    raw = [confidence] if isinstance(confidence, (int, float)) else list(confidence)
    if not raw or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in raw):
        raise OptionError(
            "multiplier, repetitions and confidence inputs should be numeric.\nFix: pass confidence as a number such as 0.95 (or a list of numbers)."
        )
    if any(c < 0.9 for c in raw) or (any(c > 1 for c in raw) and any(c < 90 for c in raw)) or any(c > 100 for c in raw):
        raise OptionError(
            "all confidence levels must be between 90 and 100 or between 0.9 and 1.\nFix: pass e.g. 0.95, 95 or [0.95, 0.998]."
        )
    return [c / 100 if c >= 90 else float(c) for c in raw]


def sii_level_suffixes(levels: Sequence[float]) -> list[str]:
    """Column suffixes for confidence levels (``_95``, ``_998``, ``_99`` ...; ``""`` for one custom level).

    Example:
        >>> sii_level_suffixes([0.95, 0.998]), sii_level_suffixes([0.99]), sii_level_suffixes([0.95, 0.99])
        (['_95', '_998'], [''], ['_95', '_99'])
    """
    standard = all(math.isclose(c, 0.95) or math.isclose(c, 0.998) for c in levels)
    if len(levels) == 1 and not standard:
        return [""]
    return ["_" + level_suffix(c) for c in levels]


def _round_half_even(x: float) -> int:
    return int(np.round(x))  # R's round() is IEC 60559 round-half-to-even, like NumPy's


def _order_positions(levels: Sequence[float], repetitions: int) -> list[tuple[int, int]]:
    """0-based indices of the lower/upper order statistics phe_sii reads from the sorted draws."""
    out = []
    for c in levels:
        cv = c + (1 - c) / 2
        lo = min(max(_round_half_even(repetitions * (1 - cv)), 1), repetitions)
        hi = min(max(_round_half_even(repetitions * cv), 1), repetitions)
        out.append((lo - 1, hi - 1))
    return out


def _regression_weights(pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a, and the weights k0, k1 with beta0 = sum k0 y, beta1 = sum k1 y (G x Q arrays).

    Low & Low's model ``y sqrt(a) = b0 sqrt(a) + b1 x sqrt(a)`` (no intercept) with ``a`` the
    population share and ``x`` the mid-point of the cumulative share; least squares gives
    ``beta = (X'X)^-1 X' (sqrt(a) y)``, i.e. weights ``a * [(X'X)^-1 (1, x)']``.
    """
    a = pop / pop.sum(axis=1, keepdims=True)
    x = np.cumsum(a, axis=1) - a / 2
    s_a = a.sum(axis=1, keepdims=True)
    s_ax = (a * x).sum(axis=1, keepdims=True)
    s_axx = (a * x * x).sum(axis=1, keepdims=True)
    det = s_a * s_axx - s_ax**2
    k0 = a * (s_axx - s_ax * x) / det
    k1 = a * (s_a * x - s_ax) / det
    return a, k0, k1


def _inverse_link(vt: np.ndarray, value_type: np.ndarray) -> np.ndarray:
    """Back-transform per group: identity (0), exp (1, rates), expit (2, proportions)."""
    vtype = value_type.reshape((-1,) + (1,) * (vt.ndim - 1))
    out = np.where(vtype == 1, np.exp(np.where(vtype == 1, vt, 0.0)), vt)
    return np.where(vtype == 2, 1.0 / (1.0 + np.exp(-np.where(vtype == 2, vt, 0.0))), out)


def _simulate_betas(
    vt: np.ndarray,
    se: np.ndarray,
    value_type: np.ndarray,
    k0: np.ndarray,
    k1: np.ndarray,
    repetitions: int,
    rng: np.random.Generator,
    linear: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated (beta0, beta1), shape (G, R): phe_sii's normal draws of every quantile value.

    When the fit is linear in the drawn values (value_type 0, or transform=True) the refitted
    coefficients are exactly bivariate normal, so they are drawn directly from that
    distribution (2 draws per repetition instead of one per quantile -- the same Monte-Carlo
    distribution). Otherwise each quantile is drawn, back-transformed and refitted.
    """
    g = vt.shape[0]
    if linear:
        b0 = (k0 * vt).sum(axis=1)
        b1 = (k1 * vt).sum(axis=1)
        v00 = (k0 * k0 * se * se).sum(axis=1)
        v01 = (k0 * k1 * se * se).sum(axis=1)
        v11 = (k1 * k1 * se * se).sum(axis=1)
        z = rng.standard_normal((2, g, repetitions))
        s0 = np.sqrt(v00)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(s0 > 0, v01 / s0, 0.0)
        s1 = np.sqrt(np.maximum(v11 - rho**2, 0.0))
        sim0 = b0[:, None] + s0[:, None] * z[0]
        sim1 = b1[:, None] + rho[:, None] * z[0] + s1[:, None] * z[1]
        return sim0, sim1
    from scipy import special

    q = vt.shape[1]
    sim = np.empty((g, 2, repetitions))
    # single precision for the draws: the Monte-Carlo error (~1e-2 relative) dwarfs float32's 1e-7
    k = np.stack([k0, k1], axis=1).astype(np.float32)  # (G, 2, Q)
    vt32, se32 = vt.astype(np.float32)[:, :, None], se.astype(np.float32)[:, :, None]
    chunk = max(1, 4_000_000 // max(1, q * repetitions))  # bound memory to ~16 MB of draws per chunk
    for start in range(0, g, chunk):
        sl = slice(start, min(g, start + chunk))
        y = rng.standard_normal((sl.stop - sl.start, q, repetitions), dtype=np.float32)
        y *= se32[sl]
        y += vt32[sl]
        types = np.unique(value_type[sl])
        if types.size == 1 and types[0] == 2:
            special.expit(y, out=y)
        elif types.size == 1 and types[0] == 1:
            np.exp(y, out=y)
        elif types.size > 1 or types[0] != 0:
            y = _inverse_link(y, value_type[sl]).astype(np.float32)
        sim[sl] = np.matmul(k[sl], y)  # refit every repetition: (G, 2, Q) @ (G, Q, R)
    return sim[:, 0, :], sim[:, 1, :]


def _order_stats(sims: np.ndarray, positions: list[tuple[int, int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    kth = sorted({i for pair in positions for i in pair})
    part = np.partition(sims, kth, axis=1)
    return [(part[:, lo], part[:, hi]) for lo, hi in positions]


def sii_core(
    value: np.ndarray,
    se: np.ndarray,
    pop: np.ndarray,
    value_type: np.ndarray,
    *,
    transform: bool,
    multiplier: float,
    levels: Sequence[float],
    repetitions: int,
    rng: np.random.Generator,
    want_rii: bool,
) -> dict[str, Any]:
    """SII/RII/intercept and simulated limits for G groups x Q quantiles (phe_sii maths).

    ``value`` is on the natural scale; ``se`` on the transformed scale (log for
    value_type 1, logit for 2, natural for 0), as phe_sii computes it.
    """
    _, k0, k1 = _regression_weights(pop)
    vtype = value_type[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = np.where(vtype == 1, np.log(value), np.where(vtype == 2, np.log(value / (1 - value)), value))
    fit_y = vt if transform else value
    b0 = (k0 * fit_y).sum(axis=1)
    b1 = (k1 * fit_y).sum(axis=1)
    positions = _order_positions(levels, repetitions)
    linear = transform or bool(np.all(value_type == 0))
    sim0, sim1 = _simulate_betas(vt, se, value_type, k0, k1, repetitions, rng, linear)
    out: dict[str, Any] = {"levels": []}
    neg = multiplier < 0
    if not transform:
        out["sii"] = multiplier * b1
        with np.errstate(divide="ignore", invalid="ignore"):
            rii = (b0 + b1) / b0
            out["rii"] = 1 / rii if neg else rii
        out["intercept"] = b0
        sii_stats = _order_stats(multiplier * sim1, positions)
        if want_rii:
            with np.errstate(divide="ignore", invalid="ignore"):
                rii_sim = (sim1 + sim0) / sim0
            rii_stats = _order_stats(1 / rii_sim if neg else rii_sim, positions)
        for i, (lo, hi) in enumerate(sii_stats):
            lvl = {"sii": (lo, hi)}
            if want_rii:
                lvl["rii"] = rii_stats[i]
            out["levels"].append(lvl)
        return out
    # transform=True: fit on the log / logit scale, back-transform the line's ends; the
    # limits come from the simulated slopes, re-centred on the fitted mid-point (as phe_sii)
    f = (lambda t: np.exp(t)) if value_type[0] == 1 else (lambda t: 1 / (1 + np.exp(-t)))
    x1 = b0 + b1
    half = (b0 + x1) / 2
    out["sii"] = (f(x1) - f(b0)) * multiplier
    out["rii"] = (f(b0) / f(x1)) if neg else (f(x1) / f(b0))
    out["intercept"] = f(b0) * abs(multiplier)
    for s_lo, s_hi in _order_stats(sim1, positions):
        i_lcl, i_ucl = half - s_lo / 2, half - s_hi / 2
        x_lcl, x_ucl = half + s_lo / 2, half + s_hi / 2
        if neg:
            lvl = {
                "sii": ((f(x_ucl) - f(i_ucl)) * multiplier, (f(x_lcl) - f(i_lcl)) * multiplier),
                "rii": (f(i_ucl) / f(x_ucl), f(i_lcl) / f(x_lcl)),
            }
        else:
            lvl = {
                "sii": ((f(x_lcl) - f(i_lcl)) * multiplier, (f(x_ucl) - f(i_ucl)) * multiplier),
                "rii": (f(x_lcl) / f(i_lcl), f(x_ucl) / f(i_ucl)),
            }
        out["levels"].append(lvl)
    return out


def _need(data: pl.DataFrame, column: str | None, role: str) -> None:
    if column is not None and column not in data.columns:
        raise SchemaError(f"column {column!r} ({role}) is missing.\nFix: pass the name of a column of the frame.")


def sii(
    data: pl.DataFrame,
    quantile: str,
    population: str,
    *,
    by: str | Sequence[str] | None = None,
    x: str | None = None,
    value: str | None = None,
    value_type: int = 0,
    lower_cl: str | None = None,
    upper_cl: str | None = None,
    se: str | None = None,
    multiplier: float = 1,
    repetitions: int = 100_000,
    confidence: float | Sequence[float] = 0.95,
    rii: bool = False,
    intercept: bool = False,
    transform: bool = False,
    seed: int | np.random.Generator | None = None,
) -> pl.DataFrame:
    """Slope (SII) and relative (RII) index of inequality with simulated limits, as ``phe_sii``.

    Method (Low & Low 2004; PHEindicatormethods ``phe_sii``): within each group the quantiles
    (quantile 1 = most deprived) get population shares ``a`` and ridits ``x`` (mid-point of
    the cumulative share); the weighted regression ``y sqrt(a) = b0 sqrt(a) + b1 x sqrt(a)``
    gives ``SII = b1 * multiplier`` and ``RII = (b0 + b1) / b0`` (inverted when the multiplier is
    negative). Quantile standard errors come from ``se``, or from the 95% limits as
    ``(U - L) / (2 * 1.96)`` on the log scale for rates (``value_type=1``) or the logit scale for
    proportions (``value_type=2``). Limits by simulation: each quantile value is drawn
    ``repetitions`` times from a normal with that SE (on the transformed scale, then
    back-transformed), the line is refitted and the order statistics at
    ``round(R (1-c)/2)`` and ``round(R (c + (1-c)/2))`` are the limits. ``transform=True`` fits
    on the log/logit scale and back-transforms (``SII = f(b0 + b1) - f(b0)``).

    Differences from the R function, all deliberate: groups with an incomplete set of
    quantiles are *kept* with null results and a ``sii_note`` (R drops them with a warning;
    we warn too); a missing value counts as incomplete; ``0 < multiplier < 1`` with
    ``transform=True`` and rates does not swap the limits (a quirk of the R code); the
    reliability statistic is not offered. When the fit is linear in the drawn values the
    refitted coefficients are drawn directly from their exact bivariate normal distribution.

    Parameters:
        data: one row per group x quantile.
        quantile: quantile column (quantile 1 = most deprived).
        population: population column (must be positive).
        by: grouping column(s): one SII per group.
        x: count column, for proportions (``value = x / population``) when ``value`` is absent.
        value: value column.
        value_type: 0 (normal / other), 1 (rate), 2 (proportion between 0 and 1).
        lower_cl, upper_cl: columns of 95% limits (needed unless ``se`` is given).
        se: column of standard errors (on the log/logit scale for value_type 1/2).
        multiplier: scales the SII (e.g. 100 for percentages; negative flips the polarity).
        repetitions: number of simulations (at least 1000).
        confidence: level(s), e.g. 0.95, 95 or [0.95, 0.998].
        rii: also return the RII and its limits.
        intercept: also return the intercept (fitted value at the most deprived end).
        transform: fit on the log (rates) / logit (proportions) scale.
        seed: seed or NumPy Generator for the simulation.

    Returns:
        ``by`` columns, ``sii``, [``rii``], [``intercept``], ``sii_lower_95``,
        ``sii_upper_95`` (suffix per level, see :func:`sii_level_suffixes`), [``rii_lower_95``,
        ``rii_upper_95``], ``sii_note``.

    Example:
        >>> import polars as pl
        >>> d = pl.DataFrame({"q": list(range(1, 6)), "pop": [100.0, 200.0, 300.0, 200.0, 100.0],
        ...                   "v": [0.30, 0.25, 0.20, 0.18, 0.15], "se": [0.05] * 5})
        >>> out = sii(d, "q", "pop", value="v", se="se", value_type=2, rii=True, repetitions=2000, seed=3)
        >>> round(out["sii"][0], 6), round(out["rii"][0], 6)
        (-0.15, 0.477756)
    """
    keys = as_list(by)
    # argument checks, in phe_sii's order and with its wording
    if value is None and x is None:
        raise OptionError(
            "function phe_sii requires value field, or x field if indicator is a proportion of population.\nFix: pass value= (or x= for a proportion)."
        )
    if se is None and (lower_cl is None or upper_cl is None):
        raise OptionError(
            "function phe_sii requires either lower_cl and upper_cl fields, or se field.\nFix: pass se= or both lower_cl= and upper_cl=."
        )
    if value_type not in (0, 1, 2) or isinstance(value_type, bool):
        raise OptionError(
            f"value_type should be 0, 1 or 2 (got {value_type!r}).\nFix: 0 for other values, 1 for rates, 2 for proportions."
        )
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in (multiplier, repetitions)):
        raise OptionError("multiplier, repetitions and confidence inputs should be numeric.\nFix: pass numbers.")
    if repetitions < 1000:
        raise OptionError("number of repetitions must be 1000 or greater. Default is 100,000.\nFix: pass repetitions >= 1000.")
    if transform and value_type == 0:
        raise OptionError(
            "value_type should be 1 or 2 when transform is true.\nFix: transform applies to rates (1) and proportions (2) only."
        )
    if transform and se is not None:
        raise OptionError(
            "function phe_sii requires se to be missing when transform is true.\nFix: pass lower_cl= and upper_cl= instead of se=."
        )
    if transform and (lower_cl is None or upper_cl is None):
        raise OptionError(
            "function phe_sii requires lower_cl and upper_cl fields when transform is true.\nFix: pass lower_cl= and upper_cl=."
        )
    levels = _levels(confidence)
    repetitions = int(repetitions)
    for col, role in (
        (quantile, "quantile"),
        (population, "population"),
        (x, "x"),
        (value, "value"),
        (lower_cl, "lower_cl"),
        (upper_cl, "upper_cl"),
        (se, "se"),
        *[(k, "by") for k in keys],
    ):
        _need(data, col, role)
    numeric = [c for c in (population, x, value, se, lower_cl, upper_cl) if c is not None]
    bad_types = [c for c in numeric if not data.schema[c].is_numeric()]
    if bad_types:
        raise SchemaError(
            f"column(s) {', '.join(repr(c) for c in bad_types)} are not numeric: some input fields in data.frame are non-numeric.\n"
            "Fix: cast them to numbers first."
        )
    rkey = [*keys, quantile]

    def fail(column: str, mask: pl.Expr, what: str, fix: str) -> None:
        labels, total = _row_labels(data, mask, rkey)
        if total:
            raise DataError(problem(column, what, rows=labels, total=total, fix=fix))

    fail(
        population,
        pl.col(population).is_null() | (pl.col(population) <= 0),
        "has zero, negative or missing values: some groups have a zero, negative or missing population",
        "Every quantile needs a positive population.",
    )
    if se is not None:
        fail(
            se,
            pl.col(se).is_null() | (pl.col(se) < 0),
            "has negative or missing values: negative or missing standard errors in input dataset",
            "Supply a non-negative standard error for every row.",
        )
    if lower_cl is not None and upper_cl is not None:
        fail(
            lower_cl,
            pl.col(lower_cl).is_null() | pl.col(upper_cl).is_null(),
            f"or {upper_cl!r} is missing: missing lower or upper confidence limits in input dataset",
            "Supply both limits for every row.",
        )
    if value_type == 2:
        if value is not None:
            fail(
                value,
                (pl.col(value) < 0) | (pl.col(value) > 1),
                "is outside 0-1: value proportions are not all between 0 and 1",
                "Pass proportions as fractions (divide percentages by 100 and use multiplier=100).",
            )
        if lower_cl is not None and upper_cl is not None:
            fail(
                lower_cl,
                (pl.col(lower_cl) < 0) | (pl.col(lower_cl) > 1) | (pl.col(upper_cl) < 0) | (pl.col(upper_cl) > 1),
                f"or {upper_cl!r} is outside 0-1: confidence limit proportions are not all between 0 and 1",
                "Pass the limits as fractions, on the same scale as the values.",
            )
        if value is None and x is not None:
            fail(
                x,
                pl.col(x) <= 0,
                "is zero or negative: some groups have a zero or negative count x",
                "The logit of a zero proportion is undefined; supply value= and se= instead.",
            )
    elif value is None:
        raise OptionError(
            "function phe_sii requires value field, or x field if indicator is a proportion of population.\nFix: x= is only used for proportions (value_type=2); pass value=."
        )
    quantiles = data.get_column(quantile).drop_nulls().unique().sort()
    nq = quantiles.len()
    if nq < 5 or nq > 100:
        raise DataError(
            f"column {quantile!r} has {nq} distinct quantiles: Number of quantiles must be between 5 and 100.\nFix: use deciles (10) or quintiles (5)."
        )
    if nq > 10:
        warnings.warn(
            "WARNING: Small values can make SII unstable when using a large number of quantiles", UserWarning, stacklevel=2
        )
    dup = data.select(pl.struct(rkey).is_duplicated()).to_series()
    if dup.any():
        labels, total = _row_labels(data.with_columns(dup.alias("__d")), pl.col("__d"), rkey)
        raise DataError(
            problem(
                quantile,
                "is repeated within a group",
                rows=labels,
                total=total,
                fix="Supply one row per group and quantile (aggregate first).",
            )
        )

    if value is not None:
        vexpr = pl.col(value).cast(pl.Float64)
    else:
        assert x is not None  # value or x: checked above
        vexpr = pl.col(x).cast(pl.Float64) / pl.col(population).cast(pl.Float64)
    if se is not None:
        se_expr = pl.col(se).cast(pl.Float64)
    else:
        assert lower_cl is not None and upper_cl is not None  # se or both limits: checked above
        lo, hi = pl.col(lower_cl).cast(pl.Float64), pl.col(upper_cl).cast(pl.Float64)
        if value_type == 1:
            lo, hi = lo.log(), hi.log()
        elif value_type == 2:
            lo, hi = (lo / (1 - lo)).log(), (hi / (1 - hi)).log()
        se_expr = (hi - lo) / Z95 / 2
    lazy = data.lazy()
    if not keys:
        lazy = lazy.with_columns(pl.lit(0).alias("__all"))
    gkeys = keys or ["__all"]
    work = (
        lazy.select(
            *gkeys,
            pl.col(quantile).alias("__q"),
            pl.col(population).cast(pl.Float64).alias("__pop"),
            vexpr.alias("__v"),
            se_expr.alias("__se"),
        )
        .with_columns(
            (pl.col("__v").is_not_null() & pl.col("__se").is_not_null()).all().over(gkeys).alias("__complete_vals"),
            pl.col("__q").n_unique().over(gkeys).alias("__nq"),
        )
        .collect()
    )
    gid_frame = work.select(gkeys).unique(maintain_order=True)
    complete = work.group_by(gkeys, maintain_order=True).agg(
        ((pl.col("__nq").first() == nq) & pl.col("__q").is_not_null().all() & pl.col("__complete_vals").first()).alias("__ok")
    )
    ok_groups = complete.filter(pl.col("__ok")).select(gkeys)
    if ok_groups.height < gid_frame.height:
        warnings.warn("WARNING: some records have been removed due to incomplete or invalid data", UserWarning, stacklevel=2)
    rows = work.join(ok_groups, on=gkeys, how="semi", nulls_equal=True).sort([*gkeys, "__q"], maintain_order=True)
    # reorder rows into ok_groups order (rows are sorted by key; align group order to that)
    ok_sorted = rows.select(gkeys).unique(maintain_order=True)
    g = ok_sorted.height
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sfx = sii_level_suffixes(levels)
    cols: dict[str, np.ndarray] = {}
    if g:
        shape = (g, nq)
        res = sii_core(
            rows["__v"].to_numpy().reshape(shape),
            rows["__se"].to_numpy().reshape(shape),
            rows["__pop"].to_numpy().reshape(shape),
            np.full(g, value_type),
            transform=transform,
            multiplier=float(multiplier),
            levels=levels,
            repetitions=repetitions,
            rng=rng,
            want_rii=rii or transform,
        )
        cols["sii"] = res["sii"]
        if rii:
            cols["rii"] = res["rii"]
        if intercept:
            cols["intercept"] = res["intercept"]
        for s, lvl in zip(sfx, res["levels"], strict=True):
            cols[f"sii_lower{s}"], cols[f"sii_upper{s}"] = lvl["sii"]
        if rii:
            for s, lvl in zip(sfx, res["levels"], strict=True):
                cols[f"rii_lower{s}"], cols[f"rii_upper{s}"] = lvl["rii"]
    names = [
        "sii",
        *(["rii"] if rii else []),
        *(["intercept"] if intercept else []),
        *[f"sii_{b}{s}" for s in sfx for b in ("lower", "upper")],
        *([f"rii_{b}{s}" for s in sfx for b in ("lower", "upper")] if rii else []),
    ]
    result = ok_sorted.with_columns([pl.Series(n, cols.get(n, np.zeros(0)), dtype=pl.Float64) for n in names])
    result = (
        gid_frame.join(result, on=gkeys, how="left", nulls_equal=True, maintain_order="left")
        .join(complete, on=gkeys, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            pl.when(pl.col("__ok"))
            .then(None)
            .otherwise(pl.lit(f"incomplete: needs all {nq} quantiles with a value and a standard error"))
            .alias("sii_note")
        )
        .drop("__ok")
    )
    return result.drop("__all") if not keys else result
