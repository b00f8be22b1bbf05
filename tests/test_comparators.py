"""Comparator groups: nearest neighbours on standardised covariates, and comparison with them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import cdist

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats import compare_with_neighbours, nearest_neighbours


def make_areas(n=200, seed=0, **extra):
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "area_code": [f"E{i:04d}" for i in range(n)],
            "deprivation": rng.uniform(5, 45, n),
            "population": np.exp(rng.normal(12, 0.6, n)),
            "density": np.exp(rng.normal(6, 1.0, n)),
            "rurality": rng.uniform(0, 1, n),
            **extra,
        }
    )


def brute_force(Z, k):
    """Full distance matrix, self excluded, k smallest per row."""
    D = cdist(Z, Z)
    np.fill_diagonal(D, np.inf)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(D, idx, axis=1)


def standardised(areas, cols, log=("population", "density")):
    Z = np.column_stack([np.log(areas[c].to_numpy()) if c in log else areas[c].to_numpy() for c in cols])
    return (Z - Z.mean(0)) / Z.std(0, ddof=1)


def as_arrays(nn, areas, k):
    pos = {c: i for i, c in enumerate(areas["area_code"].to_list())}
    idx = np.array([pos[c] for c in nn["neighbour_code"].to_list()]).reshape(areas.height, k)
    return idx, nn["distance"].to_numpy().reshape(areas.height, k)


def test_matches_brute_force_euclidean():
    areas = make_areas()
    nn = nearest_neighbours(areas, k=10)
    assert nn.columns == ["area_code", "neighbour_code", "rank", "distance"]
    assert nn["area_code"].to_list() == np.repeat(areas["area_code"].to_numpy(), 10).tolist()
    assert nn["rank"].to_list() == list(range(1, 11)) * areas.height
    idx, dist = as_arrays(nn, areas, 10)
    ref_idx, ref_dist = brute_force(standardised(areas, ["deprivation", "population", "density", "rurality"]), 10)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


def test_matches_scipy_mahalanobis():
    rng = np.random.default_rng(3)
    n = 150
    dep = rng.uniform(5, 45, n)
    areas = pl.DataFrame(
        {
            "area_code": [f"A{i}" for i in range(n)],
            "deprivation": dep,
            "unemployment": 0.2 * dep + rng.normal(0, 1, n),  # correlated
            "age": rng.normal(40, 5, n),
        }
    )
    cols = ["deprivation", "unemployment", "age"]
    nn = nearest_neighbours(areas, k=5, covariates=cols, metric="mahalanobis")
    Z = standardised(areas, cols, log=())
    D = cdist(Z, Z, metric="mahalanobis", VI=np.linalg.inv(np.cov(Z, rowvar=False)))
    np.fill_diagonal(D, np.inf)
    ref = np.sort(D, axis=1)[:, :5]
    _, dist = as_arrays(nn, areas, 5)
    np.testing.assert_allclose(dist, ref, rtol=1e-9)


def test_neighbours_stay_within_area_type_and_self_is_never_a_neighbour():
    areas = make_areas(120, area_type=["district"] * 80 + ["county"] * 40)
    nn = nearest_neighbours(areas, k=15)
    kind = dict(zip(areas["area_code"], areas["area_type"], strict=True))
    assert all(kind[a] == kind[b] for a, b in zip(nn["area_code"], nn["neighbour_code"], strict=True))
    assert (nn["area_code"] != nn["neighbour_code"]).all()
    # within=None compares across types
    mixed = nearest_neighbours(areas, k=15, within=None)
    assert any(kind[a] != kind[b] for a, b in zip(mixed["area_code"], mixed["neighbour_code"], strict=True))


def test_small_groups_give_fewer_neighbours_and_duplicates_are_found():
    areas = pl.DataFrame({"area_code": ["A", "B", "C"], "deprivation": [1.0, 1.0, 5.0]})
    nn = nearest_neighbours(areas, k=15)
    assert nn.group_by("area_code").len().sort("area_code")["len"].to_list() == [2, 2, 2]
    first = nn.filter(pl.col("rank") == 1)
    assert dict(zip(first["area_code"], first["neighbour_code"], strict=True))["A"] == "B"
    assert dict(zip(first["area_code"], first["distance"], strict=True))["A"] == 0.0


def test_weights_scale_a_covariate():
    areas = make_areas(80)
    weighted = nearest_neighbours(areas, k=5, covariates=["deprivation", "rurality"], weights={"deprivation": 3.0})
    Z = standardised(areas, ["deprivation", "rurality"]) * [3.0, 1.0]
    _, ref = brute_force(Z, 5)
    np.testing.assert_allclose(weighted["distance"].to_numpy().reshape(80, 5), ref, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 100), st.floats(-1e3, 1e3))
def test_invariant_to_rescaling_covariates(seed, scale, shift):
    areas = make_areas(40, seed=seed)
    moved = areas.with_columns(pl.col("deprivation") * scale + shift, pl.col("population") * scale)
    a = nearest_neighbours(areas, k=4)
    b = nearest_neighbours(moved, k=4)
    np.testing.assert_allclose(a["distance"].to_numpy(), b["distance"].to_numpy(), rtol=1e-8, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_mahalanobis_invariant_to_mixing_covariates(seed):
    rng = np.random.default_rng(seed)
    n = 30
    X = rng.normal(size=(n, 3))
    M = rng.normal(size=(3, 3)) + 3 * np.eye(3)  # an invertible mixing
    a = pl.DataFrame({"area_code": [str(i) for i in range(n)], **{f"c{j}": X[:, j] for j in range(3)}})
    Xm = X @ M
    b = pl.DataFrame({"area_code": [str(i) for i in range(n)], **{f"c{j}": Xm[:, j] for j in range(3)}})
    cols = ["c0", "c1", "c2"]
    da = nearest_neighbours(a, k=3, covariates=cols, metric="mahalanobis")["distance"].to_numpy()
    db = nearest_neighbours(b, k=3, covariates=cols, metric="mahalanobis")["distance"].to_numpy()
    np.testing.assert_allclose(da, db, rtol=1e-7, atol=1e-9)


def test_errors_name_columns_and_areas():
    areas = make_areas(10)
    with pytest.raises(SchemaError, match="'households' is missing"):
        nearest_neighbours(areas, covariates=["households"])
    gap = areas.with_columns(
        pl.when(pl.col("area_code") == "E0003").then(None).otherwise(pl.col("deprivation")).alias("deprivation")
    )
    with pytest.raises(DataError, match=r"(?s)'deprivation' is missing or not finite.*E0003"):
        nearest_neighbours(gap)
    with pytest.raises(DataError, match="cannot be logged"):
        nearest_neighbours(areas.with_columns(pl.lit(0.0).alias("population")))
    with pytest.raises(SchemaError, match="not a number"):
        nearest_neighbours(areas.with_columns(pl.lit("rural").alias("rurality")))
    with pytest.raises(DataError, match="duplicated"):
        nearest_neighbours(pl.concat([areas, areas.head(1)]))
    with pytest.raises(DataError, match="positive whole number"):
        nearest_neighbours(areas, k=0)
    with pytest.raises(SchemaError, match="none of the default covariates"):
        nearest_neighbours(areas.select("area_code"))


# -- comparison with neighbours ----------------------------------------------------------------


def test_compare_matches_hand_computation():
    areas = make_areas(60, seed=4)
    nn = nearest_neighbours(areas, k=6)
    rng = np.random.default_rng(5)
    vals = pl.DataFrame(
        {
            "indicator_id": ["h.x"] * 60 + ["h.y"] * 60,
            "area_code": areas["area_code"].to_list() * 2,
            "period": ["2024"] * 120,
            "value": np.r_[rng.normal(50, 5, 60), rng.normal(10, 1, 60)],
        }
    )
    out = compare_with_neighbours(vals, nn)
    assert out.height == vals.height
    row = out.filter((pl.col("indicator_id") == "h.y") & (pl.col("area_code") == "E0007")).row(0, named=True)
    mine = nn.filter(pl.col("area_code") == "E0007")["neighbour_code"].to_list()
    theirs = vals.filter((pl.col("indicator_id") == "h.y") & pl.col("area_code").is_in(mine))["value"].to_numpy()
    assert row["n_neighbours"] == 6
    assert row["neighbour_mean"] == pytest.approx(theirs.mean())
    assert row["neighbour_median"] == pytest.approx(np.median(theirs))
    assert row["expected"] == pytest.approx(theirs.mean())
    half = stats.t.ppf(0.975, 5) * theirs.std(ddof=1) * np.sqrt(1 + 1 / 6)
    assert row["expected_upper"] == pytest.approx(theirs.mean() + half)
    assert row["difference"] == pytest.approx(row["value"] - theirs.mean())
    assert row["share_below"] == pytest.approx(np.mean(theirs < row["value"]))


def test_compare_labels_by_polarity_and_keeps_unmatched_rows():
    areas = pl.DataFrame({"area_code": list("ABCDEF"), "deprivation": [1.0, 2, 3, 4, 5, 6]})
    nn = nearest_neighbours(areas, k=3)
    vals = pl.DataFrame(
        {
            "indicator_id": ["s.good"] * 6 + ["s.bad"] * 6,
            "area_code": list("ABCDEF") * 2,
            "value": [10.0, 10.5, 9.5, 10.2, 9.8, 30.0] * 2,
        }
    )
    inds = {
        "s.good": Indicator(id="s.good", title="g", sector="s", measure="score", polarity="higher_is_better"),
        "s.bad": Indicator(id="s.bad", title="b", sector="s", measure="score", polarity="lower_is_better"),
    }
    out = compare_with_neighbours(vals, nn, polarity=inds)
    f = out.filter(pl.col("area_code") == "F")
    assert dict(zip(f["indicator_id"], f["comparison"], strict=True)) == {
        "s.good": "better than similar areas",
        "s.bad": "worse than similar areas",
    }
    plain = compare_with_neighbours(vals.filter(pl.col("indicator_id") == "s.good"), nn)
    assert plain.filter(pl.col("area_code") == "F")["comparison"].item() == "higher than similar areas"
    assert plain.filter(pl.col("area_code") == "A")["comparison"].item() == "in line with similar areas"
    # an area with no neighbours' values keeps its row with nulls
    lonely = pl.concat(
        [
            vals.filter(pl.col("indicator_id") == "s.good"),
            pl.DataFrame({"indicator_id": ["s.good"], "area_code": ["Z"], "value": [1.0]}),
        ]
    )
    z = compare_with_neighbours(lonely, nn).filter(pl.col("area_code") == "Z")
    assert z.height == 1 and z["expected"].item() is None and z["comparison"].item() is None


def test_distance_weighting_favours_the_closest():
    areas = pl.DataFrame({"area_code": list("ABCD"), "deprivation": [0.0, 0.1, 5.0, 5.2]})
    nn = nearest_neighbours(areas, k=3)
    vals = pl.DataFrame({"area_code": list("ABCD"), "value": [1.0, 2.0, 100.0, 100.0]})
    eq = compare_with_neighbours(vals, nn).filter(pl.col("area_code") == "A")["expected"].item()
    wt = compare_with_neighbours(vals, nn, weighting="distance").filter(pl.col("area_code") == "A")["expected"].item()
    assert eq == pytest.approx(202 / 3)
    assert 2.0 <= wt < eq


def test_compare_errors():
    nn = pl.DataFrame({"area_code": ["A"], "neighbour_code": ["B"], "rank": [1], "distance": [0.5]})
    with pytest.raises(SchemaError, match="'value' is missing"):
        compare_with_neighbours(pl.DataFrame({"area_code": ["A"]}), nn)
    dup = pl.DataFrame({"area_code": ["A", "A"], "value": [1.0, 2.0]})
    with pytest.raises(DataError, match="repeated"):
        compare_with_neighbours(dup, nn)
    with pytest.raises(DataError, match="weighting"):
        compare_with_neighbours(pl.DataFrame({"area_code": ["A"], "value": [1.0]}), nn, weighting="gaussian")


def test_compare_never_assumes_a_direction():
    areas = pl.DataFrame({"area_code": list("ABCDE"), "deprivation": [1.0, 2, 3, 4, 5]})
    nn = nearest_neighbours(areas, k=4)
    vals = pl.DataFrame({"indicator_id": ["x.y"] * 5, "area_code": list("ABCDE"), "value": [10.0, 11, 12, 13, 30]})
    unknown = compare_with_neighbours(vals, nn, polarity={"other.id": "higher_is_better"})
    assert unknown.filter(pl.col("area_code") == "E")["comparison"].item() == "higher than similar areas"
    with pytest.raises(DataError, match="not a known direction"):
        compare_with_neighbours(vals, nn, polarity="higher-is-better")
    with pytest.raises(DataError, match="not a known direction"):
        compare_with_neighbours(vals, nn, polarity={"x.y": "best"})


def test_compare_keeps_comparable_sets_apart_by_default():
    areas = pl.DataFrame({"area_code": list("ABCDE"), "deprivation": [1.0, 2, 3, 4, 5]})
    nn = nearest_neighbours(areas, k=4)
    vals = pl.DataFrame(
        {
            "area_code": list("ABCDE") * 2,
            "comparable_set": ["upper_tier"] * 5 + ["lower_tier"] * 5,
            "value": [10.0, 11, 12, 13, 30, 100.0, 110, 120, 130, 300],
        }
    )
    out = compare_with_neighbours(vals, nn)
    assert out.height == 10
    assert out.filter(pl.col("area_code") == "E")["expected"].to_list() == [11.5, 115.0]


def test_mahalanobis_with_covariates_that_do_not_vary():
    # fuzz finding: no covariate varied, the whitened space had no dimensions and the tree search
    # raised IndexError; now every area is as near as every other, as with Euclidean distance
    areas = pl.DataFrame({"area_code": ["A", "B", "C"], "population": [9197.0] * 3, "deprivation": [12.5] * 3})
    for metric in ("mahalanobis", "euclidean"):
        nn = nearest_neighbours(areas, k=19, covariates=["population", "deprivation"], metric=metric, within=None)
        assert nn.height == 6 and nn["distance"].to_list() == [0.0] * 6


def test_covariates_too_large_to_measure_distance_over_are_named():
    # fuzz finding: deprivation of 1.7e308 overflowed the covariance (LinAlgError: eigenvalues did not converge)
    areas = pl.DataFrame({"area_code": ["A", "B", "C"], "population": [1e5, 2e5, 3e5], "deprivation": [1.7e308, 12.0, 1e300]})
    for metric in ("mahalanobis", "euclidean"):
        with pytest.raises(DataError, match=r"(?s)'deprivation' is implausibly large.*A\n  C"):
            nearest_neighbours(areas, k=1, covariates=["population", "deprivation"], metric=metric, within=None)
