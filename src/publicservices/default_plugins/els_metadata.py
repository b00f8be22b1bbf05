"""ELS metadata sidecars (``x/x.json``): reading one, and finding the one that describes a CSV."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publicservices.default_plugins.els_layout import norm_name
from publicservices.errors import MetadataError

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.reading import LoadReport

__all__ = ["METADATA_FOLDER", "ElsMetadata", "read_els_metadata", "find_els_metadata", "Sidecar", "find_sidecar"]

METADATA_FOLDER = "els_metadata"


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
        return {norm_name(single.label): single}, single
    shared = meta.get("shared") if isinstance(meta.get("shared"), dict) else {}
    entries: dict[str, ElsMetadata] = {}
    for key, block in blocks.items():
        entry = ElsMetadata.from_block(key, block, shared)
        entries[norm_name(key)] = entry
        if entry.label:
            entries.setdefault(norm_name(entry.label), entry)
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


@dataclasses.dataclass
class Sidecar:
    """A metadata sidecar found for one CSV: its entries and where it was found (for the report)."""

    entries: dict[str, ElsMetadata]
    single: ElsMetadata | None
    where: str

    def entry(self, name: str, n_names: int) -> ElsMetadata | None:
        found = self.entries.get(norm_name(name))
        if found is None and self.single is not None and n_names == 1:
            found = self.single  # one indicator in the file and one in the sidecar: the same, whatever its name
        return found


def find_sidecar(path: Path, unmapped: Sequence[str], metadata: str | Path | bool | None, report: LoadReport) -> Sidecar | None:
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
        return Sidecar(entries, single, shown(candidate))
    if not candidates and metadata is None:
        # ELS files renamed on copying: a sidecar in els_metadata/ that names this file's indicators.
        wanted = {norm_name(n) for n in unmapped}
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
            return Sidecar(best[2], best[3], f"{shown(best[1])} (found by indicator name)")
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
