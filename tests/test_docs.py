"""Documentation that cannot drift: generated references, runnable examples, strict build."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import publicservices
from publicservices import docgen, hookspecs

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# Reference pages are generated from docstrings, whose examples run as module doctests below.
PAGES = sorted(p for p in DOCS.rglob("*.md") if "reference" not in p.relative_to(DOCS).parts)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_reference_pages_are_current():
    for relative, render in docgen.PAGES.items():
        committed = (DOCS / relative).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{relative} is stale: run `python -m publicservices.docgen`"


def test_every_hook_is_documented_with_signature_and_example():
    assert docgen.check_hooks() == []


def test_docs_mention_only_hooks_that_exist():
    hooks = set(hookspecs.hook_names())
    for page in DOCS.rglob("*.md"):
        for name in set(re.findall(r"\bpublicservices_[a-z_]+\b", page.read_text(encoding="utf-8"))):
            if name.startswith(
                (
                    "publicservices_health",
                    "publicservices_schools",
                    "publicservices_policing",
                    "publicservices_welfare",
                    "publicservices_example",
                    "publicservices_transport",
                )
            ):
                continue  # plugin module names, not hooks
            assert name in hooks, f"{page.relative_to(REPO)} documents hook {name!r}, which does not exist"


def test_every_public_name_is_in_the_api_reference():
    api = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    for name in publicservices.__all__:
        if name != "__version__":
            assert f"### `{name}`" in api, name


def _tree_listing() -> set[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True, text=True)
    return set(out.stdout.splitlines())


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples_run(page, monkeypatch):
    """``>>>`` examples are doctests; plain ```python blocks must run without error.

    Pages run from the repository root, so ``../shared/data/...`` paths work exactly as a
    reader types them; a page must not leave files behind in the repository.
    """
    if "../shared/data" in page.read_text(encoding="utf-8"):
        from conftest import SHARED, require

        require((SHARED / "data").exists(), "the page reads ../shared/data, which is not available")
    monkeypatch.chdir(REPO)
    before = _tree_listing()
    _run_page(page)
    assert _tree_listing() == before, f"{page.name} left files in the repository"


def _run_page(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    if "<!-- skip-examples -->" in text:
        pytest.skip("page marks its examples as illustrations")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {"__name__": "__docs__"}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} doctest failure(s) in {page.name} (see output above)"
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        if "# norun" in block:
            continue
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - our own documentation


def _modules():
    for info in pkgutil.walk_packages(publicservices.__path__, "publicservices."):
        if info.name.endswith("__main__"):
            continue
        yield info.name


@pytest.mark.parametrize("module_name", sorted(_modules()))
def test_module_docstring_examples(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False)
    assert result.failed == 0


def test_strict_mkdocs_build(tmp_path):
    """Every page builds with no warning; the notebooks' pages without running them (about 8 s).

    tests/test_docs_notebooks.py builds the site with the notebooks run, as `make docs` does.
    """
    mkdocs = Path(sys.executable).with_name("mkdocs")
    assert mkdocs.exists() or shutil.which("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1", "PUBLICSERVICES_DOCS_EXECUTE": "false"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").exists()
