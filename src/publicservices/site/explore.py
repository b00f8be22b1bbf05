"""Explore, offline: every period of every indicator as small data scripts, the controls that read
them (period picker, "highlight my area"), the indicator page's chart / table / map views and the
compare page. Everything runs in the reader's browser (``static/ps-explore.js``); there is no server.

Data are scripts, not JSON files, because a page opened from ``file://`` may load a script but
not fetch a file:

* ``data/explore/areas.js``: ``window.PS_AREAS``, every compared area as ``[code, name, page]``
  (``page`` relative to the site's root), by name;
* ``data/explore/<indicator>.js``: ``window.PS_EXPLORE[id]``, the indicator's title, unit and
  direction, its periods in time order (each with its start and benchmark) and, per period, one
  row per area ``[code, value, lower_95, upper_95, comparison]`` (hidden values are null).

Example:
    >>> explore_script("health.x", {"id": "health.x"})
    '(window.PS_EXPLORE = window.PS_EXPLORE || {})["health.x"] = {"id":"health.x"};\\n'
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import PALETTE
from publicservices.site import specs
from publicservices.site.markup import rel
from publicservices.site.safety import html_text, js_json
from publicservices.site.templating import render, safe

FOLDER = "data/explore"
AREAS_SCRIPT = f"{FOLDER}/areas.js"
COMPARE_PAGE = "compare.md"


def indicator_script(ind_id: str) -> str:
    """The path (from the site's root) of an indicator's explore data.

    >>> indicator_script("health.ae_4hr")
    'data/explore/health.ae_4hr.js'
    """
    return f"{FOLDER}/{ind_id}.js"


def explore_script(ind_id: str, data: Mapping[str, Any]) -> str:
    """The script registering one indicator's explore data (``js_json``: no ``<``, so it cannot close a script)."""
    return f"(window.PS_EXPLORE = window.PS_EXPLORE || {{}})[{js_json(ind_id)}] = {js_json(data)};\n"


#: The comparison categories, in the order legends list them.
COMPARISON_WORDS = ("better", "similar", "worse", "higher", "lower", "not compared")


def areas_script(areas: pl.DataFrame) -> str:
    """``window.PS_AREAS``: ``[code, name, page]`` for every compared area, by name then code; and
    ``window.PS_COLOURS``, ``[category, colour]`` in legend order (``display.PALETTE``), so charts
    redrawn in the browser colour each category as the site's own charts do."""

    rows = (
        areas.select(
            "area_code",
            pl.coalesce(pl.col("area_name").cast(pl.String), pl.col("area_code")).alias("name"),
            pl.concat_str(pl.lit("areas/"), pl.col("slug"), pl.lit(".html")).alias("page"),
        )
        .sort("name", "area_code")
        .rows()
    )
    colours = [[w, PALETTE[w]] for w in COMPARISON_WORDS]  # pairs, in legend order
    return f"window.PS_AREAS = {js_json([list(r) for r in rows])};\nwindow.PS_COLOURS = {js_json(colours)};\n"


def explore_data(model: Any) -> dict[str, dict[str, Any]]:
    """Each indicator's explore data (see the module docstring), from the model's published results.

    Values hidden for small numbers are null here as in the downloads; rows are rounded to 4
    decimal places (as the charts' rows are). Periods come in time order (``period_start``).
    """
    results: pl.DataFrame = model.results
    shown = pl.col("value").is_not_null()
    if "suppressed" in results.columns:
        shown = shown & pl.col("suppressed").is_null()

    def kept(column: str) -> pl.Expr:
        if column not in results.columns:
            return pl.lit(None, dtype=pl.Float64).alias(column)
        return pl.when(shown).then(pl.col(column).cast(pl.Float64).round(4)).otherwise(None).alias(column)

    comparison = (
        pl.when(shown).then(pl.col("comparison_95").cast(pl.String)).otherwise(None)
        if "comparison_95" in results.columns
        else pl.lit(None, dtype=pl.String)
    )
    frame = results.select(
        "indicator_id",
        "area_code",
        pl.col("period").cast(pl.String),
        pl.col("period_start").cast(pl.String).alias("start"),
        kept("value"),
        kept("lower_95"),
        kept("upper_95"),
        comparison.alias("comparison"),
        kept("benchmark_value"),
    )
    periods = (
        frame.group_by("indicator_id", "period")
        .agg(pl.col("start").min(), pl.col("benchmark_value").drop_nulls().first().alias("benchmark"))
        .sort("indicator_id", "start", "period")
    )
    by_period: dict[str, dict[str, list[Any]]] = {}
    for (ind_id, period), part in (
        frame.sort("area_code").partition_by(["indicator_id", "period"], as_dict=True, maintain_order=True).items()
    ):
        rows = part.select("area_code", "value", "lower_95", "upper_95", "comparison").rows()
        by_period.setdefault(str(ind_id), {})[str(period)] = [list(r) for r in rows]
    out: dict[str, dict[str, Any]] = {}
    listed = {k: v.to_dicts() for (k,), v in periods.partition_by("indicator_id", as_dict=True, maintain_order=True).items()}
    for ind_id, ind in model.indicators.items():
        out[ind_id] = {
            "id": ind_id,
            "title": ind.title,
            "unit": ind.unit,
            "polarity": ind.polarity,
            "page": f"indicators/{ind_id}.html",
            "latest": model.latest.get(ind_id),
            "periods": [
                {"period": p["period"], "start": p["start"], "benchmark": p["benchmark"]} for p in listed.get(ind_id, [])
            ],
            "rows": by_period.get(ind_id, {}),
        }
    return out


def write_data(model: Any, writer: Any, docs: str = "docs/") -> None:
    """Write ``data/explore/``: the areas script and one script per indicator."""
    writer.text(docs + AREAS_SCRIPT, areas_script(model.areas))
    for ind_id, data in explore_data(model).items():
        writer.text(docs + indicator_script(ind_id), explore_script(ind_id, data))


# -- the controls ------------------------------------------------------------------------------


def _options(periods: Sequence[str], chosen: str, latest_label: str | None = None) -> str:
    opts = []
    if latest_label is not None:
        opts.append(f'<option value="" selected>{html_text(latest_label)}</option>')
    for p in periods:
        sel = " selected" if latest_label is None and p == chosen else ""
        opts.append(f'<option value="{html_text(p)}"{sel}>{html_text(p)}{" (latest)" if p == chosen else ""}</option>')
    return "".join(opts)


def controls(
    page: str,
    kind: str,
    load: Sequence[str],
    *,
    periods: Sequence[str] = (),
    latest: str = "",
    latest_label: str | None = None,
    indicator: str = "",
    area: str = "",
    more: Sequence[str] = (),
) -> str:
    """The explore bar: a period picker (when ``periods``) and "highlight my area".

    ``kind`` is ``indicator``, ``area`` or ``compare``; ``load`` lists the data scripts (from the
    site's root) ``ps-explore.js`` loads at once, ``more`` those it loads only when the reader picks
    an earlier period (an area page needs every indicator's data then, and only then). The bar is ``hidden`` until the script shows it, so a
    page without scripts offers no control that cannot work.

    >>> print(controls("indicators/x.md", "indicator", ["data/explore/x.js"], periods=["2022", "2023"], latest="2023"))
    <div class="ps-explore" data-ps-explore="indicator" data-indicator="" data-root="../" data-load="../data/explore/x.js" hidden><div class="ps-explore__field"><label for="ps-period">Period</label> <select id="ps-period" class="ps-explore__period"><option value="2023" selected>2023 (latest)</option><option value="2022">2022</option></select></div> <div class="ps-explore__field"><label for="ps-highlight">Highlight my area</label> <input id="ps-highlight" class="ps-explore__highlight" type="search" list="ps-area-list" autocomplete="off" placeholder="Type an area's name"> <datalist id="ps-area-list"></datalist> <button type="button" class="ps-explore__button ps-explore__clear">Clear</button></div> <p class="ps-explore__status" role="status"></p></div>
    """
    root = rel(page, "index.html").removesuffix("index.html")
    parts = []
    if periods:
        ordered = list(reversed(periods))  # newest first
        parts.append(
            '<div class="ps-explore__field"><label for="ps-period">Period</label> '
            f'<select id="ps-period" class="ps-explore__period">{_options(ordered, latest, latest_label)}</select></div>'
        )
    parts.append(
        '<div class="ps-explore__field"><label for="ps-highlight">Highlight my area</label> '
        '<input id="ps-highlight" class="ps-explore__highlight" type="search" list="ps-area-list" autocomplete="off" '
        'placeholder="Type an area\'s name"> <datalist id="ps-area-list"></datalist> '
        '<button type="button" class="ps-explore__button ps-explore__clear">Clear</button></div>'
    )
    parts.append('<p class="ps-explore__status" role="status"></p>')
    scripts = " ".join(rel(page, s) for s in load)
    return (
        f'<div class="ps-explore" data-ps-explore="{html_text(kind)}" data-indicator="{html_text(indicator)}" '
        + (f'data-area="{html_text(area)}" ' if area else "")
        + f'data-root="{html_text(root)}" data-load="{html_text(scripts)}"'
        + (f' data-more="{html_text(" ".join(rel(page, s) for s in more))}"' if more else "")
        + " hidden>"
        + " ".join(parts)
        + "</div>"
    )


def view_tabs(tabs: Sequence[tuple[str, str, str]]) -> str:
    """Views of one indicator as Material content tabs (pymdownx.tabbed's alternate markup, as the map tabs).

    ``tabs`` are ``(key, title, html)``; the first is chosen. The classes come after a ``ps-explore``
    class, so the tab set is told apart from the map's own tabs inside it.

    >>> print(view_tabs([("chart", "Chart", "<p>c</p>"), ("table", "Table", "<p>t</p>")]))
    <div class="ps-explore-tabs tabbed-set tabbed-alternate" data-tabs="2:2"><input checked="checked" id="ps-view-chart" name="ps-view" type="radio" value="chart"><input id="ps-view-table" name="ps-view" type="radio" value="table"><div class="ps-explore-tabs__labels tabbed-labels"><label for="ps-view-chart">Chart</label><label for="ps-view-table">Table</label></div>
    <div class="tabbed-content">
    <div class="ps-explore-tabs__block tabbed-block" data-view="chart">
    <p>c</p>
    </div>
    <div class="ps-explore-tabs__block tabbed-block" data-view="table">
    <p>t</p>
    </div>
    </div>
    </div>
    """
    inputs = "".join(
        f'<input{" checked=" + chr(34) + "checked" + chr(34) if i == 0 else ""} id="ps-view-{key}" name="ps-view" type="radio" value="{key}">'
        for i, (key, _, _) in enumerate(tabs)
    )
    labels = "".join(f'<label for="ps-view-{key}">{html.escape(title)}</label>' for key, title, _ in tabs)
    blocks = "\n".join(
        f'<div class="ps-explore-tabs__block tabbed-block" data-view="{key}">\n{body}\n</div>' for key, _, body in tabs
    )
    return (
        f'<div class="ps-explore-tabs tabbed-set tabbed-alternate" data-tabs="2:{len(tabs)}">{inputs}'
        f'<div class="ps-explore-tabs__labels tabbed-labels">{labels}</div>\n<div class="tabbed-content">\n{blocks}\n</div>\n</div>'
    )


def periods_of(model: Any, ind_id: str) -> list[str]:
    """An indicator's periods in time order."""
    rows = model.results.filter(pl.col("indicator_id") == ind_id).group_by("period").agg(pl.col("period_start").min())
    return rows.sort("period_start", "period").get_column("period").cast(pl.String).to_list()


def all_periods(model: Any) -> list[str]:
    """Every period of any indicator, in time order (by start, then label)."""
    rows = model.results.group_by("period").agg(pl.col("period_start").min())
    return rows.sort("period_start", "period").get_column("period").cast(pl.String).to_list()


def indicator_section(pages: Any, page: str, ind: Any, figure: Any, maps: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The indicator page's "Explore" section: the explore bar and the chart / table / map tabs.

    ``figure`` draws a chart into the page's script (the page's own ``figure``); the map tab shows
    the page's first map again (the same spec: nothing more to load), redrawn for the chosen period.
    """

    m = pages.model
    periods = periods_of(m, ind.id)
    if not periods:
        return {}
    latest = m.latest[ind.id]
    bar = controls(page, "indicator", [AREAS_SCRIPT, indicator_script(ind.id)], periods=periods, latest=latest, indicator=ind.id)
    chart = pages.figure(
        page,
        f"charts/indicators/{ind.id}.js",
        f"indicators/{ind.id}/explore",
        specs.explore_spec(ind.title, ind.unit, ind.polarity),
        f"Every area's value of {ind.title} in the chosen period, in order, with its 95% interval and the benchmark. "
        "The table view lists the same numbers.",
        f"Chart of every area's {ind.title} in the chosen period",
        data=f"data/indicators/{ind.id}.csv",
        inline={"explore": []},
    ).removesuffix("\n")
    table = (
        f'<div class="ps-explore__table" data-indicator="{html_text(ind.id)}"><p>The table of every area in {html_text(latest)} '
        'is under <a href="#all-areas">All areas</a> below.</p></div>'
    )
    tabs = [("chart", "Chart", chart), ("table", "Table", table)]
    drawn = next((t for t in maps if t.get("figure")), None)
    if drawn is not None:
        tabs.append(("map", "Map", str(drawn["figure"])))
    return {"bar": bar, "tabs": view_tabs(tabs)}


def area_controls(pages: Any, page: str, code: str) -> str:
    """The area page's explore bar: every period of any indicator (default: each indicator's latest)."""
    m = pages.model
    if not hasattr(pages, "_explore_periods"):  # the same for every area page: computed once
        pages._explore_periods = all_periods(m)
    more = [indicator_script(i) for i in m.indicators]
    return controls(
        page,
        "area",
        [AREAS_SCRIPT],
        periods=pages._explore_periods,
        latest_label="Latest for each indicator",
        area=code,
        more=more,
    )


def compare_page(pages: Any) -> str:
    """The compare page (``compare.md``): pick 2 to 6 areas, see every indicator side by side."""

    m = pages.model
    page = COMPARE_PAGE
    load = [AREAS_SCRIPT, *(indicator_script(i) for i in m.indicators)]
    bar = controls(page, "compare", load, periods=all_periods(m), latest_label="Latest for each indicator")
    return render("compare.md.j2", controls=safe(bar), indicators=len(m.indicators), areas=m.areas.height)
