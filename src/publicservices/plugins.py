"""The plugin manager: built-in plugins, entry points, and what they register.

One faulty plugin never takes the others down. The rules:

**Loading is lazy.** Constructing a :class:`PluginRegistry` (or calling :func:`get_registry`)
imports nothing; plugins are imported the first time something asks for sectors, indicators,
readers, demo data, international comparators or the plugin listing. ``import publicservices``,
``publicservices --help`` and ``--version`` import no plugin. Each plugin's import time and the time its hooks took are
recorded in its :class:`PluginInfo` and shown by ``publicservices plugins``; a third-party
plugin that takes longer than :data:`SLOW_PLUGIN_SECONDS` to load is named in a warning.

**A faulty plugin is disabled, with a warning.** A plugin that fails to import (any exception,
including ``SystemExit``; only ``KeyboardInterrupt`` propagates), implements an unknown hook,
or whose hook raises or registers something invalid is *broken*: everything it registered is
withdrawn, a :class:`PluginWarning` names the plugin, its distribution and the error, and the
other plugins work as usual. ``publicservices plugins`` lists it as broken with its error.
Asking for something that a disabled plugin registered, or (by the ``sector.name`` and
``sector-...`` naming conventions) would have registered, raises a
:class:`~publicservices.errors.PluginError` naming it (:meth:`PluginRegistry.explain_missing`).
:meth:`PluginRegistry.check` raises one ``PluginError`` for every problem, for CI.

**Clashes keep neither.** When two plugins register the same sector id, indicator id,
reader name or international comparator id, neither registration is used, and a warning (and the listing of both plugins,
status ``conflict``) names both; their other registrations stay. Likewise a spend service
line that two sectors declare is renamed to neither. Exception: a built-in plugin
(:data:`DEFAULT_PLUGINS`) always wins: a third-party plugin cannot shadow a built-in sector,
indicator, reader or comparator; its registration is ignored with a warning. A demo-data generator of a
plugin that lost an id keeps working, without the rows of that id.

**Hooks go through pluggy.** Each plugin's hooks are called through pluggy's hook caller
(a subset caller per plugin, so each registration is blamed on the right plugin): argument
filtering, hook validation and tracing apply. ``PUBLICSERVICES_TRACE_PLUGINS=1`` writes
pluggy's trace of every hook call, and each plugin's import time, to stderr.

**Choosing plugins.** ``PUBLICSERVICES_LOAD_PLUGINS`` limits which installed plugins load: a
comma-separated list of distribution names (``publicservices-health``), entry-point names
(``health``) or module names (``publicservices_health``); an empty string loads none. A name
that matches no installed plugin is reported in a warning listing the installed ones (never
silently nothing). Built-in plugins always load.

Example:
    >>> from publicservices.hookspecs import hookimpl
    >>> from publicservices.indicators import Indicator
    >>> class MyPlugin:
    ...     @hookimpl
    ...     def publicservices_indicators(self, register):
    ...         register(Indicator(id="test.x", title="X", sector="test", measure="score"))
    >>> registry = PluginRegistry(entry_points=False, defaults=False)
    >>> registry.register(MyPlugin(), name="my-plugin")
    >>> sorted(registry.indicators())
    ['test.x']
"""

from __future__ import annotations

import importlib
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from publicservices import hookspecs
from publicservices.errors import OptionError, PluginError, PublicServicesError
from publicservices.plugin_claims import registration_adder, resolve_claims, spend_service_owners, without_indicators
from publicservices.plugin_info import (
    ENV_LOAD_PLUGINS,
    ENV_TRACE_PLUGINS,
    DemoGenerator,
    PluginInfo,
    PluginWarning,
    Register,
    describe_exception,
    env_filter,
    env_flag,
    installed_entry_points,
    normalise_name,
    short_names,
)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.file_layouts import Reader
    from publicservices.indicators import Indicator
    from publicservices.international_comparators import InternationalComparator
    from publicservices.sectors import Sector

__all__ = [
    "DEFAULT_PLUGINS",
    "ENV_LOAD_PLUGINS",
    "ENV_TRACE_PLUGINS",
    "SLOW_PLUGIN_SECONDS",
    "PluginInfo",
    "PluginRegistry",
    "PluginWarning",
    "get_registry",
    "reset_registry",
    "registered_comparators",
    "registered_indicators",
    "registered_sectors",
]

DEFAULT_PLUGINS: tuple[str, ...] = (
    "publicservices.default_plugins.readers",
    "publicservices.default_plugins.els",
    "publicservices.default_plugins.geography",
    "publicservices.default_plugins.context",
    "publicservices.default_plugins.international",
    "publicservices.default_plugins.ees",
    "publicservices.default_plugins.wide_periods",
)
SLOW_PLUGIN_SECONDS = 5.0
"""A third-party plugin whose import and hooks take longer than this is named in a warning."""

# hook name -> what its register() callback registers (in the order the hooks run)
_HOOKS: tuple[tuple[str, str], ...] = (
    ("publicservices_sectors", "sector"),
    ("publicservices_indicators", "indicator"),
    ("publicservices_readers", "reader"),
    ("publicservices_demo_data", "demo"),
    ("publicservices_international_comparators", "comparator"),
)
_KINDS = ", ".join(repr(kind) for _, kind in _HOOKS)
_LOAD_STAGE = "load"


class PluginRegistry:
    """A pluggy manager plus everything its plugins registered, collected once.

    Parameters:
        entry_points: load installed plugins (entry points in the ``publicservices`` group).
        defaults: load the built-in plugins (:data:`DEFAULT_PLUGINS`).
        only: load only these installed plugins (distribution, entry-point or module names);
            ``None`` loads all of them.
    """

    def __init__(self, *, entry_points: bool = True, defaults: bool = True, only: Iterable[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._entry_points = entry_points
        self._defaults = defaults
        self._only = None if only is None else list(only)
        self._loaded = False
        self._infos: dict[str, PluginInfo] = {}
        self._load_errors: dict[str, str] = {}
        self._load_messages: list[str] = []
        self._collect_messages: list[str] = []
        self._warned: set[str] = set()
        self._collected: dict[str, Any] | None = None
        self._trace = self.pm.trace.root.get("load")
        self._tracing = False
        if env_flag(ENV_TRACE_PLUGINS):
            self.enable_tracing()

    def enable_tracing(self, writer: Callable[[str], object] | None = None) -> None:
        """Write pluggy's trace of every hook call (and plugin import times) to ``writer`` (stderr)."""
        self.pm.trace.root.setwriter(writer or (lambda text: sys.stderr.write(text)))
        if not self._tracing:
            self.pm.enable_tracing()
            self._tracing = True

    # -- loading -------------------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None, *, distribution: str | None = None) -> None:
        """Register a plugin object or module (tests and notebooks use this directly).

        The built-in and installed plugins load first, so they keep their precedence.
        """
        self._ensure_loaded()
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self._infos:
            raise PluginError(f"a plugin named {name!r} is already registered.\nFix: pass another name= to register().")
        self._infos[name] = PluginInfo(name=name, distribution=distribution)
        self._add_plugin(plugin, name)

    def load_entry_point(self, distribution: str, entry_point: metadata.EntryPoint) -> PluginInfo:
        """Import one installed plugin through its entry point and register it (or record why not)."""
        self._ensure_loaded()
        return self._load_entry_point(distribution, entry_point)

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self._defaults:
            for module_name in DEFAULT_PLUGINS:
                self._load_builtin(module_name)
        if self._entry_points:
            self._load_entry_points(self._only)

    def _load_builtin(self, module_name: str) -> None:
        info = self._infos[module_name] = PluginInfo(name=module_name, builtin=True, entry_point=module_name)
        start = time.perf_counter()
        try:
            module = importlib.import_module(module_name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even SystemExit only disables the plugin
            self._load_errors[module_name] = f"failed to import {module_name!r}: {describe_exception(exc)}"
            return
        finally:
            info.import_seconds = time.perf_counter() - start
            self._trace("imported", module_name, f"in {info.import_seconds:.3f} s")
        self._add_plugin(module, module_name)

    def _load_entry_points(self, only: list[str] | None) -> None:
        installed = list(installed_entry_points())
        if only is not None:
            wanted = {normalise_name(n): n for n in only}
            matched: set[str] = set()
            selected = []
            for dist_name, ep in installed:
                hit = {normalise_name(dist_name), normalise_name(ep.name), normalise_name(ep.module)} & set(wanted)
                if hit:
                    selected.append((dist_name, ep))
                    matched |= hit
            builtins = {normalise_name(m) for m in DEFAULT_PLUGINS}
            unknown = [name for key, name in wanted.items() if key not in matched and key not in builtins]
            if unknown:
                choices = ", ".join(sorted(f"{ep.name} ({dist})" for dist, ep in installed)) or "none"
                self._load_messages.append(
                    f"{ENV_LOAD_PLUGINS} names {', '.join(map(repr, unknown))}, which match{'es' if len(unknown) == 1 else ''} "
                    f"no installed plugin; installed plugins (entry point and distribution): {choices}.\n"
                    f"Fix: use one of those names, e.g. {ENV_LOAD_PLUGINS}=publicservices-health or {ENV_LOAD_PLUGINS}=health "
                    "(see `publicservices plugins`)."
                )
            installed = selected
        for dist_name, ep in installed:
            self._load_entry_point(dist_name, ep)

    def _load_entry_point(self, dist_name: str, ep: metadata.EntryPoint) -> PluginInfo:
        self._collected = None
        name = ep.name if ep.name not in self._infos else f"{dist_name}:{ep.name}"
        info = self._infos[name] = PluginInfo(name=name, distribution=dist_name, entry_point=ep.value)
        try:
            info.version = metadata.version(dist_name)
        except metadata.PackageNotFoundError:  # pragma: no cover - broken metadata
            pass
        start = time.perf_counter()
        try:
            plugin = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even SystemExit only disables the plugin
            self._load_errors[name] = f"failed to import {ep.value!r}: {describe_exception(exc)}"
            return info
        finally:
            info.import_seconds = time.perf_counter() - start
            self._trace("imported", name, f"({dist_name}) in {info.import_seconds:.3f} s")
        self._add_plugin(plugin, name)
        return info

    def _add_plugin(self, plugin: object, name: str) -> None:
        info = self._infos[name]
        self._collected = None
        try:
            hash(plugin)
        except TypeError:
            self._load_errors[name] = f"the plugin object {type(plugin).__name__} is not hashable (pluggy needs hashable plugins)"
            return
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self._load_errors[name] = f"{exc} (check the hook's spelling against publicservices.hookspecs)"
        except ValueError as exc:  # the same object registered twice
            self._load_errors[name] = str(exc)
        else:
            info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])

    # -- what plugins registered -----------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, built-in first, with its status (collecting registrations once)."""
        self._collect()
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def broken(self) -> list[PluginInfo]:
        """The disabled plugins."""
        return [info for info in self.plugins() if info.error]

    def messages(self) -> list[str]:
        """Every problem found (disabled plugins, clashes, slow plugins, unknown names), as warned."""
        self._collect()
        return [*self._load_messages, *self._collect_messages]

    def sectors(self) -> dict[str, Sector]:
        """All declared sectors by id (in order of their id), from every plugin that works."""
        return self._collect()["sectors"]

    def spend_services(self) -> dict[str, str]:
        """Every declared spend service line -> the id of the sector that declares it.

        A line that two sectors declare maps to neither (a ``PluginWarning`` names both).
        """
        return self._collect()["spend_services"]

    def indicators(self) -> dict[str, Indicator]:
        """All registered indicators by id, from every plugin that works."""
        return self._collect()["indicators"]

    def readers(self) -> dict[str, Reader]:
        """All registered readers by name (built-in first), from every plugin that works."""
        return self._collect()["readers"]

    def demo_generators(self) -> list[DemoGenerator]:
        """All registered demo-data generators, in plugin order."""
        return self._collect()["demo"]

    def comparators(self) -> dict[str, InternationalComparator]:
        """All registered international comparators by id (in order of their id), from every plugin that works."""
        return self._collect()["comparators"]

    def comparator_plugin(self, comparator_id: str) -> PluginInfo | None:
        """The plugin that registered an international comparator."""
        owner = self._collect()["owners"]["comparator"].get(comparator_id)
        return self._infos.get(owner) if owner else None

    def owner(self, indicator_id: str) -> str | None:
        """The plugin that registered an indicator."""
        return self._collect()["owners"]["indicator"].get(indicator_id)

    def declaring_plugin(self, sector_id: str) -> PluginInfo | None:
        """The plugin that declared a sector."""
        owner = self._collect()["owners"]["sector"].get(sector_id)
        return self._infos.get(owner) if owner else None

    def reader_plugin(self, reader_name: str) -> PluginInfo | None:
        """The plugin that registered a reader."""
        owner = self._collect()["owners"]["reader"].get(reader_name)
        return self._infos.get(owner) if owner else None

    def check(self) -> None:
        """Raise one :class:`PluginError` naming every disabled plugin and every clash (for CI)."""
        self._collect()
        infos = [i for i in self._infos.values() if i.error or i.conflicts]
        if infos:
            lines = "\n".join(f"  - {m}".replace("\n", "\n    ") for m in self.messages())
            raise PluginError(
                f"{len(infos)} plugin(s) have problems:\n{lines}",
                distribution=", ".join(i.distribution or i.name for i in infos),
            )

    def explain_missing(self, kind: str, name: str) -> PluginError | None:
        """Why a sector, indicator id, reader name, demo sector or comparator is missing, if a plugin problem explains it.

        ``kind`` is ``"sector"`` (a sector: its declaration, indicators or demo data),
        ``"indicator"``, ``"reader"``, ``"demo"`` (a sector's demo data) or ``"comparator"``
        (an international comparator id). Returns a
        :class:`PluginError` naming the plugins (raise it), or ``None`` when no plugin problem
        explains the absence (the name is simply unknown).
        """
        if kind not in {k for _, k in _HOOKS}:
            raise OptionError(f"kind must be one of {_KINDS}, not {kind!r}")
        collected = self._collect()
        fix = f"Fix: repair or uninstall the plugin, or leave it out with {ENV_LOAD_PLUGINS} (see `publicservices plugins`)."
        clash = collected["clashes"][kind].get(name)
        if clash:
            labels = " and ".join(self._infos[p].label for p in clash)
            return PluginError(
                f"{kind} {name!r} is registered by {labels}, so {'neither' if len(clash) == 2 else 'none'} of them is used.\n"
                f"Fix: uninstall one of them, or leave one out with {ENV_LOAD_PLUGINS} (see `publicservices plugins`).",
                distribution=", ".join(self._infos[p].distribution or p for p in clash),
            )
        owner = collected["disabled"][kind].get(name)
        if owner is None and kind in ("sector", "demo"):  # a sector whose indicators or demo came from a disabled plugin
            owner = next((p for i, p in collected["disabled"]["indicator"].items() if i.split(".")[0] == name), None)
            owner = owner or collected["disabled"]["demo"].get(name) or collected["disabled"]["sector"].get(name)
        if owner:
            info = self._infos[owner]
            return PluginError(
                f"{kind} {name!r} comes from {info.label}, which is disabled: {info.error}\n{fix}",
                distribution=info.distribution or info.name,
            )
        stage_of = {k: h for h, k in _HOOKS}
        stage_of["sector"] = _HOOKS[-1][0]  # a sector comes from every hook: any failure may explain it
        order = [_LOAD_STAGE, *(h for h, _ in _HOOKS)]
        prefix = name.split(".")[0] if kind in ("indicator", "comparator") else name.split("-")[0] if kind == "reader" else name
        suspects = [
            info
            for info in self._infos.values()
            if info.error
            and order.index(collected["failed_at"].get(info.name, _LOAD_STAGE)) <= order.index(stage_of[kind])
            and normalise_name(prefix) in short_names(info)
        ]
        if suspects:
            labels = "; ".join(f"{i.label}: {i.error}" for i in suspects)
            return PluginError(
                f"{kind} {name!r} is not registered; it would come from a disabled plugin: {labels}\n{fix}",
                distribution=", ".join(i.distribution or i.name for i in suspects),
            )
        return None

    def disabled_hint(self) -> str:
        """A sentence naming the disabled plugins (empty if none), for 'not found' messages."""
        broken = [i.label for i in self._infos.values() if i.error] if self._collected is not None else []
        if not broken:
            return ""
        return f"\nNote: {', '.join(broken)} {'is' if len(broken) == 1 else 'are'} disabled and may provide it (see `publicservices plugins`)."

    # -- collecting ------------------------------------------------------------------------

    def _collect(self) -> dict[str, Any]:
        if self._collected is not None:
            return self._collected
        self._ensure_loaded()
        for info in self._infos.values():
            info.error = self._load_errors.get(info.name)
            info.hook_seconds = 0.0
            info.conflicts = []
        failed_at: dict[str, str] = {}
        attempts: dict[str, list[tuple[str, str, Any]]] = {kind: [] for _, kind in _HOOKS}

        for hook_name, kind in _HOOKS:
            for name, info in self._infos.items():
                if info.error or hook_name not in info.hooks:
                    continue
                others = [p for n, p in self.pm.list_name_plugin() if n != name and p is not None]
                caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
                register = Register(kind, name, registration_adder(kind, name, attempts[kind]))
                start = time.perf_counter()
                try:
                    caller(register=register)
                except KeyboardInterrupt:
                    raise
                except PublicServicesError as exc:
                    info.error = f"{hook_name}: {exc}"
                except BaseException as exc:  # noqa: BLE001 - any failure disables only this plugin
                    info.error = f"{hook_name} raised {describe_exception(exc)}"
                finally:
                    info.hook_seconds += time.perf_counter() - start
                if info.error:
                    failed_at[name] = hook_name

        broken = {name for name, info in self._infos.items() if info.error}
        disabled: dict[str, dict[str, str]] = {kind: {} for _, kind in _HOOKS}
        for kind, items in attempts.items():
            for plugin, key, _ in items:
                if plugin in broken:
                    disabled[kind].setdefault(key, plugin)
        messages: list[str] = []
        clashes: dict[str, dict[str, list[str]]] = {kind: {} for _, kind in _HOOKS}
        owners: dict[str, dict[str, str]] = {}
        kept: dict[str, dict[str, Any]] = {}
        for kind in ("sector", "indicator", "reader", "comparator"):
            kept[kind], owners[kind] = resolve_claims(kind, attempts[kind], broken, self._infos, clashes[kind], messages)
        sectors = dict(sorted(kept["sector"].items()))
        spend_services = spend_service_owners(sectors, owners["sector"], self._infos, messages)
        lost: dict[str, set[str]] = {}
        for plugin, key, _ in attempts["indicator"]:
            if plugin not in broken and owners["indicator"].get(key) != plugin:
                lost.setdefault(plugin, set()).add(key)
        demo = [
            DemoGenerator(
                sector=sector, generate=without_indicators(generate, lost[plugin]) if plugin in lost else generate, plugin=plugin
            )
            for plugin, sector, generate in attempts["demo"]
            if plugin not in broken
        ]

        enabled = sorted({i.distribution for i in self._infos.values() if i.distribution and not i.builtin and not i.error})
        disabled_messages = []
        for info in self._infos.values():
            if info.error:
                fix = (
                    f"repair or uninstall it, or leave it out with {ENV_LOAD_PLUGINS}={','.join(enabled)} "
                    "(see `publicservices plugins`)"
                    if info.distribution
                    else "repair it, or stop registering it"
                )
                disabled_messages.append(f"{info.label} is disabled: {info.error}\nThe other plugins still work. Fix: {fix}.")
            elif not info.builtin and info.load_seconds > SLOW_PLUGIN_SECONDS:
                messages.append(
                    f"{info.label} took {info.load_seconds:.1f} s to load (import {info.import_seconds or 0:.1f} s, "
                    f"hooks {info.hook_seconds:.1f} s); every command that needs plugins waits for it.\n"
                    "Fix: ask its authors to import heavy libraries inside functions, or leave it out with "
                    f"{ENV_LOAD_PLUGINS} (see `publicservices plugins`)."
                )
        self._collect_messages = [*disabled_messages, *messages]
        self._collected = {
            "sectors": sectors,
            "spend_services": spend_services,
            "indicators": kept["indicator"],
            "readers": kept["reader"],
            "demo": demo,
            "comparators": dict(sorted(kept["comparator"].items())),
            "owners": owners,
            "clashes": clashes,
            "disabled": disabled,
            "failed_at": failed_at,
        }
        self._warn()
        return self._collected

    def _warn(self) -> None:
        # Warn only once the registry is consistent: a warnings filter set to "error" must not
        # leave it half-collected.
        for message in [*self._load_messages, *self._collect_messages]:
            if message not in self._warned:
                self._warned.add(message)
                warnings.warn(message, PluginWarning, stacklevel=4)


_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use (honouring the env var)."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry(only=env_filter())
    return _registry


def reset_registry(registry: PluginRegistry | None = None) -> PluginRegistry | None:
    """Replace the process-wide registry (``None``: reload on next use); returns the old one."""
    global _registry
    old, _registry = _registry, registry
    return old


def registered_sectors() -> dict[str, Sector]:
    """Every declared sector by id (in order of their id), from the process-wide registry.

    Example:
        >>> import publicservices as ps
        >>> all(s.title for s in ps.registered_sectors().values())
        True
    """
    return get_registry().sectors()


def registered_indicators(sector: str | None = None) -> dict[str, Indicator]:
    """Every registered indicator by id, optionally for one sector.

    Example:
        >>> import publicservices as ps
        >>> all(i.id.startswith(i.sector + ".") for i in ps.registered_indicators().values())
        True
    """
    registry = get_registry()
    found = registry.indicators()
    if sector is None:
        return found
    selected = {i: ind for i, ind in found.items() if ind.sector == sector}
    if not selected and (error := registry.explain_missing("sector", sector)) is not None:
        raise error
    return selected


def registered_comparators(sector: str | None = None) -> dict[str, InternationalComparator]:
    """Every registered international comparator by id, optionally for one sector.

    Example:
        >>> import publicservices as ps
        >>> sorted(c.measure for c in ps.registered_comparators("schools").values())
        ['mathematics', 'reading', 'science']
    """
    found = get_registry().comparators()
    return found if sector is None else {i: c for i, c in found.items() if c.sector == sector}
