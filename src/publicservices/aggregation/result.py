"""What :func:`publicservices.aggregate` returns: the values frame and the reader's report.

Example:
    >>> import polars as pl
    >>> r = AggregateResult(values=pl.DataFrame({"indicator_id": ["a.b"], "area_code": ["x"], "period": ["2024/25"]}),
    ...                     excluded=pl.DataFrame({"source": ["s"], "indicator_id": ["a.b"], "reason": ["unknown area code"],
    ...                                            "rows": [3]}), rows_read={"s": 10}, engine="polars")
    >>> print(r.summary())
    Aggregated 10 records from 1 source on polars into 1 value row (1 indicator).
    s: 3 of 10 rows (30.0%) not counted for a.b: unknown area code 3.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from publicservices.display import Block, Column, plural

__all__ = ["AggregateResult", "EXCLUDED_SCHEMA"]

EXCLUDED_SCHEMA = {"source": pl.String, "indicator_id": pl.String, "reason": pl.String, "rows": pl.Int64}


@dataclasses.dataclass(frozen=True)
class AggregateResult:
    """Aggregates of records in the data contract, and every record not counted, by reason.

    Attributes:
        values: the values frame (``indicator_id, area_code, period, period_start, numerator,
            denominator, value, lower_ci, upper_ci`` and a breakdown column such as ``sex`` when
            declared), one row per indicator x area (every level) x period.
        excluded: ``source, indicator_id, reason, rows``: records an indicator did not count,
            by reason (null keys, unknown area codes, dates outside any period, impossible ages,
            ages in no band, no value, no population, and each declared exclusion).
        bands: for standardised rates, the band-level counts and populations the DSR was
            computed from (``indicator_id, area_code, period, [breakdowns], age_band, numerator,
            population``).
        rows_read: records read per source.
        engine: ``polars`` or ``spark``.
        indicators: the indicators built, by id.
    """

    values: pl.DataFrame
    excluded: pl.DataFrame
    rows_read: dict[str, int]
    engine: str
    bands: pl.DataFrame | None = None
    indicators: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_read_result(self, areas: pl.DataFrame | None = None) -> Any:
        """As a :class:`~publicservices.reading.ReadResult`, to combine with read files (a site project)."""
        from collections import Counter

        from publicservices.reading import LoadReport, ReadResult

        set_aside: Counter[str] = Counter()
        for indicator, reason, rows in self.excluded.select("indicator_id", "reason", "rows").iter_rows():
            set_aside[f"records not counted for {indicator}: {reason}"] += int(rows)
        report = LoadReport(
            source=", ".join(self.rows_read) or "records",
            reader="aggregate",
            rows_read=self.values.height,
            rows_kept=self.values.height,
            set_aside=set_aside,
            notes=self.summary().splitlines()[:1],
        )
        return ReadResult(values=self.values, report=report, areas=areas, indicators=dict(self.indicators))

    def summary(self) -> str:
        """Plain words: what was read, what came out, and what was not counted and why."""
        n_ind = self.values["indicator_id"].n_unique() if self.values.height else 0
        total = sum(self.rows_read.values())
        lines = [
            f"Aggregated {total:,} records from {plural(len(self.rows_read), 'source')} on {self.engine} into "
            f"{plural(self.values.height, 'value row')} ({plural(n_ind, 'indicator')})."
        ]
        if not self.excluded.height:
            lines.append(
                "Every record was counted: none had a missing key, an unknown area, a date outside the periods or an impossible age."
            )
            return "\n".join(lines)
        for (source, indicator), group in self.excluded.group_by("source", "indicator_id", maintain_order=True):
            rows = int(group["rows"].sum())
            read = self.rows_read.get(str(source), 0)
            share = f" ({100 * rows / read:.1f}%)" if read else ""
            reasons = ", ".join(f"{r} {n:,}" for r, n in group.select("reason", "rows").rows())
            lines.append(f"{source}: {rows:,} of {read:,} rows{share} not counted for {indicator}: {reasons}.")
        return "\n".join(lines)

    def _block(self) -> Block:
        columns = [
            Column("source", "Source"),
            Column("indicator_id", "Indicator"),
            Column("reason", "Reason"),
            Column("rows", "Rows", kind="integer"),
        ]
        return Block(
            title="Records aggregated to indicator values",
            sentences=self.summary().splitlines(),
            frame=self.excluded,
            columns=columns,
            max_rows=20,
            footer=".values holds the values frame; .excluded the rows not counted, by reason.",
        )

    def __repr__(self) -> str:
        return self._block().text()

    def _repr_html_(self) -> str:
        return self._block().html()

    def to_dict(self) -> dict[str, Any]:
        return {"rows_read": dict(self.rows_read), "engine": self.engine, "excluded": self.excluded.to_dicts()}
