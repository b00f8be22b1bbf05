"""`import publicservices` and `publicservices --help` stay light."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["altair", "mkdocs", "scipy", "pandas", "vl_convert", "numpy", "pyarrow"]


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_is_light():
    modules = loaded_after("import publicservices")
    assert not [m for m in HEAVY if m in modules]
    assert not [m for m in modules if m.startswith("publicservices_")], "a plugin was imported"


def test_help_loads_no_plugins_and_nothing_heavy():
    modules = loaded_after(
        "from publicservices.cli import cli\ntry:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert not [m for m in HEAVY if m in modules]
    assert not [m for m in modules if m.startswith("publicservices_")]
    assert "publicservices.plugins" not in modules


def test_every_command_help_loads_nothing_heavy():
    # `publicservices publish --help` once imported Polars through publicservices.site
    from publicservices.cli import cli

    for name in sorted(cli.commands):
        code = (
            f"from publicservices.cli import cli\ntry:\n    cli([{name!r}, '--help'], standalone_mode=False)\n"
            "except SystemExit:\n    pass"
        )
        modules = loaded_after(code)
        assert not [m for m in [*HEAVY, "polars"] if m in modules], name
        assert not [m for m in modules if m.startswith("publicservices_")], name


def test_lazy_attributes_resolve():
    import publicservices as ps

    for name in ps.__all__:
        assert getattr(ps, name) is not None, name
