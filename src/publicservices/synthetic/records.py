"""Record-level data for the demo nation: partitioned Parquet whose aggregates are the demo.

:func:`demo_records` writes synthetic *records* -- A&E attendances, deaths, Key Stage 4
pupils and recorded crimes, one row each -- whose counts reproduce the demo nation's
published numerators and denominators exactly, so that an aggregation step
(:func:`publicservices.aggregate`, DuckDB, Spark ...) can be checked against a known answer
and truth recovery still holds downstream.

Layout (Hive-style partitions, one directory per source)::

    path/health.ae_attendances/period=2014-15/part-0.parquet
    path/health.deaths/period=2014-15/part-0.parquet
    path/schools.ks4_pupils/...
    path/policing.crimes/...
    path/population.parquet          # area_code, period, sex, age_band, population
    path/_demo_records.json          # what was written (seed, scale, rows, sources, periods)

Every source has ``area_code`` (the demo's upper-tier codes), ``date`` (inside the
financial year of its period), ``sex`` ("female"/"male") and ``age`` (Int16), plus:

========================  ==========================================  ===========================================
source                    columns                                     reproduces
========================  ==========================================  ===========================================
health.ae_attendances     minutes_in_department (Int32)               health.ae_4hr: numerator = rows with
                                                                      minutes <= 240, denominator = rows
health.deaths             cause ("cvd_preventable" / "other")         health.cvd_mortality_preventable: numerator
                                                                      = cvd_preventable rows; denominator = the
                                                                      population frame; DSR by ESP2013 age band
schools.ks4_pupils        disadvantaged (Boolean), attainment8         schools.attainment8: mean of the non-null
                          (Float64, null = not entered)               scores; denominator = their count
policing.crimes           outcome ("charged" / "other")               policing.charge_rate: numerator = charged
                                                                      rows, denominator = rows
========================  ==========================================  ===========================================

How ``rows`` sizes the records
    The standard demo (``ps.demo(seed)``) implies about 256 million records, 213 million of
    them A&E attendances. ``rows`` picks the demo's ``scale`` (see :func:`publicservices.demo`:
    every indicator's people at risk times ``scale``) whose expected record count is
    ``rows``, rounded to four significant figures, and the records reproduce
    ``ps.demo(seed, scale=records.scale)`` -- a demo nation with the same true values and
    more or less sampling noise. ``scale=1.0`` gives the standard demo itself (bit for
    bit); ``sources=`` and ``periods=`` write a subset. The count written is in
    ``records.rows`` (within about 1% of ``rows``: the demo's counts are random).

How the counts are made exact
    Each area x period cell gets exactly the demo's denominator of rows and exactly its
    numerator of them in the numerator. Attainment 8 scores come in pairs ``v + d`` and
    ``v - d`` around the published mean ``v`` (one pupil scores ``v`` when the count is
    odd), and the population frame's numbers, like the scores, are multiples of a power of
    two small enough that every sum, in any order and at any level, is exact in Float64:
    Polars, DuckDB and Spark get the same bits. Preventable CVD deaths are spread over the
    19 ESP2013 age bands in proportion to the standard population's weights, and the area's
    population is split so that every band with a death has the same death rate and every
    other band has deaths 0 and population in ESP proportion: the directly standardised
    rate (Σ w·d/p / Σ w, over age bands with both sexes together) then equals the demo's
    published (crude) rate exactly, and every band's population is positive. Each band's
    population is split between the sexes by a fixed female share; a DSR by sex is not a
    demo value.

Memory
    Records are generated and written one chunk at a time (a source x period x a run of
    areas, at most ``chunk_rows`` rows, 2 million by default), with NumPy and Polars
    vectorised over the chunk; only the small per-area plan is kept for the whole run.

Example:
    >>> import tempfile, polars as pl
    >>> import publicservices as ps
    >>> out = ps.demo_records(rows=20_000, path=tempfile.mkdtemp() + "/records", periods=["2023/24"])
    >>> ae = pl.scan_parquet(out.records["health.ae_attendances"]).group_by("area_code").agg(
    ...     numerator=(pl.col("minutes_in_department") <= 240).sum(), denominator=pl.len())
    >>> expected = out.expected_values.filter(pl.col("indicator_id") == "health.ae_4hr")
    >>> got = ae.collect().join(expected, on="area_code", suffix="_demo")
    >>> bool((got["numerator"] == got["numerator_demo"]).all() and (got["denominator"] == got["denominator_demo"]).all())
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import DataError, OptionError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import polars as pl

    from publicservices.dataset import Dataset

__all__ = ["demo_records", "DemoRecords", "RECORD_SOURCES", "POPULATION_SOURCE"]

# source -> the demo indicator its records reproduce
RECORD_SOURCES: dict[str, str] = {
    "health.ae_attendances": "health.ae_4hr",
    "health.deaths": "health.cvd_mortality_preventable",
    "schools.ks4_pupils": "schools.attainment8",
    "policing.crimes": "policing.charge_rate",
}
POPULATION_SOURCE = "population"
MANIFEST = "_demo_records.json"
_FORMAT = 1

MIN_ROWS = 10_000
DEFAULT_ROWS = 1_000_000
CHUNK_ROWS = 2_000_000
# Deaths from every other cause, per head a year (England: about 1% of the population dies each year).
OTHER_DEATHS_PER_HEAD = 0.0095
# Pupils at the end of KS4 with no Attainment 8 score (not entered for any qualification).
NOT_ENTERED_SHARE = 0.025
MAX_ATTAINMENT8 = 90.0
# Parquet bytes per record (about 3.2 measured on these files, zstd), for the free-space check.
_BYTES_PER_ROW = 5.0

# ESP2013: 19 five-year bands 0-4 ... 85-89 and 90+ (publicservices.stats.outcomes.standard_populations).
_ESP2013 = (5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000)
_BANDS = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)
# Relative A&E attendance rates by band (children under 5 and the old attend most).
_AE_AGE = (1.8, 0.9, 0.9, 1.1, 1.2, 1.1, 1.0, 0.9, 0.85, 0.85, 0.85, 0.9, 0.95, 1.0, 1.1, 1.3, 1.7, 2.2, 2.8)
# Share of each band that is female (more women at the oldest ages).
_FEMALE = (0.49, 0.49, 0.49, 0.49, 0.49, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.51, 0.51, 0.52, 0.53, 0.56, 0.6, 0.7)


@dataclasses.dataclass(frozen=True)
class DemoRecords:
    """What :func:`demo_records` wrote, and the demo values its records reproduce.

    Attributes:
        path: the directory.
        seed, scale: the demo they reproduce is ``ps.demo(seed, scale=scale)``.
        rows: records written (all sources); ``rows_by_source`` per source.
        sources: the record sources written; ``periods`` the period labels.
        chunk_rows: the largest chunk generated at once (with the seed, fixes every byte).

    ``records`` maps each source to a glob of its Parquet files (ready for
    ``pl.scan_parquet`` or :func:`publicservices.aggregate`), ``population`` is the
    population frame's file, ``expected_values`` the demo's values for the indicators the
    records reproduce (upper tier; for ``schools.attainment8`` the records' non-null scores
    number ``denominator`` and average ``value`` within 1e-9 relative; the demo leaves the
    numerator of a mean empty), ``dataset`` the whole demo Dataset and ``areas`` its areas
    (``parent_code`` is the region, for roll-ups).

    Example:
        >>> import tempfile
        >>> out = demo_records(path=tempfile.mkdtemp() + "/r", rows=10_000, sources=["policing.crimes"])
        >>> sorted(out.records), out.indicators
        (['policing.crimes'], ('policing.charge_rate',))
    """

    path: Path
    seed: int
    scale: float
    rows: int
    rows_by_source: dict[str, int]
    sources: tuple[str, ...]
    periods: tuple[str, ...]
    chunk_rows: int

    @property
    def records(self) -> dict[str, str]:
        """Source -> a glob of its Parquet files."""
        return {s: str(self.path / s / "**" / "*.parquet") for s in self.sources}

    @property
    def population(self) -> Path:
        """The population frame: area_code, period, sex, age_band, population (Float64)."""
        return self.path / "population.parquet"

    @property
    def indicators(self) -> tuple[str, ...]:
        """The demo indicators the records reproduce, one per source."""
        return tuple(RECORD_SOURCES[s] for s in self.sources)

    @property
    def dataset(self) -> Dataset:
        """The demo Dataset the records reproduce: ``ps.demo(seed, scale=scale)`` (its sectors)."""
        return _demo(self.seed, self.scale, self.sources)

    @property
    def expected_values(self) -> pl.DataFrame:
        """The demo's values frame for the records' indicators and periods (upper tier)."""
        import polars as pl

        return self.dataset.values.filter(
            pl.col("indicator_id").is_in(list(self.indicators)), pl.col("period").is_in(list(self.periods))
        )

    @property
    def areas(self) -> pl.DataFrame:
        """The demo's areas frame (``parent_code`` = region code)."""
        return self.dataset.areas

    def __repr__(self) -> str:
        return (
            f"DemoRecords({self.rows:,} records of demo seed {self.seed}, scale {self.scale:g}, "
            f"{len(self.sources)} source(s), {len(self.periods)} period(s), at {self.path})"
        )

    @classmethod
    def open(cls, path: str | Path) -> DemoRecords:
        """The records an earlier :func:`demo_records` call wrote to ``path`` (from its manifest).

        Raises :class:`~publicservices.errors.DataError` when ``path`` holds no complete set
        (the manifest is written last).
        """
        path = Path(path)
        manifest = path / MANIFEST
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path} holds no complete demo records ({MANIFEST} is missing or unreadable: {exc}).\n"
                f"Fix: write them with ps.demo_records(path={str(path)!r}, rows=...)."
            ) from exc
        if meta.get("format") != _FORMAT:
            raise DataError(
                f"{manifest} is format {meta.get('format')!r}; this version reads format {_FORMAT}.\n"
                "Fix: write the records again with ps.demo_records(..., overwrite=True)."
            )
        return cls(
            path=path,
            seed=int(meta["seed"]),
            scale=float(meta["scale"]),
            rows=int(meta["rows"]),
            rows_by_source={k: int(v) for k, v in meta["rows_by_source"].items()},
            sources=tuple(meta["sources"]),
            periods=tuple(meta["periods"]),
            chunk_rows=int(meta["chunk_rows"]),
        )


def demo_records(
    path: str | Path,
    rows: int | None = None,
    seed: int = 0,
    *,
    scale: float | None = None,
    sources: Iterable[str] | None = None,
    periods: Iterable[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    overwrite: bool = False,
) -> DemoRecords:
    """Write synthetic records whose aggregates reproduce the demo nation exactly.

    Parameters:
        path: a directory (created; must be empty or absent unless ``overwrite``).
        rows: about how many records to write in all, 10,000 or more (default 1,000,000);
            sets the demo's ``scale`` (see the module docstring). Not with ``scale``.
        seed: the demo nation's seed.
        scale: the demo's scale instead of ``rows``: ``scale=1.0`` writes the records of
            ``ps.demo(seed)`` itself, about 256 million.
        sources: record sources to write (default all four: ``health.ae_attendances``,
            ``health.deaths``, ``schools.ks4_pupils``, ``policing.crimes``).
        periods: period labels to write (default all ten, ``"2014/15"`` ... ``"2023/24"``).
        chunk_rows: the most records generated and held at once (even, >= 10,000).
        overwrite: replace earlier demo records at ``path`` (only their own files are removed).

    Returns:
        :class:`DemoRecords`: where the files are and which demo values they reproduce.

    Example:
        >>> import tempfile
        >>> out = demo_records(path=tempfile.mkdtemp() + "/records", rows=10_000, seed=0)
        >>> 9_500 < out.rows < 10_500, out.population.name
        (True, 'population.parquet')
    """
    import numpy as np

    from publicservices.synthetic.nation import PERIODS

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError(f"seed {seed!r} must be a non-negative integer.\nFix: pass seed=0, 1, 2 ...")
    chosen = _choose(sources, RECORD_SOURCES, "sources", "source")
    chosen_periods = _choose(periods, dict.fromkeys(PERIODS), "periods", "period")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < MIN_ROWS:
        raise OptionError(f"chunk_rows {chunk_rows!r} must be an integer of at least {MIN_ROWS:,}.\nFix: chunk_rows=2_000_000.")
    chunk_rows -= chunk_rows % 2  # pairs of Attainment 8 scores never straddle two chunks
    if rows is not None and scale is not None:
        raise OptionError("give rows= or scale=, not both.\nFix: rows=1_000_000 (the scale follows), or scale=1.0.")
    if scale is None:
        if rows is None:
            rows = DEFAULT_ROWS
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < MIN_ROWS:
            raise OptionError(
                f"rows {rows!r} must be a whole number of at least {MIN_ROWS:,}: below that the demo's "
                "1,500 area x period cells per source cannot each hold a record.\nFix: rows=10_000 or more."
            )
        scale = _scale_for(int(rows), seed, chosen, chosen_periods)
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise OptionError(f"scale {scale!r} must be a positive number.\nFix: scale=1.0 for the standard demo.")
    out = _prepare(Path(path), overwrite)
    # the deaths plan makes the population frame, so health is simulated whichever sources are written
    dataset = _demo(seed, float(scale), list(dict.fromkeys([*chosen, "health.deaths"])))
    plans = _plans(dataset, seed, float(scale), chosen, chosen_periods)
    total = sum(int(p.rows.sum()) for source in chosen for p in plans[source].values())
    _check_space(out, total)

    written: dict[str, int] = {}
    for source in chosen:
        written[source] = 0
        for period in chosen_periods:
            for part, frame in enumerate(_chunks(source, plans[source][period], seed, chunk_rows)):
                folder = out / source / f"period={period.replace('/', '-')}"
                folder.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(folder / f"part-{part}.parquet", compression="zstd")
                written[source] += frame.height
                del frame
    _population_frame(plans).write_parquet(out / "population.parquet", compression="zstd")
    result = DemoRecords(
        path=out,
        seed=seed,
        scale=float(scale),
        rows=sum(written.values()),
        rows_by_source=written,
        sources=tuple(chosen),
        periods=tuple(chosen_periods),
        chunk_rows=chunk_rows,
    )
    meta = {k: v for k, v in dataclasses.asdict(result).items() if k != "path"}
    manifest = {
        "format": _FORMAT,
        **meta,
        "population": POPULATION_SOURCE,
        "indicators": dict(zip(chosen, result.indicators, strict=True)),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result


# -- arguments -------------------------------------------------------------------------------


def _choose(given: Iterable[str] | None, known: dict[str, Any], what: str, one: str) -> list[str]:
    if given is None:
        return list(known)
    if isinstance(given, str):
        given = [given]
    wanted = list(dict.fromkeys(given))
    unknown = [g for g in wanted if g not in known]
    if unknown or not wanted:
        raise OptionError(
            f"{what} {unknown or wanted!r}: {'no ' + one + ' given' if not wanted else 'not a demo ' + one}.\n"
            f"Fix: choose from {', '.join(map(repr, known))}."
        )
    return [k for k in known if k in wanted]  # the canonical order, whatever order they came in


def _prepare(path: Path, overwrite: bool) -> Path:
    if path.exists() and not path.is_dir():
        raise OptionError(
            f"path {str(path)!r} is a file; demo records are a directory of Parquet files.\n"
            "Fix: pass a directory that does not exist yet (it is created), or an empty one."
        )
    if path.is_dir() and any(path.iterdir()):
        ours = [path / s for s in RECORD_SOURCES] + [path / "population.parquet", path / MANIFEST]
        if not overwrite:
            raise OptionError(
                f"path {str(path)!r} is not empty.\n"
                "Fix: pass a new or empty directory, or overwrite=True to replace earlier demo records there "
                "(only the demo records' own files are removed)."
            )
        if not (path / MANIFEST).exists():
            raise OptionError(
                f"path {str(path)!r} is not empty and holds no demo records ({MANIFEST} is missing), so "
                "overwrite=True will not delete anything there.\nFix: pass a new or empty directory."
            )
        for item in ours:
            if item.is_dir():
                shutil.rmtree(item)
            elif item.exists():
                item.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_space(path: Path, rows: int) -> None:
    need = rows * _BYTES_PER_ROW * 1.2
    free = shutil.disk_usage(path).free
    if need > free:
        raise OptionError(
            f"{rows:,} demo records need about {need / 1e9:,.1f} GB of disk at {path}; {free / 1e9:,.1f} GB is free.\n"
            "Fix: ask for fewer rows, or write them to a larger disk."
        )


# -- the demo and its plan -------------------------------------------------------------------


def _demo(seed: int, scale: float, sources: Sequence[str]) -> Dataset:
    from publicservices.errors import PluginError
    from publicservices.plugins import get_registry
    from publicservices.synthetic.build import demo

    sectors = sorted({RECORD_SOURCES[s].split(".")[0] for s in sources})
    registered = get_registry().indicators()
    missing = [RECORD_SOURCES[s] for s in sources if RECORD_SOURCES[s] not in registered]
    if missing:
        raise PluginError(
            f"demo records need the indicator(s) {', '.join(missing)}, which no installed plugin registers.\n"
            f"Fix: install the sector plugin(s): {', '.join('publicservices-' + s for s in sectors)}."
        )
    return demo(seed, sectors=sectors, scale=scale)


@dataclasses.dataclass
class _Plan:
    """One source x period: per area (the demo's order), how many records and what they hold."""

    source: str
    period: str
    codes: list[str]
    rows: np.ndarray  # records per area
    numerator: np.ndarray  # first `numerator` records of an area are in the numerator / scored
    start: int  # first day (days since 1970-01-01) of the dates drawn
    days: int  # how many days dates spread over
    value: np.ndarray | None = None  # attainment8: each area's mean, on the grid
    grid: float = 0.0  # attainment8 scores / population numbers are multiples of this
    bands: np.ndarray | None = None  # deaths: areas x 19 preventable CVD deaths by ESP2013 band
    population: np.ndarray | None = None  # deaths: areas x 19 population by band


def _cells(dataset: Dataset, indicator: str, periods: Sequence[str]) -> dict[str, np.ndarray]:
    """numerator / denominator / value as areas x periods arrays (the demo's area order)."""
    import numpy as np
    import polars as pl

    codes = dataset.areas.get_column("area_code")
    frame = dataset.values.filter(pl.col("indicator_id") == indicator)
    grid = pl.DataFrame(
        {
            "area_code": codes.gather(np.repeat(np.arange(codes.len()), len(periods))),
            "period": pl.Series(list(periods), dtype=pl.String).gather(np.tile(np.arange(len(periods)), codes.len())),
        }
    )
    cells = grid.join(frame, on=["area_code", "period"], how="left", maintain_order="left")
    return {
        c: cells.get_column(c).cast(pl.Float64).to_numpy().reshape(codes.len(), len(periods))
        for c in ("numerator", "denominator", "value")
    }


def _grid(bound: float) -> float:
    """A power of two g such that multiples of g up to ``bound`` add exactly in Float64, in any order."""
    return 2.0 ** (math.ceil(math.log2(max(bound, 1.0))) - 52)


def _plans(
    dataset: Dataset, seed: int, scale: float, sources: Sequence[str], periods: Sequence[str]
) -> dict[str, dict[str, _Plan]]:
    import numpy as np

    from publicservices.synthetic.nation import PERIODS, DemoNation

    nation = DemoNation(seed, services=[])
    codes = dataset.areas.get_column("area_code").to_list()
    all_periods = list(PERIODS)
    pick = [all_periods.index(p) for p in periods]
    pop = dataset.areas.get_column("population").to_numpy()
    plans: dict[str, dict[str, _Plan]] = {}
    # deaths always: the population frame comes from their plan
    for source in dict.fromkeys([*sources, "health.deaths"]):
        cells = _cells(dataset, RECORD_SOURCES[source], all_periods)
        # draws for every period, whichever are written, so a subset matches the whole
        rng = nation.rng(f"records.plan.{source}")
        den = cells["denominator"].astype(np.int64)
        num = np.nan_to_num(cells["numerator"]).astype(np.int64)
        rows, grid = den, 0.0
        extra: dict[str, np.ndarray] = {}
        if source == "schools.ks4_pupils":
            rows = den + rng.binomial(den, NOT_ENTERED_SHARE)
            num = den  # the first `den` pupils of an area have a score
            value = cells["value"]
            grid = _grid(float(((rows * np.maximum(2 * np.abs(value), MAX_ATTAINMENT8)).sum(axis=0)).max()))
            extra = {"value": np.round(value / grid) * grid}
        elif source == "health.deaths":
            other = rng.poisson(OTHER_DEATHS_PER_HEAD * scale * pop[:, None] * np.ones((1, len(all_periods))))
            rows = num + other
            bands, population, grid = _death_bands(rng, num, den)
            extra = {"bands": bands, "population": population}
        plans[source] = {}
        for j, t in zip(pick, periods, strict=True):
            year = int(t[:4])
            if source == "schools.ks4_pupils":  # inside both the academic and the financial year
                first, last = dt.date(year, 9, 1), dt.date(year + 1, 4, 1)
            else:
                first, last = dt.date(year, 4, 1), dt.date(year + 1, 4, 1)
            plans[source][t] = _Plan(
                source=source,
                period=t,
                codes=codes,
                rows=rows[:, j].copy(),
                numerator=num[:, j].copy(),
                start=(first - dt.date(1970, 1, 1)).days,
                days=(last - first).days,
                value=extra["value"][:, j].copy() if "value" in extra else None,
                grid=grid,
                bands=extra["bands"][:, j].copy() if "bands" in extra else None,
                population=extra["population"][:, j].copy() if "population" in extra else None,
            )
    return plans


def _death_bands(rng: np.random.Generator, deaths: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Preventable CVD deaths and population by ESP2013 band, areas x periods x 19.

    Deaths go to bands in proportion to the ESP2013 weights w. With D deaths, P population
    and S the bands that got a death, a band b in S gets population P (d_b / D) (W_S / W)
    and a band outside S gets P w_b / W: every band in S has the rate (D/P) (W / W_S), the
    others 0, so the DSR Σ w_b d_b / p_b / W is D / P, the crude rate, and every band's
    population is positive. Populations are then put on a power-of-two grid (the largest
    band takes the rounding) so that they sum to P exactly.
    """
    import numpy as np

    w = np.asarray(_ESP2013, dtype=float)
    d = rng.multinomial(deaths, w / w.sum())  # areas x periods x 19
    total_w = w.sum()
    in_s = d > 0
    w_s = (w * in_s).sum(axis=-1, keepdims=True)
    big_p = population.astype(float)[..., None]
    big_d = np.maximum(deaths, 1).astype(float)[..., None]
    p = np.where(in_s, big_p * (d / big_d) * (w_s / total_w), big_p * w / total_w)
    grid = _grid(float(population.sum(axis=0).max()))
    p = np.round(p / grid) * grid
    top = np.argmax(p, axis=-1)[..., None]
    rest = p.sum(axis=-1, keepdims=True) - np.take_along_axis(p, top, axis=-1)
    np.put_along_axis(p, top, big_p - rest, axis=-1)
    return d, p, grid


def _expected_rows(scale: float, base: dict[str, tuple[np.ndarray, Any]]) -> float:
    """Expected records at ``scale`` from the standard demo's cells (n is at least 1 per cell)."""
    import numpy as np

    total = 0.0
    for source, (mu, extra) in base.items():
        lam = mu * scale
        if source == "health.deaths":
            total += float((lam + extra * scale).sum())
        else:
            total += float(((lam + np.exp(-lam)) * (1.0 + extra)).sum())
    return total


def _scale_for(rows: int, seed: int, sources: Sequence[str], periods: Sequence[str]) -> float:
    """The demo scale (4 significant figures) whose expected record count is ``rows``."""
    import numpy as np

    from publicservices.synthetic.nation import PERIODS

    dataset = _demo(seed, 1.0, sources)
    pop = dataset.areas.get_column("population").to_numpy()
    pick = [list(PERIODS).index(p) for p in periods]
    base: dict[str, tuple[np.ndarray, Any]] = {}
    for source in sources:
        cells = _cells(dataset, RECORD_SOURCES[source], list(PERIODS))
        den = cells["denominator"][:, pick]
        if source == "health.deaths":  # expected preventable deaths, and the other deaths
            base[source] = (
                np.nan_to_num(cells["numerator"][:, pick]),
                OTHER_DEATHS_PER_HEAD * pop[:, None] * np.ones((1, len(pick))),
            )
        else:
            base[source] = (den, NOT_ENTERED_SHARE if source == "schools.ks4_pupils" else 0.0)
    least = _expected_rows(1e-12, base)
    if rows < least * 1.05:
        raise OptionError(
            f"rows {rows:,} is too few for {len(sources)} source(s) x {len(periods)} period(s): every area x period "
            f"cell holds at least one record, about {least:,.0f} in all.\nFix: rows={math.ceil(least * 1.2 / 1000) * 1000:,} or more, "
            "or more sources and periods."
        )
    lo, hi = 1e-12, 1e4
    for _ in range(200):  # bisection on log scale: the expected count rises with the scale
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if _expected_rows(mid, base) < rows else (lo, mid)
        if hi / lo < 1 + 1e-9:
            break
    return float(f"{hi:.4g}")


# -- records, chunk by chunk -----------------------------------------------------------------


def _chunk_bounds(rows: np.ndarray, chunk_rows: int) -> list[tuple[int, int]]:
    """Runs of whole areas up to ``chunk_rows`` records; an area with more is cut at even offsets."""
    bounds: list[tuple[int, int]] = []
    lo = at = 0
    for n in (int(x) for x in rows):  # a loop over areas (150), not over records
        if n > chunk_rows:
            if at > lo:
                bounds.append((lo, at))
            bounds.extend((s, min(s + chunk_rows, at + n)) for s in range(at, at + n, chunk_rows))
            lo = at = at + n
            continue
        if at + n - lo > chunk_rows:
            bounds.append((lo, at))
            lo = at
        at += n
    if at > lo or not bounds:
        bounds.append((lo, at))
    return bounds


def _chunks(source: str, plan: _Plan, seed: int, chunk_rows: int) -> Iterator[pl.DataFrame]:
    import numpy as np

    from publicservices.synthetic.geography import stable_hash

    ends = np.cumsum(plan.rows)
    starts = ends - plan.rows
    for part, (lo, hi) in enumerate(_chunk_bounds(plan.rows, chunk_rows)):
        key = stable_hash(f"records.{source}.{plan.period}.{part}")
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, key])))
        index = np.arange(lo, hi, dtype=np.int64)
        area = np.searchsorted(ends, index, side="right")
        pos = index - starts[area]
        yield _MAKERS[source](plan, rng, area, pos)


def _common(plan: _Plan, rng: np.random.Generator, area: np.ndarray, female: np.ndarray, age: np.ndarray) -> dict[str, pl.Series]:
    import numpy as np
    import polars as pl

    n = area.size
    days = plan.start + rng.integers(0, plan.days, n)
    return {
        "area_code": pl.Series("area_code", plan.codes, dtype=pl.String).gather(area),
        "date": pl.Series("date", days.astype(np.int32)).cast(pl.Date),
        "sex": pl.Series("sex", ["male", "female"], dtype=pl.String).gather(female.astype(np.int8)),
        "age": pl.Series("age", age.astype(np.int16)),
    }


def _band_ages(rng: np.random.Generator, band: np.ndarray) -> np.ndarray:
    """A whole age inside each ESP2013 band (90+ spreads over 90 to 100)."""
    import numpy as np

    width = np.where(band == len(_BANDS) - 1, 11, 5)
    return band * 5 + np.floor(rng.random(band.size) * width).astype(np.int64)


def _sexes(rng: np.random.Generator, band: np.ndarray) -> np.ndarray:
    import numpy as np

    return rng.random(band.size) < np.asarray(_FEMALE)[band]


def _weights(values: Sequence[float] | np.ndarray) -> np.ndarray:
    import numpy as np

    w = np.asarray(values, dtype=float)
    return w / w.sum()


def _ae(plan: _Plan, rng: np.random.Generator, area: np.ndarray, pos: np.ndarray) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    band = rng.choice(len(_BANDS), size=area.size, p=_weights(np.multiply(_ESP2013, _AE_AGE)))
    within = pos < plan.numerator[area]
    # within 4 hours: around 2.5 hours; over 4 hours: 241 minutes plus a long tail (capped at 48 hours)
    quick = np.clip(np.rint(np.exp(rng.normal(math.log(150.0), 0.45, area.size))), 5, 240)
    slow = np.minimum(241 + np.floor(rng.exponential(150.0, area.size)), 2880)
    cols = _common(plan, rng, area, _sexes(rng, band), _band_ages(rng, band))
    return pl.DataFrame([*cols.values(), pl.Series("minutes_in_department", np.where(within, quick, slow).astype(np.int32))])


def _deaths(plan: _Plan, rng: np.random.Generator, area: np.ndarray, pos: np.ndarray) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    assert plan.bands is not None
    cvd = pos < plan.numerator[area]
    # a preventable death's band: where its offset falls in the area's cumulative band counts
    flat_ends = np.cumsum(plan.bands, axis=1) + (np.cumsum(plan.rows) - plan.rows)[:, None]
    index = (np.cumsum(plan.rows) - plan.rows)[area] + pos
    cvd_band = np.searchsorted(flat_ends.ravel(), index, side="right") % len(_BANDS)
    mid = np.arange(len(_BANDS)) * 5 + 2.5
    other_band = rng.choice(len(_BANDS), size=area.size, p=_weights(np.asarray(_ESP2013) * np.exp(0.09 * (mid - 90))))
    band = np.where(cvd, np.minimum(cvd_band, len(_BANDS) - 1), other_band)
    cols = _common(plan, rng, area, _sexes(rng, band), _band_ages(rng, band))
    cause = pl.Series("cause", ["other", "cvd_preventable"], dtype=pl.String).gather(cvd.astype(np.int8))
    return pl.DataFrame([*cols.values(), cause])


def _pupils(plan: _Plan, rng: np.random.Generator, area: np.ndarray, pos: np.ndarray) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    assert plan.value is not None
    n = plan.numerator[area]
    v = plan.value[area]
    scored = pos < n
    member = pos % 2  # 0: v - d, 1: v + d; the pair's first member is in the same chunk (even cuts)
    alone = scored & (pos == n - 1) & (n % 2 == 1)
    room = np.maximum(np.minimum(v, MAX_ATTAINMENT8 - v), 0.0)
    raw = np.minimum(np.abs(rng.normal(0.0, 19.0, area.size)), room)
    first = np.arange(area.size) - member
    d = np.floor(raw[first] / plan.grid) * plan.grid
    score = np.where(alone, v, np.where(member == 0, v - d, v + d))
    # disadvantaged pupils more often have the lower score of a pair, as in the real gap
    p_dis = np.where(~scored, 0.45, np.where(alone, 0.26, np.where(member == 0, 0.40, 0.12)))
    cols = _common(plan, rng, area, rng.random(area.size) < 0.49, 15 + (rng.random(area.size) < 0.4))
    return pl.DataFrame(
        [
            *cols.values(),
            pl.Series("disadvantaged", rng.random(area.size) < p_dis, dtype=pl.Boolean),
            pl.Series("attainment8", np.where(scored, score, np.nan), dtype=pl.Float64, nan_to_null=True),
        ]
    )


def _crimes(plan: _Plan, rng: np.random.Generator, area: np.ndarray, pos: np.ndarray) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    charged = pos < plan.numerator[area]
    age = 10 + np.minimum(np.floor(rng.gamma(2.2, 11.0, area.size)), 80)  # suspects and victims: mostly young adults
    cols = _common(plan, rng, area, rng.random(area.size) < 0.35, age)
    return pl.DataFrame(
        [*cols.values(), pl.Series("outcome", ["other", "charged"], dtype=pl.String).gather(charged.astype(np.int8))]
    )


_MAKERS = {"health.ae_attendances": _ae, "health.deaths": _deaths, "schools.ks4_pupils": _pupils, "policing.crimes": _crimes}


def _population_frame(plans: dict[str, dict[str, _Plan]]) -> pl.DataFrame:
    """area_code, period, sex, age_band, population: each band split by its female share (on the grid)."""
    import numpy as np
    import polars as pl

    frames = []
    female = np.asarray(_FEMALE)
    for period, plan in plans["health.deaths"].items():
        assert plan.population is not None
        p = plan.population  # areas x 19
        fem = np.round(p * female / plan.grid) * plan.grid
        n_areas, n_bands = p.shape
        both = np.stack([fem, p - fem], axis=-1)  # areas x bands x (female, male)
        frames.append(
            pl.DataFrame(
                {
                    "area_code": np.repeat(np.asarray(plan.codes), n_bands * 2),
                    "period": period,
                    "sex": np.tile(["female", "male"], n_areas * n_bands),
                    "age_band": np.tile(np.repeat(np.asarray(_BANDS), 2), n_areas),
                    "population": both.ravel(),
                }
            )
        )
    return pl.concat(frames).with_columns(pl.col("area_code", "period", "sex", "age_band").cast(pl.String))
