"""Benchmark: ``ps.aggregate`` (Polars streaming) beside DuckDB on the same records: time, memory, growth.

Run: ``.venv/bin/python benchmarks/bench_aggregate.py [--rows 100e6] [--repeats 3]``; growth mode
(linearity) with several sizes: ``--rows 10e6,100e6``; ``--quick`` is 1M and 4M rows, 2 repeats.
``--engines ps,duckdb,polars`` adds a hand-written Polars query (information only).

The records are :func:`publicservices.demo_records` (A&E attendances, deaths, KS4 pupils,
crimes, plus the population frame), written once per size into a cache directory
(``PUBLICSERVICES_CACHE_DIR``, else the system temporary directory) and reused. The work, the
same for every engine: from all four sources, every record checked (null keys, unknown area
code, date outside the periods, impossible age) and counted by reason; A&E within 4 hours
and the charge rate, each in total and by sex; mean Attainment 8 (sum, count and sum of
squares); preventable CVD mortality as a DSR over the 19 ESP2013 age bands with the
population frame; every indicator at three area levels (upper tier, region, nation, rolled
up through the areas' ``parent_code``) and ten financial years.

* ``ps``: ``ps.aggregate(records, indicators, population=..., areas=..., engine="polars")``;
* ``duckdb``: the equivalent SQL on the same Parquet files (DuckDB's own threads and memory);
* ``polars`` (optional): the same work written by hand in Polars lazy (streaming engine).

Every engine runs in a child process per repeat, alternating (ps, duckdb, duckdb, ps, ...)
after one warm-up run each (which also warms the OS file cache), so each peak resident memory
(``VmHWM`` of that child, all of it: interpreter, libraries, query) belongs to one engine only.
CPU seconds are the child's user + system time over the call (all threads); wall time beside
them. The children's results are compared: the numerators and denominators of every
indicator at every level must agree between engines.

Goals (issue 20), at 100M records on this 2-core, 24 GB machine: peak memory under 4 GB; time
within 1.5x DuckDB's (median CPU); linear growth (CPU per record at the largest size at most
1.25x that at the smallest).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (  # noqa: E402
    COMMON_NOTE,
    Table,
    Timing,
    arguments,
    in_fresh_process,
    megabytes,
    peak_during,
    report,
    seconds,
)

GB = 1024**3
NATION = "X92000001"  # the demo has no nation row: the benchmark's areas frame adds one above the regions
LEVELS = {"X12": "region", "X92": "nation"}  # by code prefix; anything else is an upper-tier area
SEED = 0
ENGINES = ("ps", "duckdb", "polars")
ESP2013 = (5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000)
# the indicators compared (id -> label); ae_4hr and charge_rate also run by sex, as "<id>_by_sex"
FAMILIES = {
    "health.ae_4hr": "A&E 4 hours",
    "policing.charge_rate": "charge rate",
    "schools.attainment8": "Attainment 8",
    "health.cvd_mortality_preventable": "CVD DSR",
}


# --------------------------------------------------------------------------------------------
# the records, cached
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(os.environ.get("PUBLICSERVICES_CACHE_DIR") or tempfile.gettempdir()) / "publicservices-bench-aggregate"


def records_for(rows: int) -> Any:
    """Demo records of about ``rows`` records, written once and reused."""
    from publicservices.synthetic.records import DemoRecords, demo_records

    path = cache_dir() / f"records-{rows}-seed{SEED}"
    try:
        return DemoRecords.open(path)
    except Exception:  # noqa: BLE001 - absent or incomplete: write them
        pass
    print(f"writing {rows:,} demo records to {path} (once; reused by later runs) ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    out = demo_records(path=path, rows=rows, seed=SEED, overwrite=path.exists())
    print(f"  {out.rows:,} records in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return out


def areas_frame(records: Any) -> Any:
    """Upper-tier areas -> regions -> the nation, for the roll-up."""
    import polars as pl

    upper = records.areas.select("area_code", "parent_code")
    regions = upper.select(area_code="parent_code").unique().sort("area_code").with_columns(parent_code=pl.lit(NATION))
    nation = pl.DataFrame(
        {"area_code": [NATION], "parent_code": [None]}, schema={"area_code": pl.String, "parent_code": pl.String}
    )
    return pl.concat([upper, regions, nation])


def bridge_frame(records: Any) -> Any:
    """leaf, area_code: every upper-tier area with itself, its region and the nation."""
    import polars as pl

    upper = records.areas.select(leaf="area_code", region="parent_code")
    return pl.concat(
        [
            upper.select("leaf", area_code="leaf"),
            upper.select("leaf", area_code="region"),
            upper.select("leaf", area_code=pl.lit(NATION)),
        ]
    )


# --------------------------------------------------------------------------------------------
# the engines: each returns (rows, digest) where digest = {family|level|sex: [rows, numerator, denominator]}
# --------------------------------------------------------------------------------------------


def digest(frame: Any, family_col: str = "indicator_id") -> dict[str, list[float]]:
    """Counts per indicator family x level x sex (or "all"): rows, sum of numerators, of denominators."""
    import polars as pl

    level = pl.col("area_code").str.slice(0, 3).replace_strict(LEVELS, default="upper tier")
    sex = pl.col("sex").fill_null("all") if "sex" in frame.columns else pl.lit("all")
    base = pl.col(family_col).str.replace(r"_by_sex$", "")
    # a mean's numerator is the sum of its values; the data contract may leave it empty (as the demo does)
    total = pl.col("numerator").cast(pl.Float64)
    if "value" in frame.columns:
        total = pl.when(base == "schools.attainment8").then(pl.col("value") * pl.col("denominator")).otherwise(total)
    out = (
        frame.with_columns(fam=base, level=level, sx=sex)
        # a breakdown's "persons" rows repeat the indicator's totals (ps.aggregate adds them)
        .filter(pl.col("fam").is_in(list(FAMILIES)), pl.col("sx") != "persons")
        .group_by("fam", "level", "sx")
        .agg(pl.len().cast(pl.Float64), total.sum(), pl.col("denominator").cast(pl.Float64).sum())
    )
    return {f"{r[0]}|{r[1]}|{r[2]}": [r[3], r[4], r[5]] for r in out.rows()}


def run_ps(records: Any) -> tuple[int, dict[str, list[float]]]:
    import dataclasses

    import publicservices as ps
    from publicservices.plugins import get_registry

    registered = get_registry().indicators()
    indicators = [registered[i] for i in FAMILIES]
    # the sex breakdown: the same definitions with breakdowns=("sex",) under their own ids
    for base in ("health.ae_4hr", "policing.charge_rate"):
        ind = registered[base]
        definition = dataclasses.replace(ind.records, breakdowns=("sex",))
        indicators.append(dataclasses.replace(ind, id=f"{base}_by_sex", records=definition))
    result = ps.aggregate(
        records.records, indicators, population=str(records.population), areas=areas_frame(records), engine="polars"
    )
    return result.values.height, digest(result.values)


def _duckdb_sql(records: Any) -> dict[str, str]:
    """The same work as ps.aggregate in DuckDB SQL: cells per source, the roll-up, the values."""
    fy = "(year(date) - CAST(month(date) < 4 AS INTEGER))"
    src = {s: f"read_parquet('{g}', hive_partitioning = false)" for s, g in records.records.items()}
    period = f"CAST({fy} AS VARCHAR) || '/' || lpad(CAST(({fy} + 1) % 100 AS VARCHAR), 2, '0')"

    def why(extra_keys: str = "", age: bool = False) -> str:
        nulls = " OR ".join(
            f"{c} IS NULL" for c in ["area_code", "date", *filter(None, extra_keys.split(",")), *(["age"] if age else [])]
        )
        checks = [
            f"WHEN {nulls} THEN 1",
            "WHEN area_code NOT IN (SELECT leaf FROM bridge) THEN 2",
            f"WHEN {fy} NOT BETWEEN 1800 AND 2200 THEN 3",
        ]
        if age:
            checks.append("WHEN age < 0 OR age > 120 THEN 4")
        return "CASE " + " ".join(checks) + " ELSE 0 END"

    band = "CASE WHEN age >= 90 THEN 18 ELSE CAST(age // 5 AS INTEGER) END"
    sql = {}
    # cells: one scan per source, every record given a reason (0 = counted)
    sql["ae"] = f"""
        CREATE TEMP TABLE ae AS
        SELECT why, CASE WHEN why = 0 THEN area_code END AS area_code, CASE WHEN why = 0 THEN {period} END AS period,
               CASE WHEN why = 0 THEN sex END AS sex, count(*) AS rows,
               count(*) FILTER (WHERE why = 0 AND minutes_in_department <= 240) AS numerator,
               count(*) FILTER (WHERE why = 0) AS denominator
        FROM (SELECT *, {why("sex")} AS why FROM {src["health.ae_attendances"]})
        GROUP BY ALL"""
    sql["crimes"] = f"""
        CREATE TEMP TABLE crimes AS
        SELECT why, CASE WHEN why = 0 THEN area_code END AS area_code, CASE WHEN why = 0 THEN {period} END AS period,
               CASE WHEN why = 0 THEN sex END AS sex, count(*) AS rows,
               count(*) FILTER (WHERE why = 0 AND outcome = 'charged') AS numerator,
               count(*) FILTER (WHERE why = 0) AS denominator
        FROM (SELECT *, {why("sex")} AS why FROM {src["policing.crimes"]})
        GROUP BY ALL"""
    sql["pupils"] = f"""
        CREATE TEMP TABLE pupils AS
        SELECT why, CASE WHEN why = 0 THEN area_code END AS area_code, CASE WHEN why = 0 THEN {period} END AS period,
               count(*) AS rows,
               sum(attainment8) FILTER (WHERE why = 0) AS numerator,
               count(attainment8) FILTER (WHERE why = 0) AS denominator,
               sum(attainment8 * attainment8) FILTER (WHERE why = 0) AS squares,
               count(*) FILTER (WHERE why = 0 AND attainment8 IS NULL) AS no_value
        FROM (SELECT *, {why()} AS why FROM {src["schools.ks4_pupils"]})
        GROUP BY ALL"""
    sql["deaths"] = f"""
        CREATE TEMP TABLE deaths AS
        SELECT why, CASE WHEN why = 0 THEN area_code END AS area_code, CASE WHEN why = 0 THEN {period} END AS period,
               CASE WHEN why = 0 THEN {band} END AS band, count(*) AS rows,
               count(*) FILTER (WHERE why = 0 AND cause = 'cvd_preventable') AS numerator
        FROM (SELECT *, {why(age=True)} AS why FROM {src["health.deaths"]})
        GROUP BY ALL"""
    # the roll-up through the bridge (area -> itself, region, nation) and the values
    roll = """
        SELECT b.area_code, c.period{sex}, sum(c.numerator) AS numerator, sum(c.denominator) AS denominator{more}
        FROM {table} c JOIN bridge b ON c.area_code = b.leaf WHERE c.why = 0
        GROUP BY ALL"""
    sql["values"] = f"""
        SELECT 'health.ae_4hr' AS indicator_id, area_code, period, NULL AS sex, numerator, denominator,
               100.0 * numerator / denominator AS value FROM ({roll.format(sex="", more="", table="ae")})
        UNION ALL
        SELECT 'health.ae_4hr_by_sex', area_code, period, sex, numerator, denominator, 100.0 * numerator / denominator
        FROM ({roll.format(sex=", c.sex", more="", table="ae")})
        UNION ALL
        SELECT 'policing.charge_rate', area_code, period, NULL, numerator, denominator, 100.0 * numerator / denominator
        FROM ({roll.format(sex="", more="", table="crimes")})
        UNION ALL
        SELECT 'policing.charge_rate_by_sex', area_code, period, sex, numerator, denominator, 100.0 * numerator / denominator
        FROM ({roll.format(sex=", c.sex", more="", table="crimes")})
        UNION ALL
        SELECT 'schools.attainment8', area_code, period, NULL, numerator, denominator, numerator / denominator
        FROM ({roll.format(sex="", more=", sum(c.squares) AS squares", table="pupils")})
        UNION ALL
        SELECT 'health.cvd_mortality_preventable', area_code, period, NULL, sum(numerator), sum(population),
               100000.0 * sum(w * numerator / population) / sum(w)
        FROM (
            SELECT b.area_code, p.period, p.band, any_value(p.w) AS w,
                   sum(coalesce(d.numerator, 0)) AS numerator, sum(p.population) AS population
            FROM pop p JOIN bridge b ON p.area_code = b.leaf
            LEFT JOIN (SELECT area_code, period, band, numerator FROM deaths WHERE why = 0) d
              ON d.area_code = p.area_code AND d.period = p.period AND d.band = p.band
            GROUP BY ALL
        )
        GROUP BY ALL"""
    weights = ", ".join(f"({i}, {w}.0)" for i, w in enumerate(ESP2013))
    sql["pop"] = f"""
        CREATE TEMP TABLE pop AS
        SELECT p.area_code, p.period, s.band, any_value(s.w) AS w, sum(p.population) AS population
        FROM read_parquet('{records.population}') p
        JOIN (SELECT * FROM (VALUES {weights}) t(band, w)) s
          ON s.band = CASE WHEN p.age_band = '90+' THEN 18 ELSE CAST(split_part(p.age_band, '-', 1) AS INTEGER) // 5 END
        GROUP BY ALL"""
    return sql


def run_duckdb(records: Any) -> tuple[int, dict[str, list[float]]]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    con.register("bridge_df", bridge_frame(records).to_arrow())
    con.execute("CREATE TEMP TABLE bridge AS SELECT * FROM bridge_df")
    sql = _duckdb_sql(records)
    for name in ("ae", "crimes", "pupils", "deaths", "pop"):
        con.execute(sql[name])
    values = con.sql(sql["values"]).pl()
    excluded = con.execute(
        "SELECT 'ae' AS s, why, sum(rows) FROM ae WHERE why > 0 GROUP BY ALL UNION ALL "
        "SELECT 'crimes', why, sum(rows) FROM crimes WHERE why > 0 GROUP BY ALL UNION ALL "
        "SELECT 'pupils', why, sum(rows) FROM pupils WHERE why > 0 GROUP BY ALL UNION ALL "
        "SELECT 'deaths', why, sum(rows) FROM deaths WHERE why > 0 GROUP BY ALL"
    ).fetchall()
    del excluded  # the reader's report: nothing excluded in demo records, but the work is done
    con.close()
    return values.height, digest(values)


def run_polars(records: Any) -> tuple[int, dict[str, list[float]]]:
    """The same work by hand in Polars lazy (streaming engine); information only."""
    import polars as pl

    bridge = bridge_frame(records).lazy()
    known = bridge_frame(records).get_column("leaf").unique().implode()
    year = pl.col("date").dt.year() - (pl.col("date").dt.month() < 4).cast(pl.Int32)
    period = (year.cast(pl.String) + "/" + ((year + 1) % 100).cast(pl.String).str.zfill(2)).alias("period")
    band = pl.when(pl.col("age") >= 90).then(18).otherwise(pl.col("age") // 5).cast(pl.Int32).alias("band")
    ok = pl.col("why") == 0

    def cells(source: str, keys: list[str], aggs: list[pl.Expr], age: bool = False) -> pl.LazyFrame:
        lf = pl.scan_parquet(records.records[source], hive_partitioning=False)
        nulls = pl.any_horizontal([pl.col(c).is_null() for c in ["area_code", "date", *keys, *(["age"] if age else [])]])
        why = pl.when(nulls).then(1).when(~pl.col("area_code").is_in(known)).then(2).when((year < 1800) | (year > 2200)).then(3)
        if age:
            why = why.when((pl.col("age") < 0) | (pl.col("age") > 120)).then(4)
        keyed = [pl.when(ok).then(pl.col("area_code")).alias("area_code"), pl.when(ok).then(period).alias("period")]
        keyed += [pl.when(ok).then(pl.col(k)).alias(k) for k in keys]
        groups = ["why", "area_code", "period", *keys]
        if age:
            keyed.append(pl.when(ok).then(band).alias("band"))
            groups.append("band")
        return (
            lf.with_columns(why.otherwise(0).alias("why")).with_columns(keyed).group_by(groups).agg(pl.len().alias("rows"), *aggs)
        )

    ae = cells(
        "health.ae_attendances",
        ["sex"],
        [(ok & (pl.col("minutes_in_department") <= 240)).sum().alias("numerator"), ok.sum().alias("denominator")],
    )
    crimes = cells(
        "policing.crimes",
        ["sex"],
        [(ok & (pl.col("outcome") == "charged")).sum().alias("numerator"), ok.sum().alias("denominator")],
    )
    pupils = cells(
        "schools.ks4_pupils",
        [],
        [
            pl.col("attainment8").filter(ok).sum().alias("numerator"),
            pl.col("attainment8").filter(ok).count().alias("denominator"),
            (pl.col("attainment8") ** 2).filter(ok).sum().alias("squares"),
        ],
    )
    deaths = cells("health.deaths", [], [(ok & (pl.col("cause") == "cvd_preventable")).sum().alias("numerator")], age=True)
    frames = pl.collect_all([ae, crimes, pupils, deaths], engine="streaming")

    def roll(c: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        c = c.filter(pl.col("why") == 0).lazy()
        return (
            c.join(bridge, left_on="area_code", right_on="leaf")
            .group_by("area_code_right", "period", *keys)
            .agg(pl.col("numerator", "denominator").sum())
            .rename({"area_code_right": "area_code"})
            .collect()
        )

    parts = []
    for frame, ind in ((frames[0], "health.ae_4hr"), (frames[1], "policing.charge_rate")):
        parts.append(roll(frame, []).with_columns(indicator_id=pl.lit(ind), sex=pl.lit(None, pl.String)))
        parts.append(roll(frame, ["sex"]).with_columns(indicator_id=pl.lit(ind + "_by_sex")))
    parts.append(roll(frames[2], []).with_columns(indicator_id=pl.lit("schools.attainment8"), sex=pl.lit(None, pl.String)))
    w = pl.LazyFrame({"band": list(range(19)), "w": [float(x) for x in ESP2013]}, schema={"band": pl.Int32, "w": pl.Float64})
    pop = (
        pl.scan_parquet(records.population)
        .with_columns(
            band=pl.when(pl.col("age_band") == "90+")
            .then(18)
            .otherwise(pl.col("age_band").str.split("-").list.first().cast(pl.Int32) // 5)
            .cast(pl.Int32)
        )
        .group_by("area_code", "period", "band")
        .agg(pl.col("population").sum())
    )
    dsr = (
        pop.join(
            frames[3].lazy().filter(ok).select("area_code", "period", "band", "numerator"),
            on=["area_code", "period", "band"],
            how="left",
        )
        .with_columns(pl.col("numerator").fill_null(0))
        .join(bridge, left_on="area_code", right_on="leaf")
        .group_by("area_code_right", "period", "band")
        .agg(pl.col("numerator", "population").sum())
        .join(w, on="band")
        .group_by("area_code_right", "period")
        .agg(
            numerator=pl.col("numerator").sum(),
            denominator=pl.col("population").sum(),
            value=(pl.col("w") * pl.col("numerator") / pl.col("population")).sum() / pl.col("w").sum() * 1e5,
        )
        .rename({"area_code_right": "area_code"})
        .with_columns(indicator_id=pl.lit("health.cvd_mortality_preventable"), sex=pl.lit(None, pl.String))
        .collect()
    )
    parts.append(dsr.drop("value"))
    values = pl.concat(
        [
            p.select("indicator_id", "area_code", "period", "sex", pl.col("numerator", "denominator").cast(pl.Float64))
            for p in parts
        ]
    ).with_columns(value=pl.col("numerator") / pl.col("denominator"))  # the digest reads a mean's value
    return values.height, digest(values)


RUNNERS = {"ps": run_ps, "duckdb": run_duckdb, "polars": run_polars}
LABELS = {"ps": "ps.aggregate (polars)", "duckdb": "DuckDB SQL", "polars": "hand-written Polars"}


def one_run(engine: str, path: str) -> dict[str, Any]:
    """One engine, once, in this (fresh) process: CPU, wall, peak RSS and the results' digest."""
    from publicservices.synthetic.records import DemoRecords

    records = DemoRecords.open(path)
    if engine == "ps":
        import publicservices as ps

        ps.aggregate  # noqa: B018 - import the engine before the clock starts, as the others are
    elif engine == "duckdb":
        import duckdb  # noqa: F401
    import polars  # noqa: F401

    records.areas  # noqa: B018 - the demo's areas frame, outside the timed call
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rise, peak, (n_rows, dig) = peak_during(lambda: RUNNERS[engine](records))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cpu": cpu, "wall": wall, "peak": peak, "rise": rise, "rows_out": n_rows, "digest": dig}


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


def agree(a: dict[str, list[float]], b: dict[str, list[float]]) -> list[str]:
    """Keys where two digests differ (numerators and denominators to 1e-9 relative: float sums)."""
    bad = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None or any(abs(p - q) > 1e-9 * max(abs(p), abs(q), 1.0) for p, q in zip(x, y, strict=True)):
            bad.append(f"{key}: {x} vs {y}")
    return bad


def run_size(rows: int, engines: list[str], repeats: int) -> dict[str, Any]:
    records = records_for(rows)
    path = str(records.path)
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for e in engines:  # warm-up: imports compiled, the files in the OS cache
        print(f"  warm-up {e} on {records.rows:,} records ...", file=sys.stderr, flush=True)
        runs[e].append(in_fresh_process(__file__, "--case", f"{e}|{path}"))
    warm = {e: runs[e].pop() for e in engines}
    for r in range(repeats):
        for e in engines if r % 2 == 0 else engines[::-1]:
            print(f"  repeat {r + 1}/{repeats}: {e} ...", file=sys.stderr, flush=True)
            runs[e].append(in_fresh_process(__file__, "--case", f"{e}|{path}"))
    return {"records": records.rows, "runs": runs, "warm": warm}


def main(argv: list[str] | None = None) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--engines", default="ps,duckdb")
    known, rest = pre.parse_known_args(argv)
    args = arguments(__doc__, rest, rows=[100_000_000])
    if args.case:
        engine, path = args.case.split("|", 1)
        report(one_run(engine, path))
        return 0
    engines = [e for e in known.engines.split(",") if e]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        print(f"unknown engine(s) {unknown}; choose from {', '.join(ENGINES)}", file=sys.stderr)
        return 2
    if args.quick:
        args.rows, args.repeats = [1_000_000, 4_000_000], 2
    if "ps" in engines:
        try:
            import publicservices as ps

            ps.aggregate  # noqa: B018
        except AttributeError:
            print("ps.aggregate is not available in this build: running the other engines only", file=sys.stderr)
            engines.remove("ps")
    table = Table(
        f"aggregate: {len(FAMILIES)} indicators (+2 by sex), 3 area levels, ESP2013 bands; {', '.join(f'{r:,}' for r in args.rows)} records"
    )
    results: dict[int, dict[str, Any]] = {}
    ours, ref = (engines[0], engines[1]) if len(engines) >= 2 else (engines[0], None)
    for rows in args.rows:
        print(f"aggregate on {rows:,} records ...", file=sys.stderr, flush=True)
        res = results[rows] = run_size(rows, engines, args.repeats)
        n = res["records"]
        timing = {e: Timing([r["cpu"] for r in res["runs"][e]], [r["wall"] for r in res["runs"][e]]) for e in engines}
        if ref is not None:
            table.compare(
                f"{n:,} records: time, {LABELS[ours]} vs {LABELS[ref]}", timing[ours], timing[ref], LABELS[ref], limit=1.5
            )
        else:
            table.add(f"{n:,} records: time, {LABELS[ours]}", timing[ours].text())
        for e in engines[2:]:
            table.add(
                f"{n:,} records: time, {LABELS[e]}",
                timing[e].text(),
                "-",
                f"{timing[e].cpu_median / timing[ref].cpu_median:.2f}x vs {LABELS[ref]}" if ref else "-",
            )
        for e in engines:
            peaks = [r["peak"] for r in res["runs"][e]]
            rises = [r["rise"] for r in res["runs"][e]]
            worst = max(peaks)
            goal = e == "ps"
            table.add(
                f"{n:,} records: peak RSS, {LABELS[e]}",
                f"{megabytes(worst)} (rise {megabytes(max(rises))})",
                "-",
                f"{worst / GB:.2f} GB",
                "< 4 GB" if goal else "-",
                worst < 4 * GB if goal else None,
            )
        base = res["runs"][engines[0]][0]["digest"]
        for e in engines[1:]:
            bad = agree(base, res["runs"][e][0]["digest"])
            table.add(
                f"{n:,} records: results, {LABELS[engines[0]]} = {LABELS[e]}",
                "agree" if not bad else f"{len(bad)} differ",
                "-",
                "-",
                "identical counts",
                not bad,
            )
            if bad:
                table.note("differences: " + "; ".join(bad[:5]))
    if len(results) >= 2:
        lo, hi = min(results), max(results)
        for e in engines:
            per = [
                Timing([r["cpu"] for r in results[k]["runs"][e]], [r["wall"] for r in results[k]["runs"][e]]).cpu_median
                / results[k]["records"]
                for k in (lo, hi)
            ]
            ratio = per[1] / per[0]
            goal = e == "ps"
            table.add(
                f"growth: CPU per record, {results[hi]['records']:,} vs {results[lo]['records']:,}, {LABELS[e]}",
                f"{ratio:.2f}x ({seconds(per[0] * 1e6)} -> {seconds(per[1] * 1e6)} per million)",
                "1.00x (linear)",
                f"{ratio:.2f}x",
                "<= 1.25x" if goal else "-",
                ratio <= 1.25 if goal else None,
            )
    table.note(COMMON_NOTE)
    table.note(
        "each engine runs in its own child process per repeat (alternating, after a warm-up each); peak RSS is that "
        "child's whole high-water mark (VmHWM), rise is over the RSS before the call"
    )
    table.note(f"records cached in {cache_dir()} (PUBLICSERVICES_CACHE_DIR to move them)")
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
