"""The statistics behind the site's optional sections: value for money per service, report-card
grades per sector, and the benchmark area's inequalities. Each is computed once, in the model."""

from __future__ import annotations

import re
import warnings
from typing import Any

import polars as pl

from publicservices.dataset import Dataset
from publicservices.errors import PublicServicesError
from publicservices.frame import BREAKDOWN_COLUMNS
from publicservices.indicators import Indicator


def attempt(notes: list[str], what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one statistic; a PublicServicesError becomes a note, the page simply goes without it."""
    try:
        return func(*args, **kwargs)
    except PublicServicesError as exc:
        notes.append(f"{what}: not shown ({str(exc).splitlines()[0]})")
        return None


def count(n: int, word: str) -> str:
    """``1 area``, ``2 areas``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


#: Bootstrap replicates behind the range of the savings on a site: enough for the standard
#: error a normal interval needs (see publicservices.stats.value.frontier_savings).
SAVINGS_REPLICATES = 50
#: Above this many areas the site gives the savings without a range: each redraw solves the
#: frontier again for every area, and fifty of them would dominate the build. The page says so,
#: and ``ps.frontier_savings`` computes the range.
SAVINGS_RANGE_MAX_AREAS = 1000


def service_value(public: Dataset, service: str, ids: list[str], value: pl.DataFrame, notes: list[str]) -> dict[str, Any] | None:
    """A service's frontier on all its indicators at once, and the spend its peers would save.

    The period is the one most of the service's indicators share with the spend (the latest
    of those); indicators that cover fewer than four in five of the areas scored are left out
    and named in a note, because the frontier needs every outcome of every area it compares.
    """
    from publicservices.stats.value import frontier_with_savings

    scored = value.filter(pl.col("indicator_id").is_in(ids), pl.col("efficiency").is_not_null())
    if scored.height == 0:
        return None
    order = ["k", "period_start", "period"] if "period_start" in scored.columns else ["k", "period"]
    by_period = scored.group_by("period").agg(
        pl.col("indicator_id").n_unique().alias("k"),
        *([pl.col("period_start").max()] if "period_start" in scored.columns else []),
    )
    period = by_period.sort(order).get_column("period")[-1]
    cover = (
        scored.filter(pl.col("period") == period)
        .group_by("indicator_id")
        .agg(pl.col("area_code").n_unique().alias("n"))
        .sort("indicator_id")
    )
    most = cover.get_column("n").max()
    kept = cover.filter(pl.col("n") >= 0.8 * most).get_column("indicator_id").to_list()  # type: ignore[operator]
    left = [i for i in ids if i not in kept]
    if left:
        notes.append(
            f"{service}: value for money in {period} on {len(kept)} of the {len(ids)} indicators with spend; "
            f"left out, for want of values in that period for most areas: {', '.join(left)}."
        )
    n_areas = scored.filter(pl.col("period") == period).get_column("area_code").n_unique()
    replicates = SAVINGS_REPLICATES if n_areas <= SAVINGS_RANGE_MAX_AREAS else 0
    frontier, savings = frontier_with_savings(public, service, indicators=kept, periods=period, replicates=replicates)
    if savings.height == 0:
        return None
    peers = frontier.peers.group_by("area_code", maintain_order=True).agg(pl.col("peer"), pl.col("weight"))
    target = frontier.targets.filter(pl.col("variable") == "spend_per_head").select(
        "area_code", pl.col("target").alias("target_spend_per_head")
    )
    scores = (
        frontier.scores.join(peers, on="area_code", how="left")
        .join(target, on="area_code", how="left")
        .join(
            value.filter(pl.col("period") == period, pl.col("indicator_id").is_in(kept))
            .group_by("area_code")
            .agg(pl.col("spend_per_head").drop_nulls().first(), pl.col("spend_real").drop_nulls().first()),
            on="area_code",
            how="left",
        )
    )
    return {
        "period": period,
        "indicators": kept,
        "scores": scores,
        "targets": frontier.targets,
        "savings": savings.row(0, named=True),
    }


def inequalities(
    dataset: Dataset,
    comparisons: dict[str, tuple[str, str]],
    chosen: dict[str, Indicator],
    latest: dict[str, str],
    results: pl.DataFrame,
    threshold: int,
    suppress: Any,
) -> dict[str, dict[str, Any]]:
    """The benchmark area's latest values by breakdown, per indicator page (the first comparable set's page)."""
    from publicservices.site.inequalities import breakdown_rows, inequality_indices

    if not any(c in dataset.values.columns for c in BREAKDOWN_COLUMNS) or "benchmark_code" not in results.columns:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for cid, (ind_id, _) in comparisons.items():
        if cid != ind_id or cid not in latest:
            continue
        codes = (
            results.filter(pl.col("indicator_id") == cid, pl.col("period") == latest[cid])
            .get_column("benchmark_code")
            .drop_nulls()
        )
        if codes.n_unique() != 1:
            continue
        values = dataset.values.filter(pl.col("indicator_id") == ind_id, pl.col("period") == latest[cid])
        rows = breakdown_rows(values, codes[0])
        if rows.height == 0:
            continue
        rows = rows.with_columns(pl.lit(chosen[cid].measure).alias("measure"))
        if threshold > 0:
            rows = suppress(
                rows,
                threshold,
                by=[["indicator_id", "period", "breakdown"]],
                mask=[c for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci") if c in rows.columns],
            ).frame
        else:
            rows = rows.with_columns(pl.lit(None, pl.String).alias("suppressed"))
        indices = {
            kind: found
            for (kind,), part in rows.filter(pl.col("suppressed").is_null()).group_by("breakdown", maintain_order=True)
            if (found := inequality_indices(part)) is not None
        }
        keep = [
            c
            for c in ("breakdown", "group", "value", "lower_ci", "upper_ci", "numerator", "denominator", "suppressed")
            if c in rows.columns
        ]
        out[cid] = {"area_code": codes[0], "period": latest[cid], "rows": rows.select(keep), "indices": indices}
    return out


def sector_scheme(sector: str) -> Any:
    from publicservices.errors import PluginError
    from publicservices.plugins import registered_sectors

    try:
        declared = registered_sectors().get(sector)
    except PluginError:
        return None
    return declared.report_card if declared is not None else None


def grades(
    notes: list[str],
    chosen: dict[str, Indicator],
    comparisons: dict[str, tuple[str, str]],
    published: pl.DataFrame,
    latest: dict[str, str],
) -> dict[str, pl.DataFrame]:
    """Report cards per sector, within the sector's main comparable set, from indicators with a direction."""
    from publicservices.stats import build_report_cards

    grades: dict[str, pl.DataFrame] = {}
    for sector in sorted({i.sector for i in chosen.values()}):
        in_sector = [cid for cid, ind in chosen.items() if ind.sector == sector]
        sets = [comparisons[cid][1] for cid in in_sector]
        main = max(dict.fromkeys(sets), key=sets.count)
        judged = [cid for cid in in_sector if comparisons[cid][1] == main and chosen[cid].has_polarity]
        unjudged = [cid for cid in in_sector if comparisons[cid][1] == main and not chosen[cid].has_polarity]
        if unjudged:
            notes.append(
                f"{sector} report cards leave out {count(len(unjudged), 'indicator')} with no known direction "
                f"({', '.join(chosen[c].title for c in unjudged[:3])}{' ...' if len(unjudged) > 3 else ''})."
            )
        if len(judged) < 2:
            notes.append(
                f"{sector} report cards: not shown (they need at least 2 indicators with a known direction "
                f"compared within one set of areas; {len(judged)} found)."
            )
            continue
        rows = published.filter(pl.col("indicator_id").is_in(judged)).join(
            pl.DataFrame({"indicator_id": judged, "period": [latest[i] for i in judged]}),
            on=["indicator_id", "period"],
            how="semi",
        )
        # values with their intervals and counts: grade stability includes sampling noise, not only the weights
        rows = rows.select(
            "indicator_id",
            "area_code",
            "period",
            "value",
            *[pl.col(a).alias(b) for a, b in (("lower_95", "lower_ci"), ("upper_95", "upper_ci")) if a in rows.columns],
            *[c for c in ("numerator", "denominator") if c in rows.columns],
        )
        # The sector's own scheme (domains, weights, cut points) when it declares one and the data
        # hold its measures; otherwise one domain per indicator, equal weights, quintile grades.
        scheme = sector_scheme(sector)
        # closing-the-gap credit judges the change of a gap over time: its whole history, not the latest period
        gap = getattr(scheme, "closing_gap", None)
        gap_id = getattr(gap, "indicator", gap)
        if isinstance(gap_id, str) and gap_id in in_sector and comparisons[gap_id][1] == main:
            history = published.filter(pl.col("indicator_id") == gap_id).select(rows.columns)
            rows = pl.concat([rows.filter(pl.col("indicator_id") != gap_id), history])
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            card = attempt(
                notes,
                f"{sector} report cards",
                build_report_cards,
                rows,
                indicators={c: chosen[c] for c in judged},
                n_sims=200,
                scheme=scheme,
            )
        for w in said:  # the report card's own notes become the site's, without the Python advice
            text = re.sub(r"\s*Pass [a-z_]+=.*$", "", str(w.message)).strip()
            notes.append(f"{sector} report cards: {text}")
        if card is not None:
            grades[sector] = card
    return grades
