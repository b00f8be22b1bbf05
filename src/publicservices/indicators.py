"""Indicator definitions: metadata, never code.

An :class:`Indicator` says what a number means (a proportion per 100, a rate per 100,000 ...),
which direction is better, and any floor standard or target. The ``measure`` decides which
interval method the statistics use. Plugins register indicators; the core knows none by name.

An indicator's ``role`` says what it is for: an ``outcome`` is compared between areas (better or
worse where its polarity says which way is better, higher or lower where it does not); a
``context`` indicator (population, deprivation score, median pay ...) describes an area and is
used to explain or adjust outcomes, never published as a comparison of its own. A context
indicator is not judged, so its polarity must be ``no_judgement``.

Example:
    >>> ae = Indicator(
    ...     id="health.ae_4hr", title="A&E attendances seen within 4 hours", sector="health",
    ...     measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
    ...     floor=95.0, source="NHS England A&E statistics",
    ...     definition="Share of A&E attendances admitted, transferred or discharged within 4 hours.")
    >>> ae.sector, ae.is_count_based
    ('health', True)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from publicservices.errors import IndicatorError
from publicservices.record_definitions import RecordDefinition

__all__ = ["Indicator", "MEASURES", "POLARITIES", "ROLES", "ID_PATTERN"]

Measure = Literal["proportion", "rate", "mean", "dsr", "ratio", "score"]
Polarity = Literal["higher_is_better", "lower_is_better", "no_judgement"]
Role = Literal["outcome", "context"]

MEASURES: tuple[str, ...] = ("proportion", "rate", "mean", "dsr", "ratio", "score")
POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better", "no_judgement")
ROLES: tuple[str, ...] = ("outcome", "context")
# Lower-case `sector.name`: safe as a file name and a URL path segment on every platform.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_]*$")
_MAX_ID_LENGTH = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator's metadata.

    Parameters:
        id: ``sector.name``, lower case letters, digits and ``_``.
        title: short human title.
        sector: the sector, equal to the part of ``id`` before the dot.
        measure: ``proportion``, ``rate``, ``mean``, ``dsr``, ``ratio`` or ``score``.
        multiplier: scale of ``value`` relative to numerator/denominator (100 for %, 100000 ...).
        polarity: ``higher_is_better``, ``lower_is_better`` or ``no_judgement``.
        unit: unit shown beside values, e.g. ``"%"`` or ``"per 100,000"``.
        floor: minimum standard on the value scale, if policy sets one.
        target: aspiration on the value scale, if any.
        service: spend service (sector) this indicator relates to, for value for money.
        source: publisher and dataset.
        definition: what is counted, in a sentence or two.
        role: ``outcome`` (default: compared between areas) or ``context`` (describes an area,
            such as its population or deprivation score; used to explain outcomes and never
            published as a comparison; its polarity must be ``no_judgement``).
        decimals: decimal places the publisher shows values with, if it says (``None``: the
            display chooses).
        records: how the indicator is counted from record-level data, a
            :class:`~publicservices.record_definitions.RecordDefinition` (or its dict form), for
            :func:`publicservices.aggregate`; ``None`` when only aggregates are published.
    """

    id: str
    title: str
    sector: str
    measure: Measure
    multiplier: float = 1.0
    polarity: Polarity = "no_judgement"
    unit: str = ""
    floor: float | None = None
    target: float | None = None
    service: str | None = None
    source: str = ""
    definition: str = ""
    role: Role = "outcome"
    decimals: int | None = None
    records: RecordDefinition | None = None

    def __post_init__(self) -> None:
        if isinstance(self.records, Mapping):
            object.__setattr__(self, "records", RecordDefinition.from_dict(self.records))
        errors = _check(self)
        if errors:
            raise IndicatorError(f"invalid indicator {self.id!r}:\n" + "\n".join(f"  - {e}" for e in errors))
        if self.service is None:
            object.__setattr__(self, "service", self.sector)
        object.__setattr__(self, "multiplier", float(self.multiplier))

    @property
    def is_count_based(self) -> bool:
        """True when values are built from numerator and denominator counts."""
        return self.measure in ("proportion", "rate", "dsr", "ratio")

    @property
    def has_polarity(self) -> bool:
        return self.polarity != "no_judgement"

    @property
    def is_context(self) -> bool:
        """True for context (population, deprivation ...): used to explain outcomes, not compared."""
        return self.role == "context"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["records"] = None if self.records is None else self.records.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Indicator:
        """Build from a mapping, naming any unknown keys rather than ignoring them."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise IndicatorError(
                f"indicator definition {data.get('id')!r} has unknown field(s) {unknown}.\nFix: use only {sorted(fields)}."
            )
        return cls(**dict(data))


def _check(ind: Indicator) -> list[str]:
    errors = []
    if not isinstance(ind.id, str) or not ID_PATTERN.match(ind.id) or len(ind.id) > _MAX_ID_LENGTH:
        errors.append(
            f"id {ind.id!r} must look like 'sector.name': lower-case letters, digits and '_', "
            f"one dot, at most {_MAX_ID_LENGTH} characters (it is used as a file name)"
        )
    elif ind.id.split(".")[0] != ind.sector:
        errors.append(f"id {ind.id!r} must start with its sector {ind.sector!r} followed by a dot")
    if not isinstance(ind.title, str) or not ind.title.strip():
        errors.append("title must be a non-empty string")
    if ind.measure not in MEASURES:
        errors.append(f"measure {ind.measure!r} must be one of {', '.join(MEASURES)}")
    if ind.polarity not in POLARITIES:
        errors.append(f"polarity {ind.polarity!r} must be one of {', '.join(POLARITIES)}")
    if ind.role not in ROLES:
        errors.append(f"role {ind.role!r} must be one of {', '.join(ROLES)}")
    elif ind.role == "context" and ind.polarity != "no_judgement":
        errors.append(
            f"a context indicator is not judged better or worse: polarity {ind.polarity!r} must be 'no_judgement' "
            "(or make it an outcome)"
        )
    if ind.decimals is not None and (
        isinstance(ind.decimals, bool) or not isinstance(ind.decimals, int) or not 0 <= ind.decimals <= 10
    ):
        errors.append(f"decimals {ind.decimals!r} must be a whole number from 0 to 10, or None")
    if not isinstance(ind.multiplier, (int, float)) or isinstance(ind.multiplier, bool) or not ind.multiplier > 0:
        errors.append(f"multiplier {ind.multiplier!r} must be a positive number such as 1, 100 or 100000")
    for name in ("floor", "target"):
        v = getattr(ind, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v != v):
            errors.append(f"{name} {v!r} must be a number on the value scale, or None")
    if ind.measure == "proportion" and isinstance(ind.multiplier, (int, float)):
        for name in ("floor", "target"):
            v = getattr(ind, name)
            if isinstance(v, (int, float)) and not 0 <= v <= ind.multiplier:
                errors.append(f"{name} {v} must lie between 0 and the multiplier {ind.multiplier:g} for a proportion")
    errors += _check_records(ind)
    return errors


def _check_records(ind: Indicator) -> list[str]:
    rec = ind.records
    if rec is None:
        return []
    if not isinstance(rec, RecordDefinition):
        return [f"records {rec!r} must be a RecordDefinition (or its dict form), or None"]
    if ind.measure == "ratio":
        return ["records: a ratio (ISR/SMR) cannot be aggregated from records yet; aggregate observed counts instead"]
    if ind.measure in ("mean", "score") and rec.value_column is None:
        return [f"records: a {ind.measure} needs value_column= (the value averaged), not a numerator condition"]
    if ind.measure in ("proportion", "rate", "dsr") and rec.numerator is None:
        return [f"records: a {ind.measure} needs numerator= (a condition on the rows counted), not value_column"]
    if ind.measure == "dsr" and (rec.denominator != "population" or rec.bands is None):
        return ["records: a DSR needs denominator='population' and bands= (age bands and the standard population)"]
    if ind.measure != "dsr" and rec.bands is not None:
        return ["records: age bands are for a DSR (measure='dsr'); leave bands out"]
    if ind.measure == "proportion" and rec.denominator == "population":
        return ["records: a proportion counts its numerator among its records; use measure='rate' for a population"]
    return []
