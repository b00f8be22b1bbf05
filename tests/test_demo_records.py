"""ps.demo_records: partitioned Parquet records whose plain Polars aggregates are the demo, exactly.

Every check here aggregates the written files with a plain ``pl.scan_parquet(...).group_by``
(not ``ps.aggregate``), so the records are tested independently of the engine they feed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import publicservices as ps
from publicservices.errors import DataError, OptionError
from publicservices.stats.outcomes.standard_populations import ESP2013, ESP2013_BANDS
from publicservices.synthetic.records import RECORD_SOURCES, DemoRecords, _death_bands

SOURCES = list(RECORD_SOURCES)


def fy() -> pl.Expr:
    """The financial year label ("2014/15") of ``date``: April to March."""
    year = pl.col("date").dt.year() - (pl.col("date").dt.month() < 4).cast(pl.Int32)
    return (year.cast(pl.String) + "/" + ((year + 1) % 100).cast(pl.String).str.zfill(2)).alias("period")


def band() -> pl.Expr:
    lo = pl.col("age") // 5 * 5
    return (
        pl.when(pl.col("age") >= 90)
        .then(pl.lit("90+"))
        .otherwise(lo.cast(pl.String) + "-" + (lo + 4).cast(pl.String))
        .alias("age_band")
    )


def scan(out: DemoRecords, source: str) -> pl.LazyFrame:
    return pl.scan_parquet(out.records[source], hive_partitioning=False)


def aggregates(out: DemoRecords) -> dict[str, pl.DataFrame]:
    """Each indicator's numerator, denominator and value per area x period, by plain Polars."""
    keys = ["area_code", "period"]
    got = {}
    have = set(out.sources)
    if "health.ae_attendances" in have:
        got["health.ae_4hr"] = (
            scan(out, "health.ae_attendances")
            .group_by("area_code", fy())
            .agg(numerator=(pl.col("minutes_in_department") <= 240).sum(), denominator=pl.len())
            .with_columns(value=pl.col("numerator") / pl.col("denominator") * 100)
        )
    if "policing.crimes" in have:
        got["policing.charge_rate"] = (
            scan(out, "policing.crimes")
            .group_by("area_code", fy())
            .agg(numerator=(pl.col("outcome") == "charged").sum(), denominator=pl.len())
            .with_columns(value=pl.col("numerator") / pl.col("denominator") * 100)
        )
    if "schools.ks4_pupils" in have:
        got["schools.attainment8"] = (
            scan(out, "schools.ks4_pupils")
            .group_by("area_code", fy())
            .agg(
                numerator=pl.col("attainment8").sum(),
                denominator=pl.col("attainment8").count(),
                value=pl.col("attainment8").mean(),
            )
        )
    if "health.deaths" not in have:
        return {k: v.with_columns(pl.col("numerator", "denominator").cast(pl.Float64)).collect() for k, v in got.items()}
    deaths = (
        scan(out, "health.deaths")
        .filter(pl.col("cause") == "cvd_preventable")
        .group_by("area_code", fy(), band())
        .agg(deaths=pl.len())
    )
    weights = pl.LazyFrame({"age_band": ESP2013_BANDS, "w": [float(w) for w in ESP2013]})
    population = pl.scan_parquet(out.population).group_by(*keys, "age_band").agg(pl.col("population").sum())
    got["health.cvd_mortality_preventable"] = (
        population.join(deaths, on=[*keys, "age_band"], how="left")
        .with_columns(pl.col("deaths").fill_null(0))
        .join(weights, on="age_band")
        .group_by(keys)
        .agg(
            numerator=pl.col("deaths").sum(),
            denominator=pl.col("population").sum(),
            value=(pl.col("w") * pl.col("deaths") / pl.col("population")).sum() / pl.col("w").sum() * 100_000,
            smallest_band=pl.col("population").min(),
        )
    )
    return {k: v.with_columns(pl.col("numerator", "denominator").cast(pl.Float64)).collect() for k, v in got.items()}


def assert_reproduces(out: DemoRecords) -> None:
    got = aggregates(out)
    expected = out.expected_values
    for indicator in out.indicators:
        want = expected.filter(pl.col("indicator_id") == indicator)
        cells = want.join(got[indicator], on=["area_code", "period"], how="full", suffix="_records", coalesce=True)
        assert cells.height == want.height == got[indicator].height, indicator
        assert (cells["denominator"] == cells["denominator_records"]).all(), indicator
        if indicator == "schools.attainment8":  # the demo leaves a mean's numerator empty: sum = mean x n
            assert cells["numerator"].null_count() == cells.height
            assert np.allclose(cells["numerator_records"], cells["value"] * cells["denominator"], rtol=1e-9, atol=0)
        else:
            assert (cells["numerator"] == cells["numerator_records"]).all(), indicator
        rel = ((cells["value_records"] - cells["value"]).abs() / cells["value"].abs()).fill_nan(0.0)
        assert rel.max() <= 1e-9, (indicator, rel.max())
    if "health.deaths" in out.sources:  # every band has people, as a DSR needs
        assert got["health.cvd_mortality_preventable"]["smallest_band"].min() > 0


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> DemoRecords:
    return ps.demo_records(path=tmp_path_factory.mktemp("records") / "demo", rows=60_000, seed=3)


def test_plain_polars_aggregates_reproduce_the_demo(small):
    assert isinstance(small, DemoRecords)
    assert small.sources == tuple(SOURCES) and len(small.periods) == 10
    assert abs(small.rows - 60_000) / 60_000 < 0.03
    assert small.rows == sum(small.rows_by_source.values())
    assert_reproduces(small)
    # the values are the demo at the records' scale, with the standard demo's truth
    demo = ps.demo(3, scale=small.scale)
    assert_frame_equal(
        small.dataset.values.sort("indicator_id", "area_code", "period"),
        demo.values.filter(pl.col("indicator_id").is_in(small.dataset.values["indicator_id"].unique().to_list())).sort(
            "indicator_id", "area_code", "period"
        ),
    )


def test_region_roll_up_is_the_sum_of_its_areas(small):
    """Regions come from the areas frame's parent_code: their counts are the sums of the demo's."""
    parents = small.areas.select("area_code", region="parent_code")
    rolled = (
        scan(small, "policing.crimes")
        .join(parents.lazy(), on="area_code")
        .group_by("region", fy())
        .agg(numerator=(pl.col("outcome") == "charged").sum().cast(pl.Float64), denominator=pl.len().cast(pl.Float64))
        .collect()
    )
    demo = (
        small.expected_values.filter(pl.col("indicator_id") == "policing.charge_rate")
        .join(parents, on="area_code")
        .group_by("region", "period")
        .agg(pl.col("numerator", "denominator").sum())
    )
    assert_frame_equal(rolled.sort("region", "period"), demo.sort("region", "period"), check_column_order=False)


def test_partition_layout_columns_and_plausible_values(small):
    root = small.path
    for source in SOURCES:
        dirs = sorted(p.name for p in (root / source).iterdir())
        assert dirs == [f"period={p.replace('/', '-')}" for p in small.periods]
        assert (root / source / "period=2014-15" / "part-0.parquet").is_file()
    assert (root / "population.parquet").is_file()
    manifest = json.loads((root / "_demo_records.json").read_text())
    assert manifest["seed"] == 3 and manifest["rows"] == small.rows and manifest["sources"] == SOURCES
    common = {"area_code": pl.String, "date": pl.Date, "sex": pl.String, "age": pl.Int16}
    extra = {
        "health.ae_attendances": {"minutes_in_department": pl.Int32},
        "health.deaths": {"cause": pl.String},
        "schools.ks4_pupils": {"disadvantaged": pl.Boolean, "attainment8": pl.Float64},
        "policing.crimes": {"outcome": pl.String},
    }
    ages = {
        "health.ae_attendances": (0, 100),
        "health.deaths": (0, 100),
        "schools.ks4_pupils": (15, 16),
        "policing.crimes": (10, 90),
    }
    codes = set(small.areas["area_code"])
    for source in SOURCES:
        assert dict(scan(small, source).collect_schema()) == {**common, **extra[source]}, source
        # the date of every record lies in the financial year of its partition
        frame = pl.scan_parquet(root / source / "**" / "*.parquet", hive_partitioning=True).collect()
        label = frame["period"].cast(pl.String).str.replace("-", "/")
        assert (frame.select(fy())["period"] == label).all(), source
        lo, hi = ages[source]
        assert frame["age"].min() >= lo and frame["age"].max() <= hi, source
        assert set(frame["sex"]) == {"female", "male"}
        assert set(frame["area_code"]) <= codes
    pupils = scan(small, "schools.ks4_pupils").collect()
    assert 0 < pupils["attainment8"].null_count() < 0.1 * pupils.height  # some not entered
    assert pupils["disadvantaged"].mean() > 0.1
    ae = scan(small, "health.ae_attendances").collect()
    assert ae["minutes_in_department"].min() > 0
    population = pl.read_parquet(small.population)
    assert population.schema == pl.Schema(
        {"area_code": pl.String, "period": pl.String, "sex": pl.String, "age_band": pl.String, "population": pl.Float64}
    )
    assert population.height == 150 * 10 * 2 * 19 and population["population"].min() > 0
    assert set(population["age_band"]) == set(ESP2013_BANDS)


def test_subsets_reproduce_the_same_cells(small, tmp_path):
    """A subset of sources and periods at the same scale holds the same counts as the whole."""
    part = ps.demo_records(
        path=tmp_path / "part", scale=small.scale, seed=3, sources=["health.deaths", "schools.ks4_pupils"], periods="2019/20"
    )
    assert part.sources == ("health.deaths", "schools.ks4_pupils") and part.periods == ("2019/20",)
    assert sorted(p.name for p in part.path.iterdir()) == [
        "_demo_records.json",
        "health.deaths",
        "population.parquet",
        "schools.ks4_pupils",
    ]
    assert_reproduces(part)
    whole = pl.read_parquet(small.population).filter(pl.col("period") == "2019/20")
    assert_frame_equal(pl.read_parquet(part.population), whole)


def test_same_seed_same_bytes_other_seed_other_records(tmp_path):
    kwargs = {"rows": 12_000, "sources": ["policing.crimes", "schools.ks4_pupils"], "periods": ["2014/15", "2015/16"]}
    a = ps.demo_records(path=tmp_path / "a", seed=5, **kwargs)
    b = ps.demo_records(path=tmp_path / "b", seed=5, **kwargs)
    c = ps.demo_records(path=tmp_path / "c", seed=6, **kwargs)
    files = sorted(p.relative_to(a.path) for p in a.path.rglob("*.parquet"))
    assert files == sorted(p.relative_to(b.path) for p in b.path.rglob("*.parquet"))
    for f in files:
        assert_frame_equal(pl.read_parquet(a.path / f), pl.read_parquet(b.path / f))
    assert not scan(a, "policing.crimes").collect().equals(scan(c, "policing.crimes").collect())
    assert_reproduces(c)
    assert DemoRecords.open(a.path) == a


def test_large_areas_are_cut_into_chunks_and_still_add_up(tmp_path):
    """Chunks smaller than an area: an area's records span several files, pairs of scores stay whole."""
    out = ps.demo_records(path=tmp_path / "r", rows=400_000, chunk_rows=10_000, periods=["2023/24"])
    parts = list((out.path / "health.ae_attendances" / "period=2023-24").glob("part-*.parquet"))
    assert len(parts) > 20 and max(pl.read_parquet(p).height for p in parts) <= 10_000
    assert_reproduces(out)


def test_memory_stays_bounded_while_writing(tmp_path):
    """4 million records written in chunks of 100,000: peak RSS rises far less than the records' size.

    The rise is about 20 MB at 2 or 4 million rows (what the allocator keeps varies with the machine's
    load: 15-25 MB); at 4 million the records are 97 MB, so the bound tests the writing, not the noise."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("peak RSS reset needs Linux /proc/self/clear_refs")
    code = textwrap.dedent(
        f"""
        import json, gc
        from pathlib import Path
        import polars as pl
        import publicservices as ps

        def status(key):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024

        ps.demo_records(path={str(tmp_path / "warm")!r}, rows=10_000)  # imports, the demo, thread pools
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")
        before = status("VmRSS")
        out = ps.demo_records(path={str(tmp_path / "big")!r}, rows=4_000_000, chunk_rows=100_000)
        rise = status("VmHWM") - before
        size = sum(pl.scan_parquet(v, hive_partitioning=False).collect().estimated_size() for v in out.records.values())
        print(json.dumps({{"rise": rise, "size": size, "rows": out.rows}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] > 3_900_000
    assert result["rise"] < 0.5 * result["size"], result


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(OptionError, match=r"rows 9,999|rows 9999") as err:
        ps.demo_records(path=tmp_path / "x", rows=9_999)
    assert "Fix:" in str(err.value)
    assert not (tmp_path / "x").exists()  # nothing written before the arguments are checked
    a_file = tmp_path / "file.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(OptionError, match="is a file"):
        ps.demo_records(path=a_file, rows=10_000)
    with pytest.raises(OptionError, match="not both"):
        ps.demo_records(path=tmp_path / "y", rows=10_000, scale=1.0)
    with pytest.raises(OptionError, match="not a demo source"):
        ps.demo_records(path=tmp_path / "y", sources=["health.ae"])
    with pytest.raises(OptionError, match="not a demo period"):
        ps.demo_records(path=tmp_path / "y", periods=["2030/31"])
    with pytest.raises(OptionError, match="chunk_rows"):
        ps.demo_records(path=tmp_path / "y", chunk_rows=100)
    assert not (tmp_path / "y").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(OptionError, match="not empty"):
        ps.demo_records(path=tmp_path / "busy", rows=10_000)
    with pytest.raises(OptionError, match="holds no demo records"):
        ps.demo_records(path=tmp_path / "busy", rows=10_000, overwrite=True)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    with pytest.raises(DataError, match="no complete demo records"):
        DemoRecords.open(tmp_path / "busy")


def test_overwrite_replaces_only_demo_records(tmp_path):
    first = ps.demo_records(path=tmp_path / "r", rows=10_000, sources="policing.crimes")
    (tmp_path / "r" / "README").write_text("kept")
    again = ps.demo_records(path=tmp_path / "r", rows=10_000, sources="schools.ks4_pupils", overwrite=True)
    assert not (first.path / "policing.crimes").exists() and (again.path / "schools.ks4_pupils").is_dir()
    assert (tmp_path / "r" / "README").read_text() == "kept"


def test_demo_scale_one_is_the_standard_demo_and_other_scales_keep_the_truth():
    standard = ps.demo(0)
    assert_frame_equal(ps.demo(0, scale=1.0).values, standard.values)
    half = ps.demo(0, scale=0.5)
    assert_frame_equal(half.truth["values"], standard.truth["values"])
    ae = pl.col("indicator_id") == "health.ae_4hr"
    ratio = half.values.filter(ae)["denominator"].sum() / standard.values.filter(ae)["denominator"].sum()
    assert 0.49 < ratio < 0.51 and half.metadata["scale"] == 0.5 and "scale" not in standard.metadata
    with pytest.raises(DataError, match="scale"):
        ps.demo(0, scale=0)


@settings(max_examples=200, deadline=None)
@given(
    deaths=st.integers(0, 400),
    extra=st.integers(1, 5_000_000),
    seed=st.integers(0, 2**32 - 1),
)
def test_dsr_of_the_band_split_is_the_crude_rate(deaths, extra, seed):
    """Property: for any deaths D and population P >= D, the bands give DSR = D / P exactly (1e-9),
    every band has people, and the band populations add up to P exactly."""
    population = deaths + extra
    d, p, _grid = _death_bands(np.random.default_rng(seed), np.array([[deaths]]), np.array([[population]]))
    d, p = d[0, 0], p[0, 0]
    w = np.asarray(ESP2013, dtype=float)
    assert d.sum() == deaths and (p > 0).all()
    assert p.sum() == population and sum(sorted(p)) == population and sum(p[::-1]) == population
    dsr = (w * d / p).sum() / w.sum()
    assert dsr == pytest.approx(deaths / population, rel=1e-9, abs=0)


def test_dates_of_pupils_are_in_both_the_academic_and_the_financial_year(small):
    dates = scan(small, "schools.ks4_pupils").select(pl.col("date").dt.month().unique()).collect()["date"].to_list()
    assert set(dates) <= {9, 10, 11, 12, 1, 2, 3}
