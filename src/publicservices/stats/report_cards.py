"""Report cards: letter grades A-F from weighted domains, with a grade-stability check.

Each measure is scored within a peer group (percentile rank, or a standardised score), the
measures of a domain are averaged, the domains are combined with weights, optional extra
credit is added, and the overall score is cut into grades. A Monte Carlo check then moves
every weight by up to +/-20% (uniform, renormalised) and reports how often each area's grade
changes: a grade that flips under modest changes of weighting says more about the weights
than about the service.

The schools default follows New York City's Progress Reports (NYC Department of Education,
2007-2013): school environment 15%, student performance 25%, student progress 60%, each
measure judged mostly against a peer group of similar schools (75%) and partly against the
whole city (25%), and additional credit for exemplary progress of high-need groups (closing
the gap).

Reference: NYC Department of Education, *Progress Report Educator Guide* (2007-08 onwards);
Rockoff J, Turner LJ (2010) Short-run impacts of accountability on school quality. AEJ:
Economic Policy 2(4):119-147 (describes the grade formula); Jacobs R, Goddard M (2007) How do
performance indicators add up? An examination of composite indicators in public services.
Public Money & Management 27:103-110 (sensitivity of composite ranks to weights).

Direction decides judgement: only measures with a direction (``higher_is_better`` or
``lower_is_better``, from the indicators or ``polarity=``) are graded. Indicators without one
(``no_judgement``), measures whose direction is not given, and context indicators
(``role="context"``: population, deprivation) are left out of the grades, with a
:class:`NotGradedWarning` naming them; if nothing with a direction is left, a ``DataError``.

Grades are given within each group of the values contract -- comparable set, sex, age,
category -- so upper-tier areas are graded among upper-tier areas and women's results among
women's; the group columns are kept in the output.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": list("ABCDE"), "environment": [1.0, 2, 3, 4, 5],
    ...                    "performance": [5.0, 4, 3, 2, 1], "progress": [1.0, 2, 3, 5, 4]})
    >>> rc = report_cards(df, sector="schools", n_sims=200)
    >>> rc.select("area_code", "grade").to_dicts()[4]
    {'area_code': 'E', 'grade': 'B'}
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import POLARITIES, Indicator
from publicservices.stats import _rankutil as ru
from publicservices.stats._keys import GROUP_KEYS, present_keys

__all__ = ["GRADES", "SECTOR_DEFAULTS", "NotGradedWarning", "report_cards"]

_JUDGED = ("higher_is_better", "lower_is_better")


class NotGradedWarning(UserWarning):
    """Measures left out of report cards: no direction, or context indicators."""

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "F")

# Minimum overall score for each grade but the last. With relative=True the overall score is
# first turned into a percentile among all units, so these are shares: schools 25/35/30/7/3%
# (a few F, about a quarter A -- the shape of NYC's first Progress Reports), elsewhere quintiles.
SECTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "schools": {
        "weights": {"environment": 15.0, "performance": 25.0, "progress": 60.0},
        "cutpoints": {"A": 75.0, "B": 40.0, "C": 10.0, "D": 3.0},
        "relative": True,
        "extra_credit": "closing_the_gap",
        "extra_credit_max": 5.0,
        "peer_weight": 0.75,
        # NYC's measures are scores on which higher is better (measures without an indicator
        # definition take these directions unless polarity= says otherwise)
        "polarity": {"environment": "higher_is_better", "performance": "higher_is_better",
                     "progress": "higher_is_better", "closing_the_gap": "higher_is_better"},
    },
    "default": {
        "weights": None,  # equal
        "cutpoints": {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0},
        "relative": True,
        "extra_credit": None,
        "extra_credit_max": 0.0,
        "peer_weight": 1.0,
        "polarity": {},  # directions come from the indicators or polarity=, never assumed
    },
}


def _directions(members: Sequence[str], indicators: Mapping[str, Indicator],
                polarity: Mapping[str, str] | str | None, defaults: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
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
        if pol in _JUDGED:
            judged[m] = pol
        else:
            left_out[m] = "no direction (no_judgement)" if pol == "no_judgement" else "no direction given (polarity=)"
    return judged, left_out


def _wide(frame: pl.DataFrame, key: str, members: Sequence[str], period: str | None) -> pl.DataFrame:
    """A wide table: key + one column per measure (from wide columns or a long frame)."""
    long_ids = set()
    if {"indicator_id", "value", key} <= set(frame.columns):
        long_ids = set(frame.get_column("indicator_id").unique().to_list())
    if long_ids and set(members) <= long_ids:
        sub = frame.filter(pl.col("indicator_id").is_in(list(members)))
        if period is not None:
            sub = sub.filter(pl.col("period") == period)
        elif "period_start" in sub.columns or "period" in sub.columns:
            # latest period of each indicator: a report card grades the current year
            order = "period_start" if "period_start" in sub.columns else "period"
            sub = sub.filter(pl.col(order) == pl.col(order).max().over("indicator_id"))
        dup = sub.select(key, "indicator_id").is_duplicated().to_numpy()
        ru.check(sub, key, dup, "has more than one value per indicator for the graded period",
                 "Pass period=..., or give each row its breakdown (sex, age, category) or comparable_set column "
                 "so each group is graded on its own.")
        wide = sub.pivot(on="indicator_id", index=key, values="value")
        for m in members:
            if m not in wide.columns:
                wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))
        return wide
    ru.require_columns(frame, [key, *members], "report-card measures (wide columns or indicator ids)")
    dup = frame.select(key).is_duplicated().to_numpy()
    ru.check(frame, key, dup, "is duplicated (a wide report-card frame needs one row per unit)",
             "Filter to one period, or pass the long values frame with indicator ids.")
    return frame


def _percentile_within(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Mid-rank percentile (0-100) within each group; nulls stay null."""
    from scipy.stats import rankdata

    out = np.full(values.shape, np.nan)
    groups = np.zeros(values.shape[0], dtype=np.int64) if groups is None else groups
    for g in np.unique(groups):
        rows = groups == g
        sub = values[rows]
        ok = np.isfinite(sub)
        n = ok.sum(axis=0)
        r = rankdata(np.where(ok, sub, np.inf), axis=0, method="average")
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = (r - 0.5) / n * 100
        out[rows] = np.where(ok, pct, np.nan)
    return out


def _zscore_within(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    groups = np.zeros(values.shape[0], dtype=np.int64) if groups is None else groups
    for g in np.unique(groups):
        rows = groups == g
        sub = values[rows]
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-null measures in a group
            mu = np.nanmean(sub, axis=0)
            sd = np.nanstd(sub, axis=0, ddof=1)
            # a measure that does not vary within the group puts everyone at the mean (0)
            out[rows] = np.where(sd > 0, (sub - mu) / np.where(sd > 0, sd, 1.0), np.where(np.isfinite(sub), 0.0, np.nan))
    return out


def _grade(score: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Grade index (0 = A) from scores and descending minimums; -1 where score is null."""
    idx = (score[..., None] < cuts).sum(axis=-1)
    return np.where(np.isfinite(score), idx, -1)


def _relative(score: np.ndarray) -> np.ndarray:
    """Mid-rank percentile (ties share their average rank) along the last axis."""
    from scipy.stats import rankdata

    two_d = np.atleast_2d(score)
    ok = np.isfinite(two_d)
    n = ok.sum(axis=-1, keepdims=True)
    filled = np.where(ok, two_d, np.inf)
    order = np.argsort(filled, axis=-1)
    ranks = np.empty(filled.shape)
    np.put_along_axis(ranks, order, np.arange(1.0, filled.shape[-1] + 1)[None, :], axis=-1)
    srt = np.take_along_axis(filled, order, axis=-1)
    tied = ((np.diff(srt, axis=-1) == 0) & np.isfinite(srt[:, 1:])).any(axis=-1)
    if tied.any():  # average ranks only where a row has ties (rare with continuous scores)
        ranks[tied] = rankdata(filled[tied], axis=-1, method="average")
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (ranks - 0.5) / n * 100
    out = np.where(ok, pct, np.nan)
    return out if score.ndim == 2 else out[0]


def report_cards(
    frame: Any,
    domains: Mapping[str, Sequence[str] | str] | None = None,
    weights: Mapping[str, float] | None = None,
    cutpoints: Mapping[str, float] | None = None,
    *,
    sector: str | None = None,
    key: str = "area_code",
    peer_group: str | None = None,
    peer_weight: float | None = None,
    scoring: Literal["percentile", "zscore"] = "percentile",
    relative: bool | None = None,
    extra_credit: str | None = None,
    extra_credit_max: float | None = None,
    polarity: Mapping[str, str] | str | None = None,
    indicators: Mapping[str, Indicator] | None = None,
    period: str | None = None,
    n_sims: int = 1000,
    jitter: float = 0.2,
    seed: int | None = 0,
) -> pl.DataFrame:
    """Letter grades A-F from weighted domains, and how stable each grade is to the weights.

    Method: every measure is scored within ``peer_group`` -- the mid-rank percentile (0-100)
    or, with ``scoring="zscore"``, the standardised score -- after turning lower-is-better
    measures round. With a peer group, a measure's score is ``peer_weight`` x peer score +
    (1 - peer_weight) x score among all units (NYC used 75% peer, 25% city). A domain's
    score is the mean of its measures; the overall score is the weighted mean of the domains
    available for the unit (weights renormalised), plus extra credit: up to
    ``extra_credit_max`` points in proportion to how far the ``extra_credit`` domain's score
    lies above the median (percentile 50 -> 0 points, 100 -> the maximum). Grades: the
    ``cutpoints`` are the minimum score for A, B, C and D (below D is F), on the overall
    score or, with ``relative=True``, on its percentile among all units.

    Grade stability (Monte Carlo): each of ``n_sims`` simulations multiplies every domain
    weight by an independent Uniform(1 - jitter, 1 + jitter) factor, renormalises, and
    re-grades (relative cut-points are re-applied to the new scores). ``p_grade_change`` is
    the share of simulations in which the unit's grade differs from its grade at the stated
    weights; ``grade_best`` / ``grade_worst`` are the extremes seen.

    Reference: NYC Department of Education Progress Reports (2007-2013); Jacobs & Goddard
    (2007) Public Money & Management 27:103.

    Parameters:
        frame: wide (``key`` + one column per measure) or a long values frame / Dataset
            whose indicator ids are the measures (latest period, or ``period``).
        domains: domain -> measure column(s) or indicator id(s). Default: each measure named in
            ``weights`` (or every numeric column) is its own domain.
        weights: domain -> weight (any positive scale). Default: the sector's, else equal.
        cutpoints: {"A": min, "B": min, "C": min, "D": min}. Default: the sector's.
        sector: ``"schools"`` for the NYC defaults; others get equal weights and quintiles.
        key: unit column.
        peer_group: column naming each unit's peer group (e.g. school type, comparator group).
        peer_weight: weight of the peer-group score when ``peer_group`` is given.
        scoring: ``"percentile"`` or ``"zscore"``.
        relative: grade on the overall score's percentile (True) or the score itself.
        extra_credit: the domain that earns extra credit (not weighted).
        extra_credit_max: most points extra credit can add.
        polarity: measure -> polarity, overriding the indicators'; or one polarity string for
            every measure without an indicator definition (wide score columns). Measures with
            no direction, ``no_judgement`` ones and context indicators are not graded.
        indicators: Indicator definitions (polarity and role of indicator-id measures).
        period: the period to grade in a long frame.
        n_sims, jitter, seed: the stability check (``n_sims=0`` skips it).

    Returns one row per unit and group: ``key``, the group keys present (comparable_set,
    sex, age, category_type, category; units are graded only against their own group), the
    peer group, one ``score_<domain>`` per domain, ``extra_credit``, ``score`` (overall),
    ``grade`` (Enum A-F), ``p_grade_change``, ``grade_best``, ``grade_worst``.

    Raises ``DataError`` when no measure with a direction is left to grade; measures left
    out are named in a :class:`NotGradedWarning`.

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "safety": [1.0, 2, 3, 4],
    ...                    "waiting": [40.0, 30, 20, 10]})
    >>> rc = report_cards(df, polarity={"safety": "higher_is_better", "waiting": "lower_is_better"}, n_sims=0)
    >>> rc["grade"].to_list()
    ['F', 'D', 'B', 'A']
    """
    if not isinstance(frame, pl.DataFrame) and hasattr(frame, "values") and hasattr(frame, "indicators"):
        indicators = {**dict(frame.indicators), **dict(indicators or {})}
        frame = frame.values
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError("report_cards needs a Polars DataFrame or a Dataset.\nFix: pass dataset.values or a frame.")
    indicators = dict(indicators or {})
    defaults = SECTOR_DEFAULTS.get(sector or "default", SECTOR_DEFAULTS["default"])
    weights = dict(weights) if weights is not None else (dict(defaults["weights"]) if defaults["weights"] else None)
    cutpoints = dict(cutpoints) if cutpoints is not None else dict(defaults["cutpoints"])
    relative = defaults["relative"] if relative is None else relative
    if extra_credit is None and extra_credit_max is None:
        extra_credit = defaults["extra_credit"]
    extra_credit_max = defaults["extra_credit_max"] if extra_credit_max is None else extra_credit_max
    if peer_weight is None:
        peer_weight = defaults["peer_weight"] if peer_group else 1.0
    if scoring not in ("percentile", "zscore"):
        raise DataError(f"scoring must be 'percentile' or 'zscore', not {scoring!r}.\nFix: choose one.")
    if not 0 <= jitter < 1:
        raise DataError(f"jitter must lie in [0, 1), not {jitter!r}.\nFix: e.g. jitter=0.2 for +/-20%.")
    missing_grades = [g for g in GRADES[:-1] if g not in cutpoints]
    cuts = np.array([cutpoints.get(g, np.nan) for g in GRADES[:-1]], dtype=np.float64)
    if missing_grades or np.any(np.diff(cuts) > 0):
        raise DataError(
            f"cutpoints {cutpoints} must give a minimum for each of A, B, C, D, in descending order.\n"
            "Fix: e.g. {'A': 80, 'B': 60, 'C': 40, 'D': 20}."
        )
    groups_by = [c for c in present_keys(frame) if c not in (key, peer_group)]

    # domains and their measures
    if domains is None:
        if weights:
            domains = {d: [d] for d in weights if d != extra_credit}
        else:
            skip = {key, peer_group, "period", "period_start", "indicator_id", *GROUP_KEYS}
            if "indicator_id" in frame.columns:
                domains = {i: [i] for i in frame.get_column("indicator_id").unique(maintain_order=True).to_list()}
            else:
                domains = {c: [c] for c, t in frame.schema.items() if c not in skip and t.is_numeric()}
        if extra_credit and extra_credit not in domains and (
                extra_credit in frame.columns or
                ("indicator_id" in frame.columns and extra_credit in frame.get_column("indicator_id").to_list())):
            domains = {**domains, extra_credit: [extra_credit]}
    domains = {d: [m] if isinstance(m, str) else list(m) for d, m in domains.items()}

    # direction decides judgement: measures without one (and context indicators) are left out
    members = list(dict.fromkeys(m for ms in domains.values() for m in ms))
    pol, left_out = _directions(members, indicators, polarity, defaults.get("polarity") or {})
    if left_out:
        named = "; ".join(f"{indicators[m].title} ({m}): {why}" if m in indicators else f"{m}: {why}"
                          for m, why in left_out.items())
        if not any(m in pol for d, ms in domains.items() if d != extra_credit for m in ms):
            raise DataError(
                f"no measure with a direction is left to grade: {named}.\n"
                "Fix: grade indicators that are higher_is_better or lower_is_better; for measures without an "
                "indicator definition pass polarity={'<measure>': 'higher_is_better'} (or one direction for all, "
                "polarity='higher_is_better'). Context and no_judgement indicators are never graded."
            )
        warnings.warn(f"not graded: {named}. Report cards grade only indicators with a direction (higher or lower "
                      "is better).", NotGradedWarning, stacklevel=2)
        domains = {d: [m for m in ms if m in pol] for d, ms in domains.items()}
        domains = {d: ms for d, ms in domains.items() if ms}  # a domain of left-out measures goes, with its weight
    weighted = [d for d in domains if d != extra_credit]
    if not weighted:
        raise DataError("report_cards needs at least one weighted domain.\nFix: pass domains={...}.")
    if weights is None:
        weights = {d: 1.0 for d in weighted}
    unknown = [d for d in weighted if d not in weights]
    if unknown:
        raise DataError(
            f"no weight for domain(s) {unknown}; weights are {weights}.\n"
            "Fix: give every domain a weight (or leave weights=None for equal weights)."
        )
    w = np.array([float(weights[d]) for d in weighted])
    if np.any(~(w >= 0)) or w.sum() <= 0:
        raise DataError(f"weights {weights} must be non-negative and not all zero.\nFix: e.g. {{'a': 1, 'b': 2}}.")

    members = list(dict.fromkeys(m for ms in domains.values() for m in ms))
    options = {"key": key, "members": members, "domains": domains, "weighted": weighted, "w": w, "pol": pol,
               "period": period, "peer_group": peer_group, "peer_weight": peer_weight, "scoring": scoring,
               "relative": relative, "extra_credit": extra_credit, "extra_credit_max": extra_credit_max,
               "cuts": cuts, "n_sims": n_sims, "jitter": jitter, "seed": seed}
    # one report card per group (comparable set, sex, age, category): never graded across groups
    parts = []
    for part in ru.partitions(frame, groups_by):
        graded = _grade_group(part, **options)
        if groups_by:
            graded = graded.with_columns(
                *[pl.lit(part.get_column(c)[0], dtype=part.schema[c]).alias(c) for c in groups_by]
            ).select(key, *groups_by, pl.exclude(key, *groups_by))
        parts.append(graded)
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


def _grade_group(frame: pl.DataFrame, *, key, members, domains, weighted, w, pol, period, peer_group, peer_weight,
                 scoring, relative, extra_credit, extra_credit_max, cuts, n_sims, jitter, seed) -> pl.DataFrame:
    """Grades for the units of one group (see :func:`report_cards`)."""
    wide = _wide(frame, key, members, period)
    groups = None
    if peer_group is not None:
        source = wide if peer_group in wide.columns else frame.select(key, peer_group).unique(key, keep="first")
        if peer_group not in wide.columns:
            wide = wide.join(source, on=key, how="left")
        ru.require_columns(wide, [peer_group], "peer_group")
        groups = wide.get_column(peer_group).cast(pl.String).fill_null("(none)").to_numpy()

    raw = np.column_stack([ru.numeric(wide, m, allow_null=True) for m in members]).astype(np.float64)
    signs = np.array([-1.0 if pol[m] == "lower_is_better" else 1.0 for m in members])
    raw = raw * signs
    score_fn = _percentile_within if scoring == "percentile" else _zscore_within
    scored = score_fn(raw, groups)
    if groups is not None and peer_weight < 1:
        scored = peer_weight * scored + (1 - peer_weight) * score_fn(raw, None)
    col = {m: i for i, m in enumerate(members)}
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit with no measure in a domain
        dom = {d: np.nanmean(scored[:, [col[m] for m in ms]], axis=1) if scored.shape[0] else np.array([])
               for d, ms in domains.items()}
    d_mat = np.column_stack([dom[d] for d in weighted])  # units x domains

    def overall(wts: np.ndarray) -> np.ndarray:
        """Weighted mean over available domains; wts is (domains,) or (sims, domains)."""
        avail = np.isfinite(d_mat)
        filled = np.where(avail, d_mat, 0.0)
        num = filled @ wts.T
        den = avail.astype(np.float64) @ wts.T
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    if extra_credit and extra_credit in dom:
        ec_score = dom[extra_credit]
        centre = 50.0 if scoring == "percentile" else 0.0
        span = 50.0 if scoring == "percentile" else 2.0
        bonus = np.clip((ec_score - centre) / span, 0, 1) * extra_credit_max
        bonus = np.where(np.isfinite(bonus), bonus, 0.0)
    else:
        bonus = np.zeros(d_mat.shape[0])

    base = overall(w) + bonus
    graded = _relative(base) if relative else base
    grade_idx = _grade(graded, cuts)

    p_change = np.full(base.shape, np.nan)
    best = worst = np.full(base.shape, -1)
    if n_sims > 0 and d_mat.shape[0]:
        rng = np.random.default_rng(seed)
        factors = rng.uniform(1 - jitter, 1 + jitter, size=(n_sims, w.size))
        sims_w = w * factors
        sims_w = sims_w / sims_w.sum(axis=1, keepdims=True)
        sims = overall(sims_w).T + bonus  # sims x units
        sims = _relative(sims) if relative else sims
        g = _grade(sims, cuts)
        ok = grade_idx >= 0
        p_change = np.where(ok, (g != grade_idx).mean(axis=0), np.nan)
        best = np.where(ok, g.min(axis=0), -1)
        worst = np.where(ok, g.max(axis=0), -1)

    letters = np.array(GRADES)
    enum = pl.Enum(GRADES)

    def to_grade(idx: np.ndarray) -> pl.Series:
        return pl.Series(np.where(idx >= 0, letters[np.clip(idx, 0, 4)], None), dtype=enum)

    keep = [key] + ([peer_group] if peer_group else [])
    out = wide.select(keep).with_columns(
        *[pl.Series(f"score_{d}", dom[d]).fill_nan(None) for d in weighted],
        pl.Series("extra_credit", bonus),
        pl.Series("score", base).fill_nan(None),
        to_grade(grade_idx).alias("grade"),
        pl.Series("p_grade_change", p_change).fill_nan(None),
        to_grade(best).alias("grade_best"),
        to_grade(worst).alias("grade_worst"),
    )
    if out.height and out.get_column("score").null_count() == out.height:
        raise DataError(problem(key, "has no scores in any domain", rows=out.get_column(key).head(5).cast(str).to_list(),
                                total=out.height, fix="Check the domain measures exist and have values."))
    return out
