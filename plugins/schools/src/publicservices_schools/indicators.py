"""School indicators, modelled on national Department for Education and Ofsted measures, and their demo models."""

from __future__ import annotations

from publicservices.plugin_api import Indicator, Model, RecordDefinition

SECTOR = "schools"

_CORE: tuple[Indicator, ...] = (
    Indicator(
        id="schools.ks2_expected_standard",
        title="Pupils meeting the expected standard in reading, writing and maths (KS2)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="DfE, Key stage 2 attainment (national curriculum assessments)",
        definition="Percentage of pupils at the end of key stage 2 (age 11) meeting the expected standard in "
        "reading, writing and maths combined.",
    ),
    Indicator(
        id="schools.gcse_english_maths",
        title="Pupils achieving grade 4 or above in English and maths GCSEs",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="DfE, Key stage 4 performance",
        definition="Percentage of pupils at the end of key stage 4 achieving grade 4 or above in both English "
        "and maths GCSEs (grade C before the 9 to 1 grades).",
    ),
    Indicator(
        id="schools.attainment8",
        title="Average Attainment 8 score",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="higher_is_better",
        unit="points",
        source="DfE, Key stage 4 performance",
        definition="Mean of pupils' Attainment 8 scores: points across eight GCSE-level qualifications including "
        "English and maths, double-weighted, out of a maximum of 90. From records: the mean over pupils at the "
        "end of key stage 4 who have a score (pupils not entered have none).",
        records=RecordDefinition(source="schools.ks4_pupils", periods="academic_year", value_column="attainment8"),
    ),
    Indicator(
        id="schools.persistent_absence",
        title="Pupils who are persistently absent",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DfE, Pupil absence in schools in England",
        definition="Percentage of pupils missing 10% or more of their possible sessions (the threshold was 15% before 2015/16).",
    ),
    Indicator(
        id="schools.disadvantage_gap",
        title="Disadvantage gap index at key stage 2",
        sector=SECTOR,
        measure="score",
        multiplier=1,
        polarity="lower_is_better",
        unit="index (0 to 10)",
        source="DfE, Key stage 2 attainment: disadvantage gap index",
        definition="Gap between disadvantaged pupils and all other pupils in the mean rank of their reading, "
        "writing and maths attainment, scaled from 0 (no gap) to 10.",
    ),
    Indicator(
        id="schools.good_or_outstanding",
        title="Schools judged good or outstanding by Ofsted",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="Ofsted, State-funded schools inspections and outcomes",
        definition="Percentage of state-funded schools whose most recent Ofsted inspection judged overall "
        "effectiveness good or outstanding.",
    ),
    # Published with intervals by DfE. The progress domain of the schools report cards (NYC's
    # "student progress", 60% of the grade).
    Indicator(
        id="schools.progress8",
        title="Average Progress 8 score",
        sector=SECTOR,
        measure="score",
        multiplier=1,
        polarity="higher_is_better",
        unit="score",
        decimals=2,
        source="DfE, Key stage 4 performance",
        definition="Mean of pupils' Progress 8 scores: how far their Attainment 8 lies above or below that of pupils "
        "nationally with the same key stage 2 results, in grades per subject (0 is the national average). DfE "
        "publishes it with a 95% confidence interval.",
    ),
    # Published breakdowns of persistent absence (no demo data: real files only).
    Indicator(
        id="schools.persistent_absence_fsm",
        title="Pupils eligible for free school meals who are persistently absent",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DfE, Pupil absence in schools in England",
        definition="Percentage of pupils eligible for free school meals missing 10% or more of their possible sessions. "
        "Minus the all-pupil rate it gives a disadvantage gap in attendance.",
    ),
    Indicator(
        id="schools.persistent_absence_looked_after",
        title="Looked-after children who are persistently absent",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DfE, Outcomes for children in need, including children looked after by local authorities",
        definition="Percentage of children looked after by the local authority (continuously for 12 months to "
        "31 March) missing 10% or more of their possible sessions.",
    ),
)

_DFE_ELS = "DfE, Further education and skills statistics, via ONS Explore local statistics"
_MISSION = (
    "Direction: higher is better, as national skills policy (the levelling-up skills mission) aims to raise it; "
    "a rate per head of residents, it measures take-up, not the quality of provision."
)

# Every education and skills indicator of ONS Explore local statistics (ELS), from its metadata
# catalogue (../shared/data/els_metadata). The direction is our judgement; the reason is in the definition.
ELS_CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        id="schools.eyfs_communication_language",
        title="Children at the expected level in communication and language (age 5)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source="DfE, Early years foundation stage profile results, via ONS Explore local statistics",
        definition="Percentage of children at the end of the early years foundation stage (reception, age 5) at the expected "
        "level in all communication and language early learning goals. Direction: higher is better.",
    ),
    Indicator(
        id="schools.eyfs_literacy",
        title="Children at the expected level in literacy (age 5)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source="DfE, Early years foundation stage profile results, via ONS Explore local statistics",
        definition="Percentage of children at the end of the early years foundation stage (reception, age 5) at the expected "
        "level in all literacy early learning goals. Direction: higher is better.",
    ),
    Indicator(
        id="schools.eyfs_maths",
        title="Children at the expected level in mathematics (age 5)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source="DfE, Early years foundation stage profile results, via ONS Explore local statistics",
        definition="Percentage of children at the end of the early years foundation stage (reception, age 5) at the expected "
        "level in all mathematics early learning goals. Direction: higher is better.",
    ),
    Indicator(
        id="schools.qualifications_level3",
        title="Adults aged 16 to 64 qualified to level 3 or above (Great Britain)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source="ONS, Annual Population Survey (official statistics in development), via ONS Explore local statistics",
        definition="Percentage of residents aged 16 to 64 whose highest qualification is at RQF level 3 (A level or "
        "equivalent) or above. Direction: higher is better.",
    ),
    Indicator(
        id="schools.qualifications_level3_ni",
        title="Adults aged 16 to 64 qualified to level 3 or above (Northern Ireland)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source="NISRA, Labour Force Survey: highest qualification, via ONS Explore local statistics",
        definition="Percentage of residents aged 16 to 64 whose highest qualification is at RQF level 3 or above, in "
        "Northern Ireland (a different survey from the Great Britain series). Direction: higher is better.",
    ),
    Indicator(
        id="schools.no_qualifications",
        title="Adults aged 16 to 64 with no qualifications",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source="ONS, Annual Population Survey (official statistics in development), via ONS Explore local statistics",
        definition="Percentage of residents aged 16 to 64 with no qualifications, in Great Britain. Direction: lower is better.",
    ),
    Indicator(
        id="schools.fe_participation",
        title="Adults in further education and skills learning, per 100,000",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source=_DFE_ELS,
        definition="Learners aged 19 and over taking part in at least one government-funded further education, training or "
        "apprenticeship learning aim in the academic year, per 100,000 residents. " + _MISSION,
    ),
    Indicator(
        id="schools.fe_achievements",
        title="Adults achieving a further education and skills qualification, per 100,000",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source=_DFE_ELS,
        definition="Learners aged 19 and over who completed at least one government-funded further education, training or "
        "apprenticeship learning aim in the academic year, per 100,000 residents. " + _MISSION,
    ),
    Indicator(
        id="schools.apprenticeship_starts",
        title="Apprenticeship starts per 100,000 (England)",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source=_DFE_ELS,
        definition="Apprenticeships started by people aged 16 and over, by home address, per 100,000 residents, in the "
        "academic year. " + _MISSION,
    ),
    Indicator(
        id="schools.apprenticeship_achievements",
        title="Apprenticeship achievements per 100,000 (England)",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source=_DFE_ELS,
        definition="Apprenticeships completed by people aged 16 and over, by home address, per 100,000 residents, in the "
        "academic year. " + _MISSION,
    ),
    Indicator(
        id="schools.apprenticeship_starts_scotland",
        title="Modern apprenticeship starts per 100,000 (Scotland)",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source="Skills Development Scotland, Modern Apprenticeship statistics, via ONS Explore local statistics",
        definition="Modern apprenticeships started by people aged 16 and over, by home address, per 100,000 residents, in "
        "the financial year. " + _MISSION,
    ),
    Indicator(
        id="schools.apprenticeship_achievements_scotland",
        title="Modern apprenticeship achievements per 100,000 (Scotland)",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source="Skills Development Scotland, Modern Apprenticeship statistics, via ONS Explore local statistics",
        definition="Modern apprenticeships achieved by people aged 16 and over, by home address, per 100,000 residents, in "
        "the financial year. " + _MISSION,
    ),
    Indicator(
        id="schools.apprenticeship_starts_ni",
        title="Apprenticeship starts per 100,000 (Northern Ireland)",
        sector=SECTOR,
        measure="rate",
        multiplier=100_000,
        polarity="higher_is_better",
        unit="per 100,000",
        decimals=0,
        source="Department for the Economy (Northern Ireland), ApprenticeshipsNI and further and higher education "
        "statistics, via ONS Explore local statistics",
        definition="Apprenticeships started by people aged 16 and over, by home address, per 100,000 residents, in the "
        "academic year, in Northern Ireland. " + _MISSION,
    ),
)

# Everything the plugin registers: the modelled indicators and published breakdowns, then the ELS catalogue.
INDICATORS: tuple[Indicator, ...] = (*_CORE, *ELS_CATALOGUE)

MODELS: dict[str, Model] = {
    "schools.ks2_expected_standard": Model(
        baseline=53.0, trend=0.035, tau=0.12, gradient=-0.20, spend=0.4, efficiency=0.2, denominator_per_head=0.0115
    ),
    "schools.gcse_english_maths": Model(
        baseline=63.0, trend=0.015, tau=0.14, gradient=-0.25, spend=0.4, efficiency=0.2, denominator_per_head=0.011
    ),
    "schools.attainment8": Model(
        baseline=46.5, trend=0.1, tau=1.8, gradient=-2.8, spend=6.0, efficiency=1.2, sd=19.0, denominator_per_head=0.011
    ),
    # Progress 8 is centred on the national average (0) by construction; local authorities'
    # averages spread about 0.15 around it, and a pupil's score about 1.2
    "schools.progress8": Model(
        baseline=0.0, tau=0.15, gradient=-0.08, spend=0.04, efficiency=0.04, sd=1.2, denominator_per_head=0.011
    ),
    "schools.persistent_absence": Model(
        baseline=11.0, trend=0.075, tau=0.15, gradient=0.22, spend=0.3, efficiency=0.2, denominator_per_head=0.14
    ),
    # each area's gap has its own trend (SD 0.03 a year around the nation's -0.02): some narrow
    # fast, some widen -- the truth the schools report cards' closing-the-gap credit is tested on
    "schools.disadvantage_gap": Model(
        baseline=3.2,
        trend=-0.02,
        trend_sd=0.03,
        tau=0.25,
        gradient=0.15,
        spend=0.8,
        efficiency=0.2,
        sd=3.0,
        denominator_per_head=0.003,
    ),
    "schools.good_or_outstanding": Model(
        baseline=84.0, trend=0.05, tau=0.30, gradient=-0.15, spend=0.5, efficiency=0.35, denominator_per_head=0.0004
    ),
}

# ONS Explore local statistics indicator names -> our ids. Names as in the CSV's `indicator` column
# (for files with several indicators, the keys of the metadata sidecar), plus the sidecar's label and
# names earlier releases used; matching ignores case and repeated spaces.
ELS_INDICATORS: dict[str, str] = {
    "Pupils meeting the expected standard in reading, writing and maths": "schools.ks2_expected_standard",
    "Pupils meeting the expected standard in reading, writing and maths at the end of Key Stage 2": "schools.ks2_expected_standard",
    "GCSEs in English and Maths": "schools.gcse_english_maths",
    "Persistent absences for all pupils": "schools.persistent_absence",
    "Persistent absences for pupils eligible for free school meals": "schools.persistent_absence_fsm",
    "Persistent absences for pupils looked after by local authorities": "schools.persistent_absence_looked_after",
    # early-years: CSV names, then the sidecar labels
    "Communication and language": "schools.eyfs_communication_language",
    "Literacy": "schools.eyfs_literacy",
    "Mathematics": "schools.eyfs_maths",
    "Communication and language skills by end of early years foundation stage": "schools.eyfs_communication_language",
    "Literacy skills by end of early years foundation stage": "schools.eyfs_literacy",
    "Maths skills by end of early years foundation stage": "schools.eyfs_maths",
    "Level 3 or above qualifications (Great Britain)": "schools.qualifications_level3",
    "Aged 16 to 64 years level 3 or above qualifications": "schools.qualifications_level3",
    "Level 3 or above qualifications (Northern Ireland)": "schools.qualifications_level3_ni",
    "No qualifications": "schools.no_qualifications",
    "Aged 16 to 64 years with no qualifications (Great Britain)": "schools.no_qualifications",
    "Further education and skills participation": "schools.fe_participation",
    "Aged 19 years and over further education and skills participation": "schools.fe_participation",
    "Further education and skills learner achievements": "schools.fe_achievements",
    "Aged 19 years and over further education and skills learner achievements": "schools.fe_achievements",
    "Apprenticeship starts (England)": "schools.apprenticeship_starts",
    "Apprenticeship achievements (England)": "schools.apprenticeship_achievements",
    "Apprenticeship starts (Scotland)": "schools.apprenticeship_starts_scotland",
    "Apprenticeship achievements (Scotland)": "schools.apprenticeship_achievements_scotland",
    "Apprenticeship starts (Northern Ireland)": "schools.apprenticeship_starts_ni",
}

# DfE Explore education statistics column names -> our ids: the standard variables of the key
# stage 2 and key stage 4 releases (all pupils; a file of one group of pupils is read generically).
EES_INDICATORS: dict[str, str] = {
    "pt_rwm_met_expected_standard": "schools.ks2_expected_standard",
    "pt_l2basics_94": "schools.gcse_english_maths",
    "avg_att8": "schools.attainment8",
    "avg_p8score": "schools.progress8",
}
