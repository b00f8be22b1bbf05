"""Writing a starter site project file from the data files a publisher names."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["starter_project"]


def starter_project(paths: Sequence[str | Path], out: Path) -> tuple[str, list[str]]:
    """The text of a starter project file for ``paths``, and a summary of what was found."""
    from publicservices.comparison import comparison_values, set_label
    from publicservices.errors import PublicServicesError as Error
    from publicservices.reading import read

    lines = [
        "# publicservices site project: edit, then run `publicservices publish " + out.name + "`.",
        "# Keys: see the publisher guide. Paths are relative to this file.",
        "",
        "[site]",
        'title = "Public services compared"',
        "",
        "[judgement]",
        "suppress_threshold = 5",
        'overdispersion = "auto"',
        "",
    ]
    summary: list[str] = []
    boundaries: Path | None = None
    context: list[Path] = []
    spend: Path | None = None
    for path, sheet in _sources(paths):
        rel = _relative(path, out.parent)
        label = f"{path.name} ({sheet})" if sheet else path.name
        try:
            result = read(path, sheet=sheet)
        except Error as exc:
            summary.append(f"{label}: not read ({str(exc).splitlines()[0]})")
            lines += [f"# {label} could not be read: {str(exc).splitlines()[0]}", ""]
            continue
        reader = result.report.reader
        if reader == "topojson-areas":
            boundaries = path
            summary.append(f"{path.name}: boundaries (for maps)")
            continue
        if result.spend is not None and result.spend.height:
            spend = path
            summary.append(f"{path.name}: spend ({result.spend.get_column('service').n_unique()} service lines)")
            continue
        dataset = result.to_dataset()
        outcomes = {i: d for i, d in dataset.indicators.items() if getattr(d, "role", "outcome") != "context"}
        if not outcomes:
            context.append(path)
            summary.append(f"{path.name}: area context (deprivation or population)")
            continue
        _, layout = comparison_values(dataset.values, dataset.areas)
        sets = layout.all_sets()
        lines += [
            "[[sources]]",
            f"path = {_toml(rel)}",
            *([f"sheet = {_toml(sheet)}"] if sheet else []),
            f"format = {_toml(reader)}",
            f"# areas: {'; '.join(set_label(s) for s in sets) or 'none recognised'}",
        ]
        for ind in outcomes.values():
            direction = {"higher_is_better": "higher is better", "lower_is_better": "lower is better"}.get(
                ind.polarity, "DIRECTION UNKNOWN: set it below, or it is compared as higher/lower only"
            )
            lines.append(f"# indicator {ind.id}: {ind.title} ({direction})")
        lines.append("")
        unknown = [d for d in outcomes.values() if not d.has_polarity]
        for ind in unknown:
            lines += [
                "# [[indicators]]",
                f"# id = {_toml(ind.id)}",
                '# polarity = "higher_is_better"  # or "lower_is_better"',
                "",
            ]
        summary.append(
            f"{label}: {reader}, {len(outcomes)} indicator(s), {len(unknown)} without a known direction; "
            f"areas: {', '.join(sets) or 'none'}"
        )
    if context:
        lines += ["[areas]", f"context = [{', '.join(_toml(_relative(p, out.parent)) for p in context)}]", ""]
    if spend is not None:
        lines += [
            "[spend]",
            f"path = {_toml(_relative(spend, out.parent))}",
            '# services = { "Education services" = "schools", "Police services" = "policing" }',
            "",
        ]
    lines += ["[geography]"]
    if boundaries is not None:
        lines += [f"boundaries = {_toml(_relative(boundaries, out.parent))}", 'layer = "utla"']
    lines += ['benchmark = "national"', '# comparable_sets = ["upper_tier"]', ""]
    return "\n".join(lines), summary


def _sources(paths: Sequence[str | Path]) -> list[tuple[Path, str | None]]:
    """Each file to read, and its sheet: a workbook with tables on several sheets is one source per sheet."""
    from publicservices.workbooks import WORKBOOK_SUFFIXES, data_sheets

    out: list[tuple[Path, str | None]] = []
    for raw in paths:
        path = Path(raw)
        sheets: list[str] = []
        if path.suffix.lower() in WORKBOOK_SUFFIXES:
            with contextlib.suppress(Exception):  # reading it below says what is wrong with it
                sheets = data_sheets(path)
        out += [(path, s) for s in sheets] if len(sheets) > 1 else [(path, None)]
    return out


def _relative(path: Path, base: Path) -> str:
    import os

    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _toml(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
