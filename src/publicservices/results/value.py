"""Value for money: spend against outcome, the efficient frontier, the expected outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import polars as pl

from publicservices.display import Column, format_number, plural
from publicservices.errors import DataError
from publicservices.indicators import Indicator
from publicservices.keys import present_keys
from publicservices.results._base import (
    Result,
    _group_columns,
    _group_name,
    _groups,
    _indicator_map,
    _latest,
    _n_areas,
    _one,
    _one_group,
    _one_indicator_id,
    _pick_indicator,
    _unpack,
    _with_names,
)

__all__ = ["ValueResult", "spend_vs_outcome", "short_assessment"]

# The statistics say "achieves more than expected for its spend and need"; tables and legends
# need the short form.
_SHORT = ("more than expected", "less than expected", "higher than expected", "lower than expected", "as expected")


def short_assessment(column: str = "assessment") -> pl.Expr:
    """The assessment phrase cut to its category: ``more than expected``, ``as expected`` ...

    >>> import polars as pl
    >>> pl.DataFrame({"assessment": ["achieves more than expected for its spend and need", None]}).select(
    ...     short_assessment()).to_series().to_list()
    ['more than expected', None]
    """
    text = pl.col(column).cast(pl.String)
    expr = pl.lit(None, dtype=pl.String)
    for word in reversed(_SHORT):
        expr = pl.when(text.str.contains(word, literal=True)).then(pl.lit(word)).otherwise(expr)
    return expr.alias("value_category")


class ValueResult(Result):
    """What each area spends for what it achieves, and who is on the frontier.

    ``.frame`` is :func:`publicservices.stats.value.value_for_money` output for one indicator
    and period: spend per head, outcome, the outcome expected for the spend and need with the
    residual's interval, the ``assessment``, and the DEA ``efficiency`` / ``efficient`` /
    ``dea_peers``. Chart: ``frontier``.

    Each comparable set and breakdown (sex, age, category) has its own expected outcome and
    frontier; the group columns stay on every row and the chart shows one group.
    """

    kind = "value"
    title = "Value for money"
    default_chart = "frontier"

    def __init__(self, frame: pl.DataFrame, *, indicator: Indicator | None = None, **kwargs: Any) -> None:
        if "assessment" in frame.columns and "value_category" not in frame.columns:
            frame = frame.with_columns(short_assessment())
        super().__init__(frame, **kwargs)
        self.indicator = indicator or _pick_indicator(frame, self.indicators, None)

    def _title(self) -> str:
        name = f"Value for money: {self.indicator.title}" if self.indicator else self.title
        periods = self._frame.get_column("period").unique().to_list() if "period" in self._frame.columns else []
        return f"{name}, {periods[0]}" if len(periods) == 1 else name

    def sentences(self) -> list[str]:
        groups = _groups(self._frame)
        out: list[str] = []
        for group, rows in groups[:4]:
            found = self._group_sentences(rows)
            label = _group_name(group)
            if label and found:
                found[0] = f"{label}: {found[0]}"
            out.extend(found)
        if len(groups) > 4:
            out.append(f"… and {plural(len(groups) - 4, 'more group')}; see .frame.")
        return out

    def _group_sentences(self, f: pl.DataFrame) -> list[str]:
        unit = self.indicator.unit if self.indicator else ""
        out = []
        if "spend_per_head" in f.columns:
            s = f.get_column("spend_per_head").drop_nulls()
            if s.len():
                n = _n_areas(f.filter(pl.col("spend_per_head").is_not_null()))
                # a numeric column: polars types its min and max as any Python value
                low, high = cast(float, s.min()), cast(float, s.max())
                out.append(
                    f"Spend per head ranges from £{low:,.0f} to £{high:,.0f} across {plural(n, 'area')} "
                    f"(middle half £{s.quantile(0.25):,.0f} to £{s.quantile(0.75):,.0f})."
                )
        if "value_category" in f.columns:
            counts = dict(f.get_column("value_category").drop_nulls().value_counts().rows())
            up, down = (
                ("more than expected", "less than expected")
                if "more than expected" in counts or "less than expected" in counts
                else ("higher than expected", "lower than expected")
            )
            k_up, k_down = counts.get(up, 0), counts.get(down, 0)
            verb = "achieves" if k_up == 1 else "achieve"
            if up.startswith("higher"):
                verb = "is" if k_up == 1 else "are"
            out.append(
                f"Given their spend and need, {plural(k_up, 'area')} {verb} {up} and {k_down:,} {down.split(' ')[0]} "
                "(95% prediction interval)."
            )
        if "efficient" in f.columns:
            k = f.filter(pl.col("efficient").fill_null(False)).height
            out.append(
                f"{plural(k, 'area')} {'is' if k == 1 else 'are'} on the efficient frontier: no other area, or mix of areas, "
                "achieves as much for less spend per head."
            )
        if "efficiency" in f.columns:
            median = cast(float | None, f.get_column("efficiency").drop_nulls().median())  # a numeric column
            if median is not None:
                out.append(
                    f"The median area could achieve its outcome with {100 * median:.0f}% of its spend per head, "
                    "judged against the best performers (DEA)."
                )
        if not out and "value" in f.columns:
            out.append(
                f"{plural(_n_areas(f), 'area')} with spend and outcome; mean outcome "
                f"{format_number(f.get_column('value').mean(), unit=unit)}."
            )
        return out

    def _columns(self) -> Sequence[Column]:
        unit = self.indicator.unit if self.indicator else ""
        return [
            Column("area_name", "area"),
            Column("area_code", "code"),
            *_group_columns(self._frame),
            Column("spend_per_head", "spend per head (£)", kind="number"),
            Column("value", "outcome", kind="number", unit=unit),
            Column("expected", "expected", kind="number", unit=unit),
            Column("residual_lower", "difference (95%)", kind="interval", upper="residual_upper"),
            Column("value_category", "against expected", kind="category"),
            Column("efficiency", "efficiency (DEA)", kind="number"),
        ]

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        frame = _with_names(self._frame, self.areas)
        if "efficiency" in frame.columns:
            keys = [c.name for c in _group_columns(frame)]
            return frame.sort([*keys, "efficiency"], descending=[False] * len(keys) + [True], nulls_last=True), "efficiency"
        return frame, None

    def _chart_frontier(self, breakdown: Mapping[str, Any] | str | None = None, **options: Any) -> Any:
        """The frontier in the quantities the model used: need-adjusted outcomes when the
        frontier was fitted on them, so that no area plots beyond the frontier drawn."""
        from publicservices.charts import frontier_chart
        from publicservices.charts._common import value_label

        frame = _with_names(_one_group(self._frame, breakdown), self.areas)
        adjusted = (
            "value_need_adjusted" in frame.columns
            and "residual" in frame.columns
            and frame.get_column("value_need_adjusted").drop_nulls().len() > 0
        )
        if adjusted and "y" not in options:
            # the expected outcome at the group's average need: a curve in spend alone
            frame = frame.with_columns((pl.col("value_need_adjusted") - pl.col("residual")).alias("expected_need_adjusted"))
            line = (
                frame.filter(pl.col("expected_need_adjusted").is_not_null() & pl.col("spend_per_head").is_not_null())
                .select("spend_per_head", pl.col("expected_need_adjusted").alias("expected"))
                .sort("spend_per_head")
            )
            options = {
                "y": "value_need_adjusted",
                "expected": "expected_need_adjusted",
                "expected_line": line,
                "y_title": f"{value_label(self.indicator)}, adjusted for need",
                **options,
            }
        return frontier_chart(frame, indicator=self.indicator, **options)


def spend_vs_outcome(data: Any, indicator: str | Indicator, *, period: str | None = None, **options: Any) -> ValueResult:
    """Spend against outcome for one indicator: unit costs, expected outcome, DEA frontier.

    Method: :func:`publicservices.stats.value.value_for_money` (the outcome expected for the
    spend and need by weighted regression, with prediction intervals; the BCC efficient
    frontier of spend per head against outcome, Banker, Charnes & Cooper 1984).

    Each comparable set and breakdown (sex, age, category) is assessed on its own -- its own
    expected outcome and frontier -- and keeps its group columns; spend is per area, so it is
    the same in every group of an area.

    Parameters:
        data: a Dataset with spend, or a values frame with ``indicators=``, ``areas=``, ``spend=``.
        indicator: the indicator (its ``service`` names the spend).
        period: the period to show (default the latest with spend).
        options: passed on to ``value_for_money`` (``deflator=``, ``need=``, ``dea_model=`` ...).
    """
    from publicservices.stats.value import value_for_money

    _one_indicator_id(indicator, "spend_vs_outcome", also="for several at once, publicservices.value_for_money(data, [...])")
    values, dataset = _unpack(data)
    inds = _indicator_map(options.pop("indicators", None), dataset)
    ind = indicator if isinstance(indicator, Indicator) else inds.get(indicator)
    if ind is None:
        from publicservices.naming import unknown

        raise unknown("indicator", [indicator], inds, function="spend_vs_outcome")
    groups = present_keys(values)
    if groups:
        # one assessment per comparable set and breakdown: never pooled, never repeated
        areas = options.pop("areas", None)
        spend = options.pop("spend", None)
        areas = areas if areas is not None else getattr(dataset, "areas", None)
        spend = spend if spend is not None else getattr(dataset, "spend", None)
        rows = values.filter(pl.col("indicator_id") == ind.id) if "indicator_id" in values.columns else values
        if rows.height == 0:
            raise DataError(f"no values for indicator {ind.id!r}.\nFix: choose an indicator present in the data.")
        parts = []
        for part in rows.partition_by(groups, maintain_order=True):
            out = value_for_money(part.drop(groups), {ind.id: ind}, areas=areas, spend=spend, **options)
            parts.append(
                out.with_columns(pl.lit(part.get_column(k)[0], dtype=part.schema[k]).alias(k) for k in groups).select(
                    "indicator_id", "area_code", "period", *groups, pl.exclude("indicator_id", "area_code", "period", *groups)
                )
            )
        frame = pl.concat(parts, how="diagonal_relaxed")
    elif dataset is not None:
        frame = value_for_money(dataset, [ind.id], **options)
    else:
        frame = value_for_money(values, {ind.id: ind}, **options)
    if period is not None:
        frame = _one(frame, "period", period)
        if frame.height == 0:
            raise DataError(f"no value-for-money rows for period {period!r}.\nFix: choose a period with both values and spend.")
    else:
        assessed = frame.filter(pl.col("spend").is_not_null()) if "spend" in frame.columns else frame
        frame = _latest(assessed if assessed.height else frame)
    return ValueResult(frame, indicator=ind, dataset=dataset, indicators=inds)
