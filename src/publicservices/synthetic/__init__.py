"""The synthetic demo nation: a fictional country to try everything on, with known truth.

``demo(seed=0)`` returns a :class:`~publicservices.dataset.Dataset` labelled synthetic in
its metadata and title. Every place, code and number is invented: area codes start with
``X`` (``X06000001``) so they can never be taken for real ONS codes.

The nation (:class:`DemoNation`)
    150 upper-tier areas in 9 regions on a fixed hexagonal tile map (each region a
    contiguous block, the whole shaped like an island country); capital boroughs (X09),
    metropolitan districts (X08), counties (X10) and unitary authorities (X06).
    Population 40,000 to 1.5 million (log-normal by area type, skewed), a deprivation score
    (higher = more deprived, 5 to 50 like the English IMD average score) and decile
    (1 = most deprived tenth), an urban/rural class, and 10 financial years 2014/15 to
    2023/24 (``period_start`` 1 April). Spend per area, period and service in pounds::

        spend[s,a,t] = population_a * base_s * exp(need_s * z_a + c[s,a] + growth_s * t + w[s,a,t])

    with ``z_a`` the standardised deprivation score, ``c[s,a] ~ N(0, sd_s^2)`` the area's
    own spending choice and ``w ~ N(0, 0.03^2)`` yearly wobble; each sector declares its
    ``base_s``, ``need_s``, ``growth_s`` and ``sd_s`` (``Sector.demo``, a ``DemoSpend``). In
    each service 12% of areas are truly *efficient* and 12% truly *inefficient* (chosen at
    random from the seed).

The indicator model (:func:`simulate`, used by every sector plugin)
    On the link scale (logit for proportions, log for rates and ratios, identity for means
    and scores)::

        eta[i,a,t] = link(baseline_i) + trend_i * t + gradient_i * z_a
                     + d_i * spend_i * x[s,a,t] + d_i * efficiency_i * e[s,a] + u[i,a]
        u[i,a] ~ N(0, tau_i^2)

    ``x`` is centred log spend per head on the indicator's service, ``e`` is +1/0/-1 for
    efficient/typical/inefficient areas, ``d_i`` is +1 (higher is better) or -1 (lower is
    better) so spend and efficiency always help. The true value is
    ``inverse_link(eta) * multiplier``; observed counts are binomial (proportions) or
    Poisson (rates) around it with ``n ~ Poisson(population * denominator_per_head)``, so
    small areas are noisier; means and scores get normal noise with SE ``sd / sqrt(n)``.

The truth (``dataset.truth``)
    ``values`` (true value per indicator x area x period), ``national``, ``area_effects``,
    ``area_trends`` (each area's true trend), ``between_area_variance`` (value and link scale, per period), ``tau2``, ``gradient``,
    ``trend``, ``baseline``, ``link``, ``spend_effect``, ``efficiency_effect`` and
    ``parameters`` per indicator, ``efficiency`` (frame), ``efficient_areas`` and
    ``inefficient_areas`` per service, ``deprivation_sd`` and ``seed``.

Records (:func:`demo_records`)
    Partitioned Parquet of A&E attendances, deaths, KS4 pupils and crimes whose aggregates
    reproduce the demo's numerators and denominators exactly, 10 thousand to a billion rows,
    streamed to disk (``ps.demo(seed, scale=...)`` sizes the nation's counts).

Randomness comes only from ``DemoNation.rng(key)``: a PCG64 generator seeded with
``SeedSequence([seed, stable_hash(key)])``, one stream per use, so results do not depend on
plugin order and adding an indicator never changes another. See ``docs/demo.md``.

Example:
    >>> from publicservices.synthetic import DemoNation
    >>> nation = DemoNation(seed=0)
    >>> nation.areas.get_column("area_code").str.starts_with("X").all()
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Lazy exports: plugins import Model at load time, which must not pull in Polars or NumPy.
_EXPORTS: dict[str, str] = {
    "demo": "publicservices.synthetic.build",
    "DEMO_TITLE": "publicservices.synthetic.build",
    "demo_records": "publicservices.synthetic.records",
    "DemoRecords": "publicservices.synthetic.records",
    "DemoNation": "publicservices.synthetic.nation",
    "PERIODS": "publicservices.synthetic.nation",
    "DEFAULT_SPEND": "publicservices.synthetic.nation",
    "DemoData": "publicservices.synthetic.model",
    "Model": "publicservices.synthetic.model",
    "simulate": "publicservices.synthetic.model",
    "LINKS": "publicservices.synthetic.model",
    "hex_neighbours": "publicservices.synthetic.geography",
    "stable_hash": "publicservices.synthetic.geography",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.synthetic.build import DEMO_TITLE, demo
    from publicservices.synthetic.geography import hex_neighbours, stable_hash
    from publicservices.synthetic.model import LINKS, DemoData, Model, simulate
    from publicservices.synthetic.nation import DEFAULT_SPEND, PERIODS, DemoNation
    from publicservices.synthetic.records import DemoRecords, demo_records


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'publicservices.synthetic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
