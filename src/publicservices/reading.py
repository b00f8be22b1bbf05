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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import ReaderError

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
        """Wrap as a :class:`~publicservices.dataset.Dataset`, validated at the door."""
        from publicservices.dataset import Dataset

        return Dataset(
            values=self.values,
            areas=kwargs.pop("areas", self.areas),
            spend=kwargs.pop("spend", self.spend),
            indicators=kwargs.pop("indicators", None) or self.indicators or None,
            **kwargs,
        )


@dataclasses.dataclass(frozen=True)
class Reader:
    """A named file layout.

    Parameters:
        name: unique short name, used by ``read(path, format=name)``.
        description: one line shown by ``publicservices readers``.
        sniff: ``sniff(columns) -> bool``: does a header with these column names belong
            to this layout? Must be cheap and must not read the file itself.
        read: ``read(path, **options) -> ReadResult``.
        extensions: file endings the reader accepts.
    """

    name: str
    description: str
    sniff: Callable[[Sequence[str]], bool]
    read: Callable[..., ReadResult]
    extensions: tuple[str, ...] = (".csv",)


def readers() -> dict[str, Reader]:
    """Every registered reader by name (loads plugins on first use)."""
    from publicservices.plugins import get_registry

    return get_registry().readers()


def read_header(path: str | Path) -> list[str]:
    """The column names of a CSV or Parquet file, without reading its rows."""
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise ReaderError(f"file {str(path)!r} does not exist.\nFix: check the path.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return list(pl.read_parquet_schema(path))
        return list(pl.scan_csv(path, infer_schema=False).collect_schema())
    except Exception as exc:  # noqa: BLE001 - turn any parse failure into a named error
        raise ReaderError(
            f"cannot read the header of {str(path)!r}: {exc}\nFix: pass a UTF-8 CSV with a header row, or a Parquet file."
        ) from exc


def sniff(path: str | Path) -> Reader:
    """The first registered reader whose ``sniff`` recognises the file's header."""
    columns = read_header(path)
    suffix = Path(path).suffix.lower()
    candidates = [r for r in readers().values() if suffix in r.extensions]
    # The generic contract layout is the fallback: specific layouts first.
    candidates.sort(key=lambda r: r.name == "contract")
    for reader in candidates:
        if reader.sniff(columns):
            return reader
    names = ", ".join(sorted(readers()))
    raise ReaderError(
        f"no reader recognises the columns of {str(path)!r}: {columns[:12]}{' ...' if len(columns) > 12 else ''}\n"
        f"Fix: name a reader with format= (one of {names}), or map the columns onto the data contract with "
        f"publicservices.read_csv(path, mapping={{'your column': 'area_code', ...}})."
    )


def read(path: str | Path, format: str | None = None, **options: Any) -> ReadResult:
    """Read a published data file through the reader that recognises it (or ``format``).

    Example:
        >>> import publicservices as ps
        >>> result = ps.read("values.csv")            # doctest: +SKIP
        >>> print(result.report.summary())            # doctest: +SKIP
    """
    if format is None:
        reader = sniff(path)
    else:
        available = readers()
        if format not in available:
            raise ReaderError(
                f"unknown reader {format!r}.\nFix: use one of {', '.join(sorted(available))} "
                f"(see `publicservices readers`)."
            )
        reader = available[format]
    return reader.read(Path(path), **options)


def count_reasons(values: Mapping[str, int]) -> Counter[str]:
    """A Counter without zero entries (readers build reports from group counts)."""
    return Counter({k: int(v) for k, v in values.items() if v})


def read_csv(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    constants: Mapping[str, Any] | None = None,
    reader_name: str = "csv",
) -> ReadResult:
    """Read any CSV (or Parquet) file, mapping its columns onto the data contract.

    Parameters:
        path: the file.
        mapping: ``{file column: contract column}``, e.g. ``{"Area Code": "area_code"}``.
            Columns not mentioned keep their names (and are kept as extra columns).
        constants: contract columns to set to one value for every row, e.g.
            ``{"indicator_id": "welfare.claimant_rate"}`` for a file of one indicator.

    An ``area_name`` column, if mapped, becomes the areas frame. Empty ``value`` cells
    stay as missing values and are counted in the report.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read_csv("claimants.csv",                                 # doctest: +SKIP
        ...     mapping={"period_start": "period_start", "value": "value"},
        ...     constants={"indicator_id": "welfare.claimant_rate"})
    """
    import polars as pl

    from publicservices.frame import to_polars, validate_areas, validate_values

    path = Path(path)
    frame = to_polars(path, name=path.name)
    mapping = dict(mapping or {})
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
    frame = frame.drop(clashes).rename(mapping)
    if constants:
        frame = frame.with_columns(pl.lit(v).alias(k) for k, v in constants.items())
    if "period" not in frame.columns and "period_start" in frame.columns:
        frame = frame.with_columns(pl.col("period_start").cast(pl.String).alias("period"))
    areas = None
    if "area_name" in frame.columns:
        areas = validate_areas(frame.select("area_code", "area_name").unique(subset="area_code", keep="first", maintain_order=True))
        frame = frame.drop("area_name")
    values = validate_values(frame)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=frame.height, rows_kept=values.height)
    empty = values.filter(pl.col("value").is_null() & pl.col("numerator").is_null()).height
    if empty:
        report.missing["empty in the source file"] = empty
    return ReadResult(values=values, report=report, areas=areas)
