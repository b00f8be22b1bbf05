"""The base install, ``pip install publicservices`` with no extras, is what an analyst needs.

It has no MkDocs, no Material theme and no vl-convert (those come with ``[site]``), and in it:
``import publicservices``, the demo nation, outcomes, a chart's ``to_dict()``, notebook HTML,
``publicservices --help`` and ``validate`` all work, and ``publicservices publish`` stops
before doing any work with ``MissingDependency`` saying ``pip install 'publicservices[site]'``.

The checks run in a second virtual environment: ``.venv-base`` (made by ``make base-venv``,
which ``make test`` runs first) when it is newer than every pyproject.toml, or else a fresh
one in a temporary folder. Either way the working tree and the four sector plugins are
installed into it first with a plain ``pip install`` (dependencies resolved by pip, no
extras), so it tests this checkout. Under ``CI=true`` the module must run; on a laptop it
skips only when no virtual environment can be made.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, require

pytestmark = pytest.mark.slow

BASE_VENV = REPO / ".venv-base"
PLUGINS = ("health", "schools", "policing", "welfare")
PYPROJECTS = [REPO / "pyproject.toml", *(REPO / "plugins" / p / "pyproject.toml" for p in PLUGINS)]
SITE_MODULES = ("mkdocs", "material", "vl_convert")
INSTALL_MESSAGE = "pip install 'publicservices[site]'"


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _cached_venv_is_current() -> bool:
    """``.venv-base`` exists and was made after the last change to any pyproject.toml."""
    stamp = BASE_VENV / ".installed"
    if not stamp.exists() or not _bin(BASE_VENV, "python").exists():
        return False
    return stamp.stat().st_mtime >= max(p.stat().st_mtime for p in PYPROJECTS if p.exists())


def _environment(venv: Path) -> dict[str, str]:
    """This process's environment, pointed at ``venv`` alone (nothing of .venv leaks in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(_bin(venv, "python").parent), env.get("PATH", "")])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One test session at a time installs into and runs from a shared ``.venv-base``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """(venv, environment) of a venv holding this checkout's base install, no extras."""
    if _cached_venv_is_current():
        venv = BASE_VENV
    else:
        venv = tmp_path_factory.mktemp("base-install") / "venv"
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        require(
            made.returncode == 0 and _bin(venv, "python").exists(),
            f"cannot create a virtual environment for the base install: {made.stderr.strip()[-500:]}",
        )
    env = _environment(venv)
    with _locked(venv):
        # A plain install of the working tree and the plugins: pip resolves the base
        # dependencies (already there in .venv-base) and installs no extra.
        installed = subprocess.run(
            [
                str(_bin(venv, "python")),
                "-m",
                "pip",
                "install",
                "--quiet",
                str(REPO),
                *(str(REPO / "plugins" / p) for p in PLUGINS),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path_factory.getbasetemp(),
            timeout=600,
        )
        assert installed.returncode == 0, (
            f"pip install of the base install failed:\n{installed.stdout[-2000:]}\n{installed.stderr[-4000:]}"
        )
        yield venv, env


def _run(base: tuple[Path, dict[str, str]], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    venv, env = base
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _python(base: tuple[Path, dict[str, str]], code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    venv, _ = base
    return _run(base, str(_bin(venv, "python")), "-c", textwrap.dedent(code), cwd=cwd)


def test_base_install_has_no_site_toolchain(base, tmp_path):
    out = _python(
        base,
        """
        import importlib.metadata, importlib.util, json, publicservices
        print(json.dumps({
            "file": publicservices.__file__,
            "importable": [m for m in ("mkdocs", "material", "vl_convert") if importlib.util.find_spec(m)],
            "extras": importlib.metadata.metadata("publicservices").get_all("Provides-Extra"),
        }))
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["importable"] == [], f"the base install has {found['importable']}: they belong in the [site] extra"
    assert Path(found["file"]).resolve().is_relative_to(base[0].resolve()), "publicservices is not imported from the base venv"
    assert not Path(found["file"]).resolve().is_relative_to(REPO / "src"), "the base venv has an editable install"
    assert "site" in found["extras"] and "dev" in found["extras"]


def test_notebook_api_works_without_the_site_extra(base, tmp_path):
    out = _python(
        base,
        """
        import json, sys
        import publicservices as ps

        data = ps.demo()
        frame = ps.outcomes(data)
        assert frame.height > 0
        result = ps.funnel_check(data, "health.ae_4hr")
        spec = result.chart().to_dict()
        html = result._repr_html_()
        assert "<" in html and str(result)
        print(json.dumps({
            "sectors": sorted(data.sectors),
            "spec": sorted(spec),
            "loaded": sorted(m for m in ("mkdocs", "material", "vl_convert") if m in sys.modules),
        }))
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["sectors"] == ["health", "policing", "schools", "welfare"]
    assert "$schema" in found["spec"]
    assert found["loaded"] == []


def test_cli_help_and_validate_work_without_the_site_extra(base, tmp_path):
    venv, _ = base
    cli = str(_bin(venv, "publicservices"))
    shown = _run(base, cli, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "publish" in shown.stdout and "validate" in shown.stdout
    checked = _run(base, cli, "validate", str(REPO / "tests" / "fixtures" / "readers" / "contract.csv"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 of 1 file(s) valid" in checked.stdout


@pytest.mark.parametrize("extra_args", [(), ("--generate-only",)], ids=["build", "generate-only"])
def test_publish_asks_for_the_site_extra_before_any_work(base, tmp_path, extra_args):
    venv, _ = base
    out = tmp_path / "site"
    ran = _run(base, str(_bin(venv, "publicservices")), "publish", "--out", str(out), *extra_args, cwd=tmp_path)
    assert ran.returncode != 0
    assert "MissingDependency" in ran.stderr, ran.stderr
    assert INSTALL_MESSAGE in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr
    assert not out.exists(), "publish did work before saying the [site] extra is missing"
    assert [p.name for p in tmp_path.iterdir()] == [], "publish left a staging folder behind"


def test_site_code_raises_missing_dependency(base, tmp_path):
    out = _python(
        base,
        """
        import json
        from publicservices.errors import MissingDependency, PublicServicesError
        from publicservices.site import publish
        from publicservices.site.assets import vega_bundle
        from publicservices.site.build import run_mkdocs

        seen = {}
        for name, call in [("publish", lambda: publish(None, "site")),
                           ("vega_bundle", vega_bundle),
                           ("run_mkdocs", lambda: run_mkdocs("mkdocs.yml", "site", lambda n: None, 0))]:
            try:
                call()
            except MissingDependency as exc:
                assert isinstance(exc, PublicServicesError) and exc.extra == "site"
                seen[name] = [str(exc), exc.packages]
        print(json.dumps(seen))
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(seen) == ["publish", "run_mkdocs", "vega_bundle"]
    for message, _packages in seen.values():
        assert INSTALL_MESSAGE in message
    assert seen["publish"][1] == ["mkdocs", "mkdocs-material", "vl-convert-python"]
    assert seen["vega_bundle"][1] == ["vl-convert-python"]
    assert seen["run_mkdocs"][1] == ["mkdocs", "mkdocs-material"]
    assert not (tmp_path / "site").exists()
