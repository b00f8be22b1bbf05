"""The scoring and grading steps of :func:`publicservices.stats.build_report_cards`.

Measures scored within peer groups (percentile rank by the Hazen plotting position, or a
standardised score), grades cut from overall scores, and the Monte Carlo grade-stability
check (values drawn from their sampling distributions, weights moved by up to +/-20%).
See :mod:`publicservices.stats.ranking.report_cards` for the method and references.

Example:
    >>> import numpy as np
    >>> grade(np.array([90.0, 50.0, 5.0, np.nan]), np.array([75.0, 40.0, 10.0, 3.0])).tolist()  # 0 = A
    [0, 1, 3, -1]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import POLARITIES, Indicator
from publicservices.stats._common import require_columns
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking.closing_gaps import GAP_STATUSES, gap_credit

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "F")

__all__ = ["GRADES", "directions", "grade_group", "present", "grade", "JUDGED", "BINOMIAL", "POISSON", "CHUNK_CELLS"]

JUDGED = ("higher_is_better", "lower_is_better")
# measures whose counts have a known sampling distribution: binomial for a proportion, Poisson
# for the count of a rate, a directly standardised rate (Dobson et al. 1991) or a ratio (Byar)
BINOMIAL = ("proportion",)
POISSON = ("rate", "dsr", "ratio")
# cells (draws x units x measures) simulated at once: bounds memory, keeps every step vectorised
CHUNK_CELLS = 2_000_000


def directions(
    members: Sequence[str],
    indicators: Mapping[str, Indicator],
    polarity: Mapping[str, str] | str | None,
    defaults: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """(direction of each measure that can be graded, reason for each measure left out).

    A measure's direction comes from ``polarity`` (a mapping overrides the indicators'; a
    single string applies to the measures without an indicator definition), else its
    indicator, else the sector's defaults. Context indicators are never graded.
    """
    judged: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for m in members:
        ind = indicators.get(m)
        if ind is not None and getattr(ind, "role", "outcome") == "context":
            left_out[m] = "a context indicator, which describes areas"
            continue
        pol: str | None
        if isinstance(polarity, Mapping) and m in polarity:
            pol = polarity[m]
        elif ind is not None:
            pol = ind.polarity
        elif isinstance(polarity, str):
            pol = polarity
        else:
            pol = defaults.get(m)
        if pol is not None and pol not in POLARITIES:
            raise DataError(f"polarity {pol!r} of measure {m!r} is not known.\nFix: use one of {', '.join(POLARITIES)}.")
        if pol in JUDGED:
            judged[m] = pol
        else:
            left_out[m] = "no direction (no_judgement)" if pol == "no_judgement" else "no direction given (polarity=)"
    return judged, left_out


def _measures(
    frame: pl.DataFrame, key: str, members: Sequence[str], period: str | None, indicators: Mapping[str, Indicator], level: float
) -> tuple[pl.DataFrame, dict[str, np.ndarray] | None, dict[str, Any]]:
    """(wide table, sampling-noise parameters, what was done) for the measures of one group.

    The wide table has ``key`` and one column per measure, from wide columns or from a long
    values frame (latest period of each indicator, or ``period``; a measure the group does not
    hold is null for every unit, so its domain rests on the others). From a long frame, a value
    that is missing where the counts are present is derived, numerator / denominator x the
    indicator's multiplier, and each cell gets the parameters of its sampling distribution
    (units x measures arrays, NaN where there are none): ``se``, the standard error of a
    normal from its ``level`` interval, (upper - lower) / (2 z); else ``count`` (and, for a
    proportion, ``trials``) for a binomial or Poisson draw from the counts. A wide frame
    carries no intervals or counts: ``None``.
    """
    info: dict[str, Any] = {"derived": {}, "fixed": set(), "noisy": set()}
    long_ids = set()
    if {"indicator_id", "value", key} <= set(frame.columns):
        long_ids = set(frame.get_column("indicator_id").unique().to_list())
    if not (long_ids and long_ids & set(members) and not set(members) & set(frame.columns)):
        require_columns(frame, [key, *members], "report-card measures (wide columns or indicator ids)")
        dup = frame.select(key).is_duplicated().to_numpy()
        ru.check(
            frame,
            key,
            dup,
            "is duplicated (a wide report-card frame needs one row per unit)",
            "Filter to one period, or pass the long values frame with indicator ids.",
        )
        return frame, None, info

    sub = frame.filter(pl.col("indicator_id").is_in(list(members)))
    if period is not None:
        sub = sub.filter(pl.col("period") == period)
    elif "period_start" in sub.columns or "period" in sub.columns:
        # latest period of each indicator: a report card grades the current year
        order = "period_start" if "period_start" in sub.columns else "period"
        sub = sub.filter(pl.col(order) == pl.col(order).max().over("indicator_id"))
    dup = sub.select(key, "indicator_id").is_duplicated().to_numpy()
    ru.check(
        sub,
        key,
        dup,
        "has more than one value per indicator for the graded period",
        "Pass period=..., or give each row its breakdown (sex, age, category) or comparable_set column "
        "so each group is graded on its own.",
    )

    for name in ("value", "numerator", "denominator", "lower_ci", "upper_ci"):
        dtype = sub.schema.get(name)
        if dtype is not None and not (dtype.is_numeric() or dtype == pl.Null):
            raise SchemaError(
                problem(
                    name,
                    f"must be numeric, not {dtype}",
                    fix=f"Cast {name!r} to Float64 (pl.col({name!r}).cast(pl.Float64)) after fixing "
                    "any text in it, or drop the column.",
                )
            )

    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64) if name in sub.columns else pl.lit(None, dtype=pl.Float64)

    mult = pl.col("indicator_id").replace_strict(
        {i: d.multiplier for i, d in indicators.items()}, default=None, return_dtype=pl.Float64
    )
    measure = pl.col("indicator_id").replace_strict(
        {i: d.measure for i, d in indicators.items()}, default=None, return_dtype=pl.String
    )
    num, den, lower, upper = col("numerator"), col("denominator"), col("lower_ci"), col("upper_ci")
    counted = num.is_not_null() & den.is_not_null() & (den > 0)
    derive = col("value").fill_nan(None).is_null() & counted
    sub = sub.with_columns(
        pl.when(derive).then(num / den * mult.fill_null(1.0)).otherwise(col("value")).alias("value"),
        derive.alias("_derived"),
        measure.alias("_measure"),
        mult.alias("_mult"),
    )
    value_ok = pl.col("value").is_not_null() & pl.col("value").is_finite()
    has_ci = value_ok & lower.is_not_null() & upper.is_not_null()
    countable = value_ok & ~has_ci & counted & pl.col("_measure").is_in([*BINOMIAL, *POISSON])
    from scipy.special import ndtri  # the normal quantile, without importing scipy.stats

    z = float(ndtri(0.5 + level / 2))
    sub = sub.with_columns(
        pl.when(has_ci).then((upper - lower) / (2 * z)).alias("_se"),
        pl.when(countable).then(num).alias("_count"),
        pl.when(countable & pl.col("_measure").is_in(list(BINOMIAL))).then(den).alias("_trials"),
    )
    checks = sub.select(
        (pl.col("_se") < 0).fill_null(False).alias("width"),
        (pl.col("_count") < 0).fill_null(False).alias("negative"),
        (pl.col("_count") > pl.col("_trials")).fill_null(False).alias("over"),
    )
    ru.check(
        sub,
        "upper_ci",
        checks.get_column("width").to_numpy(),
        "is below lower_ci",
        "Swap the interval columns, or correct the rows: lower_ci <= value <= upper_ci.",
    )
    ru.check(
        sub,
        "numerator",
        checks.get_column("negative").to_numpy(),
        "is negative",
        "Counts cannot be negative: correct the rows, or set them to null.",
    )
    ru.check(
        sub,
        "numerator",
        checks.get_column("over").to_numpy(),
        "is above the denominator of a proportion",
        "Correct the counts, or declare the indicator's measure (a rate, not a proportion).",
    )

    wide = sub.pivot(on="indicator_id", index=key, values="value")
    for m in members:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))

    # the sampling parameters, scattered into units x measures arrays (unit order of `wide`)
    cells = sub.join(wide.select(key).with_row_index("_u"), on=key, how="left").with_columns(
        pl.col("indicator_id").replace_strict({m: i for i, m in enumerate(members)}, return_dtype=pl.Int64).alias("_m")
    )
    u = cells.get_column("_u").to_numpy().astype(np.int64)
    m_idx = cells.get_column("_m").to_numpy()
    noise: dict[str, np.ndarray] = {}
    for name in ("_se", "_count", "_trials"):
        arr = np.full((wide.height, len(members)), np.nan)
        arr[u, m_idx] = cells.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        noise[name.lstrip("_")] = arr
    rows = cells.group_by("indicator_id").agg(
        pl.col("_derived").sum().alias("derived"),
        pl.col("_mult").first().alias("mult"),
        (pl.col("_se").is_not_null() | pl.col("_count").is_not_null()).any().alias("noisy"),
    )
    for ind_id, derived, mlt, noisy in rows.iter_rows():
        if derived:
            info["derived"][ind_id] = (int(derived), mlt)
        (info["noisy"] if noisy else info["fixed"]).add(ind_id)
    return wide, noise, info


def _percentile_within(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Mid-rank percentile (0-100) of each unit within its group; nulls stay null.

    Hazen plotting position 100 x (rank - 1/2) / n, ties sharing their average rank, ranked
    along the units axis (-2) of an array (..., units, measures): one call scores every
    simulated draw.
    """
    out = np.full(values.shape, np.nan)
    groups = np.zeros(values.shape[-2], dtype=np.int64) if groups is None else groups
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        sub = values[..., rows, :]
        ok = np.isfinite(sub)
        n = ok.sum(axis=-2, keepdims=True)
        r = ru.average_ranks(np.where(ok, sub, np.inf), axis=-2)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = (r - 0.5) / n * 100
        out[..., rows, :] = np.where(ok, pct, np.nan)
    return out


def _zscore_within(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """(x - mean) / sd (ddof 1) within each group along the units axis (-2); 0 where sd is 0."""
    out = np.full(values.shape, np.nan)
    groups = np.zeros(values.shape[-2], dtype=np.int64) if groups is None else groups
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        sub = values[..., rows, :]
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-null measures in a group
            mu = np.nanmean(sub, axis=-2, keepdims=True)
            sd = np.nanstd(sub, axis=-2, ddof=1, keepdims=True)
            # a measure that does not vary within the group puts everyone at the mean (0)
            out[..., rows, :] = np.where(sd > 0, (sub - mu) / np.where(sd > 0, sd, 1.0), np.where(np.isfinite(sub), 0.0, np.nan))
    return out


def grade(score: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Grade index (0 = A) from scores and descending minimums; -1 where score is null.

    A cut-point is the *minimum* of its grade: a score exactly on the A cut is an A (the
    grade is the number of cut-points strictly above the score).
    """
    idx = (score[..., None] < cuts).sum(axis=-1)
    return np.where(np.isfinite(score), idx, -1)


def _relative(score: np.ndarray) -> np.ndarray:
    """Mid-rank percentile 100 x (rank - 1/2) / n (ties share their average rank) along the last axis."""
    two_d = np.atleast_2d(score)
    ok = np.isfinite(two_d)
    n = ok.sum(axis=-1, keepdims=True)
    filled = np.where(ok, two_d, np.inf)
    order = np.argsort(filled, axis=-1)
    ranks = np.empty(filled.shape)
    np.put_along_axis(ranks, order, np.arange(1.0, filled.shape[-1] + 1)[None, :], axis=-1)
    srt = np.take_along_axis(filled, order, axis=-1)
    with np.errstate(invalid="ignore"):  # inf - inf between the nulls at the end
        tied = ((np.diff(srt, axis=-1) == 0) & np.isfinite(srt[:, 1:])).any(axis=-1)
    if tied.any():  # average ranks only where a row has ties (rare with continuous scores)
        ranks[tied] = ru.average_ranks(filled[tied], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (ranks - 0.5) / n * 100
    out = np.where(ok, pct, np.nan)
    return out if score.ndim == 2 else out[0]


def present(frame: pl.DataFrame, names: Sequence[str]) -> list[str]:
    """Which of ``names`` the frame holds, as wide columns or as indicator ids."""
    ids: set[str] = set()
    if "indicator_id" in frame.columns:
        ids = set(frame.get_column("indicator_id").unique().to_list())
    return [n for n in names if n in frame.columns or n in ids]


def grade_group(
    frame: pl.DataFrame,
    *,
    key,
    members,
    domains,
    weighted,
    w,
    pol,
    period,
    peer_group,
    peer_weight,
    scoring,
    relative,
    extra_credit,
    extra_credit_max,
    cuts,
    n_sims,
    jitter,
    seed,
    indicators,
    sampling_noise,
    level,
    gap: pl.DataFrame | None = None,
    gap_award: Mapping[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Grades for the units of one group, and what was done to the data (see :func:`report_cards`).

    ``gap`` (:func:`publicservices.stats.gap_change` of the group's units) and ``gap_award``
    (``points``, ``level``, ``award`` of :func:`publicservices.stats.gap_credit`) add
    closing-the-gap credit to the extra credit; in the sampling-noise draws each unit's
    change is drawn from its normal too, so the credit can come and go with chance.
    """
    wide, noise, info = _measures(frame, key, members, period, indicators, level)
    groups = None
    if peer_group is not None:
        source = wide if peer_group in wide.columns else frame.select(key, peer_group).unique(key, keep="first")
        if peer_group not in wide.columns:
            wide = wide.join(source, on=key, how="left")
        require_columns(wide, [peer_group], "peer_group")
        groups = wide.get_column(peer_group).cast(pl.String).fill_null("(none)").to_numpy()

    raw = np.column_stack([ru.numeric(wide, m, allow_null=True) for m in members]).astype(np.float64)
    signs = np.array([-1.0 if pol[m] == "lower_is_better" else 1.0 for m in members])
    raw = raw * signs
    score_fn = _percentile_within if scoring == "percentile" else _zscore_within
    col = {m: i for i, m in enumerate(members)}
    centre = 50.0 if scoring == "percentile" else 0.0
    span = 50.0 if scoring == "percentile" else 2.0
    ec = extra_credit if extra_credit and extra_credit in domains else None

    def domain_scores(x: np.ndarray) -> dict[str, np.ndarray]:
        """Measure values (..., units, measures) -> domain scores (..., units) per domain."""
        scored = score_fn(x, groups)
        if groups is not None and peer_weight < 1:
            scored = peer_weight * scored + (1 - peer_weight) * score_fn(x, None)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a unit with no measure in a domain
            return {d: np.nanmean(scored[..., [col[m] for m in ms]], axis=-1) for d, ms in domains.items()}

    def bonus_of(dom: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        if ec is None:
            return np.zeros(shape)
        b = np.clip((dom[ec] - centre) / span, 0, 1) * extra_credit_max
        return np.where(np.isfinite(b), b, 0.0)

    def overall(d_mat: np.ndarray, wts: np.ndarray) -> np.ndarray:
        """Weighted mean over available domains: (units, D) with (D,) or (sims, D) weights, or
        (sims, units, D) with (D,) or per-draw (sims, D) weights; -> (units,) or (sims, units)."""
        avail = np.isfinite(d_mat)
        filled = np.where(avail, d_mat, 0.0)
        have = avail.astype(np.float64)
        if d_mat.ndim == 3 and wts.ndim == 2:
            num = np.einsum("sud,sd->su", filled, wts)
            den = np.einsum("sud,sd->su", have, wts)
        elif wts.ndim == 2:
            num, den = (filled @ wts.T).T, (have @ wts.T).T
        else:
            num, den = filled @ wts, have @ wts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def grades(total: np.ndarray) -> np.ndarray:
        return grade(_relative(total) if relative else total, cuts)

    dom = domain_scores(raw) if raw.shape[0] else {d: np.array([]) for d in domains}
    d_mat = np.column_stack([dom[d] for d in weighted]) if raw.shape[0] else np.empty((0, len(weighted)))
    gap_z = gap_pts = None
    if gap is not None and gap_award is not None:
        gap = wide.select(key).join(gap, on=key, how="left", maintain_order="left")
        gap_z = gap.get_column("gap_narrowing_z").cast(pl.Float64).fill_null(np.nan).to_numpy()
        gap_pts = gap_credit(gap_z, **gap_award)
    bonus = bonus_of(dom, (raw.shape[0],)) + (0.0 if gap_pts is None else gap_pts)
    base = overall(d_mat, w) + bonus
    grade_idx = grades(base)

    units = raw.shape[0]
    p_change = p_weights = p_noise = np.full(units, np.nan)
    best = worst = np.full(units, -1)
    ok = grade_idx >= 0
    cells = {k: np.isfinite(v) & np.isfinite(raw) for k, v in (noise or {}).items()}
    gap_noisy = gap_z is not None and bool(np.isfinite(gap_z).any())
    has_noise = bool(sampling_noise and noise is not None and (cells["se"].any() or cells["count"].any() or gap_noisy))
    if n_sims > 0 and units:
        rng = np.random.default_rng(seed)
        factors = rng.uniform(1 - jitter, 1 + jitter, size=(n_sims, w.size))
        sims_w = w * factors
        sims_w = sims_w / sims_w.sum(axis=1, keepdims=True)
        g_w = grades(overall(d_mat, sims_w) + bonus)  # sims x units: the weights moved alone
        p_weights = np.where(ok, (g_w != grade_idx).mean(axis=0), np.nan)
        if has_noise and noise is not None:
            draws = _Draws(raw, noise, cells, seed)
            gap_rng = np.random.default_rng(None if seed is None else [int(seed), 3])  # its own stream
            changed_noise = np.zeros(units)
            changed_both = np.zeros(units)
            best, worst = np.full(units, len(cuts)), np.zeros(units, dtype=np.int64)
            step = max(1, CHUNK_CELLS // max(1, raw.size))
            for start in range(0, n_sims, step):
                x = draws.take(min(step, n_sims - start))  # draws x units x measures
                dom_x = domain_scores(x)
                dm = np.stack([dom_x[d] for d in weighted], axis=-1)
                bx = bonus_of(dom_x, x.shape[:-1])
                if gap_z is not None and gap_award is not None:  # the change drawn from its normal: z + Z
                    bx = bx + gap_credit(gap_z + gap_rng.standard_normal(x.shape[:-1]), **gap_award)
                g_n = grades(overall(dm, w) + bx)  # the values drawn alone
                g_b = grades(overall(dm, sims_w[start : start + x.shape[0]]) + bx)  # values and weights
                changed_noise += (g_n != grade_idx).sum(axis=0)
                changed_both += (g_b != grade_idx).sum(axis=0)
                best, worst = np.minimum(best, g_b.min(axis=0)), np.maximum(worst, g_b.max(axis=0))
            p_noise = np.where(ok, changed_noise / n_sims, np.nan)
            p_change = np.where(ok, changed_both / n_sims, np.nan)
        else:
            p_change = p_weights
            best, worst = g_w.min(axis=0), g_w.max(axis=0)
        best, worst = np.where(ok, best, -1), np.where(ok, worst, -1)

    letters = np.array(GRADES)
    enum = pl.Enum(GRADES)

    def to_grade(idx: np.ndarray) -> pl.Series:
        named = np.where(idx >= 0, letters[np.clip(idx, 0, 4)], None).tolist()  # type: ignore[attr-defined]  # numpy's stubs reject None in np.where
        return pl.Series(named, dtype=pl.String).cast(enum)

    keep = [key] + ([peer_group] if peer_group else [])
    out = wide.select(keep).with_columns(
        *[pl.Series(f"score_{d}", dom[d], dtype=pl.Float64, nan_to_null=True) for d in weighted],
        pl.Series("extra_credit", bonus, dtype=pl.Float64),
        *_gap_columns(gap, gap_pts),
        pl.Series("score", base, dtype=pl.Float64, nan_to_null=True),
        to_grade(grade_idx).alias("grade"),
        pl.Series("p_grade_change", p_change, dtype=pl.Float64, nan_to_null=True),
        pl.Series("p_grade_change_noise", p_noise, dtype=pl.Float64, nan_to_null=True),
        pl.Series("p_grade_change_weights", p_weights, dtype=pl.Float64, nan_to_null=True),
        to_grade(best).alias("grade_best"),
        to_grade(worst).alias("grade_worst"),
    )
    if out.height and out.get_column("score").null_count() == out.height:
        raise DataError(
            problem(
                key,
                "has no scores in any domain",
                rows=out.get_column(key).head(5).cast(str).to_list(),
                total=out.height,
                fix="Check the domain measures exist and have values.",
            )
        )
    return out, info


def _gap_columns(gap: pl.DataFrame | None, points: np.ndarray | None) -> list[pl.Series]:
    """The closing-the-gap columns of a report card: the change, its interval, the verdict, the credit."""
    if gap is None or points is None:
        return []
    return [
        gap.get_column("gap_periods").fill_null(0).alias("gap_periods"),
        gap.get_column("gap_change"),
        gap.get_column("gap_change_lower"),
        gap.get_column("gap_change_upper"),
        gap.get_column("gap_status").cast(pl.String).fill_null("cannot judge").cast(pl.Enum(GAP_STATUSES)),
        gap.get_column("gap_reason").fill_null("no value of the gap indicator"),
        gap.get_column("gap_first_period"),
        gap.get_column("gap_last_period"),
        pl.Series("gap_credit", points, dtype=pl.Float64),
        pl.Series("gap_credited", points > 0, dtype=pl.Boolean),
    ]


class _Draws:
    """Values drawn from their sampling distributions, a block of draws at a time.

    Normal cells: value + se x Z. Count cells: value x X / E[X], X ~ Binomial(round(trials),
    count / trials) or Poisson(count); a zero count stays fixed (its distribution is a point).
    Other cells keep their value. Z is drawn for every cell, whatever its se, from its own
    stream, and the counts from another: the same seed gives the same Z whatever the widths,
    so widening one interval moves that value further along the same path.
    """

    def __init__(
        self, raw: np.ndarray, noise: Mapping[str, np.ndarray], cells: Mapping[str, np.ndarray], seed: int | None
    ) -> None:
        self.raw = raw
        self.se = np.where(cells["se"], noise["se"], 0.0)
        self.z_rng = np.random.default_rng(None if seed is None else [int(seed), 1])
        self.n_rng = np.random.default_rng(None if seed is None else [int(seed), 2])
        counts = cells["count"] & (noise["count"] > 0)
        with np.errstate(invalid="ignore"):
            whole = np.rint(noise["trials"])
        self.binom = np.flatnonzero(counts & cells["trials"] & (whole >= 1))
        self.pois = np.flatnonzero(counts & ~cells["trials"])
        self.trials = whole.ravel()[self.binom].astype(np.int64)
        self.p = np.clip(noise["count"].ravel()[self.binom] / self.trials, 0, 1)
        self.lam = noise["count"].ravel()[self.pois]

    def take(self, n: int) -> np.ndarray:
        x = self.raw + self.se * self.z_rng.standard_normal((n, *self.raw.shape))
        flat = x.reshape(n, -1)
        base = self.raw.ravel()
        if self.binom.size:
            drawn = self.n_rng.binomial(self.trials, self.p, size=(n, self.binom.size))
            with np.errstate(invalid="ignore", divide="ignore"):
                flat[:, self.binom] = base[self.binom] * drawn / (self.trials * self.p)
        if self.pois.size:
            drawn = self.n_rng.poisson(self.lam, size=(n, self.pois.size))
            flat[:, self.pois] = base[self.pois] * drawn / self.lam
        return flat.reshape(n, *self.raw.shape)
