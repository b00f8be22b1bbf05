"""Unit costs and cost per unit of outcome (see :mod:`publicservices.stats.value`)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats._common import collect as _collect
from publicservices.stats.value._checks import (
    _codes,
    _no_duplicates,
    _numeric,
    _require,
    _rows,
)

# --------------------------------------------------------------------------------------------
# unit costs


def unit_costs(
    spend: pl.DataFrame | pl.LazyFrame,
    areas: pl.DataFrame | None = None,
    *,
    users: str | pl.DataFrame | None = None,
    deflator: Mapping[str, float] | pl.DataFrame | None = None,
    base_period: str | None = None,
) -> pl.DataFrame:
    """Spend per head and per service user, per area and period, in cash or real terms.

    Method: ``spend_real = spend * deflator[base_period] / deflator[period]`` (prices of the base
    period; HM Treasury Green Book, GDP deflators); ``spend_per_head = spend_real / population``;
    ``spend_per_user = spend_real / users``. Without a deflator, real means cash.

    Parameters:
        spend: ``area_code, period, spend`` (and usually ``service``); one row per key.
        areas: ``area_code, population``; if omitted, ``spend`` must carry ``population``.
        users: the number of service users: a column of ``spend``, or a frame with ``area_code,
            period`` (and optionally ``service``) and a ``users`` column.
        deflator: price index by period (mapping, or a frame with ``period`` and one numeric
            column), e.g. the GDP deflator.
        base_period: the period whose prices results are expressed in; default: the deflator's
            last period as given (list periods in time order).

    Returns:
        ``spend`` with ``population``, ``users`` (if given), ``prices`` (``"cash"`` or e.g.
        ``"2023/24 prices"``), ``spend_real``, ``spend_per_head`` and ``spend_per_user`` added.
        Rows without a population or spend keep nulls; none are dropped.

    Example:
        >>> import polars as pl
        >>> spend = pl.DataFrame({"area_code": ["A", "A"], "period": ["2022/23", "2023/24"],
        ...                       "spend": [100.0, 110.0], "population": [10.0, 10.0]})
        >>> out = unit_costs(spend, deflator={"2022/23": 95.0, "2023/24": 100.0})
        >>> out["spend_real"].round(2).to_list(), out["prices"].to_list()[0]
        ([105.26, 110.0], '2023/24 prices')
    """
    spend = _collect(spend, "spend")
    _require(spend, ["area_code", "period", "spend"], "spend")
    _numeric(spend, "spend", "spend")
    keys = ["area_code", "period"] + (["service"] if "service" in spend.columns else [])
    _codes(spend, keys, "spend")
    _no_duplicates(spend, keys, "spend")
    neg = spend["spend"] < 0
    if neg.fill_null(False).any():
        raise DataError(
            problem(
                "spend",
                "is negative",
                rows=_rows(spend.filter(neg), keys),
                total=int(neg.sum()),
                fix="Spend is money out; record income separately.",
            )
        )
    out = spend
    if areas is not None:
        areas = _collect(areas, "areas")
        _require(areas, ["area_code", "population"], "areas")
        _codes(areas, ["area_code"], "areas")
        _no_duplicates(areas, ["area_code"], "areas")
        out = out.drop("population", strict=False).join(
            areas.select("area_code", pl.col("population").cast(pl.Float64)), on="area_code", how="left", maintain_order="left"
        )
    elif "population" not in out.columns:
        raise SchemaError(
            problem("population", "is missing", fix="Pass areas= (with area_code, population) or add population to spend.")
        )
    _numeric(out, "population", "areas")
    bad = out["population"] <= 0
    if bad.fill_null(False).any():
        raise DataError(
            problem(
                "population",
                "is zero or negative",
                rows=_rows(out.filter(bad), keys),
                total=int(bad.sum()),
                fix="Population is a head count; correct it.",
            )
        )
    out = _attach_users(out, users, keys)
    out = _deflate(out, deflator, base_period)
    per_user = (pl.col("spend_real") / pl.col("users")) if "users" in out.columns else pl.lit(None, pl.Float64)
    return out.with_columns(
        (pl.col("spend_real") / pl.col("population")).alias("spend_per_head"),
        pl.when(pl.col("users") > 0 if "users" in out.columns else pl.lit(False))
        .then(per_user)
        .otherwise(None)
        .alias("spend_per_user"),
    )


def _attach_users(out: pl.DataFrame, users, keys) -> pl.DataFrame:
    if users is None:
        return out
    if isinstance(users, str):
        _require(out, [users], "spend")
        _numeric(out, users, "spend")
        return out.with_columns(pl.col(users).cast(pl.Float64).alias("users"))
    users = _collect(users, "users")
    ukeys = ["area_code", "period"] + (["service"] if "service" in users.columns and "service" in keys else [])
    _require(users, ukeys + ["users"], "users")
    _numeric(users, "users", "users")
    _no_duplicates(users, ukeys, "users")
    return out.drop("users", strict=False).join(
        users.select(ukeys + [pl.col("users").cast(pl.Float64)]), on=ukeys, how="left", maintain_order="left"
    )


def _deflate(out: pl.DataFrame, deflator, base_period) -> pl.DataFrame:
    if deflator is None:
        return out.with_columns(pl.lit("cash").alias("prices"), pl.col("spend").cast(pl.Float64).alias("spend_real"))
    if isinstance(deflator, (pl.DataFrame, pl.LazyFrame)):
        d = _collect(deflator, "deflator")
        _require(d, ["period"], "deflator")
        num = [c for c in d.columns if c != "period" and d.schema[c].is_numeric()]
        if len(num) != 1:
            raise SchemaError(
                problem(
                    None,
                    f"deflator needs exactly one numeric column besides period, has {num}",
                    fix="Pass a frame with columns period and index (or a dict period -> index).",
                )
            )
        index = dict(zip(d["period"].cast(pl.String).to_list(), d[num[0]].to_list(), strict=True))
    elif isinstance(deflator, Mapping):
        index = {str(k): v for k, v in deflator.items()}
    else:
        raise SchemaError(
            problem(
                None,
                f"deflator must be a mapping or a frame, got {type(deflator).__name__}",
                fix="Pass {period: index} such as {'2022/23': 95.1, '2023/24': 100.0}.",
            )
        )
    bad = [p for p, v in index.items() if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0]
    if bad:
        raise DataError(
            problem(
                "deflator",
                "must be a positive number for every period",
                rows=bad,
                fix="Use a price index such as the GDP deflator (e.g. 2023/24 = 100).",
            )
        )
    if not index:
        raise DataError(problem("deflator", "is empty", fix="Give an index value for each period."))
    base = list(index)[-1] if base_period is None else str(base_period)
    if base not in index:
        raise DataError(
            problem(
                "deflator",
                f"has no value for the base period {base!r}",
                fix=f"Add it, or choose base_period from {list(index)[:10]}.",
            )
        )
    periods = out["period"].cast(pl.String)
    missing = sorted(set(periods.drop_nulls().unique().to_list()) - set(index))
    if missing:
        raise DataError(
            problem("period", "has no deflator value", rows=missing, fix="Extend the deflator to every period of the spend data.")
        )
    factor = periods.replace_strict({p: index[base] / v for p, v in index.items()}, default=None, return_dtype=pl.Float64)
    return out.with_columns(
        pl.lit(f"{base} prices").alias("prices"), (pl.col("spend").cast(pl.Float64) * factor).alias("spend_real")
    )


# --------------------------------------------------------------------------------------------
# cost per outcome


def cost_per_outcome(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    spend: str = "spend_real",
    outcome: str = "value",
    lower: str | None = "lower_95",
    upper: str | None = "upper_95",
    base: str = "population",
    multiplier: float | str = 1.0,
    polarity: str | None = None,
) -> pl.DataFrame:
    """Spend per unit of outcome, with an interval carried from the outcome's limits.

    Method: the outcome count is ``base * outcome / multiplier`` (for a proportion per 100 of
    users, the number of users achieving it; for a rate per 100,000 people, the events; for a
    mean score per user, total points) and ``cost_per_outcome = spend / count``. Because cost is
    a decreasing function of the outcome, the outcome's limits map to cost limits the other way
    round: ``cost_per_outcome_lower = spend / count(upper)`` and
    ``cost_per_outcome_upper = spend / count(lower)`` (unbounded, so null, when the lower limit
    is 0). For lower-is-better outcomes (deaths, re-offending) spend per event would reward more
    events, so the cost is left null. Reference: Audit Commission (1986), *Performance Review in
    Local Government*: economy, efficiency, effectiveness ("cost per unit of outcome").

    Parameters:
        frame: rows with the spend, outcome and base columns.
        spend: spend column (cash or real).
        outcome: the outcome value on its published scale.
        lower, upper: the outcome's confidence limits (skipped when absent).
        base: the count the outcome is per: ``users``/``denominator`` or ``population``.
        multiplier: the outcome's scale (100 for %, 100000 per 100,000), or a column name.
        polarity: a polarity string, or a column holding one; lower_is_better rows get null.

    Returns:
        ``frame`` with ``cost_per_outcome``, ``cost_per_outcome_lower``, ``cost_per_outcome_upper``.

    Example:
        >>> import polars as pl
        >>> f = pl.DataFrame({"spend_real": [1.0e6], "value": [80.0], "lower_95": [75.0],
        ...                   "upper_95": [85.0], "users": [1000.0]})
        >>> out = cost_per_outcome(f, base="users", multiplier=100)
        >>> [round(out[c][0], 2) for c in ("cost_per_outcome", "cost_per_outcome_lower", "cost_per_outcome_upper")]
        [1250.0, 1176.47, 1333.33]
    """
    frame = _collect(frame, "frame")
    _require(frame, [spend, outcome, base], "frame")
    mult = pl.col(multiplier).cast(pl.Float64) if isinstance(multiplier, str) else pl.lit(float(multiplier))
    if isinstance(multiplier, str):
        _require(frame, [multiplier], "frame")
    if polarity is None:
        pol_ok = pl.lit(True)
    elif polarity in frame.columns:
        pol_ok = pl.col(polarity).fill_null("no_judgement") != "lower_is_better"
    else:
        pol_ok = pl.lit(polarity != "lower_is_better")

    def cost(col: str | None) -> pl.Expr:
        if col is None or col not in frame.columns:
            return pl.lit(None, pl.Float64)
        count = pl.col(base).cast(pl.Float64) * pl.col(col).cast(pl.Float64) / mult
        return pl.when(pol_ok & (count > 0)).then(pl.col(spend).cast(pl.Float64) / count).otherwise(None)

    return frame.with_columns(
        cost(outcome).alias("cost_per_outcome"),
        cost(upper).alias("cost_per_outcome_lower"),
        cost(lower).alias("cost_per_outcome_upper"),
    )
