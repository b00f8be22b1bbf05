"""An attacker's view of the published site: no hidden cell comes back from anything published.

Small counts are hidden before any statistic is computed, so the change since the previous
period, the trend, the ranks and the benchmark never rest on a hidden number. The attack:
for every hidden cell, try value(next period) - change(next period), and the count that a
published proportion implies from its denominator; require nothing recovered.
"""

from __future__ import annotations

import polars as pl

from publicservices.site.model import build_model
from publicservices.site.sample import sample_dataset

THRESHOLD = 5


def _truth_and_model(n_areas: int = 40, n_periods: int = 4, seed: int = 3):
    data = sample_dataset(n_areas=n_areas, n_periods=n_periods, seed=seed)
    return data, build_model(data, suppress_threshold=THRESHOLD)


def test_no_hidden_cell_is_recovered_from_changes_or_values():
    data, model = _truth_and_model()
    results = model.results
    hidden = results.filter(pl.col("suppressed").is_not_null())
    assert hidden.height > 0, "the sample must plant small counts for this test to mean anything"
    # the attacker is even given the true denominators (they are often published elsewhere)
    multipliers = {i: ind.multiplier for i, ind in data.indicators.items()}
    truth = data.values.select(
        "indicator_id",
        "area_code",
        "period",
        pl.col("numerator").alias("true_numerator"),
        pl.col("denominator").alias("true_denominator"),
        pl.col("indicator_id").replace_strict(multipliers).alias("multiplier"),
    )
    ordered = results.sort("indicator_id", "area_code", "period_start").with_columns(
        pl.col("value").shift(-1).over("indicator_id", "area_code").alias("next_value"),
        pl.col("yoy_change").shift(-1).over("indicator_id", "area_code").alias("next_change"),
    )
    attack = ordered.filter(pl.col("suppressed").is_not_null()).join(truth, on=["indicator_id", "area_code", "period"])
    guess = (pl.col("next_value") - pl.col("next_change")) * pl.col("true_denominator") / pl.col("multiplier")
    recovered = attack.filter((guess - pl.col("true_numerator")).abs() < 1e-6)
    assert recovered.height == 0, recovered.select("indicator_id", "area_code", "period").rows()[:5]
    # and every figure of a hidden row is blank
    for column in ("numerator", "denominator", "value", "lower_95", "upper_95", "yoy_change", "z", "p_value"):
        if column in hidden.columns:
            assert hidden.get_column(column).null_count() == hidden.height, column
    assert set(hidden["suppressed"].unique()) == {"hidden"}  # one neutral label, never the reason


def test_no_published_count_or_complement_is_small():
    _, model = _truth_and_model(seed=5)
    shown = model.results.filter(pl.col("suppressed").is_null() & pl.col("numerator").is_not_null())
    measures = {cid: ind.measure for cid, ind in model.indicators.items()}
    shown = shown.with_columns(pl.col("indicator_id").replace_strict(measures).alias("measure"))
    small = shown.filter((pl.col("numerator") > 0) & (pl.col("numerator") < THRESHOLD) & (pl.col("measure") != "mean"))
    complement = shown.filter(
        (pl.col("measure") == "proportion")
        & (pl.col("denominator") - pl.col("numerator") > 0)
        & (pl.col("denominator") - pl.col("numerator") < THRESHOLD)
    )
    assert small.height == 0 and complement.height == 0


def test_a_county_minus_its_visible_districts_reveals_no_hidden_district():
    """Overlapping geographies: the county is compared with upper-tier areas, its districts with
    lower-tier ones; subtracting the visible districts from the county must not give a hidden one."""
    import numpy as np

    from publicservices.dataset import Dataset
    from publicservices.indicators import Indicator

    ind = Indicator(
        id="health.screen", title="Screening", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    lancashire = [f"E070001{n}" for n in range(17, 29)]  # the twelve Lancashire districts
    unitaries = ["E06000008", "E06000009", "E08000003", "E08000012"]
    rng = np.random.default_rng(7)
    den = {c: float(rng.integers(200, 900)) for c in lancashire + unitaries}
    num = {c: float(rng.integers(20, 150)) for c in den}
    num[lancashire[3]] = 2.0  # one small count among the districts
    for i, c in enumerate(unitaries):  # the region's smallest other cells are outside the county
        num[c] = 6.0 + i
    num["E10000017"], den["E10000017"] = sum(num[c] for c in lancashire), sum(den[c] for c in lancashire)
    codes = [*den, "E92000001"]
    num["E92000001"], den["E92000001"] = sum(num.values()), sum(den.values())
    values = pl.DataFrame(
        {
            "indicator_id": "health.screen",
            "area_code": codes,
            "period": "2023",
            "numerator": [num[c] for c in codes],
            "denominator": [den[c] for c in codes],
        }
    )
    model = build_model(Dataset(values, indicators=[ind]), suppress_threshold=THRESHOLD)
    rows = model.results.filter(pl.col("period") == "2023")
    shown = dict(rows.filter(pl.col("suppressed").is_null()).select("area_code", "numerator").unique().iter_rows())
    hidden = set(rows.filter(pl.col("suppressed").is_not_null())["area_code"].to_list())
    assert lancashire[3] in hidden
    family = ["E10000017", *lancashire]
    unknown = [c for c in family if c not in shown]
    # with the county's total and all but one district visible, the last would follow
    assert len(unknown) != 1 and not (len(unknown) >= 1 and "E10000017" in shown and len(unknown) == 1)
    if "E10000017" in shown:
        assert len([c for c in lancashire if c not in shown]) >= 2
