"""The international comparison page: the nation among other countries, with uncertainty on both sides.

Every figure comes from the site model (``SiteModel.international``, computed by
:mod:`publicservices.site.international`); this module words and lays them out, and the
template ``international.md.j2`` places them. The page exists only when the site was given
an international comparator table; when none of it could be used, it says why.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import format_number, join_words, plural
from publicservices.site import specs
from publicservices.site.markup import link, table
from publicservices.site.pages.words import public_text
from publicservices.site.templating import render, safe

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.site.international import InternationalComparison
    from publicservices.site.pages.base import PagesBase
    from publicservices.site.writer import DocsWriter

__all__ = ["PAGE", "TITLE", "DATA", "page", "write", "ordinal", "the", "comparison_words"]

PAGE = "international.md"
TITLE = "International comparison"
DATA = "data/international/comparisons"
SCRIPT = "charts/international.js"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st']
    """
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lower_first(text: str) -> str:
    """``Reading literacy`` -> ``reading literacy``; ``PISA reading score`` stays as it is."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


_WITH_THE = ("United ", "Netherlands", "Czech Republic", "Slovak Republic", "Republic of ", "Philippines")


def the(name: str) -> str:
    """A country's name as a sentence says it: ``the United Kingdom``, ``France``.

    >>> the("United Kingdom"), the("France")
    ('the United Kingdom', 'France')
    """
    return f"the {name}" if name.startswith(_WITH_THE) else name


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(polarity: str) -> dict[str, str]:
    """How a comparison word reads in a sentence, and what rank 1 is."""
    if polarity == "higher_is_better":
        first = "the highest (best)"
    elif polarity == "lower_is_better":
        first = "the lowest (best)"
    else:
        first = "the highest"
    return {
        "better": "better than",
        "worse": "worse than",
        "higher": "higher than",
        "lower": "lower than",
        "not distinguishable": "not distinguishable from",
        "first": first,
    }


def _rank_range(row: dict[str, Any]) -> str:
    """``between 6th and 14th of 37`` (or ``6th of 37`` when the set holds one rank); empty without ranks."""
    lo, hi, n = row.get("rank_lower"), row.get("rank_upper"), row.get("n_countries")
    if lo is None or hi is None or n is None:
        return ""
    return f"{ordinal(lo)} of {n}" if lo == hi else f"between {ordinal(lo)} and {ordinal(hi)} of {n}"


def _difference(value: Any, unit: str) -> str:
    return format_number(abs(value), unit="percentage points" if unit.strip() == "%" else unit)


def comparison_words(c: InternationalComparison, period: str | None = None) -> dict[str, Any]:
    """The sentences of one comparator in one period (default the latest)."""
    rows = c.rows(period)
    period = period or c.latest
    ind = c.indicator
    unit = getattr(ind, "unit", "") or ""
    level = f"{c.comparator.level:.0%}"
    words = _words(c.comparator.polarity)
    first = rows.row(0, named=True)
    average = rows.filter(pl.col("versus") == "average")
    others = rows.filter(pl.col("versus") != "average")
    what = _lower_first(getattr(ind, "title", None) or c.comparator.measure)
    country = the(c.country_name)
    group = c.comparator.group
    ranks = _rank_range(first)
    headline = detail = ""
    if average.height:
        a = average.row(0, named=True)
        gap = a["difference"]
        direction = "higher" if gap >= 0 else "lower"
        if a["comparison"] == "not distinguishable":
            said = f"not distinguishable from the {group}"
        else:
            judged = f" ({a['comparison']})" if a["comparison"] in ("better", "worse") else ""
            said = f"{direction} than the {group}{judged}"
        headline = f"In {period}, {_possessive(country)} {what} was {said}"
        headline += f"; we can be {level} confident of its rank {ranks}." if ranks else "."
        if a["comparison"] == "not distinguishable":
            detail = (
                f"{_capital(_possessive(country))} {what} was {format_number(first['value'], unit=unit)} against the "
                f"{group} of {format_number(a['versus_value'], unit=unit)}: the difference, {_difference(gap, unit)}, has a "
                f"{level} interval from {format_number(a['difference_lower'])} to {format_number(a['difference_upper'])}, "
                "which includes no difference."
            )
        else:
            detail = (
                f"{_capital(_possessive(country))} {what} was {format_number(first['value'], unit=unit)} against the "
                f"{group} of {format_number(a['versus_value'], unit=unit)}: {_difference(gap, unit)} {direction} "
                f"({level} interval of the difference {format_number(a['difference_lower'])} to "
                f"{format_number(a['difference_upper'])})."
            )
    elif ranks:
        headline = f"In {period}, we can be {level} confident that {_possessive(country)} rank in {what} is {ranks}."
    counts = dict(others.get_column("comparison").value_counts().iter_rows())
    up, down = ("better", "worse") if c.comparator.polarity != "no_judgement" else ("higher", "lower")
    against = (
        f"Against each of the other {plural(others.height, 'country', 'countries')} one by one, {country} was "
        f"{words[up]} {counts.get(up, 0):,}, {words[down]} {counts.get(down, 0):,} and "
        f"{words['not distinguishable']} {counts.get('not distinguishable', 0):,} ({level} intervals of the differences, "
        "which allow for the uncertainty of both countries' figures)."
    )
    ranked = ""
    if first.get("rank") is not None:
        ranked = (
            f"Ranked among the {first['n_countries']} countries, where 1st is {words['first']}, {country} is "
            f"{ordinal(first['rank'])} on the published figures; as every figure comes from a sample, we can be {level} "
            f"confident only that its true rank is {ranks}."
        )
    return {"headline": headline, "detail": detail, "against": against, "ranked": ranked, "period": period}


def _earlier(c: InternationalComparison) -> list[str]:
    out = []
    unit = getattr(c.indicator, "unit", "") or ""
    words = _words(c.comparator.polarity)
    for period in c.periods[:-1][::-1]:
        rows = c.rows(period)
        first = rows.row(0, named=True)
        average = rows.filter(pl.col("versus") == "average")
        text = f"{period}: {format_number(first['value'], unit=unit)}"
        if average.height:
            a = average.row(0, named=True)
            text += (
                f", {words.get(a['comparison'], a['comparison'])} the {c.comparator.group} of "
                f"{format_number(a['versus_value'], unit=unit)} (difference {format_number(a['difference'])}, "
                f"{c.comparator.level:.0%} interval {format_number(a['difference_lower'])} to "
                f"{format_number(a['difference_upper'])})"
            )
        ranks = _rank_range(first)
        out.append(text + (f"; rank {ranks}." if ranks else "."))
    return out


def _table(c: InternationalComparison) -> str:
    rows = c.rows()
    ind = c.indicator
    unit = getattr(ind, "unit", "") or ""
    z = NormalDist().inv_cdf(0.5 + c.comparator.level / 2)
    level = f"{c.comparator.level:.0%}"
    first = rows.row(0, named=True)
    country = c.country_name
    subject = _capital(the(country))

    def value_interval(value: Any, se: Any) -> tuple[str, str]:
        if value is None:
            return "–", "–"
        lim = "–" if se is None else f"{format_number(value - z * se)} to {format_number(value + z * se)}"
        return format_number(value), lim

    body = []
    average = rows.filter(pl.col("versus") == "average")
    others = rows.filter(pl.col("versus") != "average").sort(
        "versus_value", descending=c.comparator.polarity != "lower_is_better", nulls_last=True
    )
    own = [country, *value_interval(first["value"], first["standard_error"]), "–", "–", "the country compared"]
    listed = [*average.iter_rows(named=True), *others.iter_rows(named=True)]
    placed = False
    for r in listed:
        is_other = r["versus"] != "average"
        ahead = (
            r["versus_value"] is not None
            and first["value"] is not None
            and (
                r["versus_value"] < first["value"]
                if c.comparator.polarity != "lower_is_better"
                else r["versus_value"] > first["value"]
            )
        )
        if is_other and not placed and ahead:
            body.append(own)
            placed = True
        value, limits = value_interval(r["versus_value"], r["versus_standard_error"])
        body.append(
            [
                r["versus_name"],
                value,
                limits,
                format_number(r["difference"]),
                f"{format_number(r['difference_lower'])} to {format_number(r['difference_upper'])}",
                r["comparison"],
            ]
        )
    if not placed:
        body.append(own)
    heading = f"Value ({unit})" if unit else "Value"
    return table(
        [
            "Country",
            heading,
            f"{level} interval",
            f"{subject} minus the country",
            f"{level} interval of the difference",
            f"{subject} is",
        ],
        body,
        caption=f"{c.comparator.title}, {c.latest}: {the(country)} against the {c.comparator.group} and each country",
        numeric=[False, True, False, True, False, False],
    )


def page(pages: PagesBase) -> str:
    """The text of the international comparison page."""
    from publicservices.charts import describe
    from publicservices.charts.international import country_chart

    m = pages.model
    section = m.international
    assert section is not None
    blocks = []
    for c in section.comparisons:
        said = comparison_words(c)
        chart_ = country_chart(c.rows(), indicator=c.indicator)
        figure = pages.figure(
            PAGE,
            SCRIPT,
            f"international/{c.comparator.id}/{c.source}",
            specs.to_spec(chart_),
            public_text(describe(chart_)),
            f"{c.comparator.title}: {c.country_name} among other countries, {c.latest}",
            data=f"{DATA}.csv",
        ).removesuffix("\n")
        national = m.indicators.get(c.comparator.indicator)
        blocks.append(
            {
                "title": c.comparator.title,
                **said,
                "earlier": _earlier(c),
                "note": c.comparator.note,
                "national": safe(pages.indicator_link(PAGE, national)) if national is not None else None,
                "source": c.source,
                "n_average": c.rows().filter(pl.col("versus") != "average").height + 1,
                "group": c.comparator.group,
                "country": the(c.country_name),
                "table": safe(_table(c)),
                "figure": safe(figure),
            }
        )
    sources = join_words(section.sources)
    return render(
        "international.md.j2",
        title=TITLE,
        sources=sources,
        comparisons=blocks,
        problems=[t for t in (public_text(p) for p in section.problems) if t],
        data_link=safe(link(PAGE, f"{DATA}.csv", "every comparison (CSV)")) if section.comparisons else None,
        methodology=safe(link(PAGE, "methodology.html", "methodology")),
    )


def write(pages: PagesBase, writer: DocsWriter, docs: str = "docs/") -> None:
    """Write the page and its data (call before the chart scripts are written: the page adds its charts)."""
    section = pages.model.international
    if section is None:
        return
    frame = section.frame()
    if frame.height:
        writer.frame(f"{docs}{DATA}.csv", frame)
        writer.frame(f"{docs}{DATA}.parquet", frame)
    writer.text(docs + PAGE, page(pages))
