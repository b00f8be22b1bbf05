"""The plugin manager: built-in plugins, entry points, and what they register.

Plugins load lazily, the first time something asks for indicators, readers or demo data, so
``import publicservices`` and ``publicservices --help`` stay fast.

``PUBLICSERVICES_LOAD_PLUGINS`` limits which installed plugin distributions load: a comma-
separated list of distribution names (``publicservices-health,publicservices-schools``); an
empty string loads none. Built-in plugins (:data:`DEFAULT_PLUGINS`) always load.

A plugin that fails to import, implements an unknown hook, or registers something invalid is
recorded as *broken* with its error. Asking for indicators then raises one
:class:`~publicservices.errors.PluginError` naming every broken plugin and its cause, while
``publicservices plugins`` lists them as broken instead of crashing.

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

import dataclasses
import importlib
import os

import traceback
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from publicservices import hookspecs
from publicservices.errors import IndicatorError, PluginError, PublicServicesError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Indicator
    from publicservices.reading import Reader

__all__ = [
    "DEFAULT_PLUGINS",
    "ENV_LOAD_PLUGINS",
    "PluginInfo",
    "PluginRegistry",
    "get_registry",
    "reset_registry",
    "registered_indicators",
]

DEFAULT_PLUGINS: tuple[str, ...] = (
    "publicservices.default_plugins.readers",
    "publicservices.default_plugins.els",
    "publicservices.default_plugins.geography",
    "publicservices.default_plugins.context",
    "publicservices.default_plugins.international",
)
ENV_LOAD_PLUGINS = "PUBLICSERVICES_LOAD_PLUGINS"
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME


@dataclasses.dataclass
class PluginInfo:
    """What one plugin is and did: shown by ``publicservices plugins``."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    builtin: bool = False

    @property
    def status(self) -> str:
        return "broken" if self.error else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status}


@dataclasses.dataclass(frozen=True)
class DemoGenerator:
    """A sector's demo-data generator, as registered through ``publicservices_demo_data``."""

    sector: str
    generate: Callable[..., Any]
    plugin: str


class PluginRegistry:
    """A pluggy manager plus everything its plugins registered, collected once."""

    def __init__(self, *, entry_points: bool = True, defaults: bool = True, only: list[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._collected: dict[str, Any] | None = None
        if defaults:
            for module_name in DEFAULT_PLUGINS:
                self._register_module(module_name)
        if entry_points:
            self._load_entry_points(only)

    # -- loading -------------------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None, *, distribution: str | None = None) -> None:
        """Register a plugin object or module (tests and notebooks use this directly)."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        info = self._infos.setdefault(name, PluginInfo(name=name, distribution=distribution))
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            info.error = f"{exc} (check the hook's spelling against publicservices.hookspecs)"
        except ValueError as exc:  # already registered under this name
            info.error = str(exc)
        else:
            info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self._collected = None

    def _register_module(self, module_name: str) -> None:
        module = importlib.import_module(module_name)
        self.register(module, name=module_name)
        self._infos[module_name].builtin = True

    def _load_entry_points(self, only: list[str] | None) -> None:
        for dist_name, ep in _entry_points():
            if only is not None and _normalise(dist_name) not in {_normalise(n) for n in only}:
                continue
            name = ep.name if ep.name not in self._infos else f"{dist_name}:{ep.name}"
            info = self._infos.setdefault(name, PluginInfo(name=name, distribution=dist_name))
            try:
                info.version = metadata.version(dist_name)
            except metadata.PackageNotFoundError:  # pragma: no cover - broken metadata
                pass
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure marks the plugin broken
                info.error = f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}"
                continue
            self.register(plugin, name=name, distribution=dist_name)

    # -- what plugins registered -----------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, built-in first, with its status (collecting registrations once)."""
        self._collect()
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def broken(self) -> list[PluginInfo]:
        return [info for info in self.plugins() if info.error]

    def indicators(self) -> dict[str, Indicator]:
        """All registered indicators by id; raises PluginError if any plugin is broken."""
        return self._checked()["indicators"]

    def readers(self) -> dict[str, Reader]:
        """All registered readers by name; raises PluginError if any plugin is broken."""
        return self._checked()["readers"]

    def demo_generators(self) -> list[DemoGenerator]:
        """All registered demo-data generators, in plugin order."""
        return self._checked()["demo"]

    def _checked(self) -> dict[str, Any]:
        collected = self._collect()
        broken = [i for i in self._infos.values() if i.error]
        if broken:
            lines = "\n".join(f"  - {i.name} ({i.distribution or 'in-process'}): {i.error}" for i in broken)
            raise PluginError(
                f"{len(broken)} plugin(s) could not be loaded:\n{lines}\n"
                f"Fix: repair or uninstall the plugin, or leave it out with "
                f"{ENV_LOAD_PLUGINS}=name1,name2 (see `publicservices plugins`).",
                distribution=", ".join(i.distribution or i.name for i in broken),
            )
        return collected

    def _collect(self) -> dict[str, Any]:
        if self._collected is not None:
            return self._collected
        indicators: dict[str, Indicator] = {}
        owners: dict[str, str] = {}
        readers: dict[str, Reader] = {}
        reader_owners: dict[str, str] = {}
        demo: list[DemoGenerator] = []

        def run(hook_name: str, make_register: Callable[[str], Callable[..., None]]) -> None:
            caller = getattr(self.pm.hook, hook_name)
            # get_hookimpls() lists in registration order (pluggy *calls* them in reverse).
            for impl in caller.get_hookimpls():
                info = self._infos[impl.plugin_name]
                if info.error:
                    continue
                try:
                    impl.function(register=make_register(impl.plugin_name))
                except PublicServicesError as exc:
                    info.error = f"{hook_name}: {exc}"
                except Exception as exc:  # noqa: BLE001
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    info.error = f"{hook_name} raised {type(exc).__name__}: {exc} ({where.filename}:{where.lineno})"

        def register_indicator(plugin: str) -> Callable[[Indicator], None]:
            def register(indicator: Indicator) -> None:
                from publicservices.indicators import Indicator

                if not isinstance(indicator, Indicator):
                    raise IndicatorError(f"register() expects an Indicator, got {type(indicator).__name__}")
                if indicator.id in indicators:
                    raise IndicatorError(
                        f"indicator id {indicator.id!r} is already registered by plugin {owners[indicator.id]!r}; "
                        f"ids must be unique across plugins"
                    )
                indicators[indicator.id] = indicator
                owners[indicator.id] = plugin

            return register

        def register_reader(plugin: str) -> Callable[[Reader], None]:
            def register(reader: Reader) -> None:
                from publicservices.reading import Reader

                if not isinstance(reader, Reader):
                    raise PluginError(f"register() expects a Reader, got {type(reader).__name__}")
                if reader.name in readers:
                    raise PluginError(f"reader {reader.name!r} is already registered by plugin {reader_owners[reader.name]!r}")
                readers[reader.name] = reader
                reader_owners[reader.name] = plugin

            return register

        def register_demo(plugin: str) -> Callable[..., None]:
            def register(sector: str, generate: Callable[..., Any]) -> None:
                if not callable(generate):
                    raise PluginError(f"register({sector!r}, generate) needs a callable generate")
                demo.append(DemoGenerator(sector=sector, generate=generate, plugin=plugin))

            return register

        run("publicservices_indicators", register_indicator)
        run("publicservices_readers", register_reader)
        run("publicservices_demo_data", register_demo)
        # Anything registered by a plugin that turned out broken is withdrawn with it.
        broken = {name for name, info in self._infos.items() if info.error}
        indicators = {k: v for k, v in indicators.items() if owners[k] not in broken}
        readers = {k: v for k, v in readers.items() if reader_owners[k] not in broken}
        demo = [d for d in demo if d.plugin not in broken]
        self._collected = {"indicators": indicators, "readers": readers, "demo": demo, "owners": owners}
        return self._collected

    def owner(self, indicator_id: str) -> str | None:
        """The plugin that registered an indicator."""
        return self._collect()["owners"].get(indicator_id)


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def _entry_points() -> Iterator[tuple[str, metadata.EntryPoint]]:
    seen: set[tuple[str, str]] = set()
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"]
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and (dist_name, ep.name) not in seen:
                seen.add((dist_name, ep.name))
                yield dist_name, ep


def _env_filter() -> list[str] | None:
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    if raw is None:
        return None
    return [n.strip() for n in raw.split(",") if n.strip()]


_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use (honouring the env var)."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry(only=_env_filter())
    return _registry


def reset_registry(registry: PluginRegistry | None = None) -> PluginRegistry | None:
    """Replace the process-wide registry (``None``: reload on next use); returns the old one."""
    global _registry
    old, _registry = _registry, registry
    return old




def registered_indicators(sector: str | None = None) -> dict[str, Indicator]:
    """Every registered indicator by id, optionally for one sector.

    Example:
        >>> import publicservices as ps
        >>> all(i.id.startswith(i.sector + ".") for i in ps.registered_indicators().values())
        True
    """
    found = get_registry().indicators()
    return found if sector is None else {i: ind for i, ind in found.items() if ind.sector == sector}
