"""publicservices-policing: policing indicators, Home Office readers, and demo data.

Registers six indicators modelled on national policing measures (recorded crime rate,
charge/summons rate, homicide rate, 999 calls answered within 10 seconds, victim
satisfaction, public confidence) plus officer numbers as a resource measure; a reader for
the Home Office police workforce tables (``police-workforce``); a mapping of the ONS
Explore local statistics homicide file onto ``policing.homicide_rate`` (``policing-els``);
and the policing sector of the synthetic demo nation.
"""

from __future__ import annotations

from publicservices.plugin_api import DemoSpend, Sector, sector_plugin

from publicservices_policing.indicators import ELS_INDICATORS, INDICATORS, MODELS, SECTOR
from publicservices_policing.workforce import READER

__version__ = "0.1.0"

plugin = sector_plugin(
    Sector(
        id=SECTOR,
        title="Policing",
        spend_services=("Police services",),  # as MHCLG Revenue Outturn names its spend
        # its spend in the demo nation: pounds per head in 2014/15, change per SD of deprivation,
        # growth per year, SD of each area's own choice (log scale)
        demo=DemoSpend(per_head=230.0, need=0.15, growth=0.005, sd=0.14),
    ),
    INDICATORS,
    models=MODELS,
    readers=[READER],
    els=ELS_INDICATORS,
    els_description="ONS Explore local statistics CSV with Home Office indicator names mapped to policing.* ids",
    namespace=globals(),  # the hooks live in this module, which the entry point names
)
