"""Funnel plot checks: each unit against control limits at its own size."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.keys import present_keys
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

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["FunnelResult", "funnel_check"]


class FunnelResult(Result):
    """Funnel plot of one indicator: each unit against control limits at its own size.

    ``.frame`` is the ``points`` table of :func:`publicservices.stats.build_funnel`
    (``value``, ``precision``, limits ``lower_95`` ... ``upper_998``,
    ``position_95``/``position_998``, ``significance``, ``comparison``), every position and
    comparison taken from the limits drawn. ``.limits`` are those limit curves (long form);
    ``.plain_limits`` the limits for chance alone, kept only when some group's limits allow for
    over-dispersion (drawn beside them for reference). ``.dispersion`` has one row per group
    saying which limits were used and why: ``method``, ``overdispersion`` (the adjustment
    applied: ``none``, ``additive``, ``multiplicative``), ``overdispersion_policy`` (asked
    for), ``phi``, ``chi2_df``, ``chi2_p``, ``overdispersed``, ``tau2`` and
    ``overdispersion_reason``. ``.policy`` is the policy asked for; :meth:`comparison_counts`
    counts better/similar/worse per group from ``.frame``. Chart: ``funnel``.

    One funnel per group: comparable sets and breakdowns (sex, age, category) are never
    pooled; ``.dispersion`` has one row per group and the chart shows one group
    (``breakdown={"sex": "Female"}``, by default the whole population).
    """

    kind = "funnel"
    title = "Funnel plot"
    default_chart = "funnel"

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        limits: pl.DataFrame | None = None,
        dispersion: pl.DataFrame | None = None,
        plain_limits: pl.DataFrame | None = None,
        indicator: Indicator | None = None,
        dataset: Dataset | None = None,
        indicators: IndicatorsLike = None,
        areas: pl.DataFrame | None = None,
        policy: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(frame, dataset=dataset, indicators=indicators, areas=areas, **extra)
        self.limits = limits
        self.dispersion = dispersion
        self.plain_limits = plain_limits
        self.indicator = indicator or _pick_indicator(frame, self.indicators, None)
        if policy is None and dispersion is not None and "overdispersion_policy" in dispersion.columns and dispersion.height:
            policy = str(dispersion.get_column("overdispersion_policy")[0])
        self.policy = policy

    @classmethod
    def from_funnel(cls, funnel: Any, *, indicator: Indicator | None = None, **kwargs: Any) -> FunnelResult:
        """Wrap a :class:`publicservices.stats.Funnel` (points, limits, dispersion)."""
        return cls(funnel.points, limits=funnel.limits, dispersion=funnel.dispersion, indicator=indicator, **kwargs)

    def _title(self) -> str:
        return f"Funnel plot: {self.indicator.title}" if self.indicator else self.title

    def _overdispersion(self, group: Mapping[str, Any] | None = None) -> str:
        """The adjustment applied (none, additive, multiplicative): in ``group``, else the first group."""
        d = self._dispersion_of(group or {})
        if d is None or "overdispersion" not in d.columns or not d.height:
            return "none"
        return str(d.get_column("overdispersion")[0])

    def _dispersion_of(self, group: Mapping[str, Any]) -> pl.DataFrame | None:
        """The dispersion row(s) of one group."""
        d = self.dispersion
        if d is None:
            return None
        for k, v in group.items():
            if k in d.columns:
                d = d.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
        return d

    def comparison_counts(self) -> pl.DataFrame:
        """Per group: units compared, outside the 95% / 99.8% limits, better (or higher), similar,
        worse (or lower), and the adjustment applied -- all from the limits drawn."""
        pts = self._frame
        keys = [k for k in present_keys(pts) if k in pts.columns]
        word = pl.col("comparison").cast(pl.String)
        counts = (pts.group_by(keys, maintain_order=True) if keys else pts.group_by(pl.lit(0).alias("_all"))).agg(
            pl.col("comparison").is_not_null().sum().alias("units_compared"),
            pl.col("position_95").cast(pl.String).is_in(["above", "below"]).sum().alias("outside_95"),
            pl.col("position_998").cast(pl.String).is_in(["above", "below"]).sum().alias("outside_998"),
            word.str.starts_with("better").sum().alias("better"),
            word.str.starts_with("higher").sum().alias("higher"),
            (word == "similar").sum().alias("similar"),
            word.str.starts_with("worse").sum().alias("worse"),
            word.str.starts_with("lower").sum().alias("lower"),
        )
        if not keys:
            counts = counts.drop("_all")
        d = self.dispersion
        if d is not None and "overdispersion" in d.columns:
            on = [k for k in keys if k in d.columns]
            extra = [c for c in ("overdispersion", "overdispersion_policy", "phi", "chi2_p") if c in d.columns]
            counts = (
                counts.join(d.select(*on, *extra), on=on, how="left", nulls_equal=True, maintain_order="left")
                if on
                else counts.with_columns(*[pl.lit(d.get_column(c)[0]).alias(c) for c in extra])
            )
        return counts

    def policy_sentence(self, group: Mapping[str, Any] | None = None) -> str:
        """Which limits were drawn and why, in plain words (one group, by default the first)."""
        d = self._dispersion_of(group or {})
        if d is None or not d.height:
            return ""
        return _policy_sentence(d.row(0, named=True), self.indicator.unit if self.indicator else "")

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
            out.append(
                f"{of}{base}, {outside95:,} {'lies' if outside95 == 1 else 'lie'} outside the 95% limits{chance} "
                f"and {outside998:,} outside the 99.8% limits."
            )
        words = _counts(points, "comparison")
        better = sum(v for k, v in words.items() if k.startswith(("better", "higher")))
        worse = sum(v for k, v in words.items() if k.startswith(("worse", "lower")))
        if words and self.indicator is not None and self.indicator.has_polarity:
            out.append(
                f"{plural(better, 'unit')} {'is' if better == 1 else 'are'} better than the benchmark by more than chance "
                f"would explain, and {worse:,} worse."
            )
        elif words and self.indicator is not None:
            # no direction: higher or lower than the benchmark, never better or worse
            out.append(
                f"{plural(better, 'unit')} {'is' if better == 1 else 'are'} higher than the benchmark by more than chance "
                f"would explain, and {worse:,} lower."
            )
        dispersion = self._dispersion_of(group)
        if dispersion is not None and dispersion.height:
            sentence = _policy_sentence(dispersion.row(0, named=True), unit)
            if sentence:
                out.append(sentence)
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        return [
            Column("area_name", "area"),
            Column("area_code", "code"),
            *_group_columns(self._frame),
            Column("value", "value", kind="number", unit=unit),
            Column("comparison", "compared with benchmark", kind="category"),
            Column("precision", "size", kind="number"),
            Column("lower_998", "99.8% limits", kind="interval", upper="upper_998"),
            Column("significance", "significance"),
        ]

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
        group = {k: points.get_column(k)[0] for k in present_keys(points) if points.height}
        if self._overdispersion(group) != "none":
            # the comparison colours come from the widened limits; the chance-only ones are drawn for reference
            return funnel_plot(points, plain, overdispersed_limits=limits, indicator=self.indicator, **options)
        return funnel_plot(points, limits, indicator=self.indicator, **options)


def _phi_text(phi: Any) -> str:
    if phi is None or not math.isfinite(phi):
        return ""
    return f"φ = {phi:,.0f}" if phi >= 100 else f"φ = {phi:.2f}"


def _p_text(p: Any) -> str:
    if p is None or not math.isfinite(p):
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _policy_sentence(row: Mapping[str, Any], unit: str) -> str:
    """Which limits were drawn and why, in plain words, from one dispersion row."""
    applied = row.get("overdispersion") or "none"
    policy = row.get("overdispersion_policy")
    phi, p, tau2 = row.get("phi"), row.get("chi2_p"), row.get("tau2")
    stats_ = ", ".join(t for t in (_phi_text(phi), _p_text(p)) if t)
    tau = ""
    if tau2 is not None and math.isfinite(tau2) and tau2 > 0:
        spread = (
            f"{format_number(math.sqrt(tau2))} percentage points" if unit == "%" else format_number(math.sqrt(tau2), unit=unit)
        )
        tau = f"between-area standard deviation τ = {spread}"
    if p is not None and math.isfinite(p):
        significant = p < 0.05
    else:
        significant = phi is not None and math.isfinite(phi) and phi > 2
    beyond = "the limits allow for variation between areas beyond chance"
    if applied == "additive":
        detail = ", ".join(t for t in ("additive random-effects limits", stats_, tau) if t)
        if policy == "auto":
            return (
                f"Areas vary more than chance alone would make them ({stats_}), so {beyond} "
                f"(additive random-effects limits{', ' + tau if tau else ''}): only areas outside that wider spread are "
                "flagged."
            )
        return f"As chosen, {beyond} ({detail}): only areas outside that wider spread are flagged."
    if applied == "multiplicative":
        if phi is not None and math.isfinite(phi) and phi > 1:
            return (
                f"As chosen, {beyond} (limits widened by the square root of φ, {stats_}): only areas outside that "
                "wider spread are flagged."
            )
        return (
            f"Limits widened by φ were chosen, but areas vary no more than chance would make them"
            f"{' (' + stats_ + ')' if stats_ else ''}, so they are not widened."
        )
    # chance alone
    if policy == "auto":
        if p is None or not math.isfinite(p):
            return str(
                row.get("overdispersion_reason")
                or "There are too few areas to test for variation beyond chance, so the limits allow for chance alone."
            )
        return f"Areas vary no more than chance would make them ({stats_}), so the limits allow for chance alone."
    if significant and phi is not None and math.isfinite(phi):
        return (
            f"Areas vary {phi:,.1f} times as much as chance alone would make them ({stats_}), but these limits allow for "
            "chance alone: many areas outside them differ for lasting reasons rather than by chance, and limits that "
            "allow for variation between areas beyond chance (additive random-effects limits) would flag fewer."
        )
    if stats_:
        return f"The limits allow for chance alone ({stats_})."
    return ""


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
    overdispersion: str | None = "auto",
    period: str | None = None,
    indicators: IndicatorsLike = None,
    areas: pl.DataFrame | None = None,
    dataset: Dataset | None = None,
    **options: Any,
) -> FunnelResult:
    """Funnel plot check of one indicator in one period.

    Method: :func:`publicservices.stats.build_funnel` (PHEindicatormethods control limits,
    or exact limits against a ``target=``), with Spiegelhalter's (2005) policy for
    over-dispersion, per group:

    * ``"auto"`` (default; ``None`` means the same): test whether areas vary more than chance
      (Winsorised phi; I phi against chi^2 on I - 1 degrees of freedom, I with a target) and,
      when significant at 5%, use additive random-effects limits (tau^2); otherwise the limits
      for chance alone;
    * ``"none"``: limits for chance alone, whatever phi;
    * ``"additive"`` / ``"multiplicative"``: always widen the limits that way.

    Every position, comparison and count comes from the limits used (``.limits``); when they
    allow for over-dispersion the plain limits are kept in ``.plain_limits`` and drawn beside.
    ``.dispersion`` records, per group, the policy, the adjustment applied and why.

    One funnel per group: each comparable set and breakdown (sex, age, category) gets its own
    baseline, limits and dispersion; the group columns stay on the points.

    Parameters:
        data: a Dataset or values frame (one indicator, or pass ``indicator``).
        indicator: the Indicator or its id.
        overdispersion: ``"auto"`` (default), ``"none"``, ``"additive"`` or ``"multiplicative"``.
        period: the period (default the latest).
        options: passed on to ``funnel`` (``method=``, ``target=`` ...).
    """
    from publicservices.stats import build_funnel
    from publicservices.stats.ranking.funnels import OVERDISPERSION_POLICIES

    policy = "auto" if overdispersion is None else overdispersion
    if policy not in OVERDISPERSION_POLICIES:
        raise DataError(
            f"overdispersion must be one of {', '.join(OVERDISPERSION_POLICIES)}, not {overdispersion!r}.\n"
            "Fix: 'auto' (allow for variation beyond chance when a test finds it), 'none' (chance alone), "
            "'additive' or 'multiplicative'."
        )
    values, ds = _unpack(data)
    dataset = dataset or ds
    inds = _indicator_map(indicators, dataset)
    ind = indicator if isinstance(indicator, Indicator) else _pick_indicator(values, inds, indicator, "funnel_check")
    if ind is None:
        raise SchemaError("funnel_check needs the indicator's definition.\nFix: pass indicator= an Indicator, or a Dataset.")
    rows = _one(values, "indicator_id", ind.id, "funnel_check") if "indicator_id" in values.columns else values
    rows = _one(rows, "period", period, "funnel_check") if period else _latest(rows)
    if rows.height == 0:
        raise DataError(
            f"no values for {ind.title} ({ind.id})" + (f" in period {period!r}" if period else "") + ".\n"
            "Fix: choose an indicator and period present in the data."
        )
    # Keep only the contract columns the funnel reads (outcome frames carry limits of their own),
    # and the group keys: one funnel per comparable set and breakdown, never one pooled funnel.
    groups = present_keys(rows)
    keep = [
        c
        for c in (
            "indicator_id",
            "area_code",
            "area_name",
            "period",
            "period_start",
            "numerator",
            "denominator",
            "value",
            "lower_ci",
            "upper_ci",
            "se",
        )
        if c in rows.columns and rows.get_column(c).null_count() < rows.height
    ]
    rows = rows.select(*keep, *groups)
    if ind.measure in ("mean", "score") and "se" not in rows.columns and not {"lower_ci", "upper_ci"} <= set(rows.columns):
        # An outcomes frame carries the 95% limits the funnel needs as a standard error.
        if {"lower_95", "upper_95"} <= set(values.columns):
            from publicservices.stats import standard_error

            limits = _one(values, "indicator_id", ind.id)
            on = ["area_code", *(["period"] if "period" in rows.columns and "period" in limits.columns else []), *groups]
            rows = rows.join(
                limits.select(*on, standard_error(ind.measure, lower="lower_95", upper="upper_95", reference="value")),
                on=on,
                how="left",
                nulls_equal=True,
            )
        else:
            raise SchemaError(
                "a funnel plot of means or scores needs standard errors.\n"
                "Fix: add an 'se' column or lower_ci/upper_ci (95%), or pass an outcomes frame."
            )
    result = build_funnel(rows, ind, policy, **options)
    adjusted = bool((result.dispersion.get_column("overdispersion") != "none").any())
    plain = build_funnel(rows, ind, "none", **options).limits if adjusted else None
    return FunnelResult(
        result.points,
        limits=result.limits,
        dispersion=result.dispersion,
        plain_limits=plain,
        indicator=ind,
        dataset=dataset,
        indicators=inds,
        areas=areas if areas is not None else getattr(dataset, "areas", None),
        policy=policy,
    )
