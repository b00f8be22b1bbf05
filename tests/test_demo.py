"""The synthetic demo nation: shape, labels, determinism, the hex map, the model and its truth."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import deque

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.errors import DataError, PluginError
from publicservices.indicators import Indicator
from publicservices.plugins import PluginRegistry
from publicservices.synthetic import DemoData, DemoNation, Model, demo, hex_neighbours, simulate
from publicservices.synthetic.geography import REGIONS

SECTORS = ["health", "policing", "schools", "welfare"]


@pytest.fixture(scope="module")
def dataset():
    return demo(seed=0)


def test_size_sectors_and_periods(dataset):
    assert len(dataset.indicators) >= 24
    assert dataset.areas.height == 150
    assert dataset.periods == [f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2024)]
    assert dataset.sectors == SECTORS
    assert all(len([i for i in dataset.indicators.values() if i.sector == s]) >= 6 for s in SECTORS)
    starts = dataset.values.select("period", "period_start").unique().sort("period")
    assert all(d.month == 4 and d.day == 1 and d.year == int(p[:4]) for p, d in starts.rows())
    # Every indicator has a value for every area and period.
    assert dataset.values.height == len(dataset.indicators) * 150 * 10


def test_labelled_synthetic_everywhere(dataset):
    assert dataset.synthetic and dataset.metadata["synthetic"] is True
    assert "synthetic" in dataset.metadata["title"].lower()
    assert repr(dataset).startswith("Synthetic dataset")
    assert "Synthetic dataset" in dataset._repr_html_()
    codes = dataset.areas.get_column("area_code")
    # X-prefixed, never a real ONS code (E, W, S, N, K).
    assert codes.str.contains(r"^X(06|08|09|10)\d{6}$").all()
    assert dataset.areas.get_column("parent_code").str.contains(r"^X12\d{6}$").all()


def test_areas_attributes(dataset):
    areas = dataset.areas
    pop = areas.get_column("population")
    assert pop.min() >= 40_000 and pop.max() <= 1_500_000
    assert pop.mean() > pop.median()  # skewed: a few large areas
    assert areas.get_column("area_name").n_unique() == 150
    deciles = areas.group_by("deprivation_decile").len().sort("deprivation_decile")
    assert deciles.get_column("deprivation_decile").to_list() == list(range(1, 11))
    assert set(deciles.get_column("len")) == {15}
    # Decile 1 is the most deprived tenth.
    by_decile = areas.group_by("deprivation_decile").agg(pl.col("deprivation").mean()).sort("deprivation_decile")
    assert by_decile.get_column("deprivation").is_sorted(descending=True)
    assert set(areas.get_column("urban_rural")) == {"Predominantly urban", "Urban with significant rural", "Predominantly rural"}
    assert set(areas.get_column("area_type")) == {"Unitary authority", "Metropolitan district", "Capital borough", "County"}
    assert areas.get_column("region_name").n_unique() == 9


def _connected(codes: set[str], edges: pl.DataFrame) -> bool:
    adjacency: dict[str, set[str]] = {c: set() for c in codes}
    for a, b in edges.filter(pl.col("area_code").is_in(list(codes)) & pl.col("neighbour_code").is_in(list(codes))).rows():
        adjacency[a].add(b)
    start = next(iter(codes))
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in adjacency[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return seen == codes


def test_hex_map_regions_are_contiguous_and_the_country_is_one_piece(dataset):
    areas = dataset.areas
    assert areas.select("hex_q", "hex_r").unique().height == 150
    edges = hex_neighbours(areas)
    # Adjacency is symmetric and nobody neighbours themselves.
    assert edges.sort(pl.all()).equals(
        edges.select(pl.col("neighbour_code").alias("area_code"), pl.col("area_code").alias("neighbour_code")).sort(pl.all())
    )
    assert edges.filter(pl.col("area_code") == pl.col("neighbour_code")).height == 0
    assert edges.group_by("area_code").len().get_column("len").max() <= 6
    assert _connected(set(areas.get_column("area_code")), edges)
    for region in areas.get_column("parent_code").unique():
        members = set(areas.filter(pl.col("parent_code") == region).get_column("area_code"))
        assert _connected(members, edges), region
    # Capital boroughs make up the whole Capital region.
    capital = areas.filter(pl.col("region_name") == "Capital")
    assert set(capital.get_column("area_type")) == {"Capital borough"}


def test_hex_neighbours_needs_tile_columns():
    from publicservices.errors import SchemaError

    with pytest.raises(SchemaError, match="hex_q"):
        hex_neighbours(pl.DataFrame({"area_code": ["a"]}))


def test_spend_per_area_period_and_service(dataset):
    spend = dataset.spend
    assert set(spend.get_column("service")) == set(SECTORS)
    assert spend.height == 150 * 10 * 4
    assert spend.get_column("spend").min() > 0
    per_head = spend.join(dataset.areas.select("area_code", "population"), on="area_code").with_columns(
        per_head=pl.col("spend") / pl.col("population")
    )
    medians = dict(per_head.group_by("service").agg(pl.col("per_head").median()).rows())
    assert 1000 < medians["health"] < 4000 and 100 < medians["policing"] < 500


def test_deterministic_and_seed_dependent(dataset):
    again = demo(seed=0)
    assert again.values.equals(dataset.values)
    assert again.areas.equals(dataset.areas)
    assert again.spend.equals(dataset.spend)
    assert again.truth["values"].equals(dataset.truth["values"])
    other = demo(seed=1)
    assert not other.values.equals(dataset.values)
    # The geography is fixed; the draws are not.
    assert other.areas.get_column("area_name").equals(dataset.areas.get_column("area_name"))
    assert not other.areas.get_column("population").equals(dataset.areas.get_column("population"))


def test_builds_well_under_a_second():
    demo(seed=5)  # warm imports and plugin loading
    start = time.perf_counter()
    demo(seed=6)
    assert time.perf_counter() - start < 1.0


def test_truth_is_complete(dataset):
    truth = dataset.truth
    for key in (
        "values",
        "national",
        "area_effects",
        "between_area_variance",
        "tau2",
        "gradient",
        "trend",
        "baseline",
        "link",
        "spend_effect",
        "efficiency_effect",
        "parameters",
        "efficiency",
        "efficient_areas",
        "inefficient_areas",
        "deprivation_sd",
        "seed",
    ):
        assert key in truth, key
    ids = set(dataset.indicators)
    assert set(truth["tau2"]) == ids and set(truth["gradient"]) == ids
    keys = ["indicator_id", "area_code", "period"]
    assert truth["values"].select(keys).sort(keys).equals(dataset.values.select(keys).sort(keys))
    for service in SECTORS:
        good, bad = set(truth["efficient_areas"][service]), set(truth["inefficient_areas"][service])
        assert len(good) == len(bad) == 18 and not good & bad
    assert truth["between_area_variance"].height == len(ids) * 10


def test_truth_is_what_the_values_were_drawn_from(dataset):
    joined = dataset.values.join(dataset.truth["values"], on=["indicator_id", "area_code", "period"])
    props = [i for i, ind in dataset.indicators.items() if ind.measure == "proportion"]
    sample = joined.filter(pl.col("indicator_id").is_in(props)).with_columns(
        p=pl.col("true_value") / 100, z=(pl.col("value") - pl.col("true_value")) / 100
    )
    # Binomial sampling: standardised errors have mean about 0 and variance about 1.
    standardised = sample.select(pl.col("z") / (pl.col("p") * (1 - pl.col("p")) / pl.col("denominator")).sqrt()).to_series()
    assert abs(standardised.mean()) < 0.05
    assert 0.9 < standardised.var() < 1.1
    # Small areas are noisier.
    ae = sample.filter(pl.col("indicator_id") == "health.gp_experience")
    small = ae.filter(pl.col("denominator") < pl.col("denominator").median()).select(pl.col("z").abs().mean()).item()
    large = ae.filter(pl.col("denominator") >= pl.col("denominator").median()).select(pl.col("z").abs().mean()).item()
    assert small > large


def test_true_parameters_are_recoverable(dataset):
    # The variance of the true area effects matches tau^2 (150 draws: within sampling error).
    effects = dataset.truth["area_effects"].group_by("indicator_id").agg(pl.col("effect").var().alias("v"))
    for ind_id, v in effects.rows():
        tau2 = dataset.truth["tau2"][ind_id]
        assert 0.6 * tau2 < v < 1.5 * tau2, ind_id
    # The deprivation gradient shows in the true values: claimant rates rise with deprivation.
    truth = dataset.truth["values"].filter(pl.col("indicator_id") == "welfare.claimant_rate", pl.col("period") == "2014/15")
    corr = truth.join(dataset.areas, on="area_code").select(pl.corr("true_value", "deprivation")).item()
    assert corr > 0.5
    # Efficient areas do better, in the indicator's better direction, than inefficient ones.
    # On the link scale, without the random area effect, the gap is twice the efficiency effect
    # plus what deprivation and spend contribute, which is small next to it.
    eff = dataset.truth["efficiency"].filter(pl.col("service") == "policing")
    ind = "policing.calls_999_answered"
    u = dataset.truth["area_effects"].filter(pl.col("indicator_id") == ind)
    true = (
        dataset.truth["values"]
        .filter(pl.col("indicator_id") == ind)
        .with_columns(eta=(pl.col("true_value") / (100 - pl.col("true_value"))).log())
        .group_by("area_code")
        .agg(pl.col("eta").mean())
        .join(eff, on="area_code")
        .join(u, on="area_code")
        .with_columns(systematic=pl.col("eta") - pl.col("effect"))
    )
    means = dict(true.group_by("efficiency").agg(pl.col("systematic").mean()).rows())
    gap = means["efficient"] - means["inefficient"]
    assert gap == pytest.approx(2 * dataset.truth["efficiency_effect"][ind], abs=0.25)


def test_limited_to_health_by_environment_variable():
    code = (
        "import json\nfrom publicservices.synthetic import demo\nds = demo()\n"
        "print(json.dumps({'sectors': ds.sectors, 'n': len(ds.indicators), 'services': sorted(set(ds.spend['service']))}))"
    )
    env = {**os.environ, "PUBLICSERVICES_LOAD_PLUGINS": "publicservices-health"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out == {"sectors": ["health"], "n": 6, "services": ["health"]}


def test_no_plugins_gives_a_clear_error():
    env = {**os.environ, "PUBLICSERVICES_LOAD_PLUGINS": ""}
    code = "from publicservices.synthetic import demo\ndemo()"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode != 0
    assert "no installed plugin provides demo data" in run.stderr


def test_sector_selection():
    ds = demo(seed=0, sectors=["welfare", "health"])
    assert ds.sectors == ["health", "welfare"]
    assert set(ds.spend.get_column("service")) == {"health", "welfare"}
    with pytest.raises(PluginError, match="'transport'"):
        demo(sectors="transport")


def test_round_trip_keeps_truth(dataset, tmp_path):
    from publicservices.dataset import Dataset

    back = Dataset.from_dir(dataset.to_dir(tmp_path / "demo"))
    assert back.synthetic and back.truth["values"].equals(dataset.truth["values"])
    assert back.truth["tau2"] == dataset.truth["tau2"]
    assert back.truth["efficient_areas"] == dataset.truth["efficient_areas"]


def _registry_with(plugin) -> PluginRegistry:
    registry = PluginRegistry(entry_points=False, defaults=False)
    registry.register(plugin, name="bad-plugin")
    return registry


class _Wrong:
    from publicservices.hookspecs import hookimpl

    @hookimpl
    def publicservices_indicators(self, register):
        register(Indicator(id="bad.x", title="X", sector="bad", measure="score"))

    @hookimpl
    def publicservices_demo_data(self, register):
        register("bad", lambda nation: "not demo data")


class _Foreign(_Wrong):
    from publicservices.hookspecs import hookimpl

    @hookimpl
    def publicservices_demo_data(self, register):
        values = pl.DataFrame({"indicator_id": ["other.y"], "area_code": ["X06000001"], "period": ["2014/15"], "value": [1.0]})
        register("bad", lambda nation: DemoData(values=values))


def test_a_broken_generator_is_named():
    with pytest.raises(PluginError, match="bad-plugin.*not DemoData"):
        demo(registry=_registry_with(_Wrong()))
    with pytest.raises(PluginError, match="does not register"):
        demo(registry=_registry_with(_Foreign()))


def test_model_errors_are_clear():
    ind = Indicator(id="t.p", title="P", sector="t", measure="proportion", multiplier=100, polarity="no_judgement")
    with pytest.raises(PluginError, match="need a polarity"):
        simulate(DemoNation(0), [(ind, Model(baseline=50.0, spend=0.3))])
    with pytest.raises(PluginError, match="strictly between 0 and the multiplier"):
        simulate(DemoNation(0), [(ind, Model(baseline=150.0))])
    mean = Indicator(id="t.m", title="M", sector="t", measure="mean")
    with pytest.raises(PluginError, match="sd > 0"):
        simulate(DemoNation(0), [(mean, Model(baseline=5.0))])
    with pytest.raises(DataError, match="non-negative integer"):
        DemoNation(seed=-1)
    with pytest.raises(DataError, match="no spend for service"):
        simulate(
            DemoNation(0, services=["health"]),
            [
                (
                    Indicator(id="t.q", title="Q", sector="t", measure="rate", multiplier=1000, polarity="lower_is_better"),
                    Model(baseline=5.0, spend=0.2),
                )
            ],
        )


def test_rng_streams_are_independent_and_stable():
    nation = DemoNation(seed=7)
    a = nation.rng("health.ae_4hr").random(3)
    assert np.array_equal(a, DemoNation(seed=7).rng("health.ae_4hr").random(3))
    assert not np.array_equal(a, nation.rng("health.other").random(3))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_every_seed_gives_a_valid_nation(seed):
    nation = DemoNation(seed=seed)
    areas = nation.areas
    assert areas.height == 150 and areas.get_column("area_code").n_unique() == 150
    assert areas.get_column("population").is_between(40_000, 1_500_000).all()
    assert areas.get_column("deprivation").is_between(5, 50).all()
    assert nation.efficiency.group_by("service").agg((pl.col("score") == 1).sum()).get_column("score").to_list() == [18] * 4
    assert (nation.spend.get_column("spend") > 0).all()
    assert len(REGIONS) == areas.get_column("parent_code").n_unique() == 9
    assert re.fullmatch(r"X06\d{6}", nation.areas.filter(pl.col("area_type") == "Unitary authority").item(0, "area_code"))
