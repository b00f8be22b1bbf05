"""``publish()``: a dataset in, a static comparison website out (see :mod:`publicservices.site.build`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.errors import DataError
from publicservices.site import build
from publicservices.site.progress import Progress

MB = 1024 * 1024


@dataclasses.dataclass
class PublishResult:
    """What ``publish`` did: where, how many pages and files, and the input's hash."""

    out: Path
    built: bool
    pages: int
    files: int
    bytes: int
    seconds: float
    data_hash: str
    areas: int
    indicators: list[str]  # the indicators published (each compared within one or more sets of areas)
    notes: list[str]

    def summary(self) -> str:
        return _printable(self._summary())

    def _summary(self) -> str:
        size = f"{self.bytes / MB:,.1f} MB"
        where = self.out.as_posix()
        if self.built:
            n = len(self.indicators)
            lines = [
                f"Published {self.pages:,} pages ({self.files:,} files, {size}) for {self.areas:,} area{'s' * (self.areas != 1)} and "
                f"{n} indicator{'s' * (n != 1)} in {self.seconds:.1f} s.",
                f"Open {where}/index.html in a browser, or serve the folder: python -m http.server -d {where}",
            ]
        else:
            lines = [
                f"Wrote the docs tree of {self.pages:,} pages ({self.files:,} files, {size}) in {self.seconds:.1f} s to {where}/.",
                f"Build it with: mkdocs build -f {where}/mkdocs.yml",
            ]
        lines.append(f"Data hash: sha256 {self.data_hash}")
        if self.notes:
            lines.append(f"{len(self.notes)} note{'s' if len(self.notes) != 1 else ''} (also on the methodology page):")
            lines += [f"  - {n}" for n in self.notes[:10]]
            if len(self.notes) > 10:
                lines.append(f"  ... and {len(self.notes) - 10} more")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


# Sizes beyond which a static comparison site stops being usable, or the build would need
# more than a few GB: refuse early with the limit rather than run out of memory.
MAX_VALUE_ROWS = 5_000_000
MAX_AREAS = 20_000
MAX_TEXT = 1_000  # characters in an area name or indicator title


def _printable(text: str) -> str:
    """Text safe to print to a terminal: control characters (escape sequences) shown as \\xNN."""
    return "".join(ch if ch in "\n\t" or (ch >= " " and not "\x7f" <= ch <= "\x9f") else f"\\x{ord(ch):02x}" for ch in text)


def check_size(dataset: Dataset) -> None:
    """Refuse inputs too large for a static site, naming the limit and what to do."""
    if dataset.values.height > MAX_VALUE_ROWS:
        raise DataError(
            f"the data has {dataset.values.height:,} value rows; a site can publish at most {MAX_VALUE_ROWS:,}.\n"
            "Fix: publish some sectors or indicators (--sector, --indicator), or fewer periods."
        )
    units = dataset.areas.height
    if units > MAX_AREAS:
        raise DataError(
            f"the data has {units:,} areas; a site can have at most {MAX_AREAS:,} area pages.\n"
            "Fix: publish one comparable set at a time (--comparable-set) or a subset of areas."
        )
    long_names = (
        dataset.areas.filter(pl.col("area_name").str.len_chars() > MAX_TEXT) if "area_name" in dataset.areas.columns else None
    )
    if long_names is not None and long_names.height:
        codes = ", ".join(long_names.get_column("area_code").head(5).to_list())
        raise DataError(
            f"column 'area_name' has names longer than {MAX_TEXT:,} characters ({codes}).\n"
            "Fix: correct the names in the source file."
        )
    long_titles = [i for i, ind in dataset.indicators.items() if len(ind.title) > MAX_TEXT]
    if long_titles:
        raise DataError(
            f"indicator titles longer than {MAX_TEXT:,} characters: {', '.join(long_titles[:5])}.\n"
            "Fix: give the indicators short titles (the definition can be long)."
        )


def load_source(source: Any, notes: list[str]) -> Dataset:
    """A Dataset from a Dataset, a dataset folder, a data file (through the readers), or None (the demo).

    A project file (``.toml``) is handled by :func:`publish` itself (it carries options too).
    """
    if source is None:
        from publicservices.synthetic import demo

        return demo()
    if isinstance(source, Dataset):
        return source
    path = Path(source)
    if path.is_dir():
        return Dataset.from_dir(path)
    if not path.is_file():
        raise DataError(
            f"SOURCE: {str(path)!r} does not exist.\nFix: pass a dataset folder, a data file, or nothing for the demo."
        )
    from publicservices.reading import read

    result = read(path)
    notes += [line for line in result.report.summary().splitlines()[1:] if line.strip()]
    return result.to_dataset()


def _international_tables(given: Any, project: Any, notes: list[str]) -> list[Any] | None:
    """The international comparator tables given, read (None when none were given)."""
    if not given:
        return None
    from publicservices.plugins import registered_comparators
    from publicservices.site.international import read_tables

    paths = [given] if isinstance(given, (str, Path)) else list(given)
    for path in paths:
        if not Path(path).is_file():
            raise DataError(
                f"--international: {str(path)!r} does not exist.\nFix: pass an international comparator table "
                "(country, year, value, standard error), such as the OECD PISA means."
            )
    fmt = project.international_format() if project is not None else None
    return read_tables(paths, registered_comparators(), notes, format=fmt)


def publish(
    source: Any = None,
    out: str | Path = "site",
    *,
    title: str | None = None,
    sectors: Sequence[str] = (),
    indicators: Sequence[str] = (),
    area_types: Sequence[str] = (),
    comparable_sets: Sequence[str] = (),
    benchmark: str | float = "national",
    boundaries: str | Path | None = None,
    layer: str | None = None,
    suppress_threshold: int = 5,
    overdispersion: str = "auto",
    base_url: str | None = None,
    generate_only: bool = False,
    progress: Progress | None = None,
    international: str | Path | Sequence[str | Path] | None = None,
) -> PublishResult:
    """Build the static comparison website of ``source`` into ``out``.

    Parameters:
        source: a :class:`Dataset`, a dataset folder (``Dataset.to_dir``), a data file a
            reader recognises, a site project file (``.toml``, see :mod:`publicservices.project`;
            its keys are the defaults of the arguments below), or None for the demo nation.
        out: the site folder. Only the files an earlier publish wrote (listed in its
            manifest) are replaced, and only when the whole build succeeds; anything else in it
            (a CNAME, a .git folder, your own files) is kept.
        title: the site's title (default: the dataset's).
        sectors, indicators: publish only these (default: everything).
        area_types: compare only areas of these types (default: every area that is not a
            total of others, such as a region or the nation).
        comparable_sets: compare only within these sets of areas (``upper_tier``,
            ``lower_tier``, ``police_force_area`` ...; default: one comparison per set present).
        benchmark: ``"national"``, ``"region"``, an area code or a number.
        boundaries, layer: a TopoJSON/GeoJSON file (and TopoJSON layer) for maps.
        suppress_threshold: counts below it are suppressed, with secondary suppression (0: off).
        overdispersion: funnel limits when areas vary more than chance explains: ``"auto"``
            (test it, Spiegelhalter 2005, and use additive random-effects limits when it is
            significant), ``"none"``, ``"additive"`` or ``"multiplicative"``. Every count on
            every page comes from the limits the funnel shows.
        base_url: where the site will be served (canonical links, the download snippet).
        generate_only: write ``mkdocs.yml`` and ``docs/`` into ``out`` without building.
        progress: a :class:`~publicservices.site.progress.Progress` (the CLI shows bars).
        international: an international comparator table (country, year, value, standard
            error: the OECD PISA means, for example), or several. The registered comparators
            that match it (``publicservices.registered_comparators()``, declared by sector
            plugins) get an "International comparison" page: the country's difference from
            each other country and their average, with intervals, and its rank with a
            confidence set. A table that cannot be used gets the page with the reason.

    Example:
        >>> import tempfile, pathlib
        >>> from publicservices.site.sample import sample_dataset
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "site"
        >>> publish(sample_dataset(n_areas=4, n_periods=2), out, generate_only=True).pages  # home, 2 sectors, 2 value, 2 indexes, 3 indicators, 4 areas, 5 more
        19
    """
    from publicservices._extras import require

    # Before any work: a base install (no [site] extra) has neither MkDocs nor vl-convert.
    require("publishing the website", ["vl_convert"] if generate_only else ["mkdocs", "material", "vl_convert"])
    from publicservices.site.model import build_model
    from publicservices.site.write import write_site
    from publicservices.site.writer import DocsWriter

    started = time.perf_counter()
    progress = progress or Progress()
    project_file = None
    from publicservices.project import Project

    if isinstance(source, Project) or (isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".toml"):
        from publicservices.project import load_project

        # A project file gives every option; arguments given here (the CLI's flags) win.
        project_file = source if isinstance(source, Project) else load_project(source)
        given = project_file.publish_options()
        title, sectors, indicators = title or given["title"], sectors or given["sectors"], indicators or given["indicators"]
        area_types, comparable_sets = area_types or given["area_types"], comparable_sets or given["comparable_sets"]
        boundaries, layer, base_url = boundaries or given["boundaries"], layer or given["layer"], base_url or given["base_url"]
        benchmark = given["benchmark"] if benchmark == "national" else benchmark
        suppress_threshold = given["suppress_threshold"] if suppress_threshold == 5 else suppress_threshold
        overdispersion = given.get("overdispersion", overdispersion) if overdispersion == "auto" else overdispersion
        international = international or given.get("international")
    shown = Path(out)  # as the user wrote it, for the summary
    out = shown.absolute()
    base_url = build.check_base_url(base_url)  # a plain http(s) address or path: MkDocs writes it unescaped into every page
    build.check_out(out)
    if suppress_threshold < 0:
        raise DataError("--suppress-threshold must be 0 or more.\nFix: use 5 (the default) or 0 to turn suppression off.")
    notes: list[str] = []
    dataset = project_file.dataset(notes) if project_file is not None else load_source(source, notes)
    check_size(dataset)
    tables = _international_tables(international, project_file, notes)
    geo = None
    if boundaries is not None:
        from publicservices.site.boundaries import read_boundaries
        from publicservices.site.selection import compared_areas

        geo = read_boundaries(Path(boundaries), compared_areas(dataset, area_types).get_column("area_code").to_list(), layer)
    elif layer:
        raise DataError("--layer needs --boundaries.\nFix: pass the TopoJSON file with --boundaries.")
    model = build_model(
        dataset,
        sectors=sectors,
        indicators=indicators,
        area_types=area_types,
        comparable_sets=comparable_sets,
        benchmark=benchmark,
        overdispersion=overdispersion,
        suppress_threshold=suppress_threshold,
        area_names=geo.names if geo else None,
        progress=progress,
        international=tables,
    )
    model.notes[:0] = notes
    from publicservices.site.audit import AuditError, audit_model, audit_output

    violations = audit_model(model)
    if violations:
        raise AuditError(violations)
    site_title = title or str(dataset.metadata.get("title") or "Public services compared")
    with build.staging(out) as scratch:
        project = scratch / "project"
        writer = DocsWriter(project, hold_pages=None if generate_only else "docs/")  # a build reads its pages from memory
        versions = build.versions(model)  # the plugins this data used, not every one installed
        from publicservices.charts import detached_data

        with detached_data():  # charts keep their rows aside until their spec is written
            pages = write_site(
                model, writer, title=site_title, boundaries=geo, base_url=base_url, versions=versions, progress=progress
            )
        latest = model.dataset.values.get_column("period_start").max()
        manifest = {
            "generator": "publicservices publish",
            "title": site_title,
            "methods_version": "site-1",
            "data_sha256": model.data_hash,
            "areas": model.areas.height,
            "indicators": list(model.indicators),
            "pages": pages,
            "versions": versions,
            "options": {
                **model.options,
                "boundaries": Path(boundaries).name if boundaries else None,
                "layer": layer,
                "base_url": base_url,
            },
        }
        body = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
        if generate_only:
            (project / build.MANIFEST).write_text(body, encoding="utf-8")
            result_dir = project
        else:
            site_dir = scratch / "site"
            with progress.stage("mkdocs build", pages) as advance:
                build.run_mkdocs(
                    project / "mkdocs.yml",
                    site_dir,
                    advance,
                    build.epoch_of(latest if isinstance(latest, dt.date) else None),
                    pages=writer.held,
                )
            writer.held.clear()
            (site_dir / build.MANIFEST).write_text(body, encoding="utf-8")
            result_dir = site_dir
        violations = audit_output(model, result_dir)
        if violations:
            raise AuditError(violations)
        size = (result_dir / build.MANIFEST).stat().st_size
        with progress.stage("swap into place", 1) as advance:
            files = build.swap_into_place(result_dir, out, scratch)  # every file but the manifest, with its size
            advance()
        size += sum(f["bytes"] for f in files.values())
    return PublishResult(
        out=shown,
        built=not generate_only,
        pages=pages,
        files=len(files) + 1,  # and the manifest
        bytes=size,
        seconds=time.perf_counter() - started,
        data_hash=model.data_hash,
        areas=model.areas.height,
        indicators=list(dict.fromkeys(ind for ind, _ in model.comparisons.values())) or list(model.indicators),
        notes=list(model.notes),
    )
