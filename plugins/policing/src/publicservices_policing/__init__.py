"""publicservices-policing: policing indicators, Home Office readers, and demo data.

Registers six indicators modelled on national policing measures (recorded crime rate,
charge/summons rate, homicide rate, 999 calls answered within 10 seconds, victim
satisfaction, public confidence) plus officer numbers as a resource measure; a reader for
the Home Office police workforce tables (``police-workforce``); a mapping of the ONS
Explore local statistics homicide file onto ``policing.homicide_rate`` (``policing-els``);
and the policing sector of the synthetic demo nation.
"""

from __future__ import annotations

from publicservices.hookspecs import hookimpl

from publicservices_policing.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"


@hookimpl
def publicservices_indicators(register):
    for indicator in INDICATORS:
        register(indicator)


@hookimpl
def publicservices_readers(register):
    from publicservices.default_plugins.els import mapped_els_reader

    from publicservices_policing.workforce import READER

    register(READER)
    register(mapped_els_reader("policing-els", ELS_INDICATORS,
                               "ONS Explore local statistics CSV with Home Office indicator names mapped to policing.* ids"))


def generate(nation):
    """Simulate the policing indicators on the demo nation (see publicservices.synthetic)."""
    from publicservices.synthetic.model import simulate

    return simulate(nation, [(indicator, MODELS[indicator.id]) for indicator in INDICATORS if indicator.id in MODELS])


@hookimpl
def publicservices_demo_data(register):
    register(SECTOR, generate)
