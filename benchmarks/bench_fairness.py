"""Benchmark the fairness statistics (issue 5).

Run: ``.venv/bin/python benchmarks/bench_fairness.py [--values N] [--areas N] [--periods N]
[--sii-areas N] [--reps N] [--repeats N]`` (about a minute on 2 cores at the defaults).

Cases:
* Gini, Theil T and CV of ``--values`` 30,000 values: ours against a bare NumPy formula,
  interleaved in this process (target: within 1.5x), with PySAL ``inequality`` timed
  alongside where installed (information);
* every fairness measure for ``--areas`` 30,000 areas x ``--periods`` 20 periods of one
  indicator (target: under 5 s CPU), without and with Moran's I (99 permutations on a grid);
* the SII with simulated limits for ``--sii-areas`` 1,000 areas x 10 deciles and ``--reps``
  1,000 repetitions, against PHEindicatormethods' ``phe_sii`` at 9.5 s on this machine class
  (issue 5; a fixed figure: R is not run here). That figure is for ``value_type = 0`` (values
  with standard errors), so ours is compared with the same value_type (target: at least
  20x faster); the proportion case (``value_type = 2``, logit draws) is shown for information.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import COMMON_NOTE, Table, arguments, interleave, seconds  # noqa: E402

from publicservices.indicators import Indicator
from publicservices.stats import assess_fairness, coefficient_of_variation, gini, sii, theil_t

PHE_SII_SECONDS = 9.5  # phe_sii, 1,000 areas x 10 deciles, 1,000 repetitions (issue 5)


# -- NumPy references ------------------------------------------------------------------------------


def numpy_gini(y: np.ndarray) -> float:
    ys = np.sort(y)
    n = ys.size
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * ys) / (n * ys.sum()))


def numpy_gini_weighted(y: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(y)
    ys, ws = y[o], w[o]
    c = np.cumsum(ws)
    return float(np.sum(ws * ys * (2 * c - ws - c[-1])) / (c[-1] * np.sum(ws * ys)))


def numpy_theil(y: np.ndarray) -> float:
    s = y / y.sum()
    return float(np.sum(s * np.log(y.size * s)))


def numpy_cv(y: np.ndarray) -> float:
    return float(y.std(ddof=1) / y.mean())


# -- synthetic LSOA-scale data -------------------------------------------------------------------


def lsoa_scale(n_areas: int = 30_000, n_periods: int = 20, seed: int = 1):
    rng = np.random.default_rng(seed)
    codes = np.array([f"E01{i:06d}" for i in range(n_areas)])
    pop = rng.integers(1_000, 3_000, n_areas).astype(float)
    dep = rng.gamma(2.0, 10.0, n_areas)
    areas = pl.DataFrame(
        {"area_code": codes, "population": pop, "deprivation": dep, "parent_code": [f"E1200000{i % 9}" for i in range(n_areas)]}
    )
    side = int(np.ceil(np.sqrt(n_areas)))
    idx = np.arange(n_areas)
    right = idx[(idx % side < side - 1) & (idx + 1 < n_areas)]
    down = idx[idx + side < n_areas]
    neighbours = pl.DataFrame(
        {"area_code": np.r_[codes[right], codes[down]], "neighbour_code": np.r_[codes[right + 1], codes[down + side]]}
    )
    ridit = (np.argsort(np.argsort(-dep)) + 0.5) / n_areas
    u = rng.normal(0, 0.03, n_areas)
    frames = []
    for t in range(n_periods):
        p = np.clip(0.2 - 0.1 * (ridit - 0.5) * (1 - t / 40) + u, 0.01, 0.99)
        den = np.round(pop * 0.1)
        frames.append(
            pl.DataFrame(
                {
                    "indicator_id": "bench.uptake",
                    "area_code": codes,
                    "period": f"{2000 + t}/{(t + 1) % 100:02d}",
                    "period_start": dt.date(2000 + t, 4, 1),
                    "numerator": rng.binomial(den.astype(np.int64), p).astype(float),
                    "denominator": den,
                }
            )
        )
    ind = Indicator(id="bench.uptake", title="uptake", sector="bench", measure="proportion", multiplier=100)
    return pl.concat(frames), areas, neighbours, {ind.id: ind}


def sii_input(n_areas: int = 1_000, seed: int = 2) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    area = np.repeat([f"A{i:04d}" for i in range(n_areas)], 10)
    decile = np.tile(np.arange(1, 11), n_areas)
    pop = rng.integers(5_000, 30_000, n_areas * 10).astype(float)
    p = np.clip(0.2 - 0.01 * (decile - 5.5) + rng.normal(0, 0.01, decile.size), 0.01, 0.99)
    x = rng.binomial(pop.astype(np.int64), p).astype(float)
    v = x / pop
    z = 1.959963984540054
    half = z * np.sqrt(v * (1 - v) / pop)
    return pl.DataFrame(
        {"area": area, "decile": decile, "pop": pop, "x": x, "value": v, "lo": v - half, "hi": v + half, "se": half / z}
    )


# -- the run ---------------------------------------------------------------------------------------


def _many(fn, number: int):
    """``fn`` run ``number`` times: one timing of a call too short to time alone."""

    def run():
        for _ in range(number):
            fn()

    return run


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, values=30_000, areas=30_000, periods=20, sii_areas=1000, reps=1000)
    if args.quick:
        args.values, args.areas, args.periods, args.sii_areas, args.reps, args.repeats = 10_000, 5000, 10, 300, 1000, 3
    table = Table(
        f"fairness: {args.values:,} values; {args.areas:,} areas x {args.periods} periods; "
        f"SII {args.sii_areas:,} areas x 10 deciles x {args.reps:,} reps"
    )
    rng = np.random.default_rng(0)
    y = rng.lognormal(3.0, 0.5, args.values)
    w = rng.uniform(1_000, 3_000, args.values)
    number = 20  # calls per timing: one call takes well under a millisecond
    try:
        from inequality.gini import Gini
        from inequality.theil import Theil

        pysal = {"gini": lambda: Gini(y).g, "theil": lambda: Theil(y).T}
    except ImportError:  # pragma: no cover - PySAL is a dev extra
        pysal = {}

    for case, ours, ref, key in (
        (f"Gini, {args.values:,} values", lambda: gini(y), lambda: numpy_gini(y), "gini"),
        (f"Gini weighted, {args.values:,} values", lambda: gini(y, w), lambda: numpy_gini_weighted(y, w), None),
        (f"Theil T, {args.values:,} values", lambda: theil_t(y), lambda: numpy_theil(y), "theil"),
        (f"CV, {args.values:,} values", lambda: coefficient_of_variation(y), lambda: numpy_cv(y), None),
    ):
        cases = {"ours": _many(ours, number), "ref": _many(ref, number)}
        if key in pysal:
            cases["pysal"] = _many(pysal[key], number)
        t = interleave(cases, args.repeats)
        table.compare(f"{case} (x{number} per timing)", t["ours"], t["ref"], "NumPy", limit=1.5)
        if "pysal" in t:
            table.note(
                f"{case}: PySAL inequality {seconds(t['pysal'].cpu_median / number)} CPU per call, "
                f"ours {seconds(t['ours'].cpu_median / number)}"
            )

    values, areas, neighbours, defs = lsoa_scale(args.areas, args.periods)
    assess_fairness(values.head(3_000), defs, areas=areas, neighbours=neighbours, repetitions=1000)  # warm-up: imports
    for label, kw in (
        (f"all measures, {args.areas:,} areas x {args.periods} periods", {}),
        ("... plus Moran's I (99 permutations)", {"neighbours": neighbours}),
    ):
        t = interleave({"ours": lambda kw=kw: assess_fairness(values, defs, areas=areas, **kw)}, max(1, args.repeats // 2))[
            "ours"
        ]
        table.add(label, t.text(), "-", "-", "< 5 s CPU", t.cpu_median < 5)

    data = sii_input(args.sii_areas)
    r_seconds = PHE_SII_SECONDS * (args.sii_areas / 1000) * (args.reps / 1000)
    for label, kw, compared in (
        ("SII, value_type 0 (values and standard errors)", {"value": "value", "se": "se"}, True),
        (
            "SII, value_type 2 (proportions, logit draws)",
            {"value": "value", "lower_cl": "lo", "upper_cl": "hi", "value_type": 2},
            False,
        ),
    ):
        t = interleave(
            {"ours": lambda kw=kw: sii(data, "decile", "pop", by="area", repetitions=args.reps, rii=True, seed=1, **kw)},
            args.repeats,
        )["ours"]
        if compared:
            speed = r_seconds / t.cpu_median
            table.add(
                label,
                t.text(),
                f"phe_sii value_type 0: {r_seconds:.2f} s (fixed)",
                f"{speed:.0f}x faster",
                ">= 20x faster",
                speed >= 20,
            )
        else:
            table.add(label, t.text(), "- (no R figure for value_type 2)")
    if (args.sii_areas, args.reps) != (1000, 1000):
        table.note("the phe_sii figure (1,000 areas, 1,000 repetitions) is scaled linearly to these sizes")
    table.note(COMMON_NOTE)
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
