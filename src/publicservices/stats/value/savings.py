"""The spend saved if every area matched its frontier peers, with its range."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, problem
from publicservices.stats.value._checks import _group_ids
from publicservices.stats.value._columns import _group_table
from publicservices.stats.value._solver import _scores_from, _solve
from publicservices.stats.value.envelopment import DEAResult
from publicservices.stats.value.expected import _Z95
from publicservices.stats.value.frontier import _frontier_of, _translated
from publicservices.stats.value.service_inputs import _service_frame, _service_wide


def frontier_savings(
    data: Any,
    service: str | None = None,
    *,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    periods: str | Sequence[str] | None = None,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    need_adjusted: bool = True,
    model: str = "bcc",
    replicates: int = 100,
    level: float = 0.95,
    seed: int = 20240401,
) -> pl.DataFrame:
    """The spend saved if every area matched its frontier peers, with the range chance allows.

    Method: the service frontier of :func:`service_frontier` gives each area an input-oriented
    efficiency ``theta``: the share of its spend per head with which its peers achieve at least
    its outcomes. Matching them would save ``(1 - theta) * spend``; the sum over the areas
    scored is the *potential input reduction* of data envelopment analysis (Farrell 1957,
    *JRSS A* 120:253-290; Cooper, Seiford & Tone 2007, *Data Envelopment Analysis*, ch. 3).
    The range is a parametric bootstrap: each replicate redraws every outcome from a normal
    distribution with the standard error implied by its 95% limits, ``(upper - lower) /
    (2 * 1.96)``, solves the frontier again and sums the savings; the interval is the normal
    bootstrap interval, ``savings +/- z * sd(replicates)`` (not below zero), for which 50 to 200
    replicates suffice (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, sections
    6.4 and 13.2), where percentile intervals would need a thousand or more frontier solves.
    Each replicate's LPs start from the area's peers in the point estimate and column
    generation adds any area that could still lower its score, so every replicate is scored
    exactly as a fresh frontier would be (to the solver's tolerance), only faster.
    It shows how far the figure moves with the noise in the outcomes.
    It does not remove the upward bias of a frontier estimated from the areas themselves
    (chance pushes the frontier out, Simar & Wilson 1998, *Management Science* 44:49-61), so
    the figure is an upper bound on what matching peers could save, not a budget. Outcomes
    without limits are held at their values (``note`` counts them); when more than one in ten
    lack them there is no range, and ``note`` says why.

    Parameters:
        data, service, indicators, periods, areas, spend, deflator, base_period, need,
            need_adjusted, model: as for :func:`service_frontier`.
        replicates: bootstrap replicates (0 for no range; at least 2 for one).
        level: coverage of the range.
        seed: random seed, so that a site rebuilds the same figures.

    Returns:
        One row per service and period: ``n_areas`` (scored), ``spend`` (their real spend),
        ``savings``, ``savings_share`` (of ``spend``), ``savings_lower``, ``savings_upper``,
        ``replicates`` and ``note``.

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="health.a", title="A", sector="health", measure="score",
        ...                 polarity="higher_is_better")
        >>> values = pl.DataFrame({"indicator_id": ["health.a"] * 3, "area_code": list("PQR"),
        ...                        "period": ["2024"] * 3, "value": [10.0, 10.0, 4.0]})
        >>> areas = pl.DataFrame({"area_code": list("PQR"), "population": [1.0] * 3,
        ...                       "deprivation": [1.0] * 3})
        >>> spend = pl.DataFrame({"area_code": list("PQR"), "period": ["2024"] * 3,
        ...                       "service": ["health"] * 3, "spend": [100.0, 125.0, 50.0]})
        >>> out = frontier_savings(values, "health", indicators={ind.id: ind}, areas=areas,
        ...                        spend=spend, need_adjusted=False)
        >>> out.select(pl.col("savings", "savings_share").round(3), "note").row(0)   # Q could do as P for 100
        (25.0, 0.091, 'no range: more than one in ten outcomes have no 95% limits')
    """
    _check_range(replicates, level)
    model, frame = _service_frame(data, indicators, areas, spend, service, deflator, base_period, need, periods, model)
    return _savings_of(frame, model, need_adjusted, int(replicates), level, seed)


def frontier_with_savings(
    data: Any,
    service: str | None = None,
    *,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    periods: str | Sequence[str] | None = None,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    need_adjusted: bool = True,
    model: str = "bcc",
    replicates: int = 100,
    level: float = 0.95,
    seed: int = 20240401,
) -> tuple[DEAResult, pl.DataFrame]:
    """:func:`service_frontier` and :func:`frontier_savings` of the same arguments, from one
    assembly of the service's rows (outcomes, limits, spend, need, expected outcome), which
    otherwise each would make.

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="health.a", title="A", sector="health", measure="score",
        ...                 polarity="higher_is_better")
        >>> values = pl.DataFrame({"indicator_id": ["health.a"] * 3, "area_code": list("PQR"),
        ...                        "period": ["2024"] * 3, "value": [10.0, 10.0, 4.0]})
        >>> areas = pl.DataFrame({"area_code": list("PQR"), "population": [1.0] * 3,
        ...                       "deprivation": [1.0] * 3})
        >>> spend = pl.DataFrame({"area_code": list("PQR"), "period": ["2024"] * 3,
        ...                       "service": ["health"] * 3, "spend": [100.0, 125.0, 50.0]})
        >>> frontier, savings = frontier_with_savings(values, "health", indicators={ind.id: ind},
        ...                                           areas=areas, spend=spend, need_adjusted=False)
        >>> frontier.scores["efficiency"].round(3).to_list(), savings["savings"].round(3).to_list()
        ([1.0, 0.8, 1.0], [25.0])
    """
    _check_range(replicates, level)
    model, frame = _service_frame(data, indicators, areas, spend, service, deflator, base_period, need, periods, model)
    return _frontier_of(frame, model, need_adjusted), _savings_of(frame, model, need_adjusted, int(replicates), level, seed)


def _check_range(replicates: int, level: float) -> None:
    if not 0 < level < 1:
        raise DataError(problem(None, f"level={level!r} is not between 0 and 1", fix="Use e.g. 0.95."))
    replicates = int(replicates)
    if replicates < 0 or replicates == 1:
        raise DataError(
            problem(
                None, f"replicates={replicates} cannot give a range", fix="Use 0 (no range) or at least 2 (50 to 200 suffice)."
            )
        )


def _savings_of(frame: pl.DataFrame, model: str, need_adjusted: bool, replicates: int, level: float, seed: int) -> pl.DataFrame:
    """:func:`frontier_savings` of the rows :func:`._service_frame` assembled."""
    import numpy as np

    col = "value_need_adjusted" if need_adjusted else "value"
    rng = np.random.default_rng(seed)
    out = []
    for (svc,), g in frame.group_by(["service"], maintain_order=True):  # a loop over services
        ids, pol, wide = _service_wide(g, col, ("lower_95", "upper_95", "spend_real"))
        ok = wide.filter(pl.col("_ok") & (pl.col("_n") >= 2))
        if not ok.height:
            continue
        gid = _group_ids(ok, ["period"])
        G = int(gid.max()) + 1
        x = ok["_sph"].to_numpy()[:, None]
        sign = np.array([1.0 if pol[i] == "higher_is_better" else -1.0 for i in ids])
        V = ok.select(ids).to_numpy() * sign
        # the area's spend (the same for each of the service's indicators)
        money = ok.select(pl.coalesce([f"{i}:spend_real" for i in ids])).to_series().to_numpy()
        sol = _solve(x, _translated(V, gid, G)[0], model=model, orientation="input", slacks=False, groups=gid)
        saved = np.bincount(gid, weights=(1 - sol.efficiency) * money, minlength=G)
        total = np.bincount(gid, weights=money, minlength=G)
        se = (ok.select([f"{i}:upper_95" for i in ids]).to_numpy() - ok.select([f"{i}:lower_95" for i in ids]).to_numpy()) / (
            2 * _Z95
        )
        # outcomes without limits are held at their value; beyond one in ten, there is no range
        unknown = (~(np.isfinite(se) & (se >= 0))).sum(axis=1)
        missing = np.bincount(gid, weights=unknown, minlength=G)
        cells = np.bincount(gid, minlength=G) * len(ids)
        ranged = missing <= 0.1 * cells
        lo = np.full(G, np.nan)
        hi = np.full(G, np.nan)
        if replicates and ranged.any():
            keep = ranged[gid]
            xs, Vs, ses, gs, ms = x[keep], V[keep], np.where(np.isfinite(se), se, 0.0)[keep], gid[keep], money[keep]
            n = len(gs)
            peers = _likely_peers(sol.peer_unit, sol.peer_ref, gid)[keep]
            # renumbered among the kept areas (peers share the area's period, so they are kept too)
            peers = np.where(peers >= 0, (np.cumsum(keep) - 1)[np.maximum(peers, 0)], -1)
            draws = np.empty((replicates, G))
            # replicates in batches, each batch one stacked solve with a group per replicate and period
            batch = max(1, 20000 // max(n, 1))
            for start in range(0, replicates, batch):
                r = min(batch, replicates - start)
                # one draw for the batch: the same numbers, in the same order, as r draws of Vs.shape
                Vr = (Vs + rng.standard_normal((r, *Vs.shape)) * ses * sign).reshape(r * n, -1)
                offset = (np.arange(r) * n)[:, None, None]
                gr = (gs + (np.arange(r) * G)[:, None]).ravel()
                Yr = _translated(Vr, gr, r * G)[0]
                if model == "fdh":  # no LPs: plain dominance
                    eff = _solve(np.tile(xs, (r, 1)), Yr, model=model, orientation="input", slacks=False, groups=gr).efficiency
                else:
                    guess = np.where(peers >= 0, peers + offset, -1).reshape(r * n, -1)
                    eff = _scores_from(np.tile(xs, (r, 1)), Yr, guess, model=model, orientation="input", groups=gr)
                draws[start : start + r] = np.bincount(gr, weights=(1 - eff) * np.tile(ms, r), minlength=r * G).reshape(r, G)
            from scipy.special import ndtri  # the normal quantile, without importing scipy.stats

            half = ndtri(0.5 + level / 2) * draws.std(axis=0, ddof=1)
            lo = np.where(ranged, np.maximum(saved - half, 0.0), np.nan)
            hi = np.where(ranged, saved + half, np.nan)
        periods_ = ok.select("period").to_series().gather(np.unique(gid, return_index=True)[1])
        held = np.array(
            [
                f"the range holds fixed the {int(k):,} of {int(c):,} outcomes without 95% limits"
                for k, c in zip(missing, cells, strict=True)
            ],
            dtype=object,
        )
        note = (
            np.where(
                ranged,
                np.where(missing > 0, held, np.full(G, None, dtype=object)),
                "no range: more than one in ten outcomes have no 95% limits",
            )
            if replicates
            else np.full(G, "no range: replicates=0", dtype=object)
        )
        out.append(
            pl.DataFrame(
                {
                    "service": [svc] * G,
                    "period": periods_,
                    "n_areas": np.bincount(gid, minlength=G),
                    "spend": total,
                    "savings": saved,
                    "savings_share": saved / np.where(total > 0, total, np.nan),
                    "savings_lower": lo,
                    "savings_upper": hi,
                    "replicates": [replicates if r else 0 for r in ranged],
                    "note": note.tolist(),
                },
                schema_overrides={"note": pl.String},
            ).with_columns(pl.col(pl.Float64).fill_nan(None))
        )
    schema = pl.Schema(
        {
            "service": pl.String(),
            "period": pl.String(),
            "n_areas": pl.Int64(),
            "spend": pl.Float64(),
            "savings": pl.Float64(),
            "savings_share": pl.Float64(),
            "savings_lower": pl.Float64(),
            "savings_upper": pl.Float64(),
            "replicates": pl.Int64(),
            "note": pl.String(),
        }
    )
    return pl.concat(out, how="vertical_relaxed").cast(schema) if out else pl.DataFrame(schema=schema)


def _likely_peers(unit, peer, gid, popular: int = 10):
    """Where each area's LP starts in a bootstrap replicate: the area's own peers in the point
    estimate and the ``popular`` areas of its period that are peers most often there (n x K,
    padded with -1). Column generation adds whatever else the replicate needs, so the guess
    changes only the time taken, never the scores."""
    import numpy as np

    n = len(gid)
    count = np.bincount(unit, minlength=n)
    order = np.argsort(unit, kind="stable")
    own = np.full((n, max(int(count.max(initial=0)), 1)), -1, dtype=np.int64)
    first = np.cumsum(count) - count
    own[unit[order], np.arange(len(order)) - first[unit[order]]] = peer[order]
    used = np.bincount(peer, minlength=n)
    ranked = np.lexsort((-used, gid))  # by period, the most used peers first
    size = np.bincount(gid)
    rank = np.arange(n) - (np.cumsum(size) - size)[gid[ranked]]
    top = ranked[(rank < popular) & (used[ranked] > 0)]
    return np.concatenate([own, _group_table(top, gid)[gid]], axis=1)
