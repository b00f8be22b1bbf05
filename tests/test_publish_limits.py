"""Hostile or broken inputs to publish end in a named error, never a traceback, a hang or a full disk."""

from __future__ import annotations

import json

import polars as pl
import pytest

from publicservices.dataset import Dataset
from publicservices.errors import DataError, SchemaError
from publicservices.site import pipeline
from publicservices.site.boundaries import read_boundaries
from publicservices.site.pipeline import _printable, check_size
from publicservices.site.sample import sample_dataset


def test_dataset_folder_that_is_broken_or_points_outside_is_a_named_error(tmp_path):
    folder = sample_dataset(n_areas=4, n_periods=2).to_dir(tmp_path / "ds")
    (tmp_path / "secret.parquet").write_bytes(b"not a parquet file")
    meta = json.loads((folder / "dataset.json").read_text())
    meta["truth"] = {"x": {"$frame": "../secret.parquet"}}
    (folder / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaError, match="outside the dataset folder"):
        Dataset.from_dir(folder)
    (folder / "dataset.json").write_text("{not json")
    with pytest.raises(SchemaError, match="not a readable dataset description"):
        Dataset.from_dir(folder)
    (folder / "dataset.json").write_text(json.dumps({"format": "publicservices-dataset", "indicators": []}))
    (folder / "values.parquet").unlink()
    with pytest.raises(SchemaError, match="values.parquet is missing"):
        Dataset.from_dir(folder)


def test_deeply_nested_or_huge_boundaries_are_refused(tmp_path, monkeypatch):
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="cannot read"):
        read_boundaries(nested, ["E06000001"])
    big = tmp_path / "big.json"
    ring = [[i * 1e-4, (i % 7) * 1e-4] for i in range(20_000)]
    big.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"areacd": "E06000001"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    monkeypatch.setattr("publicservices.site.boundaries.MAX_SHIPPED_BYTES", 100_000)
    with pytest.raises(DataError, match="more than a web map can load"):
        read_boundaries(big, ["E06000001"])


def test_inputs_too_large_for_a_site_are_refused_early(monkeypatch):
    data = sample_dataset(n_areas=6, n_periods=2)
    monkeypatch.setattr(pipeline, "MAX_VALUE_ROWS", 10)
    with pytest.raises(DataError, match="at most 10"):
        check_size(data)
    monkeypatch.setattr(pipeline, "MAX_VALUE_ROWS", 5_000_000)
    long = Dataset(data.values, data.areas.with_columns(pl.lit("x" * 2_000).alias("area_name")), indicators=data.indicators)
    with pytest.raises(DataError, match="longer than 1,000 characters"):
        check_size(long)


def test_escape_sequences_from_data_never_reach_the_terminal():
    assert _printable("Area \x1b]0;owned\x07 \x1b[2J\u009b") == "Area \\x1b]0;owned\\x07 \\x1b[2J\\x9b"
    assert _printable("line one\nline two\tok") == "line one\nline two\tok"
