"""Which indicator each ELS name becomes: a plugin's mapping, a sidecar label it maps, or a generic indicator."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.default_plugins.els_generic import generic_indicator
from publicservices.default_plugins.els_layout import norm_name
from publicservices.default_plugins.els_metadata import find_sidecar

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from publicservices.reading import LoadReport

__all__ = ["registered_els_mappings", "resolve_indicators"]


def registered_els_mappings(attribute: str = "els_indicators", layout: str = "ELS") -> tuple[dict[str, str], list[str]]:
    """Every plugin's ELS name -> id mapping, merged, and notes on any conflict.

    ``attribute`` names the mapping a reader's read function carries: ``els_indicators`` for
    ELS names, ``ees_indicators`` for the columns of DfE Explore education statistics files.
    """
    from publicservices.reading import readers

    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for reader in readers().values():
        mapping = getattr(reader.read, attribute, None)
        for key, target in (mapping or {}).items():
            if key in merged and merged[key] != target:
                conflicts.append(
                    f"{layout} indicator {key!r} is mapped by {owner[key]!r} to {merged[key]!r} and by {reader.name!r} "
                    f"to {target!r}; {merged[key]!r} was used."
                )
                continue
            merged.setdefault(key, target)
            owner.setdefault(key, reader.name)
    return merged, conflicts


def resolve_indicators(
    frame: pl.DataFrame,
    path: Path,
    report: LoadReport,
    *,
    indicator_ids: Mapping[str, str] | None,
    use_registered: bool,
    metadata: str | Path | bool | None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """The indicator id of each name in ``frame``'s ``indicator`` column, and the indicators by id.

    Plugin mappings first (``indicator_ids`` over them), then generated ids for the rest; what
    was generated, and from which sidecar, goes into ``report``'s notes.
    """
    mapping: dict[str, str] = {}
    if use_registered:
        registered, conflicts = registered_els_mappings()
        mapping.update(registered)
        report.notes.extend(conflicts)
    mapping.update({norm_name(k): v for k, v in (indicator_ids or {}).items()})
    names = frame.select("indicator", "measure", "unit").unique("indicator", keep="first", maintain_order=True)
    ids: dict[str, str] = {}
    indicators: dict[str, Any] = {}
    registry_indicators = _registered_indicators() if mapping else {}
    unmapped = [name for name in names.get_column("indicator").to_list() if norm_name(name) not in mapping]
    sidecar = find_sidecar(path, unmapped, metadata, report) if unmapped else None
    generated: list[str] = []
    via_label: list[str] = []
    for name, measure, unit in names.iter_rows():
        target = mapping.get(norm_name(name))
        entry = sidecar.entry(name, len(names)) if sidecar is not None and target is None else None
        if target is None and entry is not None and entry.label and norm_name(entry.label) in mapping:
            target = mapping[norm_name(entry.label)]  # the CSV name differs, but the sidecar's label is mapped
            via_label.append(f"{name!r} -> {target}")
        if target is not None:
            ids[name] = target
            if target in registry_indicators:
                indicators[target] = registry_indicators[target]
        else:
            generic = generic_indicator(name, measure, unit, path.name, entry)
            if generic.id in indicators:  # two names with the same slug stay two indicators
                n = sum(i == generic.id or i.startswith(generic.id + "_") for i in indicators) + 1
                generic = dataclasses.replace(generic, id=f"{generic.id[:95]}_{n}")
            ids[name] = generic.id
            indicators[generic.id] = generic
            generated.append(generic.id)
    if via_label:
        report.notes.append(
            f"{len(via_label)} indicator name(s) were matched through the metadata sidecar's label: {', '.join(via_label)}."
        )
    if generated:
        report.notes.append(
            f"{len(generated)} indicator(s) had no plugin mapping and got generic ids: {', '.join(sorted(generated))}."
        )
        if sidecar is not None:
            described = sum(1 for name in unmapped if ids[name] in generated and sidecar.entry(name, len(names)) is not None)
            report.notes.append(
                f"Titles, units and definitions for {described} of them come from the metadata sidecar {sidecar.where}."
            )
        outcomes = sorted(i for i in generated if not indicators[i].is_context)
        context = sorted(i for i in generated if indicators[i].is_context)
        if outcomes:
            report.notes.append(
                f"{len(outcomes)} indicator(s) have no known direction: they will be compared as higher/lower, "
                f"never better/worse ({', '.join(outcomes)}). A plugin can map them to indicators with a direction."
            )
        if context:
            report.notes.append(
                f"{len(context)} indicator(s) are context (population or deprivation), kept to explain outcomes "
                f"but not compared between areas: {', '.join(context)}."
            )
    return ids, indicators


def _registered_indicators() -> dict[str, Any]:
    from publicservices.errors import PluginError
    from publicservices.plugins import get_registry

    try:
        return get_registry().indicators()
    except PluginError:
        return {}
