"""The home page, the sector pages and the indexes of indicators and areas.

Each page is a template (``home.md.j2``, ``sector.md.j2`` with ``sector_findings.md.j2``,
``indicators_index.md.j2``, ``areas_index.md.j2``, ``region.md.j2``; the areas × indicators
grid of sector and region pages is ``grid.html.j2``, see :mod:`publicservices.site.grid`);
the methods here gather its values. Data text reaches a template as prose (the template's
``md`` filter) or inside markup already escaped here (tables, links, figures, and
``html_text`` in HTML lists).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from markupsafe import Markup

from publicservices.display import join_words, plural
from publicservices.site import specs
from publicservices.site.grid import GRID_MAX_CELLS, Grid, build_grid, grid_html
from publicservices.site.markup import link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import (
    NO_INTERVALS,
    REGION_PAGES_FROM,
    change,
    num,
    percent,
    sector_title,
    spread_text,
    untitled_note,
)
from publicservices.site.safety import html_text
from publicservices.site.templating import render, safe


def _html(value: Any) -> Markup:
    """Data text for HTML (an item of a list), escaped here."""
    return safe(html_text(value))


class OverviewPages(PagesBase):
    """Home, sectors, indexes."""

    def _lottery_figure(self, page: str, measured: list[str], script: str, key: str, label: str) -> Markup | None:
        """The postcode-lottery chart of the ``measured`` indicator pages, or None without any."""
        m = self.model
        if m.fairness is None or not measured:
            return None
        from publicservices.charts import describe, lottery_chart

        lot = lottery_chart(
            m.fairness.frame.filter(pl.col("indicator_id").is_in(measured)), m.indicators, same_indicator=m.page_indicators
        )
        figure = self.figure(page, script, key, specs.to_spec(lot), describe(lot), label, data="data/all/fairness.csv")
        return safe(figure.removesuffix("\n"))

    def home(self) -> str:
        m = self.model
        page = "index.md"
        periods = sorted(set(m.latest.values()))
        rows = self.lottery_rows(m.indicators)
        measured = [i for i, r in rows.items() if r.get("true_cv") is not None]
        latest = m.latest_rows()
        judged = latest.filter(pl.col("comparison_95").cast(pl.String).fill_null("not compared") != "not compared").height > 0
        n = len({m.page_indicators.get(i, i) for i in m.indicators})  # an indicator compared in several sets counts once
        sets = {s for _, s in m.comparisons.values() if s}
        what = []  # the site's own words (the postcode lottery in italics), not data
        if judged:
            what.append("each area against the benchmark")
        if measured:
            what.append("how much of the variation between areas is real rather than chance (the *postcode lottery*)")
        if m.value is not None:
            what.append("what areas spend for what they achieve")
        lottery = self._lottery_figure(
            page, measured, "charts/home.js", "home/lottery", "Chart of the true spread between areas for every indicator"
        )
        no_intervals = not judged and latest.filter(pl.col("value").is_not_null() & pl.col("lower_95").is_null()).height > 0
        return render(
            "home.md.j2",
            title=self.title,
            indicators=plural(n, "indicator"),
            single=n == 1,
            sectors=join_words([sector_title(s).lower() for s in m.sectors]),
            areas=plural(m.areas.height, "area"),
            sets=len(sets),
            what=safe(join_words(what)),
            periods_count=len(periods),
            periods=", ".join(periods),
            no_intervals=NO_INTERVALS if no_intervals else None,
            synthetic=m.dataset.synthetic,
            areas_link=safe(link(page, "areas.html", "areas")),
            indicators_link=safe(link(page, "indicators.html", "indicators")),
            lottery=lottery,
            sections=[
                {"title": sector_title(s), "table": self.headline_table(page, s, rows), "findings": self.findings(page, s)}
                for s in m.sectors
            ],
        )

    def headline_table(self, page: str, sector: str, lottery: dict[str, dict[str, Any]]) -> Markup:
        m = self.model
        latest = m.latest_rows()
        word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
        counts = {
            r["indicator_id"]: r
            for r in latest.group_by("indicator_id")
            .agg(
                (word == "better").sum().alias("better"),
                (word == "worse").sum().alias("worse"),
                (word != "not compared").sum().alias("judged"),
                (pl.col("floor_status") == "confidently below").sum().alias("below"),
            )
            .to_dicts()
        }
        body = []
        for ind in (i for i in m.indicators.values() if i.sector == sector):
            fair, c = lottery.get(ind.id, {}), counts.get(ind.id, {})
            cv = fair.get("true_cv")
            index = spread_text(cv, fair.get("true_cv_lower_95"), fair.get("true_cv_upper_95"))
            judged = c.get("judged", 0) > 0
            body.append(
                [
                    self.indicator_link(page, ind),
                    m.latest[ind.id],
                    index,
                    percent(fair.get("i2")),
                    c.get("better", 0) if judged else "–",
                    c.get("worse", 0) if judged else "–",
                    c.get("below", 0) if ind.floor is not None and judged else "–",
                ]
            )
        return safe(
            table(
                [
                    "Indicator",
                    "Latest",
                    "Postcode-lottery index (95% interval)",
                    "Variation that is real",
                    "Areas better",
                    "Areas worse",
                    "Below floor",
                ],
                body,
                caption=f"{sector_title(sector)}: latest values. The postcode-lottery index is the true spread of areas "
                "around the overall value of the areas compared, after removing chance; better and worse are at 95% confidence "
                "(a dash: the figures have no confidence intervals, so they cannot be judged).",
                raw=[True, False, False, False, False, False, False],
                numeric=[False, False, False, True, True, True, True],
            )
        )

    def findings(self, page: str, sector: str) -> dict[str, Any]:
        """Biggest improvers (change beyond chance, in the better direction) and areas below the floor.

        The context of ``sector_findings.md.j2``: every value already escaped for HTML.
        """
        m = self.model
        ids = [i for i, ind in m.indicators.items() if ind.sector == sector]
        improvers = []
        for r in m.improvers(sector).head(5).to_dicts():
            ind = m.indicators[r["indicator_id"]]
            low, high = sorted((abs(r["yoy_lower_95"]), abs(r["yoy_upper_95"])))
            improvers.append(
                {
                    "area": safe(self.area_link(page, r["area_code"])),
                    "indicator": _html(ind.title),
                    "rose": r["yoy_change"] > 0,
                    "change": _html(change(abs(r["yoy_change"]), ind)),
                    "low": _html(change(low, ind)),
                    "high": _html(change(high, ind)),
                    "since": _html(r["previous_period"] or "the previous period"),
                }
            )
        below = m.latest_rows().filter(pl.col("indicator_id").is_in(ids), pl.col("floor_status") == "confidently below")
        floors = []
        for ind_id, group in sorted(below.group_by("indicator_id"), key=lambda g: g[0][0]):
            ind = m.indicators[ind_id[0]]
            floors.append(
                {
                    "indicator": safe(self.indicator_link(page, ind)),
                    "floor": _html(num(ind.floor, ind)),
                    "areas": plural(group.height, "area"),
                    "names": [
                        safe(self.area_link(page, c)) for c in group.sort("value").get_column("area_code").head(8).to_list()
                    ],
                    "more": max(group.height - 8, 0),
                }
            )
        return {"improvers": improvers, "below": floors, **self._quiet_findings(ids, bool(improvers), bool(floors))}

    def _quiet_findings(self, ids: list[str], improved: bool, below: bool) -> dict[str, str | None]:
        """What a sector's findings say when they list nothing: that nothing was found, only
        where it could have been; otherwise why it cannot be judged (no direction, no earlier
        period, no intervals), and nothing about floors where the sector has none."""
        m = self.model
        latest = m.latest_rows().filter(pl.col("indicator_id").is_in(ids))
        change = floor = None
        if not improved:
            directional = latest.filter(pl.col("indicator_id").is_in([i for i in ids if m.indicators[i].has_polarity]))
            why = (
                "no indicator has a known direction, so no change can be called an improvement"
                if not directional.height
                else "there is no earlier period to compare the latest with"
                if directional.get_column("yoy_change").is_null().all()
                else "the figures have no confidence intervals"
                if directional.get_column("yoy_lower_95").is_null().all()
                else None
            )
            change = (
                f"Whether any area improved by more than chance cannot be judged: {why}."
                if why
                else "No area improved by more than chance in the latest year."
            )
        floored = [i for i in ids if m.indicators[i].floor is not None]
        if not below and floored:
            assessed = latest.filter(
                pl.col("indicator_id").is_in(floored), pl.col("floor_status").cast(pl.String) != "not assessed"
            )
            floor = (
                "No area is confidently below a floor standard."
                if assessed.height
                else "Whether any area is below its floor standard cannot be judged: no area has a latest value."
            )
        return {"change_note": change, "floor_note": floor}

    def sector(self, sector: str) -> str:
        m = self.model
        page = f"sectors/{sector}.md"
        title = sector_title(sector)
        note = untitled_note(sector)
        if note is not None and note not in m.notes:
            m.notes.append(note)
        ids = [i for i, ind in m.indicators.items() if ind.sector == sector]
        lottery = self.lottery_rows(ids)
        measured = [i for i, r in lottery.items() if r.get("true_cv") is not None]
        figure = self._lottery_figure(
            page,
            measured,
            f"charts/sectors/{sector}.js",
            f"sectors/{sector}/lottery",
            f"Chart of the true spread between areas for {title.lower()} indicators",
        )
        latest = m.latest_rows()
        body = []
        for ind_id in ids:
            ind = m.indicators[ind_id]
            rows = latest.filter(pl.col("indicator_id") == ind_id)
            values = rows.get_column("value").drop_nulls()
            bench = self.benchmark(ind, rows)
            trend = self.national_trend(ind_id)
            fair = lottery.get(ind_id, {})
            body.append(
                [
                    self.indicator_link(page, ind),
                    m.latest[ind_id],
                    bench.name if bench.varies else f"{bench.name}, {num(bench.value, ind)}",
                    f"{num(values.quantile(0.1), ind)} to {num(values.quantile(0.9), ind)}" if values.len() else "–",
                    spread_text(fair.get("true_cv")),
                    trend,
                ]
            )
        summary = table(
            ["Indicator", "Latest", "Benchmark", "Middle 80% of areas", "Postcode-lottery index", "Trend in the benchmark"],
            body,
            caption=f"{title}: every indicator's latest value, spread and trend.",
            raw=[True, False, False, False, False, False],
        )
        grid, grid_note = self._sector_grid(page, sector), None
        if grid is None and self._region_pages():
            grid_note = safe(
                html_text(f"With {m.areas.height:,} areas, the grid of every area on every indicator is on each region's page: ")
                + link(page, "areas.html", "the areas by region")
                + "."
            )
        elif grid is None:
            grid_note = safe(
                html_text(
                    f"With {m.areas.height:,} areas, the grid of every area on every indicator would be too large for one "
                    "page; each indicator's page has a table of every area."
                )
            )
        return render(
            "sector.md.j2",
            title=title,
            indicators=plural(len(ids), "indicator"),
            areas=plural(m.areas.height, "area"),
            lottery=figure,
            summary_table=safe(summary),
            findings=self.findings(page, sector),
            grid=grid,
            grid_note=grid_note,
        )

    # -- the grid of areas × indicators ---------------------------------------------------

    def grid_of(self, sector: str) -> Grid:
        """Every compared area × the sector's indicators (latest periods): one pivot, kept for the region pages."""
        cache: dict[str, Grid] = self.__dict__.setdefault("_grid_cache", {})
        if sector not in cache:
            m = self.model
            ids = [i for i, ind in m.indicators.items() if ind.sector == sector]
            cache[sector] = build_grid(self.latest_frame(), m.indicators, ids, m.areas)
        return cache[sector]

    def _grid_benchmark(self, sector: str) -> tuple[str, bool]:
        """The benchmark row's name for a sector's grid, and whether it is one benchmark for every area."""
        cache: dict[str, tuple[str, bool]] = self.__dict__.setdefault("_grid_benchmark_cache", {})
        if sector not in cache:
            latest = self.latest_frame()
            names = {
                (b.name, b.varies)
                for b in (
                    self.benchmark(ind, latest.filter(pl.col("indicator_id") == i))
                    for i, ind in self.model.indicators.items()
                    if ind.sector == sector
                )
            }
            name, varies = names.pop() if len(names) == 1 else ("Benchmark", True)
            cache[sector] = ("Benchmark" if varies else name), not varies
        return cache[sector]

    def _grid_caption(self, what: str, grid: Grid, benchmark: str, single: bool) -> str:
        against = f"the benchmark ({benchmark})" if single else "each area's benchmark"
        caption = f"{what}: the latest value of each indicator, coloured by comparison with {against} at 95% confidence"
        if any(c.basis == "fifths" for c in grid.columns):
            caption += (
                "; indicators marked coloured by fifths have no confidence intervals, so their areas are coloured by "
                "fifth of all areas by value instead"
            )
        return caption + ". The benchmark is the first row; areas follow by name."

    def _sector_grid(self, page: str, sector: str) -> Markup | None:
        grid = self.grid_of(sector)
        if not grid.columns or not grid.rows.height or grid.cells > GRID_MAX_CELLS:
            return None
        name, single = self._grid_benchmark(sector)
        caption = self._grid_caption(sector_title(sector), grid, name, single)
        return grid_html(grid, page=page, key=f"grid-{sector}", caption=caption, benchmark=name)

    def _region_grids(self, page: str, title: str, codes: pl.Series) -> tuple[list[dict[str, Any]], str | None]:
        """A region's grids, one per sector (its areas only), or why there are none."""
        grids = [(s, self.grid_of(s).of_areas(codes)) for s in self.model.sectors]
        grids = [(s, g) for s, g in grids if g.columns and g.rows.height]
        cells = sum(g.cells for _, g in grids)
        if cells > GRID_MAX_CELLS:
            return [], (
                f"This page has too many areas ({codes.len():,}) for a grid of every area on every indicator; "
                "each indicator's page has a table of every area."
            )
        out = []
        for sector, grid in grids:
            name, single = self._grid_benchmark(sector)
            caption = self._grid_caption(f"{sector_title(sector)}, {title.lower()[:1]}{title[1:]}", grid, name, single)
            out.append(
                {
                    "title": sector_title(sector),
                    "grid": grid_html(grid, page=page, key=f"grid-{sector}", caption=caption, benchmark=name),
                }
            )
        return out, None

    def _region_pages(self) -> bool:
        return self.model.areas.height > REGION_PAGES_FROM and self.model.regions.height > 0

    def national_trend(self, ind_id: str) -> str:
        """The benchmark's change over the periods, in words (a cell of the sector's table, escaped there)."""
        series = (
            self.model.results.filter(pl.col("indicator_id") == ind_id)
            .group_by("period_start")
            .agg(pl.col("benchmark_value").drop_nulls().first())
            .sort("period_start")
            .get_column("benchmark_value")
            .drop_nulls()
        )
        if series.len() < 2:
            return "one period only"
        first, last = series[0], series[-1]
        ind = self.model.indicators[ind_id]
        if abs(last - first) < 1e-9 * max(1.0, abs(first)):
            return "unchanged"
        return f"{'up' if last > first else 'down'} from {num(first, ind)} to {num(last, ind)} over {series.len()} periods"

    def indicator_index(self) -> str:
        m = self.model
        page = "indicators.md"
        lottery = self.lottery_rows(m.indicators)
        sections = []
        for sector in m.sectors:
            body = [
                [
                    self.indicator_link(page, ind),
                    html_text(ind.unit or "–"),
                    m.latest[ind.id],
                    {"higher_is_better": "higher", "lower_is_better": "lower"}.get(ind.polarity, "no judgement"),
                    spread_text(lottery.get(ind.id, {}).get("true_cv")),
                ]
                for ind in m.indicators.values()
                if ind.sector == sector
            ]
            sections.append(
                {
                    "title": sector_title(sector),
                    "table": safe(
                        table(
                            ["Indicator", "Measured in", "Latest", "Better when", "Postcode-lottery index"],
                            body,
                            caption=f"{sector_title(sector)} indicators",
                            raw=[True, True, False, False, False],
                        )
                    ),
                }
            )
        return render("indicators_index.md.j2", count=len(m.indicators), sections=sections)

    def areas_index(self) -> tuple[str, dict[str, str]]:
        """The area index; for many areas also one index page per region (returned by path)."""
        m = self.model
        page = "areas.md"
        count = plural(m.areas.height, "area")
        regions = dict(m.regions.iter_rows())
        extra: dict[str, str] = {}
        if m.areas.height > REGION_PAGES_FROM and regions:
            body = []
            for code, name in sorted(regions.items(), key=lambda kv: kv[1]):
                sub = f"regions/{m.slugs[code]}.md"
                members = m.areas.filter(pl.col("parent_code") == code)
                body.append([link(page, sub.replace(".md", ".html"), name), members.height])
                extra[sub] = self._area_list(sub, f"Areas in {name}", members)
            unassigned = m.areas.filter(pl.col("parent_code").is_null())
            if unassigned.height:
                extra["regions/none.md"] = self._area_list("regions/none.md", "Areas without a region", unassigned)
                body.append([link(page, "regions/none.html", "No region"), unassigned.height])
            regions_table = table(["Region", "Areas"], body, caption="Areas by region", raw=[True, False], numeric=[False, True])
            return render("areas_index.md.j2", areas=count, regions_table=safe(regions_table)), extra
        return render(
            "areas_index.md.j2", areas=count, regions_table=None, areas_table=self._area_table(page, "Areas", m.areas)
        ), extra

    def _area_list(self, page: str, title: str, areas: pl.DataFrame) -> str:
        """A page listing ``areas`` (a region's), with their grids of every indicator."""
        grids, grid_note = self._region_grids(page, title, areas.get_column("area_code"))
        return render(
            "region.md.j2",
            title=title,
            areas_table=self._area_table(page, title, areas),
            grids=grids,
            grid_note=grid_note,
        )

    def _area_table(self, page: str, title: str, areas: pl.DataFrame) -> Markup:
        regions = dict(self.model.regions.iter_rows())
        links = [
            link(page, f"areas/{s}.html", n) for s, n in zip(areas.get_column("slug"), areas.get_column("area_name"), strict=True)
        ]
        pops = areas.get_column("population").to_list() if "population" in areas.columns else [None] * areas.height
        body = [
            [a, c, regions.get(p, p or "–"), "–" if pop is None else f"{pop:,.0f}"]
            for a, c, p, pop in zip(links, areas.get_column("area_code"), areas.get_column("parent_code"), pops, strict=True)
        ]
        body.sort(key=lambda r: r[0].rsplit(">", 2)[-2].lower())
        return safe(
            table(
                ["Area", "Code", "Region", "Population"],
                body,
                caption=f"{title} ({areas.height:,})",
                raw=[True, False, False, False],
                numeric=[False, False, False, True],
            )
        )
