"""The rows value for money and the service frontier start from: outcomes with limits, spend, need, expected outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats._common import collect as _collect
from publicservices.stats.value._checks import _KEYS, _no_duplicates, _require
from publicservices.stats.value.costs import cost_per_outcome, unit_costs
from publicservices.stats.value.envelopment import _check_options
from publicservices.stats.value.expected import expected_outcome


def _service_frame(data, indicators, areas, spend, service, deflator, base_period, need, periods, model):
    """The checked DEA model and a service's assembled rows (the chosen periods, indicators with a
    direction): what the service frontier and its savings both start from."""
    model, _ = _check_options(model, "input")
    if model == "ccr":
        raise DataError(
            problem(
                None, "the CCR model changes when outputs are translated", fix="Use model='bcc' (or 'fdh') for oriented outcomes."
            )
        )
    frame = _assemble(
        data,
        indicators,
        areas=areas,
        spend=spend,
        service=service,
        deflator=deflator,
        base_period=base_period,
        need=need,
        weights="auto",
        level=0.95,
    )
    if periods is not None:
        wanted = [periods] if isinstance(periods, str) else list(periods)
        frame = frame.filter(pl.col("period").is_in(wanted))
    return model, frame.filter(pl.col("polarity") != "no_judgement")


def _service_wide(g: pl.DataFrame, col: str, extra: Sequence[str] = ()) -> tuple[list[str], dict[str, str], pl.DataFrame]:
    """One service's rows as one row per period and area: spend per head (``_sph``) and one
    column per indicator (``col``; ``extra`` columns become ``<id>:<column>``), with ``_ok``
    (spend and every outcome present) and ``_n`` (complete areas in the period)."""
    ids = g["indicator_id"].unique(maintain_order=True).to_list()
    pol = dict(g.select("indicator_id", "polarity").unique().iter_rows())
    index = ["period", "area_code"]
    wide = g.group_by(index, maintain_order=True).agg(pl.col("_sph").first())
    for c in (col, *extra):
        part = g.pivot(on="indicator_id", index=index, values=c)
        if c != col:
            part = part.rename({i: f"{i}:{c}" for i in ids if i in part.columns})
        wide = wide.join(part, on=index, how="left", maintain_order="left")
    cells = pl.col(["_sph", *ids])
    complete = wide.select(pl.all_horizontal(cells.is_not_null() & cells.is_finite())).to_series()
    wide = wide.with_columns(complete.alias("_ok")).with_columns(pl.col("_ok").sum().over("period").alias("_n"))
    return ids, pol, wide


def _assemble(data, indicators, *, areas, spend, service, deflator, base_period, need, weights, level):
    """Values joined with metadata, limits, spend, areas, unit costs, cost per outcome and the
    expected outcome: everything value for money needs before the frontier."""
    values, areas, spend, catalogue = _resolve(data, areas, spend)
    if isinstance(indicators, Mapping):
        catalogue = {**catalogue, **dict(indicators)}
    ids = _choose_indicators(values, catalogue, indicators, spend, service)
    values = values.filter(pl.col("indicator_id").is_in(ids))
    _no_duplicates(
        values,
        list(_KEYS),
        "values",
        fix="Value for money uses one row per indicator, area and period: filter "
        "breakdown rows (sex, age ...) to the totals first.",
    )
    meta = pl.DataFrame(
        {
            "indicator_id": ids,
            "service": [_service_of(catalogue.get(i), service, spend) for i in ids],
            "multiplier": [float(getattr(catalogue.get(i), "multiplier", 1.0)) for i in ids],
            "polarity": [str(getattr(catalogue.get(i), "polarity", "no_judgement")) for i in ids],
        },
        schema={"indicator_id": pl.String, "service": pl.String, "multiplier": pl.Float64, "polarity": pl.String},
    )
    values = _with_limits(values, {i: catalogue[i] for i in ids if i in catalogue}, ids)
    clash = [c for c in ("service", "multiplier", "polarity") if c in values.columns]
    frame = _prepare_values(values).drop(clash).join(meta, on="indicator_id", how="left", maintain_order="left")
    frame = frame.with_columns(
        pl.coalesce(pl.col("value"), pl.col("numerator") / pl.col("denominator") * pl.col("multiplier")).alias("value")
    )
    sp = _collect(spend, "spend")
    _require(sp, ["area_code", "period", "spend"], "spend")
    skeys = ["area_code", "period"] + (["service"] if "service" in sp.columns else [])
    ar = _collect(areas, "areas")
    costs = unit_costs(sp, ar, deflator=deflator, base_period=base_period)
    frame = frame.drop([c for c in ("spend", "spend_real", "prices") if c in frame.columns]).join(
        costs.select(skeys + ["spend", "spend_real", "prices"]), on=skeys, how="left", maintain_order="left"
    )
    acols = ["area_code"] + [c for c in dict.fromkeys(["population", *need]) if c in ar.columns]
    frame = frame.drop([c for c in acols[1:] if c in frame.columns]).join(
        ar.select(acols), on="area_code", how="left", maintain_order="left"
    )
    missing_need = [c for c in need if c not in frame.columns]
    if missing_need:
        raise SchemaError(
            problem(
                missing_need[0], "is missing from areas", fix="Add the need covariate to areas, or pass need=[...] without it."
            )
        )
    frame = frame.with_columns(
        pl.col("denominator").alias("users"),
        (pl.col("spend_real") / pl.col("population")).alias("spend_per_head"),
    ).with_columns(
        pl.when(pl.col("users") > 0).then(pl.col("spend_real") / pl.col("users")).otherwise(None).alias("spend_per_user"),
        pl.when(pl.col("spend_real") > 0).then(pl.col("spend_per_head")).otherwise(None).alias("_sph"),
        pl.coalesce(pl.col("denominator"), pl.col("population")).alias("_base"),
    )
    frame = cost_per_outcome(frame, spend="spend_real", base="_base", multiplier="multiplier", polarity="polarity")
    return expected_outcome(
        frame,
        outcome="value",
        spend="_sph",
        need=need,
        log=("_sph", "population"),
        by=["indicator_id", "period"],
        weights=weights,
        polarity="polarity",
        level=level,
    )


def _with_limits(values: pl.DataFrame, catalogue: Mapping[str, Any], ids: Sequence[str]) -> pl.DataFrame:
    """95% limits: the frame's own, else computed by each indicator's measure (Wilson, Byar ...)."""
    if ("lower_95" in values.columns and "upper_95" in values.columns) or set(ids) - set(catalogue):
        return values
    from publicservices.stats.outcomes.intervals import add_intervals

    out = add_intervals(values, dict(catalogue), confidence=(0.95,))
    return _collect(out, "values").drop("ci_method", strict=False)


def _resolve(data, areas, spend):
    if isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        if areas is None or spend is None:
            raise SchemaError(
                problem(
                    None,
                    "with a values frame, value for money needs areas= and spend=",
                    fix="Pass areas=<frame with area_code, population, deprivation> "
                    "and spend=<frame with area_code, period, service, spend>, "
                    "or pass a Dataset.",
                )
            )
        from publicservices.frame import (  # the door sits above stats: imported on use
            validate_areas,
            validate_values,
        )

        # Plain frames are held to the contract at the door, as a Dataset's are.
        return validate_values(_collect(data, "values")), validate_areas(_collect(areas, "areas")), spend, {}
    for attr in ("values", "areas", "spend"):
        if not isinstance(getattr(data, attr, None), (pl.DataFrame, pl.LazyFrame)):
            raise SchemaError(
                problem(
                    None,
                    f"value for money needs a Dataset or a values frame; {type(data).__name__} has no .{attr} frame",
                    fix="Pass a publicservices Dataset, or a values frame with areas= and spend=.",
                )
            )
    return (
        _collect(data.values, "values"),
        areas if areas is not None else data.areas,
        spend if spend is not None else data.spend,
        dict(getattr(data, "indicators", None) or {}),
    )


def _choose_indicators(values, catalogue, indicators, spend, service) -> list[str]:
    _require(values, list(_KEYS), "values")
    present = values["indicator_id"].unique(maintain_order=True).to_list()
    if indicators is None:
        ids = [i for i in present if i in catalogue] if catalogue else present
        sp = _collect(spend, "spend")
        if catalogue and "service" in sp.columns:
            services = set(sp["service"].unique().to_list())
            ids = [i for i in ids if getattr(catalogue[i], "service", None) in services]
    else:
        ids = list(indicators)
        unknown = [i for i in ids if i not in present]
        if unknown:
            raise DataError(
                problem(
                    "indicator_id",
                    "has no values for some requested indicators",
                    rows=unknown,
                    fix=f"Choose from {present[:10]}.",
                )
            )
    if service is not None:
        ids = [i for i in ids if catalogue.get(i) is None or getattr(catalogue[i], "service", None) == service]
        if not ids:
            raise DataError(
                problem(
                    None,
                    f"no indicator relates to service {service!r}",
                    fix="Check the service name against the indicators' service.",
                )
            )
    return ids


def _service_of(ind, service, spend) -> str | None:
    if ind is not None and getattr(ind, "service", None):
        return ind.service
    if service is not None:
        return service
    sp = _collect(spend, "spend")
    if "service" in sp.columns:
        found = sp["service"].unique().to_list()
        if len(found) == 1:
            return found[0]
        raise DataError(
            problem(
                "service",
                f"is ambiguous: spend covers {sorted(map(str, found))[:5]}",
                fix="Pass indicators={id: Indicator(..., service=...)} or service=...",
            )
        )
    return None


def _prepare_values(values: pl.DataFrame) -> pl.DataFrame:
    """Outcome value and 95% limits from whichever columns the values frame has."""

    def col(name):
        return pl.col(name).cast(pl.Float64) if name in values.columns else pl.lit(None, pl.Float64)

    return values.with_columns(
        col("value").alias("value"),
        col("numerator").alias("numerator"),
        col("denominator").alias("denominator"),
        pl.coalesce(col("lower_95"), col("lower_ci")).alias("lower_95"),
        pl.coalesce(col("upper_95"), col("upper_ci")).alias("upper_95"),
    )
