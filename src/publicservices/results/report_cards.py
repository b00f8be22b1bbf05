"""Report cards: letter grades from weighted domains, with grade stability."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import Column, join_words, plural
from publicservices.results._base import Result, _counts, _indicator_map, _unpack, _with_names

__all__ = ["ReportCardResult", "grade_areas"]



class ReportCardResult(Result):
    """Letter grades A-F from weighted domains, with how stable each grade is to the weights.

    ``.frame`` is :func:`publicservices.stats.report_cards.report_cards` output
    (``score_<domain>``, ``score``, ``grade``, ``p_grade_change``, ``grade_best``,
    ``grade_worst``). Chart: ``grades``.
    """

    kind = "report_cards"
    title = "Report cards"
    default_chart = "grades"

    def sentences(self) -> list[str]:
        f = self._frame
        counts = _counts(f, "grade")
        if not counts:
            return ["No grades."]
        order = [g for g in ("A", "B", "C", "D", "E", "F") if g in counts] + sorted(set(counts) - set("ABCDEF"))
        domains = [c.removeprefix("score_").replace("_", " ") for c in f.columns if c.startswith("score_")]
        out = [f"{plural(sum(counts.values()), 'area')} graded"
               + (f" on {plural(len(domains), 'domain')} ({join_words(domains)})" if domains else "")
               + f": {join_words([f'{counts[g]:,} {g}' for g in order])}."]
        if "p_grade_change" in f.columns:
            unstable = f.filter(pl.col("p_grade_change") > 0.2).height
            out.append(f"{plural(unstable, 'grade')} {'changes' if unstable == 1 else 'change'} in more than one simulation in five "
                       "when the domain weights move by up to ±20%: read those as a range, not a verdict.")
        return out

    def _columns(self) -> Sequence[Column]:
        domains = [Column(c, c.removeprefix("score_").replace("_", " "), kind="number") for c in self._frame.columns if c.startswith("score_")]
        return [Column("grade", "grade"), Column("area_name", "area"), Column("area_code", "code"), Column("score", "score", kind="number"),
                *domains, Column("p_grade_change", "P(grade changes)", kind="percent"), Column("grade_best", "best"),
                Column("grade_worst", "worst")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "score" in frame.columns:
            return frame.sort("score", descending=True, nulls_last=True), "score"
        return frame, None

    def _chart_grades(self, **options: Any) -> Any:
        from publicservices.charts import report_card_chart

        return report_card_chart(_with_names(self._frame, self.areas), **options)


def grade_areas(data: Any, domains: Mapping[str, Sequence[str] | str] | None = None, **options: Any) -> ReportCardResult:
    """Report cards: letter grades A-F from weighted domains, with grade stability.

    Method: :func:`publicservices.stats.report_cards.report_cards` (NYC progress-report
    style scoring; a Monte Carlo check moving the weights by up to ±20%).

    Parameters:
        data: a Dataset (indicator ids as measures, latest period) or a wide frame.
        domains: domain -> indicator id(s) / measure column(s).
        options: passed on to ``report_cards`` (``weights=``, ``cutpoints=``, ``sector=`` ...).
    """
    from publicservices.stats.report_cards import report_cards

    values, dataset = _unpack(data)
    inds = _indicator_map(options.pop("indicators", None), dataset)
    frame = report_cards(dataset if dataset is not None else values, domains, indicators=inds or None, **options)
    return ReportCardResult(frame, dataset=dataset, indicators=inds)


