"""Benchmark the fairness statistics (issue 5).

Cases:
* Gini, Theil T and CV of 30,000 values: ours against a bare NumPy formula (target: within
  1.5x) with PySAL ``inequality`` timed alongside;
* every fairness measure for 30,000 areas x 20 periods of one indicator (target: under 5 s),
  without and with Moran's I (99 permutations on a grid of neighbours);
* the SII with simulated limits for 1,000 areas x 10 deciles and 1,000 repetitions, against
  PHEindicatormethods' ``phe_sii`` at 9.5 s on this machine class (target: at least 20x faster).

Run: ``.venv/bin/python benchmarks/bench_fairness.py``. Times are the best of several runs
(wall clock); CPU time is shown too, since the machine may be shared.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import timeit

import numpy as np
import polars as pl

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


def best(fn, number: int = 20, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


# -- synthetic LSOA-scale data -------------------------------------------------------------------


def lsoa_scale(n_areas: int = 30_000, n_periods: int = 20, seed: int = 1):
    rng = np.random.default_rng(seed)
    codes = np.array([f"E01{i:06d}" for i in range(n_areas)])
    pop = rng.integers(1_000, 3_000, n_areas).astype(float)
    dep = rng.gamma(2.0, 10.0, n_areas)
    areas = pl.DataFrame({"area_code": codes, "population": pop, "deprivation": dep,
                          "parent_code": [f"E1200000{i % 9}" for i in range(n_areas)]})
    side = int(np.ceil(np.sqrt(n_areas)))
    idx = np.arange(n_areas)
    right = idx[(idx % side < side - 1) & (idx + 1 < n_areas)]
    down = idx[idx + side < n_areas]
    neighbours = pl.DataFrame({"area_code": np.r_[codes[right], codes[down]],
                               "neighbour_code": np.r_[codes[right + 1], codes[down + side]]})
    ridit = (np.argsort(np.argsort(-dep)) + 0.5) / n_areas
    u = rng.normal(0, 0.03, n_areas)
    frames = []
    for t in range(n_periods):
        p = np.clip(0.2 - 0.1 * (ridit - 0.5) * (1 - t / 40) + u, 0.01, 0.99)
        den = np.round(pop * 0.1)
        frames.append(pl.DataFrame({
            "indicator_id": "bench.uptake", "area_code": codes, "period": f"{2000 + t}/{(t + 1) % 100:02d}",
            "period_start": dt.date(2000 + t, 4, 1), "numerator": rng.binomial(den.astype(np.int64), p).astype(float),
            "denominator": den,
        }))
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
    return pl.DataFrame({"area": area, "decile": decile, "pop": pop, "x": x, "value": v, "lo": v - half, "hi": v + half,
                         "se": half / z})


# -- the run ---------------------------------------------------------------------------------------


def main() -> list[tuple]:
    rows: list[tuple] = []
    rng = np.random.default_rng(0)
    y = rng.lognormal(3.0, 0.5, 30_000)
    w = rng.uniform(1_000, 3_000, 30_000)
    try:
        from inequality.gini import Gini
        from inequality.theil import Theil

        pysal = {"gini": best(lambda: Gini(y).g), "theil": best(lambda: Theil(y).T)}
    except ImportError:  # pragma: no cover - PySAL is a dev extra
        pysal = {}

    def micro(case, ours, ref, pysal_key=None):
        t_ours, t_ref = best(ours), best(ref)
        extra = f" (PySAL {pysal[pysal_key] * 1e3:.2f} ms)" if pysal_key in pysal else ""
        ratio = t_ours / t_ref
        rows.append((case, f"{t_ours * 1e3:.3f} ms", f"NumPy {t_ref * 1e3:.3f} ms{extra}", f"{ratio:.2f}x (<= 1.5x)", ratio <= 1.5))

    micro("Gini, 30,000 values", lambda: gini(y), lambda: numpy_gini(y), "gini")
    micro("Gini weighted, 30,000 values", lambda: gini(y, w), lambda: numpy_gini_weighted(y, w))
    micro("Theil T, 30,000 values", lambda: theil_t(y), lambda: numpy_theil(y), "theil")
    micro("CV, 30,000 values", lambda: coefficient_of_variation(y), lambda: numpy_cv(y))

    values, areas, neighbours, defs = lsoa_scale()
    assess_fairness(values.head(3_000), defs, areas=areas, neighbours=neighbours, repetitions=1000)  # warm-up: imports

    def timed(**kw):
        walls, cpus = [], []
        for _ in range(2):
            c0, t0 = time.process_time(), time.perf_counter()
            out = assess_fairness(values, defs, areas=areas, **kw)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        assert out.height == 20
        return min(walls), min(cpus)

    for label, kw in (("all measures, 30,000 areas x 20 periods", {}),
                      ("... plus Moran's I (99 permutations)", {"neighbours": neighbours})):
        wall, cpu = timed(**kw)
        rows.append((label, f"{wall:.2f} s (CPU {cpu:.2f} s)", "target 5 s", f"{wall / 5:.2f} of budget", wall < 5))

    data = sii_input()
    for label, kw in (
        ("SII 1,000 areas x 10 deciles, 1,000 reps, value_type 0", {"value": "value", "se": "se"}),
        ("SII ... value_type 2 (proportions, logit draws)", {"value": "value", "lower_cl": "lo", "upper_cl": "hi", "value_type": 2}),
    ):
        t = min(timeit.repeat(lambda: sii(data, "decile", "pop", by="area", repetitions=1000, rii=True, seed=1, **kw),
                              number=1, repeat=3))
        speed = PHE_SII_SECONDS / t
        rows.append((label, f"{t:.3f} s", f"phe_sii {PHE_SII_SECONDS} s", f"{speed:.0f}x faster (>= 20x)", speed >= 20))

    widths = [max(len(str(r[i])) for r in [("case", "ours", "reference", "ratio/target", "pass"), *rows]) for i in range(5)]
    header = ("case", "ours", "reference", "ratio/target", "pass")
    print(f"fairness benchmark ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    for r in [header, *rows]:
        print("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)))
    return rows


if __name__ == "__main__":
    main()
