"""Closing-the-gap credit in report cards: the gap indicator to judge, each unit's change, and the note."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl

from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.keys import present_keys
from publicservices.stats.ranking.closing_gaps import AWARDS, gap_change
from publicservices.stats.ranking.grading import directions

__all__ = ["closing_gap_spec", "gap_note", "gap_of"]


def closing_gap_spec(
    frame: pl.DataFrame,
    spec: Any,
    indicators: Mapping[str, Indicator],
    polarity: Mapping[str, str] | str | None,
    defaults: Mapping[str, Any],
    period: str | None,
) -> dict[str, Any] | None:
    """The closing-the-gap credit to give: its indicator, direction, award and rows, or None.

    ``spec`` is a :class:`publicservices.sectors.ClosingGap` (or any object with its
    attributes), a gap indicator's id (its defaults), or None / False for none. Data
    without the indicator get a note instead (``"note"``).
    """
    if spec is None or spec is False:
        return None
    if isinstance(spec, str):
        spec = {"indicator": spec}
    elif not isinstance(spec, Mapping):
        spec = {
            f: getattr(spec, f) for f in ("indicator", "points", "award", "level", "min_periods", "window") if hasattr(spec, f)
        }
    ind = spec.get("indicator")
    if not isinstance(ind, str) or not ind:
        raise DataError(
            f"closing_gap must name a gap indicator, not {spec!r}.\n"
            "Fix: pass closing_gap='schools.disadvantage_gap' or a publicservices.ClosingGap(indicator=..., points=...)."
        )
    award = {
        "points": float(spec.get("points", 5.0)),
        "level": float(spec.get("level", 0.95)),
        "award": spec.get("award", "scaled"),
    }
    if award["award"] not in AWARDS or not award["points"] > 0:
        raise DataError(
            f"closing_gap {ind!r}: award {award['award']!r} with {award['points']:g} points cannot be given.\n"
            f"Fix: award one of {', '.join(map(repr, AWARDS))}, with points > 0."
        )
    name = f"{indicators[ind].title} ({ind})" if ind in indicators else ind
    ids = set(frame.get_column("indicator_id").unique().to_list()) if "indicator_id" in frame.columns else set()
    if ind not in ids:
        return {
            "note": f"Closing the gap: {name} is not in these data, so no area earns closing-the-gap credit "
            "(it needs the gap's values, with intervals, over two periods or more)."
        }
    pol, left_out = directions([ind], indicators, polarity, defaults.get("polarity") or {})
    if ind not in pol:
        raise DataError(
            f"closing-the-gap indicator {name} has {left_out.get(ind, 'no direction')}, so narrowing cannot be told "
            "from widening.\nFix: give the gap indicator a polarity (lower_is_better for a gap that narrows as it falls), "
            f"or pass polarity={{{ind!r}: 'lower_is_better'}}."
        )
    order = "period_start" if "period_start" in frame.columns else "period"
    rows = frame.filter(pl.col("indicator_id") == ind)
    if period is not None and "period" in frame.columns:
        # the change up to the graded period, not beyond it
        cutoff = frame.filter(pl.col("period") == period).get_column(order).max()
        if cutoff is not None:
            rows = rows.filter(pl.col(order) <= cutoff)
    return {
        "indicator": ind,
        "name": name,
        "polarity": pol[ind],
        "order": order,
        "rows": rows,
        "min_periods": int(spec.get("min_periods", 2)),
        "window": spec.get("window"),
        "award": award,
    }


def gap_of(part: pl.DataFrame, gap: Mapping[str, Any], key: str) -> pl.DataFrame:
    """Each unit's gap change in one report-card group (the gap rows of the same group)."""
    groups = [c for c in present_keys(part) if c != key]
    rows = gap["rows"]
    if groups:
        rows = rows.join(part.select(groups).unique(), on=groups, how="semi", nulls_equal=True)
    return gap_change(
        rows.drop(groups),
        polarity=gap["polarity"],
        key=key,
        by=[],
        order=gap["order"],
        level=gap["award"]["level"],
        min_periods=gap["min_periods"],
        window=gap["window"],
    )


def gap_note(graded: pl.DataFrame, gap: Mapping[str, Any]) -> str:
    """What the closing-the-gap credit did, in words: the rule, then how many areas earned it."""
    status = graded.get_column("gap_status").cast(pl.String)
    counts = status.value_counts()
    n = dict(zip(counts.get_column("gap_status").to_list(), counts.get_column("count").to_list(), strict=True))
    award = gap["award"]
    falls = gap["polarity"] == "lower_is_better"
    pct = f"{100 * award['level']:g}%"
    rule = (
        f"Closing the gap: up to {award['points']:g} points of extra credit for a statistically significant narrowing "
        f"of {gap['name']} ({'lower' if falls else 'higher'} is better, so narrowing is a {'fall' if falls else 'rise'}): "
        f"the {pct} interval of its change over the periods (inverse-variance weighted least squares) lies entirely "
        f"{'below' if falls else 'above'} 0"
    )
    unjudged = graded.filter(pl.col("gap_status") == "cannot judge").get_column("gap_reason").fill_null("no values")
    why = "; ".join(
        f"{k:,} area{'s' if k != 1 else ''}: {r}"
        for r, k in sorted(Counter(unjudged.to_list()).items(), key=lambda rk: (-rk[1], rk[0]))
    )
    if graded.height == unjudged.len():
        return f"{rule}. No area can be judged, so none earns it ({why})."
    first = str(graded.get_column("gap_first_period").drop_nulls().min())
    last = str(graded.get_column("gap_last_period").drop_nulls().max())
    parts = [
        f"{n.get('significantly narrowing', 0):,} significantly narrowed and earned it",
        f"{n.get('no significant change', 0):,} show no significant change",
        f"{n.get('significantly widening', 0):,} significantly widened",
    ]
    if unjudged.len():
        parts.append(f"{unjudged.len():,} cannot be judged ({why})")
    return f"{rule} ({first} to {last}). Of {graded.height:,} areas, " + "; ".join(parts) + "."
