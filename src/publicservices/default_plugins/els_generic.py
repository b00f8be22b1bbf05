"""Generic indicators for the ELS indicator names no plugin maps: their ids, measure, unit and role."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from publicservices.default_plugins.els_metadata import ElsMetadata

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Measure

__all__ = ["GENERIC_SECTOR", "CONTEXT_SECTOR", "els_indicator_id", "generic_indicator"]

GENERIC_SECTOR = "other"  # unmapped outcome indicators: other.<slug>
CONTEXT_SECTOR = "context"  # unmapped population and deprivation measures: context.<slug>
# Names or labels of measures that describe an area (its people, its deprivation), not an outcome.
_CONTEXT_WORDS = re.compile(r"\b(population|median age|deprivation|multiple deprivation|imd)\b", re.IGNORECASE)


def els_indicator_id(name: str, sector: str = GENERIC_SECTOR) -> str:
    """The generated id for an unmapped ELS indicator name (``other.<slug>``, or ``context.<slug>``).

    Example:
        >>> els_indicator_id("Business births")
        'other.business_births'
        >>> els_indicator_id("Population density", sector="context")
        'context.population_density'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:90] or "indicator"
    return f"{sector}.{slug if slug[0].isalpha() else 'x' + slug}"


def generic_indicator(name: str, measure: str | None, unit: str | None, source: str, metadata: ElsMetadata | None = None) -> Any:
    """A generic Indicator for an ELS indicator no plugin maps.

    The measure is guessed from the CSV's ``measure``/``unit`` text and, when a metadata
    sidecar entry is given, its unit and subtitle: percentages become proportions per 100
    (a percentage *change* a score); "per N" becomes a rate (a directly standardised rate
    when the text says standardised) per N; anything else a score. The sidecar also gives
    the title (its label), unit, decimal places, source and definition (subtitle, long
    description and caveats). Population and deprivation measures are context
    (``context.<slug>``, ``role="context"``); the rest are ``other.<slug>``. Polarity is
    ``no_judgement`` either way: nothing says which direction is better, and the definition
    says so.

    Example:
        >>> generic_indicator("Homicide Offences", "Homicide Offences (rate per million population)",
        ...                   "Rate per 1,000,000 population", "homicides.csv").multiplier
        1000000.0
        >>> births = generic_indicator("Business births", "Percentage", "%", "business-demography.csv",
        ...                            ElsMetadata(key="Business births", label="Business births", unit="%", decimals=1))
        >>> births.id, births.measure, births.decimals, births.polarity
        ('other.business_births', 'proportion', 1, 'no_judgement')
    """
    from publicservices.indicators import Indicator

    meta = metadata or ElsMetadata(key=name)
    text = " ".join(t for t in (measure, unit, meta.unit, meta.subtitle) if t).casefold()
    kind: Measure = "score"
    multiplier, shown_unit = 1.0, (meta.unit or unit or measure or "").strip()
    per = re.search(r"per\s+([\d,]*\d|million|thousand|hundred thousand)\b", text)
    change = re.search(r"\b(change|growth|increase|decrease|decline)\b", f"{text} {name} {meta.label or ''}".casefold())
    if ("percent" in text or "%" in text) and not change:
        kind, multiplier, shown_unit = "proportion", 100.0, "%"
    elif "percent" in text or "%" in text:  # a percentage change is not a share of anything
        shown_unit = "%"
    elif per and ("rate" in text or meta.unit):
        words = {"million": 1_000_000.0, "thousand": 1_000.0, "hundred thousand": 100_000.0}
        token = per.group(1)
        multiplier = words.get(token) or float(token.replace(",", "") or 1) or 1.0
        kind = "dsr" if "standardi" in text else "rate"
        shown_unit = f"per {multiplier:,.0f}"
    title = meta.label or name.strip() or "ELS indicator"
    context = bool(_CONTEXT_WORDS.search(name) or _CONTEXT_WORDS.search(meta.label or ""))
    parts = [meta.subtitle or f"{name.strip()}, as published in ONS Explore local statistics"]
    if measure and not meta.subtitle:
        parts[0] += f" (measure: {measure.strip()})"
    parts += [t for t in (meta.description, f"Caveats: {meta.caveats}" if meta.caveats else None) if t]
    if context:
        parts.append(
            "Context, not compared: it describes the area (its population or deprivation) and is used to "
            "explain outcomes, not judged better or worse."
        )
    else:
        parts.append(
            "Direction unknown: no installed plugin says whether higher is better, so areas are compared as "
            "higher or lower, never better or worse."
        )
    definition = " ".join(p.rstrip(".") + "." for p in parts)
    sector = CONTEXT_SECTOR if context else GENERIC_SECTOR
    origin = (
        f"{meta.source}, via ONS Explore local statistics ({source})"
        if meta.source
        else f"ONS Explore local statistics ({source})"
    )
    return Indicator(
        id=els_indicator_id(name, sector),
        title=title,
        sector=sector,
        measure=kind,
        multiplier=multiplier,
        polarity="no_judgement",
        unit=shown_unit,
        source=origin,
        definition=definition,
        role="context" if context else "outcome",
        decimals=meta.decimals,
    )
