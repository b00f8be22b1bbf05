"""Progress reporting for long builds: a silent default, a recorder for tests, a terminal display.

The publish pipeline calls ``with progress.stage(label, total) as advance: advance()`` for
each stage and ``progress.note(message)`` for a line worth telling the user. The command
line shows these with :class:`TerminalProgress` (counts, time elapsed and, once the rate is
known, the time left); a notebook or a test can pass its own.

Example:
    >>> p = RecordingProgress()
    >>> with p.stage("write pages", 2) as advance:
    ...     advance(); advance()
    >>> p.events
    [('write pages', 2, 2)]
"""

from __future__ import annotations

import bisect
import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TextIO

__all__ = ["Advance", "Progress", "RecordingProgress", "TerminalProgress", "TimeLeft", "duration_text"]


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


def duration_text(seconds: float) -> str:
    """``0:07``, ``3:25``, ``1:02:03``: a duration as a clock shows it.

    >>> duration_text(7.4), duration_text(205), duration_text(3723)
    ('0:07', '3:25', '1:02:03')
    """
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _left_text(seconds: float) -> str:
    """A time left, rounded up as far as it can honestly be known: ``about 15 s left``."""
    if seconds < 60:
        return f"about {max(5, 5 * math.ceil(seconds / 5))} s left"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


class TimeLeft:
    """The time a stage has left, estimated only once it can be.

    The steps of a stage are not equally long (the first step of "write pages" writes every
    data file; one statistic takes milliseconds, another minutes), so the average since the
    start misleads. Here there is no estimate during a warm-up (until ``warm_fraction`` of
    the steps, at least ``warm_steps``, are done and ``warm_seconds`` have passed), and then
    the rate is that of the most recent half of the steps done, which leaves a slow start
    behind. A stage whose last steps are its slowest still finishes later than estimated:
    the display says "about".

    ``clock`` is injectable (tests pass a fake one).

    Example:
        >>> now = [0.0]
        >>> left = TimeLeft(100, clock=lambda: now[0])
        >>> now[0] = 10.0; left.update(1)   # one slow first step
        >>> left.seconds() is None          # too few steps to tell
        True
        >>> for i in range(2, 21):
        ...     now[0] += 0.5; left.update(i)
        >>> left.seconds()                  # 80 steps at 0.5 s
        40.0
    """

    def __init__(
        self,
        total: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        warm_fraction: float = 0.1,
        warm_steps: int = 5,
        warm_seconds: float = 2.0,
    ) -> None:
        self.total = max(int(total), 0)
        self.clock = clock
        self.warm_steps = max(warm_steps, math.ceil(warm_fraction * self.total))
        self.warm_seconds = warm_seconds
        self.start = clock()
        self.done = 0
        self._times = [self.start]
        self._done = [0]

    def update(self, done: int) -> None:
        """Record that ``done`` steps are finished (a running total)."""
        now = self.clock()
        self.done = done
        if done > self._done[-1]:
            self._times.append(now)
            self._done.append(done)

    def elapsed(self) -> float:
        return self.clock() - self.start

    def seconds(self) -> float | None:
        """Seconds left, or ``None`` while it cannot be told (warm-up, finished, no progress)."""
        done = self.done
        if done >= self.total or done < self.warm_steps or self.elapsed() < self.warm_seconds:
            return None
        # the rate over the most recent half of the steps done: a slow start is left behind
        anchor = max(bisect.bisect_right(self._done, done / 2) - 1, 0)
        span = self._times[-1] - self._times[anchor]
        steps = self._done[-1] - self._done[anchor]
        if span <= 0 or steps <= 0:
            return None
        return (self.total - done) * span / steps

    def text(self) -> str:
        """``120/400, 0:12 elapsed, about 30 s left`` (no time left until it can be told)."""
        left = self.seconds()
        counts = f"{self.done:,}/{self.total:,}, {duration_text(self.elapsed())} elapsed"
        return counts if left is None else f"{counts}, {_left_text(left)}"


class TerminalProgress(Progress):
    """Stages on a terminal: a bar, the steps done, the time elapsed and an honest time left.

    On a terminal (``tty``) the line is redrawn in place at most ``redraw`` seconds apart; in a
    log (not a terminal) each stage writes one line as it starts and one as it ends. Notes go on
    their own lines. See :class:`TimeLeft` for when a time left is shown.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        redraw: float = 0.1,
        width: int = 30,
    ) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty()) if tty is None else tty
        self.clock = clock
        self.redraw = redraw
        self.width = width
        self._line = 0  # length of the line drawn in place (0: none)

    def _draw(self, label: str, left: TimeLeft) -> None:
        filled = self.width * min(left.done, left.total) // max(left.total, 1)
        line = f"{label:<16} [{'#' * filled}{'-' * (self.width - filled)}] {left.text()}"
        self.stream.write("\r" + line + " " * max(self._line - len(line), 0))
        self.stream.flush()
        self._line = len(line)

    def _end_line(self) -> None:
        if self._line:
            self.stream.write("\n")
            self._line = 0

    @contextlib.contextmanager
    def stage(self, label: str, total: int) -> Iterator[Advance]:
        left = TimeLeft(total, clock=self.clock)
        shown = [-math.inf]
        if self.tty:
            self._draw(label, left)
        else:
            self.stream.write(f"{label} ({total:,} step{'s' * (total != 1)}) ...\n")

        def advance(n: int = 1) -> None:
            left.update(left.done + n)
            now = self.clock()
            if self.tty and now - shown[0] >= self.redraw:
                shown[0] = now
                self._draw(label, left)

        try:
            yield advance
        finally:
            if self.tty:
                self._draw(label, left)
                self._end_line()
            else:
                self.stream.write(f"{label}: {left.done:,} of {left.total:,} in {duration_text(left.elapsed())}\n")
            self.stream.flush()

    def note(self, message: str) -> None:
        self._end_line()
        # data-borne text (area names in a note) never reaches the terminal as escape codes
        self.stream.write("".join(c if c in "\n\t" or (c >= " " and not "\x7f" <= c <= "\x9f") else "?" for c in message))
        self.stream.write("\n")
        self.stream.flush()
