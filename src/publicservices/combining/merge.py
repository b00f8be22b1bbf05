"""Merging by key: rows (values, spend), areas, indicator definitions and metadata, conflicts named."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.combining.report import CombineReport, SourceSummary
from publicservices.combining.rules import AREA_NUMBERS, HELPERS, RELATIVE_TOLERANCE, SHOWN
from publicservices.errors import DataError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Indicator


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


def source_parts(parts: Sequence[Any], names: Sequence[str] | None) -> list[_Part]:
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
            areas = AREAS.empty().vstack(
                pl.DataFrame({"area_code": codes})
                .with_columns(pl.lit(None, dtype=dt).alias(c) for c, dt in AREAS.columns.items() if c != "area_code")
                .select(list(AREAS.columns))
            )
        else:
            bare = codes.filter(~codes.is_in(areas.get_column("area_code").implode()))
            if bare.len():
                areas = pl.concat([areas, pl.DataFrame({"area_code": bare})], how="diagonal_relaxed")
        if spend is None:
            from publicservices.frame import SPEND

            spend = SPEND.empty()
        if isinstance(part, ReadResult):
            summary = SourceSummary(
                name=name, kind=f"read with reader {part.report.reader!r}", notes=list(part.report.notes), load_report=part.report
            )
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
class Problem:
    frame: str
    what: str
    key_names: str
    lines: list[str]
    total: int


def merge_rows(
    frames: Sequence[pl.DataFrame],
    names: Sequence[str],
    *,
    frame_name: str,
    key: Sequence[str],
    numbers: Sequence[str],
    exact: Sequence[str],
    on_conflict: str,
    report: CombineReport,
    problems: list[Problem],
) -> pl.DataFrame:
    """Union rows by ``key``: duplicates kept once, conflicts raised or resolved (see the module docstring)."""
    tagged = [f.with_columns(pl.lit(i, dtype=pl.Int32).alias("__src")) for i, f in enumerate(frames)]
    _note_mixed_types(tagged, frame_name, names, report)
    allr = pl.concat(tagged, how="diagonal_relaxed").with_row_index("__row")
    columns = [c for c in allr.columns if c not in HELPERS]
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
            report.notes.append(
                f"{frame_name}: column {column!r} has different types in different sources ({shown}); "
                "it was combined as their common type."
            )


def _dedupe(
    same: pl.DataFrame,
    key: list[str],
    columns: list[str],
    compared: list[str],
    names: Sequence[str],
    frame_name: str,
    report: CombineReport,
) -> pl.DataFrame:
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
            rows = (
                same.join(
                    pl.DataFrame([{k: row[k] for k in key}], schema={k: same.schema[k] for k in key}), on=key, nulls_equal=True
                )
                .filter(pl.col(c).is_not_null())
                .sort("__src")
            )
            pairs = [(names[s], v) for s, v in rows.select("__src", c).iter_rows()]
            report.examples.append(
                f"{frame_name} {_label(row, key)}: {_spell(c, pairs)} (same numbers; kept {_fmt(pairs[0][1])})"
            )
    return grouped.drop("__srcs", "__len", *[f"__differs_{c}" for c in extra])


def _resolve_rows(
    clash: pl.DataFrame,
    key: list[str],
    compared: list[str],
    names: Sequence[str],
    frame_name: str,
    on_conflict: str,
    report: CombineReport,
    problems: list[Problem],
) -> pl.DataFrame:
    keys = clash.select(key).unique(maintain_order=True)
    if on_conflict == "error":
        lines = []
        for row in keys.head(SHOWN).iter_rows(named=True):
            rows = clash.join(pl.DataFrame([row], schema={k: clash.schema[k] for k in key}), on=key, nulls_equal=True).sort(
                "__src"
            )
            lines.append(f"{_label(row, key)}: {_differences(rows, compared, names)}")
        problems.append(
            Problem(frame_name, "keys have different numbers in different sources", " | ".join(key), lines, keys.height)
        )
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
        report.examples.append(
            f"{frame_name} {_label(row, key)}: {_differences(rows, compared, names)} (on_conflict={on_conflict!r})"
        )
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


def merge_areas(
    frames: Sequence[pl.DataFrame], names: Sequence[str], on_conflict: str, report: CombineReport, problems: list[Problem]
) -> pl.DataFrame:
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
        *[chosen(c) for c in columns], *[differs(c).alias(f"__differs_{c}") for c in columns]
    )
    for c in columns:
        flagged = merged.filter(pl.col(f"__differs_{c}")).get_column("area_code")
        if not flagged.len():
            continue
        examples = []
        for code in flagged.head(SHOWN if c in AREA_NUMBERS else 3).to_list():
            rows = allr.filter((pl.col("area_code") == code) & pl.col(c).is_not_null()).select("__src", c)
            examples.append((code, [(names[s], v) for s, v in rows.iter_rows()]))
        if c in AREA_NUMBERS:
            if on_conflict == "error":
                problems.append(
                    Problem(
                        f"areas.{c}",
                        "areas have different values in different sources",
                        "area_code",
                        [f"{code}: {_spell(c, pairs)}" for code, pairs in examples],
                        flagged.len(),
                    )
                )
                continue
            report.conflicts[f"areas.{c}"] += flagged.len()
            resolved = (
                allr.filter(pl.col("area_code").is_in(flagged.implode()) & pl.col(c).is_not_null())
                .group_by("area_code", maintain_order=True)
                .agg(pl.col("__src"))
            )
            for srcs in resolved.get_column("__src").to_list():
                kept = srcs[0] if on_conflict == "first" else srcs[-1]
                over = " and ".join(repr(names[s]) for s in srcs if s != kept)
                report.resolved[f"areas.{c}: kept {names[kept]!r} over {over}"] += 1
            report.examples.extend(
                f"areas {code}: {_spell(c, pairs)} (on_conflict={on_conflict!r})" for code, pairs in examples[:3]
            )
        else:
            report.disagreements[f"areas.{c}"] += flagged.len()
            report.examples.extend(f"areas {code}: {_spell(c, pairs)} (kept {_fmt(pairs[0][1])})" for code, pairs in examples)
    return merged.select("area_code", *columns)


# -- indicators and metadata -----------------------------------------------------------------


def merge_indicators(
    parts: Sequence[_Part], on_conflict: str, report: CombineReport, problems: list[Problem]
) -> dict[str, Indicator]:
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
        problems.append(
            Problem("indicators", "indicator ids have different definitions in different sources", "id", lines[:SHOWN], clashes)
        )
    return out


def override_indicators(
    merged: dict[str, Indicator], given: Mapping[str, Indicator] | Iterable[Indicator] | None, report: CombineReport
) -> None:
    """Definitions passed to combine() win over the sources' own; each replacement is noted."""
    from publicservices.indicators import Indicator

    if given is None:
        return
    items = list(given.values()) if isinstance(given, Mapping) else list(given)
    for ind in items:
        if not isinstance(ind, Indicator):
            raise SchemaError(
                f"indicators= must hold Indicator objects, got {type(ind).__name__}.\n"
                "Fix: build them with publicservices.Indicator(...)."
            )
        old = merged.get(ind.id)
        if old is not None and old != ind:
            fields = [f.name for f in dataclasses.fields(ind) if getattr(ind, f.name) != getattr(old, f.name)]
            report.notes.append(
                f"indicators: the definition of {ind.id!r} given in indicators= replaces the sources' "
                f"(differing in {', '.join(fields)})."
            )
        merged[ind.id] = ind


def merge_metadata(parts: Sequence[_Part], name: str | None, report: CombineReport) -> tuple[dict[str, Any], dict[str, Any]]:
    meta: dict[str, Any] = {}
    truth: dict[str, Any] = {}
    for target, attr in ((meta, "metadata"), (truth, "truth")):
        for part in parts:
            for k, v in getattr(part, attr).items():
                if k in ("title", "source", "sources", "synthetic", "readers") and attr == "metadata":
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
    readers = list(dict.fromkeys(r for part in parts for r in part.metadata.get("readers") or ()))
    if readers:  # every reader the parts came through (a site names the plugins it used)
        meta["readers"] = readers
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
