"""A site project file: everything a real-data site needs, in one TOML file.

``publicservices publish publicservices.toml`` builds it; ``publicservices init FILES...``
writes a starter. The layout follows the tools publishers know (``pyproject.toml``,
``mkdocs.yml``, datasette's ``metadata.yml``)::

    [site]
    title = "England compared"
    about = "Outcomes of councils and police forces, from official statistics."

    [[sources]]                       # files, folders or globs of indicator values
    path = "data/cvd.csv"
    format = "ons-els"                # optional: a reader (see `publicservices readers`)
    map = { "Area Code" = "area_code" }   # optional: file column -> contract column
    set = { indicator_id = "health.x" }   # optional: a contract column for every row
    licence = "Open Government Licence v3.0"
    attribution = "ONS, Explore local statistics"

    [records]                         # optional: record-level sources, aggregated first
    population = "records/population.parquet"   # for rates and DSRs
    areas = "records/areas.csv"       # area_code, parent_code: roll-up to every level
    engine = "polars"                 # or "spark"
    [records.sources]                 # source name (as the indicators define it) -> files
    "health.ae_attendances" = "records/ae/**/*.parquet"

    [[indicators]]                    # metadata for indicators no plugin registers, or overrides
    id = "other.house_prices"
    title = "Median house price"
    polarity = "no_judgement"

    [areas]
    context = ["data/imd2019.csv"]    # population and deprivation for each area

    [spend]
    path = "data/revenue_outturn.csv"
    services = { "Education services" = "schools", "Police services" = "policing" }

    [geography]
    boundaries = "data/uk.topojson"
    layer = "utla"
    comparable_sets = ["upper_tier"]
    benchmark = "national"

    [judgement]
    suppress_threshold = 5
    overdispersion = "auto"

    [international]                   # optional: an international comparator table
    path = "data/intl_pisa_2018_2022_oecd.csv"   # country, year, value, standard error
    attribution = "OECD, PISA"

Paths are relative to the project file. The file is checked against a JSON Schema
(:data:`SCHEMA`) and every path, mapping and service line is checked before any work
starts: an error names the key, its line and the fix.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "site.toml").write_text('[site]\\ntitle = "X"\\n[[sources]]\\npath = "missing.csv"\\n')
    >>> load_project(folder / "site.toml")
    Traceback (most recent call last):
    ...
    publicservices.project.ProjectError: site.toml, line 4: sources[0].path: no file matches 'missing.csv' (looked in ...).
    Fix: correct the path; paths are relative to the project file.
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from publicservices.errors import PublicServicesError
from publicservices.project_messages import key_message, schema_message
from publicservices.project_schema import CONTRACT_COLUMNS, SCHEMA
from publicservices.project_starter import starter_project

__all__ = ["ProjectError", "Project", "SCHEMA", "load_project", "starter_project"]


class ProjectError(PublicServicesError):
    """A project file that cannot be used: names the file, the key, its line and the fix."""


@dataclasses.dataclass
class Source:
    files: list[Path]
    format: str | None
    mapping: dict[str, str]
    constants: dict[str, Any]
    licence: str | None
    attribution: str | None
    sheet: str | None = None  # the sheet of a workbook to read


@dataclasses.dataclass
class Project:
    """A checked project file: resolved paths and options, ready to read and publish."""

    path: Path
    document: dict[str, Any]
    sources: list[Source]
    text: str = ""  # the file's text, for line numbers in messages

    @property
    def site(self) -> dict[str, Any]:
        return self.document.get("site", {})

    @overload
    def _resolve(self, value: str) -> Path: ...
    @overload
    def _resolve(self, value: None) -> None: ...
    @overload
    def _resolve(self, value: str | None) -> Path | None: ...

    def _resolve(self, value: str | None) -> Path | None:
        return None if value is None else (self.path.parent / value).resolve()

    def dataset(self, notes: list[str] | None = None) -> Any:
        """Read every source, context and spend file, and combine them into one Dataset."""
        from publicservices.combining import combine
        from publicservices.reading import read, read_csv

        notes = notes if notes is not None else []
        defined = _definitions(self.document.get("indicators", []))
        parts = []
        if "records" in self.document:
            parts.append(self._records(notes))
        for source in self.sources:
            for file in source.files:
                result = (
                    read_csv(file, mapping=source.mapping, constants=source.constants, sheet=source.sheet)
                    if source.mapping or source.constants
                    else read(file, format=source.format, sheet=source.sheet)
                )
                notes += [line for line in result.report.summary().splitlines()[1:] if line.strip()]
                # indicators the project file defines travel with the values that use them
                used = set(result.values.get_column("indicator_id").unique().to_list()) if result.values.height else set()
                extra = {i: d for i, d in defined.items() if i in used}
                parts.append(dataclasses.replace(result, indicators={**result.indicators, **extra}) if extra else result)
        for context in self.document.get("areas", {}).get("context", []):
            result = read(self._resolve(context))
            notes.append(f"Area context from {Path(context).name}: {result.report.summary().splitlines()[0]}")
            parts.append(result)
        if "spend" in self.document:
            parts.append(self._spend(notes))
        combined = combine(*parts, name=self.site.get("title"))
        if len(parts) > 1:
            lines = [line.strip() for line in combined.report.summary().splitlines()[1:] if line.strip()]
            per_area = [
                line for line in lines if line.startswith("areas ")
            ]  # one line per area whose sources word its name differently
            notes += [line for line in lines if not line.startswith("areas ")] + per_area[:3]
            if len(per_area) > 3:
                notes.append(
                    f"... and {len(per_area) - 3:,} more areas whose sources differ in an attribute (the first source's is kept)."
                )
        dataset = combined.dataset
        overrides = self.document.get("indicators", [])
        if overrides:
            dataset = _with_indicators(dataset, overrides)
        if self.site.get("title"):
            dataset.metadata["title"] = self.site["title"]
        return dataset

    def _records(self, notes: list[str]) -> Any:
        """Aggregate the record-level sources (``[records]``) into values, noting what was not counted."""
        from publicservices.aggregation import aggregate

        rec = self.document["records"]
        areas = None
        if rec.get("areas"):
            from publicservices.aggregation.engines import to_polars_frame

            areas = to_polars_frame(self._resolve(rec["areas"]), "areas")
        result = aggregate(
            {name: str(self._resolve(path)) for name, path in rec["sources"].items()},
            rec.get("indicators"),
            population=self._resolve(rec.get("population")),
            areas=areas,
            periods=rec.get("periods"),
            engine=rec.get("engine", "polars"),
        )
        notes += result.summary().splitlines()
        return result.to_read_result()

    def _spend(self, notes: list[str]) -> Any:
        import polars as pl

        from publicservices.reading import read

        spend = self.document["spend"]
        result = read(self._resolve(spend["path"]))
        if result.spend is None or not result.spend.height:
            raise ProjectError(
                _message(
                    self,
                    ("spend", "path"),
                    f"{spend['path']!r} holds no spend rows",
                    "point spend.path at a spend file (see `publicservices readers`).",
                )
            )
        services = spend.get("services")
        if services:
            frame = result.spend
            name = "service_name" if "service_name" in frame.columns else "service"
            known = set(frame.get_column(name).unique().to_list())
            unknown = sorted(set(services) - known)
            if unknown:
                raise ProjectError(
                    _message(
                        self,
                        ("spend", "services"),
                        f"no spend line is called {', '.join(map(repr, unknown))}",
                        f"use service names from the file: {', '.join(sorted(known)[:12])} ...",
                    )
                )
            kept = frame.filter(pl.col(name).is_in(list(services))).with_columns(
                pl.col(name).replace_strict(services, return_dtype=pl.String).alias("service")
            )
            left = frame.height - kept.height
            notes.append(
                f"Spend: {kept.height:,} rows of {len(services)} service line(s) mapped to sectors; {left:,} rows of other "
                "lines are not used."
            )
            result = dataclasses.replace(result, spend=kept.group_by("area_code", "period", "service").agg(pl.col("spend").sum()))
        return result

    def publish_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`publicservices.site.publish` from the file's keys."""
        geo = self.document.get("geography", {})
        judgement = self.document.get("judgement", {})
        options: dict[str, Any] = {
            "title": self.site.get("title"),
            "sectors": tuple(self.site.get("sectors", ())),
            "indicators": tuple(self.site.get("indicators", ())),
            "area_types": tuple(geo.get("area_types", ())),
            "comparable_sets": tuple(geo.get("comparable_sets", ())),
            "benchmark": geo.get("benchmark", "national"),
            "boundaries": self._resolve(geo.get("boundaries")),
            "layer": geo.get("layer"),
            "suppress_threshold": judgement.get("suppress_threshold", 5),
            "base_url": self.site.get("base_url"),
            "international": self._resolve(self.document.get("international", {}).get("path")),
        }
        if "overdispersion" in judgement:
            options["overdispersion"] = judgement["overdispersion"]
        return options

    def international_format(self) -> str | None:
        """The reader named for the international comparator table (``None``: the one its comparators name)."""
        return self.document.get("international", {}).get("format")

    def credits(self) -> list[str]:
        """One line per source: its file, licence and attribution."""
        lines = []
        for source in self.sources:
            parts = [", ".join(f.name for f in source.files)]
            parts += [x for x in (source.attribution, source.licence) if x]
            lines.append(" — ".join(parts))
        international = self.document.get("international")
        if international:
            parts = [Path(international["path"]).name, *(international.get(k) for k in ("attribution", "licence"))]
            lines.append(" — ".join(p for p in parts if p))
        return lines


def project_from_options(
    source: str | Path,
    *,
    format: str | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    areas: Sequence[str | Path] = (),
    spend: str | Path | None = None,
    sheet: str | None = None,
) -> Project:
    """A project of one source file from command-line flags (``--format``, ``--sheet``, ``--map``, ``--set``,
    ``--areas``, ``--spend``).

    The flags mirror the project file's keys and get the same checks.
    """
    document: dict[str, Any] = {"sources": [{"path": str(Path(source).absolute())}]}
    if format:
        document["sources"][0]["format"] = format
    if sheet:
        document["sources"][0]["sheet"] = sheet
    if mapping:
        document["sources"][0]["map"] = dict(mapping)
    if constants:
        document["sources"][0]["set"] = dict(constants)
    if areas:
        document["areas"] = {"context": [str(Path(a).absolute()) for a in areas]}
    if spend is not None:
        document["spend"] = {"path": str(Path(spend).absolute())}
    return _checked(Path.cwd() / "(command line)", "", document)


def load_project(path: str | Path) -> Project:
    """Read and check a project file; raise :class:`ProjectError` before any work starts."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror or exc}).\nFix: check the path.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path.name}: not valid TOML ({exc}).\nFix: correct the syntax at that line.") from None
    return _checked(path, text, document)


def _checked(path: Path, text: str, document: dict[str, Any]) -> Project:
    import jsonschema

    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: [str(k) for k in e.absolute_path]
    )
    if not errors and "sources" not in document and "records" not in document:
        raise ProjectError(
            f"{path.name}: 'sources' is required: the values files to publish ([[sources]]), or record-level "
            "sources to aggregate first ([records]).\nFix: add a [[sources]] table with a path, or a [records] table."
        )
    if errors:
        shown = [schema_message(path, text, e) for e in errors[:5]]
        raise ProjectError("\n".join(shown) + "\nFix: see the project file reference in the publisher guide.")
    project = Project(path=path.resolve(), document=document, sources=[], text=text)
    project.sources = [_source(project, i, s) for i, s in enumerate(document.get("sources", []))]
    _check_files(project)
    return project


def _source(project: Project, index: int, raw: Mapping[str, Any]) -> Source:
    pattern = str(project.path.parent / raw["path"])
    files = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    files = [f for f in files for f in ([f] if f.is_file() else sorted(p for p in f.rglob("*") if p.is_file()))]
    if not files:
        raise ProjectError(
            _message(
                project,
                ("sources", index, "path"),
                f"no file matches {raw['path']!r} (looked in {project.path.parent})",
                "correct the path; paths are relative to the project file.",
            )
        )
    mapping = dict(raw.get("map", {}))
    bad = sorted(t for t in [*mapping.values(), *raw.get("set", {})] if t not in CONTRACT_COLUMNS)
    if bad:
        raise ProjectError(
            _message(
                project,
                ("sources", index, "map" if set(bad) & set(mapping.values()) else "set"),
                f"{', '.join(map(repr, bad))} is not a column of the data contract",
                f"map onto one of {', '.join(CONTRACT_COLUMNS)}.",
            )
        )
    targets = [t for t in mapping.values()]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise ProjectError(
            _message(
                project,
                ("sources", index, "map"),
                f"two file columns map onto {', '.join(map(repr, twice))}",
                "map one file column onto each contract column.",
            )
        )
    from publicservices.workbooks import WORKBOOK_SUFFIXES

    not_books = [f.name for f in files if f.suffix.lower() not in WORKBOOK_SUFFIXES]
    if raw.get("sheet") and not_books:
        raise ProjectError(
            _message(
                project,
                ("sources", index, "sheet"),
                f"sheet names a sheet of a workbook, but {not_books[0]} is not one (.xlsx, .xlsm, .xls, .ods)",
                "leave sheet out, or point path at the workbook.",
            )
        )
    if raw.get("format") and (mapping or raw.get("set")):
        raise ProjectError(
            _message(
                project,
                ("sources", index, "format"),
                "format cannot be combined with map or set",
                "use a reader (format) or a column mapping (map/set), not both.",
            )
        )
    if mapping or raw.get("set"):
        from publicservices.reading import read_header
        from publicservices.workbooks import chosen_sheet

        for file in files:
            with chosen_sheet(raw.get("sheet")):  # any encoding, Parquet, a workbook's table
                header = read_header(file)
            absent = sorted(c for c in mapping if c not in header)
            if absent:
                raise ProjectError(
                    _message(
                        project,
                        ("sources", index, "map"),
                        f"{file.name} has no column {', '.join(map(repr, absent))}",
                        f"use columns of the file: {', '.join(header[:15])}.",
                    )
                )
    return Source(
        files=files,
        format=raw.get("format"),
        mapping=mapping,
        constants=dict(raw.get("set", {})),
        licence=raw.get("licence"),
        attribution=raw.get("attribution"),
        sheet=raw.get("sheet"),
    )


def _check_files(project: Project) -> None:
    doc = project.document
    for i, context in enumerate(doc.get("areas", {}).get("context", [])):
        if not (project.path.parent / context).is_file():
            raise ProjectError(_message(project, ("areas", "context", i), f"no file {context!r}", "correct the path."))
    for name, pattern in doc.get("records", {}).get("sources", {}).items():
        if not glob.glob(str(project.path.parent / pattern), recursive=True):
            raise ProjectError(
                _message(
                    project,
                    ("records", "sources", name),
                    f"no file matches {pattern!r}",
                    "correct the path or glob; paths are relative to the project file.",
                )
            )
    for key in (
        ("spend", "path"),
        ("geography", "boundaries"),
        ("international", "path"),
        ("records", "population"),
        ("records", "areas"),
    ):
        value = doc.get(key[0], {}).get(key[1])
        if value is not None and not (project.path.parent / value).is_file():
            raise ProjectError(
                _message(project, key, f"no file {value!r}", "correct the path; paths are relative to the project file.")
            )
    if doc.get("geography", {}).get("layer") and not doc.get("geography", {}).get("boundaries"):
        raise ProjectError(
            _message(project, ("geography", "layer"), "a layer needs a boundaries file", "add geography.boundaries.")
        )
    from publicservices.geography import COMPARABLE_SETS

    for i, s in enumerate(doc.get("geography", {}).get("comparable_sets", [])):
        if s not in COMPARABLE_SETS:
            raise ProjectError(
                _message(
                    project,
                    ("geography", "comparable_sets", i),
                    f"unknown comparable set {s!r}",
                    f"use one of {', '.join(COMPARABLE_SETS)}.",
                )
            )
    services = doc.get("spend", {}).get("services", {})
    if services:
        sectors = _known_sectors(doc)
        unknown = sorted({v for v in services.values() if v not in sectors})
        if unknown:
            raise ProjectError(
                _message(
                    project,
                    ("spend", "services"),
                    f"service line(s) map to no sector: {', '.join(map(repr, unknown))}",
                    f"map each spend line to a sector: {', '.join(sorted(sectors))}.",
                )
            )


def _known_sectors(doc: Mapping[str, Any]) -> set[str]:
    from publicservices.errors import PluginError
    from publicservices.plugins import get_registry

    try:
        sectors = {i.sector for i in get_registry().indicators().values()}
    except PluginError:
        sectors = set()
    return sectors | {str(i.get("sector") or i["id"].split(".")[0]) for i in doc.get("indicators", [])}


def _definitions(raw: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Full definitions for the project's indicators that no plugin registers."""
    from publicservices.errors import PluginError
    from publicservices.indicators import Indicator
    from publicservices.plugins import get_registry

    try:
        registered = get_registry().indicators()
    except PluginError:
        registered = {}
    out = {}
    for item in raw:
        if item["id"] in registered:
            continue
        item = {"sector": item["id"].split(".")[0], "title": item["id"], "measure": "score", **item}
        out[item["id"]] = Indicator.from_dict(item)
    return out


def _with_indicators(dataset: Any, overrides: Sequence[Mapping[str, Any]]) -> Any:
    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator

    defs = dict(dataset.indicators)
    for raw in overrides:
        raw = dict(raw)
        if raw["id"] in defs:
            defs[raw["id"]] = dataclasses.replace(defs[raw["id"]], **{k: v for k, v in raw.items() if k != "id"})
        else:
            raw.setdefault("sector", raw["id"].split(".")[0])
            raw.setdefault("title", raw["id"])
            raw.setdefault("measure", "score")
            defs[raw["id"]] = Indicator.from_dict(raw)
    return Dataset(dataset.values, dataset.areas, dataset.spend, defs, metadata=dataset.metadata)


def _message(project: Project, key: Sequence[Any], what: str, fix: str) -> str:
    return key_message(project.path, project.text, key, what, fix)
