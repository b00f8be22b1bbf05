"""Funnel plot checks: each unit against control limits at its own size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import SchemaError
from publicservices.indicators import Indicator
from publicservices.results._base import (
    IndicatorsLike,
    Result,
    _counts,
    _indicator_map,
    _latest,
    _one,
    _pick_indicator,
    _unpack,
    _with_names,
)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["FunnelResult", "funnel_check"]



class FunnelResult(Result):
    """Funnel plot of one indicator: each unit against control limits at its own size.

    ``.frame`` is the ``points`` table of :func:`publicservices.stats.funnel.funnel`
    (``value``, ``precision``, limits, ``position_95``/``position_998``, ``comparison``);
    ``.limits`` the curves; ``.dispersion`` the baseline, phi and tau^2. Chart: ``funnel``.
    """

    kind = "funnel"
    title = "Funnel plot"
    default_chart = "funnel"

    def __init__(self, frame: pl.DataFrame, *, limits: pl.DataFrame | None = None, dispersion: pl.DataFrame | None = None,
                 plain_limits: pl.DataFrame | None = None, indicator: Indicator | None = None, dataset: Dataset | None = None,
                 indicators: IndicatorsLike = None, areas: pl.DataFrame | None = None, **extra: Any) -> None:
        super().__init__(frame, dataset=dataset, indicators=indicators, areas=areas, **extra)
        self.limits = limits
        self.dispersion = dispersion
        self.plain_limits = plain_limits
        self.indicator = indicator or _pick_indicator(frame, self.indicators, None)

    @classmethod
    def from_funnel(cls, funnel: Any, *, indicator: Indicator | None = None, **kwargs: Any) -> FunnelResult:
        """Wrap a :class:`publicservices.stats.funnel.Funnel` (points, limits, dispersion)."""
        return cls(funnel.points, limits=funnel.limits, dispersion=funnel.dispersion, indicator=indicator, **kwargs)

    def _title(self) -> str:
        return f"Funnel plot: {self.indicator.title}" if self.indicator else self.title

    def _overdispersion(self) -> str:
        if self.dispersion is None or "overdispersion" not in self.dispersion.columns or not self.dispersion.height:
            return "none"
        return str(self.dispersion.get_column("overdispersion")[0])

    def sentences(self) -> list[str]:
        points = self._frame
        unit = self.indicator.unit if self.indicator else ""
        n = points.filter(pl.col("value").is_not_null()).height if "value" in points.columns else points.height
        out = []
        p998 = _counts(points, "position_998")
        p95 = _counts(points, "position_95")
        if p998 or p95:
            base = ""
            if "baseline" in points.columns and points.get_column("baseline").drop_nulls().len():
                base = f" around the benchmark of {format_number(points.get_column('baseline').drop_nulls()[0], unit=unit)}"
            outside998 = p998.get("above", 0) + p998.get("below", 0)
            outside95 = p95.get("above", 0) + p95.get("below", 0)
            expected = 0.05 * n
            chance = f" (about {expected:,.0f} would by chance alone)" if expected >= 1 else ""
            out.append(f"Of {plural(n, 'unit')}{base}, {outside95:,} {'lies' if outside95 == 1 else 'lie'} outside the 95% limits{chance} "
                       f"and {outside998:,} outside the 99.8% limits.")
        words = _counts(points, "comparison")
        better = sum(v for k, v in words.items() if k.startswith(("better", "higher")))
        worse = sum(v for k, v in words.items() if k.startswith(("worse", "lower")))
        if words and self.indicator is not None and self.indicator.has_polarity:
            out.append(f"{plural(better, 'unit')} {'is' if better == 1 else 'are'} better than the benchmark by more than chance "
                       f"would explain, and {worse:,} worse.")
        od = self._overdispersion()
        if self.dispersion is not None and "phi" in self.dispersion.columns and self.dispersion.height:
            phi = self.dispersion.get_column("phi")[0]
            if od != "none":
                out.append(f"The limits are widened for overdispersion ({od}, φ = {phi:.2f}): units vary more than sampling "
                           "alone would make them, so only the clearest outliers are flagged.")
            elif phi is not None and phi > 2:
                out.append(f"Units vary {phi:.1f} times as much as chance alone would make them (φ = {phi:.2f}); "
                           "consider overdispersed limits (overdispersion='multiplicative' or 'additive').")
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        return [Column("area_name", "area"), Column("area_code", "code"), Column("value", "value", kind="number", unit=unit),
                Column("comparison", "compared with benchmark", kind="category"), Column("precision", "size", kind="number"),
                Column("lower_998", "99.8% limits", kind="interval", upper="upper_998"), Column("significance", "significance")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "z_adjusted" in frame.columns:
            # Most extreme first: the units a reader should look at.
            return frame.sort(pl.col("z_adjusted").abs(), descending=True, nulls_last=True), None
        return frame, None

    def _chart_funnel(self, **options: Any) -> Any:
        from publicservices.charts import funnel_plot

        points = _with_names(self._frame, self.areas)
        if self._overdispersion() != "none" and self.plain_limits is not None:
            return funnel_plot(points, self.plain_limits, overdispersed_limits=self.limits, indicator=self.indicator, **options)
        if self._overdispersion() != "none":
            return funnel_plot(points, None, overdispersed_limits=self.limits, indicator=self.indicator, **options)
        return funnel_plot(points, self.limits, indicator=self.indicator, **options)


def funnel_check(
    data: Any,
    indicator: str | Indicator | None = None,
    *,
    overdispersion: str | None = None,
    period: str | None = None,
    indicators: IndicatorsLike = None,
    areas: pl.DataFrame | None = None,
    dataset: Dataset | None = None,
    **options: Any,
) -> FunnelResult:
    """Funnel plot check of one indicator in one period.

    Method: :func:`publicservices.stats.funnel.funnel` (PHEindicatormethods control limits;
    Spiegelhalter 2005 overdispersion when ``overdispersion`` is ``"multiplicative"`` or
    ``"additive"``, in which case the plain limits are computed too and drawn beside).

    Parameters:
        data: a Dataset or values frame (one indicator, or pass ``indicator``).
        indicator: the Indicator or its id.
        overdispersion: None, ``"multiplicative"`` or ``"additive"``.
        period: the period (default the latest).
        options: passed on to ``funnel`` (``method=``, ``target=`` ...).
    """
    from publicservices.stats.funnel import funnel

    values, ds = _unpack(data)
    dataset = dataset or ds
    inds = _indicator_map(indicators, dataset)
    ind = indicator if isinstance(indicator, Indicator) else _pick_indicator(values, inds, indicator)
    if ind is None:
        raise SchemaError("funnel_check needs the indicator's definition.\nFix: pass indicator= an Indicator, or a Dataset.")
    rows = _one(values, "indicator_id", ind.id) if "indicator_id" in values.columns else values
    rows = _one(rows, "period", period) if period else _latest(rows)
    # Keep only the contract columns the funnel reads: outcome frames carry limits of their own.
    keep = [c for c in ("indicator_id", "area_code", "area_name", "period", "period_start", "numerator", "denominator",
                        "value", "lower_ci", "upper_ci", "se") if c in rows.columns and rows.get_column(c).null_count() < rows.height]
    rows = rows.select(keep)
    if ind.measure in ("mean", "score") and "se" not in rows.columns and not {"lower_ci", "upper_ci"} <= set(rows.columns):
        # An outcomes frame carries the 95% limits the funnel needs as a standard error.
        if {"lower_95", "upper_95"} <= set(values.columns):
            from publicservices.stats.variation import standard_error

            limits = _one(_one(values, "indicator_id", ind.id), "period", rows.get_column("period")[0] if "period" in rows.columns else None)
            rows = rows.join(limits.select("area_code", standard_error(ind.measure, lower="lower_95", upper="upper_95", reference="value")),
                             on="area_code", how="left")
        else:
            raise SchemaError("a funnel plot of means or scores needs standard errors.\n"
                              "Fix: add an 'se' column or lower_ci/upper_ci (95%), or pass an outcomes frame.")
    result = funnel(rows, ind, overdispersion, **options)  # type: ignore[arg-type]
    plain = funnel(rows, ind, None, **options).limits if overdispersion else None
    return FunnelResult(result.points, limits=result.limits, dispersion=result.dispersion, plain_limits=plain, indicator=ind,
                        dataset=dataset, indicators=inds, areas=areas if areas is not None else getattr(dataset, "areas", None))


