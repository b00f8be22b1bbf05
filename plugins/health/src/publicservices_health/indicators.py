"""Health indicators, modelled on national NHS and public health indicators, and their demo models.

Each :class:`~publicservices.indicators.Indicator` says what the number means; each
:class:`~publicservices.synthetic.model.Model` says how the demo nation simulates it
(baseline in 2014/15, trend, deprivation gradient, between-area SD ``tau``, spend and
efficiency effects, people at risk per head of population).
"""

from __future__ import annotations

from publicservices.indicators import Indicator
from publicservices.synthetic.model import Model

SECTOR = "health"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="health.ae_4hr", title="A&E attendances seen within 4 hours", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%", floor=95.0,
        source="NHS England, A&E Attendances and Emergency Admissions (monthly statistics)",
        definition="Percentage of attendances at all types of A&E department where the patient was admitted, "
        "transferred or discharged within 4 hours of arrival. The NHS Constitution standard is 95%.",
    ),
    Indicator(
        id="health.cvd_mortality_preventable", title="Under-75 mortality from cardiovascular disease considered preventable",
        sector=SECTOR, measure="dsr", multiplier=100_000, polarity="lower_is_better", unit="per 100,000",
        source="OHID, Public Health Outcomes Framework (Fingertips); ONS mortality data",
        definition="Deaths of people under 75 from cardiovascular diseases considered preventable, directly "
        "age-standardised to the 2013 European Standard Population, per 100,000 population. Published as "
        "3-year pooled rates; the demo simulates single years.",
    ),
    Indicator(
        id="health.diabetes_prevalence", title="Diabetes prevalence (aged 17 and over)", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="no_judgement", unit="%",
        source="NHS England, Quality and Outcomes Framework (Fingertips indicator 241)",
        definition="Patients aged 17 and over with diabetes recorded on GP practice disease registers, as a "
        "percentage of registered patients aged 17 and over. Recorded prevalence reflects both illness and "
        "how well it is diagnosed, so no direction is judged better.",
    ),
    Indicator(
        id="health.healthy_life_expectancy", title="Healthy life expectancy at birth", sector=SECTOR,
        measure="mean", multiplier=1, polarity="higher_is_better", unit="years",
        source="ONS, Health state life expectancies, UK",
        definition="Average number of years a newborn would live in very good or good general health, given "
        "current age-specific mortality and self-reported health (Annual Population Survey).",
    ),
    Indicator(
        id="health.cancer_early_stage", title="Cancers diagnosed at stage 1 or 2", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%", target=75.0,
        source="NHS England, National Disease Registration Service: cancer registration statistics",
        definition="Percentage of new diagnoses of staged cancers (selected sites) diagnosed at stage 1 or 2. "
        "The NHS Long Term Plan ambition is 75% by 2028.",
    ),
    Indicator(
        id="health.gp_experience", title="Overall experience of GP practice rated good", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="NHS England, GP Patient Survey",
        definition="Percentage of GP Patient Survey respondents describing their overall experience of their "
        "GP practice as very good or fairly good.",
    ),
)

# Demo models: parameters on the link scale (logit for %, log for rates, identity for means).
MODELS: dict[str, Model] = {
    "health.ae_4hr": Model(baseline=93.0, trend=-0.14, tau=0.25, gradient=-0.10, spend=0.5, efficiency=0.35,
                           denominator_per_head=0.40),
    "health.cvd_mortality_preventable": Model(baseline=29.5, trend=-0.004, tau=0.12, gradient=0.22, spend=0.15,
                                              efficiency=0.10, denominator_per_head=0.92),
    "health.diabetes_prevalence": Model(baseline=6.4, trend=0.018, tau=0.10, gradient=0.12, denominator_per_head=0.80),
    "health.healthy_life_expectancy": Model(baseline=63.0, trend=-0.08, tau=1.3, gradient=-2.4, spend=4.0,
                                            efficiency=0.8, sd=25.0, denominator_per_head=0.002),
    "health.cancer_early_stage": Model(baseline=52.0, trend=0.02, tau=0.12, gradient=-0.08, spend=0.3,
                                       efficiency=0.15, denominator_per_head=0.0042),
    "health.gp_experience": Model(baseline=85.0, trend=-0.09, tau=0.18, gradient=-0.10, spend=0.4,
                                  efficiency=0.25, denominator_per_head=0.013),
}

# ONS Explore local statistics indicator names -> our ids.
ELS_INDICATORS: dict[str, str] = {
    "Preventable cardiovascular mortality (England)": "health.cvd_mortality_preventable",
}

# Fingertips indicator ids that are the same measure as one of ours.
FINGERTIPS_INDICATORS: dict[str, str] = {
    "241": "health.diabetes_prevalence",
}
