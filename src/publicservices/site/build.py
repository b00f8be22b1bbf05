"""The build path: a staging folder beside ``--out`` for the docs tree and MkDocs, then a safe swap.

1. ``--out`` is checked first (:func:`check_out`, in :mod:`publicservices.site.out_folder`): it
   must be absent, empty, a site this command built, or a folder holding only hosting files
   (``.git``, ``CNAME``, ``README`` ...); anything else is refused before a file is written. A
   folder is a site this command built only if its :data:`MANIFEST` parses, names the generator
   ``publicservices publish`` and lists files that all exist (a ``{}`` or hand-made manifest is
   not enough).
2. Pages, chart scripts, data files, assets and ``mkdocs.yml`` are written to
   ``<out parent>/.<out name>.staging-*`` (with a ``publish.pid`` file naming the process);
   staging folders left by a killed build are removed first (:func:`remove_stale_staging`).
3. MkDocs builds them (:mod:`publicservices.site.mkdocs_build`: in process, strict, dated by
   ``SOURCE_DATE_EPOCH`` so the output is byte-identical for the same input).
4. :func:`swap_into_place` checks ``--out`` again, then moves the new files in one by one
   and removes the files of the previous site that the new one no longer has. Only files
   listed in the previous manifest are replaced or removed: ``CNAME``, ``.git``, and any
   other file the user added (even during the build) are kept, and a user's file at a path
   the site needs stops the build before anything changes.

Why file by file and not one folder rename: the folder itself (its inode, owner, mode, a
web server or Git work tree pointing at it, a bind mount) stays as it is, and unlisted files
need no carrying over. Safety under ``kill -9`` comes from the order of the steps:

* everything is written and built in the staging folder first: a kill there leaves ``--out``
  untouched (the staging folder is removed by the next run);
* before the first move the manifest in ``--out`` is replaced (atomically) by one listing the
  old *and* the new files with ``"swapping": true``; every move is an atomic ``rename``, so
  each file is always either the old or the new version, never half-written; non-page files
  move first and ``index.html`` last, and old files are removed only after every new file is
  in place, so every page keeps loading at every moment;
* the final manifest (new files only) replaces the interim one last. A run that finds an
  interim manifest knows every file it lists (present or not) was written by publish, and
  simply finishes the job.

An error during the moves (a full disk, a permission) puts the replaced files back from hard
links kept in the staging folder, so the previous site is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import posixpath
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from publicservices.site.mkdocs_build import epoch_of, external_resources, mkdocs_config, run_mkdocs, versions
from publicservices.site.out_folder import GENERATOR, MANIFEST, PublishError, check_out, read_manifest
from publicservices.site.safety import check_base_url

__all__ = [
    "MANIFEST",
    "GENERATOR",
    "PublishError",
    "check_base_url",
    "check_out",
    "read_manifest",
    "remove_stale_staging",
    "staging",
    "swap_into_place",
    # the MkDocs step, reached through this module by publish() (and replaced there by tests)
    "epoch_of",
    "external_resources",
    "mkdocs_config",
    "run_mkdocs",
    "versions",
]

LOCK = "publish.pid"
STALE_AFTER = 24 * 3600  # seconds: a staging folder whose process cannot be checked counts as abandoned after a day


def _os_problem(exc: OSError, out: Path) -> str:
    """A one-screen message for an OSError met while writing or replacing the site at ``out``."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        fix = (
            f"free some space on the disk holding {str(out.parent)!r} (the site is built beside --out, so it needs room "
            "for a second copy while it is built), or choose an --out on another disk, and publish again."
        )
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose an --out folder you can write to; its parent folder must be writable too, as the site is built beside it."
    elif code in (errno.ENOTDIR, errno.EEXIST):
        fix = "choose an --out path whose parent folders are folders, not files."
    else:
        fix = "check the folder and its disk, then publish again."
    where = f" ({exc.filename})" if exc.filename else ""
    return (
        f"--out: could not write the site to {str(out)!r}: {exc.strerror or exc}{where}.\n"
        f"The previous site, if any, was left as it was, and the staging folder was removed.\nFix: {fix}"
    )


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (POSIX; elsewhere assume it does)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send CTRL+C on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


def _abandoned(folder: Path, now: float) -> bool:
    try:
        age = now - folder.stat().st_mtime
    except OSError:
        return False
    try:
        lock = json.loads((folder / LOCK).read_text(encoding="utf-8"))
        pid, host = int(lock["pid"]), str(lock["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return age > STALE_AFTER  # killed before it wrote its pid file, or made by an older version
    if host == socket.gethostname() and os.name == "posix":
        return pid != os.getpid() and not _alive(pid)
    return age > STALE_AFTER  # another machine sharing the disk: its process cannot be checked


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders of ``out`` left by killed builds: those whose ``publish.pid``
    names a process that is gone (on this machine), or, when that cannot be told, older than
    :data:`STALE_AFTER`. Returns the folders removed."""
    pattern = re.compile(re.escape(f".{out.name}.staging-") + r"[a-z0-9_]{8}")
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in sorted(out.parent.iterdir()):
            if pattern.fullmatch(entry.name) and not entry.is_symlink() and entry.is_dir() and _abandoned(entry, now):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A scratch folder beside ``out`` (same file system, so moves are renames), always removed.

    Any OSError met inside (a full disk, a permission) becomes a :class:`PublishError`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out)
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    except OSError as exc:
        raise PublishError(_os_problem(exc, out)) from exc
    try:
        (folder / LOCK).write_text(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}) + "\n", encoding="utf-8"
        )
        yield folder
    except OSError as exc:
        raise PublishError(_os_problem(exc, out)) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _digest(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return {"bytes": os.fstat(fh.fileno()).st_size, "sha256": hashlib.file_digest(fh, "sha256").hexdigest()}


def listing(root: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``root`` but the manifest: relative path -> size and SHA-256.

    A folder's files come in name order, then its subfolders, as ``os.walk`` gives them with
    sorted names; links to folders are not followed. One directory read per folder and one
    open per file: a large site has thousands.
    """
    files: dict[str, dict[str, Any]] = {}

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            if entry.is_file() and prefix + entry.name != MANIFEST:
                files[prefix + entry.name] = _digest(entry.path)
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                walk(entry.path, f"{prefix}{entry.name}/")

    walk(str(root), "")
    return files


def _manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"


def _place(src: Path, dst: Path) -> None:
    """Move ``src`` onto ``dst`` atomically (a rename; a copy then a rename across disks)."""
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # --out is a mount point: copy beside the target, then rename
            raise
        tmp = dst.with_name(f".{dst.name}.publicservices-tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        src.unlink()


def _write_manifest(manifest: dict[str, Any], out: Path, scratch: Path) -> None:
    tmp = scratch / "manifest.tmp"
    tmp.write_text(_manifest_text(manifest), encoding="utf-8")
    _place(tmp, out / MANIFEST)


def _move_order(rel: str) -> tuple[bool, bool, int, str]:
    """Data, scripts and assets first, then pages (deepest first), the home page last."""
    return rel.endswith(".html"), rel == "index.html", -rel.count("/"), rel


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the folder ``out`` (POSIX), so two publishes never interleave their moves."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # a file system without locks: carry on without one
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _in_the_way(out: Path, rel: str, ours: set[str], folders: dict[str, str | None]) -> str | None:
    """Why writing ``rel`` would touch something publish did not write, or None (``folders``
    caches the verdict on each folder prefix)."""
    root = os.fspath(out)
    parts = rel.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix not in folders:
            p = os.path.join(root, prefix)
            link = os.path.islink(p)
            folders[prefix] = (
                f"{prefix!r} is a {'link' if link else 'file'} where the site needs a folder"
                if link or (os.path.lexists(p) and not os.path.isdir(p))
                else None
            )
        if folders[prefix]:
            return folders[prefix]
    target = os.path.join(root, rel)
    if os.path.islink(target) or os.path.isdir(target):
        return f"{rel!r} is a {'link' if os.path.islink(target) else 'folder'} where the site writes a file"
    if rel not in ours and os.path.lexists(target):
        return f"{rel!r} was not written by publish"
    return None


def swap_into_place(built: Path, out: Path, scratch: Path) -> dict[str, dict[str, Any]]:
    """Move the files of ``built`` into ``out``, replacing or removing only the files the
    previous site's manifest lists; every other file in ``out`` is kept.

    ``built`` holds the new site and its :data:`MANIFEST` (written by ``publish``); the list
    of files, with sizes and SHA-256, is added to it here and returned. ``out`` is checked
    again first (it may have changed during the build). See the module docstring for the
    order of the steps.
    """
    new = listing(built)
    manifest = json.loads((built / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = new
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        check_out(out)  # it became a file or a link during the build: say so
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        previous = check_out(out)  # again: the folder may have changed during the build (and now no other publish can)
        old: dict[str, Any] = dict(previous["files"]) if previous else {}
        ours = set(old)
        folders: dict[str, str | None] = {}
        clashes = [why for rel in sorted(new) if (why := _in_the_way(out, rel, ours, folders))]
        if clashes:
            raise PublishError(
                f"--out: {str(out)!r} holds files publish did not write at paths the new site needs: "
                f"{'; '.join(clashes[:5])}{' ...' if len(clashes) > 5 else ''}. Nothing was changed.\n"
                "Fix: move these out of the folder (publish never replaces or deletes files it did not write)."
            )
        dirs = {str(PurePosixPath(rel).parent) for rel in new} - {"."}
        locked = sorted(d for d in dirs if (out / d).is_dir() and not os.access(out / d, os.W_OK | os.X_OK))
        if locked or not os.access(out, os.W_OK | os.X_OK):
            raise PublishError(
                f"--out: cannot replace the site in {str(out)!r}: {', '.join(map(repr, locked[:5])) or 'the folder'} "
                "is not writable by you. Nothing was changed.\nFix: make the folder writable, or choose another --out."
            )
        before = _keep(out / MANIFEST, scratch / "previous-manifest") if previous else None
        _write_manifest({**manifest, "files": {**old, **new}, "swapping": True}, out, scratch)
        backups = scratch / "previous"
        moved: list[tuple[Path, bool, Path | None]] = []  # (target, replaced a file?, hard link to that file)
        made: list[Path] = []
        in_place = {""}  # folders known to be there: thousands of files share a few
        try:
            for rel in sorted(new, key=_move_order):
                src, dst = built / rel, out / rel
                if posixpath.dirname(rel) not in in_place:
                    for parent in reversed(PurePosixPath(rel).parents[:-1]):
                        if not (out / parent).is_dir():
                            (out / parent).mkdir()
                            made.append(out / parent)
                        in_place.add(parent.as_posix())
                backup = None
                existed = dst.exists()
                if existed:
                    backup = backups / rel
                    backup.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(dst, backup)
                    except OSError:  # no hard links here: this file cannot be put back if a later move fails
                        backup = None
                _place(src, dst)
                moved.append((dst, existed, backup))
        except BaseException:
            _roll_back(moved, made, out, scratch, before)
            raise
        try:
            _finish(manifest, new, old, out, scratch)
        except OSError as exc:
            raise PublishError(
                f"--out: the new site is in place in {str(out)!r}, but tidying up after it failed: "
                f"{exc.strerror or exc} ({exc.filename}).\nFix: publish again to finish (files the old "
                "site had and the new one lacks are removed then)."
            ) from exc
    return new


def _finish(manifest: dict[str, Any], new: dict[str, Any], old: dict[str, Any], out: Path, scratch: Path) -> None:
    """After the moves: remove the old site's files the new one lacks, then write the final manifest."""
    kept: dict[str, Any] = {}
    for rel in sorted(set(old) - set(new), key=lambda r: -r.count("/")):
        path = out / rel
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
        except OSError:
            kept[rel] = old[rel]  # still ours; the next publish tries again
            continue
        for parent in path.relative_to(out).parents[:-1]:  # empty folders it leaves; never one with a user's file
            try:
                (out / parent).rmdir()
            except OSError:
                break
    _write_manifest({**manifest, "files": {**kept, **new}}, out, scratch)


def _keep(path: Path, backup: Path) -> Path | bytes:
    """A hard link to ``path`` (put back with a rename, which needs no disk space), or its bytes."""
    try:
        os.link(path, backup)
        return backup
    except OSError:
        return path.read_bytes()


def _roll_back(
    moved: list[tuple[Path, bool, Path | None]], made: list[Path], out: Path, scratch: Path, before: Path | bytes | None
) -> None:
    """Undo the moves of a failed swap: replaced files come back from their hard links, added ones go
    (a replaced file without a hard link stays in its new, complete version)."""
    for dst, existed, backup in reversed(moved):
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, dst)
            elif not existed:
                dst.unlink()
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        if before is None:
            (out / MANIFEST).unlink()
        elif isinstance(before, Path):
            os.replace(before, out / MANIFEST)
        else:
            tmp = scratch / "manifest.tmp"
            tmp.write_bytes(before)
            _place(tmp, out / MANIFEST)
