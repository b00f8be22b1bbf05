"""Small-number suppression: small counts, small complements, small cohorts, secondary cells,
one neutral label, and never a hidden cell an attacker can work out from the totals."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from publicservices.errors import DataError, SchemaError
from publicservices.stats.disclosure import suppress


def _hidden(out: pl.DataFrame) -> list[bool]:
    return out.get_column("suppressed").is_not_null().to_list()


def _report(report: pl.DataFrame) -> dict[str, int]:
    return dict(report.select("reason", "rows").iter_rows())


def test_primary_range_and_zero_policy():
    f = pl.DataFrame({"numerator": [0.0, 1.0, 4.0, 4.5, 5.0, None]})
    out, report = suppress(f)
    assert out.get_column("suppressed").to_list() == [None, "hidden", "hidden", "hidden", None, None]
    assert out.get_column("numerator").to_list() == [0.0, None, None, None, 5.0, None]
    out, _ = suppress(f, suppress_zero=True)
    assert out.get_column("suppressed").to_list()[0] == "hidden"
    out, _ = suppress(f, threshold=10)
    assert out.get_column("suppressed").to_list()[4] == "hidden"
    rows = _report(report)
    assert rows["primary"] == 3 and rows["small count"] == 3 and rows["secondary"] == 0


def test_small_complement_of_a_proportion_is_hidden():
    # 2,246 of 2,247 seen within 4 hours names the one who was not
    f = pl.DataFrame(
        {
            "measure": ["proportion"] * 6 + ["rate", "dsr", "ratio"],
            "numerator": [2246.0, 2243.0, 2242.0, 2247.0, 0.0, 600.0, 2246.0, 2246.0, 2246.0],
            "denominator": [2247.0] * 9,
            "value": [0.9996, 0.998, 0.998, 1.0, 0.0, 0.27, 99.9, 99.9, 1.0],
        }
    )
    out, report = suppress(f)
    # complement 1 and 4 hidden; 5 shown; a zero complement (all seen) and a zero count shown by default;
    # rates, DSRs and ratios: the population minus the events counts nobody
    assert _hidden(out) == [True, True, False, False, False, False, False, False, False]
    assert out.get_column("value").null_count() == 2 and out.get_column("denominator").null_count() == 0
    rows = _report(report)
    assert rows["small complement"] == 2 and rows["small count"] == 0 and rows["primary"] == 2
    # a zero complement ("all of them") follows suppress_zero, as a zero count does
    out, _ = suppress(f, suppress_zero=True)
    assert _hidden(out)[3] and _hidden(out)[4]
    # complement=False: the old rule only
    out, report = suppress(f, complement=False)
    assert not any(_hidden(out)) and _report(report)["small complement"] == 0
    assert "complement=False" in report.filter(pl.col("reason") == "small complement").get_column("rule").item()


def test_complement_without_a_measure_column_or_denominator():
    # no measure column: every row with numerator <= denominator is taken to be a proportion
    f = pl.DataFrame({"numerator": [48.0, 48.0, 60.0], "denominator": [50.0, 55.0, 50.0]})
    out, _ = suppress(f)
    assert _hidden(out) == [True, False, False]  # 60 of 50 is no proportion: no complement
    out, _ = suppress(f, complement=False)
    assert not any(_hidden(out))
    # no denominator column: nothing to take a complement of
    out, report = suppress(f.drop("denominator"))
    assert not any(_hidden(out))
    assert "no 'denominator' column" in report.filter(pl.col("reason") == "small complement").get_column("rule").item()
    # another name for the denominator; a null measure is treated as a proportion (the careful side)
    g = pl.DataFrame(
        {"measure": [None, "rate"], "numerator": [9.0, 9.0], "pupils": [10.0, 10.0]}, schema_overrides={"measure": pl.String}
    )
    out, _ = suppress(g, denominator="pupils")
    assert _hidden(out) == [True, False]


def test_means_over_a_small_cohort_are_hidden():
    f = pl.DataFrame(
        {
            "measure": ["mean", "score", "mean", "mean", "Mean", "mean"],
            "numerator": [140.0, 3.0, 3.0, -12.5, 50.0, None],  # sums of scores: not counts, may be negative
            "denominator": [2.0, 1.0, 30.0, 25.0, 4.0, None],  # cohort sizes
            "value": [70.0, 3.0, 0.1, -0.5, 12.5, 41.0],
        }
    )
    out, report = suppress(f)
    # cohorts of 2, 1 and 4 hidden; a small *sum* over 30 pupils is not disclosive; a mean without a
    # cohort size cannot be checked
    assert _hidden(out) == [True, True, False, False, True, False]
    assert out.get_column("value").to_list() == [None, None, 0.1, -0.5, None, 41.0]
    rows = _report(report)
    assert rows["small cohort"] == 3 and rows["small count"] == 0
    # negative numerators are refused for counts, allowed for sums of scores
    with pytest.raises(DataError, match="negative"):
        suppress(f.with_columns(pl.lit("proportion").alias("measure")))


def test_one_neutral_label_for_primary_and_secondary():
    f = pl.DataFrame({"g": ["a"] * 4, "numerator": [2.0, 30.0, 40.0, 50.0], "denominator": [100.0] * 4})
    out, report = suppress(f, by="g")
    labels = set(out.get_column("suppressed").drop_nulls().to_list())
    assert labels == {"hidden"}
    assert _hidden(out) == [True, True, False, False]
    rows = _report(report)
    assert rows["primary"] == 1 and rows["secondary"] == 1  # the detail stays in the (internal) report


def test_secondary_picks_next_smallest_non_zero_and_masks_derived_columns():
    f = pl.DataFrame(
        {
            "region": ["R"] * 5,
            "area_code": list("ABCDE"),
            "numerator": [3.0, 0.0, 9.0, 7.0, 50.0],
            "denominator": [100.0] * 5,
            "value": [3.0, 0.0, 9.0, 7.0, 50.0],
            "lower_95": [1.0] * 5,
            "upper_95": [8.0] * 5,
        }
    )
    out, report = suppress(f, by="region")
    assert _hidden(out) == [True, False, False, True, False]
    hidden = out.filter(pl.col("suppressed").is_not_null())
    assert hidden.select("numerator", "value", "lower_95", "upper_95").null_count().row(0) == (2, 2, 2, 2)
    # denominators and keys survive; no row dropped
    assert out.height == 5 and out.get_column("denominator").null_count() == 0
    assert out.get_column("area_code").to_list() == list("ABCDE")
    assert _report(report)["secondary"] == 1


def test_secondary_protects_a_small_complement():
    # the region total (numerator and denominator) minus the shown areas would give 2,246 of 2,247 back
    f = pl.DataFrame(
        {
            "region": ["R"] * 4,
            "measure": ["proportion"] * 4,
            "numerator": [2246.0, 300.0, 120.0, 800.0],
            "denominator": [2247.0, 400.0, 150.0, 1000.0],
        }
    )
    out, report = suppress(f, by="region")
    assert _hidden(out) == [True, False, True, False]  # the next smallest numerator, 120 of 150
    assert _report(report)["secondary"] == 1


def test_full_cells_do_not_protect_each_other():
    # 3 of 3 and 4 of 4 hidden: the total 7 of 7 pins both, so a third cell must go too
    f = pl.DataFrame({"g": ["a"] * 4, "numerator": [3.0, 4.0, 50.0, 70.0], "denominator": [3.0, 4.0, 100.0, 90.0]})
    out, _ = suppress(f, by="g")
    assert _hidden(out) == [True, True, True, False]
    # a full cell is picked only after cells with a non-zero numerator and complement
    g = pl.DataFrame({"g": ["a"] * 3, "numerator": [2.0, 10.0, 20.0], "denominator": [50.0, 10.0, 30.0]})
    out, _ = suppress(g, by="g")
    assert _hidden(out) == [True, False, True]


def test_zero_denominators_protect_nothing():
    # 0 of 0 is pinned at 0: hiding it would not protect the 3, so it is left and the cell reported
    f = pl.DataFrame(
        {"g": ["a", "a", "b", "b", "b"], "numerator": [3.0, 0.0, 3.0, 0.0, 20.0], "denominator": [30.0, 0.0, 30.0, 0.0, 40.0]}
    )
    out, report = suppress(f, by="g")
    assert _hidden(out) == [True, False, True, False, True]
    row = report.filter(pl.col("reason") == "unprotected").row(0, named=True)
    assert row["rows"] == 1 and row["groups"] == 1


def test_two_zero_counts_do_not_protect_each_other():
    # with suppress_zero two hidden zeros sum to a published 0: both would be known
    f = pl.DataFrame({"g": ["a"] * 3, "numerator": [0.0, 0.0, 20.0]})
    out, _ = suppress(f, by="g", suppress_zero=True)
    assert _hidden(out) == [True, True, True]


def test_two_hidden_cells_need_no_secondary_and_missing_counts_protect():
    f = pl.DataFrame({"g": ["a"] * 4, "numerator": [2.0, 3.0, 10.0, 20.0]})
    out, _ = suppress(f, by="g")
    assert _hidden(out) == [True, True, False, False]
    g = pl.DataFrame({"g": ["a"] * 3, "numerator": [2.0, None, 20.0]})
    out, report = suppress(g, by="g")
    assert _hidden(out) == [True, False, False] and _report(report)["secondary"] == 0
    # ... but not a missing count whose value is shown (the value may give the count back): it is a
    # visible cell, so another is hidden to protect the 2
    h = g.with_columns(pl.Series("value", [0.2, 0.5, 2.0]))
    out, _ = suppress(h, by="g")
    assert _hidden(out) == [True, False, True]


def test_lone_cell_group_is_reported_unprotected():
    f = pl.DataFrame({"g": ["a", "b", "b"], "numerator": [2.0, 30.0, 40.0]})
    out, report = suppress(f, by="g")
    row = report.filter(pl.col("reason") == "unprotected").row(0, named=True)
    assert row["rows"] == 1 and row["groups"] == 1 and "total" in row["rule"]


def test_two_way_table_margins_settle():
    # rows r1..r3 x columns c1..c3; both margins published
    cells = {
        ("r1", "c1"): 2.0,
        ("r1", "c2"): 20.0,
        ("r1", "c3"): 30.0,
        ("r2", "c1"): 25.0,
        ("r2", "c2"): 26.0,
        ("r2", "c3"): 27.0,
        ("r3", "c1"): 40.0,
        ("r3", "c2"): 41.0,
        ("r3", "c3"): 42.0,
    }
    f = pl.DataFrame({"r": [k[0] for k in cells], "c": [k[1] for k in cells], "numerator": list(cells.values())})
    out, _ = suppress(f, by=[["r"], ["c"]])
    hidden = out.with_columns(pl.col("suppressed").is_not_null().alias("h"))
    for margin in ("r", "c"):
        per = hidden.group_by(margin).agg(pl.col("h").sum())
        assert not (per.get_column("h") == 1).any()
    assert hidden.get_column("h").sum() == 4  # the classic rectangle


def test_errors():
    f = pl.DataFrame({"g": ["a"], "numerator": [-1.0]})
    with pytest.raises(DataError, match="negative"):
        suppress(f)
    with pytest.raises(SchemaError, match="positive number"):
        suppress(f, threshold=0)
    with pytest.raises(SchemaError, match="'count'"):
        suppress(f, total_cols="count")
    with pytest.raises(DataError, match="'denominator' is negative"):
        suppress(pl.DataFrame({"numerator": [1.0], "denominator": [-3.0]}))
    with pytest.raises(SchemaError, match="'denominator' holds"):
        suppress(pl.DataFrame({"numerator": [1.0], "denominator": ["ten"]}))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.one_of(st.none(), st.integers(0, 12).map(float))), min_size=1, max_size=30),
    st.sampled_from([3, 5, 10]),
    st.booleans(),
)
def test_property_no_recoverable_single_cell(rows, threshold, zero):
    f = pl.DataFrame(
        {"g": [r[0] for r in rows], "numerator": [r[1] for r in rows]}, schema={"g": pl.String, "numerator": pl.Float64}
    )
    out, report = suppress(f, threshold, by="g", suppress_zero=zero)
    assert out.height == f.height
    hidden = out.with_columns(pl.col("numerator").is_null().alias("h"))
    per = hidden.group_by("g").agg(pl.col("h").sum().alias("k"), pl.len().alias("n"))
    # a group of two or more never has exactly one hidden cell
    assert per.filter((pl.col("n") >= 2) & (pl.col("k") == 1)).height == 0
    # every small count is hidden; visible counts are never small
    low = 0 if zero else 1
    visible = out.get_column("numerator").drop_nulls()
    assert not ((visible >= low) & (visible < threshold)).any()
    # the report matches the label column
    rows_ = _report(report)
    assert rows_["primary"] + rows_["secondary"] == out.get_column("suppressed").is_not_null().sum()
    assert set(out.get_column("suppressed").drop_nulls().to_list()) <= {"hidden"}


# -- the attacker ---------------------------------------------------------------------------

_GROUPINGS = [["indicator", "region"], ["indicator"]]  # areas within regions; regions within the country


@st.composite
def _frames(draw):
    """Indicators (proportions or rates) over 1-3 regions of 2-6 areas, with counts drawn to hit the
    edges: small counts, small complements, zeros, full cells, empty (0 of 0) areas. Each region has
    one area that is safe to show, so every group can be protected and every total published."""
    threshold = draw(st.sampled_from([3, 5, 10]))
    rows = []
    for i, measure in enumerate(draw(st.lists(st.sampled_from(["proportion", "rate", "dsr"]), min_size=1, max_size=2))):
        for r in range(draw(st.integers(1, 3))):
            n = draw(st.integers(2, 6))
            safe = draw(st.integers(0, n - 1))
            for a in range(n):
                if a == safe:
                    den = draw(st.integers(2 * threshold, 3000))
                    num = (
                        draw(st.integers(threshold, den - threshold))
                        if measure == "proportion"
                        else draw(st.integers(threshold, 2 * den))
                    )
                else:
                    den = draw(st.one_of(st.just(0), st.integers(1, 40), st.integers(1000, 3000)))
                    kind = draw(st.sampled_from(["small", "complement", "zero", "full", "any"]))
                    pick = {
                        "small": min(den, draw(st.integers(1, threshold - 1))),
                        "complement": max(0, den - draw(st.integers(1, threshold - 1))),
                        "zero": 0,
                        "full": den,
                        "any": draw(st.integers(0, den)),
                    }[kind]
                    num = pick if measure == "proportion" or den == 0 else draw(st.sampled_from([pick, 2 * den]))
                rows.append((f"i{i}", measure, f"r{r}", f"i{i}r{r}a{a}", float(num), float(den)))
    frame = pl.DataFrame(rows, schema=["indicator", "measure", "region", "area_code", "numerator", "denominator"], orient="row")
    return frame.with_columns((pl.col("numerator") / pl.col("denominator")).fill_nan(None).alias("value")), threshold


def _published_totals(truth: pl.DataFrame) -> list[tuple[list[int], float, float]]:
    """Each group total as a parent row would publish it: (row ids, numerator total, denominator total)."""
    out = []
    for g in _GROUPINGS:
        for ids, num, den in (
            truth.group_by(g)
            .agg(pl.col("_id"), pl.col("numerator").sum(), pl.col("denominator").sum())
            .select("_id", "numerator", "denominator")
            .iter_rows()
        ):
            out.append((ids, num, den))
    return out


def _subtraction_attack(truth: pl.DataFrame, out: pl.DataFrame) -> dict[int, tuple[float, float]]:
    """Recover hidden numerators and complements as total minus the published (or already recovered)
    cells of a group, repeating until nothing more falls out."""
    den = dict(zip(out.get_column("_id").to_list(), out.get_column("denominator").to_list(), strict=True))
    num = {
        i: v for i, v in zip(out.get_column("_id").to_list(), out.get_column("numerator").to_list(), strict=True) if v is not None
    }
    comp = {i: den[i] - v for i, v in num.items()}
    visible = set(num)
    totals = _published_totals(truth)
    changed = True
    while changed:
        changed = False
        for ids, t_num, t_den in totals:
            for known, total in ((num, t_num), (comp, t_den - t_num)):
                unknown = [i for i in ids if i not in known]
                if len(unknown) == 1:
                    known[unknown[0]] = total - sum(known[i] for i in ids if i in known)
                    changed = True
            for i in ids:  # a numerator gives the complement (the denominator is shown) and back
                if i in num and i not in comp:
                    comp[i], changed = den[i] - num[i], True
                if i in comp and i not in num:
                    num[i], changed = den[i] - comp[i], True
    return {i: (num[i], comp[i]) for i in num if i not in visible}


def _bounds_attack(truth: pl.DataFrame, out: pl.DataFrame) -> dict[int, tuple[float, float]]:
    """The strongest attacker of the totals: the least and greatest numerator of each hidden cell
    consistent with every published total and 0 <= numerator (<= denominator for a proportion)."""
    hidden = out.filter(pl.col("numerator").is_null())
    ids = hidden.get_column("_id").to_list()
    if not ids:
        return {}
    col = {i: k for k, i in enumerate(ids)}
    shown = dict(zip(out.get_column("_id").to_list(), out.get_column("numerator").to_list(), strict=True))
    a_eq, b_eq = [], []
    for group, t_num, _ in _published_totals(truth):
        inside = [i for i in group if i in col]
        if inside:
            row = np.zeros(len(ids))
            row[[col[i] for i in inside]] = 1.0
            a_eq.append(row)
            b_eq.append(t_num - sum(shown[i] for i in group if i not in col))
    bounds = [(0.0, d if m == "proportion" else None) for m, d in hidden.select("measure", "denominator").iter_rows()]
    out_bounds = {}
    for i, k in col.items():
        c = np.zeros(len(ids))
        c[k] = 1.0
        low = linprog(c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0 and high.status == 0
        out_bounds[i] = (low.fun, -high.fun)
    return out_bounds


@settings(max_examples=60, deadline=None)
@given(_frames(), st.booleans())
def test_attacker_recovers_no_hidden_cell_from_the_totals(drawn, zero):
    frame, threshold = drawn
    truth = frame.with_row_index("_id")
    out, report = suppress(truth, threshold, by=_GROUPINGS, suppress_zero=zero)
    assert out.height == truth.height and _report(report)["unprotected"] == 0
    low = 0 if zero else 1
    shown = out.filter(pl.col("suppressed").is_null())
    # nothing small is shown: counts, and complements of proportions
    n = shown.get_column("numerator")
    assert not ((n >= low) & (n < threshold)).any()
    props = shown.filter(pl.col("measure") == "proportion")
    c = props.get_column("denominator") - props.get_column("numerator")
    assert not ((c >= low) & (c < threshold)).any()
    assert out.get_column("denominator").equals(truth.get_column("denominator"))
    # subtraction: total minus the shown cells, numerators and complements, within every grouping
    # (0 of 0 -- an area with nobody in it, hidden under suppress_zero -- is known from its shown
    # denominator alone and discloses nobody)
    den = dict(zip(truth.get_column("_id").to_list(), truth.get_column("denominator").to_list(), strict=True))
    recovered = {i: v for i, v in _subtraction_attack(truth, out).items() if den[i] > 0}
    assert recovered == {}, f"recovered by subtraction: {recovered}"
    # bounds: no hidden numerator (hence no complement) is pinned to one value by the totals
    pinned = {i: b for i, b in _bounds_attack(truth, out).items() if b[1] - b[0] < 0.5 and den[i] > 0}
    assert pinned == {}, f"pinned by the totals: {pinned}"


def test_attacker_on_the_worked_complement_case():
    # A&E: 2,246 of 2,247 seen within 4 hours in area A; the region and the country totals published
    truth = pl.DataFrame(
        {
            "indicator": ["ae"] * 5,
            "measure": ["proportion"] * 5,
            "region": ["R1", "R1", "R1", "R2", "R2"],
            "area_code": list("ABCDE"),
            "numerator": [2246.0, 1800.0, 950.0, 3000.0, 2990.0],
            "denominator": [2247.0, 2000.0, 1000.0, 3500.0, 2992.0],
        }
    ).with_row_index("_id")
    out, _ = suppress(truth, by=_GROUPINGS)
    assert _hidden(out) == [True, False, True, True, True]
    assert _subtraction_attack(truth, out) == {}
    assert all(hi - lo >= 1 for lo, hi in _bounds_attack(truth, out).values())


def test_the_attacker_is_not_blind():
    truth = pl.DataFrame(
        {
            "indicator": ["x"] * 4,
            "measure": ["proportion"] * 4,
            "region": ["R"] * 4,
            "numerator": [3.0, 4.0, 50.0, 70.0],
            "denominator": [3.0, 4.0, 100.0, 90.0],
        }
    ).with_row_index("_id")
    # without secondary suppression a lone hidden cell falls to subtraction; two hidden full cells
    # (3 of 3, 4 of 4) survive subtraction but are pinned by the bounds 0 <= numerator <= denominator
    lone, _ = suppress(truth.filter(pl.col("_id") != 1), by=None)
    assert set(_subtraction_attack(truth.filter(pl.col("_id") != 1), lone)) == {0}
    naive = truth.with_columns(pl.when(pl.col("_id") < 2).then(None).otherwise(pl.col("numerator")).alias("numerator"))
    assert {i for i, (lo, hi) in _bounds_attack(truth, naive).items() if hi - lo < 0.5} == {0, 1}
    assert _subtraction_attack(truth, naive) == {}
