"""The bootstrap range of frontier savings: the fast path (replicate LPs started from the point
estimate's peers, completed by column generation within each replicate) against a naive
reference (one textbook linprog per area and replicate) and against the previous exact path."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.stats import norm

from publicservices.indicators import Indicator
from publicservices.stats._common import Z95
from publicservices.stats.value import frontier_savings, frontier_with_savings, savings, service_frontier
from publicservices.stats.value._columns import _group_table
from publicservices.stats.value._solver import _scores_from, _solve

POLARITY = ["higher_is_better", "lower_is_better", "higher_is_better", "higher_is_better"]


def _service(seed: int, n: int, outputs: int, periods: tuple[str, ...] = ("2023", "2024"), half_width: float = 3.0):
    """A service with ``outputs`` outcomes (with 95% limits) over ``n`` areas and ``periods``;
    rows period-major, then indicator, then area, the order the bootstrap draws in."""
    rng = np.random.default_rng(seed)
    codes = [f"S{i:03d}" for i in range(n)]
    inds = {
        f"health.o{j}": Indicator(id=f"health.o{j}", title=f"o{j}", sector="health", measure="score", polarity=POLARITY[j])
        for j in range(outputs)
    }
    rows, spend = [], []
    for p in periods:
        sph = rng.uniform(100, 300, n)
        for j, iid in enumerate(inds):
            y = 10 * sph ** rng.uniform(0.3, 0.6) * rng.uniform(0.6, 1.0, n)
            value = y if POLARITY[j] == "higher_is_better" else 500 - y
            hw = half_width * rng.uniform(0.5, 1.5, n)
            rows.append(
                pl.DataFrame(
                    {
                        "indicator_id": iid,
                        "area_code": codes,
                        "period": p,
                        "value": value,
                        "lower_ci": value - hw,
                        "upper_ci": value + hw,
                    }
                )
            )
        spend.append(pl.DataFrame({"area_code": codes, "period": p, "service": "health", "spend": sph * 1e4}))
    areas = pl.DataFrame({"area_code": codes, "population": np.full(n, 1e4), "deprivation": np.full(n, 10.0)})
    return pl.concat(rows), inds, areas, pl.concat(spend)


def _bcc_input(x, Y):
    """Textbook BCC input-oriented scores, one linprog per unit, outputs as they are (signed:
    BCC input scores do not change when an output is translated)."""
    n, r = Y.shape
    out = np.empty(n)
    for o in range(n):
        A = np.vstack([np.r_[-x[o], x], np.c_[np.zeros((r, 1)), -Y.T]])
        res = linprog(
            np.r_[1.0, np.zeros(n)],
            A_ub=A,
            b_ub=np.r_[0.0, -Y[o]],
            A_eq=np.r_[0.0, np.ones(n)][None],
            b_eq=[1.0],
            bounds=(0, None),
            method="highs",
        )
        assert res.status == 0
        out[o] = min(res.x[0], 1.0)
    return out


def _naive(values, inds, spend, replicates, seed, level=0.95):
    """The bootstrap of frontier_savings written out: per replicate, redraw every outcome from
    N(value, se) (one draw of all areas x outcomes, in order), score every area of each period
    by its own LP, sum the savings; normal interval from the replicates' sd."""
    rng = np.random.default_rng(seed)
    periods = values["period"].unique(maintain_order=True).to_list()
    ids = list(inds)
    sign = np.array([1.0 if inds[i].polarity == "higher_is_better" else -1.0 for i in ids])
    wide = values.pivot(on="indicator_id", index=["period", "area_code"], values=["value", "lower_ci", "upper_ci"])
    V = wide.select([f"value_{i}" for i in ids]).to_numpy() * sign
    se = (wide.select([f"upper_ci_{i}" for i in ids]).to_numpy() - wide.select([f"lower_ci_{i}" for i in ids]).to_numpy()) / (
        2 * Z95
    )
    money = wide.join(spend, on=["period", "area_code"], how="left", maintain_order="left")["spend"].to_numpy()
    x = money / 1e4  # spend per head: population 1e4 everywhere
    per = wide["period"].to_numpy()

    def saved(Vk):
        return np.array([((1 - _bcc_input(x[per == p], Vk[per == p])) * money[per == p]).sum() for p in periods])

    point = saved(V)
    draws = np.array([saved(V + rng.standard_normal(V.shape) * se * sign) for _ in range(replicates)])
    half = norm.ppf(0.5 + level / 2) * draws.std(axis=0, ddof=1)
    return point, np.maximum(point - half, 0.0), point + half


def test_a_batch_of_draws_is_the_same_numbers_as_one_draw_per_replicate():
    # the replicates are drawn in one call of shape (r, n, p): the same stream as r calls of (n, p)
    a = np.random.default_rng(7).standard_normal((5, 13, 4))
    rng = np.random.default_rng(7)
    b = np.stack([rng.standard_normal((13, 4)) for _ in range(5)])
    assert np.array_equal(a, b)


def test_savings_range_equals_a_naive_linprog_bootstrap():
    values, inds, areas, spend = _service(3, n=14, outputs=3)
    out = frontier_savings(
        values, "health", indicators=inds, areas=areas, spend=spend, need_adjusted=False, replicates=6, seed=11
    )
    point, lower, upper = _naive(values, inds, spend, replicates=6, seed=11)
    assert out["period"].to_list() == ["2023", "2024"]
    np.testing.assert_allclose(out["savings"].to_numpy(), point, rtol=1e-7)
    np.testing.assert_allclose(out["savings_lower"].to_numpy(), lower, rtol=1e-7)
    np.testing.assert_allclose(out["savings_upper"].to_numpy(), upper, rtol=1e-7)


def test_frontier_with_savings_is_the_frontier_and_the_savings_of_the_same_arguments():
    from polars.testing import assert_frame_equal

    values, inds, areas, spend = _service(5, n=12, outputs=2)
    args = dict(indicators=inds, areas=areas, spend=spend, periods="2024")
    frontier, saved = frontier_with_savings(values, "health", replicates=4, seed=3, **args)
    alone = service_frontier(values, "health", **args)
    for part in ("scores", "peers", "targets"):
        assert_frame_equal(getattr(frontier, part), getattr(alone, part))
    assert_frame_equal(saved, frontier_savings(values, "health", replicates=4, seed=3, **args))
    with pytest.raises(Exception, match="replicates=1 cannot give a range"):
        frontier_with_savings(values, "health", replicates=1, **args)


def _previous(X, Y, start, *, model, orientation, groups):
    """The replicates as solved before the warm start: the exact stacked path, start ignored."""
    return _solve(X, Y, model=model, orientation=orientation, slacks=False, groups=groups).efficiency


def test_savings_range_is_the_previous_exact_path_to_solver_tolerance(monkeypatch):
    values, inds, areas, spend = _service(5, n=90, outputs=4, periods=("2024",))
    kw = dict(indicators=inds, areas=areas, spend=spend, replicates=25, seed=3)
    fast = frontier_savings(values, "health", **kw)
    monkeypatch.setattr(savings, "_scores_from", _previous)
    before = frontier_savings(values, "health", **kw)
    cols = ["savings", "savings_lower", "savings_upper"]
    np.testing.assert_allclose(fast.select(cols).to_numpy(), before.select(cols).to_numpy(), rtol=1e-9)
    assert fast.drop(cols).equals(before.drop(cols))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 25), min_size=1, max_size=4),
    inputs=st.integers(1, 2),
    outputs=st.integers(1, 4),
    model=st.sampled_from(["bcc", "ccr"]),
    orientation=st.sampled_from(["input", "output"]),
    width=st.integers(0, 6),
)
def test_scores_from_any_start_are_the_exact_scores(seed, sizes, inputs, outputs, model, orientation, width):
    # whatever the starting guess (none, random areas of the group), column generation priced
    # within each group reaches the same LP optimum as solving against every unit
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(groups)
    n = len(groups)
    X = rng.uniform(1, 10, (n, inputs))
    Y = rng.uniform(1, 10, (n, outputs)) * X[:, :1] ** rng.uniform(0, 1)
    members = _group_table(np.arange(n), groups)[groups]
    pick = rng.integers(0, members.shape[1], (n, width))
    start = np.take_along_axis(members, pick, axis=1)  # -1 where a group is smaller: padding
    exact = _solve(X, Y, model=model, orientation=orientation, slacks=False, groups=groups).efficiency
    fast = _scores_from(X, Y, start, model=model, orientation=orientation, groups=groups)
    assert fast == pytest.approx(exact, abs=1e-8)


def test_column_generation_cut_short_falls_back_to_the_whole_group():
    # past max_rounds each unfinished LP is solved against every unit of its own group
    from publicservices.stats.value._lp import _column_generation

    rng = np.random.default_rng(4)
    groups = np.repeat([0, 1, 2], [30, 7, 18])
    X = rng.uniform(1, 10, (len(groups), 1))
    Y = rng.uniform(1, 10, (len(groups), 3)) * X**0.5
    units = np.arange(len(groups))
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    radial, cols, *_ = _column_generation(
        X, Y, units, units[:, None], vrs=True, orientation="input", batch=None, info=info, groups=groups, max_rounds=1
    )
    exact = _solve(X, Y, model="bcc", orientation="input", slacks=False, groups=groups).efficiency
    assert np.minimum(radial, 1.0) == pytest.approx(exact, abs=1e-8)
    assert (groups[np.where(cols >= 0, cols, units[:, None])] == groups[:, None]).all()  # peers stay in the group
