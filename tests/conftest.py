"""Shared fixtures: where the real data lives, and the CI rule for what is absent.

Tests that need ``../shared`` data or a browser *skip* with a reason on a laptop without them,
and *fail* under ``CI=true``, where their absence is a set-up bug.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PUBLICSERVICES_SHARED", REPO.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The suite tests the core and this repository's four sector plugins, whatever else is
# installed: the process-wide registry loads only those (set the variable to choose others).
# Tests about discovery build their own PluginRegistry, or run a subprocess without it.
REPO_PLUGINS = ("publicservices-health", "publicservices-schools", "publicservices-policing", "publicservices-welfare")
os.environ.setdefault("PUBLICSERVICES_LOAD_PLUGINS", ",".join(REPO_PLUGINS))


def require(condition: bool, reason: str) -> None:
    """Skip (laptop) or fail (CI) when a test's outside requirement is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture
def shared_data():
    """Return a function mapping a file name in ``../shared/data`` to its path."""

    def path(name: str) -> Path:
        p = SHARED / "data" / name
        require(p.exists(), f"real data file {p} is not available")
        return p

    return path


def digest(*arrays) -> str:
    """First 16 hex digits of the sha256 of the arrays' dtypes, shapes and bytes: pins an output exactly."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def frame_digest(frame) -> str:
    """:func:`digest` of every column of a Polars frame (nulls as -999, text as text)."""
    import polars as pl

    return digest(
        *[
            frame.get_column(c).fill_null(-999).to_numpy().astype(str if frame.schema[c] == pl.String else None)
            for c in frame.columns
        ]
    )
