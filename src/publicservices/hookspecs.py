"""The plugin contract: the hooks a sector plugin may implement.

Every hook receives a ``register`` callback rather than returning values, so the core can
add keyword arguments later without breaking plugins, and so each registration is checked
(and blamed on the right plugin) at the moment it is made.

A plugin is any module or object with functions decorated by :data:`hookimpl`, exposed
through an entry point in the ``publicservices`` group::

    [project.entry-points.publicservices]
    health = "publicservices_health"

Only implement the hooks you need; pluggy lets an implementation accept fewer arguments
than the specification offers. A plugin imports only ``publicservices`` and
``publicservices.plugin_api``, whose ``sector_plugin(...)`` implements every hook from
one declaration.

A plugin whose import or hook raises, or that registers something invalid, is disabled with
a ``PluginWarning`` naming it; the other plugins keep working (see ``publicservices plugins``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from publicservices.file_layouts import Reader
    from publicservices.indicators import Indicator
    from publicservices.international_comparators import InternationalComparator
    from publicservices.sectors import Sector

__all__ = ["hookspec", "hookimpl", "PROJECT_NAME"]

PROJECT_NAME = "publicservices"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator marking a plugin function as a publicservices hook implementation."""


@hookspec
def publicservices_sectors(register: Callable[[Sector], None]) -> None:
    """Declare the sectors this plugin provides: their titles, spend lines, report cards and demo spend.

    :param register:
        Call ``register(sector)`` once per :class:`publicservices.Sector`: its ``id`` (the
        part of its indicator ids before the dot), ``title``, ``spend_services`` (the spend
        service lines published for it, in the publisher's words), ``report_card`` (a
        :class:`publicservices.ReportCardScheme`, or ``None`` for the default) and ``demo``
        (a :class:`publicservices.DemoSpend`, its spend in the demo nation, or ``None``).

    The core names no sector: pages take the sector's title from here, spend readers rename
    its ``spend_services`` to its id, ``grade_areas(data, sector=id)`` grades on its scheme,
    and the demo nation simulates its spend from ``demo``. A sector nobody declares still
    works, with its id humanised as the title, no spend lines, equal-weight report cards and
    generic demo spend.

    A sector id that two plugins register is used by neither, and a ``PluginWarning`` names
    both; a spend service line that two sectors declare is renamed to neither. Registering
    anything but a ``Sector``, or a sector twice in one plugin, disables the plugin. By
    convention a plugin declares one sector, the sector of its indicators.

    Example::

        @hookimpl
        def publicservices_sectors(register):
            register(Sector(id="policing", title="Policing", spend_services=("Police services",),
                            demo=DemoSpend(per_head=230.0, need=0.15, growth=0.005, sd=0.14)))
    """


@hookspec
def publicservices_indicators(register: Callable[[Indicator], None]) -> None:
    """Register the indicators this plugin provides.

    :param register:
        Call ``register(indicator)`` once per :class:`publicservices.Indicator`.
        Ids must be unique across all plugins: an id that two plugins register is used by
        neither, and a ``PluginWarning`` names both (an id of a built-in plugin stays the
        built-in's). Registering anything but an ``Indicator``, or an id twice in one plugin,
        disables the plugin.

    A plugin may register any number of indicators, from any sector, but by convention an
    indicator's sector is the plugin's sector.

    Example::

        @hookimpl
        def publicservices_indicators(register):
            register(Indicator(id="health.ae_4hr", title="A&E within 4 hours",
                               sector="health", measure="proportion", multiplier=100,
                               polarity="higher_is_better", unit="%", floor=95))
    """


@hookspec
def publicservices_readers(register: Callable[[Reader], None]) -> None:
    """Register readers that turn published file formats into the data contract.

    :param register:
        Call ``register(reader)`` with a :class:`publicservices.reading.Reader`: a ``name``
        (unique), a ``description``, a ``sniff(columns) -> bool`` test on the header, and a
        ``read(path, **options) -> ReadResult`` function.

    ``publicservices.read(path)`` asks the ``sniff`` of every reader whose ``extensions``
    cover the file. A built-in reader that recognises it wins (a plugin cannot take over a
    built-in layout), then the one plugin reader that does; when several plugin readers do,
    the read stops with a ``ReaderError`` naming them, and the generic ``contract`` layout
    is the fallback. ``read(path, format=name)`` picks one by name. A ``sniff`` that raises,
    or that accepts any header (it would claim every file), is left out with a
    ``PluginWarning``: it must test for its layout's columns and return ``True`` or ``False``.

    Example::

        @hookimpl
        def publicservices_readers(register):
            register(Reader(name="fingertips", description="Fingertips data download",
                            sniff=lambda cols: {"Indicator ID", "Area Code"} <= set(cols),
                            read=read_fingertips))
    """


@hookspec
def publicservices_demo_data(register: Callable[..., None]) -> None:
    """Contribute synthetic indicator values to the demo nation.

    :param register:
        Call ``register(sector, generate)`` with a sector id, where ``generate(nation)``
        receives the :class:`publicservices.synthetic.DemoNation` (areas, periods, spend and
        a seeded random generator) and returns a :class:`publicservices.synthetic.DemoData`
        with a values frame in the data contract and the true parameters used to simulate it.

    The nation simulates each sector's spend from its declared ``Sector.demo`` (see
    ``publicservices_sectors``), and generic figures for a sector that declares none.

    The generator must be deterministic for a given nation (use only ``nation.rng(...)``
    for randomness) and must only produce values for indicators the plugin registers.

    Example::

        @hookimpl
        def publicservices_demo_data(register):
            register("health", simulate_health)
    """


@hookspec
def publicservices_international_comparators(register: Callable[[InternationalComparator], None]) -> None:
    """Link the plugin's indicators to international comparator tables (OECD PISA means, for example).

    :param register:
        Call ``register(comparator)`` once per :class:`publicservices.InternationalComparator`:
        its ``id`` (``<sector>.<name>``, unique across plugins), ``title``, the national
        ``indicator`` it matches, the table's ``measure`` (subject) and ``source`` (a
        file-name pattern) with the ``reader`` that reads it, the nation's ``country`` code,
        the comparison ``group`` (``"OECD average"``, optionally ``countries``), the
        ``polarity`` a difference is read with, and a ``note`` on how the two relate.

    When the website is given an international table (``publicservices publish
    --international FILE``, or the project file's ``[international]`` key), every comparator
    whose ``source`` matches the file name and whose ``measure`` the table holds is computed
    in the site model: the nation's difference from each country and from the group's
    average with intervals, and its rank with a confidence set. The site's "International
    comparison" page shows them; a table no comparator matches gets the page with the reason.

    A comparator id that two plugins register is used by neither, and a ``PluginWarning``
    names both (a built-in plugin's stays the built-in's). Registering anything but an
    ``InternationalComparator``, or an id twice in one plugin, disables the plugin. By
    convention a comparator's sector and its ``indicator`` are the plugin's own.

    Example::

        @hookimpl
        def publicservices_international_comparators(register):
            register(InternationalComparator(
                id="schools.pisa_reading", title="Reading at age 15 (PISA)",
                indicator="schools.gcse_english_maths", measure="reading", source="*pisa*",
                country="GBR", group="OECD average", polarity="higher_is_better",
                note="PISA samples the whole UK, not England alone."))
    """


def hook_names() -> list[str]:
    """The names of every hook in the contract, in definition order."""
    return [name for name, obj in globals().items() if name.startswith("publicservices_") and callable(obj)]
