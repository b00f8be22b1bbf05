"""MkDocs hook: the example notebooks become pages of the docs site, executed, with their outputs.

The notebooks live in ``notebooks/`` (JupyterLab and tests/test_notebooks.py open them there), outside
``docs/``. This hook adds each one to the site's files before mkdocs-jupyter (configured in
mkdocs.yml) wraps it; mkdocs-jupyter executes it from ``notebooks/``, so its relative paths work,
and renders it with its outputs at ``notebooks/<name>/``. Charts draw offline: executed in a
Jupyter kernel, publicservices charts embed the Vega scripts (``publicservices.notebook``).

The nbconvert page template mkdocs-jupyter extends still writes a MathJax loader (with no URL)
and a Mermaid loader that imports from a CDN; the notebooks have no maths or diagrams, so
``on_page_content`` takes both out and no notebook page refers to a script on another site.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

FOLDER = "notebooks"
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_MERMAID = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>', re.S)


def _folder(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent / FOLDER


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    folder = _folder(config)
    for path in sorted(folder.glob("*.ipynb")):
        # A file of the repository (src_dir) standing at notebooks/<name>.ipynb among the docs: not
        # File.generated, whose source path mkdocs-jupyter's wrapper of the file loses.
        files.append(
            File(
                f"{FOLDER}/{path.name}",
                src_dir=str(folder.parent),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    html = _MERMAID.sub("", _MATHJAX.sub("", html))
    name = Path(page.file.src_uri).name
    link = (
        f'<p class="ps-notebook-source">Run it yourself: <a href="{name}" download><code>{FOLDER}/{name}</code></a>'
        " (committed without outputs; <code>make lab</code> opens it in JupyterLab).</p>"
    )
    head, h1, rest = html.partition("</h1>")  # under the notebook's title, or first without one
    return head + h1 + link + rest if h1 else link + html


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(_folder(config)))
    return server
