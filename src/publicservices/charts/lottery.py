"""The postcode lottery at a glance: how much areas truly differ, indicator by indicator.

The true coefficient of variation (the between-area standard deviation beyond sampling
noise, tau, over the overall value of the areas compared) with its Q-profile interval comes from
:func:`publicservices.stats.assess_fairness`; this module draws it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from publicservices.charts._common import finish, inline, require, vega
from publicservices.display import PALETTE, plural
from publicservices.keys import group_label, varying_keys

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["lottery_chart"]


def lottery_chart(
    frame: pl.DataFrame,
    indicators: Mapping[str, Indicator] | None = None,
    *,
    period: str | None = None,
    same_indicator: Mapping[str, str] | None = None,
    width: int = 420,
) -> alt.LayerChart:
    """Dot-and-interval chart of the true spread between areas for each indicator.

    Method: one row per indicator (its latest period, or ``period``): the true coefficient
    of variation ``true_cv`` (tau / overall value, DerSimonian-Laird) as a percentage of the
    overall value of the areas compared, with its 95% interval, shaded by I² (the share of the observed variation
    that is real rather than noise). Widest spread at the top. With several comparable sets
    or breakdowns (sex, age, category) each group is its own row, named after the indicator.

    Parameters:
        frame: fairness output: ``indicator_id``, ``period``, ``true_cv``,
            ``true_cv_lower_95``, ``true_cv_upper_95`` and optionally ``i2``.
        indicators: mapping id -> Indicator for titles.
        period: the period to show (default each indicator's latest).
        same_indicator: mapping row id -> the indicator it compares, for ids that are one
            indicator compared in another set of areas (a site's comparison pages), so the
            description counts that indicator once.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"indicator_id": ["a.x", "a.y"], "period": ["1", "1"], "true_cv": [0.2, 0.05],
        ...                   "true_cv_lower_95": [0.15, 0.0], "true_cv_upper_95": [0.25, 0.1], "i2": [0.9, 0.3]})
        >>> lottery_chart(f).to_dict()["description"][:60]
        'The postcode lottery across 2 indicators: the true spread be'
    """
    alt = vega()

    require(frame, ["indicator_id", "true_cv"], "lottery_chart", "pass the output of publicservices.stats.assess_fairness.")
    data = frame
    if period is not None and "period" in data.columns:
        data = data.filter(pl.col("period") == period)
    elif "period_start" in data.columns:
        data = data.filter(pl.col("period_start") == pl.col("period_start").max().over("indicator_id"))
    titles = {i: d.title for i, d in (indicators or {}).items()}
    # a key goes into a row's name only where it tells one indicator's rows apart (a site's
    # comparison pages already carry their set in the indicator's title)
    groups = [k for k in varying_keys(data) if data.group_by("indicator_id").agg(pl.col(k).n_unique() > 1).get_column(k).any()]
    title = pl.col("indicator_id").replace_strict(titles, default=pl.col("indicator_id"), return_dtype=pl.String)
    if groups:  # one row per indicator x group: the group goes into the row's name
        title = (
            title
            + pl.lit(" (")
            + pl.struct(groups).map_elements(lambda r: group_label(r, groups), return_dtype=pl.String)
            + pl.lit(")")
        )
    data = (
        data.filter(pl.col("true_cv").is_not_null())
        .with_columns(
            title.alias("_title"),
            (pl.col("true_cv") * 100).alias("_cv"),
            *[
                (pl.col(c) * 100).alias(f"_{side}")
                for c, side in (("true_cv_lower_95", "lo"), ("true_cv_upper_95", "hi"))
                if c in data.columns
            ],
            *([(pl.col("i2") * 100).alias("_i2")] if "i2" in data.columns else []),
        )
        .sort("_cv", descending=True)
    )
    order = data.get_column("_title").to_list()
    has_ci = "_lo" in data.columns and "_hi" in data.columns
    columns = [
        "_title",
        "_cv",
        *(["_lo", "_hi"] if has_ci else []),
        *(["_i2"] if "_i2" in data.columns else []),
        *(["period"] if "period" in data.columns else []),
    ]
    y = alt.Y("_title:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    x_title = "true spread between areas (% of the overall value)"
    tips = [alt.Tooltip("_title:N", title="indicator"), alt.Tooltip("_cv:Q", title="true spread ±%", format=".1f")]
    if has_ci:
        tips += [alt.Tooltip("_lo:Q", title="lower 95%", format=".1f"), alt.Tooltip("_hi:Q", title="upper 95%", format=".1f")]
    if "_i2" in data.columns:
        tips.append(alt.Tooltip("_i2:Q", title="share of variation that is real (I², %)", format=".0f"))
    if "period" in data.columns:
        tips.append(alt.Tooltip("period:N", title="period"))
    base = alt.Chart(inline(data, columns)).encode(y=y)
    layers = []
    if has_ci:
        layers.append(
            base.mark_rule(color=PALETTE["benchmark"], strokeWidth=2).encode(
                x=alt.X("_lo:Q", title=x_title, scale=alt.Scale(zero=True)), x2="_hi:Q", tooltip=tips
            )
        )
    colour = (
        alt.Color(
            "_i2:Q",
            title="real share (I², %)",
            scale=alt.Scale(scheme="blues", domain=[0, 100]),
            legend=alt.Legend(orient="bottom"),
        )
        if "_i2" in data.columns
        else alt.value(PALETTE["neutral"])
    )
    layers.append(
        base.mark_point(filled=True, size=90, stroke=PALETTE["neutral"], strokeWidth=1, opacity=1).encode(
            x=alt.X("_cv:Q", title=x_title, scale=alt.Scale(zero=True)), color=colour, tooltip=tips
        )
    )
    n = data.height
    # several rows of one indicator (sets of areas, breakdowns) must not be counted as indicators
    ids = data.get_column("indicator_id")
    n_indicators = (ids.replace(dict(same_indicator)) if same_indicator else ids).n_unique()
    across = plural(n, "indicator") if n == n_indicators else f"{n} comparisons of {plural(n_indicators, 'indicator')}"
    parts = [
        f"The postcode lottery across {across}: the true spread between areas beyond chance, "
        "as a percentage of the overall value of the areas compared, with 95% intervals."
    ]
    if n:
        top, bottom = data.row(0, named=True), data.row(n - 1, named=True)
        parts.append(f"Widest: {top['_title']} (±{top['_cv']:.1f}% of the overall value).")
        if n > 1:
            parts.append(f"Narrowest: {bottom['_title']} (±{bottom['_cv']:.1f}% of the overall value).")
    chart = alt.layer(*layers).properties(
        width=width,
        height=max(60, 28 * n),
        title=alt.TitleParams(
            "The postcode lottery", subtitle=["how much areas truly differ, beyond the noise of small numbers"], anchor="start"
        ),
    )
    return finish(chart, kind="lottery", description=" ".join(parts), extra={"indicators": n})
