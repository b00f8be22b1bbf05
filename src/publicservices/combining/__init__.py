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

import glob
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.combining.merge import (
    Problem,
    merge_areas,
    merge_indicators,
    merge_metadata,
    merge_rows,
    override_indicators,
    source_parts,
)
from publicservices.combining.report import CombineReport, CombineResult, SourceSummary
from publicservices.combining.rules import ON_CONFLICT, RELATIVE_TOLERANCE, VALUE_FIELDS, OnConflict
from publicservices.errors import DataError, ReaderError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator
    from publicservices.reading import ReadResult

__all__ = ["combine", "read_many", "CombineResult", "CombineReport", "SourceSummary", "ON_CONFLICT", "RELATIVE_TOLERANCE"]


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
    items = source_parts(parts, sources)
    names = [p.name for p in items]
    report = CombineReport(on_conflict=on_conflict, title=name, sources=[p.summary for p in items])
    problems: list[Problem] = []
    breakdowns = [c for c in BREAKDOWN_COLUMNS if any(c in p.values.columns for p in items)]
    values = merge_rows(
        [p.values for p in items],
        names,
        frame_name="values",
        key=[*VALUES.key, *breakdowns],
        numbers=list(VALUE_FIELDS),
        exact=["period_start"],
        on_conflict=on_conflict,
        report=report,
        problems=problems,
    )
    spend = merge_rows(
        [p.spend for p in items],
        names,
        frame_name="spend",
        key=list(SPEND.key),
        numbers=["spend"],
        exact=[],
        on_conflict=on_conflict,
        report=report,
        problems=problems,
    )
    areas = merge_areas([p.areas for p in items], names, on_conflict, report, problems)
    indicators = merge_indicators(items, on_conflict, report, problems)
    override_indicators(indicators, given_indicators, report)
    if problems:
        raise DataError(_conflict_message(problems))
    metadata, truth = merge_metadata(items, name, report)
    dataset = Dataset(values=values, areas=areas, spend=spend, indicators=indicators, truth=truth, metadata=metadata)
    report.rows_out.update(
        values=dataset.values.height, areas=dataset.areas.height, spend=dataset.spend.height, indicators=len(dataset.indicators)
    )
    report.coverage = _coverage(dataset.areas)
    context = [i for i, ind in dataset.indicators.items() if ind.is_context]
    if context:
        shown = ", ".join(context[:4]) + (f" and {len(context) - 4} more" if len(context) > 4 else "")
        report.notes.append(
            f"{len(context)} context indicator{'s' * (len(context) != 1)} (role='context') kept in the "
            f"values as context, not compared: {shown}."
        )
    return CombineResult(dataset=dataset, report=report)


def _conflict_message(problems: Sequence[Problem]) -> str:
    blocks = []
    for p in problems:
        what = (
            p.what.replace("keys have", "key has").replace("areas have", "area has").replace("ids have", "id has")
            if p.total == 1
            else p.what
        )
        head = f"{p.frame}: {p.total:,} {what} ({p.key_names}):"
        body = [f"  {line}" for line in p.lines]
        if p.total > len(p.lines):
            body.append(f"  ... and {p.total - len(p.lines):,} more")
        blocks.append("\n".join([head, *body]))
    return (
        "\n".join(blocks) + '\nFix: drop one of the sources, or choose explicitly with on_conflict="first" (keep the '
        "earlier source's) or on_conflict=\"last\" (keep the later source's); the choice is counted in the report."
    )


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
            by = (
                areas.group_by(pl.col(level).fill_null("other"), maintain_order=True)
                .agg(have.sum().alias("with"), pl.len().alias("of"))
                .sort(level)
            )
            entry["by_level"] = {lv: {"with": int(w), "of": int(o)} for lv, w, o in by.iter_rows()}
            parts = [f"{lv} {w:,} of {o:,}" for lv, w, o in by.iter_rows() if w]
        if n:
            sentence = f"{column.capitalize()}: {n:,} of {areas.height:,} combined areas have a {'score' if column == 'deprivation' else 'population'}"
            sentence += f" ({'; '.join(parts)})." if parts else "."
        else:
            sentence = f"{column.capitalize()}: none of the {areas.height:,} combined areas has a {'score' if column == 'deprivation' else 'population'}."
        if column == "deprivation" and n and level is not None:
            lower_tier_only = all(
                lv in ("shire_district", "unitary", "metropolitan_district", "london_borough")
                for lv, e in entry["by_level"].items()
                if e["with"]
            )
            missing_upper = (
                entry["by_level"].get("shire_county", {}).get("of", 0) and not entry["by_level"]["shire_county"]["with"]
            )
            if lower_tier_only and missing_upper:
                sentence += (
                    " Shire counties have none: scores for lower-tier districts are not aggregated to upper tier "
                    "(that needs population weights and the boundary changes since the scores' year)."
                )
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
