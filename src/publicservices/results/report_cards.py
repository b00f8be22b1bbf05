"""Report cards: letter grades from weighted domains, with grade stability."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import Column, join_words, plural
from publicservices.results._base import (
    Result,
    _counts,
    _group_columns,
    _group_name,
    _groups,
    _indicator_map,
    _n_areas,
    _one_group,
    _unpack,
    _with_names,
)

__all__ = ["ReportCardResult", "grade_areas"]



class ReportCardResult(Result):
    """Letter grades A-F from weighted domains, with how stable each grade is to the weights.

    ``.frame`` is :func:`publicservices.stats.report_cards.report_cards` output
    (``score_<domain>``, ``score``, ``grade``, ``p_grade_change``, ``grade_best``,
    ``grade_worst``). Chart: ``grades``.

    Areas are graded within their group (comparable set, sex, age, category); the summary
    counts each group's areas. Indicators without a direction (``no_judgement``) and context
    indicators are never graded: ``.notes`` names the ones left out.
    """

    kind = "report_cards"
    title = "Report cards"
    default_chart = "grades"

    @property
    def notes(self) -> list[str]:
        """What was left out of the grades, and why (indicators without a direction, context)."""
        return list(self.extra.get("notes", ()))

    def sentences(self) -> list[str]:
        f = self._frame
        if not _counts(f, "grade"):
            return ["No grades.", *self.notes]
        domains = [c.removeprefix("score_").replace("_", " ") for c in f.columns if c.startswith("score_")]
        on = f" on {plural(len(domains), 'domain')} ({join_words(domains)})" if domains else ""
        out = []
        groups = _groups(f)
        for group, rows in groups[:4]:
            counts = _counts(rows, "grade")
            order = [g for g in ("A", "B", "C", "D", "E", "F") if g in counts] + sorted(set(counts) - set("ABCDEF"))
            label = _group_name(group)
            out.append(f"{plural(_n_areas(rows.filter(pl.col('grade').is_not_null())), 'area')} graded"
                       + (f" ({label})" if label else "") + on
                       + f": {join_words([f'{counts[g]:,} {g}' for g in order])}.")
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        out.extend(self.notes)
        if "p_grade_change" in f.columns:
            unstable = f.filter(pl.col("p_grade_change") > 0.2).height
            out.append(f"{plural(unstable, 'grade')} {'changes' if unstable == 1 else 'change'} in more than one simulation in five "
                       "when the domain weights move by up to ±20%: read those as a range, not a verdict.")
        return out

    def _columns(self) -> Sequence[Column]:
        domains = [Column(c, c.removeprefix("score_").replace("_", " "), kind="number") for c in self._frame.columns if c.startswith("score_")]
        return [Column("grade", "grade"), Column("area_name", "area"), Column("area_code", "code"), *_group_columns(self._frame),
                Column("score", "score", kind="number"),
                *domains, Column("p_grade_change", "P(grade changes)", kind="percent"), Column("grade_best", "best"),
                Column("grade_worst", "worst")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "score" in frame.columns:
            keys = [c.name for c in _group_columns(frame)]
            return frame.sort([*keys, "score"], descending=[False] * len(keys) + [True], nulls_last=True), "score"
        return frame, None

    def _chart_grades(self, breakdown: Mapping[str, Any] | str | None = None, **options: Any) -> Any:
        from publicservices.charts import report_card_chart

        return report_card_chart(_with_names(_one_group(self._frame, breakdown), self.areas), **options)


def grade_areas(data: Any, domains: Mapping[str, Sequence[str] | str] | None = None, **options: Any) -> ReportCardResult:
    """Report cards: letter grades A-F from weighted domains, with grade stability.

    Method: :func:`publicservices.stats.report_cards.report_cards` (NYC progress-report
    style scoring; a Monte Carlo check moving the weights by up to ±20%). Only indicators
    with a direction are graded: ``no_judgement`` and context indicators are left out and
    named in the summary (``.notes``); a ``DataError`` when none with a direction is left.
    Each comparable set and breakdown (sex, age, category) is graded on its own.

    Parameters:
        data: a Dataset (indicator ids as measures, latest period) or a wide frame.
        domains: domain -> indicator id(s) / measure column(s).
        options: passed on to ``report_cards`` (``weights=``, ``cutpoints=``, ``sector=`` ...).
    """
    from publicservices.stats.report_cards import report_cards

    from publicservices.stats.report_cards import NotGradedWarning

    values, dataset = _unpack(data)
    inds = _indicator_map(options.pop("indicators", None), dataset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NotGradedWarning)
        frame = report_cards(dataset if dataset is not None else values, domains, indicators=inds or None, **options)
    notes = []
    for w in caught:
        if issubclass(w.category, NotGradedWarning):
            text = str(w.message)
            notes.append(text[0].upper() + text[1:])
        else:  # anything else is not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ReportCardResult(frame, dataset=dataset, indicators=inds, notes=notes)


