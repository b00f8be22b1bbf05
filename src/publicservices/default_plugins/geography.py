"""Area names and types for GSS codes, and the ONS TopoJSON boundary file as an areas reader.

Many published files carry codes but no names (Fingertips downloads, for example). The
TopoJSON boundaries published by ONS hold every code with its name, so
:func:`read_topojson_areas` turns one into an areas frame that other readers join on
(``area_names=`` option). :func:`area_type_expr` names the kind of area from the first
three characters of a GSS code (E06 unitary authority, E10 shire county ...), because the
``geography`` label of some files is not enough (ONS labels metropolitan districts and
London boroughs "Local Authority District" although they are upper-tier authorities).

Example:
    >>> import polars as pl
    >>> pl.DataFrame({"area_code": ["E06000001", "E09000033", "W15000001"]}).select(
    ...     area_type_expr(pl.col("area_code"))).to_series().to_list()
    ['Unitary authority', 'London borough', 'Police force area']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import ReaderError
from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["GSS_PREFIXES", "area_type_expr", "read_topojson_areas", "load_area_names", "join_area_names"]

# First three characters of a GSS code -> kind of area (ONS Register of Geographic Codes).
GSS_PREFIXES: dict[str, str] = {
    "E92": "Country",
    "W92": "Country",
    "S92": "Country",
    "N92": "Country",
    "K02": "United Kingdom",
    "K03": "Great Britain",
    "K04": "England and Wales",
    "E12": "Region",
    "E13": "Inner or Outer London",
    "E47": "Combined authority",
    "E11": "Metropolitan county",
    "E06": "Unitary authority",
    "E07": "Shire district",
    "E08": "Metropolitan district",
    "E09": "London borough",
    "E10": "Shire county",
    "E67": "Merged local authorities",
    "W06": "Unitary authority",
    "S12": "Council area",
    "N09": "Local government district",
    "E23": "Police force area",
    "W15": "Police force area",
    "E38": "Sub-ICB location",
    "E54": "Integrated care board",
    "E40": "NHS England region",
    "X06": "Unitary authority",
    "X08": "Metropolitan district",
    "X09": "Capital borough",
    "X10": "County",
    "X12": "Region",
    "X92": "Country",
}
_LAYER_TYPES = {
    "uk": "United Kingdom",
    "ctry": "Country",
    "rgn": "Region",
    "cty": "Shire county",
    "mcty": "Metropolitan county",
    "cauth": "Combined authority",
    "utla": "Upper-tier local authority",
    "ltla": "Lower-tier local authority",
}


def area_type_expr(code: pl.Expr) -> pl.Expr:
    """The kind of area named by a GSS code's prefix (null for unknown prefixes)."""
    import polars as pl

    return code.str.slice(0, 3).replace_strict(GSS_PREFIXES, default=None, return_dtype=pl.String).alias("area_type")


def read_topojson_areas(path: str | Path, *, layers: Sequence[str] | None = None, year: int | None = None) -> pl.DataFrame:
    """Every area in an ONS TopoJSON file: ``area_code``, ``area_name``, ``area_type``, ``layers``, ``start``, ``end``.

    Parameters:
        path: a TopoJSON file whose geometries have ``areacd`` and ``areanm`` properties
            (and optionally ``start``/``end`` years, as in ONSvisual/uk-topojson).
        layers: object names to read (default: all), e.g. ``["utla", "ltla"]``.
        year: keep only areas that exist in that year (``start <= year <= end`` where given).

    A code found in several layers (a unitary authority is both upper and lower tier) gives
    one row; its name is the one from the latest vintage.

    Example:
        >>> areas = read_topojson_areas("geo_uk_la_topojson_2014_2025.json", layers=["utla"], year=2024)  # doctest: +SKIP
    """
    import polars as pl

    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        objects = document["objects"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderError(
            f"{path.name}: not a readable TopoJSON file ({type(exc).__name__}: {exc}).\nFix: pass a TopoJSON file with an 'objects' member."
        ) from exc
    chosen = list(objects) if layers is None else list(layers)
    unknown = [layer for layer in chosen if layer not in objects]
    if unknown:
        raise ReaderError(f"{path.name}: no layer(s) {unknown} in this TopoJSON.\nFix: choose from {', '.join(objects)}.")
    rows: list[dict[str, Any]] = []
    for layer in chosen:
        for geometry in objects[layer].get("geometries", []):
            props = geometry.get("properties") or {}
            rows.append(
                {
                    "area_code": props.get("areacd"),
                    "area_name": props.get("areanm"),
                    "layer": layer,
                    "start": props.get("start"),
                    "end": props.get("end"),
                }
            )
    schema = {"area_code": pl.String, "area_name": pl.String, "layer": pl.String, "start": pl.Int64, "end": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema, strict=False)
    unnamed = frame.filter(pl.col("area_code").is_null())
    if unnamed.height:
        raise ReaderError(
            f"{path.name}: {unnamed.height} geometries have no 'areacd' property (layers {sorted(set(unnamed['layer']))}).\n"
            "Fix: use a TopoJSON whose geometries carry areacd and areanm properties."
        )
    if year is not None:
        frame = frame.filter(
            (pl.col("start").is_null() | (pl.col("start") <= year)) & (pl.col("end").is_null() | (pl.col("end") >= year))
        )
    return (
        frame.sort(pl.col("end").fill_null(9999), descending=True)
        .group_by("area_code", maintain_order=True)
        .agg(
            pl.col("area_name").first(),
            pl.col("layer").unique(maintain_order=True).sort().str.join(",").alias("layers"),
            pl.col("start").min(),
            pl.col("end").max(),
            pl.col("end").null_count().gt(0).alias("_open"),
        )
        .with_columns(pl.when(pl.col("_open")).then(None).otherwise(pl.col("end")).alias("end"))
        .with_columns(
            area_type_expr(pl.col("area_code")).fill_null(
                pl.col("layers").str.split(",").list.first().replace_strict(_LAYER_TYPES, default=None, return_dtype=pl.String)
            )
        )
        .select("area_code", "area_name", "area_type", "layers", "start", "end")
        .sort("area_code")
    )


def load_area_names(source: Any) -> pl.DataFrame:
    """``area_code`` and ``area_name`` from a TopoJSON path, a CSV/Parquet path, or a frame."""
    import polars as pl

    if isinstance(source, pl.DataFrame):
        frame = source
    elif isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".json", ".topojson"):
        frame = read_topojson_areas(source)
    else:
        from publicservices.frame import to_polars

        frame = to_polars(source, name="area names")
    missing = [c for c in ("area_code", "area_name") if c not in frame.columns]
    if missing:
        raise ReaderError(
            f"area names: column(s) {missing} are missing (columns present: {', '.join(frame.columns)}).\n"
            "Fix: pass a TopoJSON file, or a frame or file with area_code and area_name columns."
        )
    return frame.select(pl.col("area_code").cast(pl.String), pl.col("area_name").cast(pl.String)).unique(
        "area_code", keep="first", maintain_order=True
    )


def join_area_names(areas: pl.DataFrame, source: Any, report: LoadReport) -> pl.DataFrame:
    """Fill ``area_name`` from ``source`` (see :func:`load_area_names`), noting codes left unnamed."""
    import polars as pl

    names = load_area_names(source)
    out = areas.drop("area_name", strict=False).join(names, on="area_code", how="left", maintain_order="left")
    unnamed = out.filter(pl.col("area_name").is_null()).get_column("area_code")
    if unnamed.len():
        prefixes = unnamed.str.slice(0, 3).value_counts(sort=True)
        detail = ", ".join(f"{p} x{n}" for p, n in prefixes.iter_rows())
        report.notes.append(f"{unnamed.len():,} area codes have no name in the name lookup ({detail}).")
    else:
        report.notes.append("Area names joined for every area code.")
    return out


def _sniff_topojson(columns: Sequence[str]) -> bool:
    # The header of a JSON file read as CSV is fragments of its first line.
    return '"Topology"' in ",".join(columns[:20])


def _read_topojson(path: Path, *, layers: Sequence[str] | None = None, year: int | None = None) -> ReadResult:
    from publicservices.frame import VALUES, validate_areas

    areas = read_topojson_areas(path, layers=layers, year=year)
    # A boundary file holds areas, not indicator values: no value rows are read or kept.
    report = LoadReport(source=path.name, reader="topojson-areas", rows_read=0, rows_kept=0)
    report.notes.append(
        f"{areas.height:,} areas read into the areas frame (codes, names, types); a boundary file has no indicator values."
    )
    return ReadResult(values=VALUES.empty(), report=report, areas=validate_areas(areas))


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name="topojson-areas",
            description="ONS TopoJSON boundaries (areacd/areanm properties) as an areas frame of codes and names",
            sniff=_sniff_topojson,
            read=_read_topojson,
            extensions=(".json", ".topojson"),
        )
    )
