"""publicservices-health: health indicators, Fingertips and ONS readers, and demo data.

Registers six indicators modelled on national NHS and public health measures (A&E 4-hour
waits, preventable cardiovascular mortality, diabetes prevalence, healthy life expectancy,
early-stage cancer diagnosis, GP patient experience), plus every health indicator of ONS
Explore local statistics (adult and child weight, smoking, healthy life expectancy by sex,
personal well-being, cardiovascular mortality in Northern Ireland and Scotland), each with a
direction judged here; a reader for Fingertips data (``fingertips``); a mapping of the ELS
health files onto these ids (``health-els``; the core ``ons-els`` reader applies it too);
and the health sector of the synthetic demo nation.
"""

from __future__ import annotations

from publicservices.hookspecs import hookimpl

from publicservices_health.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"


@hookimpl
def publicservices_indicators(register):
    for indicator in INDICATORS:
        register(indicator)


@hookimpl
def publicservices_readers(register):
    from publicservices.default_plugins.els import mapped_els_reader

    from publicservices_health.fingertips import READER

    register(READER)
    register(mapped_els_reader("health-els", ELS_INDICATORS,
                               "ONS Explore local statistics CSV with health indicator names mapped to health.* ids"))


def generate(nation):
    """Simulate the health indicators on the demo nation (see publicservices.synthetic)."""
    from publicservices.synthetic.model import simulate

    return simulate(nation, [(indicator, MODELS[indicator.id]) for indicator in INDICATORS if indicator.id in MODELS])


@hookimpl
def publicservices_demo_data(register):
    register(SECTOR, generate)
