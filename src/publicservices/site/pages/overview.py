"""The home page, the sector pages and the indexes of indicators and areas."""

from __future__ import annotations

from typing import Any

import polars as pl

from publicservices.display import join_words, plural
from publicservices.site import specs
from publicservices.site.markup import front_matter, link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import (
    NO_INTERVALS,
    REGION_PAGES_FROM,
    change,
    num,
    percent,
    sector_title,
    untitled_note,
)
from publicservices.site.safety import html_text, md_text


class OverviewPages(PagesBase):
    """Home, sectors, indexes."""

    def home(self) -> str:
        m = self.model
        page = "index.md"
        periods = sorted(set(m.latest.values()))
        rows = self.lottery_rows(m.indicators)
        measured = [i for i, r in rows.items() if r.get("true_cv") is not None]
        latest = m.latest_rows()
        judged = latest.filter(pl.col("comparison_95").cast(pl.String).fill_null("not compared") != "not compared").height > 0
        out = [front_matter(self.title), f"# {md_text(self.title)}\n"]
        comparisons = getattr(m, "comparisons", None) or {}
        n = len({comparisons.get(i, (i, None))[0] for i in m.indicators})  # an indicator compared in several sets counts once
        sets = {s for _, s in comparisons.values() if s}
        what = []
        if judged:
            what.append("each area against the benchmark")
        if measured:
            what.append("how much of the variation between areas is real rather than chance (the *postcode lottery*)")
        if m.value is not None:
            what.append("what areas spend for what they achieve")
        lead = (f"How {plural(n, 'indicator')} of {join_words([sector_title(s).lower() for s in m.sectors])} "
                f"{'compares' if n == 1 else 'compare'} across {plural(m.areas.height, 'area')}"
                + (f" (in {len(sets)} sets of areas, each compared separately)" if len(sets) > 1 else ""))
        lead += f", with honest uncertainty: {join_words(what)}." if what else "."
        out.append(f"{lead} Latest period{'s' if len(periods) > 1 else ''}: {md_text(', '.join(periods))}.\n")
        if not judged and latest.filter(pl.col("value").is_not_null() & pl.col("lower_95").is_null()).height:
            out.append(NO_INTERVALS + "\n")
        if m.dataset.synthetic:
            out.append('!!! warning "Synthetic data"\n    Every place and number on this site is invented, to show how the comparisons '
                       "work. They are not real statistics.\n")
        out.append("Find your area with the search box, or browse the lists of "
                   f"{link(page, 'areas.html', 'areas')} and {link(page, 'indicators.html', 'indicators')}.\n")
        if m.fairness is not None and measured:
            from publicservices.charts import describe, lottery_chart

            lot = lottery_chart(m.fairness.frame.filter(pl.col("indicator_id").is_in(measured)), m.indicators)
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
        word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
        counts = {r["indicator_id"]: r for r in latest.group_by("indicator_id").agg(
            (word == "better").sum().alias("better"),
            (word == "worse").sum().alias("worse"),
            (word != "not compared").sum().alias("judged"),
            (pl.col("floor_status") == "confidently below").sum().alias("below"),
        ).to_dicts()}
        body = []
        for ind in (i for i in m.indicators.values() if i.sector == sector):
            fair, c = lottery.get(ind.id, {}), counts.get(ind.id, {})
            cv = fair.get("true_cv")
            index = "–" if cv is None else f"±{100 * cv:.1f}% ({100 * fair['true_cv_lower_95']:.1f} to {100 * fair['true_cv_upper_95']:.1f})" \
                if fair.get("true_cv_lower_95") is not None else f"±{100 * cv:.1f}%"
            judged = c.get("judged", 0) > 0
            body.append([self.indicator_link(page, ind), m.latest[ind.id], index, percent(fair.get("i2")),
                         c.get("better", 0) if judged else "–", c.get("worse", 0) if judged else "–",
                         c.get("below", 0) if ind.floor is not None and judged else "–"])
        return table(["Indicator", "Latest", "Postcode-lottery index (95% interval)", "Variation that is real",
                      "Areas better", "Areas worse", "Below floor"], body,
                     caption=f"{sector_title(sector)}: latest values. The postcode-lottery index is the true spread of areas "
                             "around the national value, after removing chance; better and worse are at 95% confidence "
                             "(a dash: the figures have no confidence intervals, so they cannot be judged).",
                     raw=[True, False, False, False, False, False, False], numeric=[False, False, False, True, True, True, True]) + "\n"

    def findings(self, page: str, sector: str) -> str:
        """Biggest improvers (change beyond chance, in the better direction) and areas below the floor."""
        m = self.model
        improvers = m.improvers(sector).head(5)
        out = []
        if improvers.height:
            items = []
            for r in improvers.to_dicts():
                ind = m.indicators[r["indicator_id"]]
                low, high = sorted((abs(r["yoy_lower_95"]), abs(r["yoy_upper_95"])))
                items.append(f"<li>{self.area_link(page, r['area_code'])}: {html_text(ind.title)} {'rose' if r['yoy_change'] > 0 else 'fell'} "
                             f"by {html_text(change(abs(r['yoy_change']), ind))} (95% interval {html_text(change(low, ind))} to "
                             f"{html_text(change(high, ind))}) since {html_text(r['previous_period'] or 'the previous period')}.</li>")
            out.append("<p><strong>Biggest improvers</strong> (changes larger than chance, with at most 5% of such findings "
                       "expected to be false across every area and indicator tested):</p>\n<ul>" + "".join(items) + "</ul>\n")
        below = m.latest_rows().filter(pl.col("indicator_id").is_in([i for i, ind in m.indicators.items() if ind.sector == sector]),
                                       pl.col("floor_status") == "confidently below")
        if below.height:
            parts = []
            for ind_id, group in sorted(below.group_by("indicator_id"), key=lambda g: g[0][0]):
                ind = m.indicators[ind_id[0]]
                names = [self.area_link(page, c) for c in group.sort("value").get_column("area_code").head(8).to_list()]
                more = f" and {group.height - 8:,} more" if group.height > 8 else ""
                parts.append(f"<li>{self.indicator_link(page, ind)} (floor {html_text(num(ind.floor, ind))}): "
                             f"{plural(group.height, 'area')}, {', '.join(names)}{more}.</li>")
            out.append("<p><strong>Below the floor standard</strong> (confidently, at 95%):</p>\n<ul>" + "".join(parts) + "</ul>\n")
        if not out:
            out.append("No area improved by more than chance in the latest year, and none is confidently below a floor standard.\n")
        return "\n".join(out)

    def sector(self, sector: str) -> str:
        m = self.model
        page = f"sectors/{sector}.md"
        title = sector_title(sector)
        note = untitled_note(sector)
        if note is not None and note not in m.notes:
            m.notes.append(note)
        ids = [i for i, ind in m.indicators.items() if ind.sector == sector]
        lottery = self.lottery_rows(ids)
        out = [front_matter(title), f"# {md_text(title)}\n",
               f"{plural(len(ids), 'indicator')} across {plural(m.areas.height, 'area')}.\n"]
        measured = [i for i, r in lottery.items() if r.get("true_cv") is not None]
        if m.fairness is not None and measured:
            from publicservices.charts import describe, lottery_chart

            lot = lottery_chart(m.fairness.frame.filter(pl.col("indicator_id").is_in(measured)), m.indicators)
            out.append(self.figure(page, f"charts/sectors/{sector}.js", f"sectors/{sector}/lottery", specs.to_spec(lot), describe(lot),
                                   f"Chart of the true spread between areas for {title.lower()} indicators", data="data/all/fairness.csv"))
        latest = m.latest_rows()
        body = []
        for ind_id in ids:
            ind = m.indicators[ind_id]
            rows = latest.filter(pl.col("indicator_id") == ind_id)
            values = rows.get_column("value").drop_nulls()
            bench = self.benchmark(ind, rows)
            trend = self.national_trend(ind_id)
            fair = lottery.get(ind_id, {})
            body.append([self.indicator_link(page, ind), m.latest[ind_id], bench.name if bench.varies else f"{bench.name}, {num(bench.value, ind)}",
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
        out = [front_matter("Areas"), "# Areas\n", f"{plural(m.areas.height, 'area')}. Search finds an area by name.\n"]
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
