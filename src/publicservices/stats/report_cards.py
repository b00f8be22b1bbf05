"""Report cards: letter grades A-F from weighted domains, with a grade-stability check.

Each measure is scored within a peer group (percentile rank, or a standardised score), the
measures of a domain are averaged, the domains are combined with weights, optional extra
credit is added, and the overall score is cut into grades. A Monte Carlo check then asks
how much each grade owes to chance and to choice: it draws every value from its sampling
distribution (a normal with the standard error of its 95% interval, or a binomial or Poisson
draw from its counts), moves every weight by up to +/-20% (uniform, renormalised), re-grades,
and reports how often each area's grade changes -- from sampling noise, from the weights,
and from both together. A grade that flips under noise or modest changes of weighting says
more about chance or the weights than about the service.

The scheme -- domains, weights, cut-points, extra credit -- is the sector's, declared by its
plugin (``Sector.report_card``, a :class:`publicservices.sectors.ReportCardScheme`) and
passed in as ``scheme=`` (:func:`publicservices.grade_areas` looks it up from ``sector=``;
this module knows no sector). The schools plugin's scheme follows New York City's Progress
Reports (NYC Department of Education, 2007-2013): school environment 15%, student
performance 25%, student progress 60%, each measure judged mostly against a peer group of
similar schools (75%) and partly against the whole city (25%), and additional credit for
exemplary progress of high-need groups (closing the gap). A sector without a scheme -- or
data without its scheme's domains -- gets the built-in default: one domain per indicator of
the sector, equal weights, quintile grades, stated in a :class:`ReportCardNote`.

Reference: NYC Department of Education, *Progress Report Educator Guide* (2007-08 onwards);
Rockoff J, Turner LJ (2010) Short-run impacts of accountability on school quality. AEJ:
Economic Policy 2(4):119-147 (describes the grade formula); Hazen A (1914) Storage to be
provided in impounding reservoirs for municipal water supply. Trans ASCE 77:1539-1669
(the plotting position (rank - 1/2)/n used for percentiles); Jacobs R, Goddard M (2007) How
do performance indicators add up? An examination of composite indicators in public
services. Public Money & Management 27:103-110 (sensitivity of composite ranks to weights);
Spiegelhalter D et al. (2012) Statistical methods for healthcare regulation: rating,
screening and surveillance. JRSS A 175:1-47 (simulating ranks and ratings from the
sampling distributions of the indicators).

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
    >>> from publicservices.sectors import ReportCardScheme
    >>> df = pl.DataFrame({"area_code": list("ABCDE"), "environment": [1.0, 2, 3, 4, 5],
    ...                    "performance": [5.0, 4, 3, 2, 1], "progress": [1.0, 2, 3, 5, 4]})
    >>> scheme = ReportCardScheme(domains={d: d for d in ("environment", "performance", "progress")},
    ...                           weights={"environment": 15, "performance": 25, "progress": 60},
    ...                           cutpoints={"A": 75, "B": 40, "C": 10, "D": 3},
    ...                           polarity=dict.fromkeys(("environment", "performance", "progress"), "higher_is_better"))
    >>> rc = report_cards(df, scheme=scheme, n_sims=200)
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

__all__ = ["GRADES", "DEFAULT_SCHEME", "NotGradedWarning", "ReportCardNote", "report_cards"]

_JUDGED = ("higher_is_better", "lower_is_better")
# measures whose counts have a known sampling distribution: binomial for a proportion, Poisson
# for the count of a rate, a directly standardised rate (Dobson et al. 1991) or a ratio (Byar)
_BINOMIAL = ("proportion",)
_POISSON = ("rate", "dsr", "ratio")
# cells (draws x units x measures) simulated at once: bounds memory, keeps every step vectorised
_CHUNK_CELLS = 2_000_000


class ReportCardNote(UserWarning):
    """How a report card was made, to be stated with it: values derived from counts, a
    sector's default scheme, measures held fixed in the sampling-noise check."""


class NotGradedWarning(ReportCardNote):
    """Measures left out of report cards: no direction, or context indicators."""

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "F")

# The scheme of a sector that declares none. Minimum overall score for each grade but the
# last; with relative=True the overall score is first turned into a percentile among all
# units, so these are shares: quintiles.
DEFAULT_SCHEME: dict[str, Any] = {
    "weights": None,  # equal
    "cutpoints": {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0},
    "relative": True,
    "extra_credit": None,
    "extra_credit_max": 0.0,
    "peer_weight": 1.0,
    "polarity": {},  # directions come from the indicators or polarity=, never assumed
    "domains": None,  # each indicator its own domain
}
_SCHEME_FIELDS = ("domains", "weights", "cutpoints", "relative", "extra_credit", "extra_credit_max", "peer_weight", "polarity")


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


def _measures(frame: pl.DataFrame, key: str, members: Sequence[str], period: str | None,
              indicators: Mapping[str, Indicator], level: float) -> tuple[pl.DataFrame, dict[str, np.ndarray] | None, dict[str, Any]]:
    """(wide table, sampling-noise parameters, what was done) for the measures of one group.

    The wide table has ``key`` and one column per measure, from wide columns or from a long
    values frame (latest period of each indicator, or ``period``). From a long frame, a value
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
    if not (long_ids and set(members) <= long_ids):
        ru.require_columns(frame, [key, *members], "report-card measures (wide columns or indicator ids)")
        dup = frame.select(key).is_duplicated().to_numpy()
        ru.check(frame, key, dup, "is duplicated (a wide report-card frame needs one row per unit)",
                 "Filter to one period, or pass the long values frame with indicator ids.")
        return frame, None, info

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

    for name in ("value", "numerator", "denominator", "lower_ci", "upper_ci"):
        dtype = sub.schema.get(name)
        if dtype is not None and not (dtype.is_numeric() or dtype == pl.Null):
            raise SchemaError(problem(name, f"must be numeric, not {dtype}",
                                      fix=f"Cast {name!r} to Float64 (pl.col({name!r}).cast(pl.Float64)) after fixing "
                                          "any text in it, or drop the column."))

    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64) if name in sub.columns else pl.lit(None, dtype=pl.Float64)

    mult = pl.col("indicator_id").replace_strict({i: d.multiplier for i, d in indicators.items()}, default=None,
                                                 return_dtype=pl.Float64)
    measure = pl.col("indicator_id").replace_strict({i: d.measure for i, d in indicators.items()}, default=None,
                                                    return_dtype=pl.String)
    num, den, lower, upper = col("numerator"), col("denominator"), col("lower_ci"), col("upper_ci")
    counted = num.is_not_null() & den.is_not_null() & (den > 0)
    derive = col("value").fill_nan(None).is_null() & counted
    sub = sub.with_columns(
        pl.when(derive).then(num / den * mult.fill_null(1.0)).otherwise(col("value")).alias("value"),
        derive.alias("_derived"), measure.alias("_measure"), mult.alias("_mult"),
    )
    value_ok = pl.col("value").is_not_null() & pl.col("value").is_finite()
    has_ci = value_ok & lower.is_not_null() & upper.is_not_null()
    countable = value_ok & ~has_ci & counted & pl.col("_measure").is_in([*_BINOMIAL, *_POISSON])
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    sub = sub.with_columns(
        pl.when(has_ci).then((upper - lower) / (2 * z)).alias("_se"),
        pl.when(countable).then(num).alias("_count"),
        pl.when(countable & pl.col("_measure").is_in(list(_BINOMIAL))).then(den).alias("_trials"),
    )
    checks = sub.select(
        (pl.col("_se") < 0).fill_null(False).alias("width"),
        (pl.col("_count") < 0).fill_null(False).alias("negative"),
        (pl.col("_count") > pl.col("_trials")).fill_null(False).alias("over"),
    )
    ru.check(sub, "upper_ci", checks.get_column("width").to_numpy(), "is below lower_ci",
             "Swap the interval columns, or correct the rows: lower_ci <= value <= upper_ci.")
    ru.check(sub, "numerator", checks.get_column("negative").to_numpy(), "is negative",
             "Counts cannot be negative: correct the rows, or set them to null.")
    ru.check(sub, "numerator", checks.get_column("over").to_numpy(), "is above the denominator of a proportion",
             "Correct the counts, or declare the indicator's measure (a rate, not a proportion).")

    wide = sub.pivot(on="indicator_id", index=key, values="value")
    for m in members:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))

    # the sampling parameters, scattered into units x measures arrays (unit order of `wide`)
    cells = sub.join(wide.select(key).with_row_index("_u"), on=key, how="left").with_columns(
        pl.col("indicator_id").replace_strict({m: i for i, m in enumerate(members)}, return_dtype=pl.Int64).alias("_m"))
    u = cells.get_column("_u").to_numpy().astype(np.int64)
    m_idx = cells.get_column("_m").to_numpy()
    noise: dict[str, np.ndarray] = {}
    for name in ("_se", "_count", "_trials"):
        arr = np.full((wide.height, len(members)), np.nan)
        arr[u, m_idx] = cells.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        noise[name.lstrip("_")] = arr
    rows = cells.group_by("indicator_id").agg(
        pl.col("_derived").sum().alias("derived"), pl.col("_mult").first().alias("mult"),
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
    from scipy.stats import rankdata

    out = np.full(values.shape, np.nan)
    groups = np.zeros(values.shape[-2], dtype=np.int64) if groups is None else groups
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        sub = values[..., rows, :]
        ok = np.isfinite(sub)
        n = ok.sum(axis=-2, keepdims=True)
        r = rankdata(np.where(ok, sub, np.inf), axis=-2, method="average")
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
            out[..., rows, :] = np.where(sd > 0, (sub - mu) / np.where(sd > 0, sd, 1.0),
                                         np.where(np.isfinite(sub), 0.0, np.nan))
    return out


def _grade(score: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Grade index (0 = A) from scores and descending minimums; -1 where score is null.

    A cut-point is the *minimum* of its grade: a score exactly on the A cut is an A (the
    grade is the number of cut-points strictly above the score).
    """
    idx = (score[..., None] < cuts).sum(axis=-1)
    return np.where(np.isfinite(score), idx, -1)


def _relative(score: np.ndarray) -> np.ndarray:
    """Mid-rank percentile 100 x (rank - 1/2) / n (ties share their average rank) along the last axis."""
    from scipy.stats import rankdata

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
        ranks[tied] = rankdata(filled[tied], axis=-1, method="average")
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (ranks - 0.5) / n * 100
    out = np.where(ok, pct, np.nan)
    return out if score.ndim == 2 else out[0]


def _present(frame: pl.DataFrame, names: Sequence[str]) -> list[str]:
    """Which of ``names`` the frame holds, as wide columns or as indicator ids."""
    ids: set[str] = set()
    if "indicator_id" in frame.columns:
        ids = set(frame.get_column("indicator_id").unique().to_list())
    return [n for n in names if n in frame.columns or n in ids]


def _options(scheme: Any) -> dict[str, Any]:
    """A scheme (a :class:`publicservices.sectors.ReportCardScheme`, or any object with its
    attributes) as the options :func:`report_cards` fills its defaults from."""
    missing = [f for f in _SCHEME_FIELDS if not hasattr(scheme, f)]
    if missing:
        raise DataError(f"scheme must be a ReportCardScheme, not {type(scheme).__name__} (it has no {', '.join(missing)}).\n"
                        "Fix: pass scheme=ReportCardScheme(domains=..., weights=...) from publicservices.sectors, or the "
                        "sector's own (publicservices.registered_sectors()[sector].report_card).")
    return {
        "domains": {d: list(ms) for d, ms in scheme.domains.items()},
        "weights": dict(scheme.weights) if scheme.weights else None,
        "cutpoints": dict(scheme.cutpoints),
        "relative": scheme.relative,
        "extra_credit": scheme.extra_credit,
        "extra_credit_max": scheme.extra_credit_max,
        "peer_weight": scheme.peer_weight,
        "polarity": dict(scheme.polarity),
    }


def _scheme(frame: pl.DataFrame, sector: str | None, scheme: Any, domains: Any, weights: Any,
            indicators: Mapping[str, Indicator]) -> tuple[dict[str, Any], Any, list[str]]:
    """(defaults, domains, notes): the sector's scheme, or the built-in default.

    The ``scheme`` (the sector's, passed in) is used when the data hold any of its weighted
    domains' measures; its extra-credit domain only when the data hold that one's too.
    Without a scheme -- or with data holding none of its measures -- a ``sector`` gets the
    built-in default: each of the sector's indicators (those whose definition names the
    sector; ids without a definition stay, and are graded only with a direction) is its own
    domain, equally weighted, with quintile grades. Said in the notes.
    """
    default = DEFAULT_SCHEME
    options = None if scheme is None else _options(scheme)
    if options is None and sector is None:
        return default, domains, []
    if domains is not None or weights is not None:
        return options or default, domains, []
    label = f"the {sector} scheme's" if sector else "the scheme's"
    if options is not None:
        ec = options["extra_credit"]
        weighted = [d for d in options["domains"] if d != ec]
        if _present(frame, [m for d in weighted for m in options["domains"][d]]):
            # a partial scheme is an error later, naming what is missing
            chosen = {d: ms for d, ms in options["domains"].items() if d != ec or _present(frame, ms)}
            return options, chosen, []
        why = (f"{label} domains ({', '.join(weighted)}) are not in these data, so each "
               f"{sector + ' ' if sector else ''}indicator is its own domain")
    else:
        why = f"the {sector} sector declares no report-card scheme, so each of its indicators is its own domain"
    if "indicator_id" in frame.columns:
        ids = frame.get_column("indicator_id").unique(maintain_order=True).to_list()
        mine = [i for i in ids if sector is None or i not in indicators or indicators[i].sector == sector]
        if not mine:
            found = sorted({indicators[i].sector for i in ids if i in indicators})
            raise DataError(
                f"no indicator of sector {sector!r} in these data (sectors found: {', '.join(found) or 'none'}).\n"
                f"Fix: pass sector= one of {', '.join(found) or 'the sectors of your indicators'}, or domains={{...}}."
            )
        domains = {i: [i] for i in mine}
    note = (f"Equal weights: {why}, equally weighted; grades are quintiles of the overall score "
            f"(A top 20% ... F bottom 20%). Pass domains= and weights= to grade on another scheme.")
    return default, domains, [note]


def report_cards(
    frame: Any,
    domains: Mapping[str, Sequence[str] | str] | None = None,
    weights: Mapping[str, float] | None = None,
    cutpoints: Mapping[str, float] | None = None,
    *,
    sector: str | None = None,
    scheme: Any = None,
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
    sampling_noise: bool = True,
    level: float = 0.95,
    seed: int | None = 0,
) -> pl.DataFrame:
    """Letter grades A-F from weighted domains, and how stable each grade is to noise and weights.

    Method: every measure is scored within ``peer_group`` -- the mid-rank percentile
    100 x (rank - 1/2) / n (Hazen's plotting position; ties share their average rank) or,
    with ``scoring="zscore"``, the standardised score -- after turning lower-is-better
    measures round. With a peer group, a measure's score is ``peer_weight`` x peer score +
    (1 - peer_weight) x score among all units (NYC used 75% peer, 25% city). A domain's
    score is the mean of its measures; the overall score is the weighted mean of the domains
    available for the unit (weights renormalised), plus extra credit: up to
    ``extra_credit_max`` points in proportion to how far the ``extra_credit`` domain's score
    lies above the median (percentile 50 -> 0 points, 100 -> the maximum). Grades: the
    ``cutpoints`` are the minimum score for A, B, C and D (a score exactly on a cut-point
    earns that grade; below D is F), on the overall score or, with ``relative=True``, on its
    percentile 100 x (rank - 1/2) / n among all units.

    Grade stability (Monte Carlo, ``n_sims`` draws; Jacobs & Goddard 2007 for weights,
    Spiegelhalter et al. 2012 for sampling noise). Each draw

    * moves every domain weight by an independent Uniform(1 - ``jitter``, 1 + ``jitter``)
      factor and renormalises;
    * with ``sampling_noise`` and a long frame, draws every value from its sampling
      distribution: Normal(value, se) with se = (upper_ci - lower_ci) / (2 z) from the
      ``level`` interval; else, from the counts, value x X / E[X] with X ~
      Binomial(round(denominator), numerator / denominator) for a proportion or X ~
      Poisson(numerator) for a rate, dsr or ratio; values with neither stay fixed;
    * re-scores, re-ranks (relative cut-points are re-applied) and re-grades every unit.

    ``p_grade_change_weights`` is the share of draws whose grade differs from the point
    grade with the weights moved alone, ``p_grade_change_noise`` with the values drawn alone
    (null when the data carry no intervals or counts), and ``p_grade_change`` with both
    together (the weights alone when there is no noise to draw); ``grade_best`` /
    ``grade_worst`` are the extremes seen in the combined draws. The same draws are used for
    the three (common random numbers), so with one seed widening an area's interval, the
    others' held, never lowers its ``p_grade_change_noise``.

    Reference: NYC Department of Education Progress Reports (2007-2013); Hazen (1914);
    Jacobs & Goddard (2007) Public Money & Management 27:103; Spiegelhalter et al. (2012)
    JRSS A 175:1.

    Parameters:
        frame: wide (``key`` + one column per measure) or a long values frame / Dataset
            whose indicator ids are the measures (latest period, or ``period``). In a long
            frame a missing value with a numerator and denominator is derived, numerator /
            denominator x the indicator's multiplier (said in a :class:`ReportCardNote`).
        domains: domain -> measure column(s) or indicator id(s). Default: the ``scheme``'s;
            else each measure named in ``weights`` (or each indicator of ``sector``, or every
            indicator / numeric column) is its own domain.
        weights: domain -> weight (any positive scale). Default: the scheme's, else equal.
        cutpoints: {"A": min, "B": min, "C": min, "D": min}. Default: the scheme's, else quintiles.
        sector: grade this sector's indicators (the ids of other sectors are left out).
            Without a ``scheme`` -- or with data holding none of the scheme's domains -- each
            of them is its own domain, equal weights, quintile grades, said in a
            :class:`ReportCardNote`.
        scheme: the sector's :class:`publicservices.sectors.ReportCardScheme` (its domains,
            weights, cut-points, extra credit, peer weight and the directions of measures
            without an indicator definition); used when the data hold its domains.
            :func:`publicservices.grade_areas` passes the registered sector's.
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
        indicators: Indicator definitions (polarity, role, measure and multiplier of
            indicator-id measures).
        period: the period to grade in a long frame.
        n_sims, jitter, seed: the stability check (``n_sims=0`` skips it).
        sampling_noise: draw values from their intervals or counts in the stability check.
        level: the confidence level of ``lower_ci`` / ``upper_ci`` (0.95).

    Returns one row per unit and group: ``key``, the group keys present (comparable_set,
    sex, age, category_type, category; units are graded only against their own group), the
    peer group, one ``score_<domain>`` per domain, ``extra_credit``, ``score`` (overall),
    ``grade`` (Enum A-F), ``p_grade_change``, ``p_grade_change_noise``,
    ``p_grade_change_weights``, ``grade_best``, ``grade_worst``.

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
    defaults, domains, notes = _scheme(frame, sector, scheme, domains, weights, indicators)
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
    if not 0 < level < 1:
        raise DataError(f"level must lie in (0, 1), not {level!r}.\nFix: the confidence level of lower_ci/upper_ci, e.g. 0.95.")
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
        if extra_credit and extra_credit not in domains and _present(frame, [extra_credit]):
            domains = {**domains, extra_credit: [extra_credit]}
    if not isinstance(domains, Mapping) or not all(
            isinstance(m, str) or (isinstance(m, Sequence) and all(isinstance(x, str) for x in m))
            for m in domains.values()):
        raise DataError(f"domains must map each domain to a measure name or a list of them, not {domains!r}.\n"
                        "Fix: e.g. domains={'safety': ['crime_rate', 'confidence'], 'speed': 'waiting_days'}; "
                        "cut-points go in cutpoints=.")
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
               "cuts": cuts, "n_sims": n_sims, "jitter": jitter, "seed": seed, "indicators": indicators,
               "sampling_noise": sampling_noise, "level": level}
    # one report card per group (comparable set, sex, age, category): never graded across groups
    parts = []
    derived: dict[str, list[Any]] = {}
    fixed: set[str] = set()
    noisy: set[str] = set()
    for part in ru.partitions(frame, groups_by):
        graded, info = _grade_group(part, **options)
        for ind_id, (n, mlt) in info["derived"].items():
            derived.setdefault(ind_id, [0, mlt])[0] += n
        fixed |= info["fixed"]
        noisy |= info["noisy"]
        if groups_by:
            graded = graded.with_columns(
                *[pl.lit(part.get_column(c)[0], dtype=part.schema[c]).alias(c) for c in groups_by]
            ).select(key, *groups_by, pl.exclude(key, *groups_by))
        parts.append(graded)

    def title(i: str) -> str:
        return f"{indicators[i].title} ({i})" if i in indicators else i

    if derived:
        total = sum(n for n, _ in derived.values())
        how = "; ".join(f"{title(i)}: {n:,} x {mlt:g}" if mlt is not None else
                        f"{title(i)}: {n:,} x 1 (no indicator definition, so no multiplier)"
                        for i, (n, mlt) in derived.items())
        notes.append(f"Values derived from the counts for {total:,} row{'s' if total != 1 else ''} with no published "
                     f"value: numerator / denominator x the indicator's multiplier ({how}).")
    fixed -= noisy
    if sampling_noise and n_sims > 0 and noisy and fixed:
        notes.append("Sampling noise: no intervals or counts with a known sampling distribution for "
                     f"{', '.join(title(i) for i in sorted(fixed))}; their values are held fixed in the stability check.")
    for note in notes:
        warnings.warn(note, ReportCardNote, stacklevel=2)
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


def _grade_group(frame: pl.DataFrame, *, key, members, domains, weighted, w, pol, period, peer_group, peer_weight,
                 scoring, relative, extra_credit, extra_credit_max, cuts, n_sims, jitter, seed, indicators,
                 sampling_noise, level) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Grades for the units of one group, and what was done to the data (see :func:`report_cards`)."""
    wide, noise, info = _measures(frame, key, members, period, indicators, level)
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
        return _grade(_relative(total) if relative else total, cuts)

    dom = domain_scores(raw) if raw.shape[0] else {d: np.array([]) for d in domains}
    d_mat = np.column_stack([dom[d] for d in weighted]) if raw.shape[0] else np.empty((0, len(weighted)))
    bonus = bonus_of(dom, (raw.shape[0],))
    base = overall(d_mat, w) + bonus
    grade_idx = grades(base)

    units = raw.shape[0]
    p_change = p_weights = p_noise = np.full(units, np.nan)
    best = worst = np.full(units, -1)
    ok = grade_idx >= 0
    cells = {k: np.isfinite(v) & np.isfinite(raw) for k, v in (noise or {}).items()}
    has_noise = bool(sampling_noise and noise is not None and (cells["se"].any() or cells["count"].any()))
    if n_sims > 0 and units:
        rng = np.random.default_rng(seed)
        factors = rng.uniform(1 - jitter, 1 + jitter, size=(n_sims, w.size))
        sims_w = w * factors
        sims_w = sims_w / sims_w.sum(axis=1, keepdims=True)
        g_w = grades(overall(d_mat, sims_w) + bonus)  # sims x units: the weights moved alone
        p_weights = np.where(ok, (g_w != grade_idx).mean(axis=0), np.nan)
        if has_noise:
            draws = _Draws(raw, noise, cells, seed)
            changed_noise = np.zeros(units)
            changed_both = np.zeros(units)
            best, worst = np.full(units, len(cuts)), np.zeros(units, dtype=np.int64)
            step = max(1, _CHUNK_CELLS // max(1, raw.size))
            for start in range(0, n_sims, step):
                x = draws.take(min(step, n_sims - start))  # draws x units x measures
                dom_x = domain_scores(x)
                dm = np.stack([dom_x[d] for d in weighted], axis=-1)
                bx = bonus_of(dom_x, x.shape[:-1])
                g_n = grades(overall(dm, w) + bx)  # the values drawn alone
                g_b = grades(overall(dm, sims_w[start:start + x.shape[0]]) + bx)  # values and weights
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
        named = np.where(idx >= 0, letters[np.clip(idx, 0, 4)], None).tolist()
        return pl.Series(named, dtype=pl.String).cast(enum)

    keep = [key] + ([peer_group] if peer_group else [])
    out = wide.select(keep).with_columns(
        *[pl.Series(f"score_{d}", dom[d], dtype=pl.Float64).fill_nan(None) for d in weighted],
        pl.Series("extra_credit", bonus, dtype=pl.Float64),
        pl.Series("score", base, dtype=pl.Float64).fill_nan(None),
        to_grade(grade_idx).alias("grade"),
        pl.Series("p_grade_change", p_change, dtype=pl.Float64).fill_nan(None),
        pl.Series("p_grade_change_noise", p_noise, dtype=pl.Float64).fill_nan(None),
        pl.Series("p_grade_change_weights", p_weights, dtype=pl.Float64).fill_nan(None),
        to_grade(best).alias("grade_best"),
        to_grade(worst).alias("grade_worst"),
    )
    if out.height and out.get_column("score").null_count() == out.height:
        raise DataError(problem(key, "has no scores in any domain", rows=out.get_column(key).head(5).cast(str).to_list(),
                                total=out.height, fix="Check the domain measures exist and have values."))
    return out, info


class _Draws:
    """Values drawn from their sampling distributions, a block of draws at a time.

    Normal cells: value + se x Z. Count cells: value x X / E[X], X ~ Binomial(round(trials),
    count / trials) or Poisson(count); a zero count stays fixed (its distribution is a point).
    Other cells keep their value. Z is drawn for every cell, whatever its se, from its own
    stream, and the counts from another: the same seed gives the same Z whatever the widths,
    so widening one interval moves that value further along the same path.
    """

    def __init__(self, raw: np.ndarray, noise: Mapping[str, np.ndarray], cells: Mapping[str, np.ndarray],
                 seed: int | None) -> None:
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
