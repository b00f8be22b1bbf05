"""Golden file: the docs tree and configuration that `publish --generate-only` writes for a fixed dataset.

A change to the site's layout (a page, chart script or data file added, moved or dropped; the
navigation; the MkDocs configuration) shows up here as a diff. When it is intended, regenerate:

    PUBLICSERVICES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_site_golden.py

Contents are not compared (statistics may be refined without changing the layout); sizes,
versions and the footer are left out for the same reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from publicservices.site import publish
from publicservices.site.build import MANIFEST
from publicservices.site.sample import sample_dataset

GOLDEN = Path(__file__).parent / "golden" / "site"
UPDATE = os.environ.get("PUBLICSERVICES_UPDATE_GOLDEN", "") not in ("", "0")


def snapshot(out: Path) -> dict[str, str]:
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    config = json.loads((out / "mkdocs.yml").read_text(encoding="utf-8").partition("\n")[2])
    config.pop("copyright")  # versions and the data hash: checked in test_site_build
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest.pop("versions")
    manifest.pop("files")  # sizes and hashes of every file written: tree.txt covers the layout
    return {
        "tree.txt": "\n".join(files) + "\n",
        "mkdocs.json": json.dumps(config, indent=2, sort_keys=True) + "\n",
        "manifest.json": json.dumps(manifest, indent=2, sort_keys=True) + "\n",
    }


def test_generated_docs_tree_matches_the_golden_files(tmp_path):
    out = tmp_path / "site"
    publish(sample_dataset(n_areas=6, n_periods=3), out, generate_only=True, title="Golden sample")
    current = snapshot(out)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in current.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    for name, text in current.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert text == expected, (
            f"{name} differs from tests/golden/site/{name}; regenerate with PUBLICSERVICES_UPDATE_GOLDEN=1 if intended"
        )


def test_golden_tree_keeps_area_and_indicator_pages_out_of_the_navigation():
    config = json.loads((GOLDEN / "mkdocs.json").read_text(encoding="utf-8"))
    flat = json.dumps(config["nav"])
    assert "areas/" not in flat and "indicators/" not in flat
    tree = (GOLDEN / "tree.txt").read_text(encoding="utf-8").splitlines()
    assert sum(p.startswith("docs/areas/") and p.endswith(".md") for p in tree) == 6
    assert sum(p.startswith("docs/indicators/") and p.endswith(".md") for p in tree) == 3
