"""What the site compares: the indicators published, their headline series, the areas and their pages."""

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
from publicservices.site.safety import check_slugs
from publicservices.site.sections import count

# Breakdown values that mean "the whole population": the series a comparison site shows.
WHOLE = ("persons", "all persons", "all ages", "all", "total", "")


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
        _check_area_types(areas, area_types)
        return present.filter(pl.col("area_type").is_in(list(area_types)))
    return present.filter(pl.col("role") != "benchmark")


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


def context_notes(dataset: Dataset, chosen: dict[str, Indicator]) -> list[str]:
    """A note naming the context indicators in the data (deprivation, population) left unpublished."""
    context = sorted(
        i
        for i, ind in dataset.indicators.items()
        if getattr(ind, "role", "outcome") == "context"
        and i not in chosen
        and i in set(dataset.values.get_column("indicator_id").unique().to_list())
    )
    if not context:
        return []
    return [
        f"{count(len(context), 'indicator')} {'describes' if len(context) == 1 else 'describe'} areas rather than services "
        f"({', '.join(context[:4])}"
        f"{' ...' if len(context) > 4 else ''}): used as context, not published as comparisons."
    ]


def headline_layout(
    dataset: Dataset, chosen: dict[str, Indicator], comparable_sets: Sequence[str], notes: list[str]
) -> tuple[pl.DataFrame, Any]:
    """The chosen indicators' headline series, each row given its comparable set and area role."""
    from publicservices.comparison import comparison_values

    values, breakdown_notes = _headline_rows(dataset.values.filter(pl.col("indicator_id").is_in(list(chosen))))
    notes += breakdown_notes
    laid, layout = comparison_values(values, dataset.areas, comparable_set=list(comparable_sets) or None)
    notes += layout.notes
    return laid, layout


def compared_units(laid: pl.DataFrame, geo_areas: pl.DataFrame, area_types: Sequence[str]) -> pl.DataFrame:
    """The areas compared once the values are laid out: the layout's units, of ``area_types`` if given.

    :func:`compared_areas` answers the same question before the layout (for the boundaries file).
    """
    units = laid.filter(pl.col("area_role") == "unit").get_column("area_code").unique()
    areas = geo_areas.filter(pl.col("area_code").is_in(units.implode()))
    if area_types:
        _check_area_types(geo_areas, area_types)
        areas = areas.filter(pl.col("area_type").is_in(list(area_types)))
    if areas.height == 0:
        raise DataError(
            "no area to compare: every area in the values is a national or regional total.\n"
            "Fix: pass --area-type with the type of the areas to compare (see column 'area_type')."
        )
    return areas


def _check_area_types(areas: pl.DataFrame, area_types: Sequence[str]) -> None:
    """Stop on an area type that no area has, naming those there are."""
    known = set(areas.get_column("area_type").drop_nulls().to_list())
    unknown = sorted(set(area_types) - known)
    if unknown:
        raise DataError(
            f"area types: {', '.join(map(repr, unknown))} not found in column 'area_type'.\n"
            f"Fix: use one of {', '.join(map(repr, sorted(known))) or '(none: the areas have no area_type)'}."
        )


def comparison_pages(chosen: dict[str, Indicator], layout: Any) -> tuple[dict[str, tuple[str, str]], dict[str, Indicator]]:
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


def page_values(laid: pl.DataFrame, comparisons: dict[str, tuple[str, str]], areas: pl.DataFrame) -> pl.DataFrame:
    """The laid-out values of the compared areas and the benchmarks, each row under its page's id."""
    ids = pl.DataFrame(
        [(ind, s, cid) for cid, (ind, s) in comparisons.items()],
        schema={"indicator_id": pl.String, "comparable_set": pl.String, "_cid": pl.String},
        orient="row",
    )
    return (
        laid.join(ids, on=["indicator_id", "comparable_set"], how="inner")
        .filter(pl.col("area_code").is_in(areas.get_column("area_code").implode()) | (pl.col("area_role") == "benchmark"))
        .with_columns(pl.col("_cid").alias("indicator_id"))
        .drop("_cid")
    )


def page_areas(
    areas: pl.DataFrame,
    geo_areas: pl.DataFrame,
    chosen: dict[str, Indicator],
    area_names: dict[str, str] | None,
    notes: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """The compared areas as their pages name them, with a ``slug``; their regions; every page's file name stem.

    Areas the data leaves unnamed take their names from ``area_names`` (the boundaries file), else
    their code. Unsafe or clashing area codes and indicator ids stop the build.
    """
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
    return areas, regions, slugs
