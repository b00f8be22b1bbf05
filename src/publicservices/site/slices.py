"""A frame's rows by the value of a column, as zero-copy slices made one at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

_BLOCK = 256  # values whose rows records() converts at once


class Slices:
    """A frame's rows by the value of ``key`` (in order of first appearance, rows in their order),
    each a zero-copy slice made when asked for: 7,000 areas' small frames, held at once for the
    area pages, cost more memory than their rows.

    >>> s = Slices(pl.DataFrame({"area_code": ["b", "a", "b"], "n": [1, 2, 3]}))
    >>> s.get("b").get_column("n").to_list(), s.get("c") is None, s.records("b", drop=("area_code",))
    ([1, 3], True, [{'n': 1}, {'n': 3}])
    """

    def __init__(self, frame: pl.DataFrame | None, key: str = "area_code", order: Sequence[Any] | None = None) -> None:
        """``order``: the values in the order they will be asked for (any others after them), so
        that :meth:`records` converts each block of rows once."""
        self._at: dict[Any, tuple[int, int]] = {}
        self._values: list[Any] = []
        self._block: dict[tuple[str, ...], tuple[int, int, list[dict[str, Any]]]] = {}
        self._frame = pl.DataFrame()
        if frame is None or frame.height == 0:
            return
        row = "__slices_row"  # a name no frame of the site's carries
        first = pl.col(row).min().over(key)
        if order is not None:
            position = {v: i for i, v in enumerate(order)}
            first = pl.col(key).replace_strict(position, default=len(position) + first, return_dtype=pl.Int64)
        self._frame = frame.with_row_index(row).sort(first, row).drop(row)
        runs = self._frame.get_column(key).rle().struct.unnest()
        start = 0
        for length, value in runs.iter_rows():
            self._at[value] = (start, length)
            self._values.append(value)
            start += length
        self._index = {v: i for i, v in enumerate(self._values)}

    @property
    def frame(self) -> pl.DataFrame:
        """The rows, grouped by value: each value's rows are one run, at its span."""
        return self._frame

    def spans(self) -> Iterator[tuple[Any, int, int]]:
        """Each value with the start and length of its run of rows in :attr:`frame`."""
        for value, (start, length) in self._at.items():
            yield value, start, length

    def __getitem__(self, value: Any) -> pl.DataFrame:
        return self._frame.slice(*self._at[value])

    def get(self, value: Any, default: Any = None) -> Any:
        where = self._at.get(value)
        return default if where is None else self._frame.slice(*where)

    def records(self, value: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The rows of ``value`` as dicts, without the columns ``drop`` (none: no rows).

        Rows become dicts a block of values at a time (the block holding ``value`` and the
        next ones, in the frame's order): a page each for thousands of values spent more on
        converting their small slices one by one than on their rows, and all of them at once
        would hold every row as Python objects. Ask in the frame's order (``order=``).
        """
        where = self._at.get(value)
        if where is None:
            return []
        block = self._index[value] // _BLOCK
        held = self._block.get(drop)
        if held is None or held[0] != block:
            first, last = self._values[block * _BLOCK], self._values[min((block + 1) * _BLOCK, len(self._values)) - 1]
            begin, (end, length) = self._at[first][0], self._at[last]
            held = (block, begin, self._frame.slice(begin, end + length - begin).drop(drop).to_dicts())
            self._block[drop] = held
        start, length = where
        return held[2][start - held[1] : start - held[1] + length]

    def __iter__(self) -> Iterator[tuple[Any, pl.DataFrame]]:
        """Each value and its rows, in order of first appearance."""
        for value, where in self._at.items():
            yield value, self._frame.slice(*where)
