"""The ONS *Explore local statistics* (ELS) CSV layout, read into the data contract.

ELS files (github.com/ONSdigital/explore-local-statistics-data) have one row per area,
indicator and period::

    area_code, area_name, geography, indicator, period_start, period_length, value,
    measure, unit, lower_ci, upper_ci, status, notes

* ``period_length`` is an ISO-8601 duration: ``P1Y`` from 1 January is the calendar year
  ``2023``; ``P1Y`` from any other month is a financial or academic year ``2023/24``;
  ``P3Y`` from 1 January is ``2020-22``; ``P3Y`` from 1 April is ``2014/15-2016/17``.
* ``status`` codes: ``x`` not available, ``u`` low reliability, ``c`` confidential
  (suppressed), ``z`` not applicable. A row whose value is empty is **kept** with a missing
  value and its reason in ``missing_reason``; the load report counts each reason. ``status``
  and ``notes`` are kept as columns (``u`` rows with a value stay usable but flagged).
* Indicator ids: a plugin can map ELS indicator names onto its own indicators by
  registering :func:`mapped_els_reader`; any other name gets a generated id and a generic
  :class:`~publicservices.indicators.Indicator` returned in ``ReadResult.indicators``:
  ``context.<slug>`` (``role="context"``) for population and deprivation measures, which
  describe an area rather than an outcome, and ``other.<slug>`` for the rest. A generic
  indicator's direction is unknown (polarity ``no_judgement``), and the load report says so:
  it is compared as higher or lower, never better or worse.
* Metadata sidecar: ELS publishes ``x/x.json`` beside each ``x/x.csv`` (an
  ``ess-beta-metadata`` object: one indicator's ``label``, ``suffix`` (unit), ``subText``,
  ``decimalPlaces``, ``sourceOrg``, ``longDescription``, ``caveats`` ...; or a ``shared``
  block plus one block per value of the ``indicator`` column). The reader looks for
  ``<stem>.json`` beside the CSV, then in a folder ``els_metadata`` beside the CSV (or beside
  its folder); failing both, it looks in ``els_metadata`` for a sidecar that names the file's
  indicators. For names no plugin maps, the sidecar gives the title, unit, decimal places,
  source and definition (and a label a plugin may map). A missing or malformed sidecar is a
  note in the load report, never an error.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"start": ["2022-04-01", "2020-01-01", "2014-04-01", "2023-01-01"],
    ...                       "length": ["P1Y", "P3Y", "P3Y", "P1Y"]})
    >>> frame.select(period_label(pl.col("start").str.to_date(), pl.col("length"))).to_series().to_list()
    ['2022/23', '2020-22', '2014/15-2016/17', '2023']
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.errors import MetadataError, ReaderError, problem
from publicservices.hookspecs import hookimpl
from publicservices.reading import LoadReport, Reader, ReadResult, count_reasons

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from publicservices.indicators import Measure

__all__ = [
    "ELS_COLUMNS",
    "STATUS_REASONS",
    "sniff_els",
    "read_els",
    "mapped_els_reader",
    "registered_els_mappings",
    "period_label",
    "els_indicator_id",
    "generic_indicator",
    "ElsMetadata",
    "find_els_metadata",
    "read_els_metadata",
]

ELS_COLUMNS = (
    "area_code",
    "area_name",
    "geography",
    "indicator",
    "period_start",
    "period_length",
    "value",
    "measure",
    "unit",
    "lower_ci",
    "upper_ci",
    "status",
    "notes",
)
_REQUIRED = ("area_code", "indicator", "period_start", "period_length", "value")
STATUS_REASONS: dict[str, str] = {
    "x": "not available (status x)",
    "u": "low reliability (status u)",
    "c": "confidential or suppressed (status c)",
    "z": "not applicable (status z)",
}
READER_NAME = "ons-els"
GENERIC_SECTOR = "other"  # unmapped outcome indicators: other.<slug>
CONTEXT_SECTOR = "context"  # unmapped population and deprivation measures: context.<slug>
METADATA_FOLDER = "els_metadata"
# Names or labels of measures that describe an area (its people, its deprivation), not an outcome.
_CONTEXT_WORDS = re.compile(r"\b(population|median age|deprivation|multiple deprivation|imd)\b", re.IGNORECASE)


def sniff_els(columns: Sequence[str]) -> bool:
    """Does a header belong to the ELS layout? (needs area_code, indicator, period_start, period_length, value)"""
    return set(_REQUIRED) <= set(columns)


def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def els_indicator_id(name: str, sector: str = GENERIC_SECTOR) -> str:
    """The generated id for an unmapped ELS indicator name (``other.<slug>``, or ``context.<slug>``).

    Example:
        >>> els_indicator_id("Business births")
        'other.business_births'
        >>> els_indicator_id("Population density", sector="context")
        'context.population_density'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:90] or "indicator"
    return f"{sector}.{slug if slug[0].isalpha() else 'x' + slug}"


@dataclasses.dataclass(frozen=True)
class ElsMetadata:
    """One indicator's entry in an ELS metadata sidecar (``x/x.json``), shared fields merged in.

    ``key`` is the value of the CSV's ``indicator`` column the entry describes (for a sidecar
    with one indicator, its label). Text fields are ``None`` when the sidecar leaves them out.
    """

    key: str
    label: str | None = None
    unit: str | None = None
    decimals: int | None = None
    source: str | None = None
    subtitle: str | None = None
    description: str | None = None
    caveats: str | None = None

    @classmethod
    def from_block(cls, key: str, block: Mapping[str, Any], shared: Mapping[str, Any] | None = None) -> ElsMetadata:
        def get(name: str) -> Any:
            value = block.get(name)
            return value if value is not None else (shared or {}).get(name)

        def text(name: str) -> str | None:
            value = get(name)
            return " ".join(value.split()) if isinstance(value, str) and value.strip() else None

        pounds = get("prefix") == "GBPSign"
        unit = text("suffix") or text("subText") or ("£" if pounds else None)
        if pounds and unit and "£" not in unit:
            unit = f"£ ({unit})"
        places = get("decimalPlaces")
        if isinstance(places, str) and places.strip().isdigit():
            places = int(places)
        decimals = places if isinstance(places, int) and not isinstance(places, bool) and 0 <= places <= 10 else None
        source = text("sourceOrg")
        return cls(
            key=key,
            label=text("label"),
            unit=unit,
            decimals=decimals,
            source="; ".join(p.strip() for p in source.split("|") if p.strip()) if source else None,
            subtitle=text("subtitle"),
            description=text("longDescription"),
            caveats=text("caveats"),
        )


def read_els_metadata(path: str | Path) -> tuple[dict[str, ElsMetadata], ElsMetadata | None]:
    """Read an ELS metadata sidecar: ``({normalised indicator name: entry}, single entry or None)``.

    A sidecar with one indicator (``label`` at the top of ``ess-beta-metadata``) returns it as
    the single entry; one with a ``shared`` block and a block per indicator returns the
    blocks by the CSV name they describe, and by their label too. Raises ``MetadataError`` (a
    ``ReaderError`` and a ``ValueError``) with the reason when the file is not readable JSON
    with an ``ess-beta-metadata`` object.

    Example:
        >>> import json, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "rates.json").write_text(json.dumps({"ess-beta-metadata": {
        ...     "shared": {"suffix": "%", "decimalPlaces": 1, "sourceOrg": "ONS"},
        ...     "Employment rate": {"label": "Employment rate (Great Britain)"}}}))
        >>> blocks, single = read_els_metadata(folder / "rates.json")
        >>> blocks["employment rate"].label, blocks["employment rate"].unit, single
        ('Employment rate (Great Britain)', '%', None)
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"cannot be read ({type(exc).__name__}: {exc})") from exc
    except json.JSONDecodeError as exc:
        raise MetadataError(f"is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise MetadataError("is nested too deeply to be ELS metadata") from exc
    meta = document.get("ess-beta-metadata") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        raise MetadataError("has no 'ess-beta-metadata' object")
    blocks = {k: v for k, v in meta.items() if k != "shared" and isinstance(v, dict)}
    if "label" in meta or not blocks:
        single = ElsMetadata.from_block(str(meta.get("label") or ""), meta)
        if not single.label:
            raise MetadataError("its 'ess-beta-metadata' has neither a label nor a block per indicator")
        return {_norm(single.label): single}, single
    shared = meta.get("shared") if isinstance(meta.get("shared"), dict) else {}
    entries: dict[str, ElsMetadata] = {}
    for key, block in blocks.items():
        entry = ElsMetadata.from_block(key, block, shared)
        entries[_norm(key)] = entry
        if entry.label:
            entries.setdefault(_norm(entry.label), entry)
    return entries, None


def find_els_metadata(path: str | Path) -> list[Path]:
    """Where a sidecar for ``path`` may be, in the order looked: beside it, then in ``els_metadata``.

    For ``x/x.csv``: ``x/x.json``, ``x/els_metadata/x.json``, then ``els_metadata/x.json`` beside
    the folder ``x``. Only the candidates that exist are returned.
    """
    path = Path(path)
    stem = f"{path.stem}.json"
    candidates = [path.with_name(stem), path.parent / METADATA_FOLDER / stem, path.parent.parent / METADATA_FOLDER / stem]
    return [c for c in dict.fromkeys(candidates) if c.is_file()]


def _metadata_folders(path: Path) -> list[Path]:
    folders = [path.parent / METADATA_FOLDER, path.parent.parent / METADATA_FOLDER]
    return [f for f in dict.fromkeys(folders) if f.is_dir()]


def generic_indicator(name: str, measure: str | None, unit: str | None, source: str, metadata: ElsMetadata | None = None) -> Any:
    """A generic Indicator for an ELS indicator no plugin maps.

    The measure is guessed from the CSV's ``measure``/``unit`` text and, when a metadata
    sidecar entry is given, its unit and subtitle: percentages become proportions per 100
    (a percentage *change* a score); "per N" becomes a rate (a directly standardised rate
    when the text says standardised) per N; anything else a score. The sidecar also gives
    the title (its label), unit, decimal places, source and definition (subtitle, long
    description and caveats). Population and deprivation measures are context
    (``context.<slug>``, ``role="context"``); the rest are ``other.<slug>``. Polarity is
    ``no_judgement`` either way: nothing says which direction is better, and the definition
    says so.

    Example:
        >>> generic_indicator("Homicide Offences", "Homicide Offences (rate per million population)",
        ...                   "Rate per 1,000,000 population", "homicides.csv").multiplier
        1000000.0
        >>> births = generic_indicator("Business births", "Percentage", "%", "business-demography.csv",
        ...                            ElsMetadata(key="Business births", label="Business births", unit="%", decimals=1))
        >>> births.id, births.measure, births.decimals, births.polarity
        ('other.business_births', 'proportion', 1, 'no_judgement')
    """
    from publicservices.indicators import Indicator

    meta = metadata or ElsMetadata(key=name)
    text = " ".join(t for t in (measure, unit, meta.unit, meta.subtitle) if t).casefold()
    kind: Measure = "score"
    multiplier, shown_unit = 1.0, (meta.unit or unit or measure or "").strip()
    per = re.search(r"per\s+([\d,]*\d|million|thousand|hundred thousand)\b", text)
    change = re.search(r"\b(change|growth|increase|decrease|decline)\b", f"{text} {name} {meta.label or ''}".casefold())
    if ("percent" in text or "%" in text) and not change:
        kind, multiplier, shown_unit = "proportion", 100.0, "%"
    elif "percent" in text or "%" in text:  # a percentage change is not a share of anything
        shown_unit = "%"
    elif per and ("rate" in text or meta.unit):
        words = {"million": 1_000_000.0, "thousand": 1_000.0, "hundred thousand": 100_000.0}
        token = per.group(1)
        multiplier = words.get(token) or float(token.replace(",", "") or 1) or 1.0
        kind = "dsr" if "standardi" in text else "rate"
        shown_unit = f"per {multiplier:,.0f}"
    title = meta.label or name.strip() or "ELS indicator"
    context = bool(_CONTEXT_WORDS.search(name) or _CONTEXT_WORDS.search(meta.label or ""))
    parts = [meta.subtitle or f"{name.strip()}, as published in ONS Explore local statistics"]
    if measure and not meta.subtitle:
        parts[0] += f" (measure: {measure.strip()})"
    parts += [t for t in (meta.description, f"Caveats: {meta.caveats}" if meta.caveats else None) if t]
    if context:
        parts.append(
            "Context, not compared: it describes the area (its population or deprivation) and is used to "
            "explain outcomes, not judged better or worse."
        )
    else:
        parts.append(
            "Direction unknown: no installed plugin says whether higher is better, so areas are compared as "
            "higher or lower, never better or worse."
        )
    definition = " ".join(p.rstrip(".") + "." for p in parts)
    sector = CONTEXT_SECTOR if context else GENERIC_SECTOR
    origin = (
        f"{meta.source}, via ONS Explore local statistics ({source})"
        if meta.source
        else f"ONS Explore local statistics ({source})"
    )
    return Indicator(
        id=els_indicator_id(name, sector),
        title=title,
        sector=sector,
        measure=kind,
        multiplier=multiplier,
        polarity="no_judgement",
        unit=shown_unit,
        source=origin,
        definition=definition,
        role="context" if context else "outcome",
        decimals=meta.decimals,
    )


def period_label(start: pl.Expr, length: pl.Expr) -> pl.Expr:
    """Human period labels from a start date and an ISO-8601 duration (see the module docstring).

    Years (``PnY``) give ``2023``, ``2022/23``, ``2020-22`` or ``2014/15-2016/17``;
    ``P3M`` from a quarter's first month gives ``2024 Q1``; ``P1M`` gives ``2024-03``;
    anything else gives ``<start> (<duration>)``.
    """
    import polars as pl

    years = length.str.extract(r"^P(\d+)Y$", 1).cast(pl.Int32, strict=False)
    months = length.str.extract(r"^P(\d+)M$", 1).cast(pl.Int32, strict=False)
    y = start.dt.year().cast(pl.Int32)
    m = start.dt.month().cast(pl.Int32)
    two = lambda e: (e % 100).cast(pl.String).str.zfill(2)  # noqa: E731
    split = pl.format("{}/{}", y.cast(pl.String), two(y + 1))
    last = y + years - 1
    return (
        pl.when((years == 1) & (m == 1) & (start.dt.day() == 1))
        .then(y.cast(pl.String))
        .when(years == 1)
        .then(split)
        .when((years > 1) & (m == 1))
        .then(pl.format("{}-{}", y.cast(pl.String), two(last)))
        .when(years > 1)
        .then(pl.format("{}-{}/{}", split, last.cast(pl.String), two(last + 1)))
        .when((months == 3) & m.is_in([1, 4, 7, 10]))
        .then(pl.format("{} Q{}", y.cast(pl.String), ((m + 2) // 3).cast(pl.String)))
        .when(months == 1)
        .then(pl.format("{}-{}", y.cast(pl.String), m.cast(pl.String).str.zfill(2)))
        .otherwise(pl.format("{} ({})", start.cast(pl.String), length))
        .alias("period")
    )


class _MappedEls:
    """The read function of a plugin's ELS reader; ``els_indicators`` is its name -> id mapping."""

    def __init__(self, name: str, mapping: Mapping[str, str]) -> None:
        self.name = name
        self.els_indicators = {_norm(k): v for k, v in mapping.items()}

    def __call__(self, path: Path, **options: Any) -> ReadResult:
        extra = options.pop("indicator_ids", None) or {}
        return read_els(
            path, indicator_ids={**self.els_indicators, **extra}, reader_name=self.name, use_registered=False, **options
        )


def mapped_els_reader(name: str, mapping: Mapping[str, str], description: str | None = None) -> Reader:
    """A Reader for ELS files whose indicator names map onto a plugin's indicator ids.

    Register it from ``publicservices_readers``; the core ``ons-els`` reader also applies
    every registered mapping, so ``ps.read(path)`` finds the plugin's ids without naming
    the reader.

    Example:
        >>> reader = mapped_els_reader("welfare-els", {"Claimant Count": "welfare.claimant_rate"})
        >>> reader.sniff(list(ELS_COLUMNS)), reader.read.els_indicators
        (True, {'claimant count': 'welfare.claimant_rate'})
    """
    return Reader(
        name=name,
        description=description
        or f"ONS Explore local statistics CSV, with {len(mapping)} indicator name(s) mapped to registered ids",
        sniff=sniff_els,
        read=_MappedEls(name, mapping),
        extensions=(".csv",),
    )


def registered_els_mappings() -> tuple[dict[str, str], list[str]]:
    """Every plugin's ELS name -> id mapping, merged, and notes on any conflict."""
    from publicservices.reading import readers

    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    conflicts: list[str] = []
    for reader in readers().values():
        mapping = getattr(reader.read, "els_indicators", None)
        for key, target in (mapping or {}).items():
            if key in merged and merged[key] != target:
                conflicts.append(
                    f"ELS indicator {key!r} is mapped by {owner[key]!r} to {merged[key]!r} and by {reader.name!r} "
                    f"to {target!r}; {merged[key]!r} was used."
                )
                continue
            merged.setdefault(key, target)
            owner.setdefault(key, reader.name)
    return merged, conflicts


def read_els(
    path: str | Path,
    *,
    indicator_ids: Mapping[str, str] | None = None,
    area_prefixes: Sequence[str] | None = None,
    use_registered: bool = True,
    reader_name: str = READER_NAME,
    metadata: str | Path | bool | None = None,
) -> ReadResult:
    """Read an ONS Explore local statistics CSV into the data contract.

    Parameters:
        path: the CSV file.
        indicator_ids: extra ``{ELS indicator name: indicator id}`` mappings (names are
            matched ignoring case and repeated spaces).
        area_prefixes: keep only areas whose code starts with one of these (e.g.
            ``["E06", "E08", "E09", "E10"]`` for upper-tier authorities); the other rows
            are set aside and counted.
        use_registered: also apply the mappings registered by plugins (default True).
        metadata: the ELS metadata sidecar (``x.json``) for names no mapping knows: ``None``
            (default) looks for it (see the module docstring), a path uses that file, ``False``
            uses none.

    Returns:
        a :class:`~publicservices.reading.ReadResult` with values (plus ``status``,
        ``missing_reason``, ``notes`` and ``period_length`` columns), the areas frame
        (names, ``area_type`` from the code prefix, ``geography`` as published) and
        generic indicators for unmapped names.

    Example:
        >>> import publicservices as ps
        >>> result = ps.read("claimant-count.csv")          # doctest: +SKIP
        >>> print(result.report.summary())                  # doctest: +SKIP
    """
    import polars as pl

    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.frame import to_polars, validate_areas, validate_values

    path = Path(path)
    raw = to_polars(path, name=path.name)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ReaderError(
            f"{path.name}: not an Explore local statistics file: column(s) {missing} are missing.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: pass an ELS CSV, or read it with publicservices.read_csv(mapping=...)."
        )
    frame = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ELS_COLUMNS if c not in raw.columns)
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in ELS_COLUMNS)
    report = LoadReport(source=path.name, reader=reader_name, rows_read=frame.height)

    if area_prefixes:
        keep = pl.col("area_code").str.slice(0, 3).is_in(list(area_prefixes))
        outside = frame.filter(~keep).height
        if outside:
            report.set_aside[f"area code outside {', '.join(area_prefixes)}"] = outside
        frame = frame.filter(keep)

    for column in ("area_code", "indicator", "period_start", "period_length"):
        empty = frame.filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
        if empty.height:
            rows = [f"row {i + 1}" for i in empty.with_row_index("_i").head(5).get_column("_i").to_list()]
            raise ReaderError(
                f"{path.name}: "
                + problem(
                    column,
                    "is empty",
                    rows=rows,
                    total=empty.height,
                    fix="every ELS row needs an area code, indicator name, period_start and period_length.",
                )
            )

    from publicservices.frame import PERIOD_YEARS

    parsed = pl.col("period_start").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    # A date Polars parses can still be nonsense (-0001-01-01): years outside PERIOD_YEARS are errors too.
    starts = pl.when(parsed.dt.year().is_between(*PERIOD_YEARS)).then(parsed)
    bad_start = frame.filter(starts.is_null())
    if bad_start.height:
        shown = (
            bad_start.head(5).select(pl.format("{} | {} | {}", "area_code", "indicator", "period_start")).to_series().to_list()
        )
        raise ReaderError(
            f"{path.name}: "
            + problem(
                "period_start",
                f"is not an ISO date (YYYY-MM-DD) from {PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}",
                rows=shown,
                total=bad_start.height,
                fix="correct the dates; ELS periods start on a YYYY-MM-DD date.",
            )
        )

    # Indicator ids: plugin mappings first, then generated ids for the rest.
    mapping: dict[str, str] = {}
    if use_registered:
        registered, conflicts = registered_els_mappings()
        mapping.update(registered)
        report.notes.extend(conflicts)
    mapping.update({_norm(k): v for k, v in (indicator_ids or {}).items()})
    names = frame.select("indicator", "measure", "unit").unique("indicator", keep="first", maintain_order=True)
    ids: dict[str, str] = {}
    indicators: dict[str, Any] = {}
    registry_indicators = _registered_indicators() if mapping else {}
    unmapped = [name for name in names.get_column("indicator").to_list() if _norm(name) not in mapping]
    sidecar = _sidecar(path, unmapped, metadata, report) if unmapped else None
    generated: list[str] = []
    via_label: list[str] = []
    for name, measure, unit in names.iter_rows():
        target = mapping.get(_norm(name))
        entry = sidecar.entry(name, len(names)) if sidecar is not None and target is None else None
        if target is None and entry is not None and entry.label and _norm(entry.label) in mapping:
            target = mapping[_norm(entry.label)]  # the CSV name differs, but the sidecar's label is mapped
            via_label.append(f"{name!r} -> {target}")
        if target is not None:
            ids[name] = target
            if target in registry_indicators:
                indicators[target] = registry_indicators[target]
        else:
            generic = generic_indicator(name, measure, unit, path.name, entry)
            if generic.id in indicators:  # two names with the same slug stay two indicators
                n = sum(i == generic.id or i.startswith(generic.id + "_") for i in indicators) + 1
                generic = dataclasses.replace(generic, id=f"{generic.id[:95]}_{n}")
            ids[name] = generic.id
            indicators[generic.id] = generic
            generated.append(generic.id)
    if via_label:
        report.notes.append(
            f"{len(via_label)} indicator name(s) were matched through the metadata sidecar's label: {', '.join(via_label)}."
        )
    if generated:
        report.notes.append(
            f"{len(generated)} indicator(s) had no plugin mapping and got generic ids: {', '.join(sorted(generated))}."
        )
        if sidecar is not None:
            described = sum(1 for name in unmapped if ids[name] in generated and sidecar.entry(name, len(names)) is not None)
            report.notes.append(
                f"Titles, units and definitions for {described} of them come from the metadata sidecar {sidecar.where}."
            )
        outcomes = sorted(i for i in generated if not indicators[i].is_context)
        context = sorted(i for i in generated if indicators[i].is_context)
        if outcomes:
            report.notes.append(
                f"{len(outcomes)} indicator(s) have no known direction: they will be compared as higher/lower, "
                f"never better/worse ({', '.join(outcomes)}). A plugin can map them to indicators with a direction."
            )
        if context:
            report.notes.append(
                f"{len(context)} indicator(s) are context (population or deprivation), kept to explain outcomes "
                f"but not compared between areas: {', '.join(context)}."
            )

    status_code = pl.col("status").str.strip_chars().str.to_lowercase()
    value_text = pl.col("value").str.strip_chars()
    value = value_text.cast(pl.Float64, strict=False)
    not_number = value_text.is_not_null() & (value_text != "") & value.is_null()
    reason = (
        pl.when(value.is_not_null())
        .then(None)
        .when(status_code.is_in(list(STATUS_REASONS)))
        .then(status_code.replace_strict(STATUS_REASONS, default=None))
        .when(not_number)
        .then(pl.format("not a number in the source ({})", value_text))
        .when(pl.col("status").is_not_null())
        .then(pl.format("empty; status says: {}", pl.col("status")))
        .otherwise(pl.lit("empty in the source file"))
    )
    values = frame.with_columns(
        indicator_id=pl.col("indicator").replace_strict(ids, return_dtype=pl.String),
        period_start=starts,
        period_length=pl.col("period_length").str.strip_chars(),
    ).with_columns(
        period_label(pl.col("period_start"), pl.col("period_length")),
        value=value,
        lower_ci=pl.col("lower_ci").str.strip_chars().cast(pl.Float64, strict=False),
        upper_ci=pl.col("upper_ci").str.strip_chars().cast(pl.Float64, strict=False),
        missing_reason=reason,
        numerator=pl.lit(None, dtype=pl.Float64),
        denominator=pl.lit(None, dtype=pl.Float64),
    )
    # One label must mean one start within an indicator; where two starts share a label
    # (a financial and an academic year, say) the start date is added to tell them apart.
    clash = pl.col("period_start").n_unique().over("indicator_id", "period") > 1
    values = values.with_columns(
        pl.when(clash)
        .then(pl.format("{} (from {})", "period", pl.col("period_start").cast(pl.String)))
        .otherwise("period")
        .alias("period")
    )
    unparsed_ci = frame.filter(
        (pl.col("lower_ci").str.strip_chars().fill_null("") != "")
        & pl.col("lower_ci").str.strip_chars().cast(pl.Float64, strict=False).is_null()
    ).height
    if unparsed_ci:
        report.notes.append(f"{unparsed_ci:,} lower_ci cells were not numbers and were left empty.")

    values = values.select(
        "indicator_id",
        "area_code",
        "period",
        "period_start",
        "numerator",
        "denominator",
        "value",
        "lower_ci",
        "upper_ci",
        "status",
        "missing_reason",
        "notes",
        "period_length",
    )
    values = validate_values(values)
    report.rows_kept = values.height
    report.missing = count_reasons(
        dict(values.filter(pl.col("missing_reason").is_not_null()).group_by("missing_reason").len().iter_rows())
    )
    flagged = values.filter(
        pl.col("value").is_not_null() & pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS))
    )
    for code, n in flagged.group_by(pl.col("status").str.strip_chars().str.to_lowercase()).len().sort("status").iter_rows():
        report.notes.append(f"{n:,} published values are flagged {STATUS_REASONS[code]}; kept, with the flag in 'status'.")
    free_status = values.filter(
        pl.col("status").is_not_null() & ~pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(STATUS_REASONS))
    )
    for text, n in free_status.group_by("status").len().sort("len", "status", descending=[True, False]).head(3).iter_rows():
        report.notes.append(f"{n:,} rows have status {_clip(text)!r} (kept).")
    noted = values.filter(pl.col("notes").is_not_null())
    if noted.height:
        top = noted.group_by("notes").len().sort("len", "notes", descending=[True, False])
        examples = "; ".join(f"{_clip(t)!r} x{n}" for t, n in top.head(2).iter_rows())
        report.notes.append(f"{noted.height:,} rows carry notes in {top.height} wording(s), e.g. {examples}.")

    areas = (
        frame.with_columns(starts.alias("_start"))
        .sort("_start", descending=True, nulls_last=True)
        .group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").drop_nulls().first(), pl.col("geography").drop_nulls().first())
        .with_columns(area_type_expr(pl.col("area_code")).fill_null(pl.col("geography")))
        .select("area_code", "area_name", "area_type", "geography")
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


@dataclasses.dataclass
class _Sidecar:
    """A metadata sidecar found for one CSV: its entries and where it was found (for the report)."""

    entries: dict[str, ElsMetadata]
    single: ElsMetadata | None
    where: str

    def entry(self, name: str, n_names: int) -> ElsMetadata | None:
        found = self.entries.get(_norm(name))
        if found is None and self.single is not None and n_names == 1:
            found = self.single  # one indicator in the file and one in the sidecar: the same, whatever its name
        return found


def _sidecar(path: Path, unmapped: Sequence[str], metadata: str | Path | bool | None, report: LoadReport) -> _Sidecar | None:
    """The metadata sidecar for ``path``, or None with a note saying why (it never raises)."""
    if metadata is False:
        return None
    shown = lambda p: p.name if p.parent == path.parent else f"{p.parent.name}/{p.name}"  # noqa: E731
    candidates = [Path(metadata)] if isinstance(metadata, (str, Path)) else find_els_metadata(path)
    problems = []
    for candidate in candidates:
        try:
            entries, single = read_els_metadata(candidate)
        except ValueError as exc:
            problems.append(f"{shown(candidate)} {exc}")
            continue
        return _Sidecar(entries, single, shown(candidate))
    if not candidates and metadata is None:
        # ELS files renamed on copying: a sidecar in els_metadata/ that names this file's indicators.
        wanted = {_norm(n) for n in unmapped}
        best: tuple[int, Path, dict[str, ElsMetadata], ElsMetadata | None] | None = None
        for folder in _metadata_folders(path):
            for candidate in sorted(folder.glob("*.json")):
                try:
                    entries, single = read_els_metadata(candidate)
                except ValueError:
                    continue  # not this file's sidecar
                hits = len(wanted & set(entries))
                if hits and (best is None or hits > best[0]):
                    best = (hits, candidate, entries, single)
        if best is not None:
            return _Sidecar(best[2], best[3], f"{shown(best[1])} (found by indicator name)")
    if problems:
        report.notes.append(
            "The metadata sidecar could not be used: "
            + "; ".join(problems)
            + ". Generic indicators take their measure and unit from the CSV alone."
        )
    else:
        report.notes.append(
            f"No metadata sidecar was found ({path.stem}.json beside the file or in {METADATA_FOLDER}/), so "
            "generic indicators take their measure and unit from the CSV alone."
        )
    return None


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _registered_indicators() -> dict[str, Any]:
    from publicservices.errors import PluginError
    from publicservices.plugins import get_registry

    try:
        return get_registry().indicators()
    except PluginError:
        return {}


def _read_core(path: Path, **options: Any) -> ReadResult:
    return read_els(path, **options)


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name=READER_NAME,
            description="ONS Explore local statistics CSV (area_code, indicator, period_start, period_length, value, status ...)",
            sniff=sniff_els,
            read=_read_core,
            extensions=(".csv",),
        )
    )
