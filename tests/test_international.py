"""International comparison: a country among other countries, with uncertainty on both sides.

Checked against differences computed by hand from the OECD PISA file, the linear-combination
variance of a difference from an average that includes the country, and properties
(antisymmetry, invariance to a common shift, the rank set holding the point rank).
"""

from __future__ import annotations

import csv
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import DataError, SchemaError
from publicservices.stats import compare_countries, rank_confidence_sets

Z = 1.959963984540054
PISA = "intl_pisa_2018_2022_oecd.csv"


@pytest.fixture
def pisa(shared_data):
    return ps.read(shared_data(PISA)).to_dataset()


@pytest.fixture
def pisa_rows(shared_data):
    with open(shared_data(PISA), encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["year"] == "2022" and r["subject"] == "mathematics"]


def test_differences_are_those_computed_by_hand_from_the_pisa_file(pisa, pisa_rows):
    uk = next(r for r in pisa_rows if r["country"] == "United Kingdom")
    fi = next(r for r in pisa_rows if r["country"] == "Finland")
    diff = float(uk["mean_score"]) - float(fi["mean_score"])
    se = math.sqrt(float(uk["standard_error"]) ** 2 + float(fi["standard_error"]) ** 2)
    out = compare_countries(pisa, "GBR").filter(pl.col("indicator_id") == "schools.pisa_mathematics", pl.col("period") == "2022")
    row = out.filter(pl.col("versus") == "FIN").row(0, named=True)
    assert row["difference"] == pytest.approx(diff, abs=1e-9)
    assert (row["difference_lower"], row["difference_upper"]) == pytest.approx((diff - Z * se, diff + Z * se), abs=1e-9)
    assert row["comparison"] == ("not distinguishable" if abs(diff) < Z * se else ("better" if diff > 0 else "worse"))
    # the OECD average: the mean of the 37 member means reported for 2022 (Luxembourg did not report)
    means = [float(r["mean_score"]) for r in pisa_rows]
    ses = np.array([float(r["standard_error"]) for r in pisa_rows])
    average = out.filter(pl.col("versus") == "average").row(0, named=True)
    n = len(means)
    assert n == 37 and average["versus_value"] == pytest.approx(sum(means) / n)
    assert average["versus_value"] == pytest.approx(472.36, abs=0.01)  # OECD: 472 points
    # its variance as a linear combination: the UK weighs 1 - 1/n, every other country -1/n
    weights = np.array([1 - 1 / n if r["country"] == "United Kingdom" else -1 / n for r in pisa_rows])
    sd = math.sqrt(float(np.sum(weights**2 * ses**2)))
    assert average["difference"] == pytest.approx(float(uk["mean_score"]) - sum(means) / n)
    assert average["difference_upper"] - average["difference"] == pytest.approx(Z * sd)
    assert average["comparison"] == "better"  # 489 against 472, se about 2.2
    assert (row["rank"], row["n_countries"]) == (10, 37)
    assert row["rank_lower"] <= 10 <= row["rank_upper"]


def test_the_rank_set_is_the_marginal_rank_confidence_set(pisa):
    out = compare_countries(pisa, "GBR", n_boot=500, seed=3)
    direct = rank_confidence_sets(
        pisa.values.rename({"standard_error": "se"}),
        estimate="value",
        se="se",
        by=["indicator_id", "period"],
        kind="marginal",
        n_boot=500,
        seed=3,
        indicators=pisa.indicators,
    )
    mine = direct.filter(pl.col("area_code") == "GBR").select("indicator_id", "period", "rank_lower", "rank_upper")
    got = out.group_by("indicator_id", "period").agg(pl.col("rank_lower").first(), pl.col("rank_upper").first())
    assert (
        got.join(mine, on=["indicator_id", "period"])
        .select((pl.col("rank_lower") == pl.col("rank_lower_right")) & (pl.col("rank_upper") == pl.col("rank_upper_right")))
        .to_series()
        .all()
    )


def _table(values, ses):
    n = len(values)
    return pl.DataFrame(
        {
            "indicator_id": ["x"] * n,
            "area_code": [f"C{i}" for i in range(n)],
            "period": ["2022"] * n,
            "value": values,
            "standard_error": ses,
        }
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(300, 600), st.floats(0.5, 8)), min_size=3, max_size=12), st.floats(-100, 100))
def test_differences_are_antisymmetric_and_unmoved_by_a_common_shift(pairs, shift):
    values, ses = [p[0] for p in pairs], [p[1] for p in pairs]
    a = compare_countries(_table(values, ses), "C0", n_boot=100)
    b = compare_countries(_table(values, ses), "C1", n_boot=100)
    ab = a.filter(pl.col("versus") == "C1").row(0, named=True)
    ba = b.filter(pl.col("versus") == "C0").row(0, named=True)
    assert ab["difference"] == pytest.approx(-ba["difference"])
    assert ab["difference_upper"] == pytest.approx(-ba["difference_lower"])
    flipped = {"higher": "lower", "lower": "higher", "not distinguishable": "not distinguishable"}
    assert flipped[ab["comparison"]] == ba["comparison"]
    shifted = compare_countries(_table([v + shift for v in values], ses), "C0", n_boot=100)
    assert np.allclose(shifted["difference"].to_numpy(), a["difference"].to_numpy(), atol=1e-6)
    assert shifted["comparison"].to_list() == a["comparison"].to_list()
    # the difference from the average is the mean of the differences from every country (itself included)
    pairwise = a.filter(pl.col("versus") != "average")["difference"].sum() / len(values)
    assert a.filter(pl.col("versus") == "average")["difference"].item() == pytest.approx(pairwise)
    first = a.row(0, named=True)
    assert first["rank_lower"] <= first["rank"] <= first["rank_upper"] <= len(values)


def test_bad_tables_name_the_problem():
    table = _table([500.0, 490.0, 480.0], [3.0, 3.0, 3.0])
    with pytest.raises(DataError, match="Did you mean 'C1'"):
        compare_countries(table, "C11")
    with pytest.raises(SchemaError, match="standard_error") as err:
        compare_countries(table.with_columns(pl.lit(None, pl.Float64).alias("standard_error")), "C0")
    assert "C0 x 2022" in str(err.value)
    with pytest.raises(DataError, match="appears twice"):
        compare_countries(pl.concat([table, table.head(1)]), "C0")


def test_the_result_says_it_in_words_and_draws_it(pisa):
    result = ps.compare_internationally(pisa, "United Kingdom", indicator="schools.pisa_mathematics", period="2022")
    (sentence,) = result.sentences()
    assert sentence.startswith("United Kingdom, PISA mathematics score, 2022: 489 score points.")
    assert "better than 20 of the 36 other countries, worse than 5" in sentence
    assert "above the average of the 37 countries" in sentence and "between 6 and 18" in sentence
    spec = result.chart().to_dict()
    assert spec["description"].startswith("United Kingdom among 37 countries, 2022: ")
    assert "rank 10 of 37" in spec["description"]
    assert "United Kingdom" in repr(result) and "<table" in result._repr_html_()
