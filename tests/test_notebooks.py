"""The example notebooks run top to bottom, and are committed without outputs.

Each notebook is executed with nbclient in a ``python3`` kernel running this test's own
interpreter (so the venv's packages are the ones used), from the ``notebooks`` folder.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01-quickstart",
    "02-postcode-lottery",
    "03-value-for-money",
    "04-write-a-plugin",
    "05-area-profile-and-international",
]


def _kernel_name(tmp_path_factory) -> tuple[str, object]:
    """A kernelspec whose argv is this interpreter, whatever kernels the machine has installed."""
    from jupyter_client.kernelspec import KernelSpecManager

    folder = tmp_path_factory.mktemp("kernels")
    spec_dir = folder / "kernels" / "publicservices-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "publicservices tests",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    manager = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return "publicservices-test", manager


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every notebook once; map name -> executed notebook (or the exception it raised)."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    name, specs = _kernel_name(tmp_path_factory)
    out: dict[str, object] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        manager = KernelManager(kernel_name=name, kernel_spec_manager=specs)
        client = NotebookClient(nb, km=manager, timeout=600, kernel_name=name, resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
            out[path.stem] = nb
        except Exception as exc:  # noqa: BLE001 - reported per notebook below
            out[path.stem] = exc
    return out


def _plain(text: str) -> str:
    """An error report without the terminal colour codes IPython puts in tracebacks."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_every_example_notebook_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_without_error(executed, name):
    result = executed[name]
    if isinstance(result, Exception):
        pytest.fail(f"{name}.ipynb failed:\n{_plain(str(result))}")
    errors = [
        o for cell in result.cells if cell.cell_type == "code" for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors


@pytest.mark.slow
def test_quickstart_shows_a_funnel_plot_and_a_sentence_in_five_cells(executed):
    nb = executed["01-quickstart"]
    if isinstance(nb, Exception):
        pytest.fail(f"01-quickstart.ipynb failed:\n{_plain(str(nb))}")
    outputs = [o for cell in nb.cells[:5] for o in cell.get("outputs", [])]
    # Altair's renderer decides the mimetype (Vega-Lite JSON in JupyterLab, HTML + vega-embed
    # elsewhere); either way the spec carries our metadata.
    charts = [
        json.dumps(data) if not isinstance(data, str) else data
        for o in outputs
        for mime, data in o.get("data", {}).items()
        if mime.startswith("application/vnd.vegalite") or (mime == "text/html" and "vegaEmbed" in data)
    ]
    assert any('"kind": "funnel"' in c for c in charts), "no funnel plot in the first five cells"
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "of 150 areas with a value" in text and "than the benchmark" in text
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "synthetic data" in html  # the demo is labelled synthetic where it appears


@pytest.mark.slow
def test_area_profile_and_international_notebook_says_both_in_words(executed):
    nb = executed["05-area-profile-and-international"]
    if isinstance(nb, Exception):
        pytest.fail(f"05-area-profile-and-international.ipynb failed:\n{_plain(str(nb))}")
    html = "".join(o.get("data", {}).get("text/html", "") for cell in nb.cells for o in cell.get("outputs", []))
    text = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    assert "Area profile: Eskelham" in html and "Compared with the benchmark, Eskelham does better on" in html
    assert "above the average of the" in text and "with 95% confidence its true rank is between" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
