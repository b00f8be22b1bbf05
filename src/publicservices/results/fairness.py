"""The postcode lottery: real variation between areas, and the social gradient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import Column, plural
from publicservices.errors import SchemaError
from publicservices.indicators import Indicator
from publicservices.keys import present_keys, varying_keys
from publicservices.results._base import (
    Result,
    _group_columns,
    _group_name,
    _indicator_map,
    _latest,
    _one,
    _one_group,
    _pick_indicator,
    _title_of,
    _unpack,
    _with_titles,
)

__all__ = ["FairnessResult", "decile_values", "postcode_lottery"]


class FairnessResult(Result):
    """Is there a postcode lottery? Real variation beyond noise, and the social gradient.

    ``.frame`` is :func:`publicservices.stats.assess_fairness` output, one row per
    indicator x period (``true_cv`` and its interval, ``i2``, ``tau2``, ``sii`` ...).
    Charts: ``lottery`` (the true spread of each indicator with its interval, default) and
    ``gradient`` (one indicator's values by deprivation decile with the SII line).

    Each comparable set and breakdown (sex, age, category) is its own row: the variation
    between areas is measured within a group, never across men and women pooled.
    """

    kind = "fairness"
    title = "Postcode lottery"
    default_chart = "lottery"

    def __init__(self, frame: pl.DataFrame, *, values: pl.DataFrame | None = None, **kwargs: Any) -> None:
        super().__init__(frame, **kwargs)
        # The area-level values behind the result, for the gradient chart.
        self.values = values if values is not None else getattr(self.dataset, "values", None)

    def sentences(self) -> list[str]:
        f = _latest(self._frame)
        column = next((c for c in ("summary", "sentence") if c in f.columns), None)
        groups = varying_keys(f)
        if column and groups:  # say which group each sentence is about
            label = pl.struct(groups).map_elements(lambda r: _group_name(r), return_dtype=pl.String)
            f = f.with_columns(
                pl.when(pl.col(column).is_not_null() & (pl.col(column) != ""))
                .then(label + pl.lit(": ") + pl.col(column))
                .alias(column)
            )
        if column:
            found = [s for s in f.get_column(column).drop_nulls().to_list() if s]
            if found:
                return found[:3] + ([f"… and {plural(len(found) - 3, 'more indicator')}; see .frame."] if len(found) > 3 else [])
        out = []
        for row in f.head(3).iter_rows(named=True):
            title = _title_of(self.indicators, row.get("indicator_id", ""))
            if groups:
                title = f"{title} ({_group_name({k: row[k] for k in groups})})"
            parts = []
            if row.get("i2") is not None:
                parts.append(
                    f"about {100 * row['i2']:.0f}% of the variation between areas in {title} is larger than chance would produce"
                )
            if row.get("true_cv") is not None:
                ci = ""
                if row.get("true_cv_lower_95") is not None and row.get("true_cv_upper_95") is not None:
                    ci = f" (95% interval {100 * row['true_cv_lower_95']:.0f}% to {100 * row['true_cv_upper_95']:.0f}%)"
                parts.append(f"the true spread is ±{100 * row['true_cv']:.0f}% of the overall value{ci}")
            if parts:
                text = "; ".join(parts)
                out.append(text[0].upper() + text[1:] + ".")
        return out

    def _columns(self) -> Sequence[Column]:
        return [
            Column("indicator", "indicator"),
            Column("period", "period"),
            *_group_columns(self._frame),
            Column("true_cv", "true spread (CV)", kind="percent"),
            Column("true_cv_lower_95", "95% interval", kind="percent_interval", upper="true_cv_upper_95"),
            Column("i2", "share real (I²)", kind="percent"),
            Column("sii", "SII", kind="number"),
            Column("sii_lower_95", "SII 95% interval", kind="interval", upper="sii_upper_95"),
            Column("gini", "Gini", kind="number"),
        ]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_titles(self._frame, self.indicators)
        if "true_cv" in frame.columns:
            # Latest period first, widest lottery first within it.
            order = [c for c in ("period_start", "true_cv") if c in frame.columns]
            return frame.sort(order, descending=True, nulls_last=True), "true_cv"
        return frame, None

    def _chart_lottery(self, period: str | None = None, **options: Any) -> Any:
        from publicservices.charts import lottery_chart

        return lottery_chart(self._frame, self.indicators, period=period, **options)

    def _chart_gradient(
        self,
        indicator: str | Indicator | None = None,
        period: str | None = None,
        breakdown: Mapping[str, Any] | str | None = None,
        **options: Any,
    ) -> Any:
        from publicservices.charts import gradient_chart

        ind = _pick_indicator(self._frame, self.indicators, indicator)
        row_frame = self._frame if ind is None else _one(self._frame, "indicator_id", ind.id)
        row_frame = _one_group(_one(row_frame, "period", period) if period else _latest(row_frame), breakdown)
        if self.values is None or self.areas is None or ind is None:
            raise SchemaError(
                "the gradient chart needs the area values and the areas' deprivation.\n"
                "Fix: compute the result from a Dataset with postcode_lottery(dataset)."
            )
        period = period or (row_frame.get_column("period")[0] if "period" in row_frame.columns and row_frame.height else None)
        rows = _one(_one(self.values, "indicator_id", ind.id), "period", period)
        # the deciles of the same group as the SII row: never men and women pooled
        keys = [k for k in present_keys(rows) if k in row_frame.columns]
        if keys and row_frame.height:
            rows = rows.join(row_frame.select(keys).unique(), on=keys, how="semi", nulls_equal=True)
        rows = _one_group(rows)
        deciles = decile_values(rows, self.areas, ind)
        row = row_frame.row(0, named=True) if row_frame.height else {}
        return gradient_chart(
            deciles,
            indicator=ind,
            sii=row.get("sii"),
            sii_lower=row.get("sii_lower_95"),
            sii_upper=row.get("sii_upper_95"),
            **options,
        )


def decile_values(values: pl.DataFrame, areas: pl.DataFrame, indicator: Indicator, quantiles: int = 10) -> pl.DataFrame:
    """Values pooled by deprivation decile (1 = most deprived), with 95% intervals.

    Method: areas are put in deprivation quantiles by
    :func:`publicservices.stats.assign_quantiles` (Fingertips method); counts are
    pooled within each quantile (sum of numerators over sum of denominators) and the
    interval comes from :func:`publicservices.stats.add_intervals` by the
    indicator's measure. Measures without counts take the population-weighted mean value
    (no interval).
    """
    from publicservices.stats import add_intervals, assign_quantiles

    if "deprivation" not in areas.columns:
        raise SchemaError("the areas frame has no deprivation column.\nFix: add a deprivation score (higher = more deprived).")
    # Without populations every area weighs the same (the quantile values are then plain means).
    pop = "population" if "population" in areas.columns and areas.get_column("population").null_count() < areas.height else None
    rows = values.join(areas.select("area_code", "deprivation", *([pop] if pop else [])), on="area_code", how="inner")
    rows = assign_quantiles(rows.filter(pl.col("deprivation").is_not_null()), "deprivation", quantiles, invert=True)
    weight = pl.col(pop) if pop else pl.lit(1.0)
    counted = (
        indicator.is_count_based
        and "numerator" in rows.columns
        and rows.get_column("numerator").null_count() == 0
        and rows.get_column("denominator").null_count() == 0
    )
    if counted and indicator.measure != "dsr":
        pooled = (
            rows.group_by("quantile")
            .agg(pl.col("numerator").sum(), pl.col("denominator").sum(), weight.sum().alias("population"))
            .sort("quantile")
        )
        pooled = pooled.with_columns(pl.lit(indicator.id).alias("indicator_id"))
        return add_intervals(pooled, {indicator.id: indicator}, confidence=(0.95,))
    return (
        rows.group_by("quantile")
        .agg(
            ((pl.col("value") * weight).sum() / weight.filter(pl.col("value").is_not_null()).sum()).alias("value"),
            weight.sum().alias("population"),
        )
        .sort("quantile")
    )


def postcode_lottery(data: Any, indicator: str | Sequence[str] | None = None, **options: Any) -> FairnessResult:
    """Is there a postcode lottery? True variation beyond noise and the deprivation gradient.

    Method: :func:`publicservices.stats.assess_fairness` (DerSimonian-Laird between-area
    variance, I², the true coefficient of variation; SII/RII across deprivation deciles;
    inequality indices) for each indicator x period.

    Parameters:
        data: a Dataset or a values frame with ``indicators=`` and ``areas=``.
        indicator: one id or a list (default all).
        options: passed on to ``fairness``.
    """
    from publicservices.stats import assess_fairness

    values, dataset = _unpack(data)
    inds = _indicator_map(options.pop("indicators", None), dataset)
    areas = options.pop("areas", None)
    areas = areas if areas is not None else getattr(dataset, "areas", None)
    wanted = None
    if indicator is not None:
        wanted = [indicator] if isinstance(indicator, str) else list(indicator)
        values = values.filter(pl.col("indicator_id").is_in(wanted))
    if dataset is not None:
        frame = assess_fairness(dataset, wanted, **options)
    else:
        frame = assess_fairness(values, {i: d for i, d in inds.items() if wanted is None or i in wanted}, areas=areas, **options)
    return FairnessResult(frame, dataset=dataset, indicators=inds, areas=areas, values=values)
