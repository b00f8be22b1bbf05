"""The build path: docs tree and ``mkdocs.yml`` in a staging folder, MkDocs, then a safe swap.

1. ``--out`` is checked first (:func:`check_out`): it must be absent, empty, a site this
   command built, or a folder holding only hosting files (``.git``, ``CNAME``, ``README`` ...);
   anything else is refused before a file is written. A folder is a site this command built
   only if its :data:`MANIFEST` parses, names the generator ``publicservices publish`` and
   lists files that all exist (a ``{}`` or hand-made manifest is not enough).
2. Pages, chart scripts, data files, assets and ``mkdocs.yml`` are written to
   ``<out parent>/.<out name>.staging-*`` (with a ``publish.pid`` file naming the process);
   staging folders left by a killed build are removed first (:func:`remove_stale_staging`).
3. MkDocs builds them (in process, strict, dated by ``SOURCE_DATE_EPOCH`` so the output is
   byte-identical for the same input).
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

MkDocs runs with Material's own ``search`` and ``offline`` plugins and nothing else, so the
builder can be swapped for another static-site generator reading the same tree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import html.parser
import json
import logging
import os
import posixpath
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from publicservices.errors import DataError, PublicServicesError
from publicservices.site.safety import check_base_url, inside

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
]

MANIFEST = "publicservices-site.json"
GENERATOR = "publicservices publish"
LOCK = "publish.pid"
STALE_AFTER = 24 * 3600  # seconds: a staging folder whose process cannot be checked counts as abandoned after a day
# Files a hosting set-up puts in a site folder before the first publish (GitHub Pages: .git, CNAME, README).
HOSTING = re.compile(r"\..*|CNAME|README(\..*)?|LICEN[CS]E(\..*)?", re.IGNORECASE)
RESOURCE_TAGS = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "embed": "src",
    "object": "data",
    "track": "src",
}
LINK_FETCHES = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest", "apple-touch-icon", "shortcut"}


class PublishError(PublicServicesError):
    """``--out`` cannot be written or safely replaced (a file in the way, no permission, a full disk ...), or MkDocs failed."""


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


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return {"bytes": path.stat().st_size, "sha256": sha.hexdigest()}


def listing(root: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``root`` but the manifest: relative path -> size and SHA-256."""
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel != MANIFEST and path.is_file():
                files[rel] = _digest(path)
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


def swap_into_place(built: Path, out: Path, scratch: Path) -> None:
    """Move the files of ``built`` into ``out``, replacing or removing only the files the
    previous site's manifest lists; every other file in ``out`` is kept.

    ``built`` holds the new site and its :data:`MANIFEST` (written by ``publish``); the list
    of files, with sizes and SHA-256, is added to it here. ``out`` is checked again first (it
    may have changed during the build). See the module docstring for the order of the steps.
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
        try:
            for rel in sorted(new, key=_move_order):
                src, dst = built / rel, out / rel
                for parent in reversed(dst.relative_to(out).parents[:-1]):
                    if not (out / parent).is_dir():
                        (out / parent).mkdir()
                        made.append(out / parent)
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


class _PageCounter(logging.Handler):
    """Counts MkDocs' "Building page" messages (for the progress bar) and keeps its warnings."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        super().__init__(logging.DEBUG)
        self.advance = advance
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.warnings.append(message)
        elif message.startswith("Building page "):
            self.advance(1)


_DISK_ERRORS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}


def run_mkdocs(config_file: Path, site_dir: Path, advance: Callable[[int], None], epoch: int) -> None:
    """Build the site with MkDocs in this process (strict: any warning fails the build)."""
    from publicservices._extras import require

    require("building the website with MkDocs", ["mkdocs", "material"])  # the [site] extra
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    counter = _PageCounter(advance)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # MkDocs' debug chatter is for the counter, not the user's log
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is for MkDocs users, not site readers
    try:
        config = load_config(config_file=str(config_file), site_dir=str(site_dir), strict=True)
        build(config)
    except OSError as exc:
        if exc.errno in _DISK_ERRORS:
            raise  # a full or read-only disk: staging() turns it into a PublishError saying so
        raise PublishError(
            f"the MkDocs build failed: {exc}\nFix: run with --generate-only and "
            f"`mkdocs build -f <out>/mkdocs.yml` to see the whole log."
        ) from None
    except (MkDocsException, SystemExit, ValueError) as exc:
        detail = "\n".join(f"  {w}" for w in counter.warnings[:10])
        raise PublishError(
            f"the MkDocs build failed: {exc}\n{detail}\nFix: run with --generate-only and "
            f"`mkdocs build -f <out>/mkdocs.yml` to see the whole log."
        ) from None
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def epoch_of(day: dt.date | None) -> int:
    """Seconds since 1970 at midnight UTC of ``day`` (the data's latest period), or 0."""
    if day is None:
        return 0
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


class _Resources(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        urls = []
        if tag in RESOURCE_TAGS:
            urls.append(a.get(RESOURCE_TAGS[tag]))
        if tag == "link" and set((a.get("rel") or "").lower().split()) & LINK_FETCHES:
            urls.append(a.get("href"))
        if tag == "img":
            urls += [part.split()[0] for part in (a.get("srcset") or "").split(",") if part.strip()]
        self.found += [u for u in urls if u and (u.startswith("//") or "://" in u.split("?")[0][:12])]


def external_resources(page: Path) -> list[str]:
    """URLs outside the site that ``page`` would load (scripts, styles, images, fonts ...); links are fine."""
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def versions() -> dict[str, str]:
    """Versions of everything that shapes the output, for the footer and the manifest."""
    from importlib import metadata

    from publicservices.__about__ import __version__

    out = {"publicservices": __version__}
    for dist in ("mkdocs", "mkdocs-material", "altair", "polars", "vl-convert-python"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    from publicservices.plugins import get_registry

    for info in get_registry().plugins():
        if info.distribution and info.version and not info.error:
            out[info.distribution] = info.version
    return out


def footer(versions: dict[str, str], data_hash: str, methods: str) -> str:
    from publicservices.site.safety import html_text

    parts = [f"{name} {version}" for name, version in versions.items()]
    return html_text(f"Built by {', '.join(parts)}; methods version {methods}; data sha256 {data_hash[:16]}.")


def mkdocs_config(*, title: str, nav: list[Any], base_url: str | None, copyright: str, assets: dict[str, Any]) -> dict[str, Any]:
    """The site's ``mkdocs.yml`` (written as JSON, which YAML reads as it is)."""
    from publicservices.site.safety import html_text

    config: dict[str, Any] = {
        "site_name": html_text(title),
        "docs_dir": "docs",
        "use_directory_urls": False,
        "theme": {
            "name": "material",
            "font": False,
            "language": "en",
            "features": ["search.highlight", "navigation.top", "content.code.copy"],
            "palette": [
                {
                    "media": "(prefers-color-scheme: light)",
                    "scheme": "default",
                    "primary": "indigo",
                    "toggle": {"icon": "material/weather-night", "name": "Switch to dark mode"},
                },
                {
                    "media": "(prefers-color-scheme: dark)",
                    "scheme": "slate",
                    "primary": "indigo",
                    "toggle": {"icon": "material/weather-sunny", "name": "Switch to light mode"},
                },
            ],
        },
        "plugins": [{"search": {}}, {"offline": {}}],
        "markdown_extensions": ["attr_list", "md_in_html", "tables", "admonition", {"toc": {"permalink": False}}],
        "copyright": copyright,
        "nav": nav,
        "validation": {"nav": {"omitted_files": "ignore"}, "links": {"unrecognized_links": "ignore"}},
        **{k: v for k, v in assets.items() if k != "extra"},
        "extra": {"generator": False, **assets.get("extra", {})},
    }
    base_url = check_base_url(base_url)  # again, for callers other than publish(): it lands unescaped in every page
    if base_url and "://" in base_url:  # MkDocs wants a whole address; a bare path is used by the downloads page only
        config["site_url"] = base_url
    return config
