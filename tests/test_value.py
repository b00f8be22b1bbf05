"""Value for money: unit costs, cost per outcome, expected outcome, the frontier, the entry point."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats.value import (
    cost_per_outcome,
    dea,
    expected_outcome,
    frontier_savings,
    service_frontier,
    unit_costs,
    value_for_money,
)

MORE = "achieves more than expected for its spend and need"
LESS = "achieves less than expected for its spend and need"
SAME = "as expected for its spend and need"


# -- unit costs -----------------------------------------------------------------------------------

SPEND = pl.DataFrame(
    {
        "area_code": ["A", "A", "B", "B"],
        "period": ["2022/23", "2023/24"] * 2,
        "service": ["health"] * 4,
        "spend": [100.0, 110.0, 300.0, 330.0],
    }
)
AREAS = pl.DataFrame({"area_code": ["A", "B"], "population": [10.0, 20.0]})


def test_unit_costs_cash_and_real_terms():
    cash = unit_costs(SPEND, AREAS)
    assert cash["spend_per_head"].to_list() == [10.0, 11.0, 15.0, 16.5]
    assert cash["prices"].unique().to_list() == ["cash"]
    real = unit_costs(SPEND, AREAS, deflator={"2022/23": 90.0, "2023/24": 100.0})
    np.testing.assert_allclose(real["spend_real"].to_numpy(), [100 / 0.9, 110, 300 / 0.9, 330])
    assert real["prices"][0] == "2023/24 prices"
    base = unit_costs(
        SPEND, AREAS, deflator=pl.DataFrame({"period": ["2022/23", "2023/24"], "gdp": [90.0, 100.0]}), base_period="2022/23"
    )
    np.testing.assert_allclose(base["spend_real"].to_numpy(), [100, 99, 300, 297])


def test_unit_costs_per_user_from_a_column_or_frame():
    users = pl.DataFrame({"area_code": ["A", "B"], "period": ["2023/24"] * 2, "users": [5.0, 0.0]})
    out = unit_costs(SPEND, AREAS, users=users)
    assert out["spend_per_user"].to_list() == [None, 22.0, None, None]  # no users, or zero users
    col = unit_costs(SPEND.with_columns(pl.lit(2.0).alias("pupils")), AREAS, users="pupils")
    assert col["spend_per_user"].to_list() == [50.0, 55.0, 150.0, 165.0]


def test_unit_costs_keep_unknown_areas_and_reject_bad_input():
    out = unit_costs(
        pl.concat([SPEND, pl.DataFrame({"area_code": ["Z"], "period": ["2023/24"], "service": ["health"], "spend": [1.0]})]),
        AREAS,
    )
    assert out.height == 5 and out["spend_per_head"][-1] is None
    with pytest.raises(DataError, match=r"(?s)'spend' is negative.*B \| 2023/24"):
        unit_costs(
            SPEND.with_columns(pl.when(pl.col("spend") == 330).then(-1.0).otherwise(pl.col("spend")).alias("spend")), AREAS
        )
    with pytest.raises(DataError, match=r"(?s)'period' has no deflator value.*2022/23"):
        unit_costs(SPEND, AREAS, deflator={"2023/24": 100.0})
    with pytest.raises(DataError, match="more than one row"):
        unit_costs(pl.concat([SPEND, SPEND.head(1)]), AREAS)
    with pytest.raises(SchemaError, match="population"):
        unit_costs(SPEND)


# -- cost per outcome -----------------------------------------------------------------------------


def test_cost_per_outcome_and_its_interval():
    f = pl.DataFrame(
        {
            "spend_real": [1e6, 1e6, 1e6],
            "value": [80.0, 80.0, 40.0],
            "lower_95": [70.0, 70.0, 0.0],
            "upper_95": [90.0, 90.0, 60.0],
            "users": [1000.0] * 3,
            "polarity": ["higher_is_better", "lower_is_better", "no_judgement"],
        }
    )
    out = cost_per_outcome(f, base="users", multiplier=100, polarity="polarity")
    assert out["cost_per_outcome"].to_list() == [1250.0, None, 2500.0]
    assert out["cost_per_outcome_lower"][0] == pytest.approx(1e6 / 900)
    assert out["cost_per_outcome_upper"][0] == pytest.approx(1e6 / 700)
    assert out["cost_per_outcome_upper"][2] is None  # a lower limit of 0: unbounded


@settings(max_examples=60, deadline=None)
@given(st.floats(1, 1e7), st.floats(0.5, 99), st.floats(0.01, 0.5), st.floats(0.01, 0.5), st.floats(1, 1e5))
def test_cost_interval_brackets_the_cost(spend, value, dl, du, users):
    f = pl.DataFrame(
        {
            "spend_real": [spend],
            "value": [value],
            "lower_95": [value * (1 - dl)],
            "upper_95": [value * (1 + du)],
            "users": [users],
        }
    )
    out = cost_per_outcome(f, base="users", multiplier=100).row(0, named=True)
    assert out["cost_per_outcome_lower"] <= out["cost_per_outcome"] <= out["cost_per_outcome_upper"]


# -- expected outcome -------------------------------------------------------------------------------


def simulate(n=80, seed=0, tau=0.0, se=None, groups=1):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        sph = rng.uniform(100, 400, n)
        dep = rng.uniform(5, 40, n)
        pop = rng.uniform(5e4, 5e5, n)
        s = np.full(n, 1.0) if se is None else rng.uniform(*se, n)
        truth = 40 + 6 * np.log(sph) - 0.4 * dep + 0.5 * np.log(pop) + g * 3
        y = truth + rng.normal(0, tau, n) + rng.normal(0, s)
        rows.append(
            pl.DataFrame(
                {
                    "indicator_id": [f"x.i{g}"] * n,
                    "period": ["2024"] * n,
                    "area_code": [f"A{i}" for i in range(n)],
                    "spend_per_head": sph,
                    "deprivation": dep,
                    "population": pop,
                    "value": y,
                    "lower_95": y - 1.959963984540054 * s,
                    "upper_95": y + 1.959963984540054 * s,
                }
            )
        )
    return pl.concat(rows)


def design(f):
    return np.column_stack(
        [
            np.ones(f.height),
            np.log(f["spend_per_head"].to_numpy()),
            f["deprivation"].to_numpy(),
            np.log(f["population"].to_numpy()),
        ]
    )


def test_equal_weights_is_ordinary_least_squares_with_its_prediction_interval():
    f = simulate(seed=1, tau=2.0)
    out = expected_outcome(f, weights="equal")
    X, y = design(f), f["value"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    n, p = X.shape
    s2 = resid @ resid / (n - p)
    h = np.einsum("ij,jk,ik->i", X, np.linalg.inv(X.T @ X), X)
    half = stats.t.ppf(0.975, n - p) * np.sqrt(s2 * (1 + h))
    np.testing.assert_allclose(out["expected"].to_numpy(), X @ beta, rtol=1e-9)
    np.testing.assert_allclose((out["expected_upper"] - out["expected"]).to_numpy(), half, rtol=1e-7)
    np.testing.assert_allclose(out["residual"].to_numpy(), resid, rtol=1e-7, atol=1e-9)
    assert out["fit_weights"].unique().to_list() == ["equal"]


def test_population_weights_are_weighted_least_squares():
    f = simulate(seed=2, tau=2.0)
    out = expected_outcome(f, weights="population")
    X, y, w = design(f), f["value"].to_numpy(), f["population"].to_numpy()
    w = w / w.mean()
    W = np.diag(w)
    beta = np.linalg.solve(X.T @ W @ X, X.T @ W @ y)
    resid = y - X @ beta
    s2 = (w * resid**2).sum() / (len(y) - 4)
    V = s2 * np.linalg.inv(X.T @ W @ X)
    half = stats.t.ppf(0.975, len(y) - 4) * np.sqrt(s2 / w + np.einsum("ij,jk,ik->i", X, V, X))
    np.testing.assert_allclose(out["expected"].to_numpy(), X @ beta, rtol=1e-9)
    np.testing.assert_allclose((out["residual_upper"] - out["residual"]).to_numpy(), half, rtol=1e-7)


def test_inverse_variance_estimates_between_area_variance():
    # with known standard errors and tau = 1.5 the method-of-moments estimate is close
    f = simulate(n=2000, seed=3, tau=1.5, se=(0.5, 2.0))
    out = expected_outcome(f)
    assert out["fit_weights"].unique().to_list() == ["inverse_variance"]
    se = ((f["upper_95"] - f["lower_95"]) / (2 * 1.959963984540054)).to_numpy()
    width = ((out["expected_upper"] - out["expected"]) / stats.t.ppf(0.975, 1996)).to_numpy()
    tau2 = np.median(width**2 - se**2)  # leverage is tiny at n = 2000
    assert tau2 == pytest.approx(1.5**2, rel=0.15)
    # prediction intervals cover about 95% of areas
    inside = ((f["value"] >= out["expected_lower"]) & (f["value"] <= out["expected_upper"])).mean()
    assert 0.93 <= inside <= 0.97


def test_planted_over_and_under_performers_are_found():
    f = simulate(n=100, seed=4, tau=1.0, se=(0.3, 0.6))
    bump = np.zeros(100)
    bump[:3], bump[3:6] = 8.0, -8.0
    f = f.with_columns(pl.col("value") + bump, pl.col("lower_95") + bump, pl.col("upper_95") + bump)
    out = expected_outcome(f, polarity="higher_is_better")
    assert out["assessment"][:3].to_list() == [MORE] * 3
    assert out["assessment"][3:6].to_list() == [LESS] * 3
    assert (out["assessment"][6:] == SAME).mean() > 0.9
    flipped = expected_outcome(f, polarity="lower_is_better")
    assert flipped["assessment"][:3].to_list() == [LESS] * 3


def test_groups_are_fitted_separately_and_small_groups_are_not_fitted():
    f = simulate(n=50, seed=5, tau=1.0, groups=2)
    both = expected_outcome(f, weights="equal")
    one = expected_outcome(f.filter(pl.col("indicator_id") == "x.i1"), weights="equal")
    np.testing.assert_allclose(
        both.filter(pl.col("indicator_id") == "x.i1")["expected"].to_numpy(), one["expected"].to_numpy(), rtol=1e-10
    )
    tiny = expected_outcome(f.head(4), weights="equal")
    assert tiny["expected"].null_count() == 4 and tiny["assessment"].null_count() == 4


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000), st.floats(-100, 100), st.floats(0.1, 10))
def test_expected_outcome_shifts_with_the_outcome_and_ignores_spend_units(seed, c, k):
    f = simulate(n=40, seed=seed, tau=1.0, se=(0.5, 1.0))
    a = expected_outcome(f)
    b = expected_outcome(
        f.with_columns(pl.col("value") + c, pl.col("lower_95") + c, pl.col("upper_95") + c, pl.col("spend_per_head") * k)
    )
    np.testing.assert_allclose(b["expected"].to_numpy(), a["expected"].to_numpy() + c, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(b["residual"].to_numpy(), a["residual"].to_numpy(), atol=1e-6)
    assert b["assessment"].to_list() == a["assessment"].to_list()


def test_need_adjusted_value_removes_the_deprivation_effect():
    rng = np.random.default_rng(6)
    n = 400
    f = pl.DataFrame(
        {
            "spend_per_head": np.full(n, 200.0) * rng.uniform(0.99, 1.01, n),
            "deprivation": rng.uniform(0, 40, n),
            "population": np.full(n, 1e5),
        }
    )
    f = f.with_columns((70 - 0.5 * pl.col("deprivation") + pl.Series(rng.normal(0, 0.1, n))).alias("value"))
    out = expected_outcome(f, weights="equal")
    adj = out["value_need_adjusted"].to_numpy()
    assert abs(np.corrcoef(adj, f["deprivation"].to_numpy())[0, 1]) < 0.05
    assert adj.mean() == pytest.approx(f["value"].mean(), abs=1e-9)


# -- value for money --------------------------------------------------------------------------------


def small_dataset(n=60, seed=7):
    rng = np.random.default_rng(seed)
    codes = [f"X{i:03d}" for i in range(n)]
    pop = rng.uniform(5e4, 3e5, n)
    dep = rng.uniform(5, 40, n)
    inds = {
        "health.checks": Indicator(
            id="health.checks", title="Checks", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
        ),
        "health.deaths": Indicator(
            id="health.deaths", title="Deaths", sector="health", measure="rate", multiplier=100000, polarity="lower_is_better"
        ),
        "health.prevalence": Indicator(
            id="health.prevalence", title="Prevalence", sector="health", measure="proportion", multiplier=100
        ),
    }
    rows, spend = [], []
    for period in ("2022/23", "2023/24"):
        sph = rng.uniform(200, 400, n)
        spend.append(pl.DataFrame({"area_code": codes, "period": period, "service": "health", "spend": sph * pop}))
        den = np.round(pop / 10)
        p = 1 / (1 + np.exp(-(-0.5 + 0.4 * np.log(sph / 300) - 0.02 * (dep - 20) + rng.normal(0, 0.1, n))))
        rows.append(
            pl.DataFrame(
                {
                    "indicator_id": "health.checks",
                    "area_code": codes,
                    "period": period,
                    "numerator": rng.binomial(den.astype(int), p).astype(float),
                    "denominator": den,
                }
            )
        )
        rate = 0.002 * np.exp(0.03 * (dep - 20) - 0.3 * np.log(sph / 300))
        rows.append(
            pl.DataFrame(
                {
                    "indicator_id": "health.deaths",
                    "area_code": codes,
                    "period": period,
                    "numerator": rng.poisson(rate * pop).astype(float),
                    "denominator": pop,
                }
            )
        )
        rows.append(
            pl.DataFrame(
                {
                    "indicator_id": "health.prevalence",
                    "area_code": codes,
                    "period": period,
                    "numerator": rng.binomial(den.astype(int), 0.07).astype(float),
                    "denominator": den,
                }
            )
        )
    areas = pl.DataFrame({"area_code": codes, "population": pop, "deprivation": dep})
    return SimpleNamespace(values=pl.concat(rows), areas=areas, spend=pl.concat(spend), indicators=inds)


def test_value_for_money_on_a_dataset_keeps_every_row():
    ds = small_dataset()
    out = value_for_money(ds)
    assert out.height == ds.values.height
    assert out.select("indicator_id", "area_code", "period").is_duplicated().sum() == 0
    assert out["note"].null_count() == out.height
    checks = out.filter(pl.col("indicator_id") == "health.checks")
    # limits were computed (Wilson) from the counts, so weights are inverse variance
    assert checks["lower_95"].null_count() == 0
    assert checks["fit_weights"].unique().to_list() == ["inverse_variance"]
    assert (checks["cost_per_outcome_lower"] <= checks["cost_per_outcome"]).all()
    # lower is better: no cost per outcome; no judgement: no frontier
    assert out.filter(pl.col("indicator_id") == "health.deaths")["cost_per_outcome"].null_count() == 120
    prev = out.filter(pl.col("indicator_id") == "health.prevalence")
    assert prev["efficiency"].null_count() == 120
    eff = out["efficiency"].drop_nulls()
    assert ((eff > 0) & (eff <= 1)).all()


def test_frontier_agrees_with_dea_on_the_same_inputs():
    ds = small_dataset()
    out = value_for_money(ds, dea_output="raw")
    for ind, sign in (("health.checks", 1.0), ("health.deaths", -1.0)):
        g = out.filter((pl.col("indicator_id") == ind) & (pl.col("period") == "2023/24"))
        y = sign * g["value"].to_numpy()
        f = pl.DataFrame({"area_code": g["area_code"], "x": g["spend_per_head"], "y": y - y.min()})
        ref = dea(f, ["x"], ["y"], model="bcc")
        np.testing.assert_allclose(g["efficiency"].to_numpy(), ref.scores["efficiency"].to_numpy(), atol=1e-9)
        peers = ref.peers.group_by("area_code", maintain_order=True).agg("peer")
        assert dict(zip(peers["area_code"], map(sorted, peers["peer"]), strict=True)) == dict(
            zip(g["area_code"], map(sorted, g["dea_peers"]), strict=True)
        )


def test_value_for_money_with_frames_deflator_and_missing_spend():
    ds = small_dataset(n=30)
    spend = ds.spend.filter(~((pl.col("area_code") == "X003") & (pl.col("period") == "2023/24")))
    out = value_for_money(ds.values, ds.indicators, areas=ds.areas, spend=spend, deflator={"2022/23": 95.0, "2023/24": 100.0})
    assert out.height == ds.values.height
    gap = out.filter((pl.col("area_code") == "X003") & (pl.col("period") == "2023/24"))
    assert gap["note"].unique().to_list() == ["no spend for this service and period"]
    assert gap["efficiency"].null_count() == gap.height and gap["expected"].null_count() == gap.height
    old = out.filter(pl.col("period") == "2022/23")
    np.testing.assert_allclose(old["spend_real"].to_numpy(), old["spend"].to_numpy() * 100 / 95)
    assert old["prices"].unique().to_list() == ["2023/24 prices"]


def test_value_for_money_selects_by_service_and_rejects_breakdowns():
    ds = small_dataset(n=20)
    assert value_for_money(ds, ["health.checks"])["indicator_id"].unique().to_list() == ["health.checks"]
    with pytest.raises(DataError, match="no indicator relates to service 'schools'"):
        value_for_money(ds, service="schools")
    doubled = SimpleNamespace(**{**vars(ds), "values": pl.concat([ds.values, ds.values.head(2)])})
    with pytest.raises(DataError, match="breakdown"):
        value_for_money(doubled)
    with pytest.raises(SchemaError, match="areas= and spend="):
        value_for_money(ds.values, ds.indicators)


def test_service_frontier_recovers_simulated_efficient_areas():
    # three outcomes, all better with spend; a known set of areas achieves the frontier exactly
    rng = np.random.default_rng(8)
    n = 120
    codes = [f"X{i:03d}" for i in range(n)]
    # the first 12 areas are efficient and span the spend range (under variable returns the
    # lowest spender is always on the frontier, so no inefficient area may spend least)
    sph = np.r_[np.linspace(100, 300, 12), rng.uniform(105, 295, n - 12)]
    gap = np.where(np.arange(n) < 12, 0.0, rng.uniform(0.05, 0.3, n))
    inds, rows = {}, []
    for j, pol in enumerate(["higher_is_better", "higher_is_better", "lower_is_better"]):
        iid = f"schools.o{j}"
        inds[iid] = Indicator(id=iid, title=iid, sector="schools", measure="score", polarity=pol)
        frontier = 10 * np.sqrt(sph) * rng.uniform(0.9, 1.1) * (1 - gap)
        rows.append(
            pl.DataFrame(
                {
                    "indicator_id": iid,
                    "area_code": codes,
                    "period": "2024",
                    "value": frontier if pol == "higher_is_better" else 500 - frontier,
                }
            )
        )
    areas = pl.DataFrame({"area_code": codes, "population": np.full(n, 1e5), "deprivation": np.full(n, 10.0)})
    spend = pl.DataFrame({"area_code": codes, "period": "2024", "service": "schools", "spend": sph * 1e5})
    res = service_frontier(pl.concat(rows), "schools", indicators=inds, areas=areas, spend=spend, need_adjusted=False)
    eff = res.scores["efficiency"].to_numpy()
    np.testing.assert_allclose(eff[:12], 1.0, atol=1e-6)
    assert np.all(eff[12:] < 1 - 1e-3)
    assert set(res.peers["peer"].to_list()) <= set(codes[:12])
    t = res.targets.filter((pl.col("area_code") == "X050") & (pl.col("variable") == "schools.o2"))
    assert t["target"].item() <= t["observed"].item()  # lower is better: target is lower


@pytest.mark.slow
def test_demo_nation_efficient_areas_sit_on_or_near_the_frontier():
    from publicservices.synthetic import demo

    ds = demo(seed=0)
    res = service_frontier(ds, periods="2023/24")
    for service, efficient in ds.truth["efficient_areas"].items():
        sc = res.scores.filter(pl.col("service") == service)
        good = sc.filter(pl.col("area_code").is_in(efficient))
        bad = sc.filter(pl.col("area_code").is_in(ds.truth["inefficient_areas"][service]))
        rest = sc.filter(~pl.col("area_code").is_in(efficient))
        # truly efficient areas score far higher, and score 1 far more often, than the rest
        assert good["efficiency"].mean() > bad["efficiency"].mean() + 0.1
        assert (good["efficiency"] > 1 - 1e-6).mean() > 2 * (rest["efficiency"] > 1 - 1e-6).mean()
    vfm = value_for_money(ds.filter(periods="2023/24"))
    more = vfm.filter(pl.col("assessment") == MORE)
    share_efficient = more.join(
        pl.DataFrame(
            [(s, a) for s, v in ds.truth["efficient_areas"].items() for a in v], schema=["service", "area_code"], orient="row"
        ),
        on=["service", "area_code"],
    ).height / max(more.height, 1)
    assert share_efficient > 0.3  # 12% of areas are efficient; far more of the over-achievers


def test_value_for_money_checks_plain_frames_at_the_door():
    # fuzz finding: a plain values frame went straight into the regression and the frontier
    ds = small_dataset(n=12)
    bad = ds.values.with_columns(
        pl.when(pl.col("area_code") == "X003").then(float("nan")).otherwise(pl.col("numerator")).alias("numerator")
    )
    with pytest.raises(DataError, match=r"(?s)'numerator' holds NaN or infinite values.*X003"):
        value_for_money(bad, ds.indicators, areas=ds.areas, spend=ds.spend)
    areas = ds.areas.with_columns(
        pl.when(pl.col("area_code") == "X003").then(-5.0).otherwise(pl.col("population")).alias("population")
    )
    with pytest.raises(DataError, match=r"(?s)'population' is negative.*X003"):
        service_frontier(ds.values, indicators=ds.indicators, areas=areas, spend=ds.spend)


def test_implausibly_large_need_and_key_columns_of_the_wrong_type_are_named():
    # fuzz findings: a need covariate of 1e300 made the weighted least squares fail to converge
    # (numpy LinAlgError), and a spend frame whose area_code was boolean failed in a join
    rng = np.random.default_rng(2)
    f = pl.DataFrame(
        {
            "area_code": [f"A{i}" for i in range(8)],
            "spend_per_head": rng.uniform(100, 400, 8),
            "deprivation": rng.uniform(5, 40, 8),
            "population": rng.uniform(1e5, 5e5, 8),
            "value": rng.uniform(50, 70, 8),
        }
    )
    huge = f.with_columns(pl.when(pl.col("area_code") == "A3").then(1e300).otherwise(pl.col("deprivation")).alias("deprivation"))
    with pytest.raises(DataError, match=r"(?s)'deprivation' is implausibly large.*A3"):
        expected_outcome(huge)
    with pytest.raises(SchemaError, match="'area_code' in spend has type Boolean, not text"):
        unit_costs(SPEND.with_columns(pl.col("area_code") == "A"), AREAS)


# -- savings if every area matched its peers --------------------------------------------------


def _two_outcome_service(seed: int, n: int = 40, half_width: float | None = 1.0):
    rng = np.random.default_rng(seed)
    codes = [f"S{i:03d}" for i in range(n)]
    sph = rng.uniform(100, 300, n)
    inds, rows = {}, []
    for j, pol in enumerate(["higher_is_better", "lower_is_better"]):
        iid = f"health.s{j}"
        inds[iid] = Indicator(id=iid, title=iid, sector="health", measure="score", polarity=pol)
        y = 10 * np.sqrt(sph) * rng.uniform(0.7, 1.0, n)
        value = y if pol == "higher_is_better" else 500 - y
        frame = pl.DataFrame({"indicator_id": iid, "area_code": codes, "period": "2024", "value": value})
        if half_width is not None:
            frame = frame.with_columns(
                (pl.col("value") - half_width).alias("lower_ci"), (pl.col("value") + half_width).alias("upper_ci")
            )
        rows.append(frame)
    areas = pl.DataFrame({"area_code": codes, "population": rng.uniform(1e4, 1e5, n), "deprivation": np.full(n, 10.0)})
    spend = areas.select(
        "area_code",
        pl.lit("2024").alias("period"),
        pl.lit("health").alias("service"),
        (pl.Series(sph) * pl.col("population")).alias("spend"),
    )
    return pl.concat(rows), inds, areas, spend


def test_savings_are_the_naive_sum_of_each_areas_spend_beyond_its_peers():
    values, inds, areas, spend = _two_outcome_service(3)
    kw = dict(indicators=inds, areas=areas, spend=spend, need_adjusted=False)
    scores = service_frontier(values, "health", **kw).scores
    out = frontier_savings(values, "health", replicates=0, **kw)
    naive = scores.join(spend, on="area_code").select(((1 - pl.col("efficiency")) * pl.col("spend")).sum()).item()
    assert out["savings"].item() == pytest.approx(naive, rel=1e-9)
    assert out["spend"].item() == pytest.approx(spend["spend"].sum())
    assert out["savings_share"].item() == pytest.approx(naive / spend["spend"].sum())
    assert out["n_areas"].item() == 40 and out["savings_lower"].item() is None
    assert out["note"].item() == "no range: replicates=0"


def test_savings_range_holds_the_estimate_and_widens_with_the_noise():
    widths = []
    for half_width in (0.5, 5.0):
        values, inds, areas, spend = _two_outcome_service(4, half_width=half_width)
        out = frontier_savings(
            values, "health", indicators=inds, areas=areas, spend=spend, need_adjusted=False, replicates=60, seed=1
        )
        row = out.row(0, named=True)
        assert 0 <= row["savings_lower"] <= row["savings"] <= row["savings_upper"]
        assert row["replicates"] == 60 and row["note"] is None
        widths.append(row["savings_upper"] - row["savings_lower"])
        again = frontier_savings(
            values, "health", indicators=inds, areas=areas, spend=spend, need_adjusted=False, replicates=60, seed=1
        )
        assert again.equals(out)  # a seed rebuilds the same site
    assert widths[1] > widths[0]


def test_savings_say_why_there_is_no_range_and_reject_a_range_of_one():
    values, inds, areas, spend = _two_outcome_service(5, half_width=None)
    out = frontier_savings(values, "health", indicators=inds, areas=areas, spend=spend, replicates=20)
    assert out["note"].item() == "no range: more than one in ten outcomes have no 95% limits"
    assert out["savings"].item() > 0 and out["savings_upper"].item() is None
    # a few outcomes without limits are held fixed, and the note counts them
    few = values.with_columns((pl.col("value") - 1).alias("lower_ci"), (pl.col("value") + 1).alias("upper_ci")).with_columns(
        pl.when(pl.col("area_code") == "S000").then(None).otherwise(pl.col("lower_ci")).alias("lower_ci")
    )
    held = frontier_savings(few, "health", indicators=inds, areas=areas, spend=spend, replicates=20).row(0, named=True)
    assert held["note"] == "the range holds fixed the 2 of 80 outcomes without 95% limits"
    assert held["savings_lower"] <= held["savings"] <= held["savings_upper"]
    with pytest.raises(DataError, match="replicates=1"):
        frontier_savings(values, "health", indicators=inds, areas=areas, spend=spend, replicates=1)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100))
def test_savings_scale_with_spend_and_never_exceed_it(seed, scale):
    values, inds, areas, spend = _two_outcome_service(seed, n=12, half_width=None)
    kw = dict(indicators=inds, areas=areas, need_adjusted=False, replicates=0)
    base = frontier_savings(values, "health", spend=spend, **kw).row(0, named=True)
    scaled = frontier_savings(values, "health", spend=spend.with_columns(pl.col("spend") * scale), **kw).row(0, named=True)
    assert 0 <= base["savings"] < base["spend"]
    assert scaled["savings"] == pytest.approx(base["savings"] * scale, rel=1e-6)
    assert scaled["savings_share"] == pytest.approx(base["savings_share"], rel=1e-6)


def test_the_frontier_chart_draws_what_the_model_used():
    """No area plots beyond the frontier drawn: the chart shows the need-adjusted outcomes."""
    from publicservices.results.value import ValueResult

    rng = np.random.default_rng(11)
    n = 60
    codes = [f"N{i:03d}" for i in range(n)]
    dep = rng.uniform(5, 45, n)
    sph = rng.uniform(100, 300, n)
    value = 40 + 4 * np.log(sph) - 0.5 * dep + rng.normal(0, 1.5, n)
    ind = Indicator(id="health.n", title="N", sector="health", measure="score", polarity="higher_is_better")
    values = pl.DataFrame({"indicator_id": "health.n", "area_code": codes, "period": "2024", "value": value})
    areas = pl.DataFrame({"area_code": codes, "population": np.full(n, 5e4), "deprivation": dep})
    spend = areas.select(
        "area_code", pl.lit("2024").alias("period"), pl.lit("health").alias("service"), (pl.Series(sph) * 5e4).alias("spend")
    )
    out = value_for_money(values, {ind.id: ind}, areas=areas, spend=spend)
    spec = ValueResult(out, indicator=ind).chart().to_dict()
    layers = spec["layer"]
    datasets = spec.get("datasets", {})

    def rows(layer):
        data = layer.get("data", {})
        return data.get("values") or datasets.get(data.get("name"), [])

    line = next(
        rows(layer) for layer in layers if layer.get("mark", {}).get("type") == "line" and layer["encoding"]["y"]["field"] == "y"
    )
    fx, fy = np.array([r["x"] for r in line]), np.array([r["y"] for r in line])
    points = next(rows(layer) for layer in layers if layer.get("mark", {}).get("type") == "circle")
    assert "value_need_adjusted" in points[0]
    for p in points:
        # the frontier's height at this spend (flat beyond the last efficient area)
        height = np.interp(p["spend_per_head"], fx[1:], fy[1:])
        assert p["value_need_adjusted"] <= height + 1e-6, p


def test_spend_vs_outcome_given_several_indicators_says_to_pass_one():
    import publicservices as ps
    from publicservices.errors import OptionError

    with pytest.raises(OptionError, match="one indicator") as err:
        ps.spend_vs_outcome(ps.demo(), ["health.ae_4hr", "health.gp_experience"])
    assert "value_for_money" in str(err.value)


def test_every_one_indicator_function_given_several_says_to_pass_one():
    """funnel_check, rank_areas and compare_internationally share the check spend_vs_outcome uses:
    a list of indicators is an OptionError naming the function, never a Polars error about casting a list."""
    import publicservices as ps
    from publicservices.errors import OptionError

    ds = ps.demo()
    rows = ds.values.filter(pl.col("indicator_id") == "health.ae_4hr", pl.col("period") == "2023/24")
    several = ["health.ae_4hr", "health.gp_experience"]
    calls = {
        "funnel_check": lambda: ps.funnel_check(rows, several, dataset=ds),
        "rank_areas": lambda: ps.rank_areas(rows, several, dataset=ds),
        "compare_internationally": lambda: ps.compare_internationally(ds.values, "X06000001", indicator=several),
    }
    for name, call in calls.items():
        with pytest.raises(OptionError, match=f"{name} takes one indicator"):
            call()
