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
    from publicservices.plugin_info import PluginInfo
    from publicservices.sectors import Sector


# kind -> (module and class of what register() takes, how the message names it, the attribute
# that is its key, how the message names that key, the error raised)
_TYPED: dict[str, tuple[str, str, str, str, str, type[PluginError] | type[IndicatorError]]] = {
    "sector": ("publicservices.sectors", "Sector", "a Sector (publicservices.plugin_api.Sector)", "id", "sector", PluginError),
    "indicator": ("publicservices.indicators", "Indicator", "an Indicator", "id", "indicator id", IndicatorError),
    "reader": ("publicservices.file_layouts", "Reader", "a Reader", "name", "reader", PluginError),
    "comparator": (
        "publicservices.international_comparators",
        "InternationalComparator",
        "an InternationalComparator (publicservices.plugin_api.InternationalComparator)",
        "id",
        "international comparator",
        PluginError,
    ),
}


def registration_adder(kind: str, plugin: str, items: list[tuple[str, str, Any]]) -> Callable[..., None]:
    """The ``register`` callback for one plugin's hook: checks each item and appends ``(plugin, key, item)``."""
    if kind == "demo":

        def add_demo(sector: str, generate: Callable[..., Any]) -> None:
            if not callable(generate):
                raise PluginError(f"register({sector!r}, generate) needs a callable generate")
            items.append((plugin, sector, generate))

        return add_demo
    module, cls_name, expected, key_attr, noun, error = _TYPED[kind]
    mine: set[str] = set()

    def add(item: Any) -> None:
        import importlib

        if not isinstance(item, getattr(importlib.import_module(module), cls_name)):
            raise error(f"register() expects {expected}, got {type(item).__name__}")
        key = getattr(item, key_attr)
        if key in mine:
            raise error(f"{noun} {key!r} is registered twice by this plugin")
        mine.add(key)
        items.append((plugin, key, item))

    return add


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
