"""publicservices.testing: the contract kit passes good plugins and names every fault in bad ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from publicservices.hookspecs import hookimpl
from publicservices.indicators import Indicator
from publicservices.reading import LoadReport, Reader, ReadResult
from publicservices.sectors import DemoSpend, ReportCardScheme, Sector
from publicservices.synthetic import DemoData, Model, simulate
from publicservices.testing import PluginCheck, check_plugin

PROP = Indicator(
    id="toy.share",
    title="Share",
    sector="toy",
    measure="proportion",
    multiplier=100,
    polarity="higher_is_better",
    unit="%",
    source="Toy source",
    definition="Share of toys that work, in per cent.",
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toy.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _read_toy(path, **options):
    frame = pl.read_csv(path, schema_overrides={"numerator": pl.Float64, "denominator": pl.Float64})
    values = frame.with_columns(indicator_id=pl.lit("toy.share"), value=pl.col("numerator") / pl.col("denominator") * 100)
    report = LoadReport(source=Path(path).name, reader="toy", rows_read=frame.height, rows_kept=frame.height)
    return ReadResult(values=values, report=report)


class Good:
    @hookimpl
    def publicservices_sectors(self, register):
        register(Sector(id="toy", title="Toys", demo=DemoSpend(per_head=40.0)))

    @hookimpl
    def publicservices_indicators(self, register):
        register(PROP)

    @hookimpl
    def publicservices_readers(self, register):
        register(Reader(name="toy", description="toy", sniff=lambda c: "toy_id" in c, read=_read_toy))

    @hookimpl
    def publicservices_demo_data(self, register):
        register(
            "toy", lambda nation: simulate(nation, [(PROP, Model(baseline=70.0, tau=0.2, spend=0.2, denominator_per_head=0.01))])
        )


def test_a_good_plugin_passes(tmp_path):
    fixture = _write(tmp_path, "toy_id,area_code,period,numerator,denominator\n1,A,2023,3,10\n")
    result = check_plugin(Good(), reader_fixtures={"toy": fixture})
    assert isinstance(result, PluginCheck) and result.ok, str(result)
    assert result.indicators == ["toy.share"] and result.readers == ["toy"] and result.sectors == ["toy"]
    assert result.declared == ["toy"]
    assert {"loads", "indicator metadata", "sector declarations", "reader toy", "demo data for 'toy'"} <= set(result.passed)


class Undeclared(Good):
    publicservices_sectors = None  # no sector declaration


class Overdeclared(Good):
    @hookimpl
    def publicservices_sectors(self, register):
        scheme = ReportCardScheme(domains={"work": ["toy.share", "toy.missing"], "context": "toy.count"})
        register(Sector(id="toy", title="Toys", report_card=scheme))
        register(Sector(id="games", title="Games"))

    @hookimpl
    def publicservices_indicators(self, register):
        register(PROP)
        register(
            Indicator(
                id="toy.count",
                title="Toys",
                sector="toy",
                measure="score",
                unit="toys",
                source="Toy source",
                definition="Number of toys in the area, counted each year.",
            )
        )


def test_sector_declarations_are_part_of_the_contract(tmp_path):
    fixture = _write(tmp_path, "toy_id,area_code,period,numerator,denominator\n1,A,2023,3,10\n")
    undeclared = check_plugin(Undeclared(), reader_fixtures={"toy": fixture}, raise_on_failure=False)
    assert undeclared.declared == []
    assert any("indicators are of sector 'toy', which it does not declare" in f for f in undeclared.failures)
    over = check_plugin(Overdeclared(), reader_fixtures={"toy": fixture}, raise_on_failure=False)
    assert over.declared == ["games", "toy"]
    failures = "\n".join(over.failures)
    assert "sector 'games' is declared, but the plugin registers none of its indicators" in failures
    assert "grades 'toy.missing', which the plugin does not register" in failures
    assert "grades 'toy.count', which has no direction" in failures
    assert "sector declarations" not in over.passed


class Sloppy(Good):
    @hookimpl
    def publicservices_indicators(self, register):
        register(
            Indicator(
                id="toy.share",
                title="Share",
                sector="toy",
                measure="proportion",
                multiplier=100,
                polarity="lower_is_better",
                unit="",
                source="",
                definition="x",
            )
        )

    @hookimpl
    def publicservices_demo_data(self, register):
        counter = {"n": 0}

        def generate(nation):
            counter["n"] += 1  # changes between runs: not deterministic
            rows = pl.DataFrame(
                {
                    "indicator_id": ["toy.share"],
                    "area_code": ["X06000001"],
                    "period": ["2014/15"],
                    "numerator": [5.0 + counter["n"]],
                    "denominator": [10.0],
                    "value": [250.0],
                }
            )
            return DemoData(values=rows, truth={"spend_effect": {"toy.share": 0.5}})

        register("toy", generate)


def test_a_sloppy_plugin_fails_with_every_reason(tmp_path):
    fixture = _write(tmp_path, "area_code,period\nA,2023\n")
    with pytest.raises(AssertionError) as info:
        check_plugin(Sloppy(), reader_fixtures={"toy": fixture})
    message = str(info.value)
    for expected in (
        "has no unit",
        "has no source",
        "the definition should say",
        "does not recognise the header",
        "not deterministic",
        "covers 1 area x period cells",
        "values outside [0, 100]",
        "value is not numerator / denominator",
        "makes it worse",
        "truth['values']",
    ):
        assert expected in message, expected


def test_missing_fixture_and_unknown_distribution_are_reported():
    result = check_plugin(Good(), raise_on_failure=False)
    assert any("reader 'toy' has no fixture" in f for f in result.failures)
    missing = check_plugin("publicservices-nonexistent", raise_on_failure=False)
    assert not missing.ok and "no entry point" in missing.failures[0]


class Leaky(Good):
    @hookimpl
    def publicservices_readers(self, register):
        def read(path, **options):
            out = _read_toy(path)
            out.report.rows_read += 2  # two rows vanished without being counted
            return out

        register(Reader(name="toy", description="toy", sniff=lambda c: "toy_id" in c, read=read))


def test_rows_that_vanish_are_caught(tmp_path):
    fixture = _write(tmp_path, "toy_id,area_code,period,numerator,denominator\n1,A,2023,3,10\n")
    result = check_plugin(Leaky(), reader_fixtures={"toy": fixture}, raise_on_failure=False)
    assert any("rows do not add up" in f for f in result.failures)


def test_module_import_is_light():
    code = (
        "import sys\nimport publicservices.testing\n"
        "print(sorted(m for m in ('polars', 'numpy', 'scipy', 'altair') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_fixture_is_offered_to_pytest(plugin_contract):
    assert plugin_contract is check_plugin


class Greedy(Good):
    @hookimpl
    def publicservices_readers(self, register):
        register(Reader(name="toy", description="toy", sniff=lambda c: True, read=_read_toy))


def test_a_reader_that_claims_every_file_fails(tmp_path, recwarn):
    fixture = _write(tmp_path, "toy_id,area_code,period,numerator,denominator\n1,A,2023,3,10\n")
    result = check_plugin(Greedy(), reader_fixtures={"toy": fixture}, raise_on_failure=False)
    assert any("reader 'toy' claims every file" in f for f in result.failures), result.failures
    # Problems are failures in the result, not warnings on the side.
    assert not [w for w in recwarn if w.category.__name__ == "PluginWarning"]


class Shadowing(Good):
    @hookimpl
    def publicservices_readers(self, register):
        register(Reader(name="contract", description="mine", sniff=lambda c: "toy_id" in c, read=_read_toy))


def test_a_plugin_that_reuses_a_builtin_name_fails():
    result = check_plugin(Shadowing(), raise_on_failure=False)
    assert any(
        "reader 'contract' is provided by built-in plugin 'publicservices.default_plugins.readers'" in f for f in result.failures
    ), result.failures


def test_an_installed_plugin_that_exits_at_import_is_reported_not_fatal(tmp_path, monkeypatch):
    import importlib

    info = tmp_path / "publicservices_exits_at_import-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: publicservices-exits-at-import\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[publicservices]\nexits = ps_contract_exits_at_import\n")
    (tmp_path / "ps_contract_exits_at_import.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        result = check_plugin("publicservices-exits-at-import", raise_on_failure=False)
    finally:
        sys.modules.pop("ps_contract_exits_at_import", None)
    assert not result.ok
    assert "plugin 'exits' is broken" in result.failures[0] and "SystemExit: 3" in result.failures[0]
