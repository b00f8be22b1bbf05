"""The hierarchical model behind every demo indicator, and the simulator plugins call.

For indicator *i*, area *a* and period *t* (years since 2014/15), on the link scale
(logit for proportions, log for rates, standardised rates and ratios, identity for means
and scores)::

    eta[i,a,t] = link(baseline_i) + (trend_i + v[i,a]) * t + gradient_i * z_a
                 + d_i * spend_i * x[s,a,t] + d_i * efficiency_i * e[s,a] + u[i,a]
    u[i,a] ~ Normal(0, tau_i^2),   v[i,a] ~ Normal(0, trend_sd_i^2)

* ``z_a`` is the area's deprivation score standardised to mean 0, SD 1;
* ``x[s,a,t]`` is the log spend per head on the indicator's service *s*, centred on the
  mean across areas in that period;
* ``e[s,a]`` is +1 for the areas that are truly efficient in service *s*, -1 for the
  inefficient ones, 0 otherwise (:attr:`DemoNation.efficiency`);
* ``d_i`` is +1 when higher is better and -1 when lower is better, so that spend and
  efficiency always move the indicator in the *better* direction (both are 0 for
  indicators with no polarity);
* ``u[i,a]`` is the true area effect, constant over time, with between-area variance
  ``tau_i^2``;
* ``v[i,a]`` is the area's own trend around the national one (0 unless ``trend_sd_i`` > 0),
  drawn from a stream of its own so the other numbers stay as they were: an area whose
  gap truly narrows faster than the nation's (``truth["area_trends"]``).

The true value is ``inverse_link(eta) * multiplier``. The observed value adds sampling
noise from the counts: ``numerator ~ Binomial(n, p)`` for proportions and
``numerator ~ Poisson(n * rate)`` for rates (``n`` = population x ``denominator_per_head``
x the nation's ``scale``, itself Poisson around that, at least 1), so small areas are
noisier. Means and scores are ``Normal(mu, sd^2 / n)`` with a 95% interval
``value +/- 1.96 * sd / sqrt(n)``.

Example:
    >>> from publicservices.indicators import Indicator
    >>> from publicservices.synthetic.nation import DemoNation
    >>> ind = Indicator(id="test.share", title="Share", sector="test", measure="proportion",
    ...                 multiplier=100, polarity="higher_is_better", unit="%")
    >>> model = Model(baseline=60.0, trend=0.02, tau=0.15, gradient=-0.2, spend=0.3,
    ...               efficiency=0.25, denominator_per_head=0.01)
    >>> data = simulate(DemoNation(seed=1, services=["test"]), [(ind, model)])
    >>> data.values.height, data.truth["tau2"]["test.share"]
    (1500, 0.0225)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from publicservices.errors import IndicatorError, PluginError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from publicservices.indicators import Indicator
    from publicservices.synthetic.nation import DemoNation

__all__ = ["Model", "DemoData", "simulate", "LINKS", "merge_truth"]

LINKS = {"proportion": "logit", "rate": "log", "dsr": "log", "ratio": "log", "mean": "identity", "score": "identity"}
_Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Model:
    """Parameters of one indicator's hierarchical model (see the module docstring).

    Parameters:
        baseline: national value in 2014/15 on the indicator's value scale (e.g. 93.0 for 93%).
        trend: change per year on the link scale (logit, log or identity).
        tau: SD of the true area effects on the link scale (``tau**2`` is the between-area variance).
        gradient: link-scale change per SD of deprivation (positive: higher in deprived areas).
        spend: link-scale gain, in the better direction, per unit of centred log spend per head.
        efficiency: link-scale gain of truly efficient areas (loss of inefficient ones).
        denominator_per_head: people (or events, pupils, respondents) at risk per head of
            population per year; sets ``n`` and hence the sampling noise.
        sd: for ``mean`` and ``score`` indicators, the SD of one observation.
        trend_sd: SD of the areas' own trends around ``trend`` (link scale, per year); 0
            gives every area the national trend.
        service: the spend service this indicator responds to (default: the indicator's ``service``).
    """

    baseline: float
    trend: float = 0.0
    tau: float = 0.1
    gradient: float = 0.0
    spend: float = 0.0
    efficiency: float = 0.0
    denominator_per_head: float = 0.01
    sd: float | None = None
    service: str | None = None
    trend_sd: float = 0.0

    def __post_init__(self) -> None:
        if (
            not self.tau >= 0
            or not self.denominator_per_head > 0
            or self.spend < 0
            or self.efficiency < 0
            or not self.trend_sd >= 0
        ):
            raise IndicatorError(
                f"invalid demo model {self}: tau, spend, efficiency and trend_sd must be >= 0 and denominator_per_head > 0.\n"
                "Fix: give spend and efficiency as sizes; their direction comes from the indicator's polarity."
            )


@dataclasses.dataclass
class DemoData:
    """What a sector's demo generator returns: values in the data contract plus the truth.

    ``truth`` uses the keys documented in :func:`simulate` (frames are concatenated and
    dictionaries merged across sectors by :func:`publicservices.synthetic.demo`).
    """

    values: pl.DataFrame
    truth: dict[str, Any] = dataclasses.field(default_factory=dict)


def _link(name: str, x: Any) -> Any:
    import numpy as np

    if name == "logit":
        return np.log(x / (1 - x))
    if name == "log":
        return np.log(x)
    return x


def _inverse_link(name: str, eta: Any) -> Any:
    import numpy as np

    if name == "logit":
        return 1.0 / (1.0 + np.exp(-eta))
    if name == "log":
        return np.exp(eta)
    return eta


def _direction(indicator: Indicator) -> float:
    return {"higher_is_better": 1.0, "lower_is_better": -1.0}.get(indicator.polarity, 0.0)


def simulate(nation: DemoNation, specs: Iterable[tuple[Indicator, Model]]) -> DemoData:
    """Simulate indicators on the demo nation from their hierarchical models.

    Parameters:
        nation: the :class:`~publicservices.synthetic.nation.DemoNation`.
        specs: ``(indicator, model)`` pairs; each indicator draws from its own random
            stream ``nation.rng("indicator." + id)``.

    Returns:
        :class:`DemoData` whose ``values`` has one row per indicator x area x period
        (``numerator``/``denominator`` for count measures; ``value``, ``lower_ci``,
        ``upper_ci`` and ``denominator`` = n for means and scores) and whose ``truth`` holds
        ``values`` (frame: indicator_id, area_code, period, true_value), ``national``
        (frame: denominator-weighted true national value per period), ``area_effects``
        (frame: indicator_id, area_code, effect), ``area_trends`` (frame: indicator_id,
        area_code, trend -- each area's true trend per year on the link scale, ``trend``
        plus its own), ``between_area_variance`` (frame: variance
        of the true values across areas per period, on the value and link scales), and per
        indicator dictionaries ``tau2``, ``gradient``, ``trend``, ``baseline``, ``link``,
        ``spend_effect`` and ``efficiency_effect`` (signed, link scale), ``parameters``.

    Reference: the model is a Poisson/binomial generalised linear mixed model with a
    random area intercept (e.g. Spiegelhalter 2005, "Funnel plots for comparing
    institutional performance", Statistics in Medicine 24:1185-1202, section 5).
    """
    import numpy as np
    import polars as pl

    codes = pl.Series("area_code", nation.area_codes, dtype=pl.String)
    periods = pl.Series("period", nation.periods, dtype=pl.String)
    starts = nation.period_frame.get_column("period_start")
    n_areas, n_periods = codes.len(), periods.len()
    cell_area = np.repeat(np.arange(n_areas), n_periods)  # row order: area, then period
    cell_period = np.tile(np.arange(n_periods), n_areas)
    pop = nation.population
    z = nation.deprivation_z
    t = nation.year_index
    ids: list[str] = []
    columns: dict[str, list[Any]] = {
        k: []
        for k in ("numerator", "denominator", "value", "lower_ci", "upper_ci", "true_value", "effect", "area_trend", "national")
    }
    variance_rows = []
    truth: dict[str, Any] = {
        k: {} for k in ("tau2", "gradient", "trend", "baseline", "link", "spend_effect", "efficiency_effect", "parameters")
    }
    missing = np.full(n_areas * n_periods, np.nan)
    for indicator, model in specs:
        _check_spec(indicator, model)
        link = LINKS[indicator.measure]
        service = model.service or indicator.service or indicator.sector
        d = _direction(indicator)
        rng = nation.rng(f"indicator.{indicator.id}")
        mult = indicator.multiplier if link != "identity" else 1.0
        u = model.tau * rng.standard_normal(n_areas)
        # each area's own trend, from a stream of its own: the indicator's other draws are unchanged
        own = model.trend_sd * nation.rng(f"indicator.{indicator.id}.trend").standard_normal(n_areas) if model.trend_sd else 0.0
        slope = model.trend + own * np.ones(n_areas)
        eta = (_link(link, model.baseline / mult) + slope[:, None] * t[None, :] + (model.gradient * z + u)[:, None]) * np.ones(
            (1, n_periods)
        )
        if model.spend:
            eta = eta + d * model.spend * nation.log_spend_index(service)
        if model.efficiency:
            eta = eta + (d * model.efficiency * nation.efficiency_score(service))[:, None]
        truth_scale = _inverse_link(link, eta)  # per person (or the mean itself)
        true_value = truth_scale * mult
        expected_n = pop[:, None] * model.denominator_per_head * np.ones((1, n_periods))
        if nation.scale != 1.0:  # only when asked: the standard demo stays identical bit for bit
            expected_n = expected_n * nation.scale
        n = np.maximum(rng.poisson(expected_n), 1).astype(float)
        lower = upper = numerator = missing
        if link == "logit":
            numerator = rng.binomial(n.astype(np.int64), truth_scale).astype(float).ravel()
            value = numerator / n.ravel() * mult
        elif link == "log":
            numerator = rng.poisson(n * truth_scale).astype(float).ravel()
            value = numerator / n.ravel() * mult
        else:
            se = (model.sd / np.sqrt(n)).ravel()
            value = truth_scale.ravel() + se * rng.standard_normal(se.shape)
            lower, upper = value - _Z95 * se, value + _Z95 * se
        ids.append(indicator.id)
        columns["numerator"].append(numerator)
        columns["denominator"].append(n.ravel())
        columns["value"].append(value)
        columns["lower_ci"].append(lower)
        columns["upper_ci"].append(upper)
        columns["true_value"].append(true_value.ravel())
        columns["effect"].append(u)
        columns["area_trend"].append(slope)
        columns["national"].append((true_value * expected_n).sum(axis=0) / expected_n.sum(axis=0))
        variance_rows.append((true_value.var(axis=0, ddof=1), eta.var(axis=0, ddof=1)))
        truth["tau2"][indicator.id] = model.tau**2
        truth["gradient"][indicator.id] = model.gradient
        truth["trend"][indicator.id] = model.trend
        truth["baseline"][indicator.id] = model.baseline
        truth["link"][indicator.id] = link
        truth["spend_effect"][indicator.id] = d * model.spend
        truth["efficiency_effect"][indicator.id] = d * model.efficiency
        truth["parameters"][indicator.id] = {**dataclasses.asdict(model), "service": service, "link": link, "direction": d}
    if not ids:
        raise PluginError("simulate() was given no (indicator, model) pairs.\nFix: pass at least one.")
    k = len(ids)
    id_series = pl.Series("indicator_id", ids, dtype=pl.String)
    cell_ind = np.repeat(np.arange(k), n_areas * n_periods)
    keys = pl.DataFrame(
        {
            "indicator_id": id_series.gather(cell_ind),
            "area_code": codes.gather(np.tile(cell_area, k)),
            "period": periods.gather(np.tile(cell_period, k)),
        }
    )

    def stack(name: str) -> Any:
        return pl.Series(name, np.concatenate(columns[name]), dtype=pl.Float64, nan_to_null=True)

    values = keys.with_columns(
        starts.gather(np.tile(cell_period, k)).alias("period_start"),
        *(stack(c) for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci")),
    )
    truth["values"] = keys.with_columns(stack("true_value"))
    truth["area_effects"] = pl.DataFrame(
        {
            "indicator_id": id_series.gather(np.repeat(np.arange(k), n_areas)),
            "area_code": codes.gather(np.tile(np.arange(n_areas), k)),
            "effect": np.concatenate(columns["effect"]),
        }
    )
    truth["area_trends"] = pl.DataFrame(
        {
            "indicator_id": id_series.gather(np.repeat(np.arange(k), n_areas)),
            "area_code": codes.gather(np.tile(np.arange(n_areas), k)),
            "trend": np.concatenate(columns["area_trend"]),
        }
    )
    by_period = {
        "indicator_id": id_series.gather(np.repeat(np.arange(k), n_periods)),
        "period": periods.gather(np.tile(np.arange(n_periods), k)),
    }
    truth["national"] = pl.DataFrame({**by_period, "true_value": np.concatenate(columns["national"])})
    truth["between_area_variance"] = pl.DataFrame(
        {
            **by_period,
            "variance": np.concatenate([v for v, _ in variance_rows]),
            "variance_link": np.concatenate([w for _, w in variance_rows]),
        }
    )
    return DemoData(values=values, truth=truth)


def _check_spec(indicator: Indicator, model: Model) -> None:
    from publicservices.indicators import Indicator

    if not isinstance(indicator, Indicator) or not isinstance(model, Model):
        raise PluginError(
            f"simulate() expects (Indicator, Model) pairs, got ({type(indicator).__name__}, {type(model).__name__}).\n"
            "Fix: pair each registered Indicator with a publicservices.synthetic.Model."
        )
    link = LINKS[indicator.measure]
    mult = indicator.multiplier if link != "identity" else 1.0
    problems = []
    if link == "logit" and not 0 < model.baseline < mult:
        problems.append(f"baseline {model.baseline} must lie strictly between 0 and the multiplier {mult:g}")
    if link == "log" and not model.baseline > 0:
        problems.append(f"baseline {model.baseline} must be positive for a {indicator.measure}")
    if link == "identity" and not (model.sd and model.sd > 0):
        problems.append(f"a {indicator.measure} indicator needs sd > 0 (the SD of one observation)")
    if indicator.polarity == "no_judgement" and (model.spend or model.efficiency):
        problems.append("spend and efficiency effects need a polarity (which direction is better); this indicator has none")
    if not math.isfinite(model.baseline):
        problems.append("baseline must be finite")
    if problems:
        raise PluginError(
            f"demo model for {indicator.id!r}: " + "; ".join(problems) + ".\nFix: correct the Model(...) parameters."
        )


def merge_truth(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine several sectors' truth: frames stacked, dictionaries merged, lists joined."""
    import polars as pl

    merged: dict[str, Any] = {}
    for part in parts:
        for key, item in part.items():
            if key not in merged:
                merged[key] = dict(item) if isinstance(item, dict) else list(item) if isinstance(item, list) else item
            elif isinstance(item, pl.DataFrame) and isinstance(merged[key], pl.DataFrame):
                merged[key] = pl.concat([merged[key], item], how="diagonal_relaxed")
            elif isinstance(item, dict) and isinstance(merged[key], dict):
                merged[key].update(item)
            elif isinstance(item, list) and isinstance(merged[key], list):
                merged[key].extend(x for x in item if x not in merged[key])
            else:
                merged[key] = item
    return merged
