"""The command line, through Click's runner and as a real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from publicservices import Indicator, hookimpl
from publicservices.cli import cli
from publicservices.plugins import PluginRegistry, reset_registry

SCRIPT = Path(sys.executable).with_name("publicservices")


class Sector:
    @hookimpl
    def publicservices_indicators(self, register):
        register(
            Indicator(
                id="testing.share",
                title="A share",
                sector="testing",
                measure="proportion",
                multiplier=100,
                polarity="higher_is_better",
                unit="%",
                floor=90,
            )
        )
        register(Indicator(id="other.score", title="A score", sector="other", measure="score"))


@pytest.fixture
def registry():
    reg = PluginRegistry(entry_points=False)
    reg.register(Sector(), name="sector-plugin")
    old = reset_registry(reg)
    yield reg
    reset_registry(old)


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version():
    from publicservices import __version__

    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_indicators_table_json_and_sector(registry):
    result = run("indicators")
    assert "testing.share" in result.output and "other.score" in result.output
    result = run("indicators", "--sector", "testing", "--json")
    assert [d["id"] for d in json.loads(result.output)] == ["testing.share"]
    result = run("indicators", "--sector", "nope")
    assert result.exit_code == 1 and "no sector 'nope'" in result.output


def test_plugins_lists_builtins_and_in_process(registry):
    result = run("plugins", "--json")
    names = {p["name"]: p for p in json.loads(result.output)}
    assert names["sector-plugin"]["status"] == "ok"
    assert names["sector-plugin"]["hooks"] == ["publicservices_indicators"]


def test_validate_good_and_bad(registry, tmp_path):
    good = tmp_path / "good.csv"
    pl.DataFrame(
        {"indicator_id": ["testing.share"], "area_code": ["A1"], "period": ["2023"], "numerator": [3], "denominator": [10]}
    ).write_csv(good)
    bad = tmp_path / "bad.csv"
    pl.DataFrame(
        {"indicator_id": ["testing.share"], "area_code": ["A1"], "period": ["2023"], "numerator": [30], "denominator": [10]}
    ).write_csv(bad)
    result = run("validate", str(good))
    assert result.exit_code == 0 and "1 of 1 file(s) valid" in result.output
    result = run("validate", str(good), str(bad))
    assert result.exit_code == 1
    assert "greater than the denominator" in result.output and "row 1: testing.share | A1 | 2023" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_file_and_unknown_format(registry, tmp_path):
    result = run("validate", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "does not exist" in result.output
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    result = run("validate", "--format", "nope", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "unknown reader 'nope'" in result.output
    result = run("validate", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "no reader recognises" in result.output


def test_validate_areas_kind(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("area_code,area_name,population\nA1,Alpha,-3\n")
    result = run("validate", "--kind", "areas", str(path))
    assert result.exit_code == 1 and "'population' is negative" in result.output


def test_every_command_has_help_with_an_example():
    for name in ["plugins", "indicators", "readers", "validate"]:
        result = run(name, "--help")
        assert result.exit_code == 0 and "Example" in result.output, name


def test_console_script_runs():
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "validate" in result.stdout and "indicators" in result.stdout


def test_broken_installed_plugin_is_listed_not_fatal(tmp_path):
    """A real distribution on sys.path whose entry point fails to import."""
    dist = tmp_path / "publicservices_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: publicservices-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[publicservices]\nbroken = publicservices_broken\n")
    (tmp_path / "publicservices_broken.py").write_text("raise ImportError('needs a missing library')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("PUBLICSERVICES_LOAD_PLUGINS", None)
    listing = subprocess.run([str(SCRIPT), "plugins"], capture_output=True, text=True, env=env)
    assert listing.returncode == 0
    assert "broken" in listing.stdout and "publicservices-broken" in listing.stdout
    assert "needs a missing library" in listing.stderr
    indicators = subprocess.run([str(SCRIPT), "indicators"], capture_output=True, text=True, env=env)
    # the broken plugin is disabled with a named warning; every other plugin keeps working
    assert indicators.returncode == 0
    assert "publicservices-broken" in indicators.stderr and "needs a missing library" in indicators.stderr
    assert "Traceback" not in indicators.stderr
    # Leaving it out with the env var restores service.
    env["PUBLICSERVICES_LOAD_PLUGINS"] = ""
    assert subprocess.run([str(SCRIPT), "indicators"], capture_output=True, text=True, env=env).returncode == 0


def test_load_plugins_env_var_limits_loading(tmp_path):
    code = textwrap.dedent(
        """
        from publicservices.plugins import get_registry
        print(sorted(p.name for p in get_registry().plugins()))
        """
    )
    env = {**os.environ, "PUBLICSERVICES_LOAD_PLUGINS": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    from publicservices.plugins import DEFAULT_PLUGINS

    assert out.strip() == str(sorted(DEFAULT_PLUGINS))


def test_validate_with_mapping_and_constants(registry, tmp_path):
    path = tmp_path / "published.csv"
    path.write_text("Area Code,Year,Count,Total\nA1,2023,3,10\nA2,2023,,\n")
    result = run(
        "validate",
        "--map",
        "Area Code=area_code",
        "--map",
        "Year=period",
        "--map",
        "Count=numerator",
        "--map",
        "Total=denominator",
        "--set",
        "indicator_id=testing.share",
        str(path),
    )
    assert result.exit_code == 0, result.output
    assert "1 values are missing: 1 empty in the source file" in result.output
    result = run("validate", "--map", "Area Cod=area_code", str(path))
    assert result.exit_code == 1 and "did you mean 'Area Code'" in result.output
    result = run("validate", "--map", "nonsense", str(path))
    assert result.exit_code == 2 and "must look like NAME=VALUE" in result.output


def test_validate_says_how_a_file_was_read(registry, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "indicator_id,area_code,area_name,period,numerator,denominator\ntesting.share,W06000001,Ynys Môn,2023,3,10\n".encode(
            "cp1252"
        )
    )
    result = run("validate", str(latin))
    assert result.exit_code == 0, result.output
    assert "latin.csv: read as windows-1252 (not UTF-8), e.g. 'Ynys Môn'" in result.output
    areas = tmp_path / "areas.csv"
    areas.write_bytes("area_code,area_name\nW06000001,Ynys Môn\n".encode("cp1252"))
    result = run("validate", "--kind", "areas", str(areas))
    assert result.exit_code == 0 and "read as windows-1252" in result.output


def test_validate_reads_cr_only_files_instead_of_calling_them_empty_and_valid(registry, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(
        b"indicator_id,area_code,period,numerator,denominator\rtesting.share,A1,2023,3,10\rtesting.share,A2,2023,4,10\r"
    )
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "read 2 rows" in result.output and "carriage return only" in result.output


def test_validate_fails_a_file_with_no_rows(registry, tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("indicator_id,area_code,period,numerator,denominator\n")
    result = run("validate", str(path))
    assert result.exit_code == 1 and "0 of 1 file(s) valid" in result.output
    assert "No rows were kept" in result.output
    areas = tmp_path / "areas.csv"
    areas.write_text("area_code,area_name\n")
    result = run("validate", "--kind", "areas", str(areas))
    assert result.exit_code == 1 and "no data rows" in result.output
    # A boundary file holds areas and no values: that is not an empty file.
    boundaries = Path(__file__).parent / "fixtures" / "readers" / "topojson_small.json"
    assert run("validate", str(boundaries)).exit_code == 0


def test_validate_names_the_lines_of_ragged_rows(registry, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("indicator_id,area_code,period,numerator,denominator\ntesting.share,A1,2023,3,10\ntesting.share,A2,2023,4\n")
    result = run("validate", str(path))
    assert result.exit_code == 1 and "line 3: 4 cells" in result.output and "Traceback" not in result.output


def test_validate_rejects_implausible_numbers_and_dates(registry, tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text(f"indicator_id,area_code,period,numerator,denominator\ntesting.share,A1,2023,{2**60},{2**61}\n")
    result = run("validate", str(huge))
    assert result.exit_code == 1 and "'numerator' is implausibly large" in result.output
    els = tmp_path / "els.csv"
    els.write_text("area_code,indicator,period_start,period_length,value\nE06000001,Thing,-0001-01-01,P1Y,1\n")
    result = run("validate", str(els))
    assert result.exit_code == 1 and "from 1800 to 2200" in result.output and "Traceback" not in result.output


def test_validate_map_errors_are_usage_errors(registry, tmp_path):
    path = tmp_path / "published.csv"
    path.write_text("Area Code,Year,Count,Total\nA1,2023,3,10\n")
    result = run(
        "validate", "--map", "Count=numerator", "--map", "Total=numerator", "--set", "indicator_id=testing.share", str(path)
    )
    assert result.exit_code == 2 and "'Count', 'Total' all map onto 'numerator'" in result.output
    result = run("validate", "--map", "Count=numerator", "--map", "Count=denominator", str(path))
    assert result.exit_code == 2 and "'Count' is given twice" in result.output
    result = run("validate", "--format", "contract", "--map", "Count=numerator", str(path))
    assert result.exit_code == 2 and "--format cannot be combined" in result.output
