"""The inequalities section of an indicator page: the benchmark area's values by breakdown.

Like the inequalities view of Fingertips: for the benchmark area (England, or the nation of
the data) in the latest period, the value of every breakdown published -- by sex, by age, by
deprivation decile or quintile, by ethnic group -- with its interval, and, where the
breakdown is deprivation deciles or quintiles, the slope and relative indices of inequality
(SII/RII, :func:`publicservices.stats.sii`, Low & Low 2004). Small counts in the
breakdown rows are hidden by the same disclosure rules as the rest of the site.

Example:
    >>> deprivation_rank("Second most deprived decile (IMD2019)"), deprivation_rank("Least deprived quintile")
    (2, 5)
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from publicservices.frame import BREAKDOWN_COLUMNS

__all__ = ["breakdown_rows", "deprivation_rank", "inequality_indices"]

_ORDINALS = {"most": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def deprivation_rank(category: str | None) -> int | None:
    """Quantile number of a deprivation category name (1 = most deprived), or None.

    Fingertips names deciles "Most deprived decile", "Second most deprived decile", "Third
    more deprived decile" ... "Fifth less deprived decile" ... "Least deprived decile", and
    quintiles "Most deprived quintile", "Second most ...", "Average deprived quintile" ...
    """
    if category is None:
        return None
    text = category.casefold()
    match = re.search(
        r"(most|least|second|third|fourth|fifth|average|middle)\s*(most|more|less|least)?\s+deprived\s+(decile|quintile)", text
    )
    if match is None:
        return None
    word, side, kind = match.groups()
    size = 10 if kind == "decile" else 5
    if word in ("average", "middle"):
        return 3 if size == 5 else None
    if word == "most":
        return 1
    if word == "least":
        return size
    n = _ORDINALS[word]
    return n if side in ("most", "more") else size + 1 - n


def breakdown_rows(values: pl.DataFrame, benchmark_code: str | None) -> pl.DataFrame:
    """The benchmark area's rows that are breakdowns (not the whole population), every period."""
    present = [c for c in BREAKDOWN_COLUMNS if c in values.columns]
    if not present or benchmark_code is None:
        return pl.DataFrame()
    from publicservices.keys import is_whole_population

    def headline(c: str) -> pl.Expr:  # the whole population, or the only value an indicator has (its headline)
        return is_whole_population(c) | (pl.col(c).n_unique().over("indicator_id") == 1)

    rows = values.filter(pl.col("area_code") == benchmark_code)
    if {"category_type", "category"} <= set(present) and rows.height:
        # Some publications swap the two (the group in category_type, its kind in category):
        # the kind is the column with fewer distinct values.
        kinds = rows.select(pl.col("category_type", "category").n_unique()).row(0)
        if kinds[0] > kinds[1]:
            rows = rows.rename({"category_type": "category", "category": "category_type"})
    rows = rows.with_columns(pl.col(c).cast(pl.String).str.strip_chars('" ') for c in present)
    rows = rows.filter(~pl.all_horizontal([headline(c) for c in present]))
    label = pl.concat_str(
        [pl.when(~headline(c)).then(pl.col(c).cast(pl.String)) for c in present if c != "category_type"],
        separator=", ",
        ignore_nulls=True,
    )
    kind = pl.coalesce(
        *([pl.col("category_type").cast(pl.String)] if "category_type" in present else []),
        *[pl.when(~headline(c)).then(pl.lit(c.replace("_", " "))) for c in present if c != "category_type"],
    )
    return rows.with_columns(label.alias("group"), kind.alias("breakdown"))


def inequality_indices(rows: pl.DataFrame, multiplier: float = 1.0) -> dict[str, Any] | None:
    """SII and RII across deprivation quantiles of one indicator-period, when the rows are a full set."""
    if rows.height == 0 or "category" not in rows.columns:
        return None
    ranked = rows.with_columns(pl.col("category").map_elements(deprivation_rank, return_dtype=pl.Int64).alias("q"))
    ranked = ranked.filter(
        pl.col("q").is_not_null()
        & pl.col("value").is_not_null()
        & pl.col("lower_ci").is_not_null()
        & pl.col("upper_ci").is_not_null()
    )
    n = ranked.get_column("q").n_unique()
    if n not in (5, 10) or ranked.height != n:
        return None
    from publicservices.stats import sii

    frame = ranked.with_columns(pl.lit(1.0).alias("_pop"))  # quantiles of the population: equal shares
    out = sii(
        frame, "q", "_pop", value="value", lower_cl="lower_ci", upper_cl="upper_ci", rii=True, repetitions=10_000, seed=1
    ).row(0, named=True)
    return {
        "quantiles": n,
        "sii": out.get("sii"),
        "sii_lower": out.get("sii_lower_95"),
        "sii_upper": out.get("sii_upper_95"),
        "rii": out.get("rii"),
        "rii_lower": out.get("rii_lower_95"),
        "rii_upper": out.get("rii_upper_95"),
    }
