"""Benchmark: building the published website (``publicservices publish``).

Run: ``.venv/bin/python benchmarks/bench_site.py [--areas 0,2000,7000] [--builds N]
[--no-floor]`` (``0`` is the demo nation; about ten minutes on 2 cores at the defaults, most
of it the 7,000-area site; ``--quick`` builds the demo only).

Each site is built in a fresh process, which reports the CPU time (its own and any child
processes') and wall time of the whole ``publish`` call (load, statistics, pages, MkDocs,
swap), its peak resident memory (``ru_maxrss``), and the pages written. Beside it, in another
fresh process and alternately with it, the floor: a plain MkDocs Material build of the same
number of pages (one line each, a one-entry nav), the cost of any static site of that size,
importing MkDocs included (publish imports it during the build; Python's start-up is in neither).
Before the first build the package and its plugins are byte-compiled, as pip compiles MkDocs
(an editable install is not, and where PYTHONDONTWRITEBYTECODE is set every build would
compile them again: about 0.4 s that no installed copy pays).
Synthetic sites come from :func:`publicservices.site.sample.sample_dataset` (3 indicators, 5
years: GP-practice scale at 7,000 areas).

A row per size gives the CPU time of each stage of the build (prepare data, statistics, write
pages, MkDocs build, swap into place): how much of it is the statistics every site needs
whatever its pages, and how much the pages and MkDocs. Another sets the build less its data and
statistics stages against the floor, for reading only: the goal is on the whole build.

Goals (issue 21; judged on CPU time, as the machine is shared):

* CPU time at most 3x the MkDocs floor; the demo under 5 s and 7,000 areas under 35 s;
* peak memory under 1 GB at every size;
* linear growth: CPU seconds per area at the largest size at most 1.25x those at the
  smallest synthetic size;
* no page over 300 KB (the largest HTML page of each site).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Table, arguments, megabytes, seconds  # noqa: E402

SITE = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from publicservices.site import publish
from publicservices.site.sample import sample_dataset

def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

import contextlib
from publicservices.site.progress import Progress

class Stages(Progress):  # CPU seconds by stage of the build
    def __init__(self):
        self.cpu = {}
    @contextlib.contextmanager
    def stage(self, label, total):
        start = cpu()
        try:
            yield lambda n=1: None
        finally:
            self.cpu[label] = self.cpu.get(label, 0.0) + cpu() - start

n, out = int(sys.argv[1]), Path(sys.argv[2])
data = None if n == 0 else sample_dataset(n_areas=n, n_periods=5, seed=0)
stages = Stages()
c0, w0 = cpu(), time.perf_counter()
result = publish(data, out, progress=stages)
wall, used = time.perf_counter() - w0, cpu() - c0
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
pages = sorted((p.stat().st_size, p.relative_to(out).as_posix()) for p in out.rglob("*.html"))
print(json.dumps({"wall": wall, "cpu": used, "stages": stages.cpu, "peak": peak * 1024, "pages": result.pages, "html_pages": len(pages),
                  "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()), "largest": pages[-1]}))
"""

FLOOR = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
n, root = int(sys.argv[1]), Path(sys.argv[2])
docs = root / "docs"
docs.mkdir(parents=True)
for i in range(n):
    (docs / ("index.md" if i == 0 else f"page-{i}.md")).write_text(f"# Page {i}\n\nOne line of text on page {i}.\n")
(root / "mkdocs.yml").write_text("site_name: Floor\ntheme:\n  name: material\nnav:\n  - Home: index.md\n")

def cpu():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

c0, w0 = cpu(), time.perf_counter()
# MkDocs is imported inside the timer, as `mkdocs build` and publish (which imports it lazily) both do
from mkdocs.commands.build import build
from mkdocs.config import load_config
build(load_config(str(root / "mkdocs.yml"), site_dir=str(root / "site")))
wall, used = time.perf_counter() - w0, cpu() - c0
print(json.dumps({"wall": wall, "cpu": used, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

GB = 1024**3


def child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"a build ({' '.join(args)}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_site(n_areas: int, where: Path) -> dict:
    out = where / f"site-{n_areas}"
    try:
        return child(SITE, str(n_areas), str(out))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def build_floor(pages: int, where: Path) -> dict:
    root = where / f"floor-{pages}"
    try:
        return child(FLOOR, str(pages), str(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cpu_of(run: dict, exclude: tuple[str, ...]) -> float:
    """A build's CPU time less that of the stages named."""
    return run["cpu"] - sum(run["stages"].get(k, 0.0) for k in exclude)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _min(runs: list[dict], key: str) -> float:
    return min(r[key] for r in runs)


def byte_compile() -> None:
    """Byte-compile publicservices and the installed plugins where they are (see the module docstring)."""
    import compileall
    import importlib.util
    from importlib.metadata import entry_points

    names = {"publicservices", *(ep.module.split(".")[0] for ep in entry_points(group="publicservices"))}
    for name in sorted(names):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    floor = "--no-floor" not in raw
    args = arguments(__doc__, [a for a in raw if a != "--no-floor"], areas=[0, 2000, 7000], builds=1)
    sizes = [0] if args.quick else args.areas
    table = Table(f"site: {', '.join('demo' if n == 0 else f'{n:,} areas' for n in sizes)}; {args.builds} build(s) each")
    results: dict[int, list[dict]] = {}
    byte_compile()
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        for n in sizes:
            label = "demo (150 areas)" if n == 0 else f"{n:,} areas"
            runs, floors = [], []
            for _ in range(args.builds):  # ours and the floor alternately
                print(f"building {label} ...", file=sys.stderr, flush=True)
                runs.append(build_site(n, Path(tmp)))
                if floor:
                    floors.append(build_floor(runs[-1]["html_pages"], Path(tmp)))
            results[n] = runs
            r = runs[0]
            cpu, wall = _median(runs, "cpu"), _median(runs, "wall")
            ours = f"{seconds(cpu)} (min {seconds(_min(runs, 'cpu'))}) CPU, {seconds(wall)} wall; {r['pages']:,} pages"
            goal = 5.0 if n == 0 else 35.0 if n == 7000 else None
            table.add(f"{label}: build", ours, "-", "-", f"< {goal:g} s CPU" if goal else "-", cpu < goal if goal else None)
            if floor:
                f_cpu = _median(floors, "cpu")
                table.add(
                    f"{label}: against the MkDocs floor",
                    ours,
                    f"MkDocs Material, {r['html_pages']:,} pages: {seconds(f_cpu)} CPU, {seconds(_median(floors, 'wall'))} wall",
                    f"{cpu / f_cpu:.1f}x",
                    "<= 3x",
                    cpu / f_cpu <= 3,
                )
            stages = {k: statistics.median(x["stages"].get(k, 0.0) for x in runs) for k in r["stages"]}
            table.add(f"{label}: CPU by stage", "; ".join(f"{k} {seconds(v)}" for k, v in stages.items()))
            if floor:  # what the site costs beyond the statistics any site of this data needs (no goal: for reading)
                site_cpu = statistics.median(cpu_of(x, exclude=("prepare data", "statistics")) for x in runs)
                table.add(
                    f"{label}: the build less data and statistics, against the floor",
                    f"{seconds(site_cpu)} CPU",
                    f"{seconds(f_cpu)} CPU",
                    f"{site_cpu / f_cpu:.1f}x",
                )
            peak = max(x["peak"] for x in runs)
            table.add(f"{label}: peak memory (RSS)", megabytes(peak), "-", "-", "< 1 GB", peak < GB)
            table.add(f"{label}: size", f"{r['bytes'] / 1024**2:,.1f} MB in {r['html_pages']:,} HTML pages")
            largest_kb = r["largest"][0] / 1024
            table.add(
                f"{label}: largest page", f"{largest_kb:,.1f} KB ({r['largest'][1]})", "-", "-", "< 300 KB", largest_kb < 300
            )
    synthetic = sorted(n for n in results if n > 0)
    if len(synthetic) >= 2:
        lo, hi = synthetic[0], synthetic[-1]
        for what, key in (("CPU time", "cpu"), ("wall time", "wall"), ("size", "bytes")):
            ratio = (_median(results[hi], key) / hi) / (_median(results[lo], key) / lo)
            table.add(
                f"growth: {what} per area, {hi:,} vs {lo:,}",
                f"{ratio:.2f}x",
                "1.00x (linear)",
                "-",
                "<= 1.25x" if key == "cpu" else "-",
                ratio <= 1.25 if key == "cpu" else None,
            )
    table.note("each build runs in a fresh process; CPU time includes any child processes")
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
