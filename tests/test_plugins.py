"""The plugin system, exercised with real hook implementations and real installed distributions.

In-process plugins are registered with pluggy directly. "Installed" plugins are real
distributions (a ``.dist-info`` folder with an entry point, and the module it names) written
to a temporary folder on ``sys.path``, found through ``importlib.metadata`` like any
pip-installed plugin, and removed again after the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from publicservices import Indicator, PluginError, ReaderError, hookimpl
from publicservices.plugins import (
    DEFAULT_PLUGINS,
    ENV_LOAD_PLUGINS,
    ENV_TRACE_PLUGINS,
    PluginRegistry,
    PluginWarning,
    get_registry,
    registered_indicators,
    reset_registry,
)
from publicservices.reading import Reader, read, read_csv, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "readers"
SCRIPT = Path(sys.executable).with_name("publicservices")


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


@pytest.fixture
def current():
    """Make a registry the process-wide one (for read/sniff/registered_indicators), then restore."""
    old = reset_registry()

    def use(reg):
        reset_registry(reg)
        return reg

    yield use
    reset_registry(old)


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Write real distributions with a ``publicservices`` entry point into a folder on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(dist: str, source: str, *, entry_point: str | None = None) -> str:
        module = f"{dist.replace('-', '_')}_{abs(hash(str(tmp_path))) % 10**8}"
        info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(
            f"[publicservices]\n{entry_point or dist.removeprefix('publicservices-')} = {module}\n", encoding="utf-8"
        )
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        modules.append(module)
        import importlib

        importlib.invalidate_caches()
        return module

    install.site = site
    yield install
    for module in modules:
        sys.modules.pop(module, None)


IMPOSTOR = """
    from publicservices import Indicator, hookimpl

    @hookimpl
    def publicservices_indicators(register):
        register(Indicator(id="health.ae_4hr", title="Not the real one", sector="health", measure="proportion",
                           multiplier=100))
        register(Indicator(id="impostor.own", title="Its own", sector="impostor", measure="score"))
"""


# -- working plugins --------------------------------------------------------------------------


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
        assert infos[name].import_seconds is not None
    assert "contract" in reg.readers()


def test_demo_generators_keep_registration_order():
    def make(sector):
        class P:
            @hookimpl
            def publicservices_demo_data(self, register):
                register(sector, lambda nation: None)

        return P()

    reg = registry(make("a"), make("b"), make("c"))
    assert [g.sector for g in reg.demo_generators()] == ["a", "b", "c"]


def test_hooks_are_called_through_pluggy_with_tracing(monkeypatch, capsys):
    monkeypatch.setenv(ENV_TRACE_PLUGINS, "1")
    reg = registry(Health())
    assert sorted(reg.indicators()) == ["health.a", "health.b"]
    trace = capsys.readouterr().err
    assert "publicservices_indicators [hook]" in trace
    assert "<register indicators for plugin 'plugin0'>" in trace


# -- a faulty plugin is disabled, the rest work -------------------------------------------------


def test_hook_that_raises_disables_only_its_plugin_with_location():
    class Crashes:
        @hookimpl
        def publicservices_indicators(self, register):
            register(indicator("crashy.first"))
            raise RuntimeError("boom")

    reg = registry(Health(), Crashes())
    with pytest.warns(
        PluginWarning, match=r"plugin 'plugin1' \(in-process\) is disabled: .*RuntimeError: boom .*test_plugins.py"
    ):
        assert sorted(reg.indicators()) == ["health.a", "health.b"]
    assert {i.name: i.status for i in reg.plugins()} == {"plugin0": "ok", "plugin1": "broken"}
    # Asking for what only the disabled plugin provides names it.
    error = reg.explain_missing("indicator", "crashy.first")
    assert isinstance(error, PluginError) and "plugin 'plugin1'" in str(error) and "RuntimeError: boom" in str(error)
    assert reg.explain_missing("indicator", "nobody.has_this") is None


def test_hook_that_calls_sys_exit_is_disabled():
    class Exits:
        @hookimpl
        def publicservices_readers(self, register):
            sys.exit(3)

    reg = registry(Exits(), Schools())
    with pytest.warns(PluginWarning, match=r"plugin 'plugin0'.*publicservices_readers raised SystemExit: 3"):
        assert "schools-csv" in reg.readers()


def test_invalid_indicator_is_blamed_on_its_plugin():
    class Bad:
        @hookimpl
        def publicservices_indicators(self, register):
            register(Indicator(id="Bad Id", title="x", sector="bad", measure="proportion"))

    reg = registry(Health(), Bad())
    with pytest.warns(PluginWarning, match=r"plugin 'plugin1'(.|\n)*must look like 'sector.name'"):
        assert sorted(reg.indicators()) == ["health.a", "health.b"]
    assert [i.status for i in reg.plugins()] == ["ok", "broken"]


def test_registering_non_indicator_disables_the_plugin():
    class Wrong:
        @hookimpl
        def publicservices_indicators(self, register):
            register({"id": "x.y"})

    reg = registry(Wrong(), Health())
    with pytest.warns(PluginWarning, match="expects an Indicator"):
        assert sorted(reg.indicators()) == ["health.a", "health.b"]


def test_misspelt_hook_fails_loudly():
    class Typo:
        @hookimpl
        def publicservices_indicatorz(self, register):  # pragma: no cover - never called
            pass

    reg = registry(Typo(), Health())
    with pytest.warns(PluginWarning, match="publicservices_indicatorz"):
        infos = {i.name: i for i in reg.plugins()}
    assert infos["plugin0"].status == "broken" and "publicservices_indicatorz" in infos["plugin0"].error
    assert sorted(reg.indicators()) == ["health.a", "health.b"]
    with pytest.raises(PluginError, match="publicservices_indicatorz"):
        reg.check()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raise ImportError('needs a missing library')", "ImportError: needs a missing library"),
        ("import sys\nsys.exit(3)", "SystemExit: 3"),
    ],
    ids=["ImportError", "SystemExit"],
)
def test_installed_plugin_that_fails_to_import_is_disabled(install, source, expected):
    module = install("publicservices-faulty", source)
    reg = PluginRegistry(only=["publicservices-faulty", "publicservices-health"])
    with pytest.warns(PluginWarning) as caught:
        indicators = reg.indicators()
    message = next(str(w.message) for w in caught if "faulty" in str(w.message))
    assert "plugin 'faulty' (publicservices-faulty) is disabled" in message and expected in message
    assert f"{module}.py" in message  # where it failed
    assert f"{ENV_LOAD_PLUGINS}=publicservices-health" in message  # how to leave it out
    assert "health.ae_4hr" in indicators and reg.owner("health.ae_4hr") == "health"
    infos = {i.name: i for i in reg.plugins()}
    assert infos["faulty"].status == "broken" and expected in infos["faulty"].error
    assert infos["health"].status == "ok"
    # Its sector is named as the reason when asked for.
    error = reg.explain_missing("indicator", "faulty.anything")
    assert error is not None and "publicservices-faulty" in str(error) and expected in str(error)


def test_registered_indicators_for_a_disabled_plugins_sector_names_it(install, current):
    install("publicservices-faulty", "raise ImportError('needs a missing library')")
    current(PluginRegistry(only=["faulty", "health"]))
    with pytest.warns(PluginWarning):
        assert registered_indicators("health")
    with pytest.raises(PluginError, match="publicservices-faulty.*needs a missing library"):
        registered_indicators("faulty")
    assert registered_indicators("nosuchsector") == {}


def test_cli_survives_a_plugin_that_exits_at_import_and_help_imports_nothing(install, tmp_path):
    marker = tmp_path / "imported"
    install("publicservices-exits", f"open({str(marker)!r}, 'w').close()\nimport sys\nsys.exit(3)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(install.site), os.environ.get("PYTHONPATH")]))}
    env.pop(ENV_LOAD_PLUGINS, None)
    env.pop(ENV_TRACE_PLUGINS, None)

    helped = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert helped.returncode == 0 and "indicators" in helped.stdout
    assert not marker.exists(), "--help imported a plugin"

    listed = subprocess.run([str(SCRIPT), "indicators"], capture_output=True, text=True, env=env, timeout=120)
    assert marker.exists()
    assert listed.returncode == 0, listed.stderr
    assert "health.ae_4hr" in listed.stdout and "schools.attainment8" in listed.stdout
    assert "Warning: plugin 'exits' (publicservices-exits) is disabled" in listed.stderr
    assert "SystemExit: 3" in listed.stderr and "Traceback" not in listed.stderr

    plugins = subprocess.run([str(SCRIPT), "plugins"], capture_output=True, text=True, env=env, timeout=120)
    assert plugins.returncode == 0
    row = next(line for line in plugins.stdout.splitlines() if line.startswith("exits "))
    assert "publicservices-exits" in row and row.rstrip().endswith("broken") and " s " in row
    assert "SystemExit: 3" in plugins.stderr


# -- clashes keep neither; a built-in wins --------------------------------------------------------


def test_duplicate_id_across_plugins_keeps_neither_and_names_both():
    class Again:
        @hookimpl
        def publicservices_indicators(self, register):
            register(indicator("health.a"))
            register(indicator("again.own"))

    reg = registry(Health(), Again())
    with pytest.warns(
        PluginWarning,
        match=r"indicator 'health.a' is registered by plugin 'plugin0' \(in-process\) and "
        r"plugin 'plugin1' \(in-process\); neither of them is used",
    ):
        assert sorted(reg.indicators()) == ["again.own", "health.b"]
    assert reg.owner("health.a") is None
    statuses = {i.name: i.status for i in reg.plugins()}
    assert statuses == {"plugin0": "conflict", "plugin1": "conflict"}
    error = reg.explain_missing("indicator", "health.a")
    assert error is not None and "plugin0" in str(error) and "plugin1" in str(error)
    with pytest.raises(PluginError, match="health.a"):
        reg.check()


def test_plugin_reusing_health_ae_4hr_does_not_break_the_real_health_plugin(install):
    install("publicservices-impostor", IMPOSTOR)
    reg = PluginRegistry(only=["health", "publicservices-impostor"])
    with pytest.warns(PluginWarning, match="indicator 'health.ae_4hr' is registered by") as caught:
        indicators = reg.indicators()
    (message,) = [str(w.message) for w in caught if "health.ae_4hr" in str(w.message)]
    assert "plugin 'health' (publicservices-health)" in message and "plugin 'impostor' (publicservices-impostor)" in message
    assert "neither of them is used" in message
    assert "health.ae_4hr" not in indicators
    assert "health.diabetes_prevalence" in indicators and reg.owner("impostor.own") == "impostor"
    infos = {i.name: i for i in reg.plugins()}
    assert infos["health"].status == "conflict" and not infos["health"].error
    assert "impostor" in infos["health"].conflicts[0] and "health" in infos["impostor"].conflicts[0]
    # The health plugin's demo data still works, without the id nobody owns.
    from publicservices.synthetic import demo

    data = demo(sectors="health", registry=reg)
    assert "health.ae_4hr" not in data.indicators and "health.diabetes_prevalence" in data.indicators


def test_a_plugin_cannot_shadow_a_builtin_reader():
    class Shadow:
        @hookimpl
        def publicservices_readers(self, register):
            register(Reader(name="contract", description="mine", sniff=lambda cols: False, read=lambda p: None))

    reg = PluginRegistry(entry_points=False)
    reg.register(Shadow(), name="shadow")
    with pytest.warns(
        PluginWarning,
        match="plugin 'shadow'.*registers reader 'contract', which built-in plugin "
        "'publicservices.default_plugins.readers' provides",
    ):
        assert reg.readers()["contract"].description != "mine"
    assert {i.name: i.status for i in reg.plugins()}["shadow"] == "conflict"


# -- readers: a faulty sniff never breaks every read ------------------------------------------------


def test_sniff_that_raises_is_left_out(current):
    class Raises:
        @hookimpl
        def publicservices_readers(self, register):
            register(Reader(name="fragile", description="d", sniff=lambda cols: cols[99], read=lambda p: None))

    reg = current(PluginRegistry(entry_points=False))
    reg.register(Raises(), name="fragile-plugin")
    with pytest.warns(PluginWarning, match=r"reader 'fragile' \(plugin 'fragile-plugin'.*IndexError"):
        assert sniff(FIXTURES / "contract.csv").name == "contract"
    with pytest.warns(PluginWarning, match="fragile"):
        assert read(FIXTURES / "els.csv").report.reader == "ons-els"


def test_reader_that_claims_every_file_is_ignored_for_sniffing(current, tmp_path):
    class Greedy:
        @hookimpl
        def publicservices_readers(self, register):
            register(
                Reader(
                    name="greedy",
                    description="d",
                    sniff=lambda cols: True,
                    read=lambda path, **options: read_csv(path, reader_name="greedy"),
                )
            )

    reg = current(PluginRegistry(entry_points=False))
    reg.register(Greedy(), name="greedy-plugin")
    with pytest.warns(PluginWarning, match="reader 'greedy'.*would claim every file"):
        assert sniff(FIXTURES / "contract.csv").name == "contract"
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.warns(PluginWarning), pytest.raises(ReaderError, match="no reader recognises"):
        sniff(other)
    assert read(FIXTURES / "contract.csv", format="greedy").report.reader == "greedy"  # still usable by name


def test_builtin_reader_wins_over_a_plugin_reader_for_the_same_file(current):
    from publicservices.default_plugins.els import sniff_els

    class Copycat:
        @hookimpl
        def publicservices_readers(self, register):
            register(Reader(name="my-els", description="d", sniff=sniff_els, read=lambda p: None))

    reg = current(PluginRegistry(entry_points=False))
    reg.register(Copycat(), name="copycat")
    assert sniff(FIXTURES / "els.csv").name == "ons-els"


def test_several_plugin_readers_claiming_a_file_is_an_error_naming_them(current, tmp_path):
    class Other:
        @hookimpl
        def publicservices_readers(self, register):
            register(Reader(name="urn-csv", description="d", sniff=lambda cols: "URN" in cols, read=lambda p: None))

    reg = current(PluginRegistry(entry_points=False))
    reg.register(Schools(), name="schools")
    reg.register(Other(), name="other")
    path = tmp_path / "urn.csv"
    path.write_text("URN,score\n1,2\n", encoding="utf-8")
    with pytest.raises(
        ReaderError,
        match=r"2 readers recognise.*'schools-csv' \(plugin 'schools'.*'urn-csv' \(plugin 'other'"
        r"(.|\n)*format=",
    ):
        sniff(path)


def test_unknown_reader_from_a_disabled_plugin_names_it(current, tmp_path):
    class HalfDone:
        @hookimpl
        def publicservices_readers(self, register):
            register(Reader(name="half", description="d", sniff=lambda cols: False, read=lambda p: None))
            raise ValueError("not finished")

    reg = current(PluginRegistry(entry_points=False))
    reg.register(HalfDone(), name="half-done")
    with pytest.warns(PluginWarning, match="half-done"):
        reg.readers()
    with pytest.raises(PluginError, match="reader 'half' comes from plugin 'half-done'.*ValueError: not finished"):
        read(FIXTURES / "contract.csv", format="half")
    with pytest.raises(ReaderError, match="unknown reader 'nope'(.|\n)*half-done"):
        read(FIXTURES / "contract.csv", format="nope")


# -- loading: lazy, timed, and chosen by name ---------------------------------------------------------


def test_plugins_load_lazily_and_their_import_time_is_recorded(install, monkeypatch):
    module = install(
        "publicservices-sluggish",
        """
        import time
        time.sleep(0.3)
        from publicservices import Indicator, hookimpl

        @hookimpl
        def publicservices_indicators(register):
            register(Indicator(id="sluggish.x", title="X", sector="sluggish", measure="score"))
    """,
    )
    monkeypatch.setattr("publicservices.plugins.SLOW_PLUGIN_SECONDS", 0.2)
    reg = PluginRegistry(only=["sluggish"])
    assert module not in sys.modules  # constructing the registry imports nothing
    with pytest.warns(PluginWarning, match=r"plugin 'sluggish' \(publicservices-sluggish\) took 0\.\d s to load"):
        assert "sluggish.x" in reg.indicators()
    assert module in sys.modules
    info = {i.name: i for i in reg.plugins()}["sluggish"]
    assert info.import_seconds >= 0.3 and info.load_seconds >= info.import_seconds
    assert info.to_dict()["import_seconds"] >= 0.3


@pytest.mark.parametrize("selection", ["health", "publicservices-health", "publicservices_health", " Health "])
def test_load_plugins_accepts_entry_point_distribution_and_module_names(monkeypatch, current, selection):
    monkeypatch.setenv(ENV_LOAD_PLUGINS, selection)
    current(None)
    names = {p.name for p in get_registry().plugins()}
    assert names == set(DEFAULT_PLUGINS) | {"health"}


def test_load_plugins_unknown_name_warns_with_the_installed_names(monkeypatch, current):
    monkeypatch.setenv(ENV_LOAD_PLUGINS, "helth,schools")
    current(None)
    with pytest.warns(
        PluginWarning,
        match=r"PUBLICSERVICES_LOAD_PLUGINS names 'helth', which matches no installed "
        r"plugin; installed plugins .*health \(publicservices-health\)",
    ):
        names = {p.name for p in get_registry().plugins()}
    assert names == set(DEFAULT_PLUGINS) | {"schools"}
