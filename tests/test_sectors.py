"""Sectors: what a plugin declares about its sector (title, spend lines, report cards, demo
spend), collected like indicators, so that the core names no sector.

Every registry here is built in the test from real plugin objects (``hookimpl`` functions
called through pluggy), so nothing else installed in the environment changes the results.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import publicservices as ps
from publicservices import DemoSpend, Indicator, PluginError, ReportCardScheme, Sector, hookimpl
from publicservices.plugin_api import Model, SectorPlugin, sector_plugin
from publicservices.plugins import DEFAULT_PLUGINS, ENV_TRACE_PLUGINS, PluginRegistry, PluginWarning, reset_registry
from publicservices.sectors import DEFAULT_CUTPOINTS, humanise, sector_title
from publicservices.synthetic.nation import DEFAULT_SPEND, DemoNation, declared_spend

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "publicservices"
READERS = Path(__file__).parent / "fixtures" / "readers"
# The sectors of this repository's plugins: the core must name none of them.
SECTOR_IDS = ("health", "schools", "policing", "welfare")


def indicator(id_: str, polarity: str = "higher_is_better", **kw) -> Indicator:
    return Indicator(
        id=id_,
        title=id_.split(".")[1].replace("_", " ").capitalize(),
        sector=id_.split(".")[0],
        measure=kw.pop("measure", "proportion"),
        multiplier=kw.pop("multiplier", 100),
        polarity=polarity,
        unit="%",
        source="Invented for the tests",
        definition="Share of things that went well, in per cent.",
        **kw,
    )


class Declares:
    """A plugin object that declares the sectors it is given."""

    def __init__(self, *sectors: Sector) -> None:
        self.sectors = sectors

    @hookimpl
    def publicservices_sectors(self, register):
        for sector in self.sectors:
            register(sector)


def registry(*plugins, defaults: bool = False) -> PluginRegistry:
    reg = PluginRegistry(entry_points=False, defaults=defaults)
    for i, plugin in enumerate(plugins):
        reg.register(plugin, name=f"plugin{i}")
    return reg


@pytest.fixture
def current():
    """Make a registry the process-wide one (for registered_sectors, grade_areas, read), then restore."""
    old = reset_registry()

    def use(reg: PluginRegistry) -> PluginRegistry:
        reset_registry(reg)
        return reg

    yield use
    reset_registry(old)


TRANSPORT = Sector(
    id="transport",
    title="Transport and roads",
    spend_services=("Highways and transport services",),
    report_card=ReportCardScheme(
        domains={"roads": ["transport.roads_good", "transport.casualties"], "buses": "transport.buses_on_time"},
        weights={"roads": 3, "buses": 1},
        cutpoints={"A": 90, "B": 70, "C": 30, "D": 10},
    ),
    demo=DemoSpend(per_head=95.0, need=0.05, growth=0.01, sd=0.15),
)
TRANSPORT_INDICATORS = (
    indicator("transport.roads_good"),
    indicator("transport.casualties", "lower_is_better", measure="rate", multiplier=100_000),
    indicator("transport.buses_on_time"),
)
TRANSPORT_MODELS = {
    "transport.roads_good": Model(baseline=80.0, tau=0.2, spend=0.3, efficiency=0.2, denominator_per_head=0.01),
    "transport.casualties": Model(baseline=45.0, tau=0.2, spend=0.2, efficiency=0.1, denominator_per_head=1.0),
    "transport.buses_on_time": Model(baseline=83.0, tau=0.25, spend=0.4, efficiency=0.3, denominator_per_head=0.05),
}


def transport_plugin() -> SectorPlugin:
    return sector_plugin(TRANSPORT, TRANSPORT_INDICATORS, models=TRANSPORT_MODELS)


# -- the declarations ---------------------------------------------------------------------------


def test_a_sector_declares_its_title_spend_lines_scheme_and_demo_spend():
    assert TRANSPORT.title == "Transport and roads"
    assert TRANSPORT.spend_services == ("Highways and transport services",)
    assert dict(TRANSPORT.report_card.domains) == {
        "roads": ("transport.roads_good", "transport.casualties"),
        "buses": ("transport.buses_on_time",),
    }
    assert TRANSPORT.report_card.weighted_domains == ("roads", "buses")
    assert TRANSPORT.demo.per_head == 95.0
    # one spend line may be given as a string; the rest default to "none declared"
    bare = Sector(id="parks", title="Parks", spend_services="Open spaces")
    assert bare.spend_services == ("Open spaces",) and bare.report_card is None and bare.demo is None
    assert humanise("road_safety") == "Road safety"


def test_an_invalid_sector_names_every_problem_and_the_fix():
    with pytest.raises(PluginError) as info:
        Sector(id="Road Safety", title=" ", spend_services=["A", "A"], report_card={"weights": {}}, demo=150.0)
    message = str(info.value)
    assert message.startswith("invalid sector 'Road Safety':")
    for expected in (
        "id 'Road Safety' must be lower-case letters",
        "title must be a non-empty string",
        "spend_services names 'A' more than once",
        "report_card must be a ReportCardScheme or None, not dict",
        "demo must be a DemoSpend or None, not float",
        "Fix: correct the Sector(...) declaration",
    ):
        assert expected in message, expected
    with pytest.raises(PluginError, match="spend_services must be the service lines' names"):
        Sector(id="parks", title="Parks", spend_services=[1, 2])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"domains": {}}, "domains must map each domain"),
        ({"domains": {"a": []}}, "domain 'a' must name its measures"),
        ({"domains": {"a": "x", "b": "y"}, "weights": {"a": 1}}, "no weight for domain(s) 'b'"),
        ({"domains": {"a": "x"}, "weights": {"a": 1, "z": 2}}, "weights name 'z', which is not a domain"),
        ({"domains": {"a": "x"}, "weights": {"a": -1}}, "weights must be non-negative numbers"),
        ({"domains": {"a": "x"}, "weights": {"a": 0}}, "weights must not all be zero"),
        ({"domains": {"a": "x"}, "cutpoints": {"A": 10, "B": 60, "C": 40, "D": 20}}, "in descending order"),
        ({"domains": {"a": "x"}, "cutpoints": {"A": 80, "B": 60}}, "each of A, B, C and D"),
        ({"domains": {"a": "x"}, "extra_credit": "b", "extra_credit_max": 5}, "extra_credit 'b' must be one of the domains"),
        ({"domains": {"a": "x", "b": "y"}, "extra_credit": "b"}, "earns nothing with extra_credit_max=0"),
        (
            {"domains": {"a": "x", "b": "y"}, "weights": {"a": 1, "b": 1}, "extra_credit": "b", "extra_credit_max": 5},
            "weights name 'b', which is not a weighted domain",
        ),
        ({"domains": {"a": "x"}, "extra_credit": "a", "extra_credit_max": 5}, "at least one domain must be weighted"),
        ({"domains": {"a": "x"}, "peer_weight": 1.5}, "peer_weight 1.5 must lie between 0 and 1"),
        ({"domains": {"a": "x"}, "polarity": {"x": "up"}}, "each direction must be one of"),
    ],
)
def test_an_invalid_report_card_scheme_says_what_and_how_to_fix(options, expected):
    with pytest.raises(PluginError) as info:
        ReportCardScheme(**options)
    assert expected in str(info.value)
    assert "Fix: correct the ReportCardScheme(...) declaration in the plugin." in str(info.value)


def test_a_scheme_is_read_only_and_hashable():
    scheme = ReportCardScheme(domains={"a": "x", "b": ["y", "z", "y"]})
    assert dict(scheme.domains) == {"a": ("x",), "b": ("y", "z")} and scheme.measures == ("x", "y", "z")
    assert scheme.weights is None and dict(scheme.cutpoints) == dict(DEFAULT_CUTPOINTS)
    with pytest.raises(TypeError):
        scheme.domains["c"] = ("w",)  # type: ignore[index]
    assert hash(scheme) == hash(ReportCardScheme(domains={"a": "x", "b": ["y", "z"]}))
    assert hash(TRANSPORT) == hash(
        Sector(
            id="transport",
            title="Transport and roads",
            spend_services=("Highways and transport services",),
            report_card=TRANSPORT.report_card,
            demo=TRANSPORT.demo,
        )
    )


def test_an_invalid_demo_spend_is_refused():
    with pytest.raises(PluginError, match=r"(?s)per_head 0 must be a positive number.*sd -1 must be a standard deviation"):
        DemoSpend(per_head=0, sd=-1)
    assert DemoSpend(per_head=10).need == 0.10


# -- the registry ---------------------------------------------------------------------------------


def test_the_registry_collects_sectors_in_order_of_id_through_pluggy(monkeypatch, capsys):
    monkeypatch.setenv(ENV_TRACE_PLUGINS, "1")
    reg = registry(Declares(Sector(id="zoos", title="Zoos")), transport_plugin())
    assert list(reg.sectors()) == ["transport", "zoos"]
    assert reg.sectors()["transport"] is TRANSPORT
    assert reg.declaring_plugin("transport").name == "plugin1" and reg.declaring_plugin("nothing") is None
    assert reg.spend_services() == {"Highways and transport services": "transport"}
    trace = capsys.readouterr().err
    assert "publicservices_sectors [hook]" in trace and "<register sectors for plugin 'plugin0'>" in trace
    infos = {i.name: i for i in reg.plugins()}
    assert infos["plugin0"].hooks == ["publicservices_sectors"]
    assert set(infos["plugin1"].hooks) == {"publicservices_sectors", "publicservices_indicators", "publicservices_demo_data"}


def test_a_sector_two_plugins_declare_is_used_by_neither_and_the_warning_names_both():
    reg = registry(Declares(TRANSPORT, Sector(id="zoos", title="Zoos")), Declares(Sector(id="transport", title="Roads")))
    with pytest.warns(
        PluginWarning,
        match=r"sector 'transport' is registered by plugin 'plugin0' \(in-process\) and "
        r"plugin 'plugin1' \(in-process\); neither of them is used",
    ):
        sectors = reg.sectors()
    assert list(sectors) == ["zoos"]  # the other declaration of the clashing plugin stays
    assert {i.name: i.status for i in reg.plugins()} == {"plugin0": "conflict", "plugin1": "conflict"}
    error = reg.explain_missing("sector", "transport")
    assert error is not None and "plugin0" in str(error) and "plugin1" in str(error)
    with pytest.raises(PluginError, match="sector 'transport'"):
        reg.check()
    # ... and the title falls back to the id, as for a sector nobody declares
    assert sector_title("transport", sectors) == "Transport"


def test_a_spend_line_two_sectors_declare_is_renamed_to_neither():
    reg = registry(
        Declares(Sector(id="roads", title="Roads", spend_services=("Highways", "Car parks"))),
        Declares(Sector(id="transport", title="Transport", spend_services=("Highways",))),
    )
    with pytest.warns(
        PluginWarning,
        match=r"spend service line 'Highways' is declared by sector 'roads' \(plugin 'plugin0' "
        r"\(in-process\)\) and sector 'transport' \(plugin 'plugin1' \(in-process\)\)",
    ):
        assert reg.spend_services() == {"Car parks": "roads"}
    assert list(reg.sectors()) == ["roads", "transport"]  # the sectors themselves still work
    assert {i.name: i.status for i in reg.plugins()} == {"plugin0": "conflict", "plugin1": "conflict"}


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        (lambda register: register("transport"), "register() expects a Sector (publicservices.plugin_api.Sector), got str"),
        (lambda register: (register(TRANSPORT), register(TRANSPORT)), "sector 'transport' is registered twice by this plugin"),
    ],
    ids=["not-a-sector", "twice"],
)
def test_registering_a_non_sector_or_a_sector_twice_disables_the_plugin(registered, expected):
    class Faulty:
        @hookimpl
        def publicservices_sectors(self, register):
            registered(register)

        @hookimpl
        def publicservices_indicators(self, register):
            register(indicator("transport.roads_good"))

    reg = registry(Faulty(), Declares(Sector(id="zoos", title="Zoos")))
    with pytest.warns(
        PluginWarning, match=re.escape(f"plugin 'plugin0' (in-process) is disabled: publicservices_sectors: {expected}")
    ):
        assert list(reg.sectors()) == ["zoos"]
    assert reg.indicators() == {}  # everything a disabled plugin registered is withdrawn
    if "twice" in expected:  # it was registered before the plugin broke: asking for it names the plugin
        error = reg.explain_missing("sector", "transport")
        assert error is not None and "plugin0" in str(error) and "disabled" in str(error)


def test_a_plugin_cannot_shadow_a_builtin_sector(tmp_path, monkeypatch):
    module = f"builtin_sector_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent("""
        from publicservices.plugin_api import Sector, hookimpl

        @hookimpl
        def publicservices_sectors(register):
            register(Sector(id="core_sector", title="Built in"))
    """),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("publicservices.plugins.DEFAULT_PLUGINS", (*DEFAULT_PLUGINS, module))
    try:
        reg = PluginRegistry(entry_points=False)
        reg.register(Declares(Sector(id="core_sector", title="Mine")), name="shadow")
        with pytest.warns(
            PluginWarning,
            match=f"plugin 'shadow'.*registers sector 'core_sector', which built-in plugin "
            f"'{module}' provides; the built-in sector is used",
        ):
            assert reg.sectors()["core_sector"].title == "Built in"
        assert {i.name: i.status for i in reg.plugins()}["shadow"] == "conflict"
    finally:
        sys.modules.pop(module, None)


def test_registered_sectors_reads_the_process_wide_registry(current):
    current(registry(transport_plugin()))
    assert ps.registered_sectors() == {"transport": TRANSPORT}
    sectors = ps.registered_sectors()
    assert sector_title("transport", sectors) == "Transport and roads" and sector_title("parks", sectors) == "Parks"


# -- a third-party sector gets its own figures, never the core's defaults ----------------------------


def test_a_third_party_sector_gets_its_own_demo_spend_not_default_figures():
    reg = registry(transport_plugin())
    assert declared_spend(reg) == {"transport": TRANSPORT.demo}
    dataset = ps.demo(seed=0, sectors=["transport"], registry=reg)
    assert dataset.sectors == ["transport"] and sorted(dataset.indicators) == sorted(TRANSPORT_MODELS)
    own = DemoNation(0, spend={"transport": TRANSPORT.demo})
    generic = DemoNation(0, services=["transport"], spend={})
    assert generic.spend_parameters["transport"] == DEFAULT_SPEND != TRANSPORT.demo
    assert dataset.spend.equals(own.spend) and not dataset.spend.equals(generic.spend)
    # spend per head in 2014/15 is about what the plugin declared (95), not the generic 150
    first = dataset.spend.filter(pl.col("period") == "2014/15").join(
        dataset.areas.select("area_code", "population"), on="area_code"
    )
    per_head = (first["spend"] / first["population"]).to_numpy()
    assert 80 < float(np.exp(np.log(per_head).mean())) < 110


def test_a_sector_without_demo_spend_gets_the_generic_figures():
    plugin = sector_plugin(
        Sector(id="parks", title="Parks"), [indicator("parks.green")], models={"parks.green": Model(baseline=60.0)}
    )
    dataset = ps.demo(seed=0, registry=registry(plugin))
    assert dataset.spend.equals(DemoNation(0, services=["parks"], spend={}).spend)


def test_a_third_party_sector_gets_its_own_title_on_pages_and_an_undeclared_one_a_note(current):
    from publicservices.site.pages import sector_title as page_title
    from publicservices.site.pages import untitled_note

    current(registry(transport_plugin()))
    assert page_title("transport") == "Transport and roads"  # not the id capitalised
    assert untitled_note("transport") is None
    assert page_title("road_safety") == "Road safety"
    note = untitled_note("road_safety")
    assert note is not None and "declares no title" in note and "Road safety" in note


def test_spend_lines_are_renamed_only_to_sectors_that_declare_them(current):
    current(registry(Declares(Sector(id="care", title="Social care", spend_services=("Adult Social Care",))), defaults=True))
    result = ps.read(READERS / "revenue_outturn.csv")
    services = set(result.spend.get_column("service"))
    # the core names no sector: education, police and public health keep slugs of their names here
    assert services == {"care", "education_services", "police_services", "public_health", "net_current_expenditure"}
    assert any("Adult Social Care -> care" in n for n in result.report.notes)


def test_grade_areas_grades_a_sector_on_its_plugins_scheme(current):
    rng = np.random.default_rng(4)
    codes = [f"E0600000{i}" for i in range(10)]
    values = pl.concat(
        [
            pl.DataFrame({"indicator_id": ind.id, "area_code": codes, "period": "2023/24", "value": rng.uniform(10, 90, 10)})
            for ind in TRANSPORT_INDICATORS
        ]
    )
    data = ps.Dataset(values, indicators={i.id: i for i in TRANSPORT_INDICATORS})
    current(registry(transport_plugin()))
    result = ps.grade_areas(data, sector="transport", n_sims=0)
    frame = result.frame
    assert {"score_roads", "score_buses"} <= set(frame.columns) and not result.notes  # the scheme, not the default
    np.testing.assert_allclose(frame["score"].to_numpy(), (3 * frame["score_roads"] + frame["score_buses"]).to_numpy() / 4)
    # the scheme's cut-points on the percentile of 10 areas (5, 15 ... 95): 1 A, 2 B, 4 C, 2 D, 1 F
    assert frame["grade"].value_counts().sort("grade")["count"].to_list() == [1, 2, 4, 2, 1]
    # a sector that declares no scheme is graded one domain per indicator, and says so
    current(registry(Declares(Sector(id="transport", title="Transport"))))
    plain = ps.grade_areas(data, sector="transport", n_sims=0)
    assert {f"score_{i.id}" for i in TRANSPORT_INDICATORS} <= set(plain.frame.columns)
    assert plain.notes[0].startswith("Equal weights: the transport sector declares no report-card scheme")


# -- the helper that makes a plugin's __init__.py a declaration ---------------------------------------


def test_sector_plugin_implements_only_the_hooks_it_has_something_for():
    plugin = transport_plugin()
    assert set(plugin.hooks) == {"publicservices_sectors", "publicservices_indicators", "publicservices_demo_data"}
    reader = ps.Reader(name="transport-counts", description="d", sniff=lambda cols: "bus_id" in cols, read=lambda p: None)
    full = sector_plugin(
        TRANSPORT,
        TRANSPORT_INDICATORS,
        models=TRANSPORT_MODELS,
        readers=[reader],
        els={"Bus punctuality": "transport.buses_on_time"},
    )
    assert full.reader_names == ["transport-counts", "transport-els"]
    reg = registry(full, defaults=True)
    assert {"transport-counts", "transport-els"} <= set(reg.readers())
    assert reg.readers()["transport-els"].read.els_indicators == {"bus punctuality": "transport.buses_on_time"}
    assert [g.sector for g in reg.demo_generators()] == ["transport"]
    assert sector_plugin(Sector(id="zoos", title="Zoos")).hooks.keys() == {"publicservices_sectors"}


def test_sector_plugin_puts_its_hooks_in_a_module_namespace():
    namespace: dict[str, object] = {"__name__": "publicservices_transport"}
    plugin = sector_plugin(TRANSPORT, TRANSPORT_INDICATORS, models=TRANSPORT_MODELS, namespace=namespace)
    assert {k for k in namespace if k.startswith("publicservices_")} == set(plugin.hooks)
    with pytest.raises(PluginError, match="already defines publicservices_sectors"):
        sector_plugin(TRANSPORT, namespace={"publicservices_sectors": lambda register: None})


def test_sector_plugin_refuses_an_inconsistent_declaration():
    with pytest.raises(PluginError) as info:
        sector_plugin(
            TRANSPORT,
            [*TRANSPORT_INDICATORS, indicator("zoos.visitors"), TRANSPORT_INDICATORS[0]],
            models={"transport.nothing": Model(baseline=1.0)},
            generate=lambda nation: None,
            els={"Zoo visitors": "zoos.visitors"},
        )
    message = str(info.value)
    for expected in (
        "invalid sector plugin 'transport'",
        "indicator 'zoos.visitors' is of sector 'zoos', not 'transport'",
        "indicator 'transport.roads_good' is given twice",
        "models name 'transport.nothing'",
        "models= (simulated with",
        "els maps onto 'zoos.visitors'",
        "Fix: correct the sector_plugin(...)",
    ):
        assert expected in message, expected
    with pytest.raises(PluginError, match="needs a Sector first"):
        sector_plugin("transport")  # type: ignore[arg-type]


def test_the_plugin_api_is_light_and_every_name_resolves():
    import publicservices.plugin_api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    code = (
        "import sys\nimport publicservices.plugin_api\nfrom publicservices.plugin_api import Sector, Indicator, Model, Reader\n"
        "print(sorted(m for m in ('polars', 'numpy', 'scipy', 'altair') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# -- the core names no sector ----------------------------------------------------------------------

# Known exceptions, each with its reason; the test fails when one is no longer needed.
ALLOWED: dict[str, set[str]] = {
    # the plural label of the "school" level and comparable set, not the schools sector
    "geography.py": {"schools"},
    # invented sample data for the site's tests and benchmarks (no plugin needed), dressed as two sectors
    "site/sample.py": {"health", "schools", "health.sample_screening", "health.sample_rate", "schools.sample_score"},
    # the built-in international reader files PISA means under schools.pisa_<subject> (ids kept unchanged)
    "default_plugins/international.py": {"schools.pisa_{}"},
    # the records behind the demo: one generator per record source the bundled plugins declare
    # (their aggregates are checked against those declarations by tests/test_aggregate.py)
    "synthetic/records.py": {
        "health.ae_attendances",
        "health.ae_4hr",
        "health.deaths",
        "health.cvd_mortality_preventable",
        "schools.ks4_pupils",
        "schools.attainment8",
        "policing.crimes",
        "policing.charge_rate",
    },
}


def _names_a_sector(text: str) -> bool:
    return text in SECTOR_IDS or any(text.startswith(f"{s}.") for s in SECTOR_IDS)


def test_the_core_names_no_sector_outside_docstrings():
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and _names_a_sector(node.value)
            ):
                found.setdefault(path.relative_to(SRC).as_posix(), set()).add(node.value)
    unexpected = {p: v - ALLOWED.get(p, set()) for p, v in found.items() if v - ALLOWED.get(p, set())}
    assert not unexpected, f"the core names sectors {unexpected}: take them from the registered Sector declarations"
    stale = {p: v - found.get(p, set()) for p, v in ALLOWED.items() if v - found.get(p, set())}
    assert not stale, f"no longer needed, remove from ALLOWED: {stale}"
