"""Everything a sector plugin may import, in one place, and a helper that declares a whole plugin.

A plugin imports only ``publicservices`` and ``publicservices.plugin_api``: the names below
are the contract between the core and its plugins, kept stable; anything else in the core
may change without notice. Names are imported lazily, so importing this module (as every
plugin does when it loads) stays light: Polars is imported only when a reader needs it.

* declaring a sector: :func:`sector_plugin`, :class:`SectorPlugin`, ``Sector``,
  ``ReportCardScheme``, ``ClosingGap``, ``DemoSpend``, ``Indicator`` (with ``RecordDefinition``
  and ``AgeBands`` for indicators built from records),
  ``InternationalComparator``, ``hookimpl``;
* readers: ``Reader``, ``ReadResult``, ``LoadReport``, ``count_reasons``, ``read_header``,
  ``mapped_els_reader``, ``mapped_ees_reader``, ``area_type_expr``, ``join_area_names``, ``to_polars``,
  ``number_from_text``, ``unread_numbers``, ``unread_note``, ``unread_reason`` (numbers written
  with thousands separators or a % sign, and the symbols written where one is withheld), ``validate_values``, ``validate_areas``, ``validate_spend``;
* errors: ``PublicServicesError``, ``DataError``, ``ReaderError``, ``IndicatorError``,
  ``PluginError``;
* demo data: ``Model``, ``simulate``, ``DemoData``, ``DemoNation``;
* testing: ``check_plugin``.

A sector plugin's ``__init__.py`` is then a declaration:

Example:
    >>> from publicservices.plugin_api import Indicator, Model, Sector, DemoSpend, sector_plugin
    >>> buses = Indicator(id="transport.bus_punctuality", title="Buses on time", sector="transport",
    ...                   measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
    ...                   source="DfT, Bus statistics (BUS09)",
    ...                   definition="Percentage of non-frequent local bus services running on time.")
    >>> plugin = sector_plugin(Sector(id="transport", title="Transport", demo=DemoSpend(per_head=95.0)),
    ...                        [buses], models={buses.id: Model(baseline=83.0, tau=0.25)})
    >>> plugin
    <sector plugin 'transport': 1 indicator, no readers, demo data>
    >>> sorted(plugin.hooks)
    ['publicservices_demo_data', 'publicservices_indicators', 'publicservices_sectors']
    >>> from publicservices.plugins import PluginRegistry
    >>> registry = PluginRegistry(entry_points=False, defaults=False)
    >>> registry.register(plugin, name="transport")
    >>> registry.sectors()["transport"].title, list(registry.indicators())
    ('Transport', ['transport.bus_punctuality'])

In the module an entry point names, ``namespace=globals()`` puts the hooks in the module,
where pluggy finds them (see ``docs/plugins/write-a-plugin.md``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from publicservices.errors import PluginError
from publicservices.hookspecs import hookimpl
from publicservices.indicators import Indicator
from publicservices.international_comparators import InternationalComparator
from publicservices.record_definitions import AgeBands, RecordDefinition
from publicservices.sectors import ClosingGap, DemoSpend, ReportCardScheme, Sector

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.default_plugins.ees import mapped_ees_reader
    from publicservices.default_plugins.els import mapped_els_reader
    from publicservices.default_plugins.geography import area_type_expr, join_area_names
    from publicservices.errors import DataError, IndicatorError, PublicServicesError, ReaderError
    from publicservices.frame import to_polars, validate_areas, validate_spend, validate_values
    from publicservices.published_numbers import number_from_text, unread_note, unread_numbers, unread_reason
    from publicservices.reading import LoadReport, Reader, ReadResult, count_reasons, read_header
    from publicservices.synthetic.model import DemoData, Model, simulate
    from publicservices.synthetic.nation import DemoNation
    from publicservices.testing import check_plugin

# public name -> module that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    # readers
    "Reader": "publicservices.reading",
    "ReadResult": "publicservices.reading",
    "LoadReport": "publicservices.reading",
    "count_reasons": "publicservices.reading",
    "read_header": "publicservices.reading",
    "number_from_text": "publicservices.published_numbers",
    "unread_numbers": "publicservices.published_numbers",
    "unread_note": "publicservices.published_numbers",
    "unread_reason": "publicservices.published_numbers",
    "mapped_els_reader": "publicservices.default_plugins.els",
    "mapped_ees_reader": "publicservices.default_plugins.ees",
    "area_type_expr": "publicservices.default_plugins.geography",
    "join_area_names": "publicservices.default_plugins.geography",
    "to_polars": "publicservices.frame",
    "validate_values": "publicservices.frame",
    "validate_areas": "publicservices.frame",
    "validate_spend": "publicservices.frame",
    # errors
    "PublicServicesError": "publicservices.errors",
    "DataError": "publicservices.errors",
    "ReaderError": "publicservices.errors",
    "IndicatorError": "publicservices.errors",
    # demo data
    "Model": "publicservices.synthetic.model",
    "simulate": "publicservices.synthetic.model",
    "DemoData": "publicservices.synthetic.model",
    "DemoNation": "publicservices.synthetic.nation",
    # testing
    "check_plugin": "publicservices.testing",
}

__all__ = [
    "sector_plugin",
    "SectorPlugin",
    "Sector",
    "ReportCardScheme",
    "ClosingGap",
    "DemoSpend",
    "Indicator",
    "RecordDefinition",
    "AgeBands",
    "InternationalComparator",
    "hookimpl",
    "PluginError",
    *_EXPORTS,
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'publicservices.plugin_api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class SectorPlugin:
    """A sector plugin made from one declaration (see :func:`sector_plugin`).

    It implements, as plain functions marked with ``hookimpl``, only the hooks it has
    something for: ``publicservices_sectors`` (the sector), ``publicservices_indicators``
    (the indicators), ``publicservices_readers`` (the readers and the ELS mapping's reader),
    ``publicservices_demo_data`` (:meth:`generate`) and
    ``publicservices_international_comparators`` (the comparators). ``hooks`` maps each name to its
    function; register the object itself in-process, or put ``hooks`` in the module an
    entry point names.

    Attributes:
        sector: the :class:`~publicservices.sectors.Sector`.
        indicators: the indicators, in order.
        models: indicator id -> demo :class:`~publicservices.synthetic.model.Model`.
        readers: the readers, in order.
        els: ONS Explore local statistics indicator name -> indicator id (or ``None``).
        comparators: the international comparators, in order.
        hooks: hook name -> hook implementation.
    """

    def __init__(
        self,
        sector: Sector,
        indicators: Iterable[Indicator] = (),
        *,
        models: Mapping[str, Any] | None = None,
        generate: Callable[[Any], Any] | None = None,
        readers: Iterable[Any] = (),
        els: Mapping[str, str] | None = None,
        els_description: str | None = None,
        comparators: Iterable[InternationalComparator] = (),
    ) -> None:
        errors: list[str] = []
        if not isinstance(sector, Sector):
            raise PluginError(
                f"sector_plugin() needs a Sector first, not {type(sector).__name__}.\n"
                "Fix: sector_plugin(Sector(id='transport', title='Transport'), INDICATORS, ...)."
            )
        indicators = tuple(indicators)
        ids: list[str] = []
        for ind in indicators:
            if not isinstance(ind, Indicator):
                errors.append(f"indicators must be Indicator objects, not {type(ind).__name__} ({ind!r:.60})")
            elif ind.sector != sector.id:
                errors.append(
                    f"indicator {ind.id!r} is of sector {ind.sector!r}, not {sector.id!r} (a plugin declares its own sector's indicators)"
                )
            elif ind.id in ids:
                errors.append(f"indicator {ind.id!r} is given twice")
            else:
                ids.append(ind.id)
        models = dict(models or {})
        unknown = sorted(set(models) - set(ids))
        if unknown:
            errors.append(
                f"models name {', '.join(map(repr, unknown))}, which {'is' if len(unknown) == 1 else 'are'} not among the indicators"
            )
        if models and generate is not None:
            errors.append("give models= (simulated with publicservices.plugin_api.simulate) or generate=, not both")
        if generate is not None and not callable(generate):
            errors.append(f"generate must be a function generate(nation) -> DemoData, not {generate!r}")
        readers = tuple(readers)
        for reader in readers:
            if not all(hasattr(reader, a) for a in ("name", "sniff", "read")):
                errors.append(f"readers must be Reader objects, not {type(reader).__name__}")
        if els is not None:
            if not isinstance(els, Mapping) or not els:
                errors.append(f"els must map ELS indicator names to indicator ids, not {els!r}")
            else:
                foreign = sorted({v for v in els.values() if v not in ids})
                if foreign:
                    errors.append(
                        f"els maps onto {', '.join(map(repr, foreign[:5]))}, which "
                        f"{'is' if len(foreign) == 1 else 'are'} not among the indicators"
                    )
        comparators = tuple(comparators)
        seen: set[str] = set()
        for comparator in comparators:
            if not isinstance(comparator, InternationalComparator):
                errors.append(f"comparators must be InternationalComparator objects, not {type(comparator).__name__}")
                continue
            if comparator.sector != sector.id:
                errors.append(
                    f"international comparator {comparator.id!r} is of sector {comparator.sector!r}, not {sector.id!r} "
                    "(its id starts with the plugin's sector)"
                )
            if comparator.indicator not in ids:
                errors.append(
                    f"international comparator {comparator.id!r} matches indicator {comparator.indicator!r}, which is not "
                    "among the indicators"
                )
            if comparator.id in seen:
                errors.append(f"international comparator {comparator.id!r} is given twice")
            seen.add(comparator.id)
        if errors:
            raise PluginError(
                f"invalid sector plugin {sector.id!r}:\n"
                + "\n".join(f"  - {e}" for e in errors)
                + "\nFix: correct the sector_plugin(...) declaration."
            )
        self.sector = sector
        self.indicators: tuple[Indicator, ...] = indicators
        self.models: dict[str, Any] = models
        self.readers: tuple[Any, ...] = readers
        self.els: dict[str, str] | None = dict(els) if els is not None else None
        self.comparators: tuple[InternationalComparator, ...] = comparators
        self.els_description = els_description or (
            f"ONS Explore local statistics CSV with {sector.title.lower()} indicator names mapped to {sector.id}.* ids"
        )
        self._generate = generate
        self.__name__ = sector.id  # how registries and check_plugin name it in-process
        self.hooks: dict[str, Callable[..., None]] = {}

        @hookimpl
        def publicservices_sectors(register: Callable[..., None]) -> None:
            register(self.sector)

        self.hooks["publicservices_sectors"] = publicservices_sectors
        if indicators:

            @hookimpl
            def publicservices_indicators(register: Callable[..., None]) -> None:
                for indicator in self.indicators:
                    register(indicator)

            self.hooks["publicservices_indicators"] = publicservices_indicators
        if readers or self.els:

            @hookimpl
            def publicservices_readers(register: Callable[..., None]) -> None:
                for reader in self.readers:
                    register(reader)
                if self.els:
                    from publicservices.default_plugins.els import mapped_els_reader

                    register(mapped_els_reader(self.els_reader_name, self.els, self.els_description))

            self.hooks["publicservices_readers"] = publicservices_readers
        if models or generate is not None:

            @hookimpl
            def publicservices_demo_data(register: Callable[..., None]) -> None:
                register(self.sector.id, self.generate)

            self.hooks["publicservices_demo_data"] = publicservices_demo_data
        if comparators:

            @hookimpl
            def publicservices_international_comparators(register: Callable[..., None]) -> None:
                for comparator in self.comparators:
                    register(comparator)

            self.hooks["publicservices_international_comparators"] = publicservices_international_comparators
        for name, function in self.hooks.items():
            setattr(self, name, function)  # pluggy finds the hooks on the object

    @property
    def els_reader_name(self) -> str:
        """The name of the reader the ELS mapping registers: ``<sector>-els``."""
        return f"{self.sector.id}-els"

    @property
    def reader_names(self) -> list[str]:
        """Every reader the plugin registers, in order."""
        return [r.name for r in self.readers] + ([self.els_reader_name] if self.els else [])

    def generate(self, nation: Any) -> Any:
        """The sector's demo data on ``nation``: the ``generate=`` function, or the ``models`` simulated in indicator order."""
        if self._generate is not None:
            return self._generate(nation)
        from publicservices.synthetic.model import simulate

        return simulate(nation, [(ind, self.models[ind.id]) for ind in self.indicators if ind.id in self.models])

    def export(self, namespace: MutableMapping[str, Any]) -> None:
        """Put the hooks in ``namespace`` (a module's ``globals()``), where pluggy finds them."""
        taken = [n for n in self.hooks if n in namespace and namespace[n] is not self.hooks[n]]
        if taken:
            raise PluginError(
                f"the module already defines {', '.join(taken)}, which sector_plugin(...) would replace.\n"
                "Fix: leave those hooks to sector_plugin(...), or do not pass namespace=."
            )
        namespace.update(self.hooks)

    def __repr__(self) -> str:
        n = len(self.indicators)
        readers = ", ".join(self.reader_names) or "no readers"
        demo = ", demo data" if "publicservices_demo_data" in self.hooks else ""
        k = len(self.comparators)
        international = f", {k} international comparator{'s' if k != 1 else ''}" if k else ""
        return f"<sector plugin {self.sector.id!r}: {n} indicator{'s' if n != 1 else ''}, {readers}{demo}{international}>"


def sector_plugin(
    sector: Sector,
    indicators: Iterable[Indicator] = (),
    *,
    models: Mapping[str, Any] | None = None,
    generate: Callable[[Any], Any] | None = None,
    readers: Iterable[Any] = (),
    els: Mapping[str, str] | None = None,
    els_description: str | None = None,
    comparators: Iterable[InternationalComparator] = (),
    namespace: MutableMapping[str, Any] | None = None,
) -> SectorPlugin:
    """Declare a whole sector plugin: its sector, indicators, readers, demo data and international comparators, in one call.

    Parameters:
        sector: the :class:`~publicservices.sectors.Sector` (title, spend lines, report-card
            scheme, demo spend).
        indicators: the sector's indicators (each of ``sector.id``), registered in order.
        models: indicator id -> demo ``Model``; the demo data simulates these indicators
            with ``simulate`` (use ``generate=`` instead to build the values yourself).
        generate: ``generate(nation) -> DemoData`` for the demo nation, instead of ``models``.
        readers: the ``Reader`` objects for the sector's published layouts.
        els: ONS Explore local statistics indicator name -> indicator id: registers the
            reader ``<sector>-els`` (and the core ``ons-els`` reader applies the mapping too).
        els_description: that reader's description.
        comparators: :class:`~publicservices.international_comparators.InternationalComparator`
            declarations linking the sector's indicators to international comparator tables
            (each of ``sector.id``, matching one of ``indicators``); the site's international
            comparison page shows them when it is given such a table.
        namespace: a module's ``globals()``: the hooks are put there, so that the module an
            entry point names is the plugin. Leave it out to register the object itself.

    Returns the :class:`SectorPlugin`. Anything invalid raises a ``PluginError`` listing every
    problem, so a plugin whose declaration is wrong is disabled with the reason.

    Example (``src/publicservices_transport/__init__.py``)::

        from publicservices.plugin_api import Sector, sector_plugin

        from publicservices_transport.bus_punctuality import READER
        from publicservices_transport.indicators import INDICATORS, MODELS

        plugin = sector_plugin(Sector(id="transport", title="Transport"), INDICATORS,
                               models=MODELS, readers=[READER], namespace=globals())
    """
    plugin = SectorPlugin(
        sector,
        indicators,
        models=models,
        generate=generate,
        readers=readers,
        els=els,
        els_description=els_description,
        comparators=comparators,
    )
    if namespace is not None:
        plugin.export(namespace)
    return plugin
