"""Build progress on a terminal: counts, time elapsed, and a time left only when it can be told.

A fake clock drives every test, so the estimates are checked against the time the simulated
stage really has left.
"""

from __future__ import annotations

import io

import pytest

from publicservices.site.progress import TerminalProgress, TimeLeft, duration_text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(steps: list[float], clock: Clock, left: TimeLeft) -> list[tuple[int, float | None, float]]:
    """Advance through steps of the given lengths; (done, estimate, true time left) after each."""
    seen = []
    for i, seconds in enumerate(steps, start=1):
        clock.now += seconds
        left.update(i)
        seen.append((i, left.seconds(), sum(steps[i:])))
    return seen


def test_no_time_left_until_the_rate_is_known_then_within_a_fifth_of_the_truth():
    # "write pages": a first step that writes every data file (20 s), then 400 pages of 0.05 s
    steps = [20.0] + [0.05] * 400
    clock = Clock()
    seen = _run(steps, clock, TimeLeft(len(steps), clock=clock))
    warm = [(done, est) for done, est, _ in seen if done < 0.1 * len(steps)]
    assert all(est is None for _, est in warm)  # warm-up: no estimate
    shown = [(done, est, truth) for done, est, truth in seen if est is not None]
    assert shown and shown[0][0] <= 0.15 * len(steps)  # but not withheld for long
    for done, est, truth in shown:
        assert est is not None and abs(est - truth) <= 0.2 * truth + 0.5, (done, est, truth)
    # the average since the start (what a plain progress bar shows) is several times too long here
    done, _, truth = shown[0]
    naive = (len(steps) - done) * (sum(steps[:done]) / done)
    assert naive > 5 * truth


def test_no_time_left_when_finished_or_when_nothing_moves():
    clock = Clock()
    left = TimeLeft(10, clock=clock)
    assert left.seconds() is None
    clock.now = 100.0
    assert left.seconds() is None  # nothing done
    _run([1.0] * 10, clock, left)
    assert left.seconds() is None  # finished


def test_a_terminal_line_shows_counts_and_elapsed_and_the_time_left_after_warm_up():
    clock = Clock()
    out = io.StringIO()
    progress = TerminalProgress(out, tty=True, clock=clock, redraw=0.0)
    with progress.stage("write pages", 100) as advance:
        clock.now += 30.0  # a slow first step
        advance()
        first = out.getvalue().rsplit("\r", 1)[-1]
        for _ in range(60):
            clock.now += 0.5
            advance()
        later = out.getvalue().rsplit("\r", 1)[-1]
    assert "1/100" in first and "0:30 elapsed" in first and "left" not in first
    assert "61/100" in later and "1:00 elapsed" in later and "about 20 s left" in later  # 39 steps of 0.5 s
    assert out.getvalue().endswith("\n")


def test_a_log_gets_a_line_per_stage_start_and_end_and_notes_without_escape_codes():
    clock = Clock()
    out = io.StringIO()
    progress = TerminalProgress(out, tty=False, clock=clock)
    with progress.stage("statistics", 3) as advance:
        for _ in range(3):
            clock.now += 4.0
            advance()
    progress.note("area \x1b[31mred\x1b[0m")
    assert out.getvalue().splitlines() == ["statistics (3 steps) ...", "statistics: 3 of 3 in 0:12", "area ?[31mred?[0m"]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.9, "0:59"), (61, "1:01"), (3600, "1:00:00")])
def test_durations_read_as_a_clock(seconds, text):
    assert duration_text(seconds) == text
