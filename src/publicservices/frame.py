"""The tidy data contract, checked once at the door.

Three long frames carry everything (see DESIGN.md):

* **values** -- one row per indicator x area x period (x optional breakdown such as sex);
* **areas** -- one row per area: name, type, region, population, deprivation, covariates;
* **spend** -- one row per area x period x service: pounds spent.

``validate_values``, ``validate_areas`` and ``validate_spend`` accept a Polars DataFrame or
LazyFrame, a pandas DataFrame, or a CSV/Parquet path, and return a Polars DataFrame with
the contract's dtypes and column order (absent optional columns are added as nulls, other
columns are kept after them). Strings are cast where that is lossless (``"12"`` to 12.0);
anything else raises a :class:`~publicservices.errors.SchemaError` or
:class:`~publicservices.errors.DataError` that names the column, shows up to five
offending rows by key and says how to fix it. Nothing is dropped or coerced to null.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"indicator_id": ["health.x"], "area_code": ["E06000001"],
    ...                       "period": ["2023/24"], "numerator": ["12"], "denominator": [40]})
    >>> validate_values(frame).select("numerator", "denominator", "period_start").row(0)
    (12.0, 40.0, datetime.date(2023, 1, 1))
    >>> validate_values(frame.rename({"area_code": "area_cod"}))
    Traceback (most recent call last):
    ...
    publicservices.errors.SchemaError: values: required column 'area_code' is missing (did you mean 'area_cod'?).
    Columns present: indicator_id, area_cod, period, numerator, denominator.
    Fix: rename the column to 'area_code', or read the file with publicservices.read_csv(path, mapping={'your column': 'area_code'}).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import io
import re
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.errors import DataError, SchemaError, problem

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Indicator

__all__ = [
    "VALUES",
    "AREAS",
    "SPEND",
    "BREAKDOWN_COLUMNS",
    "Schema",
    "validate_values",
    "validate_areas",
    "validate_spend",
    "to_polars",
    "read_table",
    "read_notes",
    "csv_header",
    "period_start_from_label",
    "PERIOD_YEARS",
    "MAX_MAGNITUDE",
    "MIN_DENOMINATOR",
]

FrameLike = Any  # pl.DataFrame | pl.LazyFrame | pandas.DataFrame | str | Path


@dataclass(frozen=True)
class Schema:
    """A contract frame: its columns and dtypes, which are required, and its key."""

    name: str
    columns: Mapping[str, pl.DataType]
    required: tuple[str, ...]
    key: tuple[str, ...]

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=dict(self.columns))


VALUES = Schema(
    "values",
    {
        "indicator_id": pl.String(),
        "area_code": pl.String(),
        "period": pl.String(),
        "period_start": pl.Date(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
        "value": pl.Float64(),
        "lower_ci": pl.Float64(),
        "upper_ci": pl.Float64(),
    },
    required=("indicator_id", "area_code", "period"),
    key=("indicator_id", "area_code", "period"),
)
AREAS = Schema(
    "areas",
    {
        "area_code": pl.String(),
        "area_name": pl.String(),
        "area_type": pl.String(),
        "parent_code": pl.String(),
        "population": pl.Float64(),
        "deprivation": pl.Float64(),
    },
    required=("area_code",),
    key=("area_code",),
)
SPEND = Schema(
    "spend",
    {
        "area_code": pl.String(),
        "period": pl.String(),
        "service": pl.String(),
        "spend": pl.Float64(),
    },
    required=("area_code", "period", "service", "spend"),
    key=("area_code", "period", "service"),
)
# Optional breakdown columns of the values frame: part of the key when present.
BREAKDOWN_COLUMNS: tuple[str, ...] = ("sex", "age", "category_type", "category")
# The comparable set a row is compared within (added by publicservices.comparison_values).
SET_COLUMN = "comparable_set"
_MAX_SHOWN = 5
_NUMERIC = ("numerator", "denominator", "value", "lower_ci", "upper_ci")
#: The years a period may start in. Anything outside is a typo or a parsing accident
#: (``-0001-01-01``), and would break date arithmetic further on.
PERIOD_YEARS = (1800, 2200)
#: Larger than any count, population or sum of money in public services. A number above it is
#: a unit error or a parsing accident (``1e300``), and above 2**53 whole numbers stop being exact.
MAX_MAGNITUDE = 1e15
#: A denominator counts people, person-years or expected events: one above zero but below this
#: is a unit error or a number mangled on export (``5e-324``), and its reciprocal overflows the
#: statistics that weight by it.
MIN_DENOMINATOR = 1e-15
#: Columns the statistics add to a values frame (interval limits at a level: ``lower_95``,
#: ``upper_998``): a frame carrying them is a result passed on, not a misspelt contract column.
_DERIVED = re.compile(r"^(lower|upper)_\d+$")


# -- input ---------------------------------------------------------------------------------


def to_polars(data: FrameLike, *, name: str = "frame") -> pl.DataFrame:
    """Turn any accepted input into an eager Polars DataFrame.

    CSV files are read with every column as text, so that the contract's lossless casting
    (and its clear errors) decide each column's type rather than the CSV parser's guess.
    Files go through :func:`read_table`: what it had to do to read one (another encoding
    than UTF-8, old line endings, blank lines) goes to the load report of the reader at
    work (see :func:`read_notes`), or is a warning outside a reader.
    """
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, (str, Path)):
        frame, notes = read_table(data, name=name)
        _tell(notes)
        return frame
    if _is_pandas(data):
        try:
            return pl.from_pandas(data)
        except Exception as exc:  # noqa: BLE001
            raise SchemaError(f"{name}: cannot convert the pandas DataFrame to Polars: {exc}\nFix: check its column dtypes.") from exc
    raise SchemaError(
        f"{name}: expected a Polars DataFrame or LazyFrame, a pandas DataFrame, or a CSV/Parquet path; "
        f"got {type(data).__name__}.\nFix: pass one of those."
    )


def _is_pandas(obj: Any) -> bool:
    # Never import pandas ourselves: if it is not imported, obj cannot be a pandas frame.
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


# -- reading files -------------------------------------------------------------------------
#
# A CSV file is read exactly or not at all: its encoding is detected (and named when it is
# not UTF-8), old line endings are read as line breaks (and said), blank lines are skipped
# (and counted), and a row with fewer or more cells than the header is an error naming its
# line, never padded with blanks or cut short.

_NOTES: ContextVar[list[str] | None] = ContextVar("publicservices_read_notes", default=None)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# A quoted cell (kept as it is) or a carriage return not followed by a line feed.
_BARE_CR = re.compile(r'"[^"]*(?:""[^"]*)*"|\r(?!\n)')
_NON_ASCII_CELL = re.compile(r'[^,\n"]*[^\x00-\x7f][^,\n"]*')
_HEADER_BYTES = 1 << 20
# A well-formed UTF-8 sequence of two to four bytes (rare by chance in text in other encodings).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@contextlib.contextmanager
def read_notes() -> Iterator[list[str]]:
    """Collect the notes :func:`to_polars` makes on the files it reads, for a load report.

    ``ps.read`` and ``ps.read_csv`` wrap every reader in it, so a reader's ``LoadReport`` says
    when a file was not UTF-8, had old line endings or blank lines. Blocks nest: an inner
    block's notes reach the outer one too. Outside any block the notes are warnings.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "names.csv"
        >>> _ = path.write_bytes("area_code,area_name\\nW06000001,Ynys Môn\\n".encode("cp1252"))
        >>> with read_notes() as notes:
        ...     frame = to_polars(path)
        >>> frame.item(0, "area_name"), notes
        ('Ynys Môn', ["names.csv: read as windows-1252 (not UTF-8), e.g. 'Ynys Môn'; if such text looks wrong, save the file as UTF-8 and read it again."])
    """
    outer = _NOTES.get()
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)
        if outer is not None:
            outer.extend(n for n in notes if n not in outer)


def _tell(notes: Sequence[str]) -> None:
    sink = _NOTES.get()
    if sink is None:
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=4)
    else:
        sink.extend(n for n in notes if n not in sink)


def read_table(path: str | Path, *, name: str = "frame") -> tuple[pl.DataFrame, list[str]]:
    """Read a CSV (every column as text) or Parquet file, with notes on how it was read.

    For a CSV file:

    * **encoding**: UTF-8 (with or without a byte-order mark); a UTF-16/32 file with a
      byte-order mark; otherwise Windows-1252, when the text reads as Western European (what
      Excel and most UK public-sector systems write when they do not write UTF-8); otherwise
      the encoding ``charset-normalizer`` detects. Any encoding but UTF-8 is noted, with
      examples of the text it gave. A file no encoding reads cleanly is an error.
    * **line endings**: carriage returns without line feeds (old Mac files) are line breaks,
      and noted;
    * **blank lines** are skipped and counted in a note;
    * **rows with fewer or more cells than the header** are an error naming their lines. Only
      extra cells that are all empty (trailing commas) are ignored, and counted in a note.

    Returns:
        the frame and the notes (each starts with the file name).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "old.csv"
        >>> _ = path.write_bytes(b"area_code,value\\rE06000001,1\\rE06000002,2\\r")
        >>> frame, notes = read_table(path)
        >>> frame.height, notes
        (2, ['old.csv: lines end with a carriage return only (an old Mac format); read as line breaks.'])
    """
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{name}: file {str(path)!r} does not exist.\nFix: check the path.")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pl.read_parquet(path), []
        except Exception as exc:  # noqa: BLE001
            raise SchemaError(f"{name}: cannot read {str(path)!r}: {exc}\nFix: pass a Parquet file, or a CSV with a header row.") from exc
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"{name}: cannot read {str(path)!r}: {exc}\nFix: check the path and its permissions.") from exc
    where = path.name if name == path.name else f"{name}: {path.name}"
    notes: list[str] = []
    text, encoding = _decode(raw, where)
    if encoding is not None:
        examples = list(dict.fromkeys(m.strip() for m in _NON_ASCII_CELL.findall(text, 0, 1 << 20)))[:3]
        shown = f", e.g. {', '.join(repr(_short(e)) for e in examples)}" if examples else ""
        notes.append(f"{path.name}: read as {encoding} (not UTF-8){shown}; if such text looks wrong, "
                     "save the file as UTF-8 and read it again.")
    text, endings = _line_breaks(text)
    if endings:
        notes.append(f"{path.name}: {endings}")
    data = raw if encoding is None and not endings else text.encode("utf-8")
    # Polars refuses a row with too many cells but pads a short one with nulls, and reads a
    # blank line as a row of nulls. So the rows are counted cell by cell (in Python, slower
    # than Polars) when Polars fails, or when the last column has an empty cell that may be
    # padding; a file whose last column is always filled needs no count.
    blank: list[tuple[int, int]] = []
    trailing = 0
    try:
        frame: pl.DataFrame | None = pl.read_csv(data, infer_schema=False, null_values=[""])
        failure: Exception | None = None
    except Exception as exc:  # noqa: BLE001
        frame, failure = None, exc
    if frame is None or (frame.width and frame.get_column(frame.columns[-1]).null_count()):
        blank, trailing = _check_rows(text, where)
    del text
    if frame is None:
        try:
            if not trailing:
                raise failure  # type: ignore[misc]
            frame = pl.read_csv(data, infer_schema=False, null_values=[""], truncate_ragged_lines=True)
        except Exception as exc:  # noqa: BLE001
            raise SchemaError(
                f"{name}: cannot read {str(path)!r}: {exc}\nFix: pass a CSV with a header row (UTF-8 is best), or a Parquet file."
            ) from exc
    if trailing:
        notes.append(f"{path.name}: {trailing:,} row(s) end with empty cells beyond the header's columns (trailing commas); "
                     "those empty cells were ignored.")
    if blank:
        # Polars reads a blank line as a row of nulls; it holds nothing, so it goes, counted.
        rows = pl.Series("_blank", [i for i, _ in blank], dtype=pl.UInt32)
        indexed = frame.with_row_index("_blank")
        empty = indexed.filter(pl.col("_blank").is_in(rows.implode())).drop("_blank")
        if empty.height == len(blank) and not any(empty.get_column(c).is_not_null().any() for c in empty.columns):
            frame = indexed.filter(~pl.col("_blank").is_in(rows.implode())).drop("_blank")
            lines = ", ".join(str(line) for _, line in blank[:_MAX_SHOWN]) + (" ..." if len(blank) > _MAX_SHOWN else "")
            notes.append(f"{path.name}: skipped {len(blank):,} blank line(s) (line {lines}).")
    return frame, notes


def csv_header(path: str | Path) -> list[str]:
    """The column names of a CSV file, decoded and split the way :func:`read_table` reads it.

    Reads at most the first megabyte, so sniffing a large file stays cheap; a Latin-1 header
    or one ended by a bare carriage return comes back as it will be read.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "old.csv"
        >>> _ = path.write_bytes("Area Code,Área\\rE06000001,1\\r".encode("cp1252"))
        >>> csv_header(path)
        ['Area Code', 'Área']
    """
    path = Path(path)
    with path.open("rb") as handle:
        raw = handle.read(_HEADER_BYTES)
    if len(raw) == _HEADER_BYTES:
        bom = next((codec for bom, codec in _BOMS if raw.startswith(bom)), None)
        if bom in ("utf-16", "utf-32"):
            raw = raw[: len(raw) - len(raw) % 4]
        else:
            raw = raw[: max(raw.rfind(b"\n"), raw.rfind(b"\r")) + 1] or raw
    text, _ = _decode(raw, path.name, lenient=True)
    text, _ = _line_breaks(text)
    with _big_fields():
        try:
            return next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error as exc:
            raise SchemaError(f"{path.name}: cannot read the header: {exc}.\nFix: check the file is a CSV.") from exc


def _decode(raw: bytes, where: str, *, lenient: bool = False) -> tuple[str, str | None]:
    """The file's text, and the encoding's name when it is not UTF-8."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec, errors="ignore" if lenient else "strict"), None if codec == "utf-8-sig" else _encoding_name(codec)
            except UnicodeDecodeError as exc:
                raise SchemaError(
                    f"{where}: starts with a {_encoding_name(codec)} byte-order mark but is not valid {_encoding_name(codec)} "
                    f"(byte {exc.start:,}).\nFix: save the file again as UTF-8."
                ) from exc
    if b"\x00" not in raw:  # text in UTF-16 without a byte-order mark is valid UTF-8, NULs and all
        try:
            return raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            if lenient and exc.start >= len(raw) - 3:  # a header sample may end mid-character
                return raw[: exc.start].decode("utf-8", errors="replace"), None
            if not lenient and _UTF8_SEQUENCE.search(raw):
                # Some accented letters are UTF-8 and some are not: whichever way it is read, some
                # names come out garbled. Typically rows pasted in from another file.
                line = raw.count(b"\n", 0, exc.start) + 1 if b"\n" in raw else raw.count(b"\r", 0, exc.start) + 1
                raise SchemaError(
                    f"{where}: mixes text encodings: some of its accented letters are UTF-8, but line {line:,} has bytes "
                    f"that are not ({raw[exc.start:exc.end]!r}), so some names would be garbled however it is read.\n"
                    "Fix: open the file in a text editor, correct the text on that line (and any like it), and save it as UTF-8."
                ) from exc
    guessed = _guess_encoding(raw)
    if guessed is None:
        raise SchemaError(
            f"{where}: cannot tell the file's text encoding: it is not UTF-8, and no other encoding reads it cleanly.\n"
            "Fix: save the file as UTF-8 (in Excel: Save As > CSV UTF-8) and read it again."
        )
    name = _encoding_name(guessed)
    return raw.decode(guessed, errors="replace" if lenient else "strict"), None if name == "UTF-8" else name


def _guess_encoding(raw: bytes) -> str | None:
    # Windows-1252 first. It is what Excel and most UK public-sector systems write when they
    # do not write UTF-8, and detection on a few words of English or Welsh guesses wildly
    # (a Baltic code page for 'Ynys Môn', a Japanese one for '£5'). It is taken when every byte
    # decodes and the accented letters sit inside ordinary words, as in Western European
    # text; text in another script decodes to long runs of accented letters instead.
    if b"\x00" not in raw:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            non_ascii = len(text) - len(text.encode("ascii", "ignore"))
            in_runs = sum(len(run) for run in re.findall(r"[^\x00-\x7f]{3,}", text))
            if in_runs <= non_ascii / 2:
                return "cp1252"
    import charset_normalizer

    best = charset_normalizer.from_bytes(raw).best()
    return None if best is None else best.encoding


def _encoding_name(codec: str) -> str:
    name = codecs.lookup(codec).name
    if re.fullmatch(r"cp125\d", name):
        return "windows-" + name[2:]
    return name.upper() if name.startswith(("utf", "iso")) else name


def _line_breaks(text: str) -> tuple[str, str | None]:
    """Read bare carriage returns (outside quoted cells) as line breaks; say so when there were any."""
    bare = text.count("\r") - text.count("\r\n")
    if bare <= 0:
        return text, None
    replaced = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal replaced
        if match.group() == "\r":
            replaced += 1
            return "\n"
        return match.group()

    fixed = _BARE_CR.sub(swap, text)
    if not replaced:
        return text, None  # carriage returns inside quoted cells are text
    if "\n" not in text:
        return fixed, "lines end with a carriage return only (an old Mac format); read as line breaks."
    return fixed, f"{replaced:,} line(s) end with a carriage return alone; read as line breaks."


@contextlib.contextmanager
def _big_fields() -> Iterator[None]:
    old = csv.field_size_limit(1 << 30)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _check_rows(text: str, where: str) -> tuple[list[tuple[int, int]], int]:
    """Blank lines (row index, line number) and rows with only empty extra cells; raise on ragged rows.

    The fast path counts cells per row; lines are only traced when a count is off.
    """
    with _big_fields():
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            if header is None:
                raise SchemaError(f"{where}: the file is empty.\nFix: pass a CSV with a header row and data rows.")
            if not header:
                raise SchemaError(f"{where}: the first line is blank.\nFix: put the column names on the first line.")
            width = len(header)
            counts = Counter(map(len, reader))
        except csv.Error as exc:
            raise SchemaError(f"{where}: cannot read line {reader.line_num:,}: {exc}.\n"
                              "Fix: check the file is a CSV (a NUL byte usually means it is not text).") from exc
        if set(counts) <= {width}:
            return [], 0
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        previous = reader.line_num
        blank: list[tuple[int, int]] = []
        ragged: list[str] = []
        n_ragged = trailing = 0
        for index, row in enumerate(reader):
            line, previous = previous + 1, reader.line_num
            if len(row) == width:
                continue
            if not row:
                blank.append((index, line))
            elif len(row) > width and not any(row[width:]):
                trailing += 1
            else:
                n_ragged += 1
                if len(ragged) < _MAX_SHOWN:
                    ragged.append(f"line {line:,}: {len(row)} cell{'s' if len(row) != 1 else ''}")
    if ragged:
        columns = ", ".join(header[:6]) + (", ..." if width > 6 else "")
        raise SchemaError(
            f"{where}: "
            + problem(
                None,
                f"rows do not have the header's {width} cells ({columns})",
                rows=ragged,
                total=n_ragged,
                fix="give every row one cell per column: look for a missing or extra comma, and put cells that contain "
                'commas in double quotes ("Hackney, City of London"). Rows are never padded or cut to fit.',
            )
        )
    return blank, trailing


# -- shared checks -------------------------------------------------------------------------


def _row_labels(frame: pl.DataFrame, mask: pl.Series | pl.Expr, key: Sequence[str]) -> tuple[list[str], int]:
    """Up to five offending rows, shown by key (with row numbers), and how many there are."""
    cols = [c for c in key if c in frame.columns]
    bad = frame.with_row_index("_row").filter(mask)
    total = bad.height
    # Lists, structs and binary cells cannot be cast to text: they are shown as Python shows them.
    shown = bad.head(_MAX_SHOWN).select(
        "_row", *[pl.col(c).cast(pl.String) if _printable(frame.schema[c]) else pl.col(c) for c in cols]
    )
    labels = [
        f"row {r[0] + 1}: " + " | ".join(_short("<null>" if v is None else str(v)) for v in r[1:]) if cols else f"row {r[0] + 1}"
        for r in shown.iter_rows()
    ]
    return labels, total


def _printable(dtype: pl.DataType) -> bool:
    """Can a column of this type be cast to text?"""
    return not (dtype.is_nested() or dtype in (pl.Binary, pl.Object))


def _short(value: str) -> str:
    value = value.replace("\n", "\\n")
    return value if len(value) <= 40 else value[:37] + "..."


def _nearest(name: str, candidates: Sequence[str]) -> str | None:
    lowered = {c.lower().strip(): c for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _check_columns(frame: pl.DataFrame, schema: Schema, extra_required: Sequence[str] = ()) -> None:
    present = frame.columns
    for column in (*schema.required, *extra_required):
        if column in present:
            continue
        guess = _nearest(column, [c for c in present if c not in schema.columns])
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise SchemaError(
            f"{schema.name}: required column {column!r} is missing{hint}.\n"
            f"Columns present: {', '.join(present)}.\n"
            f"Fix: rename the column to {column!r}, or read the file with "
            f"publicservices.read_csv(path, mapping={{'your column': {column!r}}})."
        )
    # An unknown column that looks like an absent contract column is almost surely a typo:
    # ignoring it would silently lose that data.
    absent = [c for c in schema.columns if c not in present]
    for column in present:
        if column in schema.columns or column in BREAKDOWN_COLUMNS or _DERIVED.match(column):
            continue
        guess = _nearest(column, absent)
        if guess:
            raise SchemaError(
                f"{schema.name}: column {column!r} is not in the data contract; it looks like a misspelling of {guess!r}.\n"
                f"Fix: rename {column!r} to {guess!r} (or to something unlike any contract column if it is extra data)."
            )


def _cast_column(frame: pl.DataFrame, column: str, dtype: pl.DataType, schema: Schema, key: Sequence[str]) -> pl.Series:
    """Cast one column losslessly or raise, naming the rows whose values would change."""
    series = frame.get_column(column)
    if series.dtype == dtype:
        return series
    if series.dtype == pl.Null:
        return series.cast(dtype)
    source = series.dtype
    if dtype == pl.String():
        if source.is_integer() or source == pl.Categorical or source == pl.Enum:
            return series.cast(pl.String)
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(),
                           f"holds {source} values, which are not codes")
    if dtype == pl.Float64():
        if source.is_numeric():
            cast = series.cast(pl.Float64)
            # Integers beyond 2**53 do not survive as floats.
            if source.is_integer():
                lossy = series.is_not_null() & (cast.cast(source, strict=False) != series)
                if lossy.any():
                    return _cast_error(frame, column, dtype, schema, key, lossy, "holds integers too large to store exactly")
            return cast
        if source == pl.String:
            stripped = series.str.strip_chars()
            cast = stripped.cast(pl.Float64, strict=False)
            bad = stripped.is_not_null() & (stripped != "") & cast.is_null()
            if bad.any():
                examples = series.filter(bad).unique(maintain_order=True).head(3).to_list()
                return _cast_error(frame, column, dtype, schema, key, bad,
                                   f"holds text that is not a number (e.g. {', '.join(repr(e) for e in examples)})")
            empty = stripped.is_not_null() & (stripped == "")
            return pl.Series(column, cast).set(empty, None) if empty.any() else cast
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not numbers")
    if dtype == pl.Date():
        if source == pl.Datetime or isinstance(source, pl.Datetime):
            cast = series.dt.date()
            lossy = series.is_not_null() & (series.dt.truncate("1d") != series)
            if lossy.any():
                return _cast_error(frame, column, dtype, schema, key, lossy, "holds date-times with a time of day")
            return cast
        if source == pl.String:
            stripped = series.str.strip_chars()
            cast = stripped.str.to_date("%Y-%m-%d", strict=False)
            bad = stripped.is_not_null() & cast.is_null()
            if bad.any():
                return _cast_error(frame, column, dtype, schema, key, bad, "holds text that is not an ISO date (YYYY-MM-DD)")
            return cast
        return _cast_error(frame, column, dtype, schema, key, series.is_not_null(), f"holds {source} values, not dates")
    raise AssertionError(f"no cast rule for {dtype}")  # pragma: no cover - schemas only use the three


def _cast_error(frame, column, dtype, schema, key, mask, what) -> pl.Series:  # noqa: ANN001
    rows, total = _row_labels(frame, mask, key)
    raise SchemaError(
        f"{schema.name}: "
        + problem(
            column,
            f"{what} and cannot be converted to {dtype} without losing information",
            rows=rows,
            total=total,
            fix=f"correct or blank out those cells so that {column!r} holds only {dtype} values.",
        )
    )


def _conform(frame: pl.DataFrame, schema: Schema, key: Sequence[str]) -> pl.DataFrame:
    """Cast present contract columns, add absent ones as nulls, contract columns first."""
    cast = {c: _cast_column(frame, c, dt, schema, key) for c, dt in schema.columns.items() if c in frame.columns}
    missing = [pl.lit(None, dtype=dt).alias(c) for c, dt in schema.columns.items() if c not in frame.columns]
    out = frame.with_columns(*cast.values(), *missing) if (cast or missing) else frame
    extra = [c for c in frame.columns if c not in schema.columns]
    return out.select(*schema.columns, *extra)


def _raise_if(frame: pl.DataFrame, mask: pl.Expr, column: str | None, what: str, fix: str, key: Sequence[str],
              schema: Schema, error: type = DataError) -> None:
    flags = frame.select(mask.fill_null(False).alias("_bad")).get_column("_bad")
    if flags.any():
        rows, total = _row_labels(frame, flags, key)
        raise error(f"{schema.name}: " + problem(column, what, rows=rows, total=total, fix=fix))


def _check_not_null(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(frame, pl.col(column).is_null(), column, "is empty", key=key, schema=schema,
                  fix=f"every row needs a {column!r}: fill it in, or remove rows that are not data (such as totals or notes).")


def _check_finite(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(frame, pl.col(column).is_nan() | pl.col(column).is_infinite(), column, "holds NaN or infinite values",
                  key=key, schema=schema, fix="leave missing values empty (null) instead of NaN, and check the division that made infinities.")


def _check_magnitude(frame: pl.DataFrame, columns: Sequence[str], schema: Schema, key: Sequence[str]) -> None:
    for column in columns:
        _raise_if(frame, pl.col(column).abs() > MAX_MAGNITUDE, column, "is implausibly large (above 10^15)",
                  key=key, schema=schema,
                  fix="no count, population or sum of money in public services is this large; look for a unit error, "
                  "a misplaced column, or a number mangled on export (such as 1e300), and correct or blank the cell.")


def _check_unique(frame: pl.DataFrame, key: Sequence[str], schema: Schema) -> None:
    mask = pl.struct(key).is_duplicated()
    _raise_if(frame, mask, ", ".join(key), "has duplicated keys", key=key, schema=schema,
              fix=f"keep one row per ({', '.join(key)}); if rows differ by a breakdown (sex, age ...), add that column.")


# -- periods -------------------------------------------------------------------------------



def period_start_from_label(label: pl.Expr) -> pl.Expr:
    """Derive a sortable ``period_start`` from labels like ``2023``, ``2022/23``, ``2021-23``, ``2024 Q2``.

    The start is only used for ordering: ``2022/23`` and ``2022-24`` both start on
    1 January 2022 (the first year). Labels in no known pattern give null, which validation
    reports as a period that cannot be ordered.

    Example:
        >>> import polars as pl
        >>> pl.DataFrame({"p": ["2022/23", "2019", "2024 Q3", "2020-01-31", "later"]}).select(
        ...     period_start_from_label(pl.col("p"))).to_series().to_list()
        [datetime.date(2022, 1, 1), datetime.date(2019, 1, 1), datetime.date(2024, 7, 1), datetime.date(2020, 1, 31), None]
    """
    text = label.str.strip_chars()
    year = text.str.extract(r"^(\d{4})(?:\s*(?:[/\-–]\s*(?:\d{2}|\d{4}))?)$", 1)
    quarter = text.str.extract(r"(?i)^(\d{4})\s*[- ]?Q([1-4])$", 2)
    quarter_year = text.str.extract(r"(?i)^(\d{4})\s*[- ]?Q([1-4])$", 1)
    iso = text.str.to_date("%Y-%m-%d", strict=False)
    return (
        pl.when(iso.is_not_null())
        .then(iso)
        .when(year.is_not_null())
        .then(pl.date(year.cast(pl.Int32, strict=False), 1, 1))
        .when(quarter.is_not_null())
        .then(pl.date(quarter_year.cast(pl.Int32, strict=False), quarter.cast(pl.Int32, strict=False) * 3 - 2, 1))
        .otherwise(None)
        .alias("period_start")
    )


# -- the three validators ------------------------------------------------------------------


def validate_values(
    data: FrameLike,
    indicators: Mapping[str, Indicator] | None = None,
    *,
    breakdowns: Sequence[str] | None = None,
    ordered: bool = True,
) -> pl.DataFrame:
    """Check and normalise a values frame.

    Parameters:
        data: frame, pandas frame, or CSV/Parquet path.
        indicators: known indicators by id; when given, unknown ids are an error and
            proportions are checked for numerator <= denominator.
        breakdowns: extra key columns (default: whichever of ``sex``, ``age``,
            ``category_type``, ``category`` are present). A ``comparable_set`` column (a
            frame laid out by :func:`publicservices.comparison_values`) is part of the key too.
        ordered: when False, a period whose start cannot be derived from its label keeps a
            null ``period_start`` instead of being an error: for a statistic that orders such
            periods by their labels (``ps.fairness``). A ``period_start`` that is given is
            still checked.

    Every public function that takes a plain values frame instead of a Dataset (``ps.outcomes``,
    ``ps.fairness``, ``ps.compare``, ``ps.rank_areas`` ...) checks it here first, so a frame
    is held to the same contract whichever door it comes through.

    Returns:
        The frame with contract dtypes; absent optional columns added as nulls;
        ``period_start`` derived from the period label where absent.
    """
    frame = to_polars(data, name="values")
    _check_columns(frame, VALUES)
    if breakdowns is None:
        breakdowns = [c for c in BREAKDOWN_COLUMNS if c in frame.columns]
    # A frame laid out by comparable set (publicservices.comparison_values) holds an area once
    # per set it belongs to: the set is part of the key, as it is for every statistic.
    key = (*VALUES.key, *breakdowns, *([SET_COLUMN] if SET_COLUMN in frame.columns else []))
    for column in breakdowns:
        if column not in frame.columns:
            raise SchemaError(f"values: breakdown column {column!r} is missing.\nFix: add it or leave it out of breakdowns=.")
    derive_start = "period_start" not in frame.columns
    frame = _conform(frame, VALUES, key)
    for column in breakdowns:
        dtype = frame.schema[column]
        if not _printable(dtype):
            _cast_error(frame, column, pl.String(), VALUES, key, frame.get_column(column).is_not_null(),
                        f"holds {dtype} values, which are not categories")
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in breakdowns if frame.schema[c] != pl.String)
    _check_not_null(frame, VALUES.key, VALUES, key)
    if derive_start:
        frame = frame.with_columns(period_start_from_label(pl.col("period")))
    _check_periods(frame, key, ordered=ordered)
    _check_finite(frame, _NUMERIC, VALUES, key)
    _check_magnitude(frame, _NUMERIC, VALUES, key)
    for column in ("numerator", "denominator"):
        _raise_if(frame, pl.col(column) < 0, column, "is negative", key=key, schema=VALUES,
                  fix="counts and denominators cannot be below zero; correct the source or blank the cell.")
    _raise_if(frame, (pl.col("denominator") > 0) & (pl.col("denominator") < MIN_DENOMINATOR), "denominator",
              "is above zero but implausibly small (below 10^-15)", key=key, schema=VALUES,
              fix="a denominator counts people, person-years or expected events; look for a unit error or a number "
              "mangled on export (such as 5e-324), and correct or blank the cell (0 where there is no one at risk).")
    _raise_if(frame, pl.col("lower_ci") > pl.col("upper_ci"), "lower_ci", "is greater than upper_ci", key=key, schema=VALUES,
              fix="swap the two limit columns if they were read the wrong way round.")
    if indicators is not None:
        _check_indicator_ids(frame, indicators, key)
        proportions = [i for i, ind in indicators.items() if ind.measure == "proportion"]
        if proportions:
            is_prop = pl.col("indicator_id").is_in(proportions)
            _raise_if(frame, is_prop & (pl.col("numerator") > pl.col("denominator")), "numerator",
                      "is greater than the denominator for a proportion", key=key, schema=VALUES,
                      fix="a proportion's numerator counts a subset of its denominator; check the two columns were not swapped.")
            _raise_if(frame, is_prop & (pl.col("denominator") == 0) & (pl.col("numerator") > 0), "denominator",
                      "is zero for a proportion with a positive numerator", key=key, schema=VALUES,
                      fix="blank the denominator (and numerator) where there is no population at risk.")
    _check_unique(frame, key, VALUES)
    return frame


def _check_periods(frame: pl.DataFrame, key: Sequence[str], *, ordered: bool = True) -> None:
    _raise_if(frame, pl.col("period_start").is_null() & ordered, "period_start",
              "is missing, so the period cannot be ordered", key=key, schema=VALUES,
              fix="add a period_start date column (YYYY-MM-DD), or use period labels like 2023, 2022/23 or 2024 Q1.")
    first, last = PERIOD_YEARS
    _raise_if(frame, ~pl.col("period_start").dt.year().is_between(first, last), "period_start",
              f"is outside the years {first} to {last}", key=key, schema=VALUES,
              fix="correct the date or the period label; a year outside that range is a typo or a date read wrongly.")
    # One label must mean one start date within an indicator, or ordering is ambiguous.
    clash = pl.col("period_start").n_unique().over("indicator_id", "period") > 1
    _raise_if(frame, clash, "period_start", "differs between rows of the same period label", key=key, schema=VALUES,
              fix="give each period label a single period_start within an indicator.")


def _check_indicator_ids(frame: pl.DataFrame, indicators: Mapping[str, Indicator], key: Sequence[str]) -> None:
    unknown = frame.filter(~pl.col("indicator_id").is_in(list(indicators))).get_column("indicator_id").unique(maintain_order=True)
    if unknown.len():
        hints = []
        for uid in unknown.head(_MAX_SHOWN).to_list():
            guess = _nearest(uid, list(indicators))
            hints.append(f"{uid!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
        rows, total = _row_labels(frame, ~frame.get_column("indicator_id").is_in(list(indicators)), key)
        raise DataError(
            "values: "
            + problem(
                "indicator_id",
                f"holds {unknown.len()} unknown indicator id(s): {', '.join(hints)}",
                rows=rows,
                total=total,
                fix="use registered ids (see `publicservices indicators`), register the indicator through a plugin, "
                "or pass its definition in indicators=.",
            )
        )


def validate_areas(data: FrameLike) -> pl.DataFrame:
    """Check and normalise an areas frame (``area_code`` unique; population >= 0; finite numbers no larger than 10^15)."""
    frame = to_polars(data, name="areas")
    _check_columns(frame, AREAS)
    key = ("area_code", "area_name")
    frame = _conform(frame, AREAS, key)
    _check_not_null(frame, ["area_code"], AREAS, key)
    _check_finite(frame, ["population", "deprivation"], AREAS, key)
    _check_magnitude(frame, ["population", "deprivation"], AREAS, key)
    _raise_if(frame, pl.col("population") < 0, "population", "is negative", key=key, schema=AREAS,
              fix="populations cannot be below zero.")
    _check_unique(frame, ["area_code"], AREAS)
    return frame


def validate_spend(data: FrameLike) -> pl.DataFrame:
    """Check and normalise a spend frame (pounds; net spend may be negative, but must be finite)."""
    frame = to_polars(data, name="spend")
    _check_columns(frame, SPEND)
    frame = _conform(frame, SPEND, SPEND.key)
    _check_not_null(frame, SPEND.key, SPEND, SPEND.key)
    _check_finite(frame, ["spend"], SPEND, SPEND.key)
    _check_magnitude(frame, ["spend"], SPEND, SPEND.key)
    _check_unique(frame, SPEND.key, SPEND)
    return frame
