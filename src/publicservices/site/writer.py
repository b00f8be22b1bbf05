"""Write the files of a site, each once, never outside its root.

Example:
    >>> import tempfile, pathlib
    >>> w = DocsWriter(pathlib.Path(tempfile.mkdtemp()))
    >>> _ = w.text("docs/index.md", "# Hello")
    >>> w.written, w.bytes_written
    (['docs/index.md'], 7)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from publicservices.errors import DataError
from publicservices.site.safety import inside


class DocsWriter:
    """Files under ``root``: every path checked by :func:`inside`, and none written twice
    (two ids that map to one file name would otherwise overwrite each other silently)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.written: list[str] = []
        self.bytes_written = 0
        self._seen: set[Path] = set()

    def _target(self, rel_path: str) -> Path:
        target = inside(self.root, rel_path)
        if target in self._seen or target.exists():
            raise DataError(f"refusing to write {rel_path!r} twice: two ids map to the same file.\n"
                            "Fix: make the ids unique (ignoring case).")
        self._seen.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(rel_path)
        return target

    def text(self, rel_path: str, content: str) -> Path:
        target = self._target(rel_path)
        with target.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
        self.bytes_written += target.stat().st_size
        return target

    def bytes(self, rel_path: str, data: bytes) -> Path:
        target = self._target(rel_path)
        target.write_bytes(data)
        self.bytes_written += len(data)
        return target

    def frame(self, rel_path: str, frame: Any) -> Path:
        """A Polars frame as CSV or Parquet, by the file's extension (deterministic bytes)."""
        target = self._target(rel_path)
        if rel_path.endswith(".csv"):
            frame.write_csv(target)
        elif rel_path.endswith(".parquet"):
            frame.write_parquet(target, compression="zstd", statistics=False)
        else:
            raise DataError(f"cannot write a frame to {rel_path!r}.\nFix: use a .csv or .parquet file name.")
        self.bytes_written += target.stat().st_size
        return target

    def copy(self, rel_path: str, source: Path) -> Path:
        target = self._target(rel_path)
        shutil.copyfile(source, target)
        self.bytes_written += target.stat().st_size
        return target
