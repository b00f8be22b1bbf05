"""Benchmark: ``ps.outcomes`` (``assess_outcomes``) on big values frames: time and memory.

Run: ``.venv/bin/python benchmarks/bench_outcomes.py [--rows 250000,1000000] [--repeats N]``
(a minute or two on 2 cores at the defaults).

Each size runs in a fresh process: a synthetic dataset from
:func:`publicservices.site.sample.sample_dataset` (3 indicators x 10 years x enough areas for
the rows), a warm-up on a small one (imports, thread pools), then ``ps.outcomes(dataset)``:
first once for memory -- the peak rise in resident memory over the RSS before the call, as a
multiple of the input frame's ``estimated_size()`` -- then ``--repeats`` times for CPU and
wall time. Goals (issue 21): peak memory at most 3x the input frame at 1 million rows, and
time linear in the rows (CPU seconds per row at the largest size at most 1.25x those at the
smallest).

The goal's figure is over the RSS before the call, which holds memory Polars' allocator
(jemalloc) kept from earlier work (building the dataset, the warm-up) and reuses in the call;
how much it has already handed back depends on the time passed, so the figure varies from run
to run (at 1 million rows on a loaded 2-core machine: 2.0x to 4.4x for the same code). An
informative row runs the case again with jemalloc returning freed memory at once
(``_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0``): the peak of live memory, the same
to a few MB in every run; it cannot be lower than the result frame itself (the input's columns
laid out again plus about 30 new columns), shown beside it.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Table, arguments, in_fresh_process, megabytes, peak_during, repeat, report  # noqa: E402

PERIODS = 10
INDICATORS = 3  # sample_dataset's
# jemalloc (Polars' allocator on Linux) returning freed memory at once: RSS is live memory
_RETURN_AT_ONCE = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


def one_size(rows: int, repeats: int) -> dict:
    import publicservices as ps
    from publicservices.site.sample import sample_dataset

    warnings.simplefilter("ignore")
    ps.outcomes(sample_dataset(n_areas=50, n_periods=PERIODS, seed=1))  # imports, thread pools
    ds = sample_dataset(n_areas=max(1, rows // (INDICATORS * PERIODS)), n_periods=PERIODS, seed=0)
    size = ds.values.estimated_size()
    rise, peak, out = peak_during(lambda: ps.outcomes(ds))
    n_out, out_size = out.height, out.estimated_size()
    del out
    t = repeat(lambda: ps.outcomes(ds), repeats, warmup=0)
    return {
        "rows": ds.values.height,
        "input": size,
        "rise": rise,
        "peak": peak,
        "out": n_out,
        "out_size": out_size,
        "cpu": t.cpu,
        "wall": t.wall,
    }


def live_peak(rows: int) -> dict:
    """The case once more in a fresh process whose allocator returns freed memory at once."""
    name, conf = _RETURN_AT_ONCE
    before = os.environ.get(name)
    os.environ[name] = conf
    try:
        return in_fresh_process(__file__, "--case", str(rows), "--repeats", "1")
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, rows=[250_000, 1_000_000])
    if args.quick:
        args.rows, args.repeats = [50_000, 200_000], 2
    if args.case:
        report(one_size(int(args.case), args.repeats))
        return 0
    from _harness import Timing

    table = Table(f"outcomes: ps.outcomes on {', '.join(f'{r:,}' for r in args.rows)} rows")
    results = {}
    for rows in args.rows:
        print(f"outcomes on {rows:,} rows ...", file=sys.stderr, flush=True)
        r = results[rows] = in_fresh_process(__file__, "--case", str(rows), "--repeats", str(args.repeats))
        t = Timing(r["cpu"], r["wall"])
        table.add(f"ps.outcomes, {r['rows']:,} rows: time", t.text())
        times = r["rise"] / r["input"]
        goal = rows >= 1_000_000
        table.add(
            f"ps.outcomes, {r['rows']:,} rows: peak memory rise / input",
            f"{times:.1f}x ({megabytes(r['rise'])})",
            f"input frame {megabytes(r['input'])}; peak RSS {megabytes(r['peak'])}",
            f"{times:.1f}x",
            "<= 3x" if goal else "-",
            times <= 3 if goal else None,
        )
        live = live_peak(rows)
        table.add(
            f"ps.outcomes, {r['rows']:,} rows: peak live memory rise / input (freed memory returned at once)",
            f"{live['rise'] / live['input']:.1f}x ({megabytes(live['rise'])})",
            f"result frame {megabytes(live['out_size'])} ({live['out_size'] / live['input']:.1f}x, estimated_size)",
        )
    if len(results) >= 2:
        lo, hi = min(results), max(results)
        per = [Timing(results[k]["cpu"], results[k]["wall"]).cpu_median / results[k]["rows"] for k in (lo, hi)]
        ratio = per[1] / per[0]
        table.add(
            f"growth: CPU per row, {hi:,} vs {lo:,} rows",
            f"{ratio:.2f}x",
            "1.00x (linear)",
            f"{ratio:.2f}x",
            "<= 1.25x",
            ratio <= 1.25,
        )
    table.note("each size runs in a fresh process; times are median (min) CPU seconds of repeats, then median wall")
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
