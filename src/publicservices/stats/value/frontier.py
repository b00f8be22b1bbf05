"""Spend against outcome for every indicator, and the frontier of a whole service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, problem
from publicservices.stats.value._checks import _KEYS, _group_ids
from publicservices.stats.value._solver import _solve
from publicservices.stats.value.envelopment import DEAResult
from publicservices.stats.value.service_inputs import _assemble, _service_frame, _service_wide

# --------------------------------------------------------------------------------------------
# the whole picture


def value_for_money(
    data: Any,
    indicators: Sequence[str] | Mapping[str, Any] | None = None,
    *,
    areas: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    service: str | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
    need: Sequence[str] = ("deprivation", "population"),
    weights: str = "auto",
    dea_model: str = "bcc",
    dea_output: str = "need_adjusted",
    level: float = 0.95,
) -> pl.DataFrame:
    """Spend against outcome for every indicator, area and period: unit costs, cost per outcome,
    the outcome expected for the spend and need, and the DEA efficient frontier.

    Method: outcomes (with 95% limits: supplied, or computed by each indicator's measure with
    :func:`publicservices.stats.outcomes.intervals.add_intervals`) are joined to the spend of the
    indicator's ``service`` in the same area and period; :func:`unit_costs` gives spend per head
    (``areas.population``) and per service user (the indicator's ``denominator``) in real terms;
    :func:`cost_per_outcome` spend per unit of outcome; :func:`expected_outcome` the expected
    outcome and each area's residual with a prediction interval. The frontier is a DEA
    (:func:`publicservices.stats.value.dea`) within each indicator and period, with real spend per
    head as the input and the outcome as the output. By default the output is the
    *need-adjusted* outcome (the regression's need effects removed, a two-stage adjustment for
    the operating environment as in Fried, Lovell, Schmidt & Yaisawarng 2002, *Journal of
    Productivity Analysis* 17:157-174), so deprived areas are not put off the frontier by their
    need alone; ``dea_output="raw"`` uses the outcome as published. The output is oriented by
    polarity: ``y - min`` when higher is better, ``max - y`` when lower is better. The BCC
    input-oriented model is used because its scores do not change when an output is translated
    (Ali & Seiford 1990, "Translation invariance in data envelopment analysis", *Operations
    Research Letters* 9(6):403-405), so the flip is harmless: an efficiency of 0.8 means an
    outcome as good was achieved elsewhere for 80% of the spend per head. For all of a
    service's indicators at once, see :func:`service_frontier`.

    Parameters:
        data: a ``Dataset`` (with ``.values``, ``.areas``, ``.spend``, ``.indicators``) or a values
            frame (then pass ``areas=`` and ``spend=``).
        indicators: indicator ids to include, or a mapping ``id -> Indicator`` (needed with a
            plain frame for polarity, multiplier and service). Default: every indicator of the
            dataset whose service has spend.
        areas, spend: frames, when ``data`` is a values frame (they override a Dataset's).
        service: only indicators of this spend service.
        deflator, base_period: real terms, as in :func:`unit_costs`.
        need: need covariates for the expected outcome (see :func:`expected_outcome`).
        weights: regression weights (see :func:`expected_outcome`).
        dea_model: ``"bcc"`` or ``"fdh"``.
        dea_output: ``"need_adjusted"`` or ``"raw"``.
        level: coverage of the prediction interval.

    Returns:
        One row per indicator x area x period: keys, ``service``, ``value``, ``lower_95``,
        ``upper_95``, ``spend``, ``spend_real``, ``prices``, ``population``, ``users``,
        ``spend_per_head``, ``spend_per_user``, ``cost_per_outcome`` (``_lower``, ``_upper``),
        ``expected`` (``_lower``, ``_upper``), ``residual`` (``_lower``, ``_upper``),
        ``assessment``, ``fit_weights``, ``value_need_adjusted``, ``efficiency``,
        ``efficient``, ``dea_peers`` and ``note`` (why a row could not be assessed; rows are
        never dropped).

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> ind = Indicator(id="health.checks", title="Health checks", sector="health",
        ...                 measure="proportion", multiplier=100, polarity="higher_is_better")
        >>> values = pl.DataFrame({"indicator_id": ["health.checks"] * 3, "area_code": list("ABC"),
        ...                        "period": ["2023/24"] * 3, "numerator": [400.0, 300.0, 450.0],
        ...                        "denominator": [1000.0] * 3})
        >>> areas = pl.DataFrame({"area_code": list("ABC"), "population": [1e4, 1e4, 2e4],
        ...                       "deprivation": [10.0, 20.0, 30.0]})
        >>> spend = pl.DataFrame({"area_code": list("ABC"), "period": ["2023/24"] * 3,
        ...                       "service": ["health"] * 3, "spend": [1e6, 1.5e6, 1.6e6]})
        >>> out = value_for_money(values, {ind.id: ind}, areas=areas, spend=spend, dea_output="raw")
        >>> out.select("area_code", "spend_per_head", pl.col("efficiency").round(3)).rows()
        [('A', 100.0, 0.8), ('B', 150.0, 0.533), ('C', 80.0, 1.0)]
        >>> out["dea_peers"].to_list()    # C achieves more for less than A and B
        [['C'], ['C'], ['C']]
        >>> out["cost_per_outcome"].to_list()   # pounds per person checked
        [2500.0, 5000.0, 3555.5555555555557]
    """
    frame = _assemble(
        data,
        indicators,
        areas=areas,
        spend=spend,
        service=service,
        deflator=deflator,
        base_period=base_period,
        need=need,
        weights=weights,
        level=level,
    )
    dea_output = str(dea_output).lower()
    if dea_output not in ("need_adjusted", "raw"):
        raise DataError(problem(None, f"dea_output {dea_output!r} is not known", fix="Use 'need_adjusted' or 'raw'."))
    frame = _frontier(frame, dea_model, "value_need_adjusted" if dea_output == "need_adjusted" else "value")
    note = (
        pl.when(pl.col("value").is_null())
        .then(pl.lit("no outcome value"))
        .when(pl.col("spend").is_null())
        .then(pl.lit("no spend for this service and period"))
        .when(pl.col("spend_real") <= 0)
        .then(pl.lit("no spend recorded (zero)"))
        .when(pl.col("population").is_null())
        .then(pl.lit("no population for the area"))
        .when(pl.col("expected").is_null())
        .then(pl.lit("too few comparable areas to fit"))
        .otherwise(None)
    )
    out_cols = [
        *_KEYS,
        *(["period_start"] if "period_start" in frame.columns else []),
        "service",
        "value",
        "lower_95",
        "upper_95",
        "spend",
        "spend_real",
        "prices",
        "population",
        "users",
        "spend_per_head",
        "spend_per_user",
        "cost_per_outcome",
        "cost_per_outcome_lower",
        "cost_per_outcome_upper",
        "expected",
        "expected_lower",
        "expected_upper",
        "residual",
        "residual_lower",
        "residual_upper",
        "assessment",
        "fit_weights",
        "value_need_adjusted",
        "efficiency",
        "efficient",
        "dea_peers",
    ]
    return frame.with_columns(note.alias("note")).select(*out_cols, "note")


def service_frontier(
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
) -> Any:
    """The spend–outcome frontier of a whole service: one DEA per service and period with real
    spend per head as the input and all the service's indicators as outputs.

    Method: as the frontier of :func:`value_for_money` (BCC input-oriented, outputs oriented by
    polarity and, by default, adjusted for need), but with several outputs at once (Banker,
    Charnes & Cooper 1984), so an area is efficient when no combination of other areas achieves
    at least as much on *every* indicator for less spend per head. Indicators without polarity
    are left out. Areas missing any output or spend in a period are not scored (``note`` says so).

    Parameters:
        data, indicators, areas, spend, deflator, base_period, need: as for
            :func:`value_for_money`.
        service: the spend service (default: every service with indicators and spend).
        periods: period label(s) (default: all).
        need_adjusted: use need-adjusted outcomes (``False``: as published).
        model: ``"bcc"`` or ``"fdh"``.

    Returns:
        A :class:`publicservices.stats.value.DEAResult` whose ``scores`` (with ``note``), ``peers``
        and ``targets`` frames carry ``service`` and ``period`` columns; the outputs are named by
        indicator id, and their targets are on the indicator's own scale (for a lower-is-better
        indicator the target is lower than the observed value).

    Example:
        >>> import polars as pl
        >>> from publicservices.indicators import Indicator
        >>> inds = {i: Indicator(id=i, title=i, sector="health", measure="score",
        ...                      polarity="higher_is_better") for i in ("health.a", "health.b")}
        >>> values = pl.DataFrame({"indicator_id": ["health.a"] * 3 + ["health.b"] * 3,
        ...                        "area_code": list("PQRPQR"), "period": ["2024"] * 6,
        ...                        "value": [10.0, 4.0, 6.0, 2.0, 9.0, 5.0]})
        >>> areas = pl.DataFrame({"area_code": list("PQR"), "population": [1.0] * 3,
        ...                       "deprivation": [1.0] * 3})
        >>> spend = pl.DataFrame({"area_code": list("PQR"), "period": ["2024"] * 3,
        ...                       "service": ["health"] * 3, "spend": [100.0, 100.0, 125.0]})
        >>> res = service_frontier(values, "health", indicators=inds, areas=areas, spend=spend,
        ...                        need_adjusted=False)
        >>> res.scores.select("area_code", pl.col("efficiency").round(6)).rows()   # P + Q beat R for 100
        [('P', 1.0), ('Q', 1.0), ('R', 0.8)]
    """
    model, frame = _service_frame(data, indicators, areas, spend, service, deflator, base_period, need, periods, model)
    return _frontier_of(frame, model, need_adjusted)


def _frontier_of(frame: pl.DataFrame, model: str, need_adjusted: bool) -> DEAResult:
    """:func:`service_frontier` of the rows :func:`._service_frame` assembled."""
    import numpy as np

    col = "value_need_adjusted" if need_adjusted else "value"
    scores, peers, targets = [], [], []
    info = {"lps": 0, "highs_calls": 0, "rounds": 0, "units": 0}
    for (svc,), g in frame.group_by(["service"], maintain_order=True):  # a loop over services
        ids, pol, wide = _service_wide(g, col)
        use = (wide["_ok"] & (wide["_n"] >= 2)).to_numpy()
        nothing = np.full(len(use), None, dtype=object)
        note = np.where(
            wide["_ok"].to_numpy(), np.where(use, nothing, "fewer than two areas to compare"), "missing spend or an outcome"
        )
        base = wide.select(pl.lit(svc).alias("service"), "period", "area_code")
        n_all = wide.height
        eff = np.full(n_all, np.nan)
        eflag = np.zeros(n_all, dtype=bool)
        weak = np.zeros(n_all, dtype=bool)
        npeers = np.zeros(n_all, dtype=np.int64)
        ok = wide.filter(pl.Series(use))
        if ok.height:
            gid = _group_ids(ok, ["period"])
            G = int(gid.max()) + 1
            x = ok["_sph"].to_numpy()[:, None]
            sign = np.array([1.0 if pol[i] == "higher_is_better" else -1.0 for i in ids])
            V = ok.select(ids).to_numpy() * sign
            Y, shift = _translated(V, gid, G)
            sol = _solve(x, Y, model=model, orientation="input", slacks=True, groups=gid)
            for k in ("lps", "highs_calls", "rounds"):
                info[k] += sol.info.get(k, 0)
            info["units"] += ok.height
            rows = np.flatnonzero(use)
            eff[rows] = sol.efficiency
            cnt = np.bincount(gid, minlength=G)
            mx = np.bincount(gid, weights=x[:, 0], minlength=G) / cnt
            my = np.stack([np.bincount(gid, weights=Y[:, j], minlength=G) for j in range(Y.shape[1])], axis=1) / cnt[:, None]
            my = np.where(my > 0, my, 1.0)
            slack = np.maximum((sol.slack_in / mx[gid][:, None]).max(axis=1), (sol.slack_out / my[gid]).max(axis=1))
            weak[rows] = sol.efficiency >= 1 - 1e-6
            eflag[rows] = weak[rows] & (slack <= 1e-6)
            npeers[rows] = np.bincount(sol.peer_unit, minlength=ok.height)
            codes, per = ok["area_code"], ok["period"]
            peers.append(
                pl.DataFrame(
                    {
                        "service": svc,
                        "period": per.gather(sol.peer_unit),
                        "area_code": codes.gather(sol.peer_unit),
                        "peer": codes.gather(sol.peer_ref),
                        "weight": sol.peer_weight,
                    }
                )
            )
            names = ["spend_per_head", *ids]
            obs = np.concatenate([x, V * sign], axis=1)
            tgt = np.concatenate([sol.target_in, (sol.target_out + shift[gid]) * sign], axis=1)
            sl = np.concatenate([sol.slack_in, sol.slack_out], axis=1)
            m = ok.height
            rep = np.repeat(np.arange(m), len(names))
            targets.append(
                pl.DataFrame(
                    {
                        "service": svc,
                        "period": per.gather(rep),
                        "area_code": codes.gather(rep),
                        "variable": names * m,
                        "role": (["input"] + ["output"] * len(ids)) * m,
                        "observed": obs.ravel(),
                        "target": tgt.ravel(),
                        "slack": sl.ravel(),
                        "change": (tgt - obs).ravel(),
                    }
                )
            )
        has = ~np.isnan(eff)
        nulls = pl.Series([None] * n_all, dtype=pl.Boolean)
        scores.append(
            base.with_columns(
                pl.Series("efficiency", eff, nan_to_null=True),
                pl.Series("efficient", eflag).zip_with(pl.Series(has), nulls),
                pl.Series("weakly_efficient", weak).zip_with(pl.Series(has), nulls),
                pl.Series("n_peers", npeers).zip_with(pl.Series(has), pl.Series([None] * n_all, dtype=pl.Int64)),
                pl.Series("note", note.tolist(), dtype=pl.String),
            )
        )
    empty_scores = pl.DataFrame(
        schema={
            "service": pl.String,
            "period": pl.String,
            "area_code": pl.String,
            "efficiency": pl.Float64,
            "efficient": pl.Boolean,
            "weakly_efficient": pl.Boolean,
            "n_peers": pl.Int64,
            "note": pl.String,
        }
    )
    empty_peers = pl.DataFrame(
        schema={"service": pl.String, "period": pl.String, "area_code": pl.String, "peer": pl.String, "weight": pl.Float64}
    )
    empty_targets = pl.DataFrame(
        schema={
            "service": pl.String,
            "period": pl.String,
            "area_code": pl.String,
            "variable": pl.String,
            "role": pl.String,
            "observed": pl.Float64,
            "target": pl.Float64,
            "slack": pl.Float64,
            "change": pl.Float64,
        }
    )
    outputs = tuple(frame["indicator_id"].unique(maintain_order=True).to_list())
    return DEAResult(
        pl.concat(scores, how="vertical_relaxed") if scores else empty_scores,
        pl.concat(peers, how="vertical_relaxed") if peers else empty_peers,
        pl.concat(targets, how="vertical_relaxed") if targets else empty_targets,
        model,
        "input",
        ("spend_per_head",),
        outputs,
        "area_code",
        info,
    )


def _translated(V, gid, G):
    """Each output less its minimum within its group: non-negative, and harmless to BCC input scores."""
    import numpy as np

    shift = np.full((G, V.shape[1]), np.inf)
    np.minimum.at(shift, gid, V)
    return V - shift[gid], shift


def _frontier(frame: pl.DataFrame, dea_model: str, column: str) -> pl.DataFrame:
    """BCC input-oriented (or FDH) efficiency of real spend per head against the oriented
    outcome ``column``, within each indicator and period."""
    import numpy as np

    dea_model = str(dea_model).lower()
    if dea_model not in ("bcc", "fdh"):
        raise DataError(
            problem(
                None,
                f"dea_model {dea_model!r} is not available here",
                fix="Use 'bcc' (translation invariant, see the docstring) or 'fdh'.",
            )
        )
    f = frame.with_row_index("_row")
    good = (
        pl.col("_sph").is_not_null()
        & pl.col(column).is_not_null()
        & pl.col(column).is_finite()
        & pl.col("_sph").is_finite()
        & (pl.col("polarity") != "no_judgement")
    )
    # orient and translate within each indicator x period; groups of one area are not scored
    key = ["indicator_id", "period"]
    v = pl.col(column)
    cand = (
        f.filter(good)
        .with_columns(
            pl.len().over(key).alias("_n"),
            pl.when(pl.col("polarity") == "higher_is_better")
            .then(v - v.min().over(key))
            .otherwise(v.max().over(key) - v)
            .alias("_y"),
        )
        .filter(pl.col("_n") >= 2)
    )
    eff = np.full(f.height, np.nan)
    efficient = np.zeros(f.height, dtype=bool)
    peer_rows, peer_codes = [], []
    if cand.height:
        gid = _group_ids(cand, key)
        x = cand["_sph"].to_numpy()[:, None]
        y = cand["_y"].to_numpy()[:, None]
        # every indicator x period in the same batched solve, peers kept within each group
        sol = _solve(x, y, model=dea_model, orientation="input", slacks=True, groups=gid)
        rows = cand["_row"].to_numpy()
        eff[rows] = sol.efficiency
        G = int(gid.max()) + 1
        mx = np.bincount(gid, weights=x[:, 0], minlength=G) / np.bincount(gid, minlength=G)
        my = np.bincount(gid, weights=y[:, 0], minlength=G) / np.bincount(gid, minlength=G)
        my = np.where(my > 0, my, 1.0)
        slack = np.maximum(sol.slack_in[:, 0] / mx[gid], sol.slack_out[:, 0] / my[gid])
        efficient[rows] = (sol.efficiency >= 1 - 1e-6) & (slack <= 1e-6)
        peer_rows.append(rows[sol.peer_unit])
        peer_codes.append(cand["area_code"].gather(sol.peer_ref))
    has = ~np.isnan(eff)
    out = frame.with_columns(
        pl.Series("efficiency", eff, nan_to_null=True),
        pl.Series("efficient", efficient).zip_with(pl.Series(has), pl.Series([None] * len(has), dtype=pl.Boolean)),
    )
    if peer_rows:
        lists = (
            pl.DataFrame({"_row": np.concatenate(peer_rows), "peer": pl.concat(peer_codes)})
            .group_by("_row")
            .agg(pl.col("peer").alias("dea_peers"))
        )
        out = (
            out.with_row_index("_row")
            .join(lists.with_columns(pl.col("_row").cast(pl.UInt32)), on="_row", how="left", maintain_order="left")
            .drop("_row")
        )
    else:
        out = out.with_columns(pl.lit(None, pl.List(pl.String)).alias("dea_peers"))
    return out
