"""Benchmark: building the published website (``publicservices publish``).

Run: ``.venv/bin/python benchmarks/bench_site.py`` (about three to four minutes on 2 cores: the
7,000-area site alone has a two-minute target). ``--quick`` skips the 7,000-area site.

Cases (targets from issue 8, on a 2-core machine):

* the demo nation (150 areas, 24 indicators, 10 years): build under 20 s;
* synthetic sites of 2,000 and 7,000 areas (GP-practice scale; 3 indicators, 5 years, from
  :func:`publicservices.site.sample.sample_dataset`): 7,000 areas under 2 minutes and 1 GB;
* growth: time and size per area at 7,000 against 2,000 areas (linear: ratio near 1; target
  at most 1.25);
* no page over 300 KB (the largest HTML page of each site).

Each site is built in a fresh process (its own memory and caches); times are wall clock for
the whole ``publish`` call (load, statistics, pages, MkDocs, swap). CPU time is printed too:
on a shared machine wall time includes waiting for other work.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from publicservices.site import publish
from publicservices.site.sample import sample_dataset
n, out = int(sys.argv[1]), Path(sys.argv[2])
data = None if n == 0 else sample_dataset(n_areas=n, n_periods=5, seed=0)
start = time.perf_counter()
result = publish(data, out)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
pages = sorted((p.stat().st_size, p.relative_to(out).as_posix()) for p in out.rglob("*.html"))
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
                  "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()), "pages": result.pages,
                  "largest": pages[-1]}))
"""

MB = 1024 * 1024


def build(n_areas: int, where: Path) -> dict:
    out = where / f"site-{n_areas}"
    done = subprocess.run([sys.executable, "-c", CHILD, str(n_areas), str(out)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"building the {n_areas or 'demo'} site failed:\n{done.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sizes = [0, 2000] + ([] if "--quick" in argv else [7000])
    rows: list[tuple[str, str, str, str, bool]] = []
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        for n in sizes:
            label = "demo (150 areas)" if n == 0 else f"{n:,} areas"
            print(f"building {label} ...", file=sys.stderr, flush=True)
            results[n] = r = build(n, Path(tmp))
            largest_kb = r["largest"][0] / 1024
            target = 20.0 if n == 0 else 120.0 if n == 7000 else None
            rows.append((f"{label}: build time", f"{r['wall']:.1f} s (cpu {r['cpu']:.1f} s)", "-",
                         f"< {target:.0f} s" if target else "-", r["wall"] < target if target else True))
            size_target = 1024 if n == 7000 else None
            rows.append((f"{label}: total size", f"{r['bytes'] / MB:,.1f} MB ({r['pages']:,} pages)", "-",
                         f"< {size_target} MB" if size_target else "-", r["bytes"] / MB < size_target if size_target else True))
            rows.append((f"{label}: largest page", f"{largest_kb:,.1f} KB ({r['largest'][1]})", "-", "< 300 KB", largest_kb < 300))
            rows.append((f"{label}: peak memory", f"{r['peak_mb']:,.0f} MB", "-", "-", True))
    if 7000 in results:
        small, big = results[2000], results[7000]
        for what, key in (("time", "wall"), ("cpu time", "cpu"), ("size", "bytes")):
            ratio = (big[key] / 7000) / (small[key] / 2000)
            rows.append((f"growth: {what} per area, 7,000 vs 2,000", f"{ratio:.2f}x", "1.00x (linear)", "<= 1.25x", ratio <= 1.25))
    widths = [max(len(str(r[i])) for r in rows + [("case", "ours", "reference", "target", "pass")]) for i in range(4)]
    header = ("case", "ours", "reference", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  pass")
    print("  ".join("-" * w for w in widths) + "  ----")
    for case, ours, ref, target, ok in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip((case, ours, ref, target), widths, strict=True)) + f"  {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
