"""How an indicator is built from records: a small declarative language, checked on construction.

A :class:`RecordDefinition` says which record source an indicator counts, which rows go in its
numerator and denominator, how rows are grouped (area, period from a date, breakdowns, age
bands for standardisation) and which rows are excluded and why. It is metadata, like the
:class:`~publicservices.indicators.Indicator` that holds it: plain values that round-trip
through a dict (and so TOML; see :mod:`publicservices.aggregation.definition`).
:func:`publicservices.aggregate` compiles it into one lazy query per source.

Conditions are dicts, one of::

    {"column": "c", "eq": v}   "ne", "lt", "le", "gt", "ge" alike
    {"column": "c", "in": [v, ...]}
    {"column": "c", "between": [lo, hi]}        lo <= c <= hi
    {"column": "c", "is_null": true}            or false
    {"all": [cond, ...]}  {"any": [cond, ...]}  {"not": cond}

A comparison with a missing (null) value is false: test ``is_null`` to count missing values.

This module imports nothing but the errors, so an indicator can hold a definition without
pulling in an engine (and without an import cycle).

Example:
    >>> d = RecordDefinition(source="health.ae_attendances",
    ...                      numerator={"column": "minutes_in_department", "le": 240})
    >>> d.numerator.to_dict(), d.periods
    ({'column': 'minutes_in_department', 'le': 240}, 'financial_year')
    >>> RecordDefinition.from_dict(d.to_dict()) == d
    True
    >>> Condition.from_dict({"column": "age", "lte": 5})
    Traceback (most recent call last):
    ...
    publicservices.errors.IndicatorError: condition {'column': 'age', 'lte': 5} has no operator: it needs one of eq, ne, lt, le, gt, ge, in, between, is_null.
    Fix: write it like {"column": "age", "le": 5}.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from publicservices.errors import IndicatorError

__all__ = [
    "Condition",
    "AgeBands",
    "RecordDefinition",
    "PERIOD_KINDS",
    "COMPARISONS",
    "MAX_AGE",
]

PeriodKind = Literal["financial_year", "academic_year", "calendar_year"]
#: How a record's date becomes its period: the month the year starts in.
PERIOD_KINDS: dict[str, int] = {"financial_year": 4, "academic_year": 9, "calendar_year": 1}
#: Comparison operators of a condition on one column.
COMPARISONS: tuple[str, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in", "between", "is_null")
_LOGICAL: tuple[str, ...] = ("all", "any", "not")
#: Oldest plausible age in years; an age above it (or below 0) is reported as impossible.
MAX_AGE = 120
# ESP2013's 19 bands: lower edges 0, 5, ..., 90 (the last band open: 90+).
_ESP2013_EDGES: tuple[int, ...] = tuple(range(0, 95, 5))
_STANDARDS = ("esp2013", "esp1976")

Scalar = str | int | float | bool | dt.date


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, dt.date))


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One condition on records, held immutably (so definitions are hashable).

    Build it with :meth:`from_dict`; ``op`` is a comparison (``eq`` ... ``is_null``) on
    ``column`` with ``value``, or ``all``/``any``/``not`` over ``items``.

    Example:
        >>> c = Condition.from_dict({"any": [{"column": "cause", "eq": "cvd"},
        ...                                  {"column": "age", "between": [0, 74]}]})
        >>> c.columns(), c.to_dict()["any"][1]
        (('cause', 'age'), {'column': 'age', 'between': [0, 74]})
    """

    op: str
    column: str | None = None
    value: Any = None
    items: tuple[Condition, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, where: str = "condition") -> Condition:
        """Check and build a condition from its dict form, naming what is wrong and the fix."""
        if isinstance(data, Condition):
            return data
        if not isinstance(data, Mapping):
            raise IndicatorError(
                f"{where} {data!r} must be a dict such as {{'column': 'age', 'le': 74}}.\n"
                "Fix: write the condition as a table/dict (see publicservices.record_definitions)."
            )
        logical = [k for k in _LOGICAL if k in data]
        if logical:
            op = logical[0]
            if len(data) != 1:
                raise IndicatorError(
                    f"{where} {dict(data)!r} mixes {op!r} with other keys {sorted(set(data) - {op})}.\n"
                    f'Fix: put each condition inside the list, like {{"{op}": [{{...}}, {{...}}]}}.'
                )
            if op == "not":
                return cls("not", items=(cls.from_dict(data["not"], f"{where}.not"),))
            inner = data[op]
            if isinstance(inner, (str, bytes, Mapping)) or not isinstance(inner, Iterable) or not list(inner):
                raise IndicatorError(
                    f"{where}: {op!r} needs a non-empty list of conditions, not {inner!r}.\n"
                    f'Fix: write {{"{op}": [{{"column": "a", "eq": 1}}, {{"column": "b", "eq": 2}}]}}.'
                )
            return cls(op, items=tuple(cls.from_dict(c, f"{where}.{op}[{i}]") for i, c in enumerate(inner)))
        column = data.get("column")
        ops = [k for k in COMPARISONS if k in data]
        if not ops:
            raise IndicatorError(
                f"{where} {dict(data)!r} has no operator: it needs one of {', '.join(COMPARISONS)}.\n"
                f'Fix: write it like {{"column": "{column or "age"}", "le": 5}}.'
            )
        unknown = sorted(set(data) - {"column", *COMPARISONS})
        if len(ops) > 1 or unknown:
            raise IndicatorError(
                f"{where} {dict(data)!r} has keys {sorted(set(data) - {'column'})}: a condition on a column takes one "
                f'operator of {", ".join(COMPARISONS)}.\nFix: combine several with {{"all": [...]}}.'
            )
        if not isinstance(column, str) or not column:
            raise IndicatorError(
                f'{where} {dict(data)!r} needs a \'column\' naming a records column.\nFix: add "column": "name".'
            )
        op, value = ops[0], data[ops[0]]
        value = _check_value(op, value, f"{where} on {column!r}")
        return cls(op, column=column, value=value)

    def to_dict(self) -> dict[str, Any]:
        """The dict (TOML) form, the inverse of :meth:`from_dict`."""
        if self.op == "not":
            return {"not": self.items[0].to_dict()}
        if self.op in ("all", "any"):
            return {self.op: [c.to_dict() for c in self.items]}
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"column": self.column, self.op: value}

    def columns(self) -> tuple[str, ...]:
        """The records columns the condition reads, in order of first use."""
        out: list[str] = []
        if self.column is not None:
            out.append(self.column)
        for item in self.items:
            out += [c for c in item.columns() if c not in out]
        return tuple(out)

    def leaves(self) -> Iterable[Condition]:
        """Every comparison in the condition (for type checks against the records' schema)."""
        if self.column is not None:
            yield self
        for item in self.items:
            yield from item.leaves()


def _check_value(op: str, value: Any, where: str) -> Any:
    if op == "is_null":
        if not isinstance(value, bool):
            raise IndicatorError(f'{where}: is_null takes true or false, not {value!r}.\nFix: write "is_null": true.')
        return value
    if op in ("in", "between"):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise IndicatorError(f'{where}: {op!r} takes a list, not {value!r}.\nFix: write "{op}": [...].')
        items = tuple(value)
        if not items or not all(_is_scalar(v) for v in items):
            raise IndicatorError(
                f"{where}: {op!r} needs a non-empty list of numbers, strings, booleans or dates, not {value!r}.\n"
                "Fix: list the values."
            )
        if op == "between":
            if len(items) != 2:
                raise IndicatorError(f"{where}: 'between' takes [low, high], not {value!r}.\nFix: give two values.")
            try:
                wrong = items[0] > items[1]
            except TypeError:
                wrong = True
            if wrong:
                raise IndicatorError(
                    f"{where}: 'between' {list(items)!r} needs low <= high, both of one type.\nFix: swap or correct them."
                )
        return items
    if not _is_scalar(value):
        raise IndicatorError(
            f"{where}: {op!r} compares with one number, string, boolean or date, not {value!r}.\n"
            "Fix: give one value (use 'in' for a list)."
        )
    if isinstance(value, float) and value != value:
        raise IndicatorError(f"{where}: {op!r} compares with NaN, which nothing equals.\nFix: use is_null for missing values.")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class AgeBands:
    """Age bands for standardisation: the age column, the bands' lower edges, the standard.

    Each band runs from its edge to the next edge minus one year; the last band is open
    (``90+``) unless ``upper`` closes it. The default edges give ESP2013's 19 bands ``0-4``,
    ``5-9`` ... ``85-89``, ``90+``; ``edges=range(0, 75, 5), upper=75`` gives the under-75 bands
    of a premature mortality rate (standardised with those bands' ESP2013 weights). Rows aged
    below the first edge, or ``upper`` and over, are in no band and are reported as such.

    Example:
        >>> AgeBands().labels[:2], AgeBands().labels[-1], len(AgeBands().labels)
        (('0-4', '5-9'), '90+', 19)
        >>> AgeBands(edges=(0, 15, 65)).labels
        ('0-14', '15-64', '65+')
        >>> AgeBands(edges=range(0, 75, 5), upper=75).labels[-1]
        '70-74'
    """

    column: str = "age"
    edges: tuple[int, ...] = _ESP2013_EDGES
    standard: str = "esp2013"
    upper: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple(self.edges))
        if not isinstance(self.column, str) or not self.column:
            raise IndicatorError(f"age bands: column {self.column!r} must name the records' age column.\nFix: e.g. column='age'.")
        edges = self.edges
        if (
            not edges
            or not all(isinstance(e, int) and not isinstance(e, bool) and 0 <= e <= MAX_AGE for e in edges)
            or any(b <= a for a, b in zip(edges, edges[1:], strict=False))
        ):
            raise IndicatorError(
                f"age bands: edges {list(edges)!r} must be whole years from 0 to {MAX_AGE}, strictly increasing "
                "(each band's lowest age; the last band is open).\nFix: e.g. edges=[0, 5, 10, ..., 90] for ESP2013."
            )
        if self.upper is not None and (
            isinstance(self.upper, bool) or not isinstance(self.upper, int) or not edges[-1] < self.upper <= MAX_AGE + 1
        ):
            raise IndicatorError(
                f"age bands: upper {self.upper!r} must be a whole age above the last edge {edges[-1]} "
                f"(at most {MAX_AGE + 1}), or None for an open last band.\nFix: e.g. upper=75 for under-75 rates."
            )
        if self.standard not in _STANDARDS:
            raise IndicatorError(
                f"age bands: standard {self.standard!r} is not a shipped standard population.\n"
                f"Fix: use one of {', '.join(_STANDARDS)}."
            )

    @property
    def labels(self) -> tuple[str, ...]:
        """Band labels as the standard populations name them: ``0-4`` ... ``90+``."""
        e = self.edges
        last = f"{e[-1]}+" if self.upper is None else f"{e[-1]}-{self.upper - 1}"
        return tuple(f"{a}-{b - 1}" for a, b in zip(e, e[1:], strict=False)) + (last,)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "edges": list(self.edges), "standard": self.standard}
        if self.upper is not None:
            out["upper"] = self.upper
        return out

    @classmethod
    def from_dict(cls, data: Any) -> AgeBands:
        if isinstance(data, AgeBands):
            return data
        if not isinstance(data, Mapping):
            raise IndicatorError(f"bands {data!r} must be a table such as {{column = 'age'}}.\nFix: write bands as a table.")
        known = {"column", "edges", "standard", "upper"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise IndicatorError(f"bands has unknown key(s) {unknown}.\nFix: use only {sorted(known)}.")
        return cls(**dict(data))


@dataclasses.dataclass(frozen=True, slots=True)
class RecordDefinition:
    """How an indicator is counted from one record source.

    Parameters:
        source: the record source's name, e.g. ``"health.ae_attendances"``.
        area_column: the column holding each record's area (the finest level present).
        date_column: a Date column; the period comes from it.
        periods: ``financial_year`` (April-March, labelled ``2014/15``), ``academic_year``
            (September-August, ``2014/15``) or ``calendar_year`` (``2014``).
        numerator: the rows counted in the numerator (proportions, rates, DSRs).
        value_column: for means and scores, the value averaged: numerator = sum of the values,
            denominator = count of rows with a value.
        denominator: ``None`` (every row not excluded), a condition, or ``"population"``
            (a population frame: ``area_code, period, [sex], [age_band], population``).
        breakdowns: columns that split the values frame (``("sex",)``).
        bands: :class:`AgeBands` for a directly standardised rate.
        exclusions: ``(reason, condition)`` pairs: rows matching are excluded and counted under
            ``reason`` (the first that matches).

    Example:
        >>> deaths = RecordDefinition(
        ...     source="health.deaths", numerator={"column": "cause", "eq": "cvd_preventable"},
        ...     denominator="population", bands={"column": "age"},
        ...     exclusions=[("aged 75 or over", {"column": "age", "ge": 75})])
        >>> deaths.bands.labels[0], deaths.exclusions[0][0], deaths.columns()
        ('0-4', 'aged 75 or over', ('area_code', 'date', 'age', 'cause'))
    """

    source: str
    area_column: str = "area_code"
    date_column: str = "date"
    periods: PeriodKind = "financial_year"
    numerator: Condition | None = None
    value_column: str | None = None
    denominator: Condition | Literal["population"] | None = None
    breakdowns: tuple[str, ...] = ()
    bands: AgeBands | None = None
    exclusions: tuple[tuple[str, Condition], ...] = ()

    def __post_init__(self) -> None:
        where = f"records of {self.source!r}"
        if not isinstance(self.source, str) or not self.source.strip():
            raise IndicatorError(
                f"records: source {self.source!r} must name the record source.\nFix: e.g. source='health.ae_attendances'."
            )
        for name in ("area_column", "date_column"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise IndicatorError(f"{where}: {name} {value!r} must be a column name.\nFix: e.g. {name}='area_code'.")
        if self.periods not in PERIOD_KINDS:
            raise IndicatorError(f"{where}: periods {self.periods!r} is not known.\nFix: use one of {', '.join(PERIOD_KINDS)}.")
        if self.numerator is not None:
            object.__setattr__(self, "numerator", Condition.from_dict(self.numerator, f"{where}: numerator"))
        if self.value_column is not None and (not isinstance(self.value_column, str) or not self.value_column):
            raise IndicatorError(f"{where}: value_column {self.value_column!r} must be a column name.\nFix: e.g. 'attainment8'.")
        if (self.numerator is None) == (self.value_column is None):
            raise IndicatorError(
                f"{where} needs exactly one of numerator (a condition: counts) and value_column (a column: means).\n"
                "Fix: give numerator= for a proportion, rate or DSR; value_column= for a mean or score."
            )
        if self.denominator is not None and self.denominator != "population":
            if isinstance(self.denominator, str):
                raise IndicatorError(
                    f"{where}: denominator {self.denominator!r} must be a condition, 'population' or None (every row).\n"
                    "Fix: write denominator='population' or a condition dict."
                )
            object.__setattr__(self, "denominator", Condition.from_dict(self.denominator, f"{where}: denominator"))
        if self.value_column is not None and self.denominator == "population":
            raise IndicatorError(
                f"{where}: a mean (value_column) is averaged over its records, not over a population.\n"
                "Fix: leave denominator out, or give a condition."
            )
        if isinstance(self.breakdowns, str):
            object.__setattr__(self, "breakdowns", (self.breakdowns,))
        breakdowns = tuple(self.breakdowns)
        if not all(isinstance(b, str) and b for b in breakdowns) or len(set(breakdowns)) != len(breakdowns):
            raise IndicatorError(f"{where}: breakdowns {list(breakdowns)!r} must be distinct column names.\nFix: e.g. ['sex'].")
        object.__setattr__(self, "breakdowns", breakdowns)
        if self.bands is not None:
            object.__setattr__(self, "bands", AgeBands.from_dict(self.bands))
            if self.bands.column in breakdowns:
                raise IndicatorError(
                    f"{where}: the age column is both a breakdown and the bands' column.\nFix: drop it from breakdowns."
                )
        object.__setattr__(self, "exclusions", _exclusions(self.exclusions, where))

    def columns(self) -> tuple[str, ...]:
        """Every records column the definition reads, in order of first use."""
        out: list[str] = [self.area_column, self.date_column]
        conditions: list[Condition] = [c for c in (self.numerator, self.denominator) if isinstance(c, Condition)]
        conditions += [c for _, c in self.exclusions]
        names: list[str] = [*([self.value_column] if self.value_column is not None else []), *self.breakdowns]
        if self.bands is not None:
            names.append(self.bands.column)
        for c in conditions:
            names += list(c.columns())
        for n in names:
            if n not in out:
                out.append(n)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """The dict (TOML) form, leaving out fields at their defaults; :meth:`from_dict` inverts it."""
        out: dict[str, Any] = {"source": self.source}
        defaults = RecordDefinition.__dataclass_fields__
        for name in ("area_column", "date_column", "periods", "value_column"):
            if getattr(self, name) != defaults[name].default:
                out[name] = getattr(self, name)
        if self.numerator is not None:
            out["numerator"] = self.numerator.to_dict()
        if isinstance(self.denominator, Condition):
            out["denominator"] = self.denominator.to_dict()
        elif self.denominator == "population":
            out["denominator"] = "population"
        if self.breakdowns:
            out["breakdowns"] = list(self.breakdowns)
        if self.bands is not None:
            out["bands"] = self.bands.to_dict()
        if self.exclusions:
            out["exclusions"] = [{"reason": r, "when": c.to_dict()} for r, c in self.exclusions]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordDefinition:
        """Build from the dict (TOML) form, naming unknown keys rather than ignoring them."""
        if isinstance(data, RecordDefinition):
            return data
        if not isinstance(data, Mapping):
            raise IndicatorError(f"records {data!r} must be a table (dict).\nFix: see publicservices.record_definitions.")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise IndicatorError(f"records definition has unknown key(s) {unknown}.\nFix: use only {fields}.")
        if "source" not in data:
            raise IndicatorError(
                "records definition has no 'source'.\nFix: name the record source, e.g. source = 'health.deaths'."
            )
        return cls(**dict(data))


def _exclusions(items: Any, where: str) -> tuple[tuple[str, Condition], ...]:
    if isinstance(items, Mapping):
        items = list(items.items())
    out: list[tuple[str, Condition]] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and set(item) == {"reason", "when"}:
            reason, cond = item["reason"], item["when"]
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            reason, cond = item
        else:
            raise IndicatorError(
                f"{where}: exclusion {i} ({item!r}) must be a (reason, condition) pair or {{reason = ..., when = {{...}}}}.\n"
                'Fix: e.g. exclusions = [{reason = "aged 75 or over", when = {column = "age", ge = 75}}].'
            )
        if not isinstance(reason, str) or not reason.strip():
            raise IndicatorError(f"{where}: exclusion {i} needs a reason in words.\nFix: e.g. 'aged 75 or over'.")
        if reason in {r for r, _ in out}:
            raise IndicatorError(f'{where}: exclusion reason {reason!r} is given twice.\nFix: merge them with {{"any": [...]}}.')
        out.append((reason, Condition.from_dict(cond, f"{where}: exclusion {reason!r}")))
    return tuple(out)
