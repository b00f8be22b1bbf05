"""What a combination did: per-source counts, duplicates, conflicts resolved and notes."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator
    from publicservices.reading import LoadReport


# -- the result ------------------------------------------------------------------------------


@dataclasses.dataclass
class SourceSummary:
    """One source of a combination: its name, what it brought, and its own load notes."""

    name: str
    kind: str
    values: int = 0
    areas: int = 0
    spend: int = 0
    indicators: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    load_report: LoadReport | None = None

    def line(self) -> str:
        parts = [f"{self.values:,} value row{'s' * (self.values != 1)}", f"{self.areas:,} area{'s' * (self.areas != 1)}"]
        if self.spend:
            parts.append(f"{self.spend:,} spend row{'s' * (self.spend != 1)}")
        parts.append(f"{self.indicators:,} indicator definition{'s' * (self.indicators != 1)}")
        return f"{self.name!r} ({self.kind}): {', '.join(parts)}."

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("name", "kind", "values", "areas", "spend", "indicators")}
        out["notes"] = list(self.notes)
        out["load_report"] = self.load_report.to_dict() if self.load_report is not None else None
        return out


@dataclasses.dataclass
class CombineReport:
    """What a combination did: sources, rows in and out, duplicates, conflicts, disagreements.

    Attributes:
        sources: one :class:`SourceSummary` per source, in order (with its load notes).
        on_conflict: the rule the combination ran with.
        rows_in: rows given, by frame (``values``, ``spend``, ``areas``).
        rows_out: rows in the combined dataset, by frame (and ``indicators``).
        duplicates: rows given by more than one source with the same numbers and kept once, by frame.
        conflicts: keys whose sources disagree and that ``on_conflict`` resolved, by frame
            (``values``, ``spend``, ``areas.population`` ...).
        resolved: how each conflict was resolved: ``"values: kept 'a.csv' over 'b.csv'"`` -> count.
        disagreements: ``"areas.area_name"`` -> areas whose sources give different non-empty
            values (the first source's kept); ``"values.status"`` -> duplicate rows whose other
            columns differ.
        examples: the first few conflicts and disagreements, spelled out.
        coverage: how many combined areas have a deprivation score and a population, in all and by level.
        notes: anything else worth saying (metadata clashes, extra columns, context indicators).
    """

    on_conflict: str = "error"
    title: str | None = None
    sources: list[SourceSummary] = dataclasses.field(default_factory=list)
    rows_in: Counter[str] = dataclasses.field(default_factory=Counter)
    rows_out: Counter[str] = dataclasses.field(default_factory=Counter)
    duplicates: Counter[str] = dataclasses.field(default_factory=Counter)
    conflicts: Counter[str] = dataclasses.field(default_factory=Counter)
    resolved: Counter[str] = dataclasses.field(default_factory=Counter)
    disagreements: Counter[str] = dataclasses.field(default_factory=Counter)
    examples: list[str] = dataclasses.field(default_factory=list)
    coverage: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """A few plain lines, for the terminal and notebooks."""
        n = len(self.sources)
        out = self.rows_out
        head = (
            f"Combined {_count(n, 'source')}{f' as {self.title!r}' if self.title else ''}: "
            f"{_count(out['values'], 'value row')} (from {self.rows_in['values']:,}), {_count(out['areas'], 'area')}, "
            f"{_count(out['spend'], 'spend row')}, {_count(out['indicators'], 'indicator')}."
        )
        lines = [head]
        for i, source in enumerate(self.sources, 1):
            lines.append(f"  {i}. {source.line()}")
            lines.extend(f"     {note}" for note in source.notes)
        dup = {k: v for k, v in self.duplicates.items() if v}
        if dup:
            lines.append("Exact duplicates kept once: " + "; ".join(f"{v:,} {k} rows" for k, v in dup.items()) + ".")
        if self.conflicts:
            total = sum(self.conflicts.values())
            lines.append(
                f"{_count(total, 'conflict')} resolved with on_conflict={self.on_conflict!r}: "
                + "; ".join(f"{k} ({v:,})" for k, v in self.resolved.items())
                + "."
            )
        else:
            lines.append("No conflicts: no two sources give different numbers for the same key.")
        if self.disagreements:
            lines.append(
                "Kept the first source's value where sources differ: "
                + "; ".join(f"{k} for {v:,} key{'s' * (v != 1)}" for k, v in self.disagreements.items())
                + "."
            )
        lines.extend(f"  {e}" for e in self.examples)
        for what in ("deprivation", "population"):
            if what in self.coverage:
                lines.append(self.coverage[what]["sentence"])
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "on_conflict": self.on_conflict,
            "sources": [s.to_dict() for s in self.sources],
            "rows_in": dict(self.rows_in),
            "rows_out": dict(self.rows_out),
            "duplicates": dict(self.duplicates),
            "conflicts": dict(self.conflicts),
            "resolved": dict(self.resolved),
            "disagreements": dict(self.disagreements),
            "examples": list(self.examples),
            "coverage": self.coverage,
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.summary()


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


@dataclasses.dataclass
class CombineResult:
    """The combined :class:`~publicservices.dataset.Dataset` and the :class:`CombineReport`.

    ``values``, ``areas``, ``spend``, ``indicators`` and ``metadata`` are the dataset's, so a
    result can be passed wherever a Dataset is read (``ps.fairness(result)``).
    """

    dataset: Dataset
    report: CombineReport

    @property
    def values(self) -> pl.DataFrame:
        return self.dataset.values

    @property
    def areas(self) -> pl.DataFrame:
        return self.dataset.areas

    @property
    def spend(self) -> pl.DataFrame:
        return self.dataset.spend

    @property
    def indicators(self) -> dict[str, Indicator]:
        return self.dataset.indicators

    @property
    def metadata(self) -> dict[str, Any]:
        return self.dataset.metadata

    def to_dataset(self) -> Dataset:
        return self.dataset

    def __repr__(self) -> str:
        return f"{self.dataset!r}\n{self.report.summary()}"
