"""Welfare and employment indicators, modelled on DWP and ONS measures, and their demo models."""

from __future__ import annotations

from publicservices.plugin_api import Indicator, Model

SECTOR = "welfare"

_CORE: tuple[Indicator, ...] = (
    Indicator(
        id="welfare.claimant_rate",
        title="Claimant count rate (aged 16 to 64)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DWP and ONS, Claimant count (Nomis)",
        definition="People claiming Jobseeker's Allowance, or Universal Credit principally because they are "
        "unemployed, as a percentage of residents aged 16 to 64.",
    ),
    Indicator(
        id="welfare.employment_rate",
        title="Employment rate (aged 16 to 64)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="ONS, Annual Population Survey",
        definition="Percentage of residents aged 16 to 64 in employment (Annual Population Survey estimate).",
    ),
    Indicator(
        id="welfare.children_low_income",
        title="Children in relative low-income families (before housing costs)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DWP and HMRC, Children in low income families: local area statistics",
        definition="Children under 16 living in families with income below 60% of the UK median before housing "
        "costs (claiming Child Benefit and at least one other benefit), as a percentage of children under 16.",
    ),
    Indicator(
        id="welfare.uc_paid_on_time",
        title="Universal Credit new claims paid in full and on time",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="DWP, Universal Credit statistics: timeliness of first payments",
        definition="Percentage of new Universal Credit claims whose first payment was made in full and on time.",
    ),
    Indicator(
        id="welfare.job_outcomes",
        title="Employment support participants achieving a job outcome",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="DWP, Work and Health Programme and Restart Scheme statistics",
        definition="Percentage of people starting employment support who achieve a job outcome (sustained "
        "earnings) within the programme period.",
    ),
    Indicator(
        id="welfare.pip_clearance_days",
        title="Mean days to clear a new Personal Independence Payment claim",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="lower_is_better",
        unit="days",
        source="DWP, Personal Independence Payment statistics: clearance times",
        definition="Mean number of calendar days from registration of a new PIP claim to the decision (end-to-end "
        "clearance time).",
    ),
    # Published alongside the BHC measure (no demo data: real files only).
    Indicator(
        id="welfare.children_low_income_ahc",
        title="Children in relative poverty (after housing costs)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        source="DWP and HMRC, Children in low income families, via ONS Explore local statistics",
        definition="Percentage of children living in households with income below 60% of the UK median after "
        "housing costs (modelled local estimates).",
    ),
)

_APS = "ONS, Annual Population Survey (official statistics in development), via ONS Explore local statistics"
_LFS_NI = "NISRA, Labour Force Survey, via ONS Explore local statistics"

# Every work, income and poverty indicator of ONS Explore local statistics (ELS), from its metadata
# catalogue (../shared/data/els_metadata). The direction is our judgement; the reason is in the definition.
ELS_CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        id="welfare.economic_inactivity",
        title="Economic inactivity rate (aged 16 to 64, Great Britain)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source=_APS,
        definition="Percentage of residents aged 16 to 64 who are neither in work nor looking for and available for work "
        "(students, carers, long-term sick, early retired ...). Direction: lower is better, the mirror of the employment "
        "rate (higher is better); read it beside the share of students.",
    ),
    Indicator(
        id="welfare.employment_rate_ni",
        title="Employment rate (aged 16 to 64, Northern Ireland)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        decimals=1,
        source=_LFS_NI,
        definition="Percentage of residents aged 16 to 64 in paid work or temporarily away from a job, in Northern Ireland "
        "(a different survey from the Great Britain series). Direction: higher is better.",
    ),
    Indicator(
        id="welfare.economic_inactivity_ni",
        title="Economic inactivity rate (aged 16 to 64, Northern Ireland)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source=_LFS_NI,
        definition="Percentage of residents aged 16 to 64 who are neither in work nor looking for and available for work, in "
        "Northern Ireland. Direction: lower is better, the mirror of the employment rate.",
    ),
    Indicator(
        id="welfare.unemployment_rate",
        title="Unemployment rate, model-based (aged 16 and over)",
        sector=SECTOR,
        measure="proportion",
        multiplier=100,
        polarity="lower_is_better",
        unit="%",
        decimals=1,
        source="ONS, model-based estimates of unemployment for local authorities (official statistics in development), "
        "via ONS Explore local statistics",
        definition="Percentage of economically active people aged 16 and over who are without a job, have looked for work in "
        "the last four weeks and can start within two weeks (ILO definition), modelled from the Annual Population Survey and "
        "the claimant count. Direction: lower is better.",
    ),
    # Economic context: pay and income describe the local economy and cost of living, which public
    # services do not set; they explain outcomes and are not published as comparisons.
    Indicator(
        id="welfare.median_weekly_pay",
        title="Gross median weekly pay of residents",
        sector=SECTOR,
        measure="score",
        multiplier=1,
        polarity="no_judgement",
        role="context",
        unit="£ per week",
        decimals=0,
        source="ONS and NISRA, Annual Survey of Hours and Earnings (resident analysis), via ONS Explore local statistics",
        definition="Median gross weekly pay of all employee jobs (full- and part-time) held by people living in the area, in "
        "April, in pounds at current prices. Context, not compared: pay is set by the labour market and not adjusted for "
        "local prices or housing costs.",
    ),
    Indicator(
        id="welfare.gdhi_per_head",
        title="Gross disposable household income per head",
        sector=SECTOR,
        measure="mean",
        multiplier=1,
        polarity="no_judgement",
        role="context",
        unit="£ per head",
        decimals=0,
        source="ONS, Regional gross disposable household income, via ONS Explore local statistics",
        definition="Money each resident has, on average, for spending or saving after taxes and direct benefits, in pounds "
        "at current prices. Context, not compared: it measures the local economy and is not adjusted for local prices or "
        "housing costs.",
    ),
)

# Everything the plugin registers: the modelled indicators, then the ELS catalogue.
INDICATORS: tuple[Indicator, ...] = (*_CORE, *ELS_CATALOGUE)

MODELS: dict[str, Model] = {
    "welfare.claimant_rate": Model(
        baseline=2.4, trend=0.06, tau=0.30, gradient=0.45, spend=0.3, efficiency=0.2, denominator_per_head=0.62
    ),
    "welfare.employment_rate": Model(
        baseline=72.0, trend=0.02, tau=0.12, gradient=-0.22, spend=0.3, efficiency=0.15, denominator_per_head=0.003
    ),
    "welfare.children_low_income": Model(
        baseline=17.0, trend=0.03, tau=0.15, gradient=0.40, spend=0.3, efficiency=0.15, denominator_per_head=0.19
    ),
    "welfare.uc_paid_on_time": Model(
        baseline=80.0, trend=0.10, tau=0.30, gradient=-0.05, spend=0.6, efficiency=0.4, denominator_per_head=0.02
    ),
    "welfare.job_outcomes": Model(
        baseline=28.0, trend=0.02, tau=0.18, gradient=-0.15, spend=0.5, efficiency=0.3, denominator_per_head=0.004
    ),
    "welfare.pip_clearance_days": Model(
        baseline=105.0, trend=-1.0, tau=8.0, gradient=3.0, spend=40.0, efficiency=10.0, sd=45.0, denominator_per_head=0.005
    ),
}

# ONS Explore local statistics indicator names -> our ids. Names as in the CSV's `indicator` column
# (for files with several indicators, the keys of the metadata sidecar), plus the sidecar's label and
# names earlier releases used; matching ignores case and repeated spaces.
ELS_INDICATORS: dict[str, str] = {
    "Claimant Count": "welfare.claimant_rate",
    "Children in relative poverty before housing costs": "welfare.children_low_income",
    "Children in relative poverty after housing costs": "welfare.children_low_income_ahc",
    # employment-rate: CSV names, then the sidecar labels (higher employment is better; higher inactivity is not)
    "Employment rate": "welfare.employment_rate",
    "Employment rate (Great Britain)": "welfare.employment_rate",
    "Economically inactive": "welfare.economic_inactivity",
    "Economic inactivity rate (Great Britain)": "welfare.economic_inactivity",
    "Employment rate (Northern Ireland)": "welfare.employment_rate_ni",
    "Economically inactive (Northern Ireland)": "welfare.economic_inactivity_ni",
    "Economic inactivity rate (Northern Ireland)": "welfare.economic_inactivity_ni",
    "Modelled unemployment rate": "welfare.unemployment_rate",
    "Aged 16 years and over modelled unemployment": "welfare.unemployment_rate",
    "Gross median weekly pay": "welfare.median_weekly_pay",
    "Gross disposable household income per head": "welfare.gdhi_per_head",
}
