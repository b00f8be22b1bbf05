"""Trend: one area's values over time with their confidence band, SPC limits and signals.

The SPC layer follows NHS England's "Making Data Count" XmR charts: a centre line, process
limits at 2.66 mean moving ranges, and special-cause points marked improvement or concern by
polarity. The columns come from :func:`publicservices.stats.xmr`; this module draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import chart_title, finish, first_present, fmt, inline, one_group, require, value_label, vega
from publicservices.display import PALETTE, format_interval, plural

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

__all__ = ["trend_chart"]

_VARIATION = {
    "improvement": PALETTE["better"],
    "concern": PALETTE["worse"],
    "neither": "#7B5EA7",  # special cause on an indicator without polarity
    "common cause": PALETTE["similar"],
}


def trend_chart(
    frame: pl.DataFrame,
    *,
    indicator: Indicator | None = None,
    area_name: str | None = None,
    value: str = "value",
    lower: str | None = None,
    upper: str | None = None,
    spc: bool | None = None,
    benchmark: str | None = "benchmark_value",
    subtitle: str | None = None,
    width: int = 520,
    height: int = 300,
) -> alt.LayerChart:
    """Trend with confidence band, benchmark, SPC centre line, process limits and signals.

    Method: values are drawn in period order (``period_start``) with their 95% interval as a
    band; the x axis is labelled with the period labels themselves (``2019``, ``2019/20``,
    ``2024 Q1``), each once. When the frame carries XmR columns (``centre``,
    ``lower_limit``, ``upper_limit``, ``variation`` from :func:`publicservices.stats.xmr`)
    the centre line and process
    limits are drawn and points are coloured by special-cause variation: improvement (blue),
    concern (vermillion), neither (purple, no polarity) or common cause (grey).

    Parameters:
        frame: one series: rows for one indicator and one area (and breakdown), each with
            ``period``, ``period_start``, ``value`` and ``lower_95``/``upper_95``.
        indicator: for title, unit and polarity.
        area_name: named in the title and description.
        spc: draw the SPC layer (default: when its columns are present).
        benchmark: column with the benchmark per period, drawn as a dotted line (None: none).

    Example:
        >>> import polars as pl, datetime as dt
        >>> f = pl.DataFrame({"period": ["2021", "2022", "2023"],
        ...     "period_start": [dt.date(2021, 1, 1), dt.date(2022, 1, 1), dt.date(2023, 1, 1)],
        ...     "value": [10.0, 11.0, 12.5], "lower_95": [9.0, 10.0, 11.0], "upper_95": [11.0, 12.0, 14.0]})
        >>> trend_chart(f, area_name="Anytown").to_dict()["description"][:44]
        'Trend in value for Anytown, 2021 to 2023: 3 '
    """
    alt = vega()

    require(frame, ["period", value], "trend_chart", "pass one indicator x area series with period and value columns.")
    keys = [c for c in ("indicator_id", "area_code") if c in frame.columns]
    if keys and frame.select(keys).n_unique() > 1:
        from publicservices.errors import DataError

        raise DataError(
            f"trend_chart draws one series but the frame holds {frame.select(keys).n_unique()} "
            f"({' x '.join(keys)} combinations).\nFix: filter to one indicator and one area first."
        )
    group = one_group(frame, "trend_chart")
    order = "period_start" if "period_start" in frame.columns else "period"
    # x is the period labels themselves ("2019", "2019/20", "2024 Q1"), each once, in time order:
    # a time axis would label "2019/20" as 2019 and repeat years between few periods
    data = frame.sort(order).with_columns(pl.col("period").cast(pl.String))
    periods = list(dict.fromkeys(data.get_column("period").to_list()))
    lower = lower or first_present(data, ("lower_95", "lower"))
    upper = upper or first_present(data, ("upper_95", "upper"))
    has_spc = all(c in data.columns for c in ("centre", "lower_limit", "upper_limit"))
    spc = has_spc if spc is None else spc and has_spc
    benchmark = benchmark if benchmark and benchmark in data.columns and data.get_column(benchmark).drop_nulls().len() else None
    variation = "variation" if spc and "variation" in data.columns else None
    if variation:
        data = data.with_columns(pl.col(variation).fill_null("common cause"))
    columns = ["period", value, lower, upper, benchmark, *(("centre", "lower_limit", "upper_limit") if spc else ()), variation]
    source = inline(data, [c for c in columns if c])
    y_title = value_label(indicator)
    x = alt.X("period:O", sort=periods, title=None, axis=alt.Axis(labelAngle=0 if len(periods) <= 8 else -40))
    base = alt.Chart(source).encode(x=x)
    tooltips = [alt.Tooltip("period:N", title="period"), alt.Tooltip(f"{value}:Q", title=y_title, format=",.3~f")]
    if lower and upper:
        tooltips += [
            alt.Tooltip(f"{lower}:Q", title="lower 95%", format=",.3~f"),
            alt.Tooltip(f"{upper}:Q", title="upper 95%", format=",.3~f"),
        ]
    if variation:
        tooltips.append(alt.Tooltip(f"{variation}:N", title="SPC"))
    layers: list[Any] = []
    if lower and upper:
        layers.append(
            base.mark_area(opacity=0.18, color=PALETTE["neutral"]).encode(
                y=alt.Y(f"{lower}:Q", title=y_title, scale=alt.Scale(zero=False)), y2=f"{upper}:Q"
            )
        )
    if spc:
        layers.append(base.mark_line(color=PALETTE["benchmark"], strokeWidth=1).encode(y="centre:Q"))
        for limit in ("lower_limit", "upper_limit"):
            layers.append(
                base.mark_line(color=PALETTE["benchmark"], strokeWidth=1, strokeDash=[5, 3]).encode(
                    y=f"{limit}:Q",
                    tooltip=[alt.Tooltip(f"{limit}:Q", title=limit.replace("_", " ") + " (process)", format=",.3~f")],
                )
            )
    if benchmark:
        layers.append(
            base.mark_line(color=PALETTE["benchmark"], strokeWidth=1.5, strokeDash=[1, 3]).encode(
                y=f"{benchmark}:Q", tooltip=[alt.Tooltip(f"{benchmark}:Q", title="benchmark", format=",.3~f")]
            )
        )
    layers.append(
        base.mark_line(color=PALETTE["neutral"], strokeWidth=2).encode(
            y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False))
        )
    )
    if variation:
        found = [w for w in _VARIATION if w in set(data.get_column(variation).to_list())]
        colour: Any = alt.Color(
            f"{variation}:N",
            scale=alt.Scale(domain=found, range=[_VARIATION[w] for w in found]),
            legend=alt.Legend(title="SPC variation", orient="bottom"),
        )
    else:
        colour = alt.value(PALETTE["neutral"])
    layers.append(base.mark_point(filled=True, size=55, opacity=1).encode(y=f"{value}:Q", color=colour, tooltip=tooltips))

    who = area_name or (str(data.get_column("area_code")[0]) if "area_code" in data.columns and data.height else "")
    name = indicator.title if indicator is not None else value
    span = f"{periods[0]} to {periods[-1]}" if periods else "no periods"
    parts = [f"Trend in {name}{' for ' + who if who else ''}, {span}: {plural(data.height, 'period')}."]
    last = data.filter(pl.col(value).is_not_null()).tail(1)
    if last.height:
        row = last.row(0, named=True)
        ci = f" (95% interval {format_interval(row.get(lower or ''), row.get(upper or ''))})" if lower and upper else ""
        parts.append(f"Latest value {fmt(row[value], indicator)} in {row['period']}{ci}.")
        if row.get("recent_trend"):
            parts.append(f"Recent trend: {str(row['recent_trend']).lower()}.")
    if variation:
        # most first, ties by name: the same words on every build
        counts = data.get_column(variation).value_counts().sort(["count", variation], descending=[True, False])
        found_counts = dict(zip(counts.get_column(variation).to_list(), counts.get_column("count").to_list(), strict=True))
        special = {k: v for k, v in found_counts.items() if k != "common cause"}
        if special:
            parts.append(
                "Special-cause variation: " + ", ".join(f"{v} point{'s' * (v != 1)} of {k}" for k, v in special.items()) + "."
            )
        else:
            parts.append("Only common-cause variation: no SPC rule is broken.")
    chart = alt.layer(*layers).properties(
        width=width,
        height=height,
        title=chart_title(
            indicator,
            f"Trend in {value}",
            [
                who,
                subtitle
                or "; ".join(
                    [
                        "band: 95% interval",
                        *(["dotted: benchmark"] if benchmark else []),
                        *(["solid grey: SPC mean", "dashed: process limits"] if spc else []),
                    ]
                ),
            ],
            group=group,
        ),
    )
    return finish(chart, kind="trend", description=" ".join(parts), indicator=indicator)
