"""The light chart builder makes exactly the Vega-Lite that Altair makes, and it is valid Vega-Lite.

A site's charts are drawn with :mod:`publicservices.charts._lite` inside ``detached_data()``;
notebooks get Altair. Here every chart kind of every result, and every chart a published site
draws, is made both ways and compared, and each kind is validated against the Vega-Lite schema
once: the site build itself never validates.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import publicservices as ps
from publicservices.charts import _lite, chart_spec, country_chart, detached_data
from publicservices.charts._common import ALTAIR_ENV
from publicservices.errors import OptionError
from publicservices.site import publish
from publicservices.site.sample import sample_dataset
from publicservices.stats import compare_countries


def both_ways(make: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The chart ``make()`` builds, as a spec with the light builder and with Altair, and the light chart."""
    with detached_data():
        chart = make()
        light = chart_spec(chart)
    monkeypatch.setenv(ALTAIR_ENV, "1")
    with detached_data():
        heavy = chart_spec(make())
    monkeypatch.delenv(ALTAIR_ENV)
    heavy.pop("$schema")
    return light, heavy, chart


def validate(spec: dict[str, Any]) -> None:
    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema import SCHEMA_URL
    from altair.vegalite.v6.schema.core import load_schema

    validate_jsonschema({**spec, "$schema": SCHEMA_URL}, load_schema())


@pytest.fixture(scope="module")
def demo():
    return ps.demo()


@pytest.fixture(scope="module")
def results(demo):
    health = [i for i in demo.indicators if i.startswith("health.")]
    directionless = next(i for i, ind in demo.indicators.items() if ind.polarity == "no_judgement")
    out = ps.compare(demo)
    latest = out.frame.filter(pl.col("indicator_id") == health[0])
    latest = latest.filter(pl.col("period") == latest.get_column("period").max())
    return {
        "outcomes": (out, [{"indicator": health[0]}, {"indicator": directionless}]),
        "funnel": (ps.funnel_check(latest, demo.indicators[health[0]], dataset=demo), [{}]),
        "ranking": (ps.rank_areas(latest, demo.indicators[health[0]], dataset=demo, n_sims=200), [{}]),
        "fairness": (ps.postcode_lottery(demo, health[:3]), [{"indicator": health[1]}]),
        "value": (ps.spend_vs_outcome(demo, health[0]), [{}]),
        "report cards": (ps.grade_areas(demo), [{}]),
        "profile": (ps.area_profile(demo, latest.get_column("area_code")[0]), [{}]),
    }


def test_every_chart_kind_of_every_result_is_the_same_both_ways_and_valid(results, monkeypatch):
    drawn = 0
    for name, (result, option_sets) in results.items():
        for kind in result.chart_kinds():
            accepted = inspect.signature(getattr(result, f"_chart_{kind}")).parameters
            for given in option_sets:
                options = {k: v for k, v in given.items() if k in accepted}
                light, heavy, _ = both_ways(lambda r=result, k=kind, o=options: r.chart(k, **o), monkeypatch)
                assert light == heavy, f"{name}.chart({kind!r}, **{options}) differs from Altair's"
                validate(light)
                drawn += 1
    assert drawn >= 12


def test_a_choropleth_and_a_country_chart_are_the_same_both_ways(monkeypatch):
    geo = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"areacd": code}, "geometry": {"type": "Point", "coordinates": [i, i]}}
            for i, code in enumerate(["E1", "E2"])
        ],
    }
    frame = pl.DataFrame({"area_code": ["E1", "E2"], "value": [3.0, 4.0], "comparison_95": ["better", "worse"]})
    from publicservices.charts import choropleth

    for make in (
        lambda: choropleth(frame, geo, key="areacd"),
        lambda: choropleth(frame, geometry_url="geo.json", key="areacd", feature="lad"),
    ):
        light, heavy, _ = both_ways(make, monkeypatch)
        assert light == heavy
        validate(light)
    values = pl.DataFrame(
        {
            "indicator_id": ["x"] * 3,
            "area_code": ["A", "B", "C"],
            "period": ["2022"] * 3,
            "value": [500.0, 490.0, 499.0],
            "standard_error": [3.0, 4.0, 3.0],
        }
    )
    light, heavy, _ = both_ways(lambda: country_chart(compare_countries(values, "A")), monkeypatch)
    assert light == heavy
    validate(light)


SPEC_LINE = re.compile(r'^\(window\.PS_SPECS = window\.PS_SPECS \|\| \{\}\)\["([^"]+)"\] = (.*);$', re.MULTILINE)


def chart_scripts(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted((root / "docs" / "charts").rglob("*.js"))
    }


def test_a_sites_charts_are_byte_for_byte_those_altair_draws(tmp_path, monkeypatch):
    data = sample_dataset(n_areas=40, n_periods=3, seed=3)
    publish(data, tmp_path / "light", generate_only=True)
    monkeypatch.setenv(ALTAIR_ENV, "1")
    publish(data, tmp_path / "altair", generate_only=True)
    light, heavy = chart_scripts(tmp_path / "light"), chart_scripts(tmp_path / "altair")
    assert light.keys() == heavy.keys() and len(light) >= 5
    specs = 0
    for name, text in light.items():
        assert text == heavy[name], f"{name} differs from the chart Altair draws"
        for _, spec in SPEC_LINE.findall(text):
            specs += 1
            validate(json.loads(spec))
    assert specs >= 10


def test_a_site_build_does_not_import_altair_or_scipy_stats(tmp_path):
    import subprocess

    code = (
        "import sys; from publicservices.site import publish; from publicservices.site.sample import sample_dataset;"
        f"publish(sample_dataset(n_areas=12, n_periods=2), {str(tmp_path / 's')!r}, generate_only=True);"
        "print(sorted(m for m in ('altair', 'jsonschema', 'scipy.stats') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# -- the builder's own rules, against Altair's ---------------------------------------------------------


@pytest.mark.parametrize(
    "shorthand",
    [
        "value",
        "value:Q",
        "area_name:N",
        "year:O",
        "when:T",
        "shape:G",
        "lower_95:quantitative",
        "sum(x):Q",
        "count()",
        "month(d)",
        "a b:N",
    ],
)
def test_shorthand_is_parsed_as_altair_parses_it(shorthand):
    from altair.utils import parse_shorthand

    assert _lite.parse_shorthand(shorthand) == parse_shorthand(shorthand)


def test_layers_lift_shared_data_and_sizes_and_inline_values_become_named_datasets(monkeypatch):
    def make():
        from publicservices.charts._common import vega

        alt = vega()
        rows = alt.InlineData(values=[{"a": 1, "b": 2}])
        base = alt.Chart(rows).encode(y=alt.Y("a:Q", axis=None))
        left = alt.layer(
            base.mark_rule(color="grey").encode(x="a:Q", x2="b:Q").properties(width=100),
            base.mark_point(size=9).encode(x=alt.X("b:Q", scale=alt.Scale(zero=False)), color=alt.value("red")),
            alt.Chart(alt.InlineData(values=[{"c": 3}])).mark_text().encode(text=alt.Text("c:Q", format=".0f")),
        )
        cond = alt.Chart(rows).mark_point().encode(color=alt.condition("datum.a > 1", alt.Color("a:N"), alt.value("grey")))
        return alt.hconcat(left, cond, spacing=8).resolve_scale(y="shared").properties(title=alt.TitleParams("T", anchor="start"))

    def shared():
        from publicservices.charts._common import vega

        alt = vega()
        base = alt.Chart(alt.InlineData(values=[{"a": 1}])).encode(x="a:Q")
        return alt.layer(base.mark_rule(), base.mark_point().properties(height=50))

    light, heavy, _ = both_ways(make, monkeypatch)
    assert light == heavy
    assert light["hconcat"][0]["width"] == 100 and "width" not in light["hconcat"][0]["layer"][0]
    assert len(light["datasets"]) == 2 and light["hconcat"][1]["data"]["name"] in light["datasets"]
    light, heavy, _ = both_ways(shared, monkeypatch)
    assert light == heavy
    assert light["height"] == 50 and light["data"]["name"] in light["datasets"]
    assert all("data" not in part and "height" not in part for part in light["layer"])


def test_layers_with_different_sizes_are_refused_as_altair_refuses_them():
    with detached_data():
        chart = _lite.Chart().mark_point()
        with pytest.raises(OptionError, match="inconsistent values"):
            _lite.layer(chart.properties(width=1), chart.properties(width=2))


def test_numpy_values_are_written_as_altair_writes_them():
    import numpy as np
    from altair import Axis
    from altair.utils.schemapi import debug_mode

    for v in (np.array([1, 2]), np.int64(3), np.float32(1.5), np.array([[1.5]])):
        with debug_mode(False):
            assert _lite.Axis(tickCount=v).to_dict() == Axis(tickCount=v).to_dict(validate=False)
