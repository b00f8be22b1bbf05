"""Slices: a frame's rows by key, as zero-copy frames or as dicts made a block of keys at a time."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.site import slices
from publicservices.site.slices import Slices


def test_slices_keep_first_appearance_and_row_order():
    frame = pl.DataFrame({"area_code": ["b", "a", "b", "c", "a"], "n": [1, 2, 3, 4, 5]})
    s = Slices(frame)
    assert [k for k, _ in s] == ["b", "a", "c"]
    assert s["a"].get_column("n").to_list() == [2, 5] and s.get("z") is None and s.get("z", 0) == 0
    assert Slices(None).records("a") == [] and Slices(frame.clear()).get("a") is None


def test_an_order_puts_keys_in_the_order_asked_and_others_after():
    frame = pl.DataFrame({"area_code": ["b", "a", "x", "b"], "n": [1, 2, 3, 4]})
    s = Slices(frame, order=["a", "b", "c"])
    assert [k for k, _ in s] == ["a", "b", "x"]
    assert s.records("b") == [{"area_code": "b", "n": 1}, {"area_code": "b", "n": 4}]
    assert s.records("c") == [] and s.records("x", drop=("area_code",)) == [{"n": 3}]


@given(
    keys=st.lists(st.sampled_from("abcdefghij"), max_size=60),
    asked=st.lists(st.sampled_from("abcdefghijk"), max_size=30),
    block=st.integers(1, 4),
)
@settings(max_examples=200, deadline=None)
def test_records_are_each_keys_rows_whatever_the_order_asked(keys, asked, block):
    original, slices._BLOCK = slices._BLOCK, block  # blocks of a few keys, so that asks cross them
    try:
        frame = pl.DataFrame({"area_code": keys, "n": list(range(len(keys)))}, schema={"area_code": pl.String, "n": pl.Int64})
        s = Slices(frame, order=sorted(set(asked)))
        for key in asked:
            expected = frame.filter(pl.col("area_code") == key)
            assert s.records(key) == expected.to_dicts()
            assert s.records(key, drop=("area_code",)) == expected.drop("area_code").to_dicts()
    finally:
        slices._BLOCK = original


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(st.none(), st.text(alphabet="x,\"'=\n\r é", max_size=5)),
            st.floats(allow_nan=True),
        ),
        max_size=25,
    )
)
@settings(max_examples=100, deadline=None)
def test_one_csv_per_key_is_what_polars_writes_for_that_keys_rows(tmp_path_factory, rows):
    from publicservices.site.writer import DocsWriter, csv_safe, flat_text

    frame = pl.DataFrame(rows, schema={"area": pl.String, "note": pl.String, "x": pl.Float64}, orient="row")
    writer = DocsWriter(tmp_path_factory.mktemp("csv"))
    written = writer.csv_per(frame, "area", lambda a: f"data/{a}.csv")
    safe = csv_safe(flat_text(frame))
    assert sorted(p.stem for p in written) == sorted(set(frame.get_column("area")))
    for path in written:  # a line break inside a cell is written file by file, the same
        assert path.read_bytes().decode() == safe.filter(pl.col("area") == path.stem).write_csv()


@given(
    st.lists(
        st.one_of(st.none(), st.lists(st.one_of(st.none(), st.text(alphabet="E0; ,é\n", max_size=6)), max_size=4)),
        max_size=20,
    )
)
@settings(max_examples=100, deadline=None)
def test_lists_of_text_are_flattened_as_each_cell_would_be(cells):
    # Polars joins lists of text (tens of thousands of peers in a value-for-money frame); the
    # text must be what _cell_text makes of each cell, null items left out
    from publicservices.site.writer import _cell_text, flat_text

    frame = pl.DataFrame(
        {"peers": cells, "w": [[1.5] if c is not None else None for c in cells]},
        schema={"peers": pl.List(pl.String), "w": pl.List(pl.Float64)},
    )
    flat = flat_text(frame)
    assert flat.get_column("peers").to_list() == [_cell_text(c) for c in cells]
    assert flat.get_column("w").to_list() == [None if c is None else "1.5" for c in cells]
