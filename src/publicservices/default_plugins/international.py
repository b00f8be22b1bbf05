"""International comparator tables: one value per country and period, with its standard error.

Layout (column names matched case-insensitively)::

    country, year (or period), [subject or indicator], mean_score (or value/mean), standard_error (or se)

OECD PISA country means are the model (``intl_pisa_2018_2022_oecd.csv``). Each country
becomes an area with its ISO 3166-1 alpha-3 code (``GBR`` ...; an unknown name keeps an
upper-case slug and is counted in a note) at level ``nation``: countries are compared with
each other, never with local areas. Each subject becomes a ``mean`` indicator whose 95%
limits are ``value ± 1.96 × standard_error``; the standard error is kept as a column. PISA
subjects get ``schools.pisa_<subject>`` ids (higher is better: PISA scales are scores);
other tables get ``other.<slug>`` ids with no known direction.

Example:
    >>> country_code("United Kingdom"), country_code("Korea"), country_code("Atlantis")
    ('GBR', 'KOR', None)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from publicservices.errors import ReaderError
from publicservices.hookspecs import hookimpl
from publicservices.published_numbers import number_from_text
from publicservices.reading import LoadReport, Reader, ReadResult

__all__ = ["country_code", "read_international", "ISO3"]

# OECD members and the other countries most often in international comparator tables.
ISO3 = {
    "australia": "AUS",
    "austria": "AUT",
    "belgium": "BEL",
    "canada": "CAN",
    "chile": "CHL",
    "colombia": "COL",
    "costa rica": "CRI",
    "czech republic": "CZE",
    "czechia": "CZE",
    "denmark": "DNK",
    "estonia": "EST",
    "finland": "FIN",
    "france": "FRA",
    "germany": "DEU",
    "greece": "GRC",
    "hungary": "HUN",
    "iceland": "ISL",
    "ireland": "IRL",
    "israel": "ISR",
    "italy": "ITA",
    "japan": "JPN",
    "korea": "KOR",
    "republic of korea": "KOR",
    "south korea": "KOR",
    "latvia": "LVA",
    "lithuania": "LTU",
    "luxembourg": "LUX",
    "mexico": "MEX",
    "netherlands": "NLD",
    "the netherlands": "NLD",
    "new zealand": "NZL",
    "norway": "NOR",
    "poland": "POL",
    "portugal": "PRT",
    "slovak republic": "SVK",
    "slovakia": "SVK",
    "slovenia": "SVN",
    "spain": "ESP",
    "sweden": "SWE",
    "switzerland": "CHE",
    "turkey": "TUR",
    "türkiye": "TUR",
    "turkiye": "TUR",
    "united kingdom": "GBR",
    "uk": "GBR",
    "united states": "USA",
    "usa": "USA",
    "united states of america": "USA",
    "china": "CHN",
    "singapore": "SGP",
    "hong kong": "HKG",
    "taiwan": "TWN",
    "chinese taipei": "TWN",
    "macao": "MAC",
    "india": "IND",
    "brazil": "BRA",
    "russia": "RUS",
    "russian federation": "RUS",
    "south africa": "ZAF",
    "argentina": "ARG",
    "bulgaria": "BGR",
    "croatia": "HRV",
    "cyprus": "CYP",
    "malta": "MLT",
    "romania": "ROU",
    "serbia": "SRB",
    "ukraine": "UKR",
    "oecd average": "OECD",
    "oecd": "OECD",
}
_ALIASES = {
    "country": ("country", "country_name", "nation"),
    "period": ("year", "period", "wave"),
    "indicator": ("subject", "indicator", "domain"),
    "value": ("mean_score", "value", "mean", "score"),
    "se": ("standard_error", "se", "std_error"),
}
_Z95 = 1.959963984540054


def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country name, or None when the name is not known."""
    return ISO3.get(" ".join(str(name).split()).casefold())


def _find(columns: Sequence[str], role: str) -> str | None:
    lower = {c.casefold().strip(): c for c in columns}
    return next((lower[a] for a in _ALIASES[role] if a in lower), None)


def sniff_international(columns: Sequence[str]) -> bool:
    """A country column, a year or period, a value and its standard error."""
    return all(_find(columns, role) is not None for role in ("country", "period", "value", "se"))


def read_international(path: str | Path) -> ReadResult:
    """Read an international comparator table (see the module docstring)."""
    import polars as pl

    from publicservices.frame import to_polars, validate_areas, validate_values
    from publicservices.indicators import Indicator

    path = Path(path)
    raw = to_polars(path, name=path.name)
    found = {role: _find(raw.columns, role) for role in _ALIASES}
    missing = [role for role in ("country", "period", "value", "se") if found[role] is None]
    if missing:
        raise ReaderError(
            f"{path.name}: not an international comparator table: no column for {', '.join(missing)}.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: name the columns country, year, mean_score, standard_error."
        )
    column = {role: name for role, name in found.items() if name is not None}  # every role but indicator is there
    subject = pl.col(column["indicator"]).cast(pl.String) if "indicator" in column else pl.lit("value")
    frame = raw.select(
        pl.col(column["country"]).cast(pl.String).str.strip_chars().alias("area_name"),
        pl.col(column["period"]).cast(pl.String).str.strip_chars().alias("period"),
        subject.str.strip_chars().alias("_subject"),
        number_from_text(pl.col(column["value"])).alias("value"),
        number_from_text(pl.col(column["se"])).alias("standard_error"),
    )
    pisa = "mean_score" in {c.casefold() for c in raw.columns} or "pisa" in path.name.casefold()
    slug = pl.col("_subject").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
    codes = {name: country_code(name) for name in frame.get_column("area_name").unique().to_list()}
    unknown = sorted(n for n, c in codes.items() if c is None)
    codes = {n: c or re.sub(r"[^A-Z0-9]+", "_", n.upper()).strip("_")[:40] or "COUNTRY" for n, c in codes.items()}
    values = frame.with_columns(
        indicator_id=pl.format("schools.pisa_{}", slug) if pisa else pl.format("other.{}", slug),
        area_code=pl.col("area_name").replace_strict(codes, return_dtype=pl.String),
        lower_ci=pl.col("value") - _Z95 * pl.col("standard_error"),
        upper_ci=pl.col("value") + _Z95 * pl.col("standard_error"),
        missing_reason=pl.when(pl.col("value").is_null()).then(pl.lit("not reported in the source")),
    )
    report = LoadReport(source=path.name, reader="international", rows_read=raw.height)
    if unknown:
        report.notes.append(
            f"{len(unknown)} country name(s) have no ISO code and keep a code made from the name: {', '.join(unknown[:5])}."
        )
    report.notes.append(
        "95% limits are the value plus or minus 1.96 standard errors; countries are compared only with countries."
    )
    indicators = {}
    for ind_id, subj in values.select("indicator_id", "_subject").unique(maintain_order=True).iter_rows():
        sector = ind_id.split(".")[0]
        title = f"PISA {subj} score" if pisa else subj
        indicators[ind_id] = Indicator(
            id=ind_id,
            title=title,
            sector=sector,
            measure="mean",
            polarity="higher_is_better" if pisa else "no_judgement",
            unit="score points" if pisa else "",
            source=f"International comparator table ({path.name})",
            definition=(
                f"Mean {subj} score of 15-year-olds in the OECD Programme for International Student Assessment "
                "(PISA); higher is better. Standard errors from the survey's replicate weights."
            )
            if pisa
            else f"{subj}, as published in {path.name}.",
        )
    values = validate_values(
        values.select("indicator_id", "area_code", "period", "value", "lower_ci", "upper_ci", "standard_error", "missing_reason")
    )
    report.rows_kept = values.height
    gaps = values.filter(pl.col("value").is_null()).height
    if gaps:
        report.missing["not reported in the source"] = gaps
    areas = (
        frame.select("area_name")
        .unique()
        .with_columns(
            pl.col("area_name").replace_strict(codes, return_dtype=pl.String).alias("area_code"),
            pl.lit("Country").alias("area_type"),
            pl.lit("nation").alias("level"),
        )
        .select("area_code", "area_name", "area_type", "level")
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name="international",
            description="International comparator table (country, year, value, standard error), e.g. OECD PISA means",
            sniff=sniff_international,
            read=read_international,
            extensions=(".csv",),
        )
    )
