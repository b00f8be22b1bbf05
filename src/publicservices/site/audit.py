"""The site checks itself before it replaces the previous one.

Two passes, each listing every violation it finds (never only the first):

* :func:`audit_model`, over every number the pages will show: each ranked, graded or
  funnelled comparison holds areas of one comparable set; no national or regional row is a
  unit; no indicator without a direction is called better or worse, or graded; one
  benchmark per comparison and period; breakdowns are not mixed (one row per comparison,
  area and period); every area with a page has at least one value.
* :func:`audit_output`, over the files written: no count, and no complement of a
  proportion's count, below the suppression threshold in any CSV; no "rank 1 is best" on
  the page of an indicator without a direction.

A violation raises :class:`AuditError`; the build stops and the previous site stays.

Example:
    >>> from publicservices.site.audit import AuditError
    >>> issubclass(AuditError, Exception)
    True
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl

from publicservices.errors import PublicServicesError

__all__ = ["AuditError", "audit_model", "audit_output", "CHECKS"]

JUDGED_WORDS = ("better", "worse")
CHECKS = (
    "every ranked, graded or funnelled comparison holds areas of one comparable set",
    "no national or regional row is compared as an area",
    "no indicator without a direction is called better or worse, ranked best, or graded",
    "one benchmark per comparison and period",
    "breakdowns are not mixed: one row per comparison, area and period",
    "every area page has at least one value",
    "no count, or complement of a count, below the suppression threshold in any download",
)


class AuditError(PublicServicesError):
    """The site about to be published breaks one of its own invariants (listed in the message)."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        shown = "\n".join(f"  - {v}" for v in violations[:30])
        more = f"\n  ... and {len(violations) - 30} more" if len(violations) > 30 else ""
        super().__init__(
            f"site audit failed: {len(violations)} violation{'s' if len(violations) != 1 else ''}; nothing was published.\n"
            f"{shown}{more}\nFix: this is a bug in publicservices or a plugin's indicator metadata; report it with the input file."
        )


def audit_model(model: Any) -> list[str]:
    """Every invariant over the model (see the module docstring); returns the violations."""
    from publicservices.geography import COMPARABLE_SETS

    problems: list[str] = []
    results = model.results
    levels = dict(model.dataset.areas.select("area_code", "level").iter_rows()) if "level" in model.dataset.areas.columns else {}
    roles = dict(model.dataset.areas.select("area_code", "role").iter_rows()) if "role" in model.dataset.areas.columns else {}

    def one_set(what: str, cid: str, codes: list[str]) -> None:
        set_id = model.comparisons.get(cid, (cid, None))[1]
        allowed = COMPARABLE_SETS[set_id].levels if set_id in COMPARABLE_SETS else None
        bench = sorted(c for c in codes if roles.get(c) == "benchmark")
        if bench:
            problems.append(f"{what} of {cid}: national or regional rows compared as areas ({', '.join(bench[:5])})")
        if allowed is not None:
            stray = sorted(c for c in codes if levels.get(c, "other") not in allowed)
            if stray:
                problems.append(f"{what} of {cid}: areas outside the comparable set {set_id!r} ({', '.join(stray[:5])})")

    for cid, frame in model.ranks.items():
        one_set("league table", cid, frame.get_column("area_code").to_list())
    for cid, funnel in model.funnels.items():
        frame = getattr(funnel, "frame", None)
        if isinstance(frame, pl.DataFrame) and "area_code" in frame.columns:
            one_set("funnel plot", cid, frame.get_column("area_code").to_list())
    for sector, card in model.grades.items():
        graded_levels = {levels.get(c, "other") for c in card.get_column("area_code").to_list()}
        if graded_levels and not any(graded_levels <= set(s.levels) for s in COMPARABLE_SETS.values()):
            problems.append(
                f"{sector} report cards grade areas of more than one comparable set ({', '.join(sorted(graded_levels))})"
            )
        graded = set(card.get_column("indicator_id").unique().to_list()) if "indicator_id" in card.columns else set()
        for cid in sorted(graded):
            ind = model.indicators.get(cid)
            if ind is not None and not ind.has_polarity:
                problems.append(f"{sector} report cards grade {cid}, which has no known direction")
    if roles:
        bench = model.areas.filter(pl.col("area_code").is_in([c for c, r in roles.items() if r == "benchmark"]))
        if bench.height:
            problems.append(
                f"national or regional areas given area pages as units: {', '.join(bench.get_column('area_code').head(5).to_list())}"
            )

    comparison_cols = [c for c in results.columns if c.startswith("comparison")]
    for cid, ind in model.indicators.items():
        if ind.has_polarity:
            continue
        rows = results.filter(pl.col("indicator_id") == cid)
        for col in comparison_cols:
            judged = rows.filter(pl.col(col).cast(pl.String).is_in(list(JUDGED_WORDS))).height
            if judged:
                problems.append(f"{cid} has no known direction but {judged} rows of {col!r} say better or worse")

    international = getattr(model, "international", None)
    for found in getattr(international, "comparisons", None) or []:
        if found.comparator.polarity != "no_judgement":
            continue
        judged = found.result.frame.filter(pl.col("comparison").is_in(list(JUDGED_WORDS))).height
        if judged:
            problems.append(
                f"international comparator {found.comparator.id} has no known direction but {judged} comparisons say better or worse"
            )

    if "benchmark_value" in results.columns:
        many = (
            results.filter(pl.col("benchmark_value").is_not_null())
            .group_by("indicator_id", "period")
            .agg(pl.col("benchmark_value").n_unique().alias("n"))
            .filter(pl.col("n") > 1)
        )
        for cid, period, n in many.iter_rows():
            problems.append(f"{cid} {period}: {n} different benchmarks on one page")
    dup = results.group_by("indicator_id", "area_code", "period").len().filter(pl.col("len") > 1)
    if dup.height:
        cid, code, period, n = dup.row(0)
        problems.append(
            f"{dup.height} comparison rows repeat an area (e.g. {cid} {code} {period} x{n}): breakdowns or sets are mixed"
        )
    if "suppressed" in results.columns:
        shown = results.filter(pl.col("suppressed").is_null() & pl.col("value").is_not_null()).get_column("area_code").unique()
        empty = model.areas.filter(~pl.col("area_code").is_in(shown.implode()))
        if empty.height:
            problems.append(
                f"{empty.height} area pages would have no value ({', '.join(empty.get_column('area_code').head(5).to_list())})"
            )
    return problems


def audit_output(model: Any, root: Path) -> list[str]:
    """Invariants over the written files under ``root`` (a docs tree or a built site)."""
    problems: list[str] = []
    threshold = int(model.options.get("suppress_threshold") or 0)
    measures = {cid: ind.measure for cid, ind in model.indicators.items()}
    for cid, ind in model.page_indicators.items():
        measures.setdefault(ind, measures.get(cid, ""))
    if threshold > 0:
        for path in sorted(root.rglob("*.csv")):
            problems += _small_counts(path, root, threshold, measures)
    for cid, ind in model.indicators.items():
        if ind.has_polarity:
            continue
        for page in (
            root / "indicators" / f"{cid}.html",
            root / "docs" / "indicators" / f"{cid}.md",
            root / "indicators" / cid / "index.html",
        ):
            if page.is_file() and "rank 1 is best" in page.read_text(encoding="utf-8").lower():
                problems.append(f"{page.relative_to(root)}: says 'rank 1 is best' for an indicator with no known direction")
    return problems


def _small_counts(path: Path, root: Path, threshold: int, measures: dict[str, str]) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)  # rows as lists: a dict per row cost more than the test
        fields = next(reader, [])
        if "numerator" not in fields:
            return []
        # the last column of a name, as csv.DictReader reads it
        at = {
            name: len(fields) - 1 - fields[::-1].index(name) if name in fields else None
            for name in ("numerator", "denominator", "indicator_id", "area_code", "period")
        }

        def cell(row: list[str], name: str) -> str | None:
            i = at[name]
            return row[i] if i is not None and i < len(row) else None

        bad = 0
        example = ""
        for row in reader:
            num = _number(cell(row, "numerator"))
            if num is None:
                continue
            den = _number(cell(row, "denominator"))
            measure = measures.get(cell(row, "indicator_id") or "", "proportion")
            small = 0 < num < threshold
            complement = measure == "proportion" and den is not None and 0 < den - num < threshold
            if small or complement:
                bad += 1
                example = example or f"{cell(row, 'indicator_id')} {cell(row, 'area_code')} {cell(row, 'period')}"
    return (
        [
            f"{path.relative_to(root)}: {bad} {'row publishes' if bad == 1 else 'rows publish'} a count or complement "
            f"below {threshold} (e.g. {example})"
        ]
        if bad
        else []
    )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
