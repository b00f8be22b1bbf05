"""The shared benchmark harness: the same work, in the same process, interleaved and repeated.

Every ``bench_<topic>.py`` builds its table with these pieces, so that a ratio means what it
says on a shared machine:

* :func:`interleave` times competing implementations of the *same work* in one process,
  alternately (ours, reference, ours, reference, ...), after a warm-up of each; both see the
  same machine load. It reports the median and the minimum of CPU time
  (:func:`time.process_time`, all threads) and of wall time. Goals are judged on CPU time
  (the medians): other work on the machine stretches wall time, not CPU time.
* :func:`in_fresh_process` runs one case in a new interpreter and returns what it reports;
  :func:`peak_during` measures the peak resident memory (RSS) a call adds over the RSS
  before it -- the ``VmHWM`` high-water mark, reset first through ``/proc/self/clear_refs``
  on Linux, else ``resource.getrusage`` -- so memory figures of one case never inherit
  another case's peak.
* :class:`Table` prints rows of case, ours, reference, ratio, goal and whether the goal holds
  (``yes``, ``NO``, or ``-`` for information).
* :func:`arguments` parses the options every benchmark shares (``--repeats``, ``--quick``)
  beside its own size parameters.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """CPU and wall seconds of the repeats of one implementation."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def cpu_min(self) -> float:
        return min(self.cpu)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def wall_min(self) -> float:
        return min(self.wall)

    def cpu_text(self) -> str:
        """``median (min) s CPU``."""
        return f"{seconds(self.cpu_median)} (min {seconds(self.cpu_min)}) CPU"

    def text(self) -> str:
        """CPU median (min) and wall median."""
        return f"{self.cpu_text()}, {seconds(self.wall_median)} wall"


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, result) of one call."""
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def interleave(cases: dict[str, Callable[[], Any]], repeats: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time every case ``repeats`` times, alternating between them after ``warmup`` rounds.

    Round r runs each case once, in the given order in even rounds and in reverse order in
    odd rounds, so neither side always runs just after the other's garbage.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    out = {name: Timing() for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            cpu, wall, result = timed(cases[name])
            del result
            out[name].cpu.append(cpu)
            out[name].wall.append(wall)
    return out


def repeat(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> Timing:
    """Time one case (no reference to interleave with)."""
    return interleave({"case": fn}, repeats, warmup)["case"]


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------


def _status(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss() -> int:
    """The resident memory of this process now, in bytes (0 where not known)."""
    return _status("VmRSS") or 0


def peak_rss() -> int:
    """The peak resident memory of this process so far, in bytes."""
    hwm = _status("VmHWM")
    if hwm is not None:
        return hwm
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage if sys.platform == "darwin" else usage * 1024


def peak_during(fn: Callable[[], Any]) -> tuple[int, int, Any]:
    """(peak RSS increase over the RSS before the call, peak RSS, result) of one call.

    The high-water mark is reset first where Linux allows it; elsewhere the increase is over
    the process's earlier peak, a lower bound.
    """
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    before = rss()
    out = fn()
    peak = peak_rss()
    return max(0, peak - before), peak, out


def in_fresh_process(script: str | Path, *args: str, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python script *args`` in a new interpreter; return the JSON of its last output line."""
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{Path(script).name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(result: dict[str, Any]) -> None:
    """Print a case's figures as the JSON line :func:`in_fresh_process` reads."""
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


def seconds(s: float) -> str:
    if s != s:
        return "-"
    if s < 0.001:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def megabytes(b: float) -> str:
    return f"{b / MB:,.0f} MB"


@dataclass
class Table:
    """Rows of case, ours, reference, ratio, goal and whether it holds, printed as a table."""

    title: str
    rows: list[tuple[str, str, str, str, str, bool | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, case: str, ours: str, reference: str = "-", ratio: str = "-", goal: str = "-", holds: bool | None = None
    ) -> None:
        self.rows.append((case, ours, reference, ratio, goal, holds))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def compare(
        self,
        case: str,
        ours: Timing,
        reference: Timing,
        ref_label: str,
        limit: float | None = None,
        faster_by: float | None = None,
    ) -> float:
        """A row comparing two interleaved timings on median CPU seconds.

        ``limit``: goal ours / reference <= limit. ``faster_by``: goal reference / ours >= it.
        Returns ours / reference.
        """
        ratio = ours.cpu_median / reference.cpu_median
        if faster_by is not None:
            speed = 1 / ratio
            self.add(
                case,
                ours.text(),
                f"{ref_label}: {reference.text()}",
                f"{speed:.1f}x faster",
                f">= {faster_by:g}x faster",
                speed >= faster_by,
            )
        elif limit is not None:
            self.add(case, ours.text(), f"{ref_label}: {reference.text()}", f"{ratio:.2f}x", f"<= {limit:g}x", ratio <= limit)
        else:
            self.add(case, ours.text(), f"{ref_label}: {reference.text()}", f"{ratio:.2f}x")
        return ratio

    def print(self) -> None:
        header = ("case", "ours", "reference", "ratio", "goal", "holds")
        cells = [header] + [(*r[:5], "-" if r[5] is None else ("yes" if r[5] else "NO")) for r in self.rows]
        widths = [max(len(str(c[i])) for c in cells) for i in range(6)]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{self.title} ({os.cpu_count()} CPUs, load average {load:.1f} at the end)")
        for i, row in enumerate(cells):
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                print("  ".join("-" * w for w in widths))
        for text in self.notes:
            print(f"* {text}")
        print(flush=True)

    @property
    def failed(self) -> list[str]:
        return [r[0] for r in self.rows if r[5] is False]


COMMON_NOTE = (
    "times are median (min) CPU seconds of interleaved repeats, then median wall; goals are "
    "judged on median CPU time (the machine is shared: load stretches wall time)"
)


# --------------------------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------------------------


def arguments(description: str, argv: Sequence[str] | None = None, **sizes: Any) -> argparse.Namespace:
    """Parse ``--repeats``, ``--quick``, ``--case`` (internal) and the given size options.

    ``sizes`` maps an option name to its default (an int, a float, or a list of ints for a
    comma-separated list), e.g. ``arguments(doc, units=7000, sims=10_000)``.
    """
    parser = argparse.ArgumentParser(description=description.splitlines()[0] if description else None)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each side (default 5)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)  # one case, in a fresh process
    for name, default in sizes.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, list):
            parser.add_argument(
                flag,
                type=lambda v: [int(float(p)) for p in v.split(",")],
                default=default,
                help=f"comma-separated (default {','.join(map(str, default))})",
            )
        else:
            kind = type(default)
            parser.add_argument(flag, type=(lambda v, k=kind: k(float(v))), default=default, help=f"default {default}")
    return parser.parse_args(argv)
