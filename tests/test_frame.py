"""The data contract: every bad input gives a named, fixable error; good input passes intact."""

from __future__ import annotations

import datetime as dt
import math
import string

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from publicservices import DataError, Indicator, PublicServicesError, SchemaError
from publicservices.frame import VALUES, validate_areas, validate_spend, validate_values

PROP = Indicator(id="health.prop", title="P", sector="health", measure="proportion", multiplier=100)
RATE = Indicator(id="health.rate", title="R", sector="health", measure="rate", multiplier=100000)
INDICATORS = {i.id: i for i in (PROP, RATE)}


def values(**overrides):
    base = {
        "indicator_id": ["health.prop", "health.prop", "health.rate"],
        "area_code": ["A1", "A2", "A1"],
        "period": ["2022/23", "2022/23", "2022/23"],
        "numerator": [5.0, 7.0, 30.0],
        "denominator": [10.0, 20.0, 20.0],
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_valid_frame_gets_contract_dtypes_and_derived_period_start():
    out = validate_values(values(), INDICATORS)
    assert out.columns[: len(VALUES.columns)] == list(VALUES.columns)
    assert out.schema["period_start"] == pl.Date
    assert out.get_column("period_start").to_list() == [dt.date(2022, 1, 1)] * 3
    assert out.get_column("value").is_null().all()


def test_strings_cast_losslessly():
    out = validate_values(values(numerator=["5", " 7 ", "30"]))
    assert out.get_column("numerator").to_list() == [5.0, 7.0, 30.0]


def test_text_that_is_not_a_number_names_column_and_rows():
    with pytest.raises(SchemaError) as err:
        validate_values(values(numerator=["5", "n/a", "30"]))
    msg = str(err.value)
    assert "'numerator'" in msg and "'n/a'" in msg
    assert "row 2: health.prop | A2 | 2022/23" in msg
    assert "Fix:" in msg


@pytest.mark.parametrize(
    ("rename", "suggestion"),
    [
        ({"area_code": "area_cod"}, "area_cod"),
        ({"indicator_id": "Indicator_ID"}, "Indicator_ID"),
        ({"period": "periodd"}, "periodd"),
    ],
)
def test_missing_column_suggests_nearest(rename, suggestion):
    with pytest.raises(SchemaError, match=f"did you mean '{suggestion}'"):
        validate_values(values().rename(rename))


def test_misspelt_optional_column_is_not_silently_ignored():
    with pytest.raises(SchemaError, match="'numerater'.*misspelling of 'numerator'"):
        validate_values(values().rename({"numerator": "numerater"}))


def test_null_keys():
    with pytest.raises(DataError, match="'area_code' is empty in 1 row"):
        validate_values(values(area_code=["A1", None, "A1"]))


def test_duplicated_keys_show_every_duplicate():
    with pytest.raises(DataError, match="duplicated keys in 2 rows") as err:
        validate_values(values(area_code=["A1", "A1", "A1"]))
    assert "row 1: health.prop | A1 | 2022/23" in str(err.value)


def test_breakdown_columns_are_part_of_the_key():
    frame = values(area_code=["A1", "A1", "A1"]).with_columns(sex=pl.Series(["Male", "Female", "Persons"]))
    assert validate_values(frame).height == 3


def test_negative_counts():
    with pytest.raises(DataError, match="'denominator' is negative"):
        validate_values(values(denominator=[10.0, -1.0, 20.0]))


def test_numerator_above_denominator_only_for_proportions():
    with pytest.raises(DataError, match="greater than the denominator for a proportion") as err:
        validate_values(values(numerator=[11.0, 7.0, 30.0]), INDICATORS)
    assert "A1" in str(err.value)
    # The rate row has numerator 30 > denominator 20 and that is allowed.
    assert validate_values(values(), INDICATORS).height == 3


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values(bad):
    with pytest.raises(DataError, match="'value' holds NaN or infinite"):
        validate_values(values(value=[1.0, bad, 2.0]))


def test_lower_above_upper():
    with pytest.raises(DataError, match="'lower_ci' is greater than upper_ci"):
        validate_values(values(value=[1.0, 2.0, 3.0], lower_ci=[0.5, 2.5, 2.0], upper_ci=[1.5, 1.5, 4.0]))


def test_unknown_indicator_suggests_registered_id():
    with pytest.raises(DataError, match="unknown indicator id.*'health.prp' \\(did you mean 'health.prop'\\?\\)"):
        validate_values(values(indicator_id=["health.prp", "health.prop", "health.rate"]), INDICATORS)


def test_periods_that_cannot_be_ordered():
    with pytest.raises(DataError, match="period cannot be ordered"):
        validate_values(values(period=["2022/23", "last year", "2022/23"]))


def test_same_label_with_two_start_dates():
    frame = values().with_columns(period_start=pl.Series([dt.date(2022, 4, 1), dt.date(2022, 9, 1), dt.date(2022, 4, 1)]))
    with pytest.raises(DataError, match="differs between rows of the same period label"):
        validate_values(frame)


def test_datetime_with_time_of_day_is_not_truncated():
    frame = values().with_columns(
        period_start=pl.Series([dt.datetime(2022, 4, 1), dt.datetime(2022, 4, 1, 12), dt.datetime(2022, 4, 1)])
    )
    with pytest.raises(SchemaError, match="time of day"):
        validate_values(frame)


def test_float_area_codes_are_refused_not_stringified():
    with pytest.raises(SchemaError, match="'area_code'"):
        validate_values(values(area_code=[1.0, 2.0, 1.5]))


def test_integer_area_codes_become_text():
    assert validate_values(values(area_code=[100001, 100002, 100001])).get_column("area_code").to_list() == [
        "100001",
        "100002",
        "100001",
    ]


def test_lazy_pandas_csv_and_parquet_inputs(tmp_path):
    frame = values()
    expected = validate_values(frame)
    assert_frame_equal(validate_values(frame.lazy()), expected)
    pd = pytest.importorskip("pandas")
    assert_frame_equal(validate_values(pd.DataFrame(frame.to_dict(as_series=False))), expected)
    frame.write_csv(tmp_path / "v.csv")
    assert_frame_equal(validate_values(tmp_path / "v.csv"), expected)
    frame.write_parquet(tmp_path / "v.parquet")
    assert_frame_equal(validate_values(str(tmp_path / "v.parquet")), expected)


def test_missing_file_and_wrong_type():
    with pytest.raises(SchemaError, match="does not exist"):
        validate_values("no/such/file.csv")
    with pytest.raises(SchemaError, match="expected a Polars DataFrame"):
        validate_values([1, 2, 3])


def test_areas_and_spend():
    areas = validate_areas(pl.DataFrame({"area_code": ["A1", "A2"], "population": ["1000", "2000"]}))
    assert areas.get_column("population").to_list() == [1000.0, 2000.0]
    with pytest.raises(DataError, match="'population' is negative"):
        validate_areas(pl.DataFrame({"area_code": ["A1"], "population": [-1]}))
    with pytest.raises(DataError, match="duplicated"):
        validate_areas(pl.DataFrame({"area_code": ["A1", "A1"]}))
    spend = validate_spend(pl.DataFrame({"area_code": ["A1"], "period": ["2020"], "service": ["health"], "spend": [-5]}))
    assert spend.get_column("spend").to_list() == [-5.0]  # net spend can be negative
    with pytest.raises(SchemaError, match="required column 'spend' is missing"):
        validate_spend(pl.DataFrame({"area_code": ["A1"], "period": ["2020"], "service": ["health"]}))


# -- fuzzing -------------------------------------------------------------------------------

ODD_TEXT = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + "éß漢字🙂 \t'\"<>&|\\") + ["\u200b", "\u0301"]), max_size=8
)
CELL = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2**60), max_value=2**60),
    ODD_TEXT,
    st.booleans(),
)


@st.composite
def messy_frames(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    columns = draw(
        st.lists(st.sampled_from(list(VALUES.columns) + ["sex", "extra", "numerater"]), min_size=1, max_size=9, unique=True)
    )
    data = {}
    for c in columns:
        kind = draw(st.sampled_from(["float", "int", "text", "mixed", "bool", "null"]))
        if kind == "float":
            data[c] = pl.Series(
                c, draw(st.lists(st.one_of(st.none(), st.floats(width=64)), min_size=n, max_size=n)), dtype=pl.Float64
            )
        elif kind == "int":
            data[c] = pl.Series(
                c, draw(st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=n, max_size=n)), dtype=pl.Int64
            )
        elif kind == "bool":
            data[c] = pl.Series(c, draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype=pl.Boolean)
        elif kind == "null":
            data[c] = pl.Series(c, [None] * n)
        else:
            cells = draw(st.lists(CELL if kind == "mixed" else ODD_TEXT, min_size=n, max_size=n))
            data[c] = pl.Series(c, [None if x is None else str(x) for x in cells], dtype=pl.String)
    return pl.DataFrame(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_frames(), st.booleans())
def test_fuzz_only_publicservices_errors_naming_a_column(frame, with_indicators):
    try:
        validate_values(frame, INDICATORS if with_indicators else None)
    except PublicServicesError as exc:
        msg = str(exc)
        assert "Fix:" in msg
        assert any(f"'{c}'" in msg for c in [*frame.columns, *VALUES.columns]), msg


@st.composite
def valid_frames(draw):
    n = draw(st.integers(min_value=1, max_value=8))
    codes = draw(st.lists(ODD_TEXT.filter(lambda s: s != ""), min_size=n, max_size=n, unique=True))
    years = draw(st.lists(st.integers(1990, 2030), min_size=n, max_size=n))
    denominators = draw(st.lists(st.floats(1, 1e9), min_size=n, max_size=n))
    shares = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    return pl.DataFrame(
        {
            "indicator_id": ["health.prop"] * n,
            "area_code": codes,
            "period": [f"{y}/{(y + 1) % 100:02d}" for y in years],
            "period_start": [dt.date(y, 4, 1) for y in years],
            "numerator": [float(int(s * d)) for s, d in zip(shares, denominators, strict=True)],
            "denominator": denominators,
            "value": [s * 100 for s in shares],
            "lower_ci": [None] * n,
            "upper_ci": [None] * n,
        },
        schema=dict(VALUES.columns),
    )


@settings(max_examples=150, deadline=None)
@given(valid_frames())
def test_valid_frames_pass_unchanged(frame):
    assert_frame_equal(validate_values(frame, INDICATORS), frame)


# -- implausible values and odd columns, rejected at the door ------------------------------


@pytest.mark.parametrize(
    ("column", "cells"),
    [
        ("numerator", [5.0, 2.0**60, 30.0]),  # above 2**53: floats no longer hold whole numbers exactly
        ("denominator", [10.0, 20.0, 1e16]),
        ("numerator", ["5", "1e300", "30"]),  # text parsed as a number, then too large
        ("value", [1.0, -2e15, 3.0]),
        ("upper_ci", [None, 1e300, None]),
    ],
)
def test_implausibly_large_numbers_are_rejected(column, cells):
    with pytest.raises(DataError, match=f"'{column}' is implausibly large \\(above 10\\^15\\) in 1 row") as err:
        validate_values(values(**{column: cells}))
    assert "Fix:" in str(err.value)


def test_large_but_plausible_and_fractional_counts_pass():
    # Fingertips publishes fractional numerators for some measures; a billion people is large but real.
    out = validate_values(values(numerator=[5.5, 7.25, 1e12], denominator=[10.0, 20.0, 1e15]))
    assert out.get_column("numerator").to_list() == [5.5, 7.25, 1e12]


def test_implausible_population_and_spend():
    with pytest.raises(DataError, match="'population' is implausibly large"):
        validate_areas(pl.DataFrame({"area_code": ["A1"], "population": [2.0**60]}))
    with pytest.raises(DataError, match="'spend' is implausibly large"):
        validate_spend(pl.DataFrame({"area_code": ["A1"], "period": ["2020"], "service": ["x"], "spend": [-1e16]}))


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        ({"period": ["0001", "2022/23", "2022/23"]}, "row 1: health.prop | A1 | 0001"),
        ({"period": ["2022/23", "2022/23", "2301"]}, "row 3: health.rate | A1 | 2301"),
        ({"period_start": ["2022-04-01", "-0001-01-01", "2022-04-01"]}, "row 2: health.prop | A2 | 2022/23"),
        (
            {"period_start": [dt.date(1799, 12, 31), dt.date(2022, 4, 1), dt.date(1799, 12, 31)]},
            "row 1: health.prop | A1 | 2022/23",
        ),
    ],
)
def test_period_start_years_outside_1800_to_2200(overrides, shown):
    with pytest.raises(DataError, match="'period_start' is outside the years 1800 to 2200") as err:
        validate_values(values(**overrides))
    assert shown in str(err.value)


def test_edge_years_pass():
    frame = values(
        period=["1800", "2200", "1800"], period_start=[dt.date(1800, 1, 1), dt.date(2200, 12, 31), dt.date(1800, 1, 1)]
    )
    assert validate_values(frame).height == 3


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        (pl.DataFrame({"indicator_id": [["health.prop"]], "area_code": ["A1"], "period": ["2023"]}), "indicator_id"),
        (pl.DataFrame({"indicator_id": ["x", "x"], "area_code": ["A1", "A1"], "period": [["2023"], ["2023"]]}), "period"),
        (pl.DataFrame({"indicator_id": ["x"], "area_code": [{"code": "A1"}], "period": ["2023"]}), "area_code"),
        (pl.DataFrame({"indicator_id": ["x"], "area_code": [b"A1"], "period": ["2023"]}), "area_code"),
        (
            pl.DataFrame({"indicator_id": ["x", "x"], "area_code": ["A1", "A1"], "period": ["2023"] * 2, "sex": [["m"], ["f"]]}),
            "sex",
        ),
        (pl.DataFrame({"indicator_id": ["x"], "area_code": ["A1"], "period": ["2023"], "age": [{"from": 0, "to": 15}]}), "age"),
    ],
)
def test_list_struct_and_binary_keys_give_a_named_error_not_a_crash(frame, column):
    # The message builder itself used to fail casting a List key to text.
    with pytest.raises(SchemaError, match=f"column '{column}' holds .* values") as err:
        validate_values(frame)
    assert "row 1: " in str(err.value) and "Fix:" in str(err.value)


def test_a_path_read_outside_a_reader_warns_about_its_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("area_code,area_name\nW06000001,Ynys Môn\n".encode("cp1252"))
    with pytest.warns(UserWarning, match=r"latin.csv: read as windows-1252 \(not UTF-8\), e.g. 'Ynys Môn'"):
        areas = validate_areas(path)
    assert areas.item(0, "area_name") == "Ynys Môn"


# -- the door for frames handed straight to a statistic ---------------------------------------------


def test_comparable_set_is_part_of_the_key_and_limit_columns_are_not_typos():
    # a frame laid out by comparable set holds a unitary authority once per set; a result passed
    # on carries lower_95 / upper_998: both reach the statistics through validate_values
    laid = pl.DataFrame(
        {
            "indicator_id": ["health.prop"] * 2,
            "area_code": ["E06000001"] * 2,
            "period": ["2023"] * 2,
            "comparable_set": ["upper_tier", "lower_tier"],
            "lower_95": [1.0, 1.0],
            "upper_998": [2.0, 2.0],
        }
    )
    out = validate_values(laid)
    assert out.height == 2 and {"comparable_set", "lower_95", "upper_998"} <= set(out.columns)
    with pytest.raises(DataError, match="duplicated keys"):
        validate_values(pl.concat([laid, laid.head(1)]))


def test_unordered_periods_can_be_left_to_a_statistic_that_orders_by_label():
    frame = pl.DataFrame({"indicator_id": ["health.prop"] * 2, "area_code": ["A", "B"], "period": ["seed001", "seed002"]})
    with pytest.raises(DataError, match="period_start"):
        validate_values(frame)
    assert validate_values(frame, ordered=False).get_column("period_start").null_count() == 2
    with pytest.raises(DataError, match="outside the years"):  # a start that is given is still checked
        validate_values(frame.with_columns(pl.lit(dt.date(1700, 1, 1)).alias("period_start")), ordered=False)


@pytest.mark.parametrize("tiny", [5e-324, 1e-300, 1e-16])
def test_denominators_above_zero_but_vanishingly_small_are_refused(tiny):
    # fuzz finding: a denominator of 5e-324 beside one of 1e15 overflowed the shrinkage grid (IndexError)
    with pytest.raises(DataError, match=r"(?s)'denominator' is above zero but implausibly small.*A2"):
        validate_values(values(denominator=[10.0, tiny, 20.0]))
    assert validate_values(values(numerator=[0.0, 0.0, 0.0], denominator=[10.0, 0.0, 1e-15])).height == 3


def test_implausible_deprivation_is_refused_at_the_door():
    # fuzz finding: a deprivation score of 1e300 passed the door and broke value for money's regression
    areas = pl.DataFrame({"area_code": ["A1", "A2"], "population": [1e5, 2e5], "deprivation": [12.0, 1e300]})
    with pytest.raises(DataError, match=r"(?s)'deprivation' is implausibly large.*A2"):
        validate_areas(areas)


def test_a_frame_breaking_several_rules_gets_the_error_of_the_first():
    # the rules are tested in one query, then worded one by one in their order: a NaN value is
    # reported before a negative count and a duplicated key, however the query found them
    bad = values(value=[float("nan"), 35.0, 150.0]).with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(-1.0).otherwise(pl.col("numerator")).alias("numerator"),
    )
    bad = pl.concat([bad, bad.tail(1)])
    with pytest.raises(DataError, match="'value' holds NaN"):
        validate_values(bad, INDICATORS)
    with pytest.raises(DataError, match="'numerator' is negative"):
        validate_values(bad.with_columns(pl.col("value").fill_nan(None)), INDICATORS)
    with pytest.raises(DataError, match="duplicated keys"):
        validate_values(bad.with_columns(pl.col("value").fill_nan(None), pl.col("numerator").abs()), INDICATORS)


def test_duplicated_area_codes_are_named_by_the_code_alone():
    # the rows a duplicated key names are labelled by that key, not by every column of the
    # frame's label (the code and the name), as the other checks of an areas frame are
    areas = pl.DataFrame({"area_code": ["E06000001", "E06000001"], "area_name": ["Hartlepool", "Hartlepool"]})
    with pytest.raises(DataError, match=r"duplicated keys in 2 rows:\n  row 1: E06000001\n  row 2: E06000001\n"):
        validate_areas(areas)
