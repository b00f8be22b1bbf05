"""publicservices-welfare: welfare and employment indicators, ONS Explore local statistics mappings, and demo data.

Registers six indicators modelled on national DWP and ONS measures (claimant count rate,
employment rate, children in relative low-income families, Universal Credit first payments
on time, job outcomes after employment support, mean days to clear a PIP claim) plus the
after-housing-costs child poverty measure, and every work, income and poverty indicator of
ONS Explore local statistics (economic inactivity, model-based unemployment, Northern Ireland
employment; median pay and household income as context, not compared); a reader
``welfare-els`` that maps the ELS files onto these ids (the core ``ons-els`` reader applies
the same mapping); and the welfare sector of the synthetic demo nation.
"""

from __future__ import annotations

from publicservices.hookspecs import hookimpl

from publicservices_welfare.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"


@hookimpl
def publicservices_indicators(register):
    for indicator in INDICATORS:
        register(indicator)


@hookimpl
def publicservices_readers(register):
    from publicservices.default_plugins.els import mapped_els_reader

    register(mapped_els_reader("welfare-els", ELS_INDICATORS,
                               "ONS Explore local statistics CSV with DWP indicator names mapped to welfare.* ids"))


def generate(nation):
    """Simulate the welfare indicators on the demo nation (see publicservices.synthetic)."""
    from publicservices.synthetic.model import simulate

    return simulate(nation, [(indicator, MODELS[indicator.id]) for indicator in INDICATORS if indicator.id in MODELS])


@hookimpl
def publicservices_demo_data(register):
    register(SECTOR, generate)
