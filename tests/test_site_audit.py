"""The output audit: no published CSV holds a count, or a proportion's complement, below the threshold."""

from __future__ import annotations

import csv
from types import SimpleNamespace

from publicservices.site.audit import audit_output


def _model(threshold: int = 5) -> SimpleNamespace:
    indicators = {
        "health.screening": SimpleNamespace(measure="proportion", has_polarity=True),
        "policing.crime_rate": SimpleNamespace(measure="rate", has_polarity=True),
    }
    return SimpleNamespace(options={"suppress_threshold": threshold}, indicators=indicators, comparisons={}, page_indicators={})


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def test_small_counts_and_complements_are_found_in_every_csv_and_nothing_else_is(tmp_path):
    head = ["indicator_id", "area_code", "period", "numerator", "denominator", "value"]
    _write(
        tmp_path / "data" / "areas" / "a.csv",
        [
            head,
            ["health.screening", "E1", "2024", "3", "100", "3.0"],  # a small count
            ["health.screening", "E2\nwith a line break", "2024", "98", "100", "98.0"],  # a complement of 2
            ["policing.crime_rate", "E3", "2024", "98", "100", "98.0"],  # a rate has no complement
            ["health.screening", "E4", "2024", "0", "100", "0.0"],  # zero is published
            ["health.screening", "E5", "2024", "", "", ""],  # suppressed
            ["health.screening", "E6", "2024", "n/a", "100", ""],  # not a number
            ["health.screening", "E7", "2024", "5", "10"],  # a short row: 5 is not below 5
        ],
    )
    _write(tmp_path / "data" / "b.csv", [["area_code", "value"], ["E1", "3"]])  # no counts at all
    _write(tmp_path / "data" / "c.csv", [head[:4], ["policing.crime_rate", "E1", "2024", "4.5"]])  # no denominator

    problems = audit_output(_model(), tmp_path)

    assert problems == [
        "data/areas/a.csv: 2 rows publish a count or complement below 5 (e.g. health.screening E1 2024)",
        "data/c.csv: 1 row publishes a count or complement below 5 (e.g. policing.crime_rate E1 2024)",
    ]
    assert audit_output(_model(threshold=0), tmp_path) == []  # no threshold, nothing to find
    assert audit_output(_model(threshold=3), tmp_path) == [
        "data/areas/a.csv: 1 row publishes a count or complement below 3 (e.g. health.screening E2\nwith a line break 2024)"
    ]
