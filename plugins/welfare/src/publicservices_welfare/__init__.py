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

from publicservices.plugin_api import DemoSpend, Sector, sector_plugin

from publicservices_welfare.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"

plugin = sector_plugin(
    Sector(
        id=SECTOR,
        title="Welfare",
        # its spend in the demo nation: pounds per head in 2014/15, change per SD of deprivation,
        # growth per year, SD of each area's own choice (log scale)
        demo=DemoSpend(per_head=2900.0, need=0.35, growth=0.020, sd=0.08),
    ),
    INDICATORS,
    models=MODELS,
    els=ELS_INDICATORS,
    els_description="ONS Explore local statistics CSV with DWP indicator names mapped to welfare.* ids",
    namespace=globals(),  # the hooks live in this module, which the entry point names
)
