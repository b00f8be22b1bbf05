"""Run every benchmark and print its table: ``python benchmarks/run.py [name ...]``.

Each ``bench_<topic>.py`` runs in its own process, so one benchmark's memory and warm
caches do not flatter another's. Targets are printed beside the figures; they are not
asserted in tests, because a shared CI machine is no place for timings.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {a.removeprefix("bench_").removesuffix(".py") for a in argv}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem.removeprefix('bench_')} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"({script.name} took {time.perf_counter() - start:.1f} s{'' if code == 0 else f', exit {code}'})", flush=True)
        if code:
            failed.append(script.name)
    print(f"\n{len(scripts)} benchmark(s) run" + (f"; failed: {', '.join(failed)}" if failed else "."))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
