"""The grid: areas × indicators, each cell coloured by its comparison with the benchmark.

Fingertips' overview (the "tartan rug"): one row per area, one column per indicator of the
latest period, the benchmark's row first. A cell is coloured by the model's comparison with the
benchmark at 95% (``comparison_95``: better, similar, worse, or higher and lower for an
indicator without a direction); an indicator with no confidence intervals, which cannot be
judged against chance, is coloured by the fifth of areas its value falls in (the model's
``quintile``, of every compared area). Nothing is computed here that the model does not hold:
this module only lays the model's columns out, one pivot per grid.

The grid is a real HTML table (:func:`grid_html`, template ``grid.html.j2``): a caption,
column headers with scope, the area names as row headers linked to their pages, every data
string escaped by Jinja's autoescaping. Colour is never the only signal: each cell carries
its category in visually hidden text and a legend says what the colours mean. The site's
``ps-grid.js`` sorts it by a column (best first) or by area name; without JavaScript it reads
in area-name order.

Example:
    >>> import polars as pl
    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="h.a", title="A", sector="h", measure="proportion", unit="%", polarity="higher_is_better")
    >>> latest = pl.DataFrame({"indicator_id": ["h.a"] * 2, "area_code": ["E1", "E2"], "period": "2023/24",
    ...     "value": [71.25, None], "suppressed": [None, "hidden"], "lower_95": [70.0, None],
    ...     "comparison_95": ["better", "not compared"], "polarity": "higher_is_better", "quintile": [None, None],
    ...     "quintile_label": [None, None], "benchmark_value": [65.0, 65.0]},
    ...     schema_overrides={"quintile": pl.Int64, "quintile_label": pl.String})
    >>> areas = pl.DataFrame({"area_code": ["E1", "E2"], "area_name": ["Ayr & Co", "Bute"], "slug": ["e1", "e2"],
    ...     "parent_code": ["R1", "R1"]})
    >>> g = build_grid(latest, {"h.a": ind}, ["h.a"], areas)
    >>> [c.basis for c in g.columns], g.cells
    (['comparison'], 2)
    >>> [cell["k"] for row in g.rows.get_column("cells").to_list() for cell in row]
    ['better', 'na']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from markupsafe import Markup

from publicservices.display import number_expr
from publicservices.indicators import Indicator
from publicservices.site.markup import rel

__all__ = ["GRID_MAX_CELLS", "Grid", "GridColumn", "build_grid", "grid_html", "legend", "short_title"]

# Above this many cells (areas × indicators) a page leaves its grid out: about 105 bytes a cell,
# so that no page passes the site's 300 KB budget.
GRID_MAX_CELLS = 1_500
SHORT_TITLE = 40  # characters of a column heading; the full title is in its abbr and hidden text

# Cell classes (ps-g-<key> in ps-grid.css), the words a screen reader hears in the cell, and the legend's.
CATEGORY_KEYS = {"better": "better", "similar": "similar", "worse": "worse", "higher": "higher", "lower": "lower"}
LEGEND: dict[str, str] = {
    "better": "Better than the benchmark",
    "similar": "Similar to the benchmark (no difference beyond chance)",
    "worse": "Worse than the benchmark",
    "higher": "Higher than the benchmark (no judgement of better or worse)",
    "lower": "Lower than the benchmark (no judgement of better or worse)",
    "nc": "Not compared with the benchmark",
    "j5": "Best fifth of areas by value",
    "j4": "Better fifth",
    "j3": "Middle fifth",
    "j2": "Worse fifth",
    "j1": "Worst fifth",
    "n5": "Highest fifth of areas by value (no judgement of better or worse)",
    "n4": "High fifth",
    "n3": "Middle fifth",
    "n2": "Low fifth",
    "n1": "Lowest fifth",
    "na": "No value (– in the grid): missing or suppressed",
}
_CELL = pl.Struct({"k": pl.String, "t": pl.String, "w": pl.String, "v": pl.Float64})


def short_title(title: str, limit: int = SHORT_TITLE) -> str:
    """A column heading: the title, or its first words up to ``limit`` characters and an ellipsis.

    >>> short_title("Healthy life expectancy at birth"), short_title("Under-75 mortality from cardiovascular disease considered preventable")
    ('Healthy life expectancy at birth', 'Under-75 mortality from cardiovascular…')
    """
    title = " ".join(str(title).split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head.rstrip(" ,;:-(") + "…"


@dataclasses.dataclass(frozen=True)
class GridColumn:
    """One indicator's column: its heading, how its cells are coloured, and its benchmark cell."""

    id: str
    title: str
    unit: str
    period: str
    polarity: str
    basis: str  # "comparison" (with the benchmark), "fifths" (no intervals), or "none"
    benchmark: dict[str, Any]  # the benchmark row's cell

    @property
    def short(self) -> str:
        return short_title(self.title)

    @property
    def best(self) -> str:
        """The sort order that puts the best areas first (the highest, for an indicator without a direction)."""
        return "asc" if self.polarity == "lower_is_better" else "desc"

    @property
    def best_word(self) -> str:
        return "highest first" if self.polarity not in ("higher_is_better", "lower_is_better") else "best first"

    @property
    def note(self) -> str:
        """The heading's second line: unit, period, and how the cells are coloured when not by comparison."""
        parts = [p for p in (self.unit.strip(), self.period) if p]
        if self.basis == "fifths":
            parts.append("coloured by fifths")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Grid:
    """The grid of one page: its columns and one row per area (sorted by name)."""

    columns: list[GridColumn]
    # area_code, area_name, slug, parent_code, cells (a list of {k: class key, t: text, w: hidden word, v: sort value})
    rows: pl.DataFrame

    @property
    def cells(self) -> int:
        return self.rows.height * len(self.columns)

    def of_areas(self, codes: Sequence[str] | pl.Series) -> Grid:
        """The same grid, for these areas only (a region's page)."""
        wanted = pl.DataFrame({"area_code": pl.Series(list(codes), dtype=pl.String)})
        return Grid(self.columns, self.rows.join(wanted, on="area_code", how="semi", maintain_order="left"))

    def keys(self) -> set[str]:
        """The cell classes used, for the legend."""
        if not self.rows.height or not self.columns:
            return set()
        return set(self.rows.select(pl.col("cells").explode().struct.field("k").unique()).to_series().to_list())


def _keys(basis: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The class key and hidden word of each row of the latest frame, by its column's ``basis``."""
    shown = pl.col("value").is_not_null() & pl.col("suppressed").is_null()
    word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
    q = pl.col("quintile").cast(pl.Int64)
    polarity = pl.col("polarity").cast(pl.String).fill_null("no_judgement")
    fifth = (
        pl.when(polarity == "higher_is_better")
        .then(pl.lit("j") + q.cast(pl.String))
        .when(polarity == "lower_is_better")
        .then(pl.lit("j") + (6 - q).cast(pl.String))
        .otherwise(pl.lit("n") + q.cast(pl.String))
    )
    judged = (basis == "comparison") & word.is_in(list(CATEGORY_KEYS))
    by_fifth = (basis == "fifths") & q.is_not_null()
    key = pl.when(~shown).then(pl.lit("na")).when(judged).then(word).when(by_fifth).then(fifth).otherwise(pl.lit("nc"))
    hidden = (
        pl.when(~shown)
        .then(pl.when(pl.col("suppressed").is_not_null()).then(pl.lit("suppressed")).otherwise(pl.lit("no value")))
        .when(judged)
        .then(word)
        .when(by_fifth)
        .then(pl.col("quintile_label").str.to_lowercase() + " fifth")
        .otherwise(pl.lit("not compared"))
    )
    return key, hidden


def build_grid(latest: pl.DataFrame, indicators: Mapping[str, Indicator], ids: Sequence[str], areas: pl.DataFrame) -> Grid:
    """The grid of ``ids`` (in this order) for every area of ``areas`` with a row among them.

    ``latest`` is the pages' latest frame (each indicator's latest period, with the model's
    comparisons and fifths of areas by value); ``areas`` the model's areas (code, name, slug,
    parent). A column is coloured by comparison when any of its cells was compared with the
    benchmark, by fifths when none was but the areas have fifths (no confidence intervals).
    """
    wanted = [i for i in ids if i in indicators]
    rows = latest.filter(pl.col("indicator_id").is_in(wanted))
    for name, dtype in (("suppressed", pl.String), ("quintile", pl.Int64), ("quintile_label", pl.String)):
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=dtype).alias(name))
    word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
    per = rows.group_by("indicator_id").agg(
        word.is_in(list(CATEGORY_KEYS)).any().alias("compared"),
        pl.col("quintile").is_not_null().any().alias("fifths"),
        pl.col("period").drop_nulls().first().alias("period"),
        pl.col("benchmark_value").drop_nulls().n_unique().alias("bench_n"),
        pl.col("benchmark_value").drop_nulls().first().alias("bench"),
        pl.col("benchmark_value").drop_nulls().first().round_sig_figs(6).alias("bench_v"),
    )
    per = per.with_columns(
        pl.when(pl.col("compared"))
        .then(pl.lit("comparison"))
        .when(pl.col("fifths"))
        .then(pl.lit("fifths"))
        .otherwise(pl.lit("none"))
        .alias("basis"),
        pl.when(pl.col("bench_n") == 1).then(number_expr(pl.col("bench"))).otherwise(pl.lit("–")).alias("bench_text"),
    )
    info = {r["indicator_id"]: r for r in per.to_dicts()}  # one row per indicator
    columns = []
    for i in wanted:
        r = info.get(i, {})
        ind = indicators[i]
        single = r.get("bench_n") == 1
        columns.append(
            GridColumn(
                id=i,
                title=ind.title,
                unit=ind.unit or "",
                period=r.get("period") or "",
                polarity=ind.polarity,
                basis=r.get("basis") or "none",
                benchmark={
                    "k": "bm",
                    "t": r.get("bench_text") or "–",
                    "w": "benchmark" if single else "differs by area" if r.get("bench_n") else "no value",
                    "v": r.get("bench_v") if single else None,
                },
            )
        )
    key, hidden = _keys(pl.col("indicator_id").replace_strict({c.id: c.basis for c in columns}, default="none"))
    shown = pl.col("value").is_not_null() & pl.col("suppressed").is_null()
    long = rows.select(
        "area_code",
        "indicator_id",
        pl.struct(
            key.alias("k"),
            pl.when(shown).then(number_expr(pl.col("value"))).otherwise(pl.lit("–")).alias("t"),
            (pl.lit(", ") + hidden).alias("w"),
            pl.when(shown).then(pl.col("value").cast(pl.Float64).round_sig_figs(6)).alias("v"),
        ).alias("cell"),
    )
    missing = pl.struct(
        pl.lit("na").alias("k"), pl.lit("–").alias("t"), pl.lit(", no value").alias("w"), pl.lit(None, pl.Float64).alias("v")
    )
    if long.height:
        wide = long.pivot(on="indicator_id", index="area_code", values="cell", aggregate_function="first")
    else:
        wide = pl.DataFrame(schema={"area_code": pl.String})
    wide = wide.with_columns(pl.lit(None, dtype=_CELL).alias(c.id) for c in columns if c.id not in wide.columns)
    cells = pl.concat_list([pl.col(c.id).fill_null(missing) for c in columns]) if columns else pl.lit([], dtype=pl.List(_CELL))
    table = (
        wide.select("area_code", cells.alias("cells"))
        .join(areas.select("area_code", "area_name", "slug", "parent_code"), on="area_code", how="inner")
        .sort(pl.col("area_name").str.to_lowercase(), "area_code")
        .select("area_code", "area_name", "slug", "parent_code", "cells")
    )
    return Grid(columns, table)


def legend(grid: Grid) -> list[dict[str, str]]:
    """The legend's entries for the classes the grid uses, in a fixed order."""
    used = grid.keys()
    return [{"k": k, "text": text} for k, text in LEGEND.items() if k in used]


def grid_html(grid: Grid, *, page: str, key: str, caption: str, benchmark: str) -> Markup:
    """The grid as one block of HTML (no blank line inside, so Markdown passes it through).

    ``page`` is the Markdown page it lands on (links to area pages are relative to it), ``key``
    the table's id on that page, ``benchmark`` the benchmark row's name.
    """
    from publicservices.site.templating import render

    prefix = rel(page, "areas/x.html")[: -len("x.html")]
    rows = grid.rows.select(
        pl.col("area_name").alias("name"), (pl.lit(prefix) + pl.col("slug") + ".html").alias("href"), "cells"
    ).to_dicts()
    fifths = any(c.basis == "fifths" for c in grid.columns)
    text = render(
        "grid.html.j2",
        key=key,
        caption=caption,
        columns=grid.columns,
        benchmark=benchmark[:1].upper() + benchmark[1:],
        rows=rows,
        legend=legend(grid),
        fifths=fifths,
    )
    return Markup("\n".join(line for line in text.splitlines() if line.strip()))
