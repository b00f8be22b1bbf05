"""Assemble the demo dataset from every plugin's demo-data generator."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.errors import PluginError, PublicServicesError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset
    from publicservices.plugins import PluginRegistry

__all__ = ["demo", "DEMO_TITLE"]

DEMO_TITLE = "Demo nation (synthetic data, not real statistics)"


def demo(
    seed: int = 0,
    sectors: str | Iterable[str] | None = None,
    *,
    registry: PluginRegistry | None = None,
    scale: float = 1.0,
) -> Dataset:
    """A Dataset for a fictional country, simulated by every installed sector plugin.

    150 upper-tier areas in 9 regions, 10 financial years (2014/15 to 2023/24), spend per
    area, period and service, and indicator values from each plugin's hierarchical model
    (see :mod:`publicservices.synthetic`). ``dataset.truth`` keeps the true values and
    parameters so that estimators can be checked against them; ``dataset.metadata`` says
    it is synthetic.

    Parameters:
        seed: non-negative integer; the same seed gives the same dataset on every platform.
        sectors: limit to these sectors (default: every plugin that contributes demo data;
            ``PUBLICSERVICES_LOAD_PLUGINS`` limits which plugins load at all).
        registry: a plugin registry to use instead of the process-wide one (tests).
        scale: multiplies every indicator's people at risk, so counts and sample sizes (and
            the records :func:`publicservices.demo_records` writes) grow or shrink with it;
            the true values stay the same. 1.0 (default) is the standard demo, bit for bit.

    Example:
        >>> import publicservices as ps
        >>> ds = ps.demo(seed=0)
        >>> ds.synthetic, ds.areas.height, len(ds.periods)
        (True, 150, 10)
        >>> sorted(ds.truth["efficient_areas"]) == sorted(ds.sectors)
        True
    """
    from publicservices.dataset import Dataset
    from publicservices.plugins import get_registry
    from publicservices.synthetic.model import DemoData, merge_truth
    from publicservices.synthetic.nation import DemoNation, declared_spend

    registry = registry or get_registry()
    generators = registry.demo_generators()
    available = list(dict.fromkeys(g.sector for g in generators))
    if sectors is not None:
        wanted = {sectors} if isinstance(sectors, str) else set(sectors)
        unknown = sorted(wanted - set(available))
        if unknown:
            raise PluginError(
                f"no installed plugin provides demo data for sector(s) {', '.join(map(repr, unknown))}.\n"
                f"Fix: choose from {', '.join(available) or '(none)'}, or install the sector's plugin "
                "(pip install publicservices-<sector>; see `publicservices plugins`)."
            )
        generators = [g for g in generators if g.sector in wanted]
    if not generators:
        raise PluginError(
            "no installed plugin provides demo data, so the demo nation would be empty.\n"
            "Fix: install a sector plugin (pip install publicservices-<sector>), and check "
            "PUBLICSERVICES_LOAD_PLUGINS does not leave them all out (see `publicservices plugins`)."
        )
    # Sectors in order of their id, so the dataset does not depend on the order plugins load in.
    generators = sorted(generators, key=lambda g: g.sector)
    sector_names = list(dict.fromkeys(g.sector for g in generators))
    registered = registry.indicators()
    # Spend is simulated for each sector and for any other service its plugin's indicators name.
    plugins = {g.plugin for g in generators}
    wanted_services = set(sector_names) | {
        ind.service for i, ind in registered.items() if ind.service and registry.owner(i) in plugins
    }
    # Each sector's spend as it declares it (Sector.demo); generic figures for the others.
    services = sector_names + sorted(wanted_services - set(sector_names))
    nation = DemoNation(seed, services=services, spend=declared_spend(registry), scale=scale)
    parts: list[DemoData] = []
    for generator in generators:
        try:
            data = generator.generate(nation)
        except PublicServicesError as exc:
            raise PluginError(f"demo data for sector {generator.sector!r} failed: {exc}", distribution=generator.plugin) from exc
        except Exception as exc:  # noqa: BLE001 - a plugin bug must name the plugin
            raise PluginError(
                f"demo data for sector {generator.sector!r} raised {type(exc).__name__}: {exc}",
                distribution=generator.plugin,
            ) from exc
        if not isinstance(data, DemoData):
            raise PluginError(
                f"demo generator for {generator.sector!r} returned {type(data).__name__}, not DemoData.\n"
                "Fix: return publicservices.synthetic.DemoData(values=..., truth=...).",
                distribution=generator.plugin,
            )
        ids = data.values.get_column("indicator_id").unique().sort().to_list()
        foreign = [i for i in ids if registry.owner(i) != generator.plugin]
        if foreign:
            raise PluginError(
                f"demo data for {generator.sector!r} has values for indicator(s) it does not register: {foreign[:5]}.\n"
                "Fix: register those indicators in the same plugin, or drop their rows.",
                distribution=generator.plugin,
            )
        parts.append(data)
    values = pl.concat([p.values for p in parts], how="diagonal_relaxed")
    used = set(values.get_column("indicator_id").unique().to_list())
    indicators = {i: ind for i, ind in registered.items() if i in used}
    truth: dict[str, Any] = merge_truth(p.truth for p in parts)
    truth["seed"] = seed
    truth["deprivation_sd"] = nation.deprivation_sd
    truth["efficiency"] = nation.efficiency
    truth["efficient_areas"] = {s: v["efficient"] for s, v in nation.efficient_areas().items()}
    truth["inefficient_areas"] = {s: v["inefficient"] for s, v in nation.efficient_areas().items()}
    metadata = {
        "title": DEMO_TITLE,
        "synthetic": True,
        "seed": seed,
        **({} if scale == 1.0 else {"scale": float(scale)}),
        "source": "Simulated by publicservices.synthetic and the sector plugins' demo models. Not real statistics.",
        "note": "Every place, code and number in this dataset is invented. Codes start with X so they can never be mistaken for ONS codes.",
        "sectors": sector_names,
        "regions": nation.regions.select("region_code", "region_name").to_dicts(),
    }
    return Dataset(values=values, areas=nation.areas, spend=nation.spend, indicators=indicators, truth=truth, metadata=metadata)
