"""International comparison: how a country does among other countries, with uncertainty on both sides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.results._base import Result, _indicator_map, _one_indicator_id

__all__ = ["InternationalResult", "compare_internationally"]


class InternationalResult(Result):
    """One country against every other country and their average, per indicator and period.

    Frame: one row per indicator x period x other country (and the average): the difference
    with its interval, the comparison, and the country's rank with its confidence set
    (:func:`publicservices.stats.compare_countries`). Chart: ``countries``.
    """

    kind = "international"
    title = "International comparison"
    default_chart = "countries"

    def _name(self, code: Any) -> str:
        names = self._names()
        return names.get(code, str(code))

    def _names(self) -> dict[str, str]:
        areas = self.areas
        if areas is None or "area_name" not in areas.columns:
            return {}
        return dict(areas.select("area_code", "area_name").iter_rows())

    def _title(self) -> str:
        country = self._frame.get_column("country")[0] if self._frame.height else ""
        return f"{self.title}: {self._name(country)}"

    def sentences(self) -> list[str]:
        out: list[str] = []
        for (ind_id, period), rows in self._frame.group_by(["indicator_id", "period"], maintain_order=True):
            ind = self.indicators.get(str(ind_id))
            name = ind.title if ind else str(ind_id)
            unit = ind.unit if ind else ""
            first = rows.row(0, named=True)
            others = rows.filter(pl.col("versus") != "average")
            counts = dict(others.get_column("comparison").value_counts().iter_rows())
            up, down = (
                ("better", "worse")
                if "better" in counts or "worse" in counts or (ind and ind.has_polarity)
                else ("higher", "lower")
            )
            text = (
                f"{self._name(first['country'])}, {name}, {period}: {format_number(first['value'], unit=unit)}. "
                f"It is {up} than {counts.get(up, 0):,} of the {plural(others.height, 'other country', 'other countries')}, "
                f"{down} than {counts.get(down, 0):,}, and not distinguishable from {counts.get('not distinguishable', 0):,} "
                "(95% intervals of the differences)."
            )
            average = rows.filter(pl.col("versus") == "average")
            if average.height:
                a = average.row(0, named=True)
                gap = a["difference"]
                gap_unit = "percentage points" if unit == "%" else unit  # a difference of percentages is in points
                text += (
                    f" It is {format_number(abs(gap), unit=gap_unit)} {'above' if gap >= 0 else 'below'} the average of the "
                    f"{first['n_countries'] or others.height + 1:,} countries (95% interval "
                    f"{format_number(a['difference_lower'])} to {format_number(a['difference_upper'])}: "
                    f"{a['comparison']})."
                )
            if first.get("rank") is not None:
                text += (
                    f" Rank {first['rank']} of {first['n_countries']}; with 95% confidence its true rank is between "
                    f"{first['rank_lower']} and {first['rank_upper']}."
                )
            out.append(text)
        return out

    def _columns(self) -> Sequence[Column]:
        return [
            Column("indicator", "indicator"),
            Column("period", "period"),
            Column("versus_name", "versus"),
            Column("difference", "difference", kind="number"),
            Column("difference_lower", "difference (95%)", kind="interval", upper="difference_upper"),
            Column("comparison", "comparison", kind="category"),
        ]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = self._with_names(self._frame)
        titles = {i: d.title for i, d in self.indicators.items()}
        frame = frame.with_columns(
            pl.col("indicator_id")
            .replace_strict(titles, default=pl.col("indicator_id"), return_dtype=pl.String)
            .alias("indicator")
        )
        return frame, None

    def _with_names(self, frame: pl.DataFrame) -> pl.DataFrame:
        names = self._names()
        names.setdefault("average", "average of the countries")
        return frame.with_columns(
            pl.col("versus").replace_strict(names, default=pl.col("versus"), return_dtype=pl.String).alias("versus_name"),
            pl.col("country").replace_strict(names, default=pl.col("country"), return_dtype=pl.String).alias("country_name"),
        )

    def _chart_countries(self, indicator: str | None = None, period: str | None = None, **options: Any) -> Any:
        from publicservices.charts.international import country_chart

        frame = self._with_names(self._frame)
        ids = frame.get_column("indicator_id").unique(maintain_order=True).to_list()
        indicator = indicator or ids[0]
        if indicator not in ids:
            raise DataError(f"no comparison for indicator {indicator!r} in this result.\nFix: use one of {', '.join(ids)}.")
        rows = frame.filter(pl.col("indicator_id") == indicator)
        periods = rows.get_column("period").unique().sort().to_list()
        period = period or periods[-1]
        if period not in periods:
            raise DataError(f"no comparison for period {period!r}.\nFix: use one of {', '.join(periods)}.")
        return country_chart(rows.filter(pl.col("period") == period), indicator=self.indicators.get(indicator), **options)


def compare_internationally(
    data: Any, country: str, *, indicator: str | Indicator | None = None, period: str | None = None, **options: Any
) -> InternationalResult:
    """How ``country`` compares with other countries: differences, the average and its rank.

    Method: :func:`publicservices.stats.compare_countries` (differences of independent national
    estimates, the comparison with an average that includes the country, marginal rank
    confidence sets).

    Parameters:
        data: a Dataset read from an international comparator table (``ps.read(...)``), or a
            values frame with ``indicators=``.
        country: the country's code (``"GBR"``) or name (``"United Kingdom"``).
        indicator, period: keep one indicator or period (default all).
        options: passed on (``level=``, ``countries=``, ``n_boot=``, ``seed=``).

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"indicator_id": ["x"] * 3, "area_code": ["A", "B", "C"], "period": ["2022"] * 3,
        ...                   "value": [500.0, 490.0, 499.0], "standard_error": [3.0, 4.0, 3.0]})
        >>> compare_internationally(v, "A").sentences()[0][:64]
        'A, x, 2022: 500. It is higher than 1 of the 2 other countries, l'
    """
    from publicservices.stats import compare_countries

    values = getattr(data, "values", data)
    areas = getattr(data, "areas", None)
    inds = _indicator_map(options.pop("indicators", None), data if hasattr(data, "indicators") else None)
    code = country
    if areas is not None and country not in set(areas.get_column("area_code").to_list()):
        found = areas.filter(pl.col("area_name").str.to_lowercase() == str(country).lower()).get_column("area_code").to_list()
        if len(found) == 1:
            code = found[0]
    ind_id = _one_indicator_id(indicator, "compare_internationally")
    if ind_id is not None:
        values = values.filter(pl.col("indicator_id") == ind_id)
    if period is not None:
        values = values.filter(pl.col("period") == period)
    frame = compare_countries(values, code, indicators=inds, **options)
    return InternationalResult(frame, dataset=data if hasattr(data, "values") else None, indicators=inds)
