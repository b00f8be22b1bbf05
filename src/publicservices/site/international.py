"""The site's international comparison, computed in the model: tables read, comparators matched.

A site is given international comparator tables (``publish(..., international=FILE)``, the
CLI's ``--international``, or the project file's ``[international]`` key). Each table is read
with the reader its comparators name (the ``international`` reader by default: country, year,
value and standard error). Every registered
:class:`~publicservices.international_comparators.InternationalComparator` whose ``source``
matches the table's file name and whose ``measure`` the table holds is then computed here,
once, by :func:`publicservices.compare_internationally`: the nation's difference from every
other country and from the group's average with intervals, and its rank with a confidence
set, for every period. The page (:mod:`publicservices.site.pages.international`) only words
and lays out what this module computed.

A table that cannot be read, one that no comparator matches, and a comparator that cannot be
computed (no standard errors, the nation missing from the table) never stop the site: each
becomes a plain-words reason on the page and a note on the methodology page.

Example:
    >>> section = international_section([InternationalTable("scores.csv", None, "it could not be read")], {})
    >>> section.comparisons, section.problems
    ([], ['The international table scores.csv was given but not used: it could not be read.'])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.errors import PublicServicesError
from publicservices.international_comparators import InternationalComparator
from publicservices.stats.ranking.international import AVERAGE

__all__ = ["InternationalTable", "InternationalComparison", "InternationalSection", "read_tables", "international_section"]

_DEFAULT_READER = "international"


@dataclasses.dataclass
class InternationalTable:
    """An international comparator table given to the site: its file name, and its data or why there are none."""

    source: str
    dataset: Dataset | None
    problem: str | None = None


@dataclasses.dataclass
class InternationalComparison:
    """One comparator computed on one table: every period, the latest first on the page."""

    comparator: InternationalComparator
    source: str
    indicator_id: str  # the measure's id in the table
    country: str  # the nation's code in the table
    country_name: str
    result: Any  # publicservices.results.InternationalResult, all periods
    periods: list[str]  # oldest to latest
    names: dict[str, str]  # country code -> name, and "average" -> the group's name

    @property
    def latest(self) -> str:
        return self.periods[-1]

    @property
    def indicator(self) -> Any:
        return self.result.indicators.get(self.indicator_id)

    def named(self) -> pl.DataFrame:
        """The comparisons of every period, with the names of the countries (``versus_name``, ``country_name``)."""
        return self.result.frame.with_columns(
            pl.col("versus").replace_strict(self.names, default=pl.col("versus"), return_dtype=pl.String).alias("versus_name"),
            pl.col("country").replace_strict(self.names, default=pl.col("country"), return_dtype=pl.String).alias("country_name"),
        )

    def rows(self, period: str | None = None) -> pl.DataFrame:
        """The comparisons of one period (default the latest), with country names."""
        return self.named().filter(pl.col("period") == (period or self.latest))


@dataclasses.dataclass
class InternationalSection:
    """Everything the international comparison page shows."""

    sources: list[str]
    comparisons: list[InternationalComparison]
    problems: list[str]  # why a table or a comparator could not be used, in plain words

    def frame(self) -> pl.DataFrame:
        """Every comparison of every comparator and period, for the download."""
        parts = [
            c.named().select(
                pl.lit(c.comparator.id).alias("comparator"),
                pl.lit(c.comparator.indicator).alias("national_indicator"),
                pl.lit(c.source).alias("source"),
                pl.all(),
            )
            for c in self.comparisons
        ]
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def reader_for(file_name: str, comparators: Mapping[str, InternationalComparator]) -> str:
    """The reader a table is read with: the one its matching comparators name, else ``international``."""
    named = sorted({c.reader for c in comparators.values() if c.applies_to(file_name)})
    return named[0] if len(named) == 1 else _DEFAULT_READER


def read_tables(
    paths: Sequence[str | Path],
    comparators: Mapping[str, InternationalComparator],
    notes: list[str],
    *,
    format: str | None = None,
) -> list[InternationalTable]:
    """Read each international table (with ``format``, or the reader its comparators name).

    A table that cannot be read is kept with the reason, for the page to say; its reading
    notes go to ``notes``.
    """
    from publicservices.reading import read

    tables = []
    for path in paths:
        path = Path(path)
        reader = format or reader_for(path.name, comparators)
        try:
            result = read(path, format=reader)
        except PublicServicesError as exc:
            tables.append(InternationalTable(path.name, None, _unreadable(str(exc))))
            continue
        notes += [f"International table {line.strip()}" for line in result.report.summary().splitlines()[:1]]
        tables.append(InternationalTable(path.name, result.to_dataset()))
    return tables


def _unreadable(message: str) -> str:
    """Why a table could not be read, in plain words."""
    first = message.splitlines()[0] if message else "it could not be read"
    missing = re.search(r"no column for ([^.\n]+)", first)
    if missing and "se" in [m.strip() for m in missing.group(1).split(",")]:
        return (
            "it gives no standard error for each country's value, and without them no difference between "
            "countries can be given with its uncertainty (a standard_error column, or 95% limits, is needed)"
        )
    if missing:
        return f"it has no column for {missing.group(1).strip()} (a table needs country, year, value and standard error)"
    return re.sub(r"^[^:]*:\s*", "", first).rstrip(".") or "it could not be read"


def _country(comparator: InternationalComparator, dataset: Dataset) -> tuple[str, str] | None:
    """The nation's code and name in the table: its code, or its name, as the comparator gives it."""
    areas = dataset.areas
    names = dict(areas.select("area_code", "area_name").iter_rows()) if "area_name" in areas.columns else {}
    codes = set(dataset.values.get_column("area_code").unique().to_list())
    wanted = comparator.country.strip()
    if wanted in codes:
        return wanted, names.get(wanted) or wanted
    by_name = [c for c, n in names.items() if n and n.casefold() == wanted.casefold() and c in codes]
    if len(by_name) == 1:
        return by_name[0], names[by_name[0]]
    return None


def _compare(comparator: InternationalComparator, table: InternationalTable, indicator_id: str) -> InternationalComparison | str:
    """One comparator on one table, or why it cannot be computed (plain words)."""
    from publicservices.results import compare_internationally

    dataset = table.dataset
    assert dataset is not None
    what = f"{comparator.title} ({table.source})"
    found = _country(comparator, dataset)
    if found is None:
        return f"{what}: the table has no value for {comparator.country}, so there is nothing to compare."
    code, name = found
    values = dataset.values.filter(pl.col("indicator_id") == indicator_id)
    if "standard_error" not in values.columns and not {"lower_ci", "upper_ci"} <= set(values.columns):
        return f"{what}: the table gives no standard errors, so no difference between countries has an interval."
    definition = dataset.indicators.get(indicator_id)
    indicators = {indicator_id: dataclasses.replace(definition, polarity=comparator.polarity)} if definition is not None else {}
    data = Dataset(values, dataset.areas, dataset.spend, {**dataset.indicators, **indicators}, metadata=dataset.metadata)
    try:
        result = compare_internationally(
            data, code, indicator=indicator_id, level=comparator.level, countries=comparator.countries
        )
    except PublicServicesError as exc:
        text = str(exc)
        if "standard_error" in text.splitlines()[0]:
            return (
                f"{what}: some countries have no standard error ({_rows_named(text)}), so no difference "
                "between countries could be given with its uncertainty."
            )
        return f"{what}: not computed ({text.splitlines()[0].rstrip('.')})."
    periods = sorted(result.frame.get_column("period").unique().to_list())
    if not periods:
        return f"{what}: no period has a value for {name} and another country."
    areas = dataset.areas
    names = dict(areas.select("area_code", "area_name").iter_rows()) if "area_name" in areas.columns else {}
    names = {str(k): str(v) for k, v in names.items() if v} | {AVERAGE: comparator.group}
    return InternationalComparison(comparator, table.source, indicator_id, code, name, result, periods, names)


def _rows_named(text: str) -> str:
    rows = [line.strip(" -") for line in text.splitlines()[1:] if line.strip().startswith("-")]
    return ", ".join(rows[:3]) or "see the table"


def international_section(
    tables: Sequence[InternationalTable],
    comparators: Mapping[str, InternationalComparator],
    *,
    sectors: Sequence[str] = (),
) -> InternationalSection:
    """Match each table with the registered comparators and compute every comparison.

    Parameters:
        tables: the tables given, read (:func:`read_tables`).
        comparators: the registered comparators by id
            (:func:`publicservices.registered_comparators`).
        sectors: the sectors the site was asked to publish (empty: all); a comparator of
            another sector is left out, with the reason.
    """
    comparisons: list[InternationalComparison] = []
    problems: list[str] = []
    for table in tables:
        if table.dataset is None:
            problems.append(f"The international table {table.source} was given but not used: {table.problem}.")
            continue
        measures = table.dataset.indicators
        ids = sorted(set(table.dataset.values.get_column("indicator_id").unique().to_list()))
        used = False
        for comparator in comparators.values():
            if not comparator.applies_to(table.source):
                continue
            matched = [i for i in ids if comparator.matches(i)]
            if not matched:
                continue
            used = True
            if sectors and comparator.sector not in sectors:
                problems.append(
                    f"{comparator.title} ({table.source}): not shown, as the site publishes only {', '.join(sectors)}."
                )
                continue
            outcome = _compare(comparator, table, matched[0])
            if isinstance(outcome, str):
                problems.append(outcome)
            else:
                comparisons.append(outcome)
        if not used:
            held = ", ".join(measures[i].title if i in measures else i for i in ids) or "nothing"
            problems.append(
                f"The international table {table.source} was given, but no international comparison is set up for what "
                f"it measures ({held}): the sector plugins register the comparisons, and none of the installed ones "
                "has one for this table."
            )
    return InternationalSection([t.source for t in tables], comparisons, problems)
