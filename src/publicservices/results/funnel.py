"""Funnel plot checks: each unit against control limits at its own size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import SchemaError
from publicservices.indicators import Indicator
from publicservices.results._base import (
    IndicatorsLike,
    Result,
    _counts,
    _group_columns,
    _group_name,
    _groups,
    _indicator_map,
    _latest,
    _n_areas,
    _one,
    _one_group,
    _pick_indicator,
    _unpack,
    _with_names,
)
from publicservices.stats._keys import present_keys

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["FunnelResult", "funnel_check"]



class FunnelResult(Result):
    """Funnel plot of one indicator: each unit against control limits at its own size.

    ``.frame`` is the ``points`` table of :func:`publicservices.stats.funnel.funnel`
    (``value``, ``precision``, limits, ``position_95``/``position_998``, ``comparison``);
    ``.limits`` the curves; ``.dispersion`` the baseline, phi and tau^2. Chart: ``funnel``.

    One funnel per group: comparable sets and breakdowns (sex, age, category) are never
    pooled; ``.dispersion`` has one row per group and the chart shows one group
    (``breakdown={"sex": "Female"}``, by default the whole population).
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

    def _dispersion_of(self, group: Mapping[str, Any]) -> pl.DataFrame | None:
        """The dispersion row(s) of one group."""
        d = self.dispersion
        if d is None:
            return None
        for k, v in group.items():
            if k in d.columns:
                d = d.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
        return d

    def sentences(self) -> list[str]:
        groups = _groups(self._frame)
        out: list[str] = []
        for group, points in groups[:4]:
            out.extend(self._group_sentences(points, group))
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        return out

    def _group_sentences(self, points: pl.DataFrame, group: Mapping[str, Any]) -> list[str]:
        unit = self.indicator.unit if self.indicator else ""
        n = _n_areas(points.filter(pl.col("value").is_not_null()) if "value" in points.columns else points)
        label = _group_name(group)
        of = f"Of {plural(n, 'unit')}" + (f" ({label})" if label else "")
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
            out.append(f"{of}{base}, {outside95:,} {'lies' if outside95 == 1 else 'lie'} outside the 95% limits{chance} "
                       f"and {outside998:,} outside the 99.8% limits.")
        words = _counts(points, "comparison")
        better = sum(v for k, v in words.items() if k.startswith(("better", "higher")))
        worse = sum(v for k, v in words.items() if k.startswith(("worse", "lower")))
        if words and self.indicator is not None and self.indicator.has_polarity:
            out.append(f"{plural(better, 'unit')} {'is' if better == 1 else 'are'} better than the benchmark by more than chance "
                       f"would explain, and {worse:,} worse.")
        elif words and self.indicator is not None:
            # no direction: higher or lower than the benchmark, never better or worse
            out.append(f"{plural(better, 'unit')} {'is' if better == 1 else 'are'} higher than the benchmark by more than chance "
                       f"would explain, and {worse:,} lower.")
        od = self._overdispersion()
        dispersion = self._dispersion_of(group)
        if dispersion is not None and "phi" in dispersion.columns and dispersion.height:
            phi = dispersion.get_column("phi")[0]
            if od != "none":
                out.append(f"The limits are widened for overdispersion ({od}, φ = {phi:.2f}): units vary more than sampling "
                           "alone would make them, so only the clearest outliers are flagged.")
            elif phi is not None and phi > 2:
                out.append(f"Units vary {phi:.1f} times as much as chance alone would make them (φ = {phi:.2f}); "
                           "consider overdispersed limits (overdispersion='multiplicative' or 'additive').")
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        return [Column("area_name", "area"), Column("area_code", "code"), *_group_columns(self._frame),
                Column("value", "value", kind="number", unit=unit),
                Column("comparison", "compared with benchmark", kind="category"), Column("precision", "size", kind="number"),
                Column("lower_998", "99.8% limits", kind="interval", upper="upper_998"), Column("significance", "significance")]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "z_adjusted" in frame.columns:
            # Most extreme first: the units a reader should look at.
            return frame.sort(pl.col("z_adjusted").abs(), descending=True, nulls_last=True), None
        return frame, None

    def _chart_funnel(self, breakdown: Mapping[str, Any] | str | None = None, **options: Any) -> Any:
        from publicservices.charts import funnel_plot

        points = _with_names(_one_group(self._frame, breakdown), self.areas)
        limits, plain = (_same_group(lim, points) for lim in (self.limits, self.plain_limits))
        if self._overdispersion() != "none" and plain is not None:
            return funnel_plot(points, plain, overdispersed_limits=limits, indicator=self.indicator, **options)
        if self._overdispersion() != "none":
            return funnel_plot(points, None, overdispersed_limits=limits, indicator=self.indicator, **options)
        return funnel_plot(points, limits, indicator=self.indicator, **options)


def _same_group(limits: pl.DataFrame | None, points: pl.DataFrame) -> pl.DataFrame | None:
    """The limit curves of the group the points belong to."""
    keys = [k for k in present_keys(points) if limits is not None and k in limits.columns]
    if limits is None or not keys:
        return limits
    return limits.join(points.select(keys).unique(), on=keys, how="semi", nulls_equal=True)


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

    One funnel per group: each comparable set and breakdown (sex, age, category) gets its own
    baseline, limits and dispersion; the group columns stay on the points.

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
    # Keep only the contract columns the funnel reads (outcome frames carry limits of their own),
    # and the group keys: one funnel per comparable set and breakdown, never one pooled funnel.
    groups = present_keys(rows)
    keep = [c for c in ("indicator_id", "area_code", "area_name", "period", "period_start", "numerator", "denominator",
                        "value", "lower_ci", "upper_ci", "se") if c in rows.columns and rows.get_column(c).null_count() < rows.height]
    rows = rows.select(*keep, *groups)
    if ind.measure in ("mean", "score") and "se" not in rows.columns and not {"lower_ci", "upper_ci"} <= set(rows.columns):
        # An outcomes frame carries the 95% limits the funnel needs as a standard error.
        if {"lower_95", "upper_95"} <= set(values.columns):
            from publicservices.stats.variation import standard_error

            limits = _one(values, "indicator_id", ind.id)
            on = ["area_code", *(["period"] if "period" in rows.columns and "period" in limits.columns else []), *groups]
            rows = rows.join(limits.select(*on, standard_error(ind.measure, lower="lower_95", upper="upper_95", reference="value")),
                             on=on, how="left", nulls_equal=True)
        else:
            raise SchemaError("a funnel plot of means or scores needs standard errors.\n"
                              "Fix: add an 'se' column or lower_ci/upper_ci (95%), or pass an outcomes frame.")
    result = funnel(rows, ind, overdispersion, **options)  # type: ignore[arg-type]
    plain = funnel(rows, ind, None, **options).limits if overdispersion else None
    return FunnelResult(result.points, limits=result.limits, dispersion=result.dispersion, plain_limits=plain, indicator=ind,
                        dataset=dataset, indicators=inds, areas=areas if areas is not None else getattr(dataset, "areas", None))


