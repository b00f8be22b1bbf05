"""Combining sources: values, areas, spend and definitions merged by key, conflicts reported, never guessed."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.combining import CombineResult, combine, read_many
from publicservices.errors import DataError, ReaderError, SchemaError
from publicservices.reading import LoadReport, ReadResult

IND = ps.Indicator(id="demo.x", title="X", sector="demo", measure="score")
IND_Y = ps.Indicator(id="demo.y", title="Y", sector="demo", measure="proportion", multiplier=100)


def values(rows, **extra):
    """rows: (area_code, period, value) for indicator demo.x."""
    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.x"] * len(rows),
            "area_code": [r[0] for r in rows],
            "period": [r[1] for r in rows],
            "value": [float(r[2]) if r[2] is not None else None for r in rows],
        },
        schema_overrides={"value": pl.Float64},
    )
    return frame.with_columns(pl.Series(k, v) for k, v in extra.items())


def dataset(rows, title=None, areas=None, spend=None, indicators=(IND,), **extra):
    return ps.Dataset(
        values(rows, **extra), areas=areas, spend=spend, indicators=list(indicators), metadata={"title": title} if title else None
    )


def read_result(name, rows, areas=None, indicators=None, notes=(), **extra):
    report = LoadReport(source=name, reader="test", rows_read=len(rows), rows_kept=len(rows), notes=list(notes))
    return ReadResult(values=values(rows, **extra), report=report, areas=areas, indicators=dict(indicators or {"demo.x": IND}))


# -- values --------------------------------------------------------------------------------


def test_union_without_conflict():
    a = dataset([("A", "2023", 1), ("B", "2023", 2)], title="a")
    b = dataset([("C", "2023", 3), ("A", "2024", 4)], title="b")
    result = combine(a, b, name="both")
    assert isinstance(result, CombineResult)
    assert result.values.select("area_code", "period", "value").rows() == [
        ("A", "2023", 1.0),
        ("B", "2023", 2.0),
        ("C", "2023", 3.0),
        ("A", "2024", 4.0),
    ]
    assert result.dataset.metadata["title"] == "both"
    assert result.dataset.metadata["sources"] == ["a", "b"]
    report = result.report
    assert report.rows_in["values"] == 4 and report.rows_out["values"] == 4
    assert not report.conflicts and not report.duplicates["values"]
    assert "No conflicts" in report.summary()
    assert [s.name for s in report.sources] == ["a", "b"]
    assert report.to_dict()["rows_out"]["areas"] == 3


def test_exact_duplicate_kept_once_and_counted():
    a = dataset([("A", "2023", 1), ("B", "2023", 2)], title="a")
    b = dataset([("B", "2023", 2.0 * (1 + 1e-12)), ("C", "2023", 3)], title="b")  # within 1e-9 relative: the same
    result = combine(a, b)
    assert result.values.select("area_code", "value").rows() == [("A", 1.0), ("B", 2.0), ("C", 3.0)]
    assert result.report.duplicates["values"] == 1
    assert "1 row given by both 'a' and 'b' with the same numbers, kept once" in result.report.summary()


def test_value_conflict_raises_naming_both_sources():
    a = dataset([("A", "2023", 1), ("B", "2023", 2)], title="first file")
    b = dataset([("B", "2023", 2.5)], title="second file")
    with pytest.raises(DataError) as err:
        combine(a, b)
    message = str(err.value)
    assert "values: 1 key has different numbers in different sources (indicator_id | area_code | period)" in message
    assert "demo.x | B | 2023: value 2.0 in 'first file' but 2.5 in 'second file'" in message
    assert 'on_conflict="first"' in message and 'on_conflict="last"' in message and "drop one of the sources" in message


def test_conflict_lists_the_first_few_and_counts_the_rest():
    a = dataset([(f"A{i}", "2023", i) for i in range(8)], title="a")
    b = dataset([(f"A{i}", "2023", i + 0.5) for i in range(8)], title="b")
    with pytest.raises(DataError, match=r"8 keys have different numbers[\s\S]*\.\.\. and 3 more"):
        combine(a, b)


@pytest.mark.parametrize(("rule", "kept", "over"), [("first", 2.0, "b"), ("last", 2.5, "a")])
def test_on_conflict_chooses_and_counts(rule, kept, over):
    a = dataset([("A", "2023", 1), ("B", "2023", 2)], title="a")
    b = dataset([("B", "2023", 2.5), ("C", "2023", 3)], title="b")
    result = combine(a, b, on_conflict=rule)
    assert result.values.filter(pl.col("area_code") == "B").get_column("value").to_list() == [kept]
    assert result.values.height == 3
    assert result.report.conflicts["values"] == 1
    winner = "b" if over == "a" else "a"
    assert result.report.resolved[f"values: kept {winner!r} over {over!r}"] == 1
    assert f"on_conflict={rule!r}" in result.report.summary()


def test_other_fields_and_period_start_conflict_too():
    a = dataset([("A", "2023", 1)], title="a", lower_ci=[0.5], upper_ci=[1.5])
    b = dataset([("A", "2023", 1)], title="b", lower_ci=[0.4], upper_ci=[1.5])
    with pytest.raises(DataError, match=r"lower_ci 0.5 in 'a' but 0.4 in 'b'"):
        combine(a, b)
    c = dataset([("A", "2023", 1)], title="c", lower_ci=[None], upper_ci=[None])
    with pytest.raises(DataError, match=r"lower_ci 0.5 in 'a' but empty in 'c'"):
        combine(a, c)
    import datetime as dt

    d = dataset([("A", "2023", 1)], title="d", period_start=[dt.date(2023, 4, 1)])
    e = dataset([("A", "2023", 1)], title="e", period_start=[dt.date(2023, 1, 1)])
    with pytest.raises(DataError, match="period_start"):
        combine(d, e)


def test_extra_and_breakdown_columns_kept_with_nulls_elsewhere():
    a = dataset([("A", "2023", 1)], title="a", status=["u"])
    b = dataset([("A", "2023", 1), ("A", "2023", 5)], title="b", sex=["Male", "Female"])
    result = combine(a, b)
    rows = result.values.sort("sex", nulls_last=False).select("area_code", "sex", "value", "status").rows()
    # no sex column in 'a': its row is a different key (all persons) from b's sex rows
    assert rows == [("A", None, 1.0, "u"), ("A", "Female", 5.0, None), ("A", "Male", 1.0, None)]
    assert not result.report.duplicates["values"]


def test_duplicates_coalesce_other_columns_and_report_differences():
    a = dataset([("A", "2023", 1), ("B", "2023", 2)], title="a", status=[None, "u"])
    b = dataset([("A", "2023", 1), ("B", "2023", 2)], title="b", status=["x", "c"])
    result = combine(a, b)
    assert result.values.select("area_code", "status").rows() == [("A", "x"), ("B", "u")]
    assert result.report.duplicates["values"] == 2
    assert result.report.disagreements["values.status"] == 1
    assert any("status 'u' in 'a' but 'c' in 'b'" in e for e in result.report.examples)


# -- areas ---------------------------------------------------------------------------------


def test_areas_coalesced_without_suffix():
    rows = [("A", "2023", 1), ("B", "2023", 2)]
    deprivation = dataset(rows, title="imd", areas=pl.DataFrame({"area_code": ["A", "B"], "deprivation": [30.5, 12.0]}))
    population = read_result(
        "population.csv", rows, areas=pl.DataFrame({"area_code": ["A", "B"], "population": [1000.0, 2000.0]})
    )
    names = read_result(
        "names.csv", rows, areas=pl.DataFrame({"area_code": ["A", "B"], "area_name": ["Aston", "Brook"], "urban": [True, False]})
    )
    result = combine(deprivation, population, names)
    areas = result.areas
    assert not [c for c in areas.columns if c.endswith("_right")]
    assert areas.select("area_code", "area_name", "population", "deprivation", "urban").rows() == [
        ("A", "Aston", 1000.0, 30.5, True),
        ("B", "Brook", 2000.0, 12.0, False),
    ]
    assert not result.report.disagreements
    assert result.report.coverage["deprivation"]["with"] == 2
    assert "Deprivation: 2 of 2 combined areas have a score" in result.report.summary()


def test_area_attribute_disagreement_reported_first_kept():
    rows = [("A", "2023", 1)]
    a = dataset(rows, title="a", areas=pl.DataFrame({"area_code": ["A"], "area_name": ["Bristol, City of"]}))
    b = dataset(rows, title="b", areas=pl.DataFrame({"area_code": ["A"], "area_name": ["Bristol"], "deprivation": [20.0]}))
    result = combine(a, b)
    assert result.areas.select("area_name", "deprivation").row(0) == ("Bristol, City of", 20.0)
    assert result.report.disagreements["areas.area_name"] == 1
    assert "areas A: area_name 'Bristol, City of' in 'a' but 'Bristol' in 'b' (kept 'Bristol, City of')" in result.report.examples
    assert "areas.area_name for 1 key" in result.report.summary()


def test_population_and_deprivation_disagreement_is_a_conflict():
    rows = [("A", "2023", 1)]
    a = dataset(rows, title="a", areas=pl.DataFrame({"area_code": ["A"], "population": [1000.0]}))
    b = dataset(rows, title="b", areas=pl.DataFrame({"area_code": ["A"], "population": [1100.0], "deprivation": [5.0]}))
    with pytest.raises(DataError) as err:
        combine(a, b)
    assert "areas.population: 1 area has different values in different sources (area_code)" in str(err.value)
    assert "A: population 1000.0 in 'a' but 1100.0 in 'b'" in str(err.value)
    last = combine(a, b, on_conflict="last")
    assert last.areas.select("population", "deprivation").row(0) == (1100.0, 5.0)
    assert last.report.conflicts["areas.population"] == 1
    assert last.report.resolved["areas.population: kept 'b' over 'a'"] == 1
    assert combine(a, b, on_conflict="first").areas.get_column("population").to_list() == [1000.0]
    same = dataset(rows, title="c", areas=pl.DataFrame({"area_code": ["A"], "population": [1000.0 * (1 + 1e-12)]}))
    assert combine(a, same).areas.get_column("population").to_list() == [1000.0]


def test_every_area_of_the_values_has_a_row():
    # a read result whose areas frame misses some of its codes, and one with no areas frame at all
    part = read_result(
        "a.csv", [("A", "2023", 1), ("B", "2023", 2)], areas=pl.DataFrame({"area_code": ["A"], "area_name": ["Aston"]})
    )
    bare = read_result("b.csv", [("C", "2023", 3)])
    result = combine(part, bare)
    assert result.areas.select("area_code", "area_name").rows() == [("A", "Aston"), ("B", None), ("C", None)]


# -- spend and indicators ------------------------------------------------------------------


def test_spend_union_with_the_same_conflict_rule():
    rows = [("A", "2023", 1)]
    spend_a = pl.DataFrame(
        {"area_code": ["A", "A"], "period": ["2023", "2023"], "service": ["demo", "other"], "spend": [10.0, 5.0]}
    )
    spend_b = pl.DataFrame(
        {"area_code": ["A", "A"], "period": ["2023", "2024"], "service": ["demo", "demo"], "spend": [10.0, 7.0]}
    )
    result = combine(dataset(rows, title="a", spend=spend_a), dataset(rows, title="b", spend=spend_b))
    assert result.spend.select("service", "period", "spend").rows() == [
        ("demo", "2023", 10.0),
        ("other", "2023", 5.0),
        ("demo", "2024", 7.0),
    ]
    assert result.report.duplicates == Counter({"values": 1, "spend": 1})
    clash = pl.DataFrame({"area_code": ["A"], "period": ["2023"], "service": ["demo"], "spend": [11.0]})
    with pytest.raises(
        DataError, match=r"spend: 1 key has different numbers[\s\S]*A \| 2023 \| demo: spend 10.0 in 'a' but 11.0 in 'c'"
    ):
        combine(dataset(rows, title="a", spend=spend_a), dataset(rows, title="c", spend=clash))


def test_indicator_definition_conflict():
    other = ps.Indicator(id="demo.x", title="X, revised", sector="demo", measure="mean", unit="years")
    a = read_result("a.csv", [("A", "2023", 1)])
    b = read_result("b.csv", [("B", "2023", 2)], indicators={"demo.x": other})
    with pytest.raises(DataError) as err:
        combine(a, b)
    message = str(err.value)
    assert "indicators: 1 indicator id has different definitions in different sources (id)" in message
    assert "'demo.x' is defined differently in 'a.csv' and 'b.csv'" in message
    assert "title 'X' in 'a.csv' but 'X, revised' in 'b.csv'" in message
    assert (
        "measure 'score' in 'a.csv' but 'mean' in 'b.csv'" in message and "unit '' in 'a.csv' but 'years' in 'b.csv'" in message
    )
    assert "multiplier" not in message  # only the fields that differ
    chosen = combine(a, b, on_conflict="first")
    assert chosen.indicators["demo.x"] == IND
    assert chosen.report.resolved["indicators: kept 'a.csv' over 'b.csv'"] == 1
    # identical definitions are no conflict
    same = read_result("c.csv", [("C", "2023", 3)])
    assert combine(a, same).indicators == {"demo.x": IND}


def test_all_kinds_of_conflict_in_one_error():
    a = dataset([("A", "2023", 1)], title="a", areas=pl.DataFrame({"area_code": ["A"], "deprivation": [1.0]}))
    b = ps.Dataset(
        values([("A", "2023", 2)]),
        areas=pl.DataFrame({"area_code": ["A"], "deprivation": [2.0]}),
        indicators=[ps.Indicator(id="demo.x", title="X2", sector="demo", measure="score")],
        metadata={"title": "b"},
    )
    with pytest.raises(DataError) as err:
        combine(a, b)
    for part in ("values: 1 key", "areas.deprivation: 1 area", "indicators: 1 indicator id"):
        assert part in str(err.value)


# -- sources, metadata, arguments ----------------------------------------------------------


def test_read_results_keep_their_load_notes_and_names_are_unique():
    a = read_result("same.csv", [("A", "2023", 1)], notes=["3 rows set aside for a reason."])
    b = read_result("same.csv", [("B", "2023", 2)])
    report = combine(a, b).report
    assert [s.name for s in report.sources] == ["same.csv", "same.csv (source 2)"]
    assert report.sources[0].notes == ["3 rows set aside for a reason."]
    assert report.sources[0].load_report is a.report
    assert "3 rows set aside for a reason." in report.summary()
    named = combine(a, b, sources=["health", "welfare"])
    assert named.dataset.metadata["sources"] == ["health", "welfare"]


def test_metadata_merged_title_from_name():
    a = ps.Dataset(values([("A", "2023", 1)]), indicators=[IND], metadata={"title": "a", "licence": "OGL", "synthetic": True})
    b = ps.Dataset(values([("B", "2023", 1)]), indicators=[IND], metadata={"title": "b", "licence": "MIT"})
    result = combine(a, b)
    meta = result.dataset.metadata
    assert "title" not in meta and meta["licence"] == "OGL" and meta["synthetic"] is True
    assert any("metadata 'licence' differs between sources" in n for n in result.report.notes)
    assert combine(a, b, name="Two").dataset.metadata["title"] == "Two"


def test_arguments_are_checked():
    a = dataset([("A", "2023", 1)])
    with pytest.raises(SchemaError, match="on_conflict='newest' is not a rule"):
        combine(a, a, on_conflict="newest")
    with pytest.raises(SchemaError, match="source 2 is a DataFrame, not a Dataset or a ReadResult"):
        combine(a, values([("A", "2023", 1)]))
    with pytest.raises(SchemaError, match="no sources"):
        combine()
    with pytest.raises(SchemaError, match="2 sources but 1 names"):
        combine(a, a, sources=["x"])


def test_a_source_with_duplicated_keys_is_named():
    report = LoadReport(source="dup.csv", reader="test")
    bad = ReadResult(values=values([("A", "2023", 1), ("A", "2023", 2)]), report=report, indicators={"demo.x": IND})
    with pytest.raises(
        DataError, match=r"source 'dup.csv': values: column 'indicator_id, area_code, period' has duplicated keys"
    ):
        combine(bad)


def test_package_exports():
    a = dataset([("A", "2023", 1)], title="a")
    b = dataset([("B", "2023", 2)], title="b")
    assert ps.combine(a, b).values.height == 2
    assert ps.combine is combine and ps.read_many is read_many and ps.CombineResult is CombineResult


def test_package_attribute_is_the_function_whatever_was_imported_first():
    # a submodule named like the function would shadow it once imported: the module is `combining`
    code = (
        "import publicservices.combining, publicservices as ps, inspect; "
        "print(inspect.isfunction(ps.combine), inspect.isfunction(ps.read_many))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True True"


# -- read_many -----------------------------------------------------------------------------


def _write(path, rows):
    values(rows).write_csv(path)
    return path


def test_read_many_expands_globs_and_passes_options(tmp_path):
    _write(tmp_path / "a_1.csv", [("A", "2023", 1), ("B", "2023", 2)])
    _write(tmp_path / "a_2.csv", [("B", "2023", 2), ("C", "2023", 3)])
    _write(tmp_path / "other.csv", [("D", "2023", 4)])
    with pytest.raises(DataError, match="unknown indicator"):  # demo.x is not registered: pass its definition
        read_many(str(tmp_path / "a_*.csv"))
    pl.DataFrame({"code": ["E"], "period": ["2023"], "value": [5.0]}).write_csv(tmp_path / "a_3.csv")
    result = read_many(
        [str(tmp_path / "a_*.csv"), tmp_path / "a_1.csv"],
        format={"a_1.csv": "contract", "a_3.csv": "contract"},
        indicators=[IND],
        options={str(tmp_path / "a_3.csv"): {"mapping": {"code": "area_code"}, "constants": {"indicator_id": "demo.x"}}},
    )
    assert result.values.select("area_code", "value").rows() == [("A", 1.0), ("B", 2.0), ("C", 3.0), ("E", 5.0)]
    assert result.report.sources[2].kind == "read with reader 'contract'"
    assert [s.name for s in result.report.sources] == ["a_1.csv", "a_2.csv", "a_3.csv"]  # a_1.csv matched twice, read once
    assert result.report.duplicates["values"] == 1
    with pytest.raises(ReaderError, match="matches no file"):
        read_many(str(tmp_path / "nothing_*.csv"))
    with pytest.raises(ReaderError, match=r"options= names 'missing.csv', which match none of the files"):
        read_many(tmp_path / "other.csv", options={"missing.csv": {}})


# -- properties ----------------------------------------------------------------------------

AREAS = ["A", "B", "C", "D", "E"]
PERIODS = ["2021", "2022", "2023"]
TRUTH = {(a, p): float(i * 10 + j) + 0.25 for i, a in enumerate(AREAS) for j, p in enumerate(PERIODS)}
NAMES = {a: f"Area {a}" for a in AREAS}
DEPRIVATION = {a: float(i) * 3.5 for i, a in enumerate(AREAS)}

keys = st.lists(st.sampled_from(sorted(TRUTH)), min_size=1, max_size=15, unique=True)


def _part(chosen, title, with_names, with_deprivation):
    codes = sorted({a for a, _ in chosen})
    areas = pl.DataFrame(
        {
            "area_code": codes,
            "area_name": [NAMES[c] if with_names else None for c in codes],
            "deprivation": [DEPRIVATION[c] if with_deprivation else None for c in codes],
        },
        schema_overrides={"area_name": pl.String, "deprivation": pl.Float64},
    )
    return dataset([(a, p, TRUTH[(a, p)]) for a, p in chosen], title=title, areas=areas)


def _canonical(result):
    v = result.values.sort("area_code", "period").select("area_code", "period", "value")
    a = result.areas.sort("area_code").select("area_code", "area_name", "deprivation")
    return v, a


@settings(max_examples=30, deadline=None)
@given(keys, st.booleans(), st.booleans())
def test_combine_with_itself_is_idempotent(chosen, with_names, with_deprivation):
    part = _part(chosen, "a", with_names, with_deprivation)
    result = combine(part, part)
    assert result.values.equals(part.values)
    assert result.areas.equals(part.areas)
    assert result.indicators == part.indicators
    assert result.report.duplicates["values"] == part.values.height
    assert not result.report.conflicts and not result.report.disagreements


@settings(max_examples=30, deadline=None)
@given(keys, keys, st.booleans(), st.booleans())
def test_order_does_not_change_values_without_conflicts(first, second, names_first, deprivation_first):
    a = _part(first, "a", names_first, deprivation_first)
    b = _part(second, "b", not names_first, not deprivation_first)
    ab, ba = combine(a, b), combine(b, a)
    for x, y in zip(_canonical(ab), _canonical(ba), strict=True):
        assert x.equals(y)
    overlap = len(set(first) & set(second))
    assert ab.report.duplicates["values"] == ba.report.duplicates["values"] == overlap
    assert ab.values.height == len(set(first) | set(second))


# -- real data -----------------------------------------------------------------------------

REAL = ["health_preventable_cvd_mortality.csv", "context_imd2019_lad_summary.csv", "welfare_claimant_count.csv"]
LOWER_TIER = ("E06", "E07", "E08", "E09")


def test_real_files_combine_with_deprivation_for_lower_tier_areas(shared_data):
    result = read_many([shared_data(name) for name in REAL])
    data = result.dataset
    assert set(data.indicators) >= {"health.cvd_mortality_preventable", "welfare.claimant_rate", "context.imd2019_imd"}
    assert data.indicators["context.imd2019_imd"].is_context  # context values stay in the values, as context
    assert data.values.filter(pl.col("indicator_id") == "context.imd2019_imd").height == 317
    assert not [c for c in data.areas.columns if c.endswith("_right")]
    assert data.values.height == sum(s.values for s in result.report.sources)  # no overlap between the files
    lower = data.areas.filter(pl.col("area_code").str.slice(0, 3).is_in(LOWER_TIER))
    with_score = lower.filter(pl.col("deprivation").is_not_null())
    assert with_score.height == 317  # every 2019 district; newer unitaries (2020 on) have no 2019 score
    assert (
        data.areas.filter(pl.col("area_code").str.starts_with("E10")).get_column("deprivation").null_count()
        == data.areas.filter(pl.col("area_code").str.starts_with("E10")).height
    )  # not aggregated to counties
    report = result.report
    assert not report.conflicts
    assert report.coverage["deprivation"]["with"] == 317
    assert "Deprivation: 317 of" in report.summary() and "Shire counties have none" in report.summary()
    # fairness finds the deprivation scores for the lower-tier claimant-count rows
    fair = ps.fairness(data, ["welfare.claimant_rate"], repetitions=100)
    lower_rows = fair.filter(pl.col("comparable_set") == "lower_tier")
    assert lower_rows.height == 25
    assert (lower_rows.get_column("n_no_deprivation") < lower_rows.get_column("n_areas") / 10).all()
    assert not lower_rows.get_column("gradient_note").str.contains("no deprivation scores").any()


def test_real_sii_with_population_from_another_file(shared_data):
    # deprivation from the IMD file, population from the Fingertips file (North West), values from ELS
    result = read_many([shared_data(name) for name in [*REAL, "health_fingertips_northwest_sample.csv"]])
    areas = result.areas
    bolton = areas.filter(pl.col("area_code") == "E08000001").row(0, named=True)
    assert bolton["deprivation"] is not None and bolton["population"] is not None and bolton["area_name"] == "Bolton"
    assert not result.report.conflicts
    fair = ps.fairness(result.dataset, ["welfare.claimant_rate"], repetitions=100)
    lower_rows = fair.filter((pl.col("comparable_set") == "lower_tier") & (pl.col("period") >= "2015"))
    assert lower_rows.height and lower_rows.get_column("sii").is_not_null().all()
