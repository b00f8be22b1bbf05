"""Escaping and safe names for the published site.

Every string that comes from the data lands in one of four places, each with its own rule:

* HTML text and attributes: :func:`html_text`;
* Markdown prose and headings: :func:`md_text` (escaped so that it renders as the same
  text and never as markup: no emphasis, links, tables or attribute lists);
* JSON inside a ``<script>``: :func:`js_json` (no ``<``, ``>`` or ``&`` characters, so a
  value can never close the script block);
* YAML front matter: :func:`yaml_str`.

File names built from ids go through :func:`slug` / :func:`check_slugs`, and every path
written goes through :func:`inside`, so nothing can be written outside the output folder.

Two values get a rule of their own: ``--base-url``, which MkDocs writes unescaped into every
page, must be a plain http(s) address or path (:func:`check_base_url`); and text cells of
every CSV download are neutralised against spreadsheet formulas (:func:`csv_cell`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from publicservices.errors import DataError, problem

# Every ASCII punctuation character Markdown or its extensions could read as syntax.
_MD_SPECIAL = "\\`*_{}[]()#+-.!|<>~^=:$&\"'"
_MD_TABLE = {ord(c): f"&#{ord(c)};" for c in _MD_SPECIAL}
_JS_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
# Characters PyYAML (which MkDocs uses for front matter) refuses to read even inside quotes;
# json.dumps already escapes those below U+0020, so only these remain to write as \uXXXX.
_YAML_UNREADABLE = re.compile("[\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_SLUG = 100
# --base-url: a host name (or [IPv6]) and a path of RFC 3986 characters, leaving out every
# character with a meaning in HTML, XML or JavaScript strings (< > " ' & ` \\) and ? and #.
_HOST = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
    r"|\[[0-9A-Fa-f:.]+\]"
)
_URL_PATH = re.compile(r"(?:/(?:[A-Za-z0-9._~!$()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*")
MAX_URL = 2000
# Spreadsheets run a cell starting with one of these as a formula (OWASP, CSV injection).
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CSV_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_CSV_NUMBER = re.compile(CSV_NUMBER)


def html_text(value: Any) -> str:
    """Text for HTML (content or a quoted attribute).

    >>> html_text('<b> & "x"'), html_text(None), html_text(2)
    ('&lt;b&gt; &amp; &quot;x&quot;', '', '2')
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def md_text(value: Any) -> str:
    """Text for Markdown prose: renders as exactly this text (whitespace collapsed), never as markup.

    >>> md_text("*Bold* [link](x)")
    '&#42;Bold&#42; &#91;link&#93;&#40;x&#41;'
    """
    if value is None:
        return ""
    return " ".join(str(value).split()).translate(_MD_TABLE)


def yaml_str(value: Any) -> str:
    """A double-quoted one-line YAML scalar (JSON string syntax, which YAML reads).

    >>> yaml_str("line\\nbreak"), yaml_str('say "hi" # now')
    ('"line break"', '"say \\\\"hi\\\\" # now"')
    """
    text = json.dumps(" ".join(str(value).split()), ensure_ascii=False)
    return _YAML_UNREADABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def js_json(obj: Any) -> str:
    """Compact, sorted JSON that is safe inside ``<script>`` (non-finite numbers become null).

    >>> js_json({"b": float("nan"), "a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e","b":null}'
    """
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=str)
    except ValueError:  # NaN or infinity somewhere: walk the object only in that case
        text = json.dumps(_finite(obj), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=str)
    # str.replace per character, not str.translate: it scans in C, where translate looks up every
    # character of megabytes of chart rows in a dict
    for char, escape in _JS_ESCAPES:
        if char in text:
            text = text.replace(char, escape)
    return text


def _problem(value: Any) -> str | None:
    """Why ``value`` cannot be a file name, or None if it can."""
    if value is None or value == "":
        return "it is missing or empty"
    if not isinstance(value, str):
        return f"it is a {type(value).__name__}, not text"
    name = value.lower()
    if len(name) > MAX_SLUG:
        return f"it is longer than {MAX_SLUG} characters"
    if not name.isascii() or not _SLUG.fullmatch(name):
        return "only letters, digits, '_', '.' and '-' are allowed, starting with a letter or digit"
    if ".." in name or name.endswith("."):
        return "it contains '..' or ends with '.'"
    if _RESERVED.fullmatch(name):
        return "it is a reserved device name on Windows"
    return None


def slug(value: Any, *, kind: str) -> str:
    """The lower-case file-name stem for an id, or a DataError naming the column.

    >>> slug("E06000001", kind="area_code")
    'e06000001'
    """
    reason = _problem(value)
    if reason:
        raise DataError(
            f"column {kind!r}: {value!r} cannot be used as a file name ({reason}).\n"
            f"Fix: recode {kind} to letters, digits, '_', '.' and '-' before publishing."
        )
    return value.lower()


def check_slugs(values: Iterable[Any], *, kind: str) -> dict[str, str]:
    """Slugs for many ids at once; one error lists every unsafe id and every case clash.

    >>> check_slugs(["E1", "E2"], kind="area_code")
    {'E1': 'e1', 'E2': 'e2'}
    """
    # Ids repeat (one per row of a long frame): judge each distinct id once, in first-seen order.
    distinct = list(dict.fromkeys(values))
    bad = [f"{v!r} ({p})" for v in distinct if (p := _problem(v))]
    if bad:
        raise DataError(
            problem(
                kind,
                "holds ids that cannot be used as a file name",
                rows=bad[:5],
                total=len(bad),
                fix=f"recode {kind} to letters, digits, '_', '.' and '-' before publishing, for example with "
                f"pl.col({kind!r}).str.replace_all(r'[^A-Za-z0-9_.-]', '-').",
            )
        )
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    clashes = []
    for value in distinct:
        name = value.lower()
        if name in seen:
            clashes.append((seen[name], value))
        seen.setdefault(name, value)
        out[value] = name
    if clashes:
        shown = ", ".join(f"{a!r} and {b!r}" for a, b in clashes[:5])
        raise DataError(
            f"column {kind!r}: ids {shown} differ only in letter case, so they would share one file name.\n"
            f"Fix: make {kind} unique ignoring case."
        )
    return out


def inside(root: Path, rel_path: str, *, resolved: bool = False) -> Path:
    """``root / rel_path`` resolved, or a DataError if it would land outside ``root``
    (``resolved``: ``root`` is already resolved, as a writer of thousands of files keeps it).

    >>> inside(Path("/tmp/x"), "a/b.md").as_posix()
    '/tmp/x/a/b.md'
    """
    base = Path(root) if resolved else Path(root).resolve()
    try:  # resolve() follows symlinks, so a link inside root pointing out is caught too
        target = (base / rel_path).resolve()
    except (OSError, ValueError, RuntimeError) as err:  # NUL byte, symlink loop
        raise DataError(
            f"cannot write {rel_path!r} under the output folder {str(base)!r}: {err}.\n"
            "Fix: this is a bug or an unsafe id; report it with the id that produced the path."
        ) from err
    if target != base and base not in target.parents:
        raise DataError(
            f"refusing to write {rel_path!r}: it is outside the output folder {str(base)!r}.\n"
            "Fix: this is a bug or an unsafe id; report it with the id that produced the path."
        )
    return target


def _base_url_problem(value: str) -> str | None:
    """Why ``value`` is not a plain http(s) address or absolute path, or None."""
    from urllib.parse import urlsplit

    if len(value) > MAX_URL:
        return f"it is longer than {MAX_URL:,} characters"
    odd = sorted({c for c in value if not (c.isascii() and c.isprintable()) or c.isspace()})
    if odd:
        return (
            f"it contains {', '.join(map(repr, odd[:5]))}: spaces, control and non-ASCII characters must be "
            "percent-encoded, and an international domain name written in its xn-- form"
        )
    bad = sorted(set(value) & set("<>\"'`\\{}|^&[]") - (set("[]") if "://[" in value else set()))
    if bad:
        return f"it contains {', '.join(map(repr, bad))}, which a site address never needs"
    if "?" in value or "#" in value:
        return "it has a query or a fragment (? or #); give only where the site's folder is"
    if value.startswith("//") or ":" in value.split("/", 1)[0]:  # has a scheme (or is protocol-relative)
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError as exc:
            return f"it cannot be read as an address ({exc})"
        if parts.scheme.lower() not in ("http", "https"):
            return f"only http:// and https:// addresses are allowed, not {parts.scheme + ':' if parts.scheme else '//'}"
        if "@" in parts.netloc:
            return "it holds a user name or password (before '@')"
        if not parts.hostname or not _HOST.fullmatch(parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc):
            return "it has no valid host name after http(s)://"
        if not _URL_PATH.fullmatch(parts.path):
            return f"its path {parts.path!r} is not a plain path"
        return None
    if not value.startswith("/"):
        return "it is neither an http(s):// address nor a path starting with '/'"
    if not _URL_PATH.fullmatch(value):
        return "it is not a plain path (letters, digits and - . _ ~ / and percent-encoded characters)"
    return None


def check_base_url(value: Any) -> str | None:
    """``--base-url`` as given if it is a plain http(s) address or a path from the server's root
    (None or "" give None), otherwise a DataError naming the option and the fix.

    MkDocs writes the address into every page (canonical links) and the sitemap without
    escaping, so nothing that could end an HTML attribute or start markup is accepted.

    >>> check_base_url("https://example.org/compare/"), check_base_url("/compare/"), check_base_url(None)
    ('https://example.org/compare/', '/compare/', None)
    >>> check_base_url('https://x.org/"><script>alert(1)</script>')
    Traceback (most recent call last):
    ...
    publicservices.errors.DataError: --base-url: 'https://x.org/"><script>alert(1)</script>' is not a plain http(s) address or path (it contains '"', '<', '>', which a site address never needs).
    Fix: give where the site will be served as a plain address, such as https://example.org/compare/, or a path on the same server, such as /compare/.
    """
    if value is None or value == "":
        return None
    fix = (
        "Fix: give where the site will be served as a plain address, such as https://example.org/compare/, "
        "or a path on the same server, such as /compare/."
    )
    if not isinstance(value, str):
        raise DataError(f"--base-url: expected text, got {type(value).__name__}.\n{fix}")
    reason = _base_url_problem(value)
    if reason:
        raise DataError(f"--base-url: {value!r} is not a plain http(s) address or path ({reason}).\n{fix}")
    return value


def csv_cell(value: Any) -> Any:
    """A text cell for a CSV download that no spreadsheet runs as a formula (OWASP CSV injection):
    text starting with ``= + - @``, a tab, a carriage return or a line feed gets a leading
    single quote, unless it is a plain number. Anything that is not text is returned as it is.

    >>> csv_cell("=1+2"), csv_cell("@SUM(A1)"), csv_cell("-2+3"), csv_cell("-2.5"), csv_cell(-2), csv_cell("Hull")
    ("'=1+2", "'@SUM(A1)", "'-2+3", '-2.5', -2, 'Hull')
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START) and not _CSV_NUMBER.fullmatch(value):
        return "'" + value
    return value
