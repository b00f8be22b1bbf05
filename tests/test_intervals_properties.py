"""Properties of the interval methods, checked with hypothesis against SciPy references."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import publicservices.stats as iv
from publicservices.indicators import Indicator

SETTINGS = settings(max_examples=60, deadline=None)
LEVELS = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])


@st.composite
def counts(draw, max_n: int = 10**6, min_size: int = 1, max_size: int = 40):
    """Integer (x, n) pairs with 0 <= x <= n, biased towards small and boundary counts."""
    pairs = []
    for _ in range(draw(st.integers(min_size, max_size))):
        n = draw(st.one_of(st.integers(1, 30), st.integers(1, max_n)))
        x = draw(st.one_of(st.sampled_from([0, n]), st.integers(0, n)))
        pairs.append((float(x), float(n)))
    return pl.DataFrame(pairs, schema={"x": pl.Float64, "n": pl.Float64}, orient="row")


def all_true(frame: pl.DataFrame, *conditions: pl.Expr) -> bool:
    return all(frame.select([c.all().alias(f"c{i}") for i, c in enumerate(conditions)]).row(0))


def _limits(df: pl.DataFrame, method: str, **kw) -> pl.DataFrame:
    return df.with_columns(iv.interval_columns(method, "x", "n", (0.95, 0.998), **kw)[1:])


@SETTINGS
@given(counts(), st.sampled_from([1.0, 100.0]))
def test_proportion_limits_bracket_lie_in_range_and_widen(df, mult):
    for method in ("wilson", "clopper_pearson"):
        got = _limits(df, method, multiplier=mult).with_columns(p=pl.col("x") / pl.col("n") * mult)
        tol = 1e-12 * mult
        assert all_true(
            got,
            (pl.col("lower_95") <= pl.col("p") + tol),
            (pl.col("upper_95") >= pl.col("p") - tol),
            (pl.col("lower_998") >= 0),
            (pl.col("upper_998") <= mult),
            (pl.col("lower_998") <= pl.col("lower_95")),
            (pl.col("upper_998") >= pl.col("upper_95")),
        )
        assert got.select(pl.col("^(lower|upper)_.*$").null_count().sum()).row(0) == (0,) * 4


@SETTINGS
@given(st.integers(1, 5000), LEVELS)
def test_proportion_limits_monotone_in_numerator(n, level):
    df = pl.DataFrame({"x": np.arange(n + 1, dtype=float), "n": float(n)})
    for builder in (iv.wilson_ci, iv.clopper_pearson_ci):
        got = df.select(builder("x", "n", level).struct.unnest())
        assert (got["lower"].diff().drop_nulls() >= -1e-15).all()
        assert (got["upper"].diff().drop_nulls() >= -1e-15).all()


@settings(max_examples=40, deadline=None)
@given(counts(max_n=10**5, max_size=6), LEVELS)
def test_wilson_and_clopper_pearson_agree_with_scipy(df, level):
    got = df.with_columns(
        iv.wilson_ci("x", "n", level).struct.unnest(),
        iv.clopper_pearson_ci("x", "n", level).struct.unnest().name.suffix("_cp"),
    )
    for x, n, lo, up, lo_cp, up_cp in got.iter_rows():
        test = stats.binomtest(int(x), int(n))
        w = test.proportion_ci(confidence_level=level, method="wilson")
        cp = test.proportion_ci(confidence_level=level, method="exact")
        assert math.isclose(lo, w.low, rel_tol=1e-9, abs_tol=1e-14)
        assert math.isclose(up, w.high, rel_tol=1e-9, abs_tol=1e-14)
        # binomtest finds the exact limits with a root finder (absolute tolerance ~1e-12); the
        # beta quantiles below are the closed form and are held to 1e-9 relative.
        assert math.isclose(lo_cp, cp.low, rel_tol=1e-7, abs_tol=1e-11)
        assert math.isclose(up_cp, cp.high, rel_tol=1e-7, abs_tol=1e-11)
        tail = (1 - level) / 2
        ref_lo = 0.0 if x == 0 else stats.beta.ppf(tail, x, n - x + 1)
        ref_up = 1.0 if x == n else stats.beta.isf(tail, x + 1, n - x)
        assert math.isclose(lo_cp, ref_lo, rel_tol=1e-9, abs_tol=1e-300)
        assert math.isclose(up_cp, ref_up, rel_tol=1e-9)


@SETTINGS
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 9.999)), min_size=1, max_size=30),
    st.floats(1e-3, 1e6),
    LEVELS,
)
def test_exact_poisson_agrees_with_scipy_chi2(xs, n, level):
    df = pl.DataFrame({"x": xs, "n": n})
    got = df.select(iv.byar_ci("x", "n", level, multiplier=1000.0).struct.unnest())
    tail = (1 - level) / 2
    for x, lo, up in zip(xs, got["lower"], got["upper"], strict=True):
        ref_lo = 0.0 if x == 0 else stats.chi2.ppf(tail, 2 * x) / 2
        ref_up = stats.chi2.ppf(1 - tail, 2 * x + 2) / 2
        assert math.isclose(lo, ref_lo / n * 1000, rel_tol=1e-9, abs_tol=1e-300)
        assert math.isclose(up, ref_up / n * 1000, rel_tol=1e-9)


@SETTINGS
@given(st.lists(st.floats(10, 1e8, allow_nan=False), min_size=1, max_size=30), LEVELS)
def test_byar_agrees_with_an_independent_numpy_formula(xs, level):
    x = np.asarray(xs)
    z = stats.norm.ppf(level + (1 - level) / 2)
    lo = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    up = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    got = pl.DataFrame({"x": x}).select(iv.byar_ci("x", 1.0, level, multiplier=1.0).struct.unnest())
    np.testing.assert_allclose(got["lower"].to_numpy(), lo, rtol=1e-12)
    np.testing.assert_allclose(got["upper"].to_numpy(), up, rtol=1e-12)
    # Byar's approximates the exact limits closely from 10 events on.
    exact_up = stats.chi2.ppf(level + (1 - level) / 2, 2 * x + 2) / 2
    np.testing.assert_allclose(up, exact_up, rtol=0.02)


@SETTINGS
@given(counts(max_n=10**6), st.sampled_from([100.0, 1e5]))
def test_rate_limits_bracket_widen_and_are_monotone(df, mult):
    got = _limits(df, "byar", multiplier=mult).with_columns(r=pl.col("x") / pl.col("n") * mult)
    tol = 1e-9
    assert all_true(
        got,
        (pl.col("lower_95") <= pl.col("r") * (1 + tol)),
        (pl.col("upper_95") >= pl.col("r") * (1 - tol)),
        (pl.col("lower_998") >= 0),
        (pl.col("lower_998") <= pl.col("lower_95")),
        (pl.col("upper_998") >= pl.col("upper_95")),
    )


@pytest.mark.parametrize("level", [0.8, 0.95, 0.998])
def test_rate_limits_monotone_in_count_across_the_switch_to_byar(level):
    seq = pl.DataFrame({"x": np.arange(0, 200, dtype=float), "n": 1000.0})
    lims = seq.select(iv.byar_ci("x", "n", level).struct.unnest())
    for c in lims.columns:
        assert (lims[c].diff().drop_nulls() > 0).all(), c


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(1, 10**5), st.integers(0, 10**4)),
        min_size=1,
        max_size=19,
    ),
    LEVELS,
)
def test_dsr_properties(bands, level):
    df = pl.DataFrame(bands, schema=["x", "n", "w"], orient="row").with_columns(g=pl.lit("a"))
    if df["w"].sum() == 0:
        df = df.with_columns(w=pl.lit(1))
    levels = (level, 0.998) if level != 0.998 else (0.95, 0.998)
    got = iv.dsr(df, "x", "n", "w", by="g", confidence=levels, multiplier=1e5).row(0, named=True)
    total = df["x"].sum()
    s = iv.level_suffix(levels[0])
    if total < 10:
        assert got["value"] is None and got["suppression_reason"] is not None
        return
    assert got[f"lower_{s}"] <= got["value"] <= got[f"upper_{s}"]
    assert got["lower_998"] <= got[f"lower_{s}"] and got["upper_998"] >= got[f"upper_{s}"]
    # Weights proportional to the populations give the crude rate (standardising to itself).
    same = iv.dsr(df.with_columns(w=pl.col("n")), "x", "n", "w", by="g", confidence=level)
    assert math.isclose(same["value"][0], total / df["n"].sum() * 1e5, rel_tol=1e-12)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 10**4), st.integers(1, 10**4), st.integers(1, 10**6)),
        min_size=1,
        max_size=19,
    ),
    st.floats(0.01, 100),
)
def test_isr_scales_inversely_with_reference_rates(bands, c):
    df = pl.DataFrame(bands, schema=["x", "n", "xr", "nr"], orient="row").with_columns(g=pl.lit("a"))
    base = iv.isr(df, "x", "n", "xr", "nr", by="g")
    scaled = iv.isr(df.with_columns(xr=pl.col("xr") * c), "x", "n", "xr", "nr", by="g")
    e = base["expected"][0]
    if e == 0:
        assert base["value"][0] is None
        return
    assert math.isclose(scaled["expected"][0], e * c, rel_tol=1e-9)
    for col in ("value", "lower_95", "upper_998"):
        assert math.isclose(scaled[col][0] * c, base[col][0], rel_tol=1e-9)
    assert base["lower_95"][0] <= base["value"][0] <= base["upper_95"][0]


@settings(max_examples=25, deadline=None)
@given(counts(max_n=10**5, max_size=10))
def test_add_intervals_supplied_route_round_trips_at_95(df):
    inds = {"health.p": Indicator(id="health.p", title="p", sector="health", measure="proportion", multiplier=100)}
    vals = df.with_columns(indicator_id=pl.lit("health.p"))
    computed = iv.add_intervals(vals.rename({"x": "numerator", "n": "denominator"}), inds)
    supplied = iv.add_intervals(
        computed.select("indicator_id", "value", pl.col("lower_95").alias("lower_ci"), pl.col("upper_95").alias("upper_ci")),
        inds,
    )
    assert supplied["lower_95"].to_list() == computed["lower_95"].to_list()
    assert supplied["upper_95"].to_list() == computed["upper_95"].to_list()
    assert all_true(
        supplied,
        (pl.col("lower_998") <= pl.col("lower_95")),
        (pl.col("upper_998") >= pl.col("upper_95")),
        pl.col("lower_998").is_between(0, 100),
        pl.col("upper_998").is_between(0, 100),
    )


def test_vanishing_counts_give_zero_not_nan():
    got = pl.DataFrame({"x": [5e-324, 1e-300], "n": [1.0, 1.0]}).select(iv.byar_ci("x", "n").struct.unnest())
    assert got["lower"].to_list() == [0.0, 0.0] and got["upper"].is_finite().all()


@SETTINGS
@given(st.floats(0.5, 0.999), st.floats(0.5, 0.999))
def test_fraction_and_percentage_levels_are_the_same(a, b):
    if iv.level_suffix(a) == iv.level_suffix(b):
        return
    df = pl.DataFrame({"x": [3.0], "n": [40.0]})
    frac = df.select(iv.wilson_ci("x", "n", (a, b)).struct.unnest())
    pct = df.select(iv.wilson_ci("x", "n", (a * 100, b * 100)).struct.unnest())
    np.testing.assert_allclose(frac.to_numpy(), pct.to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# The Struct builders compute each limit once, and give the bits the Polars expressions give
# --------------------------------------------------------------------------------------------


def _expression_struct(kind: str, x, n, confidence, multiplier, **kw) -> pl.Expr:
    """The builders' previous form: a struct of one Polars expression per limit."""
    from publicservices.stats.outcomes._interval_core import as_expr, multiplier_expr
    from publicservices.stats.outcomes.levels import confidence_levels, limit_names
    from publicservices.stats.outcomes.proportions import cp_limits, wilson_limits
    from publicservices.stats.outcomes.rates import poisson_factor, poisson_limits

    levels, names = confidence_levels(confidence), limit_names(confidence)
    xe, ne, k = as_expr(x, "x"), as_expr(n, "n"), multiplier_expr(multiplier)
    if kind == "wilson":
        return wilson_limits(xe, ne, k, levels, names).struct()
    if kind == "clopper_pearson":
        return cp_limits(xe, ne, k, levels, names).struct()
    return poisson_limits(
        xe, poisson_factor(k, ne), levels, names, kw.get("exact_below", 10), kw.get("integer_counts", False)
    ).struct()


def _same_bits(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.schema == b.schema
    for c in a.columns:
        assert a[c].is_null().equals(b[c].is_null()), c
        keep = ~a[c].is_null().to_numpy()
        assert np.array_equal(a[c].to_numpy()[keep].view(np.int64), b[c].to_numpy()[keep].view(np.int64)), c


_BUILDERS = {"wilson": iv.wilson_ci, "clopper_pearson": iv.clopper_pearson_ci, "byar": iv.byar_ci}
_ODD = [0.0, -0.0, 0.5, 1.0, 2.5, 9.0, 9.5, 10.0, 30.0, -1.0, float("nan"), float("inf"), -float("inf"), 1e308, 5e-324, None]


@pytest.fixture(scope="module")
def odd_counts() -> pl.DataFrame:
    """Ordinary counts mixed with every awkward value, over more than one 64k-row block."""
    rng = np.random.default_rng(11)
    size = 70_000
    n = rng.integers(1, 60, size).astype(float)
    x = rng.binomial(n.astype(np.int64), 0.3).astype(float)
    frac = rng.random(size) < 0.2
    x[frac] += rng.random(frac.sum())
    df = pl.DataFrame({"x": x, "n": n, "k": rng.choice([1.0, 100.0, 1e5], size)})
    pairs = [(a, b) for a in _ODD for b in _ODD]
    odd = pl.DataFrame(
        {"x": [a for a, _ in pairs] * 3, "n": [b for _, b in pairs] * 3, "k": ([1.0, None, -1.0] * len(pairs))[: 3 * len(pairs)]},
        schema={"x": pl.Float64, "n": pl.Float64, "k": pl.Float64},
    )
    return pl.concat([df, odd]).sample(fraction=1.0, shuffle=True, seed=2)


@pytest.mark.parametrize(
    "kind,kw",
    [
        ("wilson", {}),
        ("clopper_pearson", {}),
        ("byar", {}),
        ("byar", {"integer_counts": True}),
        ("byar", {"exact_below": 0}),
        ("byar", {"exact_below": 3.5}),
    ],
)
@pytest.mark.parametrize("multiplier", [100, "k"])
def test_struct_builders_give_the_expressions_bits(odd_counts, kind, kw, multiplier):
    ours = _BUILDERS[kind]("x", "n", (0.95, 0.998), multiplier, **kw)
    before = _expression_struct(kind, "x", "n", (0.95, 0.998), multiplier, **kw)
    got = odd_counts.select(ours.alias("s"))
    want = odd_counts.select(before.alias("s"))
    assert got["s"].is_null().equals(want["s"].is_null())
    _same_bits(got.unnest("s"), want.unnest("s"))
    _same_bits(odd_counts.lazy().select(ours.struct.unnest()).collect(), want.unnest("s"))


def test_struct_builders_give_the_expressions_bits_on_valid_counts():
    rng = np.random.default_rng(12)
    n = rng.integers(1, 5000, 80_000).astype(float)
    x = rng.binomial(n.astype(np.int64), 0.3).astype(float)
    x[:50], x[50:100] = 0.0, n[50:100]
    df = pl.DataFrame({"x": x, "n": n})
    for kind in _BUILDERS:
        for confidence in (0.95, (0.9, 0.95, 0.998)):
            got = df.select(_BUILDERS[kind]("x", "n", confidence).struct.unnest())
            _same_bits(
                got,
                df.select(_expression_struct(kind, "x", "n", confidence, 100000.0 if kind == "byar" else 1.0).struct.unnest()),
            )


def test_unnested_clopper_pearson_computes_each_limit_once(monkeypatch):
    import scipy.special

    seen = []
    real = scipy.special.betaincinv

    def counting(a, b, y):
        seen.append(np.size(a))
        return real(a, b, y)

    monkeypatch.setattr(scipy.special, "betaincinv", counting)
    df = pl.DataFrame({"x": np.arange(1000.0) % 40, "n": np.full(1000, 50.0)})
    df.select(iv.clopper_pearson_ci("x", "n", (0.95, 0.998)).struct.unnest())
    assert sum(seen) == 4 * 1000  # four limits, each computed once per row
    seen.clear()
    df.lazy().with_columns(iv.clopper_pearson_ci("x", "n", (0.95, 0.998)).struct.unnest()).collect()
    assert sum(seen) == 4 * 1000
