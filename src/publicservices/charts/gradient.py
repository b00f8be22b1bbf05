"""Deprivation gradient: values by deprivation decile with the slope index of inequality.

Sign convention as ``publicservices.stats.fairness.gradient`` (PHE's): decile 1 is the most deprived,
the x axis (the ridit, cumulative population share) runs from 0 = most deprived to 1 = least
deprived, and the SII is the fitted difference between the two ends (Low & Low 2004,
J Public Health 26:388). The SII comes from the statistics; this module draws it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import (
    chart_title,
    finish,
    first_present,
    fmt_gap,
    inline,
    polarity_of,
    require,
    value_label,
    vega,
)
from publicservices.display import PALETTE, format_interval

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["gradient_chart"]


def gradient_chart(
    quantiles: pl.DataFrame,
    *,
    indicator: Indicator | None = None,
    sii: float | None = None,
    sii_lower: float | None = None,
    sii_upper: float | None = None,
    intercept: float | None = None,
    quantile: str | None = None,
    value: str = "value",
    lower: str | None = None,
    upper: str | None = None,
    population: str | None = None,
    subtitle: str | None = None,
    width: int = 480,
    height: int = 300,
) -> alt.LayerChart:
    """Values by deprivation quantile (most deprived on the left) with the SII line.

    Method: each quantile is a point at the middle of its cumulative population share (its
    ridit; equal shares when no population is given) with its 95% interval. The SII line
    runs from x = 0 to x = 1 with slope ``sii``; its height is ``intercept`` (the fitted
    value at x = 0) when given, otherwise it passes through the population-weighted mean of
    the quantile values at x = 0.5, where an ordinary weighted least-squares line on the
    ridit passes (exact for an SII fitted on the value scale; PHE's log and logit fits are
    drawn by the same straight chord).

    Parameters:
        quantiles: one row per deprivation quantile: the quantile number (``quantile``,
            ``decile`` or ``quintile``; 1 = most deprived), ``value``, optional
            ``lower_95``/``upper_95`` and population (``population`` or ``weight``).
        sii, sii_lower, sii_upper: the slope index of inequality and its interval.
        intercept: the fitted value at the most deprived end (x = 0).

    Example:
        >>> import polars as pl
        >>> q = pl.DataFrame({"decile": range(1, 11), "value": [60.0 + 2 * i for i in range(10)]})
        >>> gradient_chart(q, sii=20.0).to_dict()["description"][:38]
        'Deprivation gradient in value across 1'
    """
    alt = vega()

    quantile = quantile or first_present(quantiles, ("quantile", "decile", "quintile", "deprivation_decile")) or "quantile"
    require(quantiles, [quantile], "gradient_chart", "pass one row per deprivation quantile (1 = most deprived).")
    require(quantiles, [quantile, value], "gradient_chart", "pass one row per deprivation quantile with a value.")
    lower = lower or first_present(quantiles, ("lower_95", "lower"))
    upper = upper or first_present(quantiles, ("upper_95", "upper"))
    population = population or first_present(quantiles, ("population", "weight", "denominator"))
    data = quantiles.sort(quantile)
    n = data.height
    if population:
        share = pl.col(population).cast(pl.Float64) / pl.col(population).cast(pl.Float64).sum()
        data = data.with_columns((share.cum_sum() - share / 2).alias("_x"))
    else:
        data = data.with_columns(((pl.int_range(1, pl.len() + 1) - 0.5) / pl.len()).alias("_x"))
    data = data.with_columns(pl.col(quantile).cast(pl.String).alias("_q"))
    y_title = value_label(indicator)
    scale_x = alt.Scale(domain=[0, 1], nice=False)
    x = alt.X("_x:Q", title="deprivation: most deprived (0) to least deprived (1)", scale=scale_x, axis=alt.Axis(format=".1f"))
    tips = [alt.Tooltip("_q:N", title="quantile (1 = most deprived)"), alt.Tooltip(f"{value}:Q", title=y_title, format=",.3~f")]
    if lower and upper:
        tips += [
            alt.Tooltip(f"{lower}:Q", title="lower 95%", format=",.3~f"),
            alt.Tooltip(f"{upper}:Q", title="upper 95%", format=",.3~f"),
        ]
    base = alt.Chart(inline(data, ["_x", "_q", value, lower, upper] if lower and upper else ["_x", "_q", value])).encode(x=x)
    layers: list[Any] = []
    if lower and upper:
        layers.append(
            base.mark_rule(color=PALETTE["benchmark"]).encode(
                y=alt.Y(f"{lower}:Q", title=y_title, scale=alt.Scale(zero=False)), y2=f"{upper}:Q", tooltip=tips
            )
        )
    layers.append(
        base.mark_point(filled=True, size=70, color=PALETTE["neutral"], opacity=1).encode(
            y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)), tooltip=tips
        )
    )
    parts = []
    name = indicator.title if indicator is not None else value
    parts.append(f"Deprivation gradient in {name} across {n} deprivation quantiles, most deprived on the left.")
    if sii is not None:
        if intercept is None:
            w = pl.col(population).cast(pl.Float64) if population else pl.lit(1.0)
            mean = data.select((w * pl.col(value)).sum() / w.filter(pl.col(value).is_not_null()).sum()).item()
            intercept = mean - 0.5 * sii
        line = pl.DataFrame({"_x": [0.0, 1.0], "_fit": [intercept, intercept + sii]})
        polarity = polarity_of(quantiles, indicator)
        # The line is coloured by what the slope means: worse outcomes in deprived areas are the
        # inequality, whichever direction "better" runs.
        unequal = (polarity == "higher_is_better" and sii > 0) or (polarity == "lower_is_better" and sii < 0)
        colour = PALETTE["worse"] if unequal else PALETTE["better"] if polarity != "no_judgement" else PALETTE["higher"]
        layers.insert(
            0,
            alt.Chart(inline(line, ["_x", "_fit"]))
            .mark_line(color=colour, strokeWidth=2, strokeDash=[6, 3])
            .encode(
                x=alt.X("_x:Q", scale=scale_x), y="_fit:Q", tooltip=[alt.Tooltip("_fit:Q", title="SII line", format=",.3~f")]
            ),
        )
        ci = f" (95% interval {format_interval(sii_lower, sii_upper)})" if sii_lower is not None and sii_upper is not None else ""
        direction = "higher" if sii > 0 else "lower"
        parts.append(
            f"The slope index of inequality is {fmt_gap(sii, indicator)}{ci}: across the whole range of deprivation, "
            f"values are {fmt_gap(abs(sii), indicator)} {direction} in the least deprived areas than in the most deprived."
        )
    chart = alt.layer(*layers).properties(
        width=width,
        height=height,
        title=chart_title(
            indicator,
            f"Deprivation gradient in {value}",
            subtitle or "points: deprivation quantiles with 95% intervals; dashed: slope index of inequality",
        ),
    )
    return finish(chart, kind="gradient", description=" ".join(parts), indicator=indicator)
