"""Report card grades: a letter per area, the domain scores behind it, and how stable it is.

Grades come from :func:`publicservices.stats.build_report_cards` (in the manner of
New York City's school progress reports); this module draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.charts._common import area_labels, finish, inline, one_group, require, vega
from publicservices.display import join_words, plural

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

__all__ = ["report_card_chart", "GRADE_COLOURS"]

# A (best) to F (worst): the better/worse blues and oranges with grey in the middle, and a
# text colour with enough contrast on each fill.
GRADE_COLOURS: dict[str, tuple[str, str]] = {
    "A": ("#0072B2", "white"),
    "B": ("#56B4E9", "black"),
    "C": ("#C8C8C8", "black"),
    "D": ("#E69F00", "black"),
    "E": ("#E07B39", "black"),
    "F": ("#D55E00", "white"),
}


def report_card_chart(
    frame: pl.DataFrame,
    *,
    grade: str = "grade",
    label: str = "area_name",
    title: str = "Report card grades",
    subtitle: str | None = None,
    max_labels: int = 60,
    cell: int = 40,
) -> alt.HConcatChart | alt.LayerChart:
    """Report cards: domain scores (0-100) across, then the overall letter grade.

    Method: areas run down in order of overall score (best first). Each ``score_<domain>``
    column is a cell shaded by the score; the last column is the overall grade, coloured from
    A (blue) through C (grey) to F (vermillion). With ``p_grade_change`` (the share of
    simulations that gave a different grade: domain weights moved by up to +/-20% and, when
    ``p_grade_change_noise`` is there, values drawn from their intervals or counts) an
    unstable grade is drawn paler and the tooltip gives the range of grades seen
    (``grade_best`` to ``grade_worst``) and, with noise, the two parts of the change. With more than ``max_labels`` areas the numbers,
    letters and names leave the grid (they stay in the tooltips).

    Parameters:
        frame: one row per area: ``grade``, optional ``score`` and ``score_<domain>`` columns,
            ``p_grade_change``, ``grade_best``, ``grade_worst``, ``area_name``.
        grade: the grade column.
        label: column naming each area (falls back to ``area_code``).

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"area_code": ["A", "B"], "grade": ["A", "C"], "score": [90.0, 40.0],
        ...                   "score_progress": [95.0, 30.0], "p_grade_change": [0.0, 0.3]})
        >>> report_card_chart(f).to_dict()["description"]
        'Report card grades for 2 areas from 1 domain (progress). Overall grades: 1 A and 1 C. 1 area changes grade in more than 20% of simulations with the domain weights moved by up to ±20%.'
    """
    alt = vega()

    require(frame, [grade], "report_card_chart", "pass one row per area with a grade column (A to F).")
    group = one_group(frame, "report_card_chart")
    if group:
        title = f"{title} ({group})"
    data = area_labels(frame, label).with_columns(pl.col(grade).cast(pl.String).alias("_grade"))
    sort_by = ["score"] if "score" in data.columns else ["_grade"]
    data = data.sort(sort_by, descending=sort_by == ["score"], nulls_last=True)
    order = data.get_column("_label").to_list()
    n = len(order)
    many = n > max_labels
    domains = [c for c in data.columns if c.startswith("score_")]
    stable = "p_grade_change" in data.columns
    noisy = (
        stable and "p_grade_change_noise" in data.columns and data.get_column("p_grade_change_noise").null_count() < data.height
    )
    moved = (
        "the values drawn from their intervals or counts and the domain weights moved by up to ±20%"
        if noisy
        else "the domain weights moved by up to ±20%"
    )
    if stable:
        data = data.with_columns((1 - pl.col("p_grade_change")).alias("_holds"))
    has_range = "grade_best" in data.columns and "grade_worst" in data.columns
    if has_range:
        data = data.with_columns(
            pl.when(pl.col("grade_best").cast(pl.String) == pl.col("grade_worst").cast(pl.String))
            .then(pl.col("grade_best").cast(pl.String))
            .otherwise(pl.col("grade_best").cast(pl.String) + "–" + pl.col("grade_worst").cast(pl.String))
            .alias("_range")
        )
    y = alt.Y("_label:N", sort=order, title=None, axis=None if many else alt.Axis(labelLimit=220))
    height = 4 * n if many else 22 * n
    tips_common = [alt.Tooltip("_label:N", title="area"), alt.Tooltip("_grade:N", title="grade")]
    if stable:
        tips_common.append(alt.Tooltip("_holds:Q", title="grade holds in", format=".0%"))
    if noisy:
        tips_common.append(alt.Tooltip("p_grade_change_noise:Q", title="changes from sampling noise", format=".0%"))
        if "p_grade_change_weights" in data.columns:
            tips_common.append(alt.Tooltip("p_grade_change_weights:Q", title="changes from the weights", format=".0%"))
    if has_range:
        tips_common.append(
            alt.Tooltip(
                "_range:N", title="grades seen with noise and weights moved" if noisy else "grades seen with weights moved"
            )
        )

    letters = [g for g in GRADE_COLOURS if g in set(data.get_column("_grade").drop_nulls().to_list())]
    letters += sorted(set(data.get_column("_grade").drop_nulls().to_list()) - set(letters))
    fills = [GRADE_COLOURS.get(g, ("#999999", "black"))[0] for g in letters]
    inks = [GRADE_COLOURS.get(g, ("#999999", "black"))[1] for g in letters]

    parts = ["p_grade_change_noise", *(["p_grade_change_weights"] if "p_grade_change_weights" in data.columns else [])]
    columns = [
        "_label",
        "_grade",
        *(["_holds"] if stable else []),
        *(parts if noisy else []),
        *(["_range"] if has_range else []),
        *(["score"] if "score" in data.columns else []),
    ]
    grade_source = inline(data, columns)
    opacity: Any = (
        alt.Opacity("_holds:Q", scale=alt.Scale(domain=[0.5, 1], range=[0.35, 1], clamp=True), legend=None)
        if stable
        else alt.value(1)
    )

    def grades_panel(y_enc: Any) -> Any:
        base = (
            alt.Chart(grade_source)
            .transform_calculate(_grade_col="'grade'")
            .encode(x=alt.X("_grade_col:N", title=None, axis=alt.Axis(orient="top", labelAngle=0)), y=y_enc)
        )
        layers = [
            base.mark_rect(stroke="white", strokeWidth=1).encode(
                color=alt.Color(
                    "_grade:N", scale=alt.Scale(domain=letters, range=fills), legend=alt.Legend(title="grade", orient="right")
                ),
                opacity=opacity,
                tooltip=tips_common,
            )
        ]
        if not many:
            # The letters' colours are their own scale: dark ink on light fills, white on dark.
            layers.append(
                base.mark_text(fontWeight="bold", fontSize=13).encode(
                    text="_grade:N",
                    color=alt.Color("_grade:N", scale=alt.Scale(domain=letters, range=inks), legend=None),
                    tooltip=tips_common,
                )
            )
        return alt.layer(*layers).resolve_scale(color="independent").properties(width=cell, height=height)

    chart: Any = grades_panel(y)
    if domains:
        long = (
            data.select("_label", *domains)
            .unpivot(index="_label", variable_name="_domain", value_name="_score")
            .with_columns(pl.col("_domain").str.strip_prefix("score_").str.replace_all("_", " "))
        )
        names = [d.removeprefix("score_").replace("_", " ") for d in domains]
        base = alt.Chart(inline(long, ["_label", "_domain", "_score"])).encode(
            x=alt.X("_domain:N", sort=names, title=None, axis=alt.Axis(orient="top", labelAngle=0)), y=y
        )
        tips = [
            alt.Tooltip("_label:N", title="area"),
            alt.Tooltip("_domain:N", title="domain"),
            alt.Tooltip("_score:Q", title="score (0-100)", format=".0f"),
        ]
        domain_layers = [
            base.mark_rect(stroke="white", strokeWidth=1).encode(
                color=alt.Color(
                    "_score:Q",
                    scale=alt.Scale(scheme="greys", domain=[0, 100]),
                    legend=alt.Legend(title="domain score", orient="bottom"),
                ),
                tooltip=tips,
            )
        ]
        if not many:
            domain_layers.append(
                base.mark_text(fontSize=11).encode(
                    text=alt.Text("_score:Q", format=".0f"),
                    color=alt.condition("datum._score > 60", alt.value("white"), alt.value("black")),
                    tooltip=tips,
                )
            )
        chart = alt.hconcat(
            alt.layer(*domain_layers).properties(width=cell * len(domains), height=height),
            grades_panel(alt.Y("_label:N", sort=order, axis=None)),
            spacing=4,
        ).resolve_scale(color="independent")
    counts = data.get_column("_grade").drop_nulls().value_counts()
    found = dict(counts.rows())
    summary = join_words([f"{found[g]} {g}" for g in letters if g in found])
    names = [d.removeprefix("score_").replace("_", " ") for d in domains]
    description = f"{title} for {plural(n, 'area')}"
    if names:
        description += f" from {plural(len(names), 'domain')} ({', '.join(names)})"
    description += f". Overall grades: {summary or 'none'}."
    if stable:
        unstable = data.filter(pl.col("p_grade_change") > 0.2).height
        description += (
            f" {plural(unstable, 'area')} {'changes' if unstable == 1 else 'change'} grade in more than 20% of "
            f"simulations with {moved}."
        )
    default_subtitle = (
        "best first; paler grades change with sampling noise or when the weights move"
        if noisy
        else "best first; paler grades change when the weights move"
    )
    chart = chart.properties(title=alt.TitleParams(title, subtitle=[subtitle or default_subtitle], anchor="start"))
    return finish(chart, kind="report_card", description=description, extra={"areas": n})
