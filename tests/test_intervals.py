"""Confidence intervals: PHEindicatormethods 2.1.0 fixtures, errors, edge cases, add_intervals,
and real Fingertips limits.

The fixtures in tests/fixtures/phe/ are PHEindicatormethods' own test data (see
/work/shared/reference/phe/README.md for provenance); every closed-form statistic must agree to
1e-9 relative.
"""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import publicservices.stats as iv
from publicservices.errors import DataError, IndicatorError, PublicServicesError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats._common import z_for
from publicservices.stats.outcomes import standard_populations as sp
from publicservices.stats.outcomes.intervals import CI_METHODS

PHE = Path(__file__).parent / "fixtures" / "phe"
RTOL = 1e-9


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(PHE / name, infer_schema_length=None)


def assert_close(actual, expected, rtol: float = RTOL, what: str = "") -> None:
    a = np.asarray(pl.Series(actual).cast(pl.Float64).fill_null(np.nan).to_numpy(), float)
    e = np.asarray(pl.Series(expected).cast(pl.Float64).fill_null(np.nan).to_numpy(), float)
    assert a.shape == e.shape, what
    assert not np.isnan(a[~np.isnan(e)]).any(), f"{what}: missing where expected has values"
    assert np.isnan(a[np.isnan(e)]).all(), f"{what}: values where expected is missing"
    both = ~np.isnan(e)
    rel = np.abs(a[both] - e[both]) / np.maximum(np.abs(e[both]), 1e-300)
    assert rel.max(initial=0.0) <= rtol, f"{what}: max relative difference {rel.max():.3g}"


# --------------------------------------------------------------------------------------------
# PHEindicatormethods fixtures
# --------------------------------------------------------------------------------------------


def test_byars_and_wilson_helpers_match_phe():
    fx = read("byars_wilson.csv")
    for conf in (0.95, 0.998):
        byars = fx.filter(pl.col("method") == "Byars", pl.col("confidence") == conf)
        got = byars.select(iv.byar_ci("x", 1.0, conf, multiplier=1.0, exact_below=0).struct.unnest())
        assert_close(got["lower"], byars["lowercl"], what=f"byars lower {conf}")
        assert_close(got["upper"], byars["uppercl"], what=f"byars upper {conf}")
        wilson = fx.filter(pl.col("method") == "Wilson", pl.col("confidence") == conf)
        got = wilson.select(iv.wilson_ci("x", "n", conf).struct.unnest())
        assert_close(got["lower"], wilson["lowercl"], what=f"wilson lower {conf}")
        assert_close(got["upper"], wilson["uppercl"], what=f"wilson upper {conf}")
    # Row 13: Byar's lower limit of 1 event at 99.8% is below zero -> missing, as in PHE.
    assert byars.filter(pl.col("row") == 13)["lowercl"].is_null().all()


@pytest.mark.parametrize("kind", ["proportion", "rate"])
def test_ungrouped_fixture(kind):
    fx = read(f"{kind}.csv")
    fn = iv.proportions if kind == "proportion" else iv.rates
    for (mult, conf), part in fx.group_by("multiplier", "confidence", maintain_order=True):
        got = fn(part, "numerator", "denominator", confidence=conf, multiplier=mult)
        assert_close(got["value"], part["value"], what=f"{kind} value x{mult}")
        assert_close(got["lower"], part["lowercl"], what=f"{kind} lower x{mult} {conf}")
        assert_close(got["upper"], part["uppercl"], what=f"{kind} upper x{mult} {conf}")
        if kind == "rate":
            expected = part["method"].replace_strict({"Exact": "exact_poisson", "Byars": "byar"}, default=None)
            assert got["ci_method"].to_list() == expected.to_list()


@pytest.mark.parametrize("kind", ["proportion", "rate"])
def test_grouped_fixture(kind):
    data = read(f"{kind}_grouped_input.csv")
    fx = read(f"{kind}_grouped_expected.csv")
    if kind == "proportion":
        got = iv.proportions(data, "numerator", "denominator", by="area", confidence=0.95)
    else:
        got = iv.rates(data, "numerator", "denominator", by="area", confidence=95)
    both = fx.join(got, on="area", how="left")
    assert both.height == fx.height == got.height
    assert_close(both["numerator"], both["numerator_sum"], what="summed numerator")
    assert_close(both["denominator"], both["denominator_sum"], what="summed denominator")
    assert_close(both["value_right"], both["value"], what="value")
    assert_close(both["lower"], both["lowercl"], what="lower")
    assert_close(both["upper"], both["uppercl"], what="upper")


def test_two_levels_in_one_call_match_single_levels():
    fx = read("proportion.csv").filter(pl.col("multiplier") == 100)
    both = iv.proportions(fx.filter(pl.col("confidence") == 0.95), "numerator", "denominator", multiplier=100)
    at998 = fx.filter(pl.col("confidence") == 0.998)
    assert_close(both["lower_95"], fx.filter(pl.col("confidence") == 0.95)["lowercl"])
    assert_close(both["lower_998"], at998["lowercl"])
    assert_close(both["upper_998"], at998["uppercl"])


def test_mean_fixture():
    data = read("mean_input.csv")
    fx = read("mean_expected.csv")
    grouped = iv.means(data, "values", by="area")
    ungrouped = iv.means(data, "values").with_columns(area=pl.lit("(ungrouped: all rows)"))
    got = pl.concat([grouped, ungrouped.select(grouped.columns)])
    both = fx.join(got, on="area")
    assert both.height == 3
    for mine, theirs in [
        ("value_sum_right", "value_sum"),
        ("value_count_right", "value_count"),
        ("stdev_right", "stdev"),
        ("value_right", "value"),
        ("lower_95", "lower95_0cl"),
        ("upper_95", "upper95_0cl"),
        ("lower_998", "lower99_8cl"),
        ("upper_998", "upper99_8cl"),
    ]:
        assert_close(both[mine], both[theirs], what=theirs)


def _check_dsr(got: pl.DataFrame, fx: pl.DataFrame, rtol: float = RTOL) -> None:
    both = fx.join(got, on="area")
    assert both.height == fx.height
    assert_close(both["total_count_right"], both["total_count"], what="total count")
    assert_close(both["total_pop_right"], both["total_pop"], what="total pop")
    for mine, theirs in [
        ("value_right", "value"),
        ("lower_95", "lower95_0cl"),
        ("upper_95", "upper95_0cl"),
        ("lower_998", "lower99_8cl"),
        ("upper_998", "upper99_8cl"),
    ]:
        assert_close(both[mine], both[theirs], rtol=rtol, what=theirs)
    suppressed = both.filter(pl.col("total_count") < 10)
    assert suppressed.height and suppressed["suppression_reason"].str.contains("< 10").all()
    assert both.filter(pl.col("total_count") >= 10)["suppression_reason"].is_null().all()


@pytest.mark.parametrize("multiplier", [10000, 100000])
def test_dsr_fixture_with_standard_column(multiplier):
    data = read("dsr_input.csv")
    fx = read("dsr_expected.csv").filter(pl.col("independent_events"), pl.col("multiplier") == multiplier)
    got = iv.dsr(data, "count", "pop", "stdpop", by="area", multiplier=multiplier)
    _check_dsr(got, fx)
    assert set(got["ci_method"]) == {"dobson"}


def test_dsr_fixture_with_shipped_standards_by_position():
    data = read("dsr_input.csv")
    fx = read("dsr_expected.csv").filter(pl.col("independent_events"), pl.col("multiplier") == 100000)
    esp2013 = iv.dsr(data.filter(pl.col("stdpop_name") == "esp2013"), "count", "pop", "esp2013", by="area")
    esp1976 = iv.dsr(data.filter(pl.col("stdpop_name") == "esp1976"), "count", "pop", sp.ESP1976, by="area")
    _check_dsr(pl.concat([esp2013, esp1976]), fx)


def test_dsr_vector_standard_with_interleaved_groups_and_two_keys():
    data = read("dsr_input.csv").filter(pl.col("stdpop_name") == "esp2013")
    data = data.with_columns(year=pl.lit("2020"), band=pl.int_range(pl.len()).over("area"))
    contiguous = iv.dsr(data, "count", "pop", sp.ESP2013, by=["area", "year"])
    # Rows of different areas interleaved: position within each group still matches the bands.
    interleaved = data.sort("band", "area")
    got = iv.dsr(interleaved, "count", "pop", sp.ESP2013, by=["area", "year"]).sort("area")
    expected = contiguous.sort("area")
    assert got["area"].to_list() == expected["area"].to_list()
    for c in ("value", "lower_95", "upper_998"):
        assert_close(got[c], expected[c], rtol=1e-13, what=c)
    unvalidated = iv.dsr(interleaved, "count", "pop", sp.ESP2013, by=["area", "year"], validate=False)
    assert_close(unvalidated.sort("area")["lower_95"], expected["lower_95"], rtol=1e-13)


def test_dsr_standard_as_mapping_by_age_band():
    data = read("dsr_input.csv").filter(pl.col("area") == "testdata_big")
    # The fixture's bands are ESP2013's, with the 55-59 band mislabelled "55-69".
    labels = data["ageband"].to_list()
    mapping = dict(zip(labels, sp.ESP2013, strict=True))
    shuffled = data.sample(fraction=1.0, shuffle=True, seed=3)  # order no longer matters
    got = iv.dsr(shuffled, "count", "pop", mapping, by="area", age_band="ageband")
    fx = read("dsr_expected.csv").filter(pl.col("area") == "testdata_big", pl.col("multiplier") == 100000)
    assert_close(got["value"], fx["value"])
    assert_close(got["upper_998"], fx["upper99_8cl"])


def test_dsr_non_independent_events_fixture():
    data = read("dsr_nonindependent_input.csv")
    fx = read("dsr_expected.csv").filter(~pl.col("independent_events"))
    got = iv.dsr(
        data,
        "persons",
        "pop",
        "stdpop",
        by="area",
        age_band="ageband",
        independent_events=False,
        event_frequency="freq",
    )
    # The fixture's expected values are printed to 13 significant figures.
    _check_dsr(got, fx, rtol=1e-11)
    assert set(got["ci_method"]) == {"dobson_non_independent"}


def test_dsr_lazy_and_single_level():
    data = read("dsr_input.csv").filter(pl.col("area") == "testdata_small")
    lazy = iv.dsr(data.lazy(), "count", "pop", "stdpop", by="area", confidence=99.8)
    assert isinstance(lazy, pl.LazyFrame)
    got = lazy.collect()
    fx = read("dsr_expected.csv").filter(pl.col("area") == "testdata_small", pl.col("multiplier") == 100000)
    assert_close(got["lower"], fx["lower99_8cl"])
    assert_close(got["upper"], fx["upper99_8cl"])


def _isr_expected(fn: str, source: str = "isr_input.csv") -> pl.DataFrame:
    return read("isr_expected.csv").filter(pl.col("fn") == fn, pl.col("input_file") == source)


@pytest.mark.parametrize("kind", ["ratio", "rate"])
def test_isr_fixture(kind):
    data = read("isr_input.csv")
    ref = read("isr_refdata.csv")
    fn = "calculate_ISRatio" if kind == "ratio" else "calculate_ISRate"
    fx = _isr_expected(fn)
    for mult, part in fx.group_by("multiplier_or_refvalue", maintain_order=True):
        got = iv.isr(
            data,
            "count",
            "pop",
            ref["refcount"].to_list(),
            ref["refpop"].to_list(),
            by="area",
            kind=kind,
            multiplier=mult[0],
        )
        both = part.join(got, on="area")
        assert both.height == 3
        assert_close(both["observed_right"], both["observed"], what="observed")
        assert_close(both["expected_right"], both["expected"], what="expected")
        if kind == "rate":
            assert_close(both["reference_rate"], both["ref_rate"], what="reference rate")
        for mine, theirs in [
            ("value_right", "value"),
            ("lower_95", "lower95_0cl"),
            ("upper_95", "upper95_0cl"),
            ("lower_998", "lower99_8cl"),
            ("upper_998", "upper99_8cl"),
        ]:
            assert_close(both[mine], both[theirs], what=f"{kind} x{mult[0]} {theirs}")
        expected_method = both["method"].replace_strict({"Exact": "exact_poisson", "Byars": "byar"})
        assert both["ci_method"].to_list() == expected_method.to_list()


def test_isr_reference_as_columns_and_observed_totals():
    data = read("isr_input.csv")
    totals = read("isr_observed_totals.csv")
    fx = _isr_expected("calculate_ISRatio").filter(pl.col("multiplier_or_refvalue") == 100)
    got = iv.isr(
        data.drop("count"),
        "total_count",
        "pop",
        "refcount",
        "refpop",
        by="area",
        multiplier=100,
        observed_totals=totals,
    )
    # testdata_tiny's reference count column has a missing band: that band expects nothing.
    both = fx.join(got, on="area")
    assert both.height == 3
    assert_close(both["value_right"], both["value"])
    assert_close(both["lower_998"], both["lower99_8cl"])
    assert_close(both["upper_95"], both["upper95_0cl"])


@pytest.mark.parametrize("kind", ["ratio", "rate"])
def test_isr_zero_population_fixture(kind):
    data = read("isr_zero_pop_input.csv")
    ref = read("isr_refdata.csv")
    fn = "calculate_ISRatio" if kind == "ratio" else "calculate_ISRate"
    fx = _isr_expected(fn, "isr_zero_pop_input.csv")
    mult = fx["multiplier_or_refvalue"][0]
    got = iv.isr(
        data,
        "count",
        "pop",
        ref["refcount"].to_list(),
        ref["refpop"].to_list(),
        by="area",
        kind=kind,
        multiplier=mult,
        confidence=0.95,
    )
    both = fx.join(got, on="area")
    assert both.height == 2
    assert_close(both["expected_right"], both["expected"])
    assert_close(both["value_right"], both["value"])
    assert_close(both["lower"], both["lower95_0cl"])
    assert_close(both["upper"], both["upper95_0cl"])


# --------------------------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------------------------


def test_zero_numerators_and_numerator_equal_denominator():
    df = pl.DataFrame({"x": [0.0, 7.0, 0.0, 1.0], "n": [7.0, 7.0, 1.0, 1.0]})
    got = iv.proportions(df, "x", "n", multiplier=100, method="wilson")
    assert got["lower_95"][0] == 0.0 and got["lower_998"][0] == 0.0
    assert got["upper_95"][1] == 100.0 and got["upper_998"][1] == 100.0
    assert got["upper_95"][0] > 0 and got["lower_95"][1] < 100
    for c in ("lower_95", "upper_95", "lower_998", "upper_998"):
        assert got[c].null_count() == 0 and not got[c].is_nan().any()
    cp = iv.proportions(df, "x", "n", method="clopper_pearson")
    assert cp["lower_95"][0] == 0.0 and cp["upper_95"][1] == 1.0
    rate = iv.rates(pl.DataFrame({"x": [0.0], "n": [1e-3]}), "x", "n")
    assert rate["lower_95"][0] == 0.0
    # Exact upper limit of 0 events: -log(0.025) = chi2(0.975, 2)/2.
    assert math.isclose(rate["upper_95"][0], -math.log(0.025) / 1e-3 * 1e5, rel_tol=1e-12)


def test_tiny_and_fractional_denominators_give_numbers_not_nan():
    df = pl.DataFrame({"x": [0.3, 0.0, 2.5], "n": [0.5, 1e-9, 3.0]})
    got = iv.proportions(df, "x", "n", method="wilson")
    cp = iv.proportions(df, "x", "n", method="clopper_pearson")
    for frame in (got, cp):
        limits = frame.select(pl.col("^(lower|upper)_.*$"))
        assert limits.null_count().sum_horizontal()[0] == 0
        assert not limits.select(pl.all().is_nan().any()).row(0).count(True)
        assert limits.select(pl.all().is_between(0, 1).all()).row(0) == (True,) * 4


def test_invalid_rows_are_null_in_expressions_not_nan():
    df = pl.DataFrame({"x": [-1.0, 5.0, 5.0, None, 2.0], "n": [10.0, 0.0, 4.0, 10.0, None]})
    got = df.select(iv.wilson_ci("x", "n").struct.unnest(), iv.byar_ci("x", "n").struct.unnest().name.suffix("_r"))
    assert got["lower"].to_list() == [None, None, None, None, None]
    # A rate may exceed its denominator (5 events in 4 person-years) but not have n = 0.
    assert got["lower_r"].to_list()[:2] == [None, None] and got["lower_r"][2] is not None


def test_exact_switches_to_byar_at_ten():
    df = pl.DataFrame({"x": [9.0, 10.0], "n": [1.0, 1.0]})
    got = df.select(iv.byar_ci("x", "n", multiplier=1).struct.unnest())
    from scipy import stats

    assert math.isclose(got["lower"][0], stats.chi2.ppf(0.025, 18) / 2, rel_tol=1e-12)
    z = 1.959963984540054
    assert math.isclose(got["lower"][1], 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3, rel_tol=1e-12)


def test_integer_count_lookup_matches_scipy_path_and_fractional_counts_work():
    df = pl.DataFrame({"x": [0.0, 1.0, 9.0, 10.0, 2.5, None], "n": [10.0] * 6})
    general = df.select(iv.interval_columns("byar", "x", "n", (0.95, 0.998)))
    lookup = df.select(iv.interval_columns("byar", "x", "n", (0.95, 0.998), integer_counts=True))
    assert lookup.slice(0, 4).equals(general.slice(0, 4))
    assert lookup["lower_95"][4] is None  # promised whole counts: a fractional one gets null
    from scipy import stats

    assert math.isclose(general["upper_998"][4], stats.chi2.ppf(0.999, 7.0) / 2 / 10 * 1e5, rel_tol=1e-12)
    # The frame functions look at the data and take the right path by themselves.
    got = iv.rates(df, "x", "n")
    assert_close(got["upper_998"], general["upper_998"], rtol=1e-15)


def test_expressions_work_inside_group_by_agg():
    df = read("rate_grouped_input.csv").drop_nulls()
    got = df.group_by("area", maintain_order=True).agg(
        iv.interval_columns("byar", pl.col("numerator").sum(), pl.col("denominator").sum(), confidence=0.95)
    )
    fx = read("rate_grouped_expected.csv").join(got, on="area")
    assert fx.height == 9
    assert_close(fx["lower"], fx["lowercl"])
    assert_close(fx["upper"], fx["uppercl"])
    assert_close(fx["value_right"], fx["value"])


def test_mean_ci_in_agg_with_nulls_and_single_values():
    df = pl.DataFrame({"g": ["a", "a", "a", "b", "c", "c"], "v": [1.0, 2.0, None, 5.0, 1.0, 1.0]})
    got = df.group_by("g", maintain_order=True).agg(iv.mean_ci("v", 0.95))
    a, b, c = got.rows(named=True)
    assert a["value_count"] == 2 and math.isclose(a["value"], 1.5)
    from scipy import stats

    half = stats.t.ppf(0.975, 1) * np.std([1.0, 2.0], ddof=1) / math.sqrt(2)
    assert math.isclose(a["upper"], 1.5 + half, rel_tol=1e-12)
    assert b["lower"] is None and b["upper"] is None  # one value: no interval
    assert c["lower"] == c["upper"] == 1.0  # no spread


def test_confidence_levels_accept_fractions_and_percentages():
    assert iv.confidence_levels(95) == (0.95,)
    assert iv.confidence_levels([0.95, 99.8]) == (0.95, 0.998)
    assert iv.limit_names((0.9, 0.99)) == [("lower_90", "upper_90"), ("lower_99", "upper_99")]


@pytest.mark.parametrize("bad", [0, 1, 100, 150, -0.5, float("nan"), "95", True])
def test_bad_confidence_levels_are_explained(bad):
    with pytest.raises(PublicServicesError, match="confidence"):
        iv.wilson_ci("x", "n", bad)


def test_repeated_levels_rejected():
    with pytest.raises(PublicServicesError, match="repeats a level"):
        iv.confidence_levels((0.95, 95))


# --------------------------------------------------------------------------------------------
# errors: at least as clear as PHEindicatormethods'
# --------------------------------------------------------------------------------------------


def test_proportion_errors_name_column_rows_and_fix():
    df = pl.DataFrame({"area": ["A", "B", "C"], "x": [5, 12, 3], "n": [10, 10, 0]})
    with pytest.raises(DataError) as err:
        iv.proportions(df, "x", "n", by="area")
    msg = str(err.value)
    assert "column 'n' is zero or negative in 1 row" in msg and "C" in msg and "Fix:" in msg
    df = df.with_columns(n=pl.lit(10))
    with pytest.raises(DataError, match=r"column 'x' is greater than the denominator in 1 row:\n  B"):
        iv.proportions(df, "x", "n", by="area")
    with pytest.raises(DataError, match="column 'x' is negative"):
        iv.rates(df.with_columns(x=pl.lit(-1)), "x", "n")


def test_missing_and_non_numeric_columns():
    df = pl.DataFrame({"x": ["1", "2"], "n": [10, 10]})
    with pytest.raises(SchemaError, match="column 'x' must be numeric"):
        iv.proportions(df, "x", "n")
    with pytest.raises(SchemaError, match="column 'num' is missing"):
        iv.rates(df, "num", "n")
    with pytest.raises(SchemaError, match="DataFrame or LazyFrame"):
        iv.rates({"x": [1]}, "x", "n")


def test_dsr_errors():
    data = read("dsr_input.csv").filter(pl.col("area") == "testdata_big")
    with pytest.raises(DataError, match="column 'pop' has missing values"):
        iv.dsr(
            data.with_columns(pop=pl.when(pl.col("ageband") == "0-4").then(None).otherwise("pop")),
            "count",
            "pop",
            "stdpop",
            by="area",
        )
    with pytest.raises(DataError, match="column 'pop' is zero or negative"):
        iv.dsr(data.with_columns(pop=pl.lit(0)), "count", "pop", "stdpop", by="area")
    with pytest.raises(DataError, match="column 'count' is negative in 1 row"):
        iv.dsr(
            data.with_columns(count=pl.when(pl.col("ageband") == "90+").then(-1).otherwise("count")),
            "count",
            "pop",
            "stdpop",
            by="area",
        )
    with pytest.raises(DataError, match="19 values, matched by position.*\n  testdata_big: 18 rows"):
        iv.dsr(data.head(18), "count", "pop", "esp2013", by="area")
    with pytest.raises(DataError, match="bands that the standard population does not define"):
        iv.dsr(data, "count", "pop", "esp2013", by="area", age_band="ageband")  # "55-69"
    with pytest.raises(PublicServicesError, match="event_frequency"):
        iv.dsr(data, "count", "pop", "stdpop", by="area", independent_events=False)
    nonind = read("dsr_nonindependent_input.csv")
    clash = nonind.with_columns(pop=pl.when(pl.col("freq") == 2).then(pl.col("pop") + 1).otherwise("pop"))
    with pytest.raises(DataError, match="different populations or standard populations"):
        iv.dsr(clash, "persons", "pop", "stdpop", by="area", age_band="ageband", independent_events=False, event_frequency="freq")


def test_isr_errors():
    data = read("isr_zero_pop_input.csv")
    ref = read("isr_refdata.csv")
    with pytest.raises(DataError, match="column 'pop' is negative"):
        iv.isr(data.with_columns(pop=pl.lit(-1)), "count", "pop", ref["refcount"].to_list(), ref["refpop"].to_list(), by="area")
    with pytest.raises(DataError, match="ref_count has 18 values"):
        iv.isr(data, "count", "pop", ref["refcount"].to_list()[:18], ref["refpop"].to_list(), by="area")
    with pytest.raises(PublicServicesError, match="kind"):
        iv.isr(data, "count", "pop", "a", "b", kind="smr")


# --------------------------------------------------------------------------------------------
# add_intervals
# --------------------------------------------------------------------------------------------


def _ind(id_: str, measure: str, multiplier: float) -> Indicator:
    return Indicator(id=id_, title=id_, sector="health", measure=measure, multiplier=multiplier)


INDICATORS = {
    "health.prop": _ind("health.prop", "proportion", 100),
    "health.rate": _ind("health.rate", "rate", 100000),
    "health.smr": _ind("health.smr", "ratio", 100),
    "health.dsr": _ind("health.dsr", "dsr", 100000),
    "health.mean": _ind("health.mean", "mean", 1),
    "health.score": _ind("health.score", "score", 1),
}


def _values(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "indicator_id": pl.String,
            "area_code": pl.String,
            "period": pl.String,
            "numerator": pl.Float64,
            "denominator": pl.Float64,
            "value": pl.Float64,
            "lower_ci": pl.Float64,
            "upper_ci": pl.Float64,
        },
        orient="row",
    )


def test_add_intervals_picks_the_method_per_row():
    vals = _values(
        [
            ("health.prop", "A", "2020", 65, 100, None, None, None),
            ("health.rate", "A", "2020", 5, 10000, None, None, None),
            ("health.rate", "B", "2020", 65, 100, None, None, None),
            ("health.smr", "A", "2020", 91, 835.88356123117433, None, None, None),
            ("health.dsr", "A", "2020", 895, 8970, 10430.2, 9717.7, 11178.9),
            ("health.dsr", "B", "2020", 895, 8970, 10430.2, None, None),
            ("health.mean", "A", "2020", None, None, 5.0, 4.0, 6.0),
            ("health.score", "A", "2020", None, None, 12.0, None, None),
            ("health.prop", "B", "2020", None, None, 50.0, 40.0, 60.0),
        ]
    )
    got = iv.add_intervals(vals, INDICATORS)
    assert got.columns == vals.columns + ["lower_95", "upper_95", "lower_998", "upper_998", "ci_method"]
    assert got["ci_method"].to_list() == [
        "wilson",
        "exact_poisson",
        "byar",
        "byar",
        "supplied_sqrt",
        "dobson_single_band",
        "supplied_linear",
        None,
        "supplied_logit",
    ]
    assert set(got["ci_method"].drop_nulls()) <= set(CI_METHODS)  # the documented vocabulary
    assert_close(got["value"][:4], [65.0, 50.0, 65000.0, 91 / 835.88356123117433 * 100])
    assert_close(got["lower_95"][:1], [55.254443296887967])
    assert_close(got["lower_998"][2:3], [42880.261471480204])  # rate.csv row 12
    assert_close(got["upper_998"][3:4], [14.897920510466744])  # isr_expected row 11
    assert got["lower_95"][4] == 9717.7 and got["upper_95"][4] == 11178.9
    # A DSR with only its total count: Byar's limits of the count, scaled to the DSR.
    crude_lower = iv.rates(
        _values([("health.rate", "A", "2020", 895, 8970, None, None, None)]), "numerator", "denominator", multiplier=1
    )["lower_95"][0]
    assert math.isclose(got["lower_95"][5], crude_lower * 8970 / 895 * 10430.2, rel_tol=1e-12)
    assert got["lower_998"][7] is None
    assert got["lower_95"][6] == 4.0
    z95, z998 = z_for(0.95), z_for(0.998)
    assert math.isclose(got["upper_998"][6], 5.0 + z998 / z95, rel_tol=1e-12)
    # square-root scale for the DSR: each side stretched by z998/z95 on sqrt(value).
    lo = (math.sqrt(10430.2) - z998 / z95 * (math.sqrt(10430.2) - math.sqrt(9717.7))) ** 2
    assert math.isclose(got["lower_998"][4], lo, rel_tol=1e-12)
    # logit scale for the proportion, symmetric here because the value is 50%.
    assert math.isclose(got["lower_998"][8] + got["upper_998"][8], 100.0, rel_tol=1e-12)
    assert got["lower_998"][8] < 40.0


def test_add_intervals_keeps_published_values_and_fills_missing_ones():
    vals = _values(
        [
            ("health.prop", "A", "2020", 1, 3, 33.3, None, None),
            ("health.prop", "B", "2020", 1, 4, None, None, None),
        ]
    )
    got = iv.add_intervals(vals, INDICATORS)
    assert got["value"].to_list() == [33.3, 25.0]


def test_add_intervals_supplied_limits_at_the_bounds():
    vals = _values(
        [
            ("health.rate", "A", "2020", None, None, 0.0, 0.0, 3.7),
            ("health.prop", "A", "2020", None, None, 0.0, 0.0, 3.7),
            ("health.prop", "B", "2020", None, None, 100.0, 96.0, 100.0),
        ]
    )
    got = iv.add_intervals(vals, INDICATORS)
    r = z_for(0.998) / z_for(0.95)
    assert got["lower_998"].to_list()[:2] == [0.0, 0.0] and got["upper_998"][2] == 100.0
    # A zero rate: the square-root scale still works (sqrt(0) = 0).
    assert math.isclose(got["upper_998"][0], 3.7 * r * r, rel_tol=1e-12)
    # 0% and 100%: the logit is infinite, so that side is stretched on the linear scale.
    assert math.isclose(got["upper_998"][1], 3.7 * r, rel_tol=1e-12)
    assert math.isclose(got["lower_998"][2], 100 - 4 * r, rel_tol=1e-12)


def test_add_intervals_lazy_single_level_and_clopper_pearson():
    vals = _values([("health.prop", "A", "2020", 0, 20, None, None, None)])
    got = iv.add_intervals(vals.lazy(), INDICATORS, confidence=0.95, method_proportion="clopper_pearson")
    assert isinstance(got, pl.LazyFrame)
    row = got.collect().row(0, named=True)
    assert row["lower"] == 0.0 and row["ci_method"] == "clopper_pearson"
    assert math.isclose(row["upper"], 100 * (1 - 0.025 ** (1 / 20)), rel_tol=1e-10)


def test_supplied_route_recovers_dobson_and_isr_998_limits_closely():
    """99.8% limits stretched from published 95% ones, against the methods' own 99.8% limits."""
    dsr_fx = (
        read("dsr_expected.csv")
        .filter(pl.col("value").is_not_null())
        .select(pl.lit("health.dsr").alias("indicator_id"), "value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl")
    )
    isr_fx = (
        read("isr_expected.csv")
        .filter(pl.col("lower99_8cl").is_not_null())
        .select(pl.lit("health.smr").alias("indicator_id"), "value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl")
    )
    for fx in (dsr_fx, isr_fx):
        got = iv.add_intervals(fx.rename({"lower95_0cl": "lower_ci", "upper95_0cl": "upper_ci"}), INDICATORS)
        width = got["upper99_8cl"] - got["lower99_8cl"]
        err = np.maximum((got["lower_998"] - got["lower99_8cl"]).abs(), (got["upper_998"] - got["upper99_8cl"]).abs()) / width
        assert err.max() < 0.015, err.max()
        assert set(got["ci_method"]) == {"supplied_sqrt"}


def test_add_intervals_works_without_optional_columns():
    vals = pl.DataFrame({"indicator_id": ["health.prop"], "numerator": [3.0], "denominator": [4.0]})
    got = iv.add_intervals(vals, INDICATORS)
    assert got["value"][0] == 75.0 and got["ci_method"][0] == "wilson"


def test_add_intervals_errors():
    vals = _values(
        [
            ("health.prop", "A", "2020", 5, 4, None, None, None),
            ("health.nope", "B", "2020", 1, 4, None, None, None),
        ]
    )
    with pytest.raises(IndicatorError, match="'health.nope'"):
        iv.add_intervals(vals, INDICATORS)
    with pytest.raises(DataError, match=r"greater than the denominator for a proportion in 1 row:\n  health.prop \| A \| 2020"):
        iv.add_intervals(vals.head(1), INDICATORS)
    with pytest.raises(DataError, match="lower_ci' is greater than upper_ci"):
        iv.add_intervals(_values([("health.mean", "A", "2020", None, None, 1, 3, 2)]), INDICATORS)
    with pytest.raises(PublicServicesError, match="method_proportion"):
        iv.add_intervals(vals, INDICATORS, method_proportion="wald")


def test_add_intervals_does_not_drop_rows():
    vals = _values([("health.prop", str(i), "2020", i % 7, 10, None, None, None) for i in range(50)])
    got = iv.add_intervals(vals, INDICATORS)
    assert got.height == 50 and got["area_code"].to_list() == vals["area_code"].to_list()


# --------------------------------------------------------------------------------------------
# real Fingertips data
# --------------------------------------------------------------------------------------------

# Proportion indicators (and area types) whose published limits are NOT Wilson on the published
# counts; docs/methodology/intervals.md explains each.
NOT_WILSON_ON_PUBLISHED_COUNTS = {
    93015: "survey-weighted estimate (Active Lives); numerator is a sample count",
    93701: "children in low-income families: DWP counts, limits wider than binomial",
    94103: "modelled prevalence estimate",
}
QOF_PREVALENCE = (241, 247)  # local-authority figures apportioned from GP practices


def _fingertips(path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema_length=0)

    def decimals(c: str) -> pl.Expr:
        return pl.col(c).str.split(".").list.get(1, null_on_oob=True).str.len_chars().fill_null(0)

    return raw.with_columns(
        decimals("lower_ci").alias("dec_lower"),
        decimals("upper_ci").alias("dec_upper"),
        pl.col("indicator_id").cast(pl.Int64),
        pl.col("numerator", "denominator", "value", "lower_ci", "upper_ci").cast(pl.Float64),
    )


def _agrees(mine: str, published: str, dec: str) -> pl.Expr:
    # Fingertips publishes most limits in full precision (13-17 digits); some series are
    # rounded to 1-6 decimal places, and there the test is that ours rounds to the published one.
    return (
        pl.when(pl.col(dec) >= 10)
        .then((pl.col(mine) / pl.col(published) - 1).abs() <= 1e-6)
        .otherwise((pl.col(mine) - pl.col(published)).abs() <= 0.5 * 10.0 ** (-pl.col(dec).cast(pl.Float64)) + 1e-9)
    )


@pytest.mark.shared
def test_wilson_matches_published_fingertips_limits(shared_data):
    ft = _fingertips(shared_data("health_fingertips_northwest_sample.csv"))
    props = ft.filter(
        pl.col("value_type") == "Proportion",
        pl.col("numerator").is_not_null(),
        pl.col("denominator").is_not_null(),
        pl.col("lower_ci").is_not_null(),
    )
    got = props.with_columns(iv.wilson_ci("numerator", "denominator", 0.95, 100).struct.unnest())
    got = got.with_columns(
        ok=_agrees("lower", "lower_ci", "dec_lower") & _agrees("upper", "upper_ci", "dec_upper"),
        la=pl.col("area_code").str.slice(0, 3).is_in(["E06", "E07", "E08", "E10"]),
    )
    reproducible = got.filter(
        ~pl.col("indicator_id").is_in(list(NOT_WILSON_ON_PUBLISHED_COUNTS)),
        ~(pl.col("indicator_id").is_in(QOF_PREVALENCE) & pl.col("la")),
        ~((pl.col("indicator_id") == 247) & (pl.col("area_code") == "E92000001")),
    )
    bad = reproducible.filter(~pl.col("ok"))
    assert reproducible.height > 4000
    assert bad.height == 0, bad.select("indicator_id", "area_code", "year", "lower_ci", "lower", "upper_ci", "upper")
    full_precision = reproducible.filter(pl.col("dec_lower") >= 10, pl.col("dec_upper") >= 10)
    rel = pl.max_horizontal((pl.col("lower") / pl.col("lower_ci") - 1).abs(), (pl.col("upper") / pl.col("upper_ci") - 1).abs())
    assert full_precision.height > 1500
    assert full_precision.select(rel.max()).item() <= 1e-6
    # The exceptions are real differences, not a bug on our side: they stay small for QOF
    # (< 0.2% relative) and the published values still equal numerator / denominator.
    qof_la = got.filter(pl.col("indicator_id").is_in(QOF_PREVALENCE), pl.col("la"))
    assert qof_la.select(rel.max()).item() < 2e-3
    assert qof_la.select(((pl.col("numerator") / pl.col("denominator") * 100) / pl.col("value") - 1).abs().max()).item() < 1e-5


@pytest.mark.shared
def test_crude_rates_and_ratios_match_published_fingertips_limits(shared_data):
    ft = _fingertips(shared_data("health_fingertips_northwest_sample.csv"))
    per = {20401: 1000, 92266: 1000, 41203: 100000, 92904: 100000, 93124: 100000, 91344: 100}
    rows = ft.filter(
        pl.col("indicator_id").is_in(list(per)),
        pl.col("numerator").is_not_null(),
        pl.col("denominator").is_not_null(),
        pl.col("lower_ci").is_not_null(),
    ).with_columns(mult=pl.col("indicator_id").replace_strict(per, return_dtype=pl.Float64))
    got = rows.with_columns(iv.byar_ci("numerator", "denominator", 0.95, pl.col("mult")).struct.unnest()).with_columns(
        ok=_agrees("lower", "lower_ci", "dec_lower") & _agrees("upper", "upper_ci", "dec_upper")
    )
    summary = got.group_by("indicator_id").agg(pl.col("ok").mean()).sort("indicator_id")
    share = dict(summary.iter_rows())
    # Reproduced on every row: conceptions, fertility, preventable sight loss and urgent cancer
    # referrals (a ratio: the denominator is the expected count).
    assert share[20401] == share[92266] == share[41203] == share[91344] == 1.0
    # Alcohol admissions: counts published rounded to the nearest 5, limits from the true counts.
    assert 0.5 < share[92904] < 0.7
    assert (got.filter(pl.col("indicator_id") == 92904, ~pl.col("ok"))["numerator"] % 5 == 0).all()
    # Hepatitis B: some rows (the England breakdowns, a few unitary authorities) carry the exact
    # limits of the *count*, not of the rate; every other row is reproduced but two (revised
    # counts: England 2018 off by 1e-6, E08000015 2018 by 1e-3).
    hep = (
        got.filter(pl.col("indicator_id") == 93124)
        .with_columns(iv.byar_ci("numerator", 1.0, 0.95, 1.0).struct.unnest().name.suffix("_n"))
        .with_columns(count_limits=_agrees("lower_n", "lower_ci", "dec_lower") & _agrees("upper_n", "upper_ci", "dec_upper"))
    )
    assert hep.filter(pl.col("count_limits")).height >= 30
    assert hep.filter(~pl.col("ok"), ~pl.col("count_limits")).height <= 2


@pytest.mark.shared
def test_derived_998_limits_are_close_to_computed_ones_on_real_data(shared_data):
    """The implied-SE route (value + 95% limits only) against Wilson at 99.8% from counts."""
    ft = _fingertips(shared_data("health_fingertips_northwest_sample.csv"))
    rows = ft.filter(
        pl.col("indicator_id") == 93474, pl.col("numerator") >= 10, pl.col("denominator") - pl.col("numerator") >= 10
    )
    ind = {"health.dih": _ind("health.dih", "proportion", 100)}
    base = rows.select(
        pl.lit("health.dih").alias("indicator_id"),
        "area_code",
        pl.col("year").alias("period"),
        "numerator",
        "denominator",
        "value",
        "lower_ci",
        "upper_ci",
    )
    from_counts = iv.add_intervals(base, ind)
    from_limits = iv.add_intervals(base.drop("numerator", "denominator"), ind)
    assert set(from_limits["ci_method"]) == {"supplied_logit"}
    width = from_counts["upper_998"] - from_counts["lower_998"]
    err = ((from_limits["lower_998"] - from_counts["lower_998"]).abs() / width).max()
    assert err < 0.01  # within 1% of the interval's width


def test_doctests_in_interval_modules():
    for module in (iv, sp):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0


def test_single_band_dsr_in_add_intervals_is_dobson_with_one_band():
    """A DSR row with only a total count and population gets Dobson's limits for one band."""
    import polars as pl

    from publicservices.indicators import Indicator
    from publicservices.stats import add_intervals, dsr

    ind = Indicator(id="health.d", title="D", sector="health", measure="dsr", multiplier=100000)
    values = pl.DataFrame(
        {
            "indicator_id": ["health.d"] * 3,
            "area_code": ["A", "B", "C"],
            "period": ["2020"] * 3,
            "numerator": [59.0, 9.0, 250.0],
            "denominator": [220201.0, 50000.0, 910000.0],
        }
    )
    values = values.with_columns(value=pl.col("numerator") / pl.col("denominator") * 100000)
    ours = add_intervals(values, {"health.d": ind})
    bands = values.select("area_code", count="numerator", pop="denominator").with_columns(std=pl.lit(1000.0))
    reference = dsr(bands, "count", "pop", "std", by="area_code", multiplier=100000).sort("area_code")
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        got = ours.get_column(col).to_list()
        want = reference.get_column(col).to_list()
        assert got[1] is None and want[1] is None  # fewer than 10 events: suppressed
        for g, w in zip(got[::2], want[::2], strict=True):
            assert abs(g - w) <= 1e-9 * abs(w)
    assert ours.get_column("ci_method").to_list() == ["dobson_single_band", "dsr_suppressed_lt10", "dobson_single_band"]
    assert set(ours.get_column("ci_method")) <= set(CI_METHODS)  # the documented vocabulary


def test_add_intervals_plan_reads_each_derived_step_by_name():
    # The limits derived from supplied ones were one nested expression per limit that repeated
    # the transformed value dozens of times: a 51 KB plan that cost about 20 ms on ten rows and
    # was paid by every chart of a site. As named steps it is a third of that.
    ind = Indicator(id="health.p", title="P", sector="health", measure="proportion", multiplier=100)
    values = pl.DataFrame(
        {"indicator_id": ["health.p"], "value": [50.0], "lower_ci": [40.0], "upper_ci": [60.0], "numerator": [5.0]}
    ).with_columns(denominator=pl.lit(10.0))
    rate = Indicator(id="health.r", title="R", sector="health", measure="rate", multiplier=1000)
    mixed = iv.add_intervals(values.lazy(), {"health.p": ind, "health.r": rate}, validate=False)
    assert len(mixed.explain(optimized=False)) < 25_000
    # Only the methods the indicators' measures call for are planned: a proportion's rows (a
    # chart's deciles) plan no Poisson limits, which took half the time of a call on ten rows.
    plan = iv.add_intervals(values.lazy(), {"health.p": ind}, validate=False)
    assert "__ps_pois" in mixed.explain(optimized=False) and "__ps_pois" not in plan.explain(optimized=False)
    assert len(plan.explain(optimized=False)) < 12_000
    for out in (plan.collect(), mixed.collect()):
        assert "__ps" not in "".join(out.columns)  # the steps are dropped
        assert out.get_column("ci_method").to_list() == ["wilson"]
