"""A Dataset: indicator values, areas, spend and indicator definitions, validated together.

Example:
    >>> import polars as pl
    >>> from publicservices import Dataset, Indicator
    >>> ind = Indicator(id="demo.x", title="X", sector="demo", measure="proportion", multiplier=100)
    >>> ds = Dataset(values=pl.DataFrame({"indicator_id": ["demo.x"], "area_code": ["A1"], "period": ["2023"],
    ...                                   "numerator": [3.0], "denominator": [10.0]}),
    ...              indicators=[ind])
    >>> ds
    Dataset: 1 indicator, 1 area, 1 period (2023 to 2023), 1 value row
      demo: demo.x
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError
from publicservices.frame import AREAS, SPEND, validate_areas, validate_spend, validate_values
from publicservices.indicators import Indicator

__all__ = ["Dataset"]

_FORMAT_VERSION = 1


class Dataset:
    """Values + areas + spend + indicator definitions (+ ``truth`` for synthetic data).

    Parameters:
        values: values frame (anything :func:`~publicservices.frame.validate_values` accepts).
        areas: areas frame; defaults to one row per area code in ``values`` with no attributes.
        spend: spend frame; defaults to empty.
        indicators: definitions, as a mapping by id or an iterable of :class:`Indicator`; ids
            missing here are looked up among the registered (plugin) indicators.
        truth: the true parameters of a simulated dataset (frames or JSON-able values).
        metadata: title, source, ``synthetic`` flag and similar.
    """

    def __init__(
        self,
        values: Any,
        areas: Any = None,
        spend: Any = None,
        indicators: Mapping[str, Indicator] | Iterable[Indicator] | None = None,
        *,
        truth: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        frame = validate_values(values)
        self.indicators: dict[str, Indicator] = _resolve_indicators(frame, indicators)
        self.values: pl.DataFrame = validate_values(frame, self.indicators)
        self.areas: pl.DataFrame = (
            validate_areas(areas)
            if areas is not None
            else AREAS.empty().vstack(
                pl.DataFrame({"area_code": self.values.get_column("area_code").unique(maintain_order=True)})
                .with_columns([pl.lit(None, dtype=dt).alias(c) for c, dt in AREAS.columns.items() if c != "area_code"])
                .select(list(AREAS.columns))
            )
        )
        # Every area gets its level (country, region, shire county ...), role (unit or
        # benchmark) and parents: what may be compared with what is decided from these.
        from publicservices.comparison import with_geography

        self.areas = with_geography(self.areas)
        self.spend: pl.DataFrame = validate_spend(spend) if spend is not None else SPEND.empty()
        self.truth: dict[str, Any] = dict(truth or {})
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._check_areas_known()

    def _check_areas_known(self) -> None:
        known = self.areas.get_column("area_code")
        unknown = self.values.filter(~pl.col("area_code").is_in(known.implode()))
        if unknown.height:
            codes = unknown.get_column("area_code").unique(maintain_order=True)
            raise DataError(
                f"values: column 'area_code' holds {codes.len():,} code(s) absent from the areas frame "
                f"({', '.join(codes.head(5).to_list())}{' ...' if codes.len() > 5 else ''}) in {unknown.height:,} rows.\n"
                "Fix: add those areas to the areas frame (a row with just area_code is enough), or filter the values."
            )

    # -- views ---------------------------------------------------------------------------

    @property
    def periods(self) -> list[str]:
        """Period labels in time order."""
        return (
            self.values.group_by("period")
            .agg(pl.col("period_start").min())
            .sort("period_start", "period")
            .get_column("period")
            .to_list()
        )

    @property
    def sectors(self) -> list[str]:
        return sorted({ind.sector for ind in self.indicators.values()})

    @property
    def synthetic(self) -> bool:
        return bool(self.metadata.get("synthetic"))

    def indicator(self, indicator_id: str) -> Indicator:
        try:
            return self.indicators[indicator_id]
        except KeyError:
            raise DataError(
                f"no indicator {indicator_id!r} in this dataset.\nFix: use one of {', '.join(sorted(self.indicators))}."
            ) from None

    def filter(
        self,
        *,
        sector: str | Iterable[str] | None = None,
        indicators: str | Iterable[str] | None = None,
        areas: str | Iterable[str] | None = None,
        periods: str | Iterable[str] | None = None,
    ) -> Dataset:
        """A new Dataset restricted to some sectors, indicators, areas or periods.

        Unknown names raise rather than silently giving an empty dataset, with the close
        matches; areas may be given by code or by name.
        """
        keep_ids = set(self.indicators)
        if sector is not None:
            sectors = _as_set(sector)
            _check_known("sector", sectors, set(self.sectors))
            keep_ids &= {i for i, ind in self.indicators.items() if ind.sector in sectors}
        if indicators is not None:
            wanted = _as_set(indicators)
            _check_known("indicator", wanted, set(self.indicators))
            keep_ids &= wanted
        values = self.values.filter(pl.col("indicator_id").is_in(sorted(keep_ids)))
        area_frame, spend = self.areas, self.spend
        if areas is not None:
            from publicservices.naming import area_codes

            wanted = set(area_codes(sorted(_as_set(areas)), self.areas, function="Dataset.filter"))
            values = values.filter(pl.col("area_code").is_in(sorted(wanted)))
            area_frame = area_frame.filter(pl.col("area_code").is_in(sorted(wanted)))
            spend = spend.filter(pl.col("area_code").is_in(sorted(wanted)))
        if periods is not None:
            wanted = _as_set(periods)
            _check_known("period", wanted, set(self.periods))
            values = values.filter(pl.col("period").is_in(sorted(wanted)))
            spend = spend.filter(pl.col("period").is_in(sorted(wanted)))
        if sector is not None or indicators is not None:
            services = {ind.service for i, ind in self.indicators.items() if i in keep_ids}
            spend = spend.filter(pl.col("service").is_in(sorted(s for s in services if s)))
        return Dataset(
            values=values,
            areas=area_frame,
            spend=spend,
            indicators={i: self.indicators[i] for i in sorted(keep_ids)},
            truth=self.truth,
            metadata=self.metadata,
        )

    # -- storage -------------------------------------------------------------------------

    def to_dir(self, path: str | Path) -> Path:
        """Write Parquet frames plus ``dataset.json`` (definitions, metadata, truth)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.values.write_parquet(path / "values.parquet")
        self.areas.write_parquet(path / "areas.parquet")
        self.spend.write_parquet(path / "spend.parquet")
        truth_json: dict[str, Any] = {}
        for name, item in self.truth.items():
            if isinstance(item, pl.DataFrame):
                (path / "truth").mkdir(exist_ok=True)
                item.write_parquet(path / "truth" / f"{_safe_name(name)}.parquet")
                truth_json[name] = {"$frame": f"truth/{_safe_name(name)}.parquet"}
            else:
                truth_json[name] = item
        document = {
            "format": "publicservices-dataset",
            "version": _FORMAT_VERSION,
            "indicators": [ind.to_dict() for ind in self.indicators.values()],
            "metadata": self.metadata,
            "truth": truth_json,
        }
        (path / "dataset.json").write_text(json.dumps(document, indent=2, sort_keys=True, default=str), encoding="utf-8")
        return path

    @classmethod
    def from_dir(cls, path: str | Path) -> Dataset:
        """Read a folder written by :meth:`to_dir`."""
        path = Path(path)
        meta_file = path / "dataset.json"
        if not meta_file.exists():
            raise SchemaError(
                f"{str(path)!r} is not a dataset folder: it has no dataset.json.\n"
                "Fix: point at a folder written by Dataset.to_dir(), or read a data file with publicservices.read()."
            )
        try:
            document = json.loads(meta_file.read_text(encoding="utf-8"))
            indicators = [Indicator.from_dict(d) for d in document["indicators"]]
            truth_items = dict(document.get("truth", {}))
            metadata = dict(document.get("metadata", {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise SchemaError(
                f"{meta_file}: not a readable dataset description ({type(exc).__name__}: {str(exc)[:200]}).\n"
                "Fix: write the folder again with Dataset.to_dir(); dataset.json needs an 'indicators' list."
            ) from None

        def frame(name: str) -> pl.DataFrame:
            # Only files inside the folder: a crafted dataset.json must not read elsewhere.
            target = (path / name).resolve()
            if not target.is_relative_to(path.resolve()) or target.suffix != ".parquet":
                raise SchemaError(
                    f"{meta_file}: {name!r} is outside the dataset folder or not a Parquet file.\n"
                    "Fix: frames of a dataset folder live inside it (truth/<name>.parquet)."
                )
            try:
                return pl.read_parquet(target)
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise SchemaError(
                    f"{path}: {name} is missing or not a Parquet file ({type(exc).__name__}).\n"
                    "Fix: write the folder again with Dataset.to_dir()."
                ) from None

        truth = {
            name: frame(item["$frame"]) if isinstance(item, dict) and isinstance(item.get("$frame"), str) else item
            for name, item in truth_items.items()
        }
        return cls(
            values=frame("values.parquet"),
            areas=frame("areas.parquet"),
            spend=frame("spend.parquet"),
            indicators=indicators,
            truth=truth,
            metadata=metadata,
        )

    # -- display -------------------------------------------------------------------------

    def _summary_line(self) -> str:
        n_ind, n_area = len(self.indicators), self.areas.height
        periods = self.periods
        span = f" ({periods[0]} to {periods[-1]})" if periods else ""
        label = "Synthetic dataset" if self.synthetic else "Dataset"
        return (
            f"{label}: {n_ind} indicator{'s' * (n_ind != 1)}, {n_area} area{'s' * (n_area != 1)}, "
            f"{len(periods)} period{'s' * (len(periods) != 1)}{span}, {self.values.height:,} value row{'s' * (self.values.height != 1)}"
        )

    def _by_sector(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for ind in self.indicators.values():
            out.setdefault(ind.sector, []).append(ind.id)
        return dict(sorted(out.items()))

    def __repr__(self) -> str:
        lines = [self._summary_line()]
        for sector, ids in self._by_sector().items():
            shown = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
            lines.append(f"  {sector}: {shown}")
        if self.spend.height:
            lines.append(f"  spend: {self.spend.height:,} rows over {self.spend.get_column('service').n_unique()} services")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(sector)}</th><td>{len(ids)}</td>"
            f"<td>{html.escape(', '.join(self.indicators[i].title for i in ids[:3]))}{' …' if len(ids) > 3 else ''}</td></tr>"
            for sector, ids in self._by_sector().items()
        )
        return (
            "<div class='publicservices-dataset' style='font-family:inherit;color:inherit'>"
            f"<p><strong>{html.escape(self._summary_line())}</strong></p>"
            "<table style='border-collapse:collapse;color:inherit;background:transparent'>"
            "<thead><tr><th>sector</th><th>indicators</th><th>for example</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )


def _resolve_indicators(
    values: pl.DataFrame, indicators: Mapping[str, Indicator] | Iterable[Indicator] | None
) -> dict[str, Indicator]:
    given: dict[str, Indicator] = {}
    if indicators is not None:
        items = indicators.values() if isinstance(indicators, Mapping) else indicators
        for ind in items:
            if not isinstance(ind, Indicator):
                raise SchemaError(
                    f"indicators must be Indicator objects, got {type(ind).__name__}.\nFix: build them with publicservices.Indicator(...)."
                )
            given[ind.id] = ind
    used = values.get_column("indicator_id").unique(maintain_order=True).to_list()
    missing = [i for i in used if i not in given]
    if missing:
        from publicservices.plugins import get_registry

        registry = get_registry()
        registered = registry.indicators()
        for i in missing:
            if i in registered:
                given[i] = registered[i]
            elif (err := registry.explain_missing("indicator", i)) is not None:
                raise err  # a disabled or clashing plugin provides it: say which, not "unknown id"
    # Definitions for indicators with no rows are kept: a filter can legitimately empty one.
    return dict(sorted(given.items()))


def _as_set(value: str | Iterable[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _check_known(kind: str, wanted: set[str], known: set[str]) -> None:
    missing = sorted(wanted - known)
    if missing:
        from publicservices.naming import unknown

        raise unknown(kind, missing, known, function="Dataset.filter")


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:100] or "item"
