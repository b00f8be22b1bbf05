"""The plugin system, exercised with real hook implementations registered in-test."""

from __future__ import annotations

import pytest

from publicservices import Indicator, PluginError, hookimpl
from publicservices.plugins import DEFAULT_PLUGINS, PluginRegistry
from publicservices.reading import Reader


def indicator(id_, **kw):
    sector = id_.split(".")[0]
    return Indicator(id=id_, title=id_.title(), sector=sector, measure=kw.pop("measure", "proportion"), multiplier=100, **kw)


class Health:
    @hookimpl
    def publicservices_indicators(self, register):
        register(indicator("health.a"))
        register(indicator("health.b", polarity="higher_is_better"))


class Schools:
    @hookimpl
    def publicservices_indicators(self, register):
        register(indicator("schools.a"))

    @hookimpl
    def publicservices_readers(self, register):
        register(Reader(name="schools-csv", description="d", sniff=lambda cols: "URN" in cols, read=lambda p: None))


def registry(*plugins, defaults=False):
    reg = PluginRegistry(entry_points=False, defaults=defaults)
    for i, p in enumerate(plugins):
        reg.register(p, name=f"plugin{i}")
    return reg


def test_indicators_from_several_plugins():
    reg = registry(Health(), Schools())
    assert sorted(reg.indicators()) == ["health.a", "health.b", "schools.a"]
    assert reg.owner("schools.a") == "plugin1"
    assert "schools-csv" in reg.readers()


def test_builtins_are_registered_through_the_same_hook():
    reg = PluginRegistry(entry_points=False)
    infos = {i.name: i for i in reg.plugins()}
    for name in DEFAULT_PLUGINS:
        assert infos[name].builtin and infos[name].status == "ok"
    assert "contract" in reg.readers()


def test_duplicate_id_across_plugins_names_both():
    class Again:
        @hookimpl
        def publicservices_indicators(self, register):
            register(indicator("health.a"))

    reg = registry(Health(), Again())
    with pytest.raises(PluginError, match="plugin1.*'health.a' is already registered by plugin 'plugin0'"):
        reg.indicators()
    statuses = {i.name: i.status for i in reg.plugins()}
    assert statuses == {"plugin0": "ok", "plugin1": "broken"}


def test_invalid_indicator_is_blamed_on_its_plugin():
    class Bad:
        @hookimpl
        def publicservices_indicators(self, register):
            register(Indicator(id="Bad Id", title="x", sector="bad", measure="proportion"))

    reg = registry(Health(), Bad())
    with pytest.raises(PluginError) as err:
        reg.indicators()
    assert "plugin1" in str(err.value) and "must look like 'sector.name'" in str(err.value)
    # The healthy plugin's indicators are not lost from the listing.
    assert [i.status for i in reg.plugins()] == ["ok", "broken"]


def test_misspelt_hook_fails_loudly():
    class Typo:
        @hookimpl
        def publicservices_indicatorz(self, register):  # pragma: no cover - never called
            pass

    reg = registry(Typo())
    (info,) = reg.plugins()
    assert info.status == "broken" and "publicservices_indicatorz" in info.error
    with pytest.raises(PluginError, match="publicservices_indicatorz"):
        reg.indicators()


def test_hook_that_raises_is_reported_with_location():
    class Crashes:
        @hookimpl
        def publicservices_indicators(self, register):
            raise RuntimeError("boom")

    reg = registry(Crashes())
    with pytest.raises(PluginError, match="RuntimeError: boom .*test_plugins.py"):
        reg.indicators()


def test_demo_generators_keep_registration_order():
    def make(sector):
        class P:
            @hookimpl
            def publicservices_demo_data(self, register):
                register(sector, lambda nation: None)

        return P()

    reg = registry(make("a"), make("b"), make("c"))
    assert [g.sector for g in reg.demo_generators()] == ["a", "b", "c"]


def test_registering_non_indicator_is_an_error():
    class Wrong:
        @hookimpl
        def publicservices_indicators(self, register):
            register({"id": "x.y"})

    with pytest.raises(PluginError, match="expects an Indicator"):
        registry(Wrong()).indicators()
