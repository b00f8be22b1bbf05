"""SII/RII and quantile assignment reproduce PHEindicatormethods (phe_sii, phe_quantile).

Fixtures: tests/fixtures/phe/sii.csv + sii_cases.csv (the package's SII test sheet and one row
per R test call) and quantile.csv (its quantile test data), transcribed from
../shared/reference/phe (PHEindicatormethods 2.1.0 @ 093fd288).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from publicservices.errors import DataError, PublicServicesError, SchemaError
from publicservices.stats import assign_quantiles, sii

FIXTURES = Path(__file__).parent / "fixtures" / "phe"
SHEET = pl.read_csv(FIXTURES / "sii.csv", infer_schema_length=None)
CASES = pl.read_csv(FIXTURES / "sii_cases.csv", infer_schema_length=None).with_columns(pl.all().cast(pl.String))
GROUPS = ["Area", "Grouping1", "Grouping2"]


def _records(spec: str) -> pl.DataFrame:
    """Rows of the sheet named by a spec such as '1-20' or '1-15,17-20'."""
    wanted: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        wanted.extend(range(int(lo), int(hi or lo) + 1))
    return SHEET.filter(pl.col("RecordNo").is_in(wanted)).sort("RecordNo")


def _call(case: dict, *, repetitions: int = 100_000, seed: int = 11) -> pl.DataFrame:
    data = _records(case["input_records"])
    kwargs: dict = {
        "value_type": int(case["value_type"]),
        "transform": case["transform"].lower() == "true",
        "multiplier": float(case["multiplier"]),
        "confidence": [float(c) for c in case["confidence"].split(";")],
        "rii": case["rii"].lower() == "true",
        "intercept": case["intercept"].lower() == "true",
        "repetitions": repetitions,
        "seed": seed,
    }
    arg, _, col = case["value_arg"].partition("=")
    kwargs[arg] = col
    if case["ci_input"] == "se":
        kwargs["se"] = "StandardError"
    else:
        kwargs["lower_cl"], kwargs["upper_cl"] = "LowerCL", "UpperCL"
    by = None if "ungrouped" in case["case"] else GROUPS
    return sii(data, "Quantile", "Population", by=by, **kwargs)


def _column(name: str, levels: list[float]) -> str:
    """Fixture column name -> our column name."""
    if name == "Intercept":
        return "intercept"
    base, _, idx = name.rpartition("_")
    if base in ("sii_lowercl", "sii_uppercl", "rii_lowercl", "rii_uppercl"):
        stat, bound = base.split("_")
        c = levels[int(idx) - 1]
        standard = all(math.isclose(x, 0.95) or math.isclose(x, 0.998) for x in levels)
        sfx = "" if len(levels) == 1 and not standard else "_" + f"{round(c * 100, 6):g}".replace(".", "")
        return f"{stat}_{bound[:-2]}{sfx}"
    return name


CALC = CASES.filter(pl.col("expected_records").is_not_null()).to_dicts()


@pytest.mark.parametrize("case", CALC, ids=[c["case"] for c in CALC])
def test_sii_matches_phe_sheet(case):
    out = _call(case)
    levels = [c / 100 if c >= 90 else c for c in (float(x) for x in case["confidence"].split(";"))]
    expected = SHEET.filter(pl.col("RecordNo").is_in([int(r) for r in case["expected_records"].split(",")])).sort("RecordNo")
    if "ungrouped" not in case["case"]:
        assert out["Area"].to_list() == expected["Area"].to_list()
    assert out.height == expected.height
    rel_errors = []
    for name in case["expected_columns"].split(","):
        ours = out[_column(name, levels)].to_numpy()
        theirs = expected[name].to_numpy()
        if name in ("sii", "rii", "Intercept"):
            # point estimates: closed form, to rounding error
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0, err_msg=name)
        else:
            # simulated limits: Monte-Carlo, different RNG (README tolerance: 0.05 mean relative)
            rel = np.abs(ours - theirs) / np.abs(theirs)
            assert np.all(rel < 0.05), (name, ours, theirs)
            rel_errors.extend(rel)
    if rel_errors:
        assert np.mean(rel_errors) < 0.02


def test_sii_same_seed_same_limits_and_levels_share_draws():
    case = CASES.filter(pl.col("case") == "conf95_99").to_dicts()[0]
    a, b = _call(case, repetitions=5000, seed=5), _call(case, repetitions=5000, seed=5)
    assert a.equals(b)
    assert (a["sii_lower_99"] <= a["sii_lower_95"]).all() and (a["sii_upper_99"] >= a["sii_upper_95"]).all()


def test_sii_single_custom_level_uses_plain_names():
    case = CASES.filter(pl.col("case") == "conf99_decimal").to_dicts()[0]
    out = _call(case, repetitions=2000)
    assert {"sii_lower", "sii_upper", "rii_lower", "rii_upper"} <= set(out.columns)


def test_sii_simulated_limits_converge_to_analytic_normal_limits():
    # value_type 0: the SII is linear in the quantile values, so its exact distribution is
    # normal with variance sum k1^2 se^2 -- the simulated 95% limits must approach it
    data = _records("1-10")
    out = sii(data, "Quantile", "Population", value="Value", se="StandardError", repetitions=200_000, seed=2)
    pop = data["Population"].to_numpy()
    a = pop / pop.sum()
    x = np.cumsum(a) - a / 2
    X = np.c_[np.sqrt(a), x * np.sqrt(a)]
    k1 = (np.linalg.inv(X.T @ X) @ X.T)[1] * np.sqrt(a)
    sd = math.sqrt(float(np.sum(k1**2 * data["StandardError"].to_numpy() ** 2)))
    est = out["sii"][0]
    # Monte-Carlo SD of a 2.5% order statistic: sqrt(p(1-p)/R) / density = 0.006 sd; allow 5 of them
    tol = 5 * math.sqrt(0.025 * 0.975 / 200_000) / 0.05845 * sd
    assert out["sii_lower_95"][0] == pytest.approx(est - 1.959964 * sd, abs=tol)
    assert out["sii_upper_95"][0] == pytest.approx(est + 1.959964 * sd, abs=tol)


ERRORS = {
    "err_nonnumeric_population": (SchemaError, "some input fields in data.frame are non-numeric"),
    "err_negative_population": (DataError, "some groups have a zero, negative or missing population"),
    "err_negative_se": (DataError, "negative or missing standard errors in input dataset"),
    "err_missing_se": (DataError, "negative or missing standard errors in input dataset"),
    "err_zero_count": (DataError, "some groups have a zero or negative count x"),
    "err_value_not_proportion": (DataError, "value proportions are not all between 0 and 1"),
    "err_cl_not_proportion_a": (DataError, "confidence limit proportions are not all between 0 and 1"),
    "err_cl_not_proportion_b": (DataError, "confidence limit proportions are not all between 0 and 1"),
    "err_too_few_quantiles": (DataError, "Number of quantiles must be between 5 and 100"),
    "err_missing_cls": (DataError, "missing lower or upper confidence limits in input dataset"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_sii_errors_match_phe(name):
    case = CASES.filter(pl.col("case") == name).to_dicts()[0]
    data = _records(case["input_records"])
    kwargs = {"value_type": int(case["value_type"]), "repetitions": 1000, "seed": 1}
    arg, _, col = case["value_arg"].partition("=")
    kwargs[arg] = col
    if case["ci_input"] == "se":
        kwargs["se"] = "StandardError"
    else:
        kwargs["lower_cl"], kwargs["upper_cl"] = "LowerCL", "UpperCL"
    population = "Grouping1" if name == "err_nonnumeric_population" else "Population"
    cls, message = ERRORS[name]
    with pytest.raises(cls, match=message) as info:
        sii(data, "Quantile", population, by=GROUPS, **kwargs)
    text = str(info.value)
    assert "Fix:" in text
    if cls is DataError and "quantiles" not in message:
        assert "area" in text  # names the offending rows by key


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"se": "StandardError"}, "requires value field, or x field"),
        ({"value": "Value"}, "requires either lower_cl and upper_cl fields, or se field"),
        ({"value": "Value", "se": "StandardError", "value_type": 3}, "value_type should be 0, 1 or 2"),
        ({"value": "Value", "se": "StandardError", "repetitions": 999}, "number of repetitions must be 1000 or greater"),
        (
            {"value": "Value", "lower_cl": "LowerCL", "upper_cl": "UpperCL", "transform": True},
            "value_type should be 1 or 2 when transform is true",
        ),
        (
            {"value": "Value", "se": "StandardError", "value_type": 1, "transform": True},
            "requires se to be missing when transform is true",
        ),
        (
            {"value": "Value", "se": "StandardError", "confidence": 0.8},
            "all confidence levels must be between 90 and 100 or between 0.9 and 1",
        ),
        ({"value": "Value", "se": "StandardError", "confidence": 50}, "all confidence levels must be between 90 and 100"),
    ],
)
def test_sii_argument_errors(kwargs, message):
    with pytest.raises(PublicServicesError, match=message):
        sii(_records("1-20"), "Quantile", "Population", by=GROUPS, **kwargs)


def test_sii_incomplete_group_warns_and_is_kept_with_a_note():
    case = CASES.filter(pl.col("case") == "warn_incomplete_records").to_dicts()[0]
    data = _records(case["input_records"])
    with pytest.warns(UserWarning, match="some records have been removed due to incomplete or invalid data"):
        out = sii(
            data,
            "Quantile",
            "Population",
            by=GROUPS,
            value="Value",
            lower_cl="LowerCL",
            upper_cl="UpperCL",
            repetitions=1000,
            seed=1,
        )
    assert out["Area"].to_list() == ["area1", "area2"]
    assert out["sii"][0] == pytest.approx(SHEET.filter(pl.col("RecordNo") == 1)["sii"][0], rel=1e-9)
    assert out["sii"][1] is None and "needs all 10 quantiles" in out["sii_note"][1]
    assert out["sii_note"][0] is None


def test_sii_many_quantiles_warns():
    data = _records("211-225")
    with pytest.warns(UserWarning, match="Small values can make SII unstable"):
        out = sii(
            data,
            "Quantile",
            "Population",
            by=GROUPS,
            value="Value",
            lower_cl="LowerCL",
            upper_cl="UpperCL",
            repetitions=1000,
            seed=1,
        )
    assert out.height == 1 and out["sii"][0] is not None


def test_sii_group_order_is_preserved():
    data = _records("1-20").with_columns(pl.col("Area").replace({"area1": "z_area", "area2": "a_area"}))
    out = sii(data, "Quantile", "Population", by="Area", value="Value", se="StandardError", repetitions=1000, seed=1)
    assert out["Area"].to_list() == ["z_area", "a_area"]
    assert out["sii"][0] == pytest.approx(SHEET.filter(pl.col("RecordNo") == 1)["sii"][0], rel=1e-12)


# -- quantiles (phe_quantile) --------------------------------------------------------------------

QUANT = pl.read_csv(FIXTURES / "quantile.csv", infer_schema_length=None).with_columns(
    pl.col("Polarity").cast(pl.String).str.to_lowercase() == "true"
)


def test_quantiles_grouped_by_region_with_polarity_field():
    df = QUANT.filter(pl.col("GroupSet") == "IndSexReg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = assign_quantiles(df, "Value", 10, invert="Polarity", by=["IndSexRef", "ParentCode"])
    assert out["quantile"].to_list() == out["QuantileInGrp"].to_list()


def test_quantiles_grouped_with_logical_invert():
    df = QUANT.filter((pl.col("GroupSet") == "IndSexReg") & (pl.col("IndSexRef") == "90366Female"))
    with pytest.warns(UserWarning, match="too few small areas"):
        out = assign_quantiles(df, "Value", 10, invert=False, by=["IndSexRef", "ParentCode"])
    assert out["quantile"].to_list() == out["QuantileInGrp"].to_list()


def test_quantiles_septiles_by_indicator():
    df = QUANT.filter((pl.col("GroupSet") == "IndSex") & (pl.col("Test") != "BadPolarity"))
    out = assign_quantiles(df, "Value", 7, invert="Polarity", by="IndSexRef")
    assert out["quantile"].to_list() == out["QuantileInGrp"].to_list()


def test_quantiles_quartiles_ungrouped():
    df = QUANT.filter(pl.col("GroupSet") == "None")
    out = assign_quantiles(df, "Value", 4)
    assert out["quantile"].to_list() == out["QuantileInGrp"].to_list()
    assert out["quantile"].null_count() == df["Value"].null_count()


def test_quantiles_errors():
    bad = QUANT.filter(pl.col("Test") == "BadPolarity")
    with pytest.raises(DataError, match="invert field values must take the same logical value for each data grouping set"):
        assign_quantiles(bad, "Value", 7, invert="Polarity", by="IndSexRef")
    with pytest.raises(SchemaError, match="invert is not a field name from data"):
        assign_quantiles(bad, "Value", invert="Pol")
    with pytest.raises(SchemaError, match="values argument must be a numeric field from data"):
        assign_quantiles(QUANT, "AreaCode")
    with pytest.raises(PublicServicesError, match="invert expressed as a logical must equal TRUE or FALSE"):
        assign_quantiles(QUANT, "Value", invert=6)  # type: ignore[arg-type]


def test_values_only_indicators_get_an_equally_weighted_gradient():
    """No counts and no populations: the gradient runs across areas, each weighted equally, and says so."""
    import polars as pl

    from publicservices.indicators import Indicator
    from publicservices.stats import assess_fairness

    ind = Indicator(id="welfare.rate", title="Rate", sector="welfare", measure="score", polarity="lower_is_better")
    codes = [f"A{i:02d}" for i in range(40)]
    values = pl.DataFrame(
        {
            "indicator_id": ["welfare.rate"] * 40,
            "area_code": codes,
            "period": ["2023"] * 40,
            "value": [10.0 - 0.1 * i for i in range(40)],
        }
    )
    areas = pl.DataFrame({"area_code": codes, "deprivation": [float(40 - i) for i in range(40)]})
    row = assess_fairness(values, [ind], areas=areas, repetitions=1000).row(0, named=True)
    # value falls as deprivation falls: the most deprived have the higher values, so the SII is negative
    assert row["sii"] is not None and row["sii"] < 0
    assert "areas weighted equally" in row["gradient_note"]
