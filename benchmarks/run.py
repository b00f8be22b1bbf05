"""Run the benchmarks and print their tables: ``python benchmarks/run.py [name ...] [--option ...]``.

Names come first, then options.

With no name every ``bench_<name>.py`` runs (``make bench``); with names only those
(``run.py intervals ranking``). Options are passed to each benchmark: ``--quick`` for smaller
sizes, ``--repeats N``, or a benchmark's own size options (``run.py ranking --units 2000``).

Each benchmark runs in its own process, so one benchmark's memory and warm caches do not
flatter another's; inside each, our code and its reference run in the same process,
interleaved and repeated (see ``_harness.py``). Goals are printed beside the figures and judged
on CPU time; they are not asserted in tests, because a shared CI machine is no place for
timings. The exit status is 1 if a benchmark failed to run, not if a goal is missed: the
tables say which goals hold.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    # names first, then options: everything from the first "-..." on goes to the benchmarks
    first = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:first], argv[first:]
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {a.removeprefix("bench_").removesuffix(".py") for a in names}
        unknown = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if unknown:
            print(
                f"no benchmark named {', '.join(sorted(unknown))}; there are: "
                f"{', '.join(s.stem.removeprefix('bench_') for s in scripts)}",
                file=sys.stderr,
            )
            return 2
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem.removeprefix('bench_')} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *options])
        print(f"({script.name} took {time.perf_counter() - start:.1f} s{'' if code == 0 else f', exit {code}'})", flush=True)
        if code:
            failed.append(script.name)
    print(f"\n{len(scripts)} benchmark(s) run" + (f"; failed: {', '.join(failed)}" if failed else "."))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
