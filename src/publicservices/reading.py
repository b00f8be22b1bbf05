"""Readers: published file layouts in, the data contract out.

A :class:`Reader` recognises a layout from its header (``sniff``) and reads it into a
:class:`ReadResult`: a values frame in the contract, optionally an areas frame and
indicator definitions, and a :class:`LoadReport` that counts every row read, kept, or set
aside and every cell left missing, with the reason. Nothing is dropped without being
counted.

Readers come from plugins (the ``publicservices_readers`` hook); the core registers its
own through the same hook.

Example:
    >>> import publicservices as ps
    >>> "contract" in ps.readers()
    True
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import ReaderError, SchemaError
from publicservices.file_layouts import Reader

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator

__all__ = ["Reader", "ReadResult", "LoadReport", "read", "read_csv", "readers", "read_header", "sniff"]


@dataclasses.dataclass
class LoadReport:
    """What a read did: rows in, rows out, and every missing or set-aside cell by reason."""

    source: str
    reader: str
    rows_read: int = 0
    rows_kept: int = 0
    missing: Counter[str] = dataclasses.field(default_factory=Counter)
    set_aside: Counter[str] = dataclasses.field(default_factory=Counter)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def rows_set_aside(self) -> int:
        return sum(self.set_aside.values())

    def summary(self) -> str:
        """A few plain lines, for the terminal and notebooks."""
        lines = [f"{self.source}: read {self.rows_read:,} rows with reader {self.reader!r}, kept {self.rows_kept:,}."]
        if self.missing:
            total = sum(self.missing.values())
            reasons = "; ".join(f"{n:,} {why}" for why, n in self.missing.most_common())
            lines.append(f"{total:,} values are missing: {reasons}.")
        else:
            lines.append("No values are missing.")
        if self.set_aside:
            reasons = "; ".join(f"{n:,} {why}" for why, n in self.set_aside.most_common())
            lines.append(f"{self.rows_set_aside:,} rows set aside: {reasons}.")
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "reader": self.reader,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "missing": dict(self.missing),
            "set_aside": dict(self.set_aside),
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.summary()


@dataclasses.dataclass
class ReadResult:
    """The output of a reader: contract frames plus the load report."""

    values: pl.DataFrame
    report: LoadReport
    areas: pl.DataFrame | None = None
    spend: pl.DataFrame | None = None
    indicators: dict[str, Indicator] = dataclasses.field(default_factory=dict)

    def to_dataset(self, **kwargs: Any) -> Dataset:
        """Wrap as a :class:`~publicservices.dataset.Dataset`, validated at the door.

        The reader used is kept in ``metadata["readers"]``, so a site names the plugins its
        data actually came through (:func:`publicservices.site.build.versions`).
        """
        from publicservices.dataset import Dataset

        metadata = {"readers": [self.report.reader], **(kwargs.pop("metadata", None) or {})}
        return Dataset(
            values=self.values,
            areas=kwargs.pop("areas", self.areas),
            spend=kwargs.pop("spend", self.spend),
            indicators=kwargs.pop("indicators", None) or self.indicators or None,
            metadata=metadata,
            **kwargs,
        )


def readers() -> dict[str, Reader]:
    """Every registered reader by name (loads plugins on first use)."""
    from publicservices.plugins import get_registry

    return get_registry().readers()


def read_header(path: str | Path) -> list[str]:
    """The column names of a CSV or Parquet file, or of the table in a workbook, without reading its rows."""
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise ReaderError(f"file {str(path)!r} does not exist.\nFix: check the path.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return list(pl.read_parquet_schema(path))
        from publicservices.csv_files import csv_header

        # the same decoding as the read itself: any encoding, CR-only line endings
        return csv_header(path)
    except SchemaError as exc:  # already names the file and the fix (a workbook, say)
        raise ReaderError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - turn any parse failure into a named error
        raise ReaderError(
            f"cannot read the header of {str(path)!r}: {exc}\nFix: pass a UTF-8 CSV with a header row, or a Parquet file."
        ) from exc


def sniff(path: str | Path) -> Reader:
    """The registered reader whose ``sniff`` recognises the file's header.

    Only readers whose ``extensions`` cover the file are asked. A built-in reader that
    recognises the file wins; otherwise the one plugin reader that does; several plugin
    readers are reported as ambiguous (name one with ``format=``); the generic ``contract``
    layout is the fallback. A ``sniff`` that raises is left out for this file, and one that
    accepts made-up column names (it would claim every file) is left out of sniffing, each
    with a :class:`~publicservices.plugins.PluginWarning`; both stay usable with ``format=``.
    """
    import warnings

    from publicservices.plugins import PluginWarning, get_registry

    columns = read_header(path)
    name = Path(path).name
    suffix = Path(path).suffix.lower()
    from publicservices.workbooks import WORKBOOK_SUFFIXES

    if suffix in WORKBOOK_SUFFIXES:  # a workbook's table is read as a CSV file's is
        suffix = ".csv"
    registry = get_registry()
    claims: list[Reader] = []
    for reader in registry.readers().values():  # built-in readers first, in registration order
        if suffix not in reader.extensions:
            continue
        info = registry.reader_plugin(reader.name)
        owner = info.label if info else "an unknown plugin"
        if _claims_anything(reader):
            warnings.warn(
                f"reader {reader.name!r} ({owner}) accepts a header of made-up column names, so it would claim "
                f"every file; it is left out of sniffing and used only when named with format={reader.name!r}.\n"
                "Fix: its sniff(columns) must test for the columns of its layout.",
                PluginWarning,
                stacklevel=2,
            )
            continue
        try:
            recognised = bool(reader.sniff(columns))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - one faulty reader must not break every read
            warnings.warn(
                f"reader {reader.name!r} ({owner}) was left out of sniffing {name}: its sniff raised "
                f"{type(exc).__name__}: {exc}.\nFix: sniff(columns) must return True or False for any header.",
                PluginWarning,
                stacklevel=2,
            )
            continue
        if recognised:
            claims.append(reader)
    specific = [r for r in claims if r.name != CONTRACT_READER]
    builtin = [r for r in specific if (info := registry.reader_plugin(r.name)) is not None and info.builtin]
    if builtin:
        return builtin[0]
    if len(specific) == 1:
        return specific[0]
    if len(specific) > 1:
        listed = ", ".join(
            f"{r.name!r} ({info.label if (info := registry.reader_plugin(r.name)) else 'unknown plugin'})" for r in specific
        )
        raise ReaderError(
            f"{len(specific)} readers recognise the columns of {name!r}: {listed}.\n"
            f"Fix: name one with format=, e.g. publicservices.read(path, format={specific[0].name!r}) "
            f"or `publicservices validate --format {specific[0].name} FILE`."
        )
    if claims:
        return claims[0]
    names = ", ".join(sorted(registry.readers()))
    trouble = None
    if suffix not in (".parquet", ".pq") and Path(path).suffix.lower() not in WORKBOOK_SUFFIXES:
        from publicservices.csv_files import header_trouble

        trouble = header_trouble(path)
    if trouble is not None:  # the layout is not the problem: the first line is not a header
        raise ReaderError(f"no reader recognises the columns of {str(path)!r}: {trouble[0]}.\nFix: {trouble[1]}")
    raise ReaderError(
        f"no reader recognises the columns of {str(path)!r}: {columns[:12]}{' ...' if len(columns) > 12 else ''}\n"
        f"Fix: name a reader with format= (one of {names}), or map the columns onto the data contract with "
        f"publicservices.read_csv(path, mapping={{'your column': 'area_code', ...}})." + registry.disabled_hint()
    )


CONTRACT_READER = "contract"
"""The generic layout: the fallback when no specific reader recognises a file."""

# A header no real layout has: a sniff that accepts it would claim every file.
_PROBE_HEADER = ("__no_such_column_a__", "__no_such_column_b__", "__no_such_column_c__")
_GREEDY: weakref.WeakKeyDictionary[Reader, bool] = weakref.WeakKeyDictionary()


def _claims_anything(reader: Reader) -> bool:
    """Does the reader's ``sniff`` accept a header of made-up column names?"""
    try:
        return _GREEDY[reader]
    except (KeyError, TypeError):
        pass
    try:
        greedy = bool(reader.sniff(list(_PROBE_HEADER)))
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a sniff that fails on nonsense is not greedy; real calls are guarded
        greedy = False
    try:
        _GREEDY[reader] = greedy
    except TypeError:  # pragma: no cover - an unhashable reader: probe every time
        pass
    return greedy


def read(path: str | Path, format: str | None = None, *, sheet: str | None = None, **options: Any) -> ReadResult:
    """Read a published data file through the reader that recognises it (or ``format``).

    ``sheet`` names the sheet of a workbook (.xlsx, .xls, .ods) to read; by default, the one
    sheet that holds a table. Other keywords go to the reader.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read("values.csv")            # doctest: +SKIP
        >>> print(result.report.summary())            # doctest: +SKIP
        >>> tables = ps.read("release.xlsx", sheet="Table_2")   # doctest: +SKIP
    """
    from publicservices.workbooks import chosen_sheet

    _check_sheet(path, sheet)
    with chosen_sheet(sheet):
        return _read(path, format, **options)


def _check_sheet(path: str | Path, sheet: str | None) -> None:
    from publicservices.workbooks import WORKBOOK_SUFFIXES

    if sheet is not None and Path(path).suffix.lower() not in WORKBOOK_SUFFIXES:
        raise ReaderError(
            f"sheet={sheet!r} names a sheet of a workbook, but {Path(path).name} is not one (.xlsx, .xlsm, .xls, .ods).\n"
            "Fix: leave sheet out."
        )


def _read(path: str | Path, format: str | None, **options: Any) -> ReadResult:
    if format is None:
        reader = sniff(path)
    else:
        from publicservices.plugins import get_registry

        registry = get_registry()
        available = registry.readers()
        if format not in available:
            error = registry.explain_missing("reader", format)
            if error is not None:
                raise error
            raise ReaderError(
                f"unknown reader {format!r}.\nFix: use one of {', '.join(sorted(available))} "
                f"(see `publicservices readers`)." + registry.disabled_hint()
            )
        reader = available[format]
    from publicservices.csv_files import read_notes

    # What it took to read the file (its encoding, line endings, blank lines) goes first in
    # the report, whichever reader read it.
    with read_notes() as notes:
        result = reader.read(Path(path), **options)
    result.report.notes[:0] = [n for n in notes if n not in result.report.notes]
    return result


def count_reasons(values: Mapping[str, int]) -> Counter[str]:
    """A Counter without zero entries (readers build reports from group counts)."""
    return Counter({k: int(v) for k, v in values.items() if v})


def missing_counts(values: pl.DataFrame) -> Counter[str]:
    """How many values of a frame are missing, by ``missing_reason`` (in the reasons' order, so
    that reasons with equal counts are listed the same way every time)."""
    import polars as pl

    counts = values.filter(pl.col("missing_reason").is_not_null()).group_by("missing_reason").len().sort("missing_reason")
    return count_reasons(dict(counts.iter_rows()))


def read_csv(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    constants: Mapping[str, Any] | None = None,
    reader_name: str = "csv",
    sheet: str | None = None,
) -> ReadResult:
    """Read any CSV (or Parquet) file, mapping its columns onto the data contract.

    Parameters:
        path: the file.
        mapping: ``{file column: contract column}``, e.g. ``{"Area Code": "area_code"}``.
            Columns not mentioned keep their names (and are kept as extra columns).
        constants: contract columns to set to one value for every row, e.g.
            ``{"indicator_id": "welfare.claimant_rate"}`` for a file of one indicator.
        sheet: the sheet of a workbook to read (default: the one that holds a table).

    An ``area_name`` column, if mapped, becomes the areas frame. Empty ``value`` cells
    stay as missing values and are counted in the report.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read_csv("claimants.csv",                                 # doctest: +SKIP
        ...     mapping={"period_start": "period_start", "value": "value"},
        ...     constants={"indicator_id": "welfare.claimant_rate"})
    """
    import polars as pl

    from publicservices.csv_files import read_notes
    from publicservices.frame import to_polars, validate_areas, validate_values

    path = Path(path)
    mapping = dict(mapping or {})
    targets: dict[str, list[str]] = {}
    for source, target in mapping.items():
        targets.setdefault(target, []).append(source)
    twice = {t: s for t, s in targets.items() if len(s) > 1}
    if twice:
        shown = "; ".join(f"{', '.join(map(repr, s))} all map onto {t!r}" for t, s in twice.items())
        raise ReaderError(
            f"{path.name}: the mapping gives one contract column two sources: {shown}.\n"
            "Fix: map one file column onto each contract column."
        )
    from publicservices.workbooks import chosen_sheet

    _check_sheet(path, sheet)
    with read_notes() as read_notes_, chosen_sheet(sheet):
        frame = to_polars(path, name=path.name)
    notes = list(read_notes_)
    absent = [source for source in mapping if source not in frame.columns]
    if absent:
        import difflib

        hints = [
            f"{a!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(a, frame.columns, n=1)) else "")
            for a in absent
        ]
        raise ReaderError(
            f"{path.name}: mapping names column(s) {', '.join(hints)} that the file does not have.\n"
            f"Columns in the file: {', '.join(frame.columns)}.\nFix: correct the mapping's keys."
        )
    clashes = [target for source, target in mapping.items() if target in frame.columns and target not in mapping]
    for target in clashes:
        notes.append(f"The file's own {target!r} column was left out: the mapping puts {targets[target][0]!r} there.")
    frame = frame.drop(clashes).rename(mapping)
    if constants:
        for column in constants:
            if column in frame.columns:
                notes.append(f"The file's {column!r} column was replaced by the constant {constants[column]!r}.")
        frame = frame.with_columns(pl.lit(v).alias(k) for k, v in constants.items())
    if "period" not in frame.columns and "period_start" in frame.columns:
        frame = frame.with_columns(pl.col("period_start").cast(pl.String).alias("period"))
    names = frame.get_column("area_name") if "area_name" in frame.columns else None
    if names is not None:
        frame = frame.drop("area_name")
    values = validate_values(frame)
    areas = None
    if names is not None:
        areas, note = _latest_names(values, names)
        areas = validate_areas(areas)
        if note:
            notes.append(note)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=frame.height, rows_kept=values.height, notes=notes)
    if not frame.height:
        report.notes.append("The file has a header but no data rows.")
    empty = values.filter(pl.col("value").is_null() & pl.col("numerator").is_null()).height
    if empty:
        report.missing["empty in the source file"] = empty
    return ReadResult(values=values, report=report, areas=areas)


def _latest_names(values: pl.DataFrame, names: pl.Series) -> tuple[pl.DataFrame, str | None]:
    """One name per area code: its latest period's (the last such row), and a note when names differ.

    ``values`` is the validated frame, row for row with ``names``.
    """
    import polars as pl

    rows = values.select("area_code", "period", "period_start").with_columns(names.alias("area_name")).with_row_index("_row")
    named = rows.filter(pl.col("area_name").is_not_null())
    latest = named.sort("period_start", "_row").group_by("area_code", maintain_order=True).last()
    areas = (
        rows.select("area_code")
        .unique(maintain_order=True)
        .join(latest.select("area_code", "area_name"), on="area_code", how="left", maintain_order="left")
    )
    several = (
        named.group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").unique(maintain_order=True).alias("names"))
        .filter(pl.col("names").list.len() > 1)
        .join(latest.select("area_code", pl.col("area_name").alias("kept"), pl.col("period").alias("latest")), on="area_code")
    )
    if not several.height:
        return areas, None
    examples = "; ".join(
        f"{code}: {' / '.join(repr(n) for n in found[:3])}{' ...' if len(found) > 3 else ''} -> {kept!r} ({latest})"
        for code, found, kept, latest in several.head(3).select("area_code", "names", "kept", "latest").iter_rows()
    )
    more = f" and {several.height - 3:,} more" if several.height > 3 else ""
    note = f"{several.height:,} area code(s) have more than one area_name; each keeps its latest period's name: {examples}{more}."
    return areas, note
