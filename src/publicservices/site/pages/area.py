"""An area's page: its figures against the benchmark, similar areas, spend, report card, trends."""

from __future__ import annotations

from typing import Any

from publicservices.display import join_words, plural
from publicservices.site import specs
from publicservices.site.explore import area_controls
from publicservices.site.markup import table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import (
    NATIONS,
    NO_INTERVALS,
    comparison_text,
    fifths,
    interval,
    num,
    percent,
    sector_title,
    value_text,
)
from publicservices.site.safety import html_text
from publicservices.site.templating import render, safe


class AreaPages(PagesBase):
    """One page per area."""

    def _area_info(self) -> dict[str, dict[str, Any]]:
        """Each area's row of the areas table, by code (found once, not filtered for each page)."""
        if not hasattr(self, "_area_info_cache"):
            self._area_info_cache: dict[str, dict[str, Any]] = {}
            for r in self.model.areas.iter_rows(named=True):
                self._area_info_cache.setdefault(r["area_code"], r)
        return self._area_info_cache

    def _valued_areas(self) -> set[str]:
        """The areas with a value-for-money row."""
        if not hasattr(self, "_valued_cache"):
            value = self.model.value
            self._valued_cache = set() if value is None else set(value.get_column("area_code").unique().to_list())
        return self._valued_cache

    def area(
        self,
        code: str,
        slug: str,
        records: list[dict[str, Any]],
        spine: list[dict[str, Any]],
        trend: list[dict[str, Any]],
        neighbours: list[dict[str, Any]],
        peers: dict[str, float],
        grades: dict[str, dict[str, Any]],
    ) -> str:
        """An area's page from its rows as dicts: ``records`` (latest period, with fifths),
        ``spine`` and ``trend`` (chart rows without ``area_code``; the spine also without
        ``indicator_id``), ``neighbours`` (nearest first) and its neighbours' mean by indicator."""
        m = self.model
        page = f"areas/{slug}.md"
        name = m.area_name(code)
        info = self._area_info()[code]
        data = f"data/areas/{slug}.csv"
        found: dict[str, int] = {}
        for r in records:
            word = "in fifths" if fifths(r) else comparison_text(r)
            found[word] = found.get(word, 0) + 1
        words = [f"{found[w]:,} {w}" for w in specs.JUDGED if w in found and w != "not compared"]
        if found.get("in fifths"):
            words.append(
                f"{plural(found['in fifths'], 'indicator')} without confidence intervals, placed in fifths of areas by value"
            )
        if found.get("not compared"):
            words.append(f"{found['not compared']:,} not compared")
        if found.get("–"):
            words.append(f"{found['–']:,} without a published value")
        spine_figure = None
        if spine:
            spine_figure = self.figure(
                page,
                "charts/areas.js",
                "areas/spine",
                None,
                f"Spine chart for {name} on {plural(len(spine), 'indicator')}: each bar runs from the worst area on the left "
                f"to the best on the right, the darker middle is the middle half of areas, the short line at the centre of each bar is the benchmark. {name} "
                f"compared with the benchmark: {join_words(words) or 'none compared'}.",
                f"Spine chart of {name} against all areas",
                data=data,
                inline={"spine": spine},
            )
        body = []
        for r in records:
            ind = m.indicators[r["indicator_id"]]
            hidden = r.get("suppressed") is not None
            body.append(
                [
                    self.indicator_link(page, ind),
                    r["period"],
                    value_text(r, ind),
                    "–" if hidden else interval(r.get("lower_95"), r.get("upper_95")),
                    num(r.get("benchmark_value"), ind),
                    comparison_text(r),
                    num(peers.get(ind.id), ind) if peers else "–",
                    r.get("recent_trend") or "–",
                ]
            )
        compare_head = (
            "Compared with benchmark, or fifth of areas by value" if found.get("in fifths") else "Compared with benchmark"
        )
        indicators_table = table(
            ["Indicator", "Period", "Value", "95% interval", "Benchmark", compare_head, "Similar areas (mean)", "Recent trend"],
            body,
            caption=f"{name}: every indicator in its latest period",
            raw=[True] + [False] * 7,
            numeric=[False, False, True, False, True, False, True, False],
        )
        neighbours_table = None
        if neighbours:
            nb = [[self.area_link(page, r["neighbour_code"]), r["rank"], f"{r['distance']:.2f}"] for r in neighbours]
            neighbours_table = table(
                ["Area", "Rank", "Distance"],
                nb,
                caption=f"Nearest neighbours of {name}",
                raw=[True, False, False],
                numeric=[False, True, True],
            )
        spend = ""
        if m.value_services or code in self._valued_areas():
            from publicservices.site.pages.value import area_section

            spend = area_section(self, code, page)
        grades_table = None
        if grades:
            gb = [
                [
                    html_text(sector_title(s)),
                    g.get("grade") or "–",
                    "–" if g.get("score") is None else f"{g['score']:.0f}",
                    "–" if g.get("p_grade_change") is None else percent(g["p_grade_change"]),
                ]
                for s, g in sorted(grades.items())
            ]
            grades_table = table(
                ["Sector", "Grade", "Score (0-100)", "How likely the grade would change if the weights were chosen differently"],
                gb,
                caption=f"Report-card grades of {name} (A best, F worst), from percentile scores of every indicator",
                raw=[True, False, False, False],
                numeric=[False, False, True, True],
            )
        trend_figure = None
        if trend:
            periods = len({r["period"] for r in trend})
            trend_figure = self.figure(
                page,
                "charts/areas.js",
                "areas/trend",
                None,
                f"Trends for {name}: every indicator over {plural(periods, 'period')}, with "
                + ("the 95% interval (band) and " if any(r.get("lower_95") is not None for r in trend) else "")
                + "the benchmark (dashed line).",
                f"Trend charts of {name}",
                data=data,
                inline={"trend": trend},
            )
        return render(
            "area.md.j2",
            explore=safe(area_controls(self, page, code)),
            area=name,
            code=code,
            region=m.area_name(info["parent_code"]) if info.get("parent_code") else None,
            area_type=info.get("area_type") or None,
            population=None if info.get("population") is None else f"{info['population']:,.0f}",
            decile=info.get("deprivation_decile"),
            spine_figure=spine_figure and safe(spine_figure),
            indicators_table=safe(indicators_table) if records else None,
            in_fifths=bool(found.get("in fifths")),
            no_intervals=NO_INTERVALS,
            summary=self.strengths_and_concerns(name, records) + ([] if records else self.why_no_figures(code, bool(trend))),
            neighbours_table=neighbours_table and safe(neighbours_table),
            spend=safe(spend),
            grades_table=grades_table and safe(grades_table),
            trend_figure=trend_figure and safe(trend_figure),
        )

    @staticmethod
    def why_no_figures(code: str, earlier: bool) -> list[str]:
        """For an area with no figure in any latest period: when its code ended and what replaced
        it (:func:`publicservices.geography.replaced_by`), and where its earlier figures are."""
        from publicservices.geography import replaced_by

        replaced = replaced_by(code)
        words = (
            []
            if replaced is None
            else [f"Its area code ended in {replaced[1]}, when it was replaced by {join_words(replaced[0])}."]
        )
        if earlier:
            words.append("Its earlier figures are in the trends below, and the period picker shows them.")
        return [" ".join(words)] if words else []

    def strengths_and_concerns(self, name: str, records: list[dict[str, Any]]) -> list[str]:
        """The area's strengths and concerns, then what is improving, in plain words: one paragraph each.

        Strengths and concerns come from the comparisons with the benchmark at 95%; changes from
        the recent trends.

        Indicators are named by their titles; those that cannot be judged (no interval, no value,
        not compared) are said to be so, never counted as similar.
        """
        from publicservices.results.profile import changes, strengths_and_concerns

        m = self.model
        codes = {str(r["benchmark_code"]) for r in records if r.get("benchmark_code")}
        if len(codes) == 1:
            code = next(iter(codes))
            bench = self._all_names().get(code) or NATIONS.get(code) or "the benchmark"
        elif not codes and str(m.options.get("benchmark", "national")).lower() == "national":
            bench = "the figure for all areas combined"
        else:
            bench = "the benchmark"
        # what the notebook's area profile says, from the published rows: one account of an area, in one place;
        # what is improving is a paragraph of its own after the strengths and concerns
        paragraphs = (strengths_and_concerns(name, records, m.indicators, bench), changes(records, m.indicators))
        return [" ".join(p) for p in paragraphs if p]
