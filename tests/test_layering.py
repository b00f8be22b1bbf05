"""Rules about who imports what that import-linter cannot express (its contracts are in pyproject.toml).

* The website uses the statistics through their public names only: no ``_name`` imported from
  ``publicservices.stats``, and no private module (``publicservices.stats._common``,
  ``publicservices.stats.ranking._rankutil``...). The grouping keys are public, in
  ``publicservices.keys``. Imports inside functions count too.
* The contract that keeps sector plugins to ``publicservices`` and ``publicservices.plugin_api``
  names every other core module; a new core module must join that list.
* The lazy public APIs repeat their ``_EXPORTS`` table as ``if TYPE_CHECKING:`` imports, for type
  checkers (ruff is told those imports are not unused); the two must name the same things.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest

import publicservices

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "publicservices"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_stats_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: what`` for each private statistics name or module the file imports."""
    where = path.relative_to(root)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
            if node.module == "publicservices":  # from publicservices import stats
                names = []
            elif node.module.startswith("publicservices.stats"):
                modules += [f"{node.module}.{name}" for name in names]
            else:
                continue
        elif isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["publicservices", "stats"] and any(_private(p) for p in parts[2:]):
                found.append(f"{where}:{node.lineno}: imports {module}")
                break
        else:
            found += [f"{where}:{node.lineno}: imports {node.module}.{n}" for n in names if _private(n)]
    return found


def test_site_imports_no_private_statistics():
    found = [hit for path in sorted((SRC / "site").rglob("*.py")) for hit in private_stats_imports(path)]
    assert not found, "the website imports private statistics (use a public name of publicservices.stats):\n" + "\n".join(found)


def test_the_private_import_check_sees_every_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from publicservices.stats import sii, _common\n"
        "from publicservices.stats._common import collect\n"
        "def f():\n"
        "    import publicservices.stats.ranking._rankutil\n"
        "    from publicservices.stats.fairness.sii import _regression_weights\n"
        "from publicservices.stats import wilson_ci\n"
        "from publicservices import stats\n",
        encoding="utf-8",
    )
    hits = private_stats_imports(sample, root=tmp_path)
    assert [int(hit.split(":")[1]) for hit in hits] == [1, 2, 4, 5], hits


def test_plugin_contract_names_every_core_module():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "plugins-use-plugin-api"]
    core = {f"publicservices.{m.name}" for m in pkgutil.iter_modules(publicservices.__path__)} - {"publicservices.plugin_api"}
    assert set(contract["forbidden_modules"]) == core


@pytest.mark.parametrize(
    ("module", "path"),
    [
        ("publicservices", SRC / "__init__.py"),
        ("publicservices.plugin_api", SRC / "plugin_api.py"),
        ("publicservices.synthetic", SRC / "synthetic" / "__init__.py"),
    ],
)
def test_lazy_exports_match_their_type_checking_imports(module, path):
    seen = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            seen |= {alias.asname or alias.name for n in ast.walk(node) if isinstance(n, ast.ImportFrom) for alias in n.names}
    assert seen == set(importlib.import_module(module)._EXPORTS)
