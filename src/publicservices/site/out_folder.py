"""Which ``--out`` folders publish may write into, and the manifest that proves a folder holds a site it built."""

from __future__ import annotations

import json
import os
import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any

from publicservices.errors import DataError, PublicServicesError
from publicservices.site.safety import inside

MANIFEST = "publicservices-site.json"
GENERATOR = "publicservices publish"
# Files a hosting set-up puts in a site folder before the first publish (GitHub Pages: .git, CNAME, README).
HOSTING = re.compile(r"\..*|CNAME|README(\..*)?|LICEN[CS]E(\..*)?", re.IGNORECASE)


class PublishError(PublicServicesError):
    """``--out`` cannot be written or safely replaced (a file in the way, no permission, a full disk ...), or MkDocs failed."""


def _writable_ancestor(path: Path, out: Path) -> None:
    """The nearest existing folder at or above ``path`` must be a writable folder."""
    probe = path
    while not (probe.exists() or probe.is_symlink()) and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise PublishError(
            f"--out: {str(out)!r} cannot be created: {str(probe)!r} is a file, not a folder.\n"
            "Fix: choose an --out path whose parent folders are folders."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PublishError(
            f"--out: {str(out)!r} cannot be written: {str(probe)!r} is not writable by you "
            "(or is on a read-only disk).\nFix: choose an --out folder you can write to; its parent "
            "folder must be writable too, as the site is built beside it."
        )


def _rel_ok(rel: object) -> bool:
    """A relative POSIX path with no '..', empty or absolute parts (as publish writes them)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts) and rel != MANIFEST


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the site publish built in ``out``; None if there is none; a DataError if
    there is a :data:`MANIFEST` that does not prove it (not JSON, another generator, no file
    list, an unsafe path, or files it lists that are missing)."""
    path = out / MANIFEST
    if not (path.exists() or path.is_symlink()):
        return None
    fix = (
        f"Fix: if publish built this folder, move the files you want to keep elsewhere and remove the rest (or choose a "
        f"new --out); publish only replaces a folder whose {MANIFEST} lists the files it wrote."
    )
    head = f"--out: {str(out)!r} is not a site built by publicservices publish: its {MANIFEST}"
    try:
        if path.is_symlink() or not path.is_file():
            raise DataError("is not a plain file")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, DataError) as exc:
        raise DataError(f"{head} cannot be read ({exc}).\n{fix}") from None
    if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
        raise DataError(f"{head} does not name the generator {GENERATOR!r}.\n{fix}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise DataError(
            f"{head} does not list the files publish wrote (it was written by hand or by a version of "
            f"publicservices older than this one).\n{fix}"
        )
    unsafe = [rel for rel in files if not _rel_ok(rel)]
    if unsafe:
        raise DataError(f"{head} lists paths publish never writes: {', '.join(map(repr, unsafe[:5]))}.\n{fix}")
    # A listed path reached through a link out of the folder is not ours to replace: resolve each
    # folder once, and each file only if it is a link itself.
    root = os.fspath(out)
    to_resolve = {posixpath.dirname(rel) for rel in files} - {""}
    to_resolve |= {rel for rel in files if os.path.islink(os.path.join(root, rel))}
    for rel in sorted(to_resolve):
        try:
            inside(out, rel)
        except DataError:
            raise DataError(f"{head} lists {rel!r}, which leads out of the folder through a link.\n{fix}") from None
    if not manifest.get("swapping"):  # an interrupted swap lists old and new files: some may be missing
        missing = [rel for rel in sorted(files) if not os.path.isfile(os.path.join(root, rel))]
        if missing:
            raise DataError(f"{head} lists {len(missing):,} files that are missing, such as {missing[0]!r}.\n{fix}")
    return manifest


def check_out(out: Path) -> dict[str, Any] | None:
    """Refuse an ``--out`` folder that holds anything but a site built by this command (or
    hosting files only), or that cannot be written; return the previous site's manifest, if any."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DataError(f"--out: {str(out)!r} is not a folder.\nFix: choose a folder path for the site.")
    _writable_ancestor(out.parent, out)  # the staging folder is made beside out
    if not out.is_dir():
        return None
    _writable_ancestor(out, out)
    previous = read_manifest(out)
    if previous is None:
        foreign = sorted(p.name for p in out.iterdir() if not HOSTING.fullmatch(p.name))
        if foreign:
            raise DataError(
                f"--out: {str(out)!r} is not empty and is not a site built by publicservices (it has no {MANIFEST}; "
                f"it holds {', '.join(map(repr, foreign[:5]))}{' ...' if len(foreign) > 5 else ''}).\n"
                "Fix: choose an empty or new folder, or remove these yourself; publish never deletes files it "
                "did not write."
            )
    return previous
