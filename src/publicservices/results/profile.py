"""How is my area doing? One area's comparisons, trends, inequalities, similar areas and spend, in one call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from publicservices.display import Column, format_number, join_words, plural
from publicservices.keys import GROUP_KEYS
from publicservices.results._base import Result, _unpack
from publicservices.results.outcomes import OutcomeResult, compare

__all__ = ["AreaProfileResult", "area_profile"]


def _listed(names: list[str]) -> str:
    """Up to eight titles named; beyond that, six and a count (a sentence stays readable)."""
    return join_words(names if len(names) <= 8 else [*names[:6], f"{len(names) - 6} more"])


_JUDGED = ("better", "worse", "higher", "lower", "similar", "no interval", "not compared", "missing")
_TRENDS = ("better", "worse", "rising", "falling", "steady", "unknown")


def _judgement(row: Mapping[str, Any]) -> str:
    """What a row says against the benchmark: its ``comparison_95`` word, or why there is none."""
    value, word = row.get("value"), row.get("comparison_95")
    if row.get("suppressed") is not None or value is None or value != value:  # hidden, absent or NaN
        return "missing"
    if word is not None and str(word) != "not compared":
        return str(word)
    return "no interval" if row.get("lower_95") is None else "not compared"


def _trend(row: Mapping[str, Any]) -> str | None:
    """What a row's ``recent_trend`` says, in one word (None: a trend of some other kind)."""
    trend = row.get("recent_trend")
    text = "" if trend is None else str(trend).lower()
    if "getting better" in text:
        return "better"
    if "getting worse" in text:
        return "worse"
    if text in ("increasing", "decreasing"):
        return "rising" if text == "increasing" else "falling"
    if "no significant change" in text:
        return "steady"
    return "unknown" if trend is None or "cannot be calculated" in text else None


def _titles_by(
    rows: Iterable[Mapping[str, Any]],
    word: Callable[[Mapping[str, Any]], str | None],
    keys: Sequence[str],
    indicators: Mapping[str, Any],
) -> dict[str, list[str]]:
    """The indicators' titles under each of ``keys``, by the word ``word`` gives each row (in row order)."""
    out: dict[str, list[str]] = {k: [] for k in keys}
    for row in rows:
        key, ind = word(row), row["indicator_id"]
        if key in out:
            out[key].append(indicators[ind].title if ind in indicators else ind)
    return out


def strengths_and_concerns(
    name: str, rows: Iterable[Mapping[str, Any]], indicators: Mapping[str, Any], benchmark: str = "the benchmark"
) -> list[str]:
    """An area's strengths and concerns in plain words, from its rows' comparisons at 95%.

    ``rows``: the area's rows (``indicator_id``, ``value``, ``lower_95``, ``comparison_95``,
    ``suppressed``), one per indicator. Indicators are named by their titles. Those that
    cannot be judged -- a value with no interval, or not compared -- are said to be so, never
    counted as similar; for indicators with no direction, higher and lower are neither
    strength nor concern. The notebook's area profile and the published site's area pages
    both say it with this function.

    Example:
        >>> strengths_and_concerns("Eskelham", [{"indicator_id": "a", "value": 1.0, "comparison_95": "better"}], {})
        ['Compared with the benchmark, Eskelham does better on 1 of the 1 indicator that can be judged: a.', 'It does not do worse, by more than chance, on any of them.']
    """
    groups = _titles_by(rows, _judgement, _JUDGED, indicators)
    titles = _listed
    better, worse, higher, lower, similar = (groups[k] for k in ("better", "worse", "higher", "lower", "similar"))
    judged = len(better) + len(worse) + len(higher) + len(lower) + len(similar)
    if not any(groups.values()):  # no row at all: an area whose figures have stopped, or a file without it
        return [f"There are no figures for {name} in the latest period of any indicator, so it cannot be compared."]
    out = []
    if judged == 0:
        out.append(
            f"We cannot say whether {name} does better or worse than {benchmark} on any indicator: "
            "none of its figures can be judged against it allowing for chance."
        )
    else:
        of = f"{judged:,} indicators" if judged > 1 else "1 indicator"
        if better:
            out.append(
                f"Compared with {benchmark}, {name} does better on {len(better):,} of the {of} that can be judged: {titles(better)}."
            )
        else:
            out.append(
                f"Compared with {benchmark}, {name} does not do better, by more than chance, on any of the {of} that can be judged."
            )
        out.append(
            f"It does worse on {len(worse):,}: {titles(worse)}."
            if worse
            else "It does not do worse, by more than chance, on any of them."
        )
        if higher or lower:
            parts = [
                f"higher on {len(higher):,} ({titles(higher)})" if higher else "",
                f"lower on {len(lower):,} ({titles(lower)})" if lower else "",
            ]
            out.append(f"It is {' and '.join(p for p in parts if p)}, where neither higher nor lower is better.")
        if similar:
            out.append(
                f"For the other {len(similar):,}, the difference could be chance."
                if len(similar) > 1
                else "For the other one, the difference could be chance."
            )
    if groups["no interval"]:
        k = len(groups["no interval"])
        out.append(
            f"For {plural(k, 'indicator')} ({titles(groups['no interval'])}) we cannot say: the figures have no confidence intervals, so chance cannot be ruled out."
        )
    if groups["not compared"]:
        n = len(groups["not compared"])
        out.append(f"{plural(n, 'indicator')} {'is' if n == 1 else 'are'} not compared with {benchmark}.")
    if groups["missing"]:
        k = len(groups["missing"])
        out.append(f"{plural(k, 'indicator')} {'has' if k == 1 else 'have'} no published value for {name}.")
    return out


def changes(rows: Iterable[Mapping[str, Any]], indicators: Mapping[str, Any]) -> list[str]:
    """What is improving and what is getting worse, in plain words, from each row's ``recent_trend``.

    A trend counts only when the chi-square test for trend over the latest five periods finds a
    change larger than chance (Fingertips' method, :func:`publicservices.stats.recent_trend`).
    For indicators with no direction a change is "rising" or "falling", never better or worse;
    indicators whose trend cannot be calculated (too few periods, no counts) are said to be so.

    Example:
        >>> changes([{"indicator_id": "a", "recent_trend": "Increasing and getting better"}], {})
        ['Over the latest five periods, it is getting better on 1 indicator: a.']
    """
    names = _titles_by(rows, _trend, _TRENDS, indicators)
    out = []
    for word in ("better", "worse"):
        if names[word]:
            out.append(f"It is getting {word} on {plural(len(names[word]), 'indicator')}: {_listed(names[word])}.")
    moving = [f"{w} on {_listed(names[w])}" for w in ("rising", "falling") if names[w]]
    if moving:
        out.append(f"It is {', and '.join(moving)}, where neither higher nor lower is better.")
    if out:
        out[0] = "Over the latest five periods, i" + out[0][1:]
        if names["steady"]:
            out.append("Other changes are small enough to be chance.")
    elif names["steady"]:
        out.append("Over the latest five periods, none of its figures has changed by more than chance.")
    if names["unknown"]:
        k = len(names["unknown"])
        some = f"For {plural(k, 'indicator')} the trend" if out else "Its trends"
        out.append(f"{some} cannot be judged: there are too few periods or no counts.")
    return out


class AreaProfileResult(Result):
    """One area against the benchmark on every indicator, with its trends, the gaps between
    its groups, its most similar areas and what it achieves for its spend.

    Frame: one row per indicator (latest period) for the area: ``value`` with its 95%
    interval, ``benchmark_value``, ``comparison_95``, ``recent_trend``, ``peer_mean`` (the mean
    of its similar areas) and, where spend is given, ``assessment`` (against the outcome
    expected for its spend and need). Charts: ``spine`` (default) and ``page`` (the spine and
    the trend of its first concern).
    """

    kind = "profile"
    title = "Area profile"
    default_chart = "spine"

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        outcomes: OutcomeResult | None,
        area: str,
        neighbours: list[str],
        gaps: pl.DataFrame | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(frame, **kwargs)
        self.outcomes, self.area, self.neighbours = outcomes, area, neighbours
        self.gaps = gaps if gaps is not None else pl.DataFrame()

    def _name(self, code: str) -> str:
        if self.areas is not None and "area_name" in self.areas.columns:
            found = self.areas.filter(pl.col("area_code") == code).get_column("area_name")
            if found.len() and found[0]:
                return str(found[0])
        return code

    def _title(self) -> str:
        return f"{self.title}: {self._name(self.area)}"

    def _titles(self, rows: pl.DataFrame) -> list[str]:
        return [self.indicators[i].title if i in self.indicators else i for i in rows.get_column("indicator_id").to_list()]

    def sentences(self) -> list[str]:
        f = self._frame
        name = self._name(self.area)
        periods = sorted(set(f.get_column("period").to_list()))
        out = [
            f"{name} ({self.area}): {plural(f.get_column('indicator_id').n_unique(), 'indicator')}, "
            f"in {'their latest periods, ' if len(periods) > 1 else ''}{join_words(periods[-3:])}."
        ]
        out.extend(self.strengths_and_concerns())
        out.extend(self.changes())
        if self.gaps.height:
            g = self.gaps.row(0, named=True)
            title = self.indicators[g["indicator_id"]].title if g["indicator_id"] in self.indicators else g["indicator_id"]
            unit = self.indicators[g["indicator_id"]].unit if g["indicator_id"] in self.indicators else ""
            out.append(
                f"Its widest gap between groups: {title} by {g['breakdown']}, from "
                f"{format_number(g['low'], unit=unit)} ({g['low_group']}) to {format_number(g['high'], unit=unit)} "
                f"({g['high_group']})."
            )
        if self.neighbours:
            out.append(f"The areas most like it: {join_words([self._name(c) for c in self.neighbours])}.")
        if "assessment" in f.columns and f.get_column("assessment").drop_nulls().len():
            short = f.with_columns(
                pl.col("assessment").cast(pl.String).str.extract(r"(more|less|higher|lower|as) (?:than )?expected").alias("_a")
            )
            more = short.filter(pl.col("_a").is_in(["more", "higher"]))
            less = short.filter(pl.col("_a").is_in(["less", "lower"]))
            text = "For its spend and need it achieves "
            parts = []
            if more.height:
                parts.append(f"more than expected on {join_words(self._titles(more))}")
            if less.height:
                parts.append(f"less than expected on {join_words(self._titles(less))}")
            out.append(text + (" and ".join(parts) if parts else "what would be expected on every indicator with spend") + ".")
        return out

    def strengths_and_concerns(self, benchmark: str = "the benchmark") -> list[str]:
        """The area's strengths and concerns in plain words, from its comparisons at 95%
        (:func:`strengths_and_concerns`)."""
        return strengths_and_concerns(self._name(self.area), self._frame.iter_rows(named=True), self.indicators, benchmark)

    def changes(self) -> list[str]:
        """What is improving and what is getting worse, in plain words (:func:`changes`)."""
        return changes(self._frame.iter_rows(named=True), self.indicators) if "recent_trend" in self._frame.columns else []

    def _columns(self) -> Sequence[Column]:
        cols = [
            Column("indicator", "indicator"),
            Column("period", "period"),
            Column("value", "value", kind="number"),
            Column("lower_95", "95% interval", kind="interval", upper="upper_95"),
            Column("benchmark_value", "benchmark", kind="number"),
            Column("comparison_95", "compared with benchmark", kind="category"),
        ]
        if "peer_mean" in self._frame.columns:
            cols.append(Column("peer_mean", "similar areas (mean)", kind="number"))
        if "recent_trend" in self._frame.columns:
            cols.append(Column("recent_trend", "recent trend", kind="category"))
        return cols

    def _display_frame(self) -> tuple[pl.DataFrame, str | None]:
        titles = {i: d.title for i, d in self.indicators.items()}
        return self._frame.with_columns(
            pl.col("indicator_id")
            .replace_strict(titles, default=pl.col("indicator_id"), return_dtype=pl.String)
            .alias("indicator")
        ), None

    def _compared(self) -> OutcomeResult:
        if self.outcomes is None:  # a profile made from published tables (the site's) has no charts
            from publicservices.errors import OptionError

            raise OptionError(
                "this area profile was made from published tables, without the comparison of every area, so it draws no chart.\n"
                "Fix: make it with publicservices.area_profile(data, area)."
            )
        return self.outcomes

    def _chart_spine(self, **options: Any) -> Any:
        return self._compared().chart("spine", area=self.area, **options)

    def _chart_page(self, **options: Any) -> Any:
        """The spine chart above the trend of the area's first concern (or first indicator)."""
        from publicservices.charts._common import vega

        alt = vega()
        cmp = pl.col("comparison_95").cast(pl.String)
        concerns = self._frame.filter(cmp == "worse").get_column("indicator_id")
        first = concerns[0] if concerns.len() else self._frame.get_column("indicator_id")[0]
        parts = [self._chart_spine(**options), self._compared().chart("trend", area=self.area, indicator=first)]
        descriptions = [p.description for p in parts]
        for part in parts:  # Vega-Lite keeps descriptions and metadata at the top of a page only
            part.usermeta = alt.Undefined
        return alt.vconcat(*parts).properties(
            description=" ".join(descriptions),
            usermeta={"publicservices": {"kind": "profile", "description": " ".join(descriptions)}},
        )


def area_profile(data: Any, area: str, *, k: int = 5, **options: Any) -> AreaProfileResult:
    """How is ``area`` doing? Every indicator against the benchmark, trends, gaps, similar areas and spend.

    Method: :func:`publicservices.compare` for every indicator (each area against the
    benchmark at 95% and 99.8%, the recent trend); the similar areas are its ``k`` nearest
    neighbours on the areas' characteristics (:func:`publicservices.stats.nearest_neighbours`),
    and ``peer_mean`` is their mean value; the widest gap is the largest range between groups
    of one breakdown (sex, age, deprivation decile) in the area's latest values; where the data
    give spend, each indicator's assessment against the outcome expected for the spend and need
    (:func:`publicservices.stats.value_for_money`).

    Parameters:
        data: a Dataset (``ps.demo()``, or one read from published files).
        area: the area's code, or its name as the data spell it.
        k: how many similar areas.
        options: passed on to :func:`publicservices.compare` (``benchmark=`` ...).

    Example:
        >>> import publicservices as ps                                      # doctest: +SKIP
        >>> ps.area_profile(ps.demo(), "Eskelham")                            # doctest: +SKIP
    """
    from publicservices.errors import PublicServicesError
    from publicservices.naming import area_codes

    values, dataset = _unpack(data, benchmarks=True)
    areas = getattr(dataset, "areas", None)
    code = area_codes(area, areas if areas is not None else values.select("area_code").unique(), function="area_profile")[0]
    outcomes = compare(data, **options)
    mine = outcomes.frame.filter(pl.col("area_code") == code)
    if mine.height == 0:
        from publicservices.errors import DataError

        raise DataError(
            f"area_profile: {area!r} has no compared values (it is a benchmark, or has no data).\n"
            "Fix: choose an area that is compared, such as one in the areas list of the data."
        )
    whole = [c for c in GROUP_KEYS if c in mine.columns and c != "comparable_set"]
    if whole:  # the area's own row per indicator is its whole population; breakdowns feed the gaps
        from publicservices.keys import is_whole_population

        mine = mine.filter(pl.all_horizontal(is_whole_population(c) for c in whole))
    neighbours: list[str] = []
    if areas is not None and areas.height > k + 1:
        from publicservices.stats import nearest_neighbours

        try:
            units = areas.filter(pl.col("area_code").is_in(outcomes.frame.get_column("area_code").unique().implode()))
            found = nearest_neighbours(units, k=k)
            neighbours = found.filter(pl.col("area_code") == code).sort("rank").get_column("neighbour_code").to_list()
        except PublicServicesError:
            neighbours = []
    if neighbours:
        peer = (
            outcomes.frame.filter(pl.col("area_code").is_in(neighbours))
            .group_by("indicator_id")
            .agg(pl.col("value").mean().alias("peer_mean"))
        )
        mine = mine.join(peer, on="indicator_id", how="left")
    spend = getattr(dataset, "spend", None)
    if spend is not None and spend.height:
        from publicservices.stats import value_for_money

        try:
            vfm = value_for_money(dataset).filter(pl.col("area_code") == code)
            mine = mine.join(vfm.select("indicator_id", "period", "assessment"), on=["indicator_id", "period"], how="left")
        except PublicServicesError:
            pass
    gaps = _gaps(values, code)
    return AreaProfileResult(
        mine.sort("indicator_id"),
        outcomes=outcomes,
        area=code,
        neighbours=neighbours,
        gaps=gaps,
        dataset=dataset,
        indicators=outcomes.indicators,
        areas=areas,
    )


def _gaps(values: pl.DataFrame, code: str) -> pl.DataFrame:
    """Per breakdown of the area's latest values: the lowest and highest group, widest (relative) first."""
    kinds = [c for c in ("sex", "age", "category") if c in values.columns]
    parts = []
    rows = values.filter(pl.col("area_code") == code, pl.col("value").is_not_null())
    if rows.height == 0:
        return pl.DataFrame()
    latest = (
        rows.group_by("indicator_id").agg(pl.col("period_start").max().alias("_p")) if "period_start" in rows.columns else None
    )
    if latest is not None:
        rows = rows.join(latest, on="indicator_id").filter(pl.col("period_start") == pl.col("_p")).drop("_p")
    for kind in kinds:
        label = pl.col("category_type") if kind == "category" and "category_type" in rows.columns else pl.lit(kind)
        groups = rows.filter(pl.col(kind).is_not_null() & (pl.col(kind).cast(pl.String) != ""))
        spread = (
            groups.with_columns(label.cast(pl.String).alias("breakdown"))
            .group_by("indicator_id", "breakdown")
            .agg(
                pl.len().alias("n"),
                pl.col("value").min().alias("low"),
                pl.col("value").max().alias("high"),
                pl.col(kind).cast(pl.String).sort_by("value").first().alias("low_group"),
                pl.col(kind).cast(pl.String).sort_by("value").last().alias("high_group"),
            )
            .filter(pl.col("n") > 1)
        )
        parts.append(spread)
    if not parts:
        return pl.DataFrame()
    out = pl.concat(parts, how="vertical_relaxed")
    return out.with_columns(((pl.col("high") - pl.col("low")) / pl.col("high").abs()).alias("relative_gap")).sort(
        "relative_gap", descending=True, nulls_last=True
    )
