"""School indicators, modelled on national Department for Education and Ofsted measures, and their demo models."""

from __future__ import annotations

from publicservices.indicators import Indicator
from publicservices.synthetic.model import Model

SECTOR = "schools"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="schools.ks2_expected_standard", title="Pupils meeting the expected standard in reading, writing and maths (KS2)",
        sector=SECTOR, measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="DfE, Key stage 2 attainment (national curriculum assessments)",
        definition="Percentage of pupils at the end of key stage 2 (age 11) meeting the expected standard in "
        "reading, writing and maths combined.",
    ),
    Indicator(
        id="schools.gcse_english_maths", title="Pupils achieving grade 4 or above in English and maths GCSEs",
        sector=SECTOR, measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="DfE, Key stage 4 performance",
        definition="Percentage of pupils at the end of key stage 4 achieving grade 4 or above in both English "
        "and maths GCSEs (grade C before the 9 to 1 grades).",
    ),
    Indicator(
        id="schools.attainment8", title="Average Attainment 8 score", sector=SECTOR, measure="mean", multiplier=1,
        polarity="higher_is_better", unit="points", source="DfE, Key stage 4 performance",
        definition="Mean of pupils' Attainment 8 scores: points across eight GCSE-level qualifications including "
        "English and maths, double-weighted, out of a maximum of 90.",
    ),
    Indicator(
        id="schools.persistent_absence", title="Pupils who are persistently absent", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="lower_is_better", unit="%",
        source="DfE, Pupil absence in schools in England",
        definition="Percentage of pupils missing 10% or more of their possible sessions (the threshold was 15% "
        "before 2015/16).",
    ),
    Indicator(
        id="schools.disadvantage_gap", title="Disadvantage gap index at key stage 2", sector=SECTOR, measure="score",
        multiplier=1, polarity="lower_is_better", unit="index (0 to 10)",
        source="DfE, Key stage 2 attainment: disadvantage gap index",
        definition="Gap between disadvantaged pupils and all other pupils in the mean rank of their reading, "
        "writing and maths attainment, scaled from 0 (no gap) to 10.",
    ),
    Indicator(
        id="schools.good_or_outstanding", title="Schools judged good or outstanding by Ofsted", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="Ofsted, State-funded schools inspections and outcomes",
        definition="Percentage of state-funded schools whose most recent Ofsted inspection judged overall "
        "effectiveness good or outstanding.",
    ),
    # Published breakdowns of persistent absence (no demo data: real files only).
    Indicator(
        id="schools.persistent_absence_fsm", title="Pupils eligible for free school meals who are persistently absent",
        sector=SECTOR, measure="proportion", multiplier=100, polarity="lower_is_better", unit="%",
        source="DfE, Pupil absence in schools in England",
        definition="Percentage of pupils eligible for free school meals missing 10% or more of their possible sessions. "
        "Minus the all-pupil rate it gives a disadvantage gap in attendance.",
    ),
    Indicator(
        id="schools.persistent_absence_looked_after", title="Looked-after children who are persistently absent",
        sector=SECTOR, measure="proportion", multiplier=100, polarity="lower_is_better", unit="%",
        source="DfE, Outcomes for children in need, including children looked after by local authorities",
        definition="Percentage of children looked after by the local authority (continuously for 12 months to "
        "31 March) missing 10% or more of their possible sessions.",
    ),
)

MODELS: dict[str, Model] = {
    "schools.ks2_expected_standard": Model(baseline=53.0, trend=0.035, tau=0.12, gradient=-0.20, spend=0.4,
                                           efficiency=0.2, denominator_per_head=0.0115),
    "schools.gcse_english_maths": Model(baseline=63.0, trend=0.015, tau=0.14, gradient=-0.25, spend=0.4,
                                        efficiency=0.2, denominator_per_head=0.011),
    "schools.attainment8": Model(baseline=46.5, trend=0.1, tau=1.8, gradient=-2.8, spend=6.0, efficiency=1.2,
                                 sd=19.0, denominator_per_head=0.011),
    "schools.persistent_absence": Model(baseline=11.0, trend=0.075, tau=0.15, gradient=0.22, spend=0.3,
                                        efficiency=0.2, denominator_per_head=0.14),
    "schools.disadvantage_gap": Model(baseline=3.2, trend=-0.02, tau=0.25, gradient=0.15, spend=0.8, efficiency=0.2,
                                      sd=3.0, denominator_per_head=0.003),
    "schools.good_or_outstanding": Model(baseline=84.0, trend=0.05, tau=0.30, gradient=-0.15, spend=0.5,
                                         efficiency=0.35, denominator_per_head=0.0004),
}

ELS_INDICATORS: dict[str, str] = {
    "Pupils meeting the expected standard in reading, writing and maths": "schools.ks2_expected_standard",
    "GCSEs in English and Maths": "schools.gcse_english_maths",
    "Persistent absences for all pupils": "schools.persistent_absence",
    "Persistent absences for pupils eligible for free school meals": "schools.persistent_absence_fsm",
    "Persistent absences for pupils looked after by local authorities": "schools.persistent_absence_looked_after",
}
