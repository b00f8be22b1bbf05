"""The core's own readers, registered through the same hook as any plugin's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publicservices.hookspecs import hookimpl
from publicservices.reading import Reader, ReadResult, read_csv

_CONTRACT_KEY = {"indicator_id", "area_code", "period"}


def _sniff_contract(columns: Sequence[str]) -> bool:
    return _CONTRACT_KEY <= set(columns)


def _read_contract(path: Path, **options: Any) -> ReadResult:
    return read_csv(path, reader_name="contract", **options)


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name="contract",
            description="A file already in the publicservices values layout (indicator_id, area_code, period, ...)",
            sniff=_sniff_contract,
            read=_read_contract,
            extensions=(".csv", ".parquet", ".pq"),
        )
    )
