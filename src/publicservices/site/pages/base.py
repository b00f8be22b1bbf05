"""What every kind of page shares: links, figures, the latest values and their fifths, the benchmark."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from publicservices.indicators import Indicator
from publicservices.site import specs
from publicservices.site.boundaries import Boundaries
from publicservices.site.markup import chart, link
from publicservices.site.model import SiteModel
from publicservices.site.pages.words import NATIONS, Benchmark
from publicservices.site.safety import html_text


@dataclasses.dataclass
class PagesBase:
    """The site model and what every page shares."""

    model: SiteModel
    title: str
    boundaries: Boundaries | None = None
    base_url: str | None = None
    charts: specs.ChartScripts = dataclasses.field(default_factory=specs.ChartScripts)

    # -- shared pieces ------------------------------------------------------------------

    def area_link(self, page: str, code: str, fallback: str | None = None) -> str:
        slug = self.model.slugs.get(code)
        name = self.model.area_name(code)
        if name == code and fallback:
            name = fallback
        return link(page, f"areas/{slug}.html", name) if slug and code in self._compared else html_text(name)

    @property
    def _compared(self) -> set[str]:
        if not hasattr(self, "_compared_cache"):
            self._compared_cache = set(self.model.areas.get_column("area_code").to_list())
        return self._compared_cache

    def _area_pages(self) -> dict[str, str]:
        """Each compared area's page, from the site's root."""
        if not hasattr(self, "_area_pages_cache"):
            self._area_pages_cache = {c: f"areas/{self.model.slugs[c]}.html" for c in self._compared if c in self.model.slugs}
        return self._area_pages_cache

    def indicator_link(self, page: str, ind: Indicator) -> str:
        return link(page, f"indicators/{ind.id}.html", ind.title)

    def figure(
        self,
        page: str,
        script: str,
        key: str,
        spec: dict[str, Any] | None,
        summary: str,
        label: str,
        data: str | None = None,
        inline: dict[str, Any] | None = None,
        shared: Sequence[str] = (),
    ) -> str:
        if spec is not None:  # area marks link to the areas' pages and can be highlighted (issue 18)
            self.charts.add(script, key, specs.link_areas(spec, page, self._area_pages()))
        links = {"Download the data (CSV)": data} if data else {}
        return chart(page=page, key=key, load=[*shared, script], label=label, summary=summary, links=links, inline=inline) + "\n"

    def with_fifths(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with the model's fifths of areas by value (``quintile``, ``quintile_label``).

        The model adds them to its results (:func:`publicservices.stats.value_quintiles`);
        a model without them gets the same call here, on the same groups.
        """
        if "quintile_label" in frame.columns or "value" not in frame.columns:
            return frame
        from publicservices.stats import value_quintiles

        return value_quintiles(frame)

    def latest_frame(self) -> pl.DataFrame:
        """Each indicator's latest period, every compared area, with fifths of areas by value."""
        if not hasattr(self, "_latest_cache"):
            self._latest_cache = self.with_fifths(self.model.latest_rows())
        return self._latest_cache

    def benchmark(self, ind: Indicator, rows: pl.DataFrame) -> Benchmark:
        """The benchmark every section of an indicator's page uses: the model's ``benchmark_value`` of its latest period."""
        m = self.model
        period = m.latest[ind.id]
        values = rows.get_column("benchmark_value").drop_nulls().unique() if "benchmark_value" in rows.columns else pl.Series([])
        codes = rows.get_column("benchmark_code").drop_nulls().unique().to_list() if "benchmark_code" in rows.columns else []
        chosen = m.options.get("benchmark", "national")
        if values.len() > 1:
            name = "each area's region" if str(chosen).lower() in ("region", "parent") else "each area's own benchmark"
            return Benchmark(name, None, period, varies=True)
        value = values[0] if values.len() else None
        if len(codes) == 1:
            name = self._all_names().get(codes[0]) or codes[0]
        elif isinstance(chosen, (int, float)):
            name = "a fixed value"
        elif str(chosen).lower() == "national":
            name = "all areas combined"
        else:
            name = self._all_names().get(str(chosen)) or str(chosen)
        return Benchmark(name, value, period)

    def _all_names(self) -> dict[str, str]:
        if not hasattr(self, "_all_names_cache"):
            names: dict[str, str] = dict(NATIONS)
            if self.boundaries is not None:
                names.update(getattr(self.boundaries, "names", {}) or {})
            areas = self.model.dataset.areas
            if {"area_code", "area_name"} <= set(areas.columns):
                names.update((c, n) for c, n in areas.select("area_code", "area_name").iter_rows() if n)
            names.update(self.model._names())
            self._all_names_cache = names
        return self._all_names_cache

    def lottery_rows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each indicator's fairness row in its latest published period."""
        fair = self.model.fairness
        if fair is None:
            return {}
        frame = fair.frame
        wanted = pl.DataFrame(
            {"indicator_id": list(ids), "period": [self.model.latest[i] for i in ids]},
            schema={"indicator_id": pl.String, "period": pl.String},
        )
        rows = frame.join(wanted, on=["indicator_id", "period"], how="semi")
        return {r["indicator_id"]: r for r in rows.to_dicts()}
