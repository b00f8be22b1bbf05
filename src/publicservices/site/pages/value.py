"""Value-for-money pages: one per sector with spend, and the spend section of each area page.

Every figure comes from the site model (``SiteModel.value`` per indicator and
``SiteModel.value_services`` per service: the frontier on all the service's outcomes and the
savings it implies); this module gathers the figures, and the templates ``value*.md.j2`` and
``area_value.md.j2`` word and lay them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import join_words, plural
from publicservices.results.value import short_assessment
from publicservices.site.markup import link, table
from publicservices.site.pages.words import interval, num, sector_title
from publicservices.site.parts import SPLIT_FROM, Part, parts_table, rows_of, split_by_region
from publicservices.site.sections import SAVINGS_RANGE_MAX_AREAS
from publicservices.site.templating import render, safe

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.site.pages import Pages
    from publicservices.site.pages.base import PagesBase

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

    spend = scores.filter(pl.col("spend_per_head").is_not_null()).get_column("spend_per_head")
    spread = None
    if spend.len():
        spread = {
            "areas": plural(spend.len(), "area"),
            "lowest": money(spend.min()),
            "highest": money(spend.max()),
            "lower_quartile": money(spend.quantile(0.25)),
            "upper_quartile": money(spend.quantile(0.75)),
            "median": money(spend.median()),
        }

    rows = []
    for ind in (m.indicators[i] for i in m.indicators if m.indicators[i].service == sector):
        mine = (
            m.value.filter(pl.col("indicator_id") == ind.id, pl.col("spend").is_not_null(), pl.col("value").is_not_null())
            if m.value is not None
            else None
        )
        if mine is None or mine.height == 0:
            rows.append([pages.indicator_link(page, ind), "–", "–", "–", "–", "no period shared with the spend data"])
            continue
        used = (
            mine.sort("period").get_column("period")[-1]
            if "period_start" not in mine.columns
            else mine.sort("period_start").get_column("period")[-1]
        )
        words = _short(mine.filter(pl.col("period") == used))
        counts = [
            words.get("more than expected", 0) + words.get("higher than expected", 0),
            words.get("as expected", 0),
            words.get("less than expected", 0) + words.get("lower than expected", 0),
        ]
        note = (
            "no direction, so counts are of values higher and lower than expected; not in the best-value comparison"
            if not ind.has_polarity
            else ""
            if ind.id in found["indicators"]
            else f"not in the best-value comparison below (values for too few areas in {period})"
        )
        rows.append([pages.indicator_link(page, ind), used, *(f"{c:,}" for c in counts), note])
    indicators_table = table(
        ["Indicator", "Period", "More than expected", "As expected", "Less than expected", "Note"],
        rows,
        caption=f"{title}: areas achieving more or less than expected for their spend and need",
        raw=[True] + [False] * 5,
        numeric=[False, False, True, True, True, False],
    )

    scored = scores.filter(pl.col("efficiency").is_not_null()).sort("efficiency", "area_code", descending=[True, False])
    frontier = None
    if scored.height:
        k = scored.filter(pl.col("efficient").fill_null(False)).height
        caption = f"{title}, {period}: every area's efficiency, most efficient first"
        parts = _parts(pages, sector, scored)
        frontier = {
            "areas": plural(scored.height, "area"),
            "outcomes": plural(len(kept), "outcome"),
            "outcome_titles": join_words([i.title for i in kept]),
            "efficient": plural(k, "area"),
            "n_efficient": k,
            "median": f"{scored.get_column('efficiency').median():.0%}",
            "table": safe(
                parts_table(page, parts, f"{title}, {period}: every area's efficiency, on a page for each region")
                if parts
                else _frontier_table(pages, page, scored, caption)
            ),
        }
    unscored = scores.filter(pl.col("efficiency").is_null())
    missing = None
    if unscored.height:
        missing = {
            "areas": plural(unscored.height, "area"),
            "names": join_words([m.area_name(c) for c in unscored.get_column("area_code").head(5)]),
            "more": unscored.height > 5,
        }

    return render(
        "value.md.j2",
        title=title,
        period=period,
        spend=spread,
        indicators_table=safe(indicators_table),
        frontier=frontier,
        unscored=missing,
        savings=safe(savings_text(savings, title, period)),
        all_csv=safe(link(page, "data/all/value_for_money.csv", "Spend against outcome, every indicator and area (CSV)")),
        frontier_csv=safe(
            link(page, f"data/value/{sector}.csv", "The best-value comparison: efficiency, peers and targets (CSV)")
        ),
        downloads=safe(link(page, "downloads.html", "All downloads")),
    )


def sector_parts(pages: Pages, sector: str, title: str) -> dict[str, str]:
    """On a large site, the pages of the sector's efficiency table, one per region (none on a small one)."""
    m = pages.model
    found = m.value_services[sector]
    scored = found["scores"].filter(pl.col("efficiency").is_not_null()).sort("efficiency", "area_code", descending=[True, False])
    out = {}
    for part in _parts(pages, sector, scored):
        caption = f"{title}, {found['period']}: efficiency of the areas in {part.title}, most efficient first"
        out[part.page] = render(
            "value_part.md.j2",
            title=f"Value for money: {title}, {part.title}",
            table=safe(_frontier_table(pages, part.page, rows_of(scored, part), caption)),
            back=safe(link(part.page, page_path(sector).replace(".md", ".html"), f"Value for money: {title}")),
        )
    return out


def _parts(pages: Pages, sector: str, scored: pl.DataFrame) -> list[Part]:
    if scored.height <= SPLIT_FROM:
        return []
    return split_by_region(pages.model, f"value/{sector}", scored.get_column("area_code").to_list())


def _frontier_table(pages: PagesBase, page: str, scored: pl.DataFrame, caption: str) -> str:
    """Each area's spend per head, efficiency, target and peers, in the order of ``scored``.

    Areas and peers are links, but in tables of over a thousand rows (where the links would
    double the page) and for peers in tables of over 200.
    """
    m = pages.model
    names_only, peer_names = scored.height > 1000, scored.height > 200
    body = []
    for r in scored.iter_rows(named=True):
        peers = r.get("peer") or []
        shown = [m.area_name(p) if peer_names else pages.area_link(page, p) for p in peers[:5]]
        body.append(
            [
                m.area_name(r["area_code"]) if names_only else pages.area_link(page, r["area_code"]),
                money(r.get("spend_per_head")),
                f"{r['efficiency']:.0%}",
                money(r.get("target_spend_per_head")),
                "one of the best-value areas" if r.get("efficient") else ", ".join(shown) + (" …" if len(peers) > 5 else ""),
            ]
        )
    return table(
        ["Area", "Spend per head", "Efficiency", "What its peers spend per head for the same results", "Peers"],
        body,
        caption=caption,
        raw=[not names_only, False, False, False, not peer_names],
        numeric=[False, True, True, True, False],
        compact=names_only,
    )


def unavailable_page(pages: Pages, sector: str, title: str) -> str:
    """The value-for-money page of a sector whose spend is given but could not be used: why, indicator by indicator."""
    m = pages.model
    page = page_path(sector)
    spend = m.dataset.spend.filter(pl.col("service") == sector)
    periods = sorted(set(spend.get_column("period").to_list()))
    rows = []
    for ind in (i for i in m.indicators.values() if i.sector == sector):
        found = pages.frontier(ind, m.latest[ind.id])
        why = (
            " ".join(found[1])
            if found is not None and found[0] is None and found[1]
            else "Too few areas have both spend and a value in the same period."
        )
        if not ind.has_polarity:
            why = "It has no known direction (higher or lower is not better), so it is not judged on value for money."
        rows.append([pages.indicator_link(page, ind), why.removeprefix("Value for money could not be computed: ")])
    return render(
        "value_unavailable.md.j2",
        title=title,
        rows=plural(spend.height, "row"),
        first_period=periods[0],
        last_period=periods[-1],
        reasons_table=safe(
            table(
                ["Indicator", "Why it could not be computed"],
                rows,
                caption=f"{title}: why there is no value for money",
                raw=[True, False],
            )
        ),
    )


def savings_text(savings: dict[str, Any], title: str, period: str) -> str:
    """The savings sentence, with its range or why it has none, and what it is not (escaped for Markdown)."""
    ranged = savings.get("savings_lower") is not None
    return render(
        "value_savings.md.j2",
        title=title,
        period=period,
        saved=money(savings["savings"]),
        share=f"{savings['savings_share']:.0%}",
        total=money(savings["spend"]),
        areas=plural(savings["n_areas"], "area"),
        lower=money(savings["savings_lower"]) if ranged else None,
        upper=money(savings.get("savings_upper")),
        replicates=savings.get("replicates"),
        note=savings.get("note"),
        max_areas=f"{SAVINGS_RANGE_MAX_AREAS:,}",
    )


def _by_area(pages: PagesBase) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Each service's score row by area, each service's median spend per head, and each area's latest
    row per indicator against expected: split once for all the area pages, not filtered for each."""
    if not hasattr(pages, "_value_by_area"):
        m = pages.model
        scores: dict[str, dict[str, dict[str, Any]]] = {}
        medians: dict[str, Any] = {}
        for service, found in m.value_services.items():
            rows: dict[str, dict[str, Any]] = {}
            for r in found["scores"].iter_rows(named=True):
                rows.setdefault(r["area_code"], r)
            scores[service] = rows
            medians[service] = found["scores"].get_column("spend_per_head").drop_nulls().median()
        latest: dict[str, list[dict[str, Any]]] = {}
        if m.value is not None:
            shown = (
                "area_code",
                "indicator_id",
                "period",
                "spend_per_head",
                "value",
                "expected",
                "expected_lower",
                "expected_upper",
            )
            rows_ = (
                m.value.filter(pl.col("expected").is_not_null())
                .sort("period", maintain_order=True)
                .group_by("area_code", "indicator_id", maintain_order=True)
                .last()
                .select(*[c for c in shown if c in m.value.columns], short_assessment())
            )
            # plain rows, not a frame per area: 7,000 small frames held most of a gigabyte
            for r in rows_.iter_rows(named=True):
                latest.setdefault(r["area_code"], []).append(r)
        pages._value_by_area = (scores, medians, latest)  # type: ignore[attr-defined]
    return pages._value_by_area  # type: ignore[attr-defined]


def area_section(pages: PagesBase, code: str, page: str) -> str:
    """An area page's spend section: per service, its spend, efficiency and peers; per indicator, against expected."""
    m = pages.model
    name = m.area_name(code)
    scores, medians, latest = _by_area(pages)
    services = []
    for service, found in sorted(m.value_services.items()):
        r = scores[service].get(code)
        if r is None or r["spend_per_head"] is None:
            continue
        title = sector_title(service)
        services.append(
            {
                "period": found["period"],
                "title": title,
                "spend": money(r["spend_per_head"]),
                "median": money(medians[service]),
                "share": None if r.get("efficiency") is None else f"{r['efficiency']:.0%}",
                "efficient": bool(r.get("efficient")),
                "peers": join_words([m.area_name(p) for p in (r.get("peer") or [])][:5]),
                "target": money(r.get("target_spend_per_head")),
                "link": safe(link(page, page_path(service).replace(".md", ".html"), "Value for money: " + title)),
            }
        )
    outcomes_table = None
    if m.value is not None:
        mine = latest.get(code)
        if mine:
            body = []
            for r in mine:
                ind = m.indicators.get(r["indicator_id"])
                if ind is None:
                    continue
                body.append(
                    [
                        pages.indicator_link(page, ind),
                        r["period"],
                        money(r.get("spend_per_head")),
                        num(r.get("value"), ind),
                        f"{num(r.get('expected'), ind)} ({interval(r.get('expected_lower'), r.get('expected_upper'))})",
                        r.get("value_category") or "not assessed",
                    ]
                )
            if body:
                outcomes_table = safe(
                    table(
                        [
                            "Indicator",
                            "Period",
                            "Spend per head",
                            "Value",
                            "Expected for spend and need (95%)",
                            "Against expected",
                        ],
                        body,
                        caption=f"{name}: outcomes against what its spend and need predict",
                        raw=[True] + [False] * 5,
                        numeric=[False, False, True, True, False, False],
                    )
                )
    return render("area_value.md.j2", area=name, services=services, outcomes_table=outcomes_table)


def _short(rows: pl.DataFrame) -> dict[str, int]:
    """How many rows are more than, as, or less than expected."""
    return dict(rows.select(short_assessment()).get_column("value_category").drop_nulls().value_counts().iter_rows())
