"""Tables in spreadsheet workbooks (.xlsx, .xlsm, .xls, .ods), found and read as CSV files are.

Most releases are published as workbooks laid out as the GSS guidance on releasing
statistics in spreadsheets asks: a cover sheet, contents and notes, then each table on its
own sheet, with its title and notes in the first cells above the header row. A workbook
given as data is read through ``fastexcel`` (calamine, in Rust), every cell as text, and:

* **the sheet** is the one named (``ps.read(path, sheet="Table_2")``, or ``sheet`` in a
  project file's source), else the one that holds a table (a header row of two or more cells
  and rows below it). Cover, contents and notes sheets are passed over when another sheet
  has a table; when several sheets have tables the error lists them and says how to name one;
* **the table** starts at its header, the first row filled across most of the table's
  width: the title lines above it are left out, and so are the notes below its last row,
  each counted in a note.

Example:
    >>> import polars as pl
    >>> grid = pl.DataFrame({"a": ["Table 1: claimants", None, "Area code", "E06000001", "Source: DWP"],
    ...                      "b": [None, None, "2023", "3105", None]})
    >>> table_in(grid).frame.rows()
    [('E06000001', '3105')]
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from publicservices.errors import SchemaError, short_text

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["WORKBOOK_SUFFIXES", "Table", "table_in", "read_workbook", "chosen_sheet", "named_sheet", "data_sheets"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# sheets that describe a workbook rather than hold its data
_ABOUT = re.compile(r"cover|contents|notes?$|metadata|information|about|read ?me|definitions|glossary", re.IGNORECASE)


class Table(NamedTuple):
    """A sheet's table: its rows under its header's names, and the lines around it left out."""

    frame: pl.DataFrame
    header_row: int  # 1-based, as a spreadsheet numbers rows
    above: list[str]  # the text of the lines above the header
    below: list[str]  # the text of the lines after the table's last row


def table_in(grid: pl.DataFrame) -> Table | None:
    """The table in a sheet read without a header (every cell text), or None if it has none."""
    import polars as pl

    if not grid.height or not grid.width:
        return None
    cells = grid.select(pl.all().cast(pl.String).str.strip_chars())
    filled = cells.select(pl.sum_horizontal(pl.all().is_not_null() & (pl.all() != "")).alias("n")).get_column("n")
    width = int(filled.max() or 0)  # type: ignore[arg-type]
    if width < 2:
        return None
    # the header: the first row across most of the width (titles and notes take one cell)
    header = int((filled >= max(2, math.ceil(0.6 * width))).arg_true()[0])
    rows = filled.len()
    last = int((filled >= 2).arg_true()[-1])
    if last <= header:
        return None
    names = [None if v is None or v == "" else v for v in cells.row(header)]
    below = cells[header + 1 : last + 1]
    has_cells = below.select((pl.all().is_not_null() & (pl.all() != "")).any()).row(0)
    used = [i for i, name in enumerate(names) if name is not None or has_cells[i]]
    blank = [i for i in used if names[i] is None]
    if blank:
        raise SchemaError(
            f"the table's header (row {header + 1}) has no name over column(s) {', '.join(_column_letter(i) for i in blank)}.\n"
            "Fix: give every column of the table a name in its header row."
        )
    header_names = [str(names[i]) for i in used]
    twice = sorted({n for n in header_names if header_names.count(n) > 1})
    if twice:
        raise SchemaError(
            f"the table's header (row {header + 1}) names two columns {twice[0]!r}.\nFix: give each column its own name."
        )
    body = below.select([cells.columns[i] for i in used])
    body = body.rename(dict(zip(body.columns, header_names, strict=True)))
    body = body.filter(~pl.all_horizontal(pl.all().is_null() | (pl.all() == "")))  # blank lines inside the table

    def text(lines: pl.DataFrame) -> list[str]:
        return [" ".join(v for v in row if v) for row in lines.iter_rows() if any(row)]

    return Table(body, header + 1, text(cells[:header]), text(cells[last + 1 : rows]))


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


# the sheet a reading was told to take (set by ps.read(sheet=...), ps.read_csv and project files)
_SHEET: ContextVar[str | None] = ContextVar("publicservices_sheet", default=None)
# the last workbook read, by path, size, time of change and sheet: sniffing a file's header and
# then reading it would otherwise parse the whole workbook twice
_LAST: dict[tuple[str, int, int, str | None], tuple[pl.DataFrame, list[str]]] = {}


@contextlib.contextmanager
def chosen_sheet(name: str | None) -> Iterator[None]:
    """Within the block, a workbook read is read from the sheet ``name`` (None: the one with a table)."""
    token = _SHEET.set(name)
    try:
        yield
    finally:
        _SHEET.reset(token)


def named_sheet() -> str | None:
    """The sheet the reading at work was told to take (None: the one with a table)."""
    return _SHEET.get()


def data_sheets(path: Path) -> list[str]:
    """The sheets of a workbook that hold a table (cover, contents and notes sheets left out
    when another has one), in the workbook's order: one project source each."""
    import fastexcel

    book = fastexcel.read_excel(path)
    return list(_data(_tables({n: _grid(book, n) for n in book.sheet_names}, path.name)))


def _grid(book: Any, name: str) -> pl.DataFrame:
    """A sheet without a header, every cell as text."""
    return book.load_sheet(name, header_row=None, dtypes="string").to_polars()


def _tables(grids: dict[str, pl.DataFrame], where: str) -> dict[str, Table]:
    """The sheets that hold a table, with it (a malformed table is an error naming its sheet)."""
    tables: dict[str, Table] = {}
    for name, grid in grids.items():
        try:
            found = table_in(grid)
        except SchemaError as exc:
            raise SchemaError(f"{where}, sheet {name!r}: {exc}") from exc
        if found is not None:
            tables[name] = found
    return tables


def _data(tables: dict[str, Table]) -> dict[str, Table]:
    """The tables that hold data: cover, contents and notes sheets left out when another has one."""
    return {name: t for name, t in tables.items() if not _ABOUT.search(name)} or tables


def read_workbook(path: Path, where: str) -> tuple[pl.DataFrame, list[str]]:
    """The table of a workbook's data sheet, every cell as text, and notes on what was left out."""
    stat = path.stat()
    sheet = _SHEET.get()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, sheet)
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = _read_workbook(path, where, sheet)
    frame, notes = _LAST[key]
    return frame, list(notes)


def _read_workbook(path: Path, where: str, sheet: str | None) -> tuple[pl.DataFrame, list[str]]:
    try:
        import fastexcel
    except ImportError as exc:  # pragma: no cover - a dependency; only a broken install lacks it
        raise SchemaError(
            f"{where} is a spreadsheet workbook, and reading one needs the fastexcel package.\n"
            "Fix: pip install fastexcel, or save the sheet that holds the table as CSV UTF-8."
        ) from exc
    try:
        book = fastexcel.read_excel(path)
        if sheet is not None and sheet not in book.sheet_names:
            raise SchemaError(
                f"{where} has no sheet {sheet!r}; its sheets: {', '.join(book.sheet_names)}.\nFix: name one of them."
            )
        names = book.sheet_names if sheet is None else [sheet]
        grids = {name: _grid(book, name) for name in names}
    except SchemaError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine's errors name the broken part; say which file
        raise SchemaError(
            f"{where}: cannot read the workbook: {exc}\nFix: open it and save it again, or save its table as CSV UTF-8."
        ) from exc
    tables = _tables(grids, where)
    data = tables if sheet is not None else _data(tables)
    if not data and sheet is not None:
        raise SchemaError(
            f"{where}: sheet {sheet!r} has no table (a header row of two or more cells with rows below it).\n"
            "Fix: name the sheet that holds the table."
        )
    if not data:
        raise SchemaError(
            f"{where} has no sheet with a table (a header row of two or more cells with rows below it); "
            f"its sheets: {', '.join(grids)}.\nFix: check it is the data workbook, or save the table as CSV UTF-8."
        )
    if len(data) > 1:
        listed = "; ".join(
            f"{name!r} ({', '.join(t.frame.columns[:4])}{' ...' if t.frame.width > 4 else ''})" for name, t in data.items()
        )
        first = next(iter(data))
        raise SchemaError(
            f"{where} has tables on {len(data)} sheets: {listed}.\n"
            f"Fix: name the sheet: publicservices.read(path, sheet={first!r}), --sheet {first!r} on the command line, "
            f"or sheet = {first!r} in the project file's [[sources]] entry (one entry per sheet)."
        )
    ((name, table),) = data.items()
    note = f"{path.name}: read the table on sheet {name!r} (its header is row {table.header_row}"
    if table.above:
        note += f"; {len(table.above)} line(s) above it left out, e.g. {short_text(table.above[0], 60)!r}"
    if table.below:
        note += f"; {len(table.below)} line(s) below it left out, e.g. {short_text(table.below[0], 60)!r}"
    others = [n for n in book.sheet_names if n != name]
    note += f"){'; other sheets: ' + ', '.join(others) if others else ''}."
    return table.frame, [note]
