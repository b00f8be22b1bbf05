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
    """Letter grades A-F from weighted domains, with how stable each grade is to sampling
    noise and to the weights.

    ``.frame`` is :func:`publicservices.stats.build_report_cards` output
    (``score_<domain>``, ``score``, ``grade``, ``p_grade_change`` with its two parts
    ``p_grade_change_noise`` and ``p_grade_change_weights``, ``grade_best``,
    ``grade_worst``; with closing-the-gap credit, ``gap_change`` and its interval
    ``gap_change_lower`` / ``gap_change_upper``, ``gap_status``, ``gap_credit`` (points)
    and ``gap_credited``). Chart: ``grades``.

    Areas are graded within their group (comparable set, sex, age, category); the summary
    counts each group's areas. Indicators without a direction (``no_judgement``) and context
    indicators are never graded; ``.notes`` names the ones left out, values derived from
    counts, and the scheme used when the sector declares none (equal weights).
    """

    kind = "report_cards"
    title = "Report cards"
    default_chart = "grades"

    @property
    def notes(self) -> list[str]:
        """How the grades were made: what was left out and why (indicators without a direction,
        context), values derived from counts, the default scheme of a sector that declares none."""
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
            out.append(
                f"{plural(_n_areas(rows.filter(pl.col('grade').is_not_null())), 'area')} graded"
                + (f" ({label})" if label else "")
                + on
                + f": {join_words([f'{counts[g]:,} {g}' for g in order])}."
            )
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        out.extend(self.notes)
        if "p_grade_change" in f.columns:
            unstable = f.filter(pl.col("p_grade_change") > 0.2).height
            verb = "changes" if unstable == 1 else "change"
            noisy = "p_grade_change_noise" in f.columns and f.get_column("p_grade_change_noise").null_count() < f.height
            if noisy:
                by_noise = f.filter(pl.col("p_grade_change_noise") > 0.2).height
                by_weights = (
                    f.filter(pl.col("p_grade_change_weights") > 0.2).height if "p_grade_change_weights" in f.columns else None
                )
                parts = [f"{by_noise:,} from sampling noise alone"]
                if by_weights is not None:
                    parts.append(f"{by_weights:,} from the weights alone")
                out.append(
                    f"{plural(unstable, 'grade')} {verb} in more than one simulation in five when the values are "
                    "drawn from their intervals or counts and the domain weights move by up to ±20% "
                    f"({join_words(parts)}): read those as a range, not a verdict."
                )
            else:
                out.append(
                    f"{plural(unstable, 'grade')} {verb} in more than one simulation in five "
                    "when the domain weights move by up to ±20%: read those as a range, not a verdict."
                )
        return out

    def _columns(self) -> Sequence[Column]:
        domains = [
            Column(c, c.removeprefix("score_").replace("_", " "), kind="number")
            for c in self._frame.columns
            if c.startswith("score_")
        ]
        return [
            Column("grade", "grade"),
            Column("area_name", "area"),
            Column("area_code", "code"),
            *_group_columns(self._frame),
            Column("score", "score", kind="number"),
            *domains,
            Column("extra_credit", "extra credit", kind="number"),
            Column("gap_change", "gap change", kind="number"),
            Column("gap_change_lower", "gap change 95% CI", kind="interval", upper="gap_change_upper"),
            Column("gap_status", "gap"),
            Column("p_grade_change", "P(grade changes)", kind="percent"),
            Column("p_grade_change_noise", "P(changes: noise)", kind="percent"),
            Column("p_grade_change_weights", "P(changes: weights)", kind="percent"),
            Column("grade_best", "best"),
            Column("grade_worst", "worst"),
        ]

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

    Method: :func:`publicservices.stats.build_report_cards` (NYC progress-report
    style scoring; percentile 100 x (rank - 1/2) / n; a Monte Carlo check drawing each value
    from its sampling distribution -- the normal of its 95% interval, or a binomial or
    Poisson draw from its counts -- and moving the weights by up to ±20%, reported as
    ``p_grade_change`` with its parts ``p_grade_change_noise`` and
    ``p_grade_change_weights``). Only indicators with a direction are graded:
    ``no_judgement`` and context indicators are left out and named in the summary
    (``.notes``); a ``DataError`` when none with a direction is left. Each comparable set
    and breakdown (sex, age, category) is graded on its own. Values missing where the
    numerator and denominator are present are derived (numerator / denominator x the
    multiplier), with a note.

    ``sector=`` grades that sector's indicators on the report-card scheme its plugin
    declares (``Sector.report_card``, looked up from the registered sectors) when the data
    hold any of the scheme's measures (a domain the data lack is left out, said in
    ``.notes``); otherwise -- and for a sector without a scheme -- each indicator is its own
    domain, with equal weights and quintile grades, said in ``.notes``. No ``domains=`` is
    needed. ``scheme=`` grades on another :class:`publicservices.ReportCardScheme`. A
    scheme's closing-the-gap credit (:class:`publicservices.ClosingGap`; the schools
    scheme's: the KS2 disadvantage gap) adds up to its points for a statistically
    significant narrowing of the gap over the data's periods (the 95% interval of the
    change, an inverse-variance weighted least-squares fit, entirely on the narrowing side),
    0 otherwise; ``closing_gap=`` gives another gap indicator, ``closing_gap=False`` none.

    Parameters:
        data: a Dataset (indicator ids as measures, latest period) or a wide frame.
        domains: domain -> indicator id(s) / measure column(s).
        options: passed on to ``report_cards`` (``weights=``, ``cutpoints=``, ``sector=``,
            ``scheme=``, ``n_sims=``, ``sampling_noise=`` ...).

    Example:
        >>> import publicservices as ps
        >>> cards = ps.grade_areas(ps.demo(), sector="welfare", n_sims=100)
        >>> cards.notes[0][:60]
        'Equal weights: the welfare sector declares no report-card sc'
    """
    from publicservices.stats import build_report_cards
    from publicservices.stats.ranking.report_cards import ReportCardNote

    values, dataset = _unpack(data)
    inds = _indicator_map(options.pop("indicators", None), dataset)
    if options.get("sector") is not None and "scheme" not in options:
        # stats/ knows no sector: the sector's scheme comes from its plugin's declaration
        from publicservices.plugins import registered_sectors

        declared = registered_sectors().get(options["sector"])
        options["scheme"] = declared.report_card if declared is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReportCardNote)
        frame = build_report_cards(values, domains, indicators=inds or None, **options)
    notes = []
    for w in caught:
        if issubclass(w.category, ReportCardNote):
            text = str(w.message)
            notes.append(text[0].upper() + text[1:])
        else:  # anything else is not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ReportCardResult(frame, dataset=dataset, indicators=inds, notes=notes)
