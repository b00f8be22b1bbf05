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

from publicservices.plugin_api import DemoSpend, Sector, sector_plugin

from publicservices_health.fingertips import READER
from publicservices_health.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR

__version__ = "0.1.0"

plugin = sector_plugin(
    Sector(
        id=SECTOR,
        title="Health",
        spend_services=("Public Health",),  # as MHCLG Revenue Outturn names its spend
        # its spend in the demo nation: pounds per head in 2014/15, change per SD of deprivation,
        # growth per year, SD of each area's own choice (log scale)
        demo=DemoSpend(per_head=1900.0, need=0.12, growth=0.030, sd=0.10),
    ),
    INDICATORS,
    models=MODELS,
    readers=[READER],
    els=ELS_INDICATORS,
    els_description="ONS Explore local statistics CSV with health indicator names mapped to health.* ids",
    namespace=globals(),  # the hooks live in this module, which the entry point names
)
