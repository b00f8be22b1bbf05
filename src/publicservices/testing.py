"""Contract tests for sector plugins, in one call, and a pytest plugin that offers them.

A plugin's own test suite runs::

    from publicservices.testing import check_plugin

    def test_contract(tmp_path):
        check_plugin("publicservices-health", reader_fixtures={"fingertips": FIXTURES / "fingertips.csv"})

or uses the ``plugin_contract`` fixture (this module is registered with pytest through
the ``pytest11`` entry point, so the fixture is available in every project that installs
publicservices). ``check_plugin`` loads the plugin on its own (with the core's built-in
plugins, nothing else), runs every check, and raises one ``AssertionError`` listing every
failure. It checks that:

* the plugin loads, implements only known hooks, and registers at least one indicator;
* each indicator has a title, unit, source and definition, a multiplier that suits its
  measure, and a sector matching its id;
* the plugin declares (``publicservices_sectors``) every sector its indicators belong to,
  each declared sector has indicators, and the measures its report-card scheme names by
  indicator id are indicators of the plugin with a direction;
* each international comparator belongs to a sector the plugin declares, matches one of the
  plugin's indicators, and names a registered reader;
* each demo-data generator returns :class:`~publicservices.synthetic.DemoData` whose values
  pass the data contract, cover every area and period of the demo nation, use only the
  plugin's indicators, agree with each indicator's measure (proportions within
  [0, multiplier], numerator <= denominator, value = numerator / denominator x multiplier
  for count measures, intervals around the value) and polarity (the true spend and
  efficiency effects point in the declared better direction), carry the truth, and are
  deterministic (same seed, same frames; another seed, other values);
* each reader has a fixture, recognises the fixture's header, reads it into a valid
  Dataset, accounts for every row (read = kept + set aside) and every missing value (the
  load report's missing counts add up to the empty values), and round-trips: the values
  written as a contract CSV and read back are unchanged.

Nothing heavy is imported at module import: pytest loads this module in every run.

Example:
    >>> result = check_plugin("publicservices-health", reader_fixtures={}, raise_on_failure=False)  # doctest: +SKIP
    >>> print(result)                                                                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["check_plugin", "PluginCheck", "plugin_contract"]

_SUITABLE_MULTIPLIERS = {
    "proportion": (1.0, 100.0, 1_000.0),
    "rate": (1.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0),
    "dsr": (1_000.0, 10_000.0, 100_000.0, 1_000_000.0),
    "ratio": (1.0, 100.0),
}


@dataclasses.dataclass
class PluginCheck:
    """The outcome of :func:`check_plugin`: what was checked, and every failure."""

    plugin: str
    passed: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    indicators: list[str] = dataclasses.field(default_factory=list)
    readers: list[str] = dataclasses.field(default_factory=list)
    sectors: list[str] = dataclasses.field(default_factory=list)
    """The sectors the plugin contributes demo data for."""
    declared: list[str] = dataclasses.field(default_factory=list)
    """The sectors the plugin declares (``publicservices_sectors``)."""
    comparators: list[str] = dataclasses.field(default_factory=list)
    """The international comparators the plugin registers."""

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def __str__(self) -> str:
        head = (
            f"plugin {self.plugin!r}: {len(self.passed)} checks passed, {len(self.failures)} failed "
            f"({len(self.indicators)} indicators, sectors {self.declared or 'none'}, readers {self.readers or 'none'}, "
            f"demo sectors {self.sectors or 'none'})"
        )
        return "\n".join([head, *(f"  FAIL {f}" for f in self.failures)])


def check_plugin(
    plugin: Any,
    *,
    reader_fixtures: Mapping[str, str | Path] | None = None,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> PluginCheck:
    """Run the plugin contract checks (see the module docstring) on one plugin.

    Parameters:
        plugin: an installed distribution name such as ``"publicservices-health"`` (its
            entry points in the ``publicservices`` group are loaded), or a plugin module or
            object with ``@hookimpl`` functions.
        reader_fixtures: ``{reader name: path of a small example file}``; every reader the
            plugin registers needs one.
        seed: demo nation seed for the demo-data checks (``seed + 1`` is used to check the
            data depend on the seed).
        raise_on_failure: raise one ``AssertionError`` listing every failure (default), or
            just return the :class:`PluginCheck`.
    """
    import warnings

    from publicservices.plugins import PluginRegistry, PluginWarning

    name = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", type(plugin).__name__)
    result = PluginCheck(plugin=name)
    registry = PluginRegistry(entry_points=False, defaults=True)
    with warnings.catch_warnings():
        # Every problem a warning would report is a failure in the result instead.
        warnings.simplefilter("ignore", PluginWarning)
        builtin_readers = set(registry.readers())
        plugin_names = _register(registry, plugin, result)
        if result.failures:
            return _finish(result, raise_on_failure)
        infos = [info for info in registry.plugins() if info.name in plugin_names]
        broken = [info for info in infos if info.error]
        if broken:
            for info in broken:
                result.fail(f"plugin {info.name!r} is broken: {info.error}")
            return _finish(result, raise_on_failure)
        result.passed.append("loads")
        for info in infos:
            for conflict in info.conflicts:
                result.fail(f"plugin {info.name!r}: {conflict}")

        indicators = {i: ind for i, ind in registry.indicators().items() if registry.owner(i) in plugin_names}
        result.indicators = sorted(indicators)
        _check_indicators(indicators, result)
        sectors = {
            sid: sector
            for sid, sector in registry.sectors().items()
            if (owner := registry.declaring_plugin(sid)) is not None and owner.name in plugin_names
        }
        result.declared = sorted(sectors)
        if indicators:
            _check_sectors(sectors, indicators, result)
        comparators = {
            cid: c
            for cid, c in registry.comparators().items()
            if (owner := registry.comparator_plugin(cid)) is not None and owner.name in plugin_names
        }
        result.comparators = sorted(comparators)
        if comparators:
            _check_comparators(comparators, sectors, indicators, registry.readers(), result)
        readers = {n: r for n, r in registry.readers().items() if n not in builtin_readers}
        result.readers = sorted(readers)
        _check_readers(readers, dict(reader_fixtures or {}), registry.indicators(), result)
        generators = [g for g in registry.demo_generators() if g.plugin in plugin_names]
        result.sectors = sorted({g.sector for g in generators})
        _check_demo(generators, indicators, seed, result, {s.id: s.demo for s in sectors.values() if s.demo is not None})
    return _finish(result, raise_on_failure)


def _finish(result: PluginCheck, raise_on_failure: bool) -> PluginCheck:
    if raise_on_failure and result.failures:
        raise AssertionError(str(result))  # a test helper: pytest reports an AssertionError as a failed test
    return result


def _register(registry: Any, plugin: Any, result: PluginCheck) -> set[str]:
    from importlib import metadata

    from publicservices.plugin_info import ENTRY_POINT_GROUP

    if not isinstance(plugin, str):
        registry.register(plugin, name=result.plugin)
        return {result.plugin}
    wanted = plugin.lower().replace("_", "-")
    names = set()
    for dist in metadata.distributions():
        if (dist.metadata["Name"] or "").lower().replace("_", "-") != wanted:
            continue
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP or ep.name in names:
                continue
            # The registry imports it (any failure, even SystemExit, marks it broken) and registers it.
            info = registry.load_entry_point(dist.metadata["Name"], ep)
            names.add(info.name)
        break
    if not names and not result.failures:
        result.fail(
            f"no entry point in group {ENTRY_POINT_GROUP!r} found for distribution {plugin!r}; is it installed, and does "
            f"its pyproject.toml declare [project.entry-points.{ENTRY_POINT_GROUP}]?"
        )
    return names


def _check_indicators(indicators: Mapping[str, Any], result: PluginCheck) -> None:
    if not indicators:
        result.fail("the plugin registers no indicators")
        return
    before = len(result.failures)
    for ind in indicators.values():
        for field in ("title", "unit", "source", "definition"):
            if not str(getattr(ind, field) or "").strip():
                result.fail(f"indicator {ind.id!r} has no {field}")
        if len(ind.definition.strip()) < 20:
            result.fail(f"indicator {ind.id!r}: the definition should say what is counted in a sentence (got {ind.definition!r})")
        allowed = _SUITABLE_MULTIPLIERS.get(ind.measure)
        if allowed and ind.multiplier not in allowed:
            result.fail(
                f"indicator {ind.id!r}: multiplier {ind.multiplier:g} is unusual for a {ind.measure} (expected one of {allowed})"
            )
        if ind.measure in ("mean", "score") and ind.multiplier != 1.0:
            result.fail(f"indicator {ind.id!r}: a {ind.measure} is reported as is; its multiplier should be 1")
        if not ind.id.startswith(ind.sector + "."):
            result.fail(f"indicator {ind.id!r}: id must start with its sector {ind.sector!r}")
    if len(result.failures) == before:
        result.passed.append("indicator metadata")


def _check_sectors(sectors: Mapping[str, Any], indicators: Mapping[str, Any], result: PluginCheck) -> None:
    from publicservices.indicators import ID_PATTERN

    before = len(result.failures)
    of_indicators = sorted({ind.sector for ind in indicators.values()})
    for sector in of_indicators:
        if sector not in sectors:
            result.fail(
                f"the plugin's indicators are of sector {sector!r}, which it does not declare: register "
                f"Sector(id={sector!r}, title=...) from publicservices_sectors (sector_plugin(...) does), so that "
                "pages show its title and spend, report cards and the demo use its figures"
            )
    for sector in sectors.values():
        if sector.id not in of_indicators:
            result.fail(f"sector {sector.id!r} is declared, but the plugin registers none of its indicators")
        scheme = sector.report_card
        if scheme is None:
            continue
        for measure in scheme.measures:
            if not ID_PATTERN.match(measure):
                continue  # a column name of wide data: nothing to check here
            ind = indicators.get(measure)
            if ind is None:
                result.fail(
                    f"sector {sector.id!r}: its report-card scheme grades {measure!r}, which the plugin does not register"
                )
            elif not ind.has_polarity and measure not in scheme.polarity:
                result.fail(
                    f"sector {sector.id!r}: its report-card scheme grades {measure!r}, which has no direction "
                    "(no_judgement indicators are never graded)"
                )
        gap = getattr(scheme, "closing_gap", None)
        if gap is not None:
            ind = indicators.get(gap.indicator)
            if ind is None:
                result.fail(
                    f"sector {sector.id!r}: its report card gives closing-the-gap credit on {gap.indicator!r}, "
                    "which the plugin does not register"
                )
            elif not ind.has_polarity and gap.indicator not in scheme.polarity:
                result.fail(
                    f"sector {sector.id!r}: its report card gives closing-the-gap credit on {gap.indicator!r}, which "
                    "has no direction (say whether the gap narrows as it falls: lower_is_better)"
                )
    if len(result.failures) == before:
        result.passed.append("sector declarations")


def _check_comparators(
    comparators: Mapping[str, Any],
    sectors: Mapping[str, Any],
    indicators: Mapping[str, Any],
    readers: Mapping[str, Any],
    result: PluginCheck,
) -> None:
    before = len(result.failures)
    for comparator in comparators.values():
        if comparator.sector not in sectors:
            result.fail(
                f"international comparator {comparator.id!r} is of sector {comparator.sector!r}, which the plugin does not declare"
            )
        if comparator.indicator not in indicators:
            result.fail(
                f"international comparator {comparator.id!r} matches indicator {comparator.indicator!r}, which the plugin "
                "does not register"
            )
        if comparator.reader not in readers:
            result.fail(
                f"international comparator {comparator.id!r} reads its table with reader {comparator.reader!r}, which is "
                f"not registered (readers: {', '.join(sorted(readers))})"
            )
    if len(result.failures) == before:
        result.passed.append("international comparators")


def _check_readers(readers: Mapping[str, Any], fixtures: dict[str, Any], known: Mapping[str, Any], result: PluginCheck) -> None:
    from publicservices.errors import PublicServicesError
    from publicservices.reading import ReadResult, read_header

    for name in sorted(set(fixtures) - set(readers)):
        result.fail(f"a fixture is given for reader {name!r}, which the plugin does not register (it has {sorted(readers)})")
    from publicservices.reading import _claims_anything

    for name, reader in sorted(readers.items()):
        if _claims_anything(reader):
            result.fail(
                f"reader {name!r} claims every file: its sniff accepts a header of made-up column names "
                "(it must test for the columns of its layout)"
            )
        if name not in fixtures:
            result.fail(f"reader {name!r} has no fixture: pass reader_fixtures={{{name!r}: path}} with a few example rows")
            continue
        path = Path(fixtures[name])
        before = len(result.failures)
        try:
            if not reader.sniff(read_header(path)):
                result.fail(f"reader {name!r} does not recognise the header of its fixture {path.name}")
            out = reader.read(path)
        except PublicServicesError as exc:
            result.fail(f"reader {name!r} cannot read its fixture {path.name}: {type(exc).__name__}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - a raw exception escaping a reader is itself a failure
            result.fail(
                f"reader {name!r} raised a raw {type(exc).__name__} on {path.name} (readers must raise publicservices errors): {exc}"
            )
            continue
        if not isinstance(out, ReadResult):
            result.fail(f"reader {name!r} returned {type(out).__name__}, not ReadResult")
            continue
        _check_read_result(name, path, out, known, result)
        if len(result.failures) == before:
            result.passed.append(f"reader {name}")


def _check_read_result(name: str, path: Path, out: Any, known: Mapping[str, Any], result: PluginCheck) -> None:
    import polars as pl

    from publicservices.errors import PublicServicesError
    from publicservices.reading import read

    report = out.report
    if report.rows_read != report.rows_kept + report.rows_set_aside:
        result.fail(
            f"reader {name!r} on {path.name}: rows do not add up: read {report.rows_read}, kept {report.rows_kept}, "
            f"set aside {report.rows_set_aside} (every row must be kept or counted as set aside)"
        )
    kept = out.values.height + (out.spend.height if out.spend is not None else 0)
    if kept != report.rows_kept:
        result.fail(f"reader {name!r} on {path.name}: the report says {report.rows_kept} rows kept but the result holds {kept}")
    empty = out.values.filter(pl.col("value").is_null() & pl.col("numerator").is_null()).height if out.values.height else 0
    counted = sum(report.missing.values())
    if counted < empty:
        result.fail(f"reader {name!r} on {path.name}: {empty} rows have no value but the report counts only {counted} missing")
    try:
        dataset = out.to_dataset(indicators={**known, **out.indicators})
    except PublicServicesError as exc:
        result.fail(f"reader {name!r} on {path.name}: the result is not a valid Dataset: {exc}")
        return
    if not dataset.values.height:
        return
    # Round trip: the contract CSV written from the values reads back unchanged.
    contract = [c for c in dataset.values.columns if c in _CONTRACT or c in _BREAKDOWNS]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "values.csv"
        dataset.values.select(contract).write_csv(target)
        try:
            back = read(target, format="contract").values.select(contract)
        except PublicServicesError as exc:
            result.fail(f"reader {name!r} on {path.name}: its values do not read back as a contract CSV: {exc}")
            return
    original = dataset.values.select(contract)
    if not back.equals(original):
        result.fail(f"reader {name!r} on {path.name}: values written as a contract CSV read back differently")


_CONTRACT = ("indicator_id", "area_code", "period", "period_start", "numerator", "denominator", "value", "lower_ci", "upper_ci")
_BREAKDOWNS = ("sex", "age", "category_type", "category")


def _check_demo(
    generators: list[Any], indicators: Mapping[str, Any], seed: int, result: PluginCheck, spend: Mapping[str, Any]
) -> None:
    from publicservices.synthetic.nation import DemoNation

    if not generators:
        return
    wanted = {g.sector for g in generators} | {i.service for i in indicators.values() if i.service}
    services = sorted(wanted)

    def nation(seed: int) -> Any:
        return DemoNation(seed, services=services, spend=spend)

    for generator in generators:
        label = f"demo data for {generator.sector!r}"
        before = len(result.failures)
        try:
            first = generator.generate(nation(seed))
            again = generator.generate(nation(seed))
            other = generator.generate(nation(seed + 1))
        except Exception as exc:  # noqa: BLE001 - report, do not crash the check
            result.fail(f"{label}: generate(nation) raised {type(exc).__name__}: {exc}")
            continue
        if not _is_demo_data(first, label, result):
            continue
        _check_demo_values(first, indicators, nation(seed), label, result)
        if not (first.values.equals(again.values) and _truth_equal(first.truth, again.truth)):
            result.fail(f"{label}: not deterministic: two runs with seed {seed} differ (use only nation.rng(key) for randomness)")
        if _is_demo_data(other, label, result) and first.values.equals(other.values):
            result.fail(f"{label}: seeds {seed} and {seed + 1} give identical values (draw from nation.rng(key))")
        if len(result.failures) == before:
            result.passed.append(label)


def _is_demo_data(data: Any, label: str, result: PluginCheck) -> bool:
    from publicservices.synthetic.model import DemoData

    if not isinstance(data, DemoData):
        result.fail(f"{label}: generate() returned {type(data).__name__}, not publicservices.synthetic.DemoData")
        return False
    return True


def _truth_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    import polars as pl

    if set(a) != set(b):
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, pl.DataFrame):
            if not (isinstance(y, pl.DataFrame) and x.equals(y)):
                return False
        elif x != y:
            return False
    return True


def _check_demo_values(data: Any, indicators: Mapping[str, Any], nation: Any, label: str, result: PluginCheck) -> None:
    import polars as pl

    from publicservices.errors import PublicServicesError
    from publicservices.frame import validate_values

    try:
        values = validate_values(data.values, indicators)
    except PublicServicesError as exc:
        result.fail(f"{label}: values break the data contract: {exc}")
        return
    expected = nation.areas.height * len(nation.periods)
    for ind_id, frame in values.group_by("indicator_id"):
        ind_id = ind_id[0]
        ind = indicators[ind_id]
        cells = frame.select("area_code", "period").unique().height
        if cells != expected:
            result.fail(f"{label}: {ind_id!r} covers {cells} area x period cells, not all {expected}")
        if not set(frame.get_column("area_code").unique()) <= set(nation.area_codes):
            result.fail(f"{label}: {ind_id!r} has area codes that are not in the demo nation")
        _check_measure(ind, frame, label, result)
        _check_polarity(ind, data.truth, label, result)
    truth = data.truth.get("values")
    if not isinstance(truth, pl.DataFrame) or "true_value" not in truth.columns:
        result.fail(f"{label}: truth['values'] must be a frame with true_value per indicator, area and period")
    elif (
        truth.select("indicator_id", "area_code", "period")
        .sort(pl.all())
        .equals(values.select("indicator_id", "area_code", "period").sort(pl.all()))
        is False
    ):
        result.fail(f"{label}: truth['values'] does not have one true value for every simulated row")
    else:
        props = [i for i, ind in indicators.items() if ind.measure == "proportion"]
        bad = truth.join(
            pl.DataFrame(
                {"indicator_id": props, "_m": [indicators[i].multiplier for i in props]},
                schema={"indicator_id": pl.String, "_m": pl.Float64},
            ),
            on="indicator_id",
        )
        if bad.filter((pl.col("true_value") < 0) | (pl.col("true_value") > pl.col("_m"))).height:
            result.fail(f"{label}: some true values of proportions lie outside [0, multiplier]")
    for key in ("tau2", "gradient"):
        missing = sorted(set(values.get_column("indicator_id").unique()) - set(data.truth.get(key, {})))
        if missing:
            result.fail(f"{label}: truth[{key!r}] has no entry for {missing[:5]}")


def _check_measure(ind: Any, frame: Any, label: str, result: PluginCheck) -> None:
    import polars as pl

    m = ind.multiplier
    where = f"{label}: {ind.id!r} ({ind.measure})"

    def count(expr: Any) -> int:
        return frame.select(expr.fill_null(False).sum()).item()

    if ind.measure in ("proportion", "rate", "dsr", "ratio"):
        if count(pl.col("numerator").is_null() | pl.col("denominator").is_null()):
            result.fail(f"{where}: a count measure needs numerator and denominator on every demo row")
            return
        if count(pl.col("numerator") < 0) or count(pl.col("value") < 0):
            result.fail(f"{where}: negative counts or values")
        if ind.measure in ("proportion", "rate"):
            ratio = pl.col("numerator") / pl.col("denominator") * m
            if count((pl.col("value") - ratio).abs() > 1e-9 * (1 + ratio.abs())):
                result.fail(f"{where}: value is not numerator / denominator x {m:g}")
    if ind.measure == "proportion":
        if count((pl.col("value") < 0) | (pl.col("value") > m)):
            result.fail(f"{where}: values outside [0, {m:g}]")
        if count(pl.col("numerator") > pl.col("denominator")):
            result.fail(f"{where}: numerator greater than denominator")
    if ind.measure in ("mean", "score"):
        if count(pl.col("value").is_null() | pl.col("value").is_nan()):
            result.fail(f"{where}: every demo row needs a value")
    if count((pl.col("lower_ci") > pl.col("value")) | (pl.col("upper_ci") < pl.col("value"))):
        result.fail(f"{where}: value outside its own interval")


def _check_polarity(ind: Any, truth: Mapping[str, Any], label: str, result: PluginCheck) -> None:
    sign = {"higher_is_better": 1.0, "lower_is_better": -1.0, "no_judgement": 0.0}[ind.polarity]
    for key in ("spend_effect", "efficiency_effect"):
        effect = truth.get(key, {}).get(ind.id)
        if effect is None:
            continue
        if not math.isfinite(effect):
            result.fail(f"{label}: {ind.id!r}: truth[{key!r}] is not finite")
        elif sign == 0 and effect != 0:
            result.fail(f"{label}: {ind.id!r} has no polarity but a {key.replace('_', ' ')} of {effect}")
        elif effect * sign < 0:
            result.fail(f"{label}: {ind.id!r} is {ind.polarity} but its {key.replace('_', ' ')} ({effect}) makes it worse")


# -- pytest plugin ---------------------------------------------------------------------------

try:  # pragma: no cover - pytest is present whenever this module is loaded as a plugin
    import pytest as _pytest

    _HAVE_PYTEST = True
except ImportError:  # pragma: no cover
    _HAVE_PYTEST = False


def _plugin_contract() -> Callable[..., PluginCheck]:
    """Fixture: the :func:`check_plugin` function, for plugin test suites."""
    return check_plugin


# a pytest fixture, and a plain function where pytest is not installed
plugin_contract = _pytest.fixture(_plugin_contract, name="plugin_contract") if _HAVE_PYTEST else _plugin_contract
