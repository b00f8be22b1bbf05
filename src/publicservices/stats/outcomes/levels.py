"""Confidence levels and the names of limit columns, shared by every interval and comparison.

Example:
    >>> confidence_levels(95), limit_names((0.95, 0.998))
    ((0.95,), [('lower_95', 'upper_95'), ('lower_998', 'upper_998')])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.errors import OptionError, SchemaError
from publicservices.stats._common import fraction

__all__ = ["confidence_levels", "level_suffix", "limit_names", "level_columns", "resolve_levels"]


def one_level(c: Any) -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
        raise OptionError(
            f"confidence {c!r} is not a number.\nFix: give a level such as 0.95 (or 95), or a sequence such as (0.95, 0.998)."
        )
    level = float(c)
    if 1 < level < 100:
        level = level / 100.0
    if not 0 < level < 1:
        raise OptionError(
            f"confidence level {c!r} is out of range: it must be between 0 and 1 (e.g. 0.95) "
            "or between 1 and 100 as a percentage (e.g. 95); 1 and 100 would give infinite "
            "limits.\n"
            "Fix: use 0.95 for 95% limits and 0.998 for 99.8% limits."
        )
    return level


def confidence_levels(confidence: float | Sequence[float]) -> tuple[float, ...]:
    """Normalise one level or a sequence of levels to fractions, as PHEindicatormethods does.

    Levels above 1 are percentages (95 -> 0.95, 99.8 -> 0.998).

    Parameters:
        confidence: a number (0.95 or 95) or a sequence of distinct numbers.

    Example:
        >>> confidence_levels(95), confidence_levels((0.95, 99.8))
        ((0.95,), (0.95, 0.998))
    """
    items = (confidence,) if isinstance(confidence, (int, float)) else tuple(confidence)
    if not items:
        raise OptionError("confidence is empty.\nFix: give a level such as 0.95, or (0.95, 0.998).")
    levels = tuple(one_level(c) for c in items)
    suffixes = [level_suffix(lv) for lv in levels]
    if len(set(suffixes)) != len(suffixes):
        raise OptionError(f"confidence {confidence!r} repeats a level.\nFix: list each level once, e.g. (0.95, 0.998).")
    return levels


def level_suffix(level: float) -> str:
    """Column suffix for a level: 0.95 -> ``"95"``, 0.998 -> ``"998"``, 0.9 -> ``"90"``.

    Example:
        >>> [level_suffix(x) for x in (0.95, 0.998, 0.9, 0.975)]
        ['95', '998', '90', '975']
    """
    return f"{round(float(level) * 100, 6):g}".replace(".", "")


def limit_names(confidence: float | Sequence[float]) -> list[tuple[str, str]]:
    """Names of the (lower, upper) columns for ``confidence``.

    One number gives ``lower``/``upper``; a sequence gives ``lower_95``/``upper_95``, ... .

    Example:
        >>> limit_names(0.95), limit_names((0.95, 0.998))
        ([('lower', 'upper')], [('lower_95', 'upper_95'), ('lower_998', 'upper_998')])
    """
    levels = confidence_levels(confidence)
    if isinstance(confidence, (int, float)):
        return [("lower", "upper")]
    return [(f"lower_{level_suffix(lv)}", f"upper_{level_suffix(lv)}") for lv in levels]


def level_columns(confidence: float | Sequence[float]) -> list[tuple[float, str, str, str]]:
    """The limit columns for confidence level(s): ``(level, lower, upper, suffix)``.

    One level given as a plain number names its columns ``lower`` / ``upper`` (suffix
    ``""``); a sequence names them by level: 0.95 -> ``lower_95``, 0.998 -> ``lower_998``.

    Example:
        >>> level_columns((0.95, 0.998))
        [(0.95, 'lower_95', 'upper_95', '_95'), (0.998, 'lower_998', 'upper_998', '_998')]
        >>> level_columns(0.9)
        [(0.9, 'lower', 'upper', '')]
    """
    if isinstance(confidence, (int, float)):
        return [(fraction(confidence), "lower", "upper", "")]
    out = []
    for level in confidence:
        c = fraction(level)
        tag = level_suffix(c)
        out.append((c, f"lower_{tag}", f"upper_{tag}", f"_{tag}"))
    if not out:
        raise SchemaError("confidence is empty.\nFix: pass e.g. confidence=(0.95, 0.998).")
    return out


def resolve_levels(frame: pl.DataFrame, confidence: float | Sequence[float]) -> list[tuple[float, str, str, str]]:
    """:func:`level_columns`, except that one plain level falls back to its suffixed columns.

    ``confidence=0.95`` on a frame holding ``lower_95`` (but no ``lower``) reads ``lower_95``;
    the output columns keep the empty suffix.
    """
    levels = level_columns(confidence)
    if len(levels) == 1 and levels[0][3] == "" and "lower" not in frame.columns:
        c = levels[0][0]
        tag = level_suffix(c)
        if f"lower_{tag}" in frame.columns:
            return [(c, f"lower_{tag}", f"upper_{tag}", "")]
    return levels
