"""ps.aggregate on Apache Spark (local[2]) gives the Polars engine's results exactly.

Needs PySpark (the [spark] extra, in [dev]) and Java 17+ (`.ci/run` installs Debian's
default-jre-headless): skipped on a laptop without them, a failure under CI=true.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil

import numpy as np
import polars as pl
import pytest
from conftest import require
from polars.testing import assert_frame_equal

import publicservices as ps
from publicservices.errors import SchemaError
from publicservices.record_definitions import AgeBands, RecordDefinition

ROWS = 1_000_000  # the 1M-row sample
AREAS = pl.DataFrame({"area_code": ["d1", "d2", "d3", "c1"], "parent_code": ["c1", "c1", "r1", "r1"]})
AE = ps.Indicator(
    id="health.ae_4hr",
    title="A&E within 4 hours",
    sector="health",
    measure="proportion",
    multiplier=100,
    records=RecordDefinition(
        source="ae",
        numerator={"column": "minutes", "le": 240},
        breakdowns=("sex",),
        exclusions=[("planned follow-up", {"column": "planned", "eq": True})],
    ),
)
WAIT = ps.Indicator(
    id="health.ae_minutes",
    title="Mean minutes in A&E",
    sector="health",
    measure="mean",
    records=RecordDefinition(source="ae", value_column="minutes", breakdowns=("sex",)),  # the same query as AE
)
DEATHS = ps.Indicator(
    id="health.cvd",
    title="CVD deaths",
    sector="health",
    measure="dsr",
    multiplier=100_000,
    records=RecordDefinition(
        source="deaths", numerator={"column": "cause", "in": ["cvd"]}, denominator="population", bands=AgeBands()
    ),
)


@pytest.fixture(scope="module")
def spark():
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed (pip install 'publicservices[spark]')")
    require(
        shutil.which("java") is not None, "Java is not installed (Spark 4 needs Java 17+: apt-get install default-jre-headless)"
    )
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("publicservices-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A few hundred thousand records with every kind of bad row, as Parquet."""
    rng = np.random.default_rng(20)
    n = ROWS
    codes = np.array(["d1", "d2", "d3", "zz", None], dtype=object)
    start = dt.date(2021, 1, 1)
    days = rng.integers(0, 3 * 365, n)
    ae = pl.DataFrame(
        {
            "area_code": pl.Series(codes[rng.choice(5, n, p=[0.3, 0.3, 0.38, 0.01, 0.01])], dtype=pl.String),
            "date": _dates(start, days),
            "sex": pl.Series(np.where(rng.random(n) < 0.5, "female", "male")).scatter([3, 4], [None, None]),
            "minutes": pl.Series(rng.integers(5, 700, n)).cast(pl.Int32).scatter([5, 6], [None, None]),
            "planned": rng.random(n) < 0.02,
        }
    )
    m = n // 3
    deaths = pl.DataFrame(
        {
            "area_code": pl.Series(codes[rng.choice(5, m, p=[0.3, 0.3, 0.38, 0.01, 0.01])], dtype=pl.String),
            "date": _dates(dt.date(2022, 4, 1), rng.integers(0, 365, m)),
            "age": pl.Series(rng.integers(-1, 125, m)).cast(pl.Int16),
            "cause": np.where(rng.random(m) < 0.3, "cvd", "other"),
        }
    )
    population = pl.DataFrame(
        [(a, "2022/23", b, float(rng.integers(1000, 9000))) for a in ("d1", "d2", "d3") for b in AgeBands().labels],
        schema=["area_code", "period", "age_band", "population"],
        orient="row",
    )
    folder = tmp_path_factory.mktemp("records")
    (folder / "ae").mkdir()
    for i, part in enumerate(ae.iter_slices(ROWS // 3)):
        part.write_parquet(folder / "ae" / f"part-{i}.parquet")
    deaths.write_parquet(folder / "deaths.parquet")
    return {"ae": folder / "ae", "deaths": folder / "deaths.parquet"}, population


def _dates(start: dt.date, days: np.ndarray) -> pl.Series:
    return pl.Series((start - dt.date(1970, 1, 1)).days + days).cast(pl.Int32).cast(pl.Date)


def _compare(left: ps.AggregateResult, right: ps.AggregateResult) -> None:
    counts = ["indicator_id", "area_code", "period", "period_start", "sex", "numerator", "denominator"]
    assert_frame_equal(left.values.select(counts), right.values.select(counts))  # identical counts
    assert_frame_equal(left.values, right.values, check_exact=False, rel_tol=1e-12)  # sums of floats: order may differ
    assert left.bands is not None and right.bands is not None
    assert_frame_equal(left.bands.sort(pl.all()), right.bands.sort(pl.all()))
    assert_frame_equal(left.excluded.sort(pl.all()), right.excluded.sort(pl.all()))
    assert left.rows_read == right.rows_read


def test_spark_gives_the_polars_results_exactly(spark, files):
    paths, population = files
    sources = {k: str(v) for k, v in paths.items()}
    kwargs = {"population": population, "areas": AREAS}
    on_polars = ps.aggregate(sources, [AE, WAIT, DEATHS], **kwargs)
    assert on_polars.rows_read == {"ae": ROWS, "deaths": ROWS // 3}
    reasons = set(on_polars.excluded["reason"])
    assert {
        "unknown area code",
        "null key (area_code)",
        "null key (sex)",
        "planned follow-up",
        "impossible age (<0 or >120)",
    } <= reasons
    # one call on Spark: a glob read by the given SparkSession, and a Spark DataFrame
    records = {"ae": sources["ae"] + "/**/*.parquet", "deaths": spark.read.parquet(sources["deaths"])}
    on_spark = ps.aggregate(records, [AE, WAIT, DEATHS], engine="spark", spark=spark, **kwargs)
    assert on_spark.engine == "spark"
    _compare(on_polars, on_spark)


def test_a_missing_column_is_named_on_spark_before_work(spark, files):
    paths, _ = files
    frame = spark.read.parquet(str(paths["ae"])).withColumnRenamed("minutes", "mins")
    with pytest.raises(SchemaError) as err:
        ps.aggregate({"ae": frame}, [AE])
    assert "column 'minutes' is missing (did you mean 'mins'?)" in str(err.value) and "'health.ae_4hr'" in str(err.value)
    # a (SparkSession, path) pair: only the schema is read
    misnamed = ps.Indicator.from_dict(
        {**AE.to_dict(), "records": {**AE.records.to_dict(), "numerator": {"column": "mins", "le": 240}}}
    )
    with pytest.raises(SchemaError, match="column 'mins' is missing"):
        ps.aggregate({"ae": (spark, str(paths["ae"]))}, [misnamed])
