"""International comparators: how a sector plugin links its indicators to international tables.

An :class:`InternationalComparator` says that a national indicator has an international
counterpart: a measure of an international comparator table (OECD PISA reading means, say)
in which the nation is one country among others, each with its standard error. Plugins
register comparators through the ``publicservices_international_comparators`` hook
(:mod:`publicservices.hookspecs`, or ``sector_plugin(..., comparators=[...])``);
:func:`publicservices.registered_comparators` lists them. When the website is given an
international table (``publicservices publish --international FILE``, or the project file's
``[international]`` key), each registered comparator whose measure the table holds gets its
part of the site's "International comparison" page: the nation's difference from every other
country and from the group's average, with intervals, and its rank with a confidence set
(:func:`publicservices.compare_internationally`).

A comparator is metadata, checked when it is made: an invalid one raises a
:class:`~publicservices.errors.PluginError` listing every problem and the fix.

Example:
    >>> reading = InternationalComparator(
    ...     id="schools.pisa_reading", title="Reading at age 15 (PISA)", indicator="schools.gcse_english_maths",
    ...     measure="reading", source="*pisa*", country="GBR", group="OECD average")
    >>> reading.sector, reading.matches("schools.pisa_reading"), reading.matches("schools.pisa_science")
    ('schools', True, False)
    >>> reading.applies_to("intl_pisa_2018_2022_oecd.csv"), reading.applies_to("timss_2019.csv")
    (True, False)
    >>> InternationalComparator(id="Reading", title="", indicator="schools.x", measure="", polarity="up")
    Traceback (most recent call last):
    ...
    publicservices.errors.PluginError: invalid international comparator 'Reading':
      - id 'Reading' must be '<sector>.<name>' in lower-case letters, digits and '_', such as 'schools.pisa_reading'
      - title must be a non-empty string, such as 'Reading at age 15 (PISA)' (the page's heading)
      - measure must name the table's subject or measure, such as 'reading', or the id the international reader gives it
      - polarity 'up' must be one of higher_is_better, lower_is_better, no_judgement
    Fix: correct the InternationalComparator(...) declaration in the plugin.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
from collections.abc import Sequence
from typing import Any

from publicservices.errors import PluginError
from publicservices.indicators import ID_PATTERN, POLARITIES, Polarity

__all__ = ["InternationalComparator", "measure_slug"]


def measure_slug(text: str) -> str:
    """A subject or measure as the international reader puts it in an indicator id.

    >>> measure_slug("Reading literacy"), measure_slug("mathematics")
    ('reading_literacy', 'mathematics')
    """
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


@dataclasses.dataclass(frozen=True)
class InternationalComparator:
    """A national indicator's international counterpart (see the module docstring).

    Parameters:
        id: ``<sector>.<name>``, unique across plugins (``schools.pisa_reading``); the part
            before the dot is the sector whose pages it belongs with.
        title: what the comparison is called on the site (``"Reading at age 15 (PISA)"``).
        indicator: the id of the national indicator it matches (``schools.gcse_english_maths``);
            the page links to it when the site publishes it.
        measure: the subject or measure in the international table (``"reading"``), or the id
            the international reader gives it (``"schools.pisa_reading"``).
        source: a file-name pattern (``fnmatch``, case-insensitive) of the tables it applies
            to, such as ``"*pisa*"``; ``"*"`` (default) for any table.
        reader: the reader that reads the table (default ``"international"``, see
            ``publicservices readers``).
        country: the nation's code (``"GBR"``) or name (``"United Kingdom"``) in the table.
        group: what the average of the table's countries is called (``"OECD average"``).
        countries: the codes of the countries compared with and averaged over; ``None``
            (default) for every country in the table (for the PISA table, the OECD members).
        polarity: how to read a difference: ``higher_is_better`` (PISA scores),
            ``lower_is_better`` or ``no_judgement`` (higher or lower, never better or worse).
        note: how the figures relate to the national indicator, shown with the comparison
            (``"PISA samples the whole UK, not England alone"``).
        level: confidence level of the intervals and the rank set (default 0.95).
    """

    id: str
    title: str
    indicator: str
    measure: str
    source: str = "*"
    reader: str = "international"
    country: str = "GBR"
    group: str = "OECD average"
    countries: tuple[str, ...] | None = None
    polarity: Polarity = "higher_is_better"
    note: str = ""
    level: float = 0.95

    def __post_init__(self) -> None:
        errors: list[str] = []

        def text(name: str, what: str) -> None:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{name} must {what}")

        if not isinstance(self.id, str) or not ID_PATTERN.match(self.id) or len(self.id) > 100:
            errors.append(
                f"id {self.id!r} must be '<sector>.<name>' in lower-case letters, digits and '_', such as 'schools.pisa_reading'"
            )
        text("title", "be a non-empty string, such as 'Reading at age 15 (PISA)' (the page's heading)")
        if not isinstance(self.indicator, str) or not ID_PATTERN.match(self.indicator):
            errors.append(
                f"indicator {self.indicator!r} must be the id of the national indicator it matches, such as 'schools.gcse_english_maths'"
            )
        text(
            "measure",
            "name the table's subject or measure, such as 'reading', or the id the international reader gives it",
        )
        text("source", "be a file-name pattern, such as '*pisa*', or '*' for any table")
        text("reader", "name a reader, such as 'international' (see `publicservices readers`)")
        text("country", "be the nation's code or name in the table, such as 'GBR' or 'United Kingdom'")
        text("group", "name the average of the countries, such as 'OECD average'")
        countries = self.countries
        if countries is not None:
            if isinstance(countries, str) or not isinstance(countries, Sequence):
                errors.append(f"countries must be a list of country codes or None, not {countries!r}")
            elif len(countries) < 2 or not all(isinstance(c, str) and c.strip() for c in countries):
                errors.append(f"countries must list at least two country codes, not {countries!r}")
        if self.polarity not in POLARITIES:
            errors.append(f"polarity {self.polarity!r} must be one of {', '.join(POLARITIES)}")
        if not isinstance(self.note, str):
            errors.append(f"note must be text, not {self.note!r}")
        level = self.level
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level) or not 0.5 <= level < 1:
            errors.append(f"level {level!r} must be a confidence level between 0.5 and 1, such as 0.95")
        if errors:
            raise PluginError(
                f"invalid international comparator {self.id!r}:\n"
                + "\n".join(f"  - {e}" for e in errors)
                + "\nFix: correct the InternationalComparator(...) declaration in the plugin."
            )
        if countries is not None:
            object.__setattr__(self, "countries", tuple(c.strip() for c in countries))
        object.__setattr__(self, "title", self.title.strip())
        object.__setattr__(self, "level", float(level))

    @property
    def sector(self) -> str:
        """The sector it belongs with: the part of its id before the dot."""
        return self.id.split(".", 1)[0]

    def matches(self, indicator_id: str) -> bool:
        """Whether an indicator of the international table is this comparator's measure.

        The international reader names a subject ``<sector>.pisa_<subject>`` (PISA tables) or
        ``other.<subject>``: the measure matches the id itself, or the subject in it.
        """
        if indicator_id == self.measure:
            return True
        tail = str(indicator_id).split(".", 1)[-1]
        slug = measure_slug(self.measure)
        return bool(slug) and slug in (tail, tail.removeprefix("pisa_"))

    def applies_to(self, file_name: str) -> bool:
        """Whether a table's file name matches :attr:`source`."""
        return fnmatch.fnmatch(str(file_name).lower(), self.source.lower())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
