"""The welfare plugin: contract, ELS mappings and demo data."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import publicservices as ps
from publicservices.plugin_api import DemoNation, check_plugin

from publicservices_welfare import INDICATORS, plugin

# The demo nation with this sector's declared spend (whatever else is installed).
SPEND = {plugin.sector.id: plugin.sector.demo}

FIXTURES = Path(__file__).parent / "fixtures"


def test_contract():
    result = check_plugin("publicservices-welfare", reader_fixtures={"welfare-els": FIXTURES / "els_welfare.csv"})
    assert result.ok and len(result.indicators) >= 6 and result.sectors == ["welfare"]


def test_indicator_metadata():
    by_id = {i.id: i for i in INDICATORS}
    assert by_id["welfare.claimant_rate"].polarity == "lower_is_better"
    assert by_id["welfare.pip_clearance_days"].measure == "mean"
    assert by_id["welfare.pip_clearance_days"].unit == "days"


def test_els_welfare_file():
    result = ps.read(FIXTURES / "els_welfare.csv")
    assert set(result.values.get_column("indicator_id")) == {
        "welfare.claimant_rate",
        "welfare.children_low_income",
        "welfare.children_low_income_ahc",
    }
    assert result.report.missing == {"confidential or suppressed (status c)": 1}
    claimant = result.values.filter(pl.col("indicator_id") == "welfare.claimant_rate")
    assert set(claimant.get_column("period")) == {"2024"}  # a calendar year


def test_demo_claimant_rate_follows_deprivation():
    nation = DemoNation(seed=0, spend=SPEND)
    truth = (
        plugin.generate(nation)
        .truth["values"]
        .filter(pl.col("indicator_id") == "welfare.claimant_rate", pl.col("period") == "2014/15")
    )
    joined = truth.join(nation.areas.select("area_code", "deprivation"), on="area_code")
    assert joined.select(pl.corr("true_value", "deprivation")).item() > 0.5


def test_every_els_catalogue_indicator_is_mapped_and_judged():
    from publicservices_welfare.indicators import ELS_CATALOGUE, ELS_INDICATORS

    by_id = {i.id: i for i in INDICATORS}
    assert set(ELS_INDICATORS.values()) <= set(by_id)
    assert {i.id for i in ELS_CATALOGUE} <= set(ELS_INDICATORS.values())
    for ind in ELS_CATALOGUE:
        if ind.is_context:  # pay and household income: economic context, not compared
            assert ind.polarity == "no_judgement" and "Context, not compared" in ind.definition
        else:
            assert ind.polarity != "no_judgement" and "Direction" in ind.definition
    assert {i.id for i in ELS_CATALOGUE if i.is_context} == {"welfare.median_weekly_pay", "welfare.gdhi_per_head"}
    assert by_id["welfare.unemployment_rate"].polarity == "lower_is_better"


def test_employment_and_economic_inactivity_do_not_cancel_out(tmp_path):
    path = tmp_path / "employment-rate.csv"
    path.write_text(
        "area_code,indicator,period_start,period_length,value\n"
        "E06000001,Employment rate,2023-01-01,P1Y,70.2\n"
        "E06000001,Economically inactive,2023-01-01,P1Y,24.9\n",
        encoding="utf-8",
    )
    result = ps.read(path)
    polarity = {i: result.indicators[i].polarity for i in result.values.get_column("indicator_id")}
    assert polarity == {"welfare.employment_rate": "higher_is_better", "welfare.economic_inactivity": "lower_is_better"}
