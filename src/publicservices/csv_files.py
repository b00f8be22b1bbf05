"""Reading CSV files exactly or not at all: the encoding detected (and named when it is not
UTF-8), old line endings read as line breaks (and said), blank lines skipped (and counted), and a
row with fewer or more cells than the header an error naming its line, never padded or cut.

The data contract's checks (:mod:`publicservices.frame`) run on what these functions read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

import polars as pl

from publicservices.errors import SchemaError, problem, short_text
from publicservices.workbooks import WORKBOOK_SUFFIXES, read_workbook

# -- reading files -------------------------------------------------------------------------
#
# A CSV file is read exactly or not at all: its encoding is detected (and named when it is
# not UTF-8), old line endings are read as line breaks (and said), blank lines are skipped
# (and counted), and a row with fewer or more cells than the header is an error naming its
# line, never padded with blanks or cut short.

__all__ = ["read_table", "read_notes", "csv_header", "header_trouble", "tell", "short_text", "MAX_SHOWN"]

#: The most offending rows an error message lists.
MAX_SHOWN = 5


_NOTES: ContextVar[list[str] | None] = ContextVar("publicservices_read_notes", default=None)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# A quoted cell (kept as it is) or a carriage return not followed by a line feed.
_BARE_CR = re.compile(r'"[^"]*(?:""[^"]*)*"|\r(?!\n)')
_NON_ASCII_CELL = re.compile(r'[^,\n"]*[^\x00-\x7f][^,\n"]*')
_HEADER_BYTES = 1 << 20

# A workbook renamed .csv: read as text it would give a header of binary noise.
_WORKBOOK_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an Excel or OpenDocument workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook"),
)


def _refuse_workbook(path: Path, head: bytes, where: str) -> None:
    """A clear error for a spreadsheet workbook whose name says it is a CSV file."""
    kind = next((k for magic, k in _WORKBOOK_MAGIC if head.startswith(magic)), None)
    if kind is not None:
        raise SchemaError(
            f"{where} is {kind}, not a CSV file.\nFix: give it its workbook's extension (.xlsx, .xls or .ods) "
            "to read its table, or open it and save the sheet that holds the table as CSV UTF-8."
        )


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
        ...     frame, said = read_table(path)
        ...     tell(said)  # what to_polars does with a path
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


def tell(notes: Sequence[str]) -> None:
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
            raise SchemaError(
                f"{name}: cannot read {str(path)!r}: {exc}\nFix: pass a Parquet file, or a CSV with a header row."
            ) from exc
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return read_workbook(path, path.name if name == path.name else f"{name}: {path.name}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"{name}: cannot read {str(path)!r}: {exc}\nFix: check the path and its permissions.") from exc
    where = path.name if name == path.name else f"{name}: {path.name}"
    _refuse_workbook(path, raw[:8], where)
    notes: list[str] = []
    text, encoding = _decode(raw, where)
    if encoding is not None:
        examples = list(dict.fromkeys(m.strip() for m in _NON_ASCII_CELL.findall(text, 0, 1 << 20)))[:3]
        shown = f", e.g. {', '.join(repr(short_text(e)) for e in examples)}" if examples else ""
        notes.append(
            f"{path.name}: read as {encoding} (not UTF-8){shown}; if such text looks wrong, "
            "save the file as UTF-8 and read it again."
        )
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
        notes.append(
            f"{path.name}: {trailing:,} row(s) end with empty cells beyond the header's columns (trailing commas); "
            "those empty cells were ignored."
        )
    if blank:
        # Polars reads a blank line as a row of nulls; it holds nothing, so it goes, counted.
        rows = pl.Series("_blank", [i for i, _ in blank], dtype=pl.UInt32)
        indexed = frame.with_row_index("_blank")
        empty = indexed.filter(pl.col("_blank").is_in(rows.implode())).drop("_blank")
        if empty.height == len(blank) and not any(empty.get_column(c).is_not_null().any() for c in empty.columns):
            frame = indexed.filter(~pl.col("_blank").is_in(rows.implode())).drop("_blank")
            lines = ", ".join(str(line) for _, line in blank[:MAX_SHOWN]) + (" ..." if len(blank) > MAX_SHOWN else "")
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
    if path.suffix.lower() in WORKBOOK_SUFFIXES:  # the header of the table the workbook holds
        return list(read_workbook(path, path.name)[0].columns)
    with _big_fields():
        try:
            return next(csv.reader(io.StringIO(_head_text(path), newline="")), [])
        except csv.Error as exc:
            raise SchemaError(f"{path.name}: cannot read the header: {exc}.\nFix: check the file is a CSV.") from exc


def _head_text(path: Path) -> str:
    """The first megabyte of a CSV file (whole lines), decoded as :func:`read_table` decodes it."""
    with path.open("rb") as handle:
        raw = handle.read(_HEADER_BYTES)
    _refuse_workbook(path, raw[:8], path.name)
    if len(raw) == _HEADER_BYTES:
        bom = next((codec for bom, codec in _BOMS if raw.startswith(bom)), None)
        if bom in ("utf-16", "utf-32"):
            raw = raw[: len(raw) - len(raw) % 4]
        else:
            raw = raw[: max(raw.rfind(b"\n"), raw.rfind(b"\r")) + 1] or raw
    text, _ = _decode(raw, path.name, lenient=True)
    return _line_breaks(text)[0]


_OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def header_trouble(path: str | Path) -> tuple[str, str] | None:
    """Why a CSV file's first line may not be its header, and the fix; None if it looks like one.

    Two things spreadsheet exports do: separate cells with something other than commas, and
    put a title (and a source, and blank lines) above the table.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
        >>> _ = path.write_text("Table 1: claimants\\n\\narea_code,value\\nE06000001,4\\n")
        >>> header_trouble(path)[0]
        "line 1 ('Table 1: claimants') looks like a title: the table seems to start at line 3 (area_code, value)"
    """
    path = Path(path)
    rows: list[tuple[int, list[str]]] = []  # (line the row starts on, cells)
    with _big_fields(), contextlib.suppress(csv.Error, SchemaError, OSError):
        reader = csv.reader(io.StringIO(_head_text(path), newline=""))
        line = 1
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
            if len(rows) == 30:
                break
    if not rows:
        return None
    first = rows[0][1]
    for separator, name in _OTHER_SEPARATORS.items():
        if len(first) == 1 and first[0].count(separator) >= 2:
            return (
                f"its first line is one column holding {name}: the file seems to be separated by {name}, not commas",
                "save it as a comma-separated CSV (in Excel: CSV UTF-8 (Comma delimited)), then read it again.",
            )
    filled = [sum(1 for cell in row if cell.strip()) for _, row in rows]
    header = next((i for i, n in enumerate(filled) if n >= 2), None)
    if filled[0] > 1 or not header:
        return None
    title = next((cell.strip() for _, row in rows[:header] for cell in row if cell.strip()), "")
    line, columns = rows[header]
    shown = ", ".join(c.strip() for c in columns[:6]) + (", ..." if len(columns) > 6 else "")
    return (
        f"line 1{f' ({short_text(title)!r})' if title else ''} looks like a title: the table seems to start at line {line:,} ({shown})",
        f"delete the {line - 1:,} line{'s' if line > 2 else ''} above the table's header, then read the file again.",
    )


def _decode(raw: bytes, where: str, *, lenient: bool = False) -> tuple[str, str | None]:
    """The file's text, and the encoding's name when it is not UTF-8."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(
                    codec, errors="ignore" if lenient else "strict"
                ), None if codec == "utf-8-sig" else _encoding_name(codec)
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
                    f"that are not ({raw[exc.start : exc.end]!r}), so some names would be garbled however it is read.\n"
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
            raise SchemaError(
                f"{where}: cannot read line {reader.line_num:,}: {exc}.\n"
                "Fix: check the file is a CSV (a NUL byte usually means it is not text)."
            ) from exc
        if set(counts) <= {width}:
            return [], 0
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
        previous = reader.line_num
        blank: list[tuple[int, int]] = []
        ragged: list[str] = []
        n_ragged = trailing = 0
        last_full = -1  # the last row with the header's cells
        notes_below: list[str] = []  # ragged rows of one cell, while none has come after them
        for index, row in enumerate(reader):
            line, previous = previous + 1, reader.line_num
            if len(row) == width:
                last_full = index
                notes_below.clear()
                continue
            if not row:
                blank.append((index, line))
            elif len(row) > width and not any(row[width:]):
                trailing += 1
            else:
                n_ragged += 1
                if len(ragged) < MAX_SHOWN:
                    ragged.append(f"line {line:,}: {len(row)} cell{'s' if len(row) != 1 else ''}")
                if sum(1 for cell in row if cell.strip()) <= 1:
                    notes_below.append("".join(row).strip())
    if ragged:
        columns = ", ".join(header[:6]) + (", ..." if width > 6 else "")
        fix = (
            "give every row one cell per column: look for a missing or extra comma, and put cells that contain "
            'commas in double quotes ("Hackney, City of London"). Rows are never padded or cut to fit.'
        )
        if len(notes_below) == n_ragged and last_full >= 0:  # every short row is a line of text below the table
            example = next((n for n in notes_below if n), "")
            fix = (
                f"the {n_ragged} line{'s' if n_ragged > 1 else ''} below the table "
                f"{'look' if n_ragged > 1 else 'looks'} like notes{f' ({short_text(example)!r})' if example else ''}, "
                "not rows: delete them (keep them in a file of their own), then read the file again."
            )
        raise SchemaError(
            f"{where}: "
            + problem(None, f"rows do not have the header's {width} cells ({columns})", rows=ragged, total=n_ragged, fix=fix)
        )
    return blank, trailing
