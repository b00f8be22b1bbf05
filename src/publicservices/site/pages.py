"""The pages of the site, as Markdown with HTML tables and chart figures inside.

Every string that comes from the data goes through :mod:`publicservices.site.safety`:
``md_text`` in prose and headings, ``html_text`` (via :func:`markup.table`) in tables and
attributes, ``js_json`` in chart scripts. Links inside HTML are written as the built
``.html`` paths, relative to the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from publicservices.display import format_number
from publicservices.indicators import Indicator
from publicservices.site import specs
from publicservices.site.boundaries import NAME as BOUNDARIES
from publicservices.site.boundaries import SCRIPT as BOUNDARIES_SCRIPT
from publicservices.site.boundaries import Boundaries
from publicservices.site.markup import chart, front_matter, link, table
from publicservices.site.model import SiteModel
from publicservices.site.safety import html_text, md_text

METHODS_VERSION = "site-1"
REGION_PAGES_FROM = 1000  # above this many areas, the area index is split by region
LEAGUE_ROWS = 15  # rows at each end of an indicator's league table on the page (the CSV has all)
SECTOR_TITLES = {"health": "Health", "schools": "Schools", "policing": "Policing", "welfare": "Welfare"}


def sector_title(sector: str) -> str:
    return SECTOR_TITLES.get(sector, sector.replace("_", " ").capitalize())


def num(value: Any, ind: Indicator | None = None) -> str:
    return format_number(value, unit=ind.unit if ind else "")


def interval(lo: Any, hi: Any) -> str:
    if lo is None or hi is None:
        return "–"
    return f"{format_number(lo)} to {format_number(hi)}"


def percent(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


@dataclasses.dataclass
class Pages:
    """Writes every page of one site from its :class:`SiteModel`."""

    model: SiteModel
    title: str
    boundaries: Boundaries | None = None
    base_url: str | None = None
    charts: specs.ChartScripts = dataclasses.field(default_factory=specs.ChartScripts)

    # -- shared pieces ------------------------------------------------------------------

    def area_link(self, page: str, code: str) -> str:
        slug = self.model.slugs.get(code)
        name = self.model.area_name(code)
        return link(page, f"areas/{slug}.html", name) if slug and code in self._compared else html_text(name)

    @property
    def _compared(self) -> set[str]:
        if not hasattr(self, "_compared_cache"):
            self._compared_cache = set(self.model.areas.get_column("area_code").to_list())
        return self._compared_cache

    def indicator_link(self, page: str, ind: Indicator) -> str:
        return link(page, f"indicators/{ind.id}.html", ind.title)

    def figure(self, page: str, script: str, key: str, spec: dict[str, Any] | None, summary: str, label: str,
               data: str | None = None, inline: dict[str, Any] | None = None, shared: Sequence[str] = ()) -> str:
        if spec is not None:
            self.charts.add(script, key, spec)
        links = {"Download the data (CSV)": data} if data else {}
        return chart(page=page, key=key, load=[*shared, script], label=label, summary=summary, links=links, inline=inline) + "\n"

    def lottery_rows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each indicator's fairness row in its latest published period."""
        fair = self.model.fairness
        if fair is None:
            return {}
        frame = fair.frame
        wanted = pl.DataFrame({"indicator_id": list(ids), "period": [self.model.latest[i] for i in ids]},
                              schema={"indicator_id": pl.String, "period": pl.String})
        rows = frame.join(wanted, on=["indicator_id", "period"], how="semi")
        return {r["indicator_id"]: r for r in rows.to_dicts()}

    # -- pages --------------------------------------------------------------------------

    def home(self) -> str:
        m = self.model
        page = "index.md"
        periods = sorted(set(m.latest.values()))
        out = [front_matter(self.title), f"# {md_text(self.title)}\n"]
        out.append(f"How {len(m.indicators)} indicators of {', '.join(sector_title(s).lower() for s in m.sectors)} compare across "
                   f"{m.areas.height:,} areas, with honest uncertainty: each area against the benchmark, how much of the "
                   "variation between areas is real rather than chance (the *postcode lottery*), and what areas spend for "
                   f"what they achieve. Latest period{'s' if len(periods) > 1 else ''}: {md_text(', '.join(periods))}.\n")
        if m.dataset.synthetic:
            out.append('!!! warning "Synthetic data"\n    Every place and number on this site is invented, to show how the comparisons '
                       "work. They are not real statistics.\n")
        out.append("Find your area with the search box, or browse the lists of "
                   f"{link(page, 'areas.html', 'areas')} and {link(page, 'indicators.html', 'indicators')}.\n")
        rows = self.lottery_rows(m.indicators)
        if m.fairness is not None and rows:
            from publicservices.charts import describe, lottery_chart

            lot = lottery_chart(m.fairness.frame.filter(pl.col("indicator_id").is_in(list(rows))), m.indicators)
            out.append("## The postcode lottery\n")
            out.append(self.figure(page, "charts/home.js", "home/lottery", specs.to_spec(lot), describe(lot),
                                   "Chart of the true spread between areas for every indicator", data="data/all/fairness.csv"))
        for sector in m.sectors:
            out.append(f"## {md_text(sector_title(sector))}\n")
            out.append(self.headline_table(page, sector, rows))
            out.append(self.findings(page, sector))
        return "\n".join(out)

    def headline_table(self, page: str, sector: str, lottery: dict[str, dict[str, Any]]) -> str:
        m = self.model
        latest = m.latest_rows()
        counts = {r["indicator_id"]: r for r in latest.group_by("indicator_id").agg(
            (pl.col("comparison_95").cast(pl.String) == "better").sum().alias("better"),
            (pl.col("comparison_95").cast(pl.String) == "worse").sum().alias("worse"),
            (pl.col("floor_status") == "confidently below").sum().alias("below"),
        ).to_dicts()}
        body = []
        for ind in (i for i in m.indicators.values() if i.sector == sector):
            fair, c = lottery.get(ind.id, {}), counts.get(ind.id, {})
            cv = fair.get("true_cv")
            index = "–" if cv is None else f"±{100 * cv:.1f}% ({100 * fair['true_cv_lower_95']:.1f} to {100 * fair['true_cv_upper_95']:.1f})" \
                if fair.get("true_cv_lower_95") is not None else f"±{100 * cv:.1f}%"
            body.append([self.indicator_link(page, ind), m.latest[ind.id], index, percent(fair.get("i2")),
                         c.get("better", 0), c.get("worse", 0), c.get("below", 0) if ind.floor is not None else "–"])
        return table(["Indicator", "Latest", "Postcode-lottery index (95% interval)", "Variation that is real",
                      "Areas better", "Areas worse", "Below floor"], body,
                     caption=f"{sector_title(sector)}: latest values. The postcode-lottery index is the true spread of areas "
                             "around the national value, after removing chance; better and worse are at 95% confidence.",
                     raw=[True, False, False, False, False, False, False], numeric=[False, False, False, True, True, True, True]) + "\n"

    def findings(self, page: str, sector: str) -> str:
        """Biggest improvers (change beyond chance, in the better direction) and areas below the floor."""
        m = self.model
        ids = [i for i, ind in m.indicators.items() if ind.sector == sector and ind.has_polarity]
        latest = m.latest_rows().filter(pl.col("indicator_id").is_in(ids))
        good = pl.when(pl.col("polarity") == "lower_is_better").then(-pl.col("yoy_change")).otherwise(pl.col("yoy_change"))
        sure = pl.when(pl.col("polarity") == "lower_is_better").then(pl.col("yoy_upper_95") < 0).otherwise(pl.col("yoy_lower_95") > 0)
        improvers = latest.filter(sure.fill_null(False)).with_columns(good.alias("_gain")).sort("_gain", descending=True).head(5)
        out = []
        if improvers.height:
            items = []
            for r in improvers.to_dicts():
                ind = m.indicators[r["indicator_id"]]
                items.append(f"<li>{self.area_link(page, r['area_code'])}: {html_text(ind.title)} {'rose' if r['yoy_change'] > 0 else 'fell'} "
                             f"by {html_text(num(abs(r['yoy_change']), ind))} since {html_text(r['previous_period'] or 'the previous period')}.</li>")
            out.append("<p><strong>Biggest improvers</strong> (changes larger than chance, 95%):</p>\n<ul>" + "".join(items) + "</ul>\n")
        below = m.latest_rows().filter(pl.col("indicator_id").is_in([i for i, ind in m.indicators.items() if ind.sector == sector]),
                                       pl.col("floor_status") == "confidently below")
        if below.height:
            parts = []
            for ind_id, group in sorted(below.group_by("indicator_id"), key=lambda g: g[0][0]):
                ind = m.indicators[ind_id[0]]
                names = [self.area_link(page, c) for c in group.sort("value").get_column("area_code").head(8).to_list()]
                more = f" and {group.height - 8:,} more" if group.height > 8 else ""
                parts.append(f"<li>{self.indicator_link(page, ind)} (floor {html_text(num(ind.floor, ind))}): "
                             f"{group.height:,} area{'s' if group.height != 1 else ''}, {', '.join(names)}{more}.</li>")
            out.append("<p><strong>Below the floor standard</strong> (confidently, at 95%):</p>\n<ul>" + "".join(parts) + "</ul>\n")
        if not out:
            out.append("No area improved by more than chance in the latest year, and none is confidently below a floor standard.\n")
        return "\n".join(out)

    def sector(self, sector: str) -> str:
        m = self.model
        page = f"sectors/{sector}.md"
        title = sector_title(sector)
        ids = [i for i, ind in m.indicators.items() if ind.sector == sector]
        lottery = self.lottery_rows(ids)
        out = [front_matter(title), f"# {md_text(title)}\n",
               f"{len(ids)} indicator{'s' if len(ids) != 1 else ''} across {m.areas.height:,} areas.\n"]
        if m.fairness is not None and lottery:
            from publicservices.charts import describe, lottery_chart

            lot = lottery_chart(m.fairness.frame.filter(pl.col("indicator_id").is_in(list(lottery))), m.indicators)
            out.append(self.figure(page, f"charts/sectors/{sector}.js", f"sectors/{sector}/lottery", specs.to_spec(lot), describe(lot),
                                   f"Chart of the true spread between areas for {title.lower()} indicators", data="data/all/fairness.csv"))
        latest = m.latest_rows()
        body = []
        for ind_id in ids:
            ind = m.indicators[ind_id]
            rows = latest.filter(pl.col("indicator_id") == ind_id)
            values = rows.get_column("value").drop_nulls()
            bench = rows.get_column("benchmark_value").drop_nulls()
            trend = self.national_trend(ind_id)
            fair = lottery.get(ind_id, {})
            body.append([self.indicator_link(page, ind), m.latest[ind_id], num(bench[0] if bench.len() else None, ind),
                         f"{num(values.quantile(0.1), ind)} to {num(values.quantile(0.9), ind)}" if values.len() else "–",
                         "–" if fair.get("true_cv") is None else f"±{100 * fair['true_cv']:.1f}%", trend])
        out.append(table(["Indicator", "Latest", "Benchmark", "Middle 80% of areas", "Postcode-lottery index", "Trend in the benchmark"], body,
                         caption=f"{title}: every indicator's latest value, spread and trend.", raw=[True, False, False, False, False, False]))
        out.append("")
        out.append(self.findings(page, sector))
        return "\n".join(out)

    def national_trend(self, ind_id: str) -> str:
        series = (self.model.results.filter(pl.col("indicator_id") == ind_id).group_by("period_start")
                  .agg(pl.col("benchmark_value").drop_nulls().first()).sort("period_start").get_column("benchmark_value").drop_nulls())
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
        out = [front_matter("Indicators"), "# Indicators\n", f"Every indicator on the site ({len(m.indicators)}), by sector.\n"]
        lottery = self.lottery_rows(m.indicators)
        for sector in m.sectors:
            body = [[self.indicator_link(page, ind), html_text(ind.unit or "–"), m.latest[ind.id],
                     {"higher_is_better": "higher", "lower_is_better": "lower"}.get(ind.polarity, "no judgement"),
                     "–" if lottery.get(ind.id, {}).get("true_cv") is None else f"±{100 * lottery[ind.id]['true_cv']:.1f}%"]
                    for ind in m.indicators.values() if ind.sector == sector]
            out.append(f"## {md_text(sector_title(sector))}\n")
            out.append(table(["Indicator", "Unit", "Latest", "Better when", "Postcode-lottery index"], body,
                             caption=f"{sector_title(sector)} indicators", raw=[True, True, False, False, False]) + "\n")
        return "\n".join(out)

    def areas_index(self) -> tuple[str, dict[str, str]]:
        """The area index; for many areas also one index page per region (returned by path)."""
        m = self.model
        page = "areas.md"
        out = [front_matter("Areas"), "# Areas\n", f"{m.areas.height:,} areas. Search finds an area by name.\n"]
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
            out.append(table(["Region", "Areas"], body, caption="Areas by region", raw=[True, False], numeric=[False, True]))
            return "\n".join(out), extra
        return self._area_list(page, "Areas", m.areas, head=out), extra

    def _area_list(self, page: str, title: str, areas: pl.DataFrame, head: list[str] | None = None) -> str:
        out = head or [front_matter(title), f"# {md_text(title)}\n"]
        regions = dict(self.model.regions.iter_rows())
        links = [link(page, f"areas/{s}.html", n) for s, n in zip(areas.get_column("slug"), areas.get_column("area_name"), strict=True)]
        pops = areas.get_column("population").to_list() if "population" in areas.columns else [None] * areas.height
        body = [[a, c, regions.get(p, p or "–"), "–" if pop is None else f"{pop:,.0f}"]
                for a, c, p, pop in zip(links, areas.get_column("area_code"), areas.get_column("parent_code"), pops, strict=True)]
        body.sort(key=lambda r: r[0].rsplit(">", 2)[-2].lower())
        out.append(table(["Area", "Code", "Region", "Population"], body, caption=f"{title} ({areas.height:,})",
                         raw=[True, False, False, False], numeric=[False, False, False, True]))
        return "\n".join(out) + "\n"

    # -- indicator page -----------------------------------------------------------------

    def indicator(self, ind: Indicator, latest_table: pl.DataFrame) -> str:
        from publicservices.charts import describe

        m = self.model
        page = f"indicators/{ind.id}.md"
        script = f"charts/indicators/{ind.id}.js"
        data = f"data/indicators/{ind.id}.csv"
        period = m.latest[ind.id]
        rows = m.latest_rows(ind.id)
        bench = rows.get_column("benchmark_value").drop_nulls()
        out = [front_matter(ind.title), f"# {md_text(ind.title)}\n"]
        facts = [f"**Sector**: {md_text(sector_title(ind.sector))}", f"**Latest period**: {md_text(period)}",
                 f"**Unit**: {md_text(ind.unit or 'none')}",
                 f"**Better when**: {dict(higher_is_better='higher', lower_is_better='lower').get(ind.polarity, 'no judgement (higher or lower)')}",
                 f"**Benchmark**: {md_text(num(bench[0] if bench.len() else None, ind))} ({md_text(str(m.options['benchmark']))})"]
        if ind.floor is not None:
            facts.append(f"**Floor standard**: {md_text(num(ind.floor, ind))}")
        if ind.target is not None:
            facts.append(f"**Target**: {md_text(num(ind.target, ind))}")
        out.append(" · ".join(facts) + "\n")
        if ind.definition:
            out.append(f"{md_text(ind.definition)}\n")
        if ind.source:
            out.append(f"*Source*: {md_text(ind.source)}\n")
        fair = self.lottery_rows([ind.id]).get(ind.id)
        brief = []
        funnel = m.funnels.get(ind.id)
        if funnel is not None:
            brief += funnel.sentences()
        if fair and fair.get("summary"):
            brief.append(fair["summary"])
        if brief:
            out.append("## In brief\n")
            out.append("\n".join(f"- {md_text(s)}" for s in brief) + "\n")
        shared = [BOUNDARIES_SCRIPT] if self.boundaries is not None else []
        map_spec = self.map_spec(ind, rows)
        if map_spec is not None:
            spec, text = map_spec
            out.append("## Map\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/map", spec, text, f"Map of {ind.title} by area", data=data, shared=shared))
        if funnel is not None:
            chart_ = funnel.chart()
            out.append("## Funnel plot\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/funnel", specs.to_spec(chart_), describe(chart_),
                                   f"Funnel plot of {ind.title}", data=data, shared=shared))
        ranks = m.ranks.get(ind.id)
        if ranks is not None:
            from publicservices.charts import league_table

            named = ranks.join(m.areas.select("area_code", "area_name"), on="area_code", how="left")
            if "comparison_95" not in named.columns:
                named = named.join(rows.select("area_code", "comparison_95"), on="area_code", how="left")
            league = league_table(named, indicator=ind)
            out.append("## League table with rank intervals\n")
            out.append("Ranks are uncertain: the interval shows where each area's rank would fall in 95% of plausible worlds. "
                       "Shrunken estimates pull small, noisy areas towards the average.\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/league", specs.to_spec(league), describe(league),
                                   f"League table of {ind.title} with rank intervals", data=data, shared=shared))
            out.append(self.league_rows(page, ind, latest_table))
        spread = specs.spread_rows(m.results.filter(pl.col("indicator_id") == ind.id))
        if spread.height:
            text = (f"How the spread of areas in {ind.title} changed over {spread.height} period{'s' if spread.height != 1 else ''} "
                    f"({spread.get_column('period')[0]} to {spread.get_column('period')[-1]}): the median area moved from "
                    f"{num(spread.get_column('p50')[0], ind)} to {num(spread.get_column('p50')[-1], ind)}.")
            out.append("## Trend\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/trend", specs.spread_spec(spread, ind.title, ind.unit), text,
                                   f"Trend in the spread of areas for {ind.title}", data=data, shared=shared))
        gradient = self.gradient(ind, period)
        if gradient is not None:
            out.append("## Deprivation gradient\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/gradient", specs.to_spec(gradient), describe(gradient),
                                   f"Deprivation gradient of {ind.title}", data=data, shared=shared))
        frontier = self.frontier(ind, period)
        if frontier is not None:
            chart_, sentences = frontier
            out.append("## Spend and outcome\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/frontier", specs.to_spec(chart_), " ".join(sentences) or describe(chart_),
                                   f"Spend against outcome for {ind.title}", data=data, shared=shared))
        if fair:
            out.append("## Fairness: is there a postcode lottery?\n")
            out.append(self.fairness_words(ind, fair))
        out.append("## Data\n")
        out.append(f"{link(page, data, 'Every area in ' + period + ' (CSV)')} · "
                   f"{link(page, data.replace('.csv', '.parquet'), 'Parquet')} · {link(page, 'downloads.html', 'All downloads')}\n")
        return "\n".join(out)

    def map_spec(self, ind: Indicator, rows: pl.DataFrame) -> tuple[dict[str, Any], str] | None:
        from publicservices.charts import choropleth, describe, hex_map

        frame = rows.select("area_code", "area_name", "value", "comparison_95")
        if self.boundaries is not None:
            placeholder = "ps-boundaries.json"
            chart_ = choropleth(frame, geometry_url=placeholder, feature=self.boundaries.feature, key=self.boundaries.key,
                                indicator=ind, category="comparison_95")
            drawn = frame.filter(pl.col("area_code").is_in(list(self.boundaries.names) or [None])).height
            text = describe(chart_)
            if drawn < frame.height:
                text += f" {frame.height - drawn:,} of the {frame.height:,} areas have no boundary in the file and are not drawn."
            return specs.name_data(specs.to_spec(chart_), placeholder, BOUNDARIES), text
        areas = self.model.areas
        if {"hex_q", "hex_r"} <= set(areas.columns) and areas.get_column("hex_q").null_count() == 0:
            chart_ = hex_map(frame, areas, indicator=ind, category="comparison_95")
            return specs.to_spec(chart_), describe(chart_)
        return None

    def gradient(self, ind: Indicator, period: str) -> Any:
        fair = self.model.fairness
        if fair is None or "deprivation" not in self.model.areas.columns or self.model.areas.get_column("deprivation").null_count() == self.model.areas.height:
            return None
        import warnings

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                chart_ = fair.chart("gradient", indicator=ind.id, period=period)
            for w in caught:
                self.model.notes.append(f"{ind.title}: deprivation gradient: {w.message}")
            return chart_
        except Exception as exc:  # noqa: BLE001 - a chart that cannot be drawn is noted, not fatal
            self.model.notes.append(f"{ind.title}: deprivation gradient not shown ({str(exc).splitlines()[0]})")
            return None

    def frontier(self, ind: Indicator, period: str) -> tuple[Any, list[str]] | None:
        value = self.model.value
        if value is None:
            return None
        rows = value.filter(pl.col("indicator_id") == ind.id, pl.col("period") == period)
        if rows.height < 3 or rows.get_column("spend").null_count() == rows.height:
            return None
        from publicservices.results.value import ValueResult

        result = ValueResult(rows, indicator=ind, indicators=self.model.indicators, areas=self.model.areas)
        try:
            return result.chart(), result.sentences()
        except Exception as exc:  # noqa: BLE001
            self.model.notes.append(f"{ind.title}: spend and outcome chart not shown ({str(exc).splitlines()[0]})")
            return None

    def league_rows(self, page: str, ind: Indicator, latest_table: pl.DataFrame) -> str:
        ranked = latest_table.filter(pl.col("median_rank").is_not_null()).sort("median_rank", "area_code")
        n = ranked.height
        shown = ranked if n <= 2 * LEAGUE_ROWS else pl.concat([ranked.head(LEAGUE_ROWS), ranked.tail(LEAGUE_ROWS)])
        body = [[self.area_link(page, r["area_code"]), num(r["value"], ind), interval(r.get("lower_95"), r.get("upper_95")),
                 num(r.get("shrunk_value"), ind), f"{r['median_rank']:.0f}",
                 f"{r['rank_lower_95']:.0f} to {r['rank_upper_95']:.0f}" if r.get("rank_lower_95") is not None else "–",
                 str(r.get("comparison_95") or "not compared")] for r in shown.to_dicts()]
        caption = (f"{'All' if n <= 2 * LEAGUE_ROWS else f'The top and bottom {LEAGUE_ROWS} of'} {n:,} ranked areas "
                   "(rank 1 is best); the CSV has every area.")
        return table(["Area", "Value", "95% interval", "Shrunken estimate", "Median rank", "95% rank interval", "Compared with benchmark"],
                     body, caption=caption, raw=[True] + [False] * 6, numeric=[False, True, False, True, True, False, False]) + "\n"

    def fairness_words(self, ind: Indicator, fair: dict[str, Any]) -> str:
        items = []
        if fair.get("true_cv") is not None:
            lo, hi = fair.get("true_cv_lower_95"), fair.get("true_cv_upper_95")
            items.append(f"**Postcode-lottery index**: the true values of areas typically differ by ±{100 * fair['true_cv']:.1f}% from the "
                         f"national value" + (f" (95% interval {100 * lo:.1f}% to {100 * hi:.1f}%)." if lo is not None and hi is not None else "."))
        if fair.get("i2") is not None:
            items.append(f"**How much of the variation is real**: {percent(fair['i2'])} of the differences between areas is more than "
                         "chance (the play of small numbers) would produce.")
        if fair.get("sii") is not None:
            items.append(f"**Social gradient**: the slope index of inequality is {md_text(num(fair['sii'], ind))} "
                         f"({interval(fair.get('sii_lower_95'), fair.get('sii_upper_95'))}): the modelled gap between the most and least "
                         "deprived ends of the country.")
        if fair.get("region_share_variance") is not None:
            items.append(f"**Geography**: {percent(fair['region_share_variance'])} of the variation lies between regions rather than within them.")
        if fair.get("gini") is not None:
            items.append(f"**Gini coefficient** across areas: {fair['gini']:.3f} (0 = every area equal).")
        if fair.get("moran_i") is not None and fair.get("moran_p") is not None:
            items.append(f"**Spatial clustering** (Moran's I): {fair['moran_i']:.2f}, permutation p = {fair['moran_p']:.2f}.")
        if fair.get("true_cv_trend") is not None and fair.get("trend_since"):
            items.append(f"**Change**: the postcode-lottery index changed by {100 * fair['true_cv_trend']:+.2f} points a year since "
                         f"{md_text(fair['trend_since'])}.")
        return "\n".join(f"- {i}" for i in items) + "\n\nMethods: " + f"{link(f'indicators/{ind.id}.md', 'methodology.html', 'methodology')}.\n"

    # -- area page ----------------------------------------------------------------------

    def area(self, code: str, slug: str, rows: pl.DataFrame, spine: pl.DataFrame, trend: pl.DataFrame,
             neighbours: pl.DataFrame | None, peer_means: pl.DataFrame | None, grades: dict[str, dict[str, Any]]) -> str:
        m = self.model
        page = f"areas/{slug}.md"
        name = m.area_name(code)
        info = m.areas.filter(pl.col("area_code") == code).to_dicts()[0]
        out = [front_matter(name), f"# {md_text(name)}\n"]
        facts = [f"**Code**: {md_text(code)}"]
        if info.get("parent_code"):
            facts.append(f"**Region**: {md_text(m.area_name(info['parent_code']))}")
        if info.get("area_type"):
            facts.append(f"**Type**: {md_text(info['area_type'])}")
        if info.get("population") is not None:
            facts.append(f"**Population**: {info['population']:,.0f}")
        if info.get("deprivation_decile") is not None:
            facts.append(f"**Deprivation decile**: {info['deprivation_decile']} of 10 (1 = most deprived)")
        out.append(" · ".join(facts) + "\n")
        data = f"data/areas/{slug}.csv"
        judged = rows.get_column("comparison_95").cast(pl.String).fill_null("not compared").value_counts()
        found = dict(judged.iter_rows())
        words = ", ".join(f"{found[w]} {w}" for w in specs.JUDGED if w in found)
        out.append("## Compared with the benchmark\n")
        if spine.height:
            out.append(self.figure(page, "charts/areas.js", "areas/spine", None,
                                   f"Spine chart for {name} on {rows.height} indicators: each bar runs from the worst area on the left to the best on "
                                   f"the right, the darker middle is the middle half of areas, the line is the benchmark. {name} compared with the "
                                   f"benchmark: {words}.", f"Spine chart of {name} against all areas",
                                   data=data, inline={"spine": spine.drop("area_code", "indicator_id").to_dicts()}))
        peers = {} if peer_means is None else {r["indicator_id"]: r["peer_mean"] for r in peer_means.to_dicts()}
        body = []
        for r in rows.to_dicts():
            ind = m.indicators[r["indicator_id"]]
            hidden = r.get("suppressed") is not None
            body.append([self.indicator_link(page, ind), r["period"], "suppressed" if hidden else num(r["value"], ind),
                         "–" if hidden else interval(r.get("lower_95"), r.get("upper_95")), num(r.get("benchmark_value"), ind),
                         str(r.get("comparison_95") or "not compared"), num(peers.get(ind.id), ind) if peers else "–",
                         r.get("recent_trend") or "–"])
        out.append(table(["Indicator", "Period", "Value", "95% interval", "Benchmark", "Compared with benchmark", "Similar areas (mean)", "Recent trend"],
                         body, caption=f"{name}: every indicator in its latest period", raw=[True] + [False] * 7,
                         numeric=[False, False, True, False, True, False, True, False]) + "\n")
        if neighbours is not None and neighbours.height:
            out.append("## Similar areas\n")
            out.append("The areas most like this one in population, deprivation and the other recorded characteristics "
                       "(nearest neighbours on standardised measures): compare with them, not only with the country.\n")
            nb = [[self.area_link(page, r["neighbour_code"]), r["rank"], f"{r['distance']:.2f}"] for r in neighbours.sort("rank").to_dicts()]
            out.append(table(["Area", "Rank", "Distance"], nb, caption=f"Nearest neighbours of {name}", raw=[True, False, False],
                             numeric=[False, True, True]) + "\n")
        if grades:
            out.append("## Report card\n")
            gb = [[html_text(sector_title(s)), g.get("grade") or "–", "–" if g.get("score") is None else f"{g['score']:.0f}",
                   "–" if g.get("p_grade_change") is None else percent(g["p_grade_change"])] for s, g in sorted(grades.items())]
            out.append(table(["Sector", "Grade", "Score (0-100)", "Chance the grade changes with the weights"], gb,
                             caption=f"Report-card grades of {name} (A best, F worst), from percentile scores of every indicator",
                             raw=[True, False, False, False], numeric=[False, False, True, True]) + "\n")
        if trend.height:
            out.append("## Trends\n")
            periods = trend.get_column("period").unique().len()
            out.append(self.figure(page, "charts/areas.js", "areas/trend", None,
                                   f"Trends for {name}: every indicator over {periods} period{'s' if periods != 1 else ''}, with the 95% "
                                   "interval (band) and the benchmark (dashed line).", f"Trend charts of {name}", data=data,
                                   inline={"trend": trend.drop("area_code").to_dicts()}))
        return "\n".join(out)

    # -- methodology and downloads ------------------------------------------------------

    def methodology(self, versions: dict[str, str]) -> str:
        m = self.model
        page = "methodology.md"
        t = m.options["suppress_threshold"]
        out = [front_matter("Methodology"), "# Methodology\n",
               f"Every number on this site is computed by the open-source package publicservices (methods version {METHODS_VERSION}). "
               "Each statistic below names the function that computes it; its documentation gives the formula, assumptions and reference.\n"]
        methods = [
            ("Values and confidence intervals", "publicservices.stats.intervals", "Wilson score (proportions), Byar's method with exact Poisson "
             "limits below 10 events (rates), Student t (means), Dobson (directly standardised rates), observed over expected (ratios)."),
            ("Comparison with the benchmark", "publicservices.stats.outcomes.compare", "Better, similar or worse than the benchmark when its "
             "interval excludes the benchmark at 95% and 99.8% (Fingertips); the probability that the true value is on the wrong side."),
            ("Floor standards", "publicservices.stats.outcomes.floor_status", "Confidently below when the whole 95% interval lies below the floor."),
            ("Recent trend", "publicservices.stats.trends.recent_trend", "The Fingertips chi-square test for trend over the latest five points."),
            ("Funnel plots", "publicservices.stats.funnel.funnel", "Control limits at 95% and 99.8% as PHEindicatormethods computes them; "
             "Spiegelhalter (2005) overdispersion available."),
            ("Shrunken estimates and rank intervals", "publicservices.stats.shrinkage", "Empirical-Bayes estimates (beta-binomial, Poisson-gamma or "
             "normal); ranks simulated from each area's uncertainty (Goldstein & Spiegelhalter 1996)."),
            ("The postcode-lottery index", "publicservices.stats.fairness.fairness", "The between-area variance beyond chance (DerSimonian-Laird), "
             "as a coefficient of variation around the national value with its Q-profile interval; I² is the share of variance that is real."),
            ("Social gradient", "publicservices.stats.gradient", "Slope and relative index of inequality across deprivation deciles "
             "(population-weighted regression on the ridit, simulated limits, as PHEindicatormethods)."),
            ("Value for money", "publicservices.stats.value.value_for_money", "Spend per head; the outcome expected for an area's spend and need "
             "(weighted regression); the efficient frontier by data envelopment analysis (BCC)."),
            ("Similar areas", "publicservices.stats.comparators.nearest_neighbours", "Nearest neighbours on standardised area characteristics."),
            ("Report cards", "publicservices.stats.report_cards.report_cards", "Letter grades from percentile scores of each indicator, with how "
             "often a grade changes when the weights are perturbed."),
        ]
        out.append(table(["Statistic", "Function", "Method"], [[a, b, c] for a, b, c in methods], caption="Statistics on this site") + "\n")
        out.append("## Small numbers\n")
        if t > 0:
            report = {r["reason"]: r for r in m.suppression.to_dicts()}
            primary = report.get("primary", {}).get("rows", 0)
            secondary = report.get("secondary", {}).get("rows", 0)
            out.append(f"Counts from 1 to {t - 1} are suppressed, so that no person can be singled out; and in every region and the whole "
                       "country with exactly one hidden cell the next smallest is hidden too, so that no hidden count can be worked out "
                       f"from the totals. On this site {primary:,} cells were suppressed for small numbers and {secondary:,} more to "
                       "protect them. Benchmarks use every count, as an official total would; every per-area figure of a hidden cell is "
                       "blank, and ranks, funnel plots and fairness measures use only the published values.\n")
        else:
            out.append("Small numbers are **not** suppressed on this site (the publisher turned suppression off).\n")
        if m.notes:
            out.append("## Notes on the data\n")
            out.append("\n".join(f"- {md_text(n)}" for n in m.notes) + "\n")
        out.append("## Provenance\n")
        out.append(table(["Component", "Version"], sorted(versions.items()), caption="Software that built this site") + "\n")
        out.append(f"SHA-256 of the input data: `{m.data_hash}`.\n")
        out.append(f"See also: {link(page, 'downloads.html', 'downloads')}.\n")
        return "\n".join(out)

    def downloads(self, files: Sequence[tuple[str, str]]) -> str:
        page = "downloads.md"
        base = (self.base_url or "").rstrip("/") + "/" if self.base_url else ""
        out = [front_matter("Downloads"), "# Downloads\n",
               "All the data behind the site, free to reuse. Each indicator and area page also links to its own CSV and Parquet files.\n"]
        out.append(table(["File", "What it holds"], [[link(page, path, path), what] for path, what in files],
                         caption="Data files", raw=[True, False]) + "\n")
        where = f"{base}data/all/results.parquet" if base else "data/all/results.parquet"
        out.append("Read them with Polars:\n")
        out.append(f'```python\nimport polars as pl\n\nresults = pl.read_parquet("{where}")\n'
                   'latest = results.filter(pl.col("period") == results.get_column("period").max())\n```\n')
        return "\n".join(out)

