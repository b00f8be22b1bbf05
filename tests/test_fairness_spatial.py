"""Moran's I: dense NumPy reference, permutation inference, moments, neighbour validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from publicservices.errors import DataError, SchemaError
from publicservices.stats import morans_i, neighbour_pairs


def grid(side: int) -> tuple[list[str], pl.DataFrame, np.ndarray]:
    """Area codes of a side x side grid, rook neighbour pairs (one direction), dense 0/1 matrix."""
    codes = [f"A{i:04d}" for i in range(side * side)]
    pairs, dense = [], np.zeros((side * side, side * side))
    for r in range(side):
        for c in range(side):
            i = r * side + c
            for j in ([i + 1] if c < side - 1 else []) + ([i + side] if r < side - 1 else []):
                pairs.append((codes[i], codes[j]))
                dense[i, j] = dense[j, i] = 1
    return codes, pl.DataFrame(pairs, schema=["area_code", "neighbour_code"], orient="row"), dense


def ref_moran(y: np.ndarray, dense: np.ndarray) -> float:
    w = dense / dense.sum(axis=1, keepdims=True)
    z = y - y.mean()
    return float(y.size / w.sum() * z @ w @ z / (z @ z))


def test_matches_dense_reference_and_groups_are_independent():
    codes, pairs, dense = grid(8)
    rng = np.random.default_rng(1)
    smooth = np.add.outer(np.arange(8.0), np.arange(8.0)).ravel() + rng.normal(0, 1, 64)
    noise = rng.normal(0, 1, 64)
    vals = pl.DataFrame({"g": ["smooth"] * 64 + ["noise"] * 64, "area_code": codes * 2, "value": np.r_[smooth, noise]})
    out = {r["g"]: r for r in morans_i(vals, pairs, by="g", permutations=499, seed=3).iter_rows(named=True)}
    assert out["smooth"]["moran_i"] == pytest.approx(ref_moran(smooth, dense), rel=1e-12)
    assert out["noise"]["moran_i"] == pytest.approx(ref_moran(noise, dense), rel=1e-12)
    assert out["smooth"]["moran_p"] == pytest.approx(1 / 500)  # clustered beyond every permutation
    assert out["smooth"]["moran_z"] > 5
    assert out["noise"]["moran_p"] > 0.01
    assert out["smooth"]["moran_expected"] == pytest.approx(-1 / 63)


def test_missing_values_drop_their_pairs_and_isolated_areas_are_counted():
    codes, pairs, dense = grid(5)
    rng = np.random.default_rng(2)
    y = rng.normal(size=25)
    y[[6, 7, 11, 13, 17]] = np.nan  # area 12 loses every neighbour
    vals = pl.DataFrame({"area_code": codes, "value": y})
    row = morans_i(vals, pairs, by=[], permutations=0).row(0, named=True)
    keep = ~np.isnan(y)
    sub = dense[np.ix_(keep, keep)]
    ys = y[keep]
    deg = sub.sum(axis=1)
    w = np.divide(sub, deg[:, None], out=np.zeros_like(sub), where=deg[:, None] > 0)
    z = ys - ys.mean()
    assert row["moran_n"] == 20 and row["moran_n_isolated"] == 1
    assert row["moran_i"] == pytest.approx(ys.size / w.sum() * z @ w @ z / (z @ z), rel=1e-12)
    assert row["moran_p"] is None


def test_randomisation_moments_match_the_permutation_distribution():
    # Cliff & Ord's mean and variance under randomisation versus many permutations (n = 36)
    codes, pairs, dense = grid(6)
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, 1.0, 36)
    z = y - y.mean()
    w = dense / dense.sum(axis=1, keepdims=True)
    sims = []
    for _ in range(20_000):
        p = rng.permutation(z)
        sims.append(36 / w.sum() * p @ w @ p / (z @ z))
    row = morans_i(pl.DataFrame({"area_code": codes, "value": y}), pairs, by=[], permutations=0).row(0, named=True)
    implied_sd = (row["moran_i"] - row["moran_expected"]) / row["moran_z"]
    assert np.mean(sims) == pytest.approx(row["moran_expected"], abs=3 * np.std(sims) / np.sqrt(20_000))
    assert np.std(sims) == pytest.approx(implied_sd, rel=0.03)


def test_permutation_p_value_is_reproducible_and_valid():
    codes, pairs, _ = grid(6)
    rng = np.random.default_rng(7)
    vals = pl.DataFrame({"g": np.repeat(np.arange(40), 36), "area_code": codes * 40, "value": rng.normal(size=36 * 40)})
    a = morans_i(vals, pairs, by="g", permutations=99, seed=11)
    b = morans_i(vals, pairs, by="g", permutations=99, seed=11)
    assert a.equals(b)
    p = a["moran_p"].to_numpy()
    assert ((p > 0) & (p <= 1)).all()
    assert 0.2 < p.mean() < 0.8  # no spatial pattern: p-values spread over (0, 1]


def test_neighbour_validation():
    with pytest.raises(SchemaError, match="neighbour_code"):
        neighbour_pairs(pl.DataFrame({"area_code": ["a"], "other": ["b"]}))
    with pytest.raises(DataError, match="equal to the area itself"):
        neighbour_pairs(pl.DataFrame({"area_code": ["a", "b"], "neighbour_code": ["b", "b"]}))
    sym = neighbour_pairs(pl.DataFrame({"area_code": ["a", "b"], "neighbour_code": ["b", "a"]}))
    assert sym.height == 2


def test_small_or_constant_groups_have_notes():
    _, pairs, _ = grid(3)
    codes = [f"A{i:04d}" for i in range(9)]
    few = pl.DataFrame({"g": ["few"] * 3 + ["flat"] * 9, "area_code": codes[:3] + codes, "value": [1.0, 2.0, 3.0] + [4.0] * 9})
    out = {r["g"]: r for r in morans_i(few, pairs, by="g").iter_rows(named=True)}
    assert "fewer than 4" in out["few"]["moran_note"] and out["few"]["moran_i"] is None
    assert "all values are equal" in out["flat"]["moran_note"]
