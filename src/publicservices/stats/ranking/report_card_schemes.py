"""Report-card schemes: a sector's scheme, or the built-in default, fitted to the domains the data hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.stats.ranking.grading import present

__all__ = ["DEFAULT_SCHEME", "choose_scheme", "partial_note", "scheme_options"]

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
    "closing_gap": None,
}
_SCHEME_FIELDS = ("domains", "weights", "cutpoints", "relative", "extra_credit", "extra_credit_max", "peer_weight", "polarity")


def scheme_options(scheme: Any) -> dict[str, Any]:
    """A scheme (a :class:`publicservices.sectors.ReportCardScheme`, or any object with its
    attributes) as the options :func:`publicservices.stats.build_report_cards` fills its defaults from."""
    missing = [f for f in _SCHEME_FIELDS if not hasattr(scheme, f)]
    if missing:
        raise DataError(
            f"scheme must be a ReportCardScheme, not {type(scheme).__name__} (it has no {', '.join(missing)}).\n"
            "Fix: pass scheme=ReportCardScheme(domains=..., weights=...) from publicservices.sectors, or the "
            "sector's own (publicservices.registered_sectors()[sector].report_card)."
        )
    return {
        "domains": {d: list(ms) for d, ms in scheme.domains.items()},
        "weights": dict(scheme.weights) if scheme.weights else None,
        "cutpoints": dict(scheme.cutpoints),
        "relative": scheme.relative,
        "extra_credit": scheme.extra_credit,
        "extra_credit_max": scheme.extra_credit_max,
        "peer_weight": scheme.peer_weight,
        "polarity": dict(scheme.polarity),
        "closing_gap": getattr(scheme, "closing_gap", None),
    }


def choose_scheme(
    frame: pl.DataFrame, sector: str | None, scheme: Any, domains: Any, weights: Any, indicators: Mapping[str, Indicator]
) -> tuple[dict[str, Any], Any, list[str]]:
    """(defaults, domains, notes): the sector's scheme, or the built-in default.

    The ``scheme`` (the sector's, passed in) is used when the data hold any of its weighted
    domains' measures: each domain keeps the measures the data hold, a domain with none is
    left out (its weight with it, the others renormalised), and a note names what is
    missing. Wide data of domain scores -- a column named after each weighted domain, none
    of the measures -- are graded one column per domain (a missing domain column is then an
    error). The extra-credit domain is used only when the data hold its measures too.
    Without a scheme -- or with data holding none of its measures -- a ``sector`` gets the
    built-in default: each of the sector's indicators (those whose definition names the
    sector; ids without a definition stay, and are graded only with a direction) is its own
    domain, equally weighted, with quintile grades. Said in the notes.
    """
    default = DEFAULT_SCHEME
    options = None if scheme is None else scheme_options(scheme)
    if options is None and sector is None:
        return default, domains, []
    if domains is not None or weights is not None:
        return options or default, domains, []
    label = f"the {sector} scheme's" if sector else "the scheme's"
    if options is not None:
        ec = options["extra_credit"]
        weighted = [d for d in options["domains"] if d != ec]
        held = set(present(frame, [m for d in weighted for m in options["domains"][d]]))
        if held:
            chosen = {d: [m for m in options["domains"][d] if m in held] for d in weighted}
            if ec is not None and present(frame, options["domains"][ec]):
                chosen[ec] = present(frame, options["domains"][ec])
            return options, {d: ms for d, ms in chosen.items() if ms}, partial_note(options, chosen, label, indicators)
        if [d for d in weighted if d in frame.columns]:
            # wide domain scores: one column per domain (a missing one is an error later, naming it)
            chosen = {d: [d] for d in weighted}
            if ec is not None and ec in frame.columns:
                chosen[ec] = [ec]
            return options, chosen, []
        why = (
            f"{label} domains ({', '.join(weighted)}) are not in these data, so each "
            f"{sector + ' ' if sector else ''}indicator is its own domain"
        )
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
    note = (
        f"Equal weights: {why}, equally weighted; grades are quintiles of the overall score "
        f"(A top 20% ... F bottom 20%). Pass domains= and weights= to grade on another scheme."
    )
    return default, domains, [note]


def partial_note(
    options: Mapping[str, Any], chosen: Mapping[str, list[str]], label: str, indicators: Mapping[str, Indicator]
) -> list[str]:
    """A note naming the scheme's domains and measures these data lack (none when they hold all)."""
    ec = options["extra_credit"]
    weighted = [d for d in options["domains"] if d != ec]

    def name(m: str) -> str:
        return f"{indicators[m].title} ({m})" if m in indicators else m

    dropped = [d for d in weighted if not chosen.get(d)]
    lacking = {d: [m for m in options["domains"][d] if m not in chosen[d]] for d in weighted if chosen.get(d)}
    lacking = {d: ms for d, ms in lacking.items() if ms}
    if not dropped and not lacking:
        return []
    parts = []
    if dropped:
        kept = [d for d in weighted if chosen.get(d)]
        w = options["weights"]
        shares = f" (weights {', '.join(f'{d} {w[d]:g}' for d in kept)}, renormalised)" if w else ""
        parts.append(
            f"{label} domain{'s' if len(dropped) > 1 else ''} "
            + ", ".join(f"{d} ({', '.join(name(m) for m in options['domains'][d])})" for d in dropped)
            + f" {'are' if len(dropped) > 1 else 'is'} not in these data, so the grades rest on "
            + f"{', '.join(kept)}{shares}"
        )
    if lacking:
        parts.append(
            "measures not in these data: "
            + "; ".join(f"{d}: {', '.join(name(m) for m in ms)}" for d, ms in lacking.items())
            + " (each domain is the mean of the measures it has)"
        )
    return ["Partial scheme: " + "; ".join(parts) + "."]
