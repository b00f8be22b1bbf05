from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from publicservices import DataError, Dataset, Indicator

A = Indicator(
    id="health.a", title="A & B <x>", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
)
B = Indicator(id="schools.b", title="B", sector="schools", measure="mean")


@pytest.fixture
def dataset():
    values = pl.DataFrame(
        {
            "indicator_id": ["health.a"] * 4 + ["schools.b"] * 2,
            "area_code": ["A1", "A2", "A1", "A2", "A1", "A2"],
            "period": ["2021/22", "2021/22", "2022/23", "2022/23", "2022/23", "2022/23"],
            "numerator": [1.0, 2.0, 3.0, 4.0, None, None],
            "denominator": [10.0, 10.0, 10.0, 10.0, None, None],
            "value": [None, None, None, None, 47.5, 51.0],
        }
    )
    areas = pl.DataFrame({"area_code": ["A1", "A2"], "area_name": ["Alpha", "Beta"], "population": [1000, 2000]})
    spend = pl.DataFrame({"area_code": ["A1", "A2"], "period": ["2022/23"] * 2, "service": ["health"] * 2, "spend": [1e6, 2e6]})
    truth = {"tau2": {"health.a": 0.01}, "rates": pl.DataFrame({"area_code": ["A1"], "rate": [0.1]})}
    return Dataset(values, areas, spend, [A, B], truth=truth, metadata={"title": "t", "synthetic": True})


def test_views(dataset):
    assert dataset.periods == ["2021/22", "2022/23"]
    assert dataset.sectors == ["health", "schools"]
    assert "Synthetic dataset: 2 indicators, 2 areas, 2 periods" in repr(dataset)


def test_round_trip_exactly(dataset, tmp_path):
    back = Dataset.from_dir(dataset.to_dir(tmp_path / "ds"))
    assert_frame_equal(back.values, dataset.values)
    assert_frame_equal(back.areas, dataset.areas)
    assert_frame_equal(back.spend, dataset.spend)
    assert back.indicators == dataset.indicators
    assert back.metadata == dataset.metadata
    assert back.truth["tau2"] == dataset.truth["tau2"]
    assert_frame_equal(back.truth["rates"], dataset.truth["rates"])


def test_filter(dataset):
    health = dataset.filter(sector="health")
    assert list(health.indicators) == ["health.a"] and health.values.height == 4 and health.spend.height == 2
    assert dataset.filter(periods="2022/23").periods == ["2022/23"]
    assert dataset.filter(areas=["A1"]).areas.height == 1
    assert dataset.filter(sector="schools").spend.height == 0
    with pytest.raises(DataError, match="unknown sector"):
        dataset.filter(sector="police")
    with pytest.raises(DataError, match="unknown area"):
        dataset.filter(areas="Z9")


def test_unknown_indicator_is_refused():
    with pytest.raises(DataError, match="unknown indicator id"):
        Dataset(pl.DataFrame({"indicator_id": ["nobody.x"], "area_code": ["A"], "period": ["2020"]}), indicators=[])


def test_value_areas_must_be_known():
    values = pl.DataFrame({"indicator_id": ["schools.b"], "area_code": ["A9"], "period": ["2020"], "value": [1.0]})
    with pytest.raises(DataError, match="absent from the areas frame"):
        Dataset(values, areas=pl.DataFrame({"area_code": ["A1"]}), indicators=[B])


def test_html_escapes_titles(dataset):
    html = dataset._repr_html_()
    assert "A &amp; B &lt;x&gt;" in html and "<x>" not in html
