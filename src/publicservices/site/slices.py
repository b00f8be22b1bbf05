"""A frame's rows by the value of a column, as zero-copy slices made one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl


class Slices:
    """A frame's rows by the value of ``key`` (in order of first appearance, rows in their order),
    each a zero-copy slice made when asked for: 7,000 areas' small frames, held at once for the
    area pages, cost more memory than their rows.

    >>> s = Slices(pl.DataFrame({"area_code": ["b", "a", "b"], "n": [1, 2, 3]}))
    >>> s.get("b").get_column("n").to_list(), s.get("c") is None
    ([1, 3], True)
    """

    def __init__(self, frame: pl.DataFrame | None, key: str = "area_code") -> None:
        self._at: dict[Any, tuple[int, int]] = {}
        self._frame = pl.DataFrame()
        if frame is None or frame.height == 0:
            return
        row = "__slices_row"  # a name no frame of the site's carries
        self._frame = frame.with_row_index(row).sort(pl.col(row).min().over(key), row).drop(row)
        runs = self._frame.get_column(key).rle().struct.unnest()
        start = 0
        for length, value in runs.iter_rows():
            self._at[value] = (start, length)
            start += length

    def __getitem__(self, value: Any) -> pl.DataFrame:
        return self._frame.slice(*self._at[value])

    def get(self, value: Any, default: Any = None) -> Any:
        where = self._at.get(value)
        return default if where is None else self._frame.slice(*where)

    def __iter__(self) -> Iterator[tuple[Any, pl.DataFrame]]:
        """Each value and its rows, in order of first appearance."""
        for value, where in self._at.items():
            yield value, self._frame.slice(*where)
