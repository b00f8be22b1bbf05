"""What the plugin registry knows about each plugin, and how plugins are found.

:class:`PluginInfo` records one plugin (its distribution, hooks, timings, error or clashes),
:class:`Register` is the ``register`` callback a hook receives, and the functions find the
installed entry points and read the environment variables that select and trace plugins.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

from publicservices import hookspecs

__all__ = [
    "PluginWarning",
    "PluginInfo",
    "DemoGenerator",
    "Register",
    "ENV_LOAD_PLUGINS",
    "ENV_TRACE_PLUGINS",
    "ENTRY_POINT_GROUP",
    "describe_exception",
    "normalise_name",
    "short_names",
    "installed_entry_points",
    "env_filter",
    "env_flag",
]

ENV_LOAD_PLUGINS = "PUBLICSERVICES_LOAD_PLUGINS"
ENV_TRACE_PLUGINS = "PUBLICSERVICES_TRACE_PLUGINS"
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME


class PluginWarning(UserWarning):
    """A plugin was disabled, clashed with another, is slow, or the plugin selection names nothing."""


@dataclasses.dataclass
class PluginInfo:
    """What one plugin is and did: shown by ``publicservices plugins``.

    ``import_seconds`` is the time its import took (``None`` for a plugin object registered
    in-process), ``hook_seconds`` the time its hooks took; ``conflicts`` lists registrations
    it lost to a clash (the plugin itself still works).
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    builtin: bool = False
    entry_point: str | None = None
    import_seconds: float | None = None
    hook_seconds: float = 0.0
    conflicts: list[str] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        """``broken`` (disabled), ``conflict`` (working, but lost a clash) or ``ok``."""
        return "broken" if self.error else "conflict" if self.conflicts else "ok"

    @property
    def load_seconds(self) -> float:
        """Import time plus hook time."""
        return (self.import_seconds or 0.0) + self.hook_seconds

    @property
    def label(self) -> str:
        """How messages name the plugin: ``plugin 'health' (publicservices-health)``."""
        if self.builtin:
            return f"built-in plugin {self.name!r}"
        return f"plugin {self.name!r} ({self.distribution or 'in-process'})"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status, "load_seconds": round(self.load_seconds, 4)}


@dataclasses.dataclass(frozen=True)
class DemoGenerator:
    """A sector's demo-data generator, as registered through ``publicservices_demo_data``."""

    sector: str
    generate: Callable[..., Any]
    plugin: str


class Register:
    """The ``register`` callback handed to one plugin's hook (its repr shows in traces)."""

    def __init__(self, kind: str, plugin: str, add: Callable[..., None]) -> None:
        self.kind, self.plugin, self._add = kind, plugin, add

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self._add(*args, **kwargs)

    def __repr__(self) -> str:
        what = {
            "sector": "sectors",
            "indicator": "indicators",
            "reader": "readers",
            "demo": "demo data",
            "comparator": "international comparators",
        }[self.kind]
        return f"<register {what} for plugin {self.plugin!r}>"


def describe_exception(exc: BaseException) -> str:
    """``Type: message (file:line)`` for the innermost frame of an exception."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        text += f" ({frames[-1].filename}:{frames[-1].lineno})"
    return text


def normalise_name(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def short_names(info: PluginInfo) -> set[str]:
    """The names a plugin goes by, with the ``publicservices-`` prefix dropped (for attribution)."""
    names = {info.name, info.distribution or "", (info.entry_point or "").split(":")[0]}
    out = set()
    for name in filter(None, names):
        norm = normalise_name(name)
        out |= {norm, norm.removeprefix("publicservices-")}
    return out


def installed_entry_points() -> Iterator[tuple[str, metadata.EntryPoint]]:
    seen: set[tuple[str, str]] = set()
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"]
        if not dist_name:
            continue
        try:
            entry_points = list(dist.entry_points)
        except Exception:  # noqa: BLE001 pragma: no cover - malformed entry_points.txt
            continue
        for ep in entry_points:
            if ep.group == ENTRY_POINT_GROUP and (dist_name, ep.name) not in seen:
                seen.add((dist_name, ep.name))
                yield dist_name, ep


def env_filter() -> list[str] | None:
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    if raw is None:
        return None
    return [n.strip() for n in raw.split(",") if n.strip()]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
