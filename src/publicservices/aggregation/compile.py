"""Record definitions -> one narwhals lazy query per record source (and key layout).

The query runs unchanged on Polars (streaming) and PySpark: narwhals translates it. Each row gets
a *reason* code (0 = counted; otherwise the first of: a null key, an unknown area code, a date
outside any period, an impossible age, an age in no band), its period year and age band; rows set
aside have their keys blanked so they fall into one group per reason. One ``group_by`` then sums,
per indicator, the numerator, the denominator (and the sum of squares for a mean) and the rows
each declared exclusion took, so nothing is dropped uncounted and the records are read once.

Example:
    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="health.ae_4hr", title="A&E 4 hours", sector="health",
    ...                 measure="proportion", multiplier=100, records={
    ...                     "source": "ae", "numerator": {"column": "minutes", "le": 240}})
    >>> records = pl.LazyFrame({"area_code": ["a", "a", None], "minutes": [100, 300, 10],
    ...                         "date": [dt.date(2024, 5, 1)] * 3})
    >>> [plan] = plan_source("ae", [ind], nw.from_native(records).collect_schema())
    >>> cells = plan.query(nw.from_native(records), None).collect().to_native()
    >>> cells.sort("__ps_why").select("__ps_why", "area_code", "__ps_year", "__ps_rows", "n0", "d0").rows()
    [(0, 'a', 2024, 2, 1, 2), (1, None, None, 1, 0, 0)]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import narwhals as nw

from publicservices.errors import DataError, SchemaError
from publicservices.record_definitions import MAX_AGE, PERIOD_KINDS, AgeBands, Condition, RecordDefinition

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.indicators import Indicator

__all__ = ["SourcePlan", "plan_source", "condition_expr", "PERIOD_YEARS"]

#: The years a period may start in (as the values contract's ``period_start``); a date outside is
#: a parsing accident such as 0001-01-01 and is reported as "date outside any period".
PERIOD_YEARS = (1800, 2200)
WHY, YEAR, BAND, ROWS = "__ps_why", "__ps_year", "__ps_band", "__ps_rows"


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    """One query over one record source, for the indicators that share its area, period and bands.

    It groups by every breakdown any of them has; each indicator sums over the others.

    ``reasons[k - 1]`` names reason code ``k``; ``exclusions[i]`` names indicator ``i``'s declared
    exclusions (columns ``x{i}_{j}``); numerator and denominator columns are ``n{i}``, ``d{i}``
    (``s{i}``: sum of squared values for a mean).
    """

    source: str
    indicators: tuple[Indicator, ...]
    area_column: str
    date_column: str
    periods: str
    breakdowns: tuple[str, ...]
    bands: AgeBands | None
    reasons: tuple[str, ...] = ()

    @property
    def definitions(self) -> tuple[RecordDefinition, ...]:
        return tuple(i.records for i in self.indicators)  # type: ignore[misc]

    @property
    def keys(self) -> list[str]:
        """The group keys of the aggregated cells, after the reason code."""
        return [self.area_column, YEAR, *self.breakdowns, *([BAND] if self.bands else [])]

    def columns(self) -> list[str]:
        """Every records column the query reads (projection push-down)."""
        out: list[str] = []
        for d in self.definitions:
            out += [c for c in d.columns() if c not in out]
        return out

    def query(self, records: nw.LazyFrame, area_codes: Sequence[str] | None, years: Sequence[int] | None = None) -> nw.LazyFrame:
        """The lazy aggregation: one row per reason x area x period year x breakdowns x band."""
        area, date = nw.col(self.area_column), nw.col(self.date_column)
        start_month = PERIOD_KINDS[self.periods]
        year = date.dt.year().cast(nw.Int32)
        if start_month > 1:  # a January-March date belongs to the year that began the April before
            year = year - (date.dt.month() < start_month).cast(nw.Int32)
        checks: list[nw.Expr] = []
        # a missing breakdown is a group of its own here: indicators without that breakdown count
        # the row, and those with it report it as a null key (run.py), all from this one pass
        for column in (self.area_column, self.date_column, *([self.bands.column] if self.bands else [])):
            checks.append(nw.col(column).is_null())
        if area_codes is not None:
            checks.append(~area.cast(nw.String).is_in(list(area_codes)))  # numeric unit ids too (school URNs)
        outside = (year < PERIOD_YEARS[0]) | (year > PERIOD_YEARS[1])
        if years is not None:
            outside = outside | ~year.is_in(list(years))
        checks.append(outside)
        band: nw.Expr | None = None
        if self.bands is not None:
            age = nw.col(self.bands.column)
            no_band = age < self.bands.edges[0]
            if self.bands.upper is not None:
                no_band = no_band | (age >= self.bands.upper)
            checks += [(age < 0) | (age > MAX_AGE), no_band]
            edges = self.bands.edges
            band = _first(((age >= edges[k], k) for k in range(len(edges) - 1, -1, -1)), None).cast(nw.Int32)
        why = _first(((check, k) for k, check in enumerate(checks, start=1)), 0).cast(nw.Int32)
        counted = nw.col(WHY) == 0
        keyed = [nw.when(counted).then(area).alias(self.area_column), nw.when(counted).then(year).alias(YEAR)]
        keyed += [nw.when(counted).then(nw.col(b)).alias(b) for b in self.breakdowns]
        if band is not None:
            keyed.append(nw.when(counted).then(band).alias(BAND))
        aggs: list[nw.Expr] = [nw.len().alias(ROWS)]
        for i, d in enumerate(self.definitions):
            aggs += _indicator_aggs(i, d, counted)
        lf = records.select(self.columns()).with_columns(why.alias(WHY))
        return lf.with_columns(keyed).group_by([WHY, *self.keys], drop_null_keys=False).agg(aggs)

    def reason_of(self, code: int) -> str:
        return self.reasons[code - 1]


def _first(cases: Any, otherwise: int | None) -> nw.Expr:
    """``when(c1).then(v1).when(c2).then(v2)...otherwise(...)``: the value of the first case that holds.

    Nested rather than chained, so narwhals' types hold at every step.
    """
    out: nw.Expr = nw.lit(otherwise)
    for condition, value in reversed(list(cases)):
        out = nw.when(condition).then(nw.lit(value)).otherwise(out)
    return out


def _count(e: nw.Expr) -> nw.Expr:
    return e.cast(nw.Int64).sum()


def _indicator_aggs(i: int, d: RecordDefinition, counted: nw.Expr) -> list[nw.Expr]:
    """Sums for indicator ``i``: its numerator, denominator and the rows each exclusion took."""
    out: list[nw.Expr] = []
    earlier: nw.Expr = nw.lit(False)
    for j, (_, cond) in enumerate(d.exclusions):
        hit = condition_expr(cond)
        out.append(_count(counted & ~earlier & hit).alias(f"x{i}_{j}"))  # the first exclusion that matches takes the row
        earlier = earlier | hit
    kept = counted & ~earlier
    if isinstance(d.denominator, Condition):
        kept = kept & condition_expr(d.denominator)
    if d.value_column is not None:
        v = nw.col(d.value_column).cast(nw.Float64)
        has = kept & ~nw.col(d.value_column).is_null()
        out += [
            nw.when(has).then(v).otherwise(nw.lit(0.0)).sum().alias(f"n{i}"),
            _count(has).alias(f"d{i}"),
            nw.when(has).then(v * v).otherwise(nw.lit(0.0)).sum().alias(f"s{i}"),
            _count(counted & ~earlier & nw.col(d.value_column).is_null()).alias(f"v{i}"),
        ]
        return out
    assert d.numerator is not None  # a RecordDefinition has a numerator or a value column
    out.append(_count(kept & condition_expr(d.numerator)).alias(f"n{i}"))
    if d.denominator != "population":
        out.append(_count(kept).alias(f"d{i}"))
    return out


def condition_expr(cond: Condition) -> nw.Expr:
    """A condition as a narwhals boolean expression; a comparison with a null is false.

    Example:
        >>> import polars as pl
        >>> c = Condition.from_dict({"any": [{"column": "x", "ge": 3}, {"column": "x", "is_null": True}]})
        >>> nw.from_native(pl.DataFrame({"x": [1, 5, None]})).select(condition_expr(c)).to_native()["x"].to_list()
        [False, True, True]
    """
    if cond.op == "all":
        return functools.reduce(lambda a, b: a & b, (condition_expr(c) for c in cond.items))
    if cond.op == "any":
        return functools.reduce(lambda a, b: a | b, (condition_expr(c) for c in cond.items))
    if cond.op == "not":
        return ~condition_expr(cond.items[0])
    col = nw.col(cond.column)  # type: ignore[arg-type]
    v = cond.value
    if cond.op == "is_null":
        return col.is_null() if v else ~col.is_null()
    ops: dict[str, Any] = {
        "eq": lambda: col == v,
        "ne": lambda: col != v,
        "lt": lambda: col < v,
        "le": lambda: col <= v,
        "gt": lambda: col > v,
        "ge": lambda: col >= v,
        "in": lambda: col.is_in(list(v)),
        "between": lambda: col.is_between(v[0], v[1], closed="both"),
    }
    return ops[cond.op]().fill_null(False)


# -- planning: group a source's indicators by key layout, check columns before any work --------


def plan_source(
    source: str, indicators: Sequence[Indicator], schema: Mapping[str, Any], *, areas_known: bool = False
) -> list[SourcePlan]:
    """Check the indicators' definitions against the records' schema and group them into queries.

    Raises :class:`~publicservices.errors.SchemaError` naming the column, the source, the
    indicator and the fix when a definition reads a column the records lack or of the wrong type:
    before any record is read, whatever the engine.
    """
    for ind in indicators:
        _check_schema(source, ind, schema)
    groups: dict[tuple, list[Indicator]] = {}
    for ind in indicators:
        d = ind.records
        assert d is not None
        # indicators differing only in breakdowns share a query: it groups by all of them
        groups.setdefault((d.area_column, d.date_column, d.periods, d.bands), []).append(ind)
    plans = []
    for (area_column, date_column, periods, bands), inds in groups.items():
        breakdowns = tuple(dict.fromkeys(b for i in inds for b in i.records.breakdowns))  # type: ignore[union-attr]
        reasons = [f"null key ({c})" for c in (area_column, date_column, *([bands.column] if bands else []))]
        if areas_known:
            reasons.append("unknown area code")
        reasons.append("date outside any period")
        if bands is not None:
            reasons += [f"impossible age (<0 or >{MAX_AGE})", "age in no band"]
        plans.append(SourcePlan(source, tuple(inds), area_column, date_column, periods, breakdowns, bands, tuple(reasons)))
    return plans


def _kind(dtype: Any) -> str:
    if dtype == nw.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype in (nw.Date, nw.Datetime) or isinstance(dtype, nw.Datetime):
        return "date"
    if dtype in (nw.String, nw.Categorical, nw.Enum) or isinstance(dtype, (nw.Categorical, nw.Enum)):
        return "string"
    return "other"


def _value_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dt.date):
        return "date"
    return "string"


def _check_schema(source: str, ind: Indicator, schema: Mapping[str, Any]) -> None:
    from publicservices.frame_checks import nearest

    d = ind.records
    assert d is not None
    present = list(schema)
    for column in d.columns():
        if column in schema:
            continue
        guess = nearest(column, present)
        raise SchemaError(
            f"records {source!r}: column {column!r} is missing{f' (did you mean {guess!r}?)' if guess else ''}; "
            f"indicator {ind.id!r} reads it.\n"
            f"Columns present: {', '.join(present)}.\n"
            f"Fix: rename the records' column to {column!r}, or change the indicator's records definition to name "
            "the column the records have."
        )

    def wrong(column: str, want: str, why: str) -> None:
        got = schema[column]
        if _kind(got) not in want.split("|"):
            raise SchemaError(
                f"records {source!r}: column {column!r} holds {got} values, but indicator {ind.id!r} needs "
                f"{want.replace('|', ' or ')} values ({why}).\n"
                f"Fix: convert the column (for CSV, dates as YYYY-MM-DD are parsed), or correct the definition."
            )

    wrong(d.date_column, "date", "the period comes from it")
    wrong(d.area_column, "string|number", "an area code")
    if d.value_column is not None:
        wrong(d.value_column, "number|boolean", "its values are averaged")
    if d.bands is not None:
        wrong(d.bands.column, "number", "ages in whole years for the age bands")
    conditions = [c for c in (d.numerator, d.denominator) if isinstance(c, Condition)] + [c for _, c in d.exclusions]
    for cond in conditions:
        for leaf in cond.leaves():
            if leaf.op == "is_null":
                continue
            assert leaf.column is not None
            values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            kinds = {_value_kind(v) for v in values}
            have = _kind(schema[leaf.column])
            if have == "other" or kinds == {have}:
                continue
            raise SchemaError(
                f"records {source!r}: indicator {ind.id!r} compares column {leaf.column!r} ({schema[leaf.column]}) "
                f"with {leaf.value!r} ({', '.join(sorted(kinds))}).\n"
                f"Fix: compare with a {have} value, or convert the column."
            )


def check_no_rows(source: str, rows: int) -> None:
    if rows == 0:
        raise DataError(f"records {source!r} have no rows.\nFix: check the path or the filter that made them.")
