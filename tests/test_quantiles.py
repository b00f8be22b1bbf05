"""Quantiles reproduce PHEindicatormethods::phe_quantile exactly; ranks put the best first."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, SchemaError
from publicservices.stats import quantile, rank, value_quintiles
from publicservices.stats.outcomes.quantiles import QUINTILE_LABELS, TOO_FEW_WARNING

FIXTURE = Path(__file__).parent / "fixtures" / "phe" / "quantile.csv"


@pytest.fixture(scope="module")
def phe() -> pl.DataFrame:
    return pl.read_csv(FIXTURE)


def _good(phe: pl.DataFrame) -> pl.DataFrame:
    # test_quantiles_ug in the package: rows whose Test starts "Good" (Gooddata, GooddataDups)
    return phe.filter(pl.col("Test").str.starts_with("Good"))


def _same(out: pl.DataFrame) -> None:
    got, want = out.get_column("quantile"), out.get_column("QuantileInGrp")
    mismatch = ~got.eq_missing(want)
    assert not mismatch.any(), out.filter(mismatch).select("IndSexRef", "AreaCode", "Value", "quantile", "QuantileInGrp")


def test_phe_grouped_deciles_invert_field(phe):
    # phe_quantile(group_by(df, IndSexRef, ParentCode), Value, invert = Polarity, inverttype = "field")
    df = _good(phe).filter(pl.col("GroupSet") == "IndSexReg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = quantile(df, "Value", 10, invert="Polarity", by=["IndSexRef", "ParentCode"])
    assert out.height == 339 and out.get_column("quantile").null_count() == 22
    _same(out)


def test_phe_grouped_logical_invert_warns_too_few(phe):
    # the 90366Female groups, invert = FALSE; some regions have fewer than 10 areas
    df = _good(phe).filter((pl.col("IndSexRef") == "90366Female") & (pl.col("GroupSet") == "IndSexReg"))
    with pytest.warns(UserWarning, match="too few small areas"):
        out = quantile(df, "Value", 10, invert=False, by=["IndSexRef", "ParentCode"])
    _same(out)


def test_phe_septiles_by_indicator(phe):
    df = _good(phe).filter(pl.col("GroupSet") == "IndSex")
    out = quantile(df, "Value", 7, invert="Polarity", by="IndSexRef")
    _same(out)


def test_phe_quartiles_ungrouped_default_invert(phe):
    df = _good(phe).filter(pl.col("GroupSet") == "None")
    assert df.height == 491
    _same(quantile(df, "Value", 4))
    # grouping by a constant column changes nothing (the package's df5 test)
    _same(quantile(df, "Value", 4, by="GroupSet"))


def test_phe_invert_varies_is_an_error(phe):
    bad = phe.filter(pl.col("Test") == "BadPolarity")
    with pytest.raises(DataError, match="same logical value for each data grouping set"):
        quantile(bad, "Value", 7, invert="Polarity")


def test_errors_name_the_problem(phe):
    with pytest.raises(SchemaError, match="numeric"):
        quantile(phe, "AreaCode")
    with pytest.raises(SchemaError, match="'Pol'"):
        quantile(phe, "Value", invert="Pol")
    with pytest.raises(SchemaError, match="booleans"):
        quantile(phe, "Value", invert="ParentCode")
    with pytest.raises(SchemaError, match="whole number"):
        quantile(phe, "Value", n=0)


def test_too_few_gives_nulls_and_the_phe_warning():
    f = pl.DataFrame({"g": ["a"] * 3 + ["b"] * 12, "v": [float(i) for i in range(15)]})
    with pytest.warns(UserWarning) as record:
        out = quantile(f, "v", 10, by="g")
    assert str(record[0].message) == TOO_FEW_WARNING
    assert out.filter(pl.col("g") == "a").get_column("quantile").null_count() == 3
    assert out.filter(pl.col("g") == "b").get_column("quantile").null_count() == 0


def _naive_phe(values: list[float | None], n: int, invert: bool) -> list[int | None]:
    """Straight transcription of the R code, one value at a time."""
    present = [v for v in values if v is not None]
    big_n = len(present)
    out: list[int | None] = []
    top = max(present) if present else None
    for v in values:
        if v is None or big_n < n:
            out.append(None)
            continue
        adj = (top - v) if invert else v
        adjs = [(top - u) if invert else u for u in present]
        r = 1 + sum(1 for a in adjs if a < adj)
        q = int(np.floor((n + 1) - np.ceil(((big_n + 1) - r) / (big_n / n))))
        out.append(1 if q == 0 else q)
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-50, 50).map(float)), min_size=0, max_size=40),
    st.integers(1, 12),
    st.booleans(),
)
def test_quantiles_match_transcription_in_range_and_monotone(values, n, invert):
    f = pl.DataFrame({"v": values}, schema={"v": pl.Float64})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = quantile(f, "v", n, invert=invert).get_column("quantile").to_list()
    assert got == _naive_phe(values, n, invert)
    pairs = [(v, q) for v, q in zip(values, got, strict=True) if q is not None]
    assert all(1 <= q <= n for _, q in pairs)
    # monotone: a higher value never sits in a lower quantile (higher when inverted)
    for v1, q1 in pairs:
        for v2, q2 in pairs:
            if v1 < v2:
                assert (q1 >= q2) if invert else (q1 <= q2)


def test_rank_ties_methods_and_polarity():
    f = pl.DataFrame({"v": [10.0, 30.0, 20.0, 30.0, None]})
    assert rank(f, "v").get_column("rank").to_list() == [4, 1, 3, 1, None]
    assert rank(f, "v", method="max").get_column("rank").to_list() == [4, 2, 3, 2, None]
    assert rank(f, "v", method="dense").get_column("rank").to_list() == [3, 1, 2, 1, None]
    assert rank(f, "v", method="average").get_column("rank").to_list() == [4.0, 1.5, 3.0, 1.5, None]
    assert rank(f, "v", polarity="lower_is_better").get_column("rank").to_list() == [1, 3, 2, 3, None]
    assert rank(f, "v").get_column("rank_count").to_list() == [4] * 5
    with pytest.raises(SchemaError, match="tie rule"):
        rank(f, "v", method="first")


def test_rank_polarity_column_and_groups():
    f = pl.DataFrame(
        {
            "ind": ["a", "a", "b", "b"],
            "v": [1.0, 2.0, 1.0, 2.0],
            "polarity": ["higher_is_better", "higher_is_better", "lower_is_better", "lower_is_better"],
        }
    )
    assert rank(f, "v", by="ind", polarity="polarity").get_column("rank").to_list() == [2, 1, 1, 2]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20).map(float), min_size=1, max_size=30), st.sampled_from(["min", "dense", "average", "max"]))
def test_rank_one_is_best_and_agrees_with_scipy(values, method):
    from scipy.stats import rankdata

    f = pl.DataFrame({"v": values})
    got = rank(f, "v", method=method).get_column("rank").to_numpy().astype(float)
    want = rankdata([-v for v in values], method=method)
    np.testing.assert_array_equal(got, want)
    best = max(values)
    # the best value holds the best (smallest) rank; with min/dense that rank is 1
    assert all(r == got.min() for v, r in zip(values, got, strict=True) if v == best)
    if method in ("min", "dense"):
        assert got.min() == 1


# -- value quintiles (Fingertips' comparison for indicators without confidence intervals) ----


def test_value_quintiles_hand_worked():
    # N = 12 distinct values, rank r (1 = lowest): quintile = floor(6 - ceil((13 - r) / (12 / 5))), 0 -> 1.
    # r = 1..12: (13 - r) / 2.4 = 5.0, 4.58, 4.17, 3.75, 3.33, 2.92, 2.5, 2.08, 1.67, 1.25, 0.83, 0.42
    # ceil = 5, 5, 5, 4, 4, 3, 3, 3, 2, 2, 1, 1 -> quintile 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5
    values = [7.0, 1.0, 12.0, 3.0, 9.0, 2.0, 5.0, 11.0, 4.0, 6.0, 10.0, 8.0]
    want = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3, 8: 3, 9: 4, 10: 4, 11: 5, 12: 5}
    f = pl.DataFrame({"indicator_id": "a", "period": "2024", "value": values, "polarity": "no_judgement"})
    out = value_quintiles(f)
    assert out.get_column("quintile").to_list() == [want[int(v)] for v in values]
    labels = dict(zip(out.get_column("value").to_list(), out.get_column("quintile_label").to_list(), strict=True))
    assert [labels[v] for v in (1.0, 4.0, 6.0, 9.0, 12.0)] == ["Lowest", "Low", "Middle", "High", "Highest"]
    up = value_quintiles(f.with_columns(pl.lit("higher_is_better").alias("polarity")))
    down = value_quintiles(f.with_columns(pl.lit("lower_is_better").alias("polarity")))
    assert up.get_column("quintile").to_list() == out.get_column("quintile").to_list() == down.get_column("quintile").to_list()
    top = out.get_column("value").arg_max()
    assert (up.get_column("quintile_label")[top], down.get_column("quintile_label")[top]) == ("Best", "Worst")
    bottom = out.get_column("value").arg_min()
    assert (up.get_column("quintile_label")[bottom], down.get_column("quintile_label")[bottom]) == ("Worst", "Best")


def test_value_quintiles_groups_nulls_and_small_groups():
    f = pl.DataFrame(
        {
            "indicator_id": ["a"] * 6 + ["b"] * 3,
            "period": "2024",
            "comparable_set": ["upper"] * 5 + ["lower"] + ["upper"] * 3,
            "value": [5.0, 4.0, 3.0, 2.0, 1.0, 100.0, 1.0, 2.0, None],
            "polarity": ["higher_is_better"] * 6 + [None] * 3,
        }
    )
    out = value_quintiles(f)  # default groups: indicator_id, period, comparable_set
    assert out.get_column("quintile").to_list() == [5, 4, 3, 2, 1, None, None, None, None]
    assert out.get_column("quintile_label").to_list()[:5] == ["Best", "Better", "Middle", "Worse", "Worst"]
    assert out.height == f.height and out.columns[: f.width] == f.columns
    # a fixed polarity for every row, and an explicit grouping
    fixed = value_quintiles(f.head(5), by=["indicator_id"], polarity="no_judgement")
    assert fixed.get_column("quintile_label").to_list() == ["Highest", "High", "Middle", "Low", "Lowest"]


def test_value_quintiles_errors_name_the_problem():
    f = pl.DataFrame({"value": [1.0, 2.0], "polarity": ["up", "up"]})
    with pytest.raises(SchemaError, match="not polarities"):
        value_quintiles(f)
    with pytest.raises(SchemaError, match="neither a polarity"):
        value_quintiles(f.drop("polarity"), polarity="pol")
    with pytest.raises(SchemaError, match="'region'"):
        value_quintiles(f.drop("polarity"), by="region")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(-1000, 1000), min_size=0, max_size=60, unique=True),
    st.sampled_from(["no_judgement", "higher_is_better", "lower_is_better"]),
)
def test_value_quintiles_monotone_and_near_equal(values, polarity):
    f = pl.DataFrame({"value": [float(v) for v in values]}, schema={"value": pl.Float64})
    out = value_quintiles(f, polarity=polarity)
    q = out.get_column("quintile").to_list()
    if len(values) < 5:
        assert all(x is None for x in q) and out.get_column("quintile_label").null_count() == len(values)
        return
    # monotone: a higher value never sits in a lower quintile
    order = sorted(zip(values, q, strict=True))
    assert all(a[1] <= b[1] for a, b in zip(order, order[1:], strict=False))
    # five groups of near-equal size: each holds floor(N/5) or ceil(N/5) areas (distinct values)
    sizes = [q.count(k) for k in range(1, 6)]
    assert sum(sizes) == len(values)
    assert all(len(values) // 5 <= s <= -(-len(values) // 5) for s in sizes)
    # labels follow the quintile and the polarity
    words = QUINTILE_LABELS[polarity]
    assert out.get_column("quintile_label").to_list() == [words[k - 1] for k in q]
