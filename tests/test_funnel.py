"""Funnel plots: PHEindicatormethods 2.1.0 fixtures, exact limits, Spiegelhalter over-dispersion."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from publicservices.errors import DataError, SchemaError
from publicservices.indicators import Indicator
from publicservices.stats.funnel import (
    SIGNIFICANCE_LEVELS,
    exact_funnel_limits,
    funnel,
    funnel_limits,
    funnel_points,
    funnel_significance,
    winsorised_dispersion,
)

FIX = Path(__file__).parent / "fixtures" / "phe"
REL = 1e-6


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(FIX / name)


def ours(col: str) -> str:
    """PHE column name -> ours."""
    c = col.lower().replace("_2s", "_95").replace("_3s", "_998")
    c = c.replace("_limit", "").replace("_exp_events", "_expected_events")
    return c


def assert_close(got: pl.DataFrame, expected: pl.DataFrame, rename: dict[str, str] | None = None) -> None:
    for col in expected.columns:
        if col in ("statistic", "method"):
            assert got[col].to_list() == expected[col].to_list(), col
            continue
        name = (rename or {}).get(col, ours(col))
        e = expected[col].to_numpy().astype(float)
        g = got[name].to_numpy().astype(float)
        np.testing.assert_allclose(g, e, rtol=REL, atol=0, err_msg=col)


# ---------------------------------------------------------------- PHE fixtures: limits
def test_proportion_limits_match_phe():
    t = funnel_limits(read("funnel_prop_input.csv"), statistic="proportion", multiplier=100, type="standard")
    assert t.columns == ["population", "lower_95", "upper_95", "lower_998", "upper_998", "baseline"]
    # the source CSV is rounded to 6 decimal places
    exp = read("funnel_prop_limits.csv")
    for col in exp.columns:
        np.testing.assert_allclose(t[ours(col)].to_numpy(), exp[col].to_numpy(), rtol=REL, atol=5e-7)


def test_proportion_limits_with_axis_variation_match_phe():
    d = read("funnel_prop_input.csv").filter(pl.col("denominator") < 31000)
    t = funnel_limits(d, statistic="proportion", multiplier=100)
    assert_close(t, read("funnel_prop_limits_axis_variation.csv"))
    assert t["population"][0] == 10000  # non-zero axis minimum: 95% of min rounded down


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits_match_phe(ratio_type):
    t = funnel_limits(read("funnel_ratio_input.csv"), statistic="ratio", numerator="obs", denominator="expected",
                      multiplier=100, ratio_type=ratio_type)
    exp = read("funnel_ratio_limits.csv")
    other = "isr" if ratio_type == "count" else "count"
    exp = exp.drop([c for c in exp.columns if c.endswith(other)])
    rename = {c: ours(c.replace(f"_{ratio_type}", "_limit")) for c in exp.columns if c.endswith(ratio_type)}
    assert_close(t, exp, rename)
    assert t["statistic"][0] == f"ratio ({ratio_type})" and t["method"][0] == "Poisson"


def test_rate_limits_dsr_match_phe():
    t = funnel_limits(read("funnel_rate_input.csv"), statistic="rate", numerator="ev", rate="rate",
                      multiplier=1e5, rate_type="dsr", years_of_data=3)
    assert_close(t, read("funnel_rate_limits_dsr.csv"))


def test_rate_limits_crude_under_ten_events_match_phe():
    d = read("funnel_rate_input.csv")
    d = d.with_columns(ev=pl.when(pl.col("ev") == pl.col("ev").max()).then(5).otherwise(pl.col("ev")))
    t = funnel_limits(d, statistic="rate", numerator="ev", rate="rate", multiplier=1e5, rate_type="crude",
                      years_of_data=3)
    assert_close(t, read("funnel_rate_limits_crude_lt10.csv"))


def test_rate_limits_crude_zero_events_with_denominator_match_phe():
    d = read("funnel_rate_input.csv").select("ev", "rate")
    top = pl.col("ev") == pl.col("ev").max()
    d = (d.with_columns(pop=1e5 * pl.col("ev") / pl.col("rate"))
          .with_columns(rate=pl.when(top).then(0).otherwise(pl.col("rate")), ev=pl.when(top).then(0).otherwise(pl.col("ev")))
          .filter(pl.col("pop") > pl.col("pop").max() / 2))
    t = funnel_limits(d, statistic="rate", numerator="ev", rate="rate", denominator="pop", multiplier=1e5,
                      rate_type="crude", years_of_data=3)
    assert_close(t, read("funnel_rate_limits_crude_zero.csv"))


# ---------------------------------------------------------------- PHE fixtures: labels
def test_proportion_significance_matches_phe_exactly():
    d = read("funnel_prop_input.csv")
    got = funnel_significance(d.drop("significance"), statistic="proportion")
    assert got["significance"].cast(pl.String).to_list() == d["significance"].to_list()
    assert got["significance"].dtype == pl.Enum(SIGNIFICANCE_LEVELS)


def test_ratio_significance_matches_phe_exactly():
    d = read("funnel_ratio_input.csv")
    got = funnel_significance(d.drop("significance"), statistic="ratio", numerator="obs", denominator="expected")
    assert got["significance"].cast(pl.String).to_list() == d["significance"].to_list()


@pytest.mark.parametrize("rate_type", ["dsr", "crude"])
@pytest.mark.parametrize("mult", [100_000, 100])
@pytest.mark.parametrize("with_zero", [True, False])
def test_rate_significance_matches_phe_exactly(rate_type, mult, with_zero):
    d = read("funnel_rate_significance_input.csv")
    if not with_zero:
        d = d.filter(pl.col("count") != 0)
    rate = "rate_dsr" if rate_type == "dsr" else f"rate_crude_per_{mult}"
    expected = d[f"{rate_type}_per_{mult}_{'with' if with_zero else 'without'}_0"].to_list()
    got = funnel_significance(d.select("count", rate, "pop"), statistic="rate", numerator="count",
                              denominator="pop", rate=rate, rate_type=rate_type, multiplier=mult)
    assert got["significance"].cast(pl.String).to_list() == expected


# ---------------------------------------------------------------- PHE fixtures: points
def test_funnel_points_match_phe():
    d = read("funnel_rate_input.csv")
    top = pl.col("ev") == pl.col("ev").max()
    dsr = funnel_points(d.select("ev", "rate").with_columns(ev=pl.when(top).then(5).otherwise(pl.col("ev"))),
                        numerator="ev", rate="rate", rate_type="dsr", years_of_data=3, multiplier=1e5)
    crude = funnel_points(d.select("ev", "rate"), numerator="ev", rate="rate", rate_type="crude",
                          years_of_data=3, multiplier=1e5)
    denom = funnel_points(d.select("ev", "rate", "pop").with_columns(ev=pl.when(top).then(0).otherwise(pl.col("ev"))),
                          numerator="ev", rate="rate", denominator="pop", rate_type="crude", years_of_data=5,
                          multiplier=1e5)
    for got, suffix in ((dsr, ""), (crude, "_crude"), (denom, "_crude_with_denom")):
        for col in ("rate_chart", "denominator_derived"):
            e = d[f"{col}{suffix}"].cast(pl.Float64).to_numpy()
            g = got[col].cast(pl.Float64).to_numpy()
            assert np.array_equal(np.isnan(e), np.isnan(g)), (col, suffix)
            np.testing.assert_allclose(g[~np.isnan(g)], e[~np.isnan(e)], rtol=REL)


# ---------------------------------------------------------------- errors like PHE's
def test_missing_numerator_is_named_with_rows():
    d = pl.DataFrame({"area_code": ["A", "B"], "numerator": [1.0, None], "denominator": [10.0, 10.0]})
    with pytest.raises(DataError, match=r"(?s)numerator.*provided for all records.*\n  B\n"):
        funnel_significance(d, statistic="proportion")


def test_numerator_above_denominator_is_an_error():
    d = pl.DataFrame({"numerator": [65.0, 80.0, 30.0], "denominator": [100.0, 100.0, 20.0]})
    with pytest.raises(DataError, match="less than or equal to denominator"):
        funnel_significance(d, statistic="proportion")


def test_zero_and_negative_inputs_are_errors():
    with pytest.raises(DataError, match="greater than zero"):
        funnel_significance(pl.DataFrame({"numerator": [1.0], "denominator": [0.0]}), statistic="proportion")
    with pytest.raises(DataError, match="greater than or equal to zero"):
        funnel_significance(pl.DataFrame({"numerator": [-1.0], "denominator": [5.0]}), statistic="ratio")


def test_statistic_and_rate_arguments_are_required():
    d = pl.DataFrame({"numerator": [1.0], "denominator": [5.0]})
    with pytest.raises(DataError, match="statistic must be provided"):
        funnel_limits(d, statistic="pop", multiplier=100)  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="years_of_data"):
        funnel_limits(d.with_columns(rate=pl.lit(20.0)), statistic="rate", rate="rate", rate_type="crude",
                      multiplier=100)
    zero = pl.DataFrame({"num": [0.0, 10.0], "rate": [0.0, 5.0]})
    with pytest.raises(SchemaError, match="0 events"):
        funnel_significance(zero, statistic="rate", numerator="num", denominator=None, rate="rate",
                            rate_type="crude", multiplier=100)


# ---------------------------------------------------------------- exact limits with interpolation
def reference_exact(precision, theta, family, q):
    """Independent reference: scipy.stats ppf/cdf and Spiegelhalter's interpolation."""
    dist = stats.binom(precision, theta) if family == "binomial" else stats.poisson(precision * theta)
    r = dist.ppf(q)
    f, f1 = dist.cdf(r), dist.cdf(r - 1)
    lim = (r - (f - q) / (f - f1)) / precision
    return np.maximum(lim, 0)


@pytest.mark.parametrize("family,theta", [("binomial", 0.8), ("binomial", 0.03), ("poisson", 1.0), ("poisson", 0.002)])
def test_exact_limits_agree_with_scipy_reference(family, theta):
    rng = np.random.default_rng(1)
    size = rng.integers(5, 20000, 400).astype(float)
    got = exact_funnel_limits(size, theta, family=family)
    for level, sfx in ((0.95, "95"), (0.998, "998")):
        for q, side in (((1 - level) / 2, "lower"), (1 - (1 - level) / 2, "upper")):
            ref = reference_exact(size, theta, family, q)
            if family == "poisson":
                ref = ref / theta  # reference is on the O/size scale with mean size*theta
                got_ = got[f"{side}_{sfx}"] / theta
            else:
                got_ = got[f"{side}_{sfx}"]
            np.testing.assert_allclose(got_, ref, rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(theta=st.floats(0.01, 0.99), n=st.integers(2, 50_000))
def test_exact_binomial_limits_are_ordered(theta, n):
    # with under ~1 expected event the interpolated quantile can sit on 0, below the target
    assume(n * theta >= 1 and n * (1 - theta) >= 1)
    lim = exact_funnel_limits([n, 4 * n], theta, family="binomial")
    for i in range(2):
        assert lim["lower_998"][i] <= lim["lower_95"][i] <= theta + 1e-12
        assert theta - 1e-12 <= lim["upper_95"][i] <= lim["upper_998"][i] <= 1 + 1e-12
    # the funnel narrows as precision grows
    assert lim["upper_998"][1] - lim["lower_998"][1] <= lim["upper_998"][0] - lim["lower_998"][0] + 1e-12


# ---------------------------------------------------------------- over-dispersion
def direct_dispersion(z, se, q=0.1):
    """Independent, loop-based Spiegelhalter (2005) estimates: type-7 quantiles by hand."""
    zs = sorted(z)
    n = len(zs)

    def quantile(p):
        h = (n - 1) * p
        lo = math.floor(h)
        hi = min(lo + 1, n - 1)
        return zs[lo] + (h - lo) * (zs[hi] - zs[lo])

    lo_q, hi_q = quantile(q), quantile(1 - q)
    total = 0.0
    for v in z:
        w = min(max(v, lo_q), hi_q)
        total += w * w
    phi = total / n
    sw = sum(1 / s**2 for s in se)
    sw2 = sum(1 / s**4 for s in se)
    tau2 = max(0.0, (n * phi - (n - 1)) / (sw - sw2 / sw))
    return phi, tau2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-8, 8), st.floats(0.05, 5)), min_size=3, max_size=60))
def test_dispersion_matches_direct_implementation(pairs):
    z = [p[0] for p in pairs]
    se = [p[1] for p in pairs]
    got = winsorised_dispersion(z, se, 0.1)
    phi, tau2 = direct_dispersion(z, se)
    assert got["phi"] == pytest.approx(phi, rel=1e-9, abs=1e-12)
    assert got["tau2"] == pytest.approx(tau2, rel=1e-9, abs=1e-12)
    assert 0 <= got["chi2_p"] <= 1


def test_additive_tau2_recovers_simulated_between_unit_variance():
    rng = np.random.default_rng(7)
    k, tau2 = 4000, 0.0004
    n = rng.integers(200, 5000, k).astype(float)
    p = np.clip(0.3 + rng.normal(0, math.sqrt(tau2), k), 0.01, 0.99)
    x = rng.binomial(n.astype(int), p).astype(float)
    ind = Indicator(id="health.x", title="x", sector="health", measure="proportion", multiplier=1)
    f = funnel(pl.DataFrame({"numerator": x, "denominator": n}), ind, "additive", winsorize=0.0)
    assert f.dispersion["tau2"][0] == pytest.approx(tau2, rel=0.15)
    assert f.dispersion["phi"][0] > 1.5 and f.dispersion["chi2_p"][0] < 1e-6


def _overdispersed_frame(seed=3, k=120):
    rng = np.random.default_rng(seed)
    n = rng.integers(100, 3000, k).astype(float)
    p = np.clip(0.6 + rng.normal(0, 0.05, k), 0.05, 0.95)
    x = rng.binomial(n.astype(int), p).astype(float)
    return pl.DataFrame({"area_code": [f"A{i:03d}" for i in range(k)], "numerator": x, "denominator": n})


IND = Indicator(id="health.screening", title="Screening", sector="health", measure="proportion", multiplier=100,
                polarity="higher_is_better")


@pytest.mark.parametrize("kind", ["multiplicative", "additive"])
def test_overdispersed_limits_match_their_formula(kind):
    df = _overdispersed_frame()
    f = funnel(df, IND, kind)
    x, n = df["numerator"].to_numpy(), df["denominator"].to_numpy()
    theta = x.sum() / n.sum()
    s = np.sqrt(theta * (1 - theta) / n)
    z = (x / n - theta) / s
    phi, tau2 = direct_dispersion(list(z), list(s))
    for level, zz in ((95, 1.959963984540054), (998, 3.090232306167813)):
        half = zz * s * math.sqrt(phi) if kind == "multiplicative" else zz * np.sqrt(s**2 + tau2)
        np.testing.assert_allclose(f.points[f"upper_{level}"].to_numpy(), 100 * np.minimum(theta + half, 1), rtol=1e-9)
        np.testing.assert_allclose(f.points[f"lower_{level}"].to_numpy(), 100 * np.maximum(theta - half, 0), rtol=1e-9)
    plain = funnel(df, IND, method="normal")
    flagged = lambda fr: (fr.points["position_95"] != "within").sum()  # noqa: E731
    assert flagged(f) < flagged(plain)  # widening flags fewer units
    assert f.dispersion["tau2"][0] == pytest.approx(tau2 * 100**2, rel=1e-9)
    with pytest.raises(DataError, match="normal approximations"):
        funnel(df, IND, kind, method="exact")


def test_multiplicative_leaves_limits_alone_when_phi_below_one():
    rng = np.random.default_rng(2)
    n = np.full(50, 1000.0)
    x = np.round(np.full(50, 500.0) + rng.integers(-2, 3, 50))  # under-dispersed
    df = pl.DataFrame({"numerator": x, "denominator": n})
    f = funnel(df, IND, "multiplicative")
    plain = funnel(df, IND, method="normal")
    assert f.dispersion["phi"][0] < 1
    assert f.points["upper_95"].to_list() == plain.points["upper_95"].to_list()


# ---------------------------------------------------------------- funnel(): positions and polarity
def test_phe_method_labels_equal_funnel_significance():
    d = read("funnel_prop_input.csv").rename({"Area": "area_code"}).drop("significance")
    f = funnel(d, IND)
    assert f.points["significance"].to_list() == funnel_significance(d, statistic="proportion")["significance"].to_list()
    sig = f.points["significance"].cast(pl.String)
    assert ((sig == "High (0.001)") == (f.points["position_998"] == "above")).all()
    assert ((sig.str.starts_with("Low")) == (f.points["position_95"] == "below")).all()
    # higher is better: above the funnel is better
    assert (f.points.filter(pl.col("position_998") == "above")["comparison"] == "better (99.8%)").all()
    # proportion limits at each unit's own n are PHE's Wilson inversion: consistent with the labels
    pts = f.points
    assert ((pts["value"] > pts["upper_95"]) == (pts["position_95"] == "above")).all()
    assert set(f.limits["limit"].unique().to_list()) == {"lower_998", "lower_95", "baseline", "upper_95", "upper_998"}


def test_polarity_turns_above_into_worse():
    d = read("funnel_prop_input.csv").drop("significance")
    low = Indicator(id="health.bad", title="Bad", sector="health", measure="proportion", multiplier=100,
                    polarity="lower_is_better")
    f = funnel(d, low)
    above = f.points.filter(pl.col("position_998") == "above")
    assert above.height > 0 and (above["comparison"] == "worse (99.8%)").all()
    none = funnel(d, low, polarity="no_judgement")
    assert (none.points.filter(pl.col("position_998") == "above")["comparison"] == "higher (99.8%)").all()


def test_ratio_and_dsr_funnels_from_indicators():
    r = read("funnel_ratio_input.csv").rename({"obs": "numerator", "expected": "denominator"}).drop("significance")
    smr = Indicator(id="health.smr", title="SMR", sector="health", measure="ratio", multiplier=100,
                    polarity="lower_is_better")
    f = funnel(r, smr)
    expected = read("funnel_ratio_input.csv")["significance"].to_list()
    assert f.points["significance"].cast(pl.String).to_list() == expected
    np.testing.assert_allclose(f.points["value"].to_numpy(), 100 * r["numerator"].to_numpy() / r["denominator"].to_numpy())
    assert f.points["baseline"][0] == 100

    s = read("funnel_rate_significance_input.csv")
    dsr_ind = Indicator(id="health.dsr", title="DSR", sector="health", measure="dsr", multiplier=1e5)
    dsr = s.select(numerator="count", value="rate_dsr", denominator="pop")
    f = funnel(dsr, dsr_ind)
    assert f.points["significance"].cast(pl.String).to_list() == s["dsr_per_100000_with_0"].to_list()
    small = f.points.filter(pl.col("numerator") < 10)
    assert small["position_95"].null_count() == small.height


def test_exact_method_positions_follow_limits_and_groups_split():
    d = _overdispersed_frame(k=60)
    two = pl.concat([d.with_columns(period=pl.lit("2022")), d.with_columns(period=pl.lit("2023"))])
    f = funnel(two, IND, method="exact")
    assert f.dispersion.height == 2 and "period" in f.limits.columns
    pts = f.points
    above = (pts["value"] > pts["upper_95"]).to_numpy()
    assert np.array_equal(above, (pts["position_95"] == "above").to_numpy())
    assert (pts["lower_998"] <= pts["lower_95"]).all() and (pts["upper_95"] <= pts["upper_998"]).all()


def test_normal_funnel_for_scores_needs_standard_errors():
    score = Indicator(id="schools.progress", title="Progress 8", sector="schools", measure="score",
                      polarity="higher_is_better")
    df = pl.DataFrame({"area_code": list("ABCD"), "value": [0.1, -0.5, 0.0, 0.9], "se": [0.1, 0.1, 0.2, 0.1]})
    f = funnel(df, score)
    w = 1 / df["se"].to_numpy() ** 2
    theta = float((w * df["value"].to_numpy()).sum() / w.sum())
    assert f.points["baseline"][0] == pytest.approx(theta)
    np.testing.assert_allclose(f.points["upper_95"].to_numpy(), theta + 1.959963984540054 * df["se"].to_numpy())
    with pytest.raises(SchemaError, match="se"):
        funnel(df.drop("se"), score)
    with pytest.raises(DataError, match="needs counts"):
        funnel(df, score, method="exact")


def test_funnel_accepts_a_dataset_and_an_indicator_id():
    class FakeDataset:  # anything with .values and .indicators
        def __init__(self, values, indicators):
            self.values, self.indicators = values, indicators

    d = _overdispersed_frame(k=30).with_columns(indicator_id=pl.lit(IND.id), period=pl.lit("2023"))
    other = d.with_columns(indicator_id=pl.lit("health.other"))
    ds = FakeDataset(pl.concat([d, other]), {IND.id: IND})
    f = funnel(ds, IND.id)
    assert f.points.height == 30 and f.points["indicator_id"].unique().to_list() == [IND.id]
    g = funnel(pl.concat([d, other]), IND.id, indicators={IND.id: IND})
    assert g.points["significance"].to_list() == f.points["significance"].to_list()


def test_funnel_gives_each_breakdown_its_own_baseline_by_default():
    ind = Indicator(id="health.screen", title="Screening", sector="health", measure="proportion",
                    multiplier=100, polarity="higher_is_better")
    df = pl.DataFrame({"area_code": list("ABCD") * 2, "sex": ["Male"] * 4 + ["Female"] * 4,
                       "numerator": [30.0, 32, 28, 30, 70, 72, 68, 70], "denominator": [100.0] * 8})
    f = funnel(df, ind)
    assert f.points["sex"].to_list() == df["sex"].to_list()
    assert f.points["baseline"].to_list() == pytest.approx([30.0] * 4 + [70.0] * 4)
    assert f.points["comparison"].to_list() == ["similar"] * 8  # pooled, men would all be "worse"
    assert f.dispersion.select("sex", "n_units").rows() == [("Male", 4), ("Female", 4)]
