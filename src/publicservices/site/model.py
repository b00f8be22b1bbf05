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
import hashlib
import io
import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.errors import DataError
from publicservices.frame import BREAKDOWN_COLUMNS
from publicservices.indicators import Indicator
from publicservices.site import sections
from publicservices.site.progress import Progress
from publicservices.site.safety import check_slugs
from publicservices.site.sections import attempt, count

# Breakdown values that mean "the whole population": the series a comparison site shows.
WHOLE = ("persons", "all persons", "all ages", "all", "total", "")
# Area types that are totals of other areas, never compared with them.
TOTAL_TYPES = ("national", "nation", "country", "region", "england")
# What suppression blanks on a hidden row, beyond the counts: every per-area figure.
BLANKED = (
    "value",
    "lower_ci",
    "upper_ci",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "z",
    "p_value",
    "prob_worse",
    "distance_to_target",
    "yoy_change",
    "yoy_lower_95",
    "yoy_upper_95",
    "yoy_lower_998",
    "yoy_upper_998",
    "trend_chi2",
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

    @property
    def sectors(self) -> list[str]:
        return sorted({i.sector for i in self.indicators.values()})

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
        real = {cid: ind for cid, (ind, _) in self.comparisons.items()}
        return self.results.select(keep).with_columns(
            pl.col("indicator_id").replace_strict(real, default=pl.col("indicator_id"), return_dtype=pl.String)
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
        latest = pl.DataFrame(
            {"indicator_id": list(self.latest), "period": list(self.latest.values())},
            schema={"indicator_id": pl.String, "period": pl.String},
        )
        rows = self.results.join(latest, on=["indicator_id", "period"], how="semi")
        return rows if indicator_id is None else rows.filter(pl.col("indicator_id") == indicator_id)


def _headline_rows(values: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Keep one whole-population series per indicator; drop the breakdown columns.

    For each breakdown column (sex, age, category ...) an indicator with several values
    keeps the rows meaning the whole population ("Persons", "All ages", or no category);
    one with a single value (say only "40-74 yrs") keeps it. The rows set aside are
    counted in the note, never silently lost.
    """
    present = [c for c in BREAKDOWN_COLUMNS if c in values.columns]
    if not present:
        return values, []
    kept = values
    for column in present:
        text = pl.col(column).cast(pl.String)
        whole = text.is_null() | text.str.to_lowercase().str.strip_chars().is_in(list(WHOLE))
        first = text.fill_null("") == text.fill_null("").min().over("indicator_id")
        kept = kept.filter(pl.when(whole.any().over("indicator_id")).then(whole).otherwise(first))
    dropped = values.height - kept.height
    notes = []
    if dropped:
        notes.append(
            f"{dropped:,} breakdown rows ({', '.join(present)}) are not compared between areas: the site compares "
            "each indicator's whole-population series (persons, all ages, no sub-category); the benchmark area's values "
            "by breakdown are in each indicator page's Inequalities section and in data/all/inequalities.csv."
        )
    return kept.drop(present), notes


def compared_areas(dataset: Dataset, area_types: Sequence[str] = ()) -> pl.DataFrame:
    """The areas the site compares: those of ``area_types``, or every area that is a unit.

    National and regional rows are benchmarks, never units (see
    :mod:`publicservices.comparison`); which units are compared with which is decided per
    comparable set.
    """
    from publicservices.comparison import with_successor_codes

    codes = with_successor_codes(dataset.values)[0].get_column("area_code").unique()
    areas = dataset.areas
    if "role" not in areas.columns:
        from publicservices.comparison import with_geography

        areas = with_geography(areas)
    present = areas.filter(pl.col("area_code").is_in(codes.implode()))
    if area_types:
        known = set(areas.get_column("area_type").drop_nulls().to_list())
        unknown = sorted(set(area_types) - known)
        if unknown:
            raise DataError(
                f"area types: {', '.join(map(repr, unknown))} not found in column 'area_type'.\n"
                f"Fix: use one of {', '.join(map(repr, sorted(known))) or '(none: the areas have no area_type)'}."
            )
        return present.filter(pl.col("area_type").is_in(list(area_types)))
    return present.filter(pl.col("role") != "benchmark")


def data_hash(dataset: Dataset) -> str:
    """SHA-256 of the input: values, areas, spend (sorted, as CSV) and the indicator definitions."""
    digest = hashlib.sha256()
    for frame in (dataset.values, dataset.areas, dataset.spend):
        keys = [c for c in ("indicator_id", "area_code", "period", "service", *BREAKDOWN_COLUMNS) if c in frame.columns]
        buffer = io.BytesIO()
        frame.sort(keys, nulls_last=True).write_csv(buffer, float_precision=12)
        digest.update(buffer.getvalue())
    definitions = {k: dataclasses.asdict(v) for k, v in sorted(dataset.indicators.items())}
    digest.update(json.dumps(definitions, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def select(dataset: Dataset, sectors: Sequence[str], indicators: Sequence[str]) -> dict[str, Indicator]:
    """The indicators to publish, in page order, with unknown names stopped early."""
    known = dataset.indicators
    unknown = sorted(set(sectors) - {i.sector for i in known.values()})
    if unknown:
        raise DataError(
            f"--sector: unknown sector {', '.join(map(repr, unknown))}.\nFix: use one of {', '.join(map(repr, dataset.sectors))}."
        )
    missing = sorted(set(indicators) - set(known))
    if missing:
        raise DataError(
            f"--indicator: unknown indicator {', '.join(map(repr, missing))}.\n"
            f"Fix: use ids from `publicservices indicators` present in the data: {', '.join(sorted(known)[:8])} ..."
        )
    present = set(dataset.values.get_column("indicator_id").unique().to_list())
    # Context (population, deprivation scores) describes areas; it is never published as a comparison.
    chosen = [
        i
        for i in known.values()
        if i.id in present
        and (not sectors or i.sector in sectors)
        and (not indicators or i.id in indicators)
        and (getattr(i, "role", "outcome") != "context" or i.id in indicators)
    ]
    if not chosen:
        context = sorted(i for i in present if i in known and getattr(known[i], "role", "outcome") == "context")
        if context and not sectors and not indicators:
            raise DataError(
                f"nothing to publish: the data holds only context indicators ({', '.join(context[:4])}"
                f"{' ...' if len(context) > 4 else ''}), which describe areas (deprivation, population) "
                "rather than compare services.\nFix: publish them together with outcome indicators "
                "(they then serve as area context), or name one with --indicator to publish it as a "
                "description of areas with no judgement."
            )
        if not present:
            what = "spend only" if dataset.spend.height else "area names and boundaries only"
            raise DataError(
                f"nothing to publish: the data holds no indicator values ({what}).\n"
                "Fix: publish a file of indicator values; spend and boundaries files add value for money "
                "and maps to such a site (--boundaries)."
            )
        raise DataError(
            "nothing to publish: no indicator with values matches the chosen sectors and indicators.\n"
            "Fix: check --sector / --indicator against `publicservices indicators`."
        )
    return {i.id: i for i in sorted(chosen, key=lambda i: (i.sector, i.id))}


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
) -> SiteModel:
    """Compute every statistic of the site (see the module docstring)."""
    from publicservices.comparison import comparison_values

    progress = progress or Progress()
    notes: list[str] = []
    with progress.stage("prepare data", 4) as advance:
        chosen = select(dataset, sectors, indicators)
        context = sorted(
            i
            for i, ind in dataset.indicators.items()
            if getattr(ind, "role", "outcome") == "context"
            and i not in chosen
            and i in set(dataset.values.get_column("indicator_id").unique().to_list())
        )
        if context:
            notes.append(
                f"{count(len(context), 'indicator')} describe areas rather than services ({', '.join(context[:4])}"
                f"{' ...' if len(context) > 4 else ''}): used as context, not published as comparisons."
            )
        digest = data_hash(dataset)
        advance()
        values, breakdown_notes = _headline_rows(dataset.values.filter(pl.col("indicator_id").is_in(list(chosen))))
        notes += breakdown_notes
        laid, layout = comparison_values(values, dataset.areas, comparable_set=list(comparable_sets) or None)
        notes += layout.notes
        geo_areas = layout.areas if layout.areas is not None else dataset.areas
        units = laid.filter(pl.col("area_role") == "unit").get_column("area_code").unique()
        areas = geo_areas.filter(pl.col("area_code").is_in(units.implode()))
        if area_types:
            known = set(geo_areas.get_column("area_type").drop_nulls().to_list())
            unknown = sorted(set(area_types) - known)
            if unknown:
                raise DataError(
                    f"area types: {', '.join(map(repr, unknown))} not found in column 'area_type'.\n"
                    f"Fix: use one of {', '.join(map(repr, sorted(known))) or '(none: the areas have no area_type)'}."
                )
            areas = areas.filter(pl.col("area_type").is_in(list(area_types)))
        if areas.height == 0:
            raise DataError(
                "no area to compare: every area in the values is a national or regional total.\n"
                "Fix: pass --area-type with the type of the areas to compare (see column 'area_type')."
            )
        comparisons, chosen = _comparisons(chosen, layout)
        ids = pl.DataFrame(
            [(ind, s, cid) for cid, (ind, s) in comparisons.items()],
            schema={"indicator_id": pl.String, "comparable_set": pl.String, "_cid": pl.String},
            orient="row",
        )
        values = (
            laid.join(ids, on=["indicator_id", "comparable_set"], how="inner")
            .filter(pl.col("area_code").is_in(areas.get_column("area_code").implode()) | (pl.col("area_role") == "benchmark"))
            .with_columns(pl.col("_cid").alias("indicator_id"))
            .drop("_cid")
        )
        advance()
        if area_names:
            missing = pl.col("area_name").is_null() | (pl.col("area_name").str.strip_chars() == "")
            filled = areas.select((missing & pl.col("area_code").is_in(list(area_names))).sum()).item()
            areas = areas.with_columns(
                pl.when(missing)
                .then(pl.col("area_code").replace_strict(area_names, default=None))
                .otherwise(pl.col("area_name"))
                .alias("area_name")
            )
            unnamed = areas.filter(missing).height
            if filled or unnamed:
                notes.append(
                    f"Names for {count(filled, 'area')} taken from the boundaries file"
                    + (
                        f"; {count(unnamed, 'area')} it does not name {'is' if unnamed == 1 else 'are'} shown by code."
                        if unnamed
                        else "."
                    )
                )
        areas = areas.with_columns(pl.col("area_name").fill_null(pl.col("area_code"))).sort("area_code")
        region_names = pl.col("region_name") if "region_name" in areas.columns else pl.lit(None, pl.String)
        named = geo_areas.select(pl.col("area_code").alias("parent_code"), pl.col("area_name").alias("_parent_name"))
        regions = (
            areas.filter(pl.col("parent_code").is_not_null())
            .group_by("parent_code")
            .agg(region_names.drop_nulls().first().alias("region_name"))
            .join(named, on="parent_code", how="left")
            .select("parent_code", pl.coalesce("region_name", "_parent_name", "parent_code").alias("region_name"))
            .sort("parent_code")
        )
        slugs = check_slugs(
            [*areas.get_column("area_code").to_list(), *regions.get_column("parent_code").to_list()], kind="area_code"
        )
        check_slugs(list(chosen), kind="indicator_id")
        areas = areas.with_columns(pl.col("area_code").replace_strict(slugs, return_dtype=pl.String).alias("slug"))
        advance()
        from publicservices.stats.disclosure import suppress

        # Small counts are hidden *before* any statistic is computed, so no change, trend,
        # rank or chart can be worked back to a hidden cell (value(next) - change = hidden).
        values, suppression = _suppress(values, areas, chosen, suppress_threshold, suppress, comparisons)
        work = Dataset(values, geo_areas, dataset.spend, chosen, metadata=dataset.metadata)
        advance()

    from publicservices.results import funnel_check, postcode_lottery, rank_areas
    from publicservices.stats import assess_outcomes

    steps = 6 + 2 * len(chosen)
    with progress.stage("statistics", steps) as advance:
        full = assess_outcomes(work, benchmark=benchmark)
        results = full.join(areas.select("area_code", "area_name", "parent_code"), on="area_code", how="inner")
        results = results.filter(pl.col("area_role") != "benchmark") if "area_role" in results.columns else results
        if "suppressed" not in results.columns:
            results = results.with_columns(pl.lit(None, pl.String).alias("suppressed"))
        gone = pl.col("suppressed").is_not_null()
        blank = [c for c in ("comparison_95", "comparison_998") if c in results.columns]
        results = results.with_columns(
            *(pl.when(gone).then(pl.lit("not compared")).otherwise(pl.col(c)).cast(results.schema[c]).alias(c) for c in blank),
            *(
                pl.when(gone).then(None).otherwise(pl.col(c)).alias(c)
                for c in (*BLANKED, "floor_status", "recent_trend")
                if c in results.columns
            ),
        )
        from publicservices.stats import value_quintiles

        results = value_quintiles(results)  # fifths by value: the comparison where there are no intervals
        advance()
        published = results.filter(pl.col("suppressed").is_null() & pl.col("value").is_not_null())
        latest = dict(published.group_by("indicator_id").agg(pl.col("period").sort_by("period_start").last()).iter_rows())
        for ind_id in [i for i in chosen if i not in latest]:
            notes.append(f"{chosen[ind_id].title}: no published value (every cell is suppressed or missing), so it has no page.")
            del chosen[ind_id]
            comparisons.pop(ind_id, None)
            advance(2)  # its funnel and ranks steps
        # An area with no published value anywhere gets no page (a page must say something).
        valued = published.get_column("area_code").unique()
        empty = areas.filter(~pl.col("area_code").is_in(valued.implode()))
        if empty.height:
            notes.append(
                f"{count(empty.height, 'area')} with no published value in any period "
                f"({', '.join(empty.get_column('area_code').head(5).to_list())}{' ...' if empty.height > 5 else ''}) "
                "are listed in the downloads only."
            )
            areas = areas.filter(pl.col("area_code").is_in(valued.implode()))
        advance()
        contract = [
            c
            for c in (
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
            if c in published.columns
        ]
        public = Dataset(published.select(contract), geo_areas, dataset.spend, chosen, metadata=dataset.metadata)
        funnels: dict[str, Any] = {}
        ranks: dict[str, pl.DataFrame] = {}
        for ind_id, ind in chosen.items():
            rows = public.values.filter(pl.col("indicator_id") == ind_id, pl.col("period") == latest[ind_id])
            # The funnel is drawn around the page's benchmark, so its counts agree with every other section.
            bench = (
                results.filter(pl.col("indicator_id") == ind_id, pl.col("period") == latest[ind_id])
                .get_column("benchmark_value")
                .drop_nulls()
                .unique()
            )
            funnels[ind_id] = attempt(
                notes,
                f"{ind.title}: funnel plot",
                funnel_check,
                rows,
                ind,
                areas=areas,
                dataset=public,
                overdispersion=overdispersion,
                **({"target": float(bench[0])} if bench.len() == 1 else {}),
            )
            advance()
            # One ranking everywhere: rank_areas ranks by value with rank intervals, and gives
            # the shrunken estimates beside it (shown for reference; they never set the rank).
            ranked = attempt(
                notes,
                f"{ind.title}: rank intervals",
                rank_areas,
                rows,
                ind,
                dataset=public,
                n_sims=1000 if areas.height > 1000 else 2000,
            )
            if ranked is not None:
                ranks[ind_id] = ranked.frame
            advance()
        results = _funnel_comparisons(results, funnels, chosen, latest)
        fair = attempt(notes, "fairness measures", postcode_lottery, public, repetitions=1000)
        advance()
        primary = {cid for cid, (ind_id, _) in comparisons.items() if cid == ind_id}
        value = None
        if public.spend.height:
            from publicservices.stats.value import value_for_money

            services = set(public.spend.get_column("service").to_list())
            served = [i for i, ind in chosen.items() if i in primary and ind.service and ind.service in services]
            if served:
                value = attempt(notes, "value for money", value_for_money, public, served)
        value_services: dict[str, dict[str, Any]] = {}
        if value is not None:
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
        advance()
        neighbours = None
        if areas.height > 3:
            from publicservices.stats import nearest_neighbours

            neighbours = attempt(notes, "nearest neighbours", nearest_neighbours, areas.drop("slug"), k=min(5, areas.height - 1))
        advance()
        grades = sections.grades(notes, chosen, comparisons, published, latest)
        inequalities = sections.inequalities(dataset, comparisons, chosen, latest, results, suppress_threshold, suppress)
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
        },
        comparisons=comparisons,
        inequalities=inequalities,
        value_services=value_services,
    )


def _funnel_comparisons(
    results: pl.DataFrame, funnels: dict[str, Any], chosen: dict[str, Indicator], latest: dict[str, str]
) -> pl.DataFrame:
    """Judge each area of the latest period by the funnel's limits where there is a funnel.

    The funnel is drawn around the page's benchmark and, when areas vary more than chance
    explains (Spiegelhalter 2005), with limits that allow for it; every count on every page
    (headline, map, table, area pages) then comes from the limits shown, never from
    narrower ones. ``comparison_basis`` says which limits judged each row.
    """
    out = results.with_columns(
        pl.when(pl.col("lower_95").is_not_null()).then(pl.lit("confidence interval")).alias("comparison_basis")
    )
    for cid, funnel in funnels.items():
        frame = getattr(funnel, "frame", None)
        if funnel is None or not isinstance(frame, pl.DataFrame) or "position_95" not in frame.columns:
            continue
        ind = chosen[cid]
        up, down = {"higher_is_better": ("better", "worse"), "lower_is_better": ("worse", "better")}.get(
            ind.polarity, ("higher", "lower")
        )
        words = {"above": up, "below": down, "within": "similar"}
        judged = frame.select(
            pl.lit(cid).alias("indicator_id"),
            "area_code",
            *(
                pl.col(f"position_{lv}").cast(pl.String).replace_strict(words, default="not compared").alias(f"_f{lv}")
                for lv in ("95", "998")
                if f"position_{lv}" in frame.columns
            ),
        ).with_columns(pl.lit(latest[cid]).alias("period"))
        out = out.join(judged, on=["indicator_id", "area_code", "period"], how="left")
        basis = (
            "funnel limits allowing for variation beyond chance"
            if any(str(x) != "none" for x in funnel.dispersion.get_column("overdispersion").to_list())
            else "funnel limits"
        )
        for lv in ("95", "998"):
            col, new = f"comparison_{lv}", f"_f{lv}"
            if new in out.columns and col in out.columns:
                out = out.with_columns(
                    pl.when(pl.col(new).is_not_null()).then(pl.col(new).cast(out.schema[col])).otherwise(pl.col(col)).alias(col)
                )
        if "_f95" in out.columns:
            out = out.with_columns(
                pl.when(pl.col("_f95").is_not_null())
                .then(pl.lit(basis))
                .otherwise(pl.col("comparison_basis"))
                .alias("comparison_basis")
            )
        out = out.drop([c for c in ("_f95", "_f998") if c in out.columns])
    return out


def _comparisons(chosen: dict[str, Indicator], layout: Any) -> tuple[dict[str, tuple[str, str]], dict[str, Indicator]]:
    """One comparison (page) per indicator and comparable set present.

    The first set (in the order of :data:`publicservices.geography.COMPARABLE_SETS`, upper
    tier first) keeps the indicator's id; the others get ``<id>__<set>`` and the set's name
    in the title, so no page ever ranks areas of two sets together.
    """
    from publicservices.geography import COMPARABLE_SETS

    comparisons: dict[str, tuple[str, str]] = {}
    pages: dict[str, Indicator] = {}
    for ind_id, ind in chosen.items():
        sets = layout.sets.get(ind_id, [])
        for i, set_id in enumerate(sets):
            cid = ind_id if i == 0 else f"{ind_id}__{set_id}"
            short = COMPARABLE_SETS[set_id].label.split(" (")[0] if set_id in COMPARABLE_SETS else set_id.replace("_", " ")
            title = ind.title if len(sets) == 1 else f"{ind.title} ({short})"
            pages[cid] = dataclasses.replace(ind, id=cid, title=title) if cid != ind_id or title != ind.title else ind
            comparisons[cid] = (ind_id, set_id)
    return comparisons, pages


def _suppress(
    values: pl.DataFrame,
    areas: pl.DataFrame,
    chosen: dict[str, Indicator],
    threshold: int,
    suppress: Any,
    comparisons: dict[str, tuple[str, str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hide small counts, small complements of proportions and small cohorts of means (with
    secondary cells) on the area rows *of the input*; return the values and the report.

    Every measure goes through: rows without counts are left as they are, a mean or score
    over fewer people than the threshold is hidden (one pupil's score), and a proportion
    whose complement is small is hidden (2,246 of 2,247 reveals the one). Hidden rows keep
    their keys with every figure blank and ``suppressed == "hidden"``, so the statistics
    computed afterwards never see them. Benchmark rows (national, regional) are published
    totals and are not suppressed.

    Cells are protected once per indicator, area and period, whichever comparisons show
    them, and in three kinds of group that a reader could subtract: the region, the whole
    set, and a shire county with its districts (overlapping geographies: the county's
    total minus its visible districts must not give a hidden district).
    """
    empty = pl.DataFrame(schema={"reason": pl.String, "rows": pl.Int64, "groups": pl.Int64})
    marked = values.with_columns(pl.lit(None, pl.String).alias("suppressed"))
    if threshold <= 0:
        return marked, empty
    real = {cid: ind for cid, (ind, _) in (comparisons or {}).items()}
    measures = {real.get(cid, cid): ind.measure for cid, ind in chosen.items()}
    # Disclosure protects counts: rows that publish no count (a value alone, or a missing
    # cell of a values-only file) can reveal none, and must not set off secondary suppression.
    counted = pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null()
    is_unit = (pl.col("area_role") != "benchmark" if "area_role" in values.columns else pl.lit(True)) & counted
    marked = marked.with_columns(pl.col("indicator_id").replace(real).alias("_real"))
    cell_key = ["_real", "area_code", "period"]
    upper = pl.col("upper_tier_code") if "upper_tier_code" in areas.columns else pl.col("area_code")
    cells = (
        marked.filter(is_unit)
        .unique(cell_key, keep="first", maintain_order=True)
        .join(
            areas.select(
                "area_code",
                pl.col("parent_code").fill_null("(none)").alias("_group"),
                upper.fill_null(pl.col("area_code")).alias("_upper"),
            ),
            on="area_code",
            how="left",
        )
        .with_columns(
            pl.col("_group").fill_null("(none)"),
            pl.col("_upper").fill_null(pl.col("area_code")),
            pl.col("_real").replace_strict(measures, default=None, return_dtype=pl.String).alias("measure"),
        )
    )
    mask = [c for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci") if c in cells.columns]
    hidden, report = suppress(
        cells, threshold, mask=mask, by=[["_real", "period", "_group"], ["_real", "period"], ["_real", "period", "_upper"]]
    )
    gone = hidden.filter(pl.col("suppressed").is_not_null()).select(*cell_key, pl.col("suppressed").alias("_hidden"))
    out = marked.join(gone, on=cell_key, how="left", maintain_order="left")
    out = out.with_columns(
        *(pl.when(pl.col("_hidden").is_not_null()).then(None).otherwise(pl.col(c)).alias(c) for c in mask),
        pl.col("_hidden").alias("suppressed"),
    ).drop("_hidden", "_real")
    return out, report.select("reason", "rows", "groups")
