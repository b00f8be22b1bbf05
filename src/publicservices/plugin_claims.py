"""What plugins register, checked and settled: the ``register`` callbacks and the clash rules.

:class:`~publicservices.plugins.PluginRegistry` calls these while it collects registrations;
the rules themselves are described in its module docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from publicservices.errors import IndicatorError, PluginError
from publicservices.plugin_info import ENV_LOAD_PLUGINS

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.file_layouts import Reader
    from publicservices.indicators import Indicator
    from publicservices.international_comparators import InternationalComparator
    from publicservices.plugin_info import PluginInfo
    from publicservices.sectors import Sector


def registration_adder(kind: str, plugin: str, items: list[tuple[str, str, Any]]) -> Callable[..., None]:
    """The ``register`` callback for one plugin's hook: checks each item and appends ``(plugin, key, item)``."""
    mine: set[str] = set()

    def add_sector(sector: Sector) -> None:
        from publicservices.sectors import Sector

        if not isinstance(sector, Sector):
            raise PluginError(f"register() expects a Sector (publicservices.plugin_api.Sector), got {type(sector).__name__}")
        if sector.id in mine:
            raise PluginError(f"sector {sector.id!r} is registered twice by this plugin")
        mine.add(sector.id)
        items.append((plugin, sector.id, sector))

    def add_indicator(indicator: Indicator) -> None:
        from publicservices.indicators import Indicator

        if not isinstance(indicator, Indicator):
            raise IndicatorError(f"register() expects an Indicator, got {type(indicator).__name__}")
        if indicator.id in mine:
            raise IndicatorError(f"indicator id {indicator.id!r} is registered twice by this plugin")
        mine.add(indicator.id)
        items.append((plugin, indicator.id, indicator))

    def add_reader(reader: Reader) -> None:
        from publicservices.file_layouts import Reader

        if not isinstance(reader, Reader):
            raise PluginError(f"register() expects a Reader, got {type(reader).__name__}")
        if reader.name in mine:
            raise PluginError(f"reader {reader.name!r} is registered twice by this plugin")
        mine.add(reader.name)
        items.append((plugin, reader.name, reader))

    def add_demo(sector: str, generate: Callable[..., Any]) -> None:
        if not callable(generate):
            raise PluginError(f"register({sector!r}, generate) needs a callable generate")
        items.append((plugin, sector, generate))

    def add_comparator(comparator: InternationalComparator) -> None:
        from publicservices.international_comparators import InternationalComparator

        if not isinstance(comparator, InternationalComparator):
            raise PluginError(
                "register() expects an InternationalComparator (publicservices.plugin_api.InternationalComparator), "
                f"got {type(comparator).__name__}"
            )
        if comparator.id in mine:
            raise PluginError(f"international comparator {comparator.id!r} is registered twice by this plugin")
        mine.add(comparator.id)
        items.append((plugin, comparator.id, comparator))

    adders: dict[str, Callable[..., None]] = {
        "sector": add_sector,
        "indicator": add_indicator,
        "reader": add_reader,
        "demo": add_demo,
        "comparator": add_comparator,
    }
    return adders[kind]


def spend_service_owners(
    sectors: dict[str, Sector], owners: dict[str, str], infos: dict[str, PluginInfo], messages: list[str]
) -> dict[str, str]:
    """Spend service line -> sector id; a line two sectors declare maps to neither, with a warning."""
    claims: dict[str, list[str]] = {}
    for sector in sectors.values():
        for line in sector.spend_services:
            claims.setdefault(line, []).append(sector.id)
    out: dict[str, str] = {}
    for line, ids in claims.items():
        if len(ids) == 1:
            out[line] = ids[0]
            continue
        named = " and ".join(f"sector {s!r} ({infos[owners[s]].label})" for s in ids)
        for s in ids:
            others = " and ".join(repr(o) for o in ids if o != s)
            infos[owners[s]].conflicts.append(
                f"spend service line {line!r} is also declared by sector {others}; it is renamed to neither"
            )
        messages.append(
            f"spend service line {line!r} is declared by {named}; it is renamed to neither, and keeps a slug of its name.\n"
            f"Fix: uninstall one of them, or leave one out with {ENV_LOAD_PLUGINS} (see `publicservices plugins`)."
        )
    return out


def resolve_claims(
    kind: str,
    items: list[tuple[str, str, Any]],
    broken: set[str],
    infos: dict[str, PluginInfo],
    clashes: dict[str, list[str]],
    messages: list[str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply the clash rule: one claimant keeps it; a built-in wins; otherwise nobody does."""
    claims: dict[str, list[tuple[str, Any]]] = {}
    for plugin, key, obj in items:
        if plugin not in broken:
            claims.setdefault(key, []).append((plugin, obj))
    kept: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for key, found in claims.items():
        if len(found) == 1:
            kept[key], owners[key] = found[0][1], found[0][0]
            continue
        builtin = [(p, o) for p, o in found if infos[p].builtin]
        if builtin:
            winner = builtin[0][0]
            kept[key], owners[key] = builtin[0][1], winner
            for loser, _ in found:
                if loser == winner:
                    continue
                info = infos[loser]
                info.conflicts.append(f"{kind} {key!r} is provided by {infos[winner].label}; this plugin's is ignored")
                messages.append(
                    f"{info.label} registers {kind} {key!r}, which {infos[winner].label} provides; the built-in "
                    f"{kind} is used and the plugin's is ignored.\nFix: give the plugin's {kind} another name "
                    "(a plugin cannot replace a built-in one)."
                )
            continue
        names = [p for p, _ in found]
        clashes[key] = names
        labels = " and ".join(infos[p].label for p in names)
        for plugin in names:
            others = " and ".join(infos[p].label for p in names if p != plugin)
            infos[plugin].conflicts.append(f"{kind} {key!r} is also registered by {others}; neither is used")
        messages.append(
            f"{kind} {key!r} is registered by {labels}; {'neither' if len(names) == 2 else 'none'} of them is used.\n"
            f"Fix: uninstall one of them, or leave one out with {ENV_LOAD_PLUGINS} (see `publicservices plugins`)."
        )
    return kept, owners


def without_indicators(generate: Callable[..., Any], ids: set[str]) -> Callable[..., Any]:
    """Wrap a demo generator so that it drops the rows (and truth) of indicators its plugin lost."""

    def generate_kept(nation: Any) -> Any:
        import polars as pl

        data = generate(nation)
        # A DemoData (checked by its shape: the synthetic package sits above the registry);
        # anything else is returned as it is, for demo() to report.
        if not dataclasses.is_dataclass(data) or isinstance(data, type) or not hasattr(data, "truth"):
            return data
        demo: Any = data

        def keep(item: Any) -> Any:
            if isinstance(item, pl.DataFrame) and "indicator_id" in item.columns:
                return item.filter(~pl.col("indicator_id").is_in(sorted(ids)))
            if isinstance(item, dict):
                return {k: v for k, v in item.items() if k not in ids}
            return item

        return dataclasses.replace(demo, values=keep(demo.values), truth={k: keep(v) for k, v in demo.truth.items()})

    generate_kept.__wrapped__ = generate  # type: ignore[attr-defined]
    return generate_kept
