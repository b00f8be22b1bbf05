"""Error messages about a site project file that name the key, its line in the TOML and the fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["key_message", "schema_message", "key_text", "line_of"]


def key_message(path: Path, text: str, key: Sequence[Any], what: str, fix: str) -> str:
    """``<file>, line <n>: <key>: <what>.`` and the fix, for the project file at ``path`` whose text is ``text``."""
    if not text:  # flags on the command line: no file, no line
        return f"{key_text(key)}: {what}.\nFix: {fix}"
    return f"{path.name}, line {line_of(text, key)}: {key_text(key)}: {what}.\nFix: {fix}"


def schema_message(path: Path, text: str, error: Any) -> str:
    """One JSON Schema error (``jsonschema.ValidationError``) as ``<file>, line <n>: <key>: <what>.``"""
    key = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)' (?:was|were) unexpected", error.message)
        key = key + extra[:1]
        what = f"unknown key (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
    elif error.validator == "required":
        what = error.message.replace("is a required property", "is required")
    else:
        what = error.message
    where = f"{path.name}, line {line_of(text, key)}: " if text else ""
    return f"{where}{key_text(key) or '(top level)'}: {what}."


def key_text(key: Sequence[Any]) -> str:
    """A key path as the publisher writes it: ``("sources", 0, "path")`` is ``sources[0].path``."""
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(text: str, key: Sequence[Any]) -> int:
    """The line of a key in a TOML text: the table header, then the key inside it (best effort)."""
    lines = text.splitlines()
    line = 0
    tables = [str(k) for k in key if not isinstance(k, int)]
    counts = [k for k in key if isinstance(k, int)]
    if tables:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(tables[0])}\s*\]\]?\s*$")
        hits = [i for i, t in enumerate(lines) if header.match(t)]
        if hits:
            line = hits[min(counts[0], len(hits) - 1)] if counts and len(hits) > 1 else hits[0]
        for name in tables[1:]:
            pattern = re.compile(rf"^\s*\"?{re.escape(name)}\"?\s*=")
            found = next((i for i in range(line, len(lines)) if pattern.match(lines[i])), None)
            if found is not None:
                line = found
    return line + 1
