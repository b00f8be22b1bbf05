"""Real installed plugins, loaded through their entry points like any user's plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import publicservices as ps
from publicservices.plugins import PluginRegistry

PLUGINS = {"health": "publicservices-health", "schools": "publicservices-schools",
           "policing": "publicservices-policing", "welfare": "publicservices-welfare"}


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
    assert set(health.hooks) == {"publicservices_indicators", "publicservices_readers", "publicservices_demo_data"}
    assert not {"schools", "policing", "welfare"} & set(infos)
    indicators = registry.indicators()
    assert {i.sector for i in indicators.values()} == {"health"}
    # the six demo indicators plus every ONS Explore local statistics health indicator
    assert len(indicators) >= 6 and registry.owner("health.ae_4hr") == "health"
    assert {"fingertips", "health-els"} <= set(registry.readers())
    assert [g.sector for g in registry.demo_generators()] == ["health"]


def test_registered_indicators_cover_four_sectors():
    indicators = ps.registered_indicators()
    for sector in PLUGINS:
        assert len(ps.registered_indicators(sector)) >= 6, sector
    assert all(ind.source and ind.definition for ind in indicators.values())


def test_cli_lists_the_demo_indicators_by_sector():
    env = {k: v for k, v in os.environ.items() if k != "PUBLICSERVICES_LOAD_PLUGINS"}
    run = subprocess.run([sys.executable, "-m", "publicservices.cli", "indicators"], capture_output=True, text=True, env=env, timeout=120)
    if run.returncode != 0:  # the package may expose the CLI only as a console script
        exe = os.path.join(os.path.dirname(sys.executable), "publicservices")
        run = subprocess.run([exe, "indicators"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    for ind_id in ("health.ae_4hr", "schools.attainment8", "policing.homicide_rate", "welfare.pip_clearance_days"):
        assert ind_id in run.stdout
