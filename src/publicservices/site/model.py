"""Everything the site shows, computed once before any page is written.

The pages only read this model: each statistic is computed here, by the library functions
an analyst would call in a notebook (``outcomes``, ``funnel_check``, ``rank_areas``,
``shrink``, ``postcode_lottery``, ``value_for_money``, ``nearest_neighbours``,
``report_cards``), on the published values: small counts are suppressed first, so ranks,
funnels and fairness measures never rest on a hidden number. Benchmarks use every count,
as an official total would.

A statistic that cannot be computed for an indicator (too few areas, no spend, no
deprivation scores) is left out of its page with a note saying why; it never stops the site.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.indicators import Indicator
from publicservices.site import sections
from publicservices.site.funnels import funnel_comparisons, funnels_and_ranks
from publicservices.site.progress import Advance, Progress
from publicservices.site.sections import attempt, count
from publicservices.site.selection import _headline_rows as _headline_rows  # tests reach it here
from publicservices.site.selection import (
    compared_units,
    comparison_pages,
    context_notes,
    data_hash,
    headline_layout,
    page_areas,
    page_values,
    select,
)
from publicservices.site.suppression import blank_hidden, suppress_small_counts

# The columns of the values contract: the published values, as the library functions read them.
PUBLIC_COLUMNS = (
    "indicator_id",
    "area_code",
    "period",
    "period_start",
    "numerator",
    "denominator",
    "value",
    "lower_ci",
    "upper_ci",
)


@dataclasses.dataclass
class SiteModel:
    """The statistics behind every page of one site."""

    dataset: Dataset
    indicators: dict[str, Indicator]  # published, in page order (sector, then id)
    areas: pl.DataFrame  # compared areas: code, name, parent, slug, attributes
    regions: pl.DataFrame  # parent_code, region_name
    results: pl.DataFrame  # outcomes of compared areas, all periods, after suppression
    latest: dict[str, str]  # indicator id -> latest published period
    funnels: dict[str, Any]
    ranks: dict[str, pl.DataFrame]  # latest period: ranks, rank intervals and shrunken estimates
    fairness: Any  # FairnessResult or None
    value: pl.DataFrame | None
    neighbours: pl.DataFrame | None
    grades: dict[str, pl.DataFrame]
    suppression: pl.DataFrame
    data_hash: str
    slugs: dict[str, str]  # area and region code -> file name stem
    notes: list[str]
    options: dict[str, Any]
    # comparison id (a page) -> (indicator id, comparable set); one indicator can be compared
    # within several sets (upper-tier and lower-tier authorities), each its own comparison
    comparisons: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    # comparison id -> the benchmark area's latest values by breakdown (sex, age, deprivation
    # decile ...) with SII/RII per deprivation breakdown; small counts hidden
    inequalities: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # spend service -> its frontier on all its indicators at once and the savings implied
    # (see service_value); only services with spend and outcomes in a shared period
    value_services: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # the international comparison (publicservices.site.international.InternationalSection):
    # None when no international comparator table was given, so the site has no such page
    international: Any = None

    @property
    def sectors(self) -> list[str]:
        return sorted({i.sector for i in self.indicators.values()})

    @property
    def page_indicators(self) -> dict[str, str]:
        """Each comparison page's id -> the indicator it compares (``<id>__lower_tier`` -> ``<id>``)."""
        return {cid: ind for cid, (ind, _) in self.comparisons.items()}

    def area_name(self, code: str) -> str:
        names = self._names()
        return names.get(code) or code

    def _names(self) -> dict[str, str]:
        if not hasattr(self, "_name_cache"):
            frames = [
                self.areas.select("area_code", "area_name"),
                self.regions.select(pl.col("parent_code").alias("area_code"), pl.col("region_name").alias("area_name")),
            ]
            self._name_cache = dict(pl.concat(frames).iter_rows())
        return self._name_cache

    def results_table(self) -> pl.DataFrame:
        """The published results (all periods), for the downloads: hidden cells blank and marked ``hidden`` (never why: the reason would tell a reader how small the count is)."""
        keep = [
            c
            for c in (
                "indicator_id",
                "comparable_set",
                "area_code",
                "area_name",
                "parent_code",
                "period",
                "period_start",
                "numerator",
                "denominator",
                "value",
                "lower_95",
                "upper_95",
                "lower_998",
                "upper_998",
                "ci_method",
                "benchmark_value",
                "benchmark_code",
                "comparison_95",
                "comparison_998",
                "prob_worse",
                "floor_status",
                "recent_trend",
                "yoy_change",
                "yoy_lower_95",
                "yoy_upper_95",
                "suppressed",
            )
            if c in self.results.columns
        ]
        # Downloads name the published indicator, not the page: a second comparable set's page
        # id (``<id>__lower_tier``) becomes the indicator id plus its ``comparable_set``.
        return self.results.select(keep).with_columns(
            pl.col("indicator_id").replace_strict(self.page_indicators, default=pl.col("indicator_id"), return_dtype=pl.String)
        )

    def improvers(self, sector: str, fdr: float = 0.05) -> pl.DataFrame:
        """Areas whose latest change is a real improvement, after controlling false discoveries.

        Every area's change since the previous period in the sector's indicators (those
        with a direction) is one test: z = change / se, se from the change's 95% interval.
        Benjamini-Hochberg (1995) across all of them at ``fdr``; of the changes still
        significant, those in the better direction, largest first. With thousands of tests,
        "rose by 44.9%" from 6 of 18 to 18 of 23 people is not news.
        """
        from publicservices.stats import bh_qvalues

        ids = [i for i, ind in self.indicators.items() if ind.sector == sector and ind.has_polarity]
        rows = self.latest_rows().filter(
            pl.col("indicator_id").is_in(ids),
            pl.col("yoy_change").is_not_null(),
            pl.col("yoy_lower_95").is_not_null(),
            pl.col("yoy_upper_95").is_not_null(),
        )
        if rows.height == 0:
            return rows
        se = (pl.col("yoy_upper_95") - pl.col("yoy_lower_95")) / (2 * 1.959963984540054)
        rows = rows.with_columns((pl.col("yoy_change") / se).alias("_z")).filter(pl.col("_z").is_finite())
        from scipy.special import ndtr

        rows = rows.with_columns(pl.Series("_p", 2 * ndtr(-rows.get_column("_z").abs().to_numpy())))
        rows = bh_qvalues(rows, "_p", name="_q")
        gain = pl.when(pl.col("polarity") == "lower_is_better").then(-pl.col("yoy_change")).otherwise(pl.col("yoy_change"))
        return (
            rows.filter((pl.col("_q") <= fdr) & (gain > 0))
            .with_columns(gain.alias("_gain"))
            .sort("_gain", descending=True)
            .drop("_z", "_p")
        )

    def latest_rows(self, indicator_id: str | None = None) -> pl.DataFrame:
        """Each indicator's latest period, every compared area (hidden cells included)."""
        # the pages ask for these rows dozens of times: joined once for the results and
        # latest periods they were joined from
        key = (self.results, tuple(self.latest.items()))
        held = self.__dict__.get("_latest_rows")
        if held is not None and held[0][0] is key[0] and held[0][1] == key[1]:
            rows = held[1]
        else:
            latest = pl.DataFrame(
                {"indicator_id": list(self.latest), "period": list(self.latest.values())},
                schema={"indicator_id": pl.String, "period": pl.String},
            )
            rows = self.results.join(latest, on=["indicator_id", "period"], how="semi")
            self.__dict__["_latest_rows"] = (key, rows)
        return rows if indicator_id is None else rows.filter(pl.col("indicator_id") == indicator_id)


def build_model(
    dataset: Dataset,
    *,
    sectors: Sequence[str] = (),
    indicators: Sequence[str] = (),
    area_types: Sequence[str] = (),
    comparable_sets: Sequence[str] = (),
    benchmark: str | float = "national",
    suppress_threshold: int = 5,
    overdispersion: str = "auto",
    area_names: dict[str, str] | None = None,
    progress: Progress | None = None,
    international: Sequence[Any] | None = None,
) -> SiteModel:
    """Compute every statistic of the site (see the module docstring).

    ``international``: the international comparator tables given to the site
    (:func:`publicservices.site.international.read_tables`); the registered comparators that
    match them are computed here (:func:`publicservices.site.international.international_section`).
    """
    from publicservices.results import postcode_lottery
    from publicservices.stats import assess_outcomes, value_quintiles
    from publicservices.stats.disclosure import suppress

    progress = progress or Progress()
    notes: list[str] = []
    with progress.stage("prepare data", 4) as advance:
        chosen = select(dataset, sectors, indicators)
        notes += context_notes(dataset, chosen)
        digest = data_hash(dataset)
        advance()
        laid, layout = headline_layout(dataset, chosen, comparable_sets, notes)
        geo_areas = layout.areas if layout.areas is not None else dataset.areas
        areas = compared_units(laid, geo_areas, area_types)
        comparisons, chosen = comparison_pages(chosen, layout)
        values = page_values(laid, comparisons, areas)
        advance()
        areas, regions, slugs = page_areas(areas, geo_areas, chosen, area_names, notes)
        advance()
        # Small counts are hidden *before* any statistic is computed, so no change, trend,
        # rank or chart can be worked back to a hidden cell (value(next) - change = hidden).
        values, suppression = suppress_small_counts(values, areas, chosen, suppress_threshold, suppress, comparisons)
        work = Dataset(values, geo_areas, dataset.spend, chosen, metadata=dataset.metadata)
        advance()

    steps = 6 + 2 * len(chosen)
    with progress.stage("statistics", steps) as advance:
        full = assess_outcomes(work, benchmark=benchmark)
        results = full.join(areas.select("area_code", "area_name", "parent_code"), on="area_code", how="inner")
        results = results.filter(pl.col("area_role") != "benchmark") if "area_role" in results.columns else results
        results = value_quintiles(blank_hidden(results))  # fifths by value: the comparison where there are no intervals
        advance()
        published = results.filter(pl.col("suppressed").is_null() & pl.col("value").is_not_null())
        latest = _latest_periods(published, chosen, comparisons, notes, advance)
        areas = _areas_with_values(areas, published, notes)
        advance()
        public = Dataset(
            published.select([c for c in PUBLIC_COLUMNS if c in published.columns]),
            geo_areas,
            dataset.spend,
            chosen,
            metadata=dataset.metadata,
        )
        funnels, ranks = funnels_and_ranks(public, results, areas, chosen, latest, overdispersion, notes, advance)
        results = funnel_comparisons(results, funnels, chosen, latest)
        fair = attempt(notes, "fairness measures", postcode_lottery, public, repetitions=1000)
        advance()
        value, value_services = _value_for_money(public, chosen, comparisons, notes)
        advance()
        neighbours = None
        if areas.height > 3:
            from publicservices.stats import nearest_neighbours

            neighbours = attempt(notes, "nearest neighbours", nearest_neighbours, areas.drop("slug"), k=min(5, areas.height - 1))
        advance()
        grades = sections.grades(notes, chosen, comparisons, published, latest)
        inequalities = sections.inequalities(dataset, comparisons, chosen, latest, results, suppress_threshold, suppress)
        section = _international(international, sectors, notes)
        advance()
    return SiteModel(
        dataset=public,
        indicators=chosen,
        areas=areas,
        regions=regions,
        results=results,
        latest=latest,
        funnels=funnels,
        ranks=ranks,
        fairness=fair,
        value=value,
        neighbours=neighbours,
        grades=grades,
        suppression=suppression,
        data_hash=digest,
        slugs=slugs,
        notes=notes,
        options={
            "benchmark": benchmark,
            "suppress_threshold": suppress_threshold,
            "sectors": list(sectors),
            "indicators": list(indicators),
            "area_types": list(area_types),
            "comparable_sets": list(comparable_sets),
            "overdispersion": overdispersion,
            # only when given, so that a site without it keeps its manifest
            **({"international": list(section.sources)} if section is not None else {}),
        },
        comparisons=comparisons,
        inequalities=inequalities,
        value_services=value_services,
        international=section,
    )


def _international(tables: Sequence[Any] | None, sectors: Sequence[str], notes: list[str]) -> Any:
    """The international comparison of the tables given (None when none were), its problems noted."""
    if tables is None:
        return None
    from publicservices.plugins import registered_comparators
    from publicservices.site.international import international_section

    section = international_section(tables, registered_comparators(), sectors=sectors)
    notes += [f"International comparison: {problem}" for problem in section.problems]
    return section


def _latest_periods(
    published: pl.DataFrame,
    chosen: dict[str, Indicator],
    comparisons: dict[str, tuple[str, str]],
    notes: list[str],
    advance: Advance,
) -> dict[str, str]:
    """Each page's latest published period; a page with none is dropped from ``chosen`` and ``comparisons``."""
    latest = dict(published.group_by("indicator_id").agg(pl.col("period").sort_by("period_start").last()).iter_rows())
    for ind_id in [i for i in chosen if i not in latest]:
        notes.append(f"{chosen[ind_id].title}: no published value (every cell is suppressed or missing), so it has no page.")
        del chosen[ind_id]
        comparisons.pop(ind_id, None)
        advance(2)  # its funnel and ranks steps
    return latest


def _areas_with_values(areas: pl.DataFrame, published: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """The areas with a published value somewhere: a page must say something."""
    valued = published.get_column("area_code").unique()
    empty = areas.filter(~pl.col("area_code").is_in(valued.implode()))
    if not empty.height:
        return areas
    notes.append(
        f"{count(empty.height, 'area')} with no published value in any period "
        f"({', '.join(empty.get_column('area_code').head(5).to_list())}{' ...' if empty.height > 5 else ''}) "
        "are listed in the downloads only."
    )
    return areas.filter(pl.col("area_code").is_in(valued.implode()))


def _value_for_money(
    public: Dataset, chosen: dict[str, Indicator], comparisons: dict[str, tuple[str, str]], notes: list[str]
) -> tuple[pl.DataFrame | None, dict[str, dict[str, Any]]]:
    """Value for money of each indicator page whose service has spend, then of each such service as a whole."""
    primary = {cid for cid, (ind_id, _) in comparisons.items() if cid == ind_id}
    if not public.spend.height:
        return None, {}
    from publicservices.stats.value import value_for_money

    services = set(public.spend.get_column("service").to_list())
    served = [i for i, ind in chosen.items() if i in primary and ind.service and ind.service in services]
    value = attempt(notes, "value for money", value_for_money, public, served) if served else None
    if value is None:
        return None, {}
    value_services: dict[str, dict[str, Any]] = {}
    for service in sorted({s for i in served if (s := chosen[i].service) is not None}):
        found = attempt(
            notes,
            f"{service}: value for money",
            sections.service_value,
            public,
            service,
            [i for i in served if chosen[i].service == service and chosen[i].has_polarity],
            value,
            notes,
        )
        if found is not None:
            value_services[service] = found
    return value, value_services
