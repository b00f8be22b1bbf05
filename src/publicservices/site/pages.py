"""The pages of the site, as Markdown with HTML tables and chart figures inside.

Every string that comes from the data goes through :mod:`publicservices.site.safety`:
``md_text`` in prose and headings, ``html_text`` (via :func:`markup.table`) in tables and
attributes, ``js_json`` in chart scripts. Links inside HTML are written as the built
``.html`` paths, relative to the page.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import format_number, join_words, plural
from publicservices.errors import PublicServicesError
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
COMPACT_FROM = 1000  # above this many areas, an indicator's table of all areas has compact rows (no links)
NO_INTERVALS = ("These figures have no confidence intervals, so chance variation cannot be judged; "
                "areas are grouped into fifths by value.")
OVERDISPERSED = "The areas vary more than chance alone would explain; the limits shown do not allow for this."
# Benchmarks' names when the data give codes only (GSS codes of the nations).
NATIONS = {"E92000001": "England", "W92000004": "Wales", "S92000003": "Scotland", "N92000002": "Northern Ireland",
           "K02000001": "United Kingdom", "K03000001": "Great Britain", "K04000001": "England and Wales"}
# Code on a public page: keyword arguments (name='x', name=3), command-line options, backticks, calls.
_CODE = re.compile(r"\b[A-Za-z_][\w.]*=(?!=)|(?<![\w-])--[a-z][\w-]*|`[^`]+`|\b[A-Za-z_][\w.]*\(\)")
# Wording meant for the synthetic demo only, never for a site of real figures.
_DEMO = re.compile(r"\b(demo|simulat\w*)\b", re.IGNORECASE)


def sector_title(sector: str) -> str:
    """The sector's title as its plugin declares it (``Sector.title``), else its id humanised.

    The core names no sector: a sector that no installed plugin declares is titled from its id,
    and its page says so in the notes (:meth:`Pages.sector`).
    """
    from publicservices.sectors import sector_title as declared_title

    return declared_title(sector)


def untitled_note(sector: str) -> str | None:
    """The note for a sector no plugin declares (``None`` when one does)."""
    from publicservices.plugins import registered_sectors

    if sector in registered_sectors():
        return None
    return (f"The {sector_title(sector).lower()} sector declares no title (no installed plugin describes it), "
            f"so its pages are headed with its name, {sector_title(sector)}.")


def num(value: Any, ind: Indicator | None = None) -> str:
    return format_number(value, unit=ind.unit if ind else "")


def interval(lo: Any, hi: Any) -> str:
    if lo is None or hi is None:
        return "–"
    return f"{format_number(lo)} to {format_number(hi)}"


def percent(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def change(x: Any, ind: Indicator | None = None) -> str:
    """The size of a change between two values: percentage points when the values are percentages.

    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="a.b", title="B", sector="a", measure="proportion", unit="%")
    >>> change(2.14, ind), change(1, ind), change(3.0)
    ('2.14 percentage points', '1 percentage point', '3.00')
    """
    if missing(x):
        return "–"
    if ind is not None and ind.unit.strip() == "%":
        text = format_number(x)
        return f"{text} percentage point{'' if text == '1' else 's'}"
    return num(x, ind)


def reason_text(reason: Any) -> str:
    """Why a value is missing, as a page says it: ``not available (status x)`` becomes ``not available``."""
    if missing(reason) or not str(reason).strip():
        return "–"
    return re.sub(r"\s*\(status [^)]*\)\s*$", "", str(reason).strip()) or "–"


def low_reliability(row: Mapping[str, Any]) -> bool:
    status = row.get("status")
    return isinstance(status, str) and status.strip().lower() == "u"


def value_text(row: Mapping[str, Any], ind: Indicator | None = None) -> str:
    """A value cell: the number (marked when of low reliability), or why there is none."""
    if row.get("suppressed") is not None:
        return "suppressed"
    if missing(row.get("value")):
        return reason_text(row.get("missing_reason"))
    text = num(row["value"], ind)
    return f"{text} (low reliability)" if low_reliability(row) else text


def fifths(row: Mapping[str, Any]) -> bool:
    """Is this row compared by fifths of value, having a value but no confidence interval?"""
    return (row.get("suppressed") is None and not missing(row.get("value")) and missing(row.get("lower_95"))
            and bool(row.get("quintile_label")))


def comparison_text(row: Mapping[str, Any]) -> str:
    """The comparison cell: with the benchmark at 95%, or the fifth of areas when there is no interval."""
    if row.get("suppressed") is not None or missing(row.get("value")):
        return "–"
    word = row.get("comparison_95")
    if word is not None and str(word) != "not compared":
        return str(word)
    if fifths(row):
        return f"{row['quintile_label']} fifth"
    return "not compared"


def public_text(text: str) -> str:
    """A sentence from the statistics as a public page says it: no code, areas rather than units.

    Clauses (between semicolons) that carry code are dropped; the advice to widen funnel limits
    becomes plain words.

    >>> public_text("Units vary 3.9 times as much as chance (φ = 3.94); consider overdispersed limits (overdispersion='multiplicative').")
    'The areas vary more than chance alone would explain; the limits shown do not allow for this.'
    >>> public_text("The file has no area names (codes only); names can come from the boundaries: area_names= when reading.")
    'The file has no area names (codes only).'
    """
    if "overdispersed limits" in text or "overdispersion=" in text:
        return OVERDISPERSED
    text = re.sub(r"(?<![\d.,])1 (place|area|unit|indicator|period|simulation)s\b", r"1 \1", text)
    text = re.sub(r"\bunit(s?)\b(?! cost)", lambda m: "area" + m.group(1), text)
    text = re.sub(r"\bUnit(s?)\b(?! cost)", lambda m: "Area" + m.group(1), text)
    if not _CODE.search(text):
        return text
    clauses = [c for c in re.split(r";\s+", text.strip()) if not _CODE.search(c)]
    if not clauses:
        return ""
    kept = "; ".join(c.rstrip(" .") for c in clauses)
    return kept[0].upper() + kept[1:] + "."


def public_definition(text: str, synthetic: bool) -> str:
    """An indicator's definition; on a site of real figures, without clauses about the demo.

    >>> public_definition("Per 100,000. Published as 3-year pooled rates; the demo simulates single years.", synthetic=False)
    'Per 100,000. Published as 3-year pooled rates.'
    """
    if synthetic or not text:
        return text
    kept = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        clauses = [c for c in sentence.split("; ") if not _DEMO.search(c)]
        if clauses:
            joined = "; ".join(clauses).rstrip()
            kept.append(joined if joined.endswith((".", "!", "?")) else joined + ".")
    return " ".join(kept)


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """The one benchmark of an indicator page: its name, value and period (or that it varies by area)."""

    name: str
    value: float | None
    period: str
    varies: bool = False

    def text(self, ind: Indicator | None = None) -> str:
        if self.varies:
            return f"{self.name}, a different value for each area, in {self.period}"
        return f"{self.name}, {num(self.value, ind)} in {self.period}"

    def matches(self, centre: Any) -> bool:
        if self.varies or missing(self.value) or missing(centre):
            return False
        return abs(float(centre) - float(self.value)) <= 1e-6 * max(1.0, abs(float(self.value)))


@dataclasses.dataclass
class Pages:
    """Writes every page of one site from its :class:`SiteModel`."""

    model: SiteModel
    title: str
    boundaries: Boundaries | None = None
    base_url: str | None = None
    charts: specs.ChartScripts = dataclasses.field(default_factory=specs.ChartScripts)

    # -- shared pieces ------------------------------------------------------------------

    def area_link(self, page: str, code: str, fallback: str | None = None) -> str:
        slug = self.model.slugs.get(code)
        name = self.model.area_name(code)
        if name == code and fallback:
            name = fallback
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

    def with_fifths(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with the model's fifths of areas by value (``quintile``, ``quintile_label``).

        The model adds them to its results (:func:`publicservices.stats.quantiles.value_quintiles`);
        a model without them gets the same call here, on the same groups.
        """
        if "quintile_label" in frame.columns or "value" not in frame.columns:
            return frame
        from publicservices.stats.quantiles import value_quintiles

        return value_quintiles(frame)

    def latest_frame(self) -> pl.DataFrame:
        """Each indicator's latest period, every compared area, with fifths of areas by value."""
        if not hasattr(self, "_latest_cache"):
            self._latest_cache = self.with_fifths(self.model.latest_rows())
        return self._latest_cache

    def benchmark(self, ind: Indicator, rows: pl.DataFrame) -> Benchmark:
        """The benchmark every section of an indicator's page uses: the model's ``benchmark_value`` of its latest period."""
        m = self.model
        period = m.latest[ind.id]
        values = rows.get_column("benchmark_value").drop_nulls().unique() if "benchmark_value" in rows.columns else pl.Series([])
        codes = rows.get_column("benchmark_code").drop_nulls().unique().to_list() if "benchmark_code" in rows.columns else []
        chosen = m.options.get("benchmark", "national")
        if values.len() > 1:
            name = "each area's region" if str(chosen).lower() in ("region", "parent") else "each area's own benchmark"
            return Benchmark(name, None, period, varies=True)
        value = values[0] if values.len() else None
        if len(codes) == 1:
            name = self._all_names().get(codes[0]) or codes[0]
        elif isinstance(chosen, (int, float)):
            name = "a fixed value"
        elif str(chosen).lower() == "national":
            name = "all areas combined"
        else:
            name = self._all_names().get(str(chosen)) or str(chosen)
        return Benchmark(name, value, period)

    def _all_names(self) -> dict[str, str]:
        if not hasattr(self, "_all_names_cache"):
            names: dict[str, str] = dict(NATIONS)
            if self.boundaries is not None:
                names.update(getattr(self.boundaries, "names", {}) or {})
            areas = self.model.dataset.areas
            if {"area_code", "area_name"} <= set(areas.columns):
                names.update((c, n) for c, n in areas.select("area_code", "area_name").iter_rows() if n)
            names.update(self.model._names())
            self._all_names_cache = names
        return self._all_names_cache

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

    # -- indicator page -----------------------------------------------------------------

    def indicator(self, ind: Indicator, latest_table: pl.DataFrame) -> str:
        """An indicator's page. Every section uses one benchmark, stated once in the header:
        the model's ``benchmark_value`` (headline counts, map, table, funnel centre line)."""
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
        out = [front_matter(ind.title), f"# {md_text(ind.title)}\n"]
        facts = [f"**Sector**: {md_text(sector_title(ind.sector))}", f"**Latest period**: {md_text(period)}",
                 f"**Unit**: {md_text(ind.unit or 'none')}",
                 f"**Better when**: {dict(higher_is_better='higher', lower_is_better='lower').get(ind.polarity, 'no judgement (higher or lower)')}"]
        if bench.varies or not missing(bench.value):
            facts.append(f"**Benchmark**: {md_text(bench.text(ind))}")
        compared = self.compared_set(ind)
        if compared:
            facts.append(f"**Areas compared**: {md_text(compared)}")
        if ind.floor is not None:
            facts.append(f"**Floor standard**: {md_text(num(ind.floor, ind))}")
        if ind.target is not None:
            facts.append(f"**Target**: {md_text(num(ind.target, ind))}")
        out.append(" · ".join(facts) + "\n")
        definition = public_definition(ind.definition, m.dataset.synthetic)
        if definition:
            out.append(f"{md_text(definition)}\n")
        if ind.source:
            out.append(f"*Source*: {md_text(ind.source)}\n")
        if by_fifths:
            out.append(f"{NO_INTERVALS}\n")
        fair = self.lottery_rows([ind.id]).get(ind.id)
        funnel = m.funnels.get(ind.id)
        if funnel is not None and not bench.matches(self.funnel_centre(funnel)):
            # A funnel drawn around another value would be a second benchmark on the page.
            m.notes.append(f"{ind.title}: funnel plot not shown (it is centred on {num(self.funnel_centre(funnel), ind)}, "
                           f"not on the benchmark the page uses, {bench.text(ind)}).")
            funnel = None
        brief = []
        if judged.height:
            basis = judged.get_column("comparison_basis").drop_nulls() if "comparison_basis" in judged.columns else pl.Series([])
            how = ("judged by the funnel plot's limits, which allow for variation between areas beyond chance"
                   if basis.len() and "beyond chance" in basis[0] else "at 95% confidence")
            brief.append(f"Compared with the benchmark ({bench.text(ind)}), {how}: "
                         f"{self.counts_words(judged)}" + (f"; {plural(valued.height - judged.height, 'area')} not compared." if
                                                            valued.height > judged.height else "."))
        if funnel is not None:
            brief += [t for t in (public_text(x) for x in funnel.sentences()) if t and "than the benchmark by more than chance" not in t]
        if fair and fair.get("summary"):
            brief.append(public_text(fair["summary"]))
        if brief:
            out.append("## In brief\n")
            out.append("\n".join(f"- {md_text(s)}" for s in brief if s) + "\n")
        shared = [BOUNDARIES_SCRIPT] if self.boundaries is not None else []
        map_spec = self.map_spec(ind, rows)
        if map_spec is not None:
            spec, text = map_spec
            out.append("## Map\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/map", spec, text, f"Map of {ind.title} by area", data=data, shared=shared))
        if funnel is not None:
            chart_ = funnel.chart()
            # The page's counts come from each area's interval (In brief, map, table); the funnel shows the limits.
            caption = re.sub(r"\s*Compared with the benchmark: .*?\.(?=\s|$)", "", public_text(describe(chart_)))
            out.append("## Funnel plot\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/funnel", specs.to_spec(chart_), caption,
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
                       "Shrunken estimates, which pull small, noisy areas towards the average, are shown for reference and do "
                       "not set the ranks.\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/league", specs.to_spec(league), public_text(describe(league)),
                                   f"League table of {ind.title} with rank intervals", data=data, shared=shared))
        out.append("## All areas\n")
        out.append(self.all_areas(page, ind, rows))
        spread = specs.spread_rows(m.results.filter(pl.col("indicator_id") == ind.id))
        if spread.height:
            text = (f"How the spread of areas in {ind.title} changed over {plural(spread.height, 'period')} "
                    f"({spread.get_column('period')[0]} to {spread.get_column('period')[-1]}): the median area moved from "
                    f"{num(spread.get_column('p50')[0], ind)} to {num(spread.get_column('p50')[-1], ind)}.")
            out.append("## Trend\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/trend", specs.spread_spec(spread, ind.title, ind.unit), text,
                                   f"Trend in the spread of areas for {ind.title}", data=data, shared=shared))
        gradient = self.gradient(ind, period)
        if gradient is not None:
            out.append("## Deprivation gradient\n")
            out.append(self.figure(page, script, f"indicators/{ind.id}/gradient", specs.to_spec(gradient), public_text(describe(gradient)),
                                   f"Deprivation gradient of {ind.title}", data=data, shared=shared))
        frontier = self.frontier(ind, period)
        if frontier is not None:
            chart_, sentences = frontier
            out.append("## Spend and outcome\n")
            if chart_ is None:
                out.append(" ".join(md_text(t) for t in sentences) + "\n")
            else:
                out.append(self.figure(page, script, f"indicators/{ind.id}/frontier", specs.to_spec(chart_),
                                       " ".join(sentences) or public_text(describe(chart_)),
                                       f"Spend against outcome for {ind.title}", data=data, shared=shared))
        if fair:
            out.append("## Fairness: is there a postcode lottery?\n")
            out.append(self.fairness_words(ind, fair))
        inequalities = m.inequalities.get(ind.id)
        if inequalities:
            out.append("## Inequalities\n")
            out.append(self.inequalities(page, ind, inequalities))
        out.append("## Data\n")
        out.append(f"{link(page, data, 'Every area in ' + period + ' (CSV)')} · "
                   f"{link(page, data.replace('.csv', '.parquet'), 'Parquet')} · {link(page, 'downloads.html', 'All downloads')}\n")
        return "\n".join(out)

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
            text += (f"; compared separately, never together, with {join_words([set_label(self.model.comparisons[c][1]).split(' (')[0] for c in others])}"
                     " on their own pages")
        return text

    def inequalities(self, page: str, ind: Indicator, found: dict[str, Any]) -> str:
        """The benchmark area's values by breakdown (sex, age, deprivation decile ...), with SII/RII."""
        rows: pl.DataFrame = found["rows"]
        where = self.model.area_name(found["area_code"])
        if where == found["area_code"]:
            where = {"E92000001": "England", "K02000001": "the United Kingdom"}.get(where, where)
        out = [f"{md_text(where)}, {md_text(found['period'])}: the value for each group, with its 95% interval.\n"]
        for (kind,), part in rows.group_by("breakdown", maintain_order=True):
            body = [[r["group"], "hidden (small numbers)" if r.get("suppressed") else num(r.get("value"), ind),
                     "" if r.get("suppressed") else interval(r.get("lower_ci"), r.get("upper_ci"))]
                    for r in part.iter_rows(named=True)]
            out.append(table(["Group", "Value", "95% interval"], body, caption=f"{ind.title} by {kind}",
                             numeric=[False, True, False]) + "\n")
            index = found["indices"].get(kind)
            if index:
                sii = (f"The gap between the most and least deprived ends of the scale (slope index of inequality) is "
                       f"{num(abs(index['sii']), ind)} ({interval(abs(index['sii_lower']), abs(index['sii_upper']))}); "
                       f"the {'most' if index['sii'] < 0 else 'least'} deprived have the higher values. "
                       f"Relative index of inequality: {format_number(index['rii'])} "
                       f"({interval(index['rii_lower'], index['rii_upper'])}), across {index['quantiles']} deprivation groups.")
                out.append(f"{md_text(sii)}\n")
        return "\n".join(out)

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

    def map_spec(self, ind: Indicator, rows: pl.DataFrame) -> tuple[dict[str, Any], str] | None:
        """The map: coloured by comparison with the benchmark, or by value in fifths of areas when nothing is compared."""
        from publicservices.charts import choropleth, describe, hex_map

        compared = rows.filter(pl.col("comparison_95").cast(pl.String).fill_null("not compared") != "not compared").height > 0
        by_fifths = not compared and "quintile_label" in rows.columns and rows.get_column("quintile_label").drop_nulls().len() > 0
        frame = rows.select("area_code", "area_name", "value", "comparison_95", *(["quintile_label"] if by_fifths else []))
        how: dict[str, Any] = {"classes": "quintile_label"} if by_fifths else {"category": "comparison_95"}
        if self.boundaries is not None:
            placeholder = "ps-boundaries.json"
            chart_ = choropleth(frame, geometry_url=placeholder, feature=self.boundaries.feature, key=self.boundaries.key,
                                indicator=ind, **how)
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
            return None, [f"Value for money is computed once for each indicator, on its comparison of "
                          f"{set_label(primary) if primary else 'its main set of areas'}, not again here."]
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
                    return None, ["Value for money could not be computed: the spend data give no spending for these areas "
                                  "(they are reported for another tier of local government)."]
                spent = sorted(set(spend.get_column("period").to_list()))
                return None, [f"Value for money could not be computed: the spend data cover {spent[0]} to {spent[-1]}, and no "
                              f"period of {ind.title} matches one of those years."]
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
            sentences.insert(0, f"Spend and outcome in {used}, the latest period with both (the rest of the page shows {period}).")
        if "value_category" in result.frame.columns and result.frame.get_column("value_category").null_count() == result.frame.height:
            sentences = [t for t in sentences if not t.startswith("Given their spend and need")]
            sentences.append("The outcome expected for each area's spend and need could not be estimated, so no area is judged "
                             "higher or lower than expected.")
        try:
            return result.chart(), [t for t in sentences if t]
        except PublicServicesError as exc:  # data that cannot be drawn is noted; a programming error is not hidden
            m.notes.append(f"{ind.title}: spend and outcome chart not shown ({str(exc).splitlines()[0]})")
            return None

    @staticmethod
    def no_value_for_money(why: str) -> str:
        if "population" in why:
            return ("Value for money could not be computed: spend per head needs each area's population, and the data do not "
                    "give it, so no area is judged against what its spending would predict.")
        reason = public_text(why).rstrip(".")
        return "Value for money could not be computed" + (f" ({reason})." if reason else ".")

    def all_areas(self, page: str, ind: Indicator, rows: pl.DataFrame) -> str:
        """Every compared area, best (or highest) first: position, value, interval and comparison.

        Areas without a value follow, with the reason. Above :data:`COMPACT_FROM` areas the rows are
        compact (names without links, the unit in the heading, no rank-interval columns: the league
        chart and the CSV have them), so that the page stays small.
        """
        from publicservices.stats.quantiles import rank

        shown = pl.col("value").is_not_null() & pl.col("suppressed").is_null()
        valued = rank(rows.filter(shown), "value", polarity=ind.polarity, name="_position").sort("_position", "area_name", "area_code")
        rest = rows.filter(~shown).sort("area_name", "area_code")
        n = rows.height
        compact = n > COMPACT_FROM
        intervals = valued.get_column("lower_95").drop_nulls().len() > 0 if "lower_95" in valued.columns else False
        ranked = not compact and "median_rank" in rows.columns and rows.get_column("median_rank").drop_nulls().len() > 0
        records = [*valued.to_dicts(), *rest.to_dicts()]
        any_fifths = any(fifths(r) for r in records)
        any_judged = any(comparison_text(r) not in ("–", "not compared") and not fifths(r) for r in records)
        compare_head = ("Compared with benchmark" if not any_fifths else "Fifth of areas by value" if not any_judged
                        else "Compared with benchmark, or fifth of areas by value")
        unit = ind.unit.strip()
        headers = ["Position", "Area", "Code", f"Value ({unit})" if compact and unit else "Value"] + (["95% interval"] if intervals else []) + (
            ["Shrunken estimate", "Could rank (95%, all areas at once)"] if ranked else []) + [compare_head]
        body = []
        for r in records:
            name = (html_text(r.get("area_name") or r["area_code"]) if compact
                    else self.area_link(page, r["area_code"], r.get("area_name")))
            cells: list[Any] = ["–" if r.get("_position") is None else f"{r['_position']:,}", name, r["area_code"],
                                value_text(r, None if compact else ind)]
            if intervals:
                cells.append(interval(r.get("lower_95"), r.get("upper_95")))
            if ranked:
                low, high = ((r.get("rank_set_lower"), r.get("rank_set_upper")) if not missing(r.get("rank_set_lower"))
                             else (r.get("rank_lower_95"), r.get("rank_upper_95")))
                cells += [num(r.get("shrunk_value"), ind), f"{low:.0f} to {high:.0f}" if not missing(low) else "–"]
            cells.append(comparison_text(r))
            body.append(cells)
        first = {"higher_is_better": "best (highest)", "lower_is_better": "best (lowest)"}.get(ind.polarity, "highest")
        caption = (f"All {plural(n, 'area')} in {self.model.latest[ind.id]}, sorted by value, position 1 the {first}"
                   + (f"; {plural(rest.height, 'area')} without a published value at the end" if rest.height else "")
                   + (". Could rank: the places each area could hold; with 95% confidence every area's true place is in its "
                      "range, all areas at once (confidence sets for ranks)." if ranked else "."))
        k = len(headers)
        numeric = [True, False, False, True] + [False] * (k - 4)
        if ranked:
            numeric[4 + int(intervals)] = True
        return table(headers, body, caption=caption, raw=[False, True] + [False] * (k - 2), numeric=numeric, compact=compact) + "\n"

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
            items.append(f"**Change**: the postcode-lottery index changed by {100 * fair['true_cv_trend']:+.2f} percentage points a year "
                         f"since {md_text(fair['trend_since'])}.")
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
        records = rows.to_dicts()  # with the fifths of areas of the whole latest frame (Pages.latest_frame)
        found: dict[str, int] = {}
        for r in records:
            word = "in fifths" if fifths(r) else comparison_text(r)
            found[word] = found.get(word, 0) + 1
        words = [f"{found[w]:,} {w}" for w in specs.JUDGED if w in found and w != "not compared"]
        if found.get("in fifths"):
            words.append(f"{plural(found['in fifths'], 'indicator')} without confidence intervals, placed in fifths of areas by value")
        if found.get("not compared"):
            words.append(f"{found['not compared']:,} not compared")
        if found.get("–"):
            words.append(f"{found['–']:,} without a published value")
        out.append("## Compared with the benchmark\n")
        if spine.height:
            out.append(self.figure(page, "charts/areas.js", "areas/spine", None,
                                   f"Spine chart for {name} on {plural(spine.height, 'indicator')}: each bar runs from the worst area on the left "
                                   f"to the best on the right, the darker middle is the middle half of areas, the line is the benchmark. {name} "
                                   f"compared with the benchmark: {join_words(words) or 'none compared'}.", f"Spine chart of {name} against all areas",
                                   data=data, inline={"spine": spine.drop("area_code", "indicator_id").to_dicts()}))
        peers = {} if peer_means is None else {r["indicator_id"]: r["peer_mean"] for r in peer_means.to_dicts()}
        body = []
        for r in records:
            ind = m.indicators[r["indicator_id"]]
            hidden = r.get("suppressed") is not None
            body.append([self.indicator_link(page, ind), r["period"], value_text(r, ind),
                         "–" if hidden else interval(r.get("lower_95"), r.get("upper_95")), num(r.get("benchmark_value"), ind),
                         comparison_text(r), num(peers.get(ind.id), ind) if peers else "–", r.get("recent_trend") or "–"])
        compare_head = "Compared with benchmark, or fifth of areas by value" if found.get("in fifths") else "Compared with benchmark"
        out.append(table(["Indicator", "Period", "Value", "95% interval", "Benchmark", compare_head, "Similar areas (mean)", "Recent trend"],
                         body, caption=f"{name}: every indicator in its latest period", raw=[True] + [False] * 7,
                         numeric=[False, False, True, False, True, False, True, False]) + "\n")
        if found.get("in fifths"):
            out.append(f"{NO_INTERVALS}\n")
        if neighbours is not None and neighbours.height:
            out.append("## Similar areas\n")
            out.append("The areas most like this one in population, deprivation and the other recorded characteristics "
                       "(nearest neighbours on standardised measures): compare with them, not only with the country.\n")
            nb = [[self.area_link(page, r["neighbour_code"]), r["rank"], f"{r['distance']:.2f}"] for r in neighbours.sort("rank").to_dicts()]
            out.append(table(["Area", "Rank", "Distance"], nb, caption=f"Nearest neighbours of {name}", raw=[True, False, False],
                             numeric=[False, True, True]) + "\n")
        if m.value_services or (m.value is not None and m.value.filter(pl.col("area_code") == code).height):
            from publicservices.site.value_pages import area_section

            spend = area_section(self, code, page)
            if spend:
                out.append("## Spend and value for money\n")
                out.append(spend)
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
                                   f"Trends for {name}: every indicator over {plural(periods, 'period')}, with "
                                   + ("the 95% interval (band) and " if trend.get_column("lower_95").drop_nulls().len() else "")
                                   + "the benchmark (dashed line).", f"Trend charts of {name}", data=data,
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
             "(weighted regression); the efficient frontier by data envelopment analysis (BCC), on need-adjusted outcomes."),
            ("Savings if areas matched their peers", "publicservices.stats.value.frontier_savings", "Each area's spend beyond what "
             "its frontier peers need for at least its outcomes, summed (potential input reduction); the range redraws every outcome "
             "within its confidence interval and solves the frontier again. An upper bound, not a budget."),
            ("Similar areas", "publicservices.stats.comparators.nearest_neighbours", "Nearest neighbours on standardised area characteristics."),
            ("Report cards", "publicservices.stats.report_cards.report_cards", "Letter grades from percentile scores of each indicator, with how "
             "often a grade changes when the weights are perturbed."),
            ("Fifths of areas", "publicservices.stats.quantiles.value_quintiles", "For figures without confidence intervals, as Fingertips "
             "does: areas grouped into fifths by value (the PHE quantile method), because chance variation cannot be judged."),
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
        notes = [t for t in (public_text(n) for n in m.notes) if t]
        if notes:
            out.append("## Notes on the data\n")
            out.append("\n".join(f"- {md_text(n)}" for n in notes) + "\n")
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
        out.append(f"The CSV files open in any spreadsheet. The Parquet files (for example {html_text(where)}) keep the column types "
                   "and open in data tools such as R (the arrow package), Python (Polars or pandas) and DuckDB.\n")
        return "\n".join(out)

