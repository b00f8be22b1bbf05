"""International comparators of the schools sector: the UK among OECD countries in PISA.

The OECD's Programme for International Student Assessment (PISA) tests 15-year-olds in
reading, mathematics and science every three years (2018 and 2022 in
``../shared/data/intl_pisa_2018_2022_oecd.csv``), and publishes each country's mean score with
its standard error. PISA samples the whole United Kingdom (``GBR``), not England alone, and
measures something different from any national exam: the nearest national measures at the
same age are the key stage 4 results, which each comparator names as its national indicator.
"""

from __future__ import annotations

from publicservices.plugin_api import InternationalComparator

_NOTE = (
    "PISA tests a sample of 15-year-olds across the whole United Kingdom, not England alone, on its own "
    "assessment; {national} is the nearest national measure at the same age, not the same measure."
)


def _pisa(subject: str, title: str, indicator: str, national: str) -> InternationalComparator:
    return InternationalComparator(
        id=f"schools.pisa_{subject}",
        title=title,
        indicator=indicator,
        measure=subject,
        source="*pisa*",
        reader="international",
        country="GBR",
        group="OECD average",
        polarity="higher_is_better",  # PISA scales are scores: higher is better
        note=_NOTE.format(national=national),
    )


COMPARATORS: tuple[InternationalComparator, ...] = (
    _pisa(
        "reading",
        "Reading at age 15 (PISA)",
        "schools.gcse_english_maths",
        "the share of pupils with grade 4 or above in English and maths GCSEs",
    ),
    _pisa(
        "mathematics",
        "Mathematics at age 15 (PISA)",
        "schools.gcse_english_maths",
        "the share of pupils with grade 4 or above in English and maths GCSEs",
    ),
    _pisa(
        "science", "Science at age 15 (PISA)", "schools.attainment8", "the Attainment 8 score (eight GCSEs, sciences among them)"
    ),
)
