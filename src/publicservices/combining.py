"""Combine several sources (files read, or Datasets) into one Dataset, with a report.

Values, areas, spend and indicator definitions are merged by their keys, never by a plain
join: nothing is suffixed (no ``deprivation_right``), nothing is guessed.

* **Values** are a union by ``indicator_id``, ``area_code``, ``period`` and whichever
  breakdown columns (``sex``, ``age``, ``category_type``, ``category``) any source has. A row
  given by two sources with the same numbers (``value``, ``numerator``, ``denominator``,
  ``lower_ci``, ``upper_ci`` equal within 1e-9 relative, and the same ``period_start``) is an
  exact duplicate: it is kept once and counted, its other columns coalesced in source order.
  The same key with different numbers is a **conflict**: a :class:`DataError` names the
  first ones (key, both sources, both values) unless ``on_conflict="first"`` or ``"last"``
  chooses explicitly, and the choice is counted in the report. Columns that only some
  sources have are kept (empty elsewhere).
* **Areas** are a union by ``area_code``. Every column is coalesced across sources in source
  order (the first non-empty value wins), so deprivation can come from one file, population
  from another and names from a third. Where two sources give different non-empty values the
  first is kept and the difference is counted in the report with examples, except for
  ``population`` and ``deprivation``: there a difference beyond 1e-9 relative is a conflict,
  like a value.
* **Spend** is a union by ``area_code``, ``period``, ``service`` with the values' rule on ``spend``.
* **Indicators** are a union by id; one id with two different definitions is a conflict
  (naming both sources and the fields that differ) unless ``on_conflict`` chooses.

Example:
    >>> import polars as pl
    >>> import publicservices as ps
    >>> ind = ps.Indicator(id="demo.x", title="X", sector="demo", measure="score")
    >>> a = ps.Dataset(pl.DataFrame({"indicator_id": ["demo.x"] * 2, "area_code": ["A", "B"], "period": ["2023"] * 2,
    ...                              "value": [1.0, 2.0]}),
    ...                areas=pl.DataFrame({"area_code": ["A", "B"], "area_name": ["Aston", "Brook"]}),
    ...                indicators=[ind], metadata={"title": "file a"})
    >>> b = ps.Dataset(pl.DataFrame({"indicator_id": ["demo.x"] * 2, "area_code": ["B", "C"], "period": ["2023"] * 2,
    ...                              "value": [2.0, 3.0]}),
    ...                areas=pl.DataFrame({"area_code": ["A", "B", "C"], "deprivation": [10.0, 20.0, 30.0]}),
    ...                indicators=[ind], metadata={"title": "file b"})
    >>> result = combine(a, b, name="a and b")
    >>> result.values.select("area_code", "value").rows()
    [('A', 1.0), ('B', 2.0), ('C', 3.0)]
    >>> result.areas.select("area_code", "area_name", "deprivation").rows()
    [('A', 'Aston', 10.0), ('B', 'Brook', 20.0), ('C', None, 30.0)]
    >>> result.report.duplicates["values"]
    1
"""

from __future__ import annotations

import dataclasses
import glob
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from publicservices.errors import DataError, ReaderError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator
    from publicservices.reading import LoadReport, ReadResult

__all__ = ["combine", "read_many", "CombineResult", "CombineReport", "SourceSummary", "ON_CONFLICT", "RELATIVE_TOLERANCE"]

OnConflict = Literal["error", "first", "last"]
ON_CONFLICT: tuple[str, ...] = ("error", "first", "last")
#: Two numbers closer than this (relative to the larger) are the same number.
RELATIVE_TOLERANCE = 1e-9
#: The numbers that make a values row what it is: two sources differing here conflict.
VALUE_FIELDS: tuple[str, ...] = ("value", "numerator", "denominator", "lower_ci", "upper_ci")
#: Area attributes whose disagreement is a conflict rather than a note.
AREA_NUMBERS: tuple[str, ...] = ("population", "deprivation")
_SHOWN = 5
_HELPERS = ("__src", "__row", "__n", "__diff")


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
        head = (f"Combined {_count(n, 'source')}{f' as {self.title!r}' if self.title else ''}: "
                f"{_count(out['values'], 'value row')} (from {self.rows_in['values']:,}), {_count(out['areas'], 'area')}, "
                f"{_count(out['spend'], 'spend row')}, {_count(out['indicators'], 'indicator')}.")
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
                + "; ".join(f"{k} ({v:,})" for k, v in self.resolved.items()) + "."
            )
        else:
            lines.append("No conflicts: no two sources give different numbers for the same key.")
        if self.disagreements:
            lines.append(
                "Kept the first source's value where sources differ: "
                + "; ".join(f"{k} for {v:,} key{'s' * (v != 1)}" for k, v in self.disagreements.items()) + "."
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


# -- sources ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Part:
    name: str
    values: pl.DataFrame
    areas: pl.DataFrame
    spend: pl.DataFrame
    indicators: dict[str, Indicator]
    metadata: dict[str, Any]
    truth: dict[str, Any]
    summary: SourceSummary


def _parts(parts: Sequence[Any], names: Sequence[str] | None) -> list[_Part]:
    from publicservices.dataset import Dataset
    from publicservices.frame import AREAS, validate_areas, validate_spend, validate_values
    from publicservices.reading import ReadResult

    if names is not None and len(names) != len(parts):
        raise SchemaError(f"combine: {len(parts)} sources but {len(names)} names in sources=.\nFix: give one name per source.")
    raw_names: list[str] = []
    for i, part in enumerate(parts, 1):
        if names is not None:
            raw_names.append(str(names[i - 1]))
        elif isinstance(part, ReadResult):
            raw_names.append(part.report.source)
        elif isinstance(part, Dataset):
            raw_names.append(str(part.metadata.get("title") or part.metadata.get("source") or f"dataset {i}"))
        else:
            raise SchemaError(
                f"combine: source {i} is a {type(part).__name__}, not a Dataset or a ReadResult.\n"
                "Fix: pass what publicservices.read() returns, or a publicservices.Dataset (wrap bare frames with "
                "Dataset(values=..., areas=...))."
            )
    unique = _unique(raw_names)
    out = []
    for name, part in zip(unique, parts, strict=True):
        where = f"source {name!r}"
        try:
            values = validate_values(part.values)
            spend = validate_spend(part.spend) if part.spend is not None else None
            areas = validate_areas(part.areas) if part.areas is not None else None
        except (SchemaError, DataError) as exc:
            raise type(exc)(f"{where}: {exc}") from exc
        codes = values.get_column("area_code").unique(maintain_order=True)
        if areas is None:
            areas = AREAS.empty().vstack(pl.DataFrame({"area_code": codes}).with_columns(
                pl.lit(None, dtype=dt).alias(c) for c, dt in AREAS.columns.items() if c != "area_code").select(list(AREAS.columns)))
        else:
            bare = codes.filter(~codes.is_in(areas.get_column("area_code").implode()))
            if bare.len():
                areas = pl.concat([areas, pl.DataFrame({"area_code": bare})], how="diagonal_relaxed")
        if spend is None:
            from publicservices.frame import SPEND

            spend = SPEND.empty()
        if isinstance(part, ReadResult):
            summary = SourceSummary(name=name, kind=f"read with reader {part.report.reader!r}", notes=list(part.report.notes),
                                    load_report=part.report)
            meta: dict[str, Any] = {"source": part.report.source}
            truth: dict[str, Any] = {}
        else:
            summary = SourceSummary(name=name, kind="dataset")
            meta, truth = dict(part.metadata), dict(part.truth)
        summary.values, summary.areas, summary.spend = values.height, areas.height, spend.height
        summary.indicators = len(part.indicators)
        out.append(_Part(name, values, areas, spend, dict(part.indicators), meta, truth, summary))
    return out


def _unique(names: Sequence[str]) -> list[str]:
    seen = Counter(names)
    count: Counter[str] = Counter()
    out = []
    for i, name in enumerate(names, 1):
        count[name] += 1
        out.append(name if seen[name] == 1 or count[name] == 1 else f"{name} (source {i})")
    return out


# -- comparing -------------------------------------------------------------------------------


def _close(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Both empty, or equal within RELATIVE_TOLERANCE of the larger magnitude."""
    near = ((a - b).abs() <= RELATIVE_TOLERANCE * pl.max_horizontal(a.abs(), b.abs())).fill_null(False)
    return (a.is_null() & b.is_null()) | near


def _fmt(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, float):
        return repr(value)
    return repr(value) if isinstance(value, str) else str(value)


def _label(row: Mapping[str, Any], key: Sequence[str]) -> str:
    return " | ".join("" if row[k] is None else str(row[k]) for k in key)


def _spell(field: str, pairs: Sequence[tuple[str, Any]]) -> str:
    """``value 5.0 in 'a' but 6.0 in 'b'`` (three or more: ``5.0 in 'a', 6.0 in 'b', 7.0 in 'c'``)."""
    shown = [f"{_fmt(v)} in {src!r}" for src, v in pairs]
    if len(shown) == 2:
        return f"{field} {shown[0]} but {shown[1]}"
    return f"{field} " + ", ".join(shown)


@dataclasses.dataclass
class _Problem:
    frame: str
    what: str
    key_names: str
    lines: list[str]
    total: int


def _merge_rows(
    frames: Sequence[pl.DataFrame],
    names: Sequence[str],
    *,
    frame_name: str,
    key: Sequence[str],
    numbers: Sequence[str],
    exact: Sequence[str],
    on_conflict: str,
    report: CombineReport,
    problems: list[_Problem],
) -> pl.DataFrame:
    """Union rows by ``key``: duplicates kept once, conflicts raised or resolved (see the module docstring)."""
    tagged = [f.with_columns(pl.lit(i, dtype=pl.Int32).alias("__src")) for i, f in enumerate(frames)]
    _note_mixed_types(tagged, frame_name, names, report)
    allr = pl.concat(tagged, how="diagonal_relaxed").with_row_index("__row")
    columns = [c for c in allr.columns if c not in _HELPERS]
    report.rows_in[frame_name] += allr.height
    key = list(key)
    allr = allr.with_columns(pl.len().over(key).alias("__n"))
    single = allr.filter(pl.col("__n") == 1)
    multi = allr.filter(pl.col("__n") > 1)
    pieces = [single]
    if multi.height:
        diffs = [~_close(pl.col(c), pl.col(c).first().over(key)) for c in numbers]
        diffs += [~pl.col(c).eq_missing(pl.col(c).first().over(key)) for c in exact]
        multi = multi.sort("__row").with_columns(pl.any_horizontal(diffs).any().over(key).alias("__diff"))
        same = multi.filter(~pl.col("__diff"))
        clash = multi.filter(pl.col("__diff"))
        if same.height:
            pieces.append(_dedupe(same, key, columns, [*numbers, *exact], names, frame_name, report))
        if clash.height:
            pieces.append(_resolve_rows(clash, key, [*numbers, *exact], names, frame_name, on_conflict, report, problems))
    merged = pl.concat([p.select("__row", *columns) for p in pieces], how="vertical_relaxed").sort("__row")
    return merged.select(columns)


def _note_mixed_types(frames: Sequence[pl.DataFrame], frame_name: str, names: Sequence[str], report: CombineReport) -> None:
    types: dict[str, dict[str, pl.DataType]] = {}
    for name, frame in zip(names, frames, strict=True):
        for column, dtype in frame.schema.items():
            if dtype != pl.Null:
                types.setdefault(column, {})[name] = dtype
    for column, by_source in types.items():
        if len(set(by_source.values())) > 1:
            shown = ", ".join(f"{dt} in {src!r}" for src, dt in by_source.items())
            report.notes.append(f"{frame_name}: column {column!r} has different types in different sources ({shown}); "
                                "it was combined as their common type.")


def _dedupe(same: pl.DataFrame, key: list[str], columns: list[str], compared: list[str], names: Sequence[str],
            frame_name: str, report: CombineReport) -> pl.DataFrame:
    """One row per key from rows with the same numbers: other columns coalesced in source order."""
    others = [c for c in columns if c not in key]
    extra = [c for c in others if c not in compared]
    grouped = same.group_by(key, maintain_order=True).agg(
        pl.col("__row").min(),
        pl.col("__src").sort().cast(pl.String).str.join(",").alias("__srcs"),
        pl.len().alias("__len"),
        *[pl.col(c).drop_nulls().first() for c in others],
        *[(pl.col(c).drop_nulls().n_unique() > 1).alias(f"__differs_{c}") for c in extra],
    )
    report.duplicates[frame_name] += int(grouped.get_column("__len").sum()) - grouped.height
    for srcs, n in grouped.group_by("__srcs", maintain_order=True).agg(pl.len()).iter_rows():
        shown = " and ".join(repr(names[int(s)]) for s in srcs.split(","))
        report.notes.append(f"{frame_name}: {n:,} row{'s' * (n != 1)} given by both {shown} with the same numbers, kept once.")
    for c in extra:
        flagged = grouped.filter(pl.col(f"__differs_{c}"))
        if not flagged.height:
            continue
        report.disagreements[f"{frame_name}.{c}"] += flagged.height
        for row in flagged.head(3).iter_rows(named=True):
            rows = same.join(pl.DataFrame([{k: row[k] for k in key}], schema={k: same.schema[k] for k in key}),
                             on=key, nulls_equal=True).filter(pl.col(c).is_not_null()).sort("__src")
            pairs = [(names[s], v) for s, v in rows.select("__src", c).iter_rows()]
            report.examples.append(f"{frame_name} {_label(row, key)}: {_spell(c, pairs)} (same numbers; kept {_fmt(pairs[0][1])})")
    return grouped.drop("__srcs", "__len", *[f"__differs_{c}" for c in extra])


def _resolve_rows(clash: pl.DataFrame, key: list[str], compared: list[str], names: Sequence[str], frame_name: str,
                  on_conflict: str, report: CombineReport, problems: list[_Problem]) -> pl.DataFrame:
    keys = clash.select(key).unique(maintain_order=True)
    if on_conflict == "error":
        lines = []
        for row in keys.head(_SHOWN).iter_rows(named=True):
            rows = clash.join(pl.DataFrame([row], schema={k: clash.schema[k] for k in key}), on=key, nulls_equal=True).sort("__src")
            lines.append(f"{_label(row, key)}: {_differences(rows, compared, names)}")
        problems.append(_Problem(frame_name, "keys have different numbers in different sources", " | ".join(key), lines, keys.height))
        return clash.head(0)
    best = pl.col("__src").min() if on_conflict == "first" else pl.col("__src").max()
    clash = clash.with_columns((pl.col("__src") == best.over(key)).alias("__keep"))
    kept = clash.filter(pl.col("__keep")).drop("__keep")
    report.conflicts[frame_name] += keys.height
    pairs = clash.group_by(key, maintain_order=True).agg(
        pl.col("__src").filter(pl.col("__keep")).first().alias("__kept"),
        pl.col("__src").filter(~pl.col("__keep")).sort().cast(pl.String).str.join(",").alias("__over"),
    )
    for kept_src, over, n in pairs.group_by("__kept", "__over", maintain_order=True).agg(pl.len()).iter_rows():
        dropped = " and ".join(repr(names[int(s)]) for s in over.split(","))
        report.resolved[f"{frame_name}: kept {names[kept_src]!r} over {dropped}"] += n
    for row in keys.head(3).iter_rows(named=True):
        rows = clash.join(pl.DataFrame([row], schema={k: clash.schema[k] for k in key}), on=key, nulls_equal=True).sort("__src")
        report.examples.append(f"{frame_name} {_label(row, key)}: {_differences(rows, compared, names)} "
                               f"(on_conflict={on_conflict!r})")
    return kept


def _differences(rows: pl.DataFrame, compared: Sequence[str], names: Sequence[str]) -> str:
    """The fields on which the rows of one key differ, each source's value spelled out."""
    parts = []
    first = rows.row(0, named=True)
    for c in compared:
        vals = rows.get_column(c).to_list()
        if all(_same(v, first[c]) for v in vals):
            continue
        parts.append(_spell(c, [(names[s], v) for s, v in zip(rows.get_column("__src").to_list(), vals, strict=True)]))
    return "; ".join(parts)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))
    return bool(a == b)


# -- areas -----------------------------------------------------------------------------------


def _merge_areas(frames: Sequence[pl.DataFrame], names: Sequence[str], on_conflict: str, report: CombineReport,
                 problems: list[_Problem]) -> pl.DataFrame:
    """Union by area_code; every column coalesced in source order (see the module docstring)."""
    tagged = [f.with_columns(pl.lit(i, dtype=pl.Int32).alias("__src")) for i, f in enumerate(frames)]
    _note_mixed_types(tagged, "areas", names, report)
    allr = pl.concat(tagged, how="diagonal_relaxed")
    report.rows_in["areas"] += allr.height
    columns = [c for c in allr.columns if c not in ("area_code", "__src")]
    numeric = {c for c in columns if allr.schema[c].is_numeric()}

    def differs(c: str) -> pl.Expr:
        values = pl.col(c).drop_nulls()
        if c in numeric:
            hi, lo = values.cast(pl.Float64).max(), values.cast(pl.Float64).min()
            return ((hi - lo).abs() > RELATIVE_TOLERANCE * pl.max_horizontal(hi.abs(), lo.abs())).fill_null(False)
        return values.n_unique() > 1

    def chosen(c: str) -> pl.Expr:
        values = pl.col(c).drop_nulls()
        return values.last() if (c in AREA_NUMBERS and on_conflict == "last") else values.first()

    merged = allr.group_by("area_code", maintain_order=True).agg(
        *[chosen(c) for c in columns], *[differs(c).alias(f"__differs_{c}") for c in columns])
    for c in columns:
        flagged = merged.filter(pl.col(f"__differs_{c}")).get_column("area_code")
        if not flagged.len():
            continue
        examples = []
        for code in flagged.head(_SHOWN if c in AREA_NUMBERS else 3).to_list():
            rows = allr.filter((pl.col("area_code") == code) & pl.col(c).is_not_null()).select("__src", c)
            examples.append((code, [(names[s], v) for s, v in rows.iter_rows()]))
        if c in AREA_NUMBERS:
            if on_conflict == "error":
                problems.append(_Problem(f"areas.{c}", "areas have different values in different sources", "area_code",
                                         [f"{code}: {_spell(c, pairs)}" for code, pairs in examples], flagged.len()))
                continue
            report.conflicts[f"areas.{c}"] += flagged.len()
            resolved = allr.filter(pl.col("area_code").is_in(flagged.implode()) & pl.col(c).is_not_null()).group_by(
                "area_code", maintain_order=True).agg(pl.col("__src"))
            for srcs in resolved.get_column("__src").to_list():
                kept = srcs[0] if on_conflict == "first" else srcs[-1]
                over = " and ".join(repr(names[s]) for s in srcs if s != kept)
                report.resolved[f"areas.{c}: kept {names[kept]!r} over {over}"] += 1
            report.examples.extend(f"areas {code}: {_spell(c, pairs)} (on_conflict={on_conflict!r})" for code, pairs in examples[:3])
        else:
            report.disagreements[f"areas.{c}"] += flagged.len()
            report.examples.extend(f"areas {code}: {_spell(c, pairs)} (kept {_fmt(pairs[0][1])})" for code, pairs in examples)
    return merged.select("area_code", *columns)


# -- indicators and metadata -----------------------------------------------------------------


def _merge_indicators(parts: Sequence[_Part], on_conflict: str, report: CombineReport,
                      problems: list[_Problem]) -> dict[str, Indicator]:
    given: dict[str, list[tuple[str, Indicator]]] = {}
    for part in parts:
        for ind_id, ind in part.indicators.items():
            given.setdefault(ind_id, []).append((part.name, ind))
    out: dict[str, Indicator] = {}
    lines: list[str] = []
    clashes = 0
    for ind_id, defs in given.items():
        first_name, first = defs[0]
        different = [(n, d) for n, d in defs[1:] if d != first]
        if not different:
            out[ind_id] = first
            continue
        clashes += 1
        fields = [f.name for f in dataclasses.fields(first) if any(getattr(d, f.name) != getattr(first, f.name) for _, d in defs)]
        detail = "; ".join(_spell(f, [(n, getattr(d, f)) for n, d in defs]) for f in fields)
        line = f"{ind_id!r} is defined differently in {' and '.join(repr(n) for n, _ in defs)}: {detail}"
        if on_conflict == "error":
            lines.append(line)
            continue
        name, chosen = defs[0] if on_conflict == "first" else defs[-1]
        out[ind_id] = chosen
        report.conflicts["indicators"] += 1
        over = " and ".join(repr(n) for n, _ in defs if n != name)
        report.resolved[f"indicators: kept {name!r} over {over}"] += 1
        report.examples.append(f"indicators {line} (on_conflict={on_conflict!r})")
    if lines:
        problems.append(_Problem("indicators", "indicator ids have different definitions in different sources", "id",
                                 lines[:_SHOWN], clashes))
    return out


def _override_indicators(merged: dict[str, Indicator], given: Mapping[str, Indicator] | Iterable[Indicator] | None,
                         report: CombineReport) -> None:
    """Definitions passed to combine() win over the sources' own; each replacement is noted."""
    from publicservices.indicators import Indicator

    if given is None:
        return
    items = list(given.values()) if isinstance(given, Mapping) else list(given)
    for ind in items:
        if not isinstance(ind, Indicator):
            raise SchemaError(f"indicators= must hold Indicator objects, got {type(ind).__name__}.\n"
                              "Fix: build them with publicservices.Indicator(...).")
        old = merged.get(ind.id)
        if old is not None and old != ind:
            fields = [f.name for f in dataclasses.fields(ind) if getattr(ind, f.name) != getattr(old, f.name)]
            report.notes.append(f"indicators: the definition of {ind.id!r} given in indicators= replaces the sources' "
                                f"(differing in {', '.join(fields)}).")
        merged[ind.id] = ind


def _merge_metadata(parts: Sequence[_Part], name: str | None, report: CombineReport) -> tuple[dict[str, Any], dict[str, Any]]:
    meta: dict[str, Any] = {}
    truth: dict[str, Any] = {}
    for target, attr in ((meta, "metadata"), (truth, "truth")):
        for part in parts:
            for k, v in getattr(part, attr).items():
                if k in ("title", "source", "sources", "synthetic") and attr == "metadata":
                    continue
                if k not in target:
                    target[k] = v
                elif not _equal(target[k], v):
                    report.notes.append(f"{attr} {k!r} differs between sources: kept the first ({_fmt(target[k])[:60]}).")
    titles = [part.metadata.get("title") for part in parts if part.metadata.get("title")]
    if name is not None:
        meta["title"] = name
    elif titles and all(t == titles[0] for t in titles):
        meta["title"] = titles[0]
    meta["sources"] = [part.name for part in parts]
    if any(part.metadata.get("synthetic") for part in parts):
        meta["synthetic"] = True
    return meta, truth


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, pl.DataFrame) or isinstance(b, pl.DataFrame):
        return isinstance(a, pl.DataFrame) and isinstance(b, pl.DataFrame) and a.equals(b)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable objects are different
        return False


# -- the entry points ------------------------------------------------------------------------


def combine(
    *parts: Dataset | ReadResult,
    name: str | None = None,
    on_conflict: OnConflict = "error",
    sources: Sequence[str] | None = None,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
) -> CombineResult:
    """Combine Datasets and read files into one Dataset, reporting duplicates and conflicts.

    Parameters:
        parts: :class:`~publicservices.dataset.Dataset` objects or what
            :func:`publicservices.read` returns (:class:`~publicservices.reading.ReadResult`), in
            order: where sources give different non-empty area attributes, the first wins.
        name: the combined dataset's title (``metadata["title"]``).
        on_conflict: ``"error"`` (default) raises a :class:`DataError` listing the conflicts: the
            same value, spend or area population/deprivation key, or the same indicator id, given
            differently by two sources. ``"first"`` or ``"last"`` keeps that source's row (or
            definition) and counts the choice in the report.
        sources: names for the parts in messages and the report (default: a file's name, a
            Dataset's title, else ``dataset N``).
        indicators: definitions given by you, for ids no source defines (a file in the generic
            layout) or to replace a source's definition; each replacement is noted in the report.

    Returns:
        A :class:`CombineResult`: ``.dataset`` and ``.report`` (:class:`CombineReport`).

    Rules: see the module docstring. Nothing is suffixed and nothing is dropped silently.

    Example:
        >>> import polars as pl
        >>> import publicservices as ps
        >>> ind = ps.Indicator(id="demo.x", title="X", sector="demo", measure="score")
        >>> a = ps.Dataset(pl.DataFrame({"indicator_id": ["demo.x"], "area_code": ["A"], "period": ["2023"], "value": [1.0]}),
        ...                indicators=[ind])
        >>> b = ps.Dataset(pl.DataFrame({"indicator_id": ["demo.x"], "area_code": ["A"], "period": ["2023"], "value": [1.5]}),
        ...                indicators=[ind])
        >>> combine(a, b)
        Traceback (most recent call last):
        ...
        publicservices.errors.DataError: values: 1 key has different numbers in different sources (indicator_id | area_code | period):
          demo.x | A | 2023: value 1.0 in 'dataset 1' but 1.5 in 'dataset 2'
        Fix: drop one of the sources, or choose explicitly with on_conflict="first" (keep the earlier source's) or on_conflict="last" (keep the later source's); the choice is counted in the report.
        >>> combine(a, b, on_conflict="last").values.get_column("value").to_list()
        [1.5]
    """
    from publicservices.dataset import Dataset
    from publicservices.frame import BREAKDOWN_COLUMNS, SPEND, VALUES

    given_indicators = indicators
    if on_conflict not in ON_CONFLICT:
        raise SchemaError(f"on_conflict={on_conflict!r} is not a rule.\nFix: use one of {', '.join(map(repr, ON_CONFLICT))}.")
    if not parts:
        raise SchemaError("combine: no sources given.\nFix: pass one or more Datasets or results of publicservices.read().")
    items = _parts(parts, sources)
    names = [p.name for p in items]
    report = CombineReport(on_conflict=on_conflict, title=name, sources=[p.summary for p in items])
    problems: list[_Problem] = []
    breakdowns = [c for c in BREAKDOWN_COLUMNS if any(c in p.values.columns for p in items)]
    values = _merge_rows([p.values for p in items], names, frame_name="values", key=[*VALUES.key, *breakdowns],
                         numbers=list(VALUE_FIELDS), exact=["period_start"], on_conflict=on_conflict,
                         report=report, problems=problems)
    spend = _merge_rows([p.spend for p in items], names, frame_name="spend", key=list(SPEND.key), numbers=["spend"],
                        exact=[], on_conflict=on_conflict, report=report, problems=problems)
    areas = _merge_areas([p.areas for p in items], names, on_conflict, report, problems)
    indicators = _merge_indicators(items, on_conflict, report, problems)
    _override_indicators(indicators, given_indicators, report)
    if problems:
        raise DataError(_conflict_message(problems))
    metadata, truth = _merge_metadata(items, name, report)
    dataset = Dataset(values=values, areas=areas, spend=spend, indicators=indicators, truth=truth, metadata=metadata)
    report.rows_out.update(values=dataset.values.height, areas=dataset.areas.height, spend=dataset.spend.height,
                           indicators=len(dataset.indicators))
    report.coverage = _coverage(dataset.areas)
    context = [i for i, ind in dataset.indicators.items() if ind.is_context]
    if context:
        shown = ", ".join(context[:4]) + (f" and {len(context) - 4} more" if len(context) > 4 else "")
        report.notes.append(f"{len(context)} context indicator{'s' * (len(context) != 1)} (role='context') kept in the "
                            f"values as context, not compared: {shown}.")
    return CombineResult(dataset=dataset, report=report)


def _conflict_message(problems: Sequence[_Problem]) -> str:
    blocks = []
    for p in problems:
        what = p.what.replace("keys have", "key has").replace("areas have", "area has").replace("ids have", "id has") \
            if p.total == 1 else p.what
        head = f"{p.frame}: {p.total:,} {what} ({p.key_names}):"
        body = [f"  {line}" for line in p.lines]
        if p.total > len(p.lines):
            body.append(f"  ... and {p.total - len(p.lines):,} more")
        blocks.append("\n".join([head, *body]))
    return ("\n".join(blocks) + '\nFix: drop one of the sources, or choose explicitly with on_conflict="first" (keep the '
            'earlier source\'s) or on_conflict="last" (keep the later source\'s); the choice is counted in the report.')


def _coverage(areas: pl.DataFrame) -> dict[str, Any]:
    """How many combined areas have a deprivation score and a population, overall and by level."""
    out: dict[str, Any] = {}
    level = "level" if "level" in areas.columns else None
    for column in ("deprivation", "population"):
        if column not in areas.columns:
            continue
        have = pl.col(column).is_not_null()
        n = int(areas.select(have.sum()).item())
        entry: dict[str, Any] = {"areas": areas.height, "with": n}
        parts = []
        if level is not None:
            by = (areas.group_by(pl.col(level).fill_null("other"), maintain_order=True)
                  .agg(have.sum().alias("with"), pl.len().alias("of")).sort(level))
            entry["by_level"] = {lv: {"with": int(w), "of": int(o)} for lv, w, o in by.iter_rows()}
            parts = [f"{lv} {w:,} of {o:,}" for lv, w, o in by.iter_rows() if w]
        if n:
            sentence = f"{column.capitalize()}: {n:,} of {areas.height:,} combined areas have a {'score' if column == 'deprivation' else 'population'}"
            sentence += f" ({'; '.join(parts)})." if parts else "."
        else:
            sentence = f"{column.capitalize()}: none of the {areas.height:,} combined areas has a {'score' if column == 'deprivation' else 'population'}."
        if column == "deprivation" and n and level is not None:
            lower_tier_only = all(lv in ("shire_district", "unitary", "metropolitan_district", "london_borough")
                                  for lv, e in entry["by_level"].items() if e["with"])
            missing_upper = entry["by_level"].get("shire_county", {}).get("of", 0) and not entry["by_level"]["shire_county"]["with"]
            if lower_tier_only and missing_upper:
                sentence += (" Shire counties have none: scores for lower-tier districts are not aggregated to upper tier "
                             "(that needs population weights and the boundary changes since the scores' year).")
        entry["sentence"] = sentence
        out[column] = entry
    return out


def read_many(
    paths_or_globs: str | Path | Iterable[str | Path],
    *,
    format: str | Mapping[str, str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    on_conflict: OnConflict = "error",
    name: str | None = None,
    indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
) -> CombineResult:
    """Read several files (paths or glob patterns) and :func:`combine` them into one dataset.

    Parameters:
        paths_or_globs: a path or pattern, or a list of them (``"data/health_*.csv"``). A
            pattern matching no file is an error; files are read in the order given, each
            pattern's matches sorted by name, and a file matched twice is read once.
        format: one reader name for every file, or ``{path or file name: reader name}``;
            files not named are sniffed.
        options: ``{path or file name: {option: value}}`` passed to that file's reader.
        on_conflict: see :func:`combine`.
        name: the combined dataset's title.
        indicators: definitions for ids the files do not define (see :func:`combine`).

    Example:
        >>> import publicservices as ps
        >>> result = ps.read_many(["health_*.csv", "context_imd2019_lad_summary.csv"])   # doctest: +SKIP
        >>> print(result.report.summary())                                             # doctest: +SKIP
    """
    from publicservices.reading import read

    paths = _expand(paths_or_globs)
    used: set[str] = set()
    results = []
    for path in paths:
        fmt = _lookup(format, path, used, "format") if isinstance(format, Mapping) else format
        opts = _lookup(options, path, used, "options") if options else None
        results.append(read(path, format=fmt, **dict(opts or {})))
    for kind, mapping in (("format", format), ("options", options)):
        if isinstance(mapping, Mapping):
            unused = [k for k in mapping if f"{kind}:{k}" not in used]
            if unused:
                raise ReaderError(
                    f"read_many: {kind}= names {', '.join(map(repr, unused))}, which match none of the files read "
                    f"({', '.join(p.name for p in paths)}).\nFix: key {kind}= by a path as given or by a file name."
                )
    names = [r.report.source for r in results]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return combine(*results, name=name, on_conflict=on_conflict, sources=names, indicators=indicators)


def _expand(paths_or_globs: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths_or_globs] if isinstance(paths_or_globs, (str, Path)) else list(paths_or_globs)
    if not items:
        raise ReaderError("read_many: no paths given.\nFix: pass a path, a glob pattern such as 'data/*.csv', or a list of them.")
    out: list[Path] = []
    seen: set[Path] = set()
    for item in items:
        text = str(item)
        if isinstance(item, str) and glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise ReaderError(f"read_many: the pattern {text!r} matches no file.\nFix: check the folder and the pattern.")
            found = [Path(m) for m in matches]
        else:
            found = [Path(item)]
        for path in found:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                out.append(path)
    return out


def _lookup(mapping: Mapping[str, Any] | None, path: Path, used: set[str], kind: str) -> Any:
    if not mapping:
        return None
    for k, v in mapping.items():
        bare_name = Path(k).name == str(k) and str(k) == path.name
        if str(k) == str(path) or bare_name or Path(k).resolve() == path.resolve():
            used.add(f"{kind}:{k}")
            return v
    return None
