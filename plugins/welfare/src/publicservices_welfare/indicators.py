"""Welfare and employment indicators, modelled on DWP and ONS measures, and their demo models."""

from __future__ import annotations

from publicservices.indicators import Indicator
from publicservices.synthetic.model import Model

SECTOR = "welfare"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="welfare.claimant_rate", title="Claimant count rate (aged 16 to 64)", sector=SECTOR, measure="proportion",
        multiplier=100, polarity="lower_is_better", unit="%", source="DWP and ONS, Claimant count (Nomis)",
        definition="People claiming Jobseeker's Allowance, or Universal Credit principally because they are "
        "unemployed, as a percentage of residents aged 16 to 64.",
    ),
    Indicator(
        id="welfare.employment_rate", title="Employment rate (aged 16 to 64)", sector=SECTOR, measure="proportion",
        multiplier=100, polarity="higher_is_better", unit="%", source="ONS, Annual Population Survey",
        definition="Percentage of residents aged 16 to 64 in employment (Annual Population Survey estimate).",
    ),
    Indicator(
        id="welfare.children_low_income", title="Children in relative low-income families (before housing costs)",
        sector=SECTOR, measure="proportion", multiplier=100, polarity="lower_is_better", unit="%",
        source="DWP and HMRC, Children in low income families: local area statistics",
        definition="Children under 16 living in families with income below 60% of the UK median before housing "
        "costs (claiming Child Benefit and at least one other benefit), as a percentage of children under 16.",
    ),
    Indicator(
        id="welfare.uc_paid_on_time", title="Universal Credit new claims paid in full and on time", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="DWP, Universal Credit statistics: timeliness of first payments",
        definition="Percentage of new Universal Credit claims whose first payment was made in full and on time.",
    ),
    Indicator(
        id="welfare.job_outcomes", title="Employment support participants achieving a job outcome", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="higher_is_better", unit="%",
        source="DWP, Work and Health Programme and Restart Scheme statistics",
        definition="Percentage of people starting employment support who achieve a job outcome (sustained "
        "earnings) within the programme period.",
    ),
    Indicator(
        id="welfare.pip_clearance_days", title="Mean days to clear a new Personal Independence Payment claim",
        sector=SECTOR, measure="mean", multiplier=1, polarity="lower_is_better", unit="days",
        source="DWP, Personal Independence Payment statistics: clearance times",
        definition="Mean number of calendar days from registration of a new PIP claim to the decision (end-to-end "
        "clearance time).",
    ),
    # Published alongside the BHC measure (no demo data: real files only).
    Indicator(
        id="welfare.children_low_income_ahc", title="Children in relative poverty (after housing costs)", sector=SECTOR,
        measure="proportion", multiplier=100, polarity="lower_is_better", unit="%",
        source="DWP and HMRC, Children in low income families, via ONS Explore local statistics",
        definition="Percentage of children living in households with income below 60% of the UK median after "
        "housing costs (modelled local estimates).",
    ),
)

MODELS: dict[str, Model] = {
    "welfare.claimant_rate": Model(baseline=2.4, trend=0.06, tau=0.30, gradient=0.45, spend=0.3, efficiency=0.2,
                                   denominator_per_head=0.62),
    "welfare.employment_rate": Model(baseline=72.0, trend=0.02, tau=0.12, gradient=-0.22, spend=0.3, efficiency=0.15,
                                     denominator_per_head=0.003),
    "welfare.children_low_income": Model(baseline=17.0, trend=0.03, tau=0.15, gradient=0.40, spend=0.3,
                                         efficiency=0.15, denominator_per_head=0.19),
    "welfare.uc_paid_on_time": Model(baseline=80.0, trend=0.10, tau=0.30, gradient=-0.05, spend=0.6, efficiency=0.4,
                                     denominator_per_head=0.02),
    "welfare.job_outcomes": Model(baseline=28.0, trend=0.02, tau=0.18, gradient=-0.15, spend=0.5, efficiency=0.3,
                                  denominator_per_head=0.004),
    "welfare.pip_clearance_days": Model(baseline=105.0, trend=-1.0, tau=8.0, gradient=3.0, spend=40.0, efficiency=10.0,
                                        sd=45.0, denominator_per_head=0.005),
}

ELS_INDICATORS: dict[str, str] = {
    "Claimant Count": "welfare.claimant_rate",
    "Children in relative poverty before housing costs": "welfare.children_low_income",
    "Children in relative poverty after housing costs": "welfare.children_low_income_ahc",
}
