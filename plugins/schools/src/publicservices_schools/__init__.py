"""publicservices-schools: school indicators, ONS Explore local statistics mappings, and demo data.

Registers six indicators modelled on national DfE and Ofsted measures (KS2 expected
standard, GCSE English and maths grade 4+, Attainment 8, persistent absence, KS2
disadvantage gap index, schools judged good or outstanding) plus two published breakdowns
of persistent absence, and every education and skills indicator of ONS Explore local
statistics (early years goals, adult qualifications, further education, apprenticeships),
each with a direction judged here; a reader ``schools-els`` that maps the ELS files onto
these ids (the core ``ons-els`` reader applies the same mapping); and the schools sector of
the synthetic demo nation.
"""

from __future__ import annotations

from publicservices.hookspecs import hookimpl

from publicservices_schools.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"


@hookimpl
def publicservices_indicators(register):
    for indicator in INDICATORS:
        register(indicator)


@hookimpl
def publicservices_readers(register):
    from publicservices.default_plugins.els import mapped_els_reader

    register(mapped_els_reader("schools-els", ELS_INDICATORS,
                               "ONS Explore local statistics CSV with DfE indicator names mapped to schools.* ids"))


def generate(nation):
    """Simulate the school indicators on the demo nation (see publicservices.synthetic)."""
    from publicservices.synthetic.model import simulate

    return simulate(nation, [(indicator, MODELS[indicator.id]) for indicator in INDICATORS if indicator.id in MODELS])


@hookimpl
def publicservices_demo_data(register):
    register(SECTOR, generate)
