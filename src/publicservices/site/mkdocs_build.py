"""MkDocs over the staged docs tree: its ``mkdocs.yml`` and footer, the build, and what the pages load from elsewhere.

MkDocs runs with Material's own ``search`` and ``offline`` plugins and nothing else, so the
builder can be swapped for another static-site generator reading the same tree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import html.parser
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from publicservices.site.out_folder import PublishError
from publicservices.site.safety import check_base_url

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


class _Warnings(logging.Handler):
    """Keeps MkDocs' warnings, to show when the strict build fails."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


_DISK_ERRORS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}


# Pages publish kept in memory for the build under way (path under docs_dir -> Markdown): the
# site's MkDocs hook adds them to the build's files (mkdocs_hooks.on_files). Empty otherwise, so
# `mkdocs build` of a --generate-only tree reads its pages from disk.
held_pages: dict[str, str] = {}
# Called with 1 as each page is built (mkdocs_hooks.on_post_page), for the progress bar: a
# hook rather than MkDocs' "Building page" debug message, since logging at debug level makes
# a record of every plugin event of every page (0.7 s of a 7,000-area build).
page_built: list[Callable[[int], None]] = []


def run_mkdocs(
    config_file: Path, site_dir: Path, advance: Callable[[int], None], epoch: int, pages: Mapping[str, str] | None = None
) -> None:
    """Build the site with MkDocs in this process (strict: any warning fails the build).

    ``pages``: Markdown pages by path under the docs folder, built as if they were files there
    (``DocsWriter(..., hold_pages="docs/").held``).
    """
    from publicservices._extras import require

    require("building the website with MkDocs", ["mkdocs", "material"])  # the [site] extra
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    logger = logging.getLogger("mkdocs")
    counter = _Warnings()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(counter)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # MkDocs' messages are for the build's error, not the user's log
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    os.environ["PUBLICSERVICES_LINK_STATIC"] = "1"  # the staged docs are deleted after the build (mkdocs_hooks.on_files)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is for MkDocs users, not site readers
    held_pages.update(pages or {})
    page_built.append(advance)
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
        held_pages.clear()
        page_built.clear()
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate
        os.environ.pop("PUBLICSERVICES_LINK_STATIC", None)
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


def versions(model: Any = None) -> dict[str, str]:
    """Versions of everything that shapes the output, for the footer and the manifest.

    The core and the libraries that draw and build the site, then the installed plugins the
    published data used: those that registered its indicators, declared its sectors, read its
    files (``metadata["readers"]``) or compared it internationally (the model given). A plugin
    that is installed but unused is not listed, so the same data builds the same site in any
    environment. Without a model (or ``None``), no plugin is listed.
    """
    from importlib import metadata

    from publicservices.__about__ import __version__

    out = {"publicservices": __version__}
    for dist in ("mkdocs", "mkdocs-material", "altair", "polars", "vl-convert-python"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    if model is None:
        return out
    used = {info.name: info for info in used_plugins(model)}
    for info in sorted(used.values(), key=lambda i: (i.distribution or "", i.name)):
        if info.distribution and info.version and not info.error:
            out[info.distribution] = info.version
    return out


def used_plugins(model: Any) -> list[Any]:
    """The plugins (:class:`~publicservices.plugin_info.PluginInfo`) whose indicators, sectors,
    readers or international comparators a site model uses, built-in ones included."""
    from publicservices.plugins import get_registry

    registry = get_registry()
    infos = {info.name: info for info in registry.plugins()}
    found: list[Any] = []
    for ind_id in model.indicators:
        owner = registry.owner(ind_id)
        found.append(infos.get(owner) if owner else None)
    found += [registry.declaring_plugin(sector) for sector in model.sectors]
    found += [registry.reader_plugin(name) for name in model.dataset.metadata.get("readers") or ()]
    international = getattr(model, "international", None)
    for comparison in getattr(international, "comparisons", None) or ():
        found.append(registry.comparator_plugin(comparison.comparator.id))
    return list({info.name: info for info in found if info is not None}.values())


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
        "markdown_extensions": [
            "attr_list",
            "md_in_html",
            "tables",
            "admonition",
            "pymdownx.details",
            {"pymdownx.tabbed": {"alternate_style": True}},
            {"toc": {"permalink": False}},
        ],
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
