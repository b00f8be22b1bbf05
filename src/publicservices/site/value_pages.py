"""Value-for-money pages: one per sector with spend, and the spend section of each area page.

Every figure comes from the site model (``SiteModel.value`` per indicator and
``SiteModel.value_services`` per service: the frontier on all the service's outcomes and the
savings it implies); this module only words and lays them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import join_words, plural
from publicservices.results.value import short_assessment
from publicservices.site.markup import front_matter, link, table
from publicservices.site.pages import interval, num, sector_title
from publicservices.site.safety import md_text

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.site.pages import Pages

MIDDLE = ("more than expected", "as expected", "less than expected")


def money(x: Any) -> str:
    """Pounds, rounded to what a reader needs: ``£1.23bn``, ``£456m``, ``£12,345``, ``£123``.

    >>> money(1.234e9), money(4.56e8), money(12345.4), money(None)
    ('£1.23bn', '£456m', '£12,345', '–')
    """
    if x is None:
        return "–"
    x = float(x)
    for size, suffix in ((1e9, "bn"), (1e6, "m")):
        if abs(x) >= size:
            scaled = x / size
            return f"£{scaled:,.{max(0, 2 - len(str(int(abs(scaled)))) + 1)}f}{suffix}"
    return f"£{x:,.0f}"


def page_path(sector: str) -> str:
    return f"value/{sector}.md"


def sector_page(pages: Pages, sector: str, title: str) -> str:
    """The value-for-money page of one sector (its spend service has the sector's id)."""
    m = pages.model
    page = page_path(sector)
    found = m.value_services[sector]
    period, scores, savings = found["period"], found["scores"], found["savings"]
    kept = [m.indicators[i] for i in found["indicators"]]
    out = [front_matter(f"Value for money: {title}"), f"# Value for money: {md_text(title)}\n",
           md_text(f"What areas spend on {title.lower()} per head, against what they achieve for it, in {period}: "
                   "the outcome expected for each area's spend and need, the areas that achieve the most for the least, "
                   "and what the others would spend if they matched them. Spending is in real terms; need is deprivation "
                   "and population, the two things the model allows for.") + "\n"]

    spend = scores.filter(pl.col("spend_per_head").is_not_null()).get_column("spend_per_head")
    out.append("## Spend per head\n")
    if spend.len():
        out.append(md_text(f"Across {plural(spend.len(), 'area')}, spending on {title.lower()} in {period} ranged from "
                           f"{money(spend.min())} to {money(spend.max())} per head; the middle half of areas spent "
                           f"{money(spend.quantile(0.25))} to {money(spend.quantile(0.75))}, the median "
                           f"{money(spend.median())}.") + "\n")

    out.append("## What each indicator achieves for the spend\n")
    out.append(md_text("Each area's outcome against the outcome expected for its spend per head and its need (a weighted "
                       "regression of outcome on spend, deprivation and population; an area is counted as more or less "
                       "than expected only when its 95% prediction interval says so). The indicator pages draw each "
                       "one, with the outcomes adjusted for need.") + "\n")
    rows = []
    for ind in (m.indicators[i] for i in m.indicators if m.indicators[i].service == sector):
        mine = m.value.filter(pl.col("indicator_id") == ind.id, pl.col("spend").is_not_null(), pl.col("value").is_not_null()) \
            if m.value is not None else None
        if mine is None or mine.height == 0:
            rows.append([pages.indicator_link(page, ind), "–", "–", "–", "–", "no period shared with the spend data"])
            continue
        used = mine.sort("period").get_column("period")[-1] if "period_start" not in mine.columns else \
            mine.sort("period_start").get_column("period")[-1]
        words = _short(mine.filter(pl.col("period") == used))
        counts = [words.get("more than expected", 0) + words.get("higher than expected", 0), words.get("as expected", 0),
                  words.get("less than expected", 0) + words.get("lower than expected", 0)]
        note = ("no direction, so counts are of values higher and lower than expected; not in the frontier"
                if not ind.has_polarity else "" if ind.id in found["indicators"]
                else f"not in the frontier below (values for too few areas in {period})")
        rows.append([pages.indicator_link(page, ind), used, *(f"{c:,}" for c in counts), note])
    out.append(table(["Indicator", "Period", "More than expected", "As expected", "Less than expected", "Note"], rows,
                     caption=f"{title}: areas achieving more or less than expected for their spend and need",
                     raw=[True] + [False] * 5, numeric=[False, False, True, True, True, False]) + "\n")

    scored = scores.filter(pl.col("efficiency").is_not_null())
    out.append("## The areas that achieve the most for the least\n")
    if scored.height:
        k = scored.filter(pl.col("efficient").fill_null(False)).height
        median = scored.get_column("efficiency").median()
        out.append(md_text(
            f"{plural(scored.height, 'area')} compared on spend per head and all {plural(len(kept), 'outcome')} at once "
            f"({join_words([i.title for i in kept])}), each outcome adjusted for need. {plural(k, 'area')} "
            f"{'is' if k == 1 else 'are'} on the efficient frontier: no other area, or mix of areas, achieves at least as much "
            f"on every outcome for less spend per head. For each other area, its peers are the frontier areas it is measured "
            f"against, and its efficiency is the share of its spend per head with which they achieve at least its outcomes; "
            f"the median area's is {median:.0%}. (Data envelopment analysis, variable returns to scale.)") + "\n")
        compact = scored.height > 1000
        body = []
        for r in scored.sort("efficiency", "area_code", descending=[True, False]).iter_rows(named=True):
            peers = r.get("peer") or []
            peer_text = "on the frontier" if r.get("efficient") else (
                ", ".join(m.area_name(p) for p in peers[:5]) if compact else
                ", ".join(pages.area_link(page, p) for p in peers[:5])) + (" …" if len(peers) > 5 else "")
            body.append([m.area_name(r["area_code"]) if compact else pages.area_link(page, r["area_code"]),
                         money(r.get("spend_per_head")), f"{r['efficiency']:.0%}",
                         money(r.get("target_spend_per_head")), peer_text])
        out.append(table(["Area", "Spend per head", "Efficiency", "Peers' spend per head for its outcomes", "Peers"], body,
                         caption=f"{title}, {period}: every area's efficiency, most efficient first",
                         raw=[not compact, False, False, False, not compact], numeric=[False, True, True, True, False],
                         compact=compact) + "\n")
    unscored = scores.filter(pl.col("efficiency").is_null())
    if unscored.height:
        out.append(md_text(f"Not compared: {plural(unscored.height, 'area')} without spend or without every outcome in "
                           f"{period} ({join_words([m.area_name(c) for c in unscored.get_column('area_code').head(5)])}"
                           f"{' and others' if unscored.height > 5 else ''}).") + "\n")

    out.append("## What matching the peers would save\n")
    out.append(savings_text(savings, title, period) + "\n")
    out.append("## Data\n")
    out.append(f"{link(page, 'data/all/value_for_money.csv', 'Spend against outcome, every indicator and area (CSV)')} · "
               f"{link(page, f'data/value/{sector}.csv', 'This frontier: efficiency, peers and targets (CSV)')} · "
               f"{link(page, 'downloads.html', 'All downloads')}\n")
    return "\n".join(out)


def unavailable_page(pages: Pages, sector: str, title: str) -> str:
    """The value-for-money page of a sector whose spend is given but could not be used: why, indicator by indicator."""
    m = pages.model
    page = page_path(sector)
    spend = m.dataset.spend.filter(pl.col("service") == sector)
    periods = sorted(set(spend.get_column("period").to_list()))
    out = [front_matter(f"Value for money: {title}"), f"# Value for money: {md_text(title)}\n",
           md_text(f"The data give spending on {title.lower()} ({plural(spend.height, 'row')}, {periods[0]} to {periods[-1]}), "
                   "but value for money could not be computed for any of its indicators, so no area is judged on it.") + "\n"]
    rows = []
    for ind in (i for i in m.indicators.values() if i.sector == sector):
        found = pages.frontier(ind, m.latest[ind.id])
        why = " ".join(found[1]) if found is not None and found[0] is None and found[1] else \
            "Too few areas have both spend and a value in the same period."
        if not ind.has_polarity:
            why = "It has no known direction (higher or lower is not better), so it is not judged on value for money."
        rows.append([pages.indicator_link(page, ind), why.removeprefix("Value for money could not be computed: ")])
    out.append(table(["Indicator", "Why it could not be computed"], rows, caption=f"{title}: why there is no value for money",
                     raw=[True, False]) + "\n")
    out.append("## What would make it possible\n")
    out.append(md_text("Spend per head needs each area's population: give it as a context file with area_code and population "
                       "(for example the ONS mid-year population estimates) under [areas] context in the project file. The "
                       "spend and the outcomes also need a period in common: the same financial or academic year label.") + "\n")
    return "\n".join(out)


def savings_text(savings: dict[str, Any], title: str, period: str) -> str:
    """The savings sentence, with its range or why it has none, and what it is not."""
    total, saved = savings["spend"], savings["savings"]
    text = (f"If every area achieved its outcomes with its peers' spend per head, spending on {title.lower()} in {period} "
            f"would have been {money(saved)} lower: {savings['savings_share']:.0%} of the {money(total)} spent by the "
            f"{plural(savings['n_areas'], 'area')} compared")
    if savings.get("savings_lower") is not None:
        text += (f" (95% range {money(savings['savings_lower'])} to {money(savings['savings_upper'])}, from redrawing every "
                 f"outcome within its confidence interval {savings['replicates']} times{'; ' + savings['note'] if savings.get('note') else ''}).")
    else:
        text += ". There is no range: more than one in ten of the outcomes have no confidence interval to redraw them within."
    text += (" Read it as an upper bound, not a budget: the frontier is drawn by the best-placed areas, chance pushes it "
             "outward, and need is allowed for only through deprivation and population, so part of the gap is luck or "
             "circumstance rather than waste.")
    return md_text(text)


def area_section(pages: Pages, code: str, page: str) -> str:
    """An area page's spend section: per service, its spend, efficiency and peers; per indicator, against expected."""
    m = pages.model
    out: list[str] = []
    name = m.area_name(code)
    for service, found in sorted(m.value_services.items()):
        scores = found["scores"].filter(pl.col("area_code") == code)
        if scores.height == 0 or scores.get_column("spend_per_head")[0] is None:
            continue
        r = scores.row(0, named=True)
        all_spend = found["scores"].get_column("spend_per_head").drop_nulls()
        title = sector_title(service)
        words = [f"In {found['period']}, {name} spent {money(r['spend_per_head'])} per head on {title.lower()} "
                 f"(median of the areas compared {money(all_spend.median())})."]
        if r.get("efficiency") is None:
            words.append("It is not on the frontier comparison, which needs every outcome in that period.")
        elif r.get("efficient"):
            words.append("It is on the efficient frontier: no other area, or mix of areas, achieves at least as much on "
                         "every outcome, adjusted for need, for less spend per head.")
        else:
            peers = [m.area_name(p) for p in (r.get("peer") or [])]
            words.append(f"Its peers on the frontier ({join_words(peers[:5])}) achieve at least its outcomes, adjusted "
                         f"for need, with {r['efficiency']:.0%} of its spend per head: "
                         f"{money(r.get('target_spend_per_head'))} rather than {money(r['spend_per_head'])}.")
        out.append(f"{md_text(' '.join(words))} {link(page, page_path(service).replace('.md', '.html'), 'Value for money: ' + title)}\n")
    if m.value is not None:
        mine = m.value.filter(pl.col("area_code") == code, pl.col("expected").is_not_null())
        if mine.height:
            latest = mine.sort("period").group_by("indicator_id", maintain_order=True).last()
            body = []
            for r in latest.with_columns(short_assessment()).iter_rows(named=True):
                ind = m.indicators.get(r["indicator_id"])
                if ind is None:
                    continue
                body.append([pages.indicator_link(page, ind), r["period"], money(r.get("spend_per_head")), num(r.get("value"), ind),
                             f"{num(r.get('expected'), ind)} ({interval(r.get('expected_lower'), r.get('expected_upper'))})",
                             r.get("value_category") or "not assessed"])
            if body:
                out.append(table(["Indicator", "Period", "Spend per head", "Value", "Expected for spend and need (95%)",
                                  "Against expected"], body, caption=f"{name}: outcomes against what its spend and need predict",
                                 raw=[True] + [False] * 5, numeric=[False, False, True, True, False, False]) + "\n")
    return "\n".join(out)


def _short(rows: pl.DataFrame) -> dict[str, int]:
    """How many rows are more than, as, or less than expected."""
    return dict(rows.select(short_assessment()).get_column("value_category").drop_nulls().value_counts().iter_rows())
