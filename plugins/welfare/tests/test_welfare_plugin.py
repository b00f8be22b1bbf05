"""The welfare plugin: contract, ELS mappings and demo data."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import publicservices as ps
from publicservices.synthetic import DemoNation
from publicservices.testing import check_plugin

from publicservices_welfare import INDICATORS, generate

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
        "welfare.claimant_rate", "welfare.children_low_income", "welfare.children_low_income_ahc"}
    assert result.report.missing == {"confidential or suppressed (status c)": 1}
    claimant = result.values.filter(pl.col("indicator_id") == "welfare.claimant_rate")
    assert set(claimant.get_column("period")) == {"2024"}  # a calendar year


def test_demo_claimant_rate_follows_deprivation():
    nation = DemoNation(seed=0)
    truth = generate(nation).truth["values"].filter(pl.col("indicator_id") == "welfare.claimant_rate", pl.col("period") == "2014/15")
    joined = truth.join(nation.areas.select("area_code", "deprivation"), on="area_code")
    assert joined.select(pl.corr("true_value", "deprivation")).item() > 0.5
