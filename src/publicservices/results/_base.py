"""The result base class and the plumbing every result shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from publicservices.display import Block, Column, join_words
from publicservices.errors import DataError, OptionError, SchemaError
from publicservices.indicators import Indicator
from publicservices.keys import (
    GROUP_KEYS,
    WHOLE_POPULATION,
    group_label,
    is_whole_population,
    present_keys,
    varying_keys,
)

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset

__all__ = ["Result", "IndicatorsLike"]

IndicatorsLike = Mapping[str, Indicator] | Iterable[Indicator] | None


# -- shared plumbing -------------------------------------------------------------------------


def _indicator_map(indicators: IndicatorsLike, dataset: Any = None) -> dict[str, Indicator]:
    out: dict[str, Indicator] = dict(getattr(dataset, "indicators", None) or {})
    if indicators is not None:
        items = indicators.values() if isinstance(indicators, Mapping) else indicators
        for ind in items:
            if not isinstance(ind, Indicator):
                raise SchemaError(
                    f"indicators must be Indicator objects, got {type(ind).__name__}.\n"
                    "Fix: pass a mapping id -> publicservices.Indicator, or a list of them."
                )
            out[ind.id] = ind
    return out


def _unpack(data: Any, *, benchmarks: bool = False) -> tuple[pl.DataFrame, Any]:
    """(values frame, dataset or None) from a Dataset or a values frame.

    A Dataset's values are laid out by comparable set (:mod:`publicservices.comparison`):
    counties never meet their districts, and national or regional rows are left out unless
    ``benchmarks`` (they are then kept, marked ``area_role == "benchmark"``, for a benchmark
    comparison to find).

    A plain values frame (one with an ``indicator_id`` column) is checked at the door as a
    Dataset's values are (:func:`publicservices.frame.validate_values`): wrong types, missing
    keys, NaN, implausible magnitudes and duplicated keys are named there, not met as a raw
    exception deep inside a statistic. A wide frame of measures (``grade_areas``) is checked by
    the statistic it is for.
    """
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        if "indicator_id" not in data.columns:
            return data, None
        from publicservices.frame import validate_values

        return validate_values(data), None
    if hasattr(data, "values") and isinstance(getattr(data, "values", None), pl.DataFrame):
        areas = getattr(data, "areas", None)
        if not isinstance(areas, pl.DataFrame) or "area_code" not in areas.columns:
            return data.values, data
        from publicservices.comparison import comparison_values, units_only

        laid = comparison_values(data.values, areas)[0]
        return (laid if benchmarks else units_only(laid).drop("area_role")), data
    raise SchemaError(
        f"expected a Dataset or a Polars values frame, got {type(data).__name__}.\n"
        "Fix: pass publicservices.demo() or another Dataset, or a pl.DataFrame with indicators=."
    )


def _with_names(frame: pl.DataFrame, areas: pl.DataFrame | None) -> pl.DataFrame:
    if areas is None or "area_code" not in frame.columns or "area_name" in frame.columns or "area_name" not in areas.columns:
        return frame
    return frame.join(
        areas.select("area_code", "area_name").unique("area_code", keep="first"),
        on="area_code",
        how="left",
        maintain_order="left",
    )


def _with_titles(frame: pl.DataFrame, indicators: Mapping[str, Indicator]) -> pl.DataFrame:
    """Add ``indicator``: each row's indicator title (the id when there is no definition)."""
    if "indicator_id" not in frame.columns or "indicator" in frame.columns:
        return frame
    titles = {i: d.title for i, d in indicators.items()}
    return frame.with_columns(
        pl.col("indicator_id").replace_strict(titles, default=pl.col("indicator_id"), return_dtype=pl.String).alias("indicator")
    )


def _latest(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of each indicator's (and group's) latest period (all rows when there is no period)."""
    if "period" not in frame.columns:
        return frame
    order = "period_start" if "period_start" in frame.columns else "period"
    by = (["indicator_id"] if "indicator_id" in frame.columns else []) + present_keys(frame)
    latest = pl.col(order).max().over(by) if by else pl.col(order).max()
    return frame.filter(pl.col(order) == latest)


def _one_indicator_id(indicator: Any, function: str, also: str = "") -> str | None:
    """The id of ``indicator`` -- an Indicator or its id (None: not chosen). Anything else, such as a
    list of several, is an OptionError that says to pass one (``also`` adds to the fix).

    >>> _one_indicator_id("health.a", "f"), _one_indicator_id(None, "f")
    ('health.a', None)
    """
    if indicator is None or isinstance(indicator, str):
        return indicator
    if isinstance(indicator, Indicator):
        return indicator.id
    raise OptionError(
        f"{function} takes one indicator; indicator={indicator!r} is a {type(indicator).__name__}.\n"
        f"Fix: pass one indicator id, e.g. indicator='health.ae_4hr', or an Indicator{'; ' + also if also else ''}."
    )


def _pick_indicator(
    frame: pl.DataFrame, indicators: Mapping[str, Indicator], indicator: str | Indicator | None, function: str = "this result"
) -> Indicator | None:
    if isinstance(indicator, Indicator):
        return indicator
    indicator = _one_indicator_id(indicator, function)
    ids = (
        frame.get_column("indicator_id").drop_nulls().unique(maintain_order=True).cast(pl.String).to_list()
        if "indicator_id" in frame.columns
        else []
    )
    if indicator is None:
        if len(ids) > 1:
            raise DataError(
                f"this result holds {len(ids)} indicators ({join_words(ids[:4])}{' ...' if len(ids) > 4 else ''}); "
                "a chart shows one.\nFix: pass indicator='<id>' to .chart()."
            )
        indicator = ids[0] if ids else None
    if indicator is None:
        return None
    if "indicator_id" in frame.columns and indicator not in ids:
        if not ids:  # an empty frame: every statistic after this would have nothing to work on
            raise DataError(
                f"indicator {indicator!r} has no rows: the data is empty.\n"
                "Fix: check the filters (period=, breakdown=) and that the data holds this indicator."
            )
        from publicservices.naming import unknown

        raise unknown("indicator", [indicator], ids, function=function)
    return indicators.get(indicator) or None


def _one(frame: pl.DataFrame, column: str, value: Any, function: str = "this result") -> pl.DataFrame:
    """The rows whose ``column`` is ``value``; a value the frame does not hold is an error that
    names the close matches and the values there are (never an empty frame met later)."""
    if value is None or column not in frame.columns:
        return frame
    rows = frame.filter(pl.col(column) == value)
    if rows.height == 0 and frame.height:
        from publicservices.naming import unknown

        what = {"indicator_id": "indicator", "area_code": "area"}.get(column, column)
        raise unknown(what, [value], frame.get_column(column).drop_nulls().cast(pl.String).unique().to_list(), function=function)
    return rows


# -- groups: comparable set x breakdowns ------------------------------------------------------
#
# A values frame may hold several groups of the same indicator and period: one per comparable
# set of areas and per breakdown (sex, age, category). Results keep every group, count areas
# per group, and a chart shows one group: the one named with ``breakdown=``, else the whole
# population (Persons, All ages) when there is one, else a DataError asking for ``breakdown=``.


def _groups(frame: pl.DataFrame) -> list[tuple[dict[str, Any], pl.DataFrame]]:
    """The frame split by the group keys that vary in it: ``[({}, frame)]`` when none vary."""
    keys = varying_keys(frame)
    if not keys:
        return [({}, frame)]
    parts = [({k: part.get_column(k)[0] for k in keys}, part) for part in frame.partition_by(keys, maintain_order=True)]
    # the whole population (Persons, All ages) first, comparable sets in their preference order
    # (upper tier before lower tier), then the groups in the frame's order
    from publicservices.geography import COMPARABLE_SETS

    order: dict[str | None, int] = {s: i for i, s in enumerate(COMPARABLE_SETS)}
    return sorted(
        parts,
        key=lambda gp: (
            not all(_is_whole(k, v) for k, v in gp[0].items() if k != "comparable_set"),
            order.get(gp[0].get("comparable_set"), len(order)),
        ),
    )


def _is_whole(column: str, value: Any) -> bool:
    return value is None or str(value).strip().lower() in WHOLE_POPULATION


def _group_name(group: Mapping[str, Any]) -> str:
    return group_label(group, [k for k in GROUP_KEYS if k in group]) if group else ""


def _n_areas(frame: pl.DataFrame) -> int:
    """Areas (not rows) in a frame of one group."""
    return frame.get_column("area_code").drop_nulls().n_unique() if "area_code" in frame.columns else frame.height


def _group_columns(frame: pl.DataFrame) -> list[Column]:
    """Table columns for the group keys that vary (a constant key needs no column)."""
    keys = varying_keys(frame)
    if "category_type" in keys and "category" in present_keys(frame) and "category" not in keys:
        keys.append("category")
    return [Column(k, k.replace("_", " ")) for k in keys]


def _breakdown_filter(frame: pl.DataFrame, breakdown: Mapping[str, Any] | str) -> pl.DataFrame:
    if isinstance(breakdown, str):
        holders = [k for k in present_keys(frame) if breakdown in frame.get_column(k).cast(pl.String).to_list()]
        if len(holders) != 1:
            raise DataError(
                f"breakdown={breakdown!r} {'matches no group' if not holders else 'is ambiguous (' + ', '.join(holders) + ')'} "
                "in this result.\nFix: pass a mapping, e.g. breakdown={'sex': 'Female'}; groups present: "
                f"{_list_groups(frame)}."
            )
        breakdown = {holders[0]: breakdown}
    unknown = [k for k in breakdown if k not in frame.columns]
    if unknown:
        raise SchemaError(
            f"breakdown: column(s) {', '.join(map(repr, unknown))} not in this result.\n"
            f"Fix: use the group columns present: {', '.join(present_keys(frame)) or '(none)'}."
        )
    rows = frame
    for k, v in breakdown.items():
        rows = rows.filter(pl.col(k).is_null() if v is None else pl.col(k).cast(pl.String) == str(v))
    if rows.height == 0:
        raise DataError(
            f"breakdown={dict(breakdown)!r} matches no rows.\nFix: choose one of the groups present: {_list_groups(frame)}."
        )
    return rows


def _list_groups(frame: pl.DataFrame, limit: int = 6) -> str:
    groups = [_group_name(g) for g, _ in _groups(frame)]
    return "; ".join(groups[:limit]) + (" ..." if len(groups) > limit else "")


def _one_group(frame: pl.DataFrame, breakdown: Mapping[str, Any] | str | None = None) -> pl.DataFrame:
    """The rows of one group (per indicator), for a chart that shows one set of areas.

    ``breakdown`` names the group (``{"sex": "Female"}``, or a value such as ``"Female"``
    found in one group column). Without it a breakdown that varies keeps its whole-population
    rows (Persons, All ages, no category) when it has them; a comparable set is never chosen
    for you. The chart's title names the group shown (the group columns stay on the rows).
    """
    rows = _breakdown_filter(frame, breakdown) if breakdown is not None else frame
    by = ["indicator_id"] if "indicator_id" in rows.columns else []

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(by) if by else e

    for k in present_keys(rows):
        if k == "comparable_set":
            continue
        whole = is_whole_population(k)
        rows = rows.filter((over(pl.col(k).n_unique()) == 1) | ~over(whole.any()) | whole)
    keys = present_keys(rows)
    if by and keys:
        spread = rows.group_by(by).agg(pl.col(k).n_unique() for k in keys)
        still = [k for k in keys if (spread.get_column(k) > 1).any()]
    else:
        still = varying_keys(rows)
    if still:
        example = {k: rows.get_column(k).drop_nulls().cast(pl.String).first() for k in still}
        raise DataError(
            f"this result holds {len(_groups(rows))} groups of areas ({_list_groups(rows)}); a chart shows one, "
            f"and {join_words(still)} {'has' if len(still) == 1 else 'have'} no whole-population group to show by default.\n"
            f"Fix: pass breakdown={example!r} to .chart(), or filter the frame to one group first."
        )
    return rows


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if column not in frame.columns:
        return {}
    counts = frame.get_column(column).cast(pl.String).drop_nulls().value_counts()
    return dict(counts.rows())


class Result:
    """Base class: a frame, where it came from, and how to show it.

    Parameters:
        frame: the result frame.
        dataset: the Dataset it was computed from (for names, areas and indicator metadata).
        indicators: indicator definitions (a mapping by id or a list), added to the dataset's.
        areas: an areas frame (names, tile positions), if there is no dataset.
    """

    kind: ClassVar[str] = "result"
    title: ClassVar[str] = "Result"
    columns: ClassVar[Sequence[Column]] = ()
    default_chart: ClassVar[str] = ""
    max_rows: ClassVar[int] = 10

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        dataset: Dataset | None = None,
        indicators: IndicatorsLike = None,
        areas: pl.DataFrame | None = None,
        **extra: Any,
    ) -> None:
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        if not isinstance(frame, pl.DataFrame):
            raise SchemaError(
                f"{type(self).__name__} needs a Polars DataFrame, got {type(frame).__name__}.\n"
                "Fix: pass the frame a publicservices.stats function returned."
            )
        self.dataset = dataset
        self.indicators: dict[str, Indicator] = _indicator_map(indicators, dataset)
        if areas is not None:  # an areas frame given on its own is checked at the door, as a Dataset's is
            from publicservices.frame import validate_areas

            areas = validate_areas(areas)
        self.areas: pl.DataFrame | None = areas if areas is not None else getattr(dataset, "areas", None)
        self._frame = frame
        self.extra: dict[str, Any] = dict(extra)

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        dataset: Dataset | None = None,
        *,
        indicators: IndicatorsLike = None,
        areas: pl.DataFrame | None = None,
        **extra: Any,
    ) -> Result:
        """Wrap a frame you already have (from ``publicservices.stats``) as this result."""
        return cls(frame, dataset=dataset, indicators=indicators, areas=areas, **extra)

    @property
    def frame(self) -> pl.DataFrame:
        """The result as a plain Polars DataFrame."""
        return self._frame

    def __len__(self) -> int:
        return self._frame.height

    # -- words ---------------------------------------------------------------------------

    def sentences(self) -> list[str]:
        """The headline findings, one plain-language sentence each."""
        return []

    def summary(self) -> str:
        """The headline findings as plain text, one sentence per line."""
        return "\n".join(self.sentences())

    # -- charts --------------------------------------------------------------------------

    def chart_kinds(self) -> tuple[str, ...]:
        """The chart kinds ``.chart(kind)`` can draw for this result."""
        return tuple(name.removeprefix("_chart_") for name in dir(self) if name.startswith("_chart_"))

    def chart(self, kind: str | None = None, **options: Any) -> Any:
        """An Altair chart of this result; ``kind`` is one of :meth:`chart_kinds`."""
        kind = kind or self.default_chart
        method = getattr(self, f"_chart_{kind}", None)
        if method is None:
            raise SchemaError(f"{type(self).__name__} has no chart {kind!r}.\nFix: use one of {', '.join(self.chart_kinds())}.")
        return method(**options)

    # -- display -------------------------------------------------------------------------

    def _title(self) -> str:
        return self.title

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        return _with_names(self._frame, self.areas), None

    def _columns(self) -> Sequence[Column]:
        return self.columns

    def _badge(self) -> str | None:
        if self.dataset is not None and getattr(self.dataset, "synthetic", False):
            return "synthetic data"
        return None

    def _footer(self) -> str:
        kinds = self.chart_kinds()
        hint = f"The full table is .frame; .chart() draws {_CHART_NAMES.get(self.default_chart, 'a chart')}"
        others = [f'"{k}"' for k in kinds if k != self.default_chart]
        if others:
            hint += f"; .chart(kind) also draws {join_words(others).replace(' and ', ' or ')}"
        return hint + "."

    def _block(self) -> Block:
        frame, sorted_by = self._display_frame()
        return Block(
            title=self._title(),
            sentences=self.sentences(),
            frame=frame,
            columns=self._columns(),
            max_rows=self.max_rows,
            badge=self._badge(),
            sorted_by=sorted_by,
            footer=self._footer(),
        )

    def _repr_html_(self) -> str:
        return self._block().html()

    def __repr__(self) -> str:
        return self._block().text()


_CHART_NAMES = {
    "funnel": "a funnel plot",
    "league": "a league table with rank intervals",
    "grades": "the report card grades",
    "frontier": "spend against outcome with the efficient frontier",
    "lottery": "the true variation of each indicator",
}


def _unit_of(indicators: Mapping[str, Indicator], frame: pl.DataFrame) -> str:
    """The common unit when the frame holds one indicator, else none (units differ)."""
    if "indicator_id" not in frame.columns:
        return ""
    ids = frame.get_column("indicator_id").unique().to_list()
    if len(ids) == 1 and ids[0] in indicators:
        return indicators[ids[0]].unit
    return ""


def _title_of(indicators: Mapping[str, Indicator], indicator_id: str) -> str:
    ind = indicators.get(indicator_id)
    return ind.title if ind is not None else indicator_id


def _first_area(frame: pl.DataFrame) -> str:
    codes = frame.get_column("area_code").drop_nulls() if "area_code" in frame.columns else pl.Series([])
    if not codes.len():
        raise DataError("this result has no areas.\nFix: compute it on data with area_code values.")
    return str(codes[0])
