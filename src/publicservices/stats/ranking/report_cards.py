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
    >>> rc = build_report_cards(df, scheme=scheme, n_sims=200)
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
from publicservices.indicators import Indicator
from publicservices.keys import GROUP_KEYS, group_label, present_keys
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking.grading import GRADES, directions, grade_group, present
from publicservices.stats.ranking.report_card_gaps import closing_gap_spec, gap_note, gap_of
from publicservices.stats.ranking.report_card_schemes import DEFAULT_SCHEME, choose_scheme

__all__ = ["GRADES", "DEFAULT_SCHEME", "NotGradedWarning", "ReportCardNote", "build_report_cards"]


class ReportCardNote(UserWarning):
    """How a report card was made, to be stated with it: values derived from counts, a
    sector's default scheme, measures held fixed in the sampling-noise check."""


class NotGradedWarning(ReportCardNote):
    """Measures left out of report cards: no direction, or context indicators."""


def build_report_cards(
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
    closing_gap: Any = None,
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
    lies above the median (percentile 50 -> 0 points, 100 -> the maximum), and
    closing-the-gap credit: with ``closing_gap`` (or the scheme's), points only for units
    whose gap indicator narrowed significantly over the periods -- the 95% interval of its
    change, an inverse-variance weighted least-squares fit of the gap on time
    (:func:`publicservices.stats.gap_change`), entirely on the narrowing side -- scaled by
    the narrowing's z (:func:`publicservices.stats.gap_credit`). Grades: the
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
    * draws each unit's gap change from its normal (closing-the-gap credit can come and go);
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
        closing_gap: closing-the-gap credit: a gap indicator's id (5 points, scaled), a
            :class:`publicservices.ClosingGap`, or False for none. Default: the scheme's. It
            needs a long frame holding the indicator with intervals over two periods or more
            (up to ``period`` when given); areas that cannot be judged earn nothing, and a
            note counts them. With automatic domains the gap indicator is not also graded on
            its level.
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
    peer group, one ``score_<domain>`` per domain, ``extra_credit`` (level-based plus
    closing-the-gap points), with closing-the-gap credit ``gap_periods``, ``gap_change``,
    ``gap_change_lower``, ``gap_change_upper``, ``gap_status``, ``gap_reason``,
    ``gap_first_period``, ``gap_last_period``, ``gap_credit`` and ``gap_credited``; ``score`` (overall),
    ``grade`` (Enum A-F), ``p_grade_change``, ``p_grade_change_noise``,
    ``p_grade_change_weights``, ``grade_best``, ``grade_worst``.

    Raises ``DataError`` when no measure with a direction is left to grade; measures left
    out are named in a :class:`NotGradedWarning`.

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "safety": [1.0, 2, 3, 4],
    ...                    "waiting": [40.0, 30, 20, 10]})
    >>> rc = build_report_cards(df, polarity={"safety": "higher_is_better", "waiting": "lower_is_better"}, n_sims=0)
    >>> rc["grade"].to_list()
    ['F', 'D', 'B', 'A']
    """
    if not isinstance(frame, pl.DataFrame) and hasattr(frame, "values") and hasattr(frame, "indicators"):
        indicators = {**dict(frame.indicators), **dict(indicators or {})}
        frame = frame.values
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError("report_cards needs a Polars DataFrame or a Dataset.\nFix: pass dataset.values or a frame.")
    indicators = dict(indicators or {})
    auto_domains = domains is None
    defaults, domains, notes = choose_scheme(frame, sector, scheme, domains, weights, indicators)
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
    gap = closing_gap_spec(
        frame, closing_gap if closing_gap is not None else defaults.get("closing_gap"), indicators, polarity, defaults, period
    )
    if gap is not None and gap.get("note"):
        if closing_gap is not None or "indicator_id" in frame.columns:  # not for a scheme's wide domain scores
            notes.append(gap["note"])
        gap = None

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
    if auto_domains and extra_credit and extra_credit not in domains and present(frame, [extra_credit]):
        domains = {**domains, extra_credit: [extra_credit]}  # the level-based extra credit, as a domain
    if gap is not None and auto_domains and defaults is DEFAULT_SCHEME and isinstance(domains, Mapping):
        # the gap indicator earns closing-the-gap credit; it is not also graded on its level
        domains = {d: ms for d, ms in domains.items() if list([ms] if isinstance(ms, str) else ms) != [gap["indicator"]]}
    if not isinstance(domains, Mapping) or not all(
        isinstance(m, str) or (isinstance(m, Sequence) and all(isinstance(x, str) for x in m)) for m in domains.values()
    ):
        raise DataError(
            f"domains must map each domain to a measure name or a list of them, not {domains!r}.\n"
            "Fix: e.g. domains={'safety': ['crime_rate', 'confidence'], 'speed': 'waiting_days'}; "
            "cut-points go in cutpoints=."
        )
    domains = {d: [m] if isinstance(m, str) else list(m) for d, m in domains.items()}

    # direction decides judgement: measures without one (and context indicators) are left out
    members = list(dict.fromkeys(m for ms in domains.values() for m in ms))
    pol, left_out = directions(members, indicators, polarity, defaults.get("polarity") or {})
    if left_out:
        named = "; ".join(
            f"{indicators[m].title} ({m}): {why}" if m in indicators else f"{m}: {why}" for m, why in left_out.items()
        )
        if not any(m in pol for d, ms in domains.items() if d != extra_credit for m in ms):
            raise DataError(
                f"no measure with a direction is left to grade: {named}.\n"
                "Fix: grade indicators that are higher_is_better or lower_is_better; for measures without an "
                "indicator definition pass polarity={'<measure>': 'higher_is_better'} (or one direction for all, "
                "polarity='higher_is_better'). Context and no_judgement indicators are never graded."
            )
        warnings.warn(
            f"not graded: {named}. Report cards grade only indicators with a direction (higher or lower is better).",
            NotGradedWarning,
            stacklevel=2,
        )
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
    options = {
        "key": key,
        "members": members,
        "domains": domains,
        "weighted": weighted,
        "w": w,
        "pol": pol,
        "period": period,
        "peer_group": peer_group,
        "peer_weight": peer_weight,
        "scoring": scoring,
        "relative": relative,
        "extra_credit": extra_credit,
        "extra_credit_max": extra_credit_max,
        "cuts": cuts,
        "n_sims": n_sims,
        "jitter": jitter,
        "seed": seed,
        "indicators": indicators,
        "sampling_noise": sampling_noise,
        "level": level,
    }
    # one report card per group (comparable set, sex, age, category): never graded across groups
    parts = []
    derived: dict[str, list[Any]] = {}
    fixed: set[str] = set()
    noisy: set[str] = set()
    long = "indicator_id" in frame.columns and not set(members) & set(frame.columns)
    if long:
        held = set(frame.get_column("indicator_id").unique().to_list())
        absent = [m for m in members if m not in held]
        if absent:
            raise SchemaError(
                problem(
                    "indicator_id",
                    f"holds no rows of measure(s) {', '.join(map(repr, absent))} (report-card domains)",
                    fix=f"Name indicator ids the data hold in domains= (they hold {', '.join(sorted(map(str, held))[:8])}"
                    f"{' ...' if len(held) > 8 else ''}), or add those indicators' values.",
                )
            )
    for part in ru.partitions(frame, groups_by):
        if long and not part.filter(pl.col("indicator_id").is_in(members)).height:
            continue  # a group (comparable set, breakdown) holding none of the graded measures
        part_gap = None if gap is None else gap_of(part, gap, key)
        graded, info = grade_group(part, gap=part_gap, gap_award=None if gap is None else gap["award"], **options)
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
        how = "; ".join(
            f"{title(i)}: {n:,} x {mlt:g}"
            if mlt is not None
            else f"{title(i)}: {n:,} x 1 (no indicator definition, so no multiplier)"
            for i, (n, mlt) in derived.items()
        )
        notes.append(
            f"Values derived from the counts for {total:,} row{'s' if total != 1 else ''} with no published "
            f"value: numerator / denominator x the indicator's multiplier ({how})."
        )
    lacking = [
        f"{group_label(part.row(0, named=True), groups_by)}: {', '.join(empty)}"
        for part in parts
        if part.height and (empty := [d for d in weighted if part.get_column(f"score_{d}").null_count() == part.height])
    ]
    if groups_by and lacking:
        notes.append(
            "Graded without a domain their data lack, on the other domains' weights renormalised: " + "; ".join(lacking) + "."
        )
    if gap is not None:
        notes.append(gap_note(pl.concat(parts, how="diagonal_relaxed"), gap))
    fixed -= noisy
    if sampling_noise and n_sims > 0 and noisy and fixed:
        notes.append(
            "Sampling noise: no intervals or counts with a known sampling distribution for "
            f"{', '.join(title(i) for i in sorted(fixed))}; their values are held fixed in the stability check."
        )
    for note in notes:
        warnings.warn(note, ReportCardNote, stacklevel=2)
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
