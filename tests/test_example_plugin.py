"""The "Write a sector plugin" page builds a real plugin: build it, install it, discover it.

The page's titled code blocks are the plugin's files. This test writes them to a temporary
folder, installs the package with pip into a separate target folder (never into the
project's virtual environment), and checks in a fresh interpreter that publicservices finds
it through its entry point, that its own contract test passes, and that the demo nation
gains a transport sector.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "plugins" / "write-a-plugin.md"
BLOCK = re.compile(r'```\w+ title="([^"]+)"\n(.*?)```', re.S)


def page_files() -> dict[str, str]:
    return {path: body for path, body in BLOCK.findall(PAGE.read_text(encoding="utf-8"))}


def test_page_holds_a_complete_plugin():
    files = page_files()
    assert {
        "pyproject.toml",
        "README.md",
        "src/publicservices_transport/__init__.py",
        "src/publicservices_transport/indicators.py",
        "src/publicservices_transport/bus_punctuality.py",
        "tests/fixtures/bus_punctuality.csv",
        "tests/test_transport_plugin.py",
    } <= set(files)
    assert '[project.entry-points.publicservices]\ntransport = "publicservices_transport"' in files["pyproject.toml"]


@pytest.mark.slow
def test_example_plugin_installs_and_is_discovered(tmp_path):
    source = tmp_path / "transport"
    for relative, body in page_files().items():
        target = source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    site = tmp_path / "site-packages"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert install.returncode == 0, install.stderr
    assert (site / "publicservices_transport" / "__init__.py").exists()

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("PUBLICSERVICES_LOAD_PLUGINS", None)
    script = textwrap.dedent(
        """
        from importlib import metadata
        import publicservices as ps
        from publicservices.plugins import get_registry
        from publicservices.synthetic import demo

        eps = [ep for ep in metadata.entry_points(group="publicservices") if ep.name == "transport"]
        assert eps and eps[0].value == "publicservices_transport", eps
        registry = get_registry()
        info = {p.name: p for p in registry.plugins()}["transport"]
        assert info.status == "ok" and info.distribution == "publicservices-transport" and info.version == "0.1.0", info
        assert registry.owner("transport.bus_punctuality") == "transport"
        assert "bus-punctuality" in ps.readers()
        result = ps.read(r"FIXTURE")
        assert result.report.reader == "bus-punctuality", result.report
        assert result.report.missing == {"not monitored (empty in the source file)": 1}, result.report.missing
        dataset = demo(sectors=["transport"])
        assert dataset.sectors == ["transport"] and len(dataset.indicators) == 3, dataset
        assert set(dataset.spend.get_column("service")) == {"transport"}
        print("discovered", sorted(dataset.indicators))
        """
    ).replace("FIXTURE", str(source / "tests" / "fixtures" / "bus_punctuality.csv"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "transport.bus_punctuality" in run.stdout

    # The plugin's own contract test, as the page tells its authors to run it.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(source), str(source / "tests")],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=source,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
