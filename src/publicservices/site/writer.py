"""Write the files of a site, each once, never outside its root.

Example:
    >>> import tempfile, pathlib
    >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()))
    >>> _ = w.text("docs/index.md", "# Hello")
    >>> w.written
    ['docs/index.md']
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from publicservices.errors import DataError
from publicservices.site.safety import CSV_NUMBER, csv_cell, inside

_FRAME_SUFFIXES = (".csv", ".parquet")
_FORMULA_START = r"^[=+\-@\t\r\n]"  # safety.CSV_FORMULA_START as a pattern
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


@contextlib.contextmanager
def _naming(target: Path) -> Iterator[None]:
    """Let an I/O error (a full disk ...) name the file and carry its errno, even from Polars,
    which reports one as ``OSError('No space left on device (os error 28)')`` or a ComputeError."""
    try:
        yield
    except Exception as exc:
        found = _OS_ERROR.search(str(exc)) if not isinstance(exc, OSError) or exc.errno is None else None
        if found:
            code = int(found.group(1))
            raise OSError(code, os.strerror(code), str(target)) from exc
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(target)
        raise


def _cell_text(value: Any, inner: bool = False) -> str | None:
    """One nested cell as readable text: a list's items joined by "; " (a list inside
    another in parentheses, joined by ", "), a struct as "field: value" pairs."""
    if value is None:
        return None
    if isinstance(value, dict):
        pairs = [f"{k}: {_cell_text(v, True) or ''}" for k, v in value.items()]
        return f"({', '.join(pairs)})" if inner else "; ".join(pairs)
    if isinstance(value, (list, tuple)):
        items = [text for v in value if (text := _cell_text(v, True)) is not None]
        return f"({', '.join(items)})" if inner else "; ".join(items)
    return str(value)


def flat_text(frame: Any) -> Any:
    """``frame`` with its list, array, struct and object columns as readable text, for a CSV:
    ``E06000001; E06000002`` for a list of codes, ``low: 1.5; high: 2.5`` for a struct;
    never Python's or Polars' printed form of the value. Other columns are left as they are.

    >>> import polars as pl
    >>> f = pl.DataFrame({"peers": [["E06000001", "E06000002"], [], None], "w": [[0.25, 0.75], [1.0], None]})
    >>> flat_text(f).rows()
    [('E06000001; E06000002', '0.25; 0.75'), ('', '1.0'), (None, None)]
    >>> flat_text(pl.DataFrame({"s": [{"low": 1.5, "high": 2.5}]})).item()
    'low: 1.5; high: 2.5'
    """
    import polars as pl

    nested = [c for c, t in frame.schema.items() if isinstance(t, (pl.List, pl.Array, pl.Struct, pl.Object))]
    if not nested:
        return frame
    # lists of text (a value-for-money frame's peers: tens of thousands of cells) are joined by
    # Polars, as _cell_text joins them; numbers and structs keep Python's printed numbers
    texts = [c for c in nested if frame.schema[c] == pl.List(pl.String)]
    return frame.with_columns(
        *(pl.col(c).list.join("; ", ignore_nulls=True) for c in texts),
        *(
            pl.Series(c, [_cell_text(v) for v in frame.get_column(c).to_list()], dtype=pl.String)
            for c in nested
            if c not in texts
        ),
    )


def csv_safe(frame: Any) -> Any:
    """``frame`` with every text cell (and column name) that a spreadsheet would run as a
    formula prefixed with a single quote (:func:`~publicservices.site.safety.csv_cell`).
    Numeric columns, negative numbers included, are left exactly as they are.

    >>> import polars as pl
    >>> csv_safe(pl.DataFrame({"name": ["=cmd|' /C calc'!A0", "-1", "Hull", None], "n": [-1, 2, 3, 4]})).rows()
    [("'=cmd|' /C calc'!A0", -1), ('-1', 2), ('Hull', 3), (None, 4)]
    """
    import polars as pl

    text = [n for n, t in frame.schema.items() if t == pl.String or isinstance(t, (pl.Categorical, pl.Enum))]
    if text:
        cells = []
        for name in text:
            col = pl.col(name).cast(pl.String)
            risky = col.str.contains(_FORMULA_START) & ~col.str.contains(f"^{CSV_NUMBER}$")
            cells.append(pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(name))
        frame = frame.with_columns(cells)
    names = {n: csv_cell(n) for n in frame.columns if csv_cell(n) != n}
    return frame.rename(names) if names else frame


class DocsWriter:
    """Files under ``root``: every path checked by :func:`inside`, and none written twice
    (two ids that map to one file name would otherwise overwrite each other silently).

    ``written`` lists the relative paths in write order.

    ``hold_pages``: a folder (``"docs/"``) whose Markdown pages are kept in ``held`` (by path
    under that folder) instead of written; the publish build hands them to MkDocs in memory
    (:func:`publicservices.site.mkdocs_build.run_mkdocs`), which saves writing, reading and
    deleting a file per page. Their names are checked and claimed all the same.

    Example:
        >>> import tempfile, pathlib
        >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()) / "project")
        >>> _ = w.text("a.md", "x")
        >>> w.text("./a.md", "y")
        Traceback (most recent call last):
        ...
        publicservices.errors.DataError: refusing to write 'a.md' twice: two ids map to the same file.
        Fix: make the ids unique (ignoring letter case).
    """

    def __init__(self, root: Path, hold_pages: str | None = None) -> None:
        self.root = Path(root)
        self.hold_pages = hold_pages
        self.held: dict[str, str] = {}
        self.root.mkdir(parents=True, exist_ok=True)
        self._base = self.root.resolve()
        self.written: list[str] = []
        self._seen: set[Path] = set()
        self._folders: dict[str, tuple[Path, str]] = {}  # folder as asked -> resolved, and its name under root

    def _folder(self, rel_folder: str) -> tuple[Path, str]:
        """A folder checked by :func:`inside` and made, once: a site writes thousands of files into a few."""
        found = self._folders.get(rel_folder)
        if found is None:
            folder = inside(self._base, rel_folder or ".", resolved=True)
            folder.mkdir(parents=True, exist_ok=True)
            name = folder.relative_to(self._base).as_posix()
            found = self._folders[rel_folder] = (folder, "" if name == "." else name + "/")
        return found

    def _target(self, rel_path: str) -> Path:
        """Check ``rel_path`` and claim it; the caller then writes the file."""
        rel_folder, _, file_name = rel_path.rpartition("/")
        if file_name in ("", ".", "..") or "\0" in rel_path:  # not a plain file name: inside() says what is wrong
            target = inside(self._base, rel_path, resolved=True)
            name = target.relative_to(self._base).as_posix()
            target.parent.mkdir(parents=True, exist_ok=True)
        else:  # a plain name in a checked folder stays inside it, unless a link already stands there (below)
            folder, folder_name = self._folder(rel_folder)
            target, name = folder / file_name, folder_name + file_name  # 'a/../b.md' and 'b.md' are one file
        if target in self._seen:
            raise DataError(
                f"refusing to write {name!r} twice: two ids map to the same file.\n"
                "Fix: make the ids unique (ignoring letter case)."
            )
        if os.path.lexists(target):  # written by something else, or a link: never overwrite or follow it
            raise DataError(
                f"refusing to write {name!r}: the file already exists in the output folder.\n"
                "Fix: write each file once, through this writer."
            )
        self._seen.add(target)
        self.written.append(name)
        return target

    def text(self, rel_path: str, content: str) -> Path:
        """Write UTF-8 text with ``\\n`` line ends on every platform (byte-identical sites).

        >>> import tempfile, pathlib
        >>> DocsWriter(pathlib.Path(tempfile.mkdtemp())).text("a/b.md", "x\\n").name
        'b.md'
        """
        target = self._target(rel_path)
        name = self.written[-1]  # as _target claimed it
        if self.hold_pages and name.startswith(self.hold_pages) and name.endswith(".md"):
            self.held[name.removeprefix(self.hold_pages)] = content
        else:
            with _naming(target):
                target.write_bytes(content.encode("utf-8"))  # as written: no newline translation
        return target

    def bytes(self, rel_path: str, data: bytes) -> Path:
        """Write raw bytes.

        >>> import tempfile, pathlib
        >>> DocsWriter(pathlib.Path(tempfile.mkdtemp())).bytes("x.bin", b"\\x00").stat().st_size
        1
        """
        target = self._target(rel_path)
        with _naming(target):
            target.write_bytes(data)
        return target

    def frame(self, rel_path: str, frame: Any) -> Path:
        """A Polars frame as CSV or Parquet, by the file's extension (deterministic bytes).

        CSV cells of lists and structs are written as readable text (:func:`flat_text`), and
        text cells that a spreadsheet would run as a formula get a leading single quote
        (:func:`csv_safe`); Parquet keeps the exact values, as data tools run no formulas.

        >>> import tempfile, pathlib, polars as pl
        >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()))
        >>> w.frame("data/a.csv", pl.DataFrame({"x": [1, 2]})).read_text()
        'x\\n1\\n2\\n'
        """
        # Check the extension before claiming the path, so a bad call does not block a retry.
        if not rel_path.endswith(_FRAME_SUFFIXES):
            raise DataError(f"cannot write a frame to {rel_path!r}.\nFix: use a .csv or .parquet file name.")
        target = self._target(rel_path)
        with _naming(target):
            if rel_path.endswith(".csv"):  # nested cells as text; text that would run as a formula neutralised
                csv_safe(flat_text(frame)).write_csv(target)
            else:  # no statistics block, so equal frames give equal files
                frame.write_parquet(target, compression="zstd", statistics=False)
        return target

    def csv_per(self, frame: Any, key: str, path_of: Callable[[Any], str]) -> list[Path]:
        """One CSV per value of ``key``, at ``path_of(value)``, as :meth:`frame` writes a CSV.

        The frame is made flat and spreadsheet-safe once, not once per file: a site of 7,000
        areas writes 7,000 of them.

        >>> import tempfile, pathlib, polars as pl
        >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()))
        >>> f = pl.DataFrame({"area": ["a", "b", "a"], "note": ["=1+1", "ok", "x"]})
        >>> [p.read_text() for p in w.csv_per(f, "area", lambda a: f"data/{a}.csv")]
        ["area,note\\na,'=1+1\\na,x\\n", 'area,note\\nb,ok\\n']
        """
        from publicservices.site.slices import Slices

        safe = csv_safe(flat_text(frame))
        by = safe.columns[frame.columns.index(key)]  # csv_safe may have renamed it
        parts = Slices(safe, by)
        # One CSV text for all, cut at its line ends: a file is the header and its key's lines.
        # Only when no cell holds a line break (then every row is one line); else file by file.
        text = parts.frame.write_csv()
        lines = text.split("\n") if text.count("\n") == safe.height + 1 else None
        written = []
        for value, start, length in parts.spans():
            target = self._target(path_of(value))
            with _naming(target):
                if lines is None:
                    parts[value].write_csv(target)
                else:
                    target.write_bytes("\n".join([lines[0], *lines[start + 1 : start + 1 + length], ""]).encode())
            written.append(target)
        return written

    def copy(self, rel_path: str, source: Path) -> Path:
        """Copy the file ``source`` (contents only, not its permissions or times) to ``rel_path``.

        >>> import tempfile, pathlib
        >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()))
        >>> w.copy("copy.md", w.text("a.md", "abc")).read_text()
        'abc'
        """
        target = self._target(rel_path)
        with _naming(target):
            shutil.copyfile(source, target)
        return target
