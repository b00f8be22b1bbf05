"""ps.aggregate on the Polars engine: known aggregates, every exclusion counted, roll-up, DSR, errors."""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import publicservices as ps
from publicservices.aggregation import definitions_from_toml, definitions_to_toml
from publicservices.errors import IndicatorError, OptionError, SchemaError
from publicservices.record_definitions import AgeBands, Condition, RecordDefinition
from publicservices.stats import add_intervals, dsr, means

AE = ps.Indicator(
    id="health.ae_4hr",
    title="A&E within 4 hours",
    sector="health",
    measure="proportion",
    multiplier=100,
    records=RecordDefinition(source="ae", numerator={"column": "minutes", "le": 240}),
)
SCORE = ps.Indicator(
    id="schools.score",
    title="Score",
    sector="schools",
    measure="mean",
    records=RecordDefinition(source="pupils", value_column="score", periods="academic_year"),
)
DEATHS = ps.Indicator(
    id="health.deaths",
    title="Deaths",
    sector="health",
    measure="dsr",
    multiplier=100_000,
    records=RecordDefinition(
        source="deaths",
        numerator={"column": "cause", "eq": "cvd"},
        denominator="population",
        bands=AgeBands(),
        breakdowns=("sex",),
    ),
)
AREAS = pl.DataFrame(
    {
        "area_code": ["d1", "d2", "d3", "c1", "r1"],
        "parent_code": ["c1", "c1", "r1", "r1", "n1"],
        "level": ["district", "district", "unitary", "county", "region"],
    }
)


def _ae(n: int = 400, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "area_code": rng.choice(["d1", "d2", "d3"], n),
            "date": [dt.date(2022, 4, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 730, n)],
            "minutes": rng.integers(10, 600, n).astype(np.int32),
            "sex": rng.choice(["female", "male"], n),
        }
    )


def test_proportion_counts_and_wilson_limits_are_known():
    records = pl.DataFrame(
        {
            "area_code": ["d1"] * 5 + ["d2"] * 2,
            "date": [dt.date(2023, 3, 31)] + [dt.date(2023, 4, 1)] * 6,
            "minutes": [100, 240, 241, 30, 500, 10, 20],
        }
    )
    r = ps.aggregate(records, [AE])
    got = r.values.select("area_code", "period", "period_start", "numerator", "denominator").rows()
    assert got == [
        ("d1", "2022/23", dt.date(2022, 4, 1), 1.0, 1.0),  # 31 March is the last day of 2022/23
        ("d1", "2023/24", dt.date(2023, 4, 1), 2.0, 4.0),  # 240 minutes is within 4 hours; 241 is not
        ("d2", "2023/24", dt.date(2023, 4, 1), 2.0, 2.0),
    ]
    expected = add_intervals(r.values.select("indicator_id", "numerator", "denominator"), {AE.id: AE}, confidence=0.95)
    assert r.values["value"].to_list() == expected["value"].to_list()
    assert r.values["lower_ci"].to_list() == expected["lower"].to_list()
    assert r.values["upper_ci"].to_list() == expected["upper"].to_list()
    assert r.excluded.height == 0 and r.rows_read == {"ae": 7}
    assert ps.validate_values(r.values).height == 3


def test_every_exclusion_reason_is_counted_never_dropped():
    ind = ps.Indicator(
        id="health.deaths_u75",
        title="Deaths under 75",
        sector="health",
        measure="dsr",
        multiplier=100_000,
        records=RecordDefinition(
            source="deaths",
            numerator={"column": "cause", "eq": "cvd"},
            denominator="population",
            bands=AgeBands(edges=tuple(range(0, 75, 5)), upper=75),
            exclusions=[("resident abroad", {"column": "abroad", "eq": True})],
        ),
    )
    d = dt.date(2023, 6, 1)
    rows = [
        ("d1", d, 40, "cvd", False),  # counted
        ("d1", d, 41, "cvd", False),  # counted
        (None, d, 40, "cvd", False),  # null key (area_code)
        ("d1", None, 40, "cvd", False),  # null key (date)
        ("d1", d, None, "cvd", False),  # null key (age)
        ("zz", d, 40, "cvd", False),  # unknown area code
        ("d1", dt.date(1700, 1, 1), 40, "cvd", False),  # date outside any period
        ("d1", dt.date(2019, 6, 1), 40, "cvd", False),  # outside periods=
        ("d1", d, -2, "cvd", False),  # impossible age
        ("d1", d, 130, "cvd", False),  # impossible age
        ("d1", d, 80, "cvd", False),  # age in no band (75 and over)
        ("d1", d, 50, "cvd", True),  # declared exclusion
        ("d3", d, 50, "cvd", False),  # no population for d3
    ]
    records = pl.DataFrame(rows, schema=["area_code", "date", "age", "cause", "abroad"], orient="row")
    population = pl.DataFrame(
        {"area_code": "d1", "period": "2023/24", "age_band": ["40-44", "85-89"], "population": [1000.0, 5.0]}
    )
    r = ps.aggregate({"deaths": records}, [ind], population=population, areas=AREAS, periods=["2022/23", "2023/24"])
    counts = dict(r.excluded.select("reason", "rows").iter_rows())
    assert counts == {
        "null key (area_code)": 1,
        "null key (date)": 1,
        "null key (age)": 1,
        "unknown area code": 1,
        "date outside any period": 2,
        "impossible age (<0 or >120)": 2,
        "age in no band": 1,
        "resident abroad": 1,
        "no population for the area, period and age band": 1,
    }
    assert set(r.excluded["source"]) == {"deaths"} and set(r.excluded["indicator_id"]) == {ind.id}
    d1 = r.values.filter(pl.col("area_code") == "d1")
    assert d1.select("numerator", "denominator").row(0) == (2.0, 1000.0)  # the 85-89 band is not at risk
    assert sum(counts.values()) + 2 == r.rows_read["deaths"] == len(rows)
    assert "not counted" in r.summary() and "age in no band 1" in r.summary()


def test_missing_column_is_named_before_any_record_is_read():
    read: list[int] = []

    def spy(s: pl.Series) -> pl.Series:
        read.append(len(s))
        return s

    records = (
        _ae().lazy().rename({"minutes": "minutes_in_dept"}).with_columns(pl.col("sex").map_batches(spy, return_dtype=pl.String))
    )
    with pytest.raises(SchemaError) as err:
        ps.aggregate({"ae": records}, [AE])
    message = str(err.value)
    assert "'minutes'" in message and "'ae'" in message and "health.ae_4hr" in message and "Fix:" in message
    assert "did you mean 'minutes_in_dept'" in message
    assert read == []  # the error came from the schema alone


def test_a_condition_of_the_wrong_type_and_a_string_date_are_named_before_work():
    wrong = ps.Indicator(
        id="health.x",
        title="X",
        sector="health",
        measure="proportion",
        records=RecordDefinition(source="ae", numerator={"column": "minutes", "le": "240"}),
    )
    with pytest.raises(SchemaError, match="compares column 'minutes'"):
        ps.aggregate({"ae": _ae()}, [wrong])
    with pytest.raises(SchemaError, match="'date' holds String"):
        ps.aggregate({"ae": _ae().with_columns(pl.col("date").cast(pl.String))}, [AE])


def test_roll_up_to_every_level_equals_direct_aggregation():
    records = _ae(2000)
    r = ps.aggregate({"ae": records}, [AE], areas=AREAS)
    assert set(r.values["area_code"]) == {"d1", "d2", "d3", "c1", "r1", "n1"}
    parent = dict(zip(AREAS["area_code"], AREAS["parent_code"], strict=True))
    for code in ("c1", "r1", "n1"):
        under = [leaf for leaf in ("d1", "d2", "d3") if code in _chain(leaf, parent)]
        direct = ps.aggregate({"ae": records.filter(pl.col("area_code").is_in(under)).with_columns(area_code=pl.lit(code))}, [AE])
        rolled = r.values.filter(pl.col("area_code") == code)
        assert_frame_equal(rolled, direct.values)
    only = ps.aggregate({"ae": records}, [AE], areas=AREAS, levels=["county", "region"]).values
    assert set(only["area_code"]) == {"c1", "r1"}


def _chain(code: str, parent: dict[str, str]) -> list[str]:
    out = []
    while code in parent:
        code = parent[code]
        out.append(code)
    return out


def test_sex_breakdown_adds_persons_totals():
    ind = ps.Indicator(
        id="health.ae_4hr",
        title="A&E",
        sector="health",
        measure="proportion",
        multiplier=100,
        records=RecordDefinition(source="ae", numerator={"column": "minutes", "le": 240}, breakdowns=("sex",)),
    )
    r = ps.aggregate({"ae": _ae()}, [ind])
    assert set(r.values["sex"]) == {"female", "male", "persons"}
    by_sex = (
        r.values.filter(pl.col("sex") != "persons").group_by("area_code", "period").agg(pl.col("numerator", "denominator").sum())
    )
    persons = r.values.filter(pl.col("sex") == "persons").select("area_code", "period", "numerator", "denominator")
    assert_frame_equal(by_sex.sort("area_code", "period"), persons.sort("area_code", "period"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["d1", "d2", "d3", None]),
            st.dates(dt.date(2019, 1, 1), dt.date(2024, 12, 31)),
            st.one_of(st.none(), st.integers(0, 700)),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_aggregate_equals_a_naive_group_by(rows):
    records = pl.DataFrame(rows, schema={"area_code": pl.String, "date": pl.Date, "minutes": pl.Int32}, orient="row")
    kept = records.filter(pl.col("area_code").is_not_null())
    year = pl.col("date").dt.year() - (pl.col("date").dt.month() < 4).cast(pl.Int32)
    naive = (
        kept.group_by("area_code", year.alias("y"))
        .agg(
            (pl.col("minutes") <= 240).fill_null(False).sum().cast(pl.Float64).alias("numerator"),
            pl.len().cast(pl.Float64).alias("denominator"),
        )
        .sort("area_code", "y")
    )
    r = ps.aggregate(records, [AE])
    got = r.values.sort("area_code", "period_start")
    assert got["numerator"].to_list() == naive["numerator"].to_list()
    assert got["denominator"].to_list() == naive["denominator"].to_list()
    assert [p[:4] for p in got["period"]] == [str(y) for y in naive["y"]]
    assert r.excluded["rows"].sum() == records.height - kept.height


def _deaths(n: int = 3000, seed: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    records = pl.DataFrame(
        {
            "area_code": rng.choice(["d1", "d2", "d3"], n),
            "date": [dt.date(2023, 4, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
            "age": rng.integers(0, 101, n).astype(np.int16),
            "sex": rng.choice(["female", "male"], n),
            "cause": rng.choice(["cvd", "other"], n, p=[0.4, 0.6]),
        }
    )
    bands = AgeBands().labels
    population = pl.DataFrame(
        [
            (a, "2023/24", s, b, float(rng.integers(500, 5000)))
            for a in ("d1", "d2", "d3")
            for s in ("female", "male")
            for b in bands
        ],
        schema=["area_code", "period", "sex", "age_band", "population"],
        orient="row",
    )
    return records, population


def test_dsr_on_bands_equals_the_package_dsr_on_the_same_band_counts():
    records, population = _deaths()
    r = ps.aggregate({"deaths": records}, [DEATHS], population=population, areas=AREAS)
    assert r.bands is not None and r.bands["age_band"].n_unique() == 19
    direct = dsr(
        r.bands, "numerator", "population", "esp2013", by=["area_code", "sex"], age_band="age_band", confidence=0.95
    ).sort("area_code", "sex")
    got = r.values.sort("area_code", "sex")
    np.testing.assert_allclose(got["value"].to_numpy(), direct["value"].to_numpy(), rtol=1e-13)  # sums in another order
    np.testing.assert_allclose(got["lower_ci"].to_numpy(), direct["lower"].to_numpy(), rtol=1e-13)
    assert got["numerator"].to_list() == direct["total_count"].to_list()
    # band counts by hand: deaths from cvd in d1, females aged 40-44
    hand = records.filter(
        (pl.col("area_code") == "d1")
        & (pl.col("sex") == "female")
        & pl.col("age").is_between(40, 44)
        & (pl.col("cause") == "cvd")
    ).height
    cell = r.bands.filter((pl.col("area_code") == "d1") & (pl.col("sex") == "female") & (pl.col("age_band") == "40-44"))
    assert cell["numerator"].item() == hand
    # the region's population is the sum of its areas' (population rows of a parent are not counted twice)
    region = r.values.filter((pl.col("area_code") == "r1") & (pl.col("sex") == "persons"))
    assert region["denominator"].item() == population["population"].sum()


def test_mean_and_its_student_t_interval_equal_the_package_means():
    rng = np.random.default_rng(3)
    scores = rng.normal(45, 15, 300)
    records = pl.DataFrame(
        {
            "area_code": rng.choice(["d1", "d2"], 300),
            "date": [dt.date(2023, 9, 1)] * 150 + [dt.date(2024, 7, 31)] * 150,  # one academic year
            "score": pl.Series(np.where(rng.random(300) < 0.1, np.nan, scores)).fill_nan(None),
        }
    )
    r = ps.aggregate(records, [SCORE])
    expected = means(records.drop_nulls("score"), "score", by="area_code", confidence=0.95).sort("area_code")
    got = r.values.sort("area_code")
    assert got["period"].to_list() == ["2023/24", "2023/24"]
    np.testing.assert_allclose(got["value"].to_numpy(), expected["value"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["lower_ci"].to_numpy(), expected["lower"].to_numpy(), rtol=1e-9)
    assert got["denominator"].to_list() == expected["value_count"].cast(pl.Float64).to_list()
    assert r.excluded["reason"].to_list() == ["no value (score is null)"]
    assert r.excluded["rows"].sum() == records["score"].null_count()


def test_several_sources_and_files_in_one_call(tmp_path):
    ae = _ae()
    ae.write_csv(tmp_path / "ae.csv")
    deaths, population = _deaths()
    deaths.write_parquet(tmp_path / "deaths.parquet")
    r = ps.aggregate({"ae": str(tmp_path / "ae.csv"), "deaths": tmp_path / "deaths.parquet"}, [AE, DEATHS], population=population)
    assert set(r.values["indicator_id"]) == {AE.id, DEATHS.id}
    same = ps.aggregate({"ae": ae}, [AE]).values
    assert_frame_equal(r.values.filter(pl.col("indicator_id") == AE.id).drop("sex"), same)


def test_bad_arguments_are_named():
    with pytest.raises(OptionError, match="without a source name"):
        ps.aggregate(_ae())
    with pytest.raises(OptionError, match="population= was not given"):
        ps.aggregate({"deaths": _deaths()[0]}, [DEATHS])
    with pytest.raises(OptionError, match="which was not given"):
        ps.aggregate({"other": _ae()}, [AE])
    with pytest.raises(OptionError, match="engine"):
        ps.aggregate({"ae": _ae()}, [AE], engine="duckdb")
    with pytest.raises(SchemaError, match="'age_band' is missing"):
        ps.aggregate({"deaths": _deaths()[0]}, [DEATHS], population=_deaths()[1].drop("age_band"))
    with pytest.raises(IndicatorError, match="not registered"):
        ps.aggregate({"ae": _ae()}, ["health.ae_4hour"])


def test_definitions_validate_and_round_trip_through_toml():
    with pytest.raises(IndicatorError, match="has no operator"):
        RecordDefinition(source="s", numerator={"column": "a", "lte": 3})
    with pytest.raises(IndicatorError, match="exactly one of numerator"):
        RecordDefinition(source="s")
    with pytest.raises(IndicatorError, match="'between'"):
        Condition.from_dict({"column": "a", "between": [5, 1]})
    with pytest.raises(IndicatorError, match="a DSR needs"):
        ps.Indicator(
            id="h.x", title="X", sector="h", measure="dsr", records={"source": "s", "numerator": {"column": "a", "eq": 1}}
        )
    definitions = {i.id: i.records for i in (AE, SCORE, DEATHS)}
    definitions["x.y"] = RecordDefinition(
        source="s",
        numerator={"all": [{"column": "a", "in": ["p", "q"]}, {"not": {"column": "d", "ge": dt.date(2020, 1, 1)}}]},
        denominator={"any": [{"column": "b", "is_null": False}, {"column": "c", "between": [1.5, 2]}]},
        bands={"edges": [0, 5, 10], "upper": 15},
        exclusions={'odd "quoted" reason': {"column": "e", "ne": "x"}},
    )
    assert definitions_from_toml(definitions_to_toml(definitions)) == definitions
    indicator = ps.Indicator.from_dict(DEATHS.to_dict())
    assert indicator == DEATHS and hash(indicator) == hash(DEATHS)


def test_repr_and_html_escape_data():
    records = _ae(50).with_columns(pl.lit("<b>x</b>").alias("area_code"))
    ind = ps.Indicator(
        id="health.ae_4hr",
        title="A&E",
        sector="health",
        measure="proportion",
        records=RecordDefinition(
            source="ae", numerator={"column": "minutes", "le": 240}, exclusions=[("<script>", {"column": "minutes", "gt": 500})]
        ),
    )
    r = ps.aggregate({"ae": records}, [ind])
    page = r._repr_html_()
    assert "<script>" not in page and html.escape("<script>") in page
    assert "Records aggregated" in repr(r) and "<script>" in repr(r)


def test_registered_plugins_declare_records_for_the_demo_sources():
    inds = ps.registered_indicators()
    sources = {
        i: inds[i].records.source
        for i in ("health.ae_4hr", "health.cvd_mortality_preventable", "schools.attainment8", "policing.charge_rate")
    }
    assert sources == {
        "health.ae_4hr": "health.ae_attendances",
        "health.cvd_mortality_preventable": "health.deaths",
        "schools.attainment8": "schools.ks4_pupils",
        "policing.charge_rate": "policing.crimes",
    }
    assert "4 hours" in inds["health.ae_4hr"].definition


def test_demo_records_reproduce_the_demo_values(tmp_path):
    from publicservices.synthetic.records import demo_records

    out = demo_records(path=tmp_path / "r", rows=100_000)
    r = ps.aggregate(out.records, population=out.population, areas=out.areas)
    joined = out.expected_values.join(r.values, on=["indicator_id", "area_code", "period"], how="left", suffix="_agg")
    assert joined["denominator_agg"].null_count() == 0
    assert (joined["denominator"] == joined["denominator_agg"]).all()
    counts = joined.filter(pl.col("numerator").is_not_null())
    assert (counts["numerator"] == counts["numerator_agg"]).all()
    np.testing.assert_allclose(joined["value_agg"].drop_nulls(), joined.drop_nulls("value_agg")["value"], rtol=1e-9)
    regions = r.values.filter(pl.col("area_code").is_in(out.areas["parent_code"].unique().to_list()))
    assert regions.height > 0
    # the folder demo_records writes reads as its sources, with its population file (the files'
    # order may differ, so a mean's sum of squares may differ in its last bit)
    folder = ps.aggregate(out.path, areas=out.areas).values
    assert folder.select("indicator_id", "area_code", "period", "numerator", "denominator").equals(
        r.values.select("indicator_id", "area_code", "period", "numerator", "denominator")
    )
    np.testing.assert_allclose(folder["upper_ci"].to_numpy(), r.values["upper_ci"].to_numpy(), rtol=1e-12)


def test_calendar_years_label_periods_by_the_year():
    ind = ps.Indicator(
        id="policing.charge_rate",
        title="Charged",
        sector="policing",
        measure="proportion",
        records=RecordDefinition(source="crimes", numerator={"column": "outcome", "eq": "charged"}, periods="calendar_year"),
    )
    records = pl.DataFrame(
        {
            "area_code": ["d1"] * 3,
            "date": [dt.date(2023, 1, 1), dt.date(2023, 12, 31), dt.date(2024, 1, 1)],
            "outcome": ["charged", "other", "charged"],
        }
    )
    got = ps.aggregate(records, [ind]).values.select("period", "period_start", "numerator", "denominator").rows()
    assert got == [("2023", dt.date(2023, 1, 1), 1.0, 2.0), ("2024", dt.date(2024, 1, 1), 1.0, 1.0)]


def test_cli_writes_values_and_the_excluded_report(tmp_path):
    from click.testing import CliRunner

    from publicservices.cli import cli

    records = _ae().with_columns(pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("zz")).otherwise("area_code").alias("area_code"))
    records = records.rename({"minutes": "minutes_in_department"})
    records.write_parquet(tmp_path / "ae.parquet")
    AREAS.write_csv(tmp_path / "areas.csv")
    out = tmp_path / "out" / "values.parquet"
    args = ["aggregate", f"health.ae_attendances={tmp_path / 'ae.parquet'}", "--indicators", "health.ae_4hr"]
    run = CliRunner().invoke(cli, [*args, "--areas", str(tmp_path / "areas.csv"), "--out", str(out)])
    assert run.exit_code == 0, run.output
    values = pl.read_parquet(out)
    assert set(values["area_code"]) == {"d1", "d2", "d3", "c1", "r1", "n1"}
    report = pl.read_csv(tmp_path / "out" / "values.excluded.csv")
    assert report.select("reason", "rows").rows() == [("unknown area code", 3)]
    assert "unknown area code 3" in run.output
    bad = CliRunner().invoke(cli, [*args, "--out", str(out), "--engine", "polars", "--period", "nonsense"])
    assert bad.exit_code == 1 and "does not start with a year" in bad.output and "Traceback" not in bad.output


def test_a_project_file_names_record_sources_that_publish_aggregates_first(tmp_path):
    from publicservices.project import ProjectError, load_project

    (tmp_path / "records").mkdir()
    _ae().rename({"minutes": "minutes_in_department"}).write_parquet(tmp_path / "records" / "ae.parquet")
    (tmp_path / "site.toml").write_text(
        '[site]\ntitle = "Records"\n[records]\nindicators = ["health.ae_4hr"]\n'
        '[records.sources]\n"health.ae_attendances" = "records/*.parquet"\n'
    )
    project = load_project(tmp_path / "site.toml")
    notes: list[str] = []
    dataset = project.dataset(notes)
    assert set(dataset.values["indicator_id"]) == {"health.ae_4hr"} and dataset.values.height == 6
    assert any("Every record was counted" in n for n in notes)
    (tmp_path / "bad.toml").write_text('[records.sources]\n"health.ae_attendances" = "nowhere/*.parquet"\n')
    with pytest.raises(ProjectError, match="no file matches"):
        load_project(tmp_path / "bad.toml")
