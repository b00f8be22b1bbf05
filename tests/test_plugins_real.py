"""Real installed plugins, loaded through their entry points like any user's plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import publicservices as ps
from publicservices.plugins import PluginRegistry

PLUGINS = {
    "health": "publicservices-health",
    "schools": "publicservices-schools",
    "policing": "publicservices-policing",
    "welfare": "publicservices-welfare",
}


def test_the_four_plugins_have_entry_points():
    found = {ep.name: ep for ep in metadata.entry_points(group="publicservices")}
    for name, distribution in PLUGINS.items():
        assert found[name].value == f"publicservices_{name}"
        assert found[name].dist.metadata["Name"] == distribution


def test_health_plugin_loads_through_its_entry_point_alone():
    registry = PluginRegistry(only=["publicservices-health"])
    infos = {p.name: p for p in registry.plugins()}
    health = infos["health"]
    assert health.status == "ok" and health.distribution == "publicservices-health" and health.version == "0.1.0"
    assert set(health.hooks) == {
        "publicservices_sectors",
        "publicservices_indicators",
        "publicservices_readers",
        "publicservices_demo_data",
    }
    assert not {"schools", "policing", "welfare"} & set(infos)
    indicators = registry.indicators()
    assert {i.sector for i in indicators.values()} == {"health"}
    # the six demo indicators plus every ONS Explore local statistics health indicator
    assert len(indicators) >= 6 and registry.owner("health.ae_4hr") == "health"
    assert {"fingertips", "health-els"} <= set(registry.readers())
    assert [g.sector for g in registry.demo_generators()] == ["health"]
    assert list(registry.sectors()) == ["health"] and registry.sectors()["health"].title == "Health"
    assert registry.declaring_plugin("health").name == "health"


def test_the_four_plugins_declare_their_sectors():
    registry = PluginRegistry(only=list(PLUGINS.values()))
    sectors = registry.sectors()
    assert list(sectors) == ["health", "policing", "schools", "welfare"]  # in order of id, whatever the load order
    assert {s.id: s.title for s in sectors.values()} == {
        "health": "Health",
        "policing": "Policing",
        "schools": "Schools",
        "welfare": "Welfare",
    }
    # the MHCLG Revenue Outturn service lines the core used to know by name
    assert registry.spend_services() == {
        "Public Health": "health",
        "Police services": "policing",
        "Education services": "schools",
    }
    # the demo spend the core used to hard-code, now each plugin's declaration
    assert {s.id: (s.demo.per_head, s.demo.need, s.demo.growth, s.demo.sd) for s in sectors.values()} == {
        "health": (1900.0, 0.12, 0.030, 0.10),
        "schools": (720.0, 0.10, 0.015, 0.10),
        "policing": (230.0, 0.15, 0.005, 0.14),
        "welfare": (2900.0, 0.35, 0.020, 0.08),
    }
    # only schools declares a report-card scheme: NYC's Progress Reports
    assert [s.id for s in sectors.values() if s.report_card] == ["schools"]
    assert dict(sectors["schools"].report_card.weights) == {"environment": 15.0, "performance": 25.0, "progress": 60.0}


def test_the_plugins_import_only_the_plugin_api():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "plugins"
    allowed = {"publicservices", "publicservices.plugin_api"}
    for path in sorted(root.glob("*/src/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                if name and name.split(".")[0] == "publicservices":
                    assert name in allowed, f"{path.relative_to(root)} imports {name}: plugins import only {sorted(allowed)}"


def test_registered_indicators_cover_four_sectors():
    indicators = ps.registered_indicators()
    for sector in PLUGINS:
        assert len(ps.registered_indicators(sector)) >= 6, sector
    assert all(ind.source and ind.definition for ind in indicators.values())


def test_cli_lists_the_demo_indicators_by_sector():
    env = {k: v for k, v in os.environ.items() if k != "PUBLICSERVICES_LOAD_PLUGINS"}
    run = subprocess.run(
        [sys.executable, "-m", "publicservices.cli", "indicators"], capture_output=True, text=True, env=env, timeout=120
    )
    if run.returncode != 0:  # the package may expose the CLI only as a console script
        exe = os.path.join(os.path.dirname(sys.executable), "publicservices")
        run = subprocess.run([exe, "indicators"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    for ind_id in ("health.ae_4hr", "schools.attainment8", "policing.homicide_rate", "welfare.pip_clearance_days"):
        assert ind_id in run.stdout
