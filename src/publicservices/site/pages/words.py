"""The words and numbers of public pages: formatting, plain-English text, and the one benchmark of a page."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from publicservices.display import format_number
from publicservices.indicators import Indicator

METHODS_VERSION = "site-1"
REGION_PAGES_FROM = 1000  # above this many areas, the area index is split by region
COMPACT_FROM = 1000  # above this many areas, an indicator's table of all areas has compact rows (no links)
NO_INTERVALS = (
    "These figures have no confidence intervals, so chance variation cannot be judged; areas are grouped into fifths by value."
)
OVERDISPERSED = "The areas vary more than chance alone would explain; the limits shown do not allow for this."
# Benchmarks' names when the data give codes only (GSS codes of the nations).
NATIONS = {
    "E92000001": "England",
    "W92000004": "Wales",
    "S92000003": "Scotland",
    "N92000002": "Northern Ireland",
    "K02000001": "United Kingdom",
    "K03000001": "Great Britain",
    "K04000001": "England and Wales",
}
# Code on a public page: keyword arguments (name='x', name=3), command-line options, backticks, calls.
_CODE = re.compile(r"\b[A-Za-z_][\w.]*=(?!=)|(?<![\w-])--[a-z][\w-]*|`[^`]+`|\b[A-Za-z_][\w.]*\(\)")
# Wording meant for the synthetic demo only, never for a site of real figures.
_DEMO = re.compile(r"\b(demo|simulat\w*)\b", re.IGNORECASE)


def sector_title(sector: str) -> str:
    """The sector's title as its plugin declares it (``Sector.title``), else its id humanised.

    The core names no sector: a sector that no installed plugin declares is titled from its id,
    and its page says so in the notes (:meth:`Pages.sector`).
    """
    from publicservices.plugins import registered_sectors
    from publicservices.sectors import sector_title as declared_title

    return declared_title(sector, registered_sectors())


def untitled_note(sector: str) -> str | None:
    """The note for a sector no plugin declares (``None`` when one does)."""
    from publicservices.plugins import registered_sectors

    if sector in registered_sectors():
        return None
    return (
        f"The {sector_title(sector).lower()} sector declares no title (no installed plugin describes it), "
        f"so its pages are headed with its name, {sector_title(sector)}."
    )


def num(value: Any, ind: Indicator | None = None) -> str:
    return format_number(value, unit=ind.unit if ind else "")


def interval(lo: Any, hi: Any) -> str:
    if lo is None or hi is None:
        return "–"
    return f"{format_number(lo)} to {format_number(hi)}"


def percent(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def change(x: Any, ind: Indicator | None = None) -> str:
    """The size of a change between two values: percentage points when the values are percentages.

    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="a.b", title="B", sector="a", measure="proportion", unit="%")
    >>> change(2.14, ind), change(1, ind), change(3.0)
    ('2.14 percentage points', '1 percentage point', '3.00')
    """
    if missing(x):
        return "–"
    if ind is not None and ind.unit.strip() == "%":
        text = format_number(x)
        return f"{text} percentage point{'' if text == '1' else 's'}"
    return num(x, ind)


def spread_text(cv: Any, lower: Any = None, upper: Any = None) -> str:
    """The postcode-lottery index (a coefficient of variation) as a public page says it:
    relative to the overall value of the areas compared, never mistakable for percentage points.

    >>> spread_text(0.0571), spread_text(0.0571, 0.05, 0.066), spread_text(None)
    ('±5.7% of the overall value', '±5.7% of the overall value (5.0% to 6.6%)', '–')
    """
    if missing(cv):
        return "–"
    text = f"±{100 * cv:.1f}% of the overall value"
    if missing(lower) or missing(upper):
        return text
    return f"{text} ({100 * lower:.1f}% to {100 * upper:.1f}%)"


def gap_text(value: Any, ind: Indicator | None = None, lower: Any = None, upper: Any = None) -> str:
    """A gap between values (a slope index of inequality, a difference) in the indicator's
    units: percentage points for a percentage, with its 95% interval when given.

    >>> from publicservices.indicators import Indicator
    >>> pct = Indicator(id="a.b", title="B", sector="a", measure="proportion", unit="%")
    >>> gap_text(0.918, pct), gap_text(-3.68, pct, -3.78, -3.57)
    ('0.918 percentage points', '-3.68 percentage points (95% interval -3.78 to -3.57)')
    >>> rate = Indicator(id="a.c", title="C", sector="a", measure="rate", unit="per 100,000")
    >>> gap_text(21.2, rate)
    '21.2 per 100,000'
    """
    text = change(value, ind)
    if text == "–" or missing(lower) or missing(upper):
        return text
    return f"{text} (95% interval {interval(lower, upper)})"


def reason_text(reason: Any) -> str:
    """Why a value is missing, as a page says it: ``not available (status x)`` becomes ``not available``."""
    if missing(reason) or not str(reason).strip():
        return "–"
    return re.sub(r"\s*\(status [^)]*\)\s*$", "", str(reason).strip()) or "–"


def low_reliability(row: Mapping[str, Any]) -> bool:
    status = row.get("status")
    return isinstance(status, str) and status.strip().lower() == "u"


def value_text(row: Mapping[str, Any], ind: Indicator | None = None) -> str:
    """A value cell: the number (marked when of low reliability), or why there is none."""
    if row.get("suppressed") is not None:
        return "suppressed"
    if missing(row.get("value")):
        return reason_text(row.get("missing_reason"))
    text = num(row["value"], ind)
    return f"{text} (low reliability)" if low_reliability(row) else text


def fifths(row: Mapping[str, Any]) -> bool:
    """Is this row compared by fifths of value, having a value but no confidence interval?"""
    return (
        row.get("suppressed") is None
        and not missing(row.get("value"))
        and missing(row.get("lower_95"))
        and bool(row.get("quintile_label"))
    )


def comparison_text(row: Mapping[str, Any]) -> str:
    """The comparison cell: with the benchmark at 95%, or the fifth of areas when there is no interval."""
    if row.get("suppressed") is not None or missing(row.get("value")):
        return "–"
    word = row.get("comparison_95")
    if word is not None and str(word) != "not compared":
        return str(word)
    if fifths(row):
        return f"{row['quintile_label']} fifth"
    return "not compared"


# Statistical asides a resident need not read: a bracket holding a symbol or a test statistic
# ("(φ = 7.40, p < 0.001)", "(additive random-effects limits, between-area standard deviation τ = 4.56)").
_TECHNICAL = re.compile(
    r"\s*\((?:[^()]|\([^()]*\))*?(?:φ|τ|I²|\bp [<=]|random-effects|standard deviation)(?:[^()]|\([^()]*\))*\)"
)
# Terms of the statistics and their plain words (the methodology page keeps the terms).
PLAIN_WORDS = (
    (re.compile(r"judged against the best performers \(DEA\)"), "compared with the best-value areas that spend alike"),
    (re.compile(r"\bDEA\b"), "best-value comparison"),
    (re.compile(r"(\d+(?:\.\d+)?% limits) \(overdispersed\)"), r"\1, widened for real differences between areas"),
    (re.compile(r"\bshrunken estimates?\b", re.IGNORECASE), "values adjusted towards the average to allow for chance"),
    (re.compile(r"\b(is|are) on the efficient frontier\b"), r"\1 best value"),
    (re.compile(r"\befficient frontier\b"), "best-value areas"),
)


def plain(text: str) -> str:
    """Statistical wording as a resident reads it: no symbols or test statistics, plain words for terms.

    >>> plain("Areas vary more than chance alone would make them (φ = 7.40, p < 0.001), so the limits widen.")
    'Areas vary more than chance alone would make them, so the limits widen.'
    >>> plain("so the limits widen (additive random-effects limits, between-area standard deviation τ = 0.35 index (0 to 10)): only")
    'so the limits widen: only'
    >>> plain("It achieves its outcome with 73% of its spend per head, judged against the best performers (DEA).")
    'It achieves its outcome with 73% of its spend per head, compared with the best-value areas that spend alike.'
    """
    text = _TECHNICAL.sub("", text)
    for pattern, words in PLAIN_WORDS:
        text = pattern.sub(words, text)
    return text


def public_text(text: str) -> str:
    """A sentence from the statistics as a public page says it: no code, areas rather than units.

    Clauses (between semicolons) that carry code are dropped; the advice to widen funnel limits
    becomes plain words.

    >>> public_text("Units vary 3.9 times as much as chance (φ = 3.94); consider overdispersed limits (overdispersion='multiplicative').")
    'The areas vary more than chance alone would explain; the limits shown do not allow for this.'
    >>> public_text("The file has no area names (codes only); names can come from the boundaries: area_names= when reading.")
    'The file has no area names (codes only).'
    """
    if "overdispersed limits" in text or "overdispersion=" in text:
        return OVERDISPERSED
    text = plain(text)
    text = re.sub(r"(?<![\d.,])1 (place|area|unit|indicator|period|simulation)s\b", r"1 \1", text)
    text = re.sub(r"\bunit(s?)\b(?! cost)", lambda m: "area" + m.group(1), text)
    text = re.sub(r"\bUnit(s?)\b(?! cost)", lambda m: "Area" + m.group(1), text)
    if not _CODE.search(text):
        return text
    clauses = [c for c in re.split(r";\s+", text.strip()) if not _CODE.search(c)]
    if not clauses:
        return ""
    kept = "; ".join(c.rstrip(" .") for c in clauses)
    return kept[0].upper() + kept[1:] + "."


def public_definition(text: str, synthetic: bool) -> str:
    """An indicator's definition; on a site of real figures, without clauses about the demo.

    >>> public_definition("Per 100,000. Published as 3-year pooled rates; the demo simulates single years.", synthetic=False)
    'Per 100,000. Published as 3-year pooled rates.'
    """
    if synthetic or not text:
        return text
    kept = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        clauses = [c for c in sentence.split("; ") if not _DEMO.search(c)]
        if clauses:
            joined = "; ".join(clauses).rstrip()
            kept.append(joined if joined.endswith((".", "!", "?")) else joined + ".")
    return " ".join(kept)


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """The one benchmark of an indicator page: its name, value and period (or that it varies by area)."""

    name: str
    value: float | None
    period: str
    varies: bool = False

    def text(self, ind: Indicator | None = None) -> str:
        if self.varies:
            return f"{self.name}, a different value for each area, in {self.period}"
        return f"{self.name}, {num(self.value, ind)} in {self.period}"

    def matches(self, centre: Any) -> bool:
        if self.varies or self.value is None or missing(self.value) or missing(centre):
            return False
        return abs(float(centre) - float(self.value)) <= 1e-6 * max(1.0, abs(float(self.value)))
