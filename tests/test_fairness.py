"""ps.fairness: inputs, one row per indicator x period, counts of what was left out, trend, summary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from publicservices.errors import DataError, IndicatorError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats import assess_fairness, between_area_variation
from publicservices.stats.fairness.assess import trend

UPTAKE = Indicator(
    id="demo.uptake", title="screening uptake", sector="demo", measure="proportion", multiplier=100, polarity="higher_is_better"
)
DEATHS = Indicator(
    id="demo.deaths", title="early deaths", sector="demo", measure="rate", multiplier=100_000, polarity="lower_is_better"
)
LE = Indicator(id="demo.le", title="life expectancy", sector="demo", measure="mean", unit="years")
K = 120
CODES = [f"E{i:05d}" for i in range(K)]
PERIODS = [(f"{2016 + t}/{17 + t}", dt.date(2016 + t, 4, 1)) for t in range(5)]


def areas_frame(k: int = K) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    return pl.DataFrame(
        {
            "area_code": CODES[:k],
            "population": rng.integers(20_000, 300_000, k).astype(float),
            "deprivation": rng.uniform(5, 60, k),
            "parent_code": [f"R{i % 6}" for i in range(k)],
        }
    )


def values_frame(gradient_by_period=(0.10, 0.08, 0.06, 0.04, 0.02), seed: int = 3) -> pl.DataFrame:
    """Uptake (proportion), deaths (rate) and life expectancy (mean with CIs) for 5 periods."""
    rng = np.random.default_rng(seed)
    areas = areas_frame()
    dep = areas["deprivation"].to_numpy()
    pop = areas["population"].to_numpy()
    rel = (dep - dep.mean()) / dep.std()
    frames = []
    u = rng.normal(0, 0.03, K)
    for (period, start), g in zip(PERIODS, gradient_by_period, strict=True):
        n = np.round(pop * 0.05)
        p = np.clip(0.6 - g * rel + u, 0.05, 0.95)
        x = rng.binomial(n.astype(np.int64), p).astype(float)
        deaths_n = pop
        deaths_x = rng.poisson(pop * 4e-3 * np.exp(0.2 * rel)).astype(float)
        le = 80 - 1.5 * rel + rng.normal(0, 0.5, K)
        half = 1.96 * rng.uniform(0.3, 0.8, K)
        base = {"area_code": CODES, "period": period, "period_start": start}
        frames += [
            pl.DataFrame({**base, "indicator_id": UPTAKE.id, "numerator": x, "denominator": n}),
            pl.DataFrame({**base, "indicator_id": DEATHS.id, "numerator": deaths_x, "denominator": deaths_n}),
            pl.DataFrame({**base, "indicator_id": LE.id, "value": le, "lower_ci": le - half, "upper_ci": le + half}),
        ]
    return pl.concat(frames, how="diagonal_relaxed")


DEFS = {i.id: i for i in (UPTAKE, DEATHS, LE)}


@pytest.fixture(scope="module")
def result() -> pl.DataFrame:
    return assess_fairness(values_frame(), DEFS, areas=areas_frame(), repetitions=2000)


def test_one_row_per_indicator_and_period_in_time_order(result):
    assert result.height == 3 * 5
    assert result.select("indicator_id", "period").is_duplicated().sum() == 0
    for _, sub in result.group_by("indicator_id"):
        assert sub["period_start"].is_sorted()
    assert (result["n_areas"] == K).all()
    must = [
        "national",
        "range",
        "iqr",
        "p90_p10",
        "sd",
        "cv",
        "iqr_w",
        "p90_p10_w",
        "sd_w",
        "cv_w",
        "gini",
        "theil_t",
        "theil_l",
        "theil_t_between",
        "theil_t_within",
        "atkinson_0_5",
        "atkinson_1",
        "atkinson_2",
        "tau2",
        "tau2_lower_95",
        "tau2_upper_95",
        "i2",
        "phi",
        "true_cv",
        "true_cv_lower_95",
        "true_cv_upper_95",
        "reliability_mean",
        "sii",
        "sii_lower_95",
        "sii_upper_95",
        "rii",
        "gap",
        "gap_lower_95",
        "concentration_index",
        "region_share_theil",
        "region_share_variance",
        "true_cv_trend",
        "sii_trend",
        "summary",
    ]
    assert not [c for c in must if c not in result.columns]


def test_measures_per_measure_type(result):
    up = result.filter(pl.col("indicator_id") == UPTAKE.id).row(0, named=True)
    v = values_frame().filter((pl.col("indicator_id") == UPTAKE.id) & (pl.col("period") == PERIODS[0][0]))
    assert up["national"] == pytest.approx(v["numerator"].sum() / v["denominator"].sum() * 100, rel=1e-12)
    assert up["sii_value_type"] == 2 and up["scv"] is not None
    de = result.filter(pl.col("indicator_id") == DEATHS.id).row(0, named=True)
    assert de["sii_value_type"] == 1
    assert de["sii"] < 0 and de["concentration_index"] < 0  # more deaths where more deprived
    le = result.filter(pl.col("indicator_id") == LE.id).row(0, named=True)
    assert le["sii_value_type"] == 0 and le["scv"] is None and le["sii"] > 0  # longer lives where less deprived
    # standard errors of the mean indicator come from its 95% limits
    lv = values_frame().filter((pl.col("indicator_id") == LE.id) & (pl.col("period") == PERIODS[0][0]))
    ref = between_area_variation(
        lv.with_columns(((pl.col("upper_ci") - pl.col("lower_ci")) / (2 * 1.959963984540054)).alias("se")), by=[]
    )
    assert le["tau2"] == pytest.approx(ref["tau2"][0], rel=1e-12)


def test_dataset_input_gives_the_same_answer(result):
    class Data:  # a Dataset as fairness sees it: .values, .areas, .indicators
        values = values_frame()
        areas = areas_frame()
        indicators = DEFS

    again = assess_fairness(Data(), repetitions=2000)
    # a Dataset is laid out by comparable set first: the same numbers, with the set named
    assert set(again["comparable_set"]) == {"other"}
    assert again.drop("summary", "comparable_set").equals(result.drop("summary"))
    only = assess_fairness(Data(), [UPTAKE.id], repetitions=2000)
    assert set(only["indicator_id"]) == {UPTAKE.id}
    lazy = assess_fairness(values_frame().lazy(), list(DEFS.values()), areas=areas_frame(), repetitions=2000)
    assert lazy.drop("summary").equals(result.drop("summary"))


def test_real_dataset_object_is_accepted():
    from publicservices.dataset import Dataset

    ds = Dataset(values=values_frame(), areas=areas_frame(), indicators=list(DEFS.values()))
    out = assess_fairness(ds, repetitions=2000)
    assert out.height == 15 and out["summary"].null_count() == 0


def test_vectorised_groups_equal_separate_runs(result):
    deterministic = [
        "tau2",
        "tau2_lower_95",
        "tau2_upper_95",
        "i2",
        "true_cv",
        "gini",
        "theil_t",
        "sd_w",
        "p90_p10_w",
        "sii",
        "rii",
        "gap",
        "concentration_index",
        "region_share_variance",
        "scv",
    ]
    values = values_frame()
    for ind, period in ((UPTAKE.id, PERIODS[2][0]), (LE.id, PERIODS[4][0])):
        alone = assess_fairness(
            values.filter((pl.col("indicator_id") == ind) & (pl.col("period") == period)),
            DEFS,
            areas=areas_frame(),
            repetitions=2000,
        ).row(0, named=True)
        row = result.filter((pl.col("indicator_id") == ind) & (pl.col("period") == period)).row(0, named=True)
        for c in deterministic:
            if alone[c] is None:
                assert row[c] is None
            else:
                assert row[c] == pytest.approx(alone[c], rel=1e-12, abs=1e-15), c


def test_trend_narrowing_gap_and_summary(result):
    up = result.filter(pl.col("indicator_id") == UPTAKE.id).sort("period_start")
    last = up.row(-1, named=True)
    assert last["sii_trend_periods"] == 5 and last["trend_since"] == "2016/17"
    assert last["sii_trend_upper_95"] < 0 or last["sii_trend_lower_95"] > 0  # a clear change...
    assert last["sii"] > 0 and last["sii_trend"] < 0  # ...towards zero: narrowing
    assert "has narrowed since 2016/17" in last["summary"]
    assert up.row(0, named=True)["sii_trend"] is None  # the first period has no trend
    assert "since" not in up.row(0, named=True)["summary"]
    assert (
        last["summary"].startswith("About ")
        and "% of the variation between areas in screening uptake is larger than chance" in last["summary"]
    )
    assert "the true spread is ±" in last["summary"]


def test_trend_uses_only_periods_up_to_the_row():
    df = pl.DataFrame(
        {
            "s": ["a"] * 4,
            "__t": [0.0, 1.0, 2.0, 3.0],
            "est": [10.0, 8.0, 6.0, 20.0],
            "lo": [9.0, 7.0, 5.0, 19.0],
            "hi": [11.0, 9.0, 7.0, 21.0],
        }
    )
    out = trend(df, "est", "lo", "hi", series="s")
    assert out["est_trend"][2] == pytest.approx(-2.0)
    assert out["est_trend_lower_95"][1] == pytest.approx(-2 - 1.959963984540054 * np.sqrt(2) * 0.5102, rel=1e-3)
    assert out["est_trend"][3] > 0  # the jump arrives only in the last row


def test_rows_left_out_are_counted():
    values = values_frame().filter(pl.col("indicator_id") == UPTAKE.id)
    values = values.with_columns(
        pl.when(pl.col("area_code") == CODES[0]).then(None).otherwise(pl.col("numerator")).alias("numerator")
    )
    areas = areas_frame().with_columns(
        pl.when(pl.col("area_code") == CODES[1]).then(None).otherwise(pl.col("deprivation")).alias("deprivation"),
        pl.when(pl.col("area_code") == CODES[2]).then(None).otherwise(pl.col("population")).alias("population"),
        pl.when(pl.col("area_code") == CODES[3]).then(None).otherwise(pl.col("parent_code")).alias("parent_code"),
    )
    row = assess_fairness(values, DEFS, areas=areas, repetitions=2000).row(0, named=True)
    assert row["n_areas"] == K - 1 and row["n_missing"] == 1
    assert row["n_no_deprivation"] == 1 and row["n_no_weight"] == 1 and row["n_no_group"] == 1
    assert row["k"] == K - 1


def test_without_areas_measures_that_need_them_are_null_with_notes():
    values = values_frame().filter(pl.col("indicator_id") == LE.id)
    out = assess_fairness(values, DEFS)
    row = out.row(0, named=True)
    assert row["sii"] is None and "no deprivation scores" in row["gradient_note"]
    assert "no regions" in row["region_note"] and row["sd_w"] is None
    assert row["tau2"] is not None and row["gini"] is not None


def test_breakdown_columns_give_separate_rows():
    v = values_frame().filter(pl.col("indicator_id") == UPTAKE.id)
    both = pl.concat([v.with_columns(pl.lit("F").alias("sex")), v.with_columns(pl.lit("M").alias("sex"))])
    out = assess_fairness(both, DEFS, areas=areas_frame(), repetitions=2000)
    assert out.height == 10 and set(out["sex"]) == {"F", "M"}


def test_neighbours_add_morans_i():
    pairs = pl.DataFrame({"area_code": CODES[:-1], "neighbour_code": CODES[1:]})
    out = assess_fairness(
        values_frame().filter(pl.col("indicator_id") == LE.id),
        DEFS,
        areas=areas_frame(),
        neighbours=pairs,
        permutations=49,
        repetitions=2000,
    )
    assert out["moran_i"].null_count() == 0 and out["moran_p"].is_between(0, 1).all()


def test_no_variation_and_too_few_areas_sentences():
    flat = pl.DataFrame(
        {
            "indicator_id": UPTAKE.id,
            "area_code": CODES[:30],
            "period": "2020",
            "numerator": [500.0] * 30,
            "denominator": [1000.0] * 30,
        }
    )
    s = assess_fairness(flat, DEFS)["summary"][0]
    assert s.startswith("The variation between areas in screening uptake is no larger than chance would produce")
    one = flat.head(1)
    s1 = assess_fairness(one, DEFS)["summary"][0]
    assert s1.startswith("There are too few areas")


def test_input_errors_are_clear():
    v = values_frame()
    with pytest.raises(IndicatorError, match="no definition for indicator"):
        assess_fairness(v, {UPTAKE.id: UPTAKE})
    with pytest.raises(IndicatorError, match="have no rows"):
        assess_fairness(type("D", (), {"values": v, "areas": areas_frame(), "indicators": DEFS})(), ["demo.nothing"])
    with pytest.raises(SchemaError, match="area_code"):
        assess_fairness(v.drop("area_code"), DEFS)
    with pytest.raises(DataError, match="duplicated"):
        assess_fairness(v, DEFS, areas=pl.concat([areas_frame(), areas_frame().head(2)]))
    with pytest.raises(SchemaError, match="no row has a value"):
        assess_fairness(v.select("indicator_id", "area_code", "period"), DEFS)


def test_parent_area_rows_are_left_out_and_counted():
    v = values_frame().filter((pl.col("indicator_id") == UPTAKE.id) & (pl.col("period") == PERIODS[0][0]))
    region_rows = (
        v.join(areas_frame().select("area_code", "parent_code"), on="area_code")
        .group_by("indicator_id", "period", "period_start", "parent_code")
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
        .rename({"parent_code": "area_code"})
    )
    areas = pl.concat([areas_frame(), pl.DataFrame({"area_code": region_rows["area_code"]})], how="diagonal_relaxed")
    with_regions = assess_fairness(pl.concat([v, region_rows], how="diagonal_relaxed"), DEFS, areas=areas, repetitions=2000).row(
        0, named=True
    )
    alone = assess_fairness(v, DEFS, areas=areas_frame(), repetitions=2000).row(0, named=True)
    assert with_regions["n_parent_areas"] == 6 and alone["n_parent_areas"] == 0
    assert with_regions["n_areas"] == K
    assert with_regions["tau2"] == pytest.approx(alone["tau2"], rel=1e-12)
    assert with_regions["national"] == pytest.approx(alone["national"], rel=1e-12)


def test_non_numeric_counts_are_named():
    v = values_frame().filter(pl.col("indicator_id") == UPTAKE.id).with_columns(pl.col("numerator").cast(pl.String))
    v = v.with_columns(
        pl.when(pl.col("area_code") == CODES[5]).then(pl.lit("n/a")).otherwise(pl.col("numerator")).alias("numerator")
    )
    with pytest.raises(SchemaError, match="'numerator' holds text that is not a number") as info:  # named at the door
        assess_fairness(v, DEFS)
    assert CODES[5] in str(info.value)
    ok = v.with_columns(pl.col("numerator").replace("n/a", "12"))
    assert assess_fairness(ok, DEFS).height == 5  # numbers written as text are fine


@pytest.mark.parametrize("method", ["DL", "PM", "REML"])
def test_real_data_every_estimate_lies_inside_its_interval(shared_data, method):
    # issue: the upper-tier 2022-24 row had DL tau2 44.5 with a Q-profile interval of 44.8 to 74.1
    import publicservices as ps

    out = assess_fairness(
        ps.read(shared_data("health_preventable_cvd_mortality.csv")).to_dataset(), method=method, repetitions=200
    )
    assert out.height > 0 and out["tau2"].null_count() == 0
    for col in ("tau2", "i2", "true_cv"):
        outside = out.filter((pl.col(col) < pl.col(f"{col}_lower_95")) | (pl.col(col) > pl.col(f"{col}_upper_95")))
        assert outside.height == 0, outside.select("period", col, f"{col}_lower_95", f"{col}_upper_95")
    assert out["variation_method"].str.starts_with(method).all()


def test_plain_frames_are_checked_at_the_door():
    # fuzz findings: a period_start of text met date arithmetic ("sub operation not supported for
    # dtypes str and str"), and an areas frame of the wrong types met a join
    v = values_frame().filter(pl.col("indicator_id") == UPTAKE.id)
    with pytest.raises(SchemaError, match="'period_start' holds text that is not an ISO date"):
        assess_fairness(v.with_columns(pl.col("period_start").cast(pl.String).str.replace("-", "/")), DEFS, areas=areas_frame())
    with pytest.raises(DataError, match="'deprivation' holds NaN or infinite values"):
        assess_fairness(v, DEFS, areas=areas_frame().with_columns(pl.lit(float("inf")).alias("deprivation")))
    # periods with no dates are still ordered by their labels (a simulation's seeds, say)
    seeds = v.drop("period_start").with_columns(pl.format("seed{}", pl.col("period")).alias("period"))
    assert assess_fairness(seeds, DEFS, areas=areas_frame()).height == v.get_column("period").n_unique()
