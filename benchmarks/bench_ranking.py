"""Benchmark: rank simulation, exact funnel limits, shrinkage and report cards.

Run: ``.venv/bin/python benchmarks/bench_ranking.py [--units N] [--sims N]
[--funnel-units N] [--repeats N]`` (one to two minutes on 2 cores at the defaults).

* Rank simulation (``rank_intervals``), ``--units`` 7,000 x ``--sims`` 10,000: goal under 2 s
  of CPU time (all threads counted, measured: not wall time divided by the cores). Beside
  it, interleaved in this process, the naive method on the same work -- the same draws (the
  sampler, seeds and chunks of ``rank_intervals``): NumPy's double argsort of every
  simulation, then each unit's sorted ranks for the quantiles -- and the share of units on
  which both agree (information). Peak memory is measured in a fresh process.
* Exact funnel limits with interpolation for ``--funnel-units`` 10,000 units against a plain
  NumPy + SciPy reference (``scipy.stats`` ppf/cdf and Spiegelhalter's interpolation),
  interleaved: goal within 1.5x, and the same limits to 1e-10.
* ``build_funnel`` (exact, PHE, additive overdispersion), ``shrink`` and report cards:
  information.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import COMMON_NOTE, Table, arguments, in_fresh_process, interleave, megabytes, peak_during, report  # noqa: E402

RANK_GOAL_CPU = 2.0


def rank_frame(units: int, seed: int = 2024) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "area_code": [f"U{i:05d}" for i in range(units)],
            "value": rng.normal(50, 5, units),
            "se": rng.uniform(0.5, 5, units),
        }
    )


def naive_ranks(frame: pl.DataFrame, sims: int, seed: int = 1) -> np.ndarray:
    """The textbook method on the same work: the very draws ``rank_intervals(frame,
    polarity="higher_is_better", n_sims=sims, seed=seed)`` ranks (its sampler, seeds and chunks
    of 250 simulations), ranked by NumPy's double argsort of every simulation, then each unit's
    sorted ranks for the 2.5%, 50% and 97.5% points and P(top 10%). Columns: lower, median,
    upper, p_top. (Exactly equal float32 draws are ranked by row here, at random there: the
    answers agree wherever no unit's draws tie.)"""
    from publicservices.stats.ranking.rank_intervals import _CHUNK, _normal_sampler

    draw = _normal_sampler(frame["value"].to_numpy(), frame["se"].to_numpy(), -1.0)  # higher is better
    n = frame.height
    starts = range(0, sims, _CHUNK)
    children = np.random.SeedSequence(seed).spawn(1)[0].spawn(len(starts))  # as rank_intervals' one group
    ranks = np.empty((n, sims), dtype=np.int16 if n < 32_767 else np.int32)
    for c0, child in zip(starts, children, strict=True):
        m = min(_CHUNK, sims - c0)
        x = draw(np.random.Generator(np.random.SFC64(child)), m)
        ranks[:, c0 : c0 + m] = np.argsort(np.argsort(x, axis=1, kind="stable"), axis=1).T
    pos = np.maximum(np.ceil(np.array([0.025, 0.5, 0.975]) * sims - 1e-9).astype(np.int64) - 1, 0)
    top = (ranks < math.ceil(0.1 * n)).mean(axis=1)
    return np.column_stack([np.sort(ranks, axis=1, kind="stable")[:, pos] + 1, top])


def agreement(frame: pl.DataFrame, ours: pl.DataFrame, naive: np.ndarray) -> float:
    """Share of units whose rank interval and median rank are the same by both methods."""
    got = ours.select("rank_lower_95", "median_rank", "rank_upper_95").to_numpy()
    return float(np.mean(np.all(got == naive[:, :3], axis=1)))


def rank_memory(units: int, sims: int) -> dict:
    from publicservices.stats import rank_intervals

    frame = rank_frame(units)
    rank_intervals(frame.head(50), polarity="higher_is_better", n_sims=500, seed=1)  # imports, pools
    rise, peak, _ = peak_during(lambda: rank_intervals(frame, polarity="higher_is_better", n_sims=sims, seed=1))
    return {"rise": rise, "peak": peak}


def reference_exact(size, theta, family):
    """Spiegelhalter's interpolated limits from ``scipy.stats`` ppf and cdf."""
    from scipy import stats

    dist = stats.binom(size, theta) if family == "binomial" else stats.poisson(size * theta)
    out = {}
    for level in (0.95, 0.998):
        for side, q in (("lower", (1 - level) / 2), ("upper", 1 - (1 - level) / 2)):
            r = dist.ppf(q)
            f, f1 = dist.cdf(r), dist.cdf(r - 1)
            # Spiegelhalter (2005) A.1; the upper limit on the upper tail P(X >= r), one count up
            out[f"{side}_{level}"] = np.maximum((r + (side == "upper") - (f - q) / (f - f1)) / size, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, units=7000, sims=10_000, funnel_units=10_000, cards=7000)
    if args.quick:
        args.units, args.sims, args.funnel_units, args.cards, args.repeats = 2000, 2000, 2000, 1000, 3
    if args.case == "rank_memory":
        report(rank_memory(args.units, args.sims))
        return 0
    from publicservices.indicators import Indicator
    from publicservices.stats import build_funnel, build_report_cards, exact_funnel_limits, rank_intervals, shrink

    table = Table(f"ranking: rank simulation {args.units:,} x {args.sims:,}, funnels {args.funnel_units:,} units")
    rng = np.random.default_rng(2024)

    # ---- rank simulation
    frame = rank_frame(args.units)
    rank_intervals(frame.head(50), polarity="higher_is_better", n_sims=500, seed=1)  # imports, thread pools
    t = interleave(
        {
            "ours": lambda: rank_intervals(frame, polarity="higher_is_better", n_sims=args.sims, seed=1),
            "naive": lambda: naive_ranks(frame, args.sims),
        },
        args.repeats,
        warmup=0,
    )
    ours = t["ours"]
    table.add(
        f"rank simulation {args.units:,} x {args.sims:,}",
        ours.text(),
        "-",
        "-",
        f"< {RANK_GOAL_CPU:g} s CPU",
        ours.cpu_median < RANK_GOAL_CPU,
    )
    table.compare("  against the naive double argsort (same draws)", ours, t["naive"], "NumPy double argsort")
    same = agreement(
        frame, rank_intervals(frame, polarity="higher_is_better", n_sims=args.sims, seed=1), naive_ranks(frame, args.sims)
    )
    table.add(
        "  units whose interval and median agree with the naive ranks", f"{same:.2%}", "-", "-", "info (float32 ties differ)"
    )
    mem = in_fresh_process(__file__, "--case", "rank_memory", "--units", str(args.units), "--sims", str(args.sims))
    table.add(
        "  rank simulation peak memory rise",
        megabytes(mem["rise"]),
        "-",
        "-",
        f"info (the ranks alone: {megabytes(2 * args.units * args.sims)})",
    )

    # ---- exact funnel limits
    size = rng.integers(50, 50_000, args.funnel_units).astype(float)
    for family, theta, sz in (("binomial", 0.8, size), ("poisson", 1.0, size / 100)):
        t = interleave(
            {
                "ours": lambda sz=sz, f=family, th=theta: exact_funnel_limits(sz, th, family=f),
                "ref": lambda sz=sz, f=family, th=theta: reference_exact(sz, th, f),
            },
            args.repeats,
        )
        got, ref = exact_funnel_limits(sz, theta, family=family), reference_exact(sz, theta, family)
        same = all(np.allclose(got[k.replace("0.95", "95").replace("0.998", "998")], v, rtol=1e-10) for k, v in ref.items())
        ratio = t["ours"].cpu_median / t["ref"].cpu_median
        table.add(
            f"exact funnel limits, {family}, {args.funnel_units:,} units",
            t["ours"].text(),
            f"SciPy ppf/cdf: {t['ref'].text()}",
            f"{ratio:.2f}x; same limits: {'yes' if same else 'NO'}",
            "<= 1.5x, same",
            same and ratio <= 1.5,
        )

    # ---- end-to-end build_funnel(), shrink(), report cards (information)
    ind = Indicator(
        id="health.uptake", title="Uptake", sector="health", measure="proportion", multiplier=100, polarity="higher_is_better"
    )
    units = args.funnel_units
    n = rng.integers(50, 5000, units).astype(float)
    x = rng.binomial(n.astype(int), rng.beta(40, 60, units)).astype(float)
    counts = pl.DataFrame({"area_code": [f"U{i:05d}" for i in range(units)], "numerator": x, "denominator": n})
    for label, fn in (
        (f"funnel() exact, {units:,} units", lambda: build_funnel(counts, ind, method="exact")),
        (f"funnel() PHE, {units:,} units", lambda: build_funnel(counts, ind)),
        (f"funnel() additive overdispersion, {units:,}", lambda: build_funnel(counts, ind, "additive")),
        (f"shrink() beta-binomial ML, {units:,} units", lambda: shrink(counts, ind)),
    ):
        table.add(label, interleave({"ours": fn}, max(1, args.repeats // 2))["ours"].text())
    cards = pl.DataFrame(
        {
            "area_code": [f"S{i:05d}" for i in range(args.cards)],
            "environment": rng.normal(size=args.cards),
            "performance": rng.normal(size=args.cards),
            "progress": rng.normal(size=args.cards),
            "closing_the_gap": rng.normal(size=args.cards),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note that the schools sector has no report-card scheme
        t_cards = interleave(
            {"ours": lambda: build_report_cards(cards, sector="schools", n_sims=1000, polarity="higher_is_better")}, 1
        )["ours"]
    table.add(f"report_cards {args.cards:,} schools, 1,000 weight draws", t_cards.text())
    table.note(COMMON_NOTE)
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
