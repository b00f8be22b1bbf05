"""International comparators: how a sector plugin registers them, and the website's page.

* the declaration (``InternationalComparator``) and the ``publicservices_international_comparators``
  hook, with real hook implementations: the schools plugin through its entry point, in-process
  plugins, the clash rules (two plugins: neither; a built-in wins; invalid or repeated
  registrations disable the plugin), ``sector_plugin(comparators=...)`` and ``check_plugin``;
* the site: the comparison computed in the model on the OECD PISA file and checked against
  differences computed by hand, the page (words, table, chart, data) built through the CLI,
  the project-file key, and a table that cannot be used, with the reason on the page;
  every data string escaped.

Tests that read ``../shared/data`` skip without it, and fail under ``CI=true``.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import math
import re
import sys
import types
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import publicservices as ps
from publicservices import Indicator, InternationalComparator, PluginError, hookimpl
from publicservices.plugin_api import Sector, check_plugin, sector_plugin
from publicservices.plugins import PluginRegistry, PluginWarning
from publicservices.project import ProjectError, load_project
from publicservices.site.international import InternationalTable, international_section, read_tables
from publicservices.site.pages import Pages
from publicservices.site.pages import international as international_pages

PISA = "intl_pisa_2018_2022_oecd.csv"
GOLDEN = Path(__file__).parent / "golden" / "site"
Z = 1.959963984540054


def comparator(id_: str = "toy.pisa_reading", **kw) -> InternationalComparator:
    fields = {"title": "Reading (toy)", "indicator": "toy.reading", "measure": "reading", "source": "*"} | kw
    return InternationalComparator(id=id_, **fields)


def toy_indicator(id_: str = "toy.reading") -> Indicator:
    return Indicator(
        id=id_,
        title="Toy reading",
        sector="toy",
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        source="Toy source",
        definition="Percentage of toy pupils reading at the expected level.",
    )


class Comparing:
    @hookimpl
    def publicservices_international_comparators(self, register):
        register(comparator())
        register(comparator("toy.pisa_science", title="Science (toy)", measure="science"))


def registry(*plugins) -> PluginRegistry:
    reg = PluginRegistry(entry_points=False, defaults=False)
    for i, plugin in enumerate(plugins):
        reg.register(plugin, name=f"plugin{i}")
    return reg


# -- the declaration ---------------------------------------------------------------------------


def test_a_comparator_matches_its_subject_or_the_readers_id_and_its_file_pattern():
    c = comparator(source="*PISA*")
    assert c.sector == "toy"
    assert c.matches("schools.pisa_reading") and c.matches("other.reading") and c.matches("toy.pisa_reading")
    assert not c.matches("schools.pisa_science") and not c.matches("other.adult_reading")
    assert c.applies_to("intl_pisa_2018_2022_oecd.csv") and not c.applies_to("timss.csv")
    assert comparator(measure="other.reading_literacy").matches("other.reading_literacy")


def test_an_invalid_comparator_lists_every_problem():
    with pytest.raises(PluginError) as err:
        InternationalComparator(
            id="toy", title=" ", indicator="reading", measure="reading", country="", countries=("GBR",), level=1.2
        )
    text = str(err.value)
    for part in ("id 'toy'", "title must", "indicator 'reading'", "country must", "countries must", "level 1.2"):
        assert part in text
    assert text.endswith("Fix: correct the InternationalComparator(...) declaration in the plugin.")


# -- the hook --------------------------------------------------------------------------------------


def test_the_schools_plugin_registers_the_pisa_comparators_through_its_entry_point():
    reg = PluginRegistry(only=["publicservices-schools"])
    schools = {p.name: p for p in reg.plugins()}["schools"]
    assert "publicservices_international_comparators" in schools.hooks and schools.status == "ok"
    found = reg.comparators()
    assert list(found) == ["schools.pisa_mathematics", "schools.pisa_reading", "schools.pisa_science"]
    assert {c.indicator for c in found.values()} <= set(reg.indicators())
    assert {(c.country, c.group, c.polarity, c.reader) for c in found.values()} == {
        ("GBR", "OECD average", "higher_is_better", "international")
    }
    assert reg.comparator_plugin("schools.pisa_reading").name == "schools"
    assert all("not England alone" in c.note for c in found.values())


def test_an_in_process_plugin_registers_comparators_through_the_hook():
    reg = registry(Comparing())
    assert list(reg.comparators()) == ["toy.pisa_reading", "toy.pisa_science"]
    assert reg.comparator_plugin("toy.pisa_science").name == "plugin0"
    reg.check()  # no problem


def test_one_comparator_id_in_two_plugins_is_used_by_neither_and_both_are_named():
    class Again:
        @hookimpl
        def publicservices_international_comparators(self, register):
            register(comparator(title="Reading, again"))
            register(comparator("again.pisa_maths", indicator="again.maths", measure="mathematics"))

    reg = registry(Comparing(), Again())
    with pytest.warns(
        PluginWarning,
        match=r"comparator 'toy.pisa_reading' is registered by plugin 'plugin0' \(in-process\) and "
        r"plugin 'plugin1' \(in-process\); neither of them is used",
    ):
        assert list(reg.comparators()) == ["again.pisa_maths", "toy.pisa_science"]
    assert {i.name: i.status for i in reg.plugins()} == {"plugin0": "conflict", "plugin1": "conflict"}
    error = reg.explain_missing("comparator", "toy.pisa_reading")
    assert error is not None and "plugin0" in str(error) and "plugin1" in str(error)
    with pytest.raises(PluginError, match="toy.pisa_reading"):
        reg.check()


@pytest.mark.parametrize(
    ("registered", "message"),
    [
        (["not a comparator"], "register\\(\\) expects an InternationalComparator"),
        ([comparator(), comparator()], "international comparator 'toy.pisa_reading' is registered twice by this plugin"),
    ],
)
def test_registering_anything_else_or_twice_disables_the_plugin(registered, message):
    class Bad:
        @hookimpl
        def publicservices_international_comparators(self, register):
            for item in registered:
                register(item)

    reg = registry(Bad(), Comparing())
    with pytest.warns(PluginWarning, match="plugin0.*is disabled"):
        assert list(reg.comparators()) == ["toy.pisa_reading", "toy.pisa_science"]  # the other plugin's
    (bad,) = reg.broken()
    assert bad.name == "plugin0" and bad.error.startswith("publicservices_international_comparators:")
    assert re.search(message, bad.error)


def test_a_disabled_plugins_comparator_is_explained():
    class Raises:
        @hookimpl
        def publicservices_international_comparators(self, register):
            register(comparator())
            raise RuntimeError("table server down")

    reg = registry(Raises())
    with pytest.warns(PluginWarning):
        assert reg.comparators() == {}
    error = reg.explain_missing("comparator", "toy.pisa_reading")
    assert error is not None and "disabled" in str(error) and "table server down" in str(error)


def test_a_plugin_cannot_shadow_a_builtin_comparator(monkeypatch):
    builtin = types.ModuleType("builtin_comparators_for_test")

    @hookimpl
    def publicservices_international_comparators(register):
        register(comparator(title="The built-in one"))

    builtin.publicservices_international_comparators = publicservices_international_comparators
    monkeypatch.setitem(sys.modules, builtin.__name__, builtin)
    monkeypatch.setattr("publicservices.plugins.DEFAULT_PLUGINS", (builtin.__name__,))
    reg = PluginRegistry(entry_points=False)
    reg.register(Comparing(), name="copycat")
    with pytest.warns(PluginWarning, match="the built-in comparator is used"):
        assert reg.comparators()["toy.pisa_reading"].title == "The built-in one"
    assert "toy.pisa_science" in reg.comparators()  # its other comparator stays
    assert {i.name: i.status for i in reg.plugins()}["copycat"] == "conflict"


def test_sector_plugin_registers_its_comparators_and_checks_them():
    plugin = sector_plugin(Sector(id="toy", title="Toys"), [toy_indicator()], comparators=[comparator()])
    assert "publicservices_international_comparators" in plugin.hooks
    assert repr(plugin) == "<sector plugin 'toy': 1 indicator, no readers, 1 international comparator>"
    assert list(registry(plugin).comparators()) == ["toy.pisa_reading"]
    with pytest.raises(PluginError) as err:
        sector_plugin(
            Sector(id="toy", title="Toys"),
            [toy_indicator()],
            comparators=[comparator("other.pisa_reading"), comparator(indicator="toy.unknown"), comparator(), comparator()],
        )
    text = str(err.value)
    assert "'other.pisa_reading' is of sector 'other', not 'toy'" in text
    assert "matches indicator 'toy.unknown', which is not among the indicators" in text
    assert "'toy.pisa_reading' is given twice" in text


def test_check_plugin_checks_the_comparators():
    good = sector_plugin(Sector(id="toy", title="Toys"), [toy_indicator()], comparators=[comparator()])
    result = check_plugin(good)
    assert result.comparators == ["toy.pisa_reading"] and "international comparators" in result.passed
    bad = sector_plugin(Sector(id="toy", title="Toys"), [toy_indicator()], comparators=[comparator(reader="nowhere")])
    result = check_plugin(bad, raise_on_failure=False)
    assert any("reads its table with reader 'nowhere', which is not registered" in f for f in result.failures)


# -- the site ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    from publicservices.site.model import build_model
    from publicservices.site.sample import sample_dataset

    return build_model(sample_dataset(n_areas=6, n_periods=3))


def page_text(model, section) -> str:
    return international_pages.page(Pages(dataclasses.replace(model, international=section), "Test"))


def pisa_rows(path, year="2022", subject="reading"):
    with open(path, encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["year"] == year and r["subject"] == subject]


def test_the_model_computes_the_pisa_comparisons_as_computed_by_hand(shared_data):
    path = shared_data(PISA)
    notes: list[str] = []
    comparators = ps.registered_comparators()
    section = international_section(read_tables([path], comparators, notes), comparators)
    assert section.problems == [] and notes[0].startswith(f"International table {PISA}: read 224 rows")
    found = {c.comparator.id: c for c in section.comparisons}
    assert list(found) == ["schools.pisa_mathematics", "schools.pisa_reading", "schools.pisa_science"]
    reading = found["schools.pisa_reading"]
    assert (reading.country, reading.country_name, reading.periods) == ("GBR", "United Kingdom", ["2018", "2022"])

    rows = pisa_rows(path)
    uk = next(r for r in rows if r["country"] == "United Kingdom")
    fi = next(r for r in rows if r["country"] == "Finland")
    v_uk, se_uk = float(uk["mean_score"]), float(uk["standard_error"])
    got = reading.rows("2022")
    finland = got.filter(pl.col("versus") == "FIN").row(0, named=True)
    diff, se = v_uk - float(fi["mean_score"]), math.hypot(se_uk, float(fi["standard_error"]))
    assert finland["versus_name"] == "Finland" and finland["difference"] == pytest.approx(diff, abs=1e-9)
    assert (finland["difference_lower"], finland["difference_upper"]) == pytest.approx((diff - Z * se, diff + Z * se))
    # the OECD average: the mean of the 37 countries reporting in 2022, the UK among them
    means = np.array([float(r["mean_score"]) for r in rows])
    ses = np.array([float(r["standard_error"]) for r in rows])
    n = len(rows)
    weights = np.array([1 - 1 / n if r["country"] == "United Kingdom" else -1 / n for r in rows])
    average = got.filter(pl.col("versus") == "average").row(0, named=True)
    assert n == 37 and average["versus_name"] == "OECD average"
    assert average["versus_value"] == pytest.approx(means.mean())
    assert average["difference"] == pytest.approx(v_uk - means.mean())
    sd = math.sqrt(float(np.sum(weights**2 * ses**2)))
    assert (average["difference_lower"], average["difference_upper"]) == pytest.approx(
        (v_uk - means.mean() - Z * sd, v_uk - means.mean() + Z * sd)
    )
    assert average["comparison"] == "better"  # 494 against 475.6, the interval well above zero
    point_rank = 1 + int(np.sum(means > v_uk))
    assert (average["rank"], average["n_countries"]) == (point_rank, 37) == (9, 37)
    assert average["rank_lower"] <= point_rank <= average["rank_upper"]

    # the words say the same numbers
    said = international_pages.comparison_words(reading)
    assert said["headline"] == (
        "In 2022, the United Kingdom's PISA reading score was higher than the OECD average (better); "
        f"we can be 95% confident of its rank between {average['rank_lower']}th and {average['rank_upper']}th of 37."
    )
    assert f"{v_uk - means.mean():.1f} score points higher" in said["detail"]
    frame = section.frame()
    assert frame.height == sum(c.result.frame.height for c in section.comparisons)
    assert {"comparator", "national_indicator", "versus_name", "rank_lower"} <= set(frame.columns)


def test_publish_with_the_pisa_file_shows_the_international_comparison_page(shared_data, tmp_path):
    from publicservices.cli import cli
    from publicservices.site.sample import sample_dataset

    folder = tmp_path / "data"
    sample_dataset(n_areas=6, n_periods=3).to_dir(folder)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        cli, ["publish", str(folder), "--out", str(out), "--generate-only", "-q", "--international", str(shared_data(PISA))]
    )
    assert result.exit_code == 0, result.output
    docs = out / "docs"
    config = json.loads((out / "mkdocs.yml").read_text(encoding="utf-8").partition("\n")[2])
    assert {"International comparison": "international.md"} in config["nav"]
    manifest = json.loads((out / "publicservices-site.json").read_text(encoding="utf-8"))
    assert manifest["options"]["international"] == [PISA]
    text = html.unescape((docs / "international.md").read_text(encoding="utf-8"))
    for title in ("Mathematics at age 15 (PISA)", "Reading at age 15 (PISA)", "Science at age 15 (PISA)"):
        assert f"## {title}" in text
    assert "In 2022, the United Kingdom's PISA reading score was higher than the OECD average (better); we can be 95%" in text
    assert "its true rank is between" in text and "not England alone" in text
    assert "<td>Finland</td>" in text and "<td>OECD average</td>" in text and "<td>the country compared</td>" in text
    assert "- 2018: " in text  # the earlier period, in one line
    script = (docs / "charts" / "international.js").read_text(encoding="utf-8")
    assert '"international/schools.pisa_reading/intl_pisa_2018_2022_oecd.csv"' in script
    data = pl.read_csv(docs / "data" / "international" / "comparisons.csv")
    assert set(data.get_column("comparator").unique().to_list()) == {
        "schools.pisa_mathematics",
        "schools.pisa_reading",
        "schools.pisa_science",
    }
    methodology = html.unescape((docs / "methodology.md").read_text(encoding="utf-8"))
    assert "International comparison" in methodology and "Mogstad" in methodology


def test_without_a_table_the_site_has_no_international_page(model):
    assert model.international is None and "international" not in model.options
    golden = GOLDEN / "tree.txt"
    assert "docs/international.md" not in golden.read_text(encoding="utf-8")
    assert "International comparison" not in (GOLDEN / "mkdocs.json").read_text(encoding="utf-8")


def write_table(path, rows, header=("country", "year", "subject", "mean_score", "standard_error")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def toy_rows(se=True):
    countries = [("United Kingdom", 494.0, 2.3), ("Finland", 490.0, 2.1), ("Japan", 516.0, 3.2), ("Chile", 448.0, 2.8)]
    return [(c, 2022, "reading", v, s if se else "") for c, v, s in countries]


def test_a_table_without_standard_errors_gets_the_page_saying_why(model, tmp_path):
    path = write_table(
        tmp_path / "pisa_no_se.csv", [r[:4] for r in toy_rows()], header=("country", "year", "subject", "mean_score")
    )
    comparators = ps.registered_comparators()
    section = international_section(read_tables([path], comparators, []), comparators)
    assert section.comparisons == []
    (problem,) = section.problems
    assert problem.startswith("The international table pisa_no_se.csv was given but not used: it gives no standard error")
    text = html.unescape(page_text(model, section))
    assert "## Why nothing is shown" in text and "without them no difference between countries can be given" in text
    assert "<table" not in text and "<figure" not in text


def test_empty_standard_errors_and_a_missing_country_are_said_per_comparator(model, tmp_path):
    comparators = ps.registered_comparators()
    empty = write_table(tmp_path / "pisa_empty_se.csv", toy_rows(se=False))
    section = international_section(read_tables([empty], comparators, []), comparators)
    (problem,) = section.problems
    assert problem.startswith("Reading at age 15 (PISA) (pisa_empty_se.csv): some countries have no standard error")
    elsewhere = {"schools.pisa_reading": dataclasses.replace(comparators["schools.pisa_reading"], country="Atlantis")}
    path = write_table(tmp_path / "pisa_toy.csv", toy_rows())
    section = international_section(read_tables([path], elsewhere, []), elsewhere)
    assert section.problems == [
        "Reading at age 15 (PISA) (pisa_toy.csv): the table has no value for Atlantis, so there is nothing to compare."
    ]


def test_a_table_no_comparator_matches_gets_the_page_saying_why(model, tmp_path):
    rows = [(c, y, "wellbeing", v, s) for c, y, _, v, s in toy_rows()]
    path = write_table(tmp_path / "survey.csv", rows, header=("country", "year", "subject", "value", "standard_error"))
    notes: list[str] = []
    comparators = ps.registered_comparators()
    section = international_section(read_tables([path], comparators, notes), comparators)
    assert section.comparisons == []
    (problem,) = section.problems
    assert "no international comparison is set up for what it measures (wellbeing)" in problem
    text = html.unescape(page_text(model, section))
    assert "## Why nothing is shown" in text and "none of the installed ones has one for this table" in text


def test_a_comparator_of_a_sector_the_site_leaves_out_is_not_shown(tmp_path):
    path = write_table(tmp_path / "pisa_toy.csv", toy_rows())
    comparators = ps.registered_comparators()
    section = international_section(read_tables([path], comparators, []), comparators, sectors=["health"])
    assert section.comparisons == []
    assert section.problems == ["Reading at age 15 (PISA) (pisa_toy.csv): not shown, as the site publishes only health."]


def test_every_data_string_on_the_page_is_escaped(model, tmp_path):
    evil = '<script>alert("x")</script> *Atlantis* [link](http://e.vil)'
    rows = [*toy_rows(), (evil, 2022, "reading", 505.0, 2.0)]
    path = write_table(tmp_path / "evil_pisa.csv", rows)
    comparators = {
        "schools.pisa_reading": dataclasses.replace(
            ps.registered_comparators()["schools.pisa_reading"], note="**bold** <b>x</b>", group="<i>OECD</i> average"
        )
    }
    section = international_section(read_tables([path], comparators, []), comparators)
    assert len(section.comparisons) == 1
    pages = Pages(dataclasses.replace(model, international=section), "Test")
    text = international_pages.page(pages)
    assert "<script>" not in text and "<b>x</b>" not in text and "<i>OECD</i>" not in text
    assert "&lt;script&gt;" in text  # in the table, HTML-escaped (Markdown leaves an HTML block alone)
    prose = re.sub(r"<(table|figure)\b.*?</\1>", "", text, flags=re.S)
    for raw in ("*Atlantis*", "[link]", "**bold**", "<i>", "<b>"):
        assert raw not in prose, raw  # prose is escaped for Markdown as well
    scripts = "".join(pages.charts.render(s) for s in pages.charts.files)
    assert "<script>" not in scripts and "\\u003cscript\\u003e" in scripts
    assert "Atlantis" in html.unescape(text)  # escaped, not dropped


def test_the_project_file_key_names_the_table(tmp_path):
    data = tmp_path / "values.csv"
    data.write_text("indicator_id,area_code,period,value\nhealth.x,E06000001,2023,1\n", encoding="utf-8")
    table = write_table(tmp_path / "pisa.csv", toy_rows())
    project = tmp_path / "site.toml"
    project.write_text(
        '[[sources]]\npath = "values.csv"\n\n[international]\npath = "pisa.csv"\nattribution = "OECD, PISA"\n',
        encoding="utf-8",
    )
    loaded = load_project(project)
    assert loaded.publish_options()["international"] == table.resolve()
    assert loaded.credits()[-1] == "pisa.csv — OECD, PISA"
    project.write_text('[[sources]]\npath = "values.csv"\n\n[international]\npath = "missing.csv"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match=r"international.path: no file 'missing.csv'"):
        load_project(project)
    project.write_text('[[sources]]\npath = "values.csv"\n\n[international]\nfile = "pisa.csv"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="international"):
        load_project(project)


def test_an_unreadable_table_is_named_without_stopping_the_site():
    section = international_section([InternationalTable("scores.csv", None, "it could not be read")], {})
    assert section.problems == ["The international table scores.csv was given but not used: it could not be read."]
