"""publicservices-schools: school indicators, ONS Explore local statistics mappings, and demo data.

Registers seven indicators modelled on national DfE and Ofsted measures (KS2 expected
standard, GCSE English and maths grade 4+, Attainment 8, Progress 8, persistent absence, KS2
disadvantage gap index, schools judged good or outstanding) plus two published breakdowns
of persistent absence, and every education and skills indicator of ONS Explore local
statistics (early years goals, adult qualifications, further education, apprenticeships),
each with a direction judged here; the report-card scheme of NYC's Progress Reports, with
extra credit for a significantly narrowing disadvantage gap; a reader ``schools-els`` that maps the ELS files onto
these ids (the core ``ons-els`` reader applies the same mapping), and ``schools-ees`` for DfE's
Explore education statistics files (attainment columns such as ``avg_att8``; the core ``dfe-ees``
reader applies it too); the schools sector of
the synthetic demo nation; and international comparators: the UK's PISA reading,
mathematics and science means among the OECD countries, for the site's international
comparison page.
"""

from __future__ import annotations

from publicservices.plugin_api import ClosingGap, DemoSpend, ReportCardScheme, Sector, mapped_ees_reader, sector_plugin

from publicservices_schools.indicators import EES_INDICATORS, ELS_INDICATORS, INDICATORS, MODELS, SECTOR
from publicservices_schools.international import COMPARATORS

__version__ = "0.1.0"

# New York City's Progress Reports (NYC Department of Education, 2007-2013): school environment
# 15%, student performance 25%, student progress 60%, each measure judged 75% against a peer
# group of similar schools and 25% against the whole city, and "additional credit" for the
# progress of high-need groups. Here, for areas: environment = attendance and Ofsted's judgement
# of the schools (NYC: attendance and the learning-environment surveys); performance = the
# attainment measures; progress = Progress 8 (value added from key stage 2 to 4); extra credit =
# closing the gap: up to 5 points for a statistically significant narrowing over time of the KS2
# disadvantage gap (its 95% interval of change entirely below 0). Relative cut-points:
# 25/35/30/7/3% of areas get A/B/C/D/F (a few F, about a quarter A -- the shape of NYC's first
# Progress Reports). Data with only some of the measures are graded on those (said in a note).
_NYC_DOMAINS = ("environment", "performance", "progress")
NYC_PROGRESS_REPORTS = ReportCardScheme(
    domains={
        "environment": ("schools.persistent_absence", "schools.good_or_outstanding"),
        "performance": ("schools.ks2_expected_standard", "schools.gcse_english_maths", "schools.attainment8"),
        "progress": ("schools.progress8",),
    },
    weights={"environment": 15, "performance": 25, "progress": 60},
    cutpoints={"A": 75, "B": 40, "C": 10, "D": 3},
    closing_gap=ClosingGap("schools.disadvantage_gap", points=5),
    peer_weight=0.75,
    # wide data of NYC-style domain scores (a column per domain, and a closing_the_gap score for
    # level-based extra credit passed as extra_credit="closing_the_gap"): higher is better
    polarity=dict.fromkeys((*_NYC_DOMAINS, "closing_the_gap"), "higher_is_better"),
    reference="NYC Department of Education, Progress Report Educator Guide (2007-08 onwards); "
    "Rockoff and Turner (2010), AEJ: Economic Policy 2(4):119-147",
)

plugin = sector_plugin(
    Sector(
        id=SECTOR,
        title="Schools",
        spend_services=("Education services",),  # as MHCLG Revenue Outturn names its spend
        report_card=NYC_PROGRESS_REPORTS,
        # its spend in the demo nation: pounds per head in 2014/15, change per SD of deprivation,
        # growth per year, SD of each area's own choice (log scale)
        demo=DemoSpend(per_head=720.0, need=0.10, growth=0.015, sd=0.10),
    ),
    INDICATORS,
    models=MODELS,
    # DfE's own release files: their standard attainment columns as these indicators
    readers=[
        mapped_ees_reader(
            "schools-ees",
            EES_INDICATORS,
            "DfE Explore education statistics CSV with key stage 2 and 4 attainment columns mapped to schools.* ids",
        )
    ],
    els=ELS_INDICATORS,
    els_description="ONS Explore local statistics CSV with DfE indicator names mapped to schools.* ids",
    comparators=COMPARATORS,  # PISA reading, mathematics and science: the UK among OECD countries
    namespace=globals(),  # the hooks live in this module, which the entry point names
)
