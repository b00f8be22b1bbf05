"""Charts: every spec validates and renders to SVG, embeds only what it draws, and says what it shows."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from publicservices import charts
from publicservices.display import PALETTE
from publicservices.errors import DataError, SchemaError
from publicservices.hookspecs import hookimpl
from publicservices.indicators import Indicator
from publicservices.plugins import PluginRegistry

SCREEN = Indicator(
    id="health.screen",
    title="Screening uptake",
    sector="health",
    measure="proportion",
    multiplier=100,
    polarity="higher_is_better",
    unit="%",
    floor=70.0,
)
DEATHS = Indicator(
    id="health.deaths",
    title="Preventable deaths",
    sector="health",
    measure="rate",
    multiplier=100000,
    polarity="lower_is_better",
    unit="per 100,000",
)
VISITS = Indicator(
    id="health.visits",
    title="Visits",
    sector="health",
    measure="rate",
    multiplier=1000,
    polarity="no_judgement",
    unit="per 1,000",
)


class _DemoPlugin:
    """A small, fixed sector so chart tests do not depend on the real plugins' models."""

    @hookimpl
    def publicservices_indicators(self, register):
        for ind in (SCREEN, DEATHS, VISITS):
            register(ind)

    @hookimpl
    def publicservices_demo_data(self, register):
        from publicservices.synthetic.model import Model, simulate

        specs = [
            (
                SCREEN,
                Model(
                    baseline=72.0,
                    trend=0.02,
                    tau=0.15,
                    gradient=-0.2,
                    spend=0.3,
                    efficiency=0.25,
                    denominator_per_head=0.01,
                    service="health",
                ),
            ),
            (
                DEATHS,
                Model(
                    baseline=140.0,
                    trend=-0.02,
                    tau=0.12,
                    gradient=0.25,
                    spend=0.1,
                    efficiency=0.1,
                    denominator_per_head=1.0,
                    service="health",
                ),
            ),
            (VISITS, Model(baseline=300.0, trend=0.01, tau=0.1, gradient=0.1, denominator_per_head=1.0, service="health")),
        ]
        register("health", lambda nation: simulate(nation, specs))


@pytest.fixture(scope="module")
def dataset():
    from publicservices.synthetic import demo

    registry = PluginRegistry(entry_points=False, defaults=False)
    registry.register(_DemoPlugin(), name="chart-test-demo")
    return demo(seed=3, registry=registry)


@pytest.fixture(scope="module")
def outcomes(dataset):
    from publicservices.results import compare

    return compare(dataset, all_periods=True)


def render(chart) -> dict:
    """Validate the Vega-Lite spec and render it to SVG; return the spec."""
    import vl_convert

    spec = chart.to_dict(validate=True)
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
    return spec


def datasets_of(spec: dict) -> list[list[dict]]:
    return [v for v in spec.get("datasets", {}).values() if isinstance(v, list)]


def meta(spec: dict) -> dict:
    return spec["usermeta"]["publicservices"]


# -- every chart -----------------------------------------------------------------------------


def test_funnel_plot(dataset):
    from publicservices.results import funnel_check

    result = funnel_check(dataset, "health.screen")
    spec = render(result.chart())
    assert meta(spec)["kind"] == "funnel" and meta(spec)["indicator_id"] == "health.screen"
    text = spec["description"]
    assert "Funnel plot of Screening uptake" in text and "99.8% limits" in text and "95% limits (overdispersed)" in text
    counts = result.frame.get_column("comparison").cast(pl.String).value_counts()
    worse = counts.filter(pl.col("comparison") == "worse (99.8%)").get_column("count").sum()
    assert f"{worse} worse (99.8%)" in text
    assert spec["title"]["text"] == "Screening uptake (upper tier)"  # the set of areas compared is named


def test_funnel_plot_with_overdispersed_limits(dataset):
    from publicservices.results import funnel_check

    result = funnel_check(dataset, "health.deaths", overdispersion="multiplicative")
    spec = render(result.chart())
    lines = {row["line"] for rows in datasets_of(spec) for row in rows if "line" in row}
    assert lines == {"95% limits", "99.8% limits", "95% limits (overdispersed)", "99.8% limits (overdispersed)"}
    assert "overdispersed" in spec["description"]


def test_league_table_with_rank_intervals(dataset):
    from publicservices.results import rank_areas

    result = rank_areas(dataset, "health.screen", n_sims=500)
    spec = render(result.chart())
    assert "hconcat" in spec and meta(spec)["kind"] == "league"
    assert "Rank intervals show the ranks" in spec["description"]
    rows = datasets_of(spec)[0]
    assert {"rank_lower_95", "rank_upper_95", "median_rank"} <= set(rows[0])


def test_league_table_without_rank_intervals_says_so():
    # a DSR without limits ranks no unit (found by tests/test_fuzz.py: a TypeError formatting None)
    f = pl.DataFrame(
        {
            "area_code": ["A", "B"],
            "value": [3.0, 1.0],
            "rank": [1, 2],
            "rank_lower_95": [None, 1.0],
            "rank_upper_95": [None, 2.0],
        },
        schema_overrides={"rank_lower_95": pl.Float64, "rank_upper_95": pl.Float64},
    )
    spec = render(charts.league_table(f, rank="rank", rank_lower="rank_lower_95", rank_upper="rank_upper_95"))
    assert "A, has no rank interval." in spec["description"]
    none = f.with_columns(pl.lit(None, pl.Float64).alias("rank_lower_95"), pl.lit(None, pl.Float64).alias("rank_upper_95"))
    spec = render(charts.league_table(none, rank="rank", rank_lower="rank_lower_95", rank_upper="rank_upper_95"))
    assert "No unit has a rank interval" in spec["description"]


def test_spine_chart_puts_better_on_the_right(outcomes, dataset):
    spec = render(outcomes.chart("spine", area="X06000002"))
    assert meta(spec)["kind"] == "spine" and meta(spec)["indicators"] == 3
    frame = charts.spine_frame(outcomes.frame, "X06000002", dataset.indicators)
    best = frame.select("x_best").to_series()
    worst = frame.select("x_worst").to_series()
    assert (best >= 0.5).all() and (worst <= 0.5).all() and ((frame["x_area"] >= 0) & (frame["x_area"] <= 1)).all()
    deaths = frame.filter(pl.col("indicator_id") == "health.deaths").row(0, named=True)
    assert deaths["best"] <= deaths["worst"]  # lower is better: the best area has the lowest rate


def test_hex_map_of_the_demo_nation(outcomes, dataset):
    spec = render(outcomes.chart("map", indicator="health.screen"))
    collections = [v for v in spec["datasets"].values() if v and isinstance(v[0], dict) and v[0].get("type") == "Feature"]
    assert len(collections) == 1  # one datum per area: a GeoJSON feature
    features = collections[0]
    assert len(features) == dataset.areas.height
    centres = {tuple(f["geometry"]["coordinates"][0][0]) for f in features}
    assert len(centres) == dataset.areas.height  # no two tiles on top of each other
    assert spec["projection"]["type"] == "identity" and spec["projection"]["reflectY"] is True


def test_trend_with_spc_limits_and_signals(outcomes):
    spec = render(outcomes.chart("trend", area="X06000002", indicator="health.screen"))
    rows = datasets_of(spec)[0]
    assert len(rows) == 10 and {"centre", "lower_limit", "upper_limit", "variation"} <= set(rows[0])
    assert spec["description"].startswith("Trend in Screening uptake for ")


def test_gradient_with_sii_line(dataset):
    from publicservices.results import postcode_lottery

    result = postcode_lottery(dataset, "health.screen", repetitions=1000)
    spec = render(result.chart("gradient"))
    sii = result.frame.filter(pl.col("period") == "2023/24").get_column("sii")[0]
    line = next(rows for rows in datasets_of(spec) if rows and "_fit" in rows[0])
    assert line[1]["_fit"] - line[0]["_fit"] == pytest.approx(sii, rel=1e-5)
    assert "slope index of inequality" in spec["description"]


def test_lottery_chart(dataset):
    from publicservices.results import postcode_lottery

    result = postcode_lottery(dataset, repetitions=500)
    spec = render(result.chart())
    assert meta(spec)["kind"] == "lottery" and "Widest: " in spec["description"]


def test_report_card_grades(dataset):
    from publicservices.results import grade_areas

    result = grade_areas(dataset, {"screening": "health.screen", "deaths": "health.deaths"}, n_sims=100)
    spec = render(result.chart())
    assert meta(spec)["kind"] == "report_card" and meta(spec)["areas"] == dataset.areas.height
    grades = result.frame.get_column("grade").cast(pl.String).value_counts()
    assert f"{grades.filter(pl.col('grade') == 'A')['count'][0]} A" in spec["description"]


def test_spend_against_outcome_from_value_for_money(dataset):
    from publicservices.results import spend_vs_outcome

    result = spend_vs_outcome(dataset, "health.screen")
    spec = render(result.chart())
    efficient = result.frame.filter(pl.col("efficient").fill_null(False)).height
    assert efficient >= 1 and f"{efficient} area" in spec["description"]
    assert meta(spec)["kind"] == "frontier" and result.frame.get_column("period").unique().to_list() == ["2023/24"]
    legend = next(
        layer["encoding"]["color"]["scale"]["domain"]
        for layer in spec["layer"]
        if "scale" in layer.get("encoding", {}).get("color", {})
    )
    assert set(legend) <= {"more than expected", "as expected", "less than expected"}


def test_frontier_chart():
    frame = pl.DataFrame(
        {
            "area_code": [f"A{i}" for i in range(8)],
            "spend_per_head": [100.0, 120, 150, 160, 200, 210, 250, 300],
            "value": [60.0, 66, 70, 64, 75, 69, 77, 76],
            "expected": [61.0, 63, 67, 68, 71, 72, 74, 77],
            "value_category": [
                "as expected",
                "more than expected",
                "more than expected",
                "less than expected",
                "more than expected",
                "less than expected",
                "as expected",
                "as expected",
            ],
            "efficient": [True, True, True, False, True, False, True, False],
        }
    )
    spec = render(charts.frontier_chart(frame, indicator=SCREEN))
    frontier = next(rows for rows in datasets_of(spec) if rows and set(rows[0]) == {"x", "y"})
    # straight down from the first efficient area to the worst outcome, flat beyond the last
    assert [r["x"] for r in frontier] == [100.0, 100, 120, 150, 200, 250, 300]
    assert frontier[0]["y"] == 60.0 and frontier[-1]["y"] == frontier[-2]["y"]
    assert "5 areas are on the efficient frontier" in spec["description"]


def test_choropleth_embeds_only_the_areas_drawn():
    topo = _square_topology()
    frame = pl.DataFrame({"area_code": ["A", "B"], "value": [1.0, 2.0], "comparison_95": ["better", "worse"]})
    spec = render(charts.choropleth(frame, topo, feature="squares", key="code", indicator=SCREEN))
    embedded = next(v for v in spec["datasets"].values() if isinstance(v, dict) and v.get("type") == "Topology")
    assert [g["properties"]["code"] for g in embedded["objects"]["squares"]["geometries"]] == ["A", "B"]
    assert len(embedded["arcs"]) < len(topo["arcs"])
    assert "1 better and 1 worse" in spec["description"]


def test_choropleth_references_geometry_by_url():
    frame = pl.DataFrame({"area_code": ["E06000001"], "value": [3.2]})
    spec = charts.choropleth(frame, geometry_url="assets/geo.json", feature="utla").to_dict(validate=True)
    assert spec["data"] == {"url": "assets/geo.json", "format": {"type": "topojson", "feature": "utla"}}
    assert "arcs" not in json.dumps(spec)


def test_choropleth_on_real_uk_boundaries(shared_data):
    path = shared_data("geo_uk_la_topojson_2014_2025.json")
    topo = json.loads(path.read_text(encoding="utf-8"))
    codes = [
        g["properties"]["areacd"]
        for g in topo["objects"]["utla"]["geometries"]
        if g["properties"]["areacd"].startswith("E") and "end" not in g["properties"]
    ]
    frame = pl.DataFrame({"area_code": codes, "value": [float(i % 7) for i in range(len(codes))]})
    spec = render(charts.choropleth(frame, path, feature="utla"))
    assert len(json.dumps(spec)) < len(path.read_bytes())  # cut down to England's upper tier
    assert spec["description"].startswith(f"Map of value for {len(codes)} areas")


# -- scale: thousands of units -----------------------------------------------------------------


def test_funnel_of_7000_practices_embeds_only_what_it_draws():
    import altair as alt
    import numpy as np

    before = (alt.data_transformers.active, dict(alt.data_transformers.options))
    rng = np.random.default_rng(1)
    n = 7000
    size = rng.integers(500, 20000, n).astype(float)
    events = rng.binomial(size.astype(int), 0.3).astype(float)
    values = pl.DataFrame(
        {
            "indicator_id": ["health.screen"] * n,
            "area_code": [f"P{i:05d}" for i in range(n)],
            "period": ["2023/24"] * n,
            "numerator": events,
            "denominator": size,
            "practice_notes": ["x" * 50] * n,
        }
    )  # a wide column the chart must not embed
    from publicservices.results import funnel_check

    chart = funnel_check(values, SCREEN).chart()
    spec = chart.to_dict(validate=True)  # no MaxRowsError
    text = json.dumps(spec)
    assert len(text) < 1_000_000
    assert "practice_notes" not in text and "numerator" not in text
    points = max(datasets_of(spec), key=len)
    # the area's code rides along: the site links each dot to the area's page (issue 18)
    assert len(points) == n and set(points[0]) <= {"_label", "precision", "value", "comparison", "area_code"}
    lines = next(rows for rows in datasets_of(spec) if rows and "line" in rows[0])
    per_line = pl.DataFrame(lines).group_by("line", "side").len().get_column("len")
    assert per_line.max() <= 100
    assert (alt.data_transformers.active, dict(alt.data_transformers.options)) == before


def test_league_table_of_thousands_hides_names_but_keeps_tooltips():
    n = 3000
    frame = pl.DataFrame(
        {
            "area_code": [f"P{i}" for i in range(n)],
            "value": [float(i) for i in range(n)],
            "lower_95": [i - 2.0 for i in range(n)],
            "upper_95": [i + 2.0 for i in range(n)],
            "median_rank": [float(n - i) for i in range(n)],
            "rank_lower_95": [max(1.0, n - i - 50.0) for i in range(n)],
            "rank_upper_95": [min(float(n), n - i + 50.0) for i in range(n)],
        }
    )
    spec = charts.league_table(frame, indicator=SCREEN).to_dict(validate=True)
    assert spec["hconcat"][0]["layer"][0]["encoding"]["y"]["axis"]["labels"] is False
    assert "_label" in json.dumps(spec["hconcat"][0]["layer"][1]["encoding"]["tooltip"])


# -- colours, descriptions, imports ------------------------------------------------------------


def _colour_scale(spec: dict) -> dict:
    for layer in spec.get("layer", [spec]):
        colour = layer.get("encoding", {}).get("color", {})
        if "scale" in colour:
            return colour["scale"]
    raise AssertionError("no colour scale")


def test_colours_follow_polarity():
    frame = pl.DataFrame(
        {
            "area_code": ["A", "B", "C"],
            "denominator": [100.0, 200.0, 300.0],
            "value": [1.0, 2.0, 3.0],
            "comparison_95": ["better", "similar", "worse"],
        }
    )
    judged = _colour_scale(charts.funnel_plot(frame, indicator=SCREEN).to_dict())
    assert dict(zip(judged["domain"], judged["range"], strict=True)) == {
        "better": PALETTE["better"],
        "similar": PALETTE["similar"],
        "worse": PALETTE["worse"],
    }
    plain = frame.with_columns(pl.Series("comparison_95", ["higher", "similar", "lower"]))
    unjudged = _colour_scale(charts.funnel_plot(plain, indicator=VISITS).to_dict())
    assert "better" not in unjudged["domain"] and PALETTE["higher"] in unjudged["range"]
    neutral = charts.funnel_plot(frame.drop("comparison_95")).to_dict()
    assert neutral["layer"][-1]["encoding"]["color"] == {"value": PALETTE["neutral"]}


def test_describe_reads_the_description_back():
    frame = pl.DataFrame({"area_code": ["A"], "denominator": [10.0], "value": [1.0]})
    chart = charts.funnel_plot(frame, indicator=SCREEN)
    assert (
        charts.describe(chart) == chart.to_dict()["description"] == chart.to_dict()["usermeta"]["publicservices"]["description"]
    )


def test_charts_and_results_do_not_import_altair_until_drawn():
    code = (
        "import sys, json, publicservices.results, publicservices.display, publicservices.charts\n"
        "print(json.dumps(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_clear_errors_for_wrong_input(outcomes):
    with pytest.raises(SchemaError, match="'denominator'"):
        charts.funnel_plot(pl.DataFrame({"value": [1.0]}), x="denominator")
    with pytest.raises(SchemaError, match="(?s)no layer 'nope'.*squares"):
        charts.choropleth(pl.DataFrame({"area_code": ["A"], "value": [1.0]}), _square_topology(), feature="nope")
    with pytest.raises(DataError, match="one series"):
        charts.trend_chart(outcomes.history.filter(pl.col("indicator_id") == "health.screen"))
    with pytest.raises(DataError, match="holds 3 indicators"):
        outcomes.chart("funnel")
    with pytest.raises(SchemaError, match="no chart 'pie'"):
        outcomes.chart("pie")


# -- geometry helpers --------------------------------------------------------------------------


def _square_topology() -> dict:
    """Three unit squares side by side sharing edges (arcs), in TopoJSON (not quantised)."""
    arcs = [
        [[0, 0], [0, 1]],
        [[0, 1], [1, 1], [1, 0], [0, 0]],  # A: shared left edge 0, rest 1
        [[1, 0], [1, 1]],  # shared A|B edge 2
        [[1, 1], [2, 1], [2, 0], [1, 0]],  # B rest 3
        [[2, 0], [2, 1]],  # shared B|C edge 4
        [[2, 1], [3, 1], [3, 0], [2, 0]],  # C rest 5
    ]
    return {
        "type": "Topology",
        "arcs": arcs,
        "objects": {
            "squares": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]], "properties": {"code": "A"}},
                    {"type": "Polygon", "arcs": [[2, 3]], "properties": {"code": "B"}},
                    {"type": "Polygon", "arcs": [[4, 5]], "properties": {"code": "C"}},
                ],
            }
        },
    }


def _decode(topology: dict, geometry: dict) -> list:
    def arc(i: int) -> list:
        points = topology["arcs"][i if i >= 0 else ~i]
        return points if i >= 0 else points[::-1]

    def walk(item):
        return arc(item) if isinstance(item, int) else [walk(x) for x in item]

    return walk(geometry["arcs"])


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(["A", "B", "C"])))
def test_subset_topojson_keeps_exact_geometry(codes):
    topo = _square_topology()
    small = charts.subset_topojson(topo, "squares", "code", codes)
    kept = small["objects"]["squares"]["geometries"]
    assert {g["properties"]["code"] for g in kept} == codes
    original = {g["properties"]["code"]: g for g in topo["objects"]["squares"]["geometries"]}
    for g in kept:
        assert _decode(small, g) == _decode(topo, original[g["properties"]["code"]])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1, max_value=1e7, allow_nan=False), min_size=1, max_size=400, unique=True),
    st.integers(min_value=2, max_value=120),
)
def test_thinned_curves_are_exact_rows_with_both_ends(xs, n):
    from publicservices.charts._common import thin

    frame = pl.DataFrame({"x": xs, "y": [x * 2 for x in xs]})
    out = thin(frame, "x", n)
    assert out.height <= max(n, 1) and out.height <= frame.height
    assert out["x"].min() == min(xs) and out["x"].max() == max(xs)
    assert (out["y"] == out["x"] * 2).all()  # never interpolated


def test_results_work_from_a_plain_values_frame():
    from publicservices.results import compare

    values = pl.DataFrame(
        {
            "indicator_id": ["health.screen"] * 4,
            "area_code": ["A", "B", "C", "D"],
            "period": ["2023"] * 4,
            "numerator": [60.0, 700.0, 80.0, 900.0],
            "denominator": [100.0, 1000.0, 100.0, 1000.0],
        }
    )
    from publicservices.frame import validate_values

    result = compare(validate_values(values), "health.screen", indicators=[SCREEN], benchmark=70.0)
    assert result.sentences()[0].startswith("Screening uptake, 2023: of 4 areas with a value")
    render(result.chart("funnel"))
    with pytest.raises(SchemaError, match="geometry="):
        result.chart("map")


# -- spine and trend: what the reader sees (issue 18) -------------------------------------------


def _svg_marks(svg: str, role: str) -> list[tuple[float, float, float, float]]:
    """(x, y, width, height) of every rect-path mark whose aria-roledescription is ``role``."""
    import re

    boxes = []
    for d in re.findall(rf'aria-roledescription="{role}"[^>]*?\sd="M([-\d.]+),([-\d.]+)h([-\d.]+)v([-\d.]+)h', svg):
        x, y, w, h = map(float, d)
        boxes.append((x, y, w, h))
    return boxes


def _axis_labels(svg: str) -> list[list[str]]:
    """The labels of every axis drawn, axis by axis."""
    import html
    import re

    groups = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    return [[html.unescape(t) for t in re.findall(r">([^<]*)</text>", g)] for g in groups]


def _benchmark_is_a_short_tick_per_row(svg: str, rows: int, width: float) -> None:
    assert 'aria-roledescription="rule mark"' not in svg  # no rule: it ran from the left edge like a bar
    ticks = _svg_marks(svg, "tick")
    assert len(ticks) == rows, ticks
    for x, _y, w, h in ticks:
        assert w <= 3 and 10 <= h <= 26, (w, h)  # short and vertical, within its own row
        assert abs(x + w / 2 - width / 2) < 1  # at the centre: the benchmark
    assert len({round(y) for _x, y, _w, _h in ticks}) == rows  # one per row


def test_spine_chart_benchmark_is_a_tick_per_row_and_rows_keep_the_order_given(outcomes, dataset):
    import vl_convert

    order = {i: dataset.indicators[i] for i in ("health.visits", "health.screen", "health.deaths")}
    chart = charts.spine_chart(outcomes.frame.filter(pl.col("period") == pl.col("period").max()), "X06000002", order)
    spec = chart.to_dict(validate=True)
    svg = vl_convert.vegalite_to_svg(spec)
    _benchmark_is_a_short_tick_per_row(svg, 3, spec["width"])
    assert _axis_labels(svg)[0] == ["Visits", "Screening uptake", "Preventable deaths"]  # as given, not A to Z
    frame = charts.spine_frame(outcomes.frame, "X06000002", order)
    assert frame.get_column("indicator_id").to_list() == list(order)


def test_site_spine_template_draws_the_benchmark_as_a_tick_in_page_order(outcomes):
    import vl_convert

    from publicservices.site import specs

    latest = outcomes.frame.filter(pl.col("period") == pl.col("period").max())
    titles = {"health.visits": "Visits", "health.screen": "Screening uptake", "health.deaths": "Preventable deaths"}
    units = {"health.visits": "per 1,000", "health.screen": "%", "health.deaths": "per 100,000"}
    rows = specs.spine_rows(latest, titles, units).filter(pl.col("area_code") == "X06000002")
    assert rows.get_column("indicator_id").to_list() == list(titles)  # page order, not alphabetical by title
    template = specs.spine_template()
    svg = vl_convert.vegalite_to_svg({**template, "data": {"values": rows.drop("area_code", "indicator_id").to_dicts()}})
    _benchmark_is_a_short_tick_per_row(svg, 3, template["width"])
    assert _axis_labels(svg)[0] == list(titles.values())


PERIODS = {
    "annual": (["2019", "2020", "2021"], ["2019-01-01", "2020-01-01", "2021-01-01"]),
    "financial": (["2019/20", "2020/21", "2021/22", "2022/23"], ["2019-04-01", "2020-04-01", "2021-04-01", "2022-04-01"]),
    "quarters": (["2023 Q4", "2024 Q1", "2024 Q2"], ["2023-10-01", "2024-01-01", "2024-04-01"]),
    "months": (["2024-01", "2024-02"], ["2024-01-01", "2024-02-01"]),
}


@pytest.mark.parametrize("kind", list(PERIODS))
def test_trend_axis_is_labelled_with_each_period_once(kind):
    import datetime as dt

    import vl_convert

    labels, starts = PERIODS[kind]
    n = len(labels)
    frame = pl.DataFrame(
        {
            "period": list(reversed(labels)),  # drawn in time order whatever the row order
            "period_start": [dt.date.fromisoformat(s) for s in reversed(starts)],
            "value": [10.0 + i for i in range(n)],
            "lower_95": [9.0 + i for i in range(n)],
            "upper_95": [11.0 + i for i in range(n)],
        }
    )
    svg = vl_convert.vegalite_to_svg(charts.trend_chart(frame, area_name="A").to_dict(validate=True))
    assert _axis_labels(svg)[0] == labels


def test_site_trend_charts_label_periods_as_the_data_do():
    import vl_convert

    from publicservices.site import specs

    titles = {f"x.{kind}": f"{kind.title()} series" for kind in PERIODS}
    results = pl.concat(
        pl.DataFrame(
            {
                "area_code": "A",
                "indicator_id": f"x.{kind}",
                "period": labels,
                "period_start": pl.Series(starts).str.to_date(),
                "value": [10.0 + i for i in range(len(labels))],
                "lower_95": [9.0 + i for i in range(len(labels))],
                "upper_95": [11.0 + i for i in range(len(labels))],
                "benchmark_value": [10.5] * len(labels),
            }
        )
        for kind, (labels, starts) in reversed(PERIODS.items())
    )
    rows = specs.trend_rows(results, titles).drop("area_code").to_dicts()
    svg = vl_convert.vegalite_to_svg({**specs.trend_template(), "data": {"values": rows}})
    axes = _axis_labels(svg)
    for labels, _ in PERIODS.values():  # each panel's own periods, each once: never 2019 2019 2020, never 2019 for 2019/20
        assert labels in axes, (labels, axes)
    import re

    assert re.findall(r"aria-label=\"Title text '([^']*)'", svg) == list(titles.values())  # panels in page order
    # the indicator page's spread over time: the same axis
    spread = specs.spread_rows(results.filter(pl.col("indicator_id") == "x.financial"))
    svg = vl_convert.vegalite_to_svg(specs.spread_spec(spread, "Spread", "%"))
    assert _axis_labels(svg)[0] == PERIODS["financial"][0]


def _thin_by_join(frame: pl.DataFrame, x: str, n: int) -> pl.DataFrame:
    """thin as a join_asof to the nearest row, the way it was first written: the reference."""
    import math

    frame = frame.filter(pl.col(x).is_not_null()).unique(subset=x, keep="first").sort(x)
    if frame.height <= n:
        return frame
    xs = frame.get_column(x)
    lo, hi = float(xs.min()), float(xs.max())
    if lo > 0:
        targets = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n - 1)) for i in range(n)]
    else:
        targets = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    grid = pl.DataFrame({"_target": targets}, schema={"_target": pl.Float64})
    picked = grid.join_asof(frame.with_columns(pl.col(x).cast(pl.Float64).alias("_target")), on="_target", strategy="nearest")
    return picked.drop("_target").unique(subset=x, keep="first").sort(x)


@given(
    xs=st.lists(
        st.one_of(st.none(), st.integers(-5, 60).map(float), st.floats(-1e3, 1e6, allow_nan=False, allow_infinity=False)),
        max_size=80,
    ),
    n=st.integers(2, 30),
    whole=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_thin_picks_the_rows_a_nearest_join_picks(xs, n, whole):
    # ties between two rows as near go to the later one, as join_asof(strategy="nearest") does
    from publicservices.charts._common import thin

    frame = pl.DataFrame({"x": xs, "row": list(range(len(xs)))}, schema={"x": pl.Float64, "row": pl.Int64})
    if whole:
        frame = frame.with_columns(pl.col("x").round(0).cast(pl.Int64))
    assert_frame_equal(thin(frame, "x", n), _thin_by_join(frame, "x", n))
