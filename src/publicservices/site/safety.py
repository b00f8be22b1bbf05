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
_JS_TABLE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
# Characters PyYAML (which MkDocs uses for front matter) refuses to read even inside quotes;
# json.dumps already escapes those below U+0020, so only these remain to write as \uXXXX.
_YAML_UNREADABLE = re.compile("[\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_SLUG = 100


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
    return text.translate(_JS_TABLE)


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
        raise DataError(f"column {kind!r}: {value!r} cannot be used as a file name ({reason}).\n"
                        f"Fix: recode {kind} to letters, digits, '_', '.' and '-' before publishing.")
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
        raise DataError(problem(kind, "holds ids that cannot be used as a file name", rows=bad[:5], total=len(bad),
                                fix=f"recode {kind} to letters, digits, '_', '.' and '-' before publishing, for example with "
                                    f"pl.col({kind!r}).str.replace_all(r'[^A-Za-z0-9_.-]', '-')."))
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
        raise DataError(f"column {kind!r}: ids {shown} differ only in letter case, so they would share one file name.\n"
                        f"Fix: make {kind} unique ignoring case.")
    return out


def inside(root: Path, rel_path: str) -> Path:
    """``root / rel_path`` resolved, or a DataError if it would land outside ``root``.

    >>> inside(Path("/tmp/x"), "a/b.md").as_posix()
    '/tmp/x/a/b.md'
    """
    base = Path(root).resolve()
    try:  # resolve() follows symlinks, so a link inside root pointing out is caught too
        target = (base / rel_path).resolve()
    except (OSError, ValueError, RuntimeError) as err:  # NUL byte, symlink loop
        raise DataError(f"cannot write {rel_path!r} under the output folder {str(base)!r}: {err}.\n"
                        "Fix: this is a bug or an unsafe id; report it with the id that produced the path.") from err
    if target != base and base not in target.parents:
        raise DataError(f"refusing to write {rel_path!r}: it is outside the output folder {str(base)!r}.\n"
                        "Fix: this is a bug or an unsafe id; report it with the id that produced the path.")
    return target
