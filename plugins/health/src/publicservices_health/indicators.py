"""Health indicators, modelled on national NHS and public health indicators, and their demo models.

Each :class:`~publicservices.indicators.Indicator` says what the number means; each
:class:`~publicservices.synthetic.model.Model` says how the demo nation simulates it
(baseline in 2014/15, trend, deprivation gradient, between-area SD ``tau``, spend and
efficiency effects, people at risk per head of population).
"""

from __future__ import annotations

from publicservices.plugin_api import AgeBands, Indicator, Model, RecordDefinition

SECTOR = "health"

# The six indicators the demo nation simulates (each has a Model below).
_MODELLED: tuple[Indicator, ...] = (
    Indicator(
        id="health.ae_4hr",
        title="A&E attendances seen within 4 hours",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        floor=95.0,
        source="NHS England, A&E Attendances and Emergency Admissions (monthly statistics)",
        definition="Percentage of attendances at all types of A&E department where the patient was admitted, "
        "transferred or discharged within 4 hours of arrival. The NHS Constitution standard is 95%. From records: "
        "attendances whose total time in the department (arrival to admission, transfer or discharge) is at most "
        "4 hours (240 minutes), of all attendances.",
        records=RecordDefinition(
            source="health.ae_attendances",
            numerator={"column": "minutes_in_department", "le": 240},
        ),
    ),
    Indicator(
        id="health.cvd_mortality_preventable",
        title="Under-75 mortality from cardiovascular disease considered preventable",
        sector=SECTOR,
        measure="dsr",
        multiplier=100_000,
        polarity="lower_is_better",
        unit="per 100,000",
        source="OHID, Public Health Outcomes Framework (Fingertips); ONS mortality data",
        definition="Deaths of people under 75 from cardiovascular diseases considered preventable, directly "
        "age-standardised to the 2013 European Standard Population, per 100,000 population. Published as "
        "3-year pooled rates; the demo simulates single years. From records: deaths whose underlying cause "
        "is classed preventable cardiovascular (ONS avoidable mortality list, which applies the under-75 limit) "
        "by area, year and ESP2013 age band, over the population in each band (Dobson's DSR).",
        records=RecordDefinition(
            source="health.deaths",
            numerator={"column": "cause", "eq": "cvd_preventable"},
            denominator="population",
            bands=AgeBands(column="age", standard="esp2013"),
        ),
    ),
    Indicator(
        id="health.diabetes_prevalence",
        title="Diabetes prevalence (aged 17 and over)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="no_judgement",
        unit="%",
        source="NHS England, Quality and Outcomes Framework (Fingertips indicator 241)",
        definition="Patients aged 17 and over with diabetes recorded on GP practice disease registers, as a "
        "percentage of registered patients aged 17 and over. Recorded prevalence reflects both illness and "
        "how well it is diagnosed, so no direction is judged better.",
    ),
    Indicator(
        id="health.healthy_life_expectancy",
        title="Healthy life expectancy at birth",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="years",
        source="ONS, Health state life expectancies, UK",
        definition="Average number of years a newborn would live in very good or good general health, given "
        "current age-specific mortality and self-reported health (Annual Population Survey).",
    ),
    Indicator(
        id="health.cancer_early_stage",
        title="Cancers diagnosed at stage 1 or 2",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        target=75.0,
        source="NHS England, National Disease Registration Service: cancer registration statistics",
        definition="Percentage of new diagnoses of staged cancers (selected sites) diagnosed at stage 1 or 2. "
        "The NHS Long Term Plan ambition is 75% by 2028.",
    ),
    Indicator(
        id="health.gp_experience",
        title="Overall experience of GP practice rated good",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="NHS England, GP Patient Survey",
        definition="Percentage of GP Patient Survey respondents describing their overall experience of their "
        "GP practice as very good or fairly good.",
    ),
)

_OHID = "OHID, via ONS Explore local statistics"
_ONS = "ONS, via ONS Explore local statistics"


def _child_weight(age: str, age_id: str, school_year: str) -> tuple[Indicator, ...]:
    """The four National Child Measurement Programme weight categories at one age."""
    source = f"OHID, National Child Measurement Programme ({school_year}), via ONS Explore local statistics"
    made = []
    # (category id, title words, polarity, why)
    for cat, words, polarity, why in (
        ("underweight", "Underweight", "lower_is_better", "underweight is a health risk in children, so fewer is better"),
        ("healthy_weight", "Healthy weight", "higher_is_better", "more children at a healthy weight is the aim of the programme"),
        ("overweight", "Overweight (not obese)", "lower_is_better", "excess weight in childhood tracks into adult obesity"),
        ("obesity", "Obesity (including severe obesity)", "lower_is_better", "obesity in childhood tracks into adult ill health"),
    ):
        made.append(
            Indicator(
                id=f"health.child_{cat}_{age_id}",
                title=f"{words} prevalence in children aged {age}",
                sector=SECTOR,
                measure="proportion",
                multiplier=100,
                polarity=polarity,
                unit="%",
                decimals=1,
                source=source,
                definition=f"Percentage of children aged {age} ({school_year}) measured in state-maintained schools who are "
                f"classified as {words.lower()} by the NCMP's BMI centiles. Direction: {why}.",
            )
        )
    return tuple(made)


# Every health indicator of ONS Explore local statistics (ELS), from its metadata catalogue
# (../shared/data/els_metadata). The direction of each is our judgement; the reason is in the definition.
ELS_CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        id="health.adult_obesity",
        title="Adult obesity prevalence (aged 18 and over)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source="OHID, Active Lives Adult Survey (Fingertips), via ONS Explore local statistics",
        definition="Percentage of adults aged 18 and over classified as living with obesity (BMI of 30 or more, from "
        "self-reported height and weight, adjusted). Direction: lower is better, obesity causes ill health.",
    ),
    *_child_weight("4 to 5 (reception)", "reception", "reception year"),
    *_child_weight("10 to 11 (Year 6)", "year6", "Year 6"),
    Indicator(
        id="health.smoking_prevalence",
        title="Adults who currently smoke cigarettes",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source="ONS, Annual Population Survey: adult smoking habits (official statistics in development), via ONS Explore local statistics",
        definition="Percentage of people aged 18 and over who say they currently smoke cigarettes (not e-cigarettes); "
        "published as rolling five-year averages. Direction: lower is better, smoking is the largest preventable cause of death.",
    ),
    Indicator(
        id="health.healthy_life_expectancy_female",
        title="Healthy life expectancy at birth (females)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="years",
        decimals=1,
        source="ONS, Health state life expectancies (official statistics in development), via ONS Explore local statistics",
        definition="Average number of years a newborn girl would live in very good or good general health, given current "
        "mortality and self-reported health; three-year rolling periods. Direction: more years in good health is better.",
    ),
    Indicator(
        id="health.healthy_life_expectancy_male",
        title="Healthy life expectancy at birth (males)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="years",
        decimals=1,
        source="ONS, Health state life expectancies (official statistics in development), via ONS Explore local statistics",
        definition="Average number of years a newborn boy would live in very good or good general health, given current "
        "mortality and self-reported health; three-year rolling periods. Direction: more years in good health is better.",
    ),
    Indicator(
        id="health.wellbeing_life_satisfaction",
        title="Life satisfaction (mean rating out of 10)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="score out of 10",
        decimals=1,
        source="ONS, Annual Population Survey: personal well-being, via ONS Explore local statistics",
        definition="Mean answer of adults aged 16 and over to 'how satisfied are you with your life nowadays?' from 0 (not at "
        "all) to 10 (completely). Direction: higher is better.",
    ),
    Indicator(
        id="health.wellbeing_happiness",
        title="Happiness (mean rating out of 10)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="score out of 10",
        decimals=1,
        source="ONS, Annual Population Survey: personal well-being, via ONS Explore local statistics",
        definition="Mean answer of adults aged 16 and over to 'how happy did you feel yesterday?' from 0 (not at all) to 10 "
        "(completely). Direction: higher is better.",
    ),
    Indicator(
        id="health.wellbeing_worthwhile",
        title="Feeling that the things done in life are worthwhile (mean rating out of 10)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="score out of 10",
        decimals=1,
        source="ONS, Annual Population Survey: personal well-being, via ONS Explore local statistics",
        definition="Mean answer of adults aged 16 and over to 'to what extent do you feel the things you do in your life are "
        "worthwhile?' from 0 (not at all) to 10 (completely). Direction: higher is better.",
    ),
    Indicator(
        id="health.wellbeing_anxiety",
        title="Anxiety (mean rating out of 10)",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="lower_is_better",
        unit="score out of 10",
        decimals=1,
        source="ONS, Annual Population Survey: personal well-being, via ONS Explore local statistics",
        definition="Mean answer of adults aged 16 and over to 'how anxious did you feel yesterday?' from 0 (not at all) to 10 "
        "(completely). Direction: lower is better, unlike the other three well-being questions.",
    ),
    Indicator(
        id="health.cvd_mortality_preventable_ni",
        title="Under-75 mortality from cardiovascular disease considered preventable (Northern Ireland)",
        sector=SECTOR,
        measure="dsr",
        multiplier=100_000,
        polarity="lower_is_better",
        unit="per 100,000",
        decimals=1,
        source="Northern Ireland Department of Health, via ONS Explore local statistics",
        definition="Deaths of people under 75 from cardiovascular diseases considered preventable, age-standardised, per "
        "100,000 population, in Northern Ireland; 3-year rolling periods. Kept apart from the England series (a different "
        "publisher and method). Direction: lower is better.",
    ),
    Indicator(
        id="health.chd_stroke_mortality_scotland",
        title="Under-75 mortality from coronary heart disease or cerebrovascular disease (Scotland)",
        sector=SECTOR,
        measure="dsr",
        multiplier=100_000,
        polarity="lower_is_better",
        unit="per 100,000",
        decimals=1,
        source="Public Health Scotland (cardiac audit programme and stroke statistics), via ONS Explore local statistics",
        definition="Deaths of people under 75 from coronary heart disease or cerebrovascular disease (stroke), "
        "age-standardised, per 100,000 population, in Scotland. Not the same causes as the England and Northern Ireland "
        "'preventable' series. Direction: lower is better.",
    ),
)

# Everything the plugin registers: the modelled indicators, then the ELS catalogue.
INDICATORS: tuple[Indicator, ...] = (*_MODELLED, *ELS_CATALOGUE)

# Demo models: parameters on the link scale (logit for %, log for rates, identity for means).
MODELS: dict[str, Model] = {
    "health.ae_4hr": Model(
        baseline=93.0, trend=-0.14, tau=0.25, gradient=-0.10, spend=0.5, efficiency=0.35, denominator_per_head=0.40
    ),
    "health.cvd_mortality_preventable": Model(
        baseline=29.5, trend=-0.004, tau=0.12, gradient=0.22, spend=0.15, efficiency=0.10, denominator_per_head=0.92
    ),
    "health.diabetes_prevalence": Model(baseline=6.4, trend=0.018, tau=0.10, gradient=0.12, denominator_per_head=0.80),
    "health.healthy_life_expectancy": Model(
        baseline=63.0, trend=-0.08, tau=1.3, gradient=-2.4, spend=4.0, efficiency=0.8, sd=25.0, denominator_per_head=0.002
    ),
    "health.cancer_early_stage": Model(
        baseline=52.0, trend=0.02, tau=0.12, gradient=-0.08, spend=0.3, efficiency=0.15, denominator_per_head=0.0042
    ),
    "health.gp_experience": Model(
        baseline=85.0, trend=-0.09, tau=0.18, gradient=-0.10, spend=0.4, efficiency=0.25, denominator_per_head=0.013
    ),
}

# ONS Explore local statistics indicator names -> our ids. Names as in the CSV's `indicator` column
# (for files with several indicators, the keys of the metadata sidecar), plus the sidecar's label and
# names earlier releases used; matching ignores case and repeated spaces.
ELS_INDICATORS: dict[str, str] = {
    "Preventable cardiovascular mortality (England)": "health.cvd_mortality_preventable",
    "Preventable cardiovascular mortality (Northern Ireland)": "health.cvd_mortality_preventable_ni",
    "Mortality rate from coronary heart disease or cerebrovascular disease (Scotland)": "health.chd_stroke_mortality_scotland",
    "Cancer diagnosis at stage 1 and 2": "health.cancer_early_stage",
    "Proportion of cancers diagnosed at stages 1 and 2": "health.cancer_early_stage",
    "Adult obesity prevalence": "health.adult_obesity",
    "Cigarette smokers": "health.smoking_prevalence",
    "Adults that currently smoke cigarettes": "health.smoking_prevalence",
    "Female healthy life expectancy": "health.healthy_life_expectancy_female",
    "Male healthy life expectancy": "health.healthy_life_expectancy_male",
    # personal-wellbeing-estimates: CSV names, then the sidecar labels
    "Satisfaction": "health.wellbeing_life_satisfaction",
    "Life satisfaction": "health.wellbeing_life_satisfaction",
    "Happiness": "health.wellbeing_happiness",
    "Worthwhile": "health.wellbeing_worthwhile",
    "Feeling life is worthwhile": "health.wellbeing_worthwhile",
    "Anxiety": "health.wellbeing_anxiety",
    # child-weight: CSV names, then the sidecar labels
    **{
        f"Aged {age_words} years {category}": f"health.child_{cat_id}_{age_id}"
        for age_words, age_id in (("four to five", "reception"), ("10 to 11", "year6"))
        for category, cat_id in (
            ("underweight", "underweight"),
            ("healthy weight", "healthy_weight"),
            ("overweight", "overweight"),
            ("obese", "obesity"),
        )
    },
    **{
        f"{category} prevalence in children at {age_words} age": f"health.child_{cat_id}_{age_id}"
        for age_words, age_id in (("reception", "reception"), ("Year 6", "year6"))
        for category, cat_id in (
            ("Underweight", "underweight"),
            ("Healthy weight", "healthy_weight"),
            ("Overweight", "overweight"),
            ("Obesity", "obesity"),
        )
    },
}

# Fingertips indicator ids that are the same measure as one of ours.
FINGERTIPS_INDICATORS: dict[str, str] = {
    "241": "health.diabetes_prevalence",
}

# Fingertips indicators that describe an area rather than a health outcome: used as context
# (population for rates, deprivation to explain outcomes), never published as comparisons.
FINGERTIPS_CONTEXT: dict[str, str] = {
    "92708": "resident population (a count, used as the areas' population)",
    "93553": "deprivation score (IMD 2019): describes the area, it is not a health outcome",
}

# Where a Fingertips file's own polarity column is wrong, the direction we use instead, and why.
FINGERTIPS_POLARITY: dict[str, tuple[str, str]] = {
    "92033": (
        "lower_is_better",
        "fewer Year 6 children living with obesity is better, and OHID's own polarity for this indicator is 'Low is good'",
    ),
}
