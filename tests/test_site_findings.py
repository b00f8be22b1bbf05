"""The home and sector pages' "biggest improvers": real changes only, after false-discovery control."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
from scipy.special import ndtr

from publicservices.site.model import build_model
from publicservices.site.sample import sample_dataset


def _naive_and_controlled(seed: int):
    model = build_model(sample_dataset(n_areas=120, n_periods=3, seed=seed), suppress_threshold=0)
    sector = "health"
    latest = model.latest_rows().filter(pl.col("indicator_id").str.starts_with(sector), pl.col("yoy_change").is_not_null())
    good = pl.when(pl.col("polarity") == "lower_is_better").then(pl.col("yoy_upper_95") < 0).otherwise(pl.col("yoy_lower_95") > 0)
    naive = latest.filter(good.fill_null(False))
    return model, naive, model.improvers(sector)


def test_improvers_are_a_subset_of_the_naive_list_and_pass_benjamini_hochberg():
    model, naive, controlled = _naive_and_controlled(seed=2)
    keys = ["indicator_id", "area_code"]
    assert set(controlled.select(keys).rows()) <= set(naive.select(keys).rows())
    # recompute BH by hand over every tested change
    rows = model.latest_rows().filter(
        pl.col("indicator_id").str.starts_with("health"), pl.col("yoy_change").is_not_null(), pl.col("yoy_lower_95").is_not_null()
    )
    se = (rows["yoy_upper_95"] - rows["yoy_lower_95"]).to_numpy() / (2 * 1.959963984540054)
    p = 2 * ndtr(-np.abs(rows["yoy_change"].to_numpy() / se))
    p = p[np.isfinite(p)]
    order = np.sort(p)
    passed = np.nonzero(order <= 0.05 * np.arange(1, p.size + 1) / p.size)[0]
    cutoff = order[passed[-1]] if passed.size else -1.0
    assert controlled.height <= int((p <= cutoff).sum())


def _first_period_twice(data):
    """The first period's rows, and the same rows again as the second period: no area changed."""
    first = data.values.filter(pl.col("period") == data.periods[0])
    second = first.with_columns(
        pl.lit(data.periods[1]).alias("period"),
        pl.lit(data.values.filter(pl.col("period") == data.periods[1])["period_start"][0]).alias("period_start"),
    )
    return first, second


def test_no_improver_without_a_real_change():
    # a nation whose second period repeats the first exactly: nothing improved
    data = sample_dataset(n_areas=60, n_periods=2, seed=4)
    first, second = _first_period_twice(data)
    flat = type(data)(pl.concat([first, second]), data.areas, data.spend, data.indicators)
    model = build_model(flat, suppress_threshold=0)
    assert all(model.improvers(s).height == 0 for s in model.sectors)


def test_headline_counts_come_from_the_funnel_limits_shown():
    """The demo's A&E areas vary far more than chance: the site judges them by the widened limits it draws."""
    import publicservices as ps

    model = build_model(ps.demo(sectors=["health"]), indicators=["health.ae_4hr"])
    funnel = model.funnels["health.ae_4hr"]
    counts = funnel.comparison_counts().row(0, named=True)
    assert counts["overdispersion"] == "additive"  # significant overdispersion, so additive random-effects limits
    latest = model.latest_rows("health.ae_4hr").filter(pl.col("suppressed").is_null())
    judged = latest.filter(pl.col("comparison_95").cast(pl.String).is_in(["better", "worse"])).height
    assert judged == counts["outside_95"]  # not the 145 of 150 the unadjusted limits flag
    assert judged < 30
    assert set(latest["comparison_basis"].drop_nulls()) == {"funnel limits allowing for variation beyond chance"}


def _findings(data, sector: str = "health") -> dict:
    from publicservices.site.pages import Pages

    return Pages(build_model(data, suppress_threshold=0), "t", None, None).findings("index.md", sector)


def test_nothing_found_is_said_only_where_it_could_have_been_found():
    # a change was tested and none is real: say so; no indicator of the sample has a floor: say nothing of floors
    data = sample_dataset(n_areas=60, n_periods=2, seed=4)
    first, second = _first_period_twice(data)
    # the screening floor lowered to 0: no area is below it, which is worth saying
    low_floor = {
        **data.indicators,
        "health.sample_screening": dataclasses.replace(data.indicators["health.sample_screening"], floor=0.0),
    }
    flat_data = type(data)(pl.concat([first, second]), data.areas, data.spend, low_floor)
    flat = _findings(flat_data)
    assert flat["improvers"] == [] and flat["change_note"] == "No area improved by more than chance in the latest year."
    assert flat["below"] == [] and flat["floor_note"] == "No area is confidently below a floor standard."
    # no schools indicator has a floor: nothing is said of floors
    assert data.indicators["schools.sample_score"].floor is None and _findings(flat_data, "schools")["floor_note"] is None
    # one period: there is no change to judge, and the page says why instead of "no area improved"
    single = sample_dataset(n_areas=30, n_periods=1, seed=4)
    assert _findings(single)["change_note"] == (
        "Whether any area improved by more than chance cannot be judged: there is no earlier period to compare the latest with."
    )
    # no intervals (values only): the changes cannot be tested
    multiplier = {i: ind.multiplier for i, ind in data.indicators.items()}
    values_only = data.values.with_columns(
        pl.coalesce("value", pl.col("numerator") / pl.col("denominator") * pl.col("indicator_id").replace_strict(multiplier))
    ).drop("numerator", "denominator", "lower_ci", "upper_ci")
    bare = type(data)(values_only, data.areas, data.spend, data.indicators)
    assert _findings(bare)["change_note"] == (
        "Whether any area improved by more than chance cannot be judged: the figures have no confidence intervals."
    )
