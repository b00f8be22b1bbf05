"""Where the records live and what runs the query: Polars streaming (default) or Apache Spark.

Both engines run the same narwhals query (:mod:`.compile`); this module only opens the records
lazily and collects the small aggregated result:

* **polars** -- a path or glob of Parquet (a folder of partitioned Parquet too) or CSV files is
  *scanned*, never read whole: Polars pushes the column selection (projection) and any filter down
  into the scan and runs the query on its streaming engine, so memory stays bounded for inputs
  larger than RAM. A Polars LazyFrame/DataFrame or a pandas DataFrame is accepted as is.
* **spark** -- a PySpark DataFrame, or a path read by a SparkSession (``spark=``, else the active
  session): the query becomes Spark SQL through narwhals and runs on the cluster; only the
  aggregated cells come back. PySpark is imported only here, only when asked for.

Example:
    >>> import polars as pl
    >>> engine_of(pl.LazyFrame({"a": [1]}), "polars")
    'polars'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl

from publicservices.errors import MissingDependency, OptionError, ReaderError

__all__ = ["ENGINES", "engine_of", "open_records", "collect", "to_polars_frame"]

ENGINES = ("polars", "spark")


def _is_spark(obj: Any) -> bool:
    return type(obj).__module__.startswith("pyspark.")


def engine_of(obj: Any, engine: str) -> str:
    """The engine a records object runs on: a Spark DataFrame runs on Spark whatever was asked."""
    if engine not in ENGINES:
        raise OptionError(f"engine {engine!r} is not known.\nFix: use engine='polars' (default) or engine='spark'.")
    if _is_spark(obj) or (isinstance(obj, tuple) and obj and _is_spark(obj[0])):
        return "spark"
    return engine


def _spark_session(spark: Any) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingDependency("the Spark engine", ["pyspark"], extra="spark") from None
    if spark is not None:
        return spark
    session = SparkSession.getActiveSession()
    if session is None:
        raise OptionError(
            "engine='spark' with a path needs a SparkSession.\n"
            "Fix: pass spark=SparkSession.builder.getOrCreate(), or pass a Spark DataFrame "
            "(on Databricks the notebook's `spark` is already active)."
        )
    return session


def _files(path: Path | str) -> tuple[str, str]:
    """(what to scan, format) for a file, a glob or a folder of files."""
    text = str(path)
    p = Path(text)
    if p.is_dir():
        if any(p.rglob("*.parquet")):
            return str(p / "**" / "*.parquet"), "parquet"
        if any(p.rglob("*.csv")):
            return str(p / "**" / "*.csv"), "csv"
        raise ReaderError(
            f"records folder {text!r} holds no .parquet or .csv files.\nFix: point at the records' folder or files."
        )
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        fmt = "parquet"
    elif suffix in (".csv", ".txt"):
        fmt = "csv"
    else:
        raise ReaderError(
            f"records {text!r}: cannot tell the format from {suffix or 'no extension'}.\nFix: use .parquet or .csv files."
        )
    if not any(ch in text for ch in "*?[") and not p.exists():
        raise ReaderError(f"records file {text!r} does not exist.\nFix: check the path.")
    return text, fmt


def _spark_read(session: Any, text: str) -> Any:
    """A Spark DataFrame over a path: local, or remote (``s3a://``, ``abfss://``, ``hdfs://``, ``dbfs:/``)."""
    csv = text.lower().endswith((".csv", ".csv.gz", ".txt"))
    if "://" not in text and not text.startswith("dbfs:"):
        csv = _files(text)[1] == "csv"  # a local path: checked before Spark does, with a plain message
    # Hadoop globs have no recursive **: read the folder above it, which Spark lists
    # recursively, finding hive partitions (period=2014-15/) on the way
    target = text.split("**")[0].rstrip("/") if "**" in text else text
    if csv:
        return session.read.option("header", True).option("inferSchema", True).csv(target)
    return session.read.parquet(target)


def open_records(obj: Any, engine: str, spark: Any = None) -> nw.LazyFrame:
    """A narwhals LazyFrame over the records, opened lazily on the chosen engine."""
    if isinstance(obj, tuple) and len(obj) == 2 and _is_spark(obj[0]):
        spark, obj = obj
    if _is_spark(obj):
        return nw.from_native(obj).lazy()
    if isinstance(obj, (str, Path)):
        text = str(obj)
        if engine == "spark":
            return nw.from_native(_spark_read(_spark_session(spark), text)).lazy()
        where, fmt = _files(text)
        if fmt == "parquet":
            return nw.from_native(pl.scan_parquet(where, hive_partitioning=True))
        return nw.from_native(pl.scan_csv(where, try_parse_dates=True))
    if isinstance(obj, (pl.LazyFrame, pl.DataFrame)):
        if engine == "spark":
            session = _spark_session(spark)
            return nw.from_native(session.createDataFrame(obj.lazy().collect().to_arrow())).lazy()
        return nw.from_native(obj.lazy())
    if type(obj).__module__.startswith("pandas."):
        return open_records(pl.from_pandas(obj), engine, spark)
    raise OptionError(
        f"records of type {type(obj).__name__} cannot be aggregated.\n"
        "Fix: pass a Polars LazyFrame/DataFrame, a Parquet/CSV path or glob, a PySpark DataFrame, or a mapping "
        "{source name: any of those}."
    )


def collect(query: nw.LazyFrame, engine: str) -> pl.DataFrame:
    """Run the query and bring the (small) aggregated cells back as a Polars DataFrame."""
    if query.implementation.is_polars():
        # the streaming engine: bounded memory, Parquet/CSV scans pushed down
        return query.collect(backend="polars", engine="streaming").to_native()
    return query.collect(backend="polars").to_native()


def to_polars_frame(obj: Any, what: str) -> pl.DataFrame:
    """A small side frame (population, areas) as a Polars DataFrame, whatever it came as."""
    if obj is None:
        raise OptionError(f"{what} is missing.")
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if _is_spark(obj):
        return nw.from_native(obj).lazy().collect(backend="polars").to_native()
    if isinstance(obj, (str, Path)):
        where, fmt = _files(obj)
        return pl.read_parquet(where) if fmt == "parquet" else pl.read_csv(where, try_parse_dates=True)
    if type(obj).__module__.startswith("pandas."):
        return pl.from_pandas(obj)
    raise OptionError(f"{what} of type {type(obj).__name__} is not a frame.\nFix: pass a Polars DataFrame or a path.")
