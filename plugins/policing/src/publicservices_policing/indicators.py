"""Policing indicators, modelled on Home Office and ONS measures, and their demo models."""

from __future__ import annotations

from publicservices.plugin_api import Indicator, Model, RecordDefinition

SECTOR = "policing"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="policing.recorded_crime",
        title="Police recorded crime per 1,000 residents",
        sector=SECTOR,
        measure="rate",
        multiplier=1_000,
        polarity="lower_is_better",
        unit="per 1,000",
        source="Home Office and ONS, Police recorded crime (excluding fraud and computer misuse)",
        definition="Notifiable offences recorded by the police, excluding fraud and computer misuse, per 1,000 "
        "resident population.",
    ),
    Indicator(
        id="policing.charge_rate",
        title="Offences resulting in a charge or summons",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="Home Office, Crime outcomes in England and Wales",
        definition="Percentage of offences recorded in the year that were assigned the outcome charged or summonsed. "
        "From records: recorded crimes whose outcome is charged or summonsed, of all crimes recorded in the year.",
        records=RecordDefinition(source="policing.crimes", numerator={"column": "outcome", "eq": "charged"}),
    ),
    Indicator(
        id="policing.homicide_rate",
        title="Homicides per million population",
        sector=SECTOR,
        measure="rate",
        multiplier=1_000_000,
        polarity="lower_is_better",
        unit="per million",
        source="Home Office Homicide Index (ONS, Homicide in England and Wales)",
        definition="Offences currently recorded as homicide (murder, manslaughter and infanticide) per million "
        "population. Published by police force area as rolling 3-year rates.",
    ),
    Indicator(
        id="policing.calls_999_answered",
        title="999 calls answered within 10 seconds",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        floor=90.0,
        source="Home Office, police 999 call answer times",
        definition="Percentage of 999 calls to the police answered by a call handler within 10 seconds. Forces "
        "are expected to answer 90% of 999 calls within 10 seconds.",
    ),
    Indicator(
        id="policing.victim_satisfaction",
        title="Victims satisfied with the overall police service",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="Police force victim satisfaction surveys (Home Office requirement)",
        definition="Percentage of surveyed victims of crime who were completely, very or fairly satisfied with the "
        "overall service provided by the police.",
    ),
    Indicator(
        id="policing.public_confidence",
        title="Confidence that local police do a good or excellent job",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="ONS, Crime Survey for England and Wales",
        definition="Percentage of adults who think the police in their local area do a good or excellent job.",
    ),
    # A resource measure read from the Home Office workforce tables (no demo data).
    Indicator(
        id="policing.officer_fte",
        title="Police officers (full-time equivalent)",
        sector=SECTOR,
        measure="score",
        multiplier=1,
        polarity="no_judgement",
        unit="FTE officers",
        source="Home Office, Police workforce, England and Wales",
        definition="Police officers in post, full-time equivalent, at 31 March or 30 September; a resource measure, "
        "not an outcome. Divide by population for officers per head.",
    ),
)

MODELS: dict[str, Model] = {
    "policing.recorded_crime": Model(
        baseline=62.0, trend=0.045, tau=0.20, gradient=0.25, spend=0.2, efficiency=0.1, denominator_per_head=1.0
    ),
    "policing.charge_rate": Model(
        baseline=15.0, trend=-0.10, tau=0.20, gradient=-0.05, spend=0.6, efficiency=0.3, denominator_per_head=0.06
    ),
    "policing.homicide_rate": Model(
        baseline=9.5, trend=0.01, tau=0.15, gradient=0.35, spend=0.2, efficiency=0.1, denominator_per_head=1.0
    ),
    "policing.calls_999_answered": Model(
        baseline=82.0, trend=-0.05, tau=0.35, gradient=-0.05, spend=0.8, efficiency=0.4, denominator_per_head=0.15
    ),
    "policing.victim_satisfaction": Model(
        baseline=80.0, trend=-0.05, tau=0.15, gradient=-0.08, spend=0.4, efficiency=0.25, denominator_per_head=0.0015
    ),
    "policing.public_confidence": Model(
        baseline=61.0, trend=-0.035, tau=0.12, gradient=-0.12, spend=0.3, efficiency=0.2, denominator_per_head=0.0006
    ),
}

# ONS Explore local statistics indicator names -> our ids (matching ignores case, so the sidecar's
# label "Homicide offences" matches too). Homicide is the only crime or justice indicator in ELS.
ELS_INDICATORS: dict[str, str] = {
    "Homicide Offences": "policing.homicide_rate",
}
