"""A small synthetic dataset of any size, for testing and benchmarking the site.

Unlike the demo nation it needs no sector plugin, takes any number of areas (7,000 GP
practices as easily as 5 councils), and lets a test choose hostile area names. Area codes
are ``E06000001``, ``E06000002`` ... (real unitary-authority codes for the first few, so a
real boundaries file draws them); regions are ``E12000001`` ... with ``area_type`` "region".

Example:
    >>> ds = sample_dataset(n_areas=4, n_periods=2)
    >>> sorted(ds.indicators), ds.values.height
    (['health.sample_rate', 'health.sample_screening', 'schools.sample_score'], 24)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl

from publicservices.dataset import Dataset
from publicservices.indicators import Indicator

__all__ = ["sample_dataset"]

INDICATORS = (
    Indicator(
        id="health.sample_screening",
        title="Screening coverage (sample)",
        sector="health",
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        floor=70.0,
        service="health",
        source="Synthetic: publicservices.site.sample",
        definition="Share of eligible people screened (invented data).",
    ),
    Indicator(
        id="health.sample_rate",
        title="Emergency admissions (sample)",
        sector="health",
        measure="rate",
        multiplier=100_000,
        polarity="lower_is_better",
        unit="per 100,000",
        service="health",
        source="Synthetic: publicservices.site.sample",
        definition="Admissions per 100,000 residents (invented data; small counts).",
    ),
    Indicator(
        id="schools.sample_score",
        title="Average attainment score (sample)",
        sector="schools",
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="points",
        service="schools",
        source="Synthetic: publicservices.site.sample",
        definition="Mean pupil score (invented data).",
    ),
)
REGIONS = 9


def sample_dataset(n_areas: int = 12, n_periods: int = 3, *, names: Mapping[str, str] | None = None, seed: int = 0) -> Dataset:
    """A synthetic dataset: ``n_areas`` local authorities in up to nine regions, three indicators.

    Parameters:
        n_areas: number of compared areas (codes ``E06000001`` upwards).
        n_periods: annual periods ending 2023/24.
        names: area names to use instead of the invented ones, by code (for hostile-input tests).
        seed: random seed; the same seed gives the same dataset everywhere.
    """
    rng = np.random.default_rng(seed)
    codes = [f"E06{i:06d}" for i in range(1, n_areas + 1)]
    n_regions = min(REGIONS, max(1, n_areas // 2))
    region_of = np.arange(n_areas) % n_regions
    regions = [f"E12{i:06d}" for i in range(1, n_regions + 1)]
    population = np.round(np.exp(rng.normal(11.5, 0.6, n_areas)))
    deprivation = np.round(rng.uniform(5, 45, n_areas), 2)
    chosen = dict(names or {})
    areas = pl.DataFrame(
        {
            "area_code": codes + regions,
            "area_name": [chosen.get(c, f"Sampleton {i}") for i, c in enumerate(codes, 1)]
            + [f"Region {i}" for i in range(1, n_regions + 1)],
            "area_type": ["local authority"] * n_areas + ["region"] * n_regions,
            "parent_code": [regions[r] for r in region_of] + [None] * n_regions,
            "population": np.concatenate([population, [population[region_of == r].sum() for r in range(n_regions)]]),
            "deprivation": np.concatenate([deprivation, [deprivation[region_of == r].mean() for r in range(n_regions)]]),
        }
    )
    years = range(2024 - n_periods, 2024)
    periods = [f"{y}/{(y + 1) % 100:02d}" for y in years]
    starts = [dt.date(y, 4, 1) for y in years]
    frames = []
    effect = rng.normal(0, 1, n_areas)
    for t, (period, start) in enumerate(zip(periods, starts, strict=True)):
        eligible = np.round(population * 0.2)
        screened = rng.binomial(
            eligible.astype(np.int64), 1 / (1 + np.exp(-(0.9 + 0.15 * effect - 0.01 * deprivation + 0.02 * t)))
        )
        # A few small areas have a handful of admissions: the cells the site must suppress.
        admissions = rng.poisson(population * 6e-5 * np.exp(0.2 * effect + 0.01 * deprivation))
        pupils = np.round(population * 0.012)
        score = 50 + 2 * effect - 0.1 * deprivation + rng.normal(0, 0.5, n_areas)
        half = 1.96 * 10 / np.sqrt(pupils)
        base = {"area_code": codes, "period": [period] * n_areas, "period_start": [start] * n_areas}
        frames += [
            pl.DataFrame(
                {**base, "indicator_id": "health.sample_screening", "numerator": screened.astype(float), "denominator": eligible}
            ),
            pl.DataFrame(
                {**base, "indicator_id": "health.sample_rate", "numerator": admissions.astype(float), "denominator": population}
            ),
            pl.DataFrame(
                {
                    **base,
                    "indicator_id": "schools.sample_score",
                    "denominator": pupils,
                    "value": score,
                    "lower_ci": score - half,
                    "upper_ci": score + half,
                }
            ),
        ]
    values = pl.concat(frames, how="diagonal_relaxed")
    spend = pl.concat(
        [
            pl.DataFrame(
                {
                    "area_code": codes,
                    "period": [p] * n_areas,
                    "service": service,
                    "spend": np.round(population * per_head * rng.uniform(0.8, 1.2, n_areas)),
                }
            )
            for p in periods
            for service, per_head in (("health", 1800.0), ("schools", 900.0))
        ]
    )
    return Dataset(
        values,
        areas,
        spend,
        INDICATORS,
        metadata={
            "title": "Sample dataset (synthetic)",
            "synthetic": True,
            "seed": seed,
            "source": "publicservices.site.sample: invented data for tests and benchmarks.",
        },
    )
