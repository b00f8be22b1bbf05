"""A country among other countries: every country's value with its 95% interval, the focal
country highlighted, each other country coloured by how it compares, and the average.

The comparisons come from :func:`publicservices.stats.compare_countries`; this module draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import chart_title, finish, inline, value_label, vega
from publicservices.display import PALETTE, plural
from publicservices.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["country_chart"]

_Z95 = 1.959963984540054
_COLOURS = {
    "better": PALETTE["better"],
    "worse": PALETTE["worse"],
    "higher": PALETTE["higher"],
    "lower": PALETTE["lower"],
    "not distinguishable": PALETTE["similar"],
}


def country_chart(frame: pl.DataFrame, *, indicator: Indicator | None = None, width: int = 460) -> alt.LayerChart:
    """Dot-and-whisker chart of one indicator and period from ``compare_countries``.

    Countries are sorted by value (best at the top when the indicator has a direction); the focal
    country is black; the others are coloured by whether the focal country is better, worse or
    not distinguishable from them (the difference's interval, not the overlap of the two
    intervals drawn, decides); the dashed line is the average of the countries.

    Example:
        >>> import polars as pl
        >>> from publicservices.stats import compare_countries
        >>> v = pl.DataFrame({"indicator_id": ["x"] * 3, "area_code": ["A", "B", "C"], "period": ["2022"] * 3,
        ...                   "value": [500.0, 490.0, 499.0], "standard_error": [3.0, 4.0, 3.0]})
        >>> country_chart(compare_countries(v, "A")).to_dict()["description"][:40]
        'A among 3 countries, 2022: 1 higher than'
    """
    alt = vega()

    if frame.select(pl.struct("indicator_id", "period").n_unique()).item() != 1:
        raise DataError(
            "country_chart draws one indicator and period.\nFix: filter the frame to one first, or use "
            "InternationalResult.chart(indicator=..., period=...)."
        )
    label = "versus_name" if "versus_name" in frame.columns else "versus"
    focal_label = frame.get_column("country_name")[0] if "country_name" in frame.columns else frame.get_column("country")[0]
    others = frame.filter(pl.col("versus") != "average")
    first = frame.row(0, named=True)
    rows = pl.concat(
        [
            others.select(
                pl.col(label).cast(pl.String).alias("country"),
                pl.col("versus_value").alias("value"),
                pl.col("versus_standard_error").alias("se"),
                pl.col("comparison").alias("against"),
            ),
            pl.DataFrame(
                {
                    "country": [str(focal_label)],
                    "value": [first["value"]],
                    "se": [first["standard_error"]],
                    "against": ["the country compared"],
                }
            ),
        ],
        how="vertical_relaxed",
    ).with_columns((pl.col("value") - _Z95 * pl.col("se")).alias("lower"), (pl.col("value") + _Z95 * pl.col("se")).alias("upper"))
    polarity = getattr(indicator, "polarity", "no_judgement")
    rows = rows.sort("value", descending=polarity != "lower_is_better")
    order = rows.get_column("country").to_list()
    words = [w for w in _COLOURS if w in set(rows.get_column("against").to_list())]
    colour = alt.Color(
        "against:N",
        title=f"{focal_label} is",
        legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(domain=[*words, "the country compared"], range=[*(_COLOURS[w] for w in words), "#000000"]),
    )
    y = alt.Y("country:N", sort=order, title=None)
    axis_title = value_label(indicator)
    base = alt.Chart(inline(rows, ["country", "value", "lower", "upper", "against"])).encode(y=y)
    tips = [
        alt.Tooltip("country:N"),
        alt.Tooltip("value:Q", format=",.1f", title=axis_title),
        alt.Tooltip("lower:Q", format=",.1f", title="95% lower"),
        alt.Tooltip("upper:Q", format=",.1f", title="95% upper"),
        alt.Tooltip("against:N", title=f"{focal_label} is"),
    ]
    whiskers = base.mark_rule().encode(
        x=alt.X("lower:Q", title=axis_title, scale=alt.Scale(zero=False)), x2="upper:Q", color=colour
    )
    dots = base.mark_circle(size=60, opacity=1).encode(x="value:Q", color=colour, tooltip=tips)
    average = frame.filter(pl.col("versus") == "average")
    layers: list[Any] = [whiskers, dots]
    if average.height:
        layers.append(
            alt.Chart(inline(average.select(pl.col("versus_value").alias("average")), ["average"]))
            .mark_rule(strokeDash=[4, 3], color=PALETTE["similar"])
            .encode(x="average:Q")
        )
    counts = others.get_column("comparison").value_counts(sort=True)
    said = ", ".join(
        f"{n} {w} than" if w != "not distinguishable" else f"{n} not distinguishable from" for w, n in counts.iter_rows()
    )
    n = rows.height
    description = (
        f"{focal_label} among {plural(n, 'country', 'countries')}, {first['period']}: {said} the others"
        + (
            f"; rank {first['rank']} of {first['n_countries']} (95% confidence set {first['rank_lower']} to "
            f"{first['rank_upper']})"
            if first.get("rank") is not None
            else ""
        )
        + "."
    )
    chart = alt.layer(*layers).properties(
        width=width,
        height=max(120, 14 * n),
        title=chart_title(
            indicator,
            "International comparison",
            f"{focal_label} against {plural(n - 1, 'other country', 'other countries')}; "
            "lines are 95% intervals, the dashed line the average",
        ),
    )
    return finish(chart, kind="international", description=description, indicator=indicator, extra={"countries": n})
