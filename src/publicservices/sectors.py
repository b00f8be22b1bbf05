"""Sectors: what a plugin declares about its sector, so that the core names none.

A :class:`Sector` tells the core everything it needs about a sector beyond its indicators:

* ``id``: the first part of the sector's indicator ids (``schools`` for ``schools.attainment8``);
* ``title``: the name pages and menus show (``Schools``);
* ``spend_services``: the spend service lines published for the sector, in the publisher's
  words (MHCLG's ``Education services``), which spend readers rename to the sector's id;
* ``report_card``: a :class:`ReportCardScheme`, the domains, weights, cut-points and extra
  credit its report cards are graded on -- including :class:`ClosingGap` credit for a gap
  that narrowed significantly over time (``None``: each indicator its own domain, equal
  weights, quintile grades, said in a note);
* ``demo``: a :class:`DemoSpend`, the sector's spend in the synthetic demo nation (``None``:
  generic figures).

Plugins register sectors through the ``publicservices_sectors`` hook
(:mod:`publicservices.hookspecs`); :func:`publicservices.registered_sectors` lists them. A
sector whose indicators are registered but which nobody declares still works: it is titled
with its id humanised (and a note says so), has no spend lines, gets the default report-card
scheme and generic demo spend.

Everything here is metadata, checked when it is made: an invalid declaration raises a
:class:`~publicservices.errors.PluginError` listing every problem and the fix, so a plugin
that makes one is disabled with the reason.

Example:
    >>> transport = Sector(
    ...     id="transport", title="Transport", spend_services=("Highways and transport services",),
    ...     report_card=ReportCardScheme(
    ...         domains={"roads": ["transport.principal_roads_poor", "transport.killed_seriously_injured"],
    ...                  "buses": "transport.bus_punctuality"},
    ...         weights={"roads": 2, "buses": 1}),
    ...     demo=DemoSpend(per_head=95.0, need=0.05, growth=0.01, sd=0.15))
    >>> transport.title, transport.spend_services, transport.report_card.domains["buses"]
    ('Transport', ('Highways and transport services',), ('transport.bus_punctuality',))
    >>> Sector(id="Transport", title="")
    Traceback (most recent call last):
    ...
    publicservices.errors.PluginError: invalid sector 'Transport':
      - id 'Transport' must be lower-case letters, digits and '_', starting with a letter...
      - title must be a non-empty string, such as 'Transport' (pages and menus show it)
    Fix: correct the Sector(...) declaration in the plugin.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from publicservices.errors import PluginError
from publicservices.indicators import POLARITIES

__all__ = [
    "Sector",
    "ReportCardScheme",
    "ClosingGap",
    "DemoSpend",
    "GRADE_CUTS",
    "DEFAULT_CUTPOINTS",
    "SECTOR_ID_PATTERN",
    "humanise",
    "sector_title",
]

#: A sector id: what an indicator id has before its dot (see ``publicservices.indicators.ID_PATTERN``).
SECTOR_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_ID_LENGTH = 50
#: The grades that have a minimum score (below D is F).
GRADE_CUTS: tuple[str, ...] = ("A", "B", "C", "D")
#: Quintile grades: with ``relative=True``, the top fifth of areas is A ... the bottom fifth F.
DEFAULT_CUTPOINTS: Mapping[str, float] = MappingProxyType({"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0})
#: How closing-the-gap credit is awarded (see :class:`ClosingGap`).
CLOSING_GAP_AWARDS: tuple[str, ...] = ("scaled", "fixed")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _raise(header: str, errors: list[str], declaration: str) -> None:
    """One error listing every problem (what and where), then the fix."""
    if errors:
        raise PluginError(
            f"{header}:\n"
            + "\n".join(f"  - {e}" for e in errors)
            + f"\nFix: correct the {declaration}(...) declaration in the plugin."
        )


@dataclasses.dataclass(frozen=True)
class ClosingGap:
    """Extra credit for closing a gap: points for a statistically significant narrowing over time.

    New York City's Progress Reports gave "additional credit" for the progress of high-need
    groups; here an area earns it when its gap for a disadvantaged group (a gap indicator,
    such as the KS2 disadvantage gap index or a slope index of inequality) narrowed over its
    periods beyond chance: the ``level`` interval of the change, from an inverse-variance
    weighted least-squares fit of the gap on time (:func:`publicservices.stats.gap_change`),
    lies entirely on the narrowing side. The indicator's polarity says which side that is.

    Parameters:
        indicator: the gap indicator's id (its values need intervals, over two periods or more).
        points: the most points the credit adds to the overall score (not weighted).
        award: ``"scaled"`` -- points x min(1, z / (2 x 1.96)) for a narrowing z standard
            errors from no change (half the points when just significant, all from z = 3.92)
            -- or ``"fixed"``: all the points for any significant narrowing.
        level: confidence level of the interval of the change (0.95).
        min_periods: the fewest periods with a value and an interval an area needs to be
            judged; fewer is "cannot judge", which earns nothing.
        window: judge the latest ``window`` periods only (None: every period in the data).

    Example:
        >>> ClosingGap("schools.disadvantage_gap", points=5).award
        'scaled'
        >>> ClosingGap("", points=-1)
        Traceback (most recent call last):
        ...
        publicservices.errors.PluginError: invalid closing-the-gap credit:
          - indicator must be the id of a gap indicator, such as 'schools.disadvantage_gap', not ''
          - points -1 must be a positive number of points (the most the credit adds)
        Fix: correct the ClosingGap(...) declaration in the plugin.
    """

    indicator: str
    points: float = 5.0
    award: str = "scaled"
    level: float = 0.95
    min_periods: int = 2
    window: int | None = None

    def __post_init__(self) -> None:
        errors = []
        if not isinstance(self.indicator, str) or not self.indicator.strip():
            errors.append(
                f"indicator must be the id of a gap indicator, such as 'schools.disadvantage_gap', not {self.indicator!r}"
            )
        if not _number(self.points) or self.points <= 0:
            errors.append(f"points {self.points!r} must be a positive number of points (the most the credit adds)")
        if self.award not in CLOSING_GAP_AWARDS:
            errors.append(f"award {self.award!r} must be one of {', '.join(map(repr, CLOSING_GAP_AWARDS))}")
        if not _number(self.level) or not 0.5 <= self.level < 1:
            errors.append(f"level {self.level!r} must be a confidence level between 0.5 and 1, such as 0.95")
        whole = isinstance(self.min_periods, int) and not isinstance(self.min_periods, bool)
        if not whole or self.min_periods < 2:
            errors.append(f"min_periods {self.min_periods!r} must be a whole number, 2 or more (a change needs two periods)")
        if self.window is not None and (
            isinstance(self.window, bool) or not isinstance(self.window, int) or (whole and self.window < self.min_periods)
        ):
            errors.append(f"window {self.window!r} must be None or a whole number of periods, at least min_periods")
        _raise("invalid closing-the-gap credit", errors, "ClosingGap")
        object.__setattr__(self, "points", float(self.points))
        object.__setattr__(self, "level", float(self.level))


@dataclasses.dataclass(frozen=True)
class ReportCardScheme:
    """How a sector's report cards are graded: domains of measures, weights, cut-points, extra credit.

    Method (:func:`publicservices.stats.build_report_cards`): each measure is scored
    as a percentile among the areas (a mix of the peer group's and everyone's with a peer
    group), a domain's score is the mean of its measures' scores, the overall score is the
    weighted mean of the domains, plus extra credit; grades cut the overall score (or, with
    ``relative``, its percentile) at the ``cutpoints``. Data holding only some of the
    domains' measures are graded on those (a domain with none is left out and the weights
    of the rest renormalised, said in a note).

    Parameters:
        domains: domain -> the measures it averages: indicator ids (in a values frame) or
            column names (in a wide frame); one name or a sequence of them.
        weights: domain -> weight (any positive scale) for every domain except
            ``extra_credit``; ``None`` weights them equally.
        cutpoints: the minimum score of grades A, B, C and D, descending (below D is F).
            Default: quintiles, 80/60/40/20.
        relative: cut the overall score's percentile among all areas (True) or the score itself.
        extra_credit: a domain that is not weighted but earns up to ``extra_credit_max``
            points, in proportion to how far its score lies above the median (its *level*);
            it is used only when the data hold its measures.
        extra_credit_max: the most points extra credit can add.
        closing_gap: a :class:`ClosingGap` (or a gap indicator's id, for its defaults):
            extra credit for a statistically significant narrowing of that gap over time.
        peer_weight: weight of the peer-group score when a peer group is given (the rest
            is the score among all areas).
        polarity: measure -> ``higher_is_better`` or ``lower_is_better`` for measures with no
            indicator definition (wide score columns); indicators carry their own.
        reference: where the scheme comes from, for the notes and the documentation.

    The mappings are stored read-only and measures as tuples.

    Example:
        >>> scheme = ReportCardScheme(domains={"safety": ["policing.crime", "policing.confidence"],
        ...                                    "speed": "policing.calls_999"},
        ...                           weights={"safety": 3, "speed": 1})
        >>> dict(scheme.domains), scheme.weighted_domains
        ({'safety': ('policing.crime', 'policing.confidence'), 'speed': ('policing.calls_999',)}, ('safety', 'speed'))
        >>> ReportCardScheme(domains={"safety": "x"}, weights={"speed": 1})
        Traceback (most recent call last):
        ...
        publicservices.errors.PluginError: invalid report-card scheme (domains 'safety'):
          - no weight for domain(s) 'safety'; weights name 'speed', which is not a domain
        Fix: correct the ReportCardScheme(...) declaration in the plugin.
    """

    domains: Mapping[str, tuple[str, ...]]
    weights: Mapping[str, float] | None = None
    cutpoints: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_CUTPOINTS))
    relative: bool = True
    extra_credit: str | None = None
    extra_credit_max: float = 0.0
    peer_weight: float = 1.0
    polarity: Mapping[str, str] = dataclasses.field(default_factory=dict)
    reference: str = ""
    closing_gap: ClosingGap | str | None = None

    def __post_init__(self) -> None:
        errors: list[str] = []
        domains: dict[str, tuple[str, ...]] = {}
        closing_gap = self.closing_gap
        if isinstance(closing_gap, str):
            try:
                closing_gap = ClosingGap(closing_gap)
            except PluginError as e:
                errors.append(str(e).splitlines()[1].strip(" -"))
                closing_gap = None
        elif closing_gap is not None and not isinstance(closing_gap, ClosingGap):
            errors.append(
                f"closing_gap must be a ClosingGap, a gap indicator's id or None, not {type(closing_gap).__name__} "
                "(e.g. closing_gap=ClosingGap('schools.disadvantage_gap', points=5))"
            )
            closing_gap = None
        if not isinstance(self.domains, Mapping) or not self.domains:
            errors.append(
                f"domains must map each domain to a measure name or a list of them, not {self.domains!r} "
                "(e.g. domains={'safety': ['policing.crime', 'policing.confidence'], 'speed': 'policing.calls_999'})"
            )
        else:
            for domain, measures in self.domains.items():
                if isinstance(measures, str):
                    measures = (measures,)
                if not isinstance(domain, str) or not domain.strip():
                    errors.append(f"domain name {domain!r} must be a non-empty string")
                elif (
                    not isinstance(measures, Sequence)
                    or not measures
                    or not all(isinstance(m, str) and m.strip() for m in measures)
                ):
                    errors.append(f"domain {domain!r} must name its measures (indicator ids or columns), not {measures!r}")
                else:
                    domains[domain] = tuple(dict.fromkeys(measures))
        if self.extra_credit is not None and self.extra_credit not in domains:
            errors.append(f"extra_credit {self.extra_credit!r} must be one of the domains ({', '.join(map(repr, domains))})")
        weighted = [d for d in domains if d != self.extra_credit]
        if domains and not weighted:
            errors.append("at least one domain must be weighted (the extra-credit domain is not)")
        weights: dict[str, float] | None = None
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                errors.append(f"weights must map each domain to a number, not {self.weights!r}")
            else:
                bad = [f"{d!r}: {w!r}" for d, w in self.weights.items() if not _number(w) or w < 0]
                missing = [d for d in weighted if d not in self.weights]
                unknown = [d for d in self.weights if d not in weighted]
                if bad:
                    errors.append(f"weights must be non-negative numbers ({', '.join(bad)})")
                if missing or unknown:
                    parts = []
                    if missing:
                        parts.append(f"no weight for domain(s) {', '.join(map(repr, missing))}")
                    if unknown:
                        parts.append(
                            f"weights name {', '.join(map(repr, unknown))}, which "
                            f"{'is' if len(unknown) == 1 else 'are'} not "
                            + ("a weighted domain" if self.extra_credit in unknown else "a domain")
                        )
                    errors.append("; ".join(parts))
                if not bad and not missing and not unknown:
                    weights = {d: float(self.weights[d]) for d in weighted}
                    if sum(weights.values()) <= 0:
                        errors.append("weights must not all be zero")
        cutpoints = self.cutpoints
        if (
            not isinstance(cutpoints, Mapping)
            or set(cutpoints) != set(GRADE_CUTS)
            or not all(_number(cutpoints[g]) for g in GRADE_CUTS)
            or any(cutpoints[a] < cutpoints[b] for a, b in zip(GRADE_CUTS, GRADE_CUTS[1:], strict=False))
        ):
            errors.append(
                f"cutpoints {cutpoints!r} must give the minimum score of each of A, B, C and D, in descending "
                "order (e.g. {'A': 80, 'B': 60, 'C': 40, 'D': 20})"
            )
        if not isinstance(self.relative, bool):
            errors.append(f"relative must be True or False, not {self.relative!r}")
        if not _number(self.extra_credit_max) or self.extra_credit_max < 0:
            errors.append(f"extra_credit_max {self.extra_credit_max!r} must be a number of points, 0 or more")
        elif self.extra_credit is not None and self.extra_credit_max == 0:
            errors.append(
                f"extra_credit {self.extra_credit!r} earns nothing with extra_credit_max=0 (give the most points it can add)"
            )
        if not _number(self.peer_weight) or not 0 <= self.peer_weight <= 1:
            errors.append(f"peer_weight {self.peer_weight!r} must lie between 0 and 1")
        if not isinstance(self.polarity, Mapping):
            errors.append(f"polarity must map measures to a direction, not {self.polarity!r}")
        else:
            wrong = {m: p for m, p in self.polarity.items() if p not in POLARITIES}
            if wrong:
                errors.append(f"polarity {wrong!r}: each direction must be one of {', '.join(POLARITIES)}")
        if not isinstance(self.reference, str):
            errors.append(f"reference must be text, not {self.reference!r}")
        _raise(f"invalid report-card scheme (domains {', '.join(map(repr, domains)) or 'none'})", errors, "ReportCardScheme")
        object.__setattr__(self, "domains", MappingProxyType(domains))
        object.__setattr__(self, "weights", None if weights is None else MappingProxyType(weights))
        object.__setattr__(self, "cutpoints", MappingProxyType({g: float(cutpoints[g]) for g in GRADE_CUTS}))
        object.__setattr__(self, "extra_credit_max", float(self.extra_credit_max))
        object.__setattr__(self, "peer_weight", float(self.peer_weight))
        object.__setattr__(self, "polarity", MappingProxyType(dict(self.polarity)))
        object.__setattr__(self, "closing_gap", closing_gap)

    def __hash__(self) -> int:
        return hash(
            (
                tuple(self.domains.items()),
                None if self.weights is None else tuple(self.weights.items()),
                tuple(self.cutpoints.items()),
                self.relative,
                self.extra_credit,
                self.extra_credit_max,
                self.peer_weight,
                tuple(self.polarity.items()),
                self.reference,
                self.closing_gap,
            )
        )

    @property
    def weighted_domains(self) -> tuple[str, ...]:
        """The domains that carry a weight (all but the extra-credit one), in order."""
        return tuple(d for d in self.domains if d != self.extra_credit)

    @property
    def measures(self) -> tuple[str, ...]:
        """Every measure of every domain, once each, in order."""
        return tuple(dict.fromkeys(m for ms in self.domains.values() for m in ms))


@dataclasses.dataclass(frozen=True)
class DemoSpend:
    """A sector's spend in the synthetic demo nation (see :mod:`publicservices.synthetic`).

    Spend per head of area *a* in year *t* (years since 2014/15) is::

        per_head * exp(need * z_a + c_a + growth * t + w[a,t]),  c_a ~ N(0, sd^2),  w ~ N(0, 0.03^2)

    with ``z_a`` the area's standardised deprivation score.

    Parameters:
        per_head: pounds per head in 2014/15 in an area of average deprivation.
        need: change in log spend per standard deviation of deprivation (spend follows need).
        growth: growth of log spend per year.
        sd: standard deviation of each area's own spending choice, on the log scale.

    Example:
        >>> DemoSpend(per_head=230.0, need=0.15, growth=0.005, sd=0.14).per_head
        230.0
    """

    per_head: float
    need: float = 0.10
    growth: float = 0.02
    sd: float = 0.10

    def __post_init__(self) -> None:
        errors = []
        if not _number(self.per_head) or not self.per_head > 0:
            errors.append(f"per_head {self.per_head!r} must be a positive number of pounds per head")
        for name in ("need", "growth"):
            value = getattr(self, name)
            if not _number(value) or abs(value) > 5:
                errors.append(f"{name} {value!r} must be a number on the log scale, between -5 and 5")
        if not _number(self.sd) or not 0 <= self.sd <= 5:
            errors.append(f"sd {self.sd!r} must be a standard deviation on the log scale, between 0 and 5")
        _raise("invalid demo spend", errors, "DemoSpend")
        for name in ("per_head", "need", "growth", "sd"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclasses.dataclass(frozen=True)
class Sector:
    """One sector, as its plugin declares it (see the module docstring).

    Parameters:
        id: lower-case letters, digits and ``_``: the part of the sector's indicator ids
            before the dot, and the name of its spend service.
        title: the name pages and menus show, e.g. ``"Policing"``.
        spend_services: the spend service lines published for this sector, as the
            publisher words them (MHCLG Revenue Outturn ``"Police services"``); spend
            readers rename them to ``id``. One name or a sequence.
        report_card: how its report cards are graded; ``None`` for the default (each
            indicator its own domain, equal weights, quintile grades).
        demo: its spend in the demo nation; ``None`` for generic figures.
    """

    id: str
    title: str
    spend_services: tuple[str, ...] = ()
    report_card: ReportCardScheme | None = None
    demo: DemoSpend | None = None

    def __post_init__(self) -> None:
        errors = []
        if not isinstance(self.id, str) or not SECTOR_ID_PATTERN.match(self.id) or len(self.id) > _MAX_ID_LENGTH:
            errors.append(
                f"id {self.id!r} must be lower-case letters, digits and '_', starting with a letter, at most "
                f"{_MAX_ID_LENGTH} characters (it starts the sector's indicator ids and is used as a file name)"
            )
        if not isinstance(self.title, str) or not self.title.strip():
            errors.append(f"title must be a non-empty string, such as {humanise(str(self.id))!r} (pages and menus show it)")
        services = self.spend_services
        if isinstance(services, str):
            services = (services,)
        if not isinstance(services, Sequence) or not all(isinstance(s, str) and s.strip() for s in services):
            errors.append(
                f"spend_services must be the service lines' names, e.g. ('Police services',), not {self.spend_services!r}"
            )
        else:
            repeated = sorted({s for s in services if services.count(s) > 1})
            if repeated:
                errors.append(f"spend_services names {', '.join(map(repr, repeated))} more than once")
        if self.report_card is not None and not isinstance(self.report_card, ReportCardScheme):
            errors.append(f"report_card must be a ReportCardScheme or None, not {type(self.report_card).__name__}")
        if self.demo is not None and not isinstance(self.demo, DemoSpend):
            errors.append(f"demo must be a DemoSpend or None, not {type(self.demo).__name__}")
        _raise(f"invalid sector {self.id!r}", errors, "Sector")
        object.__setattr__(self, "spend_services", tuple(services))
        object.__setattr__(self, "title", self.title.strip())


def humanise(sector_id: str) -> str:
    """A title made from a sector id, for a sector that declares none.

    >>> humanise("road_safety")
    'Road safety'
    """
    words = sector_id.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def sector_title(sector_id: str, sectors: Mapping[str, Sector]) -> str:
    """The title of a sector: its declaration's, or its id humanised when none declares it.

    Parameters:
        sector_id: the sector's id.
        sectors: the declared sectors by id (:func:`publicservices.registered_sectors` gives
            the installed plugins').

    >>> sector_title("road_safety", {})
    'Road safety'
    >>> sector_title("transport", {"transport": Sector(id="transport", title="Transport and roads")})
    'Transport and roads'
    """
    declared = sectors.get(sector_id)
    return declared.title if declared is not None else humanise(sector_id)
