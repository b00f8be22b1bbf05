"""Spend against outcome: each area's spend and result, the efficient frontier and the
outcome expected for its spend and need.

The frontier comes from data envelopment analysis (Charnes, Cooper & Rhodes 1978; Banker,
Charnes & Cooper 1984) and the expected outcome from the value-for-money regression, both in
``publicservices.stats.value``; this module draws them.
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
from publicservices.display import PALETTE, join_words, plural

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["frontier_chart"]

SPEND_COLUMNS = ("spend_per_head", "unit_cost", "spend_per_user", "spend")
EXPECTED_COLUMNS = ("expected", "expected_value", "expected_outcome")
CATEGORY_COLUMNS = ("value_category", "assessment")
EFFICIENT_COLUMNS = ("efficient", "on_frontier")
_WORDS = {
    "more than expected": PALETTE["better"],
    "higher than expected": PALETTE["higher"],
    "as expected": PALETTE["similar"],
    "lower than expected": PALETTE["lower"],
    "less than expected": PALETTE["worse"],
}


def frontier_chart(
    frame: pl.DataFrame,
    *,
    indicator: Indicator | None = None,
    x: str | None = None,
    y: str = "value",
    expected: str | None = None,
    expected_line: pl.DataFrame | None = None,
    efficient: str | None = None,
    frontier: pl.DataFrame | None = None,
    category: str | None = None,
    label: str = "area_name",
    x_title: str | None = None,
    y_title: str | None = None,
    subtitle: str | None = None,
    width: int = 500,
    height: int = 340,
) -> alt.LayerChart:
    """Spend against outcome with the efficient frontier and the expected-outcome line.

    Method: one point per area at its spend (per head by default) and outcome, coloured by
    whether it achieves more or less than expected for its spend and need. The frontier
    joins the efficient areas (DEA score 1) in order of spend -- the best outcome achieved
    for a given spend; the expected-outcome line is the regression prediction across spend
    (``expected_line``), or each area's own expected value as an open circle when only
    those are given.

    Parameters:
        frame: one row per area: spend (``spend_per_head`` or ``x``), outcome (``value``),
            optional ``expected``, ``efficient`` (bool) or ``efficiency`` (1 = efficient), and
            a category column (``value_category``: more than / as / less than expected).
        expected_line: ``x``, ``expected`` pairs across the spend range (need held at its mean).
        frontier: the frontier to draw as ``x``, ``y`` pairs (default: efficient areas in
            spend order).
        x_title: x axis title (default ``spend per head (£)``).
        y_title: y axis title (default: the indicator's value label). Give it when ``y`` is not
            the published value, for example ``value_need_adjusted``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["A", "B", "C"], "spend_per_head": [100.0, 150.0, 200.0],
        ...     "value": [50.0, 65.0, 60.0], "efficient": [True, True, False]})
        >>> frontier_chart(f).to_dict()["description"][:45]
        'Spend against outcome for 3 areas: value by s'
    """
    alt = vega()

    x = x or first_present(frame, SPEND_COLUMNS) or "spend_per_head"
    require(frame, [x, y], "frontier_chart", f"pass one row per area with spend ({x!r}) and outcome ({y!r}).")
    group = one_group(frame, "frontier_chart")
    polarity = polarity_of(frame, indicator)
    expected = expected or first_present(frame, EXPECTED_COLUMNS)
    category = category or first_present(frame, CATEGORY_COLUMNS)
    efficient = efficient or first_present(frame, EFFICIENT_COLUMNS)
    data = area_labels(frame.filter(pl.col(x).is_not_null() & pl.col(y).is_not_null()), label)
    if category == "assessment":
        # "achieves more than expected for its spend and need" -> "more than expected"
        text = pl.col("assessment").cast(pl.String)
        short = pl.lit(None, dtype=pl.String)
        for word in _WORDS:
            short = pl.when(text.str.contains(word, literal=True)).then(pl.lit(word)).otherwise(short)
        data = data.with_columns(short.alias("_category"))
        category = "_category"
    if efficient is None and "efficiency" in data.columns:
        data = data.with_columns((pl.col("efficiency") >= 1 - 1e-9).alias("_efficient"))
        efficient = "_efficient"
    x_title = x_title or ("spend per head (£)" if x == "spend_per_head" else x.replace("_", " "))
    y_title = y_title or value_label(indicator)
    x_enc = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(zero=False))
    y_scale = alt.Scale(zero=False)
    tips = [
        alt.Tooltip("_label:N", title="area"),
        alt.Tooltip(f"{x}:Q", title=x_title, format=",.0f"),
        alt.Tooltip(f"{y}:Q", title=y_title, format=",.3~f"),
    ]
    if y != "value" and "value" in data.columns:
        tips.append(alt.Tooltip("value:Q", title="published value", format=",.3~f"))
    if expected:
        tips.append(alt.Tooltip(f"{expected}:Q", title="expected", format=",.3~f"))
    if "efficiency" in data.columns:
        tips.append(alt.Tooltip("efficiency:Q", title="efficiency (DEA)", format=".2f"))
    if category:
        tips.append(alt.Tooltip(f"{category}:N", title="against expected"))
        words = [w for w in data.get_column(category).drop_nulls().unique().to_list()]
        if set(words) <= set(_WORDS):
            ordered = [w for w in _WORDS if w in words]
            scale = alt.Scale(domain=ordered, range=[_WORDS[w] for w in ordered])
        else:
            scale = category_scale(polarity, words)
        colour: Any = alt.Color(
            f"{category}:N", scale=scale, legend=alt.Legend(title="outcome against expected", orient="bottom")
        )
    else:
        colour = alt.value(PALETTE["neutral"])
    columns = [
        "_label",
        x,
        y,
        "value" if y != "value" and "value" in data.columns else None,
        expected,
        category,
        "efficiency" if "efficiency" in data.columns else None,
        efficient,
    ]
    source = inline(data, [c for c in columns if c])
    base = alt.Chart(source).encode(x=x_enc)
    layers: list[Any] = []
    drawn: list[str] = []
    if frontier is None and efficient:
        frontier = data.filter(pl.col(efficient).fill_null(False)).select(pl.col(x).alias("x"), pl.col(y).alias("y")).sort("x")
        if frontier.height:
            # Input-oriented, the frontier runs flat beyond the last efficient area (spending more
            # buys nothing more) and straight down (or up, when lower is better) from the first:
            # every area lies on or behind it, at its efficiency's share of the spend.
            first, last = frontier.row(0, named=True), frontier.row(-1, named=True)
            right = data.get_column(x).max()
            worst = data.get_column(y).max() if polarity == "lower_is_better" else data.get_column(y).min()
            start = pl.DataFrame({"x": [float(first["x"])], "y": [float(worst)]}) if isinstance(worst, int | float) else None
            end = (
                pl.DataFrame({"x": [float(right)], "y": [float(last["y"])]})
                if isinstance(right, int | float) and right > last["x"]
                else None
            )
            frontier = pl.concat([f for f in (start, frontier, end) if f is not None], how="vertical_relaxed")
    if frontier is not None and frontier.height:
        fx, fy = ("x", "y") if {"x", "y"} <= set(frontier.columns) else (x, y)
        layers.append(
            alt.Chart(inline(frontier, [fx, fy]))
            .mark_line(color=PALETTE["better"], strokeWidth=1.5, interpolate="linear")
            .encode(
                x=alt.X(f"{fx}:Q", scale=alt.Scale(zero=False)),
                y=alt.Y(f"{fy}:Q", scale=y_scale),
                tooltip=[
                    alt.Tooltip(f"{fx}:Q", title=x_title, format=",.0f"),
                    alt.Tooltip(f"{fy}:Q", title="frontier", format=",.3~f"),
                ],
            )
        )
        drawn.append("the efficient frontier (solid line)")
    if expected_line is not None and expected_line.height:
        ex, ey = (x, "expected") if {x, "expected"} <= set(expected_line.columns) else ("x", "y")
        layers.append(
            alt.Chart(inline(expected_line, [ex, ey]))
            .mark_line(color=PALETTE["benchmark"], strokeDash=[6, 3])
            .encode(x=alt.X(f"{ex}:Q", scale=alt.Scale(zero=False)), y=alt.Y(f"{ey}:Q", scale=y_scale))
        )
        drawn.append("the expected outcome for each level of spend at average need (dashed line)")
    elif expected:
        layers.append(
            base.mark_point(shape="circle", filled=False, color=PALETTE["benchmark"], size=30, opacity=0.6).encode(
                y=alt.Y(f"{expected}:Q", scale=y_scale), tooltip=tips
            )
        )
        drawn.append("each area's expected outcome given its spend and need (open circles)")
    layers.append(
        base.mark_circle(size=55, opacity=0.85).encode(
            y=alt.Y(f"{y}:Q", title=y_title, scale=y_scale), color=colour, tooltip=tips
        )
    )
    if efficient:
        layers.append(
            base.transform_filter(f"datum['{efficient}'] === true")
            .mark_point(shape="diamond", filled=False, size=140, color=PALETTE["better"], strokeWidth=1.5)
            .encode(y=f"{y}:Q", tooltip=tips)
        )
        drawn.append("efficient areas (diamonds)")

    n = data.height
    name = indicator.title if indicator is not None else y
    parts = [f"Spend against outcome for {plural(n, 'area')}: {name} by {x_title}."]
    if drawn:
        parts.append(f"The chart shows {join_words(drawn)}.")
    if efficient:
        k = data.filter(pl.col(efficient).fill_null(False)).height
        parts.append(f"{plural(k, 'area')} {'is' if k == 1 else 'are'} on the efficient frontier.")
    if category:
        parts.append(f"Against expected: {counts_sentence(data, category)}.")
    chart = alt.layer(*layers).properties(
        width=width,
        height=height,
        title=chart_title(
            indicator,
            f"Spend against {y}",
            subtitle or "value for money: up and to the left is more for less"
            if polarity != "lower_is_better"
            else "value for money: down and to the left is more for less",
            group=group,
        ),
    )
    return finish(chart, kind="frontier", description=" ".join(parts), indicator=indicator, extra={"areas": n})
