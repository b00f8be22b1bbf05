"""The demo nation: areas, periods, spend and seeded randomness, shared by every sector.

Sector plugins simulate their indicators on a :class:`DemoNation` (see
:mod:`publicservices.synthetic.model`). The tile map, regions, area codes and names are
fixed; populations, deprivation, urban/rural class, spend and which areas are efficient are
drawn from the seed. The nation knows no sector by name: the spend services and their
parameters come from the sectors the plugins declare (``Sector.demo``, a
:class:`~publicservices.sectors.DemoSpend`); a service no sector declares gets
:data:`DEFAULT_SPEND`.

Example:
    >>> from publicservices.sectors import DemoSpend
    >>> nation = DemoNation(seed=0, spend={"roads": DemoSpend(per_head=95.0)}, services=["roads", "parks"])
    >>> nation.areas.height, len(nation.periods), nation.periods[0], nation.periods[-1]
    (150, 10, '2014/15', '2023/24')
    >>> nation.services, nation.spend_parameters["parks"] == DEFAULT_SPEND
    (('roads', 'parks'), True)
    >>> bool(nation.rng("x").random() == DemoNation(seed=0).rng("x").random())
    True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.errors import DataError
from publicservices.sectors import DemoSpend
from publicservices.synthetic.geography import REGIONS, area_names, stable_hash, tile_frame

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from publicservices.plugins import PluginRegistry

__all__ = ["DemoNation", "PERIODS", "DEFAULT_SPEND", "EFFICIENT_SHARE", "declared_spend"]

FIRST_YEAR = 2014
N_PERIODS = 10
PERIODS: tuple[str, ...] = tuple(f"{y}/{(y + 1) % 100:02d}" for y in range(FIRST_YEAR, FIRST_YEAR + N_PERIODS))

DEFAULT_SPEND = DemoSpend(per_head=150.0, need=0.10, growth=0.020, sd=0.12)
"""Spend of a service that no sector declares (``Sector.demo`` is ``None``, or no sector has its name)."""
# Share of areas that are truly efficient (and, separately, inefficient) in each service.
EFFICIENT_SHARE = 0.12

# area type -> (median population, SD of log population)
_POPULATION = {
    "Capital borough": (270_000, 0.22),
    "Metropolitan district": (320_000, 0.40),
    "County": (760_000, 0.30),
    "Unitary authority": (185_000, 0.62),
}
# Deprivation score shifts (IMD-like average score, higher = more deprived).
_REGION_DEPRIVATION = {"A": 3.0, "I": 4.5, "F": 5.5, "D": 0.0, "C": 2.0, "G": 3.0, "H": -0.5, "E": -2.5, "B": 4.0}
_TYPE_DEPRIVATION = {"Capital borough": 3.0, "Metropolitan district": 7.0, "County": -6.0, "Unitary authority": 0.0}


class DemoNation:
    """A fictional country of 150 upper-tier areas in 9 regions, 2014/15 to 2023/24.

    Parameters:
        seed: non-negative integer; the same seed gives the same nation on every platform
            (for a given NumPy version).
        services: spend services to simulate (default: every service in ``spend``).
        spend: service -> its :class:`~publicservices.sectors.DemoSpend` (default: the
            declared sectors' ``demo``, see :func:`declared_spend`); a service without one
            gets :data:`DEFAULT_SPEND`.
        registry: the plugin registry whose sectors give the default ``spend`` (default:
            the process-wide one).
        scale: multiplies every indicator's people at risk (``Model.denominator_per_head``),
            so counts and sample sizes grow or shrink with it and the noise with them; the
            true values do not change. 1.0 (default) is the standard demo, bit for bit;
            :func:`publicservices.demo_records` uses it to size its records.

    Attributes:
        areas: ``area_code``, ``area_name``, ``area_type``, ``parent_code`` (region code),
            ``population``, ``deprivation`` (score, higher = more deprived),
            ``deprivation_decile`` (1 = most deprived tenth), ``urban_rural``,
            ``region_name``, ``hex_q``, ``hex_r``, ``tile_x``, ``tile_y``.
        regions: ``region_code``, ``region_name``, ``areas``, ``population``.
        periods: period labels in order; ``period_frame`` adds ``period_start`` and ``year_index``.
        spend: ``area_code``, ``period``, ``service``, ``spend`` (pounds).
        efficiency: ``area_code``, ``service``, ``efficiency`` (efficient / typical /
            inefficient) and ``score`` (+1 / 0 / -1), the truth behind value-for-money.
        spend_parameters: service -> the :class:`~publicservices.sectors.DemoSpend` its
            spend was simulated from.
    """

    def __init__(
        self,
        seed: int = 0,
        services: Sequence[str] | None = None,
        *,
        spend: Mapping[str, DemoSpend] | None = None,
        registry: PluginRegistry | None = None,
        scale: float = 1.0,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise DataError(f"seed {seed!r} must be a non-negative integer.\nFix: pass seed=0, 1, 2 ...")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
            raise DataError(
                f"scale {scale!r} must be a positive number (1.0 is the standard demo).\n"
                "Fix: pass scale=1.0, or e.g. 0.01 for a hundredth of the people at risk."
            )
        if isinstance(services, str):
            raise DataError(
                f"services must be a list of service names, not the string {services!r}.\nFix: services=[{services!r}]."
            )
        if spend is None:
            spend = declared_spend(registry)
        wrong = [s for s, p in spend.items() if not isinstance(p, DemoSpend)]
        if wrong:
            raise DataError(
                f"spend for {', '.join(map(repr, wrong))} must be a DemoSpend.\n"
                "Fix: spend={'service': DemoSpend(per_head=..., need=..., growth=..., sd=...)}."
            )
        self.seed = seed
        self.scale = float(scale)
        self.services: tuple[str, ...] = tuple(dict.fromkeys(spend if services is None else services))
        self.spend_parameters: dict[str, DemoSpend] = {s: spend.get(s, DEFAULT_SPEND) for s in self.services}
        self.periods: list[str] = list(PERIODS)
        self.period_frame = pl.DataFrame(
            {
                "period": self.periods,
                "period_start": [dt.date(FIRST_YEAR + i, 4, 1) for i in range(N_PERIODS)],
                "year_index": list(range(N_PERIODS)),
            }
        )
        self.areas = self._build_areas()
        self.regions = self._build_regions()
        self._spend_per_head: dict[str, Any] = {}
        self.spend = self._build_spend()
        self.efficiency = self._build_efficiency()

    def __repr__(self) -> str:
        return (
            f"DemoNation(seed={self.seed}{'' if self.scale == 1.0 else f', scale={self.scale:g}'}): synthetic, {self.areas.height} areas in {self.regions.height} regions, "
            f"periods {self.periods[0]} to {self.periods[-1]}, services {', '.join(self.services)}"
        )

    # -- randomness ------------------------------------------------------------------------

    def rng(self, key: str) -> np.random.Generator:
        """An independent NumPy generator for ``key``, from ``SeedSequence([seed, stable_hash(key)])``.

        Each use (an indicator, the spend of a service ...) has its own stream, so adding an
        indicator or a plugin never changes the numbers of another.
        """
        import numpy as np

        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, stable_hash(key)])))

    # -- arrays for generators ---------------------------------------------------------------

    @property
    def area_codes(self) -> list[str]:
        return self.areas.get_column("area_code").to_list()

    @property
    def population(self) -> np.ndarray:
        """Population of each area (in ``areas`` order)."""
        return self.areas.get_column("population").to_numpy()

    @property
    def deprivation_z(self) -> np.ndarray:
        """Deprivation score standardised to mean 0 and SD 1 across the areas."""
        dep = self.areas.get_column("deprivation").to_numpy()
        return (dep - dep.mean()) / dep.std()

    @property
    def deprivation_sd(self) -> float:
        return float(self.areas.get_column("deprivation").to_numpy().std())

    @property
    def year_index(self) -> np.ndarray:
        import numpy as np

        return np.arange(N_PERIODS, dtype=float)

    def spend_per_head(self, service: str) -> np.ndarray:
        """Pounds per head, areas x periods, for one service."""
        if service not in self._spend_per_head:
            raise DataError(
                f"the demo nation has no spend for service {service!r}.\n"
                f"Fix: use one of {', '.join(self.services) or '(none)'}, or build DemoNation(services=[...]) with it "
                "(a plugin's sector declares its spend with Sector(demo=DemoSpend(...)))."
            )
        return self._spend_per_head[service]

    def log_spend_index(self, service: str) -> np.ndarray:
        """log(spend per head) centred on the mean across areas in each period (areas x periods)."""
        import numpy as np

        log_spend = np.log(self.spend_per_head(service))
        return log_spend - log_spend.mean(axis=0, keepdims=True)

    def efficiency_score(self, service: str) -> np.ndarray:
        """+1 for truly efficient, -1 for truly inefficient, 0 otherwise (areas order)."""
        frame = self.efficiency.filter(pl.col("service") == service)
        if frame.height == 0:
            self.spend_per_head(service)  # raises the named error
        return frame.get_column("score").to_numpy().astype(float)

    # -- construction ----------------------------------------------------------------------

    def _build_areas(self) -> pl.DataFrame:
        import numpy as np

        tiles = tile_frame()
        types = tiles.get_column("area_type").to_list()
        letters = tiles.get_column("region_letter").to_list()
        n = len(types)
        rng = self.rng("areas")
        medians = np.array([_POPULATION[t][0] for t in types], dtype=float)
        sds = np.array([_POPULATION[t][1] for t in types])
        population = np.round(np.clip(medians * np.exp(sds * rng.standard_normal(n)), 40_000, 1_500_000), -2)
        deprivation = 21.0 + np.array([_REGION_DEPRIVATION[g] for g in letters]) + np.array([_TYPE_DEPRIVATION[t] for t in types])
        deprivation = np.round(np.clip(deprivation + 5.5 * rng.standard_normal(n), 5.0, 50.0), 2)
        # Decile 1 holds the most deprived tenth, as in the English Indices of Deprivation.
        order = np.argsort(-deprivation, kind="stable")
        rank = np.empty(n, dtype=int)
        rank[order] = np.arange(n)
        decile = rank * 10 // n + 1
        u = rng.random(n)
        urban = np.where(
            np.isin(types, ["Capital borough", "Metropolitan district"]),
            "Predominantly urban",
            np.where(
                np.array(types) == "County",
                np.where(u < 0.6, "Predominantly rural", "Urban with significant rural"),
                np.where(
                    population > 250_000,
                    "Predominantly urban",
                    np.where(
                        population > 120_000,
                        np.where(u < 0.5, "Predominantly urban", "Urban with significant rural"),
                        np.where(u < 0.5, "Urban with significant rural", "Predominantly rural"),
                    ),
                ),
            ),
        )
        regions = pl.DataFrame(
            {
                "region_letter": list(REGIONS),
                "parent_code": [v[0] for v in REGIONS.values()],
                "region_name": [v[1] for v in REGIONS.values()],
            }
        )
        return (
            tiles.with_columns(
                area_name=pl.Series(area_names(types)),
                population=pl.Series(population),
                deprivation=pl.Series(deprivation),
                deprivation_decile=pl.Series(decile).cast(pl.Int32),
                urban_rural=pl.Series(urban.tolist(), dtype=pl.String),
            )
            .join(regions, on="region_letter", how="left", maintain_order="left")
            .select(
                "area_code",
                "area_name",
                "area_type",
                "parent_code",
                "population",
                "deprivation",
                "deprivation_decile",
                "urban_rural",
                "region_name",
                "hex_q",
                "hex_r",
                "tile_x",
                "tile_y",
            )
        )

    def _build_regions(self) -> pl.DataFrame:
        return (
            self.areas.group_by("parent_code", "region_name", maintain_order=True)
            .agg(areas=pl.len(), population=pl.col("population").sum())
            .rename({"parent_code": "region_code"})
            .sort("region_code")
        )

    def _build_spend(self) -> pl.DataFrame:
        import numpy as np

        pop = self.population
        z = self.deprivation_z
        t = self.year_index
        frames = []
        for service in self.services:
            p = self.spend_parameters[service]
            base, need, growth, sd = p.per_head, p.need, p.growth, p.sd
            rng = self.rng(f"spend.{service}")
            choice = sd * rng.standard_normal(len(pop))
            wobble = 0.03 * rng.standard_normal((len(pop), len(t)))
            per_head = base * np.exp((need * z + choice)[:, None] + growth * t[None, :] + wobble)
            self._spend_per_head[service] = per_head
            frames.append(
                pl.DataFrame(
                    {
                        "area_code": np.repeat(np.array(self.area_codes), len(t)),
                        "period": np.tile(np.array(self.periods), len(pop)),
                        "service": service,
                        "spend": np.round(per_head * pop[:, None], 0).ravel(),
                    }
                )
            )
        if not frames:
            return pl.DataFrame(schema={"area_code": pl.String, "period": pl.String, "service": pl.String, "spend": pl.Float64})
        return pl.concat(frames)

    def _build_efficiency(self) -> pl.DataFrame:
        import numpy as np

        n = self.areas.height
        k = round(EFFICIENT_SHARE * n)
        frames = []
        for service in self.services:
            order = self.rng(f"efficiency.{service}").permutation(n)
            score = np.zeros(n)
            score[order[:k]] = 1.0
            score[order[k : 2 * k]] = -1.0
            frames.append(pl.DataFrame({"area_code": self.area_codes, "service": service, "score": score}))
        schema = {"area_code": pl.String, "service": pl.String, "score": pl.Float64}
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
        return frame.with_columns(
            efficiency=pl.col("score").replace_strict(
                {1.0: "efficient", 0.0: "typical", -1.0: "inefficient"}, return_dtype=pl.String
            )
        ).select("area_code", "service", "efficiency", "score")

    def efficient_areas(self) -> dict[str, dict[str, list[str]]]:
        """``{service: {"efficient": [...], "inefficient": [...]}}`` (codes sorted)."""
        out: dict[str, dict[str, list[str]]] = {}
        for service in self.services:
            frame = self.efficiency.filter(pl.col("service") == service)
            out[service] = {
                label: sorted(frame.filter(pl.col("efficiency") == label).get_column("area_code").to_list())
                for label in ("efficient", "inefficient")
            }
        return out


def declared_spend(registry: PluginRegistry | None = None) -> dict[str, DemoSpend]:
    """Service -> demo spend of every declared sector that gives one (``Sector.demo``), by sector id.

    Parameters:
        registry: the plugin registry (default: the process-wide one).
    """
    from publicservices.plugins import get_registry

    sectors = (registry or get_registry()).sectors()
    return {sector.id: sector.demo for sector in sectors.values() if sector.demo is not None}
