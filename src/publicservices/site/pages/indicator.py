"""An indicator's page (template ``indicator.md.j2``, partials ``indicator_*.md.j2``): map, funnel, league table, all areas,
trend, gradient, spend, fairness, inequalities."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from markupsafe import Markup

from publicservices.display import format_number, join_words, plural
from publicservices.errors import PublicServicesError
from publicservices.indicators import Indicator
from publicservices.site import specs
from publicservices.site.boundaries import NAME as BOUNDARIES
from publicservices.site.boundaries import SCRIPT as BOUNDARIES_SCRIPT
from publicservices.site.explore import indicator_section
from publicservices.site.markup import link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import (
    COMPACT_FROM,
    NO_INTERVALS,
    comparison_text,
    fifths,
    gap_text,
    interval,
    missing,
    num,
    public_definition,
    public_text,
    sector_title,
    value_text,
)
from publicservices.site.parts import SPLIT_FROM, Part, split_by_region
from publicservices.site.safety import html_text
from publicservices.site.templating import render, safe


class IndicatorPages(PagesBase):
    """One page per comparison of an indicator."""

    def indicator(self, ind: Indicator, latest_table: pl.DataFrame) -> str:
        """An indicator's page (``indicator.md.j2``). Every section uses one benchmark, stated once in the header:
        the model's ``benchmark_value`` (headline counts, map, table, funnel centre line).

        The figures are drawn here in the page's order (each adds its chart to the page's script)."""
        from publicservices.charts import describe

        m = self.model
        page = f"indicators/{ind.id}.md"
        script = f"charts/indicators/{ind.id}.js"
        data = f"data/indicators/{ind.id}.csv"
        period = m.latest[ind.id]
        rows = self.with_fifths(latest_table)
        bench = self.benchmark(ind, rows)
        valued = rows.filter(pl.col("value").is_not_null() & pl.col("suppressed").is_null())
        word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
        judged = valued.filter(word != "not compared")
        by_fifths = valued.filter(pl.col("lower_95").is_null()).height > 0 and "quintile_label" in rows.columns
        fair = self.lottery_rows([ind.id]).get(ind.id)
        funnel = m.funnels.get(ind.id)
        if funnel is not None and not bench.matches(self.funnel_centre(funnel)):
            # A funnel drawn around another value would be a second benchmark on the page.
            m.notes.append(
                f"{ind.title}: funnel plot not shown (it is centred on {num(self.funnel_centre(funnel), ind)}, "
                f"not on the benchmark the page uses, {bench.text(ind)})."
            )
            funnel = None
        brief = []
        if judged.height:
            basis = judged.get_column("comparison_basis").drop_nulls() if "comparison_basis" in judged.columns else pl.Series([])
            how = (
                "judged by the funnel plot's limits, which allow for variation between areas beyond chance"
                if basis.len() and "beyond chance" in basis[0]
                else "at 95% confidence"
            )
            brief.append(
                f"Compared with the benchmark ({bench.text(ind)}), {how}: "
                f"{self.counts_words(judged)}"
                + (f"; {plural(valued.height - judged.height, 'area')} not compared." if valued.height > judged.height else ".")
            )
        if funnel is not None:
            brief += [
                t for t in (public_text(x) for x in funnel.sentences()) if t and "than the benchmark by more than chance" not in t
            ]
        if fair and fair.get("summary"):
            brief.append(public_text(fair["summary"]))
        shared = [BOUNDARIES_SCRIPT] if self.boundaries is not None else []

        def figure(name: str, spec: dict[str, Any] | None, summary: str, label: str) -> Markup:
            # The section's figure, already escaped; the template puts the blank line after it.
            return safe(
                self.figure(
                    page, script, f"indicators/{ind.id}/{name}", spec, summary, label, data=data, shared=shared
                ).removesuffix("\n")
            )

        funnel_figure = league_figure = trend_figure = gradient_figure = None
        maps = self.map_tabs(ind, rows, figure)
        if funnel is not None:
            chart_ = funnel.chart()
            # The page's counts come from each area's interval (In brief, map, table); the funnel shows the limits.
            caption = re.sub(r"\s*Compared with the benchmark: .*?\.(?=\s|$)", "", public_text(describe(chart_)))
            funnel_figure = figure("funnel", specs.to_spec(chart_), caption, f"Funnel plot of {ind.title}")
        ranks = m.ranks.get(ind.id)
        if ranks is not None:
            from publicservices.charts import league_table

            named = ranks.join(m.areas.select("area_code", "area_name"), on="area_code", how="left")
            if "comparison_95" not in named.columns:
                named = named.join(rows.select("area_code", "comparison_95"), on="area_code", how="left")
            league = league_table(named, indicator=ind)
            league_figure = figure(
                "league", specs.to_spec(league), public_text(describe(league)), f"League table of {ind.title} with rank intervals"
            )
        all_areas = safe(self.all_areas(page, ind, rows).removesuffix("\n"))
        spread = specs.spread_rows(m.results.filter(pl.col("indicator_id") == ind.id))
        if spread.height:
            text = (
                f"How the spread of areas in {ind.title} changed over {plural(spread.height, 'period')} "
                f"({spread.get_column('period')[0]} to {spread.get_column('period')[-1]}): the median area moved from "
                f"{num(spread.get_column('p50')[0], ind)} to {num(spread.get_column('p50')[-1], ind)}."
            )
            trend_figure = figure(
                "trend", specs.spread_spec(spread, ind.title, ind.unit), text, f"Trend in the spread of areas for {ind.title}"
            )
        gradient = self.gradient(ind, period)
        if gradient is not None:
            gradient_figure = figure(
                "gradient", specs.to_spec(gradient), public_text(describe(gradient)), f"Deprivation gradient of {ind.title}"
            )
        spend = None
        frontier = self.frontier(ind, period)
        if frontier is not None:
            chart_, sentences = frontier
            spend = {
                "sentences": sentences,
                "figure": None
                if chart_ is None
                else figure(
                    "frontier",
                    specs.to_spec(chart_),
                    " ".join(sentences) or public_text(describe(chart_)),
                    f"Spend against outcome for {ind.title}",
                ),
            }
        found = m.inequalities.get(ind.id)
        explore = indicator_section(self, page, ind, figure, maps)
        return render(
            "indicator.md.j2",
            explore=explore,
            title=ind.title,
            sector=sector_title(ind.sector),
            period=period,
            unit=ind.unit or "none",
            better_when={"higher_is_better": "higher", "lower_is_better": "lower"}.get(
                ind.polarity, "no judgement (higher or lower)"
            ),
            benchmark=bench.text(ind) if bench.varies or not missing(bench.value) else "",
            compared=self.compared_set(ind),
            floor=None if ind.floor is None else num(ind.floor, ind),
            target=None if ind.target is None else num(ind.target, ind),
            definition=public_definition(ind.definition, m.dataset.synthetic),
            source=ind.source,
            by_fifths=by_fifths,
            no_intervals=NO_INTERVALS,
            brief=brief,
            maps=maps,
            funnel_figure=funnel_figure,
            league_figure=league_figure,
            all_areas=all_areas,
            trend_figure=trend_figure,
            gradient_figure=gradient_figure,
            spend=spend,
            fairness=self.fairness_words(ind, fair) if fair else None,
            inequalities=self.inequalities(page, ind, found) if found else None,
            csv_link=safe(link(page, data, "Every area in " + period + " (CSV)")),
            parquet_link=safe(link(page, data.replace(".csv", ".parquet"), "Parquet")),
            downloads_link=safe(link(page, "downloads.html", "All downloads")),
        )

    def compared_set(self, ind: Indicator) -> str:
        """Which areas a comparison ranks, in words, and the other sets the indicator is compared in."""
        from publicservices.comparison import set_label

        ind_id, set_id = self.model.comparisons.get(ind.id, (ind.id, ""))
        if not set_id:
            return ""
        n = self.model.results.filter(pl.col("indicator_id") == ind.id).get_column("area_code").n_unique()
        text = f"{n:,} {set_label(set_id)}"
        others = [c for c, (i, s) in self.model.comparisons.items() if i == ind_id and c != ind.id]
        if others:
            text += (
                f"; compared separately, never together, with {join_words([set_label(self.model.comparisons[c][1]).split(' (')[0] for c in others])}"
                " on their own pages"
            )
        return text

    def inequalities(self, page: str, ind: Indicator, found: dict[str, Any]) -> dict[str, Any]:
        """The benchmark area's values by breakdown (sex, age, deprivation decile ...), with SII/RII:
        the context of ``indicator_inequalities.md.j2``."""
        rows: pl.DataFrame = found["rows"]
        where = self.model.area_name(found["area_code"])
        if where == found["area_code"]:
            where = {"E92000001": "England", "K02000001": "the United Kingdom"}.get(where, where)
        parts = []
        for (kind,), part in rows.group_by("breakdown", maintain_order=True):
            body = [
                [
                    r["group"],
                    "hidden (small numbers)" if r.get("suppressed") else num(r.get("value"), ind),
                    "" if r.get("suppressed") else interval(r.get("lower_ci"), r.get("upper_ci")),
                ]
                for r in part.iter_rows(named=True)
            ]
            groups = safe(
                table(["Group", "Value", "95% interval"], body, caption=f"{ind.title} by {kind}", numeric=[False, True, False])
            )
            index = found["indices"].get(kind)
            # One sentence, escaped as prose as a whole (its punctuation included).
            words = (
                f"The gap between the most and least deprived ends of the scale (slope index of inequality) is "
                f"{gap_text(abs(index['sii']), ind)} ({interval(abs(index['sii_lower']), abs(index['sii_upper']))}); "
                f"the {'most' if index['sii'] < 0 else 'least'} deprived have the higher values. "
                f"Relative index of inequality: {format_number(index['rii'])} "
                f"({interval(index['rii_lower'], index['rii_upper'])}), across {index['quantiles']} deprivation groups."
                if index
                else ""
            )
            parts.append({"table": groups, "index_words": words})
        return {"where": where, "period": found["period"], "parts": parts}

    @staticmethod
    def counts_words(rows: pl.DataFrame) -> str:
        """``4 better, 25 similar and 7 worse``: the comparison words of ``rows``, in display order."""
        found = dict(rows.get_column("comparison_95").cast(pl.String).value_counts().iter_rows())
        order = [w for w in specs.JUDGED if w in found and w != "not compared"] + sorted(set(found) - set(specs.JUDGED))
        return join_words([f"{found[w]:,} {w}" for w in order])

    @staticmethod
    def funnel_centre(funnel: Any) -> float | None:
        """The centre line of a funnel result (its ``baseline``)."""
        for frame in (getattr(funnel, "frame", None), getattr(funnel, "dispersion", None)):
            if frame is not None and "baseline" in frame.columns:
                base = frame.get_column("baseline").drop_nulls()
                if base.len():
                    return float(base[0])
        return None

    def map_tabs(self, ind: Indicator, rows: pl.DataFrame, figure: Any) -> list[dict[str, Any]]:
        """The map section's tabs, in order: each a ``title`` and either a ``figure`` or a ``note`` saying why there is none.

        Compared with the benchmark, then by value (fifths of areas); when no area is compared (figures
        without confidence intervals) the map by value comes first and the comparison tab says why.
        ``figure`` draws a map into the page's script (the page's ``figure``).
        """
        word = pl.col("comparison_95").cast(pl.String).fill_null("not compared")
        compared = "comparison_95" in rows.columns and rows.filter(word != "not compared").height > 0
        comparison = value = None
        if compared:
            drawn = self.map_spec(ind, rows, by="comparison")
            if drawn is not None:
                comparison = figure("map", drawn[0], drawn[1], f"Map of {ind.title} by area, compared with the benchmark")
        drawn = self.map_spec(ind, rows, by="value")
        if drawn is not None:
            value = figure("map_value", drawn[0], drawn[1], f"Map of {ind.title} by area, in fifths of areas by value")
        if comparison is None and value is None:
            return []
        intervals = "lower_95" in rows.columns and rows.get_column("lower_95").drop_nulls().len() > 0
        why_not_compared = (
            "There is no map compared with the benchmark: no area could be compared with it."
            if intervals
            else "There is no map compared with the benchmark: these figures have no confidence intervals, so whether "
            "an area differs from the benchmark by more than chance cannot be judged. The map by value shows instead."
        )
        why_no_value = "There is no map by value: too few areas have a published value to group them into fifths."
        tabs = [
            {
                "title": "Compared with the benchmark",
                "figure": comparison,
                "note": "" if comparison is not None else why_not_compared,
            },
            {"title": "By value", "figure": value, "note": "" if value is not None else why_no_value},
        ]
        return tabs if comparison is not None else tabs[::-1]

    def value_classes(self, ind: Indicator, rows: pl.DataFrame) -> dict[str, str]:
        """Each fifth of areas' range of values in words, by its label: ``{"Worst": "12.1–15.3%", ...}``.

        The fifths are the model's (``quintile_label``, :func:`publicservices.stats.value_quintiles`); each
        range runs from the lowest to the highest published value in the fifth, written as the page writes values.
        """
        from publicservices.display import format_number

        if "quintile_label" not in rows.columns:
            return {}
        shown = rows.filter(pl.col("quintile_label").is_not_null() & pl.col("value").is_not_null())
        if "suppressed" in shown.columns:
            shown = shown.filter(pl.col("suppressed").is_null())
        unit = ind.unit.strip()
        spans = shown.group_by("quintile_label").agg(pl.col("value").min().alias("lo"), pl.col("value").max().alias("hi"))
        # five rows at most: plain formatting, not a formatting expression compiled for each page
        return {
            label: format_number(hi, unit=unit)
            if lo == hi
            else f"{format_number(lo)}{' to ' if lo < 0 else '–'}{format_number(hi, unit=unit)}"
            for label, lo, hi in spans.iter_rows()
        }

    def map_spec(self, ind: Indicator, rows: pl.DataFrame, by: str = "comparison") -> tuple[dict[str, Any], str] | None:
        """A map and its text summary: coloured by comparison with the benchmark (``by="comparison"``), or by value
        in fifths of areas (``by="value"``, the legend giving each fifth's range of values); None when it cannot be drawn."""
        from publicservices.charts import choropleth, describe, hex_map

        how: dict[str, Any]
        if by == "value":
            ranges = self.value_classes(ind, rows)
            if not ranges:
                return None
            frame = rows.select("area_code", "area_name", "value", "quintile_label")
            how = {"classes": "quintile_label", "class_ranges": ranges}
        else:
            frame = rows.select("area_code", "area_name", "value", "comparison_95")
            how = {"category": "comparison_95"}
        if self.boundaries is not None:
            placeholder = "ps-boundaries.json"
            chart_ = choropleth(
                frame, geometry_url=placeholder, feature=self.boundaries.feature, key=self.boundaries.key, indicator=ind, **how
            )
            drawn = frame.filter(pl.col("area_code").is_in(list(self.boundaries.names) or [None])).height
            text = describe(chart_)
            if drawn < frame.height:
                text += f" {frame.height - drawn:,} of the {frame.height:,} areas have no boundary in the file and are not drawn."
            return specs.name_data(specs.to_spec(chart_), placeholder, BOUNDARIES), text
        areas = self.model.areas
        if {"hex_q", "hex_r"} <= set(areas.columns) and areas.get_column("hex_q").null_count() == 0:
            chart_ = hex_map(frame, areas, indicator=ind, **how)
            return specs.to_spec(chart_), describe(chart_)
        return None

    def gradient(self, ind: Indicator, period: str) -> Any:
        fair = self.model.fairness
        if (
            fair is None
            or "deprivation" not in self.model.areas.columns
            or self.model.areas.get_column("deprivation").null_count() == self.model.areas.height
        ):
            return None
        import warnings

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                chart_ = fair.chart("gradient", indicator=ind.id, period=period)
            for w in caught:
                self.model.notes.append(f"{ind.title}: deprivation gradient: {w.message}")
            return chart_
        except PublicServicesError as exc:  # data that cannot be drawn is noted; a programming error is not hidden
            self.model.notes.append(f"{ind.title}: deprivation gradient not shown ({str(exc).splitlines()[0]})")
            return None

    def frontier(self, ind: Indicator, period: str) -> tuple[Any, list[str]] | None:
        """Spend against outcome: the chart and its sentences, or (None, why it could not be computed)."""
        m = self.model
        value = m.value
        services = set(m.dataset.spend.get_column("service").to_list()) if "service" in m.dataset.spend.columns else set()
        ind_id, _ = m.comparisons.get(ind.id, (ind.id, ""))
        if ind_id != ind.id and ind.service and ind.service in services:
            from publicservices.comparison import set_label

            primary = m.comparisons.get(ind_id, (ind_id, ""))[1]
            return None, [
                (
                    f"Value for money is computed once for each indicator, on its comparison of "
                    f"{set_label(primary) if primary else 'its main set of areas'}, not again here."
                )
            ]
        if value is None:
            if ind.service and ind.service in services:
                why = next((n.split("(", 1)[-1].rstrip(")") for n in m.notes if n.startswith("value for money: not shown")), "")
                return None, [self.no_value_for_money(why)]
            return None
        mine = value.filter(pl.col("indicator_id") == ind.id, pl.col("spend").is_not_null(), pl.col("value").is_not_null())
        if mine.height == 0:
            if ind.service and ind.service in services:
                spend = m.dataset.spend.filter(pl.col("service") == ind.service)
                compared = m.results.filter(pl.col("indicator_id") == ind.id).get_column("area_code").unique()
                if not spend.filter(pl.col("area_code").is_in(compared.implode())).height:
                    return None, [
                        (
                            "Value for money could not be computed: the spend data give no spending for these areas "
                            "(they are reported for another tier of local government)."
                        )
                    ]
                spent = sorted(set(spend.get_column("period").to_list()))
                return None, [
                    (
                        f"Value for money could not be computed: the spend data cover {spent[0]} to {spent[-1]}, and no "
                        f"period of {ind.title} matches one of those years."
                    )
                ]
            return None
        # The latest period with both spend and outcome, which may be earlier than the page's.
        used = mine.sort("period_start").get_column("period")[-1]
        rows = value.filter(pl.col("indicator_id") == ind.id, pl.col("period") == used)
        if rows.height < 3:
            return None
        if "spend_per_head" in rows.columns and rows.get_column("spend_per_head").null_count() == rows.height:
            return None, [self.no_value_for_money("population")]
        from publicservices.results.value import ValueResult

        result = ValueResult(rows, indicator=ind, indicators=m.indicators, areas=m.areas)
        sentences = [public_text(t) for t in result.sentences()]
        if used != period:
            sentences.insert(
                0, f"Spend and outcome in {used}, the latest period with both (the rest of the page shows {period})."
            )
        if (
            "value_category" in result.frame.columns
            and result.frame.get_column("value_category").null_count() == result.frame.height
        ):
            sentences = [t for t in sentences if not t.startswith("Given their spend and need")]
            sentences.append(
                "The outcome expected for each area's spend and need could not be estimated, so no area is judged "
                "higher or lower than expected."
            )
        try:
            return result.chart(), [t for t in sentences if t]
        except PublicServicesError as exc:  # data that cannot be drawn is noted; a programming error is not hidden
            m.notes.append(f"{ind.title}: spend and outcome chart not shown ({str(exc).splitlines()[0]})")
            return None

    @staticmethod
    def no_value_for_money(why: str) -> str:
        if "population" in why:
            return (
                "Value for money could not be computed: spend per head needs each area's population, and the data do not "
                "give it, so no area is judged against what its spending would predict."
            )
        reason = public_text(why).rstrip(".")
        return "Value for money could not be computed" + (f" ({reason})." if reason else ".")

    def ordered(self, ind: Indicator, rows: pl.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of areas with a value, by position (``_position``, best or highest first), and
        those without, by name: the order of every table of all areas."""
        from publicservices.stats import rank

        shown = pl.col("value").is_not_null() & pl.col("suppressed").is_null()
        valued = rank(rows.filter(shown), "value", polarity=ind.polarity, name="_position").sort(
            "_position", "area_name", "area_code"
        )
        return valued.to_dicts(), rows.filter(~shown).sort("area_name", "area_code").to_dicts()

    def all_areas(
        self,
        page: str,
        ind: Indicator,
        rows: pl.DataFrame,
        part: Part | None = None,
        ordered: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> str:
        """Every compared area, best (or highest) first: position, value, interval and comparison.

        Areas without a value follow, with the reason. Above :data:`SPLIT_FROM` areas the table
        moves to a page per region (``part``: the areas of one, with their positions among all
        areas) and this returns the table of regions that links them; above
        :data:`COMPACT_FROM` areas (and with no ``part``) the rows are compact (names without
        links, the unit in the heading, no rank-interval columns), so that the page stays small.
        ``ordered``: :meth:`ordered` of ``rows``, when the pages of every region share it.
        """
        valued, rest = ordered or self.ordered(ind, rows)
        n = rows.height
        if part is None and n > SPLIT_FROM:
            return self._regions_table(page, ind, rows, [*valued, *rest])
        if part is not None:
            codes = set(part.codes)
            valued = [r for r in valued if r["area_code"] in codes]
            rest = [r for r in rest if r["area_code"] in codes]
        compact = part is None and n > COMPACT_FROM
        intervals = "lower_95" in rows.columns and any(r["lower_95"] is not None for r in valued)
        ranked = not compact and "median_rank" in rows.columns and rows.get_column("median_rank").drop_nulls().len() > 0
        records = [*valued, *rest]
        any_fifths = any(fifths(r) for r in records)
        any_judged = any(comparison_text(r) not in ("–", "not compared") and not fifths(r) for r in records)
        compare_head = (
            "Compared with benchmark"
            if not any_fifths
            else "Fifth of areas by value"
            if not any_judged
            else "Compared with benchmark, or fifth of areas by value"
        )
        unit = ind.unit.strip()
        headers = (
            ["Position", "Area", "Code", f"Value ({unit})" if compact and unit else "Value"]
            + (["95% interval"] if intervals else [])
            + (["Allowing for chance", "Could rank (95%, all areas at once)"] if ranked else [])
            + [compare_head]
        )
        body = []
        for r in records:
            name = (
                html_text(r.get("area_name") or r["area_code"])
                if compact
                else self.area_link(page, r["area_code"], r.get("area_name"))
            )
            cells: list[Any] = [
                "–" if r.get("_position") is None else f"{r['_position']:,}",
                name,
                r["area_code"],
                value_text(r, None if compact else ind),
            ]
            if intervals:
                cells.append(interval(r.get("lower_95"), r.get("upper_95")))
            if ranked:
                low, high = (
                    (r.get("rank_set_lower"), r.get("rank_set_upper"))
                    if not missing(r.get("rank_set_lower"))
                    else (r.get("rank_lower_95"), r.get("rank_upper_95"))
                )
                cells += [num(r.get("shrunk_value"), ind), f"{low:.0f} to {high:.0f}" if not missing(low) else "–"]
            cells.append(comparison_text(r))
            body.append(cells)
        first = {"higher_is_better": "best (highest)", "lower_is_better": "best (lowest)"}.get(ind.polarity, "highest")
        caption = (
            (
                f"The {plural(len(records), 'area')} in {part.title}, of all {plural(n, 'area')} in {self.model.latest[ind.id]}, "
                f"sorted by value, position 1 the {first} of all areas"
                if part is not None
                else f"All {plural(n, 'area')} in {self.model.latest[ind.id]}, sorted by value, position 1 the {first}"
            )
            + (f"; {plural(len(rest), 'area')} without a published value at the end" if rest else "")
            + (
                ". Could rank: the places each area could hold; with 95% confidence every area's true place is in its "
                "range, all areas at once (confidence sets for ranks)."
                if ranked
                else "."
            )
        )
        k = len(headers)
        numeric = [True, False, False, True] + [False] * (k - 4)
        if ranked:
            numeric[4 + int(intervals)] = True
        return (
            table(headers, body, caption=caption, raw=[False, True] + [False] * (k - 2), numeric=numeric, compact=compact) + "\n"
        )

    def area_parts(self, ind: Indicator, rows: pl.DataFrame) -> dict[str, str]:
        """On a large site, the pages of an indicator's table of every area, one per region (none on a small one)."""
        if rows.height <= SPLIT_FROM:
            return {}
        back = f"indicators/{ind.id}.html"
        ordered = self.ordered(ind, rows)  # once for all the region pages
        out = {}
        for part in self._parts(ind, rows):
            out[part.page] = render(
                "indicator_part.md.j2",
                title=f"{ind.title}: {part.title}",
                up="../../",
                table=safe(self.all_areas(part.page, ind, rows, part, ordered).removesuffix("\n")),
                back=safe(link(part.page, back, ind.title)),
            )
        return out

    def _parts(self, ind: Indicator, rows: pl.DataFrame) -> list[Part]:
        return split_by_region(
            self.model, f"indicators/{ind.id}", rows.sort("area_name", "area_code").get_column("area_code").to_list()
        )

    def _regions_table(self, page: str, ind: Indicator, rows: pl.DataFrame, records: list[dict[str, Any]]) -> str:
        """The table of regions that stands for a large site's table of every area: each region's counts, linked."""
        words = {r["area_code"]: comparison_text(r) for r in records}
        columns = ["better", "similar", "worse"] if ind.has_polarity else ["higher", "similar", "lower"]
        body = []
        for part in self._parts(ind, rows):
            said = [words.get(c, "–") for c in part.codes]
            others = sum(w not in columns for w in said)
            body.append(
                [
                    link(page, part.html_path, part.title),
                    f"{len(part.codes):,}",
                    *(f"{said.count(w):,}" for w in columns),
                    f"{others:,}",
                ]
            )
        caption = (
            f"All {plural(len(records), 'area')} in {self.model.latest[ind.id]}, on a page for each region: "
            "how many are "
            + ", ".join(columns[:-1])
            + f" or {columns[-1]} than the benchmark (95%), and how many cannot be compared"
        )
        headers = ["Region", "Areas", *(w.capitalize() for w in columns), "Not compared or in fifths"]
        return (
            table(headers, body, caption=caption, raw=[True] + [False] * 5, numeric=[False, True, True, True, True, True]) + "\n"
        )

    def fairness_words(self, ind: Indicator, fair: dict[str, Any]) -> dict[str, Any]:
        """The postcode-lottery measures of ``fair`` (a fairness row): the context of ``indicator_fairness.md.j2``."""
        return {
            "true_cv": fair.get("true_cv"),
            "percent": ind.unit.strip() == "%",  # the index is relative: say it is not percentage points
            "true_cv_lower": fair.get("true_cv_lower_95"),
            "true_cv_upper": fair.get("true_cv_upper_95"),
            "i2": fair.get("i2"),
            "sii": None if fair.get("sii") is None else gap_text(fair["sii"], ind),  # percentage points for a percentage
            "sii_interval": interval(fair.get("sii_lower_95"), fair.get("sii_upper_95")),
            "region_share": fair.get("region_share_variance"),
            "gini": fair.get("gini"),
            "moran_i": fair.get("moran_i"),
            "moran_p": fair.get("moran_p"),
            "trend": fair.get("true_cv_trend"),
            "trend_since": fair.get("trend_since"),
            "methodology_link": safe(link(f"indicators/{ind.id}.md", "methodology.html", "methodology")),
        }
