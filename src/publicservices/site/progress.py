"""Progress reporting for long builds: a silent default, a recorder for tests.

The publish pipeline calls ``with progress.stage(label, total) as advance: advance()`` for
each stage and ``progress.note(message)`` for a line worth telling the user. The command
line shows these as click progress bars; a notebook or a test can pass its own.

Example:
    >>> p = RecordingProgress()
    >>> with p.stage("write pages", 2) as advance:
    ...     advance(); advance()
    >>> p.events
    [('write pages', 2, 2)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

__all__ = ["Advance", "Progress", "RecordingProgress"]


class Advance(Protocol):
    """What :meth:`Progress.stage` yields: ``advance()`` when a step is done, ``advance(n)`` for n steps."""

    def __call__(self, n: int = 1) -> None: ...


def _ignore(n: int = 1) -> None:
    """Advance nothing (the silent :class:`Progress`)."""


class Progress:
    """Report nothing: the default for library calls."""

    @contextlib.contextmanager
    def stage(self, label: str, total: int) -> Iterator[Advance]:
        yield _ignore

    def note(self, message: str) -> None:
        """A line for the user (a warning, or what was set aside)."""


class RecordingProgress(Progress):
    """Record ``(label, done, total)`` for every stage, and every note."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []
        self.notes: list[str] = []

    @contextlib.contextmanager
    def stage(self, label: str, total: int) -> Iterator[Advance]:
        done = [0]

        def advance(n: int = 1) -> None:
            done[0] += n

        try:
            yield advance
        finally:
            self.events.append((label, done[0], total))

    def note(self, message: str) -> None:
        self.notes.append(message)
