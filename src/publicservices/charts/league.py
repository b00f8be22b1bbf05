"""League table as a caterpillar plot: values with intervals, and ranks with rank intervals.

A bare rank hides how uncertain it is; the rank interval (Goldstein & Spiegelhalter 1996,
"League tables and their limitations", JRSS A 159:385-443) shows the ranks each unit could
plausibly hold. The intervals come from ``publicservices.stats.ranking``; this module draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import (
    area_labels,
    category_scale,
    chart_title,
    counts_sentence,
    finish,
    first_present,
    inline,
    one_group,
    polarity_of,
    require,
    value_label,
    vega,
)
from publicservices.display import PALETTE, plural
from publicservices.stats.ranking._rankutil import spread_words

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["league_table"]

RANK_COLUMNS = ("rank", "median_rank", "rank_median")  # the rank by value first: one ranking everywhere
RANK_LOWER = ("rank_lower", "rank_lower_95", "lower_rank", "rank_lo")
RANK_UPPER = ("rank_upper", "rank_upper_95", "upper_rank", "rank_hi")
CATEGORY_COLUMNS = ("comparison_95", "comparison", "comparison_998", "funnel_998")


def league_table(
    frame: pl.DataFrame,
    *,
    indicator: Indicator | None = None,
    value: str = "value",
    lower: str | None = None,
    upper: str | None = None,
    rank: str | None = None,
    rank_lower: str | None = None,
    rank_upper: str | None = None,
    category: str | None = None,
    label: str = "area_name",
    max_labels: int = 60,
    subtitle: str | None = None,
    width: int = 300,
) -> alt.HConcatChart | alt.LayerChart:
    """Caterpillar plot: units in rank order, each value with its 95% interval, and beside it
    the rank with its 95% rank interval.

    Method: units are sorted by rank -- the rank of the value (``rank``, ties sharing the
    better place), as :func:`publicservices.results.rank_areas` gives it, else the median
    simulated rank -- then by value; the left panel draws value and interval, the right panel
    the rank and its 95% rank interval (simulated, Goldstein & Spiegelhalter 1996). The
    description's words follow the numbers: "most ranks are uncertain" only when the median
    interval covers more than a quarter of the places. With more than ``max_labels`` units the unit
    names leave the axis (they stay in the tooltips) and rows become thin lines, so 7,000
    units still draw.

    Parameters:
        frame: one row per unit: ``value``, ``lower_95``/``upper_95`` (or ``lower``/``upper``),
            and rank columns (``rank`` or ``median_rank``, ``rank_lower``, ``rank_upper``).
            Without rank columns only the caterpillar of values is drawn, in value order
            (best first by polarity).
        indicator: for title, unit and polarity.
        category: comparison column colouring the points (default ``comparison_95``).
        label: column naming each unit (falls back to ``area_code``).
        max_labels: most units whose names are written on the axis.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["A", "B"], "value": [10.0, 12.0], "lower_95": [8.0, 11.0],
        ...     "upper_95": [12.0, 13.0], "median_rank": [2.0, 1.0], "rank_lower": [1.0, 1.0],
        ...     "rank_upper": [2.0, 2.0]})
        >>> league_table(f).to_dict()["description"].startswith("League table")
        True
    """
    alt = vega()

    require(frame, [value], "league_table", f"pass one row per unit with a {value!r} column.")
    group = one_group(frame, "league_table")
    polarity = polarity_of(frame, indicator)
    # Rank 1 is the best only when there is a direction; without one it is the highest value.
    known = indicator is not None or "polarity" in frame.columns
    rank_one = {"higher_is_better": "1 = best", "lower_is_better": "1 = best"}.get(polarity, "1 = highest value" if known else "")
    lower = lower or first_present(frame, ("lower_95", "lower"))
    upper = upper or first_present(frame, ("upper_95", "upper"))
    rank = rank or first_present(frame, RANK_COLUMNS)
    rank_lower = rank_lower or first_present(frame, RANK_LOWER)
    rank_upper = rank_upper or first_present(frame, RANK_UPPER)
    category = category or first_present(frame, CATEGORY_COLUMNS)

    data = area_labels(frame.filter(pl.col(value).is_not_null()), label)
    if rank:
        data = data.sort([rank, value], descending=[False, polarity != "lower_is_better"], nulls_last=True)
    else:
        data = data.sort(value, descending=polarity != "lower_is_better", nulls_last=True)
    data = data.with_row_index("_order", offset=1)
    n = data.height
    many = n > max_labels
    if many:
        y_enc = alt.Y(
            "_order:Q",
            title=f"{plural(n, 'unit')} in rank order",
            scale=alt.Scale(reverse=True, domain=[0, n + 1], nice=False),
            axis=alt.Axis(labels=False, ticks=False, grid=False),
        )
        height = 420
    else:
        y_enc = alt.Y("_label:N", title=None, sort=alt.EncodingSortField("_order", order="ascending"))
        height = max(120, 16 * n)
    median = "median_rank" if "median_rank" in frame.columns and rank != "median_rank" else None
    columns = ["_label", "_order", value, lower, upper, rank, median, rank_lower, rank_upper, category]
    # the area's code rides along (not shown): the site links each mark to the area's page
    columns.append("area_code" if "area_code" in data.columns else None)
    source = inline(data, [c for c in columns if c])
    base = alt.Chart(source).encode(y=y_enc)
    v_title = value_label(indicator)
    tooltips = [alt.Tooltip("_label:N", title="area"), alt.Tooltip(f"{value}:Q", title=v_title, format=",.3~f")]
    if lower and upper:
        tooltips += [
            alt.Tooltip(f"{lower}:Q", title="lower 95%", format=",.3~f"),
            alt.Tooltip(f"{upper}:Q", title="upper 95%", format=",.3~f"),
        ]
    if rank:
        tooltips.append(alt.Tooltip(f"{rank}:Q", title="rank", format=",.0f"))
    if median:
        tooltips.append(alt.Tooltip(f"{median}:Q", title="median rank in simulations", format=",.0f"))
    if rank_lower and rank_upper:
        tooltips += [
            alt.Tooltip(f"{rank_lower}:Q", title="rank interval from", format=",.0f"),
            alt.Tooltip(f"{rank_upper}:Q", title="rank interval to", format=",.0f"),
        ]
    if category:
        tooltips.append(alt.Tooltip(f"{category}:N", title="compared with benchmark"))
        colour: Any = alt.Color(
            f"{category}:N",
            scale=category_scale(polarity, data.get_column(category).unique().to_list()),
            legend=alt.Legend(title="compared with benchmark", orient="bottom"),
        )
    else:
        colour = alt.value(PALETTE["neutral"])

    value_x = alt.X(f"{value}:Q", title=v_title, scale=alt.Scale(zero=False))
    left_layers = []
    if lower and upper:
        left_layers.append(
            base.mark_rule(opacity=0.5 if many else 0.8, color=PALETTE["benchmark"]).encode(
                x=alt.X(f"{lower}:Q", title=v_title, scale=alt.Scale(zero=False)), x2=f"{upper}:Q", tooltip=tooltips
            )
        )
    left_layers.append(base.mark_circle(size=10 if many else 45, opacity=0.9).encode(x=value_x, color=colour, tooltip=tooltips))
    left = alt.layer(*left_layers).properties(width=width, height=height, title="value with 95% interval")

    noun = plural(n, "unit")
    name = indicator.title if indicator is not None else value
    parts = [f"League table of {name} for {noun}, in rank order."]
    if category:
        parts.append(f"Compared with the benchmark: {counts_sentence(data, category)}.")
    if rank and rank_lower and rank_upper:
        widths = data.select((pl.col(rank_upper) - pl.col(rank_lower) + 1).median()).item()
        top = data.head(1).row(0, named=True)
        first = "The top-ranked unit" if polarity != "no_judgement" or not known else "The unit ranked highest"
        if widths is None:  # no unit has a rank interval (each needs a 95% interval)
            parts.append(
                "No unit has a rank interval (each needs a 95% interval for its value), so how sure the ranks are cannot be said."
            )
        else:
            place = (
                f"could rank anywhere from {top[rank_lower]:,.0f} to {top[rank_upper]:,.0f}"
                if top[rank_lower] is not None and top[rank_upper] is not None
                else "has no rank interval"
            )
            parts.append(
                f"Rank intervals show the ranks each unit could plausibly hold; the median interval covers "
                f"{widths:,.0f} of the {n:,} places, so {spread_words(widths, n)}. {first}, {top['_label']}, {place}."
            )
        if rank_one == "1 = highest value":
            parts.append(
                f"{indicator.title if indicator is not None else 'This indicator'} has no better or worse direction: "
                "rank 1 is the highest value, not the best."
            )
        # The right panel shares the rows; its axis would only repeat the names.
        right_y = (
            alt.Y("_order:Q", scale=alt.Scale(reverse=True, domain=[0, n + 1], nice=False), axis=None)
            if many
            else alt.Y("_label:N", axis=None, sort=alt.EncodingSortField("_order", order="ascending"))
        )
        right_base = alt.Chart(source).encode(y=right_y)
        right = alt.layer(
            right_base.mark_rule(opacity=0.5 if many else 0.8, color=PALETTE["benchmark"]).encode(
                x=alt.X(
                    f"{rank_lower}:Q",
                    title=f"rank ({rank_one})" if rank_one else "rank",
                    scale=alt.Scale(domain=[0.5, n + 0.5], nice=False),
                ),
                x2=f"{rank_upper}:Q",
                tooltip=tooltips,
            ),
            right_base.mark_tick(thickness=2, size=4 if many else 12, color=PALETTE["neutral"]).encode(
                x=alt.X(f"{rank}:Q"), tooltip=tooltips
            ),
        ).properties(width=width, height=height, title="rank with 95% rank interval")
        chart: Any = alt.hconcat(left, right, spacing=8).resolve_scale(y="shared")
    else:
        parts.append("No rank intervals were supplied, so units are ordered by value alone.")
        chart = left
    chart = chart.properties(
        title=chart_title(
            indicator, f"League table of {value}", subtitle or "ranked, with the uncertainty of each rank", group=group
        )
    )
    return finish(chart, kind="league", description=" ".join(parts), indicator=indicator, extra={"units": n})
